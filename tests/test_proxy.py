"""zmqx.proxy / zmqx.proxy_steerable run in a thread: a ROUTER/DEALER queue broker with REQ
clients and REP workers, capture of both directions, PAUSE/RESUME/STATISTICS/TERMINATE on
a control PAIR, ctx.term() waking a blocked proxy, and mixed transports.

Synchronisation is by replies, RCVTIMEO-bounded recvs and poll timeouts; "must not arrive"
checks use positive controls (a marker that must be the next capture, control round trips
whose counters must not move). Sockets use LINGER=0. Threads close their own sockets."""

import threading

import pytest

import zmqx
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)
from helpers import assert_empty, bound, sock  # noqa: E402

WAIT_MS = 5000
JOIN_S = 10.0


# ---------------------------------------------------------------- helpers

class Runner(threading.Thread):
    """A thread that records its result or exception."""

    def __init__(self, fn, *args):
        super().__init__(daemon=True)
        self.fn, self.args = fn, args
        self.result = self.exc = None

    def run(self):
        try:
            self.result = self.fn(*self.args)
        except BaseException as e:        # noqa: BLE001 - reported by the test
            self.exc = e

    def finish(self, timeout=JOIN_S):
        self.join(timeout)
        assert not self.is_alive(), f"thread {self.fn.__name__} did not finish"
        return self


def proxy_thread(fn, socks, *args):
    """Run fn(*args) (a proxy) in a thread; the thread closes `socks` when it returns or
    raises, as an application thread would."""
    def body():
        try:
            return fn(*args)
        finally:
            for s in socks:
                s.close(linger=0)

    r = Runner(body)
    r.start()
    return r


def term_in_thread(ctx):
    t = Runner(ctx.term)
    t.start()
    return t


def stats_of(frames):
    assert len(frames) == 8, frames
    assert all(len(f) == 8 for f in frames), [len(f) for f in frames]
    return [int.from_bytes(f, "little") for f in frames]


def drain(s, n):
    return [s.recv_multipart() for _ in range(n)]


# ---------------------------------------------------------------- broker with REQ/REP

def rep_worker(ctx, addr, name, served):
    rep = sock(ctx, zmqx.REP, rcvtimeo=-1)
    rep.connect(addr)
    try:
        while True:
            req = rep.recv()
            served.append((name, req))
            rep.send(b"%s<-%s" % (name, req))
    except zmqx.ContextTerminated:
        pass
    finally:
        rep.close(linger=0)


def req_client(ctx, addr, name, nreq):
    req = sock(ctx, zmqx.REQ)
    req.connect(addr)
    out = []
    try:
        for k in range(nreq):
            body = b"%s-%d" % (name, k)
            req.send(body)
            out.append((body, req.recv()))
    finally:
        req.close(linger=0)
    return out


@pytest.mark.parametrize("fe_transport,be_transport",
                         [("inproc", "inproc"), ("ipc", "ipc"), ("tcp", "tcp"), ("tcp", "inproc")],
                         ids=["inproc", "ipc", "tcp", "tcp-inproc"])
