# The greeting as libzmq stages it, and the framing of ZMTP 1.0 and 2.0 peers.
# Included by zmtp.pyx (it shares its byte helpers); declared in zmtp.pxd.
#
# Why staged: a 2.0 peer (JeroMQ 0.3, libzmq 3.x) answers a 64-byte greeting by closing,
# while libzmq sends the 10-byte signature, then the major version once it has seen the
# peer's signature, then the rest in the form the peer's revision calls for. zx_greet does
# the same, byte-exact (ZMTP.md 4.2, libzmq zmtp_engine.cpp receive_greeting*), and names
# the protocol it found; the engine then picks the framing (these decoders or the 3.x one)
# and sends zx_greet_identity_encode's bytes to a 1.0/2.0 peer. With security on, 1.0 and
# 2.0 peers are refused (the downgrade guard of 37/ZMTP).
#
# Also here: zx_frame_reserve, the rule that keeps a declared frame size from turning into
# an allocation before the bytes arrive.

cdef enum:
    _GR_RUNNING = 0
    _GR_DONE = 1
    _GR_FAILED = 2


cdef int zx_socktype_v2_byte(int socktype) noexcept nogil:
    """The socket-type octet of a 2.0 greeting: XPUB and XSUB go as PUB and SUB."""
    if socktype == ZX_XPUB:
        return ZX_PUB
    if socktype == ZX_XSUB:
        return ZX_SUB
    if socktype >= ZX_PAIR and socktype <= ZX_PUSH:
        return socktype
    return -1


cdef void zx_greet_init(zx_greet *g, const char *mechanism, int socktype, size_t idlen,
                        bint secure) noexcept nogil:
    cdef size_t ml = strlen(mechanism) if mechanism != NULL else 0
    memset(g, 0, sizeof(zx_greet))
    if ml > 20:
        ml = 20
    memcpy(g.mechanism, mechanism, ml)
    g.socktype = socktype
    g.secure = secure
    g.peer_socktype = -1
    g.peer_want = ZX_GREET_SIGNATURE
    # the signature doubles as a 1.0 identity frame header: FF, u64 (idlen + 1), flags 7F
    g.out[0] = 0xFF
    _put_u64(g.out + 1, <uint64_t>idlen + 1)
    g.out[9] = 0x7F
    g.out_ready = ZX_GREET_SIGNATURE


cdef size_t zx_greet_output(zx_greet *g, unsigned char *dst, size_t cap) noexcept nogil:
    """Copy the greeting bytes that may go out now (and have not been taken) into dst."""
    cdef size_t n = g.out_ready - g.out_taken
    if n > cap:
        n = cap
    if n:
        memcpy(dst, g.out + g.out_taken, n)
        g.out_taken += n
    return n


cdef inline int _greet_fail(zx_greet *g, int err) noexcept nogil:
    g.state = _GR_FAILED
    g.error = err
    return err


cdef int _greet_finish(zx_greet *g, int version) noexcept nogil:
    cdef int rc
    cdef bint same
    g.version = version
    if version <= ZX_ZMTP_20:
        if g.secure:
            return _greet_fail(g, ZX_ERR_VERSION)
        g.state = _GR_DONE
        return ZX_OK
    rc = zx_greeting_decode(g.peer, ZX_GREETING_SIZE, &g.greeting)
    if rc != ZX_OK:
        return _greet_fail(g, rc if rc < 0 else ZX_ERR_PROTOCOL)
    same = strlen(g.greeting.mechanism) == strlen(g.mechanism) and \
        memcmp(g.greeting.mechanism, g.mechanism, strlen(g.mechanism)) == 0
    if not same:
        return _greet_fail(g, ZX_ERR_MECHANISM)
    g.state = _GR_DONE
    return ZX_OK


