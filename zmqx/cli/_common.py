"""What every ``python -m zmqx`` tool shares: endpoint and socket-type arguments, the
messages on stderr that scripts (and the tests) wait for, the rate line shown on a
terminal, and a Ctrl-C/SIGTERM policy that ends a tool with exit code 0 and no traceback.

Every tool reports on stderr, one line each, prefixed ``zmqx TOOL:``: ``bound ENDPOINT``
for each bind (with the port the OS chose, so ``tcp://127.0.0.1:*`` is usable),
``connected ENDPOINT`` for each connect, then ``ready`` once everything is set up.
stdout carries only the tool's output (messages, events, keys)."""

import argparse
import contextlib
import signal
import sys
import time

EXIT_OK = 0
EXIT_ERROR = 1           # a runtime failure (bind refused, bad endpoint, ...)
EXIT_UNAVAILABLE = 2     # the feature is not in this build (argparse uses 2 for usage too)


class ToolError(Exception):
    """A failure to report as one line on stderr (no traceback), exit code 1 or ``code``."""

    def __init__(self, message, code=EXIT_ERROR):
        super().__init__(message)
        self.code = code


def say(tool, text):
    """One line on stderr for the person (or script) watching the tool."""
    print(f"zmqx {tool}: {text}", file=sys.stderr, flush=True)


# -- socket types ----------------------------------------------------------------------

def socket_type(zmq, name):
    """SocketType member for a name such as ``router`` (or a number)."""
    try:
        return zmq.SocketType[name.upper()] if not name.isdigit() else zmq.SocketType(int(name))
    except (KeyError, ValueError):
        known = ", ".join(m.name for m in zmq.SocketType)
        raise ToolError(f"unknown socket type {name!r} (known: {known})", EXIT_UNAVAILABLE) from None


def type_name(zmq, kind):
    try:
        return zmq.SocketType(kind).name
    except ValueError:
        return str(kind)


# -- endpoints -------------------------------------------------------------------------

def parse_endpoints(spec, default_mode):
    """``[bind:|connect:]ENDPOINT[,...]`` -> [(mode, endpoint)].

    The prefix chooses bind or connect per endpoint; without one, ``default_mode`` does.
    Several endpoints may be given, comma-separated (each with its own prefix)."""
    out = []
    for part in spec.split(","):
        part = part.strip()
        if not part:
            continue
        mode = default_mode
        for prefix in ("bind:", "connect:"):
            if part.startswith(prefix):
                mode, part = prefix[:-1], part[len(prefix):]
                break
        if "://" not in part:
            raise ToolError(f"not an endpoint: {part!r} (expected e.g. tcp://127.0.0.1:5555)")
        out.append((mode, part))
    if not out:
        raise ToolError(f"no endpoint in {spec!r}")
    return out


def attach(zmq, tool, sock, endpoints, label=""):
    """Bind/connect ``sock`` to each (mode, endpoint); report each on stderr, binds with
    the endpoint the OS resolved (wildcard port, ``*`` address)."""
    label = f"{label} " if label else ""
    for mode, ep in endpoints:
        try:
            if mode == "bind":
                sock.bind(ep)
                resolved = sock.getsockopt(zmq.LAST_ENDPOINT)
                if isinstance(resolved, bytes):
                    resolved = resolved.decode()
                say(tool, f"{label}bound {resolved or ep}")
            else:
                sock.connect(ep)
                say(tool, f"{label}connected {ep}")
        except zmq.ZMQError as e:
            raise ToolError(f"cannot {mode} {label}{ep}: {e}") from None


def add_endpoint_mode(parser, default):
    """--bind / --connect: the mode of endpoints given without a bind:/connect: prefix."""
    g = parser.add_mutually_exclusive_group()
    g.add_argument("--bind", dest="mode", action="store_const", const="bind",
                   help="bind endpoints that have no bind:/connect: prefix"
                        + (" (the default)" if default == "bind" else ""))
    g.add_argument("--connect", dest="mode", action="store_const", const="connect",
                   help="connect endpoints that have no bind:/connect: prefix"
                        + (" (the default)" if default == "connect" else ""))
    parser.set_defaults(mode=default)


