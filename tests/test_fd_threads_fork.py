"""Socket.FD is level-triggered (readable exactly while a message waits), EVENTS tells the
truth, sockets move between threads, a close from another thread ends a blocked call
without crashing, and fork() children get a working fresh Context while inherited
sockets fail clearly and the parent's keep working.

select() with a timeout, RCVTIMEO'd recvs, poll timeouts, pipes and exit codes are the only
waits. Fork and cross-thread-close cases run in child processes."""

import errno
import os
import select
import signal
import subprocess
import sys
import textwrap
import threading

import pytest

import zmqx
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 5000
WAIT_S = WAIT_MS / 1000.0
QUIET_S = 0.3


# ---------------------------------------------------------------- helpers

def sock(ctx, kind, **opts):
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = WAIT_MS
    s.sndtimeo = WAIT_MS
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def readable(fd, timeout=0):
    return bool(select.select([fd], [], [], timeout)[0])


_never = threading.Event()


def wait_until_in_poll(native_id, timeout=WAIT_S):
    """Wait until thread `native_id` sleeps in poll(2) (Linux /proc; elsewhere: no-op)."""
    path = f"/proc/self/task/{native_id}/wchan"
    if not os.path.exists(path):
        return
    for _ in range(int(timeout / 0.002)):
        with open(path) as f:
            if "poll" in f.read():
                return
        _never.wait(0.002)                 # pacing a condition check, not a stand-in for one
    raise AssertionError("thread never blocked in poll()")


RECEIVERS = {"PULL": (zmqx.PULL, zmqx.PUSH), "DEALER": (zmqx.DEALER, zmqx.DEALER),
             "SUB": (zmqx.SUB, zmqx.PUB), "PAIR": (zmqx.PAIR, zmqx.PAIR),
             "ROUTER": (zmqx.ROUTER, zmqx.DEALER)}


def take(rx, flags=zmqx.NOBLOCK):
    """One whole message; its last frame (a ROUTER's identity frame is dropped)."""
    return rx.recv_multipart(flags)[-1]


def connected_pair(ctx, kind, endpoint):
    """(receiver, sender) with traffic flowing: one warm-up message already went through
    (for SUB: published until the subscription had arrived)."""
    rtype, stype = RECEIVERS[kind]
    rx = sock(ctx, rtype)
    rx.bind(endpoint)
    tx = sock(ctx, stype)
    tx.connect(rx.last_endpoint)
    if kind == "SUB":
        rx.subscribe(b"")
        for _ in range(200):
            tx.send(b"warm")
            if rx.poll(25):
                break
        else:
            pytest.fail("subscription never arrived")
        tx.send(b"sync")                  # in order behind any warm-up still on its way
        while (m := rx.recv()) != b"sync":
            assert m == b"warm"
    else:
        tx.send(b"warm")
        assert take(rx, 0) == b"warm"
    return rx, tx


# ---------------------------------------------------------------- FD: level-triggered

@pytest.mark.parametrize("kind", ["PULL", "DEALER", "SUB", "PAIR", "ROUTER"])
def test_fd_is_readable_exactly_while_a_message_is_queued(ctx, endpoint, kind):
    rx, tx = connected_pair(ctx, kind, endpoint)
    fd = rx.FD
    inproc = endpoint.startswith("inproc")

    # empty: not readable
    assert not readable(fd), "FD readable with nothing queued"

    # one message: becomes readable, and stays readable (level, not edge)
    tx.send(b"m1")
    assert readable(fd, WAIT_S), "FD never became readable for a queued message"
    assert readable(fd) and readable(fd), "FD readiness was consumed by select()"
    assert take(rx) == b"m1"
    assert not readable(fd), "FD still readable after the only message was received"

    # two queued, one received: still readable
    tx.send(b"m2")
    tx.send(b"m3")
    assert readable(fd, WAIT_S)
    assert take(rx) == b"m2"
    if inproc:
        assert readable(fd), "FD not readable with a second message queued"
    else:
        assert readable(fd, WAIT_S), "FD not readable with a second message on its way"
    assert take(rx) == b"m3"
    assert not readable(fd), "FD readable after all messages were received"

    # a multipart message: readable until its last frame is read
    tx.send_multipart([b"a", b"b"])
    assert readable(fd, WAIT_S)
    if kind == "ROUTER":
        rx.recv()                                   # the identity frame
    assert rx.recv() == b"a"
    assert readable(fd), "FD not readable with the rest of a multipart message pending"
    assert rx.recv() == b"b" and not rx.rcvmore
    assert not readable(fd)

    # and it re-arms for the next one
    tx.send(b"m4")
    assert readable(fd, WAIT_S)
    assert take(rx, 0) == b"m4"
    assert not readable(fd)


