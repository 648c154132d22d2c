# Endpoints of the socket core: bind/connect/unbind/disconnect over tcp and ipc (handed to
# an I/O thread as listeners and sessions) and inproc (links made directly between two
# sockets of one context). Included into socket.pyx; every function takes the Socket.

cdef _bind(Socket self, addr):
    cdef zx_listener *l
    cdef zx_iothread *io
    self._check()
    transport, address = _endpoint.parse(addr)
    if transport == "inproc":
        _bind_inproc(self, address)
        self._last_endpoint = ("inproc://" + address).encode()
        self._endpoints.setdefault(self._last_endpoint, []).append(("inproc", address, None))
        return
    if transport == "udp":
        _bind_udp(self, address, addr)          # socket_udp.pxi
        return
    unlink = None
    try:
        if transport == "tcp":
            fd, last = _endpoint.bind_tcp(address, bool(self.copts.ipv6), self.copts.backlog,
                                          self.opts.sndbuf, self.opts.rcvbuf)
        else:
            fd, last, unlink = _endpoint.bind_ipc(address, _ipc_listen, self.copts.backlog)
    except ZMQError as e:
        # the monitor sees it as libzmq's does (socket_monitor.pxi)
        _monitor_bind_failed(self, transport, address, e.errno, e.errno != EINVAL_)
        raise
    try:
        io = self.context.choose_io()
    except BaseException:
        zx_close_socket(fd)
        raise
    eid = self.next_endpoint_id
    self.next_endpoint_id += 1
    self.opts.zap = _zap_open(self, io)         # (socket_zap.pxi) NULL: no ZAP
    l = zx_listener_new(io, self.sb, &self.opts, fd, eid)
    zx_zap_unref(self.opts.zap)                 # the listener holds its own reference
    self.opts.zap = NULL
    if l == NULL:
        zx_close_socket(fd)
        raise MemoryError()
    _monitor_note_endpoint(self, eid, last)
    # libzmq reports LISTENING from bind() itself: before it returns, before any ACCEPTED
    zx_io_event(self.sb, eid, ZX_EVT_LISTENING, fd)
    zx_mailbox_post(&io.mb, ZX_CMD_ADD_LISTENER, l, 0)
    self._last_endpoint = last.encode()
    ep = ("bind", <object>eid, (<size_t>io, unlink))
    self._endpoints.setdefault(self._last_endpoint, []).append(ep)
    if last != addr:
        self._endpoints.setdefault(addr.encode() if isinstance(addr, str) else addr, []).append(ep)

def _ipc_listen(bytes path, int backlog):
    # the listening AF_UNIX socket for _endpoint.bind_ipc, made in C on every OS
    cdef sockaddr_un sun
    cdef socklen_t n = <socklen_t>len(path)
    cdef int fd
    if n >= sizeof(sun.sun_path):
        raise OSError(_errno.ENAMETOOLONG, os.strerror(_errno.ENAMETOOLONG))
    memset(&sun, 0, sizeof(sun))
    sun.sun_family = AF_UNIX
    memcpy(sun.sun_path, <char *>path, n)
    # an abstract name (leading NUL, Linux only) is exactly its bytes; a path includes its
    # terminator (Winsock takes either form; the length after sun_path's offset is what counts)
    cdef socklen_t base = <socklen_t>(<char *>sun.sun_path - <char *>&sun)
    fd = zx_listen_stream(<sockaddr *>&sun, base + n + (0 if path[:1] == b"\0" else 1), backlog)
    if fd < 0:
        err = zx_sock_errno()
        raise OSError(err, os.strerror(err))
    return fd


cdef _bind_to_random_port(Socket self, addr, int min_port, int max_port, int max_tries):
    if min_port == 49152 and max_port == 65536:
        _bind(self, "%s:*" % addr)
        return int(self._last_endpoint.decode().rpartition(":")[2])
    import random
    for _ in range(max_tries):
        port = random.randrange(min_port, max_port)
        try:
            _bind(self, "%s:%s" % (addr, port))
        except ZMQError as e:
            if e.errno not in (_errno.EADDRINUSE, _errno.EACCES):
                raise
        else:
            return port
    from zmqx.error import ZMQBindError
    raise ZMQBindError("Could not bind socket to random port.")