def test_queue_broker_serves_every_client_and_captures_both_directions(
        ctx, ipc_dir, fe_transport, be_transport):
    NCLIENTS, NWORKERS, NREQ = 4, 3, 15
    frontend, fe_addr = bound(ctx, zmqx.ROUTER, endpoint_for(fe_transport, ipc_dir))
    backend, be_addr = bound(ctx, zmqx.DEALER, endpoint_for(be_transport, ipc_dir))
    capture, cap_addr = bound(ctx, zmqx.PUSH, endpoint_for("inproc", ipc_dir), sndhwm=0)
    tap = sock(ctx, zmqx.PULL, rcvhwm=0)
    tap.connect(cap_addr)

    broker = proxy_thread(zmqx.proxy, [frontend, backend, capture], frontend, backend, capture)
    served = []
    workers = [Runner(rep_worker, ctx, be_addr, b"w%d" % j, served) for j in range(NWORKERS)]
    clients = [Runner(req_client, ctx, fe_addr, b"c%d" % i, NREQ) for i in range(NCLIENTS)]
    for t in workers + clients:
        t.start()
    for c in clients:
        c.finish()
        assert c.exc is None, c.exc

    # every client got its own reply, in order, from some worker
    for i, c in enumerate(clients):
        assert len(c.result) == NREQ
        for k, (body, reply) in enumerate(c.result):
            assert body == b"c%d-%d" % (i, k)
            name, _, echoed = reply.partition(b"<-")
            assert echoed == body and name in {b"w%d" % j for j in range(NWORKERS)}, reply
    assert sorted(r for _, r in served) == sorted(b"c%d-%d" % (i, k)
                                                 for i in range(NCLIENTS) for k in range(NREQ))

    # the capture saw each request and each reply once, as whole messages
    total = NCLIENTS * NREQ
    captured = drain(tap, 2 * total)
    # positive control: one more request through the broker; its request and reply are
    # the next two captures, so nothing else was captured before them
    (body, reply), = req_client(ctx, fe_addr, b"marker", 1)
    marker = drain(tap, 2)
    assert [m[2] for m in marker] == [body, reply], marker
    assert_empty(tap)
    requests = [m for m in captured if b"<-" not in m[-1]]
    replies = [m for m in captured if b"<-" in m[-1]]
    assert len(requests) == total and len(replies) == total
    for m in captured:
        # ROUTER side: [client identity, empty delimiter, body]
        assert len(m) == 3 and m[1] == b"", m
    assert sorted(m[2] for m in requests) == sorted(b"c%d-%d" % (i, k)
                                                    for i in range(NCLIENTS) for k in range(NREQ))
    assert sorted(m[2].partition(b"<-")[2] for m in replies) == sorted(m[2] for m in requests)
    # identity frames of a request and its reply match
    ident_of = {m[2]: m[0] for m in requests}
    for m in replies:
        assert ident_of[m[2].partition(b"<-")[2]] == m[0]

    tap.close()
    term = term_in_thread(ctx)
    broker.finish()
    assert isinstance(broker.exc, zmqx.ContextTerminated), broker.exc
    for w in workers:
        w.finish()
        assert w.exc is None, w.exc
    term.finish()
    assert term.exc is None and ctx.closed


def test_proxy_forwards_many_messages_in_order_with_capture(ctx):
    N = 5000
    frontend, fe_addr = bound(ctx, zmqx.PAIR, endpoint_for("tcp", None))
    backend, be_addr = bound(ctx, zmqx.PAIR, endpoint_for("inproc", None))
    capture, cap_addr = bound(ctx, zmqx.PUSH, endpoint_for("inproc", None), sndhwm=0)
    src = sock(ctx, zmqx.PAIR)
    src.connect(fe_addr)
    dst = sock(ctx, zmqx.PAIR)
    dst.connect(be_addr)
    tap = sock(ctx, zmqx.PULL, rcvhwm=0)
    tap.connect(cap_addr)
    broker = proxy_thread(zmqx.proxy, [frontend, backend, capture], frontend, backend, capture)

    def send_all():
        for i in range(N):
            src.send_multipart([b"%d" % i, b"x" * (i % 300)])

    sender = Runner(send_all)
    sender.start()
    got = drain(dst, N)
    sender.finish()
    assert sender.exc is None
    assert got == [[b"%d" % i, b"x" * (i % 300)] for i in range(N)]
    assert drain(tap, N) == got
    src.send(b"marker")                 # positive control: the next capture is this one
    assert dst.recv() == b"marker"
    assert tap.recv_multipart() == [b"marker"]
    assert_empty(tap)
    for s in (src, dst, tap):
        s.close()
    term = term_in_thread(ctx)
    broker.finish()
    assert isinstance(broker.exc, zmqx.ContextTerminated), broker.exc
    term.finish()


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_streamer_pull_to_push(ctx, transport):
    """The Guide's streamer: a one-way PULL -> PUSH proxy. The PUSH backend never has
    anything to read, so the proxy must not try to read it."""
    frontend, fe_addr = bound(ctx, zmqx.PULL, endpoint_for(transport, None))
    backend, be_addr = bound(ctx, zmqx.PUSH, endpoint_for(transport, None))
    src = sock(ctx, zmqx.PUSH)
    src.connect(fe_addr)
    dst = sock(ctx, zmqx.PULL)
    dst.connect(be_addr)
    broker = proxy_thread(zmqx.proxy, [frontend, backend], frontend, backend)
    for i in range(3):
        src.send(b"job-%d" % i)
        assert dst.recv() == b"job-%d" % i
    for s in (src, dst):
        s.close()
    term = term_in_thread(ctx)
    broker.finish()
    assert isinstance(broker.exc, zmqx.ContextTerminated), repr(broker.exc)
    term.finish()


