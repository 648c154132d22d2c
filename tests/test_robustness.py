"""Bad input from the network loses only that connection.

A zmqx PULL is bound (tcp and ipc) with a well-behaved libzmq PUSH connected and
delivering; a raw Python socket then misbehaves (garbage, truncated greeting, frames over
MAXMSGSIZE, a multipart message cut half-way, an incompatible socket type, silence past
HANDSHAKE_IVL, PING/unknown commands, random bytes). The raw connection must be dropped
(or kept, for legal input), nothing it sent may be delivered in part, and the good peer's
messages must keep arriving before and after."""

import os
import socket
import subprocess
import sys
import textwrap
import time
import uuid

import pytest
from helpers import hypothesis_api

given, settings, st, HealthCheck, _ = hypothesis_api()  # skips loudly without it

import zmqx
from zmqx._core import zmtp
from zmqx._core.zmtp import (
    Decoder,
    Handshake,
    encode_command,
    encode_frame,
    encode_frame_header,
    encode_greeting,
    encode_ready,
)

zmq = pytest.importorskip("zmq")
from zmq.utils.monitor import recv_monitor_message  # noqa: E402

pytestmark = pytest.mark.timeout(60)

MAXMSGSIZE = 1000
TIMEOUT_S = 5.0


def endpoint_for(transport, ipc_dir):
    if transport == "ipc":
        return f"ipc://{ipc_dir}/robust-{uuid.uuid4().hex[:12]}"
    return "tcp://127.0.0.1:*"


# ---------------------------------------------------------------- raw peer


class RawPeer:
    """A plain OS socket speaking (or not) ZMTP to the server."""

    def __init__(self, endpoint, timeout=TIMEOUT_S):
        if endpoint.startswith("tcp://"):
            host, port = endpoint[len("tcp://"):].rsplit(":", 1)
            self.sock = socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
        else:
            self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            self.sock.settimeout(timeout)
            self.sock.connect(endpoint[len("ipc://"):])
        self.decoder = None
        self.events = []

    def send(self, data):
        """Send; the server may already have hung up (that is allowed)."""
        try:
            self.sock.sendall(data)
            return True
        except (BrokenPipeError, ConnectionResetError):
            return False

    def handshake(self, socktype=zmtp.PUSH):
        """Complete a NULL handshake as `socktype`; keeps what follows for the decoder."""
        hs = Handshake(socktype)
        self.send(hs.data_to_send())
        rest = b""
        while not hs.done:
            data = self.sock.recv(65536)
            assert data, "server closed during a valid handshake"
            rest = hs.feed(data)
            out = hs.data_to_send()
            if out:
                self.send(out)
        assert hs.peer_socktype == zmtp.PULL
        self.decoder = Decoder()
        self.events = list(self.decoder.feed(rest))
        return hs

    def read_until_closed(self):
        """Everything the server sends until it closes; fails if it does not close within
        the socket timeout."""
        data = bytearray()
        while True:
            try:
                chunk = self.sock.recv(65536)
            except ConnectionResetError:
                return bytes(data)
            except socket.timeout:
                raise AssertionError(
                    f"server kept the connection open (got {len(data)} bytes)") from None
            if not chunk:
                return bytes(data)
            data += chunk

    def finish(self):
        """Half-close our side and wait for the server to drop the connection: proves the
        server read everything we sent."""
        try:
            self.sock.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        return self.read_until_closed()

    def next_command(self, name):
        """Read until the server sends command `name`; returns its data."""
        while True:
            for i, ev in enumerate(self.events):
                if ev[0] == "command" and ev[1] == name:
                    del self.events[: i + 1]
                    return ev[2]
            data = self.sock.recv(65536)
            assert data, f"server closed before sending {name!r}"
            self.events.extend(self.decoder.feed(data))

    def assert_still_open(self, wait=0.3):
        """Nothing but silence for `wait` seconds (the connection is not dropped)."""
        self.sock.settimeout(wait)
        try:
            data = self.sock.recv(65536)
        except socket.timeout:
            return
        finally:
            self.sock.settimeout(TIMEOUT_S)
        assert data, "server closed a connection that did nothing wrong"
        # a PONG or similar is fine: keep it for the decoder
        self.events.extend(self.decoder.feed(data))

    def close(self):
        """Hang up and wait until the server has dropped us too (so no hang-up is still in
        flight when the test tears the server down)."""
        self.finish()
        self.sock.close()


