# Fair-queue (PULL, DEALER, PAIR, SUB, ROUTER, REQ, REP): messages are taken round robin
# from the peers that have one, so a busy peer cannot starve a quiet one; all frames of a
# message come from the peer its first frame came from. Readiness (has_in) looks without
# consuming anything and arms the pipes' wake-ups exactly as a failed read would.
from libc.stdint cimport int64_t
from zmqx._core.slots cimport zx_slot, zx_slot_read, zx_slot_readable, zx_index_after_removal
from zmqx._core.pipe cimport zx_link_in, zx_pipe_readable
from zmqx._core.atomic cimport zx_xchg
from zmqx._core.msg cimport zx_msg, zx_msg_close, ZX_MSG_MORE
from libc.string cimport memcpy

ctypedef struct zx_fq:
    int next            # where the next round-robin scan starts
    int cur             # slot of the message being read (-1 between messages)


cdef inline void zx_fq_init(zx_fq *fq) noexcept nogil:
    fq.next = 0
    fq.cur = -1


# one frame into *m (its slot in *idx): 1, or 0 if no peer has a message. conflate
# (CONFLATE): of a peer's queued single-part messages only the newest is delivered
cdef inline int zx_fq_recv(zx_fq *fq, zx_slot *slots, int n, zx_msg *m, int *idx,
                           bint conflate=False, int64_t *conflated=NULL) noexcept nogil:
    cdef int k, i
    cdef zx_slot *s
    cdef zx_msg newer
    if fq.cur >= 0:
        idx[0] = fq.cur
        if zx_slot_read(&slots[fq.cur], m):
            if not (m.flags & ZX_MSG_MORE):
                fq.cur = -1
            return 1
        fq.cur = -1            # cannot happen: messages are published whole
    for k in range(n):
        i = (fq.next + k) % n
        s = &slots[i]
        if s.refused:
            continue
        if zx_slot_read(s, m):
            if m.flags & ZX_MSG_MORE:
                fq.cur = i
            elif conflate:
                while zx_slot_readable(s):
                    zx_slot_read(s, &newer)
                    zx_msg_close(m)
                    if conflated != NULL:        # Socket.stats(): replaced unread
                        conflated[0] += 1
                    memcpy(m, &newer, sizeof(zx_msg))
                    if m.flags & ZX_MSG_MORE:
                        fq.cur = i
                        break
            fq.next = (i + 1) % n
            idx[0] = i
            return 1
    return 0


# the rest of the message being read (after its first frame was taken): dropped
cdef inline void zx_fq_skip_rest(zx_fq *fq, zx_slot *slots, zx_msg *m) noexcept nogil:
    cdef int i
    while m.flags & ZX_MSG_MORE and fq.cur >= 0:
        zx_msg_close(m)
        zx_fq_recv(fq, slots, 0, m, &i)
    zx_msg_close(m)


# is a message waiting? No frame is consumed and the round robin does not move; every
# empty pipe is armed so that the next message wakes the socket
cdef inline bint zx_fq_has_in(zx_fq *fq, zx_slot *slots, int n) noexcept nogil:
    cdef int i
    cdef zx_slot *s
    if fq.cur >= 0:
        return True
    for i in range(n):
        s = &slots[i]
        if s.refused:
            continue
        if zx_slot_readable(s):
            return True
        zx_xchg(&zx_link_in(s.link, s.side).reader_sleeping, 1)
        if zx_slot_readable(s):
            return True
    return False


# the core removed slot idx (n slots are left)
cdef inline void zx_fq_removed(zx_fq *fq, int idx, int n) noexcept nogil:
    fq.next = zx_index_after_removal(fq.next, idx, n)
    if fq.cur > idx:
        fq.cur -= 1
    elif fq.cur == idx:
        fq.cur = -1
