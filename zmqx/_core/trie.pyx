# Subscription trie (see trie.pxd). One node per byte, children in a small sorted-free
# array: subscription sets are small and matching walks at most len(topic) nodes.
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy


cdef zx_trie *zx_trie_new() noexcept nogil:
    return <zx_trie *>calloc(1, sizeof(zx_trie))


cdef void zx_trie_free(zx_trie *t) noexcept nogil:
    cdef int i
    if t == NULL:
        return
    for i in range(t.nchildren):
        zx_trie_free(t.children[i])
    free(t.keys)
    free(t.children)
    free(t)


cdef inline zx_trie *_child(zx_trie *t, unsigned char c) noexcept nogil:
    cdef int i
    for i in range(t.nchildren):
        if t.keys[i] == c:
            return t.children[i]
    return NULL


cdef zx_trie *_child_add(zx_trie *t, unsigned char c) noexcept nogil:
    cdef zx_trie *n = _child(t, c)
    cdef unsigned char *keys
    cdef zx_trie **children
    cdef int cap
    if n != NULL:
        return n
    if t.nchildren == t.cap:
        cap = t.cap * 2 if t.cap else 2
        keys = <unsigned char *>realloc(t.keys, cap)
        if keys == NULL:
            return NULL
        t.keys = keys
        children = <zx_trie **>realloc(t.children, cap * sizeof(zx_trie *))
        if children == NULL:
            return NULL
        t.children = children
        t.cap = cap
    n = zx_trie_new()
    if n == NULL:
        return NULL
    t.keys[t.nchildren] = c
    t.children[t.nchildren] = n
    t.nchildren += 1
    return n


cdef int zx_trie_add(zx_trie *t, const unsigned char *p, size_t n) noexcept nogil:
    # 1: the prefix is new; 0: one more reference; -1: out of memory (nothing changed)
    cdef zx_trie *node = t
    cdef size_t i
    # make the path first so a failure changes no counts
    for i in range(n):
        node = _child_add(node, p[i])
        if node == NULL:
            return -1
    node = t
    node.live += 1
    for i in range(n):
        node = _child(node, p[i])
        node.live += 1
    node.refcnt += 1
    return 1 if node.refcnt == 1 else 0


cdef void _prune(zx_trie *t, const unsigned char *p, size_t n) noexcept nogil:
    # drop the first child on the path whose subtree became empty
    cdef zx_trie *node = t
    cdef zx_trie *c
    cdef size_t i
    cdef int k
    for i in range(n):
        c = _child(node, p[i])
        if c.live == 0:
            for k in range(node.nchildren):
                if node.keys[k] == p[i]:
                    node.nchildren -= 1
                    node.keys[k] = node.keys[node.nchildren]
                    node.children[k] = node.children[node.nchildren]
                    break
            zx_trie_free(c)
            return
        node = c


cdef int zx_trie_rm(zx_trie *t, const unsigned char *p, size_t n) noexcept nogil:
    # 1: the last reference went away; 0: references remain; -1: not subscribed
    cdef zx_trie *node = t
    cdef size_t i
    for i in range(n):
        node = _child(node, p[i])
        if node == NULL:
            return -1
    if node.refcnt == 0:
        return -1
    node.refcnt -= 1
    cdef long left = node.refcnt
    node = t
    node.live -= 1
    for i in range(n):
        node = _child(node, p[i])
        node.live -= 1
    _prune(t, p, n)
    return 1 if left == 0 else 0


cdef bint zx_trie_match(zx_trie *t, const unsigned char *data, size_t n) noexcept nogil:
    cdef zx_trie *node = t
    cdef size_t i
    if node.refcnt:
        return True
    for i in range(n):
        if node.live == 0:
            return False
        node = _child(node, data[i])
        if node == NULL:
            return False
        if node.refcnt:
            return True
    return False


cdef long zx_trie_count(zx_trie *t, const unsigned char *p, size_t n) noexcept nogil:
    cdef zx_trie *node = t
    cdef size_t i
    for i in range(n):
        node = _child(node, p[i])
        if node == NULL:
            return 0
    return node.refcnt


ctypedef struct _walk:
    unsigned char *buf
    size_t cap
    zx_trie_cb cb
    void *arg


cdef void _foreach(zx_trie *t, _walk *w, size_t depth) noexcept nogil:
    cdef int i
    cdef unsigned char *nb
    if t.refcnt:
        w.cb(w.arg, w.buf, depth, t.refcnt)
    if depth + 1 > w.cap:
        nb = <unsigned char *>realloc(w.buf, w.cap * 2 + 64)
        if nb == NULL:
            return
        w.buf = nb
        w.cap = w.cap * 2 + 64
    for i in range(t.nchildren):
        w.buf[depth] = t.keys[i]
        _foreach(t.children[i], w, depth + 1)


cdef void zx_trie_foreach(zx_trie *t, zx_trie_cb cb, void *arg) noexcept nogil:
    # every subscribed prefix once, with its reference count
    cdef _walk w
    w.buf = <unsigned char *>malloc(64)
    if w.buf == NULL:
        return
    w.cap = 64
    w.cb = cb
    w.arg = arg
    _foreach(t, &w, 0)
    free(w.buf)


cdef void _collect(void *arg, const unsigned char *prefix, size_t n, long refcnt) noexcept with gil:
    (<list>arg).append((prefix[:n], refcnt))


cdef class Trie:
    """Python view for tests."""
    cdef zx_trie *t

    def __cinit__(self):
        self.t = zx_trie_new()
        if self.t == NULL:
            raise MemoryError()

    def __dealloc__(self):
        zx_trie_free(self.t)

    def add(self, bytes prefix):
        return zx_trie_add(self.t, prefix, len(prefix))

    def rm(self, bytes prefix):
        return zx_trie_rm(self.t, prefix, len(prefix))

    def match(self, bytes data):
        return zx_trie_match(self.t, data, len(data))

    def count(self, bytes prefix):
        return zx_trie_count(self.t, prefix, len(prefix))

    def items(self):
        out = []
        zx_trie_foreach(self.t, <zx_trie_cb>_collect, <void *>out)
        return sorted(out)

    @property
    def live(self):
        return self.t.live
