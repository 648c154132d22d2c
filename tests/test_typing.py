"""Type checking: code typed against pyzmq must type-check against zmqx with mypy.

tests/typing_samples/ holds pyzmq-style programs with annotations (blocking and asyncio);
mypy must accept them with --disallow-untyped-calls (every zmqx call they make is typed)
and must report each mistake in wrong.py (which shows the check is not vacuous: an
untyped or missing zmqx would let everything through). zmqx.constants' flat names come
from a generated stub (zmqx/constants.pyi), checked here against the module."""

import asyncio
import os
import re
import subprocess
import sys

import pytest

pytest.importorskip("mypy")
pytestmark = pytest.mark.timeout(300)

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SAMPLES = os.path.join(HERE, "typing_samples")


def _mypy(path, tmp_path):
    # zmqx's own modules are followed for their types but not reported on (what a user
    # of an installed zmqx sees)
    cmd = [sys.executable, "-m", "mypy", "--follow-imports=silent",
           "--disallow-untyped-calls", "--disallow-untyped-defs", "--no-error-summary",
           "--cache-dir", str(tmp_path / "mypy-cache"), path]
    out = subprocess.run(cmd, cwd=REPO, capture_output=True, text=True, timeout=280)
    return out.returncode, out.stdout + out.stderr


@pytest.mark.parametrize("sample", ["sync_patterns.py", "async_patterns.py"])
def test_typed_pyzmq_code_checks(sample, tmp_path):
    rc, out = _mypy(os.path.join(SAMPLES, sample), tmp_path)
    assert rc == 0, out


def test_mistakes_are_reported(tmp_path):
    rc, out = _mypy(os.path.join(SAMPLES, "wrong.py"), tmp_path)
    assert rc == 1
    errors = {int(m.group(1)): m.group(2)
              for m in re.finditer(r"wrong\.py:(\d+): error: (.*)", out)}
    assert "has no attribute \"PUHS\"" in errors[6]
    assert "\"bytes\", variable has type \"int\"" in errors[7]          # recv() is bytes
    assert "variable has type \"Frame\"" in errors[8]                  # ... unless copy=False
    assert "send_string" in errors[9] and "expected \"str\"" in errors[9]
    assert "bind" in errors[10] and "expected \"str\"" in errors[10]
    assert set(errors) == {6, 7, 8, 9, 10}, out


def test_async_sample_runs():
    sys.path.insert(0, SAMPLES)
    try:
        import async_patterns
    finally:
        sys.path.remove(SAMPLES)
    assert asyncio.run(async_patterns.relay(f"inproc://typing-{os.getpid()}")) == [b"a", b"b"]


def test_constants_stub_is_current():
    out = subprocess.run([sys.executable, os.path.join(REPO, "tools", "gen_constants_stub.py")],
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stdout + out.stderr


def test_flat_constants_in_stub_match_the_module():
    import zmqx
    from zmqx import constants

    with open(os.path.join(REPO, "zmqx", "constants.pyi")) as f:
        stub = f.read()
    for name in ("PUSH", "LINGER", "EVENT_CONNECTED", "POLLIN", "EAGAIN", "IO_THREADS",
                 "NOTIFY_CONNECT", "RECONNECT_STOP_CONN_REFUSED"):
        member = getattr(zmqx, name)
        assert re.search(rf"^{name}: {type(member).__name__}$", stub, re.M), name
    assert len(re.findall(r"^[A-Z][A-Z0-9_]*: ", stub, re.M)) >= len(
        [n for n in constants.__all__ if n.isupper()])
