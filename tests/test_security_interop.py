"""PLAIN, CURVE and ZAP between zmqx and libzmq (pyzmq as the peer), in both directions.

Each scenario puts the server on one side and the client on the other, over tcp and ipc:
the right credentials pass (and every pattern's messages arrive whole: 0 B, 1 KiB, 4 MiB,
multipart), the wrong ones are refused with nothing delivered. The ZAP handler lives in
the server's context: a hand-written REP, or the ThreadAuthenticator of that library.
Certificates written by pyzmq load in zmqx and the reverse.

Synchronisation is by replies and receive timeouts; a refusal is proven by a receive that
times out after the server's ZAP handler has answered (the handler records its verdicts)."""

import os

import pytest

import zmqx

zmq = pytest.importorskip("zmq")
import zmq.auth  # noqa: E402
import zmq.auth.thread  # noqa: E402
from zmq.utils import z85  # noqa: E402
import zmq.utils.monitor  # noqa: E402

import zmqx.auth  # noqa: E402
import zmqx.auth.thread  # noqa: E402
from zap_handler import ZapHandler  # noqa: E402

RCV = 5000
SIZES = [0, 1024, 4 << 20]
LIBS = {"zmqx": zmqx, "pyzmq": zmq}
DIRECTIONS = [("zmqx", "pyzmq"), ("pyzmq", "zmqx")]       # (server, client)


def endpoint(transport, ipc_dir, tag):
    if transport == "tcp":
        return "tcp://127.0.0.1:*"
    return "ipc://%s/%s.sock" % (ipc_dir, tag)


def configure(mech, server, client, good, keys):
    if mech == "PLAIN":
        server.plain_server = True
        client.plain_username = b"admin"
        client.plain_password = b"secret" if good else b"wrong"
    else:
        (spub, ssec), (cpub, csec), (opub, osec) = keys
        server.curve_server = True
        server.curve_secretkey = ssec
        server.curve_publickey = spub
        client.curve_serverkey = spub
        client.curve_publickey = cpub if good else opub
        client.curve_secretkey = csec if good else osec


@pytest.fixture
def keys():
    return [zmq.curve_keypair() for _ in range(3)]


def _pair(server_lib, client_lib, skind, ckind, mech, good, keys, transport, ipc_dir, handler,
          client_opts=None, zap_metadata=b""):
    sctx = server_lib.Context()
    cctx = client_lib.Context()
    zap = None
    auth = None
    if handler == "hand":
        zap = ZapHandler(server_lib, sctx, allowed=[z85.decode(keys[1][0])])
        zap.metadata = zap_metadata
    else:
        auth_mod = zmqx.auth.thread if server_lib is zmqx else zmq.auth.thread
        auth = auth_mod.ThreadAuthenticator(sctx)
        auth.start()
        if mech == "PLAIN":
            auth.configure_plain(domain="*", passwords={"admin": "secret"})
        else:
            auth.configure_curve(domain="*", location=_cert_dir(ipc_dir, keys))
    server = sctx.socket(getattr(server_lib, skind))
    client = cctx.socket(getattr(client_lib, ckind))
    for s in (server, client):
        s.linger = 0
        s.rcvtimeo = RCV
        s.sndtimeo = RCV
    configure(mech, server, client, good, keys)
    for k, v in (client_opts or {}).items():
        setattr(client, k, v)
    server.bind(endpoint(transport, ipc_dir, "srv"))
    if skind == "SUB":
        server.subscribe(b"")
    client.connect(server.last_endpoint)

    def close():
        client.close()
        server.close()
        if zap is not None:
            zap.close()
        if auth is not None:
            auth.stop()
        cctx.term()
        sctx.term()
    return server, client, zap, auth, close


def _cert_dir(ipc_dir, keys):
    # the accepted client key as a certificate file, the way pyzmq writes one
    d = os.path.join(ipc_dir, "allowed")
    if not os.path.isdir(d):
        os.makedirs(d)
        pub, sec = keys[1]
        zmq.auth.certs._write_key_file(os.path.join(d, "client.key"), "", pub)
    return d


