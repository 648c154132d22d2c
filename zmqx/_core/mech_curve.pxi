# CURVE (25/ZMTP-CURVE, 26/CurveZMQ) commands and MESSAGE boxing, included by mechanism.pyx.
#
# Sizes and nonces are libzmq 4.3.5's on the wire (curve_client_tools.hpp, curve_server.cpp,
# curve_mechanism_base.cpp), which are the RFC grammar's:
#   HELLO    200 = "\x05HELLO" 01 00, 72 zero bytes, C', nonce(8), Box[64 zeros](C'->S)
#   WELCOME  168 = "\x07WELCOME", nonce(16), Box[S' + cookie](S->C')
#   cookie    96 = nonce(16), SecretBox[C' + s'](K)       K: this connection's cookie key
#   INITIATE 257+ = "\x08INITIATE", cookie, nonce(8), Box[C + vouch + metadata](C'->S')
#   vouch     96 = nonce(16), Box[C' + S](C->S')
#   READY     30+ = "\x05READY", nonce(8), Box[metadata](S'->C')
#   MESSAGE   33+ = "\x07MESSAGE", nonce(8), Box[flags + payload]    flags: 1 MORE, 2 COMMAND
#             sent in a data frame with flags 0, as libzmq does (not a COMMAND frame)
# A box on the wire is tag(16) + ciphertext, i.e. NaCl's box minus its 16 zero bytes.
# Short nonces count up from 1 on each side and must strictly increase from the peer
# (HELLO < INITIATE < MESSAGEs; READY < MESSAGEs): a replayed or reordered command fails.
# Short-term secrets are wiped as soon as the session key (precom) exists; the cookie key
# once INITIATE has been checked. Every box is sealed in place in the caller's buffer.

cdef enum:
    _HELLO_BODY = 200
    _WELCOME_BODY = 168
    _INITIATE_MIN = 257
    _READY_MIN = 30


cdef inline void _nonce_short(uint8_t *n, const char *prefix16, uint64_t counter) noexcept nogil:
    memcpy(n, prefix16, 16)
    _put_u64(n + 16, counter)


cdef inline void _nonce_long(uint8_t *n, const char *prefix8, const uint8_t *rand16) noexcept nogil:
    memcpy(n, prefix8, 8)
    memcpy(n + 8, rand16, 16)


cdef int zx_mech_set_curve(zx_mech *m, const uint8_t *public_key, const uint8_t *secret_key,
                           const uint8_t *server_key) noexcept nogil:
    """Our long-term pair; server_key (the server's public key) is required on a client."""
    memcpy(m.public_key, public_key, 32)
    memcpy(m.secret_key, secret_key, 32)
    if not m.as_server:
        if server_key == NULL:
            return ZX_ERR_PROTOCOL
        memcpy(m.server_key, server_key, 32)
    return ZX_OK


cdef int _curve_take_nonce(zx_mech *m, const unsigned char *p) noexcept nogil:
    """Accept the peer's 8-byte short nonce at p only if it increases."""
    cdef uint64_t v = _get_u64(p)
    if m.peer_nonce_seen and v <= m.peer_nonce:
        return _fail(m, ZX_ERR_CRYPTO, "CURVE nonce replayed or out of order", NULL)
    m.peer_nonce = v
    m.peer_nonce_seen = True
    return ZX_OK


cdef int _curve_own_nonce(zx_mech *m, uint64_t *v) noexcept nogil:
    if m.nonce == <uint64_t>-1:
        return _fail(m, ZX_ERR_CRYPTO, "CURVE nonce space exhausted", NULL)
    v[0] = m.nonce
    m.nonce += 1
    return ZX_OK


# ---------------------------------------------------------------- client

