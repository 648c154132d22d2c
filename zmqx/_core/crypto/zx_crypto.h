/* zx_crypto.h: the C interface of zmqx's own crypto (the primitives CurveZMQ needs).
 *
 * zmqx links no external crypto library, so this directory holds the whole of it:
 * X25519 (RFC 7748), Salsa20/HSalsa20/XSalsa20, Poly1305 (RFC 8439 section 2.5), the NaCl
 * box/secretbox composition that libzmq's CURVE uses, and OS randomness. Every function here
 * is pure C, touches no Python object and takes no lock, so the I/O thread can call it with
 * the GIL released. Names carry a zx_ prefix so they never collide with a libsodium that
 * happens to be loaded in the same process.
 *
 * Conventions: byte strings are little-endian as the specifications define them; a return
 * of 0 means success and -1 failure (a forged box, a degenerate key, an OS error). Secret
 * intermediate values are wiped before return with zx_memzero. */
#ifndef ZX_CRYPTO_H
#define ZX_CRYPTO_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define ZX_X25519_BYTES 32
#define ZX_BOX_PUBLICKEYBYTES 32
#define ZX_BOX_SECRETKEYBYTES 32
#define ZX_BOX_BEFORENMBYTES 32
#define ZX_BOX_NONCEBYTES 24
#define ZX_BOX_MACBYTES 16
#define ZX_BOX_ZEROBYTES 32    /* leading zero bytes of a NaCl-padded plaintext */
#define ZX_BOX_BOXZEROBYTES 16 /* leading zero bytes of a NaCl-padded ciphertext */
#define ZX_SECRETBOX_KEYBYTES 32
#define ZX_SECRETBOX_NONCEBYTES 24
#define ZX_POLY1305_KEYBYTES 32
#define ZX_POLY1305_BYTES 16

/* ---- utilities (randombytes.c) */

/* Overwrite n bytes with zeros in a way the compiler may not drop as a dead store. */
void zx_memzero(void *p, size_t n);
/* Constant-time comparison of two 16-byte strings: 0 if equal, -1 otherwise. */
int zx_verify16(const uint8_t *a, const uint8_t *b);
/* Fill buf with n bytes from the operating system's CSPRNG. 0, or -1 with errno set. */
int zx_randombytes(void *buf, size_t n);

/* The vector code paths (Salsa20 and Poly1305 on several blocks at once) run by default
 * wherever the compiler and the CPU have them. zx_crypto_set_simd(level) caps them, so the
 * tests can compare every path with libsodium on one machine: ZX_SIMD_NONE forces the
 * portable C, ZX_SIMD_VEC128 allows the 4-lane generic vectors, ZX_SIMD_AVX2 the AVX2
 * code, ZX_SIMD_AVX512 (the default) everything. Either path gives the same bytes, so a
 * change while another thread encrypts is harmless. */
#define ZX_SIMD_NONE 0
#define ZX_SIMD_VEC128 1
#define ZX_SIMD_AVX2 2
#define ZX_SIMD_AVX512 3
void zx_crypto_set_simd(int level);
int zx_crypto_simd_enabled(void); /* the cap in force */

/* ---- X25519 (x25519.c) */

/* q = X25519(n, p). Returns -1 (q still written) if q is all zeros, i.e. p is a
 * low-order point: libsodium's crypto_scalarmult rule. */
int zx_x25519(uint8_t q[32], const uint8_t n[32], const uint8_t p[32]);
/* q = X25519(n, 9): the public key of the secret key n. */
int zx_x25519_base(uint8_t q[32], const uint8_t n[32]);

/* ---- Salsa20 family (salsa20.c) */

/* HSalsa20: 32 bytes derived from a 32-byte key and a 16-byte input. c = NULL means the
 * standard "expand 32-byte k" constant. */
void zx_hsalsa20(uint8_t out[32], const uint8_t in[16], const uint8_t k[32], const uint8_t *c);
/* One Salsa20/20 block: the keystream block number ic under an 8-byte nonce. */
void zx_salsa20_block(uint8_t out[64], const uint8_t n[8], uint64_t ic, const uint8_t k[32]);
/* c = m XOR Salsa20 keystream starting at block ic. c may equal m (in place);
 * m = NULL means "the keystream itself". */
