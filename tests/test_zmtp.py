"""Tests for the sans-I/O ZMTP codec (zmqx/_core/zmtp.pyx).

Golden vectors, handshake state machine, decoder limits, property-based fuzzing (only
ProtocolError may escape) and interop with real libzmq through pyzmq over raw TCP."""
import contextlib
import socket
import struct

import pytest
from helpers import hypothesis_api

given, settings, st, HealthCheck, assume = hypothesis_api()  # skips loudly without it

from zmqx._core import zmtp
from zmqx._core.zmtp import (
    Decoder,
    Handshake,
    ProtocolError,
    decode_greeting,
    encode_command,
    encode_error,
    encode_frame,
    encode_greeting,
    encode_metadata,
    encode_ping,
    encode_pong,
    encode_ready,
    parse_metadata,
    socktype_compatible,
)

pytestmark = pytest.mark.timeout(30)

FUZZ = settings(max_examples=300, deadline=None,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

NAMES = ["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH",
         "XPUB", "XSUB", "STREAM",
         # the draft types, libzmq's numbers 12..20
         "SERVER", "CLIENT", "RADIO", "DISH", "GATHER", "SCATTER", "DGRAM", "PEER", "CHANNEL"]


def greeting(major=3, minor=1, mechanism=b"NULL", sig_end=0x7F, first=0xFF, padding=None):
    g = bytearray(encode_greeting(mechanism))
    g[0] = first
    if padding is not None:
        g[1:9] = padding
    g[9] = sig_end
    g[10] = major
    g[11] = minor
    return bytes(g)


def ready_frame(props):
    return encode_command(b"READY", encode_metadata(props))


def peer_bytes(socktype_name, identity=None, minor=1):
    props = {b"Socket-Type": socktype_name}
    if identity is not None:
        props[b"Identity"] = identity
    return greeting(minor=minor) + ready_frame(props)


@contextlib.contextmanager
def raises_code(code):
    with pytest.raises(ProtocolError) as info:
        yield info
    assert info.value.code == code, (info.value.code, code)


# =========================================================== golden vectors

def test_greeting_layout():
    g = encode_greeting()
    assert len(g) == 64
    assert g[0] == 0xFF
    assert g[1:9] == b"\x00" * 7 + b"\x01"        # libzmq: empty identity length + 1
    assert g[9] == 0x7F
    assert g[10:12] == b"\x03\x01"
    assert g[12:32] == b"NULL" + b"\x00" * 16
    assert g[32] == 0
    assert g[33:] == b"\x00" * 31
    assert encode_greeting(b"PLAIN", as_server=True)[12:33] == b"PLAIN" + b"\x00" * 15 + b"\x01"
    assert decode_greeting(g) == (3, 1, b"NULL", False)
    assert decode_greeting(encode_greeting(b"CURVE", True)) == (3, 1, b"CURVE", True)


def test_greeting_libzmq_testutil_vector():
    # libzmq tests/testutil.hpp zmtp_greeting_null: a 3.0 NULL greeting, zero padding
    v = b"\xff" + b"\x00" * 8 + b"\x7f\x03\x00NULL" + b"\x00" * 16 + b"\x00" + b"\x00" * 31
    assert len(v) == 64
    assert decode_greeting(v) == (3, 0, b"NULL", False)


def test_greeting_decode_incremental_and_early_rejection():
    g = encode_greeting()
    for i in range(64):
        assert decode_greeting(g[:i]) is None
    with raises_code(zmtp.ERR_PROTOCOL):
        decode_greeting(b"\x00")                      # rejected on the first byte
    with raises_code(zmtp.ERR_VERSION):
        decode_greeting(g[:9] + b"\x7e")              # 1.0: byte 9 LSB clear, at 10 bytes
    with raises_code(zmtp.ERR_VERSION):
        decode_greeting(g[:10] + b"\x02")             # ZMTP 2.0, at 11 bytes
    with raises_code(zmtp.ERR_VERSION):
        decode_greeting(g[:10] + b"\x01")
    # padding is never validated
    assert decode_greeting(greeting(padding=b"\xde\xad\xbe\xef\x00\x11\x22\x33")) == (3, 1, b"NULL", False)
    # any byte 9 with LSB set, and higher majors, are accepted
    assert decode_greeting(greeting(sig_end=0x01, major=4, minor=7)) == (4, 7, b"NULL", False)


@pytest.mark.parametrize("mech", [b"null", b"NU LL", b"NU\x00LL", b"", b"A\x01"])
def test_greeting_bad_mechanism(mech):
    g = bytearray(encode_greeting())
    g[12:32] = mech.ljust(20, b"\x00")
    with raises_code(zmtp.ERR_PROTOCOL):
        decode_greeting(bytes(g))


def test_greeting_mechanism_all_allowed_chars():
    g = bytearray(encode_greeting())
    g[12:32] = b"AZ09-_.+XYZ123456789"
    assert decode_greeting(bytes(g))[2] == b"AZ09-_.+XYZ123456789"


def test_ready_dealer_vector():
    v = (b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06DEALER"
         b"\x08Identity\x00\x00\x00\x00")
    assert len(v) == 43
    assert encode_ready(zmtp.DEALER) == v
    assert encode_ready(zmtp.DEALER, b"") == v


def test_ready_router_vector():
    # libzmq's add_basic_properties sends Identity for REQ, DEALER and ROUTER (checked
    # on the wire against libzmq 4.3.5 in test_interop_router_ready_is_byte_exact).
    v = (b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER"
         b"\x08Identity\x00\x00\x00\x00")
    assert encode_ready(zmtp.ROUTER) == v


@pytest.mark.parametrize("st", range(len(NAMES)))
def test_ready_all_types(st):
    frame = encode_ready(st, b"id")
    flags, size, hdrlen = zmtp.decode_frame_header(frame)
    assert flags == 0x04 and hdrlen == 2 and size == len(frame) - 2
    name, data = zmtp.split_command(frame[2:])
    assert name == b"READY"
    props = parse_metadata(data)
    assert list(props)[0] == b"Socket-Type"
    assert props[b"Socket-Type"] == NAMES[st].encode()
    if NAMES[st] in ("REQ", "DEALER", "ROUTER"):
        assert props[b"Identity"] == b"id"
    else:
        assert b"Identity" not in props


def test_ready_rejects_bad_input():
    with pytest.raises(ValueError):
        encode_ready(21)                   # past CHANNEL (20): no such type
    with pytest.raises(ValueError):
        encode_ready(-1)
    with pytest.raises(ValueError):
        encode_ready(zmtp.DEALER, b"x" * 256)
    long_ready = encode_ready(zmtp.DEALER, b"x" * 255)
    assert long_ready[0] == 0x06 and len(long_ready) == 9 + 1 + 5 + 16 + 6 + 13 + 255


def test_frame_header_short_long_boundary():
    assert encode_frame(b"") == b"\x00\x00"
    f255 = encode_frame(b"a" * 255)
    assert f255[:2] == b"\x00\xff" and len(f255) == 257
    f256 = encode_frame(b"a" * 256)
    assert f256[:9] == b"\x02" + struct.pack(">Q", 256) and len(f256) == 265
    assert encode_frame(b"a" * 255, more=True)[:2] == b"\x01\xff"
    assert encode_frame(b"a" * 256, more=True)[0] == 0x03
    assert encode_frame(b"a" * 255, command=True)[0] == 0x04
    assert encode_frame(b"a" * 256, command=True)[0] == 0x06
    assert zmtp.encode_frame_header(1 << 40) == b"\x02" + struct.pack(">Q", 1 << 40)
    assert zmtp.decode_frame_header(b"\x00\xff") == (0, 255, 2)
    assert zmtp.decode_frame_header(b"\x03" + struct.pack(">Q", 256)) == (3, 256, 9)


def test_frame_header_decode_errors_and_need_more():
    d = zmtp.decode_frame_header
    assert d(b"") is None
    assert d(b"\x00") is None
    assert d(b"\x02" + b"\x00" * 7) is None
    for bad in (0x08, 0x10, 0x20, 0x40, 0x80, 0xF8, 0xFF):
        with raises_code(zmtp.ERR_PROTOCOL):
            d(bytes([bad]))                          # rejected on the flags byte alone
    for bad in (0x05, 0x07):
        with raises_code(zmtp.ERR_PROTOCOL):
            d(bytes([bad]))                          # COMMAND + MORE
    with raises_code(zmtp.ERR_PROTOCOL):
        d(b"\x02" + struct.pack(">Q", 1 << 63))
    assert d(b"\x02" + struct.pack(">Q", (1 << 63) - 1)) == (2, (1 << 63) - 1, 9)
    # maxsize applies to messages only, inclusive bound
    assert d(b"\x00\x0a", 10) == (0, 10, 2)
    with raises_code(zmtp.ERR_TOO_BIG):
        d(b"\x00\x0b", 10)
    assert d(b"\x04\x0b", 10) == (4, 11, 2)
    # commands are capped at 1 MiB whatever maxsize says
    assert d(b"\x06" + struct.pack(">Q", 1 << 20)) == (6, 1 << 20, 9)
    with raises_code(zmtp.ERR_PROTOCOL):
        d(b"\x06" + struct.pack(">Q", (1 << 20) + 1))
    # LONG frames with small sizes are accepted (libzmq does)
    assert d(b"\x02" + struct.pack(">Q", 5)) == (2, 5, 9)


def test_ping_pong_vectors():
    assert encode_ping(0) == b"\x04\x07\x04PING\x00\x00"
    assert encode_ping(0x1234, b"ab") == b"\x04\x09\x04PING\x12\x34ab"
    ctx16 = bytes(range(16))
    assert encode_ping(1, ctx16) == b"\x04\x17\x04PING\x00\x01" + ctx16
    assert encode_ping(1, ctx16 + b"X") == encode_ping(1, ctx16)   # truncated
    assert encode_pong(b"") == b"\x04\x05\x04PONG"
    assert encode_pong(ctx16) == b"\x04\x15\x04PONG" + ctx16
    ctx17 = bytes(range(17))
    assert encode_pong(ctx17) == b"\x04\x15\x04PONG" + ctx17[:16]
    assert zmtp.decode_ping(b"\x00\x0a" + ctx17) == (10, ctx17)    # any length accepted
    assert zmtp.decode_ping(b"\xff\xff") == (0xFFFF, b"")
    for short in (b"", b"\x01"):
        with raises_code(zmtp.ERR_PROTOCOL):
            zmtp.decode_ping(short)
    with pytest.raises(ValueError):
        encode_ping(0x10000)


def test_error_vector():
    assert encode_error(b"") == b"\x04\x07\x05ERROR\x00"
    assert encode_error(b"bad") == b"\x04\x0a\x05ERROR\x03bad"
    long_reason = b"r" * 300
    e = encode_error(long_reason)
    assert e[:2] == b"\x06" + b"\x00"         # 1 + 5 + 1 + 255 = 262 > 255: long frame
    assert struct.unpack(">Q", e[1:9])[0] == 262
    assert e[9:] == b"\x05ERROR\xff" + b"r" * 255


def test_command_encode_and_split():
    assert encode_command(b"SUBSCRIBE", b"topic") == b"\x04\x0f\x09SUBSCRIBEtopic"
    big = encode_command(b"X", b"d" * 300)
    assert big[0] == 0x06 and struct.unpack(">Q", big[1:9])[0] == 302
    assert zmtp.split_command(b"\x04PINGxy") == (b"PING", b"xy")
    assert zmtp.split_command(b"\x04PING") == (b"PING", b"")
    for bad in (b"", b"\x00", b"\x00abc", b"\x05PING", b"\x04PIN1", b"\x02a-", b"\x01\x00"):
        with raises_code(zmtp.ERR_PROTOCOL):
            zmtp.split_command(bad)
    with pytest.raises(ValueError):
        encode_command(b"", b"")
    with pytest.raises(ValueError):
        encode_command(b"x" * 256, b"")


def test_metadata_parse_find_and_errors():
    md = encode_metadata({b"Socket-Type": b"PUSH", b"X-a.b_c+1": b"", b"Identity": b"\x01\x02"})
    assert parse_metadata(md) == {b"Socket-Type": b"PUSH", b"X-a.b_c+1": b"", b"Identity": b"\x01\x02"}
    assert parse_metadata(b"") == {}
    assert zmtp.metadata_find(md, b"socket-type") == b"PUSH"
    assert zmtp.metadata_find(md, b"IDENTITY") == b"\x01\x02"
    assert zmtp.metadata_find(md, b"Nope") is None
    bad = [
        md + b"\x00",                                     # trailing byte
        md + b"\x03abc\x00\x00",                          # truncated value-len
        md[:-1],                                          # truncated value
        b"\x00\x00\x00\x00\x00",                          # empty name
        b"\x09ab\x00\x00\x00\x00",                         # name-len beyond the data
        b"\x02a \x00\x00\x00\x00",                         # space not allowed
        b"\x01a\x80\x00\x00\x00" + b"",                    # value-len >= 2^31
        b"\x05ab",                                        # name truncated
    ]
    for b in bad:
        with raises_code(zmtp.ERR_PROTOCOL):
            parse_metadata(b)
        with raises_code(zmtp.ERR_PROTOCOL):
            zmtp.metadata_find(b, b"a")


def test_socktype_names():
    for i, n in enumerate(NAMES):
        assert zmtp.socktype_name(i) == n.encode()
        assert zmtp.socktype_from_name(n.encode()) == i
    assert zmtp.socktype_name(len(NAMES)) is None
    assert zmtp.socktype_from_name(b"push") == -1       # libzmq compares case-sensitively
    assert zmtp.socktype_from_name(b"client") == -1
    assert zmtp.socktype_from_name(b"") == -1
    assert zmtp.socktype_from_name(b"PUSHX") == -1


def test_socktype_compatibility_table():
    table = {
        "REQ": {"REP", "ROUTER"}, "REP": {"REQ", "DEALER"},
        "DEALER": {"REP", "DEALER", "ROUTER"}, "ROUTER": {"REQ", "DEALER", "ROUTER"},
        "PUB": {"SUB", "XSUB"}, "XPUB": {"SUB", "XSUB"},
        "SUB": {"PUB", "XPUB"}, "XSUB": {"PUB", "XPUB"},
        "PUSH": {"PULL"}, "PULL": {"PUSH"}, "PAIR": {"PAIR"}, "STREAM": set(),
        # the draft types (libzmq's mechanism.cpp check_socket_type)
        "SERVER": {"CLIENT"}, "CLIENT": {"SERVER"}, "RADIO": {"DISH"}, "DISH": {"RADIO"},
        "GATHER": {"SCATTER"}, "SCATTER": {"GATHER"}, "DGRAM": {"DGRAM"}, "PEER": {"PEER"},
        "CHANNEL": {"CHANNEL"},
    }
    for a, ours in enumerate(NAMES):
        for b, peer in enumerate(NAMES):
            assert socktype_compatible(a, b) == (peer in table[ours]), (ours, peer)
    # the relation is symmetric
    for a in range(len(NAMES) + 1):
        for b in range(len(NAMES) + 1):
            assert socktype_compatible(a, b) == socktype_compatible(b, a)
    assert not socktype_compatible(-1, 0) and not socktype_compatible(0, 99)


# =========================================================== handshake

def test_handshake_initial_output():
    h = Handshake(zmtp.PUSH)
    assert not h.done and h.peer_socktype == -1
    assert h.data_to_send() == encode_greeting() + encode_ready(zmtp.PUSH)
    assert h.data_to_send() == b""
    h = Handshake(zmtp.DEALER, b"me")
    assert h.data_to_send() == encode_greeting() + encode_ready(zmtp.DEALER, b"me")
    with pytest.raises(ValueError):
        Handshake(zmtp.DEALER, b"x" * 256)
    with pytest.raises(ValueError):
        Handshake(42)


def _feed_all(h, chunks):
    out = b""
    for c in chunks:
        out += h.feed(c)
    return out


@pytest.mark.parametrize("split", ["11+53", "1 byte", "all", "10+1+53"])
def test_handshake_greeting_fragmentation(split):
    data = peer_bytes(b"PULL")
    g, r = data[:64], data[64:]
    if split == "11+53":
        chunks = [g[:11], g[11:], r]
    elif split == "1 byte":
        chunks = [data[i:i + 1] for i in range(len(data))]
    elif split == "10+1+53":
        chunks = [g[:10], g[10:11], g[11:] + r[:3], r[3:]]
    else:
        chunks = [data]
    h = Handshake(zmtp.PUSH)
    for c in chunks[:-1]:
        assert h.feed(c) == b""
        assert not h.done
    assert h.feed(chunks[-1]) == b""
    assert h.done
    assert h.peer_socktype == zmtp.PULL
    assert h.peer_major == 3 and h.peer_minor == 1
    assert h.peer_identity == b""


def test_handshake_everything_in_one_chunk_leaves_data():
    data_frames = encode_frame(b"hello", more=True) + encode_frame(b"x" * 300)
    h = Handshake(zmtp.PULL)
    left = h.feed(peer_bytes(b"PUSH") + data_frames)
    assert h.done and left == data_frames
    assert Decoder().feed(left) == [("message", [b"hello", b"x" * 300])]
    # once done, everything fed is data
    assert h.feed(b"\x00\x01z") == b"\x00\x01z"


def test_handshake_ready_with_long_header_and_identity():
    ident = bytes(range(1, 256))
    data = peer_bytes(b"DEALER", ident) + encode_frame(b"tail")
    assert data[64] == 0x06
    h = Handshake(zmtp.ROUTER)
    left = _feed_all(h, [data[i:i + 7] for i in range(0, len(data), 7)])
    assert h.done and h.peer_socktype == zmtp.DEALER and h.peer_identity == ident
    assert left == encode_frame(b"tail")


def test_handshake_identity_ignored_for_other_types():
    h = Handshake(zmtp.PULL)
    h.feed(peer_bytes(b"PUSH", b"abc"))
    assert h.done and h.peer_identity == b""


def test_handshake_peer_3_0_accepted():
    h = Handshake(zmtp.SUB)
    h.feed(peer_bytes(b"XPUB", minor=0))
    assert h.done and h.peer_minor == 0 and h.peer_socktype == zmtp.XPUB


def test_handshake_extra_properties_and_case():
    h = Handshake(zmtp.REQ)
    h.feed(greeting() + ready_frame({b"X-Foo": b"bar", b"socket-type": b"ROUTER",
                                     b"identity": b"R1"}))
    assert h.done and h.peer_socktype == zmtp.ROUTER and h.peer_identity == b"R1"


@pytest.mark.parametrize("mech", [b"PLAIN", b"CURVE", b"NULLX"])
def test_handshake_mechanism_mismatch(mech):
    h = Handshake(zmtp.PUSH)
    h.data_to_send()
    with raises_code(zmtp.ERR_MECHANISM):
        h.feed(greeting(mechanism=mech))
    assert h.failed and not h.done and h.error == zmtp.ERR_MECHANISM
    with raises_code(zmtp.ERR_MECHANISM):
        h.feed(b"more")                         # stays failed


def test_handshake_incompatible_socktype_queues_error():
    h = Handshake(zmtp.PUSH)
    h.data_to_send()
    with raises_code(zmtp.ERR_SOCKTYPE):
        h.feed(peer_bytes(b"PUB"))
    out = h.data_to_send()
    assert out.startswith(b"\x04") and b"\x05ERROR" in out
    events = Decoder().feed(out)
    assert len(events) == 1 and events[0][:2] == ("command", b"ERROR")
    reason = events[0][2]
    assert reason[0] == len(reason) - 1 and b"socket type" in reason.lower()
    assert h.data_to_send() == b""


@pytest.mark.parametrize("props", [
    {b"X-Other": b"1"},                       # no Socket-Type
    {b"Socket-Type": b"CLIENT"},              # unknown to us
    {b"Socket-Type": b"pull"},                # libzmq spells types in upper case
    {b"Socket-Type": b""},
])
def test_handshake_missing_or_unknown_socktype(props):
    h = Handshake(zmtp.PUSH)
    h.data_to_send()
    with raises_code(zmtp.ERR_SOCKTYPE):
        h.feed(greeting() + ready_frame(props))
    assert b"ERROR" in h.data_to_send()


def test_handshake_peer_error():
    h = Handshake(zmtp.PUSH)
    h.data_to_send()
    with raises_code(zmtp.ERR_PEER_ERROR):
        h.feed(greeting() + encode_error(b"go away"))
    assert h.data_to_send() == b""


@pytest.mark.parametrize("first", [
    encode_frame(b"data"),                                    # message before READY
    encode_frame(b"data", more=True),
    encode_command(b"PING", b"\x00\x00"),                     # other command
    encode_command(b"READYX", encode_metadata({b"Socket-Type": b"PULL"})),
    encode_frame(b"\x05READY\x0bSocket-Type\x00\x00\x00\x04PULL\x00", command=True),
    encode_frame(b"\x00READY", command=True),                 # bad name length
    encode_frame(b"", command=True),
    encode_command(b"READY", encode_metadata({b"Socket-Type": b"PULL",
                                              b"Identity": b"i" * 256})),
    encode_command(b"READY", encode_metadata({b"Socket-Type": b"PULL",
                                              b"X-Big": b"b" * 1100})),  # > inbuf
    b"\x08\x00",                                              # reserved flag bit
    b"\x05\x00",                                              # COMMAND + MORE
    b"\x06" + struct.pack(">Q", 1 << 62),                    # absurd READY size
])
def test_handshake_bad_first_frame(first):
    h = Handshake(zmtp.PUSH)
    with raises_code(zmtp.ERR_PROTOCOL):
        h.feed(greeting() + first)
    assert h.failed


def test_handshake_bad_frame_detected_before_body():
    h = Handshake(zmtp.PUSH)
    h.feed(greeting())
    with raises_code(zmtp.ERR_PROTOCOL):
        h.feed(b"\x06" + struct.pack(">Q", 5000))  # header alone is enough


@pytest.mark.parametrize("data,code", [
    (b"\x00", zmtp.ERR_PROTOCOL),                                  # garbage / 1.0 unversioned
    (b"GET / HTTP/1.1\r\n", zmtp.ERR_PROTOCOL),
    (b"\xff" + b"\x00" * 8 + b"\x7e", zmtp.ERR_VERSION),           # 1.0 (byte 9 LSB 0)
    (b"\xff" + b"\x00" * 8 + b"\x7f\x01\x05", zmtp.ERR_VERSION),   # 2.0 (revision 1)
    (b"\xff" + b"\x00" * 8 + b"\x7f\x00", zmtp.ERR_VERSION),
    (greeting(major=2), zmtp.ERR_VERSION),
])
def test_handshake_early_rejection(data, code):
    h = Handshake(zmtp.DEALER)
    with raises_code(code):
        h.feed(data)
    assert h.failed and h.error == code


# =========================================================== decoder

def test_decoder_messages_and_commands():
    d = Decoder()
    stream = (encode_frame(b"a", more=True) + encode_command(b"PING", b"\x00\x05ctx")
              + encode_frame(b"") + encode_frame(b"z" * 256) + encode_frame(b"q", more=True))
    assert d.feed(stream) == [
        ("command", b"PING", b"\x00\x05ctx"),
        ("message", [b"a", b""]),
        ("message", [b"z" * 256]),
    ]
    assert d.feed(encode_frame(b"r")) == [("message", [b"q", b"r"])]


def test_decoder_truncated_input_no_events():
    d = Decoder()
    data = encode_frame(b"x" * 1000)
    for i in range(len(data) - 1):
        assert d.feed(data[i:i + 1]) == []
    assert d.feed(data[-1:]) == [("message", [b"x" * 1000])]
    d = Decoder()
    assert d.feed(encode_frame(b"abc", more=True) + encode_frame(b"de")[:-1]) == []


def test_decoder_long_frame_small_size():
    assert Decoder().feed(b"\x02" + struct.pack(">Q", 5) + b"hello") == [("message", [b"hello"])]


def test_decoder_maxmsgsize_rejects_at_header_time():
    d = Decoder(maxmsgsize=1000)
    with raises_code(zmtp.ERR_TOO_BIG):
        d.feed(b"\x02" + struct.pack(">Q", 1 << 40))   # the 9 header bytes only
    assert d.failed
    with raises_code(zmtp.ERR_TOO_BIG):
        d.feed(b"anything")                              # stays failed
    # without a limit the same header just waits for its body
    d = Decoder()
    assert d.feed(b"\x02" + struct.pack(">Q", 1 << 40)) == []


def test_decoder_maxmsgsize_boundary_and_commands():
    d = Decoder(maxmsgsize=300)
    assert d.feed(encode_frame(b"m" * 300)) == [("message", [b"m" * 300])]
    assert d.feed(encode_command(b"BIG", b"c" * 2000)) == [("command", b"BIG", b"c" * 2000)]
    with raises_code(zmtp.ERR_TOO_BIG):
        d.feed(encode_frame(b"m" * 301)[:9])
    d = Decoder(maxmsgsize=0)
    assert d.feed(encode_frame(b"")) == [("message", [b""])]
    with raises_code(zmtp.ERR_TOO_BIG):
        d.feed(b"\x00\x01")


@pytest.mark.parametrize("bad", [b"\x08\x00", b"\x80", b"\x05\x00", b"\x07",
                                 b"\x06" + struct.pack(">Q", (1 << 20) + 1),
                                 b"\x02\x80" + b"\x00" * 7,
                                 b"\x04\x00", b"\x04\x03\x05abc", b"\x04\x02\x01!"])
def test_decoder_protocol_errors(bad):
    d = Decoder(maxmsgsize=1 << 20)
    with raises_code(zmtp.ERR_PROTOCOL):
        d.feed(encode_frame(b"ok") + bad)


def test_decoder_error_after_valid_frames_in_same_chunk():
    d = Decoder()
    with raises_code(zmtp.ERR_PROTOCOL) as info:
        d.feed(encode_frame(b"ok") + encode_command(b"PING", b"\0\0") + b"\xff")
    # what came before the garbage is handed over with the error, not lost
    assert info.value.events == [("message", [b"ok"]), ("command", b"PING", b"\0\0")]
    with raises_code(zmtp.ERR_PROTOCOL) as info:
        d.feed(encode_frame(b"ok"))
    assert info.value.events == []
    d = Decoder()
    with raises_code(zmtp.ERR_PROTOCOL) as info:
        d.feed(encode_frame(b"ok") + b"\x04\x01\x00")
    assert info.value.events == [("message", [b"ok"])]


# =========================================================== property tests

def _ref_decode(data, maxsize):
    """Straightforward reference decoder: (events, error_code or None) for a whole input."""
    events, frames, pos = [], [], 0
    while True:
        if pos >= len(data):
            return events, None
        f = data[pos]
        if f & 0xF8 or (f & 4 and f & 1):
            return events, zmtp.ERR_PROTOCOL
        if f & 2:
            if len(data) - pos < 9:
                return events, None
            size = struct.unpack(">Q", data[pos + 1:pos + 9])[0]
            hl = 9
            if size >> 63:
                return events, zmtp.ERR_PROTOCOL
        else:
            if len(data) - pos < 2:
                return events, None
            size, hl = data[pos + 1], 2
        if f & 4:
            if size > (1 << 20):
                return events, zmtp.ERR_PROTOCOL
        elif maxsize >= 0 and size > maxsize:
            return events, zmtp.ERR_TOO_BIG
        if len(data) - pos - hl < size:
            return events, None
        body = data[pos + hl:pos + hl + size]
        pos += hl + size
        if f & 4:
            if not body or body[0] == 0 or body[0] > len(body) - 1:
                return events, zmtp.ERR_PROTOCOL
            name = body[1:1 + body[0]]
            if not all(65 <= c <= 90 or 97 <= c <= 122 for c in name):
                return events, zmtp.ERR_PROTOCOL
            events.append(("command", name, body[1 + body[0]:]))
        else:
            frames.append(body)
            if not f & 1:
                events.append(("message", frames))
                frames = []


def _chunks(data, cuts):
    cuts = sorted({c % (len(data) + 1) for c in cuts})
    out, prev = [], 0
    for c in cuts + [len(data)]:
        out.append(data[prev:c])
        prev = c
    return out


frame_st = st.one_of(
    st.binary(max_size=600),
    st.builds(lambda n, b: bytes([b]) * n, st.sampled_from([0, 1, 254, 255, 256, 257]),
              st.integers(0, 255)),
)
message_st = st.lists(frame_st, min_size=1, max_size=5)


@FUZZ
@given(msgs=st.lists(message_st, max_size=8), cuts=st.lists(st.integers(0, 10 ** 6), max_size=12))
def test_prop_roundtrip(msgs, cuts):
    wire = b"".join(encode_frame(f, more=i < len(m) - 1) for m in msgs for i, f in enumerate(m))
    d = Decoder(maxmsgsize=600)
    events = []
    for c in _chunks(wire, cuts):
        events += d.feed(c)
    assert events == [("message", m) for m in msgs]


@FUZZ
@given(data=st.binary(max_size=4096), cuts=st.lists(st.integers(0, 10 ** 6), max_size=8))
def test_prop_decoder_arbitrary_bytes(data, cuts):
    _check_decoder_against_reference(data, cuts, 1 << 20)


structured_frame_st = st.builds(
    lambda flags, size, body, exact: (
        bytes([flags]) + (struct.pack(">Q", size) if flags & 2 else bytes([size & 0xFF]))
        + (body[:size] if exact else body)),
    st.one_of(st.sampled_from([0, 1, 2, 3, 4, 6]), st.integers(0, 255)),
    st.one_of(st.integers(0, 300), st.integers(0, 2 ** 64 - 1),
              st.sampled_from([1 << 20, (1 << 20) + 1, 1 << 63, (1 << 63) - 1])),
    st.one_of(st.binary(max_size=300),
              st.builds(lambda n, b: bytes([n]) + b, st.integers(0, 12), st.binary(max_size=50))),
    st.booleans(),
)


@FUZZ
@given(frames=st.lists(structured_frame_st, max_size=10),
       cuts=st.lists(st.integers(0, 10 ** 6), max_size=8),
       maxsize=st.sampled_from([-1, 0, 100, 1 << 20]))
def test_prop_decoder_structured_garbage(frames, cuts, maxsize):
    _check_decoder_against_reference(b"".join(frames), cuts, maxsize)


def _check_decoder_against_reference(data, cuts, maxsize):
    d = Decoder(maxmsgsize=maxsize)
    events, err = [], None
    for c in _chunks(data, cuts):
        try:
            events += d.feed(c)
        except ProtocolError as e:
            err = e.code
            events += e.events
            break
    ref_events, ref_err = _ref_decode(data, maxsize)
    assert err == ref_err
    assert events == ref_events
    if err is not None:
        with pytest.raises(ProtocolError):
            d.feed(b"\x00\x00")


handshake_input_st = st.one_of(
    st.binary(max_size=2000),
    st.builds(lambda tail: greeting() + tail, st.binary(max_size=600)),
    st.builds(lambda g, i, b, tail: g[:i] + bytes([b]) + g[i + 1:] + tail,
              st.just(greeting() + ready_frame({b"Socket-Type": b"PULL"}) + encode_frame(b"x")),
              st.integers(0, 100), st.integers(0, 255), st.binary(max_size=40)),
    st.builds(lambda props, tail: greeting() + ready_frame(props) + tail,
              st.dictionaries(st.sampled_from([b"Socket-Type", b"Identity", b"X-a", b"identity"]),
                              st.one_of(st.sampled_from([b"PULL", b"PUSH", b"PUB", b""]),
                                        st.binary(max_size=300)), max_size=4),
              st.binary(max_size=40)),
)


@FUZZ
@given(data=handshake_input_st, cuts=st.lists(st.integers(0, 10 ** 6), max_size=10),
       ours=st.integers(0, 11))
def test_prop_handshake_arbitrary_bytes(data, cuts, ours):
    h = Handshake(ours)
    h.data_to_send()
    fed = b""
    left = None
    for c in _chunks(data, cuts):
        try:
            r = h.feed(c)
        except ProtocolError as e:
            assert e.code < 0 and h.failed and h.error == e.code
            assert e.code in (zmtp.ERR_PROTOCOL, zmtp.ERR_MECHANISM, zmtp.ERR_SOCKTYPE,
                              zmtp.ERR_VERSION, zmtp.ERR_PEER_ERROR)
            if e.code != zmtp.ERR_SOCKTYPE:
                assert h.data_to_send() == b""
            return
        fed += c
        if h.done:
            # leftover is exactly the tail of the input after the READY frame
            left = r if left is None else left + r
        else:
            assert r == b""
    if h.done:
        assert h.peer_socktype >= 0 and socktype_compatible(ours, h.peer_socktype)
        assert fed.endswith(left)
        consumed = len(fed) - len(left)
        assert consumed >= 64 + 2
        rest = Decoder().feed(fed[64:consumed])
        assert len(rest) == 1 and rest[0][:2] == ("command", b"READY")


@FUZZ
@given(data=st.binary(max_size=600))
def test_prop_parse_metadata_random(data):
    try:
        r = parse_metadata(data)
    except ProtocolError as e:
        assert e.code == zmtp.ERR_PROTOCOL
    else:
        assert isinstance(r, dict)
        assert len(encode_metadata(r)) <= len(data)


name_st = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.+",
                  min_size=1, max_size=255).map(str.encode)


