"""``python -m zmqx`` tools, each run as a subprocess of this source tree against real
sockets in the test: tap prints what a test PUB/PUSH/DEALER sends, proxy brokers REQ/REP
through ROUTER/DEALER (and captures), monitor reports libzmq's events (run on pyzmq
while zmqx has no monitor) or says in one line that it cannot, keygen and bench; --help
for each; Ctrl-C (SIGINT) and SIGTERM end every long-running tool with code 0 and no
traceback.

Synchronisation: the tools print 'bound ENDPOINT' and 'ready' on stderr, and the test
waits for those lines, or for text on stdout, with a deadline (a reader thread per
stream; nothing sleeps). Tools bind tcp://127.0.0.1:* and the test reads the port they
report."""

import json
import os
import pty
import re
import shutil
import signal
import subprocess
import sys
import threading
import time

import pytest

import zmqx
from helpers import sock

pytestmark = pytest.mark.timeout(60)

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
WAIT = 10.0              # seconds: upper bound for "this must happen" (reached only on failure)
WAIT_MS = 5000
ANY_TCP = "tcp://127.0.0.1:*"


def _env(pythonpath=REPO):
    env = dict(os.environ)
    env["PYTHONPATH"] = pythonpath + os.pathsep + env.get("PYTHONPATH", "")
    env.pop("PYTHONWARNINGS", None)
    return env


_PYZMQ_ENGINE = ("import sys, zmq; from zmqx.cli import main; "
                 "sys.exit(main(sys.argv[1:], zmq=zmq))")


