/* poly1305.c: the Poly1305 one-time authenticator (RFC 8439 section 2.5): the tag of
 * NaCl's secretbox.
 *
 * The accumulator h and the clamped key r are held in limbs: three of 44/44/42 bits when
 * the compiler offers a 64x64->128 multiply (unsigned __int128: GCC and Clang on 64-bit
 * targets), else five of 26 bits with 32x32->64 products (any C99 compiler). Both reduce
 * modulo p = 2^130 - 5 by folding what lies above bit 130 back in times 5. The code is
 * straight-line: the final "subtract p if h >= p" is a mask select, never a branch. */
#include "zx_crypto.h"

#include <string.h>

#if defined(__SIZEOF_INT128__) && !defined(ZX_CRYPTO_PORTABLE)
#define ZX_POLY_64 1
typedef unsigned __int128 u128;
#endif

static inline uint64_t ld64(const uint8_t *p)
{
    return (uint64_t)p[0] | ((uint64_t)p[1] << 8) | ((uint64_t)p[2] << 16) |
           ((uint64_t)p[3] << 24) | ((uint64_t)p[4] << 32) | ((uint64_t)p[5] << 40) |
           ((uint64_t)p[6] << 48) | ((uint64_t)p[7] << 56);
}

static inline void st64(uint8_t *p, uint64_t v)
{
    int i;
    for (i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}

#define M44 ((uint64_t)0xfffffffffffULL)
#define M42 ((uint64_t)0x3ffffffffffULL)
#define M26 ((uint64_t)0x3ffffff)

void zx_poly1305_init(zx_poly1305_state *st, const uint8_t key[32])
{
    /* r is the first half of the key with the RFC's bits cleared ("clamped") */
    uint64_t t0 = ld64(key) & 0x0ffffffc0fffffffULL;
    uint64_t t1 = ld64(key + 8) & 0x0ffffffc0ffffffcULL;
    memset(st, 0, sizeof *st);
#ifdef ZX_POLY_64
    st->r[0] = t0 & M44;
    st->r[1] = ((t0 >> 44) | (t1 << 20)) & M44;
    st->r[2] = (t1 >> 24) & M42;
#else
    st->r[0] = t0 & M26;
    st->r[1] = (t0 >> 26) & M26;
    st->r[2] = ((t0 >> 52) | (t1 << 12)) & M26;
    st->r[3] = (t1 >> 14) & M26;
    st->r[4] = (t1 >> 40) & M26;
#endif
    st->pad[0] = ld64(key + 16);
    st->pad[1] = ld64(key + 24);
}

#if defined(ZX_POLY_64) && (defined(__x86_64__) || defined(__i386__)) && \
    (defined(__GNUC__) || defined(__clang__))
/* x86 with AVX2 (checked at run time): four blocks per step in four 64-bit lanes, each
 * lane an accumulator of 26-bit limbs. Lane j takes blocks j, j+4, j+8, ... and multiplies
 * by r^4 per step; the last step multiplies the lanes by r^4, r^3, r^2, r instead, so the
 * lane sums add up to the serial Horner result. Same arithmetic on every lane and no
 * data-dependent branch: constant-time like the scalar code. */
#define ZX_POLY_AVX2 1
#include <immintrin.h>

/* a = a * b mod p, 26-bit limbs (inputs a little above 2^26 are fine), carried */
static void mul26(uint64_t a[5], const uint64_t b[5])
{
    uint64_t s1 = b[1] * 5, s2 = b[2] * 5, s3 = b[3] * 5, s4 = b[4] * 5, c;
    uint64_t d0 = a[0] * b[0] + a[1] * s4 + a[2] * s3 + a[3] * s2 + a[4] * s1;
    uint64_t d1 = a[0] * b[1] + a[1] * b[0] + a[2] * s4 + a[3] * s3 + a[4] * s2;
    uint64_t d2 = a[0] * b[2] + a[1] * b[1] + a[2] * b[0] + a[3] * s4 + a[4] * s3;
    uint64_t d3 = a[0] * b[3] + a[1] * b[2] + a[2] * b[1] + a[3] * b[0] + a[4] * s4;
    uint64_t d4 = a[0] * b[4] + a[1] * b[3] + a[2] * b[2] + a[3] * b[1] + a[4] * b[0];
    c = d0 >> 26; a[0] = d0 & M26; d1 += c;
    c = d1 >> 26; a[1] = d1 & M26; d2 += c;
    c = d2 >> 26; a[2] = d2 & M26; d3 += c;
    c = d3 >> 26; a[3] = d3 & M26; d4 += c;
    c = d4 >> 26; a[4] = d4 & M26; a[0] += c * 5;
    c = a[0] >> 26; a[0] &= M26; a[1] += c;
}

/* the 44/44/42 limbs x0..x2 (x1 may hold a carry) as five 26-bit limbs */
static void limbs44_to_26(uint64_t o[5], uint64_t x0, uint64_t x1, uint64_t x2)
{
    uint64_t lo, hi, top;
    x2 += x1 >> 44; x1 &= M44;
    lo = x0 | (x1 << 44);
    hi = (x1 >> 20) | (x2 << 24);
    top = x2 >> 40;                     /* bits 128 and up */
    o[0] = lo & M26;
    o[1] = (lo >> 26) & M26;
    o[2] = ((lo >> 52) | (hi << 12)) & M26;
    o[3] = (hi >> 14) & M26;
    o[4] = (hi >> 40) | (top << 24);
}

static int poly1305_have_avx2(void)
{
    static int known = -1;      /* a benign race: every thread computes the same answer */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
    }
    return known;
}

