# cython: language_level=3
# ZMTP 3.x codec, sans-I/O.
#
# Nothing here reads or writes a socket, takes a lock or looks at a clock: every function
# is a pure function of the bytes it is given (plus a small caller-owned state struct for
# the handshake). That is what lets the I/O thread call it without the GIL, from whatever
# read/writev loop it runs, and what lets tests (tests/test_zmtp.py) drive it byte by byte, with any
# fragmentation and any garbage, without opening a connection. The wire rules are those of
# the project's ZMTP reference (ZMTP.md, sections 4.1-4.7), checked against libzmq.
#
# Older peers (libzmq's staged greeting, ZMTP 1.0/2.0 framing) and the reservation rule for
# declared frame sizes live in zmtp_legacy.pxi, included at the end of this file.
#
# The C layer (the cdef functions declared in zmtp.pxd) is what the engine uses. The Python
# classes and functions at the end are thin wrappers over it, for tests and for tools.

from libc.stdint cimport uint8_t, uint16_t, uint32_t, uint64_t, int64_t
from libc.string cimport memcpy, memset, memcmp, strlen
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING

cdef enum:
    _ZX_MAX_COMMAND = 1 << 20       # largest command frame body we accept (1 MiB)
    _ZX_RESERVED_FLAGS = 0xF8
    _ZX_MAX_PING_CTX = 16


# ---------------------------------------------------------------- small helpers (C only)

cdef inline uint64_t _get_u64(const unsigned char *p) noexcept nogil:
    return ((<uint64_t>p[0] << 56) | (<uint64_t>p[1] << 48) | (<uint64_t>p[2] << 40) |
            (<uint64_t>p[3] << 32) | (<uint64_t>p[4] << 24) | (<uint64_t>p[5] << 16) |
            (<uint64_t>p[6] << 8) | <uint64_t>p[7])


cdef inline void _put_u64(unsigned char *p, uint64_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 56)
    p[1] = <unsigned char>(v >> 48)
    p[2] = <unsigned char>(v >> 40)
    p[3] = <unsigned char>(v >> 32)
    p[4] = <unsigned char>(v >> 24)
    p[5] = <unsigned char>(v >> 16)
    p[6] = <unsigned char>(v >> 8)
    p[7] = <unsigned char>v


cdef inline uint32_t _get_u32(const unsigned char *p) noexcept nogil:
    return ((<uint32_t>p[0] << 24) | (<uint32_t>p[1] << 16) |
            (<uint32_t>p[2] << 8) | <uint32_t>p[3])


cdef inline void _put_u32(unsigned char *p, uint32_t v) noexcept nogil:
    p[0] = <unsigned char>(v >> 24)
    p[1] = <unsigned char>(v >> 16)
    p[2] = <unsigned char>(v >> 8)
    p[3] = <unsigned char>v


cdef inline bint _is_alpha(unsigned char c) noexcept nogil:
    return (c >= 65 and c <= 90) or (c >= 97 and c <= 122)


cdef inline bint _is_digit(unsigned char c) noexcept nogil:
    return c >= 48 and c <= 57


cdef inline bint _is_mech_char(unsigned char c) noexcept nogil:
    # greeting mechanism: A-Z 0-9 - _ . +
    return (c >= 65 and c <= 90) or _is_digit(c) or c == 45 or c == 95 or c == 46 or c == 43


cdef inline bint _is_prop_char(unsigned char c) noexcept nogil:
    # metadata property name: ALPHA DIGIT - _ . +
    return _is_alpha(c) or _is_digit(c) or c == 45 or c == 95 or c == 46 or c == 43


cdef inline unsigned char _lower(unsigned char c) noexcept nogil:
    if c >= 65 and c <= 90:
        return c + 32
    return c


cdef size_t _cmd_begin(unsigned char *out, size_t cap, const char *name,
                       size_t namelen, size_t datalen) noexcept nogil:
    """Write the frame header, name-len and name of a command whose data is `datalen`
    bytes. Returns the offset where the data goes, or 0 if the frame would not fit."""
    cdef size_t body, hdr
    if namelen == 0 or namelen > 255:
        return 0
    if datalen > (<size_t>-1) - 512:
        return 0
    body = 1 + namelen + datalen
    hdr = 2 if body <= 255 else 9
    if hdr + body > cap or hdr + body < body:
        return 0
    zx_frame_header_encode(out, ZX_FLAG_COMMAND, body)
    out[hdr] = <unsigned char>namelen
    memcpy(out + hdr + 1, name, namelen)
    return hdr + 1 + namelen