cdef _connect(Socket self, addr):
    cdef zx_session *s
    cdef zx_iothread *io
    cdef zx_link *link
    cdef sockaddr_un *sun
    cdef bytes path
    cdef bytes ipb
    self._check()
    transport, address = _endpoint.parse(addr)
    if transport == "inproc":
        eid = _connect_inproc(self, address)
        key = ("inproc://" + address).encode()
        self._endpoints.setdefault(key, []).append(("inproc-connect", address, eid))
        self._last_endpoint = key
        return
    if transport == "udp":
        _connect_udp(self, address, addr)       # socket_udp.pxi
        return
    if transport == "tcp":
        family, ip, port, host, src = _endpoint.connect_tcp(address, bool(self.copts.ipv6))
    else:
        path = _endpoint.connect_ipc(address)
        family = AF_UNIX
    io = self.context.choose_io()
    eid = self.next_endpoint_id
    self.next_endpoint_id += 1
    self.opts.zap = _zap_open(self, io)         # (socket_zap.pxi) NULL: no ZAP
    s = zx_session_new_connect(io, self.sb, &self.opts, eid)
    zx_zap_unref(self.opts.zap)                 # the session holds its own reference
    self.opts.zap = NULL
    if s == NULL:
        raise MemoryError()
    memset(&s.addr, 0, sizeof(sockaddr_storage))
    s.family = family
    if transport == "tcp":
        # a host name is looked up on the I/O side before every attempt
        if host is not None:
            ipb = host.encode()
            zx_session_set_host(s, ipb, family, port)
        else:
            ipb = ip.encode()
            zx_sockaddr_fill(&s.addr, &s.addrlen, family, ipb, port)
        if src is not None:
            ipb = src[1].encode()
            zx_sockaddr_fill(&s.src, &s.src_len, src[0], ipb, src[2])
    else:
        sun = <sockaddr_un *>&s.addr
        sun.sun_family = AF_UNIX
        memcpy(sun.sun_path, <char *>path, len(path))
        s.addrlen = <socklen_t>((<char *>sun.sun_path - <char *>sun) + len(path)
                                + (0 if path.startswith(b"\0") else 1))
    if self.connect_rid is not None:
        memcpy(s.opts.connect_rid, <char *>self.connect_rid, len(self.connect_rid))
        s.opts.connect_rid_len = len(self.connect_rid)
        self.connect_rid = None
    # a ROUTER can't route to a peer it can't name yet, and IMMEDIATE queues nothing
    # for peers that aren't there: both get their link when the handshake completes
    s.attach_on_handshake = self.opts.immediate or (self.ops.flags & ZX_T_ATTACH_LATE) != 0
    if not s.attach_on_handshake:
        link = zx_link_new(self.opts.sndhwm, self.opts.rcvhwm)
        if link == NULL:
            zx_session_discard(s)      # also drops the session's reference on the socket
            raise MemoryError()
        link.socktype[0] = self.socket_type
        memcpy(link.rid[0], self.opts.identity, self.opts.identity_len)
        link.rid_len[0] = self.opts.identity_len
        # CONNECT_ROUTING_ID names the peer at once (STREAM: its link exists from now on)
        memcpy(link.rid[1], s.opts.connect_rid, s.opts.connect_rid_len)
        link.rid_len[1] = s.opts.connect_rid_len
        link.owner[1] = s
        link.user = eid
        zx_link_set_waker(link, 1, zx_io_wake, io, NULL)
        s.link = link
        self._add_slot(link, 0, True)
    key = addr.encode() if isinstance(addr, str) else addr
    _monitor_note_endpoint(self, eid, key)
    zx_mailbox_post(&io.mb, ZX_CMD_ADD_SESSION, s, 0)
    self._endpoints.setdefault(key, []).append(("connect", <object>eid, (<size_t>io, None)))
    self._last_endpoint = key

