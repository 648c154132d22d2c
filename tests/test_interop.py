"""zmqx <-> libzmq (through pyzmq) over real connections (tcp and ipc).

Every pairing is run with each side binding in turn: PUSH->PULL in both directions and
PAIR<->PAIR both ways; frame sizes around the short/long boundary and up to 4 MiB; 10000
small messages in order; connect-before-bind across implementations; reconnect to a new
libzmq peer on the same address; incompatible socket types; IPv6 loopback."""

import contextlib
import os
import random
import socket
import threading

import pytest

import zmqx

zmq = pytest.importorskip("zmq")
from zmq.utils.monitor import recv_monitor_message  # noqa: E402

pytestmark = pytest.mark.timeout(60)
from helpers import Reserved, assert_first  # noqa: E402

TIMEOUT_MS = 10000

# No fixture ordering here: pyzmq sockets are closed by garbage collection when a test
# returns, so a libzmq peer often hangs up while zmqx is still closing its own sockets
# (once a use-after-free in zmqx's I/O thread, fixed; its regression test is
# test_robustness.py::test_close_racing_peer_eof_does_not_crash). Both teardown orders
# happen across the module, and test_teardown_orders runs each on purpose.


SIZES = [0, 1, 255, 256, 65536, 4 * 1024 * 1024]


# ---------------------------------------------------------------- helpers


def _payload(size, seed):
    return random.Random(seed).randbytes(size)


def _setup(sock):
    sock.linger = 0
    sock.rcvtimeo = TIMEOUT_MS
    sock.sndtimeo = TIMEOUT_MS
    return sock


def _last(sock):
    ep = sock.getsockopt(zmq.LAST_ENDPOINT)
    return ep.decode() if isinstance(ep, bytes) else ep


def _pair(ctx, zctx, endpoint, zmqx_type, pyzmq_type, binder):
    """A connected (zmqx socket, pyzmq socket); `binder` says which side binds."""
    zs = _setup(ctx.socket(zmqx_type))
    ps = _setup(zctx.socket(pyzmq_type))
    if binder == "zmqx":
        zs.bind(endpoint)
        ps.connect(_last(zs))
    else:
        ps.bind(endpoint)
        zs.connect(_last(ps))
    return zs, ps


def _send_in_thread(sock, messages):
    """Send `messages` (lists of frames) from a thread; returns a join() that re-raises."""
    errors = []

    def run():
        try:
            for m in messages:
                sock.send_multipart(m)
        except BaseException as e:  # pragma: no cover - reported by join
            errors.append(e)

    t = threading.Thread(target=run, daemon=True)
    t.start()

    def join():
        t.join(30)
        assert not t.is_alive(), "sender thread stuck"
        if errors:
            raise errors[0]

    return join


def _concrete(endpoint):
    """A bindable endpoint known before anybody binds (for connect-before-bind), and a
    release() to call just before binding it: a tcp port stays held by a plain bound
    socket until then, so no other test can be given it meanwhile."""
    if endpoint.startswith("tcp://"):
        r = Reserved("tcp", None, None)
        return r.endpoint, r.release
    return endpoint, lambda: endpoint


def _roles(direction):
    """(zmqx type, pyzmq type) and whether zmqx sends."""
    if direction == "zmqx_to_pyzmq":
        return zmqx.PUSH, zmq.PULL, True
    return zmqx.PULL, zmq.PUSH, False


DIRECTIONS = ["zmqx_to_pyzmq", "pyzmq_to_zmqx"]
BINDERS = ["zmqx", "pyzmq"]


# ---------------------------------------------------------------- PUSH -> PULL


