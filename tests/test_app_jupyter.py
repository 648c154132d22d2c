"""Jupyter (jupyter_client + ipykernel), unchanged, on zmqx: the application test of issue 8.

A driver program (DRIVER below) runs as a Jupyter frontend would: it starts a kernel with
jupyter_client and talks to it over the five ZeroMQ channels (shell, iopub, stdin, control:
ROUTER/DEALER and PUB/SUB, plus the REQ/REP heartbeat; the kernel also makes the STREAM
socket its debugger uses). The driver and the kernel it starts both run with tests/alias
first on PYTHONPATH, so ``import zmq`` is zmqx in BOTH processes; each one reports which
module ``zmq`` really is and whether any module of the installed pyzmq got loaded, and a
silent fall-back to pyzmq fails the test. So does ``jupyter nbconvert --execute``.

Checked: execute with stdout on IOPub, an error reply, complete/inspect/kernel_info, input()
over the stdin channel, the heartbeat, interrupting a running cell, restart, 200 executes
in a row, 5 MB of output, the kernel's debugger (its STREAM socket talking to debugpy),
a clean exit on shutdown_request, the async client, and ``jupyter nbconvert --execute``.

The driver runs every scenario once (one kernel start is seconds) and writes what it saw
to a JSON file, scenario by scenario; each test below checks one scenario. Waits are
bounded by jupyter_client's own timeouts (replies, IOPub idle), never by sleeps.
"""

import importlib.util
import json
import os
import subprocess
import sys

import pytest

import zmqx

MISSING = [m for m in ("jupyter_client", "ipykernel") if importlib.util.find_spec(m) is None]
if MISSING:
    pytest.skip(
        "%s NOT INSTALLED: Jupyter on zmqx is NOT tested (pip install 'zmqx[apps]')"
        % " AND ".join(MISSING), allow_module_level=True)

pytestmark = pytest.mark.timeout(400)

HERE = os.path.dirname(os.path.abspath(__file__))
ALIAS = os.path.join(HERE, "alias")
ZMQX_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(zmqx.__file__)))
FIVE_MB = 5 * 1024 * 1024

# What a process reports about itself: which zmq it runs on. Shared by the driver, the
# kernel (sent as a cell) and the nbconvert wrapper.
IDENTITY = r'''
def _zmq_identity():
    import importlib.machinery, os, sys
    import zmq
    spec = importlib.machinery.PathFinder.find_spec("zmq")   # pyzmq, past the alias
    pyzmq_dir = os.path.dirname(spec.origin) if spec and spec.origin else None
    loaded = sorted(n for n, m in list(sys.modules.items())
                    if pyzmq_dir and (getattr(m, "__file__", None) or "").startswith(pyzmq_dir + os.sep))
    return {"pid": os.getpid(), "zmq_name": zmq.__name__, "zmq_file": zmq.__file__,
            "pyzmq_modules_loaded": loaded}
'''

