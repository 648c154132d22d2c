# XPUB: PUB's distribution (each message to the peers whose subscriptions match its first
# frame, through the distributor; a peer at HWM misses it unless XPUB_NODROP) plus the
# subscriptions coming upstream handed to the app as messages (1/0 + topic): new ones
# only, all with XPUB_VERBOSE, unsubscriptions too with XPUB_VERBOSER; XPUB_MANUAL lets
# the app decide what each subscriber gets. Each peer's subscriptions are a trie kept in
# its slot (slot.tdata); `subs` is the union over peers.

cdef class XPubState:
    cdef zx_dist dist
    cdef zx_trie *subs            # union of every peer's subscriptions (XPUB)
    cdef list pending_in          # (frame, more) for the app
    cdef void *last_link          # the peer whose subscription the app saw last (MANUAL)
    cdef bytes welcome
    cdef bint xpub                # False: plain PUB (nothing goes to the app)
    cdef bint verbose
    cdef bint verboser
    cdef bint nodrop
    cdef bint manual

    def __dealloc__(self):
        if self.subs != NULL:
            zx_trie_free(self.subs)


cdef object _xpub_init(zx_sock *s):
    st = XPubState()
    zx_dist_init(&st.dist)
    st.subs = zx_trie_new()
    if st.subs == NULL:
        raise MemoryError()
    st.pending_in = []
    st.xpub = s.socktype == ZX_XPUB
    return st


cdef int _xpub_attach(zx_sock *s, int idx) except -1:
    cdef XPubState st = <XPubState>s.state
    cdef zx_msg m
    s.slots[idx].tdata = zx_trie_new()
    if s.slots[idx].tdata == NULL:
        raise MemoryError()
    if st.welcome is not None:
        if zx_msg_init_copy(&m, <char *>st.welcome, len(st.welcome)) < 0:
            raise MemoryError()
        _write(s, idx, &m, False)
    return 0


cdef int _xpub_detach(zx_sock *s, int idx) except -1:
    # a subscriber left: its topics nobody else wants become unsubscriptions upstream
    cdef XPubState st = <XPubState>s.state
    cdef zx_trie *t = <zx_trie *>s.slots[idx].tdata
    cdef bytes topic
    cdef long refcnt, k
    cdef int rc
    if t == NULL:
        return 0
    for topic, refcnt in _trie_items(t):
        for k in range(refcnt):
            rc = zx_trie_rm(st.subs, topic, len(topic))
            if st.xpub and (rc == 1 or (rc == 0 and st.verboser)):
                st.pending_in.append((b"\x00" + topic, False))
    zx_trie_free(t)
    s.slots[idx].tdata = zx_trie_new()
    return 0


cdef int _xpub_removed(zx_sock *s, int idx) except -1:
    cdef XPubState st = <XPubState>s.state
    if s.slots[idx].tdata != NULL:
        zx_trie_free(<zx_trie *>s.slots[idx].tdata)
        s.slots[idx].tdata = NULL
    if <void *>s.slots[idx].link == st.last_link:
        st.last_link = NULL
    return 0


cdef int _xpub_read_upstream(zx_sock *s) except -1:
    # apply (and, for XPUB, report) what subscribers sent us
    cdef XPubState st = <XPubState>s.state
    cdef int i, rc
    cdef zx_slot *sl
    cdef zx_msg m
    cdef unsigned char *d
    cdef bint first, more
    for i in range(s.nslots):
        sl = &s.slots[i]
        first = True
        while zx_slot_read(sl, &m):
            more = (m.flags & ZX_MSG_MORE) != 0
            d = zx_msg_data(&m)
            if first and not more and m.size >= 1 and (d[0] == 0 or d[0] == 1) \
                    and sl.tdata != NULL:
                if st.manual and st.xpub:
                    st.last_link = sl.link
                    st.pending_in.append((d[:m.size], False))
                elif d[0] == 1:
                    zx_trie_add(<zx_trie *>sl.tdata, d + 1, m.size - 1)
                    rc = zx_trie_add(st.subs, d + 1, m.size - 1)
                    if st.xpub and (rc == 1 or st.verbose or st.verboser):
                        st.last_link = sl.link
                        st.pending_in.append((d[:m.size], False))
                else:
                    if zx_trie_rm(<zx_trie *>sl.tdata, d + 1, m.size - 1) >= 0:
                        rc = zx_trie_rm(st.subs, d + 1, m.size - 1)
                        if st.xpub and (rc == 1 or st.verboser):
                            st.last_link = sl.link
                            st.pending_in.append((d[:m.size], False))
            elif st.xpub:
                # any other message coming upstream (from an XSUB) reaches the app
                st.pending_in.append((d[:m.size], more))
            zx_msg_close(&m)
            first = not more
    return 0


