# The I/O thread's poll loop and the per-connection ZMTP engine. Everything here runs
# without the GIL and touches no Python object: the app threads talk to it only through
# links (pipes) and mailboxes.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport malloc, free, calloc, rand
from libc.string cimport memcpy, memset, memmove
from zmqx._core.atomic cimport zx_load, zx_store
from zmqx._core.platform cimport *
from zmqx._core.mailbox cimport *
from zmqx._core.pipe cimport *
from zmqx._core.msg cimport *
from zmqx._core.zmtp cimport *

cdef enum:
    SMALL_BODY = 2048          # bodies up to this are copied into the write stage
    LARGE_BODY = 32768         # bodies from this size are read straight into their own block
    MAX_EVENTS = 64


# ---------------------------------------------------------------- construction

cdef zx_iothread *zx_iothread_start() except NULL:
    cdef zx_iothread *io = <zx_iothread *>calloc(1, sizeof(zx_iothread))
    if io == NULL:
        raise MemoryError()
    io.kind = ZX_OBJ_IOTHREAD
    if zx_mailbox_init(&io.mb) < 0:
        free(io)
        raise OSError("cannot create the I/O thread's mailbox")
    if zx_poller_open(&io.poller) < 0:
        zx_mailbox_destroy(&io.mb)
        free(io)
        raise OSError("cannot create the I/O thread's poller")
    zx_poller_add(&io.poller, io.mb.sig.r, ZX_EV_IN, io)
    if zx_thread_start(&io.thread, _io_main, io) < 0:
        zx_poller_close(&io.poller)
        zx_mailbox_destroy(&io.mb)
        free(io)
        raise OSError("cannot start the I/O thread")
    io.started = True
    return io


cdef void zx_iothread_stop(zx_iothread *io) noexcept nogil:
    zx_mailbox_post(&io.mb, ZX_CMD_STOP, NULL, 0)
    zx_thread_join(io.thread)
    zx_poller_close(&io.poller)
    zx_mailbox_destroy(&io.mb)
    free(io)


cdef void zx_io_wake(void *arg, void *link, int what) noexcept nogil:
    # a pipe needs the session's attention; the command carries a link reference
    zx_link_ref(<zx_link *>link)
    zx_mailbox_post(&(<zx_iothread *>arg).mb, ZX_CMD_ACTIVATE, link, what)


cdef zx_session *_session_alloc(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                int64_t endpoint_id) noexcept nogil:
    cdef zx_session *s = <zx_session *>calloc(1, sizeof(zx_session))
    if s == NULL:
        return NULL
    s.stage = <unsigned char *>malloc(ZX_STAGE_SIZE)
    if s.stage == NULL:
        free(s)
        return NULL
    s.kind = ZX_OBJ_SESSION
    s.io = io
    s.sb = sb
    zx_sockbase_ref(sb)
    s.endpoint_id = endpoint_id
    memcpy(&s.opts, opts, sizeof(zx_opts))
    s.fd = -1
    s.events = -1
    s.linger_at = -1
    s.cur_ivl = opts.reconnect_ivl
    zx_msg_init(&s.big)
    return s


cdef zx_session *zx_session_new_connect(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                        int64_t endpoint_id) noexcept nogil:
    cdef zx_session *s = _session_alloc(io, sb, opts, endpoint_id)
    if s != NULL:
        s.is_connect = True
    return s


cdef zx_listener *zx_listener_new(zx_iothread *io, zx_sockbase *sb, zx_opts *opts,
                                  int fd, int64_t endpoint_id) noexcept nogil:
    cdef zx_listener *l = <zx_listener *>calloc(1, sizeof(zx_listener))
    if l == NULL:
        return NULL
    l.kind = ZX_OBJ_LISTENER
    l.fd = fd
    l.io = io
    l.sb = sb
    zx_sockbase_ref(sb)
    l.endpoint_id = endpoint_id
    memcpy(&l.opts, opts, sizeof(zx_opts))
    return l


# ---------------------------------------------------------------- the loop

cdef void _io_main(void *arg) noexcept nogil:
    cdef zx_iothread *io = <zx_iothread *>arg
    cdef zx_event events[MAX_EVENTS]
    cdef int n, i, kind, timeout
    cdef int64_t now
    while True:
        if io.stopping and io.sessions == NULL:
            break
        timeout = _next_timeout(io)
        n = zx_poller_wait(&io.poller, events, MAX_EVENTS, timeout)
        for i in range(n):
            kind = (<int *>events[i].ptr)[0]
            if kind == ZX_OBJ_IOTHREAD:
                zx_sig_drain(&io.mb.sig)
                _process_commands(io)
            elif kind == ZX_OBJ_LISTENER:
                if not (<zx_listener *>events[i].ptr).dead:
                    _listener_accept(<zx_listener *>events[i].ptr)
            elif kind == ZX_OBJ_SESSION:
                # an earlier event of this batch may have destroyed it
                if not (<zx_session *>events[i].ptr).dead:
                    _session_event(<zx_session *>events[i].ptr, events[i].events)
        _run_timers(io)
        _free_zombies(io)
    # stopped: close whatever listeners remain
    while io.listeners != NULL:
        _listener_close(io, io.listeners)
    _free_zombies(io)


