# Bound tcp/ipc endpoints on the I/O thread (included by io_thread.pyx): accepting
# connections into new sessions, and closing. The listening socket itself is created and
# bound on the app thread (zmqx/_endpoint.py), so a bind error is raised to the caller there.

cdef zx_listener *zx_listener_new(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                  int fd, int64_t endpoint_id) noexcept nogil:
    cdef zx_listener *l = <zx_listener *>calloc(1, sizeof(zx_listener))
    if l == NULL:
        return NULL
    l.kind = ZX_OBJ_LISTENER
    l.fd = fd
    l.io = io
    l.sb = sb
    zx_sockbase_ref(sb)
    l.endpoint_id = endpoint_id
    memcpy(&l.opts, opts, sizeof(zx_opts))
    zx_zap_ref(l.opts.zap)
    return l


cdef void _listener_accept(zx_listener *l) noexcept nogil:
    cdef int fd, err
    cdef zx_session *s
    cdef sockaddr_storage ss
    cdef socklen_t sl
    cdef int k
    for k in range(64):
        sl = sizeof(sockaddr_storage)
        fd = zx_accept(l.fd, <sockaddr *>&ss, &sl)
        if fd < 0:
            err = zx_sock_errno()
            if not zx_would_block(err) and err != EINTR:
                zx_io_event(l.sb, l.endpoint_id, ZX_EVT_ACCEPT_FAILED, err)
            return
        if l.sb.closed:
            zx_close_socket(fd)
            continue
        _set_sockopts(fd, &l.opts, ss.ss_family)
        s = _session_alloc(l.io, l.sb, &l.opts, l.endpoint_id)
        if s == NULL:
            zx_close_socket(fd)
            zx_io_event(l.sb, l.endpoint_id, ZX_EVT_ACCEPT_FAILED, ENOMEM)
            continue
        zx_io_event(l.sb, l.endpoint_id, ZX_EVT_ACCEPTED, fd)
        s.is_connect = False
        s.fd = fd
        s.family = ss.ss_family
        memcpy(&s.addr, &ss, sl)           # the peer's address (ZAP asks with it)
        s.addrlen = sl
        _session_link_in(l.io, s)
        _session_start_handshake(s)
        _session_settle(s)


cdef void _listener_close(zx_iothread *io, zx_listener *l) noexcept nogil:
    cdef zx_listener **pp = &io.listeners
    cdef zx_session *s
    cdef zx_session *nxt
    while pp[0] != NULL:
        if pp[0] == l:
            pp[0] = l.next
            break
        pp = &pp[0].next
    zx_poller_del(&io.poller, l.fd)
    zx_close_socket(l.fd)
    zx_io_event(l.sb, l.endpoint_id, ZX_EVT_CLOSED, l.fd)
    # connections still handshaking die with their listener
    s = io.sessions
    while s != NULL:
        nxt = s.next
        if not s.is_connect and s.sb == l.sb and s.endpoint_id == l.endpoint_id and s.link == NULL:
            _session_end(s, ZX_END_LISTENER_CLOSED, 0)
            _session_settle(s)
        s = nxt
    zx_sockbase_unref(l.sb)
    zx_zap_unref(l.opts.zap)
    l.opts.zap = NULL
    memset(l.opts.curve_secret, 0, 32)
    l.dead = True
    l.next = io.dead_listeners
    io.dead_listeners = l
