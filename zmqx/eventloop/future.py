"""Sockets whose calls return tornado Futures (pyzmq's zmq.eventloop.future).

Since tornado 5, tornado's Future is asyncio's Future and every IOLoop runs an asyncio
loop, so these are zmqx.asyncio's Context, Socket and Poller (same waiting machinery),
except that every call returns a Future at once -- the string/json/pyobj/serialized
helpers too, which tornado code checks with ``f.done()`` before awaiting -- and that
cancelling such a Future cancels the receive under it."""

import json
import pickle
from asyncio import CancelledError  # noqa: F401  (pyzmq's module offers it)

from tornado.ioloop import IOLoop

import zmqx.asyncio as _aio
from zmqx.asyncio import _then

__all__ = ["Context", "Socket", "Poller", "CancelledError"]


def _no_events(fd, events):
    pass


class Socket(_aio.Socket):
    """A zmqx socket whose send/recv/poll (and helpers) return tornado Futures."""

    _io_loop = None

    def _get_loop(self):
        """The current IOLoop; the socket joins its handler table on first use, so that
        IOLoop.close(all_fds=True) closes it, as it closes pyzmq's. It is entered with no
        events: the waiting itself is done by zmqx.asyncio's waker, not by the IOLoop."""
        loop = IOLoop.current()
        if self._io_loop is not loop and not self.closed:
            self._forget_loop()
            loop.add_handler(self, _no_events, 0)
            self._io_loop = loop
        return loop

    def _forget_loop(self):
        if self._io_loop is not None:
            try:
                self._io_loop.remove_handler(self)
            except Exception:          # the loop is closed already
                pass
            self._io_loop = None

    def _loop_waker(self):
        self._get_loop()
        return super()._loop_waker()

    def close(self, linger=None):
        self._forget_loop()
        super().close(linger)

    def recv_string(self, flags=0, encoding="utf-8"):
        return _then(self.recv(flags), lambda b: b.decode(encoding))

    def recv_json(self, flags=0, **kwargs):
        return _then(self.recv(flags), lambda b: json.loads(b, **kwargs))

    def recv_pyobj(self, flags=0):
        return _then(self.recv(flags), pickle.loads)

    def recv_serialized(self, deserialize, flags=0, copy=True):
        return _then(self.recv_multipart(flags, copy=copy), deserialize)

    def send_string(self, u, flags=0, copy=True, encoding="utf-8", **kwargs):
        if not isinstance(u, str):
            raise TypeError("unicode/str objects only")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    send_unicode = send_string
    recv_unicode = recv_string

    def send_json(self, obj, flags=0, **kwargs):
        send_kwargs = {k: kwargs.pop(k) for k in ("routing_id", "group") if k in kwargs}
        return self.send(json.dumps(obj, **kwargs).encode("utf8"), flags=flags, **send_kwargs)

    def send_pyobj(self, obj, flags=0, protocol=pickle.DEFAULT_PROTOCOL, **kwargs):
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    def send_serialized(self, msg, serialize, flags=0, copy=True, **kwargs):
        return self.send_multipart(serialize(msg), flags=flags, copy=copy, **kwargs)


class Context(_aio.Context):
    """A Context whose sockets are tornado-Future sockets."""

    _socket_class = Socket
    _instance = None


class Poller(_aio.Poller):
    """poll() returns a tornado Future of [(socket, events)]."""