# ---------------------------------------------------------------- accepted: every pattern

PATTERNS = [("REP", "REQ"), ("PULL", "PUSH"), ("SUB", "PUB"), ("ROUTER", "DEALER")]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: "%s-server" % d[0] if isinstance(d, tuple) else d)
@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
@pytest.mark.parametrize("pattern", PATTERNS, ids=lambda p: "%s-%s" % p)
def test_right_credentials_carry_every_pattern(transport, direction, mech, pattern, keys, ipc_dir):
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    skind, ckind = pattern
    server, client, zap, _auth, close = _pair(slib, clib, skind, ckind, mech, True, keys,
                                              transport, ipc_dir, "hand")
    try:
        if skind == "SUB":
            # a PUB drops until the subscription arrived: publish until one gets through
            for _ in range(200):
                client.send(b"probe")
                if server.poll(50):
                    break
            assert server.recv() == b"probe"
        for size in SIZES:
            body = os.urandom(size)
            client.send_multipart([body, b"second", b""])
            got = server.recv_multipart()
            if skind == "ROUTER":
                assert got[1:] == [body, b"second", b""]
                server.send_multipart([got[0], body[::-1]])
                assert client.recv_multipart() == [body[::-1]]
            else:
                assert got == [body, b"second", b""]
                if skind == "REP":
                    server.send_multipart([body[::-1], b"x"])
                    assert client.recv_multipart() == [body[::-1], b"x"]
        assert zap.verdicts and all(zap.verdicts)
        assert zap.requests[0][5] == mech.encode()
    finally:
        close()


# ---------------------------------------------------------------- refused: nothing delivered

@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: "%s-server" % d[0] if isinstance(d, tuple) else d)
@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
@pytest.mark.parametrize("handler", ["hand", "ThreadAuthenticator"])
def test_wrong_credentials_are_refused_with_nothing_delivered(transport, direction, mech,
                                                              handler, keys, ipc_dir):
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    server, client, zap, _auth, close = _pair(slib, clib, "PULL", "PUSH", mech, False, keys,
                                              transport, ipc_dir, handler)
    try:
        client.sndtimeo = 0
        try:
            client.send(b"must not arrive")      # queued on the client until refused
        except clib.Again:
            pass
        if zap is not None:
            assert zap.answered.wait(RCV / 1000)
            assert zap.verdicts[0] is False
        server.rcvtimeo = 700
        with pytest.raises(slib.Again):
            server.recv()
    finally:
        close()


@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: "%s-server" % d[0])
@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
def test_thread_authenticator_accepts_the_right_peer(direction, mech, keys, ipc_dir):
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    server, client, _zap, _auth, close = _pair(slib, clib, "REP", "REQ", mech, True, keys,
                                               "tcp", ipc_dir, "ThreadAuthenticator")
    try:
        client.send_multipart([b"hello", b"1" * 1024])
        assert server.recv_multipart() == [b"hello", b"1" * 1024]
        server.send(b"world")
        assert client.recv() == b"world"
    finally:
        close()


# ---------------------------------------------------------------- certificates

