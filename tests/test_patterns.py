"""Socket-pattern semantics of zmqx (zmqx on both ends), over inproc, ipc and tcp.

PUB/SUB and XPUB/XSUB (subscriptions, filtering, reconnects, XPUB options, a forwarding
proxy), REQ/REP (lockstep, EFSM, load-balancing, REQ_RELAXED/REQ_CORRELATE),
DEALER/ROUTER (routing ids, MANDATORY, HANDOVER, CONNECT_ROUTING_ID, PROBE_ROUTER, every
pairing), mute state at HWM (drop vs block), pattern options (EINVAL, CONFLATE, IMMEDIATE,
heartbeats against a raw ZMTP peer) and incompatible socket types.

Everything synchronises on events: a blocking recv bounded by RCVTIMEO, poll with a
timeout, a reply, a marker message that follows the messages under test on the same
connection (ZeroMQ keeps order per connection), or a bounded probe loop for PUB/SUB's
"slow joiner". Nothing sleeps."""
import contextlib
import errno
import socket
import time

import pytest

import zmqx
from zmqx._core import zmtp
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)
import helpers  # noqa: E402
from helpers import connected, raises_errno, recv_until, sock  # noqa: E402

WAIT_MS = 5000          # upper bound for "this must happen": only reached on failure
QUIET_MS = 150          # how long a "this must not happen" check watches


def watch_quiet(s):
    """Nothing arrives on s for QUIET_MS. Only where no positive control exists: the
    message that must not arrive comes from a connection that was refused or cut off, so
    no marker can be ordered after it on the same path."""
    assert s.poll(QUIET_MS, zmqx.POLLIN) == 0


# ---------------------------------------------------------------- helpers

def last(s):
    return s.getsockopt(zmqx.LAST_ENDPOINT).decode()


def bound(ctx, kind, endpoint, **opts):
    s = sock(ctx, kind, **opts)
    try:
        s.bind(endpoint)
    except zmqx.ZMQError:
        s.close(0)
        raise
    return s, last(s)


def link(a, b, endpoint, binder):
    """Bind one of a/b (binder "a" or "b") and connect the other to it."""
    if binder == "a":
        a.bind(endpoint)
        b.connect(last(a))
    else:
        b.bind(endpoint)
        a.connect(last(b))


def transport_of(addr):
    return addr.split("://", 1)[0]


# small HWMs for mute-state tests (no small SNDBUF/RCVBUF: see
# test_small_socket_buffers_keep_tcp_flowing), and a body big enough to fill buffers
SMALL = dict(sndhwm=5, rcvhwm=5)
BODY = b"x" * 16384


def raw_witness(addr):
    """A plain OS connection to a zmqx listener: dropped when the listener goes away."""
    if addr.startswith("tcp://"):
        host, port = addr[6:].rsplit(":", 1)
        w = socket.create_connection((host, int(port)), timeout=WAIT_MS / 1000)
    else:
        w = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        w.settimeout(WAIT_MS / 1000)
        w.connect(addr[6:])
    return w


def wait_eof(w):
    """Read until the peer closes the connection (the listener is gone)."""
    try:
        while True:
            try:
                if not w.recv(65536):
                    return
            except ConnectionResetError:
                return
    finally:
        w.close()


def restart_bound(ctx, old, kind, addr, **opts):
    """Close a bound socket, wait until its listener is really gone, bind a new one of
    `kind` on the very same address (tcp: the same concrete port)."""
    witness = None if addr.startswith("inproc://") else raw_witness(addr)
    old.close()
    if witness is not None:
        wait_eof(witness)
    # the accepted connections end before the I/O thread closes the listener itself: retry
    # the bind while the port is still held by it (a condition, bounded in time)
    deadline = time.monotonic() + 5
    while True:
        try:
            new, addr2 = bound(ctx, kind, addr, **opts)
            break
        except zmqx.ZMQError as e:
            if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.001)
    assert addr2 == addr
    return new


