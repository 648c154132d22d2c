"""zmqx.ssh (pyzmq's zmq.ssh): tunnels a zmqx connection through ssh port forwarding.

There is no ssh server here, so the openssh path runs against a stand-in `ssh` on PATH
that does what ``ssh -L 127.0.0.1:L:H:R server sleep N`` does on the local side: listen
on L and forward each connection to H:R. That checks the command zmqx builds and the
whole flow (pick a port, start the tunnel, wait for its forward, connect through it).
The paramiko forwarder runs over a stand-in transport whose channels are TCP sockets."""

import os
import signal
import socket
import sys
import textwrap
import threading

import pytest

import zmqx
from helpers import sock
from zmqx.ssh import forward, tunnel

FAKE_SSH = textwrap.dedent('''\
    #!{python}
    import socket, sys, threading, time
    args = sys.argv[1:]
    with open({log!r}, "a") as f:
        f.write(" ".join(args) + "\\n")
    spec = args[args.index("-L") + 1]
    bind_host, lport, host, rport = spec.rsplit(":", 3)
    seconds = float(args[-1])
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind((bind_host, int(lport)))
    srv.listen()

    def pump(a, b):
        while True:
            data = a.recv(65536)
            if not data:
                b.close()
                return
            b.sendall(data)

    def serve():
        while True:
            c, _ = srv.accept()
            r = socket.create_connection((host, int(rport)))
            threading.Thread(target=pump, args=(c, r), daemon=True).start()
            threading.Thread(target=pump, args=(r, c), daemon=True).start()

    threading.Thread(target=serve, daemon=True).start()
    time.sleep(seconds)
    ''')


@pytest.fixture
def fake_ssh(tmp_path, monkeypatch):
    log = tmp_path / "ssh.log"
    path = tmp_path / "ssh"
    path.write_text(FAKE_SSH.format(python=sys.executable, log=str(log)))
    path.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    return log


def test_select_random_ports_are_distinct_and_free():
    for _ in range(200):
        ports = tunnel.select_random_ports(10)
        assert len(set(ports)) == 10
    for p in ports:
        s = socket.socket()
        s.bind(("127.0.0.1", p))          # really free
        s.close()


def test_split_server():
    assert tunnel._split_server("user@gw") == ("user@gw", None)
    assert tunnel._split_server("user@gw:2222") == ("user@gw", 2222)
    assert tunnel._split_server("gw") == ("gw", None)


def test_tunnel_connection_through_openssh(ctx, fake_ssh):
    pull = sock(ctx, zmqx.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    push = sock(ctx, zmqx.PUSH)
    pid = tunnel.tunnel_connection(push, f"tcp://127.0.0.1:{port}", "me@gateway:2200",
                                   keyfile="/k/id", password=False, paramiko=False, timeout=30)
    try:
        push.send(b"through the tunnel")
        assert pull.recv() == b"through the tunnel"
        endpoint = push.last_endpoint.decode()
        lport = int(endpoint.rsplit(":", 1)[1])
        assert lport != port and endpoint.startswith("tcp://127.0.0.1:")
        args = fake_ssh.read_text().split()
        assert args[:2] == ["-o", "BatchMode=yes"]          # password=False: never prompt
        assert ["-p", "2200"] == args[2:4] and ["-i", "/k/id"] == args[4:6]
        assert f"127.0.0.1:{lport}:127.0.0.1:{port}" in args
        assert args[-3:] == ["me@gateway", "sleep", "30"]
    finally:
        os.kill(pid, signal.SIGTERM)


def test_failed_tunnel_raises_with_sshs_message(tmp_path, monkeypatch):
    bad = tmp_path / "ssh"
    bad.write_text("#!/bin/sh\necho 'Permission denied (publickey).' >&2\nexit 255\n")
    bad.chmod(0o755)
    monkeypatch.setenv("PATH", f"{tmp_path}{os.pathsep}{os.environ['PATH']}")
    with pytest.raises(RuntimeError, match="Permission denied"):
        tunnel.openssh_tunnel(tunnel.select_random_ports(1)[0], 5555, "gw", password=False)


def test_only_tcp_endpoints_tunnel():
    with pytest.raises(ValueError):
        tunnel.open_tunnel("ipc:///tmp/x", "gw", password=False)


class _Transport:
    """paramiko.Transport's open_channel, with plain TCP connections for channels."""

    def __init__(self):
        self.opened = []

    def open_channel(self, kind, dest, origin):
        self.opened.append((kind, dest))
        return socket.create_connection(dest)


def test_paramiko_forwarder_carries_a_zmq_connection(ctx):
    pull = sock(ctx, zmqx.PULL)
    port = pull.bind_to_random_port("tcp://127.0.0.1")
    transport = _Transport()

    class H(forward.Handler):
        remote_host, remote_port = "127.0.0.1", port

    H.transport = transport
    server = forward.ForwardServer(("127.0.0.1", 0), H)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        push = sock(ctx, zmqx.PUSH)
        push.connect(f"tcp://127.0.0.1:{server.server_address[1]}")
        push.send_multipart([b"a", b"b" * 100000])
        assert pull.recv_multipart() == [b"a", b"b" * 100000]
        assert transport.opened == [("direct-tcpip", ("127.0.0.1", port))]
        push.close()
    finally:
        server.shutdown()
        server.server_close()
        t.join(5)


def test_pyzmq_names():
    import zmqx.ssh

    assert set(zmqx.ssh.__all__) >= {"tunnel_connection", "ssh_tunnel", "openssh_tunnel",
                                     "paramiko_tunnel", "try_passwordless_ssh"}
    assert zmqx.ssh.ssh_tunnel is tunnel.openssh_tunnel or sys.platform == "win32"
