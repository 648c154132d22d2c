"""ThreadAuthenticator: the ZAP handler served by a background thread.

The thread is the only reader of the policy while it runs. The application talks to it
over an inproc PAIR pipe, and every exchange is a round trip that the thread answers
between two ZAP requests:

- TERMINATE: the thread finishes the request in hand, closes its end of the pipe and
  returns; stop() joins it, so when stop() returns nothing of the thread is left and
  inproc://zeromq.zap.01 can be bound again.
- CONFIGURE: the thread applies one configuration change (allow, deny, configure_*) and
  answers OK, or ERROR with the exception, which the caller re-raises. So a change is
  never seen half-made by a request, and once the call returns every later request is
  judged by it.

Nothing waits on a timer: start() has no readiness handshake to wait for because every
socket is bound and connected before the thread starts (requests that arrive first just
queue on the handler socket), and the thread blocks in one poll on the pipe and the
handler socket. If the context is terminated under a running authenticator the thread
closes the handler socket and both pipe ends itself, so Context.term() completes. A
thread that died (a callback raising SystemExit) hangs nobody: stop() never blocks on
the pipe, and a configure call waiting for its answer notices and applies the change
itself.
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from typing import Any, Callable, Coroutine, Optional

import zmqx

from .base import Authenticator

__all__ = ["ThreadAuthenticator", "AuthenticationThread"]

_TERMINATE = b"TERMINATE"
_CONFIGURE = b"CONFIGURE"
_OK = b"OK"
_ERROR = b"ERROR"

# how often a caller waiting for a CONFIGURE answer checks that the thread still lives
_LIVENESS_MS = 500

# pipe endpoints are unique per start(), so a restart never meets a name still in use
_serial = itertools.count()


class AuthenticationThread(threading.Thread):
    """Serves one ThreadAuthenticator's handler socket until told to stop."""

    def __init__(self, authenticator: "ThreadAuthenticator", pipe: Any) -> None:
        super().__init__(name="zmqx-auth", daemon=True)
        self.authenticator = authenticator
        self.log = authenticator.log
        self.pipe = pipe
        # set once the thread runs (pyzmq has it; start() itself does not need to wait)
        self.started = threading.Event()
        # made on the first request only: handle_zap_message is a coroutine because
        # credential callbacks may be async
        self._loop: Optional[asyncio.AbstractEventLoop] = None

    def run(self) -> None:
        context_gone = False
        self.started.set()
        try:
            context_gone = not self._serve()
        except Exception:
            self.log.exception("ZAP handler thread failed")
        finally:
            self.pipe.close()
            if self._loop is not None:
                self._loop.close()
                self._loop = None
            if context_gone:
                self.authenticator._release_after_term()

    def _serve(self) -> bool:
        """Serve until TERMINATE (True) or until the context is terminated (False)."""
        auth = self.authenticator
        zap = auth.zap_socket
        poller = zmqx.Poller()
        poller.register(self.pipe, zmqx.POLLIN)
        poller.register(zap, zmqx.POLLIN)
        while True:
            try:
                ready = dict(poller.poll())
                if self.pipe in ready:
                    # commands before requests: stop() and configure_* are answered
                    # after at most the request in hand
                    if not self._command(self.pipe.recv_multipart()):
                        return True
                    continue
                if zap not in ready:
                    continue
                try:
                    msg = zap.recv_multipart(zmqx.NOBLOCK)
                except zmqx.Again:
                    continue
            except zmqx.ZMQError as e:
                if e.errno == zmqx.ETERM:
                    return False
                raise           # the sockets themselves failed: nothing to serve with
            try:
                self._complete(auth.handle_zap_message(msg))
            except zmqx.ZMQError as e:
                if e.errno == zmqx.ETERM:
                    return False
                if e.errno == zmqx.ENOTSOCK:
                    raise
                # this reply could not be sent; the next request may fare better
                self.log.exception("ZAP request failed")
            except Exception:
                self.log.exception("ZAP request failed")

    def _command(self, msg: list[bytes]) -> bool:
        """Run one command from the application; False means stop serving."""
        command = msg[0]
        self.log.debug("auth received API command %r", command)
        if command == _TERMINATE:
            return False
        if command == _CONFIGURE:
            answer = self.authenticator._run_pending_change()
        else:
            self.log.error("Invalid auth command from API: %r", command)
            answer = _ERROR
        self.pipe.send(answer)
        return True

    def _complete(self, coro: Coroutine[Any, Any, None]) -> None:
        if self._loop is None:
            self._loop = asyncio.new_event_loop()
        self._loop.run_until_complete(coro)