#define V_M26 _mm256_set1_epi64x((long long)M26)

/* (H + M) * R with R's limbs in r[] and 5 * R's in s[], then a carry pass */
#define V_MULADD(H, R, S) do {                                                            \
        __m256i d0, d1, d2, d3, d4, c_;                                                 \
        d0 = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], R[0]),            \
                _mm256_mul_epu32(H[1], S[4])), _mm256_add_epi64(_mm256_mul_epu32(H[2], S[3]), \
                _mm256_add_epi64(_mm256_mul_epu32(H[3], S[2]), _mm256_mul_epu32(H[4], S[1])))); \
        d1 = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], R[1]),            \
                _mm256_mul_epu32(H[1], R[0])), _mm256_add_epi64(_mm256_mul_epu32(H[2], S[4]), \
                _mm256_add_epi64(_mm256_mul_epu32(H[3], S[3]), _mm256_mul_epu32(H[4], S[2])))); \
        d2 = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], R[2]),            \
                _mm256_mul_epu32(H[1], R[1])), _mm256_add_epi64(_mm256_mul_epu32(H[2], R[0]), \
                _mm256_add_epi64(_mm256_mul_epu32(H[3], S[4]), _mm256_mul_epu32(H[4], S[3])))); \
        d3 = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], R[3]),            \
                _mm256_mul_epu32(H[1], R[2])), _mm256_add_epi64(_mm256_mul_epu32(H[2], R[1]), \
                _mm256_add_epi64(_mm256_mul_epu32(H[3], R[0]), _mm256_mul_epu32(H[4], S[4])))); \
        d4 = _mm256_add_epi64(_mm256_add_epi64(_mm256_mul_epu32(H[0], R[4]),            \
                _mm256_mul_epu32(H[1], R[3])), _mm256_add_epi64(_mm256_mul_epu32(H[2], R[2]), \
                _mm256_add_epi64(_mm256_mul_epu32(H[3], R[1]), _mm256_mul_epu32(H[4], R[0])))); \
        c_ = _mm256_srli_epi64(d0, 26); H[0] = _mm256_and_si256(d0, V_M26);              \
        d1 = _mm256_add_epi64(d1, c_);                                                  \
        c_ = _mm256_srli_epi64(d1, 26); H[1] = _mm256_and_si256(d1, V_M26);              \
        d2 = _mm256_add_epi64(d2, c_);                                                  \
        c_ = _mm256_srli_epi64(d2, 26); H[2] = _mm256_and_si256(d2, V_M26);              \
        d3 = _mm256_add_epi64(d3, c_);                                                  \
        c_ = _mm256_srli_epi64(d3, 26); H[3] = _mm256_and_si256(d3, V_M26);              \
        d4 = _mm256_add_epi64(d4, c_);                                                  \
        c_ = _mm256_srli_epi64(d4, 26); H[4] = _mm256_and_si256(d4, V_M26);              \
        H[0] = _mm256_add_epi64(H[0], _mm256_add_epi64(c_, _mm256_slli_epi64(c_, 2)));  \
        c_ = _mm256_srli_epi64(H[0], 26); H[0] = _mm256_and_si256(H[0], V_M26);          \
        H[1] = _mm256_add_epi64(H[1], c_);                                              \
    } while (0)

