#!/usr/bin/env python
"""Run pyzmq's own test suite against zmqx and count the results.

The suite comes from the pyzmq source distribution (the tests are not in the wheels). It is
fetched once with pip into a cache folder, and only its tests/ folder is unpacked. The
tests then run in a child pytest where an import hook answers every ``import zmq`` /
``import zmq.x`` with ``zmqx`` / ``zmqx.x``, so the installed pyzmq is never touched.
The hook is installed by a ``sitecustomize`` module on PYTHONPATH, so child processes that
the tests start (ProcessDevice, multiprocessing) see the alias too. Its source is
tests/alias/sitecustomize.py, which the application tests (tests/test_app_*.py) use as well;
that folder (or <cache>/alias, where this script copies it) can be put on PYTHONPATH to run
any pyzmq program on zmqx.

Each test file runs in its own pytest process that logs its progress; a test that hangs
beyond the reach of the per-test timeout (blocked in C) is killed after --stall seconds,
recorded as an error, and the file goes on without it.

    python tools/pyzmq_compat.py                 # the whole suite: counts per file and total
    python tools/pyzmq_compat.py -k test_pubsub  # only files whose name contains this
    python tools/pyzmq_compat.py --outcomes out.txt   # "outcome<TAB>test id<TAB>reason" lines
    python tools/pyzmq_compat.py -- -x           # other arguments go to each pytest

Needs pytest, pytest-timeout and pytest-asyncio (pyzmq's async tests use its auto mode);
tornado and gevent are optional (their tests skip without them).
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import tarfile
import tempfile
import time

PYZMQ_VERSION = "27.3.0"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# the import hook: tests/alias/sitecustomize.py (standard library only; the application
# tests use the same file), written into the child's PYTHONPATH folder as its sitecustomize
ALIAS_HOOK_PATH = os.path.join(REPO, "tests", "alias", "sitecustomize.py")
with open(ALIAS_HOOK_PATH) as _f:
    ALIAS_HOOK = _f.read()

# a pytest plugin that records every test's progress as it happens (one JSON line per
# event), so that a test that hangs the process -- one blocked in C code that no per-test
# timeout can interrupt -- costs only that test: the runner kills the process, records the
# test as hung, and carries on with the rest of the file
PROGRESS_PLUGIN = '''\
"""Progress log for tools/pyzmq_compat.py."""
import json
import os

_path = os.environ["ZMQX_COMPAT_PROGRESS"]


def _write(**event):
    with open(_path, "a") as f:
        f.write(json.dumps(event) + "\\n")


def pytest_runtest_logstart(nodeid, location):
    _write(event="start", nodeid=nodeid)


def pytest_runtest_logreport(report):
    message = ""
    if report.failed or report.skipped:
        text = str(report.longrepr) if report.longrepr is not None else ""
        if report.skipped and isinstance(report.longrepr, tuple):
            text = str(report.longrepr[2])
        lines = [ln for ln in text.splitlines() if ln.startswith("E ")] or text.splitlines()
        message = (lines[-1] if report.failed and lines else (lines[0] if lines else ""))
    _write(event="report", nodeid=report.nodeid, when=report.when, outcome=report.outcome,
           message=message[:300])


def pytest_collectreport(report):
    if report.failed:
        text = str(report.longrepr)
        lines = [ln for ln in text.splitlines() if ln.startswith("E ")] or text.splitlines()
        _write(event="collect_error", nodeid=report.nodeid,
               message=(lines[-1] if lines else "")[:300])
'''

PYTEST_INI = """\
[pytest]
addopts = --import-mode=importlib -p no:cacheprovider -p zmqx_compat_progress
markers =
    large: these tests use a lot of memory
    new_console: these tests create a new console
    wheel: these tests are for installs from a wheel, not dev-installs
