/* salsa20.c: the Salsa20/20 stream cipher (Bernstein, "Salsa20 specification"), HSalsa20
 * and XSalsa20 ("Extending the Salsa20 nonce"): the encryption half of NaCl's secretbox.
 *
 * Salsa20 is add-rotate-xor on 32-bit words, so it has no secret-dependent branches or
 * table lookups by construction. The state lives in sixteen local variables so the
 * compiler can keep it in registers; the bulk path XORs a word at a time. */
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
#define ZX_SALSA20_X8 1
typedef uint32_t zx_u32x8 __attribute__((vector_size(32)));

__attribute__((target("avx2")))
static void salsa20_xor_8blocks(uint8_t *c, const uint8_t *m, const uint32_t s[16])
{
    SALSA20_LANES_BODY(zx_u32x8, 8)
}

static int salsa20_have_avx2(void)
{
    static int known = -1;      /* a benign race: every thread computes the same answer */
    if (known < 0) {
        __builtin_cpu_init();
        known = __builtin_cpu_supports("avx2") ? 1 : 0;
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
    if (len >= 512 && salsa20_have_avx2()) {
        while (len >= 512) {
            uint64_t ctr;
            salsa20_xor_8blocks(c, m, s);
            if (m) m += 512;
            c += 512;
            len -= 512;
            ctr = ((uint64_t)s[8] | ((uint64_t)s[9] << 32)) + 8;
            s[8] = (uint32_t)ctr;
            s[9] = (uint32_t)(ctr >> 32);
        }
    }
#endif
#ifdef ZX_SALSA20_X4
    while (len >= 256) {
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
