# Test surface for the pipe (the pipe itself is inline code in pipe.pxd): a Python wrapper
# for unit and property tests, and a native two-thread stress run that exercises the
# lock-free publish and the sleep/wake handshakes without the GIL.
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from cpython.bytes cimport PyBytes_FromStringAndSize
from zmqx._core.platform cimport (zx_sigfd, zx_sig_open, zx_sig_close, zx_sig_send, zx_sig_drain,
                                  pollfd, POLLIN, zx_poll_fds, zx_thread_t, zx_thread_start,
                                  zx_thread_join)
from zmqx._core.msg cimport *


cdef void _count_wake(void *arg, void *link, int what) noexcept nogil:
    (<int64_t *>arg)[0] += 1


cdef class PipeTester:
    """One pipe driven from Python: write/flush/read/rollback, with wake-up counters."""
    cdef zx_pipe p
    cdef public int64_t reader_wakes
    cdef public int64_t writer_wakes

    def __cinit__(self, int64_t hwm=0):
        if zx_pipe_init(&self.p, hwm) < 0:
            raise MemoryError()
        self.reader_wakes = 0
        self.writer_wakes = 0
        self.p.on_readable.fn = _count_wake
        self.p.on_readable.arg = &self.reader_wakes
        self.p.on_writable.fn = _count_wake
        self.p.on_writable.arg = &self.writer_wakes

    def __dealloc__(self):
        zx_pipe_destroy(&self.p)

    def write(self, bytes data, bint more=False):
        cdef zx_msg m
        zx_msg_init_copy(&m, <char *>data, len(data))
        m.flags = ZX_MSG_MORE if more else 0
        if zx_pipe_write(&self.p, &m) < 0:
            zx_msg_close(&m)
            raise MemoryError()

    def flush(self):
        return zx_pipe_flush(&self.p, NULL)

    def rollback(self):
        zx_pipe_rollback(&self.p)

    def check_write(self):
        return zx_pipe_check_write(&self.p)

    def readable(self):
        return zx_pipe_readable(&self.p)

    def read(self):
        """(bytes, more) or None when empty (which arms the reader wake-up)."""
        cdef zx_msg m
        if not zx_pipe_read(&self.p, &m, NULL):
            return None
        out = PyBytes_FromStringAndSize(<char *>zx_msg_data(&m), m.size)
        more = (m.flags & ZX_MSG_MORE) != 0
        zx_msg_close(&m)
        return out, more

    def queued(self):
        return zx_pipe_queued(&self.p)


# ---- native stress: a writer thread and a reader thread, sleeping and waking each other

ctypedef struct stress_t:
    zx_pipe p
    zx_sigfd rsig
    zx_sigfd wsig
    int64_t n
    int64_t frames_per_msg
    int64_t errors
    int64_t received
    int64_t reader_sleeps
    int64_t writer_sleeps
    int64_t lost_wakeups


cdef void _sig_wake(void *arg, void *link, int what) noexcept nogil:
    zx_sig_send(<zx_sigfd *>arg)


cdef int _wait_sig(zx_sigfd *s) noexcept nogil:
    # 1 if the wait timed out: with a correct sleep/wake protocol that never happens
    cdef pollfd pfd
    cdef int rc
    pfd.fd = s.r
    pfd.events = POLLIN
    rc = zx_poll_fds(&pfd, 1, 2000)
    zx_sig_drain(s)
    return 1 if rc == 0 else 0


cdef void _stress_writer(void *arg) noexcept nogil:
    cdef stress_t *st = <stress_t *>arg
    cdef int64_t i, k
    cdef zx_msg m
    cdef uint64_t v
    for i in range(st.n):
        while not zx_pipe_check_write(&st.p):
            zx_pipe_flush(&st.p, NULL)        # never sleep on unpublished messages
            st.writer_sleeps += 1
            st.lost_wakeups += _wait_sig(&st.wsig)
        for k in range(st.frames_per_msg):
            v = <uint64_t>(i * st.frames_per_msg + k)
            # vary the size so inline and block bodies both travel
            zx_msg_init_size(&m, 8 if (i % 97) else 200)
            memcpy(zx_msg_data(&m), &v, 8)
            m.flags = ZX_MSG_MORE if k + 1 < st.frames_per_msg else 0
            zx_pipe_write(&st.p, &m)
        if i % 7 == 0 or i + 1 == st.n:
            zx_pipe_flush(&st.p, NULL)


cdef void _stress_reader(void *arg) noexcept nogil:
    cdef stress_t *st = <stress_t *>arg
    cdef int64_t expect = 0
    cdef int64_t total = st.n * st.frames_per_msg
    cdef zx_msg m
    cdef uint64_t v
    while expect < total:
        if not zx_pipe_read(&st.p, &m, NULL):
            st.reader_sleeps += 1
            st.lost_wakeups += _wait_sig(&st.rsig)
            continue
        memcpy(&v, zx_msg_data(&m), 8)
        if v != <uint64_t>expect:
            st.errors += 1
        if ((m.flags & ZX_MSG_MORE) != 0) != ((expect + 1) % st.frames_per_msg != 0):
            st.errors += 1
        zx_msg_close(&m)
        expect += 1
    st.received = expect


def stress(int64_t n, int64_t hwm=1000, int64_t frames_per_msg=1):
    """Push n messages through one pipe between two native threads. Returns a dict with
    received frame count, order/flag errors and how often each side slept."""
    cdef stress_t st
    cdef zx_thread_t tw, tr
    if zx_pipe_init(&st.p, hwm) < 0:
        raise MemoryError()
    zx_sig_open(&st.rsig)
    zx_sig_open(&st.wsig)
    st.n = n
    st.frames_per_msg = frames_per_msg
    st.errors = st.received = st.reader_sleeps = st.writer_sleeps = st.lost_wakeups = 0
    st.p.on_readable.fn = _sig_wake
    st.p.on_readable.arg = &st.rsig
    st.p.on_writable.fn = _sig_wake
    st.p.on_writable.arg = &st.wsig
    with nogil:
        zx_thread_start(&tr, _stress_reader, &st)
        zx_thread_start(&tw, _stress_writer, &st)
        zx_thread_join(tw)
        zx_thread_join(tr)
    result = dict(received=st.received, errors=st.errors, reader_sleeps=st.reader_sleeps,
                  writer_sleeps=st.writer_sleeps, lost_wakeups=st.lost_wakeups,
                  queued=zx_pipe_queued(&st.p))
    zx_pipe_destroy(&st.p)
    zx_sig_close(&st.rsig)
    zx_sig_close(&st.wsig)
    return result