cdef size_t zx_prop_encode(unsigned char *p, const char *name,
                           const unsigned char *val, size_t vallen) noexcept nogil:
    cdef size_t nl = strlen(name)
    p[0] = <unsigned char>nl
    memcpy(p + 1, name, nl)
    _put_u32(p + 1 + nl, <uint32_t>vallen)
    if vallen:
        memcpy(p + 5 + nl, val, vallen)
    return 5 + nl + vallen


cdef bint zx_sends_identity(int socktype) noexcept nogil:
    # libzmq mechanism.cpp::add_basic_properties: REQ, DEALER and ROUTER only
    return socktype == ZX_REQ or socktype == ZX_DEALER or socktype == ZX_ROUTER


# ---------------------------------------------------------------- frames

cdef size_t zx_frame_header_encode(unsigned char *out, uint8_t flags, uint64_t size) noexcept nogil:
    if size > 255:
        out[0] = flags | ZX_FLAG_LONG
        _put_u64(out + 1, size)
        return 9
    out[0] = flags & ~(<uint8_t>ZX_FLAG_LONG)
    out[1] = <unsigned char>size
    return 2


cdef int zx_frame_header_decode(const unsigned char *p, size_t n, int64_t maxsize,
                                uint8_t *flags, uint64_t *size, size_t *hdrlen) noexcept nogil:
    cdef uint8_t f
    cdef uint64_t sz
    cdef size_t hl
    if n < 1:
        return ZX_NEED_MORE
    f = p[0]
    if f & _ZX_RESERVED_FLAGS:
        return ZX_ERR_PROTOCOL
    if (f & ZX_FLAG_COMMAND) and (f & ZX_FLAG_MORE):
        return ZX_ERR_PROTOCOL
    if f & ZX_FLAG_LONG:
        if n < 9:
            return ZX_NEED_MORE
        sz = _get_u64(p + 1)
        if sz >> 63:
            return ZX_ERR_PROTOCOL
        hl = 9
    else:
        if n < 2:
            return ZX_NEED_MORE
        sz = p[1]
        hl = 2
    if f & ZX_FLAG_COMMAND:
        if sz > _ZX_MAX_COMMAND:
            return ZX_ERR_PROTOCOL
    elif maxsize >= 0 and sz > <uint64_t>maxsize:
        return ZX_ERR_TOO_BIG
    flags[0] = f
    size[0] = sz
    hdrlen[0] = hl
    return ZX_OK


# ---------------------------------------------------------------- commands

cdef int zx_command_split(const unsigned char *body, size_t n,
                          const unsigned char **name, size_t *namelen,
                          const unsigned char **data, size_t *datalen) noexcept nogil:
    cdef size_t nl, i
    if n < 1:
        return ZX_ERR_PROTOCOL
    nl = body[0]
    if nl == 0 or nl > n - 1:
        return ZX_ERR_PROTOCOL
    for i in range(1, nl + 1):
        if not _is_alpha(body[i]):
            return ZX_ERR_PROTOCOL
    name[0] = body + 1
    namelen[0] = nl
    data[0] = body + 1 + nl
    datalen[0] = n - 1 - nl
    return ZX_OK


cdef bint zx_command_is(const unsigned char *name, size_t namelen, const char *cname) noexcept nogil:
    cdef size_t cl = strlen(cname)
    return cl == namelen and memcmp(name, cname, cl) == 0


cdef size_t zx_command_encode(unsigned char *out, size_t cap, const char *name,
                              const unsigned char *data, size_t datalen) noexcept nogil:
    cdef size_t off = _cmd_begin(out, cap, name, strlen(name), datalen)
    if off == 0:
        return 0
    if datalen:
        memcpy(out + off, data, datalen)
    return off + datalen


cdef size_t zx_error_encode(unsigned char *out, size_t cap, const char *reason) noexcept nogil:
    cdef size_t rl = strlen(reason) if reason != NULL else 0
    cdef size_t off
    if rl > 255:
        rl = 255
    off = _cmd_begin(out, cap, "ERROR", 5, 1 + rl)
    if off == 0:
        return 0
    out[off] = <unsigned char>rl
    if rl:
        memcpy(out + off + 1, reason, rl)
    return off + 1 + rl


