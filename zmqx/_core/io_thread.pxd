# The I/O thread's C-level interface: a native thread that never takes the GIL and owns
# every tcp/ipc/udp file descriptor: listeners, and sessions (one per accepted connection, or
# one per connect() endpoint that survives reconnects), each running a ZMTP engine between its
# fd and a link, and udp:// endpoints (zx_udp: datagrams to/from a link). socket.pyx builds
# listeners, connecting sessions and udp endpoints through this file (zx_opts, zx_listener_new,
# zx_session_new_connect, zx_udp_new, zx_io_wake, the mailbox commands); everything else
# is private to io_thread.pyx and its includes (io_*.pxi).
from libc.stdint cimport int64_t, uint8_t, uint64_t
from zmqx._core.platform cimport (zx_poller, zx_thread_t, sockaddr_storage, socklen_t, iovec)
from zmqx._core.mailbox cimport zx_mailbox, zx_sockbase
from zmqx._core.pipe cimport zx_link
from zmqx._core.msg cimport zx_msg, zx_block, zx_props
from zmqx._core.zmtp cimport zx_handshake, zx_greet
from zmqx._core.mechanism cimport zx_mech

cdef enum:
    ZX_OBJ_IOTHREAD = 1
    ZX_OBJ_LISTENER = 2
    ZX_OBJ_SESSION = 3
    ZX_OBJ_UDP = 8                 # a udp:// endpoint (io_udp.pxi)
    ZX_PEER_UDP = 1000             # link.socktype of a udp endpoint's side: no ZMTP peer;
                                   # RADIO sends it every group, the datagram carries it
    ZX_UDP_MAX = 65536             # receive buffer: the largest datagram
    ZX_CMD_ADD_UDP = 40            # mailbox command: ptr is a new zx_udp (mailbox.pxd's
                                   # numbering; an I/O-thread command)
    ZX_IOV_MAX = 64
    ZX_STAGE_SIZE = 65536
    ZX_RBUF_SIZE = 65536

# what a socket type's connections need of the engine beyond plain ZMTP: each room sets
# its zx_sockops.wire, the core copies it into zx_opts.wire, so the I/O side never asks
# which type a socket is
cdef enum:
    ZX_WIRE_RAW = 1            # no ZMTP at all: bytes in, bytes out (STREAM, io_raw.pxi)
    ZX_WIRE_JOIN_OUT = 2       # its subscription messages go out as JOIN/LEAVE commands,
                               # to 3.0 peers too (DISH)
    ZX_WIRE_JOIN_IN = 4        # JOIN/LEAVE commands come in as subscription messages (RADIO)

# session states
cdef enum:
    ZX_S_WAIT = 0          # waiting to (re)connect
    ZX_S_CONNECTING = 1
    ZX_S_HANDSHAKE = 2
    ZX_S_ACTIVE = 3
    ZX_S_RESOLVING = 4     # waiting for the resolver thread to look the host name up

