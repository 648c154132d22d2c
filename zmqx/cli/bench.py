"""``python -m zmqx bench``: the side-by-side benchmark (bench/sidebyside.py), which lives
in the source tree only; this tool finds it next to the package and runs it, so that
claims about speed keep coming from one script."""

import os
import subprocess
import sys

from ._common import EXIT_OK, EXIT_UNAVAILABLE, ToolError

NAME = "bench"
HELP = "run the zmqx-vs-pyzmq side-by-side benchmark (source tree only)"
DESCRIPTION = """\
Run bench/sidebyside.py, which measures zmqx and pyzmq side by side in one run
(throughput and latency over inproc, ipc and tcp). Every argument after 'bench' is
passed to it unchanged. The script is part of zmqx's source tree, not of the installed
package: run this from a checkout (with the engine built in place or installed)."""
EPILOG = """\
examples:
  python -m zmqx bench --quick                  every case, 3 repetitions, small counts
  python -m zmqx bench --only push_pull/tcp     some cases (name prefixes or globs)
  python -m zmqx bench --list                   the cases and their parameters
  python -m zmqx bench -- --help                the benchmark script's own options"""
PASS_THROUGH = True       # unknown arguments go to the script, not to an error


def script_path():
    """bench/sidebyside.py next to the zmqx package, or None (an installed wheel)."""
    here = os.path.dirname(os.path.abspath(__file__))          # .../zmqx/cli
    root = os.path.dirname(os.path.dirname(here))
    path = os.path.join(root, "bench", "sidebyside.py")
    return path if os.path.isfile(path) else None


def add_arguments(parser):
    pass


def run(args, zmq):
    path = script_path()
    if path is None:
        raise ToolError(
            "the benchmark (bench/sidebyside.py) is not installed with zmqx; "
            "run this from a source checkout of zmqx", EXIT_UNAVAILABLE)
    proc = subprocess.Popen([sys.executable, path] + list(args.passthrough))
    try:
        return proc.wait()
    except KeyboardInterrupt:
        # the script got the same Ctrl-C (same process group) and stops its own workers
        try:
            proc.wait(timeout=10)
        except (subprocess.TimeoutExpired, KeyboardInterrupt):
            proc.kill()
            proc.wait()
        return EXIT_OK
