"""pyzmq's object model on zmqx: shadows (Socket.shadow / Context.shadow, the shadow=
keyword, `underlying`), the Generic classes (Socket[...] / Context[...]), copies, and the
other object-level behaviours programs written for pyzmq depend on.

Every blocking call is bounded (RCVTIMEO/SNDTIMEO via helpers.sock, poll timeouts)."""

import asyncio
import copy
import errno
import os
import time

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
    assert s3.rcvmore == 0 and type(s3.rcvmore) is int
    b.send_multipart([b"1", b"2"])
    assert a.recv() == b"1"
    assert a.rcvmore == 1 and type(a.rcvmore) is int and s2.rcvmore == 1
    assert a.recv() == b"2" and a.rcvmore == 0


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


# ---------------------------------------------------------------- bind/connect context managers

def test_bind_and_connect_return_context_managers(ctx):
    a = sock(ctx, zmqx.PUSH)
    b = sock(ctx, zmqx.PULL)
    a.bind("inproc://cm")
    with b.connect("inproc://cm") as c:
        assert c is b
        a.send(b"in")
        assert b.recv() == b"in"
    # disconnected on exit (inproc: at once): nothing routes to b now
    with pytest.raises(zmqx.Again):
        a.send(b"x", zmqx.DONTWAIT)
    # bind to port 0: the context manager holds the endpoint actually bound
    t = sock(ctx, zmqx.PUSH)
    cm = t.bind("tcp://127.0.0.1:0")
    url = t.last_endpoint.decode()
    assert not url.endswith(":0")
    assert repr(cm) == f"<SocketContext(bind={url!r})>"
    with cm as entered:
        assert entered is t
    # unbound on exit: the endpoint is no longer ours (unbinding again is ENOENT)
    with pytest.raises(zmqx.ZMQError) as e:
        t.unbind(url)
    assert e.value.errno == errno.ENOENT
    assert "connect='inproc://x'" in repr(b.connect("inproc://x"))
    # a socket closed inside the block: exiting does nothing
    with ctx.socket(zmqx.PAIR).bind("inproc://cm-closed") as p:
        p.close()


# ---------------------------------------------------------------- repr, dir, attributes

def test_repr_dir_and_type(ctx):
    s = ctx.socket(zmqx.PUSH)
    assert repr(s).startswith("<zmq.Socket(zmq.PUSH) at 0x") and "closed" not in repr(s)
    assert type(s.type) is zmqx.SocketType and s.type == zmqx.PUSH
    assert s.socket_type is s.type
    assert {"send", "IDENTITY", "AFFINITY", "FD"} <= set(dir(s))
    assert repr(ctx) == f"<zmq.Context(1 socket) at {hex(id(ctx))}>"
    assert {"socket", "IO_THREADS"} <= set(dir(ctx))
    s.close()
    assert repr(s).endswith(" closed>")
    assert repr(ctx) == f"<zmq.Context() at {hex(id(ctx))}>"

    class Mine(zmqx.Socket):
        pass

    m = Mine(ctx, zmqx.PAIR)
    assert repr(m).startswith(f"<{__name__}.Mine(zmq.PAIR)")
    m.close()


def test_mock_spec_and_unreadable_options(ctx):
    from unittest import mock

    s = ctx.socket(zmqx.SUB)
    assert not hasattr(s, "subscribe_not_an_option")
    # SUBSCRIBE is write-only: reading it is a missing attribute, not an error
    with pytest.raises(AttributeError):
        s.router_mandatory
    mock.Mock(spec=s)
    mock.Mock(spec=ctx)
    s.close()


def test_subscribe_attribute_assignment_sets_the_option(ctx):
    pub = sock(ctx, zmqx.PUB)
    sub = sock(ctx, zmqx.SUB)
    pub.bind("inproc://sub-attr")
    sub.connect("inproc://sub-attr")
    sub.subscribe = "c"              # the option, not a new attribute hiding the method
    assert callable(sub.subscribe)
    pub.send(b"nope")
    pub.send(b"canary")
    assert sub.recv() == b"canary"
    sub.unsubscribe = b"c"
    sub.subscribe(b"x")
    pub.send(b"canary")
    pub.send(b"xmark")
    assert sub.recv() == b"xmark"


