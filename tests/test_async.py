"""zmqx.asyncio: Futures for send/recv/poll over inproc, ipc and tcp.

Every test drives its own event loop with asyncio.run (or asyncio.Runner with an explicit
loop factory); no pytest-asyncio. Waits are bounded by asyncio.wait_for, RCVTIMEO or poll
timeouts; "must not happen yet" checks watch for a short QUIET period. Nothing sleeps in
place of synchronisation (asyncio.sleep(0) only yields one loop iteration)."""

import asyncio
import os
import random
import threading
import time

import pytest

import zmqx
import zmqx.asyncio as zasync
from conftest import endpoint_for
from helpers import SMALL_BUFS, assert_elapsed, wire_hwm_bound

pytestmark = pytest.mark.timeout(60)

WAIT = 5.0              # seconds: upper bound for "this must happen" (reached only on failure)
QUIET = 0.3             # seconds: how long a "this must not happen" check watches


# ---------------------------------------------------------------- helpers

def _term_with_deadline(c, timeout=10.0):
    def run():
        for s in c._open_sockets():
            s.close(linger=0)
        c.term()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), "context.term() hung"


@pytest.fixture(autouse=True, params=["direct", "thread"])
def watch_mode(request):
    """Every test runs on the default loop, whose own add_reader watches the sockets, and
    on a loop without add_reader (as Windows' Proactor), where a waker thread does."""
    if request.param == "direct":
        yield request.param
        return
    if request.node.get_closest_marker("needs_add_reader"):
        pytest.skip("pyzmq's asyncio needs a loop with add_reader")
    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(NoAddReaderPolicy())
    try:
        yield request.param
    finally:
        asyncio.set_event_loop_policy(old)


@pytest.fixture
def actx():
    c = zasync.Context()
    yield c
    _term_with_deadline(c)


def asock(c, kind, **opts):
    s = c.socket(kind)
    s.linger = 0
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def pair_of(c, bind_kind, conn_kind, endpoint, **opts):
    """(bound, connected) async sockets; the connect side uses LAST_ENDPOINT."""
    a = asock(c, bind_kind, **opts)
    a.bind(endpoint)
    b = asock(c, conn_kind, **opts)
    b.connect(a.last_endpoint)
    return a, b


async def settle(n=3):
    """Let the loop run a few iterations (not a wait for anything)."""
    for _ in range(n):
        await asyncio.sleep(0)


async def assert_pending(fut, what):
    done, _ = await asyncio.wait({fut}, timeout=QUIET)
    assert not done, f"{what} completed too early: {fut}"


def close_all(*socks):
    for s in socks:
        s.close(linger=0)


# ---------------------------------------------------------------- basic I/O

def test_send_recv_and_multipart_roundtrip(actx, transport, ipc_dir):
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for(transport, ipc_dir))
        router, dealer = pair_of(actx, zmqx.ROUTER, zmqx.DEALER, endpoint_for(transport, ipc_dir))
        try:
            assert await push.send(b"one") is None
            assert await asyncio.wait_for(pull.recv(), WAIT) == b"one"

            await push.send_multipart([b"a", b"", b"c" * 10000])
            assert await asyncio.wait_for(pull.recv_multipart(), WAIT) == [b"a", b"", b"c" * 10000]

            await push.send_string("h\u00e9llo")
            assert await asyncio.wait_for(pull.recv_string(), WAIT) == "h\u00e9llo"
            await push.send_json({"k": [1, 2]})
            assert await asyncio.wait_for(pull.recv_json(), WAIT) == {"k": [1, 2]}
            await push.send_pyobj(("t", 3))
            assert await asyncio.wait_for(pull.recv_pyobj(), WAIT) == ("t", 3)

            # frames of a multipart message stay together through ROUTER/DEALER
            await dealer.send_multipart([b"req", b"body"])
            ident, *rest = await asyncio.wait_for(router.recv_multipart(), WAIT)
            assert rest == [b"req", b"body"]
            await router.send_multipart([ident, b"rep", b"x"])
            assert await asyncio.wait_for(dealer.recv_multipart(), WAIT) == [b"rep", b"x"]

            # copy=False gives Frames over the same bytes
            await push.send(b"frame")
            f = await asyncio.wait_for(pull.recv(copy=False), WAIT)
            assert f.bytes == b"frame"
        finally:
            close_all(pull, push, router, dealer)

    asyncio.run(main())


def test_poll_reports_events(actx, endpoint):
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint)
        try:
            assert await pull.poll(timeout=50) == 0                  # nothing yet
            assert await asyncio.wait_for(push.poll(timeout=int(WAIT * 1000), flags=zmqx.POLLOUT),
                                          WAIT) == zmqx.POLLOUT
            waiting = pull.poll(timeout=int(WAIT * 1000))
            await assert_pending(waiting, "poll on an empty socket")
            await push.send(b"x")
            assert await asyncio.wait_for(waiting, WAIT) == zmqx.POLLIN
            # poll does not consume: the message is still there
            assert await pull.poll(timeout=0) == zmqx.POLLIN
            assert await asyncio.wait_for(pull.recv(), WAIT) == b"x"
            assert await pull.poll(timeout=0) == 0
        finally:
            close_all(pull, push)

    asyncio.run(main())


