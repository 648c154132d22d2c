"""ZeroMQ constants, as enums with libzmq 4.3.5's numeric values.

The class and member names follow pyzmq's ``zmq.constants`` so that code written
for pyzmq (``zmq.SocketType.PUSH``, ``zmq.SNDHWM``, ``zmq.Event.CONNECTED``...)
runs unchanged. Every member is also available flat at module level; most keep
their own name, a few enums add a prefix (``Event.CONNECTED`` -> ``EVENT_CONNECTED``,
``RouterNotify.CONNECT`` -> ``NOTIFY_CONNECT``, ``NormMode.CC`` -> ``NORM_CC``,
``ReconnectStop.CONN_REFUSED`` -> ``RECONNECT_STOP_CONN_REFUSED``).

Numbers come from libzmq's ``zmq.h`` (including its draft section): they are what
goes into ``getsockopt``/``setsockopt`` calls and what peers and tools expect.
This module imports only the standard library.
"""

from __future__ import annotations

import errno as _errno
import sys as _sys
from enum import Enum, IntEnum, IntFlag

# ---------------------------------------------------------------------------
# version of the libzmq API that zmqx implements
# ---------------------------------------------------------------------------

VERSION_MAJOR = 4
VERSION_MINOR = 3
VERSION_PATCH = 5
VERSION = VERSION_MAJOR * 10000 + VERSION_MINOR * 100 + VERSION_PATCH  # 40305

#: zmqx always builds libzmq's draft socket types (CLIENT/SERVER, SCATTER/GATHER,
#: PEER, CHANNEL, RADIO/DISH) and pyzmq's draft API for them (Frame.routing_id, ...).
DRAFT_API = True

# Longest ipc:// path, sizeof(sockaddr_un.sun_path) - 1 on this platform.
if _sys.platform == "darwin" or "bsd" in _sys.platform or _sys.platform.startswith("dragonfly"):
    IPC_PATH_MAX_LEN = 103
else:  # Linux, Windows (afunix.h), and the rest
    IPC_PATH_MAX_LEN = 107

# libzmq's base for its own error numbers ("a number random enough not to
# collide with errno ranges on different OSes").
_HAUSNUMERO = 156384712

# ---------------------------------------------------------------------------
# errors
# ---------------------------------------------------------------------------

if _sys.platform.startswith("win"):
    # libzmq on Windows is built against MSVC's errno.h, which defines these
    # (the "POSIX supplement", VS2010+). Python's errno module maps the same
    # names to WSA* codes instead (e.g. EADDRINUSE = 10048), so we cannot take
    # them from it: a value must equal what libzmq peers/pyzmq users see.
    _POSIX_NET_ERRNOS = {
        "ENOTSUP": 129,
        "EPROTONOSUPPORT": 135,
        "ENOBUFS": 119,
        "ENETDOWN": 116,
        "EADDRINUSE": 100,
        "EADDRNOTAVAIL": 101,
        "ECONNREFUSED": 107,
        "EINPROGRESS": 112,
        "ENOTSOCK": 128,
        "EMSGSIZE": 115,
        "EAFNOSUPPORT": 102,
        "ENETUNREACH": 118,
        "ECONNABORTED": 106,
        "ECONNRESET": 108,
        "ENOTCONN": 126,
        "ETIMEDOUT": 138,
        "EHOSTUNREACH": 110,
        "ENETRESET": 117,
    }
else:
    # zmq.h: use the platform's errno.h value where it has one, otherwise
    # ZMQ_HAUSNUMERO + n (n is the position in this list, starting at 1).
    _POSIX_NET_ERRNOS = {
        _name: getattr(_errno, _name, _HAUSNUMERO + _n)
        for _n, _name in enumerate(
            (
                "ENOTSUP",
                "EPROTONOSUPPORT",
                "ENOBUFS",
                "ENETDOWN",
                "EADDRINUSE",
                "EADDRNOTAVAIL",
                "ECONNREFUSED",
                "EINPROGRESS",
                "ENOTSOCK",
                "EMSGSIZE",
                "EAFNOSUPPORT",
                "ENETUNREACH",
                "ECONNABORTED",
                "ECONNRESET",
                "ENOTCONN",
                "ETIMEDOUT",
                "EHOSTUNREACH",
                "ENETRESET",
            ),
            start=1,
        )
    }


