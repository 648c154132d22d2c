"""zmqx.constants: libzmq 4.3.5 numbers under pyzmq's names.

pyzmq (a test-only dependency) is the reference for names, values, enum kinds
and option types; the spot checks at the top hold without it.
"""

import ast
import enum
import errno
import os
import sys

import pytest

import zmqx.constants as zc
from zmqx.constants import (
    ContextOption,
    DeviceType,
    Errno,
    Event,
    Flag,
    MessageOption,
    PollEvent,
    SecurityMechanism,
    SocketOption,
    SocketType,
    _OptType,
)

ENUM_NAMES = [
    "SocketType",
    "SocketOption",
    "Flag",
    "PollEvent",
    "Errno",
    "Event",
    "ContextOption",
    "MessageOption",
    "SecurityMechanism",
    "RouterNotify",
    "ReconnectStop",
    "NormMode",
    "DeviceType",
]

# members zmqx has and pyzmq 27.3 does not (all libzmq names/numbers)
EXTRA_MEMBERS = {
    "Errno": {"EINTR", "ENOMEM", "ENODEV"},
    "ContextOption": {"ZERO_COPY_RECV", "IPV6", "BLOCKY"},
}


@pytest.fixture(scope="module")
def pyzmq_constants():
    zmq = pytest.importorskip("zmq")
    import zmq.constants

    return zmq.constants


# ---------------------------------------------------------------------------
# without pyzmq: the numbers from zmq.h
# ---------------------------------------------------------------------------


def test_spot_values():
    assert [int(t) for t in (zc.PAIR, zc.PUB, zc.SUB, zc.REQ, zc.REP, zc.DEALER)] == list(range(6))
    assert (zc.ROUTER, zc.PULL, zc.PUSH, zc.XPUB, zc.XSUB, zc.STREAM) == (6, 7, 8, 9, 10, 11)
    assert zc.XREQ is SocketType.DEALER and zc.XREP is SocketType.ROUTER
    assert (zc.SERVER, zc.CLIENT, zc.RADIO, zc.DISH, zc.GATHER, zc.SCATTER) == (12, 13, 14, 15, 16, 17)
    assert (zc.DGRAM, zc.PEER, zc.CHANNEL) == (18, 19, 20)

    assert zc.AFFINITY == 4
    assert zc.ROUTING_ID == zc.IDENTITY == 5
    assert (zc.SUBSCRIBE, zc.UNSUBSCRIBE, zc.RATE) == (6, 7, 8)
    assert (zc.LINGER, zc.RECONNECT_IVL, zc.BACKLOG) == (17, 18, 19)
    assert (zc.RECONNECT_IVL_MAX, zc.MAXMSGSIZE, zc.SNDHWM, zc.RCVHWM) == (21, 22, 23, 24)
    assert (zc.RCVTIMEO, zc.SNDTIMEO, zc.LAST_ENDPOINT, zc.ROUTER_MANDATORY) == (27, 28, 32, 33)
    assert (zc.TCP_KEEPALIVE, zc.IMMEDIATE, zc.XPUB_VERBOSE, zc.ROUTER_RAW, zc.IPV6) == (34, 39, 40, 41, 42)
    assert (zc.HEARTBEAT_IVL, zc.HEARTBEAT_TTL, zc.HEARTBEAT_TIMEOUT) == (75, 76, 77)
    assert (zc.CONNECT_TIMEOUT, zc.ROUTER_NOTIFY, zc.NORM_PUSH) == (79, 97, 124)

    assert zc.DONTWAIT == zc.NOBLOCK == 1 and zc.SNDMORE == 2
    assert (zc.POLLIN, zc.POLLOUT, zc.POLLERR, zc.POLLPRI) == (1, 2, 4, 8)
    assert (zc.MORE, zc.SRCFD, zc.SHARED) == (1, 2, 3)
    assert (zc.IO_THREADS, zc.MAX_SOCKETS, zc.SOCKET_LIMIT, zc.THREAD_PRIORITY) == (1, 2, 3, 3)
    assert (zc.MAX_MSGSZ, zc.MSG_T_SIZE, zc.THREAD_NAME_PREFIX) == (5, 6, 9)
    assert ContextOption.BLOCKY == 70 and ContextOption.IPV6 == 42
    assert (zc.STREAMER, zc.FORWARDER, zc.QUEUE) == (1, 2, 3)
    assert (zc.NULL, zc.PLAIN, zc.CURVE, zc.GSSAPI) == (0, 1, 2, 3)
    assert (zc.NOTIFY_CONNECT, zc.NOTIFY_DISCONNECT) == (1, 2)

    assert zc.EVENT_CONNECTED == 1 and zc.EVENT_HANDSHAKE_FAILED_AUTH == 0x4000
    assert zc.EVENT_ALL == zc.EVENT_ALL_V1 == 0xFFFF and zc.EVENT_ALL_V2 == 0x1FFFF
    assert zc.PROTOCOL_ERROR_ZMTP_UNSPECIFIED == 0x10000000

    assert zc.EFSM == 156384712 + 51
    assert zc.ENOCOMPATPROTO == 156384712 + 52
    assert zc.ETERM == 156384712 + 53
    assert zc.EMTHREAD == 156384712 + 54
    assert zc.EAGAIN == errno.EAGAIN and zc.EINTR == errno.EINTR
    assert zc.ENOMEM == errno.ENOMEM and zc.ENODEV == errno.ENODEV

    assert (zc.VERSION_MAJOR, zc.VERSION_MINOR, zc.VERSION_PATCH) == (4, 3, 5)
    assert zc.VERSION == 40305
    assert zc.DRAFT_API is True          # zmqx always builds the draft socket types
    if sys.platform.startswith("linux"):
        assert zc.IPC_PATH_MAX_LEN == 107


