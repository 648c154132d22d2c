"""What zmqx.asyncio's compiled fast path (zmqx/_core/ready.pyx) must keep meaning while it
goes fast: the await of a Ready through its am_send slot, the shared Ready of a send that
completed at once, the direct core calls of recv/send (shadows, draft arguments), and the
compiled recv_many/send_many loops (order, limits, errors left for the next call).

inproc queues a sent message at the receiver before send returns, so the exact counts
below are deterministic."""

import asyncio
import types

import pytest

import zmqx
import zmqx.asyncio as zasync
from zmqx._core.ready import Ready, ready, ready_error
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)


def pair(c, hwm=1000):
    pull = c.socket(zmqx.PULL)
    push = c.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.sndhwm = s.rcvhwm = hwm
    pull.bind(endpoint_for("inproc", None))
    push.connect(pull.last_endpoint)
    return pull, push


# ---------------------------------------------------------------- the await itself

def test_await_returns_every_kind_of_value_whole_and_raises_errors():
    # the am_send slot hands the value back as is: no StopIteration to take a tuple or an
    # exception instance apart
    err = ValueError("kept")

    async def main():
        assert await ready(b"b") == b"b"
        assert await ready(None) is None
        assert await ready((1, 2)) == (1, 2)
        assert await ready(()) == ()
        assert await ready(err) is err          # an exception as a value is a value
        marker = object()
        assert await ready(marker) is marker
        with pytest.raises(ValueError) as ei:
            await ready_error(err)
        assert ei.value is err

    asyncio.run(main())


def test_the_iterator_protocol_still_works_for_code_that_drives_a_ready_by_hand():
    # `yield from x.__await__()` and next() go through tp_iternext, not am_send
    def gen(r):
        return (yield from r.__await__())

    g = gen(ready((3, 4)))
    with pytest.raises(StopIteration) as ei:
        next(g)
    assert ei.value.value == (3, 4)
    with pytest.raises(KeyError):
        next(iter(ready_error(KeyError("k"))))
    # a Ready is still not a coroutine (asyncio.wait refuses coroutines)
    assert not isinstance(ready(1), types.CoroutineType)


def test_results_taken_by_hand_stay_apart_when_the_stopiteration_is_kept():
    # where the interpreter steps the iterator (CPython >= 3.12), one StopIteration is
    # reused for the results; one that the caller still holds must never be rewritten
    caught = []
    for r in (ready(b"one"), ready(b"two"), ready(None), ready((5, 6)), ready(b"three")):
        try:
            next(iter(r))
        except StopIteration as e:
            caught.append(e)
    assert [e.value for e in caught] == [b"one", b"two", None, (5, 6), b"three"]
    assert len({id(e) for e in caught}) == len(caught)
    assert all(e.__traceback__ is None or e.__traceback__.tb_next is None for e in caught)


def test_tasks_gather_and_wait_for_accept_readys():
    async def main():
        assert await asyncio.gather(ready(1), ready((2,)), ready(None)) == [1, (2,), None]
        assert await asyncio.wait_for(ready(b"x"), 1) == b"x"
        t = asyncio.ensure_future(ready([5]))
        assert await t == [5]
        with pytest.raises(OSError):
            await asyncio.ensure_future(ready_error(OSError("e")))

    asyncio.run(main())


# ---------------------------------------------------------------- send/recv fast path

def test_a_send_that_completes_at_once_is_a_done_ready_and_delivers_in_order(actx):
    async def main():
        pull, push = pair(actx)
        rs = [push.send(b"%d" % i) for i in range(50)]
        for r in rs:
            assert isinstance(r, Ready) and r.done() and r.result() is None
            assert await r is None
        got = [await pull.recv() for _ in range(50)]
        assert got == [b"%d" % i for i in range(50)]
        # callbacks run once per registration, with the Ready, as on a done Future
        seen = []
        r = push.send(b"cb")
        r.add_done_callback(seen.append)
        r.add_done_callback(seen.append)
        await asyncio.sleep(0)
        assert seen == [r, r]
        assert await pull.recv() == b"cb"

    asyncio.run(main())


