"""Endpoint strings to OS sockets, on the caller's thread. Binding happens here, so errors
(EADDRINUSE, bad addresses) surface synchronously and the bound fd is handed to an I/O
thread. Connecting never resolves a host name here: connect_tcp only checks the syntax, and a
name travels to the I/O side, which looks it up before every attempt (io_resolver.pxi), so
connect() cannot block on DNS nor fail because a name does not resolve yet. Error messages
name the endpoint as pyzmq's do: "<strerror> (addr='tcp://...')"."""

import errno
import os
import socket
import stat
import sys
import tempfile

from .constants import Errno as _Errno
from .constants import IPC_PATH_MAX_LEN as _IPC_MAX   # sizeof(sun_path) - 1: 107 or 103
from .error import ZMQError, strerror

ENAMETOOLONG = getattr(errno, "ENAMETOOLONG", errno.EINVAL)
# zmqx's numbers, not Python's errno module: on Windows that one names Winsock's codes
# (EADDRINUSE = 10048), where zmqx, libzmq and pyzmq use MSVC's errno.h (100)
EADDRINUSE = int(_Errno.EADDRINUSE)
EPROTONOSUPPORT = int(_Errno.EPROTONOSUPPORT)
# "ipc://@name" is an abstract socket on Linux only, as in libzmq; macOS and Windows have no
# abstract namespace, and there "@name" is a file name like any other
_ABSTRACT_IPC = sys.platform.startswith("linux")


# Winsock's codes (what OSError.errno holds on Windows for a socket call) as the errno
# values zmqx, libzmq and pyzmq report; elsewhere OSError.errno already is one
_WSA_ERRNO = {
    10048: EADDRINUSE,                              # WSAEADDRINUSE
    10049: int(_Errno.EADDRNOTAVAIL),               # WSAEADDRNOTAVAIL
    10047: int(_Errno.EAFNOSUPPORT),                # WSAEAFNOSUPPORT
    10043: EPROTONOSUPPORT,                         # WSAEPROTONOSUPPORT
    10055: int(_Errno.ENOBUFS),                     # WSAENOBUFS
    10050: int(_Errno.ENETDOWN),                    # WSAENETDOWN
    10013: errno.EACCES,                            # WSAEACCES
    10022: errno.EINVAL,                            # WSAEINVAL
    10024: errno.EMFILE,                            # WSAEMFILE
    10063: ENAMETOOLONG,                            # WSAENAMETOOLONG
}


def _socket_errno(e, windows=os.name == "nt"):
    err = e.errno or errno.EINVAL
    if windows:
        return _WSA_ERRNO.get(getattr(e, "winerror", None) or err, err)
    return err


def _error(err, addr, msg=None):
    return ZMQError(err, f"{msg or strerror(err)} (addr={addr!r})")


def parse(endpoint):
    if isinstance(endpoint, bytes):
        endpoint = endpoint.decode()
    if not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be str, not {type(endpoint).__name__}")
    transport, sep, address = endpoint.partition("://")
    if not sep or not address:
        raise _error(errno.EINVAL, endpoint)
    if transport not in ("tcp", "ipc", "inproc", "udp"):
        raise _error(EPROTONOSUPPORT, endpoint)
    return transport, address


def _split_host_port(address):
    """'host:port' or '[v6]:port' -> (host, port text); None if there is no port."""
    if address.startswith("["):
        host, sep, rest = address[1:].partition("]")
        if not sep or not rest.startswith(":"):
            return None
        return host, rest[1:]
    host, sep, port = address.rpartition(":")
    if not sep:
        return None
    return host, port


def _port(port, allow_wildcard):
    if port in ("*", "0"):
        return 0 if allow_wildcard else None
    if not port.isdigit() or not 0 <= int(port) <= 65535:
        return None
    return int(port)


def _numeric(host, ipv6):
    """(family, ip) for a numeric address, else None."""
    try:
        socket.inet_pton(socket.AF_INET, host)
        return socket.AF_INET, host
    except (OSError, ValueError):
        pass
    if ipv6:
        try:
            socket.inet_pton(socket.AF_INET6, host.partition("%")[0])
            return socket.AF_INET6, host.partition("%")[0]
        except (OSError, ValueError):
            pass
    return None


def _interface(name, ipv6):
    """(family, ip) of a network interface named like 'eth0' or 'lo' (as libzmq binds), or
    None. The lookup is getifaddrs, in the platform layer."""
    from ._core.io_thread import _interface_address
    for family in ((socket.AF_INET6, socket.AF_INET) if ipv6 else (socket.AF_INET,)):
        ip = _interface_address(name, family)
        if ip is not None:
            return family, ip
    return None


def _resolve_local(host, ipv6, addr):
    """The address to bind (or to leave from): '*', a numeric address, an interface name,
    or (last) a host name, looked up here: binding is synchronous anyway."""
    if host == "*" or host == "":
        return (socket.AF_INET6, "::") if ipv6 else (socket.AF_INET, "0.0.0.0")
    found = _numeric(host, ipv6) or _interface(host, ipv6)
    if found:
        return found
    family = socket.AF_UNSPEC if ipv6 else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, None, family, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        # libzmq's answer for a name that is neither an interface nor a host
        raise _error(errno.ENODEV, addr) from None
    if ipv6:
        infos.sort(key=lambda i: i[0] != socket.AF_INET6)
    fam, _, _, _, sa = infos[0]
    return fam, sa[0]


