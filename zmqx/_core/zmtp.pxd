# Sans-I/O ZMTP 3.x codec: pure functions of their input, callable without the GIL.
# The I/O thread's engine drives them; tests drive them through zmtp.pyx's Python classes.
from libc.stdint cimport uint8_t, uint16_t, uint64_t, int64_t

cdef enum:
    ZX_GREETING_SIZE = 64
    ZX_FLAG_MORE = 1
    ZX_FLAG_LONG = 2
    ZX_FLAG_COMMAND = 4
    ZX_MAX_HEADER = 9
    ZX_MAX_IDENTITY = 255

# results of the decode functions
cdef enum:
    ZX_OK = 0
    ZX_NEED_MORE = 1
    ZX_ERR_PROTOCOL = -1      # malformed bytes: close the connection
    ZX_ERR_TOO_BIG = -2       # frame larger than MAXMSGSIZE
    ZX_ERR_MECHANISM = -3     # peer announced another mechanism
    ZX_ERR_SOCKTYPE = -4      # incompatible socket types (an ERROR command was queued)
    ZX_ERR_VERSION = -5       # peer speaks ZMTP < 3.0
    ZX_ERR_PEER_ERROR = -6    # peer sent an ERROR command
    ZX_ERR_NOSPACE = -7       # caller's output buffer too small (nothing written)
    ZX_ERR_AUTH = -8          # authentication refused (ZAP status 300/400/500)
    ZX_ERR_ZAP = -9           # no ZAP handler where libzmq requires one
    ZX_ERR_CRYPTO = -10       # a box did not open, a key or nonce was wrong or replayed
    ZX_ERR_ZAP_REPLY = -11    # the ZAP handler's reply was malformed (bad status code...)

# socket types, libzmq's numbers
cdef enum:
    ZX_PAIR = 0
    ZX_PUB = 1
    ZX_SUB = 2
    ZX_REQ = 3
    ZX_REP = 4
    ZX_DEALER = 5
    ZX_ROUTER = 6
    ZX_PULL = 7
    ZX_PUSH = 8
    ZX_XPUB = 9
    ZX_XSUB = 10
    ZX_STREAM = 11
    # the draft types (libzmq 4.3's zmq_draft.h)
    ZX_SERVER = 12
    ZX_CLIENT = 13
    ZX_RADIO = 14
    ZX_DISH = 15
    ZX_GATHER = 16
    ZX_SCATTER = 17
    ZX_DGRAM = 18
    ZX_PEER = 19
    ZX_CHANNEL = 20

# handshake states
cdef enum:
    ZX_HS_GREETING = 0
    ZX_HS_READY = 1           # greeting done, waiting for the peer's READY
    ZX_HS_DONE = 2
    ZX_HS_FAILED = 3

ctypedef struct zx_greeting:
    uint8_t major
    uint8_t minor
    char mechanism[21]        # NUL-terminated
    uint8_t as_server

# One connection's NULL handshake. `out` holds bytes still to be written to the peer:
# zx_handshake_init puts our greeting and READY there; feed may append an ERROR command.
ctypedef struct zx_handshake:
    int state
    int socktype
    int peer_socktype                 # -1 until READY parsed
    uint8_t peer_major
    uint8_t peer_minor
    unsigned char identity[256]       # ours
    size_t identity_len
    unsigned char peer_identity[256]  # from the peer's READY (REQ/DEALER/ROUTER only)
    size_t peer_identity_len
    unsigned char inbuf[1024]         # partial greeting / READY frame being assembled
    size_t inlen
    unsigned char out[1024]
    size_t outlen
    int error                          # the ZX_ERR_* that failed the handshake
    char mechanism[21]                 # ours, NUL-terminated: the peer must announce it
    bint greeting_only                 # PLAIN/CURVE: done after the greeting (mechanism.pyx
                                       # runs the commands)

# greeting
cdef void zx_greeting_encode(unsigned char *out, const char *mechanism, bint as_server) noexcept nogil
cdef int zx_greeting_decode(const unsigned char *p, size_t n, zx_greeting *g) noexcept nogil

# frames
cdef size_t zx_frame_header_encode(unsigned char *out, uint8_t flags, uint64_t size) noexcept nogil
cdef int zx_frame_header_decode(const unsigned char *p, size_t n, int64_t maxsize,
                                uint8_t *flags, uint64_t *size, size_t *hdrlen) noexcept nogil

# commands
cdef int zx_command_split(const unsigned char *body, size_t n,
                          const unsigned char **name, size_t *namelen,
                          const unsigned char **data, size_t *datalen) noexcept nogil
cdef bint zx_command_is(const unsigned char *name, size_t namelen, const char *cname) noexcept nogil
cdef size_t zx_command_encode(unsigned char *out, size_t cap, const char *name,
                              const unsigned char *data, size_t datalen) noexcept nogil
cdef size_t zx_error_encode(unsigned char *out, size_t cap, const char *reason) noexcept nogil
cdef size_t zx_ping_encode(unsigned char *out, size_t cap, uint16_t ttl_ds,
                           const unsigned char *ctx, size_t ctxlen) noexcept nogil
cdef int zx_ping_decode(const unsigned char *data, size_t n, uint16_t *ttl_ds,
                        const unsigned char **ctx, size_t *ctxlen) noexcept nogil