@FUZZ
@given(props=st.dictionaries(name_st, st.binary(max_size=300), max_size=6))
def test_prop_metadata_roundtrip(props):
    md = encode_metadata(props)
    assert parse_metadata(md) == props
    for name, value in props.items():
        found = zmtp.metadata_find(md, name)
        # lookup is case-insensitive: the first property with that name in any case wins
        first = next(v for k, v in props.items() if k.lower() == name.lower())
        assert found == first
    if md:
        # dropping the last byte always truncates the last property
        with raises_code(zmtp.ERR_PROTOCOL):
            parse_metadata(md[:-1])


@FUZZ
@given(g=st.one_of(
    st.binary(min_size=64, max_size=64),
    st.builds(lambda i, b: greeting()[:i] + bytes([b]) + greeting()[i + 1:],
              st.integers(0, 63), st.integers(0, 255))))
def test_prop_greeting_decode_random(g):
    try:
        r = decode_greeting(g)
    except ProtocolError as e:
        assert e.code in (zmtp.ERR_PROTOCOL, zmtp.ERR_VERSION)
        return
    assert r is not None and g[0] == 0xFF and g[9] & 1 and g[10] >= 3
    # every prefix of an accepted greeting needs more, never errors
    for i in (0, 1, 10, 11, 12, 20, 32, 63):
        assert decode_greeting(g[:i]) is None


