"""Handshake fuzz against a zmqx PLAIN or CURVE server over raw tcp sockets.

Every command a client sends (PLAIN: HELLO, INITIATE; CURVE: HELLO, INITIATE; CURVE data:
MESSAGE) is played from a valid transcript up to the command under test, which is then
replaced by a mutation: bit flips anywhere in its body, truncations and extensions
(re-framed, so the frame itself is well formed), a replay of the same command, a command
from another connection (CURVE: its cookie and boxes belong to that session), or garbage.
The server must either answer as for a valid command (a mutation the protocol does not
protect, e.g. HELLO's zero padding) or drop the connection; it must never hang (every wait
is bounded), never crash, and a good client must still be served afterwards. Greetings and
raw garbage get the same treatment.

Runs are deterministic (seeded), a few hundred connections per mechanism."""

import os
import random
import socket

import pytest

import zmqx
import zmqx.utils.z85
from zmqx._core import mechanism as M
from zmqx._core import zmtp

from mech_wire import PeerClosed, RawPeer  # noqa: E402
from zap_handler import ZapHandler  # noqa: E402

z85 = zmqx.utils.z85
WAIT = 5.0            # no answer and no close within this: a hang


class Server:
    def __init__(self, ctx, mech):
        self.mech = mech
        self.zap = ZapHandler(zmqx, ctx) if mech == "PLAIN" else None
        self.sock = ctx.socket(zmqx.PULL)
        self.sock.linger = 0
        self.sock.rcvtimeo = 5000
        if mech == "PLAIN":
            self.sock.plain_server = True
        else:
            self.pub, self.sec = zmqx.curve_keypair()
            self.sock.curve_server = True
            self.sock.curve_publickey = self.pub
            self.sock.curve_secretkey = self.sec
        self.sock.bind("tcp://127.0.0.1:*")
        self.port = int(self.sock.last_endpoint.rsplit(b":", 1)[1])
        self.checks = 0

    def client_mech(self):
        if self.mech == "PLAIN":
            return M.Mechanism(M.MECH_PLAIN, False, zmtp.PUSH, username=b"admin",
                               password=b"secret")
        cpub, csec = zmqx.curve_keypair()
        return M.Mechanism(M.MECH_CURVE, False, zmtp.PUSH, public_key=z85.decode(cpub),
                           secret_key=z85.decode(csec), server_key=z85.decode(self.pub))

    def peer(self):
        p = RawPeer.connect(self.port, self.client_mech(), self.mech.encode())
        p.sock.settimeout(WAIT)
        return p

    def still_serves(self):
        """A good client (a real zmqx socket) gets a message through."""
        ctx = zmqx.Context.instance()
        c = ctx.socket(zmqx.PUSH)
        c.linger = 0
        try:
            if self.mech == "PLAIN":
                c.plain_username = b"admin"
                c.plain_password = b"secret"
            else:
                c.curve_serverkey = self.pub
                c.curve_publickey, c.curve_secretkey = zmqx.curve_keypair()
            c.connect(self.sock.last_endpoint)
            self.checks += 1
            c.send(b"good %d" % self.checks)
            assert self.sock.recv() == b"good %d" % self.checks
        finally:
            c.close()

    def close(self):
        self.sock.close()
        if self.zap is not None:
            self.zap.close()


@pytest.fixture(params=["PLAIN", "CURVE"])
def server(request, ctx):
    s = Server(ctx, request.param)
    yield s
    s.close()


def _outcome(peer):
    """'closed' if the server dropped us, 'answered' if it sent a command back; a hang
    (neither within WAIT) fails."""
    try:
        while True:
            data = peer.sock.recv(65536)
            if not data:
                return "closed"
            peer._parse(data)
            for ev in peer.events:
                if ev[0] == "command" and not ev[1].startswith(b"\x05ERROR") \
                        and not ev[1].startswith(b"^RROR"):
                    return "answered"
    except ConnectionResetError:
        return "closed"
    except socket.timeout:
        pytest.fail("the server neither answered nor closed within %.0f s" % WAIT)


