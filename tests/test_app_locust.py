"""Locust's distributed mode, unchanged, on zmqx: the application test of issue 8.

Locust's master and workers talk over ``zmq.green`` (ROUTER/DEALER, msgpack messages,
heartbeats). Here every locust process runs with tests/alias on PYTHONPATH, whose
sitecustomize answers ``import zmq`` with zmqx, and the locustfile itself proves it: each
process writes which modules ``zmq`` and locust's RPC layer really are, and whether any
module of the installed pyzmq got loaded. A silent fall-back to pyzmq fails the test.

The users record a request each without any network I/O of their own (the only traffic is
locust's RPC), so the counts can be checked exactly and the test is quick. The runs synchronise on files
the locustfile writes and on locust's log lines, never on sleeps.
"""

import importlib.util
import json
import os
import signal
import socket
import subprocess
import sys
import time

import pytest

import zmqx

if sys.platform == "win32":
    pytest.skip("the locust tests use POSIX signals and process groups", allow_module_level=True)

# never import locust here: its import monkey-patches the whole process for gevent
if importlib.util.find_spec("locust") is None:
    pytest.skip(
        "LOCUST IS NOT INSTALLED: Locust's distributed mode on zmqx is NOT tested "
        "(pip install 'zmqx[apps]' or 'zmqx[test]')",
        allow_module_level=True,
    )

HERE = os.path.dirname(os.path.abspath(__file__))
ALIAS = os.path.join(HERE, "alias")
ZMQX_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(zmqx.__file__)))

LOCUSTFILE = r'''
"""Locustfile for tests/test_app_locust.py: proves the zmq alias, counts requests."""
import importlib.machinery
import json
import os
import sys

import zmq  # must be zmqx, through tests/alias/sitecustomize.py
from locust import User, constant, events, task
from locust.runners import MasterRunner, WorkerRunner

OUT = os.environ["ZMQX_LOCUST_OUT"]


def _write(name, payload):
    tmp = os.path.join(OUT, name + ".tmp")
    with open(tmp, "w") as f:
        json.dump(payload, f)
    os.replace(tmp, os.path.join(OUT, name))   # readers never see half a file


def _identity():
    import locust.rpc.zmqrpc as rpc
    # where pyzmq really is, asked past the alias (PathFinder ignores sys.meta_path hooks)
    spec = importlib.machinery.PathFinder.find_spec("zmq")
    pyzmq_dir = os.path.dirname(spec.origin) if spec and spec.origin else None
    loaded = sorted(
        name for name, mod in list(sys.modules.items())
        if pyzmq_dir and (getattr(mod, "__file__", None) or "").startswith(pyzmq_dir + os.sep)
    )
    return {
        "pid": os.getpid(),
        "zmq_name": zmq.__name__,
        "zmq_file": zmq.__file__,
        "rpc_zmq_name": rpc.zmq.__name__,
        "rpc_zmq_file": rpc.zmq.__file__,
        "pyzmq_modules_loaded": loaded,
    }


# written at import, before locust creates its runner (and its sockets): a worker that
# wrote this exists, whether or not a master does yet
_write(f"imported-{os.getpid()}.json", _identity())

_sent = 0                     # this worker's own count of requests
_received = {}                # master: requests reported by each worker


class Counted(User):
    wait_time = constant(0.02)

    @task
    def tick(self):
        global _sent
        _sent += 1
        self.environment.events.request.fire(
            request_type="TICK", name="tick", response_time=1, response_length=0,
            exception=None, context={})


@events.init.add_listener
def _on_init(environment, runner, **kwargs):
    ident = _identity()
    # the class of the socket locust's RPC really uses
    sock = runner.server.socket if isinstance(runner, MasterRunner) else runner.client.socket
    ident["socket_type"] = type(sock).__module__
    if isinstance(runner, MasterRunner):
        import locust.runners
        ident["port"] = runner.server.port
        ident["heartbeat"] = [locust.runners.HEARTBEAT_LIVENESS, locust.runners.HEARTBEAT_INTERVAL]
        _write("master.json", ident)

        @events.worker_report.add_listener
        def _on_report(client_id, data):
            _received[client_id] = _received.get(client_id, 0) + data["stats_total"]["num_requests"]
            _write("master-received.json", _received)
    elif isinstance(runner, WorkerRunner):
        ident["client_id"] = runner.client_id
        _write(f"worker-{os.getpid()}.json", ident)

        @events.report_to_master.add_listener
        def _on_report(client_id, data):
            _write(f"sent-{os.getpid()}.json", {"client_id": client_id, "sent": _sent})
'''