/* Full blocks only, len >= 128: consumes len & ~63 bytes, leaves h in st (44-bit limbs) */
__attribute__((target("avx2")))
static size_t poly1305_blocks_avx2(zx_poly1305_state *st, const uint8_t *m, size_t len)
{
    uint64_t r1[5], r2[5], r3[5], r4[5], h[5], c;
    __m256i H[5], R4[5], S4[5], RL[5], SL[5];
    const __m256i hibit = _mm256_set1_epi64x((long long)1 << 24);
    size_t chunks = len / 64, k;
    int i;
    limbs44_to_26(r1, st->r[0], st->r[1], st->r[2]);
    memcpy(r2, r1, sizeof r2); mul26(r2, r1);
    memcpy(r3, r2, sizeof r3); mul26(r3, r1);
    memcpy(r4, r3, sizeof r4); mul26(r4, r1);
    limbs44_to_26(h, st->h[0], st->h[1], st->h[2]);
    for (i = 0; i < 5; i++) {
        R4[i] = _mm256_set1_epi64x((long long)r4[i]);
        S4[i] = _mm256_set1_epi64x((long long)(r4[i] * 5));
        /* lane 0 (first block of the last step) takes r^4, lane 3 takes r */
        RL[i] = _mm256_set_epi64x((long long)r1[i], (long long)r2[i], (long long)r3[i],
                                  (long long)r4[i]);
        SL[i] = _mm256_set_epi64x((long long)(r1[i] * 5), (long long)(r2[i] * 5),
                                  (long long)(r3[i] * 5), (long long)(r4[i] * 5));
        H[i] = _mm256_set_epi64x(0, 0, 0, (long long)h[i]);
    }
    for (k = 0; k < chunks; k++, m += 64) {
        /* the four blocks' low and high 64-bit halves, block j in lane j */
        __m256i a = _mm256_loadu_si256((const __m256i *)m);
        __m256i b = _mm256_loadu_si256((const __m256i *)(m + 32));
        __m256i t0 = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(a, b), 0xD8);
        __m256i t1 = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(a, b), 0xD8);
        H[0] = _mm256_add_epi64(H[0], _mm256_and_si256(t0, V_M26));
        H[1] = _mm256_add_epi64(H[1], _mm256_and_si256(_mm256_srli_epi64(t0, 26), V_M26));
        H[2] = _mm256_add_epi64(H[2], _mm256_and_si256(
                   _mm256_or_si256(_mm256_srli_epi64(t0, 52), _mm256_slli_epi64(t1, 12)), V_M26));
        H[3] = _mm256_add_epi64(H[3], _mm256_and_si256(_mm256_srli_epi64(t1, 14), V_M26));
        H[4] = _mm256_add_epi64(H[4], _mm256_or_si256(_mm256_srli_epi64(t1, 40), hibit));
        if (k + 1 < chunks)
            V_MULADD(H, R4, S4);
        else
            V_MULADD(H, RL, SL);
    }
    /* the sum of the lanes, limb by limb (each under 2^28: no overflow) */
    for (i = 0; i < 5; i++) {
        uint64_t v[4];
        _mm256_storeu_si256((__m256i *)v, H[i]);
        h[i] = v[0] + v[1] + v[2] + v[3];
        zx_memzero(v, sizeof v);
    }
    c = h[0] >> 26; h[0] &= M26; h[1] += c;
    c = h[1] >> 26; h[1] &= M26; h[2] += c;
    c = h[2] >> 26; h[2] &= M26; h[3] += c;
    c = h[3] >> 26; h[3] &= M26; h[4] += c;
    c = h[4] >> 26; h[4] &= M26; h[0] += c * 5;
    c = h[0] >> 26; h[0] &= M26; h[1] += c;
    {
        uint64_t lo = h[0] | (h[1] << 26) | (h[2] << 52);
        uint64_t hi = (h[2] >> 12) | (h[3] << 14) | (h[4] << 40);
        uint64_t top = h[4] >> 24;
        st->h[0] = lo & M44;
        st->h[1] = ((lo >> 44) | (hi << 20)) & M44;
        st->h[2] = (hi >> 24) | (top << 40);
    }
    zx_memzero(r1, sizeof r1); zx_memzero(r2, sizeof r2); zx_memzero(r3, sizeof r3);
    zx_memzero(r4, sizeof r4); zx_memzero(h, sizeof h);
    zx_memzero(H, sizeof H); zx_memzero(R4, sizeof R4); zx_memzero(S4, sizeof S4);
    zx_memzero(RL, sizeof RL); zx_memzero(SL, sizeof SL);
    return chunks * 64;
}
#endif

/* h = (h + block) * r mod p for each 16-byte block; hibit is 2^128 expressed in the top
 * limb for full blocks, 0 for the last (already 0x01-terminated) partial block. */
