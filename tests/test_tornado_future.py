"""zmqx.eventloop.future: sockets whose calls return tornado Futures at once (helpers
included), on tornado's IOLoop."""

import pytest

import zmqx as zmq

pytest.importorskip("tornado")
from tornado.concurrent import Future  # noqa: E402
from tornado.ioloop import IOLoop  # noqa: E402

from zmqx.eventloop import future  # noqa: E402


@pytest.fixture
def fctx():
    c = future.Context()
    yield c
    c.destroy(linger=0)


def run(coro_fn):
    loop = IOLoop(make_current=False)
    try:
        return loop.run_sync(coro_fn, timeout=20)
    finally:
        loop.close()


def pair(fctx, a=zmq.PUSH, b=zmq.PULL):
    s = fctx.socket(a)
    s.linger = 0
    port = s.bind_to_random_port("tcp://127.0.0.1")
    r = fctx.socket(b)
    r.linger = 0
    r.connect(f"tcp://127.0.0.1:{port}")
    return s, r


def test_classes(fctx):
    s = fctx.socket(zmq.PUSH)
    assert isinstance(s, future.Socket)
    assert isinstance(s, zmq.Socket)
    assert future.Context.instance() is not zmq.Context.instance()
    assert type(future.Context.instance()) is future.Context
    s.close()


def test_recv_and_helpers_return_futures(fctx):
    async def main():
        a, b = pair(fctx)
        f = b.recv_multipart()
        assert isinstance(f, Future) and not f.done()
        await a.send_multipart([b"hi", b"there"])
        assert await f == [b"hi", b"there"]
        fs = b.recv_string()
        fj = b.recv_json()
        fp = b.recv_pyobj()
        assert not (fs.done() or fj.done() or fp.done())
        await a.send_string("πøøπ")
        await a.send_json({"x": [1, 2]})
        await a.send_pyobj({"y": (3,)})
        assert await fs == "πøøπ"
        assert await fj == {"x": [1, 2]}
        assert await fp == {"y": (3,)}
    run(main)


def test_cancelled_helper_leaves_message(fctx):
    async def main():
        a, b = pair(fctx)
        fj = b.recv_json()
        assert fj.cancel()
        f2 = b.recv()
        await a.send(b'{"kept": 1}')
        assert await f2 == b'{"kept": 1}'
        assert fj.cancelled()
    run(main)


def test_serialized_roundtrip_and_errors(fctx):
    import json

    async def main():
        a, b = pair(fctx, zmq.DEALER, zmq.ROUTER)
        await a.send_serialized({"k": 1}, lambda m: [json.dumps(m).encode()])
        got = await b.recv_serialized(lambda frames: (frames[0], json.loads(frames[1])))
        assert got[1] == {"k": 1} and got[0]
        await a.send(b"not json")
        with pytest.raises(json.JSONDecodeError):
            await b.recv_serialized(lambda frames: json.loads(frames[-1]))
    run(main)


def test_poll_and_poller(fctx):
    async def main():
        a, b = pair(fctx)
        assert (await b.poll(timeout=10)) == 0
        p = future.Poller()
        p.register(b, zmq.POLLIN)
        f = p.poll(timeout=5000)
        assert not f.done()
        await a.send(b"x")
        assert await f == [(b, zmq.POLLIN)]
        assert await b.recv() == b"x"
    run(main)


def test_ioloop_close_all_fds_closes_socket(fctx):
    s = fctx.socket(zmq.PUB)
    loop = IOLoop(make_current=False)

    async def attach():
        s._get_loop()

    loop.run_sync(attach)
    loop.close(all_fds=True)
    assert s.closed


def test_closed_socket_leaves_ioloop(fctx):
    async def main():
        a, b = pair(fctx)
        f = b.recv()                   # waits: the socket joins the loop's handlers
        loop = IOLoop.current()
        assert any(obj is b for obj, _ in loop.handlers.values())
        b.close()
        assert not any(obj is b for obj, _ in loop.handlers.values())
        assert f.cancelled()
    run(main)
