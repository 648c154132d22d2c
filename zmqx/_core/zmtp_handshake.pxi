# The ZMTP 3.x greeting and the NULL handshake (greeting + READY), sans-I/O; included by
# zmtp.pyx. Split from the frame codec because the handshake is a state machine over a
# connection's first bytes while the codec is stateless per frame: the engine drives this
# part once per connection (and, for PLAIN/CURVE, only the greeting: mechanism.pyx takes
# over after it), the codec once per frame.

# ---------------------------------------------------------------- greeting

cdef void zx_greeting_encode(unsigned char *out, const char *mechanism, bint as_server) noexcept nogil:
    cdef size_t ml = strlen(mechanism) if mechanism != NULL else 0
    if ml > 20:
        ml = 20
    memset(out, 0, ZX_GREETING_SIZE)
    out[0] = 0xFF
    out[8] = 0x01            # padding as libzmq sends it for an empty identity
    out[9] = 0x7F
    out[10] = 3
    out[11] = 1
    if ml:
        memcpy(out + 12, mechanism, ml)
    out[32] = 1 if as_server else 0


cdef int zx_greeting_decode(const unsigned char *p, size_t n, zx_greeting *g) noexcept nogil:
    cdef size_t i, end
    cdef bint seen_nul = False
    if n >= 1 and p[0] != 0xFF:
        return ZX_ERR_PROTOCOL
    # bytes 1..8 are padding: not significant, never validated
    if n >= 10 and (p[9] & 1) == 0:
        return ZX_ERR_VERSION           # a 1.0 peer: that octet is its flags
    if n >= 11 and p[10] < 3:
        return ZX_ERR_VERSION           # 2.0 (or a 3.x-less revision)
    # mechanism: 12..31, allowed chars then NULs; checked as far as it has arrived
    end = n if n < 32 else 32
    if n > 12 and p[12] == 0:
        return ZX_ERR_PROTOCOL          # empty mechanism name
    i = 12
    while i < end:
        if p[i] == 0:
            seen_nul = True
        elif seen_nul or not _is_mech_char(p[i]):
            return ZX_ERR_PROTOCOL
        i += 1
    if n < ZX_GREETING_SIZE:
        return ZX_NEED_MORE
    if g != NULL:
        g.major = p[10]
        g.minor = p[11]
        memcpy(g.mechanism, p + 12, 20)
        g.mechanism[20] = 0
        g.as_server = p[32]
    return ZX_OK


# ---------------------------------------------------------------- NULL handshake

cdef inline int _hs_fail(zx_handshake *h, int err) noexcept nogil:
    h.state = ZX_HS_FAILED
    h.error = err
    return err


cdef void zx_handshake_init(zx_handshake *h, int socktype,
                            const unsigned char *identity, size_t idlen) noexcept nogil:
    cdef size_t n
    memset(h, 0, sizeof(zx_handshake))
    h.state = ZX_HS_GREETING
    h.socktype = socktype
    h.peer_socktype = -1
    if idlen > ZX_MAX_IDENTITY:
        idlen = ZX_MAX_IDENTITY
    if idlen:
        memcpy(h.identity, identity, idlen)
    h.identity_len = idlen
    memcpy(h.mechanism, b"NULL", 5)
    zx_greeting_encode(h.out, "NULL", False)
    n = zx_ready_encode(h.out + ZX_GREETING_SIZE, sizeof(h.out) - ZX_GREETING_SIZE,
                        socktype, h.identity, idlen)
    if n == 0:
        # not a socket type we can announce: fail before anything goes out
        h.outlen = 0
        _hs_fail(h, ZX_ERR_SOCKTYPE)
        return
    h.outlen = ZX_GREETING_SIZE + n


cdef void zx_handshake_init_greeting(zx_handshake *h, int socktype, const char *mechanism,
                                     bint as_server) noexcept nogil:
    cdef size_t ml = strlen(mechanism)
    memset(h, 0, sizeof(zx_handshake))
    h.state = ZX_HS_GREETING
    h.socktype = socktype
    h.peer_socktype = -1
    if ml > 20:
        ml = 20
    memcpy(h.mechanism, mechanism, ml)
    h.greeting_only = True
    zx_greeting_encode(h.out, h.mechanism, as_server)
    h.outlen = ZX_GREETING_SIZE