def test_recv_waiting_before_the_message_completes_when_it_arrives(actx, endpoint):
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint)
        try:
            fut = pull.recv()
            mfut = pull.recv_multipart()
            await assert_pending(fut, "recv on an empty socket")
            assert not mfut.done()
            await push.send(b"first")
            assert await asyncio.wait_for(fut, WAIT) == b"first"
            await assert_pending(mfut, "second recv with one message sent")
            await push.send_multipart([b"sec", b"ond"])
            assert await asyncio.wait_for(mfut, WAIT) == [b"sec", b"ond"]
        finally:
            close_all(pull, push)

    asyncio.run(main())


def test_recv_completes_when_a_message_comes_from_another_thread(actx, transport, ipc_dir):
    """The sender is a plain blocking socket in another thread: only the waker can notice."""
    async def main():
        pull = asock(actx, zmqx.PULL)
        pull.bind(endpoint_for(transport, ipc_dir))
        push = actx.socket(zmqx.PUSH, socket_class=zmqx.Socket)
        push.linger = 0
        push.connect(pull.last_endpoint)
        go = threading.Event()

        def sender():
            go.wait(WAIT)
            push.send_multipart([b"from", b"thread"])

        t = threading.Thread(target=sender)
        t.start()
        try:
            fut = pull.recv_multipart()
            await settle()
            assert not fut.done()
            go.set()
            assert await asyncio.wait_for(fut, WAIT) == [b"from", b"thread"]
        finally:
            go.set()
            t.join(WAIT)
            close_all(pull, push)

    asyncio.run(main())


def test_concurrent_recvs_on_one_socket_are_served_in_call_order(actx, transport, ipc_dir):
    """recv, recv_multipart and poll futures pending together on one socket: each recv
    gets the next message in call order; polls report POLLIN and take nothing."""
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for(transport, ipc_dir))
        try:
            kinds = ["recv", "multipart", "poll"] * 6
            futs = []
            for k in kinds:
                if k == "recv":
                    futs.append(pull.recv())
                elif k == "multipart":
                    futs.append(pull.recv_multipart())
                else:
                    futs.append(pull.poll(timeout=int(WAIT * 1000)))
            await settle()
            assert not any(f.done() for f in futs)
            expected = []
            for i, k in enumerate(kinds):
                if k == "recv":
                    await push.send(b"r%d" % i)
                    expected.append(b"r%d" % i)
                elif k == "multipart":
                    await push.send_multipart([b"m%d" % i, b"x"])
                    expected.append([b"m%d" % i, b"x"])
                else:
                    expected.append(zmqx.POLLIN)
            await push.send(b"for the last poll")
            assert await asyncio.wait_for(asyncio.gather(*futs), WAIT) == expected
            assert await asyncio.wait_for(pull.recv(), WAIT) == b"for the last poll"
            assert await pull.poll(timeout=0) == 0
        finally:
            close_all(pull, push)

    asyncio.run(main())


# ---------------------------------------------------------------- cancellation

