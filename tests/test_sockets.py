"""Socket-layer semantics of PAIR, PUSH and PULL over inproc, ipc and tcp.

Everything synchronises on events (a blocking recv bounded by RCVTIMEO, poll with a
timeout, a reply, a peer's EOF); nothing sleeps. tcp ports are chosen by the OS and ipc
paths live in per-test temp dirs (see conftest.py)."""
import errno
import os
import pickle
import socket
import threading
import time

import pytest

import zmqx
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(30)
from helpers import (SMALL_BUFS, assert_elapsed, assert_empty, assert_first,  # noqa: E402
                     bound, connected, raises_errno, sock, wire_hwm_bound)

WAIT_MS = 5000          # upper bound for "this must happen": only reached on failure
QUIET_MS = 300          # how long a "this must not happen" check watches


# ---------------------------------------------------------------- helpers

def transport_of(addr):
    if isinstance(addr, bytes):
        addr = addr.decode()
    return addr.split("://", 1)[0]


def tcp_port(addr):
    return int(addr.decode().rsplit(":", 1)[1])


def ipc_path(addr):
    return addr.decode().split("://", 1)[1]


def run_with_deadline(fn, timeout=10.0):
    """Run fn in a thread; fail (instead of hanging the suite) if it does not return."""
    box = {}

    def target():
        try:
            box["result"] = fn()
        except BaseException as e:  # noqa: BLE001 - reported to the test
            box["error"] = e

    t = threading.Thread(target=target, daemon=True)
    t.start()
    t.join(timeout)
    assert not t.is_alive(), f"{fn} did not return within {timeout}s"
    if "error" in box:
        raise box["error"]
    return box.get("result")


def raw_witness(addr):
    """A plain OS connection to a zmqx listener. The listener accepts it and starts a
    ZMTP handshake that we never answer; when the listener goes away the connection
    is dropped, which `wait_eof` observes."""
    t = transport_of(addr)
    if t == "tcp":
        w = socket.create_connection(("127.0.0.1", tcp_port(addr)), timeout=WAIT_MS / 1000)
    else:
        w = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        w.settimeout(WAIT_MS / 1000)
        w.connect(ipc_path(addr))
    # the listener has accepted us once its ZMTP greeting arrives (signature byte 0xFF);
    # before that the connection may sit in the backlog, and a connection accepted after
    # close() began is dropped at once, which would not prove the listener is gone
    assert w.recv(1) == b"\xff"
    return w


def wait_eof(w):
    """Read until the peer closes the connection (the listener and its half-open
    sessions are gone). A timeout here means the listener is still alive."""
    try:
        while True:
            try:
                if not w.recv(65536):
                    return
            except ConnectionResetError:
                return
    finally:
        w.close()


def _run_python(code, *args, timeout=20):
    import subprocess
    import sys

    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(zmqx.__file__)))
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [pkg_parent] + [p for p in os.environ.get("PYTHONPATH", "").split(os.pathsep) if p]))
    return subprocess.run([sys.executable, "-c", code, *args], capture_output=True,
                          text=True, timeout=timeout, env=env, cwd=pkg_parent)


# ================================================================ 1. basic send/recv

@pytest.mark.parametrize("binder", ["pull", "push"])
def test_push_pull_basic(ctx, endpoint, binder):
    if binder == "pull":
        pull, addr = bound(ctx, zmqx.PULL, endpoint)
        push = connected(ctx, zmqx.PUSH, addr)
    else:
        push, addr = bound(ctx, zmqx.PUSH, endpoint)
        pull = connected(ctx, zmqx.PULL, addr)
    msgs = [b"", b"a", b"hello", bytes(range(256)) * 4]
    for m in msgs:
        push.send(m)
    assert [pull.recv() for _ in msgs] == msgs
    assert pull.getsockopt(zmqx.RCVMORE) == 0
    with pytest.raises(zmqx.Again):
        pull.recv(zmqx.NOBLOCK)


@pytest.mark.parametrize("binder", ["a", "b"])
def test_pair_basic_both_directions(ctx, endpoint, binder):
    a, addr = bound(ctx, zmqx.PAIR, endpoint)
    b = connected(ctx, zmqx.PAIR, addr)
    if binder == "b":
        a, b = b, a
    a.send(b"ping")
    assert b.recv() == b"ping"
    b.send(b"pong")
    assert a.recv() == b"pong"
    for i in range(50):
        a.send(b"%d" % i)
        b.send(b"r%d" % i)
    assert [b.recv() for _ in range(50)] == [b"%d" % i for i in range(50)]
    assert [a.recv() for _ in range(50)] == [b"r%d" % i for i in range(50)]


# ================================================================ 2. connect before bind

@pytest.mark.parametrize("kinds", [(zmqx.PUSH, zmqx.PULL), (zmqx.PAIR, zmqx.PAIR)],
                         ids=["push-pull", "pair"])
def test_connect_before_bind(ctx, transport, reserve, kinds):
    reserved = reserve(transport)
    ep = reserved.endpoint
    sender = connected(ctx, kinds[0], ep)
    # the pipe exists from connect on: messages queue until the peer appears
    sender.send(b"early", zmqx.NOBLOCK)
    sender.send_multipart([b"early", b"multi"])
    receiver, _ = bound(ctx, kinds[1], reserved.release())
    assert receiver.recv() == b"early"
    assert receiver.recv_multipart() == [b"early", b"multi"]
    sender.send(b"later")
    assert receiver.recv() == b"later"
    if kinds[0] == zmqx.PAIR:
        receiver.send(b"back")
        assert sender.recv() == b"back"


# ================================================================ 3. multipart

SIZES = [0, 1, 255, 256, 65536, 4 * 1024 * 1024]


def _frames():
    return [bytes([i + 1]) * n if n < 1000 else os.urandom(n) for i, n in enumerate(SIZES)]


