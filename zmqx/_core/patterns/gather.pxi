# GATHER (draft, thread-safe, single-part): receive only; messages taken round robin from
# the SCATTERs that have one (fair-queue), as PULL; a multipart message from the wire is
# dropped whole, as libzmq drops it.

cdef class GatherState:
    cdef zx_fq fq


cdef object _gather_init(zx_sock *s):
    st = GatherState()
    zx_fq_init(&st.fq)
    return st


cdef int _gather_removed(zx_sock *s, int idx) except -1:
    zx_fq_removed(&(<GatherState>s.state).fq, idx, s.nslots - 1)
    return 0


cdef int _gather_recv(zx_sock *s, zx_msg *m) except -1:
    cdef int idx
    return _recv_single(&(<GatherState>s.state).fq, s, m, &idx)


cdef int _gather_has_in(zx_sock *s) except -1:
    return zx_fq_has_in(&(<GatherState>s.state).fq, s.slots, s.nslots)


cdef zx_sockops GATHER_OPS
_ops_defaults(&GATHER_OPS, ZX_GATHER, "GATHER", ZX_T_RECV | ZX_T_THREADSAFE | ZX_T_SINGLEPART, -1)
GATHER_OPS.init = _gather_init
GATHER_OPS.removed = _gather_removed
GATHER_OPS.recv = _gather_recv
GATHER_OPS.has_in = _gather_has_in
_register(&GATHER_OPS)
