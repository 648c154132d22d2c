"""ZMQStream: callbacks for a socket on a tornado IOLoop (pyzmq's zmq.eventloop.zmqstream).

    stream = ZMQStream(sock)
    stream.on_recv(lambda msg: ...)       # every message, as a list of frames
    stream.send_multipart([b"a", b"b"])   # queued; sent from the loop

How it waits: like zmqx.asyncio, without IOLoop.add_handler. The loop's waker thread
(zmqx.asyncio._Waker, one per asyncio loop; tornado >= 5 runs on asyncio) watches the
socket's wake-up fds while the stream wants to receive or has sends queued, and hands the
wake-up to the loop thread, where the stream receives (or sends) until the socket would
block. All socket calls and all callbacks run in the loop thread.
"""

import asyncio
import pickle
import warnings
import weakref
from collections import deque

from tornado.ioloop import IOLoop
from tornado.log import gen_log

import zmqx
from zmqx import constants as _c
from zmqx.asyncio import Socket as _AsyncSocket, _Waker
from zmqx.error import Again, ContextTerminated, ZMQError
from zmqx.utils import jsonapi

__all__ = ["ZMQStream"]

_NOBLOCK = int(_c.NOBLOCK)
_POLLIN = int(_c.POLLIN)
_POLLOUT = int(_c.POLLOUT)

# messages handled per wake-up before the stream lets other callbacks run
_BATCH = 64

# the stream always uses the plain socket calls, even on a subclass (asyncio/future
# sockets return Futures from theirs)
_recv_multipart = zmqx.Socket.recv_multipart
_send_multipart = zmqx.Socket.send_multipart


