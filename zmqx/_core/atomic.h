/* The few atomics the pipes and refcounts need. GCC/Clang builtins; MSVC intrinsics. */
#ifndef ZX_ATOMIC_H
#define ZX_ATOMIC_H
#include <stdint.h>
#include <stddef.h>

#if defined(_MSC_VER) && !defined(__clang__)
#include <intrin.h>
static inline int64_t zx_load(volatile int64_t *p) { int64_t v = *p; _ReadWriteBarrier(); return v; }
static inline void zx_store(volatile int64_t *p, int64_t v) { _ReadWriteBarrier(); *p = v; }
static inline int64_t zx_add(volatile int64_t *p, int64_t v) { return _InterlockedExchangeAdd64(p, v) + v; }
static inline int64_t zx_xchg(volatile int64_t *p, int64_t v) { return _InterlockedExchange64(p, v); }
static inline int zx_cas(volatile int64_t *p, int64_t expect, int64_t v) { return _InterlockedCompareExchange64(p, v, expect) == expect; }
static inline void *zx_load_ptr(void *volatile *p) { void *v = *p; _ReadWriteBarrier(); return v; }
static inline void zx_store_ptr(void *volatile *p, void *v) { _ReadWriteBarrier(); *p = v; }
static inline void *zx_xchg_ptr(void *volatile *p, void *v) { return _InterlockedExchangePointer(p, v); }
static inline int zx_cas_ptr(void *volatile *p, void *expect, void *v) { return _InterlockedCompareExchangePointer(p, v, expect) == expect; }
static inline void zx_fence(void) { MemoryBarrier(); }
#else
/* acquire loads / release stores for publishing; seq_cst where a Dekker-style handshake needs it */
static inline int64_t zx_load(volatile int64_t *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void zx_store(volatile int64_t *p, int64_t v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline int64_t zx_add(volatile int64_t *p, int64_t v) { return __atomic_add_fetch(p, v, __ATOMIC_ACQ_REL); }
static inline int64_t zx_xchg(volatile int64_t *p, int64_t v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline int zx_cas(volatile int64_t *p, int64_t expect, int64_t v) { return __atomic_compare_exchange_n(p, &expect, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); }
static inline void *zx_load_ptr(void *volatile *p) { return __atomic_load_n(p, __ATOMIC_ACQUIRE); }
static inline void zx_store_ptr(void *volatile *p, void *v) { __atomic_store_n(p, v, __ATOMIC_RELEASE); }
static inline void *zx_xchg_ptr(void *volatile *p, void *v) { return __atomic_exchange_n(p, v, __ATOMIC_SEQ_CST); }
static inline int zx_cas_ptr(void *volatile *p, void *expect, void *v) { return __atomic_compare_exchange_n(p, &expect, v, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST); }
static inline void zx_fence(void) { __atomic_thread_fence(__ATOMIC_SEQ_CST); }
#endif

#endif
