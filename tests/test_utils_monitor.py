"""zmqx.utils.monitor against real libzmq monitor events: pyzmq monitors a socket through a
connect, handshake and disconnect; its raw event frames are decoded by zmqx and by pyzmq
and must agree (directly, and after travelling over tcp to zmqx sync and asyncio sockets).
Malformed input raises what pyzmq raises. The Event constants are checked against
libzmq 4.3.5's zmq.h.

Synchronisation is by the events themselves (RCVTIMEO-bounded recvs, awaited with a
timeout); nothing sleeps."""

import asyncio
import struct

import pytest

import zmqx
import zmqx.asyncio as zasync
from zmqx.utils.monitor import parse_monitor_message, recv_monitor_message

zmq = pytest.importorskip("zmq")
from zmq.utils import monitor as zmq_monitor  # noqa: E402

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 5000

# libzmq 4.3.5 zmq.h: ZMQ_EVENT_* and ZMQ_PROTOCOL_ERROR_* (name without prefix, value)
LIBZMQ_435_EVENTS = {
    "CONNECTED": 0x0001, "CONNECT_DELAYED": 0x0002, "CONNECT_RETRIED": 0x0004,
    "LISTENING": 0x0008, "BIND_FAILED": 0x0010, "ACCEPTED": 0x0020, "ACCEPT_FAILED": 0x0040,
    "CLOSED": 0x0080, "CLOSE_FAILED": 0x0100, "DISCONNECTED": 0x0200,
    "MONITOR_STOPPED": 0x0400, "ALL": 0xFFFF, "HANDSHAKE_FAILED_NO_DETAIL": 0x0800,
    "HANDSHAKE_SUCCEEDED": 0x1000, "HANDSHAKE_FAILED_PROTOCOL": 0x2000,
    "HANDSHAKE_FAILED_AUTH": 0x4000,
}
LIBZMQ_435_PROTOCOL_ERRORS = {
    "ZMTP_UNSPECIFIED": 0x10000000, "ZMTP_UNEXPECTED_COMMAND": 0x10000001,
    "ZMTP_INVALID_SEQUENCE": 0x10000002, "ZMTP_KEY_EXCHANGE": 0x10000003,
    "ZMTP_MALFORMED_COMMAND_UNSPECIFIED": 0x10000011,
    "ZMTP_MALFORMED_COMMAND_MESSAGE": 0x10000012, "ZMTP_MALFORMED_COMMAND_HELLO": 0x10000013,
    "ZMTP_MALFORMED_COMMAND_INITIATE": 0x10000014, "ZMTP_MALFORMED_COMMAND_ERROR": 0x10000015,
    "ZMTP_MALFORMED_COMMAND_READY": 0x10000016, "ZMTP_MALFORMED_COMMAND_WELCOME": 0x10000017,
    "ZMTP_INVALID_METADATA": 0x10000018, "ZMTP_CRYPTOGRAPHIC": 0x11000001,
    "ZMTP_MECHANISM_MISMATCH": 0x11000002, "ZAP_UNSPECIFIED": 0x20000000,
    "ZAP_MALFORMED_REPLY": 0x20000001, "ZAP_BAD_REQUEST_ID": 0x20000002,
    "ZAP_BAD_VERSION": 0x20000003, "ZAP_INVALID_STATUS_CODE": 0x20000004,
    "ZAP_INVALID_METADATA": 0x20000005, "WS_UNSPECIFIED": 0x30000000,
}


# ---------------------------------------------------------------- real libzmq events

@pytest.fixture
def libzmq_events():
    """The raw frames of every event libzmq's monitor gives for: bind, a peer's connect and
    handshake, one message, the peer's disconnect, then disable_monitor."""
    ctx = zmq.Context()
    try:
        server = ctx.socket(zmq.PULL)
        server.linger = 0
        mon = server.get_monitor_socket()
        mon.rcvtimeo = WAIT_MS
        server.bind("tcp://127.0.0.1:*")
        client = ctx.socket(zmq.PUSH)
        client.linger = 0
        client.connect(server.last_endpoint)
        client.send(b"x")
        server.rcvtimeo = WAIT_MS
        assert server.recv() == b"x"
        client.close()
        frames = []
        while True:
            msg = mon.recv_multipart()
            frames.append(msg)
            if struct.unpack("=H", msg[0][:2])[0] == zmq.EVENT_DISCONNECTED:
                break
        server.disable_monitor()
        msg = mon.recv_multipart()            # MONITOR_STOPPED
        frames.append(msg)
        mon.close()
        server.close()
        yield frames
    finally:
        ctx.destroy(linger=0)


