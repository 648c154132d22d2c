# Security mechanisms (NULL, PLAIN, CURVE) as sans-I/O state machines: the C interface the
# engine drives after the greeting. One struct per connection, caller-owned; no Python
# objects, no locks, no clock, callable without the GIL. ZAP (RFC 27) happens elsewhere:
# the server side stops in ZX_MS_ZAP, hands out the request fields and takes the reply.
#
# Why one module for three mechanisms: they share the command plumbing, the metadata rules
# (socket-type check, identity), the ZAP hooks and the ERROR handling; only the commands
# differ. mechanism.pyx holds that shared part and the Python test wrappers; the
# mechanism-specific commands live in mech_plain.pxi and mech_curve.pxi (included), so each
# file has one job and the C of all three exists once.
#
# Engine contract (one zx_mech per connection, after zx_greet in zmtp.pxd has finished
# with a 3.x peer whose mechanism matched ours):
#   init:   zx_mech_init(m, kind, as_server, socktype, routing_id, len); then
#           zx_mech_set_metadata (ZMQ_METADATA, encoded), zx_mech_set_zap (ZAP_DOMAIN and our
#           ROUTING_ID), zx_mech_set_plain (client), zx_mech_set_curve (both; server_key on
#           clients).
#   write:  loop zx_mech_next(m, buf, cap, &n): ZX_OK -> write buf[0:n] and loop;
#           ZX_ERR_NOSPACE -> grow buf to n, loop; ZX_NEED_MORE -> wait for input;
#           ZX_MECH_NEED_ZAP -> run ZAP (below); < 0 -> close once written.
#   read:   every complete command frame body (after the frame header) during the
#           handshake -> zx_mech_feed; a data frame before ZX_MS_READY -> close. Then write.
#   ZAP:    on ZX_MECH_NEED_ZAP (from feed or next): zx_mech_zap_request gives the frames
#           after the delimiter/"1.0"/request-id (the engine adds the peer address); with no
#           handler bound call zx_mech_zap_absent(m, ZAP_ENFORCE_DOMAIN), else send the request
#           and pass the reply's status/user-id/metadata to zx_mech_zap_reply. Then write.
#   ready:  zx_mech_status == ZX_MS_READY: m.peer_meta / peer_identity / user_id / zap_meta
#           are the connection's properties. NULL and PLAIN frames flow as plain ZMTP; CURVE
#           frames go through zx_mech_encode_message / zx_mech_decode_message only.
#   close:  zx_mech_destroy (frees and wipes).
from libc.stdint cimport uint8_t, uint64_t

cdef enum:
    ZX_MECH_NULL = 0
    ZX_MECH_PLAIN = 1
    ZX_MECH_CURVE = 2

# zx_mech_status()
cdef enum:
    ZX_MS_HANDSHAKING = 0     # commands still to exchange (call next(), feed())
    ZX_MS_ZAP = 1             # server: waiting for zx_mech_zap_reply / zx_mech_zap_absent
    ZX_MS_READY = 2           # messages may flow (CURVE: through encode/decode_message)
    ZX_MS_ERROR = 3           # failed: drain next() (an ERROR command may be due), then close

# positive result of zx_mech_feed / zx_mech_zap_*: the engine must run ZAP now
cdef enum:
    ZX_MECH_NEED_ZAP = 2

# CURVE MESSAGE sizes: a frame header (2 or 9) + "\x07MESSAGE" + nonce(8) + tag(16) + flags(1)
cdef enum:
    ZX_CURVE_MSG_BODY_OVERHEAD = 33     # body size = payload + 33
    ZX_CURVE_MSG_OVERHEAD = 42          # worst case with the 9-byte header
    ZX_CURVE_MSG_PLAIN_OFFSET = 32      # decode in place: out = body + 32 (flags, payload)

# ZAP request as libzmq sends it (after the delimiter, "1.0" and the request id the engine
# adds): domain, address (the engine's), identity (our own ROUTING_ID, as libzmq does),
# mechanism, then ncred credential frames (PLAIN: username, password; CURVE: client key).
ctypedef struct zx_zap_request:
    const unsigned char *domain
    size_t domain_len
    const unsigned char *identity
    size_t identity_len
    const char *mechanism
    int ncred
    const unsigned char *cred[2]
    size_t cred_len[2]