# Why a connection ended. A session is marked with the first reason (zx_session.end_reason)
# by whatever noticed, and torn down in one place (io_session.pxi: _session_teardown), which
# decides from the reason whether to reconnect. The last reason and its errno/ZX_ERR_* detail
# stay in last_reason/last_detail for the monitor.
cdef enum:
    ZX_END_NONE = 0
    # the connection failed: a connecting session reconnects
    ZX_END_CONNECT_FAILED = 1      # socket()/connect() failed, or the async connect did (errno)
    ZX_END_CONNECT_TIMEOUT = 2     # CONNECT_TIMEOUT passed before the TCP connect completed
    ZX_END_HANDSHAKE_TIMEOUT = 3   # HANDSHAKE_IVL passed before READY
    ZX_END_HANDSHAKE_FAILED = 4    # greeting/READY refused (detail: the ZX_ERR_* from zmtp)
    ZX_END_PEER_CLOSED = 5         # end of stream from the peer
    ZX_END_IO_ERROR = 6            # recv/send failed (errno)
    ZX_END_PROTOCOL = 7            # malformed frame or command after the handshake
    ZX_END_PEER_ERROR = 8          # the peer sent an ERROR command
    ZX_END_HEARTBEAT_TIMEOUT = 9   # HEARTBEAT_TIMEOUT, or the peer's TTL, passed in silence
    ZX_END_NO_MEMORY = 10
    ZX_END_AUTH_FAILED = 12        # ZAP (or the peer's ERROR "3xx/4xx/5xx") refused us
                                   # (detail: the status code)
    ZX_END_REFUSED = 11            # the socket refused the link (a second PAIR peer, a
                                   # duplicate ROUTER id): an accepted connection is dropped, a
                                   # connecting one tries again later with a new link
    # our own decisions: the session goes away for good
    ZX_END_LINGER_DONE = 16        # the socket closed and the output drained (or LINGER expired)
    ZX_END_SOCKET_CLOSED = 17      # the socket closed before the connection could attach
    ZX_END_ENDPOINT_CLOSED = 18    # disconnect()/unbind()
    ZX_END_LISTENER_CLOSED = 19    # an accepted connection still handshaking lost its listener

# Connection lifecycle events, with libzmq's ZMQ_EVENT_* numbers so a monitor can pass them
# on unchanged. zx_io_event() is the one place they are reported; value is the fd, an errno,
# a reconnect interval or a ZX_ERR_* detail, as noted.
cdef enum:
    ZX_EVT_CONNECTED = 0x0001              # fd: the TCP/ipc connect completed
    ZX_EVT_CONNECT_DELAYED = 0x0002        # errno (EINPROGRESS): connect is asynchronous
    ZX_EVT_CONNECT_RETRIED = 0x0004        # interval ms until the next attempt
    ZX_EVT_LISTENING = 0x0008              # fd
    ZX_EVT_BIND_FAILED = 0x0010            # errno (raised on the app thread, in bind())
    ZX_EVT_ACCEPTED = 0x0020               # fd
    ZX_EVT_ACCEPT_FAILED = 0x0040          # errno
    ZX_EVT_CLOSED = 0x0080                 # fd of a closed listener or connect attempt
    ZX_EVT_DISCONNECTED = 0x0200           # fd: a connection that had started ended
    ZX_EVT_HANDSHAKE_FAILED_NO_DETAIL = 0x0800   # errno (timeout, I/O error, EOF)
    ZX_EVT_HANDSHAKE_SUCCEEDED = 0x1000    # 0 (as libzmq)
    ZX_EVT_HANDSHAKE_FAILED_PROTOCOL = 0x2000    # libzmq's ZMQ_PROTOCOL_ERROR_* code
    ZX_EVT_HANDSHAKE_FAILED_AUTH = 0x4000  # the ZAP status code (300, 400, 500)

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
    # security (socket_options.pxi keeps them as libzmq does; the engine reads them once,
    # when the handshake starts)
    int mechanism                      # ZX_MECH_NULL / _PLAIN / _CURVE (mechanism.pxd)
    int as_server
    int zap_enforce_domain
    unsigned char plain_username[256]
    size_t plain_username_len
    unsigned char plain_password[256]
    size_t plain_password_len
    uint8_t curve_public[32]
    uint8_t curve_secret[32]          # wiped when a session or listener is freed
    uint8_t curve_server[32]
    unsigned char zap_domain[256]
    size_t zap_domain_len
    zx_zap *zap                        # this bind/connect's ZAP client (io_zap.pxi) or NULL
    int raw_notify                     # STREAM_NOTIFY: an empty message on connect/disconnect
    int wire                           # ZX_WIRE_*: the socket type's engine needs (zx_sockops.wire)

cdef struct zx_iothread
cdef struct zx_zap