cdef int zx_greet_feed(zx_greet *g, const unsigned char *p, size_t n,
                       size_t *consumed) noexcept nogil:
    """Take the peer's greeting bytes, never one past the greeting. ZX_OK once the
    protocol is known (g.version), ZX_NEED_MORE, or ZX_ERR_*. After a feed, new bytes
    may be due out: call zx_greet_output. For ZX_ZMTP_10_UNVERSIONED, g.peer[0:peer_len]
    are the first bytes of the peer's 1.0 stream (its identity frame)."""
    cdef size_t used = 0, take
    cdef uint8_t rev
    consumed[0] = 0
    if g.state == _GR_DONE:
        return ZX_OK
    if g.state == _GR_FAILED:
        return g.error
    while used < n:
        # read up to the next point where a decision is due: 1, 10, 11, then the end
        if g.peer_len == 0:
            take = 1
        elif g.peer_len < ZX_GREET_SIGNATURE:
            take = ZX_GREET_SIGNATURE - g.peer_len
        elif g.peer_len == ZX_GREET_SIGNATURE:
            take = 1
        else:
            take = g.peer_want - g.peer_len
        if take > n - used:
            take = n - used
        memcpy(g.peer + g.peer_len, p + used, take)
        g.peer_len += take
        used += take
        consumed[0] = used
        if g.peer_len == 1 and g.peer[0] != 0xFF:
            return _greet_finish(g, ZX_ZMTP_10_UNVERSIONED)
        if g.peer_len == ZX_GREET_SIGNATURE:
            if not (g.peer[9] & 1):
                # a 1.0 identity frame with a long length: its flags octet has bit 0 clear
                return _greet_finish(g, ZX_ZMTP_10_UNVERSIONED)
            g.out[10] = 3
            g.out_ready = 11
            g.peer_want = 11
        elif g.peer_len == 11 and g.peer_want == 11:
            rev = g.peer[10]
            if rev == 0 or rev == 1:
                g.out[11] = <unsigned char>zx_socktype_v2_byte(g.socktype)
                g.out_ready = ZX_GREET_V2_SIZE
                g.peer_want = ZX_GREET_V2_SIZE
            else:
                g.out[11] = 1
                memset(g.out + 12, 0, 52)
                memcpy(g.out + 12, g.mechanism, strlen(g.mechanism))
                g.out[32] = 1 if g.as_server else 0
                g.out_ready = ZX_GREETING_SIZE
                g.peer_want = ZX_GREETING_SIZE
        elif g.peer_len == g.peer_want and g.peer_want > 11:
            if g.peer_want == ZX_GREET_V2_SIZE:
                g.peer_socktype = g.peer[11]
                return _greet_finish(g, ZX_ZMTP_10 if g.peer[10] == 0 else ZX_ZMTP_20)
            if g.peer[10] == 3 and g.peer[11] == 0:
                return _greet_finish(g, ZX_ZMTP_30)
            return _greet_finish(g, ZX_ZMTP_31)
    return ZX_NEED_MORE


cdef size_t zx_greet_identity_encode(const zx_greet *g, unsigned char *out, size_t cap,
                                     const unsigned char *identity, size_t idlen) noexcept nogil:
    """What a 1.0/2.0 peer must get right after the greeting: our identity frame (for an
    unversioned 1.0 peer only its body, the signature was its header). 0 for 3.x peers
    or when cap is too small."""
    cdef size_t h
    if g.state != _GR_DONE:
        return 0
    if g.version == ZX_ZMTP_10_UNVERSIONED:
        if idlen > cap:
            return 0
        if idlen:
            memcpy(out, identity, idlen)
        return idlen
    if g.version == ZX_ZMTP_10:
        h = zx_v1_frame_header_encode(out, cap, 0, idlen)
    elif g.version == ZX_ZMTP_20:
        if cap < ZX_MAX_HEADER:
            return 0
        h = zx_frame_header_encode(out, 0, idlen)
    else:
        return 0
    if h == 0 or h + idlen > cap:
        return 0
    if idlen:
        memcpy(out + h, identity, idlen)
    return h + idlen


# ---------------------------------------------------------------- 1.0 and 2.0 framing

