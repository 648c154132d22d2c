"""Endpoint strings to OS sockets. Binding happens here, in the calling thread, so errors
(EADDRINUSE, bad addresses) surface synchronously; the bound fd is then handed to an I/O
thread. Connect addresses are resolved here once and reused on every reconnect."""

import errno
import os
import socket
import stat
import tempfile

from .error import ZMQError

_IPC_MAX = 107


def parse(endpoint):
    if isinstance(endpoint, bytes):
        endpoint = endpoint.decode()
    if not isinstance(endpoint, str):
        raise TypeError(f"endpoint must be str, not {type(endpoint).__name__}")
    transport, sep, address = endpoint.partition("://")
    if not sep or not address:
        raise ZMQError(errno.EINVAL, f"Invalid argument (endpoint {endpoint!r})")
    if transport not in ("tcp", "ipc", "inproc"):
        raise ZMQError(errno.EPROTONOSUPPORT, f"Protocol not supported: {transport!r}")
    return transport, address


def _split_host_port(address):
    if address.startswith("["):
        host, sep, rest = address[1:].partition("]")
        if not sep or not rest.startswith(":"):
            raise ZMQError(errno.EINVAL)
        return host, rest[1:]
    host, sep, port = address.rpartition(":")
    if not sep or not host:
        raise ZMQError(errno.EINVAL, f"Invalid argument (tcp address {address!r})")
    return host, port


def _port(port, allow_wildcard):
    if port in ("*", "0"):
        if not allow_wildcard:
            raise ZMQError(errno.EINVAL, "Invalid argument (connect needs a port)")
        return 0
    try:
        n = int(port)
    except ValueError:
        raise ZMQError(errno.EINVAL, f"Invalid argument (port {port!r})") from None
    if not 0 <= n <= 65535:
        raise ZMQError(errno.EINVAL, f"Invalid argument (port {port!r})")
    return n


def _resolve(host, port, ipv6, passive):
    if host == "*":
        if passive:
            return (socket.AF_INET6, "::") if ipv6 else (socket.AF_INET, "0.0.0.0")
        raise ZMQError(errno.EINVAL)
    # an interface name such as eth0 or lo is not supported: resolve as a host name
    family = socket.AF_UNSPEC if ipv6 else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, port, family, socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError):
        raise ZMQError(errno.EINVAL, f"Invalid argument (cannot resolve {host!r})") from None
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
    host, port = _split_host_port(address)
    port = _port(port, True)
    family, ip = _resolve(host, port, ipv6, True)
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
        raise ZMQError(e.errno or errno.EINVAL, e.strerror) from None
    return s.detach(), _format_tcp(family, ip, real)


def connect_tcp(address, ipv6=False):
    """Returns (family, numeric ip, port) for the I/O thread's sockaddr."""
    host, port = _split_host_port(address)
    # "source;destination" pairs: only the destination is used
    if ";" in host:
        host = host.split(";", 1)[1]
    port = _port(port, False)
    family, ip = _resolve(host, port, ipv6, False)
    return family, ip, port


def _ipc_path(address):
    if address.startswith("@"):
        path = "\0" + address[1:]
    else:
        path = address
    if len(path.encode()) > _IPC_MAX:
        raise ZMQError(errno.ENAMETOOLONG if hasattr(errno, "ENAMETOOLONG") else errno.EINVAL)
    return path


def bind_ipc(address, backlog=100):
    """Returns (fd, last_endpoint, path to unlink on close or None)."""
    if address == "*":
        address = os.path.join(tempfile.mkdtemp(prefix="zmqx-"), "socket")
    path = _ipc_path(address)
    abstract = path.startswith("\0")
    if not abstract and os.path.exists(path):
        st = os.stat(path)
        if not stat.S_ISSOCK(st.st_mode):
            raise ZMQError(errno.EADDRINUSE)
        # a socket file left by a dead process may be taken over; a live one may not
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(path)
        except OSError:
            try:
                os.unlink(path)
            except FileNotFoundError:
                pass
        else:
            raise ZMQError(errno.EADDRINUSE)
        finally:
            probe.close()
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        s.bind(path)
        s.listen(backlog)
        s.setblocking(False)
    except OSError as e:
        s.close()
        raise ZMQError(e.errno or errno.EINVAL, e.strerror) from None
    return s.detach(), "ipc://" + address, (None if abstract else path)


def connect_ipc(address):
    if address == "*":
        raise ZMQError(errno.EINVAL)
    return _ipc_path(address).encode()