class Errno(IntEnum):
    """Error numbers used by ZeroMQ (the ``errno`` of a ZMQError)."""

    # ISO C / POSIX ones, always in the platform's errno.h
    EAGAIN = _errno.EAGAIN
    EFAULT = _errno.EFAULT
    EINVAL = _errno.EINVAL
    # (not in pyzmq's Errno, but libzmq returns them too)
    EINTR = _errno.EINTR
    ENOMEM = _errno.ENOMEM
    ENODEV = _errno.ENODEV

    # networking ones, see _POSIX_NET_ERRNOS above
    ENOTSUP = _POSIX_NET_ERRNOS["ENOTSUP"]
    EPROTONOSUPPORT = _POSIX_NET_ERRNOS["EPROTONOSUPPORT"]
    ENOBUFS = _POSIX_NET_ERRNOS["ENOBUFS"]
    ENETDOWN = _POSIX_NET_ERRNOS["ENETDOWN"]
    EADDRINUSE = _POSIX_NET_ERRNOS["EADDRINUSE"]
    EADDRNOTAVAIL = _POSIX_NET_ERRNOS["EADDRNOTAVAIL"]
    ECONNREFUSED = _POSIX_NET_ERRNOS["ECONNREFUSED"]
    EINPROGRESS = _POSIX_NET_ERRNOS["EINPROGRESS"]
    ENOTSOCK = _POSIX_NET_ERRNOS["ENOTSOCK"]
    EMSGSIZE = _POSIX_NET_ERRNOS["EMSGSIZE"]
    EAFNOSUPPORT = _POSIX_NET_ERRNOS["EAFNOSUPPORT"]
    ENETUNREACH = _POSIX_NET_ERRNOS["ENETUNREACH"]
    ECONNABORTED = _POSIX_NET_ERRNOS["ECONNABORTED"]
    ECONNRESET = _POSIX_NET_ERRNOS["ECONNRESET"]
    ENOTCONN = _POSIX_NET_ERRNOS["ENOTCONN"]
    ETIMEDOUT = _POSIX_NET_ERRNOS["ETIMEDOUT"]
    EHOSTUNREACH = _POSIX_NET_ERRNOS["EHOSTUNREACH"]
    ENETRESET = _POSIX_NET_ERRNOS["ENETRESET"]

    # ZeroMQ's own
    EFSM = _HAUSNUMERO + 51
    ENOCOMPATPROTO = _HAUSNUMERO + 52
    ETERM = _HAUSNUMERO + 53
    EMTHREAD = _HAUSNUMERO + 54


# ---------------------------------------------------------------------------
# contexts
# ---------------------------------------------------------------------------


class ContextOption(IntEnum):
    """Options for ``Context.get`` / ``Context.set``."""

    IO_THREADS = 1
    MAX_SOCKETS = 2
    SOCKET_LIMIT = 3  # read-only
    THREAD_PRIORITY = 3  # write-only; same number as SOCKET_LIMIT in zmq.h
    THREAD_SCHED_POLICY = 4
    MAX_MSGSZ = 5
    MSG_T_SIZE = 6
    THREAD_AFFINITY_CPU_ADD = 7
    THREAD_AFFINITY_CPU_REMOVE = 8
    THREAD_NAME_PREFIX = 9
    ZERO_COPY_RECV = 10  # draft
    # socket option numbers that libzmq also accepts on a context
    # (not in pyzmq's ContextOption; the flat names BLOCKY and IPV6 stay the
    # SocketOption members, as in pyzmq -- the numbers are the same)
    IPV6 = 42
    BLOCKY = 70


# libzmq's defaults for new contexts (zmq.h *_DFLT); not exported flat.
IO_THREADS_DFLT = 1
MAX_SOCKETS_DFLT = 1023
THREAD_PRIORITY_DFLT = -1
THREAD_SCHED_POLICY_DFLT = -1

# ---------------------------------------------------------------------------
# sockets
# ---------------------------------------------------------------------------


