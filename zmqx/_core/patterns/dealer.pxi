# DEALER: PUSH's load-balancer out, PULL's fair-queue in, no envelope of its own.

cdef class DealerState:
    cdef zx_lb lb
    cdef zx_fq fq


cdef object _dealer_init(zx_sock *s):
    st = DealerState()
    zx_lb_init(&st.lb)
    zx_fq_init(&st.fq)
    return st


cdef int _dealer_removed(zx_sock *s, int idx) except -1:
    cdef DealerState st = <DealerState>s.state
    zx_lb_removed(&st.lb, idx, s.nslots - 1)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    return 0


cdef int _dealer_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef int rc = zx_lb_send(&(<DealerState>s.state).lb, s.slots, s.nslots, m, flags & F_SNDMORE)
    if rc < 0:
        raise MemoryError()
    return rc


cdef int _dealer_recv(zx_sock *s, zx_msg *m) except -1:
    cdef int idx
    return zx_fq_recv(&(<DealerState>s.state).fq, s.slots, s.nslots, m, &idx, s.conflate,
                      &s.stats.dropped_conflated)


cdef int _dealer_has_in(zx_sock *s) except -1:
    return zx_fq_has_in(&(<DealerState>s.state).fq, s.slots, s.nslots)


cdef int _dealer_has_out(zx_sock *s) except -1:
    return zx_lb_has_out(&(<DealerState>s.state).lb, s.slots, s.nslots)


cdef zx_sockops DEALER_OPS
_ops_defaults(&DEALER_OPS, ZX_DEALER, "DEALER", ZX_T_SEND | ZX_T_RECV, -1)
DEALER_OPS.init = _dealer_init
DEALER_OPS.removed = _dealer_removed
DEALER_OPS.send = _dealer_send
DEALER_OPS.recv = _dealer_recv
DEALER_OPS.has_in = _dealer_has_in
DEALER_OPS.has_out = _dealer_has_out
_register(&DEALER_OPS)
