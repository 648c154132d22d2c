# SCATTER (draft, thread-safe, single-part): send only; each message to the next GATHER
# under its HWM (load-balancer), as PUSH without multipart. Blocks (or EAGAIN) while every
# peer is full or there is none.

cdef class ScatterState:
    cdef zx_lb lb


cdef object _scatter_init(zx_sock *s):
    st = ScatterState()
    zx_lb_init(&st.lb)
    return st


cdef int _scatter_removed(zx_sock *s, int idx) except -1:
    zx_lb_removed(&(<ScatterState>s.state).lb, idx, s.nslots - 1)
    return 0


cdef int _scatter_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef int rc = zx_lb_send(&(<ScatterState>s.state).lb, s.slots, s.nslots, m, False)
    if rc < 0:
        raise MemoryError()
    return rc


cdef int _scatter_has_out(zx_sock *s) except -1:
    return zx_lb_has_out(&(<ScatterState>s.state).lb, s.slots, s.nslots)


cdef zx_sockops SCATTER_OPS
_ops_defaults(&SCATTER_OPS, ZX_SCATTER, "SCATTER", ZX_T_SEND | ZX_T_THREADSAFE | ZX_T_SINGLEPART, -1)
SCATTER_OPS.init = _scatter_init
SCATTER_OPS.removed = _scatter_removed
SCATTER_OPS.send = _scatter_send
SCATTER_OPS.has_out = _scatter_has_out
_register(&SCATTER_OPS)
