"""The ZeroMQ Guide, chapter 2 ("Sockets and Patterns"), as tests on zmqx: msreader,
mspoller, rrbroker, msgqueue, wuproxy, taskwork2/tasksink2 (pipeline with a kill signal),
mtserver, mtrelay and a shared context terminated under blocked threads.

Waits are bounded: RCVTIMEO'd recvs, poll timeouts, thread joins, replies. Slow-joiner
PUB/SUB is handled the event-driven way: publish again until the subscriber sees it."""

import os
import random
import time
import threading

import pytest

import zmqx
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 5000
JOIN_S = 10.0


# ---------------------------------------------------------------- helpers

def sock(ctx, kind, rcvtimeo=WAIT_MS, **opts):
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = rcvtimeo
    s.sndtimeo = WAIT_MS
    for k, v in opts.items():
        setattr(s, k, v)
    return s


class Runner(threading.Thread):
    """A thread that records its result or exception."""

    def __init__(self, fn, *args, name=None):
        super().__init__(daemon=True, name=name or fn.__name__)
        self.fn, self.args = fn, args
        self.result = self.exc = None
        self.ready = threading.Event()     # set by fn (via the runner) just before blocking

    def run(self):
        try:
            self.result = self.fn(self, *self.args)
        except BaseException as e:         # noqa: BLE001 - reported by the test
            self.exc = e

    def finish(self, timeout=JOIN_S):
        self.join(timeout)
        assert not self.is_alive(), f"thread {self.name} did not finish"
        assert self.exc is None, f"thread {self.name} failed: {self.exc!r}"
        return self.result


def start(fn, *args, name=None):
    r = Runner(fn, *args, name=name)
    r.start()
    return r


def term_in_thread(ctx):
    t = threading.Thread(target=ctx.term, daemon=True)
    t.start()
    return t


def finish_term(t):
    t.join(JOIN_S)
    assert not t.is_alive(), "ctx.term() did not return"


_never = threading.Event()


def wait_until_blocked(thread, timeout=10.0):
    """Wait until `thread` sleeps in poll(2) (read from /proc; Linux only, elsewhere the
    Runner's `ready` event, set just before the blocking call, has to do)."""
    assert thread.ready.wait(timeout)
    path = f"/proc/self/task/{thread.native_id}/wchan"
    if not os.path.exists(path):
        return
    for _ in range(int(timeout / 0.002)):
        with open(path) as f:
            if "poll" in f.read():
                return
        _never.wait(0.002)                 # pacing a condition check, not a stand-in for one
    raise AssertionError(f"{thread.name} never blocked")


# ---------------------------------------------------------------- (a) msreader

def test_a_msreader_nonblocking_reads_from_pull_and_sub(ctx):
    """Read a PULL and a SUB with NOBLOCK in one loop; when neither has anything, wait in a
    short poll instead of sleeping (the Guide sleeps 1 ms)."""
    vent = sock(ctx, zmqx.PUSH)
    vent.bind("tcp://127.0.0.1:*")
    weather = sock(ctx, zmqx.PUB)
    weather.bind(endpoint_for("inproc", None))
    receiver = sock(ctx, zmqx.PULL)
    receiver.connect(vent.last_endpoint)
    subscriber = sock(ctx, zmqx.SUB)
    subscriber.connect(weather.last_endpoint)
    subscriber.subscribe(b"10001 ")

    for i in range(3):
        vent.send(b"task %d" % i)
    tasks, updates = [], []
    poller = zmqx.Poller()
    poller.register(receiver, zmqx.POLLIN)
    poller.register(subscriber, zmqx.POLLIN)
    # bounded by time, not by rounds: the SUB (inproc) has updates at once, so rounds that
    # find one never wait, and a fixed number of them could end before the tcp PULL has
    # connected
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        weather.send(b"10001 %d" % random.randrange(100))      # until the SUB has joined
        weather.send(b"20002 wrong zip")
        got = False
        while True:
            try:
                tasks.append(receiver.recv(zmqx.NOBLOCK))
                got = True
            except zmqx.Again:
                break
        while True:
            try:
                updates.append(subscriber.recv(zmqx.NOBLOCK))
                got = True
            except zmqx.Again:
                break
        if len(tasks) == 3 and len(updates) >= 3:
            break
        if not got:
            poller.poll(20)              # the fallback: wait for either, bounded
    assert tasks == [b"task 0", b"task 1", b"task 2"]
    assert len(updates) >= 3 and all(u.startswith(b"10001 ") for u in updates), updates


