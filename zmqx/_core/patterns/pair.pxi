# PAIR: exactly one peer, both ways. A second peer is refused (as libzmq does); messages
# go out through a load-balancer and come in through a fair-queue, which with one live
# peer is simply "that peer", and which also covers the moment a dying peer and its
# successor overlap.

cdef class PairState:
    cdef zx_lb lb
    cdef zx_fq fq


cdef object _pair_init(zx_sock *s):
    st = PairState()
    zx_lb_init(&st.lb)
    zx_fq_init(&st.fq)
    return st


cdef int _pair_attach(zx_sock *s, int idx) except -1:
    cdef int i
    for i in range(s.nslots):
        if i != idx and not s.slots[i].dying:
            return _refuse(s, idx)
    return 0


cdef int _pair_removed(zx_sock *s, int idx) except -1:
    cdef PairState st = <PairState>s.state
    zx_lb_removed(&st.lb, idx, s.nslots - 1)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    return 0


cdef int _pair_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef int rc = zx_lb_send(&(<PairState>s.state).lb, s.slots, s.nslots, m, flags & F_SNDMORE)
    if rc < 0:
        raise MemoryError()
    return rc


cdef int _pair_recv(zx_sock *s, zx_msg *m) except -1:
    cdef int idx
    return zx_fq_recv(&(<PairState>s.state).fq, s.slots, s.nslots, m, &idx)   # CONFLATE: accepted, no effect (as libzmq)


cdef int _pair_has_in(zx_sock *s) except -1:
    return zx_fq_has_in(&(<PairState>s.state).fq, s.slots, s.nslots)


cdef int _pair_has_out(zx_sock *s) except -1:
    return zx_lb_has_out(&(<PairState>s.state).lb, s.slots, s.nslots)


cdef zx_sockops PAIR_OPS
_ops_defaults(&PAIR_OPS, ZX_PAIR, "PAIR", ZX_T_SEND | ZX_T_RECV, -1)
PAIR_OPS.init = _pair_init
PAIR_OPS.attach = _pair_attach
PAIR_OPS.removed = _pair_removed
PAIR_OPS.send = _pair_send
PAIR_OPS.recv = _pair_recv
PAIR_OPS.has_in = _pair_has_in
PAIR_OPS.has_out = _pair_has_out
_register(&PAIR_OPS)
