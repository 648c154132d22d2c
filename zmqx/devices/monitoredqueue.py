"""monitored_queue: a two-way relay that also reports each message, prefixed by the
direction it took, on a monitor socket. Between two ROUTERs the first two frames (sender
and addressee identities) are swapped, so each side can route the reply back."""

from .. import constants as _c

__all__ = ["monitored_queue"]


def _relay(src, dst, mon, prefix, swap_ids):
    msg = src.recv_multipart()
    if swap_ids and len(msg) >= 2:
        msg[0], msg[1] = msg[1], msg[0]
    dst.send_multipart(msg)
    mon.send_multipart([prefix] + msg)


def monitored_queue(in_socket, out_socket, mon_socket, in_prefix=b"in", out_prefix=b"out"):
    """Relay in_socket <-> out_socket until the context ends; copies of messages coming
    from in_socket go to mon_socket as ``[in_prefix, *msg]``, the others as ``[out_prefix, *msg]``."""
    from ..poll import Poller
    from ..socket import Socket

    for name, sock in (("in_socket", in_socket), ("out_socket", out_socket),
                       ("mon_socket", mon_socket)):
        if not isinstance(sock, Socket):
            raise TypeError(f"{name} must be a zmqx Socket, not {type(sock).__name__}")
    for name, prefix in (("in_prefix", in_prefix), ("out_prefix", out_prefix)):
        if not isinstance(prefix, bytes):
            raise TypeError(f"{name} must be bytes, not {type(prefix).__name__}")
    swap_ids = in_socket.socket_type == _c.ROUTER and out_socket.socket_type == _c.ROUTER
    poller = Poller()
    poller.register(in_socket, _c.POLLIN)
    if out_socket is not in_socket:
        poller.register(out_socket, _c.POLLIN)
    while True:
        ready = dict(poller.poll())
        if in_socket in ready:
            _relay(in_socket, out_socket, mon_socket, in_prefix, swap_ids)
        if out_socket in ready and out_socket is not in_socket:
            _relay(out_socket, in_socket, mon_socket, out_prefix, swap_ids)
