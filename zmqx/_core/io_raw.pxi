# The raw engine of STREAM sockets (included by io_thread.pyx): a connection that speaks no
# ZMTP at all. There is no greeting, no handshake and no framing: whatever one read returns
# becomes one message, and every message the socket queues is written out as its bytes.
# The routing-id frame is the STREAM room's business (patterns/stream.pxi) on the socket's
# side of the link; this file only moves bytes.
#
# A session is switched here where a ZMTP session would start its handshake
# (_session_start_handshake calls _raw_start and sets s.raw); from then on the loop sends
# that session's fd events to _raw_event and its pipe wake-ups to _raw_activate, so the
# ZMTP engine (io_engine.pxi) never runs for it. Shared with the ZMTP engine, unchanged:
# the failure path (_session_end / teardown / reconnect), linger, and the write stage.
#
# Notifications, as libzmq's raw engine makes them (STREAM_NOTIFY, on by default): an
# empty message when a connection starts, and another when the peer ends it (EOF, reset,
# a failed write). A connection the application closes (a zero-length send), a disconnect()
# or the socket's own close produce none: nobody is left to read them.

cdef enum:
    RAW_SMALL = 2048          # bodies up to this are copied into the write stage
    RAW_MIN_READ = 4096       # read into a fresh buffer rather than into less room than this


# ---------------------------------------------------------------- start

# the TCP/ipc connection is up: give the socket its link (unless a connect() made it
# earlier), queue the connect notification, and start moving bytes. -1 if the session ended
cdef int _raw_start(zx_session *s) noexcept nogil:
    cdef zx_link *link
    s.raw = True
    s.timer_at = 0
    s.cur_ivl = s.opts.reconnect_ivl
    s.rstart = s.rend = 0
    s.in_more = False
    s.in_blocked = False
    s.next_ping = s.ping_deadline = s.ttl_deadline = 0     # no heartbeats without ZMTP
    if s.link == NULL:
        if s.sb.closed:
            return _session_end(s, ZX_END_SOCKET_CLOSED, 0)
        # an accepted (or IMMEDIATE) connection: its link is born now. The peer has no
        # routing id of its own: CONNECT_ROUTING_ID names it, else the room makes one up
        link = zx_link_new(s.opts.sndhwm, s.opts.rcvhwm)
        if link == NULL:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        link.socktype[0] = s.opts.socktype
        link.socktype[1] = ZX_STREAM
        memcpy(link.rid[1], s.opts.connect_rid, s.opts.connect_rid_len)
        link.rid_len[1] = s.opts.connect_rid_len
        link.owner[1] = s
        link.user = s.endpoint_id
        zx_link_set_waker(link, 1, zx_io_wake, s.io, NULL)
        zx_sockbase_ref(s.sb)
        zx_link_set_waker(link, 0, zx_sockbase_wake, s.sb, zx_sockbase_unref)
        s.link = link
        if zx_mailbox_post(&s.sb.mb, ZX_CMD_ATTACH, link, 0) < 0:
            zx_store(&link.gone[0], 1)        # the socket closed meanwhile
            zx_link_unref(link)
            s.socket_gone = True
            return _session_end(s, ZX_END_SOCKET_CLOSED, 0)
    s.had_connection = True
    s.state = ZX_S_ACTIVE
    s.out_idle = False
    if s.opts.raw_notify and not s.socket_gone:
        if _raw_push_empty(s) < 0:
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
    _session_set_events(s, ZX_EV_IN)
    return _raw_write(s)


# an empty message into the socket's inbound pipe, published at once (HWM does not hold
# back a notification, as in libzmq)
cdef int _raw_push_empty(zx_session *s) noexcept nogil:
    cdef zx_pipe *inp = zx_link_out(s.link, 1)
    cdef zx_msg m
    zx_msg_init(&m)
    if zx_pipe_write(inp, &m) < 0:
        return -1
    zx_pipe_flush(inp, s.link)
    return 0


# the peer ended the connection (or it broke): the disconnect notification, then the
# common failure path. An accepted connection never comes back: its link is marked gone
# before the notification is published, so the room, reading [id, b""], knows the id is
# dead at once (EHOSTUNREACH from then on, not "until the TERM command arrives"). A
# connect() endpoint keeps its link, and its id, for the next connection. Always -1
cdef int _raw_lost(zx_session *s, int reason, int detail) noexcept nogil:
    cdef zx_pipe *inp
    cdef zx_msg m
    if s.opts.raw_notify and not s.socket_gone and s.link != NULL and s.end_reason == ZX_END_NONE:
        inp = zx_link_out(s.link, 1)
        zx_msg_init(&m)
        zx_pipe_write(inp, &m)
        if not s.is_connect:
            zx_store(&s.link.gone[1], 1)
        zx_pipe_flush(inp, s.link)
    return _session_end(s, reason, detail)


# ---------------------------------------------------------------- dispatch

# an fd event of an active raw session
cdef void _raw_event(zx_session *s, int ev) noexcept nogil:
    if ev & ZX_EV_OUT:
        if _raw_write(s) < 0:
            return
    if ev & (ZX_EV_IN | ZX_EV_ERR):
        _raw_input(s)