pythonpath = tests
testpaths = tests
asyncio_mode = auto
asyncio_default_fixture_loop_scope = function
"""


def default_cache():
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "zmqx", f"pyzmq-{PYZMQ_VERSION}")


def fetch_suite(cache):
    """Download the sdist (once) and unpack its tests/ into cache/tests."""
    tests = os.path.join(cache, "tests")
    if os.path.isfile(os.path.join(tests, "conftest.py")):
        return tests
    os.makedirs(cache, exist_ok=True)
    sdist = os.path.join(cache, f"pyzmq-{PYZMQ_VERSION}.tar.gz")
    if not os.path.exists(sdist):
        # --no-binary pyzmq, not :all: -- with :all: pip also insists on building pyzmq's
        # build requirements (cmake, ...) from source just to read its metadata
        subprocess.run(
            [sys.executable, "-m", "pip", "download", "--no-binary", "pyzmq", "--no-deps",
             f"pyzmq=={PYZMQ_VERSION}", "-d", cache],
            check=True,
        )
    prefix = f"pyzmq-{PYZMQ_VERSION}/tests/"
    with tarfile.open(sdist) as tar:
        members = []
        for m in tar.getmembers():
            if not m.name.startswith(prefix) or not (m.isfile() or m.isdir()):
                continue
            m.name = m.name[len(f"pyzmq-{PYZMQ_VERSION}/"):]
            members.append(m)
        tar.extractall(cache, members=members, filter="data")
    return tests


def write_support(cache):
    alias_dir = os.path.join(cache, "alias")
    os.makedirs(alias_dir, exist_ok=True)
    with open(os.path.join(alias_dir, "sitecustomize.py"), "w") as f:
        f.write(ALIAS_HOOK)
    with open(os.path.join(alias_dir, "zmqx_compat_progress.py"), "w") as f:
        f.write(PROGRESS_PLUGIN)
    ini = os.path.join(cache, "pytest.ini")
    with open(ini, "w") as f:
        f.write(PYTEST_INI)
    return alias_dir, ini


def read_progress(path):
    """(results, started-but-unfinished test or None) from a progress log.
    results: {nodeid: (outcome, message)} with outcome passed/failed/error/skipped."""
    results, phases, last_started = {}, {}, None
    if not os.path.exists(path):
        return results, None
    with open(path) as f:
        for line in f:
            try:
                ev = json.loads(line)
            except ValueError:
                continue          # a line cut short by a kill
            if ev["event"] == "start":
                last_started = ev["nodeid"]
            elif ev["event"] == "collect_error":
                results[ev["nodeid"] or "<collection>"] = ("error", ev["message"])
            elif ev["event"] == "report":
                phases.setdefault(ev["nodeid"], []).append(ev)
                if ev["when"] == "teardown":
                    last_started = None
    for nodeid, evs in phases.items():
        outcome, message = "passed", ""
        for ev in evs:
            if ev["outcome"] == "failed":
                outcome = "failed" if ev["when"] == "call" else "error"
                message = ev["message"]
                if outcome == "error":
                    message = f"{ev['when']}: {message}"
                break
            if ev["outcome"] == "skipped":
                outcome, message = "skipped", ev["message"]
        results[nodeid] = (outcome, message)
    if last_started in results and any(e["when"] == "teardown" for e in phases[last_started]):
        last_started = None
    return results, last_started


def run_file(test_file, cache, ini, env, timeout, stall, pytest_args):
    """Run one test file, surviving hangs: a test that stops all progress for `stall`
    seconds is recorded as hung, the process is killed, and the file goes on without it."""
    results, skip = {}, []
    rel = os.path.relpath(test_file, cache)
    while True:
        with tempfile.TemporaryDirectory() as tmp:
            progress = os.path.join(tmp, "progress.jsonl")
            env = dict(env, ZMQX_COMPAT_PROGRESS=progress)
            cmd = [sys.executable, "-m", "pytest", "-c", ini, "--rootdir", cache,
                   f"--timeout={timeout}", "-q", "-p", "no:randomly", *pytest_args,
                   *(f"--deselect={nodeid}" for nodeid in skip), rel]
            proc = subprocess.Popen(cmd, cwd=cache, env=env, start_new_session=True,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            last_size, last_change = -1, time.monotonic()
            hung = False
            while proc.poll() is None:
                try:
                    size = os.path.getsize(progress)
                except OSError:
                    size = 0
                if size != last_size:
                    last_size, last_change = size, time.monotonic()
                elif time.monotonic() - last_change > stall:
                    hung = True
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait()
                    break
                time.sleep(0.5)
            output = proc.stdout.read().decode(errors="replace")
            proc.stdout.close()
            found, unfinished = read_progress(progress)
        results.update(found)
        if not hung:
            return results, output
        if unfinished is None:
            results[f"{rel}::<hang outside a test>"] = ("error", "process hung; killed")
            return results, output
        results[unfinished] = ("error", f"hung (no progress for {stall}s): killed")
        skip.append(unfinished)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=default_cache(), help="where the suite is kept")
    ap.add_argument("--timeout", type=int, default=30, help="seconds per test (pytest-timeout)")
    ap.add_argument("--stall", type=int, default=90,
                    help="seconds without progress before a hung process is killed")
    ap.add_argument("--outcomes", help="write one 'outcome test-id message' line per test")
    ap.add_argument("--zmqx", default=REPO, help="the zmqx tree to test (put first on the path)")
    ap.add_argument("-k", dest="keyword", help="only test files whose name contains this")
    ap.add_argument("-v", "--verbose", action="store_true", help="show pytest's output")
    args, pytest_args = ap.parse_known_args(argv)

    tests = fetch_suite(args.cache)
    alias_dir, ini = write_support(args.cache)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (alias_dir, args.zmqx, env.get("PYTHONPATH")) if p)
    files = sorted(f for f in os.listdir(tests) if f.startswith("test_") and f.endswith(".py"))
    if args.keyword:
        files = [f for f in files if args.keyword in f]
    results = {}
    for name in files:
        found, output = run_file(os.path.join(tests, name), args.cache, ini, env,
                                 args.timeout, args.stall, pytest_args)
        if args.verbose:
            print(output)
        results.update(found)
        c = {k: sum(1 for o, _ in found.values() if o == k)
             for k in ("passed", "failed", "error", "skipped")}
        print(f"{name:32} {c['passed']:4} passed {c['failed']:3} failed {c['error']:3} errors "
              f"{c['skipped']:3} skipped", flush=True)
    counts = {k: sum(1 for o, _ in results.values() if o == k)
              for k in ("passed", "failed", "error", "skipped")}
    print(f"\npyzmq {PYZMQ_VERSION} suite on zmqx: {counts['passed']} passed, "
          f"{counts['failed']} failed, {counts['error']} errors, {counts['skipped']} skipped "
          f"({len(results)} tests)")
    if args.outcomes:
        with open(args.outcomes, "w") as f:
            for nodeid, (outcome, message) in sorted(results.items(),
                                                     key=lambda kv: (kv[1][0], kv[0])):
                f.write(f"{outcome}\t{nodeid}\t{message}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