cdef void _free_zombies(zx_iothread *io) noexcept nogil:
    cdef zx_session *s
    cdef zx_listener *l
    while io.zombies != NULL:
        s = io.zombies
        io.zombies = s.next
        free(s.stage)
        free(s)
    while io.dead_listeners != NULL:
        l = io.dead_listeners
        io.dead_listeners = l.next
        free(l)


cdef inline void _earliest(int64_t *best, int64_t t) noexcept nogil:
    if t > 0 and (best[0] <= 0 or t < best[0]):
        best[0] = t


cdef int64_t _session_deadline(zx_session *s) noexcept nogil:
    cdef int64_t best = 0
    _earliest(&best, s.timer_at)
    if s.socket_gone and s.linger_at >= 0:
        _earliest(&best, s.linger_at if s.linger_at > 0 else 1)
    if s.state == ZX_S_ACTIVE:
        _earliest(&best, s.next_ping)
        _earliest(&best, s.ping_deadline)
        _earliest(&best, s.ttl_deadline)
    return best


cdef int _next_timeout(zx_iothread *io) noexcept nogil:
    cdef zx_session *s = io.sessions
    cdef int64_t best = 0
    cdef int64_t now
    while s != NULL:
        _earliest(&best, _session_deadline(s))
        s = s.next
    if best <= 0:
        return -1
    now = zx_now_ms()
    if best <= now:
        return 0
    if best - now > 1000000:
        return 1000000
    return <int>(best - now)


cdef void _run_timers(zx_iothread *io) noexcept nogil:
    cdef zx_session *s = io.sessions
    cdef zx_session *nxt
    cdef int64_t now = zx_now_ms()
    while s != NULL:
        nxt = s.next
        if s.socket_gone and s.linger_at >= 0 and s.linger_at <= now:
            _session_destroy(s)
        elif s.timer_at > 0 and s.timer_at <= now:
            s.timer_at = 0
            if s.state == ZX_S_WAIT:
                _session_connect(s)
            elif s.state == ZX_S_HANDSHAKE or s.state == ZX_S_CONNECTING:
                _session_fail(s)          # handshake or connect timed out
        elif s.state == ZX_S_ACTIVE:
            if (s.ping_deadline > 0 and s.ping_deadline <= now) or \
                    (s.ttl_deadline > 0 and s.ttl_deadline <= now):
                _session_fail(s)          # the peer went silent
            elif s.next_ping > 0 and s.next_ping <= now:
                _session_send_ping(s, now)
        s = nxt


cdef void _session_send_ping(zx_session *s, int64_t now) noexcept nogil:
    cdef unsigned char buf[32]
    cdef size_t k
    cdef int ttl = s.opts.heartbeat_ttl // 100
    if ttl > 65535:
        ttl = 65535
    k = zx_ping_encode(buf, sizeof(buf), <uint16_t>ttl, NULL, 0)
    _stage_raw(s, buf, k)
    s.next_ping = now + s.opts.heartbeat_ivl
    if s.ping_deadline == 0:
        s.ping_deadline = now + (s.opts.heartbeat_timeout if s.opts.heartbeat_timeout > 0
                                 else s.opts.heartbeat_ivl)
    _session_write(s)


