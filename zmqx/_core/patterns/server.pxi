# SERVER (draft, thread-safe, single-part): the answering side of CLIENT/SERVER. It names
# each peer itself with a uint32 routing id (IdRoutes: counting up from a random start,
# never 0, as libzmq), stamps every received message with its peer's id (Frame.routing_id)
# and sends each message to the peer its routing id names: an unknown or departed id is
# EHOSTUNREACH; a peer at its HWM makes the send wait (EAGAIN with DONTWAIT), as libzmq.
# Messages are taken round robin (fair-queue); a multipart one from the wire is dropped.
# PEER (peer.pxi) is this room with connect_peer.

cdef class ServerState:
    cdef IdRoutes routes
    cdef zx_fq fq


cdef object _server_init(zx_sock *s):
    st = ServerState()
    st.routes = IdRoutes()
    zx_fq_init(&st.fq)
    return st


cdef int _server_attach(zx_sock *s, int idx) except -1:
    # every peer gets an id, even one already gone: what it sent is delivered under it
    s.last_rid = (<ServerState>s.state).routes.add(idx)
    return 0


cdef int _server_detach(zx_sock *s, int idx) except -1:
    return (<ServerState>s.state).routes.forget(idx)


cdef int _server_removed(zx_sock *s, int idx) except -1:
    cdef ServerState st = <ServerState>s.state
    st.routes.removed(idx)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    return 0


cdef int _server_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef int idx = -1
    if m.routing_id:
        idx = (<ServerState>s.state).routes.lookup(m.routing_id)
    if idx < 0 or s.slots[idx].dying:
        raise ZMQError(EHOSTUNREACH_)
    if not zx_slot_can_write(&s.slots[idx]):
        return 0
    m.routing_id = 0          # the id is ours, not the peer's (an inproc peer sees the msg)
    _write(s, idx, m, False)
    return 1


cdef int _server_recv(zx_sock *s, zx_msg *m) except -1:
    cdef ServerState st = <ServerState>s.state
    cdef int idx
    if not _recv_single(&st.fq, s, m, &idx):
        return 0
    m.routing_id = st.routes.id_of(idx)
    return 1


cdef int _server_has_in(zx_sock *s) except -1:
    return zx_fq_has_in(&(<ServerState>s.state).fq, s.slots, s.nslots)


cdef zx_sockops SERVER_OPS
_ops_defaults(&SERVER_OPS, ZX_SERVER, "SERVER",
              ZX_T_SEND | ZX_T_RECV | ZX_T_THREADSAFE | ZX_T_SINGLEPART, -1)
SERVER_OPS.init = _server_init
SERVER_OPS.attach = _server_attach
SERVER_OPS.detach = _server_detach
SERVER_OPS.removed = _server_removed
SERVER_OPS.send = _server_send
SERVER_OPS.recv = _server_recv
SERVER_OPS.has_in = _server_has_in
SERVER_OPS.has_out = _always  # as libzmq: whether a send succeeds depends on its peer
_register(&SERVER_OPS)
