"""gevent-cooperative Context and Socket (pyzmq's zmq.green.core).

A blocking send/recv/poll on these sockets blocks only the calling greenlet. Each call is
tried without blocking first; if it would block, the greenlet waits on the socket's wake-up
fds through gevent's hub (an io watcher each, like any gevent socket) and tries again.
zmqx's FD is level-triggered and its writers signal a reader that armed its pipes by a
failed attempt, so "attempt, then wait, then drain and attempt again" misses no wake-up.
Each wait is also capped (_RECHECK seconds) so that another greenlet draining the same
socket's signal cannot leave this one asleep. RCVTIMEO/SNDTIMEO are honoured, where
pyzmq's zmq.green ignores them: setting or reading them warns (UserWarning, as pyzmq's
green sockets do), since a program written for pyzmq may not expect zmq.Again.

The multipart and string/json/pyobj helpers go through these send/recv (zmqx.Socket
installs Python multipart paths for subclasses that override send/recv)."""

import time
import warnings

from gevent.hub import Waiter, get_hub, getcurrent

import zmqx
from zmqx import constants as _c
from zmqx.error import Again, ZMQError

__all__ = ["_Context", "_Socket"]

_NOBLOCK = int(_c.NOBLOCK)
_RECHECK = 0.5
_TIMEOS = (int(_c.RCVTIMEO), int(_c.SNDTIMEO))
_TIMEO_NOTE = ("RCVTIMEO/SNDTIMEO are honoured by zmqx's green sockets: a blocking call "
               "raises zmq.Again when they expire (pyzmq's zmq.green ignores them)")


def _deadline(timeout_ms):
    # timeout in milliseconds (-1/None: for ever) -> a monotonic deadline or None
    if timeout_ms is None or timeout_ms < 0:
        return None
    return time.monotonic() + timeout_ms / 1000.0


def _wait_fds(fds, events, deadline):
    """Block the current greenlet until one of `fds` is ready for `events` (gevent's
    READ=1/WRITE=2, one per fd) or the deadline (or the recheck cap) passes."""
    hub = get_hub()
    timeout = _RECHECK
    if deadline is not None:
        timeout = min(timeout, max(0.0, deadline - time.monotonic()))
    waiter = Waiter(hub)
    watchers = []
    timer = hub.loop.timer(timeout)
    try:
        for fd, ev in zip(fds, events):
            w = hub.loop.io(fd, ev)
            w.start(waiter.switch, fd)
            watchers.append(w)
        timer.start(waiter.switch, None)
        return waiter.get()
    finally:
        timer.close()
        for w in watchers:
            w.close()


class _Socket(zmqx.Socket):
    """A zmqx socket whose blocking calls yield to other greenlets."""

    _repr_cls = "zmq.green.Socket"

    def _green_wait(self, deadline):
        if self.closed:
            raise ZMQError(_c.ENOTSOCK)
        fds = (self._signaler_fd(), self._mailbox_fd())
        _wait_fds(fds, (1, 1), deadline)
        if self.closed:
            raise ZMQError(_c.ENOTSOCK)
        self._drain_signaler()

    def _green(self, attempt, flags, timeout_opt):
        if flags & _NOBLOCK:
            return attempt(flags)
        deadline = _deadline(zmqx.Socket.get(self, timeout_opt))
        flags |= _NOBLOCK
        while True:
            try:
                return attempt(flags)
            except Again:
                if deadline is not None and time.monotonic() >= deadline:
                    raise
            self._green_wait(deadline)

    def set(self, option, optval):
        if option in _TIMEOS:
            warnings.warn(_TIMEO_NOTE, UserWarning, stacklevel=2)
        return zmqx.Socket.set(self, option, optval)

    def get(self, option):
        if option in _TIMEOS:
            warnings.warn(_TIMEO_NOTE, UserWarning, stacklevel=2)
        return zmqx.Socket.get(self, option)

    setsockopt = set
    getsockopt = get

    def send(self, data, flags=0, copy=True, track=False, **kwargs):
        return self._green(
            lambda f: zmqx.Socket.send(self, data, f, copy, track, **kwargs),
            int(flags), _c.SNDTIMEO)

    def recv(self, flags=0, copy=True, track=False):
        return self._green(
            lambda f: zmqx.Socket.recv(self, f, copy, track), int(flags), _c.RCVTIMEO)

    def poll(self, timeout=None, flags=_c.POLLIN):
        """Wait (cooperatively) up to `timeout` ms for `flags`; returns the events."""
        flags = int(flags)
        deadline = _deadline(timeout)
        while True:
            ev = zmqx.Socket.poll(self, 0, flags)
            if ev or (deadline is not None and time.monotonic() >= deadline):
                return ev
            self._green_wait(deadline)


class _Context(zmqx.Context):
    """A Context whose sockets are gevent-cooperative; term() (which waits for sockets
    to close and lingering messages to go) waits in gevent's thread pool, so the other
    greenlets -- and gevent timeouts -- keep running meanwhile."""

    _socket_class = _Socket
    _instance = None
    _repr_cls = "zmq.green.Context"

    def term(self):
        hub = get_hub()
        if getcurrent() is hub:
            return zmqx.Context.term(self)
        return hub.threadpool.apply(zmqx.Context.term, (self,))
