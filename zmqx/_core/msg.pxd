# zx_msg: one frame. Small bodies live inline (no malloc); larger ones point into a
# refcounted zx_block shared by every message that slices it (zero-copy receive and send).
from libc.stdint cimport uint16_t, uint32_t, uint64_t, int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy
from zmqx._core.atomic cimport zx_add, zx_load, zx_store

cdef enum:
    ZX_VSM_SIZE = 112          # inline bytes: zx_msg is 128 bytes, two cache lines
    ZX_MSG_MORE = 1
    ZX_MSG_SUBSCRIPTION = 2    # a (un)subscription (first byte 1/0): a command for 3.1 peers
    # bytes objects from this size up are sent by reference (they are immutable), smaller
    # ones are copied: pinning and releasing costs about a 4 KiB memcpy
    ZX_BYTES_REF_MIN = 4096
    ZX_GROUP_MAX = 255         # longest RADIO/DISH group (libzmq's ZMQ_GROUP_MAX_LENGTH)

ctypedef void (*zx_free_fn)(void *blk) noexcept nogil

# A refcounted body. `data` either follows the struct (ffn == NULL) or belongs to someone
# else (ffn releases it: Python buffers go through the release queue, see msg.pyx).
ctypedef struct zx_block:
    int64_t refs
    size_t size
    unsigned char *data
    zx_free_fn ffn
    void *hint
    zx_block *next             # link in the release queue
    int64_t done               # set when released: what MessageTracker waits for

ctypedef struct zx_lmsg:
    zx_block *blk
    unsigned char *data

ctypedef union zx_msg_body:
    unsigned char vsm[ZX_VSM_SIZE]
    zx_lmsg l

ctypedef struct zx_msg:
    uint64_t size
    uint16_t flags
    uint16_t is_block
    # CLIENT/SERVER/PEER: the peer a message came from (set by the receiving socket) or is
    # for (read by the sending one); 0 = none. Never goes on the wire, as in libzmq
    uint32_t routing_id
    zx_msg_body u

cdef inline zx_block *zx_block_new(size_t size) noexcept nogil:
    cdef zx_block *b = <zx_block *>malloc(sizeof(zx_block) + size)
    if b == NULL:
        return NULL
    b.refs = 1
    b.size = size
    b.data = (<unsigned char *>b) + sizeof(zx_block)
    b.ffn = NULL
    b.hint = NULL
    b.next = NULL
    b.done = 0
    return b

cdef inline void zx_block_ref(zx_block *b) noexcept nogil:
    zx_add(&b.refs, 1)

cdef inline void zx_block_unref(zx_block *b) noexcept nogil:
    if zx_add(&b.refs, -1) == 0:
        if b.ffn != NULL:
            b.ffn(b)
        else:
            free(b)

cdef inline unsigned char *zx_msg_data(zx_msg *m) noexcept nogil:
    if m.is_block:
        return m.u.l.data
    return m.u.vsm

cdef inline void zx_msg_init(zx_msg *m) noexcept nogil:
    m.size = 0
    m.flags = 0
    m.is_block = 0
    m.routing_id = 0

# allocate room for `size` bytes (inline when small); -1 on ENOMEM
cdef inline int zx_msg_init_size(zx_msg *m, size_t size) noexcept nogil:
    cdef zx_block *b
    m.size = size
    m.flags = 0
    m.routing_id = 0
    if size <= ZX_VSM_SIZE:
        m.is_block = 0
        return 0
    b = zx_block_new(size)
    if b == NULL:
        m.is_block = 0
        m.size = 0
        return -1
    m.is_block = 1
    m.u.l.blk = b
    m.u.l.data = b.data
    return 0

cdef inline int zx_msg_init_copy(zx_msg *m, const void *data, size_t size) noexcept nogil:
    if zx_msg_init_size(m, size) < 0:
        return -1
    if size:
        memcpy(zx_msg_data(m), data, size)
    return 0

