# udp:// endpoints of the socket core (RADIO connects, DISH binds; RFC 48 datagrams).
# Included into socket.pyx. The OS socket is made and configured on the caller's thread
# (zmqx/_udp.py), so address and bind errors are raised here; the datagram engine runs on
# an I/O thread (io_udp.pxi). UDP has no peer to wait for and no handshake, so the link is
# attached at once and lives until unbind/disconnect/close. Which types may use udp is the
# type table's business (ZX_T_UDP; the direction from ZX_T_SEND/ZX_T_RECV); any other type
# gets ENOCOMPATPROTO, as libzmq.
from zmqx import _udp
from zmqx.constants import Errno as _Errno, SocketOption as _SO

cdef int ENOCOMPATPROTO_ = _Errno.ENOCOMPATPROTO


cdef _udp_check(Socket self, bint binding):
    cdef int f = self.ops.flags
    if not (f & ZX_T_UDP) or not (f & (ZX_T_RECV if binding else ZX_T_SEND)):
        raise ZMQError(ENOCOMPATPROTO_)


cdef _bind_udp(Socket self, address, addr):
    _udp_check(self, True)
    fd, last = _udp.bind_udp(address, bool(self.copts.ipv6), self.opts.rcvbuf)
    _udp_start(self, fd, False, last.encode(), addr)


cdef _connect_udp(Socket self, address, addr):
    _udp_check(self, False)
    fd = _udp.connect_udp(address, bool(self.copts.ipv6), _getopt(self, _SO.MULTICAST_HOPS),
                          _getopt(self, _SO.MULTICAST_LOOP), self.opts.sndbuf)
    _udp_start(self, fd, True, addr.encode() if isinstance(addr, str) else addr, addr)


cdef _udp_start(Socket self, int fd, bint sender, bytes last, addr):
    # the link (side 0 the socket, side 1 the endpoint), the slot, then the I/O side
    cdef zx_iothread *io
    cdef zx_link *link
    cdef zx_udp *u
    try:
        io = self.context.choose_io()
    except BaseException:
        os.close(fd)
        raise
    eid = self.next_endpoint_id
    self.next_endpoint_id += 1
    u = zx_udp_new(io, self.sb, fd, eid, sender)
    if u == NULL:
        os.close(fd)
        raise MemoryError()
    link = zx_link_new(self.opts.sndhwm, self.opts.rcvhwm)
    if link == NULL:
        zx_sockbase_unref(self.sb)
        free(u.buf)
        free(u)
        os.close(fd)
        raise MemoryError()
    link.socktype[0] = self.socket_type
    link.socktype[1] = ZX_PEER_UDP
    link.owner[1] = u
    link.user = eid
    zx_link_set_waker(link, 1, zx_io_wake, io, NULL)
    u.link = link
    self._add_slot(link, 0, True)
    zx_mailbox_post(&io.mb, ZX_CMD_ADD_UDP, u, 0)
    kind = "bind" if not sender else "connect"
    ep = (kind, <object>eid, (<size_t>io, None))
    self._last_endpoint = last
    self._endpoints.setdefault(last, []).append(ep)
    key = addr.encode() if isinstance(addr, str) else addr
    if key != last:
        self._endpoints.setdefault(key, []).append(ep)