@pytest.mark.parametrize("seed", [1, 2, 3])
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_random_cancellation_never_loses_duplicates_or_reorders(actx, transport, ipc_dir, seed):
    """Thousands of messages; ~30% of recv futures are cancelled, right after creation, after
    one loop iteration, or while queued behind/before others. Whatever a future delivered
    (cancel() returned False) counts as received; the rest must still arrive, once, in order."""
    N = 3000
    rng = random.Random(seed)

    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for(transport, ipc_dir))
        got = []
        stats = {"cancelled_pending": 0, "cancel_too_late": 0}
        # the sender sends only what the receiver allows, so the receiver's futures are
        # often pending (and cancelled while pending) when messages arrive
        credit = {"granted": 0}
        more = asyncio.Event()

        def grant(n):
            credit["granted"] = min(N, credit["granted"] + n)
            more.set()

        def need(n):
            # before awaiting: make sure n more messages are allowed beyond what we have
            if credit["granted"] < len(got) + n:
                grant(len(got) + n - credit["granted"] + rng.randint(0, 3))

        def take(fut):
            # the future was cancelled if still pending; if it had already completed, its
            # message is ours
            if fut.cancel():
                stats["cancelled_pending"] += 1
            else:
                stats["cancel_too_late"] += 1
                got.append(int(fut.result()))

        async def sender():
            i = 0
            while i < N:
                while i >= credit["granted"]:
                    more.clear()
                    await more.wait()
                await push.send(b"%d" % i)
                i += 1

        st = asyncio.ensure_future(sender())
        try:
            while len(got) < N:
                if rng.random() < 0.3:
                    grant(rng.randint(1, 4))
                r = rng.random()
                if r < 0.10:                             # cancel right after creation
                    take(pull.recv())
                elif r < 0.20:                           # cancel after a loop iteration
                    f = pull.recv()
                    await asyncio.sleep(0)
                    take(f)
                elif r < 0.30:                           # a batch, a random subset cancelled
                    futs = [pull.recv() for _ in range(rng.randint(2, 6))]
                    await settle(rng.randint(0, 2))
                    doomed = set(rng.sample(range(len(futs)), rng.randint(1, len(futs) - 1)))
                    for k, f in enumerate(futs):
                        if k in doomed:
                            take(f)
                        elif len(got) == N:              # nothing left for this one
                            assert f.cancel(), f"an extra message: {f}"
                        else:
                            need(1)
                            got.append(int(await asyncio.wait_for(f, WAIT)))
                else:                                     # awaited to the end
                    f = pull.recv()
                    need(1)
                    got.append(int(await asyncio.wait_for(f, WAIT)))
            grant(N)
            await asyncio.wait_for(st, WAIT)
            assert got == list(range(N)), (
                "lost, duplicated or reordered: first bad index %d" %
                next(i for i, (a, b) in enumerate(zip(got + [None] * N, range(N))) if a != b))
            # nothing left over: a marker sent now is the next message (asked of the plain
            # socket layer: not what is tested here)
            await asyncio.wait_for(push.send(b"end"), WAIT)
            assert zmqx.Socket.poll(pull, int(WAIT * 1000)) == zmqx.POLLIN
            assert zmqx.Socket.recv(pull, zmqx.NOBLOCK) == b"end"
            assert zmqx.Socket.poll(pull, 0) == 0
            # the cancellation paths were really exercised
            assert stats["cancelled_pending"] > N // 20, stats
            assert stats["cancel_too_late"] > 0, stats
        finally:
            st.cancel()
            close_all(pull, push)

    asyncio.run(main())


def test_cancelled_recv_multipart_leaves_the_whole_message(actx, endpoint):
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint)
        try:
            doomed = pull.recv_multipart()
            keeper = pull.recv_multipart()
            await settle()
            assert doomed.cancel()
            await push.send_multipart([b"1", b"2", b"3"])
            assert await asyncio.wait_for(keeper, WAIT) == [b"1", b"2", b"3"]
        finally:
            close_all(pull, push)

    asyncio.run(main())


# ---------------------------------------------------------------- timeouts and NOBLOCK

def test_rcvtimeo_makes_the_awaited_recv_raise_again(actx, endpoint):
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint)
        pull.rcvtimeo = 100
        try:
            loop = asyncio.get_running_loop()
            t0 = loop.time()
            with pytest.raises(zmqx.Again):
                await asyncio.wait_for(pull.recv(), WAIT)
            assert_elapsed(loop.time() - t0, 100, "RCVTIMEO on an awaited recv")
            with pytest.raises(zmqx.Again):
                await asyncio.wait_for(pull.recv_multipart(), WAIT)
            # the expired futures took nothing: the next message goes to the next recv
            await push.send(b"after")
            pull.rcvtimeo = -1
            assert await asyncio.wait_for(pull.recv(), WAIT) == b"after"
        finally:
            close_all(pull, push)

    asyncio.run(main())


def test_sndtimeo_makes_a_blocked_send_raise_again(actx):
    async def main():
        push = asock(actx, zmqx.PUSH, sndtimeo=100)
        push.bind("inproc://async-sndtimeo-%d" % os.getpid())     # no peer: can't send
        try:
            with pytest.raises(zmqx.Again):
                await asyncio.wait_for(push.send(b"x"), WAIT)
        finally:
            close_all(push)

    asyncio.run(main())


def test_noblock_recv_on_empty_raises_again_immediately(actx, endpoint):
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint)
        try:
            f = pull.recv(zmqx.NOBLOCK)
            assert f.done(), "a NOBLOCK recv must not wait"
            with pytest.raises(zmqx.Again):
                f.result()
            f = pull.recv_multipart(flags=zmqx.NOBLOCK)
            assert f.done()
            with pytest.raises(zmqx.Again):
                f.result()
            await push.send(b"m")
            assert await asyncio.wait_for(pull.recv(), WAIT) == b"m"
        finally:
            close_all(pull, push)

    asyncio.run(main())