def test_xsub_xpub_proxy_forwards_subscriptions_and_captures_them(ctx, ipc_dir):
    xsub, xsub_addr = bound(ctx, zmqx.XSUB, endpoint_for("tcp", ipc_dir))
    xpub, xpub_addr = bound(ctx, zmqx.XPUB, endpoint_for("ipc", ipc_dir))
    capture, cap_addr = bound(ctx, zmqx.PUSH, endpoint_for("inproc", ipc_dir), sndhwm=0)
    tap = sock(ctx, zmqx.PULL, rcvhwm=0)
    tap.connect(cap_addr)
    pub = sock(ctx, zmqx.PUB)
    pub.connect(xsub_addr)
    sub = sock(ctx, zmqx.SUB)
    sub.connect(xpub_addr)
    sub.subscribe(b"A")
    broker = proxy_thread(zmqx.proxy, [xsub, xpub, capture], xsub, xpub, capture)

    # the subscription travels SUB -> XPUB -> proxy -> XSUB -> PUB: publish until it lands
    for i in range(200):
        pub.send(b"B-not-wanted")
        pub.send(b"A-%d" % i)
        if sub.poll(50):
            break
    else:
        pytest.fail("the subscription never reached the publisher")
    first = sub.recv()
    assert first.startswith(b"A-")
    # nothing but A-* ever arrives
    pub.send(b"B-after")
    pub.send(b"A-last")
    rest = []
    while True:
        m = sub.recv()
        rest.append(m)
        if m == b"A-last":
            break
    assert all(m.startswith(b"A-") for m in rest), rest

    captured = []                      # up to A-last, the last message that went through
    while not captured or captured[-1] != [b"A-last"]:
        captured.append(tap.recv_multipart())
    assert [b"\x01A"] in captured, captured[:5]          # the subscription, captured
    assert not any(m[0].startswith(b"B") for m in captured), "unsubscribed data got through"

    for s in (tap, pub, sub):
        s.close()
    term = term_in_thread(ctx)
    broker.finish()
    assert isinstance(broker.exc, zmqx.ContextTerminated), broker.exc
    term.finish()


# ---------------------------------------------------------------- proxy_steerable

def steerable_setup(ctx):
    """src PAIR -> [frontend PAIR | proxy | backend PAIR] -> dst PAIR, control PAIR."""
    frontend, fe_addr = bound(ctx, zmqx.PAIR, endpoint_for("inproc", None))
    backend, be_addr = bound(ctx, zmqx.PAIR, endpoint_for("inproc", None))
    control, ctl_addr = bound(ctx, zmqx.PAIR, endpoint_for("inproc", None))
    ctl = sock(ctx, zmqx.PAIR)
    ctl.connect(ctl_addr)
    src = sock(ctx, zmqx.PAIR)
    src.connect(fe_addr)
    dst = sock(ctx, zmqx.PAIR)
    dst.connect(be_addr)
    broker = proxy_thread(zmqx.proxy_steerable, [frontend, backend, control],
                          frontend, backend, None, control)
    return broker, ctl, src, dst


