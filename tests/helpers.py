"""Socket helpers shared by the test modules: every socket made here has LINGER=0 and
bounded blocking calls, so a failure raises Again instead of hanging the suite."""

import contextlib

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


def assert_quiet(s, ms=300):
    """Nothing arrives on s for `ms`."""
    assert s.poll(ms, zmqx.POLLIN) == 0
    with pytest.raises(zmqx.Again):
        s.recv(zmqx.NOBLOCK)


def recv_until(s, marker):
    """Every message received before `marker` (single frames)."""
    out = []
    while True:
        m = s.recv()
        if m == marker:
            return out
        out.append(m)


class KeepSockets:
    """A pyzmq context that keeps every socket it made open until it is destroyed: no
    libzmq peer hangs up (garbage-collected) while a zmqx test is still tearing down."""

    def __init__(self, zctx):
        self._zctx = zctx
        self._kept = []

    def socket(self, *args, **kwargs):
        s = self._zctx.socket(*args, **kwargs)
        self._kept.append(s)
        return s

    def __getattr__(self, name):
        return getattr(self._zctx, name)
