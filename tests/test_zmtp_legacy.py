"""The staged greeting and the framing of ZMTP 1.0/2.0 peers (zmqx/_core/zmtp_legacy.pxi),
and the codec hardening of issue 9 item 6 that belongs to the codec: incremental
reservation for declared frame sizes, and encoders that cannot write past their buffer.

The greeting is checked against libzmq itself: the same peer bytes go to a pyzmq socket
and to zx_greet, and what each sends back must be identical, chunk by chunk."""

import socket
import struct

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from zmqx._core import zmtp
from zmqx._core.zmtp import Greeter, ProtocolError

SIG_V = b"\xff" + b"\0" * 8 + b"\x7f"          # a versioned peer's signature


def v3_rest(mech=b"NULL", minor=1):
    return bytes([minor]) + mech.ljust(20, b"\0") + b"\0" * 32


def run(greeter, chunks):
    """Feed chunks one by one; returns [output after each chunk] (the first entry is what
    goes out before anything is read)."""
    outs = [greeter.output()]
    for c in chunks:
        used = greeter.feed(c)
        assert used == len(c)
        outs.append(greeter.output())
    return outs


# ---------------------------------------------------------------- greeting, pure


def test_v31_peer_gets_signature_then_major_then_rest():
    g = Greeter(b"NULL", zmtp.DEALER)
    outs = run(g, [SIG_V, b"\x03", v3_rest()])
    assert outs[0] == b"\xff" + b"\0" * 7 + b"\x01\x7f"
    assert outs[1] == b"\x03"
    assert outs[2] == b"\x01NULL" + b"\0" * 16 + b"\0" * 32
    assert outs[3] == b""
    assert g.done and g.version == zmtp.ZMTP_31 and g.peer_mechanism == b"NULL"
    assert len(b"".join(outs)) == 64


def test_v30_peer_and_all_at_once():
    g = Greeter(b"CURVE", zmtp.PUSH, secure=True)
    g.output()
    peer = SIG_V + b"\x03" + v3_rest(b"CURVE", minor=0) + b"data after"
    assert g.feed(peer) == 64                       # never past the greeting
    assert g.version == zmtp.ZMTP_30 and g.peer_minor == 0
    assert len(g.output()) == 54


@settings(max_examples=100, deadline=None)
@given(cuts=st.lists(st.integers(0, 64), max_size=8), peer_minor=st.sampled_from([0, 1, 2]))
def test_any_fragmentation_gives_the_same_result(cuts, peer_minor):
    peer = SIG_V + b"\x03" + v3_rest(b"PLAIN", peer_minor)
    g = Greeter(b"PLAIN", zmtp.REQ, idlen=5)
    out = g.output()
    pos = 0
    for c in sorted(cuts) + [64]:
        pos += g.feed(peer[pos:c]) if c > pos else 0
        out += g.output()
    assert g.done and g.version == (zmtp.ZMTP_30 if peer_minor == 0 else zmtp.ZMTP_31)
    assert out == (b"\xff" + struct.pack(">Q", 6) + b"\x7f\x03" + v3_rest(b"PLAIN"))


def test_v20_peer_gets_socket_type_and_identity_frame():
    g = Greeter(b"NULL", zmtp.XPUB, idlen=2)
    outs = run(g, [SIG_V, b"\x01\x02"])
    assert outs == [b"\xff" + struct.pack(">Q", 3) + b"\x7f", b"\x03", b"\x01"]  # XPUB as PUB
    assert g.version == zmtp.ZMTP_20 and g.peer_socktype == zmtp.SUB
    assert g.identity_frame(b"id") == b"\x00\x02id"


def test_v10_revision_zero_uses_v1_identity_frame():
    g = Greeter(b"NULL", zmtp.PUSH)
    run(g, [SIG_V, b"\x00\x07"])
    assert g.version == zmtp.ZMTP_10 and g.peer_socktype == zmtp.PULL
    assert g.identity_frame(b"") == b"\x01\x00"


