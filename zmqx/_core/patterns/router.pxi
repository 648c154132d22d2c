# ROUTER: every link has a routing id (the peer's ROUTING_ID, CONNECT_ROUTING_ID, or a
# generated 5-byte id starting with 0x00, as libzmq makes them). Received messages are
# prefixed with it; sent messages are routed by their first frame.

cdef int _router_attach(Socket self, int idx) except -1:
    cdef zx_slot *s = &self.slots[idx]
    cdef zx_link *link = s.link
    cdef int peer = 1 - s.side
    cdef int old
    rid = link.rid[peer][:link.rid_len[peer]]
    if not rid:
        rid = b"\x00" + (<object>self.next_rid).to_bytes(4, "big")
        self.next_rid += 1
    old = self._routes.get(rid, -1)
    if old >= 0:
        if not self.router_handover:
            # the id is taken: refuse the newcomer, as libzmq does
            s.dying = True
            s.refused = True
            self.need_reap = True
            return 0
        # ROUTER_HANDOVER: the newcomer takes the id over
        self.slots[old].dying = True
        self._rids[old] = None
        self.need_reap = True
    self._rids[idx] = rid
    self._routes[rid] = idx
    return 0


cdef int _router_recv(Socket self, zx_msg *m) except -1:
    cdef int idx
    cdef bytes rid
    if self.has_prefetched:
        memcpy(m, &self.prefetched, sizeof(zx_msg))
        zx_msg_init(&self.prefetched)
        self.has_prefetched = False
        return 1
    if self.cur_in >= 0:
        return self._fq_read(m, &idx)
    while True:
        if not self._fq_read(m, &idx):
            return 0
        rid = self._rids[idx]
        if rid is None:
            rid = b""
        memcpy(&self.prefetched, m, sizeof(zx_msg))
        self.has_prefetched = True
        if zx_msg_init_copy(m, <char *>rid, len(rid)) < 0:
            raise MemoryError()
        m.flags = ZX_MSG_MORE
        return 1


cdef int _router_send(Socket self, zx_msg *m, bint more) except -1:
    cdef int idx
    if self.cur_out < 0 and not self.out_drop:
        # the first frame names the peer
        if not more:
            zx_msg_close(m)                 # a lone routing id: nothing to deliver
            return 1
        rid = zx_msg_data(m)[:m.size]
        idx = self._routes.get(rid, -1)
        if idx < 0 or self.slots[idx].dying:
            if self.router_mandatory:
                raise ZMQError(EHOSTUNREACH_)
            self.out_drop = True
            return 1
        if not zx_pipe_check_write(zx_link_out(self.slots[idx].link, self.slots[idx].side)):
            if self.router_mandatory:
                return 0
            self.out_drop = True            # at HWM: ROUTER drops
            return 1
        self.cur_out = idx
        zx_msg_close(m)
        return 1
    if self.out_drop:
        zx_msg_close(m)
        if not more:
            self.out_drop = False
        return 1
    self._write_slot(self.cur_out, m, more)
    if not more:
        self.cur_out = -1
    return 1