cdef void _process_commands(zx_iothread *io) noexcept nogil:
    cdef zx_cmd cmd
    cdef zx_link *link
    cdef zx_session *s
    cdef zx_session *nxt
    cdef zx_listener *l
    cdef zx_listener *lnext
    cdef zx_sockbase *sb
    while zx_mailbox_take(&io.mb, &cmd):
        if cmd.type == ZX_CMD_ACTIVATE:
            link = <zx_link *>cmd.ptr
            s = <zx_session *>link.owner[1]
            if s != NULL and s.link == link:
                if cmd.arg == ZX_WAKE_READ:
                    s.out_idle = False
                    if s.state == ZX_S_ACTIVE:
                        _session_write(s)
                else:
                    if s.in_blocked and s.state == ZX_S_ACTIVE:
                        s.in_blocked = False
                        _session_input(s, False)
            zx_link_unref(link)
        elif cmd.type == ZX_CMD_ADD_LISTENER:
            l = <zx_listener *>cmd.ptr
            l.next = io.listeners
            io.listeners = l
            zx_poller_add(&io.poller, l.fd, ZX_EV_IN, l)
        elif cmd.type == ZX_CMD_ADD_SESSION:
            s = <zx_session *>cmd.ptr
            _session_link_in(io, s)
            _session_connect(s)
        elif cmd.type == ZX_CMD_CLOSE_ENDPOINT:
            sb = <zx_sockbase *>cmd.ptr
            l = io.listeners
            while l != NULL:
                lnext = l.next
                if l.sb == sb and l.endpoint_id == cmd.arg:
                    _listener_close(io, l)
                l = lnext
            s = io.sessions
            while s != NULL:
                nxt = s.next
                if s.sb == sb and s.endpoint_id == cmd.arg:
                    _session_destroy(s)
                s = nxt
            zx_sockbase_unref(sb)
        elif cmd.type == ZX_CMD_SOCKET_CLOSED:
            sb = <zx_sockbase *>cmd.ptr
            l = io.listeners
            while l != NULL:
                lnext = l.next
                if l.sb == sb:
                    _listener_close(io, l)
                l = lnext
            s = io.sessions
            while s != NULL:
                nxt = s.next
                if s.sb == sb:
                    s.socket_gone = True
                    if cmd.arg >= 0:
                        s.linger_at = zx_now_ms() + cmd.arg
                    else:
                        s.linger_at = -1
                    _session_check_linger(s)
                s = nxt
            zx_sockbase_unref(sb)
        elif cmd.type == ZX_CMD_STOP:
            io.stopping = True
            while io.listeners != NULL:
                _listener_close(io, io.listeners)


# ---------------------------------------------------------------- listeners

cdef void _listener_close(zx_iothread *io, zx_listener *l) noexcept nogil:
    cdef zx_listener **pp = &io.listeners
    cdef zx_session *s
    cdef zx_session *nxt
    while pp[0] != NULL:
        if pp[0] == l:
            pp[0] = l.next
            break
        pp = &pp[0].next
    zx_poller_del(&io.poller, l.fd)
    close(l.fd)
    # connections still handshaking die with their listener
    s = io.sessions
    while s != NULL:
        nxt = s.next
        if not s.is_connect and s.sb == l.sb and s.endpoint_id == l.endpoint_id and s.link == NULL:
            _session_destroy(s)
        s = nxt
    zx_sockbase_unref(l.sb)
    l.dead = True
    l.next = io.dead_listeners
    io.dead_listeners = l


cdef void _set_sockopts(int fd, zx_opts *o, int family) noexcept nogil:
    cdef int one = 1
    cdef int v
    if family == AF_INET or family == AF_INET6:
        setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(int))
        if o.tcp_keepalive == 1:
            setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(int))
            if o.tcp_keepalive_idle > 0:
                v = o.tcp_keepalive_idle
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &v, sizeof(int))
            if o.tcp_keepalive_cnt > 0:
                v = o.tcp_keepalive_cnt
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &v, sizeof(int))
            if o.tcp_keepalive_intvl > 0:
                v = o.tcp_keepalive_intvl
                setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &v, sizeof(int))
    if o.sndbuf > 0:
        v = o.sndbuf
        setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof(int))
    if o.rcvbuf > 0:
        v = o.rcvbuf
        setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &v, sizeof(int))


cdef void _listener_accept(zx_listener *l) noexcept nogil:
    cdef int fd
    cdef zx_session *s
    cdef sockaddr_storage ss
    cdef socklen_t sl
    cdef int k
    for k in range(64):
        sl = sizeof(sockaddr_storage)
        fd = accept4(l.fd, <sockaddr *>&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC)
        if fd < 0:
            return
        if l.sb.closed:
            close(fd)
            continue
        _set_sockopts(fd, &l.opts, ss.ss_family)
        s = _session_alloc(l.io, l.sb, &l.opts, l.endpoint_id)
        if s == NULL:
            close(fd)
            continue
        s.is_connect = False
        s.fd = fd
        s.family = ss.ss_family
        _session_link_in(l.io, s)
        _session_start_handshake(s)


# ---------------------------------------------------------------- sessions

cdef void _session_link_in(zx_iothread *io, zx_session *s) noexcept nogil:
    s.prev = NULL
    s.next = io.sessions
    if io.sessions != NULL:
        io.sessions.prev = s
    io.sessions = s


cdef void _session_set_events(zx_session *s, int ev) noexcept nogil:
    if s.fd < 0 or ev == s.events:
        return
    if s.events == -1:
        zx_poller_add(&s.io.poller, s.fd, ev, s)
    else:
        zx_poller_mod(&s.io.poller, s.fd, ev, s)
    s.events = ev


