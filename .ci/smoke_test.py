"""Smoke test for a built zmqx wheel (cibuildwheel's test-command, sdist check).

Imports zmqx, then moves a few messages PUSH -> PULL over inproc, tcp and
(outside Windows) ipc, and, when pyzmq is installed, over tcp between zmqx and
libzmq in both directions. Every receive has a timeout, so a broken build
fails instead of hanging. Run from outside the source tree, so that the
installed package is the one imported.
"""

import os
import sys
import tempfile

import zmqx as zmq
from zmqx.constants import SocketType
from zmqx.error import Again, ZMQError

TIMEOUT_MS = 5000
TIMEOUT_ERRORS = [Again]  # pyzmq's Again is added when pyzmq is present


def roundtrip(push_ctx, pull_ctx, bind_addr, label):
    pull = pull_ctx.socket(zmq.PULL)
    push = push_ctx.socket(zmq.PUSH)
    try:
        for s in (pull, push):
            s.setsockopt(zmq.LINGER, 0)
            s.setsockopt(zmq.RCVTIMEO, TIMEOUT_MS)
            s.setsockopt(zmq.SNDTIMEO, TIMEOUT_MS)
        if bind_addr.startswith("tcp://"):
            port = pull.bind_to_random_port(bind_addr)
            addr = f"{bind_addr}:{port}"
        else:
            pull.bind(bind_addr)
            addr = bind_addr
        push.connect(addr)
        sent = [b"hello", b"", b"x" * 100_000]
        for body in sent:
            push.send(body)
        push.send_multipart([b"a", b"b", b"c"])
        got = [pull.recv() for _ in sent]
        parts = pull.recv_multipart()
        assert got == sent, f"{label}: got {[len(g) for g in got]}"
        assert parts == [b"a", b"b", b"c"], f"{label}: multipart {parts!r}"
    except tuple(TIMEOUT_ERRORS):
        raise SystemExit(f"FAIL {label}: timed out after {TIMEOUT_MS} ms")
    finally:
        push.close()
        pull.close()
    print(f"ok  {label}")


def main():
    print(f"zmqx {getattr(zmq, '__version__', '?')} on Python {sys.version.split()[0]} ({sys.platform})")
    assert zmq.PUSH == SocketType.PUSH == 8
    assert issubclass(Again, ZMQError)

    ctx = zmq.Context()
    try:
        roundtrip(ctx, ctx, "inproc://smoke", "inproc")
        roundtrip(ctx, ctx, "tcp://127.0.0.1", "tcp")
        if sys.platform != "win32":
            with tempfile.TemporaryDirectory() as d:
                roundtrip(ctx, ctx, f"ipc://{os.path.join(d, 'smoke.sock')}", "ipc")

        try:
            import zmq as pyzmq  # libzmq, through pyzmq
        except ImportError:
            print("--  interop skipped: pyzmq not installed")
        else:
            TIMEOUT_ERRORS.append(pyzmq.Again)
            lctx = pyzmq.Context()
            try:
                roundtrip(ctx, lctx, "tcp://127.0.0.1", "tcp zmqx PUSH -> libzmq PULL")
                roundtrip(lctx, ctx, "tcp://127.0.0.1", "tcp libzmq PUSH -> zmqx PULL")
            finally:
                lctx.term()
    finally:
        ctx.term()
    print("smoke test passed")


if __name__ == "__main__":
    main()