# ---------------------------------------------------------------- fixtures


class Server:
    def __init__(self, pull, good, endpoint):
        self.pull = pull
        self.good = good
        self.endpoint = endpoint
        self.monitor = good.get_monitor_socket(zmq.EVENT_DISCONNECTED)
        self.monitor.rcvtimeo = int(TIMEOUT_S * 1000)

    def close(self):
        """zmqx first; libzmq only once zmqx has dropped the connection. A libzmq hang-up
        racing zmqx's close hits an I/O-thread use-after-free (proven separately by
        test_close_racing_peer_eof_does_not_crash), which must not make every test here
        flaky."""
        self.pull.close(linger=0)
        while recv_monitor_message(self.monitor)["event"] != zmq.EVENT_DISCONNECTED:
            pass
        self.good.disable_monitor()
        self.monitor.close(linger=0)
        self.good.close(linger=0)

    def roundtrip(self, n=3):
        """The good peer's messages arrive, whole and in order."""
        tag = uuid.uuid4().hex.encode()
        for i in range(n):
            self.good.send_multipart([tag, b"%d" % i])
        for i in range(n):
            assert self.pull.recv_multipart() == [tag, b"%d" % i]

    def recv_until_good(self):
        """Send a message from the good peer and receive until it arrives; returns every
        other message received, before it and (fair queuing may put it first) queued after
        it. Callers have waited for the raw connection to close, so all it delivered is
        already queued."""
        tag = b"good-" + uuid.uuid4().hex.encode()
        self.good.send(tag)
        others = []
        while True:
            msg = self.pull.recv_multipart()
            if msg == [tag]:
                break
            others.append(msg)
            assert len(others) < 1000
        while self.pull.poll(0):
            others.append(self.pull.recv_multipart())
        return others


def _make_server(ctx, zctx, endpoint, **opts):
    pull = ctx.socket(zmqx.PULL)
    pull.linger = 0
    pull.rcvtimeo = int(TIMEOUT_S * 1000)
    pull.maxmsgsize = MAXMSGSIZE
    for k, v in opts.items():
        setattr(pull, k, v)
    pull.bind(endpoint)
    ep = pull.LAST_ENDPOINT.decode()
    good = zctx.socket(zmq.PUSH)
    good.linger = 0
    good.sndtimeo = int(TIMEOUT_S * 1000)
    good.connect(ep)
    return Server(pull, good, ep)


@pytest.fixture(params=["tcp", "ipc"])
def server(request, ctx, zctx, ipc_dir):
    srv = _make_server(ctx, zctx, endpoint_for(request.param, ipc_dir))
    srv.roundtrip()
    yield srv
    srv.close()


# ---------------------------------------------------------------- control


def test_raw_peer_can_deliver(server):
    """Control for the tests below: a raw peer with a valid handshake is heard, up to and
    including a frame of exactly MAXMSGSIZE."""
    raw = RawPeer(server.endpoint)
    raw.handshake()
    raw.send(encode_frame(b"raw", more=True) + encode_frame(b"x" * MAXMSGSIZE))
    got = server.pull.recv_multipart()
    assert got == [b"raw", b"x" * MAXMSGSIZE]
    raw.assert_still_open()
    server.roundtrip()
    raw.close()


# ---------------------------------------------------------------- (a) garbage

