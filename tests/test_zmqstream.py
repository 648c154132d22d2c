"""zmqx.eventloop.zmqstream.ZMQStream on tornado's IOLoop: callbacks, sends queued with
callbacks, flush, close, the copy flag, over every transport."""

import asyncio
import logging

import pytest

import zmqx as zmq
from zmqx.error import ZMQError

tornado = pytest.importorskip("tornado")
from tornado.ioloop import IOLoop  # noqa: E402

from zmqx.eventloop import ioloop, zmqstream  # noqa: E402

from helpers import bound, connected  # noqa: E402


def run(coro_fn, timeout=20):
    """Run an async test on a fresh tornado IOLoop (asyncio underneath)."""
    loop = IOLoop(make_current=False)
    try:
        return loop.run_sync(coro_fn, timeout=timeout)
    finally:
        loop.close()


async def wait_for(pred, timeout=5.0):
    """Let the loop run until pred() holds (fails after timeout)."""
    async def poll():
        while not pred():
            await asyncio.sleep(0.005)
    await asyncio.wait_for(poll(), timeout)


def pair(ctx, endpoint, a=zmq.PUSH, b=zmq.PULL):
    s, addr = bound(ctx, a, endpoint)
    return zmqstream.ZMQStream(s), zmqstream.ZMQStream(connected(ctx, b, addr))


def test_ioloop_names():
    assert ioloop.IOLoop is IOLoop
    assert ioloop.ZMQIOLoop is IOLoop
    with pytest.warns(DeprecationWarning):
        ioloop.install()


def test_on_recv_and_on_send(ctx, endpoint):
    async def main():
        push, pull = pair(ctx, endpoint)
        got, sent = [], []
        pull.on_recv(got.append)
        push.on_send(lambda msg, status: sent.append((msg, status)))
        assert pull.receiving() and not pull.sending()
        for i in range(300):
            push.send_multipart([b"part", b"%d" % i])
        assert push.sending()       # queued: the loop sends them
        await wait_for(lambda: len(got) == 300)
        assert got == [[b"part", b"%d" % i] for i in range(300)]
        assert [m for m, _ in sent] == [[b"part", b"%d" % i] for i in range(300)]
        assert all(status is None for _, status in sent)
        assert not push.sending()
        push.close()
        pull.close()
        assert push.closed() and pull.closed()
    run(main)


def test_on_recv_stream_copy_false_and_helpers(ctx, endpoint):
    async def main():
        push, pull = pair(ctx, endpoint)
        got = []
        pull.on_recv_stream(lambda stream, msg: got.append((stream, msg)), copy=False)
        done = []
        push.send_string("héllo", callback=lambda msg, status: done.append(msg))
        push.send_json({"a": [1, 2]})
        push.send_pyobj({"b": 3})
        push.send(b"raw")
        await wait_for(lambda: len(got) == 4)
        assert all(stream is pull for stream, _ in got)
        assert all(isinstance(f, zmq.Frame) for _, msg in got for f in msg)
        assert [msg[0].bytes for _, msg in got] == [
            "héllo".encode(), b'{"a": [1, 2]}', __import__("pickle").dumps({"b": 3}), b"raw"]
        # as in pyzmq, a send's callback becomes the stream's on_send callback
        assert [m[0] for m in done] == ["héllo".encode(), b'{"a": [1, 2]}',
                                         __import__("pickle").dumps({"b": 3}), b"raw"]
        with pytest.raises(TypeError):
            push.send_string(b"not str")
        push.close()
        pull.close()
    run(main)


def test_callable_check(ctx):
    async def main():
        s = zmqstream.ZMQStream(ctx.socket(zmq.PULL))
        with pytest.raises(AssertionError):
            s.on_recv(1)
        with pytest.raises(AssertionError):
            s.on_send("x")
        s.close()
    run(main)


def test_stop_on_recv_leaves_messages_in_socket(ctx, endpoint):
    async def main():
        push, pull = pair(ctx, endpoint)
        got = []
        pull.on_recv(got.append)
        push.send(b"one")
        await wait_for(lambda: got == [[b"one"]])
        pull.stop_on_recv()
        assert not pull.receiving()
        push.send(b"two")
        await wait_for(lambda: pull.socket.poll(0) == zmq.POLLIN)
        await asyncio.sleep(0)        # one more loop turn: the stream must not take it
        assert pull.socket.recv(zmq.NOBLOCK) == b"two"
        assert got == [[b"one"]]
        push.close()
        pull.close()
    run(main)


