"""AsyncioAuthenticator: the ZAP handler served by a task on the running asyncio loop.

The handler socket is a zmqx.asyncio socket, so the task simply awaits the next request;
closing the socket (stop()) withdraws it from the loop's waker at once and cancels the
pending receive, so nothing of the authenticator outlives stop(). Configuration calls
made on the loop's thread take effect for the next request; like everything asyncio, the
authenticator is not meant to be driven from other threads.
"""

from __future__ import annotations

import asyncio
import warnings
from typing import Any, Optional

import zmqx
import zmqx.asyncio as _zasync

from .base import Authenticator

__all__ = ["AsyncioAuthenticator"]


class AsyncioAuthenticator(Authenticator):
    """A ZAP handler answering on the running event loop: ``start()`` inside the loop,
    ``stop()`` when done; start again at will."""

    _zap_socket_class = _zasync.Socket

    def __init__(
        self,
        context: Optional["zmqx.Context"] = None,
        loop: Any = None,
        encoding: str = "utf-8",
        log: Any = None,
    ) -> None:
        super().__init__(context, encoding, log)
        if loop is not None:
            warnings.warn(
                f"{type(self).__name__}(loop) is deprecated and ignored",
                DeprecationWarning,
                stacklevel=2,
            )
        self._task: Optional[asyncio.Task[None]] = None

    def start(self) -> None:
        """Bind inproc://zeromq.zap.01 and serve it from a task on the running loop.

        Must be called with a loop running (RuntimeError otherwise); raises
        ZMQError(EADDRINUSE) if a handler is already bound in the context.
        """
        try:
            loop = asyncio.get_running_loop()
        except RuntimeError:
            raise RuntimeError(
                f"{type(self).__name__}.start() must be called from a running event loop"
            ) from None
        super().start()
        self._task = loop.create_task(self._serve(self.zap_socket), name="zmqx-auth")

    def stop(self) -> None:
        """Stop serving and close the handler socket; a request being decided (an
        awaited credentials callback) is abandoned unanswered."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
        super().stop()

    async def _serve(self, zap: Any) -> None:
        while True:
            try:
                msg = await zap.recv_multipart()
            except zmqx.ZMQError as e:
                if e.errno != zmqx.ENOTSOCK:        # ENOTSOCK: closed by stop()
                    self._socket_failed(zap, e)
                return
            try:
                await self.handle_zap_message(msg)
            except zmqx.ZMQError as e:
                if e.errno == zmqx.ETERM:
                    self._socket_failed(zap, e)
                    return
                if e.errno == zmqx.ENOTSOCK:
                    return
                # this reply could not be sent; the next request may fare better
                self.log.exception("ZAP request failed")

    def _socket_failed(self, zap: Any, error: zmqx.ZMQError) -> None:
        """The handler socket cannot be read any more: stop serving, and close it if the
        context is being terminated (from another thread), since term() waits for it."""
        if error.errno != zmqx.ETERM:
            self.log.error("ZAP handler socket failed, no longer serving: %s", error)
            return
        if self.zap_socket is zap:
            self.zap_socket = None
        zap.close()

    def _send_reply_frames(self, frames: list[bytes]) -> None:
        # a reply on REP never waits (a full or vanished requester drops it), so send it
        # now rather than through a Future nobody would await
        zmqx.Socket.send_multipart(self.zap_socket, frames, zmqx.NOBLOCK)