def _same(ours, theirs):
    assert set(ours) == {"event", "value", "endpoint"}
    assert isinstance(ours["event"], zmqx.Event)
    assert isinstance(ours["value"], zmqx.Event)
    assert int(ours["event"]) == int(theirs["event"])
    assert ours["event"].name == theirs["event"].name
    assert int(ours["value"]) == int(theirs["value"])
    assert bytes(ours["endpoint"]) == bytes(theirs["endpoint"])


def test_parse_matches_pyzmq_on_real_events(libzmq_events):
    names = []
    for msg in libzmq_events:
        ours = parse_monitor_message(msg)
        _same(ours, zmq_monitor.parse_monitor_message(msg))
        names.append(ours["event"].name)
    # the whole life of one connection, as libzmq reports it
    assert names[0] == "LISTENING"
    for name in ("ACCEPTED", "HANDSHAKE_SUCCEEDED", "DISCONNECTED"):
        assert name in names
    assert names[-1] == "MONITOR_STOPPED"
    endpoint = libzmq_events[0][1]
    assert endpoint.startswith(b"tcp://127.0.0.1:")
    accepted = next(m for m in libzmq_events
                    if parse_monitor_message(m)["event"] == zmqx.EVENT_ACCEPTED)
    assert parse_monitor_message(accepted)["endpoint"] == endpoint
    assert parse_monitor_message(libzmq_events[-1])["value"] == 0


def _forward_to_zmqx(frames_list, zmqx_ctx):
    """Send each raw event over tcp from a pyzmq PAIR to a zmqx PAIR; return the zmqx end."""
    receiver = zmqx_ctx.socket(zmqx.PAIR)
    receiver.linger = 0
    receiver.bind("tcp://127.0.0.1:*")
    zctx = zmq.Context()
    sender = zctx.socket(zmq.PAIR)
    sender.linger = 0
    sender.sndtimeo = WAIT_MS
    sender.connect(receiver.last_endpoint)
    try:
        for frames in frames_list:
            sender.send_multipart(frames)
        # the last message is a marker: once the zmqx side has it, all came before it
        sender.send(b"end")
        return receiver
    finally:
        # LINGER=0 would drop what is still queued: wait until the receiver has it all
        receiver_poll = receiver.poll(WAIT_MS, zmqx.POLLIN)
        assert receiver_poll
        sender.linger = WAIT_MS
        sender.close()
        zctx.term()


def test_recv_monitor_message_on_zmqx_socket(libzmq_events):
    ctx = zmqx.Context()
    try:
        rx = _forward_to_zmqx(libzmq_events, ctx)
        rx.rcvtimeo = WAIT_MS
        for msg in libzmq_events:
            _same(recv_monitor_message(rx), zmq_monitor.parse_monitor_message(msg))
        assert rx.recv() == b"end"
        with pytest.raises(zmqx.Again):
            recv_monitor_message(rx, zmqx.NOBLOCK)
        rx.close()
    finally:
        ctx.destroy(linger=0)


def test_parse_frames_not_copied(libzmq_events):
    ctx = zmqx.Context()
    try:
        rx = _forward_to_zmqx(libzmq_events[:2], ctx)
        rx.rcvtimeo = WAIT_MS
        for msg in libzmq_events[:2]:
            frames = rx.recv_multipart(copy=False)
            assert isinstance(frames[0], zmqx.Frame)
            _same(parse_monitor_message(frames), zmq_monitor.parse_monitor_message(msg))
        rx.close()
    finally:
        ctx.destroy(linger=0)


def test_recv_monitor_message_asyncio(libzmq_events):
    async def main():
        actx = zasync.Context()
        try:
            rx = _forward_to_zmqx(libzmq_events, actx)
            got = []
            for _ in libzmq_events:
                pending = recv_monitor_message(rx)
                assert not isinstance(pending, dict)      # an awaitable, as pyzmq's
                got.append(await asyncio.wait_for(pending, WAIT_MS / 1000))
            assert await asyncio.wait_for(rx.recv(), WAIT_MS / 1000) == b"end"
            rx.close()
            return got
        finally:
            actx.destroy(linger=0)

    got = asyncio.run(main())
    assert len(got) == len(libzmq_events)
    for ours, msg in zip(got, libzmq_events):
        _same(ours, zmq_monitor.parse_monitor_message(msg))


# ---------------------------------------------------------------- layout and values

@pytest.mark.parametrize("name", sorted(set(LIBZMQ_435_EVENTS) - {"ALL"}))
def test_every_event_decodes_as_pyzmq(name):
    value = LIBZMQ_435_EVENTS[name]
    msg = [struct.pack("=HI", value, 1234), b"tcp://10.0.0.1:5555"]
    ours = parse_monitor_message(msg)
    _same(ours, zmq_monitor.parse_monitor_message(msg))
    assert ours["event"] == value and ours["value"] == 1234


