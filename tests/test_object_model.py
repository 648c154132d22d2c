"""pyzmq's object model on zmqx: shadows (Socket.shadow / Context.shadow, the shadow=
keyword, `underlying`), the Generic classes (Socket[...] / Context[...]), copies, and the
other object-level behaviours programs written for pyzmq depend on.

Every blocking call is bounded (RCVTIMEO/SNDTIMEO via helpers.sock, poll timeouts)."""

import asyncio
import copy

import pytest

import zmqx
import zmqx.asyncio as zasync
from helpers import WAIT_MS, sock


# ---------------------------------------------------------------- shadows: sockets

def test_shadow_by_address_is_the_same_socket(ctx, endpoint):
    push = sock(ctx, zmqx.PUSH)
    push.bind(endpoint)
    pull = sock(ctx, zmqx.PULL)
    shadow = zmqx.Socket.shadow(pull.underlying)
    assert shadow is not pull
    assert shadow._shadow and not pull._shadow
    assert shadow._shadow_obj == pull.underlying
    assert shadow.underlying == pull.underlying != push.underlying
    assert shadow.context is pull.context
    assert shadow.type == pull.type == zmqx.PULL
    # connect through the shadow, receive from both handles
    shadow.connect(push.get(zmqx.LAST_ENDPOINT).decode())
    push.send(b"one")
    push.send(b"two")
    assert shadow.recv() == b"one"
    assert pull.recv() == b"two"
    # options set on one handle are the other's
    shadow.rcvtimeo = 1234
    assert pull.rcvtimeo == 1234


def test_shadow_of_object_and_positional(ctx):
    a = sock(ctx, zmqx.PAIR)
    b = sock(ctx, zmqx.PAIR)
    a.bind("inproc://shadow-obj")
    s2 = zmqx.Socket.shadow(a)
    s3 = zmqx.Socket(a)
    s4 = zmqx.Socket(shadow=a)
    for s in (s2, s3, s4):
        assert s._shadow_obj is a
        assert s.underlying == a.underlying
    # a shadow of a shadow still designates the live socket
    s5 = zmqx.Socket.shadow(s2)
    assert s5.underlying == a.underlying
    b.connect("inproc://shadow-obj")
    s5.send_multipart([b"x", b"y"])
    assert b.recv_multipart() == [b"x", b"y"]
    b.send(b"back")
    assert s3.poll(WAIT_MS) == zmqx.POLLIN
    assert a.getsockopt(zmqx.EVENTS) & zmqx.POLLIN
    assert s4.recv() == b"back"
    assert not s3.rcvmore


def test_shadow_close_and_lifetime(ctx):
    a = sock(ctx, zmqx.PAIR)
    shadow = zmqx.Socket.shadow(a)
    del shadow          # dropping a shadow does not close the socket
    assert not a.closed
    shadow = zmqx.Socket.shadow(a.underlying)
    shadow.close()      # closing either handle closes the socket
    assert a.closed and shadow.closed
    with pytest.raises(zmqx.ZMQError) as e:
        a.send(b"x")
    assert e.value.errno == zmqx.ENOTSOCK


def test_shadow_of_unknown_address_is_an_error():
    with pytest.raises(zmqx.ZMQError) as e:
        zmqx.Socket.shadow(12345)
    assert e.value.errno == zmqx.EFAULT
    with pytest.raises(zmqx.ZMQError):
        zmqx.Context.shadow(12345)


def test_shadow_in_poller(ctx):
    a = sock(ctx, zmqx.PAIR)
    b = sock(ctx, zmqx.PAIR)
    a.bind("inproc://shadow-poll")
    b.connect("inproc://shadow-poll")
    shadow = zmqx.Socket.shadow(a)
    poller = zmqx.Poller()
    poller.register(shadow, zmqx.POLLIN)
    assert poller.poll(0) == []
    b.send(b"m")
    assert dict(poller.poll(WAIT_MS)) == {shadow: zmqx.POLLIN}
    assert a.recv() == b"m"
    assert poller.poll(0) == []


def test_asyncio_shadow_of_sync_socket(ctx):
    pull = sock(ctx, zmqx.PULL)
    push = sock(ctx, zmqx.PUSH)
    pull.bind("inproc://shadow-async")
    push.connect("inproc://shadow-async")
    for make in (zasync.Socket, zasync.Socket.shadow, zasync.Socket.from_socket):
        a = make(pull)
        assert isinstance(a, zasync.Socket)
        assert a.underlying == pull.underlying and a.type == pull.type

    async def main():
        a = zasync.Socket.from_socket(pull)
        fut = a.recv()
        push.send(b"async")
        return await asyncio.wait_for(fut, WAIT_MS / 1000)

    assert asyncio.run(main()) == b"async"