cdef size_t zx_ping_encode(unsigned char *out, size_t cap, uint16_t ttl_ds,
                           const unsigned char *ctx, size_t ctxlen) noexcept nogil:
    cdef size_t off
    if ctxlen > _ZX_MAX_PING_CTX:
        ctxlen = _ZX_MAX_PING_CTX
    off = _cmd_begin(out, cap, "PING", 4, 2 + ctxlen)
    if off == 0:
        return 0
    out[off] = <unsigned char>(ttl_ds >> 8)
    out[off + 1] = <unsigned char>ttl_ds
    if ctxlen:
        memcpy(out + off + 2, ctx, ctxlen)
    return off + 2 + ctxlen


cdef int zx_ping_decode(const unsigned char *data, size_t n, uint16_t *ttl_ds,
                        const unsigned char **ctx, size_t *ctxlen) noexcept nogil:
    if n < 2:
        return ZX_ERR_PROTOCOL
    ttl_ds[0] = <uint16_t>((<uint16_t>data[0] << 8) | data[1])
    ctx[0] = data + 2
    ctxlen[0] = n - 2
    return ZX_OK


cdef size_t zx_pong_encode(unsigned char *out, size_t cap,
                           const unsigned char *ctx, size_t ctxlen) noexcept nogil:
    cdef size_t off
    if ctxlen > _ZX_MAX_PING_CTX:
        ctxlen = _ZX_MAX_PING_CTX
    off = _cmd_begin(out, cap, "PONG", 4, ctxlen)
    if off == 0:
        return 0
    if ctxlen:
        memcpy(out + off, ctx, ctxlen)
    return off + ctxlen


# ---------------------------------------------------------------- metadata

cdef int _metadata_next(const unsigned char *p, size_t n, size_t *off,
                        const unsigned char **name, size_t *namelen,
                        const unsigned char **val, size_t *vallen) noexcept nogil:
    """Parse the property at p[off[0]:]; advances off. ZX_OK or ZX_ERR_PROTOCOL."""
    cdef size_t o = off[0]
    cdef size_t nl, i
    cdef uint32_t vl
    if o >= n:
        return ZX_ERR_PROTOCOL
    nl = p[o]
    o += 1
    if nl == 0 or nl > n - o:
        return ZX_ERR_PROTOCOL
    for i in range(o, o + nl):
        if not _is_prop_char(p[i]):
            return ZX_ERR_PROTOCOL
    name[0] = p + o
    namelen[0] = nl
    o += nl
    if n - o < 4:
        return ZX_ERR_PROTOCOL
    vl = _get_u32(p + o)
    o += 4
    if vl >= 0x80000000u or vl > n - o:
        return ZX_ERR_PROTOCOL
    val[0] = p + o
    vallen[0] = vl
    off[0] = o + vl
    return ZX_OK


cdef int zx_metadata_validate(const unsigned char *p, size_t n) noexcept nogil:
    cdef size_t off = 0
    cdef const unsigned char *nm
    cdef const unsigned char *v
    cdef size_t nl, vl
    while off < n:
        if _metadata_next(p, n, &off, &nm, &nl, &v, &vl) != ZX_OK:
            return ZX_ERR_PROTOCOL
    return ZX_OK


cdef int zx_metadata_find(const unsigned char *p, size_t n, const char *name,
                          const unsigned char **val, size_t *vallen) noexcept nogil:
    cdef size_t off = 0
    cdef size_t want = strlen(name)
    cdef const unsigned char *nm
    cdef const unsigned char *v
    cdef size_t nl, vl, i
    cdef bint same
    if zx_metadata_validate(p, n) != ZX_OK:
        return ZX_ERR_PROTOCOL
    while off < n:
        _metadata_next(p, n, &off, &nm, &nl, &v, &vl)
        if nl != want:
            continue
        same = True
        for i in range(nl):
            if _lower(nm[i]) != _lower(<unsigned char>name[i]):
                same = False
                break
        if same:
            val[0] = v
            vallen[0] = vl
            return ZX_OK
    return ZX_NEED_MORE


