# The I/O thread: its poll loop, its command mailbox and its timers. Everything here runs
# without the GIL and touches no Python object: the app threads talk to it only through
# links (pipes) and mailboxes.
#
# The I/O side is one Cython module built from one file per job:
#   io_thread.pyx       this loop: commands, timers, dispatch, and the lifecycle-event hook
#   io_listener.pxi     bound endpoints: accept, close
#   io_connecter.pxi    outgoing connections: connect, completion, reconnect back-off
#   io_resolver.pxi     host names of connect() endpoints, looked up on a resolver thread
#   io_session.pxi      one connection's lifecycle: handshake start/done, links, the single
#                       failure path (mark with a reason, tear down in one place), linger
#   io_legacy.pxi       the greeting in libzmq's order; ZMTP 1.0/2.0 peers (identity
#                       exchange, their framing)
#   io_mechanism.pxi    PLAIN/CURVE (and NULL with ZAP) after the greeting: driving
#                       mechanism.pyx's state machine, CURVE MESSAGE boxing per frame
#   io_zap.pxi          the ZAP client: requests to inproc://zeromq.zap.01, replies
#   io_engine.pxi       the ZMTP engine of an established connection: read/decode, commands,
#                       heartbeats, staged vectored writes
#   io_udp.pxi          udp:// endpoints (RADIO/DISH): RFC 48 datagrams to and from a link
#   io_raw.pxi          the raw engine of STREAM connections (no ZMTP): bytes in, bytes out
# They are includes rather than separate modules on purpose: the engine's per-message path
# calls the session and loop helpers (set_events, write, deliver) many times per batch, and a
# call across Cython modules goes through an imported function pointer that the C compiler
# can neither inline nor see through. As one module every helper is a static C function.
#
# A session's failure path: whoever notices a problem calls _session_end(s, reason, detail),
# which only records the first reason and returns -1; every engine function passes -1 up
# and touches the session no more. The loop calls _session_settle(s) after each dispatch
# (event, command, timer), and that is where the session is torn down: reconnect, or
# destroy. Destroyed sessions stay allocated until the end of the event batch (zombies), so
# a later event of the same batch that names one is skipped by the loop, and only there.
from libc.stdint cimport int64_t, uint8_t, uint16_t, uint64_t
from libc.stdlib cimport malloc, free, calloc, realloc, rand
from libc.string cimport memcpy, memset, memmove, memcmp, strlen
from zmqx._core.atomic cimport zx_load, zx_store, zx_add, zx_load_ptr, zx_xchg
from zmqx._core.monitor cimport zx_monitor, zx_monitor_event, zx_monitor_event_text
from libc.errno cimport EPIPE
from zmqx._core.platform cimport *
from zmqx._core.mailbox cimport *
from zmqx._core.pipe cimport *
from zmqx._core.msg cimport *
from zmqx._core.zmtp cimport *
from zmqx._core.mechanism cimport *

cdef enum:
    MAX_EVENTS = 64

# what this build's platform layer uses (ZMQX_POLLER at build time; see zx_platform.h)
POLLER = (<bytes>ZX_POLLER_NAME).decode("ascii")
SIGNALER = (<bytes>ZX_SIGNALER_NAME).decode("ascii")

include "io_listener.pxi"
include "io_connecter.pxi"
include "io_resolver.pxi"
include "io_session.pxi"
include "io_legacy.pxi"
include "io_mechanism.pxi"
include "io_zap.pxi"
include "io_engine.pxi"
include "io_udp.pxi"
include "io_raw.pxi"


# ---------------------------------------------------------------- lifecycle events

# how many of each event (by bit number) this process saw: what the tests check the hook
# points against
cdef int64_t _event_counts[16]


cdef void zx_io_event(zx_sockbase *sb, int64_t endpoint_id, int kind,
                      int64_t value) noexcept nogil:
    # The one place connection lifecycle events are reported (ZX_EVT_* with libzmq's
    # numbers), from an I/O thread or the app thread. Counted per socket (Socket.stats())
    # and per process; if the socket has a monitor, passed to its channel (monitor.pxd),
    # which sends it to the reader under its own lock, never blocking: this thread never
    # waits on the reader.
    if kind == ZX_EVT_HANDSHAKE_FAILED_PROTOCOL and value < 0:
        value = _protocol_error_code(<int>value)    # (io_mechanism.pxi)
    _count_event(sb, kind)
    zx_monitor_event(<zx_monitor *>zx_load_ptr(&sb.mon), kind, value, endpoint_id)