DRIVER = IDENTITY + r'''
import asyncio, json, os, sys, time, traceback
from jupyter_client.manager import start_new_kernel, start_new_async_kernel

OUT = sys.argv[1]
results = {}


def save():
    with open(OUT + ".tmp", "w") as f:
        json.dump(results, f)
    os.replace(OUT + ".tmp", OUT)


def scenario(name):
    def wrap(fn):
        t = time.monotonic()
        try:
            results[name] = fn()
        except BaseException:
            results[name] = {"crashed": traceback.format_exc()}
        results[name + ".seconds"] = round(time.monotonic() - t, 2)
        save()
        return fn
    return wrap


def run_cell(kc, code, timeout=60):
    """Execute code; collect its IOPub output until the kernel goes idle, and its reply."""
    msg_id = kc.execute(code)
    out = {"stdout": "", "stderr": "", "results": [], "errors": [], "iopub": [], "streams": 0}
    while True:
        msg = kc.get_iopub_msg(timeout=timeout)
        if msg["parent_header"].get("msg_id") != msg_id:
            continue
        kind, c = msg["msg_type"], msg["content"]
        out["iopub"].append(kind)
        if kind == "stream":
            out[c["name"]] += c["text"]
            out["streams"] += 1
        elif kind == "execute_result":
            out["results"].append(c["data"]["text/plain"])
        elif kind == "error":
            out["errors"].append(c["ename"])
        elif kind == "status" and c["execution_state"] == "idle":
            break
    reply = kc.get_shell_msg(timeout=timeout)
    while reply["parent_header"].get("msg_id") != msg_id:
        reply = kc.get_shell_msg(timeout=timeout)
    out["status"] = reply["content"]["status"]
    out["ename"] = reply["content"].get("ename")
    out["iopub"] = sorted(set(out["iopub"]))
    return out


results["driver"] = _zmq_identity()
save()
km, kc = start_new_kernel(kernel_name="python3", startup_timeout=120)
try:
    @scenario("kernel_identity")
    def _():
        cell = run_cell(kc, IDENTITY_SRC + "\nimport json\nprint(json.dumps(_zmq_identity()))")
        ident = json.loads(cell["stdout"])
        ident["status"] = cell["status"]
        return ident

    @scenario("execute")
    def _():
        return run_cell(kc, "print('hello from the kernel')\n6 * 7")

    @scenario("error")
    def _():
        return run_cell(kc, "1 / 0")

    @scenario("introspection")
    def _():
        kc.execute("import os", silent=True)
        comp = kc.complete("import o", 8, reply=True, timeout=60)["content"]
        insp = kc.inspect("len", 3, reply=True, timeout=60)["content"]
        info = kc.kernel_info(reply=True, timeout=60)["content"]
        return {
            "complete_status": comp["status"], "has_os": "os" in comp["matches"],
            "cursor": [comp["cursor_start"], comp["cursor_end"]],
            "inspect_status": insp["status"], "found": insp["found"],
            "inspect_text": insp["data"].get("text/plain", ""),
            "info_status": info["status"], "language": info["language_info"]["name"],
            "implementation": info["implementation"],
            "protocol_version": info["protocol_version"],
        }

    @scenario("stdin_and_heartbeat")
    def _():
        # input() in the kernel: input_request on the stdin channel (ROUTER -> DEALER),
        # our answer back the same way
        msg_id = kc.execute("name = input('who? ')\nprint('hello', name)", allow_stdin=True)
        req = kc.get_stdin_msg(timeout=60)
        kc.input("zmqx")
        text, state = "", None
        while state != "idle":
            msg = kc.get_iopub_msg(timeout=60)
            if msg["parent_header"].get("msg_id") != msg_id:
                continue
            if msg["msg_type"] == "stream":
                text += msg["content"]["text"]
            elif msg["msg_type"] == "status":
                state = msg["content"]["execution_state"]
        reply = kc.get_shell_msg(timeout=60)
        # the heartbeat channel (REQ/REP echo) reports the kernel alive
        deadline = time.monotonic() + 30
        while not kc.hb_channel.is_beating() and time.monotonic() < deadline:
            time.sleep(0.05)
        return {"request": [req["msg_type"], req["content"]["prompt"]], "stdout": text,
                "status": reply["content"]["status"], "beating": kc.hb_channel.is_beating()}

    @scenario("interrupt")
    def _():
        msg_id = kc.execute("import time\nprint('sleeping', flush=True)\ntime.sleep(120)")
        while True:            # the cell is running once its first output is out
            msg = kc.get_iopub_msg(timeout=60)
            if (msg["parent_header"].get("msg_id") == msg_id and msg["msg_type"] == "stream"
                    and "sleeping" in msg["content"]["text"]):
                break
        t = time.monotonic()
        km.interrupt_kernel()
        reply = kc.get_shell_msg(timeout=60)
        while reply["parent_header"].get("msg_id") != msg_id:
            reply = kc.get_shell_msg(timeout=60)
        waited = time.monotonic() - t
        after = run_cell(kc, "print('still alive')")
        return {"status": reply["content"]["status"], "ename": reply["content"].get("ename"),
                "seconds": round(waited, 2), "after": after["stdout"]}

    @scenario("restart")
    def _():
        before = run_cell(kc, "import os\nkept = 1\nprint(os.getpid())")
        km.restart_kernel(now=False)
        kc.wait_for_ready(timeout=120)
        after = run_cell(kc, "import os\nprint(os.getpid())\nkept")
        return {"pid_before": before["stdout"].strip(), "pid_after": after["stdout"].strip(),
                "status_after": after["status"], "ename_after": after["ename"],
                "alive": km.is_alive()}

    @scenario("many_executes")
    def _():
        outs, statuses = [], set()
        t = time.monotonic()
        for i in range(200):
            cell = run_cell(kc, "print(%d)" % i)
            outs.append(cell["stdout"])
            statuses.add(cell["status"])
        return {"outputs": outs, "statuses": sorted(statuses),
                "seconds": round(time.monotonic() - t, 2)}

    @scenario("big_output")
    def _():
        cell = run_cell(kc, "import sys\nsys.stdout.write('x' * %d)\nsys.stdout.flush()" % FIVE_MB,
                        timeout=120)
        text = cell.pop("stdout")
        return {"length": len(text), "all_x": text == "x" * len(text),
                "streams": cell["streams"], "status": cell["status"]}

    @scenario("debugger")
    def _():
        # the kernel's debugger talks to debugpy (plain TCP, the Debug Adapter Protocol)
        # through its STREAM socket: initialize starts debugpy, attach connects the STREAM
        seq = [0]

        def dap(command, arguments=None):
            seq[0] += 1
            msg = kc.session.msg("debug_request", {"type": "request", "seq": seq[0],
                                                   "command": command,
                                                   "arguments": arguments or {}})
            kc.control_channel.send(msg)
            while True:
                r = kc.get_control_msg(timeout=60)
                if r["parent_header"].get("msg_id") == msg["header"]["msg_id"]:
                    return r["content"]

        init = dap("initialize", {"clientID": "zmqx-test", "adapterID": "", "pathFormat": "path",
                                  "linesStartAt1": True, "columnsStartAt1": True})
        attach = dap("attach")
        info = dap("debugInfo")
        ev = dap("evaluate", {"expression": "6 * 7", "context": "repl"})
        sock = run_cell(kc, "import json, zmq\n"
                            "from ipykernel.kernelapp import IPKernelApp\n"
                            "s = IPKernelApp.instance().debugpy_socket\n"
                            "print(json.dumps([type(s).__module__, s.type == zmq.STREAM,\n"
                            "                  s.getsockopt(zmq.LAST_ENDPOINT).decode()]))")
        return {"initialize": init.get("success"), "attach": attach.get("success"),
                "started": info.get("body", {}).get("isStarted"),
                "evaluate": ev.get("body", {}).get("result"),
                "socket": json.loads(sock["stdout"])}
finally:
    kc.stop_channels()
    proc = km.provisioner.process          # the kernel's Popen, kept past the cleanup
    t = time.monotonic()
    km.shutdown_kernel()                   # shutdown_request; SIGTERM only if it hangs
    results["shutdown"] = {"alive": km.is_alive(), "returncode": proc.poll(),
                           "seconds": round(time.monotonic() - t, 2)}
    save()


@scenario("async_client")
def _():
    async def main():
        akm, akc = await start_new_async_kernel(kernel_name="python3", startup_timeout=120)
        try:
            msg_id = akc.execute("print('from the async client')")
            text, state = "", None
            while state != "idle":
                msg = await akc.get_iopub_msg(timeout=60)
                if msg["parent_header"].get("msg_id") != msg_id:
                    continue
                if msg["msg_type"] == "stream":
                    text += msg["content"]["text"]
                elif msg["msg_type"] == "status":
                    state = msg["content"]["execution_state"]
            reply = await akc.get_shell_msg(timeout=60)
            info = await akc.kernel_info(reply=True, timeout=60)
            return {"stdout": text, "status": reply["content"]["status"],
                    "info_status": info["content"]["status"]}
        finally:
            akc.stop_channels()
            await akm.shutdown_kernel()
    return asyncio.run(main())

results["done"] = True
save()
'''.replace("FIVE_MB", str(FIVE_MB))

