"""Socket: pyzmq's sugar (strings, JSON, pickles, attribute options) over the Cython core."""

import codecs
import json
import pickle

from . import constants as _c
from ._core.msg import Frame as _Frame
from ._core.socket import Socket as _SocketCore
from .error import ZMQError

_INT_TYPES = (_c._OptType.int, _c._OptType.int64, _c._OptType.fd)


def _declared(cls, key):
    for klass in cls.__mro__:
        if key in klass.__dict__ or key in klass.__dict__.get("__annotations__", ()):
            return True
    return False


def _opt_from_name(name):
    try:
        return _c.SocketOption[name.upper()]
    except KeyError:
        return None


def _py_send_multipart(self, msg_parts, flags=0, copy=True, track=False, **kwargs):
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


def _py_recv_multipart(self, flags=0, copy=True, track=False):
    """recv_multipart for subclasses that override recv: every part comes from self.recv."""
    parts = [self.recv(flags, copy=copy, track=track)]
    while self.get(_c.RCVMORE):
        parts.append(self.recv(flags, copy=copy, track=track))
    return parts


class Socket(_SocketCore):
    """A ZeroMQ socket: create one with ``Context.socket(TYPE)``."""

    _shadow = False

    def __init_subclass__(cls, **kwargs):
        # The base class keeps the Cython multipart paths (one call for all parts). A
        # subclass that overrides send or recv but not the multipart call gets the Python
        # versions, which go through its send/recv for every part, as pyzmq's do.
        super().__init_subclass__(**kwargs)
        if cls.send is not _SocketCore.send and cls.send_multipart is _SocketCore.send_multipart:
            cls.send_multipart = _py_send_multipart
        if cls.recv is not _SocketCore.recv and cls.recv_multipart is _SocketCore.recv_multipart:
            cls.recv_multipart = _py_recv_multipart

    def __init__(self, context=None, socket_type=-1, **kwargs):
        if context is None:
            from .context import Context

            context = Context.instance()
        super().__init__(context, int(socket_type))

    # -- attribute options: sock.linger = 0, sock.sndhwm -------------------
    def __setattr__(self, key, value):
        # as pyzmq: a name is either declared by the class (attribute, property or
        # annotation) or a socket option; anything else is a typo, not a new attribute
        if key.startswith("_") or key in self.__dict__ or _declared(type(self), key):
            object.__setattr__(self, key, value)
            return
        opt = _opt_from_name(key)
        if opt is None:
            raise AttributeError(f"{type(self).__name__} has no such option: {key.upper()}")
        self.set(opt, value)

    def __getattr__(self, key):
        if key.startswith("_"):
            raise AttributeError(key)
        opt = _opt_from_name(key)
        if opt is None:
            raise AttributeError(f"{type(self).__name__} has no attribute {key!r}")
        return self.get(opt)

    # -- options --------------------------------------------------------------
    def set(self, option, optval):
        if isinstance(optval, str):
            raise TypeError("unicode not allowed, use setsockopt_string")
        super().set(int(option), optval)

    setsockopt = set

    def get(self, option):
        return super().get(int(option))

    getsockopt = get

    def set_string(self, option, optval, encoding="utf-8"):
        if not isinstance(optval, str):
            raise TypeError(f"strings only, not {type(optval)}")
        return self.set(option, optval.encode(encoding))

    setsockopt_string = setsockopt_unicode = set_string

    def get_string(self, option, encoding="utf-8"):
        opt = _c.SocketOption(option)
        if opt._opt_type != _c._OptType.bytes:
            raise TypeError(f"option {opt} will not return a string to be decoded")
        return self.get(option).decode(encoding)

    getsockopt_string = getsockopt_unicode = get_string

    @property
    def hwm(self):
        return self.get(_c.SNDHWM)

    @hwm.setter
    def hwm(self, value):
        self.set(_c.SNDHWM, value)
        self.set(_c.RCVHWM, value)

    def set_hwm(self, value):
        self.hwm = value

    def get_hwm(self):
        return self.hwm

    @property
    def type(self):
        return self.socket_type

    @property
    def underlying(self):
        return id(self)

    def fileno(self):
        return self.get(_c.FD)

    @property
    def linger(self):
        return self.get(_c.LINGER)

    @linger.setter
    def linger(self, value):
        self.set(_c.LINGER, value)

    # -- subscriptions -------------------------------------------------------
    def subscribe(self, topic):
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.set(_c.SUBSCRIBE, topic)

    def unsubscribe(self, topic):
        if isinstance(topic, str):
            topic = topic.encode("utf-8")
        self.set(_c.UNSUBSCRIBE, topic)

    # -- serialisation sugar -------------------------------------------------
    def send_string(self, u, flags=0, copy=True, encoding="utf-8", **kwargs):
        if not isinstance(u, str):
            raise TypeError("unicode/str objects only")
        return self.send(u.encode(encoding), flags=flags, copy=copy, **kwargs)

    send_unicode = send_string

    def recv_string(self, flags=0, encoding="utf-8"):
        msg = self.recv(flags=flags)
        return codecs.decode(msg, encoding)

    recv_unicode = recv_string

    def send_pyobj(self, obj, flags=0, protocol=pickle.DEFAULT_PROTOCOL, **kwargs):
        return self.send(pickle.dumps(obj, protocol), flags=flags, **kwargs)

    def recv_pyobj(self, flags=0):
        return pickle.loads(self.recv(flags))

    def send_json(self, obj, flags=0, **kwargs):
        send_kwargs = {k: kwargs.pop(k) for k in ("routing_id", "group") if k in kwargs}
        msg = json.dumps(obj, **kwargs).encode("utf8")
        return self.send(msg, flags=flags, **send_kwargs)

    def recv_json(self, flags=0, **kwargs):
        return json.loads(self.recv(flags), **kwargs)

    def send_serialized(self, msg, serialize, flags=0, copy=True, **kwargs):
        frames = serialize(msg)
        return self.send_multipart(frames, flags=flags, copy=copy, **kwargs)

    def recv_serialized(self, deserialize, flags=0, copy=True):
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
    def __enter__(self):
        return self

    def __exit__(self, *args):
        self.close()

    def __repr__(self):
        try:
            name = _c.SocketType(self.socket_type).name
        except ValueError:
            name = str(self.socket_type)
        closed = " closed" if self.closed else ""
        return f"<{type(self).__module__}.{type(self).__name__}(zmq.{name}) at {hex(id(self))}{closed}>"

    def __copy__(self):
        return self

    def __deepcopy__(self, memo):
        return self