def _format_tcp(family, ip, port):
    if family == socket.AF_INET6:
        return f"tcp://[{ip}]:{port}"
    return f"tcp://{ip}:{port}"


def bind_tcp(address, ipv6=False, backlog=100, sndbuf=-1, rcvbuf=-1):
    """Returns (fd, last_endpoint). Socket buffers are set before listen(), as libzmq
    does: accepted connections inherit them and agree a matching TCP window scale."""
    addr = "tcp://" + address
    hp = _split_host_port(address)
    port = _port(hp[1], True) if hp else None
    if port is None:
        raise _error(errno.EINVAL, addr)
    family, ip = _resolve_local(hp[0], ipv6, addr)
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        if os.name != "nt":
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if ipv6 else 1)
        if sndbuf > 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        if rcvbuf > 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        s.bind((ip, port))
        s.listen(backlog)
        s.setblocking(False)
        real = s.getsockname()[1]
    except OSError as e:
        s.close()
        raise _error(_socket_errno(e), addr) from None
    return s.detach(), _format_tcp(family, ip, real)


# what libzmq accepts as the host part of a tcp connect endpoint before any lookup:
# host names, numeric IPv4/IPv6 (with a %zone), '*' in a source, ';' between source and
# destination
_HOST_CHARS = frozenset("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                        "0123456789.-:%;[]_*")


def connect_tcp(address, ipv6=False):
    """Returns (family, ip, port, host, source) for the connect session:
    - a numeric destination: family and ip set, host None (the fast path: no lookup ever);
    - a host name: ip None, host the name and family AF_INET (AF_UNSPEC with IPV6); the
      I/O side looks it up before every attempt;
    - source: None, or (family, ip, port) of tcp://source;destination to bind first (its
      port may be 0: any)."""
    addr = "tcp://" + address
    if not address or not set(address) <= _HOST_CHARS:
        raise _error(errno.EINVAL, addr)
    src = None
    if ";" in address:
        src_text, _, address = address.partition(";")
        hp = _split_host_port(src_text)
        if hp is None:                       # a source without a port: any port
            hp = (src_text[1:-1] if src_text.startswith("[") else src_text), "0"
        sport = _port(hp[1], True)
        if sport is None or not hp[0]:
            raise _error(errno.EINVAL, addr)
        fam, ip = _resolve_local(hp[0], ipv6, addr)
        src = (fam, ip, sport)
    hp = _split_host_port(address)
    port = _port(hp[1], False) if hp else None
    if port is None or not hp[0]:
        raise _error(errno.EINVAL, addr)
    host = hp[0]
    found = _numeric(host, ipv6)
    if found:
        return found[0], found[1], port, None, src
    if _numeric(host, True) or len(host.encode()) > 255:
        # an IPv6 address without the IPV6 option, or no possible host name
        raise _error(errno.EINVAL, addr)
    return (socket.AF_UNSPEC if ipv6 else socket.AF_INET), None, port, host, src


def _ipc_path(address, addr):
    if address.startswith("@") and _ABSTRACT_IPC:
        path = "\0" + address[1:]
    else:
        path = address
    if len(path.encode()) > _IPC_MAX:
        raise _error(ENAMETOOLONG, addr)
    return path


# Windows marks an AF_UNIX socket file with this reparse tag; os.lstat has no S_IFSOCK there
_IO_REPARSE_TAG_AF_UNIX = 0x80000023


def _is_socket_file(st):
    if stat.S_ISSOCK(st.st_mode):
        return True
    return getattr(st, "st_reparse_tag", 0) == _IO_REPARSE_TAG_AF_UNIX


def bind_ipc(address, listen, backlog=100):
    """Returns (fd, last_endpoint, path to unlink on close or None).

    `listen(path_bytes, backlog)` makes the listening socket (in C, so that Windows, whose
    Python has no AF_UNIX, binds the same way) and raises OSError.

    A socket file already at the path is taken over, as libzmq does: it is unlinked and
    bound again, whether the process that bound it is alive or not (that process keeps its
    listening socket but no new connection reaches it). Anything that is not a socket is
    left alone: EADDRINUSE (libzmq would unlink even a regular file)."""
    addr = "ipc://" + address
    if address == "*":
        address = os.path.join(tempfile.mkdtemp(prefix="zmqx-"), "socket")
    if len(address.encode()) > _IPC_MAX:
        raise _error(ENAMETOOLONG, addr,
                     f'ipc path "{address}" is longer than {_IPC_MAX} characters '
                     "(sizeof(sockaddr_un.sun_path)). zmq.IPC_PATH_MAX_LEN constant can be "
                     "used to check addr length (if it is defined).")
    path = _ipc_path(address, addr)
    abstract = path.startswith("\0")
    if not abstract:
        try:
            st = os.lstat(path)
        except FileNotFoundError:
            pass
        except OSError as e:
            raise _error(e.errno or errno.EINVAL, addr) from None
        else:
            if not _is_socket_file(st):
                raise _error(EADDRINUSE, addr)
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
            except OSError as e:
                raise _error(e.errno or errno.EINVAL, addr) from None
    try:
        fd = listen(path.encode(), backlog)
    except OSError as e:
        err = e.errno or errno.EINVAL
        if err == errno.ENOENT:
            raise _error(err, addr, f'No such file or directory for ipc path "{path}".') \
                from None
        raise _error(err, addr) from None
    return fd, "ipc://" + address, (None if abstract else path)


def connect_ipc(address):
    addr = "ipc://" + address
    if address == "*":
        raise _error(errno.EINVAL, addr)
    return _ipc_path(address, addr).encode()
