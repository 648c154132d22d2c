"""Devices as in pyzmq's zmq.devices: a proxy set up from addresses and run in a background
thread or process (ThreadDevice, ProcessDevice, ThreadProxy, ProcessProxy,
ThreadMonitoredQueue, ProcessMonitoredQueue), plus device() and monitored_queue()."""

import threading
from multiprocessing import Process

from . import constants as _c
from ._core.proxy import proxy as _proxy, proxy_steerable as _proxy_steerable
from .context import Context
from .error import ContextTerminated, ZMQError

__all__ = [
    "device", "monitored_queue", "Device", "ThreadDevice", "ProcessDevice", "Proxy",
    "ThreadProxy", "ProcessProxy", "ProxySteerable", "ThreadProxySteerable",
    "ProcessProxySteerable", "MonitoredQueue", "ThreadMonitoredQueue", "ProcessMonitoredQueue",
]


def device(device_type, frontend, backend):
    """The old zmq_device(): every device type is a proxy now."""
    return _proxy(frontend, backend)


def monitored_queue(in_socket, out_socket, mon_socket, in_prefix=b"in", out_prefix=b"out"):
    """Forward both ways; every message also goes to mon_socket, prefixed by direction."""
    from .poll import Poller

    poller = Poller()
    poller.register(in_socket, _c.POLLIN)
    if out_socket is not in_socket:
        poller.register(out_socket, _c.POLLIN)
    while True:
        for sock, _ in poller.poll():
            msg = sock.recv_multipart()
            if sock is in_socket:
                mon_socket.send_multipart([in_prefix] + msg)
                out_socket.send_multipart(msg)
            else:
                mon_socket.send_multipart([out_prefix] + msg)
                in_socket.send_multipart(msg)


class Device:
    """A device whose sockets are made from recorded addresses and options when it runs."""

    context_factory = Context.instance

    def __init__(self, device_type=_c.QUEUE, in_type=None, out_type=None):
        self.device_type = device_type
        if in_type is None or out_type is None:
            raise TypeError("in_type and out_type must be specified")
        self.in_type, self.out_type = in_type, out_type
        self._in_binds, self._in_connects, self._in_sockopts = [], [], []
        self._out_binds, self._out_connects, self._out_sockopts = [], [], []
        self._random_addrs = []
        self.daemon = True
        self.done = False
        self._context = None

    def bind_in(self, addr):
        self._in_binds.append(addr)

    def connect_in(self, addr):
        self._in_connects.append(addr)

    def setsockopt_in(self, opt, value):
        self._in_sockopts.append((opt, value))

    def bind_out(self, addr):
        self._out_binds.append(addr)

    def connect_out(self, addr):
        self._out_connects.append(addr)

    def setsockopt_out(self, opt, value):
        self._out_sockopts.append((opt, value))

    def _reserve_random_port(self, addr, min_port=49152, max_port=65536, max_tries=100):
        import socket as _s

        host = addr.split("://", 1)[1]
        with _s.socket() as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        self._random_addrs.append(f"{addr}:{port}")
        return port, f"{addr}:{port}"

    def bind_in_to_random_port(self, addr, *args, **kwargs):
        port, full = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_in(full)
        return port

    def bind_out_to_random_port(self, addr, *args, **kwargs):
        port, full = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_out(full)
        return port

    def _setup_sockets(self):
        ctx = self._context = self.context_factory()
        ins = ctx.socket(self.in_type)
        outs = ins if self.out_type < 0 else ctx.socket(self.out_type)
        for s, opts, binds, connects in (
            (ins, self._in_sockopts, self._in_binds, self._in_connects),
            (outs, self._out_sockopts, self._out_binds, self._out_connects),
        ):
            for opt, value in opts:
                s.setsockopt(opt, value)
            for a in binds:
                s.bind(a)
            for a in connects:
                s.connect(a)
        return ins, outs

    def run_device(self):
        ins, outs = self._setup_sockets()
        device(self.device_type, ins, outs)

    def run(self):
        try:
            self.run_device()
        except ContextTerminated:
            pass
        except ZMQError as e:
            if e.errno != _c.ENOTSOCK:      # its sockets were closed under it: done
                raise
        finally:
            self.done = True

    def start(self):
        return self.run()

    def join(self, timeout=None):
        pass


