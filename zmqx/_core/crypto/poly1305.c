/* poly1305.c: the Poly1305 one-time authenticator (RFC 8439 section 2.5): the tag of
 * NaCl's secretbox.
 *
 * The accumulator h and the clamped key r are held in limbs: three of 44/44/42 bits when
 * the compiler offers a 64x64->128 multiply (unsigned __int128: GCC and Clang on 64-bit
 * targets), else five of 26 bits with 32x32->64 products (any C99 compiler). Both reduce
 * modulo p = 2^130 - 5 by folding what lies above bit 130 back in times 5. The code is
 * straight-line: the final "subtract p if h >= p" is a mask select, never a branch. Long
 * inputs on x86 take 4 (AVX2) or 8 (AVX-512) interleaved blocks per step, chosen at run
 * time (below); the result is the same number, so short inputs and tails stay scalar. */
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
 * lane sums add up to the serial Horner result. With AVX-512F, eight lanes and r^8. Same arithmetic on every lane and no
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

/* 0: scalar only, 1: AVX2, 2: AVX-512F too */
static int poly1305_x86_level(void)
{
    static int known = -1;      /* a benign race: every thread computes the same answer */
    if (known < 0) {
        __builtin_cpu_init();
        known = !__builtin_cpu_supports("avx2") ? 0 : __builtin_cpu_supports("avx512f") ? 2 : 1;
    }
    return known;
}

/* (H + M) * R, then one carry pass, in 64-bit lanes; R holds the multiplier's limbs and S
 * five times them. The VADD/VMUL/VAND/VSRL/VSLL operations and the mask m26 are those of
 * the function the macro is used in (AVX2 or AVX-512). */
#define V_MULADD(H, R, S) do {                                                            \
        VEC d0, d1, d2, d3, d4, c_;                                                     \
        d0 = VADD(VADD(VMUL(H[0], R[0]), VMUL(H[1], S[4])),                             \
                  VADD(VMUL(H[2], S[3]), VADD(VMUL(H[3], S[2]), VMUL(H[4], S[1]))));    \
        d1 = VADD(VADD(VMUL(H[0], R[1]), VMUL(H[1], R[0])),                             \
                  VADD(VMUL(H[2], S[4]), VADD(VMUL(H[3], S[3]), VMUL(H[4], S[2]))));    \
        d2 = VADD(VADD(VMUL(H[0], R[2]), VMUL(H[1], R[1])),                             \
                  VADD(VMUL(H[2], R[0]), VADD(VMUL(H[3], S[4]), VMUL(H[4], S[3]))));    \
        d3 = VADD(VADD(VMUL(H[0], R[3]), VMUL(H[1], R[2])),                             \
                  VADD(VMUL(H[2], R[1]), VADD(VMUL(H[3], R[0]), VMUL(H[4], S[4]))));    \
        d4 = VADD(VADD(VMUL(H[0], R[4]), VMUL(H[1], R[3])),                             \
                  VADD(VMUL(H[2], R[2]), VADD(VMUL(H[3], R[1]), VMUL(H[4], R[0]))));    \
        c_ = VSRL(d0, 26); H[0] = VAND(d0, m26); d1 = VADD(d1, c_);                     \
        c_ = VSRL(d1, 26); H[1] = VAND(d1, m26); d2 = VADD(d2, c_);                     \
        c_ = VSRL(d2, 26); H[2] = VAND(d2, m26); d3 = VADD(d3, c_);                     \
        c_ = VSRL(d3, 26); H[3] = VAND(d3, m26); d4 = VADD(d4, c_);                     \
        c_ = VSRL(d4, 26); H[4] = VAND(d4, m26);                                        \
        H[0] = VADD(H[0], VADD(c_, VSLL(c_, 2)));                                       \
        c_ = VSRL(H[0], 26); H[0] = VAND(H[0], m26); H[1] = VADD(H[1], c_);             \
    } while (0)

/* Add the message limbs of one block per lane: t0/t1 hold the blocks' low/high halves */
#define V_ADD_BLOCKS(H, t0, t1) do {                                                      \
        H[0] = VADD(H[0], VAND(t0, m26));                                               \
        H[1] = VADD(H[1], VAND(VSRL(t0, 26), m26));                                     \
        H[2] = VADD(H[2], VAND(VOR(VSRL(t0, 52), VSLL(t1, 12)), m26));                  \
        H[3] = VADD(H[3], VAND(VSRL(t1, 14), m26));                                     \
        H[4] = VADD(H[4], VOR(VSRL(t1, 40), hibit));                                    \
    } while (0)

