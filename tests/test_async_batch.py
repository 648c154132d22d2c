"""zmqx.asyncio's fast path and batch API: Ready (the completed awaitable that calls
finishing at once return), recv_many / recv_multipart_many / send_many.

inproc delivers synchronously into the peer's pipe, so after `send` returns the message is
queued at the receiver: the tests that assert exact batch sizes use inproc. The wire
transports are covered by the ordering tests, which collect until everything arrived."""

import asyncio
import time

import pytest

import zmqx
import zmqx.asyncio as zasync
from zmqx._core.ready import Ready, ready, ready_error
from conftest import endpoint_for
from helpers import assert_elapsed

pytestmark = pytest.mark.timeout(60)

WAIT = 5.0
QUIET = 0.3


def pair(c, endpoint, hwm=1000):
    pull = c.socket(zmqx.PULL)
    push = c.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.sndhwm = s.rcvhwm = hwm
    pull.bind(endpoint)
    push.connect(pull.last_endpoint)
    return pull, push


def inproc():
    return endpoint_for("inproc", None)


# ---------------------------------------------------------------- Ready

def test_ready_behaves_like_a_done_future():
    async def main():
        r = ready(b"v")
        assert r.done() and not r.cancelled() and r.exception() is None
        assert r.result() == b"v"
        assert r.cancel() is False and r.done()
        assert await r == b"v"
        assert await r == b"v", "a Ready can be awaited again, like a done Future"
        # values that StopIteration would take apart (tuples, exceptions) come back whole
        assert await ready((1, 2)) == (1, 2)
        assert await ready(()) == ()
        exc = ValueError("as a value")
        assert await ready(exc) is exc
        assert await ready([b"a"]) == [b"a"]
        assert await asyncio.wait_for(ready(7), WAIT) == 7
        assert await asyncio.gather(ready(1), ready(2)) == [1, 2]
        done, _ = await asyncio.wait([ready(3)], timeout=WAIT)
        assert [d.result() for d in done] == [3]
        seen = asyncio.get_running_loop().create_future()
        r.add_done_callback(seen.set_result)
        assert await asyncio.wait_for(seen, WAIT) is r
        e = ready_error(zmqx.Again())
        assert e.done() and isinstance(e.exception(), zmqx.Again)
        with pytest.raises(zmqx.Again):
            e.result()
        with pytest.raises(zmqx.Again):
            await e

    asyncio.run(main())


def test_queued_recv_and_roomy_send_return_ready(actx):
    async def main():
        pull, push = pair(actx, inproc())
        s = push.send(b"m")
        assert isinstance(s, Ready) and s.result() is None
        f = pull.recv()
        assert isinstance(f, Ready), "a queued message must not need a loop Future"
        assert await f == b"m"
        f = pull.recv()
        assert not isinstance(f, Ready) and not f.done(), "nothing queued: a real Future"
        await push.send(b"n")
        assert await asyncio.wait_for(f, WAIT) == b"n"

    asyncio.run(main())


# ---------------------------------------------------------------- recv_many

def test_recv_many_takes_what_is_queued_up_to_max_in_order(actx):
    async def main():
        pull, push = pair(actx, inproc())
        for i in range(10):
            await push.send(b"%d" % i)
        batches = [await pull.recv_many(max=4) for _ in range(3)]
        assert batches == [[b"0", b"1", b"2", b"3"], [b"4", b"5", b"6", b"7"], [b"8", b"9"]]
        f = pull.recv_many(max=4)
        assert not f.done(), "an empty socket must make recv_many wait"
        for i in range(3):
            push.send(b"w%d" % i)           # all queued before the loop runs the wake-up
        assert await asyncio.wait_for(f, WAIT) == [b"w0", b"w1", b"w2"]
        with pytest.raises(ValueError):
            pull.recv_many(max=0)

    asyncio.run(main())


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_recv_many_over_the_wire_keeps_order_and_limit(actx, transport, ipc_dir):
    N, MAX = 5000, 64

    async def main():
        pull, push = pair(actx, endpoint_for(transport, ipc_dir))

        async def sender():
            for i in range(N):
                await push.send(b"%d" % i)

        st = asyncio.ensure_future(sender())
        got = []
        while len(got) < N:
            batch = await asyncio.wait_for(pull.recv_many(max=MAX), WAIT)
            assert 1 <= len(batch) <= MAX
            got.extend(batch)
        await st
        assert got == [b"%d" % i for i in range(N)]

    asyncio.run(main())


def test_recv_multipart_many(actx):
    async def main():
        pull, push = pair(actx, inproc())
        await push.send_multipart([b"a", b"b"])
        await push.send_multipart([b"c"])
        await push.send_multipart([b"d", b"e", b"f"])
        assert await pull.recv_multipart_many(max=2) == [[b"a", b"b"], [b"c"]]
        assert await pull.recv_multipart_many() == [[b"d", b"e", b"f"]]
        # recv_many is recv() repeated: the frames one by one
        await push.send_multipart([b"x", b"y"])
        assert await pull.recv_many() == [b"x", b"y"]

    asyncio.run(main())


def test_recv_many_copy_false_gives_frames(actx):
    async def main():
        pull, push = pair(actx, inproc())
        await push.send_many([b"p" * 200, b"q"])
        frames = await pull.recv_many(copy=False)
        assert [f.bytes for f in frames] == [b"p" * 200, b"q"]
        assert all(isinstance(f, zmqx.Frame) for f in frames)

    asyncio.run(main())