cdef void zx_io_event_text(zx_sockbase *sb, int kind, int64_t value, const char *text,
                           size_t tlen) noexcept nogil:
    # the same, for an event whose endpoint text is not an endpoint id's (a failed bind)
    _count_event(sb, kind)
    zx_monitor_event_text(<zx_monitor *>zx_load_ptr(&sb.mon), kind, value, text, tlen)


cdef inline void _count_event(zx_sockbase *sb, int kind) noexcept nogil:
    cdef int bit = 0
    while bit < 15 and (kind >> bit) != 1:
        bit += 1
    zx_add(&_event_counts[bit], 1)
    zx_add(&sb.events_seen[bit], 1)


def _event_counts_snapshot():
    """{ZMQ_EVENT_* number: how many this process saw}, for tests of the hook points."""
    return {1 << i: zx_load(&_event_counts[i]) for i in range(16)}


# ---------------------------------------------------------------- construction

cdef zx_iothread *zx_iothread_start(int64_t spin_ns) except NULL:
    cdef zx_iothread *io = <zx_iothread *>calloc(1, sizeof(zx_iothread))
    if io == NULL:
        raise MemoryError()
    io.spin_ns = spin_ns
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
    _resolver_stop(io)
    zx_poller_close(&io.poller)
    zx_mailbox_destroy(&io.mb)
    free(io)


cdef void zx_io_wake(void *arg, void *link, int what) noexcept nogil:
    # a pipe needs the session's attention; the command carries a link reference
    zx_link_ref(<zx_link *>link)
    zx_mailbox_post(&(<zx_iothread *>arg).mb, ZX_CMD_ACTIVATE, link, what)


# ---------------------------------------------------------------- the loop

cdef void _io_main(void *arg) noexcept nogil:
    cdef zx_iothread *io = <zx_iothread *>arg
    cdef zx_event events[MAX_EVENTS]
    cdef int n, i, kind, timeout
    cdef zx_session *s
    cdef int64_t spin_until = 0
    cdef int64_t spin_ns
    cdef bint poked
    while True:
        if io.stopping and io.sessions == NULL:
            break
        timeout = _next_timeout(io)
        n = 0
        poked = False
        if spin_until and timeout != 0:
            # traffic a moment ago: look again without sleeping for a while (yielding to
            # the app threads), since waking a sleeping thread costs far more than a look.
            # Meanwhile commands come without a write on the mailbox's fd (spin_state);
            # the exchange that ends the spin orders this thread after their posters
            zx_xchg(&io.mb.spin_state, 1)
            while True:
                n = zx_poller_wait(&io.poller, events, MAX_EVENTS, 0)
                if n != 0 or zx_load(&io.mb.pending) or zx_now_ns() >= spin_until:
                    break
                zx_cpu_yield()
            zx_xchg(&io.mb.spin_state, 0)
            if zx_load(&io.mb.pending):
                poked = True
                _process_commands(io)
        if n == 0 and not poked:
            n = zx_poller_wait(&io.poller, events, MAX_EVENTS, timeout)
        spin_ns = zx_load(&io.spin_ns)
        spin_until = zx_now_ns() + spin_ns if (n > 0 or poked) and spin_ns > 0 else 0
        for i in range(n):
            kind = (<int *>events[i].ptr)[0]
            if kind == ZX_OBJ_IOTHREAD:
                zx_sig_drain(&io.mb.sig)
                _process_commands(io)
            elif kind == ZX_OBJ_LISTENER:
                # an earlier event of this batch may have closed it
                if not (<zx_listener *>events[i].ptr).dead:
                    _listener_accept(<zx_listener *>events[i].ptr)
            elif kind == ZX_OBJ_SESSION:
                # ... or destroyed this session
                s = <zx_session *>events[i].ptr
                if not s.dead:
                    _session_event(s, events[i].events)
                    _session_settle(s)
            elif kind == ZX_OBJ_UDP:
                if not (<zx_udp *>events[i].ptr).dead:
                    _udp_event(<zx_udp *>events[i].ptr, events[i].events)
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
        _resolve_forget(s)
        free(s.stage)
        free(s)
    _udp_free_dead(io)
    while io.dead_listeners != NULL:
        l = io.dead_listeners
        io.dead_listeners = l.next
        free(l)


