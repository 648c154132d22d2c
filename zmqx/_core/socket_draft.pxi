# The draft API's side of the socket core (included into socket.pyx): the locked send and
# receive loops of thread-safe types (ZX_T_THREADSAFE: CLIENT, SERVER, RADIO, DISH, SCATTER,
# GATHER, PEER, CHANNEL), the lock-free readiness and receive steps both paths share, and the
# routing id and group that travel beside a message. Kept apart so the core's own loops in
# socket.pyx stay the plain single-thread path.

cdef int _send_locked(Socket self, zx_msg *m, int flags, bytes group) except -1:
    # _send_msg for a thread-safe type: each attempt under the socket's lock (the group
    # is set and cleared inside it), the wait outside it (the thread that frees room for
    # us needs the lock meanwhile)
    cdef int64_t deadline = -2
    cdef int rc = 0
    cdef int64_t size = m.size
    try:
        if flags & F_SNDMORE and self.ops.flags & ZX_T_SINGLEPART:
            raise ZMQError(EINVAL_)
        while True:
            self._lock()
            try:
                self._check()
                if self.core.need_reap and not self.sndmore and not self.rcvmore:
                    self._reap()
                _set_send_group(self, group)
                rc = self.ops.send(&self.core, m, flags)
                self.core.sgroup.len = 0
                if rc:
                    self.sndmore = (flags & F_SNDMORE) != 0
                    self.core.stats.bytes_sent += size     # Socket.stats()
                    self.core.stats.msgs_sent += not self.sndmore
                    if self.fd_exported:
                        self._sync_fd()
                    self._pass_wake()
            finally:
                self.core.sgroup.len = 0
                self._unlock()
            if rc:
                return 0
            if deadline == -2:
                deadline = 0 if flags & F_DONTWAIT else _deadline(self.copts.sndtimeo)
            if self._wait(deadline):
                raise Again()
    finally:
        zx_msg_close(m)

cdef int _recv_locked(Socket self, zx_msg *m, int flags, zx_group *g) except -1:
    # _recv_msg for a thread-safe type (see _send_locked)
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
                _take_recv_group(self, g)
                self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
                self.core.stats.bytes_received += m.size   # Socket.stats()
                self.core.stats.msgs_received += not self.rcvmore
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


cdef int _readiness(Socket self) except -1:
    cdef int ev = 0
    self._check()
    if self.core.need_reap and not self.sndmore and not self.rcvmore:
        self._reap()
    if self.ops.has_in(&self.core):
        ev |= P_POLLIN
    if self.ops.has_out(&self.core):
        ev |= P_POLLOUT
    return ev


cdef int _recv_now(Socket self, zx_msg *m) except -1:
    self._check()
    if self.core.need_reap and not self.sndmore and not self.rcvmore:
        self._reap()
    if self.ops.recv(&self.core, m):
        self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
        self.core.stats.bytes_received += m.size       # Socket.stats()
        self.core.stats.msgs_received += not self.rcvmore
        self._pass_wake()
        return 1
    return 0


cdef uint32_t _routing_id(object value) except? 0:
    # send(routing_id=N): a uint32, not 0 (0 means "none"), as Frame.routing_id
    cdef uint32_t rid = value
    if rid == 0:
        raise ZMQError(EINVAL_, "routing_id must not be 0")
    return rid


cdef inline void _set_send_group(Socket self, bytes group) noexcept:
    # group: None (no group), or checked by _group_bytes (at most 255 bytes)
    cdef Py_ssize_t n
    if group is None:
        self.core.sgroup.len = 0
        return
    n = PyBytes_GET_SIZE(group)
    memcpy(self.core.sgroup.data, PyBytes_AS_STRING(group), n)
    self.core.sgroup.len = <int>n


cdef inline void _take_recv_group(Socket self, zx_group *g) noexcept:
    # a DISH's message carries its group in core.rgroup for the one recv hook call
    if g != NULL and self.core.rgroup.len >= 0:
        g.len = self.core.rgroup.len
        memcpy(g.data, self.core.rgroup.data, g.len)