@pytest.mark.skipif(sys.platform.startswith("win"), reason="Windows uses MSVC errno.h values")
def test_posix_errnos_come_from_errno_module():
    for name in ("ENOTSUP", "EADDRINUSE", "ECONNREFUSED", "EHOSTUNREACH", "ENETRESET"):
        if hasattr(errno, name):
            assert Errno[name] == getattr(errno, name)
        else:  # zmq.h fallback
            assert Errno[name] > 156384712


def test_opt_types():
    assert {t.name for t in _OptType} == {"int", "int64", "bytes", "fd"}
    for opt in SocketOption:
        assert isinstance(opt._opt_type, _OptType)
    assert zc.AFFINITY._opt_type is _OptType.int64
    assert zc.MAXMSGSIZE._opt_type is _OptType.int64
    assert zc.FD._opt_type is _OptType.fd
    for opt in (zc.ROUTING_ID, zc.SUBSCRIBE, zc.LAST_ENDPOINT, zc.CURVE_SERVERKEY, zc.ZAP_DOMAIN):
        assert opt._opt_type is _OptType.bytes
    for opt in (zc.LINGER, zc.SNDHWM, zc.RCVMORE, zc.EVENTS, zc.TYPE, zc.HEARTBEAT_IVL):
        assert opt._opt_type is _OptType.int
    # aliases are the same member, so they share the type
    assert zc.IDENTITY is SocketOption.ROUTING_ID
    assert SocketOption(5)._opt_type is _OptType.bytes


def test_enum_kinds():
    for cls in (Flag, PollEvent, Event):
        assert issubclass(cls, enum.IntFlag)
    for cls in (SocketType, SocketOption, Errno, ContextOption, MessageOption, SecurityMechanism, DeviceType):
        assert issubclass(cls, enum.IntEnum)
    assert Flag.DONTWAIT | Flag.SNDMORE == 3
    assert Event(Event.CONNECTED | Event.DISCONNECTED) == 0x201


def test_flat_names_are_members():
    for name in zc.__all__:
        assert hasattr(zc, name), name
    ns = {}
    exec("from zmqx.constants import *", ns)
    for name in ("PUSH", "PULL", "SNDHWM", "EAGAIN", "ETERM", "POLLIN", "EVENT_ACCEPTED", "DRAFT_API"):
        assert name in ns
    assert ns["PUSH"] is SocketType.PUSH
    assert "_OptType" not in ns


def test_flat_name_collisions_resolved_to_socket_options():
    """Only IPV6 and BLOCKY are both a SocketOption and a ContextOption; the flat
    name is the SocketOption member, as in pyzmq (the numbers are equal)."""
    seen = {}
    for cls in zc._ENUMS:
        for name, member in cls.__members__.items():
            flat = zc._flat_name(cls, name)
            seen.setdefault(flat, set()).add(cls.__name__)
    clashes = {k: v for k, v in seen.items() if len(v) > 1}
    assert clashes == {
        "IPV6": {"SocketOption", "ContextOption"},
        "BLOCKY": {"SocketOption", "ContextOption"},
    }
    assert type(zc.IPV6) is SocketOption and type(zc.BLOCKY) is SocketOption