def test_steerable_pause_holds_messages_until_resume(ctx):
    broker, ctl, src, dst = steerable_setup(ctx)
    src.send(b"before")
    assert dst.recv() == b"before"

    ctl.send(b"PAUSE")
    ctl.send(b"STATISTICS")                     # its reply proves PAUSE was handled
    stats_of(ctl.recv_multipart())
    src.send(b"while-paused")            # in the frontend's (inproc) pipe at once
    # two control round trips: the proxy ran a full loop with the frontend readable in
    # between, and counted nothing new; nothing reached dst
    for _ in range(2):
        ctl.send(b"STATISTICS")
        assert stats_of(ctl.recv_multipart())[0] == 1, "a message went through while paused"
    assert_empty(dst)

    ctl.send(b"RESUME")
    assert dst.recv() == b"while-paused"
    src.send(b"after")
    assert dst.recv() == b"after"

    ctl.send(b"TERMINATE")
    broker.finish()
    assert broker.exc is None


def test_steerable_statistics_counts(ctx):
    broker, ctl, src, dst = steerable_setup(ctx)
    ctl.send(b"STATISTICS")
    assert stats_of(ctl.recv_multipart()) == [0] * 8

    bodies = [b"a", b"bb" * 10, b"", b"c" * 1000]
    for b in bodies:
        src.send(b)
    assert [dst.recv() for _ in bodies] == bodies
    nbytes = sum(len(b) for b in bodies)
    ctl.send(b"STATISTICS")
    fe_in, fe_in_b, fe_out, fe_out_b, be_in, be_in_b, be_out, be_out_b = stats_of(ctl.recv_multipart())
    # frontend received what the backend sent; nothing went the other way
    assert (fe_in, fe_in_b) == (len(bodies), nbytes)
    assert (be_out, be_out_b) == (len(bodies), nbytes)
    assert (fe_out, fe_out_b, be_in, be_in_b) == (0, 0, 0, 0)

    # a multipart message: all its bytes count
    src.send_multipart([b"xy", b"zzz"])
    assert dst.recv_multipart() == [b"xy", b"zzz"]
    ctl.send(b"STATISTICS")
    s = stats_of(ctl.recv_multipart())
    assert s[1] == s[7] == nbytes + 5
    assert s[0] == s[6] and s[0] in (len(bodies) + 1, len(bodies) + 2)   # messages (or frames)

    ctl.send(b"TERMINATE")
    broker.finish()
    assert broker.exc is None


def test_steerable_statistics_both_directions_with_router_dealer(ctx):
    frontend, fe_addr = bound(ctx, zmqx.ROUTER, endpoint_for("inproc", None))
    backend, be_addr = bound(ctx, zmqx.DEALER, endpoint_for("inproc", None))
    control, ctl_addr = bound(ctx, zmqx.PAIR, endpoint_for("inproc", None))
    ctl = sock(ctx, zmqx.PAIR)
    ctl.connect(ctl_addr)
    broker = proxy_thread(zmqx.proxy_steerable, [frontend, backend, control],
                          frontend, backend, None, control)
    client = sock(ctx, zmqx.DEALER, routing_id=b"CLI")
    client.connect(fe_addr)
    worker = sock(ctx, zmqx.DEALER)
    worker.connect(be_addr)
    for k in range(3):
        client.send(b"req%d" % k)
        ident, body = worker.recv_multipart()
        assert (ident, body) == (b"CLI", b"req%d" % k)
        worker.send_multipart([ident, b"rep%d!" % k])
        assert client.recv() == b"rep%d!" % k
    ctl.send(b"STATISTICS")
    s = stats_of(ctl.recv_multipart())
    # requests: in at the frontend, out at the backend; replies the other way
    assert s[0] == s[6] and s[2] == s[4]
    assert s[0] in (3, 6) and s[4] in (3, 6)           # messages (or frames with identity)
    assert s[1] == s[7] == 3 * (3 + 4)                 # b"CLI" + b"reqN"
    assert s[3] == s[5] == 3 * (3 + 5)                 # b"CLI" + b"repN!"
    ctl.send(b"TERMINATE")
    broker.finish()
    assert broker.exc is None