def test_sync_shadow_of_asyncio_socket():
    actx = zasync.Context()
    try:
        a = actx.socket(zmqx.PAIR)
        a.linger = 0
        a.bind("inproc://async-shadowed")
        peer = sock(actx, zmqx.PAIR)
        peer.connect("inproc://async-shadowed")
        s = zmqx.Socket.shadow(a)
        assert type(s) is zmqx.Socket
        peer.send(b"sync")
        s.rcvtimeo = WAIT_MS
        assert s.recv() == b"sync"         # bytes, not a Future: the shadow's class decides
    finally:
        actx.destroy(linger=0)


def test_copy_is_a_shadow(ctx):
    s = sock(ctx, zmqx.PUB)
    for c in (copy.copy(s), copy.deepcopy(s)):
        assert c is not s and c._shadow
        assert c.underlying == s.underlying
        assert type(c) is type(s)


# ---------------------------------------------------------------- shadows: contexts

def test_context_shadow():
    ctx = zmqx.Context()
    ctx2 = zmqx.Context.shadow(ctx.underlying)
    assert ctx2.underlying == ctx.underlying and ctx2._shadow
    s = ctx2.socket(zmqx.PAIR)
    assert s.context is ctx          # sockets live in the shadowed context
    assert s in ctx._open_sockets()
    s.close()
    del ctx2                          # dropping a shadow does not terminate
    assert not ctx.closed
    ctx3 = zmqx.Context(ctx)
    ctx4 = zmqx.Context(shadow=ctx)
    assert ctx3._shadow_obj is ctx and ctx4._shadow_obj is ctx
    # inproc names are shared: bind through one handle, connect through the other
    a = ctx3.socket(zmqx.PAIR)
    b = ctx4.socket(zmqx.PAIR)
    a.linger = b.linger = 0
    a.bind("inproc://ctx-shadow")
    b.connect("inproc://ctx-shadow")
    a.send(b"x")
    b.rcvtimeo = WAIT_MS
    assert b.recv() == b"x"
    a.close()
    b.close()
    ctx3.set(zmqx.IO_THREADS, 2)
    assert ctx.get(zmqx.IO_THREADS) == 2 == ctx4.io_threads
    ctx.term()
    assert ctx3.closed
    with pytest.raises(zmqx.ZMQError) as e:
        ctx3.socket(zmqx.PUB)
    assert e.value.errno == zmqx.EFAULT


def test_context_copy_is_a_shadow():
    c1 = zmqx.Context()
    for c in (copy.copy(c1), copy.deepcopy(c1)):
        assert c._shadow and c.underlying == c1.underlying
    c3 = copy.deepcopy(copy.copy(c1))
    s = c3.socket(zmqx.PUB)
    s.close()
    c1.term()


def test_asyncio_context_shadow_makes_asyncio_sockets():
    sync = zmqx.Context()
    try:
        actx = zasync.Context.shadow(sync)
        s = actx.socket(zmqx.PULL)
        assert isinstance(s, zasync.Socket)
        assert s.context is sync
        s.close(linger=0)
    finally:
        sync.term()


# ---------------------------------------------------------------- Generic classes

def test_generic_subscripts():
    assert zmqx.Socket[bytes].__origin__ is zmqx.Socket
    assert zmqx.Context[zmqx.Socket].__origin__ is zmqx.Context
    assert zasync.Socket.__mro__.count(zmqx.Socket) == 1
    # a subscripted alias still makes instances of the class
    ctx = zmqx.Context[zmqx.Socket]()
    try:
        s = zmqx.Socket[bytes](ctx, zmqx.PAIR)
        assert type(s) is zmqx.Socket
        s.close()
    finally:
        ctx.term()


# ---------------------------------------------------------------- IO_THREADS 0

def test_io_threads_zero_is_inproc_only():
    ctx = zmqx.Context(io_threads=0)
    try:
        assert ctx.get(zmqx.IO_THREADS) == 0
        a = sock(ctx, zmqx.PAIR)
        b = sock(ctx, zmqx.PAIR)
        a.bind("inproc://no-io")
        b.connect("inproc://no-io")
        a.send(b"ok")
        assert b.recv() == b"ok"
        for call in (a.bind, b.connect):
            with pytest.raises(zmqx.ZMQError) as e:
                call("tcp://127.0.0.1:*" if call == a.bind else "tcp://127.0.0.1:1")
            assert e.value.errno == zmqx.EMTHREAD
        a.send(b"still usable")
        assert b.recv() == b"still usable"
    finally:
        ctx.destroy(linger=0)
    c2 = zmqx.Context()
    c2.set(zmqx.IO_THREADS, 0)
    assert c2.get(zmqx.IO_THREADS) == 0
    with pytest.raises(zmqx.ZMQError) as e:
        c2.set(zmqx.IO_THREADS, -1)
    assert e.value.errno == zmqx.EINVAL
    c2.term()