# ---------------------------------------------------------------- timers

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
            _session_end(s, ZX_END_LINGER_DONE, 0)
        elif s.timer_at > 0 and s.timer_at <= now:
            s.timer_at = 0
            if s.state == ZX_S_WAIT:
                _session_connect(s)
            elif s.state == ZX_S_CONNECTING:
                _session_end(s, ZX_END_CONNECT_TIMEOUT, ETIMEDOUT)
            elif s.state == ZX_S_HANDSHAKE:
                _session_end(s, ZX_END_HANDSHAKE_TIMEOUT, ETIMEDOUT)
        elif s.state == ZX_S_ACTIVE:
            if (s.ping_deadline > 0 and s.ping_deadline <= now) or \
                    (s.ttl_deadline > 0 and s.ttl_deadline <= now):
                _session_end(s, ZX_END_HEARTBEAT_TIMEOUT, ETIMEDOUT)
            elif s.next_ping > 0 and s.next_ping <= now:
                _session_send_ping(s, now)
        _session_settle(s)
        s = nxt


# ---------------------------------------------------------------- commands

cdef void _process_commands(zx_iothread *io) noexcept nogil:
    cdef zx_cmd cmd
    cdef zx_link *link
    cdef zx_session *s
    cdef zx_session *nxt
    cdef zx_listener *l
    cdef zx_listener *lnext
    cdef zx_listener **lpp
    cdef zx_sockbase *sb
    while zx_mailbox_take(&io.mb, &cmd):
        if cmd.type == ZX_CMD_ACTIVATE:
            link = <zx_link *>cmd.ptr
            s = <zx_session *>link.owner[1]
            if cmd.arg == ZX_WAKE_ZAP:
                _zap_input(link)            # the ZAP handler answered (io_zap.pxi)
            elif s != NULL and s.kind == ZX_OBJ_UDP:
                _udp_activate(<zx_udp *>link.owner[1], link, <int>cmd.arg)
            elif s != NULL and s.link == link:
                if s.raw:
                    _raw_activate(s, <int>cmd.arg)
                elif cmd.arg == ZX_WAKE_REFUSED:
                    _session_end(s, ZX_END_REFUSED, 0)
                elif cmd.arg == ZX_WAKE_READ:
                    s.out_idle = False
                    if s.state == ZX_S_ACTIVE:
                        _session_write(s)
                else:
                    if s.in_blocked and s.state == ZX_S_ACTIVE:
                        s.in_blocked = False
                        _session_input(s, False)
                _session_settle(s)
            zx_link_unref(link)
        elif cmd.type == ZX_CMD_ADD_LISTENER:
            l = <zx_listener *>cmd.ptr
            # appended, so that a closing socket's listeners close (and report CLOSED) in
            # the order they were bound, as libzmq's do
            l.next = NULL
            lpp = &io.listeners
            while lpp[0] != NULL:
                lpp = &lpp[0].next
            lpp[0] = l
            zx_poller_add(&io.poller, l.fd, ZX_EV_IN, l)
            # (LISTENING was reported by bind() itself, as libzmq's)
        elif cmd.type == ZX_CMD_ADD_SESSION:
            s = <zx_session *>cmd.ptr
            _session_link_in(io, s)
            _session_connect(s)
            _session_settle(s)
        elif cmd.type == ZX_CMD_ADD_UDP:
            _udp_add(io, <zx_udp *>cmd.ptr)
        elif cmd.type == ZX_CMD_RESOLVED:
            _resolve_answered(<zx_resolve_req *>cmd.ptr)
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
                    _session_end(s, ZX_END_ENDPOINT_CLOSED, 0)
                    _session_settle(s)
                s = nxt
            _udp_close_matching(io, sb, cmd.arg, False)
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
                    _session_settle(s)
                s = nxt
            _udp_close_matching(io, sb, -1, True)
            zx_sockbase_unref(sb)
        elif cmd.type == ZX_CMD_STOP:
            io.stopping = True
            while io.listeners != NULL:
                _listener_close(io, io.listeners)
            _udp_close_matching(io, NULL, -1, True)