def test_steerable_ignores_unknown_commands_and_keeps_forwarding(ctx):
    broker, ctl, src, dst = steerable_setup(ctx)
    ctl.send(b"BOGUS")
    ctl.send(b"pause")                          # commands are case-sensitive, as in libzmq
    ctl.send(b"STATISTICS")
    assert stats_of(ctl.recv_multipart()) == [0] * 8
    src.send(b"still-forwarded")
    assert dst.recv() == b"still-forwarded"
    assert broker.is_alive()
    ctl.send(b"TERMINATE")
    broker.finish()
    assert broker.exc is None


def test_steerable_statistics_while_paused_and_resume_order(ctx):
    broker, ctl, src, dst = steerable_setup(ctx)
    ctl.send(b"PAUSE")
    ctl.send(b"STATISTICS")
    assert stats_of(ctl.recv_multipart()) == [0] * 8
    for i in range(5):
        src.send(b"held-%d" % i)
    for _ in range(2):                          # nothing counted while held
        ctl.send(b"STATISTICS")
        assert stats_of(ctl.recv_multipart()) == [0] * 8
    assert_empty(dst)
    ctl.send(b"RESUME")
    assert [dst.recv() for _ in range(5)] == [b"held-%d" % i for i in range(5)]
    ctl.send(b"STATISTICS")
    s = stats_of(ctl.recv_multipart())
    assert s[0] == s[6] == 5 and s[1] == s[7] == 5 * 6
    ctl.send(b"TERMINATE")
    broker.finish()
    assert broker.exc is None


def test_steerable_terminate_while_paused_returns(ctx):
    broker, ctl, src, dst = steerable_setup(ctx)
    ctl.send(b"PAUSE")
    ctl.send(b"STATISTICS")
    stats_of(ctl.recv_multipart())
    ctl.send(b"TERMINATE")
    broker.finish()
    assert broker.exc is None


def test_steerable_statistics_match_libzmq_for_single_frame_traffic(ctx):
    zmq = pytest.importorskip("zmq")

    def run(mod, c):
        fe = c.socket(mod.PAIR)
        be = c.socket(mod.PAIR)
        cs = c.socket(mod.PAIR)
        for s in (fe, be, cs):
            s.linger = 0
        fe.bind("inproc://parity-fe")
        be.bind("inproc://parity-be")
        cs.bind("inproc://parity-ctl")
        cc, src, dst = c.socket(mod.PAIR), c.socket(mod.PAIR), c.socket(mod.PAIR)
        for s in (cc, src, dst):
            s.linger = 0
            s.rcvtimeo = WAIT_MS
        cc.connect("inproc://parity-ctl")
        src.connect("inproc://parity-fe")
        dst.connect("inproc://parity-be")

        def body():
            try:
                return mod.proxy_steerable(fe, be, None, cs)
            finally:
                for s in (fe, be, cs):
                    s.close()

        t = Runner(body)
        t.start()
        for i in range(7):
            src.send(b"m" * i)
            assert dst.recv() == b"m" * i
        cc.send(b"STATISTICS")
        stats = stats_of(cc.recv_multipart())
        cc.send(b"TERMINATE")
        t.finish()
        for s in (cc, src, dst):
            s.close()
        return stats, t.exc

    zctx = zmq.Context()
    try:
        theirs = run(zmq, zctx)
    finally:
        zctx.destroy(linger=0)
    ours = run(zmqx, ctx)
    assert ours == theirs
    assert ours[0] == [7, 21, 0, 0, 0, 0, 7, 21]