def sync_sub(pub, sub, prefix, sender=None):
    """PUB/SUB slow joiner: send prefix+b"probe" until `sub` (subscribed to prefix) sees
    one, then a marker, and drain up to the marker. Afterwards every subscription the SUB
    sent before `prefix` has reached the PUB (they travel in order on one connection)."""
    send = sender or pub.send
    for _ in range(WAIT_MS // 10):
        send(prefix + b"probe")
        if sub.poll(10, zmqx.POLLIN):
            break
    else:
        pytest.fail(f"{prefix[:40]!r} never reached the subscriber")
    send(prefix + b"sync-end")
    while True:
        m = sub.recv()
        if m == prefix + b"sync-end":
            return
        assert m == prefix + b"probe", m


def recv_touching(s, *others):
    """recv on s, meanwhile letting `others` process their commands. A socket attaches a
    connection it accepted only when the app calls into it (as in libzmq): a bound SUB
    sends its subscriptions to a new XPUB peer on its next call, a bound XPUB sends its
    welcome message on its next call."""
    for _ in range(WAIT_MS // 10):
        if s.poll(10, zmqx.POLLIN):
            return s.recv()
        for o in others:
            o.poll(0)
    pytest.fail("nothing arrived")


def xpub_expect(xpub, *expected):
    got = [xpub.recv() for _ in expected]
    assert got == list(expected)


@pytest.fixture(params=["bind-pub", "bind-sub"])
def pub_binds(request):
    return request.param == "bind-pub"


def pubsub(ctx, endpoint, pub_binds, pub_kind=zmqx.PUB, sub_kind=zmqx.SUB, pub_opts=None,
           sub_opts=None):
    pub = sock(ctx, pub_kind, **(pub_opts or {}))
    sub = sock(ctx, sub_kind, **(sub_opts or {}))
    link(pub, sub, endpoint, "a" if pub_binds else "b")
    return pub, sub


# ================================================================ PUB/SUB

def test_subscribe_str_bytes_and_setsockopt(ctx, endpoint, pub_binds):
    pub, sub = pubsub(ctx, endpoint, pub_binds)
    sub.subscribe("s-")                          # str
    sub.subscribe(b"b-")                         # bytes
    sub.setsockopt(zmqx.SUBSCRIBE, b"o-")        # raw option
    sub.setsockopt_string(zmqx.SUBSCRIBE, "u-")
    sub.subscribe(b"end")
    sync_sub(pub, sub, b"end")
    for t in (b"s-", b"b-", b"o-", b"u-", b"x-", b"S-", b"s"):
        pub.send(t + b"1")
    pub.send(b"end")
    assert recv_until(sub, b"end") == [b"s-1", b"b-1", b"o-1", b"u-1"]

    sub.unsubscribe("s-")
    sub.unsubscribe(b"b-")
    sub.setsockopt(zmqx.UNSUBSCRIBE, b"o-")
    sub.subscribe(b"end2")
    sync_sub(pub, sub, b"end2")
    for t in (b"s-", b"b-", b"o-", b"u-"):
        pub.send(t + b"2")
    pub.send(b"end2")
    assert recv_until(sub, b"end2") == [b"u-2"]


def test_subscribe_int_is_a_type_error(ctx, ipc_dir):
    """pyzmq raises TypeError for a non-bytes topic. Regression (before b3355e1):
    bytes(12) silently subscribed to twelve NUL bytes instead."""
    pub, addr = bound(ctx, zmqx.PUB, endpoint_for("inproc", ipc_dir))
    sub = connected(ctx, zmqx.SUB, addr)
    with pytest.raises(TypeError):
        sub.subscribe(12)
    with pytest.raises(TypeError):
        sub.setsockopt(zmqx.SUBSCRIBE, 3)
    sub.subscribe(b"t")                         # still usable
    sync_sub(pub, sub, b"t")
    pub.send(b"\x00" * 12)
    pub.send(b"t-end")
    assert recv_until(sub, b"t-end") == []


def test_prefix_matching(ctx, endpoint, pub_binds):
    pub, sub = pubsub(ctx, endpoint, pub_binds)
    sub.subscribe(b"ab")
    sub.subscribe(b"zz")
    sync_sub(pub, sub, b"zz")
    for m in (b"a", b"ab", b"abc", b"b", b"xab", b"Ab", b"ab\x00\xff", b""):
        pub.send(m)
    pub.send(b"zz-end")
    assert recv_until(sub, b"zz-end") == [b"ab", b"abc", b"ab\x00\xff"]


def test_empty_topic_receives_everything(ctx, endpoint, pub_binds):
    pub, sub = pubsub(ctx, endpoint, pub_binds)
    sub.subscribe(b"")
    sync_sub(pub, sub, b"")
    msgs = [b"", b"a", b"\x00", b"\x01topic", b"x" * 1000]
    for m in msgs:
        pub.send(m)
    pub.send(b"end")
    assert recv_until(sub, b"end") == msgs


def test_no_subscription_receives_nothing(ctx, endpoint):
    pub, addr = bound(ctx, zmqx.PUB, endpoint)
    silent = connected(ctx, zmqx.SUB, addr)
    silent.subscribe(b"ctl")
    sync_sub(pub, silent, b"ctl")                       # silent's connection is up...
    silent.unsubscribe(b"ctl")                          # ...and it wants nothing
    witness = connected(ctx, zmqx.SUB, addr)
    witness.subscribe(b"")
    sync_sub(pub, witness, b"")
    for i in range(20):
        pub.send(b"msg-%d" % i)
    pub.send(b"end")
    assert len(recv_until(witness, b"end")) == 20      # they were really sent
    # positive control: subscribe again; sync_sub fails on anything but its own probes,
    # and a msg-N delivered to `silent` would be queued ahead of them
    silent.subscribe(b"ctl2")
    sync_sub(pub, silent, b"ctl2")


def test_multipart_matched_on_first_frame(ctx, endpoint, pub_binds):
    pub, sub = pubsub(ctx, endpoint, pub_binds)
    sub.subscribe(b"yes")
    sync_sub(pub, sub, b"yes")
    pub.send_multipart([b"yes", b"a", b"b"])
    pub.send_multipart([b"no", b"yes", b"c"])           # 2nd frame matches: dropped whole
    pub.send_multipart([b"no", b"d"])
    pub.send_multipart([b"yes-too", b""])
    pub.send_multipart([b"yes", b"last"])
    assert sub.recv_multipart() == [b"yes", b"a", b"b"]
    assert sub.recv_multipart() == [b"yes-too", b""]
    assert sub.recv_multipart() == [b"yes", b"last"]
    helpers.assert_empty(sub)       # one connection keeps order: nothing can follow late


def test_subscribe_twice_unsubscribe_once(ctx, endpoint, pub_binds):
    pub, sub = pubsub(ctx, endpoint, pub_binds)
    sub.subscribe(b"A")
    sub.subscribe(b"A")
    sub.unsubscribe(b"A")
    sub.subscribe(b"m")
    sync_sub(pub, sub, b"m")
    pub.send(b"A1")
    pub.send(b"m-end")
    assert recv_until(sub, b"m-end") == [b"A1"]         # one reference left
    sub.unsubscribe(b"A")
    sub.subscribe(b"n")
    sync_sub(pub, sub, b"n")
    pub.send(b"A2")
    pub.send(b"n-end")
    assert recv_until(sub, b"n-end") == []


def test_unsubscribe_unknown_topic_is_harmless(ctx, endpoint):
    pub, addr = bound(ctx, zmqx.PUB, endpoint)
    sub = connected(ctx, zmqx.SUB, addr)
    sub.unsubscribe(b"never")
    sub.subscribe(b"t")
    sync_sub(pub, sub, b"t")
    pub.send(b"t1")
    assert sub.recv() == b"t1"


def test_pub_to_several_subs_with_different_topics(ctx, transport, ipc_dir, pub_binds):
    pub = sock(ctx, zmqx.PUB)
    topics = [b"a", b"b", b"", b"ab"]
    subs = {}
    if pub_binds:
        pub.bind(endpoint_for(transport, ipc_dir))
    for t in topics:
        s = sock(ctx, zmqx.SUB)
        if pub_binds:
            s.connect(last(pub))
        else:
            s.bind(endpoint_for(transport, ipc_dir))
            pub.connect(last(s))
        subs[t] = s
    for k, (t, s) in enumerate(subs.items()):
        s.subscribe(t)
        s.subscribe(b"flush")
        s.subscribe(b"sync%d" % k)
        sync_sub(pub, s, b"sync%d" % k)
    pub.send(b"flush1")
    for s in subs.values():
        recv_until(s, b"flush1")        # the "" subscriber saw the others' probes too
    msgs = [b"a1", b"b1", b"ab1", b"c1", b"ba"]
    for m in msgs:
        pub.send(m)
    pub.send(b"flush2")
    for t, s in subs.items():
        assert recv_until(s, b"flush2") == [m for m in msgs if m.startswith(t)], t


def drain_until_end(peer, send_end):
    """Receive everything a dropping sender let through: after each receive, send an
    "end" marker (it may be dropped too while the pipes are full); the first marker that
    arrives follows every message accepted before it (one connection keeps order)."""
    got = []
    while True:
        send_end()
        m = peer.recv()
        if m == b"end":
            return got
        got.append(int(m[:6]))


def mute_bound(endpoint, hwm, size):
    """Most messages a dropping sender can pass to a peer that reads nothing: both pipes
    on inproc; over a wire also what the engines and the SMALL_BUFS kernel buffers hold
    (helpers.wire_hwm_bound)."""
    if transport_of(endpoint) == "inproc":
        return 2 * hwm
    return helpers.wire_hwm_bound(hwm, hwm, size)


def hwm_opts(endpoint):
    """SMALL HWMs, plus small kernel buffers over a wire (helpers.wire_hwm_bound)."""
    opts = dict(SMALL)
    if transport_of(endpoint) != "inproc":
        opts.update(helpers.SMALL_BUFS)
    return opts


def assert_saturated(endpoint, queued, size):
    """A blocking send timed out: both pipes are full (exactly, on inproc), and over a
    wire at most the engines and kernel buffers hold more (helpers.wire_hwm_bound)."""
    hwm = SMALL["sndhwm"]
    if transport_of(endpoint) == "inproc":
        assert queued == 2 * hwm, queued
    else:
        assert 2 * hwm <= queued <= helpers.wire_hwm_bound(hwm, hwm, size), queued


def test_pub_never_blocks_slow_subscriber(ctx, endpoint, pub_binds):
    hwm = 10
    size = 16384
    opts = dict(sndhwm=hwm, rcvhwm=hwm)
    if transport_of(endpoint) != "inproc":
        opts.update(helpers.SMALL_BUFS)
    pub, sub = pubsub(ctx, endpoint, pub_binds, pub_opts=opts, sub_opts=opts)
    sub.subscribe(b"")
    sync_sub(pub, sub, b"")
    n = 2000
    body = b"x" * size
    for i in range(n):
        pub.send(b"%06d" % i + body, zmqx.NOBLOCK)      # never raises Again
    got = drain_until_end(sub, lambda: pub.send(b"end", zmqx.NOBLOCK))
    assert got, "nothing delivered"
    assert got[0] == 0                                   # the first ones go through...
    assert got == sorted(set(got))                       # ...in order, no duplicates
    assert hwm <= len(got) <= mute_bound(endpoint, hwm, size + 6), len(got)


@pytest.mark.parametrize("transport_", ["ipc", "tcp"])
def test_sub_keeps_subscriptions_when_pub_restarts(ctx, ipc_dir, transport_):
    pub, addr = bound(ctx, zmqx.PUB, endpoint_for(transport_, ipc_dir))
    sub = connected(ctx, zmqx.SUB, addr, reconnect_ivl=20)
    sub.subscribe(b"keep")
    sub.subscribe("also")
    sync_sub(pub, sub, b"keep")
    pub.send(b"also-1")
    assert sub.recv() == b"also-1"

    pub2 = restart_bound(ctx, pub, zmqx.PUB, addr)
    # no resubscription by the app: the SUB sends its topics again on the new connection
    sync_sub(pub2, sub, b"keep")
    pub2.send(b"other")
    pub2.send(b"also-2")
    pub2.send(b"keep-end")
    assert recv_until(sub, b"keep-end") == [b"also-2"]


@pytest.mark.parametrize("transport_", ["ipc", "tcp"])
def test_restarted_bound_sub_resubscribes(ctx, ipc_dir, transport_):
    sub, addr = bound(ctx, zmqx.SUB, endpoint_for(transport_, ipc_dir))
    sub.subscribe(b"old")
    pub = connected(ctx, zmqx.PUB, addr, reconnect_ivl=20)
    sync_sub(pub, sub, b"old")

    sub2 = restart_bound(ctx, sub, zmqx.SUB, addr)
    sub2.subscribe(b"new")
    sync_sub(pub, sub2, b"new")
    pub.send(b"old-1")                # the old SUB's topics died with it
    pub.send(b"new-1")
    pub.send(b"new-end")
    assert recv_until(sub2, b"new-end") == [b"new-1"]


def test_subscriptions_made_after_connect_and_before(ctx, endpoint, pub_binds):
    pub = sock(ctx, zmqx.PUB)
    sub = sock(ctx, zmqx.SUB)
    sub.subscribe(b"before")
    link(pub, sub, endpoint, "a" if pub_binds else "b")
    sub.subscribe(b"after")
    sync_sub(pub, sub, b"after")
    pub.send(b"before-1")
    pub.send(b"after-1")
    pub.send(b"x")
    pub.send(b"after-end")
    assert recv_until(sub, b"after-end") == [b"before-1", b"after-1"]


# ================================================================ XPUB/XSUB

def test_xpub_sees_subscribe_and_unsubscribe(ctx, endpoint, pub_binds):
    xpub, sub = pubsub(ctx, endpoint, pub_binds, pub_kind=zmqx.XPUB)
    sub.subscribe(b"topic")
    assert recv_touching(xpub, sub) == b"\x01topic"
    sub.subscribe(b"")
    assert xpub.recv() == b"\x01"
    sub.unsubscribe(b"topic")
    assert xpub.recv() == b"\x00topic"
    assert not xpub.rcvmore
    xpub.send(b"hello")                      # and the XPUB publishes to it
    assert sub.recv() == b"hello"


@pytest.mark.parametrize("mode", ["default", "verbose", "verboser"])
def test_xpub_duplicate_subscriptions(ctx, endpoint, mode):
    xpub, addr = bound(ctx, zmqx.XPUB, endpoint)
    if mode == "verbose":
        xpub.setsockopt(zmqx.XPUB_VERBOSE, 1)
        assert xpub.getsockopt(zmqx.XPUB_VERBOSE) == 1
    elif mode == "verboser":
        xpub.setsockopt(zmqx.XPUB_VERBOSER, 1)
        assert xpub.getsockopt(zmqx.XPUB_VERBOSER) == 1
    sub1 = connected(ctx, zmqx.SUB, addr)
    sub2 = connected(ctx, zmqx.SUB, addr)
    sub1.subscribe(b"t")
    assert xpub.recv() == b"\x01t"
    sub2.subscribe(b"t")                     # a duplicate, from another subscriber
    sub2.subscribe(b"m")                     # marker: travels after it on sub2's link
    if mode == "default":
        xpub_expect(xpub, b"\x01m")
    else:
        xpub_expect(xpub, b"\x01t", b"\x01m")
    sub2.unsubscribe(b"t")                   # not the last subscriber of t
    sub2.subscribe(b"n")
    if mode == "verboser":
        xpub_expect(xpub, b"\x00t", b"\x01n")
    else:
        xpub_expect(xpub, b"\x01n")
    sub1.unsubscribe(b"t")                   # the last one: always reported
    assert xpub.recv() == b"\x00t"


@pytest.mark.parametrize("how", ["close", "disconnect"])
def test_xpub_drops_subscriptions_of_departed_subscriber(ctx, endpoint, how):
    xpub, addr = bound(ctx, zmqx.XPUB, endpoint)
    sub1 = connected(ctx, zmqx.SUB, addr)
    sub2 = connected(ctx, zmqx.SUB, addr)
    sub1.subscribe(b"t")
    sub1.subscribe(b"only1")
    xpub_expect(xpub, b"\x01t", b"\x01only1")
    sub2.subscribe(b"t")
    sub2.subscribe(b"two")
    xpub_expect(xpub, b"\x01two")
    if how == "close":
        sub1.close()
    else:
        sub1.disconnect(addr)
    assert xpub.recv() == b"\x00only1"       # t is still wanted by sub2
    sub2.subscribe(b"mark")
    assert xpub.recv() == b"\x01mark"        # ...so no \x00t came with it
    xpub.send(b"t-1")
    assert sub2.recv() == b"t-1"
    sub2.close()
    got = {xpub.recv() for _ in range(3)}
    assert got == {b"\x00t", b"\x00two", b"\x00mark"}
    # positive control: a new subscriber's subscription is the next thing queued
    sub3 = connected(ctx, zmqx.SUB, addr)
    sub3.subscribe(b"after")
    helpers.assert_first(xpub, b"\x01after")


def test_xsub_send_subscribes_upstream(ctx, endpoint, pub_binds):
    pub, xsub = pubsub(ctx, endpoint, pub_binds, sub_kind=zmqx.XSUB)
    xsub.send(b"\x01a")
    xsub.send(b"\x01s")
    sync_sub(pub, xsub, b"s")
    for m in (b"a1", b"b1", b"ba", b"a2"):
        pub.send(m)
    pub.send(b"s-end")
    assert recv_until(xsub, b"s-end") == [b"a1", b"a2"]
    xsub.send(b"\x00a")
    xsub.send(b"\x01u")
    sync_sub(pub, xsub, b"u")
    pub.send(b"a3")
    pub.send(b"u-end")
    assert recv_until(xsub, b"u-end") == []


def test_xsub_to_xpub_subscriptions_and_user_messages(ctx, endpoint, pub_binds):
    xpub, xsub = pubsub(ctx, endpoint, pub_binds, pub_kind=zmqx.XPUB, sub_kind=zmqx.XSUB)
    xsub.send(b"\x01abc")
    assert recv_touching(xpub, xsub) == b"\x01abc"
    xsub.send(b"plain message")              # not a subscription: reaches the XPUB app
    assert xpub.recv() == b"plain message"
    xsub.send_multipart([b"\x01multi", b"part"])  # multipart is never a subscription
    assert xpub.recv_multipart() == [b"\x01multi", b"part"]
    xpub.send(b"abc-1")
    xpub.send(b"multi-1")
    xpub.send(b"abc-2")
    assert xsub.recv() == b"abc-1"
    assert xsub.recv() == b"abc-2"
    xsub.send(b"\x00abc")
    assert xpub.recv() == b"\x00abc"


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_queued_long_subscriptions_arrive_intact(ctx, transport, reserve):
    """Subscriptions queued before the connection exists go out in one write batch:
    30 topics of 2048 bytes, a filler, one more 2048-byte topic. With the batch 2058 to
    2066 bytes short of its 64 KiB stage, the SUBSCRIBE header must not be staged
    without its topic. Regression (3d6343f and before): 9 + 2048 bytes were reserved per
    message but a SUBSCRIBE needs 9 + 10 + 2048; the topic was silently dropped after
    its header, corrupting the stream (see test_patterns_interop.py: libzmq peer)."""
    for filler in (1443, 1446, 1449):
        dead = reserve(transport)         # nobody listens (a tcp port held until bound)
        addr = dead.endpoint
        xsub = sock(ctx, zmqx.XSUB, reconnect_ivl=20)
        xsub.connect(addr)
        topics = [b"%02d" % i + b"x" * 2046 for i in range(30)]
        topics += [b"F" * filler, b"L" + b"y" * 2047]
        for t in topics:
            xsub.send(b"\x01" + t)
        xpub, _ = bound(ctx, zmqx.XPUB, dead.release(), rcvtimeo=1000)
        got = []
        with contextlib.suppress(zmqx.Again):
            while len(got) < len(topics):
                got.append(xpub.recv())
        xsub.send(b"\x01end")
        with contextlib.suppress(zmqx.Again):
            while not got or got[-1] != b"\x01end":
                got.append(xpub.recv())
        assert [g[1:] for g in got] == topics + [b"end"], \
            f"filler {filler}: {len(got)} subscriptions arrived"
        xsub.close()
        xpub.close()


def test_xpub_welcome_message(ctx, endpoint, pub_binds):
    xpub = sock(ctx, zmqx.XPUB)
    xpub.setsockopt(zmqx.XPUB_WELCOME_MSG, b"W-hello")
    sub = sock(ctx, zmqx.SUB)
    sub.subscribe(b"W")
    link(xpub, sub, endpoint, "a" if pub_binds else "b")
    assert recv_touching(xpub, sub) == b"\x01W"
    assert sub.recv() == b"W-hello"
    xpub.send(b"W-next")
    assert sub.recv() == b"W-next"


def test_xsub_receives_welcome_message_unfiltered(ctx, endpoint):
    """libzmq's XSUB does not filter what arrives (only SUB does): a proxy's XSUB
    frontend passes an upstream XPUB's welcome message on (pyzmq 27.3: the XSUB gets
    b"W-hello" without any subscription matching it). Regression (3d6343f and before):
    zmqx's XSUB filtered like a SUB and dropped it."""
    xpub, addr = bound(ctx, zmqx.XPUB, endpoint)
    xpub.setsockopt(zmqx.XPUB_WELCOME_MSG, b"W-hello")
    xsub = connected(ctx, zmqx.XSUB, addr)
    xsub.send(b"\x01abc")
    assert recv_touching(xpub, xsub) == b"\x01abc"
    xpub.send(b"abc-1")
    assert xsub.recv() == b"W-hello"
    assert xsub.recv() == b"abc-1"


def test_xpub_welcome_message_filtered_by_subscriber(ctx, endpoint):
    xpub, addr = bound(ctx, zmqx.XPUB, endpoint)
    xpub.setsockopt(zmqx.XPUB_WELCOME_MSG, b"W-hello")
    sub = connected(ctx, zmqx.SUB, addr)
    sub.subscribe(b"x")
    assert xpub.recv() == b"\x01x"
    xpub.send(b"x-end")
    assert sub.recv() == b"x-end"            # the welcome went to it but didn't match


def test_xpub_manual(ctx, endpoint, pub_binds):
    xpub = sock(ctx, zmqx.XPUB, xpub_manual=1)
    assert xpub.getsockopt(zmqx.XPUB_MANUAL) == 1
    sub = sock(ctx, zmqx.SUB)
    link(xpub, sub, endpoint, "a" if pub_binds else "b")
    sub.subscribe(b"t")
    assert recv_touching(xpub, sub) == b"\x01t"
    xpub.send(b"t0")                          # not subscribed yet: the app decides
    xpub.setsockopt(zmqx.SUBSCRIBE, b"t")
    xpub.send(b"t1")
    assert sub.recv() == b"t1"
    sub.subscribe(b"t")                       # duplicates reach the app in manual mode
    assert xpub.recv() == b"\x01t"
    sub.unsubscribe(b"t")
    sub.unsubscribe(b"t")
    assert xpub.recv() == b"\x00t"
    # the app grants a different topic for the next request
    sub.subscribe(b"")
    assert xpub.recv() == b"\x01"
    xpub.setsockopt(zmqx.SUBSCRIBE, b"only")
    xpub.setsockopt(zmqx.UNSUBSCRIBE, b"t")
    xpub.send(b"t2")
    xpub.send(b"other")
    xpub.send(b"only-1")
    assert sub.recv() == b"only-1"


def test_xpub_nodrop_raises_again_at_hwm(ctx, endpoint):
    """XPUB_NODROP: at HWM send(NOBLOCK) raises Again (and a blocking send honours
    SNDTIMEO) instead of dropping; nothing sent is lost."""
    small = hwm_opts(endpoint)
    pub, addr = bound(ctx, zmqx.XPUB, endpoint, xpub_nodrop=1, **small)
    assert pub.getsockopt(zmqx.XPUB_NODROP) == 1
    sub = connected(ctx, zmqx.SUB, addr, **small)
    sub.subscribe(b"")
    sync_sub(pub, sub, b"")
    body = b"x" * 16384
    sent = 0
    with pytest.raises(zmqx.Again):
        while sent < 5000:
            pub.send(b"%06d" % sent + body, zmqx.NOBLOCK)
            sent += 1
    assert sent < 5000
    # a blocking send waits SNDTIMEO for room (over ipc/tcp the I/O thread may still
    # make some by filling the kernel buffers: keep going until nothing moves)
    pub.sndtimeo = 200
    for _ in range(1000):
        t0 = time.monotonic()
        try:
            pub.send(b"%06d" % sent + body)
        except zmqx.Again:
            helpers.assert_elapsed(time.monotonic() - t0, 200, "SNDTIMEO")
            break
        sent += 1
    else:
        pytest.fail("a blocking send never timed out")
    assert_saturated(endpoint, sent, 6 + len(body))
    got = [int(sub.recv()[:6]) for _ in range(sent)]
    assert got == list(range(sent))           # nothing was dropped
    pub.sndtimeo = WAIT_MS
    pub.send(b"after")                         # room again
    assert sub.recv() == b"after"


def test_pub_honours_xpub_nodrop_like_libzmq(ctx, ipc_dir):
    """libzmq's PUB is an XPUB: it accepts XPUB_NODROP and then raises Again at HWM
    (pyzmq 27.3 / libzmq 4.3.5: Again after 10 sends with HWM 5+5 over inproc).
    Regression (3d6343f and before): zmqx accepted the option on a PUB, ignored it and
    dropped."""
    pub, addr = bound(ctx, zmqx.PUB, endpoint_for("inproc", ipc_dir), xpub_nodrop=1,
                      sndhwm=5)
    assert pub.getsockopt(zmqx.XPUB_NODROP) == 1
    sub = connected(ctx, zmqx.SUB, addr, rcvhwm=5)
    sub.subscribe(b"")
    sync_sub(pub, sub, b"")
    sent = 0
    with pytest.raises(zmqx.Again):
        while sent < 1000:
            pub.send(b"%06d" % sent, zmqx.NOBLOCK)
            sent += 1
    assert [int(sub.recv()) for _ in range(sent)] == list(range(sent))


@pytest.mark.parametrize("kind", ["XPUB", "PUB"])
def test_invert_matching(ctx, endpoint, pub_binds, kind):
    pub, sub = pubsub(ctx, endpoint, pub_binds, pub_kind=getattr(zmqx, kind),
                      pub_opts=dict(invert_matching=1), sub_opts=dict(invert_matching=1))
    assert pub.getsockopt(zmqx.INVERT_MATCHING) == 1
    assert sub.getsockopt(zmqx.INVERT_MATCHING) == 1
    sub.subscribe(b"a")
    if kind == "XPUB":
        assert recv_touching(pub, sub) == b"\x01a"        # the XPUB knows: it filters (inverted)
    else:
        sync_sub(pub, sub, b"probe")         # not matching "a": delivered
    for m in (b"a1", b"b1", b"ab", b"ba", b"", b"a"):
        pub.send(m)
    pub.send(b"end")
    assert recv_until(sub, b"end") == [b"b1", b"ba", b""]


def test_subscription_forwarding_proxy(ctx, transport, ipc_dir):
    """The guide's proxy: XSUB frontend connected to a PUB, XPUB backend, subscriptions
    forwarded upstream and messages downstream by a Poller loop."""
    pub, pub_addr = bound(ctx, zmqx.PUB, endpoint_for(transport, ipc_dir))
    frontend = connected(ctx, zmqx.XSUB, pub_addr)
    backend, back_addr = bound(ctx, zmqx.XPUB, endpoint_for(transport, ipc_dir))
    sub = connected(ctx, zmqx.SUB, back_addr)
    sub.subscribe(b"t")
    poller = zmqx.Poller()
    poller.register(frontend, zmqx.POLLIN)
    poller.register(backend, zmqx.POLLIN)
    upstream = []

    def pump(timeout):
        for s, _ in poller.poll(timeout):
            msg = s.recv_multipart()
            if s is backend:
                upstream.append(msg)
                frontend.send_multipart(msg)
            else:
                backend.send_multipart(msg)

    for _ in range(WAIT_MS // 10):
        pub.send(b"t-probe")
        pump(10)
        if sub.poll(0, zmqx.POLLIN):
            break
    else:
        pytest.fail("the subscription never crossed the proxy")
    assert upstream[0] == [b"\x01t"]
    pub.send(b"u-1")                           # nobody downstream wants it
    pub.send(b"t-1")
    pub.send(b"t-end")
    got = []
    while b"t-end" not in got:
        pump(10)
        while sub.poll(0, zmqx.POLLIN):
            got.append(sub.recv())
    assert set(got) <= {b"t-probe", b"t-1", b"t-end"}
    assert got[-2:] == [b"t-1", b"t-end"]


# ================================================================ REQ/REP

@pytest.fixture(params=["bind-a", "bind-b"])
def binder(request):
    return request.param[-1]


def pair_of(ctx, endpoint, binder, a_kind, b_kind, a_opts=None, b_opts=None):
    a = sock(ctx, a_kind, **(a_opts or {}))
    b = sock(ctx, b_kind, **(b_opts or {}))
    link(a, b, endpoint, binder)
    return a, b


def recv_multipart_touching(s, *others):
    first = recv_touching(s, *others)
    return [first] + (s.recv_multipart() if s.rcvmore else [])


def test_req_rep_lockstep(ctx, endpoint, binder):
    req, rep = pair_of(ctx, endpoint, binder, zmqx.REQ, zmqx.REP)
    for i in range(5):
        req.send(b"req-%d" % i)
        assert rep.recv() == b"req-%d" % i
        assert not rep.rcvmore
        rep.send(b"rep-%d" % i)
        assert req.recv() == b"rep-%d" % i
        assert not req.rcvmore


def test_req_rep_multipart(ctx, endpoint, binder):
    req, rep = pair_of(ctx, endpoint, binder, zmqx.REQ, zmqx.REP)
    for parts in ([b"a", b"b"], [b"", b"x", b""], [b"only"], [b"x" * 1000, b"y" * 70000]):
        req.send_multipart(parts)
        assert rep.recv_multipart() == parts
        rep.send_multipart(parts[::-1])
        assert req.recv_multipart() == parts[::-1]


def test_req_recv_before_send_is_efsm(ctx, endpoint):
    rep, addr = bound(ctx, zmqx.REP, endpoint)
    req = connected(ctx, zmqx.REQ, addr)
    with raises_errno(zmqx.EFSM):
        req.recv()
    with raises_errno(zmqx.EFSM):
        req.recv(zmqx.NOBLOCK)
    req.send(b"q")                            # still usable
    assert rep.recv() == b"q"
    rep.send(b"a")
    assert req.recv() == b"a"


def test_req_send_twice_is_efsm(ctx, endpoint):
    rep, addr = bound(ctx, zmqx.REP, endpoint)
    req = connected(ctx, zmqx.REQ, addr)
    req.send(b"first")
    with raises_errno(zmqx.EFSM):
        req.send(b"second")
    assert not (req.poll(0, zmqx.POLLOUT) & zmqx.POLLOUT)   # and poll agrees
    assert rep.recv() == b"first"
    rep.send(b"answer")
    assert req.recv() == b"answer"
    assert req.poll(WAIT_MS, zmqx.POLLOUT) & zmqx.POLLOUT
    req.send(b"third")                          # the second was never sent
    assert rep.recv() == b"third"


def test_rep_send_before_recv_is_efsm(ctx, endpoint):
    rep, addr = bound(ctx, zmqx.REP, endpoint)
    req = connected(ctx, zmqx.REQ, addr)
    with raises_errno(zmqx.EFSM):
        rep.send(b"nobody asked")
    req.send(b"q")
    assert rep.recv() == b"q"
    with raises_errno(zmqx.EFSM):
        rep.recv(zmqx.NOBLOCK)                  # must reply first
    rep.send(b"a")
    with raises_errno(zmqx.EFSM):
        rep.send(b"a again")
    assert req.recv() == b"a"


def test_rep_survives_requester_vanishing(ctx, endpoint):
    rep, addr = bound(ctx, zmqx.REP, endpoint)
    gone = connected(ctx, zmqx.REQ, addr)
    gone.send(b"q1")
    assert rep.recv() == b"q1"
    gone.close()
    rep.send(b"nobody listens")              # dropped, no error
    req = connected(ctx, zmqx.REQ, addr)
    req.send(b"q2")
    assert rep.recv() == b"q2"
    rep.send(b"a2")
    assert req.recv() == b"a2"


def test_req_round_robins_over_reps(ctx, transport, ipc_dir):
    reps = [bound(ctx, zmqx.REP, endpoint_for(transport, ipc_dir)) for _ in range(2)]
    req = sock(ctx, zmqx.REQ)
    for _, addr in reps:
        req.connect(addr)
    poller = zmqx.Poller()
    for r, _ in reps:
        poller.register(r, zmqx.POLLIN)
    order = []
    for i in range(6):
        req.send(b"%d" % i)
        ready = dict(poller.poll(WAIT_MS))
        assert len(ready) == 1
        (r,) = ready
        assert r.recv() == b"%d" % i
        order.append(0 if r is reps[0][0] else 1)
        r.send(b"ok-%d" % i)
        assert req.recv() == b"ok-%d" % i
    assert order in ([0, 1] * 3, [1, 0] * 3)


def test_rep_fair_queues_and_routes_replies(ctx, endpoint):
    rep, addr = bound(ctx, zmqx.REP, endpoint)
    reqs = [connected(ctx, zmqx.REQ, addr, routing_id=b"req%d" % i) for i in range(4)]
    for rnd in range(3):
        for i, r in enumerate(reqs):
            r.send_multipart([b"from", b"%d" % i, b"round %d" % rnd])
        seen = []
        for _ in reqs:
            frm, who, rnd_ = rep.recv_multipart()
            seen.append(int(who))
            rep.send_multipart([b"to", who, rnd_])
        assert sorted(seen) == [0, 1, 2, 3]
        for i, r in enumerate(reqs):
            assert r.recv_multipart() == [b"to", b"%d" % i, b"round %d" % rnd]


def test_req_relaxed_allows_new_request_after_lost_reply(ctx, endpoint):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint)
    req = connected(ctx, zmqx.REQ, addr, routing_id=b"R", req_relaxed=1)
    assert req.getsockopt(zmqx.REQ_RELAXED) == 1
    req.send(b"r1")
    assert router.recv_multipart() == [b"R", b"", b"r1"]    # ...and never answered
    req.send(b"r2")                                          # no EFSM
    assert router.recv_multipart() == [b"R", b"", b"r2"]
    router.send_multipart([b"R", b"", b"ans2"])
    assert req.recv() == b"ans2"
    req.send(b"r3")
    assert router.recv_multipart() == [b"R", b"", b"r3"]


def test_req_correlate_ignores_stale_replies(ctx, endpoint):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint)
    req = connected(ctx, zmqx.REQ, addr, routing_id=b"R", req_relaxed=1, req_correlate=1)
    assert req.getsockopt(zmqx.REQ_CORRELATE) == 1
    req.send(b"r1")
    rid, id1, delim, body = router.recv_multipart()
    assert (rid, delim, body) == (b"R", b"", b"r1") and len(id1) == 4
    req.send(b"r2")                                           # r1's reply is lost
    rid, id2, delim, body = router.recv_multipart()
    assert (rid, delim, body) == (b"R", b"", b"r2") and len(id2) == 4 and id2 != id1
    router.send_multipart([b"R", id1, b"", b"stale answer to r1"])   # out of order
    router.send_multipart([b"R", b"", b"no request id"])            # malformed
    router.send_multipart([b"R", id2, b"", b"answer to r2"])
    assert req.recv() == b"answer to r2"
    # the app (a buggy server) replies twice: the duplicate is dropped
    req.send(b"r3")
    rid, id3, _, _ = router.recv_multipart()
    router.send_multipart([b"R", id3, b"", b"answer to r3"])
    router.send_multipart([b"R", id3, b"", b"duplicate answer to r3"])
    assert req.recv() == b"answer to r3"
    req.send(b"r4")
    rid, id4, _, _ = router.recv_multipart()
    router.send_multipart([b"R", id4, b"", b"answer to r4"])
    assert req.recv() == b"answer to r4"


def test_req_accepts_reply_only_from_the_peer_it_asked(ctx, transport, ipc_dir):
    r1, a1 = bound(ctx, zmqx.ROUTER, endpoint_for(transport, ipc_dir))
    r2, a2 = bound(ctx, zmqx.ROUTER, endpoint_for(transport, ipc_dir))
    req = sock(ctx, zmqx.REQ, routing_id=b"R")
    req.connect(a1)
    req.connect(a2)
    poller = zmqx.Poller()
    poller.register(r1, zmqx.POLLIN)
    poller.register(r2, zmqx.POLLIN)
    req.send(b"q1")
    (first,) = dict(poller.poll(WAIT_MS))
    assert first.recv_multipart() == [b"R", b"", b"q1"]
    first.send_multipart([b"R", b"", b"a1"])
    assert req.recv() == b"a1"
    req.send(b"q2")                               # round-robin: the other ROUTER
    (second,) = dict(poller.poll(WAIT_MS))
    assert second is not first
    assert second.recv_multipart() == [b"R", b"", b"q2"]
    first.send_multipart([b"R", b"", b"stray from the first"])   # routable, not asked
    second.send_multipart([b"R", b"", b"a2"])
    assert req.recv() == b"a2"


@pytest.mark.parametrize("stale_from", ["other peer", "same peer"])
def test_req_discards_stale_replies_on_new_request(ctx, ipc_dir, stale_from):
    """libzmq's REQ drops every message already queued when a new request begins
    (req.cpp: "REQ sends request to A, A replies, B replies too ... An hour later REQ
    sends a request to B. B's old reply is used."). pyzmq 27.3 answers q3 with b"a3";
    zmqx (3987474) hands out the stale message as the reply to the new request.
    inproc only: there the stale message is queued at the REQ as soon as it is sent
    (over ipc/tcp it could still be in flight, for libzmq too)."""
    r1, a1 = bound(ctx, zmqx.ROUTER, endpoint_for("inproc", ipc_dir))
    r2, a2 = bound(ctx, zmqx.ROUTER, endpoint_for("inproc", ipc_dir))
    req = sock(ctx, zmqx.REQ, routing_id=b"R")
    req.connect(a1)
    req.connect(a2)
    req.send(b"q1")
    assert r1.recv_multipart() == [b"R", b"", b"q1"]
    r1.send_multipart([b"R", b"", b"a1"])
    if stale_from == "same peer":
        r1.send_multipart([b"R", b"", b"a1 again"])      # a buggy server answers twice
    assert req.recv() == b"a1"
    req.send(b"q2")
    assert r2.recv_multipart() == [b"R", b"", b"q2"]
    if stale_from == "other peer":
        r1.send_multipart([b"R", b"", b"stray"])          # r1 wasn't asked
    r2.send_multipart([b"R", b"", b"a2"])
    assert req.recv() == b"a2"
    req.send(b"q3")                                       # round-robin: r1 again
    assert r1.recv_multipart() == [b"R", b"", b"q3"]
    r1.send_multipart([b"R", b"", b"a3"])
    assert req.recv() == b"a3"


# ================================================================ DEALER/ROUTER

def test_router_prefixes_peer_routing_id(ctx, endpoint, binder):
    dealer, router = pair_of(ctx, endpoint, binder, zmqx.DEALER, zmqx.ROUTER,
                             a_opts=dict(routing_id=b"dealer-1"))
    assert dealer.getsockopt(zmqx.ROUTING_ID) == b"dealer-1"
    dealer.send_multipart([b"hello", b"world"])
    assert router.recv_multipart() == [b"dealer-1", b"hello", b"world"]
    router.send_multipart([b"dealer-1", b"back", b"again"])
    assert dealer.recv_multipart() == [b"back", b"again"]


def test_router_generates_ids(ctx, endpoint):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint)
    dealers = [connected(ctx, zmqx.DEALER, addr) for _ in range(3)]
    ids = {}
    for i, d in enumerate(dealers):
        d.send(b"%d" % i)
        rid, body = router.recv_multipart()
        assert len(rid) == 5 and rid[0] == 0, rid
        ids[int(body)] = rid
    assert len(set(ids.values())) == 3
    for i in (2, 0, 1):
        router.send_multipart([ids[i], b"for %d" % i])
    for i, d in enumerate(dealers):
        assert d.recv() == b"for %d" % i