cdef _close_endpoint(Socket self, addr, str kind):
    cdef zx_iothread *io
    cdef int i
    cdef int64_t eid
    self._check()
    key = addr.encode() if isinstance(addr, str) else addr
    eps = self._endpoints.get(key)
    match = None
    if eps:
        for ep in eps:
            if ep[0] == kind or (kind == "connect" and ep[0] == "inproc-connect") \
                    or (kind == "bind" and ep[0] == "inproc"):
                match = ep
                break
    if match is None:
        raise ZMQError(ENOENT_, "No such file or directory (endpoint not found)")
    for k in list(self._endpoints):
        lst = self._endpoints[k]
        if match in lst:
            lst.remove(match)
            if not lst:
                del self._endpoints[k]
    if match[0] == "inproc":
        self.context._unbind_inproc(match[1], self)
        return
    if match[0] == "inproc-connect":
        _disconnect_inproc(self, match[2])
        return
    io = <zx_iothread *><size_t>match[2][0]
    zx_sockbase_ref(self.sb)
    zx_mailbox_post(&io.mb, ZX_CMD_CLOSE_ENDPOINT, self.sb, <int64_t>match[1])
    # as in libzmq, the endpoint's links stop taking messages before this returns
    eid = <int64_t>match[1]
    self._dead_eids.add(eid)
    for i in range(self.core.nslots):
        if self.core.slots[i].io and self.core.slots[i].link.user == eid and not self.core.slots[i].dying:
            self._slot_dying(i)
    if match[2][1]:
        try:
            os.unlink(match[2][1])
        except OSError:
            pass


# inproc: links straight between two sockets of one context, no I/O thread

cdef _bind_inproc(Socket self, name):
    ctx = self.context
    with ctx._lock:
        ref = ctx._inproc.get(name)
        if ref is not None and ref() is not None:
            raise ZMQError(_errno.EADDRINUSE)
        # weak: a socket the app dropped must still be collectable (and so closed)
        ctx._inproc[name] = weakref.ref(self)
        pending = ctx._pending.pop(name, [])
    for addr, peer_ref in pending:
        peer = peer_ref()
        if peer is not None:
            _accept_inproc(self, addr, peer)
        else:
            _drop_pending_link(addr)

cdef int _accept_inproc_link(Socket self, zx_link *link, Socket peer) except -1:
    # complete a link that `peer` created (peer is side 0, we are side 1)
    link.socktype[1] = self.socket_type
    if not link.rid_fixed[1]:          # unless the connecter named us itself
        memcpy(link.rid[1], self.opts.identity, self.opts.identity_len)
        link.rid_len[1] = self.opts.identity_len
    if peer.opts.sndhwm and self.opts.rcvhwm:
        zx_pipe_set_hwm(&link.pipes[0], peer.opts.sndhwm + self.opts.rcvhwm)
    else:
        zx_pipe_set_hwm(&link.pipes[0], 0)
    if peer.opts.rcvhwm and self.opts.sndhwm:
        zx_pipe_set_hwm(&link.pipes[1], peer.opts.rcvhwm + self.opts.sndhwm)
    else:
        zx_pipe_set_hwm(&link.pipes[1], 0)
    return 0

cdef _accept_inproc(Socket self, size_t addr, Socket peer):
    cdef zx_link *link = <zx_link *>addr
    self._accept_inproc_link(link, peer)
    if not zx_socktype_compatible(self.socket_type, link.socktype[0]):
        zx_store(&link.gone[1], 1)
        if not zx_load(&link.gone[0]) and peer.sb != NULL:
            zx_mailbox_post(&peer.sb.mb, ZX_CMD_TERM, link, 0)
        zx_link_unref(link)
        return
    self._add_slot(link, 1, False)