@pytest.mark.parametrize("before", ["pending", "cancelled"])
def test_noblock_recv_behind_another_recv_raises_again_immediately(actx, before):
    """pyzmq short-circuits every DONTWAIT call: it never queues behind a pending recv
    (nor behind a recv that was cancelled)."""
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for("inproc", None))
        try:
            earlier = pull.recv()
            if before == "cancelled":
                assert earlier.cancel()
            await settle()
            f = pull.recv(zmqx.NOBLOCK)
            await settle()
            assert f.done(), f"NOBLOCK recv was queued behind a {before} recv instead of failing"
            with pytest.raises(zmqx.Again):
                f.result()
            await push.send(b"m")
            if before == "pending":
                assert await asyncio.wait_for(earlier, WAIT) == b"m"
            else:
                assert await asyncio.wait_for(pull.recv(), WAIT) == b"m"
        finally:
            close_all(pull, push)

    asyncio.run(main())


# ---------------------------------------------------------------- HWM and close

def test_send_blocked_at_hwm_completes_when_the_peer_drains(actx, transport, ipc_dir):
    async def main():
        bufs = {} if transport == "inproc" else SMALL_BUFS
        pull = asock(actx, zmqx.PULL, rcvhwm=1, **bufs)
        pull.bind(endpoint_for(transport, ipc_dir))
        push = asock(actx, zmqx.PUSH, sndhwm=1, **bufs)
        push.connect(pull.last_endpoint)
        body = b"z" * 65536
        try:
            await asyncio.wait_for(push.poll(timeout=int(WAIT * 1000), flags=zmqx.POLLOUT), WAIT)
            sent = 0
            while True:                     # fill every buffer on the way
                try:
                    await push.send(body, zmqx.NOBLOCK)
                except zmqx.Again:
                    break
                sent += 1
                assert sent < 100000, "HWM never reached"
            if transport == "inproc":
                assert sent == 2                    # SNDHWM + RCVHWM
            else:
                assert 1 <= sent <= wire_hwm_bound(1, 1, len(body)), sent
            blocked = push.send(b"last")
            if transport == "inproc":       # no I/O thread: nothing can move until we read
                await assert_pending(blocked, "send at HWM")
            received = 0
            while True:
                msg = await asyncio.wait_for(pull.recv(), WAIT)
                if msg == b"last":
                    break
                assert msg == body
                received += 1
            assert blocked.done() and blocked.exception() is None
            assert received == sent
        finally:
            close_all(pull, push)

    asyncio.run(main())


@pytest.mark.parametrize("kind,peer", [("PUSH", "PULL"), ("DEALER", "ROUTER")])
def test_a_send_queued_before_connect_goes_out_once_connect_makes_a_peer(actx, transport,
                                                                          ipc_dir, kind, peer):
    # connect() attaches the new peer in the calling thread: that attach must wake the
    # socket's own waiters (nothing else will: pyzmq's inproc send stays stuck here)
    async def main():
        receiver = asock(actx, getattr(zmqx, peer))
        receiver.bind(endpoint_for(transport, ipc_dir))
        sender = asock(actx, getattr(zmqx, kind))
        try:
            sent = asyncio.ensure_future(sender.send(b"queued"))
            await assert_pending(sent, "a send with no peer")
            sender.connect(receiver.last_endpoint)
            await asyncio.wait_for(sent, WAIT)
            got = await asyncio.wait_for(receiver.recv_multipart(), WAIT)
            assert got[-1] == b"queued" and len(got) == (2 if peer == "ROUTER" else 1)
        finally:
            close_all(receiver, sender)

    asyncio.run(main())


def test_close_cancels_pending_futures(actx, endpoint):
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint)
        lonely = asock(actx, zmqx.PUSH)
        lonely.bind(endpoint_for("inproc", None))
        try:
            r1 = pull.recv()
            r2 = pull.recv_multipart()
            p = pull.poll(timeout=-1)
            s = lonely.send(b"nowhere")
            await settle()
            assert not any(f.done() for f in (r1, r2, p, s))
            pull.close(linger=0)
            lonely.close(linger=0)
            for f in (r1, r2, p, s):
                with pytest.raises(asyncio.CancelledError):
                    await asyncio.wait_for(f, WAIT)
            assert pull.closed
            # a task awaiting a recv on the closed socket ends too
            with pytest.raises(zmqx.ZMQError):
                await asyncio.wait_for(pull.recv(), WAIT)
        finally:
            close_all(pull, push, lonely)

    asyncio.run(main())


def test_ctx_term_from_another_thread_fails_a_pending_recv(actx):
    """A coroutine waiting in recv when another thread terminates the context gets
    ContextTerminated, closes its socket, and term() returns."""
    async def main():
        pull = asock(actx, zmqx.PULL)
        pull.bind(endpoint_for("tcp", None))
        fut = pull.recv()
        await settle()
        assert not fut.done()
        term = threading.Thread(target=actx.term, daemon=True)
        term.start()
        try:
            with pytest.raises(zmqx.ContextTerminated):
                await asyncio.wait_for(fut, WAIT)
        finally:
            pull.close()
        return term

    term = asyncio.run(main())
    term.join(WAIT)
    assert not term.is_alive() and actx.closed