def test_fd_not_readable_when_the_peer_goes_away(ctx, endpoint):
    rx, tx = connected_pair(ctx, "PULL", endpoint)
    fd = rx.FD
    tx.send(b"last words")
    assert readable(fd, WAIT_S)
    tx.close()
    assert take(rx) == b"last words"
    assert not readable(fd, QUIET_S), "a disconnect made the FD readable"
    with pytest.raises(zmqx.Again):
        rx.recv(zmqx.NOBLOCK)


def test_fd_add_reader_with_a_sender_thread_loses_no_wakeup(ctx, transport, ipc_dir):
    """A thread sends in random bursts while an add_reader callback takes one message per
    wake-up: level-triggering must bring every message in."""
    import asyncio
    import random

    rx, tx = connected_pair(ctx, "PULL", endpoint_for(transport, ipc_dir))
    N = 2000
    rng = random.Random(5)
    gate = threading.Semaphore(0)

    def sender():
        i = 0
        while i < N:
            gate.acquire(timeout=WAIT_S)       # the reader lets bursts go at random times
            for _ in range(rng.randint(1, 20)):
                if i < N:
                    tx.send(b"%d" % i)
                    i += 1

    async def main():
        loop = asyncio.get_running_loop()
        got, spurious = [], [0]
        done = loop.create_future()

        def on_readable():
            try:
                got.append(int(rx.recv(zmqx.NOBLOCK)))
            except zmqx.Again:
                spurious[0] += 1
            if rng.random() < 0.3:
                gate.release()
            if len(got) == N and not done.done():
                done.set_result(None)

        loop.add_reader(rx.FD, on_readable)
        try:
            for _ in range(5):
                gate.release()
            while not done.done():
                gate.release()                 # keep the sender going
                try:
                    await asyncio.wait_for(asyncio.shield(done), 0.05)
                except asyncio.TimeoutError:
                    pass
        finally:
            loop.remove_reader(rx.FD)
        return got, spurious[0]

    t = threading.Thread(target=sender)
    t.start()
    try:
        got, spurious = asyncio.run(asyncio.wait_for(main(), 30))   # a lost wake-up ends here
    finally:
        for _ in range(N):
            gate.release()
        t.join(WAIT_S)
    assert got == list(range(N))
    assert spurious == 0, f"{spurious} wake-ups with nothing to receive"


@pytest.mark.parametrize("kind", ["PULL", "DEALER", "ROUTER"])
def test_fd_follows_a_burst(ctx, endpoint, kind):
    rx, tx = connected_pair(ctx, kind, endpoint)
    fd = rx.FD
    N = 500
    for i in range(N):
        tx.send(b"%d" % i)
    for i in range(N):
        assert readable(fd, WAIT_S), f"FD not readable with message {i} due"
        assert take(rx) == b"%d" % i
    assert not readable(fd)


def test_fd_readable_means_recv_noblock_succeeds_in_an_add_reader_loop(ctx, transport, ipc_dir):
    """The idiom from docs/events.md: loop.add_reader(sock.FD, lambda: sock.recv(NOBLOCK))."""
    import asyncio

    rx, tx = connected_pair(ctx, "PULL", endpoint_for(transport, ipc_dir))
    N = 200

    async def main():
        loop = asyncio.get_running_loop()
        got, errors = [], []
        done = loop.create_future()

        def on_readable():
            try:
                got.append(rx.recv(zmqx.NOBLOCK))
            except zmqx.Again:
                errors.append("FD was readable but recv(NOBLOCK) raised Again")
            if len(got) == N and not done.done():
                done.set_result(None)

        loop.add_reader(rx.FD, on_readable)
        try:
            for i in range(N):
                tx.send(b"%d" % i)
            await asyncio.wait_for(done, WAIT_S)
        finally:
            loop.remove_reader(rx.FD)
        return got, errors

    got, errors = asyncio.run(main())
    assert got == [b"%d" % i for i in range(N)]
    assert errors == []


