# Lock-free single-producer/single-consumer message queue (after libzmq's ypipe), and the
# link: two pipes joining a socket to a peer (another socket for inproc, a session in the
# I/O thread for tcp/ipc).
#
# Rules:
# - The writer fills slots freely, then flush() publishes them with one release store. Only
#   flushed messages are visible, so multipart messages appear whole (flush at the last
#   frame) and rollback() can discard a half-written message.
# - A reader that finds the pipe empty sets reader_sleeping; a flush that sees it set calls
#   on_readable (one syscall per sleep, none in steady state).
# - HWM counts complete messages. A writer at HWM sets writer_sleeping; the reader checks it
#   every `lwm_batch` messages and calls on_writable.
# Both flags use a full fence on one side and an atomic exchange on the other (Dekker).
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free
from libc.string cimport memcpy, memset
from zmqx._core.atomic cimport (zx_load, zx_store, zx_add, zx_xchg, zx_fence,
                                zx_load_ptr, zx_store_ptr, zx_xchg_ptr)
from zmqx._core.msg cimport zx_msg, zx_msg_close, zx_msg_init, ZX_MSG_MORE

cdef enum:
    ZX_CHUNK_SIZE = 126           # slots per chunk: one chunk is ~16 KiB
    ZX_WAKE_READ = 1
    ZX_WAKE_WRITE = 2

ctypedef struct zx_chunk:
    zx_msg msgs[ZX_CHUNK_SIZE]
    zx_chunk *next

ctypedef void (*zx_wake_fn)(void *arg, void *link, int what) noexcept nogil
ctypedef void (*zx_release_fn)(void *arg) noexcept nogil

ctypedef struct zx_waker:
    zx_wake_fn fn
    void *arg

ctypedef struct zx_pipe:
    # writer side
    zx_chunk *w_chunk
    int w_pos
    int64_t w_count
    zx_chunk *f_chunk              # just after the last complete message: what flush
    int f_pos                      # publishes, and where rollback cuts a partial one
    int64_t f_count
    int64_t msgs_written
    int64_t w_more                 # last written frame had MORE
    # shared
    int64_t published              # frames visible to the reader (release store)
    int64_t msgs_read              # complete messages the reader consumed (release store)
    int64_t reader_sleeping
    int64_t writer_sleeping
    zx_chunk *spare                # one recycled chunk: no malloc in steady state
    int64_t hwm                    # 0 = unlimited
    int64_t lwm_batch
    zx_waker on_readable
    zx_waker on_writable
    # reader side
    zx_chunk *r_chunk
    int r_pos
    int64_t r_count
    int64_t r_msgs
    void **read_note               # if set, each read stores the link here (the reading
                                   # socket's "where did this frame come from": Frame.get)


cdef inline zx_chunk *_zx_chunk_get(zx_pipe *p) noexcept nogil:
    cdef zx_chunk *c = <zx_chunk *>zx_xchg_ptr(<void **>&p.spare, NULL)
    if c == NULL:
        c = <zx_chunk *>malloc(sizeof(zx_chunk))
        if c == NULL:
            return NULL
    c.next = NULL
    return c

cdef inline void _zx_chunk_put(zx_pipe *p, zx_chunk *c) noexcept nogil:
    c = <zx_chunk *>zx_xchg_ptr(<void **>&p.spare, c)
    if c != NULL:
        free(c)

cdef inline void zx_pipe_set_hwm(zx_pipe *p, int64_t hwm) noexcept nogil:
    if hwm < 0:
        hwm = 0
    p.hwm = hwm
    p.lwm_batch = hwm // 2 if hwm > 1 else 1

cdef inline int zx_pipe_init(zx_pipe *p, int64_t hwm) noexcept nogil:
    memset(p, 0, sizeof(zx_pipe))
    p.w_chunk = <zx_chunk *>malloc(sizeof(zx_chunk))
    if p.w_chunk == NULL:
        return -1
    p.w_chunk.next = NULL
    p.f_chunk = p.w_chunk
    p.r_chunk = p.w_chunk
    zx_pipe_set_hwm(p, hwm)
    return 0

# discard everything (both published and unflushed); caller guarantees no concurrent access
cdef inline void zx_pipe_destroy(zx_pipe *p) noexcept nogil:
    cdef zx_chunk *c
    cdef zx_chunk *nxt
    while p.r_count < p.w_count:
        zx_msg_close(&p.r_chunk.msgs[p.r_pos])
        p.r_pos += 1
        p.r_count += 1
        if p.r_pos == ZX_CHUNK_SIZE:
            nxt = p.r_chunk.next
            free(p.r_chunk)
            p.r_chunk = nxt
            p.r_pos = 0
    c = p.r_chunk
    while c != NULL:
        nxt = c.next
        free(c)
        c = nxt
    if p.spare != NULL:
        free(p.spare)
    p.r_chunk = p.w_chunk = p.f_chunk = p.spare = NULL

