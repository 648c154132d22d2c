"""What the test modules share, so that every check is bounded and able to fail:

- sockets with LINGER=0 and bounded blocking calls (a failure raises Again, never hangs);
- timing (assert_elapsed: 0.8x-3x of a configured wait) and HWM bounds over a wire
  (wire_hwm_bound, SMALL_BUFS), each derived and explained where it is defined;
- positive controls for "nothing arrives" (assert_first: a marker is the next message;
  assert_empty: nothing queued now, without waiting);
- endpoints nobody listens on, held for the test (Reserved: no bind-then-close ports);
- a libzmq peer in a child process (LibzmqPeer);
- hypothesis as an optional import (hypothesis_api: @given tests skip loudly)."""

import contextlib
import os
import socket

import pytest

import zmqx

WAIT_MS = 5000          # upper bound for "this must happen": only reached on failure


def sock(ctx, kind, **opts):
    """A socket with LINGER=0 and RCVTIMEO/SNDTIMEO = WAIT_MS; opts are option names."""
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = WAIT_MS
    s.sndtimeo = WAIT_MS
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def bound(ctx, kind, endpoint, **opts):
    """A bound socket and its LAST_ENDPOINT (bytes) for the connecting side."""
    s = sock(ctx, kind, **opts)
    s.bind(endpoint)
    return s, s.getsockopt(zmqx.LAST_ENDPOINT)


def connected(ctx, kind, addr, **opts):
    s = sock(ctx, kind, **opts)
    s.connect(addr)
    return s


@contextlib.contextmanager
def raises_errno(code):
    """pytest.raises(ZMQError) plus an errno check, without keeping the exception (and so
    the test's frame and its sockets) alive in a reference cycle: tests must not depend on
    how the cyclic GC disposes of sockets (test_socket_freed_by_gc_is_closed found it once
    didn't)."""
    try:
        yield
    except zmqx.ZMQError as e:
        if code is not None:
            assert e.errno == code, f"errno {e.errno} ({e}), expected {code}"
    else:
        pytest.fail(f"did not raise ZMQError (errno {code})")


# Timing checks: a configured wait must not end early and must not overrun it by much.
# 0.8x allows for clock granularity (the engine rounds to whole milliseconds); 3x leaves
# room for a loaded 2-core machine while still failing if the option is ignored (an
# infinite or default wait) or applied with the wrong unit (seconds vs ms).
EARLY, LATE = 0.8, 3.0


def assert_elapsed(elapsed, ms, what="wait"):
    """`elapsed` (seconds) is within [0.8, 3] x the configured `ms`."""
    lo, hi = EARLY * ms / 1000, LATE * ms / 1000
    assert lo <= elapsed <= hi, f"{what}: {elapsed * 1000:.0f} ms for a {ms} ms setting"


# ---------------------------------------------------------------- HWM over a wire
# Over ipc/tcp a message is not only in the two pipes (SNDHWM on the sender, RCVHWM on the
# receiver): it can also be staged in the sending engine, in the kernel, or in the
# receiving engine. Tests shrink the kernel's share with small socket buffers (SMALL_BUFS
# on both ends) and allow exactly this much on top of the two HWMs:
#   - the sending engine stages one write batch taken from its pipe: bodies up to
#     SMALL_BODY are copied into a STAGE-byte buffer, larger ones are referenced by an
#     iovec (two per message, IOV_MAX - 4 in all), whatever the HWM is. While it stages,
#     the application refills the pipe, so the batch is bounded by these sizes, not by
#     SNDHWM (libzmq stages one large message at a time; see the tests' report);
#   - the kernel: Linux doubles SO_SNDBUF/SO_RCVBUF and accounts overhead inside them, and
#     loopback tcp may queue one 64 KiB segment past the limit: 2 x (SNDBUF + RCVBUF)
#     + 64 KiB bytes in flight at most;
#   - the receiving engine reads ahead up to RBUF bytes and holds one decoded message
#     that its full pipe refused;
#   - +1 for a message cut across two of these places.
SMALL_BUFS = dict(sndbuf=8192, rcvbuf=8192)
RBUF = STAGE = 65536    # zmqx's read-ahead and write stage per connection
SMALL_BODY = 2048       # bodies up to this are copied into the write stage
IOV_MAX = 64            # iovecs per write batch