def test_bad_sockopts(ctx):
    s = ctx.socket(zmqx.PUB)
    for call in (lambda: s.setsockopt(9999, 5), lambda: s.getsockopt(9999),
                 lambda: s.setsockopt(zmqx.SUBSCRIBE, b"hi")):
        with pytest.raises(zmqx.ZMQError) as e:
            call()
        assert e.value.errno == zmqx.EINVAL
    with pytest.raises(TypeError):
        s.setsockopt(9999, b"5")       # an unknown option passes through as an int one
    s.linger = 0                        # still usable
    assert s.linger == 0
    s.close()


# ---------------------------------------------------------------- recv_into

def test_recv_into(ctx):
    from array import array

    a = sock(ctx, zmqx.PAIR)
    b = sock(ctx, zmqx.PAIR)
    a.bind("inproc://recv-into")
    b.connect("inproc://recv-into")
    a.send_multipart([b"hello", b"there world", b"part 3", b"rest"])
    buf = array("Q", [0])                      # itemsize 8: nbytes counts bytes
    assert b.recv_into(buf) == 5 and buf.tobytes()[:5] == b"hello"
    buf = bytearray(4)
    assert b.recv_into(buf) == 11 and buf == b"ther"        # truncated: full size returned
    buf = bytearray(10)
    assert b.recv_into(buf, nbytes=4) == 6 and buf == b"part" + bytes(6)
    assert b.rcvmore
    assert b.recv_into(memoryview(bytearray(10))[:0]) == 4   # an empty buffer discards
    assert not b.rcvmore
    with pytest.raises(ValueError):
        b.recv_into(bytearray(10), nbytes=-1)
    with pytest.raises(ValueError):
        b.recv_into(bytearray(10), nbytes=11)
    with pytest.raises(BufferError):
        b.recv_into(memoryview(bytearray(10))[::2])
    with pytest.raises(BufferError):
        b.recv_into(memoryview(b"readonly"))
    with pytest.raises(TypeError):
        b.recv_into(object())
    with pytest.raises(zmqx.Again):
        b.recv_into(bytearray(5), flags=zmqx.DONTWAIT)
    # a large frame (a block, not inline) into a shadow's recv_into
    big = bytes(range(256)) * 1000
    a.send(big)
    out = bytearray(len(big))
    assert zmqx.Socket.shadow(b).recv_into(out) == len(big) and out == big


# ---------------------------------------------------------------- trackers, copy_threshold

