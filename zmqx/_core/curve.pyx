# distutils: sources = [zmqx/_core/crypto/x25519.c, zmqx/_core/crypto/salsa20.c, zmqx/_core/crypto/poly1305.c, zmqx/_core/crypto/box.c, zmqx/_core/crypto/randombytes.c]
# distutils: depends = zmqx/_core/crypto/zx_crypto.h
# cython: language_level=3
#
# The one module that links zmqx's own crypto (zmqx/_core/crypto/*.c): the C API the
# engine cimports (curve.pxd) and the Python functions built on it, for the public key
# tools (curve_keypair, curve_public) and for tests that check the C against the
# specifications and against libsodium.
#
# The `distutils:` lines above add the C files to this extension, so setup.py's generic
# "one extension per .pyx" build needs nothing crypto-specific. Every call into C runs
# with the GIL released; output bytes objects are allocated first and filled without
# the GIL (nobody else can see them yet).

from libc.stdint cimport uint8_t, uint64_t
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_AS_STRING
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE

import errno as _errno

cdef extern from "crypto/zx_crypto.h" nogil:
    void zx_memzero(void *p, size_t n)
    void zx_crypto_set_simd(int on)
    int zx_crypto_simd_enabled()
    int zx_verify16(const uint8_t *a, const uint8_t *b)
    int zx_randombytes(void *buf, size_t n)
    int zx_x25519(uint8_t *q, const uint8_t *n, const uint8_t *p)
    int zx_x25519_base(uint8_t *q, const uint8_t *n)
    void zx_hsalsa20(uint8_t *out, const uint8_t *inp, const uint8_t *k, const uint8_t *c)
    void zx_salsa20_xor_ic(uint8_t *c, const uint8_t *m, size_t len, const uint8_t *n,
                           uint64_t ic, const uint8_t *k)
    void zx_xsalsa20_xor_ic(uint8_t *c, const uint8_t *m, size_t len, const uint8_t *n,
                            uint64_t ic, const uint8_t *k)
    void zx_poly1305(uint8_t *mac, const uint8_t *m, size_t len, const uint8_t *key)
    int zx_poly1305_verify(const uint8_t *mac, const uint8_t *m, size_t len, const uint8_t *key)
    int zx_secretbox_detached(uint8_t *c, uint8_t *mac, const uint8_t *m, size_t mlen,
                              const uint8_t *n, const uint8_t *k)
    int zx_secretbox_open_detached(uint8_t *m, const uint8_t *c, const uint8_t *mac,
                                   size_t clen, const uint8_t *n, const uint8_t *k)
    int zx_secretbox_easy(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n,
                          const uint8_t *k)
    int zx_secretbox_open_easy(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n,
                               const uint8_t *k)
    int zx_secretbox_easy_head(uint8_t *c, const uint8_t *head, size_t hlen, const uint8_t *m,
                               size_t mlen, const uint8_t *n, const uint8_t *k)
    int zx_box_keypair(uint8_t *pk, uint8_t *sk)
    int zx_box_beforenm(uint8_t *k, const uint8_t *pk, const uint8_t *sk)
    int zx_box(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n,
               const uint8_t *pk, const uint8_t *sk)
    int zx_box_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n,
                    const uint8_t *pk, const uint8_t *sk)
    int zx_box_afternm(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n,
                       const uint8_t *k)
    int zx_box_open_afternm(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n,
                            const uint8_t *k)
    int zx_box_easy(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n,
                    const uint8_t *pk, const uint8_t *sk)
    int zx_box_open_easy(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n,
                         const uint8_t *pk, const uint8_t *sk)


# ---------------------------------------------------------------- C API (curve.pxd)

cdef int crypto_random(void *buf, size_t n) noexcept nogil:
    return zx_randombytes(buf, n)

cdef void crypto_wipe(void *buf, size_t n) noexcept nogil:
    zx_memzero(buf, n)

cdef int crypto_verify16(const uint8_t *a, const uint8_t *b) noexcept nogil:
    return zx_verify16(a, b)