NBCONVERT = IDENTITY + r'''
import json, sys
from nbconvert.nbconvertapp import main
out = sys.argv.pop(1)
try:
    main()
finally:
    with open(out, "w") as f:
        json.dump(_zmq_identity(), f)
'''

NOTEBOOK = {
    "cells": [
        {"cell_type": "code", "execution_count": None, "id": "c1", "metadata": {}, "outputs": [],
         "source": ["import zmq\n", "print('kernel zmq is', zmq.__name__)"]},
        {"cell_type": "markdown", "id": "m1", "metadata": {}, "source": ["# a heading"]},
        {"cell_type": "code", "execution_count": None, "id": "c2", "metadata": {}, "outputs": [],
         "source": ["sum(range(10))"]},
    ],
    "metadata": {"kernelspec": {"display_name": "Python 3", "language": "python",
                                "name": "python3"}},
    "nbformat": 4, "nbformat_minor": 5,
}


def _env():
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (ALIAS, ZMQX_ROOT, os.environ.get("PYTHONPATH")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    env.pop("JUPYTER_PLATFORM_DIRS", None)
    return env


def assert_on_zmqx(ident, role):
    """The process ran on zmqx, not on the installed pyzmq."""
    assert ident["zmq_name"] == "zmqx", (role, ident)
    assert os.path.realpath(ident["zmq_file"]) == os.path.realpath(zmqx.__file__), (role, ident)
    assert ident["pyzmq_modules_loaded"] == [], (role, ident)


@pytest.fixture(scope="module")
def jupyter(tmp_path_factory):
    """Run the driver once; every test reads its part of what the driver saw."""
    tmp = tmp_path_factory.mktemp("jupyter")
    out = tmp / "results.json"
    (tmp / "driver.py").write_text(DRIVER.replace("IDENTITY_SRC", repr(IDENTITY)))
    proc = subprocess.run([sys.executable, str(tmp / "driver.py"), str(out)], cwd=tmp,
                          env=_env(), capture_output=True, text=True, timeout=360)
    try:
        results = json.loads(out.read_text())
    except (OSError, ValueError):
        results = {}
    results["_log"] = f"rc={proc.returncode}\n{proc.stdout[-3000:]}\n{proc.stderr[-6000:]}"
    # the driver's stderr carries the kernels' too (they inherit it)
    results["_thread_crashes"] = [line for line in proc.stderr.splitlines()
                                  if line.startswith("Exception in thread")]
    return results


def part(results, name):
    got = results.get(name)
    assert got is not None, f"the driver never got to {name!r}\n{results['_log']}"
    assert "crashed" not in got, f"{name}: {got['crashed']}\n{results['_log']}"
    return got


def test_both_processes_run_on_zmqx(jupyter):
    assert_on_zmqx(part(jupyter, "driver"), "frontend")
    kernel = part(jupyter, "kernel_identity")
    assert kernel["status"] == "ok"
    assert_on_zmqx(kernel, "kernel")
    assert kernel["pid"] != jupyter["driver"]["pid"]


def test_execute_with_stdout_on_iopub(jupyter):
    got = part(jupyter, "execute")
    assert got["status"] == "ok"
    assert got["stdout"] == "hello from the kernel\n"
    assert got["results"] == ["42"]
    assert {"status", "execute_input", "stream", "execute_result"} <= set(got["iopub"])


def test_error_reply(jupyter):
    got = part(jupyter, "error")
    assert got["status"] == "error" and got["ename"] == "ZeroDivisionError"
    assert got["errors"] == ["ZeroDivisionError"]


def test_complete_inspect_kernel_info(jupyter):
    got = part(jupyter, "introspection")
    assert got["complete_status"] == "ok" and got["has_os"] and got["cursor"] == [7, 8]
    assert got["inspect_status"] == "ok" and got["found"]
    assert "Return the number of items" in got["inspect_text"]
    assert got["info_status"] == "ok" and got["language"] == "python"
    assert got["implementation"] == "ipython" and got["protocol_version"].startswith("5.")


def test_stdin_channel_and_heartbeat(jupyter):
    got = part(jupyter, "stdin_and_heartbeat")
    assert got == {"request": ["input_request", "who? "], "stdout": "hello zmqx\n",
                   "status": "ok", "beating": True}


def test_interrupt_a_running_cell(jupyter):
    got = part(jupyter, "interrupt")
    assert got["status"] == "error" and got["ename"] == "KeyboardInterrupt"
    assert got["seconds"] < 30            # the cell sleeps 120 s: the interrupt ended it
    assert got["after"] == "still alive\n"


def test_restart(jupyter):
    got = part(jupyter, "restart")
    assert got["pid_before"].isdigit() and got["pid_after"].isdigit()
    assert got["pid_before"] != got["pid_after"]
    assert got["status_after"] == "error" and got["ename_after"] == "NameError"   # a fresh kernel
    assert got["alive"]


def test_200_executes_in_a_row(jupyter):
    got = part(jupyter, "many_executes")
    assert got["statuses"] == ["ok"]
    assert got["outputs"] == ["%d\n" % i for i in range(200)]


def test_5mb_of_output(jupyter):
    got = part(jupyter, "big_output")
    assert got["status"] == "ok"
    assert got["length"] == FIVE_MB and got["all_x"]


def test_debugger_talks_to_debugpy_over_stream(jupyter):
    """ipykernel's debugger: a zmqx STREAM socket in the kernel, plain TCP to debugpy."""
    got = part(jupyter, "debugger")
    assert got["initialize"] is True and got["attach"] is True and got["started"] is True, got
    assert got["evaluate"] == "42", got
    module, is_stream, endpoint = got["socket"]
    assert module.startswith("zmqx") and is_stream
    assert endpoint.startswith("tcp://127.0.0.1:")


def test_kernel_exits_by_itself_on_shutdown_request(jupyter):
    """Found by this test: the kernel's Context.term() waited for ever on two PULL sockets
    of its IOPub thread (closed, with pyzmq, by tornado's IOLoop.close(all_fds=True)), so
    every shutdown and restart waited for jupyter_client's SIGTERM (2.5 s each)."""
    got = jupyter.get("shutdown")
    assert got is not None, jupyter["_log"]
    assert got["alive"] is False and got["returncode"] == 0, (got, jupyter["_log"])


def test_async_client(jupyter):
    got = part(jupyter, "async_client")
    assert got == {"stdout": "from the async client\n", "status": "ok", "info_status": "ok"}
    assert jupyter.get("done"), jupyter["_log"]


def test_nbconvert_execute(tmp_path):
    if importlib.util.find_spec("nbconvert") is None:
        pytest.skip("NBCONVERT IS NOT INSTALLED: `jupyter nbconvert --execute` on zmqx is NOT "
                    "tested (pip install 'zmqx[apps]')")
    nb = tmp_path / "small.ipynb"
    nb.write_text(json.dumps(NOTEBOOK))
    (tmp_path / "nbconvert_main.py").write_text(NBCONVERT)
    ident_file = tmp_path / "nbconvert-identity.json"
    proc = subprocess.run(
        [sys.executable, str(tmp_path / "nbconvert_main.py"), str(ident_file),
         "--to", "notebook", "--execute", "--ExecutePreprocessor.timeout=120",
         "--output", "executed.ipynb", str(nb)],
        cwd=tmp_path, env=_env(), capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-6000:]
    assert_on_zmqx(json.loads(ident_file.read_text()), "nbconvert")
    done = json.loads((tmp_path / "executed.ipynb").read_text())
    code = [c for c in done["cells"] if c["cell_type"] == "code"]
    assert [c["execution_count"] for c in code] == [1, 2]
    assert code[0]["outputs"] == [{"name": "stdout", "output_type": "stream",
                                   "text": ["kernel zmq is zmqx\n"]}]
    assert code[1]["outputs"][0]["output_type"] == "execute_result"
    assert code[1]["outputs"][0]["data"] == {"text/plain": ["45"]}


def test_no_thread_dies_in_either_process(jupyter):
    """Found by this test: at interpreter exit the asyncio waker's pipe was closed under its
    still-running thread (``OSError: [Errno 9]`` in zmqx-asyncio-waker, in the kernel)."""
    assert part(jupyter, "execute")
    assert jupyter["_thread_crashes"] == [], jupyter["_log"]


WAKER_AT_EXIT = r"""
import asyncio
import zmqx, zmqx.asyncio
keep = []
async def main():
    ctx = zmqx.asyncio.Context()
    s = ctx.socket(zmqx.PULL)
    s.bind("tcp://127.0.0.1:*")
    keep.append((ctx, s, asyncio.ensure_future(s.recv())))   # the waker thread watches s
    await asyncio.sleep(0.05)
loop = asyncio.new_event_loop()
loop.run_until_complete(main())
print("exiting with a recv pending", flush=True)
"""


def test_asyncio_waker_survives_interpreter_exit(tmp_path):
    """The kernel's case, alone: a program exits while a zmqx.asyncio recv is pending (the
    waker thread is in poll). Before the fix about one exit in three printed EBADF from the
    thread; eight clean exits in a row are required."""
    script = tmp_path / "waker_exit.py"
    script.write_text(WAKER_AT_EXIT)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(
        p for p in (ZMQX_ROOT, os.environ.get("PYTHONPATH")) if p))
    for _ in range(8):
        proc = subprocess.run([sys.executable, str(script)], env=env, capture_output=True,
                              text=True, timeout=60)
        assert proc.returncode == 0 and "exiting" in proc.stdout, proc.stderr
        assert "Traceback" not in proc.stderr and "Exception in thread" not in proc.stderr, \
            proc.stderr