def test_router_routes_by_first_frame(ctx, endpoint):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint)
    dealers = {b"d%d" % i: connected(ctx, zmqx.DEALER, addr, routing_id=b"d%d" % i)
               for i in range(4)}
    for rid, d in dealers.items():
        d.send(b"hi")
    assert sorted(router.recv_multipart()[0] for _ in dealers) == sorted(dealers)
    for k in range(3):
        for rid in sorted(dealers, reverse=True):
            router.send_multipart([rid, b"msg", b"%d" % k, rid])
    for rid in dealers:                 # a marker after everything, to each dealer
        router.send_multipart([rid, b"end"])
    for rid, d in dealers.items():
        for k in range(3):
            assert d.recv_multipart() == [b"msg", b"%d" % k, rid]
        helpers.assert_first(d, b"end")  # no message routed to another id came here


def test_router_drops_unknown_id_silently(ctx, endpoint):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint)
    dealer = connected(ctx, zmqx.DEALER, addr, routing_id=b"known")
    dealer.send(b"hi")
    router.recv_multipart()
    router.send_multipart([b"unknown", b"lost", b"frames"])      # no error
    router.send(b"known-without-body")                          # a lone frame: nothing
    router.send_multipart([b"known", b"delivered"])
    assert dealer.recv_multipart() == [b"delivered"]