cdef size_t zx_v1_frame_header_encode(unsigned char *out, size_t cap, uint8_t flags,
                                      uint64_t size) noexcept nogil:
    if size >= (<uint64_t>1 << 63) - 1:
        return 0
    if size + 1 < 255:
        if cap < 2:
            return 0
        out[0] = <unsigned char>(size + 1)
        out[1] = flags & ZX_FLAG_MORE
        return 2
    if cap < ZX_V1_MAX_HEADER:
        return 0
    out[0] = 0xFF
    _put_u64(out + 1, size + 1)
    out[9] = flags & ZX_FLAG_MORE
    return ZX_V1_MAX_HEADER


cdef int zx_v1_frame_header_decode(const unsigned char *p, size_t n, int64_t maxsize,
                                   uint8_t *flags, uint64_t *size, size_t *hdrlen) noexcept nogil:
    cdef uint64_t ln
    cdef size_t hl
    if n < 1:
        return ZX_NEED_MORE
    if p[0] == 0xFF:
        if n < ZX_V1_MAX_HEADER:
            return ZX_NEED_MORE
        ln = _get_u64(p + 1)
        hl = ZX_V1_MAX_HEADER
        if ln == 0 or ln >> 63:
            return ZX_ERR_PROTOCOL
    else:
        if n < 2:
            return ZX_NEED_MORE
        ln = p[0]
        hl = 2
        if ln == 0:
            return ZX_ERR_PROTOCOL           # the length counts the flags octet
    if maxsize >= 0 and ln - 1 > <uint64_t>maxsize:
        return ZX_ERR_TOO_BIG
    flags[0] = p[hl - 1] & ZX_FLAG_MORE      # libzmq's v1 decoder keeps only MORE
    size[0] = ln - 1
    hdrlen[0] = hl
    return ZX_OK


cdef int zx_v2_frame_header_decode(const unsigned char *p, size_t n, int64_t maxsize,
                                   uint8_t *flags, uint64_t *size, size_t *hdrlen) noexcept nogil:
    if n >= 1 and (p[0] & ZX_FLAG_COMMAND):
        return ZX_ERR_PROTOCOL               # 2.0 has no commands
    return zx_frame_header_decode(p, n, maxsize, flags, size, hdrlen)


cdef uint64_t zx_frame_reserve(uint64_t declared, uint64_t received) noexcept nogil:
    """Room a body of `declared` bytes may have once `received` of them are in. The
    engine asks before the body (received 0) and each time its buffer is full: at most
    max(ZX_RESERVE_STEP, 2 * received) and never more than declared, always more than
    received while bytes are missing. Growing to this as data arrives makes a peer pay a
    byte of traffic for every byte of memory (8 GiB declared, 10 sent: 64 KiB held), with
    O(log size) reallocations."""
    cdef uint64_t cap
    if received >= declared:
        return declared
    if received > (<uint64_t>1 << 62):
        cap = declared
    else:
        cap = 2 * received
    if cap < ZX_RESERVE_STEP:
        cap = ZX_RESERVE_STEP
    if cap > declared:
        cap = declared
    return cap


# ---------------------------------------------------------------- Python wrappers (tests, tools)

cdef class Greeter:
    """The staged greeting (zx_greet): output() what may go out, feed() the peer's bytes."""

    cdef zx_greet _g

    def __init__(self, mechanism=b"NULL", int socktype=ZX_PAIR, Py_ssize_t idlen=0,
                 bint secure=False):
        cdef bytes m = _cstr(mechanism)
        if len(m) > 20:
            raise ValueError("mechanism longer than 20 bytes")
        zx_greet_init(&self._g, m, socktype, idlen, secure)

    def output(self):
        cdef unsigned char buf[64]
        cdef size_t n = zx_greet_output(&self._g, buf, sizeof(buf))
        return PyBytes_FromStringAndSize(<char *>buf, n)

    def feed(self, data):
        """Returns the number of bytes consumed; raises ProtocolError."""
        cdef bytes b = bytes(data)
        cdef size_t used = 0
        cdef int rc = zx_greet_feed(&self._g, <const unsigned char *>PyBytes_AS_STRING(b),
                                    len(b), &used)
        if rc < 0:
            raise ProtocolError(rc)
        return used

    def identity_frame(self, identity=b""):
        cdef bytes i = bytes(identity)
        cdef unsigned char buf[300]
        cdef size_t n = zx_greet_identity_encode(&self._g, buf, sizeof(buf),
                                                 <const unsigned char *>PyBytes_AS_STRING(i),
                                                 len(i))
        return PyBytes_FromStringAndSize(<char *>buf, n)

    @property
    def done(self):
        return self._g.state == _GR_DONE

    @property
    def version(self):
        return self._g.version

    @property
    def peer_bytes(self):
        return PyBytes_FromStringAndSize(<char *>self._g.peer, self._g.peer_len)

    @property
    def peer_socktype(self):
        return self._g.peer_socktype

    @property
    def peer_mechanism(self):
        return <bytes>self._g.greeting.mechanism

    @property
    def peer_minor(self):
        return self._g.greeting.minor