def _frame(body):
    return zmtp.encode_frame(body, command=True)


def _mutations(body, rng, n):
    out = []
    for _ in range(n):
        b = bytearray(body)
        kind = rng.randrange(5)
        if kind == 0 or len(b) < 2:             # flip one bit
            i = rng.randrange(len(b))
            b[i] ^= 1 << rng.randrange(8)
        elif kind == 1:                          # flip several bytes
            for _ in range(rng.randrange(1, 8)):
                b[rng.randrange(len(b))] = rng.randrange(256)
        elif kind == 2:                          # truncate
            b = b[:rng.randrange(1, len(b))]
        elif kind == 3:                          # extend
            b += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 40)))
        else:                                    # flip inside the name
            i = rng.randrange(min(len(b), 9))
            b[i] ^= 1 << rng.randrange(8)
        out.append(bytes(b))
    return out


def _until(peer, step):
    """Play the valid transcript until the client's command number `step` is due; return
    that command's frame body (without sending it)."""
    peer.greet()
    cmd = 0
    while True:
        frame = peer.mech.next_frame()
        if frame is not None:
            if cmd == step:
                hdr = zmtp.decode_frame_header(frame)
                return frame[hdr[2]:]
            peer.sock.sendall(frame)
            cmd += 1
            continue
        ev = peer.next_event()
        assert ev[0] == "command", ev
        peer.mech.feed(ev[1])


@pytest.mark.parametrize("step", [0, 1], ids=["HELLO", "INITIATE"])
def test_mutated_commands_drop_the_connection_or_are_harmless(server, step):
    rng = random.Random(1000 + step)
    outcomes = {"closed": 0, "answered": 0}
    probe = server.peer()
    body = _until(probe, step)
    probe.close()
    for mutated in _mutations(body, rng, 60):
        peer = server.peer()
        try:
            _until(peer, step)
            peer.sock.sendall(_frame(mutated))
            outcomes[_outcome(peer)] += 1
        finally:
            peer.close()
    assert outcomes["closed"] >= 40, outcomes
    server.still_serves()


def test_curve_initiate_mutations_all_drop(ctx):
    """Every byte of CURVE's INITIATE after its name is authenticated (cookie, nonce,
    box): no mutation of it gets an answer."""
    server = Server(ctx, "CURVE")
    try:
        rng = random.Random(7)
        probe = server.peer()
        body = _until(probe, 1)
        probe.close()
        for _ in range(60):
            b = bytearray(body)
            i = rng.randrange(9, len(b))
            b[i] ^= 1 << rng.randrange(8)
            peer = server.peer()
            try:
                _until(peer, 1)
                peer.sock.sendall(_frame(bytes(b)))
                assert _outcome(peer) == "closed"
            finally:
                peer.close()
        server.still_serves()
    finally:
        server.close()


def test_replayed_and_foreign_commands_drop(server):
    # the same HELLO twice
    peer = server.peer()
    try:
        hello = _until(peer, 0)
        peer.sock.sendall(_frame(hello))
        peer.sock.sendall(_frame(hello))
        # the first HELLO is answered (WELCOME), the replay ends the connection
        with pytest.raises((PeerClosed, ConnectionResetError)):
            while True:
                peer._parse(peer._recv())
    finally:
        peer.close()
    if server.mech == "CURVE":
        # a whole valid client transcript from connection A, replayed on connection B:
        # B's server has another cookie key and short-term pair, so INITIATE cannot open
        a = server.peer()
        b = server.peer()
        try:
            a_hello = _until(a, 0)
            a.sock.sendall(_frame(a_hello))
            a_init = _until_next_command(a)
            b.greet()
            b.sock.sendall(_frame(a_hello))
            ev = b.next_event()
            assert ev[0] == "command" and ev[1].startswith(b"\x07WELCOME")
            b.sock.sendall(_frame(a_init))
            assert _outcome(b) == "closed"
        finally:
            a.close()
            b.close()
    server.still_serves()


