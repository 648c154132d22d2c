"""zmq.sugar.frame: Frame (alias Message)."""

from .._core.msg import Frame, Message

__all__ = ["Frame", "Message"]
