/* box.c: NaCl's authenticated encryption as libzmq's CURVE uses it.
 *
 * secretbox = XSalsa20 + Poly1305: the first 32 bytes of the XSalsa20 keystream are the
 * one-time Poly1305 key, the rest encrypts the message, the tag covers the ciphertext.
 * box = secretbox under k = HSalsa20(X25519(sk, pk), 0) ("beforenm"), so a connection
 * derives k once and then calls afternm/open_afternm per message.
 *
 * Three shapes of the same construction: detached (ciphertext and tag apart: the engine's
 * zero-copy path), "easy" (tag || ciphertext: the CurveZMQ wire form) and NaCl's padded
 * form (32 zero bytes before the plaintext, 16 before the ciphertext), kept for
 * compatibility with code written against crypto_box. Opening verifies the tag in
 * constant time before anything is decrypted. */
#include "zx_crypto.h"

#include <string.h>

static const uint8_t zero16[16] = {0};

/* Per-message key schedule: the XSalsa20 subkey for (n, k) and keystream block 0, whose
 * first half is the Poly1305 key and whose second half encrypts message bytes 0..31. */
typedef struct {
    uint8_t subkey[32];
    uint8_t block0[64];
} msg_keys;

static void msg_keys_init(msg_keys *mk, const uint8_t n[24], const uint8_t k[32])
{
    zx_hsalsa20(mk->subkey, n, k, NULL);
    zx_salsa20_block(mk->block0, n + 16, 0, mk->subkey);
}

/* out = in XOR the message keystream (block 0's tail, then blocks 1, 2, ...) */
static void msg_xor(uint8_t *out, const uint8_t *in, size_t len, const msg_keys *mk,
                    const uint8_t n[24])
{
    size_t head = len < 32 ? len : 32, i;
    for (i = 0; i < head; i++) out[i] = (uint8_t)(in[i] ^ mk->block0[32 + i]);
    if (len > 32) zx_salsa20_xor_ic(out + 32, in + 32, len - 32, n + 16, 1, mk->subkey);
}

int zx_secretbox_detached(uint8_t *c, uint8_t mac[16], const uint8_t *m, size_t mlen,
                          const uint8_t n[24], const uint8_t k[32])
{
    msg_keys mk;
    msg_keys_init(&mk, n, k);
    msg_xor(c, m, mlen, &mk, n);
    zx_poly1305(mac, c, mlen, mk.block0);
    zx_memzero(&mk, sizeof mk);
    return 0;
}

int zx_secretbox_open_detached(uint8_t *m, const uint8_t *c, const uint8_t mac[16],
                               size_t clen, const uint8_t n[24], const uint8_t k[32])
{
    msg_keys mk;
    int rc;
    msg_keys_init(&mk, n, k);
    rc = zx_poly1305_verify(mac, c, clen, mk.block0);
    if (rc == 0) msg_xor(m, c, clen, &mk, n);
    zx_memzero(&mk, sizeof mk);
    return rc;
}

int zx_secretbox_easy(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                      const uint8_t k[32])
{
    uint8_t mac[16];
    /* the tag goes in front; compute it aside so that m == c + 16 (in place) works */
    zx_secretbox_detached(c + 16, mac, m, mlen, n, k);
    memcpy(c, mac, 16);
    return 0;
}

int zx_secretbox_easy_head(uint8_t *c, const uint8_t *head, size_t hlen, const uint8_t *m,
                           size_t mlen, const uint8_t n[24], const uint8_t k[32])
{
    msg_keys mk;
    uint8_t first[32];
    uint8_t *ct = c + 16;
    size_t total = hlen + mlen, nfirst, fromm, i;
    if (hlen > 32 || total < hlen) return -1;
    nfirst = total < 32 ? total : 32;
    fromm = nfirst - hlen;              /* bytes of m that block 0's tail encrypts */
    msg_keys_init(&mk, n, k);
    memcpy(first, head, hlen);
    if (fromm) memcpy(first + hlen, m, fromm);
    for (i = 0; i < nfirst; i++) ct[i] = (uint8_t)(first[i] ^ mk.block0[32 + i]);
    /* the rest of m straight from where it lies: keystream blocks 1, 2, ... */
    if (total > 32) zx_salsa20_xor_ic(ct + 32, m + fromm, total - 32, n + 16, 1, mk.subkey);
    zx_poly1305(c, ct, total, mk.block0);
    zx_memzero(first, sizeof first);
    zx_memzero(&mk, sizeof mk);
    return 0;
}

