"""Adaptive spinning (spin_us): a blocking wait keeps looking for up to spin_us before it
sleeps, unless the wait before it was longer than that, and an I/O thread keeps looking for spin_us after traffic.

The waits are counted in Socket.stats() (waits, waits_spun, waits_ended_spinning), so the
tests check what each wait did rather than how long a round trip took. Bounds are chosen so
that the outcome does not depend on the machine's speed: a spin bound of one second is
always longer than an echo on the same machine, and a spin of 0 never spins."""

import os
import subprocess
import sys
import threading
import time

import pytest

import zmqx

from helpers import WAIT_MS


def _echo_pair(ctx, transport, tmp_path):
    rep = ctx.socket(zmqx.REP)
    rep.linger = 0
    if transport == "inproc":
        rep.bind(f"inproc://spin-{id(rep)}")
    elif transport == "ipc":
        rep.bind(f"ipc://{tmp_path}/spin")
    else:
        rep.bind("tcp://127.0.0.1:*")
    req = ctx.socket(zmqx.REQ)
    req.linger = 0
    req.rcvtimeo = WAIT_MS
    req.connect(rep.last_endpoint)
    return req, rep


def _serve(rep, n):
    rep.rcvtimeo = WAIT_MS
    for _ in range(n):
        rep.send(rep.recv())


@pytest.fixture
def ctx():
    c = zmqx.Context()
    yield c
    c.destroy(linger=0)


# ---------------------------------------------------------------- settings

def test_defaults_come_from_the_context_and_are_per_socket(ctx):
    assert ctx.spin_us == 50.0              # (ZMQX_SPIN_US is not set for the tests)
    a = ctx.socket(zmqx.PAIR)
    assert a.spin_us == 50.0
    ctx.spin_us = 7.5
    b = ctx.socket(zmqx.PAIR)
    assert (a.spin_us, b.spin_us) == (50.0, 7.5)     # a socket keeps the value it was made with
    a.spin_us = 0
    assert (a.spin_us, b.spin_us, ctx.spin_us) == (0.0, 7.5, 7.5)
    # a shadow reads and writes the live socket's setting
    sh = zmqx.Socket.shadow(b.underlying)
    sh.spin_us = 3
    assert b.spin_us == 3.0
    for bad in (-1, 1e6 + 1, "fast"):
        with pytest.raises(ValueError):
            b.spin_us = bad
        with pytest.raises(ValueError):
            ctx.spin_us = bad
    assert b.spin_us == 3.0 and ctx.spin_us == 7.5   # a refused value changes nothing
    a.close()
    b.close()


@pytest.mark.parametrize("value, expected, warns", [("7", 7.0, False), ("0", 0.0, False),
                                                    ("lots", 50.0, True)])
def test_the_process_default_comes_from_ZMQX_SPIN_US(value, expected, warns):
    code = ("import zmqx\n"
            "c = zmqx.Context(); s = c.socket(zmqx.PAIR)\n"
            "print(c.spin_us, s.spin_us)\n"
            "s.close(); c.term()\n")
    env = dict(os.environ, ZMQX_SPIN_US=value, PYTHONWARNINGS="always")
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == [str(expected), str(expected)]
    assert ("ZMQX_SPIN_US" in out.stderr) == warns


# ---------------------------------------------------------------- what a wait does

@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp"])
def test_inproc_waits_spin_and_end_while_spinning_network_ones_do_not(ctx, transport,
                                                                       tmp_path):
    req, rep = _echo_pair(ctx, transport, tmp_path)
    req.spin_us = 1_000_000      # one second: longer than any echo here, so every wait that
    n = 30                       # spins also ends while spinning
    t = threading.Thread(target=_serve, args=(rep, n))
    t.start()
    try:
        for i in range(n):
            req.send(b"%d" % i)
            assert req.recv() == b"%d" % i
    finally:
        t.join(WAIT_MS / 1000)
    st = req.stats()
    # (the echo needs the GIL this thread holds until it waits: each recv waits)
    assert st["waits"] >= n
    if transport == "inproc":
        assert st["waits_spun"] == st["waits"]
        assert st["waits_ended_spinning"] == st["waits_spun"]
    else:
        # a peer behind the I/O thread: that thread spins, this one sleeps at once (it
        # would only take CPU from the I/O thread when they share one)
        assert st["waits_spun"] == 0


