# The ZMTP engine of one established connection (included by io_thread.pyx): reading into a
# shared receive block and decoding frames into the link's inbound pipe, ZMTP commands
# (PING/PONG heartbeats, SUBSCRIBE/CANCEL, ERROR), and writing the outbound pipe as staged
# vectored writes. The hot path of every tcp/ipc message. Functions that can end the
# session return -1 after marking it (_session_end); their callers return at once.

from libc.string cimport strlen

cdef enum:
    SMALL_BODY = 2048          # bodies up to this are copied into the write stage
    LARGE_BODY = 32768         # bodies from this size are read straight into their own block
    # the read that ends a large body also takes up to this much of what follows into the
    # receive buffer: the next header arrives with no call of its own, and at most this
    # much of a following large body is copied into its block
    BIG_TAIL = 1024
    # large frames below this size wake a sleeping reader once per input round (up to four
    # reads) instead of once each: a wake-up costs the I/O thread about as much as reading
    # 64 KiB, and the reader takes every frame there is when it wakes. Larger frames wake
    # it at once: the reader's work on one overlaps the read of the next
    WAKE_BATCH_BELOW = 262144
    # a write round stages large bodies up to about this much (one 1 MiB message, sixteen
    # of 64 KiB): larger vectored writes left multi-MiB bursts queued in the socket, which
    # the kernel then sent from both ends' CPUs over loopback (the ACKs clock them out on
    # the receiver's): out-of-order segments and retransmits, 288 per GB instead of ~60
    WRITE_BIG_MAX = 1 << 20
    # ... and when this thread also reads the other end (zx_session.local_pair): one round
    # of about this much per writable event, then the loop's other events (the reads) come
    # first. Long rounds let the kernel's buffers fill with megabytes that the same thread
    # then reads back from outside its caches: 2.6 against 5.4 GB/s at 64 KiB, one context
    WRITE_LOCAL_MAX = 131072
    # an ipc connection that carries a frame of this size or more gets a send buffer of
    # IPC_SNDBUF_LARGE (unless SNDBUF was set): a unix socket has no autotuning, and its
    # default (~208 KiB) takes a 1 MiB frame in five writes and five wake-ups of the
    # reader. 1 MiB frames went 2-16% faster with it; connections of small messages keep
    # the default (a larger one would only let more of a slow reader's backlog sit in
    # the kernel). tcp sizes its buffers itself: setting them would switch that off
    IPC_SNDBUF_FRAME = 262144
    IPC_SNDBUF_LARGE = 1 << 20


# ---------------------------------------------------------------- input

cdef bint _ensure_rbuf(zx_session *s) noexcept nogil:
    # the receive buffer is a shared block: large frames are sliced out of it, so a block
    # still referenced by queued messages is replaced rather than overwritten
    cdef zx_block *b
    cdef size_t left
    if s.rbuf != NULL and s.rend < ZX_RBUF_SIZE:
        return True
    left = 0 if s.rbuf == NULL else s.rend - s.rstart
    if s.rbuf != NULL and zx_load(&s.rbuf.refs) == 1:
        if left and s.rstart:
            memmove(s.rbuf.data, s.rbuf.data + s.rstart, left)
        s.rstart = 0
        s.rend = left
        return True
    b = zx_block_new(ZX_RBUF_SIZE)
    if b == NULL:
        return False
    zx_block_set_props(b, s.props)          # (secured connections: Frame.get)
    if left:
        memcpy(b.data, s.rbuf.data + s.rstart, left)
    if s.rbuf != NULL:
        zx_block_unref(s.rbuf)
    s.rbuf = b
    s.rstart = 0
    s.rend = left
    return True


# decode what is buffered, then read (up to 4 times when do_read); -1 if the session ended
cdef int _session_input(zx_session *s, bint do_read) noexcept nogil:
    cdef int rc = _session_read(s, do_read)
    if s.wake_due:
        s.wake_due = False
        if s.link != NULL:
            zx_pipe_wake_reader(zx_link_out(s.link, 1), s.link)
    return rc