cdef void _session_connect(zx_session *s) noexcept nogil:
    cdef int rc
    s.fd = socket(s.family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0)
    if s.fd < 0:
        _session_schedule_reconnect(s)
        return
    _set_sockopts(s.fd, &s.opts, s.family)
    s.events = -1
    rc = connect(s.fd, <sockaddr *>&s.addr, s.addrlen)
    if rc == 0:
        _session_start_handshake(s)
        return
    if zx_errno() == EINPROGRESS:
        s.state = ZX_S_CONNECTING
        if s.opts.connect_timeout > 0:
            s.timer_at = zx_now_ms() + s.opts.connect_timeout
        _session_set_events(s, ZX_EV_OUT)
        return
    close(s.fd)
    s.fd = -1
    _session_schedule_reconnect(s)


cdef void _session_schedule_reconnect(zx_session *s) noexcept nogil:
    cdef int ivl = s.cur_ivl
    s.state = ZX_S_WAIT
    if ivl < 0:
        return                      # reconnect disabled: wait for the socket to go away
    if ivl == 0:
        ivl = 1
    s.timer_at = zx_now_ms() + ivl + (rand() % ivl if ivl > 1 else 0)
    if s.opts.reconnect_ivl_max > s.opts.reconnect_ivl and s.cur_ivl > 0:
        s.cur_ivl = s.cur_ivl * 2
        if s.cur_ivl > s.opts.reconnect_ivl_max:
            s.cur_ivl = s.opts.reconnect_ivl_max


cdef void _session_start_handshake(zx_session *s) noexcept nogil:
    zx_handshake_init(&s.hs, s.opts.socktype, s.opts.identity, s.opts.identity_len)
    s.hs_sent = 0
    s.state = ZX_S_HANDSHAKE
    s.rstart = s.rend = 0
    s.in_more = False
    s.in_blocked = False
    if s.opts.handshake_ivl > 0:
        s.timer_at = zx_now_ms() + s.opts.handshake_ivl
    else:
        s.timer_at = 0
    _session_set_events(s, ZX_EV_IN | ZX_EV_OUT)
    if _session_hs_write(s) < 0:
        _session_fail(s)


# write pending handshake bytes; returns -1 if the connection failed
cdef int _session_hs_write(zx_session *s) noexcept nogil:
    cdef ssize_t n
    while s.hs_sent < s.hs.outlen:
        n = send(s.fd, s.hs.out + s.hs_sent, s.hs.outlen - s.hs_sent, MSG_NOSIGNAL)
        if n < 0:
            if zx_errno() == EINTR:
                continue
            if zx_errno() == EAGAIN or zx_errno() == EWOULDBLOCK:
                return 0
            return -1
        s.hs_sent += n
    return 0


cdef void _session_event(zx_session *s, int ev) noexcept nogil:
    cdef int err
    if s.state == ZX_S_CONNECTING:
        err = zx_sock_error(s.fd)
        if err != 0 or (ev & ZX_EV_ERR):
            _session_fail(s)
            return
        _session_start_handshake(s)
        return
    if s.state == ZX_S_HANDSHAKE:
        if ev & ZX_EV_OUT:
            if _session_hs_write(s) < 0:
                _session_fail(s)
                return
            if s.hs_sent >= s.hs.outlen:
                _session_set_events(s, ZX_EV_IN)
        if ev & (ZX_EV_IN | ZX_EV_ERR):
            _session_input(s, True)
        return
    if s.state == ZX_S_ACTIVE:
        if ev & ZX_EV_OUT:
            _session_write(s)
            if s.dead or s.fd < 0 or s.state != ZX_S_ACTIVE:
                return
        if ev & (ZX_EV_IN | ZX_EV_ERR):
            _session_input(s, True)


cdef bint _ensure_rbuf(zx_session *s) noexcept nogil:
    # the receive buffer is a shared block: large frames are sliced out of it, so a block
    # still referenced by queued messages is replaced rather than overwritten
    cdef zx_block *b
    cdef size_t left
    if s.rbuf != NULL and s.rend < ZX_RBUF_SIZE:
        return True
    left = 0 if s.rbuf == NULL else s.rend - s.rstart
    if s.rbuf != NULL and zx_load(&s.rbuf.refs) == 1:
        if left and s.rstart:
            memmove(s.rbuf.data, s.rbuf.data + s.rstart, left)
        s.rstart = 0
        s.rend = left
        return True
    b = zx_block_new(ZX_RBUF_SIZE)
    if b == NULL:
        return False
    if left:
        memcpy(b.data, s.rbuf.data + s.rstart, left)
    if s.rbuf != NULL:
        zx_block_unref(s.rbuf)
    s.rbuf = b
    s.rstart = 0
    s.rend = left
    return True


