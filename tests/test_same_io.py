"""A tcp/ipc connection whose two ends are sessions of one I/O thread (both sockets in one
context with one I/O thread) is recognised as such: Socket.stats() says so per peer, and
its writes go in short rounds (io_engine.pxi, WRITE_LOCAL_MAX). The rounds change only
pacing, so here: the recognition, and that everything still arrives whole and in order."""

import random
import threading

import pytest

import zmqx
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)


def _flags(sock):
    return [p["same_io_thread"] for p in sock.stats()["peers"]]


def _connected_pair(bind_ctx, conn_ctx, endpoint, kinds=(zmqx.PAIR, zmqx.PAIR)):
    a = bind_ctx.socket(kinds[0])
    a.linger = 0
    a.bind(endpoint)
    b = conn_ctx.socket(kinds[1])
    b.linger = 0
    b.connect(a.last_endpoint)
    return a, b


def _exchange(a, b):
    # a round trip: both handshakes are done and both sessions active
    b.send(b"ping")
    assert a.poll(5000)
    assert a.recv() == b"ping"
    a.send(b"pong")
    assert b.poll(5000)
    assert b.recv() == b"pong"


def test_both_ends_in_one_context_are_recognised(ctx, wire_endpoint):
    a, b = _connected_pair(ctx, ctx, wire_endpoint)
    _exchange(a, b)
    assert _flags(a) == [True]
    assert _flags(b) == [True]


def test_ends_in_two_contexts_are_not(ctx, ctx2, wire_endpoint):
    a, b = _connected_pair(ctx, ctx2, wire_endpoint)
    _exchange(a, b)
    assert _flags(a) == [False]
    assert _flags(b) == [False]


def test_a_libzmq_peer_in_this_process_is_not_ours(ctx):
    zmq = pytest.importorskip("zmq")
    pctx = zmq.Context()
    try:
        p = pctx.socket(zmq.PAIR)
        p.linger = 0
        a = ctx.socket(zmqx.PAIR)
        a.linger = 0
        a.bind(endpoint_for("tcp", None))
        p.connect(a.last_endpoint.decode())
        p.send(b"ping")
        assert a.poll(5000)
        assert a.recv() == b"ping"
        assert _flags(a) == [False]
        p.close()
    finally:
        pctx.term()


def test_one_context_one_thread_among_other_connections(ctx, ctx2):
    """Only the pair is marked: a second connection of the same bound socket, from another
    context, is not."""
    a = ctx.socket(zmqx.ROUTER)
    a.linger = 0
    a.bind(endpoint_for("tcp", None))
    near = ctx.socket(zmqx.DEALER)
    far = ctx2.socket(zmqx.DEALER)
    for s, rid in ((near, b"near"), (far, b"far")):
        s.linger = 0
        s.routing_id = rid
        s.connect(a.last_endpoint)
        s.send(b"hello")
    got = set()
    while len(got) < 2:
        assert a.poll(5000)
        rid, msg = a.recv_multipart()
        got.add(rid)
    by_rid = {p["routing_id"]: p["same_io_thread"] for p in a.stats()["peers"]}
    assert by_rid == {b"near": True, b"far": False}
    assert _flags(near) == [True]
    assert _flags(far) == [False]


def test_short_rounds_deliver_every_message_whole_and_in_order(ctx, wire_endpoint):
    """Mixed sizes around the round size (128 KiB) and past it, multipart, with a small
    HWM so the sender blocks and resumes many times."""
    pull, push = _connected_pair(ctx, ctx, wire_endpoint,
                                 (zmqx.PULL, zmqx.PUSH))
    pull.rcvhwm = push.sndhwm = 4
    rng = random.Random(7)
    sizes = [rng.choice([0, 1, 100, 65535, 65536, 131071, 131072, 131073, 300_000, 1 << 20])
             for _ in range(300)]

    def send():
        for i, n in enumerate(sizes):
            body = bytes([i % 251]) * n
            push.send_multipart([b"%d" % i, body, body[:17]])

    t = threading.Thread(target=send)
    t.start()
    for i, n in enumerate(sizes):
        assert pull.poll(10_000), f"message {i} of {len(sizes)} did not come"
        head, body, tail = pull.recv_multipart()
        assert head == b"%d" % i
        assert len(body) == n and body == bytes([i % 251]) * n
        assert tail == body[:17]
    t.join(10)
    assert not t.is_alive()
    assert _flags(pull) == [True]
