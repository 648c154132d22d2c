# One connection's lifecycle on the I/O thread (included by io_thread.pyx): allocation, the
# fd's options and poll interest, the ZMTP handshake, handing the link to the socket, linger
# after the socket closed, and the single failure path: _session_end() marks the session
# with a reason, _session_settle() (called by the loop after each dispatch) tears it down in
# _session_teardown(), the one place that decides between reconnecting and destroying.

cdef zx_session *_session_alloc(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                int64_t endpoint_id) noexcept nogil:
    cdef zx_session *s = <zx_session *>calloc(1, sizeof(zx_session))
    if s == NULL:
        return NULL
    s.stage = <unsigned char *>malloc(ZX_STAGE_SIZE)
    if s.stage == NULL:
        free(s)
        return NULL
    s.kind = ZX_OBJ_SESSION
    s.io = io
    s.sb = sb
    zx_sockbase_ref(sb)
    s.endpoint_id = endpoint_id
    memcpy(&s.opts, opts, sizeof(zx_opts))
    s.fd = -1
    s.events = -1
    s.linger_at = -1
    s.cur_ivl = opts.reconnect_ivl
    zx_msg_init(&s.big)
    zx_zap_ref(s.opts.zap)
    return s


cdef void _session_link_in(zx_iothread *io, zx_session *s) noexcept nogil:
    s.prev = NULL
    s.next = io.sessions
    if io.sessions != NULL:
        io.sessions.prev = s
    io.sessions = s


cdef void _set_sockopts(int fd, zx_opts *o, int family) noexcept nogil:
    cdef int one = 1
    cdef int v
    if family == AF_INET or family == AF_INET6:
        zx_setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int))
        if o.tcp_keepalive == 1:
            zx_setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(int))
            if o.tcp_keepalive_idle > 0:
                v = o.tcp_keepalive_idle
                zx_setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(int))
            if o.tcp_keepalive_cnt > 0:
                v = o.tcp_keepalive_cnt
                zx_setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(int))
            if o.tcp_keepalive_intvl > 0:
                v = o.tcp_keepalive_intvl
                zx_setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(int))
    if o.sndbuf > 0:
        v = o.sndbuf
        zx_setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(int))
    if o.rcvbuf > 0:
        v = o.rcvbuf
        zx_setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(int))


cdef void _session_set_events(zx_session *s, int ev) noexcept nogil:
    if s.fd < 0 or ev == s.events:
        return
    if s.events == -1:
        zx_poller_add(&s.io.poller, s.fd, ev, s)
    else:
        zx_poller_mod(&s.io.poller, s.fd, ev, s)
    s.events = ev


# ---------------------------------------------------------------- dispatch

cdef void _session_event(zx_session *s, int ev) noexcept nogil:
    if s.state == ZX_S_CONNECTING:
        _session_connect_done(s, ev)
    elif s.state == ZX_S_HANDSHAKE:
        if ev & ZX_EV_OUT:
            if _session_hs_write(s) < 0:
                return
            if not _hs_out_pending(s):
                _session_set_events(s, ZX_EV_IN)
        if ev & (ZX_EV_IN | ZX_EV_ERR):
            _session_input(s, True)
    elif s.state == ZX_S_ACTIVE and s.raw:
        _raw_event(s, ev)
    elif s.state == ZX_S_ACTIVE:
        if ev & ZX_EV_OUT:
            if _session_write(s) < 0:
                return
        if ev & (ZX_EV_IN | ZX_EV_ERR):
            _session_input(s, True)


# ---------------------------------------------------------------- handshake

cdef int _session_start_handshake(zx_session *s) noexcept nogil:
    cdef bint secure
    if s.opts.wire & ZX_WIRE_RAW:
        return _raw_start(s)      # no ZMTP: the raw engine runs it from now on (io_raw.pxi)
    secure = _session_uses_mech(s)
    if secure:
        # PLAIN/CURVE (or NULL asking ZAP): the greeting here, the rest in io_mechanism.pxi
        zx_handshake_init_greeting(&s.hs, s.opts.socktype, zx_mech_name(s.opts.mechanism),
                                   s.opts.as_server != 0)
    else:
        zx_handshake_init(&s.hs, s.opts.socktype, s.opts.identity, s.opts.identity_len)
    # the greeting goes out in libzmq's order through zx_greet (io_legacy.pxi); hs then
    # sends only what follows it (READY) once the peer proved to speak 3.x
    zx_greet_init(&s.greet, zx_mech_name(s.opts.mechanism), s.opts.socktype,
                  s.opts.identity_len, secure)
    s.greet.as_server = s.opts.as_server != 0 and s.opts.mechanism != ZX_MECH_NULL
    s.greet_len = s.greet_sent = 0
    s.greet_phase = True
    s.legacy_identity = False
    s.wire = 0
    s.hs_sent = ZX_GREETING_SIZE
    s.state = ZX_S_HANDSHAKE
    s.rstart = s.rend = 0
    s.in_more = False
    s.in_blocked = False
    if s.opts.handshake_ivl > 0:
        s.timer_at = zx_now_ms() + s.opts.handshake_ivl
    else:
        s.timer_at = 0
    _session_set_events(s, ZX_EV_IN | ZX_EV_OUT)
    return _session_hs_write(s)


