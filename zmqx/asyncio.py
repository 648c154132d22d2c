"""asyncio API (pyzmq's zmq.asyncio): Context, Socket and Poller whose send/recv/poll
return Futures.

Differences from pyzmq, on purpose:
- A socket's readiness reaches the loop through its own add_reader where the loop has
  one (selector loops, uvloop): registered at the socket's first wait and kept until it
  is closed or collected (held weakly), so a wait costs no epoll_ctl. Loops without
  add_reader (the Proactor loop on Windows) get one waker thread per loop that waits
  (GIL released) on the fds of sockets with pending futures and calls
  loop.call_soon_threadsafe once per wake-up. Either way only the loop thread drains a
  socket's wake-up fds.
- Each call first tries the operation without waiting; only if it would block is a
  future queued. A call that completes at once returns a Ready (zmqx._core.ready): an
  already-completed awaitable with the Future methods, cheaper than a loop Future. A
  wake-up then serves every queued future it can, in order.
- Batches: recv_many/recv_multipart_many take everything queued (up to a limit) in one
  await; send_many sends a list in one await.
- A cancelled recv never loses a message: messages are taken from the socket only in the
  loop thread and only for a future that is still pending.
"""

from __future__ import annotations

import asyncio
import collections
import os
import select
import threading
import weakref
from typing import TYPE_CHECKING, Any, Callable, Sequence, TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

    from zmqx._core.msg import MessageTracker

_T = TypeVar("_T")

import zmqx as _zmq
from zmqx.constants import POLLIN as _POLLIN_E, RCVTIMEO, SNDTIMEO

# plain ints: IntFlag arithmetic costs more than the operations it decorates
DONTWAIT = 1
POLLIN = int(_POLLIN_E)
_get_running_loop_or_none = asyncio._get_running_loop   # no exception when there is none
_core_recv = _zmq.Socket.recv
_core_recv_multipart = _zmq.Socket.recv_multipart
_core_send = _zmq.Socket.send
_core_send_multipart = _zmq.Socket.send_multipart
_core_recv_into = _zmq.Socket.recv_into
_core_get = _zmq.Socket.get
_EVENTS = int(_zmq.EVENTS)
_POLLIN_I, _POLLOUT_I, _POLLERR_I = int(_zmq.POLLIN), int(_zmq.POLLOUT), int(_zmq.POLLERR)
from zmqx._core import ready as _ready_mod
from zmqx._core.context import _env_spin_ns
from time import monotonic as _monotonic
_spin_poll = _ready_mod.spin_poll
_SPIN_S = _env_spin_ns() / 1e9    # the waker's spin after traffic: the process default
from zmqx._core.ready import Ready, ready as _ready, ready_error as _ready_error
_enqueue = _ready_mod.enqueue
from zmqx.error import Again, ZMQError

__all__ = ["Context", "Socket", "Poller", "Ready"]

_RECV, _RECV_MULTIPART, _SEND, _SEND_MULTIPART, _POLL, _RECV_MANY, _SEND_MANY, _RECV_INTO = range(8)
_IN_KINDS = (_RECV, _RECV_MULTIPART, _RECV_MANY, _RECV_INTO)