def add_progress(parser):
    parser.add_argument(
        "--progress", choices=("auto", "always", "never"), default="auto",
        help="the live rate line: auto shows it only when stdout is a terminal (default)")


def progress_wanted(args, stream=None):
    stream = stream or sys.stdout
    if args.progress == "auto":
        try:
            return stream.isatty()
        except (AttributeError, ValueError):
            return False
    return args.progress == "always"


# -- the rate line ---------------------------------------------------------------------

class StatusLine:
    """A line at the bottom of a terminal, redrawn in place (carriage return + erase);
    output printed through :meth:`print` goes above it.  Disabled, it only prints."""

    def __init__(self, enabled, stream=None):
        self.enabled = enabled
        self.stream = stream or sys.stdout
        self._visible = False
        self._last = ""

    def print(self, text):
        """A line of output above the status line (which is drawn again under it)."""
        was_visible = self._visible
        self.clear()
        self.stream.write(text + "\n")
        if was_visible:
            self.stream.write(self._last)
            self._visible = True
        self.stream.flush()

    def show(self, text):
        if not self.enabled:
            return
        self.stream.write("\r\x1b[K" + text)
        self.stream.flush()
        self._visible = True
        self._last = text

    def clear(self):
        if self._visible:
            self.stream.write("\r\x1b[K")
            self._visible = False

    def finish(self):
        """Leave the last rate line on screen, ended by a newline."""
        if self._visible:
            self.stream.write("\n")
            self.stream.flush()
            self._visible = False


class Rate:
    """Counts messages and bytes; :meth:`line` gives the rate since the previous call."""

    def __init__(self, interval=1.0):
        self.interval = interval
        self.msgs = self.nbytes = 0
        self.start = self._t = time.monotonic()
        self._msgs = self._bytes = 0

    def add(self, msgs, nbytes):
        self.msgs += msgs
        self.nbytes += nbytes

    def due(self):
        return time.monotonic() - self._t >= self.interval

    def line(self, label="msgs"):
        now = time.monotonic()
        dt = max(now - self._t, 1e-9)
        rate = (self.msgs - self._msgs) / dt
        brate = (self.nbytes - self._bytes) / dt
        self._t, self._msgs, self._bytes = now, self.msgs, self.nbytes
        return (f"{self.msgs} {label} ({human(self.nbytes)}B) | "
                f"{human(rate)} {label}/s, {human(brate)}B/s")


def human(x):
    for unit in ("", "k", "M", "G"):
        if abs(x) < 1000:
            return f"{x:.0f}{unit}" if unit == "" else f"{x:.1f}{unit}"
        x /= 1000
    return f"{x:.1f}T"


# -- Ctrl-C ----------------------------------------------------------------------------

# Longest single wait of a tool's loop.  A signal that lands just before a blocking call
# enters the kernel (or on another thread) does not interrupt that call; with waits this
# short the handler's KeyboardInterrupt is raised within a tick anyway.
TICK_MS = 250


def _sigterm(signum, frame):
    raise KeyboardInterrupt


@contextlib.contextmanager
def interruptible():
    """SIGTERM is handled like Ctrl-C (KeyboardInterrupt) inside the block."""
    old = signal.getsignal(signal.SIGTERM)
    signal.signal(signal.SIGTERM, _sigterm)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, old)


def ignore_interrupts():
    """For teardown after Ctrl-C: a second Ctrl-C must not leave a traceback half-way."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    signal.signal(signal.SIGTERM, signal.SIG_IGN)


class HelpFormatter(argparse.RawDescriptionHelpFormatter):
    """Keeps the line breaks of descriptions and epilogs (the examples)."""
