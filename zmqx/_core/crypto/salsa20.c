/* salsa20.c: the Salsa20/20 stream cipher (Bernstein, "Salsa20 specification"), HSalsa20
 * and XSalsa20 ("Extending the Salsa20 nonce"): the encryption half of NaCl's secretbox.
 *
 * Salsa20 is add-rotate-xor on 32-bit words, so it has no secret-dependent branches or
 * table lookups by construction, on any path. The state lives in sixteen local variables
 * so the compiler can keep it in registers. Bulk data (a large CURVE MESSAGE spends its
 * time here) goes through the widest path the CPU has, chosen at run time and capped by
 * zx_crypto_set_simd: 16 blocks at once with AVX-512, 8 with AVX2, 4 with the compiler's
 * generic vectors, else one block at a time. */
#include "zx_crypto.h"

#include <string.h>

/* no cast: the same macro rotates uint32_t words and 4 x uint32_t vectors */
#define ROTL32(v, c) (((v) << (c)) | ((v) >> (32 - (c))))

static inline uint32_t ld32(const uint8_t *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) |
           ((uint32_t)p[3] << 24);
}

static inline void st32(uint8_t *p, uint32_t v)
{
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
    p[2] = (uint8_t)(v >> 16);
    p[3] = (uint8_t)(v >> 24);
}

/* "expand 32-byte k", as four little-endian words */
#define SIGMA0 0x61707865u
#define SIGMA1 0x3320646eu
#define SIGMA2 0x79622d32u
#define SIGMA3 0x6b206574u

/* quarterround of the spec: b, c, d, a updated in turn from the two words before them */
#define QR(a, b, c, d)              \
    do {                            \
        b ^= ROTL32(a + d, 7);      \
        c ^= ROTL32(b + a, 9);      \
        d ^= ROTL32(c + b, 13);     \
        a ^= ROTL32(d + c, 18);     \
    } while (0)

/* Ten double rounds over the locals x0..x15 (kept in registers by both users): a column
 * round, each column starting at its diagonal word, then a row round. */
#define SALSA20_TEN_DOUBLE_ROUNDS() do {                                                  \
        int i_;                                                                         \
        for (i_ = 0; i_ < 10; i_++) {                                                   \
            QR(x0, x4, x8, x12);  QR(x5, x9, x13, x1);                                  \
            QR(x10, x14, x2, x6); QR(x15, x3, x7, x11);                                 \
            QR(x0, x1, x2, x3);   QR(x5, x6, x7, x4);                                   \
            QR(x10, x11, x8, x9); QR(x15, x12, x13, x14);                               \
        }                                                                               \
    } while (0)

/* Ten double rounds (a column round then a row round) over x[16]. */
static inline void salsa20_rounds(uint32_t x[16])
{
    uint32_t x0 = x[0], x1 = x[1], x2 = x[2], x3 = x[3], x4 = x[4], x5 = x[5], x6 = x[6],
             x7 = x[7], x8 = x[8], x9 = x[9], x10 = x[10], x11 = x[11], x12 = x[12],
             x13 = x[13], x14 = x[14], x15 = x[15];
    SALSA20_TEN_DOUBLE_ROUNDS();
    x[0] = x0; x[1] = x1; x[2] = x2; x[3] = x3; x[4] = x4; x[5] = x5; x[6] = x6; x[7] = x7;
    x[8] = x8; x[9] = x9; x[10] = x10; x[11] = x11; x[12] = x12; x[13] = x13; x[14] = x14;
    x[15] = x15;
}

/* The input matrix: constants on the diagonal, key around them, nonce/counter (or the
 * HSalsa20 input) in words 6..9. */
