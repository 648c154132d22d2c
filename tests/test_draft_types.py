"""The draft socket types of libzmq 4.3 other than RADIO/DISH: CLIENT/SERVER, SCATTER/GATHER,
PEER and CHANNEL, over inproc, ipc and tcp.

- behaviour: routing ids (Frame.routing_id, send(routing_id=), connect_peer), EHOSTUNREACH,
  single-part (SNDMORE is EINVAL; a multipart message from the wire is dropped whole),
  load-balancing and fair-queueing, CHANNEL's one peer;
- thread safety: several threads sending and receiving on one socket, nothing lost,
  duplicated or corrupted; THREAD_SAFE reflects the type;
- the wire, against a raw ZMTP 3.1 peer: the READY Socket-Type names, one frame per message,
  no routing id on the wire, libzmq's compatibility matrix (incompatible peers get ERROR and
  are dropped).

pyzmq 27.3's bundled libzmq is built without the draft API: it creates these sockets but
aborts in its ZMTP handshake (mechanism.cpp's socket-type name table stops at STREAM), so the
wire tests use a raw ZMTP peer instead of libzmq. Everything synchronises on events (a
bounded recv, poll with a timeout, a marker that follows on the same connection); nothing
sleeps."""

import errno
import os
import signal
import socket
import threading
import time

import pytest

import zmqx
from zmqx._core import zmtp
from conftest import endpoint_for
from helpers import WAIT_MS, assert_empty, assert_first, raises_errno, sock

pytestmark = pytest.mark.timeout(60)

DRAFT = {"SERVER": 12, "CLIENT": 13, "RADIO": 14, "DISH": 15, "GATHER": 16, "SCATTER": 17,
         "DGRAM": 18, "PEER": 19, "CHANNEL": 20}
MINE = ("SERVER", "CLIENT", "GATHER", "SCATTER", "PEER", "CHANNEL")


def bound(ctx, kind, transport, ipc_dir, **opts):
    s = sock(ctx, kind, **opts)
    s.bind(endpoint_for(transport, ipc_dir))
    return s, s.getsockopt(zmqx.LAST_ENDPOINT).decode()


def client_server(ctx, transport, ipc_dir, binder="server"):
    if binder == "server":
        srv, addr = bound(ctx, zmqx.SERVER, transport, ipc_dir)
        cli = sock(ctx, zmqx.CLIENT)
        cli.connect(addr)
    else:
        cli, addr = bound(ctx, zmqx.CLIENT, transport, ipc_dir)
        srv = sock(ctx, zmqx.SERVER)
        srv.connect(addr)
    return cli, srv


# ================================================================ the API surface

def test_draft_constants_and_capability():
    assert zmqx.has("draft") is True
    assert zmqx.DRAFT_API is True
    for name, num in DRAFT.items():
        assert getattr(zmqx, name) == num
        assert zmqx.SocketType[name] == num
    from zmqx._core.socktypes import implemented_types
    types = implemented_types()
    for name in MINE:
        assert types[DRAFT[name]] == name


@pytest.mark.parametrize("kind", ["PAIR", "PUSH", "PULL", "DEALER", "ROUTER", "REQ", "REP",
                                  "PUB", "SUB", "XPUB", "XSUB"] + list(MINE))
def test_thread_safe_option_reflects_the_type(ctx, kind):
    s = ctx.socket(getattr(zmqx, kind))
    assert s.getsockopt(zmqx.THREAD_SAFE) == (1 if kind in MINE else 0)
    assert s.getsockopt(zmqx.TYPE) == getattr(zmqx, kind)
    with raises_errno(errno.EINVAL):
        s.setsockopt(zmqx.THREAD_SAFE, 0)          # read-only
    s.close(0)


def test_thread_safe_option_matches_libzmq(ctx):
    """pyzmq's libzmq creates the draft types (it only can't handshake them): THREAD_SAFE
    and TYPE as it reports them."""
    zmq = pytest.importorskip("zmq")
    zctx = zmq.Context()
    try:
        for name in MINE:
            a, b = zctx.socket(DRAFT[name]), ctx.socket(DRAFT[name])
            assert b.getsockopt(zmqx.THREAD_SAFE) == a.getsockopt(zmq.THREAD_SAFE) == 1, name
            a.close(0)
            b.close(0)
    finally:
        zctx.term()


