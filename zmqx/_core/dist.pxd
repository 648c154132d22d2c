# Distributor (PUB, XPUB, XSUB upstream): one message to many peers. The first frame
# decides who takes the message (the caller marks slots, e.g. by subscription); every
# frame then goes, as a shared reference, to each marked peer. A peer at HWM misses the
# whole message (PUB never blocks), unless the caller asks to wait for it (XPUB_NODROP).
from zmqx._core.slots cimport zx_slot, zx_slot_can_write, zx_slot_write
from zmqx._core.msg cimport zx_msg, zx_msg_copy, zx_msg_close

ctypedef struct zx_dist:
    bint active         # a multipart message is being distributed: its slots are fixed


cdef inline void zx_dist_init(zx_dist *d) noexcept nogil:
    d.active = False


# between messages, before marking: start from "every live peer"
cdef inline void zx_dist_mark_all(zx_slot *slots, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        slots[i].matched = not slots[i].dying


# unmark the marked peers that are at HWM; returns how many were. count: the caller drops
# the message for them (not XPUB_NODROP's wait): counted on each (slot.dropped)
cdef inline int zx_dist_drop_full(zx_slot *slots, int n, bint count=False) noexcept nogil:
    cdef int i, full = 0
    for i in range(n):
        if slots[i].matched and not zx_slot_can_write(&slots[i]):
            slots[i].matched = False
            full += 1
            if count:
                slots[i].dropped += 1
    return full


# would every marked peer take a new message? (no mark changes)
cdef inline bint zx_dist_all_writable(zx_slot *slots, int n) noexcept nogil:
    cdef int i
    for i in range(n):
        if slots[i].matched and not zx_slot_can_write(&slots[i]):
            return False
    return True


# one frame to every marked peer; *m is consumed. -1: out of memory
cdef inline int zx_dist_send(zx_dist *d, zx_slot *slots, int n, zx_msg *m, bint more) noexcept nogil:
    cdef int i, rc = 0
    cdef zx_msg copy
    for i in range(n):
        if slots[i].matched:
            zx_msg_copy(&copy, m)
            if zx_slot_write(&slots[i], &copy, more) < 0:
                rc = -1
    zx_msg_close(m)
    d.active = more
    return rc