class SocketType(IntEnum):
    """Socket types, the argument of ``Context.socket``."""

    PAIR = 0
    PUB = 1
    SUB = 2
    REQ = 3
    REP = 4
    DEALER = 5
    ROUTER = 6
    PULL = 7
    PUSH = 8
    XPUB = 9
    XSUB = 10
    STREAM = 11

    # old names
    XREQ = 5
    XREP = 6

    # draft socket types (thread-safe / single-part in libzmq)
    SERVER = 12
    CLIENT = 13
    RADIO = 14
    DISH = 15
    GATHER = 16
    SCATTER = 17
    DGRAM = 18
    PEER = 19
    CHANNEL = 20


class _OptType(Enum):
    """C type of a socket option's value.

    ``int`` is a C int, ``int64`` a 64-bit integer, ``bytes`` a binary or
    string buffer, ``fd`` a file descriptor (a SOCKET, 64 bits, on Windows).
    """

    int = "int"
    int64 = "int64"
    bytes = "bytes"
    fd = "fd"


_INT = _OptType.int
_I64 = _OptType.int64
_BYTES = _OptType.bytes
_FD = _OptType.fd


# ---------------------------------------------------------------------------
# the socket options table
# ---------------------------------------------------------------------------
#
# The one source of socket option numbers. Each row: name, number (zmq.h), value type,
# default, the socket types that accept it (None: every type), where zmqx keeps it, and
# how libzmq 4.3.5 lets it be used. ``SocketOption`` below is built from these rows, and
# the socket core (zmqx/_core/socket.pyx) builds its set/get dispatch from them, so an
# option is added here and nowhere else (plus, if it does something, the code that uses
# it).
#
# Where it is kept ("store"):
#   "session.F"  field F of the options snapshot each connection takes at bind/connect
#   "socket.F"   field F of the socket core (used by the core itself: timeouts, linger)
#   "shared.F"   field F of the core state the socket type rooms read (conflate, invert)
#   "type"       the socket type's own room (its setopt/getopt hooks)
#   "core"       special-cased by the socket core (read-only facts, identities, aliases)
#   "sec"        the security options (PLAIN_*, CURVE_*, ZAP_*, MECHANISM): kept in the
#                snapshot too, with libzmq's coupling (each PLAIN_/CURVE_ option sets
#                MECHANISM and the server role); see socket_options.pxi
#   "kept"       remembered and returned as libzmq does; zmqx has no use for it (no pgm,
#                no SOCKS proxy, no CPU affinity...)
#   None         not supported by zmqx: EINVAL, whatever libzmq does
# Access: "rw"; "r" read-only; "w" write-only (libzmq refuses to read it: EINVAL).
# Check: the values libzmq accepts (anything else is EINVAL): "bool" 0 or 1; "flag" any
# value >= 0 (true if > 0); ">=0", ">0", ">=-1"; "-1..1"; for bytes, "1..255" / "0..255" (length
# bounds) and "nonempty"; "key" a CURVE key: 32 raw bytes, 40 Z85 characters or 41 with a
# trailing NUL (never readable, as through pyzmq). CONNECT_ROUTING_ID is also capped at 255 bytes (libzmq takes
# more; a ZMTP routing id cannot be longer).
#
# Deliberate differences from libzmq 4.3.5 (the readable ones and the HEARTBEAT_TIMEOUT
# default are pinned by the existing tests):
# HWM is accepted (libzmq refuses it; pyzmq emulates it in Python), REP refuses the ROUTER
# options libzmq's REP inherits (ROUTER_MANDATORY, ROUTER_HANDOVER, CONNECT_ROUTING_ID),
# PROBE_ROUTER, REQ_CORRELATE, REQ_RELAXED, XPUB_VERBOSE, XPUB_VERBOSER, XPUB_NODROP and
# XPUB_MANUAL are readable (libzmq: write-only), and
# HEARTBEAT_TIMEOUT defaults to 0 (libzmq: -1, "use HEARTBEAT_IVL"; both mean the same).

_ALL = None
_PUBS = ("PUB", "XPUB")
_SUBS = ("SUB", "XSUB")