class _Waker:
    """One per event loop: reports each ready fd once to the callbacks registered for it
    (one-shot). Direct mode uses the loop's add_reader; thread mode (loops without it) a
    thread that exits when nothing is watched (so it never outlives its loop) and is
    started again on demand.

    A zmqx socket is watched as a unit (its signaler and mailbox fds), and only here is it
    drained: in the loop thread, just before every callback watching it runs. Everyone who
    waits on a socket re-checks it after that drain, so no wake-up meant for one of them
    can be swallowed by another (a drain in one watcher's callback could take the signal
    that a second watcher, still waiting, was about to see)."""

    _by_loop = weakref.WeakKeyDictionary()
    _lock = threading.Lock()

    @classmethod
    def for_loop(cls, loop):
        with cls._lock:
            w = cls._by_loop.get(loop)
            if w is None:
                w = cls._by_loop[loop] = cls(loop)
            return w

    def __init__(self, loop):
        # a weak reference: _by_loop is keyed weakly by the loop, so a strong one here would
        # keep every loop (and this waker's pipe) alive for ever
        self._loop_ref = weakref.ref(loop)
        self._watch = {}              # key -> [callbacks]; key: an fd, or a socket's fd pair
        self._drains = {}             # socket key -> its _drain_signaler
        self._mutex = threading.Lock()
        self._thread = None
        self._fired_at = 0.0          # when callbacks last fired (spin after traffic)
        # direct mode: the loop's own add_reader watches the fds (no thread, no hop through
        # call_soon_threadsafe); None until the first watch finds out whether the loop can
        self._direct = None
        self._readers = {}            # direct mode: fd -> the key it was registered for
        self._owners = {}             # direct mode: socket key -> weakref to its socket
        self._r = self._w = -1

    @property
    def _loop(self):
        return self._loop_ref()

    def watch(self, fd, callback):
        """callback() once, in the loop thread, when the native fd is readable."""
        self.watch_key(fd, callback, None)

    def unwatch(self, fd, callback=None):
        self.unwatch_key(fd, callback)

    def watch_socket(self, sock, callback, first=False):
        """callback() once, in the loop thread, after sock may have become ready (and its
        wake-up fds were drained). first: called before the callbacks already watching
        (a Poller's check looks before a pending recv takes the message it would report)."""
        self.watch_key((sock._signaler_fd(), sock._mailbox_fd()), callback,
                       sock._drain_signaler, first)

    def unwatch_socket(self, sock, callback=None):
        self.unwatch_key((sock._signaler_fd(), sock._mailbox_fd()), callback)

    def watch_key(self, key, callback, drain, first=False):
        # key: an fd, or a socket's (signaler fd, mailbox fd) with drain its _drain_signaler
        if self._direct is not False:
            loop = self._loop
            if loop is not None and _get_running_loop_or_none() is loop:
                if self._watch_direct(loop, key, callback, drain, first):
                    return
            elif self._direct and loop is not None:
                # another thread (rare: the API is the loop thread's): hand it over
                loop.call_soon_threadsafe(self.watch_key, key, callback, drain, first)
                return
        with self._mutex:
            if self._r < 0:
                self._r, self._w = os.pipe()
                os.set_blocking(self._r, False)
                os.set_blocking(self._w, False)
                # closed once nothing uses this waker; not at interpreter exit, where the
                # finalizer would close the pipe under the still-running daemon thread
                weakref.finalize(self, _close_fds, self._r, self._w).atexit = False
            _add_callback(self._watch.setdefault(key, []), callback, first)
            if drain is not None:
                self._drains[key] = drain
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="zmqx-asyncio-waker",
                                                daemon=True)
                self._thread.start()
                return
        self._poke()

    def unwatch_key(self, key, callback):
        if self._direct:
            loop = self._loop
            if loop is None or loop.is_closed():
                with self._mutex:
                    self._watch.pop(key, None)
                    self._owners.pop(key, None)
                return
            if _get_running_loop_or_none() is not loop:
                loop.call_soon_threadsafe(self.unwatch_key, key, callback)
                return
            with self._mutex:
                cbs = self._watch.get(key)
                if cbs is not None:
                    if callback is not None and callback in cbs:
                        cbs.remove(callback)
                    if callback is None or not cbs:
                        del self._watch[key]
                gone = key not in self._watch
            if gone and key not in self._owners:
                self._unregister(loop, key)   # a native fd: watched only while waited on
            return
        with self._mutex:
            cbs = self._watch.get(key)
            if cbs is None:
                return
            if callback is not None and callback in cbs:
                cbs.remove(callback)
            if callback is None or not cbs:
                del self._watch[key]
                self._drains.pop(key, None)
        self._poke()

    def release_socket(self, sock, key=None):
        """sock is closing: stop watching its fds now (direct mode: the selector must not
        keep a record of files about to close); watchers still registered get one last
        call, a turn later, and find the socket closed."""
        if not self._direct:
            return                    # the thread polls only what is waited on
        if key is None:
            key = (sock._signaler_fd(), sock._mailbox_fd())
        loop = self._loop
        if loop is None or loop.is_closed():
            return
        if _get_running_loop_or_none() is not loop:
            loop.call_soon_threadsafe(self.release_socket, sock, key)
            return
        with self._mutex:
            cbs = self._watch.pop(key, None)
        owner = self._owners.get(key)
        if owner is not None and owner() is sock:
            self._unregister(loop, key)
        for cb in cbs or ():
            loop.call_soon(cb)

    # -- direct mode: the loop's add_reader (selector loops, uvloop) ---------------------
    # A socket's fds stay registered while the socket is open (a wait costs no epoll_ctl),
    # holding the socket only weakly: its close (release_socket) or its collection
    # (a weakref callback, which runs before its fds close) removes them. A native fd is
    # registered only while someone waits on it: nobody drains it, so an unwatched
    # readable one would wake the loop on every turn.
    def _watch_direct(self, loop, key, callback, drain, first):
        """Watch key with the loop's own readers; False if this loop has none (Proactor,
        loops without add_reader), which puts this waker in thread mode for good."""
        fds = key if type(key) is tuple else (key,)
        if drain is not None:
            ref = self._owners.get(key)
            if ref is None or ref() is not drain.__self__:
                if ref is not None:
                    # the same fd numbers, another socket: the first one's fds were closed
                    # and reused before its release got here; register afresh, so the
                    # selector looks at the new files and not at its record of the old
                    self._unregister(loop, key)
                sock = drain.__self__
                self._owners[key] = weakref.ref(sock, self._socket_gone(key))
        for fd in fds:
            if self._readers.get(fd) != key:
                try:
                    loop.add_reader(fd, self._on_readable, key)
                except NotImplementedError:
                    if self._direct is None:
                        self._owners.pop(key, None)
                        self._direct = False
                        return False
                    raise
                except (OSError, ValueError):
                    continue              # a closed fd: its socket's close wakes the waiters
                self._readers[fd] = key
        self._direct = True
        with self._mutex:
            _add_callback(self._watch.setdefault(key, []), callback, first)
        return True

    def _socket_gone(self, key):
        # the weakref callback for a registered socket; holds neither the loop nor the
        # waker (the waker keeps it, and _by_loop must be able to let the loop go)
        wself = weakref.ref(self)

        def gone(ref):
            waker = wself()
            loop = waker._loop if waker is not None else None
            if loop is None or loop.is_closed() or waker._owners.get(key) is not ref:
                return
            if _get_running_loop_or_none() is loop:
                waker._unregister(loop, key)
            else:
                try:
                    loop.call_soon_threadsafe(waker._unregister_if, loop, key, ref)
                except RuntimeError:
                    pass
        return gone

    def _unregister_if(self, loop, key, ref):
        if self._owners.get(key) is ref:
            self._unregister(loop, key)

    # the loop's reader callback (direct mode): drain, then fire the watchers (as
    # _fire_all), each one-shot. Compiled (zmqx/_core/ready.pyx), with a short cut for
    # the socket watches it serves (ready.pyx _watch_socket)
    _on_readable = _ready_mod.waker_on_readable

    def _unregister(self, loop, key):
        self._owners.pop(key, None)
        for fd in (key if type(key) is tuple else (key,)):
            if self._readers.get(fd) == key:
                del self._readers[fd]
                try:
                    loop.remove_reader(fd)
                except (OSError, ValueError, RuntimeError):
                    pass

    def _poke(self):
        if self._w < 0:
            return                    # no thread was ever started
        try:
            os.write(self._w, b"x")   # make the thread re-read the set
        except BlockingIOError:
            pass

    def _run(self):
        while True:
            with self._mutex:
                loop = self._loop
                if not self._watch or loop is None or loop.is_closed():
                    self._thread = None
                    return
                owner = {}                # fd -> its key
                for key in self._watch:
                    if type(key) is tuple:
                        for fd in key:
                            owner[fd] = key
                    else:
                        owner[key] = key
                del loop                  # hold no reference to the loop while waiting
            p = select.poll()
            p.register(self._r, select.POLLIN)
            for fd in owner:
                try:
                    p.register(fd, select.POLLIN)
                except (OSError, ValueError):
                    pass
            timeout = 200
            if _SPIN_S and len(owner) < 8 and _monotonic() - self._fired_at < _SPIN_S:
                # traffic a moment ago: look again without sleeping for a while, as the
                # I/O threads do (docs/performance.md, "Waiting"), GIL released
                try:
                    if _spin_poll([self._r, *owner], _SPIN_S):
                        timeout = 0
                except (OSError, ValueError):
                    pass
            try:
                ready = p.poll(timeout)
            except InterruptedError:
                continue
            fire = []
            with self._mutex:
                for fd, ev in ready:
                    if fd == self._r:
                        try:
                            os.read(self._r, 4096)
                        except BlockingIOError:
                            pass
                        except OSError:       # the pipe is gone: nothing can wake us
                            self._thread = None
                            return
                        continue
                    key = owner.get(fd)
                    cbs = self._watch.pop(key, None)
                    if cbs:
                        fire.append((self._drains.pop(key, None), cbs))
            loop = self._loop
            if fire:
                self._fired_at = _monotonic()
            if fire and loop is not None:
                try:
                    loop.call_soon_threadsafe(_fire_all, fire)
                except RuntimeError:          # the loop was closed meanwhile
                    with self._mutex:
                        self._watch.clear()
                        self._drains.clear()