# write pending handshake bytes; -1 if the connection failed
cdef int _session_hs_write(zx_session *s) noexcept nogil:
    cdef ssize_t n
    cdef int err
    s.greet_len += zx_greet_output(&s.greet, s.greet_buf + s.greet_len, 64 - s.greet_len)
    while s.greet_sent < s.greet_len:
        n = zx_send(s.fd, s.greet_buf + s.greet_sent, s.greet_len - s.greet_sent)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                return 0
            return _session_end(s, ZX_END_IO_ERROR, err)
        s.greet_sent += n
    if s.greet_phase:
        return 0                # nothing else before the peer's version is known
    while s.hs_sent < s.hs.outlen:
        n = zx_send(s.fd, s.hs.out + s.hs_sent, s.hs.outlen - s.hs_sent)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                return 0
            return _session_end(s, ZX_END_IO_ERROR, err)
        s.hs_sent += n
    return _session_mech_write(s)


# the handshake bytes that arrived; -1 if the session ended
cdef int _session_hs_feed(zx_session *s) noexcept nogil:
    cdef size_t consumed
    cdef int rc
    if s.greet_phase:
        rc = _session_greet_feed(s)
        if rc <= 0:
            return rc
    if s.legacy_identity:
        return _session_legacy_identity(s)
    if s.mech_phase:
        return _session_mech_input(s)
    rc = zx_handshake_feed(&s.hs, s.rbuf.data + s.rstart, s.rend - s.rstart, &consumed)
    s.rstart += consumed
    if rc != ZX_OK and rc != ZX_NEED_MORE:
        _session_end(s, ZX_END_HANDSHAKE_FAILED, s.hs.error)
    if s.hs.outlen > s.hs_sent:
        # our greeting's rest, READY, or the ERROR command that explains a refusal
        if _session_hs_write(s) < 0:
            return -1
    if rc == ZX_NEED_MORE:
        return 0
    if rc != ZX_OK:
        return -1
    if s.hs.greeting_only:
        return _session_mech_start(s)
    return _session_handshake_done(s)


cdef int _session_handshake_done(zx_session *s) noexcept nogil:
    cdef zx_link *link
    cdef int64_t now = zx_now_ms()
    s.timer_at = 0
    s.cur_ivl = s.opts.reconnect_ivl
    if s.hs_sent < s.hs.outlen:
        _stage_raw(s, s.hs.out + s.hs_sent, s.hs.outlen - s.hs_sent)
        s.hs_sent = s.hs.outlen
    if s.mech_out_sent < s.mech_out_len:
        # the mechanism's last command (READY) still unsent: it goes before any data
        _stage_raw(s, s.mech_out + s.mech_out_sent, s.mech_out_len - s.mech_out_sent)
        s.mech_out_sent = s.mech_out_len = 0
    if s.link == NULL:
        if s.sb.closed:
            return _session_end(s, ZX_END_SOCKET_CLOSED, 0)
        # accepted (or IMMEDIATE) connection: the link is born now and handed to the socket
        link = zx_link_new(s.opts.sndhwm, s.opts.rcvhwm)
        if link == NULL:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        link.socktype[0] = s.opts.socktype
        memcpy(link.rid[0], s.opts.identity, s.opts.identity_len)
        link.rid_len[0] = s.opts.identity_len
        _link_set_peer(s, link)
        link.owner[1] = s
        link.user = s.endpoint_id
        zx_link_set_waker(link, 1, zx_io_wake, s.io, NULL)
        # the socket's side can be woken before it attaches the link
        zx_sockbase_ref(s.sb)
        zx_link_set_waker(link, 0, zx_sockbase_wake, s.sb, zx_sockbase_unref)
        s.link = link
        if s.is_connect and s.opts.probe_router:
            # libzmq queues the probe at connect(); a link born at the handshake sends it
            # here, before the socket has even seen the link
            _stage_frame(s, 0, NULL, 0)
            link.probed = True
        if zx_mailbox_post(&s.sb.mb, ZX_CMD_ATTACH, link, 0) < 0:
            # the socket closed meanwhile: drop its share of the link, then ourselves
            zx_store(&link.gone[0], 1)
            zx_link_unref(link)
            s.socket_gone = True
            return _session_end(s, ZX_END_SOCKET_CLOSED, 0)
    else:
        _link_set_peer(s, s.link)
        if s.had_connection:
            # the same link survived a reconnect: subscribers must resend their topics
            zx_link_ref(s.link)
            if zx_mailbox_post(&s.sb.mb, ZX_CMD_HICCUP, s.link, 0) < 0:
                zx_link_unref(s.link)
    s.had_connection = True
    s.state = ZX_S_ACTIVE
    _session_find_pair(s)
    zx_io_event(s.sb, s.endpoint_id, ZX_EVT_HANDSHAKE_SUCCEEDED, 0)   # libzmq: 0
    s.out_idle = False
    s.ping_deadline = 0
    s.ttl_deadline = 0
    # (ZMTP 1.0/2.0 peers have no commands: no heartbeats)
    s.next_ping = now + s.opts.heartbeat_ivl \
        if s.opts.heartbeat_ivl > 0 and s.wire >= ZX_ZMTP_30 else 0
    _session_set_events(s, ZX_EV_IN)
    return _session_write(s)


