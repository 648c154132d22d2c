"""pyzmq's zmq.utils.garbage: the references kept alive for zero-copy messages.

pyzmq runs a thread that holds each object whose memory a libzmq message borrows until
libzmq frees the message. zmqx needs no thread: a message pins its object's buffer itself
and the engine hands the pin back through a lock-free queue that any zmqx call (or reading
`gc.refs`) drains. `gc` answers the same questions as pyzmq's collector over those pins."""

from .._core import msg as _msg

__all__ = ["GarbageCollector", "gc"]


class GarbageCollector:
    """The objects zmqx keeps alive for messages that still use their memory."""

    def __init__(self, context=None):
        self.context = context

    @property
    def refs(self):
        """{key: object} for every object a queued or in-flight message still borrows
        from (zero-copy sends, Frames over buffers, large bytes sent by reference); empty
        once the engine is done with all of them."""
        return _msg._held_buffers()

    def collect(self):
        """Release every object whose messages are finished with (done on every zmqx call
        anyway)."""
        _msg._drain_release_queue()

    @property
    def is_alive(self):
        return True         # nothing to start: the release queue needs no thread

    def start(self):
        pass

    def stop(self):
        self.collect()


gc = GarbageCollector()