# fmt: off
_SOCKET_OPTIONS = (
    # name                      num  type    default  types             store                          access  check
    ("HWM",                       1, _INT,   1000,    _ALL,             "core",                        "rw", ">=0"),
    ("AFFINITY",                  4, _I64,   0,       _ALL,             "kept",                        "rw", None),
    ("ROUTING_ID",                5, _BYTES, b"",     _ALL,             "core",                        "rw", "1..255"),
    ("SUBSCRIBE",                 6, _BYTES, None,    ("SUB", "XPUB"),  "type",                        "w", None),
    ("UNSUBSCRIBE",               7, _BYTES, None,    ("SUB", "XPUB"),  "type",                        "w", None),
    ("RATE",                      8, _INT,   100,     _ALL,             "kept",                        "rw", ">0"),
    ("RECOVERY_IVL",              9, _INT,   10000,   _ALL,             "kept",                        "rw", ">=0"),
    ("SNDBUF",                   11, _INT,   -1,      _ALL,             "session.sndbuf",              "rw", ">=-1"),
    ("RCVBUF",                   12, _INT,   -1,      _ALL,             "session.rcvbuf",              "rw", ">=-1"),
    ("RCVMORE",                  13, _INT,   0,       _ALL,             "core",                        "r", None),
    ("FD",                       14, _FD,    None,    _ALL,             "core",                        "r", None),
    ("EVENTS",                   15, _INT,   None,    _ALL,             "core",                        "r", None),
    ("TYPE",                     16, _INT,   None,    _ALL,             "core",                        "r", None),
    ("LINGER",                   17, _INT,   "type",  _ALL,             "socket.linger",               "rw", ">=-1"),
    ("RECONNECT_IVL",            18, _INT,   100,     _ALL,             "session.reconnect_ivl",       "rw", ">=-1"),
    ("BACKLOG",                  19, _INT,   100,     _ALL,             "socket.backlog",              "rw", ">=0"),
    ("RECONNECT_IVL_MAX",        21, _INT,   0,       _ALL,             "session.reconnect_ivl_max",   "rw", ">=0"),
    ("MAXMSGSIZE",               22, _I64,   -1,      _ALL,             "session.maxmsgsize",          "rw", None),
    ("SNDHWM",                   23, _INT,   1000,    _ALL,             "session.sndhwm",              "rw", ">=0"),
    ("RCVHWM",                   24, _INT,   1000,    _ALL,             "session.rcvhwm",              "rw", ">=0"),
    ("MULTICAST_HOPS",           25, _INT,   1,       _ALL,             "kept",                        "rw", ">0"),
    ("RCVTIMEO",                 27, _INT,   -1,      _ALL,             "socket.rcvtimeo",             "rw", ">=-1"),
    ("SNDTIMEO",                 28, _INT,   -1,      _ALL,             "socket.sndtimeo",             "rw", ">=-1"),
    ("LAST_ENDPOINT",            32, _BYTES, b"",     _ALL,             "core",                        "r", None),
    ("ROUTER_MANDATORY",         33, _INT,   0,       ("ROUTER",),      "type",                        "w", "flag"),
    ("TCP_KEEPALIVE",            34, _INT,   -1,      _ALL,             "session.tcp_keepalive",       "rw", "-1..1"),
    ("TCP_KEEPALIVE_CNT",        35, _INT,   -1,      _ALL,             "session.tcp_keepalive_cnt",   "rw", ">=-1"),
    ("TCP_KEEPALIVE_IDLE",       36, _INT,   -1,      _ALL,             "session.tcp_keepalive_idle",  "rw", ">=-1"),
    ("TCP_KEEPALIVE_INTVL",      37, _INT,   -1,      _ALL,             "session.tcp_keepalive_intvl", "rw", ">=-1"),
    ("IMMEDIATE",                39, _INT,   0,       _ALL,             "session.immediate",           "rw", "bool"),
    ("XPUB_VERBOSE",             40, _INT,   0,       _PUBS,            "type",                        "rw", "flag"),
    ("ROUTER_RAW",               41, _INT,   0,       ("ROUTER",),      None,                          "w", None),
    ("IPV6",                     42, _INT,   0,       _ALL,             "socket.ipv6",                 "rw", "bool"),
    ("MECHANISM",                43, _INT,   0,       _ALL,             "sec",                         "r", None),
    ("PLAIN_SERVER",             44, _INT,   0,       _ALL,             "sec",                         "rw", "bool"),
    ("PLAIN_USERNAME",           45, _BYTES, b"",     _ALL,             "sec",                         "rw", "1..255"),
    ("PLAIN_PASSWORD",           46, _BYTES, b"",     _ALL,             "sec",                         "rw", "1..255"),
    ("CURVE_SERVER",             47, _INT,   0,       _ALL,             "sec",                         "rw", "bool"),
    ("CURVE_PUBLICKEY",          48, _BYTES, None,    _ALL,             "sec",                         "w", "key"),
    ("CURVE_SECRETKEY",          49, _BYTES, None,    _ALL,             "sec",                         "w", "key"),
    ("CURVE_SERVERKEY",          50, _BYTES, None,    _ALL,             "sec",                         "w", "key"),
    ("PROBE_ROUTER",             51, _INT,   0,       ("ROUTER", "DEALER", "REQ", "REP"), "session.probe_router", "rw", "flag"),
    ("REQ_CORRELATE",            52, _INT,   0,       ("REQ",),         "type",                        "rw", "flag"),
    ("REQ_RELAXED",              53, _INT,   0,       ("REQ",),         "type",                        "rw", "flag"),
    ("CONFLATE",                 54, _INT,   0,       _ALL,             "shared.conflate",             "rw", "bool"),
    ("ZAP_DOMAIN",               55, _BYTES, b"",     _ALL,             "sec",                         "rw", "1..255"),
    ("ROUTER_HANDOVER",          56, _INT,   0,       ("ROUTER",),      "type",                        "w", "flag"),
    ("TOS",                      57, _INT,   0,       _ALL,             "kept",                        "rw", ">=0"),
    ("CONNECT_ROUTING_ID",       61, _BYTES, None,    ("ROUTER", "STREAM"), "core",                    "w", "1..255"),
    ("GSSAPI_SERVER",            62, _INT,   None,    _ALL,             None,                          "rw", None),
    ("GSSAPI_PRINCIPAL",         63, _BYTES, None,    _ALL,             None,                          "rw", None),
    ("GSSAPI_SERVICE_PRINCIPAL", 64, _BYTES, None,    _ALL,             None,                          "rw", None),
    ("GSSAPI_PLAINTEXT",         65, _INT,   None,    _ALL,             None,                          "rw", None),
    ("HANDSHAKE_IVL",            66, _INT,   30000,   _ALL,             "session.handshake_ivl",       "rw", ">=0"),
    ("SOCKS_PROXY",              68, _BYTES, b"",     _ALL,             "kept",                        "rw", "nonempty"),
    ("XPUB_NODROP",              69, _INT,   0,       _PUBS + ("RADIO",), "type",                        "rw", "flag"),
    ("BLOCKY",                   70, _INT,   None,    _ALL,             None,                          "rw", None),
    ("XPUB_MANUAL",              71, _INT,   0,       _PUBS,            "type",                        "rw", "flag"),
    ("XPUB_WELCOME_MSG",         72, _BYTES, None,    _PUBS,            "type",                        "w", None),
    ("STREAM_NOTIFY",            73, _INT,   1,       ("STREAM",),      "session.raw_notify",          "w", "bool"),
    ("INVERT_MATCHING",          74, _INT,   0,       _ALL,             "shared.invert_matching",      "rw", None),
    ("HEARTBEAT_IVL",            75, _INT,   0,       _ALL,             "session.heartbeat_ivl",       "rw", ">=0"),
    ("HEARTBEAT_TTL",            76, _INT,   0,       _ALL,             "session.heartbeat_ttl",       "rw", None),
    ("HEARTBEAT_TIMEOUT",        77, _INT,   0,       _ALL,             "session.heartbeat_timeout",   "rw", ">=0"),
    ("XPUB_VERBOSER",            78, _INT,   0,       _PUBS,            "type",                        "rw", "flag"),
    ("CONNECT_TIMEOUT",          79, _INT,   0,       _ALL,             "session.connect_timeout",     "rw", ">=0"),
    ("TCP_MAXRT",                80, _INT,   0,       _ALL,             "kept",                        "rw", ">=0"),
    ("THREAD_SAFE",              81, _INT,   0,       _ALL,             "core",                        "r", None),
    ("MULTICAST_MAXTPDU",        84, _INT,   1500,    _ALL,             "kept",                        "rw", ">0"),
    ("VMCI_BUFFER_SIZE",         85, _I64,   None,    _ALL,             None,                          "rw", None),
    ("VMCI_BUFFER_MIN_SIZE",     86, _I64,   None,    _ALL,             None,                          "rw", None),
    ("VMCI_BUFFER_MAX_SIZE",     87, _I64,   None,    _ALL,             None,                          "rw", None),
    ("VMCI_CONNECT_TIMEOUT",     88, _INT,   None,    _ALL,             None,                          "rw", None),
    ("USE_FD",                   89, _INT,   -1,      _ALL,             "kept",                        "rw", ">=-1"),
    ("GSSAPI_PRINCIPAL_NAMETYPE", 90, _INT,  None,    _ALL,             None,                          "rw", None),
    ("GSSAPI_SERVICE_PRINCIPAL_NAMETYPE", 91, _INT, None, _ALL,         None,                          "rw", None),
    ("BINDTODEVICE",             92, _BYTES, b"",     _ALL,             "kept",                        "rw", "1..255"),
    # deprecated options
    ("TCP_ACCEPT_FILTER",        38, _BYTES, None,    _ALL,             None,                          "w", None),
    ("IPC_FILTER_PID",           58, _INT,   None,    _ALL,             None,                          "w", None),
    ("IPC_FILTER_UID",           59, _INT,   None,    _ALL,             None,                          "w", None),
    ("IPC_FILTER_GID",           60, _INT,   None,    _ALL,             None,                          "w", None),
    ("IPV4ONLY",                 31, _INT,   1,       _ALL,             "core",                        "rw", "bool"),
    # draft options (libzmq 4.3.x)
    ("ZAP_ENFORCE_DOMAIN",       93, _INT,   0,       _ALL,             "sec",                         "rw", None),
    ("LOOPBACK_FASTPATH",        94, _INT,   0,       _ALL,             "kept",                        "rw", None),
    ("METADATA",                 95, _BYTES, None,    _ALL,             None,                          "w", None),
    ("MULTICAST_LOOP",           96, _INT,   1,       _ALL,             "kept",                        "rw", None),
    ("ROUTER_NOTIFY",            97, _INT,   0,       ("ROUTER",),      None,                          "rw", None),
    ("XPUB_MANUAL_LAST_VALUE",   98, _INT,   0,       _PUBS,            None,                          "w", None),
    ("SOCKS_USERNAME",           99, _BYTES, b"",     _ALL,             "kept",                        "rw", "0..255"),
    ("SOCKS_PASSWORD",          100, _BYTES, b"",     _ALL,             "kept",                        "rw", "0..255"),
    ("IN_BATCH_SIZE",           101, _INT,   None,    _ALL,             None,                          "rw", None),
    ("OUT_BATCH_SIZE",          102, _INT,   None,    _ALL,             None,                          "rw", None),
    ("WSS_KEY_PEM",             103, _BYTES, None,    _ALL,             None,                          "w", None),
    ("WSS_CERT_PEM",            104, _BYTES, None,    _ALL,             None,                          "w", None),
    ("WSS_TRUST_PEM",           105, _BYTES, None,    _ALL,             None,                          "w", None),
    ("WSS_HOSTNAME",            106, _BYTES, None,    _ALL,             None,                          "w", None),
    ("WSS_TRUST_SYSTEM",        107, _INT,   None,    _ALL,             None,                          "w", None),
    ("ONLY_FIRST_SUBSCRIBE",    108, _INT,   0,       ("PUB", "XPUB", "XSUB"), None,                   "w", None),
    ("RECONNECT_STOP",          109, _INT,   0,       _ALL,             "kept",                        "rw", None),
    ("HELLO_MSG",               110, _BYTES, None,    _ALL,             None,                          "w", None),
    ("DISCONNECT_MSG",          111, _BYTES, None,    _ALL,             None,                          "w", None),
    ("PRIORITY",                112, _INT,   None,    _ALL,             None,                          "w", None),
    ("BUSY_POLL",               113, _INT,   None,    _ALL,             None,                          "w", None),
    ("HICCUP_MSG",              114, _BYTES, None,    _ALL,             None,                          "w", None),
    ("XSUB_VERBOSE_UNSUBSCRIBE", 115, _INT,  None,    ("XSUB",),        None,                          "w", None),
    ("TOPICS_COUNT",            116, _INT,   0,       _PUBS + _SUBS,    "type",                        "r", None),
    ("NORM_MODE",               117, _INT,   None,    _ALL,             None,                          "rw", None),
    ("NORM_UNICAST_NACK",       118, _INT,   None,    _ALL,             None,                          "rw", None),
    ("NORM_BUFFER_SIZE",        119, _INT,   None,    _ALL,             None,                          "rw", None),
    ("NORM_SEGMENT_SIZE",       120, _INT,   None,    _ALL,             None,                          "rw", None),
    ("NORM_BLOCK_SIZE",         121, _INT,   None,    _ALL,             None,                          "rw", None),
    ("NORM_NUM_PARITY",         122, _INT,   None,    _ALL,             None,                          "rw", None),
    ("NORM_NUM_AUTOPARITY",     123, _INT,   None,    _ALL,             None,                          "rw", None),
    ("NORM_PUSH",               124, _INT,   None,    _ALL,             None,                          "rw", None),
)
# fmt: on