cdef void _link_set_peer(zx_session *s, zx_link *link) noexcept nogil:
    link.socktype[1] = s.hs.peer_socktype
    # what Socket.stats() shows of this peer; a mechanism other than ours fails the
    # handshake, so the one negotiated is ours
    cdef const char *mech = zx_mech_name(s.opts.mechanism)
    link.zmtp_major = s.hs.peer_major
    link.zmtp_minor = s.hs.peer_minor
    memcpy(link.mechanism, mech, strlen(mech) + 1)
    link.connected_at = zx_now_ms()
    link.reconnects = s.handshakes
    s.handshakes += 1
    link.peer_addr_len = zx_peer_address(s.fd, link.peer_addr, sizeof(link.peer_addr))
    if s.opts.connect_rid_len:
        memcpy(link.rid[1], s.opts.connect_rid, s.opts.connect_rid_len)
        link.rid_len[1] = s.opts.connect_rid_len
    else:
        memcpy(link.rid[1], s.hs.peer_identity, s.hs.peer_identity_len)
        link.rid_len[1] = s.hs.peer_identity_len


# ---------------------------------------------------------------- linger

# the socket is gone: end the session once its output drained (or LINGER says so); -1 if
# it ended
cdef int _session_check_linger(zx_session *s) noexcept nogil:
    if not s.socket_gone:
        return 0
    if s.link == NULL or s.linger_at == 0 or (s.linger_at > 0 and s.linger_at <= zx_now_ms()):
        return _session_end(s, ZX_END_LINGER_DONE, 0)
    if _out_drained(s):
        return _session_end(s, ZX_END_LINGER_DONE, 0)
    return 0


# ---------------------------------------------------------------- the failure path

# mark the session as ending; the first reason wins. Always returns -1, so that a caller
# can `return _session_end(...)` and its own callers stop touching the session.
cdef int _session_end(zx_session *s, int reason, int detail) noexcept nogil:
    if s.end_reason == ZX_END_NONE:
        s.end_reason = reason
        s.end_detail = detail
    return -1


cdef inline void _session_settle(zx_session *s) noexcept nogil:
    if s.end_reason != ZX_END_NONE:
        _session_teardown(s)


cdef inline bint _reason_is_local(int reason) noexcept nogil:
    return reason >= ZX_END_LINGER_DONE


cdef void _session_report_end(zx_session *s, int reason, int detail) noexcept nogil:
    # the monitor's view of a connection that ended (libzmq reports a failed handshake,
    # then the disconnect, of any connection that got as far as the handshake; and the
    # close of a connect attempt's fd that never got that far, whatever the reason)
    if s.fd >= 0 and s.state != ZX_S_HANDSHAKE and s.state != ZX_S_ACTIVE:
        zx_io_event(s.sb, s.endpoint_id, ZX_EVT_CLOSED, s.fd)
    if _reason_is_local(reason):
        return
    if s.state == ZX_S_HANDSHAKE:
        if reason == ZX_END_HANDSHAKE_FAILED and detail == ZX_ERR_SOCKTYPE:
            pass            # libzmq reports an incompatible peer type only as DISCONNECTED
        elif reason == ZX_END_HANDSHAKE_FAILED:
            zx_io_event(s.sb, s.endpoint_id, ZX_EVT_HANDSHAKE_FAILED_PROTOCOL,
                        _protocol_error_code(detail))
        elif reason == ZX_END_AUTH_FAILED:
            zx_io_event(s.sb, s.endpoint_id, ZX_EVT_HANDSHAKE_FAILED_AUTH, detail)
        else:
            # an orderly close by the peer is EPIPE in libzmq's report
            zx_io_event(s.sb, s.endpoint_id, ZX_EVT_HANDSHAKE_FAILED_NO_DETAIL,
                        EPIPE if reason == ZX_END_PEER_CLOSED and detail == 0 else detail)
    if s.state == ZX_S_HANDSHAKE or s.state == ZX_S_ACTIVE:
        zx_io_event(s.sb, s.endpoint_id, ZX_EVT_DISCONNECTED, s.fd)


