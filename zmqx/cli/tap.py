"""``python -m zmqx tap``: attach one receiving socket of any type to a live system and
print every multipart message it gets, for debugging.  Owns the message layouts (text,
hex, JSON lines) so they stay readable for binary frames and one message per block."""

import json
import time

from ._common import (EXIT_OK, TICK_MS, Rate, StatusLine, ToolError, add_endpoint_mode, add_progress,
                      attach, ignore_interrupts, interruptible, parse_endpoints,
                      progress_wanted, say, socket_type, type_name)

NAME = "tap"
HELP = "connect or bind a socket and print the messages it receives"
DESCRIPTION = """\
Create one socket (SUB by default), connect it to ENDPOINT (or bind it), and print
each multipart message it receives, frame by frame, until Ctrl-C or --count.

Receiving types: SUB and XSUB (subscribed to --subscribe topics, all by default),
PULL, ROUTER (the routing id is frame 0), DEALER, PAIR, XPUB (prints subscription
messages), and REP (which echoes each request back so its peer can go on).

Layouts (--format):
  text   frames as UTF-8, control characters and bad bytes escaped
  hex    frames as hex bytes
  auto   text for frames that are printable UTF-8, hex for the others (default)
  json   one JSON array per message: a string per UTF-8 frame, {"hex": "..."} otherwise

stderr gets 'bound ENDPOINT' (with the port the OS chose for tcp://host:*),
'connected ENDPOINT' and then 'ready'; stdout only the messages."""
EPILOG = """\
examples:
  python -m zmqx tap tcp://127.0.0.1:5556                        everything a PUB sends
  python -m zmqx tap tcp://127.0.0.1:5556 -s weather. -s alerts  two topics
  python -m zmqx tap --type PULL bind:tcp://127.0.0.1:*          let PUSH peers connect
  python -m zmqx tap --type ROUTER --bind ipc:///tmp/x --format json"""

# types that never receive first: a tap of them would wait for ever
_SEND_FIRST = ("PUB", "PUSH", "REQ", "RADIO", "SCATTER")
DEFAULT_MAX = 1024


def add_arguments(parser):
    parser.add_argument("endpoint", metavar="ENDPOINT",
                        help="[bind:|connect:]ENDPOINT, several comma-separated")
    parser.add_argument("--type", "-T", default="SUB", metavar="TYPE",
                        help="socket type (default SUB)")
    add_endpoint_mode(parser, "connect")
    parser.add_argument("--subscribe", "-s", action="append", metavar="TOPIC",
                        help="SUB/XSUB topic prefix, repeatable (default: everything)")
    parser.add_argument("--format", "-f", choices=("text", "hex", "json", "auto"),
                        default="auto", help="how frames are printed (default auto)")
    parser.add_argument("--count", "-n", type=int, metavar="N",
                        help="exit after N messages")
    parser.add_argument("--max-bytes", type=int, metavar="N",
                        help=f"show at most N bytes of a frame (default {DEFAULT_MAX}; "
                             "json: everything); 0 for everything")
    parser.add_argument("--timestamps", "-t", action="store_true",
                        help="show the time each message arrived")
    add_progress(parser)


# -- layouts ---------------------------------------------------------------------------

def _escape(text):
    out = []
    for ch in text:
        if ch.isprintable() or ch == " ":
            out.append(ch)
        elif ch in "\n\r\t":
            out.append({"\n": "\\n", "\r": "\\r", "\t": "\\t"}[ch])
        else:
            out.append(f"\\x{ord(ch):02x}" if ord(ch) < 256 else f"\\u{ord(ch):04x}")
    return "".join(out)


def _as_text(data):
    """The UTF-8 text of data when it is all printable (a cut multi-byte character at the
    end is forgiven: frames may be shown truncated); None otherwise."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        if e.reason != "unexpected end of data" or e.start < len(data) - 3:
            return None
        text = data[:e.start].decode("utf-8")
    if all(ch.isprintable() or ch in " \t\r\n" for ch in text):
        return text
    return None


def format_frame(data, mode, limit):
    shown = data[:limit] if limit else data
    if mode == "hex":
        out = shown.hex(" ")
    elif mode == "text":
        out = _escape(shown.decode("utf-8", "backslashreplace"))
    else:
        text = _as_text(shown)
        out = _escape(text) if text is not None else "0x " + shown.hex(" ")
    if len(shown) < len(data):
        out += f" ... (+{len(data) - len(shown)} bytes)"
    return out


def format_message(frames, mode, limit, seq, stamp=None):
    """One message as printed: a header line, then one line per frame."""
    frames = [bytes(f) for f in frames]
    if mode == "json":
        items = []
        for f in frames:
            f = f[:limit] if limit else f
            try:
                items.append(f.decode("utf-8"))
            except UnicodeDecodeError:
                items.append({"hex": f.hex()})
        return json.dumps(items, ensure_ascii=False)
    total = sum(len(f) for f in frames)
    when = f" at {stamp}" if stamp else ""
    head = (f"----- message {seq}{when}: {len(frames)} frame"
            f"{'s' if len(frames) != 1 else ''}, {total} bytes")
    width = len(str(len(frames) - 1))
    lines = [head] + [f"[{i:>{width}}] {format_frame(f, mode, limit)}"
                      for i, f in enumerate(frames)]
    return "\n".join(lines)


def _clock():
    t = time.time()
    return time.strftime("%H:%M:%S", time.localtime(t)) + f".{int(t % 1 * 1000):03d}"


# -- the tool --------------------------------------------------------------------------

def run(args, zmq):
    kind = socket_type(zmq, args.type)
    name = type_name(zmq, kind)
    if name in _SEND_FIRST:
        raise ToolError(f"a {name} socket does not receive first; tap a peer of it instead "
                        "(SUB for PUB, PULL for PUSH, REP or ROUTER for REQ)")
    if args.count is not None and args.count < 1:
        raise ToolError("--count must be at least 1")
    endpoints = parse_endpoints(args.endpoint, args.mode)
    limit = args.max_bytes if args.max_bytes is not None else (
        0 if args.format == "json" else DEFAULT_MAX)
    topics = [t.encode() for t in (args.subscribe or [""])]

    ctx = zmq.Context()
    sock = ctx.socket(kind)
    sock.linger = 0
    try:
        if name == "SUB":
            for t in topics:
                sock.setsockopt(zmq.SUBSCRIBE, t)
        attach(zmq, NAME, sock, endpoints)
        if name == "XSUB":
            for t in topics:
                sock.send(b"\x01" + t)
        return _loop(args, zmq, sock, name, limit)
    finally:
        sock.close(linger=0)
        ctx.term()


def _loop(args, zmq, sock, name, limit):
    status = StatusLine(progress_wanted(args))
    rate = Rate()
    seq = 0
    with interruptible():
        try:
            say(NAME, "ready")      # inside: a Ctrl-C right after it is handled here
            while args.count is None or seq < args.count:
                if not sock.poll(TICK_MS, zmq.POLLIN):
                    if status.enabled and rate.due():
                        status.show(rate.line())
                    continue
                frames = sock.recv_multipart()
                seq += 1
                rate.add(1, sum(len(f) for f in frames))
                status.print(format_message(frames, args.format, limit, seq,
                                            _clock() if args.timestamps else None))
                if name == "REP":
                    sock.send_multipart(frames)
                if status.enabled and rate.due():
                    status.show(rate.line())
        except KeyboardInterrupt:
            ignore_interrupts()
            status.finish()
            say(NAME, f"interrupted after {seq} message{'s' if seq != 1 else ''}")
            return EXIT_OK
    status.finish()
    return EXIT_OK