# old names of the options above (pyzmq keeps them as aliases: the same member)
_SOCKET_OPTION_ALIASES = (
    ("IDENTITY", "ROUTING_ID"),
    ("CONNECT_RID", "CONNECT_ROUTING_ID"),
    ("DELAY_ATTACH_ON_CONNECT", "IMMEDIATE"),
    ("FAIL_UNROUTABLE", "ROUTER_MANDATORY"),
    ("ROUTER_BEHAVIOR", "ROUTER_MANDATORY"),
)


def _members_from_table(namespace):
    for row in _SOCKET_OPTIONS:
        namespace[row[0]] = (row[1], row[2])
    for old, new in _SOCKET_OPTION_ALIASES:
        namespace[old] = namespace[new]


class SocketOption(IntEnum):
    """Options for ``Socket.get`` / ``Socket.set``.

    Each member carries ``._opt_type`` (an ``_OptType``): the type of its value.
    Built from ``_SOCKET_OPTIONS``, the options table.
    """

    _opt_type: _OptType

    def __new__(cls, value, opt_type=_INT):
        member = int.__new__(cls, value)
        member._value_ = value
        member._opt_type = opt_type
        return member

    # the members come from the table (one source of option numbers)
    _members_from_table(locals())


class MessageOption(IntEnum):
    """Properties of a message (``Frame.get``)."""

    MORE = 1
    SHARED = 3
    SRCFD = 2  # deprecated