def test_frame_routing_id_property():
    f = zmqx.Frame(b"x")
    with raises_errno(errno.EINVAL):
        f.routing_id                                 # none set, as pyzmq's
    f.routing_id = 0xFFFFFFFF
    assert f.routing_id == 0xFFFFFFFF == f.get("routing_id") == f["routing_id"]
    with raises_errno(errno.EINVAL):
        f.routing_id = 0                             # 0 means "none": refused, as libzmq
    assert f.routing_id == 0xFFFFFFFF
    with pytest.raises(OverflowError):
        f.routing_id = 1 << 32
    with pytest.raises(OverflowError):
        f.routing_id = -1
    f.set("routing_id", 5)
    assert f.routing_id == 5
    assert zmqx.Frame(f).routing_id == 5             # a copy keeps it


# ================================================================ CLIENT / SERVER

@pytest.mark.parametrize("binder", ["server", "client"])
def test_client_server_round_trip(ctx, transport, ipc_dir, binder):
    cli, srv = client_server(ctx, transport, ipc_dir, binder)
    cli.send(b"hello")
    f = srv.recv(copy=False)
    assert f.bytes == b"hello" and not f.more
    rid = f.routing_id
    assert 0 < rid < 2**32
    srv.send(b"world", routing_id=rid)               # send(routing_id=)
    assert cli.recv() == b"world"
    reply = zmqx.Frame(b"again")
    reply.routing_id = rid                           # Frame.routing_id
    srv.send(reply)
    g = cli.recv(copy=False)
    assert g.bytes == b"again"
    with raises_errno(errno.EINVAL):
        g.routing_id                                 # a CLIENT's messages carry none
    cli.send(b"second")
    assert srv.recv(copy=False).routing_id == rid    # the same peer, the same id
    srv.send_multipart([b"mp"], routing_id=rid)      # one part, routed
    assert cli.recv_multipart() == [b"mp"]


def test_server_routes_large_zero_copy_and_tracked_sends(ctx, transport, ipc_dir):
    """The routing id rides on every kind of send: copied bytes, a zero-copy buffer, a
    tracked one, a Frame that already has one (send(routing_id=) overrides it)."""
    cli, srv = client_server(ctx, transport, ipc_dir)
    cli.send(b"hi")
    rid = srv.recv(copy=False).routing_id
    big = bytearray(b"z" * (1 << 17))
    srv.send(big, copy=False, routing_id=rid)
    tracker = srv.send(b"t" * 70000, copy=False, track=True, routing_id=rid)
    other = zmqx.Frame(b"framed")
    other.routing_id = rid + 1 if rid + 1 < 2**32 else 1
    srv.send(other, routing_id=rid)
    assert cli.recv() == bytes(big)
    assert cli.recv() == b"t" * 70000
    assert cli.recv() == b"framed"
    tracker.wait(WAIT_MS / 1000)
    assert tracker.done


def test_server_errors_leave_it_usable(ctx, transport, ipc_dir):
    cli, srv = client_server(ctx, transport, ipc_dir)
    cli.send(b"ping")
    rid = srv.recv(copy=False).routing_id
    with raises_errno(errno.EHOSTUNREACH):
        srv.send(b"nobody", routing_id=rid + 1 if rid + 1 < 2**32 else 1)
    with raises_errno(errno.EHOSTUNREACH):
        srv.send(b"no id")                           # no routing id at all
    with raises_errno(errno.EINVAL):
        srv.send(b"zero", routing_id=0)
    with raises_errno(errno.EINVAL):
        srv.send(b"part", zmqx.SNDMORE, routing_id=rid)
    with raises_errno(errno.EINVAL):
        srv.send_multipart([b"a", b"b"], routing_id=rid)
    with raises_errno(errno.EINVAL):
        cli.send(b"part", zmqx.SNDMORE)
    with raises_errno(errno.EINVAL):
        cli.send_multipart([b"a", b"b"])
    assert not srv.getsockopt(zmqx.RCVMORE)
    # nothing of the refused sends went anywhere: the markers are the next messages
    srv.send(b"marker", routing_id=rid)
    assert_first(cli, b"marker")
    cli.send(b"marker")
    assert srv.recv() == b"marker"
    assert_empty(srv)