def test_fd_xpub_is_readable_while_subscriptions_wait(ctx, transport, ipc_dir):
    xpub = sock(ctx, zmqx.XPUB)
    xpub.bind(endpoint_for(transport, ipc_dir))
    fd = xpub.FD
    assert not readable(fd)
    sub = sock(ctx, zmqx.SUB)
    sub.connect(xpub.last_endpoint)
    sub.subscribe(b"A")
    assert readable(fd, WAIT_S)
    assert xpub.recv(zmqx.NOBLOCK) == b"\x01A"
    assert not readable(fd)
    sub.subscribe(b"B")
    sub.subscribe(b"C")
    assert readable(fd, WAIT_S)
    assert xpub.recv(zmqx.NOBLOCK) == b"\x01B"
    assert readable(fd, WAIT_S)
    assert xpub.recv(zmqx.NOBLOCK) == b"\x01C"
    assert not readable(fd)


def test_fd_rep_is_not_readable_while_a_reply_is_owed(ctx):
    """A REP that received a request cannot receive again until it replies (recv raises
    EFSM, EVENTS has no POLLIN): a queued second request must not make the FD readable
    yet, or an add_reader loop that replies later spins on a socket it cannot read."""
    rep = sock(ctx, zmqx.REP)
    rep.bind(endpoint_for("inproc", None))
    fd = rep.FD
    reqs = [sock(ctx, zmqx.REQ) for _ in range(2)]
    for q in reqs:
        q.connect(rep.last_endpoint)
    reqs[0].send(b"1")
    reqs[1].send(b"2")
    assert readable(fd, WAIT_S)
    assert rep.recv(zmqx.NOBLOCK) in (b"1", b"2")
    assert rep.EVENTS & zmqx.POLLIN == 0
    with pytest.raises(zmqx.ZMQError):
        rep.recv(zmqx.NOBLOCK)
    assert not readable(fd), "FD readable while recv() can only fail"
    rep.send(b"reply")
    assert readable(fd), "FD not readable once the queued request can be received"
    assert rep.recv(zmqx.NOBLOCK) in (b"1", b"2")
    rep.send(b"reply")
    assert not readable(fd)


def test_fd_not_readable_on_a_fresh_inproc_connection(ctx):
    """Nothing was sent: a peer connecting is not a message."""
    rx = sock(ctx, zmqx.PULL)
    rx.bind(endpoint_for("inproc", None))
    tx = sock(ctx, zmqx.PUSH)
    tx.connect(rx.last_endpoint)
    fd = rx.FD
    assert not readable(fd), "FD readable with no message queued (fresh inproc peer)"
    with pytest.raises(zmqx.Again):
        rx.recv(zmqx.NOBLOCK)


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_fd_not_readable_when_a_peer_connects(ctx, ipc_dir, transport):
    rx = sock(ctx, zmqx.PULL)
    rx.bind(endpoint_for(transport, ipc_dir))
    fd = rx.FD
    assert not readable(fd)
    tx = sock(ctx, zmqx.PUSH)
    tx.connect(rx.last_endpoint)
    assert tx.poll(WAIT_MS, zmqx.POLLOUT) == zmqx.POLLOUT     # the connection is up
    assert not readable(fd, QUIET_S), "FD became readable with no message queued"


