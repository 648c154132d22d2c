"""Ctrl-C (SIGINT) and SIGTERM during blocking calls: KeyboardInterrupt (or the handler)
runs promptly and the socket stays usable. Each case runs in a child process that reports
over a pipe; the parent sends the signal once the child says it is about to block."""

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

pytestmark = [pytest.mark.timeout(60), pytest.mark.skipif(os.name == "nt", reason="POSIX signals")]

CHILD = textwrap.dedent(
    """
    import sys, time, signal
    import zmqx as zmq
    ctx = zmq.Context()
    op = sys.argv[1]
    a = ctx.socket(zmq.PULL if op in ("recv", "recv_multipart", "poll", "poller") else zmq.PUSH)
    if op == "send":
        # small kernel buffers: the fill below (and the drain after it) stays a few thousand
        # messages rather than the hundreds of thousands default buffers hold
        a.sndbuf = 4096
    a.bind("tcp://127.0.0.1:*")
    if op == "send":
        a.sndhwm = 1
        b = ctx.socket(zmq.PULL); b.rcvhwm = 1; b.rcvbuf = 4096; b.connect(a.last_endpoint)
        a.send(b"fill")                     # the HWM is reached: the next send blocks
        while a.poll(50, zmq.POLLOUT):
            a.send(b"fill", zmq.NOBLOCK)
    if op == "sigterm":
        signal.signal(signal.SIGTERM, lambda *a: (_ for _ in ()).throw(SystemExit(7)))
    print("blocking", flush=True)
    t0 = time.monotonic()
    try:
        if op in ("recv", "sigterm"):
            a_recv = ctx.socket(zmq.PULL) if op == "sigterm" else a
            if op == "sigterm":
                a_recv.bind("tcp://127.0.0.1:*")
            a_recv.recv()
        elif op == "recv_multipart":
            a.recv_multipart()
        elif op == "send":
            a.send(b"blocked")
        elif op == "poll":
            a.poll()
        elif op == "poller":
            p = zmq.Poller(); p.register(a, zmq.POLLIN); p.poll()
        elif op == "term":
            s = ctx.socket(zmq.PUSH); s.connect("tcp://127.0.0.1:9")  # never connects
            s.send(b"stuck")                                         # linger -1: term blocks
            a.close()
            ctx.term()
    except KeyboardInterrupt:
        print("interrupted %.6f" % time.monotonic(), flush=True)
    except SystemExit as e:
        print("sigterm %s %.3f" % (e.code, time.monotonic() - t0), flush=True)
    else:
        print("returned", flush=True)
    if op in ("recv", "recv_multipart", "poll", "poller"):
        # the socket still works after the interrupt
        c = ctx.socket(zmq.PUSH); c.connect(a.last_endpoint); c.send(b"after")
        a.rcvtimeo = 5000
        print("usable", a.recv() == b"after", flush=True)
        c.close(0)
    if op == "send":
        # the socket still works after the interrupt: drain the peer while sending a
        # marker; the interrupted message was not queued, so only fills precede it
        b.rcvtimeo = 5000
        got = []
        while True:
            try:
                a.send(b"after", zmq.NOBLOCK)
                break
            except zmq.Again:
                got.append(b.recv())
        while True:
            m = b.recv()
            if m == b"after":
                break
            got.append(m)
        print("usable", bool(got) and set(got) == {b"fill"}, flush=True)
    ctx.destroy(linger=0)
    """
)


def wait_until_blocked(pid, timeout=10.0):
    """Wait until the child's main thread sleeps in a poll() system call (read from
    /proc), so the signal really lands in the blocking wait under test."""
    deadline = time.monotonic() + timeout
    path = f"/proc/{pid}/task/{pid}/wchan"
    while time.monotonic() < deadline:
        try:
            with open(path) as f:
                if "poll" in f.read():
                    return
        except OSError:
            pass
        time.sleep(0.001)       # polling a condition, not standing in for one
    raise AssertionError("child never blocked in poll()")


def run_child(op, sig=signal.SIGINT):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.getcwd(), env.get("PYTHONPATH", "")])
    p = subprocess.Popen([sys.executable, "-c", CHILD, op], stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, env=env)
    try:
        line = p.stdout.readline()
        assert line.strip() == "blocking", (line, p.stderr.read())
        wait_until_blocked(p.pid)
        sent = time.monotonic()
        p.send_signal(sig)
        out, err = p.communicate(timeout=20)
        return out.split("\n"), err, sent
    finally:
        if p.poll() is None:
            p.kill()


@pytest.mark.parametrize("op", ["recv", "recv_multipart", "send", "poll", "poller"])
def test_sigint_interrupts_blocking_call_and_socket_stays_usable(op):
    lines, err, _ = run_child(op)
    assert lines[0].startswith("interrupted"), (lines, err)
    assert lines[1] == "usable True", (lines, err)


def test_sigint_interrupts_term():
    lines, err, elapsed = run_child("term")
    assert lines[0].startswith("interrupted"), (lines, err)


def test_sigterm_handler_runs_during_recv():
    lines, err, _ = run_child("sigterm", signal.SIGTERM)
    assert lines[0].startswith("sigterm 7"), (lines, err)


def test_interrupt_is_prompt():
    # the signal is handled while waiting (CLOCK_MONOTONIC is shared between processes)
    lines, err, sent = run_child("recv")
    latency = float(lines[0].split()[1]) - sent
    assert latency < 0.1, lines
