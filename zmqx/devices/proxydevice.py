"""Proxy devices: a Device that also copies every message to a third, monitor socket
(libzmq's zmq_proxy with a capture socket)."""

from .. import constants as _c
from .basedevice import Device, ProcessDevice, ThreadDevice, _Side

__all__ = ["Proxy", "ThreadProxy", "ProcessProxy"]


class ProxyBase:
    """Mixin: the monitor socket (`mon_type`, PUB by default) and its recording methods."""

    def __init__(self, in_type, out_type, mon_type=_c.PUB):
        Device.__init__(self, _c.QUEUE, in_type, out_type)
        self.mon_type = mon_type
        self._sides["mon"] = _Side()

    def bind_mon(self, addr):
        self._sides["mon"].binds.append(addr)

    def connect_mon(self, addr):
        self._sides["mon"].connects.append(addr)

    def setsockopt_mon(self, opt, value):
        self._sides["mon"].sockopts.append((opt, value))

    def bind_mon_to_random_port(self, addr, *args, **kwargs):
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_mon(f"{addr}:{port}")
        return port

    def _setup_sockets(self):
        ins, outs = Device._setup_sockets(self)
        mons = self._make_socket(self.mon_type, "mon")
        return ins, outs, mons

    def run_device(self):
        from .._core.proxy import proxy

        ins, outs, mons = self._setup_sockets()
        proxy(ins, outs, mons)


class Proxy(ProxyBase, Device):
    """A proxy with a monitor socket, run in the calling thread by start()."""


class ThreadProxy(ProxyBase, ThreadDevice):
    """A Proxy in a background thread."""


class ProcessProxy(ProxyBase, ProcessDevice):
    """A Proxy in a child process."""
