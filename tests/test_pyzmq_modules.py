"""pyzmq's module layout on zmqx: utils, devices as a package, sugar/backend names, the
top-level __all__, and the import hook programs use to run pyzmq code on zmqx."""

import ctypes
import importlib
import os
import subprocess
import sys
import textwrap

import pytest

import zmqx as zmq
from zmqx import devices
from zmqx.utils import interop, jsonapi, strtypes


def test_jsonapi():
    assert jsonapi.dumps({"a": "é"}) == '{"a": "é"}'.encode()
    assert jsonapi.dumps({"a": "é"}, ensure_ascii=True) == b'{"a": "\\u00e9"}'
    assert jsonapi.loads(b'{"a": [1]}') == {"a": [1]}
    assert jsonapi.loads('{"a": 2}') == {"a": 2}


def test_strtypes():
    assert strtypes.cast_bytes("é") == "é".encode()
    assert strtypes.cast_bytes(b"x") == b"x"
    assert strtypes.cast_unicode(b"\\xc3\\xa9".decode("unicode_escape").encode("latin-1")) == "é"
    assert strtypes.b is strtypes.cast_bytes and strtypes.u is strtypes.cast_unicode
    with pytest.raises(TypeError):
        strtypes.cast_bytes(1)


def test_cast_int_addr():
    buf = ctypes.create_string_buffer(8)
    addr = ctypes.addressof(buf)
    assert interop.cast_int_addr(addr) == addr
    assert interop.cast_int_addr(ctypes.c_void_p(addr)) == addr
    assert interop.cast_int_addr(ctypes.pointer(ctypes.c_int(1))) != 0
    with pytest.raises(ValueError):
        interop.cast_int_addr("nope")


def test_devices_package_layout():
    for mod in ("basedevice", "proxydevice", "proxysteerabledevice", "monitoredqueue",
                "monitoredqueuedevice"):
        m = importlib.import_module(f"zmqx.devices.{mod}")
        for name in m.__all__:
            assert getattr(devices, name) is getattr(m, name)
    assert devices.proxy is zmq.proxy and devices.device is not None
    assert issubclass(devices.ThreadProxySteerable, devices.ThreadDevice)
    assert issubclass(devices.ProcessMonitoredQueue, devices.ProcessDevice)
    assert issubclass(devices.MonitoredQueue, devices.Proxy)


def test_bind_to_random_port_family_bounds():
    dev = devices.ThreadProxySteerable(zmq.PULL, zmq.PUSH)
    ports = [dev.bind_in_to_random_port("tcp://127.0.0.1", min_port=41000, max_port=41050),
             dev.bind_out_to_random_port("tcp://127.0.0.1", min_port=41000, max_port=41050),
             dev.bind_mon_to_random_port("tcp://127.0.0.1", min_port=41000, max_port=41050),
             dev.bind_ctrl_to_random_port("tcp://127.0.0.1", min_port=41000, max_port=41050)]
    assert all(41000 <= p < 41050 for p in ports)
    assert len(set(ports)) == 4                 # never the same port twice
    small = devices.ThreadDevice(zmq.QUEUE, zmq.PULL, zmq.PUSH)
    with pytest.raises(zmq.ZMQBindError):
        for _ in range(4):
            small.bind_in_to_random_port("tcp://127.0.0.1", min_port=42000, max_port=42003)


def test_thread_proxy_with_random_ports(ctx):
    dev = devices.ThreadProxy(zmq.PULL, zmq.PUSH, zmq.PUB)
    dev.context_factory = zmq.Context
    pin = dev.bind_in_to_random_port("tcp://127.0.0.1")
    pout = dev.bind_out_to_random_port("tcp://127.0.0.1")
    pmon = dev.bind_mon_to_random_port("tcp://127.0.0.1")
    for side in ("in", "out", "mon"):
        getattr(dev, f"setsockopt_{side}")(zmq.LINGER, 0)
    dev.start()
    push = ctx.socket(zmq.PUSH)
    pull = ctx.socket(zmq.PULL)
    mon = ctx.socket(zmq.SUB)
    for s in (push, pull, mon):
        s.linger = 0
        s.rcvtimeo = 5000
    mon.subscribe(b"")
    push.connect(f"tcp://127.0.0.1:{pin}")
    pull.connect(f"tcp://127.0.0.1:{pout}")
    mon.connect(f"tcp://127.0.0.1:{pmon}")
    got = b""
    while got != b"go":                 # until the monitor's subscription is in place
        push.send(b"go")
        got = pull.recv()
        if mon.poll(100):
            got = mon.recv()
    push.send(b"hello")
    assert pull.recv() == b"hello"
    while mon.recv() != b"hello":
        pass
    for s in (push, pull, mon):
        s.close()
    dev._context.term()             # the proxy ends with ETERM and closes its sockets
    dev.join(5)
    assert dev.done


