# Closing a socket (included into socket.pyx): every link let go in one pass, the peers of
# inproc links told, the endpoints closed, and each I/O thread handed the sockbase for its
# linger. Runs once, under the thread-safe lock where the type has one.

cdef _close_socket(Socket self, int linger):
    cdef int i
    cdef zx_link *link
    cdef zx_sockbase *peer
    cdef zx_iothread *io
    cdef zx_slot *s
    cdef Context ctx = self.context
    if self._closed:
        return
    if self._gen != zx_fork_generation():
        # inherited from the parent: its threads and links are not ours to touch
        self._closed = True
        self.sb = NULL
        self.core.slots = NULL
        self.core.nslots = 0
        return
    _monitor_closing(self)
    self._final_stats = _stats_at_close(self)
    # take in every link already on its way, then accept no more: nothing can be left
    # in the mailbox holding a link that holds this socket
    zx_mailbox_close(&self.sb.mb)
    self._process_commands()
    self._closed = True
    zx_store(&self.sb.closed, 1)
    for i in range(self.core.nslots - 1, -1, -1):
        s = &self.core.slots[i]
        link = s.link
        zx_link_in(link, s.side).read_note = NULL
        zx_store(&link.gone[s.side], 1)
        if not s.io:
            # the other side is a socket (its sockbase is what its release drops), or the
            # I/O thread's ZAP client (no release; it notices gone[] itself), which has
            # no mailbox of that shape to post to
            peer = <zx_sockbase *>link.release_arg[1 - s.side]
            if peer != NULL and link.release[1 - s.side] != NULL and peer != self.sb \
                    and not zx_load(&link.gone[1 - s.side]):
                zx_mailbox_post(&peer.mb, ZX_CMD_TERM, link, 0)
        self.ops.removed(&self.core, i)
        self.core.nslots = i
        zx_link_unref(link)
    free(self.core.slots)
    self.core.slots = NULL
    _close_endpoints(self)
    for i in range(ctx._nio):
        io = ctx._io[i]
        zx_sockbase_ref(self.sb)
        zx_mailbox_post(&io.mb, ZX_CMD_SOCKET_CLOSED, self.sb, linger)
    # a call blocked on this socket in another thread wakes now and sees the close
    zx_sig_send(&self.sb.mb.sig)
    zx_sockbase_unref(self.sb)
    self.sb = NULL
    self.core.sb = NULL
    ctx.socket_closed(self)
