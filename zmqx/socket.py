"""Socket: pyzmq's sugar (strings, JSON, pickles, attribute options) over the Cython core."""

from __future__ import annotations

import codecs
import json
import pickle
import weakref
from typing import TYPE_CHECKING, Any, Callable, Generic, Sequence

from typing import TypeVar, overload

if TYPE_CHECKING:
    from typing_extensions import Self

    from ._core.msg import MessageTracker
    from .context import Context

from . import constants as _c
from ._core.msg import Frame as _Frame
from ._core.socket import Socket as _SocketCore
from .error import ZMQError

_INT_TYPES = (_c._OptType.int, _c._OptType.int64, _c._OptType.fd)
_KNOWN_OPTIONS = frozenset(int(o) for o in _c.SocketOption)

# what recv() returns (bytes for the plain Socket, a Future for the asyncio one): the
# parameter of Socket[...], as pyzmq's Generic Socket has
_SocketReturnT_co = TypeVar("_SocketReturnT_co", covariant=True)
_T = TypeVar("_T")
_SocketT = TypeVar("_SocketT", bound="Socket[Any]")
_SocketT2 = TypeVar("_SocketT2", bound="Socket[Any]")

# `underlying` addresses handed out -> the live object, so that Socket.shadow(address)
# finds it again (weak: an address never keeps a socket alive)
_live_by_address: weakref.WeakValueDictionary[int, Any] = weakref.WeakValueDictionary()


def _live_from(shadow: Any, base: type, registry: weakref.WeakValueDictionary[int, Any],
               what: str) -> Any:
    """The live zmqx object that `shadow` designates: the object itself, anything with an
    `underlying` address, or the address as an int (or ctypes/cffi pointer)."""
    if isinstance(shadow, base):
        return shadow._shadowed if shadow._shadowed is not None else shadow
    from .utils.interop import cast_int_addr

    addr = cast_int_addr(getattr(shadow, "underlying", shadow))
    live = registry.get(addr)
    if live is None:
        raise ZMQError(_c.EFAULT, f"no live zmqx {what} at address {addr:#x}: shadow() takes "
                                  f"a zmqx {what} or the `underlying` address of one")
    return live


def _register_address(obj: Any, registry: weakref.WeakValueDictionary[int, Any]) -> int:
    live = obj._shadowed if obj._shadowed is not None else obj
    addr = id(live)
    registry[addr] = live
    return addr


def _socket_type(n: int) -> Any:
    try:
        return _c.SocketType(n)
    except ValueError:
        return n


def _declared(cls: type, key: str) -> bool:
    for klass in cls.__mro__:
        if key in klass.__dict__ or key in klass.__dict__.get("__annotations__", ()):
            return True
    return False


def _opt_from_name(name: str) -> _c.SocketOption | None:
    try:
        return _c.SocketOption[name.upper()]
    except KeyError:
        return None


class _SocketContext(Generic[_SocketT]):
    """What bind() and connect() return: a context manager that unbinds/disconnects the
    endpoint on exit (nothing to do if the socket is closed by then)."""

    def __init__(self, socket: _SocketT, kind: str, addr: str) -> None:
        self.socket = socket
        self.kind = kind
        self.addr = addr

    def __repr__(self) -> str:
        return f"<SocketContext({self.kind}={self.addr!r})>"

    def __enter__(self) -> _SocketT:
        return self.socket

    def __exit__(self, *exc: Any) -> None:
        if self.socket.closed:
            return
        if self.kind == "bind":
            self.socket.unbind(self.addr)
        else:
            self.socket.disconnect(self.addr)


def _py_send_multipart(self: Any, msg_parts: Sequence[Any], flags: int = 0, copy: bool = True,
                       track: bool = False, **kwargs: Any) -> Any:
    """send_multipart for subclasses that override send: every part goes through
    self.send (pyzmq's contract; gevent sockets rely on it)."""
    parts = msg_parts if isinstance(msg_parts, (list, tuple)) else list(msg_parts)
    for i, part in enumerate(parts):
        if isinstance(part, (bytes, _Frame, memoryview, bytearray)):
            continue
        try:
            memoryview(part)
        except TypeError:
            raise TypeError(
                "Frame %i (%r) does not support the buffer interface." % (i, part)) from None
    if not parts:
        raise ValueError("empty multipart message")
    more = int(flags) | _c.SNDMORE
    for part in parts[:-1]:
        self.send(part, more, copy=copy, track=track, **kwargs)
    return self.send(parts[-1], int(flags) & ~_c.SNDMORE, copy=copy, track=track, **kwargs)