cdef size_t zx_ready_encode(unsigned char *out, size_t cap, int socktype,
                            const unsigned char *identity, size_t idlen) noexcept nogil:
    cdef const char *st = zx_socktype_name(socktype)
    cdef size_t stl, datalen, off
    cdef bint with_id
    if st == NULL or idlen > ZX_MAX_IDENTITY:
        return 0
    stl = strlen(st)
    with_id = zx_sends_identity(socktype)
    datalen = 5 + 11 + stl
    if with_id:
        datalen += 5 + 8 + idlen
    off = _cmd_begin(out, cap, "READY", 5, datalen)
    if off == 0:
        return 0
    off += zx_prop_encode(out + off, "Socket-Type", <const unsigned char *>st, stl)
    if with_id:
        off += zx_prop_encode(out + off, "Identity", identity, idlen)
    return off


# ---------------------------------------------------------------- socket types

cdef const char *zx_socktype_name(int socktype) noexcept nogil:
    # a switch over literals, so it needs no module initialisation before use
    if socktype == ZX_PAIR:
        return "PAIR"
    if socktype == ZX_PUB:
        return "PUB"
    if socktype == ZX_SUB:
        return "SUB"
    if socktype == ZX_REQ:
        return "REQ"
    if socktype == ZX_REP:
        return "REP"
    if socktype == ZX_DEALER:
        return "DEALER"
    if socktype == ZX_ROUTER:
        return "ROUTER"
    if socktype == ZX_PULL:
        return "PULL"
    if socktype == ZX_PUSH:
        return "PUSH"
    if socktype == ZX_XPUB:
        return "XPUB"
    if socktype == ZX_XSUB:
        return "XSUB"
    if socktype == ZX_STREAM:
        return "STREAM"
    if socktype == ZX_SERVER:
        return "SERVER"
    if socktype == ZX_CLIENT:
        return "CLIENT"
    if socktype == ZX_RADIO:
        return "RADIO"
    if socktype == ZX_DISH:
        return "DISH"
    if socktype == ZX_GATHER:
        return "GATHER"
    if socktype == ZX_SCATTER:
        return "SCATTER"
    if socktype == ZX_DGRAM:
        return "DGRAM"
    if socktype == ZX_PEER:
        return "PEER"
    if socktype == ZX_CHANNEL:
        return "CHANNEL"
    return NULL


cdef int zx_socktype_from_name(const unsigned char *name, size_t n) noexcept nogil:
    cdef int t
    for t in range(ZX_CHANNEL + 1):
        if zx_socktype_name(t) != NULL and zx_command_is(name, n, zx_socktype_name(t)):
            return t
    return -1


cdef bint zx_socktype_compatible(int ours, int peer) noexcept nogil:
    if ours == ZX_REQ:
        return peer == ZX_REP or peer == ZX_ROUTER
    if ours == ZX_REP:
        return peer == ZX_REQ or peer == ZX_DEALER
    if ours == ZX_DEALER:
        return peer == ZX_REP or peer == ZX_DEALER or peer == ZX_ROUTER
    if ours == ZX_ROUTER:
        return peer == ZX_REQ or peer == ZX_DEALER or peer == ZX_ROUTER
    if ours == ZX_PUB or ours == ZX_XPUB:
        return peer == ZX_SUB or peer == ZX_XSUB
    if ours == ZX_SUB or ours == ZX_XSUB:
        return peer == ZX_PUB or peer == ZX_XPUB
    if ours == ZX_PUSH:
        return peer == ZX_PULL
    if ours == ZX_PULL:
        return peer == ZX_PUSH
    if ours == ZX_PAIR:
        return peer == ZX_PAIR
    # the draft types pair off as libzmq's: one partner type each
    if ours == ZX_SERVER:
        return peer == ZX_CLIENT
    if ours == ZX_CLIENT:
        return peer == ZX_SERVER
    if ours == ZX_RADIO:
        return peer == ZX_DISH
    if ours == ZX_DISH:
        return peer == ZX_RADIO
    if ours == ZX_GATHER:
        return peer == ZX_SCATTER
    if ours == ZX_SCATTER:
        return peer == ZX_GATHER
    if ours == ZX_PEER or ours == ZX_CHANNEL or ours == ZX_DGRAM:
        return peer == ours
    return False            # STREAM and anything unknown


