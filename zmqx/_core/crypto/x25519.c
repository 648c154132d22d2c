/* x25519.c: the X25519 Diffie-Hellman function of RFC 7748, CurveZMQ's key agreement.
 *
 * Field elements mod p = 2^255 - 19 are five 51-bit limbs multiplied through
 * unsigned __int128 where the compiler has it (GCC, Clang on 64-bit targets), else sixteen
 * 16-bit limbs in int64 (any C99 compiler; slower, only used at handshake time).
 * The scalar multiplication is the RFC's Montgomery ladder: 255 identical steps whose
 * only dependence on the secret is a conditional swap done with masks, so neither the
 * branch pattern nor the memory access pattern depends on the key. Inversion is a fixed
 * exponentiation (Fermat: z^(p-2)). */
#include "zx_crypto.h"

#include <string.h>

#if defined(__SIZEOF_INT128__) && !defined(ZX_CRYPTO_PORTABLE)
/* ------------------------------------------------------------ radix 2^51 */
typedef unsigned __int128 u128;
typedef uint64_t fe[5];
#define M51 ((uint64_t)0x7ffffffffffffULL)

static inline uint64_t ld64(const uint8_t *p)
{
    uint64_t v = 0;
    int i;
    for (i = 7; i >= 0; i--) v = (v << 8) | p[i];
    return v;
}

static void fe_frombytes(fe h, const uint8_t s[32])
{
    /* limb i holds bits 51*i .. 51*i+50; bit 255 is ignored as RFC 7748 requires */
    h[0] = ld64(s) & M51;
    h[1] = (ld64(s + 6) >> 3) & M51;
    h[2] = (ld64(s + 12) >> 6) & M51;
    h[3] = (ld64(s + 19) >> 1) & M51;
    h[4] = (ld64(s + 24) >> 12) & M51;
}

static inline void fe_carry(fe h)
{
    uint64_t c;
    c = h[0] >> 51; h[0] &= M51; h[1] += c;
    c = h[1] >> 51; h[1] &= M51; h[2] += c;
    c = h[2] >> 51; h[2] &= M51; h[3] += c;
    c = h[3] >> 51; h[3] &= M51; h[4] += c;
    c = h[4] >> 51; h[4] &= M51; h[0] += c * 19; /* 2^255 = 19 (mod p) */
    c = h[0] >> 51; h[0] &= M51; h[1] += c;
}

static void fe_tobytes(uint8_t s[32], const fe f)
{
    fe h;
    uint64_t q;
    int i, j;
    memcpy(h, f, sizeof h);
    fe_carry(h);
    fe_carry(h); /* now every limb < 2^51, so 0 <= h < 2^255 */
    /* q = 1 exactly when h >= p, i.e. when h + 19 reaches 2^255 */
    q = (h[0] + 19) >> 51;
    q = (h[1] + q) >> 51;
    q = (h[2] + q) >> 51;
    q = (h[3] + q) >> 51;
    q = (h[4] + q) >> 51;
    h[0] += 19 * q; /* h - q*p = h + 19q - q*2^255: add, carry, drop bit 255 */
    q = h[0] >> 51; h[0] &= M51; h[1] += q;
    q = h[1] >> 51; h[1] &= M51; h[2] += q;
    q = h[2] >> 51; h[2] &= M51; h[3] += q;
    q = h[3] >> 51; h[3] &= M51; h[4] += q;
    h[4] &= M51;
    {
        uint64_t w[4];
        w[0] = h[0] | (h[1] << 51);
        w[1] = (h[1] >> 13) | (h[2] << 38);
        w[2] = (h[2] >> 26) | (h[3] << 25);
        w[3] = (h[3] >> 39) | (h[4] << 12);
        for (i = 0; i < 4; i++)
            for (j = 0; j < 8; j++) s[8 * i + j] = (uint8_t)(w[i] >> (8 * j));
    }
}

static inline void fe_add(fe h, const fe f, const fe g)
{
    int i;
    for (i = 0; i < 5; i++) h[i] = f[i] + g[i];
}

/* f - g computed as f + 2p - g so no limb goes negative (inputs have limbs < 2^52) */
static inline void fe_sub(fe h, const fe f, const fe g)
{
    h[0] = f[0] + 0xfffffffffffdaULL - g[0];
    h[1] = f[1] + 0xffffffffffffeULL - g[1];
    h[2] = f[2] + 0xffffffffffffeULL - g[2];
    h[3] = f[3] + 0xffffffffffffeULL - g[3];
    h[4] = f[4] + 0xffffffffffffeULL - g[4];
}

