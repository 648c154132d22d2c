"""``python -m zmqx`` command-line tools: one module per tool, this one builds the
argument parser and runs the chosen tool with the policy every tool shares (one-line
errors on stderr, exit code 0 on Ctrl-C, a quiet end when stdout's reader goes away).

Each tool module has HELP (one line), DESCRIPTION, ``add_arguments(parser)`` and
``run(args, zmq)``, where ``zmq`` is the pyzmq-API module to use (zmqx; the tests also run
the tools against pyzmq to check that they only rely on pyzmq's API)."""

import argparse
import os
import sys

from . import _common, bench, keygen, monitor, proxy, tap

TOOLS = {m.NAME: m for m in (bench, proxy, tap, monitor, keygen)}


def build_parser():
    parser = argparse.ArgumentParser(
        prog="python -m zmqx",
        description="ZeroMQ command-line tools from zmqx. "
                    "'python -m zmqx TOOL --help' describes each tool.",
        formatter_class=_common.HelpFormatter)
    sub = parser.add_subparsers(dest="tool", metavar="TOOL")
    for name, mod in TOOLS.items():
        p = sub.add_parser(name, help=mod.HELP, description=mod.DESCRIPTION,
                           epilog=getattr(mod, "EPILOG", None),
                           formatter_class=_common.HelpFormatter)
        mod.add_arguments(p)
    return parser


def main(argv=None, zmq=None):
    """Run a tool; returns the process exit code."""
    parser = build_parser()
    args, extra = parser.parse_known_args(argv)
    if args.tool is None:
        parser.print_help(sys.stderr)
        return _common.EXIT_UNAVAILABLE
    mod = TOOLS[args.tool]
    if getattr(mod, "PASS_THROUGH", False):
        args.passthrough = extra[1:] if extra[:1] == ["--"] else extra
    elif extra:
        parser.parse_args(argv)          # reports the unknown arguments, exits 2
    if zmq is None:
        import zmqx as zmq
    try:
        return mod.run(args, zmq)
    except _common.ToolError as e:
        _common.say(args.tool, f"error: {e}")
        return e.code
    except KeyboardInterrupt:            # Ctrl-C before the tool set up its own handling
        return _common.EXIT_OK
    except BrokenPipeError:
        # stdout's reader went away (python -m zmqx tap ... | head): end quietly, and keep
        # the interpreter's final flush from failing on the closed pipe
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return _common.EXIT_OK
