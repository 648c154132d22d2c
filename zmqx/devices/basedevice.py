"""Device: a relay between two sockets that it creates itself, when it runs, from the
addresses and options recorded beforehand (so it can run in another thread or process).
ThreadDevice and ProcessDevice run it in the background."""

import threading
from multiprocessing import Process

from .. import constants as _c
from ..context import Context
from ..error import ContextTerminated, ZMQBindError, ZMQError

__all__ = ["Device", "ThreadDevice", "ProcessDevice"]


class _Side:
    """What to do to one socket of a device: options, then binds, then connects."""

    def __init__(self):
        self.sockopts, self.binds, self.connects = [], [], []

    def apply(self, sock):
        for opt, value in self.sockopts:
            sock.setsockopt(opt, value)
        for addr in self.binds:
            sock.bind(addr)
        for addr in self.connects:
            sock.connect(addr)
        return sock


class Device:
    """Relay messages between an `in_type` and an `out_type` socket (out_type -1: one
    socket does both). Record addresses with bind_in/connect_out/..., then start()."""

    context_factory = Context.instance

    def __init__(self, device_type=_c.QUEUE, in_type=None, out_type=None):
        if in_type is None or out_type is None:
            raise TypeError("in_type and out_type must be specified")
        self.device_type = device_type
        self.in_type, self.out_type = in_type, out_type
        self._sides = {"in": _Side(), "out": _Side()}
        self._random_addrs = []
        self._sockets = []
        self._context = None
        self.daemon = True
        self.done = False

    # -- recording ------------------------------------------------------------
    def bind_in(self, addr):
        self._sides["in"].binds.append(addr)

    def connect_in(self, addr):
        self._sides["in"].connects.append(addr)

    def setsockopt_in(self, opt, value):
        self._sides["in"].sockopts.append((opt, value))

    def bind_out(self, addr):
        self._sides["out"].binds.append(addr)

    def connect_out(self, addr):
        self._sides["out"].connects.append(addr)

    def setsockopt_out(self, opt, value):
        self._sides["out"].sockopts.append((opt, value))

    def _reserve_random_port(self, addr, *args, **kwargs):
        """A port in the given range (bind_to_random_port's arguments) that is free now
        and not already handed out by this device. The device binds it when it runs."""
        with Context() as ctx, ctx.socket(_c.PUB) as probe:
            for _ in range(100):
                port = probe.bind_to_random_port(addr, *args, **kwargs)
                full = f"{addr}:{port}"
                probe.unbind(probe.get(_c.LAST_ENDPOINT).decode())
                if full not in self._random_addrs:
                    self._random_addrs.append(full)
                    return port
        raise ZMQBindError("Could not reserve random port.")

    def bind_in_to_random_port(self, addr, *args, **kwargs):
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_in(f"{addr}:{port}")
        return port

    def bind_out_to_random_port(self, addr, *args, **kwargs):
        port = self._reserve_random_port(addr, *args, **kwargs)
        self.bind_out(f"{addr}:{port}")
        return port

    # -- running ----------------------------------------------------------------
    def _make_socket(self, sock_type, side):
        sock = self._context.socket(sock_type)
        self._sockets.append(sock)
        return self._sides[side].apply(sock) if side in self._sides else sock

    def _setup_sockets(self):
        self._context = self.context_factory()
        ins = self._make_socket(self.in_type, "in")
        if self.out_type < 0:
            outs = self._sides["out"].apply(ins)      # one socket: both sides' addresses
        else:
            outs = self._make_socket(self.out_type, "out")
        return ins, outs

    def run_device(self):
        """Set the sockets up and relay (blocks until the context terminates)."""
        from .._core.proxy import proxy

        ins, outs = self._setup_sockets()
        proxy(ins, outs)

    def _close_sockets(self):
        for sock in self._sockets:
            if not sock.closed:
                sock.close()
        self._sockets = []

    def run(self):
        try:
            self.run_device()
        except ContextTerminated:
            pass
        except ZMQError as e:
            if e.errno != _c.ENOTSOCK:      # its sockets were closed under it: done
                raise
        finally:
            self._close_sockets()
            self.done = True

    def start(self):
        """Run in the calling thread (ThreadDevice/ProcessDevice run in the background)."""
        return self.run()

    def join(self, timeout=None):
        """Nothing to wait for in the foreground; background devices wait for the end."""


class BackgroundDevice(Device):
    _launch_class = None

    def start(self):
        self.launcher = self._launch_class(target=self.run)
        self.launcher.daemon = self.daemon
        return self.launcher.start()

    def join(self, timeout=None):
        return self.launcher.join(timeout=timeout)


class ThreadDevice(BackgroundDevice):
    """A Device running in a daemon thread (sockets from Context.instance())."""

    _launch_class = threading.Thread


class ProcessDevice(BackgroundDevice):
    """A Device running in a child process, with its own Context."""

    _launch_class = Process
    context_factory = Context