def test_event_loops_in_several_threads_at_once(actx):
    """Each thread runs its own loop (and so its own waker) over its own sockets."""
    NTHREADS, NMSG = 4, 200
    results, errors = {}, []

    def body(k):
        async def main():
            pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for("inproc", None))
            try:
                async def reader():
                    return [await pull.recv() for _ in range(NMSG)]

                r = asyncio.ensure_future(reader())
                await settle()
                for i in range(NMSG):
                    await push.send(b"%d/%d" % (k, i))
                return await asyncio.wait_for(r, 20)
            finally:
                close_all(pull, push)

        try:
            results[k] = asyncio.run(main())
        except BaseException as e:        # noqa: BLE001
            errors.append(e)

    threads = [threading.Thread(target=body, args=(k,)) for k in range(NTHREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
        assert not t.is_alive()
    assert errors == []
    for k in range(NTHREADS):
        assert results[k] == [b"%d/%d" % (k, i) for i in range(NMSG)]


def test_poll_pollout_waits_for_a_peer(actx):
    async def main():
        push = asock(actx, zmqx.PUSH)
        push.bind(endpoint_for("tcp", None))
        pull = asock(actx, zmqx.PULL)
        try:
            assert await push.poll(timeout=50, flags=zmqx.POLLOUT) == 0
            fut = push.poll(timeout=int(WAIT * 1000), flags=zmqx.POLLOUT)
            await settle()
            assert not fut.done()
            pull.connect(push.last_endpoint)
            assert await asyncio.wait_for(fut, WAIT) == zmqx.POLLOUT
            await push.send(b"x")
            assert await asyncio.wait_for(pull.recv(), WAIT) == b"x"
        finally:
            close_all(push, pull)

    asyncio.run(main())


def test_send_multipart_blocked_at_hwm_is_delivered_whole_and_in_order(actx):
    async def main():
        pull = asock(actx, zmqx.PULL, rcvhwm=1)
        pull.bind(endpoint_for("inproc", None))
        push = asock(actx, zmqx.PUSH, sndhwm=1)
        push.connect(pull.last_endpoint)
        try:
            futs = [push.send_multipart([b"%d" % i, b"a", b"b" * i]) for i in range(20)]
            await settle()
            assert not all(f.done() for f in futs), "HWM never blocked a send"
            got = [await asyncio.wait_for(pull.recv_multipart(), WAIT) for _ in range(20)]
            assert got == [[b"%d" % i, b"a", b"b" * i] for i in range(20)]
            await asyncio.wait_for(asyncio.gather(*futs), WAIT)
        finally:
            close_all(pull, push)

    asyncio.run(main())


# ---------------------------------------------------------------- Poller

def test_async_poller_over_two_sockets_and_a_pipe(actx, endpoint):
    async def main():
        pull1, push1 = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint)
        pull2 = asock(actx, zmqx.PULL)
        pull2.bind(endpoint_for("inproc", None))
        push2 = asock(actx, zmqx.PUSH)
        push2.connect(pull2.last_endpoint)
        r, w = os.pipe()
        poller = zasync.Poller()
        poller.register(pull1, zmqx.POLLIN)
        poller.register(pull2, zmqx.POLLIN)
        poller.register(r, zmqx.POLLIN)
        try:
            t0 = time.monotonic()
            assert await asyncio.wait_for(poller.poll(150), WAIT) == []
            assert_elapsed(time.monotonic() - t0, 150, "async Poller.poll timeout")

            # a pending poll completes when the pipe becomes readable
            fut = poller.poll(int(WAIT * 1000))
            await assert_pending(fut, "poll with nothing ready")
            os.write(w, b"!")
            assert await asyncio.wait_for(fut, WAIT) == [(r, zmqx.POLLIN)]
            assert os.read(r, 10) == b"!"

            # ... and when a socket gets a message
            fut = poller.poll(int(WAIT * 1000))
            await settle()
            assert not fut.done()
            await push2.send(b"two")
            assert await asyncio.wait_for(fut, WAIT) == [(pull2, zmqx.POLLIN)]
            assert await pull2.recv() == b"two"

            fut = poller.poll(int(WAIT * 1000))
            await settle()
            await push1.send(b"one")
            assert await asyncio.wait_for(fut, WAIT) == [(pull1, zmqx.POLLIN)]

            # everything ready at once
            await push2.send(b"two")
            os.write(w, b"!")
            ready = dict(await asyncio.wait_for(poller.poll(int(WAIT * 1000)), WAIT))
            for _ in range(50):            # the three arrive independently
                if len(ready) == 3:
                    break
                ready.update(dict(await asyncio.wait_for(poller.poll(int(WAIT * 1000)), WAIT)))
            assert ready == {pull1: zmqx.POLLIN, pull2: zmqx.POLLIN, r: zmqx.POLLIN}
            assert await pull1.recv() == b"one" and await pull2.recv() == b"two"
            os.read(r, 10)
            assert await asyncio.wait_for(poller.poll(0), WAIT) == []
        finally:
            os.close(r)
            os.close(w)
            close_all(pull1, push1, pull2, push2)

    asyncio.run(main())


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_async_poller_pollout_at_hwm_and_on_connect(actx, transport, ipc_dir):
    async def main():
        push = asock(actx, zmqx.PUSH, sndhwm=1)
        push.bind(endpoint_for(transport, ipc_dir))
        poller = zasync.Poller()
        poller.register(push, zmqx.POLLOUT)
        pull = asock(actx, zmqx.PULL, rcvhwm=1)
        try:
            t0 = time.monotonic()
            assert await asyncio.wait_for(poller.poll(150), WAIT) == []    # no peer
            assert_elapsed(time.monotonic() - t0, 150, "async Poller.poll timeout")
            fut = poller.poll(int(WAIT * 1000))
            await settle()
            assert not fut.done()
            pull.connect(push.last_endpoint)
            assert await asyncio.wait_for(fut, WAIT) == [(push, zmqx.POLLOUT)]
            # fill to the HWM; POLLOUT comes back when the peer reads
            n = 0
            while True:
                try:
                    await push.send(b"x" * 1000, zmqx.NOBLOCK)
                    n += 1
                except zmqx.Again:
                    break
            fut = poller.poll(int(WAIT * 1000))
            if transport == "inproc":
                await assert_pending(fut, "POLLOUT at the HWM")
            for _ in range(n):
                assert await asyncio.wait_for(pull.recv(), WAIT) == b"x" * 1000
            assert await asyncio.wait_for(fut, WAIT) == [(push, zmqx.POLLOUT)]
        finally:
            close_all(push, pull)

    asyncio.run(main())


def test_async_poller_does_not_starve_a_pending_recv_on_the_same_socket(actx):
    """A recv future waiting on a socket and an async Poller over the same socket: the
    Poller must not take the recv's wake-up (it would then wait forever)."""
    async def main():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for("inproc", None))
        try:
            pending = pull.recv()
            await settle()
            poller = zasync.Poller()
            poller.register(pull, zmqx.POLLIN)
            pf = poller.poll(int(QUIET * 1000))
            await settle()
            await push.send(b"hi")
            # whoever looks first: the Poller may see the message, or find it taken
            assert await asyncio.wait_for(pf, WAIT) in ([], [(pull, zmqx.POLLIN)])
            assert await asyncio.wait_for(pending, WAIT) == b"hi"
            await push.send(b"again")
            assert await asyncio.wait_for(pull.recv(), WAIT) == b"again"
        finally:
            close_all(pull, push)

    asyncio.run(main())