cdef size_t zx_pong_encode(unsigned char *out, size_t cap,
                           const unsigned char *ctx, size_t ctxlen) noexcept nogil

# metadata and socket types
cdef int zx_metadata_validate(const unsigned char *p, size_t n) noexcept nogil
cdef int zx_metadata_find(const unsigned char *p, size_t n, const char *name,
                          const unsigned char **val, size_t *vallen) noexcept nogil
# one metadata property (name-length, name, 4-byte value length, value); the bytes written
cdef size_t zx_prop_encode(unsigned char *p, const char *name,
                           const unsigned char *val, size_t vallen) noexcept nogil
# whether a socket of this type sends Identity in its READY (libzmq: REQ, DEALER, ROUTER)
cdef bint zx_sends_identity(int socktype) noexcept nogil
cdef size_t zx_ready_encode(unsigned char *out, size_t cap, int socktype,
                            const unsigned char *identity, size_t idlen) noexcept nogil
cdef const char *zx_socktype_name(int socktype) noexcept nogil
cdef int zx_socktype_from_name(const unsigned char *name, size_t n) noexcept nogil
cdef bint zx_socktype_compatible(int ours, int peer) noexcept nogil

# handshake state machine
cdef void zx_handshake_init(zx_handshake *h, int socktype,
                            const unsigned char *identity, size_t idlen) noexcept nogil
# PLAIN/CURVE: only our greeting goes out; feed is done (ZX_OK) once the peer's greeting
# announced the same mechanism
cdef void zx_handshake_init_greeting(zx_handshake *h, int socktype, const char *mechanism,
                                     bint as_server) noexcept nogil
cdef int zx_handshake_feed(zx_handshake *h, const unsigned char *p, size_t n,
                           size_t *consumed) noexcept nogil

# ---- older peers and libzmq's staged greeting (zmtp_legacy.pxi)

# what zx_greet found the peer to speak
cdef enum:
    ZX_ZMTP_10_UNVERSIONED = 1    # 1.0, no greeting: its first bytes are its identity frame
    ZX_ZMTP_10 = 2                # revision 0 after a 12-byte greeting, 1.0 framing
    ZX_ZMTP_20 = 3                # revision 1: 2.0 framing (flags + size, no commands)
    ZX_ZMTP_30 = 4
    ZX_ZMTP_31 = 5

cdef enum:
    ZX_GREET_SIGNATURE = 10       # FF, 8 bytes (identity length + 1), 7F
    ZX_GREET_V2_SIZE = 12         # signature, revision, socket type
    ZX_V1_MAX_HEADER = 10
    ZX_RESERVE_STEP = 65536       # see zx_frame_reserve

# One connection's greeting, sent in libzmq's order: the signature first, the major
# version once the peer's signature shows it is versioned, the rest once its revision
# is known (a socket-type byte for 1.0/2.0, minor + mechanism + filler for 3.x).
ctypedef struct zx_greet:
    int state                     # 0 in progress, 1 done, 2 failed
    int version                   # ZX_ZMTP_* once done
    int error
    int socktype
    bint secure                   # non-NULL mechanism or ZAP on: refuse 1.0 and 2.0
    bint as_server                # the 3.x greeting's as-server octet (set after init)
    char mechanism[21]
    unsigned char out[64]         # our greeting as far as it may go out
    size_t out_ready
    size_t out_taken
    unsigned char peer[64]        # the peer's bytes read so far (1.0: its stream's start)
    size_t peer_len
    size_t peer_want
    zx_greeting greeting          # the peer's, for 3.x
    int peer_socktype             # the 2.0 / 1.0-revision socket-type byte, -1 otherwise

cdef void zx_greet_init(zx_greet *g, const char *mechanism, int socktype, size_t idlen,
                        bint secure) noexcept nogil
cdef size_t zx_greet_output(zx_greet *g, unsigned char *dst, size_t cap) noexcept nogil
cdef int zx_greet_feed(zx_greet *g, const unsigned char *p, size_t n,
                       size_t *consumed) noexcept nogil
cdef size_t zx_greet_identity_encode(const zx_greet *g, unsigned char *out, size_t cap,
                                     const unsigned char *identity, size_t idlen) noexcept nogil
cdef int zx_socktype_v2_byte(int socktype) noexcept nogil

# 1.0 framing: length (1, or FF + u64) counting the flags octet, flags (bit 0 MORE), body
cdef size_t zx_v1_frame_header_encode(unsigned char *out, size_t cap, uint8_t flags,
                                      uint64_t size) noexcept nogil
cdef int zx_v1_frame_header_decode(const unsigned char *p, size_t n, int64_t maxsize,
                                   uint8_t *flags, uint64_t *size, size_t *hdrlen) noexcept nogil
# 2.0 framing: the 3.x header without the COMMAND bit
cdef int zx_v2_frame_header_decode(const unsigned char *p, size_t n, int64_t maxsize,
                                   uint8_t *flags, uint64_t *size, size_t *hdrlen) noexcept nogil
# how much room a frame body being received may have now: never the declared size up front
cdef uint64_t zx_frame_reserve(uint64_t declared, uint64_t received) noexcept nogil
