"""udp:// endpoints (RADIO/DISH) to configured OS sockets, on the caller's thread, as libzmq
reads them, so that a bad address or a failing bind is raised by bind()/connect():

- DISH binds ``udp://*:port``, ``udp://ip:port`` (unicast), ``udp://group:port`` (multicast,
  joined on the default interface) or ``udp://iface;group:port`` (joined on that interface:
  a name such as ``lo`` or one of its addresses). A multicast bind listens on the wildcard
  address with SO_REUSEADDR/SO_REUSEPORT, so several DISHes can share the group's port.
  Port ``*`` or ``0`` lets the OS choose (a zmqx extension; LAST_ENDPOINT tells the port).
- RADIO connects ``udp://host:port`` (unicast) or ``udp://group:port`` (multicast, with
  MULTICAST_HOPS as the TTL and MULTICAST_LOOP); ``udp://source;dest:port`` sends from that
  interface (multicast) or address (unicast).

The sockets are returned as non-blocking fds for the I/O thread (io_udp.pxi). Each RADIO
socket is connect()ed to its destination: the engine then sends with no address at hand.
"""

import errno
import ipaddress
import socket

from ._endpoint import _error, _numeric, _port, _resolve_local, _split_host_port


def _host_port(address, addr, bind):
    hp = _split_host_port(address)
    if hp is None or not hp[0]:
        raise _error(errno.EINVAL, addr)
    port = _port(hp[1], bind)
    if port is None or (not bind and port == 0):
        raise _error(errno.EINVAL, addr)
    return hp[0], port


def _lookup(host, ipv6, addr):
    """(family, ip) of a destination: numeric, else one name lookup now."""
    found = _numeric(host, ipv6)
    if found:
        return found
    family = socket.AF_UNSPEC if ipv6 else socket.AF_INET
    try:
        infos = socket.getaddrinfo(host, None, family, socket.SOCK_DGRAM)
    except (socket.gaierror, UnicodeError):
        raise _error(errno.EINVAL, addr) from None
    if ipv6:
        infos.sort(key=lambda i: i[0] != socket.AF_INET6)
    return infos[0][0], infos[0][4][0]


def _is_multicast(ip):
    return ipaddress.ip_address(ip).is_multicast


def _ifindex(iface):
    try:
        return socket.if_nametoindex(iface)
    except OSError:
        return 0


def bind_udp(address, ipv6=False, rcvbuf=-1):
    """DISH: returns (fd, last_endpoint)."""
    addr = "udp://" + address
    iface = None
    if ";" in address:
        iface, _, address = address.partition(";")
    host, port = _host_port(address, addr, True)
    if host == "*":
        family, ip = (socket.AF_INET6, "::") if ipv6 else (socket.AF_INET, "0.0.0.0")
        mcast = False
    else:
        family, ip = _lookup(host, ipv6, addr)
        mcast = _is_multicast(ip)
    if iface is not None and not mcast:
        raise _error(errno.EINVAL, addr)      # an interface only makes sense with a group
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        if mcast and hasattr(socket, "SO_REUSEPORT"):
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
        if rcvbuf > 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        if family == socket.AF_INET6:
            s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0 if ipv6 else 1)
        s.bind((("::" if family == socket.AF_INET6 else "0.0.0.0") if mcast else ip, port))
        if mcast:
            if family == socket.AF_INET:
                local = "0.0.0.0"
                if iface is not None:
                    local = _resolve_local(iface, False, addr)[1]
                s.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                             socket.inet_aton(ip) + socket.inet_aton(local))
            else:
                index = _ifindex(iface) if iface is not None else 0
                s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_JOIN_GROUP,
                             socket.inet_pton(socket.AF_INET6, ip) + index.to_bytes(4, "little"))
        s.setblocking(False)
        real = s.getsockname()[1]
    except OSError as e:
        s.close()
        raise _error(e.errno or errno.EINVAL, addr) from None
    shown = f"[{ip}]" if family == socket.AF_INET6 else ip
    return s.detach(), f"udp://{iface + ';' if iface else ''}{shown}:{real}"


def connect_udp(address, ipv6=False, hops=1, loop=1, sndbuf=-1):
    """RADIO: returns the fd, connected to the destination."""
    addr = "udp://" + address
    src = None
    if ";" in address:
        src, _, address = address.partition(";")
        if not src:
            raise _error(errno.EINVAL, addr)
    host, port = _host_port(address, addr, False)
    family, ip = _lookup(host, ipv6, addr)
    dest = (ip, port)
    s = socket.socket(family, socket.SOCK_DGRAM)
    try:
        if sndbuf > 0:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, sndbuf)
        if _is_multicast(ip):
            v4 = family == socket.AF_INET
            level = socket.IPPROTO_IP if v4 else socket.IPPROTO_IPV6
            s.setsockopt(level, socket.IP_MULTICAST_LOOP if v4 else socket.IPV6_MULTICAST_LOOP,
                         1 if loop else 0)
            if hops > 0:
                s.setsockopt(level, socket.IP_MULTICAST_TTL if v4 else socket.IPV6_MULTICAST_HOPS,
                             hops)
            if src is not None:
                if v4:
                    local = _resolve_local(src, False, addr)[1]
                    s.setsockopt(level, socket.IP_MULTICAST_IF, socket.inet_aton(local))
                else:
                    index = _ifindex(src)
                    s.setsockopt(level, socket.IPV6_MULTICAST_IF, index)
                    dest = (ip, port, 0, index)    # a link-local group needs its scope
        elif src is not None:
            fam, local = _resolve_local(src, ipv6, addr)
            s.bind((local, 0))
        s.connect(dest)
        s.setblocking(False)
    except OSError as e:
        s.close()
        raise _error(e.errno or errno.EINVAL, addr) from None
    return s.detach()