int zx_secretbox_open_easy(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                           const uint8_t k[32])
{
    uint8_t mac[16];
    if (clen < 16) return -1;
    memcpy(mac, c, 16);
    return zx_secretbox_open_detached(m, c + 16, mac, clen - 16, n, k);
}

int zx_secretbox(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                 const uint8_t k[32])
{
    uint8_t mac[16];
    if (mlen < 32) return -1;
    /* ciphertext of the 32 zero bytes' tail (16..31) is where the tag goes; the rest is
     * the message proper */
    zx_secretbox_detached(c + 32, mac, m + 32, mlen - 32, n, k);
    memset(c, 0, 16);
    memcpy(c + 16, mac, 16);
    return 0;
}

int zx_secretbox_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                      const uint8_t k[32])
{
    uint8_t mac[16];
    if (clen < 32) return -1;
    memcpy(mac, c + 16, 16);
    if (zx_secretbox_open_detached(m + 32, c + 32, mac, clen - 32, n, k) != 0) return -1;
    memset(m, 0, 32);
    return 0;
}

int zx_box_keypair(uint8_t pk[32], uint8_t sk[32])
{
    if (zx_randombytes(sk, 32) != 0) return -1;
    return zx_x25519_base(pk, sk);
}

int zx_box_beforenm(uint8_t k[32], const uint8_t pk[32], const uint8_t sk[32])
{
    uint8_t s[32];
    int rc = zx_x25519(s, sk, pk);
    if (rc == 0) zx_hsalsa20(k, zero16, s, NULL);
    zx_memzero(s, sizeof s);
    return rc;
}

int zx_box_afternm(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                   const uint8_t k[32])
{
    return zx_secretbox(c, m, mlen, n, k);
}

int zx_box_open_afternm(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                        const uint8_t k[32])
{
    return zx_secretbox_open(m, c, clen, n, k);
}

int zx_box(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
           const uint8_t pk[32], const uint8_t sk[32])
{
    uint8_t k[32];
    int rc = zx_box_beforenm(k, pk, sk);
    if (rc == 0) rc = zx_secretbox(c, m, mlen, n, k);
    zx_memzero(k, sizeof k);
    return rc;
}

int zx_box_open(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                const uint8_t pk[32], const uint8_t sk[32])
{
    uint8_t k[32];
    int rc = zx_box_beforenm(k, pk, sk);
    if (rc == 0) rc = zx_secretbox_open(m, c, clen, n, k);
    zx_memzero(k, sizeof k);
    return rc;
}

int zx_box_easy(uint8_t *c, const uint8_t *m, size_t mlen, const uint8_t n[24],
                const uint8_t pk[32], const uint8_t sk[32])
{
    uint8_t k[32];
    int rc = zx_box_beforenm(k, pk, sk);
    if (rc == 0) rc = zx_secretbox_easy(c, m, mlen, n, k);
    zx_memzero(k, sizeof k);
    return rc;
}

int zx_box_open_easy(uint8_t *m, const uint8_t *c, size_t clen, const uint8_t n[24],
                     const uint8_t pk[32], const uint8_t sk[32])
{
    uint8_t k[32];
    int rc = zx_box_beforenm(k, pk, sk);
    if (rc == 0) rc = zx_secretbox_open_easy(m, c, clen, n, k);
    zx_memzero(k, sizeof k);
    return rc;
}
