# Command queues between threads: a mutex-protected ring plus a wake-up fd. Commands are
# rare (a peer attached or went away, a pipe woke up an idle engine), so a lock is fine here;
# messages never go through a mailbox.
#
# zx_sockbase is the part of a socket that other threads may touch: its mailbox and signaler.
# It is refcounted because links and sessions outlive the Python socket object.
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memset
from zmqx._core.atomic cimport zx_add, zx_load, zx_store, zx_cas
from zmqx._core.platform cimport (zx_mutex_t, zx_mutex_init, zx_mutex_destroy, zx_mutex_lock,
                                  zx_mutex_unlock, zx_sigfd, zx_sig_open, zx_sig_close,
                                  zx_sig_send, zx_sig_drain)
from zmqx._core.pipe cimport zx_link, zx_link_unref, zx_release_fn

cdef enum:
    # to a socket
    ZX_CMD_ATTACH = 1          # ptr: zx_link*, arg: our side
    ZX_CMD_TERM = 2            # ptr: zx_link*: the peer went away
    ZX_CMD_HICCUP = 3          # ptr: zx_link*: reconnected; resend subscriptions
    # to an I/O thread
    ZX_CMD_ADD_LISTENER = 10   # ptr: zx_listener*
    ZX_CMD_ADD_SESSION = 11    # ptr: zx_session* (connecting)
    ZX_CMD_ACTIVATE = 12       # ptr: zx_link* (one ref travels with it), arg: ZX_WAKE_READ/WRITE
    ZX_CMD_CLOSE_ENDPOINT = 13 # ptr: zx_sockbase*, arg: endpoint id
    ZX_CMD_SOCKET_CLOSED = 14  # ptr: zx_sockbase*, arg: linger ms (-1 forever)
    ZX_CMD_STOP = 15
    ZX_CMD_RESOLVED = 16       # ptr: zx_resolve_req* (io_resolver.pxi), the answer inside

ctypedef struct zx_cmd:
    int type
    void *ptr
    int64_t arg

ctypedef struct zx_mailbox:
    zx_mutex_t lock
    zx_cmd *items
    int cap
    int head
    int count
    int64_t pending            # atomic mirror of count: lock-free "anything to do?" check
    bint closed                # no more commands accepted (the socket is closing)
    zx_sigfd sig
    # its reader spins (an I/O thread after traffic) while this is 1: a post that finds 1
    # swaps in 2 instead of writing sig, and the reader takes the commands on seeing it
    int64_t spin_state

cdef inline int zx_mailbox_init(zx_mailbox *mb) noexcept nogil:
    memset(mb, 0, sizeof(zx_mailbox))
    mb.sig.r = mb.sig.w = -1
    if zx_sig_open(&mb.sig) < 0:
        return -1
    zx_mutex_init(&mb.lock)
    return 0

cdef inline void zx_mailbox_destroy(zx_mailbox *mb) noexcept nogil:
    zx_mutex_destroy(&mb.lock)
    zx_sig_close(&mb.sig)
    free(mb.items)
    mb.items = NULL

# -1 if the mailbox is closed (or out of memory): the poster keeps what the command carried
cdef inline int zx_mailbox_post(zx_mailbox *mb, int type, void *ptr, int64_t arg) noexcept nogil:
    cdef zx_cmd *items
    cdef int i, was_empty
    zx_mutex_lock(&mb.lock)
    if mb.closed:
        zx_mutex_unlock(&mb.lock)
        return -1
    if mb.count == mb.cap:
        items = <zx_cmd *>malloc(sizeof(zx_cmd) * (mb.cap * 2 + 16))
        if items == NULL:
            zx_mutex_unlock(&mb.lock)
            return -1
        for i in range(mb.count):
            items[i] = mb.items[(mb.head + i) % mb.cap]
        free(mb.items)
        mb.items = items
        mb.head = 0
        mb.cap = mb.cap * 2 + 16
    i = (mb.head + mb.count) % mb.cap
    mb.items[i].type = type
    mb.items[i].ptr = ptr
    mb.items[i].arg = arg
    was_empty = mb.count == 0
    mb.count += 1
    zx_store(&mb.pending, mb.count)
    # a spinning reader is told here, under the lock: once the lock is released it may
    # take this command and free the mailbox's owner, so nothing after that touches mb
    # but the signal the reader waits for when it does not spin (as before)
    if was_empty and zx_load(&mb.spin_state) == 1 and zx_cas(&mb.spin_state, 1, 2):
        was_empty = False
    zx_mutex_unlock(&mb.lock)
    if was_empty:
        zx_sig_send(&mb.sig)
    return 0

