"""Socket.stats(): exact counts where the bound is exact.

- A PUB with a stalled subscriber over inproc (where the queue bound is exactly
  SNDHWM + RCVHWM) drops exactly what does not fit, counted on the socket and on that peer
  only; over tcp, every message is either delivered or counted as dropped (exact
  conservation), and what got through is within the stated allowance (the two HWMs plus
  what the engine's stage and the kernel buffers hold).
- ROUTER (ROUTER_MANDATORY=0) counts unroutable messages and per-peer HWM drops.
- Queue depths per direction equal what is queued; CONFLATE counts what it replaced.
- Messages and bytes agree between sender, receiver and their peers.
- Per-peer facts of a tcp peer: endpoint, direction, routing id, socket type, ZMTP
  version, mechanism, connect time, reconnects; with libzmq as the peer too.

Synchronisation is by messages, polls and monitor events; nothing sleeps.
"""

import socket as pysocket
import time

import pytest

import zmqx
from zmqx.utils.monitor import recv_monitor_message

zmq = pytest.importorskip("zmq")

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 5000


@pytest.fixture
def ctx():
    c = zmqx.Context()
    yield c
    c.destroy(linger=0)


def _sub(ctx, addr, rcvhwm):
    s = ctx.socket(zmqx.SUB)
    s.rcvhwm = rcvhwm
    s.subscribe(b"")
    s.connect(addr)
    return s


def test_pub_stalled_subscriber_inproc_exact(ctx):
    pub = ctx.socket(zmqx.PUB)
    pub.sndhwm = 5
    pub.bind("inproc://stall")
    stalled = _sub(ctx, "inproc://stall", 7)      # holds 5 + 7 = 12, never reads
    roomy = _sub(ctx, "inproc://stall", 1000)     # room for everything
    for i in range(100):
        pub.send(b"m%03d" % i)
    st = pub.stats()
    assert st["msgs_sent"] == 100
    assert st["bytes_sent"] == 400
    assert st["dropped_by"] == {"hwm": 88, "unroutable": 0, "no_subscribers": 0,
                                "conflated": 0, "linger": 0}
    assert st["dropped"] == 88
    by_type = {}
    for p in st["peers"]:
        by_type.setdefault(p["hwm_out"], []).append(p)
    (slow,), (fast,) = by_type[12], by_type[1005]
    assert (slow["dropped_hwm"], slow["queued_out"], slow["msgs_sent"]) == (88, 12, 12)
    assert (fast["dropped_hwm"], fast["queued_out"], fast["msgs_sent"]) == (0, 100, 100)
    assert st["queued_out"] == 112
    assert stalled.stats()["queued_in"] == 12
    # what the stalled subscriber gets is the first 12, then nothing
    got = [stalled.recv() for _ in range(12)]
    assert got == [b"m%03d" % i for i in range(12)]
    assert stalled.poll(0) == 0
    sst = stalled.stats()
    assert (sst["msgs_received"], sst["bytes_received"], sst["queued_in"]) == (12, 48, 0)
    assert roomy.stats()["queued_in"] == 100


def test_pub_without_subscribers_counts_no_subscribers(ctx):
    pub = ctx.socket(zmqx.PUB)
    pub.bind("inproc://nobody")
    for _ in range(9):
        pub.send(b"x")
    sub = ctx.socket(zmqx.SUB)
    sub.subscribe(b"a")
    sub.connect("inproc://nobody")
    pub.send(b"b-not-matching")
    pub.send(b"a-matching")
    st = pub.stats()
    assert st["dropped_by"]["no_subscribers"] == 10
    assert st["dropped_by"]["hwm"] == 0
    assert sub.recv() == b"a-matching"


