"""The programs in examples/ (the patterns the documentation shows) run and print what
they promise. Each runs as its own process with a deadline, importing the same zmqx as
this test run, so an example that hangs or breaks fails here instead of in a reader's hands.
"""
import os
import re
import subprocess
import sys

import pytest

import zmqx

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
EXAMPLES = os.path.join(ROOT, "examples")
DEADLINE_S = 30  # each example finishes in well under a second here

EXPECTED = {
    "reqrep.py": [r"^sent Hello 0, got World 0$", r"^sent Hello 1, got World 1$",
                  r"^sent Hello 2, got World 2$"],
    "pubsub.py": [r"^subscriber joined: topic 'weather'$", r"^received weather: 20 C$",
                  r"^received weather: 21 C$", r"^received weather: 22 C$",
                  r"^3 messages, all weather: True$"],
    "pipeline.py": [r"^sum of squares of 0\.\.99: 328350$", r"^expected: 328350$",
                    r"^3 workers stopped after 100 tasks$"],
    "broker.py": [rf"^client-{c} request {i} answered$" for c in range(3) for i in range(4)]
    + [r"^12 replies for 12 requests$"],
    "proxy.py": [rf"^REQUEST {i}$" for i in range(5)]
    + [r"^frontend received 15 frames, backend received 15 frames$", r"^proxy stopped: True$"],
    "radio_dish.py": [r"^the dish hears the radio$", r"^received weather: 20 C$",
                      r"^received weather: 21 C$", r"^received weather: 22 C$",
                      r"^3 messages, all weather: True$"],
    "poller.py": [rf"^tasks:\s+task {i}$" for i in range(4)]
    + [r"^updates: update: all systems go$", r"^pipe:\s+pipe line 0$", r"^pipe:\s+pipe line 1$",
       r"^done: 4 tasks, 1 update, 2 pipe lines$"],
}


def run_example(name):
    env = dict(os.environ)
    # the zmqx under test: the parent folder of the imported package goes first on the path
    pkg_parent = os.path.dirname(os.path.dirname(os.path.abspath(zmqx.__file__)))
    env["PYTHONPATH"] = os.pathsep.join(
        [pkg_parent] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    return subprocess.run([sys.executable, os.path.join(EXAMPLES, name)], capture_output=True,
                          text=True, timeout=DEADLINE_S, env=env, cwd=pkg_parent)


pytestmark = pytest.mark.skipif(not os.path.isdir(EXAMPLES), reason="examples/ not present")


def test_every_example_is_checked():
    present = sorted(f for f in os.listdir(EXAMPLES) if f.endswith(".py"))
    assert present == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_example_runs(name):
    p = run_example(name)
    assert p.returncode == 0, f"{name} exited {p.returncode}\nstdout:\n{p.stdout}\nstderr:\n{p.stderr}"
    lines = p.stdout.splitlines()
    for pattern in EXPECTED[name]:
        assert any(re.search(pattern, line) for line in lines), (
            f"{name}: no line matches {pattern!r}\nstdout:\n{p.stdout}")
    assert p.stderr == "", f"{name} wrote to stderr:\n{p.stderr}"