def test_server_names_each_client_and_routes_replies(ctx, transport, ipc_dir):
    srv, addr = bound(ctx, zmqx.SERVER, transport, ipc_dir)
    clients = [sock(ctx, zmqx.CLIENT) for _ in range(4)]
    for c in clients:
        c.connect(addr)
    ids = {}
    for i, c in enumerate(clients):
        c.send(b"%d" % i)
    for _ in clients:
        f = srv.recv(copy=False)
        ids[int(f.bytes)] = f.routing_id
    assert len(set(ids.values())) == 4 and 0 not in ids.values()
    for i, rid in ids.items():
        srv.send(b"for %d" % i, routing_id=rid)
    for i, c in enumerate(clients):
        assert_first(c, b"for %d" % i)


def test_server_id_of_a_departed_client_is_unreachable(ctx, transport, ipc_dir):
    srv, addr = bound(ctx, zmqx.SERVER, transport, ipc_dir)
    a, b = sock(ctx, zmqx.CLIENT), sock(ctx, zmqx.CLIENT)
    a.connect(addr)
    b.connect(addr)
    a.send(b"a")
    b.send(b"b")
    rids = {}
    for _ in range(2):
        f = srv.recv(copy=False)
        rids[f.bytes] = f.routing_id
    a.close(0)
    # the SERVER learns of it asynchronously: bounded probe until EHOSTUNREACH
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        try:
            srv.send(b"to a", routing_id=rids[b"a"], flags=zmqx.NOBLOCK)
        except zmqx.ZMQError as e:
            assert e.errno == errno.EHOSTUNREACH
            break
        assert time.monotonic() < deadline, "the departed client stayed routable"
        srv.poll(10)
    srv.send(b"to b", routing_id=rids[b"b"])
    assert_first(b, b"to b")


def test_client_load_balances_and_server_full_peer_blocks(ctx, transport, ipc_dir):
    s1, addr1 = bound(ctx, zmqx.SERVER, transport, ipc_dir)
    s2, addr2 = bound(ctx, zmqx.SERVER, transport, ipc_dir)
    cli = sock(ctx, zmqx.CLIENT)
    cli.connect(addr1)
    cli.connect(addr2)
    for i in range(6):
        cli.send(b"%d" % i)
    assert sorted(s1.recv() for _ in range(3)) == [b"0", b"2", b"4"]
    assert sorted(s2.recv() for _ in range(3)) == [b"1", b"3", b"5"]
    assert_empty(s1)
    assert_empty(s2)


def test_server_send_to_a_full_peer_waits(ctx):
    """At the peer's HWM a SERVER send waits (EAGAIN with NOBLOCK/SNDTIMEO), as libzmq's,
    then goes through once the peer reads."""
    srv = sock(ctx, zmqx.SERVER, sndhwm=4)
    srv.bind("inproc://draft-full")
    cli = sock(ctx, zmqx.CLIENT, rcvhwm=4)
    cli.connect("inproc://draft-full")
    cli.send(b"hi")
    rid = srv.recv(copy=False).routing_id
    sent = 0
    while True:
        try:
            srv.send(b"%d" % sent, routing_id=rid, flags=zmqx.NOBLOCK)
        except zmqx.Again:
            break
        sent += 1
        assert sent <= 100
    assert sent == 8                                  # inproc: SNDHWM + RCVHWM
    assert srv.poll(0, zmqx.POLLOUT) == zmqx.POLLOUT  # SERVER is always writable
    assert cli.recv() == b"0"
    srv.send(b"more", routing_id=rid, flags=zmqx.NOBLOCK)
    assert [cli.recv() for _ in range(sent)] == [b"%d" % i for i in range(1, sent)] + [b"more"]