static void salsa20_setup(uint32_t s[16], const uint8_t k[32], const uint8_t in[16],
                          const uint8_t *c)
{
    if (c) {
        s[0] = ld32(c); s[5] = ld32(c + 4); s[10] = ld32(c + 8); s[15] = ld32(c + 12);
    } else {
        s[0] = SIGMA0; s[5] = SIGMA1; s[10] = SIGMA2; s[15] = SIGMA3;
    }
    s[1] = ld32(k); s[2] = ld32(k + 4); s[3] = ld32(k + 8); s[4] = ld32(k + 12);
    s[11] = ld32(k + 16); s[12] = ld32(k + 20); s[13] = ld32(k + 24); s[14] = ld32(k + 28);
    s[6] = ld32(in); s[7] = ld32(in + 4); s[8] = ld32(in + 8); s[9] = ld32(in + 12);
}

void zx_hsalsa20(uint8_t out[32], const uint8_t in[16], const uint8_t k[32], const uint8_t *c)
{
    uint32_t x[16];
    salsa20_setup(x, k, in, c);
    salsa20_rounds(x);
    /* no feed-forward: the diagonal and the input words are the output */
    st32(out, x[0]); st32(out + 4, x[5]); st32(out + 8, x[10]); st32(out + 12, x[15]);
    st32(out + 16, x[6]); st32(out + 20, x[7]); st32(out + 24, x[8]); st32(out + 28, x[9]);
    zx_memzero(x, sizeof x);
}

static const uint8_t ZERO64[64] = {0};

/* One keystream block from state s, XORed into 64 bytes of m (c may equal m). The rounds
 * run on locals and each output word is made where it is stored, so the block never
 * makes a round trip through memory. */
static inline void salsa20_xor_block(uint8_t *c, const uint8_t *m, const uint32_t s[16])
{
    uint32_t x0 = s[0], x1 = s[1], x2 = s[2], x3 = s[3], x4 = s[4], x5 = s[5], x6 = s[6],
             x7 = s[7], x8 = s[8], x9 = s[9], x10 = s[10], x11 = s[11], x12 = s[12],
             x13 = s[13], x14 = s[14], x15 = s[15];
    SALSA20_TEN_DOUBLE_ROUNDS();
#define OUT(j) st32(c + 4 * j, ld32(m + 4 * j) ^ (x##j + s[j]))
    OUT(0); OUT(1); OUT(2); OUT(3); OUT(4); OUT(5); OUT(6); OUT(7);
    OUT(8); OUT(9); OUT(10); OUT(11); OUT(12); OUT(13); OUT(14); OUT(15);
#undef OUT
}

void zx_salsa20_block(uint8_t out[64], const uint8_t n[8], uint64_t ic, const uint8_t k[32])
{
    uint8_t in[16];
    uint32_t s[16];
    int i;
    memcpy(in, n, 8);
    for (i = 0; i < 8; i++) in[8 + i] = (uint8_t)(ic >> (8 * i));
    salsa20_setup(s, k, in, NULL);
    salsa20_xor_block(out, ZERO64, s);
    zx_memzero(s, sizeof s);
}

#if defined(__GNUC__) || defined(__clang__)
/* Several consecutive blocks at once, one per lane of a vector of 32-bit words (GCC/Clang
 * vector extensions): 4 lanes (SSE2 on x86-64, NEON on arm64, scalar code elsewhere) and,
 * on x86 CPUs that have it (checked at run time), 8 lanes with AVX2. The same
 * add-rotate-xor on every lane, so it stays constant-time; only the block counter (words
 * 8-9) differs per lane. Large MESSAGEs spend their time here. */
#define ZX_SALSA20_X4 1
typedef uint32_t zx_u32x4 __attribute__((vector_size(16)));

