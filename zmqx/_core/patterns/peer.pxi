# PEER (draft, thread-safe, single-part): SERVER's routing in both roles, so two PEERs can
# each address the other: every peer gets a uint32 routing id, received messages carry it,
# sends need it. connect_peer() (ZX_T_CONNECT_PEER) returns the id the new connection got
# (server.pxi's attach leaves it in zx_sock.last_rid). The hooks are SERVER's.

cdef zx_sockops PEER_OPS
_ops_defaults(&PEER_OPS, ZX_PEER, "PEER",
              ZX_T_SEND | ZX_T_RECV | ZX_T_THREADSAFE | ZX_T_SINGLEPART | ZX_T_CONNECT_PEER, -1)
PEER_OPS.init = _server_init
PEER_OPS.attach = _server_attach
PEER_OPS.detach = _server_detach
PEER_OPS.removed = _server_removed
PEER_OPS.send = _server_send
PEER_OPS.recv = _server_recv
PEER_OPS.has_in = _server_has_in
PEER_OPS.has_out = _always
_register(&PEER_OPS)