ctypedef struct zx_mech:
    int kind
    int as_server
    int state                   # internal step (mechanism.pyx's _ST_*)
    int error                   # the ZX_ERR_* that failed it, 0 while fine
    const char *reason          # static text: why it failed (events, logs)
    const char *error_out       # ERROR reason still to send (NULL: none)
    int socktype
    int peer_socktype           # -1 until the peer's metadata is accepted
    bint sent_ready             # NULL: our READY went out
    bint got_ready              # NULL: the peer's READY came in
    unsigned char *meta         # our metadata (malloc'd): Socket-Type, Identity, extra
    size_t metalen
    unsigned char *peer_meta    # the peer's metadata, validated (malloc'd)
    size_t peer_metalen
    unsigned char peer_identity[256]
    size_t peer_identity_len
    unsigned char peer_reason[256]   # reason of a received ERROR
    size_t peer_reason_len
    # ZAP
    bint zap_wanted             # NULL: a domain is set (libzmq's zap_required)
    unsigned char zap_domain[256]
    size_t zap_domain_len
    unsigned char routing_id[256]
    size_t routing_id_len
    unsigned char *user_id      # from the ZAP reply (malloc'd)
    size_t user_id_len
    unsigned char *zap_meta     # metadata from the ZAP reply (malloc'd, validated)
    size_t zap_metalen
    # PLAIN
    unsigned char username[256]
    size_t username_len
    unsigned char password[256]
    size_t password_len
    # CURVE
    uint8_t public_key[32]      # our long-term pair
    uint8_t secret_key[32]
    uint8_t server_key[32]      # client: the server's long-term public key
    uint8_t cn_public[32]       # our short-term pair (secret wiped once the precom exists)
    uint8_t cn_secret[32]
    uint8_t peer_short[32]      # the peer's short-term public key
    uint8_t client_key[32]      # server: the client's long-term public key (from INITIATE)
    uint8_t precom[32]          # beforenm(peer_short, cn_secret): the session key
    uint8_t cookie_key[32]      # server: per-connection cookie key, wiped after INITIATE
    uint8_t cookie[96]          # client: the server's cookie, echoed in INITIATE
    uint64_t nonce              # our next short nonce
    uint64_t peer_nonce         # the last short nonce accepted from the peer
    bint peer_nonce_seen
    # CURVE data phase: the engine's buffer for boxing large MESSAGEs, kept from one write
    # round to the next (zx_mech_out_reserve) so that a stream of large frames does not
    # map and fault in a fresh block per frame; freed by zx_mech_destroy
    unsigned char *out_buf
    size_t out_cap
    size_t out_len
    size_t out_last             # the size asked by the last reserve (the next is likely alike)

cdef const char *zx_mech_name(int kind) noexcept nogil
cdef int zx_mech_kind_from_name(const char *name) noexcept nogil

# setup: init first, then the setters, before the first next()/feed()
cdef int zx_mech_init(zx_mech *m, int kind, bint as_server, int socktype,
                      const unsigned char *identity, size_t idlen) noexcept nogil
cdef int zx_mech_set_metadata(zx_mech *m, const unsigned char *extra, size_t n) noexcept nogil
cdef int zx_mech_set_plain(zx_mech *m, const unsigned char *user, size_t ulen,
                           const unsigned char *password, size_t plen) noexcept nogil
cdef int zx_mech_set_curve(zx_mech *m, const uint8_t *public_key, const uint8_t *secret_key,
                           const uint8_t *server_key) noexcept nogil
cdef int zx_mech_set_zap(zx_mech *m, const unsigned char *domain, size_t dlen,
                         const unsigned char *routing_id, size_t rlen) noexcept nogil
cdef void zx_mech_destroy(zx_mech *m) noexcept nogil

# the handshake
cdef int zx_mech_status(const zx_mech *m) noexcept nogil
cdef int zx_mech_next(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil
cdef int zx_mech_feed(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil

# ZAP hooks (server side; NULL when a domain is set)
cdef int zx_mech_zap_request(const zx_mech *m, zx_zap_request *r) noexcept nogil
cdef int zx_mech_zap_reply(zx_mech *m, int status_code, const unsigned char *user_id,
                           size_t uidlen, const unsigned char *meta, size_t metalen) noexcept nogil
cdef int zx_mech_zap_absent(zx_mech *m, bint enforce_domain) noexcept nogil

# CURVE data phase: every frame travels boxed in a MESSAGE command
# n bytes of out_buf for one boxed frame of this write round, or NULL (then the caller
# boxes into a block of its own): NULL when the frame is larger than ZX_MECH_OUT_KEEP, when
# the buffer cannot grow, or when earlier frames of the round hold it and n does not fit
# after them. The buffer grows to ZX_MECH_OUT_ROUND at least, to the largest frame asked
# at most (up to KEEP). zx_mech_out_reset starts a round: nothing may point into it then.
# zx_mech_out_busy: write this round out before boxing more: a frame like the last one
# would not fit, or the last one got a block of its own (so a stream of frames larger than
# the buffer is boxed one per round, never a round's worth of them at once).
cdef enum:
    ZX_MECH_OUT_ROUND = 256 * 1024
    ZX_MECH_OUT_KEEP = 2 * 1024 * 1024 + 64
cdef unsigned char *zx_mech_out_reserve(zx_mech *m, size_t n) noexcept nogil
cdef void zx_mech_out_reset(zx_mech *m) noexcept nogil

cdef inline bint zx_mech_out_busy(const zx_mech *m) noexcept nogil:
    return m.out_last != 0 and (m.out_len == 0 or m.out_len + m.out_last > m.out_cap)
cdef int zx_mech_encode_message(zx_mech *m, uint8_t flags, const unsigned char *payload,
                                size_t len, unsigned char *out, size_t cap,
                                size_t *n) noexcept nogil
cdef int zx_mech_decode_message(zx_mech *m, const unsigned char *body, size_t n,
                                unsigned char *out, size_t cap, size_t *plen,
                                uint8_t *flags) noexcept nogil
