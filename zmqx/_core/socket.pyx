# Socket core. An app thread holds the GIL while it touches its links and releases it only
# to wait on the socket's signaler. Per message: no syscall, no malloc, no GIL release in
# steady state (the signaler is only written when the other side sleeps).
import os
import weakref
cimport cython

from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_ANY_CONTIGUOUS
from cpython.exc cimport PyErr_CheckSignals
from libc.stdint cimport int64_t
from libc.stdlib cimport malloc, realloc, free
from libc.string cimport memcpy, memset, memmove

from zmqx._core.atomic cimport zx_load, zx_store
from zmqx._core.platform cimport *
from zmqx._core.mailbox cimport *
from zmqx._core.pipe cimport *
from zmqx._core.msg cimport *
from zmqx._core.msg cimport Frame, MessageTracker
from zmqx._core.io_thread cimport *
from zmqx._core.context cimport Context
from zmqx._core.trie cimport (zx_trie, zx_trie_new, zx_trie_free, zx_trie_add, zx_trie_rm,
                              zx_trie_match, zx_trie_foreach, zx_trie_cb)
from zmqx._core.zmtp cimport (zx_socktype_compatible, ZX_PAIR, ZX_PUB, ZX_SUB, ZX_REQ,
                              ZX_REP, ZX_DEALER, ZX_ROUTER, ZX_PULL, ZX_PUSH, ZX_XPUB,
                              ZX_XSUB, ZX_STREAM)

from zmqx import _endpoint
from zmqx.error import ZMQError, Again, ContextTerminated
from zmqx._core.msg import COPY_THRESHOLD
import errno as _errno

cdef int EAGAIN_ = _errno.EAGAIN
cdef int EINVAL_ = _errno.EINVAL
cdef int ENOTSUP_ = _errno.ENOTSUP
cdef int ENOTSOCK_ = _errno.ENOTSOCK
cdef int ENOENT_ = _errno.ENOENT
cdef int EHOSTUNREACH_ = _errno.EHOSTUNREACH
from zmqx.constants import EFSM as _EFSM
cdef int EFSM_ = _EFSM

# option numbers (libzmq's)
cdef enum:
    O_AFFINITY = 4
    O_ROUTING_ID = 5
    O_SUBSCRIBE = 6
    O_UNSUBSCRIBE = 7
    O_RATE = 8
    O_RECOVERY_IVL = 9
    O_SNDBUF = 11
    O_RCVBUF = 12
    O_RCVMORE = 13
    O_FD = 14
    O_EVENTS = 15
    O_TYPE = 16
    O_LINGER = 17
    O_RECONNECT_IVL = 18
    O_BACKLOG = 19
    O_RECONNECT_IVL_MAX = 21
    O_MAXMSGSIZE = 22
    O_SNDHWM = 23
    O_RCVHWM = 24
    O_MULTICAST_HOPS = 25
    O_RCVTIMEO = 27
    O_SNDTIMEO = 28
    O_LAST_ENDPOINT = 32
    O_TCP_KEEPALIVE = 34
    O_TCP_KEEPALIVE_CNT = 35
    O_TCP_KEEPALIVE_IDLE = 36
    O_TCP_KEEPALIVE_INTVL = 37
    O_IMMEDIATE = 39
    O_IPV6 = 42
    O_MECHANISM = 43
    O_HANDSHAKE_IVL = 66
    O_HEARTBEAT_IVL = 75
    O_HEARTBEAT_TTL = 76
    O_HEARTBEAT_TIMEOUT = 77
    O_CONNECT_TIMEOUT = 79
    O_ROUTER_MANDATORY = 33
    O_XPUB_VERBOSE = 40
    O_ROUTER_RAW = 41
    O_PROBE_ROUTER = 51
    O_REQ_CORRELATE = 52
    O_REQ_RELAXED = 53
    O_CONFLATE = 54
    O_ROUTER_HANDOVER = 56
    O_CONNECT_ROUTING_ID = 61
    O_XPUB_NODROP = 69
    O_XPUB_MANUAL = 71
    O_XPUB_WELCOME_MSG = 72
    O_INVERT_MATCHING = 74
    O_XPUB_VERBOSER = 78
    O_HWM = 1

cdef enum:
    F_DONTWAIT = 1
    F_SNDMORE = 2
    P_POLLIN = 1
    P_POLLOUT = 2

# bumped in a forked child: sockets made before the fork refuse to work there
cdef long _fork_gen = 0


def _after_fork_in_child():
    global _fork_gen
    _fork_gen += 1


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_after_fork_in_child)


cdef int64_t _deadline(int timeout_ms) noexcept nogil:
    # -1: wait forever; 0: don't wait; else an absolute monotonic time
    if timeout_ms < 0:
        return -1
    if timeout_ms == 0:
        return 0
    return zx_now_ms() + timeout_ms


cdef bytes _bytes_opt(object optval):
    # bytes-valued options take a buffer: not str (use set_string), not int
    if isinstance(optval, str):
        raise TypeError("unicode not allowed, use setsockopt_string")
    if isinstance(optval, int):
        raise TypeError("option value must be bytes, not int")
    return bytes(memoryview(optval))


cdef bint _can_send(int t) noexcept nogil:
    return t != ZX_PULL and t != ZX_SUB


cdef bint _can_recv(int t) noexcept nogil:
    return t != ZX_PUSH and t != ZX_PUB


