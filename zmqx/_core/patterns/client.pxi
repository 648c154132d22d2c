# CLIENT (draft, thread-safe, single-part): the asking side of CLIENT/SERVER. Each message
# goes to the next SERVER under its HWM (load-balancer) and replies are taken round robin
# (fair-queue). A multipart message from the wire is dropped whole, as libzmq drops it; a
# multipart send never gets here (the core refuses SNDMORE: ZX_T_SINGLEPART).

cdef class ClientState:
    cdef zx_lb lb
    cdef zx_fq fq


cdef object _client_init(zx_sock *s):
    st = ClientState()
    zx_lb_init(&st.lb)
    zx_fq_init(&st.fq)
    return st


cdef int _client_removed(zx_sock *s, int idx) except -1:
    cdef ClientState st = <ClientState>s.state
    zx_lb_removed(&st.lb, idx, s.nslots - 1)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    return 0


cdef int _client_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef int rc = zx_lb_send(&(<ClientState>s.state).lb, s.slots, s.nslots, m, False)
    if rc < 0:
        raise MemoryError()
    return rc


cdef int _client_recv(zx_sock *s, zx_msg *m) except -1:
    cdef int idx
    return _recv_single(&(<ClientState>s.state).fq, s, m, &idx)


cdef int _client_has_in(zx_sock *s) except -1:
    return zx_fq_has_in(&(<ClientState>s.state).fq, s.slots, s.nslots)


cdef int _client_has_out(zx_sock *s) except -1:
    return zx_lb_has_out(&(<ClientState>s.state).lb, s.slots, s.nslots)


cdef zx_sockops CLIENT_OPS
_ops_defaults(&CLIENT_OPS, ZX_CLIENT, "CLIENT",
              ZX_T_SEND | ZX_T_RECV | ZX_T_THREADSAFE | ZX_T_SINGLEPART, -1)
CLIENT_OPS.init = _client_init
CLIENT_OPS.removed = _client_removed
CLIENT_OPS.send = _client_send
CLIENT_OPS.recv = _client_recv
CLIENT_OPS.has_in = _client_has_in
CLIENT_OPS.has_out = _client_has_out
_register(&CLIENT_OPS)
