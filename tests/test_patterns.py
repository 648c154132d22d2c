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
import os
import socket
import time

import pytest

import zmqx
from zmqx._core import zmtp
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 5000          # upper bound for "this must happen": only reached on failure
QUIET_MS = 150          # how long a "this must not happen" check watches


# ---------------------------------------------------------------- helpers

def sock(ctx, kind, **opts):
    """A socket with LINGER=0 and bounded blocking calls (a failure raises Again)."""
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = WAIT_MS
    s.sndtimeo = WAIT_MS
    for k, v in opts.items():
        s.setsockopt(getattr(zmqx, k.upper()), v)
    return s


def last(s):
    return s.getsockopt(zmqx.LAST_ENDPOINT).decode()


def bound(ctx, kind, endpoint, **opts):
    s = sock(ctx, kind, **opts)
    s.bind(endpoint)
    return s, last(s)


def connected(ctx, kind, addr, **opts):
    s = sock(ctx, kind, **opts)
    s.connect(addr)
    return s


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


def free_tcp_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def dead_endpoint(transport, ipc_dir):
    """An endpoint nobody listens on."""
    if transport == "tcp":
        return f"tcp://127.0.0.1:{free_tcp_port()}"
    if transport == "ipc":
        return f"ipc://{ipc_dir}/nobody-{free_tcp_port()}"
    return endpoint_for("inproc", ipc_dir)


@contextlib.contextmanager
def raises_errno(code):
    """pytest.raises(ZMQError) plus an errno check, without keeping the exception (and
    so the test's frame and its sockets) alive in a reference cycle."""
    try:
        yield
    except zmqx.ZMQError as e:
        if code is not None:
            assert e.errno == code, f"errno {e.errno} ({e}), expected {code}"
    else:
        pytest.fail(f"did not raise ZMQError (errno {code})")


def assert_quiet(s, ms=QUIET_MS):
    """Nothing arrives on s for `ms`."""
    assert s.poll(ms, zmqx.POLLIN) == 0
    with pytest.raises(zmqx.Again):
        s.recv(zmqx.NOBLOCK)


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
    new, addr2 = bound(ctx, kind, addr, **opts)
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
        pytest.fail(f"{prefix!r} never reached the subscriber")
    send(prefix + b"sync-end")
    while True:
        m = sub.recv()
        if m == prefix + b"sync-end":
            return
        assert m == prefix + b"probe", m


def recv_until(s, marker):
    """Every message received before `marker` (single frames)."""
    out = []
    while True:
        m = s.recv()
        if m == marker:
            return out
        out.append(m)


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
    """pyzmq raises TypeError for a non-bytes topic. bytes(12) would silently subscribe
    to twelve NUL bytes instead."""
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
    witness = connected(ctx, zmqx.SUB, addr)
    witness.subscribe(b"")
    sync_sub(pub, witness, b"")
    for i in range(20):
        pub.send(b"msg-%d" % i)
    pub.send(b"end")
    assert len(recv_until(witness, b"end")) == 20      # they were really sent
    assert_quiet(silent)


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
    assert_quiet(sub, 50)


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


def test_pub_never_blocks_slow_subscriber(ctx, endpoint, pub_binds):
    hwm = 10
    size = 16384
    opts = dict(sndhwm=hwm, rcvhwm=hwm, sndbuf=4096, rcvbuf=4096)
    pub, sub = pubsub(ctx, endpoint, pub_binds, pub_opts=opts, sub_opts=opts)
    sub.subscribe(b"")
    sync_sub(pub, sub, b"")
    n = 2000
    body = b"x" * size
    for i in range(n):
        pub.send(b"%06d" % i + body, zmqx.NOBLOCK)      # never raises Again
    pub.send(b"end", zmqx.NOBLOCK)                       # may be dropped too
    got = []
    while sub.poll(300, zmqx.POLLIN):
        m = sub.recv(zmqx.NOBLOCK)
        if m != b"end":
            got.append(int(m[:6]))
    assert got, "nothing delivered"
    assert got[0] == 0                                   # the first ones go through...
    assert got == sorted(set(got))                       # ...in order, no duplicates
    assert len(got) < n                                  # the rest was dropped
    if transport_of(endpoint) == "inproc":
        assert len(got) <= 4 * hwm


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
    assert xpub.poll(QUIET_MS, zmqx.POLLIN) == 0


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
    small = dict(sndhwm=5, rcvhwm=5, sndbuf=4096, rcvbuf=4096)
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
    pub.sndtimeo = 100
    for _ in range(1000):
        t0 = time.monotonic()
        try:
            pub.send(b"%06d" % sent + body)
        except zmqx.Again:
            assert time.monotonic() - t0 >= 0.08
            break
        sent += 1
    else:
        pytest.fail("a blocking send never timed out")
    got = [int(sub.recv()[:6]) for _ in range(sent)]
    assert got == list(range(sent))           # nothing was dropped
    pub.sndtimeo = WAIT_MS
    pub.send(b"after")                         # room again
    assert sub.recv() == b"after"


def test_pub_honours_xpub_nodrop_like_libzmq(ctx, ipc_dir):
    """libzmq's PUB is an XPUB: it accepts XPUB_NODROP and then raises Again at HWM
    (pyzmq 27.3 / libzmq 4.3.5: Again after 10 sends with HWM 5+5 over inproc). zmqx
    accepts the option on a PUB but ignores it and silently drops."""
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
