"""ZMTP 1.0, 2.0 and 3.x peers against the engine: raw-socket peers play each protocol
toward a bound socket, and every scenario runs against libzmq (pyzmq) and zmqx with the
same bytes, expecting the same bytes back.

- the greeting goes out in libzmq's order, byte for byte (signature; the major version
  once the peer's signature is seen; the rest in the peer's revision's form);
- a 2.0 peer (JeroMQ 0.3, libzmq 3.x) and a 1.0 peer (with and without the revision
  octet) exchange messages in their own framing, identity frames first; a ROUTER names a
  2.0 peer by its identity;
- with a security mechanism on, zmqx refuses 1.0/2.0 peers (the downgrade guard of
  37/ZMTP; libzmq 4.3.5 lets them in unencrypted unless ZAP_ENFORCE_DOMAIN is set)."""

import socket

import pytest

import zmqx
from zmqx._core import zmtp
from zmqx._core.zmtp import Greeter

zmq = pytest.importorskip("zmq")

SIG_V = b"\xff" + b"\0" * 7 + b"\x01\x7f"        # a versioned signature (idlen 0)
LIBS = {"pyzmq": zmq, "zmqx": zmqx}
TIMEOUT = 5


def v3_rest(mech=b"NULL", minor=1):
    return bytes([minor]) + mech.ljust(20, b"\0") + b"\0" + b"\0" * 31


def read_exact(s, n):
    out = b""
    while len(out) < n:
        d = s.recv(n - len(out))
        assert d, "the socket closed"
        out += d
    return out


@pytest.fixture(params=["pyzmq", "zmqx"])
def lib(request):
    mod = LIBS[request.param]
    ctx = mod.Context()
    yield mod, ctx
    ctx.destroy(linger=0)


def _bound(lib, kind, **opts):
    mod, ctx = lib
    s = ctx.socket(getattr(mod, kind))
    s.linger = 0
    s.rcvtimeo = TIMEOUT * 1000
    for k, v in opts.items():
        setattr(s, k, v)
    s.bind("tcp://127.0.0.1:*")
    conn = socket.create_connection(("127.0.0.1", int(s.last_endpoint.rsplit(b":", 1)[1])),
                                    timeout=TIMEOUT)
    return s, conn


@pytest.mark.parametrize("kind,peer_chunks,identity", [
    ("PULL", [SIG_V, b"\x01\x08", b"\x00\x00"], b""),                # 2.0 PUSH peer
    ("PUB", [SIG_V, b"\x01\x02", b"\x00\x00"], b""),                 # 2.0 SUB peer
    ("PULL", [SIG_V, b"\x03", v3_rest(minor=0)], b""),               # 3.0 peer
    ("DEALER", [SIG_V, b"\x03", v3_rest(minor=1)], b""),             # 3.1 peer
    ("ROUTER", [b"\x01\x00"], b"ab"),                                # unversioned 1.0
    ("PUSH", [SIG_V, b"\x00\x07", b"\x01\x00"], b""),                # 1.0 with revision 0
])
def test_greeting_goes_out_in_libzmqs_order(lib, kind, peer_chunks, identity):
    s, conn = _bound(lib, kind, **({"routing_id": identity} if identity else {}))
    g = Greeter(b"NULL", getattr(zmtp, kind), idlen=len(identity))
    ours = [g.output()]
    for c in peer_chunks:
        if not g.done:
            g.feed(c)
        ours.append(g.output())
    if g.version in (zmtp.ZMTP_10_UNVERSIONED, zmtp.ZMTP_10, zmtp.ZMTP_20):
        ours[-1] += g.identity_frame(identity)
    try:
        assert read_exact(conn, len(ours[0])) == ours[0]
        for c, want in zip(peer_chunks, ours[1:]):
            conn.sendall(c)
            assert read_exact(conn, len(want)) == want
    finally:
        conn.close()
        s.close()


def _read_v2_frames(conn, n):
    got = []
    while len(got) < n:
        buf = b""
        hdr = None
        while hdr is None:
            buf += read_exact(conn, 1)
            hdr = zmtp.decode_v2_frame_header(buf)
        flags, size, _hl = hdr
        got.append((flags & 1, read_exact(conn, size)))
    return got


def _read_v1_frames(conn, n):
    got = []
    while len(got) < n:
        first = read_exact(conn, 1)
        if first == b"\xff":
            ln = int.from_bytes(read_exact(conn, 8), "big")
        else:
            ln = first[0]
        flags = read_exact(conn, 1)[0]
        got.append((flags & 1, read_exact(conn, ln - 1)))
    return got


