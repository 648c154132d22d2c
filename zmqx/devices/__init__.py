"""Devices as in pyzmq's zmq.devices: a relay (proxy) set up from recorded addresses and
run in the calling thread, a background thread or a child process; plus the functions
device(), proxy(), proxy_steerable() and monitored_queue()."""

from .._core.proxy import proxy, proxy_steerable
from ..constants import DeviceType
from . import (
    basedevice,
    monitoredqueue,
    monitoredqueuedevice,
    proxydevice,
    proxysteerabledevice,
)
from .basedevice import BackgroundDevice, Device, ProcessDevice, ThreadDevice
from .monitoredqueue import monitored_queue
from .monitoredqueuedevice import MonitoredQueue, ProcessMonitoredQueue, ThreadMonitoredQueue
from .proxydevice import ProcessProxy, Proxy, ThreadProxy
from .proxysteerabledevice import ProcessProxySteerable, ProxySteerable, ThreadProxySteerable


def device(device_type, frontend, backend):
    """The old zmq_device(): every device type is a proxy now."""
    return proxy(frontend, backend)


__all__ = ["device", "proxy", "proxy_steerable", "DeviceType"]
for _mod in (basedevice, proxydevice, proxysteerabledevice, monitoredqueue,
             monitoredqueuedevice):
    __all__.extend(_mod.__all__)
del _mod