cdef struct zx_listener:
    int kind
    int fd
    int64_t endpoint_id
    zx_sockbase *sb
    zx_iothread *io
    zx_opts opts
    bint dead                      # closed; freed after the current event batch
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
    # connect() to a host name: looked up again before every attempt (io_resolver.pxi);
    # host[0] == 0 means addr is numeric and fixed
    char host[256]
    int host_family                # AF_INET, or AF_UNSPEC with IPV6 (IPv6 answers first)
    int host_port
    void *resolving                # the lookup in flight (a zx_resolve_req), or NULL
    # tcp://source;destination: the outgoing socket is bound here first (src_len 0: none)
    sockaddr_storage src
    socklen_t src_len
    int state
    int fd
    int events
    zx_handshake hs
    size_t hs_sent
    # the greeting in libzmq's order (zx_greet): signature, major, then the rest once the
    # peer's revision is known; then hs (3.x) or the 1.0/2.0 identity exchange
    zx_greet greet
    unsigned char greet_buf[64]    # our greeting as far as it may go out
    size_t greet_len
    size_t greet_sent
    bint greet_phase               # the peer's version is not known yet
    bint legacy_identity           # a 1.0/2.0 peer: its identity frame is due next
    int wire                       # ZX_ZMTP_* the peer speaks (0 until known)
    # PLAIN/CURVE (io_session.pxi): the mechanism after the greeting, its pending output,
    # and the ZAP request in flight (NULL mechanism: mech stays NULL, the fast path)
    zx_mech *mech
    unsigned char *mech_out
    size_t mech_out_len
    size_t mech_out_sent
    size_t mech_out_cap
    bint mech_phase                # greeting done, mechanism commands being exchanged
    bint curve                     # data frames travel boxed (CURVE MESSAGE)
    int64_t zap_req                # the ZAP request id awaited (0: none)
    int zap_status                 # the ZAP status that refused the peer (monitor)
    zx_props *props                # this connection's properties (frames carry them), or NULL
    # commands held back while a multipart message is half staged (io_engine.pxi)
    bint pend_ping
    bint pend_pong
    unsigned char pong_ctx[16]
    size_t pong_ctx_len
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
    bint wake_due                  # large frames were published, the reader not yet woken
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
    int64_t next_ping
    int64_t ping_deadline          # HEARTBEAT_TIMEOUT: close if silent past this
    int64_t ttl_deadline           # peer's TTL: close if silent past this
    int cur_ivl
    bint attach_on_handshake       # IMMEDIATE (and ROUTER): no link until connected
    bint raw                       # STREAM: no ZMTP, the raw engine of io_raw.pxi runs it
    int end_reason                 # ZX_END_*: marked, to be torn down by the loop (0: healthy)
    int end_detail                 # errno or ZX_ERR_* that goes with it
    int last_reason                # the reason of the last teardown, kept for the monitor
    int last_detail
    bint dead                      # destroyed; memory freed after the current event batch
    bint had_connection
    bint socket_gone
    int64_t linger_at          # -1: linger forever
    int64_t handshakes         # completed by this session (Socket.stats(): reconnects)
    # both ends of this connection are sessions of this I/O thread (zx_conn_ends): its
    # writes go in short rounds (io_engine.pxi, WRITE_LOCAL_MAX)
    uint64_t end_local
    uint64_t end_peer
    bint local_pair
    bint sndbuf_checked        # ipc: the send buffer was sized for large frames (io_engine)
    zx_session *prev
    zx_session *next