static void poly1305_blocks(zx_poly1305_state *st, const uint8_t *m, size_t len, int full)
{
#ifdef ZX_POLY_64
    const uint64_t hibit = full ? ((uint64_t)1 << 40) : 0;
    uint64_t r0, r1, r2, s1, s2, h0, h1, h2;
#ifdef ZX_POLY_AVX2
    if (full && len >= 256 && zx_crypto_simd_enabled() >= ZX_SIMD_AVX2 && poly1305_have_avx2()) {
        size_t done = poly1305_blocks_avx2(st, m, len);
        m += done;
        len -= done;
    }
#endif
    r0 = st->r[0]; r1 = st->r[1]; r2 = st->r[2];
    /* 2^132 = 4 * 2^130 = 4 * 5 (mod p): products that land at or above limb 3 come
     * back times 20 */
    s1 = r1 * 20; s2 = r2 * 20;
    h0 = st->h[0]; h1 = st->h[1]; h2 = st->h[2];
    while (len >= 16) {
        uint64_t t0 = ld64(m), t1 = ld64(m + 8), c;
        u128 d0, d1, d2;
        h0 += t0 & M44;
        h1 += ((t0 >> 44) | (t1 << 20)) & M44;
        h2 += ((t1 >> 24) & M42) | hibit;
        d0 = (u128)h0 * r0 + (u128)h1 * s2 + (u128)h2 * s1;
        d1 = (u128)h0 * r1 + (u128)h1 * r0 + (u128)h2 * s2;
        d2 = (u128)h0 * r2 + (u128)h1 * r1 + (u128)h2 * r0;
        c = (uint64_t)(d0 >> 44); h0 = (uint64_t)d0 & M44;
        d1 += c; c = (uint64_t)(d1 >> 44); h1 = (uint64_t)d1 & M44;
        d2 += c; c = (uint64_t)(d2 >> 42); h2 = (uint64_t)d2 & M42;
        h0 += c * 5; c = h0 >> 44; h0 &= M44;
        h1 += c;
        m += 16;
        len -= 16;
    }
    st->h[0] = h0; st->h[1] = h1; st->h[2] = h2;
#else
    const uint64_t hibit = full ? ((uint64_t)1 << 24) : 0;
    const uint64_t r0 = st->r[0], r1 = st->r[1], r2 = st->r[2], r3 = st->r[3], r4 = st->r[4];
    /* 2^130 = 5 (mod p): products at limb 5 and above come back times 5 */
    const uint64_t s1 = r1 * 5, s2 = r2 * 5, s3 = r3 * 5, s4 = r4 * 5;
    uint64_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4];
    while (len >= 16) {
        uint64_t t0 = ld64(m), t1 = ld64(m + 8), c, d0, d1, d2, d3, d4;
        h0 += t0 & M26;
        h1 += (t0 >> 26) & M26;
        h2 += ((t0 >> 52) | (t1 << 12)) & M26;
        h3 += (t1 >> 14) & M26;
        h4 += (t1 >> 40) | hibit;
        d0 = h0 * r0 + h1 * s4 + h2 * s3 + h3 * s2 + h4 * s1;
        d1 = h0 * r1 + h1 * r0 + h2 * s4 + h3 * s3 + h4 * s2;
        d2 = h0 * r2 + h1 * r1 + h2 * r0 + h3 * s4 + h4 * s3;
        d3 = h0 * r3 + h1 * r2 + h2 * r1 + h3 * r0 + h4 * s4;
        d4 = h0 * r4 + h1 * r3 + h2 * r2 + h3 * r1 + h4 * r0;
        c = d0 >> 26; h0 = d0 & M26;
        d1 += c; c = d1 >> 26; h1 = d1 & M26;
        d2 += c; c = d2 >> 26; h2 = d2 & M26;
        d3 += c; c = d3 >> 26; h3 = d3 & M26;
        d4 += c; c = d4 >> 26; h4 = d4 & M26;
        h0 += c * 5; c = h0 >> 26; h0 &= M26;
        h1 += c;
        m += 16;
        len -= 16;
    }
    st->h[0] = h0; st->h[1] = h1; st->h[2] = h2; st->h[3] = h3; st->h[4] = h4;
#endif
}

void zx_poly1305_update(zx_poly1305_state *st, const uint8_t *m, size_t len)
{
    if (st->leftover) {
        size_t want = 16 - st->leftover;
        if (want > len) want = len;
        memcpy(st->buffer + st->leftover, m, want);
        st->leftover += want;
        m += want;
        len -= want;
        if (st->leftover < 16) return;
        poly1305_blocks(st, st->buffer, 16, 1);
        st->leftover = 0;
    }
    if (len >= 16) {
        size_t whole = len & ~(size_t)15;
        poly1305_blocks(st, m, whole, 1);
        m += whole;
        len -= whole;
    }
    if (len) {
        memcpy(st->buffer, m, len);
        st->leftover = len;
    }
}

