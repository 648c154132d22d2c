"""An ipc connection that carries large frames gets a 1 MiB kernel send buffer (unless
SNDBUF was set): unix sockets have no autotuning, and the default (~208 KiB) moves a 1 MiB
frame in five writes. Connections of small messages keep the default.

The engine's socket is found through /proc/self/fd (Linux): the connecting end's peer
name is the ipc path."""

import os
import socket
import sys

import pytest

import zmqx

pytestmark = [pytest.mark.timeout(60),
              pytest.mark.skipif(not sys.platform.startswith("linux"),
                                 reason="finds the engine's fd through /proc/self/fd")]


def kernel_sndbuf_of_connection_to(path):
    found = []
    for name in os.listdir("/proc/self/fd"):
        fd = int(name)
        try:
            if not os.readlink(f"/proc/self/fd/{fd}").startswith("socket:"):
                continue
            s = socket.socket(fileno=os.dup(fd))
        except OSError:
            continue
        try:
            if s.family == socket.AF_UNIX and s.getpeername() == path:
                found.append(s.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF))
        except OSError:
            pass
        finally:
            s.close()
    assert len(found) == 1, f"expected one connection to {path}, found {found}"
    return found[0]


def reported_for(value=None):
    """What the kernel reports for a unix socket's SO_SNDBUF: its default, or after
    setting `value` (Linux doubles what it is given)."""
    a, b = socket.socketpair(socket.AF_UNIX)
    try:
        if value is not None:
            a.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, value)
        return a.getsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF)
    finally:
        a.close()
        b.close()


def connected_pair(ctx, ipc_dir, sndbuf=None):
    path = os.path.join(ipc_dir, "s")
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
    if sndbuf is not None:
        push.sndbuf = sndbuf
    pull.bind("ipc://" + path)
    push.connect("ipc://" + path)
    push.send(b"hello")
    assert pull.recv() == b"hello"      # connected, handshake done
    return pull, push, path


def test_a_large_frame_raises_the_send_buffer_and_small_ones_do_not(ctx, ipc_dir):
    pull, push, path = connected_pair(ctx, ipc_dir)
    default = reported_for()
    assert kernel_sndbuf_of_connection_to(path) == default
    body = b"s" * 200_000                 # large (sent by reference), below the threshold
    push.send(body)
    assert pull.recv() == body
    assert kernel_sndbuf_of_connection_to(path) == default
    body = b"L" * (1 << 20)
    push.send(body)
    assert pull.recv() == body
    assert kernel_sndbuf_of_connection_to(path) == reported_for(1 << 20) > default
    for i in range(3):                    # and it keeps working, big and small
        push.send(body)
        push.send(b"%d" % i)
        assert pull.recv() == body and pull.recv() == b"%d" % i


def test_sndbuf_set_by_the_application_is_left_alone(ctx, ipc_dir):
    pull, push, path = connected_pair(ctx, ipc_dir, sndbuf=100_000)
    assert kernel_sndbuf_of_connection_to(path) == reported_for(100_000)
    body = b"L" * (1 << 20)
    push.send(body)
    assert pull.recv() == body
    assert kernel_sndbuf_of_connection_to(path) == reported_for(100_000)