# a message over part of a shared block; takes a new reference
cdef inline void zx_msg_init_slice(zx_msg *m, zx_block *b, unsigned char *data, size_t size) noexcept nogil:
    zx_block_ref(b)
    m.size = size
    m.flags = 0
    m.routing_id = 0
    m.is_block = 1
    m.u.l.blk = b
    m.u.l.data = data

cdef inline void zx_msg_close(zx_msg *m) noexcept nogil:
    if m.is_block:
        zx_block_unref(m.u.l.blk)
        m.is_block = 0
    m.size = 0

# a second reference to the same body (bodies are immutable once queued)
cdef inline void zx_msg_copy(zx_msg *dst, zx_msg *src) noexcept nogil:
    memcpy(dst, src, sizeof(zx_msg))
    if src.is_block:
        zx_block_ref(src.u.l.blk)

# Bytes-shaped blocks: large frames the engine reads land in memory laid out as a bytes
# object's storage (msg.pyx explains when the interpreter allows it), so recv(copy=True)
# hands that very memory out as the bytes object, with no copy. Where it does not allow
# it, zx_block_new_bytes makes a plain block and every recv copies once, as before.
cdef zx_block *zx_block_new_bytes(size_t cap) noexcept nogil
# room for cap bytes (contents kept) in a block held only by the caller; NULL when out of
# memory, b untouched. Either kind of block
cdef zx_block *zx_block_grow(zx_block *b, size_t cap) noexcept nogil

# Python-owned buffers (copy=False sends) are released through a lock-free stack that app
# threads drain with the GIL held: the I/O thread never touches a Python object.
cdef void zx_release_pending() noexcept     # call with the GIL; cheap when empty
cdef bint zx_release_nonempty() noexcept nogil
cdef zx_block *zx_block_from_object(object obj) except NULL   # GIL; pins obj's buffer
# a bytes object as a message: by reference when large (released through the release queue
# once every holder is done), else copied; -1 with MemoryError set
cdef int zx_msg_init_bytes(zx_msg *m, bytes data) except -1
# the body of *m as bytes, closing *m: the very bytes object it was sent from when *m
# covers all of one (inproc, any copy flag: bytes are immutable); the block's own memory
# when *m is the only holder of a whole bytes-shaped block (a large frame from tcp/ipc);
# else one copy
cdef object zx_msg_take_bytes(zx_msg *m)


# a RADIO/DISH group (str or bytes) as bytes; TypeError, or EINVAL past ZX_GROUP_MAX
cpdef bytes _group_bytes(object group)


cdef class MessageTracker:
    cdef public long _pending
    cdef object _peers          # trackers and threading.Events it also waits for (or None)


cdef class Frame:
    cdef zx_msg msg
    cdef bint _more
    cdef object _bytes
    cdef readonly MessageTracker tracker
    cdef public dict _properties
    cdef int _exports
    cdef object _data           # what a zero-copy Frame was made from (its buffer is pinned)
    cdef object _buffer         # weak reference to the memoryview .buffer gave out
    cdef bytes _group                     # RADIO/DISH group (Frame.group); None: none

    @staticmethod
    cdef Frame from_msg(zx_msg *m)        # takes ownership of *m


# Connection properties: the ZMTP metadata of one secured connection (what the peer
# announced, the User-Id and metadata its ZAP handler returned, Peer-Address), encoded as
# ZMTP metadata and shared by every frame received on it. The I/O engine hangs one on the
# blocks it slices received frames from (zx_block.hint, with zx_props_block_free as the
# block's ffn, so the last frame to go releases it); Frame.get(name) reads it.
ctypedef struct zx_props:
    int64_t refs
    size_t len
    unsigned char *data

cdef zx_props *zx_props_new(const unsigned char *meta, size_t n) noexcept nogil
cdef void zx_props_ref(zx_props *p) noexcept nogil
cdef void zx_props_unref(zx_props *p) noexcept nogil
cdef void zx_props_block_free(void *blk) noexcept nogil
# give block b (held only by the caller) the properties: takes a reference
cdef void zx_block_set_props(zx_block *b, zx_props *p) noexcept nogil

