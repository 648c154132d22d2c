"""``python -m zmqx monitor``: one socket, connected or bound as asked, whose monitor events
(and, where the engine has them, ``Socket.stats()`` snapshots) are printed live.  Written
against pyzmq's API only (get_monitor_socket, zmq.utils.monitor's message layout,
disable_monitor), so it runs unchanged on any engine that has them, and says so in one
line, exit code 2, on one that does not."""

import errno
import json
import time

from ..utils.monitor import recv_monitor_message
from ._common import (EXIT_OK, EXIT_UNAVAILABLE, TICK_MS, Rate, StatusLine, ToolError,
                      add_endpoint_mode, add_progress, attach, ignore_interrupts,
                      interruptible, parse_endpoints, progress_wanted, say, socket_type,
                      type_name)

NAME = "monitor"
HELP = "print the live monitor events (and stats) of a socket it connects or binds"
DESCRIPTION = """\
Create a socket of --type (DEALER by default), start its monitor, connect it to
ENDPOINT (or bind it) and print each monitor event as it happens: CONNECTED,
CONNECT_DELAYED, CONNECT_RETRIED, LISTENING, ACCEPTED, HANDSHAKE_SUCCEEDED,
DISCONNECTED, the failures, ... with the event's value and endpoint. Messages the
socket receives are read and counted (a SUB subscribes to everything), a REP echoes
requests back.

Where the engine keeps per-socket counters (Socket.stats()), they show on the rate
line, and --stats prints a full snapshot as a JSON line every --interval.

Exit code 2, with a one-line message, when this build of zmqx has no socket monitor."""
EPILOG = """\
examples:
  python -m zmqx monitor tcp://127.0.0.1:5555                      watch a connection come and go
  python -m zmqx monitor --type PULL bind:tcp://127.0.0.1:*        watch peers arrive
  python -m zmqx monitor --events CONNECTED,DISCONNECTED --format json tcp://host:5555"""

_ERRNO_EVENTS = ("CONNECT_DELAYED", "BIND_FAILED", "ACCEPT_FAILED", "CLOSE_FAILED",
                 "HANDSHAKE_FAILED_NO_DETAIL")
_FD_EVENTS = ("CONNECTED", "LISTENING", "ACCEPTED", "CLOSED", "DISCONNECTED")
_RECEIVES = ("SUB", "XSUB", "PULL", "ROUTER", "DEALER", "PAIR", "REP", "XPUB", "STREAM")


def add_arguments(parser):
    parser.add_argument("endpoint", metavar="ENDPOINT",
                        help="[bind:|connect:]ENDPOINT, several comma-separated")
    parser.add_argument("--type", "-T", default="DEALER", metavar="TYPE",
                        help="socket type (default DEALER)")
    add_endpoint_mode(parser, "connect")
    parser.add_argument("--events", metavar="NAME[,NAME]",
                        help="only these events (e.g. CONNECTED,DISCONNECTED; default ALL)")
    parser.add_argument("--format", "-f", choices=("text", "json"), default="text",
                        help="one line per event as text (default) or JSON")
    parser.add_argument("--stats", action="store_true",
                        help="print Socket.stats() as a JSON line every --interval "
                             "(when the engine has it)")
    parser.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                        help="seconds between rate-line and --stats updates (default 1)")
    add_progress(parser)


def _event_mask(zmq, spec):
    if not spec:
        return None                      # get_monitor_socket's default: every event
    mask = 0
    for name in spec.split(","):
        name = name.strip().upper()
        name = name[len("EVENT_"):] if name.startswith("EVENT_") else name
        try:
            mask |= int(zmq.Event[name])
        except KeyError:
            raise ToolError(f"unknown event {name!r}") from None
    return mask


def describe_value(name, value):
    """What an event's value means, in words (libzmq's zmq_socket_monitor table)."""
    value = int(value)
    if name in _FD_EVENTS:
        return f"fd {value}"
    if name == "CONNECT_RETRIED":
        return f"retry in {value} ms"
    if name in _ERRNO_EVENTS:
        return f"errno {value} ({errno.errorcode.get(value, '?')})"
    if name == "HANDSHAKE_FAILED_PROTOCOL":
        from ..constants import Event
        try:
            return Event(value).name or hex(value)
        except ValueError:
            return hex(value)
    if name == "HANDSHAKE_FAILED_AUTH":
        return f"ZAP status {value}"
    return "" if value == 0 else str(value)