def test_recv_many_noblock_and_timeout(actx):
    async def main():
        pull, push = pair(actx, inproc())
        f = pull.recv_many(flags=zmqx.NOBLOCK)
        assert f.done(), "NOBLOCK must not wait"
        with pytest.raises(zmqx.Again):
            f.result()
        await push.send_many([b"1", b"2"])
        assert await pull.recv_many(flags=zmqx.NOBLOCK) == [b"1", b"2"]
        t0 = time.monotonic()
        with pytest.raises(zmqx.Again):
            await pull.recv_many(timeout=200)
        assert_elapsed(time.monotonic() - t0, 200, "recv_many timeout")
        pull.rcvtimeo = 150
        t0 = time.monotonic()
        with pytest.raises(zmqx.Again):
            await pull.recv_many()
        assert_elapsed(time.monotonic() - t0, 150, "recv_many RCVTIMEO")
        # a timed-out batch took nothing: the next one gets what comes after
        pull.rcvtimeo = -1
        await push.send(b"after")
        assert await pull.recv_many() == [b"after"]

    asyncio.run(main())


def test_cancelled_recv_many_never_loses_a_message(actx):
    async def main():
        pull, push = pair(actx, inproc())
        f = pull.recv_many()
        assert f.cancel()
        await push.send_many([b"%d" % i for i in range(5)])
        assert await pull.recv_many() == [b"%d" % i for i in range(5)]

        # the race: batches cancelled at random points while messages arrive
        N = 2000
        got = []

        async def sender():
            for i in range(N):
                await push.send(b"%d" % i)
                if i % 7 == 0:
                    await asyncio.sleep(0)

        st = asyncio.ensure_future(sender())
        k = 0
        while len(got) < N:
            k += 1
            f = pull.recv_many(max=50)
            if k % 3 == 0:
                await asyncio.sleep(0)
                if f.cancel():
                    continue
                got.extend(f.result())         # completed before the cancel: it is ours
            else:
                got.extend(await asyncio.wait_for(f, WAIT))
        await st
        assert got == [b"%d" % i for i in range(N)]

    asyncio.run(main())


def test_recv_many_with_async_poller(actx):
    async def main():
        pull, push = pair(actx, inproc())
        poller = zasync.Poller()
        poller.register(pull, zmqx.POLLIN)
        p = poller.poll(int(WAIT * 1000))
        await push.send_many([b"a", b"b", b"c"])
        assert await asyncio.wait_for(p, WAIT) == [(pull, zmqx.POLLIN)]
        assert await pull.recv_many() == [b"a", b"b", b"c"]
        # a pending batch and a poll on the same socket are both served by one message:
        # the poll looks first and reports it, then the batch takes it (the poll does not
        # sit out its timeout because the batch was queued before it)
        f = pull.recv_many()
        p = poller.poll(int(WAIT * 1000))
        await push.send(b"d")
        assert await asyncio.wait_for(f, WAIT) == [b"d"]
        assert await asyncio.wait_for(p, WAIT / 2) == [(pull, zmqx.POLLIN)]

    asyncio.run(main())


# ---------------------------------------------------------------- send_many

def test_send_many_waits_for_room_and_keeps_order(actx):
    async def main():
        pull, push = pair(actx, inproc(), hwm=5)
        msgs = [b"%d" % i for i in range(100)]
        f = push.send_many(msgs)
        assert not f.done(), "HWM 5 cannot take 100 messages at once"
        got = []
        while len(got) < 100:
            got.extend(await asyncio.wait_for(pull.recv_many(max=7), WAIT))
        assert await asyncio.wait_for(f, WAIT) is None
        assert got == msgs

    asyncio.run(main())


def test_send_many_multipart_items(actx):
    async def main():
        pull, push = pair(actx, inproc())
        await push.send_many([[b"a", b"b"], b"c", (b"d", b"e")])
        assert await pull.recv_multipart_many() == [[b"a", b"b"], [b"c"], [b"d", b"e"]]

    asyncio.run(main())


def test_send_many_noblock_sends_a_prefix_then_again(actx):
    async def main():
        pull, push = pair(actx, inproc(), hwm=5)
        f = push.send_many([b"%d" % i for i in range(100)], flags=zmqx.NOBLOCK)
        assert f.done()
        with pytest.raises(zmqx.Again):
            f.result()
        got = await pull.recv_many(max=200)
        assert 1 <= len(got) < 100
        assert got == [b"%d" % i for i in range(len(got))], "a prefix, in order"

    asyncio.run(main())


def test_cancelled_send_many_sends_a_prefix_and_nothing_later(actx):
    async def main():
        pull, push = pair(actx, inproc(), hwm=5)
        msgs = [[b"%d" % i, b"tail"] for i in range(100)]
        f = push.send_many(msgs)
        assert not f.done()
        assert f.cancel()
        got = []
        while True:
            try:
                got.extend(await pull.recv_multipart_many(flags=zmqx.NOBLOCK))
            except zmqx.Again:
                break
        assert 1 <= len(got) < 100
        assert got == msgs[:len(got)], "whole messages, a prefix, in order"
        # nothing more comes once the batch was cancelled, even with room again
        assert await pull.poll(timeout=int(QUIET * 1000)) == 0

    asyncio.run(main())


def test_send_many_timeout(actx):
    async def main():
        push = actx.socket(zmqx.PUSH)       # no peer: no room at all
        push.linger = 0
        push.bind(inproc())
        t0 = time.monotonic()
        with pytest.raises(zmqx.Again):
            await push.send_many([b"x"], timeout=200)
        assert_elapsed(time.monotonic() - t0, 200, "send_many timeout")
        push.close()

    asyncio.run(main())