cdef int _xpub_send(zx_sock *s, zx_msg *m, int flags) except -1:
    cdef XPubState st = <XPubState>s.state
    cdef int i, matched, full
    cdef zx_slot *sl
    cdef unsigned char *d
    if not st.dist.active:
        # a new message: choose its subscribers once, by its first frame
        _xpub_read_upstream(s)
        d = zx_msg_data(m)
        zx_dist_mark_all(s.slots, s.nslots)
        for i in range(s.nslots):
            sl = &s.slots[i]
            if sl.matched and (sl.tdata == NULL or
                               zx_trie_match(<zx_trie *>sl.tdata, d, m.size) == s.invert_matching):
                sl.matched = False
        matched = 0
        for i in range(s.nslots):
            matched += s.slots[i].matched
        full = zx_dist_drop_full(s.slots, s.nslots, not st.nodrop)
        if full and st.nodrop:
            return 0
        # Socket.stats(): nobody wanted it, or some peers missed it at their HWM
        if matched == 0:
            s.stats.dropped_no_subscribers += 1
        s.stats.dropped_hwm += full
    if zx_dist_send(&st.dist, s.slots, s.nslots, m, (flags & F_SNDMORE) != 0) < 0:
        raise MemoryError()
    return 1


cdef int _xpub_recv(zx_sock *s, zx_msg *m) except -1:
    cdef XPubState st = <XPubState>s.state
    cdef bytes data
    _xpub_read_upstream(s)
    if not st.pending_in:
        return 0
    data, more = st.pending_in.pop(0)
    if zx_msg_init_copy(m, <char *>data, len(data)) < 0:
        raise MemoryError()
    m.flags = ZX_MSG_MORE if more else 0
    return 1


cdef int _xpub_has_in(zx_sock *s) except -1:
    _xpub_read_upstream(s)
    return len((<XPubState>s.state).pending_in) > 0


cdef int _xpub_has_out(zx_sock *s) except -1:
    _xpub_read_upstream(s)        # PUB never blocks; this keeps subscriptions current
    return 1


cdef int _xpub_manual_set(zx_sock *s, bint subscribe, bytes topic) except -1:
    # XPUB_MANUAL: the app decides what the last subscriber that spoke gets
    cdef XPubState st = <XPubState>s.state
    cdef int i = _slot_of(s, st.last_link)
    if i >= 0 and s.slots[i].tdata != NULL:
        if subscribe:
            zx_trie_add(<zx_trie *>s.slots[i].tdata, topic, len(topic))
        else:
            zx_trie_rm(<zx_trie *>s.slots[i].tdata, topic, len(topic))
    return 0


cdef int _xpub_setopt(zx_sock *s, int option, object value) except -1:
    cdef XPubState st = <XPubState>s.state
    if option == O_XPUB_NODROP:
        st.nodrop = bool(value)
    elif option == O_XPUB_VERBOSE:
        st.verbose = bool(value)
    elif option == O_XPUB_VERBOSER:
        st.verboser = bool(value)
    elif option == O_XPUB_MANUAL:
        st.manual = bool(value)
    elif option == O_XPUB_WELCOME_MSG:
        st.welcome = value if value else None
    elif option == O_SUBSCRIBE or option == O_UNSUBSCRIBE:
        if not st.manual:
            raise ZMQError(EINVAL_)
        _xpub_manual_set(s, option == O_SUBSCRIBE, value)
    else:
        raise ZMQError(EINVAL_)
    return 0


cdef object _xpub_getopt(zx_sock *s, int option):
    cdef XPubState st = <XPubState>s.state
    if option == O_XPUB_VERBOSE:
        return int(st.verbose)
    if option == O_XPUB_VERBOSER:
        return int(st.verboser)
    if option == O_XPUB_NODROP:
        return int(st.nodrop)
    if option == O_XPUB_MANUAL:
        return int(st.manual)
    if option == O_TOPICS_COUNT:
        return len(_trie_items(st.subs))
    raise ZMQError(EINVAL_)


cdef zx_sockops XPUB_OPS
_ops_defaults(&XPUB_OPS, ZX_XPUB, "XPUB", ZX_T_SEND | ZX_T_RECV, -1)
XPUB_OPS.init = _xpub_init
XPUB_OPS.attach = _xpub_attach
XPUB_OPS.detach = _xpub_detach
XPUB_OPS.removed = _xpub_removed
XPUB_OPS.send = _xpub_send
XPUB_OPS.recv = _xpub_recv
XPUB_OPS.has_in = _xpub_has_in
XPUB_OPS.has_out = _xpub_has_out
XPUB_OPS.setopt = _xpub_setopt
XPUB_OPS.getopt = _xpub_getopt
_register(&XPUB_OPS)
