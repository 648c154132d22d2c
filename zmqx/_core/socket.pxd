# Socket core: endpoints, options, links, blocking send/recv and routing.
from libc.stdint cimport int64_t
from zmqx._core.context cimport Context
from zmqx._core.mailbox cimport zx_sockbase
from zmqx._core.pipe cimport zx_link
from zmqx._core.io_thread cimport zx_opts
from zmqx._core.msg cimport zx_msg

ctypedef struct zx_slot:
    zx_link *link
    int side
    bint dying          # the peer went away: drain what it sent, then drop
    bint io             # the peer side is a session in an I/O thread

cdef class Socket:
    cdef readonly Context context
    cdef zx_sockbase *sb
    cdef readonly int socket_type
    cdef bint _closed
    cdef zx_opts opts
    cdef public int _linger
    cdef int rcvtimeo
    cdef int sndtimeo
    cdef int backlog
    cdef int ipv6
    cdef int connect_timeout
    cdef zx_slot *slots
    cdef int nslots
    cdef int cap
    cdef int cur_in
    cdef int cur_out
    cdef int lb_next
    cdef int fq_next
    cdef bint rcvmore
    cdef bint need_reap
    cdef int64_t next_endpoint_id
    cdef dict _endpoints
    cdef object _last_endpoint
    cdef int _pid
    cdef object __weakref__

    cdef int _check(self) except -1
    cdef int _process_commands(self) except -1
    cdef int _add_slot(self, zx_link *link, int side, bint io) except -1
    cdef void _reap(self)
    cdef int _wait(self, int64_t deadline) except -1
    cdef int _pick_out(self) noexcept
    cdef int _send_msg(self, zx_msg *m, int flags) except -1
    cdef int _recv_msg(self, zx_msg *m, int flags) except -1
    cdef int _poll_events(self) except -1
    cdef int _accept_inproc_link(self, zx_link *link, Socket peer) except -1
    cdef int _connect_to_binder(self, zx_link *link, Socket binder) except -1