cdef int _session_read(zx_session *s, bint do_read) noexcept nogil:
    cdef ssize_t n
    cdef uint64_t rest
    cdef int rc, err
    cdef int reads = 0
    while True:
        if s.state == ZX_S_ACTIVE and not s.big_active:
            rc = _session_decode(s)
            if rc < 0:
                return -1
            if rc == 1:
                # inbound pipe at HWM: stop reading, TCP pushes back on the peer
                s.in_blocked = True
                _session_set_events(s, s.events & ~ZX_EV_IN)
                return 0
            if s.events >= 0 and not (s.events & ZX_EV_IN):
                _session_set_events(s, s.events | ZX_EV_IN)
        if not do_read or reads >= 4:
            return 0
        if s.zap_req != 0:
            # a handshake waiting for its ZAP reply reads nothing more (io_mechanism.pxi)
            _session_set_events(s, s.events & ~ZX_EV_IN)
            return 0
        reads += 1
        if s.big_active:
            if _big_room(s) < 0:
                return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
            if s.big.u.l.blk.size == s.big.size and _ensure_rbuf(s):
                # room for the whole rest of the body: what follows it comes in the same
                # read, into the receive buffer (empty now: the body took all it held)
                n = zx_recv2(s.fd, s.big.u.l.data + s.big_filled, s.big.size - s.big_filled,
                             s.rbuf.data + s.rend,
                             BIG_TAIL if ZX_RBUF_SIZE - s.rend > BIG_TAIL
                             else ZX_RBUF_SIZE - s.rend)
            else:
                n = zx_recv(s.fd, s.big.u.l.data + s.big_filled,
                            s.big.u.l.blk.size - s.big_filled)
        else:
            if not _ensure_rbuf(s):
                return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
            # after a large frame, read just enough for the next header so its body goes
            # straight into its own block instead of through the shared buffer
            n = zx_recv(s.fd, s.rbuf.data + s.rend,
                        (4096 if s.expect_big and ZX_RBUF_SIZE - s.rend > 4096
                         else ZX_RBUF_SIZE - s.rend))
        if n == 0:
            return _session_end(s, ZX_END_PEER_CLOSED, 0)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                return 0
            return _session_end(s, ZX_END_IO_ERROR, err)
        s.ping_deadline = 0
        s.ttl_deadline = 0
        if s.big_active:
            rest = s.big.size - s.big_filled
            if <uint64_t>n > rest:
                s.rend += <size_t>(<uint64_t>n - rest)      # the next frame's first bytes
                n = <ssize_t>rest
            s.big_filled += n
            if s.big_filled == s.big.size and _session_big_done(s) < 0:
                return -1
            continue
        s.rend += n
        if s.state == ZX_S_HANDSHAKE and _session_hs_feed(s) < 0:
            return -1


# a frame read into its own block is complete; -1 if the session ended
cdef int _session_big_done(zx_session *s) noexcept nogil:
    cdef int rc
    cdef uint64_t size = s.big.size
    s.big_active = False
    s.expect_big = True
    if s.curve:
        rc = _curve_frame_in(s, s.big.u.l.blk if s.big.is_block else NULL,
                             zx_msg_data(&s.big), s.big.size)
        zx_msg_close(&s.big)
        if rc < 0:
            return -1
    elif s.big_command:
        s.big_command = False
        rc = _session_command(s, zx_msg_data(&s.big), s.big.size)
        zx_msg_close(&s.big)
        if rc < 0:
            return -1
    elif _deliver(s, &s.big) < 0:
        return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
    if size < WAKE_BATCH_BELOW:
        if zx_pipe_publish(zx_link_out(s.link, 1)):
            s.wake_due = True               # _session_input wakes the reader
    else:
        zx_pipe_flush(zx_link_out(s.link, 1), s.link)
    return 0


# A frame too large for the receive buffer is read into a block of its own. The block
# holds what arrived, not what the header declared: BIG_EAGER bytes at once (most large
# messages fit, so they are read with no reallocation), beyond that it doubles as the
# bytes come (zx_frame_reserve), so a peer that declares 8 GiB and sends 10 bytes costs
# BIG_EAGER, not 8 GiB. s.big.size is the declared size; blk.size the room so far.
cdef enum:
    BIG_EAGER = 4 << 20


cdef int _big_start(zx_session *s, uint64_t size, const unsigned char *have,
                    size_t n) noexcept nogil:
    cdef uint64_t cap = zx_frame_reserve(size, n)
    cdef zx_block *b
    if cap < BIG_EAGER:
        cap = BIG_EAGER if size > BIG_EAGER else size
    if s.props == NULL and not s.curve:
        # a bytes-shaped block (msg.pxd): recv(copy=True) takes it as is, no copy
        b = zx_block_new_bytes(cap)
    else:
        b = zx_block_new(cap)
    if b == NULL:
        return -1
    zx_block_set_props(b, s.props)
    s.big.size = size
    s.big.flags = 0
    s.big.is_block = 1
    s.big.u.l.blk = b
    s.big.u.l.data = b.data
    if n:
        memcpy(b.data, have, n)
    s.big_filled = n
    s.big_active = True
    return 0


