"""Socket patterns between zmqx and libzmq (through pyzmq), over tcp and ipc.

Each pairing runs with either implementation in either role and with either side
binding: PUB/SUB with filtering (subscriptions on the wire both ways), XPUB/XSUB
subscription messages, REQ/REP, DEALER/ROUTER with set and generated routing ids, the
REQ envelope seen by a ROUTER, 3.0-style subscriptions (message form, from a libzmq XSUB
and from a raw ZMTP 3.0 peer), the downgrade of zmqx's own subscriptions for a 3.0 peer,
and SUB reconnects across a PUB restart.

Synchronisation is on events only (RCVTIMEO'd recv, poll, probe loops, libzmq monitor
events, a raw listener's EOF); nothing sleeps."""
import contextlib
import os
import select
import socket

import pytest

import zmqx
from zmqx._core import zmtp
from conftest import endpoint_for

zmq = pytest.importorskip("zmq")
from zmq.utils.monitor import recv_monitor_message  # noqa: E402

pytestmark = pytest.mark.timeout(60)
from helpers import Reserved, recv_until  # noqa: E402

WAIT_MS = 5000

# No fixture ordering: libzmq peers may hang up while zmqx closes (see test_interop.py).


@pytest.fixture(params=["zmqx-binds", "pyzmq-binds"])
def zmqx_binds(request):
    return request.param == "zmqx-binds"


# ---------------------------------------------------------------- helpers

def setup(s, **opts):
    s.linger = 0
    s.rcvtimeo = WAIT_MS
    s.sndtimeo = WAIT_MS
    for k, v in opts.items():
        s.setsockopt(getattr(zmq, k.upper()), v)
    return s


def zsock(ctx, kind, **opts):
    s = ctx.socket(getattr(zmqx, kind))
    s.linger = 0
    s.rcvtimeo = WAIT_MS
    s.sndtimeo = WAIT_MS
    for k, v in opts.items():
        s.setsockopt(getattr(zmqx, k.upper()), v)
    return s


def psock(zctx, kind, **opts):
    return setup(zctx.socket(getattr(zmq, kind)), **opts)


def last(s):
    ep = s.getsockopt(zmq.LAST_ENDPOINT)
    return ep.decode() if isinstance(ep, bytes) else ep


def connect_pair(z, p, endpoint, zmqx_binds):
    """z (zmqx) and p (pyzmq): one binds `endpoint`, the other connects to it."""
    if zmqx_binds:
        z.bind(endpoint)
        p.connect(last(z))
    else:
        p.bind(endpoint)
        z.connect(last(p))