class Tool:
    """A running tool: stdout and stderr are read by threads into buffers that the test
    waits on (wait_out/wait_err) with a deadline."""

    def __init__(self, args, via_pyzmq=False, engine=None, cwd=REPO, pythonpath=REPO,
                 stdout=None):
        if via_pyzmq:
            # the same tool, given pyzmq instead of zmqx: checks that it only needs
            # pyzmq's API (and runs it where zmqx lacks a feature yet)
            engine = _PYZMQ_ENGINE
        if engine:
            cmd = [sys.executable, "-c", engine] + list(args)
        else:
            cmd = [sys.executable, "-m", "zmqx"] + list(args)
        self.proc = subprocess.Popen(
            cmd, cwd=cwd, env=_env(pythonpath), stdin=subprocess.DEVNULL,
            stdout=stdout if stdout is not None else subprocess.PIPE, stderr=subprocess.PIPE)
        self._out, self._err = [], []
        self._cond = threading.Condition()
        self._readers = []
        if stdout is None:
            self._readers.append(self._reader(self.proc.stdout, self._out))
        self._readers.append(self._reader(self.proc.stderr, self._err))

    def _reader(self, stream, buf):
        def run():
            fd = stream.fileno()
            while True:
                try:
                    chunk = os.read(fd, 65536)
                except OSError:          # a pty's master reads EIO once the child is gone
                    chunk = b""
                with self._cond:
                    if not chunk:
                        buf.append(None)
                        self._cond.notify_all()
                        return
                    buf.append(chunk)
                    self._cond.notify_all()

        t = threading.Thread(target=run, daemon=True)
        t.start()
        return t

    @staticmethod
    def _text(buf):
        return b"".join(c for c in buf if c is not None).decode("utf-8", "replace")

    @property
    def out(self):
        with self._cond:
            return self._text(self._out)

    @property
    def err(self):
        with self._cond:
            return self._text(self._err)

    def _wait(self, buf, pattern, timeout):
        deadline = time.monotonic() + timeout
        with self._cond:
            while True:
                m = re.search(pattern, self._text(buf))
                if m:
                    return m
                left = deadline - time.monotonic()
                if (buf and buf[-1] is None) or left <= 0:
                    raise AssertionError(
                        f"no {pattern!r} (rc={self.proc.poll()})\n"
                        f"stdout: {self._text(self._out)!r}\nstderr: {self._text(self._err)!r}")
                self._cond.wait(left)

    def wait_out(self, pattern, timeout=WAIT):
        return self._wait(self._out, pattern, timeout)

    def wait_err(self, pattern, timeout=WAIT):
        return self._wait(self._err, pattern, timeout)

    def ready(self):
        """Wait for 'ready'; return the endpoints the tool reported as bound, by role."""
        self.wait_err(r"zmqx \w+: ready\n")
        bound = {}
        for role, ep in re.findall(r"zmqx \w+: (?:(\w+) )?bound (\S+)\n", self.err):
            bound[role or ""] = ep
        return bound

    def finish(self, sig=None, timeout=WAIT):
        """Send `sig` (if any), wait for the exit; return the exit code."""
        if sig is not None:
            self.proc.send_signal(sig)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            raise AssertionError(f"tool did not exit\nstdout: {self.out!r}\nstderr: {self.err!r}")
        for t in self._readers:
            t.join(WAIT)
        return rc

    def kill(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait()


@pytest.fixture
def tools():
    started = []

    def start(*args, **kw):
        t = Tool(args, **kw)
        started.append(t)
        return t

    yield start
    for t in started:
        t.kill()


def run_tool(*args, timeout=WAIT, via_pyzmq=False, **kw):
    cmd = [sys.executable, "-c", _PYZMQ_ENGINE] if via_pyzmq else [sys.executable, "-m", "zmqx"]
    return subprocess.run(cmd + list(args), cwd=kw.pop("cwd", REPO),
                          env=_env(kw.pop("pythonpath", REPO)), capture_output=True,
                          text=True, timeout=timeout, stdin=subprocess.DEVNULL)


def assert_clean_exit(tool, rc):
    assert rc == 0, f"rc={rc}\nstderr: {tool.err}"
    assert "Traceback" not in tool.err and "Traceback" not in tool.out, tool.err


# ---------------------------------------------------------------- help and usage

@pytest.mark.parametrize("name", ["bench", "proxy", "tap", "monitor", "keygen"])
def test_help_for_each_tool(name):
    r = run_tool(name, "--help")
    assert r.returncode == 0, r.stderr
    assert r.stdout.startswith(f"usage: python -m zmqx {name}")
    assert "Traceback" not in r.stderr


def test_top_level_help_lists_tools():
    r = run_tool("--help")
    assert r.returncode == 0
    for name in ("bench", "proxy", "tap", "monitor", "keygen"):
        assert re.search(rf"^\s+{name}\s+\S", r.stdout, re.M), r.stdout


def test_no_tool_is_a_usage_error():
    r = run_tool()
    assert r.returncode == 2
    assert "usage: python -m zmqx" in r.stderr


def test_unknown_option_is_a_usage_error():
    r = run_tool("tap", "tcp://127.0.0.1:1", "--no-such-option")
    assert r.returncode == 2
    assert "unrecognized arguments: --no-such-option" in r.stderr


@pytest.mark.parametrize("args, message", [
    (["tap", "--type", "PUB", "tcp://127.0.0.1:1"], "a PUB socket does not receive first"),
    (["tap", "not-an-endpoint"], "not an endpoint: 'not-an-endpoint'"),
    (["tap", "--type", "NOPE", "tcp://127.0.0.1:1"], "unknown socket type 'NOPE'"),
    (["tap", "bind:tcp://127.0.0.1:99999"], "cannot bind tcp://127.0.0.1:99999"),
    (["proxy", "bind:tcp://127.0.0.1:*", "tcp://127.0.0.1:1", "-B", "ZZZ"],
     "unknown socket type 'ZZZ'"),
])
def test_bad_input_is_one_line(args, message):
    r = run_tool(*args)
    assert r.returncode in (1, 2)
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], r.stderr


# ---------------------------------------------------------------- tap