def test_multipart_atomic_sizes(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    frames = _frames()
    push.send_multipart(frames)
    push.send(b"after")
    push.send_multipart(frames)
    for i, f in enumerate(frames):
        got = pull.recv()
        assert got == f, f"frame {i} ({SIZES[i]} bytes) corrupted"
        more = i < len(frames) - 1
        assert pull.getsockopt(zmqx.RCVMORE) == int(more)
        assert bool(pull.rcvmore) is more
    assert pull.recv() == b"after"
    assert pull.getsockopt(zmqx.RCVMORE) == 0
    assert pull.recv_multipart() == frames
    assert not pull.rcvmore


def test_multipart_copy_false_frames(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    frames = _frames()
    push.send_multipart(frames)
    got = pull.recv_multipart(copy=False)
    assert len(got) == len(frames)
    for i, (g, f) in enumerate(zip(got, frames)):
        assert isinstance(g, zmqx.Frame)
        assert g.bytes == f
        assert memoryview(g) == memoryview(f)
        assert g.buffer.tobytes() == f
        assert len(g) == len(f)
        assert g.more is (i < len(frames) - 1)
        assert g.get(zmqx.MORE) == int(i < len(frames) - 1)
    # single recv(copy=False) of a one-part message
    push.send(b"solo")
    f = pull.recv(copy=False)
    assert isinstance(f, zmqx.Frame) and f.bytes == b"solo" and not f.more


def test_send_buffer_types(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    big = os.urandom(1024 * 1024)
    ba = bytearray(b"bytearray-body")
    backing = b"0123456789abcdef"
    push.send(zmqx.Frame(b"a frame"))
    push.send(ba)
    push.send(memoryview(backing)[4:12])
    push.send(big, copy=False)
    push.send(memoryview(big), copy=False)
    push.send(zmqx.Frame(big))
    push.send_multipart([zmqx.Frame(b"f"), bytearray(b"ba"), memoryview(b"mv"), big], copy=False)
    ba[:] = b"X" * len(ba)          # copy=True: mutating after send changes nothing
    assert pull.recv() == b"a frame"
    assert pull.recv() == b"bytearray-body"
    assert pull.recv() == b"456789ab"
    assert pull.recv() == big
    assert pull.recv() == big
    assert pull.recv() == big
    assert pull.recv_multipart() == [b"f", b"ba", b"mv", big]


def test_forward_received_frames(ctx, endpoint, ipc_dir, transport):
    """Frames received with copy=False can be sent on unchanged (a device's inner loop)."""
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    pull2, addr2 = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
    fwd = connected(ctx, zmqx.PUSH, addr2)
    frames = [b"head", os.urandom(200_000), b""]
    push.send_multipart(frames)
    got = pull.recv_multipart(copy=False)
    fwd.send_multipart(got, copy=False)
    assert pull2.recv_multipart() == frames


def test_mixed_size_stream_intact(ctx, endpoint):
    """Sizes around every boundary the framing and the I/O buffers care about (1-byte vs
    8-byte length, stage copies vs zero-copy bodies, buffer refills), many in a row."""
    import random

    rnd = random.Random(1234)
    edges = [0, 1, 254, 255, 256, 2047, 2048, 2049, 32767, 32768, 32769, 65535, 65536,
             65537, 131072, 262145]
    sizes = edges + [rnd.randrange(0, 70_000) for _ in range(150)]
    pool = os.urandom(max(sizes) + 64)
    msgs = []
    for i, n in enumerate(sizes):
        off = rnd.randrange(0, 64)
        body = pool[off:off + n]
        msgs.append([b"%d" % i, body] if i % 3 else [body])
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    errors = []

    def sender():
        try:
            for m in msgs:
                push.send_multipart(m)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    for i, m in enumerate(msgs):
        got = pull.recv_multipart()
        assert got == m, f"message {i} ({[len(x) for x in m]} bytes) corrupted"
    t.join(WAIT_MS / 1000)
    assert not errors


def test_multipart_is_not_split_by_hwm(ctx, endpoint):
    """The HWM is checked on a message's first frame only: a message that starts goes
    out whole (libzmq), and one that cannot start leaves nothing behind."""
    bufs = {} if endpoint.startswith("inproc") else SMALL_BUFS
    pull = sock(ctx, zmqx.PULL, rcvhwm=1, **bufs)
    pull.bind(endpoint)
    push = sock(ctx, zmqx.PUSH, sndhwm=1, **bufs)
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
    push.send(b"sync")
    assert pull.recv() == b"sync"
    parts = [b"p%d" % i for i in range(20)]
    sent = 0
    while True:
        try:
            push.send_multipart(parts, zmqx.NOBLOCK)
        except zmqx.Again:
            break
        sent += 1
        assert sent < 10_000
    if endpoint.startswith("inproc"):
        assert sent == 2                # SNDHWM + RCVHWM messages, each whole
    else:                               # 20 frames of 2+3 bytes each on the wire
        assert 1 <= sent <= wire_hwm_bound(1, 1, 20 * 5), sent
    for _ in range(sent):
        assert pull.recv_multipart() == parts
    push.send(b"tail")
    # a refused message left no stray frames: the next message arrives on its own
    assert pull.recv_multipart() == [b"tail"]


def test_incomplete_message_dropped_on_close(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    push.send(b"whole")
    assert pull.recv() == b"whole"
    push.send(b"head", zmqx.SNDMORE)
    push.send(b"body", zmqx.SNDMORE)
    push.close()                  # the message never got its last frame
    other = connected(ctx, zmqx.PUSH, addr)
    other.send(b"next")
    assert pull.recv_multipart() == [b"next"]
    other.send(b"marker")           # positive control on the live path
    assert_first(pull, b"marker")


def test_frames_outlive_socket_and_context(transport, ipc_dir):
    c = zmqx.Context()
    pull = c.socket(zmqx.PULL)
    pull.bind(endpoint_for(transport, ipc_dir))
    push = c.socket(zmqx.PUSH)
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
    msg = [b"small", os.urandom(100), os.urandom(300_000)]
    push.send_multipart(msg)
    pull.rcvtimeo = WAIT_MS
    frames = pull.recv_multipart(copy=False)
    views = [memoryview(f) for f in frames]
    push.close()
    pull.close()
    run_with_deadline(c.term, 10)
    assert [f.bytes for f in frames] == msg
    assert [v.tobytes() for v in views] == msg


def test_track_copy_false(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    big = bytearray(os.urandom(500_000))
    tracker = push.send(big, copy=False, track=True)
    assert isinstance(tracker, zmqx.MessageTracker)
    assert pull.recv() == bytes(big)
    tracker.wait(WAIT_MS / 1000)          # the engine let go of the buffer
    assert tracker.done


def test_threaded_stream_with_small_hwm(ctx, endpoint):
    """Writer and reader in different threads, both often asleep on a tiny HWM: every
    message arrives once, in order (the pipes' sleep/wake handshakes are exercised)."""
    n = 20_000
    pull = sock(ctx, zmqx.PULL, rcvhwm=4)
    pull.bind(endpoint)
    push = sock(ctx, zmqx.PUSH, sndhwm=4)
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
    errors = []

    def writer():
        try:
            for i in range(n):
                push.send(b"%d" % i)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    for i in range(n):
        m = pull.recv()
        if m != b"%d" % i:
            pytest.fail(f"message {i}: got {m!r}")
    t.join(WAIT_MS / 1000)
    assert not t.is_alive() and not errors


# ================================================================ 4. load balancing

def test_push_round_robin(ctx, transport, ipc_dir):
    pulls = []
    for _ in range(3):
        p, a = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
        pulls.append((p, a))
    push = sock(ctx, zmqx.PUSH)
    for _, a in pulls:
        push.connect(a)       # pipes attach at connect, in order: round-robin is exact
    for i in range(30):
        push.send(b"%d" % i)
    seen = []
    for p, _ in pulls:
        got = [int(p.recv()) for _ in range(10)]
        assert got == sorted(got)
        assert len({g % 3 for g in got}) == 1, f"not round-robin: {got}"
        seen += got
    assert sorted(seen) == list(range(30))
    for p, _ in pulls:
        with pytest.raises(zmqx.Again):
            p.recv(zmqx.NOBLOCK)


def test_push_skips_a_full_peer(ctx, transport, ipc_dir):
    """A peer at its HWM is skipped: sending goes on to the others (libzmq lb)."""
    stuck, a1 = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir), rcvhwm=2)
    live, a2 = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir), rcvhwm=2)
    push = sock(ctx, zmqx.PUSH, sndhwm=2)
    push.connect(a1)
    push.connect(a2)
    payload = _payload(a1.decode())
    n = 400 if transport != "inproc" else 50
    received = []
    errors = []

    def drain():
        try:
            while True:
                m = live.recv()
                if m == b"end":
                    return
                received.append(m)
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=drain, daemon=True)
    t.start()
    for _ in range(n):
        push.send(payload)            # would time out (Again) if lb waited for `stuck`
    # `end` must reach `live`: keep sending it until the round-robin lands there
    for _ in range(10):
        try:
            push.send(b"end", zmqx.NOBLOCK)
        except zmqx.Again:
            pass
        t.join(0.2)
        if not t.is_alive():
            break
    assert not t.is_alive() and not errors
    stuck_count = 0
    while stuck_count + len(received) < n:     # every message went to one of the two
        if stuck.recv() != b"end":
            stuck_count += 1
    assert len(received) > stuck_count


def io_barrier(ctx, transport, ipc_dir, rounds=2):
    """Wait until the context's I/O thread has finished what is already queued for it.

    Messages are written by the I/O thread in the order their sockets posted them, and a
    loopback/unix write is readable at once, so data sent earlier is readable no later
    than a barrier message sent after it; the second round trip starts only after the
    I/O thread finished the batch that delivered the first, which contained (or came
    after) the earlier data. Event-based: no sleeping."""
    if transport == "inproc":
        return                      # inproc pipes are filled by send() itself
    pull, addr = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
    push = connected(ctx, zmqx.PUSH, addr)
    for i in range(rounds):
        push.send(b"barrier")
        assert pull.recv() == b"barrier"
    push.close()
    pull.close()


def test_pull_fair_queue(ctx, transport, ipc_dir):
    pull, addr = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
    a = connected(ctx, zmqx.PUSH, addr)
    b = connected(ctx, zmqx.PUSH, addr)
    # both connections up before the real traffic
    a.send(b"hello")
    b.send(b"hello")
    assert [pull.recv(), pull.recv()] == [b"hello", b"hello"]
    for i in range(10):
        a.send(b"a%d" % i)
    for i in range(10):
        b.send(b"b%d" % i)
    io_barrier(ctx, transport, ipc_dir)     # all 20 are queued at the PULL now
    got = [pull.recv() for _ in range(20)]
    assert got[0][:1] != got[1][:1], got
    assert all(got[i][:1] != got[i + 1][:1] for i in range(19)), f"not fair-queued: {got}"
    assert [g for g in got if g[:1] == b"a"] == [b"a%d" % i for i in range(10)]
    assert [g for g in got if g[:1] == b"b"] == [b"b%d" % i for i in range(10)]


# ================================================================ 5. PAIR is exclusive