class Flag(IntFlag):
    """Flags for send and recv."""

    DONTWAIT = 1
    SNDMORE = 2
    NOBLOCK = 1  # old name of DONTWAIT


class RouterNotify(IntEnum):
    """Values (bits) of the ROUTER_NOTIFY option. Flat names: ``NOTIFY_*``."""

    CONNECT = 1
    DISCONNECT = 2


class NormMode(IntEnum):
    """Values of the NORM_MODE option. Flat names: ``NORM_*``."""

    FIXED = 0
    CC = 1
    CCL = 2
    CCE = 3
    CCE_ECNONLY = 4


class SecurityMechanism(IntEnum):
    """Values of the MECHANISM option."""

    NULL = 0
    PLAIN = 1
    CURVE = 2
    GSSAPI = 3


class ReconnectStop(IntEnum):
    """Bits of the RECONNECT_STOP option. Flat names: ``RECONNECT_STOP_*``."""

    CONN_REFUSED = 0x1
    HANDSHAKE_FAILED = 0x2
    AFTER_DISCONNECT = 0x4


class Event(IntFlag):
    """Socket monitor events.

    Flat names: ``EVENT_*`` for the events, unchanged for ``PROTOCOL_ERROR_*``
    (the values carried by EVENT_HANDSHAKE_FAILED_PROTOCOL / _AUTH).
    """

    # protocol error codes first: several share bits with the event bits
    # below, which must stay the canonical members for those single bits
    PROTOCOL_ERROR_WS_UNSPECIFIED = 0x30000000
    PROTOCOL_ERROR_ZMTP_UNSPECIFIED = 0x10000000
    PROTOCOL_ERROR_ZMTP_UNEXPECTED_COMMAND = 0x10000001
    PROTOCOL_ERROR_ZMTP_INVALID_SEQUENCE = 0x10000002
    PROTOCOL_ERROR_ZMTP_KEY_EXCHANGE = 0x10000003
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_UNSPECIFIED = 0x10000011
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_MESSAGE = 0x10000012
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_HELLO = 0x10000013
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_INITIATE = 0x10000014
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_ERROR = 0x10000015
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_READY = 0x10000016
    PROTOCOL_ERROR_ZMTP_MALFORMED_COMMAND_WELCOME = 0x10000017
    PROTOCOL_ERROR_ZMTP_INVALID_METADATA = 0x10000018
    PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC = 0x11000001
    PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH = 0x11000002
    PROTOCOL_ERROR_ZAP_UNSPECIFIED = 0x20000000
    PROTOCOL_ERROR_ZAP_MALFORMED_REPLY = 0x20000001
    PROTOCOL_ERROR_ZAP_BAD_REQUEST_ID = 0x20000002
    PROTOCOL_ERROR_ZAP_BAD_VERSION = 0x20000003
    PROTOCOL_ERROR_ZAP_INVALID_STATUS_CODE = 0x20000004
    PROTOCOL_ERROR_ZAP_INVALID_METADATA = 0x20000005

    CONNECTED = 0x0001
    CONNECT_DELAYED = 0x0002
    CONNECT_RETRIED = 0x0004
    LISTENING = 0x0008
    BIND_FAILED = 0x0010
    ACCEPTED = 0x0020
    ACCEPT_FAILED = 0x0040
    CLOSED = 0x0080
    CLOSE_FAILED = 0x0100
    DISCONNECTED = 0x0200
    MONITOR_STOPPED = 0x0400
    HANDSHAKE_FAILED_NO_DETAIL = 0x0800
    HANDSHAKE_SUCCEEDED = 0x1000
    HANDSHAKE_FAILED_PROTOCOL = 0x2000
    HANDSHAKE_FAILED_AUTH = 0x4000
    ALL_V1 = 0xFFFF
    ALL = 0xFFFF  # alias of ALL_V1

    # draft
    PIPES_STATS = 0x10000
    ALL_V2 = 0x1FFFF  # ALL_V1 | PIPES_STATS


