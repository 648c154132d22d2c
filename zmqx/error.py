"""ZeroMQ exceptions, with pyzmq's classes and behaviour.

``ZMQError(errno)`` gives a plain ZMQError whatever the number, as in pyzmq.
Code that raises on behalf of the engine should use :func:`_error_for`, which
picks the subclass users catch (``Again`` for EAGAIN, ``ContextTerminated`` for
ETERM, ``InterruptedSystemCall`` for EINTR).

Imports only the standard library and :mod:`zmqx.constants`.
"""

from __future__ import annotations

import operator as _operator
import os as _os
import sys as _sys
import threading as _threading

from .constants import (
    VERSION_MAJOR as _VERSION_MAJOR,
    VERSION_MINOR as _VERSION_MINOR,
    VERSION_PATCH as _VERSION_PATCH,
    _HAUSNUMERO,
    Errno,
)

__all__ = [
    "DraftFDWarning",
    "ZMQBaseError",
    "ZMQBindError",
    "ZMQError",
    "NotDone",
    "ContextTerminated",
    "InterruptedSystemCall",
    "Again",
    "ZMQVersionError",
]

# ---------------------------------------------------------------------------
# error numbers -> text (libzmq's zmq_strerror)
# ---------------------------------------------------------------------------

# Texts libzmq has for its own numbers, and for EHOSTUNREACH on every platform.
_ZMQ_MESSAGES = {
    int(Errno.EFSM): "Operation cannot be accomplished in current state",
    int(Errno.ENOCOMPATPROTO): "The protocol is not compatible with the socket type",
    int(Errno.ETERM): "Context was terminated",
    int(Errno.EMTHREAD): "No thread available",
    int(Errno.EHOSTUNREACH): "Host unreachable",
}

# Texts libzmq gives on Windows, where the C runtime has none for these.
_NETWORK_MESSAGES = {
    "ENOTSUP": "Not supported",
    "EPROTONOSUPPORT": "Protocol not supported",
    "ENOBUFS": "No buffer space available",
    "ENETDOWN": "Network is down",
    "EADDRINUSE": "Address in use",
    "EADDRNOTAVAIL": "Address not available",
    "ECONNREFUSED": "Connection refused",
    "EINPROGRESS": "Operation in progress",
}
for _name, _text in _NETWORK_MESSAGES.items():
    _value = int(Errno[_name])
    # on Windows, and wherever a number had to come from ZMQ_HAUSNUMERO
    if _sys.platform.startswith("win") or _value > _HAUSNUMERO:
        _ZMQ_MESSAGES.setdefault(_value, _text)
del _name, _text, _value


def strerror(errno: int) -> str:
    """The text for an error number, as libzmq's ``zmq_strerror`` gives it.

    ZeroMQ's own numbers (EFSM, ENOCOMPATPROTO, ETERM, EMTHREAD) get libzmq's
    messages; every other number gets the C library's ``strerror``.
    """
    n = _operator.index(errno)
    text = _ZMQ_MESSAGES.get(n)
    if text is not None:
        return text
    try:
        return _os.strerror(n)
    except (ValueError, OverflowError):
        return f"Unknown error {n}"


# ---------------------------------------------------------------------------
# the last error number seen on this thread (libzmq's zmq_errno)
# ---------------------------------------------------------------------------

_last = _threading.local()


def zmq_errno() -> int:
    """The last ZeroMQ error number raised on this thread (0 if none)."""
    return getattr(_last, "errno", 0)


def _set_errno(errno: int) -> None:
    _last.errno = errno


# ---------------------------------------------------------------------------
# exceptions
# ---------------------------------------------------------------------------


class DraftFDWarning(RuntimeWarning):
    """Warning for using the FD of a draft (thread-safe) socket."""

    def __init__(self, msg: str = "") -> None:
        if not msg:
            msg = (
                "Socket.FD on thread-safe (draft) sockets is experimental and may be"
                " removed. Silence this with"
                " `warnings.simplefilter('ignore', zmqx.error.DraftFDWarning)`"
            )
        super().__init__(msg)


class ZMQBaseError(Exception):
    """Base class of all ZeroMQ errors."""


class ZMQError(ZMQBaseError):
    """An error with an errno, like an OSError from ZeroMQ.

    Parameters
    ----------
    errno : int, optional
        The error number. If None, the last error number raised on this thread
        (:func:`zmq_errno`) is used. Anything that is not an int is taken as
        the message, and ``.errno`` stays None.
    msg : str, optional
        The message; by default ``strerror(errno)``.
    """

    errno: int | None = None
    strerror: str

    def __init__(self, errno=None, msg: str | None = None) -> None:
        # (Exception.__new__ has stored the arguments in self.args; pickling
        #  rebuilds the error from them.)
        if errno is None:
            errno = zmq_errno()
        if isinstance(errno, int):
            self.errno = errno
            self.strerror = strerror(errno) if msg is None else msg
        else:
            self.strerror = str(errno) if msg is None else msg

    def __str__(self) -> str:
        return self.strerror

    def __repr__(self) -> str:
        return f"{self.__class__.__name__}('{self}')"