class BackgroundDevice(Device):
    _launch_class = None

    def start(self):
        self.launcher = self._launch_class(target=self.run)
        self.launcher.daemon = self.daemon
        return self.launcher.start()

    def join(self, timeout=None):
        return self.launcher.join(timeout=timeout)


class ThreadDevice(BackgroundDevice):
    _launch_class = threading.Thread


class ProcessDevice(BackgroundDevice):
    _launch_class = Process
    context_factory = Context


class Proxy(Device):
    """A device with a capture (monitor) socket too."""

    def __init__(self, in_type, out_type, mon_type=_c.PUB):
        super().__init__(_c.QUEUE, in_type, out_type)
        self.mon_type = mon_type
        self._mon_binds, self._mon_connects, self._mon_sockopts = [], [], []

    def bind_mon(self, addr):
        self._mon_binds.append(addr)

    def connect_mon(self, addr):
        self._mon_connects.append(addr)

    def setsockopt_mon(self, opt, value):
        self._mon_sockopts.append((opt, value))

    def _setup_sockets(self):
        ins, outs = super()._setup_sockets()
        mons = self._context.socket(self.mon_type)
        for opt, value in self._mon_sockopts:
            mons.setsockopt(opt, value)
        for a in self._mon_binds:
            mons.bind(a)
        for a in self._mon_connects:
            mons.connect(a)
        return ins, outs, mons

    def run_device(self):
        ins, outs, mons = self._setup_sockets()
        _proxy(ins, outs, mons)


class ThreadProxy(Proxy, ThreadDevice):
    pass


class ProcessProxy(Proxy, ProcessDevice):
    pass


class ProxySteerable(Proxy):
    """A Proxy with a control socket (PAUSE, RESUME, TERMINATE, STATISTICS)."""

    def __init__(self, in_type, out_type, mon_type=_c.PUB, ctrl_type=None):
        super().__init__(in_type, out_type, mon_type)
        self.ctrl_type = ctrl_type if ctrl_type is not None else _c.PAIR
        self._ctrl_binds, self._ctrl_connects, self._ctrl_sockopts = [], [], []

    def bind_ctrl(self, addr):
        self._ctrl_binds.append(addr)

    def connect_ctrl(self, addr):
        self._ctrl_connects.append(addr)

    def setsockopt_ctrl(self, opt, value):
        self._ctrl_sockopts.append((opt, value))

    def run_device(self):
        ins, outs, mons = self._setup_sockets()
        ctrl = self._context.socket(self.ctrl_type)
        for opt, value in self._ctrl_sockopts:
            ctrl.setsockopt(opt, value)
        for a in self._ctrl_binds:
            ctrl.bind(a)
        for a in self._ctrl_connects:
            ctrl.connect(a)
        _proxy_steerable(ins, outs, mons, ctrl)


class ThreadProxySteerable(ProxySteerable, ThreadDevice):
    pass


class ProcessProxySteerable(ProxySteerable, ProcessDevice):
    pass


class MonitoredQueue(Proxy):
    """A Proxy whose monitor messages are prefixed with in_prefix / out_prefix."""

    def __init__(self, in_type, out_type, mon_type=_c.PUB, in_prefix=b"in", out_prefix=b"out"):
        super().__init__(in_type, out_type, mon_type)
        self._in_prefix, self._out_prefix = in_prefix, out_prefix

    def run_device(self):
        ins, outs, mons = self._setup_sockets()
        monitored_queue(ins, outs, mons, self._in_prefix, self._out_prefix)


class ThreadMonitoredQueue(MonitoredQueue, ThreadDevice):
    pass


class ProcessMonitoredQueue(MonitoredQueue, ProcessDevice):
    pass
