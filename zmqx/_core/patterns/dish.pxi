# DISH: receives the messages of the groups it joined (exact match). join()/leave() come
# through the core (ZX_OPT_JOIN/LEAVE, at most 255 bytes); joining a group twice or leaving
# one not joined is EINVAL, as libzmq. Every peer is told every joined group when it
# attaches and again after a reconnect (JOIN messages, 1 + group, flagged
# ZX_MSG_SUBSCRIPTION: the engine sends them as ZMTP JOIN/LEAVE commands, a udp endpoint
# keeps them as its datagram filter). A message arrives as two frames, the group (with MORE)
# then the body; anything else comes from a broken peer: the message is dropped and the peer
# refused (its connection ends). Readiness reads ahead, as SUB's: POLLIN means a message of a
# joined group is there. recv() hands the group to the core in s.rgroup (Frame.group).

cdef class DishState:
    cdef zx_fq fq
    cdef set groups
    cdef bytes last               # the group last found joined (skips a lookup when it repeats)
    cdef zx_msg prefetched        # a message has_in found for recv, and its group
    cdef bint has_prefetched
    cdef unsigned char pgroup[256]
    cdef int pgroup_len

    def __dealloc__(self):
        if self.has_prefetched:
            zx_msg_close(&self.prefetched)


cdef object _dish_init(zx_sock *s):
    st = DishState()
    zx_fq_init(&st.fq)
    zx_msg_init(&st.prefetched)
    st.groups = set()
    return st


cdef int _dish_hiccup(zx_sock *s, int idx) except -1:
    cdef DishState st = <DishState>s.state
    cdef bytes group
    if s.slots[idx].dying:
        return 0
    for group in st.groups:
        _send_subscription(s, idx, True, group, len(group))
    return 0


cdef int _dish_removed(zx_sock *s, int idx) except -1:
    zx_fq_removed(&(<DishState>s.state).fq, idx, s.nslots - 1)
    return 0


cdef bint _dish_joined(DishState st, zx_msg *g) except -1:
    cdef unsigned char *d = zx_msg_data(g)
    cdef bytes key
    if st.last is not None and len(st.last) == <Py_ssize_t>g.size and \
            memcmp(<char *>st.last, d, g.size) == 0:
        return True
    key = d[:g.size]
    if key in st.groups:
        st.last = key
        return True
    return False


cdef int _dish_broken(DishState st, zx_sock *s, int idx, zx_msg *m) except -1:
    # not a (group, body) pair: drop the rest of the message and the peer
    zx_fq_skip_rest(&st.fq, s.slots, m)
    if not s.slots[idx].dying:
        _refuse(s, idx)
    return 0


# the next message of a joined group: its body in *m, its group in group/glen
cdef int _dish_next(zx_sock *s, zx_msg *m, unsigned char *group, int *glen) except -1:
    cdef DishState st = <DishState>s.state
    cdef zx_msg g
    cdef int idx
    while True:
        if not zx_fq_recv(&st.fq, s.slots, s.nslots, &g, &idx):
            return 0
        if not (g.flags & ZX_MSG_MORE) or g.size > ZX_GROUP_MAX:
            _dish_broken(st, s, idx, &g)
            continue
        if not zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx):
            zx_msg_close(&g)       # cannot happen: messages are published whole
            return 0
        if m.flags & ZX_MSG_MORE:
            zx_msg_close(&g)
            _dish_broken(st, s, idx, m)
            continue
        if _dish_joined(st, &g):
            memcpy(group, zx_msg_data(&g), g.size)
            glen[0] = <int>g.size
            zx_msg_close(&g)
            return 1
        zx_msg_close(&g)
        zx_msg_close(m)


cdef int _dish_recv(zx_sock *s, zx_msg *m) except -1:
    cdef DishState st = <DishState>s.state
    if st.has_prefetched:
        memcpy(m, &st.prefetched, sizeof(zx_msg))
        zx_msg_init(&st.prefetched)
        st.has_prefetched = False
        memcpy(s.rgroup.data, st.pgroup, st.pgroup_len)
        s.rgroup.len = st.pgroup_len
        return 1
    return _dish_next(s, m, s.rgroup.data, &s.rgroup.len)


cdef int _dish_has_in(zx_sock *s) except -1:
    cdef DishState st = <DishState>s.state
    if st.has_prefetched:
        return 1
    if _dish_next(s, &st.prefetched, st.pgroup, &st.pgroup_len):
        st.has_prefetched = True
        return 1
    return 0


cdef int _dish_setopt(zx_sock *s, int option, object value) except -1:
    cdef DishState st = <DishState>s.state
    cdef bytes group
    cdef int i
    if option != ZX_OPT_JOIN and option != ZX_OPT_LEAVE:
        raise ZMQError(EINVAL_)
    group = value
    if option == ZX_OPT_JOIN:
        if group in st.groups:
            raise ZMQError(EINVAL_)
        st.groups.add(group)
    else:
        if group not in st.groups:
            raise ZMQError(EINVAL_)
        st.groups.discard(group)
        st.last = None
    for i in range(s.nslots):
        if not s.slots[i].dying:
            _send_subscription(s, i, option == ZX_OPT_JOIN, group, len(group))
    return 0


cdef zx_sockops DISH_OPS
_ops_defaults(&DISH_OPS, ZX_DISH, "DISH",
              ZX_T_RECV | ZX_T_THREADSAFE | ZX_T_SINGLEPART | ZX_T_GROUPS | ZX_T_UDP, -1)
DISH_OPS.init = _dish_init
DISH_OPS.attach = _dish_hiccup
DISH_OPS.hiccup = _dish_hiccup
DISH_OPS.removed = _dish_removed
DISH_OPS.recv = _dish_recv
DISH_OPS.has_in = _dish_has_in
DISH_OPS.setopt = _dish_setopt
DISH_OPS.wire = ZX_WIRE_JOIN_OUT
_register(&DISH_OPS)