# ---------------------------------------------------------------- (b) mspoller

def test_b_mspoller_pull_sub_and_pipe_all_become_ready(ctx):
    vent = sock(ctx, zmqx.PUSH)
    vent.bind(endpoint_for("inproc", None))
    weather = sock(ctx, zmqx.PUB)
    weather.bind("tcp://127.0.0.1:*")
    receiver = sock(ctx, zmqx.PULL)
    receiver.connect(vent.last_endpoint)
    subscriber = sock(ctx, zmqx.SUB)
    subscriber.connect(weather.last_endpoint)
    subscriber.subscribe(b"")
    r, w = os.pipe()
    try:
        poller = zmqx.Poller()
        poller.register(receiver, zmqx.POLLIN)
        poller.register(subscriber, zmqx.POLLIN)
        poller.register(r, zmqx.POLLIN)
        assert poller.poll(0) == []               # nothing sent yet: nothing ready

        vent.send(b"task")
        os.write(w, b"x")
        seen = {}
        for _ in range(200):
            if subscriber not in seen:
                weather.send(b"update")          # until the subscription has arrived
            for obj, ev in poller.poll(50):
                seen[obj] = ev
                if obj is receiver:
                    assert receiver.recv() == b"task"
                elif obj is subscriber:
                    assert subscriber.recv() == b"update"
                else:
                    assert os.read(r, 10) == b"x"
            if len(seen) == 3:
                break
        assert seen == {receiver: zmqx.POLLIN, subscriber: zmqx.POLLIN, r: zmqx.POLLIN}
    finally:
        os.close(r)
        os.close(w)


# ---------------------------------------------------------------- (c) rrbroker

def _rep_worker(me, ctx, addr, name):
    rep = sock(ctx, zmqx.REP, rcvtimeo=-1)
    rep.connect(addr)
    served = 0
    try:
        me.ready.set()
        while True:
            msg = rep.recv()
            served += 1
            rep.send(b"World from %s for %s" % (name, msg))
    except zmqx.ContextTerminated:
        return served
    finally:
        rep.close()


def _req_client(me, ctx, addr, name, n):
    req = sock(ctx, zmqx.REQ)
    req.connect(addr)
    try:
        out = []
        for k in range(n):
            req.send(b"Hello %s/%d" % (name, k))
            out.append(req.recv())
        return out
    finally:
        req.close()


def _check_replies(clients, n, workers_names):
    for i, c in enumerate(clients):
        replies = c.finish()
        assert len(replies) == n
        for k, rep in enumerate(replies):
            head, _, tail = rep.partition(b" for ")
            assert tail == b"Hello c%d/%d" % (i, k), rep
            assert head.split()[-1] in workers_names, rep


def test_c_rrbroker_manual_poller_loop(ctx, ipc_dir):
    frontend = sock(ctx, zmqx.ROUTER)
    frontend.bind("tcp://127.0.0.1:*")
    backend = sock(ctx, zmqx.DEALER)
    backend.bind(endpoint_for("ipc", ipc_dir))
    fe_addr, be_addr = frontend.last_endpoint, backend.last_endpoint
    forwarded = {"fe": 0, "be": 0}

    def broker(me):
        poller = zmqx.Poller()
        poller.register(frontend, zmqx.POLLIN)
        poller.register(backend, zmqx.POLLIN)
        try:
            while True:
                socks = dict(poller.poll())
                if socks.get(frontend) == zmqx.POLLIN:
                    backend.send_multipart(frontend.recv_multipart())
                    forwarded["fe"] += 1
                if socks.get(backend) == zmqx.POLLIN:
                    frontend.send_multipart(backend.recv_multipart())
                    forwarded["be"] += 1
        except zmqx.ContextTerminated:
            return "terminated"
        finally:
            frontend.close()
            backend.close()

    b = start(broker)
    workers = [start(_rep_worker, ctx, be_addr, b"w%d" % j) for j in range(2)]
    clients = [start(_req_client, ctx, fe_addr, b"c%d" % i, 10) for i in range(3)]
    _check_replies(clients, 10, {b"w0", b"w1"})
    assert forwarded == {"fe": 30, "be": 30}
    t = term_in_thread(ctx)
    assert b.finish() == "terminated"
    served = [w.finish() for w in workers]
    assert sum(served) == 30
    finish_term(t)


