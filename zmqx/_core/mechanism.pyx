# cython: language_level=3
# Security mechanisms after the ZMTP greeting: NULL (37/ZMTP), PLAIN (24/ZMTP-PLAIN) and
# CURVE (25/ZMTP-CURVE + 26/CurveZMQ), as libzmq 4.3.5 puts them on the wire.
#
# This file owns what the three share: the zx_mech lifecycle, the dispatch of next()/feed(),
# the ERROR command in both directions, the metadata rules (Socket-Type compatibility,
# Identity only from REQ/DEALER/ROUTER, copies kept for the engine), the ZAP hooks and the
# Python wrappers the tests drive. The commands of each mechanism are in mech_plain.pxi and
# mech_curve.pxi, included below so the whole state machine compiles into one module.
#
# Sans-I/O: next() writes a whole command frame into a caller buffer, feed() takes a whole
# command frame body. The engine owns sockets, timers and the ZAP socket. Everything at the
# C level is nogil and allocates only with malloc (metadata copies), freed by destroy().

from libc.stdint cimport uint8_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memcpy, memmove, memset, memcmp, strlen
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING

from zmqx._core.zmtp cimport *
from zmqx._core.curve cimport (crypto_random, crypto_wipe, crypto_keypair, crypto_beforenm,
                               crypto_seal, crypto_seal_head, crypto_open)

from zmqx._core.zmtp import ProtocolError

cdef enum:
    # client steps
    _ST_SEND_HELLO = 1
    _ST_EXPECT_WELCOME = 2
    _ST_SEND_INITIATE = 3
    _ST_EXPECT_READY = 4
    # server steps
    _ST_EXPECT_HELLO = 10
    _ST_ZAP_HELLO = 11          # PLAIN: ZAP runs between HELLO and WELCOME
    _ST_SEND_WELCOME = 12
    _ST_EXPECT_INITIATE = 13
    _ST_ZAP_INITIATE = 14       # CURVE: ZAP runs between INITIATE and READY
    _ST_SEND_READY = 15
    # NULL
    _ST_NULL = 20
    _ST_NULL_ZAP = 21
    # terminal
    _ST_DONE = 30
    _ST_FAILED = 31


# ---------------------------------------------------------------- helpers (C only)

cdef inline void _put_u32(unsigned char *p, uint32_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 24)
    p[1] = <unsigned char>(v >> 16)
    p[2] = <unsigned char>(v >> 8)
    p[3] = <unsigned char>v


cdef inline void _put_u64(unsigned char *p, uint64_t v) noexcept nogil:
    cdef int i
    for i in range(8):
        p[i] = <unsigned char>(v >> (56 - 8 * i))


cdef inline uint64_t _get_u64(const unsigned char *p) noexcept nogil:
    cdef uint64_t v = 0
    cdef int i
    for i in range(8):
        v = (v << 8) | p[i]
    return v


cdef inline bint _ct_equal(const uint8_t *a, const uint8_t *b, size_t n) noexcept nogil:
    """Constant-time equality (keys and cookie contents are secrets)."""
    cdef uint8_t d = 0
    cdef size_t i
    for i in range(n):
        d |= a[i] ^ b[i]
    return d == 0


cdef inline bint _starts(const unsigned char *body, size_t n, const char *prefix,
                         size_t plen) noexcept nogil:
    return n >= plen and memcmp(body, prefix, plen) == 0


cdef inline size_t _frame_size(size_t body) noexcept nogil:
    return body + (2 if body <= 255 else 9)


cdef int _frame_begin(unsigned char *out, size_t cap, size_t body, size_t *n,
                      size_t *hdr) noexcept nogil:
    """Check that a command frame with a `body`-byte body fits in `cap`, write its header.
    ZX_OK with *hdr = header size, or ZX_ERR_NOSPACE with *n = the size needed."""
    cdef size_t total
    if body > (<size_t>-1) - 16:
        return ZX_ERR_NOSPACE
    total = _frame_size(body)
    if total > cap:
        n[0] = total
        return ZX_ERR_NOSPACE
    hdr[0] = zx_frame_header_encode(out, ZX_FLAG_COMMAND, body)
    n[0] = total
    return ZX_OK


cdef inline int _fail(zx_mech *m, int err, const char *reason, const char *error_out) noexcept nogil:
    m.state = _ST_FAILED
    m.error = err
    m.reason = reason
    m.error_out = error_out
    return err