/* pw[k] = r^(k+1) in 26-bit limbs, k < n; h26 = h in 26-bit limbs */
static void poly_powers(const zx_poly1305_state *st, uint64_t pw[][5], int n, uint64_t h26[5])
{
    int k;
    limbs44_to_26(pw[0], st->r[0], st->r[1], st->r[2]);
    for (k = 1; k < n; k++) {
        memcpy(pw[k], pw[k - 1], sizeof pw[k]);
        mul26(pw[k], pw[0]);
    }
    limbs44_to_26(h26, st->h[0], st->h[1], st->h[2]);
}

/* h (the lane sums, each limb under 2^30) carried and stored in st as 44-bit limbs */
static void poly_store_h(zx_poly1305_state *st, uint64_t h[5])
{
    uint64_t c, lo, hi, top;
    c = h[0] >> 26; h[0] &= M26; h[1] += c;
    c = h[1] >> 26; h[1] &= M26; h[2] += c;
    c = h[2] >> 26; h[2] &= M26; h[3] += c;
    c = h[3] >> 26; h[3] &= M26; h[4] += c;
    c = h[4] >> 26; h[4] &= M26; h[0] += c * 5;
    c = h[0] >> 26; h[0] &= M26; h[1] += c;
    lo = h[0] | (h[1] << 26) | (h[2] << 52);
    hi = (h[2] >> 12) | (h[3] << 14) | (h[4] << 40);
    top = h[4] >> 24;
    st->h[0] = lo & M44;
    st->h[1] = ((lo >> 44) | (hi << 20)) & M44;
    st->h[2] = (hi >> 24) | (top << 40);
}

#define VEC __m256i
#define VADD _mm256_add_epi64
#define VMUL _mm256_mul_epu32
#define VAND _mm256_and_si256
#define VOR _mm256_or_si256
#define VSRL _mm256_srli_epi64
#define VSLL _mm256_slli_epi64

/* Full blocks only, len >= 64: consumes len & ~63 bytes, leaves h in st (44-bit limbs) */
__attribute__((target("avx2")))
static size_t poly1305_blocks_avx2(zx_poly1305_state *st, const uint8_t *m, size_t len)
{
    uint64_t pw[4][5], h[5];
    __m256i H[5], R4[5], S4[5], RL[5], SL[5];
    const __m256i hibit = _mm256_set1_epi64x((long long)1 << 24);
    const __m256i m26 = _mm256_set1_epi64x((long long)M26);
    size_t chunks = len / 64, k;
    int i;
    poly_powers(st, pw, 4, h);
    for (i = 0; i < 5; i++) {
        R4[i] = _mm256_set1_epi64x((long long)pw[3][i]);
        S4[i] = _mm256_set1_epi64x((long long)(pw[3][i] * 5));
        /* lane 0 (first block of the last step) takes r^4, lane 3 takes r */
        RL[i] = _mm256_set_epi64x((long long)pw[0][i], (long long)pw[1][i],
                                  (long long)pw[2][i], (long long)pw[3][i]);
        SL[i] = _mm256_set_epi64x((long long)(pw[0][i] * 5), (long long)(pw[1][i] * 5),
                                  (long long)(pw[2][i] * 5), (long long)(pw[3][i] * 5));
        H[i] = _mm256_set_epi64x(0, 0, 0, (long long)h[i]);
    }
    for (k = 0; k < chunks; k++, m += 64) {
        /* the four blocks' low and high 64-bit halves, block j in lane j */
        __m256i a = _mm256_loadu_si256((const __m256i *)m);
        __m256i b = _mm256_loadu_si256((const __m256i *)(m + 32));
        __m256i t0 = _mm256_permute4x64_epi64(_mm256_unpacklo_epi64(a, b), 0xD8);
        __m256i t1 = _mm256_permute4x64_epi64(_mm256_unpackhi_epi64(a, b), 0xD8);
        V_ADD_BLOCKS(H, t0, t1);
        if (k + 1 < chunks)
            V_MULADD(H, R4, S4);
        else
            V_MULADD(H, RL, SL);
    }
    for (i = 0; i < 5; i++) {
        uint64_t v[4];
        _mm256_storeu_si256((__m256i *)v, H[i]);
        h[i] = v[0] + v[1] + v[2] + v[3];
    }
    poly_store_h(st, h);
    zx_memzero(pw, sizeof pw); zx_memzero(h, sizeof h);
    zx_memzero(H, sizeof H); zx_memzero(R4, sizeof R4); zx_memzero(S4, sizeof S4);
    zx_memzero(RL, sizeof RL); zx_memzero(SL, sizeof SL);
    return chunks * 64;
}