def test_tap_pull_bound_count_json(tools, ctx):
    tap = tools("tap", "--type", "PULL", "bind:" + ANY_TCP, "--count", "2", "--format", "json")
    ep = tap.ready()[""]
    assert re.fullmatch(r"tcp://127\.0\.0\.1:\d+", ep)
    push = sock(ctx, zmqx.PUSH)
    push.connect(ep)
    push.send_multipart([b"topic", b"caf\xc3\xa9", b"\x00\xff"])
    push.send(b"second")
    push.send(b"never read: --count 2")
    rc = tap.finish()            # exits by itself after two messages
    assert_clean_exit(tap, rc)
    lines = tap.out.splitlines()
    assert [json.loads(x) for x in lines] == [
        ["topic", "café", {"hex": "00ff"}],
        ["second"],
    ]
    assert "\x1b" not in tap.out          # no rate line: stdout is not a terminal


def test_tap_sub_all_topics_then_ctrl_c(tools, ctx):
    pub, ep = sock(ctx, zmqx.PUB), None
    pub.bind(ANY_TCP)
    ep = pub.last_endpoint.decode()
    tap = tools("tap", ep, "--format", "text")          # SUB, connect, every topic
    tap.ready()
    # slow joiner: publish until the tap shows that its subscription is in place
    while True:
        pub.send_multipart([b"sync", b"x"])
        try:
            tap.wait_out(r"\[0\] sync", timeout=0.05)
            break
        except AssertionError:
            assert tap.proc.poll() is None, tap.err
    for i in range(3):
        pub.send_multipart([b"data", f"payload {i}\n".encode()])
    tap.wait_out(r"payload 2")
    rc = tap.finish(signal.SIGINT)
    assert_clean_exit(tap, rc)
    out = tap.out
    data = re.findall(r"message (\d+): 2 frames, 14 bytes\n\[0\] data\n\[1\] (payload \d)\\n\n",
                      out)
    assert [p for _, p in data] == ["payload 0", "payload 1", "payload 2"]
    nums = [int(n) for n in re.findall(r"----- message (\d+):", out)]
    assert nums == list(range(1, len(nums) + 1))           # every message, numbered
    assert re.search(rf"interrupted after {len(nums)} messages", tap.err)


def test_tap_sub_topics_filter(tools, ctx):
    pub = sock(ctx, zmqx.PUB)
    pub.bind(ANY_TCP)
    tap = tools("tap", "connect:" + pub.last_endpoint.decode(), "-s", "a.", "-s", "b.")
    tap.ready()
    while True:
        pub.send(b"a.sync")
        try:
            tap.wait_out(r"\[0\] a\.sync", timeout=0.05)
            break
        except AssertionError:
            assert tap.proc.poll() is None, tap.err
    for topic in (b"c.no", b"b.yes", b"ab.no", b"a.end"):
        pub.send(topic)
    tap.wait_out(r"a\.end")
    assert_clean_exit(tap, tap.finish(signal.SIGINT))
    frames = re.findall(r"\[0\] (\S+)", tap.out)
    assert set(frames) == {"a.sync", "b.yes", "a.end"}
    assert frames[-2:] == ["b.yes", "a.end"]


def test_tap_xsub_sends_its_subscriptions(tools, ctx):
    xpub = sock(ctx, zmqx.XPUB)
    xpub.bind(ANY_TCP)
    tap = tools("tap", "--type", "XSUB", xpub.last_endpoint.decode(), "-s", "t1", "-s", "t2",
                "--count", "1")
    tap.ready()
    # the subscriptions reach the XPUB, which is also what says the tap is listening
    assert {xpub.recv(), xpub.recv()} == {b"\x01t1", b"\x01t2"}
    xpub.send_multipart([b"t2", b"data"])
    assert_clean_exit(tap, tap.finish())
    assert tap.out == "----- message 1: 2 frames, 6 bytes\n[0] t2\n[1] data\n"


def test_tap_router_auto_layout(tools, ctx):
    tap = tools("tap", "--type", "ROUTER", "--bind", ANY_TCP, "--count", "1")
    ep = tap.ready()[""]
    dealer = sock(ctx, zmqx.DEALER, routing_id=b"peer-1")
    dealer.connect(ep)
    dealer.send_multipart([b"hello", b"\x00\x01\xfe", b"x" * 2000])
    assert_clean_exit(tap, tap.finish())
    assert tap.out.splitlines() == [
        "----- message 1: 4 frames, 2014 bytes",
        "[0] peer-1",
        "[1] hello",
        "[2] 0x 00 01 fe",
        "[3] " + "x" * 1024 + " ... (+976 bytes)",
    ]


