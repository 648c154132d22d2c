# PLAIN and CURVE on the wire (and NULL when it must ask ZAP), included by io_thread.pyx:
# the engine side of mechanism.pxd's contract. After the greeting (zmtp_handshake.pxi, with
# our mechanism's name) the session feeds each command frame to the sans-I/O state machine
# (mechanism.pyx), writes what it produces, runs ZAP when it stops for it (io_zap.pxi),
# and becomes ACTIVE at READY. Nothing reaches the socket before that: a data frame during
# the handshake ends the connection. With CURVE every frame afterwards, commands included,
# travels boxed in a MESSAGE (boxed while staging, straight from the frame's body into the
# stage or the mechanism's round buffer; opened in place in the receive buffer), without
# the GIL, on this thread.
#
# The plain NULL handshake (no ZAP_DOMAIN) never comes here: its path is unchanged.

cdef inline bint _session_uses_mech(zx_session *s) noexcept nogil:
    return s.opts.mechanism != ZX_MECH_NULL or s.opts.zap_domain_len > 0


# libzmq's ZMQ_PROTOCOL_ERROR_* for the monitor, from a ZX_ERR_* detail
cdef int _protocol_error_code(int detail) noexcept nogil:
    if detail == ZX_ERR_MECHANISM:
        return 0x11000002           # ZMTP_MECHANISM_MISMATCH
    if detail == ZX_ERR_CRYPTO:
        return 0x11000001           # ZMTP_CRYPTOGRAPHIC
    if detail == ZX_ERR_SOCKTYPE:
        return 0x10000018           # ZMTP_INVALID_METADATA
    if detail == ZX_ERR_ZAP_REPLY:
        return 0x20000004           # ZAP_INVALID_STATUS_CODE
    if detail == ZX_ERR_ZAP:
        return 0x20000000           # ZAP_UNSPECIFIED
    if detail == ZX_ERR_PEER_ERROR or detail == ZX_ERR_PROTOCOL or detail == ZX_ERR_VERSION \
            or detail == ZX_ERR_TOO_BIG:
        return 0x10000000           # ZMTP_UNSPECIFIED
    return detail


# ---------------------------------------------------------------- handshake

cdef int _session_mech_start(zx_session *s) noexcept nogil:
    # the peer's greeting announced our mechanism: set the state machine up and go
    cdef zx_mech *m = <zx_mech *>calloc(1, sizeof(zx_mech))
    cdef zx_opts *o = &s.opts
    if m == NULL:
        return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
    s.mech = m
    s.mech_phase = True
    if zx_mech_init(m, o.mechanism, o.as_server != 0, o.socktype, o.identity,
                    o.identity_len) != ZX_OK:
        return _session_end(s, ZX_END_HANDSHAKE_FAILED, m.error)
    zx_mech_set_zap(m, o.zap_domain, o.zap_domain_len, o.identity, o.identity_len)
    if o.mechanism == ZX_MECH_PLAIN and not o.as_server:
        zx_mech_set_plain(m, o.plain_username, o.plain_username_len,
                          o.plain_password, o.plain_password_len)
    elif o.mechanism == ZX_MECH_CURVE:
        zx_mech_set_curve(m, o.curve_public, o.curve_secret, o.curve_server)
    if _session_mech_step(s) < 0:
        return -1
    return _session_mech_input(s)


cdef bint _mech_out_room(zx_session *s, size_t need) noexcept nogil:
    cdef size_t cap
    cdef unsigned char *p
    if s.mech_out_cap - s.mech_out_len >= need:
        return True
    cap = s.mech_out_cap * 2 if s.mech_out_cap else 1024
    while cap - s.mech_out_len < need:
        cap *= 2
    p = <unsigned char *>realloc(s.mech_out, cap)
    if p == NULL:
        return False
    s.mech_out = p
    s.mech_out_cap = cap
    return True


