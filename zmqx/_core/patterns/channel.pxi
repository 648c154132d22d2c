# CHANNEL (draft, thread-safe, single-part): PAIR for several threads. Exactly one peer,
# both ways; a second one is refused (as libzmq's); a multipart message from the wire is
# dropped whole. The load-balancer and fair-queue cover the moment a dying peer and its
# successor overlap, as in PAIR.

cdef class ChannelState:
    cdef zx_lb lb
    cdef zx_fq fq


cdef object _channel_init(zx_sock *s):
    st = ChannelState()
    zx_lb_init(&st.lb)
    zx_fq_init(&st.fq)
    return st


cdef int _channel_attach(zx_sock *s, int idx) except -1:
    cdef int i
    for i in range(s.nslots):
        if i != idx and not s.slots[i].dying:
            return _refuse(s, idx)
    return 0


cdef int _channel_removed(zx_sock *s, int idx) except -1:
    cdef ChannelState st = <ChannelState>s.state
    zx_lb_removed(&st.lb, idx, s.nslots - 1)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    return 0


cdef int _channel_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef int rc = zx_lb_send(&(<ChannelState>s.state).lb, s.slots, s.nslots, m, False)
    if rc < 0:
        raise MemoryError()
    return rc


cdef int _channel_recv(zx_sock *s, zx_msg *m) except -1:
    cdef int idx
    return _recv_single(&(<ChannelState>s.state).fq, s, m, &idx)


cdef int _channel_has_in(zx_sock *s) except -1:
    return zx_fq_has_in(&(<ChannelState>s.state).fq, s.slots, s.nslots)


cdef int _channel_has_out(zx_sock *s) except -1:
    return zx_lb_has_out(&(<ChannelState>s.state).lb, s.slots, s.nslots)


cdef zx_sockops CHANNEL_OPS
_ops_defaults(&CHANNEL_OPS, ZX_CHANNEL, "CHANNEL",
              ZX_T_SEND | ZX_T_RECV | ZX_T_THREADSAFE | ZX_T_SINGLEPART, -1)
CHANNEL_OPS.init = _channel_init
CHANNEL_OPS.attach = _channel_attach
CHANNEL_OPS.removed = _channel_removed
CHANNEL_OPS.send = _channel_send
CHANNEL_OPS.recv = _channel_recv
CHANNEL_OPS.has_in = _channel_has_in
CHANNEL_OPS.has_out = _channel_has_out
_register(&CHANNEL_OPS)