def test_ioloop_close_all_fds_closes_stream_sockets():
    """pyzmq registers a ZMQStream's socket with its IOLoop, so IOLoop.close(all_fds=True)
    closes it; zmqx's streams wait another way and register a stand-in that does the same.
    Without it Context.term() waits for ever (ipykernel's IOPub thread)."""
    pytest.importorskip("tornado")
    import asyncio
    import threading
    from tornado.ioloop import IOLoop
    from zmqx.eventloop.zmqstream import ZMQStream

    ctx = zmqx.Context()
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        loop = IOLoop.current()
        pull = ctx.socket(zmqx.PULL)
        pull.bind("inproc://closed-with-the-loop")
        stream = ZMQStream(pull, loop)
        stream.on_recv(lambda msg: None)
        kept = ctx.socket(zmqx.PUSH)           # not on the loop: stays open
        loop.close(all_fds=True)
        assert pull.closed and stream.closed() and not kept.closed
        kept.close()
        done = threading.Event()
        t = threading.Thread(target=lambda: (ctx.term(), done.set()), daemon=True)
        t.start()
        assert done.wait(10), "Context.term() still waits for a socket"
    finally:
        asyncio.set_event_loop(None)


def test_closed_stream_leaves_the_loop_table():
    pytest.importorskip("tornado")
    import asyncio
    from tornado.ioloop import IOLoop
    from zmqx.eventloop.zmqstream import ZMQStream

    ctx = zmqx.Context()
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        loop = IOLoop.current()
        before = len(loop.handlers)
        streams = [ZMQStream(ctx.socket(zmqx.PULL), loop) for _ in range(3)]
        assert len(loop.handlers) == before + 3
        for st in streams:
            st.close()
        assert len(loop.handlers) == before
        loop.close(all_fds=True)
    finally:
        asyncio.set_event_loop(None)
        ctx.term()
