# STREAM: plain TCP (or ipc) connections to peers that do not speak ZMTP. Each connection
# is a peer with a routing id the socket makes up (5 bytes, 0x00 + a counter, as libzmq),
# or the CONNECT_ROUTING_ID given to its connect(). A received message is [id, bytes of
# one read]; an empty one means "connected" or "disconnected" (STREAM_NOTIFY, made by the
# raw engine, io_raw.pxi). Sending [id, data] writes data to that connection as it is;
# [id, b""] closes it once what was sent before has gone out. An unknown id is
# EHOSTUNREACH (STREAM always behaves as a ROUTER_MANDATORY), a connection at HWM makes
# the send wait (EAGAIN with DONTWAIT).
#
# libzmq's framing rules are kept exactly: the frame after the id is the data whatever its
# MORE flag says, and an id frame sent without MORE is ignored, but the frame after it is
# still taken as (undeliverable) data.

from zmqx._core.atomic cimport zx_load


cdef class StreamState:
    cdef RouteTable routes
    cdef zx_fq fq
    cdef int cur_out              # slot the data frame goes to (-1: none or dropped)
    cdef bint more_out            # the id frame was taken: the next frame is the data
    cdef zx_msg prefetched        # the data frame, read while handing out the id
    cdef bint has_prefetched

    def __dealloc__(self):
        if self.has_prefetched:
            zx_msg_close(&self.prefetched)


cdef object _stream_init(zx_sock *s):
    st = StreamState()
    st.routes = RouteTable()
    zx_fq_init(&st.fq)
    st.cur_out = -1
    zx_msg_init(&st.prefetched)
    return st


cdef int _stream_attach(zx_sock *s, int idx) except -1:
    cdef StreamState st = <StreamState>s.state
    cdef zx_slot *sl = &s.slots[idx]
    cdef int peer = 1 - sl.side
    cdef bytes rid
    if st.routes.add(idx, sl.link.rid[peer][:sl.link.rid_len[peer]], False) == ZX_ROUTE_REFUSED:
        return _refuse(s, idx)        # a CONNECT_ROUTING_ID already in use
    # libzmq leaves the last id it made up in ROUTING_ID: that is how a program learns
    # the id of the connection its connect() just created
    rid = st.routes.rid_of(idx)
    if sl.link.rid_len[peer] == 0 and rid is not None:
        memcpy(s.opts.identity, <char *>rid, len(rid))
        s.opts.identity_len = len(rid)
    return 0


cdef int _stream_detach(zx_sock *s, int idx) except -1:
    return (<StreamState>s.state).routes.forget(idx)


cdef int _stream_removed(zx_sock *s, int idx) except -1:
    cdef StreamState st = <StreamState>s.state
    st.routes.removed(idx)
    zx_fq_removed(&st.fq, idx, s.nslots - 1)
    if st.cur_out > idx:
        st.cur_out -= 1
    elif st.cur_out == idx:
        st.cur_out = -1               # its data frame, when it comes, is dropped
    return 0


cdef int _stream_recv(zx_sock *s, zx_msg *m) except -1:
    cdef StreamState st = <StreamState>s.state
    cdef int idx
    if st.has_prefetched:
        memcpy(m, &st.prefetched, sizeof(zx_msg))
        zx_msg_init(&st.prefetched)
        st.has_prefetched = False
        return 1
    if not zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx):
        return 0
    rid = st.routes.rid_of(idx)
    if rid is None:
        rid = b""
    if m.size == 0 and zx_load(&s.slots[idx].link.gone[1 - s.slots[idx].side]):
        # the disconnect notification of a connection that will not come back: its id is
        # unknown from now on (the engine marked the link before publishing this)
        st.routes.forget(idx)
    m.flags = 0                       # the engine's messages are single frames
    memcpy(&st.prefetched, m, sizeof(zx_msg))
    st.has_prefetched = True
    if zx_msg_init_copy(m, <char *>rid, len(rid)) < 0:
        raise MemoryError()
    m.flags = ZX_MSG_MORE
    return 1


cdef int _stream_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef StreamState st = <StreamState>s.state
    cdef int idx
    if not st.more_out:
        # the routing id frame
        if flags & F_SNDMORE:
            idx = st.routes.lookup(zx_msg_data(m)[:m.size])
            if idx < 0 or s.slots[idx].dying:
                raise ZMQError(EHOSTUNREACH_)
            if not zx_slot_can_write(&s.slots[idx]):
                return 0                  # at HWM: wait (EAGAIN without waiting)
            st.cur_out = idx
        zx_msg_close(m)
        st.more_out = True
        return 1
    # the data frame; it ends the message whatever its MORE flag
    st.more_out = False
    idx = st.cur_out
    st.cur_out = -1
    if idx < 0:
        zx_msg_close(m)
        return 1
    if m.size == 0:
        # close this connection: the engine writes what was queued before, then closes
        zx_msg_close(m)
        _refuse(s, idx)
        return 1
    _write(s, idx, m, False)
    return 1


cdef int _stream_has_in(zx_sock *s) except -1:
    cdef StreamState st = <StreamState>s.state
    return st.has_prefetched or zx_fq_has_in(&st.fq, s.slots, s.nslots)


cdef zx_sockops STREAM_OPS
_ops_defaults(&STREAM_OPS, ZX_STREAM, "STREAM", ZX_T_SEND | ZX_T_RECV, -1)
STREAM_OPS.init = _stream_init
STREAM_OPS.attach = _stream_attach
STREAM_OPS.detach = _stream_detach
STREAM_OPS.removed = _stream_removed
STREAM_OPS.send = _stream_send
STREAM_OPS.recv = _stream_recv
STREAM_OPS.has_in = _stream_has_in
STREAM_OPS.has_out = _always
STREAM_OPS.wire = ZX_WIRE_RAW
_register(&STREAM_OPS)
