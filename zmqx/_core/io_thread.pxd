# The I/O thread: a native thread that never takes the GIL. It owns every tcp/ipc file
# descriptor: listeners, and sessions (one per connection, or one per connect() endpoint
# that survives reconnects), each running a ZMTP engine between its fd and a link.
from libc.stdint cimport int64_t, uint8_t, uint64_t
from zmqx._core.platform cimport (zx_poller, zx_thread_t, sockaddr_storage, socklen_t, iovec)
from zmqx._core.mailbox cimport zx_mailbox, zx_sockbase
from zmqx._core.pipe cimport zx_link
from zmqx._core.msg cimport zx_msg, zx_block
from zmqx._core.zmtp cimport zx_handshake

cdef enum:
    ZX_OBJ_IOTHREAD = 1
    ZX_OBJ_LISTENER = 2
    ZX_OBJ_SESSION = 3
    ZX_IOV_MAX = 64
    ZX_STAGE_SIZE = 65536
    ZX_RBUF_SIZE = 65536

# session states
cdef enum:
    ZX_S_WAIT = 0          # waiting to (re)connect
    ZX_S_CONNECTING = 1
    ZX_S_HANDSHAKE = 2
    ZX_S_ACTIVE = 3

# a snapshot of the socket's options taken at bind/connect time (as libzmq does)
ctypedef struct zx_opts:
    int socktype
    int64_t sndhwm
    int64_t rcvhwm
    int64_t maxmsgsize
    int reconnect_ivl
    int reconnect_ivl_max
    int handshake_ivl
    int sndbuf
    int rcvbuf
    int tcp_keepalive
    int tcp_keepalive_cnt
    int tcp_keepalive_idle
    int tcp_keepalive_intvl
    int heartbeat_ivl
    int heartbeat_ttl
    int heartbeat_timeout
    int connect_timeout
    int probe_router
    int immediate
    unsigned char identity[256]
    size_t identity_len
    unsigned char connect_rid[256]     # CONNECT_ROUTING_ID given to this connect()
    size_t connect_rid_len

cdef struct zx_iothread

cdef struct zx_listener:
    int kind
    int fd
    int64_t endpoint_id
    zx_sockbase *sb
    zx_iothread *io
    zx_opts opts
    bint dead
    zx_listener *next

cdef struct zx_session:
    int kind
    zx_iothread *io
    zx_sockbase *sb
    int64_t endpoint_id
    zx_opts opts
    zx_link *link
    bint is_connect
    sockaddr_storage addr
    socklen_t addrlen
    int family
    int state
    int fd
    int events
    zx_handshake hs
    size_t hs_sent
    # input
    zx_block *rbuf
    size_t rstart
    size_t rend
    zx_msg big
    uint64_t big_filled
    bint big_active
    bint big_command               # the large frame being read is a command
    bint expect_big                # the last frame was large: read the next header small
    bint in_blocked
    bint in_more
    # output
    unsigned char *stage
    size_t stage_len
    iovec iov[64]
    int iov_n
    int iov_i
    zx_msg held[64]
    int held_n
    bint out_more
    bint out_drop
    bint out_idle
    # timers
    int64_t timer_at
    int64_t last_rx                # heartbeats: when the peer was last heard
    int64_t next_ping
    int64_t ping_deadline          # HEARTBEAT_TIMEOUT: close if silent past this
    int64_t ttl_deadline           # peer's TTL: close if silent past this
    int cur_ivl
    bint attach_on_handshake       # IMMEDIATE (and ROUTER): no link until connected
    bint dead                      # destroyed; memory freed after the current event batch
    bint had_connection
    bint socket_gone
    int64_t linger_at          # -1: linger forever
    zx_session *prev
    zx_session *next

cdef struct zx_iothread:
    int kind
    zx_mailbox mb
    zx_poller poller
    zx_thread_t thread
    zx_listener *listeners
    zx_session *sessions
    zx_session *zombies            # destroyed this round: freed after the event batch
    zx_listener *dead_listeners
    bint stopping
    bint started

cdef zx_iothread *zx_iothread_start() except NULL
cdef void zx_iothread_stop(zx_iothread *io) noexcept nogil     # posts STOP, joins, frees
cdef void zx_io_wake(void *arg, void *link, int what) noexcept nogil
cdef zx_session *zx_session_new_connect(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                        int64_t endpoint_id) noexcept nogil
cdef zx_listener *zx_listener_new(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                  int fd, int64_t endpoint_id) noexcept nogil
