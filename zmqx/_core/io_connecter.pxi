# Outgoing connections on the I/O thread (included by io_thread.pyx): a connect() endpoint
# is one session that outlives its connections. This file opens the socket (bound first to
# the source address of tcp://src;dst), completes the asynchronous connect, and schedules
# the next attempt with RECONNECT_IVL doubling up to RECONNECT_IVL_MAX (plus jitter, so
# that many clients do not retry in step). Host names are looked up before each attempt by
# io_resolver.pxi, so an endpoint follows its name's DNS entry across reconnects.

cdef zx_session *zx_session_new_connect(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                        int64_t endpoint_id) noexcept nogil:
    cdef zx_session *s = _session_alloc(io, sb, opts, endpoint_id)
    if s != NULL:
        s.is_connect = True
    return s


# for socket.pyx: a session that was never handed to the I/O thread (connect() failed
# before posting ZX_CMD_ADD_SESSION) is freed here, with the sockbase reference it holds
cdef void zx_session_discard(zx_session *s) noexcept nogil:
    zx_msg_close(&s.big)
    zx_zap_unref(s.opts.zap)
    zx_sockbase_unref(s.sb)
    free(s.stage)
    free(s)


# start one attempt; -1 if it failed at once (the session is marked, see _session_end).
# A host name is looked up first (io_resolver.pxi), on every attempt: the attempt goes on in
# _session_connect_addr once the answer is back.
cdef int _session_connect(zx_session *s) noexcept nogil:
    if s.host[0] != 0:
        return _session_resolve(s)
    return _session_connect_addr(s)


cdef int _session_connect_addr(zx_session *s) noexcept nogil:
    cdef int rc, err
    s.fd = zx_socket_stream(s.family)
    s.sndbuf_checked = False            # a new socket has the default buffers again
    if s.fd < 0:
        return _session_end(s, ZX_END_CONNECT_FAILED, zx_sock_errno())
    _set_sockopts(s.fd, &s.opts, s.family)
    s.events = -1
    # tcp://source;destination: leave from the given address (and port)
    if s.src_len > 0:
        if (<sockaddr *>&s.src).sa_family != s.family:
            return _session_end(s, ZX_END_CONNECT_FAILED, EHOSTUNREACH)
        if bind(s.fd, <sockaddr *>&s.src, s.src_len) != 0:
            return _session_end(s, ZX_END_CONNECT_FAILED, zx_sock_errno())
    rc = zx_connect(s.fd, <sockaddr *>&s.addr, s.addrlen)
    if rc == 0:
        zx_io_event(s.sb, s.endpoint_id, ZX_EVT_CONNECTED, s.fd)
        return _session_start_handshake(s)
    err = zx_sock_errno()
    if zx_connect_pending(err):
        s.state = ZX_S_CONNECTING
        if s.opts.connect_timeout > 0:
            s.timer_at = zx_now_ms() + s.opts.connect_timeout
        _session_set_events(s, ZX_EV_OUT)
        zx_io_event(s.sb, s.endpoint_id, ZX_EVT_CONNECT_DELAYED, err)
        return 0
    return _session_end(s, ZX_END_CONNECT_FAILED, err)


# the fd of a pending connect became writable (or reported an error)
cdef int _session_connect_done(zx_session *s, int ev) noexcept nogil:
    cdef int err = zx_sock_error(s.fd)
    if err != 0 or (ev & ZX_EV_ERR):
        return _session_end(s, ZX_END_CONNECT_FAILED, err if err else ECONNREFUSED)
    zx_io_event(s.sb, s.endpoint_id, ZX_EVT_CONNECTED, s.fd)
    return _session_start_handshake(s)


cdef void _session_schedule_reconnect(zx_session *s) noexcept nogil:
    cdef int ivl = s.cur_ivl
    s.state = ZX_S_WAIT
    if ivl < 0:
        return                      # reconnect disabled: wait for the socket to go away
    if ivl == 0:
        ivl = 1
    ivl = ivl + (rand() % ivl if ivl > 1 else 0)
    s.timer_at = zx_now_ms() + ivl
    zx_io_event(s.sb, s.endpoint_id, ZX_EVT_CONNECT_RETRIED, ivl)
    if s.opts.reconnect_ivl_max > s.opts.reconnect_ivl and s.cur_ivl > 0:
        s.cur_ivl = s.cur_ivl * 2
        if s.cur_ivl > s.opts.reconnect_ivl_max:
            s.cur_ivl = s.opts.reconnect_ivl_max
