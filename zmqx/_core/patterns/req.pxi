# REQ: strict send/recv lockstep. Each request gets an empty delimiter (and, with
# REQ_CORRELATE, a request id before it), goes to one peer by load-balancing, and only a
# reply from that peer carrying the same envelope is accepted (fair-queue in, the rest
# dropped). REQ_RELAXED lets a new request abandon the old one.

cdef class ReqState:
    cdef zx_lb lb
    cdef zx_fq fq
    cdef void *reply_link         # the peer the reply must come from
    cdef bint waiting             # a request is out, a reply is due
    cdef bint body_started        # the envelope of the current request was sent
    cdef uint32_t req_id
    cdef bint correlate
    cdef bint relaxed


cdef object _req_init(zx_sock *s):
    st = ReqState()
    zx_lb_init(&st.lb)
    zx_fq_init(&st.fq)
    return st


cdef int _req_removed(zx_sock *s, int idx) except -1:
    cdef ReqState st = <ReqState>s.state
    if <void *>s.slots[idx].link == st.reply_link:
        st.reply_link = NULL
    zx_lb_removed(&st.lb, idx, s.nslots - 1)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    return 0


cdef int _req_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef ReqState st = <ReqState>s.state
    cdef bint more = (flags & F_SNDMORE) != 0
    cdef int idx, k
    cdef zx_msg stale
    if not st.body_started:
        if st.waiting:
            if not st.relaxed:
                raise ZMQError(EFSM_)
            # REQ_RELAXED: a new request abandons the old one; a late reply is dropped
            st.waiting = False
            st.reply_link = NULL
        idx = zx_lb_begin(&st.lb, s.slots, s.nslots)
        if idx < 0:
            return 0
        # as libzmq: a new request eats every message already queued, so an old stray
        # reply can never pass for the answer to this one
        while zx_fq_recv(&st.fq, s.slots, s.nslots, &stale, &k):
            zx_msg_close(&stale)
        if st.correlate:
            st.req_id += 1
            _write_bytes(s, idx, (<object>st.req_id).to_bytes(4, "big"), True)
        _write_bytes(s, idx, b"", True)
        st.reply_link = s.slots[idx].link
        st.body_started = True
    idx = st.lb.cur
    if not more:
        st.lb.cur = -1
        st.body_started = False
        st.waiting = True
    _write(s, idx, m, more)
    return 1


cdef int _req_recv(zx_sock *s, zx_msg *m) except -1:
    cdef ReqState st = <ReqState>s.state
    cdef int idx
    cdef bint ok
    if not st.waiting:
        raise ZMQError(EFSM_)
    while True:
        if st.fq.cur >= 0:
            # inside the accepted reply: hand out its frames
            zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx)
            if not (m.flags & ZX_MSG_MORE):
                st.waiting = False
            return 1
        if not zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx):
            return 0
        # a new message: accept it only from the peer we asked, with our envelope
        ok = <void *>s.slots[idx].link == st.reply_link
        if ok and st.correlate:
            ok = (m.flags & ZX_MSG_MORE) != 0 and m.size == 4 and \
                zx_msg_data(m)[:4] == (<object>st.req_id).to_bytes(4, "big")
            if ok:
                zx_msg_close(m)
                zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx)
        if ok:
            ok = m.size == 0 and (m.flags & ZX_MSG_MORE) != 0
        if ok:
            zx_msg_close(m)
            zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx)
            if not (m.flags & ZX_MSG_MORE):
                st.waiting = False
            return 1
        zx_fq_skip_rest(&st.fq, s.slots, m)     # stray or malformed: drop it whole


cdef int _req_has_in(zx_sock *s) except -1:
    # a recv that would raise EFSM is not "a message to read"
    cdef ReqState st = <ReqState>s.state
    return st.waiting and zx_fq_has_in(&st.fq, s.slots, s.nslots)


cdef int _req_has_out(zx_sock *s) except -1:
    cdef ReqState st = <ReqState>s.state
    if st.waiting and not st.relaxed:
        return 0
    return zx_lb_has_out(&st.lb, s.slots, s.nslots)


cdef int _req_setopt(zx_sock *s, int option, object value) except -1:
    cdef ReqState st = <ReqState>s.state
    if option == O_REQ_CORRELATE:
        st.correlate = bool(value)
    elif option == O_REQ_RELAXED:
        st.relaxed = bool(value)
    else:
        raise ZMQError(EINVAL_)
    return 0


cdef object _req_getopt(zx_sock *s, int option):
    if option == O_REQ_RELAXED:
        return int((<ReqState>s.state).relaxed)
    if option == O_REQ_CORRELATE:
        return int((<ReqState>s.state).correlate)
    raise ZMQError(EINVAL_)


cdef zx_sockops REQ_OPS
_ops_defaults(&REQ_OPS, ZX_REQ, "REQ", ZX_T_SEND | ZX_T_RECV, -1)
REQ_OPS.init = _req_init
REQ_OPS.removed = _req_removed
REQ_OPS.send = _req_send
REQ_OPS.recv = _req_recv
REQ_OPS.has_in = _req_has_in
REQ_OPS.has_out = _req_has_out
REQ_OPS.setopt = _req_setopt
REQ_OPS.getopt = _req_getopt
_register(&REQ_OPS)
