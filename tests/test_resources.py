"""Create-use-close cycles leave nothing behind: file descriptors, native threads (I/O
threads do not show in threading.active_count(), so /proc/self/task is counted), ipc
socket files, memory (RSS, since the engine allocates in C) and references to buffers
sent without copying."""

import gc
import os
import socket
import sys
import time

import pytest

import zmqx
from zmqx._core import io_thread
from zmqx._core.msg import _drain_release_queue

pytestmark = [
    pytest.mark.timeout(60),
    pytest.mark.skipif(not os.path.isdir("/proc/self/task"), reason="needs Linux /proc"),
]

TIMEOUT_MS = 5000
CYCLES = 30


# ---------------------------------------------------------------- measurements


def _fds():
    return len(os.listdir("/proc/self/fd"))


def _fd_targets():
    out = []
    for f in sorted(os.listdir("/proc/self/fd"), key=int):
        try:
            out.append(f + " -> " + os.readlink("/proc/self/fd/" + f))
        except OSError:
            pass        # the directory's own fd, gone already
    return out


def _tasks():
    return len(os.listdir("/proc/self/task"))


def _rss():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _settled(measure, target, timeout=5.0):
    """measure() once it equals target, or its last value after `timeout`. A joined thread
    can linger in /proc for a moment after pthread_join returns; this re-reads (yielding
    the CPU, no sleeping) rather than waiting a fixed time."""
    deadline = time.monotonic() + timeout
    value = measure()
    while value != target and time.monotonic() < deadline:
        os.sched_yield()
        value = measure()
    return value


def _baseline():
    gc.collect()
    return _fds(), _tasks()


def _assert_back_to(baseline, what):
    gc.collect()
    fds, tasks = baseline
    assert _settled(_fds, fds) == fds, (
        f"{what}: fds {fds} -> {_fds()}: {_fd_targets()}")
    assert _settled(_tasks, tasks) == tasks, f"{what}: tasks {tasks} -> {_tasks()}"


# ---------------------------------------------------------------- cycles


def _endpoint(transport, ipc_dir, i):
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    if transport == "ipc":
        return f"ipc://{ipc_dir}/r{i}"
    return f"inproc://resources-{os.getpid()}-{i}"


def _exchange(ctx, transport, ipc_dir, i, bind_pull=True):
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = TIMEOUT_MS
        s.sndtimeo = TIMEOUT_MS
    binder, connecter = (pull, push) if bind_pull else (push, pull)
    binder.bind(_endpoint(transport, ipc_dir, i))
    connecter.connect(binder.LAST_ENDPOINT)
    push.send_multipart([b"cycle", b"%d" % i])
    assert pull.recv_multipart() == [b"cycle", b"%d" % i]
    return pull, push


def _one_cycle(ipc_dir, i, during=None):
    ctx = zmqx.Context()
    socks = []
    try:
        for transport in ("tcp", "ipc", "inproc"):
            socks += _exchange(ctx, transport, ipc_dir, i, bind_pull=i % 2 == 0)
        if during is not None:
            during()
        for s in socks:
            s.close()
        assert all(s.closed for s in socks)
    finally:
        ctx.term()
    assert ctx.closed


def test_context_cycles_release_fds_and_threads(ipc_dir):
    _one_cycle(ipc_dir, -1)                    # warm-up: imports, lazy globals
    base = _baseline()

    seen = {}

    def during():
        # while a cycle's sockets are open there is more to release: the measurement
        # below is not vacuous
        seen["fds"], seen["tasks"] = _fds(), _tasks()

    for i in range(CYCLES):
        _one_cycle(ipc_dir, i, during if i == 0 else None)
    assert seen["fds"] > base[0] and seen["tasks"] > base[1], (seen, base)
    _assert_back_to(base, f"{CYCLES} context cycles")
    # the ipc socket files went with their sockets
    assert os.listdir(ipc_dir) == []


def test_context_cycles_without_explicit_socket_close(ipc_dir):
    """Sockets left open are closed by destroy(); nothing leaks."""
    _one_cycle(ipc_dir, -1)
    base = _baseline()

    def cycle(i):
        ctx = zmqx.Context()
        kept = []
        for transport in ("tcp", "ipc", "inproc"):
            kept += _exchange(ctx, transport, ipc_dir, i)
        ctx.destroy(linger=0)
        assert ctx.closed and all(s.closed for s in kept)

    for i in range(10):
        cycle(i)
    _assert_back_to(base, "destroy() cycles")
    assert os.listdir(ipc_dir) == []


def test_term_releases_every_fd(ipc_dir):
    """term() gives back every fd the context used, even while the Context object is still
    referenced (libzmq frees everything in zmq_ctx_term; a terminated context is unusable,
    so nothing it holds can be needed any more)."""
    _one_cycle(ipc_dir, -1)
    base = _baseline()
    ctx = zmqx.Context()
    for s in _exchange(ctx, "tcp", ipc_dir, 0):
        s.close()
    ctx.term()
    assert ctx.closed
    fds = _settled(_fds, base[0], timeout=1.0)
    assert fds == base[0], (
        f"terminated context still holds {fds - base[0]} fd(s): {_fd_targets()}")
    del ctx
    _assert_back_to(base, "terminated context")


