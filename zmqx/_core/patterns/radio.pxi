# RADIO: each message goes to the peers (DISHes) that joined its group - an exact match on
# up to 255 bytes - and to every udp:// endpoint (the datagram carries the group and the
# DISH at the other end filters). Joins come from each peer as JOIN/LEAVE messages (1/0 +
# group, flagged ZX_MSG_SUBSCRIPTION: the engine makes them from ZMTP's JOIN/LEAVE commands,
# an inproc DISH writes them itself) and are kept per peer, as a set held by the state and
# pointed at by slot.tdata. The group travels in a frame of its own before the body (on the
# wire too, as libzmq sends it). As PUB, a peer at HWM misses the message unless XPUB_NODROP
# (which libzmq's RADIO honours too). Single-part: SNDMORE is EINVAL.

cdef class RadioState:
    cdef zx_dist dist
    cdef dict peers               # (link, side) -> set of the groups that peer joined
    cdef bytes last               # the group of the last message (reused when it repeats)
    cdef bint nodrop


cdef object _radio_init(zx_sock *s):
    st = RadioState()
    zx_dist_init(&st.dist)
    st.peers = {}
    st.last = b""
    return st


cdef inline size_t _radio_key(zx_slot *sl) noexcept:
    return (<size_t>sl.link) * 2 + <size_t>sl.side


cdef int _radio_attach(zx_sock *s, int idx) except -1:
    cdef RadioState st = <RadioState>s.state
    cdef zx_slot *sl = &s.slots[idx]
    cdef set joined
    if sl.link.socktype[1 - sl.side] == ZX_PEER_UDP:
        sl.tdata = NULL           # a udp endpoint takes every group
        return 0
    joined = set()
    st.peers[_radio_key(sl)] = joined
    sl.tdata = <void *>joined
    return 0


cdef int _radio_removed(zx_sock *s, int idx) except -1:
    cdef RadioState st = <RadioState>s.state
    cdef zx_slot *sl = &s.slots[idx]
    sl.tdata = NULL
    st.peers.pop(_radio_key(sl), None)
    return 0


cdef int _radio_read_joins(zx_sock *s) except -1:
    # apply what the peers sent: JOIN/LEAVE; anything else (a confused peer) is dropped
    cdef int i
    cdef zx_slot *sl
    cdef zx_msg m
    cdef unsigned char *d
    for i in range(s.nslots):
        sl = &s.slots[i]
        while zx_slot_read(sl, &m):
            d = zx_msg_data(&m)
            if (m.flags & ZX_MSG_SUBSCRIPTION) and not (m.flags & ZX_MSG_MORE) \
                    and 1 <= m.size <= ZX_GROUP_MAX + 1 and sl.tdata != NULL:
                if d[0] == 1:
                    (<set>sl.tdata).add(d[1:m.size])
                elif d[0] == 0:
                    (<set>sl.tdata).discard(d[1:m.size])
            zx_msg_close(&m)
    return 0


cdef int _radio_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef RadioState st = <RadioState>s.state
    cdef zx_slot *sl
    cdef zx_msg g
    cdef int i
    cdef bytes group = st.last
    if flags & F_SNDMORE:
        raise ZMQError(EINVAL_)
    _radio_read_joins(s)
    if len(group) != s.sgroup.len or memcmp(<char *>group, s.sgroup.data, s.sgroup.len) != 0:
        group = s.sgroup.data[:s.sgroup.len]
        st.last = group
    for i in range(s.nslots):
        sl = &s.slots[i]
        if sl.dying:
            sl.matched = False
        elif sl.tdata == NULL:
            sl.matched = True
        else:
            sl.matched = group in <set>sl.tdata
    if zx_dist_drop_full(s.slots, s.nslots) and st.nodrop:
        return 0
    if zx_msg_init_copy(&g, s.sgroup.data, s.sgroup.len) < 0:
        raise MemoryError()
    if zx_dist_send(&st.dist, s.slots, s.nslots, &g, True) < 0 or \
            zx_dist_send(&st.dist, s.slots, s.nslots, m, False) < 0:
        raise MemoryError()
    return 1


cdef int _radio_has_out(zx_sock *s) except -1:
    _radio_read_joins(s)          # RADIO never blocks; this keeps the joins current
    return 1


cdef int _radio_setopt(zx_sock *s, int option, object value) except -1:
    if option == O_XPUB_NODROP:
        (<RadioState>s.state).nodrop = bool(value)
        return 0
    raise ZMQError(EINVAL_)


cdef object _radio_getopt(zx_sock *s, int option):
    if option == O_XPUB_NODROP:
        return int((<RadioState>s.state).nodrop)
    raise ZMQError(EINVAL_)


cdef zx_sockops RADIO_OPS
_ops_defaults(&RADIO_OPS, ZX_RADIO, "RADIO",
              ZX_T_SEND | ZX_T_THREADSAFE | ZX_T_SINGLEPART | ZX_T_UDP, -1)
RADIO_OPS.init = _radio_init
RADIO_OPS.attach = _radio_attach
RADIO_OPS.removed = _radio_removed
RADIO_OPS.send = _radio_send
RADIO_OPS.has_out = _radio_has_out
RADIO_OPS.setopt = _radio_setopt
RADIO_OPS.getopt = _radio_getopt
RADIO_OPS.wire = ZX_WIRE_JOIN_IN
_register(&RADIO_OPS)
