# Load-balancer (PUSH, DEALER, REQ, PAIR): each new message goes to the next peer, round
# robin, that is under its HWM; a multipart message stays on the peer its first frame went
# to. Only a send moves the round-robin pointer: readiness (has_out: poll, EVENTS, the
# proxy) looks without touching it, so polling before every send still spreads evenly.
from zmqx._core.slots cimport zx_slot, zx_slot_can_write, zx_slot_write, zx_index_after_removal
from zmqx._core.msg cimport zx_msg

ctypedef struct zx_lb:
    int next            # where the next round-robin scan starts
    int cur             # slot of the message being sent (-1 between messages)


cdef inline void zx_lb_init(zx_lb *lb) noexcept nogil:
    lb.next = 0
    lb.cur = -1


# the slot the next message would go to, or -1 if every peer is full; no side effect on
# the round robin (a full pipe's writer wake-up is armed, as a failed send would)
cdef inline int zx_lb_peek(zx_lb *lb, zx_slot *slots, int n) noexcept nogil:
    cdef int k, i
    if lb.cur >= 0:
        return lb.cur
    for k in range(n):
        i = (lb.next + k) % n
        if zx_slot_can_write(&slots[i]):
            return i
    return -1


cdef inline bint zx_lb_has_out(zx_lb *lb, zx_slot *slots, int n) noexcept nogil:
    return zx_lb_peek(lb, slots, n) >= 0


# send one frame: 1 sent, 0 nobody can take a new message now, -1 out of memory
cdef inline int zx_lb_send(zx_lb *lb, zx_slot *slots, int n, zx_msg *m, bint more) noexcept nogil:
    cdef int i = zx_lb_peek(lb, slots, n)
    if i < 0:
        return 0
    if lb.cur < 0:
        lb.next = (i + 1) % n
    lb.cur = i if more else -1
    if zx_slot_write(&slots[i], m, more) < 0:
        return -1
    return 1


# a new message starts on the slot chosen now (REQ writes its envelope itself): advances
# the round robin and pins the message to the slot; -1 if every peer is full
cdef inline int zx_lb_begin(zx_lb *lb, zx_slot *slots, int n) noexcept nogil:
    cdef int i = zx_lb_peek(lb, slots, n)
    if i >= 0 and lb.cur < 0:
        lb.next = (i + 1) % n
        lb.cur = i
    return i


# the core removed slot idx (n slots are left)
cdef inline void zx_lb_removed(zx_lb *lb, int idx, int n) noexcept nogil:
    lb.next = zx_index_after_removal(lb.next, idx, n)
    if lb.cur > idx:
        lb.cur -= 1
    elif lb.cur == idx:
        lb.cur = -1
