# Socket core: the Python API, the options common to every type (driven by the options
# table in zmqx/constants.py), endpoints, the slot array (one per peer), lifecycle, and the
# blocking/poll logic. What happens to a message is the socket type's business: one
# indirect call per frame into its room (ops.send / ops.recv, see sockcore.pxd).
# Threading: an app thread holds the GIL while it touches its links and releases it only
# to wait on the socket's signaler. Per message: no syscall, no malloc, no GIL release in
# steady state (the signaler is only written when the other side sleeps). Thread-safe
# types (ZX_T_THREADSAFE) also take a per-socket lock around each attempt; others don't.
import os
import weakref
cimport cython

from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS, PyBUF_WRITABLE
from cpython.exc cimport PyErr_CheckSignals
from cpython.pythread cimport PyThread_get_thread_ident
from libc.stdint cimport int64_t, uint32_t
from libc.stdlib cimport malloc, calloc, realloc, free
from libc.string cimport memcpy, memset, memmove
from libc.errno cimport errno as _c_errno

from zmqx._core.atomic cimport zx_load, zx_store, zx_store_ptr
from zmqx._core.platform cimport *
from zmqx._core.mailbox cimport *
from zmqx._core.pipe cimport *
from zmqx._core.msg cimport *
from zmqx._core.msg cimport Frame, MessageTracker, _group_bytes
from zmqx._core.io_thread cimport *
from zmqx._core.context cimport Context, zx_fork_generation
from zmqx._core.context import _spin_ns_of
from zmqx._core.slots cimport zx_slot, zx_slot_readable, zx_slot_write
from zmqx._core.sockcore cimport (zx_sock, zx_sockops, zx_sockstats, ZX_T_SEND, ZX_T_RECV, ZX_T_ATTACH_LATE,
                                  ZX_T_THREADSAFE, ZX_T_SINGLEPART, ZX_T_CONNECT_PEER)
from zmqx._core.sockcore cimport ZX_T_GROUPS, ZX_T_UDP, ZX_OPT_JOIN, ZX_OPT_LEAVE, zx_group
from zmqx._core.socktypes cimport zx_socktype_ops
from zmqx._core.zmtp cimport zx_socktype_compatible, ZX_PAIR
from zmqx._core.monitor cimport *

from zmqx import _endpoint
from zmqx.error import ZMQError, Again, ContextTerminated
from zmqx._core.msg import COPY_THRESHOLD, _FINISHED_TRACKER
import errno as _errno

cdef int EINVAL_ = _errno.EINVAL
cdef int ENOTSOCK_ = _errno.ENOTSOCK
cdef int ENOTSUP_ = _errno.ENOTSUP
cdef int ENOENT_ = _errno.ENOENT
cdef int EFAULT_ = _errno.EFAULT

cdef enum:
    F_DONTWAIT = 1
    F_SNDMORE = 2
    P_POLLIN = 1
    P_POLLOUT = 2



cdef int64_t _deadline(int timeout_ms) noexcept nogil:
    # -1: wait forever; 0: don't wait; else an absolute monotonic time
    if timeout_ms < 0:
        return -1
    if timeout_ms == 0:
        return 0
    return zx_now_ms() + timeout_ms


cdef int _spin_poked(zx_sockbase *sb, pollfd *pfd, int64_t until_ns) noexcept nogil:
    # _wait's spin for a classic socket: with spin_state 1 a waker swaps in 2 instead of
    # writing an fd, so a wake-up costs neither side a system call. Wake-ups sent before
    # the 1 was seen are on the fds: looked at first, then every 16 rounds. The state is
    # always left with an exchange, which orders this thread after any waker that swapped
    # in its 2 (and so after the message it published). Returns > 0 if woken; the fds'
    # revents say what to drain (nothing, after a poke)
    cdef int rc
    cdef int k = 0
    zx_xchg(&sb.spin_state, 1)
    while True:
        if (k & 15) == 0:
            rc = zx_poll_fds(pfd, 2, 0)
            if rc > 0:
                zx_xchg(&sb.spin_state, 0)
                return rc
        if zx_load(&sb.spin_state) == 2 or zx_load(&sb.mb.pending):
            break
        k += 1
        if zx_now_ns() >= until_ns:
            if zx_xchg(&sb.spin_state, 0) == 2:
                pfd[0].revents = 0
                pfd[1].revents = 0
                return 1
            return 0
        zx_cpu_yield()
    zx_xchg(&sb.spin_state, 0)
    pfd[0].revents = 0
    pfd[1].revents = 0
    return 1


