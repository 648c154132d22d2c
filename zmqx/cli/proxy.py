"""``python -m zmqx proxy``: a standalone broker, FRONTEND <-> BACKEND (ROUTER/DEALER by
default) with an optional capture socket.  The engine's steerable proxy forwards (so the
tool is as fast as zmqx.proxy); this module owns setting it up, reading its STATISTICS for
the rate line, and stopping it with TERMINATE on Ctrl-C."""

import itertools
import os
import threading

from ._common import (EXIT_ERROR, EXIT_OK, TICK_MS, Rate, StatusLine, ToolError, add_progress, attach,
                      ignore_interrupts, interruptible, parse_endpoints, progress_wanted, say,
                      socket_type)

NAME = "proxy"
HELP = "forward messages between a frontend and a backend socket (a broker)"
DESCRIPTION = """\
Run a proxy: every message received on the FRONTEND socket is sent on the BACKEND
socket and the other way round, as zmq.proxy() does (ROUTER/DEALER by default: a
request-reply broker; XSUB/XPUB: a pub-sub forwarder; PULL/PUSH: a pipeline streamer).

FRONTEND and BACKEND are [bind:|connect:]ENDPOINT, several comma-separated;
without a prefix the endpoint is bound. Each bind is reported on stderr with the port
the OS chose ('frontend bound tcp://127.0.0.1:41234'), then 'ready'.

On a terminal, a rate line shows the frames per second in each direction (the
proxy's STATISTICS, which count frames, as libzmq's). Ctrl-C stops the proxy, prints
the totals on stderr and exits with code 0."""
EPILOG = """\
examples:
  python -m zmqx proxy tcp://*:5559 tcp://*:5560                       ROUTER/DEALER broker
  python -m zmqx proxy -F XSUB -B XPUB tcp://*:6000 tcp://*:6001       pub-sub forwarder
  python -m zmqx proxy tcp://*:5559 ipc:///tmp/workers --capture bind:tcp://*:5999"""

_ids = itertools.count()


def add_arguments(parser):
    parser.add_argument("frontend", metavar="FRONTEND", help="[bind:|connect:]ENDPOINT[,...]")
    parser.add_argument("backend", metavar="BACKEND", help="[bind:|connect:]ENDPOINT[,...]")
    parser.add_argument("--frontend-type", "-F", default="ROUTER", metavar="TYPE",
                        help="frontend socket type (default ROUTER)")
    parser.add_argument("--backend-type", "-B", default="DEALER", metavar="TYPE",
                        help="backend socket type (default DEALER)")
    parser.add_argument("--capture", metavar="ENDPOINT",
                        help="also send a copy of every message on this socket "
                             "([bind:|connect:]ENDPOINT, bound by default)")
    parser.add_argument("--capture-type", default="PUB", metavar="TYPE",
                        help="capture socket type (default PUB)")
    add_progress(parser)
    parser.add_argument("--interval", type=float, default=1.0, metavar="SECONDS",
                        help="seconds between rate-line updates (default 1)")


def _socket(zmq, ctx, kind, role, spec, opened):
    s = ctx.socket(kind)
    opened.append(s)
    s.linger = 0
    attach(zmq, NAME, s, parse_endpoints(spec, "bind"), role)
    return s


def _statistics(zmq, ctl):
    """The proxy's eight counters: frontend frames in, bytes in, frames out, bytes out,
    then the same for the backend. None if the proxy did not answer in time."""
    while ctl.poll(0, zmq.POLLIN):         # a late answer to an earlier request
        ctl.recv_multipart()
    ctl.send(b"STATISTICS")
    if not ctl.poll(5000, zmq.POLLIN):
        return None
    return [int.from_bytes(f, "little") for f in ctl.recv_multipart()]


def run(args, zmq):
    kinds = [socket_type(zmq, t) for t in (args.frontend_type, args.backend_type)]
    cap_kind = socket_type(zmq, args.capture_type) if args.capture else None
    if args.interval <= 0:
        raise ToolError("--interval must be positive")
    ctx = zmq.Context()
    opened = []
    try:
        fe = _socket(zmq, ctx, kinds[0], "frontend", args.frontend, opened)
        be = _socket(zmq, ctx, kinds[1], "backend", args.backend, opened)
        cap = (_socket(zmq, ctx, cap_kind, "capture", args.capture, opened)
               if args.capture else None)
        ctl_ep = f"inproc://zmqx-cli-proxy-{os.getpid()}-{next(_ids)}"
        ctl_in = ctx.socket(zmq.PAIR)
        opened.append(ctl_in)
        ctl_in.bind(ctl_ep)
        ctl = ctx.socket(zmq.PAIR)
        opened.append(ctl)
        ctl.linger = 0
        ctl.connect(ctl_ep)
        return _serve(args, zmq, fe, be, cap, ctl_in, ctl)
    finally:
        for s in opened:
            s.close(linger=0)
        ctx.term()


def _serve(args, zmq, fe, be, cap, ctl_in, ctl):
    failure = []
    # the worker's end is watched through an Event, not Thread.join/is_alive: a join that
    # Ctrl-C interrupts can leave the thread marked as stopped while it still runs
    # (CPython's bpo-45274 handling releases the lock the running thread holds)
    done = threading.Event()

    def forward():
        try:
            zmq.proxy_steerable(fe, be, cap, ctl_in)
        except BaseException as e:       # noqa: BLE001 - reported by the main thread
            failure.append(e)
        finally:
            done.set()

    worker = threading.Thread(target=forward, name="zmqx-proxy", daemon=True)
    status = StatusLine(progress_wanted(args))
    fwd, back = Rate(args.interval), Rate(args.interval)
    worker.start()
    with interruptible():
        try:
            say(NAME, "ready")      # inside: a Ctrl-C right after it is handled here
            while not done.wait(min(args.interval, TICK_MS / 1000)):
                if status.enabled and fwd.due():
                    stats = _statistics(zmq, ctl)
                    if stats is not None:
                        _update(fwd, back, stats)
                        status.show(f"frontend->backend {fwd.line('frames')} | "
                                    f"backend->frontend {back.line('frames')}")
        except KeyboardInterrupt:
            ignore_interrupts()
            status.finish()
            stats = _statistics(zmq, ctl) if not done.is_set() else None
            ctl.send(b"TERMINATE")
            done.wait(5)
            if stats is not None:
                say(NAME, f"interrupted; frontend received {stats[0]} frames "
                          f"({stats[1]} bytes), backend received {stats[4]} frames "
                          f"({stats[5]} bytes)")
            if not done.is_set():
                say(NAME, "the proxy did not stop in 5 s; exiting anyway")
                os._exit(EXIT_OK)        # its sockets are in use: no clean close possible
            return EXIT_OK
    status.finish()
    if failure:
        raise ToolError(f"the proxy stopped: {failure[0]!r}", EXIT_ERROR)
    return EXIT_OK


def _update(fwd, back, stats):
    # totals, not increments: the proxy's counters are cumulative
    fwd.msgs, fwd.nbytes = stats[0], stats[1]
    back.msgs, back.nbytes = stats[4], stats[5]
