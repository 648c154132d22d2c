"""zmqx.decorators: @context and @socket give a function a Context/socket for one call and
close it afterwards."""

import pytest

import zmqx as zmq
from zmqx.decorators import context, socket


def test_context_positional_and_closed_after():
    seen = []

    @context()
    def f(a, ctx):
        seen.append(ctx)
        assert isinstance(ctx, zmq.Context) and not ctx.closed
        return a * 2

    assert f(21) == 42
    assert seen[0].closed


def test_named_and_socket_uses_callers_context():
    seen = {}

    @context("ctx")
    @socket("push", zmq.PUSH)
    @socket(zmq.PULL, name="pull")
    def f(ctx, push, pull):
        seen.update(ctx=ctx, push=push, pull=pull)
        assert push.context is ctx and pull.context is ctx
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        push.connect(f"tcp://127.0.0.1:{port}")
        push.send(b"hi")
        pull.rcvtimeo = 5000
        return pull.recv()

    assert f() == b"hi"
    assert seen["push"].type == zmq.PUSH and seen["pull"].type == zmq.PULL
    assert seen["push"].closed and seen["pull"].closed and seen["ctx"].closed


def test_socket_default_instance_and_closed_on_error():
    seen = []

    @socket(zmq.PUB)
    def f(s):
        seen.append(s)
        raise RuntimeError("x")

    with pytest.raises(RuntimeError):
        f()
    assert seen[0].context is zmq.Context.instance()
    assert seen[0].closed


def test_socket_finds_context_in_args_and_name_clash():
    ctx = zmq.Context()
    try:
        @socket("s", zmq.PAIR)
        def f(c, s):
            return s.context

        assert f(ctx) is ctx

        @socket("s", zmq.PAIR)
        def g(s):
            return s

        with pytest.raises(TypeError, match="multiple values"):
            g(s=1)
    finally:
        ctx.term()