def test_client_server_asyncio(transport, ipc_dir):
    """zmqx.asyncio: send(routing_id=) and Frame.routing_id, and a Poller on a SERVER."""
    import asyncio
    import zmqx.asyncio

    async def main():
        ctx = zmqx.asyncio.Context()
        srv = ctx.socket(zmqx.SERVER)
        srv.bind(endpoint_for(transport, ipc_dir))
        cli = ctx.socket(zmqx.CLIENT)
        cli.connect(srv.getsockopt(zmqx.LAST_ENDPOINT))
        try:
            await cli.send(b"a")
            f = await asyncio.wait_for(srv.recv(copy=False), WAIT_MS / 1000)
            await srv.send(b"b", routing_id=f.routing_id)
            assert await asyncio.wait_for(cli.recv(), WAIT_MS / 1000) == b"b"
            poller = zmqx.asyncio.Poller()
            poller.register(srv, zmqx.POLLIN)
            await cli.send(b"c")
            assert await poller.poll(WAIT_MS) == [(srv, zmqx.POLLIN)]
            g = await srv.recv(copy=False)
            assert g.bytes == b"c" and g.routing_id == f.routing_id
        finally:
            srv.close(0)
            cli.close(0)
            ctx.term()

    asyncio.run(main())


# ================================================================ SCATTER / GATHER

def test_scatter_gather(ctx, transport, ipc_dir):
    g1, addr1 = bound(ctx, zmqx.GATHER, transport, ipc_dir)
    g2, addr2 = bound(ctx, zmqx.GATHER, transport, ipc_dir)
    sc = sock(ctx, zmqx.SCATTER)
    sc.connect(addr1)
    sc.connect(addr2)
    for i in range(6):
        sc.send(b"%d" % i)
    assert sorted(g1.recv() for _ in range(3)) == [b"0", b"2", b"4"]
    assert sorted(g2.recv() for _ in range(3)) == [b"1", b"3", b"5"]
    with raises_errno(errno.EINVAL):
        sc.send(b"x", zmqx.SNDMORE)
    with raises_errno(errno.ENOTSUP):
        sc.recv(zmqx.NOBLOCK)
    with raises_errno(errno.ENOTSUP):
        g1.send(b"x")
    sc.send(b"m1")
    sc.send(b"m2")
    assert {g1.recv(), g2.recv()} == {b"m1", b"m2"}
    assert_empty(g1)
    assert_empty(g2)


def test_gather_fair_queues(ctx, transport, ipc_dir):
    g, addr = bound(ctx, zmqx.GATHER, transport, ipc_dir)
    a, b = sock(ctx, zmqx.SCATTER), sock(ctx, zmqx.SCATTER)
    a.connect(addr)
    b.connect(addr)
    for i in range(3):
        a.send(b"a%d" % i)
        b.send(b"b%d" % i)
    got = [g.recv() for _ in range(6)]
    assert sorted(got) == sorted([b"a0", b"a1", b"a2", b"b0", b"b1", b"b2"])
    assert [m for m in got if m[:1] == b"a"] == [b"a0", b"a1", b"a2"]   # order per peer


# ================================================================ PEER

def test_peer_connect_peer_and_both_directions(ctx, transport, ipc_dir):
    p1, addr = bound(ctx, zmqx.PEER, transport, ipc_dir)
    p2 = sock(ctx, zmqx.PEER)
    rid = p2.connect_peer(addr)
    assert isinstance(rid, int) and 0 < rid < 2**32
    p2.send(b"hi", routing_id=rid)                    # connect_peer's id addresses p1
    f = p1.recv(copy=False)
    assert f.bytes == b"hi"
    p1.send(b"back", routing_id=f.routing_id)
    g = p2.recv(copy=False)
    assert g.bytes == b"back" and g.routing_id == rid  # the reply comes from that peer
    with raises_errno(errno.EHOSTUNREACH):
        p2.send(b"x")
    with raises_errno(errno.EINVAL):
        p2.send(b"x", zmqx.SNDMORE, routing_id=rid)