# move *m into the pipe (not yet visible); -1 on ENOMEM (then *m is untouched)
cdef inline int zx_pipe_write(zx_pipe *p, zx_msg *m) noexcept nogil:
    cdef zx_chunk *c
    if p.w_pos == ZX_CHUNK_SIZE:
        c = p.w_chunk.next
        if c == NULL:
            c = _zx_chunk_get(p)
            if c == NULL:
                return -1
            p.w_chunk.next = c
        p.w_chunk = c
        p.w_pos = 0
    memcpy(&p.w_chunk.msgs[p.w_pos], m, sizeof(zx_msg))
    zx_msg_init(m)
    p.w_pos += 1
    p.w_count += 1
    p.w_more = (p.w_chunk.msgs[p.w_pos - 1].flags & ZX_MSG_MORE) != 0
    if not p.w_more:
        p.msgs_written += 1
        p.f_chunk = p.w_chunk
        p.f_pos = p.w_pos
        p.f_count = p.w_count
    return 0

# publish every complete message written so far (never part of one); wakes a sleeping
# reader. Returns 1 if it had to wake it.
cdef inline int zx_pipe_flush(zx_pipe *p, void *link) noexcept nogil:
    if p.published == p.f_count:
        return 0
    zx_store(&p.published, p.f_count)
    zx_fence()
    if zx_load(&p.reader_sleeping) and zx_xchg(&p.reader_sleeping, 0):
        if p.on_readable.fn != NULL:
            p.on_readable.fn(p.on_readable.arg, link, ZX_WAKE_READ)
        return 1
    return 0

# the two halves of flush, for a writer that delivers several messages in a row and wakes
# the reader once after them: publish (returns 1 if there was anything new), then
# wake_reader (the same Dekker check flush makes; 1 if it had to wake it)
cdef inline int zx_pipe_publish(zx_pipe *p) noexcept nogil:
    if p.published == p.f_count:
        return 0
    zx_store(&p.published, p.f_count)
    return 1

cdef inline int zx_pipe_wake_reader(zx_pipe *p, void *link) noexcept nogil:
    zx_fence()
    if zx_load(&p.reader_sleeping) and zx_xchg(&p.reader_sleeping, 0):
        if p.on_readable.fn != NULL:
            p.on_readable.fn(p.on_readable.arg, link, ZX_WAKE_READ)
        return 1
    return 0

# drop the frames of an incomplete message (its connection died half-way)
cdef inline void zx_pipe_rollback(zx_pipe *p) noexcept nogil:
    cdef zx_chunk *c = p.f_chunk
    cdef int pos = p.f_pos
    cdef int64_t n = p.f_count
    while n < p.w_count:
        if pos == ZX_CHUNK_SIZE:
            c = c.next
            pos = 0
        zx_msg_close(&c.msgs[pos])
        pos += 1
        n += 1
    p.w_chunk = p.f_chunk
    p.w_pos = p.f_pos
    p.w_count = p.f_count
    p.w_more = 0

# may the writer start a new message? If not, arms writer_sleeping (on_writable will fire)
cdef inline bint zx_pipe_check_write(zx_pipe *p) noexcept nogil:
    if p.hwm == 0 or p.msgs_written - zx_load(&p.msgs_read) < p.hwm:
        return True
    zx_xchg(&p.writer_sleeping, 1)
    if p.msgs_written - zx_load(&p.msgs_read) < p.hwm:
        zx_xchg(&p.writer_sleeping, 0)
        return True
    return False

# is a published frame waiting? (no side effects)
cdef inline bint zx_pipe_readable(zx_pipe *p) noexcept nogil:
    return p.r_count < zx_load(&p.published)