def test_recv_fast_path_returns_bytes_or_frames_and_errors_as_readys(actx):
    async def main():
        pull, push = pair(actx)
        await push.send(b"a")
        await push.send(b"b")
        r = pull.recv()
        assert isinstance(r, Ready) and await r == b"a"
        f = await pull.recv(copy=False)
        assert isinstance(f, zmqx.Frame) and f.bytes == b"b"
        # NOBLOCK on an empty socket: a done Ready that raises Again, no Future
        r = pull.recv(zmqx.NOBLOCK)
        assert isinstance(r, Ready)
        with pytest.raises(zmqx.Again):
            await r
        # a type error from the core comes back through the Ready too
        r = push.send("text")
        with pytest.raises(TypeError):
            await r
        # and the socket is still usable
        await push.send(b"c")
        assert await pull.recv() == b"c"

    asyncio.run(main())


def test_fast_path_through_a_shadow_reaches_the_live_socket():
    ctx = zmqx.Context()
    live_pull, live_push = pair(ctx)

    async def main():
        pull = zasync.Socket.shadow(live_pull)
        push = zasync.Socket.shadow(live_push)
        await push.send(b"via-shadow")
        assert live_pull.recv(zmqx.NOBLOCK) == b"via-shadow"
        live_push.send(b"to-shadow")
        assert await pull.recv() == b"to-shadow"
        await push.send_many([b"1", b"2", b"3"])
        assert await pull.recv_many(10) == [b"1", b"2", b"3"]

    try:
        asyncio.run(main())
    finally:
        ctx.destroy(linger=0)


def test_send_routing_id_and_group_are_honoured_not_dropped(actx):
    async def main():
        ep = endpoint_for("inproc", None)
        srv = actx.socket(zmqx.SERVER)
        cli = actx.socket(zmqx.CLIENT)
        for s in (srv, cli):
            s.linger = 0
        srv.bind(ep)
        cli.connect(ep)
        await cli.send(b"hello")
        f = await srv.recv(copy=False)
        rid = f.routing_id
        assert rid
        await srv.send(b"reply", routing_id=rid)
        assert await asyncio.wait_for(cli.recv(), 5) == b"reply"
        # a routing id no peer has: EHOSTUNREACH, as the blocking send
        with pytest.raises(zmqx.ZMQError) as ei:
            await srv.send(b"x", routing_id=rid + 1000)
        assert ei.value.errno == zmqx.EHOSTUNREACH
        # an unknown keyword is a TypeError, as pyzmq's send
        with pytest.raises(TypeError):
            cli.send(b"x", no_such_option=1)

        radio = actx.socket(zmqx.RADIO)
        dish = actx.socket(zmqx.DISH)
        for s in (radio, dish):
            s.linger = 0
        ep2 = endpoint_for("inproc", None)
        dish.bind(ep2)
        dish.join("g1")
        radio.connect(ep2)
        # RADIO drops what no joined DISH is known for yet: send both groups until the join
        # has reached it; only g1's messages may ever arrive
        for _ in range(500):
            await radio.send(b"other", group="g2")
            await radio.send(b"mine", group="g1")
            if await dish.poll(10):
                break
        f = await dish.recv(copy=False)
        assert (f.bytes, f.group) == (b"mine", "g1")

    asyncio.run(main())


# ---------------------------------------------------------------- compiled batch loops

def test_recv_many_takes_exactly_what_is_queued_up_to_max_in_order(actx):
    async def main():
        pull, push = pair(actx)
        for i in range(10):
            await push.send(b"%d" % i)
        assert await pull.recv_many(4) == [b"0", b"1", b"2", b"3"]
        frames = await pull.recv_many(100, copy=False)
        assert [f.bytes for f in frames] == [b"%d" % i for i in range(4, 10)]
        with pytest.raises(zmqx.Again):
            await pull.recv_many(5, zmqx.NOBLOCK)
        await push.send_multipart([b"a", b"b"])
        await push.send_multipart([b"c"])
        assert await pull.recv_multipart_many(10) == [[b"a", b"b"], [b"c"]]

    asyncio.run(main())


