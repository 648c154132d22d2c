"""zmq.sugar.context: the Context class."""

from ..context import Context

__all__ = ["Context"]
