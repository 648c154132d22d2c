"""pytest-benchmark microbenchmarks of the engine's hot paths, for the CI benchmark gate.

    pytest bench/ --benchmark-only          # with test_micro.py
    python bench/ci.py                      # what CI runs: these, test_micro.py, sidebyside --quick

test_micro.py covers the socket API paths (inproc 64 B send+recv, multipart, Frame,
zero-copy 1 MiB) for zmqx and pyzmq; this file adds the layers under them, which have no
pyzmq counterpart: the ZMTP codec (through zmqx._core.zmtp's Python wrappers), the
lock-free pipe (zmqx._core.pipe.PipeTester), and a Poller over 10 sockets (zmqx and pyzmq).
A `calibration` benchmark (pure Python and memcpy, no zmqx) measures the machine itself:
bench/ci.py divides every time by it, so results from two machines of different speed
still compare.
"""
import os
import sys
import uuid

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from sidebyside import load  # noqa: E402

SMALL = b"x" * 64
MULTI = [b"a" * 64, b"b" * 64, b"c" * 64]


@pytest.fixture(scope="module")
def zmqx():
    try:
        return load("zmqx")
    except Exception as e:  # noqa: BLE001 - any import problem means "skip"
        pytest.skip(f"zmqx unavailable: {type(e).__name__}: {e}")


@pytest.fixture(scope="module")
def zmtp(zmqx):
    import importlib
    return importlib.import_module("zmqx._core.zmtp")


@pytest.fixture(scope="module")
def pipe_mod(zmqx):
    import importlib
    return importlib.import_module("zmqx._core.pipe")


def _label(benchmark, impl, group):
    benchmark.group = group
    benchmark.extra_info["impl"] = impl


def test_calibration(benchmark):
    """The machine's speed: interpreter work plus a 64 KiB copy, no zmqx involved."""
    _label(benchmark, "calibration", "calibration (pure Python + 64 KiB copy)")
    block = bytes(range(256)) * 256

    def work():
        d = {}
        for i in range(200):
            d[i] = i * 3
        return sum(d.values()) + len(bytes(bytearray(block)))

    assert benchmark(work) == sum(i * 3 for i in range(200)) + len(block)


def test_zmtp_encode_frame_64B(benchmark, zmtp):
    _label(benchmark, "zmqx", "zmtp encode_frame 64 B")
    out = benchmark(zmtp.encode_frame, SMALL, True)
    assert out == b"\x01\x40" + SMALL


def test_zmtp_decode_3x64B(benchmark, zmtp):
    _label(benchmark, "zmqx", "zmtp Decoder.feed 3 x 64 B message")
    wire = b"".join(zmtp.encode_frame(p, i < 2) for i, p in enumerate(MULTI))
    dec = zmtp.Decoder()

    def decode():
        return dec.feed(wire)

    assert benchmark(decode) == [("message", MULTI)]


def test_zmtp_decode_frame_header(benchmark, zmtp):
    _label(benchmark, "zmqx", "zmtp decode_frame_header (long)")
    header = zmtp.encode_frame_header(1 << 20, more=True)
    assert benchmark(zmtp.decode_frame_header, header) == (3, 1 << 20, 9)


def test_pipe_write_flush_read_64B(benchmark, pipe_mod):
    _label(benchmark, "zmqx", "pipe write+flush+read 64 B")
    p = pipe_mod.PipeTester(1000)

    def cycle():
        p.write(SMALL)
        p.flush()
        return p.read()

    assert benchmark(cycle) == (SMALL, False)


def test_pipe_write_read_3_frames(benchmark, pipe_mod):
    _label(benchmark, "zmqx", "pipe 3-frame message write+flush+read")
    p = pipe_mod.PipeTester(1000)

    def cycle():
        p.write(MULTI[0], True)
        p.write(MULTI[1], True)
        p.write(MULTI[2])
        p.flush()
        return [p.read(), p.read(), p.read()]

    assert benchmark(cycle) == [(MULTI[0], True), (MULTI[1], True), (MULTI[2], False)]


@pytest.fixture(scope="module", params=["zmqx", "pyzmq"])
def impl(request):
    try:
        return request.param, load(request.param)
    except Exception as e:  # noqa: BLE001
        pytest.skip(f"{request.param} unavailable: {type(e).__name__}: {e}")


def test_poll_10_sockets_one_ready(benchmark, impl):
    """Poller over 10 PULL sockets, a message on the last one: send, poll, recv."""
    name, zmq = impl
    _label(benchmark, name, "Poller over 10 inproc sockets, 1 ready: send+poll+recv")
    ctx = zmq.Context()
    pulls, pushes = [], []
    try:
        poller = zmq.Poller()
        for _ in range(10):
            pull, push = ctx.socket(zmq.PULL), ctx.socket(zmq.PUSH)
            for s in (pull, push):
                s.setsockopt(zmq.LINGER, 0)
            ep = "inproc://poll-" + uuid.uuid4().hex
            pull.bind(ep)
            push.connect(ep)
            poller.register(pull, zmq.POLLIN)
            pulls.append(pull)
            pushes.append(push)
        push, pull = pushes[-1], pulls[-1]

        def cycle():
            push.send(SMALL)
            events = poller.poll(1000)
            assert len(events) == 1
            return pull.recv()

        assert benchmark(cycle) == SMALL
    finally:
        for s in pulls + pushes:
            s.close()
        ctx.term()