@pytest.mark.parametrize("earlier", ["expired", "cancelled"])
def test_recv_after_an_abandoned_recv_and_an_async_poller(actx, earlier):
    """Sequential use: a recv that timed out (RCVTIMEO) or was cancelled, then a message
    arrives and an async Poller reports it, then a recv must complete. (Repeated in fresh
    loops: whether the waker thread sees the fd before the Poller drains it is a race.)"""
    async def once(i):
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for("inproc", None))
        try:
            if earlier == "expired":
                pull.rcvtimeo = 50
                with pytest.raises(zmqx.Again):
                    await asyncio.wait_for(pull.recv(), WAIT)
                pull.rcvtimeo = -1
            else:
                assert pull.recv().cancel()
            poller = zasync.Poller()
            poller.register(pull, zmqx.POLLIN)
            await push.send(b"queued-%d" % i)
            assert await asyncio.wait_for(poller.poll(int(WAIT * 1000)), WAIT) == [(pull, zmqx.POLLIN)]
            try:
                return await asyncio.wait_for(pull.recv(), 2.0)
            except asyncio.TimeoutError:
                return "recv never completed (a message was queued)"
        finally:
            close_all(pull, push)

    for i in range(20):
        assert asyncio.run(once(i)) == b"queued-%d" % i, f"iteration {i}"


# ---------------------------------------------------------------- loops

def _basic_scenario(c, ep):
    async def main():
        pull, push = pair_of(c, zmqx.PULL, zmqx.PUSH, ep)
        rep, req = pair_of(c, zmqx.REP, zmqx.REQ, endpoint_for("inproc", None))
        try:
            fut = pull.recv()
            await settle()
            assert not fut.done()
            await push.send(b"ping")
            out = [await asyncio.wait_for(fut, WAIT)]
            await req.send(b"q")
            await rep.send(await asyncio.wait_for(rep.recv(), WAIT) + b"!")
            out.append(await asyncio.wait_for(req.recv(), WAIT))
            p = zasync.Poller()
            p.register(pull, zmqx.POLLIN)
            pf = p.poll(int(WAIT * 1000))
            await push.send(b"x")
            got = await asyncio.wait_for(pf, WAIT)
            # on failure, say whether the message had come (a lost wake-up) or not (the I/O path)
            assert got == [(pull, zmqx.POLLIN)], (got, "EVENTS", pull.get(zmqx.EVENTS))
            out.append(True)
            out.append(await asyncio.wait_for(pull.recv(), WAIT))
            return out
        finally:
            close_all(pull, push, rep, req)

    return main


