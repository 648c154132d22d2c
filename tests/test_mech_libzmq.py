"""PLAIN and CURVE state machines (zmqx/_core/mechanism.pyx) against libzmq 4.3.5 on the wire.

A raw TCP peer (mech_wire.RawPeer) runs zmqx's greeting, mechanism and MESSAGE boxing; the
other end is a pyzmq socket with PLAIN_SERVER / CURVE_SERVER (or a pyzmq client connecting
to our raw listener). Both directions, with and without a ZAP handler (pyzmq's
ThreadAuthenticator), and the refusals libzmq puts on the wire: ERROR "400" after a ZAP
denial, a silent close for a HELLO that does not open or for PLAIN with no handler.

Synchronisation is by replies, socket timeouts and monitor events; nothing sleeps."""

import pytest

zmq = pytest.importorskip("zmq")
import zmq.auth  # noqa: E402
import zmq.auth.thread  # noqa: E402
from zmq.utils import z85  # noqa: E402
from zmq.utils.monitor import recv_monitor_message  # noqa: E402

from mech_wire import PeerClosed, RawPeer, accept, listener  # noqa: E402
from zmqx._core import mechanism as M  # noqa: E402
from zmqx._core import zmtp  # noqa: E402

RCV = 5000


def raw_keypair():
    pub, sec = zmq.curve_keypair()
    return z85.decode(pub), z85.decode(sec)


def bind(zctx, kind, **opts):
    s = zctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = RCV
    s.sndtimeo = RCV
    for k, v in opts.items():
        setattr(s, k, v)
    s.bind("tcp://127.0.0.1:*")
    port = int(s.last_endpoint.rsplit(b":", 1)[1])
    return s, port


@pytest.fixture
def auth(zctx):
    a = zmq.auth.thread.ThreadAuthenticator(zctx)
    a.start()
    yield a
    a.stop()


def curve_client(socktype, spk, identity=b""):
    cpk, csk = raw_keypair()
    return M.Mechanism(M.MECH_CURVE, False, socktype, identity, public_key=cpk,
                       secret_key=csk, server_key=spk), cpk


# ================================================================ zmqx client, libzmq server


def test_curve_client_req_rep_no_zap_handler(zctx):
    spk, ssk = raw_keypair()
    rep, port = bind(zctx, zmq.REP, curve_server=True, curve_secretkey=ssk)
    mech, _ = curve_client(zmtp.REQ, spk)
    peer = RawPeer.connect(port, mech, b"CURVE")
    try:
        peer.handshake()
        assert mech.peer_metadata == {b"Socket-Type": b"REP"}
        assert mech.peer_socktype == zmtp.REP
        assert mech._short_secret() == b"\0" * 32           # wiped once the session key exists
        peer.send_multipart([b"", b"hello"])
        assert rep.recv_multipart() == [b"hello"]
        rep.send_multipart([b"world", b"x" * 70000])
        assert peer.recv_multipart() == [b"", b"world", b"x" * 70000]
        for i in range(20):                                 # counters keep going up
            peer.send_multipart([b"", b"%d" % i])
            assert rep.recv() == b"%d" % i
            rep.send(b"r%d" % i)
            assert peer.recv_multipart() == [b"", b"r%d" % i]
    finally:
        peer.close()


def test_curve_client_dealer_router_identity_and_zap(zctx, auth):
    auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
    spk, ssk = raw_keypair()
    router, port = bind(zctx, zmq.ROUTER, curve_server=True, curve_secretkey=ssk)
    mech, _ = curve_client(zmtp.DEALER, spk, identity=b"raw-dealer")
    peer = RawPeer.connect(port, mech, b"CURVE")
    try:
        peer.handshake()
        assert mech.peer_metadata[b"Socket-Type"] == b"ROUTER"
        peer.send_multipart([b"a", b"", b"b" * 300])
        assert router.recv_multipart() == [b"raw-dealer", b"a", b"", b"b" * 300]
        router.send_multipart([b"raw-dealer", b"back", b""])
        assert peer.recv_multipart() == [b"back", b""]
        big = bytes(range(256)) * (4 << 12)                 # 4 MiB each way
        peer.send_multipart([big])
        assert router.recv_multipart() == [b"raw-dealer", big]
        router.send_multipart([b"raw-dealer", big])
        assert peer.recv_multipart() == [big]
    finally:
        peer.close()


