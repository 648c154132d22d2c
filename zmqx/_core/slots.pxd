# A slot is one peer as a socket sees it: one side of a link (a pair of pipes). The socket
# core keeps an array of them; the routing strategies (lb, fq, dist, routes) and the socket
# type rooms work on that array and on nothing else of the socket. Tests build slots over
# bare links (no socket, no thread, no fd), which is what keeps the strategies testable.
from libc.stdint cimport int64_t
from zmqx._core.pipe cimport (zx_link, zx_pipe, zx_link_in, zx_link_out, zx_pipe_write,
                              zx_pipe_flush, zx_pipe_check_write, zx_pipe_readable, zx_pipe_read)
from zmqx._core.msg cimport zx_msg, zx_msg_close, ZX_MSG_MORE

ctypedef struct zx_slot:
    zx_link *link
    int side
    bint dying          # the peer went away: drain what it sent, then drop
    bint io             # the peer side is a session in an I/O thread
    bint refused        # never used (a second PAIR peer, a duplicate ROUTER id): dropped unread
    bint matched        # distributor scratch: this slot takes the message being sent
    void *tdata         # the socket type's per-peer data (PUB/XPUB: the peer's subscriptions)
    # Socket.stats(), written by the socket's thread only (messages: the pipes count them)
    int64_t bytes_out
    int64_t bytes_in
    int64_t dropped     # messages for this peer dropped at its HWM (PUB/XPUB/ROUTER)


# may a new message be started on this slot? (arms the writer wake-up when it is full)
cdef inline bint zx_slot_can_write(zx_slot *s) noexcept nogil:
    return not s.dying and zx_pipe_check_write(zx_link_out(s.link, s.side))


# is a frame waiting on this slot? (no side effect)
cdef inline bint zx_slot_readable(zx_slot *s) noexcept nogil:
    return zx_pipe_readable(zx_link_in(s.link, s.side))


# moves *m into the slot's pipe (dropped if the peer is gone) and publishes the message at
# its last frame. -1: out of memory (*m closed).
cdef inline int zx_slot_write(zx_slot *s, zx_msg *m, bint more) noexcept nogil:
    cdef zx_pipe *p = zx_link_out(s.link, s.side)
    if more:
        m.flags |= ZX_MSG_MORE
    else:
        m.flags &= ~ZX_MSG_MORE
    if s.dying:
        zx_msg_close(m)
        return 0
    s.bytes_out += m.size
    if zx_pipe_write(p, m) < 0:
        zx_msg_close(m)
        return -1
    if not more:
        zx_pipe_flush(p, s.link)
    return 0


# the next frame from this slot into *m; 0 when empty (then the reader wake-up is armed)
cdef inline int zx_slot_read(zx_slot *s, zx_msg *m) noexcept nogil:
    if zx_pipe_read(zx_link_in(s.link, s.side), m, s.link):
        s.bytes_in += m.size
        return 1
    return 0


# index arithmetic every strategy needs when the core removes slot `idx` (n: slots left)
cdef inline int zx_index_after_removal(int i, int idx, int n) noexcept nogil:
    if i > idx:
        i -= 1
    if n <= 0:
        return 0
    if i >= n:
        i = 0
    return i
