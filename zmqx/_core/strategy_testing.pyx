# Test-only wrapper: the routing strategies (lb.pxd, fq.pxd, dist.pxd) driven over bare
# links, with no socket, no thread and no fd, so their rules (fairness, no starvation, HWM,
# readiness without side effects) can be checked against a model. A link's side 0 is the
# strategy's slot; side 1 plays the peer. Not used by zmqx itself.
from libc.stdlib cimport realloc, free
from libc.string cimport memset, memmove
from zmqx._core.pipe cimport (zx_link, zx_link_new, zx_link_unref, zx_pipe_read, zx_pipe_write,
                              zx_pipe_flush, zx_pipe_queued, zx_pipe_readable)
from zmqx._core.msg cimport zx_msg, zx_msg_init_copy, zx_msg_close, zx_msg_data, ZX_MSG_MORE
from zmqx._core.slots cimport zx_slot
from zmqx._core.lb cimport zx_lb, zx_lb_init, zx_lb_send, zx_lb_has_out, zx_lb_peek, zx_lb_removed
from zmqx._core.fq cimport zx_fq, zx_fq_init, zx_fq_recv, zx_fq_has_in, zx_fq_removed
from zmqx._core.dist cimport (zx_dist, zx_dist_init, zx_dist_mark_all, zx_dist_drop_full,
                              zx_dist_send)


cdef int _msg(zx_msg *m, bytes data) except -1:
    if zx_msg_init_copy(m, <char *>data, len(data)) < 0:
        raise MemoryError()
    return 0


cdef class Peers:
    """A slot array as a socket core keeps it, plus one lb, one fq and one dist over it."""
    cdef zx_slot *slots
    cdef int n
    cdef int cap
    cdef zx_lb lb
    cdef zx_fq fq
    cdef zx_dist dist

    def __cinit__(self):
        self.slots = NULL
        self.n = self.cap = 0
        zx_lb_init(&self.lb)
        zx_fq_init(&self.fq)
        zx_dist_init(&self.dist)

    def __dealloc__(self):
        cdef int i
        for i in range(self.n):
            zx_link_unref(self.slots[i].link)
            zx_link_unref(self.slots[i].link)
        free(self.slots)

    def __len__(self):
        return self.n

    def add(self, int hwm=0):
        """A new peer; its pipe towards the peer holds at most `hwm` messages (0: no limit)."""
        cdef zx_slot *ns
        cdef zx_link *link = zx_link_new(hwm, 0)
        if link == NULL:
            raise MemoryError()
        if self.n == self.cap:
            ns = <zx_slot *>realloc(self.slots, sizeof(zx_slot) * (self.cap * 2 + 4))
            if ns == NULL:
                raise MemoryError()
            self.slots = ns
            self.cap = self.cap * 2 + 4
        memset(&self.slots[self.n], 0, sizeof(zx_slot))
        self.slots[self.n].link = link
        self.slots[self.n].side = 0
        self.n += 1
        return self.n - 1

    def remove(self, int idx):
        """The core drops slot idx (as after the peer left and was drained)."""
        zx_lb_removed(&self.lb, idx, self.n - 1)
        zx_fq_removed(&self.fq, idx, self.n - 1)
        zx_link_unref(self.slots[idx].link)
        zx_link_unref(self.slots[idx].link)
        memmove(&self.slots[idx], &self.slots[idx + 1], sizeof(zx_slot) * (self.n - idx - 1))
        self.n -= 1

    def set_dying(self, int idx, bint dying=True):
        self.slots[idx].dying = dying

    # -- the peers' side

    def peer_send(self, int idx, list frames):
        """Peer idx sends a message (a list of frames) towards the strategy side."""
        cdef zx_msg m
        cdef zx_link *link = self.slots[idx].link
        cdef Py_ssize_t k
        for k in range(len(frames)):
            _msg(&m, frames[k])
            m.flags = ZX_MSG_MORE if k < len(frames) - 1 else 0
            zx_pipe_write(&link.pipes[1], &m)
        zx_pipe_flush(&link.pipes[1], link)

    def peer_recv(self, int idx):
        """The next message peer idx got (list of frames), or None."""
        cdef zx_msg m
        cdef zx_link *link = self.slots[idx].link
        frames = []
        while zx_pipe_read(&link.pipes[0], &m, link):
            frames.append(zx_msg_data(&m)[:m.size])
            more = m.flags & ZX_MSG_MORE
            zx_msg_close(&m)
            if not more:
                return frames
        assert not frames, "a partial message was visible"
        return None

    def queued(self, int idx):
        """Messages waiting in the pipe towards peer idx."""
        return zx_pipe_queued(&self.slots[idx].link.pipes[0])

    # -- load-balancer

    def lb_has_out(self):
        return zx_lb_has_out(&self.lb, self.slots, self.n)

    def lb_peek(self):
        return zx_lb_peek(&self.lb, self.slots, self.n)

    def lb_send(self, list frames):
        """Send one message; returns the slot it went to, or -1 if nobody could take it."""
        cdef zx_msg m
        cdef Py_ssize_t k
        cdef int idx = -1, rc
        for k in range(len(frames)):
            _msg(&m, frames[k])
            if k == 0:
                idx = zx_lb_peek(&self.lb, self.slots, self.n)
            rc = zx_lb_send(&self.lb, self.slots, self.n, &m, k < len(frames) - 1)
            if rc == 0:
                zx_msg_close(&m)
                return -1
        return idx

    # -- fair-queue

    def fq_has_in(self):
        return zx_fq_has_in(&self.fq, self.slots, self.n)

    def fq_recv(self):
        """The next whole message as (slot, frames), or None."""
        cdef zx_msg m
        cdef int idx
        frames = []
        first = -1
        while zx_fq_recv(&self.fq, self.slots, self.n, &m, &idx):
            if first < 0:
                first = idx
            assert idx == first, "frames of one message came from two peers"
            frames.append(zx_msg_data(&m)[:m.size])
            more = m.flags & ZX_MSG_MORE
            zx_msg_close(&m)
            if not more:
                return first, frames
        assert not frames, "a message was cut short"
        return None

    # -- distributor

    def dist_send(self, list frames, marked=None, bint wait_for_full=False):
        """Send one message to the marked peers (None: all live ones), skipping those at
        HWM, or (wait_for_full) sending nothing if one is. Returns the slots that got it,
        or None if it had to wait."""
        cdef zx_msg m
        cdef Py_ssize_t k
        cdef int i
        zx_dist_mark_all(self.slots, self.n)
        if marked is not None:
            for i in range(self.n):
                self.slots[i].matched = self.slots[i].matched and (i in marked)
        if zx_dist_drop_full(self.slots, self.n) and wait_for_full:
            return None
        got = [i for i in range(self.n) if self.slots[i].matched]
        for k in range(len(frames)):
            _msg(&m, frames[k])
            zx_dist_send(&self.dist, self.slots, self.n, &m, k < len(frames) - 1)
        return got
