"""zmqx.asyncio on loops with add_reader (selector loops, uvloop): a socket's wake-up fds
are watched by the loop itself, with no waker thread, and a registration lasts exactly
as long as someone waits (plus one loop turn, so a steady stream keeps it).

Loops without add_reader (the thread mode) are covered in test_async.py and
test_async_loops.py; here the loop counts its add_reader/remove_reader calls."""

import asyncio
import gc
import threading
import weakref

import pytest

import zmqx
import zmqx.asyncio as zasync

pytestmark = pytest.mark.timeout(60)

WAIT = 5.0


class CountingLoop(asyncio.SelectorEventLoop):
    def __init__(self):
        super().__init__()
        self.added = []
        self.removed = []

    def add_reader(self, fd, *a):
        self.added.append(fd)
        return super().add_reader(fd, *a)

    def remove_reader(self, fd):
        self.removed.append(fd)
        return super().remove_reader(fd)

    def watches(self, fd):
        try:
            return self._selector.get_key(fd) is not None
        except KeyError:
            return False


def _wakers():
    return {t for t in threading.enumerate() if t.name == "zmqx-asyncio-waker"}


def _pair(c, name):
    a = c.socket(zmqx.PAIR)
    b = c.socket(zmqx.PAIR)
    a.linger = b.linger = 0
    a.bind("inproc://direct-" + name)
    b.connect("inproc://direct-" + name)
    return a, b


def _run(coro_fn):
    with asyncio.Runner(loop_factory=CountingLoop) as runner:
        return runner.run(coro_fn(runner.get_loop()))


def test_a_wait_uses_the_loops_reader_and_starts_no_thread(actx):
    a, b = _pair(actx, "reader")
    before = _wakers()

    async def main(loop):
        fds = (b._signaler_fd(), b._mailbox_fd())
        fut = b.recv()
        assert not fut.done()
        assert all(loop.watches(fd) for fd in fds)
        await a.send(b"x")
        assert await asyncio.wait_for(fut, WAIT) == b"x"
        return fds

    _run(main)
    assert _wakers() - before == set()


def test_a_steady_stream_registers_once_and_close_lets_go(actx):
    a, b = _pair(actx, "steady")

    async def main(loop):
        fds = {b._signaler_fd(), b._mailbox_fd()}
        for i in range(200):
            fut = b.recv()              # nothing queued: it has to wait every time
            assert not fut.done()
            await a.send(b"%d" % i)
            assert await asyncio.wait_for(fut, WAIT) == b"%d" % i
        registered = [fd for fd in loop.added if fd in fds]
        b.close()
        return registered, [fd for fd in fds if loop.watches(fd)], fds

    registered, still, fds = _run(main)
    assert sorted(registered) == sorted(fds)
    assert still == []


def test_a_registered_socket_waits_through_the_short_cut_and_is_still_heard(actx):
    # once its fds are registered, a wait only puts a callback in the waker's table
    # (ready.pyx _watch_socket): the general watch_socket is not called again; every wait
    # still completes, and a second socket on the same waker keeps its own watch
    a, b = _pair(actx, "shortcut")
    c, d = _pair(actx, "shortcut2")

    async def main(loop):
        waker = zasync._Waker.for_loop(loop)
        calls = []
        general = waker.watch_socket
        waker.watch_socket = lambda sock, *args: (calls.append(sock), general(sock, *args))
        for i in range(100):
            fb, fd = b.recv(), d.recv()
            assert not fb.done() and not fd.done()
            await a.send(b"b%d" % i)
            assert await asyncio.wait_for(fb, WAIT) == b"b%d" % i
            assert not fd.done()
            await c.send(b"d%d" % i)
            assert await asyncio.wait_for(fd, WAIT) == b"d%d" % i
        return calls

    calls = _run(main)
    # the first wait of each socket registers it through the general path, no other does
    assert sorted(id(s) for s in calls) == sorted([id(b), id(d)])
    for s in (a, b, c, d):
        s.close()


def test_a_socket_dropped_without_close_is_collected_and_unregistered(actx):
    a, b = _pair(actx, "dropped")

    async def main(loop):
        fds = (b._signaler_fd(), b._mailbox_fd())
        ref = weakref.ref(b)
        fut = b.recv()
        await a.send(b"x")
        assert await asyncio.wait_for(fut, WAIT) == b"x"
        assert all(loop.watches(fd) for fd in fds)
        return fds, ref

    # the registration must not keep the socket alive
    async def drop(loop):
        nonlocal b
        fds, ref = await main(loop)
        del b
        gc.collect()
        return ref() is None, [fd for fd in fds if loop.watches(fd)]

    collected, still = _run(drop)
    assert collected
    assert still == []


def test_close_while_waiting_removes_the_readers(actx):
    a, b = _pair(actx, "close")

    async def main(loop):
        fds = (b._signaler_fd(), b._mailbox_fd())
        fut = b.recv()
        assert all(loop.watches(fd) for fd in fds)
        b.close()
        assert fut.cancelled()
        return [fd for fd in fds if loop.watches(fd)]

    assert _run(main) == []


def test_a_socket_closed_from_another_thread_is_unregistered_by_the_loop(actx):
    """close() from a non-loop thread hands the release to the loop (the selector is not
    thread-safe); a socket created next, even on the same fd numbers, is heard."""
    async def main(loop):
        heard = 0
        for i in range(20):
            a, b = _pair(actx, "other%d" % i)
            fut = b.recv()
            assert not fut.done()
            fds = (b._signaler_fd(), b._mailbox_fd())
            t = threading.Thread(target=b.close)
            t.start()
            t.join()
            await asyncio.sleep(0)          # one turn: the release runs
            assert [fd for fd in fds if loop.watches(fd)] == []
            c = actx.socket(zmqx.PAIR)
            c.linger = 0
            c.connect("inproc://direct-other%d" % i)
            fut2 = c.recv()
            assert not fut2.done()
            await a.send(b"y")
            assert await asyncio.wait_for(fut2, WAIT) == b"y"
            heard += 1
            a.close()
            c.close()
        return heard

    assert _run(main) == 20


def test_poller_and_recv_on_one_socket_both_complete_in_direct_mode(actx):
    a, b = _pair(actx, "poller")

    async def main(loop):
        poller = zasync.Poller()
        poller.register(b, zmqx.POLLIN)
        pf = asyncio.ensure_future(poller.poll(WAIT * 1000))
        rf = b.recv()
        await asyncio.sleep(0)
        assert not pf.done() and not rf.done()
        await a.send(b"z")
        got = await asyncio.wait_for(rf, WAIT)
        ready = await asyncio.wait_for(pf, WAIT)
        return got, ready

    got, ready = _run(main)
    assert got == b"z"
    # the poll saw the message that the recv then took
    assert ready == [(b, zmqx.POLLIN)]
