"""A gevent-cooperative device (pyzmq's zmq.green.device): relays between two sockets in
the calling greenlet, yielding while nothing is ready."""

from zmqx import constants as _c

from .poll import _Poller

__all__ = ["device"]


def device(device_type, isocket, osocket):
    """Relay messages both ways between isocket and osocket (for ever)."""
    poller = _Poller()
    poller.register(isocket, _c.POLLIN)
    if osocket is not isocket:
        poller.register(osocket, _c.POLLIN)
    while True:
        for sock, _ in poller.poll():
            other = osocket if sock is isocket else isocket
            other.send_multipart(sock.recv_multipart())
