/* randombytes.c: key material from the operating system, plus the small helpers every
 * other file needs (wiping secrets, comparing tags in constant time, the cap on the
 * vector code paths).
 *
 * Randomness comes only from the kernel's CSPRNG, never from a generator kept in this
 * process: a userspace pool would need reseeding after fork() and could repeat a key in a
 * child, which is exactly the failure CurveZMQ cannot survive (a repeated short-term key
 * plus a repeated nonce breaks the box). Per platform:
 *   Linux:        getrandom(2) (blocks only until the pool is first seeded), retrying on
 *                 EINTR and partial reads; /dev/urandom only when the running kernel lacks
 *                 the system call (ENOSYS), decided at run time.
 *   macOS, BSDs:  arc4random_buf (kernel-backed; it cannot fail).
 *   Windows:      BCryptGenRandom with the system-preferred RNG.
 *   other POSIX:  /dev/urandom. */
#if defined(__linux__) && !defined(_GNU_SOURCE)
#define _GNU_SOURCE
#endif
#include "zx_crypto.h"

#include <errno.h>
#include <string.h>

#if defined(_WIN32)
#include <windows.h>
#include <bcrypt.h>
#ifdef _MSC_VER
#pragma comment(lib, "bcrypt")
#endif
#define ZX_RNG_WINDOWS 1
#elif defined(__APPLE__) || defined(__FreeBSD__) || defined(__OpenBSD__) || \
    defined(__NetBSD__) || defined(__DragonFly__)
#include <stdlib.h>
#define ZX_RNG_ARC4 1
#else
#include <fcntl.h>
#include <unistd.h>
#if defined(__linux__)
#include <sys/syscall.h>
#if defined(SYS_getrandom) && !defined(ZX_CRYPTO_NO_GETRANDOM) /* (the latter: tests) */
#define ZX_RNG_GETRANDOM 1
#endif
#endif
#define ZX_RNG_URANDOM 1
#endif

void zx_memzero(void *p, size_t n)
{
#if defined(__GNUC__) || defined(__clang__)
    /* memset at full speed (the vector code wipes a kilobyte of state per call), then an
     * empty asm that claims to read the memory: the compiler must keep the stores even
     * when the buffer is never read again. */
    memset(p, 0, n);
    __asm__ __volatile__("" : : "r"(p) : "memory");
#else
    /* Stores through a volatile pointer are observable behaviour: the compiler must keep
     * them even when the buffer is never read again. */
    volatile uint8_t *v = (volatile uint8_t *)p;
    while (n--) *v++ = 0;
#endif
}

static int simd_cap = ZX_SIMD_AVX512;

void zx_crypto_set_simd(int level)
{
    simd_cap = level < ZX_SIMD_NONE ? ZX_SIMD_NONE : level > ZX_SIMD_AVX512 ? ZX_SIMD_AVX512 : level;
}

int zx_crypto_simd_enabled(void) { return simd_cap; }

int zx_verify16(const uint8_t *a, const uint8_t *b)
{
    /* OR every byte difference together; branch only on the final, public answer. */
    uint32_t d = 0;
    int i;
    for (i = 0; i < 16; i++) d |= (uint32_t)(a[i] ^ b[i]);
    /* d is 0..255: (d - 1) >> 8 has bit 0 set exactly when d == 0 */
    return (int)((1 & ((d - 1) >> 8)) - 1);
}

#if defined(ZX_RNG_URANDOM)
static int urandom_fill(uint8_t *p, size_t n)
{
    int fd;
    do {
#ifdef O_CLOEXEC
        fd = open("/dev/urandom", O_RDONLY | O_CLOEXEC);
#else
        fd = open("/dev/urandom", O_RDONLY);
#endif
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -1;
    while (n > 0) {
        ssize_t got = read(fd, p, n);
        if (got < 0) {
            if (errno == EINTR) continue;
            int saved = errno;
            close(fd);
            errno = saved;
            return -1;
        }
        if (got == 0) { /* a /dev/urandom that ends is not one */
            close(fd);
            errno = EIO;
            return -1;
        }
        p += got;
        n -= (size_t)got;
    }
    close(fd);
    return 0;
}
#endif

#if defined(ZX_RNG_GETRANDOM)
/* Set once the kernel said ENOSYS; every later call goes straight to /dev/urandom.
 * Racing writers all store the same value. */
static volatile int zx_no_getrandom = 0;
#endif

int zx_randombytes(void *buf, size_t n)
{
    uint8_t *p = (uint8_t *)buf;
#if defined(ZX_RNG_WINDOWS)
    while (n > 0) {
        ULONG chunk = n > 0x40000000u ? 0x40000000u : (ULONG)n;
        if (BCryptGenRandom(NULL, p, chunk, BCRYPT_USE_SYSTEM_PREFERRED_RNG) != 0) {
            errno = EIO;
            return -1;
        }
        p += chunk;
        n -= chunk;
    }
    return 0;
#elif defined(ZX_RNG_ARC4)
    arc4random_buf(p, n);
    return 0;
#else
#if defined(ZX_RNG_GETRANDOM)
    if (!zx_no_getrandom) {
        while (n > 0) {
            long got = syscall(SYS_getrandom, p, n, 0);
            if (got < 0) {
                if (errno == EINTR) continue;
                if (errno == ENOSYS) {
                    zx_no_getrandom = 1;
                    return urandom_fill(p, n);
                }
                return -1;
            }
            p += got; /* large requests may come back in parts */
            n -= (size_t)got;
        }
        return 0;
    }
#endif
    return urandom_fill(p, n);
#endif
}