def test_socket_cycles_in_one_context(ctx, ipc_dir):
    """Sockets opened and closed inside one long-lived context: the I/O thread stays, the
    per-socket and per-connection fds go."""
    _exchange(ctx, "tcp", ipc_dir, -1)[0].close()
    for s in ctx._open_sockets():
        s.close()
    base = _baseline()
    for i in range(CYCLES):
        for transport in ("tcp", "ipc", "inproc"):
            for s in _exchange(ctx, transport, ipc_dir, i, bind_pull=i % 2 == 1):
                s.close()
    _assert_back_to(base, "socket cycles")


def test_connect_disconnect_cycles(ctx):
    """One PUSH connecting to and disconnecting from a bound PULL, over and over: each
    state is measured with exactly one connection up (and proven up by a message)."""
    pull = ctx.socket(zmqx.PULL)
    pull.linger = 0
    pull.rcvtimeo = TIMEOUT_MS
    pull.bind("tcp://127.0.0.1:*")
    ep = pull.LAST_ENDPOINT
    push = ctx.socket(zmqx.PUSH)
    push.linger = 0
    base = None
    for i in range(CYCLES + 1):
        if i:
            push.disconnect(ep)
        push.connect(ep)
        push.send(b"%d" % i)
        assert pull.recv() == b"%d" % i
        if i == 0:
            base = _baseline()
    # the I/O thread handled each disconnect (and the PULL each EOF) before the handshake
    # of the connection that followed it
    _assert_back_to(base, "connect/disconnect cycles")


def test_bad_peers_leave_no_fds(ctx):
    """Connections the server drops for bad input are closed, not leaked."""
    pull = ctx.socket(zmqx.PULL)
    pull.linger = 0
    pull.rcvtimeo = TIMEOUT_MS
    pull.bind("tcp://127.0.0.1:*")
    host, port = pull.LAST_ENDPOINT.decode()[len("tcp://"):].rsplit(":", 1)
    base = _baseline()
    for i in range(CYCLES):
        with socket.create_connection((host, int(port)), timeout=5) as raw:
            raw.sendall(b"garbage that is not a greeting" if i % 2 else b"\xff" + b"\x00" * 8)
            if i % 2 == 0:
                raw.shutdown(socket.SHUT_WR)       # truncated greeting, then EOF
            while True:                             # until the server hangs up
                try:
                    if not raw.recv(4096):
                        break
                except ConnectionResetError:
                    break
    _assert_back_to(base, "dropped bad peers")


def _tcp_attempt_fails():
    """Refused tcp connects so far in this network namespace (/proc/net/snmp)."""
    with open("/proc/net/snmp") as f:
        rows = [line.split() for line in f if line.startswith("Tcp:")]
    return int(rows[1][rows[0].index("AttemptFails")])


