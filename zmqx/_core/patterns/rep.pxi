# REP: reads a request's envelope (routing ids up to the empty delimiter), hands the body
# to the app, and routes the reply back with the same envelope to the peer that asked.
# Requests come in through a fair-queue; one request at a time.

cdef class RepState:
    cdef zx_fq fq
    cdef list envelope            # envelope of the request being answered
    cdef void *reply_link         # the peer that asked
    cdef int cur_out              # slot the reply goes to (-1)
    cdef bint replying            # a request was received, a reply is due
    cdef bint body_started        # the reply's envelope was written
    cdef bint out_drop            # the requester is gone: the reply has nowhere to go


cdef object _rep_init(zx_sock *s):
    st = RepState()
    zx_fq_init(&st.fq)
    st.cur_out = -1
    return st


cdef int _rep_removed(zx_sock *s, int idx) except -1:
    cdef RepState st = <RepState>s.state
    if <void *>s.slots[idx].link == st.reply_link:
        st.reply_link = NULL
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    if st.cur_out > idx:
        st.cur_out -= 1
    elif st.cur_out == idx:
        st.cur_out = -1
        st.out_drop = True
    return 0


cdef int _rep_recv(zx_sock *s, zx_msg *m) except -1:
    cdef RepState st = <RepState>s.state
    cdef int idx
    cdef list envelope
    if st.fq.cur >= 0:
        zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx)
        return 1
    if st.replying:
        raise ZMQError(EFSM_)
    while True:
        if not zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx):
            return 0
        envelope = []
        # the envelope: routing ids up to and including the empty delimiter
        while m.flags & ZX_MSG_MORE and m.size > 0:
            envelope.append(zx_msg_data(m)[:m.size])
            zx_msg_close(m)
            zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx)
        if m.size == 0 and m.flags & ZX_MSG_MORE:
            zx_msg_close(m)
            zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx)
            st.envelope = envelope
            st.reply_link = s.slots[idx].link
            st.replying = True
            return 1
        zx_fq_skip_rest(&st.fq, s.slots, m)     # no delimiter: not a request; drop it


cdef int _rep_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef RepState st = <RepState>s.state
    cdef bint more = (flags & F_SNDMORE) != 0
    cdef int idx
    if not st.replying:
        raise ZMQError(EFSM_)
    if not st.body_started:
        idx = _slot_of(s, st.reply_link)
        if idx < 0:
            st.out_drop = True
        else:
            if not zx_slot_can_write(&s.slots[idx]):
                return 0
            for frame in st.envelope:
                _write_bytes(s, idx, frame, True)
            _write_bytes(s, idx, b"", True)
            st.cur_out = idx
        st.body_started = True
    if st.out_drop:
        zx_msg_close(m)
    else:
        _write(s, st.cur_out, m, more)
    if not more:
        st.cur_out = -1
        st.out_drop = False
        st.body_started = False
        st.replying = False
        st.envelope = None
    return 1


cdef int _rep_has_in(zx_sock *s) except -1:
    cdef RepState st = <RepState>s.state
    if st.fq.cur >= 0:
        return 1                  # the rest of the request being read
    return not st.replying and zx_fq_has_in(&st.fq, s.slots, s.nslots)


cdef int _rep_has_out(zx_sock *s) except -1:
    return (<RepState>s.state).replying


cdef zx_sockops REP_OPS
_ops_defaults(&REP_OPS, ZX_REP, "REP", ZX_T_SEND | ZX_T_RECV, -1)
REP_OPS.init = _rep_init
REP_OPS.removed = _rep_removed
REP_OPS.send = _rep_send
REP_OPS.recv = _rep_recv
REP_OPS.has_in = _rep_has_in
REP_OPS.has_out = _rep_has_out
_register(&REP_OPS)
