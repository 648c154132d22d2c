"""zmq.sugar.socket: the Socket class."""

from ..socket import Socket

__all__ = ["Socket"]
