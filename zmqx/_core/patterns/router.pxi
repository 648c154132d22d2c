# ROUTER: every peer has a routing id (routing table). A received message is prefixed with
# the id of the peer it came from; a sent message is routed by its first frame. Unroutable
# messages are dropped, or EHOSTUNREACH with ROUTER_MANDATORY; a peer at HWM drops (or,
# mandatory, blocks) the message.

cdef class RouterState:
    cdef RouteTable routes
    cdef zx_fq fq
    cdef int cur_out              # slot the message being sent goes to (-1: none)
    cdef bint out_drop            # dropping the rest of a message nobody takes
    cdef zx_msg prefetched        # the first body frame, read while handing out the id
    cdef bint has_prefetched
    cdef bint mandatory
    cdef bint handover

    def __dealloc__(self):
        if self.has_prefetched:
            zx_msg_close(&self.prefetched)


cdef object _router_init(zx_sock *s):
    st = RouterState()
    st.routes = RouteTable()
    zx_fq_init(&st.fq)
    st.cur_out = -1
    zx_msg_init(&st.prefetched)
    return st


cdef int _router_attach(zx_sock *s, int idx) except -1:
    cdef RouterState st = <RouterState>s.state
    cdef zx_slot *sl = &s.slots[idx]
    cdef int peer = 1 - sl.side
    cdef int rc = st.routes.add(idx, sl.link.rid[peer][:sl.link.rid_len[peer]], st.handover)
    if rc == ZX_ROUTE_REFUSED:
        return _refuse(s, idx)        # the id is taken: refuse the newcomer, as libzmq does
    if rc >= 0:
        s.slots[rc].dying = True      # ROUTER_HANDOVER: the newcomer took the id over
        s.need_reap = True
    return 0


cdef int _router_detach(zx_sock *s, int idx) except -1:
    return (<RouterState>s.state).routes.forget(idx)


cdef int _router_removed(zx_sock *s, int idx) except -1:
    cdef RouterState st = <RouterState>s.state
    st.routes.removed(idx)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    if st.cur_out > idx:
        st.cur_out -= 1
    elif st.cur_out == idx:
        st.cur_out = -1
        st.out_drop = True
    return 0


cdef int _router_recv(zx_sock *s, zx_msg *m) except -1:
    cdef RouterState st = <RouterState>s.state
    cdef int idx
    if st.has_prefetched:
        memcpy(m, &st.prefetched, sizeof(zx_msg))
        zx_msg_init(&st.prefetched)
        st.has_prefetched = False
        return 1
    if st.fq.cur >= 0:
        return zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx)
    if not zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx):
        return 0
    rid = st.routes.rid_of(idx)
    if rid is None:
        rid = b""
    memcpy(&st.prefetched, m, sizeof(zx_msg))
    st.has_prefetched = True
    if zx_msg_init_copy(m, <char *>rid, len(rid)) < 0:
        raise MemoryError()
    m.flags = ZX_MSG_MORE
    return 1


cdef int _router_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef RouterState st = <RouterState>s.state
    cdef bint more = (flags & F_SNDMORE) != 0
    cdef int idx
    if st.cur_out < 0 and not st.out_drop:
        # the first frame names the peer
        if not more:
            zx_msg_close(m)                 # a lone routing id: nothing to deliver
            return 1
        idx = st.routes.lookup(zx_msg_data(m)[:m.size])
        if idx < 0 or s.slots[idx].dying:
            if st.mandatory:
                raise ZMQError(EHOSTUNREACH_)
            st.out_drop = True
            s.stats.dropped_unroutable += 1     # Socket.stats()
            return 1
        if not zx_slot_can_write(&s.slots[idx]):
            if st.mandatory:
                return 0
            st.out_drop = True              # at HWM: ROUTER drops
            s.stats.dropped_hwm += 1
            s.slots[idx].dropped += 1
            return 1
        st.cur_out = idx
        zx_msg_close(m)
        return 1
    if st.out_drop:
        zx_msg_close(m)
        if not more:
            st.out_drop = False
        return 1
    _write(s, st.cur_out, m, more)
    if not more:
        st.cur_out = -1
    return 1


cdef int _router_has_in(zx_sock *s) except -1:
    cdef RouterState st = <RouterState>s.state
    return st.has_prefetched or zx_fq_has_in(&st.fq, s.slots, s.nslots)


cdef int _router_setopt(zx_sock *s, int option, object value) except -1:
    cdef RouterState st = <RouterState>s.state
    if option == O_ROUTER_MANDATORY:
        st.mandatory = bool(value)
    elif option == O_ROUTER_HANDOVER:
        st.handover = bool(value)
    else:
        raise ZMQError(EINVAL_)
    return 0


cdef zx_sockops ROUTER_OPS
_ops_defaults(&ROUTER_OPS, ZX_ROUTER, "ROUTER", ZX_T_SEND | ZX_T_RECV | ZX_T_ATTACH_LATE, -1)
ROUTER_OPS.init = _router_init
ROUTER_OPS.attach = _router_attach
ROUTER_OPS.detach = _router_detach
ROUTER_OPS.removed = _router_removed
ROUTER_OPS.send = _router_send
ROUTER_OPS.recv = _router_recv
ROUTER_OPS.has_in = _router_has_in
ROUTER_OPS.has_out = _always
ROUTER_OPS.setopt = _router_setopt
_register(&ROUTER_OPS)
