"""Poller and select over zmqx sockets and native file descriptors."""

from __future__ import annotations

from typing import Any

from ._core.poll import zmq_poll as _zmq_poll
from ._core.socket import Socket as _Socket
from .constants import POLLERR, POLLIN, POLLOUT


class Poller:
    """Register sockets, fds or objects with fileno(); poll(timeout_ms) returns
    [(obj, events)] for those ready."""

    def __init__(self) -> None:
        self.sockets: list[tuple[Any, int]] = []
        self._map: dict[Any, int] = {}

    def __contains__(self, socket: Any) -> bool:
        return socket in self._map

    def register(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        if flags:
            if socket in self._map:
                self.sockets[self._map[socket]] = (socket, flags)
            else:
                self._map[socket] = len(self.sockets)
                self.sockets.append((socket, flags))
            return
        if socket in self._map:
            self.unregister(socket)

    def modify(self, socket: Any, flags: int = POLLIN | POLLOUT) -> None:
        self.register(socket, flags)

    def unregister(self, socket: Any) -> None:
        idx = self._map.pop(socket)
        self.sockets.pop(idx)
        for s, i in self._map.items():
            if i > idx:
                self._map[s] = i - 1

    def poll(self, timeout: int | float | None = None) -> list[tuple[Any, int]]:
        if timeout is None or timeout < 0:
            timeout = -1
        ready = _zmq_poll(self.sockets, int(timeout))
        # as pyzmq: objects registered through their fileno() come back as that fd
        return [(s if isinstance(s, (int, _Socket)) else s.fileno(), ev) for s, ev in ready]


def select(rlist: list[Any], wlist: list[Any], xlist: list[Any],
           timeout: float | None = None) -> tuple[list[Any], list[Any], list[Any]]:
    """select-like wait over sockets and fds; timeout in seconds."""
    if timeout is None:
        timeout = -1
    else:
        timeout = int(timeout * 1000.0)
    sockets = []
    for s in set(rlist + wlist + xlist):
        flags = 0
        if s in rlist:
            flags |= POLLIN
        if s in wlist:
            flags |= POLLOUT
        if s in xlist:
            flags |= POLLERR
        sockets.append((s, flags))
    ready = [(s if isinstance(s, (int, _Socket)) else s.fileno(), ev)
             for s, ev in _zmq_poll(sockets, timeout)]
    rl: list[Any] = []
    wl: list[Any] = []
    xl: list[Any] = []
    for s, flags in ready:
        if flags & POLLIN:
            rl.append(s)
        if flags & POLLOUT:
            wl.append(s)
        if flags & POLLERR:
            xl.append(s)
    return rl, wl, xl


zmq_poll = _zmq_poll
