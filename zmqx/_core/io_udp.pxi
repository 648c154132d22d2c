# udp:// endpoints on the I/O thread (included by io_thread.pyx): the datagram engine of
# RADIO and DISH, in libzmq's wire format (RFC 48): one datagram per message, made of one
# octet giving the group's length, the group, then the body. UDP has no connection, no
# handshake and no push-back, so an endpoint lives from bind/connect to close and never
# reconnects; what does not fit (a full pipe, a kernel that says EAGAIN twice, a datagram
# too short for its own group length) is dropped, as libzmq drops it.
#
# Between the socket and the endpoint the link carries what a ZMTP peer would: RADIO writes
# (group with MORE, body) pairs, which leave as datagrams; DISH writes JOIN/LEAVE messages
# (flagged ZX_MSG_SUBSCRIPTION, 1/0 + group), which this side keeps as the filter applied to
# incoming datagrams, and reads (group, body) pairs. The socket's room filters again, so the
# filter here only saves pipe space and wake-ups.
# The socket side (making the OS socket, the link) is socket_udp.pxi and zmqx/_udp.py.
from libc.string cimport memcmp
from libc.stdlib cimport realloc

cdef zx_udp *zx_udp_new(zx_iothread *io, zx_sockbase *sb, int fd, int64_t endpoint_id,
                        bint sender) noexcept nogil:
    cdef zx_udp *u = <zx_udp *>calloc(1, sizeof(zx_udp))
    if u == NULL:
        return NULL
    u.buf = <unsigned char *>malloc(ZX_UDP_MAX)
    if u.buf == NULL:
        free(u)
        return NULL
    u.kind = ZX_OBJ_UDP
    u.fd = fd
    u.io = io
    u.sb = sb
    zx_sockbase_ref(sb)
    u.endpoint_id = endpoint_id
    u.sender = sender
    u.events = -1
    return u


cdef void _udp_set_events(zx_udp *u, int ev) noexcept nogil:
    if ev == u.events:
        return
    if u.events == -1:
        zx_poller_add(&u.io.poller, u.fd, ev, u)
    else:
        zx_poller_mod(&u.io.poller, u.fd, ev, u)
    u.events = ev


cdef void _udp_add(zx_iothread *io, zx_udp *u) noexcept nogil:
    u.next = io.udps
    io.udps = u
    if u.sender:
        _udp_set_events(u, 0)
        _udp_output(u)             # anything sent before this command arrived
    else:
        _udp_set_events(u, ZX_EV_IN)
        _udp_input(u)


cdef void _udp_event(zx_udp *u, int ev) noexcept nogil:
    cdef int k
    cdef unsigned char junk[16]    # (buf may hold a datagram waiting to go out)
    if ev & ZX_EV_ERR and u.sender:
        # a connected datagram socket reports ICMP errors (nobody listens at the unicast
        # address yet): reading them clears them; the next datagram goes out normally
        for k in range(64):
            if zx_recv(u.fd, junk, sizeof(junk)) < 0:
                break
    if ev & ZX_EV_OUT and u.sender:
        _udp_output(u)
    if ev & (ZX_EV_IN | ZX_EV_ERR) and not u.sender:
        _udp_input(u)


cdef void _udp_activate(zx_udp *u, zx_link *link, int what) noexcept nogil:
    # a pipe woke us: the socket wrote (ZX_WAKE_READ), or read and made room (WRITE)
    if u.dead or u.link != link:
        return
    if what == ZX_WAKE_READ:
        if u.sender:
            _udp_output(u)
        else:
            _udp_read_joins(u)
    elif what == ZX_WAKE_WRITE:
        if u.in_blocked:
            u.in_blocked = False
            _udp_set_events(u, ZX_EV_IN)
            _udp_input(u)
    elif what == ZX_WAKE_REFUSED:
        _udp_destroy(u)


# ---------------------------------------------------------------- DISH: groups

cdef int _udp_group_find(zx_udp *u, const unsigned char *g, size_t n) noexcept nogil:
    cdef int i
    cdef unsigned char *e
    for i in range(u.ngroups):
        e = u.groups + 256 * i
        if e[0] == n and memcmp(e + 1, g, n) == 0:
            return i
    return -1