cdef int _big_room(zx_session *s) noexcept nogil:
    # room for the next read: grow the block (only we hold it) once it is full
    cdef zx_block *b = s.big.u.l.blk
    cdef zx_block *nb
    cdef uint64_t cap
    if s.big_filled < b.size:
        return 0
    cap = zx_frame_reserve(s.big.size, s.big_filled)
    nb = zx_block_grow(b, cap)
    if nb == NULL:
        return -1
    s.big.u.l.blk = nb
    s.big.u.l.data = nb.data
    return 0


# returns 0 (need more bytes), 1 (inbound pipe full), -1 (the session ended)
cdef int _session_decode(zx_session *s) noexcept nogil:
    cdef zx_pipe *inp = zx_link_out(s.link, 1)
    cdef const unsigned char *p
    cdef size_t avail
    cdef uint8_t flags
    cdef uint64_t size
    cdef size_t hdrlen
    cdef int rc
    cdef zx_msg m
    cdef int result = 0
    while s.rbuf != NULL and s.rstart < s.rend:
        if not s.in_more and not zx_pipe_check_write(inp):
            result = 1
            break
        p = s.rbuf.data + s.rstart
        avail = s.rend - s.rstart
        if s.wire >= ZX_ZMTP_30:
            rc = zx_frame_header_decode(p, avail, s.opts.maxmsgsize, &flags, &size, &hdrlen)
        else:
            rc = _legacy_header_decode(s, p, avail, s.opts.maxmsgsize, &flags, &size, &hdrlen)
        if rc == ZX_NEED_MORE:
            break
        if rc != ZX_OK:
            result = _session_end(s, ZX_END_PROTOCOL, rc)
            break
        if s.curve:
            # every frame is a MESSAGE (libzmq sends them as data frames): opened in place
            if size + hdrlen <= avail:
                s.expect_big = False
                s.rstart += hdrlen + size
                if _curve_frame_in(s, s.rbuf, <unsigned char *>p + hdrlen, size) < 0:
                    result = -1
                    break
                continue
            if size >= LARGE_BODY or size + hdrlen > ZX_RBUF_SIZE:
                if _big_start(s, size, p + hdrlen, avail - hdrlen) < 0:
                    result = _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
                    break
                s.big.flags = 0
                s.big_command = False
                s.big_active = True
                s.rstart = s.rend
            break
        if flags & ZX_FLAG_COMMAND:
            if size + hdrlen > avail:
                if size + hdrlen > ZX_RBUF_SIZE:
                    # a command larger than the buffer (a long SUBSCRIBE topic): read it
                    # into its own block, then handle it
                    if _big_start(s, size, p + hdrlen, avail - hdrlen) < 0:
                        result = _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
                        break
                    s.big.flags = 0
                    s.big_command = True
                    s.big_active = True
                    s.rstart = s.rend
                break
            if _session_command(s, p + hdrlen, size) < 0:
                result = -1
                break
            s.rstart += hdrlen + size
            continue
        if size + hdrlen <= avail:
            s.expect_big = False
            if size <= ZX_VSM_SIZE and s.props == NULL:
                zx_msg_init_copy(&m, p + hdrlen, size)
            else:
                zx_msg_init_slice(&m, s.rbuf, <unsigned char *>p + hdrlen, size)
            if flags & ZX_FLAG_MORE:
                m.flags = ZX_MSG_MORE
            s.rstart += hdrlen + size
            if _deliver(s, &m) < 0:
                result = _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
                break
            continue
        if size >= LARGE_BODY or size + hdrlen > ZX_RBUF_SIZE:
            # read the rest of this body straight into its own block: no second copy
            if _big_start(s, size, p + hdrlen, avail - hdrlen) < 0:
                result = _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
                break
            s.big.flags = ZX_MSG_MORE if flags & ZX_FLAG_MORE else 0
            s.big_active = True
            s.rstart = s.rend
        break
    # complete messages decoded before a failure are still delivered
    zx_pipe_flush(inp, s.link)
    return result