cdef void _session_input(zx_session *s, bint do_read) noexcept nogil:
    cdef ssize_t n
    cdef int rc
    cdef size_t consumed
    cdef int reads = 0
    while True:
        if s.dead or s.fd < 0:
            return                  # destroyed on the way (e.g. lingering and drained)
        if s.state == ZX_S_ACTIVE:
            if s.big_active:
                pass
            else:
                rc = _session_decode(s)
                if s.dead:
                    return
                if rc < 0:
                    _session_fail(s)
                    return
                if rc == 1:
                    # inbound pipe at HWM: stop reading, TCP pushes back on the peer
                    s.in_blocked = True
                    _session_set_events(s, s.events & ~ZX_EV_IN)
                    return
                if s.events >= 0 and not (s.events & ZX_EV_IN):
                    _session_set_events(s, s.events | ZX_EV_IN)
        if not do_read or reads >= 4:
            return
        reads += 1
        if s.big_active:
            n = recv(s.fd, zx_msg_data(&s.big) + s.big_filled, s.big.size - s.big_filled, 0)
        else:
            if not _ensure_rbuf(s):
                _session_fail(s)
                return
            # after a large frame, read just enough for the next header so its body goes
            # straight into its own block instead of through the shared buffer
            n = recv(s.fd, s.rbuf.data + s.rend,
                     (4096 if s.expect_big and ZX_RBUF_SIZE - s.rend > 4096
                      else ZX_RBUF_SIZE - s.rend), 0)
        if n == 0:
            _session_fail(s)
            return
        if n < 0:
            if zx_errno() == EINTR:
                continue
            if zx_errno() == EAGAIN or zx_errno() == EWOULDBLOCK:
                return
            _session_fail(s)
            return
        s.ping_deadline = 0
        s.ttl_deadline = 0
        if s.big_active:
            s.big_filled += n
            if s.big_filled == s.big.size:
                s.big_active = False
                s.expect_big = True
                if s.big_command:
                    s.big_command = False
                    rc = _session_command(s, zx_msg_data(&s.big), s.big.size)
                    zx_msg_close(&s.big)
                    if s.dead:
                        return
                    if rc < 0:
                        _session_fail(s)
                        return
                elif _deliver(s, &s.big) < 0:
                    _session_fail(s)
                    return
                zx_pipe_flush(zx_link_out(s.link, 1), s.link)
            continue
        s.rend += n
        if s.state == ZX_S_HANDSHAKE:
            rc = zx_handshake_feed(&s.hs, s.rbuf.data + s.rstart, s.rend - s.rstart, &consumed)
            s.rstart += consumed
            if s.hs.outlen > s.hs_sent:
                _session_hs_write(s)
            if rc == ZX_NEED_MORE:
                continue
            if rc != ZX_OK:
                _session_fail(s)
                return
            if _session_handshake_done(s) < 0:
                return
            continue


# returns 0 (need more bytes), 1 (inbound pipe full), -1 (protocol error)
cdef int _session_decode(zx_session *s) noexcept nogil:
    cdef zx_pipe *inp = zx_link_out(s.link, 1)
    cdef const unsigned char *p
    cdef size_t avail
    cdef uint8_t flags
    cdef uint64_t size
    cdef size_t hdrlen
    cdef int rc
    cdef zx_msg m
    cdef int result = 0
    while s.rbuf != NULL and s.rstart < s.rend:
        if not s.in_more and not zx_pipe_check_write(inp):
            result = 1
            break
        p = s.rbuf.data + s.rstart
        avail = s.rend - s.rstart
        rc = zx_frame_header_decode(p, avail, s.opts.maxmsgsize, &flags, &size, &hdrlen)
        if rc == ZX_NEED_MORE:
            break
        if rc != ZX_OK:
            result = -1
            break
        if flags & ZX_FLAG_COMMAND:
            if size + hdrlen > avail:
                if size + hdrlen > ZX_RBUF_SIZE:
                    # a command larger than the buffer (a long SUBSCRIBE topic): read it
                    # into its own block, then handle it
                    if zx_msg_init_size(&s.big, size) < 0:
                        result = -1
                        break
                    memcpy(zx_msg_data(&s.big), p + hdrlen, avail - hdrlen)
                    s.big_filled = avail - hdrlen
                    s.big.flags = 0
                    s.big_command = True
                    s.big_active = True
                    s.rstart = s.rend
                break
            if _session_command(s, p + hdrlen, size) < 0:
                result = -1
                break
            if s.dead:
                return 0
            s.rstart += hdrlen + size
            continue
        if size + hdrlen <= avail:
            s.expect_big = False
            if size <= ZX_VSM_SIZE:
                zx_msg_init_copy(&m, p + hdrlen, size)
            else:
                zx_msg_init_slice(&m, s.rbuf, <unsigned char *>p + hdrlen, size)
            if flags & ZX_FLAG_MORE:
                m.flags = ZX_MSG_MORE
            s.rstart += hdrlen + size
            if _deliver(s, &m) < 0:
                result = -1
                break
            continue
        if size >= LARGE_BODY or size + hdrlen > ZX_RBUF_SIZE:
            # read the rest of this body straight into its own block: no second copy
            if zx_msg_init_size(&s.big, size) < 0:
                result = -1
                break
            memcpy(zx_msg_data(&s.big), p + hdrlen, avail - hdrlen)
            s.big_filled = avail - hdrlen
            s.big.flags = ZX_MSG_MORE if flags & ZX_FLAG_MORE else 0
            s.big_active = True
            s.rstart = s.rend
        break
    zx_pipe_flush(inp, s.link)
    return result