def _add_callback(cbs, callback, first):
    if callback not in cbs:
        if first:
            cbs.insert(0, callback)
        else:
            cbs.append(callback)


def _close_fds(*fds):
    for fd in fds:
        try:
            os.close(fd)
        except OSError:
            pass


def _fire_all(batches):
    for drain, callbacks in batches:
        if drain is not None:
            try:
                drain()           # before any of the watchers looks: see _Waker
            except Exception:
                pass              # a closed socket: its watchers find out themselves
        for cb in callbacks:
            cb()


class Socket(_zmq.Socket["asyncio.Future[Any]"]):
    """A zmqx socket whose send/recv/poll return asyncio Futures."""

    def __init__(self, context: Any = None, socket_type: int = -1, io_loop: Any = None,
                 **kwargs: Any) -> None:
        super().__init__(context, socket_type, **kwargs)
        self._waiters = collections.deque()     # (future, kind, args), in call order
        self._waker = None
        self._watching = False

    @classmethod
    def from_socket(cls, socket: _zmq.Socket[Any], io_loop: Any = None) -> Self:
        """An asyncio handle on an existing (e.g. blocking) socket: a shadow of it."""
        return cls.shadow(socket)

    # -- plumbing ------------------------------------------------------------
    def _loop_waker(self):
        loop = asyncio.get_running_loop()
        if self._waker is None or self._waker._loop is not loop:
            # first use, or the socket moved to another event loop
            self._waker = _Waker.for_loop(loop)
            self._watching = False
        return self._waker

    # compiled (zmqx/_core/ready.pyx): watch the socket for the waiting queue, and the
    # waker's call that serves the queue in order
    _watch = _ready_mod.watch
    _on_ready = _ready_mod.on_ready

    def _purge(self):
        # futures that were cancelled or timed out no longer hold a place in the queue
        while self._waiters and self._waiters[0][0].done():
            self._waiters.popleft()

    def _attempt(self, kind, args):
        flags = args[1] | DONTWAIT
        if kind == _RECV:
            return _core_recv(self, flags, args[2], args[3])
        if kind == _RECV_MULTIPART:
            return _core_recv_multipart(self, flags, args[2], args[3])
        if kind == _SEND:
            return _core_send(self, args[0], flags, args[2], args[3])
        if kind == _SEND_MULTIPART:
            return _core_send_multipart(self, args[0], flags, args[2], args[3])
        if kind == _RECV_INTO:
            # args = (buffer, flags, nbytes)
            return _core_recv_into(self, args[0], nbytes=args[2], flags=flags)
        if kind == _RECV_MANY:
            # args = (max, flags, copy, track, multipart)
            return self._take_many(args[0], flags, args[2], args[3], args[4])
        if kind == _SEND_MANY:
            # args = ([messages, next index], flags, copy, track)
            return self._give_many(args[0], flags, args[2], args[3])
        # poll: args = (None, 0, poll flags)
        ev = _zmq.Socket.poll(self, 0, args[2])
        if not ev:
            raise Again()
        return ev

    def _forget(self, fut):
        # a cancelled future leaves the queue at once: nothing piles up on a socket that
        # stays quiet (the waker's one-shot watch needs no undoing)
        if fut.cancelled():
            for i, w in enumerate(self._waiters):
                if w[0] is fut:
                    del self._waiters[i]
                    break

    @property
    def _recv_futures(self):
        """The pending futures that wait to receive (recv*, POLLIN polls), in order."""
        return [w[0] for w in self._waiters
                if not w[0].done() and (w[1] in _IN_KINDS or (w[1] == _POLL and w[2][2] & POLLIN))]

    @property
    def _send_futures(self):
        """The pending futures that wait to send (send*, POLLOUT-only polls), in order."""
        return [w[0] for w in self._waiters
                if not w[0].done() and not (w[1] in _IN_KINDS
                                            or (w[1] == _POLL and w[2][2] & POLLIN))]

    def _chain(self, inner, convert):
        # a Future of convert(inner's result): what recv_string/json/pyobj/serialized
        # return (a Future, not a coroutine, as pyzmq's). Cancelling it cancels the
        # receive, so a cancelled recv_json never takes a message
        if isinstance(inner, Ready):
            try:
                return _ready(convert(inner.result()))
            except Exception as e:
                return _ready_error(e)
        return _then(inner, convert)

    def _fail_all(self, exc):
        while self._waiters:
            fut, _, _ = self._waiters.popleft()
            if not fut.done():
                fut.set_exception(exc)

    # recv_many/send_many's loops, compiled (zmqx/_core/ready.pyx): take everything queued
    # up to a limit (Again only if nothing was), and send from a saved index on (Again
    # when the socket pushes back, the index counting what went out)
    _take_many = _ready_mod.take_many
    _give_many = _ready_mod.give_many

    def _queue(self, kind, args, timeout_opt, timeout=None):
        self._purge()
        if not self._waiters or args[1] & DONTWAIT:
            # the fast path: no future waits ahead of us (or NOBLOCK), so just try
            try:
                return _ready(self._attempt(kind, args))
            except Again as e:
                if args[1] & DONTWAIT:
                    return _ready_error(e)
            except Exception as e:
                return _ready_error(e)
        return _enqueue(self, kind, args, timeout_opt, timeout)

    # -- the API ---------------------------------------------------------------
    # recv and send keep their try-at-once paths inline, and return a Ready instead of a
    # loop Future when they complete at once: a helper layer or a Future costs as much as
    # the operation itself (profile in bench/README.md)
    def _recv_py(self, flags=0, copy=True, track=False):
        if self._waiters:
            self._purge()
        if not self._waiters:
            # hot path: a message is usually there already
            try:
                return _ready(_core_recv(self, int(flags) | DONTWAIT if flags else DONTWAIT,
                                         copy, track))
            except Again as e:
                if flags & DONTWAIT:
                    return _ready_error(e)
            except Exception as e:
                return _ready_error(e)
        return self._queue(_RECV, (None, int(flags), copy, track), RCVTIMEO)

    # the same, compiled (zmqx/_core/ready.pyx): these are what recv() and send() run;
    # they fall back to the two above when a call has to wait
    if TYPE_CHECKING:
        # what type checkers see of the compiled recv/send below (Ready or Future)
        def recv(self, flags: int = 0, copy: bool = True,  # type: ignore[override]
                 track: bool = False) -> asyncio.Future[Any]: ...

        def send(self, data: Any, flags: int = 0, copy: bool = True,  # type: ignore[override]
                 track: bool = False, **kwargs: Any) -> asyncio.Future[Any]: ...

        # zmqx.Socket's helpers, which end in self.send: here they return its Future
        def send_string(self, u: str, flags: int = 0,  # type: ignore[override]
                        copy: bool = True, encoding: str = "utf-8",
                        **kwargs: Any) -> asyncio.Future[MessageTracker | None]: ...

        def send_json(self, obj: Any, flags: int = 0,  # type: ignore[override]
                      **kwargs: Any) -> asyncio.Future[MessageTracker | None]: ...

        def send_pyobj(self, obj: Any, flags: int = 0,  # type: ignore[override]
                       protocol: int = ...,
                       **kwargs: Any) -> asyncio.Future[MessageTracker | None]: ...

        def send_serialized(self, msg: _T,  # type: ignore[override]
                            serialize: Callable[[_T], Sequence[Any]], flags: int = 0,
                            copy: bool = True,
                            **kwargs: Any) -> asyncio.Future[MessageTracker | None]: ...
    else:
        recv = _ready_mod.aio_recv
        send = _ready_mod.aio_send

    def recv_multipart(self, flags: int = 0, copy: bool = True,  # type: ignore[override]
                       track: bool = False) -> asyncio.Future[list[Any]]:
        return self._queue(_RECV_MULTIPART, (None, int(flags), copy, track), RCVTIMEO)

    def recv_many(self, max: int = 1000, flags: int = 0, copy: bool = True, track: bool = False,
                  timeout: int | None = None) -> asyncio.Future[list[Any]]:
        """Await at least one frame, then return every frame queued, up to `max`, as a
        list in arrival order (what `max` calls of recv() would return, without their
        awaits). `timeout` (ms; default RCVTIMEO) bounds the wait for the first one:
        past it, Again. With NOBLOCK, Again at once when nothing is queued."""
        return self._queue(_RECV_MANY, (_check_max(max), int(flags), copy, track, False),
                           RCVTIMEO, timeout)

    def recv_multipart_many(self, max: int = 1000, flags: int = 0, copy: bool = True,
                            track: bool = False,
                            timeout: int | None = None) -> asyncio.Future[list[list[Any]]]:
        """recv_many for whole messages: a list of up to `max` messages, each a list of
        frames as recv_multipart returns it."""
        return self._queue(_RECV_MANY, (_check_max(max), int(flags), copy, track, True),
                           RCVTIMEO, timeout)

    def _send_py(self, data, flags=0, copy=True, track=False, **kwargs):
        if self._waiters:
            self._purge()
        if not self._waiters:
            try:
                return _ready(_core_send(self, data, int(flags) | DONTWAIT if flags else DONTWAIT,
                                         copy, track))
            except Again as e:
                if flags & DONTWAIT:
                    return _ready_error(e)
            except Exception as e:
                return _ready_error(e)
        return self._queue(_SEND, (data, int(flags), copy, track), SNDTIMEO)

    def send_multipart(self, msg_parts: Sequence[Any], flags: int = 0,  # type: ignore[override]
                       copy: bool = True, track: bool = False,
                       **kwargs: Any) -> asyncio.Future[MessageTracker | None]:
        return self._queue(_SEND_MULTIPART, (list(msg_parts), int(flags), copy, track), SNDTIMEO)

    def send_many(self, msgs: Sequence[Any], flags: int = 0, copy: bool = True,
                  track: bool = False, timeout: int | None = None) -> asyncio.Future[None]:
        """Send every message of `msgs` in order in one await: an item is one frame
        (bytes, a buffer, a Frame) or a list/tuple of frames (sent as send_multipart).
        Waits for room as needed; `timeout` (ms; default SNDTIMEO) bounds the wait for
        room, past it Again. With NOBLOCK, Again at once if not everything fits. On
        Again or cancellation a prefix of `msgs` has been sent (never part of a
        multipart message), and the rest has not."""
        return self._queue(_SEND_MANY, ([list(msgs), 0], int(flags), copy, track),
                           SNDTIMEO, timeout)

    def poll(self, timeout: int | None = None,  # type: ignore[override]
             flags: int = POLLIN) -> asyncio.Future[int]:
        loop = asyncio.get_running_loop()
        ev = _zmq.Socket.poll(self, 0, flags)
        if ev or timeout == 0:
            fut = loop.create_future()
            fut.set_result(ev)
            return fut
        fut = self._queue(_POLL, (None, 0, int(flags)), None)
        if isinstance(fut, Ready):
            return fut
        if timeout is not None and timeout >= 0:
            loop.call_later(timeout / 1000.0, _resolve, fut, 0)
        return fut

    def recv_into(self, buffer: Any, /, *, nbytes: int = 0,  # type: ignore[override]
                  flags: int = 0) -> asyncio.Future[int]:
        """A Future of the frame's size; the frame is stored into `buffer` (see
        zmqx.Socket.recv_into)."""
        return self._queue(_RECV_INTO, (buffer, int(flags), nbytes), RCVTIMEO)

    # the send_* helpers are zmqx.Socket's: they end in self.send, which returns a Future.
    # The recv_* helpers return a Future of the decoded value
    def recv_string(self, flags: int = 0,  # type: ignore[override]
                    encoding: str = "utf-8") -> asyncio.Future[str]:
        return self._chain(self.recv(flags), lambda b: b.decode(encoding))

    def recv_json(self, flags: int = 0,  # type: ignore[override]
                  **kwargs: Any) -> asyncio.Future[Any]:
        import json

        return self._chain(self.recv(flags), lambda b: json.loads(b, **kwargs))

    def recv_pyobj(self, flags: int = 0) -> asyncio.Future[Any]:  # type: ignore[override]
        import pickle

        return self._chain(self.recv(flags), pickle.loads)

    def recv_serialized(self, deserialize: Callable[[list[Any]], _T],  # type: ignore[override]
                        flags: int = 0, copy: bool = True) -> asyncio.Future[_T]:
        return self._chain(self.recv_multipart(flags, copy=copy), deserialize)

    def close(self, linger: int | None = None) -> None:
        if not self.closed:
            if self._waker is not None:
                self._waker.unwatch_socket(self, self._on_ready)
                self._waker.release_socket(self)
            super().close(linger)
            for fut, _, _ in list(self._waiters):
                if not fut.done():
                    try:
                        fut.cancel()
                    except RuntimeError:      # its event loop is closed already
                        pass
            self._waiters.clear()


