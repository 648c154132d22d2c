# The I/O thread's ZAP client (RFC 27), included by io_thread.pyx: asking the handler bound
# at inproc://zeromq.zap.01 whether a PLAIN/CURVE (or NULL with a ZAP_DOMAIN) peer may in.
#
# Why the I/O thread asks, as libzmq's session does, and not the socket's owner: the owner
# may be blocked, busy or the handler itself, and a handshake must not wait on the app. The
# I/O thread cannot look up the inproc registry (a Python dict), so the server socket does
# it at bind()/connect() (socket_zap.pxi) and hands a ready inproc link over in the options
# snapshot (zx_opts.zap): side 0 is this client, side 1 the handler's socket, attached as
# an inproc DEALER would be. Every connection of that endpoint shares it; replies come back
# through zx_io_wake_zap (an ACTIVATE command marked ZX_WAKE_ZAP) and are matched to the
# waiting session by request id. A handler bound after the bind/connect is not seen by that
# endpoint (libzmq looks at each handshake); no handler at all means libzmq's "absent" rules.

cdef zx_zap *zx_zap_new(zx_iothread *io, zx_link *link) noexcept nogil:
    cdef zx_zap *z = <zx_zap *>calloc(1, sizeof(zx_zap))
    if z == NULL:
        return NULL
    z.refs = 1
    z.link = link
    z.io = io
    z.next_id = 1
    link.owner[0] = z
    zx_link_set_waker(link, 0, zx_io_wake_zap, io, NULL)
    return z


cdef void zx_zap_ref(zx_zap *z) noexcept nogil:
    if z != NULL:
        zx_add(&z.refs, 1)


cdef void _zap_reply_reset(zx_zap *z) noexcept nogil:
    cdef int i
    for i in range(z.nreply):
        zx_msg_close(&z.reply[i])
    z.nreply = 0
    z.overflow = False


cdef void zx_zap_unref(zx_zap *z) noexcept nogil:
    # the last user is gone: leave the handler's socket as an inproc peer leaves
    cdef zx_link *link
    cdef zx_sockbase *peer
    cdef zx_msg m
    if z == NULL or zx_add(&z.refs, -1) != 0:
        return
    _zap_reply_reset(z)
    link = z.link
    link.owner[0] = NULL
    while zx_pipe_read(zx_link_in(link, 0), &m, link):
        zx_msg_close(&m)
    zx_store(&link.gone[0], 1)
    peer = <zx_sockbase *>link.release_arg[1]
    if peer != NULL and not zx_load(&link.gone[1]):
        zx_mailbox_post(&peer.mb, ZX_CMD_TERM, link, 0)
    zx_link_unref(link)
    free(z)


cdef void zx_io_wake_zap(void *arg, void *link, int what) noexcept nogil:
    zx_link_ref(<zx_link *>link)
    zx_mailbox_post(&(<zx_iothread *>arg).mb, ZX_CMD_ACTIVATE, link, ZX_WAKE_ZAP)


# ---------------------------------------------------------------- request

cdef int _zap_put(zx_pipe *out, const unsigned char *p, size_t n, bint more) noexcept nogil:
    cdef zx_msg m
    if zx_msg_init_copy(&m, p, n) < 0:
        return -1
    m.flags = ZX_MSG_MORE if more else 0
    if zx_pipe_write(out, &m) < 0:
        zx_msg_close(&m)
        return -1
    return 0


cdef size_t _peer_address(zx_session *s, char *buf, size_t cap) noexcept nogil:
    # the peer's IP as text (libzmq's ZAP "address"); empty for ipc
    if s.addr.ss_family == AF_INET:
        if inet_ntop(AF_INET, &(<sockaddr_in *>&s.addr).sin_addr, buf, <socklen_t>cap) != NULL:
            return strlen(buf)
    elif s.addr.ss_family == AF_INET6:
        if inet_ntop(AF_INET6, &(<sockaddr_in6 *>&s.addr).sin6_addr, buf, <socklen_t>cap) != NULL:
            return strlen(buf)
    return 0