# =========================================================== interop with libzmq

zmq = pytest.importorskip("zmq")


@pytest.fixture
def ctx():
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


def _bind(ctx, kind, opts=None):
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = 5000
    s.sndtimeo = 5000
    for k, v in (opts or {}).items():
        s.setsockopt(k, v)
    s.bind("tcp://127.0.0.1:0")
    port = int(s.getsockopt(zmq.LAST_ENDPOINT).decode().rsplit(":", 1)[1])
    return s, port


class RawPeer:
    """Our side: a plain TCP socket driven by Handshake and Decoder."""

    def __init__(self, sock, socktype, identity=b""):
        self.sock = sock
        sock.settimeout(5)
        self.hs = Handshake(socktype, identity)
        self.dec = Decoder()
        self.raw = b""          # every byte received during the handshake
        self.events = []

    def handshake(self, hold_ready=False):
        """hold_ready: send our greeting alone and our READY only once the peer's READY
        has been judged, so that libzmq (which drops the link as soon as it reads a READY
        it refuses) has surely sent its own READY first."""
        out = self.hs.data_to_send()
        if hold_ready:
            self.sock.sendall(out[:64])
            self.held = out[64:]
        else:
            self.sock.sendall(out)
        while not self.hs.done:
            data = self.sock.recv(65536)
            assert data, "peer closed during handshake"
            self.raw += data
            try:
                left = self.hs.feed(data)
            except ProtocolError:
                out = (self.held if hold_ready else b"") + self.hs.data_to_send()
                if out:
                    try:
                        self.sock.sendall(out)
                    except OSError:
                        pass
                raise
        if hold_ready:
            self.sock.sendall(self.held)
        self.consumed = len(self.raw) - len(left)
        if left:
            self.events += self.dec.feed(left)

    def send(self, frames):
        self.sock.sendall(b"".join(encode_frame(f, more=i < len(frames) - 1)
                                   for i, f in enumerate(frames)))

    def recv_events(self, n):
        while len(self.events) < n:
            data = self.sock.recv(65536)
            assert data, "peer closed"
            self.events += self.dec.feed(data)
        out, self.events = self.events[:n], self.events[n:]
        return out

    def close(self):
        self.sock.close()