@pytest.mark.skipif(not os.path.exists("/proc/net/snmp"), reason="needs Linux /proc/net/snmp")
def test_reconnecting_to_nothing_does_not_leak(ctx):
    """A socket retrying a dead endpoint every few ms holds at most one fd for it."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))            # held (not listening) while used: refused
        dead = "tcp://127.0.0.1:%d" % s.getsockname()[1]
        pull = ctx.socket(zmqx.PULL)
        pull.linger = 0
        pull.bind("tcp://127.0.0.1:*")       # starts the I/O thread before the baseline
        base = _baseline()
        per_signaler = 1 if io_thread.SIGNALER == "eventfd" else 2   # a pipe has two ends
        push = ctx.socket(zmqx.PUSH)
        push.linger = 0
        push.reconnect_ivl = 1
        start = _tcp_attempt_fails()
        push.connect(dead)
        # watch the fds until 100 connects were refused (the counter is shared with the
        # rest of the machine, so others may add to it: at least it can't undercount)
        deadline = time.monotonic() + 10
        while _tcp_attempt_fails() - start < 100:
            # the PUSH's mailbox (and FD) signalers and at most one attempt
            assert _fds() <= base[0] + 2 * per_signaler + 1
            assert time.monotonic() < deadline, "the PUSH stopped retrying"
            pull.poll(1)
        push.close()
        _assert_back_to(base, "reconnect attempts")


# ---------------------------------------------------------------- memory


def _pump(push, pull, n, body, copy, batch=100):
    for start in range(0, n, batch):
        k = min(batch, n - start)
        for _ in range(k):
            push.send(body, copy=copy)
        for _ in range(k):
            msg = pull.recv(copy=copy)
        assert len(msg) == len(body)


@pytest.mark.parametrize("copy", [True, False])
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_rss_bounded(ctx, transport, copy):
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = TIMEOUT_MS
        s.sndtimeo = TIMEOUT_MS
    pull.bind(_endpoint(transport, None, "rss-%s-%s" % (transport, copy)))
    push.connect(pull.LAST_ENDPOINT)
    body = os.urandom(1024)
    _pump(push, pull, 3000, body, copy)          # warm-up: pipes, chunks, buffers
    gc.collect()
    before = _rss()
    _pump(push, pull, 20000, body, copy)
    gc.collect()
    grown = _rss() - before
    # 20000 leaked 1 KiB bodies alone would be 20 MB
    assert grown < 8 * 1024 * 1024, f"RSS grew {grown / 1e6:.1f} MB"


@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_rss_bounded_zero_copy_large(ctx, transport):
    """Bodies above the copy threshold are sent without copying: 2000 x 128 KiB (250 MB of
    traffic) must not accumulate."""
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = TIMEOUT_MS
        s.sndtimeo = TIMEOUT_MS
    pull.bind(_endpoint(transport, None, "rssbig-%s" % transport))
    push.connect(pull.LAST_ENDPOINT)
    body = os.urandom(128 * 1024)
    assert len(body) >= zmqx.COPY_THRESHOLD
    _pump(push, pull, 200, body, False, batch=50)
    _drain_release_queue()
    gc.collect()
    before = _rss()
    _pump(push, pull, 2000, body, False, batch=50)
    _drain_release_queue()
    gc.collect()
    grown = _rss() - before
    assert grown < 20 * 1024 * 1024, f"RSS grew {grown / 1e6:.1f} MB"


# ---------------------------------------------------------------- zero-copy buffers


def _released(obj, base, timeout=5.0):
    """sys.getrefcount(obj) once it is back to `base`, draining the release queue (the I/O
    thread hands buffers back through it without the GIL)."""
    deadline = time.monotonic() + timeout
    while True:
        _drain_release_queue()
        n = sys.getrefcount(obj) - 1           # less this function's own reference
        if n <= base or time.monotonic() >= deadline:
            return n
        os.sched_yield()


@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp"])
def test_zero_copy_buffers_released(ctx, ipc_dir, transport):
    payload = os.urandom(100 * 1024)           # above COPY_THRESHOLD: really not copied
    assert len(payload) >= zmqx.COPY_THRESHOLD
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = TIMEOUT_MS
        s.sndtimeo = TIMEOUT_MS
    pull.bind(_endpoint(transport, ipc_dir, "zc"))
    push.connect(pull.LAST_ENDPOINT)
    base = sys.getrefcount(payload)

    pinned = 0
    for start in range(0, 1000, 100):
        for _ in range(100):
            push.send(payload, copy=False)
        pinned = max(pinned, sys.getrefcount(payload) - base)
        for _ in range(100):
            assert pull.recv() == payload
    # the sends held the buffer (zero copy happened) ...
    assert pinned > 0
    # ... and all of them let go of it
    assert _released(payload, base) == base


def test_zero_copy_received_frames_keep_buffer_alive(ctx):
    """inproc hands the sender's buffer to the receiver: frames received with copy=False
    keep it referenced exactly as long as they live."""
    payload = os.urandom(100 * 1024)
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = TIMEOUT_MS
    pull.bind("inproc://zc-frames")
    push.connect("inproc://zc-frames")
    base = sys.getrefcount(payload)
    for _ in range(50):
        push.send(payload, copy=False)
    frames = [pull.recv(copy=False) for _ in range(50)]
    _drain_release_queue()
    assert sys.getrefcount(payload) > base
    assert all(f.bytes == payload for f in frames)
    del frames
    assert _released(payload, base) == base


def test_tracked_zero_copy_send_completes(ctx):
    payload = bytearray(os.urandom(100 * 1024))
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = TIMEOUT_MS
    pull.bind("tcp://127.0.0.1:*")
    push.connect(pull.LAST_ENDPOINT)
    base = sys.getrefcount(payload)
    trackers = [push.send(payload, copy=False, track=True) for _ in range(20)]
    for _ in range(20):
        assert pull.recv() == bytes(payload)
    for t in trackers:
        t.wait(5)
        assert t.done
    assert _released(payload, base) == base
    # no longer exported: the bytearray may be resized again
    payload.extend(b"more")


def test_unsent_zero_copy_buffers_released_on_close(ctx):
    """Messages still queued when a socket closes with linger=0 give their buffers back."""
    payload = os.urandom(100 * 1024)
    push = ctx.socket(zmqx.PUSH)
    push.linger = 0
    push.sndhwm = 0
    held = socket.socket()
    held.bind(("127.0.0.1", 0))                 # held, not listening, while used
    dead = "tcp://127.0.0.1:%d" % held.getsockname()[1]
    push.connect(dead)                          # nobody there: everything stays queued
    base = sys.getrefcount(payload)
    for _ in range(100):
        push.send(payload, copy=False)
    assert sys.getrefcount(payload) >= base + 100
    push.close()
    assert _released(payload, base) == base
    # and an inproc peer that never reads
    pull = ctx.socket(zmqx.PULL)
    pull.bind("inproc://zc-unread")
    push2 = ctx.socket(zmqx.PUSH)
    push2.linger = 0
    push2.connect("inproc://zc-unread")
    for _ in range(100):
        push2.send(payload, copy=False)
    push2.close()
    pull.close(linger=0)
    assert _released(payload, base) == base
    held.close()
