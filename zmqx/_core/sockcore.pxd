# The contract between the socket core (socket.pyx) and the socket-type rooms
# (socktypes.pyx, which includes patterns/<type>.pxi). The core owns the slots (one per
# peer), the options common to every type, endpoints, lifecycle and blocking; a type owns
# its routing state and decides, through the hooks below, where each message goes and
# whether the socket is readable/writable. docs/architecture.md has the full story.
from libc.stdint cimport int64_t
from zmqx._core.slots cimport zx_slot
from zmqx._core.msg cimport zx_msg
from zmqx._core.mailbox cimport zx_sockbase
from zmqx._core.io_thread cimport zx_opts
from libc.stdint cimport uint32_t

# what a type is, as data (zx_sockops.flags)
cdef enum:
    ZX_T_SEND = 1             # send() is allowed
    ZX_T_RECV = 2             # recv() is allowed
    ZX_T_ATTACH_LATE = 4      # connect(): no link before the handshake (the peer's id is needed)
    ZX_T_THREADSAFE = 8       # several threads may use it: the core serialises the calls
    ZX_T_SINGLEPART = 16      # SNDMORE is EINVAL (the core refuses it before any hook)
    ZX_T_CONNECT_PEER = 32    # connect_peer() is allowed: attach sets zx_sock.last_rid
    ZX_T_GROUPS = 64          # join()/leave() (DISH): the core hands them to setopt as
                              # ZX_OPT_JOIN / ZX_OPT_LEAVE (the group as bytes, <= 255)
    ZX_T_UDP = 128            # may use udp:// (RADIO connects and sends, DISH binds and
                              # receives: which one by ZX_T_SEND / ZX_T_RECV)

# setopt hook "options" that are not socket options: zmq_join / zmq_leave
cdef enum:
    ZX_OPT_JOIN = -1
    ZX_OPT_LEAVE = -2

# a RADIO/DISH group beside a message (at most 255 bytes; len -1: none)
ctypedef struct zx_group:
    int len
    unsigned char data[256]

cdef struct zx_sockops

# Socket.stats(): what the socket's own thread counts (plain integers: only that thread
# writes them; stats() reads them on the same thread). The core counts messages, the rooms
# count what their rules drop.
ctypedef struct zx_sockstats:
    int64_t msgs_sent              # messages send() accepted (including ones then dropped)
    int64_t bytes_sent
    int64_t msgs_received
    int64_t bytes_received
    int64_t dropped_hwm            # a peer at HWM missed it (PUB/XPUB: once per peer; ROUTER)
    int64_t dropped_unroutable     # ROUTER: no peer has that routing id
    int64_t dropped_no_subscribers # PUB/XPUB: no peer subscribed to it
    int64_t dropped_conflated      # CONFLATE: replaced by a newer one before it was read
    int64_t waits                  # blocking waits (send/recv/poll found nothing to do)
    int64_t waits_spun             # ... that spun first (the wait before was short)
    int64_t waits_ended_spinning   # ... that the awaited event ended while still spinning


# The socket as the hooks see it. Types read it freely; they change only the slots' flags
# (through zx_sock_refuse) and need_reap. The slot array belongs to the core: it appends,
# and removes only between messages, telling the type through `removed`.
cdef struct zx_sock:
    int socktype
    zx_slot *slots
    int nslots
    bint need_reap            # a slot is dying: the core removes it once it is drained
    bint conflate             # CONFLATE (PULL, DEALER, SUB honour it)
    bint invert_matching      # INVERT_MATCHING (PUB, XPUB, SUB)
    zx_opts *opts             # the options common to every type (snapshot source for sessions)
    zx_sockbase *sb
    void *state               # the type's state object (borrowed: the Socket holds it)
    uint32_t last_rid         # the routing id attach gave the newest peer (SERVER, PEER)
    const zx_sockops *ops
    # the group travelling with the message (RADIO/DISH, Frame.group): the core fills
    # sgroup right before ops.send (len 0 when the message has none) and clears it after;
    # a room that receives groups sets rgroup in ops.recv, and the core copies it out at
    # once (both within the one call, so under a thread-safe socket's lock)
    zx_group sgroup
    zx_group rgroup
    zx_sockstats stats


# Hooks. "except -1" ones may raise (EFSM, EHOSTUNREACH, MemoryError...).
# init: make the type's state object (the core keeps it alive and points s.state at it)
ctypedef object (*zx_init_hook)(zx_sock *s)
# attach: slot idx was appended (a new peer; it may already be dying)
# detach: the peer of slot idx went away; what it sent is still read before the slot goes
# hiccup: the peer of slot idx reconnected (the same link): resend per-peer state
ctypedef int (*zx_slot_hook)(zx_sock *s, int idx) except -1
# removed: slot idx is about to leave the array (s.nslots still counts it); the slots
# after it will move down by one. Frees the type's per-peer data (slot.tdata)
ctypedef int (*zx_removed_hook)(zx_sock *s, int idx) except -1
# send: one frame (flags: DONTWAIT/SNDMORE); takes *m. 1: sent or dropped by the type's
# rules; 0: must wait (the core blocks on the socket's signaler and calls again).
# m.routing_id is the peer the caller addressed (send(routing_id=), Frame.routing_id)
ctypedef int (*zx_send_hook)(zx_sock *s, zx_msg *m, int flags) except -1
# recv: 1: a frame is in *m (ZX_MSG_MORE set if more follow); 0: nothing to read now.
# A type that names its peers sets m.routing_id (Frame.routing_id)
ctypedef int (*zx_recv_hook)(zx_sock *s, zx_msg *m) except -1
# has_in/has_out: readiness, as send/recv would see it, without changing routing state;
# they arm the wake-ups a failed send/recv would arm
ctypedef int (*zx_ready_hook)(zx_sock *s) except -1
# set/get of the type's own options (the options table routes only those here); value is
# already an int or bytes as the table says
ctypedef int (*zx_setopt_hook)(zx_sock *s, int option, object value) except -1
ctypedef object (*zx_getopt_hook)(zx_sock *s, int option)

cdef struct zx_sockops:
    int socktype
    const char *name
    int flags                 # ZX_T_*
    int linger                # default LINGER (ms, -1 forever)
    int wire                  # ZX_WIRE_* (io_thread.pxd): what its connections' engine does
                              # beyond plain ZMTP (raw bytes, JOIN/LEAVE commands)
    zx_init_hook init
    zx_slot_hook attach
    zx_slot_hook detach
    zx_slot_hook hiccup
    zx_removed_hook removed
    zx_send_hook send
    zx_recv_hook recv
    zx_ready_hook has_in
    zx_ready_hook has_out
    zx_setopt_hook setopt
    zx_getopt_hook getopt