def test_send_many_stops_at_the_hwm_and_goes_on_from_there(actx):
    async def main():
        pull, push = pair(actx, hwm=5)
        msgs = [b"m%d" % i for i in range(30)]
        # NOBLOCK: a prefix goes out, then Again
        with pytest.raises(zmqx.Again):
            await push.send_many(msgs, zmqx.NOBLOCK)
        first = await pull.recv_many(1000)
        assert first == msgs[:len(first)] and 0 < len(first) < 30
        # a waiting send_many finishes while the reader drains, in order, nothing twice
        fut = push.send_many(msgs)
        got = []
        while len(got) < 30:
            got += await pull.recv_many(1000)
        await fut
        assert got == msgs
        # an item of the wrong type fails there: what came before it went out
        with pytest.raises(TypeError):
            await push.send_many([b"ok", "text", b"never"])
        assert await pull.recv_many(10) == [b"ok"]
        with pytest.raises(zmqx.Again):
            await pull.recv_many(10, zmqx.NOBLOCK)

    asyncio.run(main())


# ---------------------------------------------------------------- the compiled wait path

def test_a_wait_times_out_by_the_live_sockets_option_read_at_each_wait():
    # enqueue reads RCVTIMEO/SNDTIMEO from the live socket's C options when the future is
    # queued: a shadow waits by the live socket's setting, and a change applies to the next
    # wait
    from helpers import assert_elapsed

    ctx = zmqx.Context()
    live_pull, live_push = pair(ctx, hwm=1)

    async def main():
        loop = asyncio.get_running_loop()
        pull = zasync.Socket.shadow(live_pull)
        for ms, what in ((100, "a shadow's recv, RCVTIMEO of the live socket"),
                         (200, "the next wait, after RCVTIMEO changed")):
            live_pull.rcvtimeo = ms
            t0 = loop.time()
            with pytest.raises(zmqx.Again):
                await pull.recv()
            assert_elapsed(loop.time() - t0, ms, what)
        live_pull.rcvtimeo = -1
        fut = asyncio.ensure_future(pull.recv())
        await asyncio.sleep(0)
        assert not fut.done()          # queued: no timeout now
        live_push.send(b"late")
        assert await asyncio.wait_for(fut, 5) == b"late"
        # SNDTIMEO the same way: the peer's pipe holds one message (HWM 1 on both ends)
        push = zasync.Socket.shadow(live_push)
        live_push.sndtimeo = 100
        t0 = None
        for i in range(10):
            t0 = loop.time()
            try:
                await push.send(b"fill%d" % i)
            except zmqx.Again:
                break
        else:
            pytest.fail("ten sends fitted under HWM 1")
        assert_elapsed(loop.time() - t0, 100, "a shadow's send, SNDTIMEO of the live socket")

    try:
        asyncio.run(main())
    finally:
        ctx.destroy(linger=0)


def test_a_waiting_send_and_a_waiting_recv_are_served_independently(actx):
    # on_ready keeps a blocked receive from holding back a send queued after it (and the
    # other way round): a DEALER with no peer yet waits to send and to receive at once
    async def main():
        dealer = actx.socket(zmqx.DEALER)
        router = actx.socket(zmqx.ROUTER)
        for s in (dealer, router):
            s.linger = 0
        ep = endpoint_for("inproc", None)
        recv = asyncio.ensure_future(dealer.recv())
        send = asyncio.ensure_future(dealer.send(b"hello"))
        second = asyncio.ensure_future(dealer.send(b"again"))
        await asyncio.sleep(0)
        assert not recv.done() and not send.done() and not second.done()
        router.bind(ep)
        dealer.connect(ep)
        await asyncio.wait_for(asyncio.gather(send, second), 5)
        assert not recv.done()          # the sends went out while the recv still waits
        ident, body = await router.recv_multipart()
        assert body == b"hello"
        assert (await router.recv_multipart())[1] == b"again"
        await router.send_multipart([ident, b"reply"])
        assert await asyncio.wait_for(recv, 5) == b"reply"

    asyncio.run(main())
