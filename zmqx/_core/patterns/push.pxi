# PUSH: send only; each message to the next peer under HWM (load-balancer). Blocks (or
# EAGAIN) while every peer is full or there is none.

cdef class PushState:
    cdef zx_lb lb


cdef object _push_init(zx_sock *s):
    st = PushState()
    zx_lb_init(&st.lb)
    return st


cdef int _push_removed(zx_sock *s, int idx) except -1:
    zx_lb_removed(&(<PushState>s.state).lb, idx, s.nslots - 1)
    return 0


cdef int _push_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef int rc = zx_lb_send(&(<PushState>s.state).lb, s.slots, s.nslots, m, flags & F_SNDMORE)
    if rc < 0:
        raise MemoryError()
    return rc


cdef int _push_has_out(zx_sock *s) except -1:
    return zx_lb_has_out(&(<PushState>s.state).lb, s.slots, s.nslots)


cdef zx_sockops PUSH_OPS
_ops_defaults(&PUSH_OPS, ZX_PUSH, "PUSH", ZX_T_SEND, -1)
PUSH_OPS.init = _push_init
PUSH_OPS.removed = _push_removed
PUSH_OPS.send = _push_send
PUSH_OPS.has_out = _push_has_out
_register(&PUSH_OPS)