def test_curve_client_key_refused_by_zap_gets_error_400(zctx, auth, tmp_path):
    # only a certificate that is not ours is allowed
    other_pub, _ = zmq.auth.create_certificates(str(tmp_path), "someone")
    auth.configure_curve(domain="*", location=str(tmp_path))
    spk, ssk = raw_keypair()
    pull, port = bind(zctx, zmq.PULL, curve_server=True, curve_secretkey=ssk)
    mech, _ = curve_client(zmtp.PUSH, spk)
    peer = RawPeer.connect(port, mech, b"CURVE")
    try:
        with pytest.raises(zmtp.ProtocolError) as e:
            peer.handshake()
        assert e.value.code == zmtp.ERR_PEER_ERROR
        assert mech.peer_error_reason == b"400"
        assert mech.status == M.ERROR
    finally:
        peer.close()
    assert pull.poll(100) == 0


def test_curve_client_wrong_server_key_is_dropped_silently(zctx):
    spk, ssk = raw_keypair()
    wrong, _ = raw_keypair()
    pull, port = bind(zctx, zmq.PULL, curve_server=True, curve_secretkey=ssk)
    mech, _ = curve_client(zmtp.PUSH, wrong)
    peer = RawPeer.connect(port, mech, b"CURVE")
    try:
        # libzmq cannot open our HELLO box: it closes without WELCOME or ERROR
        with pytest.raises(PeerClosed):
            peer.handshake()
        assert mech.status == M.HANDSHAKING
    finally:
        peer.close()


def test_plain_client_push_pull_and_user_id(zctx, auth):
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    pull, port = bind(zctx, zmq.PULL, plain_server=True)
    mech = M.Mechanism(M.MECH_PLAIN, False, zmtp.PUSH, username=b"admin", password=b"secret")
    peer = RawPeer.connect(port, mech, b"PLAIN")
    try:
        peer.handshake()
        assert mech.peer_metadata == {b"Socket-Type": b"PULL"}
        peer.send_multipart([b"m1", b"m2"])
        frames = pull.recv_multipart(copy=False)
        assert [f.bytes for f in frames] == [b"m1", b"m2"]
        assert frames[0].get("User-Id") == "admin"
    finally:
        peer.close()


def test_plain_client_dealer_router_both_ways(zctx, auth):
    auth.configure_plain(domain="*", passwords={"u": "p"})
    router, port = bind(zctx, zmq.ROUTER, plain_server=True)
    mech = M.Mechanism(M.MECH_PLAIN, False, zmtp.DEALER, b"me", username=b"u", password=b"p")
    peer = RawPeer.connect(port, mech, b"PLAIN")
    try:
        peer.handshake()
        peer.send_multipart([b"ping"])
        assert router.recv_multipart() == [b"me", b"ping"]
        router.send_multipart([b"me", b"pong", b"2"])
        assert peer.recv_multipart() == [b"pong", b"2"]
    finally:
        peer.close()


def test_plain_client_wrong_password_gets_error_400(zctx, auth):
    auth.configure_plain(domain="*", passwords={"admin": "secret"})
    pull, port = bind(zctx, zmq.PULL, plain_server=True)
    mech = M.Mechanism(M.MECH_PLAIN, False, zmtp.PUSH, username=b"admin", password=b"nope")
    peer = RawPeer.connect(port, mech, b"PLAIN")
    try:
        with pytest.raises(zmtp.ProtocolError) as e:
            peer.handshake()
        assert e.value.code == zmtp.ERR_PEER_ERROR
        assert mech.peer_error_reason == b"400"
    finally:
        peer.close()
    assert pull.poll(100) == 0


def test_plain_client_without_zap_handler_is_dropped(zctx):
    # libzmq 4.3.5: a PLAIN server with no ZAP handler fails the handshake, no WELCOME
    pull, port = bind(zctx, zmq.PULL, plain_server=True)
    mech = M.Mechanism(M.MECH_PLAIN, False, zmtp.PUSH, username=b"a", password=b"b")
    peer = RawPeer.connect(port, mech, b"PLAIN")
    try:
        with pytest.raises(PeerClosed):
            peer.handshake()
        assert mech.status == M.HANDSHAKING
    finally:
        peer.close()


# ================================================================ libzmq client, zmqx server


def client(zctx, kind, port, monitor=False, **opts):
    s = zctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = RCV
    s.sndtimeo = RCV
    for k, v in opts.items():
        setattr(s, k, v)
    mon = s.get_monitor_socket(zmq.EVENT_HANDSHAKE_FAILED_AUTH | zmq.EVENT_HANDSHAKE_SUCCEEDED
                               | zmq.EVENT_HANDSHAKE_FAILED_PROTOCOL) if monitor else None
    s.connect("tcp://127.0.0.1:%d" % port)
    return s, mon


def wait_event(mon):
    assert mon.poll(RCV), "no monitor event"
    return recv_monitor_message(mon)