EXPECTED_BASIC = [b"ping", b"q!", True, b"x"]


class NoAddReaderLoop(asyncio.SelectorEventLoop):
    """A loop that refuses fd watching (as the Windows Proactor loop does)."""

    def add_reader(self, *a, **k):
        raise NotImplementedError("add_reader")

    def add_writer(self, *a, **k):
        raise NotImplementedError("add_writer")


def _loop_factories():
    out = [pytest.param(asyncio.SelectorEventLoop, id="selector"),
           pytest.param(NoAddReaderLoop, id="no-add-reader")]
    try:
        import uvloop
    except ImportError:
        out.append(pytest.param(None, id="uvloop", marks=pytest.mark.skip("uvloop not installed")))
    else:
        out.append(pytest.param(uvloop.new_event_loop, id="uvloop"))
    return out


@pytest.mark.parametrize("loop_factory", _loop_factories())
def test_basic_scenario_on_other_loops(actx, transport, ipc_dir, loop_factory):
    with asyncio.Runner(loop_factory=loop_factory) as runner:
        out = runner.run(_basic_scenario(actx, endpoint_for(transport, ipc_dir))())
        if loop_factory is NoAddReaderLoop:
            assert isinstance(runner.get_loop(), NoAddReaderLoop)
    assert out == EXPECTED_BASIC


class NoAddReaderPolicy(asyncio.DefaultEventLoopPolicy):
    def new_event_loop(self):
        return NoAddReaderLoop()


def test_basic_scenario_under_a_non_default_loop_policy(actx, transport, ipc_dir):
    """asyncio.run() with a policy installed: the loops it makes refuse add_reader."""
    old = asyncio.get_event_loop_policy()
    asyncio.set_event_loop_policy(NoAddReaderPolicy())
    try:
        seen = []

        async def main():
            seen.append(type(asyncio.get_running_loop()))
            return await _basic_scenario(actx, endpoint_for(transport, ipc_dir))()

        assert asyncio.run(main()) == EXPECTED_BASIC
        assert seen == [NoAddReaderLoop]
    finally:
        asyncio.set_event_loop_policy(old)


def test_socket_keeps_working_in_a_second_event_loop(actx):
    """pyzmq re-registers a socket with whichever loop is running: using it from a second
    asyncio.run must not wait on the first (closed) loop."""
    pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, "inproc://async-loops-%d" % os.getpid())

    async def one(i):
        fut = pull.recv()
        await settle()
        await push.send(b"m%d" % i)
        return await asyncio.wait_for(fut, WAIT)

    try:
        for i in range(3):
            assert asyncio.run(one(i)) == b"m%d" % i
    finally:
        close_all(pull, push)


def test_waker_threads_end_with_their_loops(actx):
    """Per-loop helpers must not outlive the loop: ten asyncio.run calls must not leave ten
    threads (and their pipes) behind."""
    def wakers():
        return {t for t in threading.enumerate() if "asyncio-waker" in t.name}

    before = wakers()

    async def use():
        pull, push = pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for("inproc", None))
        try:
            fut = pull.recv()
            await settle()
            await push.send(b"x")
            assert await asyncio.wait_for(fut, WAIT) == b"x"
        finally:
            close_all(pull, push)

    for _ in range(10):
        asyncio.run(use())
    for t in wakers() - before:
        t.join(WAIT)
    left = wakers() - before
    assert not left, f"{len(left)} waker threads outlived their event loops"


# ---------------------------------------------------------------- many sockets

def test_twenty_req_clients_against_one_router_server(actx, transport, ipc_dir):
    NCLIENTS, NREQ = 20, 10

    async def main():
        router = asock(actx, zmqx.ROUTER)
        router.bind(endpoint_for(transport, ipc_dir))
        addr = router.last_endpoint
        clients = []
        for i in range(NCLIENTS):
            c = asock(actx, zmqx.REQ, routing_id=b"client-%d" % i)
            c.connect(addr)
            clients.append(c)
        seen = []

        async def server():
            for _ in range(NCLIENTS * NREQ):
                ident, empty, body = await router.recv_multipart()
                seen.append(ident)
                assert empty == b""
                await router.send_multipart([ident, b"", body.upper() + b"|" + ident])

        async def client(i, c):
            replies = []
            for k in range(NREQ):
                await c.send(b"req-%d-%d" % (i, k))
                replies.append(await c.recv())
            return replies

        srv = asyncio.ensure_future(server())
        try:
            results = await asyncio.wait_for(
                asyncio.gather(*(client(i, c) for i, c in enumerate(clients))), 30)
            await asyncio.wait_for(srv, WAIT)
            for i, replies in enumerate(results):
                assert replies == [b"REQ-%d-%d|client-%d" % (i, k, i) for k in range(NREQ)]
            assert sorted(set(seen)) == sorted(b"client-%d" % i for i in range(NCLIENTS))
        finally:
            srv.cancel()
            close_all(router, *clients)

    asyncio.run(main())