def format_event(event, fmt):
    ev = event["event"]
    name = ev.name or str(int(ev))
    endpoint = event["endpoint"]
    endpoint = bytes(endpoint).decode("utf-8", "backslashreplace")
    t = time.time()
    if fmt == "json":
        return json.dumps({"time": round(t, 6), "event": name, "value": int(event["value"]),
                           "endpoint": endpoint})
    clock = time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"
    return f"{clock} {name:<26} {endpoint} {describe_value(name, event['value'])}".rstrip()


def _stats_summary(stats):
    """The top-level counters of a stats snapshot, whatever its exact shape."""
    if not isinstance(stats, dict):
        return ""
    parts = [f"{k}={v}" for k, v in stats.items() if isinstance(v, int)]
    return " ".join(parts)


def run(args, zmq):
    kind = socket_type(zmq, args.type)
    name = type_name(zmq, kind)
    endpoints = parse_endpoints(args.endpoint, args.mode)
    mask = _event_mask(zmq, args.events)
    if args.interval <= 0:
        raise ToolError("--interval must be positive")
    ctx = zmq.Context()
    sock = ctx.socket(kind)
    sock.linger = 0
    mon = None
    try:
        if not callable(getattr(sock, "get_monitor_socket", None)):
            raise ToolError(f"socket monitor events are not available in this build of "
                            f"{zmq.__name__} (Socket.get_monitor_socket is missing)",
                            EXIT_UNAVAILABLE)
        try:
            # before connect/bind, so that their first events are seen
            mon = sock.get_monitor_socket() if mask is None else sock.get_monitor_socket(mask)
        except (zmq.ZMQError, NotImplementedError) as e:
            raise ToolError(f"socket monitor events are not available in this build of "
                            f"{zmq.__name__}: {e}", EXIT_UNAVAILABLE) from None
        if name == "SUB":
            sock.setsockopt(zmq.SUBSCRIBE, b"")
        attach(zmq, NAME, sock, endpoints)
        return _loop(args, zmq, sock, mon, name)
    finally:
        if mon is not None:
            try:
                sock.disable_monitor()
            except zmq.ZMQError:
                pass
            mon.close(linger=0)
        sock.close(linger=0)
        ctx.term()


def _loop(args, zmq, sock, mon, name):
    has_stats = callable(getattr(sock, "stats", None))
    status = StatusLine(progress_wanted(args))
    rate = Rate(args.interval)
    poller = zmq.Poller()
    poller.register(mon, zmq.POLLIN)
    if name in _RECEIVES:
        poller.register(sock, zmq.POLLIN)
    periodic = status.enabled or (args.stats and has_stats)
    timeout = min(TICK_MS, int(args.interval * 1000))
    next_tick = time.monotonic() + args.interval
    if args.stats and not has_stats:
        say(NAME, f"--stats: this build of {zmq.__name__} has no Socket.stats(); events only")
    with interruptible():
        try:
            say(NAME, "ready")      # inside: a Ctrl-C right after it is handled here
            while True:
                ready = dict(poller.poll(timeout))
                if mon in ready:
                    event = recv_monitor_message(mon)
                    status.print(format_event(event, args.format))
                    if event["event"] == zmq.Event.MONITOR_STOPPED:
                        break
                if sock in ready:
                    _drain(zmq, sock, name, rate)
                if periodic and time.monotonic() >= next_tick:
                    next_tick = time.monotonic() + args.interval
                    stats = sock.stats() if has_stats else None
                    if args.stats and stats is not None:
                        status.print(json.dumps({"time": round(time.time(), 6),
                                                 "stats": stats}, default=str))
                    status.show(" | ".join(filter(None, [rate.line(),
                                                         _stats_summary(stats)])))
        except KeyboardInterrupt:
            ignore_interrupts()
            status.finish()
            say(NAME, f"interrupted; {rate.msgs} messages received")
            return EXIT_OK
    status.finish()
    return EXIT_OK


def _drain(zmq, sock, name, rate):
    """Read what the socket has (up to a batch, so events keep flowing)."""
    for _ in range(1000):
        try:
            frames = sock.recv_multipart(zmq.NOBLOCK)
        except zmq.Again:
            return
        rate.add(1, sum(len(f) for f in frames))
        if name == "REP":
            sock.send_multipart(frames)