# ================================================================ Python wrappers

PAIR = ZX_PAIR
PUB = ZX_PUB
SUB = ZX_SUB
REQ = ZX_REQ
REP = ZX_REP
DEALER = ZX_DEALER
ROUTER = ZX_ROUTER
PULL = ZX_PULL
PUSH = ZX_PUSH
XPUB = ZX_XPUB
XSUB = ZX_XSUB
STREAM = ZX_STREAM
SERVER = ZX_SERVER
CLIENT = ZX_CLIENT
RADIO = ZX_RADIO
DISH = ZX_DISH
GATHER = ZX_GATHER
SCATTER = ZX_SCATTER
DGRAM = ZX_DGRAM
PEER = ZX_PEER
CHANNEL = ZX_CHANNEL

OK = ZX_OK
NEED_MORE = ZX_NEED_MORE
ERR_PROTOCOL = ZX_ERR_PROTOCOL
ERR_TOO_BIG = ZX_ERR_TOO_BIG
ERR_MECHANISM = ZX_ERR_MECHANISM
ERR_SOCKTYPE = ZX_ERR_SOCKTYPE
ERR_VERSION = ZX_ERR_VERSION
ERR_PEER_ERROR = ZX_ERR_PEER_ERROR
ERR_NOSPACE = ZX_ERR_NOSPACE
ERR_AUTH = ZX_ERR_AUTH
ERR_ZAP = ZX_ERR_ZAP
ERR_CRYPTO = ZX_ERR_CRYPTO
ERR_ZAP_REPLY = ZX_ERR_ZAP_REPLY
ZMTP_10_UNVERSIONED = ZX_ZMTP_10_UNVERSIONED
ZMTP_10 = ZX_ZMTP_10
ZMTP_20 = ZX_ZMTP_20
ZMTP_30 = ZX_ZMTP_30
ZMTP_31 = ZX_ZMTP_31
RESERVE_STEP = ZX_RESERVE_STEP

GREETING_SIZE = ZX_GREETING_SIZE
MAX_COMMAND_SIZE = _ZX_MAX_COMMAND

_ERR_TEXT = {
    ZX_ERR_PROTOCOL: "malformed ZMTP input",
    ZX_ERR_TOO_BIG: "frame larger than maxmsgsize",
    ZX_ERR_MECHANISM: "peer announced another security mechanism",
    ZX_ERR_SOCKTYPE: "incompatible socket type",
    ZX_ERR_VERSION: "peer speaks ZMTP < 3.0",
    ZX_ERR_PEER_ERROR: "peer sent an ERROR command",
    ZX_ERR_NOSPACE: "output buffer too small",
    ZX_ERR_AUTH: "authentication refused",
    ZX_ERR_ZAP: "no ZAP handler",
    ZX_ERR_CRYPTO: "cryptographic check failed",
    ZX_ERR_ZAP_REPLY: "malformed ZAP reply",
}


class ProtocolError(Exception):
    """Bad bytes from the peer (or a refused handshake); .code is the ZX_ERR_* value.
    Raised by Decoder.feed, .events holds the events decoded before the bad bytes in that
    same call (a peer's good messages are not lost because garbage followed them)."""

    def __init__(self, code, message=None, events=None):
        self.code = code
        self.events = events if events is not None else []
        super().__init__(message or _ERR_TEXT.get(code, "ZMTP error %d" % code))


cdef inline bytes _buf(Py_ssize_t n):
    return PyBytes_FromStringAndSize(NULL, n)


cdef bytes _cstr(object name):
    """bytes without NUL, for APIs that take a C string."""
    cdef bytes b = bytes(name)
    if b"\0" in b:
        raise ValueError("NUL byte in name")
    return b


def encode_frame_header(Py_ssize_t size, bint more=False, bint command=False):
    cdef unsigned char hdr[9]
    cdef uint8_t flags = (ZX_FLAG_MORE if more else 0) | (ZX_FLAG_COMMAND if command else 0)
    if size < 0:
        raise ValueError("negative size")
    cdef size_t n = zx_frame_header_encode(hdr, flags, <uint64_t>size)
    return PyBytes_FromStringAndSize(<char *>hdr, n)