static inline void fe_reduce128(fe h, u128 r0, u128 r1, u128 r2, u128 r3, u128 r4)
{
    uint64_t c;
    r1 += (uint64_t)(r0 >> 51); h[0] = (uint64_t)r0 & M51;
    r2 += (uint64_t)(r1 >> 51); h[1] = (uint64_t)r1 & M51;
    r3 += (uint64_t)(r2 >> 51); h[2] = (uint64_t)r2 & M51;
    r4 += (uint64_t)(r3 >> 51); h[3] = (uint64_t)r3 & M51;
    c = (uint64_t)(r4 >> 51); h[4] = (uint64_t)r4 & M51;
    h[0] += c * 19;
    c = h[0] >> 51; h[0] &= M51; h[1] += c;
}

static void fe_mul(fe h, const fe f, const fe g)
{
    /* limbs above the fifth wrap around times 19 */
    const uint64_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
    const uint64_t g0 = g[0], g1 = g[1], g2 = g[2], g3 = g[3], g4 = g[4];
    const uint64_t g1_19 = g1 * 19, g2_19 = g2 * 19, g3_19 = g3 * 19, g4_19 = g4 * 19;
    u128 r0 = (u128)f0 * g0 + (u128)f1 * g4_19 + (u128)f2 * g3_19 + (u128)f3 * g2_19 +
              (u128)f4 * g1_19;
    u128 r1 = (u128)f0 * g1 + (u128)f1 * g0 + (u128)f2 * g4_19 + (u128)f3 * g3_19 +
              (u128)f4 * g2_19;
    u128 r2 = (u128)f0 * g2 + (u128)f1 * g1 + (u128)f2 * g0 + (u128)f3 * g4_19 +
              (u128)f4 * g3_19;
    u128 r3 = (u128)f0 * g3 + (u128)f1 * g2 + (u128)f2 * g1 + (u128)f3 * g0 +
              (u128)f4 * g4_19;
    u128 r4 = (u128)f0 * g4 + (u128)f1 * g3 + (u128)f2 * g2 + (u128)f3 * g1 +
              (u128)f4 * g0;
    fe_reduce128(h, r0, r1, r2, r3, r4);
}

static void fe_sq(fe h, const fe f)
{
    const uint64_t f0 = f[0], f1 = f[1], f2 = f[2], f3 = f[3], f4 = f[4];
    const uint64_t f0_2 = f0 * 2, f1_2 = f1 * 2;
    const uint64_t f3_19 = f3 * 19, f4_19 = f4 * 19;
    u128 r0 = (u128)f0 * f0 + (u128)f1_2 * f4_19 + (u128)(f2 * 2) * f3_19;
    u128 r1 = (u128)f0_2 * f1 + (u128)(f2 * 2) * f4_19 + (u128)f3 * f3_19;
    u128 r2 = (u128)f0_2 * f2 + (u128)f1 * f1 + (u128)(f3 * 2) * f4_19;
    u128 r3 = (u128)f0_2 * f3 + (u128)f1_2 * f2 + (u128)f4 * f4_19;
    u128 r4 = (u128)f0_2 * f4 + (u128)f1_2 * f3 + (u128)f2 * f2;
    fe_reduce128(h, r0, r1, r2, r3, r4);
}

static void fe_mul_a24(fe h, const fe f) /* h = 121665 * f */
{
    fe_reduce128(h, (u128)f[0] * 121665, (u128)f[1] * 121665, (u128)f[2] * 121665,
                 (u128)f[3] * 121665, (u128)f[4] * 121665);
}

static inline void fe_cswap(fe a, fe b, uint64_t bit)
{
    uint64_t mask = (uint64_t)0 - bit, t;
    int i;
    for (i = 0; i < 5; i++) {
        t = mask & (a[i] ^ b[i]);
        a[i] ^= t;
        b[i] ^= t;
    }
}

static inline void fe_one(fe h) { h[0] = 1; h[1] = h[2] = h[3] = h[4] = 0; }
static inline void fe_zero(fe h) { h[0] = h[1] = h[2] = h[3] = h[4] = 0; }
static inline void fe_copy(fe h, const fe f) { memcpy(h, f, sizeof(fe)); }
#define FE_LIMBS 5