def test_flush_runs_callbacks_now(ctx, endpoint):
    async def main():
        push, pull = pair(ctx, endpoint)
        got = []
        pull.on_recv(got.append)
        sent = []
        push.on_send(lambda msg, status: sent.append(msg))
        for i in range(3):
            push.send(b"%d" % i)
        assert push.socket.poll(5000, zmq.POLLOUT) == zmq.POLLOUT   # connected
        # no loop turn in between: flush sends them itself
        assert push.flush(zmq.POLLOUT) == 3
        assert sent == [[b"0"], [b"1"], [b"2"]]
        assert pull.socket.poll(5000) == zmq.POLLIN
        assert pull.flush(zmq.POLLIN, limit=2) == 2
        assert got == [[b"0"], [b"1"]]
        await wait_for(lambda: len(got) == 3)
        assert got[2] == [b"2"]
        assert pull.flush() == 0
        push.close()
        pull.close()
    run(main)


def test_close_callback_and_closed(ctx):
    async def main():
        s = zmqstream.ZMQStream(ctx.socket(zmq.PULL))
        closed = []
        s.set_close_callback(lambda: closed.append(True))
        sock = s.socket
        s.close(linger=0)
        assert closed == [True]
        assert sock.closed and s.socket is None and s.closed()
        with pytest.raises(OSError):
            s.send(b"x")
        with pytest.raises(OSError):
            s.flush()
        s.close()                      # a second close does nothing
        assert closed == [True]
    run(main)


def test_socket_closed_behind_the_stream(ctx):
    async def main():
        s = zmqstream.ZMQStream(ctx.socket(zmq.PULL))
        s.on_recv(lambda msg: None)
        s.socket.close()
        with pytest.warns(UserWarning, match="after closing socket"):
            assert s.closed()
        assert s.socket is None
    run(main)


def test_send_error_reaches_on_send(ctx, endpoint):
    async def main():
        req, rep = pair(ctx, endpoint, zmq.REP, zmq.REQ)
        # a REP cannot send before it received: the status is the ZMQError
        statuses = []
        req.send(b"x", callback=lambda msg, status: statuses.append(status))
        await wait_for(lambda: statuses)
        assert isinstance(statuses[0], ZMQError) and statuses[0].errno == zmq.EFSM
        req.close()
        rep.close()
    run(main)


def test_callback_errors_are_logged_and_stream_goes_on(ctx, endpoint, caplog):
    async def main():
        push, pull = pair(ctx, endpoint)
        got = []

        def cb(msg):
            got.append(msg)
            if len(got) == 1:
                raise RuntimeError("boom")

        async def acb(msg):
            got.append(msg)
            raise ValueError("async boom")

        pull.on_recv(cb)
        with caplog.at_level(logging.ERROR, logger=zmqstream.gen_log.name):
            push.send(b"1")
            push.send(b"2")
            await wait_for(lambda: len(got) == 2)
            pull.on_recv(acb)
            push.send(b"3")
            await wait_for(lambda: len(got) == 3)
            await wait_for(lambda: caplog.text.count("Uncaught exception") == 2)
        assert got == [[b"1"], [b"2"], [b"3"]]
        push.close()
        pull.close()
    run(main)


def test_async_socket_is_used_as_plain(ctx):
    import zmqx.asyncio

    async def main():
        a = ctx.socket(zmq.PULL, socket_class=zmqx.asyncio.Socket)
        with pytest.warns(RuntimeWarning):
            s = zmqstream.ZMQStream(a)
        addr = s.bind_to_random_port("tcp://127.0.0.1")
        push = ctx.socket(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{addr}")
        got = []
        s.on_recv(got.append)
        push.send(b"plain")
        await wait_for(lambda: got)
        assert got == [[b"plain"]]          # a list, not a Future
        s.close()
        push.close(linger=0)
    run(main)