def test_pub_stalled_subscriber_tcp_conservation(ctx):
    n, size = 5000, 100
    pub = ctx.socket(zmqx.PUB)
    pub.sndhwm = 10
    pub.sndbuf = 8192
    pub.bind("tcp://127.0.0.1:*")
    sub = ctx.socket(zmqx.SUB)
    sub.rcvhwm = 10
    sub.rcvbuf = 8192
    sub.subscribe(b"")
    sub.connect(pub.last_endpoint)
    # the subscription is in place once a message gets through
    while not sub.poll(10):
        pub.send(b"sync")
    while sub.poll(0):
        sub.recv()
    base = pub.stats()
    for _ in range(n):
        pub.send(b"x" * size)
    st = pub.stats()
    dropped = st["dropped_by"]["hwm"] - base["dropped_by"]["hwm"]
    delivered = n - dropped
    # the allowance: both HWMs, the engine's 64 KiB stage, and both kernel buffers (Linux
    # doubles the asked size), in messages of this size (plus their 2-byte header)
    allowance = 10 + 10 + (65536 + 4 * 8192 * 2) // (size + 2) + 1
    assert 0 < delivered <= allowance, (delivered, allowance)
    sub.rcvtimeo = WAIT_MS
    for _ in range(delivered):
        assert sub.recv() == b"x" * size
    assert sub.poll(200) == 0           # nothing more: every other message was dropped
    assert sub.stats()["msgs_received"] - 0 >= delivered


def test_router_unroutable_and_hwm_drops(ctx):
    router = ctx.socket(zmqx.ROUTER)
    router.sndhwm = 3
    router.bind("inproc://router")
    dealer = ctx.socket(zmqx.DEALER)
    dealer.routing_id = b"d1"
    dealer.rcvhwm = 2
    dealer.connect("inproc://router")
    for i in range(7):
        router.send_multipart([b"nobody", b"%d" % i])
    for i in range(12):
        router.send_multipart([b"d1", b"%d" % i])
    st = router.stats()
    assert st["dropped_by"]["unroutable"] == 7
    assert st["dropped_by"]["hwm"] == 7              # 12 sent, 3 + 2 fit
    (peer,) = st["peers"]
    assert (peer["routing_id"], peer["dropped_hwm"], peer["queued_out"]) == (b"d1", 7, 5)
    assert peer["socket_type"] == "DEALER"
    assert st["msgs_sent"] == 19
    assert [dealer.recv() for _ in range(5)] == [b"%d" % i for i in range(5)]
    assert dealer.poll(0) == 0
    # mandatory: an error instead of a silent drop, nothing counted
    router.router_mandatory = 1
    with pytest.raises(zmqx.ZMQError):
        router.send_multipart([b"nobody", b"x"])
    assert router.stats()["dropped_by"]["unroutable"] == 7


def test_queue_depths_per_direction(ctx):
    push = ctx.socket(zmqx.PUSH)
    push.bind("inproc://q")
    pull = ctx.socket(zmqx.PULL)
    pull.connect("inproc://q")
    for i in range(37):
        push.send_multipart([b"a", b"bc"])
    assert push.stats()["peers"][0]["queued_out"] == 37
    assert push.stats()["queued_out"] == 37
    assert pull.stats()["queued_in"] == 37
    for _ in range(10):
        pull.recv_multipart()
    assert push.stats()["queued_out"] == 27
    assert pull.stats()["queued_in"] == 27
    pst = pull.stats()
    assert (pst["msgs_received"], pst["bytes_received"]) == (10, 30)
    assert push.stats()["bytes_sent"] == 37 * 3


def test_conflate_counts_replaced(ctx):
    pull = ctx.socket(zmqx.PULL)
    pull.conflate = 1
    pull.bind("inproc://c")
    push = ctx.socket(zmqx.PUSH)
    push.connect("inproc://c")
    for i in range(5):
        push.send(b"%d" % i)
    assert pull.recv() == b"4"
    assert pull.stats()["dropped_by"]["conflated"] == 4