@pytest.mark.parametrize("waiter", ["Socket.poll", "Poller.poll", "zmqx.select"])
def test_fd_stays_readable_after_a_poll_saw_the_message(ctx, transport, ipc_dir, waiter):
    """A wait that reports POLLIN leaves the message queued, so the FD must stay readable
    (code mixing poll() with an fd-based event loop must not lose the wake-up)."""
    rx, tx = connected_pair(ctx, "PULL", endpoint_for(transport, ipc_dir))
    fd = rx.FD
    assert not readable(fd)

    main_tid = threading.get_native_id()

    def send_when_waiting():
        wait_until_in_poll(main_tid)        # the wait below is blocked: now send
        tx.send(b"late")

    t = threading.Thread(target=send_when_waiting)
    t.start()
    try:
        if waiter == "Socket.poll":
            assert rx.poll(WAIT_MS) == zmqx.POLLIN
        elif waiter == "Poller.poll":
            p = zmqx.Poller()
            p.register(rx, zmqx.POLLIN)
            assert p.poll(WAIT_MS) == [(rx, zmqx.POLLIN)]
        else:
            assert zmqx.select([rx], [], [], WAIT_S)[0] == [rx]
    finally:
        t.join(WAIT_S)
    assert readable(fd), f"FD not readable after {waiter} reported a queued message"
    assert rx.recv(zmqx.NOBLOCK) == b"late"
    assert not readable(fd)


# ---------------------------------------------------------------- EVENTS

def test_events_pollout_follows_peers_and_hwm(ctx, transport, ipc_dir):
    push = sock(ctx, zmqx.PUSH, sndhwm=1)
    push.bind(endpoint_for(transport, ipc_dir))
    assert push.EVENTS & zmqx.POLLOUT == 0, "POLLOUT with no peer"
    assert push.EVENTS & zmqx.POLLIN == 0
    pull = sock(ctx, zmqx.PULL, rcvhwm=1)
    pull.connect(push.last_endpoint)
    assert push.poll(WAIT_MS, zmqx.POLLOUT) == zmqx.POLLOUT
    assert push.EVENTS == zmqx.POLLOUT
    if transport == "inproc":
        # fill the pipe: POLLOUT goes away, and comes back when the peer reads
        while push.EVENTS & zmqx.POLLOUT:
            push.send(b"x", zmqx.NOBLOCK)
        with pytest.raises(zmqx.Again):
            push.send(b"x", zmqx.NOBLOCK)
        assert pull.recv() == b"x"
        assert push.EVENTS & zmqx.POLLOUT
    pull.close()


def test_events_pollin_follows_the_queue(ctx, endpoint):
    rx, tx = connected_pair(ctx, "DEALER", endpoint)
    assert rx.EVENTS == zmqx.POLLOUT                     # a peer, nothing queued
    tx.send(b"1")
    assert rx.poll(WAIT_MS) == zmqx.POLLIN
    assert rx.EVENTS == zmqx.POLLIN | zmqx.POLLOUT
    assert rx.recv() == b"1"
    assert rx.EVENTS == zmqx.POLLOUT
    # PULL never reports POLLOUT, PUSH never POLLIN
    pull, push = connected_pair(ctx, "PULL", endpoint_for("inproc", None))
    push.send(b"x")
    assert pull.poll(WAIT_MS) == zmqx.POLLIN
    assert pull.EVENTS == zmqx.POLLIN and push.EVENTS == zmqx.POLLOUT


def test_events_read_keeps_fd_consistent(ctx, transport, ipc_dir):
    rx, tx = connected_pair(ctx, "PULL", endpoint_for(transport, ipc_dir))
    fd = rx.FD
    tx.send(b"x")
    assert readable(fd, WAIT_S)
    for _ in range(3):
        assert rx.EVENTS & zmqx.POLLIN
        assert readable(fd), "reading EVENTS consumed the FD's readiness"
    rx.recv()
    assert rx.EVENTS & zmqx.POLLIN == 0
    assert not readable(fd)


# ---------------------------------------------------------------- threads

def test_socket_made_in_one_thread_used_in_another(ctx, transport, ipc_dir):
    made = {}

    def maker():
        s = sock(ctx, zmqx.PULL)
        s.bind(endpoint_for(transport, ipc_dir))
        made["pull"] = s
        p = sock(ctx, zmqx.PUSH)
        p.connect(s.last_endpoint)
        p.send(b"from maker")
        made["push"] = p

    t = threading.Thread(target=maker)
    t.start()
    t.join(WAIT_S)
    assert not t.is_alive()
    pull, push = made["pull"], made["push"]
    assert pull.recv() == b"from maker"              # used here, in the main thread
    push.send(b"from main")
    assert pull.recv() == b"from main"

    # and handed on again to a third thread, which closes them
    out = {}

    def user():
        push.send(b"third")
        out["msg"] = pull.recv()
        pull.close()
        push.close()

    t = threading.Thread(target=user)
    t.start()
    t.join(WAIT_S)
    assert out == {"msg": b"third"}
    assert pull.closed and push.closed