def test_tracker_rules(ctx):
    push = sock(ctx, zmqx.PUSH)
    pull = sock(ctx, zmqx.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    pull.close()                         # nobody receives: zero-copy sends stay pending
    push.connect(f"tcp://127.0.0.1:{port}")
    assert push.copy_threshold == zmqx.COPY_THRESHOLD
    # small copy=False sends are copied: the shared finished tracker
    assert push.send(b"small", copy=False, track=True) is zmqx._FINISHED_TRACKER
    assert zmqx._FINISHED_TRACKER.done
    # copy=True sends return None, tracked or not
    assert push.send(b"c", track=True) is None
    push.copy_threshold = 0              # from now on copy=False means zero-copy
    t = push.send_multipart([b"something", b"else"], copy=False, track=True)
    assert isinstance(t, zmqx.MessageTracker) and not t.done
    with pytest.raises(zmqx.NotDone):
        t.wait(0.05)
    # a Frame sends its own tracker; asking to track an untracked Frame is ValueError
    with pytest.raises(ValueError):
        push.send(zmqx.Frame(b"x"), track=True)
    f = zmqx.Frame(b"frame", copy=False, track=True)
    assert push.send(f, copy=False, track=True) is f.tracker
    # a receiver comes: the trackers finish
    pull2 = sock(ctx, zmqx.PULL)
    pull2.bind(f"tcp://127.0.0.1:{port}")
    assert pull2.recv_multipart() == [b"small"]
    assert pull2.recv() == b"c"
    assert pull2.recv_multipart() == [b"something", b"else"]
    assert pull2.recv() == b"frame"
    assert t.wait(WAIT_MS / 1000) is None and t.done


def test_message_tracker_composition():
    import gc
    import threading

    m = zmqx.Frame(b"asdf", copy=False, track=True)
    m2 = zmqx.Frame(b"whoda", copy=False, track=True)
    ev = threading.Event()
    mt = zmqx.MessageTracker(m, m2, ev)
    assert mt.peers == {m.tracker, m2.tracker} and mt.events == {ev}
    assert not mt.done
    del m
    gc.collect()
    assert not mt.done                   # m2 still pins its buffer, ev unset
    del m2
    gc.collect()
    assert not mt.done
    ev.set()
    assert mt.wait(1) is None and mt.done
    with pytest.raises(ValueError):
        zmqx.MessageTracker(zmqx.Frame(b"untracked"))
    with pytest.raises(TypeError):
        zmqx.MessageTracker(object())
    # a copied Frame's tracker is the finished one; a copy of a Frame shares its tracker
    small = zmqx.Frame(b"x", track=True)
    assert small.tracker is zmqx._FINISHED_TRACKER
    assert copy.copy(zmqx.Frame(b"y")).tracker is None


# ---------------------------------------------------------------- Frame semantics

def test_frame_bytes_buffer_repr():
    import sys

    s = b"x" * 100
    f = zmqx.Frame(s, copy=False)
    b = f.bytes
    assert b == s and b is not s and f.bytes is b          # a copy, made once
    view = f.buffer
    assert f.buffer is view and view.tobytes() == s         # the same view while alive
    assert view.readonly                                    # over the caller's bytes
    assert not zmqx.Frame(s).buffer.readonly                # a copy is the frame's own
    rc = sys.getrefcount(f)
    del view
    assert sys.getrefcount(f) == rc - 1                     # no frame <-> view cycle
    assert str(zmqx.Frame(b"")) == "<zmq.Frame(b'')>"
    assert repr(zmqx.Frame(b"123456789")) == "<zmq.Frame(b'123456789')>"
    assert str(zmqx.Frame(b"x" * 20)) == "<zmq.Frame(b'xxxxxxxxxxxx'...20B)>"
    assert str(zmqx.Frame(b"x" * 2000)) == "<zmq.Frame(b'xxxxxxxxxxxx'...2kB)>"
    assert str(zmqx.Frame(b"x" * 2_000_000)) == "<zmq.Frame(b'xxxxxxxxxxxx'...2MB)>"
    assert zmqx.Frame(bytearray(b"ab"), copy=False).buffer.readonly is False
    with pytest.raises(BufferError):
        zmqx.Frame(memoryview(bytearray(10))[::2])


def test_received_frame_buffer_is_writable(ctx, transport, ipc_dir):
    from conftest import endpoint_for

    a = sock(ctx, zmqx.PAIR)
    b = sock(ctx, zmqx.PAIR)
    a.bind(endpoint_for(transport, ipc_dir))
    b.connect(a.last_endpoint.decode())
    for n in (10, 5000, 200_000):
        a.send(memoryview(bytearray(n)), copy=False)
        f = b.recv(copy=False)
        view = memoryview(f)
        if transport != "inproc":
            # zmqx's own memory, as pyzmq's received frames: writable
            assert not view.readonly
            view[0] = 7
            assert f.buffer[0] == 7
        assert len(f.bytes) == n and f.bytes is f.bytes


def test_garbage_refs_follow_zero_copy_holds():
    import gc as pygc
    import sys

    from zmqx.utils.garbage import gc

    assert not gc.refs
    s = b"x" * 1000
    rc = sys.getrefcount(s)
    m = zmqx.Frame(s, copy=False)
    assert sys.getrefcount(s) == rc + 2     # the pinned buffer and the Frame, as pyzmq
    (key, obj), = gc.refs.items()
    assert obj is s
    del obj
    m2 = copy.copy(m)
    del m
    assert key in gc.refs                   # the copy still pins it
    del m2
    pygc.collect()
    assert key not in gc.refs and not gc.refs
    assert sys.getrefcount(s) == rc


# ---------------------------------------------------------------- asyncio helpers

def test_asyncio_helpers_return_futures(ctx):
    async def main():
        actx = zasync.Context.shadow(ctx)
        a = actx.socket(zmqx.PUSH)
        b = actx.socket(zmqx.PULL)
        a.linger = b.linger = 0
        b.bind("inproc://aio-helpers")
        a.connect("inproc://aio-helpers")
        for recv, send, value in ((b.recv_string, a.send_string, "πøøπ"),
                                  (b.recv_json, a.send_json, {"a": 5}),
                                  (b.recv_pyobj, a.send_pyobj, {"b": (1, 2)})):
            f = recv()
            assert isinstance(f, asyncio.Future) and not f.done()
            assert len(b._recv_futures) == 1
            await send(value)
            assert await asyncio.wait_for(f, 5) == value and f.result() == value
        # a cancelled recv_json takes no message
        f = b.recv_json()
        f.cancel()
        await asyncio.sleep(0)
        assert b._recv_futures == []
        await a.send_json({"kept": 1})
        assert await asyncio.wait_for(b.poll(5000), 5) == zmqx.POLLIN
        assert await asyncio.wait_for(b.recv_json(), 5) == {"kept": 1}
        # serialized: a Future of the deserialized value
        await a.send_serialized({"k": 1}, lambda m: [b"hdr", repr(m).encode()])
        got = b.recv_serialized(lambda frames: (frames[0], frames[1].decode()))
        assert await got == (b"hdr", "{'k': 1}")
        # cancelled polls do not pile up
        for _ in range(10):
            p = b.poll(timeout=1000)
            p.cancel()
            await asyncio.sleep(0)
        assert b._recv_futures == [] and not b._waiters
        # recv_into
        buf = bytearray(3)
        fut = b.recv_into(buf)
        await a.send(b"abcdef")
        assert await asyncio.wait_for(fut, 5) == 6 and buf == b"abc"
        with pytest.raises(ValueError):
            await b.recv_into(buf, nbytes=-1)
        with pytest.raises(zmqx.Again):
            await b.recv_into(buf, flags=zmqx.DONTWAIT)
        a.close()
        b.close()

    asyncio.run(main())


# ---------------------------------------------------------------- names

def test_sync_aliases_and_build_dirs():
    import os

    assert zmqx.SyncSocket.__origin__ is zmqx.Socket
    assert zmqx.SyncContext.__origin__ is zmqx.Context
    assert {"SyncSocket", "SyncContext", "get_library_dirs"} <= set(zmqx.__all__)
    pkg = os.path.dirname(os.path.abspath(zmqx.__file__))
    inc = zmqx.get_includes()
    assert inc[0] == os.path.dirname(pkg)
    assert inc[1] == os.path.join(pkg, "_core")
    if not os.environ.get("ZMQX_TEST_INSTALLED"):
        # the Cython declarations exist in a source tree; wheels ship no sources (issue 11)
        assert os.path.exists(os.path.join(inc[1], "msg.pxd"))
    assert zmqx.get_library_dirs() == [pkg]


def test_auth_ioloop_is_the_asyncio_authenticator(ctx):
    import importlib
    import sys
    import warnings

    sys.modules.pop("zmqx.auth.ioloop", None)
    with pytest.warns(DeprecationWarning):
        mod = importlib.import_module("zmqx.auth.ioloop")
    from zmqx.auth.asyncio import AsyncioAuthenticator

    assert issubclass(mod.IOLoopAuthenticator, AsyncioAuthenticator)
    assert mod.IOLoopAuthenticator(ctx).context is ctx
    with pytest.warns(DeprecationWarning):
        mod.IOLoopAuthenticator(ctx, io_loop=object())
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        mod.IOLoopAuthenticator(ctx)


# ---------------------------------------------------------------- socket creation failures

_FD_EXHAUSTION = r"""
import errno, resource, sys
import zmqx
resource.setrlimit(resource.RLIMIT_NOFILE, (48, 48))
ctx = zmqx.Context()
socks = []
try:
    for _ in range(100):
        socks.append(ctx.socket(zmqx.PAIR))
    print("no failure")
    sys.exit(1)
except zmqx.ZMQError as e:
    assert e.errno == errno.EMFILE, e.errno
    made = len(socks)
socks.pop().close()
socks.append(ctx.socket(zmqx.PAIR))          # a freed fd makes room again
a, b = socks[0], socks[1]
a.bind("inproc://still-works")
b.connect("inproc://still-works")
a.send(b"ok")
assert b.recv() == b"ok"
for s in socks:
    s.close()
ctx.term()
print("EMFILE after", made)
"""


def test_out_of_fds_is_emfile_not_memoryerror():
    import subprocess
    import sys

    out = subprocess.run([sys.executable, "-c", _FD_EXHAUSTION], capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("EMFILE after ")


def test_socket_on_terminating_context_is_eterm():
    import threading
    import time

    ctx = zmqx.Context()
    s = ctx.socket(zmqx.PAIR)
    t = threading.Thread(target=ctx.term)
    t.start()
    # term() waits for s; from the moment it starts, new sockets are refused with ETERM
    deadline = time.monotonic() + 5
    with pytest.raises(zmqx.ZMQError) as e:
        while time.monotonic() < deadline:
            ctx.socket(zmqx.PAIR).close()
    assert e.value.errno == zmqx.ETERM
    s.close()
    t.join(5)
    assert not t.is_alive()
    with pytest.raises(zmqx.ZMQError) as e:
        ctx.socket(zmqx.PAIR)
    assert e.value.errno == zmqx.ENOTSUP       # terminated: as pyzmq


# ---------------------------------------------------------------- Frame.get: connection properties

def _props(frame):
    out = {}
    for name in ("Socket-Type", "Identity", "Routing-Id", "Peer-Address", "X-Nope"):
        try:
            out[name] = frame.get(name)
        except zmqx.ZMQError as e:
            assert e.errno == errno.EINVAL
    return out


@pytest.mark.parametrize("peer_lib", ["zmqx", "libzmq"])
def test_frame_get_peer_properties(ctx, zctx, wire_endpoint, peer_lib):
    """Frames from a connection carry the peer's Socket-Type and Identity (its READY), as
    libzmq's zmq_msg_gets; every frame of the message, the ROUTER's id frame too."""
    import zmq

    router = sock(ctx, zmqx.ROUTER)
    router.bind(wire_endpoint)
    url = router.last_endpoint.decode()
    lib, c = (zmqx, ctx) if peer_lib == "zmqx" else (zmq, zctx)
    dealer = c.socket(lib.DEALER)
    dealer.linger = 0
    dealer.setsockopt(lib.ROUTING_ID, b"d\xc3\xa9")
    dealer.connect(url)
    dealer.send_multipart([b"a", b"b"])
    frames = router.recv_multipart(copy=False)
    assert [f.bytes for f in frames] == [b"d\xc3\xa9", b"a", b"b"]
    # the peer's address as libzmq gives it: the IP (tcp), or who the peer process is (ipc)
    if wire_endpoint.startswith("tcp"):
        addr = "127.0.0.1"
    else:
        addr = f"localhost:{os.getuid()}:{os.getgid()}:{os.getpid()}"
    for f in frames:
        assert _props(f) == {"Socket-Type": "DEALER", "Identity": "dé", "Peer-Address": addr}
        assert f["Socket-Type"] == f[b"Socket-Type"] == "DEALER"
        assert copy.copy(f).get("Identity") == "dé"
    # the other way: a ROUTER announces an (empty) Identity, a PUSH none at all
    router.send_multipart([b"d\xc3\xa9", b"back"])
    if peer_lib == "zmqx":
        back = dealer.recv(copy=False)
        assert _props(back) == {"Socket-Type": "ROUTER", "Identity": "", "Peer-Address": addr}
    pull = sock(ctx, zmqx.PULL)
    pull.bind(wire_endpoint if wire_endpoint.startswith("tcp") else wire_endpoint + "-pull")
    push = c.socket(lib.PUSH)
    push.linger = 0
    push.connect(pull.last_endpoint.decode())
    push.send(b"p")
    assert _props(pull.recv(copy=False)) == {"Socket-Type": "PUSH", "Peer-Address": addr}
    dealer.close()
    push.close()


def test_frame_get_inproc_has_no_properties(ctx):
    a = sock(ctx, zmqx.ROUTER)
    b = sock(ctx, zmqx.DEALER, routing_id=b"x")
    a.bind("inproc://props")
    b.connect("inproc://props")
    b.send(b"m")
    assert all(_props(f) == {} for f in a.recv_multipart(copy=False))
    assert zmqx.Frame(b"made here").get(zmqx.MORE) == 0
    with pytest.raises(zmqx.ZMQError):
        zmqx.Frame(b"made here").get("Socket-Type")


def test_frame_get_follows_a_reconnect(ctx):
    """A connecting socket keeps its link across reconnects: frames from the new
    connection report the new peer."""
    server = sock(ctx, zmqx.DEALER, routing_id=b"first")
    port = server.bind_to_random_port("tcp://127.0.0.1")
    client = sock(ctx, zmqx.DEALER)
    client.setsockopt(zmqx.RECONNECT_IVL, 10)
    client.connect(f"tcp://127.0.0.1:{port}")
    server.send(b"1")
    assert client.recv(copy=False).get("Identity") == "first"
    server.close()
    server = sock(ctx, zmqx.ROUTER, routing_id=b"second")
    # the old listener is closed by the I/O thread: bind once the port is free again
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        try:
            server.bind(f"tcp://127.0.0.1:{port}")
            break
        except zmqx.ZMQError as e:
            if e.errno != errno.EADDRINUSE or time.monotonic() > deadline:
                raise
            time.sleep(0.01)
    client.send(b"hello")                     # tells the new server our (empty) id
    rid, _ = server.recv_multipart()
    server.send_multipart([rid, b"2"])
    f = client.recv(copy=False)
    assert f.bytes == b"2"
    assert (f.get("Socket-Type"), f.get("Identity")) == ("ROUTER", "second")
