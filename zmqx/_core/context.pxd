# Context core: I/O threads (started lazily), the inproc registry, termination.
from libc.stdint cimport int64_t
from zmqx._core.io_thread cimport zx_iothread
from zmqx._core.platform cimport zx_sigfd

cdef class Context:
    cdef zx_iothread **_io
    cdef int _nio
    cdef public int _io_threads
    cdef int64_t _terminated
    cdef int64_t _nsockets
    cdef zx_sigfd _term_sig
    cdef object _sockets           # WeakSet of open sockets (woken by term)
    cdef dict _inproc              # name -> binding Socket
    cdef dict _pending             # name -> [(link address, connecting Socket)]
    cdef object _lock
    cdef long _gen                 # fork generation at creation (see zx_fork_generation)
    cdef bint _closed
    cdef int _next_io
    cdef int64_t _spin_ns          # spin_us: I/O threads and new sockets (see docs/performance.md)
    cdef readonly Context _shadowed   # a shadow (Context.shadow): the live context; else None

    cdef zx_iothread *choose_io(self) except NULL
    cdef bint terminated(self) noexcept nogil
    cdef void socket_closed(self, object sock)

cdef long zx_fork_generation() noexcept nogil     # bumped in every forked child