class ZMQStream:
    """Callbacks for one socket on an IOLoop (default: the current one)."""

    def __init__(self, socket, io_loop=None):
        if isinstance(socket, _AsyncSocket):
            warnings.warn(
                "ZMQStream only supports the base zmq.Socket class: its callbacks get "
                "plain messages, whatever the socket class returns",
                RuntimeWarning,
                stacklevel=2,
            )
            shadow = getattr(zmqx.Socket, "shadow", None)
            if shadow is not None:
                socket = shadow(socket)
        self.socket = socket
        self.io_loop = io_loop or IOLoop.current()
        self._fds = (socket._signaler_fd(), socket._mailbox_fd())
        self._send_queue = deque()
        self._recv_callback = None
        self._send_callback = None
        self._close_callback = None
        self._recv_copy = False
        self._waker = None
        self._scheduled = False
        self._closer = _LoopCloser(self, socket)
        self.io_loop.add_handler(self._closer, _ignore, 0)

        # the socket's own calls, as pyzmq's stream offers them
        self.bind = socket.bind
        self.bind_to_random_port = socket.bind_to_random_port
        self.connect = socket.connect
        self.setsockopt = socket.setsockopt
        self.getsockopt = socket.getsockopt
        self.setsockopt_string = socket.setsockopt_string
        self.getsockopt_string = socket.getsockopt_string
        self.setsockopt_unicode = socket.setsockopt_unicode
        self.getsockopt_unicode = socket.getsockopt_unicode

    def __repr__(self):
        return f"<ZMQStream {self.socket!r}>"

    # -- callbacks ----------------------------------------------------------------
    def on_recv(self, callback, copy=True):
        """Call callback(msg) with every message received (a list of bytes, or of Frames
        with copy=False). None stops receiving; messages then stay queued in the socket."""
        assert callback is None or callable(callback), "callback must be callable"
        self._check_closed()
        self._recv_callback = callback
        self._recv_copy = copy
        self._update()

    def on_recv_stream(self, callback, copy=True):
        """Like on_recv, with callback(stream, msg)."""
        if callback is None:
            self.stop_on_recv()
        else:
            assert callable(callback), "callback must be callable"
            self.on_recv(lambda msg: callback(self, msg), copy=copy)

    def on_send(self, callback):
        """Call callback(msg, status) after each queued message is sent; status is what
        send_multipart returned (a MessageTracker or None), or the ZMQError it raised."""
        assert callback is None or callable(callback), "callback must be callable"
        self._check_closed()
        self._send_callback = callback

    def on_send_stream(self, callback):
        """Like on_send, with callback(stream, msg, status)."""
        if callback is None:
            self.stop_on_send()
        else:
            assert callable(callback), "callback must be callable"
            self.on_send(lambda msg, status: callback(self, msg, status))

    def on_err(self, callback):
        """Deprecated and never called (libzmq sockets report no error events)."""
        warnings.warn("ZMQStream.on_err is deprecated and has no effect",
                      DeprecationWarning, stacklevel=2)

    def stop_on_recv(self):
        self.on_recv(None)

    def stop_on_send(self):
        self.on_send(None)

    def stop_on_err(self):
        warnings.warn("ZMQStream.on_err is deprecated and has no effect",
                      DeprecationWarning, stacklevel=2)

    def set_close_callback(self, callback):
        """Call callback() when the stream is closed."""
        self._close_callback = callback

    # -- sending ----------------------------------------------------------------------
    def send(self, msg, flags=0, copy=True, track=False, callback=None, **kwargs):
        """Queue a one-frame message (see send_multipart)."""
        return self.send_multipart([msg], flags=flags, copy=copy, track=track,
                                   callback=callback, **kwargs)

    def send_multipart(self, msg, flags=0, copy=True, track=False, callback=None, **kwargs):
        """Queue a message; it is sent from the loop. `callback`, if given, becomes the
        on_send callback (as in pyzmq)."""
        self._check_closed()
        kwargs.update(flags=flags, copy=copy, track=track)
        self._send_queue.append((msg, kwargs))
        callback = callback or self._send_callback
        self.on_send(callback if callback is not None else _ignore)
        self._update()

    def send_string(self, u, flags=0, encoding="utf-8", callback=None, **kwargs):
        if not isinstance(u, str):
            raise TypeError("unicode/str objects only")
        return self.send(u.encode(encoding), flags=flags, callback=callback, **kwargs)

    send_unicode = send_string

    def send_json(self, obj, flags=0, callback=None, **kwargs):
        return self.send(jsonapi.dumps(obj), flags=flags, callback=callback, **kwargs)

    def send_pyobj(self, obj, flags=0, protocol=pickle.DEFAULT_PROTOCOL, callback=None,
                   **kwargs):
        return self.send(pickle.dumps(obj, protocol), flags=flags, callback=callback, **kwargs)

    # -- state --------------------------------------------------------------------------
    def receiving(self):
        """True while an on_recv callback is registered."""
        return self._recv_callback is not None

    def sending(self):
        """True while messages wait in the send queue."""
        return bool(self._send_queue)

    def closed(self):
        if self.socket is None:
            return True
        if self.socket.closed:
            self.close()          # closed behind our back: clean up now
            return True
        return False

    def close(self, linger=None):
        """Close the stream and its socket; then call the close callback."""
        if self.socket is None:
            return
        self._unwatch()
        if self._waker is not None:
            self._waker.release_socket(self.socket, self._fds)
        self.io_loop.remove_handler(self._closer)
        if self.socket.closed:
            warnings.warn(
                f"Unregistering FD {self._fds[0]} after closing socket. Close the stream "
                "(stream.close()) rather than its socket.",
                stacklevel=2,
            )
        else:
            self.socket.close(linger)
        self.socket = None
        self._send_queue.clear()
        if self._close_callback:
            self._run_callback(self._close_callback)

    def _check_closed(self):
        if self.socket is None:
            raise OSError("Stream is closed")

    # -- flush ----------------------------------------------------------------------
    def flush(self, flag=_POLLIN | _POLLOUT, limit=None):
        """Handle pending events now instead of from the loop: receive (and pass to the
        on_recv callback, or drop if there is none) and send queued messages until the
        socket would block or `limit` events were handled. Returns how many were."""
        self._check_closed()
        count = 0
        while limit is None or count < limit:
            progressed = False
            if flag & _POLLIN and self._recv_one(self._recv_copy):
                count += 1
                progressed = True
                if self.socket is None:
                    break
                if limit is not None and count >= limit:
                    break
            if flag & _POLLOUT and self._send_queue and self._send_one():
                count += 1
                progressed = True
                if self.socket is None:
                    break
            if not progressed:
                break
        self._update()
        return count

    # -- the machinery ------------------------------------------------------------------
    def _run_callback(self, callback, *args):
        try:
            result = callback(*args)
        except Exception:
            gen_log.error("Uncaught exception in ZMQStream callback", exc_info=True)
            return
        if asyncio.iscoroutine(result) or isinstance(result, asyncio.Future):
            fut = asyncio.ensure_future(result)

            def log_error(f):
                if not f.cancelled() and f.exception() is not None:
                    gen_log.error("Uncaught exception in ZMQStream callback",
                                  exc_info=f.exception())

            fut.add_done_callback(log_error)

    def _recv_one(self, copy):
        """Receive one message for the callback; False if none was waiting."""
        try:
            msg = _recv_multipart(self.socket, _NOBLOCK, copy=copy)
        except Again:
            return False
        if self._recv_callback is not None:
            self._run_callback(self._recv_callback, msg)
        return True

    def _send_one(self):
        """Send the oldest queued message; False if the socket would block."""
        msg, kwargs = self._send_queue[0]
        kwargs = dict(kwargs)
        kwargs["flags"] = int(kwargs.get("flags", 0)) | _NOBLOCK
        try:
            status = _send_multipart(self.socket, msg, **kwargs)
        except Again:
            return False
        except ZMQError as e:
            gen_log.error("SEND Error: %s", e)
            status = e
        self._send_queue.popleft()
        if self._send_callback is not None:
            self._run_callback(self._send_callback, msg, status)
        return True

    def _update(self):
        """Make sure the loop looks at the socket soon if the stream has work."""
        if self.socket is None or self._scheduled:
            return
        if self.receiving() or self.sending():
            self._scheduled = True
            self.io_loop.add_callback(self._handle_events)

    def _handle_events(self):
        # in the loop thread, after a wake-up or a state change
        self._scheduled = False
        sock = self.socket
        if sock is None:
            return
        if sock.closed:
            self.close()
            gen_log.warning("Got events for stream %r attached to closed socket", self)
            return
        # (after a wake-up the waker drained the socket's fds: the attempts below re-arm them)
        busy_in = busy_out = False
        try:
            for _ in range(_BATCH):
                if not self.receiving() or self.socket is None:
                    break
                if not self._recv_one(self._recv_copy):
                    break
            else:
                busy_in = True
            for _ in range(_BATCH):
                if not self._send_queue or self.socket is None:
                    break
                if not self._send_one():
                    break
            else:
                busy_out = bool(self._send_queue)
        except ContextTerminated:
            gen_log.warning("Got events for stream %r after terminating context", self)
            self.closed()
            return
        except ZMQError as e:
            if self.closed():
                gen_log.warning("Got events for stream %r attached to closed socket: %s",
                                self, e)
            else:
                gen_log.error("Error handling events for %r: %s", self, e)
            return
        if self.socket is None:
            return
        if busy_in or busy_out:
            # more is waiting: come back after other callbacks had their turn
            self._scheduled = True
            self.io_loop.add_callback(self._handle_events)
        elif self.receiving() or self.sending():
            self._watch()

    def _watch(self):
        loop = self.io_loop.asyncio_loop
        if self._waker is None or self._waker._loop is not loop:
            self._waker = _Waker.for_loop(loop)
        self._waker.watch_key(self._fds, self._on_wake, self.socket._drain_signaler)

    def _unwatch(self):
        if self._waker is not None:
            self._waker.unwatch_key(self._fds, self._on_wake)

    def _on_wake(self):
        if not self._scheduled:
            self._scheduled = True
            self._handle_events()


def _ignore(*args):
    pass


class _LoopCloser:
    """A stream's entry in its IOLoop's handler table, where pyzmq's ZMQStream registers
    the socket itself: ``IOLoop.close(all_fds=True)`` closes what is registered, so a loop
    closed that way closes its streams' sockets, as with pyzmq. ipykernel relies on it: its
    IOPub thread ends with ``io_loop.close(all_fds=True)`` and never closes its two PULL
    sockets itself, and ``Context.term()`` then waits for them. Registered with no events
    (the loop never polls it: the stream waits through zmqx.asyncio's waker), under a
    negative number, which no real fd can clash with."""

    def __init__(self, stream, socket):
        self._stream = weakref.ref(stream)
        self._socket = socket          # held, as the loop holds pyzmq's registered socket

    def fileno(self):
        return -id(self)

    def close(self):
        stream = self._stream()
        if stream is not None:
            stream.close()
        elif not self._socket.closed:
            self._socket.close()