class PollEvent(IntFlag):
    """Events for ``poll`` / ``Poller`` / ``Socket.EVENTS``."""

    POLLIN = 1
    POLLOUT = 2
    POLLERR = 4
    POLLPRI = 8


class DeviceType(IntEnum):
    """Device types for ``zmqx.device`` (deprecated in libzmq; use proxy)."""

    STREAMER = 1
    FORWARDER = 2
    QUEUE = 3


# ---------------------------------------------------------------------------
# flat, module-level names
# ---------------------------------------------------------------------------


def _flat_name(enum_cls: type, name: str) -> str:
    if enum_cls is Event:
        return name if name.startswith("PROTOCOL_ERROR_") else "EVENT_" + name
    prefix = _FLAT_PREFIX.get(enum_cls, "")
    return prefix + name


_FLAT_PREFIX = {
    RouterNotify: "NOTIFY_",
    NormMode: "NORM_",
    ReconnectStop: "RECONNECT_STOP_",
}

# Earlier classes win when two give the same flat name (ContextOption's
# IPV6/BLOCKY must not shadow the SocketOption members, as in pyzmq).
_ENUMS = (
    SocketType,
    SocketOption,
    Flag,
    PollEvent,
    Errno,
    MessageOption,
    Event,
    SecurityMechanism,
    RouterNotify,
    ReconnectStop,
    NormMode,
    DeviceType,
    ContextOption,
)

_flat: dict = {}
for _cls in _ENUMS:
    for _name, _member in _cls.__members__.items():  # includes aliases
        _flat.setdefault(_flat_name(_cls, _name), _member)
globals().update(_flat)

__all__ = [
    "DRAFT_API",
    "IPC_PATH_MAX_LEN",
    "VERSION",
    "VERSION_MAJOR",
    "VERSION_MINOR",
    "VERSION_PATCH",
    *(_cls.__name__ for _cls in _ENUMS),
    *_flat,
]

del _cls, _name, _member, _flat