cdef int crypto_keypair(uint8_t *pk, uint8_t *sk) noexcept nogil:
    return zx_box_keypair(pk, sk)

cdef int crypto_public(uint8_t *pk, const uint8_t *sk) noexcept nogil:
    return zx_x25519_base(pk, sk)

cdef int crypto_scalarmult(uint8_t *q, const uint8_t *n, const uint8_t *p) noexcept nogil:
    return zx_x25519(q, n, p)

cdef int crypto_beforenm(uint8_t *k, const uint8_t *pk, const uint8_t *sk) noexcept nogil:
    return zx_box_beforenm(k, pk, sk)

cdef int crypto_seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n,
                     const uint8_t *k) noexcept nogil:
    return zx_secretbox_easy(c, m, mlen, n, k)

cdef int crypto_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n,
                     const uint8_t *k) noexcept nogil:
    return zx_secretbox_open_easy(m, c, clen, n, k)

cdef int crypto_seal_head(uint8_t *c, const uint8_t *head, size_t hlen, const uint8_t *m,
                          size_t mlen, const uint8_t *n, const uint8_t *k) noexcept nogil:
    return zx_secretbox_easy_head(c, head, hlen, m, mlen, n, k)

cdef int crypto_seal_detached(uint8_t *c, uint8_t *mac, const uint8_t *m, size_t mlen,
                              const uint8_t *n, const uint8_t *k) noexcept nogil:
    return zx_secretbox_detached(c, mac, m, mlen, n, k)

cdef int crypto_open_detached(uint8_t *m, const uint8_t *c, const uint8_t *mac, size_t clen,
                              const uint8_t *n, const uint8_t *k) noexcept nogil:
    return zx_secretbox_open_detached(m, c, mac, clen, n, k)


# ---------------------------------------------------------------- Python layer

class CryptoError(ValueError):
    """A box failed to open (forged or corrupted), or a key was degenerate."""


cdef struct _bufs:
    Py_buffer b[4]
    int n


cdef int _take(_bufs *bs, object obj, Py_ssize_t need, str what) except -1:
    """Borrow obj's bytes into the next slot of bs; need >= 0 checks the length."""
    cdef Py_buffer *b = &bs.b[bs.n]
    PyObject_GetBuffer(obj, b, PyBUF_SIMPLE)
    bs.n += 1
    if need >= 0 and b.len != need:
        raise ValueError(f"{what} must be {need} bytes long, not {b.len}")
    return 0


cdef void _release(_bufs *bs) noexcept:
    cdef int i
    for i in range(bs.n):
        PyBuffer_Release(&bs.b[i])
    bs.n = 0


cdef inline const uint8_t *_p(_bufs *bs, int i) noexcept nogil:
    return <const uint8_t *>bs.b[i].buf


cdef inline uint8_t *_w(bytes out) noexcept:
    return <uint8_t *>PyBytes_AS_STRING(out)


SIMD_NONE, SIMD_VEC128, SIMD_AVX2, SIMD_AVX512 = 0, 1, 2, 3


def set_simd(int level):
    """Cap the vector code paths: SIMD_NONE forces the portable C, SIMD_VEC128 allows the
    4-lane generic vectors, SIMD_AVX2 the AVX2 code, SIMD_AVX512 (the default) all that
    the CPU has. Returns the previous cap. For tests and benchmarks that check or time
    each path: the bytes produced are the same whichever runs."""
    cdef int was = zx_crypto_simd_enabled()
    zx_crypto_set_simd(level)
    return was


def random_bytes(Py_ssize_t n):
    """n bytes from the operating system's CSPRNG."""
    if n < 0:
        raise ValueError("n must be >= 0")
    cdef bytes out = PyBytes_FromStringAndSize(NULL, n)
    cdef uint8_t *w_out
    cdef int rc
    w_out = _w(out)
    with nogil:
        rc = zx_randombytes(w_out, <size_t>n)
    if rc != 0:
        raise OSError("the operating system's random source failed")
    return out


