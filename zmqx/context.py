"""Context: pyzmq's sugar over the Cython core (socket factory, default options,
context manager, the process-wide instance)."""

from __future__ import annotations

import sys
import threading
import warnings
import weakref
from typing import TYPE_CHECKING, Any, Callable, Generic, overload

from . import constants as _c
from ._core.context import Context as _ContextCore, fork_generation as _fork_generation
from .error import ZMQError
from .socket import Socket, _live_from, _register_address

from typing import TypeVar

if TYPE_CHECKING:
    from typing_extensions import Self

# the class of the sockets a Context makes (pyzmq's Generic parameter)
_SocketT_co = TypeVar("_SocketT_co", bound="Socket[Any]", covariant=True)
_SocketT = TypeVar("_SocketT", bound="Socket[Any]")
_ContextT = TypeVar("_ContextT", bound="Context[Any]")

# `underlying` addresses handed out -> the live context (see zmqx.socket)
_live_by_address: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()

_CTX_OPTS = {int(o) for o in _c.ContextOption}


def _term_quietly(ctx: Context[Any]) -> None:
    try:
        ctx.term()
    except Exception:
        pass


class Context(_ContextCore, Generic[_SocketT_co]):
    """Creates sockets; owns the I/O threads.

    ``Context(other)`` or ``Context.shadow(other_or_address)`` makes a shadow: a second
    handle (possibly of another class, e.g. an asyncio Context) on the same live context.
    """

    _shadow: bool = False
    _shadow_obj: Context[Any] | int | None = None
    _repr_cls: str = "zmq.Context"  # repr as pyzmq's (a subclass shows its own module.name)
    _instance: Any = None
    _instance_lock = threading.Lock()
    _instance_gen: int | None = None
    _socket_class: type[Socket[Any]] = Socket
    sockopts: dict[int, Any]

    # as pyzmq's: a Context made directly makes blocking sockets (SyncContext); the
    # asyncio Context defines its own __init__ and parameter
    @overload
    def __init__(self: SyncContext, io_threads: int = 1) -> None: ...

    @overload
    def __init__(self: SyncContext, io_threads: Context[Any], /) -> None: ...

    @overload
    def __init__(self: SyncContext, *, shadow: Context[Any] | int) -> None: ...

    def __init__(self, io_threads: Any = 1, shadow: Any = 0, **kwargs: Any) -> None:
        if isinstance(io_threads, _ContextCore):     # Context(other_context): a shadow
            shadow, io_threads = io_threads, 1
        if shadow:
            self._shadow_init(_live_from(shadow, _ContextCore, _live_by_address, "context"))
            self._shadow = True
            self._shadow_obj = shadow
        else:
            super().__init__(io_threads, **kwargs)  # type: ignore[arg-type]
        object.__setattr__(self, "sockopts", {})

    @classmethod
    def shadow(cls: type[_ContextT], address: Context[Any] | int) -> _ContextT:
        """A new `cls` handle on an existing context: a zmqx Context or its `underlying`
        address. Terminating either terminates the context; dropping a shadow does not."""
        return cls(shadow=address)

    @property
    def underlying(self) -> int:
        """The context's address as an int (the same for all its shadows)."""
        return _register_address(self, _live_by_address)

    def __copy__(self, memo: Any = None) -> Self:
        # as pyzmq: a copy is a shadow
        return type(self).shadow(self)

    __deepcopy__ = __copy__

    def __del__(self) -> None:
        if not self._shadow and not self.closed and not sys.is_finalizing():
            try:
                # sockets are closed by their own finalizers; nothing may block here
                for s in self._open_sockets():
                    s.close(linger=0)
                # term() waits for every socket: normally at once (all closed above), but
                # a socket still held elsewhere would make the garbage collector -- which
                # may run this in any thread, at any point -- wait for ever. So the wait
                # happens in a daemon thread, and this one waits for it only briefly.
                t = threading.Thread(target=_term_quietly, args=(self,), daemon=True,
                                     name="zmqx-context-finalizer")
                t.start()
                t.join(1.0)
            except Exception:
                pass

    @classmethod
    def instance(cls: type[_ContextT], io_threads: int = 1) -> _ContextT:
        if (
            cls._instance is None
            or cls._instance.closed
            or cls._instance_gen != _fork_generation()
        ):
            with cls._instance_lock:
                if (
                    cls._instance is None
                    or cls._instance.closed
                    or cls._instance_gen != _fork_generation()
                ):
                    cls._instance = cls(io_threads=io_threads)
                    cls._instance_gen = _fork_generation()
        return cls._instance

    @overload
    def socket(self, socket_type: int, socket_class: None = None,
               **kwargs: Any) -> _SocketT_co: ...

    @overload
    def socket(self, socket_type: int, socket_class: type[_SocketT],
               **kwargs: Any) -> _SocketT: ...

    @overload
    def socket(self, socket_type: int, socket_class: Callable[..., _SocketT],
               **kwargs: Any) -> _SocketT: ...

    def socket(self, socket_type: int, socket_class: Callable[..., Any] | None = None,
               **kwargs: Any) -> Any:
        """A new socket of `socket_type` (of this context's socket class, or
        `socket_class`), with the defaults set through setsockopt() applied."""
        if self._shadowed is not None and self._shadowed.closed:
            # as pyzmq: a shadow of a terminated context has no context left to use
            raise ZMQError(_c.EFAULT, "the shadowed Context was terminated")
        if self.closed:
            if self._forked_child():
                raise ZMQError(_c.ENOTSUP, "this Context was created before fork(): "
                                           "create a new Context in the child process")
            raise ZMQError(_c.ENOTSUP, "Context was terminated")
        cls = socket_class or self._socket_class
        s = cls(self, socket_type, **kwargs)
        for opt, value in self.sockopts.items():
            try:
                s.setsockopt(opt, value)
            except ZMQError:
                pass        # options that don't apply to this type
        return s

    def destroy(self, linger: int | None = None) -> None:
        """Close every socket (with `linger` if given), then terminate."""
        for s in self._open_sockets():
            if not s.closed:
                s.close(linger=linger)
        self.term()

    # -- options -------------------------------------------------------------
    def set(self, option: int, optval: int) -> None:
        option = int(option)
        if option == _c.IO_THREADS:
            self._set_io_threads(optval)
        elif option in (_c.MAX_SOCKETS, _c.BLOCKY, _c.THREAD_PRIORITY, _c.THREAD_SCHED_POLICY):
            object.__setattr__(self, "_opt_%d" % option, optval)
        else:
            raise ZMQError(_c.EINVAL)

    def get(self, option: int) -> int:
        option = int(option)
        if option == _c.IO_THREADS:
            return self._get_io_threads()
        if option == _c.MAX_SOCKETS:
            return int(self.__dict__.get("_opt_%d" % option, 1023))
        if option == _c.SOCKET_LIMIT:
            return 65535
        if option == _c.MSG_T_SIZE:
            return 64
        if option == _c.BLOCKY:
            return int(self.__dict__.get("_opt_%d" % option, 1))
        raise ZMQError(_c.EINVAL)

    def setsockopt(self, opt: int, value: Any) -> None:
        """Default an option for every socket made from now on."""
        self.sockopts[int(opt)] = value

    def getsockopt(self, opt: int) -> Any:
        return self.sockopts[int(opt)]

    def __setattr__(self, key: str, value: Any) -> None:
        if key.startswith("_") or key in ("sockopts",):
            object.__setattr__(self, key, value)
            return
        name = key.upper()
        if name in _c.ContextOption.__members__:
            self.set(_c.ContextOption[name], value)
        elif name in _c.SocketOption.__members__:
            self.sockopts[int(_c.SocketOption[name])] = value
        else:
            object.__setattr__(self, key, value)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        name = key.upper()
        if name in _c.ContextOption.__members__:
            try:
                return self.get(_c.ContextOption[name])
            except ZMQError as e:
                if e.errno == _c.EINVAL:        # a write-only option (as pyzmq)
                    raise AttributeError(f"{key} attribute is write-only") from None
                raise
        if name in _c.SocketOption.__members__:
            opt = int(_c.SocketOption[name])
            if opt in self.sockopts:
                return self.sockopts[opt]
        raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")

    def __delattr__(self, key: str) -> None:
        name = key.upper()
        if name in _c.SocketOption.__members__:
            self.sockopts.pop(int(_c.SocketOption[name]), None)
        else:
            object.__delattr__(self, key)

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: Any) -> None:
        # as pyzmq: leftover sockets are closed (with a ResourceWarning each: leaving them
        # open was probably a mistake), not waited for
        for s in self._open_sockets():
            if not s.closed:
                warnings.warn(f"Destroying context with unclosed socket {s!r}",
                              ResourceWarning, stacklevel=2, source=s)
        self.destroy()

    def __dir__(self) -> list[str]:
        return dir(type(self)) + list(_c.ContextOption.__members__)

    def __repr__(self) -> str:
        cls = type(self)
        name = cls.__dict__.get("_repr_cls") or f"{cls.__module__}.{cls.__name__}"
        closed = " closed" if self.closed else ""
        n = 0 if self.closed else len(self._open_sockets())
        sockets = f"{n} socket{'s' if n > 1 else ''}" if n else ""
        return f"<{name}({sockets}) at {hex(id(self))}{closed}>"


# pyzmq's name for a context of blocking sockets, for type annotations
SyncContext = Context[Socket[bytes]]