# ---------------------------------------------------------------------------------------
# process plumbing


@pytest.fixture
def run(tmp_path):
    """Start locust processes under the alias; every one is killed at the end."""
    out = tmp_path / "out"
    out.mkdir()
    (tmp_path / "locustfile.py").write_text(LOCUSTFILE)
    env = {k: v for k, v in os.environ.items() if not k.startswith("LOCUST_")}
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (ALIAS, ZMQX_ROOT, os.environ.get("PYTHONPATH")) if p)
    env["ZMQX_LOCUST_OUT"] = str(out)
    env["PYTHONUNBUFFERED"] = "1"
    procs = []

    def start(name, *args):
        log = open(tmp_path / f"{name}.log", "wb")
        # cwd is the temp folder: locust reads locust.conf / pyproject.toml from its cwd
        p = subprocess.Popen(
            [sys.executable, "-m", "locust", "-f", str(tmp_path / "locustfile.py"), *args],
            cwd=tmp_path, env=env, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True)
        log.close()
        p.name, p.log = name, tmp_path / f"{name}.log"
        procs.append(p)
        return p

    start.out = out
    start.tmp = tmp_path
    try:
        yield start
    finally:
        for p in procs:
            if p.poll() is None:
                try:
                    os.killpg(p.pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            p.wait(timeout=10)


def logs(procs):
    return "\n".join(f"--- {p.name} (rc={p.poll()}) ---\n"
                     + p.log.read_text(errors="replace")[-3000:] for p in procs)


def wait_for(what, check, procs, timeout):
    """Poll `check()` until it returns something truthy; fail (with every log) on timeout
    or when one of `procs` exits first."""
    deadline = time.monotonic() + timeout
    while True:
        got = check()
        if got:
            return got
        dead = [p for p in procs if p.poll() is not None]
        if dead or time.monotonic() > deadline:
            why = f"{dead[0].name} exited" if dead else f"{timeout:.0f} s passed"
            pytest.fail(f"waiting for {what}: {why}\n{logs(procs)}")
        time.sleep(0.05)


def read_json(path):
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None


def file_json(path):
    return lambda: read_json(path)


def log_has(proc, text):
    return lambda: text in proc.log.read_text(errors="replace")


def assert_on_zmqx(ident, role):
    """The process ran locust on zmqx, not on the installed pyzmq."""
    assert ident["zmq_name"] == "zmqx", (role, ident)
    assert os.path.realpath(ident["zmq_file"]) == os.path.realpath(zmqx.__file__), (role, ident)
    assert ident["rpc_zmq_name"] == "zmqx.green", (role, ident)
    assert os.path.dirname(os.path.realpath(ident["rpc_zmq_file"])) == os.path.join(
        os.path.dirname(os.path.realpath(zmqx.__file__)), "green"), (role, ident)
    if "socket_type" in ident:          # known once locust has made its RPC socket
        assert ident["socket_type"].startswith("zmqx.green"), (role, ident)
    assert ident["pyzmq_modules_loaded"] == [], (role, ident)


MASTER_ARGS = ("--master", "--headless", "--master-bind-host", "127.0.0.1",
               "--expect-workers", "2", "-u", "4", "-r", "4")


def start_workers(run, port, n=2):
    return [run(f"worker{i}", "--worker", "--master-host", "127.0.0.1", "--master-port", str(port))
            for i in range(n)]


def workers_by_client_id(run, workers, procs):
    idents = {}
    for w in workers:
        ident = wait_for(f"{w.name}'s runner", file_json(run.out / f"worker-{w.pid}.json"),
                         procs, 30)
        assert_on_zmqx(ident, w.name)
        idents[ident["client_id"]] = w
    assert len(idents) == len(workers)
    return idents


def check_counts(run, master, workers):
    """The master's final stats count requests from every worker, and nothing else."""
    received = read_json(run.out / "master-received.json")
    assert received, logs([master, *workers])
    by_id = workers_by_client_id(run, workers, [])
    assert set(received) == set(by_id), (received, by_id)
    for client_id, w in by_id.items():
        sent = read_json(run.out / f"sent-{w.pid}.json")
        assert sent is not None and sent["client_id"] == client_id
        # every report the master got was counted from this worker's own requests
        assert 0 < received[client_id] <= sent["sent"], (client_id, received, sent)
    stats = read_json(run.tmp / "stats.json.json")
    assert stats is not None, logs([master, *workers])
    ticks = [e for e in stats if e["name"] == "tick" and e["method"] == "TICK"]
    assert len(ticks) == 1 and ticks[0]["num_failures"] == 0
    assert ticks[0]["num_requests"] == sum(received.values()), (stats, received)


# ---------------------------------------------------------------------------------------
# the tests


def test_master_with_two_workers_counts_both(run):
    """(a) A headless master on an OS-chosen port, two workers, a timed run: locust's final
    stats hold requests from both workers, every process on zmqx."""
    master = run("master", *MASTER_ARGS, "--master-bind-port", "0", "-t", "3s",
                 "--json-file", str(run.tmp / "stats.json"))
    ident = wait_for("the master's port", file_json(run.out / "master.json"), [master], 30)
    assert_on_zmqx(ident, "master")
    assert 0 < ident["port"] < 65536
    workers = start_workers(run, ident["port"])
    procs = [master, *workers]
    workers_by_client_id(run, workers, procs)
    wait_for("the master to start the run", log_has(master, "Sending spawn jobs"), procs, 30)
    assert master.wait(timeout=40) == 0, logs(procs)
    # the master tells its workers to quit as it ends
    for w in workers:
        assert w.wait(timeout=20) == 0, logs(procs)
    check_counts(run, master, workers)


def test_killed_worker_is_noticed_by_heartbeat(run):
    """(b) A worker killed with SIGKILL (no goodbye on the wire) is declared missing by the
    master's heartbeat check, within locust's liveness window; the other one runs on."""
    master = run("master", *MASTER_ARGS, "--master-bind-port", "0", "-t", "60s")
    ident = wait_for("the master's port", file_json(run.out / "master.json"), [master], 30)
    workers = start_workers(run, ident["port"])
    procs = [master, *workers]
    by_id = workers_by_client_id(run, workers, procs)
    wait_for("users running on both workers", log_has(master, "All users spawned"), procs, 30)
    # locust's heartbeat: the master counts a worker down from its liveness once per interval
    # and declares it missing below zero, about (liveness + 1) intervals after its last
    # heartbeat. Locust has no setting for them, so they are read from the master process.
    liveness, interval = ident["heartbeat"]
    victim_id, victim = next(iter(by_id.items()))
    survivor = next(w for w in workers if w is not victim)
    os.killpg(victim.pid, signal.SIGKILL)
    victim.wait(timeout=10)
    killed_at = time.monotonic()
    wait_for("the master to notice the killed worker",
             log_has(master, f"Worker {victim_id} failed to send heartbeat, setting state to missing"),
             [master, survivor], (liveness + 2) * interval + 5.0)
    elapsed = time.monotonic() - killed_at
    # missing only after the liveness window: heartbeats really are what decided it
    assert elapsed >= (liveness - 1) * interval, elapsed
    survivor_id = next(c for c, w in by_id.items() if w is survivor)
    text = master.log.read_text(errors="replace")
    assert f"Worker {survivor_id} failed to send heartbeat" not in text, logs(procs)
    assert master.poll() is None and survivor.poll() is None, logs(procs)


def test_workers_started_before_the_master_join_it(run):
    """(c) Workers started first connect to a port nobody listens on yet; the master that
    then binds it gets both, runs the test and counts both."""
    # an OS-chosen port, held (bound, not listening: connects are refused) while the
    # workers start, and let go just before the master binds it
    reservation = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        reservation.bind(("127.0.0.1", 0))
        port = reservation.getsockname()[1]
        workers = start_workers(run, port)
        for w in workers:
            ident = wait_for(f"{w.name} to start", file_json(run.out / f"imported-{w.pid}.json"),
                             workers, 30)
            assert_on_zmqx(ident, w.name)
        assert not (run.out / "master.json").exists()
    finally:
        reservation.close()
    master = run("master", *MASTER_ARGS, "--master-bind-port", str(port), "-t", "3s",
                 "--json-file", str(run.tmp / "stats.json"))
    procs = [master, *workers]
    ident = wait_for("the master", file_json(run.out / "master.json"), procs, 30)
    assert_on_zmqx(ident, "master")
    assert ident["port"] == port
    for w in workers:
        assert (run.out / f"imported-{w.pid}.json").stat().st_mtime_ns <= (
            run.out / "master.json").stat().st_mtime_ns
    workers_by_client_id(run, workers, procs)
    assert master.wait(timeout=40) == 0, logs(procs)
    for w in workers:
        assert w.wait(timeout=20) == 0, logs(procs)
    check_counts(run, master, workers)