def keypair():
    """A fresh X25519 key pair as raw bytes: (public, secret), 32 bytes each."""
    cdef bytes pk = PyBytes_FromStringAndSize(NULL, 32)
    cdef bytes sk = PyBytes_FromStringAndSize(NULL, 32)
    cdef uint8_t *w_pk
    cdef uint8_t *w_sk
    cdef int rc
    w_pk = _w(pk)
    w_sk = _w(sk)
    with nogil:
        rc = zx_box_keypair(w_pk, w_sk)
    if rc != 0:
        raise OSError("the operating system's random source failed")
    return pk, sk


def public_key(secret):
    """The X25519 public key (raw, 32 bytes) of a raw 32-byte secret key."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 32)
    cdef uint8_t *w_out
    try:
        _take(&bs, secret, 32, "secret key")
        w_out = _w(out)
        with nogil:
            zx_x25519_base(w_out, _p(&bs, 0))
    finally:
        _release(&bs)
    return out


ctypedef int (*_two_key_fn)(uint8_t *, const uint8_t *, const uint8_t *) noexcept nogil


cdef bytes _two_keys(_two_key_fn fn, a, b, str name_a, str name_b, str failure):
    # 32 bytes out of two 32-byte keys (X25519, crypto_box_beforenm): fn returns -1 when
    # the result is all zeros (a low-order or degenerate public key)
    cdef _bufs bs
    bs.n = 0
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 32)
    cdef uint8_t *w_out
    cdef int rc
    try:
        _take(&bs, a, 32, name_a)
        _take(&bs, b, 32, name_b)
        w_out = _w(out)
        with nogil:
            rc = fn(w_out, _p(&bs, 0), _p(&bs, 1))
    finally:
        _release(&bs)
    if rc != 0:
        raise CryptoError(failure)
    return out


def scalarmult(n, p):
    """X25519(n, p) of RFC 7748. CryptoError if the result is all zeros (low-order p)."""
    return _two_keys(zx_x25519, n, p, "scalar", "point",
                     "X25519 result is zero (low-order point)")


def hsalsa20(inp, key, constant=None):
    """HSalsa20 of a 16-byte input under a 32-byte key (optional 16-byte constant)."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 32)
    cdef uint8_t *w_out
    cdef const uint8_t *c = NULL
    try:
        _take(&bs, inp, 16, "input")
        _take(&bs, key, 32, "key")
        if constant is not None:
            _take(&bs, constant, 16, "constant")
            c = _p(&bs, 2)
        w_out = _w(out)
        with nogil:
            zx_hsalsa20(w_out, _p(&bs, 0), _p(&bs, 1), c)
    finally:
        _release(&bs)
    return out


def _stream_xor(bint extended, data, nonce, key, uint64_t ic):
    cdef _bufs bs
    bs.n = 0
    cdef bytes out
    cdef uint8_t *w_out
    try:
        _take(&bs, data, -1, "data")
        _take(&bs, nonce, 24 if extended else 8, "nonce")
        _take(&bs, key, 32, "key")
        out = PyBytes_FromStringAndSize(NULL, bs.b[0].len)
        w_out = _w(out)
        with nogil:
            if extended:
                zx_xsalsa20_xor_ic(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1), ic,
                                   _p(&bs, 2))
            else:
                zx_salsa20_xor_ic(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1), ic,
                                  _p(&bs, 2))
    finally:
        _release(&bs)
    return out


def salsa20_xor(data, nonce, key, uint64_t ic=0):
    """data XOR the Salsa20/20 keystream (8-byte nonce) from block ic."""
    return _stream_xor(False, data, nonce, key, ic)


def xsalsa20_xor(data, nonce, key, uint64_t ic=0):
    """data XOR the XSalsa20 keystream (24-byte nonce) from block ic."""
    return _stream_xor(True, data, nonce, key, ic)