def test_many_concurrent_coroutines_on_many_pull_sockets(actx, transport, ipc_dir):
    """50 PUSH/PULL pairs, one coroutine each side, all in flight together."""
    NPAIRS, NMSG = 50, 20

    async def main():
        pairs = [pair_of(actx, zmqx.PULL, zmqx.PUSH, endpoint_for(transport, ipc_dir))
                 for _ in range(NPAIRS)]

        async def reader(pull):
            return [await pull.recv() for _ in range(NMSG)]

        async def writer(k, push):
            for i in range(NMSG):
                await push.send(b"%d:%d" % (k, i))

        try:
            readers = [asyncio.ensure_future(reader(p)) for p, _ in pairs]
            await settle()
            await asyncio.gather(*(writer(k, w) for k, (_, w) in enumerate(pairs)))
            out = await asyncio.wait_for(asyncio.gather(*readers), 30)
            for k, msgs in enumerate(out):
                assert msgs == [b"%d:%d" % (k, i) for i in range(NMSG)]
        finally:
            close_all(*(s for p in pairs for s in p))

    asyncio.run(main())


# ---------------------------------------------------------------- parity with pyzmq

def _parity_scenario(zmq, zasyncmod):
    async def main():
        ctx = zasyncmod.Context()
        out = []
        pull = ctx.socket(zmq.PULL)
        push = ctx.socket(zmq.PUSH)
        router = ctx.socket(zmq.ROUTER)
        dealer = ctx.socket(zmq.DEALER)
        for s in (pull, push, router, dealer):
            s.linger = 0
        try:
            pull.bind("tcp://127.0.0.1:*")
            push.connect(pull.last_endpoint)
            router.bind("tcp://127.0.0.1:*")
            dealer.routing_id = b"D1"
            dealer.connect(router.last_endpoint)

            out.append(("poll-empty", await pull.poll(timeout=50)))
            try:
                await pull.recv(zmq.NOBLOCK)
            except zmq.Again:
                out.append(("noblock", "Again"))
            pending = pull.recv()
            await asyncio.sleep(0)
            out.append(("pending-done", pending.done()))
            await push.send(b"a")
            out.append(("pending", await asyncio.wait_for(pending, WAIT)))
            await push.send_multipart([b"x", b"y", b""])
            out.append(("poll", await pull.poll(timeout=int(WAIT * 1000))))
            out.append(("multipart", await pull.recv_multipart()))
            await push.send_string("s\u00fc")
            out.append(("string", await pull.recv_string()))
            pull.rcvtimeo = 50
            try:
                await pull.recv()
            except zmq.Again:
                out.append(("rcvtimeo", "Again"))
            pull.rcvtimeo = -1          # (pyzmq would also apply it to the Poller below)
            c = pull.recv()
            out.append(("cancel", c.cancel(), c.cancelled()))
            await dealer.send_multipart([b"hello", b"world"])
            out.append(("router", await asyncio.wait_for(router.recv_multipart(), WAIT)))
            await router.send_multipart([b"D1", b"back"])
            out.append(("dealer", await asyncio.wait_for(dealer.recv_multipart(), WAIT)))
            poller = zasyncmod.Poller()
            poller.register(pull, zmq.POLLIN)
            poller.register(dealer, zmq.POLLIN)
            out.append(("poller-empty", await poller.poll(50)))
            await push.send(b"p")
            ready = await asyncio.wait_for(poller.poll(int(WAIT * 1000)), WAIT)
            out.append(("poller", [(s is pull, ev) for s, ev in ready]))
            out.append(("after-poller", await asyncio.wait_for(pull.recv(), WAIT)))
            pending = pull.recv()
            pull.close(linger=0)
            await asyncio.sleep(0)
            out.append(("closed-pending-cancelled", pending.cancelled()))
        finally:
            for s in (pull, push, router, dealer):
                s.close(linger=0)
            ctx.term()
        return out

    return asyncio.run(main())


@pytest.mark.needs_add_reader
def test_semantic_parity_with_pyzmq_asyncio():
    zmq = pytest.importorskip("zmq")
    import zmq.asyncio as zmq_asyncio

    ours = _parity_scenario(zmqx, zasync)
    theirs = _parity_scenario(zmq, zmq_asyncio)
    assert ours == theirs
    assert ours[0] == ("poll-empty", 0)