# run the state machine as far as it goes: write its commands, start ZAP when it stops for
# it, and finish (READY) or fail; -1 if the session ended
cdef int _session_mech_step(zx_session *s) noexcept nogil:
    cdef zx_mech *m = s.mech
    cdef size_t n
    cdef int rc
    while True:
        if zx_mech_status(m) == ZX_MS_ZAP:
            if s.zap_req != 0:
                break                       # asked: the reply resumes us (io_zap.pxi)
            rc = _session_zap_request(s)
            if rc == ZX_MECH_NEED_ZAP:
                # stop reading until the handler answers (what arrives meanwhile waits
                # in the kernel, not in our buffer)
                _session_set_events(s, s.events & ~ZX_EV_IN)
                break
            if rc < 0 and zx_mech_status(m) == ZX_MS_ZAP:
                return _session_end(s, ZX_END_HANDSHAKE_FAILED, ZX_ERR_ZAP)
            continue
        if not _mech_out_room(s, 512):
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        rc = zx_mech_next(m, s.mech_out + s.mech_out_len, s.mech_out_cap - s.mech_out_len, &n)
        if rc == ZX_OK:
            s.mech_out_len += n
            continue
        if rc == ZX_ERR_NOSPACE:
            if not _mech_out_room(s, n):
                return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
            continue
        if rc == ZX_MECH_NEED_ZAP:
            continue                        # (NULL) status is ZAP now: ask above
        break                               # nothing due, or failed
    if zx_mech_status(m) == ZX_MS_READY:
        return _session_mech_ready(s)
    if _session_hs_write(s) < 0:
        return -1
    if zx_mech_status(m) == ZX_MS_ERROR:
        return _session_mech_fail(s)
    if _hs_out_pending(s):
        _session_set_events(s, s.events | ZX_EV_OUT)
    return 0


cdef int _session_mech_fail(zx_session *s) noexcept nogil:
    # the ERROR the mechanism owed the peer went out above (as far as the kernel took it)
    cdef zx_mech *m = s.mech
    cdef unsigned char *r = m.peer_reason
    if m.error == ZX_ERR_AUTH:
        return _session_end(s, ZX_END_AUTH_FAILED, s.zap_status if s.zap_status else 400)
    if m.error == ZX_ERR_PEER_ERROR and m.peer_reason_len == 3 and r[0] >= 51 and r[0] <= 53 \
            and r[1] >= 48 and r[1] <= 57 and r[2] >= 48 and r[2] <= 57:
        # the server's ZAP said no ("300", "400", "500"): libzmq reports it as AUTH
        return _session_end(s, ZX_END_AUTH_FAILED,
                            (r[0] - 48) * 100 + (r[1] - 48) * 10 + (r[2] - 48))
    return _session_end(s, ZX_END_HANDSHAKE_FAILED, m.error)


cdef void _session_build_props(zx_session *s) noexcept nogil:
    # what Frame.get() answers for this connection: the peer's metadata, the ZAP reply's
    # User-Id and metadata, the peer's address (as libzmq's message properties)
    cdef zx_mech *m = s.mech
    cdef char addr[64]
    cdef size_t alen = _peer_address(s, addr, sizeof(addr))
    cdef size_t n = m.peer_metalen + m.zap_metalen + 5 + 7 + m.user_id_len + 5 + 12 + alen
    cdef unsigned char *buf = <unsigned char *>malloc(n)
    cdef size_t off = 0
    if buf == NULL:
        return
    if m.peer_metalen:
        memcpy(buf, m.peer_meta, m.peer_metalen)
        off = m.peer_metalen
    if m.zap_metalen:
        memcpy(buf + off, m.zap_meta, m.zap_metalen)
        off += m.zap_metalen
    if m.user_id != NULL and m.user_id_len:
        off += zx_prop_encode(buf + off, "User-Id", m.user_id, m.user_id_len)
    if alen:
        off += zx_prop_encode(buf + off, "Peer-Address", <const unsigned char *>addr, alen)
    s.props = zx_props_new(buf, off)
    free(buf)
    if s.props != NULL and s.rbuf != NULL and zx_load(&s.rbuf.refs) == 1:
        zx_block_set_props(s.rbuf, s.props)     # frames already buffered carry them too


