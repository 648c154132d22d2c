# REQ: strict send/recv lockstep. Each request gets an empty delimiter (and, with
# REQ_CORRELATE, a request id before it), goes to one peer by load-balancing, and only a
# reply from that peer carrying the same envelope is accepted.
# REP: reads the envelope up to the delimiter, hands the body to the app, and routes the
# reply back with the same envelope to the peer that asked.

cdef int _slot_of(Socket self, zx_link *link) noexcept:
    cdef int i
    if link == NULL:
        return -1
    for i in range(self.nslots):
        if self.slots[i].link == link and not self.slots[i].dying:
            return i
    return -1


cdef int _write_bytes(Socket self, int idx, bytes data, bint more) except -1:
    cdef zx_msg m
    if zx_msg_init_copy(&m, <char *>data, len(data)) < 0:
        raise MemoryError()
    return self._write_slot(idx, &m, more)


cdef int _req_send(Socket self, zx_msg *m, bint more) except -1:
    cdef int idx, k
    cdef zx_msg stale
    if not self.req_body_started:
        if self.req_waiting:
            if not self.req_relaxed:
                raise ZMQError(EFSM_)
            # REQ_RELAXED: a new request abandons the old one; a late reply is dropped
            self.req_waiting = False
            self.reply_link = NULL
        idx = self._pick_out()
        if idx < 0:
            return 0
        # as libzmq: a new request eats every message already queued, so an old stray
        # reply can never pass for the answer to this one
        while self.cur_in >= 0 or self._fq_read(&stale, &k):
            if self.cur_in >= 0:
                self._fq_read(&stale, &k)
            zx_msg_close(&stale)
        if self.req_correlate:
            self.req_id += 1
            _write_bytes(self, idx, (<object>self.req_id).to_bytes(4, "big"), True)
        _write_bytes(self, idx, b"", True)
        self.cur_out = idx
        self.reply_link = self.slots[idx].link
        self.req_body_started = True
    self._write_slot(self.cur_out, m, more)
    if not more:
        self.cur_out = -1
        self.req_body_started = False
        self.req_waiting = True
    return 1


cdef int _req_recv(Socket self, zx_msg *m) except -1:
    cdef int idx
    cdef bint ok
    if not self.req_waiting:
        raise ZMQError(EFSM_)
    while True:
        if self.cur_in >= 0:
            # inside the accepted reply: hand out its frames
            self._fq_read(m, &idx)
            if not (m.flags & ZX_MSG_MORE):
                self.req_waiting = False
            return 1
        if not self._fq_read(m, &idx):
            return 0
        # a new message: accept it only from the peer we asked, with our envelope
        ok = self.slots[idx].link == self.reply_link
        if ok and self.req_correlate:
            ok = (m.flags & ZX_MSG_MORE) != 0 and m.size == 4 and \
                zx_msg_data(m)[:4] == (<object>self.req_id).to_bytes(4, "big")
            if ok:
                zx_msg_close(m)
                self._fq_read(m, &idx)
        if ok:
            ok = m.size == 0 and (m.flags & ZX_MSG_MORE) != 0
        if ok:
            zx_msg_close(m)
            self._fq_read(m, &idx)
            if not (m.flags & ZX_MSG_MORE):
                self.req_waiting = False
            return 1
        # stray or malformed: drop the whole message
        while m.flags & ZX_MSG_MORE:
            zx_msg_close(m)
            self._fq_read(m, &idx)
        zx_msg_close(m)


cdef int _rep_recv(Socket self, zx_msg *m) except -1:
    cdef int idx
    cdef list envelope
    if self.cur_in >= 0:
        self._fq_read(m, &idx)
        return 1
    if self.rep_replying:
        raise ZMQError(EFSM_)
    while True:
        if not self._fq_read(m, &idx):
            return 0
        envelope = []
        # the envelope: routing ids up to and including the empty delimiter
        while m.flags & ZX_MSG_MORE and m.size > 0:
            envelope.append(zx_msg_data(m)[:m.size])
            zx_msg_close(m)
            self._fq_read(m, &idx)
        if m.size == 0 and m.flags & ZX_MSG_MORE:
            zx_msg_close(m)
            self._fq_read(m, &idx)
            self._envelope = envelope
            self.reply_link = self.slots[idx].link
            self.rep_replying = True
            return 1
        # no delimiter: not a request; drop it
        while m.flags & ZX_MSG_MORE:
            zx_msg_close(m)
            self._fq_read(m, &idx)
        zx_msg_close(m)


cdef int _rep_send(Socket self, zx_msg *m, bint more) except -1:
    cdef int idx
    if not self.rep_replying:
        raise ZMQError(EFSM_)
    if not self.req_body_started:
        idx = _slot_of(self, self.reply_link)
        if idx < 0:
            self.out_drop = True           # the requester is gone: the reply has nowhere to go
        else:
            if not zx_pipe_check_write(zx_link_out(self.slots[idx].link, self.slots[idx].side)):
                return 0
            for frame in self._envelope:
                _write_bytes(self, idx, frame, True)
            _write_bytes(self, idx, b"", True)
            self.cur_out = idx
        self.req_body_started = True
    if self.out_drop:
        zx_msg_close(m)
    else:
        self._write_slot(self.cur_out, m, more)
    if not more:
        self.cur_out = -1
        self.out_drop = False
        self.req_body_started = False
        self.rep_replying = False
        self._envelope = None
    return 1
