# The greeting in libzmq's order and ZMTP 1.0/2.0 peers, included by io_thread.pyx.
#
# Every connection starts with zx_greet (zmtp_legacy.pxi): the 10-byte signature, the
# major version once the peer's signature shows it is versioned, the rest in the form the
# peer's revision calls for. A 3.x peer's 64 bytes then go to the 3.x handshake (hs, which
# sends only what follows the greeting: READY, or the mechanism's commands). A 1.0 or 2.0
# peer (libzmq 2.x/3.x, JeroMQ 0.3) gets our identity frame and sends its own, in its
# framing; then the session is ACTIVE with that framing (s.wire): 2.0 is 3.x's header
# without commands, 1.0 a length (counting the flags octet) then the flags. Such peers
# have no commands: no heartbeats, subscriptions travel as messages, and libzmq checks no
# socket type for them. With security on they are refused (the downgrade guard).

cdef inline bint _hs_out_pending(zx_session *s) noexcept nogil:
    # handshake bytes we could write now
    if s.greet_sent < s.greet_len:
        return True
    if s.greet_phase:
        return False
    return s.hs_sent < s.hs.outlen or s.mech_out_sent < s.mech_out_len


# the peer's greeting bytes: 1 when it is complete (go on with hs or the identity
# exchange), 0 for more, -1 if the session ended
cdef int _session_greet_feed(zx_session *s) noexcept nogil:
    cdef size_t consumed = 0
    cdef unsigned char ident[300]
    cdef size_t k
    cdef int rc = zx_greet_feed(&s.greet, s.rbuf.data + s.rstart, s.rend - s.rstart, &consumed)
    s.rstart += consumed
    if rc < 0:
        _session_hs_write(s)                 # our greeting's rest: the peer judges too
        return _session_end(s, ZX_END_HANDSHAKE_FAILED, rc)
    if _session_hs_write(s) < 0:             # the next part of our greeting is due
        return -1
    if rc == ZX_NEED_MORE:
        return 0
    s.greet_phase = False
    s.wire = s.greet.version
    if s.wire >= ZX_ZMTP_30:
        # the 3.x handshake judges the greeting (mechanism) and takes it from there
        rc = zx_handshake_feed(&s.hs, s.greet.peer, ZX_GREETING_SIZE, &consumed)
        if rc < 0:
            _session_hs_write(s)
            return _session_end(s, ZX_END_HANDSHAKE_FAILED, s.hs.error)
        if _session_hs_write(s) < 0:
            return -1
        return 1
    # a 1.0/2.0 peer: our identity frame now, then its own is the next thing due
    s.hs_sent = s.hs.outlen                  # never a 3.x READY
    s.hs.peer_major = 1 if s.wire <= ZX_ZMTP_10 else 2
    s.hs.peer_minor = 0
    s.hs.peer_socktype = s.greet.peer_socktype
    k = zx_greet_identity_encode(&s.greet, ident, sizeof(ident), s.opts.identity,
                                 s.opts.identity_len)
    if k:
        if not _mech_out_room(s, k):
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        memcpy(s.mech_out + s.mech_out_len, ident, k)
        s.mech_out_len += k
    if s.wire == ZX_ZMTP_10_UNVERSIONED:
        # the bytes the greeting looked at were the start of its identity frame
        if s.rstart < s.greet.peer_len:
            return _session_end(s, ZX_END_HANDSHAKE_FAILED, ZX_ERR_PROTOCOL)
        s.rstart -= s.greet.peer_len
    s.legacy_identity = True
    if _session_hs_write(s) < 0:
        return -1
    if _hs_out_pending(s):
        _session_set_events(s, s.events | ZX_EV_OUT)
    return 1


cdef inline int _legacy_header_decode(zx_session *s, const unsigned char *p, size_t n,
                                      int64_t maxsize, uint8_t *flags, uint64_t *size,
                                      size_t *hdrlen) noexcept nogil:
    if s.wire <= ZX_ZMTP_10:
        return zx_v1_frame_header_decode(p, n, maxsize, flags, size, hdrlen)
    return zx_v2_frame_header_decode(p, n, maxsize, flags, size, hdrlen)


# a 1.0/2.0 peer's identity frame (never delivered: a ROUTER names the peer by it);
# -1 if the session ended
cdef int _session_legacy_identity(zx_session *s) noexcept nogil:
    cdef const unsigned char *p
    cdef size_t avail, hdrlen
    cdef uint8_t flags
    cdef uint64_t size
    cdef int rc
    if s.rbuf == NULL:
        return 0
    p = s.rbuf.data + s.rstart
    avail = s.rend - s.rstart
    rc = _legacy_header_decode(s, p, avail, -1, &flags, &size, &hdrlen)
    if rc == ZX_NEED_MORE:
        return 0
    if rc < 0 or size > ZX_MAX_IDENTITY or (flags & ZX_FLAG_MORE):
        return _session_end(s, ZX_END_HANDSHAKE_FAILED, ZX_ERR_PROTOCOL)
    if hdrlen + size > avail:
        return 0
    if size:
        memcpy(s.hs.peer_identity, p + hdrlen, size)
    s.hs.peer_identity_len = size
    s.rstart += hdrlen + size
    s.legacy_identity = False
    return _session_handshake_done(s)