cdef int _session_mech_ready(zx_session *s) noexcept nogil:
    cdef zx_mech *m = s.mech
    _session_build_props(s)
    s.hs.peer_socktype = m.peer_socktype
    if m.peer_identity_len:
        memcpy(s.hs.peer_identity, m.peer_identity, m.peer_identity_len)
    s.hs.peer_identity_len = m.peer_identity_len
    s.curve = m.kind == ZX_MECH_CURVE
    s.mech_phase = False
    return _session_handshake_done(s)


# the command frames buffered so far; -1 if the session ended
cdef int _session_mech_input(zx_session *s) noexcept nogil:
    cdef const unsigned char *p
    cdef size_t avail, hdrlen
    cdef uint8_t flags
    cdef uint64_t size
    cdef int rc
    while s.end_reason == ZX_END_NONE and s.state == ZX_S_HANDSHAKE and s.mech_phase:
        if zx_mech_status(s.mech) == ZX_MS_ZAP or s.rbuf == NULL:
            return 0
        p = s.rbuf.data + s.rstart
        avail = s.rend - s.rstart
        rc = zx_frame_header_decode(p, avail, -1, &flags, &size, &hdrlen)
        if rc == ZX_NEED_MORE:
            return 0
        if rc < 0 or not (flags & ZX_FLAG_COMMAND) or size + hdrlen > ZX_RBUF_SIZE:
            # garbage, a message before READY, or a "command" no handshake needs
            return _session_end(s, ZX_END_HANDSHAKE_FAILED, ZX_ERR_PROTOCOL)
        if size + hdrlen > avail:
            return 0
        s.rstart += hdrlen + size
        zx_mech_feed(s.mech, p + hdrlen, size)
        if _session_mech_step(s) < 0:
            return -1
    return 0


# the mechanism's pending output, after the greeting's; -1 if the connection failed
cdef int _session_mech_write(zx_session *s) noexcept nogil:
    cdef ssize_t n
    cdef int err
    while s.mech_out_sent < s.mech_out_len:
        n = zx_send(s.fd, s.mech_out + s.mech_out_sent, s.mech_out_len - s.mech_out_sent)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                return 0
            return _session_end(s, ZX_END_IO_ERROR, err)
        s.mech_out_sent += n
    s.mech_out_sent = s.mech_out_len = 0
    return 0


# the connection is gone: its mechanism (keys wiped) goes with it
cdef void _session_mech_reset(zx_session *s) noexcept nogil:
    if s.mech != NULL:
        zx_mech_destroy(s.mech)
        free(s.mech)
        s.mech = NULL
    s.mech_phase = False
    s.curve = False
    s.zap_req = 0
    s.zap_status = 0
    s.mech_out_len = s.mech_out_sent = 0
    s.pend_ping = s.pend_pong = False
    zx_props_unref(s.props)
    s.props = NULL


# ---------------------------------------------------------------- CURVE data phase

cdef unsigned char *_stage_reserve(zx_session *s, size_t n) noexcept nogil:
    # n bytes at the end of the stage, in the last iovec when contiguous; NULL: no room
    cdef iovec *last
    cdef unsigned char *p
    if s.stage_len + n > ZX_STAGE_SIZE:
        return NULL
    p = s.stage + s.stage_len
    if s.iov_n > 0:
        last = &s.iov[s.iov_n - 1]
        if <unsigned char *>last.iov_base + last.iov_len == p:
            last.iov_len += n
            s.stage_len += n
            return p
    if s.iov_n >= ZX_IOV_MAX:
        return NULL
    s.iov[s.iov_n].iov_base = p
    s.iov[s.iov_n].iov_len = n
    s.iov_n += 1
    s.stage_len += n
    return p