# take the next frame into *m. Returns 0 when empty, after arming reader_sleeping.
cdef inline int zx_pipe_read(zx_pipe *p, zx_msg *m, void *link) noexcept nogil:
    cdef zx_chunk *c
    if p.r_count >= zx_load(&p.published):
        zx_xchg(&p.reader_sleeping, 1)
        if p.r_count >= zx_load(&p.published):
            return 0
        zx_xchg(&p.reader_sleeping, 0)
    if p.r_pos == ZX_CHUNK_SIZE:
        c = p.r_chunk
        p.r_chunk = c.next
        p.r_pos = 0
        _zx_chunk_put(p, c)
    memcpy(m, &p.r_chunk.msgs[p.r_pos], sizeof(zx_msg))
    p.r_pos += 1
    p.r_count += 1
    if p.read_note != NULL:
        p.read_note[0] = link
    if not (m.flags & ZX_MSG_MORE):
        p.r_msgs += 1
        zx_store(&p.msgs_read, p.r_msgs)
        if p.hwm and p.r_msgs % p.lwm_batch == 0:
            zx_fence()
            if zx_load(&p.writer_sleeping) and zx_xchg(&p.writer_sleeping, 0):
                if p.on_writable.fn != NULL:
                    p.on_writable.fn(p.on_writable.arg, link, ZX_WAKE_WRITE)
    return 1

# messages queued and not yet read (approximate from either side)
cdef inline int64_t zx_pipe_queued(zx_pipe *p) noexcept nogil:
    return p.msgs_written - zx_load(&p.msgs_read)


# ---- link: two pipes between side 0 and side 1 ----

cdef enum:
    ZX_LINK_MAX_ID = 255

ctypedef struct zx_link:
    int64_t refs
    zx_pipe pipes[2]               # pipes[s] carries side s -> side 1-s
    int64_t gone[2]                # side s has detached (atomic)
    int socktype[2]                # socket type of each side
    unsigned char rid[2][256]      # routing id announced by each side (Identity)
    size_t rid_len[2]
    bint rid_fixed[2]              # rid[s] was given by CONNECT_ROUTING_ID, not announced
    bint probed                    # the session already sent PROBE_ROUTER's empty message
    void *owner[2]                 # opaque per-side owner (session in the I/O thread)
    zx_release_fn release[2]       # drops each side's waker arg when the link dies
    void *release_arg[2]
    int64_t user                   # free slot for the socket layer (e.g. routing table key)
    # the tcp/ipc peer as its last handshake showed it (Socket.stats()): written by the I/O
    # thread before the link is handed to the socket (ATTACH) or re-announced (HICCUP)
    int zmtp_major                 # 0: inproc, or no handshake yet
    int zmtp_minor
    char mechanism[21]
    int64_t connected_at           # zx_now_ms() at that handshake
    int64_t reconnects             # handshakes its connect() session completed before it
    char peer_addr[64]             # side 1's address when it is a connection (Peer-Address)
    int peer_addr_len
    int same_io                    # the connection's other end is a session of the same
                                   # I/O thread (one context, io_threads=1): set after ATTACH

cdef inline zx_pipe *zx_link_out(zx_link *l, int side) noexcept nogil:
    return &l.pipes[side]

cdef inline zx_pipe *zx_link_in(zx_link *l, int side) noexcept nogil:
    return &l.pipes[1 - side]

cdef inline zx_link *zx_link_new(int64_t hwm0, int64_t hwm1) noexcept nogil:
    cdef zx_link *l = <zx_link *>malloc(sizeof(zx_link))
    if l == NULL:
        return NULL
    memset(l, 0, sizeof(zx_link))
    l.refs = 2
    l.socktype[0] = l.socktype[1] = -1
    if zx_pipe_init(&l.pipes[0], hwm0) < 0:
        free(l)
        return NULL
    if zx_pipe_init(&l.pipes[1], hwm1) < 0:
        zx_pipe_destroy(&l.pipes[0])
        free(l)
        return NULL
    # readers start asleep: the first message wakes whoever owns the other side, even
    # before that side has processed the link's arrival
    l.pipes[0].reader_sleeping = 1
    l.pipes[1].reader_sleeping = 1
    return l

# side `side` is woken through (fn, arg); `release(arg)` runs when the link is freed
cdef inline void zx_link_set_waker(zx_link *l, int side, zx_wake_fn fn, void *arg,
                                   zx_release_fn release) noexcept nogil:
    l.release[side] = release
    l.release_arg[side] = arg
    l.pipes[1 - side].on_readable.arg = arg
    l.pipes[side].on_writable.arg = arg
    zx_fence()
    l.pipes[1 - side].on_readable.fn = fn
    l.pipes[side].on_writable.fn = fn
    zx_fence()

cdef inline void zx_link_ref(zx_link *l) noexcept nogil:
    zx_add(&l.refs, 1)

cdef inline void zx_link_unref(zx_link *l) noexcept nogil:
    if zx_add(&l.refs, -1) == 0:
        zx_pipe_destroy(&l.pipes[0])
        zx_pipe_destroy(&l.pipes[1])
        if l.release[0] != NULL:
            l.release[0](l.release_arg[0])
        if l.release[1] != NULL:
            l.release[1](l.release_arg[1])
        free(l)