GARBAGE = {
    "http": b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "zeros": b"\x00" * 200,
    "random": bytes(range(256)) * 4,
    "bad-signature-end": b"\xff" + b"\x00" * 8 + b"\x00" + b"\x03\x01" + b"\x00" * 52,
    "mechanism-mismatch": encode_greeting(b"PLAIN") + b"\x00" * 100,
    "bad-mechanism-chars": encode_greeting(b"n u l l"),
    "ready-missing": encode_greeting() + encode_frame(b"hello"),
    "wrong-first-command": encode_greeting() + encode_command(b"HELLO", b"\x00\x00"),
    "malformed-ready": encode_greeting() + encode_command(b"READY", b"\x0bSocket-Type\x00\x00"),
}


@pytest.mark.parametrize("kind", list(GARBAGE))
def test_garbage_drops_only_that_connection(server, kind):
    raw = RawPeer(server.endpoint)
    raw.send(GARBAGE[kind])
    raw.read_until_closed()          # dropped without us closing first
    raw.close()
    assert server.recv_until_good() == []
    server.roundtrip()


# ---------------------------------------------------------------- (b) truncated greeting


@pytest.mark.parametrize("cut", [1, 10, 11, 12, 33, 63])
def test_truncated_greeting_then_close(server, cut):
    raw = RawPeer(server.endpoint)
    raw.send(encode_greeting()[:cut])
    data = raw.finish()
    # the server greeted us (at most one greeting and one READY) and closed
    assert data[:1] == b"\xff"
    raw.close()
    server.roundtrip()


# ---------------------------------------------------------------- (c) MAXMSGSIZE


@pytest.mark.parametrize("size", [MAXMSGSIZE + 1, 65536, 1 << 40, (1 << 63) - 1, 1 << 63,
                                  (1 << 64) - 1])
@pytest.mark.parametrize("more", [False, True])
def test_frame_over_maxmsgsize_drops_connection(server, size, more):
    raw = RawPeer(server.endpoint)
    raw.handshake()
    raw.send(encode_frame(b"before", more=True) if more else b"")
    raw.send(b"\x03" if more else b"\x02")
    raw.send(size.to_bytes(8, "big") + b"y" * 100)
    # the server drops us without waiting for the body
    raw.read_until_closed()
    raw.close()
    assert server.recv_until_good() == []
    server.roundtrip()


def test_maxmsgsize_short_frames_in_long_form(server):
    """A LONG header carrying a small size is legal; MAXMSGSIZE counts the size, not the form."""
    raw = RawPeer(server.endpoint)
    raw.handshake()
    raw.send(b"\x02" + (5).to_bytes(8, "big") + b"small")
    assert server.pull.recv_multipart() == [b"small"]
    raw.assert_still_open()
    raw.close()


# ---------------------------------------------------------------- (d) cut multipart


@pytest.mark.parametrize("cut", ["after-frames", "mid-header", "mid-body"])
def test_partial_multipart_never_delivered(server, cut):
    raw = RawPeer(server.endpoint)
    raw.handshake()
    # a complete message first (must be delivered), then one cut short
    data = encode_frame(b"whole", more=True) + encode_frame(b"msg")
    data += encode_frame(b"part1", more=True) + encode_frame(b"part2", more=True)
    if cut == "mid-header":
        data += b"\x02\x00\x00"
    elif cut == "mid-body":
        data += encode_frame_header(500) + b"z" * 100
    raw.send(data)
    raw.finish()                           # the server saw everything, then our EOF
    raw.close()
    assert server.recv_until_good() == [[b"whole", b"msg"]]
    server.roundtrip()


# ---------------------------------------------------------------- (e) socket type


@pytest.mark.parametrize("peer_type", [zmtp.PUB, zmtp.PULL, zmtp.REQ, zmtp.PAIR])
def test_incompatible_socket_type_gets_error(server, peer_type):
    raw = RawPeer(server.endpoint)
    raw.send(encode_greeting() + encode_ready(peer_type)
             + encode_frame(b"sneaky", more=True) + encode_frame(b"message"))
    data = raw.read_until_closed()
    raw.close()
    assert data[:1] == b"\xff" and len(data) >= 64
    events = Decoder().feed(data[64:])
    commands = [e[1] for e in events if e[0] == "command"]
    assert b"ERROR" in commands, commands
    assert not [e for e in events if e[0] == "message"]
    assert server.recv_until_good() == []
    server.roundtrip()