cdef int _deliver(zx_session *s, zx_msg *m) noexcept nogil:
    cdef zx_pipe *inp = zx_link_out(s.link, 1)
    s.in_more = (m.flags & ZX_MSG_MORE) != 0
    if s.socket_gone:
        zx_msg_close(m)
        return 0
    if zx_pipe_write(inp, m) < 0:
        zx_msg_close(m)
        return -1
    return 0


cdef int _session_command(zx_session *s, const unsigned char *body, size_t n) noexcept nogil:
    cdef const unsigned char *name
    cdef const unsigned char *data
    cdef const unsigned char *ctx
    cdef size_t namelen, datalen, ctxlen, k
    cdef uint16_t ttl
    cdef unsigned char buf[64]
    cdef zx_msg m
    if zx_command_split(body, n, &name, &namelen, &data, &datalen) != ZX_OK:
        return -1
    if zx_command_is(name, namelen, "PING"):
        if zx_ping_decode(data, datalen, &ttl, &ctx, &ctxlen) != ZX_OK:
            return -1
        if ttl > 0 and s.ttl_deadline == 0:
            s.ttl_deadline = zx_now_ms() + <int64_t>ttl * 100
        k = zx_pong_encode(buf, sizeof(buf), ctx, ctxlen)
        _stage_raw(s, buf, k)
        _session_write(s)
        return 0
    if zx_command_is(name, namelen, "ERROR"):
        return -1
    if zx_command_is(name, namelen, "SUBSCRIBE") or zx_command_is(name, namelen, "CANCEL"):
        # subscriptions reach a PUB/XPUB socket as messages: 1 or 0, then the topic
        if s.opts.socktype != ZX_PUB and s.opts.socktype != ZX_XPUB:
            return 0
        if zx_msg_init_size(&m, datalen + 1) < 0:
            return -1
        zx_msg_data(&m)[0] = 1 if namelen == 9 else 0
        if datalen:
            memcpy(zx_msg_data(&m) + 1, data, datalen)
        if _deliver(s, &m) < 0:
            return -1
        return 0
    # PONG, and commands we do not know: ignored (ZMTP says unknown commands are not fatal)
    return 0


cdef int _session_handshake_done(zx_session *s) noexcept nogil:
    # returns -1 if the session was destroyed
    cdef zx_link *link
    cdef int64_t now = zx_now_ms()
    s.timer_at = 0
    s.cur_ivl = s.opts.reconnect_ivl
    if s.hs_sent < s.hs.outlen:
        _stage_raw(s, s.hs.out + s.hs_sent, s.hs.outlen - s.hs_sent)
        s.hs_sent = s.hs.outlen
    if s.link == NULL:
        if s.sb.closed:
            _session_destroy(s)
            return -1
        # accepted (or IMMEDIATE) connection: the link is born now and handed to the socket
        link = zx_link_new(s.opts.sndhwm, s.opts.rcvhwm)
        if link == NULL:
            _session_destroy(s)
            return -1
        link.socktype[0] = s.opts.socktype
        memcpy(link.rid[0], s.opts.identity, s.opts.identity_len)
        link.rid_len[0] = s.opts.identity_len
        _link_set_peer(s, link)
        link.owner[1] = s
        link.user = s.endpoint_id
        zx_link_set_waker(link, 1, zx_io_wake, s.io, NULL)
        # the socket's side can be woken before it attaches the link
        zx_sockbase_ref(s.sb)
        zx_link_set_waker(link, 0, zx_sockbase_wake, s.sb, zx_sockbase_unref)
        s.link = link
        if s.is_connect and s.opts.probe_router:
            # libzmq queues the probe at connect(); a link born at the handshake sends it
            # here, before the socket has even seen the link
            _stage_raw(s, <const unsigned char *>"\x00\x00", 2)
            link.probed = True
        if zx_mailbox_post(&s.sb.mb, ZX_CMD_ATTACH, link, 0) < 0:
            # the socket closed meanwhile: drop its share of the link, then ourselves
            zx_store(&link.gone[0], 1)
            zx_link_unref(link)
            s.socket_gone = True
            _session_destroy(s)
            return -1
    else:
        _link_set_peer(s, s.link)
        if s.had_connection:
            # the same link survived a reconnect: subscribers must resend their topics
            zx_link_ref(s.link)
            if zx_mailbox_post(&s.sb.mb, ZX_CMD_HICCUP, s.link, 0) < 0:
                zx_link_unref(s.link)
    s.had_connection = True
    s.state = ZX_S_ACTIVE
    s.out_idle = False
    s.ping_deadline = 0
    s.ttl_deadline = 0
    s.next_ping = now + s.opts.heartbeat_ivl if s.opts.heartbeat_ivl > 0 else 0
    _session_set_events(s, ZX_EV_IN)
    _session_write(s)
    if s.dead:
        return -1
    return 0