def test_peer_addresses_several_peers(ctx, transport, ipc_dir):
    hub = sock(ctx, zmqx.PEER)
    others = []
    for _ in range(3):
        p, addr = bound(ctx, zmqx.PEER, transport, ipc_dir)
        others.append((p, hub.connect_peer(addr)))
    assert len({rid for _, rid in others}) == 3
    for i, (p, rid) in enumerate(others):
        hub.send(b"to %d" % i, routing_id=rid)
    for i, (p, rid) in enumerate(others):
        assert_first(p, b"to %d" % i)


def test_connect_peer_refusals(ctx):
    srv = ctx.socket(zmqx.SERVER)
    with raises_errno(errno.ENOTSUP):
        srv.connect_peer("inproc://draft-nobody")     # only PEER has it
    p = ctx.socket(zmqx.PEER)
    p.immediate = 1
    with raises_errno(errno.EFAULT):
        p.connect_peer("inproc://draft-nobody")       # as libzmq: no id before a handshake
    srv.close(0)
    p.close(0)


# ================================================================ CHANNEL

def test_channel_one_peer_both_ways(ctx, transport, ipc_dir):
    a, addr = bound(ctx, zmqx.CHANNEL, transport, ipc_dir)
    b = sock(ctx, zmqx.CHANNEL)
    b.connect(addr)
    b.send(b"ping")
    assert a.recv() == b"ping"
    a.send(b"pong")
    assert b.recv() == b"pong"
    with raises_errno(errno.EINVAL):
        a.send(b"x", zmqx.SNDMORE)
    # a second peer is refused: only b's marker arrives
    c = sock(ctx, zmqx.CHANNEL)
    c.connect(addr)
    try:
        c.send(b"intruder", zmqx.NOBLOCK)
    except zmqx.Again:
        pass
    b.send(b"marker")
    assert a.recv() == b"marker"
    a.send(b"reply")
    assert_first(b, b"reply")
    assert c.poll(100, zmqx.POLLIN) == 0
    assert_empty(a)


# ================================================================ incompatible types

@pytest.mark.parametrize("kind, bad, good", [
    ("SERVER", "PUSH", "CLIENT"), ("SERVER", "SERVER", "CLIENT"), ("CLIENT", "DEALER", "SERVER"),
    ("GATHER", "PUSH", "SCATTER"), ("SCATTER", "PULL", "GATHER"), ("PEER", "SERVER", "PEER"),
    ("CHANNEL", "PAIR", "CHANNEL"), ("PULL", "SCATTER", "PUSH")])
def test_incompatible_zmqx_peer_is_refused(ctx, transport, ipc_dir, kind, bad, good):
    """A bound socket and an incompatible zmqx peer: nothing flows from it; a compatible
    peer on the same endpoint works (its marker is the first and only message)."""
    s, addr = bound(ctx, getattr(zmqx, kind), transport, ipc_dir)
    x = sock(ctx, getattr(zmqx, bad), reconnect_ivl=-1)
    x.connect(addr)
    g = sock(ctx, getattr(zmqx, good))
    if good == "PEER":
        rid = g.connect_peer(addr)
    else:
        g.connect(addr)
        rid = None
    receiver, sender = (s, g) if kind not in ("SCATTER", "CLIENT") else (g, s)
    if bad not in ("PULL", "GATHER"):
        try:
            x.send(b"bad", zmqx.NOBLOCK, routing_id=1) if bad == "SERVER" \
                else x.send(b"bad", zmqx.NOBLOCK)
        except zmqx.ZMQError:
            pass
    if kind == "CLIENT":               # the CLIENT sends; its SERVER peer must get it
        s.send(b"good")
        assert_first(g, b"good")
        return
    if kind == "SCATTER":
        s.send(b"good")                # not to the PULL: the GATHER gets it first
        assert_first(g, b"good")
        return
    g.send(b"good", routing_id=rid) if rid else g.send(b"good")
    assert_first(receiver, b"good")


# ================================================================ thread safety