_ready_mod.bind_core(_core_recv, _core_send, Again, ZMQError)
_ready_mod.bind_multipart(_core_recv_multipart, _core_send_multipart)


def _check_max(n):
    n = int(n)
    if n < 1:
        raise ValueError(f"max must be at least 1, not {n}")
    return n


def _expire(fut):
    if not fut.done():
        fut.set_exception(Again())


def _resolve(fut, value):
    if not fut.done():
        fut.set_result(value)


_ready_mod.bind_wait(_expire, int(RCVTIMEO), int(SNDTIMEO), int(_zmq.ENOTSOCK), POLLIN)


class Context(_zmq.Context[Socket]):
    """A zmqx Context whose sockets are asyncio sockets."""

    def __init__(self, io_threads: int | _zmq.Context[Any] = 1,
                 shadow: _zmq.Context[Any] | int = 0, **kwargs: Any) -> None:
        super().__init__(io_threads, shadow, **kwargs)  # type: ignore[misc,call-overload]

    _socket_class = Socket
    _instance = None


def _ready_now(items):
    """[(obj, events)] for the registered items that are ready now, consuming no wake-up.

    The sync zmq_poll(timeout=0) will not do here: it arms each socket, then polls its
    signaler fd and drains it if set, and with no time left returns without looking at
    that socket again. A message that lands between the arm and the drain then has its
    wake-up swallowed, and the waker thread, waiting on that very fd for us, never hears
    of it. Reading EVENTS arms the socket the same way but leaves its fds alone, so a
    message after the arm stays announced on the fd until the waker sees it."""
    out = []
    native = None
    for obj, flags in items:
        if isinstance(obj, _zmq.Socket):
            ev = _core_get(obj, _EVENTS) & flags
            if ev:
                out.append((obj, ev))
            continue
        # a native fd (or an object with fileno()): a poll(2) of it with no wait
        fd = obj if isinstance(obj, int) else obj.fileno()
        if native is None:
            native = {}
        native[fd] = native.get(fd, 0) | (select.POLLIN if flags & _POLLIN_I else 0) \
            | (select.POLLOUT if flags & _POLLOUT_I else 0)
        out.append((fd, flags))       # placeholder, resolved below
    if native is None:
        return out
    p = select.poll()
    for fd, want in native.items():
        p.register(fd, want)
    revents = dict(p.poll(0))
    result = []
    for obj, ev in out:
        if isinstance(obj, _zmq.Socket):
            result.append((obj, ev))
            continue
        r = revents.get(obj, 0)
        got = ((_POLLIN_I if r & select.POLLIN else 0) | (_POLLOUT_I if r & select.POLLOUT else 0)
               | (_POLLERR_I if r & (select.POLLERR | select.POLLHUP | select.POLLNVAL) else 0))
        got &= ev | _POLLERR_I
        if got:
            result.append((obj, got))
    return result


