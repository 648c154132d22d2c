"""zmq.sugar.tracker: MessageTracker."""

from .._core.msg import MessageTracker

__all__ = ["MessageTracker"]
