"""zmqx.asyncio.Poller must never lose the wake-up of a message that arrives while it is
checking the sockets.

The race (seen as jupyter_client stalling about once in 1500 executes): the Poller's
readiness check used the sync zmq_poll(timeout=0), which arms the socket (has_in), then
polls its signaler fd and drains it if readable, and with no time left returns [] without
looking at the socket again. A message landing between the arm and that drain set the fd
and had it drained at once, so the waker thread, which was to wait on that very fd, slept
through it and poll() returned [] after its full timeout with the message queued.

These tests force that interleaving instead of hoping for it: the registered flags are an
int subclass whose `&` runs a hook after the socket was armed and before the check is over
(both the old and the fixed check compute `events & flags`), and the hook delivers the
message there. The waker thread is held back until poll() has returned its pending future,
so it cannot see the fd before the check had its chance to swallow the signal."""

import asyncio
import select as _select
import threading

import pytest

import zmqx
import zmqx.asyncio as zasync

pytestmark = pytest.mark.timeout(60)

POLL_MS = 2000        # the Poller's timeout: reached only when the wake-up was lost
WAIT = 5.0            # bound for "this must happen"


class _HookFlags(int):
    """POLLIN, but `x & flags` runs `hook` once on the call numbered `fire_on` (from 1)."""

    def __new__(cls, value, hook, fire_on):
        self = int.__new__(cls, value)
        self.hook, self.fire_on, self.calls = hook, fire_on, 0
        return self

    def __rand__(self, other):
        self.calls += 1
        if self.calls == self.fire_on:
            self.hook()
        return int(other) & int(self)

    __and__ = __rand__


class _GatedSelect:
    """Stands in for the select module inside zmqx.asyncio: the waker thread's polls wait
    for `gate` first (the loop thread's own polls, if any, are not held)."""

    POLLIN = _select.POLLIN
    POLLOUT = _select.POLLOUT
    POLLERR = _select.POLLERR
    POLLHUP = _select.POLLHUP
    POLLNVAL = _select.POLLNVAL

    def __init__(self, gate, loop_thread):
        self.gate = gate
        self.loop_thread = loop_thread

    def poll(self):
        real = _select.poll()
        gate, loop_thread = self.gate, self.loop_thread

        class _P:
            def register(self, fd, ev=_select.POLLIN | _select.POLLPRI | _select.POLLOUT):
                real.register(fd, ev)

            def unregister(self, fd):
                real.unregister(fd)

            def poll(self, timeout=None):
                if threading.current_thread() is not loop_thread:
                    assert gate.wait(WAIT), "gate never opened"
                return real.poll(timeout)

        return _P()


@pytest.fixture
def ctx():
    c = zasync.Context()
    yield c
    for s in c._open_sockets():
        s.close(linger=0)
    c.term()


def _pair(ctx, transport):
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    pull.linger = push.linger = 0
    if transport == "inproc":
        ep = "inproc://aiopoll-race"
        pull.bind(ep)
    else:
        pull.bind("tcp://127.0.0.1:*")
        ep = pull.get(zmqx.LAST_ENDPOINT).decode()
    push.connect(ep)
    return push, pull


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
@pytest.mark.parametrize("fire_on", [1, 2, 3])
def test_message_during_check_is_not_lost(ctx, monkeypatch, transport, fire_on):
    """A message that arrives during the Poller's first, second or third readiness check
    (whichever exist) is reported well before the timeout."""
    push, pull = _pair(ctx, transport)
    # the pipe is up: one message through and back out, so the hook's send is not queued
    # behind the connection handshake
    zmqx.Socket.send(push, b"warm-up")
    assert zmqx.Socket.poll(pull, int(WAIT * 1000)) == zmqx.POLLIN
    assert zmqx.Socket.recv(pull, zmqx.NOBLOCK) == b"warm-up"

    delivered = []

    def deliver():
        if delivered:
            return        # one message: a second, sent while the first is queued, wakes nothing
        zmqx.Socket.send(push, b"m")
        # the message is in: the signaler fd is set now, in the middle of the check
        r, _, _ = _select.select([pull._signaler_fd()], [], [], WAIT)
        assert r, "the message never woke the socket's signaler"
        delivered.append(True)

    gate = threading.Event()
    monkeypatch.setattr(zasync, "select", _GatedSelect(gate, threading.current_thread()))
    flags = _HookFlags(zmqx.POLLIN, deliver, fire_on)

    async def main():
        poller = zasync.Poller()
        poller.register(pull, flags)
        loop = asyncio.get_running_loop()
        fut = poller.poll(POLL_MS)
        gate.set()                     # the waker may look at the fds from now on
        if not delivered:
            # the check had fewer calls than fire_on: the message comes after it instead
            deliver()
        t0 = loop.time()
        res = await fut
        return res, loop.time() - t0

    res, elapsed = asyncio.run(main())
    assert delivered
    assert res == [(pull, zmqx.POLLIN)], (
        f"poll() returned {res!r} after {elapsed:.2f}s with a message queued")
    assert elapsed < POLL_MS / 1000.0 / 2
    assert zmqx.Socket.recv(pull, zmqx.NOBLOCK) == b"m"


def test_many_fresh_pollers_never_stall(ctx):
    """The jupyter_client shape, without hooks: a SUB, a PUB sending 3 messages per round
    from another thread, a new Poller and a fresh run_until_complete per round. A lost
    wake-up shows as a poll() that returns [] with the messages already queued. (Before
    the fix this caught the race in four runs of five; the hooked test above
    catches it every time.)"""
    sctx = zmqx.Context()
    try:
        pub = sctx.socket(zmqx.PUB)
        pub.linger = 0
        pub.bind("tcp://127.0.0.1:*")
        sub = ctx.socket(zmqx.SUB)
        sub.linger = 0
        sub.setsockopt(zmqx.SUBSCRIBE, b"")
        sub.connect(pub.get(zmqx.LAST_ENDPOINT).decode())
        # the subscription is through once a message sent after it arrives
        for _ in range(int(WAIT / 0.05)):
            pub.send(b"hello")
            if zmqx.Socket.poll(sub, 50):
                break
        else:
            pytest.fail("the subscription never reached the PUB")
        while True:
            try:
                zmqx.Socket.recv(sub, zmqx.NOBLOCK)
            except zmqx.Again:
                break

        go = threading.Event()
        stop = threading.Event()

        def publisher():
            while not stop.is_set():
                if go.wait(0.5):
                    go.clear()
                    for k in range(3):
                        pub.send(b"m%d" % k)

        th = threading.Thread(target=publisher, daemon=True)
        th.start()
        loop = asyncio.new_event_loop()
        try:
            async def one_round():
                p = zasync.Poller()
                p.register(sub, zmqx.POLLIN)
                go.set()
                got = 0
                while got < 3:
                    if not dict(await p.poll(POLL_MS)):
                        return got
                    assert await sub.recv() == b"m%d" % got
                    got += 1
                return None

            for i in range(3000):
                stalled = loop.run_until_complete(one_round())
                assert stalled is None, f"round {i}: poll() returned [] after {stalled} of 3"
        finally:
            stop.set()
            th.join(WAIT)
            loop.close()
    finally:
        sctx.destroy(linger=0)
