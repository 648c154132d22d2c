# Bytes-shaped blocks (included by msg.pyx): the memory the engine reads a large frame
# into, laid out so that recv(copy=True) can hand it out as the bytes object itself; the
# check that the interpreter's allocator allows it; the cache of released blocks.

# recv(copy=True) must give a bytes object, and a bytes object owns its storage: it cannot
# point at a block. So the engine reads each large frame into memory laid out as a bytes
# object would be: room for the object header (ZX_BYTES_HDR), the content, the NUL that
# ends every bytes object, and the zx_block itself last in the same allocation (the
# allocation has to start at the object, which is where Python will free it from). When the
# app thread holds the only reference to such a block and the message covers all of it,
# writing the header makes the memory the bytes object: no copy.
#
# Python frees it with PyObject_Free. For memory its object allocator did not carve out of
# its own arenas, that is free(), exactly the path of every large bytes object CPython
# itself makes (it mallocs them). That holds for the default allocators only, so
# zx_bytes_adoptable decides once, at import: no debug hooks, no allocator installed at
# startup (tracemalloc, a custom one), not mimalloc, a build with a GIL, CPython. Otherwise
# zx_block_new_bytes makes plain blocks and recv copies once, as it always did. The memory
# comes from malloc(), never from a Python allocator, so the I/O thread never needs the GIL.
# One visible trace: sys.getallocatedblocks() counts the malloc()ed blocks PyObject_Malloc
# handed out and uncounts them in PyObject_Free; an adopted frame was never counted, so
# that diagnostic figure ends one lower for each one freed.

cdef extern from *:
    """
    #include <stddef.h>
    #include <stdlib.h>
    #include <string.h>
    #define ZX_BYTES_HDR offsetof(PyBytesObject, ob_sval)
    #if !defined(PYPY_VERSION) && !defined(Py_GIL_DISABLED) && !defined(Py_DEBUG) \
        && PY_VERSION_HEX < 0x030F0000
    #define ZX_BYTES_ADOPT 1
    #endif
    static int zx_bytes_adoptable(void) {
    #ifdef ZX_BYTES_ADOPT
        PyMemAllocatorEx a;
        const char *env = getenv("PYTHONMALLOC");
        if (env != NULL && env[0] != 0 && strcmp(env, "pymalloc") != 0
                && strcmp(env, "malloc") != 0)
            return 0;                        /* debug hooks, mimalloc */
        PyMem_GetAllocator(PYMEM_DOMAIN_OBJ, &a);
        if (a.ctx != NULL) return 0;         /* debug hooks, tracemalloc, a custom one */
        PyMem_GetAllocator(PYMEM_DOMAIN_RAW, &a);
        if (a.ctx != NULL) return 0;
        return 1;
    #else
        return 0;
    #endif
    }
    /* mem (from malloc: ZX_BYTES_HDR + n + 1 bytes or more, the content in place) becomes a
       bytes object of n bytes that owns it; a new reference */
    static PyObject *zx_bytes_adopt(void *mem, Py_ssize_t n) {
    #ifdef ZX_BYTES_ADOPT
        PyBytesObject *op = (PyBytesObject *)mem;
        PyObject_InitVar((PyVarObject *)op, &PyBytes_Type, n);
    #ifdef _Py_COMP_DIAG_PUSH
        _Py_COMP_DIAG_PUSH
        _Py_COMP_DIAG_IGNORE_DEPR_DECLS
    #endif
        op->ob_shash = -1;
    #ifdef _Py_COMP_DIAG_PUSH
        _Py_COMP_DIAG_POP
    #endif
        op->ob_sval[n] = 0;
        return (PyObject *)op;
    #else
        (void)mem; (void)n;
        PyErr_SetString(PyExc_SystemError, "zmqx: bytes adoption is not built in");
        return NULL;
    #endif
    }
    """
    size_t ZX_BYTES_HDR
    int zx_bytes_adoptable()
    object zx_bytes_adopt(void *mem, Py_ssize_t n)

cdef bint _adopt_ok = zx_bytes_adoptable()
cdef Py_ssize_t _adopted = 0       # frames handed out as their own memory (a test hook reads it)