class Poller(_zmq.Poller):
    """poll() returns a Future of [(socket, events)]."""

    def _ready(self):
        # as the sync Poller: objects registered through their fileno() come back as that fd
        return _ready_now(self.sockets)

    def poll(self, timeout: int | float | None = None  # type: ignore[override]
             ) -> asyncio.Future[list[tuple[Any, int]]]:
        loop = asyncio.get_running_loop()
        fut = loop.create_future()
        ready = self._ready()
        if ready or timeout == 0:
            fut.set_result(ready)
            return fut
        waker = _Waker.for_loop(loop)
        watched = []
        timer = None

        def check():
            if fut.done():
                return
            ready = self._ready()
            if ready:
                finish(ready)
                return
            rewatch()

        def finish(result):
            for key in watched:
                if isinstance(key, _zmq.Socket):
                    waker.unwatch_socket(key, check)
                else:
                    waker.unwatch(key, check)
            watched.clear()
            if timer is not None:
                timer.cancel()
            if not fut.done():
                fut.set_result(result)

        def rewatch():
            watched.clear()
            for obj, _flags in self.sockets:
                if isinstance(obj, _zmq.Socket):
                    # the waker drains obj's wake-up fds before calling check (and before
                    # any other watcher of obj, such as obj's own futures, looks)
                    watched.append(obj)
                    waker.watch_socket(obj, check, first=True)
                else:
                    fd = obj if isinstance(obj, int) else obj.fileno()
                    watched.append(fd)
                    waker.watch(fd, check)
            # watched, then checked (which arms the sockets again): a message from before
            # the check is seen here; one from after it sets an fd that the waker is
            # watching, and nothing but the waker drains those fds
            ready = self._ready()
            if ready:
                finish(ready)

        rewatch()
        if not fut.done():
            # a cancelled (or otherwise finished) poll stops watching at once
            fut.add_done_callback(lambda _f: finish(None))
            if timeout is not None and timeout >= 0:
                timer = loop.call_later(timeout / 1000.0, finish, [])
        return fut


def _then(inner, transform):
    """A Future of transform(inner's result), on inner's loop; cancelling it cancels inner
    (a cancelled recv_json never takes a message). zmqx.eventloop.future uses it too."""
    outer = inner.get_loop().create_future()

    def done(f):
        if outer.done():
            return
        if f.cancelled():
            outer.cancel()
            return
        exc = f.exception()
        if exc is not None:
            outer.set_exception(exc)
            return
        try:
            outer.set_result(transform(f.result()))
        except Exception as e:
            outer.set_exception(e)

    inner.add_done_callback(done)
    outer.add_done_callback(lambda o: inner.cancel() if o.cancelled() else None)
    return outer