cdef _connect_inproc(Socket self, name):
    # returns the endpoint id the link carries (link.user), for disconnect()
    cdef zx_link *link
    cdef Socket binder
    ctx = self.context
    link = zx_link_new(self.opts.sndhwm, self.opts.rcvhwm)
    if link == NULL:
        raise MemoryError()
    eid = self.next_endpoint_id
    self.next_endpoint_id += 1
    link.user = eid
    link.socktype[0] = self.socket_type
    memcpy(link.rid[0], self.opts.identity, self.opts.identity_len)
    link.rid_len[0] = self.opts.identity_len
    connect_rid = self.connect_rid
    self.connect_rid = None
    if connect_rid is not None:
        # our name for the peer overrides the one it announces
        memcpy(link.rid[1], <char *>connect_rid, len(connect_rid))
        link.rid_len[1] = len(connect_rid)
        link.rid_fixed[1] = True
    with ctx._lock:
        ref = ctx._inproc.get(name)
        binder = ref() if ref is not None else None
        if binder is None:
            ctx._pending.setdefault(name, []).append((<size_t>link, weakref.ref(self)))
    if binder is not None:
        self._connect_to_binder(link, binder)
    else:
        self._add_slot(link, 0, False)
    return eid

cdef int _connect_to_binder(Socket self, zx_link *link, Socket binder) except -1:
    binder._accept_inproc_link(link, self)
    if not zx_socktype_compatible(self.socket_type, binder.socket_type):
        # refused: like a ZMTP handshake that fails on socket types
        zx_link_unref(link)
        zx_link_unref(link)
        return 0
    self._add_slot(link, 0, False)
    if binder is self:
        self._add_slot(link, 1, False)
    else:
        # the binder can be woken by our first message before it attaches the link
        zx_sockbase_ref(binder.sb)
        zx_link_set_waker(link, 1, zx_sockbase_wake, binder.sb, zx_sockbase_unref)
        if zx_mailbox_post(&binder.sb.mb, ZX_CMD_ATTACH, link, 1) < 0:
            zx_store(&link.gone[1], 1)      # the binder closed meanwhile
            zx_link_unref(link)
    return 0


cdef _disconnect_inproc(Socket self, int64_t eid):
    # the link this connect() made (not any other inproc link of the socket)
    cdef int i
    cdef zx_link *link
    cdef zx_sockbase *peer
    for i in range(self.core.nslots):
        link = self.core.slots[i].link
        if not self.core.slots[i].io and self.core.slots[i].side == 0 \
                and link.user == eid and not self.core.slots[i].dying:
            self._slot_dying(i)
            zx_store(&link.gone[0], 1)
            peer = <zx_sockbase *>link.release_arg[1]
            if peer != NULL:
                zx_mailbox_post(&peer.mb, ZX_CMD_TERM, link, 0)
            break


cdef int _close_endpoints(Socket self) except -1:
    # at close: inproc names, ipc files, and inproc links nobody has accepted yet
    cdef Context ctx = self.context
    cdef zx_link *link
    for key, eps in list(self._endpoints.items()):
        for ep in eps:
            if ep[0] == "inproc":
                ctx._unbind_inproc(ep[1], self)
            elif ep[0] == "bind" and ep[2][1]:
                try:
                    os.unlink(ep[2][1])
                except OSError:
                    pass
    self._endpoints.clear()
    with ctx._lock:
        for name in list(ctx._pending):
            keep = []
            for addr, psock in ctx._pending[name]:
                if psock() is self or psock() is None:
                    link = <zx_link *><size_t>addr
                    zx_store(&link.gone[1], 1)
                    zx_link_unref(link)
                else:
                    keep.append((addr, psock))
            if keep:
                ctx._pending[name] = keep
            else:
                del ctx._pending[name]
    return 0


cdef void _drop_pending_link(size_t addr) noexcept:
    cdef zx_link *link = <zx_link *>addr
    zx_store(&link.gone[1], 1)
    zx_link_unref(link)