def test_certificates_written_by_pyzmq_load_in_zmqx_and_reverse(tmp_path):
    zdir, xdir = tmp_path / "pyzmq", tmp_path / "zmqx"
    zdir.mkdir()
    xdir.mkdir()
    zpub_file, zsec_file = zmq.auth.create_certificates(str(zdir), "srv")
    xpub_file, xsec_file = zmqx.auth.create_certificates(str(xdir), "srv")
    assert zmqx.auth.load_certificate(zsec_file) == zmq.auth.load_certificate(zsec_file)
    assert zmq.auth.load_certificate(xsec_file) == zmqx.auth.load_certificate(xsec_file)
    assert zmqx.auth.load_certificate(zpub_file) == zmq.auth.load_certificate(zpub_file)
    assert zmq.auth.load_certificates(str(xdir)) == zmqx.auth.load_certificates(str(xdir))
    # and the keys work on the wire: a zmqx server with pyzmq's certificate, a pyzmq client
    # with zmqx's
    spub, ssec = zmqx.auth.load_certificate(zsec_file)
    cpub, csec = zmq.auth.load_certificate(xsec_file)
    assert zmqx.curve_public(ssec) == spub and zmq.curve_public(csec) == cpub
    xctx, zctx = zmqx.Context(), zmq.Context()
    srv = xctx.socket(zmqx.PULL)
    cli = zctx.socket(zmq.PUSH)
    try:
        srv.linger = cli.linger = 0
        srv.rcvtimeo = RCV
        srv.curve_server = True
        srv.curve_secretkey = ssec
        srv.curve_publickey = spub
        cli.curve_serverkey = spub
        cli.curve_publickey = cpub
        cli.curve_secretkey = csec
        srv.bind("tcp://127.0.0.1:*")
        cli.connect(srv.last_endpoint)
        cli.send(b"certified")
        assert srv.recv() == b"certified"
    finally:
        srv.close()
        cli.close()
        xctx.term()
        zctx.term()


# ---------------------------------------------------------------- ZAP absent: libzmq's rules

@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: "%s-server" % d[0])
def test_curve_without_a_zap_handler_accepts_any_client_as_libzmq(direction, keys):
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    sctx, cctx = slib.Context(), clib.Context()
    srv, cli = sctx.socket(slib.PULL), cctx.socket(clib.PUSH)
    try:
        srv.linger = cli.linger = 0
        srv.rcvtimeo = RCV
        configure("CURVE", srv, cli, False, keys)      # a key nobody listed: no ZAP to ask
        srv.bind("tcp://127.0.0.1:*")
        cli.connect(srv.last_endpoint)
        cli.send(b"anyone")
        assert srv.recv() == b"anyone"
    finally:
        srv.close()
        cli.close()
        sctx.term()
        cctx.term()


@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: "%s-server" % d[0])
def test_plain_without_a_zap_handler_refuses_as_libzmq(direction, keys):
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    sctx, cctx = slib.Context(), clib.Context()
    srv, cli = sctx.socket(slib.PULL), cctx.socket(clib.PUSH)
    mon = srv.get_monitor_socket() if slib is zmq else None
    try:
        srv.linger = cli.linger = 0
        configure("PLAIN", srv, cli, True, keys)
        srv.bind("tcp://127.0.0.1:*")
        cli.connect(srv.last_endpoint)
        cli.sndtimeo = 0
        try:
            cli.send(b"nobody checks")
        except clib.Again:
            pass
        srv.rcvtimeo = 700
        with pytest.raises(slib.Again):
            srv.recv()
    finally:
        if mon is not None:
            srv.disable_monitor()
            mon.close()
        srv.close()
        cli.close()
        sctx.term()
        cctx.term()


@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: "%s-server" % d[0])
def test_curve_heartbeats_are_boxed_and_keep_the_connection(direction, keys):
    """PING/PONG travel inside CURVE MESSAGEs (COMMAND flag in the box): with heartbeats
    on both ends and a timeout of a few intervals, the connection survives many
    intervals of silence and still carries messages both ways."""
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    sctx, cctx = slib.Context(), clib.Context()
    srv, cli = sctx.socket(slib.DEALER), cctx.socket(clib.DEALER)
    smon = srv.get_monitor_socket() if slib is zmq else None
    try:
        for s in (srv, cli):
            s.linger = 0
            s.rcvtimeo = RCV
            s.heartbeat_ivl = 30
            s.heartbeat_timeout = 200
        configure("CURVE", srv, cli, True, keys)
        srv.bind("tcp://127.0.0.1:*")
        cli.connect(srv.last_endpoint)
        cli.send(b"first")
        assert srv.recv() == b"first"
        # ~25 heartbeat intervals with no traffic: a PING or PONG that did not open would
        # end the connection (and a lost PONG would time it out)
        srv.rcvtimeo = 750
        with pytest.raises(slib.Again):
            srv.recv()
        srv.rcvtimeo = RCV
        cli.send(b"still here")
        assert srv.recv() == b"still here"
        srv.send(b"and back")
        assert cli.recv() == b"and back"
        if smon is not None:
            # libzmq saw exactly one connection: no disconnect and reconnect in between
            events = []
            while smon.poll(0):
                events.append(zmq.utils.monitor.recv_monitor_message(smon)["event"])
            assert events.count(zmq.EVENT_HANDSHAKE_SUCCEEDED) == 1, events
            assert zmq.EVENT_DISCONNECTED not in events, events
    finally:
        if smon is not None:
            srv.disable_monitor()
            smon.close()
        srv.close()
        cli.close()
        sctx.term()
        cctx.term()