def encode_frame(body, bint more=False, bint command=False):
    body = bytes(body)
    return encode_frame_header(len(body), more, command) + body


def decode_frame_header(data, Py_ssize_t maxsize=-1):
    """(flags, size, hdrlen), None when incomplete; raises ProtocolError."""
    cdef bytes b = bytes(data)
    cdef uint8_t flags = 0
    cdef uint64_t size = 0
    cdef size_t hdrlen = 0
    cdef int rc = zx_frame_header_decode(<const unsigned char *>PyBytes_AS_STRING(b), len(b),
                                         maxsize, &flags, &size, &hdrlen)
    if rc < 0:
        raise ProtocolError(rc)
    if rc == ZX_NEED_MORE:
        return None
    return flags, size, hdrlen


def split_command(body):
    """(name, data) of a command frame body; raises ProtocolError."""
    cdef bytes b = bytes(body)
    cdef const unsigned char *base = <const unsigned char *>PyBytes_AS_STRING(b)
    cdef const unsigned char *name
    cdef const unsigned char *data
    cdef size_t namelen, datalen
    if zx_command_split(base, len(b), &name, &namelen, &data, &datalen) != ZX_OK:
        raise ProtocolError(ZX_ERR_PROTOCOL, "malformed command")
    return b[name - base:name - base + namelen], b[data - base:]


def encode_command(name, data=b""):
    cdef bytes nm = _cstr(name)
    cdef bytes d = bytes(data)
    cdef size_t cap = 9 + 1 + len(nm) + len(d)
    cdef bytes out = _buf(cap)
    cdef size_t n = zx_command_encode(<unsigned char *>PyBytes_AS_STRING(out), cap, nm,
                                      <const unsigned char *>PyBytes_AS_STRING(d), len(d))
    if n == 0:
        raise ValueError("command name must be 1..255 bytes")
    return out[:n]


def encode_error(reason=b""):
    cdef bytes r = _cstr(reason)
    cdef unsigned char buf[300]
    cdef size_t n = zx_error_encode(buf, sizeof(buf), r)
    return PyBytes_FromStringAndSize(<char *>buf, n)


def encode_ping(unsigned int ttl_ds=0, ctx=b""):
    cdef bytes c = bytes(ctx)
    cdef unsigned char buf[64]
    if ttl_ds > 0xFFFF:
        raise ValueError("ttl does not fit in 16 bits")
    cdef size_t n = zx_ping_encode(buf, sizeof(buf), <uint16_t>ttl_ds,
                                   <const unsigned char *>PyBytes_AS_STRING(c), len(c))
    return PyBytes_FromStringAndSize(<char *>buf, n)


def decode_ping(data):
    """(ttl_ds, context) from a PING's data (after the name); raises ProtocolError."""
    cdef bytes b = bytes(data)
    cdef uint16_t ttl
    cdef const unsigned char *ctx
    cdef size_t ctxlen
    if zx_ping_decode(<const unsigned char *>PyBytes_AS_STRING(b), len(b), &ttl, &ctx,
                      &ctxlen) != ZX_OK:
        raise ProtocolError(ZX_ERR_PROTOCOL, "PING too short")
    return ttl, b[2:]


def encode_pong(ctx=b""):
    cdef bytes c = bytes(ctx)
    cdef unsigned char buf[64]
    cdef size_t n = zx_pong_encode(buf, sizeof(buf),
                                   <const unsigned char *>PyBytes_AS_STRING(c), len(c))
    return PyBytes_FromStringAndSize(<char *>buf, n)


def encode_ready(int socktype, identity=b""):
    cdef bytes ident = bytes(identity)
    cdef unsigned char buf[512]
    cdef size_t n = zx_ready_encode(buf, sizeof(buf), socktype,
                                    <const unsigned char *>PyBytes_AS_STRING(ident), len(ident))
    if n == 0:
        raise ValueError("unknown socket type or identity longer than 255 bytes")
    return PyBytes_FromStringAndSize(<char *>buf, n)


def encode_metadata(props):
    """Encode {name: value} (bytes) as ZMTP metadata, in the dict's order."""
    out = bytearray()
    for name, value in props.items():
        name = bytes(name)
        value = bytes(value)
        if not 1 <= len(name) <= 255 or len(value) >= 1 << 31:
            raise ValueError("bad property size")
        out.append(len(name))
        out += name
        out += len(value).to_bytes(4, "big")
        out += value
    return bytes(out)