def test_unversioned_v10_short_and_long_identity():
    g = Greeter(b"NULL", zmtp.ROUTER, idlen=2)
    assert g.output() == b"\xff" + struct.pack(">Q", 3) + b"\x7f"
    assert g.feed(b"\x03\x00ab") == 1               # one byte decides
    assert g.version == zmtp.ZMTP_10_UNVERSIONED and g.peer_bytes == b"\x03"
    assert g.identity_frame(b"ab") == b"ab"         # the signature was its header
    assert g.output() == b""
    g = Greeter(b"NULL", zmtp.DEALER)
    g.output()
    long_id = b"\xff" + struct.pack(">Q", 301) + b"\x00"
    assert g.feed(long_id + b"x" * 300) == 10
    assert g.version == zmtp.ZMTP_10_UNVERSIONED and g.peer_bytes == long_id


@pytest.mark.parametrize("peer", [b"\x01\x00", SIG_V + b"\x01\x00", SIG_V + b"\x00\x00"])
def test_downgrade_guard_refuses_old_peers_when_secure(peer):
    g = Greeter(b"CURVE", zmtp.PULL, secure=True)
    with pytest.raises(ProtocolError) as e:
        g.feed(peer)
    assert e.value.code == zmtp.ERR_VERSION


def test_mechanism_mismatch_and_garbage():
    g = Greeter(b"CURVE", zmtp.PULL)
    with pytest.raises(ProtocolError) as e:
        g.feed(SIG_V + b"\x03" + v3_rest(b"NULL"))
    assert e.value.code == zmtp.ERR_MECHANISM
    g = Greeter(b"NULL", zmtp.PULL)
    with pytest.raises(ProtocolError):
        g.feed(SIG_V + b"\x03\x01" + b"nu!l".ljust(20, b"\0") + b"\0" * 32)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=80), secure=st.booleans())
def test_greeting_garbage_never_crashes_or_overreads(data, secure):
    g = Greeter(b"NULL", zmtp.PAIR, secure=secure)
    try:
        used = g.feed(data)
    except ProtocolError:
        return
    assert used <= 64 and used <= len(data)
    assert len(g.output()) <= 64


# ---------------------------------------------------------------- greeting vs libzmq

zmq = None


def _pyzmq():
    return pytest.importorskip("zmq")


def read_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        assert d, "libzmq closed"
        out += d
    return out


@pytest.mark.parametrize("kind,peer_chunks,identity", [
    ("PULL", [SIG_V, b"\x01\x08", b"\x00\x00"], b""),                # 2.0 PUSH peer
    ("PUB", [SIG_V, b"\x01\x02", b"\x00\x00"], b""),                 # 2.0 SUB peer
    ("PULL", [SIG_V, b"\x03", v3_rest(minor=0)], b""),               # 3.0 peer
    ("DEALER", [SIG_V, b"\x03", v3_rest(minor=1)], b""),             # 3.1 peer
    ("ROUTER", [b"\x01\x00"], b"ab"),                                # unversioned 1.0
    ("PUSH", [SIG_V, b"\x00\x07", b"\x01\x00"], b""),                # 1.0 with revision 0
])
def test_greeting_bytes_equal_libzmqs(zctx, kind, peer_chunks, identity):
    zmq = _pyzmq()
    s = zctx.socket(getattr(zmq, kind))
    s.linger = 0
    if identity:
        s.routing_id = identity
    s.bind("tcp://127.0.0.1:*")
    port = int(s.last_endpoint.rsplit(b":", 1)[1])
    g = Greeter(b"NULL", getattr(zmtp, kind), idlen=len(identity))
    ours = [g.output()]
    for c in peer_chunks:
        if not g.done:
            g.feed(c)
        ours.append(g.output())
    if g.version in (zmtp.ZMTP_10_UNVERSIONED, zmtp.ZMTP_10, zmtp.ZMTP_20):
        ours[-1] += g.identity_frame(identity)
    conn = socket.create_connection(("127.0.0.1", port), timeout=5)
    try:
        assert read_exact(conn, len(ours[0])) == ours[0]
        for c, want in zip(peer_chunks, ours[1:]):
            conn.sendall(c)
            assert read_exact(conn, len(want)) == want
    finally:
        conn.close()