def _imports(path):
    tree = ast.parse(open(path, encoding="utf-8").read())
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield 0, alias.name
        elif isinstance(node, ast.ImportFrom):
            yield node.level, node.module or ""


@pytest.mark.parametrize("module", ["constants.py", "error.py"])
def test_modules_import_only_stdlib(module):
    path = os.path.join(os.path.dirname(zc.__file__), module)
    for level, name in _imports(path):
        if level:
            assert name == "constants", name
        else:
            top = name.split(".")[0]
            assert top in sys.stdlib_module_names or top == "__future__", name


# ---------------------------------------------------------------------------
# against pyzmq
# ---------------------------------------------------------------------------


@pytest.mark.parametrize("cls_name", ENUM_NAMES)
def test_enum_matches_pyzmq(pyzmq_constants, cls_name):
    theirs = getattr(pyzmq_constants, cls_name)
    ours = getattr(zc, cls_name)
    # same kind of enum
    assert issubclass(ours, enum.IntFlag) == issubclass(theirs, enum.IntFlag)
    assert issubclass(ours, enum.IntEnum) == issubclass(theirs, enum.IntEnum)
    # every name pyzmq has (aliases included), same number, same canonical member
    for name, member in theirs.__members__.items():
        assert name in ours.__members__, f"{cls_name}.{name} missing"
        mine = ours.__members__[name]
        assert int(mine) == int(member), f"{cls_name}.{name}"
        assert mine.name == member.name, f"{cls_name}.{name} canonical name"
    # and nothing else but the deliberate extras
    extra = set(ours.__members__) - set(theirs.__members__)
    assert extra == EXTRA_MEMBERS.get(cls_name, set())
    # same iteration (canonical members, in order), minus the extras
    extras = EXTRA_MEMBERS.get(cls_name, set())
    assert [m.name for m in ours if m.name not in extras] == [m.name for m in theirs]


def test_opt_types_match_pyzmq(pyzmq_constants):
    assert [t.name for t in _OptType] == [t.name for t in pyzmq_constants._OptType]
    assert [t.value for t in _OptType] == [t.value for t in pyzmq_constants._OptType]
    for name, member in pyzmq_constants.SocketOption.__members__.items():
        assert SocketOption[name]._opt_type.name == member._opt_type.name, name


def test_flat_names_match_pyzmq(pyzmq_constants):
    for name in pyzmq_constants.__all__:
        theirs = getattr(pyzmq_constants, name)
        if isinstance(theirs, type):
            if issubclass(theirs, enum.Enum) and theirs.__module__ == pyzmq_constants.__name__:
                assert name in zc.__all__
                assert isinstance(getattr(zc, name), type)
            # pyzmq's __all__ also lists Enum, IntEnum, IntFlag: not re-exported
            continue
        assert name in zc.__all__, name
        ours = getattr(zc, name)
        assert int(ours) == int(theirs), name
        assert type(ours).__name__ == type(theirs).__name__, name
        assert ours.name == theirs.name, name


def test_all_matches_pyzmq(pyzmq_constants):
    theirs = set(pyzmq_constants.__all__) - {"Enum", "IntEnum", "IntFlag"}
    ours = set(zc.__all__)
    assert theirs <= ours
    assert ours - theirs == {
        # enum extras, flat
        "EINTR",
        "ENOMEM",
        "ENODEV",
        "ZERO_COPY_RECV",
        # module-level values pyzmq exports from zmq/ itself, or not at all
        "DRAFT_API",
        "IPC_PATH_MAX_LEN",
        "VERSION",
        "VERSION_MAJOR",
        "VERSION_MINOR",
        "VERSION_PATCH",
    }


def test_module_values_match_pyzmq():
    zmq = pytest.importorskip("zmq")
    # the one deliberate difference: zmqx always builds the draft API, pyzmq's wheels don't
    assert zc.DRAFT_API is True and zmq.DRAFT_API in (True, False)
    if not sys.platform.startswith("win"):
        assert zc.IPC_PATH_MAX_LEN == zmq.IPC_PATH_MAX_LEN
    assert (zc.VERSION_MAJOR, zc.VERSION_MINOR, zc.VERSION_PATCH) == (4, 3, 5)
