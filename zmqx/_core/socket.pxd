# Socket core: the Python API, the options common to every type, endpoints, the slots (one
# per peer), lifecycle, and blocking send/recv/poll. What a socket type does with its
# slots is behind the hooks of its room (sockcore.pxd, socktypes.pyx, patterns/*.pxi).
from libc.stdint cimport int64_t, uint32_t
from zmqx._core.platform cimport zx_mutex_t
from zmqx._core.context cimport Context
from zmqx._core.mailbox cimport zx_sockbase, zx_tally
from zmqx._core.pipe cimport zx_link
from zmqx._core.io_thread cimport zx_opts
from zmqx._core.msg cimport zx_msg
from zmqx._core.sockcore cimport zx_sock, zx_sockops, zx_group

# options the core itself uses (the rest of the options table lives in zx_opts, the type
# rooms, or the socket's `_kept` dict)
ctypedef struct zx_coreopts:
    int linger
    int rcvtimeo
    int sndtimeo
    int backlog
    int ipv6

cdef class Socket:
    cdef readonly Context context
    cdef zx_sockbase *sb
    cdef readonly int socket_type
    cdef bint _closed
    cdef zx_sock core             # what the type rooms see: slots, state, shared options
    cdef const zx_sockops *ops    # this type's hooks (from the one type table)
    cdef object _tstate           # the type's state object (core.state points at it)
    cdef zx_opts opts             # options every connection snapshots at bind/connect
    cdef zx_coreopts copts        # options the core uses itself
    cdef dict _kept               # options zmqx only remembers (AFFINITY, TOS, ...)
    cdef int cap
    cdef bint rcvmore             # the last frame received had MORE
    cdef bint sndmore             # the last frame sent had SNDMORE: a message is open
    cdef int64_t next_endpoint_id
    cdef dict _endpoints
    cdef set _dead_eids           # endpoints closed by unbind/disconnect: late links die
    cdef object _last_endpoint
    cdef object connect_rid       # CONNECT_ROUTING_ID for the next connect()
    cdef bint fd_exported         # the app took FD: keep it level-triggered
    cdef bint fd_ready            # we know the signaler is readable
    cdef long _gen                # fork generation at creation
    cdef public Py_ssize_t copy_threshold  # copy=False sends smaller than this are copied
    cdef void *last_in            # the link the last frame read came from (pipe read_note)
    cdef dict _peer_props         # link address -> the properties Frame.get reports
    cdef void *_props_link        # _props_of's one-entry cache: the link last asked for
    cdef dict _props_last         # ... and its properties
    cdef readonly Socket _shadowed  # a shadow (pyzmq's Socket.shadow): the live socket
                                    # every call goes to; None on the live socket itself
    # thread-safe types only (ZX_T_THREADSAFE; NULL for the others): the per-socket lock
    # every public call takes (reentrant: owner + depth), and how many threads wait
    cdef zx_mutex_t *tlock
    cdef unsigned long tlock_owner
    cdef int tlock_depth
    cdef int nwaiters
    # adaptive spinning in _wait: how long the next wait may spin before it sleeps (0 or
    # spin_max_ns, from how long the last wait took), and the bound set by spin_us
    cdef int64_t spin_ns
    cdef int64_t spin_max_ns
    cdef object _monitor_binder   # the internal PAIR bound to the monitor address (monitor())
    cdef zx_tally *_tally         # linger drops after close, shared with the sockbase
    cdef object _final_stats      # stats() as they were when the socket closed
    # zmqx.asyncio's queue of waiting futures (None on other sockets): a C field, so the
    # compiled recv/send (ready.pyx) test it without an attribute lookup on every call
    cdef public object _waiters
    # ... and the rest of its wait state, C fields for the compiled wait path (ready.pyx):
    # an attribute write from Python goes through zmqx.Socket's __setattr__ option hook
    cdef public object _waker     # the _Waker of the loop it last waited in
    cdef public bint _watching    # its wake-up fds are being watched for the queue
    cdef object __weakref__

    cdef int _check(self) except -1
    cdef int _lock(self) except -1
    cdef void _unlock(self) noexcept
    cdef void _pass_wake(self) noexcept
    cdef int _process_commands(self) except -1
    cdef int _add_slot(self, zx_link *link, int side, bint io) except -1
    cdef int _slot_dying(self, int idx) except -1
    cdef int _hiccup(self, zx_link *link) except -1
    cdef int _reap(self) except -1
    cdef int _wait(self, int64_t deadline) except -1
    # group: the RADIO group to send with; g: where a DISH's group is copied (or NULL)
    cdef int _send_msg(self, zx_msg *m, int flags, bytes group=*) except -1
    cdef int _recv_msg(self, zx_msg *m, int flags, zx_group *g=*) except -1
    cdef int _poll_events(self) except -1
    cdef int _try_recv(self, zx_msg *m) except -1
    cdef object _recv_one(self, int flags, bint copy)
    cdef object _send_one(self, object data, int flags, bint copy, bint track, uint32_t rid=*,
                          bytes group=*)
    cdef int _sync_fd(self) except -1
    cdef bint _receives(self) noexcept
    cdef bint _io_peers(self) noexcept
    cdef int _accept_inproc_link(self, zx_link *link, Socket peer) except -1
    cdef int _connect_to_binder(self, zx_link *link, Socket binder) except -1