def test_monitored_queue_router_router_swaps_ids(ctx):
    import threading

    ins, outs, mons = (ctx.socket(t) for t in (zmq.ROUTER, zmq.ROUTER, zmq.PUB))
    a, b = ctx.socket(zmq.DEALER), ctx.socket(zmq.DEALER)
    a.routing_id, b.routing_id = b"a", b"b"
    sub = ctx.socket(zmq.SUB)
    sub.subscribe(b"")
    for s in (ins, outs, mons, a, b, sub):
        s.linger = 0
        s.rcvtimeo = 5000
    ins.bind("inproc://mq-in")
    outs.bind("inproc://mq-out")
    mons.bind("inproc://mq-mon")
    a.connect("inproc://mq-in")
    b.connect("inproc://mq-out")
    sub.connect("inproc://mq-mon")

    def relay():
        try:
            devices.monitored_queue(ins, outs, mons, b"IN", b"OUT")
        except zmq.ZMQError:
            pass

    t = threading.Thread(target=relay, daemon=True)
    t.start()
    b.send(b"hello-router")         # makes b known to outs before a addresses it
    a.send_multipart([b"b", b"ping"])
    assert b.recv_multipart() == [b"a", b"ping"]
    b.send_multipart([b"a", b"pong"])
    assert a.recv_multipart() == [b"b", b"pong"]
    seen = [sub.recv_multipart() for _ in range(3)]
    assert [b"IN", b"b", b"a", b"ping"] in seen and [b"OUT", b"a", b"b", b"pong"] in seen
    with pytest.raises(TypeError):
        devices.monitored_queue("in", outs, mons)
    for s in (ins, outs, mons):
        s.close()
    t.join(5)
    for s in (a, b, sub):
        s.close()


def test_sugar_and_backend_names():
    import zmqx.backend
    import zmqx.sugar.context
    import zmqx.sugar.socket

    assert zmqx.sugar.context.Context is zmq.Context
    assert zmqx.sugar.socket.Socket is zmq.Socket
    assert issubclass(zmq.Socket, zmqx.backend.Socket)
    assert zmqx.sugar.version.VERSION_EXTRA == ""
    sw = zmq.Stopwatch()
    with pytest.raises(zmq.ZMQError):
        sw.stop()
    sw.start()
    assert sw.stop() >= 0


def test_all_is_explicit_and_complete():
    assert "Context" in zmq.__all__ and "PUSH" in zmq.__all__ and "device" in zmq.__all__
    assert len(zmq.__all__) == len(set(zmq.__all__))
    for name in zmq.__all__:
        assert hasattr(zmq, name), name
    ns = {}
    exec("from zmqx import *", ns)
    assert "constants" not in ns and "Socket" in ns


def test_pyzmq_code_runs_through_the_alias_hook(tmp_path):
    """tools/pyzmq_compat.py's import hook: `import zmq` and `zmq.x` give zmqx."""
    sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "tools"))
    try:
        import pyzmq_compat
    finally:
        sys.path.pop(0)
    (tmp_path / "sitecustomize.py").write_text(pyzmq_compat.ALIAS_HOOK)
    code = textwrap.dedent("""
        import zmq, zmq.eventloop.zmqstream, zmq.utils.jsonapi, zmq.green
        from zmq.log.handlers import PUBHandler
        import zmqx
        assert zmq is zmqx and zmq.utils.jsonapi is zmqx.utils.jsonapi
        assert zmq.__spec__.name == "zmqx"
        print("ok", zmq.green.Socket.__module__)
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        [str(tmp_path), os.path.dirname(os.path.dirname(os.path.abspath(zmq.__file__)))]))
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                         text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "ok zmqx.green.core"