cdef int _deliver(zx_session *s, zx_msg *m) noexcept nogil:
    cdef zx_pipe *inp = zx_link_out(s.link, 1)
    s.in_more = (m.flags & ZX_MSG_MORE) != 0
    if s.socket_gone:
        zx_msg_close(m)
        return 0
    if zx_pipe_write(inp, m) < 0:
        zx_msg_close(m)
        return -1
    return 0


# one command from the peer; -1 if the session ended
cdef int _session_command(zx_session *s, const unsigned char *body, size_t n) noexcept nogil:
    cdef const unsigned char *name
    cdef const unsigned char *data
    cdef const unsigned char *ctx
    cdef size_t namelen, datalen, ctxlen, k
    cdef uint16_t ttl
    cdef unsigned char buf[64]
    cdef zx_msg m
    if zx_command_split(body, n, &name, &namelen, &data, &datalen) != ZX_OK:
        return _session_end(s, ZX_END_PROTOCOL, ZX_ERR_PROTOCOL)
    if zx_command_is(name, namelen, "PING"):
        if zx_ping_decode(data, datalen, &ttl, &ctx, &ctxlen) != ZX_OK:
            return _session_end(s, ZX_END_PROTOCOL, ZX_ERR_PROTOCOL)
        if ttl > 0 and s.ttl_deadline == 0:
            s.ttl_deadline = zx_now_ms() + <int64_t>ttl * 100
        # answered between messages, never between the frames of one (_stage_pending)
        if ctxlen > 16:
            ctxlen = 16
        if ctxlen:
            memcpy(s.pong_ctx, ctx, ctxlen)
        s.pong_ctx_len = ctxlen
        s.pend_pong = True
        if _stage_pending(s) < 0:
            return -1
        return _session_write(s)
    if zx_command_is(name, namelen, "ERROR"):
        return _session_end(s, ZX_END_PEER_ERROR, ZX_ERR_PEER_ERROR)
    if zx_command_is(name, namelen, "SUBSCRIBE") or zx_command_is(name, namelen, "CANCEL"):
        # subscriptions reach a PUB/XPUB socket as messages: 1 or 0, then the topic
        if s.opts.socktype != ZX_PUB and s.opts.socktype != ZX_XPUB:
            return 0
        if zx_msg_init_size(&m, datalen + 1) < 0:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        zx_msg_data(&m)[0] = 1 if namelen == 9 else 0
        if datalen:
            memcpy(zx_msg_data(&m) + 1, data, datalen)
        if _deliver(s, &m) < 0:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        return 0
    if zx_command_is(name, namelen, "JOIN") or zx_command_is(name, namelen, "LEAVE"):
        # RADIO/DISH groups reach a RADIO as messages: 1 or 0, then the group (flagged, so
        # the room tells them from data a confused peer might send)
        if not (s.opts.wire & ZX_WIRE_JOIN_IN) or datalen > ZX_GROUP_MAX:
            return 0
        if zx_msg_init_size(&m, datalen + 1) < 0:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        zx_msg_data(&m)[0] = 1 if namelen == 4 else 0
        if datalen:
            memcpy(zx_msg_data(&m) + 1, data, datalen)
        m.flags = ZX_MSG_SUBSCRIPTION
        if _deliver(s, &m) < 0:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        return 0
    # PONG, and commands we do not know: ignored (ZMTP says unknown commands are not fatal)
    return 0


# ---------------------------------------------------------------- heartbeats

cdef int _session_send_ping(zx_session *s, int64_t now) noexcept nogil:
    s.pend_ping = True
    if _stage_pending(s) < 0:
        return -1
    s.next_ping = now + s.opts.heartbeat_ivl
    if s.ping_deadline == 0:
        s.ping_deadline = now + (s.opts.heartbeat_timeout if s.opts.heartbeat_timeout > 0
                                 else s.opts.heartbeat_ivl)
    return _session_write(s)


# ---------------------------------------------------------------- output

# the PING/PONG due, staged only at a message boundary and only with room for them (else
# they wait for the next boundary); -1 if the session ended
cdef int _stage_pending(zx_session *s) noexcept nogil:
    cdef unsigned char buf[64]
    cdef size_t k
    cdef int ttl
    if s.out_more or s.state != ZX_S_ACTIVE:
        return 0
    if s.iov_n >= ZX_IOV_MAX - 2 or s.stage_len + 256 > ZX_STAGE_SIZE:
        return 0
    if s.pend_ping:
        s.pend_ping = False
        ttl = s.opts.heartbeat_ttl // 100
        if ttl > 65535:
            ttl = 65535
        k = zx_ping_encode(buf, sizeof(buf), <uint16_t>ttl, NULL, 0)
        if _stage_frame(s, ZX_FLAG_COMMAND, buf + 2, k - 2) < 0:
            return -1
    if s.pend_pong:
        s.pend_pong = False
        k = zx_pong_encode(buf, sizeof(buf), s.pong_ctx, s.pong_ctx_len)
        if _stage_frame(s, ZX_FLAG_COMMAND, buf + 2, k - 2) < 0:
            return -1
    return 0


