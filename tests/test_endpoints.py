"""Endpoint forms: tcp wildcards, hostnames, IPv6, ipc paths (wildcard, abstract, takeover
of a dead process's socket file), inproc name rules."""

import os
import socket
import subprocess
import sys

import pytest

import zmqx as zmq

pytestmark = pytest.mark.timeout(30)


def roundtrip(ctx, bind_ep, connect_ep=None, **opts):
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    for k, v in opts.items():
        pull.set(getattr(zmq, k), v)
        push.set(getattr(zmq, k), v)
    pull.rcvtimeo = 5000
    pull.bind(bind_ep)
    last = pull.last_endpoint.decode()
    push.connect(connect_ep(last) if connect_ep else last)
    push.send(b"ping")
    assert pull.recv() == b"ping"
    push.close(0)
    pull.close(0)
    return last


def test_tcp_wildcard_host_reports_concrete_port(ctx):
    last = roundtrip(ctx, "tcp://*:*", lambda ep: "tcp://127.0.0.1:" + ep.rsplit(":", 1)[1])
    host, port = last[len("tcp://"):].rsplit(":", 1)
    assert host == "0.0.0.0" and int(port) > 0


def test_tcp_port_zero_is_a_wildcard(ctx):
    last = roundtrip(ctx, "tcp://127.0.0.1:0")
    assert int(last.rsplit(":", 1)[1]) > 0


def test_tcp_connect_by_hostname(ctx):
    roundtrip(ctx, "tcp://127.0.0.1:*", lambda ep: "tcp://localhost:" + ep.rsplit(":", 1)[1])


def _has_ipv6_loopback():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
        s.bind(("::1", 0))
        s.close()
        return True
    except OSError:
        return False


@pytest.mark.skipif(not _has_ipv6_loopback(), reason="no IPv6 loopback")
def test_tcp_ipv6_loopback(ctx):
    last = roundtrip(ctx, "tcp://[::1]:*", IPV6=1)
    assert last.startswith("tcp://[::1]:")


def test_bind_to_random_port(ctx):
    s = ctx.socket(zmq.PULL)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    assert s.last_endpoint == b"tcp://127.0.0.1:%d" % port
    s.close()


def test_ipc_wildcard_gets_a_temp_path(ctx):
    last = roundtrip(ctx, "ipc://*")
    path = last[len("ipc://"):]
    assert path.startswith("/")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="Linux abstract namespace")
def test_ipc_abstract_name(ctx):
    name = f"@zmqx-test-{os.getpid()}-{id(ctx)}"
    last = roundtrip(ctx, "ipc://" + name)
    assert last == "ipc://" + name


def test_ipc_path_of_a_dead_process_can_be_taken_over(ctx, ipc_dir):
    path = os.path.join(ipc_dir, "sock")
    # a process binds and dies without cleaning up (os._exit skips every finalizer)
    code = (
        "import zmqx, os; c = zmqx.Context(); s = c.socket(zmqx.PULL); "
        f"s.bind('ipc://{path}'); os._exit(0)"
    )
    env = dict(os.environ, PYTHONPATH=os.getcwd())
    subprocess.run([sys.executable, "-c", code], check=True, env=env, timeout=30)
    assert os.path.exists(path)
    roundtrip(ctx, "ipc://" + path)


def test_ipc_path_held_by_a_live_socket_is_taken_over(ctx, ipc_dir):
    # libzmq unlinks the socket file and binds again, even when its owner is alive
    path = "ipc://" + os.path.join(ipc_dir, "live")
    a = ctx.socket(zmq.PULL)
    a.bind(path)
    b = ctx.socket(zmq.PULL)
    b.bind(path)
    push = ctx.socket(zmq.PUSH)
    push.connect(path)
    push.send(b"to the new owner")
    assert b.poll(5000) == zmq.POLLIN and b.recv() == b"to the new owner"
    assert a.poll(0) == 0


def test_ipc_path_of_a_live_libzmq_socket_is_taken_over(ctx, zctx, ipc_dir):
    pyzmq = pytest.importorskip("zmq")
    path = "ipc://" + os.path.join(ipc_dir, "libzmq-owned")
    theirs = zctx.socket(pyzmq.PULL)
    theirs.bind(path)
    ours = ctx.socket(zmq.PULL)
    ours.bind(path)                                 # libzmq's answer: take it over
    connector = zctx.socket(pyzmq.PUSH)
    connector.connect(path)
    connector.send(b"reaches zmqx")
    assert ours.poll(5000) == zmq.POLLIN and ours.recv() == b"reaches zmqx"
    assert theirs.poll(0) == 0
    connector.close(0)
    theirs.close(0)


def test_ipc_path_of_a_regular_file_is_refused(ctx, ipc_dir):
    path = os.path.join(ipc_dir, "data")
    with open(path, "w") as f:
        f.write("keep me")
    s = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as e:
        s.bind("ipc://" + path)
    assert e.value.errno == zmq.EADDRINUSE
    with open(path) as f:
        assert f.read() == "keep me"


def test_ipc_socket_file_removed_on_close(ctx, ipc_dir):
    path = os.path.join(ipc_dir, "gone")
    s = ctx.socket(zmq.PULL)
    s.bind("ipc://" + path)
    assert os.path.exists(path)
    s.close()
    assert not os.path.exists(path)


def test_unsupported_transport(ctx):
    s = ctx.socket(zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as e:
        s.connect("pgm://eth0;239.192.1.1:5555")
    assert e.value.errno == zmq.EPROTONOSUPPORT
    s.close()


def test_inproc_connect_before_bind_and_name_reuse(ctx):
    push = ctx.socket(zmq.PUSH)
    push.connect("inproc://later")
    push.send(b"queued before bind")
    pull = ctx.socket(zmq.PULL)
    pull.rcvtimeo = 5000
    pull.bind("inproc://later")
    assert pull.recv() == b"queued before bind"
    pull.close()
    again = ctx.socket(zmq.PULL)
    again.bind("inproc://later")      # the name is free again after close
    again.close()
    push.close(0)


def test_winsock_bind_errors_become_zmq_errnos():
    # on Windows a socket call's OSError carries Winsock's code (10048 for "address in
    # use"); bind must report zmqx's errno as pyzmq does, not the raw code
    from zmqx import _endpoint
    e = OSError(10048, "address in use")
    e.winerror = 10048
    assert _endpoint._socket_errno(e, windows=True) == zmq.EADDRINUSE
    assert _endpoint._socket_errno(OSError(10049, "x"), windows=True) == zmq.EADDRNOTAVAIL
    assert _endpoint._socket_errno(OSError(12345, "x"), windows=True) == 12345
    # elsewhere the errno is already one
    assert _endpoint._socket_errno(OSError(98, "x"), windows=False) == 98


def test_tcp_bind_in_use_raises_eaddrinuse(ctx):
    a = ctx.socket(zmq.PULL)
    a.bind("tcp://127.0.0.1:*")
    b = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as info:
        b.bind(a.last_endpoint)
    assert info.value.errno == zmq.EADDRINUSE
    a.close()
    b.close()
