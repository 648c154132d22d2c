"""Endpoints as libzmq resolves them: connect() to a host name never blocks and never fails
because the name does not resolve yet (the name is looked up on the I/O side before every
attempt, and followed when it moves), interface names in bind, source addresses on connect,
and error messages that name the endpoint as pyzmq's do.

Names are resolved from a table the tests change at run time (io_thread._set_test_hosts),
never from DNS or /etc/hosts; real `localhost` goes through getaddrinfo."""

import errno
import os
import socket
import time

import pytest

import zmqx as zmq
from zmqx import _endpoint
from zmqx._core import io_thread

pytestmark = pytest.mark.timeout(30)

RETRIED = 0x0004       # ZMQ_EVENT_CONNECT_RETRIED


@pytest.fixture
def hosts():
    """Set the resolver table; getaddrinfo again after the test."""
    def set_table(table, delay_ms=0):
        io_thread._set_test_hosts(table, delay_ms)
    yield set_table
    io_thread._set_test_hosts(None)


def _retried():
    return io_thread._event_counts_snapshot()[RETRIED]


def _wait_for(cond, timeout=5.0):
    deadline = time.monotonic() + timeout
    while not cond():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.005)      # polling a counter the I/O thread bumps: the event we sync on
    return True


def _port(sock):
    return int(sock.last_endpoint.decode().rsplit(":", 1)[1])


def _can_bind(ip):
    s = socket.socket()
    try:
        s.bind((ip, 0))
        return True
    except OSError:
        return False
    finally:
        s.close()


# ---------------------------------------------------------------- names off the caller's thread

def test_unresolvable_name_returns_at_once_then_connects_when_it_resolves(ctx, hosts):
    hosts({})                                   # the name does not exist yet
    pull = ctx.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.reconnect_ivl = 10
    push.reconnect_ivl_max = 50
    before = _retried()
    t0 = time.monotonic()
    push.connect(f"tcp://svc-later.test:{_port(pull)}")
    assert time.monotonic() - t0 < 0.1          # no lookup, no error on the caller's thread
    # each failed lookup is a failed attempt, retried with the back-off
    assert _wait_for(lambda: _retried() >= before + 3)
    assert pull.poll(50) == 0
    hosts({"svc-later.test": "127.0.0.1"})      # the DNS entry appears
    push.send(b"hello")
    assert pull.poll(5000) == zmq.POLLIN
    assert pull.recv() == b"hello"


def test_connect_follows_a_name_that_moves(ctx, hosts):
    if not _can_bind("127.0.0.2"):
        pytest.skip("no 127.0.0.2 on this loopback")
    first = ctx.socket(zmq.PULL)
    first.bind("tcp://127.0.0.1:*")
    port = _port(first)
    second = ctx.socket(zmq.PULL)
    second.bind(f"tcp://127.0.0.2:{port}")
    hosts({"svc.test": "127.0.0.1"})
    push = ctx.socket(zmq.PUSH)
    push.reconnect_ivl = 10
    push.reconnect_ivl_max = 50
    push.connect(f"tcp://svc.test:{port}")
    push.send(b"one")
    assert first.poll(5000) == zmq.POLLIN and first.recv() == b"one"
    hosts({"svc.test": "127.0.0.2"})            # the service moved
    before = _retried()
    first.close(0)                              # and the old instance died
    # (what is sent before the connection is seen to die may die with it)
    assert _wait_for(lambda: _retried() > before)
    push.send(b"two")
    assert second.poll(5000) == zmq.POLLIN
    assert second.recv() == b"two"


def test_slow_lookup_does_not_stall_other_connections(ctx, hosts):
    # one I/O thread serves both connections; the lookup of the name takes 1.5 s
    hosts({"slow.test": "127.0.0.1"}, delay_ms=1500)
    rep = ctx.socket(zmq.REP)
    rep.bind("tcp://127.0.0.1:*")
    req = ctx.socket(zmq.REQ)
    req.connect(rep.last_endpoint)
    req.send(b"warm")
    rep.recv()
    rep.send(b"up")
    assert req.recv() == b"up"
    pull = ctx.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://slow.test:{_port(pull)}")
    push.send(b"late")
    t0 = time.monotonic()
    worst = 0.0
    for i in range(20):
        t = time.monotonic()
        req.send(b"%d" % i)
        assert rep.recv() == b"%d" % i
        rep.send(b"ok")
        assert req.recv() == b"ok"
        worst = max(worst, time.monotonic() - t)
    assert pull.poll(0) == 0 and time.monotonic() - t0 < 1.5   # the lookup is still pending
    assert worst < 0.5
    assert pull.poll(5000) == zmq.POLLIN and pull.recv() == b"late"