def _steer_with_rep_control(mod, c):
    """libzmq answers every command on a REP control socket (an empty frame, or the eight
    statistics frames), so a REQ can steer the proxy."""
    fe, be, cs = c.socket(mod.PAIR), c.socket(mod.PAIR), c.socket(mod.REP)
    for s in (fe, be, cs):
        s.linger = 0
    fe.bind("inproc://rep-fe")
    be.bind("inproc://rep-be")
    cs.bind("inproc://rep-ctl")
    cc, src, dst = c.socket(mod.REQ), c.socket(mod.PAIR), c.socket(mod.PAIR)
    for s in (cc, src, dst):
        s.linger = 0
        s.rcvtimeo = WAIT_MS
    cc.connect("inproc://rep-ctl")
    src.connect("inproc://rep-fe")
    dst.connect("inproc://rep-be")

    def body():
        try:
            return mod.proxy_steerable(fe, be, None, cs)
        finally:
            for s in (fe, be, cs):
                s.close()

    t = Runner(body)
    t.start()
    out = []
    try:
        src.send(b"one")
        out.append(dst.recv())
        for cmd in (b"PAUSE", b"STATISTICS", b"RESUME", b"STATISTICS", b"TERMINATE"):
            cc.send(cmd)
            try:
                reply = cc.recv_multipart()
            except mod.Again:
                out.append((cmd, "no reply"))
                break
            out.append((cmd, stats_of(reply) if cmd == b"STATISTICS" else reply))
        t.join(JOIN_S)
        out.append(("returned", not t.is_alive(), repr(t.exc), t.result))
    finally:
        for s in (cc, src, dst):
            s.close()
    return out


def test_steerable_with_a_rep_control_socket_answers_every_command(ctx):
    zmq = pytest.importorskip("zmq")
    zctx = zmq.Context()
    try:
        theirs = _steer_with_rep_control(zmq, zctx)
    finally:
        zctx.destroy(linger=0)
    ours = _steer_with_rep_control(zmqx, ctx)
    assert theirs[1] == (b"PAUSE", [b""])            # what libzmq does
    assert ours == theirs


# ---------------------------------------------------------------- termination

@pytest.mark.parametrize("kind", ["proxy", "proxy-capture", "steerable", "steerable-paused"])
def test_ctx_term_makes_a_blocked_proxy_raise_context_terminated(ctx, kind):
    frontend, fe_addr = bound(ctx, zmqx.ROUTER, endpoint_for("tcp", None))
    backend, be_addr = bound(ctx, zmqx.DEALER, endpoint_for("inproc", None))
    socks = [frontend, backend]
    capture = control = ctl = None
    if kind == "proxy-capture":
        capture = sock(ctx, zmqx.PUB)
        capture.bind(endpoint_for("inproc", None))
        socks.append(capture)
    if kind.startswith("steerable"):
        control, ctl_addr = bound(ctx, zmqx.PAIR, endpoint_for("inproc", None))
        ctl = sock(ctx, zmqx.PAIR)
        ctl.connect(ctl_addr)
        socks.append(control)
        broker = proxy_thread(zmqx.proxy_steerable, socks, frontend, backend, None, control)
    else:
        broker = proxy_thread(zmqx.proxy, socks, frontend, backend, capture)

    # one round trip proves the proxy runs; then it blocks waiting for more
    client = sock(ctx, zmqx.REQ)
    client.connect(fe_addr)
    worker = sock(ctx, zmqx.REP)
    worker.connect(be_addr)
    client.send(b"ping")
    assert worker.recv() == b"ping"
    worker.send(b"pong")
    assert client.recv() == b"pong"
    if kind == "steerable-paused":
        ctl.send(b"PAUSE")
        ctl.send(b"STATISTICS")
        stats_of(ctl.recv_multipart())
    for s in (client, worker, ctl):
        if s is not None:
            s.close()
    assert broker.is_alive()

    ctx.term()            # returns only once the proxy thread closed its sockets
    broker.finish()
    assert isinstance(broker.exc, zmqx.ContextTerminated), repr(broker.exc)
    assert all(s.closed for s in socks)
    assert ctx.closed