#define SALSA20_LANES_BODY(VT, LANES)                                                     \
    VT in[16];                                                                          \
    uint64_t ctr = (uint64_t)s[8] | ((uint64_t)s[9] << 32);                             \
    int w, j;                                                                           \
    for (w = 0; w < 16; w++)                                                            \
        for (j = 0; j < LANES; j++) in[w][j] = s[w];                                    \
    for (j = 0; j < LANES; j++) {                                                       \
        in[8][j] = (uint32_t)(ctr + (uint64_t)j);                                       \
        in[9][j] = (uint32_t)((ctr + (uint64_t)j) >> 32);                               \
    }                                                                                   \
    {                                                                                   \
        VT x0 = in[0], x1 = in[1], x2 = in[2], x3 = in[3], x4 = in[4], x5 = in[5],      \
           x6 = in[6], x7 = in[7], x8 = in[8], x9 = in[9], x10 = in[10], x11 = in[11],  \
           x12 = in[12], x13 = in[13], x14 = in[14], x15 = in[15];                      \
        SALSA20_TEN_DOUBLE_ROUNDS();                                                    \
        in[0] += x0; in[1] += x1; in[2] += x2; in[3] += x3; in[4] += x4; in[5] += x5;   \
        in[6] += x6; in[7] += x7; in[8] += x8; in[9] += x9; in[10] += x10;              \
        in[11] += x11; in[12] += x12; in[13] += x13; in[14] += x14; in[15] += x15;      \
    }                                                                                   \
    for (j = 0; j < LANES; j++)                                                         \
        for (w = 0; w < 16; w++)                                                        \
            st32(c + 64 * j + 4 * w, (m ? ld32(m + 64 * j + 4 * w) : 0) ^ in[w][j]);   \
    zx_memzero(in, sizeof in);

static void salsa20_xor_4blocks(uint8_t *c, const uint8_t *m, const uint32_t s[16])
{
    SALSA20_LANES_BODY(zx_u32x4, 4)
}

#if defined(__x86_64__) || defined(__i386__)
/* x86: eight blocks per pass in AVX2 registers (intrinsics, compiled for AVX2 whatever the
 * build's baseline and used only where the CPU has it), with an 8x8 word transpose so that
 * each block leaves as two 32-byte stores; CPUs with AVX-512VL run the same code with a
 * one-instruction rotate. Only the block counter differs between lanes. */
#define ZX_SALSA20_X8 1
#include <immintrin.h>

#define S8_ROTL_AVX2(v, n) _mm256_or_si256(_mm256_slli_epi32(v, n), _mm256_srli_epi32(v, 32 - (n)))
#define S8_ROTL_VL(v, n) _mm256_rol_epi32(v, n)

#define S8_QR(ROT, a, b, c, d) do {                                                       \
        b = _mm256_xor_si256(b, ROT(_mm256_add_epi32(a, d), 7));                        \
        c = _mm256_xor_si256(c, ROT(_mm256_add_epi32(b, a), 9));                        \
        d = _mm256_xor_si256(d, ROT(_mm256_add_epi32(c, b), 13));                       \
        a = _mm256_xor_si256(a, ROT(_mm256_add_epi32(d, c), 18));                       \
    } while (0)

/* rows r0..r7 (word w of blocks 0..7 each) to blocks: o[j] holds the 8 words of block j */
#define S8_TRANSPOSE(r0, r1, r2, r3, r4, r5, r6, r7, o) do {                              \
        __m256i t0 = _mm256_unpacklo_epi32(r0, r1), t1 = _mm256_unpackhi_epi32(r0, r1);   \
        __m256i t2 = _mm256_unpacklo_epi32(r2, r3), t3 = _mm256_unpackhi_epi32(r2, r3);   \
        __m256i t4 = _mm256_unpacklo_epi32(r4, r5), t5 = _mm256_unpackhi_epi32(r4, r5);   \
        __m256i t6 = _mm256_unpacklo_epi32(r6, r7), t7 = _mm256_unpackhi_epi32(r6, r7);   \
        __m256i u0 = _mm256_unpacklo_epi64(t0, t2), u1 = _mm256_unpackhi_epi64(t0, t2);   \
        __m256i u2 = _mm256_unpacklo_epi64(t1, t3), u3 = _mm256_unpackhi_epi64(t1, t3);   \
        __m256i u4 = _mm256_unpacklo_epi64(t4, t6), u5 = _mm256_unpackhi_epi64(t4, t6);   \
        __m256i u6 = _mm256_unpacklo_epi64(t5, t7), u7 = _mm256_unpackhi_epi64(t5, t7);   \
        o[0] = _mm256_permute2x128_si256(u0, u4, 0x20);                                 \
        o[1] = _mm256_permute2x128_si256(u1, u5, 0x20);                                 \
        o[2] = _mm256_permute2x128_si256(u2, u6, 0x20);                                 \
        o[3] = _mm256_permute2x128_si256(u3, u7, 0x20);                                 \
        o[4] = _mm256_permute2x128_si256(u0, u4, 0x31);                                 \
        o[5] = _mm256_permute2x128_si256(u1, u5, 0x31);                                 \
        o[6] = _mm256_permute2x128_si256(u2, u6, 0x31);                                 \
        o[7] = _mm256_permute2x128_si256(u3, u7, 0x31);                                 \
    } while (0)

