# Socket core: the Python API, the options common to every type (driven by the options
# table in zmqx/constants.py), endpoints, the slot array (one per peer), lifecycle, and the
# blocking/poll logic. What happens to a message is the socket type's business: one
# indirect call per frame into its room (ops.send / ops.recv, see sockcore.pxd).
# Threading: an app thread holds the GIL while it touches its links and releases it only
# to wait on the socket's signaler. Per message: no syscall, no malloc, no GIL release in
# steady state (the signaler is only written when the other side sleeps).
import os
import weakref
cimport cython

from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS, PyBUF_WRITABLE
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset, memmove
from libc.errno cimport errno as _c_errno

from zmqx._core.atomic cimport zx_load, zx_store
from zmqx._core.platform cimport *
from zmqx._core.mailbox cimport *
from zmqx._core.pipe cimport *
from zmqx._core.msg cimport *
from zmqx._core.msg cimport Frame, MessageTracker
from zmqx._core.io_thread cimport *
from zmqx._core.context cimport Context, zx_fork_generation
from zmqx._core.slots cimport zx_slot, zx_slot_readable, zx_slot_write
from zmqx._core.sockcore cimport zx_sock, zx_sockops, ZX_T_SEND, ZX_T_RECV, ZX_T_ATTACH_LATE
from zmqx._core.socktypes cimport zx_socktype_ops
from zmqx._core.zmtp cimport zx_socktype_compatible

from zmqx import _endpoint
from zmqx.error import ZMQError, Again, ContextTerminated
from zmqx._core.msg import COPY_THRESHOLD, _FINISHED_TRACKER
import errno as _errno

cdef int EINVAL_ = _errno.EINVAL
cdef int ENOTSOCK_ = _errno.ENOTSOCK
cdef int ENOTSUP_ = _errno.ENOTSUP
cdef int ENOENT_ = _errno.ENOENT

cdef enum:
    F_DONTWAIT = 1
    F_SNDMORE = 2
    P_POLLIN = 1
    P_POLLOUT = 2


# the socket types whose READY always carries an Identity (libzmq: REQ, DEALER, ROUTER)
_ANNOUNCES_IDENTITY = frozenset((3, 5, 6))


def _socktype_name(int n):
    from zmqx.constants import SocketType
    try:
        return SocketType(n).name
    except ValueError:
        return str(n)


cdef int64_t _deadline(int timeout_ms) noexcept nogil:
    # -1: wait forever; 0: don't wait; else an absolute monotonic time
    if timeout_ms < 0:
        return -1
    if timeout_ms == 0:
        return 0
    return zx_now_ms() + timeout_ms