cdef unsigned char *_dup(const unsigned char *p, size_t n) noexcept nogil:
    cdef unsigned char *d = <unsigned char *>malloc(n if n else 1)
    if d != NULL and n:
        memcpy(d, p, n)
    return d


cdef int _accept_meta(zx_mech *m, const unsigned char *data, size_t n,
                      bint may_send_error) noexcept nogil:
    """The peer's metadata (READY or INITIATE): validate it, check the socket type (an
    ERROR goes back when this side may send one), take the Identity, keep a copy."""
    cdef const unsigned char *val
    cdef size_t vallen
    cdef int peer
    if zx_metadata_validate(data, n) != ZX_OK:
        return _fail(m, ZX_ERR_PROTOCOL, "malformed metadata", NULL)
    peer = -1
    if zx_metadata_find(data, n, "Socket-Type", &val, &vallen) == ZX_OK:
        peer = zx_socktype_from_name(val, vallen)
    if peer < 0 or not zx_socktype_compatible(m.socktype, peer):
        if may_send_error:
            return _fail(m, ZX_ERR_SOCKTYPE, "incompatible socket type",
                         "Incompatible socket type")
        return _fail(m, ZX_ERR_SOCKTYPE, "incompatible socket type", NULL)
    if zx_metadata_find(data, n, "Identity", &val, &vallen) == ZX_OK:
        if vallen > ZX_MAX_IDENTITY:
            return _fail(m, ZX_ERR_PROTOCOL, "identity longer than 255 bytes", NULL)
        if zx_sends_identity(peer):
            if vallen:
                memcpy(m.peer_identity, val, vallen)
            m.peer_identity_len = vallen
    if m.peer_meta != NULL:
        free(m.peer_meta)
    m.peer_meta = _dup(data, n)
    if m.peer_meta == NULL:
        return _fail(m, ZX_ERR_PROTOCOL, "out of memory", NULL)
    m.peer_metalen = n
    m.peer_socktype = peer
    return ZX_OK


cdef int _peer_error(zx_mech *m, const unsigned char *data, size_t n) noexcept nogil:
    """An ERROR command from the peer: `len(1) reason`. Always fatal."""
    cdef size_t rl
    if n < 1:
        return _fail(m, ZX_ERR_PROTOCOL, "malformed ERROR", NULL)
    rl = data[0]
    if rl > n - 1:
        return _fail(m, ZX_ERR_PROTOCOL, "malformed ERROR", NULL)
    if rl:
        memcpy(m.peer_reason, data + 1, rl)
    m.peer_reason_len = rl
    return _fail(m, ZX_ERR_PEER_ERROR, "peer sent ERROR", NULL)