cdef void _udp_read_joins(zx_udp *u) noexcept nogil:
    # what DISH sent us: JOIN (1 + group) and LEAVE (0 + group); anything else is dropped
    cdef zx_pipe *outp = zx_link_in(u.link, 1)
    cdef zx_msg m
    cdef unsigned char *d
    cdef unsigned char *grown
    cdef size_t n
    cdef int i
    while zx_pipe_read(outp, &m, u.link):
        d = zx_msg_data(&m)
        n = m.size - 1 if m.size >= 1 else 0
        if (m.flags & ZX_MSG_SUBSCRIPTION) and m.size >= 1 and n <= ZX_GROUP_MAX:
            i = _udp_group_find(u, d + 1, n)
            if d[0] == 1 and i < 0:
                if u.ngroups == u.capgroups:
                    grown = <unsigned char *>realloc(u.groups, 256 * (u.capgroups * 2 + 8))
                    if grown != NULL:
                        u.groups = grown
                        u.capgroups = u.capgroups * 2 + 8
                if u.ngroups < u.capgroups:
                    u.groups[256 * u.ngroups] = <unsigned char>n
                    memcpy(u.groups + 256 * u.ngroups + 1, d + 1, n)
                    u.ngroups += 1
            elif d[0] == 0 and i >= 0:
                u.ngroups -= 1
                if i != u.ngroups:
                    memcpy(u.groups + 256 * i, u.groups + 256 * u.ngroups, 256)
        zx_msg_close(&m)


# ---------------------------------------------------------------- DISH: datagrams in

cdef void _udp_input(zx_udp *u) noexcept nogil:
    cdef zx_pipe *inp = zx_link_out(u.link, 1)
    cdef ssize_t n
    cdef size_t glen
    cdef int err, k
    cdef zx_msg g, body
    _udp_read_joins(u)
    for k in range(256):           # a bounded batch: other endpoints get their turn
        if not zx_pipe_check_write(inp):
            # the app is behind: stop reading (the kernel buffer, then the network,
            # drops the rest) until the socket makes room and wakes us
            u.in_blocked = True
            _udp_set_events(u, 0)
            break
        n = zx_recv(u.fd, u.buf, ZX_UDP_MAX)
        if n < 0:
            err = zx_sock_errno()
            if err == EINTR:
                continue
            if zx_would_block(err):
                break
            continue               # an error for one datagram only (ICMP): go on
        if n < 1:
            continue               # empty: not even a group length
        glen = u.buf[0]
        if 1 + glen > <size_t>n:
            continue               # the group runs past the end: malformed
        if _udp_group_find(u, u.buf + 1, glen) < 0:
            continue               # a group nobody here joined
        if zx_msg_init_copy(&g, u.buf + 1, glen) < 0:
            break
        if zx_msg_init_copy(&body, u.buf + 1 + glen, n - 1 - glen) < 0:
            zx_msg_close(&g)
            break
        g.flags = ZX_MSG_MORE
        if zx_pipe_write(inp, &g) < 0:
            zx_msg_close(&g)
            zx_msg_close(&body)
            break
        if zx_pipe_write(inp, &body) < 0:
            zx_msg_close(&body)
            zx_pipe_rollback(inp)
            break
    zx_pipe_flush(inp, u.link)


# ---------------------------------------------------------------- RADIO: datagrams out

# send one datagram; 1 sent (or dropped for good), 0 the kernel buffer is full (EAGAIN)
cdef int _udp_send(zx_udp *u, iovec *iov, int n) noexcept nogil:
    cdef ssize_t rc
    cdef int err, tries = 0
    while True:
        rc = zx_sendv(u.fd, iov, n)
        if rc >= 0:
            return 1
        err = zx_sock_errno()
        if err == EINTR:
            continue
        if zx_would_block(err):
            return 0
        tries += 1
        if tries > 1:
            return 1               # EMSGSIZE, unreachable...: this datagram is lost
        # a pending ICMP error was reported instead of sending: it is cleared now