def test_curve_server_against_libzmq_req(zctx):
    spk, ssk = raw_keypair()
    cpk, csk = raw_keypair()
    lsock, port = listener()
    req, _ = client(zctx, zmq.REQ, port, curve_serverkey=spk, curve_publickey=cpk,
                    curve_secretkey=csk)
    mech = M.Mechanism(M.MECH_CURVE, True, zmtp.REP, public_key=spk, secret_key=ssk)
    zap_seen = []

    def on_zap(m):
        zap_seen.append(m.zap_request())
        m.zap_absent(enforce_domain=False)      # no handler: libzmq's Stonehouse rule

    peer = accept(lsock, mech, b"CURVE")
    try:
        peer.handshake(on_zap)
        assert zap_seen == [{"domain": b"", "identity": b"", "mechanism": b"CURVE",
                             "credentials": [cpk]}]
        assert mech.client_key == cpk
        assert mech.peer_metadata[b"Socket-Type"] == b"REQ"
        assert mech._short_secret() == b"\0" * 32 and mech._cookie_key() == b"\0" * 32
        req.send(b"hello")
        assert peer.recv_multipart() == [b"", b"hello"]
        peer.send_multipart([b"", b"world", b"y" * 100000])
        assert req.recv_multipart() == [b"world", b"y" * 100000]
        for i in range(10):
            req.send(b"%d" % i)
            assert peer.recv_multipart() == [b"", b"%d" % i]
            peer.send_multipart([b"", b"r%d" % i])
            assert req.recv() == b"r%d" % i
    finally:
        peer.close()
        lsock.close()


def test_curve_server_zap_denial_reaches_libzmq_as_400(zctx):
    spk, ssk = raw_keypair()
    cpk, csk = raw_keypair()
    lsock, port = listener()
    push, mon = client(zctx, zmq.PUSH, port, monitor=True, curve_serverkey=spk,
                       curve_publickey=cpk, curve_secretkey=csk)
    mech = M.Mechanism(M.MECH_CURVE, True, zmtp.PULL, public_key=spk, secret_key=ssk)
    peer = accept(lsock, mech, b"CURVE")
    try:
        with pytest.raises(zmtp.ProtocolError) as e:
            peer.handshake(lambda m: m.zap_reply(400, b"", b""))
        assert e.value.code == M.ERR_AUTH
        ev = wait_event(mon)
        assert ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and ev["value"] == 400
    finally:
        peer.close()
        lsock.close()


def test_curve_server_rejects_client_with_wrong_server_key(zctx):
    spk, ssk = raw_keypair()
    wrong, _ = raw_keypair()
    cpk, csk = raw_keypair()
    lsock, port = listener()
    push, _ = client(zctx, zmq.PUSH, port, curve_serverkey=wrong, curve_publickey=cpk,
                     curve_secretkey=csk)
    mech = M.Mechanism(M.MECH_CURVE, True, zmtp.PULL, public_key=spk, secret_key=ssk)
    peer = accept(lsock, mech, b"CURVE")
    try:
        with pytest.raises(zmtp.ProtocolError) as e:
            peer.handshake(lambda m: m.zap_absent())
        assert e.value.code == M.ERR_CRYPTO
        assert mech.data_to_send() == b""                   # no ERROR for a bad HELLO
    finally:
        peer.close()
        lsock.close()


def test_plain_server_against_libzmq_dealer(zctx):
    lsock, port = listener()
    dealer, mon = client(zctx, zmq.DEALER, port, monitor=True, plain_username=b"alice",
                         plain_password=b"pw", routing_id=b"dlr")
    mech = M.Mechanism(M.MECH_PLAIN, True, zmtp.ROUTER, zap_domain=b"global",
                       routing_id=b"srv")
    requests = []

    def on_zap(m):
        requests.append(m.zap_request())
        m.zap_reply(200, b"alice-id", zmtp.encode_metadata({b"X-Role": b"admin"}))

    peer = accept(lsock, mech, b"PLAIN")
    try:
        peer.handshake(on_zap)
        assert requests == [{"domain": b"global", "identity": b"srv", "mechanism": b"PLAIN",
                             "credentials": [b"alice", b"pw"]}]
        assert mech.user_id == b"alice-id"
        assert mech.zap_metadata == {b"X-Role": b"admin"}
        assert mech.peer_identity == b"dlr"
        assert mech.peer_metadata == {b"Socket-Type": b"DEALER", b"Identity": b"dlr"}
        assert wait_event(mon)["event"] == zmq.EVENT_HANDSHAKE_SUCCEEDED
        dealer.send_multipart([b"q1", b"q2"])
        assert peer.recv_multipart() == [b"q1", b"q2"]
        peer.send_multipart([b"a1"])
        assert dealer.recv_multipart() == [b"a1"]
    finally:
        peer.close()
        lsock.close()


