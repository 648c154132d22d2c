# Context core: owns the I/O threads (started on the first tcp/ipc endpoint, so inproc-only
# programs never start one), the inproc registry, and termination.
import os
import threading
import warnings
import weakref

from cpython.exc cimport PyErr_CheckSignals
from libc.stdlib cimport calloc, free
from zmqx._core.atomic cimport zx_load, zx_store, zx_add
from zmqx._core.platform cimport (zx_sig_open, zx_sig_close, zx_sig_send, zx_sig_drain,
                                  pollfd, POLLIN, zx_poll_fds)
from zmqx._core.io_thread cimport zx_iothread, zx_iothread_start, zx_iothread_stop
from zmqx._core.msg cimport zx_release_pending

from zmqx.error import ZMQError, ContextTerminated
from errno import EINVAL, EFAULT
from zmqx.constants import EMTHREAD as _EMTHREAD_E

cdef int _EMTHREAD = int(_EMTHREAD_E)

# The one fork guard: a generation counter bumped in a forked child. Contexts and sockets
# remember the generation they were made in; one from an older generation belongs to the
# parent (its threads do not exist here) and refuses to work.
cdef long _fork_gen = 0

# contexts alive in this process: a forked child marks them unusable
_all_contexts = weakref.WeakSet()


cdef long zx_fork_generation() noexcept nogil:
    return _fork_gen


def fork_generation():
    """How many times this process is a forked child of a zmqx-using parent."""
    return _fork_gen


def _after_fork_in_child():
    global _fork_gen
    _fork_gen += 1
    for ctx in list(_all_contexts):
        (<Context>ctx)._forked()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


def _spin_ns_of(value):
    # spin_us as given (µs, int or float) -> ns; a clear error for nonsense
    us = float(value)
    if not (0 <= us <= 1e6):
        raise ValueError(f"spin_us must be between 0 and 1000000 µs, not {value!r}")
    return int(us * 1000)


def _env_spin_ns():
    raw = os.environ.get("ZMQX_SPIN_US")
    if raw:
        try:
            return _spin_ns_of(raw)
        except ValueError:
            warnings.warn(f"ignoring ZMQX_SPIN_US={raw!r}: not a number of µs in [0, 1e6]")
    return 50_000


cdef int64_t _default_spin_ns = _env_spin_ns()