/* nblk8 groups of 8 blocks from state s (counter in s[8..9], advanced on return) */
#define SALSA20_X8_BODY(ROT)                                                              \
    __m256i in[16], lo[8], hi[8];                                                       \
    uint32_t cl[8], ch[8];                                                              \
    int w, j;                                                                           \
    for (w = 0; w < 16; w++) in[w] = _mm256_set1_epi32((int)s[w]);                      \
    for (; nblk8; nblk8--) {                                                            \
        uint64_t ctr = (uint64_t)s[8] | ((uint64_t)s[9] << 32);                         \
        for (j = 0; j < 8; j++) {                                                       \
            cl[j] = (uint32_t)(ctr + (uint64_t)j);                                      \
            ch[j] = (uint32_t)((ctr + (uint64_t)j) >> 32);                              \
        }                                                                               \
        in[8] = _mm256_loadu_si256((const __m256i *)cl);                                \
        in[9] = _mm256_loadu_si256((const __m256i *)ch);                                \
        ctr += 8;                                                                       \
        s[8] = (uint32_t)ctr;                                                           \
        s[9] = (uint32_t)(ctr >> 32);                                                   \
        {                                                                               \
            __m256i x0 = in[0], x1 = in[1], x2 = in[2], x3 = in[3], x4 = in[4],         \
                    x5 = in[5], x6 = in[6], x7 = in[7], x8 = in[8], x9 = in[9],         \
                    x10 = in[10], x11 = in[11], x12 = in[12], x13 = in[13],             \
                    x14 = in[14], x15 = in[15];                                         \
            int i_;                                                                     \
            for (i_ = 0; i_ < 10; i_++) {                                               \
                S8_QR(ROT, x0, x4, x8, x12);  S8_QR(ROT, x5, x9, x13, x1);              \
                S8_QR(ROT, x10, x14, x2, x6); S8_QR(ROT, x15, x3, x7, x11);             \
                S8_QR(ROT, x0, x1, x2, x3);   S8_QR(ROT, x5, x6, x7, x4);               \
                S8_QR(ROT, x10, x11, x8, x9); S8_QR(ROT, x15, x12, x13, x14);           \
            }                                                                           \
            x0 = _mm256_add_epi32(x0, in[0]); x1 = _mm256_add_epi32(x1, in[1]);         \
            x2 = _mm256_add_epi32(x2, in[2]); x3 = _mm256_add_epi32(x3, in[3]);         \
            x4 = _mm256_add_epi32(x4, in[4]); x5 = _mm256_add_epi32(x5, in[5]);         \
            x6 = _mm256_add_epi32(x6, in[6]); x7 = _mm256_add_epi32(x7, in[7]);         \
            x8 = _mm256_add_epi32(x8, in[8]); x9 = _mm256_add_epi32(x9, in[9]);         \
            x10 = _mm256_add_epi32(x10, in[10]); x11 = _mm256_add_epi32(x11, in[11]);   \
            x12 = _mm256_add_epi32(x12, in[12]); x13 = _mm256_add_epi32(x13, in[13]);   \
            x14 = _mm256_add_epi32(x14, in[14]); x15 = _mm256_add_epi32(x15, in[15]);   \
            S8_TRANSPOSE(x0, x1, x2, x3, x4, x5, x6, x7, lo);                           \
            S8_TRANSPOSE(x8, x9, x10, x11, x12, x13, x14, x15, hi);                     \
        }                                                                               \
        for (j = 0; j < 8; j++) {                                                       \
            __m256i a = lo[j], b = hi[j];                                               \
            if (m) {                                                                    \
                a = _mm256_xor_si256(a, _mm256_loadu_si256((const __m256i *)(m + 64 * j)));      \
                b = _mm256_xor_si256(b, _mm256_loadu_si256((const __m256i *)(m + 64 * j + 32))); \
            }                                                                           \
            _mm256_storeu_si256((__m256i *)(c + 64 * j), a);                            \
            _mm256_storeu_si256((__m256i *)(c + 64 * j + 32), b);                       \
        }                                                                               \
        if (m) m += 512;                                                                \
        c += 512;                                                                       \
    }                                                                                   \
    zx_memzero(in, sizeof in);                                                          \
    zx_memzero(lo, sizeof lo);                                                          \
    zx_memzero(hi, sizeof hi);