def socktype_v2_byte(int socktype):
    return zx_socktype_v2_byte(socktype)


def encode_v1_frame(body, bint more=False):
    cdef bytes b = bytes(body)
    cdef unsigned char hdr[10]
    cdef size_t n = zx_v1_frame_header_encode(hdr, sizeof(hdr), ZX_FLAG_MORE if more else 0,
                                              len(b))
    return PyBytes_FromStringAndSize(<char *>hdr, n) + b


def decode_v1_frame_header(data, Py_ssize_t maxsize=-1):
    """(flags, size, hdrlen) of a 1.0 frame, None when incomplete; raises ProtocolError."""
    cdef bytes b = bytes(data)
    cdef uint8_t flags = 0
    cdef uint64_t size = 0
    cdef size_t hdrlen = 0
    cdef int rc = zx_v1_frame_header_decode(<const unsigned char *>PyBytes_AS_STRING(b), len(b),
                                            maxsize, &flags, &size, &hdrlen)
    if rc < 0:
        raise ProtocolError(rc)
    if rc == ZX_NEED_MORE:
        return None
    return flags, size, hdrlen


def decode_v2_frame_header(data, Py_ssize_t maxsize=-1):
    cdef bytes b = bytes(data)
    cdef uint8_t flags = 0
    cdef uint64_t size = 0
    cdef size_t hdrlen = 0
    cdef int rc = zx_v2_frame_header_decode(<const unsigned char *>PyBytes_AS_STRING(b), len(b),
                                            maxsize, &flags, &size, &hdrlen)
    if rc < 0:
        raise ProtocolError(rc)
    if rc == ZX_NEED_MORE:
        return None
    return flags, size, hdrlen


def frame_reserve(uint64_t declared, uint64_t received):
    return zx_frame_reserve(declared, received)


def _encode_capped(str which, Py_ssize_t cap, *args):
    """Run one C encoder into a buffer of `cap` bytes followed by 64 guard bytes; returns
    (n, written bytes, guard intact). For the overflow tests."""
    cdef bytearray buf = bytearray(b"\xAA" * (cap + 64))
    cdef unsigned char *p = <unsigned char *><char *>buf
    cdef size_t n = 0
    cdef bytes a, b2
    if which == "command":
        a = _cstr(args[0])
        b2 = bytes(args[1])
        n = zx_command_encode(p, cap, a, <const unsigned char *>PyBytes_AS_STRING(b2), len(b2))
    elif which == "error":
        a = _cstr(args[0])
        n = zx_error_encode(p, cap, a)
    elif which == "ping":
        b2 = bytes(args[1])
        n = zx_ping_encode(p, cap, <uint16_t>args[0],
                           <const unsigned char *>PyBytes_AS_STRING(b2), len(b2))
    elif which == "pong":
        b2 = bytes(args[0])
        n = zx_pong_encode(p, cap, <const unsigned char *>PyBytes_AS_STRING(b2), len(b2))
    elif which == "ready":
        b2 = bytes(args[1])
        n = zx_ready_encode(p, cap, <int>args[0], <const unsigned char *>PyBytes_AS_STRING(b2),
                            len(b2))
    elif which == "v1":
        n = zx_v1_frame_header_encode(p, cap, <uint8_t>args[0], <uint64_t>args[1])
    else:
        raise ValueError(which)
    return n, bytes(buf[:n]), bytes(buf[cap:]) == b"\xAA" * 64