@pytest.mark.parametrize("code", sorted(LIBZMQ_435_PROTOCOL_ERRORS.values()))
def test_protocol_error_values(code):
    msg = [struct.pack("=HI", zmqx.EVENT_HANDSHAKE_FAILED_PROTOCOL, code), b"tcp://h:1"]
    ours = parse_monitor_message(msg)
    _same(ours, zmq_monitor.parse_monitor_message(msg))
    assert ours["value"] is zmqx.Event(code)
    assert ours["value"].name.startswith("PROTOCOL_ERROR_")


def test_native_byte_order():
    # the bytes libzmq writes for CONNECT_RETRIED (0x0004), value 100 ms, on this machine
    raw = (4).to_bytes(2, "little" if struct.pack("=H", 1)[0] else "big")
    raw += (100).to_bytes(4, "little" if struct.pack("=H", 1)[0] else "big")
    ev = parse_monitor_message([raw, b"tcp://127.0.0.1:1"])
    assert ev["event"] is zmqx.Event.CONNECT_RETRIED and ev["value"] == 100


def test_values_are_read_unsigned():
    # libzmq writes uint16/uint32; no v1 event id reaches 2**15 nor value 2**31, but the
    # layout is unsigned (pyzmq reads these as -1; zmqx keeps what was written)
    ev = parse_monitor_message([struct.pack("=HI", 0xFFFF, 0xFFFFFFFF), b""])
    assert int(ev["event"]) == 0xFFFF
    assert int(ev["value"]) == 0xFFFFFFFF


@pytest.mark.parametrize("msg", [
    [],
    [b"\x01\x00\x00\x00\x00\x00"],                                 # no endpoint frame
    [b"\x01\x00\x00\x00\x00\x00", b"ep", b"extra"],                # three frames
    [b"\x01\x00\x00\x00\x00", b"ep"],                              # 5-byte header
    [b"\x01\x00\x00\x00\x00\x00\x00", b"ep"],                      # 7-byte header
    [b"", b""],
    b"abc",                                                        # not a list of frames
], ids=["empty", "one-frame", "three-frames", "short", "long", "blank", "bytes"])
def test_malformed_raises_as_pyzmq(msg):
    with pytest.raises(RuntimeError, match="Invalid event message format") as ours:
        parse_monitor_message(msg)
    with pytest.raises(RuntimeError) as theirs:
        zmq_monitor.parse_monitor_message(msg)
    assert str(ours.value) == str(theirs.value)


def test_no_length_raises_typeerror_as_pyzmq():
    for bad in (None, 42, b"ab"):          # b"ab": two "frames" that are ints
        with pytest.raises(TypeError):
            zmq_monitor.parse_monitor_message(bad)
        with pytest.raises(TypeError):
            parse_monitor_message(bad)


def test_malformed_on_socket_leaves_it_usable():
    ctx = zmqx.Context()
    try:
        a = ctx.socket(zmqx.PAIR)
        b = ctx.socket(zmqx.PAIR)
        for s in (a, b):
            s.linger = 0
            s.rcvtimeo = WAIT_MS
        a.bind("inproc://bad-monitor-msg")
        b.connect("inproc://bad-monitor-msg")
        a.send(b"not an event")
        with pytest.raises(RuntimeError, match="Invalid event message format"):
            recv_monitor_message(b)
        a.send_multipart([struct.pack("=HI", zmqx.EVENT_CLOSED, 9), b"ipc:///tmp/x"])
        ev = recv_monitor_message(b)
        assert ev == {"event": zmqx.Event.CLOSED, "value": 9, "endpoint": b"ipc:///tmp/x"}
        a.close()
        b.close()
    finally:
        ctx.destroy(linger=0)


# ---------------------------------------------------------------- constants

@pytest.mark.parametrize("name", sorted(LIBZMQ_435_EVENTS))
def test_event_constants_match_libzmq(name):
    value = LIBZMQ_435_EVENTS[name]
    assert int(zmqx.Event[name]) == value
    assert getattr(zmqx, "EVENT_" + name) == value


@pytest.mark.parametrize("name", sorted(LIBZMQ_435_PROTOCOL_ERRORS))
def test_protocol_error_constants_match_libzmq(name):
    value = LIBZMQ_435_PROTOCOL_ERRORS[name]
    assert int(zmqx.Event["PROTOCOL_ERROR_" + name]) == value
    assert getattr(zmqx, "PROTOCOL_ERROR_" + name) == value