def test_v20_peer_exchanges_messages_with_libzmq(zctx):
    zmq = _pyzmq()
    pull = zctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    pull.bind("tcp://127.0.0.1:*")
    push = zctx.socket(zmq.PUSH)
    push.linger = 0
    push.bind("tcp://127.0.0.1:*")
    # we play a 2.0 PUSH toward libzmq's PULL
    conn = socket.create_connection(("127.0.0.1", int(pull.last_endpoint.rsplit(b":", 1)[1])),
                                    timeout=5)
    conn.sendall(SIG_V + b"\x01" + bytes([zmtp.socktype_v2_byte(zmtp.PUSH)]) + b"\x00\x00")
    conn.sendall(zmtp.encode_frame(b"a", more=True) + zmtp.encode_frame(b"b" * 300))
    assert pull.recv_multipart() == [b"a", b"b" * 300]
    with pytest.raises(ProtocolError):                  # no commands in 2.0
        zmtp.decode_v2_frame_header(b"\x04\x05")
    conn.close()
    # and a 2.0 PULL receiving from libzmq's PUSH, decoded with the 2.0 framing
    conn = socket.create_connection(("127.0.0.1", int(push.last_endpoint.rsplit(b":", 1)[1])),
                                    timeout=5)
    conn.sendall(SIG_V + b"\x01\x07\x00\x00")
    assert read_exact(conn, 12) == b"\xff" + b"\0" * 7 + b"\x01\x7f\x03\x08"
    push.send_multipart([b"x", b"y" * 1000])
    got, buf = [], read_exact(conn, 2)
    assert buf == b"\x00\x00"                           # libzmq's empty identity frame
    while len(got) < 2:
        hdr = None
        buf = b""
        while hdr is None:
            buf += read_exact(conn, 1)
            hdr = zmtp.decode_v2_frame_header(buf)
        flags, size, hl = hdr
        got.append((flags, read_exact(conn, size)))
    assert got == [(1, b"x"), (zmtp.encode_frame_header(1000)[0], b"y" * 1000)]
    conn.close()


def test_v10_peer_exchanges_messages_with_libzmq(zctx):
    zmq = _pyzmq()
    pull = zctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 5000
    pull.bind("tcp://127.0.0.1:*")
    conn = socket.create_connection(("127.0.0.1", int(pull.last_endpoint.rsplit(b":", 1)[1])),
                                    timeout=5)
    conn.sendall(zmtp.encode_v1_frame(b""))             # identity, then 1.0 frames
    conn.sendall(zmtp.encode_v1_frame(b"m1", more=True) + zmtp.encode_v1_frame(b"z" * 400))
    assert pull.recv_multipart() == [b"m1", b"z" * 400]
    conn.close()


# ---------------------------------------------------------------- 1.0 framing


@settings(max_examples=200, deadline=None)
@given(size=st.one_of(st.integers(0, 600), st.integers(0, 1 << 40)), more=st.booleans())
def test_v1_header_round_trip(size, more):
    n, hdr, guard = zmtp._encode_capped("v1", 10, 1 if more else 0, size)
    assert guard and n == (2 if size + 1 < 255 else 10)
    assert zmtp.decode_v1_frame_header(hdr) == (1 if more else 0, size, n)
    assert zmtp.decode_v1_frame_header(hdr[:-1]) is None


def test_v1_header_boundaries_and_errors():
    assert zmtp.encode_v1_frame(b"x" * 253)[:2] == b"\xfe\x00"
    assert zmtp.encode_v1_frame(b"x" * 254)[:10] == b"\xff" + struct.pack(">Q", 255) + b"\x00"
    with pytest.raises(ProtocolError):
        zmtp.decode_v1_frame_header(b"\x00\x00")        # length 0: no flags octet
    with pytest.raises(ProtocolError):
        zmtp.decode_v1_frame_header(b"\xff" + b"\0" * 8 + b"\x00")
    with pytest.raises(ProtocolError) as e:
        zmtp.decode_v1_frame_header(b"\x0b\x00", maxsize=9)
    assert e.value.code == zmtp.ERR_TOO_BIG
    assert zmtp.decode_v1_frame_header(b"\x0b\x7f", maxsize=10) == (1, 10, 2)
    assert zmtp._encode_capped("v1", 1, 0, 5)[0] == 0
    assert zmtp._encode_capped("v1", 9, 0, 300)[0] == 0


