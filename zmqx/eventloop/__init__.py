"""tornado integration (pyzmq's zmq.eventloop): ZMQStream callbacks and tornado-Future
sockets. Needs tornado (``pip install zmqx[tornado]``); zmqx itself does not."""

try:
    from tornado.ioloop import IOLoop
except ImportError as e:  # pragma: no cover - depends on the environment
    raise ImportError(
        "zmqx.eventloop needs tornado: pip install 'zmqx[tornado]'") from e

__all__ = ["IOLoop"]