@cython.no_gc_clear      # __dealloc__ needs self.context to deregister and close
cdef class Socket:

    def __cinit__(self, *args, **kwargs):
        self.sb = NULL
        self.tlock = NULL
        self._tally = NULL
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
        if self.ops.flags & ZX_T_THREADSAFE:
            self.tlock = <zx_mutex_t *>malloc(sizeof(zx_mutex_t))
            if self.tlock == NULL:
                zx_sockbase_unref(self.sb)
                self.sb = NULL
                context.socket_closed(self)
                raise MemoryError()
            zx_mutex_init(self.tlock)
        self._closed = False
        self._gen = zx_fork_generation()
        self._tally = <zx_tally *>calloc(1, sizeof(zx_tally))
        if self._tally != NULL:      # (without it, stats() after close has no linger count)
            self._tally.refs = 2
            self.sb.tally = self._tally
        memset(&self.opts, 0, sizeof(zx_opts))
        self.opts.socktype = socket_type
        self.opts.wire = self.ops.wire
        _options_init(self)
        self.core.socktype = socket_type
        self.core.opts = &self.opts
        self.core.sb = self.sb
        self.core.ops = self.ops
        self.core.rgroup.len = -1
        self._tstate = self.ops.init(&self.core)
        self.core.state = <void *>self._tstate
        self.next_endpoint_id = 1
        self._endpoints = {}
        self._dead_eids = set()
        self._last_endpoint = b""
        self.connect_rid = None
        self.spin_max_ns = context._spin_ns
        self.spin_ns = self.spin_max_ns        # a new socket assumes a prompt peer

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
        if self.tlock != NULL:
            zx_mutex_destroy(self.tlock)
            free(self.tlock)
            self.tlock = NULL
        zx_tally_unref(self._tally)
        self._tally = NULL

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

    cdef int _lock(self) except -1:
        # thread-safe types (a no-op for the others): take the socket's lock, reentrant
        # for the thread that holds it. A thread that must wait for it waits without the
        # GIL (the holder may need the GIL to finish). Never held across a blocking wait
        cdef unsigned long me
        if self.tlock == NULL or self._gen != zx_fork_generation():
            return 0                # (after fork the holder may not exist: _check refuses)
        me = PyThread_get_thread_ident()
        if self.tlock_depth and self.tlock_owner == me:
            self.tlock_depth += 1
            return 0
        if not zx_mutex_trylock(self.tlock):
            with nogil:
                zx_mutex_lock(self.tlock)
        self.tlock_owner = me
        self.tlock_depth = 1
        return 0

    cdef void _unlock(self) noexcept:
        if self.tlock == NULL or self._gen != zx_fork_generation():
            return
        self.tlock_depth -= 1
        if self.tlock_depth == 0:
            self.tlock_owner = 0
            zx_mutex_unlock(self.tlock)

    cdef void _pass_wake(self) noexcept:
        # a thread-safe socket's threads share one signaler, and the one that wakes first
        # drains it: after doing something, wake the others so none sleeps past a message
        # (or room) that is there for it. Only while someone waits, so not per message
        if self.nwaiters and self.sb != NULL:
            zx_sig_send(&self.sb.rsig)

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
                self._props_link = NULL
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
        # a new peer can let a waiting call go on: messages it sent before anyone could be
        # woken (inproc connect before bind), or room to send (a send that found no peer
        # yet). The wait may be this thread's own: an asyncio or eventloop socket whose
        # send was queued before connect() ran in the same thread, which nothing else wakes
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
                    self._props_link = NULL
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
        cdef int64_t now, t0, until
        cdef int timeout, rc
        cdef pollfd pfd[2]
        cdef zx_sockbase *sb
        if deadline == 0:
            return 1
        if self._closed:            # closed by another thread since its last check
            raise ZMQError(ENOTSOCK_)
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
        self.nwaiters += 1
        self.core.stats.waits += 1
        rc = 0
        t0 = 0
        if self.spin_max_ns:
            t0 = zx_now_ns()
            if self.spin_ns and not self._io_peers():
                # never past the caller's deadline (a whole ms: timeout is at least 1)
                until = t0 + min(self.spin_ns, <int64_t>timeout * 1000000)
                self.core.stats.waits_spun += 1
                if self.tlock == NULL:
                    with nogil:
                        rc = _spin_poked(sb, pfd, until)
                else:
                    # (several threads may wait on a thread-safe socket: a poke would
                    # wake only one of them, maybe not the one it was for)
                    with nogil:
                        rc = zx_spin_poll(pfd, 2, until)
                self.core.stats.waits_ended_spinning += rc > 0
        if rc <= 0:
            with nogil:
                rc = zx_poll_fds(pfd, 2, timeout)
        if self.spin_max_ns:
            # spin next time only if this wait ended within the bound: a peer that answers
            # that fast is worth the CPU, a slow or idle one is not
            self.spin_ns = self.spin_max_ns if rc > 0 and zx_now_ns() - t0 <= self.spin_max_ns else 0
        self.nwaiters -= 1
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

    cdef int _send_msg(self, zx_msg *m, int flags, bytes group=None) except -1:
        # takes ownership of *m whatever happens
        cdef int64_t deadline = -2
        cdef int rc
        cdef int64_t size = m.size
        if self._shadowed is not None:
            return self._shadowed._send_msg(m, flags, group)
        if self.tlock != NULL:
            return _send_locked(self, m, flags, group)
        try:
            if flags & F_SNDMORE and self.ops.flags & ZX_T_SINGLEPART:
                raise ZMQError(EINVAL_)
            self._check()
            while True:
                if self.core.need_reap and not self.sndmore and not self.rcvmore:
                    self._reap()
                _set_send_group(self, group)     # set and cleared around the one call
                rc = self.ops.send(&self.core, m, flags)
                self.core.sgroup.len = 0
                if rc:
                    self.sndmore = (flags & F_SNDMORE) != 0
                    self.core.stats.bytes_sent += size         # Socket.stats()
                    self.core.stats.msgs_sent += not self.sndmore
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
            self.core.sgroup.len = 0        # a message's group never leaks into the next

    cdef int _recv_msg(self, zx_msg *m, int flags, zx_group *g=NULL) except -1:
        cdef int64_t deadline = -2
        if self._shadowed is not None:
            return self._shadowed._recv_msg(m, flags, g)
        if self.tlock != NULL:
            return _recv_locked(self, m, flags, g)
        self._check()
        while True:
            if self.core.need_reap and not self.sndmore and not self.rcvmore:
                self._reap()
            if self.ops.recv(&self.core, m):
                _take_recv_group(self, g)
                self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
                self.core.stats.bytes_received += m.size       # Socket.stats()
                self.core.stats.msgs_received += not self.rcvmore
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
        if self._shadowed is not None:
            return self._shadowed._poll_events()
        if self.tlock == NULL:
            return _readiness(self)
        self._lock()
        try:
            return _readiness(self)
        finally:
            self._unlock()

    cdef int _try_recv(self, zx_msg *m) except -1:
        # one frame if there is one, without waiting and without raising Again
        if self._shadowed is not None:
            return self._shadowed._try_recv(m)
        if self.tlock == NULL:
            return _recv_now(self, m)
        self._lock()
        try:
            return _recv_now(self, m)
        finally:
            self._unlock()

    cdef bint _io_peers(self) noexcept:
        # a peer behind an I/O thread: that thread spins after traffic (io_thread.pyx),
        # which is what makes a network round trip fast; this thread spinning too would
        # only take CPU from it when both share one (large messages arrive at half
        # speed), so only sockets whose peers are all inproc spin (_wait, zmq_poll)
        cdef int i
        for i in range(self.core.nslots):
            if self.core.slots[i].io:
                return True
        return False

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
        """Send one frame: bytes, any contiguous buffer, or a Frame. routing_id (SERVER,
        PEER) names the peer, as Frame.routing_id does; group is the RADIO group (str or
        bytes; on a Frame it becomes the Frame's group, as pyzmq's)."""
        cdef uint32_t rid = 0
        cdef bytes g = None
        if self._shadowed is not None:
            return Socket.send(self._shadowed, data, flags, copy, track, routing_id, group)
        if routing_id is not None:
            rid = _routing_id(routing_id)
        if group is not None:
            if isinstance(data, Frame):
                (<Frame>data).set("group", group)
            else:
                g = _group_bytes(group)
        return self._send_one(data, flags, copy, track, rid, g)

    cdef object _send_one(self, object data, int flags, bint copy, bint track, uint32_t rid=0,
                          bytes group=None):
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
            if group is None:
                group = f._group
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
        if rid:
            m.routing_id = rid
        self._send_msg(&m, flags, group)
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
        return _recv_into(self, buffer, nbytes, flags)   # (socket_props.pxi)

    cdef object _recv_one(self, int flags, bint copy):
        cdef zx_msg m
        cdef Frame f
        cdef zx_group g
        zx_msg_init(&m)
        if copy:
            self._recv_msg(&m, flags)
            return zx_msg_take_bytes(&m)     # the sent bytes object itself where it can be
        g.len = -1
        self._recv_msg(&m, flags, &g)
        f = Frame.from_msg(&m)
        if g.len >= 0:                       # the rooms that carry groups (DISH)
            f._group = PyBytes_FromStringAndSize(<char *>g.data, g.len)
        if self.last_in != NULL:
            f._properties = _props_of(self, <zx_link *>self.last_in)
        return f

    def join(self, group):
        """Join a RADIO/DISH group (DISH only): str or bytes, up to 255 bytes."""
        self._group_op(ZX_OPT_JOIN, group)

    def leave(self, group):
        """Leave a RADIO/DISH group joined before (DISH only)."""
        self._group_op(ZX_OPT_LEAVE, group)

    def _group_op(self, int op, group):
        if self._shadowed is not None:
            return self._shadowed._group_op(op, group)
        group = _group_bytes(group)
        self._lock()
        try:
            self._check()
            if not (self.ops.flags & ZX_T_GROUPS):
                raise ZMQError(ENOTSUP_)
            self.ops.setopt(&self.core, op, group)
        finally:
            self._unlock()

    def send_multipart(self, msg_parts, int flags=0, copy=True, track=False, **kwargs):
        """Send a sequence of frames as one message (delivered whole or not at all)."""
        cdef Py_ssize_t n, i
        if self._shadowed is not None:
            return Socket.send_multipart(self._shadowed, msg_parts, flags, copy, track, **kwargs)
        cdef uint32_t rid = 0
        if kwargs and kwargs.get("routing_id") is not None:
            rid = _routing_id(kwargs["routing_id"])
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
            self._send_one(parts[i], flags | F_SNDMORE, copy, track, rid)
        return self._send_one(parts[n - 1], flags & ~F_SNDMORE, copy, track, rid)

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
                if ev:
                    self._pass_wake()      # thread-safe types: the others look again too
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
        self._lock()
        try:
            _bind(self, addr)
        finally:
            self._unlock()

    def bind_to_random_port(self, addr, int min_port=49152, int max_port=65536, int max_tries=100):
        """Bind tcp://addr to a port the OS picks; returns the port."""
        if self._shadowed is not None:
            return Socket.bind_to_random_port(self._shadowed, addr, min_port, max_port, max_tries)
        return _bind_to_random_port(self, addr, min_port, max_port, max_tries)

    def connect(self, addr):
        """Connect to an endpoint; works before the peer binds and reconnects forever."""
        if self._shadowed is not None:
            return Socket.connect(self._shadowed, addr)
        self._lock()
        try:
            _connect(self, addr)
        finally:
            self._unlock()

    def connect_peer(self, addr):
        """PEER: connect, and return the routing id of the new peer (libzmq's
        zmq_connect_peer). ENOTSUP for other types; EFAULT with IMMEDIATE set (the peer
        gets no id until its handshake)."""
        cdef uint32_t rid
        if self._shadowed is not None:
            return Socket.connect_peer(self._shadowed, addr)
        if self._closed:
            raise ZMQError(ENOTSOCK_)
        if not (self.ops.flags & ZX_T_CONNECT_PEER):
            raise ZMQError(ENOTSUP_)
        if self.opts.immediate:
            raise ZMQError(EFAULT_)
        self._lock()
        try:
            self.core.last_rid = 0
            _connect(self, addr)
            rid = self.core.last_rid
        finally:
            self._unlock()
        if rid == 0:                  # refused at once (an incompatible inproc binder)
            raise ZMQError(_errno.ECONNREFUSED)
        return rid

    def unbind(self, addr):
        if self._shadowed is not None:
            return Socket.unbind(self._shadowed, addr)
        self._lock()
        try:
            _close_endpoint(self, addr, "bind")
        finally:
            self._unlock()

    def disconnect(self, addr):
        if self._shadowed is not None:
            return Socket.disconnect(self._shadowed, addr)
        self._lock()
        try:
            _close_endpoint(self, addr, "connect")
        finally:
            self._unlock()

    def _bind_inproc(self, name):
        _bind_inproc(self, name)

    def _accept_inproc(self, size_t addr, Socket peer):
        _accept_inproc(self, addr, peer)

    cdef int _accept_inproc_link(self, zx_link *link, Socket peer) except -1:
        return _accept_inproc_link(self, link, peer)

    cdef int _connect_to_binder(self, zx_link *link, Socket binder) except -1:
        return _connect_to_binder(self, link, binder)

    # ------------------------------------------------------------ monitor (socket_monitor.pxi)

    def monitor(self, addr, events=ZX_EVENT_ALL):
        """Send this socket's lifecycle events (libzmq's ZMQ_EVENT_*, version-1 format) to
        a PAIR socket that connects to ``addr`` (inproc). ``addr=None`` stops the monitor
        (MONITOR_STOPPED is sent if ``events`` had it)."""
        _monitor(self, addr, int(events))

    def stats(self):
        """A snapshot of this socket's counters: messages and bytes sent and received,
        drops by reason, what is queued per peer, lifecycle event counts, and for each peer
        its endpoint, routing id, ZMTP version, mechanism and type (docs/observability.md)."""
        return _stats(self)

    # ------------------------------------------------------------ closing

    def close(self, linger=None):
        """Close the socket. linger (ms) bounds how long queued messages keep being sent."""
        if self._shadowed is not None:
            return Socket.close(self._shadowed, linger)
        if self._closed:
            return
        self._lock()
        try:
            self._close(self.copts.linger if linger is None else linger)
        finally:
            self._unlock()

    def _close(self, int linger):
        _close_socket(self, linger)       # (socket_close.pxi)

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
        self._lock()
        try:
            _setopt(self, option, optval)
        finally:
            self._unlock()

    def get(self, int option):
        """Get a socket option (pyzmq's getsockopt)."""
        if self._shadowed is not None:
            return Socket.get(self._shadowed, option)
        self._lock()
        try:
            return _getopt(self, option)
        finally:
            self._unlock()

    @property
    def spin_us(self):
        """How long (µs) a blocking send/recv/poll keeps looking before it sleeps, unless
        the wait before it took longer than that (a slow or idle peer is not worth the
        CPU). Only while every peer is inproc: for tcp/ipc peers the I/O thread spins.
        0: sleep at once, as libzmq. Default: the context's spin_us."""
        if self._shadowed is not None:
            return self._shadowed.spin_us
        return self.spin_max_ns / 1000.0

    @spin_us.setter
    def spin_us(self, value):
        if self._shadowed is not None:
            self._shadowed.spin_us = value
            return
        self.spin_max_ns = _spin_ns_of(value)
        self.spin_ns = self.spin_max_ns

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


include "socket_draft.pxi"
include "socket_close.pxi"
include "socket_props.pxi"
include "socket_endpoints.pxi"
include "socket_udp.pxi"
include "socket_options.pxi"
include "socket_zap.pxi"
include "socket_monitor.pxi"
include "socket_stats.pxi"