def _until_next_command(peer):
    while True:
        frame = peer.mech.next_frame()
        if frame is not None:
            hdr = zmtp.decode_frame_header(frame)
            return frame[hdr[2]:]
        ev = peer.next_event()
        peer.mech.feed(ev[1])


def test_curve_messages_replayed_reordered_or_truncated_drop(ctx):
    server = Server(ctx, "CURVE")
    try:
        for case in ("replay", "reorder", "truncate", "flip"):
            peer = server.peer()
            try:
                peer.handshake()
                m1 = peer.mech.encode_message(b"one")
                m2 = peer.mech.encode_message(b"two")
                m3 = peer.mech.encode_message(b"three")
                peer.sock.sendall(m1)
                assert server.sock.recv() == b"one"
                if case == "replay":
                    peer.sock.sendall(m1)
                elif case == "reorder":
                    peer.sock.sendall(m3)
                    assert server.sock.recv() == b"three"
                    peer.sock.sendall(m2)
                elif case == "truncate":
                    hdr = zmtp.decode_frame_header(m2)
                    peer.sock.sendall(zmtp.encode_frame(m2[hdr[2]:-3]))
                else:
                    b = bytearray(m2)
                    b[-1] ^= 0x40
                    peer.sock.sendall(bytes(b))
                assert _outcome(peer) == "closed"
                server.sock.rcvtimeo = 200
                with pytest.raises(zmqx.Again):
                    server.sock.recv()
                server.sock.rcvtimeo = 5000
            finally:
                peer.close()
        server.still_serves()
    finally:
        server.close()


@pytest.mark.parametrize("seed", range(6))
def test_garbage_greetings_and_streams(server, seed):
    rng = random.Random(seed)
    good = zmtp.encode_greeting(server.mech.encode())
    for i in range(25):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        try:
            kind = i % 5
            if kind == 0:
                data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 200)))
            elif kind == 1:                       # a mutated greeting
                b = bytearray(good)
                for _ in range(rng.randrange(1, 4)):
                    b[rng.randrange(len(b))] = rng.randrange(256)
                data = bytes(b)
            elif kind == 2:                       # a good greeting, then garbage
                data = good + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            elif kind == 3:                       # a good greeting, a data frame first
                data = good + zmtp.encode_frame(b"early")
            else:                                 # a huge declared command
                data = good + b"\x06" + (1 << 40).to_bytes(8, "big")
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)            # a peer that waits for more gets EOF
            try:
                while s.recv(65536):
                    pass
            except ConnectionResetError:
                pass
        finally:
            s.close()
    server.sock.rcvtimeo = 100
    with pytest.raises(zmqx.Again):
        server.sock.recv()
    server.sock.rcvtimeo = 5000
    server.still_serves()


def _rss_kib():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return None


@pytest.mark.skipif(not os.path.exists("/proc/self/status"), reason="needs /proc")
@pytest.mark.timeout(180)
def test_failed_handshakes_do_not_leak(server):
    """Thousands of refused handshakes (garbage after the greeting, a HELLO then EOF, a
    bare greeting) leave the process's memory where it was: each connection's mechanism,
    buffers and ZAP state are freed (a leak of 1.5 KiB per connection would show)."""
    rng = random.Random(3)
    good = zmtp.encode_greeting(server.mech.encode())

    def one(i):
        s = socket.create_connection(("127.0.0.1", server.port), timeout=WAIT)
        try:
            data = good
            if i % 3 == 0:
                data += bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            elif i % 3 == 1:
                data += server.client_mech().next_frame()
            s.sendall(data)
            s.shutdown(socket.SHUT_WR)
            try:
                while s.recv(65536):
                    pass
            except OSError:
                pass
        finally:
            s.close()

    for i in range(300):                     # warm up allocator pools
        one(i)
    server.still_serves()
    before = _rss_kib()
    for i in range(2000):
        one(i)
    server.still_serves()
    grown = _rss_kib() - before
    assert grown < 3 * 1024, "RSS grew by %d KiB over 2000 failed handshakes" % grown