def _bytes_adoption(enable=None):
    """Test hook: whether large received frames land in bytes-shaped blocks (so
    recv(copy=True) returns them without a copy); `enable` switches it (False: always
    plain blocks; True: only where the interpreter allows it). Returns the setting."""
    global _adopt_ok
    if enable is not None:
        _adopt_ok = bool(enable) and zx_bytes_adoptable()
    return bool(_adopt_ok)


def _bytes_adopted():
    """Test hook: how many received frames recv(copy=True) returned without a copy."""
    return _adopted


cdef inline size_t _bytes_tail(size_t cap) noexcept nogil:
    # where the zx_block sits: after header, content and NUL, 16-byte aligned
    return (ZX_BYTES_HDR + cap + 1 + 15) & ~(<size_t>15)


# A few released bytes-shaped blocks are kept for the next frame of the same size. Why:
# the engine allocates one per large frame on its thread and the app frees it on another,
# and glibc gives the top of the I/O thread's arena back to the kernel as soon as more than
# 128 KiB of it is free (MADV_DONTNEED), so every new block faulted its pages in again,
# zeroed: 16% of the CPU time of a 64 KiB stream between two threads. Only blocks that come
# back to us are kept (a Frame's, a dropped message's); one that became a bytes object is
# Python's to free. Shared by every thread, under a try-lock: a thread that finds it taken
# (or a forked child that inherited it taken) mallocs or frees as before and never waits.
# Sizes match exactly, so a reused block is indistinguishable from a new one; a request
# that matches nothing frees one cached block, so sizes no longer in use drain away.
cdef enum:
    CACHE_SLOTS = 32
    CACHE_BLOCK_MAX = 4 << 20          # larger blocks are never kept
    CACHE_BYTES_MAX = 8 << 20          # what the cache may hold in all

cdef zx_block *_cache[CACHE_SLOTS]
cdef int64_t _cache_lock = 0
cdef size_t _cache_bytes = 0
cdef int _cache_evict = 0              # where the next unmatched request frees a block


cdef void _bytes_block_free(void *blk) noexcept nogil:
    global _cache_bytes
    cdef zx_block *b = <zx_block *>blk
    cdef int i
    if b.size <= CACHE_BLOCK_MAX and zx_cas(&_cache_lock, 0, 1):
        if _cache_bytes + b.size <= CACHE_BYTES_MAX:
            for i in range(CACHE_SLOTS):
                if _cache[i] == NULL:
                    _cache[i] = b
                    _cache_bytes += b.size
                    b = NULL
                    break
        zx_store(&_cache_lock, 0)
    if b != NULL:
        free(b.hint)


cdef zx_block *_cache_take(size_t cap) noexcept nogil:
    global _cache_bytes, _cache_evict
    cdef zx_block *b = NULL
    cdef zx_block *stale = NULL
    cdef int i
    if not zx_cas(&_cache_lock, 0, 1):
        return NULL
    for i in range(CACHE_SLOTS):
        if _cache[i] != NULL and _cache[i].size == cap:
            b = _cache[i]
            _cache[i] = NULL
            _cache_bytes -= cap
            break
    else:
        for i in range(CACHE_SLOTS):
            stale = _cache[(_cache_evict + i) % CACHE_SLOTS]
            if stale != NULL:
                _cache[(_cache_evict + i) % CACHE_SLOTS] = NULL
                _cache_bytes -= stale.size
                _cache_evict = (_cache_evict + i + 1) % CACHE_SLOTS
                break
    zx_store(&_cache_lock, 0)
    if stale != NULL:
        free(stale.hint)
    if b != NULL:
        b.refs = 1
        b.next = NULL
        b.done = 0
    return b


def _bytes_cache_clear():
    """Test hook: free the cached blocks; returns how many bytes they held."""
    global _cache_bytes
    cdef size_t held = 0
    cdef zx_block *b
    cdef int i
    while not zx_cas(&_cache_lock, 0, 1):
        pass
    for i in range(CACHE_SLOTS):
        b = _cache[i]
        if b != NULL:
            _cache[i] = NULL
            held += b.size
            free(b.hint)
    _cache_bytes = 0
    zx_store(&_cache_lock, 0)
    return held