def test_real_localhost_is_resolved(ctx):
    io_thread._set_test_hosts(None)
    pull = ctx.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://localhost:{_port(pull)}")
    push.send(b"via getaddrinfo")
    assert pull.poll(5000) == zmq.POLLIN and pull.recv() == b"via getaddrinfo"


def test_name_resolution_is_not_on_the_caller_thread_for_numeric_either(ctx):
    # the numeric fast path: the session is built with the address, never a lookup
    assert _endpoint.connect_tcp("127.0.0.1:5555") == (socket.AF_INET, "127.0.0.1", 5555,
                                                        None, None)
    fam, ip, port, host, src = _endpoint.connect_tcp("svc.example:5555")
    assert (ip, port, host) == (None, 5555, "svc.example")


# ---------------------------------------------------------------- interface names

def test_bind_loopback_interface_by_name(ctx):
    pull = ctx.socket(zmq.PULL)
    pull.bind("tcp://lo:*")
    last = pull.last_endpoint.decode()
    assert last.startswith("tcp://127.0.0.1:") and _port(pull) > 0
    push = ctx.socket(zmq.PUSH)
    push.connect(last)
    push.send(b"lo")
    assert pull.poll(5000) == zmq.POLLIN and pull.recv() == b"lo"


def _other_interface():
    for _, name in socket.if_nameindex():
        ip = io_thread._interface_address(name, socket.AF_INET)
        if ip and not ip.startswith("127.") and _can_bind(ip):
            return name, ip
    return None


def test_bind_named_interface(ctx):
    found = _other_interface()
    if found is None:
        pytest.skip("no non-loopback IPv4 interface")
    name, ip = found
    pull = ctx.socket(zmq.PULL)
    pull.bind(f"tcp://{name}:*")
    assert pull.last_endpoint.decode() == f"tcp://{ip}:{_port(pull)}"
    push = ctx.socket(zmq.PUSH)
    push.connect(pull.last_endpoint)
    push.send(b"nic")
    assert pull.poll(5000) == zmq.POLLIN and pull.recv() == b"nic"


def test_bind_unknown_interface_is_enodev(ctx):
    s = ctx.socket(zmq.PULL)
    with pytest.raises(zmq.ZMQError) as e:
        s.bind("tcp://nosuchif0:5555")
    assert e.value.errno == errno.ENODEV
    assert str(e.value) == "No such device (addr='tcp://nosuchif0:5555')"
    s.bind("tcp://127.0.0.1:*")                 # still usable


# ---------------------------------------------------------------- source addresses

def _accept_peer(listener):
    listener.settimeout(5)
    conn, peer = listener.accept()
    conn.close()
    return peer


@pytest.mark.parametrize("source", ["127.0.0.2", "lo"])
def test_connect_from_a_source_address(ctx, source):
    src_ip = "127.0.0.1" if source == "lo" else source
    if not _can_bind(src_ip):
        pytest.skip(f"no {src_ip} on this loopback")
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://{source};127.0.0.1:{lst.getsockname()[1]}")
    peer = _accept_peer(lst)                    # getpeername on the accepting side
    assert peer[0] == src_ip
    lst.close()


def test_connect_from_a_source_address_and_port(ctx):
    if not _can_bind("127.0.0.2"):
        pytest.skip("no 127.0.0.2 on this loopback")
    probe = socket.socket()
    probe.bind(("127.0.0.2", 0))                # a port the OS picks, freed for the source
    sport = probe.getsockname()[1]
    probe.close()
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.2:{sport};127.0.0.1:{lst.getsockname()[1]}")
    assert _accept_peer(lst) == ("127.0.0.2", sport)
    lst.close()


def test_messages_flow_from_a_source_address(ctx):
    pull = ctx.socket(zmq.PULL)
    pull.bind("tcp://127.0.0.1:*")
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.1:0;127.0.0.1:{_port(pull)}")
    push.send(b"sourced")
    assert pull.poll(5000) == zmq.POLLIN and pull.recv() == b"sourced"