def _connect(port, socktype, identity=b""):
    return RawPeer(socket.create_connection(("127.0.0.1", port), timeout=5), socktype, identity)


MULTIPARTS = [
    [b"hello"],
    [b"", b"a" * 255, b"b" * 256],
    [bytes(range(256)) * 40],
    [b"x"] * 7,
]


def test_interop_our_push_to_libzmq_pull(ctx):
    pull, port = _bind(ctx, zmq.PULL)
    peer = _connect(port, zmtp.PUSH)
    try:
        peer.handshake()
        assert peer.hs.peer_socktype == zmtp.PULL
        assert peer.hs.peer_minor == 1 and peer.hs.peer_major == 3
        # libzmq's greeting is byte-identical to ours
        assert peer.raw[:64] == encode_greeting()
        assert peer.raw[64:peer.consumed] == encode_ready(zmtp.PULL)
        for m in MULTIPARTS:
            peer.send(m)
        for m in MULTIPARTS:
            assert pull.recv_multipart() == m
    finally:
        peer.close()


def test_interop_libzmq_push_to_our_pull(ctx):
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    lst.settimeout(5)
    push = ctx.socket(zmq.PUSH)
    push.linger = 0
    push.sndtimeo = 5000
    push.connect("tcp://127.0.0.1:%d" % lst.getsockname()[1])
    conn, _ = lst.accept()
    peer = RawPeer(conn, zmtp.PULL)
    try:
        for m in MULTIPARTS:
            push.send_multipart(m)
        peer.handshake()
        assert peer.hs.peer_socktype == zmtp.PUSH and peer.hs.peer_identity == b""
        got = peer.recv_events(len(MULTIPARTS))
        assert got == [("message", m) for m in MULTIPARTS]
    finally:
        peer.close()
        lst.close()