def recv_touching(s, *others):
    """recv on s while the others get to process their commands (a bound socket attaches
    an accepted connection only when the app calls into it: libzmq and zmqx alike)."""
    for _ in range(WAIT_MS // 10):
        if s.poll(10, zmq.POLLIN):
            return s.recv()
        for o in others:
            o.poll(0)
    pytest.fail("nothing arrived")


def sync_sub(pub, sub, prefix, others=()):
    """Slow joiner: probes until the SUB sees one, then drain up to a marker."""
    for _ in range(WAIT_MS // 10):
        pub.send(prefix + b"probe")
        if sub.poll(10, zmq.POLLIN):
            break
        for o in others:
            o.poll(0)
    else:
        pytest.fail(f"{prefix[:40]!r} never reached the subscriber")
    pub.send(prefix + b"sync-end")
    while True:
        m = sub.recv()
        if m == prefix + b"sync-end":
            return
        assert m == prefix + b"probe", m


def close_pyzmq_and_wait(sock):
    """Close a pyzmq socket and wait until libzmq has closed its listener/connections."""
    mon = sock.get_monitor_socket()
    mon.rcvtimeo = WAIT_MS
    sock.close(linger=0)
    while recv_monitor_message(mon)["event"] != zmq.EVENT_MONITOR_STOPPED:
        pass
    mon.close(linger=0)


def raw_connect(addr):
    if addr.startswith("tcp://"):
        host, port = addr[6:].rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=WAIT_MS / 1000)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(WAIT_MS / 1000)
    c.connect(addr[6:])
    return c


def wait_eof(c):
    try:
        while True:
            try:
                if not c.recv(65536):
                    return
            except ConnectionResetError:
                return
    finally:
        c.close()


def raw_listener(transport, ipc_dir):
    """(listening socket, endpoint string) for a raw peer that zmqx connects to."""
    if transport == "tcp":
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        addr = "tcp://127.0.0.1:%d" % lst.getsockname()[1]
    else:
        path = os.path.join(ipc_dir, "raw-%d" % id(object()))
        lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lst.bind(path)
        addr = "ipc://" + path
    lst.listen(4)
    lst.settimeout(WAIT_MS / 1000)
    return lst, addr


def raw_handshake(c, socktype, minor):
    """Complete a NULL handshake on raw connection c, announcing ZMTP 3.`minor`.
    Returns (Decoder, events already decoded)."""
    hs = zmtp.Handshake(socktype, b"")
    out = bytearray(hs.data_to_send())
    out[11] = minor                     # greeting octet 11: version-minor
    c.sendall(bytes(out))
    rest = b""
    while not hs.done:
        data = c.recv(4096)
        assert data, "closed during the handshake"
        rest = hs.feed(data)
        extra = hs.data_to_send()
        if extra:
            c.sendall(extra)
    assert hs.peer_major == 3 and hs.peer_minor == 1      # zmqx speaks 3.1
    dec = zmtp.Decoder()
    return dec, dec.feed(rest)


def raw_next_event(c, dec, pending):
    while not pending:
        data = c.recv(65536)
        assert data, "connection closed"
        pending.extend(dec.feed(data))
    return pending.pop(0)


# ================================================================ PUB/SUB

def test_zmqx_pub_to_pyzmq_sub(ctx, zctx, wire_endpoint, zmqx_binds):
    pub = zsock(ctx, "PUB")
    sub = psock(zctx, "SUB")
    sub.setsockopt(zmq.SUBSCRIBE, b"a")
    sub.setsockopt(zmq.SUBSCRIBE, b"sync")
    connect_pair(pub, sub, wire_endpoint, zmqx_binds)
    sync_sub(pub, sub, b"sync")
    for m in (b"a1", b"b1", b"ab", b"ba", b"a2"):
        pub.send(m)
    pub.send_multipart([b"a-multi", b"part"])
    pub.send_multipart([b"b-multi", b"part"])
    pub.send(b"sync-end2")
    assert recv_until(sub, b"a-multi") == [b"a1", b"ab", b"a2"]
    assert sub.recv() == b"part"
    assert recv_until(sub, b"sync-end2") == []
    sub.setsockopt(zmq.UNSUBSCRIBE, b"a")
    sub.setsockopt(zmq.SUBSCRIBE, b"next")
    sync_sub(pub, sub, b"next")
    pub.send(b"a3")
    pub.send(b"next-end")
    assert recv_until(sub, b"next-end") == []


def test_zmqx_pub_filters_for_pyzmq_xsub(ctx, zctx, wire_endpoint, zmqx_binds):
    """libzmq's XSUB does not filter what it receives: anything the zmqx PUB sent would
    show. Only the subscribed topics arrive, so zmqx understood the subscriptions."""
    pub = zsock(ctx, "PUB")
    xsub = psock(zctx, "XSUB")
    connect_pair(pub, xsub, wire_endpoint, zmqx_binds)
    xsub.send(b"\x01a")                # message form, as a libzmq XSUB app sends it
    xsub.send(b"\x01sync")
    sync_sub(pub, xsub, b"sync", others=[xsub])
    for m in (b"a1", b"b1", b"c", b"a2"):
        pub.send(m)
    pub.send(b"sync-end2")
    assert recv_until(xsub, b"sync-end2") == [b"a1", b"a2"]
    xsub.send(b"\x00a")
    xsub.send(b"\x01next")
    sync_sub(pub, xsub, b"next")
    pub.send(b"a3")
    pub.send(b"next-end")
    assert recv_until(xsub, b"next-end") == []


def test_pyzmq_pub_to_zmqx_sub(ctx, zctx, wire_endpoint, zmqx_binds):
    """A libzmq PUB sends only what was subscribed: receiving proves zmqx's SUBSCRIBE
    reached it, not receiving the rest proves its filtering matched ours."""
    pub = psock(zctx, "PUB")
    sub = zsock(ctx, "SUB")
    sub.subscribe(b"a")
    sub.subscribe(b"sync")
    connect_pair(sub, pub, wire_endpoint, zmqx_binds)
    sync_sub(pub, sub, b"sync", others=[sub])
    for m in (b"a1", b"b1", b"ab", b"a2"):
        pub.send(m)
    pub.send_multipart([b"b-multi", b"a"])
    pub.send_multipart([b"a-multi", b"b"])
    pub.send(b"sync-end2")
    assert recv_until(sub, b"a-multi") == [b"a1", b"ab", b"a2"]
    assert sub.recv() == b"b"
    assert recv_until(sub, b"sync-end2") == []
    sub.unsubscribe(b"a")
    sub.subscribe(b"next")
    sync_sub(pub, sub, b"next")
    pub.send(b"a3")
    pub.send(b"next-end")
    assert recv_until(sub, b"next-end") == []


def test_pyzmq_pub_to_zmqx_xsub(ctx, zctx, wire_endpoint, zmqx_binds):
    pub = psock(zctx, "PUB")
    xsub = zsock(ctx, "XSUB")
    connect_pair(xsub, pub, wire_endpoint, zmqx_binds)
    xsub.send(b"\x01x")
    sync_sub(pub, xsub, b"x", others=[xsub])
    pub.send(b"y")
    pub.send(b"x-end")
    assert recv_until(xsub, b"x-end") == []


def test_pyzmq_xpub_sees_zmqx_sub(ctx, zctx, wire_endpoint, zmqx_binds):
    xpub = psock(zctx, "XPUB")
    sub = zsock(ctx, "SUB")
    connect_pair(sub, xpub, wire_endpoint, zmqx_binds)
    sub.subscribe(b"topic")
    assert recv_touching(xpub, sub) == b"\x01topic"
    sub.subscribe(b"")
    assert xpub.recv() == b"\x01"
    sub.unsubscribe(b"topic")
    assert xpub.recv() == b"\x00topic"
    xpub.send(b"hello")
    assert sub.recv() == b"hello"
    if not zmqx_binds:
        # its subscriptions go with it (a connecting libzmq XPUB keeps its pipe, and the
        # subscriptions on it, across a disconnect: nothing to see that way round)
        sub.close()
        assert xpub.recv() == b"\x00"


def test_pyzmq_xpub_sees_zmqx_xsub(ctx, zctx, wire_endpoint, zmqx_binds):
    xpub = psock(zctx, "XPUB")
    xsub = zsock(ctx, "XSUB")
    connect_pair(xsub, xpub, wire_endpoint, zmqx_binds)
    xsub.send(b"\x01abc")
    assert recv_touching(xpub, xsub) == b"\x01abc"
    xsub.send(b"\x00abc")
    assert xpub.recv() == b"\x00abc"


def test_zmqx_xpub_sees_pyzmq_sub(ctx, zctx, wire_endpoint, zmqx_binds):
    xpub = zsock(ctx, "XPUB")
    sub = psock(zctx, "SUB")
    connect_pair(xpub, sub, wire_endpoint, zmqx_binds)
    sub.setsockopt(zmq.SUBSCRIBE, b"topic")
    assert recv_touching(xpub, sub) == b"\x01topic"
    sub.setsockopt(zmq.UNSUBSCRIBE, b"topic")
    assert xpub.recv() == b"\x00topic"
    sub.setsockopt(zmq.SUBSCRIBE, b"t")
    assert xpub.recv() == b"\x01t"
    xpub.send(b"t-1")
    xpub.send(b"u-1")
    xpub.send(b"t-2")
    assert sub.recv() == b"t-1"
    assert sub.recv() == b"t-2"


def test_zmqx_xpub_verbose_with_pyzmq_subs(ctx, zctx, wire_endpoint):
    xpub = zsock(ctx, "XPUB", xpub_verbose=1)
    xpub.bind(wire_endpoint)
    subs = [psock(zctx, "SUB") for _ in range(2)]
    for s in subs:
        s.connect(last(xpub))
        s.setsockopt(zmq.SUBSCRIBE, b"dup")
        assert xpub.recv() == b"\x01dup"     # the duplicate too: VERBOSE
    subs[0].close()
    subs[1].setsockopt(zmq.SUBSCRIBE, b"mark")
    assert xpub.recv() == b"\x01mark"        # no \x00dup: subs[1] still wants it
    subs[1].close()
    assert {xpub.recv() for _ in range(2)} == {b"\x00dup", b"\x00mark"}


def test_pyzmq_xsub_raw_subscription_message_to_zmqx_xpub(ctx, zctx, wire_endpoint,
                                                          zmqx_binds):
    """A libzmq XSUB app's b"\\x01topic" goes on the wire as a message (not a command),
    even to a 3.1 peer: zmqx's XPUB must take it as a subscription."""
    xpub = zsock(ctx, "XPUB")
    xsub = psock(zctx, "XSUB")
    connect_pair(xpub, xsub, wire_endpoint, zmqx_binds)
    xsub.send(b"\x01topic")
    assert recv_touching(xpub, xsub) == b"\x01topic"
    xpub.send(b"other")
    xpub.send(b"topic-1")
    assert xsub.recv() == b"topic-1"
    xsub.send(b"not a subscription")
    assert xpub.recv() == b"not a subscription"


# ---------------------------------------------------------------- 3.0 peers

@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_raw_zmtp30_sub_subscribes_with_message_form(ctx, transport, ipc_dir):
    pub = zsock(ctx, "PUB")
    pub.bind(endpoint_for(transport, ipc_dir))
    c = raw_connect(last(pub))
    try:
        dec, pending = raw_handshake(c, zmtp.SUB, minor=0)
        c.sendall(zmtp.encode_frame(b"\x01topic"))
        c.setblocking(False)
        for _ in range(WAIT_MS // 10):
            pub.send(b"topic-probe")
            if select.select([c], [], [], 0.01)[0]:
                break
        else:
            pytest.fail("the 3.0 subscription was not honoured")
        c.settimeout(WAIT_MS / 1000)
        pub.send(b"other")
        pub.send_multipart([b"topic-end", b"x"])
        got = []
        while True:
            ev = raw_next_event(c, dec, pending)
            assert ev[0] == "message", ev           # no command goes to a 3.0 SUB
            if ev[1][0] == b"topic-end":
                assert ev[1] == [b"topic-end", b"x"]
                break
            got.append(ev[1])
        assert got and all(m == [b"topic-probe"] for m in got)
        c.sendall(zmtp.encode_frame(b"\x00topic"))   # unsubscribe, message form
        c.sendall(zmtp.encode_frame(b"\x01next"))
        seen = []
        for _ in range(WAIT_MS // 10):
            pub.send(b"topic-late")        # until the unsubscription is processed
            pub.send(b"next-probe")        # once the subscription is
            if select.select([c], [], [], 0.01)[0]:
                seen.append(raw_next_event(c, dec, pending)[1])
                if seen[-1] == [b"next-probe"]:
                    break
        else:
            pytest.fail("the 3.0 subscription to 'next' was not honoured")
        assert set(map(tuple, seen)) <= {(b"topic-late",), (b"next-probe",)}
        pub.send(b"topic-late")
        pub.send(b"next-end")
        while (ev := raw_next_event(c, dec, pending))[1] != [b"next-end"]:
            assert ev[1] == [b"next-probe"]
    finally:
        c.close()


@pytest.mark.parametrize("minor", [0, 1])
@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_zmqx_sub_subscription_form_follows_peer_version(ctx, transport, ipc_dir, minor):
    """To a 3.0 PUB, zmqx subscribes with b"\\x01topic" messages; to a 3.1 PUB with
    SUBSCRIBE/CANCEL commands."""
    lst, addr = raw_listener(transport, ipc_dir)
    sub = zsock(ctx, "SUB")
    sub.subscribe(b"early")
    sub.connect(addr)
    c, _ = lst.accept()
    lst.close()
    c.settimeout(WAIT_MS / 1000)
    try:
        dec, pending = raw_handshake(c, zmtp.PUB, minor=minor)
        sub.subscribe(b"late")
        sub.unsubscribe(b"early")
        got = [raw_next_event(c, dec, pending) for _ in range(3)]
        if minor == 0:
            assert got == [("message", [b"\x01early"]), ("message", [b"\x01late"]),
                           ("message", [b"\x00early"])]
        else:
            assert got == [("command", b"SUBSCRIBE", b"early"),
                           ("command", b"SUBSCRIBE", b"late"),
                           ("command", b"CANCEL", b"early")]
        c.sendall(zmtp.encode_frame(b"early-x") + zmtp.encode_frame(b"late-1"))
        assert sub.recv() == b"late-1"
    finally:
        c.close()


# ---------------------------------------------------------------- reconnects

def test_zmqx_sub_keeps_subscriptions_across_pyzmq_pub_restart(ctx, zctx, wire_endpoint):
    pub = psock(zctx, "PUB")
    pub.bind(wire_endpoint)
    addr = last(pub)
    sub = zsock(ctx, "SUB", reconnect_ivl=20)
    sub.subscribe(b"keep")
    sub.subscribe(b"also")
    sub.connect(addr)
    sync_sub(pub, sub, b"keep")
    close_pyzmq_and_wait(pub)
    if addr.startswith("ipc://") and os.path.exists(addr[6:]):
        os.unlink(addr[6:])                 # libzmq 4.3 may leave its socket file
    pub2 = psock(zctx, "PUB")
    pub2.bind(addr)
    sync_sub(pub2, sub, b"keep")            # no resubscription by the app
    # both resent subscriptions must have reached libzmq's PUB: it may take the second
    # from a later read than the first
    sync_sub(pub2, sub, b"also")
    pub2.send(b"other")
    pub2.send(b"also-1")
    pub2.send(b"keep-end")
    assert recv_until(sub, b"keep-end") == [b"also-1"]


def test_pyzmq_sub_keeps_subscriptions_across_zmqx_pub_restart(ctx, zctx, wire_endpoint):
    pub = zsock(ctx, "PUB")
    pub.bind(wire_endpoint)
    addr = last(pub)
    sub = psock(zctx, "SUB", reconnect_ivl=20)
    sub.setsockopt(zmq.SUBSCRIBE, b"keep")
    sub.connect(addr)
    sync_sub(pub, sub, b"keep")
    from zmqx.utils.monitor import recv_monitor_message as zmqx_monitor_message
    mon = pub.get_monitor_socket(zmqx.EVENT_CLOSED)
    mon.rcvtimeo = WAIT_MS
    pub.close()
    # the port is free again once the listening socket is closed: its CLOSED event (the
    # connections it accepted may end before it, so their EOF proves nothing)
    while True:
        ev = zmqx_monitor_message(mon)
        if ev["event"] == zmqx.EVENT_CLOSED and ev["endpoint"] == addr.encode():
            break
    mon.close()
    pub2 = zsock(ctx, "PUB")
    pub2.bind(addr)
    sync_sub(pub2, sub, b"keep")
    pub2.send(b"other")
    pub2.send(b"keep-1")
    assert sub.recv() == b"keep-1"


# ================================================================ REQ/REP

@pytest.mark.parametrize("zmqx_role", ["REQ", "REP"])
def test_req_rep(ctx, zctx, wire_endpoint, zmqx_binds, zmqx_role):
    other = "REP" if zmqx_role == "REQ" else "REQ"
    z = zsock(ctx, zmqx_role)
    p = psock(zctx, other)
    connect_pair(z, p, wire_endpoint, zmqx_binds)
    req, rep = (z, p) if zmqx_role == "REQ" else (p, z)
    for i in range(5):
        req.send_multipart([b"q", b"%d" % i])
        assert rep.recv_multipart() == [b"q", b"%d" % i]
        rep.send_multipart([b"a", b"%d" % i, b""])
        assert req.recv_multipart() == [b"a", b"%d" % i, b""]


def test_zmqx_req_correlate_with_pyzmq_router(ctx, zctx, wire_endpoint):
    router = psock(zctx, "ROUTER")
    router.bind(wire_endpoint)
    req = zsock(ctx, "REQ", routing_id=b"R", req_correlate=1, req_relaxed=1)
    req.connect(last(router))
    req.send(b"r1")
    rid, id1, delim, body = router.recv_multipart()
    assert (rid, delim, body) == (b"R", b"", b"r1") and len(id1) == 4
    req.send(b"r2")
    rid, id2, _, _ = router.recv_multipart()
    router.send_multipart([b"R", id1, b"", b"stale"])
    router.send_multipart([b"R", id2, b"", b"fresh"])
    assert req.recv() == b"fresh"


def test_pyzmq_req_correlate_with_zmqx_rep(ctx, zctx, wire_endpoint):
    rep = zsock(ctx, "REP")
    rep.bind(wire_endpoint)
    req = psock(zctx, "REQ", req_correlate=1, req_relaxed=1)
    req.connect(last(rep))
    req.send(b"r1")
    assert rep.recv() == b"r1"              # the request id is part of the envelope
    rep.send(b"a1")                          # and comes back with the reply
    assert req.recv() == b"a1"


def test_pyzmq_req_to_zmqx_router_envelope(ctx, zctx, wire_endpoint, zmqx_binds):
    router = zsock(ctx, "ROUTER")
    req = psock(zctx, "REQ", routing_id=b"client")
    connect_pair(router, req, wire_endpoint, zmqx_binds)
    for i in range(3):
        req.send_multipart([b"body", b"%d" % i])
        assert router.recv_multipart() == [b"client", b"", b"body", b"%d" % i]
        router.send_multipart([b"client", b"", b"reply %d" % i])
        assert req.recv() == b"reply %d" % i


def test_zmqx_req_to_pyzmq_router_envelope(ctx, zctx, wire_endpoint, zmqx_binds):
    router = psock(zctx, "ROUTER")
    req = zsock(ctx, "REQ", routing_id=b"client")
    connect_pair(req, router, wire_endpoint, zmqx_binds)
    req.send(b"body")
    assert router.recv_multipart() == [b"client", b"", b"body"]
    router.send_multipart([b"client", b"", b"reply"])
    assert req.recv() == b"reply"


@pytest.mark.parametrize("zmqx_role", ["DEALER", "REP"])
def test_dealer_rep(ctx, zctx, wire_endpoint, zmqx_binds, zmqx_role):
    other = "REP" if zmqx_role == "DEALER" else "DEALER"
    z = zsock(ctx, zmqx_role)
    p = psock(zctx, other)
    connect_pair(z, p, wire_endpoint, zmqx_binds)
    dealer, rep = (z, p) if zmqx_role == "DEALER" else (p, z)
    for i in range(3):
        dealer.send_multipart([b"", b"q%d" % i])
    for i in range(3):
        assert rep.recv() == b"q%d" % i
        rep.send(b"a%d" % i)
    for i in range(3):
        assert dealer.recv_multipart() == [b"", b"a%d" % i]


# ================================================================ DEALER/ROUTER

@pytest.mark.parametrize("zmqx_role", ["DEALER", "ROUTER"])
@pytest.mark.parametrize("rid", [b"named-peer", None], ids=["id-set", "id-generated"])
def test_dealer_router(ctx, zctx, wire_endpoint, zmqx_binds, zmqx_role, rid):
    opts = dict(routing_id=rid) if rid else {}
    if zmqx_role == "DEALER":
        dealer, router = zsock(ctx, "DEALER", **opts), psock(zctx, "ROUTER")
        connect_pair(dealer, router, wire_endpoint, zmqx_binds)
    else:
        dealer, router = psock(zctx, "DEALER", **opts), zsock(ctx, "ROUTER")
        connect_pair(router, dealer, wire_endpoint, zmqx_binds)
    dealer.send_multipart([b"hello", b"there"])
    got_id, *body = router.recv_multipart()
    assert body == [b"hello", b"there"]
    if rid:
        assert got_id == rid
    else:
        assert len(got_id) == 5 and got_id[0] == 0, got_id
    for i in range(3):
        router.send_multipart([got_id, b"reply", b"%d" % i])
    for i in range(3):
        assert dealer.recv_multipart() == [b"reply", b"%d" % i]
    router.send_multipart([b"unknown-peer", b"dropped"])
    router.send_multipart([got_id, b"last"])
    assert dealer.recv_multipart() == [b"last"]


def test_zmqx_router_mandatory_with_pyzmq_dealer(ctx, zctx, wire_endpoint):
    router = zsock(ctx, "ROUTER", router_mandatory=1)
    router.bind(wire_endpoint)
    dealer = psock(zctx, "DEALER", routing_id=b"D")
    dealer.connect(last(router))
    dealer.send(b"hi")
    assert router.recv_multipart() == [b"D", b"hi"]
    with pytest.raises(zmqx.ZMQError) as e:
        router.send_multipart([b"nobody", b"x"])
    assert e.value.errno == zmqx.EHOSTUNREACH
    del e
    router.send_multipart([b"D", b"ok"])
    assert dealer.recv() == b"ok"


@pytest.mark.parametrize("zmqx_side", ["connecter", "binder"])
def test_router_router(ctx, zctx, wire_endpoint, zmqx_side):
    """ROUTER to ROUTER across implementations: the connecter names the binder with
    CONNECT_ROUTING_ID, the binder learns the connecter's ROUTING_ID from its handshake."""
    if zmqx_side == "connecter":
        conn = zsock(ctx, "ROUTER", routing_id=b"connecter")
        bnd = psock(zctx, "ROUTER", routing_id=b"binder", probe_router=1)
        conn.setsockopt(zmqx.CONNECT_ROUTING_ID, b"the-binder")
    else:
        conn = psock(zctx, "ROUTER", routing_id=b"connecter")
        bnd = zsock(ctx, "ROUTER", routing_id=b"binder", probe_router=1)
        conn.setsockopt(zmq.CONNECT_ROUTING_ID, b"the-binder")
    bnd.bind(wire_endpoint)
    conn.connect(last(bnd))
    # the binder probes the new connection: the connecter is then routable to it
    assert recv_touching(conn, bnd) == b"the-binder"
    assert conn.recv() == b""
    conn.send_multipart([b"the-binder", b"hello"])
    assert bnd.recv_multipart() == [b"connecter", b"hello"]
    bnd.send_multipart([b"connecter", b"reply"])
    assert conn.recv_multipart() == [b"the-binder", b"reply"]


@pytest.mark.parametrize("zmqx_role", ["DEALER", "ROUTER"])
def test_probe_router_across(ctx, zctx, wire_endpoint, zmqx_role):
    if zmqx_role == "DEALER":
        router = psock(zctx, "ROUTER")
        router.bind(wire_endpoint)
        dealer = zsock(ctx, "DEALER", routing_id=b"P", probe_router=1)
    else:
        router = zsock(ctx, "ROUTER")
        router.bind(wire_endpoint)
        dealer = psock(zctx, "DEALER", routing_id=b"P", probe_router=1)
    dealer.connect(last(router))
    assert router.recv_multipart() == [b"P", b""]


def test_dealer_dealer_across(ctx, zctx, wire_endpoint, zmqx_binds):
    z = zsock(ctx, "DEALER")
    p = psock(zctx, "DEALER")
    connect_pair(z, p, wire_endpoint, zmqx_binds)
    z.send_multipart([b"", b"x"])
    p.send_multipart([b"y", b""])
    assert p.recv_multipart() == [b"", b"x"]
    assert z.recv_multipart() == [b"y", b""]


# ================================================================ many long subscriptions

@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_queued_long_subscriptions_reach_pyzmq_xpub_intact(ctx, zctx, transport, ipc_dir):
    """Subscriptions queued before the connection exists all go out in the first write
    batch once it does: 30 topics of 2048 bytes, a filler, another 2048-byte topic.
    Regression (3d6343f and before): for fillers that left the batch 2058..2066 bytes
    short of its 64 KiB stage, zmqx staged the SUBSCRIBE header and then silently
    dropped the topic that no longer fit (9 + 2048 bytes reserved per message, a
    SUBSCRIBE needs 9 + 10 + 2048), corrupting the stream: libzmq saw 31 subscriptions
    and nothing after them."""
    for filler in (1443, 1446, 1449):
        # a tcp port stays held by a plain bound socket until libzmq binds it
        reserved = Reserved(transport, ipc_dir, "xpub-%d" % filler)
        addr = reserved.endpoint
        xsub = zsock(ctx, "XSUB", reconnect_ivl=20)
        xsub.connect(addr)
        topics = [b"%02d" % i + b"x" * 2046 for i in range(30)]
        topics += [b"F" * filler, b"L" + b"y" * 2047]
        for t in topics:
            xsub.send(b"\x01" + t)
        xpub = psock(zctx, "XPUB", rcvtimeo=1000)
        xpub.bind(reserved.release())
        got = []
        with contextlib.suppress(zmq.Again):
            while len(got) < len(topics):
                got.append(xpub.recv())
        xsub.send(b"\x01end")
        with contextlib.suppress(zmq.Again):
            while not got or got[-1] != b"\x01end":
                got.append(xpub.recv())
        assert [g[1:] for g in got] == topics + [b"end"], \
            f"filler {filler}: {len(got)} subscriptions arrived, last {got[-1][:8]!r}"
        xsub.close()
        xpub.close()


TOPIC_SIZES = [245, 246, 3000, 65000, 100000]


def _topic(size):
    return (bytes(range(256)) * (size // 256 + 1))[:size - 1] + b"t"


@pytest.mark.parametrize("size", TOPIC_SIZES)
def test_long_topic_from_pyzmq_sub(ctx, zctx, wire_endpoint, size):
    """SUBSCRIBE commands around the short/long frame boundary (a 246-byte topic makes
    a 256-byte command) up to beyond 64 KiB: libzmq takes a 100000-byte topic from
    libzmq. Regression (3d6343f and before): zmqx dropped the connection for any
    command frame bigger than its 64 KiB read buffer (although its codec allows
    1 MiB), so the subscriber was disconnected over and over and never subscribed."""
    topic = _topic(size)
    xpub = zsock(ctx, "XPUB", rcvtimeo=1000)
    xpub.bind(wire_endpoint)
    sub = psock(zctx, "SUB")
    sub.setsockopt(zmq.SUBSCRIBE, topic)
    sub.connect(last(xpub))
    got = xpub.recv()
    assert got == b"\x01" + topic, (len(got), got[:20])
    xpub.send(topic[:-1] + b"!")
    xpub.send(topic + b"-end")
    assert sub.recv() == topic + b"-end"
    sub.setsockopt(zmq.UNSUBSCRIBE, topic)
    assert xpub.recv() == b"\x00" + topic


@pytest.mark.parametrize("size", TOPIC_SIZES)
def test_long_topic_from_zmqx_sub(ctx, zctx, wire_endpoint, size):
    topic = _topic(size)
    xpub = psock(zctx, "XPUB", rcvtimeo=1000)
    xpub.bind(wire_endpoint)
    sub = zsock(ctx, "SUB")
    sub.connect(last(xpub))
    sub.subscribe(topic)
    got = xpub.recv()
    assert got == b"\x01" + topic, (len(got), got[:20])
    xpub.send(topic[:-1] + b"!")
    xpub.send(topic + b"-end")
    assert sub.recv() == topic + b"-end"
    sub.unsubscribe(topic)
    assert xpub.recv() == b"\x00" + topic
