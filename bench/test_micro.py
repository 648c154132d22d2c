"""pytest-benchmark microbenchmarks of the Python-level hot paths, zmqx vs pyzmq.

    pytest bench/ --benchmark-only
    pytest bench/ --benchmark-only --benchmark-columns=min,median,mean,ops,rounds

Not collected by the test suite (pyproject's testpaths is ``tests``).  Each
benchmark is parametrized over the implementations; one that does not import
is skipped.  Results come grouped per operation, so zmqx and pyzmq sit next to
each other.  These run in one process, one implementation after the other: they
are for profiling work, while speed claims come from sidebyside.py.
"""
import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidebyside import bench_cpus, load, pin  # noqa: E402

IMPLS = ["zmqx", "pyzmq"]
HWM = 1000
SMALL = b"x" * 64
BIG = b"x" * (1 << 20)
MULTI = [b"a" * 64, b"b" * 64, b"c" * 64]


@pytest.fixture(scope="module", autouse=True)
def _pinned():
    """Same CPUs as sidebyside.py's inproc cases; restored afterwards."""
    if not hasattr(os, "sched_setaffinity"):
        yield
        return
    before = os.sched_getaffinity(0)
    pin(set(bench_cpus()))
    yield
    pin(before)


@pytest.fixture(scope="module", params=IMPLS)
def zmq(request):
    try:
        return load(request.param)
    except Exception as e:  # noqa: BLE001 - any import problem means "skip"
        pytest.skip(f"{request.param} unavailable: {type(e).__name__}: {e}")


@pytest.fixture(scope="module")
def ctx(zmq):
    c = zmq.Context()
    yield c
    c.term()


@pytest.fixture
def push_pull(zmq, ctx):
    push = ctx.socket(zmq.PUSH)
    pull = ctx.socket(zmq.PULL)
    for s in (push, pull):
        s.setsockopt(zmq.SNDHWM, HWM)
        s.setsockopt(zmq.RCVHWM, HWM)
        s.setsockopt(zmq.LINGER, 0)
    ep = "inproc://micro-" + uuid.uuid4().hex
    pull.bind(ep)
    push.connect(ep)
    yield push, pull
    push.close()
    pull.close()


def _label(benchmark, zmq, group):
    benchmark.group = group
    benchmark.extra_info["impl"] = "zmqx" if zmq.__name__ == "zmqx" else "pyzmq"


def test_inproc_send_recv_64B(benchmark, zmq, push_pull):
    _label(benchmark, zmq, "inproc PUSH->PULL 64 B send+recv")
    push, pull = push_pull

    def roundtrip():
        push.send(SMALL)
        return pull.recv()

    assert benchmark(roundtrip) == SMALL


def test_inproc_multipart_3x64B(benchmark, zmq, push_pull):
    _label(benchmark, zmq, "inproc send_multipart+recv_multipart 3 x 64 B")
    push, pull = push_pull

    def roundtrip():
        push.send_multipart(MULTI)
        return pull.recv_multipart()

    assert benchmark(roundtrip) == MULTI


def test_frame_from_bytes_64B(benchmark, zmq):
    _label(benchmark, zmq, "Frame(b'x' * 64)")
    f = benchmark(zmq.Frame, SMALL)
    assert f.bytes == SMALL


def test_inproc_send_recv_1MiB_nocopy(benchmark, zmq, push_pull):
    _label(benchmark, zmq, "inproc PUSH->PULL 1 MiB send(copy=False)+recv(copy=False)")
    push, pull = push_pull

    def roundtrip():
        push.send(BIG, copy=False)
        return pull.recv(copy=False)

    assert len(benchmark(roundtrip)) == len(BIG)