__attribute__((target("avx2")))
static void salsa20_xor_8blocks_avx2(uint8_t *c, const uint8_t *m, uint32_t s[16], size_t nblk8)
{
    SALSA20_X8_BODY(S8_ROTL_AVX2)
}

__attribute__((target("avx2,avx512f,avx512vl")))
static void salsa20_xor_8blocks_vl(uint8_t *c, const uint8_t *m, uint32_t s[16], size_t nblk8)
{
    SALSA20_X8_BODY(S8_ROTL_VL)
}

/* AVX-512F: sixteen blocks per pass in zmm registers. The 16x16 word transpose is done
 * as above inside each 128-bit lane (four words of four blocks), then as a 4x4 transpose
 * of 128-bit lanes across the four row groups. */
#define S16_QR(a, b, c, d) do {                                                           \
        b = _mm512_xor_si512(b, _mm512_rol_epi32(_mm512_add_epi32(a, d), 7));           \
        c = _mm512_xor_si512(c, _mm512_rol_epi32(_mm512_add_epi32(b, a), 9));           \
        d = _mm512_xor_si512(d, _mm512_rol_epi32(_mm512_add_epi32(c, b), 13));          \
        a = _mm512_xor_si512(a, _mm512_rol_epi32(_mm512_add_epi32(d, c), 18));          \
    } while (0)

/* four rows to u[k]: 128-bit lane L holds their words for block 4L + k */
#define S16_T4(r0, r1, r2, r3, u) do {                                                    \
        __m512i t0 = _mm512_unpacklo_epi32(r0, r1), t1 = _mm512_unpackhi_epi32(r0, r1);   \
        __m512i t2 = _mm512_unpacklo_epi32(r2, r3), t3 = _mm512_unpackhi_epi32(r2, r3);   \
        u[0] = _mm512_unpacklo_epi64(t0, t2); u[1] = _mm512_unpackhi_epi64(t0, t2);     \
        u[2] = _mm512_unpacklo_epi64(t1, t3); u[3] = _mm512_unpackhi_epi64(t1, t3);     \
    } while (0)