def poly1305(data, key):
    """The 16-byte Poly1305 tag of data under a 32-byte one-time key."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out = PyBytes_FromStringAndSize(NULL, 16)
    cdef uint8_t *w_out
    try:
        _take(&bs, data, -1, "data")
        _take(&bs, key, 32, "key")
        w_out = _w(out)
        with nogil:
            zx_poly1305(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1))
    finally:
        _release(&bs)
    return out


def poly1305_verify(tag, data, key):
    """True if tag is data's Poly1305 tag under key (compared in constant time)."""
    cdef _bufs bs
    bs.n = 0
    cdef int rc
    try:
        _take(&bs, tag, 16, "tag")
        _take(&bs, data, -1, "data")
        _take(&bs, key, 32, "key")
        with nogil:
            rc = zx_poly1305_verify(_p(&bs, 0), _p(&bs, 1), <size_t>bs.b[1].len, _p(&bs, 2))
    finally:
        _release(&bs)
    return rc == 0


def beforenm(public, secret):
    """The 32-byte shared key of crypto_box_beforenm (their public, our secret)."""
    return _two_keys(zx_box_beforenm, public, secret, "public key", "secret key",
                     "degenerate public key")


def secretbox(message, nonce, key):
    """XSalsa20-Poly1305: tag (16) || ciphertext."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out
    cdef uint8_t *w_out
    try:
        _take(&bs, message, -1, "message")
        _take(&bs, nonce, 24, "nonce")
        _take(&bs, key, 32, "key")
        out = PyBytes_FromStringAndSize(NULL, bs.b[0].len + 16)
        w_out = _w(out)
        with nogil:
            zx_secretbox_easy(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1), _p(&bs, 2))
    finally:
        _release(&bs)
    return out


def secretbox_head(head, message, nonce, key):
    """secretbox(head + message, nonce, key) computed without joining them (head: at most
    32 bytes), the way the engine boxes a frame's flags byte and its body."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out
    cdef uint8_t *w_out
    cdef int rc
    try:
        _take(&bs, head, -1, "head")
        _take(&bs, message, -1, "message")
        _take(&bs, nonce, 24, "nonce")
        _take(&bs, key, 32, "key")
        if bs.b[0].len > 32:
            raise ValueError("head longer than 32 bytes")
        out = PyBytes_FromStringAndSize(NULL, bs.b[0].len + bs.b[1].len + 16)
        w_out = _w(out)
        with nogil:
            rc = zx_secretbox_easy_head(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1),
                                        <size_t>bs.b[1].len, _p(&bs, 2), _p(&bs, 3))
    finally:
        _release(&bs)
    if rc != 0:
        raise ValueError("head longer than 32 bytes")
    return out


def secretbox_open(box, nonce, key):
    """Inverse of secretbox; CryptoError if the tag does not verify."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out
    cdef uint8_t *w_out
    cdef int rc
    try:
        _take(&bs, box, -1, "box")
        _take(&bs, nonce, 24, "nonce")
        _take(&bs, key, 32, "key")
        if bs.b[0].len < 16:
            raise CryptoError("box shorter than its tag")
        out = PyBytes_FromStringAndSize(NULL, bs.b[0].len - 16)
        w_out = _w(out)
        with nogil:
            rc = zx_secretbox_open_easy(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1),
                                        _p(&bs, 2))
    finally:
        _release(&bs)
    if rc != 0:
        raise CryptoError("forged or corrupted box")
    return out


def afternm(message, nonce, key):
    """crypto_box_afternm with a beforenm key: tag || ciphertext."""
    return secretbox(message, nonce, key)


def open_afternm(box, nonce, key):
    """crypto_box_open_afternm: CryptoError if the tag does not verify."""
    return secretbox_open(box, nonce, key)


def box(message, nonce, public, secret):
    """crypto_box (their public, our secret): tag || ciphertext."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out
    cdef uint8_t *w_out
    cdef int rc
    try:
        _take(&bs, message, -1, "message")
        _take(&bs, nonce, 24, "nonce")
        _take(&bs, public, 32, "public key")
        _take(&bs, secret, 32, "secret key")
        out = PyBytes_FromStringAndSize(NULL, bs.b[0].len + 16)
        w_out = _w(out)
        with nogil:
            rc = zx_box_easy(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1), _p(&bs, 2),
                             _p(&bs, 3))
    finally:
        _release(&bs)
    if rc != 0:
        raise CryptoError("degenerate public key")
    return out