def test_pair_second_peer_gets_nothing(ctx, endpoint):
    a, addr = bound(ctx, zmqx.PAIR, endpoint)
    p1 = connected(ctx, zmqx.PAIR, addr)
    p1.send(b"hi")
    assert a.recv() == b"hi"
    p2 = connected(ctx, zmqx.PAIR, addr)
    for i in range(10):
        a.send(b"%d" % i)
    assert [p1.recv() for _ in range(10)] == [b"%d" % i for i in range(10)]
    assert_empty(p2)    # a PAIR sends each message once: all 10 are accounted for at p1


def test_pair_ignores_second_peer(ctx, endpoint):
    """libzmq: 'ZMQ_PAIR ... can only be connected to a single peer at any one time';
    a second connection is rejected, so nothing it sends reaches the bound PAIR."""
    a, addr = bound(ctx, zmqx.PAIR, endpoint)
    p1 = connected(ctx, zmqx.PAIR, addr)
    p1.send(b"hi")
    assert a.recv() == b"hi"
    p2 = connected(ctx, zmqx.PAIR, addr)
    p2.send(b"intruder")
    p1.send(b"sync")
    assert a.recv() == b"sync"
    # p2's message travels on another connection, so no marker can be ordered after it:
    # this one check still watches for a while (QUIET_MS)
    assert a.poll(QUIET_MS, zmqx.POLLIN) == 0
    # the first peer is still the peer
    a.send(b"still yours")
    assert p1.recv() == b"still yours"


def _raw_peer_is_dropped(a, transport, addr, ready):
    """A raw ZMTP peer completes the handshake with `a`, which must refuse it: the
    connection ends (EOF) after our greeting and READY, and nothing it sent reaches `a`.
    As in libzmq, the new connection is taken in by the socket's own calls: the poll."""
    from zmqx._core import zmtp

    if transport == "tcp":
        raw = socket.create_connection(("127.0.0.1", tcp_port(addr)))
    else:
        raw = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        raw.connect(ipc_path(addr))
    raw.setblocking(False)
    poller = zmqx.Poller()
    poller.register(a, zmqx.POLLIN)
    poller.register(raw, zmqx.POLLIN)
    try:
        raw.sendall(zmtp.encode_greeting() + ready + zmtp.encode_frame(b"intruder"))
        got = b""
        deadline = time.monotonic() + 5.0
        while True:
            left = deadline - time.monotonic()
            if left <= 0:
                pytest.fail(f"the refused connection was not dropped (read {got!r})")
            events = dict(poller.poll(int(left * 1000) + 1))
            assert a not in events          # the intruder's message is never delivered
            if raw.fileno() in events:
                try:
                    chunk = raw.recv(65536)
                except ConnectionResetError:
                    break
                if not chunk:
                    break
                got += chunk
        # refused after a complete handshake: our greeting and READY came first
        assert got.startswith(zmtp.encode_greeting()[:10])
        assert b"\x05READY" in got
    finally:
        raw.close()


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_pair_drops_a_second_connection(ctx, ipc_dir, transport):
    # A bound PAIR that has its peer refuses a second one and ends that connection rather
    # than keeping it open and holding what it sends. (libzmq 4.3.5 refuses the pipe but
    # leaves the connection open; zmqx drops it, and a real peer reconnects later.)
    from zmqx._core import zmtp

    a, addr = bound(ctx, zmqx.PAIR, endpoint_for(transport, ipc_dir))
    p1 = connected(ctx, zmqx.PAIR, addr)
    p1.send(b"hi")
    assert a.recv() == b"hi"
    _raw_peer_is_dropped(a, transport, addr, zmtp.encode_ready(zmtp.PAIR))
    p1.send(b"sync")                # and the first peer is still the peer
    assert_first(a, b"sync")
    a.send(b"still yours")
    assert p1.recv() == b"still yours"


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_router_drops_a_duplicate_id_connection(ctx, ipc_dir, transport):
    # the same refusal, ROUTER's reason: the routing id is taken (ROUTER_HANDOVER off)
    from zmqx._core import zmtp

    r, addr = bound(ctx, zmqx.ROUTER, endpoint_for(transport, ipc_dir))
    d1 = connected(ctx, zmqx.DEALER, addr, routing_id=b"X")
    d1.send(b"hi")
    assert r.recv_multipart() == [b"X", b"hi"]
    _raw_peer_is_dropped(r, transport, addr, zmtp.encode_ready(zmtp.DEALER, b"X"))
    d1.send(b"sync")
    assert r.recv_multipart() == [b"X", b"sync"]
    r.send_multipart([b"X", b"still yours"])
    assert d1.recv() == b"still yours"


# ================================================================ 6. HWM

def _fill(push, payload, limit=100_000):
    """Send with NOBLOCK until Again; returns how many went out."""
    for n in range(limit):
        try:
            push.send(payload, zmqx.NOBLOCK)
        except zmqx.Again:
            return n
    pytest.fail(f"no back-pressure after {limit} messages")


def _hwm_pair(ctx, endpoint, hwm=5):
    # over a wire: small kernel buffers, so the bound of helpers.wire_hwm_bound applies
    bufs = {} if endpoint.startswith("inproc") else SMALL_BUFS
    pull = sock(ctx, zmqx.PULL, rcvhwm=hwm, **bufs)
    pull.bind(endpoint)
    push = sock(ctx, zmqx.PUSH, sndhwm=hwm, **bufs)
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
    # connection up before filling
    push.send(b"sync")
    assert pull.recv() == b"sync"
    return pull, push


def _payload(endpoint):
    # over a wire the kernel buffers too: big bodies fill it quickly
    return b"x" if endpoint.startswith("inproc") else b"x" * 65536


def test_hwm_nonblocking_send_raises_again(ctx, endpoint):
    pull, push = _hwm_pair(ctx, endpoint, hwm=5)
    payload = _payload(endpoint)
    n = _fill(push, payload)          # returned because send(NOBLOCK) raised Again
    if endpoint.startswith("inproc"):
        # libzmq: an inproc pipe holds SNDHWM + RCVHWM messages, and stays full
        assert n == 10
        with pytest.raises(zmqx.Again):
            push.send(b"y", zmqx.NOBLOCK)
    else:
        # at least the sender's own pipe; at most both pipes plus what the engines and
        # the (small) kernel buffers can hold (see helpers.wire_hwm_bound)
        assert 5 <= n <= wire_hwm_bound(5, 5, len(payload)), n
    # every accepted message arrives; once drained, the PUSH can send again
    for _ in range(n):
        assert pull.recv() == payload
    push.send(b"again", zmqx.NOBLOCK)
    assert pull.recv() == b"again"


def test_hwm_sndtimeo(ctx, endpoint):
    pull, push = _hwm_pair(ctx, endpoint, hwm=5)
    payload = _payload(endpoint)
    n = _fill(push, payload)
    push.sndtimeo = 200
    assert push.getsockopt(zmqx.SNDTIMEO) == 200
    # over a wire the I/O thread may still move a few into the kernel: send until one
    # blocks; the chain is then saturated, so the count meets the HWM bound exactly
    for _ in range(10_000):
        t0 = time.monotonic()
        try:
            push.send(payload)
            n += 1
        except zmqx.Again:
            elapsed = time.monotonic() - t0
            break
    else:
        pytest.fail("SNDTIMEO never expired")
    assert_elapsed(elapsed, 200, "SNDTIMEO")
    if endpoint.startswith("inproc"):
        assert n == 10
    else:
        assert 10 <= n <= wire_hwm_bound(5, 5, len(payload)), n
    assert [pull.recv() for _ in range(n)] == [payload] * n
    assert_empty(pull)


@pytest.mark.parametrize("how", ["unconnected", "bound-no-peer", "peer-never-binds"])
def test_push_without_peer_raises_again(ctx, transport, ipc_dir, reserve, how):
    push = sock(ctx, zmqx.PUSH)
    if how == "bound-no-peer":
        push.bind(endpoint_for(transport, ipc_dir))
    elif how == "peer-never-binds":
        # libzmq without IMMEDIATE: a connecting pipe queues exactly SNDHWM messages
        push.sndhwm = 3
        push.connect(reserve(transport).endpoint)
        assert _fill(push, b"queued") == 3
    with pytest.raises(zmqx.Again):
        push.send(b"x", zmqx.NOBLOCK)
    push.sndtimeo = 150
    t0 = time.monotonic()
    with pytest.raises(zmqx.Again):
        push.send(b"x")
    assert_elapsed(time.monotonic() - t0, 150, "SNDTIMEO")


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_immediate_queues_nothing_before_connection(ctx, transport, reserve):
    reserved = reserve(transport)
    ep = reserved.endpoint
    push = sock(ctx, zmqx.PUSH, immediate=1)
    assert push.getsockopt(zmqx.IMMEDIATE) == 1
    push.connect(ep)
    with pytest.raises(zmqx.Again):
        push.send(b"nobody there", zmqx.NOBLOCK)
    assert push.poll(0, zmqx.POLLOUT) == 0
    pull, _ = bound(ctx, zmqx.PULL, reserved.release())
    assert push.poll(WAIT_MS, zmqx.POLLOUT) == zmqx.POLLOUT    # the connection is up
    push.send(b"now")
    assert_first(pull, b"now")      # the refused message was not queued ahead of it


