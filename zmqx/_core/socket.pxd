# Socket core: endpoints, options, links, blocking send/recv; the routing of each socket
# type lives in patterns/*.pxi (included into socket.pyx).
from libc.stdint cimport int64_t, uint32_t
from zmqx._core.context cimport Context
from zmqx._core.mailbox cimport zx_sockbase
from zmqx._core.pipe cimport zx_link
from zmqx._core.io_thread cimport zx_opts
from zmqx._core.msg cimport zx_msg
from zmqx._core.trie cimport zx_trie

ctypedef struct zx_slot:
    zx_link *link
    int side
    bint dying          # the peer went away: drain what it sent, then drop
    bint io             # the peer side is a session in an I/O thread
    bint refused        # never used (a second PAIR peer, a duplicate ROUTER id): dropped unread
    bint matched        # PUB/XPUB: this link takes the message being sent
    zx_trie *subs       # PUB/XPUB: what this subscriber asked for

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
    cdef list _rids               # ROUTER: routing id of each slot (parallel to slots)
    cdef dict _routes             # ROUTER: routing id -> slot index
    cdef int cur_in
    cdef int cur_out
    cdef int lb_next
    cdef int fq_next
    cdef bint rcvmore
    cdef bint need_reap
    cdef bint out_drop            # dropping the rest of a message nobody takes
    cdef bint out_dist            # PUB/XPUB: the message being sent goes to matched slots
    cdef int64_t next_endpoint_id
    cdef dict _endpoints
    cdef set _dead_eids           # endpoints closed by unbind/disconnect: late links die
    cdef object _last_endpoint
    cdef int _pid
    cdef object __weakref__
    # pattern state
    cdef zx_trie *subs            # SUB/XSUB: our subscriptions; XPUB: union over peers
    cdef list _pending_in         # XPUB: frames for the app; ROUTER/REP/REQ staging
    cdef zx_msg prefetched        # ROUTER: the first frame read while handing out the id
    cdef bint has_prefetched
    cdef object _envelope         # REP: envelope of the request being answered
    cdef int reply_slot           # REP/REQ: where the reply goes / comes from (-1 none)
    cdef zx_link *reply_link
    cdef bint req_waiting         # REQ: a request is out, a reply is due
    cdef bint rep_replying        # REP: a request was received, a reply is due
    cdef bint req_body_started    # REQ: the envelope of the current request was sent
    cdef uint32_t req_id
    cdef bint req_correlate
    cdef bint req_relaxed
    cdef bint router_mandatory
    cdef bint router_handover
    cdef bint probe_router
    cdef object connect_rid
    cdef uint32_t next_rid
    cdef bint xpub_verbose
    cdef bint xpub_verboser
    cdef bint xpub_nodrop
    cdef bint xpub_manual
    cdef object xpub_welcome
    cdef zx_link *xpub_last_link
    cdef bint invert_matching
    cdef bint conflate
    cdef bint fd_exported         # the app took FD: keep it level-triggered
    cdef bint fd_ready            # we know the signaler is readable
    cdef long _gen                # fork generation at creation

    cdef int _check(self) except -1
    cdef int _process_commands(self) except -1
    cdef int _add_slot(self, zx_link *link, int side, bint io) except -1
    cdef int _slot_attached(self, int idx) except -1
    cdef int _slot_detached(self, int idx) except -1
    cdef int _hiccup(self, zx_link *link) except -1
    cdef void _reap(self)
    cdef int _wait(self, int64_t deadline) except -1
    cdef int _pick_out(self) noexcept
    cdef int _write_slot(self, int idx, zx_msg *m, bint more) except -1
    cdef int _fq_read(self, zx_msg *m, int *idx) except -1
    cdef int _xsend(self, zx_msg *m, int flags) except -1
    cdef int _xrecv(self, zx_msg *m) except -1
    cdef int _send_msg(self, zx_msg *m, int flags) except -1
    cdef int _recv_msg(self, zx_msg *m, int flags) except -1
    cdef int _poll_events(self) except -1
    cdef int _try_recv(self, zx_msg *m) except -1
    cdef object _recv_one(self, int flags, bint copy)
    cdef object _send_one(self, object data, int flags, bint copy, bint track)
    cdef int _sync_fd(self) except -1
    cdef bint _in_ready(self) noexcept
    cdef bint _poll_events_in(self) except -1
    cdef int _accept_inproc_link(self, zx_link *link, Socket peer) except -1
    cdef int _connect_to_binder(self, zx_link *link, Socket binder) except -1
    # patterns
    cdef int _send_subscription(self, int idx, bint subscribe, const unsigned char *p, size_t n) except -1