# ---------------------------------------------------------------- (d) msgqueue

def test_d_msgqueue_on_zmqx_proxy(ctx):
    frontend = sock(ctx, zmqx.ROUTER)
    frontend.bind("tcp://127.0.0.1:*")
    backend = sock(ctx, zmqx.DEALER)
    backend.bind("tcp://127.0.0.1:*")
    fe_addr, be_addr = frontend.last_endpoint, backend.last_endpoint

    def queue(me):
        try:
            zmqx.proxy(frontend, backend)
        except zmqx.ContextTerminated:
            return "terminated"
        finally:
            frontend.close()
            backend.close()

    q = start(queue)
    workers = [start(_rep_worker, ctx, be_addr, b"w%d" % j) for j in range(3)]
    clients = [start(_req_client, ctx, fe_addr, b"c%d" % i, 10) for i in range(4)]
    _check_replies(clients, 10, {b"w0", b"w1", b"w2"})
    t = term_in_thread(ctx)
    assert q.finish() == "terminated"
    assert sum(w.finish() for w in workers) == 40
    finish_term(t)


# ---------------------------------------------------------------- (e) wuproxy

@pytest.mark.parametrize("downstream", ["ipc", "inproc"])
def test_e_wuproxy_bridges_transports_and_forwards_subscriptions(ctx, ipc_dir, downstream):
    # the weather server, on tcp
    server = sock(ctx, zmqx.PUB)
    server.bind("tcp://127.0.0.1:*")
    # the proxy: XSUB connects to the server, XPUB binds the other transport
    xsub = sock(ctx, zmqx.XSUB)
    xsub.connect(server.last_endpoint)
    xpub = sock(ctx, zmqx.XPUB)
    xpub.bind(endpoint_for(downstream, ipc_dir))
    px = start(lambda me: _proxy_until_term(xsub, xpub))

    client = sock(ctx, zmqx.SUB)
    client.connect(xpub.last_endpoint)
    client.subscribe(b"10001 ")
    stop = threading.Event()

    def weather_server(me):
        rng = random.Random(7)
        n = 0
        while not stop.is_set():
            zipcode = rng.choice([10001, 10002, 20001, 10000, 1000])
            server.send(b"%05d %d %d" % (zipcode, rng.randrange(-80, 135), rng.randrange(10, 60)))
            n += 1
        return n

    srv = start(weather_server)
    try:
        updates = [client.recv() for _ in range(30)]    # RCVTIMEO bounds each
    finally:
        stop.set()
        srv.finish()
    assert all(u.startswith(b"10001 ") for u in updates), updates
    assert len({u for u in updates}) > 1                  # real, varying updates

    server.close()
    client.close()
    t = term_in_thread(ctx)
    assert px.finish() == "terminated"
    finish_term(t)


def _proxy_until_term(front, back):
    try:
        zmqx.proxy(front, back)
    except zmqx.ContextTerminated:
        return "terminated"
    finally:
        front.close()
        back.close()


# ---------------------------------------------------------------- (f) taskvent/work2/sink2

def test_f_pipeline_with_kill_signal(ctx, ipc_dir):
    NWORKERS, NTASKS = 4, 60
    vent = sock(ctx, zmqx.PUSH)
    vent.bind("tcp://127.0.0.1:*")
    sink = sock(ctx, zmqx.PULL)
    sink.bind(endpoint_for("ipc", ipc_dir))
    controller = sock(ctx, zmqx.PUB)
    controller.bind(endpoint_for("inproc", ipc_dir))
    vent_addr, sink_addr, ctl_addr = vent.last_endpoint, sink.last_endpoint, controller.last_endpoint

    def worker(me, name):
        receiver = sock(ctx, zmqx.PULL)
        receiver.connect(vent_addr)
        sender = sock(ctx, zmqx.PUSH)
        sender.connect(sink_addr)
        control = sock(ctx, zmqx.SUB)
        control.connect(ctl_addr)
        control.subscribe(b"")
        poller = zmqx.Poller()
        poller.register(receiver, zmqx.POLLIN)
        poller.register(control, zmqx.POLLIN)
        done = 0
        try:
            me.ready.set()
            while True:
                socks = dict(poller.poll())
                if socks.get(receiver) == zmqx.POLLIN:
                    task = receiver.recv()
                    sender.send(b"%s done by %s" % (task, name))
                    done += 1
                if socks.get(control) == zmqx.POLLIN:
                    if control.recv() == b"KILL":
                        return done
        finally:
            for s in (receiver, sender, control):
                s.close()

    workers = [start(worker, b"w%d" % j, name="worker-%d" % j) for j in range(NWORKERS)]
    for w in workers:
        assert w.ready.wait(JOIN_S)
    for i in range(NTASKS):
        vent.send(b"task-%d" % i)

    results = [sink.recv() for _ in range(NTASKS)]
    assert sorted(r.split(b" ")[0] for r in results) == sorted(b"task-%d" % i for i in range(NTASKS))

    # KILL: subscriptions may still be on their way, so repeat until every worker left
    for _ in range(500):
        controller.send(b"KILL")
        for w in workers:
            w.join(0.01)
        if not any(w.is_alive() for w in workers):
            break
    done = [w.finish() for w in workers]
    assert sum(done) == NTASKS


