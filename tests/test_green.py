"""zmqx.green: blocking calls block only the calling greenlet."""

import time

import pytest

gevent = pytest.importorskip("gevent")

import zmqx  # noqa: E402
import zmqx.green as zmq  # noqa: E402


@pytest.fixture
def gctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def tcp_pair(gctx, a, b):
    s = gctx.socket(a)
    s.linger = 0
    port = s.bind_to_random_port("tcp://127.0.0.1")
    r = gctx.socket(b)
    r.linger = 0
    r.connect(f"tcp://127.0.0.1:{port}")
    return s, r


def test_names():
    assert zmq.Context is zmq._Context and zmq.Socket is zmq._Socket
    assert issubclass(zmq.Socket, zmqx.Socket)
    assert zmq.PUSH == zmqx.PUSH and zmq.Again is zmqx.Again
    assert set(zmqx.__all__) <= set(dir(zmq))


def test_ping_pong_while_another_greenlet_runs(gctx):
    rep, req = tcp_pair(gctx, zmq.REP, zmq.REQ)
    ticks = []
    waiting = gevent.event.Event()

    def ticker():
        waiting.wait()
        while True:
            ticks.append(time.monotonic())
            gevent.sleep(0.001)

    def server():
        for _ in range(50):
            msg = rep.recv_multipart()
            rep.send_multipart(msg + [b"ok"])

    def client():
        out = []
        for i in range(50):
            req.send_multipart([b"ping", b"%d" % i])
            out.append(req.recv_multipart())
        return out

    t = gevent.spawn(ticker)
    s = gevent.spawn(server)
    gevent.sleep(0)          # the server is now blocked in recv, inside its greenlet
    waiting.set()
    n0 = len(ticks)
    gevent.sleep(0.05)       # ... and the ticker still runs: recv did not block the hub
    assert len(ticks) > n0
    c = gevent.spawn(client)
    gevent.joinall([s, c], timeout=10, raise_error=True)
    t.kill()
    assert c.value == [[b"ping", b"%d" % i, b"ok"] for i in range(50)]


def test_router_dealer_multipart_cooperative(gctx):
    router, dealer = tcp_pair(gctx, zmq.ROUTER, zmq.DEALER)
    got = []

    def serve():
        for _ in range(20):
            ident, *body = router.recv_multipart()
            got.append(body)
            router.send_multipart([ident, b"re"] + body)

    def ask():
        return [(dealer.send_multipart([b"a", b"%d" % i]), dealer.recv_multipart())[1]
                for i in range(20)]

    s, c = gevent.spawn(serve), gevent.spawn(ask)
    gevent.joinall([s, c], timeout=10, raise_error=True)
    assert c.value == [[b"re", b"a", b"%d" % i] for i in range(20)]


def test_rcvtimeo_honoured_cooperatively(gctx):
    pull = gctx.socket(zmq.PULL)
    pull.rcvtimeo = 200
    pull.bind("inproc://green-timeo")
    ran = []
    g = gevent.spawn(lambda: ran.append(1))
    t0 = time.monotonic()
    with pytest.raises(zmq.Again):
        pull.recv()
    elapsed = time.monotonic() - t0
    assert 0.19 <= elapsed < 2.0
    assert ran == [1]          # the other greenlet ran while recv waited
    g.join()


def test_send_waits_for_a_peer(gctx):
    push = gctx.socket(zmq.PUSH)
    push.linger = 0
    port = push.bind_to_random_port("tcp://127.0.0.1")
    sender = gevent.spawn(push.send, b"late")     # no peer yet: blocks this greenlet
    gevent.sleep(0.05)
    assert not sender.ready()
    pull = gctx.socket(zmq.PULL)
    pull.linger = 0
    pull.connect(f"tcp://127.0.0.1:{port}")
    assert pull.recv() == b"late"
    sender.join(timeout=5)
    assert sender.successful()


def test_green_poller_and_select(gctx):
    push, pull = tcp_pair(gctx, zmq.PUSH, zmq.PULL)
    poller = zmq.Poller()
    poller.register(pull, zmq.POLLIN)
    assert poller.poll(50) == []
    g = gevent.spawn(poller.poll, 5000)
    gevent.sleep(0.01)
    assert not g.ready()
    push.send(b"x")
    assert g.get(timeout=5) == [(pull, zmq.POLLIN)]
    assert zmq.select([pull], [], [], 1) == ([pull], [], [])
    assert pull.poll(1000) == zmq.POLLIN
    assert pull.recv() == b"x"


def test_term_waits_cooperatively():
    ctx = zmq.Context()
    push = ctx.socket(zmq.PUSH)
    push.linger = 300                      # a message for a peer that never comes
    push.connect("tcp://127.0.0.1:9")     # discard port: nothing listens
    push.send(b"stuck", zmq.NOBLOCK)
    push.close()
    ticks = []
    ticker = gevent.spawn(lambda: [ticks.append(gevent.sleep(0.01)) for _ in range(1000)])
    t0 = time.monotonic()
    term = gevent.spawn(ctx.term)
    term.join(timeout=10)
    elapsed = time.monotonic() - t0
    ticker.kill()
    assert term.successful() and ctx.closed
    assert 0.25 <= elapsed < 5            # it waited for LINGER ...
    assert len(ticks) >= 10               # ... while the other greenlet kept running


def test_timeo_options_warn_that_zmqx_honours_them(gctx):
    # pyzmq's green sockets ignore RCVTIMEO/SNDTIMEO and warn so; zmqx's honour them, and
    # warn so: a pyzmq program may not expect zmq.Again. Once per set/get, not per call
    import warnings
    s = gctx.socket(zmq.PULL)
    s.bind("inproc://green-warn")
    for act in (lambda: setattr(s, "rcvtimeo", 50), lambda: s.sndtimeo,
                lambda: s.setsockopt(zmq.RCVTIMEO, 50), lambda: s.getsockopt(zmq.SNDTIMEO)):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            act()
        assert [x.category for x in w] == [UserWarning]
        assert "honoured" in str(w[0].message)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        s.linger = 0                       # other options: no warning
        with pytest.raises(zmq.Again):     # and the blocking call itself warns nothing
            s.recv()
    assert w == []
    s.close()