cdef void _udp_output(zx_udp *u) noexcept nogil:
    cdef zx_pipe *outp = zx_link_in(u.link, 1)
    cdef zx_msg g, body
    cdef iovec iov[3]
    cdef unsigned char glen
    cdef size_t total
    cdef int k
    if u.held:
        iov[0].iov_base = u.buf
        iov[0].iov_len = u.held
        if not _udp_send(u, iov, 1):
            _udp_set_events(u, ZX_EV_OUT)
            return
        u.held = 0
    for k in range(1024):          # a bounded batch; a full pipe wakes us again
        if not zx_pipe_read(outp, &g, u.link):
            _udp_set_events(u, 0)
            return
        if not (g.flags & ZX_MSG_MORE) or g.size > ZX_GROUP_MAX:
            # not a (group, body) pair: the room never writes one; skip the message
            while g.flags & ZX_MSG_MORE and zx_pipe_read(outp, &body, u.link):
                zx_msg_close(&g)
                g = body
            zx_msg_close(&g)
            continue
        if not zx_pipe_read(outp, &body, u.link):
            zx_msg_close(&g)       # cannot happen: messages are published whole
            continue
        glen = <unsigned char>g.size
        iov[0].iov_base = &glen
        iov[0].iov_len = 1
        iov[1].iov_base = zx_msg_data(&g)
        iov[1].iov_len = g.size
        iov[2].iov_base = zx_msg_data(&body)
        iov[2].iov_len = body.size
        total = 1 + g.size + body.size
        if body.flags & ZX_MSG_MORE:
            # more frames: not a RADIO message (the room never writes one): dropped
            zx_msg_close(&g)
            while body.flags & ZX_MSG_MORE:
                zx_msg_close(&body)
                if not zx_pipe_read(outp, &body, u.link):
                    break
            zx_msg_close(&body)
            continue
        if total < ZX_UDP_MAX and not _udp_send(u, iov, 3):
            # keep this one whole and wait for the kernel to take it
            u.buf[0] = glen
            memcpy(u.buf + 1, zx_msg_data(&g), g.size)
            memcpy(u.buf + 1 + g.size, zx_msg_data(&body), body.size)
            u.held = total
            zx_msg_close(&g)
            zx_msg_close(&body)
            _udp_set_events(u, ZX_EV_OUT)
            return
        zx_msg_close(&g)
        zx_msg_close(&body)
    _udp_set_events(u, ZX_EV_OUT)  # more may be waiting: come back when writable


# ---------------------------------------------------------------- closing

cdef void _udp_destroy(zx_udp *u) noexcept nogil:
    cdef zx_iothread *io = u.io
    cdef zx_udp **pp = &io.udps
    cdef zx_link *link = u.link
    if u.dead:
        return
    while pp[0] != NULL:
        if pp[0] == u:
            pp[0] = u.next
            break
        pp = &pp[0].next
    if u.events != -1:
        zx_poller_del(&io.poller, u.fd)
    zx_close_socket(u.fd)
    u.fd = -1
    if link != NULL:
        link.owner[1] = NULL
        zx_pipe_rollback(zx_link_out(link, 1))
        zx_store(&link.gone[1], 1)
        if not u.sb.closed and not zx_load(&link.gone[0]):
            zx_mailbox_post(&u.sb.mb, ZX_CMD_TERM, link, 0)
        zx_link_unref(link)
        u.link = NULL
    zx_sockbase_unref(u.sb)
    u.dead = True
    u.next = io.dead_udps
    io.dead_udps = u


# unbind/disconnect (endpoint_id >= 0) or the socket closed (sb), or the I/O thread stops
# (sb NULL): a closing RADIO sends what it still holds first (UDP never waits for a peer,
# so LINGER has nothing to wait for beyond the kernel taking the datagrams)
cdef void _udp_close_matching(zx_iothread *io, zx_sockbase *sb, int64_t endpoint_id,
                              bint flush) noexcept nogil:
    cdef zx_udp *u = io.udps
    cdef zx_udp *nxt
    while u != NULL:
        nxt = u.next
        if (sb == NULL or u.sb == sb) and (endpoint_id < 0 or u.endpoint_id == endpoint_id):
            if flush and u.sender and u.link != NULL:
                _udp_output(u)
            _udp_destroy(u)
        u = nxt


cdef void _udp_free_dead(zx_iothread *io) noexcept nogil:
    cdef zx_udp *u
    while io.dead_udps != NULL:
        u = io.dead_udps
        io.dead_udps = u.next
        free(u.buf)
        free(u.groups)
        free(u)