cdef void _stage_raw(zx_session *s, const unsigned char *data, size_t n) noexcept nogil:
    # small bytes (headers, copied bodies, commands) go into the stage; contiguous stage
    # segments share one iovec
    cdef iovec *last
    if s.stage_len + n > ZX_STAGE_SIZE:
        return
    memcpy(s.stage + s.stage_len, data, n)
    if s.iov_n > 0:
        last = &s.iov[s.iov_n - 1]
        if <unsigned char *>last.iov_base + last.iov_len == s.stage + s.stage_len:
            last.iov_len += n
            s.stage_len += n
            return
    if s.iov_n >= ZX_IOV_MAX:
        return                  # callers check for room first; never past the array
    s.iov[s.iov_n].iov_base = s.stage + s.stage_len
    s.iov[s.iov_n].iov_len = n
    s.iov_n += 1
    s.stage_len += n


cdef bint _out_drained(zx_session *s) noexcept nogil:
    if s.iov_i < s.iov_n:
        return False
    if s.link == NULL:
        return True
    return not zx_pipe_readable(zx_link_in(s.link, 1))


cdef void _session_reset_output(zx_session *s) noexcept nogil:
    cdef int i
    for i in range(s.held_n):
        zx_msg_close(&s.held[i])
    s.held_n = 0
    if s.curve:
        zx_mech_out_reset(s.mech)       # CURVE: nothing points into the box buffer now
    s.iov_n = 0
    s.iov_i = 0
    s.stage_len = 0


cdef void _session_fill(zx_session *s) noexcept nogil:
    cdef zx_pipe *outp = zx_link_in(s.link, 1)
    cdef zx_msg m
    cdef unsigned char hdr[10]
    cdef size_t hl
    cdef int rc
    cdef size_t big = 0
    # room for the largest piece one message stages: header, command name, small body
    while s.iov_n < ZX_IOV_MAX - 4 and s.stage_len + 64 + SMALL_BODY <= ZX_STAGE_SIZE \
            and big < (WRITE_LOCAL_MAX if s.local_pair else WRITE_BIG_MAX):
        if (s.pend_ping or s.pend_pong) and not s.out_more:
            if _stage_pending(s) < 0:
                return
            if s.pend_ping or s.pend_pong:
                return                  # no room left this round: after the write
        if s.curve and zx_mech_out_busy(s.mech):
            return                      # CURVE: the box buffer is full; write this round first
        if not zx_pipe_read(outp, &m, s.link):
            s.out_idle = True
            return
        if s.out_drop:
            s.out_drop = (m.flags & ZX_MSG_MORE) != 0
            zx_msg_close(&m)
            continue
        s.out_more = (m.flags & ZX_MSG_MORE) != 0
        # (DISH's JOIN/LEAVE are commands for 3.0 peers too, as libzmq sends them)
        if (m.flags & ZX_MSG_SUBSCRIPTION) and m.size >= 1 and not s.out_more \
                and (s.hs.peer_minor >= 1 or s.opts.wire & ZX_WIRE_JOIN_OUT):
            _stage_subscription(s, &m)
            continue
        if s.curve:
            rc = _stage_boxed(s, ZX_FLAG_MORE if s.out_more else 0, NULL, 0,
                              zx_msg_data(&m), m.size)
            zx_msg_close(&m)
            if rc < 0:
                return
            continue
        if s.wire > ZX_ZMTP_10:
            hl = zx_frame_header_encode(hdr, ZX_FLAG_MORE if s.out_more else 0, m.size)
        else:
            hl = zx_v1_frame_header_encode(hdr, sizeof(hdr), ZX_FLAG_MORE if s.out_more else 0,
                                           m.size)
        _stage_raw(s, hdr, hl)
        if m.size <= SMALL_BODY:
            if m.size:
                _stage_raw(s, zx_msg_data(&m), m.size)
            zx_msg_close(&m)
        else:
            if m.size >= IPC_SNDBUF_FRAME and not s.sndbuf_checked:
                _size_ipc_sndbuf(s)
            s.iov[s.iov_n].iov_base = zx_msg_data(&m)
            s.iov[s.iov_n].iov_len = m.size
            s.iov_n += 1
            big += m.size
            memcpy(&s.held[s.held_n], &m, sizeof(zx_msg))
            s.held_n += 1