cdef inline void zx_mailbox_close(zx_mailbox *mb) noexcept nogil:
    zx_mutex_lock(&mb.lock)
    mb.closed = True
    zx_mutex_unlock(&mb.lock)

cdef inline int zx_mailbox_take(zx_mailbox *mb, zx_cmd *out) noexcept nogil:
    if zx_load(&mb.pending) == 0:
        return 0
    zx_mutex_lock(&mb.lock)
    if mb.count == 0:
        zx_mutex_unlock(&mb.lock)
        return 0
    out[0] = mb.items[mb.head]
    mb.head = (mb.head + 1) % mb.cap
    mb.count -= 1
    zx_store(&mb.pending, mb.count)
    zx_mutex_unlock(&mb.lock)
    return 1


# What a closed socket's sessions dropped at close (LINGER expired, or 0): written by the
# I/O threads while the sockbase lives, read by Socket.stats() after close. Shared by the
# sockbase and the Python socket, whichever goes last frees it.
ctypedef struct zx_tally:
    int64_t refs
    int64_t dropped_linger

cdef inline void zx_tally_unref(zx_tally *t) noexcept nogil:
    if t != NULL and zx_add(&t.refs, -1) == 0:
        free(t)


ctypedef struct zx_sockbase:
    int64_t refs
    int64_t closed             # the socket was closed: sessions must not attach to it
    int socktype
    zx_mailbox mb              # commands; its signaler also carries "may send again"
    zx_sigfd rsig              # "a message may be waiting": what Socket.FD exposes
    # a classic socket's thread that spins in _wait sets 1 here; a waker that finds 1
    # swaps in 2 instead of writing an fd (no system call on either side), see _wait
    int64_t spin_state
    # observability (monitor.pxd): the socket's monitor channel, made by its first
    # monitor() and freed (after sending MONITOR_STOPPED) with the sockbase; and how many
    # lifecycle events of each kind (by bit number) the socket saw, for Socket.stats()
    void *mon
    zx_release_fn mon_free
    int64_t events_seen[16]
    zx_tally *tally

cdef inline zx_sockbase *zx_sockbase_new(int socktype) noexcept nogil:
    cdef zx_sockbase *sb = <zx_sockbase *>malloc(sizeof(zx_sockbase))
    if sb == NULL:
        return NULL
    memset(sb, 0, sizeof(zx_sockbase))
    sb.refs = 1
    sb.socktype = socktype
    sb.rsig.r = sb.rsig.w = -1
    if zx_mailbox_init(&sb.mb) < 0:
        free(sb)
        return NULL
    if zx_sig_open(&sb.rsig) < 0:
        zx_mailbox_destroy(&sb.mb)
        free(sb)
        return NULL
    return sb

cdef inline void zx_sockbase_ref(zx_sockbase *sb) noexcept nogil:
    zx_add(&sb.refs, 1)

# last reference: commands still queued may carry link references (ATTACH) to drop
cdef inline void zx_sockbase_unref(void *arg) noexcept nogil:
    cdef zx_sockbase *sb = <zx_sockbase *>arg
    cdef zx_cmd cmd
    cdef zx_link *link
    if zx_add(&sb.refs, -1) != 0:
        return
    if sb.mon_free != NULL:
        sb.mon_free(sb.mon)
    zx_tally_unref(sb.tally)
    while zx_mailbox_take(&sb.mb, &cmd):
        if cmd.type == ZX_CMD_ATTACH:
            link = <zx_link *>cmd.ptr
            zx_store(&link.gone[cmd.arg], 1)
            zx_link_unref(link)
    zx_mailbox_destroy(&sb.mb)
    zx_sig_close(&sb.rsig)
    free(sb)

# pipe waker for a socket side: one write on the socket's signaler. Readability goes to
# rsig (the level-triggered FD), writability to the mailbox signaler
cdef inline void zx_sockbase_wake(void *arg, void *link, int what) noexcept nogil:
    cdef zx_sockbase *sb = <zx_sockbase *>arg
    if zx_load(&sb.spin_state) == 1 and zx_cas(&sb.spin_state, 1, 2):
        return                 # its thread is spinning: it sees the 2
    if what == 1:              # ZX_WAKE_READ
        zx_sig_send(&sb.rsig)
    else:
        zx_sig_send(&sb.mb.sig)
