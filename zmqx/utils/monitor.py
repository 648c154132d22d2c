"""Decoding of socket monitor events (pyzmq's zmq.utils.monitor).

This module owns the reading side of libzmq's version-1 monitor stream, so that code
written for pyzmq (and the ``python -m zmqx monitor`` tool) reads events the same way
whichever engine produced them.  Each event is a two-frame message on the monitor's
PAIR socket:

* frame 1, six bytes: the event id (uint16) then its value (uint32), in the byte order
  of the machine that wrote them (libzmq copies the integers into the frame as they are
  in memory, with no padding);
* frame 2: the endpoint the event is about, as bytes.

Both integers are read unsigned, as libzmq writes them.  pyzmq reads them signed, which
only differs for values of 2**31 and more: libzmq's version-1 events never carry one
(their values are file descriptors, errnos, intervals in ms and the ZMTP/ZAP error codes,
all below 2**31).
"""

import struct
from collections.abc import Awaitable

from ..constants import Event

__all__ = ["parse_monitor_message", "recv_monitor_message"]

# "=" is native byte order with standard sizes and no alignment: 2 + 4 = 6 bytes
_HEADER = struct.Struct("=HI")


def parse_monitor_message(msg):
    """Decode one monitor event from the frames received on a monitor socket.

    ``msg`` is the list of frames (bytes or Frames) of one message.  Returns a dict with
    ``event`` (a :class:`zmqx.Event`), ``value`` (the event's value, also as an Event,
    as pyzmq returns it: an int subclass, so compare it with ints freely) and
    ``endpoint`` (the second frame, unchanged).

    Raises RuntimeError, as pyzmq does, when ``msg`` is not two frames whose first one is
    six bytes long (and TypeError for something that has no length at all).
    """
    if len(msg) != 2 or len(msg[0]) != _HEADER.size:
        raise RuntimeError(f"Invalid event message format: {msg}")
    event_id, value = _HEADER.unpack(msg[0])
    return {"event": Event(event_id), "value": Event(value), "endpoint": msg[1]}


async def _parse_when_received(pending):
    return parse_monitor_message(await pending)


def recv_monitor_message(socket, flags=0):
    """Receive one event from a monitor socket (made by ``Socket.get_monitor_socket()``)
    and decode it with :func:`parse_monitor_message`.

    With a zmqx.asyncio socket, returns an awaitable of the same dict, as pyzmq does.
    Raises what ``recv_multipart(flags)`` raises (Again with NOBLOCK and nothing there).
    """
    msg = socket.recv_multipart(flags)
    if isinstance(msg, Awaitable):
        return _parse_when_received(msg)
    return parse_monitor_message(msg)