cdef void _size_ipc_sndbuf(zx_session *s) noexcept nogil:
    # once per connection, at its first large frame (see IPC_SNDBUF_FRAME)
    cdef int v = IPC_SNDBUF_LARGE
    s.sndbuf_checked = True
    if s.family == AF_UNIX and s.opts.sndbuf <= 0 and s.fd >= 0:
        zx_setsockopt(s.fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(int))


cdef void _stage_subscription(zx_session *s, zx_msg *m) noexcept nogil:
    # 3.1: SUBSCRIBE/CANCEL commands; the topic follows the name (3.0 peers get the
    # message form, first byte 1 or 0, unchanged)
    cdef unsigned char hdr[9]
    cdef unsigned char *body = zx_msg_data(m)
    cdef bint sub = body[0] == 1
    cdef bint dish = (s.opts.wire & ZX_WIRE_JOIN_OUT) != 0    # JOIN/LEAVE instead
    cdef const char *name = ("JOIN" if sub else "LEAVE") if dish else \
                            ("SUBSCRIBE" if sub else "CANCEL")
    cdef size_t namelen = strlen(name)
    cdef size_t topic = m.size - 1
    cdef size_t hl = zx_frame_header_encode(hdr, ZX_FLAG_COMMAND, 1 + namelen + topic)
    cdef unsigned char nl = <unsigned char>namelen
    if s.curve:
        # boxed as a command (CURVE flag 2), name first, as libzmq encodes it
        _stage_boxed(s, ZX_FLAG_COMMAND,
                     <const unsigned char *>("\x09SUBSCRIBE" if sub else "\x06CANCEL"),
                     1 + namelen, body + 1, topic)
        zx_msg_close(m)
        return
    _stage_raw(s, hdr, hl)
    _stage_raw(s, &nl, 1)
    _stage_raw(s, <const unsigned char *>name, namelen)
    if topic <= SMALL_BODY:
        if topic:
            _stage_raw(s, body + 1, topic)
        zx_msg_close(m)
    else:
        s.iov[s.iov_n].iov_base = body + 1
        s.iov[s.iov_n].iov_len = topic
        s.iov_n += 1
        memcpy(&s.held[s.held_n], m, sizeof(zx_msg))
        s.held_n += 1


# write what is staged and what the outbound pipe holds, until the kernel pushes back;
# -1 if the session ended (a send error, or a closed socket's output has drained)
cdef int _session_write(zx_session *s) noexcept nogil:
    cdef ssize_t n
    cdef int err
    cdef int rounds = 0
    cdef int max_rounds = 1 if s.local_pair else 16
    if s.state != ZX_S_ACTIVE or s.fd < 0:
        return 0
    while rounds < max_rounds:
        rounds += 1
        if s.iov_i >= s.iov_n:
            _session_reset_output(s)
            if (s.pend_ping or s.pend_pong) and _stage_pending(s) < 0:
                return -1
            if s.link != NULL and not s.out_idle:
                _session_fill(s)
            if s.iov_n == 0:
                break
        n = zx_sendv(s.fd, &s.iov[s.iov_i], s.iov_n - s.iov_i)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                _session_set_events(s, s.events | ZX_EV_OUT)
                return 0
            return _session_end(s, ZX_END_IO_ERROR, err)
        while n > 0 and s.iov_i < s.iov_n:
            if <size_t>n >= s.iov[s.iov_i].iov_len:
                n -= s.iov[s.iov_i].iov_len
                s.iov_i += 1
            else:
                s.iov[s.iov_i].iov_base = <unsigned char *>s.iov[s.iov_i].iov_base + n
                s.iov[s.iov_i].iov_len -= n
                n = 0
    if s.iov_i >= s.iov_n:
        _session_reset_output(s)
    if s.iov_i >= s.iov_n and s.out_idle:
        _session_set_events(s, s.events & ~ZX_EV_OUT)
        return _session_check_linger(s)
    _session_set_events(s, s.events | ZX_EV_OUT)
    return 0
