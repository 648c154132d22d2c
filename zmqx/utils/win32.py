"""pyzmq's zmq.utils.win32.allow_interrupt. zmqx's blocking calls already wait with the
GIL released and run signal handlers at once (Ctrl-C works on every platform), so this
is a context manager that only calls `action` if Ctrl-C arrives while it is active."""

import signal

__all__ = ["allow_interrupt"]


class allow_interrupt:
    """Call `action()` (default: raise KeyboardInterrupt) on SIGINT inside the block."""

    def __init__(self, action=None):
        self.action = action

    def __enter__(self):
        self._installed = False
        if self.action is None:
            return self               # the default SIGINT handler already raises
        try:
            self._previous = signal.signal(signal.SIGINT, self._handle)
            self._installed = True
        except ValueError:            # not the main thread: nothing to install
            pass
        return self

    def _handle(self, signum, frame):
        self.action()

    def __exit__(self, *exc):
        if self._installed:
            signal.signal(signal.SIGINT, self._previous)