# one frame (pre + body) boxed as a MESSAGE: small ones in the stage, large ones in the
# mechanism's round buffer (zx_mech_out_reserve), else in a block of their own. The body is
# read where it lies (the box is written straight into its place); only a command's name
# (pre) makes a copy, of the command itself. 0, or -1 if the session ended
cdef int _stage_boxed(zx_session *s, uint8_t flags, const unsigned char *pre, size_t prelen,
                      const unsigned char *body, size_t blen) noexcept nogil:
    cdef size_t plen = prelen + blen
    cdef size_t bodysz = ZX_CURVE_MSG_BODY_OVERHEAD + plen
    cdef size_t total = (2 if bodysz <= 255 else 9) + bodysz
    cdef unsigned char *out
    cdef const unsigned char *src = body
    cdef unsigned char *dst
    cdef size_t n
    cdef zx_msg enc
    cdef bint own = plen > SMALL_BODY
    cdef bint pooled = False
    if own:
        if s.iov_n >= ZX_IOV_MAX:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        out = zx_mech_out_reserve(s.mech, total)
        pooled = out != NULL
        if not pooled:
            if zx_msg_init_size(&enc, total) < 0:
                return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
            out = zx_msg_data(&enc)
    else:
        out = _stage_reserve(s, total)
        if out == NULL:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
    if prelen:
        # a command: name and body joined at their place in the box, sealed in place
        dst = out + (total - bodysz) + ZX_CURVE_MSG_PLAIN_OFFSET + 1
        memcpy(dst, pre, prelen)
        if blen:
            memcpy(dst + prelen, body, blen)
        src = dst
    if zx_mech_encode_message(s.mech, flags, src, plen, out, total, &n) != ZX_OK:
        if own and not pooled:
            zx_msg_close(&enc)
        return _session_end(s, ZX_END_PROTOCOL, ZX_ERR_CRYPTO)
    if own:
        s.iov[s.iov_n].iov_base = out
        s.iov[s.iov_n].iov_len = total
        s.iov_n += 1
        if not pooled:
            memcpy(&s.held[s.held_n], &enc, sizeof(zx_msg))
            s.held_n += 1
    return 0


# one frame, as this connection carries it: plain ZMTP, or a CURVE MESSAGE
cdef int _stage_frame(zx_session *s, uint8_t flags, const unsigned char *body,
                      size_t n) noexcept nogil:
    cdef unsigned char hdr[10]
    cdef size_t hl
    if s.curve:
        return _stage_boxed(s, flags, NULL, 0, body, n)
    if s.wire > ZX_ZMTP_10:
        hl = zx_frame_header_encode(hdr, flags, n)
    else:
        hl = zx_v1_frame_header_encode(hdr, sizeof(hdr), flags, n)
    _stage_raw(s, hdr, hl)
    if n:
        _stage_raw(s, body, n)
    return 0


# a MESSAGE received whole (in the receive buffer, or read into its own block): opened in
# place; a boxed command goes to _session_command, a frame to the socket. -1: ended
cdef int _curve_frame_in(zx_session *s, zx_block *blk, unsigned char *body,
                         size_t n) noexcept nogil:
    cdef size_t plen
    cdef uint8_t fl
    cdef zx_msg m
    cdef unsigned char *payload
    cdef int rc = zx_mech_decode_message(s.mech, body, n, body + ZX_CURVE_MSG_PLAIN_OFFSET,
                                         n - ZX_CURVE_MSG_PLAIN_OFFSET if n >= 32 else 0,
                                         &plen, &fl)
    if rc != ZX_OK:
        return _session_end(s, ZX_END_PROTOCOL, ZX_ERR_CRYPTO)
    payload = body + ZX_CURVE_MSG_PLAIN_OFFSET + 1
    if fl & ZX_FLAG_COMMAND:
        return _session_command(s, payload, plen)
    if (plen <= ZX_VSM_SIZE and s.props == NULL) or blk == NULL:
        if zx_msg_init_copy(&m, payload, plen) < 0:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
    else:
        zx_msg_init_slice(&m, blk, payload, plen)
    if fl & ZX_FLAG_MORE:
        m.flags = ZX_MSG_MORE
    if _deliver(s, &m) < 0:
        return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
    return 0