def test_blocked_sender_woken_by_reader(ctx, endpoint):
    pull, push = _hwm_pair(ctx, endpoint, hwm=5)
    payload = _payload(endpoint)
    n = _fill(push, payload)
    push.sndtimeo = 10_000
    result = {}

    def writer():
        try:
            result["blocked"] = False
            try:
                push.send(b"last", zmqx.NOBLOCK)
                result["sent"] = True
                return
            except zmqx.Again:
                result["blocked"] = True
            push.send(b"last")
            result["sent"] = True
        except BaseException as e:  # noqa: BLE001
            result["error"] = e

    t = threading.Thread(target=writer, daemon=True)
    t.start()
    received = 0
    while True:
        m = pull.recv()
        if m == b"last":
            break
        assert m == payload
        received += 1
    t.join(WAIT_MS / 1000)
    assert not t.is_alive()
    assert "error" not in result, result
    assert result.get("sent")
    assert received == n            # every accepted message, then "last"
    # and it keeps flowing afterwards
    push.send(b"after")
    assert pull.recv() == b"after"


def test_hwm_zero_means_no_limit_inproc(ctx, ipc_dir):
    pull = sock(ctx, zmqx.PULL, rcvhwm=0)
    pull.bind(endpoint_for("inproc", ipc_dir))
    push = sock(ctx, zmqx.PUSH, sndhwm=0)
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
    for i in range(5000):
        push.send(b"%d" % i, zmqx.NOBLOCK)
    assert [pull.recv() for _ in range(5000)] == [b"%d" % i for i in range(5000)]


# ================================================================ 7. RCVTIMEO / NOBLOCK

@pytest.mark.parametrize("with_peer", [False, True])
def test_rcvtimeo_and_noblock(ctx, endpoint, with_peer):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    if with_peer:
        connected(ctx, zmqx.PUSH, addr)
    pull.rcvtimeo = 150
    assert pull.getsockopt(zmqx.RCVTIMEO) == 150
    t0 = time.monotonic()
    with pytest.raises(zmqx.Again):
        pull.recv()
    assert_elapsed(time.monotonic() - t0, 150, "RCVTIMEO")
    t0 = time.monotonic()
    with pytest.raises(zmqx.Again):
        pull.recv(zmqx.NOBLOCK)
    with pytest.raises(zmqx.Again):
        pull.recv(zmqx.DONTWAIT, copy=False)
    with pytest.raises(zmqx.Again):
        pull.recv_multipart(zmqx.NOBLOCK)
    assert time.monotonic() - t0 < 0.1     # a NOBLOCK call waiting out RCVTIMEO takes 0.15
    pull.rcvtimeo = 0
    with pytest.raises(zmqx.Again):
        pull.recv()
    assert isinstance(zmqx.Again(), zmqx.ZMQError) and zmqx.Again().errno == errno.EAGAIN


# ================================================================ 8. errors