# ---------------------------------------------------------------- hardening (item 6)


def test_huge_declared_frame_reserves_by_arrival():
    declared = 8 << 30                                  # 8 GiB announced
    hdr = zmtp.encode_frame_header(declared)
    assert zmtp.decode_frame_header(hdr) == (2, declared, 9)   # decoding allocates nothing
    assert zmtp.frame_reserve(declared, 0) == zmtp.RESERVE_STEP
    assert zmtp.frame_reserve(declared, 10) == zmtp.RESERVE_STEP
    assert zmtp.frame_reserve(declared, 1 << 20) == 2 << 20
    assert zmtp.frame_reserve(100, 0) == 100
    assert zmtp.frame_reserve(declared, declared) == declared


@settings(max_examples=300, deadline=None)
@given(declared=st.integers(0, 1 << 63), chunks=st.lists(st.integers(1, 1 << 22), max_size=40))
def test_reserve_grows_with_the_bytes_received(declared, chunks):
    # the engine's protocol: ask at the start and whenever the body buffer is full
    received, cap, reallocs = 0, 0, 0
    for c in chunks:
        if received == cap:
            want = zmtp.frame_reserve(declared, received)
            assert want <= declared
            assert want <= max(zmtp.RESERVE_STEP, 2 * received)
            if received < declared:
                assert want > received                  # progress is always possible
            else:
                break
            cap, reallocs = want, reallocs + 1
        received = min(declared, received + min(c, cap - received))
    assert reallocs <= 2 + max(1, received).bit_length()


names = st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1,
                max_size=255).map(str.encode)


@settings(max_examples=400, deadline=None)
@given(cap=st.integers(0, 700), name=names, data=st.binary(max_size=600),
       reason=st.binary(max_size=300).filter(lambda b: b"\0" not in b),
       ttl=st.integers(0, 0xFFFF), ctx=st.binary(max_size=40),
       socktype=st.sampled_from([zmtp.REQ, zmtp.PUSH, zmtp.ROUTER]),
       ident=st.binary(max_size=255))
def test_command_encoders_never_write_past_cap(cap, name, data, reason, ttl, ctx, socktype,
                                               ident):
    cases = [
        ("command", (name, data), zmtp.encode_command(name, data)),
        ("error", (reason,), zmtp.encode_error(reason)),
        ("ping", (ttl, ctx), zmtp.encode_ping(ttl, ctx)),
        ("pong", (ctx,), zmtp.encode_pong(ctx)),
        ("ready", (socktype, ident), zmtp.encode_ready(socktype, ident)),
    ]
    for which, args, full in cases:
        n, written, guard = zmtp._encode_capped(which, cap, *args)
        assert guard, which
        if len(full) <= cap:
            assert (n, written) == (len(full), full), which
        else:
            assert n == 0, which


@settings(max_examples=200, deadline=None)
@given(cap=st.integers(0, 400), payload=st.binary(max_size=300))
def test_mechanism_encoders_report_the_room_they_need(cap, payload):
    from zmqx._core import mechanism as M
    from zmqx._core.curve import keypair
    spk, ssk = keypair()
    cpk, csk = keypair()
    c = M.Mechanism(M.MECH_CURVE, False, zmtp.DEALER, b"i" * 200, public_key=cpk,
                    secret_key=csk, server_key=spk)
    s = M.Mechanism(M.MECH_CURVE, True, zmtp.ROUTER, public_key=spk, secret_key=ssk)
    for src, dst in ((c, s), (s, c), (c, s), (s, c)):
        n, frame, guard = M._next_capped(src, cap)
        assert guard
        if n < 0:                                       # too small: told the size, no change
            n, frame, guard = M._next_capped(src, -n)
            assert guard and n > cap
        hl = zmtp.decode_frame_header(frame)[2]
        if dst.feed(frame[hl:]) == M.NEED_ZAP:
            dst.zap_absent()
    assert c.status == s.status == M.READY