cdef zx_block *zx_block_new_bytes(size_t cap) noexcept nogil:
    cdef unsigned char *mem
    cdef zx_block *b
    cdef size_t off
    if not _adopt_ok:
        return zx_block_new(cap)
    if cap > (<size_t>-1) // 2:
        return NULL
    if cap <= CACHE_BLOCK_MAX:
        b = _cache_take(cap)
        if b != NULL:
            return b
    off = _bytes_tail(cap)
    mem = <unsigned char *>malloc(off + sizeof(zx_block))
    if mem == NULL:
        return NULL
    b = <zx_block *>(mem + off)
    b.refs = 1
    b.size = cap
    b.data = mem + ZX_BYTES_HDR
    b.ffn = _bytes_block_free
    b.hint = mem
    b.next = NULL
    b.done = 0
    return b


cdef zx_block *zx_block_grow(zx_block *b, size_t cap) noexcept nogil:
    cdef unsigned char *mem
    cdef zx_block *nb
    cdef size_t off, old_off
    if cap > (<size_t>-1) // 2:
        return NULL
    if b.ffn == _bytes_block_free:
        if cap < b.size:
            return b
        old_off = _bytes_tail(b.size)
        off = _bytes_tail(cap)
        mem = <unsigned char *>realloc(b.hint, off + sizeof(zx_block))
        if mem == NULL:
            return NULL
        # the block moved up with the content: realloc kept it at its old offset
        nb = <zx_block *>(mem + off)
        memmove(nb, mem + old_off, sizeof(zx_block))
        nb.hint = mem
        nb.data = mem + ZX_BYTES_HDR
        nb.size = cap
        return nb
    # a block whose memory follows it (plain, or carrying connection properties)
    nb = <zx_block *>realloc(b, sizeof(zx_block) + cap)
    if nb == NULL:
        return NULL
    nb.data = (<unsigned char *>nb) + sizeof(zx_block)
    nb.size = cap
    return nb


cdef object _bytes_adopt_msg(zx_msg *m):
    # *m holds the only reference to a whole bytes-shaped block: its memory becomes the
    # bytes object. Past the content, a block that grew by doubling (frames over BIG_EAGER)
    # may have much more room than the frame needed: given back first
    cdef zx_block *b = m.u.l.blk
    cdef unsigned char *mem = <unsigned char *>b.hint
    cdef unsigned char *nm
    cdef size_t n = m.size
    global _adopted
    _adopted += 1
    if b.size - n >= 65536:
        nm = <unsigned char *>realloc(mem, ZX_BYTES_HDR + n + 1)
        if nm != NULL:
            mem = nm
    m.is_block = 0
    m.size = 0
    return zx_bytes_adopt(mem, n)


def _bytes_block_roundtrip(data, Py_ssize_t room=-1):
    """Test hook: `data` copied into a bytes-shaped block with `room` bytes (at least
    len(data); default exactly that), grown to twice that, then taken as recv(copy=True)
    takes a received frame. Returns (bytes, adopted): adopted is whether the result is the
    block's own memory."""
    cdef const unsigned char[::1] v = data
    cdef size_t n = v.shape[0]
    cdef zx_block *b
    cdef zx_block *g
    cdef zx_msg m
    cdef bint adopted
    if room < 0:
        room = n
    if <size_t>room < n:
        raise ValueError("room < len(data)")
    b = zx_block_new_bytes(room)
    if b == NULL:
        raise MemoryError()
    if n:
        memcpy(b.data, &v[0], n)
    g = zx_block_grow(b, 2 * room if room else 1)
    if g == NULL:
        zx_block_unref(b)
        raise MemoryError()
    adopted = g.ffn == _bytes_block_free
    m.size = n
    m.flags = 0
    m.routing_id = 0
    m.is_block = 1
    m.u.l.blk = g
    m.u.l.data = g.data
    return zx_msg_take_bytes(&m), adopted