#undef VEC
#undef VADD
#undef VMUL
#undef VAND
#undef VOR
#undef VSRL
#undef VSLL
#define VEC __m512i
#define VADD _mm512_add_epi64
#define VMUL _mm512_mul_epu32
#define VAND _mm512_and_si512
#define VOR _mm512_or_si512
#define VSRL _mm512_srli_epi64
#define VSLL _mm512_slli_epi64

/* AVX-512F: the same with eight lanes (r^8 per step, r^8 .. r on the last); len >= 128,
 * consumes len & ~127 bytes */
__attribute__((target("avx512f")))
static size_t poly1305_blocks_avx512(zx_poly1305_state *st, const uint8_t *m, size_t len)
{
    uint64_t pw[8][5], h[5];
    __m512i H[5], R8[5], S8[5], RL[5], SL[5];
    const __m512i hibit = _mm512_set1_epi64((long long)1 << 24);
    const __m512i m26 = _mm512_set1_epi64((long long)M26);
    const __m512i lo_idx = _mm512_set_epi64(14, 12, 10, 8, 6, 4, 2, 0);
    const __m512i hi_idx = _mm512_set_epi64(15, 13, 11, 9, 7, 5, 3, 1);
    size_t chunks = len / 128, k;
    int i, j;
    poly_powers(st, pw, 8, h);
    for (i = 0; i < 5; i++) {
        uint64_t rl[8], sl[8];
        for (j = 0; j < 8; j++) {
            rl[j] = pw[7 - j][i];       /* lane 0 takes r^8, lane 7 takes r */
            sl[j] = pw[7 - j][i] * 5;
        }
        R8[i] = _mm512_set1_epi64((long long)pw[7][i]);
        S8[i] = _mm512_set1_epi64((long long)(pw[7][i] * 5));
        RL[i] = _mm512_loadu_si512((const void *)rl);
        SL[i] = _mm512_loadu_si512((const void *)sl);
        H[i] = _mm512_set_epi64(0, 0, 0, 0, 0, 0, 0, (long long)h[i]);
        zx_memzero(rl, sizeof rl); zx_memzero(sl, sizeof sl);
    }
    for (k = 0; k < chunks; k++, m += 128) {
        __m512i a = _mm512_loadu_si512((const void *)m);
        __m512i b = _mm512_loadu_si512((const void *)(m + 64));
        __m512i t0 = _mm512_permutex2var_epi64(a, lo_idx, b);
        __m512i t1 = _mm512_permutex2var_epi64(a, hi_idx, b);
        V_ADD_BLOCKS(H, t0, t1);
        if (k + 1 < chunks)
            V_MULADD(H, R8, S8);
        else
            V_MULADD(H, RL, SL);
    }
    for (i = 0; i < 5; i++) {
        uint64_t v[8];
        _mm512_storeu_si512((void *)v, H[i]);
        h[i] = v[0] + v[1] + v[2] + v[3] + v[4] + v[5] + v[6] + v[7];
    }
    poly_store_h(st, h);
    zx_memzero(pw, sizeof pw); zx_memzero(h, sizeof h);
    zx_memzero(H, sizeof H); zx_memzero(R8, sizeof R8); zx_memzero(S8, sizeof S8);
    zx_memzero(RL, sizeof RL); zx_memzero(SL, sizeof SL);
    return chunks * 128;
}
#undef VEC
#undef VADD
#undef VMUL
#undef VAND
#undef VOR
#undef VSRL
#undef VSLL
#endif

/* h = (h + block) * r mod p for each 16-byte block; hibit is 2^128 expressed in the top
 * limb for full blocks, 0 for the last (already 0x01-terminated) partial block. */
static void poly1305_blocks(zx_poly1305_state *st, const uint8_t *m, size_t len, int full)
{
#ifdef ZX_POLY_64
    const uint64_t hibit = full ? ((uint64_t)1 << 40) : 0;
    uint64_t r0, r1, r2, s1, s2, h0, h1, h2;
#ifdef ZX_POLY_AVX2
    if (full && len >= 256 && zx_crypto_simd_enabled() >= ZX_SIMD_AVX2) {
        int level = poly1305_x86_level();
        size_t done = 0;
        if (level == 2 && len >= 1024 && zx_crypto_simd_enabled() >= ZX_SIMD_AVX512)
            done = poly1305_blocks_avx512(st, m, len);
        else if (level >= 1)
            done = poly1305_blocks_avx2(st, m, len);
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