def _py_recv_multipart(self: Any, flags: int = 0, copy: bool = True, track: bool = False) -> Any:
    """recv_multipart for subclasses that override recv: every part comes from self.recv."""
    parts = [self.recv(flags, copy=copy, track=track)]
    while self.get(_c.RCVMORE):
        parts.append(self.recv(flags, copy=copy, track=track))
    return parts


class Socket(_SocketCore, Generic[_SocketReturnT_co]):
    """A ZeroMQ socket: create one with ``Context.socket(TYPE)``.

    ``Socket(other)`` or ``Socket.shadow(other_or_address)`` makes a shadow: a second
    handle (possibly of another class, e.g. an asyncio Socket) on the same live socket.
    """

    _shadow: bool = False
    _shadow_obj: Socket[Any] | int | None = None
    _repr_cls: str = "zmq.Socket"  # repr as pyzmq's (a subclass shows its own module.name)

    def __init_subclass__(cls, **kwargs: Any) -> None:
        # The base class keeps the Cython multipart paths (one call for all parts). A
        # subclass that overrides send or recv but not the multipart call gets the Python
        # versions, which go through its send/recv for every part, as pyzmq's do.
        super().__init_subclass__(**kwargs)
        if cls.send is not _SocketCore.send and cls.send_multipart is _SocketCore.send_multipart:
            cls.send_multipart = _py_send_multipart  # type: ignore[method-assign,assignment]
        if cls.recv is not _SocketCore.recv and cls.recv_multipart is _SocketCore.recv_multipart:
            cls.recv_multipart = _py_recv_multipart  # type: ignore[method-assign,assignment]

    # as pyzmq's: a Socket made directly is a blocking one (Socket[bytes]); subclasses
    # (asyncio) define their own __init__ and parameter
    @overload
    def __init__(self: Socket[bytes], context: Context[Any] | None = None,
                 socket_type: int = -1, *, copy_threshold: int | None = None) -> None: ...

    @overload
    def __init__(self: Socket[bytes], *, shadow: Socket[Any] | int,
                 copy_threshold: int | None = None) -> None: ...

    @overload
    def __init__(self: Socket[bytes], context: Socket[Any], /) -> None: ...

    def __init__(self, context: Any = None, socket_type: int = -1, *, shadow: Any = 0,
                 copy_threshold: int | None = None, **kwargs: Any) -> None:
        if isinstance(context, _SocketCore):       # Socket(other_socket): a shadow
            shadow, context = context, None
        if shadow:
            live = _live_from(shadow, _SocketCore, _live_by_address, "socket")
            self._shadow_init(live)
            self._shadow = True
            self._shadow_obj = shadow
        else:
            if context is None:
                from .context import Context

                context = Context.instance()
            super().__init__(context, int(socket_type))
        if copy_threshold is not None:
            self.copy_threshold = copy_threshold

    @classmethod
    def shadow(cls: type[_SocketT2], address: Socket[Any] | int) -> _SocketT2:
        """A new `cls` handle on an existing socket: a zmqx Socket or its `underlying`
        address. Both handles stay usable; closing either closes the socket."""
        return cls(shadow=address)

    # -- endpoints: bind()/connect() return a context manager ---------------------
    def bind(self, addr: str) -> _SocketContext[Self]:  # type: ignore[override]
        """Bind to tcp://host:port, ipc://path or inproc://name. The returned context
        manager unbinds on exit (the endpoint actually bound: `tcp://...:0` works)."""
        _SocketCore.bind(self, addr)
        try:
            addr = self.get(_c.LAST_ENDPOINT).decode()
        except (ZMQError, UnicodeDecodeError):
            pass
        return _SocketContext(self, "bind", addr)

    def connect(self, addr: str) -> _SocketContext[Self]:  # type: ignore[override]
        """Connect to an endpoint (works before the peer binds; reconnects for ever). The
        returned context manager disconnects on exit."""
        _SocketCore.connect(self, addr)
        return _SocketContext(self, "connect", addr)

    # -- attribute options: sock.linger = 0, sock.sndhwm -------------------
    def __dir__(self) -> list[str]:
        # tab completion sees the options too, as pyzmq's
        return dir(type(self)) + list(_c.SocketOption.__members__)

    def __setattr__(self, key: str, value: Any) -> None:
        # as pyzmq: a name is either declared by the class (attribute, property or
        # annotation) or a socket option; anything else is a typo, not a new attribute.
        # subscribe/unsubscribe are methods and options: assigning one sets the option
        if key in ("subscribe", "unsubscribe") and key not in self.__dict__:
            if isinstance(value, str):
                value = value.encode("utf-8")
            self.set(_c.SUBSCRIBE if key == "subscribe" else _c.UNSUBSCRIBE, value)
            return
        if key.startswith("_") or key in self.__dict__ or _declared(type(self), key):
            object.__setattr__(self, key, value)
            return
        opt = _opt_from_name(key)
        if opt is None:
            raise AttributeError(f"{type(self).__name__} has no such option: {key.upper()}")
        self.set(opt, value)

    def __getattr__(self, key: str) -> Any:
        if key.startswith("_"):
            raise AttributeError(key)
        opt = _opt_from_name(key)
        if opt is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")
        try:
            return self.get(opt)
        except ZMQError as e:
            # as pyzmq: an option this socket cannot read is a missing attribute (what
            # hasattr, mock.Mock(spec=socket) and tab completion expect)
            if e.errno in (_c.EINVAL, _c.EFAULT):
                raise AttributeError(f"{key} attribute is write-only or not for this socket "
                                     f"type") from None
            raise

    # -- options --------------------------------------------------------------
    def set(self, option: int, optval: int | bytes) -> None:
        if isinstance(optval, str):
            raise TypeError("unicode not allowed, use setsockopt_string")
        option = int(option)
        if option not in _KNOWN_OPTIONS and not isinstance(optval, int):
            # as pyzmq: an option number it does not know passes through as an int one
            raise TypeError(f"unknown socket option {option}: expected an int value, "
                            f"got {optval!r}")
        super().set(option, optval)

    setsockopt = set

    def get(self, option: int) -> Any:
        return super().get(int(option))

    getsockopt = get

    def set_string(self, option: int, optval: str, encoding: str = "utf-8") -> None:
        if not isinstance(optval, str):
            raise TypeError(f"strings only, not {type(optval)}")
        return self.set(option, optval.encode(encoding))

    setsockopt_string = setsockopt_unicode = set_string

    def get_string(self, option: int, encoding: str = "utf-8") -> str:
        opt = _c.SocketOption(option)
        if opt._opt_type != _c._OptType.bytes:
            raise TypeError(f"option {opt} will not return a string to be decoded")
        return str(self.get(option).decode(encoding))

    getsockopt_string = getsockopt_unicode = get_string

    @property
    def hwm(self) -> int:
        return int(self.get(_c.SNDHWM))

    @hwm.setter
    def hwm(self, value: int) -> None:
        self.set(_c.SNDHWM, value)
        self.set(_c.RCVHWM, value)

    def set_hwm(self, value: int) -> None:
        self.hwm = value

    def get_hwm(self) -> int:
        return self.hwm

    @property
    def type(self) -> _c.SocketType:
        """The socket type, as a SocketType."""
        return _socket_type(_SocketCore.socket_type.__get__(self))

    socket_type = type  # type: ignore[assignment]

    @property
    def rcvmore(self) -> int:
        """1 if the last frame received has more frames after it, else 0 (an int, as
        pyzmq's getsockopt(RCVMORE))."""
        return 1 if _SocketCore.rcvmore.__get__(self) else 0

    @property
    def underlying(self) -> int:
        """The socket's address as an int (the same for all its shadows); shadow() takes it."""
        return _register_address(self, _live_by_address)

    def fileno(self) -> int:
        return int(self.get(_c.FD))

    @property
    def linger(self) -> int:
        return int(self.get(_c.LINGER))

    @linger.setter
    def linger(self, value: int) -> None:
        self.set(_c.LINGER, value)

    # -- subscriptions -------------------------------------------------------
    def subscribe(self, topic: str | bytes) -> None:
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.set(_c.SUBSCRIBE, topic)

    def unsubscribe(self, topic: str | bytes) -> None:
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.set(_c.UNSUBSCRIBE, topic)

    # -- serialisation sugar -------------------------------------------------
    def send_string(self, u: str, flags: int = 0, copy: bool = True, encoding: str = "utf-8",
                    **kwargs: Any) -> MessageTracker | None:
        if not isinstance(u, str):
            raise TypeError("unicode/str objects only")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    send_unicode = send_string

    def recv_string(self, flags: int = 0, encoding: str = "utf-8") -> str:
        msg = self.recv(flags=flags)
        return codecs.decode(msg, encoding)  # type: ignore[no-any-return]

    recv_unicode = recv_string

    def send_pyobj(self, obj: Any, flags: int = 0, protocol: int = pickle.DEFAULT_PROTOCOL,
                   **kwargs: Any) -> MessageTracker | None:
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    def recv_pyobj(self, flags: int = 0) -> Any:
        return pickle.loads(self.recv(flags))

    def send_json(self, obj: Any, flags: int = 0, **kwargs: Any) -> MessageTracker | None:
        send_kwargs = {k: kwargs.pop(k) for k in ("routing_id", "group") if k in kwargs}
        msg = json.dumps(obj, **kwargs).encode("utf8")
        return self.send(msg, flags=flags, **send_kwargs)

    def recv_json(self, flags: int = 0, **kwargs: Any) -> Any:
        return json.loads(self.recv(flags), **kwargs)

    def send_serialized(self, msg: _T, serialize: Callable[[_T], Sequence[Any]], flags: int = 0,
                        copy: bool = True, **kwargs: Any) -> MessageTracker | None:
        frames = serialize(msg)
        return self.send_multipart(frames, flags=flags, copy=copy, **kwargs)

    def recv_serialized(self, deserialize: Callable[[list[Any]], _T], flags: int = 0,
                        copy: bool = True) -> _T:
        return deserialize(self.recv_multipart(flags, copy=copy))

    # -- monitor events (the core's monitor(); docs/observability.md) ----------
    _monitor_socket = None

    def get_monitor_socket(self, events=None, addr=None):
        """Start this socket's monitor and return a PAIR socket, already connected, that
        receives its events (decode them with ``zmqx.utils.monitor``). Called again while
        that PAIR is open, returns the same one. A socket of an asyncio context gets an
        asyncio PAIR."""
        if self._monitor_socket is not None:
            if self._monitor_socket.closed:
                self._monitor_socket = None
            else:
                return self._monitor_socket
        if addr is None:
            addr = f"inproc://monitor.s-{id(self):x}"
        if events is None:
            events = _c.Event.ALL
        self.monitor(addr, events)
        self._monitor_socket = sock = self.context.socket(_c.PAIR)
        sock.connect(addr)
        return sock

    def disable_monitor(self):
        """Stop the monitor; its reader gets MONITOR_STOPPED (if its filter has it)."""
        self._monitor_socket = None
        self.monitor(None, 0)

    # -- context manager / repr ----------------------------------------------
    def __enter__(self) -> Self:
        return self

    def __exit__(self, *args: Any) -> None:
        self.close()

    def __repr__(self) -> str:
        cls = type(self)
        # _repr_cls of this very class, not inherited: a subclass shows its own name
        name = cls.__dict__.get("_repr_cls") or f"{cls.__module__}.{cls.__name__}"
        stype = self.type
        tname = stype.name if isinstance(stype, _c.SocketType) else str(stype)
        closed = " closed" if self.closed else ""
        return f"<{name}(zmq.{tname}) at {hex(id(self))}{closed}>"

    def __copy__(self, memo: Any = None) -> Self:
        # as pyzmq: a copy is a shadow (a socket cannot be duplicated)
        return type(self).shadow(self)

    __deepcopy__ = __copy__


# pyzmq's name for the blocking socket (recv returns bytes), for type annotations
SyncSocket = Socket[bytes]
