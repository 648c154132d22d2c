"""An event loop that used zmqx.asyncio must be freed with its waker's pipe once it is gone."""
import asyncio
import gc
import os
import threading
import weakref

import pytest

import zmqx
import zmqx.asyncio


def _open_fds():
    return len(os.listdir("/proc/self/fd"))


def _settle():
    # a waker thread notices its loop is gone at its next wake-up (<= 200 ms) and only then
    # lets the waker, and with it the pipe, go: wait for those threads to end
    for t in threading.enumerate():
        if t.name == "zmqx-asyncio-waker":
            t.join(5)
            assert not t.is_alive(), "a waker thread outlived its event loop"
    gc.collect()


async def _round_trip(ctx, loops):
    loops.append(weakref.ref(asyncio.get_running_loop()))
    a = ctx.socket(zmqx.PAIR)
    b = ctx.socket(zmqx.PAIR)
    try:
        a.bind("inproc://loops")
        b.connect("inproc://loops")
        pending = asyncio.ensure_future(b.recv())   # waits: the waker watches b
        await asyncio.sleep(0)
        await a.send(b"x")
        assert await asyncio.wait_for(pending, 5) == b"x"
    finally:
        a.close(0)
        b.close(0)


class _NoAddReaderLoop(asyncio.SelectorEventLoop):
    def add_reader(self, *a, **k):
        raise NotImplementedError("add_reader")


@pytest.mark.parametrize("loop_factory", [asyncio.SelectorEventLoop, _NoAddReaderLoop],
                         ids=["direct", "thread"])
def test_loops_and_waker_pipes_are_freed(loop_factory):
    """Both ways of watching: the loop's own readers (which must not keep the loop or the
    sockets alive) and a waker thread with its pipe."""
    ctx = zmqx.asyncio.Context()

    def run(coro):
        with asyncio.Runner(loop_factory=loop_factory) as runner:
            runner.run(coro)

    try:
        loops = []
        run(_round_trip(ctx, loops))                # warm-up: imports, context fds
        _settle()
        base = _open_fds()
        for _ in range(5):
            run(_round_trip(ctx, loops))
        _settle()
        assert [r() for r in loops] == [None] * 6
        assert _open_fds() == base
    finally:
        ctx.term()