def test_wrong_direction_enotsup(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    with raises_errno(errno.ENOTSUP):
        pull.send(b"x")
    with raises_errno(errno.ENOTSUP):
        pull.send_multipart([b"x", b"y"])
    with raises_errno(errno.ENOTSUP):
        push.recv()
    with raises_errno(errno.ENOTSUP):
        push.recv(zmqx.NOBLOCK)
    # both still work
    push.send_multipart([b"still", b"fine"])
    assert pull.recv_multipart() == [b"still", b"fine"]


def test_closed_socket_enotsock(ctx, endpoint):
    s, addr = bound(ctx, zmqx.PUSH, endpoint)
    s.close()
    assert s.closed
    s.close()                 # closing twice is harmless
    calls = [
        lambda: s.send(b"x"),
        lambda: s.send_multipart([b"x"]),
        lambda: s.recv(),
        lambda: s.bind(endpoint),
        lambda: s.connect(addr),
        lambda: s.unbind(addr),
        lambda: s.getsockopt(zmqx.LINGER),
        lambda: s.setsockopt(zmqx.LINGER, 0),
        lambda: s.poll(0),
    ]
    for call in calls:
        with raises_errno(errno.ENOTSOCK):
            call()


def test_bind_eaddrinuse(ctx, endpoint, transport, ipc_dir):
    if transport == "ipc":
        pytest.skip("an ipc path in use is taken over, as libzmq does (test_endpoints.py)")
    first, addr = bound(ctx, zmqx.PULL, endpoint)
    second = sock(ctx, zmqx.PULL)
    with raises_errno(errno.EADDRINUSE):
        second.bind(addr)
    # nothing was disturbed: the first still receives, the second can bind elsewhere
    push = connected(ctx, zmqx.PUSH, addr)
    push.send(b"to first")
    assert first.recv() == b"to first"
    second.bind(endpoint_for(transport, ipc_dir))
    push2 = connected(ctx, zmqx.PUSH, second.getsockopt(zmqx.LAST_ENDPOINT))
    push2.send(b"to second")
    assert second.recv() == b"to second"


@pytest.mark.parametrize("method,ep,code", [
    ("bind", "foo://x", errno.EPROTONOSUPPORT),
    ("connect", "foo://x", errno.EPROTONOSUPPORT),
    ("bind", "tcp://127.0.0.1", errno.EINVAL),
    ("connect", "tcp://127.0.0.1", errno.EINVAL),
    ("connect", "tcp://127.0.0.1:*", errno.EINVAL),
    # (a name that does not resolve is not an error: connect() retries it, as libzmq does;
    #  see test_endpoints_resolve.py)
    ("bind", "no-separator", errno.EINVAL),
    ("connect", "tcp://", errno.EINVAL),
])
def test_bad_endpoints(ctx, endpoint, method, ep, code):
    s = sock(ctx, zmqx.PUSH)
    with raises_errno(code):
        getattr(s, method)(ep)
    # the socket is untouched and still usable
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    s.connect(addr)
    s.send(b"ok")
    assert pull.recv() == b"ok"


def test_unbind_disconnect_unknown_enoent(ctx, endpoint):
    s, addr = bound(ctx, zmqx.PULL, endpoint)
    for method, ep in [("unbind", "tcp://127.0.0.1:1"), ("disconnect", "tcp://127.0.0.1:1"),
                       ("unbind", "inproc://never-bound"), ("disconnect", "ipc:///nonexistent/x"),
                       ("disconnect", addr)]:
        with raises_errno(errno.ENOENT):
            getattr(s, method)(ep)
    push = connected(ctx, zmqx.PUSH, addr)
    push.send(b"still bound")
    assert s.recv() == b"still bound"


def test_str_payload_typeerror(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    for bad in ("text", 42, None, 1.5):
        with pytest.raises(TypeError):
            push.send(bad)
    with pytest.raises(TypeError):
        push.send("text", copy=False)
    with pytest.raises(TypeError):
        push.send_multipart(["text"])
    with pytest.raises(TypeError):
        push.send_string(b"bytes is not str")
    push.send(b"valid")
    assert pull.recv_multipart() == [b"valid"]


# ================================================================ 9. unbind / disconnect

def test_unbind(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    push.send(b"before")
    assert pull.recv() == b"before"
    t = transport_of(addr)
    witness = raw_witness(addr) if t != "inproc" else None
    pull.unbind(addr)
    if t == "tcp":
        wait_eof(witness)
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", tcp_port(addr)), timeout=WAIT_MS / 1000).close()
    elif t == "ipc":
        wait_eof(witness)
        assert not os.path.exists(ipc_path(addr))
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        with pytest.raises((ConnectionRefusedError, FileNotFoundError)):
            probe.connect(ipc_path(addr))
        probe.close()
    # a new connect to that endpoint reaches whoever binds it next, not the old socket
    late = connected(ctx, zmqx.PUSH, addr)
    late.send(b"for the new binder")
    successor, _ = bound(ctx, zmqx.PULL, addr.decode())
    assert successor.recv() == b"for the new binder"
    assert_empty(pull)              # delivered once, to the successor
    # unbinding again: the endpoint is unknown now
    with raises_errno(errno.ENOENT):
        pull.unbind(addr)


def test_unbind_wildcard_tcp(ctx):
    pull, addr = bound(ctx, zmqx.PULL, "tcp://127.0.0.1:*")
    witness = raw_witness(addr)
    pull.unbind(addr)             # the resolved address unbinds the wildcard bind
    wait_eof(witness)
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", tcp_port(addr)), timeout=WAIT_MS / 1000).close()


def test_disconnect(ctx, transport, ipc_dir):
    """After disconnect() returns, the PUSH routes nothing to that peer: every later
    message reaches the remaining peer (libzmq terminates the pipe synchronously).
    A few rounds, as a wrong implementation loses messages only while the I/O thread
    has not caught up."""
    for _ in range(5):
        p1, a1 = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
        p2, a2 = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
        push = sock(ctx, zmqx.PUSH)
        push.connect(a1)
        push.connect(a2)
        push.send(b"r0")
        push.send(b"r1")
        assert p1.recv() == b"r0"
        assert p2.recv() == b"r1"
        push.disconnect(a1)
        msgs = [b"%d" % i for i in range(10)]
        for m in msgs:
            push.send(m)
        got = []
        p2.rcvtimeo = 2000
        try:
            while len(got) < len(msgs):
                got.append(p2.recv())
        except zmqx.Again:
            pass
        assert got == msgs, f"messages sent after disconnect() were lost: got {got}"
        with pytest.raises(zmqx.Again):
            p1.recv(zmqx.NOBLOCK)
        with raises_errno(errno.ENOENT):
            push.disconnect(a1)
        for x in (push, p1, p2):
            x.close()


def test_disconnect_last_peer_then_no_peer(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    push.send(b"x")
    assert pull.recv() == b"x"
    push.disconnect(addr)
    with pytest.raises(zmqx.Again):         # no peer left: nothing can be queued
        push.send(b"nowhere", zmqx.NOBLOCK)
    # reconnecting works, and the new pipe carries traffic (and nothing older)
    push.connect(addr)
    push.send(b"y")
    assert_first(pull, b"y")


# ================================================================ 10. LINGER

CLOSE_SCRIPT = """
import sys, zmqx
endpoint, rounds = sys.argv[1], int(sys.argv[2])
expected = [b"%d" % i for i in range(1000)]
for r in range(rounds):
    ctx = zmqx.Context()
    pull = ctx.socket(zmqx.PULL)
    pull.rcvtimeo = 5000
    pull.bind(endpoint)
    push = ctx.socket(zmqx.PUSH)
    push.sndtimeo = 5000
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
    for m in expected:
        push.send(m)
    push.close()            # LINGER -1 (default): what is queued still goes out
    got = [pull.recv() for _ in expected]
    assert got == expected, r
    pull.close()
    ctx.term()
print("delivered", rounds, flush=True)
"""


def test_close_delivers_queued_messages(ctx, endpoint):
    """PUSH sends 1000 messages and closes at once (LINGER -1): the PULL gets all 1000.
    Over a wire this runs many rounds in a subprocess, since a failure here has been a
    crash of the I/O thread (use-after-free of the lingering session), not an assert."""
    if not endpoint.startswith("inproc"):
        r = _run_python(CLOSE_SCRIPT, endpoint, "300", timeout=25)
        assert r.returncode == 0, f"exit status {r.returncode}: {r.stderr[-2000:]}"
        assert "delivered 300" in r.stdout
        return
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = ctx.socket(zmqx.PUSH)
    push.sndtimeo = WAIT_MS
    assert push.getsockopt(zmqx.LINGER) == -1
    push.connect(addr)
    for i in range(1000):
        push.send(b"%d" % i)
    push.close()
    assert [pull.recv() for _ in range(1000)] == [b"%d" % i for i in range(1000)]


def _assert_term_time(elapsed, transport, linger, queued=True):
    """term() after closing a PUSH whose messages can't be delivered: a wire connection
    keeps them for LINGER ms, then gives up; nothing queued, LINGER 0 or inproc (libzmq
    4.3.5 too: an inproc pipe does not linger) return at once."""
    if transport == "inproc" or linger == 0 or not queued:
        assert elapsed < 0.1, f"term took {elapsed * 1000:.0f} ms, expected no lingering"
    else:
        assert_elapsed(elapsed, linger, "LINGER expiry in term()")


@pytest.mark.parametrize("linger", [0, 300])
def test_close_with_linger_and_no_peer_term_waits_linger(transport, reserve, linger):
    c = zmqx.Context()
    try:
        push = c.socket(zmqx.PUSH)
        push.connect(reserve(transport).endpoint)      # refused: nobody listens
        for _ in range(10):
            push.send(b"never delivered", zmqx.NOBLOCK)
        push.close(linger=linger)
        assert push.closed
        t0 = time.monotonic()
        run_with_deadline(c.term, 10)
        _assert_term_time(time.monotonic() - t0, transport, linger)
        assert c.closed
    finally:
        if not c.closed:
            c.destroy(linger=0)


@pytest.mark.parametrize("linger", [0, 300])
@pytest.mark.parametrize("queued", [True, False])
def test_linger_option_sets_close_default(transport, reserve, linger, queued):
    c = zmqx.Context()
    try:
        push = c.socket(zmqx.PUSH)
        push.setsockopt(zmqx.LINGER, linger)
        assert push.getsockopt(zmqx.LINGER) == linger
        push.connect(reserve(transport).endpoint)
        if queued:
            push.send(b"never delivered", zmqx.NOBLOCK)
        push.close()                  # uses the LINGER option
        t0 = time.monotonic()
        run_with_deadline(c.term, 10)
        _assert_term_time(time.monotonic() - t0, transport, linger, queued)
    finally:
        if not c.closed:
            c.destroy(linger=0)


def test_linger_delivers_to_a_peer_that_appears_in_time(ctx, transport, reserve):
    """Within LINGER the queued messages still go out once the peer binds."""
    if transport == "inproc":
        pytest.skip("inproc does not linger (as libzmq)")
    reserved = reserve(transport)
    c = zmqx.Context()
    try:
        push = c.socket(zmqx.PUSH)
        push.reconnect_ivl = 20
        push.connect(reserved.endpoint)
        push.send(b"late but delivered")
        push.close(linger=WAIT_MS)
        term = threading.Thread(target=c.term, daemon=True)
        term.start()
        pull, _ = bound(ctx, zmqx.PULL, reserved.release())
        assert pull.recv() == b"late but delivered"
        term.join(WAIT_MS / 1000)
        assert not term.is_alive()            # term ended once the queue was flushed
    finally:
        if not c.closed:
            c.destroy(linger=0)


# ================================================================ 11. reconnect

def test_reconnect_after_peer_restart(ctx, wire_endpoint):
    pull, addr = bound(ctx, zmqx.PULL, wire_endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    push.send(b"one")
    assert pull.recv() == b"one"
    witness = raw_witness(addr)
    pull.close()
    wait_eof(witness)             # the old listener is gone: its address is free
    pull2, addr2 = bound(ctx, zmqx.PULL, addr.decode())
    assert addr2 == addr
    # a message written while the old connection was dying may be lost (as in libzmq);
    # what must hold: the PUSH reconnects by itself and traffic resumes
    for i in range(WAIT_MS // 200):
        push.send(b"two-%d" % i)
        if pull2.poll(200, zmqx.POLLIN):
            break
    msg = pull2.recv(zmqx.NOBLOCK)
    assert msg.startswith(b"two-")
    push.send(b"three")
    while msg != b"three":
        msg = pull2.recv()


def test_reconnect_options_round_trip(ctx):
    s = ctx.socket(zmqx.PUSH)
    assert s.getsockopt(zmqx.RECONNECT_IVL) == 100
    assert s.getsockopt(zmqx.RECONNECT_IVL_MAX) == 0
    s.setsockopt(zmqx.RECONNECT_IVL, 250)
    s.setsockopt(zmqx.RECONNECT_IVL_MAX, 4000)
    assert s.getsockopt(zmqx.RECONNECT_IVL) == 250
    assert s.getsockopt(zmqx.RECONNECT_IVL_MAX) == 4000
    s.reconnect_ivl = -1          # -1: no reconnection
    assert s.reconnect_ivl == -1
    with raises_errno(errno.EINVAL):
        s.setsockopt(zmqx.RECONNECT_IVL_MAX, -5)
    s.close()


def _accept_times(lst, count):
    """Accept `count` connections on a plain listening socket, closing each at once (the
    ZMTP handshake never completes, so the connecter's back-off is never reset), and
    return when each arrived."""
    times = []
    lst.settimeout(WAIT_MS / 1000)
    for _ in range(count):
        c, _ = lst.accept()
        times.append(time.monotonic())
        c.close()
    return times


@pytest.mark.parametrize("ivl_max", [0, 160])
def test_reconnect_ivl_max_backs_off(ctx, ivl_max):
    """RECONNECT_IVL 20 ms: each failed attempt waits ivl plus up to ivl of jitter
    (libzmq's scheme), and with RECONNECT_IVL_MAX the ivl doubles per failure up to the
    cap: gaps 20-40, 40-80, 80-160, then 160-320 ms for ever. Without the cap the gaps
    stay at 20-40 ms."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(8)
    try:
        push = sock(ctx, zmqx.PUSH, reconnect_ivl=20, reconnect_ivl_max=ivl_max)
        push.connect("tcp://127.0.0.1:%d" % lst.getsockname()[1])
        times = _accept_times(lst, 8)
    finally:
        lst.close()
    gaps = [b - a for a, b in zip(times, times[1:])]
    ms = ", ".join("%.0f" % (g * 1000) for g in gaps)
    if ivl_max == 0:
        # 20 + jitter < 40 ms each: never early, and typically (median) within 3x of it
        # even on a loaded machine; all 7 within 3 x 7 x 40 ms
        assert all(g >= 0.016 for g in gaps), ms
        assert sorted(gaps)[len(gaps) // 2] <= 3 * 0.040, ms
        assert sum(gaps) <= 3 * 7 * 0.040, ms
    else:
        assert all(g >= 0.016 for g in gaps), ms
        # from the 4th gap on, the cap: [160, 320) ms, with 0.8x-3x slack
        assert all(0.8 * 0.160 <= g <= 3 * 0.320 for g in gaps[3:]), ms
        assert gaps[0] <= 3 * 0.040, ms          # the first one was not capped yet
        assert sum(gaps) >= 0.8 * (0.020 + 0.040 + 0.080 + 4 * 0.160), ms


def _syn_sent_ports(remote_port):
    """Local ports of this machine's tcp sockets in SYN_SENT towards 127.0.0.1:remote_port
    (/proc/net/tcp: addresses in hex, state 02 = SYN_SENT)."""
    ports = set()
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, remote, state = fields[1], fields[2], fields[3]
            if state == "02" and remote == "0100007F:%04X" % remote_port:
                ports.add(int(local.rsplit(":", 1)[1], 16))
    return ports


@pytest.mark.skipif(not os.path.exists("/proc/net/tcp"), reason="needs Linux /proc/net/tcp")
@pytest.mark.parametrize("timeout_ms", [0, 150])
def test_connect_timeout_abandons_and_retries(ctx, timeout_ms):
    """A local black hole: a listener with backlog 0 whose one queue slot is taken and
    never accepted. Linux then drops further SYNs, so a connect stays in SYN_SENT (for
    minutes, retransmitting). With CONNECT_TIMEOUT the attempt is abandoned after that
    many ms and a new one (a new local port) starts after RECONNECT_IVL; without it the
    first attempt is never given up within the window."""
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(0)
    port = lst.getsockname()[1]
    filler = socket.create_connection(("127.0.0.1", port))   # fills the accept queue
    try:
        push = sock(ctx, zmqx.PUSH, reconnect_ivl=20, connect_timeout=timeout_ms)
        assert push.connect_timeout == timeout_ms
        push.connect("tcp://127.0.0.1:%d" % port)
        seen = {}                   # local port -> (first seen, last seen)
        t0 = time.monotonic()
        window = 1.2
        while time.monotonic() - t0 < window:
            now = time.monotonic()
            for p in _syn_sent_ports(port):
                seen.setdefault(p, [now, now])[1] = now
            push.poll(5)            # a bounded wait between samples of /proc
        assert seen, "the connect never reached SYN_SENT: the black hole did not work"
        if timeout_ms == 0:
            assert len(seen) == 1, seen
        else:
            # each attempt lives ~CONNECT_TIMEOUT, then RECONNECT_IVL (20-40 ms) passes:
            # 1.2 s / (150 + 40) ms >= 6 attempts; 3x slack for a loaded machine
            assert len(seen) >= 3, seen
            lives = sorted(b - a for a, b in seen.values())[:-1]   # the last is cut short
            # a life is seen between samples: up to one sample period shorter than it is
            assert all(lf <= 3 * timeout_ms / 1000 for lf in lives), lives
            assert max(lives) >= 0.5 * timeout_ms / 1000, lives
    finally:
        filler.close()
        lst.close()


def _own_tcp_fd_to(peer_addr, local_addr):
    """This process's socket fd whose connection is local_addr -> peer_addr, as a
    Python socket (a dup: zmqx's fd stays untouched)."""
    for name in os.listdir("/proc/self/fd"):
        try:
            if not os.readlink(f"/proc/self/fd/{name}").startswith("socket:"):
                continue
            s = socket.socket(fileno=os.dup(int(name)))
        except OSError:
            continue
        try:
            if s.family == socket.AF_INET and s.type == socket.SOCK_STREAM and \
                    s.getpeername() == peer_addr and s.getsockname() == local_addr:
                return s
        except OSError:
            pass
        s.close()
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/fd"), reason="needs Linux /proc")
@pytest.mark.parametrize("side", ["connecting", "bound"])
@pytest.mark.parametrize("keepalive", [1, -1])
def test_tcp_keepalive_lands_on_the_kernel_socket(ctx, side, keepalive):
    """TCP_KEEPALIVE(_IDLE/_CNT/_INTVL) are applied to zmqx's own connection fd: found
    through /proc/self/fd by its addresses, and read back with getsockopt."""
    opts = dict(tcp_keepalive=keepalive, tcp_keepalive_idle=37, tcp_keepalive_cnt=4,
                tcp_keepalive_intvl=6)
    if side == "connecting":
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        lst.listen(1)
        lst.settimeout(WAIT_MS / 1000)
        z = sock(ctx, zmqx.PUSH, **opts)
        z.connect("tcp://127.0.0.1:%d" % lst.getsockname()[1])
        raw, raw_peer = lst.accept()
        lst.close()
        zfd = _own_tcp_fd_to(raw.getsockname(), raw_peer)
    else:
        z, addr = bound(ctx, zmqx.PULL, "tcp://127.0.0.1:*", **opts)
        raw = socket.create_connection(("127.0.0.1", tcp_port(addr)), timeout=WAIT_MS / 1000)
        assert raw.recv(1) == b"\xff"      # accepted: zmqx's greeting has begun
        zfd = _own_tcp_fd_to(raw.getsockname(), raw.getpeername())
    try:
        assert zfd is not None, "zmqx's connection fd not found"
        assert zfd.getsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE) == (keepalive == 1)
        if keepalive == 1:
            assert zfd.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPIDLE) == 37
            assert zfd.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPCNT) == 4
            assert zfd.getsockopt(socket.IPPROTO_TCP, socket.TCP_KEEPINTVL) == 6
    finally:
        if zfd is not None:
            zfd.close()
        raw.close()


def test_maxmsgsize_drops_oversized(ctx, wire_endpoint):
    pull, addr = bound(ctx, zmqx.PULL, wire_endpoint, maxmsgsize=100)
    assert pull.getsockopt(zmqx.MAXMSGSIZE) == 100
    push = connected(ctx, zmqx.PUSH, addr)
    push.send(b"small")
    assert pull.recv() == b"small"
    push.send(b"B" * 1000)        # the PULL drops the connection instead of delivering
    for i in range(WAIT_MS // 200):
        push.send(b"s%d" % i)
        if pull.poll(200, zmqx.POLLIN):
            break
    while True:
        try:
            m = pull.recv(zmqx.NOBLOCK)
        except zmqx.Again:
            break
        assert m != b"B" * 1000
        assert m.startswith(b"s")


# ================================================================ 12. context

@pytest.mark.parametrize("blocked_in", ["recv", "send", "poll", "poller"])
def test_term_wakes_blocked_call(transport, ipc_dir, blocked_in):
    c = zmqx.Context()
    kind = zmqx.PUSH if blocked_in == "send" else zmqx.PULL
    s = c.socket(kind)
    s.bind(endpoint_for(transport, ipc_dir))
    started = threading.Event()
    outcome = {}

    def blocked():
        started.set()
        try:
            if blocked_in == "recv":
                s.recv()
            elif blocked_in == "send":
                s.send(b"x")
            elif blocked_in == "poll":
                s.poll()
            else:
                p = zmqx.Poller()
                p.register(s, zmqx.POLLIN)
                p.poll()
            outcome["returned"] = True
        except zmqx.ContextTerminated as e:
            outcome["error"] = e
        except BaseException as e:  # noqa: BLE001
            outcome["other"] = e
        finally:
            s.close()

    t = threading.Thread(target=blocked, daemon=True)
    t.start()
    started.wait(WAIT_MS / 1000)
    run_with_deadline(c.term, 10)
    t.join(WAIT_MS / 1000)
    assert not t.is_alive()
    assert "error" in outcome, outcome
    assert outcome["error"].errno == zmqx.ETERM
    assert c.closed


def test_socket_after_term_raises():
    c = zmqx.Context()
    c.term()
    assert c.closed
    with pytest.raises(zmqx.ZMQError):
        c.socket(zmqx.PUSH)


def test_context_manager(ipc_dir):
    with zmqx.Context() as c:
        pull = c.socket(zmqx.PULL)
        pull.bind(endpoint_for("inproc", ipc_dir))
        push = c.socket(zmqx.PUSH)
        push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
        push.send(b"in with")
        assert pull.recv() == b"in with"
        pull.close()
        push.close()
    assert c.closed


def test_context_manager_closes_leftover_sockets(ipc_dir):
    """pyzmq's Context.__exit__ is destroy(): leftover sockets are closed, not waited on."""
    c = zmqx.Context()
    s = c.socket(zmqx.PULL)
    s.bind(endpoint_for("tcp", ipc_dir))

    def use():
        with c:
            pass

    try:
        run_with_deadline(use, 2)
        assert s.closed
        assert c.closed
    finally:
        if not s.closed:
            s.close(linger=0)     # unblocks the hung term, if any


def test_context_instance_is_singleton():
    a = zmqx.Context.instance()
    b = zmqx.Context.instance()
    assert a is b
    assert isinstance(a, zmqx.Context)
    assert not a.closed


def test_destroy_closes_all_sockets(transport, ipc_dir, reserve):
    c = zmqx.Context()
    pull = c.socket(zmqx.PULL)
    pull.bind(endpoint_for(transport, ipc_dir))
    push = c.socket(zmqx.PUSH)
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT))
    stranded = c.socket(zmqx.PUSH)
    stranded.connect(reserve(transport).endpoint)
    for _ in range(10):
        stranded.send(b"never delivered", zmqx.NOBLOCK)
    pair = c.socket(zmqx.PAIR)
    socks = [pull, push, stranded, pair]
    run_with_deadline(lambda: c.destroy(linger=0), 10)
    assert all(s.closed for s in socks)
    assert c.closed


GC_SCRIPT = """
import gc, os, sys, threading, zmqx
c = zmqx.Context()
s = c.socket(zmqx.PULL)
s.bind(sys.argv[1])
cycle = [s]
cycle.append(cycle)          # only the cyclic garbage collector can free the socket now
del s, cycle
gc.collect()
t = threading.Thread(target=c.term, daemon=True)
t.start()
t.join(2)
print("open:", len(c._open_sockets()), "term:", "hung" if t.is_alive() else "returned", flush=True)
os._exit(0)
"""


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_socket_freed_by_gc_is_closed(transport, ipc_dir):
    """A socket that only the cyclic garbage collector frees must be closed and
    deregistered like one freed by `del`: otherwise term() waits for it forever.
    (In a subprocess: the hung term must not leak into the rest of the suite.)"""
    r = _run_python(GC_SCRIPT, endpoint_for(transport, ipc_dir))
    assert r.returncode == 0, r.stderr
    assert "open: 0 term: returned" in r.stdout, r.stdout + r.stderr


def test_interpreter_exit_is_clean():
    """A finished program leaves nothing on stderr (no 'Exception ignored in __del__')."""
    code = (
        "import zmqx\n"
        "c = zmqx.Context()\n"
        "pull = c.socket(zmqx.PULL); pull.bind('inproc://x')\n"
        "push = c.socket(zmqx.PUSH); push.connect('inproc://x')\n"
        "push.send(b'x'); assert pull.recv() == b'x'\n"
        "pull.close(); push.close(); c.term()\n"
    )
    r = _run_python(code)
    assert r.returncode == 0, r.stderr
    assert r.stderr == ""


def test_context_default_sockopts(ctx):
    ctx.setsockopt(zmqx.LINGER, 0)
    ctx.sndhwm = 17
    s = ctx.socket(zmqx.PUSH)
    assert s.getsockopt(zmqx.LINGER) == 0
    assert s.sndhwm == 17
    assert ctx.sndhwm == 17
    del ctx.sndhwm
    t = ctx.socket(zmqx.PUSH)
    assert t.sndhwm == 1000 and t.linger == 0
    s.close()
    t.close()


def test_socket_context_manager_and_random_port(ctx):
    with ctx.socket(zmqx.PULL) as pull:
        port = pull.bind_to_random_port("tcp://127.0.0.1")
        assert pull.getsockopt(zmqx.LAST_ENDPOINT) == b"tcp://127.0.0.1:%d" % port
        push = connected(ctx, zmqx.PUSH, f"tcp://127.0.0.1:{port}")
        push.send(b"x")
        pull.rcvtimeo = WAIT_MS
        assert pull.recv() == b"x"
    assert pull.closed
    push.close()


# ================================================================ 13. options

@pytest.mark.parametrize("kind", [zmqx.PAIR, zmqx.PUSH, zmqx.PULL])
def test_default_options(ctx, kind):
    s = ctx.socket(kind)
    assert s.getsockopt(zmqx.TYPE) == kind
    assert s.type == kind
    assert s.getsockopt(zmqx.SNDHWM) == 1000
    assert s.getsockopt(zmqx.RCVHWM) == 1000
    assert s.getsockopt(zmqx.LINGER) == -1
    assert s.getsockopt(zmqx.RCVTIMEO) == -1
    assert s.getsockopt(zmqx.SNDTIMEO) == -1
    assert s.getsockopt(zmqx.RCVMORE) == 0
    assert s.getsockopt(zmqx.MAXMSGSIZE) == -1
    assert s.getsockopt(zmqx.ROUTING_ID) == b""
    assert s.getsockopt(zmqx.LAST_ENDPOINT) == b""
    s.close()


def test_last_endpoint(ctx, endpoint):
    s, addr = bound(ctx, zmqx.PULL, endpoint)
    assert isinstance(addr, bytes)
    if endpoint.startswith("tcp"):
        assert addr.startswith(b"tcp://127.0.0.1:")
        assert 0 < tcp_port(addr) < 65536
    else:
        assert addr == endpoint.encode()
    assert s.last_endpoint == addr


def test_attribute_options(ctx):
    s = ctx.socket(zmqx.PUSH)
    s.sndhwm = 5
    assert s.sndhwm == 5 and s.getsockopt(zmqx.SNDHWM) == 5
    assert s.rcvhwm == 1000
    s.hwm = 7
    assert s.sndhwm == 7 and s.rcvhwm == 7 and s.hwm == 7
    s.set_hwm(9)
    assert s.get_hwm() == 9 and s.getsockopt(zmqx.RCVHWM) == 9
    s.linger = 0
    assert s.linger == 0 and s.getsockopt(zmqx.LINGER) == 0
    s.rcvtimeo = 123
    assert s.getsockopt(zmqx.RCVTIMEO) == 123
    s.setsockopt(zmqx.SNDTIMEO, 321)
    assert s.sndtimeo == 321
    s.maxmsgsize = 1 << 20
    assert s.getsockopt(zmqx.MAXMSGSIZE) == 1 << 20
    s.set(zmqx.MAXMSGSIZE, -1)
    assert s.get(zmqx.MAXMSGSIZE) == -1
    with pytest.raises(AttributeError):
        s.no_such_option
    with raises_errno(errno.EINVAL):
        s.sndhwm = -1
    s.close()


def test_unknown_option_einval(ctx):
    s = ctx.socket(zmqx.PUSH)
    for opt in (9999, -1):
        with raises_errno(errno.EINVAL):
            s.setsockopt(opt, 1)
        with raises_errno(errno.EINVAL):
            s.getsockopt(opt)
    with pytest.raises(TypeError):
        s.setsockopt(zmqx.LINGER, b"0")
    # the socket is fine afterwards
    s.setsockopt(zmqx.LINGER, 0)
    assert s.getsockopt(zmqx.LINGER) == 0
    s.close()


def test_routing_id(ctx):
    s = ctx.socket(zmqx.PAIR)
    assert zmqx.IDENTITY == zmqx.ROUTING_ID
    s.setsockopt(zmqx.ROUTING_ID, b"peer-1")
    assert s.getsockopt(zmqx.ROUTING_ID) == b"peer-1"
    assert s.getsockopt(zmqx.IDENTITY) == b"peer-1"
    s.setsockopt(zmqx.IDENTITY, b"\x01\xff")
    assert s.routing_id == b"\x01\xff"
    s.set_string(zmqx.ROUTING_ID, "caf\u00e9")
    assert s.getsockopt(zmqx.ROUTING_ID) == "caf\u00e9".encode()
    assert s.get_string(zmqx.ROUTING_ID) == "caf\u00e9"
    s.identity = b"via-attr"
    assert s.identity == b"via-attr"
    with pytest.raises(TypeError):
        s.setsockopt(zmqx.ROUTING_ID, "str is not bytes")
    with pytest.raises(TypeError):
        s.set_string(zmqx.ROUTING_ID, b"bytes")
    with pytest.raises(TypeError):
        s.get_string(zmqx.LINGER)
    with raises_errno(errno.EINVAL):
        s.setsockopt(zmqx.ROUTING_ID, b"x" * 256)
    assert s.getsockopt(zmqx.ROUTING_ID) == b"via-attr"
    s.close()


# ================================================================ 14. poller

class _FdHolder:
    def __init__(self, fd):
        self.fd = fd

    def fileno(self):
        return self.fd


def test_poller_sockets_and_fds(ctx, transport, ipc_dir):
    pulls, pushes = [], []
    for _ in range(3):
        p, a = bound(ctx, zmqx.PULL, endpoint_for(transport, ipc_dir))
        pulls.append(p)
        pushes.append(connected(ctx, zmqx.PUSH, a))
    r1, w1 = os.pipe()
    r2, w2 = os.pipe()
    holder = _FdHolder(r2)
    try:
        pushes[0].send(b"0")
        pushes[2].send(b"2")
        os.write(w1, b"!")
        # wait for arrival socket by socket, then the poller must see exactly these
        assert pulls[0].poll(WAIT_MS) == zmqx.POLLIN
        assert pulls[2].poll(WAIT_MS) == zmqx.POLLIN
        poller = zmqx.Poller()
        for p in pulls:
            poller.register(p, zmqx.POLLIN)
        poller.register(r1, zmqx.POLLIN)
        poller.register(holder, zmqx.POLLIN)
        assert pulls[1] in poller and holder in poller
        ready = dict(poller.poll(WAIT_MS))
        assert ready == {pulls[0]: zmqx.POLLIN, pulls[2]: zmqx.POLLIN, r1: zmqx.POLLIN}
        # a zero timeout gives the same answer without waiting
        assert dict(poller.poll(0)) == ready
        # consuming a message clears its readiness
        assert pulls[0].recv() == b"0"
        assert dict(poller.poll(0)) == {pulls[2]: zmqx.POLLIN, r1: zmqx.POLLIN}
        # unregister / modify
        poller.unregister(pulls[2])
        poller.modify(r1, zmqx.POLLOUT)
        assert pulls[2] not in poller
        assert dict(poller.poll(0)) == {}
        os.write(w2, b"!")
        # as pyzmq: an object registered through fileno() is reported as that fd
        assert dict(poller.poll(WAIT_MS)) == {r2: zmqx.POLLIN}
        pushes[1].send(b"1")
        ready = dict(poller.poll(WAIT_MS))
        while pulls[1] not in ready:        # the holder stays readable meanwhile
            ready = dict(poller.poll(WAIT_MS))
        assert ready == {r2: zmqx.POLLIN, pulls[1]: zmqx.POLLIN}
        poller.register(pulls[0], 0)        # flags 0 removes it
        assert pulls[0] not in poller
    finally:
        for fd in (r1, w1, r2, w2):
            os.close(fd)


def test_poll_timeout_nothing_ready(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    poller = zmqx.Poller()
    poller.register(pull, zmqx.POLLIN)
    t0 = time.monotonic()
    assert poller.poll(150) == []
    assert_elapsed(time.monotonic() - t0, 150, "Poller.poll")
    t0 = time.monotonic()
    assert zmqx.Poller().poll(150) == []
    assert_elapsed(time.monotonic() - t0, 150, "empty Poller.poll")
    t0 = time.monotonic()
    assert pull.poll(150) == 0
    assert_elapsed(time.monotonic() - t0, 150, "Socket.poll")
    t0 = time.monotonic()
    assert zmqx.select([pull], [], [], 0.15) == ([], [], [])
    assert_elapsed(time.monotonic() - t0, 150, "select")


def test_pollout(ctx, endpoint):
    push, addr = bound(ctx, zmqx.PUSH, endpoint)
    poller = zmqx.Poller()
    poller.register(push, zmqx.POLLIN | zmqx.POLLOUT)
    assert poller.poll(0) == []               # no peer: cannot send
    assert push.poll(0, zmqx.POLLOUT) == 0
    pull = connected(ctx, zmqx.PULL, addr)
    assert poller.poll(WAIT_MS) == [(push, zmqx.POLLOUT)]   # the peer's arrival wakes the poll
    assert push.poll(0, zmqx.POLLOUT) == zmqx.POLLOUT
    assert push.getsockopt(zmqx.EVENTS) & zmqx.POLLOUT
    push.send(b"x")
    assert pull.recv() == b"x"


def test_select(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    assert zmqx.select([pull], [], [], 0.05) == ([], [], [])
    rl, wl, xl = zmqx.select([pull], [push], [], 5)
    assert (rl, wl, xl) == ([], [push], [])
    push.send(b"x")
    rl, wl, xl = zmqx.select([pull], [], [], 5)
    assert rl == [pull] and wl == [] and xl == []
    assert pull.recv() == b"x"


def test_socket_poll(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    assert pull.poll(0) == 0                           # nothing sent yet
    assert pull.poll(0, zmqx.POLLIN) == 0
    assert pull.poll(0, zmqx.POLLOUT) == 0             # a PULL never reports POLLOUT
    push.send_multipart([b"a", b"b"])
    assert pull.poll(WAIT_MS) == zmqx.POLLIN
    assert pull.poll(0, zmqx.POLLIN | zmqx.POLLOUT) == zmqx.POLLIN
    assert pull.getsockopt(zmqx.EVENTS) == zmqx.POLLIN
    assert pull.recv() == b"a"
    assert pull.poll(0) == zmqx.POLLIN                 # the rest of the message
    assert pull.recv() == b"b"
    assert pull.poll(0) == 0
    assert pull.getsockopt(zmqx.EVENTS) == 0


def test_poller_wakes_on_arrival(ctx, endpoint):
    """A poll returns when another thread's message arrives (before or during the wait)."""
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    poller = zmqx.Poller()
    poller.register(pull, zmqx.POLLIN)
    go = threading.Event()
    errors = []

    def sender():
        go.wait(WAIT_MS / 1000)
        try:
            push.send(b"wake")
        except BaseException as e:  # noqa: BLE001
            errors.append(e)

    t = threading.Thread(target=sender, daemon=True)
    t.start()
    go.set()
    assert poller.poll(WAIT_MS) == [(pull, zmqx.POLLIN)]
    t.join(WAIT_MS / 1000)
    assert not errors
    assert pull.recv() == b"wake"


# ================================================================ 15. serialisation sugar

def test_string_json_pyobj(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    push.send_string("h\u00e9llo \u2603")
    assert pull.recv_string() == "h\u00e9llo \u2603"
    push.send_string("latin", encoding="latin-1")
    assert pull.recv() == b"latin"
    push.send_string("\u00e9", encoding="utf-16")
    assert pull.recv_string(encoding="utf-16") == "\u00e9"
    doc = {"a": [1, 2.5, None, True], "b": {"c": "\u00e9"}}
    push.send_json(doc)
    assert pull.recv_json() == doc
    obj = {"t": (1, 2), "s": {3, 4}, "b": b"\x00\xff"}
    push.send_pyobj(obj)
    assert pull.recv_pyobj() == obj
    push.send_pyobj(obj, protocol=2)
    raw = pull.recv()
    assert pickle.loads(raw) == obj


def test_send_multipart_rejects_non_buffer_atomically(ctx, endpoint):
    pull, addr = bound(ctx, zmqx.PULL, endpoint)
    push = connected(ctx, zmqx.PUSH, addr)
    for bad in ([b"a", 123, b"c"], [b"a", b"b", "str"], [object()], [b"a", None]):
        with pytest.raises(TypeError):
            push.send_multipart(bad)
    push.send_multipart([b"ok", b"x"])
    # had any part of the rejected messages gone out, it would prefix this message
    assert pull.recv_multipart() == [b"ok", b"x"]
    with pytest.raises(zmqx.Again):
        pull.recv(zmqx.NOBLOCK)