@pytest.mark.parametrize("direction", DIRECTIONS + [("zmqx", "zmqx")],
                         ids=lambda d: "%s-server-%s-client" % d)
@pytest.mark.parametrize("mech", ["PLAIN", "CURVE"])
def test_received_frames_carry_the_connection_properties(direction, mech, keys, ipc_dir):
    """Frame.get() on a received frame: User-Id and metadata from the ZAP reply, the
    peer's Socket-Type and Identity, Peer-Address; the same answers as libzmq's, for
    small frames, large ones and a frame boxed by CURVE."""
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    role = bytes([6]) + b"X-Role" + (5).to_bytes(4, "big") + b"admin"
    server, client, _zap, _auth, close = _pair(slib, clib, "ROUTER", "DEALER", mech, True, keys,
                                               "tcp", ipc_dir, "hand",
                                               client_opts={"routing_id": b"dealer-7"},
                                               zap_metadata=role)
    try:
        for body in (b"small", b"L" * 300000):
            client.send(body)
            frames = server.recv_multipart(copy=False)
            f = frames[-1]
            assert f.bytes == body
            assert f.get("User-Id") == "user-" + mech.lower()
            assert f.get("X-Role") == "admin"
            assert f.get("Socket-Type") == "DEALER"
            assert f.get("Identity") == "dealer-7"
            assert f.get("Peer-Address") == "127.0.0.1"
            with pytest.raises(slib.ZMQError):
                f.get("X-Missing")
    finally:
        close()


@pytest.mark.parametrize("direction", DIRECTIONS, ids=lambda d: "%s-server" % d[0])
@pytest.mark.parametrize("accept", [True, False], ids=["accepted", "denied"])
def test_null_with_a_zap_domain_asks_the_handler(direction, accept):
    """NULL consults ZAP when the server has a ZAP_DOMAIN (libzmq's rule): the handler
    sees the domain and mechanism NULL, and its verdict decides delivery."""
    slib, clib = LIBS[direction[0]], LIBS[direction[1]]
    sctx, cctx = slib.Context(), clib.Context()
    zap = ZapHandler(slib, sctx)
    zap.accept_null = accept
    srv, cli = sctx.socket(slib.PULL), cctx.socket(clib.PUSH)
    try:
        srv.linger = cli.linger = 0
        srv.rcvtimeo = RCV
        srv.zap_domain = b"test-domain"
        srv.bind("tcp://127.0.0.1:*")
        cli.connect(srv.last_endpoint)
        cli.sndtimeo = 0
        try:
            cli.send(b"null peer")
        except clib.Again:
            pass
        assert zap.answered.wait(RCV / 1000)
        req = zap.requests[0]
        assert (req[2], req[5], req[6:]) == (b"test-domain", b"NULL", [])
        if accept:
            assert srv.recv() == b"null peer"
        else:
            srv.rcvtimeo = 500
            with pytest.raises(slib.Again):
                srv.recv()
    finally:
        srv.close()
        cli.close()
        zap.close()
        sctx.term()
        cctx.term()
