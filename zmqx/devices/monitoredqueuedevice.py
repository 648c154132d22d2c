"""MonitoredQueue devices: a Proxy that relays with monitored_queue, so the monitor's
copies carry a direction prefix (in_prefix / out_prefix)."""

from .. import constants as _c
from .monitoredqueue import monitored_queue
from .proxydevice import ProcessProxy, Proxy, ProxyBase, ThreadProxy

__all__ = ["MonitoredQueue", "ThreadMonitoredQueue", "ProcessMonitoredQueue"]


class MonitoredQueueBase(ProxyBase):
    """Mixin: the prefixes and the monitored relay."""

    def __init__(self, in_type, out_type, mon_type=_c.PUB, in_prefix=b"in", out_prefix=b"out"):
        ProxyBase.__init__(self, in_type, out_type, mon_type)
        self._in_prefix, self._out_prefix = in_prefix, out_prefix

    def run_device(self):
        ins, outs, mons = self._setup_sockets()
        monitored_queue(ins, outs, mons, self._in_prefix, self._out_prefix)


class MonitoredQueue(MonitoredQueueBase, Proxy):
    """A monitored queue run in the calling thread by start()."""


class ThreadMonitoredQueue(MonitoredQueueBase, ThreadProxy):
    """A MonitoredQueue in a background thread."""


class ProcessMonitoredQueue(MonitoredQueueBase, ProcessProxy):
    """A MonitoredQueue in a child process."""