def _threads(targets):
    ts = [threading.Thread(target=t, daemon=True) for t in targets]
    for t in ts:
        t.start()
    return ts


def _join(ts):
    for t in ts:
        t.join(WAIT_MS * 6 / 1000)
        assert not t.is_alive(), "a thread hung"


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_threads_share_one_client_and_one_server(ctx, transport, ipc_dir):
    """4 threads send on one CLIENT while 3 other threads receive the replies on that same
    CLIENT; 3 threads serve on one SERVER (recv, echo to the routing id). Every message
    comes back exactly once, intact."""
    n_send, per, n_serve, n_recv = 4, 1500, 3, 3
    total = n_send * per
    srv, addr = bound(ctx, zmqx.SERVER, transport, ipc_dir, rcvtimeo=50)
    cli = sock(ctx, zmqx.CLIENT, rcvtimeo=50)
    cli.connect(addr)
    done = threading.Event()
    errors, got, served = [], [], [0]
    glock = threading.Lock()

    def sender(k):
        def run():
            try:
                for i in range(per):
                    cli.send(b"%d:%d:" % (k, i) + bytes([k]) * (i % 200))
            except Exception as e:       # noqa: BLE001
                errors.append(e)
        return run

    def server():
        try:
            while not done.is_set():
                try:
                    f = srv.recv(copy=False)
                except zmqx.Again:
                    continue
                srv.send(f, routing_id=f.routing_id)
                with glock:
                    served[0] += 1
        except Exception as e:           # noqa: BLE001
            errors.append(e)

    def receiver():
        try:
            while not done.is_set():
                try:
                    m = cli.recv()
                except zmqx.Again:
                    continue
                with glock:
                    got.append(m)
                    if len(got) == total:
                        done.set()
        except Exception as e:           # noqa: BLE001
            errors.append(e)

    ts = _threads([sender(k) for k in range(n_send)] + [server] * n_serve + [receiver] * n_recv)
    assert done.wait(WAIT_MS * 6 / 1000), f"{len(got)} of {total} came back"
    _join(ts)
    assert not errors, errors
    assert len(got) == total == served[0]
    want = {b"%d:%d:" % (k, i) + bytes([k]) * (i % 200) for k in range(n_send) for i in range(per)}
    assert set(got) == want                           # none lost, duplicated or corrupted
    for k in range(n_send):                           # one sender's messages keep their order
        mine = [int(m.split(b":")[1]) for m in got if m.startswith(b"%d:" % k)]
        assert len(mine) == per


def test_threads_share_scatter_and_gather(ctx):
    n_send, per, n_recv = 3, 2000, 3
    total = n_send * per
    g = sock(ctx, zmqx.GATHER, rcvtimeo=50)
    g.bind("inproc://draft-threads-sg")
    sc = sock(ctx, zmqx.SCATTER, sndhwm=10)
    sc.connect("inproc://draft-threads-sg")
    done = threading.Event()
    errors, got = [], []
    glock = threading.Lock()

    def sender(k):
        def run():
            try:
                for i in range(per):
                    sc.send(b"%d-%d" % (k, i))
            except Exception as e:       # noqa: BLE001
                errors.append(e)
        return run

    def receiver():
        try:
            while not done.is_set():
                try:
                    m = g.recv()
                except zmqx.Again:
                    continue
                with glock:
                    got.append(m)
                    if len(got) == total:
                        done.set()
        except Exception as e:           # noqa: BLE001
            errors.append(e)

    ts = _threads([sender(k) for k in range(n_send)] + [receiver] * n_recv)
    assert done.wait(WAIT_MS * 6 / 1000), f"{len(got)} of {total}"
    _join(ts)
    assert not errors, errors
    assert sorted(got) == sorted(b"%d-%d" % (k, i) for k in range(n_send) for i in range(per))