@cython.no_gc_clear      # __dealloc__ needs self.context to deregister and close
cdef class Socket:

    def __cinit__(self, *args, **kwargs):
        self.sb = NULL
        self.subs = NULL
        self.has_prefetched = False
        self.slots = NULL
        self.nslots = 0
        self.cap = 0
        self._closed = True

    def __init__(self, Context context=None, int socket_type=-1, **kwargs):
        if context is None:
            raise ValueError("a Socket needs a Context")
        if socket_type < 0 or socket_type > ZX_XSUB:
            raise ZMQError(EINVAL_, "Invalid argument (socket type)")
        self.context = context
        self.socket_type = socket_type
        context._register_socket(self)
        self.sb = zx_sockbase_new(socket_type)
        if self.sb == NULL:
            context.socket_closed(self)
            raise MemoryError()
        self._closed = False
        memset(&self.opts, 0, sizeof(zx_opts))
        self.opts.socktype = socket_type
        self.opts.sndhwm = 1000
        self.opts.rcvhwm = 1000
        self.opts.maxmsgsize = -1
        self.opts.reconnect_ivl = 100
        self.opts.reconnect_ivl_max = 0
        self.opts.handshake_ivl = 30000
        self.opts.sndbuf = -1
        self.opts.rcvbuf = -1
        self.opts.tcp_keepalive = -1
        self.opts.tcp_keepalive_cnt = -1
        self.opts.tcp_keepalive_idle = -1
        self.opts.tcp_keepalive_intvl = -1
        self._linger = -1
        self.rcvtimeo = -1
        self.sndtimeo = -1
        self.backlog = 100
        self.ipv6 = 0
        self.connect_timeout = 0
        self.cur_in = -1
        self.cur_out = -1
        self.lb_next = 0
        self.fq_next = 0
        self.rcvmore = False
        self.need_reap = False
        self.next_endpoint_id = 1
        self._endpoints = {}
        self._dead_eids = set()
        self._gen = _fork_gen
        self.fd_exported = False
        self.fd_ready = False
        self._last_endpoint = b""
        self._pid = os.getpid()
        self._rids = []
        self._routes = {}
        self._pending_in = []
        self.out_drop = False
        self.out_dist = False
        zx_msg_init(&self.prefetched)
        self.has_prefetched = False
        self._envelope = None
        self.reply_link = NULL
        self.req_waiting = self.rep_replying = self.req_body_started = False
        self.req_id = 0
        self.req_correlate = self.req_relaxed = False
        self.router_mandatory = self.router_handover = self.probe_router = False
        self.connect_rid = None
        self.next_rid = 0x6B8B4567      # libzmq starts from a random value too
        self.xpub_verbose = self.xpub_verboser = self.xpub_nodrop = self.xpub_manual = False
        self.xpub_welcome = None
        self.xpub_last_link = NULL
        self.invert_matching = False
        self.conflate = False
        self.subs = NULL
        if socket_type in (ZX_SUB, ZX_XSUB, ZX_XPUB):
            self.subs = zx_trie_new()
            if self.subs == NULL:
                raise MemoryError()

    def __dealloc__(self):
        if not self._closed and self._gen == _fork_gen:
            try:
                self._close(self._linger)
            except BaseException:
                pass
        if self.subs != NULL:
            zx_trie_free(self.subs)
            self.subs = NULL

    # ------------------------------------------------------------ plumbing

    cdef int _check(self) except -1:
        if self._closed:
            raise ZMQError(ENOTSOCK_)
        if self._gen != _fork_gen:
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
                for i in range(self.nslots):
                    if self.slots[i].link == link:
                        if not self.slots[i].dying:
                            self.slots[i].dying = True
                            self._slot_detached(i)
                        self.need_reap = True
                        break
            elif cmd.type == ZX_CMD_HICCUP:
                if not self._closed:
                    self._hiccup(link)
                zx_link_unref(link)
        return 0

    cdef int _add_slot(self, zx_link *link, int side, bint io) except -1:
        cdef zx_slot *ns
        cdef int idx
        if self.nslots == self.cap:
            ns = <zx_slot *>realloc(self.slots, sizeof(zx_slot) * (self.cap * 2 + 4))
            if ns == NULL:
                raise MemoryError()
            self.slots = ns
            self.cap = self.cap * 2 + 4
        if link.release[side] == NULL:      # not already set by whoever made the link
            zx_sockbase_ref(self.sb)
            zx_link_set_waker(link, side, zx_sockbase_wake, self.sb, zx_sockbase_unref)
        idx = self.nslots
        memset(&self.slots[idx], 0, sizeof(zx_slot))
        self.slots[idx].link = link
        self.slots[idx].side = side
        self.slots[idx].io = io
        self.nslots += 1
        self._rids.append(None)
        if zx_load(&link.gone[1 - side]):
            self.slots[idx].dying = True
            self.need_reap = True
        else:
            self._slot_attached(idx)
        # messages sent before anyone could be woken (inproc connect before bind)
        if zx_pipe_readable(zx_link_in(link, side)):
            zx_sig_send(&self.sb.rsig)
        return 0

    cdef void _reap(self):
        # drop links whose peer went away once everything they sent has been read
        cdef int i = 0
        cdef zx_link *link
        cdef bint changed = False
        self.need_reap = False
        while i < self.nslots:
            if self.slots[i].dying and i != self.cur_in and i != self.cur_out:
                link = self.slots[i].link
                if self.slots[i].refused or not zx_pipe_readable(zx_link_in(link, self.slots[i].side)):
                    zx_store(&link.gone[self.slots[i].side], 1)
                    if self.slots[i].subs != NULL:
                        zx_trie_free(self.slots[i].subs)
                    if link == self.reply_link:
                        self.reply_link = NULL
                    if link == self.xpub_last_link:
                        self.xpub_last_link = NULL
                    zx_link_unref(link)
                    memmove(&self.slots[i], &self.slots[i + 1], sizeof(zx_slot) * (self.nslots - i - 1))
                    del self._rids[i]
                    self.nslots -= 1
                    if self.cur_in > i:
                        self.cur_in -= 1
                    if self.cur_out > i:
                        self.cur_out -= 1
                    changed = True
                    continue
                self.need_reap = True
            i += 1
        if changed:
            if self.socket_type == ZX_ROUTER:
                self._routes = {rid: k for k, rid in enumerate(self._rids) if rid is not None}
            if self.nslots:
                self.lb_next %= self.nslots
                self.fq_next %= self.nslots
            else:
                self.lb_next = self.fq_next = 0

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
        if self.sb != NULL:
            zx_sig_send(&self.sb.mb.sig)

    # ------------------------------------------------------------ routing primitives

    cdef int _pick_out(self) noexcept:
        # load-balance: the next live link whose pipe is under HWM
        cdef int n = self.nslots
        cdef int k, i
        cdef zx_slot *s
        if self.socket_type == ZX_PAIR:
            if n == 0 or self.slots[0].dying:
                return -1
            if zx_pipe_check_write(zx_link_out(self.slots[0].link, self.slots[0].side)):
                return 0
            return -1
        for k in range(n):
            i = (self.lb_next + k) % n
            s = &self.slots[i]
            if s.dying:
                continue
            if zx_pipe_check_write(zx_link_out(s.link, s.side)):
                self.lb_next = (i + 1) % n
                return i
        return -1

    cdef int _write_slot(self, int idx, zx_msg *m, bint more) except -1:
        # moves *m into the slot's pipe (dropped if the peer is gone); flushes at the end
        cdef zx_slot *s = &self.slots[idx]
        cdef zx_pipe *p = zx_link_out(s.link, s.side)
        if more:
            m.flags |= ZX_MSG_MORE
        else:
            m.flags &= ~ZX_MSG_MORE
        if s.dying:
            zx_msg_close(m)
            return 0
        if zx_pipe_write(p, m) < 0:
            zx_msg_close(m)
            raise MemoryError()
        if not more:
            zx_pipe_flush(p, s.link)
        return 0

    cdef int _fq_read(self, zx_msg *m, int *idx) except -1:
        # fair-queue: one frame; a message's frames all come from the same link
        cdef int n, k, i
        cdef zx_slot *s
        cdef zx_pipe *p
        cdef zx_msg newer
        if self.cur_in >= 0:
            s = &self.slots[self.cur_in]
            idx[0] = self.cur_in
            if zx_pipe_read(zx_link_in(s.link, s.side), m, s.link):
                if not (m.flags & ZX_MSG_MORE):
                    self.cur_in = -1
                return 1
            self.cur_in = -1           # cannot happen: messages are published whole
        n = self.nslots
        for k in range(n):
            i = (self.fq_next + k) % n
            s = &self.slots[i]
            if s.refused:
                continue
            p = zx_link_in(s.link, s.side)
            if zx_pipe_read(p, m, s.link):
                if m.flags & ZX_MSG_MORE:
                    self.cur_in = i
                elif self.conflate:
                    # keep only the newest single-part message
                    while zx_pipe_readable(p):
                        zx_pipe_read(p, &newer, s.link)
                        zx_msg_close(m)
                        memcpy(m, &newer, sizeof(zx_msg))
                        if m.flags & ZX_MSG_MORE:
                            self.cur_in = i
                            break
                self.fq_next = (i + 1) % n
                idx[0] = i
                return 1
            if s.dying:
                self.need_reap = True
        return 0

    cdef int _slot_attached(self, int idx) except -1:
        cdef int t = self.socket_type
        cdef zx_slot *s = &self.slots[idx]
        cdef zx_msg m
        cdef int i
        if t == ZX_PAIR and self.nslots > 1:
            # PAIR is exclusive: a second peer is refused, as libzmq does
            for i in range(self.nslots - 1):
                if not self.slots[i].dying:
                    s.dying = True
                    s.refused = True
                    zx_store(&s.link.gone[s.side], 1)
                    if not s.io and s.link.release_arg[1 - s.side] != NULL:
                        zx_mailbox_post(&(<zx_sockbase *>s.link.release_arg[1 - s.side]).mb,
                                        ZX_CMD_TERM, s.link, 0)
                    self.need_reap = True
                    return 0
        if t == ZX_PUB or t == ZX_XPUB:
            s.subs = zx_trie_new()
            if s.subs == NULL:
                raise MemoryError()
            if self.xpub_welcome is not None:
                if zx_msg_init_copy(&m, <char *>self.xpub_welcome, len(self.xpub_welcome)) < 0:
                    raise MemoryError()
                self._write_slot(idx, &m, False)
        elif t == ZX_SUB or t == ZX_XSUB:
            self._hiccup(s.link)
        elif t == ZX_ROUTER:
            _router_attach(self, idx)
        if self.probe_router and (t == ZX_ROUTER or t == ZX_DEALER or t == ZX_REQ) \
                and not s.link.probed:
            zx_msg_init(&m)
            self._write_slot(idx, &m, False)
        return 0

    cdef int _slot_detached(self, int idx) except -1:
        # the peer went away (its remaining messages are still read)
        cdef int t = self.socket_type
        if t == ZX_ROUTER:
            rid = self._rids[idx]
            if rid is not None and self._routes.get(rid) == idx:
                del self._routes[rid]
            self._rids[idx] = None
        elif t == ZX_XPUB and self.slots[idx].subs != NULL:
            _xpub_drop_subs(self, idx)
        return 0

    cdef int _hiccup(self, zx_link *link) except -1:
        # (re)send every subscription to one link
        cdef int i
        if self.subs == NULL:
            return 0
        for i in range(self.nslots):
            if self.slots[i].link == link and not self.slots[i].dying:
                _resend_subs(self, i)
        return 0

    # ------------------------------------------------------------ send / recv loops

    cdef int _send_msg(self, zx_msg *m, int flags) except -1:
        # takes ownership of *m whatever happens
        cdef int64_t deadline = -2
        try:
            self._check()
            while True:
                if self.need_reap and self.cur_out < 0:
                    self._reap()
                if self._xsend(m, flags):
                    if self.fd_exported:
                        self._sync_fd()
                    return 0
                if deadline == -2:
                    deadline = 0 if flags & F_DONTWAIT else _deadline(self.sndtimeo)
                if self._wait(deadline):
                    raise Again()
                self._check()
        finally:
            zx_msg_close(m)

    cdef int _recv_msg(self, zx_msg *m, int flags) except -1:
        cdef int64_t deadline = -2
        self._check()
        while True:
            if self.need_reap and self.cur_in < 0:
                self._reap()
            if self._xrecv(m):
                self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
                if self.fd_exported:
                    self._sync_fd()
                return 0
            if deadline == -2:
                deadline = 0 if flags & F_DONTWAIT else _deadline(self.rcvtimeo)
            if self._wait(deadline):
                raise Again()
            self._check()

    cdef int _xsend(self, zx_msg *m, int flags) except -1:
        # 1: sent (or dropped by the pattern's rules); 0: must wait
        cdef int t = self.socket_type
        cdef int idx
        cdef bint more = (flags & F_SNDMORE) != 0
        if t == ZX_PUSH or t == ZX_PAIR or t == ZX_DEALER:
            if self.cur_out >= 0:
                idx = self.cur_out
            else:
                idx = self._pick_out()
                if idx < 0:
                    return 0
            self._write_slot(idx, m, more)
            self.cur_out = idx if more else -1
            return 1
        if t == ZX_PUB or t == ZX_XPUB:
            return _pub_send(self, m, more)
        if t == ZX_ROUTER:
            return _router_send(self, m, more)
        if t == ZX_REQ:
            return _req_send(self, m, more)
        if t == ZX_REP:
            return _rep_send(self, m, more)
        if t == ZX_XSUB:
            return _xsub_send(self, m, more)
        raise ZMQError(ENOTSUP_)

    cdef int _xrecv(self, zx_msg *m) except -1:
        # 1: a frame is in *m; 0: nothing to read now
        cdef int t = self.socket_type
        cdef int idx
        if t == ZX_PULL or t == ZX_PAIR or t == ZX_DEALER:
            return self._fq_read(m, &idx)
        if t == ZX_SUB or t == ZX_XSUB:
            return _sub_recv(self, m)
        if t == ZX_ROUTER:
            return _router_recv(self, m)
        if t == ZX_REQ:
            return _req_recv(self, m)
        if t == ZX_REP:
            return _rep_recv(self, m)
        if t == ZX_XPUB:
            return _xpub_recv(self, m)
        raise ZMQError(ENOTSUP_)

    cdef int _poll_events(self) except -1:
        cdef int ev = 0
        cdef int i, t = self.socket_type
        cdef zx_slot *s
        self._check()
        if self.need_reap and self.cur_in < 0 and self.cur_out < 0:
            self._reap()
        if t == ZX_PUB or t == ZX_XPUB:
            _pub_read_upstream(self)
            ev |= P_POLLOUT
            if t == ZX_XPUB and self._pending_in:
                ev |= P_POLLIN
            return ev
        if _can_recv(t):
            if self.cur_in >= 0 or self.has_prefetched:
                ev |= P_POLLIN
            elif t == ZX_REQ and not self.req_waiting:
                pass
            elif t == ZX_REP and self.rep_replying:
                pass
            else:
                for i in range(self.nslots):
                    s = &self.slots[i]
                    if zx_pipe_readable(zx_link_in(s.link, s.side)):
                        ev |= P_POLLIN
                        break
                    # arm the wake-up exactly as a failed read would
                    zx_xchg(&zx_link_in(s.link, s.side).reader_sleeping, 1)
                    if zx_pipe_readable(zx_link_in(s.link, s.side)):
                        ev |= P_POLLIN
                        break
        if _can_send(t):
            if t == ZX_REQ and self.req_waiting and not self.req_relaxed:
                pass
            elif t == ZX_REP:
                if self.rep_replying:
                    ev |= P_POLLOUT
            elif t == ZX_ROUTER or t == ZX_XSUB:
                ev |= P_POLLOUT
            elif self.cur_out >= 0 or self._pick_out() >= 0:
                ev |= P_POLLOUT
        return ev

    cdef int _try_recv(self, zx_msg *m) except -1:
        # one frame if there is one, without waiting and without raising Again
        self._check()
        if self.need_reap and self.cur_in < 0:
            self._reap()
        if self._xrecv(m):
            self.rcvmore = (m.flags & ZX_MSG_MORE) != 0
            return 1
        return 0

    cdef bint _in_ready(self) noexcept:
        cdef int i
        cdef zx_slot *s
        if self.cur_in >= 0 or self.has_prefetched or self._pending_in:
            return True
        # a recv that would raise EFSM is not "a message to read"
        if (self.socket_type == ZX_REQ and not self.req_waiting) or \
                (self.socket_type == ZX_REP and self.rep_replying):
            return False
        for i in range(self.nslots):
            s = &self.slots[i]
            if not s.refused and zx_pipe_readable(zx_link_in(s.link, s.side)):
                return True
        return False

    cdef int _sync_fd(self) except -1:
        # FD is level-triggered: readable exactly while a message waits. Writers signal
        # only a reader that armed its pipes, so: drain first, then look (which arms)
        if self.sb == NULL or not _can_recv(self.socket_type):
            return 0
        if self._in_ready():
            if not self.fd_ready:
                zx_sig_send(&self.sb.rsig)
                self.fd_ready = True
            return 0
        zx_sig_drain(&self.sb.rsig)
        self.fd_ready = False
        if self._poll_events_in():
            zx_sig_send(&self.sb.rsig)
            self.fd_ready = True
        return 0

    cdef bint _poll_events_in(self) except -1:
        return (self._poll_events() & P_POLLIN) != 0

    cdef int _send_subscription(self, int idx, bint subscribe, const unsigned char *p, size_t n) except -1:
        cdef zx_msg m
        if zx_msg_init_size(&m, n + 1) < 0:
            raise MemoryError()
        zx_msg_data(&m)[0] = 1 if subscribe else 0
        if n:
            memcpy(zx_msg_data(&m) + 1, p, n)
        m.flags = ZX_MSG_SUBSCRIPTION
        self._write_slot(idx, &m, False)
        return 0

    # ------------------------------------------------------------ messages

    def send(self, data, int flags=0, copy=True, track=False, routing_id=None, group=None):
        """Send one frame: bytes, any contiguous buffer, or a Frame."""
        return self._send_one(data, flags, copy, track)

    cdef object _send_one(self, object data, int flags, bint copy, bint track):
        cdef zx_msg m
        cdef Py_buffer view
        cdef zx_block *b
        cdef Frame f
        cdef MessageTracker tracker = None
        if PyBytes_CheckExact(data) and (copy or PyBytes_GET_SIZE(data) < COPY_THRESHOLD) and not track:
            if zx_msg_init_copy(&m, PyBytes_AS_STRING(data), PyBytes_GET_SIZE(data)) < 0:
                raise MemoryError()
        elif isinstance(data, Frame):
            f = <Frame>data
            zx_msg_copy(&m, &f.msg)          # a reference, not a copy, for block bodies
            tracker = f.tracker
        elif isinstance(data, str):
            raise TypeError("unicode not allowed, use send_string")
        else:
            if copy and not track:
                PyObject_GetBuffer(data, &view, PyBUF_ANY_CONTIGUOUS)
                try:
                    if zx_msg_init_copy(&m, view.buf, view.len) < 0:
                        raise MemoryError()
                finally:
                    PyBuffer_Release(&view)
            else:
                f = Frame(data, track=track, copy=None if not track else False)
                zx_msg_copy(&m, &f.msg)
                tracker = f.tracker
        self._send_msg(&m, flags)
        if track:
            if tracker is None:
                tracker = MessageTracker()
            return tracker
        return None

    def recv(self, int flags=0, copy=True, track=False):
        """Receive one frame: bytes (copy=True) or a Frame over the received buffer."""
        return self._recv_one(flags, copy)

    cdef object _recv_one(self, int flags, bint copy):
        cdef zx_msg m
        cdef object out
        zx_msg_init(&m)
        self._recv_msg(&m, flags)
        if copy:
            out = PyBytes_FromStringAndSize(<char *>zx_msg_data(&m), m.size)
            zx_msg_close(&m)
            return out
        return Frame.from_msg(&m)

    def send_multipart(self, msg_parts, int flags=0, copy=True, track=False, **kwargs):
        """Send a sequence of frames as one message (delivered whole or not at all)."""
        cdef Py_ssize_t n, i
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
        last = None
        for i in range(n - 1):
            self._send_one(parts[i], flags | F_SNDMORE, copy, track)
        return self._send_one(parts[n - 1], flags & ~F_SNDMORE, copy, track)

    def recv_multipart(self, int flags=0, copy=True, track=False):
        """Receive every frame of one message."""
        parts = [self._recv_one(flags, copy)]
        while self.rcvmore:
            parts.append(self._recv_one(flags, copy))
        return parts

    def poll(self, timeout=None, int flags=P_POLLIN):
        """Wait until the socket can recv (POLLIN) or send (POLLOUT); returns the events."""
        cdef int64_t deadline
        cdef int ev
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
        return self.rcvmore

    # ------------------------------------------------------------ endpoints

    def bind(self, addr):
        """Bind to tcp://host:port, ipc://path or inproc://name."""
        cdef zx_listener *l
        cdef zx_iothread *io
        self._check()
        transport, address = _endpoint.parse(addr)
        if transport == "inproc":
            self._bind_inproc(address)
            self._last_endpoint = ("inproc://" + address).encode()
            self._endpoints.setdefault(self._last_endpoint, []).append(("inproc", address, None))
            return
        unlink = None
        if transport == "tcp":
            fd, last = _endpoint.bind_tcp(address, bool(self.ipv6), self.backlog,
                                          self.opts.sndbuf, self.opts.rcvbuf)
        else:
            fd, last, unlink = _endpoint.bind_ipc(address, self.backlog)
        try:
            io = self.context.choose_io()
        except BaseException:
            os.close(fd)
            raise
        eid = self.next_endpoint_id
        self.next_endpoint_id += 1
        l = zx_listener_new(io, self.sb, &self.opts, fd, eid)
        if l == NULL:
            os.close(fd)
            raise MemoryError()
        zx_mailbox_post(&io.mb, ZX_CMD_ADD_LISTENER, l, 0)
        self._last_endpoint = last.encode()
        ep = ("bind", <object>eid, (<size_t>io, unlink))
        self._endpoints.setdefault(self._last_endpoint, []).append(ep)
        if last != addr:
            self._endpoints.setdefault(addr.encode() if isinstance(addr, str) else addr, []).append(ep)

    def bind_to_random_port(self, addr, int min_port=49152, int max_port=65536, int max_tries=100):
        """Bind tcp://addr to a port the OS picks; returns the port."""
        if min_port == 49152 and max_port == 65536:
            self.bind("%s:*" % addr)
            return int(self._last_endpoint.decode().rpartition(":")[2])
        import random
        for _ in range(max_tries):
            port = random.randrange(min_port, max_port)
            try:
                self.bind("%s:%s" % (addr, port))
            except ZMQError as e:
                if e.errno not in (_errno.EADDRINUSE, _errno.EACCES):
                    raise
            else:
                return port
        from zmqx.error import ZMQBindError
        raise ZMQBindError("Could not bind socket to random port.")

    def connect(self, addr):
        """Connect to an endpoint; works before the peer binds and reconnects forever."""
        cdef zx_session *s
        cdef zx_iothread *io
        cdef zx_link *link
        cdef sockaddr_un *sun
        cdef bytes path
        cdef bytes ipb
        self._check()
        transport, address = _endpoint.parse(addr)
        if transport == "inproc":
            self._connect_inproc(address)
            key = ("inproc://" + address).encode()
            self._endpoints.setdefault(key, []).append(("inproc-connect", address, None))
            self._last_endpoint = key
            return
        if transport == "tcp":
            family, ip, port, host, src = _endpoint.connect_tcp(address, bool(self.ipv6))
        else:
            path = _endpoint.connect_ipc(address)
            family = AF_UNIX
        io = self.context.choose_io()
        eid = self.next_endpoint_id
        self.next_endpoint_id += 1
        s = zx_session_new_connect(io, self.sb, &self.opts, eid)
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
            s.addrlen = <socklen_t>(2 + len(path) + (0 if path.startswith(b"\0") else 1))
        if self.connect_rid is not None:
            memcpy(s.opts.connect_rid, <char *>self.connect_rid, len(self.connect_rid))
            s.opts.connect_rid_len = len(self.connect_rid)
            self.connect_rid = None
        # a ROUTER can't route to a peer it can't name yet, and IMMEDIATE queues nothing
        # for peers that aren't there: both get their link when the handshake completes
        s.attach_on_handshake = self.opts.immediate or self.socket_type == ZX_ROUTER
        if not s.attach_on_handshake:
            link = zx_link_new(self.opts.sndhwm, self.opts.rcvhwm)
            if link == NULL:
                free(s.stage)
                free(s)
                raise MemoryError()
            link.socktype[0] = self.socket_type
            memcpy(link.rid[0], self.opts.identity, self.opts.identity_len)
            link.rid_len[0] = self.opts.identity_len
            link.owner[1] = s
            link.user = eid
            zx_link_set_waker(link, 1, zx_io_wake, io, NULL)
            s.link = link
            self._add_slot(link, 0, True)
        zx_mailbox_post(&io.mb, ZX_CMD_ADD_SESSION, s, 0)
        key = addr.encode() if isinstance(addr, str) else addr
        self._endpoints.setdefault(key, []).append(("connect", <object>eid, (<size_t>io, None)))
        self._last_endpoint = key

    def _close_endpoint(self, addr, str kind):
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
            self._disconnect_inproc(match[1])
            return
        io = <zx_iothread *><size_t>match[2][0]
        zx_sockbase_ref(self.sb)
        zx_mailbox_post(&io.mb, ZX_CMD_CLOSE_ENDPOINT, self.sb, <int64_t>match[1])
        # as in libzmq, the endpoint's links stop taking messages before this returns
        eid = <int64_t>match[1]
        self._dead_eids.add(eid)
        for i in range(self.nslots):
            if self.slots[i].io and self.slots[i].link.user == eid and not self.slots[i].dying:
                self.slots[i].dying = True
                self._slot_detached(i)
                self.need_reap = True
        if match[2][1]:
            try:
                os.unlink(match[2][1])
            except OSError:
                pass

    def unbind(self, addr):
        self._close_endpoint(addr, "bind")

    def disconnect(self, addr):
        self._close_endpoint(addr, "connect")

    # inproc: links straight between two sockets of one context, no I/O thread

    def _bind_inproc(self, name):
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
                self._accept_inproc(addr, peer)
            else:
                _drop_pending_link(addr)

    cdef int _accept_inproc_link(self, zx_link *link, Socket peer) except -1:
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

    def _accept_inproc(self, size_t addr, Socket peer):
        cdef zx_link *link = <zx_link *>addr
        self._accept_inproc_link(link, peer)
        if not zx_socktype_compatible(self.socket_type, link.socktype[0]):
            zx_store(&link.gone[1], 1)
            if not zx_load(&link.gone[0]) and peer.sb != NULL:
                zx_mailbox_post(&peer.sb.mb, ZX_CMD_TERM, link, 0)
            zx_link_unref(link)
            return
        self._add_slot(link, 1, False)

    def _connect_inproc(self, name):
        cdef zx_link *link
        cdef Socket binder
        ctx = self.context
        link = zx_link_new(self.opts.sndhwm, self.opts.rcvhwm)
        if link == NULL:
            raise MemoryError()
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

    cdef int _connect_to_binder(self, zx_link *link, Socket binder) except -1:
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

    def _disconnect_inproc(self, name):
        cdef int i
        cdef zx_link *link
        cdef zx_sockbase *peer
        for i in range(self.nslots):
            link = self.slots[i].link
            if not self.slots[i].io and self.slots[i].side == 0 and not self.slots[i].dying:
                self.slots[i].dying = True
                self.need_reap = True
                zx_store(&link.gone[0], 1)
                peer = <zx_sockbase *>link.release_arg[1]
                if peer != NULL:
                    zx_mailbox_post(&peer.mb, ZX_CMD_TERM, link, 0)
                break

    # ------------------------------------------------------------ closing

    def close(self, linger=None):
        """Close the socket. linger (ms) bounds how long queued messages keep being sent."""
        if self._closed:
            return
        self._close(self._linger if linger is None else linger)

    def _close(self, int linger):
        cdef int i
        cdef zx_link *link
        cdef zx_sockbase *peer
        cdef zx_iothread *io
        cdef Context ctx = self.context
        if self._closed:
            return
        if self._gen != _fork_gen:
            # inherited from the parent: its threads and links are not ours to touch
            self._closed = True
            self.sb = NULL
            self.slots = NULL
            self.nslots = 0
            return
        # take in every link already on its way, then accept no more: nothing can be left
        # in the mailbox holding a link that holds this socket
        zx_mailbox_close(&self.sb.mb)
        self._process_commands()
        self._closed = True
        zx_store(&self.sb.closed, 1)
        for i in range(self.nslots):
            link = self.slots[i].link
            zx_store(&link.gone[self.slots[i].side], 1)
            if not self.slots[i].io:
                peer = <zx_sockbase *>link.release_arg[1 - self.slots[i].side]
                if peer != NULL and peer != self.sb and not zx_load(&link.gone[1 - self.slots[i].side]):
                    zx_mailbox_post(&peer.mb, ZX_CMD_TERM, link, 0)
            if self.slots[i].subs != NULL:
                zx_trie_free(self.slots[i].subs)
            zx_link_unref(link)
        self.nslots = 0
        free(self.slots)
        self.slots = NULL
        self._rids = []
        self._routes = {}
        if self.has_prefetched:
            zx_msg_close(&self.prefetched)
            self.has_prefetched = False
        # endpoints: inproc names, ipc files, then the I/O threads' listeners and sessions
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
        # links we created towards inproc names nobody has bound yet
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
        for i in range(ctx._nio):
            io = ctx._io[i]
            zx_sockbase_ref(self.sb)
            zx_mailbox_post(&io.mb, ZX_CMD_SOCKET_CLOSED, self.sb, linger)
        # a call blocked on this socket in another thread wakes now and sees the close
        zx_sig_send(&self.sb.mb.sig)
        zx_sockbase_unref(self.sb)
        self.sb = NULL
        ctx.socket_closed(self)

    @property
    def closed(self):
        return self._closed

    # ------------------------------------------------------------ options

    def set(self, int option, optval):
        """Set a socket option (pyzmq's setsockopt)."""
        cdef int v
        cdef bytes b
        if self._closed:
            raise ZMQError(ENOTSOCK_)
        if option == O_ROUTING_ID:
            b = _bytes_opt(optval)
            if len(b) > 255 or (len(b) > 0 and b[0] == 0):
                raise ZMQError(EINVAL_)
            memcpy(self.opts.identity, <char *>b, len(b))
            self.opts.identity_len = len(b)
            return
        if option == O_SUBSCRIBE or option == O_UNSUBSCRIBE:
            b = _bytes_opt(optval)
            self._check()
            if self.socket_type == ZX_SUB:
                _sub_set(self, option == O_SUBSCRIBE, b)
            elif self.socket_type == ZX_XPUB and self.xpub_manual:
                _xpub_manual_set(self, option == O_SUBSCRIBE, b)
            else:
                raise ZMQError(EINVAL_)
            return
        if option == O_CONNECT_ROUTING_ID:
            b = _bytes_opt(optval)
            if self.socket_type not in (ZX_ROUTER, ZX_STREAM) or len(b) == 0 or len(b) > 255:
                raise ZMQError(EINVAL_)
            self.connect_rid = b
            return
        if option == O_XPUB_WELCOME_MSG:
            if self.socket_type != ZX_XPUB:
                raise ZMQError(EINVAL_)
            self.xpub_welcome = _bytes_opt(optval) if optval else None
            return
        if isinstance(optval, (bytes, str)):
            raise TypeError("option %d takes an int, not %r" % (option, type(optval).__name__))
        if option == O_SNDHWM:
            if optval < 0:
                raise ZMQError(EINVAL_)
            self.opts.sndhwm = optval
        elif option == O_RCVHWM:
            if optval < 0:
                raise ZMQError(EINVAL_)
            self.opts.rcvhwm = optval
        elif option == O_HWM:
            if optval < 0:
                raise ZMQError(EINVAL_)
            self.opts.sndhwm = optval
            self.opts.rcvhwm = optval
        elif option == O_LINGER:
            self._linger = -1 if optval < 0 else optval
        elif option == O_RCVTIMEO:
            self.rcvtimeo = optval
        elif option == O_SNDTIMEO:
            self.sndtimeo = optval
        elif option == O_MAXMSGSIZE:
            self.opts.maxmsgsize = optval
        elif option == O_RECONNECT_IVL:
            if optval < -1:
                raise ZMQError(EINVAL_)
            self.opts.reconnect_ivl = optval
        elif option == O_RECONNECT_IVL_MAX:
            if optval < 0:
                raise ZMQError(EINVAL_)
            self.opts.reconnect_ivl_max = optval
        elif option == O_HANDSHAKE_IVL:
            if optval < 0:
                raise ZMQError(EINVAL_)
            self.opts.handshake_ivl = optval
        elif option == O_SNDBUF:
            self.opts.sndbuf = optval
        elif option == O_RCVBUF:
            self.opts.rcvbuf = optval
        elif option == O_BACKLOG:
            self.backlog = optval
        elif option == O_IPV6:
            self.ipv6 = 1 if optval else 0
        elif option == O_TCP_KEEPALIVE:
            self.opts.tcp_keepalive = optval
        elif option == O_TCP_KEEPALIVE_CNT:
            self.opts.tcp_keepalive_cnt = optval
        elif option == O_TCP_KEEPALIVE_IDLE:
            self.opts.tcp_keepalive_idle = optval
        elif option == O_TCP_KEEPALIVE_INTVL:
            self.opts.tcp_keepalive_intvl = optval
        elif option == O_IMMEDIATE:
            self.opts.immediate = 1 if optval else 0
        elif option == O_CONNECT_TIMEOUT:
            self.connect_timeout = optval
            self.opts.connect_timeout = optval
        elif option == O_ROUTER_MANDATORY and self.socket_type == ZX_ROUTER:
            self.router_mandatory = bool(optval)
        elif option == O_ROUTER_HANDOVER and self.socket_type == ZX_ROUTER:
            self.router_handover = bool(optval)
        elif option == O_PROBE_ROUTER and self.socket_type in (ZX_ROUTER, ZX_DEALER, ZX_REQ):
            self.probe_router = bool(optval)
            self.opts.probe_router = 1 if optval else 0
        elif option == O_REQ_CORRELATE and self.socket_type == ZX_REQ:
            self.req_correlate = bool(optval)
        elif option == O_REQ_RELAXED and self.socket_type == ZX_REQ:
            self.req_relaxed = bool(optval)
        elif option == O_XPUB_VERBOSE and self.socket_type == ZX_XPUB:
            self.xpub_verbose = bool(optval)
        elif option == O_XPUB_VERBOSER and self.socket_type == ZX_XPUB:
            self.xpub_verboser = bool(optval)
        elif option == O_XPUB_NODROP and self.socket_type in (ZX_XPUB, ZX_PUB):
            self.xpub_nodrop = bool(optval)
        elif option == O_XPUB_MANUAL and self.socket_type == ZX_XPUB:
            self.xpub_manual = bool(optval)
        elif option == O_INVERT_MATCHING and self.socket_type in (ZX_PUB, ZX_XPUB, ZX_SUB, ZX_XSUB):
            self.invert_matching = bool(optval)
        elif option == O_CONFLATE and self.socket_type in (ZX_PUB, ZX_SUB, ZX_PUSH, ZX_PULL, ZX_DEALER, ZX_XPUB, ZX_XSUB):
            self.conflate = bool(optval)
        elif option == O_HEARTBEAT_IVL:
            self.opts.heartbeat_ivl = optval
        elif option == O_HEARTBEAT_TTL:
            self.opts.heartbeat_ttl = optval
        elif option == O_HEARTBEAT_TIMEOUT:
            self.opts.heartbeat_timeout = optval
        elif option == O_AFFINITY or option == O_RATE or option == O_RECOVERY_IVL \
                or option == O_MULTICAST_HOPS:
            pass        # accepted for compatibility; no effect without pgm/affinity
        else:
            raise ZMQError(EINVAL_)

    def get(self, int option):
        """Get a socket option (pyzmq's getsockopt)."""
        if self._closed:
            raise ZMQError(ENOTSOCK_)
        if option == O_TYPE:
            return self.socket_type
        if option == O_RCVMORE:
            return int(self.rcvmore)
        if option == O_LAST_ENDPOINT:
            return self._last_endpoint
        if option == O_EVENTS:
            ev = self._poll_events()
            if self.fd_exported:
                self._sync_fd()
            return ev
        if option == O_FD:
            if not self.fd_exported:
                self.fd_exported = True
                self._sync_fd()
            return self.sb.rsig.r
        if option == O_ROUTING_ID:
            return PyBytes_FromStringAndSize(<char *>self.opts.identity, self.opts.identity_len)
        if option == O_SNDHWM:
            return self.opts.sndhwm
        if option == O_RCVHWM:
            return self.opts.rcvhwm
        if option == O_HWM:
            return self.opts.sndhwm
        if option == O_LINGER:
            return self._linger
        if option == O_RCVTIMEO:
            return self.rcvtimeo
        if option == O_SNDTIMEO:
            return self.sndtimeo
        if option == O_MAXMSGSIZE:
            return self.opts.maxmsgsize
        if option == O_RECONNECT_IVL:
            return self.opts.reconnect_ivl
        if option == O_RECONNECT_IVL_MAX:
            return self.opts.reconnect_ivl_max
        if option == O_HANDSHAKE_IVL:
            return self.opts.handshake_ivl
        if option == O_SNDBUF:
            return self.opts.sndbuf
        if option == O_RCVBUF:
            return self.opts.rcvbuf
        if option == O_BACKLOG:
            return self.backlog
        if option == O_IPV6:
            return self.ipv6
        if option == O_TCP_KEEPALIVE:
            return self.opts.tcp_keepalive
        if option == O_TCP_KEEPALIVE_CNT:
            return self.opts.tcp_keepalive_cnt
        if option == O_TCP_KEEPALIVE_IDLE:
            return self.opts.tcp_keepalive_idle
        if option == O_TCP_KEEPALIVE_INTVL:
            return self.opts.tcp_keepalive_intvl
        if option == O_IMMEDIATE:
            return self.opts.immediate
        if option == O_CONNECT_TIMEOUT:
            return self.connect_timeout
        if option == O_HEARTBEAT_IVL:
            return self.opts.heartbeat_ivl
        if option == O_HEARTBEAT_TTL:
            return self.opts.heartbeat_ttl
        if option == O_HEARTBEAT_TIMEOUT:
            return self.opts.heartbeat_timeout
        if option == O_MECHANISM:
            return 0
        if option == O_ROUTER_MANDATORY and self.socket_type == ZX_ROUTER:
            return int(self.router_mandatory)
        if option == O_ROUTER_HANDOVER and self.socket_type == ZX_ROUTER:
            return int(self.router_handover)
        if option == O_PROBE_ROUTER:
            return int(self.probe_router)
        if option == O_REQ_CORRELATE:
            return int(self.req_correlate)
        if option == O_REQ_RELAXED:
            return int(self.req_relaxed)
        if option == O_XPUB_VERBOSE:
            return int(self.xpub_verbose)
        if option == O_XPUB_VERBOSER:
            return int(self.xpub_verboser)
        if option == O_XPUB_NODROP:
            return int(self.xpub_nodrop)
        if option == O_XPUB_MANUAL:
            return int(self.xpub_manual)
        if option == O_INVERT_MATCHING:
            return int(self.invert_matching)
        if option == O_CONFLATE:
            return int(self.conflate)
        if option == O_AFFINITY or option == O_RATE or option == O_RECOVERY_IVL:
            return 0
        raise ZMQError(EINVAL_)

    def _signaler_fd(self):
        return self.sb.rsig.r

    def _mailbox_fd(self):
        return self.sb.mb.sig.r

    def _drain_signaler(self):
        # after a wait saw either fd: drain both, then make FD truthful again
        if self.sb != NULL:
            zx_sig_drain(&self.sb.rsig)
            zx_sig_drain(&self.sb.mb.sig)
            self.fd_ready = False
            if self.fd_exported and not self._closed:
                self._sync_fd()


cdef void _drop_pending_link(size_t addr) noexcept:
    cdef zx_link *link = <zx_link *>addr
    zx_store(&link.gone[1], 1)
    zx_link_unref(link)


include "patterns/pubsub.pxi"
include "patterns/reqrep.pxi"
include "patterns/router.pxi"
