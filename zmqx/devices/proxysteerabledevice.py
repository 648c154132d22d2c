"""Steerable proxy devices: a Proxy with a control socket that takes PAUSE, RESUME,
TERMINATE and STATISTICS (libzmq's zmq_proxy_steerable)."""

from .. import constants as _c
from .basedevice import _Side
from .proxydevice import Proxy, ProcessProxy, ProxyBase, ThreadProxy

__all__ = ["ProxySteerable", "ThreadProxySteerable", "ProcessProxySteerable"]


class ProxySteerableBase:
    """Mixin: the control socket (`ctrl_type`, PAIR by default) and its recording methods."""

    def __init__(self, in_type, out_type, mon_type=_c.PUB, ctrl_type=None):
        ProxyBase.__init__(self, in_type, out_type, mon_type)
        self.ctrl_type = _c.PAIR if ctrl_type is None else ctrl_type
        self._sides["ctrl"] = _Side()

    def bind_ctrl(self, addr):
        self._sides["ctrl"].binds.append(addr)

    def connect_ctrl(self, addr):
        self._sides["ctrl"].connects.append(addr)

    def setsockopt_ctrl(self, opt, value):
        self._sides["ctrl"].sockopts.append((opt, value))

    def bind_ctrl_to_random_port(self, addr, *args, **kwargs):
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_ctrl(f"{addr}:{port}")
        return port

    def _setup_sockets(self):
        ins, outs, mons = ProxyBase._setup_sockets(self)
        ctrl = self._make_socket(self.ctrl_type, "ctrl")
        return ins, outs, mons, ctrl

    def run_device(self):
        from .._core.proxy import proxy_steerable

        ins, outs, mons, ctrl = self._setup_sockets()
        proxy_steerable(ins, outs, mons, ctrl)


class ProxySteerable(ProxySteerableBase, Proxy):
    """A steerable proxy run in the calling thread by start()."""


class ThreadProxySteerable(ProxySteerableBase, ThreadProxy):
    """A ProxySteerable in a background thread."""


class ProcessProxySteerable(ProxySteerableBase, ProcessProxy):
    """A ProxySteerable in a child process."""