def test_threads_blocked_in_recv_all_wake(ctx):
    """Three threads blocked in recv on one CHANNEL; three messages sent at once: each
    thread gets one, none sleeps through a message that is there for it."""
    a = sock(ctx, zmqx.CHANNEL)
    a.bind("inproc://draft-wake")
    b = sock(ctx, zmqx.CHANNEL)
    b.connect("inproc://draft-wake")
    got, errors = [], []
    ready = threading.Barrier(4)

    def receiver():
        try:
            ready.wait()
            got.append(a.recv())
        except Exception as e:           # noqa: BLE001
            errors.append(e)

    ts = _threads([receiver] * 3)
    ready.wait()
    for i in range(3):
        b.send(b"%d" % i)
    _join(ts)
    assert not errors and sorted(got) == [b"0", b"1", b"2"]


def test_close_from_another_thread_wakes_a_blocked_recv(ctx):
    s = sock(ctx, zmqx.SERVER, rcvtimeo=-1)
    s.bind("inproc://draft-close")
    errs = []
    started = threading.Event()

    def blocked():
        started.set()
        try:
            s.recv()
        except zmqx.ZMQError as e:
            errs.append(e.errno)

    t = threading.Thread(target=blocked, daemon=True)
    t.start()
    started.wait()
    # the thread may not be inside recv yet: it must fail either way, not hang
    s.close(0)
    t.join(WAIT_MS / 1000)
    assert not t.is_alive()
    assert errs == [errno.ENOTSOCK]


@pytest.mark.skipif(not hasattr(os, "fork"), reason="POSIX fork")
def test_fork_child_refuses_an_inherited_thread_safe_socket(ctx):
    """After fork the parent's SERVER refuses clearly in the child (its lock, which a
    parent thread may have held at fork time, is not touched); the parent's still works."""
    srv = sock(ctx, zmqx.SERVER)
    srv.bind("inproc://draft-fork")
    cli = sock(ctx, zmqx.CLIENT)
    cli.connect("inproc://draft-fork")
    pid = os.fork()
    if pid == 0:
        code = 1
        try:
            signal.alarm(20)
            for call in (lambda: srv.send(b"x", routing_id=1), lambda: srv.recv(zmqx.NOBLOCK),
                         lambda: srv.getsockopt(zmqx.EVENTS)):
                try:
                    call()
                except zmqx.ZMQError as e:
                    assert e.errno == errno.ENOTSUP, e
                else:
                    raise AssertionError("an inherited socket worked in the child")
            code = 0
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    cli.send(b"parent")
    assert srv.recv() == b"parent"


# ================================================================ on the wire (raw ZMTP)

def _raw_connect(addr):
    if addr.startswith("tcp://"):
        host, port = addr[6:].rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=WAIT_MS / 1000)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(WAIT_MS / 1000)
    c.connect(addr[6:])
    return c


def _raw_listen(transport, ipc_dir):
    if transport == "tcp":
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        target = "tcp://127.0.0.1:%d" % lst.getsockname()[1]
    else:
        lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        path = f"{ipc_dir}/raw-draft"
        lst.bind(path)
        target = "ipc://" + path
    lst.listen(2)
    lst.settimeout(WAIT_MS / 1000)
    return lst, target


class Raw:
    """A plain socket speaking ZMTP 3.1 (NULL) as `socktype`: what it received, as bytes
    and decoded."""

    def __init__(self, conn, socktype):
        self.c = conn
        self.hs = zmtp.Handshake(socktype)
        self.dec = zmtp.Decoder()
        self.wire = b""                 # every byte received
        self.pending = []

    def handshake(self):
        self.c.sendall(self.hs.data_to_send())
        rest = b""
        while not self.hs.done:
            data = self.c.recv(4096)
            assert data, "closed during the handshake"
            self.wire += data
            rest = self.hs.feed(data)
            extra = self.hs.data_to_send()
            if extra:
                self.c.sendall(extra)
        self.pending = self.dec.feed(rest)
        return self

    def send(self, *frames):
        self.c.sendall(b"".join(zmtp.encode_frame(f, more=i < len(frames) - 1)
                                for i, f in enumerate(frames)))

    def next_message(self):
        while True:
            while self.pending:
                ev = self.pending.pop(0)
                if ev[0] == "message":
                    return ev[1]
            data = self.c.recv(65536)
            assert data, "closed"
            self.wire += data
            self.pending = self.dec.feed(data)

    def close(self):
        self.c.close()