#else
/* ------------------------------------------------------------ radix 2^16 (portable) */
typedef int64_t fe[16];

static void fe_frombytes(fe h, const uint8_t s[32])
{
    int i;
    for (i = 0; i < 16; i++) h[i] = (int64_t)s[2 * i] | ((int64_t)s[2 * i + 1] << 8);
    h[15] &= 0x7fff;
}

/* bring limbs 1..15 back to 0..2^16-1, folding the carry out of the top into limb 0
 * (2^256 = 38 mod p). Carries are exact divisions, so negative limbs need no shifts of
 * negative numbers. */
static void fe_carry(fe h)
{
    int i;
    int64_t c;
    for (i = 0; i < 15; i++) {
        c = (h[i] - (h[i] & 0xffff)) / 65536;
        h[i] &= 0xffff;
        h[i + 1] += c;
    }
    c = (h[15] - (h[15] & 0xffff)) / 65536;
    h[15] &= 0xffff;
    h[0] += 38 * c;
}

static void fe_cswap(fe a, fe b, uint64_t bit)
{
    int64_t mask = -(int64_t)bit, t;
    int i;
    for (i = 0; i < 16; i++) {
        t = mask & (a[i] ^ b[i]);
        a[i] ^= t;
        b[i] ^= t;
    }
}

static void fe_tobytes(uint8_t s[32], const fe f)
{
    fe t, m;
    int i, j;
    int64_t borrow;
    memcpy(t, f, sizeof t);
    fe_carry(t);
    fe_carry(t);
    fe_carry(t);
    /* t < 2^256 now; subtract p up to twice, keeping each result only if it did not
     * go negative (selected with a mask) */
    for (j = 0; j < 2; j++) {
        m[0] = t[0] - 0xffed;
        for (i = 1; i < 15; i++) {
            m[i] = t[i] - 0xffff - (int64_t)((uint64_t)m[i - 1] >> 63);
            m[i - 1] &= 0xffff;
        }
        m[15] = t[15] - 0x7fff - (int64_t)((uint64_t)m[14] >> 63);
        borrow = (int64_t)((uint64_t)m[15] >> 63);
        m[14] &= 0xffff;
        fe_cswap(t, m, (uint64_t)(1 - borrow));
    }
    for (i = 0; i < 16; i++) {
        s[2 * i] = (uint8_t)t[i];
        s[2 * i + 1] = (uint8_t)(t[i] >> 8);
    }
}

static inline void fe_add(fe h, const fe f, const fe g)
{
    int i;
    for (i = 0; i < 16; i++) h[i] = f[i] + g[i];
}

static inline void fe_sub(fe h, const fe f, const fe g)
{
    int i;
    for (i = 0; i < 16; i++) h[i] = f[i] - g[i];
}

static void fe_mul(fe h, const fe f, const fe g)
{
    int64_t t[31];
    int i, j;
    for (i = 0; i < 31; i++) t[i] = 0;
    for (i = 0; i < 16; i++)
        for (j = 0; j < 16; j++) t[i + j] += f[i] * g[j];
    for (i = 0; i < 15; i++) t[i] += 38 * t[i + 16]; /* 2^256 = 38 (mod p) */
    for (i = 0; i < 16; i++) h[i] = t[i];
    fe_carry(h);
    fe_carry(h);
}

static void fe_sq(fe h, const fe f) { fe_mul(h, f, f); }

static void fe_mul_a24(fe h, const fe f)
{
    int i;
    for (i = 0; i < 16; i++) h[i] = f[i] * 121665;
    fe_carry(h);
    fe_carry(h);
}

static inline void fe_one(fe h) { int i; h[0] = 1; for (i = 1; i < 16; i++) h[i] = 0; }
static inline void fe_zero(fe h) { int i; for (i = 0; i < 16; i++) h[i] = 0; }
static inline void fe_copy(fe h, const fe f) { memcpy(h, f, sizeof(fe)); }
#define FE_LIMBS 16
#endif

/* ------------------------------------------------------------ common to both */

static void fe_sqn(fe h, const fe f, int n)
{
    fe_sq(h, f);
    while (--n > 0) fe_sq(h, h);
}

