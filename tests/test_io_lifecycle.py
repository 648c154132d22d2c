"""Connection lifecycle on the I/O thread: every event is reported at its one hook point
(zx_io_event in io_thread.pyx, with libzmq's ZMQ_EVENT_* numbers), from the one failure
path. Until the monitor reports them per socket, the hook counts them per process; these
tests read the counts before and after, so they prove that each named point fires, once,
for the right cause (a protocol error is not a timeout, a local close is not a disconnect).
"""

import socket
import time

import pytest

import zmqx
from zmqx._core import io_thread

CONNECTED = 0x0001
CONNECT_DELAYED = 0x0002
CONNECT_RETRIED = 0x0004
LISTENING = 0x0008
ACCEPTED = 0x0020
CLOSED = 0x0080
DISCONNECTED = 0x0200
HS_FAILED_NO_DETAIL = 0x0800
HS_SUCCEEDED = 0x1000
HS_FAILED_PROTOCOL = 0x2000


class Events:
    """Counts since construction."""

    def __init__(self):
        self.base = io_thread._event_counts_snapshot()

    def __getitem__(self, kind):
        return io_thread._event_counts_snapshot()[kind] - self.base[kind]

    def wait(self, kind, at_least, timeout=5.0):
        """Until the I/O thread has reported `kind` at least `at_least` times."""
        deadline = time.monotonic() + timeout
        while self[kind] < at_least:
            assert time.monotonic() < deadline, "event %#x: %d of %d" % (kind, self[kind], at_least)
            time.sleep(0.002)


def _endpoint_port(sock):
    return int(sock.getsockopt(zmqx.LAST_ENDPOINT).decode().rsplit(":", 1)[1])


def _read_to_eof(raw, limit=10.0):
    raw.settimeout(limit)
    while True:
        try:
            if not raw.recv(4096):
                return
        except ConnectionResetError:
            return


def test_connect_accept_handshake_disconnect_close(ctx):
    ev = Events()
    pull = ctx.socket(zmqx.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmqx.PUSH)
    push.connect(pull.getsockopt(zmqx.LAST_ENDPOINT).decode())
    push.send(b"x")
    assert pull.recv() == b"x"        # both handshakes are done before the message arrives
    assert ev[LISTENING] == 1
    assert ev[ACCEPTED] == 1
    assert ev[CONNECTED] == 1
    assert ev[CONNECT_DELAYED] <= 1   # loopback connects may complete at once
    assert ev[HS_SUCCEEDED] == 2      # one per side
    push.close(linger=0)              # our own close: no event on our side...
    ev.wait(DISCONNECTED, 1)          # ...the accepted side sees the peer go
    pull.close(linger=0)
    ev.wait(CLOSED, 1)                # the listener
    assert ev[DISCONNECTED] == 1
    assert ev[HS_FAILED_PROTOCOL] == ev[HS_FAILED_NO_DETAIL] == 0
    assert ev[CONNECT_RETRIED] == 0


def test_bad_greeting_is_a_protocol_failure(ctx):
    pull = ctx.socket(zmqx.PULL)
    pull.bind("tcp://127.0.0.1:*")
    ev = Events()
    with socket.create_connection(("127.0.0.1", _endpoint_port(pull))) as raw:
        raw.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n" + b"\0" * 64)
        _read_to_eof(raw)             # the server hangs up after tearing the session down
    assert ev[ACCEPTED] == 1
    assert ev[HS_FAILED_PROTOCOL] == 1
    assert ev[HS_FAILED_NO_DETAIL] == 0
    assert ev[DISCONNECTED] == 1
    assert ev[HS_SUCCEEDED] == 0


def test_handshake_timeout_is_a_failure_without_detail(ctx):
    pull = ctx.socket(zmqx.PULL)
    pull.setsockopt(zmqx.HANDSHAKE_IVL, 100)
    pull.bind("tcp://127.0.0.1:*")
    ev = Events()
    with socket.create_connection(("127.0.0.1", _endpoint_port(pull))) as raw:
        t0 = time.monotonic()
        _read_to_eof(raw)             # silent peer: dropped when HANDSHAKE_IVL passes
        assert 0.08 <= time.monotonic() - t0 < 3.0
    assert ev[HS_FAILED_NO_DETAIL] == 1
    assert ev[HS_FAILED_PROTOCOL] == 0
    assert ev[DISCONNECTED] == 1


def test_peer_gone_during_handshake(ctx):
    pull = ctx.socket(zmqx.PULL)
    pull.bind("tcp://127.0.0.1:*")
    ev = Events()
    raw = socket.create_connection(("127.0.0.1", _endpoint_port(pull)))
    ev.wait(ACCEPTED, 1)
    raw.close()                       # end of stream before any greeting
    ev.wait(DISCONNECTED, 1)
    assert ev[HS_FAILED_NO_DETAIL] == 1
    assert ev[HS_FAILED_PROTOCOL] == 0


def test_reconnect_attempts_are_reported(ctx):
    with socket.socket() as s:        # a port that nobody listens on
        s.bind(("127.0.0.1", 0))
        s.listen(1)
        port = s.getsockname()[1]
        push = ctx.socket(zmqx.PUSH)
        push.linger = 0
        push.reconnect_ivl = 5
        push.reconnect_ivl_max = 0
        ev = Events()
        s.close()
        push.connect("tcp://127.0.0.1:%d" % port)
        ev.wait(CONNECT_RETRIED, 3)   # refused, retried, refused, ...
    assert ev[CONNECTED] == 0
    assert ev[HS_SUCCEEDED] == 0
    assert ev[DISCONNECTED] == 0      # never connected: nothing to disconnect


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_server_restart_reconnects_and_reports(ctx, transport, tmp_path):
    ev = Events()
    addr = "tcp://127.0.0.1:*" if transport == "tcp" else "ipc://%s/s" % tmp_path
    pull = ctx.socket(zmqx.PULL)
    pull.bind(addr)
    endpoint = pull.getsockopt(zmqx.LAST_ENDPOINT).decode()
    push = ctx.socket(zmqx.PUSH)
    push.reconnect_ivl = 10
    push.connect(endpoint)
    push.send(b"1")
    assert pull.recv() == b"1"
    pull.close(linger=0)
    ev.wait(DISCONNECTED, 1)          # the connect side saw the server go
    ev.wait(CONNECT_RETRIED, 1)       # ... and scheduled the next attempt
    pull = ctx.socket(zmqx.PULL)
    pull.bind(endpoint)
    push.send(b"2")                   # queued on the link that survives the reconnect
    assert pull.poll(5000)
    assert pull.recv() == b"2"
    ev.wait(HS_SUCCEEDED, 4)          # two handshakes per connection
    assert ev[CONNECTED] == 2
    assert ev[ACCEPTED] == 2
    pull.close(linger=0)