cdef int _encode_simple(zx_mech *m, const char *name_prefix, size_t plen,
                        const unsigned char *data, size_t dlen,
                        unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    """A command frame whose body is `name_prefix` (length-prefixed name) + data."""
    cdef size_t hdr
    cdef int rc = _frame_begin(out, cap, plen + dlen, n, &hdr)
    if rc != ZX_OK:
        return rc
    memcpy(out + hdr, name_prefix, plen)
    if dlen:
        memcpy(out + hdr + plen, data, dlen)
    return ZX_OK


# libzmq 4.3.5's PLAIN server writes its ERROR name as the C literal "\x05ERROR", which C
# reads as 0x5E 'R' 'R' 'O' 'R': the body is "^RROR" len reason, without a name length.
# libzmq's PLAIN client expects exactly that, so a PLAIN server here sends it that way (a
# libzmq client then reports the ZAP status, e.g. HANDSHAKE_FAILED_AUTH 400) and every
# client here accepts it next to the correct "\x05ERROR" form. Checked on the wire.
cdef const char *_LIBZMQ_PLAIN_ERROR = "^RROR"


include "mech_plain.pxi"
include "mech_curve.pxi"


# ---------------------------------------------------------------- lifecycle

cdef const char *zx_mech_name(int kind) noexcept nogil:
    if kind == ZX_MECH_NULL:
        return "NULL"
    if kind == ZX_MECH_PLAIN:
        return "PLAIN"
    if kind == ZX_MECH_CURVE:
        return "CURVE"
    return NULL


cdef int zx_mech_kind_from_name(const char *name) noexcept nogil:
    cdef int k
    for k in range(3):
        if strlen(name) == strlen(zx_mech_name(k)) and \
                memcmp(name, zx_mech_name(k), strlen(name)) == 0:
            return k
    return -1


cdef int zx_mech_init(zx_mech *m, int kind, bint as_server, int socktype,
                      const unsigned char *identity, size_t idlen) noexcept nogil:
    cdef const char *st = zx_socktype_name(socktype)
    cdef size_t stl, n
    memset(m, 0, sizeof(zx_mech))
    m.kind = kind
    m.as_server = 1 if as_server else 0
    m.socktype = socktype
    m.peer_socktype = -1
    m.nonce = 1                 # libzmq's first short nonce (HELLO / server READY)
    if zx_mech_name(kind) == NULL:
        return _fail(m, ZX_ERR_MECHANISM, "unknown mechanism", NULL)
    if st == NULL or idlen > ZX_MAX_IDENTITY:
        return _fail(m, ZX_ERR_SOCKTYPE, "socket type cannot be announced", NULL)
    stl = strlen(st)
    m.meta = <unsigned char *>malloc(5 + 11 + stl + 5 + 8 + idlen)
    if m.meta == NULL:
        return _fail(m, ZX_ERR_PROTOCOL, "out of memory", NULL)
    n = zx_prop_encode(m.meta, "Socket-Type", <const unsigned char *>st, stl)
    if zx_sends_identity(socktype):
        n += zx_prop_encode(m.meta + n, "Identity", identity, idlen)
    m.metalen = n
    if kind == ZX_MECH_NULL:
        m.state = _ST_NULL
    elif as_server:
        m.state = _ST_EXPECT_HELLO
    else:
        m.state = _ST_SEND_HELLO
    return ZX_OK


cdef int zx_mech_set_metadata(zx_mech *m, const unsigned char *extra, size_t n) noexcept nogil:
    """Append application properties (already encoded, e.g. X-* from ZMQ_METADATA)."""
    cdef unsigned char *grown
    if zx_metadata_validate(extra, n) != ZX_OK:
        return ZX_ERR_PROTOCOL
    if n == 0:
        return ZX_OK
    grown = <unsigned char *>malloc(m.metalen + n)
    if grown == NULL:
        return ZX_ERR_NOSPACE
    memcpy(grown, m.meta, m.metalen)
    memcpy(grown + m.metalen, extra, n)
    free(m.meta)
    m.meta = grown
    m.metalen += n
    return ZX_OK


cdef int zx_mech_set_zap(zx_mech *m, const unsigned char *domain, size_t dlen,
                         const unsigned char *routing_id, size_t rlen) noexcept nogil:
    if dlen > 255 or rlen > 255:
        return ZX_ERR_PROTOCOL
    if dlen:
        memcpy(m.zap_domain, domain, dlen)
    m.zap_domain_len = dlen
    if rlen:
        memcpy(m.routing_id, routing_id, rlen)
    m.routing_id_len = rlen
    m.zap_wanted = dlen > 0         # NULL consults ZAP only with a domain (libzmq)
    return ZX_OK


cdef void zx_mech_destroy(zx_mech *m) noexcept nogil:
    if m.meta != NULL:
        free(m.meta)
    if m.peer_meta != NULL:
        free(m.peer_meta)
    if m.user_id != NULL:
        free(m.user_id)
    if m.zap_meta != NULL:
        free(m.zap_meta)
    if m.out_buf != NULL:
        free(m.out_buf)         # ciphertext only: nothing secret to wipe
    crypto_wipe(m, sizeof(zx_mech))


cdef int zx_mech_status(const zx_mech *m) noexcept nogil:
    if m.state == _ST_DONE:
        return ZX_MS_READY
    if m.state == _ST_FAILED:
        return ZX_MS_ERROR
    if m.state == _ST_ZAP_HELLO or m.state == _ST_ZAP_INITIATE or m.state == _ST_NULL_ZAP:
        return ZX_MS_ZAP
    return ZX_MS_HANDSHAKING


# ---------------------------------------------------------------- NULL

cdef int _null_next(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    cdef int rc
    if m.state == _ST_NULL_ZAP or m.sent_ready:
        return ZX_NEED_MORE
    if m.zap_wanted:
        m.state = _ST_NULL_ZAP
        return ZX_MECH_NEED_ZAP
    rc = _encode_simple(m, "\x05READY", 6, m.meta, m.metalen, out, cap, n)
    if rc != ZX_OK:
        return rc
    m.sent_ready = True
    if m.got_ready:
        m.state = _ST_DONE
    return ZX_OK


cdef int _null_feed(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    cdef int rc
    if not _starts(body, n, "\x05READY", 6) or m.got_ready:
        return _fail(m, ZX_ERR_PROTOCOL, "unexpected command in the NULL handshake", NULL)
    rc = _accept_meta(m, body + 6, n - 6, True)
    if rc != ZX_OK:
        return rc
    m.got_ready = True
    if m.sent_ready:
        m.state = _ST_DONE
    return ZX_OK


# ---------------------------------------------------------------- dispatch

cdef int zx_mech_next(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    """Write the next command frame (header included) into out[0:cap]. ZX_OK with *n its
    size; ZX_NEED_MORE: nothing to send now; ZX_MECH_NEED_ZAP: run ZAP first;
    ZX_ERR_NOSPACE: *n is the size needed, nothing changed; other < 0: failed."""
    cdef int rc
    n[0] = 0
    if m.state == _ST_FAILED:
        if m.error_out != NULL:
            rc = _encode_error(m, out, cap, n)
            if rc == ZX_OK:
                m.error_out = NULL
            return rc
        return m.error
    if m.state == _ST_DONE:
        return ZX_NEED_MORE
    if m.kind == ZX_MECH_NULL:
        return _null_next(m, out, cap, n)
    if m.kind == ZX_MECH_PLAIN:
        return _plain_next(m, out, cap, n)
    return _curve_next(m, out, cap, n)


cdef int _encode_error(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    cdef size_t rl = strlen(m.error_out)
    cdef size_t hdr
    cdef size_t pl = 6
    cdef int rc
    if m.kind == ZX_MECH_PLAIN:
        pl = 5          # libzmq 4.3.5's PLAIN spelling, see _LIBZMQ_PLAIN_ERROR
    rc = _frame_begin(out, cap, pl + 1 + rl, n, &hdr)
    if rc != ZX_OK:
        return rc
    if m.kind == ZX_MECH_PLAIN:
        memcpy(out + hdr, _LIBZMQ_PLAIN_ERROR, 5)
    else:
        memcpy(out + hdr, "\x05ERROR", 6)
    out[hdr + pl] = <unsigned char>rl
    memcpy(out + hdr + pl + 1, m.error_out, rl)
    return ZX_OK


cdef int zx_mech_feed(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    """One complete command frame body from the peer. ZX_OK, ZX_MECH_NEED_ZAP, or < 0
    (failed: drain next() for a due ERROR, then close)."""
    cdef const unsigned char *name
    cdef const unsigned char *data
    cdef size_t namelen, datalen
    if m.state == _ST_FAILED:
        return m.error
    if m.state == _ST_DONE:
        return _fail(m, ZX_ERR_PROTOCOL, "handshake command after the handshake", NULL)
    if _starts(body, n, _LIBZMQ_PLAIN_ERROR, 5):
        return _peer_error(m, body + 5, n - 5)
    if zx_command_split(body, n, &name, &namelen, &data, &datalen) != ZX_OK:
        return _fail(m, ZX_ERR_PROTOCOL, "malformed command", NULL)
    if zx_command_is(name, namelen, "ERROR"):
        return _peer_error(m, data, datalen)
    if m.kind == ZX_MECH_NULL:
        return _null_feed(m, body, n)
    if m.kind == ZX_MECH_PLAIN:
        return _plain_feed(m, body, n)
    return _curve_feed(m, body, n)


# ---------------------------------------------------------------- ZAP hooks

cdef int zx_mech_zap_request(const zx_mech *m, zx_zap_request *r) noexcept nogil:
    """Fill r with the fields of the ZAP request due now (status ZX_MS_ZAP). Pointers
    stay valid until the next call on m."""
    if zx_mech_status(m) != ZX_MS_ZAP:
        return ZX_ERR_PROTOCOL
    r.domain = <const unsigned char *>m.zap_domain
    r.domain_len = m.zap_domain_len
    r.identity = <const unsigned char *>m.routing_id
    r.identity_len = m.routing_id_len
    r.mechanism = zx_mech_name(m.kind)
    r.ncred = 0
    if m.kind == ZX_MECH_PLAIN:
        r.ncred = 2
        r.cred[0] = <const unsigned char *>m.username
        r.cred_len[0] = m.username_len
        r.cred[1] = <const unsigned char *>m.password
        r.cred_len[1] = m.password_len
    elif m.kind == ZX_MECH_CURVE:
        r.ncred = 1
        r.cred[0] = <const unsigned char *>m.client_key
        r.cred_len[0] = 32
    return ZX_OK


cdef void _zap_passed(zx_mech *m) noexcept nogil:
    if m.state == _ST_ZAP_HELLO:
        m.state = _ST_SEND_WELCOME
    elif m.state == _ST_ZAP_INITIATE:
        m.state = _ST_SEND_READY
    else:
        m.zap_wanted = False
        m.state = _ST_NULL


cdef int zx_mech_zap_reply(zx_mech *m, int status_code, const unsigned char *user_id,
                           size_t uidlen, const unsigned char *meta, size_t metalen) noexcept nogil:
    """The handler's verdict. 200: go on (call next()); 300: fail silently; 400/500: fail
    with ERROR "<code>" due (libzmq's zap_client rules). Bad metadata fails the handshake."""
    if zx_mech_status(m) != ZX_MS_ZAP:
        return ZX_ERR_PROTOCOL
    if zx_metadata_validate(meta, metalen) != ZX_OK:
        return _fail(m, ZX_ERR_PROTOCOL, "malformed ZAP metadata", NULL)
    if status_code == 200:
        m.user_id = _dup(user_id, uidlen)
        m.zap_meta = _dup(meta, metalen)
        if m.user_id == NULL or m.zap_meta == NULL:
            return _fail(m, ZX_ERR_PROTOCOL, "out of memory", NULL)
        m.user_id_len = uidlen
        m.zap_metalen = metalen
        _zap_passed(m)
        return ZX_OK
    if status_code == 300:
        return _fail(m, ZX_ERR_AUTH, "ZAP temporary failure (300)", NULL)
    if status_code == 400:
        return _fail(m, ZX_ERR_AUTH, "ZAP denied (400)", "400")
    if status_code == 500:
        return _fail(m, ZX_ERR_AUTH, "ZAP internal error (500)", "500")
    return _fail(m, ZX_ERR_PROTOCOL, "invalid ZAP status code", NULL)


cdef int zx_mech_zap_absent(zx_mech *m, bint enforce_domain) noexcept nogil:
    """No handler is bound at inproc://zeromq.zap.01. libzmq 4.3.5: PLAIN fails; CURVE and
    NULL go on (CURVE without client authentication) unless ZAP_ENFORCE_DOMAIN is set."""
    if zx_mech_status(m) != ZX_MS_ZAP:
        return ZX_ERR_PROTOCOL
    if m.kind == ZX_MECH_PLAIN or enforce_domain:
        return _fail(m, ZX_ERR_ZAP, "no ZAP handler", NULL)
    _zap_passed(m)
    return ZX_OK


# ================================================================ Python wrappers

MECH_NULL = ZX_MECH_NULL
MECH_PLAIN = ZX_MECH_PLAIN
MECH_CURVE = ZX_MECH_CURVE
HANDSHAKING = ZX_MS_HANDSHAKING
ZAP = ZX_MS_ZAP
READY = ZX_MS_READY
ERROR = ZX_MS_ERROR
NEED_ZAP = ZX_MECH_NEED_ZAP
ERR_NOSPACE = ZX_ERR_NOSPACE
ERR_AUTH = ZX_ERR_AUTH
ERR_ZAP = ZX_ERR_ZAP
ERR_CRYPTO = ZX_ERR_CRYPTO
CURVE_MSG_OVERHEAD = ZX_CURVE_MSG_OVERHEAD


cdef const unsigned char *_ptr(bytes b) noexcept:
    return <const unsigned char *>PyBytes_AS_STRING(b)


cdef object _meta_dict(const unsigned char *p, size_t n):
    from zmqx._core.zmtp import parse_metadata
    return parse_metadata(PyBytes_FromStringAndSize(<const char *>p, n)) if p != NULL else {}


cdef class Mechanism:
    """One side of a mechanism handshake over zx_mech, for tests and tools.

    next_frame() returns the next command frame to send (None when nothing is due), feed()
    takes a command frame body. Errors raise zmtp.ProtocolError (.code = ZX_ERR_*); a due
    ERROR command is still returned by next_frame() after a failure."""

    cdef zx_mech _m
    cdef bytearray _out

    def __init__(self, int kind, bint as_server, int socktype, identity=b"", *,
                 metadata=b"", username=b"", password=b"", public_key=None,
                 secret_key=None, server_key=None, zap_domain=b"", routing_id=b""):
        cdef bytes ident = bytes(identity), md = bytes(metadata)
        cdef bytes u = bytes(username), pw = bytes(password)
        cdef bytes dom = bytes(zap_domain), rid = bytes(routing_id)
        cdef bytes pk, sk, srv
        cdef int rc
        self._out = bytearray(1024)
        rc = zx_mech_init(&self._m, kind, as_server, socktype, _ptr(ident), len(ident))
        if rc < 0:
            raise ValueError("bad mechanism, socket type or identity")
        if zx_mech_set_metadata(&self._m, _ptr(md), len(md)) != ZX_OK:
            raise ValueError("malformed metadata")
        if zx_mech_set_zap(&self._m, _ptr(dom), len(dom), _ptr(rid), len(rid)) != ZX_OK:
            raise ValueError("ZAP domain or routing id longer than 255 bytes")
        if kind == ZX_MECH_PLAIN and not as_server:
            if zx_mech_set_plain(&self._m, _ptr(u), len(u), _ptr(pw), len(pw)) != ZX_OK:
                raise ValueError("username or password longer than 255 bytes")
        if kind == ZX_MECH_CURVE:
            pk = bytes(public_key) if public_key is not None else b""
            sk = bytes(secret_key) if secret_key is not None else b""
            srv = bytes(server_key) if server_key is not None else b"\0" * 32
            if len(pk) != 32 or len(sk) != 32 or len(srv) != 32:
                raise ValueError("CURVE keys must be 32 bytes")
            if zx_mech_set_curve(&self._m, <const uint8_t *>_ptr(pk), <const uint8_t *>_ptr(sk),
                                 <const uint8_t *>_ptr(srv)) != ZX_OK:
                raise ValueError("bad CURVE keys")

    def __dealloc__(self):
        zx_mech_destroy(&self._m)

    def next_frame(self):
        cdef size_t n = 0
        cdef int rc
        while True:
            rc = zx_mech_next(&self._m, <unsigned char *><char *>self._out, len(self._out), &n)
            if rc == ZX_ERR_NOSPACE:
                self._out = bytearray(n)
                continue
            break
        if rc == ZX_OK:
            return bytes(self._out[:n])
        if rc < 0:
            raise ProtocolError(rc, (<bytes>self._m.reason).decode() if self._m.reason else None)
        return None

    def data_to_send(self):
        """All frames due now, concatenated (stops quietly at an error or ZAP)."""
        out = b""
        while True:
            try:
                f = self.next_frame()
            except ProtocolError:
                return out
            if f is None:
                return out
            out += f

    def feed(self, body):
        """A command frame body. Returns NEED_ZAP or OK; raises ProtocolError."""
        cdef bytes b = bytes(body)
        cdef int rc = zx_mech_feed(&self._m, _ptr(b), len(b))
        if rc < 0:
            raise ProtocolError(rc, (<bytes>self._m.reason).decode() if self._m.reason else None)
        return rc

    def zap_request(self):
        cdef zx_zap_request r
        if zx_mech_zap_request(&self._m, &r) != ZX_OK:
            raise ValueError("no ZAP request due")
        creds = [PyBytes_FromStringAndSize(<const char *>r.cred[i], r.cred_len[i])
                 for i in range(r.ncred)]
        return {
            "domain": PyBytes_FromStringAndSize(<const char *>r.domain, r.domain_len),
            "identity": PyBytes_FromStringAndSize(<const char *>r.identity, r.identity_len),
            "mechanism": <bytes>r.mechanism,
            "credentials": creds,
        }

    def zap_reply(self, int status, user_id=b"", metadata=b""):
        cdef bytes u = bytes(user_id), md = bytes(metadata)
        cdef int rc = zx_mech_zap_reply(&self._m, status, _ptr(u), len(u), _ptr(md), len(md))
        if rc < 0:
            raise ProtocolError(rc, (<bytes>self._m.reason).decode() if self._m.reason else None)
        return rc

    def zap_absent(self, bint enforce_domain=False):
        cdef int rc = zx_mech_zap_absent(&self._m, enforce_domain)
        if rc < 0:
            raise ProtocolError(rc, (<bytes>self._m.reason).decode() if self._m.reason else None)
        return rc

    def encode_message(self, payload, bint more=False, bint command=False):
        """One frame boxed as a MESSAGE command frame (CURVE, after the handshake)."""
        cdef bytes p = bytes(payload)
        cdef size_t cap = len(p) + ZX_CURVE_MSG_OVERHEAD
        cdef bytes out = PyBytes_FromStringAndSize(NULL, cap)
        cdef size_t n = 0
        cdef uint8_t flags = (ZX_FLAG_MORE if more else 0) | (ZX_FLAG_COMMAND if command else 0)
        cdef int rc = zx_mech_encode_message(&self._m, flags, _ptr(p), len(p),
                                             <unsigned char *>PyBytes_AS_STRING(out), cap, &n)
        if rc < 0:
            raise ProtocolError(rc, (<bytes>self._m.reason).decode() if self._m.reason else None)
        return out[:n]

    def decode_message(self, body):
        """(payload, more, command) from a MESSAGE command body; raises ProtocolError."""
        cdef bytes b = bytes(body)
        cdef size_t cap = len(b)
        cdef bytes out = PyBytes_FromStringAndSize(NULL, cap if cap else 1)
        cdef size_t plen = 0
        cdef uint8_t flags = 0
        cdef int rc = zx_mech_decode_message(&self._m, _ptr(b), len(b),
                                             <unsigned char *>PyBytes_AS_STRING(out), cap,
                                             &plen, &flags)
        if rc < 0:
            raise ProtocolError(rc, (<bytes>self._m.reason).decode() if self._m.reason else None)
        return out[1:1 + plen], bool(flags & ZX_FLAG_MORE), bool(flags & ZX_FLAG_COMMAND)

    @property
    def status(self):
        return zx_mech_status(&self._m)

    @property
    def error(self):
        return self._m.error

    @property
    def reason(self):
        return None if self._m.reason == NULL else (<bytes>self._m.reason).decode()

    @property
    def peer_socktype(self):
        return self._m.peer_socktype

    @property
    def peer_identity(self):
        return PyBytes_FromStringAndSize(<char *>self._m.peer_identity, self._m.peer_identity_len)

    @property
    def peer_metadata(self):
        return _meta_dict(self._m.peer_meta, self._m.peer_metalen)

    @property
    def peer_error_reason(self):
        return PyBytes_FromStringAndSize(<char *>self._m.peer_reason, self._m.peer_reason_len)

    @property
    def user_id(self):
        if self._m.user_id == NULL:
            return None
        return PyBytes_FromStringAndSize(<char *>self._m.user_id, self._m.user_id_len)

    @property
    def zap_metadata(self):
        return _meta_dict(self._m.zap_meta, self._m.zap_metalen)

    @property
    def client_key(self):
        return PyBytes_FromStringAndSize(<char *>self._m.client_key, 32)

    def _short_secret(self):
        """Our short-term secret key as it is held now (tests check it was wiped)."""
        return PyBytes_FromStringAndSize(<char *>self._m.cn_secret, 32)

    def _cookie_key(self):
        return PyBytes_FromStringAndSize(<char *>self._m.cookie_key, 32)


def mechanism_name(int kind):
    cdef const char *s = zx_mech_name(kind)
    return None if s == NULL else <bytes>s


def _next_capped(Mechanism mech, Py_ssize_t cap):
    """zx_mech_next into a buffer of `cap` bytes followed by 64 guard bytes: (n, frame,
    guard intact); n is -needed when the buffer was too small. For the overflow tests."""
    cdef bytearray buf = bytearray(b"\xAA" * (cap + 64))
    cdef size_t n = 0
    cdef int rc = zx_mech_next(&mech._m, <unsigned char *><char *>buf, cap, &n)
    guard = bytes(buf[cap:]) == b"\xAA" * 64
    if rc == ZX_ERR_NOSPACE:
        return -<Py_ssize_t>n, b"", guard
    if rc != ZX_OK:
        raise ProtocolError(rc)
    return <Py_ssize_t>n, bytes(buf[:n]), guard
