"""zmq.sugar.poll: Poller and select."""

from ..poll import Poller, select

__all__ = ["Poller", "select"]