class ZMQBindError(ZMQBaseError):
    """Raised by ``Socket.bind_to_random_port`` when no port could be bound."""


class NotDone(ZMQBaseError):
    """Raised when a ``MessageTracker.wait`` times out."""


class ContextTerminated(ZMQError):
    """ETERM: the socket's context was terminated. Arguments are ignored."""

    errno = Errno.ETERM
    strerror = strerror(Errno.ETERM)
    # errno and strerror are the class's, so the exception needs nothing of its own: the
    # C initialiser (which only keeps the arguments) instead of two Python ones
    __init__ = BaseException.__init__  # type: ignore[assignment]


class Again(ZMQError):
    """EAGAIN: a non-blocking call could not proceed now, or a timeout expired.

    Arguments are ignored.
    """

    errno = Errno.EAGAIN
    # every non-blocking call that finds nothing raises one (an asyncio wait, a NOBLOCK
    # poll loop): with class attributes and the C initialiser it costs a quarter of what
    # ZMQError's Python __init__ did (0.96 -> 0.2 us)
    strerror = strerror(Errno.EAGAIN)
    __init__ = BaseException.__init__  # type: ignore[assignment]


class InterruptedSystemCall(ZMQError, InterruptedError):
    """EINTR. zmqx retries interrupted calls itself, so this should not reach
    user code. Arguments are ignored."""

    errno = Errno.EINTR

    def __init__(self, errno="ignored", msg="ignored") -> None:
        super().__init__(Errno.EINTR)

    def __str__(self) -> str:
        return (
            super().__str__()
            + ": This call should have been retried. Please report this to zmqx."
        )


_VERSION_STR = f"{_VERSION_MAJOR}.{_VERSION_MINOR}.{_VERSION_PATCH}"
_VERSION_INFO = (_VERSION_MAJOR, _VERSION_MINOR, _VERSION_PATCH)


class ZMQVersionError(NotImplementedError):
    """A feature needs a newer libzmq than the one zmqx implements (4.3.5)."""

    msg: str
    min_version: str
    version: str

    def __init__(self, min_version: str, msg: str = "Feature") -> None:
        self.msg = msg
        self.min_version = min_version
        self.version = _VERSION_STR

    def __repr__(self) -> str:
        return f"ZMQVersionError('{self}')"

    def __str__(self) -> str:
        return f"{self.msg} requires libzmq >= {self.min_version}, have {self.version}"


# ---------------------------------------------------------------------------
# helpers for the engine and the sugar layer
# ---------------------------------------------------------------------------

_SUBCLASS_FOR = {
    int(Errno.EAGAIN): Again,
    int(Errno.ETERM): ContextTerminated,
    int(Errno.EINTR): InterruptedSystemCall,
}


def _error_for(errno: int, msg: str | None = None) -> ZMQError:
    """The exception to raise for ``errno``: Again for EAGAIN,
    ContextTerminated for ETERM, InterruptedSystemCall for EINTR, else a
    ZMQError. ``msg``, when given, replaces the standard text.

    Also records ``errno`` as this thread's :func:`zmq_errno`.
    """
    _set_errno(errno)
    cls = _SUBCLASS_FOR.get(errno)
    if cls is None:
        return ZMQError(errno, msg)
    err = cls()
    if msg is not None:
        err.strerror = msg
    return err


def _check_rc(rc: int, errno: int | None = None, error_without_errno: bool = True) -> None:
    """Raise the right exception if ``rc`` is -1 (a C-style return code).

    ``errno`` defaults to this thread's :func:`zmq_errno`. With
    ``error_without_errno=False``, rc == -1 with errno 0 is not an error.
    """
    if rc != -1:
        return
    if errno is None:
        errno = zmq_errno()
    if errno == 0 and not error_without_errno:
        return
    raise _error_for(errno)


def _check_version(min_version_info: tuple, msg: str = "Feature") -> None:
    """Raise ZMQVersionError if the libzmq API zmqx implements is older than
    ``min_version_info`` (a tuple of ints, compared with (4, 3, 5))."""
    if _VERSION_INFO < tuple(min_version_info):
        min_version = ".".join(str(v) for v in min_version_info)
        raise ZMQVersionError(min_version, msg)
