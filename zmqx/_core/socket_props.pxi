# What Frame.get tells of the connection a received frame came from (included into
# socket.pyx): Socket-Type, Identity and Peer-Address from the link's handshake facts, made
# once per connection and cached by link. Security properties (User-Id, ZAP metadata) ride
# on the frame's own block instead (msg.pyx: zx_props), set by the I/O thread. Also
# recv_into, the receive that hands no Frame out at all.

cdef dict _props_of(Socket self, zx_link *link):
    # what Frame.get tells of the peer a frame came from, as libzmq's message metadata:
    # only frames from a tcp/ipc connection have any (inproc: none). Made once per
    # connection (a reconnect, HICCUP, starts a new one)
    cdef int peer
    if link.release[1] != NULL:          # side 1 is a socket: inproc frames have none
        return None
    if <void *>link == self._props_link:  # the hot case: the same connection as last time
        return self._props_last
    if self._peer_props is None:
        self._peer_props = {}
    props = self._peer_props.get(<size_t>link)
    if props is not None:
        self._props_link = <void *>link
        self._props_last = props
        return props
    props = {}
    if link.release[1] == NULL:          # side 1 is an I/O session: a connection
        peer = 1
        if link.socktype[peer] >= 0:
            props["Socket-Type"] = _socktype_name(link.socktype[peer])
            if link.rid_len[peer] or link.socktype[peer] in _ANNOUNCES_IDENTITY:
                props["Identity"] = PyBytes_FromStringAndSize(
                    <char *>link.rid[peer], link.rid_len[peer]).decode("utf-8", "replace")
        if link.peer_addr_len > 0:
            props["Peer-Address"] = PyBytes_FromStringAndSize(
                link.peer_addr, link.peer_addr_len).decode("ascii", "replace")
    self._peer_props[<size_t>link] = props
    self._props_link = <void *>link
    self._props_last = props
    return props


# the socket types whose READY always carries an Identity (libzmq: REQ, DEALER, ROUTER)
_ANNOUNCES_IDENTITY = frozenset((3, 5, 6))


def _socktype_name(int n):
    from zmqx.constants import SocketType
    try:
        return SocketType(n).name
    except ValueError:
        return str(n)


cdef _recv_into(Socket self, buffer, Py_ssize_t nbytes, int flags):
    cdef Py_buffer view
    cdef zx_msg m
    cdef Py_ssize_t cap
    cdef size_t n
    if self._shadowed is not None:
        return Socket.recv_into(self._shadowed, buffer, nbytes=nbytes, flags=flags)
    if nbytes < 0:
        raise ValueError(f"nbytes={nbytes} must be non-negative")
    PyObject_GetBuffer(buffer, &view, PyBUF_WRITABLE | PyBUF_ANY_CONTIGUOUS)
    try:
        cap = view.len
        if nbytes:
            if nbytes > view.len:
                raise ValueError(f"nbytes={nbytes} too big for memoryview of {view.len}B")
            cap = nbytes
        zx_msg_init(&m)
        self._recv_msg(&m, flags)
        n = m.size
        if cap > 0:
            memcpy(view.buf, zx_msg_data(&m), min(n, <size_t>cap))
        zx_msg_close(&m)
    finally:
        PyBuffer_Release(&view)
    return n