@cython.no_gc_clear      # __dealloc__ needs self.context to deregister and close
cdef class Socket:

    def __cinit__(self, *args, **kwargs):
        self.sb = NULL
        memset(&self.core, 0, sizeof(zx_sock))
        self.ops = NULL
        self.cap = 0
        self._closed = True
        self.copy_threshold = COPY_THRESHOLD

    def __init__(self, Context context=None, int socket_type=-1, **kwargs):
        if context is None:
            raise ValueError("a Socket needs a Context")
        if context._shadowed is not None:
            context = context._shadowed      # a shadow context: the sockets live in its target
        self.ops = zx_socktype_ops(socket_type)
        if self.ops == NULL:
            raise ZMQError(EINVAL_, "Invalid argument (socket type)")
        self.context = context
        self.socket_type = socket_type
        context._register_socket(self)
        self.sb = zx_sockbase_new(socket_type)
        if self.sb == NULL:
            # out of fds (EMFILE/ENFILE: its signalers) or of memory: say which, as
            # libzmq's zmq_socket() does
            err = _c_errno or _errno.ENOMEM
            context.socket_closed(self)
            if zx_load(&context._terminated):
                raise ContextTerminated()
            raise ZMQError(err)
        self._closed = False
        self._gen = zx_fork_generation()
        memset(&self.opts, 0, sizeof(zx_opts))
        self.opts.socktype = socket_type
        _options_init(self)
        self.core.socktype = socket_type
        self.core.opts = &self.opts
        self.core.sb = self.sb
        self.core.ops = self.ops
        self._tstate = self.ops.init(&self.core)
        self.core.state = <void *>self._tstate
        self.next_endpoint_id = 1
        self._endpoints = {}
        self._dead_eids = set()
        self._last_endpoint = b""
        self.connect_rid = None

    def _shadow_init(self, Socket live):
        # make this object a second handle on `live` (pyzmq's Socket.shadow): it owns
        # nothing; every call below goes to the live socket, which it keeps alive
        if live._shadowed is not None:
            live = live._shadowed
        self._shadowed = live
        self.context = live.context
        self.socket_type = live.socket_type
        self._gen = live._gen

    def __dealloc__(self):
        if not self._closed and self._gen == zx_fork_generation():
            try:
                self._close(self.copts.linger)
            except BaseException:
                pass

    # ------------------------------------------------------------ plumbing

    cdef int _check(self) except -1:
        if self._closed:
            raise ZMQError(ENOTSOCK_)
        if self._gen != zx_fork_generation():
            raise ZMQError(ENOTSUP_, "socket was created before fork(): make a new Context in the child")
        if self.context.terminated():
            raise ContextTerminated()
        if zx_release_nonempty():
            zx_release_pending()
        if zx_load(&self.sb.mb.pending):
            self._process_commands()
        return 0

    cdef int _process_commands(self) except -1:
        cdef zx_cmd cmd
        cdef zx_link *link
        cdef int i
        while zx_mailbox_take(&self.sb.mb, &cmd):
            link = <zx_link *>cmd.ptr
            if cmd.type == ZX_CMD_ATTACH:
                if cmd.arg == 0 and link.release[1] == NULL and link.user in self._dead_eids:
                    zx_store(&link.gone[1], 1)   # its endpoint was closed meanwhile
                self._add_slot(link, <int>cmd.arg, cmd.arg == 0 and link.release[1] == NULL)
            elif cmd.type == ZX_CMD_TERM:
                for i in range(self.core.nslots):
                    if self.core.slots[i].link == link:
                        self._slot_dying(i)
                        break
            elif cmd.type == ZX_CMD_HICCUP:
                if not self._closed:
                    self._hiccup(link)
                if self._peer_props:
                    self._peer_props.pop(<size_t>link, None)    # a new connection
                zx_link_unref(link)
        return 0

    cdef int _add_slot(self, zx_link *link, int side, bint io) except -1:
        cdef zx_slot *ns
        cdef zx_slot *s
        cdef zx_msg m
        cdef int idx
        if self.core.nslots == self.cap:
            ns = <zx_slot *>realloc(self.core.slots, sizeof(zx_slot) * (self.cap * 2 + 4))
            if ns == NULL:
                raise MemoryError()
            self.core.slots = ns
            self.cap = self.cap * 2 + 4
        if link.release[side] == NULL:      # not already set by whoever made the link
            zx_sockbase_ref(self.sb)
            zx_link_set_waker(link, side, zx_sockbase_wake, self.sb, zx_sockbase_unref)
        idx = self.core.nslots
        s = &self.core.slots[idx]
        memset(s, 0, sizeof(zx_slot))
        s.link = link
        s.side = side
        s.io = io
        zx_link_in(link, side).read_note = &self.last_in
        self.core.nslots += 1
        # the type sees every peer, even one already gone: what it sent is still read
        self.ops.attach(&self.core, idx)
        s = &self.core.slots[idx]
        if self.opts.probe_router and not s.dying and not link.probed:
            zx_msg_init(&m)                    # PROBE_ROUTER: an empty message first
            zx_slot_write(s, &m, False)
        if zx_load(&link.gone[1 - side]):
            self._slot_dying(idx)
        # messages sent before anyone could be woken (inproc connect before bind)
        if zx_slot_readable(s):
            zx_sig_send(&self.sb.rsig)
        return 0

    cdef int _slot_dying(self, int idx) except -1:
        # the peer of slot idx went away: the type stops routing to it; what it sent is
        # still read, then _reap drops the slot
        cdef zx_slot *s = &self.core.slots[idx]
        self.core.need_reap = True
        if not s.dying:
            s.dying = True
            self.ops.detach(&self.core, idx)
        return 0

    cdef int _hiccup(self, zx_link *link) except -1:
        # the peer reconnected over the same link: the type resends per-peer state
        cdef int i
        for i in range(self.core.nslots):
            if self.core.slots[i].link == link and not self.core.slots[i].dying:
                self.ops.hiccup(&self.core, i)
        return 0

    cdef int _reap(self) except -1:
        # drop slots whose peer went away once everything they sent has been read; only
        # between messages, so no message is ever split by a slot leaving
        cdef int i = 0
        cdef zx_slot *s
        cdef zx_link *link
        self.core.need_reap = False
        while i < self.core.nslots:
            s = &self.core.slots[i]
            if s.dying:
                if s.refused or not zx_slot_readable(s):
                    self.ops.removed(&self.core, i)
                    link = s.link
                    zx_link_in(link, s.side).read_note = NULL
                    if <void *>link == self.last_in:
                        self.last_in = NULL
                    if self._peer_props:
                        self._peer_props.pop(<size_t>link, None)
                    zx_store(&link.gone[s.side], 1)
                    zx_link_unref(link)
                    memmove(s, s + 1, sizeof(zx_slot) * (self.core.nslots - i - 1))
                    self.core.nslots -= 1
                    continue
                self.core.need_reap = True
            i += 1
        return 0

    cdef int _wait(self, int64_t deadline) except -1:
        # returns 1 on timeout; 0 after a wake-up (the caller re-checks everything)
        cdef int64_t now
        cdef int timeout, rc
        cdef pollfd pfd[2]
        cdef zx_sockbase *sb
        if deadline == 0:
            return 1
        if deadline > 0:
            now = zx_now_ms()
            if now >= deadline:
                return 1
            timeout = <int>(deadline - now)
            if timeout > 500:
                timeout = 500
        else:
            timeout = 500
        # another thread may close this socket meanwhile: hold the sockbase (and so the
        # fds) until the wait is over, then notice the close
        sb = self.sb
        zx_sockbase_ref(sb)
        pfd[0].fd = sb.rsig.r
        pfd[0].events = POLLIN
        pfd[0].revents = 0
        pfd[1].fd = sb.mb.sig.r
        pfd[1].events = POLLIN
        pfd[1].revents = 0
        with nogil:
            rc = zx_poll_fds(pfd, 2, timeout)
        if rc > 0:
            if pfd[0].revents:
                zx_sig_drain(&sb.rsig)
                self.fd_ready = False
            if pfd[1].revents:
                zx_sig_drain(&sb.mb.sig)
        zx_sockbase_unref(sb)
        if self._closed:
            raise ZMQError(ENOTSOCK_)
        PyErr_CheckSignals()
        return 0

    def _wake(self):
        if self._shadowed is not None:
            return self._shadowed._wake()
        if self.sb != NULL:
            zx_sig_send(&self.sb.mb.sig)

    # ------------------------------------------------------------ send / recv loops

    cdef int _send_msg(self, zx_msg *m, int flags) except -1:
        # takes ownership of *m whatever happens
        cdef int64_t deadline = -2
        if self._shadowed is not None:
            return self._shadowed._send_msg(m, flags)
        try:
            self._check()
            while True:
                if self.core.need_reap and not self.sndmore and not self.rcvmore:
                    self._reap()
                if self.ops.send(&self.core, m, flags):
                    self.sndmore = (flags & F_SNDMORE) != 0
                    if self.fd_exported:
                        self._sync_fd()
                    return 0
                if deadline == -2:
                    deadline = 0 if flags & F_DONTWAIT else _deadline(self.copts.sndtimeo)
                if self._wait(deadline):
                    raise Again()
                self._check()
        finally:
            zx_msg_close(m)

    cdef int _recv_msg(self, zx_msg *m, int flags) except -1:
        cdef int64_t deadline = -2
        if self._shadowed is not None:
            return self._shadowed._recv_msg(m, flags)
        self._check()
        while True:
            if self.core.need_reap and not self.sndmore and not self.rcvmore:
                self._reap()
            if self.ops.recv(&self.core, m):
                self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
                if self.fd_exported:
                    self._sync_fd()
                return 0
            if deadline == -2:
                deadline = 0 if flags & F_DONTWAIT else _deadline(self.copts.rcvtimeo)
            if self._wait(deadline):
                raise Again()
            self._check()

    cdef int _poll_events(self) except -1:
        # what poll()/Poller/EVENTS/the proxy see: the type's readiness, no routing change
        cdef int ev = 0
        if self._shadowed is not None:
            return self._shadowed._poll_events()
        self._check()
        if self.core.need_reap and not self.sndmore and not self.rcvmore:
            self._reap()
        if self.ops.has_in(&self.core):
            ev |= P_POLLIN
        if self.ops.has_out(&self.core):
            ev |= P_POLLOUT
        return ev

    cdef int _try_recv(self, zx_msg *m) except -1:
        # one frame if there is one, without waiting and without raising Again
        if self._shadowed is not None:
            return self._shadowed._try_recv(m)
        self._check()
        if self.core.need_reap and not self.sndmore and not self.rcvmore:
            self._reap()
        if self.ops.recv(&self.core, m):
            self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
            return 1
        return 0

    cdef bint _receives(self) noexcept:
        if self._shadowed is not None:
            return self._shadowed._receives()
        return (self.ops.flags & ZX_T_RECV) != 0

    cdef int _sync_fd(self) except -1:
        # FD is level-triggered: readable exactly while a message waits. Writers signal
        # only a reader that armed its pipes, so: look (has_in arms), and if nothing is
        # there drain and look again, so a wake-up between the two is never lost
        if self.sb == NULL or not self._receives():
            return 0
        if self.ops.has_in(&self.core):
            if not self.fd_ready:
                zx_sig_send(&self.sb.rsig)
                self.fd_ready = True
            return 0
        zx_sig_drain(&self.sb.rsig)
        self.fd_ready = False
        if self.ops.has_in(&self.core):
            zx_sig_send(&self.sb.rsig)
            self.fd_ready = True
        return 0

    # ------------------------------------------------------------ messages

    def send(self, data, int flags=0, copy=True, track=False, routing_id=None, group=None):
        """Send one frame: bytes, any contiguous buffer, or a Frame."""
        if self._shadowed is not None:
            return Socket.send(self._shadowed, data, flags, copy, track, routing_id, group)
        return self._send_one(data, flags, copy, track)

    cdef object _send_one(self, object data, int flags, bint copy, bint track):
        cdef zx_msg m
        cdef Py_buffer view
        cdef Frame f
        cdef MessageTracker tracker = None
        cdef bint copied = True
        # pyzmq's rules: copy=True sends return None; a copy=False send below
        # copy_threshold is copied and returns the finished tracker when tracked; a Frame
        # sends its own tracker (ValueError if track=True asks for one it does not have)
        if PyBytes_CheckExact(data) and (copy or PyBytes_GET_SIZE(data) < self.copy_threshold):
            # bytes are immutable: large ones travel by reference whatever the copy flag
            zx_msg_init_bytes(&m, <bytes>data)
        elif isinstance(data, Frame):
            f = <Frame>data
            if track and f.tracker is None:
                raise ValueError("Not a tracked message")
            zx_msg_copy(&m, &f.msg)          # a reference, not a copy, for block bodies
            tracker = f.tracker
            copied = False
        elif isinstance(data, str):
            raise TypeError("unicode not allowed, use send_string")
        else:
            PyObject_GetBuffer(data, &view, PyBUF_ANY_CONTIGUOUS)
            try:
                if copy or view.len < self.copy_threshold:
                    if zx_msg_init_copy(&m, view.buf, view.len) < 0:
                        raise MemoryError()
                else:
                    copied = False
            finally:
                PyBuffer_Release(&view)
            if not copied:
                f = Frame(data, track=track, copy=False)
                zx_msg_copy(&m, &f.msg)
                tracker = f.tracker
        self._send_msg(&m, flags)
        if copied:
            return _FINISHED_TRACKER if track and not copy else None
        return tracker

    def recv(self, int flags=0, copy=True, track=False):
        """Receive one frame: bytes (copy=True) or a Frame over the received buffer."""
        if self._shadowed is not None:
            return Socket.recv(self._shadowed, flags, copy, track)
        return self._recv_one(flags, copy)

    def recv_into(self, buffer, /, *, nbytes=0, int flags=0):
        """Receive one frame into `buffer` (writable, contiguous), at most `nbytes` bytes
        (0: the buffer's size); returns the frame's full size (more than was stored: the
        rest of the frame was discarded)."""
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

    cdef object _recv_one(self, int flags, bint copy):
        cdef zx_msg m
        cdef object out
        cdef Frame f
        zx_msg_init(&m)
        self._recv_msg(&m, flags)
        if copy:
            return zx_msg_take_bytes(&m)     # the sent bytes object itself where it can be
        f = Frame.from_msg(&m)
        if self.last_in != NULL:
            f._properties = self._props_of(<zx_link *>self.last_in)
        return f

    cdef dict _props_of(self, zx_link *link):
        # what Frame.get tells of the peer a frame came from, as libzmq's message metadata:
        # only frames from a tcp/ipc connection have any (inproc: none). Made once per
        # connection (a reconnect, HICCUP, starts a new one)
        cdef int peer
        if self._peer_props is None:
            self._peer_props = {}
        props = self._peer_props.get(<size_t>link)
        if props is not None:
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
        return props

    def send_multipart(self, msg_parts, int flags=0, copy=True, track=False, **kwargs):
        """Send a sequence of frames as one message (delivered whole or not at all)."""
        cdef Py_ssize_t n, i
        if self._shadowed is not None:
            return Socket.send_multipart(self._shadowed, msg_parts, flags, copy, track, **kwargs)
        parts = msg_parts if isinstance(msg_parts, (list, tuple)) else list(msg_parts)
        n = len(parts)
        for i in range(n):
            part = parts[i]
            if isinstance(part, (bytes, Frame, memoryview, bytearray)):
                continue
            try:
                memoryview(part)
            except TypeError:
                raise TypeError(
                    "Frame %i (%r) does not support the buffer interface." % (i, part)) from None
        if n == 0:
            raise ValueError("empty multipart message")
        for i in range(n - 1):
            self._send_one(parts[i], flags | F_SNDMORE, copy, track)
        return self._send_one(parts[n - 1], flags & ~F_SNDMORE, copy, track)

    def recv_multipart(self, int flags=0, copy=True, track=False):
        """Receive every frame of one message."""
        if self._shadowed is not None:
            return Socket.recv_multipart(self._shadowed, flags, copy, track)
        parts = [self._recv_one(flags, copy)]
        while self.rcvmore:
            parts.append(self._recv_one(flags, copy))
        return parts

    def poll(self, timeout=None, int flags=P_POLLIN):
        """Wait until the socket can recv (POLLIN) or send (POLLOUT); returns the events."""
        cdef int64_t deadline
        cdef int ev
        if self._shadowed is not None:
            return Socket.poll(self._shadowed, timeout, flags)
        if self._closed:
            raise ZMQError(ENOTSOCK_)
        if timeout is None or timeout < 0:
            deadline = -1
        else:
            deadline = _deadline(<int>timeout)
        while True:
            ev = self._poll_events() & flags
            if ev or self._wait(deadline):
                if self.fd_exported:
                    self._sync_fd()        # the wait may have drained FD's signal
                return ev

    @property
    def rcvmore(self):
        if self._shadowed is not None:
            return self._shadowed.rcvmore
        return self.rcvmore

    # ------------------------------------------------------------ endpoints (socket_endpoints.pxi)

    def bind(self, addr):
        """Bind to tcp://host:port, ipc://path or inproc://name."""
        if self._shadowed is not None:
            return Socket.bind(self._shadowed, addr)
        _bind(self, addr)

    def bind_to_random_port(self, addr, int min_port=49152, int max_port=65536, int max_tries=100):
        """Bind tcp://addr to a port the OS picks; returns the port."""
        if self._shadowed is not None:
            return Socket.bind_to_random_port(self._shadowed, addr, min_port, max_port, max_tries)
        return _bind_to_random_port(self, addr, min_port, max_port, max_tries)

    def connect(self, addr):
        """Connect to an endpoint; works before the peer binds and reconnects forever."""
        if self._shadowed is not None:
            return Socket.connect(self._shadowed, addr)
        _connect(self, addr)

    def unbind(self, addr):
        if self._shadowed is not None:
            return Socket.unbind(self._shadowed, addr)
        _close_endpoint(self, addr, "bind")

    def disconnect(self, addr):
        if self._shadowed is not None:
            return Socket.disconnect(self._shadowed, addr)
        _close_endpoint(self, addr, "connect")

    def _bind_inproc(self, name):
        _bind_inproc(self, name)

    def _accept_inproc(self, size_t addr, Socket peer):
        _accept_inproc(self, addr, peer)

    cdef int _accept_inproc_link(self, zx_link *link, Socket peer) except -1:
        return _accept_inproc_link(self, link, peer)

    cdef int _connect_to_binder(self, zx_link *link, Socket binder) except -1:
        return _connect_to_binder(self, link, binder)

    # ------------------------------------------------------------ closing

    def close(self, linger=None):
        """Close the socket. linger (ms) bounds how long queued messages keep being sent."""
        if self._shadowed is not None:
            return Socket.close(self._shadowed, linger)
        if self._closed:
            return
        self._close(self.copts.linger if linger is None else linger)

    def _close(self, int linger):
        cdef int i
        cdef zx_link *link
        cdef zx_sockbase *peer
        cdef zx_iothread *io
        cdef zx_slot *s
        cdef Context ctx = self.context
        if self._closed:
            return
        if self._gen != zx_fork_generation():
            # inherited from the parent: its threads and links are not ours to touch
            self._closed = True
            self.sb = NULL
            self.core.slots = NULL
            self.core.nslots = 0
            return
        # take in every link already on its way, then accept no more: nothing can be left
        # in the mailbox holding a link that holds this socket
        zx_mailbox_close(&self.sb.mb)
        self._process_commands()
        self._closed = True
        zx_store(&self.sb.closed, 1)
        for i in range(self.core.nslots - 1, -1, -1):
            s = &self.core.slots[i]
            link = s.link
            zx_link_in(link, s.side).read_note = NULL
            zx_store(&link.gone[s.side], 1)
            if not s.io:
                peer = <zx_sockbase *>link.release_arg[1 - s.side]
                if peer != NULL and peer != self.sb and not zx_load(&link.gone[1 - s.side]):
                    zx_mailbox_post(&peer.mb, ZX_CMD_TERM, link, 0)
            self.ops.removed(&self.core, i)
            self.core.nslots = i
            zx_link_unref(link)
        free(self.core.slots)
        self.core.slots = NULL
        _close_endpoints(self)
        for i in range(ctx._nio):
            io = ctx._io[i]
            zx_sockbase_ref(self.sb)
            zx_mailbox_post(&io.mb, ZX_CMD_SOCKET_CLOSED, self.sb, linger)
        # a call blocked on this socket in another thread wakes now and sees the close
        zx_sig_send(&self.sb.mb.sig)
        zx_sockbase_unref(self.sb)
        self.sb = NULL
        self.core.sb = NULL
        ctx.socket_closed(self)

    @property
    def closed(self):
        if self._shadowed is not None:
            return self._shadowed._closed
        return self._closed

    # ------------------------------------------------------------ options (socket_options.pxi)

    def set(self, int option, optval):
        """Set a socket option (pyzmq's setsockopt)."""
        if self._shadowed is not None:
            return Socket.set(self._shadowed, option, optval)
        _setopt(self, option, optval)

    def get(self, int option):
        """Get a socket option (pyzmq's getsockopt)."""
        if self._shadowed is not None:
            return Socket.get(self._shadowed, option)
        return _getopt(self, option)

    # ------------------------------------------------------------ for poll/asyncio

    def _signaler_fd(self):
        if self._shadowed is not None:
            return self._shadowed._signaler_fd()
        return self.sb.rsig.r

    def _mailbox_fd(self):
        if self._shadowed is not None:
            return self._shadowed._mailbox_fd()
        return self.sb.mb.sig.r

    def _drain_signaler(self):
        # after a wait saw either fd: drain both, then make FD truthful again
        if self._shadowed is not None:
            return self._shadowed._drain_signaler()
        if self.sb != NULL:
            zx_sig_drain(&self.sb.rsig)
            zx_sig_drain(&self.sb.mb.sig)
            self.fd_ready = False
            if self.fd_exported and not self._closed:
                self._sync_fd()


include "socket_endpoints.pxi"
include "socket_options.pxi"