cdef int _hs_ready(zx_handshake *h, const unsigned char *frame, size_t hdrlen,
                   size_t size) noexcept nogil:
    """The peer's first frame after the greeting is complete in `frame`: judge it."""
    cdef const unsigned char *name
    cdef const unsigned char *data
    cdef const unsigned char *val
    cdef size_t namelen, datalen, vallen, n
    cdef int rc, peer
    if zx_command_split(frame + hdrlen, size, &name, &namelen, &data, &datalen) != ZX_OK:
        return _hs_fail(h, ZX_ERR_PROTOCOL)
    if zx_command_is(name, namelen, "ERROR"):
        return _hs_fail(h, ZX_ERR_PEER_ERROR)
    if not zx_command_is(name, namelen, "READY"):
        return _hs_fail(h, ZX_ERR_PROTOCOL)
    if zx_metadata_validate(data, datalen) != ZX_OK:
        return _hs_fail(h, ZX_ERR_PROTOCOL)
    peer = -1
    if zx_metadata_find(data, datalen, "Socket-Type", &val, &vallen) == ZX_OK:
        peer = zx_socktype_from_name(val, vallen)
    if peer < 0 or not zx_socktype_compatible(h.socktype, peer):
        n = zx_error_encode(h.out + h.outlen, sizeof(h.out) - h.outlen,
                            "Incompatible socket type")
        h.outlen += n
        return _hs_fail(h, ZX_ERR_SOCKTYPE)
    rc = zx_metadata_find(data, datalen, "Identity", &val, &vallen)
    if rc == ZX_OK:
        if vallen > ZX_MAX_IDENTITY:
            return _hs_fail(h, ZX_ERR_PROTOCOL)
        if zx_sends_identity(peer):
            if vallen:
                memcpy(h.peer_identity, val, vallen)
            h.peer_identity_len = vallen
    h.peer_socktype = peer
    h.state = ZX_HS_DONE
    h.inlen = 0
    return ZX_OK


cdef int zx_handshake_feed(zx_handshake *h, const unsigned char *p, size_t n,
                           size_t *consumed) noexcept nogil:
    cdef size_t used = 0
    cdef size_t take, want, total
    cdef zx_greeting g
    cdef int rc
    cdef uint8_t flags
    cdef uint64_t size
    cdef size_t hdrlen
    consumed[0] = 0
    if h.state == ZX_HS_DONE:
        return ZX_OK
    if h.state == ZX_HS_FAILED:
        return h.error

    if h.state == ZX_HS_GREETING:
        take = ZX_GREETING_SIZE - h.inlen
        if take > n:
            take = n
        if take:
            memcpy(h.inbuf + h.inlen, p, take)
        h.inlen += take
        used += take
        consumed[0] = used
        rc = zx_greeting_decode(h.inbuf, h.inlen, &g)
        if rc < 0:
            return _hs_fail(h, rc)
        if rc == ZX_NEED_MORE:
            return ZX_NEED_MORE
        if strlen(g.mechanism) != strlen(h.mechanism) or \
                memcmp(g.mechanism, h.mechanism, strlen(h.mechanism)) != 0:
            return _hs_fail(h, ZX_ERR_MECHANISM)
        h.peer_major = g.major
        h.peer_minor = g.minor
        h.inlen = 0
        if h.greeting_only:
            h.state = ZX_HS_DONE
            return ZX_OK
        h.state = ZX_HS_READY

    # ZX_HS_READY: assemble exactly one frame in inbuf, never reading past it
    while True:
        rc = zx_frame_header_decode(h.inbuf, h.inlen, -1, &flags, &size, &hdrlen)
        if rc < 0:
            return _hs_fail(h, ZX_ERR_PROTOCOL)
        if rc == ZX_NEED_MORE:
            if h.inlen == 0:
                want = 1
            elif h.inbuf[0] & ZX_FLAG_LONG:
                want = 9 - h.inlen
            else:
                want = 2 - h.inlen
            take = n - used
            if take == 0:
                return ZX_NEED_MORE
            if take > want:
                take = want
            memcpy(h.inbuf + h.inlen, p + used, take)
            h.inlen += take
            used += take
            consumed[0] = used
            continue
        break
    if not (flags & ZX_FLAG_COMMAND):
        return _hs_fail(h, ZX_ERR_PROTOCOL)     # a message before READY
    if size > sizeof(h.inbuf) - hdrlen:
        return _hs_fail(h, ZX_ERR_PROTOCOL)     # no READY (or ERROR) is that large
    total = hdrlen + <size_t>size
    take = total - h.inlen
    if take > n - used:
        take = n - used
    if take:
        memcpy(h.inbuf + h.inlen, p + used, take)
    h.inlen += take
    used += take
    consumed[0] = used
    if h.inlen < total:
        return ZX_NEED_MORE
    return _hs_ready(h, h.inbuf, hdrlen, <size_t>size)



