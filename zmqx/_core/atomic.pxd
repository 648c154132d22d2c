# Cython view of atomic.h
from libc.stdint cimport int64_t

cdef extern from "atomic.h" nogil:
    int64_t zx_load(int64_t *p)
    void zx_store(int64_t *p, int64_t v)
    int64_t zx_add(int64_t *p, int64_t v)
    int64_t zx_xchg(int64_t *p, int64_t v)
    bint zx_cas(int64_t *p, int64_t expect, int64_t v)
    void *zx_load_ptr(void **p)
    void zx_store_ptr(void **p, void *v)
    void *zx_xchg_ptr(void **p, void *v)
    bint zx_cas_ptr(void **p, void *expect, void *v)
    void zx_fence()
