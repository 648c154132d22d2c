"""Stopwatch (pyzmq's zmq.Stopwatch, after libzmq's zmq_stopwatch_*): microseconds
between start() and stop(), from a monotonic clock."""

import time

from ..constants import EINVAL
from ..error import ZMQError

__all__ = ["Stopwatch"]


class Stopwatch:
    """start(), then stop() returns the elapsed time in microseconds."""

    def __init__(self):
        self._start = None

    def start(self):
        self._start = time.monotonic_ns()

    def stop(self):
        if self._start is None:
            raise ZMQError(EINVAL, "Must start the Stopwatch before calling stop.")
        elapsed = (time.monotonic_ns() - self._start) // 1000
        self._start = None
        return elapsed