# ---------------------------------------------------------------- Python wrappers

def encode_greeting(mechanism=b"NULL", bint as_server=False):
    cdef bytes m = _cstr(mechanism)
    if len(m) > 20:
        raise ValueError("mechanism longer than 20 bytes")
    cdef bytes out = _buf(ZX_GREETING_SIZE)
    zx_greeting_encode(<unsigned char *>PyBytes_AS_STRING(out), m, as_server)
    return out


def decode_greeting(data):
    """(major, minor, mechanism, as_server), None if more bytes are needed; raises
    ProtocolError as soon as the bytes seen so far are bad."""
    cdef bytes b = bytes(data)
    cdef zx_greeting g
    cdef int rc = zx_greeting_decode(<const unsigned char *>PyBytes_AS_STRING(b), len(b), &g)
    if rc < 0:
        raise ProtocolError(rc)
    if rc == ZX_NEED_MORE:
        return None
    return g.major, g.minor, <bytes>g.mechanism, bool(g.as_server)


cdef class Handshake:
    """One connection's NULL handshake (greeting + READY) over zx_handshake."""

    cdef zx_handshake _h

    def __init__(self, int socktype, identity=b""):
        cdef bytes ident = bytes(identity)
        if len(ident) > ZX_MAX_IDENTITY:
            raise ValueError("identity longer than 255 bytes")
        if zx_socktype_name(socktype) == NULL:
            raise ValueError("unknown socket type %d" % socktype)
        zx_handshake_init(&self._h, socktype,
                          <const unsigned char *>PyBytes_AS_STRING(ident), len(ident))

    def data_to_send(self):
        """Bytes to write to the peer (drained)."""
        out = PyBytes_FromStringAndSize(<char *>self._h.out, self._h.outlen)
        self._h.outlen = 0
        return out

    def feed(self, data):
        """Feed peer bytes. Returns the unconsumed data-phase bytes once done, b"" while
        more are needed; raises ProtocolError when the handshake fails."""
        cdef bytes b = bytes(data)
        cdef size_t consumed = 0
        cdef int rc = zx_handshake_feed(&self._h, <const unsigned char *>PyBytes_AS_STRING(b),
                                        len(b), &consumed)
        if rc < 0:
            raise ProtocolError(rc)
        if rc == ZX_NEED_MORE:
            return b""
        return b[consumed:]

    @property
    def done(self):
        return self._h.state == ZX_HS_DONE

    @property
    def failed(self):
        return self._h.state == ZX_HS_FAILED

    @property
    def state(self):
        return self._h.state

    @property
    def error(self):
        return self._h.error

    @property
    def peer_socktype(self):
        return self._h.peer_socktype

    @property
    def peer_major(self):
        return self._h.peer_major

    @property
    def peer_minor(self):
        return self._h.peer_minor

    @property
    def peer_identity(self):
        return PyBytes_FromStringAndSize(<char *>self._h.peer_identity,
                                         self._h.peer_identity_len)



# the staged greeting, 1.0/2.0 framing, zx_frame_reserve and their Python wrappers