__attribute__((target("avx512f")))
static void salsa20_xor_16blocks_avx512(uint8_t *c, const uint8_t *m, uint32_t s[16],
                                        size_t nblk16)
{
    __m512i in[16], a[4], b[4], cc[4], d[4];
    uint32_t cl[16], ch[16];
    int w, j, k;
    for (w = 0; w < 16; w++) in[w] = _mm512_set1_epi32((int)s[w]);
    for (; nblk16; nblk16--) {
        uint64_t ctr = (uint64_t)s[8] | ((uint64_t)s[9] << 32);
        for (j = 0; j < 16; j++) {
            cl[j] = (uint32_t)(ctr + (uint64_t)j);
            ch[j] = (uint32_t)((ctr + (uint64_t)j) >> 32);
        }
        in[8] = _mm512_loadu_si512((const void *)cl);
        in[9] = _mm512_loadu_si512((const void *)ch);
        ctr += 16;
        s[8] = (uint32_t)ctr;
        s[9] = (uint32_t)(ctr >> 32);
        {
            __m512i x0 = in[0], x1 = in[1], x2 = in[2], x3 = in[3], x4 = in[4], x5 = in[5],
                    x6 = in[6], x7 = in[7], x8 = in[8], x9 = in[9], x10 = in[10],
                    x11 = in[11], x12 = in[12], x13 = in[13], x14 = in[14], x15 = in[15];
            int i;
            for (i = 0; i < 10; i++) {
                S16_QR(x0, x4, x8, x12);  S16_QR(x5, x9, x13, x1);
                S16_QR(x10, x14, x2, x6); S16_QR(x15, x3, x7, x11);
                S16_QR(x0, x1, x2, x3);   S16_QR(x5, x6, x7, x4);
                S16_QR(x10, x11, x8, x9); S16_QR(x15, x12, x13, x14);
            }
            x0 = _mm512_add_epi32(x0, in[0]); x1 = _mm512_add_epi32(x1, in[1]);
            x2 = _mm512_add_epi32(x2, in[2]); x3 = _mm512_add_epi32(x3, in[3]);
            x4 = _mm512_add_epi32(x4, in[4]); x5 = _mm512_add_epi32(x5, in[5]);
            x6 = _mm512_add_epi32(x6, in[6]); x7 = _mm512_add_epi32(x7, in[7]);
            x8 = _mm512_add_epi32(x8, in[8]); x9 = _mm512_add_epi32(x9, in[9]);
            x10 = _mm512_add_epi32(x10, in[10]); x11 = _mm512_add_epi32(x11, in[11]);
            x12 = _mm512_add_epi32(x12, in[12]); x13 = _mm512_add_epi32(x13, in[13]);
            x14 = _mm512_add_epi32(x14, in[14]); x15 = _mm512_add_epi32(x15, in[15]);
            S16_T4(x0, x1, x2, x3, a);
            S16_T4(x4, x5, x6, x7, b);
            S16_T4(x8, x9, x10, x11, cc);
            S16_T4(x12, x13, x14, x15, d);
        }
        for (k = 0; k < 4; k++) {
            /* block 4L + k is (a[k], b[k], cc[k], d[k]) at 128-bit lane L */
            __m512i t0 = _mm512_shuffle_i32x4(a[k], b[k], 0x44);
            __m512i t1 = _mm512_shuffle_i32x4(a[k], b[k], 0xEE);
            __m512i t2 = _mm512_shuffle_i32x4(cc[k], d[k], 0x44);
            __m512i t3 = _mm512_shuffle_i32x4(cc[k], d[k], 0xEE);
            __m512i o[4];
            o[0] = _mm512_shuffle_i32x4(t0, t2, 0x88);
            o[1] = _mm512_shuffle_i32x4(t0, t2, 0xDD);
            o[2] = _mm512_shuffle_i32x4(t1, t3, 0x88);
            o[3] = _mm512_shuffle_i32x4(t1, t3, 0xDD);
            for (j = 0; j < 4; j++) {
                size_t off = (size_t)64 * (4 * j + k);
                if (m) o[j] = _mm512_xor_si512(o[j], _mm512_loadu_si512((const void *)(m + off)));
                _mm512_storeu_si512((void *)(c + off), o[j]);
            }
        }
        if (m) m += 1024;
        c += 1024;
    }
    zx_memzero(in, sizeof in);
    zx_memzero(a, sizeof a); zx_memzero(b, sizeof b);
    zx_memzero(cc, sizeof cc); zx_memzero(d, sizeof d);
}