def box_open(box, nonce, public, secret):
    """crypto_box_open: CryptoError if forged or the key is degenerate."""
    cdef _bufs bs
    bs.n = 0
    cdef bytes out
    cdef uint8_t *w_out
    cdef int rc
    try:
        _take(&bs, box, -1, "box")
        _take(&bs, nonce, 24, "nonce")
        _take(&bs, public, 32, "public key")
        _take(&bs, secret, 32, "secret key")
        if bs.b[0].len < 16:
            raise CryptoError("box shorter than its tag")
        out = PyBytes_FromStringAndSize(NULL, bs.b[0].len - 16)
        w_out = _w(out)
        with nogil:
            rc = zx_box_open_easy(w_out, _p(&bs, 0), <size_t>bs.b[0].len, _p(&bs, 1),
                                  _p(&bs, 2), _p(&bs, 3))
    finally:
        _release(&bs)
    if rc != 0:
        raise CryptoError("forged or corrupted box")
    return out


def nacl_box(padded, nonce, public=None, secret=None, key=None):
    """NaCl's padded crypto_box (public+secret) or crypto_box_afternm (key): the
    plaintext starts with 32 zero bytes, the result with 16."""
    return _nacl(True, padded, nonce, public, secret, key)


def nacl_box_open(padded, nonce, public=None, secret=None, key=None):
    """NaCl's padded crypto_box_open / crypto_box_open_afternm."""
    return _nacl(False, padded, nonce, public, secret, key)


def _nacl(bint seal, data, nonce, public, secret, key):
    cdef _bufs bs
    bs.n = 0
    cdef bytes out
    cdef uint8_t *w_out
    cdef int rc
    cdef bint afternm = key is not None
    cdef size_t n
    try:
        _take(&bs, data, -1, "data")
        _take(&bs, nonce, 24, "nonce")
        if afternm:
            _take(&bs, key, 32, "key")
        else:
            _take(&bs, public, 32, "public key")
            _take(&bs, secret, 32, "secret key")
        n = <size_t>bs.b[0].len
        out = PyBytes_FromStringAndSize(NULL, bs.b[0].len)
        w_out = _w(out)
        with nogil:
            if seal and afternm:
                rc = zx_box_afternm(w_out, _p(&bs, 0), n, _p(&bs, 1), _p(&bs, 2))
            elif seal:
                rc = zx_box(w_out, _p(&bs, 0), n, _p(&bs, 1), _p(&bs, 2), _p(&bs, 3))
            elif afternm:
                rc = zx_box_open_afternm(w_out, _p(&bs, 0), n, _p(&bs, 1), _p(&bs, 2))
            else:
                rc = zx_box_open(w_out, _p(&bs, 0), n, _p(&bs, 1), _p(&bs, 2), _p(&bs, 3))
    finally:
        _release(&bs)
    if rc != 0:
        raise CryptoError("forged, too short, or degenerate key")
    return out


# ---------------------------------------------------------------- pyzmq's key tools

def curve_keypair():
    """Generate a CURVE key pair: (public, secret), each 40 bytes of Z85, as pyzmq."""
    from zmqx.utils import z85
    pk, sk = keypair()
    return z85.encode(pk), z85.encode(sk)


def curve_public(secret_key):
    """The Z85 public key (40 bytes) of a Z85 secret key, as pyzmq's zmq.curve_public."""
    from zmqx.utils import z85
    from zmqx.error import ZMQError
    if isinstance(secret_key, str):
        secret_key = secret_key.encode("utf8")
    if len(secret_key) != 40:
        raise ValueError("secret key must be a 40 byte z85 encoded string")
    try:
        raw = z85.decode(secret_key)
    except Exception:
        # an invalid Z85 character or group: libzmq answers EINVAL
        raise ZMQError(_errno.EINVAL) from None
    return z85.encode(public_key(raw))
