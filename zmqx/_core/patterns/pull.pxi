# PULL: receive only; messages taken round robin from the peers that have one (fair-queue).

cdef class PullState:
    cdef zx_fq fq


cdef object _pull_init(zx_sock *s):
    st = PullState()
    zx_fq_init(&st.fq)
    return st


cdef int _pull_removed(zx_sock *s, int idx) except -1:
    zx_fq_removed(&(<PullState>s.state).fq, idx, s.nslots - 1)
    return 0


cdef int _pull_recv(zx_sock *s, zx_msg *m) except -1:
    cdef int idx
    return zx_fq_recv(&(<PullState>s.state).fq, s.slots, s.nslots, m, &idx, s.conflate,
                      &s.stats.dropped_conflated)


cdef int _pull_has_in(zx_sock *s) except -1:
    return zx_fq_has_in(&(<PullState>s.state).fq, s.slots, s.nslots)


cdef zx_sockops PULL_OPS
_ops_defaults(&PULL_OPS, ZX_PULL, "PULL", ZX_T_RECV, -1)
PULL_OPS.init = _pull_init
PULL_OPS.removed = _pull_removed
PULL_OPS.recv = _pull_recv
PULL_OPS.has_in = _pull_has_in
_register(&PULL_OPS)