void zx_salsa20_xor_ic(uint8_t *c, const uint8_t *m, size_t len, const uint8_t n[8],
                       uint64_t ic, const uint8_t k[32]);
/* The same with XSalsa20's 24-byte nonce (HSalsa20 subkey, then Salsa20). */
void zx_xsalsa20_xor_ic(uint8_t *c, const uint8_t *m, size_t len, const uint8_t n[24],
                        uint64_t ic, const uint8_t k[32]);

/* ---- Poly1305 (poly1305.c) */

typedef struct {
    uint64_t r[5], h[5], pad[2]; /* the limbs in use depend on the build (see poly1305.c) */
    size_t leftover;
    uint8_t buffer[16];
} zx_poly1305_state;

void zx_poly1305_init(zx_poly1305_state *st, const uint8_t key[32]);
void zx_poly1305_update(zx_poly1305_state *st, const uint8_t *m, size_t len);
void zx_poly1305_final(zx_poly1305_state *st, uint8_t mac[16]); /* wipes st */
void zx_poly1305(uint8_t mac[16], const uint8_t *m, size_t len, const uint8_t key[32]);
/* 0 if mac is the tag of m under key (constant-time compare), -1 otherwise. */
int zx_poly1305_verify(const uint8_t mac[16], const uint8_t *m, size_t len,
                       const uint8_t key[32]);

/* ---- secretbox and box (box.c) */

/* Detached XSalsa20-Poly1305: c (mlen bytes) and its tag. c may equal m. */
int zx_secretbox_detached(uint8_t *c, uint8_t mac[16], const uint8_t *m, size_t mlen,
                          const uint8_t n[24], const uint8_t k[32]);
/* Verifies the tag first (nothing is decrypted on failure), then m = decrypt(c); m may equal c. */
int zx_secretbox_open_detached(uint8_t *m, const uint8_t *c, const uint8_t mac[16],
                               size_t clen, const uint8_t n[24], const uint8_t k[32]);
/* Compact form used on the CurveZMQ wire: c = tag || ciphertext, mlen + 16 bytes.
 * In place works when m == c + 16. */
int zx_secretbox_easy(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                      const uint8_t k[32]);
/* The compact box of head || m (hlen <= 32) without joining them first: m is read where it
 * lies (the engine boxes a frame's flags byte and its body this way). c (hlen + mlen + 16
 * bytes) must not overlap m. */
int zx_secretbox_easy_head(uint8_t *c, const uint8_t *head, size_t hlen, const uint8_t *m,
                           size_t mlen, const uint8_t n[24], const uint8_t k[32]);
/* clen >= 16; m receives clen - 16 bytes. In place works when m == c + 16. */
int zx_secretbox_open_easy(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                           const uint8_t k[32]);
/* NaCl's padded forms: m starts with 32 zero bytes, c with 16 zero bytes, same length. */
int zx_secretbox(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                 const uint8_t k[32]);
int zx_secretbox_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                      const uint8_t k[32]);

int zx_box_keypair(uint8_t pk[32], uint8_t sk[32]);
/* k = HSalsa20(X25519(sk, pk), 0): the shared key both sides derive. -1 on a low-order pk. */
int zx_box_beforenm(uint8_t k[32], const uint8_t pk[32], const uint8_t sk[32]);
/* Padded (NaCl) box: beforenm + secretbox; afternm/open_afternm take the precomputed key. */
int zx_box(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
           const uint8_t pk[32], const uint8_t sk[32]);
int zx_box_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                const uint8_t pk[32], const uint8_t sk[32]);
int zx_box_afternm(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                   const uint8_t k[32]);
int zx_box_open_afternm(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                        const uint8_t k[32]);
/* Compact (tag || ciphertext) box with the long-term keys. */
int zx_box_easy(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                const uint8_t pk[32], const uint8_t sk[32]);
int zx_box_open_easy(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                     const uint8_t pk[32], const uint8_t sk[32]);

#ifdef __cplusplus
}
#endif
#endif /* ZX_CRYPTO_H */
