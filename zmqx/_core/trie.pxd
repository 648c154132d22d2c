# Subscription trie: prefix -> reference count. Subscribing "A" twice needs two
# unsubscribes; the empty prefix matches everything. One trie per subscriber link on the
# publishing side, one for the whole socket on the subscribing side.

cdef struct zx_trie:
    long refcnt                # subscriptions ending exactly at this node
    long live                  # subscriptions in this subtree (prunes empty branches)
    int nchildren
    int cap
    unsigned char *keys
    zx_trie **children

ctypedef void (*zx_trie_cb)(void *arg, const unsigned char *prefix, size_t n, long refcnt) noexcept nogil

cdef zx_trie *zx_trie_new() noexcept nogil
cdef void zx_trie_free(zx_trie *t) noexcept nogil
cdef int zx_trie_add(zx_trie *t, const unsigned char *p, size_t n) noexcept nogil
cdef int zx_trie_rm(zx_trie *t, const unsigned char *p, size_t n) noexcept nogil
cdef bint zx_trie_match(zx_trie *t, const unsigned char *data, size_t n) noexcept nogil
cdef long zx_trie_count(zx_trie *t, const unsigned char *p, size_t n) noexcept nogil
cdef void zx_trie_foreach(zx_trie *t, zx_trie_cb cb, void *arg) noexcept nogil