cdef class Context:

    def __cinit__(self, *args, **kwargs):
        self._io = NULL
        self._nio = 0
        self._io_threads = 1
        self._terminated = 0
        self._nsockets = 0
        self._term_sig.r = self._term_sig.w = -1
        if zx_sig_open(&self._term_sig) < 0:
            raise OSError("cannot create the context's signaler")
        self._sockets = weakref.WeakSet()
        self._inproc = {}
        self._pending = {}
        self._lock = threading.RLock()
        self._gen = _fork_gen
        self._closed = False
        self._next_io = 0
        self._spin_ns = _default_spin_ns
        _all_contexts.add(self)

    def __init__(self, io_threads=1, **kwargs):
        if io_threads < 0:
            raise ZMQError(EINVAL)
        self._io_threads = io_threads

    def _shadow_init(self, Context live):
        # make this object a second handle on `live` (pyzmq's Context.shadow): it owns no
        # thread and no fd; every call below goes to the live context, kept alive by it
        if live._shadowed is not None:
            live = live._shadowed
        self._shadowed = live
        self._gen = live._gen
        _all_contexts.discard(self)
        zx_sig_close(&self._term_sig)

    def __dealloc__(self):
        cdef int i
        if self._io != NULL:
            if self._gen == _fork_gen:
                with nogil:
                    for i in range(self._nio):
                        zx_iothread_stop(self._io[i])
            free(self._io)
            self._io = NULL
        zx_sig_close(&self._term_sig)

    def _forked(self):
        # the child shares no thread with the parent: forget the I/O threads without
        # touching them (their memory is the parent's snapshot)
        self._io = NULL
        self._nio = 0
        self._closed = True

    cdef zx_iothread *choose_io(self) except NULL:
        cdef int i
        cdef int n = self._io_threads
        if self._gen != _fork_gen:
            raise ZMQError(EFAULT, "context was created in another process (fork)")
        if zx_load(&self._terminated):
            raise ContextTerminated()
        if n == 0:
            # IO_THREADS 0 is for inproc-only programs (as libzmq): no tcp/ipc endpoint
            raise ZMQError(_EMTHREAD, "No thread available (IO_THREADS is 0: inproc only)")
        with self._lock:
            if self._io == NULL:
                self._io = <zx_iothread **>calloc(self._io_threads, sizeof(zx_iothread *))
                if self._io == NULL:
                    raise MemoryError()
                for i in range(n):
                    self._io[i] = zx_iothread_start(self._spin_ns)
                    self._nio = i + 1
            self._next_io = (self._next_io + 1) % self._nio
            return self._io[self._next_io]

    @property
    def spin_us(self):
        """How long (µs) a waiting thread keeps looking before it sleeps: the I/O threads
        after traffic, and sockets made from now on (with inproc peers only) in a
        blocking wait unless the one before was longer. 0 never spins (libzmq's
        behaviour). Default: $ZMQX_SPIN_US, else 50."""
        if self._shadowed is not None:
            return self._shadowed.spin_us
        return self._spin_ns / 1000.0

    @spin_us.setter
    def spin_us(self, value):
        cdef int i
        if self._shadowed is not None:
            self._shadowed.spin_us = value
            return
        self._spin_ns = _spin_ns_of(value)
        with self._lock:
            for i in range(self._nio):
                zx_store(&self._io[i].spin_ns, self._spin_ns)

    cdef bint terminated(self) noexcept nogil:
        return zx_load(&self._terminated) != 0

    cdef void socket_closed(self, object sock):
        self._sockets.discard(sock)
        zx_add(&self._nsockets, -1)
        if self._term_sig.w >= 0:
            zx_sig_send(&self._term_sig)

    def _register_socket(self, sock):
        if self._shadowed is not None:
            return self._shadowed._register_socket(sock)
        if self._gen != _fork_gen:
            raise ZMQError(EFAULT, "context was created in another process (fork)")
        if zx_load(&self._terminated) or self._closed:
            raise ContextTerminated()
        self._sockets.add(sock)
        zx_add(&self._nsockets, 1)

    @property
    def closed(self):
        if self._shadowed is not None:
            return self._shadowed._closed
        return self._closed

    def _io_count(self):
        if self._shadowed is not None:
            return self._shadowed._nio
        return self._nio

    def _open_sockets(self):
        if self._shadowed is not None:
            return self._shadowed._open_sockets()
        return list(self._sockets)

    def term(self):
        """Wake every blocked call with ContextTerminated, wait until all sockets are
        closed, then stop the I/O threads (which finish lingering sends first)."""
        cdef pollfd pfd
        cdef int rc, i
        if self._shadowed is not None:
            return self._shadowed.term()
        if self._closed:
            return
        if self._gen != _fork_gen:
            self._closed = True
            return
        zx_store(&self._terminated, 1)
        for sock in list(self._sockets):
            sock._wake()
        pfd.fd = self._term_sig.r
        pfd.events = POLLIN
        while zx_load(&self._nsockets) > 0:
            with nogil:
                rc = zx_poll_fds(&pfd, 1, 200)
            zx_sig_drain(&self._term_sig)
            PyErr_CheckSignals()
            zx_release_pending()
        if self._io != NULL:
            with nogil:
                for i in range(self._nio):
                    zx_iothread_stop(self._io[i])
            free(self._io)
            self._io = NULL
            self._nio = 0
        zx_release_pending()
        self._closed = True
        zx_sig_close(&self._term_sig)      # a terminated context holds no fd

    def _set_io_threads(self, int n):
        if self._shadowed is not None:
            return self._shadowed._set_io_threads(n)
        if n < 0:
            raise ZMQError(EINVAL)
        if self._io != NULL:
            raise ZMQError(EINVAL, "IO_THREADS must be set before the first tcp/ipc endpoint")
        self._io_threads = n

    def _forked_child(self):
        if self._shadowed is not None:
            return self._shadowed._forked_child()
        return self._gen != _fork_gen

    def _get_io_threads(self):
        if self._shadowed is not None:
            return self._shadowed._io_threads
        return self._io_threads

    def _unbind_inproc(self, name, sock):
        with self._lock:
            ref = self._inproc.get(name)
            if ref is not None and ref() in (sock, None):
                del self._inproc[name]