# A udp:// endpoint (io_udp.pxi): one datagram socket, made and configured on the app
# thread (zmqx/_udp.py), joined to its socket by a link whose side 1 is ours. RADIO: the
# outbound pipe's (group, body) pairs leave as RFC 48 datagrams; DISH: datagrams of joined
# groups become (group, body) pairs in the inbound pipe.
cdef struct zx_udp:
    int kind                       # ZX_OBJ_UDP
    int fd
    zx_iothread *io
    zx_sockbase *sb
    int64_t endpoint_id
    zx_link *link
    bint sender                    # RADIO (datagrams out); else DISH (datagrams in)
    int events                     # poller interest (-1: not registered)
    bint in_blocked                # DISH: inbound pipe at HWM, reading paused
    size_t held                    # RADIO: a datagram the kernel refused (EAGAIN), in buf
    unsigned char *buf
    unsigned char *groups          # DISH: joined groups, 256 bytes each (length, bytes)
    int ngroups
    int capgroups
    bint dead
    zx_udp *next

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
    void *resolver                 # io_resolver.pxi's lookup thread, started on first use
    zx_udp *udps                   # udp:// endpoints (io_udp.pxi)
    zx_udp *dead_udps              # closed this round: freed after the event batch
    int64_t spin_ns                # after traffic, look again without sleeping this long
                                   # (the context's spin_us; atomic: set from app threads)

# zx_io_wake's `what` beyond pipe.pxd's ZX_WAKE_READ/WRITE: the socket refused the link
# and will never read it; the session ends (ZX_END_REFUSED)
cdef enum:
    ZX_WAKE_REFUSED = 3
    ZX_WAKE_ZAP = 4                # (zx_io_wake_zap) the ZAP handler answered

# A ZAP client (RFC 27) of the I/O thread: an inproc link to the socket bound at
# inproc://zeromq.zap.01, made by the server socket at bind/connect (socket_zap.pxi) and
# shared by every connection of that endpoint; refcounted (the listener or connecting
# session, and each session that copied it). Only its I/O thread touches it after that.
cdef struct zx_zap:
    int64_t refs
    zx_link *link                  # side 0 is ours, side 1 the handler's socket
    int64_t next_id                # request ids, counted per ZAP client
    zx_iothread *io
    zx_msg reply[8]                # the reply being assembled
    int nreply
    bint overflow                  # the reply had more frames than a ZAP reply has

cdef zx_zap *zx_zap_new(zx_iothread *io, zx_link *link) noexcept nogil
cdef void zx_zap_ref(zx_zap *z) noexcept nogil
cdef void zx_zap_unref(zx_zap *z) noexcept nogil
cdef void zx_io_wake_zap(void *arg, void *link, int what) noexcept nogil

cdef zx_iothread *zx_iothread_start(int64_t spin_ns) except NULL
cdef void zx_iothread_stop(zx_iothread *io) noexcept nogil     # posts STOP, joins, frees
cdef void zx_io_wake(void *arg, void *link, int what) noexcept nogil
cdef zx_session *zx_session_new_connect(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                        int64_t endpoint_id) noexcept nogil
cdef void zx_session_discard(zx_session *s) noexcept nogil   # never posted: free it
# numeric ip text + port into a sockaddr; -1 if ip is not a numeric address of that family
cdef int zx_sockaddr_fill(sockaddr_storage *ss, socklen_t *len, int family, const char *ip,
                          int port) noexcept nogil
# connect to a host name (resolved on every attempt, see io_resolver.pxi); -1 if too long
cdef int zx_session_set_host(zx_session *s, const char *host, int family,
                             int port) noexcept nogil
cdef zx_listener *zx_listener_new(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                  int fd, int64_t endpoint_id) noexcept nogil
# the lifecycle-event hook: counted, and sent to the socket's monitor (monitor.pxd) if it
# has one; any thread may call it, it never blocks
cdef void zx_io_event(zx_sockbase *sb, int64_t endpoint_id, int kind,
                      int64_t value) noexcept nogil
# a udp:// endpoint over fd (already bound/connected); posted with ZX_CMD_ADD_UDP once
# its link is set. NULL when out of memory (fd untouched)
cdef zx_udp *zx_udp_new(zx_iothread *io, zx_sockbase *sb, int fd, int64_t endpoint_id,
                        bint sender) noexcept nogil

# the same for an event whose endpoint text is given (the app thread's failed bind)
cdef void zx_io_event_text(zx_sockbase *sb, int kind, int64_t value, const char *text,
                           size_t tlen) noexcept nogil