def test_v20_push_peer_delivers(lib):
    pull, conn = _bound(lib, "PULL")
    try:
        conn.sendall(SIG_V + b"\x01" + bytes([zmtp.socktype_v2_byte(zmtp.PUSH)]) + b"\x00\x00")
        conn.sendall(zmtp.encode_frame(b"a", more=True) + zmtp.encode_frame(b"b" * 300))
        conn.sendall(zmtp.encode_frame(b"c" * 70000))
        assert pull.recv_multipart() == [b"a", b"b" * 300]
        assert pull.recv_multipart() == [b"c" * 70000]
    finally:
        conn.close()
        pull.close()


def test_v20_pull_peer_receives_in_20_framing(lib):
    push, conn = _bound(lib, "PUSH")
    try:
        conn.sendall(SIG_V + b"\x01\x07\x00\x00")
        assert read_exact(conn, 12) == b"\xff" + b"\0" * 7 + b"\x01\x7f\x03\x08"
        assert read_exact(conn, 2) == b"\x00\x00"               # the empty identity frame
        push.send_multipart([b"x", b"y" * 1000])
        assert _read_v2_frames(conn, 2) == [(1, b"x"), (0, b"y" * 1000)]
    finally:
        conn.close()
        push.close()


def test_v20_dealer_is_named_by_its_identity_at_a_router(lib):
    router, conn = _bound(lib, "ROUTER")
    try:
        conn.sendall(SIG_V + b"\x01\x05" + zmtp.encode_frame(b"peer-A"))
        conn.sendall(zmtp.encode_frame(b"", more=True) + zmtp.encode_frame(b"hello"))
        assert router.recv_multipart() == [b"peer-A", b"", b"hello"]
        router.send_multipart([b"peer-A", b"", b"back"])
        assert read_exact(conn, 12)[10:] == b"\x03\x06"         # (its greeting: ROUTER)
        assert read_exact(conn, 2) == b"\x00\x00"
        assert _read_v2_frames(conn, 2) == [(1, b""), (0, b"back")]
    finally:
        conn.close()
        router.close()


def test_v10_unversioned_peer_both_ways(lib):
    pull, conn = _bound(lib, "PULL")
    try:
        conn.sendall(zmtp.encode_v1_frame(b""))                 # identity, then 1.0 frames
        conn.sendall(zmtp.encode_v1_frame(b"m1", more=True) + zmtp.encode_v1_frame(b"z" * 400))
        assert pull.recv_multipart() == [b"m1", b"z" * 400]
    finally:
        conn.close()
        pull.close()
    push, conn = _bound(lib, "PUSH")
    try:
        conn.sendall(zmtp.encode_v1_frame(b""))
        assert read_exact(conn, 10) == b"\xff" + b"\0" * 7 + b"\x01\x7f"   # our identity
        push.send_multipart([b"p", b"q" * 300])
        assert _read_v1_frames(conn, 2) == [(1, b"p"), (0, b"q" * 300)]
    finally:
        conn.close()
        push.close()


def test_v10_revision_zero_peer_delivers(lib):
    pull, conn = _bound(lib, "PULL")
    try:
        conn.sendall(SIG_V + b"\x00\x08" + b"\x01\x00")         # greeting, v1 identity
        conn.sendall(zmtp.encode_v1_frame(b"r0", more=True) + zmtp.encode_v1_frame(b"!"))
        assert pull.recv_multipart() == [b"r0", b"!"]
    finally:
        conn.close()
        pull.close()


def test_zmqx_refuses_old_peers_when_secured():
    ctx = zmqx.Context()
    pull = ctx.socket(zmqx.PULL)
    try:
        pull.linger = 0
        pull.curve_server = True
        pull.curve_secretkey = zmqx.curve_keypair()[1]
        pull.bind("tcp://127.0.0.1:*")
        conn = socket.create_connection(
            ("127.0.0.1", int(pull.last_endpoint.rsplit(b":", 1)[1])), timeout=TIMEOUT)
        conn.sendall(SIG_V + b"\x01\x08\x00\x00" + zmtp.encode_frame(b"plaintext"))
        data = b""
        while True:
            d = conn.recv(4096)
            if not d:
                break
            data += d
        assert data == SIG_V + b"\x03\x07"    # our greeting as far as it went, then the close
        conn.close()
        pull.rcvtimeo = 200
        with pytest.raises(zmqx.Again):
            pull.recv()
    finally:
        pull.close()
        ctx.destroy(linger=0)