def test_source_with_a_name_resolved_destination(ctx, hosts):
    if not _can_bind("127.0.0.2"):
        pytest.skip("no 127.0.0.2 on this loopback")
    hosts({"dst.test": "127.0.0.1"})
    lst = socket.socket()
    lst.bind(("127.0.0.1", 0))
    lst.listen(1)
    push = ctx.socket(zmq.PUSH)
    push.connect(f"tcp://127.0.0.2;dst.test:{lst.getsockname()[1]}")
    assert _accept_peer(lst)[0] == "127.0.0.2"
    lst.close()


# ---------------------------------------------------------------- errors as pyzmq names them

BAD = [
    ("bind", "foo://x"),
    ("connect", "foo://x"),
    ("bind", "nothing"),
    ("bind", "tcp://127.0.0.1"),
    ("bind", "tcp://127.0.0.1:abc"),
    ("connect", "tcp://127.0.0.1"),
    ("connect", "tcp://127.0.0.1:abc"),
    ("connect", "tcp://127.0.0.1:*"),
    ("connect", "tcp://bad host:1"),
    ("bind", "tcp://nosuchif0:5555"),
    ("bind", "inproc://"),
    ("bind", "ipc:///nonexistent-zmqx-dir/sub/sock"),
    ("bind", "ipc:///tmp/" + "a" * 120),
    ("connect", "ipc:///tmp/" + "a" * 120),
]


@pytest.mark.parametrize("how,endpoint", BAD)
def test_error_text_matches_pyzmq(ctx, zctx, how, endpoint):
    pyzmq = pytest.importorskip("zmq")
    theirs = zctx.socket(pyzmq.PUSH)
    with pytest.raises(pyzmq.ZMQError) as want:
        getattr(theirs, how)(endpoint)
    ours = ctx.socket(zmq.PUSH)
    with pytest.raises(zmq.ZMQError) as got:
        getattr(ours, how)(endpoint)
    assert got.value.errno == want.value.errno
    assert str(got.value) == str(want.value)
    theirs.close(0)


def test_ipc_path_length_limit_is_exact(ctx, ipc_dir):
    limit = zmq.IPC_PATH_MAX_LEN
    assert _endpoint._IPC_MAX == limit == (103 if os.uname().sysname == "Darwin" else 107)
    base = os.path.join(ipc_dir, "")
    longest = base + "s" * (limit - len(base.encode()))
    assert len(longest.encode()) == limit
    s = ctx.socket(zmq.PULL)
    s.bind("ipc://" + longest)                  # exactly the limit binds
    with pytest.raises(zmq.ZMQError) as e:
        s.bind("ipc://" + longest + "x")
    assert e.value.errno == errno.ENAMETOOLONG
    assert f"is longer than {limit} characters" in str(e.value)
    push = ctx.socket(zmq.PUSH)
    push.connect("ipc://" + longest)
    push.send(b"at the limit")
    assert s.poll(5000) == zmq.POLLIN and s.recv() == b"at the limit"


def test_term_does_not_wait_for_a_slow_lookup(hosts):
    hosts({"slow.test": "127.0.0.1"}, delay_ms=3000)
    c = zmq.Context()
    s = c.socket(zmq.PUSH)
    s.connect("tcp://slow.test:5555")          # the lookup is now in flight
    s.close(0)
    t0 = time.monotonic()
    c.term()
    assert time.monotonic() - t0 < 1.0


def test_name_resolving_to_ipv6_with_the_ipv6_option(ctx, hosts):
    if not _can_bind_v6():
        pytest.skip("no IPv6 loopback")
    hosts({"v6.test": "::1"})
    pull = ctx.socket(zmq.PULL)
    pull.ipv6 = 1
    pull.bind("tcp://[::1]:*")
    push = ctx.socket(zmq.PUSH)
    push.ipv6 = 1
    push.connect(f"tcp://v6.test:{_port(pull)}")
    push.send(b"six")
    assert pull.poll(5000) == zmq.POLLIN and pull.recv() == b"six"


def _can_bind_v6():
    try:
        s = socket.socket(socket.AF_INET6, socket.SOCK_STREAM)
    except OSError:
        return False
    try:
        s.bind(("::1", 0))
        return True
    except OSError:
        return False
    finally:
        s.close()