# the mechanism stopped for ZAP: ask the handler, or apply the "no handler" rules at once
cdef int _session_zap_request(zx_session *s) noexcept nogil:
    cdef zx_zap *z = s.opts.zap
    cdef zx_zap_request r
    cdef zx_pipe *out
    cdef char idbuf[24]
    cdef char addr[64]
    cdef size_t idlen, alen
    cdef int i, rc = 0
    cdef int64_t rid
    if z == NULL or zx_load(&z.link.gone[1]):
        return zx_mech_zap_absent(s.mech, s.opts.zap_enforce_domain != 0)
    if zx_mech_zap_request(s.mech, &r) != ZX_OK:
        return ZX_ERR_PROTOCOL
    out = zx_link_out(z.link, 0)
    if not zx_pipe_check_write(out):
        return ZX_ERR_ZAP           # the handler is not keeping up: refuse this peer
    rid = z.next_id
    z.next_id += 1
    idlen = _format_id(idbuf, rid)
    alen = _peer_address(s, addr, sizeof(addr))
    rc |= _zap_put(out, NULL, 0, True)                       # delimiter (a REQ envelope)
    rc |= _zap_put(out, <const unsigned char *>"1.0", 3, True)
    rc |= _zap_put(out, <const unsigned char *>idbuf, idlen, True)
    rc |= _zap_put(out, r.domain, r.domain_len, True)
    rc |= _zap_put(out, <const unsigned char *>addr, alen, True)
    rc |= _zap_put(out, r.identity, r.identity_len, True)
    rc |= _zap_put(out, <const unsigned char *>r.mechanism, strlen(r.mechanism), r.ncred > 0)
    for i in range(r.ncred):
        rc |= _zap_put(out, r.cred[i], r.cred_len[i], i + 1 < r.ncred)
    if rc != 0:
        zx_pipe_rollback(out)
        return ZX_ERR_ZAP
    zx_pipe_flush(out, z.link)
    s.zap_req = rid
    return ZX_MECH_NEED_ZAP


cdef size_t _format_id(char *buf, int64_t v) noexcept nogil:
    cdef char tmp[24]
    cdef size_t n = 0, i
    while True:
        tmp[n] = <char>(48 + v % 10)
        n += 1
        v //= 10
        if v == 0:
            break
    for i in range(n):
        buf[i] = tmp[n - 1 - i]
    buf[n] = 0
    return n


# ---------------------------------------------------------------- reply

cdef void _zap_input(zx_link *link) noexcept nogil:
    cdef zx_zap *z = <zx_zap *>link.owner[0]
    cdef zx_msg m
    if z == NULL:
        return
    # a session resumed (or ended) by a reply may drop the last other reference to z:
    # hold one until the loop is done
    zx_zap_ref(z)
    while link.owner[0] == z and zx_pipe_read(zx_link_in(link, 0), &m, link):
        if z.nreply < 8:
            memcpy(&z.reply[z.nreply], &m, sizeof(zx_msg))
            z.nreply += 1
        else:
            z.overflow = True
            zx_msg_close(&m)
        if not (m.flags & ZX_MSG_MORE):
            _zap_reply_done(z)
            _zap_reply_reset(z)
    zx_zap_unref(z)


cdef bint _frame_is(zx_msg *m, const char *text) noexcept nogil:
    cdef size_t n = strlen(text)
    return m.size == n and memcmp(zx_msg_data(m), text, n) == 0


cdef void _zap_reply_done(zx_zap *z) noexcept nogil:
    # [delimiter, "1.0", request id, status code, status text, user id, metadata]
    cdef zx_msg *f = z.reply
    cdef int64_t rid = 0
    cdef size_t i
    cdef unsigned char *p
    cdef zx_session *s
    cdef int code, rc
    if z.nreply < 3 or f[0].size != 0 or f[2].size == 0 or f[2].size > 18:
        return                      # not ours to match: dropped
    p = zx_msg_data(&f[2])
    for i in range(f[2].size):
        if p[i] < 48 or p[i] > 57:
            return
        rid = rid * 10 + (p[i] - 48)
    s = z.io.sessions
    while s != NULL:
        if s.opts.zap == z and s.zap_req == rid and s.mech != NULL and not s.dead:
            break
        s = s.next
    if s == NULL:
        return                      # that connection is gone
    s.zap_req = 0
    _session_set_events(s, s.events | ZX_EV_IN)      # reading resumes (see _session_mech_step)
    code = 0
    if not z.overflow and z.nreply == 7 and _frame_is(&f[1], "1.0") and f[3].size == 3:
        p = zx_msg_data(&f[3])
        code = (p[0] - 48) * 100 + (p[1] - 48) * 10 + (p[2] - 48)
    if code != 200 and code != 300 and code != 400 and code != 500:
        _session_end(s, ZX_END_HANDSHAKE_FAILED, ZX_ERR_ZAP_REPLY)
        _session_settle(s)
        return
    rc = zx_mech_zap_reply(s.mech, code, zx_msg_data(&f[5]), f[5].size,
                           zx_msg_data(&f[6]), f[6].size)
    if rc < 0 and code != 200:
        s.zap_status = code
    _session_mech_step(s)
    if s.state == ZX_S_HANDSHAKE and s.end_reason == ZX_END_NONE:
        _session_mech_input(s)
    if s.state == ZX_S_ACTIVE and s.end_reason == ZX_END_NONE:
        _session_input(s, False)
    _session_settle(s)