def test_error_command_after_handshake_drops_connection(server):
    raw = RawPeer(server.endpoint)
    raw.handshake()
    raw.send(encode_frame(b"ok-before"))
    assert server.pull.recv_multipart() == [b"ok-before"]
    raw.send(encode_command(b"ERROR", b"\x03bye") + encode_frame(b"after-error"))
    raw.read_until_closed()
    raw.close()
    assert server.recv_until_good() == []
    server.roundtrip()


# ---------------------------------------------------------------- (f) silent peers


@pytest.fixture(params=["tcp", "ipc"])
def hs_server(request, ctx, zctx, ipc_dir):
    srv = _make_server(ctx, zctx, endpoint_for(request.param, ipc_dir), handshake_ivl=200)
    assert srv.pull.handshake_ivl == 200
    srv.roundtrip()
    yield srv
    srv.close()


@pytest.mark.parametrize("sent", ["nothing", "greeting-part", "greeting", "no-ready"])
def test_handshake_timeout_closes_silent_peer(hs_server, sent):
    raw = RawPeer(hs_server.endpoint)
    if sent == "greeting-part":
        raw.send(encode_greeting()[:20])
    elif sent == "greeting":
        raw.send(encode_greeting())
    elif sent == "no-ready":
        raw.send(encode_greeting() + encode_ready(zmtp.PUSH)[:5])
    t0 = time.monotonic()
    data = raw.read_until_closed()
    elapsed = time.monotonic() - t0
    raw.close()
    assert data[:1] == b"\xff"
    # HANDSHAKE_IVL 200 ms, counted from the accept (just before t0)
    assert 0.8 * 0.200 <= elapsed <= 3 * 0.200, elapsed
    hs_server.roundtrip()


def test_handshake_timeout_spares_established_connections(hs_server):
    """The handshake timer stops at READY: an idle, established raw peer stays connected
    well past HANDSHAKE_IVL."""
    raw = RawPeer(hs_server.endpoint)
    raw.handshake()
    raw.assert_still_open(wait=0.6)
    raw.send(encode_frame(b"still-here"))
    assert hs_server.pull.recv_multipart() == [b"still-here"]
    hs_server.roundtrip()
    raw.close()


# ---------------------------------------------------------------- (g) commands


@pytest.mark.parametrize("ttl", [0, 10])
def test_ping_gets_pong_with_context(server, ttl):
    raw = RawPeer(server.endpoint)
    raw.handshake()
    for ctx in (b"", b"a", bytes(range(16)), bytes(range(100, 117))):
        raw.send(encode_command(b"PING", ttl.to_bytes(2, "big") + ctx))
        assert raw.next_command(b"PONG") == ctx[:16]
    raw.send(encode_frame(b"after-ping"))
    assert server.pull.recv_multipart() == [b"after-ping"]
    server.roundtrip()
    raw.close()


def test_unknown_commands_are_ignored(server):
    raw = RawPeer(server.endpoint)
    raw.handshake()
    raw.send(encode_command(b"FOOBAR", b"whatever")
             + encode_command(b"X", b"")
             + encode_command(b"PONG", b"unsolicited")
             + encode_frame(b"after", more=True)
             + encode_command(b"FOOBAR", b"")      # a command between two frames
             + encode_frame(b"commands"))
    assert server.pull.recv_multipart() == [b"after", b"commands"]
    raw.assert_still_open()
    server.roundtrip()
    raw.close()


# ---------------------------------------------------------------- fuzz


def _frame(flags, body, long_form):
    if long_form or len(body) > 255:
        return bytes([flags | 0x02]) + len(body).to_bytes(8, "big") + body
    return bytes([flags, len(body)]) + body