cdef void _link_set_peer(zx_session *s, zx_link *link) noexcept nogil:
    link.socktype[1] = s.hs.peer_socktype
    if s.opts.connect_rid_len:
        memcpy(link.rid[1], s.opts.connect_rid, s.opts.connect_rid_len)
        link.rid_len[1] = s.opts.connect_rid_len
    else:
        memcpy(link.rid[1], s.hs.peer_identity, s.hs.peer_identity_len)
        link.rid_len[1] = s.hs.peer_identity_len


# ---------------------------------------------------------------- output

cdef void _stage_raw(zx_session *s, const unsigned char *data, size_t n) noexcept nogil:
    # small bytes (headers, copied bodies, commands) go into the stage; contiguous stage
    # segments share one iovec
    cdef iovec *last
    if s.stage_len + n > ZX_STAGE_SIZE:
        return
    memcpy(s.stage + s.stage_len, data, n)
    if s.iov_n > 0:
        last = &s.iov[s.iov_n - 1]
        if <unsigned char *>last.iov_base + last.iov_len == s.stage + s.stage_len:
            last.iov_len += n
            s.stage_len += n
            return
    s.iov[s.iov_n].iov_base = s.stage + s.stage_len
    s.iov[s.iov_n].iov_len = n
    s.iov_n += 1
    s.stage_len += n


cdef bint _out_drained(zx_session *s) noexcept nogil:
    if s.iov_i < s.iov_n:
        return False
    if s.link == NULL:
        return True
    return not zx_pipe_readable(zx_link_in(s.link, 1))


cdef void _session_reset_output(zx_session *s) noexcept nogil:
    cdef int i
    for i in range(s.held_n):
        zx_msg_close(&s.held[i])
    s.held_n = 0
    s.iov_n = 0
    s.iov_i = 0
    s.stage_len = 0


cdef void _session_fill(zx_session *s) noexcept nogil:
    cdef zx_pipe *outp = zx_link_in(s.link, 1)
    cdef zx_msg m
    cdef unsigned char hdr[9]
    cdef size_t hl
    # room for the largest piece one message stages: header, command name, small body
    while s.iov_n < ZX_IOV_MAX - 4 and s.stage_len + 64 + SMALL_BODY <= ZX_STAGE_SIZE:
        if not zx_pipe_read(outp, &m, s.link):
            s.out_idle = True
            return
        if s.out_drop:
            s.out_drop = (m.flags & ZX_MSG_MORE) != 0
            zx_msg_close(&m)
            continue
        s.out_more = (m.flags & ZX_MSG_MORE) != 0
        if (m.flags & ZX_MSG_SUBSCRIPTION) and s.hs.peer_minor >= 1 and m.size >= 1 \
                and not s.out_more:
            _stage_subscription(s, &m)
            continue
        hl = zx_frame_header_encode(hdr, ZX_FLAG_MORE if s.out_more else 0, m.size)
        _stage_raw(s, hdr, hl)
        if m.size <= SMALL_BODY:
            if m.size:
                _stage_raw(s, zx_msg_data(&m), m.size)
            zx_msg_close(&m)
        else:
            s.iov[s.iov_n].iov_base = zx_msg_data(&m)
            s.iov[s.iov_n].iov_len = m.size
            s.iov_n += 1
            memcpy(&s.held[s.held_n], &m, sizeof(zx_msg))
            s.held_n += 1