# The one place a marked session is taken down: a connecting session whose connection
# failed tries again later; anything else (accepted connections, our own decisions, a
# closed socket with nothing left to send, a failed handshake) is destroyed.
cdef void _session_teardown(zx_session *s) noexcept nogil:
    cdef int reason = s.end_reason
    s.last_reason = reason
    s.last_detail = s.end_detail
    s.end_reason = ZX_END_NONE
    s.end_detail = 0
    _session_report_end(s, reason, s.last_detail)
    if _reason_is_local(reason) or not s.is_connect or reason == ZX_END_HANDSHAKE_FAILED \
            or reason == ZX_END_AUTH_FAILED:
        # a handshake the peer refused (or that we refused: bad greeting, mechanism or
        # socket type, credentials) is not retried: libzmq 4.3.5 ends the connect()
        # endpoint on a protocol error instead of reconnecting into the same refusal
        _session_destroy(s)
        return
    _session_close_fd(s)
    s.timer_at = 0
    s.next_ping = s.ping_deadline = s.ttl_deadline = 0
    if s.socket_gone and (s.linger_at == 0 or _out_drained(s)):
        _session_destroy(s)
        return
    if (s.attach_on_handshake or reason == ZX_END_REFUSED) and s.link != NULL:
        _session_detach_link(s)
    _session_schedule_reconnect(s)


cdef void _session_close_fd(zx_session *s) noexcept nogil:
    if s.fd >= 0:
        if s.events != -1:
            zx_poller_del(&s.io.poller, s.fd)
        zx_close_socket(s.fd)
    s.fd = -1
    s.events = -1
    s.big_active = False
    s.big_command = False
    zx_msg_close(&s.big)
    if s.rbuf != NULL:
        zx_block_unref(s.rbuf)
        s.rbuf = NULL
    s.rstart = s.rend = 0
    if s.link != NULL:
        # a message cut by the disconnect is never delivered in part
        zx_pipe_rollback(zx_link_out(s.link, 1))
        s.in_more = False
        # the rest of an outgoing message cut half-way is dropped
        if s.out_more:
            s.out_drop = True
            s.out_more = False
    _session_reset_output(s)
    _session_mech_reset(s)
    s.in_blocked = False
    s.out_idle = False


cdef void _session_detach_link(zx_session *s) noexcept nogil:
    # the socket drains what arrived, then drops the link; a new one comes with the
    # next connection
    cdef zx_link *link = s.link
    link.owner[1] = NULL
    zx_store(&link.gone[1], 1)
    if not s.socket_gone and not zx_load(&link.gone[0]):    # (a refused link: already dropped)
        zx_mailbox_post(&s.sb.mb, ZX_CMD_TERM, link, 0)
    zx_link_unref(link)
    s.link = NULL
    s.out_more = False
    s.out_drop = False


cdef void _session_destroy(zx_session *s) noexcept nogil:
    cdef zx_iothread *io = s.io
    if s.dead:
        return
    _session_close_fd(s)
    if s.prev != NULL:
        s.prev.next = s.next
    else:
        io.sessions = s.next
    if s.next != NULL:
        s.next.prev = s.prev
    if s.link != NULL:
        if s.socket_gone and s.sb.tally != NULL:
            # what the closed socket had queued and never got sent (Socket.stats())
            zx_add(&s.sb.tally.dropped_linger, zx_pipe_queued(zx_link_in(s.link, 1)))
        _session_detach_link(s)
    zx_sockbase_unref(s.sb)
    zx_zap_unref(s.opts.zap)
    s.opts.zap = NULL
    free(s.mech_out)
    s.mech_out = NULL
    s.mech_out_cap = 0
    memset(s.opts.curve_secret, 0, 32)
    memset(s.opts.plain_password, 0, 256)
    s.dead = True
    s.next = io.zombies
    io.zombies = s


cdef void _session_find_pair(zx_session *s) noexcept nogil:
    # is the other end of this connection one of our own sessions? Then this thread does
    # the kernel's work for both ends, and long write rounds would run ahead of its own
    # reads by megabytes, which it then reads back from outside its caches
    cdef zx_session *o = s.io.sessions
    s.local_pair = False
    zx_conn_ends(s.fd, &s.end_local, &s.end_peer)
    while o != NULL and s.end_local != 0:
        if o != s and not o.dead and o.state == ZX_S_ACTIVE and o.end_local == s.end_peer \
                and o.end_peer == s.end_local:
            s.local_pair = True
            o.local_pair = True
            if o.link != NULL:
                o.link.same_io = 1
        o = o.next
    if s.link != NULL:
        s.link.same_io = s.local_pair