cdef int _curve_hello(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    cdef size_t hdr
    cdef unsigned char *b
    cdef uint8_t nonce[24]
    cdef uint8_t key[32]
    cdef uint64_t counter
    cdef int rc = _frame_begin(out, cap, _HELLO_BODY, n, &hdr)
    if rc != ZX_OK:
        return rc
    if crypto_keypair(m.cn_public, m.cn_secret) != 0:
        return _fail(m, ZX_ERR_CRYPTO, "no randomness for the short-term key", NULL)
    if crypto_beforenm(key, m.server_key, m.cn_secret) != 0:
        crypto_wipe(key, 32)
        return _fail(m, ZX_ERR_CRYPTO, "unusable CURVE server key", NULL)
    if _curve_own_nonce(m, &counter) != ZX_OK:
        return m.error
    b = out + hdr
    memcpy(b, "\x05HELLO", 6)
    b[6] = 1                            # CurveZMQ version 1.0
    b[7] = 0
    memset(b + 8, 0, 72)                # anti-amplification padding
    memcpy(b + 80, m.cn_public, 32)
    _put_u64(b + 112, counter)
    _nonce_short(nonce, "CurveZMQHELLO---", counter)
    memset(b + 136, 0, 64)              # the signature: 64 zero bytes, boxed
    crypto_seal(b + 120, b + 136, 64, nonce, key)
    crypto_wipe(key, 32)
    m.state = _ST_EXPECT_WELCOME
    return ZX_OK


cdef int _curve_welcome(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    cdef uint8_t nonce[24]
    cdef uint8_t key[32]
    cdef uint8_t plain[128]
    cdef int rc
    if n != _WELCOME_BODY:
        return _fail(m, ZX_ERR_PROTOCOL, "CURVE WELCOME has the wrong size", NULL)
    _nonce_long(nonce, "WELCOME-", body + 8)
    if crypto_beforenm(key, m.server_key, m.cn_secret) != 0:
        crypto_wipe(key, 32)
        return _fail(m, ZX_ERR_CRYPTO, "unusable CURVE server key", NULL)
    rc = crypto_open(plain, body + 24, 144, nonce, key)
    crypto_wipe(key, 32)
    if rc != 0:
        return _fail(m, ZX_ERR_CRYPTO, "CURVE WELCOME does not open (wrong server key?)", NULL)
    memcpy(m.peer_short, plain, 32)
    memcpy(m.cookie, plain + 32, 96)
    crypto_wipe(plain, 128)
    if crypto_beforenm(m.precom, m.peer_short, m.cn_secret) != 0:
        return _fail(m, ZX_ERR_CRYPTO, "unusable CURVE short-term key", NULL)
    crypto_wipe(m.cn_secret, 32)        # the session key exists: c' is no longer needed
    m.state = _ST_SEND_INITIATE
    return ZX_OK


cdef int _curve_initiate(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    cdef size_t hdr
    cdef unsigned char *b
    cdef uint8_t nonce[24]
    cdef uint8_t vnonce[24]
    cdef uint8_t key[32]
    cdef uint8_t rnd[16]
    cdef uint64_t counter
    cdef int rc
    if m.metalen > (<size_t>-1) - 1024:
        return ZX_ERR_NOSPACE
    rc = _frame_begin(out, cap, _INITIATE_MIN + m.metalen, n, &hdr)
    if rc != ZX_OK:
        return rc
    if crypto_random(rnd, 16) != 0:
        return _fail(m, ZX_ERR_CRYPTO, "no randomness for the vouch nonce", NULL)
    if crypto_beforenm(key, m.peer_short, m.secret_key) != 0:
        crypto_wipe(key, 32)
        return _fail(m, ZX_ERR_CRYPTO, "unusable CURVE short-term key", NULL)
    if _curve_own_nonce(m, &counter) != ZX_OK:
        crypto_wipe(key, 32)
        return m.error
    b = out + hdr
    memcpy(b, "\x08INITIATE", 9)
    memcpy(b + 9, m.cookie, 96)
    _put_u64(b + 105, counter)
    # plaintext of the outer box at b + 129: C, vouch (nonce + box), metadata
    memcpy(b + 129, m.public_key, 32)
    memcpy(b + 161, rnd, 16)
    memcpy(b + 193, m.cn_public, 32)
    memcpy(b + 225, m.server_key, 32)
    _nonce_long(vnonce, "VOUCH---", rnd)
    crypto_seal(b + 177, b + 193, 64, vnonce, key)
    crypto_wipe(key, 32)
    if m.metalen:
        memcpy(b + 257, m.meta, m.metalen)
    _nonce_short(nonce, "CurveZMQINITIATE", counter)
    crypto_seal(b + 113, b + 129, 128 + m.metalen, nonce, m.precom)
    crypto_wipe(m.cookie, 96)
    m.state = _ST_EXPECT_READY
    return ZX_OK


cdef int _curve_ready_in(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    cdef uint8_t nonce[24]
    cdef unsigned char *plain
    cdef int rc
    if n < _READY_MIN:
        return _fail(m, ZX_ERR_PROTOCOL, "CURVE READY too short", NULL)
    plain = <unsigned char *>malloc(n - _READY_MIN + 1)
    if plain == NULL:
        return _fail(m, ZX_ERR_PROTOCOL, "out of memory", NULL)
    _nonce_short(nonce, "CurveZMQREADY---", _get_u64(body + 6))
    rc = crypto_open(plain, body + 14, n - 14, nonce, m.precom)
    if rc != 0:
        free(plain)
        return _fail(m, ZX_ERR_CRYPTO, "CURVE READY does not open", NULL)
    rc = _curve_take_nonce(m, body + 6)
    if rc == ZX_OK:
        rc = _accept_meta(m, plain, n - _READY_MIN, False)
    free(plain)
    if rc != ZX_OK:
        return rc
    m.state = _ST_DONE
    return ZX_OK


# ---------------------------------------------------------------- server

cdef int _curve_hello_in(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    cdef uint8_t nonce[24]
    cdef uint8_t key[32]
    cdef uint8_t plain[64]
    cdef uint8_t acc = 0
    cdef int rc, i
    if n != _HELLO_BODY:
        return _fail(m, ZX_ERR_PROTOCOL, "CURVE HELLO has the wrong size", NULL)
    if body[6] != 1 or body[7] != 0:
        return _fail(m, ZX_ERR_PROTOCOL, "CURVE HELLO: unsupported version", NULL)
    for i in range(8, 80):
        acc |= body[i]
    if acc != 0:
        # libzmq sends zeros and does not look; insisting costs nothing and leaves no
        # byte of the transcript that can change unnoticed
        return _fail(m, ZX_ERR_PROTOCOL, "CURVE HELLO: padding is not zeros", NULL)
    memcpy(m.peer_short, body + 80, 32)
    _nonce_short(nonce, "CurveZMQHELLO---", _get_u64(body + 112))
    if crypto_beforenm(key, m.peer_short, m.secret_key) != 0:
        crypto_wipe(key, 32)
        return _fail(m, ZX_ERR_CRYPTO, "unusable CURVE client short-term key", NULL)
    rc = crypto_open(plain, body + 120, 80, nonce, key)
    crypto_wipe(key, 32)
    if rc != 0:
        return _fail(m, ZX_ERR_CRYPTO, "CURVE HELLO does not open (client has the wrong server key?)", NULL)
    for i in range(64):
        acc |= plain[i]
    if acc != 0:
        return _fail(m, ZX_ERR_CRYPTO, "CURVE HELLO signature is not zeros", NULL)
    if _curve_take_nonce(m, body + 112) != ZX_OK:
        return m.error
    m.state = _ST_SEND_WELCOME
    return ZX_OK


cdef int _curve_welcome_out(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    cdef size_t hdr
    cdef unsigned char *b
    cdef uint8_t nonce[24]
    cdef uint8_t key[32]
    cdef uint8_t rnd[32]
    cdef int rc = _frame_begin(out, cap, _WELCOME_BODY, n, &hdr)
    if rc != ZX_OK:
        return rc
    if (crypto_keypair(m.cn_public, m.cn_secret) != 0 or crypto_random(m.cookie_key, 32) != 0
            or crypto_random(rnd, 32) != 0):
        return _fail(m, ZX_ERR_CRYPTO, "no randomness for the short-term key", NULL)
    if crypto_beforenm(key, m.peer_short, m.secret_key) != 0:
        crypto_wipe(key, 32)
        return _fail(m, ZX_ERR_CRYPTO, "unusable CURVE client short-term key", NULL)
    b = out + hdr
    memcpy(b, "\x07WELCOME", 8)
    memcpy(b + 8, rnd, 16)
    # plaintext of the outer box at b + 40: S', then the cookie (nonce + box[C' + s'])
    memcpy(b + 40, m.cn_public, 32)
    memcpy(b + 72, rnd + 16, 16)
    memcpy(b + 104, m.peer_short, 32)
    memcpy(b + 136, m.cn_secret, 32)
    _nonce_long(nonce, "COOKIE--", rnd + 16)
    crypto_seal(b + 88, b + 104, 64, nonce, m.cookie_key)
    _nonce_long(nonce, "WELCOME-", rnd)
    crypto_seal(b + 24, b + 40, 128, nonce, key)
    crypto_wipe(key, 32)
    m.state = _ST_EXPECT_INITIATE
    return ZX_OK


cdef int _curve_initiate_in(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    cdef uint8_t nonce[24]
    cdef uint8_t key[32]
    cdef uint8_t cplain[64]
    cdef uint8_t vplain[64]
    cdef unsigned char *plain
    cdef size_t plen
    cdef int rc
    if n < _INITIATE_MIN:
        return _fail(m, ZX_ERR_PROTOCOL, "CURVE INITIATE too short", NULL)
    # the cookie must be ours, for this connection's C' and s'
    _nonce_long(nonce, "COOKIE--", body + 9)
    rc = crypto_open(cplain, body + 25, 80, nonce, m.cookie_key)
    if rc != 0 or not (_ct_equal(cplain, m.peer_short, 32) and
                       _ct_equal(cplain + 32, m.cn_secret, 32)):
        crypto_wipe(cplain, 64)
        return _fail(m, ZX_ERR_CRYPTO, "CURVE INITIATE: bad cookie", NULL)
    crypto_wipe(cplain, 64)
    if _curve_take_nonce(m, body + 105) != ZX_OK:
        return m.error
    if crypto_beforenm(m.precom, m.peer_short, m.cn_secret) != 0:
        return _fail(m, ZX_ERR_CRYPTO, "unusable CURVE client short-term key", NULL)
    plen = n - 113 - 16
    plain = <unsigned char *>malloc(plen)
    if plain == NULL:
        return _fail(m, ZX_ERR_PROTOCOL, "out of memory", NULL)
    _nonce_short(nonce, "CurveZMQINITIATE", _get_u64(body + 105))
    if crypto_open(plain, body + 113, n - 113, nonce, m.precom) != 0:
        free(plain)
        return _fail(m, ZX_ERR_CRYPTO, "CURVE INITIATE does not open", NULL)
    # the vouch: C vouches for C' to this server S, boxed from C to S'
    _nonce_long(nonce, "VOUCH---", plain + 32)
    rc = crypto_beforenm(key, plain, m.cn_secret)
    if rc == 0:
        rc = crypto_open(vplain, plain + 48, 80, nonce, key)
    crypto_wipe(key, 32)
    if rc != 0 or not (_ct_equal(vplain, m.peer_short, 32) and
                       _ct_equal(vplain + 32, m.public_key, 32)):
        free(plain)
        return _fail(m, ZX_ERR_CRYPTO, "CURVE INITIATE: bad vouch", NULL)
    memcpy(m.client_key, plain, 32)
    crypto_wipe(m.cn_secret, 32)
    crypto_wipe(m.cookie_key, 32)
    rc = _accept_meta(m, plain + 128, plen - 128, True)
    free(plain)
    if rc != ZX_OK:
        return rc
    m.state = _ST_ZAP_INITIATE          # libzmq always tries ZAP here
    return ZX_MECH_NEED_ZAP


cdef int _curve_ready_out(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    cdef size_t hdr
    cdef unsigned char *b
    cdef uint8_t nonce[24]
    cdef uint64_t counter
    cdef int rc
    if m.metalen > (<size_t>-1) - 1024:
        return ZX_ERR_NOSPACE
    rc = _frame_begin(out, cap, _READY_MIN + m.metalen, n, &hdr)
    if rc != ZX_OK:
        return rc
    if _curve_own_nonce(m, &counter) != ZX_OK:
        return m.error
    b = out + hdr
    memcpy(b, "\x05READY", 6)
    _put_u64(b + 6, counter)
    if m.metalen:
        memcpy(b + 30, m.meta, m.metalen)
    _nonce_short(nonce, "CurveZMQREADY---", counter)
    crypto_seal(b + 14, b + 30, m.metalen, nonce, m.precom)
    m.state = _ST_DONE
    return ZX_OK


# ---------------------------------------------------------------- dispatch

cdef int _curve_next(zx_mech *m, unsigned char *out, size_t cap, size_t *n) noexcept nogil:
    if m.state == _ST_SEND_HELLO:
        return _curve_hello(m, out, cap, n)
    if m.state == _ST_SEND_INITIATE:
        return _curve_initiate(m, out, cap, n)
    if m.state == _ST_SEND_WELCOME:
        return _curve_welcome_out(m, out, cap, n)
    if m.state == _ST_SEND_READY:
        return _curve_ready_out(m, out, cap, n)
    return ZX_NEED_MORE


cdef int _curve_feed(zx_mech *m, const unsigned char *body, size_t n) noexcept nogil:
    if m.state == _ST_EXPECT_HELLO and _starts(body, n, "\x05HELLO", 6):
        return _curve_hello_in(m, body, n)
    if m.state == _ST_EXPECT_WELCOME and _starts(body, n, "\x07WELCOME", 8):
        return _curve_welcome(m, body, n)
    if m.state == _ST_EXPECT_INITIATE and _starts(body, n, "\x08INITIATE", 9):
        return _curve_initiate_in(m, body, n)
    if m.state == _ST_EXPECT_READY and _starts(body, n, "\x05READY", 6):
        return _curve_ready_in(m, body, n)
    return _fail(m, ZX_ERR_PROTOCOL, "unexpected CURVE command", NULL)


# ---------------------------------------------------------------- MESSAGE

cdef unsigned char *zx_mech_out_reserve(zx_mech *m, size_t n) noexcept nogil:
    cdef unsigned char *p
    cdef size_t cap
    m.out_last = n
    if n > ZX_MECH_OUT_KEEP:
        return NULL
    if m.out_len + n > m.out_cap:
        if m.out_len:
            return NULL             # frames of this round point into it: no realloc
        cap = n if n > ZX_MECH_OUT_ROUND else ZX_MECH_OUT_ROUND
        p = <unsigned char *>realloc(m.out_buf, cap)
        if p == NULL:
            return NULL
        m.out_buf = p
        m.out_cap = cap
    p = m.out_buf + m.out_len
    m.out_len += n
    return p


cdef void zx_mech_out_reset(zx_mech *m) noexcept nogil:
    m.out_len = 0
    m.out_last = 0


cdef int zx_mech_encode_message(zx_mech *m, uint8_t flags, const unsigned char *payload,
                                size_t len, unsigned char *out, size_t cap,
                                size_t *n) noexcept nogil:
    """Box one frame (flags: ZX_FLAG_MORE / ZX_FLAG_COMMAND) as a MESSAGE command frame in
    out[0:cap] (payload + ZX_CURVE_MSG_OVERHEAD is always enough). payload may already sit
    at its place in out (frame header + 33: boxed in place); anywhere else it is read where
    it lies (no copy), and must not overlap out."""
    cdef size_t hdr
    cdef unsigned char *b
    cdef uint8_t nonce[24]
    cdef uint8_t fl
    cdef uint64_t counter
    cdef int rc
    if m.kind != ZX_MECH_CURVE or m.state != _ST_DONE:
        return ZX_ERR_PROTOCOL
    if len > (<size_t>-1) - 64:
        return ZX_ERR_NOSPACE
    rc = _frame_begin(out, cap, ZX_CURVE_MSG_BODY_OVERHEAD + len, n, &hdr)
    if rc != ZX_OK:
        return rc
    if _curve_own_nonce(m, &counter) != ZX_OK:
        return m.error
    # libzmq 4.3.5 carries MESSAGE in a plain data frame (flags 0: the MORE and COMMAND
    # bits travel inside the box) and ignores a MESSAGE sent with the COMMAND flag
    zx_frame_header_encode(out, 0, ZX_CURVE_MSG_BODY_OVERHEAD + len)
    b = out + hdr
    memcpy(b, "\x07MESSAGE", 8)
    _put_u64(b + 8, counter)
    fl = (1 if flags & ZX_FLAG_MORE else 0) | (2 if flags & ZX_FLAG_COMMAND else 0)
    _nonce_short(nonce, "CurveZMQMESSAGES" if m.as_server else "CurveZMQMESSAGEC", counter)
    if len and payload != b + 33:
        crypto_seal_head(b + 16, &fl, 1, payload, len, nonce, m.precom)
    else:
        b[32] = fl
        crypto_seal(b + 16, b + 32, len + 1, nonce, m.precom)
    return ZX_OK


cdef int zx_mech_decode_message(zx_mech *m, const unsigned char *body, size_t n,
                                unsigned char *out, size_t cap, size_t *plen,
                                uint8_t *flags) noexcept nogil:
    """Open one MESSAGE command body into out: out[0] the CURVE flags byte, the payload
    (*plen bytes) at out + 1; *flags gets ZX_FLAG_MORE / ZX_FLAG_COMMAND. out may be
    body + ZX_CURVE_MSG_PLAIN_OFFSET (in place). Any failure fails the mechanism."""
    cdef uint8_t nonce[24]
    cdef uint8_t f
    if m.kind != ZX_MECH_CURVE or m.state != _ST_DONE:
        return _fail(m, ZX_ERR_PROTOCOL, "MESSAGE outside a CURVE session", NULL)
    if n < ZX_CURVE_MSG_BODY_OVERHEAD or not _starts(body, n, "\x07MESSAGE", 8):
        return _fail(m, ZX_ERR_PROTOCOL, "not a CURVE MESSAGE", NULL)
    if cap < n - ZX_CURVE_MSG_PLAIN_OFFSET:
        return ZX_ERR_NOSPACE
    if m.peer_nonce_seen and _get_u64(body + 8) <= m.peer_nonce:
        return _fail(m, ZX_ERR_CRYPTO, "CURVE MESSAGE nonce replayed or out of order", NULL)
    _nonce_short(nonce, "CurveZMQMESSAGEC" if m.as_server else "CurveZMQMESSAGES",
                 _get_u64(body + 8))
    if crypto_open(out, body + 16, n - 16, nonce, m.precom) != 0:
        return _fail(m, ZX_ERR_CRYPTO, "CURVE MESSAGE does not open", NULL)
    _curve_take_nonce(m, body + 8)
    f = out[0]
    flags[0] = (ZX_FLAG_MORE if f & 1 else 0) | (ZX_FLAG_COMMAND if f & 2 else 0)
    plen[0] = n - ZX_CURVE_MSG_BODY_OVERHEAD
    return ZX_OK