def test_router_mandatory_raises_ehostunreach(ctx, endpoint):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint, router_mandatory=1)
    dealer = connected(ctx, zmqx.DEALER, addr, routing_id=b"known")
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"known", b"hi"]
    with raises_errno(zmqx.EHOSTUNREACH):
        router.send_multipart([b"unknown", b"lost"])
    with raises_errno(zmqx.EHOSTUNREACH):
        router.send(b"unknown", zmqx.SNDMORE | zmqx.NOBLOCK)
    router.send_multipart([b"known", b"still works"])            # socket usable
    assert dealer.recv_multipart() == [b"still works"]
    dealer.close()
    with raises_errno(zmqx.EHOSTUNREACH):                          # gone now
        for _ in range(WAIT_MS // 10):
            router.send_multipart([b"known", b"x"])
            router.poll(10)


def test_router_mandatory_at_hwm_raises_again(ctx, endpoint):
    """With ROUTER_MANDATORY a ROUTER doesn't drop at HWM either: NOBLOCK raises Again."""
    router, addr = bound(ctx, zmqx.ROUTER, endpoint, router_mandatory=1, **hwm_opts(endpoint))
    dealer = connected(ctx, zmqx.DEALER, addr, routing_id=b"D", **hwm_opts(endpoint))
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"D", b"hi"]
    sent = 0
    with pytest.raises(zmqx.Again):
        while sent < 5000:
            router.send_multipart([b"D", b"%06d" % sent + BODY], zmqx.NOBLOCK)
            sent += 1
    if transport_of(endpoint) == "inproc":
        assert sent == 10, sent                  # SNDHWM + RCVHWM, as libzmq
    else:
        assert 5 <= sent <= helpers.wire_hwm_bound(5, 5, 6 + len(BODY)), sent
    assert [int(dealer.recv()[:6]) for _ in range(sent)] == list(range(sent))
    router.send_multipart([b"D", b"after"])
    assert dealer.recv() == b"after"