def wire_hwm_bound(sndhwm, rcvhwm, size, sndbuf=8192, rcvbuf=8192):
    """The most messages of `size` bytes a sender can have accepted while the receiver
    reads nothing, over ipc/tcp with these socket buffers on both ends."""
    if size > SMALL_BODY:
        batch = (IOV_MAX - 4) // 2
    else:
        batch = STAGE // (size + 9) + 1
    in_bytes = 2 * (sndbuf + rcvbuf) + 65536 + RBUF
    return sndhwm + rcvhwm + batch + 1 + -(-in_bytes // size) + 1


def assert_empty(s):
    """Nothing is queued on s *now* (no waiting): used after a positive control (a marker
    sent after the thing that must not arrive has itself arrived)."""
    assert s.poll(0, zmqx.POLLIN) == 0
    try:                        # zmqx.Again, or zmq.Again for a pyzmq socket
        got = s.recv(zmqx.NOBLOCK)
    except Exception as e:      # noqa: BLE001
        assert type(e).__name__ == "Again", e
    else:
        pytest.fail(f"unexpected message {got!r}")


def assert_first(s, marker):
    """The next message on s is `marker` (bytes or list of frames), then nothing else is
    queued: whatever was sent before the marker on the same path did not arrive."""
    want = marker if isinstance(marker, list) else [marker]
    got = s.recv_multipart()
    assert got == want, f"expected the marker {want!r} first, got {got!r}"
    assert_empty(s)


def recv_until(s, marker):
    """Every message received before `marker` (single frames)."""
    out = []
    while True:
        m = s.recv()
        if m == marker:
            return out
        out.append(m)


class Reserved:
    """An endpoint nobody listens on, for the duration of a test.

    tcp: a plain socket stays bound (not listening) to an OS-chosen port, so a connect is
    refused and no other test can be given that port; `release()` frees it just before a
    test binds it itself. ipc: a path in the test's temp dir. inproc: a unique name."""

    def __init__(self, transport, ipc_dir, name):
        self._raw = None
        if transport == "tcp":
            self._raw = socket.socket()
            self._raw.bind(("127.0.0.1", 0))
            self.endpoint = "tcp://127.0.0.1:%d" % self._raw.getsockname()[1]
        elif transport == "ipc":
            self.endpoint = "ipc://" + os.path.join(ipc_dir, name)
        else:
            self.endpoint = f"inproc://{name}-{os.getpid()}-{id(self)}"

    def release(self):
        """Free the address for a bind that follows at once."""
        if self._raw is not None:
            self._raw.close()
            self._raw = None
        return self.endpoint


# ---------------------------------------------------------------- libzmq in another process

_PEER_SCRIPT = r"""
import sys, zmq
kind, how, endpoint = sys.argv[1:4]
ctx = zmq.Context()
s = ctx.socket(getattr(zmq, kind))
s.linger = 0
s.rcvtimeo = 10000
s.sndtimeo = 10000
getattr(s, how)(endpoint)
print("ready", s.getsockopt(zmq.LAST_ENDPOINT).decode(), flush=True)
for line in sys.stdin:
    cmd, _, arg = line.strip().partition(" ")
    if cmd == "send":
        s.send_multipart([bytes.fromhex(h) for h in arg.split(",")])
        print("sent", flush=True)
    elif cmd == "recv":
        try:
            print("msg", ",".join(f.hex() for f in s.recv_multipart()), flush=True)
        except zmq.Again:
            print("timeout", flush=True)
    elif cmd == "subscribe":
        s.subscribe(bytes.fromhex(arg))
        print("subscribed", flush=True)
    elif cmd == "close":
        break
s.close()
ctx.term()
print("closed", flush=True)
"""


class LibzmqPeer:
    """A libzmq socket (pyzmq) in a child Python process, driven by lines on its stdin.

    The child prints "ready <LAST_ENDPOINT>" once bound or connected; each command is
    answered by one line, so every call here is synchronised on the child's reply. The
    peer's process can also be killed outright (kill()): a peer that dies without closing
    anything, which no in-process test can do."""

    def __init__(self, kind, how, endpoint, timeout=15):
        import subprocess
        import sys

        self.proc = subprocess.Popen(
            [sys.executable, "-c", _PEER_SCRIPT, kind, how, endpoint],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        self.timeout = timeout
        word, _, rest = self._line().partition(" ")
        assert word == "ready", (word, rest, self._stderr())
        self.endpoint = rest

    def _stderr(self):
        if self.proc.poll() is None:
            return ""
        return self.proc.stderr.read()[-2000:]

    def _line(self):
        import select

        r, _, _ = select.select([self.proc.stdout], [], [], self.timeout)
        assert r, f"libzmq peer did not answer within {self.timeout}s"
        line = self.proc.stdout.readline()
        assert line, f"libzmq peer exited: {self._stderr()}"
        return line.rstrip("\n")

    def _cmd(self, line):
        self.proc.stdin.write(line + "\n")
        self.proc.stdin.flush()
        return self._line()

    def send(self, frames):
        assert self._cmd("send " + ",".join(f.hex() for f in frames)) == "sent"

    def recv(self):
        """The next message (list of frames), or None if none came within 10 s."""
        reply = self._cmd("recv")
        if reply == "timeout":
            return None
        word, _, rest = reply.partition(" ")
        assert word == "msg", reply
        return [bytes.fromhex(h) for h in rest.split(",")]

    def subscribe(self, topic):
        assert self._cmd("subscribe " + topic.hex()) == "subscribed"

    def close(self):
        if self.proc.poll() is None:
            assert self._cmd("close") == "closed"
            self.proc.wait(self.timeout)
        self._cleanup()

    def kill(self):
        self.proc.kill()
        self.proc.wait(self.timeout)
        self._cleanup()

    def _cleanup(self):
        for f in (self.proc.stdin, self.proc.stdout, self.proc.stderr):
            try:
                f.close()
            except OSError:
                pass


# ---------------------------------------------------------------- hypothesis (test extra)
# The property tests need hypothesis (in the `test` extra: pip install -e '.[test]').
# Without it the modules still import: each @given test is skipped with NO_HYPOTHESIS as
# the reason (shown by -ra, and in the session header by conftest.py), and every other
# test in those modules runs.

NO_HYPOTHESIS = ("hypothesis is not installed: property-based test skipped "
                 "(install the test extra: pip install -e '.[test]')")


class _Inert:
    """Stands in for strategies and HealthCheck at import time when hypothesis is absent:
    any attribute, call or combination gives another _Inert."""

    def __getattr__(self, name):
        return self

    def __call__(self, *args, **kwargs):
        return self

    def __or__(self, other):
        return self

    __ror__ = __or__


def hypothesis_api():
    """(given, settings, strategies, HealthCheck, assume): hypothesis's own, or stand-ins
    that mark each @given test skipped with NO_HYPOTHESIS."""
    try:
        import hypothesis
        from hypothesis import strategies
    except ImportError:
        def given(*args, **kwargs):
            return lambda fn: pytest.mark.skip(reason=NO_HYPOTHESIS)(fn)

        def settings(*args, **kwargs):
            return lambda fn: fn

        settings.register_profile = settings.load_profile = lambda *a, **k: None
        return given, settings, _Inert(), _Inert(), lambda *a, **k: True
    return (hypothesis.given, hypothesis.settings, strategies, hypothesis.HealthCheck,
            hypothesis.assume)