/* 0: portable only, 1: AVX2, 2: AVX2 with AVX-512VL rotates, and AVX-512F's 16 lanes */
static int salsa20_x86_level(void)
{
    static int known = -1;      /* a benign race: every thread computes the same answer */
    if (known < 0) {
        __builtin_cpu_init();
        known = !__builtin_cpu_supports("avx2") ? 0
                : (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512vl")) ? 2
                : 1;
    }
    return known;
}
#endif
#endif

void zx_salsa20_xor_ic(uint8_t *c, const uint8_t *m, size_t len, const uint8_t n[8],
                       uint64_t ic, const uint8_t k[32])
{
    uint8_t in[16];
    uint32_t s[16];
    if (len == 0) return;
    memcpy(in, n, 8);
    memset(in + 8, 0, 8);
    salsa20_setup(s, k, in, NULL);
    s[8] = (uint32_t)ic;
    s[9] = (uint32_t)(ic >> 32);
#ifdef ZX_SALSA20_X8
    if (len >= 192 && zx_crypto_simd_enabled() >= ZX_SIMD_AVX2) {
        int level = salsa20_x86_level();
        if (level == 2 && zx_crypto_simd_enabled() < ZX_SIMD_AVX512) level = 1;
        size_t n8;
        if (level == 2 && len >= 1024) {
            size_t n16 = len / 1024;
            salsa20_xor_16blocks_avx512(c, m, s, n16);
            if (m) m += 1024 * n16;
            c += 1024 * n16;
            len -= 1024 * n16;
        }
        n8 = len / 512;
        if (level == 2) salsa20_xor_8blocks_vl(c, m, s, n8);
        else if (level == 1) salsa20_xor_8blocks_avx2(c, m, s, n8);
        if (level) {
            if (m) m += 512 * n8;
            c += 512 * n8;
            len -= 512 * n8;
        }
        if (level && len) {
            /* the tail (under 512 bytes): one more batch of keystream, XORed bytewise */
            uint8_t ks[512];
            size_t j;
            if (level == 2) salsa20_xor_8blocks_vl(ks, NULL, s, 1);
            else salsa20_xor_8blocks_avx2(ks, NULL, s, 1);
            for (j = 0; j < len; j++) c[j] = (uint8_t)((m ? m[j] : 0) ^ ks[j]);
            zx_memzero(ks, sizeof ks);
            len = 0;
        }
    }
#endif
#ifdef ZX_SALSA20_X4
    while (len >= 256 && zx_crypto_simd_enabled() >= ZX_SIMD_VEC128) {
        uint64_t ctr;
        salsa20_xor_4blocks(c, m, s);
        if (m) m += 256;
        c += 256;
        len -= 256;
        ctr = ((uint64_t)s[8] | ((uint64_t)s[9] << 32)) + 4;
        s[8] = (uint32_t)ctr;
        s[9] = (uint32_t)(ctr >> 32);
    }
#endif
    while (len >= 64) {
        if (m) {
            salsa20_xor_block(c, m, s);
            m += 64;
        } else {
            salsa20_xor_block(c, ZERO64, s);
        }
        c += 64;
        len -= 64;
        /* the 64-bit block counter spans words 8 and 9 */
        if (++s[8] == 0) s[9]++;
    }
    if (len > 0) {
        uint8_t block[64];
        size_t j;
        salsa20_xor_block(block, ZERO64, s);
        for (j = 0; j < len; j++) c[j] = (uint8_t)((m ? m[j] : 0) ^ block[j]);
        zx_memzero(block, sizeof block);
    }
    zx_memzero(s, sizeof s);
}

void zx_xsalsa20_xor_ic(uint8_t *c, const uint8_t *m, size_t len, const uint8_t n[24],
                        uint64_t ic, const uint8_t k[32])
{
    uint8_t subkey[32];
    zx_hsalsa20(subkey, n, k, NULL);
    zx_salsa20_xor_ic(c, m, len, n + 16, ic, subkey);
    zx_memzero(subkey, sizeof subkey);
}
