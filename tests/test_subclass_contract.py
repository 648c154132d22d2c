"""pyzmq's subclassing contract: a Socket subclass that overrides send/recv sees every
frame sent or received through the multipart and serialisation helpers; the base class
keeps the Cython multipart path."""

import json
import pickle

import zmqx as zmq
from zmqx._core.socket import Socket as CoreSocket

from helpers import sock  # noqa: E402


class Recording(zmq.Socket):
    sent: list          # declared, as pyzmq requires for a subclass's own attributes
    received: list

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.sent = []
        self.received = []

    def send(self, data, flags=0, copy=True, track=False, **kwargs):
        self.sent.append((bytes(data), int(flags) & zmq.SNDMORE))
        return super().send(data, flags, copy=copy, track=track, **kwargs)

    def recv(self, flags=0, copy=True, track=False):
        m = super().recv(flags, copy=copy, track=track)
        self.received.append(m)
        return m


def pair(ctx):
    a = ctx.socket(zmq.PAIR, socket_class=Recording)
    a.linger = 0
    a.rcvtimeo = 5000
    a.bind("inproc://contract")
    b = ctx.socket(zmq.PAIR, socket_class=Recording)
    b.linger = 0
    b.rcvtimeo = 5000
    b.connect("inproc://contract")
    return a, b


def test_base_class_keeps_fast_path():
    assert zmq.Socket.send_multipart is CoreSocket.send_multipart
    assert zmq.Socket.recv_multipart is CoreSocket.recv_multipart
    assert Recording.send_multipart is not CoreSocket.send_multipart


def test_multipart_goes_through_send_and_recv(ctx):
    a, b = pair(ctx)
    a.send_multipart([b"one", bytearray(b"two"), memoryview(b"three")])
    assert a.sent == [(b"one", zmq.SNDMORE), (b"two", zmq.SNDMORE), (b"three", 0)]
    assert b.recv_multipart() == [b"one", b"two", b"three"]
    assert b.received == [b"one", b"two", b"three"]


def test_helpers_go_through_send_and_recv(ctx):
    a, b = pair(ctx)
    a.send_string("s")
    a.send_json({"j": 1})
    a.send_pyobj([1])
    a.send_serialized({"x": 2}, lambda m: [b"hdr", json.dumps(m).encode()])
    assert [d for d, _ in a.sent] == [b"s", b'{"j": 1}', pickle.dumps([1]), b"hdr", b'{"x": 2}']
    assert b.recv_string() == "s"
    assert b.recv_json() == {"j": 1}
    assert b.recv_pyobj() == [1]
    assert b.recv_serialized(lambda f: (f[0], json.loads(f[1]))) == (b"hdr", {"x": 2})
    assert len(b.received) == 5


def test_multipart_validation_as_base(ctx):
    a, _ = pair(ctx)
    import pytest

    with pytest.raises(TypeError, match="Frame 1"):
        a.send_multipart([b"ok", "not bytes"])
    assert a.sent == []          # nothing went out: the message is all or nothing


def test_own_multipart_override_is_kept():
    class Own(zmq.Socket):
        def send(self, *a, **kw):
            return super().send(*a, **kw)

        def send_multipart(self, parts, *a, **kw):
            return "mine"

    assert Own.send_multipart(None, []) == "mine"
    assert Own.recv_multipart is CoreSocket.recv_multipart


def test_helper_socket_unaffected(ctx):
    s = sock(ctx, zmq.PAIR)
    assert type(s).send_multipart is CoreSocket.send_multipart