def test_spin_zero_never_spins(ctx, tmp_path):
    req, rep = _echo_pair(ctx, "inproc", tmp_path)
    req.spin_us = 0
    t = threading.Thread(target=_serve, args=(rep, 20))
    t.start()
    try:
        for i in range(20):
            req.send(b"x")
            req.recv()
    finally:
        t.join(WAIT_MS / 1000)
    pull = ctx.socket(zmqx.PULL)
    pull.spin_us = 0
    pull.rcvtimeo = 20
    with pytest.raises(zmqx.Again):
        pull.recv()                       # a wait that surely happened
    assert pull.stats()["waits"] >= 1 and pull.stats()["waits_spun"] == 0
    assert req.stats()["waits_spun"] == 0
    pull.close()


def test_a_long_wait_stops_the_spinning_and_no_spin_outlasts_the_timeout(ctx, tmp_path):
    pull = ctx.socket(zmqx.PULL)
    pull.spin_us = 1_000_000
    pull.bind(f"inproc://spin-long-{id(pull)}")
    push = ctx.socket(zmqx.PUSH)
    push.connect(pull.last_endpoint)
    push.send(b"m")
    assert pull.poll(WAIT_MS) == zmqx.POLLIN   # (no wait, or a short one: spinning stays on)
    assert pull.recv() == b"m"
    before = pull.stats()
    pull.rcvtimeo = 100
    t0 = time.monotonic()
    with pytest.raises(zmqx.Again):
        pull.recv()
    elapsed = time.monotonic() - t0
    # it spun (no long wait before it), but not past RCVTIMEO, far below the 1 s bound
    assert 0.09 <= elapsed < 0.6, elapsed
    mid = pull.stats()
    assert mid["waits_spun"] > before["waits_spun"]
    # that wait was long (it timed out): the next one sleeps at once
    with pytest.raises(zmqx.Again):
        pull.recv()
    after = pull.stats()
    assert after["waits"] > mid["waits"]
    assert after["waits_spun"] == mid["waits_spun"]
    push.close()
    pull.close()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads CPU time of threads")
def test_the_io_thread_keeps_looking_after_traffic_for_spin_us(tmp_path):
    """With a long spin_us the I/O thread stays busy after a round trip; with 0 it sleeps.
    Measured as the process's CPU time while the app thread itself sleeps (its own
    spinning is off), over 200 ms."""

    def cpu_after_traffic(spin_us):
        c = zmqx.Context()
        c.spin_us = spin_us
        try:
            req, rep = _echo_pair(c, "tcp", tmp_path)
            req.spin_us = rep.spin_us = 0
            t = threading.Thread(target=_serve, args=(rep, 1))
            t.start()
            req.send(b"x")
            assert req.recv() == b"x"
            t.join(WAIT_MS / 1000)
            idle = c.socket(zmqx.PULL)
            idle.spin_us = 0
            idle.rcvtimeo = 200
            c0 = time.process_time()
            with pytest.raises(zmqx.Again):
                idle.recv()                  # the app thread sleeps here for 200 ms
            return time.process_time() - c0
        finally:
            c.destroy(linger=0)

    spinning = cpu_after_traffic(1_000_000)  # 1 s: the whole 200 ms window
    sleeping = cpu_after_traffic(0)
    assert spinning >= 0.04, spinning        # (a shared CI machine may give it only part)
    assert sleeping < 0.03, sleeping


def test_spin_poll_sees_an_fd_made_readable_while_it_looks_and_stops_at_its_bound():
    """The asyncio waker's look after traffic (zmqx._core.ready.spin_poll): it reports an
    fd that becomes readable during the window, and with none returns False after it."""
    from zmqx._core.ready import spin_poll

    r, w = os.pipe()
    try:
        t0 = time.monotonic()
        assert spin_poll([r], 0.05) is False
        assert time.monotonic() - t0 >= 0.05
        # a writer in another thread; the spin releases the GIL, so the writer runs
        started = threading.Event()

        def write():
            started.set()
            os.write(w, b"x")

        th = threading.Thread(target=write)
        th.start()
        assert started.wait(WAIT_MS / 1000)
        assert spin_poll([r], WAIT_MS / 1000) is True   # long bound: ends on the write
        th.join()
    finally:
        os.close(r)
        os.close(w)