cdef void _stage_subscription(zx_session *s, zx_msg *m) noexcept nogil:
    # 3.1: SUBSCRIBE/CANCEL commands; the topic follows the name (3.0 peers get the
    # message form, first byte 1 or 0, unchanged)
    cdef unsigned char hdr[9]
    cdef unsigned char *body = zx_msg_data(m)
    cdef bint sub = body[0] == 1
    cdef size_t namelen = 9 if sub else 6
    cdef size_t topic = m.size - 1
    cdef size_t hl = zx_frame_header_encode(hdr, ZX_FLAG_COMMAND, 1 + namelen + topic)
    cdef unsigned char nl = <unsigned char>namelen
    _stage_raw(s, hdr, hl)
    _stage_raw(s, &nl, 1)
    _stage_raw(s, <const unsigned char *>("SUBSCRIBE" if sub else "CANCEL"), namelen)
    if topic <= SMALL_BODY:
        if topic:
            _stage_raw(s, body + 1, topic)
        zx_msg_close(m)
    else:
        s.iov[s.iov_n].iov_base = body + 1
        s.iov[s.iov_n].iov_len = topic
        s.iov_n += 1
        memcpy(&s.held[s.held_n], m, sizeof(zx_msg))
        s.held_n += 1


cdef void _session_write(zx_session *s) noexcept nogil:
    cdef ssize_t n
    cdef msghdr mh
    cdef int rounds = 0
    if s.state != ZX_S_ACTIVE or s.fd < 0:
        return
    while rounds < 16:
        rounds += 1
        if s.iov_i >= s.iov_n:
            _session_reset_output(s)
            if s.link != NULL and not s.out_idle:
                _session_fill(s)
            if s.iov_n == 0:
                break
        memset(&mh, 0, sizeof(msghdr))
        mh.msg_iov = &s.iov[s.iov_i]
        mh.msg_iovlen = s.iov_n - s.iov_i
        n = sendmsg(s.fd, &mh, MSG_NOSIGNAL)
        if n < 0:
            if zx_errno() == EINTR:
                continue
            if zx_errno() == EAGAIN or zx_errno() == EWOULDBLOCK:
                _session_set_events(s, s.events | ZX_EV_OUT)
                return
            _session_fail(s)
            return
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
    if s.iov_i >= s.iov_n and s.out_idle:
        _session_set_events(s, s.events & ~ZX_EV_OUT)
        if s.socket_gone:
            _session_check_linger(s)
    else:
        _session_set_events(s, s.events | ZX_EV_OUT)


cdef void _session_check_linger(zx_session *s) noexcept nogil:
    if not s.socket_gone:
        return
    if s.link == NULL or s.linger_at == 0 or (s.linger_at > 0 and s.linger_at <= zx_now_ms()):
        _session_destroy(s)
        return
    if _out_drained(s):
        _session_destroy(s)


# ---------------------------------------------------------------- teardown

cdef void _session_close_fd(zx_session *s) noexcept nogil:
    if s.fd >= 0:
        if s.events != -1:
            zx_poller_del(&s.io.poller, s.fd)
        close(s.fd)
    s.fd = -1
    s.events = -1
    s.big_active = False
    s.big_command = False
    zx_msg_close(&s.big)
    if s.rbuf != NULL:
        zx_block_unref(s.rbuf)
        s.rbuf = NULL
    s.rstart = s.rend = 0
    if s.link != NULL:
        # a message cut by the disconnect is never delivered in part
        zx_pipe_rollback(zx_link_out(s.link, 1))
        s.in_more = False
        # the rest of an outgoing message cut half-way is dropped
        if s.out_more:
            s.out_drop = True
            s.out_more = False
    _session_reset_output(s)
    s.in_blocked = False
    s.out_idle = False


# the connection failed or the peer misbehaved: reconnect (connect side) or go away
cdef void _session_fail(zx_session *s) noexcept nogil:
    if s.dead:
        return
    _session_close_fd(s)
    s.timer_at = 0
    s.next_ping = s.ping_deadline = s.ttl_deadline = 0
    if s.is_connect:
        if s.socket_gone and (s.linger_at == 0 or _out_drained(s)):
            _session_destroy(s)
            return
        if s.attach_on_handshake and s.link != NULL:
            _session_detach_link(s)
        _session_schedule_reconnect(s)
        return
    _session_destroy(s)


cdef void _session_detach_link(zx_session *s) noexcept nogil:
    # the socket drains what arrived, then drops the link; a new one comes with the
    # next connection
    cdef zx_link *link = s.link
    link.owner[1] = NULL
    zx_store(&link.gone[1], 1)
    if not s.socket_gone:
        zx_mailbox_post(&s.sb.mb, ZX_CMD_TERM, link, 0)
    zx_link_unref(link)
    s.link = NULL
    s.out_more = False
    s.out_drop = False


cdef void _session_destroy(zx_session *s) noexcept nogil:
    cdef zx_iothread *io = s.io
    cdef zx_link *link = s.link
    if s.dead:
        return
    _session_close_fd(s)
    if s.prev != NULL:
        s.prev.next = s.next
    else:
        io.sessions = s.next
    if s.next != NULL:
        s.next.prev = s.prev
    if link != NULL:
        _session_detach_link(s)
    zx_sockbase_unref(s.sb)
    s.dead = True
    s.next = io.zombies
    io.zombies = s