def test_interop_dealer_ready_and_identity(ctx):
    dealer, port = _bind(ctx, zmq.DEALER, {zmq.ROUTING_ID: b"libzmq-dealer"})
    peer = _connect(port, zmtp.ROUTER)
    try:
        peer.handshake()
        assert peer.hs.peer_socktype == zmtp.DEALER
        assert peer.hs.peer_identity == b"libzmq-dealer"
        assert peer.raw[64:peer.consumed] == encode_ready(zmtp.DEALER, b"libzmq-dealer")
        dealer.send_multipart([b"from", b"dealer"])
        assert peer.recv_events(1) == [("message", [b"from", b"dealer"])]
    finally:
        peer.close()


def test_interop_router_ready_is_byte_exact(ctx):
    # settles what ZMTP.md got wrong: libzmq's ROUTER READY carries an (empty) Identity
    router, port = _bind(ctx, zmq.ROUTER)
    peer = _connect(port, zmtp.DEALER, b"zx-dealer")
    try:
        peer.handshake()
        assert peer.hs.peer_socktype == zmtp.ROUTER
        assert peer.raw[64:peer.consumed] == encode_ready(zmtp.ROUTER)
        assert peer.raw[64:peer.consumed] == (
            b"\x04\x29\x05READY\x0bSocket-Type\x00\x00\x00\x06ROUTER\x08Identity\x00\x00\x00\x00")
        # the ROUTER sees our Identity as the routing id
        peer.send([b"hi"])
        assert router.recv_multipart() == [b"zx-dealer", b"hi"]
        router.send_multipart([b"zx-dealer", b"back", b"again"])
        assert peer.recv_events(1) == [("message", [b"back", b"again"])]
    finally:
        peer.close()