def _ready_bytes(name):
    # READY's Socket-Type property as it must appear on the wire
    return b"\x05READY\x0bSocket-Type" + len(name).to_bytes(4, "big") + name


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_wire_server_against_raw_client(ctx, transport, ipc_dir):
    srv, addr = bound(ctx, zmqx.SERVER, transport, ipc_dir)
    raw = Raw(_raw_connect(addr), zmtp.CLIENT).handshake()
    try:
        assert raw.hs.peer_socktype == zmtp.SERVER
        assert _ready_bytes(b"SERVER") in raw.wire
        assert b"Identity" not in raw.wire            # SERVER announces no routing id
        raw.send(b"a", b"b")                          # multipart: dropped whole
        raw.send(b"ping")
        f = srv.recv(copy=False)
        assert f.bytes == b"ping"
        assert_empty(srv)
        before = len(raw.wire)
        srv.send(b"pong", routing_id=f.routing_id)
        assert raw.next_message() == [b"pong"]
        assert raw.wire[before:].startswith(b"\x00\x04pong")   # one short final frame
    finally:
        raw.close()


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
@pytest.mark.parametrize("kind, peer", [("CLIENT", "SERVER"), ("SCATTER", "GATHER"),
                                        ("CHANNEL", "CHANNEL"), ("PEER", "PEER")])
def test_wire_zmqx_connects_to_raw_peer(ctx, transport, ipc_dir, kind, peer):
    """zmqx connects to a raw listener speaking its partner type: the READY names the zmqx
    type; a message goes out as one frame; (both-way types) a raw reply comes back."""
    lst, target = _raw_listen(transport, ipc_dir)
    s = sock(ctx, getattr(zmqx, kind))
    try:
        rid = s.connect_peer(target) if kind == "PEER" else s.connect(target)
        conn, _ = lst.accept()
        raw = Raw(conn, getattr(zmtp, peer)).handshake()
        assert raw.hs.peer_socktype == getattr(zmtp, kind)
        assert _ready_bytes(kind.encode()) in raw.wire
        assert b"Identity" not in raw.wire        # these types announce no routing id
        before = len(raw.wire)
        if kind == "PEER":
            s.send(b"out", routing_id=rid)
        else:
            s.send(b"out")
        assert raw.next_message() == [b"out"]
        assert raw.wire[before:].startswith(b"\x00\x03out")
        if kind != "SCATTER":
            raw.send(b"x", b"y")                      # multipart: dropped whole
            raw.send(b"in")
            f = s.recv(copy=False)
            assert f.bytes == b"in"
            if kind == "PEER":
                assert f.routing_id == rid
            assert_empty(s)
        raw.close()
    finally:
        lst.close()


@pytest.mark.parametrize("kind, bad", [("SERVER", zmtp.SERVER), ("SERVER", zmtp.DEALER),
                                       ("CLIENT", zmtp.CLIENT), ("GATHER", zmtp.PUSH),
                                       ("SCATTER", zmtp.SCATTER), ("PEER", zmtp.CLIENT),
                                       ("CHANNEL", zmtp.PAIR), ("PULL", zmtp.SCATTER),
                                       ("PAIR", zmtp.CHANNEL)])
def test_wire_incompatible_raw_peer_gets_error_and_is_dropped(ctx, kind, bad):
    s, addr = bound(ctx, getattr(zmqx, kind), "tcp", None)
    raw = _raw_connect(addr)
    try:
        raw.sendall(zmtp.encode_greeting() + zmtp.encode_ready(bad))
        data = b""
        while True:
            try:
                chunk = raw.recv(65536)
            except ConnectionResetError:
                break
            if not chunk:
                break
            data += chunk
    finally:
        raw.close()
    names = [e[1] for e in zmtp.Decoder().feed(data[64:]) if e[0] == "command"]
    assert names[:1] == [b"READY"] and b"ERROR" in names, names