# a wake-up from the socket's side of the link (ZX_WAKE_READ: it queued bytes to write;
# ZX_WAKE_WRITE: it made room in the inbound pipe; ZX_WAKE_REFUSED: the application
# closed this connection with a zero-length send)
cdef void _raw_activate(zx_session *s, int what) noexcept nogil:
    if what == ZX_WAKE_REFUSED:
        # what was sent before the close still goes out, then the connection ends: the
        # session lingers as if its socket were gone (no reconnect, input is dropped)
        s.socket_gone = True
        if s.state != ZX_S_ACTIVE:
            _session_end(s, ZX_END_ENDPOINT_CLOSED, 0)
        else:
            _raw_write(s)
    elif what == ZX_WAKE_READ:
        s.out_idle = False
        if s.state == ZX_S_ACTIVE:
            _raw_write(s)
    elif s.in_blocked and s.state == ZX_S_ACTIVE:
        s.in_blocked = False
        _raw_input(s)


# ---------------------------------------------------------------- input

# room for the next read: the shared receive block is reused when nobody holds a slice of
# it any more, else replaced (messages over large reads are slices of it)
cdef bint _raw_rbuf(zx_session *s) noexcept nogil:
    cdef zx_block *b
    if s.rbuf != NULL and ZX_RBUF_SIZE - s.rend >= RAW_MIN_READ:
        return True
    if s.rbuf != NULL and zx_load(&s.rbuf.refs) == 1:
        s.rstart = s.rend = 0
        return True
    b = zx_block_new(ZX_RBUF_SIZE)
    if b == NULL:
        return False
    if s.rbuf != NULL:
        zx_block_unref(s.rbuf)
    s.rbuf = b
    s.rstart = s.rend = 0
    return True


# read (up to 4 times) and hand each read to the socket as one message; -1 if the session
# ended
cdef int _raw_input(zx_session *s) noexcept nogil:
    cdef zx_pipe *inp = zx_link_out(s.link, 1)
    cdef unsigned char *p
    cdef ssize_t n
    cdef int err
    cdef int reads = 0
    cdef zx_msg m
    while reads < 4:
        if not s.socket_gone and not zx_pipe_check_write(inp):
            # inbound pipe at HWM: stop reading, TCP pushes back on the peer
            s.in_blocked = True
            _session_set_events(s, s.events & ~ZX_EV_IN)
            return 0
        if not _raw_rbuf(s):
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        p = s.rbuf.data + s.rend
        n = zx_recv(s.fd, p, ZX_RBUF_SIZE - s.rend)
        if n == 0:
            return _raw_lost(s, ZX_END_PEER_CLOSED, 0)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                break
            return _raw_lost(s, ZX_END_IO_ERROR, err)
        reads += 1
        s.rend += n
        s.rstart = s.rend
        if s.socket_gone:
            continue                  # the application closed it: nobody reads this
        if n <= ZX_VSM_SIZE:
            zx_msg_init_copy(&m, p, n)
        else:
            zx_msg_init_slice(&m, s.rbuf, p, n)
        if zx_pipe_write(inp, &m) < 0:
            zx_msg_close(&m)
            return _session_end(s, ZX_END_NO_MEMORY, ENOMEM)
        zx_pipe_flush(inp, s.link)
    if s.events >= 0 and not (s.events & ZX_EV_IN):
        _session_set_events(s, s.events | ZX_EV_IN)
    return 0


# ---------------------------------------------------------------- output

# messages from the outbound pipe into the write stage (small ones copied, large ones
# held and written from their own buffers)
cdef void _raw_fill(zx_session *s) noexcept nogil:
    cdef zx_pipe *outp = zx_link_in(s.link, 1)
    cdef zx_msg m
    while s.iov_n < ZX_IOV_MAX - 1 and s.stage_len + RAW_SMALL <= ZX_STAGE_SIZE:
        if not zx_pipe_read(outp, &m, s.link):
            s.out_idle = True
            return
        if m.size == 0:
            zx_msg_close(&m)          # nothing to write (the room turns "close" into a wake-up)
        elif m.size <= RAW_SMALL:
            _stage_raw(s, zx_msg_data(&m), m.size)
            zx_msg_close(&m)
        else:
            s.iov[s.iov_n].iov_base = zx_msg_data(&m)
            s.iov[s.iov_n].iov_len = m.size
            s.iov_n += 1
            memcpy(&s.held[s.held_n], &m, sizeof(zx_msg))
            s.held_n += 1


# write what is staged and what the outbound pipe holds until the kernel pushes back;
# -1 if the session ended (a write error, or a closing connection's output has drained)
cdef int _raw_write(zx_session *s) noexcept nogil:
    cdef ssize_t n
    cdef int err
    cdef int rounds = 0
    if s.state != ZX_S_ACTIVE or s.fd < 0:
        return 0
    while rounds < 16:
        rounds += 1
        if s.iov_i >= s.iov_n:
            _session_reset_output(s)
            if s.link != NULL and not s.out_idle:
                _raw_fill(s)
            if s.iov_n == 0:
                break
        n = zx_sendv(s.fd, &s.iov[s.iov_i], s.iov_n - s.iov_i)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                _session_set_events(s, s.events | ZX_EV_OUT)
                return 0
            return _raw_lost(s, ZX_END_IO_ERROR, err)
        while n > 0 and s.iov_i < s.iov_n:
            if <size_t>n >= s.iov[s.iov_i].iov_len:
                n -= s.iov[s.iov_i].iov_len
                s.iov_i += 1
            else:
                s.iov[s.iov_i].iov_base = <unsigned char *>s.iov[s.iov_i].iov_base + n
                s.iov[s.iov_i].iov_len -= n
                n = 0
    if s.iov_i >= s.iov_n:
        _session_reset_output(s)
        if s.out_idle:
            _session_set_events(s, s.events & ~ZX_EV_OUT)
            return _session_check_linger(s)
    _session_set_events(s, s.events | ZX_EV_OUT)
    return 0
