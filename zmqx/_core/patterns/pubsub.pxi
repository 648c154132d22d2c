# PUB/XPUB: distribute each message to the links whose subscriptions match its first frame;
# a link at HWM misses the message (PUB never blocks) unless XPUB_NODROP asks to wait.
# SUB/XSUB: subscriptions travel upstream as messages (1/0 + topic, marked so the engine
# turns them into SUBSCRIBE/CANCEL commands for 3.1 peers) and are filtered again here.

cdef void _collect_prefix(void *arg, const unsigned char *p, size_t n, long refcnt) noexcept with gil:
    (<list>arg).append((p[:n], refcnt))


cdef list _trie_items(zx_trie *t):
    out = []
    zx_trie_foreach(t, <zx_trie_cb>_collect_prefix, <void *>out)
    return out


cdef int _resend_subs(Socket self, int idx) except -1:
    cdef bytes topic
    for topic, _ in _trie_items(self.subs):
        self._send_subscription(idx, True, topic, len(topic))
    return 0


cdef int _xpub_drop_subs(Socket self, int idx) except -1:
    # a subscriber left: its topics nobody else wants become unsubscriptions upstream
    cdef bytes topic
    cdef long refcnt, k
    cdef int rc
    for topic, refcnt in _trie_items(self.slots[idx].subs):
        for k in range(refcnt):
            rc = zx_trie_rm(self.subs, topic, len(topic))
            if rc == 1 or (rc == 0 and self.xpub_verboser):
                self._pending_in.append((b"\x00" + topic, False))
    zx_trie_free(self.slots[idx].subs)
    self.slots[idx].subs = zx_trie_new()
    return 0


cdef int _pub_read_upstream(Socket self) except -1:
    # apply (or, for XPUB, also report) what subscribers sent us
    cdef int i, rc
    cdef zx_slot *s
    cdef zx_msg m
    cdef unsigned char *d
    cdef bint xpub = self.socket_type == ZX_XPUB
    cdef bint first, more
    for i in range(self.nslots):
        s = &self.slots[i]
        first = True
        while zx_pipe_read(zx_link_in(s.link, s.side), &m, s.link):
            more = (m.flags & ZX_MSG_MORE) != 0
            d = zx_msg_data(&m)
            if first and not more and m.size >= 1 and (d[0] == 0 or d[0] == 1):
                if self.xpub_manual and xpub:
                    self.xpub_last_link = s.link
                    self._pending_in.append((d[:m.size], False))
                elif d[0] == 1:
                    zx_trie_add(s.subs, d + 1, m.size - 1)
                    if xpub:
                        rc = zx_trie_add(self.subs, d + 1, m.size - 1)
                        if rc == 1 or self.xpub_verbose or self.xpub_verboser:
                            self.xpub_last_link = s.link
                            self._pending_in.append((d[:m.size], False))
                else:
                    if zx_trie_rm(s.subs, d + 1, m.size - 1) >= 0 and xpub:
                        rc = zx_trie_rm(self.subs, d + 1, m.size - 1)
                        if rc == 1 or self.xpub_verboser:
                            self.xpub_last_link = s.link
                            self._pending_in.append((d[:m.size], False))
            elif xpub:
                # any other message coming upstream (from an XSUB) reaches the app
                self._pending_in.append((d[:m.size], more))
            zx_msg_close(&m)
            first = not more
    return 0


cdef int _pub_send(Socket self, zx_msg *m, bint more) except -1:
    cdef int i
    cdef zx_slot *s
    cdef zx_msg copy
    cdef unsigned char *d
    cdef bint full = False
    if not self.out_dist:
        # a new message: choose its subscribers once, by its first frame
        _pub_read_upstream(self)
        d = zx_msg_data(m)
        for i in range(self.nslots):
            s = &self.slots[i]
            s.matched = (not s.dying) and (zx_trie_match(s.subs, d, m.size) != self.invert_matching)
            if s.matched and not zx_pipe_check_write(zx_link_out(s.link, s.side)):
                s.matched = False
                full = True
        if full and self.xpub_nodrop:
            return 0
    for i in range(self.nslots):
        if self.slots[i].matched:
            zx_msg_copy(&copy, m)
            self._write_slot(i, &copy, more)
    self.out_dist = more
    return 1


cdef int _xsub_send(Socket self, zx_msg *m, bint more) except -1:
    cdef int i, rc
    cdef unsigned char *d = zx_msg_data(m)
    cdef zx_msg copy
    cdef bint forward = True
    cdef bint is_sub = False
    if not self.out_dist and not more and m.size >= 1 and (d[0] == 0 or d[0] == 1):
        is_sub = True
        if d[0] == 1:
            zx_trie_add(self.subs, d + 1, m.size - 1)
        else:
            # forwarded only when the last reference goes
            forward = zx_trie_rm(self.subs, d + 1, m.size - 1) == 1
    if forward:
        for i in range(self.nslots):
            zx_msg_copy(&copy, m)
            if is_sub:
                copy.flags |= ZX_MSG_SUBSCRIPTION
            self._write_slot(i, &copy, more)
    self.out_dist = more
    return 1


cdef int _sub_set(Socket self, bint subscribe, bytes topic) except -1:
    cdef int i, rc
    if subscribe:
        zx_trie_add(self.subs, topic, len(topic))
        rc = 1
    else:
        rc = zx_trie_rm(self.subs, topic, len(topic))
    if rc == 1:
        for i in range(self.nslots):
            if not self.slots[i].dying:
                self._send_subscription(i, subscribe, topic, len(topic))
    return 0


cdef int _sub_recv(Socket self, zx_msg *m) except -1:
    # SUB drops whole messages whose first frame matches no subscription; XSUB filters
    # nothing (libzmq's options.filter), its upstream PUB already did
    cdef int idx
    cdef bint starting
    if self.socket_type == ZX_XSUB:
        return self._fq_read(m, &idx)
    while True:
        starting = self.cur_in < 0
        if not self._fq_read(m, &idx):
            return 0
        if not starting or zx_trie_match(self.subs, zx_msg_data(m), m.size) != self.invert_matching:
            return 1
        while m.flags & ZX_MSG_MORE:
            zx_msg_close(m)
            self._fq_read(m, &idx)
        zx_msg_close(m)


cdef int _xpub_recv(Socket self, zx_msg *m) except -1:
    cdef bytes data
    _pub_read_upstream(self)
    if not self._pending_in:
        return 0
    data, more = self._pending_in.pop(0)
    if zx_msg_init_copy(m, <char *>data, len(data)) < 0:
        raise MemoryError()
    m.flags = ZX_MSG_MORE if more else 0
    return 1


cdef int _xpub_manual_set(Socket self, bint subscribe, bytes topic) except -1:
    # XPUB_MANUAL: the app decides what the last subscriber that spoke gets
    cdef int i
    for i in range(self.nslots):
        if self.slots[i].link == self.xpub_last_link and self.slots[i].subs != NULL:
            if subscribe:
                zx_trie_add(self.slots[i].subs, topic, len(topic))
            else:
                zx_trie_rm(self.slots[i].subs, topic, len(topic))
            return 0
    return 0