void zx_poly1305_final(zx_poly1305_state *st, uint8_t mac[16])
{
    uint64_t lo, hi, mask, c;
    if (st->leftover) {
        /* the last block gets its 2^(8*len) bit as a 0x01 byte, then zeros */
        size_t i = st->leftover;
        st->buffer[i++] = 1;
        while (i < 16) st->buffer[i++] = 0;
        poly1305_blocks(st, st->buffer, 16, 0);
    }
#ifdef ZX_POLY_64
    {
        uint64_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], g0, g1, g2;
        /* carry fully: h < 2^130 + small */
        c = h1 >> 44; h1 &= M44; h2 += c;
        c = h2 >> 42; h2 &= M42; h0 += c * 5;
        c = h0 >> 44; h0 &= M44; h1 += c;
        c = h1 >> 44; h1 &= M44; h2 += c;
        c = h2 >> 42; h2 &= M42; h0 += c * 5;
        c = h0 >> 44; h0 &= M44; h1 += c;
        /* g = h + 5 - 2^130: if that does not borrow, h >= p and g is the reduced value */
        g0 = h0 + 5; c = g0 >> 44; g0 &= M44;
        g1 = h1 + c; c = g1 >> 44; g1 &= M44;
        g2 = h2 + c - ((uint64_t)1 << 42);
        mask = (g2 >> 63) - 1; /* all ones when no borrow (take g), else zero (keep h) */
        h0 = (h0 & ~mask) | (g0 & mask);
        h1 = (h1 & ~mask) | (g1 & mask);
        h2 = (h2 & ~mask) | (g2 & mask);
        /* back to two 64-bit words, then add the pad mod 2^128 */
        lo = h0 | (h1 << 44);
        hi = (h1 >> 20) | (h2 << 24);
    }
#else
    {
        uint64_t h0 = st->h[0], h1 = st->h[1], h2 = st->h[2], h3 = st->h[3], h4 = st->h[4];
        uint64_t g0, g1, g2, g3, g4;
        c = h1 >> 26; h1 &= M26; h2 += c;
        c = h2 >> 26; h2 &= M26; h3 += c;
        c = h3 >> 26; h3 &= M26; h4 += c;
        c = h4 >> 26; h4 &= M26; h0 += c * 5;
        c = h0 >> 26; h0 &= M26; h1 += c;
        c = h1 >> 26; h1 &= M26; h2 += c;
        c = h2 >> 26; h2 &= M26; h3 += c;
        c = h3 >> 26; h3 &= M26; h4 += c;
        c = h4 >> 26; h4 &= M26; h0 += c * 5;
        c = h0 >> 26; h0 &= M26; h1 += c;
        g0 = h0 + 5; c = g0 >> 26; g0 &= M26;
        g1 = h1 + c; c = g1 >> 26; g1 &= M26;
        g2 = h2 + c; c = g2 >> 26; g2 &= M26;
        g3 = h3 + c; c = g3 >> 26; g3 &= M26;
        g4 = h4 + c - ((uint64_t)1 << 26);
        mask = (g4 >> 63) - 1;
        h0 = (h0 & ~mask) | (g0 & mask);
        h1 = (h1 & ~mask) | (g1 & mask);
        h2 = (h2 & ~mask) | (g2 & mask);
        h3 = (h3 & ~mask) | (g3 & mask);
        h4 = (h4 & ~mask) | (g4 & mask);
        lo = h0 | (h1 << 26) | (h2 << 52);
        hi = (h2 >> 12) | (h3 << 14) | (h4 << 40);
    }
#endif
    lo += st->pad[0];
    c = lo < st->pad[0]; /* carry out of the low word, computed without a branch */
    hi += st->pad[1] + c;
    st64(mac, lo);
    st64(mac + 8, hi);
    zx_memzero(st, sizeof *st);
}

void zx_poly1305(uint8_t mac[16], const uint8_t *m, size_t len, const uint8_t key[32])
{
    zx_poly1305_state st;
    zx_poly1305_init(&st, key);
    zx_poly1305_update(&st, m, len);
    zx_poly1305_final(&st, mac);
}

int zx_poly1305_verify(const uint8_t mac[16], const uint8_t *m, size_t len,
                       const uint8_t key[32])
{
    uint8_t want[16];
    int rc;
    zx_poly1305(want, m, len, key);
    rc = zx_verify16(want, mac);
    zx_memzero(want, sizeof want);
    return rc;
}