_message_frames = st.builds(_frame, st.sampled_from([0x00, 0x01]), st.binary(max_size=300),
                           st.booleans())
_command_frames = st.builds(
    _frame,
    st.sampled_from([0x04, 0x04, 0x05]),          # 0x05: a command with MORE (illegal)
    st.sampled_from([b"\x04PING\x00\x00ctx", b"\x04PING\x00", b"\x04PING", b"\x05ERROR\x00",
                     b"\x04PONG", b"\x06FOOBAR", b"\x06FOOBARdata", b"\x00", b"",
                     b"\x09SUBSCRIBEtopic", b"\x05READY", b"\xffshort"]),
    st.booleans(),
)
_bad_frames = st.builds(_frame, st.sampled_from([0x08, 0x10, 0x80, 0x41, 0x06 | 0x01]),
                        st.binary(max_size=20), st.booleans())
_blobs = st.binary(min_size=1, max_size=64)
_chunks = st.lists(
    st.one_of(_message_frames, _message_frames, _message_frames, _command_frames,
              _bad_frames, _blobs),
    min_size=1, max_size=10,
).map(b"".join)


@pytest.fixture(scope="module")
def fuzz_server(tmp_path_factory):
    """One server for every example (module scope: hypothesis reruns the body)."""
    ctx = zmqx.Context()
    zctx = zmq.Context()
    d = tmp_path_factory.mktemp("fuzz")
    srv = _make_server(ctx, zctx, f"ipc://{d}/fuzz")
    srv.roundtrip()
    yield srv
    srv.close()
    ctx.term()
    zctx.destroy(linger=0)


@settings(max_examples=40, deadline=None,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(data=_chunks)
def test_fuzz_after_handshake(fuzz_server, data):
    srv = fuzz_server
    raw = RawPeer(srv.endpoint)
    raw.handshake()
    raw.send(data)
    raw.finish()            # the server consumed everything (or dropped us earlier)
    raw.close()
    # what the raw peer may legitimately have delivered: whole messages, in order, as a
    # reference decoder sees them before any error
    dec = Decoder(maxmsgsize=MAXMSGSIZE)
    try:
        events = dec.feed(data)
    except zmtp.ProtocolError as e:
        events = e.events
    allowed = [ev[1] for ev in events if ev[0] == "message"]
    got = srv.recv_until_good()
    assert got == allowed[: len(got)], (got, allowed)
    srv.roundtrip(1)


# ---------------------------------------------------------------- I/O thread races

_RACE = textwrap.dedent("""
    import zmq, zmqx
    c = zmqx.Context(); z = zmq.Context()
    for it in range(300):
        pull = z.socket(zmq.PULL); pull.linger = 0; pull.rcvtimeo = 5000
        pull.bind("tcp://127.0.0.1:*")
        push = c.socket(zmqx.PUSH); push.linger = 0
        push.connect(pull.LAST_ENDPOINT.decode())
        push.send(b"x"); assert pull.recv() == b"x"
        pull.close(0)      # the peer drops the connection: EOF is pending on zmqx's fd
        push.close(0)      # ... while zmqx's I/O thread frees the session on close
    c.term(); z.destroy(0)
    print("survived")
""")


def test_close_racing_peer_eof_does_not_crash():
    """Closing a zmqx socket (linger=0) just as its peer hangs up must not crash the I/O
    thread. Runs in a subprocess: a crash there is a failure here, not a dead test run."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env = dict(os.environ, PYTHONPATH=root + os.pathsep + os.environ.get("PYTHONPATH", ""))
    for attempt in range(8):
        p = subprocess.run([sys.executable, "-c", _RACE], env=env, capture_output=True,
                           timeout=40)
        assert p.returncode == 0 and b"survived" in p.stdout, (
            f"attempt {attempt}: rc={p.returncode} stderr={p.stderr[-2000:]!r}")
