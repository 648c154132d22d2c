"""gevent-cooperative Poller and select (pyzmq's zmq.green.poll): the wait blocks only
the calling greenlet. Ready sockets are found with a non-blocking zmqx poll; in between,
the greenlet waits on the sockets' wake-up fds and the native fds through gevent's hub."""

import time

import zmqx
from zmqx import constants as _c

from .core import _deadline, _wait_fds

__all__ = ["_Poller", "Poller", "select"]

_POLLIN, _POLLOUT, _POLLERR = int(_c.POLLIN), int(_c.POLLOUT), int(_c.POLLERR)


def _watch_list(items):
    """(fds, gevent events) to wait on for [(socket or fd, flags)]."""
    fds, events = [], []
    for obj, flags in items:
        if isinstance(obj, zmqx.Socket):
            # wake-ups for both directions arrive on these, as readability
            fds += [obj._signaler_fd(), obj._mailbox_fd()]
            events += [1, 1]
            continue
        fd = obj if isinstance(obj, int) else obj.fileno()
        ev = (1 if flags & (_POLLIN | _POLLERR) else 0) | (2 if flags & _POLLOUT else 0)
        if ev:
            fds.append(fd)
            events.append(ev)
    return fds, events


class _Poller(zmqx.Poller):
    """A Poller whose poll(timeout_ms) yields to other greenlets while it waits."""

    def poll(self, timeout=None):
        deadline = _deadline(-1 if timeout is None else timeout)
        while True:
            ready = zmqx.Poller.poll(self, 0)
            if ready or (deadline is not None and time.monotonic() >= deadline):
                return ready
            fds, events = _watch_list(self.sockets)
            if fds:
                _wait_fds(fds, events, deadline)
            else:
                _wait_fds([], [], deadline)
            for obj, _ in self.sockets:
                if isinstance(obj, zmqx.Socket) and not obj.closed:
                    obj._drain_signaler()


Poller = _Poller


def select(rlist, wlist, xlist, timeout=None):
    """select() over sockets and fds that yields to other greenlets; timeout in seconds."""
    poller = _Poller()
    for obj in set(rlist) | set(wlist) | set(xlist):
        flags = ((_POLLIN if obj in rlist else 0) | (_POLLOUT if obj in wlist else 0)
                 | (_POLLERR if obj in xlist else 0))
        poller.register(obj, flags)
    ready = poller.poll(None if timeout is None else int(timeout * 1000))
    rl = [s for s, ev in ready if ev & _POLLIN]
    wl = [s for s, ev in ready if ev & _POLLOUT]
    xl = [s for s, ev in ready if ev & _POLLERR]
    return rl, wl, xl