def test_router_accepts_reused_id_after_peer_left(ctx, endpoint):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint, router_mandatory=1)
    old = connected(ctx, zmqx.DEALER, addr, routing_id=b"X")
    old.send(b"old")
    assert router.recv_multipart() == [b"X", b"old"]
    old.close()
    with raises_errno(zmqx.EHOSTUNREACH):          # the ROUTER noticed it left
        for _ in range(WAIT_MS // 10):
            router.send_multipart([b"X", b"ping"])
            router.poll(10)
    new = connected(ctx, zmqx.DEALER, addr, routing_id=b"X")
    new.send(b"new")
    assert router.recv_multipart() == [b"X", b"new"]
    router.send_multipart([b"X", b"welcome back"])
    assert new.recv() == b"welcome back"


@pytest.mark.parametrize("handover", [1, 0])
def test_router_handover(ctx, endpoint, handover):
    router, addr = bound(ctx, zmqx.ROUTER, endpoint, router_handover=handover)
    d1 = connected(ctx, zmqx.DEALER, addr, routing_id=b"X")
    d1.send(b"from1")
    assert router.recv_multipart() == [b"X", b"from1"]
    d2 = connected(ctx, zmqx.DEALER, addr, routing_id=b"X")
    d2.send(b"from2")
    if handover:
        assert router.recv_multipart() == [b"X", b"from2"]       # d2 took the id over
        router.send_multipart([b"X", b"to-new"])
        assert d2.recv() == b"to-new"
        helpers.assert_empty(d1)          # a ROUTER sends a message once: it went to d2
        d1.send(b"late from the old one")                         # cut off: not delivered
        d2.send(b"more from the new one")
        assert router.recv_multipart() == [b"X", b"more from the new one"]
        watch_quiet(router)
    else:
        watch_quiet(router)                                        # d2 is refused
        router.send_multipart([b"X", b"to-old"])
        assert d1.recv() == b"to-old"
        helpers.assert_empty(d2)          # ...and "to-old" went to d1 only


@pytest.mark.parametrize("peer", ["ROUTER", "DEALER"])
def test_connect_routing_id(ctx, endpoint, peer):
    """A connecting ROUTER names its peer with CONNECT_ROUTING_ID; the peer probes on
    connection so the ROUTER knows when it is routable. Regression (3d6343f and
    before): over inproc the route was registered under the peer's announced (or a
    generated) id, before CONNECT_ROUTING_ID was applied."""
    b, addr = bound(ctx, getattr(zmqx, peer), endpoint, routing_id=b"announced",
                    probe_router=1)
    a = sock(ctx, zmqx.ROUTER, routing_id=b"A")
    a.setsockopt(zmqx.CONNECT_ROUTING_ID, b"peerB")
    a.connect(addr)
    assert recv_multipart_touching(a, b) == [b"peerB", b""]        # the probe
    a.send_multipart([b"peerB", b"hello"])
    if peer == "ROUTER":
        assert b.recv_multipart() == [b"A", b"hello"]
        b.send_multipart([b"A", b"reply"])
    else:
        assert b.recv_multipart() == [b"hello"]
        b.send(b"reply")
    assert a.recv_multipart() == [b"peerB", b"reply"]
    with raises_errno(errno.EINVAL):
        a.setsockopt(zmqx.CONNECT_ROUTING_ID, b"")


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_connect_routing_id_applies_to_one_connect(ctx, transport, ipc_dir):
    d1, a1 = bound(ctx, zmqx.DEALER, endpoint_for(transport, ipc_dir), probe_router=1)
    d2, a2 = bound(ctx, zmqx.DEALER, endpoint_for(transport, ipc_dir), probe_router=1)
    r = sock(ctx, zmqx.ROUTER)
    r.setsockopt(zmqx.CONNECT_ROUTING_ID, b"first")
    r.connect(a1)
    assert recv_multipart_touching(r, d1) == [b"first", b""]
    r.connect(a2)                                   # no CONNECT_ROUTING_ID: generated
    rid, probe = recv_multipart_touching(r, d2)
    assert probe == b"" and len(rid) == 5 and rid[0] == 0


def test_probe_router(ctx, endpoint, binder):
    dealer, router = pair_of(ctx, endpoint, binder, zmqx.DEALER, zmqx.ROUTER,
                             a_opts=dict(routing_id=b"P", probe_router=1))
    assert dealer.getsockopt(zmqx.PROBE_ROUTER) == 1
    assert recv_multipart_touching(router, dealer) == [b"P", b""]   # before any send
    dealer.send(b"then")
    assert router.recv_multipart() == [b"P", b"then"]


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_connecting_router_probes_without_further_calls(ctx, transport, ipc_dir):
    """libzmq (pyzmq 27.3) queues a connecting ROUTER's probe at connect(): the bound
    peer receives [b"A", b""] while the app only waits on the bound socket. zmqx
    (3987474) attaches a connecting ROUTER's link when the handshake completes and
    writes the probe only when the app next calls into that ROUTER: nothing arrives."""
    bnd, addr = bound(ctx, zmqx.ROUTER, endpoint_for(transport, ipc_dir), rcvtimeo=1000)
    conn = sock(ctx, zmqx.ROUTER, routing_id=b"A", probe_router=1)
    conn.connect(addr)
    assert bnd.recv_multipart() == [b"A", b""]


def test_req_probe_router_like_libzmq(ctx, ipc_dir):
    """libzmq's REQ is a DEALER underneath and honours PROBE_ROUTER (pyzmq 27.3: the
    ROUTER receives [b"P", b""]). Regression (3d6343f and before): zmqx accepted the
    option on a REQ but sent no probe."""
    router, addr = bound(ctx, zmqx.ROUTER, endpoint_for("inproc", ipc_dir))
    req = connected(ctx, zmqx.REQ, addr, routing_id=b"P", probe_router=1)
    assert req.getsockopt(zmqx.PROBE_ROUTER) == 1
    assert router.poll(1000, zmqx.POLLIN), "no probe"
    assert router.recv_multipart() == [b"P", b""]
    req.send(b"then")
    assert router.recv_multipart() == [b"P", b"", b"then"]
    router.send_multipart([b"P", b"", b"ok"])
    assert req.recv() == b"ok"


def test_req_to_router(ctx, endpoint, binder):
    req, router = pair_of(ctx, endpoint, binder, zmqx.REQ, zmqx.ROUTER,
                          a_opts=dict(routing_id=b"client"))
    for i in range(3):
        req.send_multipart([b"body", b"%d" % i])
        assert router.recv_multipart() == [b"client", b"", b"body", b"%d" % i]
        router.send_multipart([b"client", b"", b"reply", b"%d" % i])
        assert req.recv_multipart() == [b"reply", b"%d" % i]


def test_dealer_to_rep(ctx, endpoint, binder):
    dealer, rep = pair_of(ctx, endpoint, binder, zmqx.DEALER, zmqx.REP)
    dealer.send(b"no delimiter")                     # not a request: REP drops it
    dealer.send_multipart([b"", b"body"])
    assert rep.recv_multipart() == [b"body"]
    rep.send(b"reply")
    assert dealer.recv_multipart() == [b"", b"reply"]
    # a DEALER may pipeline requests (REQ can't); the REP answers them in order
    for i in range(3):
        dealer.send_multipart([b"", b"q%d" % i])
    for i in range(3):
        assert rep.recv() == b"q%d" % i
        rep.send(b"a%d" % i)
    for i in range(3):
        assert dealer.recv_multipart() == [b"", b"a%d" % i]
    # an extra envelope frame before the delimiter comes back with the reply
    dealer.send_multipart([b"hop", b"", b"enveloped"])
    assert rep.recv_multipart() == [b"enveloped"]
    rep.send(b"r")
    assert dealer.recv_multipart() == [b"hop", b"", b"r"]


def test_dealer_to_router(ctx, endpoint, binder):
    dealer, router = pair_of(ctx, endpoint, binder, zmqx.DEALER, zmqx.ROUTER,
                             a_opts=dict(routing_id=b"D"))
    for i in range(5):                                # asynchronous: no lockstep
        dealer.send_multipart([b"m", b"%d" % i])
    for i in range(5):
        assert router.recv_multipart() == [b"D", b"m", b"%d" % i]
    for i in range(5):
        router.send_multipart([b"D", b"r", b"%d" % i])
    for i in range(5):
        assert dealer.recv_multipart() == [b"r", b"%d" % i]


def test_dealer_to_dealer(ctx, endpoint, binder):
    a, b = pair_of(ctx, endpoint, binder, zmqx.DEALER, zmqx.DEALER)
    a.send_multipart([b"", b"x"])
    a.send(b"y")
    b.send_multipart([b"z", b"w"])
    assert b.recv_multipart() == [b"", b"x"]
    assert b.recv_multipart() == [b"y"]
    assert a.recv_multipart() == [b"z", b"w"]


def test_router_to_router(ctx, endpoint):
    """Both ends named; the connecting side knows the binder's name up front
    (CONNECT_ROUTING_ID), the binder learns the connecter's from its handshake."""
    conn = sock(ctx, zmqx.ROUTER, routing_id=b"connecter", probe_router=1)
    bnd = sock(ctx, zmqx.ROUTER, routing_id=b"binder")
    bnd.bind(endpoint)
    conn.setsockopt(zmqx.CONNECT_ROUTING_ID, b"the-binder")
    conn.connect(last(bnd))
    # (a connecting ROUTER attaches, and so probes, when the app next calls into it)
    assert recv_multipart_touching(bnd, conn) == [b"connecter", b""]   # the probe
    bnd.send_multipart([b"connecter", b"hello"])
    assert conn.recv_multipart() == [b"the-binder", b"hello"]
    conn.send_multipart([b"the-binder", b"reply", b"2"])
    assert bnd.recv_multipart() == [b"connecter", b"reply", b"2"]


# ================================================================ mute state (HWM)

@pytest.mark.parametrize("kind", ["XPUB", "ROUTER"])
def test_drop_at_hwm_never_blocks(ctx, endpoint, kind):
    """PUB (see test_pub_never_blocks_slow_subscriber), XPUB and ROUTER drop what a
    slow peer can't take: send never blocks, NOBLOCK never raises Again."""
    opts = dict(SMALL)
    if transport_of(endpoint) != "inproc":
        opts.update(helpers.SMALL_BUFS)
    s, addr = bound(ctx, getattr(zmqx, kind), endpoint, **opts)
    if kind == "XPUB":
        peer = connected(ctx, zmqx.SUB, addr, **opts)
        peer.subscribe(b"")
        assert s.recv() == b"\x01"
        send = s.send
    else:
        peer = connected(ctx, zmqx.DEALER, addr, routing_id=b"D", **opts)
        peer.send(b"hi")
        assert s.recv_multipart() == [b"D", b"hi"]

        def send(m, flags=0):
            s.send_multipart([b"D", m], flags)
    n = 2000
    for i in range(n):
        send(b"%06d" % i + BODY, zmqx.NOBLOCK)
    s.sndtimeo = -1
    send(b"999999 blocking send returns at once")     # would hang if it blocked
    got = [g for g in drain_until_end(peer, lambda: send(b"end", zmqx.NOBLOCK)) if g != 999999]
    assert got and got[0] == 0
    assert got == sorted(set(got))
    assert SMALL["sndhwm"] <= len(got) <= mute_bound(endpoint, 5, 6 + len(BODY)), len(got)


@pytest.mark.parametrize("kind", ["PUSH", "DEALER", "PAIR"])
def test_block_at_hwm(ctx, endpoint, kind):
    """PUSH, DEALER and PAIR block at HWM: NOBLOCK raises Again, a blocking send waits
    SNDTIMEO; nothing is dropped."""
    peer_kind = {"PUSH": zmqx.PULL, "DEALER": zmqx.DEALER, "PAIR": zmqx.PAIR}[kind]
    peer, addr = bound(ctx, peer_kind, endpoint, **hwm_opts(endpoint))
    s = connected(ctx, getattr(zmqx, kind), addr, **hwm_opts(endpoint))
    s.send(b"000000")
    assert peer.recv() == b"000000"              # connected
    sent = 1
    with pytest.raises(zmqx.Again):
        while sent < 5000:
            s.send(b"%06d" % sent + BODY, zmqx.NOBLOCK)
            sent += 1
    assert sent < 5000
    s.sndtimeo = 200
    for _ in range(1000):
        t0 = time.monotonic()
        try:
            s.send(b"%06d" % sent + BODY)
        except zmqx.Again:
            helpers.assert_elapsed(time.monotonic() - t0, 200, "SNDTIMEO")
            break
        sent += 1
    else:
        pytest.fail("a blocking send never timed out")
    assert_saturated(endpoint, sent - 1, 6 + len(BODY))
    assert [int(peer.recv()[:6]) for _ in range(sent - 1)] == list(range(1, sent))
    s.sndtimeo = WAIT_MS
    s.send(b"after")                              # the reader made room
    assert peer.recv() == b"after"


def test_req_without_peer_blocks(ctx, endpoint):
    req, addr = bound(ctx, zmqx.REQ, endpoint)
    with pytest.raises(zmqx.Again):
        req.send(b"q", zmqx.NOBLOCK)
    req.sndtimeo = 200
    t0 = time.monotonic()
    with pytest.raises(zmqx.Again):
        req.send(b"q")
    helpers.assert_elapsed(time.monotonic() - t0, 200, "SNDTIMEO")
    rep = connected(ctx, zmqx.REP, addr)
    req.sndtimeo = WAIT_MS
    req.send(b"q")                                # waits for the peer to arrive
    assert rep.recv() == b"q"
    rep.send(b"a")
    assert req.recv() == b"a"


def test_hwm_defaults_and_inproc_limit(ctx, ipc_dir):
    push, addr = bound(ctx, zmqx.PUSH, endpoint_for("inproc", ipc_dir))
    pull = connected(ctx, zmqx.PULL, addr)
    for s in (push, pull):
        assert s.getsockopt(zmqx.SNDHWM) == 1000
        assert s.getsockopt(zmqx.RCVHWM) == 1000
    n = 0
    with pytest.raises(zmqx.Again):
        while n < 100000:
            push.send(b"m", zmqx.NOBLOCK)
            n += 1
    assert 1000 <= n <= 2100          # libzmq: SNDHWM + RCVHWM = 2000 over inproc
    for _ in range(n):
        pull.recv()


def test_hwm_zero_means_no_limit(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint, rcvhwm=0)
    push = connected(ctx, zmqx.PUSH, addr, sndhwm=0)
    assert push.getsockopt(zmqx.SNDHWM) == 0 and pull.getsockopt(zmqx.RCVHWM) == 0
    push.send(b"first")
    assert pull.recv() == b"first"
    body = b"y" * 1024
    for i in range(5000):
        push.send(b"%06d" % i + body, zmqx.NOBLOCK)     # never Again
    assert [int(pull.recv()[:6]) for _ in range(5000)] == list(range(5000))


# ================================================================ options

@pytest.mark.parametrize("kind, option, value", [
    ("PUSH", "SUBSCRIBE", b"a"),
    ("PUB", "UNSUBSCRIBE", b"a"),
    ("REQ", "SUBSCRIBE", b""),
    ("XSUB", "SUBSCRIBE", b"a"),
    ("XPUB", "SUBSCRIBE", b"a"),            # only with XPUB_MANUAL
    ("DEALER", "ROUTER_MANDATORY", 1),
    ("PUSH", "ROUTER_MANDATORY", 1),
    ("DEALER", "ROUTER_HANDOVER", 1),
    ("SUB", "XPUB_VERBOSE", 1),
    ("SUB", "XPUB_MANUAL", 1),
    ("SUB", "XPUB_NODROP", 1),
    ("SUB", "XPUB_WELCOME_MSG", b"w"),
    ("REP", "REQ_RELAXED", 1),
    ("DEALER", "REQ_CORRELATE", 1),
    ("PUSH", "PROBE_ROUTER", 1),
    ("DEALER", "CONNECT_ROUTING_ID", b"x"),
    ("REQ", "CONNECT_ROUTING_ID", b"x"),
])
def test_option_not_for_this_socket_type_is_einval(ctx, ipc_dir, kind, option, value):
    """Each of these is EINVAL in libzmq 4.3.5 too (checked with pyzmq 27.3)."""
    s = sock(ctx, getattr(zmqx, kind))
    with raises_errno(errno.EINVAL):
        s.setsockopt(getattr(zmqx, option), value)
    # the socket is unharmed
    assert s.getsockopt(zmqx.TYPE) == getattr(zmqx, kind)
    s.bind(endpoint_for("inproc", ipc_dir))


@pytest.mark.parametrize("kind", ["PULL", "SUB"])
def test_conflate_keeps_newest(ctx, endpoint, kind):
    sender_kind = zmqx.PUSH if kind == "PULL" else zmqx.PUB
    r, addr = bound(ctx, getattr(zmqx, kind), endpoint, conflate=1)
    assert r.getsockopt(zmqx.CONFLATE) == 1
    s = connected(ctx, sender_kind, addr)
    if kind == "SUB":
        r.subscribe(b"")
        sync_sub(s, r, b"")
    n = 1000
    for i in range(n):
        s.send(b"%06d" % i)
    got = []
    while not got or got[-1] != n - 1:
        got.append(int(r.recv()))
    assert got == sorted(set(got))                  # newest each time, never older
    if transport_of(endpoint) == "inproc":
        assert got == [n - 1]                        # all were queued: only the newest
    else:
        assert len(got) < n
    s.send(b"%06d" % n)                             # a newer one: the next to arrive...
    helpers.assert_first(r, b"%06d" % n)             # ...so nothing older was left behind


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_immediate_queues_only_on_live_connections(ctx, transport, ipc_dir, reserve):
    push = sock(ctx, zmqx.PUSH, immediate=1)
    assert push.getsockopt(zmqx.IMMEDIATE) == 1
    push.connect(reserve(transport).endpoint)
    with pytest.raises(zmqx.Again):                  # nothing is queued for the dead one
        push.send(b"nowhere", zmqx.NOBLOCK)
    pull, addr = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
    push.connect(addr)
    push.send(b"0")                                   # waits for the live connection
    for i in range(1, 20):
        push.send(b"%d" % i)
    assert [pull.recv() for _ in range(20)] == [b"%d" % i for i in range(20)]
    # without IMMEDIATE, round-robin would have parked every other message on the dead one
    # (the 20 above would not all have arrived); nothing else is queued
    helpers.assert_empty(pull)


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_without_immediate_messages_wait_for_dead_endpoint(ctx, transport, ipc_dir, reserve):
    """The contrast: a plain PUSH queues for a connection that doesn't exist yet."""
    push = sock(ctx, zmqx.PUSH)
    dead = reserve(transport)
    push.connect(dead.endpoint)
    push.send(b"parked", zmqx.NOBLOCK)               # queued for the dead endpoint
    pull, addr = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
    push.connect(addr)
    for i in range(4):
        push.send(b"%d" % i)
    got = [pull.recv() for _ in range(2)]
    assert b"parked" not in got
    late = bound(ctx, zmqx.PULL, dead.release())[0]   # the dead endpoint comes alive
    assert late.recv() == b"parked"


def raw_handshake(addr, socktype, identity=b"", minor=1):
    """A raw TCP/IPC connection that completes a NULL handshake with a zmqx socket.
    Returns (connection, Decoder, events already decoded after the handshake)."""
    if addr.startswith("tcp://"):
        host, port = addr[6:].rsplit(":", 1)
        c = socket.create_connection((host, int(port)), timeout=WAIT_MS / 1000)
    else:
        c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        c.settimeout(WAIT_MS / 1000)
        c.connect(addr[6:])
    hs = zmtp.Handshake(socktype, identity)
    out = bytearray(hs.data_to_send())
    out[11] = minor                    # greeting byte 11: version-minor
    c.sendall(bytes(out))
    rest = b""
    while not hs.done:
        data = c.recv(4096)
        assert data, "zmqx closed the connection during the handshake"
        rest = hs.feed(data)
        extra = hs.data_to_send()
        if extra:
            c.sendall(extra)
    dec = zmtp.Decoder()
    return c, dec, dec.feed(rest)


def raw_events(c, dec):
    """The next batch of decoded events; [] at EOF (or reset)."""
    while True:
        try:
            data = c.recv(65536)
        except ConnectionResetError:
            return None
        if not data:
            return None
        ev = dec.feed(data)
        if ev:
            return ev


def test_heartbeat_pings_and_times_out_silent_peer(ctx):
    s, addr = bound(ctx, zmqx.DEALER, "tcp://127.0.0.1:*", heartbeat_ivl=100,
                    heartbeat_timeout=500, heartbeat_ttl=2000)
    c, dec, pending = raw_handshake(addr, zmtp.DEALER)
    try:
        # answer every PING: the connection outlives HEARTBEAT_TIMEOUT many times over
        pings = 0
        t0 = time.monotonic()
        while pings < 12:
            events = pending or raw_events(c, dec)
            pending = []
            assert events is not None, "connection closed although PONGs were sent"
            for ev in events:
                assert ev[0] == "command" and ev[1] == b"PING", ev
                ttl, ping_ctx = zmtp.decode_ping(ev[2])
                assert ttl == 20                    # HEARTBEAT_TTL in deciseconds
                pings += 1
                c.sendall(zmtp.encode_pong(ping_ctx))     # a whole command frame
        assert time.monotonic() - t0 > 0.5          # longer than the timeout
        # the connection carries messages alongside
        c.sendall(zmtp.encode_frame(b"alive"))
        assert s.recv() == b"alive"
        # now go silent: zmqx drops the connection about HEARTBEAT_TIMEOUT later
        t1 = time.monotonic()
        while raw_events(c, dec) is not None:
            pass
        elapsed = time.monotonic() - t1
        # dropped HEARTBEAT_TIMEOUT (500 ms) after the first PING left unanswered, which
        # zmqx sends within HEARTBEAT_IVL (100 ms) of the last traffic
        helpers.assert_elapsed(elapsed, 500, "HEARTBEAT_TIMEOUT")
    finally:
        c.close()


def test_peer_ping_ttl_honoured(ctx):
    """A raw peer's PING with TTL 3 (300 ms): zmqx answers PONG, then drops the
    connection when nothing more arrives within the TTL."""
    s, addr = bound(ctx, zmqx.PULL, "tcp://127.0.0.1:*")
    c, dec, pending = raw_handshake(addr, zmtp.PUSH)
    try:
        c.sendall(zmtp.encode_ping(3, b"ctx1"))
        events = pending or raw_events(c, dec)
        assert events[0] == ("command", b"PONG", b"ctx1")
        t0 = time.monotonic()
        while raw_events(c, dec) is not None:
            pass
        helpers.assert_elapsed(time.monotonic() - t0, 300, "the peer's PING TTL")
    finally:
        c.close()


def test_no_heartbeat_by_default(ctx):
    s, addr = bound(ctx, zmqx.DEALER, "tcp://127.0.0.1:*")
    assert s.getsockopt(zmqx.HEARTBEAT_IVL) == 0
    c, dec, pending = raw_handshake(addr, zmtp.DEALER)
    try:
        assert pending == []
        # an enabled heartbeat would have sent a PING within this window (the shortest
        # HEARTBEAT_IVL tested elsewhere is 100 ms); "never" can only be watched for a while
        assert s.poll(300, zmqx.POLLIN) == 0
        s.send(b"marker")                         # then a marker: it is the first thing
        assert raw_events(c, dec) == [("message", [b"marker"])]    # (no PING before it)
        c.sendall(zmtp.encode_frame(b"still here"))
        assert s.recv() == b"still here"
    finally:
        c.close()


def test_socket_options_round_trip(ctx):
    s = sock(ctx, zmqx.DEALER)
    for opt, default, value in [
        ("TCP_KEEPALIVE", -1, 1),
        ("TCP_KEEPALIVE_IDLE", -1, 30),
        ("TCP_KEEPALIVE_CNT", -1, 4),
        ("TCP_KEEPALIVE_INTVL", -1, 5),
        ("SNDBUF", -1, 65536),
        ("RCVBUF", -1, 131072),
        ("BACKLOG", 100, 7),
        ("CONNECT_TIMEOUT", 0, 1234),
        ("HEARTBEAT_IVL", 0, 250),
        ("HEARTBEAT_TIMEOUT", 0, 750),
        ("HEARTBEAT_TTL", 0, 3000),
        ("IMMEDIATE", 0, 1),
    ]:
        o = getattr(zmqx, opt)
        assert s.getsockopt(o) == default, opt
        s.setsockopt(o, value)
        assert s.getsockopt(o) == value, opt
        assert getattr(s, opt.lower()) == value, opt
    s.bind("tcp://127.0.0.1:*")                # the options are usable
    peer = connected(ctx, zmqx.DEALER, last(s), tcp_keepalive=1, sndbuf=65536,
                     rcvbuf=65536)
    peer.send(b"x")
    assert s.recv() == b"x"


@pytest.mark.parametrize("side", ["bound", "connecting"])
def test_small_socket_buffers_keep_tcp_flowing(ctx, side):
    """SNDBUF/RCVBUF of 4 KiB: 20 x 16 KiB still flow at once (libzmq 4.3.5 through
    pyzmq: ~3 ms either way). libzmq sets the buffers on the listening socket before
    listen(). Regression (3d6343f and before): zmqx set them on each accepted
    connection after the TCP handshake (window scale already agreed), and Linux then
    stalled on zero-window probes: 320 KiB took ~6.5 s."""
    bufs = dict(sndbuf=4096, rcvbuf=4096)
    pull, addr = bound(ctx, zmqx.PULL, "tcp://127.0.0.1:*",
                       **(bufs if side == "bound" else {}))
    push = connected(ctx, zmqx.PUSH, addr, **(bufs if side == "connecting" else {}))
    push.send(b"hello")
    assert pull.recv() == b"hello"
    body = b"x" * 16384
    t0 = time.monotonic()
    for i in range(20):
        push.send(b"%06d" % i + body)
    pull.rcvtimeo = 1000
    got = []
    with contextlib.suppress(zmqx.Again):
        while len(got) < 20 and time.monotonic() - t0 < 1.0:
            got.append(int(pull.recv()[:6]))
    elapsed = time.monotonic() - t0
    assert got == list(range(20)), f"{len(got)} of 20 x 16 KiB in {elapsed:.2f}s"
    assert elapsed < 1.0, f"320 KiB took {elapsed:.2f}s"


# ================================================================ incompatible types

def works(x, y):
    """x and y are compatible and connected: show traffic flows."""
    tx, ty = x.getsockopt(zmqx.TYPE), y.getsockopt(zmqx.TYPE)
    if ty == zmqx.PUB or tx == zmqx.SUB:
        x, y, tx, ty = y, x, ty, tx
    if tx == zmqx.PUB:
        y.subscribe(b"")
        for _ in range(WAIT_MS // 10):
            x.send(b"good")
            if y.poll(10, zmqx.POLLIN):
                break
            x.poll(0)
        assert y.recv() == b"good"
    elif tx == zmqx.PUSH or ty == zmqx.PUSH:
        if ty == zmqx.PUSH:
            x, y = y, x
        x.send(b"good")
        assert y.recv() == b"good"
    elif tx == zmqx.REQ or ty == zmqx.REQ:
        if ty == zmqx.REQ:
            x, y = y, x
        x.send(b"good")
        assert y.recv() == b"good"
        y.send(b"reply")
        assert x.recv() == b"reply"
    elif tx == zmqx.ROUTER or ty == zmqx.ROUTER:
        if tx == zmqx.ROUTER:
            x, y = y, x
        x.send(b"good")
        rid, body = y.recv_multipart()
        assert body == b"good"
        y.send_multipart([rid, b"reply"])
        assert x.recv() == b"reply"
    else:                       # PAIR
        x.send(b"good")
        assert y.recv() == b"good"
        y.send(b"reply")
        assert x.recv() == b"reply"


INCOMPATIBLE = [
    # (a, b, compatible with a, compatible with b)
    ("PUB", "PULL", "SUB", "PUSH"),
    ("PUSH", "SUB", "PULL", "PUB"),
    ("REQ", "REQ", "REP", "REP"),
    ("PAIR", "DEALER", "PAIR", "ROUTER"),
]


@pytest.mark.parametrize("a_kind, b_kind, c_kind, d_kind", INCOMPATIBLE,
                         ids=["-".join(p[:2]) for p in INCOMPATIBLE])
def test_incompatible_types_refused(ctx, transport, ipc_dir, binder, a_kind, b_kind,
                                    c_kind, d_kind):
    ep1, ep2 = endpoint_for(transport, ipc_dir), endpoint_for(transport, ipc_dir)
    # a REQ whose "bad" request got queued must be able to send again: REQ_RELAXED
    a, b = (sock(ctx, getattr(zmqx, k), **(dict(req_relaxed=1) if k == "REQ" else {}))
            for k in (a_kind, b_kind))
    if b_kind == "SUB":
        b.subscribe(b"")
    link(a, b, ep1, binder)
    for s, k in ((a, a_kind), (b, b_kind)):
        if k not in ("PULL", "SUB"):
            for _ in range(3):
                try:
                    s.send(b"bad", zmqx.NOBLOCK)
                except zmqx.Again:
                    pass
    for s, k in ((a, a_kind), (b, b_kind)):
        if k not in ("PUB", "PUSH", "REQ"):
            assert s.poll(QUIET_MS if s is a else 20, zmqx.POLLIN) == 0, k
    # the connecting one drops the bad endpoint; both then work with compatible peers
    if binder == "a":
        b.disconnect(last(a))
        c = connected(ctx, getattr(zmqx, c_kind), last(a))
        works(a, c)
        d, addr = bound(ctx, getattr(zmqx, d_kind), ep2)
        b.connect(addr)
        works(b, d)
    else:
        a.disconnect(last(b))
        d = connected(ctx, getattr(zmqx, d_kind), last(b))
        works(b, d)
        c, addr = bound(ctx, getattr(zmqx, c_kind), ep2)
        a.connect(addr)
        works(a, c)


def _read_to_eof(raw):
    data = b""
    while True:
        try:
            chunk = raw.recv(65536)
        except ConnectionResetError:
            return data, "reset"
        if not chunk:
            return data, "eof"
        data += chunk


RAW_INCOMPATIBLE = [("PUSH", "PUSH"), ("PAIR", "DEALER"), ("REQ", "REQ"), ("DEALER", "SUB")]


@pytest.mark.parametrize("kind, bad", RAW_INCOMPATIBLE, ids=["-".join(p) for p in RAW_INCOMPATIBLE])
@pytest.mark.parametrize("transport", ["ipc", "tcp"])
@pytest.mark.parametrize("direction", ["raw-connects", "zmqx-connects"])
def test_incompatible_raw_peer_gets_error_and_is_dropped(ctx, ipc_dir, transport, direction,
                                                          kind, bad):
    """A raw ZMTP peer announcing an incompatible type: zmqx answers its READY with an
    ERROR command and drops the connection (the raw side reads EOF); a bound zmqx socket
    then has no peer (send NOBLOCK raises Again, no POLLOUT), and still works."""
    family = socket.AF_UNIX if transport == "ipc" else socket.AF_INET
    if direction == "raw-connects":
        s, addr = bound(ctx, getattr(zmqx, kind), endpoint_for(transport, ipc_dir))
        raw = socket.socket(family, socket.SOCK_STREAM)
        raw.settimeout(WAIT_MS / 1000)
        if transport == "ipc":
            raw.connect(addr[len("ipc://"):])
        else:
            raw.connect(("127.0.0.1", int(addr.rsplit(":", 1)[1])))
    else:
        lst = socket.socket(family, socket.SOCK_STREAM)
        if transport == "ipc":
            path = f"{ipc_dir}/raw-listener"
            lst.bind(path)
            target = "ipc://" + path
        else:
            lst.bind(("127.0.0.1", 0))
            target = "tcp://127.0.0.1:%d" % lst.getsockname()[1]
        lst.listen(1)
        lst.settimeout(WAIT_MS / 1000)
        s = connected(ctx, getattr(zmqx, kind), target, reconnect_ivl=-1)
        raw, _ = lst.accept()
        lst.close()
        raw.settimeout(WAIT_MS / 1000)
    try:
        raw.sendall(zmtp.encode_greeting() + zmtp.encode_ready(getattr(zmtp, bad)))
        data, how = _read_to_eof(raw)
    finally:
        raw.close()
    assert data[:1] == b"\xff" and len(data) > 64, data
    events = zmtp.Decoder().feed(data[64:])
    names = [e[1] for e in events if e[0] == "command"]
    assert names[:1] == [b"READY"] and b"ERROR" in names, (names, how)
    assert how == "eof", how
    if direction == "raw-connects" and kind != "SUB":
        with pytest.raises(zmqx.Again):                 # no pipe was made for it
            s.send(b"to nobody", zmqx.NOBLOCK)
        assert s.poll(0, zmqx.POLLOUT) == 0
        good = connected(ctx, getattr(zmqx, {"PUSH": "PULL", "PAIR": "PAIR", "REQ": "REP",
                                             "DEALER": "DEALER"}[kind]), addr)
        works(s, good)