def test_tcp_counts_agree_between_ends(ctx):
    push = ctx.socket(zmqx.PUSH)
    pull = ctx.socket(zmqx.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push.connect(pull.last_endpoint)
    pull.rcvtimeo = WAIT_MS
    for i in range(50):
        push.send_multipart([b"k" * i, b"v" * (2 * i)])
    for _ in range(50):
        pull.recv_multipart()
    a, b = push.stats(), pull.stats()
    total = sum(3 * i for i in range(50))
    assert (a["msgs_sent"], a["bytes_sent"]) == (50, total)
    assert (b["msgs_received"], b["bytes_received"]) == (50, total)
    assert (a["peers"][0]["msgs_sent"], a["peers"][0]["bytes_sent"]) == (50, total)
    assert (b["peers"][0]["msgs_received"], b["peers"][0]["bytes_received"]) == (50, total)
    assert b["queued_in"] == 0


def _events_until(mon, name, count=1):
    seen = []
    while count:
        ev = recv_monitor_message(mon)
        seen.append(ev["event"])
        if ev["event"] == name:
            count -= 1
    return seen


def test_peer_facts_and_reconnects(ctx):
    t0 = time.time()
    router = ctx.socket(zmqx.ROUTER)
    router.linger = 0
    router.bind("tcp://127.0.0.1:*")
    ep = router.last_endpoint.decode()
    dealer = ctx.socket(zmqx.DEALER)
    dealer.routing_id = b"dealer-1"
    dealer.reconnect_ivl = 20
    mon = dealer.get_monitor_socket()
    mon.rcvtimeo = WAIT_MS
    dealer.connect(ep)
    _events_until(mon, zmqx.EVENT_HANDSHAKE_SUCCEEDED)
    dealer.send(b"hello")
    router.rcvtimeo = WAIT_MS
    assert router.recv_multipart() == [b"dealer-1", b"hello"]
    t1 = time.time()
    (rp,) = router.stats()["peers"]
    assert rp["endpoint"] == ep and rp["direction"] == "accept" and rp["transport"] == "tcp"
    assert (rp["routing_id"], rp["socket_type"]) == (b"dealer-1", "DEALER")
    assert (rp["zmtp_version"], rp["mechanism"]) == ("3.1", "NULL")
    assert t0 - 1 <= rp["connected_at"] <= t1 + 1
    (dp,) = dealer.stats()["peers"]
    assert (dp["endpoint"], dp["direction"], dp["socket_type"]) == (ep, "connect", "ROUTER")
    assert dp["reconnects"] == 0
    # the ROUTER restarts: the dealer's connection comes back over the same peer slot
    router.close()
    _events_until(mon, zmqx.EVENT_CONNECT_RETRIED)
    router = ctx.socket(zmqx.ROUTER)
    router.linger = 0
    router.bind(ep)
    _events_until(mon, zmqx.EVENT_HANDSHAKE_SUCCEEDED)
    st = dealer.stats()
    assert st["peers"][0]["reconnects"] == 1
    assert st["events"]["HANDSHAKE_SUCCEEDED"] == 2
    assert st["events"]["DISCONNECTED"] == 1
    assert st["reconnect_attempts"] >= 1
    assert st["monitor"]["events_sent"] >= 6
    mon.close(0)


def test_peer_facts_with_libzmq_peer(ctx):
    zctx = zmq.Context()
    try:
        peer = zctx.socket(zmq.DEALER)
        peer.linger = 0
        peer.routing_id = b"libzmq"
        router = ctx.socket(zmqx.ROUTER)
        router.bind("tcp://127.0.0.1:*")
        peer.connect(router.last_endpoint.decode())
        peer.send(b"hi")
        router.rcvtimeo = WAIT_MS
        assert router.recv_multipart() == [b"libzmq", b"hi"]
        (p,) = router.stats()["peers"]
        assert (p["routing_id"], p["socket_type"], p["zmtp_version"], p["mechanism"]) == \
            (b"libzmq", "DEALER", "3.1", "NULL")
        peer.close()
    finally:
        zctx.term()


def test_handshake_failures_counted(ctx):
    pull = ctx.socket(zmqx.PULL)
    mon = pull.get_monitor_socket()
    mon.rcvtimeo = WAIT_MS
    pull.bind("tcp://127.0.0.1:*")
    port = int(pull.last_endpoint.rsplit(b":", 1)[1])
    raw = pysocket.create_connection(("127.0.0.1", port))
    raw.close()
    _events_until(mon, zmqx.EVENT_DISCONNECTED)
    st = pull.stats()
    assert st["handshake_failures"] == 1
    assert st["events"]["ACCEPTED"] == 1 and st["events"]["LISTENING"] == 1
    mon.close(0)


def test_stats_after_close_and_linger_drops():
    """A closed socket keeps its last counters; what its connections still had queued
    when LINGER ran out is counted as dropped once the I/O side let it go (final after
    term())."""
    with pysocket.socket() as probe:                 # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        nowhere = "tcp://127.0.0.1:%d" % probe.getsockname()[1]
    c = zmqx.Context()
    pushes = []
    for linger in (0, 100):
        push = c.socket(zmqx.PUSH)
        push.linger = linger
        push.connect(nowhere)
        for _ in range(5):
            push.send(b"never delivered")
        assert push.stats()["queued_out"] == 5
        push.close()
        pushes.append(push)
    c.term()                                         # waits for the lingering to end
    for push in pushes:
        st = push.stats()
        assert st["closed"] is True
        assert st["msgs_sent"] == 5
        assert st["dropped_by"]["linger"] == 5
        assert st["dropped"] == 5
        assert st["peers"] == []


def test_stats_linger_drains_when_peer_takes_it(ctx):
    pull = ctx.socket(zmqx.PULL)
    pull.bind("tcp://127.0.0.1:*")
    c = zmqx.Context()
    push = c.socket(zmqx.PUSH)
    push.linger = 5000
    push.connect(pull.last_endpoint)
    for _ in range(5):
        push.send(b"delivered")
    push.close()
    pull.rcvtimeo = WAIT_MS
    for _ in range(5):
        assert pull.recv() == b"delivered"
    c.term()
    assert push.stats()["dropped_by"]["linger"] == 0


@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
def test_peer_facts_name_the_negotiated_mechanism(ctx, mech):
    # a secured connection reports its mechanism (and the peer's type and routing id, which
    # arrive in the mechanism's READY/INITIATE rather than the NULL handshake)
    from zap_handler import ZapHandler
    spub, ssec = zmqx.curve_keypair()
    cpub, csec = zmqx.curve_keypair()
    zap = ZapHandler(zmqx, ctx, allowed=[zmqx.utils.z85.decode(cpub)])
    router = ctx.socket(zmqx.ROUTER)
    dealer = ctx.socket(zmqx.DEALER)
    router.linger = dealer.linger = 0
    if mech == "PLAIN":
        router.plain_server = True
        dealer.plain_username, dealer.plain_password = b"admin", b"secret"
    else:
        router.curve_secretkey, router.curve_publickey = ssec, spub
        router.curve_server = True
        dealer.curve_secretkey, dealer.curve_publickey, dealer.curve_serverkey = csec, cpub, spub
    router.bind("tcp://127.0.0.1:*")
    dealer.routing_id = b"sec-peer"
    dealer.connect(router.last_endpoint)
    dealer.send(b"hi")
    router.rcvtimeo = WAIT_MS
    assert router.recv_multipart() == [b"sec-peer", b"hi"]
    (rp,) = router.stats()["peers"]
    assert (rp["mechanism"], rp["socket_type"], rp["routing_id"]) == (mech, "DEALER", b"sec-peer")
    (dp,) = dealer.stats()["peers"]
    assert (dp["mechanism"], dp["socket_type"]) == (mech, "ROUTER")
    router.close()
    dealer.close()
    zap.close()