class ThreadAuthenticator(Authenticator):
    """A ZAP handler answering in a background thread: ``start()``, configure (before or
    while running), ``stop()``; start again at will."""

    pipe: Any
    pipe_endpoint: str
    thread: Optional[AuthenticationThread]

    def __init__(
        self,
        context: Optional["zmqx.Context"] = None,
        encoding: str = "utf-8",
        log: Any = None,
    ) -> None:
        super().__init__(context=context, encoding=encoding, log=log)
        self.pipe = None
        self.pipe_endpoint = ""
        self.thread = None
        # one round trip on the pipe at a time, whichever thread configures
        self._pipe_lock = threading.Lock()
        # the change a CONFIGURE carries: a one-slot box that exactly one side empties
        self._pending: list[Callable[[], None]] = []
        self._pending_error: Optional[BaseException] = None

    def start(self) -> None:
        """Bind inproc://zeromq.zap.01 and start serving it.

        Raises ZMQError(EADDRINUSE) if a handler is already bound in the context (this one
        included, if it is running); nothing is started or left open then.
        """
        if self.thread is not None and not self.thread.is_alive():
            self.stop()         # the remains of a thread that died: release them first
        super().start()
        outer = inner = None
        try:
            endpoint = f"inproc://zmqx.auth.{id(self):x}.{next(_serial)}"
            outer = self.context.socket(zmqx.PAIR, socket_class=zmqx.Socket)
            outer.linger = 0
            outer.bind(endpoint)
            inner = self.context.socket(zmqx.PAIR, socket_class=zmqx.Socket)
            inner.linger = 0
            inner.connect(endpoint)
            thread = AuthenticationThread(self, inner)
            self.pipe, self.pipe_endpoint, self.thread = outer, endpoint, thread
            thread.start()
        except BaseException:
            self.thread = None
            self.pipe = None
            for s in (inner, outer):
                if s is not None:
                    s.close(linger=0)
            super().stop()
            raise

    def stop(self) -> None:
        """Stop the thread and close every socket; returns once the thread has ended.

        The request in hand, if any, is answered first. May be called from any thread but
        the handler's own (a credentials callback); calling it again does nothing.
        """
        thread = self.thread
        if thread is not None:
            if thread is threading.current_thread():
                raise RuntimeError("stop() called from the authenticator's own thread")
            with self._pipe_lock:
                if self.pipe is not None and not self.pipe.closed:
                    try:
                        # never blocks: a live thread's pipe has room; a dead one's
                        # (the thread failed, or the context is terminating) is refused
                        self.pipe.send(_TERMINATE, zmqx.NOBLOCK)
                    except zmqx.ZMQError:
                        pass    # the thread is leaving or gone: join() is all there is
            thread.join()
            self.thread = None
        with self._pipe_lock:
            if self.pipe is not None:
                self.pipe.close()
                self.pipe = None
        super().stop()

    def is_alive(self) -> bool:
        """Is the handler thread running?"""
        return bool(self.thread is not None and self.thread.is_alive())

    def __del__(self) -> None:
        # a running thread holds a reference to us: this only runs once it has ended
        try:
            self.stop()
        except Exception:
            pass

    # -- configuration while running -------------------------------------------

    def _update(self, change: Callable[[], None]) -> None:
        thread = self.thread
        if thread is None or thread is threading.current_thread() or not thread.is_alive():
            change()
            return
        with self._pipe_lock:
            pipe = self.pipe
            if pipe is None or pipe.closed:
                change()        # the thread has stopped serving (context terminated)
                return
            self._pending_error = None
            self._pending.append(change)
            try:
                pipe.send(_CONFIGURE, zmqx.NOBLOCK)
                # the answer is OK, or ERROR with the exception in _pending_error. The
                # wait is cut into slices only to notice a thread that died (it logs
                # why) and will never answer; a live one answers between two requests.
                while not pipe.poll(_LIVENESS_MS, zmqx.POLLIN):
                    if not thread.is_alive():
                        self._run_pending_change()
                        break
                else:
                    pipe.recv()
            except zmqx.ZMQError as e:
                if e.errno not in (zmqx.ETERM, zmqx.EAGAIN):
                    raise
                # the context is terminating, or the thread is gone: no one serves now,
                # so apply the change here unless the thread took it first
                self._run_pending_change()
            error, self._pending_error = self._pending_error, None
        if error is not None:
            raise error

    def _run_pending_change(self) -> bytes:
        """Apply the change waiting in the box, if it is still there (either thread)."""
        try:
            change = self._pending.pop()
        except IndexError:
            return _OK
        try:
            change()
        except Exception as e:
            self._pending_error = e
            return _ERROR
        return _OK

    def _release_after_term(self) -> None:
        """The context was terminated while serving: close what term() waits for."""
        zap, self.zap_socket = self.zap_socket, None
        if zap is not None:
            zap.close()
        with self._pipe_lock:
            if self.pipe is not None:
                self.pipe.close()
                self.pipe = None