@pytest.mark.parametrize("status", [400, 500])
def test_plain_server_denial_reaches_libzmq(zctx, status):
    lsock, port = listener()
    _, mon = client(zctx, zmq.PUSH, port, monitor=True, plain_username=b"bob",
                    plain_password=b"wrong")
    mech = M.Mechanism(M.MECH_PLAIN, True, zmtp.PULL)
    peer = accept(lsock, mech, b"PLAIN")
    try:
        with pytest.raises(zmtp.ProtocolError) as e:
            peer.handshake(lambda m: m.zap_reply(status))
        assert e.value.code == M.ERR_AUTH
        ev = wait_event(mon)
        assert ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and ev["value"] == status
    finally:
        peer.close()
        lsock.close()


def test_plain_server_incompatible_socket_type_sends_error(zctx):
    lsock, port = listener()
    push, _ = client(zctx, zmq.PUSH, port, plain_username=b"u", plain_password=b"p")
    mech = M.Mechanism(M.MECH_PLAIN, True, zmtp.PUSH)         # PUSH-PUSH is not allowed
    peer = accept(lsock, mech, b"PLAIN")
    try:
        with pytest.raises(zmtp.ProtocolError) as e:
            peer.handshake(lambda m: m.zap_reply(200))
        assert e.value.code == zmtp.ERR_SOCKTYPE
    finally:
        peer.close()
        lsock.close()


# ================================================================ NULL and CURVE commands


def test_null_through_the_mechanism_interface(zctx):
    pull, port = bind(zctx, zmq.PULL)
    mech = M.Mechanism(M.MECH_NULL, False, zmtp.PUSH)
    peer = RawPeer.connect(port, mech, b"NULL")
    try:
        peer.handshake()
        assert mech.peer_metadata == {b"Socket-Type": b"PULL"}
        peer.send_multipart([b"n1", b"n2"])
        assert pull.recv_multipart() == [b"n1", b"n2"]
    finally:
        peer.close()


def test_curve_commands_travel_with_the_command_bit(zctx):
    # libzmq's heartbeats under CURVE: PING boxed in MESSAGE with flags bit 1 (COMMAND),
    # answered by a boxed PONG; both directions through our MESSAGE codec
    spk, ssk = raw_keypair()
    rep, port = bind(zctx, zmq.REP, curve_server=True, curve_secretkey=ssk,
                     heartbeat_ivl=50, heartbeat_timeout=5000)
    mech, _ = curve_client(zmtp.REQ, spk)
    peer = RawPeer.connect(port, mech, b"CURVE")
    try:
        peer.handshake()
        while True:                                     # libzmq's PING arrives boxed
            ev = peer.next_event()
            body = ev[1][0] if ev[0] == "message" else ev[1]
            payload, more, command = mech.decode_message(body)
            if command:
                break
        name, data = zmtp.split_command(payload)
        assert name == b"PING" and not more
        ttl, ctx = zmtp.decode_ping(data)
        peer.sock.sendall(mech.encode_message(zmtp.encode_pong(ctx)[2:], command=True))
        # our PING gets libzmq's PONG back, boxed with the command bit
        peer.sock.sendall(mech.encode_message(zmtp.encode_ping(0, b"ctx-1")[2:], command=True))
        while True:
            ev = peer.next_event()
            body = ev[1][0] if ev[0] == "message" else ev[1]
            payload, more, command = mech.decode_message(body)
            if command and payload.startswith(b"\x04PONG"):
                assert payload == b"\x04PONGctx-1"
                break
        peer.send_multipart([b"", b"still fine"])
        assert rep.recv() == b"still fine"
    finally:
        peer.close()


def test_null_zap_denial_from_libzmq_reads_as_error_400(zctx, auth):
    auth.deny("127.0.0.1")
    pull, port = bind(zctx, zmq.PULL, zap_domain=b"global")
    mech = M.Mechanism(M.MECH_NULL, False, zmtp.PUSH)
    peer = RawPeer.connect(port, mech, b"NULL")
    try:
        with pytest.raises(zmtp.ProtocolError) as e:
            peer.handshake()
        assert e.value.code == zmtp.ERR_PEER_ERROR and mech.peer_error_reason == b"400"
    finally:
        peer.close()


def test_null_server_zap_denial_reaches_libzmq(zctx):
    lsock, port = listener()
    _, mon = client(zctx, zmq.PUSH, port, monitor=True)
    mech = M.Mechanism(M.MECH_NULL, True, zmtp.PULL, zap_domain=b"d")
    peer = accept(lsock, mech, b"NULL")
    try:
        peer.greet()
        assert mech.next_frame() is None and mech.status == M.ZAP
        with pytest.raises(zmtp.ProtocolError):
            mech.zap_reply(400)
        peer.flush()                                    # the ERROR "400"
        ev = wait_event(mon)
        assert ev["event"] == zmq.EVENT_HANDSHAKE_FAILED_AUTH and ev["value"] == 400
    finally:
        peer.close()
        lsock.close()