# ---------------------------------------------------------------- (g) mtserver

def test_g_mtserver_rep_workers_behind_router_dealer(ctx):
    clients_ep = sock(ctx, zmqx.ROUTER)
    clients_ep.bind("tcp://127.0.0.1:*")
    workers_ep = sock(ctx, zmqx.DEALER)
    workers_ep.bind("inproc://workers")
    addr = clients_ep.last_endpoint
    px = start(lambda me: _proxy_until_term(clients_ep, workers_ep))

    workers = [start(_rep_worker, ctx, "inproc://workers", b"w%d" % j) for j in range(5)]
    clients = [start(_req_client, ctx, addr, b"c%d" % i, 8) for i in range(6)]
    _check_replies(clients, 8, {b"w%d" % j for j in range(5)})
    t = term_in_thread(ctx)
    assert px.finish() == "terminated"
    assert sum(w.finish() for w in workers) == 48
    finish_term(t)


# ---------------------------------------------------------------- (h) mtrelay

def test_h_mtrelay_three_threads_pair_over_inproc(ctx):
    def step1(me):
        xmitter = sock(ctx, zmqx.PAIR)
        xmitter.connect("inproc://step2")
        try:
            xmitter.send(b"READY")
            return "step1 sent"
        finally:
            xmitter.close()

    def step2(me):
        receiver = sock(ctx, zmqx.PAIR)
        receiver.bind("inproc://step2")
        t1 = start(step1)
        try:
            msg = receiver.recv()
            assert t1.finish() == "step1 sent"
            xmitter = sock(ctx, zmqx.PAIR)
            xmitter.connect("inproc://step3")
            xmitter.send(b"READY" if msg == b"READY" else b"bad: " + msg)
            xmitter.close()
            return msg
        finally:
            receiver.close()

    receiver = sock(ctx, zmqx.PAIR)
    receiver.bind("inproc://step3")
    t2 = start(step2)
    assert receiver.recv() == b"READY"
    assert t2.finish() == b"READY"
    receiver.close()


# ---------------------------------------------------------------- (i) term under blocked threads

def test_i_term_wakes_threads_blocked_in_recv_poll_and_send(ctx):
    pull = sock(ctx, zmqx.PULL, rcvtimeo=-1)
    pull.bind("inproc://never-fed")
    polled = sock(ctx, zmqx.PULL)
    polled.bind("tcp://127.0.0.1:*")
    push = sock(ctx, zmqx.PUSH)
    push.sndtimeo = -1
    push.bind(endpoint_for("inproc", None))          # no peer: send blocks

    def blocked(me, s, op):
        try:
            me.ready.set()
            if op == "recv":
                s.recv()
            elif op == "poll":
                p = zmqx.Poller()
                p.register(s, zmqx.POLLIN)
                p.poll()
            else:
                s.send(b"nowhere")
            return "returned"
        except zmqx.ContextTerminated:
            return "ContextTerminated"
        finally:
            s.close()

    threads = [start(blocked, s, op, name=op)
               for s, op in ((pull, "recv"), (polled, "poll"), (push, "send"))]
    for t in threads:
        wait_until_blocked(t)
        assert t.is_alive()
    ctx.term()                                        # returns once every thread closed
    assert [t.finish() for t in threads] == ["ContextTerminated"] * 3
    assert pull.closed and polled.closed and push.closed and ctx.closed