CLOSE_CHILD = textwrap.dedent(
    """
    import errno, os, sys, threading
    import zmqx
    op, transport = sys.argv[1], sys.argv[2]
    ctx = zmqx.Context()
    if op == "send":
        s = ctx.socket(zmqx.PUSH)
    else:
        s = ctx.socket(zmqx.PULL)
    s.linger = 0
    s.bind("tcp://127.0.0.1:*" if transport == "tcp" else "inproc://x")
    ready = threading.Event()
    result = []

    def blocked():
        ready.set()
        try:
            if op == "recv":
                s.recv()
            elif op == "recv_multipart":
                s.recv_multipart()
            elif op == "poll":
                s.poll()
            elif op == "poller":
                p = zmqx.Poller(); p.register(s, zmqx.POLLIN); p.poll()
            else:
                s.send(b"nowhere")
            result.append("returned")
        except zmqx.ZMQError as e:
            result.append("ENOTSOCK" if e.errno == errno.ENOTSOCK else "errno %d" % e.errno)

    t = threading.Thread(target=blocked)
    t.start()
    ready.wait(10)
    path = "/proc/self/task/%d/wchan" % t.native_id
    idle = threading.Event()
    for _ in range(5000):                    # until the thread sleeps in poll(2)
        if not os.path.exists(path):
            break
        with open(path) as f:
            if "poll" in f.read():
                break
        idle.wait(0.002)
    s.close()                                # from this thread, while it is blocked
    t.join(10)
    print("alive" if t.is_alive() else result[0], flush=True)
    # the context still works afterwards
    a = ctx.socket(zmqx.PAIR); a.bind("inproc://after")
    b = ctx.socket(zmqx.PAIR); b.connect("inproc://after")
    b.send(b"ok"); a.rcvtimeo = 5000
    print(a.recv().decode(), flush=True)
    a.close(); b.close()
    ctx.term()
    print("terminated", flush=True)
    """
)


def run_child(code, *args, timeout=30):
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([os.path.dirname(os.path.dirname(zmqx.__file__)),
                                         env.get("PYTHONPATH", "")])
    p = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True,
                       timeout=timeout, env=env)
    return p.returncode, p.stdout.split(), p.stderr


@pytest.mark.parametrize("op", ["recv", "recv_multipart", "poll", "poller", "send"])
@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_close_from_another_thread_ends_a_blocked_call(op, transport):
    rc, out, err = run_child(CLOSE_CHILD, op, transport)
    assert rc == 0, (rc, out, err)
    assert out[0] in ("ENOTSOCK", "returned"), (out, err)
    assert out[1:] == ["ok", "terminated"], (out, err)


# ---------------------------------------------------------------- fork

needs_fork = pytest.mark.skipif(not hasattr(os, "fork") or os.name != "posix",
                                reason="POSIX fork")


def in_child(fn, timeout=20):
    """Run fn() in a forked child; its return value (an int, 0 = success) is the exit code.
    A hung child is killed by its own alarm. Returns (exit code, text it wrote)."""
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # child
        code = 99
        try:
            os.close(r)
            signal.alarm(timeout)
            out = os.fdopen(w, "w")
            code = fn(out)
            out.flush()
        except BaseException as e:                 # noqa: BLE001
            try:
                os.write(w, ("child raised %r" % (e,)).encode())
            except OSError:
                pass
        finally:
            os._exit(code)
    os.close(w)
    chunks = []
    while True:
        ready = select.select([r], [], [], timeout + 5)[0]
        if not ready:
            os.kill(pid, signal.SIGKILL)
            break
        b = os.read(r, 65536)
        if not b:
            break
        chunks.append(b)
    os.close(r)
    _, status = os.waitpid(pid, 0)
    code = os.waitstatus_to_exitcode(status)
    return code, b"".join(chunks).decode(errors="replace")