/* out = z^(p-2) = z^(2^255 - 21) = 1/z; a fixed chain of 254 squarings and 11 products */
static void fe_invert(fe out, const fe z)
{
    fe z2, z9, z11, a, b, c, t;
    fe_sq(z2, z);                 /* 2 */
    fe_sqn(t, z2, 2);             /* 8 */
    fe_mul(z9, t, z);             /* 9 */
    fe_mul(z11, z9, z2);          /* 11 */
    fe_sq(t, z11);                /* 22 */
    fe_mul(a, t, z9);             /* 2^5 - 1 */
    fe_sqn(t, a, 5);
    fe_mul(b, t, a);              /* 2^10 - 1 */
    fe_sqn(t, b, 10);
    fe_mul(c, t, b);              /* 2^20 - 1 */
    fe_sqn(t, c, 20);
    fe_mul(t, t, c);              /* 2^40 - 1 */
    fe_sqn(t, t, 10);
    fe_mul(a, t, b);              /* 2^50 - 1 */
    fe_sqn(t, a, 50);
    fe_mul(b, t, a);              /* 2^100 - 1 */
    fe_sqn(t, b, 100);
    fe_mul(t, t, b);              /* 2^200 - 1 */
    fe_sqn(t, t, 50);
    fe_mul(t, t, a);              /* 2^250 - 1 */
    fe_sqn(t, t, 5);              /* 2^255 - 2^5 */
    fe_mul(out, t, z11);          /* 2^255 - 21 */
    zx_memzero(z2, sizeof z2); zx_memzero(z9, sizeof z9); zx_memzero(z11, sizeof z11);
    zx_memzero(a, sizeof a); zx_memzero(b, sizeof b); zx_memzero(c, sizeof c);
    zx_memzero(t, sizeof t);
}

int zx_x25519(uint8_t q[32], const uint8_t n[32], const uint8_t p[32])
{
    uint8_t e[32], d = 0;
    fe x1, x2, z2, x3, z3, A, AA, B, BB, E, C, D, DA, CB, t;
    uint64_t swap = 0, bit;
    int i;

    /* decodeScalar25519: clear the three low bits and the top bit, set bit 254 */
    memcpy(e, n, 32);
    e[0] &= 248;
    e[31] &= 127;
    e[31] |= 64;

    fe_frombytes(x1, p);
    fe_one(x2);
    fe_zero(z2);
    fe_copy(x3, x1);
    fe_one(z3);

    for (i = 254; i >= 0; i--) {
        bit = (e[i >> 3] >> (i & 7)) & 1;
        swap ^= bit;
        fe_cswap(x2, x3, swap);
        fe_cswap(z2, z3, swap);
        swap = bit;

        fe_add(A, x2, z2);
        fe_sq(AA, A);
        fe_sub(B, x2, z2);
        fe_sq(BB, B);
        fe_sub(E, AA, BB);
        fe_add(C, x3, z3);
        fe_sub(D, x3, z3);
        fe_mul(DA, D, A);
        fe_mul(CB, C, B);
        fe_add(t, DA, CB);
        fe_sq(x3, t);
        fe_sub(t, DA, CB);
        fe_sq(t, t);
        fe_mul(z3, x1, t);
        fe_mul(x2, AA, BB);
        fe_mul_a24(t, E);
        fe_add(t, AA, t);
        fe_mul(z2, E, t);
    }
    fe_cswap(x2, x3, swap);
    fe_cswap(z2, z3, swap);

    fe_invert(z2, z2);
    fe_mul(x2, x2, z2);
    fe_tobytes(q, x2);

    zx_memzero(e, sizeof e);
    zx_memzero(x2, sizeof x2); zx_memzero(z2, sizeof z2);
    zx_memzero(x3, sizeof x3); zx_memzero(z3, sizeof z3);
    zx_memzero(A, sizeof A); zx_memzero(AA, sizeof AA); zx_memzero(B, sizeof B);
    zx_memzero(BB, sizeof BB); zx_memzero(E, sizeof E); zx_memzero(C, sizeof C);
    zx_memzero(D, sizeof D); zx_memzero(DA, sizeof DA); zx_memzero(CB, sizeof CB);
    zx_memzero(t, sizeof t);

    /* an all-zero result means p had small order: refuse it, as libsodium does */
    for (i = 0; i < 32; i++) d |= q[i];
    return -(int)(1 & ((unsigned)(d - 1) >> 8));
}

int zx_x25519_base(uint8_t q[32], const uint8_t n[32])
{
    static const uint8_t nine[32] = {9};
    return zx_x25519(q, n, nine);
}
