#!/usr/bin/env python
"""Run pyzmq's own test suite against zmqx and count the results.

The suite comes from the pyzmq source distribution (the tests are not in the wheels). It is
fetched once with pip into a cache folder, and only its tests/ folder is unpacked. The
tests then run in a child pytest where an import hook answers every ``import zmq`` /
``import zmq.x`` with ``zmqx`` / ``zmqx.x``, so the installed pyzmq is never touched.
The hook is installed by a ``sitecustomize`` module on PYTHONPATH, so child processes that
the tests start (ProcessDevice, multiprocessing) see the alias too.

    python tools/pyzmq_compat.py                 # the whole suite, counts at the end
    python tools/pyzmq_compat.py -k test_pubsub  # extra arguments go to pytest
    python tools/pyzmq_compat.py --outcomes out.txt   # one "outcome nodeid" line per test

Needs pytest, pytest-timeout and pytest-asyncio (pyzmq's async tests use its auto mode);
tornado and gevent are optional (their tests skip without them).
"""

import argparse
import os
import subprocess
import sys
import tarfile
import tempfile
import xml.etree.ElementTree as ET

PYZMQ_VERSION = "27.3.0"
HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)

# the import hook, written as the child's sitecustomize (kept self-contained on purpose:
# it runs before anything else in the child interpreter)
ALIAS_HOOK = '''\
"""Alias zmq -> zmqx for pyzmq's test suite (written by tools/pyzmq_compat.py)."""
import importlib
import importlib.abc
import importlib.util
import sys


class _Alias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    def find_spec(self, name, path=None, target=None):
        if name != "zmq" and not name.startswith("zmq."):
            return None
        real = "zmqx" + name[3:]
        if importlib.util.find_spec(real) is None:
            return None
        spec = importlib.util.spec_from_loader(name, self)
        spec._zmqx_real = real
        return spec

    def create_module(self, spec):
        return importlib.import_module(spec._zmqx_real)

    def exec_module(self, module):
        # importlib stamped the alias spec on the real module: give it back its own
        real = sys.modules.get(module.__name__)
        if real is module:
            module.__spec__ = importlib.util.find_spec(module.__name__)
            module.__loader__ = module.__spec__.loader


sys.meta_path.insert(0, _Alias())
'''

PYTEST_INI = """\
[pytest]
addopts = --import-mode=importlib -p no:cacheprovider
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
    ini = os.path.join(cache, "pytest.ini")
    with open(ini, "w") as f:
        f.write(PYTEST_INI)
    return alias_dir, ini


def count(junit):
    """(counts, outcomes) from a junit xml file; outcomes is [(outcome, test id)]."""
    counts = {"passed": 0, "failed": 0, "error": 0, "skipped": 0}
    outcomes = []
    for case in ET.parse(junit).getroot().iter("testcase"):
        kinds = {child.tag for child in case}
        if "error" in kinds:
            outcome = "error"
        elif "failure" in kinds:
            outcome = "failed"
        elif "skipped" in kinds:
            outcome = "skipped"
        else:
            outcome = "passed"
        counts[outcome] += 1
        name = f"{case.get('classname', '')}::{case.get('name', '')}"
        message = ""
        for child in case:
            if child.tag in ("error", "failure", "skipped"):
                lines = (child.get("message") or "").splitlines()
                message = lines[0][:200] if lines else ""
        outcomes.append((outcome, name, message))
    return counts, outcomes


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--cache", default=default_cache(), help="where the suite is kept")
    ap.add_argument("--timeout", type=int, default=30, help="seconds per test")
    ap.add_argument("--outcomes", help="write one 'outcome test-id message' line per test")
    ap.add_argument("--zmqx", default=REPO, help="the zmqx tree to test (put first on the path)")
    args, pytest_args = ap.parse_known_args(argv)

    tests = fetch_suite(args.cache)
    alias_dir, ini = write_support(args.cache)
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (alias_dir, args.zmqx, env.get("PYTHONPATH")) if p)
    with tempfile.TemporaryDirectory() as tmp:
        junit = os.path.join(tmp, "junit.xml")
        cmd = [sys.executable, "-m", "pytest", "-c", ini, "--rootdir", args.cache,
               f"--timeout={args.timeout}", "-q", f"--junitxml={junit}", "-o",
               "junit_family=xunit1", "--continue-on-collection-errors", *pytest_args]
        if not any(not a.startswith("-") for a in pytest_args):
            cmd.append(tests)
        rc = subprocess.run(cmd, cwd=args.cache, env=env).returncode
        if not os.path.exists(junit):
            print(f"pytest produced no report (exit {rc})")
            return rc or 1
        counts, outcomes = count(junit)
    total = sum(counts.values())
    print(f"\npyzmq {PYZMQ_VERSION} suite on zmqx: {counts['passed']} passed, "
          f"{counts['failed']} failed, {counts['error']} errors, {counts['skipped']} skipped "
          f"({total} tests)")
    if args.outcomes:
        with open(args.outcomes, "w") as f:
            for outcome, name, message in sorted(outcomes):
                f.write(f"{outcome}\t{name}\t{message}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