def round_trip(c, endpoint, payload=b"ping"):
    pull = c.socket(zmqx.PULL)
    pull.linger = 0
    pull.rcvtimeo = WAIT_MS
    pull.bind(endpoint)
    push = c.socket(zmqx.PUSH)
    push.linger = 0
    push.connect(pull.last_endpoint)
    push.send(payload)
    try:
        return pull.recv()
    finally:
        pull.close()
        push.close()


@needs_fork
def test_fork_child_uses_a_new_context(ctx):
    # the parent has live I/O threads and sockets when it forks
    assert round_trip(ctx, "tcp://127.0.0.1:*") == b"ping"
    keep = sock(ctx, zmqx.PULL)
    keep.bind("tcp://127.0.0.1:*")

    def child(out):
        c = zmqx.Context()
        ok = round_trip(c, "tcp://127.0.0.1:*", b"child-tcp") == b"child-tcp"
        ok = ok and round_trip(c, "inproc://child", b"child-inproc") == b"child-inproc"
        c.term()
        out.write("tcp+inproc ok" if ok else "bad")
        return 0 if ok else 1

    code, text = in_child(child)
    assert (code, text) == (0, "tcp+inproc ok")
    assert round_trip(ctx, "inproc://after-fork") == b"ping"


@needs_fork
def test_fork_inherited_sockets_fail_clearly_and_parent_keeps_working(ctx):
    pull = sock(ctx, zmqx.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = sock(ctx, zmqx.PUSH)
    push.connect(pull.last_endpoint)
    ipull = sock(ctx, zmqx.PULL)
    ipull.bind(endpoint_for("inproc", None))
    ipush = sock(ctx, zmqx.PUSH)
    ipush.connect(ipull.last_endpoint)
    push.send(b"before")
    assert pull.recv() == b"before"

    def child(out):
        results = []
        for name, call in [
            ("recv", lambda: pull.recv()),                      # would block forever
            ("recv-noblock", lambda: pull.recv(zmqx.NOBLOCK)),
            ("send", lambda: push.send(b"from child")),
            ("inproc-send", lambda: ipush.send(b"from child")),
            ("poll", lambda: pull.poll()),
            ("poller", lambda: zmqx.zmq_poll([(pull, zmqx.POLLIN)], -1)),
            ("events", lambda: pull.EVENTS),
        ]:
            try:
                call()
                results.append(f"{name}: no error")
            except zmqx.ZMQError as e:
                msg = str(e)
                results.append(f"{name}: ok" if "fork" in msg.lower() else f"{name}: unclear {msg!r}")
        # closing what was inherited is allowed and must not touch the parent
        for s in (pull, push, ipull, ipush):
            s.close()
        ctx.term()
        out.write("\n".join(results))
        return 0

    code, text = in_child(child)
    assert code == 0, text
    assert text.split("\n") == [f"{n}: ok" for n in
                                ("recv", "recv-noblock", "send", "inproc-send", "poll", "poller",
                                 "events")], text
    # the parent's sockets (tcp and inproc) are untouched
    push.send(b"after")
    assert pull.recv() == b"after"
    ipush.send(b"after-inproc")
    assert ipull.recv() == b"after-inproc"
    assert not pull.closed and not ctx.closed


@needs_fork
def test_fork_while_a_thread_is_blocked_in_recv(ctx):
    """fork() while the parent has a thread blocked in recv and live I/O threads: the child
    works with a new Context; the parent's blocked thread still gets its message."""
    pull = sock(ctx, zmqx.PULL)
    pull.rcvtimeo = -1
    pull.bind("tcp://127.0.0.1:*")
    push = sock(ctx, zmqx.PUSH)
    push.connect(pull.last_endpoint)
    got = []
    t = threading.Thread(target=lambda: got.append(pull.recv()))
    t.start()
    wait_until_in_poll(t.native_id)

    def child(out):
        c = zmqx.Context()
        ok = round_trip(c, "tcp://127.0.0.1:*", b"child") == b"child"
        c.term()
        out.write("ok" if ok else "bad")
        return 0 if ok else 1

    code, text = in_child(child)
    assert (code, text) == (0, "ok")
    push.send(b"for the blocked thread")
    t.join(WAIT_S)
    assert got == [b"for the blocked thread"]


@needs_fork
def test_fork_while_an_event_loop_waits_then_asyncio_in_the_child(ctx):
    """The parent has an event loop (and its zmqx.asyncio waker thread) waiting in recv
    when it forks; the child runs zmqx.asyncio with a new Context; the parent's pending
    recv still completes."""
    import asyncio

    import zmqx.asyncio as zasync

    actx = zasync.Context()
    pull = actx.socket(zmqx.PULL)
    pull.linger = 0
    pull.bind("tcp://127.0.0.1:*")
    push = sock(ctx, zmqx.PUSH)
    push.connect(pull.last_endpoint)
    waiting = threading.Event()
    got = []

    def loop_thread():
        async def main():
            fut = pull.recv()
            waiting.set()
            got.append(await asyncio.wait_for(fut, 20))

        asyncio.run(main())

    t = threading.Thread(target=loop_thread)
    t.start()
    try:
        assert waiting.wait(WAIT_S)

        def child(out):
            async def main():
                c = zasync.Context()
                a = c.socket(zmqx.PULL)
                a.bind("tcp://127.0.0.1:*")
                b = c.socket(zmqx.PUSH)
                b.connect(a.last_endpoint)
                fut = a.recv()
                await b.send(b"child-async")
                msg = await asyncio.wait_for(fut, WAIT_S)
                a.close(0)
                b.close(0)
                c.term()
                return msg

            ok = asyncio.run(main()) == b"child-async"
            out.write("ok" if ok else "bad")
            return 0 if ok else 1

        code, text = in_child(child)
        assert (code, text) == (0, "ok")
        push.send(b"parent")
    finally:
        t.join(WAIT_S * 2)
        pull.close()
        actx.term()
    assert got == [b"parent"]


@needs_fork
def test_fork_context_instance_is_per_process():
    parent = zmqx.Context.instance()     # process-wide, shared with other tests: left open

    def child(out):
        c = zmqx.Context.instance()
        ok = c is not parent and not c.closed
        ok = ok and round_trip(c, "inproc://instance", b"x") == b"x"
        c.term()
        out.write("ok" if ok else "bad")
        return 0 if ok else 1

    code, text = in_child(child)
    assert (code, text) == (0, "ok")
    assert zmqx.Context.instance() is parent
    assert round_trip(parent, "inproc://parent-instance-%d" % os.getpid()) == b"ping"


@needs_fork
def test_fork_inherited_context_fails_clearly(ctx):
    def child(out):
        try:
            ctx.socket(zmqx.PUSH)
        except zmqx.ZMQError as e:
            out.write(str(e))
            return 0 if "fork" in str(e).lower() or "process" in str(e).lower() else 1
        out.write("no error")
        return 1

    code, text = in_child(child)
    assert code == 0, f"inherited Context.socket() in the child: {text!r}"


FORK_SCRIPT = textwrap.dedent(
    """
    import os, sys, signal
    import zmqx
    ctx = zmqx.Context()
    pull = ctx.socket(zmqx.PULL); pull.linger = 0; pull.rcvtimeo = 5000
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmqx.PUSH); push.linger = 0
    push.connect(pull.last_endpoint)
    push.send(b"1"); assert pull.recv() == b"1"
    pid = os.fork()
    if pid == 0:
        signal.alarm(20)
        c = zmqx.Context()
        a = c.socket(zmqx.PULL); a.bind("tcp://127.0.0.1:*"); a.rcvtimeo = 5000
        b = c.socket(zmqx.PUSH); b.connect(a.last_endpoint)
        b.send(b"x")
        ok = a.recv() == b"x"
        a.close(0); b.close(0)
        # a plain interpreter exit: finalizers run with the parent's objects around
        sys.exit(0 if ok else 3)
    _, status = os.waitpid(pid, 0)
    print("child", os.waitstatus_to_exitcode(status), flush=True)
    push.send(b"2")
    print("parent", pull.recv().decode(), flush=True)
    pull.close(); push.close(); ctx.term()
    print("done", flush=True)
    """
)


@needs_fork
def test_fork_child_exits_normally_without_hanging():
    rc, out, err = run_child(FORK_SCRIPT)
    assert rc == 0, (out, err)
    assert out == ["child", "0", "parent", "2", "done"], (out, err)
