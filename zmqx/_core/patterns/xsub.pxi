# XSUB: subscriptions travel upstream as messages (1/0 + topic, flagged so the engine turns
# them into SUBSCRIBE/CANCEL commands for ZMTP 3.1 peers), are remembered in a trie and
# resent to every new or reconnected publisher; anything else the app sends goes to every
# publisher (distributor). Messages come in through a fair-queue, unfiltered: the publisher
# filtered them already (libzmq's XSUB does not filter either). SUB (sub.pxi) adds the
# filtering. Default LINGER 0, as libzmq: pending subscriptions never hold up close/term.

cdef class XSubState:
    cdef zx_fq fq
    cdef zx_dist dist
    cdef zx_trie *subs            # what we subscribed to (refcounted prefixes)
    cdef bint filter              # SUB: drop messages no subscription matches
    cdef zx_msg prefetched        # SUB: first frame of a message known to match
    cdef bint has_prefetched

    def __dealloc__(self):
        if self.subs != NULL:
            zx_trie_free(self.subs)
        if self.has_prefetched:
            zx_msg_close(&self.prefetched)


cdef object _xsub_init(zx_sock *s):
    st = XSubState()
    zx_fq_init(&st.fq)
    zx_dist_init(&st.dist)
    zx_msg_init(&st.prefetched)
    st.subs = zx_trie_new()
    if st.subs == NULL:
        raise MemoryError()
    st.filter = s.socktype == ZX_SUB
    return st


cdef int _xsub_hiccup(zx_sock *s, int idx) except -1:
    # (re)send every subscription to one publisher
    cdef XSubState st = <XSubState>s.state
    cdef bytes topic
    if s.slots[idx].dying:
        return 0
    for topic, _ in _trie_items(st.subs):
        _send_subscription(s, idx, True, topic, len(topic))
    return 0


cdef int _xsub_removed(zx_sock *s, int idx) except -1:
    zx_fq_removed(&(<XSubState>s.state).fq, idx, s.nslots - 1)
    return 0


cdef int _xsub_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef XSubState st = <XSubState>s.state
    cdef bint more = (flags & F_SNDMORE) != 0
    cdef unsigned char *d = zx_msg_data(m)
    cdef bint forward = True
    cdef bint is_sub = False
    if not st.dist.active and not more and m.size >= 1 and (d[0] == 0 or d[0] == 1):
        is_sub = True
        if d[0] == 1:
            zx_trie_add(st.subs, d + 1, m.size - 1)
        else:
            # forwarded only when the last reference goes
            forward = zx_trie_rm(st.subs, d + 1, m.size - 1) == 1
    if not forward:
        zx_msg_close(m)
        return 1
    if not st.dist.active:
        zx_dist_mark_all(s.slots, s.nslots)
    if is_sub:
        m.flags |= ZX_MSG_SUBSCRIPTION
    if zx_dist_send(&st.dist, s.slots, s.nslots, m, more) < 0:
        raise MemoryError()
    return 1


cdef int _xsub_next(zx_sock *s, zx_msg *m) except -1:
    # the next frame, filtered for SUB: whole messages no subscription matches are dropped
    cdef XSubState st = <XSubState>s.state
    cdef int idx
    cdef bint starting
    while True:
        starting = st.fq.cur < 0
        if not zx_fq_recv(&st.fq, s.slots, s.nslots, m, &idx, s.conflate and st.filter,
                          &s.stats.dropped_conflated):
            return 0
        if not st.filter or not starting or \
                zx_trie_match(st.subs, zx_msg_data(m), m.size) != s.invert_matching:
            return 1
        zx_fq_skip_rest(&st.fq, s.slots, m)


cdef int _xsub_recv(zx_sock *s, zx_msg *m) except -1:
    cdef XSubState st = <XSubState>s.state
    if st.has_prefetched:
        memcpy(m, &st.prefetched, sizeof(zx_msg))
        zx_msg_init(&st.prefetched)
        st.has_prefetched = False
        return 1
    return _xsub_next(s, m)


cdef int _xsub_has_in(zx_sock *s) except -1:
    # a message that recv would deliver, not just any queued frame: as libzmq, SUB reads
    # ahead and matches, keeping the first frame of a matching message for recv
    cdef XSubState st = <XSubState>s.state
    if st.has_prefetched or st.fq.cur >= 0:
        return 1
    if not st.filter:
        return zx_fq_has_in(&st.fq, s.slots, s.nslots)
    if _xsub_next(s, &st.prefetched):
        st.has_prefetched = True
        return 1
    return 0


cdef int _xsub_setopt(zx_sock *s, int option, object value) except -1:
    cdef XSubState st = <XSubState>s.state
    cdef bytes topic
    cdef int i, rc
    if (option == O_SUBSCRIBE or option == O_UNSUBSCRIBE) and st.filter:
        topic = value
        if option == O_SUBSCRIBE:
            rc = zx_trie_add(st.subs, topic, len(topic))
            rc = 1
        else:
            rc = zx_trie_rm(st.subs, topic, len(topic))
        if rc == 1:
            for i in range(s.nslots):
                if not s.slots[i].dying:
                    _send_subscription(s, i, option == O_SUBSCRIBE, topic, len(topic))
    else:
        raise ZMQError(EINVAL_)
    return 0


cdef object _xsub_getopt(zx_sock *s, int option):
    cdef XSubState st = <XSubState>s.state
    if option == O_TOPICS_COUNT:
        return len(_trie_items(st.subs))
    raise ZMQError(EINVAL_)


cdef zx_sockops XSUB_OPS
_ops_defaults(&XSUB_OPS, ZX_XSUB, "XSUB", ZX_T_SEND | ZX_T_RECV, 0)
XSUB_OPS.init = _xsub_init
XSUB_OPS.attach = _xsub_hiccup
XSUB_OPS.hiccup = _xsub_hiccup
XSUB_OPS.removed = _xsub_removed
XSUB_OPS.send = _xsub_send
XSUB_OPS.recv = _xsub_recv
XSUB_OPS.has_in = _xsub_has_in
XSUB_OPS.has_out = _always
XSUB_OPS.setopt = _xsub_setopt
XSUB_OPS.getopt = _xsub_getopt
_register(&XSUB_OPS)