@pytest.mark.parametrize("binder", BINDERS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_push_pull_frame_sizes(ctx, zctx, wire_endpoint, direction, binder):
    ztype, ptype, zmqx_sends = _roles(direction)
    zs, ps = _pair(ctx, zctx, wire_endpoint, ztype, ptype, binder)
    sender, receiver = (zs, ps) if zmqx_sends else (ps, zs)

    multipart = [_payload(n, n) for n in SIZES]
    sender.send_multipart(multipart)
    got = receiver.recv_multipart()
    assert [len(f) for f in got] == SIZES
    assert got == multipart

    # each size alone, and reversed inside one message (long frame first)
    for n in SIZES:
        sender.send(_payload(n, n + 1))
    for n in SIZES:
        got = receiver.recv_multipart()
        assert got == [_payload(n, n + 1)]
    sender.send_multipart(multipart[::-1])
    assert receiver.recv_multipart() == multipart[::-1]

    # many frames in one message, empty ones included
    many = [b"%d" % i if i % 3 else b"" for i in range(1000)]
    sender.send_multipart(many)
    assert receiver.recv_multipart() == many


@pytest.mark.parametrize("binder", BINDERS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_push_pull_many_in_order(ctx, zctx, wire_endpoint, direction, binder):
    ztype, ptype, zmqx_sends = _roles(direction)
    zs, ps = _pair(ctx, zctx, wire_endpoint, ztype, ptype, binder)
    sender, receiver = (zs, ps) if zmqx_sends else (ps, zs)
    n = 10000
    join = _send_in_thread(sender, ([b"%d" % i] if i % 7 else [b"%d" % i, b"x" * (i % 300)]
                                    for i in range(n)))
    for i in range(n):
        got = receiver.recv_multipart()
        want = [b"%d" % i] if i % 7 else [b"%d" % i, b"x" * (i % 300)]
        assert got == want, f"message {i}"
    join()
    # and nothing more: a marker sent last is the next thing to arrive
    sender.send(b"end")
    assert_first(receiver, b"end")


# ---------------------------------------------------------------- PAIR <-> PAIR


@pytest.mark.parametrize("binder", BINDERS)
def test_pair_both_ways(ctx, zctx, wire_endpoint, binder):
    zs, ps = _pair(ctx, zctx, wire_endpoint, zmqx.PAIR, zmq.PAIR, binder)
    multipart = [_payload(n, n + 7) for n in SIZES]
    zs.send_multipart(multipart)
    assert ps.recv_multipart() == multipart
    ps.send_multipart(multipart[::-1])
    assert zs.recv_multipart() == multipart[::-1]

    # ping-pong with interleaved sizes
    for i, n in enumerate(SIZES * 2):
        body = _payload(n, 1000 + i)
        if i % 2:
            zs.send(body)
            assert ps.recv() == body
        else:
            ps.send(body)
            assert zs.recv() == body

    # a stream in each direction at once
    n = 1500
    jz = _send_in_thread(zs, ([b"z%d" % i] for i in range(n)))
    jp = _send_in_thread(ps, ([b"p%d" % i] for i in range(n)))
    # receiving on the same sockets the threads send on would be unsafe for pyzmq, so
    # wait for the senders first: n is below the combined HWMs, nothing blocks
    jz()
    jp()
    assert [ps.recv() for _ in range(n)] == [b"z%d" % i for i in range(n)]
    assert [zs.recv() for _ in range(n)] == [b"p%d" % i for i in range(n)]


# ---------------------------------------------------------------- connect before bind


@pytest.mark.parametrize("direction", DIRECTIONS)
def test_zmqx_connects_before_pyzmq_binds(ctx, zctx, wire_endpoint, direction):
    ztype, ptype, zmqx_sends = _roles(direction)
    endpoint, release = _concrete(wire_endpoint)
    zs = _setup(ctx.socket(ztype))
    zs.connect(endpoint)
    if zmqx_sends:
        # queued on the connect-side pipe while nobody listens
        for i in range(5):
            zs.send_multipart([b"early", b"%d" % i])
    ps = _setup(zctx.socket(ptype))
    ps.bind(release())
    if zmqx_sends:
        for i in range(5):
            assert ps.recv_multipart() == [b"early", b"%d" % i]
        zs.send(b"late")
        assert ps.recv() == b"late"
    else:
        for i in range(5):
            ps.send_multipart([b"from-pyzmq", b"%d" % i])
        for i in range(5):
            assert zs.recv_multipart() == [b"from-pyzmq", b"%d" % i]


def test_pyzmq_connects_before_zmqx_binds(ctx, zctx, wire_endpoint):
    endpoint, release = _concrete(wire_endpoint)
    ps = _setup(zctx.socket(zmq.PUSH))
    ps.connect(endpoint)
    for i in range(5):
        ps.send(b"queued%d" % i)
    zs = _setup(ctx.socket(zmqx.PULL))
    zs.bind(release())
    assert [zs.recv() for _ in range(5)] == [b"queued%d" % i for i in range(5)]


# ---------------------------------------------------------------- reconnect


def _close_pyzmq_and_wait(sock):
    """Close a pyzmq socket and wait until libzmq has really closed its listener and
    connections (close() returns before its I/O thread does that)."""
    mon = sock.get_monitor_socket()
    mon.rcvtimeo = TIMEOUT_MS
    sock.close(linger=0)
    while recv_monitor_message(mon)["event"] != zmq.EVENT_MONITOR_STOPPED:
        pass
    mon.close(linger=0)


def _wait_for_reconnect_attempt(endpoint):
    """Stand in for the departed peer with a raw listener and accept the reconnect: proof
    that zmqx saw the old connection die. The raw connection is then dropped without a
    handshake, so messages sent afterwards stay queued in zmqx."""
    if endpoint.startswith("tcp://"):
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        lst = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        lst.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        lst.bind((host, int(port)))
    else:
        path = endpoint[len("ipc://"):]
        if os.path.exists(path):            # libzmq 4.3 leaves its socket file behind
            os.unlink(path)
        lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lst.bind(path)
    with lst:
        lst.listen(8)
        lst.settimeout(10)
        conn, _ = lst.accept()
        with conn:
            conn.settimeout(10)
            # zmqx greets first; reading it proves the connection is a zmqx handshake
            assert conn.recv(1) == b"\xff"
    if not endpoint.startswith("tcp://"):
        os.unlink(path)


def test_reconnect_to_new_pyzmq_peer(ctx, zctx, wire_endpoint):
    """zmqx PUSH connected to a pyzmq PULL: the PULL goes away, a new one binds the same
    address; messages queued in between and new ones reach the new PULL."""
    old = _setup(zctx.socket(zmq.PULL))
    old.bind(wire_endpoint)
    endpoint = _last(old)
    zs = _setup(ctx.socket(zmqx.PUSH))
    zs.reconnect_ivl = 50
    zs.connect(endpoint)
    zs.send(b"first")
    assert old.recv() == b"first"
    _close_pyzmq_and_wait(old)

    _wait_for_reconnect_attempt(endpoint)
    for i in range(10):
        zs.send_multipart([b"queued", b"%d" % i])

    new = _setup(zctx.socket(zmq.PULL))
    new.bind(endpoint)
    for i in range(10):
        assert new.recv_multipart() == [b"queued", b"%d" % i]
    zs.send(b"after")
    assert new.recv() == b"after"


def test_reconnect_pull_from_new_pyzmq_pusher(ctx, zctx, wire_endpoint):
    """zmqx PULL connected to a pyzmq PUSH that is replaced by another on the same address."""
    old = _setup(zctx.socket(zmq.PUSH))
    old.bind(wire_endpoint)
    endpoint = _last(old)
    zs = _setup(ctx.socket(zmqx.PULL))
    zs.reconnect_ivl = 50
    zs.connect(endpoint)
    old.send(b"one")
    assert zs.recv() == b"one"
    _close_pyzmq_and_wait(old)

    _wait_for_reconnect_attempt(endpoint)
    new = _setup(zctx.socket(zmq.PUSH))
    new.bind(endpoint)
    for i in range(20):
        new.send_multipart([b"two", b"%d" % i])
    for i in range(20):
        assert zs.recv_multipart() == [b"two", b"%d" % i]


def test_bound_zmqx_accepts_replacement_pyzmq_peer(ctx, zctx, wire_endpoint):
    zs = _setup(ctx.socket(zmqx.PULL))
    zs.bind(wire_endpoint)
    endpoint = _last(zs)
    for round_ in range(4):
        ps = _setup(zctx.socket(zmq.PUSH))
        ps.connect(endpoint)
        ps.send_multipart([b"round", b"%d" % round_])
        assert zs.recv_multipart() == [b"round", b"%d" % round_]
        if round_ < 3:          # the last one stays until teardown
            _close_pyzmq_and_wait(ps)


# ---------------------------------------------------------------- incompatible types

FAILED_EVENTS = (zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL | zmq.EVENT_HANDSHAKE_FAILED_NO_DETAIL
                 | zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_DISCONNECTED)


def _wait_handshake_failure(monitor):
    """Block until libzmq reports a failed handshake (or a dropped connection)."""
    monitor.rcvtimeo = TIMEOUT_MS
    seen = []
    while True:
        ev = recv_monitor_message(monitor)
        seen.append(ev["event"])
        if ev["event"] & FAILED_EVENTS:
            return seen
        assert ev["event"] != zmq.EVENT_HANDSHAKE_SUCCEEDED, seen


def test_incompatible_push_to_pyzmq_push(ctx, zctx, wire_endpoint):
    """zmqx PUSH connected to a bound pyzmq PUSH (the handshake fails) and to a pyzmq PULL:
    nothing crashes, and once the bad endpoint is disconnected every message goes to the
    PULL. libzmq terminates the endpoint's pipes inside zmq_disconnect(), so not one
    message sent after disconnect() returns may be routed to it. (Several rounds: a
    lagging implementation only loses messages when its I/O thread is slower than the
    sender.)"""
    bad = _setup(zctx.socket(zmq.PUSH))
    bad.bind(wire_endpoint)
    bad_ep = _last(bad)
    mon = bad.get_monitor_socket()
    good = _setup(zctx.socket(zmq.PULL))
    good.bind("tcp://127.0.0.1:*")
    for round_ in range(8):
        zs = _setup(ctx.socket(zmqx.PUSH))
        zs.reconnect_ivl = -1        # one failed handshake, then quiet (no reconnects)
        zs.connect(bad_ep)
        zs.connect(_last(good))
        _wait_handshake_failure(mon)
        assert bad.poll(0) == 0

        zs.disconnect(bad_ep)
        for i in range(10):
            zs.send(b"ok%d" % i)
        got = []
        while len(got) < 10 and good.poll(2000):
            got.append(good.recv())
        assert got == [b"ok%d" % i for i in range(10)], f"round {round_}"
        assert good.poll(0) == 0
        zs.close()
    bad.disable_monitor()


def _thread_ids():
    return set(os.listdir("/proc/self/task"))


@contextlib.contextmanager
def _starved(tids):
    """Put the calling thread and the threads `tids` on one CPU, `tids` at SCHED_IDLE:
    they run only while the calling thread is blocked. This makes "the I/O thread is
    slower than the application" deterministic."""
    mine = os.sched_getaffinity(0)
    cpu = min(mine)
    os.sched_setaffinity(0, {cpu})
    try:
        for t in tids:
            os.sched_setaffinity(int(t), {cpu})
            os.sched_setscheduler(int(t), os.SCHED_IDLE, os.sched_param(0))
        yield
    finally:
        os.sched_setaffinity(0, mine)
        for t in tids:
            try:
                os.sched_setscheduler(int(t), os.SCHED_OTHER, os.sched_param(0))
                os.sched_setaffinity(int(t), mine)
            except OSError:
                pass        # the thread ends with the context anyway


@pytest.mark.skipif(not (hasattr(os, "sched_setaffinity") and hasattr(os, "SCHED_IDLE")
                         and os.path.isdir("/proc/self/task")),
                    reason="needs Linux thread scheduling controls")
def test_disconnect_stops_routing_at_once(ctx, zctx, wire_endpoint):
    """After disconnect() returns, PUSH must not route to that endpoint any more, even if
    the I/O thread has not run yet: libzmq terminates the endpoint's pipes inside
    zmq_disconnect(), in the caller's thread. Connect to two PULLs, disconnect one while
    the zmqx I/O thread is starved, send: every message must reach the other PULL."""
    good = _setup(zctx.socket(zmq.PULL))
    good.bind("tcp://127.0.0.1:*")
    other = _setup(zctx.socket(zmq.PULL))
    other.bind(wire_endpoint)
    other_ep = _last(other)
    before = _thread_ids()
    zs = _setup(ctx.socket(zmqx.PUSH))
    zs.connect(_last(good))          # starts the context's I/O thread
    io_threads = _thread_ids() - before
    assert io_threads
    for round_ in range(3):
        zs.connect(other_ep)
        # PUSH alternates over its two pipes: each PULL gets one of these
        zs.send(b"warm-up-1")
        zs.send(b"warm-up-2")
        assert sorted([good.recv(), other.recv()]) == [b"warm-up-1", b"warm-up-2"]

        with _starved(io_threads):
            zs.disconnect(other_ep)
            for i in range(10):
                zs.send(b"m%d" % i)
        got = []
        while len(got) < 10 and good.poll(1000):
            got.append(good.recv())
        assert got == [b"m%d" % i for i in range(10)], f"round {round_}"
        assert other.poll(0) == 0


def test_incompatible_pub_to_pyzmq_pull(ctx, zctx, wire_endpoint):
    """zmqx PUB connected to a bound pyzmq PULL: the PULL receives nothing; the PULL and the
    PUB each keep working with compatible peers afterwards."""
    pull = _setup(zctx.socket(zmq.PULL))
    pull.bind(wire_endpoint)
    ep = _last(pull)
    mon = pull.get_monitor_socket()
    pub = _setup(ctx.socket(zmqx.PUB))
    pub.reconnect_ivl = -1       # one failed handshake, then quiet
    pub.connect(ep)
    _wait_handshake_failure(mon)
    for i in range(20):
        pub.send(b"pub%d" % i)
    pull.disable_monitor()

    # a compatible zmqx PUSH on the same PULL: its messages are the first to arrive
    push = _setup(ctx.socket(zmqx.PUSH))
    push.connect(ep)
    push.send(b"from-push")
    assert pull.recv() == b"from-push"
    # the PUB's connection died before it published (the monitor said so): nothing of
    # it can follow; the push's next message is the next thing there
    push.send(b"marker")
    assert_first(pull, b"marker")

    # and the PUB still publishes to a compatible SUB
    sub = _setup(zctx.socket(zmq.SUB))
    sub.subscribe(b"")
    sub.bind("tcp://127.0.0.1:*")
    pub.connect(_last(sub))
    # PUB drops until the subscription arrives: publish until the SUB hears something
    for i in range(200):
        pub.send(b"hello")
        if sub.poll(20):
            break
    assert sub.recv() == b"hello"


def test_incompatible_pyzmq_connects_to_zmqx(ctx, zctx, wire_endpoint):
    """A pyzmq PUB connecting to a bound zmqx PULL is refused; the PULL keeps serving a
    pyzmq PUSH."""
    zs = _setup(ctx.socket(zmqx.PULL))
    zs.bind(wire_endpoint)
    ep = _last(zs)
    pub = _setup(zctx.socket(zmq.PUB))
    pub.reconnect_ivl = -1       # one failed handshake, then quiet
    mon = pub.get_monitor_socket()
    pub.connect(ep)
    _wait_handshake_failure(mon)
    pub.disable_monitor()
    for i in range(20):
        pub.send(b"pub%d" % i)
    push = _setup(zctx.socket(zmq.PUSH))
    push.connect(ep)
    push.send(b"good")
    assert zs.recv_multipart() == [b"good"]
    push.send(b"marker")            # the refused PUB's connection is gone (see monitor)
    assert_first(zs, b"marker")


# ---------------------------------------------------------------- IPv6


def _has_ipv6_loopback():
    if not socket.has_ipv6:
        return False
    try:
        with socket.socket(socket.AF_INET6, socket.SOCK_STREAM) as s:
            s.bind(("::1", 0))
        return True
    except OSError:
        return False


ipv6 = pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")


@ipv6
@pytest.mark.parametrize("binder", BINDERS)
@pytest.mark.parametrize("direction", DIRECTIONS)
def test_ipv6_loopback(ctx, zctx, direction, binder):
    ztype, ptype, zmqx_sends = _roles(direction)
    zs = _setup(ctx.socket(ztype))
    ps = _setup(zctx.socket(ptype))
    zs.ipv6 = 1
    ps.ipv6 = 1
    assert zs.ipv6 == 1
    if binder == "zmqx":
        zs.bind("tcp://[::1]:*")
        ep = _last(zs)
        assert ep.startswith("tcp://[::1]:")
        ps.connect(ep)
    else:
        ps.bind("tcp://[::1]:*")
        zs.connect(_last(ps))
    sender, receiver = (zs, ps) if zmqx_sends else (ps, zs)
    msg = [b"v6", _payload(70000, 6)]
    sender.send_multipart(msg)
    assert receiver.recv_multipart() == msg


# ---------------------------------------------------------------- libzmq in another process


@pytest.mark.parametrize("binder", BINDERS)
def test_subprocess_libzmq_push_pull_both_ways(ctx, wire_endpoint, libzmq_peer, binder):
    """A libzmq PAIR in its own process: frames of every size both ways (no shared
    interpreter, GIL or pyzmq context with zmqx)."""
    if binder == "zmqx":
        zs = _setup(ctx.socket(zmqx.PAIR))
        zs.bind(wire_endpoint)
        peer = libzmq_peer("PAIR", "connect", _last(zs))
    else:
        peer = libzmq_peer("PAIR", "bind", wire_endpoint)
        zs = _setup(ctx.socket(zmqx.PAIR))
        zs.connect(peer.endpoint)
    multipart = [_payload(n, n) for n in SIZES[:-1]] + [b""]
    zs.send_multipart(multipart)
    assert peer.recv() == multipart
    peer.send(multipart[::-1])
    assert zs.recv_multipart() == multipart[::-1]
    peer.close()


def test_subprocess_libzmq_req_rep(ctx, wire_endpoint, libzmq_peer):
    rep_ = _setup(ctx.socket(zmqx.REP))
    rep_.bind(wire_endpoint)
    req = libzmq_peer("REQ", "connect", _last(rep_))
    for i in range(20):
        req.send([b"q%d" % i, b"part"])
        assert rep_.recv_multipart() == [b"q%d" % i, b"part"]
        rep_.send(b"a%d" % i)
        assert req.recv() == [b"a%d" % i]
    req.close()


@pytest.mark.parametrize("zmqx_kind", ["PUSH", "PULL"])
def test_subprocess_libzmq_peer_killed_then_replaced(ctx, wire_endpoint, libzmq_peer,
                                                    zmqx_kind):
    """The libzmq peer's process dies (SIGKILL: no close, no linger, the kernel drops the
    connection); zmqx notices, reconnects to a new process bound on the same address, and
    traffic resumes in order."""
    peer_kind = "PULL" if zmqx_kind == "PUSH" else "PUSH"
    old = libzmq_peer(peer_kind, "bind", wire_endpoint)
    endpoint = old.endpoint
    zs = _setup(ctx.socket(getattr(zmqx, zmqx_kind)))
    zs.reconnect_ivl = 20
    zs.connect(endpoint)
    if zmqx_kind == "PUSH":
        zs.send(b"before")
        assert old.recv() == [b"before"]
    else:
        old.send([b"before"])
        assert zs.recv() == b"before"
    old.kill()
    _wait_for_reconnect_attempt(endpoint)       # zmqx saw the connection die
    if zmqx_kind == "PUSH":
        for i in range(10):                     # queued until the new peer is there
            zs.send(b"after-%d" % i)
    new = libzmq_peer(peer_kind, "bind", endpoint)
    if zmqx_kind == "PUSH":
        assert [new.recv() for _ in range(10)] == [[b"after-%d" % i] for i in range(10)]
    else:
        for i in range(10):
            new.send([b"after-%d" % i])
        assert [zs.recv() for _ in range(10)] == [b"after-%d" % i for i in range(10)]
    new.close()


@pytest.mark.parametrize("first", ["zmqx", "pyzmq"])
def test_teardown_orders(first, wire_endpoint):
    """Either side may be torn down first while the other still has live connections to
    it: zmqx's context terminates in time either way (the race the fixtures used to
    avoid: zmqx closing while the libzmq peer hangs up)."""
    from conftest import _term_with_deadline

    for _ in range(5):
        c, zc = zmqx.Context(), zmq.Context()
        try:
            zpull = _setup(c.socket(zmqx.PULL))
            zpull.bind(wire_endpoint if wire_endpoint.startswith("tcp") else
                       wire_endpoint + "-%d" % _)
            ppush = _setup(zc.socket(zmq.PUSH))
            ppush.connect(_last(zpull))
            ppull = _setup(zc.socket(zmq.PULL))
            ppull.bind("tcp://127.0.0.1:*")
            zpush = _setup(c.socket(zmqx.PUSH))
            zpush.connect(_last(ppull))
            ppush.send(b"to zmqx")
            zpush.send(b"to libzmq")
            assert zpull.recv() == b"to zmqx" and ppull.recv() == b"to libzmq"
        finally:
            if first == "zmqx":
                _term_with_deadline(c)
                zc.destroy(linger=0)
            else:
                zc.destroy(linger=0)
                _term_with_deadline(c)