def parse_metadata(data):
    """{name: value} (bytes, names as sent); raises ProtocolError on malformed input."""
    cdef bytes b = bytes(data)
    cdef const unsigned char *base = <const unsigned char *>PyBytes_AS_STRING(b)
    cdef size_t n = len(b)
    cdef size_t off = 0
    cdef const unsigned char *nm
    cdef const unsigned char *v
    cdef size_t nl, vl
    if zx_metadata_validate(base, n) != ZX_OK:
        raise ProtocolError(ZX_ERR_PROTOCOL, "malformed metadata")
    result = {}
    while off < n:
        _metadata_next(base, n, &off, &nm, &nl, &v, &vl)
        result[b[nm - base:nm - base + nl]] = b[v - base:v - base + vl]
    return result


def metadata_find(data, name):
    """The value of property `name` (case-insensitive), None if absent."""
    cdef bytes b = bytes(data)
    cdef bytes nm = _cstr(name)
    cdef const unsigned char *base = <const unsigned char *>PyBytes_AS_STRING(b)
    cdef const unsigned char *v
    cdef size_t vl
    cdef int rc = zx_metadata_find(base, len(b), nm, &v, &vl)
    if rc < 0:
        raise ProtocolError(rc, "malformed metadata")
    if rc == ZX_NEED_MORE:
        return None
    return b[v - base:v - base + vl]


def socktype_name(int socktype):
    cdef const char *s = zx_socktype_name(socktype)
    return None if s == NULL else <bytes>s


def socktype_from_name(name):
    cdef bytes b = bytes(name)
    return zx_socktype_from_name(<const unsigned char *>PyBytes_AS_STRING(b), len(b))


def socktype_compatible(int ours, int peer):
    return bool(zx_socktype_compatible(ours, peer))


cdef class Decoder:
    """Incremental frame decoder: feed() bytes, get events back.

    Events: ("message", [frame, ...]) for each complete multipart message and
    ("command", name, data) for each command frame. On bad input it raises ProtocolError
    (carrying the events decoded before it) and stays failed. Holds only bytes received:
    a frame's header is checked (maxmsgsize included) before its body is waited for."""

    cdef bytearray _buf
    cdef list _frames
    cdef int64_t _maxsize
    cdef int _error

    def __init__(self, maxmsgsize=-1):
        self._buf = bytearray()
        self._frames = []
        self._maxsize = -1 if maxmsgsize is None or maxmsgsize < 0 else maxmsgsize
        self._error = 0

    @property
    def failed(self):
        return self._error != 0

    def feed(self, data):
        cdef const unsigned char *p
        cdef size_t n, pos = 0, body
        cdef uint8_t flags
        cdef uint64_t size
        cdef size_t hdrlen
        cdef int rc
        if self._error:
            raise ProtocolError(self._error)
        self._buf += data
        n = len(self._buf)
        events = []
        try:
            while True:
                p = <const unsigned char *><char *>self._buf
                rc = zx_frame_header_decode(p + pos, n - pos, self._maxsize,
                                            &flags, &size, &hdrlen)
                if rc < 0:
                    self._error = rc
                    raise ProtocolError(rc, events=events)
                if rc == ZX_NEED_MORE or size > n - pos - hdrlen:
                    break
                body = pos + hdrlen
                pos = body + <size_t>size
                frame = bytes(self._buf[body:pos])
                if flags & ZX_FLAG_COMMAND:
                    try:
                        name, cdata = split_command(frame)
                    except ProtocolError:
                        self._error = ZX_ERR_PROTOCOL
                        raise ProtocolError(ZX_ERR_PROTOCOL, "malformed command", events)
                    events.append(("command", name, cdata))
                else:
                    self._frames.append(frame)
                    if not (flags & ZX_FLAG_MORE):
                        events.append(("message", self._frames))
                        self._frames = []
        finally:
            if pos:
                del self._buf[:pos]
        return events


# the greeting and the NULL handshake, with their Python wrappers
include "zmtp_handshake.pxi"

# the staged greeting, 1.0/2.0 framing, zx_frame_reserve and their Python wrappers
include "zmtp_legacy.pxi"