def test_interop_3_0_greeting_accepted_by_libzmq(ctx):
    pull, port = _bind(ctx, zmq.PULL)
    s = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        h = Handshake(zmtp.PUSH)
        out = bytearray(h.data_to_send())
        out[11] = 0                                   # announce ZMTP 3.0
        s.sendall(bytes(out))
        while not h.done:
            h.feed(s.recv(4096))
        s.sendall(encode_frame(b"three", more=True) + encode_frame(b"oh"))
        assert pull.recv_multipart() == [b"three", b"oh"]
    finally:
        s.close()


@pytest.mark.parametrize("ctx_bytes", [b"", bytes(range(16)), bytes(range(17))])
def test_interop_ping_pong(ctx, ctx_bytes):
    pull, port = _bind(ctx, zmq.PULL)
    peer = _connect(port, zmtp.PUSH)
    try:
        peer.handshake()
        # a raw PING frame carrying the full (maybe 17-byte) context
        peer.sock.sendall(encode_command(b"PING", b"\x00\x00" + ctx_bytes))
        assert peer.recv_events(1) == [("command", b"PONG", ctx_bytes[:16])]
    finally:
        peer.close()


def test_interop_libzmq_pub_vs_our_push(ctx):
    pub, port = _bind(ctx, zmq.PUB)
    peer = _connect(port, zmtp.PUSH)
    try:
        with raises_code(zmtp.ERR_SOCKTYPE):
            peer.handshake(hold_ready=True)
        assert peer.raw[64:] == encode_ready(zmtp.PUB)
        assert peer.hs.peer_socktype == -1
        assert peer.hs.failed
    finally:
        peer.close()


def test_interop_libzmq_rejects_our_incompatible_ready(ctx):
    # libzmq PULL vs our PULL: we refuse libzmq's READY, and libzmq drops the connection
    # after reading ours
    pull, port = _bind(ctx, zmq.PULL)
    peer = _connect(port, zmtp.PULL)
    try:
        with raises_code(zmtp.ERR_SOCKTYPE):
            peer.handshake(hold_ready=True)
        while peer.sock.recv(4096):
            pass                                       # EOF from libzmq, no hang
    finally:
        peer.close()
