# The crypto C API for the engine: NaCl box/secretbox, X25519 and OS randomness, as
# implemented in zmqx/_core/crypto/ (see zx_crypto.h for the contracts).
#
# Only this module links the C files. Other Cython modules `cimport` these functions and
# Cython resolves them through curve's exported C-API table at import time, so the crypto
# code exists once in the process. All are noexcept nogil: the I/O thread calls them
# without the GIL. Return values: 0 on success, -1 on failure (bad tag, low-order key,
# OS randomness error).
from libc.stdint cimport uint8_t

cdef enum:
    CURVE_KEYBYTES = 32        # public, secret and precomputed (beforenm) keys
    CURVE_NONCEBYTES = 24
    CURVE_MACBYTES = 16        # the tag in front of every box ("easy" form)
    CURVE_ZEROBYTES = 32       # NaCl padding before a plaintext
    CURVE_BOXZEROBYTES = 16    # NaCl padding before a ciphertext

cdef int crypto_random(void *buf, size_t n) noexcept nogil
cdef void crypto_wipe(void *buf, size_t n) noexcept nogil
cdef int crypto_verify16(const uint8_t *a, const uint8_t *b) noexcept nogil
cdef int crypto_keypair(uint8_t *pk, uint8_t *sk) noexcept nogil
cdef int crypto_public(uint8_t *pk, const uint8_t *sk) noexcept nogil
cdef int crypto_scalarmult(uint8_t *q, const uint8_t *n, const uint8_t *p) noexcept nogil
cdef int crypto_beforenm(uint8_t *k, const uint8_t *pk, const uint8_t *sk) noexcept nogil
# c = tag || ciphertext (mlen + 16 bytes); in place when m == c + 16
cdef int crypto_seal(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t *n,
                     const uint8_t *k) noexcept nogil
# the same box of head || m (hlen <= 32) with m read where it lies; c must not overlap m
cdef int crypto_seal_head(uint8_t *c, const uint8_t *head, size_t hlen, const uint8_t *m,
                          size_t mlen, const uint8_t *n, const uint8_t *k) noexcept nogil
# m = clen - 16 bytes; nothing is written unless the tag verifies; in place when m == c + 16
cdef int crypto_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t *n,
                     const uint8_t *k) noexcept nogil
cdef int crypto_seal_detached(uint8_t *c, uint8_t *mac, const uint8_t *m, size_t mlen,
                              const uint8_t *n, const uint8_t *k) noexcept nogil
cdef int crypto_open_detached(uint8_t *m, const uint8_t *c, const uint8_t *mac, size_t clen,
                              const uint8_t *n, const uint8_t *k) noexcept nogil
