# The socket core's send/recv loops for the thread-safe types (ZX_T_THREADSAFE: CLIENT,
# SERVER, SCATTER, GATHER, PEER, CHANNEL, RADIO, DISH). Kept apart from the classic loops
# in socket.pyx so those stay free of locking: these take the socket's lock around each
# attempt (check, reap, one hook call) and never across the wait, so a thread blocked in
# recv does not stop another thread from sending; after a success they pass the wake-up
# on to the other waiting threads (Socket._pass_wake). Included into socket.pyx.


cdef int _send_msg_safe(Socket self, zx_msg *m, int flags) except -1:
    # _send_msg for a thread-safe type: each attempt under the socket's lock, the wait
    # outside it (the thread that frees room for us needs the lock meanwhile)
    cdef int64_t deadline = -2
    cdef int rc = 0
    try:
        if flags & F_SNDMORE and self.ops.flags & ZX_T_SINGLEPART:
            raise ZMQError(EINVAL_)
        while True:
            self._lock()
            try:
                self._check()
                if self.core.need_reap and not self.sndmore and not self.rcvmore:
                    self._reap()
                rc = self.ops.send(&self.core, m, flags)
                if rc:
                    self.sndmore = (flags & F_SNDMORE) != 0
                    if self.fd_exported:
                        self._sync_fd()
                    self._pass_wake()
            finally:
                self._unlock()
            if rc:
                return 0
            if deadline == -2:
                deadline = 0 if flags & F_DONTWAIT else _deadline(self.copts.sndtimeo)
            if self._wait(deadline):
                raise Again()
    finally:
        zx_msg_close(m)


cdef int _recv_msg_safe(Socket self, zx_msg *m, int flags) except -1:
    # _recv_msg for a thread-safe type (see _send_msg_safe)
    cdef int64_t deadline = -2
    cdef int rc = 0
    while True:
        self._lock()
        try:
            self._check()
            if self.core.need_reap and not self.sndmore and not self.rcvmore:
                self._reap()
            rc = self.ops.recv(&self.core, m)
            if rc:
                self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
                if self.fd_exported:
                    self._sync_fd()
                self._pass_wake()
        finally:
            self._unlock()
        if rc:
            return 0
        if deadline == -2:
            deadline = 0 if flags & F_DONTWAIT else _deadline(self.copts.rcvtimeo)
        if self._wait(deadline):
            raise Again()