def test_tap_hex_and_rep_echo(tools, ctx):
    tap = tools("tap", "--type", "REP", "bind:" + ANY_TCP, "--format", "hex", "--count", "2",
                "--timestamps")
    ep = tap.ready()[""]
    req = sock(ctx, zmqx.REQ)
    req.connect(ep)
    for body in (b"AB", b"\x00"):
        req.send(body)
        assert req.recv() == body           # echoed back, so REQ can go on
    assert_clean_exit(tap, tap.finish())
    assert re.fullmatch(r"----- message 1 at \d\d:\d\d:\d\d\.\d{3}: 1 frame, 2 bytes\n\[0\] 41 42\n"
                        r"----- message 2 at \d\d:\d\d:\d\d\.\d{3}: 1 frame, 1 bytes\n\[0\] 00\n",
                        tap.out), tap.out


def test_tap_reader_going_away_is_quiet(ctx):
    """python -m zmqx tap ... | head -n 2: when stdout's reader closes, the tool ends
    quietly (exit 0, no BrokenPipeError traceback)."""
    proc = subprocess.Popen([sys.executable, "-m", "zmqx", "tap", "--type", "PULL",
                             "bind:" + ANY_TCP, "--format", "text"],
                            cwd=REPO, env=_env(), stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        err = b""
        while b"ready" not in err:
            line = proc.stderr.readline()
            assert line, err
            err += line
        ep = re.search(rb"bound (\S+)", err).group(1).decode()
        push = sock(ctx, zmqx.PUSH)
        push.connect(ep)
        push.send(b"first")
        assert proc.stdout.readline() == b"----- message 1: 1 frame, 5 bytes\n"
        proc.stdout.close()                     # the reader goes away
        for _ in range(3):                      # the next write fails: EPIPE
            push.send(b"x" * 100_000)
        assert proc.wait(WAIT) == 0
        err += proc.stderr.read()
        assert b"Traceback" not in err and b"Error" not in err, err
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def test_tap_sigterm_is_clean(tools):
    tap = tools("tap", "--type", "PULL", "bind:" + ANY_TCP)
    tap.ready()
    assert_clean_exit(tap, tap.finish(signal.SIGTERM))
    assert "interrupted after 0 messages" in tap.err


def test_tap_rate_line_on_a_terminal(tools, ctx):
    """--progress auto draws the rate line only when stdout is a terminal (a pty here)."""
    master, slave = pty.openpty()
    try:
        tap = tools("tap", "--type", "PULL", "bind:" + ANY_TCP, stdout=slave)
    finally:
        os.close(slave)
    tap._readers.append(tap._reader(os.fdopen(master, "rb", buffering=0), tap._out))
    ep = tap.ready()[""]
    push = sock(ctx, zmqx.PUSH)
    push.connect(ep)
    push.send(b"one")
    push.send(b"two")
    tap.wait_out(r"\[0\] two")
    # the tool redraws the line in place: carriage return, erase, counts
    tap.wait_out(r"\r\x1b\[K2 msgs \(6B\) \| [\d.]+k? msgs/s")
    assert_clean_exit(tap, tap.finish(signal.SIGINT))


# ---------------------------------------------------------------- proxy

def test_proxy_router_dealer_req_rep(tools, ctx):
    proxy = tools("proxy", ANY_TCP, ANY_TCP)                # ROUTER/DEALER, both bound
    bound = proxy.ready()
    req = sock(ctx, zmqx.REQ)
    req.connect(bound["frontend"])
    rep = sock(ctx, zmqx.REP)
    rep.connect(bound["backend"])
    for i in range(5):
        req.send(b"request %d" % i)
        assert rep.recv() == b"request %d" % i
        rep.send(b"reply %d" % i)
        assert req.recv() == b"reply %d" % i
    rc = proxy.finish(signal.SIGINT)
    assert_clean_exit(proxy, rc)
    # each request and each reply is 3 frames between the proxy's sockets (routing id,
    # empty delimiter, body); STATISTICS counts frames
    assert "frontend received 15 frames" in proxy.err
    assert "backend received 15 frames" in proxy.err
    assert proxy.out == ""                  # not a terminal: no rate line


def test_proxy_capture_and_rate_line(tools, ctx):
    proxy = tools("proxy", ANY_TCP, ANY_TCP, "--capture", ANY_TCP, "--capture-type", "PUSH",
                  "--progress", "always", "--interval", "0.1")
    bound = proxy.ready()
    cap = sock(ctx, zmqx.PULL)
    cap.connect(bound["capture"])
    req = sock(ctx, zmqx.REQ)
    req.connect(bound["frontend"])
    rep = sock(ctx, zmqx.REP)
    rep.connect(bound["backend"])
    req.send(b"ping")
    assert rep.recv() == b"ping"
    rep.send(b"pong")
    assert req.recv() == b"pong"
    up = cap.recv_multipart()
    down = cap.recv_multipart()
    assert up[1:] == [b"", b"ping"] and down[1:] == [b"", b"pong"]
    assert up[0] == down[0] and len(up[0]) > 0           # the client's routing id
    proxy.wait_out(r"frontend->backend 3 frames \(\d+B\) \| [\d.]+k? frames/s.*"
                   r"backend->frontend 3 frames")
    assert_clean_exit(proxy, proxy.finish(signal.SIGINT))


def test_proxy_xsub_xpub_forwarder(tools, ctx):
    proxy = tools("proxy", "-F", "XSUB", "-B", "XPUB", ANY_TCP, ANY_TCP)
    bound = proxy.ready()
    pub = sock(ctx, zmqx.PUB)
    pub.connect(bound["frontend"])
    sub = sock(ctx, zmqx.SUB)
    sub.connect(bound["backend"])
    sub.subscribe(b"news")
    # the subscription travels SUB -> XPUB -> proxy -> XSUB -> PUB: publish until it has
    while not sub.poll(50, zmqx.POLLIN):
        pub.send(b"news sync")
        pub.send(b"sport never")
    assert sub.recv() == b"news sync"
    pub.send(b"sport no")
    pub.send(b"news end")
    got = sub.recv()
    while got == b"news sync":
        got = sub.recv()
    assert got == b"news end"             # "sport" was filtered upstream
    assert_clean_exit(proxy, proxy.finish(signal.SIGINT))


def test_proxy_connects_with_prefix(tools, ctx):
    """A streamer that connects out: test PUSH (bound) -> proxy PULL/PUSH -> test PULL."""
    src = sock(ctx, zmqx.PUSH)
    src.bind(ANY_TCP)
    dst = sock(ctx, zmqx.PULL)
    dst.bind(ANY_TCP)
    proxy = tools("proxy", "-F", "PULL", "-B", "PUSH", "connect:" + src.last_endpoint.decode(),
                  "connect:" + dst.last_endpoint.decode())
    assert proxy.ready() == {}
    assert "frontend connected tcp://127.0.0.1:" in proxy.err
    for i in range(10):
        src.send_multipart([b"part", b"%d" % i])
    assert [dst.recv_multipart() for _ in range(10)] == [[b"part", b"%d" % i] for i in range(10)]
    assert_clean_exit(proxy, proxy.finish(signal.SIGINT))
    assert "frontend received 20 frames" in proxy.err


# ---------------------------------------------------------------- monitor

def _monitor_events(tools, ctx, via_pyzmq):
    mon = tools("monitor", "--type", "PULL", "bind:" + ANY_TCP, via_pyzmq=via_pyzmq)
    ep = mon.ready()[""]
    port = ep.rsplit(":", 1)[1]
    mon.wait_out(rf"LISTENING +tcp://127\.0\.0\.1:{port} fd \d+\n")
    push = sock(ctx, zmqx.PUSH)
    push.connect(ep)
    mon.wait_out(rf"ACCEPTED +tcp://127\.0\.0\.1:{port} fd \d+\n")
    mon.wait_out(rf"HANDSHAKE_SUCCEEDED +tcp://127\.0\.0\.1:{port}\n")
    push.close()
    mon.wait_out(rf"DISCONNECTED +tcp://127\.0\.0\.1:{port} fd \d+\n")
    assert_clean_exit(mon, mon.finish(signal.SIGINT))
    names = re.findall(r"^\S+ (\w+) ", mon.out, re.M)
    assert names == ["LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED", "DISCONNECTED"]


def test_monitor_events_with_pyzmq_engine(tools, ctx):
    """The tool, run on pyzmq (libzmq's events), against a zmqx peer."""
    _monitor_events(tools, ctx, via_pyzmq=True)


def _zmqx_monitor_error(ctx):
    """None if zmqx sockets can be monitored; else what the tool must say instead."""
    s = ctx.socket(zmqx.PULL)
    try:
        if not callable(getattr(s, "get_monitor_socket", None)):
            return "(Socket.get_monitor_socket is missing)"
        try:
            s.get_monitor_socket().close(linger=0)
        except (zmqx.ZMQError, NotImplementedError) as e:
            return f": {e}"
        s.disable_monitor()
        return None
    finally:
        s.close(linger=0)


def test_monitor_zmqx(tools, ctx):
    error = _zmqx_monitor_error(ctx)
    if error is None:                 # the engine has monitor events: the same as libzmq's
        _monitor_events(tools, ctx, via_pyzmq=False)
        return
    r = run_tool("monitor", "tcp://127.0.0.1:1")
    assert r.returncode == 2
    assert r.stdout == ""
    sep = " " if error.startswith("(") else ""
    assert r.stderr.strip().splitlines() == [
        "zmqx monitor: error: socket monitor events are not available in this build of "
        f"zmqx{sep}{error}"]


def test_monitor_json_connect_retried(tools):
    """Connecting to a port nobody listens on: libzmq reports the delay and each retry
    with the reconnect interval as the value."""
    import socket as pysocket

    s = pysocket.socket()
    s.bind(("127.0.0.1", 0))                  # reserved, never listening: refused
    port = s.getsockname()[1]
    try:
        mon = tools("monitor", f"tcp://127.0.0.1:{port}", "--format", "json",
                    "--events", "CONNECT_RETRIED", via_pyzmq=True)
        mon.ready()
        mon.wait_out(r"\n")
        first = json.loads(mon.out.splitlines()[0])
        assert first["event"] == "CONNECT_RETRIED"
        # libzmq's RECONNECT_IVL (100 ms by default) plus a random jitter below it
        assert 100 <= first["value"] < 200
        assert first["endpoint"] == f"tcp://127.0.0.1:{port}"
        assert_clean_exit(mon, mon.finish(signal.SIGINT))
    finally:
        s.close()


_FAKE_STATS_ENGINE = """
import sys, types, zmq
class StatsSocket(zmq.Socket):
    def stats(self):
        return {"msgs_in": 7, "dropped": 0, "peers": [{"endpoint": "x", "msgs_in": 7}]}
class StatsContext(zmq.Context):
    _socket_class = StatsSocket
impl = types.ModuleType("zmq")
impl.__dict__.update({k: v for k, v in vars(zmq).items() if not k.startswith("__")})
impl.Context = StatsContext
from zmqx.cli import main
sys.exit(main(sys.argv[1:], zmq=impl))
"""


def test_monitor_prints_stats_where_the_engine_has_them(tools):
    """Socket.stats() (pyzmq with a stats() added, standing in for an engine that has
    it): --stats prints each snapshot as a JSON line, and the rate line shows the
    top-level counters."""
    mon = tools("monitor", "--type", "PULL", "bind:" + ANY_TCP, "--stats", "--interval",
                "0.1", "--progress", "always", "--events", "LISTENING",
                engine=_FAKE_STATS_ENGINE)
    mon.ready()
    line = mon.wait_out(r'\{"time": [\d.]+, "stats": .*\}\n').group(0)
    assert json.loads(line)["stats"] == {
        "msgs_in": 7, "dropped": 0, "peers": [{"endpoint": "x", "msgs_in": 7}]}
    mon.wait_out(r"\r\x1b\[K0 msgs \(0B\) \| 0 msgs/s, 0B/s \| msgs_in=7 dropped=0")
    assert_clean_exit(mon, mon.finish(signal.SIGINT))
    assert re.search(r"LISTENING +tcp://127\.0\.0\.1:\d+ fd \d+\n", mon.out)


def test_monitor_stats_where_the_engine_has_none(tools):
    mon = tools("monitor", "--type", "PULL", "bind:" + ANY_TCP, "--stats", "--events",
                "LISTENING", via_pyzmq=True)
    mon.ready()
    assert "--stats: this build of zmq has no Socket.stats(); events only" in mon.err
    mon.wait_out(r"LISTENING ")
    assert_clean_exit(mon, mon.finish(signal.SIGINT))
    assert "stats" not in mon.out


def test_monitor_unknown_event_name():
    r = run_tool("monitor", "tcp://127.0.0.1:1", "--events", "CONNECTED,NOPE")
    assert r.returncode == 1 and "unknown event 'NOPE'" in r.stderr


# ---------------------------------------------------------------- keygen

Z85 = r"[0-9a-zA-Z.\-:+=^!/*?&<>()\[\]{}@%$#]{40}"


def _check_keypair(r, zmq):
    assert r.returncode == 0, r.stderr
    m = re.fullmatch(rf"public: ({Z85})\nsecret: ({Z85})\n", r.stdout)
    assert m, r.stdout
    assert m.group(1) != m.group(2)
    assert zmq.curve_public(m.group(2).encode()) == m.group(1).encode()


def test_keygen():
    r = run_tool("keygen")
    if not callable(getattr(zmqx, "curve_keypair", None)):
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.strip().splitlines() == [
            "zmqx keygen: error: CURVE keys are not available: this build of zmqx has no "
            "curve_keypair()"]
        return
    _check_keypair(r, zmqx)


def test_keygen_with_pyzmq_engine():
    """The tool on pyzmq's curve_keypair: the output zmqx's keygen gives once it has one."""
    zmq = pytest.importorskip("zmq")
    if not zmq.has("curve"):
        pytest.skip("pyzmq built without CURVE")
    _check_keypair(run_tool("keygen", via_pyzmq=True), zmq)


def _check_certificates(r, where):
    assert r.returncode == 0, r.stderr
    public, secret = r.stdout.splitlines()
    assert public == str(where / "server.key")
    assert secret == str(where / "server.key_secret")
    with open(public) as f:
        text = f.read()
    assert re.search(rf'public-key = "{Z85}"', text) and "secret-key" not in text
    with open(secret) as f:
        assert re.search(rf'secret-key = "{Z85}"', f.read())


def test_keygen_certificate_files(tmp_path):
    r = run_tool("keygen", "--dir", str(tmp_path / "certs"), "--name", "server")
    try:
        from zmqx.auth.certs import create_certificates  # noqa: F401
    except ImportError:
        assert r.returncode == 2 and r.stdout == ""
        assert r.stderr.strip().splitlines() == [
            "zmqx keygen: error: certificate files are not available: this build of zmqx "
            "has no auth.certs.create_certificates()"]
        return
    _check_certificates(r, tmp_path / "certs")


def test_keygen_certificate_files_with_pyzmq_engine(tmp_path):
    zmq = pytest.importorskip("zmq")
    if not zmq.has("curve"):
        pytest.skip("pyzmq built without CURVE")
    r = run_tool("keygen", "--dir", str(tmp_path / "certs"), "--name", "server",
                 via_pyzmq=True)
    _check_certificates(r, tmp_path / "certs")


# ---------------------------------------------------------------- bench

def test_bench_passes_arguments_through():
    if os.environ.get("ZMQX_TEST_INSTALLED"):
        pytest.skip("an installed zmqx has no bench/ next to it "
                    "(test_bench_without_source_tree checks that case)")
    r = run_tool("bench", "--list", timeout=60)
    assert r.returncode == 0, r.stderr
    assert re.search(r"^push_pull/tcp/64B\s", r.stdout, re.M), r.stdout
    r = run_tool("bench", "--", "--help", timeout=60)
    assert r.returncode == 0
    assert "sidebyside.py" in r.stdout and "--impls" in r.stdout


def test_bench_without_source_tree(tmp_path):
    """Installed from a wheel: the package without bench/ next to it."""
    import zmqx   # the package under test: this checkout's, or the installed one
    shutil.copytree(os.path.dirname(os.path.abspath(zmqx.__file__)), tmp_path / "zmqx",
                    ignore=shutil.ignore_patterns("*.c", "*.pyx", "*.pxd", "__pycache__"))
    r = run_tool("bench", "--quick", cwd=str(tmp_path), pythonpath=str(tmp_path))
    assert r.returncode == 2
    assert r.stdout == ""
    assert r.stderr.strip().splitlines() == [
        "zmqx bench: error: the benchmark (bench/sidebyside.py) is not installed with zmqx; "
        "run this from a source checkout of zmqx"]


# ---------------------------------------------------------------- python -m zmqx.curve_keygen

def _keygen(*args):
    import subprocess
    return subprocess.run([sys.executable, "-m", "zmqx.curve_keygen", *args],
                          capture_output=True, text=True, timeout=60)


def test_curve_keygen_module_prints_a_working_pair():
    # pyzmq's module name and layout; the printed pair must really secure a connection
    p = _keygen()
    assert p.returncode == 0, p.stderr
    lines = p.stdout.splitlines()
    public = lines[lines.index("== CURVE PUBLIC KEY ==") + 1]
    secret = lines[lines.index("== CURVE SECRET KEY ==") + 1]
    assert zmqx.curve_public(secret.encode()) == public.encode()
    ctx = zmqx.Context()
    try:
        server, client = ctx.socket(zmqx.PULL), ctx.socket(zmqx.PUSH)
        server.linger = client.linger = 0
        server.curve_server = True
        server.curve_secretkey, server.curve_publickey = secret.encode(), public.encode()
        client.curve_serverkey = public.encode()
        client.curve_publickey, client.curve_secretkey = zmqx.curve_keypair()
        server.rcvtimeo = 5000
        server.bind("tcp://127.0.0.1:*")
        client.connect(server.last_endpoint)
        client.send(b"sealed")
        assert server.recv() == b"sealed"
    finally:
        ctx.destroy(linger=0)


def test_curve_keygen_module_json_secret_and_errors():
    import json
    p = _keygen("--json")
    keys = json.loads(p.stdout)
    assert zmqx.curve_public(keys["secret"].encode()).decode() == keys["public"]
    # --secret=KEY: a Z85 key may begin with "-", which the two-word form reads as an option
    p = _keygen("--secret=" + keys["secret"], "--json")
    assert json.loads(p.stdout) == keys
    p = _keygen("--secret", "too-short")
    assert p.returncode == 2 and "Z85 secret key" in p.stderr
    p = _keygen("-h")
    assert p.returncode == 0 and "zmq.curve_keygen" in p.stdout and "--json" in p.stdout


def test_pyzmq_module_name_runs_on_zmqx_through_the_alias_hook():
    # `python -m zmq.curve_keygen` with zmq aliased to zmqx (tests/alias): runpy asks the
    # alias for the module's code; the pair printed is zmqx's
    import json
    import subprocess
    alias = os.path.join(os.path.dirname(os.path.abspath(__file__)), "alias")
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        [alias] + [p for p in (env.get("PYTHONPATH"), os.getcwd()) if p])
    p = subprocess.run([sys.executable, "-m", "zmq.curve_keygen", "--json"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert p.returncode == 0, p.stderr
    keys = json.loads(p.stdout)
    assert zmqx.curve_public(keys["secret"].encode()).decode() == keys["public"]
    # and it is zmqx's module that ran (pyzmq, also installed, has one of that name)
    p = subprocess.run([sys.executable, "-m", "zmq.curve_keygen", "-h"], env=env,
                       capture_output=True, text=True, timeout=60)
    assert "python3 -m zmqx.curve_keygen" in p.stdout
