#!/usr/bin/env python
"""Side-by-side benchmarks: zmqx against pyzmq, in one run, alternating.

    python bench/sidebyside.py [--quick] [--repeat N] [--only NAME[,NAME]]
                               [--impls zmqx,pyzmq] [--json out.json] [--list]

Every measurement ("cell": one case, one implementation, one repetition) runs in
a fresh worker process (``python bench/sidebyside.py --_worker ...``) started in
its own session, so a hung or crashed cell is killed with its whole process
group (peers included) and the run goes on.  Repetitions alternate the
implementations: zmqx, pyzmq, zmqx, pyzmq, ...  The table reports the median of
the repetitions per implementation and the ratio of medians, oriented so that
>1 always means the first implementation is faster than the last (baseline).

Cases only use the pyzmq API, through ``load(impl)``; see bench/README.md for
how to add one (``register(...)`` at the bottom of the case section).
"""
from __future__ import annotations

import argparse
import asyncio
import fnmatch
import importlib
import json
import os
import platform
import queue
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import traceback
import uuid
from dataclasses import dataclass, field

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(HERE)
SCRIPT = os.path.abspath(__file__)

# --------------------------------------------------------------------------
# implementations
# --------------------------------------------------------------------------

#: implementation name -> module name.  "pyzmq2" loads pyzmq again under another
#: label, to check that the ratio machinery gives ~1.0 (pyzmq vs itself).
#: "pyomq" is the Rust-backed drop-in (CPython >= 3.12); it joins the default run as a
#: third column wherever it imports.  "limit" is not an implementation: it is the
#: machine's limit for a case (plain sockets, a thread hand-off, or zmqx blocking for the
#: asyncio cases), measured in the same run unless --no-limits.
IMPLS = {"zmqx": "zmqx", "pyzmq": "zmq", "pyzmq2": "zmq", "pyomq": "pyomq",
         "zmqx-nospin": "zmqx"}
#: implementations that are zmqx with settings of their own (environment, read at import):
#: zmqx-nospin never spins before sleeping (spin_us 0, libzmq's way), to show what
#: the adaptive spinning is worth in the same run
IMPL_ENV = {"zmqx-nospin": {"ZMQX_SPIN_US": "0"}}
LIMIT = "limit"


def _check_module(mod):
    if not hasattr(mod, "Context"):
        where = getattr(mod, "__file__", None) or list(getattr(mod, "__path__", []))
        raise ImportError(
            f"{mod.__name__} at {where} has no Context (not built? namespace package?)"
        )
    return mod


def _forget(prefix):
    for name in [m for m in sys.modules if m == prefix or m.startswith(prefix + ".")]:
        del sys.modules[name]


def load(impl):
    """Return the module implementing the pyzmq API for ``impl``.

    zmqx is looked up on sys.path first (an installed or editable build); if that
    fails, the source tree next to bench/ is tried (``setup.py build_ext --inplace``).
    """
    modname = IMPLS.get(impl)
    if modname is None:
        raise ValueError(f"unknown implementation {impl!r}; known: {', '.join(IMPLS)}")
    if modname != "zmqx":
        return importlib.import_module(modname)
    os.environ.update(IMPL_ENV.get(impl, {}))
    try:
        return _check_module(importlib.import_module("zmqx"))
    except ImportError as first:
        if REPO in sys.path:
            raise
        _forget("zmqx")
        sys.path.insert(0, REPO)
        importlib.invalidate_caches()
        try:
            return _check_module(importlib.import_module("zmqx"))
        except ImportError as second:
            raise ImportError(f"{second} (installed lookup: {first})") from None


def load_asyncio(impl):
    """The asyncio flavour of ``impl`` (zmq.asyncio / zmqx.asyncio)."""
    mod = load(impl)
    return importlib.import_module(mod.__name__ + ".asyncio")


def probe(impl):
    """Versions and location of ``impl`` (run in a subprocess by the orchestrator)."""
    info = {"impl": impl}
    try:
        mod = load(impl)
    except BaseException as e:  # noqa: BLE001 - report anything, including SystemExit
        info["error"] = f"{type(e).__name__}: {e}"
        return info
    info["module"] = mod.__name__
    info["file"] = getattr(mod, "__file__", None)
    info["version"] = str(getattr(mod, "__version__", "?"))
    try:
        info["libzmq"] = str(mod.zmq_version())
    except Exception as e:  # noqa: BLE001
        info["libzmq"] = f"? ({type(e).__name__})"
    return info


# --------------------------------------------------------------------------
# CPU pinning, shared run settings (passed to workers through the environment)
# --------------------------------------------------------------------------

def bench_cpus():
    """(sender_cpu, receiver_cpu): from BENCH_CPUS, else the first two allowed CPUs."""
    env = os.environ.get("BENCH_CPUS")
    if env:
        a, b = (int(x) for x in env.split(","))
        return a, b
    try:
        allowed = sorted(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return 0, 1
    return allowed[0], allowed[1] if len(allowed) > 1 else allowed[0]


def pin(cpus):
    """Pin every thread of this process (and threads created later) to ``cpus``."""
    if not hasattr(os, "sched_setaffinity"):
        return
    cpus = set(cpus)
    try:
        for tid in os.listdir("/proc/self/task"):
            try:
                os.sched_setaffinity(int(tid), cpus)
            except OSError:
                pass
    except OSError:
        pass
    os.sched_setaffinity(0, cpus)


def bench_tmpdir():
    d = os.environ.get("BENCH_TMPDIR")
    if not d:
        d = tempfile.mkdtemp(prefix="zmqxbench-")
        os.environ["BENCH_TMPDIR"] = d
    return d


# --------------------------------------------------------------------------
# worker-side harness: results, fail-fast, peers (thread or spawned process)
# --------------------------------------------------------------------------

_RESULT_PATH = None
_EMITTED = None
_EMIT_LOCK = threading.Lock()


def _write_json_atomic(path, obj):
    tmp = path + ".tmp"
    with open(tmp, "w") as f:
        json.dump(obj, f)
    os.replace(tmp, path)


def emit(result):
    """Record the measurement now, before cleanup (close/term) that might hang.

    Cases call this right after measuring; the orchestrator then only allows a
    short grace period for the rest of the cell.
    """
    global _EMITTED
    with _EMIT_LOCK:
        _EMITTED = result
        if _RESULT_PATH:
            _write_json_atomic(_RESULT_PATH, {"ok": True, "result": result, "complete": False})


def _fail(message):
    """Fail the whole cell now (called from any thread), exiting the worker."""
    with _EMIT_LOCK:
        if _RESULT_PATH:
            if _EMITTED is not None:
                obj = {"ok": True, "result": _EMITTED, "complete": False,
                       "note": "after measurement: " + message}
            else:
                lines = message.strip().splitlines() or [message]
                head = lines[0].rstrip(":")
                error = head if len(lines) == 1 else f"{head}: {lines[-1]}"
                obj = {"ok": False, "error": error, "traceback": message}
            _write_json_atomic(_RESULT_PATH, obj)
        sys.stderr.write(message + "\n")
        sys.stderr.flush()
        os._exit(3)


class _ConnCtl:
    """Control channel handed to a peer running in a spawned process."""

    def __init__(self, inbox, outbox):
        self._in, self._out = inbox, outbox

    def send(self, obj):
        self._out.send(("msg", obj))

    def recv(self):
        return self._in.recv()


class _QueueCtl:
    """Control channel handed to a peer running in a thread."""

    def __init__(self, inbox, outbox):
        self._in, self._out = inbox, outbox

    def send(self, obj):
        self._out.put(obj)

    def recv(self):
        return self._in.get()


def _enable_faulthandler():
    """Python tracebacks on a crash, and of all threads on SIGUSR1 (sent by the
    orchestrator before it kills a hung cell), into the cell's log."""
    import faulthandler
    faulthandler.enable(all_threads=True)
    if hasattr(faulthandler, "register") and hasattr(signal, "SIGUSR1"):
        faulthandler.register(signal.SIGUSR1, all_threads=True)


def _peer_process_main(target, cpus, inbox, outbox, args):
    _enable_faulthandler()
    if cpus:
        pin(cpus)
    try:
        result = target(_ConnCtl(inbox, outbox), *args)
    except BaseException:  # noqa: BLE001
        outbox.send(("error", traceback.format_exc()))
        return
    outbox.send(("ok", result))


class Peer:
    """The other end of a case: a thread (inproc) or a spawned process (ipc/tcp).

    ``target(ctl, *args)`` runs in the peer; ``ctl.send(obj)`` / ``ctl.recv()``
    talk to the worker, which uses ``peer.recv(timeout)`` / ``peer.send(obj)``.
    The target's return value is ``peer.join()``'s.  If the peer raises or its
    process dies, the whole cell fails at once with the peer's traceback.
    """

    def __init__(self, target, args=(), *, cpus=None, thread=False, name=None):
        self.name = name or target.__name__.lstrip("_")
        self._from_peer = queue.Queue()
        self._finished = threading.Event()
        self._result = None
        self._proc = None
        if thread:
            self._to_peer = queue.Queue()
            ctl = _QueueCtl(self._to_peer, self._from_peer)
            threading.Thread(target=self._run_thread, args=(target, ctl, args),
                             name=self.name, daemon=True).start()
        else:
            import multiprocessing
            mp = multiprocessing.get_context("spawn")
            to_r, to_w = mp.Pipe(duplex=False)
            from_r, from_w = mp.Pipe(duplex=False)
            self._proc = mp.Process(target=_peer_process_main, name=self.name,
                                    args=(target, cpus, to_r, from_w, args), daemon=True)
            self._proc.start()
            to_r.close()
            from_w.close()
            self._to_w, self._from_r = to_w, from_r
            threading.Thread(target=self._watch, name=self.name + "-watch", daemon=True).start()

    def _run_thread(self, target, ctl, args):
        try:
            self._result = target(ctl, *args)
        except BaseException:  # noqa: BLE001
            _fail(f"peer {self.name} failed:\n{traceback.format_exc()}")
        self._finished.set()

    def _watch(self):
        while True:
            try:
                kind, payload = self._from_r.recv()
            except (EOFError, OSError):
                self._proc.join(2)
                code = self._proc.exitcode
                if code is not None and code < 0:
                    try:
                        code = f"{code} ({signal.Signals(-code).name})"
                    except ValueError:
                        pass
                _fail(f"peer {self.name} died without reporting (exit code {code})")
                return
            if kind == "msg":
                self._from_peer.put(payload)
            elif kind == "ok":
                self._result = payload
                self._finished.set()
                return
            else:
                _fail(f"peer {self.name} failed:\n{payload}")
                return

    def send(self, obj):
        if self._proc is None:
            self._to_peer.put(obj)
        else:
            self._to_w.send(obj)

    def recv(self, timeout=None):
        """Next message from the peer; raises queue.Empty on timeout."""
        return self._from_peer.get(timeout=timeout)

    def finished(self, timeout=None):
        return self._finished.wait(timeout)

    def join(self, timeout=60.0):
        if not self._finished.wait(timeout):
            raise TimeoutError(f"peer {self.name} did not finish within {timeout}s")
        if self._proc is not None:
            self._proc.join(5)
        return self._result


def _worker_main(case_name, impl, params_json, result_path):
    global _RESULT_PATH
    _RESULT_PATH = result_path
    _enable_faulthandler()
    code = 0
    try:
        case = CASES[case_name]
        if impl == LIMIT:
            result = case.limit(**json.loads(params_json))
        else:
            result = case.func(impl, **json.loads(params_json))
        with _EMIT_LOCK:
            _write_json_atomic(result_path, {"ok": True, "result": result, "complete": True})
    except BaseException as e:  # noqa: BLE001
        tb = traceback.format_exc()
        with _EMIT_LOCK:
            if _EMITTED is not None:
                obj = {"ok": True, "result": _EMITTED, "complete": False,
                       "note": f"after measurement: {type(e).__name__}: {e}", "traceback": tb}
            else:
                obj = {"ok": False, "error": f"{type(e).__name__}: {e}", "traceback": tb}
            _write_json_atomic(result_path, obj)
        sys.stderr.write(tb)
        code = 1
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)  # no atexit/thread joins that could hang; orchestrator kills leftovers


# --------------------------------------------------------------------------
# helpers for cases (pyzmq API subset only)
# --------------------------------------------------------------------------

perf = time.perf_counter
#: CPU time of the whole process (every thread: the app's, the library's I/O threads)
cpu = time.process_time


def add_cpu_per_msg(res, msgs, recv_cpu_s, send_cpu_s=None):
    """CPU µs per message, both processes together (``send_cpu_s`` None: the sender is a
    thread of the measuring process, already counted).  Throughput on this shared VM moves
    by ±30%; the CPU a message costs moves much less, so it judges changes that trade one
    thread's speed for another's (see --cpu)."""
    res["recv_cpu_us_per_msg"] = recv_cpu_s / msgs * 1e6
    res["cpu_us_per_msg"] = (recv_cpu_s + (send_cpu_s or 0.0)) / msgs * 1e6


def make_socket(zmq, ctx, kind, hwm):
    s = ctx.socket(kind)
    s.setsockopt(zmq.SNDHWM, hwm)
    s.setsockopt(zmq.RCVHWM, hwm)
    s.setsockopt(zmq.LINGER, 0)  # every case ends with an explicit "done" handshake
    return s


def bind_any(zmq, sock, transport):
    """Bind to a fresh endpoint of ``transport`` and return it as a str."""
    if transport == "tcp":
        sock.bind("tcp://127.0.0.1:*")
        ep = sock.getsockopt(zmq.LAST_ENDPOINT)
        return ep.decode() if isinstance(ep, bytes) else ep
    if transport == "ipc":
        ep = "ipc://" + os.path.join(bench_tmpdir(), uuid.uuid4().hex[:16] + ".ipc")
    elif transport == "inproc":
        ep = "inproc://bench-" + uuid.uuid4().hex
    else:
        raise ValueError(f"unknown transport {transport!r}")
    sock.bind(ep)
    return ep


def start_peer(target, args, transport, ctx):
    """Start the sending/echoing side: a thread sharing ``ctx`` for inproc, else a
    spawned process on the sender CPU that makes its own context (ctx=None)."""
    if transport == "inproc":
        return Peer(target, args + (ctx,), thread=True)
    return Peer(target, args + (None,), cpus={bench_cpus()[0]})


def inproc_cpus():
    """CPUs of an inproc case's process: both bench CPUs (default), or only the
    receiver CPU with BENCH_INPROC_ONE_CPU=1 / --inproc-one-cpu.  On a 2-vCPU VM,
    two threads handing a message back and forth are bimodal when they may use both
    CPUs: pyzmq's inproc round trip is ~7.5 us when the scheduler keeps them on one
    CPU and ~50 us when it does not.  One CPU is stable."""
    a, b = bench_cpus()
    return {b} if os.environ.get("BENCH_INPROC_ONE_CPU") == "1" else {a, b}


def pin_measuring_side(transport):
    pin(inproc_cpus() if transport == "inproc" else {bench_cpus()[1]})


BIG = 65536  # from this size on, send/recv use copy=False


def _summary_ns(samples_ns):
    s = sorted(samples_ns)
    n = len(s)
    return {
        "rtt_us_median": statistics.median(s) / 1e3,
        "rtt_us_p99": s[min(n - 1, int(n * 0.99))] / 1e3,
        "rtt_us_mean": sum(s) / n / 1e3,
        "rtt_us_min": s[0] / 1e3,
        "round_trips": n,
    }


# --------------------------------------------------------------------------
# cases
# --------------------------------------------------------------------------

def curve_server(zmq, sock):
    """Make ``sock`` a CURVE server with a fresh key pair; returns its public key (Z85)."""
    public, secret = zmq.curve_keypair()
    sock.setsockopt(zmq.CURVE_SERVER, 1)
    sock.setsockopt(zmq.CURVE_SECRETKEY, secret)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
    return public


def curve_client(zmq, sock, server_key):
    public, secret = zmq.curve_keypair()
    sock.setsockopt(zmq.CURVE_SERVERKEY, server_key)
    sock.setsockopt(zmq.CURVE_PUBLICKEY, public)
    sock.setsockopt(zmq.CURVE_SECRETKEY, secret)


def _push_sender(ctl, impl, ep, size, count, hwm, copy, server_key, ctx):
    zmq = load(impl)
    own = ctx is None
    if own:
        ctx = zmq.Context()
    s = make_socket(zmq, ctx, zmq.PUSH, hwm)
    if server_key is not None:
        curve_client(zmq, s, server_key)
    s.connect(ep)
    buf = b"x" * size
    send = s.send
    c0 = cpu()
    t0 = perf()
    for _ in range(count):
        send(buf, copy=copy)
    t1 = perf()
    ctl.recv()  # "done": the receiver has everything
    c1 = cpu()
    s.close()
    if own:
        ctx.term()
    return {"send_s": t1 - t0, "send_cpu_s": c1 - c0}


def push_pull_throughput(impl, transport, size, count, hwm=1000, copy=None, one_ctx=False,
                         curve=False):
    """PUSH -> PULL, ``count`` messages of ``size`` bytes; receiver-side rate
    from first message received to last.  ``copy`` (default: size < 64 KiB) is the
    send and recv copy flag; ``one_ctx`` runs the sender as a thread of the same
    process and context (tcp/ipc between two threads); ``curve`` secures the
    connection with CURVE (the PULL is the server, no ZAP handler)."""
    if count < 2:
        raise ValueError("count must be >= 2")
    if copy is None:
        copy = size < BIG
    pin_measuring_side("inproc" if one_ctx else transport)
    zmq = load(impl)
    ctx = zmq.Context()
    pull = make_socket(zmq, ctx, zmq.PULL, hwm)
    server_key = curve_server(zmq, pull) if curve else None
    ep = bind_any(zmq, pull, transport)
    if one_ctx:
        peer = Peer(_push_sender, (impl, ep, size, count, hwm, copy, server_key, ctx),
                    thread=True)
    else:
        peer = start_peer(_push_sender, (impl, ep, size, count, hwm, copy, server_key),
                          transport, ctx)
    recv = pull.recv
    if not copy:
        nbytes = len(recv(copy=False))
        c0 = cpu()
        t0 = perf()
        for _ in range(count - 1):
            nbytes += len(recv(copy=False))
    else:
        nbytes = len(recv())
        c0 = cpu()
        t0 = perf()
        for _ in range(count - 1):
            nbytes += len(recv())
    t1 = perf()
    c1 = cpu()
    if nbytes != count * size:
        raise AssertionError(f"received {nbytes} bytes, expected {count * size}")
    elapsed = t1 - t0
    res = {
        "msgs_per_s": (count - 1) / elapsed,
        "MB_per_s": (count - 1) * size / elapsed / 1e6,
        "elapsed_s": elapsed,
        "count": count,
    }
    emit(res)
    peer.send("done")
    res.update(peer.join())
    add_cpu_per_msg(res, count - 1, c1 - c0, None if one_ctx else res["send_cpu_s"])
    emit(res)
    pull.close()
    ctx.term()
    return res


_ECHO_TYPES = {"pair": ("PAIR", "PAIR"), "reqrep": ("REQ", "REP"), "dealer_router": ("DEALER", "ROUTER")}


def _echo_peer(ctl, impl, ep, pattern, total, hwm, server_key, ctx):
    zmq = load(impl)
    own = ctx is None
    if own:
        ctx = zmq.Context()
    s = make_socket(zmq, ctx, getattr(zmq, _ECHO_TYPES[pattern][1]), hwm)
    if server_key is not None:
        curve_client(zmq, s, server_key)
    s.connect(ep)
    if pattern == "dealer_router":
        recv, send = s.recv_multipart, s.send_multipart
    else:
        recv, send = s.recv, s.send
    for _ in range(total):
        send(recv())
    ctl.recv()  # "done"
    s.close()
    if own:
        ctx.term()
    return {}


def pingpong_latency(impl, transport, pattern, size, count, warmup, hwm=1000, curve=False):
    """Round trips of one ``size``-byte message; every round trip is timed, the
    result is the median over ``count`` of them (after ``warmup``). ``curve``: the
    bound side is a CURVE server."""
    pin_measuring_side(transport)
    zmq = load(impl)
    ctx = zmq.Context()
    s = make_socket(zmq, ctx, getattr(zmq, _ECHO_TYPES[pattern][0]), hwm)
    server_key = curve_server(zmq, s) if curve else None
    ep = bind_any(zmq, s, transport)
    peer = start_peer(_echo_peer, (impl, ep, pattern, warmup + count, hwm, server_key),
                      transport, ctx)
    res = _summary_ns(_round_trips(s, size, count, warmup))
    emit(res)
    peer.send("done")
    peer.join()
    s.close()
    ctx.term()
    return res


def _round_trips(s, size, count, warmup):
    """Times ``count`` round trips of one ``size``-byte message on socket ``s`` (after
    ``warmup`` untimed ones); the samples in ns. Checks the last reply's size."""
    msg = b"x" * size
    send, recv = s.send, s.recv
    clock = time.perf_counter_ns
    for _ in range(warmup):
        send(msg)
        recv()
    samples = [0] * count
    reply = b""
    for i in range(count):
        t = clock()
        send(msg)
        reply = recv()
        samples[i] = clock() - t
    if len(reply) != size:
        raise AssertionError(f"reply of {len(reply)} bytes, expected {size}")
    return samples


def _need_draft(zmq, impl):
    # CLIENT/SERVER exist only where the draft API is built: pyzmq's wheels lack it, so
    # these cases run for zmqx alone and the pyzmq cell says why
    if not zmq.has("draft"):
        raise RuntimeError(f"{impl} is built without the draft API: no CLIENT/SERVER "
                           "(this case is zmqx only)")


def _server_echo(ctl, impl, ep, total, hwm, ctx):
    zmq = load(impl)
    own = ctx is None
    if own:
        ctx = zmq.Context()
    s = make_socket(zmq, ctx, zmq.SERVER, hwm)
    s.connect(ep)
    recv, send = s.recv, s.send
    for _ in range(total):
        f = recv(copy=False)
        send(f, routing_id=f.routing_id)
    ctl.recv()  # "done"
    s.close()
    if own:
        ctx.term()
    return {}


def client_server_latency(impl, transport, size, count, warmup, hwm=1000):
    """CLIENT -> SERVER -> CLIENT round trips of one ``size``-byte message (the SERVER
    replies to the routing id it received); median of ``count`` timed round trips.
    Draft API: zmqx only."""
    pin_measuring_side(transport)
    zmq = load(impl)
    _need_draft(zmq, impl)
    ctx = zmq.Context()
    s = make_socket(zmq, ctx, zmq.CLIENT, hwm)
    ep = bind_any(zmq, s, transport)
    peer = start_peer(_server_echo, (impl, ep, warmup + count, hwm), transport, ctx)
    res = _summary_ns(_round_trips(s, size, count, warmup))
    emit(res)
    peer.send("done")
    peer.join()
    s.close()
    ctx.term()
    return res


def _client_sender(ctl, impl, ep, size, count, hwm, ctx):
    zmq = load(impl)
    own = ctx is None
    if own:
        ctx = zmq.Context()
    s = make_socket(zmq, ctx, zmq.CLIENT, hwm)
    s.connect(ep)
    buf = b"x" * size
    send = s.send
    t0 = perf()
    for _ in range(count):
        send(buf)
    t1 = perf()
    ctl.recv()  # "done"
    s.close()
    if own:
        ctx.term()
    return {"send_s": t1 - t0}


def client_server_throughput(impl, transport, size, count, hwm=1000):
    """CLIENT -> SERVER, ``count`` messages of ``size`` bytes, received with copy=False
    (the SERVER stamps each with its routing id); receiver-side rate. Draft API: zmqx
    only."""
    pin_measuring_side(transport)
    zmq = load(impl)
    _need_draft(zmq, impl)
    ctx = zmq.Context()
    srv = make_socket(zmq, ctx, zmq.SERVER, hwm)
    ep = bind_any(zmq, srv, transport)
    peer = start_peer(_client_sender, (impl, ep, size, count, hwm), transport, ctx)
    recv = srv.recv
    f = recv(copy=False)
    rid, nbytes = f.routing_id, len(f)
    t0 = perf()
    for _ in range(count - 1):
        f = recv(copy=False)
        nbytes += len(f)
    t1 = perf()
    if nbytes != count * size or f.routing_id != rid:
        raise AssertionError(f"received {nbytes} bytes, expected {count * size}")
    elapsed = t1 - t0
    res = {"msgs_per_s": (count - 1) / elapsed, "elapsed_s": elapsed, "count": count}
    emit(res)
    peer.send("done")
    res.update(peer.join())
    srv.close()
    ctx.term()
    return res


def _count_until_end(recv, ctl):
    """A fan-out receiver's loop: skip to the sender's sync message (b"S..."), tell the
    controller "ready", then count the data messages (b"D...") until the end (b"E...").
    Times are time.monotonic(): system-wide, comparable across processes."""
    while recv()[0] != 0x53:  # b"S"
        pass
    ctl.send("ready")
    n = 0
    t_first = t_last = None
    clock = time.monotonic
    while True:
        k = recv()[0]
        if k == 0x44:  # b"D"
            t_last = clock()
            if n == 0:
                t_first = t_last
            n += 1
        elif k == 0x45:  # b"E"
            break
    return {"received": n, "t_first": t_first, "t_last": t_last}


def _sub_receiver(ctl, impl, ep, hwm, ctx):
    zmq = load(impl)
    own = ctx is None
    if own:
        ctx = zmq.Context()
    s = make_socket(zmq, ctx, zmq.SUB, hwm)
    s.setsockopt(zmq.SUBSCRIBE, b"")
    s.connect(ep)
    res = _count_until_end(s.recv, ctl)
    s.close()
    if own:
        ctx.term()
    return res


def pub_sub_fanout(impl, transport, size, count, subscribers=3, hwm=None):
    """PUB -> N SUB (one process each, all on the receiver CPU; PUB on the sender
    CPU).  Aggregate delivered msg/s, from the first message any subscriber got
    to the last.  PUB drops at HWM, so by default HWM = count + 1000 (lossless;
    loss is reported and should be 0)."""
    if hwm is None:
        hwm = count + 1000
    a, b = bench_cpus()
    pin(inproc_cpus() if transport == "inproc" else {a})
    zmq = load(impl)
    ctx = zmq.Context()
    pub = make_socket(zmq, ctx, zmq.PUB, hwm)
    ep = bind_any(zmq, pub, transport)
    if transport == "inproc":
        peers = [Peer(_sub_receiver, (impl, ep, hwm, ctx), thread=True, name=f"sub{i}")
                 for i in range(subscribers)]
    else:
        peers = [Peer(_sub_receiver, (impl, ep, hwm, None), cpus={b}, name=f"sub{i}")
                 for i in range(subscribers)]
    ready = set()
    deadline = time.monotonic() + 60
    while len(ready) < subscribers:  # re-send sync until every subscriber has seen one
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(ready)}/{subscribers} subscribers synced")
        pub.send(b"S")
        for i, p in enumerate(peers):
            if i not in ready:
                try:
                    if p.recv(timeout=0.002) == "ready":
                        ready.add(i)
                except queue.Empty:
                    pass
    data = b"D" + b"x" * (size - 1)
    send = pub.send
    t0 = perf()
    for _ in range(count):
        send(data)
    t1 = perf()
    results = {}
    deadline = time.monotonic() + 60
    while len(results) < subscribers:  # END may be dropped at HWM too: repeat it
        if time.monotonic() > deadline:
            raise TimeoutError(f"only {len(results)}/{subscribers} subscribers finished")
        pub.send(b"E")
        for i, p in enumerate(peers):
            if i not in results and p.finished(0.002):
                results[i] = p.join()
    delivered = sum(r["received"] for r in results.values())
    firsts = [r["t_first"] for r in results.values() if r["t_first"] is not None]
    lasts = [r["t_last"] for r in results.values() if r["t_last"] is not None]
    span = (max(lasts) - min(firsts)) if firsts else float("nan")
    res = {
        "msgs_per_s": delivered / span if span and span > 0 else 0.0,
        "publish_msgs_per_s": count / (t1 - t0),
        "loss": 1 - delivered / (count * subscribers),
        "per_sub_received": [results[i]["received"] for i in sorted(results)],
    }
    emit(res)
    pub.close()
    ctx.term()
    return res


def _need_groups(zmq, impl):
    if not hasattr(zmq, "RADIO") or (impl != "zmqx" and not zmq.has("draft")):
        raise RuntimeError(f"{impl} has no RADIO/DISH: its libzmq is built without the draft "
                           "API (zmq.has('draft') is False); this case is zmqx-only here")


def _dish_receiver(ctl, impl, transport, hwm, ctx):
    zmq = load(impl)
    own = ctx is None
    if own:
        ctx = zmq.Context()
    s = make_socket(zmq, ctx, zmq.DISH, hwm)
    s.join(b"g")
    if transport == "udp":
        s.bind("udp://127.0.0.1:*")
        ep = s.getsockopt(zmq.LAST_ENDPOINT)
        ep = ep.decode() if isinstance(ep, bytes) else ep
    else:
        ep = bind_any(zmq, s, transport)
    ctl.send(ep)
    res = _count_until_end(s.recv, ctl)
    s.close()
    if own:
        ctx.term()
    return res


def radio_dish_throughput(impl, transport, size, count, hwm=None):
    """RADIO -> DISH, one group joined, ``count`` messages of ``size`` bytes, every other
    message to a group nobody joined (the RADIO filters it); receiver-side rate of the
    joined messages, first to last. tcp is lossless (HWM = count + 1000); udp drops what the
    DISH's kernel buffer cannot hold, reported as loss."""
    if hwm is None:
        hwm = count + 1000
    a, b = bench_cpus()
    pin(inproc_cpus() if transport == "inproc" else {a})
    zmq = load(impl)
    _need_groups(zmq, impl)
    ctx = zmq.Context()
    radio = make_socket(zmq, ctx, zmq.RADIO, hwm)
    if transport == "inproc":
        peer = Peer(_dish_receiver, (impl, transport, hwm, ctx), thread=True, name="dish")
    else:
        peer = Peer(_dish_receiver, (impl, transport, hwm, None), cpus={b}, name="dish")
    radio.connect(peer.recv(timeout=60))
    deadline = time.monotonic() + 60
    while True:  # re-send sync until the DISH has joined and seen one
        if time.monotonic() > deadline:
            raise TimeoutError("the DISH never synced")
        radio.send(b"S", group="g")
        try:
            if peer.recv(timeout=0.002) == "ready":
                break
        except queue.Empty:
            pass
    data = b"D" + b"x" * (size - 1)
    send = radio.send
    t0 = perf()
    for _ in range(count // 2):
        send(data, group="g")
        send(data, group="h")
    t1 = perf()
    deadline = time.monotonic() + 60
    while not peer.finished(0.002):  # END may be dropped too: repeat it
        if time.monotonic() > deadline:
            raise TimeoutError("the DISH never finished")
        radio.send(b"E", group="g")
    r = peer.join()
    span = (r["t_last"] - r["t_first"]) if r["t_first"] is not None else float("nan")
    res = {
        "msgs_per_s": r["received"] / span if span and span > 0 else 0.0,
        "send_msgs_per_s": (count // 2 * 2) / (t1 - t0),
        "loss": 1 - r["received"] / (count // 2),
    }
    emit(res)
    radio.close()
    ctx.term()
    return res


def _async_push_sender(ctl, impl, ep, size, count, hwm, batch, ctx):
    zmq = load(impl)
    aio = load_asyncio(impl)

    async def run():
        actx = aio.Context()
        s = make_socket(zmq, actx, zmq.PUSH, hwm)
        s.connect(ep)
        buf = b"x" * size
        copy = size < BIG
        send = s.send
        c0 = cpu()
        t0 = perf()
        if batch and hasattr(s, "send_many"):
            chunk = [buf] * batch
            left = count
            while left:
                k = min(left, batch)
                await s.send_many(chunk if k == batch else chunk[:k], copy=copy)
                left -= k
        else:
            for _ in range(count):
                await send(buf, copy=copy)
        t1 = perf()
        ctl.recv()  # blocking is fine here: nothing else runs on this loop
        c1 = cpu()
        s.close()
        actx.term()
        return {"send_s": t1 - t0, "send_cpu_s": c1 - c0}

    return asyncio.run(run())


def asyncio_push_pull_throughput(impl, transport, size, count, hwm=1000, batch=0):
    """PUSH -> PULL with ``impl.asyncio`` sockets on both ends (awaited send/recv);
    with ``batch`` > 0, send_many/recv_many of up to ``batch`` messages per await where
    the implementation has them (plain awaits otherwise)."""
    if transport == "inproc":
        raise ValueError("asyncio case runs over ipc/tcp (two processes)")
    pin_measuring_side(transport)
    zmq = load(impl)
    aio = load_asyncio(impl)

    async def run():
        actx = aio.Context()
        pull = make_socket(zmq, actx, zmq.PULL, hwm)
        ep = bind_any(zmq, pull, transport)
        peer = Peer(_async_push_sender, (impl, ep, size, count, hwm, batch, None),
                    cpus={bench_cpus()[0]})
        recv = pull.recv
        copy = size < BIG
        nbytes = len(await recv(copy=copy))
        c0 = cpu()
        t0 = perf()
        if batch and hasattr(pull, "recv_many"):
            got = 1
            while got < count:
                msgs = await pull.recv_many(min(batch, count - got), copy=copy)
                got += len(msgs)
                for m in msgs:
                    nbytes += len(m)
        else:
            for _ in range(count - 1):
                nbytes += len(await recv(copy=copy))
        t1 = perf()
        c1 = cpu()
        if nbytes != count * size:
            raise AssertionError(f"received {nbytes} bytes, expected {count * size}")
        elapsed = t1 - t0
        res = {"msgs_per_s": (count - 1) / elapsed,
               "MB_per_s": (count - 1) * size / elapsed / 1e6, "elapsed_s": elapsed,
               "batch_api": bool(batch and hasattr(pull, "recv_many"))}
        emit(res)
        peer.send("done")
        res.update(peer.join())
        add_cpu_per_msg(res, count - 1, c1 - c0, res["send_cpu_s"])
        emit(res)
        pull.close()
        actx.term()
        return res

    return asyncio.run(run())


# --------------------------------------------------------------------------
# limits: what the machine allows, measured with the same pinning as the cases
# --------------------------------------------------------------------------

def _raw_family(transport):
    import socket
    return socket.AF_INET if transport == "tcp" else socket.AF_UNIX


def _raw_listen(transport):
    """A listening plain socket on loopback (tcp) or a unix path (ipc); (sock, addr)."""
    import socket
    ls = socket.socket(_raw_family(transport), socket.SOCK_STREAM)
    if transport == "tcp":
        ls.bind(("127.0.0.1", 0))
    elif transport == "ipc":
        ls.bind(os.path.join(bench_tmpdir(), uuid.uuid4().hex[:16] + ".sock"))
    else:
        raise ValueError(f"no plain-socket limit for {transport!r}")
    ls.listen(1)
    return ls, ls.getsockname()


def _raw_connect(transport, addr):
    import socket
    s = socket.socket(_raw_family(transport), socket.SOCK_STREAM)
    s.connect(tuple(addr) if transport == "tcp" else addr)
    if transport == "tcp":
        s.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as zmq's sockets
    return s


def _read_exact(sock, view, n):
    got = 0
    while got < n:
        k = sock.recv_into(view[got:n])
        if not k:
            raise EOFError("peer closed")
        got += k


RAW_CHUNK = 1 << 20  # plain-socket writes and reads are at least this big (see below)


def _raw_stream_sender(ctl, transport, addr, size, count):
    s = _raw_connect(transport, addr)
    # messages are written RAW_CHUNK at a time, as an engine that batches its writes would
    # (zmqx writes up to 64 iovecs per call): the limit is the stream's, not the syscalls'
    per = max(1, RAW_CHUNK // size)
    buf = b"x" * (size * per)
    sendall = s.sendall
    left = count
    while left >= per:
        sendall(buf)
        left -= per
    if left:
        sendall(buf[:left * size])
    ctl.recv()  # "done"
    s.close()
    return {}


RAW_MIN_BYTES = 1 << 30


def raw_stream_throughput(transport, size, count, one_ctx=False, **_):
    """The loopback bandwidth limit: a plain socket carries ``count`` messages of
    ``size`` bytes, written and read at least 1 MiB per call (sendall / recv_into one
    preallocated buffer); the same CPUs as the case (two processes, or two threads for
    ``one_ctx``)."""
    if transport == "inproc":
        raise ValueError("no plain-socket bandwidth limit for inproc")
    # at least RAW_MIN_BYTES: a limit that varies from run to run (loopback retransmits,
    # a few hundred MB in quick mode) would judge the cases by its noise
    count = max(count, RAW_MIN_BYTES // size + 1)
    pin_measuring_side("inproc" if one_ctx else transport)
    ls, addr = _raw_listen(transport)
    if one_ctx:
        peer = Peer(_raw_stream_sender, (transport, addr, size, count), thread=True)
    else:
        peer = Peer(_raw_stream_sender, (transport, addr, size, count), cpus={bench_cpus()[0]})
    conn, _ = ls.accept()
    chunk = max(size, RAW_CHUNK)
    buf = bytearray(chunk)
    view = memoryview(buf)
    _read_exact(conn, view, size)       # the first message: the clock starts as in the cases
    left = (count - 1) * size
    recv_into = conn.recv_into
    t0 = perf()
    while left:
        k = recv_into(view, min(left, chunk))
        if not k:
            raise EOFError("sender closed early")
        left -= k
    t1 = perf()
    elapsed = t1 - t0
    res = {"msgs_per_s": (count - 1) / elapsed, "MB_per_s": (count - 1) * size / elapsed / 1e6,
           "elapsed_s": elapsed, "what": f"plain {transport} socket, {max(size, RAW_CHUNK)} B writes/reads"}
    emit(res)
    peer.send("done")
    peer.join()
    conn.close()
    ls.close()
    return res


def _raw_echo(ctl, transport, addr, size, total):
    s = _raw_connect(transport, addr)
    view = memoryview(bytearray(size))
    sendall = s.sendall
    for _ in range(total):
        _read_exact(s, view, size)
        sendall(view)
    ctl.recv()  # "done"
    s.close()
    return {}


def _handoff_echo(ctl, ping, pong, total):
    for _ in range(total):
        ping.acquire()
        pong.release()
    ctl.recv()
    return {}


def raw_roundtrip_latency(transport, size, count, warmup, **_):
    """The round-trip limit: plain-socket ping-pong of ``size`` bytes (tcp/ipc, two
    processes pinned as the case), or for inproc a hand-off between two threads of
    one process through two locks (what any Python inproc round trip must do)."""
    pin_measuring_side(transport)
    clock = time.perf_counter_ns
    samples = [0] * count
    if transport == "inproc":
        ping, pong = threading.Lock(), threading.Lock()
        ping.acquire()
        pong.acquire()
        peer = Peer(_handoff_echo, (ping, pong, warmup + count), thread=True)
        for _ in range(warmup):
            ping.release()
            pong.acquire()
        for i in range(count):
            t = clock()
            ping.release()
            pong.acquire()
            samples[i] = clock() - t
        what = "two threads, lock hand-off"
        conn = ls = None
    else:
        ls, addr = _raw_listen(transport)
        peer = Peer(_raw_echo, (transport, addr, size, warmup + count), cpus={bench_cpus()[0]})
        conn, _ = ls.accept()
        msg = b"x" * size
        view = memoryview(bytearray(size))
        sendall = conn.sendall
        for _ in range(warmup):
            sendall(msg)
            _read_exact(conn, view, size)
        for i in range(count):
            t = clock()
            sendall(msg)
            _read_exact(conn, view, size)
            samples[i] = clock() - t
        what = f"plain {transport} socket ping-pong"
    res = _summary_ns(samples)
    res["what"] = what
    emit(res)
    peer.send("done")
    peer.join()
    if conn is not None:
        conn.close()
        ls.close()
    return res


def zmqx_blocking_throughput(transport, size, count, hwm=1000, **_):
    """The reference for the asyncio cases: zmqx's blocking PUSH/PULL, same sizes."""
    res = push_pull_throughput("zmqx", transport, size, count, hwm)
    res["what"] = "zmqx blocking send/recv"
    return res


# --------------------------------------------------------------------------
# registry
# --------------------------------------------------------------------------

UNITS = {"msgs_per_s": "msg/s", "MB_per_s": "MB/s", "rtt_us_median": "µs"}


@dataclass
class Case:
    name: str
    func: object
    params: dict
    quick: dict
    metric: str                 # key of the case's result dict shown in the table
    higher_is_better: bool
    timeout: float
    doc: str = ""
    unit: str = field(default="")
    limit: object = None        # limit(**params) -> dict with `metric`: the machine's limit

    def params_for(self, quick):
        return {**self.params, **(self.quick if quick else {})}


CASES: dict[str, Case] = {}


def register(name, func, *, metric, higher_is_better, params, quick=None, timeout=120.0, doc="",
             limit=None):
    """Add a case.  ``func(impl, **params)`` runs in a fresh worker process and
    returns a dict of JSON-able numbers that includes ``metric``.  ``limit(**params)``,
    if given, measures the machine's limit for the same case (same metric)."""
    if name in CASES:
        raise ValueError(f"duplicate case {name}")
    CASES[name] = Case(name, func, dict(params), dict(quick or {}), metric, higher_is_better,
                       timeout, doc or " ".join((func.__doc__ or "").strip().split("\n\n")[0].split()),
                       UNITS.get(metric, metric), limit)


for _t in ("inproc", "ipc", "tcp"):
    _lim = None if _t == "inproc" else raw_stream_throughput
    register(f"push_pull/{_t}/64B", push_pull_throughput, metric="msgs_per_s", higher_is_better=True,
             params=dict(transport=_t, size=64, count=500_000), quick=dict(count=100_000))
    # inproc 1 MiB copy=False is pointer passing: it needs count >> HWM to reach a
    # steady state (else the receiver just drains a queue the sender filled). Over ipc/tcp
    # the quick mode keeps the full count: 300 messages (60 ms) read 0.81-1.09 of the limit
    # for the same code that reads 1.03-1.16 with 1000
    register(f"push_pull/{_t}/1MiB", push_pull_throughput, metric="MB_per_s", higher_is_better=True,
             params=dict(transport=_t, size=1 << 20, count=20_000 if _t == "inproc" else 1000),
             quick=dict(count=5_000 if _t == "inproc" else 1000), limit=_lim)
    register(f"push_pull/{_t}/1MiB-copy", push_pull_throughput, metric="MB_per_s",
             higher_is_better=True,
             params=dict(transport=_t, size=1 << 20, count=5_000 if _t == "inproc" else 1000,
                         copy=True),
             quick=dict(count=2_000 if _t == "inproc" else 1000), limit=_lim)
    for _copy in (False, True):
        register(f"push_pull/{_t}/64KiB" + ("-copy" if _copy else ""), push_pull_throughput,
                 metric="MB_per_s", higher_is_better=True,
                 params=dict(transport=_t, size=1 << 16, count=100_000 if _t == "inproc" else 20_000,
                             copy=_copy),
                 quick=dict(count=30_000 if _t == "inproc" else 5_000), limit=_lim)
for _copy in (False, True):
    register("push_pull/tcp-1ctx/64KiB" + ("-copy" if _copy else ""), push_pull_throughput,
             metric="MB_per_s", higher_is_better=True,
             params=dict(transport="tcp", size=1 << 16, count=20_000, copy=_copy, one_ctx=True),
             quick=dict(count=5_000), limit=raw_stream_throughput)
for _t in ("inproc", "ipc", "tcp"):
    register(f"pair_latency/{_t}/64B", pingpong_latency, metric="rtt_us_median", higher_is_better=False,
             params=dict(transport=_t, pattern="pair", size=64, count=20_000, warmup=1_000),
             quick=dict(count=5_000, warmup=500), limit=raw_roundtrip_latency)
register("req_rep_latency/tcp/64B", pingpong_latency, metric="rtt_us_median", higher_is_better=False,
         params=dict(transport="tcp", pattern="reqrep", size=64, count=20_000, warmup=1_000),
         quick=dict(count=5_000, warmup=500), limit=raw_roundtrip_latency)
for _t in ("inproc", "ipc"):
    register(f"req_rep_latency/{_t}/64B", pingpong_latency, metric="rtt_us_median",
             higher_is_better=False,
             params=dict(transport=_t, pattern="reqrep", size=64, count=20_000, warmup=1_000),
             quick=dict(count=5_000, warmup=500), limit=raw_roundtrip_latency)
# CURVE: the same PUSH/PULL throughput and REQ/REP latency with every frame boxed
for _name, _size, _count, _quick, _metric in (("64B", 64, 300_000, 50_000, "msgs_per_s"),
                                              ("1KiB", 1024, 200_000, 30_000, "msgs_per_s"),
                                              ("64KiB", 1 << 16, 10_000, 2_000, "MB_per_s"),
                                              ("1MiB", 1 << 20, 500, 150, "MB_per_s")):
    register(f"curve_push_pull/tcp/{_name}", push_pull_throughput, metric=_metric,
             higher_is_better=True,
             params=dict(transport="tcp", size=_size, count=_count, curve=True),
             quick=dict(count=_quick))
register("curve_req_rep_latency/tcp/64B", pingpong_latency, metric="rtt_us_median",
         higher_is_better=False,
         params=dict(transport="tcp", pattern="reqrep", size=64, count=20_000, warmup=1_000,
                     curve=True),
         quick=dict(count=5_000, warmup=500))
register("dealer_router_echo/tcp/64B", pingpong_latency, metric="rtt_us_median", higher_is_better=False,
         params=dict(transport="tcp", pattern="dealer_router", size=64, count=20_000, warmup=1_000),
         quick=dict(count=5_000, warmup=500), limit=raw_roundtrip_latency)
register("pub_sub_fanout3/tcp/64B", pub_sub_fanout, metric="msgs_per_s", higher_is_better=True,
         params=dict(transport="tcp", size=64, count=200_000, subscribers=3),
         quick=dict(count=50_000))
for _t in ("tcp", "udp"):
    # zmqx-only where pyzmq's libzmq lacks the draft API (the pyzmq cell says so)
    register(f"radio_dish/{_t}/64B", radio_dish_throughput, metric="msgs_per_s",
             higher_is_better=True, params=dict(transport=_t, size=64, count=200_000),
             quick=dict(count=50_000))
register("asyncio_push_pull/tcp/64B", asyncio_push_pull_throughput, metric="msgs_per_s",
         higher_is_better=True, params=dict(transport="tcp", size=64, count=200_000),
         quick=dict(count=50_000), limit=zmqx_blocking_throughput)
register("asyncio_push_pull_batch/tcp/64B", asyncio_push_pull_throughput, metric="msgs_per_s",
         higher_is_better=True, params=dict(transport="tcp", size=64, count=200_000, batch=256),
         quick=dict(count=50_000), limit=zmqx_blocking_throughput)
for _t in ("inproc", "tcp"):
    register(f"client_server_latency/{_t}/64B", client_server_latency, metric="rtt_us_median",
             higher_is_better=False, params=dict(transport=_t, size=64, count=20_000, warmup=1_000),
             quick=dict(count=5_000, warmup=500))
    register(f"client_server/{_t}/64B", client_server_throughput, metric="msgs_per_s",
             higher_is_better=True, params=dict(transport=_t, size=64, count=500_000),
             quick=dict(count=100_000))
del _t, _lim, _copy


# --------------------------------------------------------------------------
# orchestrator
# --------------------------------------------------------------------------

@dataclass
class CellResult:
    ok: bool
    value: float | None = None
    result: dict | None = None
    error: str | None = None
    detail: str | None = None
    note: str | None = None
    wall_s: float = 0.0


def _killpg(pid):
    try:
        os.killpg(pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass


def _tail(path, n=2000):
    try:
        with open(path, "rb") as f:
            f.seek(0, 2)
            size = f.tell()
            f.seek(max(0, size - n))
            return f.read().decode(errors="replace")
    except OSError:
        return ""


def run_cell(case, impl, params, timeout, workdir, grace=5.0):
    """Run one measurement in a fresh worker process group; never hangs."""
    tag = uuid.uuid4().hex[:8]
    rpath = os.path.join(workdir, f"cell-{tag}.json")
    lpath = os.path.join(workdir, f"cell-{tag}.log")
    cmd = [sys.executable, SCRIPT, "--_worker", case.name, impl, json.dumps(params), rpath]
    t_start = time.monotonic()
    deadline = t_start + timeout
    timed_out = False
    shortened = False
    with open(lpath, "wb") as log:
        p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
                             start_new_session=True)
        try:
            while True:
                try:
                    p.wait(timeout=0.05)
                    break
                except subprocess.TimeoutExpired:
                    pass
                now = time.monotonic()
                if not shortened and os.path.exists(rpath):
                    shortened = True  # measured: allow only a grace period for cleanup
                    deadline = min(deadline, now + grace)
                if now > deadline:
                    timed_out = True
                    break
            if timed_out:  # stacks of every thread of the worker and its peers into the log
                try:
                    os.killpg(p.pid, signal.SIGUSR1)
                    time.sleep(0.5)
                except (ProcessLookupError, PermissionError, AttributeError):
                    pass
        finally:
            _killpg(p.pid)  # the worker's peers and anything they left behind
            p.wait()
    wall = time.monotonic() - t_start
    out_tail = _tail(lpath)
    obj = None
    if os.path.exists(rpath):
        with open(rpath) as f:
            obj = json.load(f)
        os.unlink(rpath)
    try:
        os.unlink(lpath)
    except OSError:
        pass
    if obj is None:
        if timed_out:
            return CellResult(False, error="TIMEOUT",
                              detail=f"no result after {timeout:.0f}s; stacks at kill:\n{out_tail}",
                              wall_s=wall)
        rc = p.returncode
        what = f"exit code {rc}"
        if rc is not None and rc < 0:
            try:
                what = f"killed by {signal.Signals(-rc).name}"
            except ValueError:
                pass
        return CellResult(False, error=f"CRASH ({what})", detail=out_tail, wall_s=wall)
    if not obj.get("ok"):
        return CellResult(False, error=obj.get("error", "error"), detail=obj.get("traceback") or out_tail,
                          wall_s=wall)
    res = obj["result"]
    note = obj.get("note")
    if not obj.get("complete"):
        extra = "cleanup TIMEOUT (killed)" if timed_out else f"cleanup failed (exit code {p.returncode})"
        note = f"{extra}; {note}" if note else extra
    if case.metric not in res:
        return CellResult(False, error=f"result lacks {case.metric!r}", detail=json.dumps(res), wall_s=wall)
    return CellResult(True, value=float(res[case.metric]), result=res, note=note, wall_s=wall)


def fmt_value(v, unit):
    if v is None:
        return "-"
    if unit == "msg/s":
        if v >= 1e6:
            return f"{v / 1e6:.2f}M"
        if v >= 1e3:
            return f"{v / 1e3:.1f}k"
        return f"{v:.0f}"
    if unit == "MB/s":
        return f"{v:,.0f}"
    if unit == "µs":
        return f"{v:.1f}"
    return f"{v:.4g}"


def machine_info(impls, cpus):
    info = {"python": f"{platform.python_implementation()} {platform.python_version()}",
            "platform": platform.platform(), "cpu_count": os.cpu_count(), "bench_cpus": list(cpus),
            "inproc_cpus": sorted(inproc_cpus())}
    try:
        info["allowed_cpus"] = sorted(os.sched_getaffinity(0))
    except AttributeError:
        pass
    model = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.lower().startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    info["cpu_model"] = model
    try:
        info["loadavg_start"] = os.getloadavg()
    except OSError:
        pass
    info["impls"] = {impl: probe_subprocess(impl) for impl in impls}
    info["interference_start"] = interference_subprocess(cpus)
    return info


_BUSY = "import time\nprint('go', flush=True)\nt = time.monotonic()\nwhile time.monotonic() - t < 10: pass\n"


def _compute_ms():
    # a fixed piece of interpreter work (dict stores), timed in CPU time
    c0 = time.process_time()
    d = {}
    for i in range(100_000):
        d[i & 1023] = i
    return (time.process_time() - c0) * 1e3


def interference_main(cpus, rounds=9):
    """How much a busy CPU ``cpus[0]`` slows work on ``cpus[1]``: the same compute timed
    alternately with a busy loop pinned there stopped (SIGSTOP) and running (SIGCONT);
    the ratio of the medians.  On a VM whose two vCPUs land on one physical core's
    hyperthreads (the host moves them, for seconds at a time), this is 1.3-1.6, and
    every figure with both CPUs busy moves with it."""
    pin([cpus[1]])
    busy = subprocess.Popen([sys.executable, "-c", _BUSY], stdout=subprocess.PIPE,
                            stdin=subprocess.DEVNULL, text=True)
    alone, beside = [], []
    try:
        os.sched_setaffinity(busy.pid, {cpus[0]})
        busy.stdout.readline()
        _compute_ms()  # warm-up
        for _ in range(rounds):
            os.kill(busy.pid, signal.SIGSTOP)
            alone.append(_compute_ms())
            os.kill(busy.pid, signal.SIGCONT)
            beside.append(_compute_ms())
    finally:
        busy.kill()
        busy.wait()
    a, b = statistics.median(alone), statistics.median(beside)
    print(json.dumps({"alone_ms": a, "beside_busy_ms": b, "slowdown": b / a if a else None}),
          flush=True)


def interference_subprocess(cpus):
    """interference_main in a fresh interpreter; {} where it cannot run (one CPU)."""
    if cpus[0] == cpus[1] or not hasattr(os, "sched_setaffinity") or not hasattr(signal, "SIGSTOP"):
        return {}
    try:
        out = subprocess.run([sys.executable, SCRIPT, "--_interference", f"{cpus[0]},{cpus[1]}"],
                             capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        return json.loads(line[-1]) if line else {}
    except subprocess.TimeoutExpired:
        return {}


def fmt_interference(r):
    if not r or r.get("slowdown") is None:
        return "not measured"
    return (f"{r['slowdown']:.2f}x (work on one bench CPU beside a busy other one: "
            f"{r['alone_ms']:.1f} -> {r['beside_busy_ms']:.1f} ms; 1.00 = independent cores)")


def probe_subprocess(impl):
    """probe(impl) in a fresh interpreter (an import must not pollute the orchestrator)."""
    try:
        out = subprocess.run([sys.executable, SCRIPT, "--_probe", impl], capture_output=True,
                             text=True, timeout=120, stdin=subprocess.DEVNULL)
        line = [ln for ln in out.stdout.splitlines() if ln.startswith("{")]
        return json.loads(line[-1]) if line else {
            "impl": impl, "error": f"probe failed (rc={out.returncode}): {out.stderr.strip()[-300:]}"}
    except subprocess.TimeoutExpired:
        return {"impl": impl, "error": "probe TIMEOUT (import hung)"}


def print_machine_info(info):
    print("== zmqx side-by-side benchmark ==")
    print(f"cpu      : {info['cpu_model']} ({info['cpu_count']} logical CPUs, allowed "
          f"{info.get('allowed_cpus')}, sender cpu {info['bench_cpus'][0]}, "
          f"receiver cpu {info['bench_cpus'][1]}, inproc cpus {info['inproc_cpus']})")
    print(f"python   : {info['python']} on {info['platform']}")
    if "loadavg_start" in info:
        print("loadavg  : " + " ".join(f"{x:.2f}" for x in info["loadavg_start"]))
    print(f"cross-CPU: {fmt_interference(info.get('interference_start'))}")
    for impl, p in info["impls"].items():
        if "error" in p:
            print(f"{impl:9s}: NOT AVAILABLE: {p['error']}")
        else:
            print(f"{impl:9s}: {p['module']} {p['version']} (libzmq/zmq_version {p['libzmq']}) "
                  f"from {p['file']}")
    print(flush=True)


def select_cases(only):
    if not only:
        return list(CASES.values())
    pats = [p.strip() for p in only.split(",") if p.strip()]
    chosen = [c for c in CASES.values()
              if any(c.name.startswith(p) or fnmatch.fnmatchcase(c.name, p) for p in pats)]
    if not chosen:
        raise SystemExit(f"--only {only!r} matches no case; see --list")
    return chosen


def summarize(values):
    if not values:
        return None, None
    med = statistics.median(values)
    spread = (max(values) - min(values)) / 2 / med * 100 if med else 0.0
    return med, spread


def ratio(case, cand, base):
    if cand is None or base is None or cand == 0 or base == 0:
        return None
    return cand / base if case.higher_is_better else base / cand


def paired_ratio(case, values, base_values):
    """The median of the ratios of runs made one after the other (repetition i of each):
    steadier than the ratio of medians when the machine drifts between fast and slow
    spells (see the cross-CPU line)."""
    pr = [ratio(case, x, y) for x, y in zip(values, base_values)]
    pr = [p for p in pr if p]
    return statistics.median(pr) if pr else None


def print_table(rows, impls, info):
    baseline = impls[-1] if len(impls) > 1 else None
    others = impls[:-1] if baseline else []
    first, middle = impls[0], impls[1:-1]
    with_limit = any(LIMIT in row["values"] for row in rows)
    headers = ["case", "unit"] + [f"{impl} median" for impl in impls]
    headers += [f"speedup {o}/{baseline} (×, >1 = {o} faster)" for o in others]
    headers += [f"{first}/{m}" for m in middle]
    headers += [f"{o} wins" for o in others]
    if with_limit:
        headers += ["limit median", f"{first} of limit (paired)"]
    table = []
    for row in rows:
        case = row["case"]
        cells = [case.name, case.unit + (" ↑" if case.higher_is_better else " ↓")]
        for impl in impls:
            med, spread = row["summary"][impl]
            if med is not None:
                txt = f"{fmt_value(med, case.unit)} ±{spread:.0f}% n={len(row['values'][impl])}"
                if row["errors"][impl] or row["notes"][impl]:
                    txt += " !"
            elif impl in row["unavailable"]:
                txt = "import failed"
            elif row["errors"][impl]:
                err = row["errors"][impl][0]
                txt = err if len(err) <= 34 else err[:31] + "..."
            else:
                txt = "-"
            cells.append(txt)
        for o in others:
            r = ratio(case, row["summary"][o][0], row["summary"][baseline][0])
            if r is None:
                cells.append("-")
            else:
                va, vb = row["values"][o], row["values"][baseline]
                disjoint = max(va) < min(vb) or max(vb) < min(va)
                cells.append(f"{r:.2f}" + (" *" if disjoint else ""))
        for m in middle:
            r = ratio(case, row["summary"][first][0], row["summary"][m][0])
            cells.append("-" if r is None else f"{r:.2f}")
        for o in others:
            pairs = [ratio(case, x, y) for x, y in zip(row["values"][o], row["values"][baseline])]
            pairs = [p for p in pairs if p]
            cells.append(f"{sum(p > 1 for p in pairs)}/{len(pairs)}" if pairs else "-")
        if with_limit:
            if LIMIT in row["values"]:
                med, spread = row["summary"][LIMIT]
                if med is not None:
                    cells.append(f"{fmt_value(med, case.unit)} ±{spread:.0f}%")
                else:
                    err = (row["errors"][LIMIT] or ["-"])[0]
                    cells.append(err if len(err) <= 20 else err[:17] + "...")
                r = ratio(case, row["summary"][first][0], med)
                pr = paired_ratio(case, row["values"][first], row["values"][LIMIT])
                cells.append("-" if r is None else f"{r:.2f}" + (f" ({pr:.2f})" if pr else ""))
            else:
                cells += ["-", "-"]
        table.append(cells)
    widths = [max(len(str(r[i])) for r in [headers] + table) for i in range(len(headers))]
    line = "  ".join(h.ljust(w) for h, w in zip(headers, widths))
    print(line)
    print("-" * len(line))
    for cells in table:
        print("  ".join(c.ljust(w) if i < 2 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(cells, widths))))
    print()
    print("unit ↑ = higher is better (throughput), ↓ = lower is better (latency). Medians over the")
    print("repetitions; ±x% = half the min-max range relative to the median; n = successful runs.")
    if others:
        print("speedup = ratio of medians oriented so >1 means the first implementation is faster:")
        print(f"  throughput {others[0]}/{baseline}, latency {baseline}/{others[0]}.  "
              "* = the min-max ranges do not overlap.")
        print(f"wins = in how many repetitions {others[0]} beat the {baseline} run right after it "
              "(paired; robust to drift).")
    if middle:
        print(f"{first}/{middle[0]}: the same ratio of medians, {first} against {middle[0]}.")
    if with_limit:
        print(f"limit = the machine's limit for the case, measured in the same run: plain tcp/unix")
        print("  sockets (bandwidth, ping-pong), a two-thread lock hand-off (inproc round trip),")
        print(f"  zmqx blocking (asyncio cases).  '{first} of limit' = {first}/limit for throughput,")
        print(f"  limit/{first} for latency (1.0 = at the limit); (paired) = the median of the")
        print("  ratios of each repetition's run and the limit run right after it.")
    print("! = some runs of that cell failed or had a note (see below).")
    problems = []
    for row in rows:
        for impl in row["values"]:
            skipped = row["skipped"][impl]
            for e, d in zip(row["errors"][impl], row["details"][impl]):
                if skipped:
                    e += f"  (then skipped the other {skipped} repetition(s))"
                problems.append((row["case"].name, impl, e, d))
            for n in row["notes"][impl]:
                problems.append((row["case"].name, impl, "note: " + n, None))
    if problems:
        print("\nErrors and notes:")
        seen = set()
        for name, impl, e, d in problems:
            key = (name, impl, e)
            if key in seen:
                continue
            seen.add(key)
            print(f"- {name} [{impl}]: {e}")
            if d:
                lines = d.strip().splitlines()[-(40 if e.startswith("TIMEOUT") else 12):]
                for ln in lines:
                    print("    " + ln)


def print_cpu_table(rows, impls):
    """CPU µs per message (both processes), for the cases that measure it: medians, and
    each implementation's against the first's (>1 = the first spends less)."""
    first = impls[0]
    headers = ["case"] + [f"{i} cpu µs/msg (recv side)" for i in impls] + [
        f"{o}/{first}" for o in impls[1:]]
    table = []
    for row in rows:
        med = {}
        cells = [row["case"].name]
        for impl in impls:
            got = [r for r in row["results"][impl] if "cpu_us_per_msg" in r]
            if not got:
                cells.append("-")
                continue
            med[impl] = statistics.median(r["cpu_us_per_msg"] for r in got)
            recv = statistics.median(r["recv_cpu_us_per_msg"] for r in got)
            lo = min(r["cpu_us_per_msg"] for r in got)
            hi = max(r["cpu_us_per_msg"] for r in got)
            spread = (hi - lo) / 2 / med[impl] * 100 if med[impl] else 0.0
            cells.append(f"{med[impl]:.3f} ±{spread:.0f}% ({recv:.3f})")
        if not med:
            continue
        for o in impls[1:]:
            ok = o in med and first in med and med[first] > 0
            cells.append(f"{med[o] / med[first]:.2f}" if ok else "-")
        table.append(cells)
    if not table:
        return
    widths = [max(len(r[i]) for r in [headers] + table) for i in range(len(headers))]
    print()
    print("  ".join(h.ljust(w) for h, w in zip(headers, widths)))
    for cells in table:
        print("  ".join(c.ljust(w) if i == 0 else c.rjust(w)
                        for i, (c, w) in enumerate(zip(cells, widths))))
    print("CPU time of both processes (every thread) per message over the measured window;")
    print("(recv side) = the measuring process alone.  Lower is better.")


def run(args):
    impls = [i.strip() for i in (args.impls or "").split(",") if i.strip()]
    if args.impls is None:
        # pyomq joins as a third column where it imports (it needs CPython >= 3.12)
        impls = ["zmqx", "pyzmq"]
        if "error" not in probe_subprocess("pyomq"):
            impls = ["zmqx", "pyomq", "pyzmq"]
    for impl in impls:
        if impl not in IMPLS:
            raise SystemExit(f"unknown implementation {impl!r}; known: {', '.join(IMPLS)}")
    if len(set(impls)) != len(impls):
        raise SystemExit("--impls lists an implementation twice (use pyzmq2 for pyzmq vs pyzmq)")
    cpus = bench_cpus()
    os.environ["BENCH_CPUS"] = f"{cpus[0]},{cpus[1]}"
    if args.inproc_one_cpu:
        os.environ["BENCH_INPROC_ONE_CPU"] = "1"
    workdir = tempfile.mkdtemp(prefix="zmqxbench-")
    os.environ["BENCH_TMPDIR"] = workdir
    repeat = args.repeat or (3 if args.quick else 5)
    cases = select_cases(args.only)
    t_run = time.monotonic()
    try:
        info = machine_info(impls, cpus)
        print_machine_info(info)
        unavailable = {i for i, p in info["impls"].items() if "error" in p}
        mode = "quick" if args.quick else "full"
        print(f"{len(cases)} cases x {len(impls)} impls x {repeat} repetitions ({mode}), "
              f"alternating {', '.join(impls)}; progress on stderr", flush=True)
        rows = []
        for ci, case in enumerate(cases, 1):
            params = case.params_for(args.quick)
            timeout = args.timeout or case.timeout
            cols = impls + ([LIMIT] if case.limit is not None and not args.no_limits else [])
            row = {"case": case, "params": params, "values": {i: [] for i in cols},
                   "results": {i: [] for i in cols}, "errors": {i: [] for i in cols},
                   "details": {i: [] for i in cols}, "notes": {i: [] for i in cols},
                   "unavailable": unavailable & set(impls), "skipped": {i: 0 for i in cols}}
            for rep in range(1, repeat + 1):
                for impl in cols:
                    if impl in unavailable:
                        continue
                    if row["errors"][impl]:
                        row["skipped"][impl] += 1  # failed once: don't burn time on it again
                        continue
                    r = run_cell(case, impl, params, timeout, workdir)
                    if r.ok:
                        row["values"][impl].append(r.value)
                        row["results"][impl].append(r.result)
                        if r.note:
                            row["notes"][impl].append(r.note)
                        shown = f"{fmt_value(r.value, case.unit)} {case.unit}"
                    else:
                        row["errors"][impl].append(r.error)
                        row["details"][impl].append(r.detail)
                        shown = r.error.splitlines()[0][:80] if r.error else "error"
                    print(f"[{ci:2d}/{len(cases)}] {case.name:28s} rep {rep}/{repeat} {impl:7s} "
                          f"{shown}{'  (' + r.note + ')' if r.note else ''}  [{r.wall_s:.1f}s]",
                          file=sys.stderr, flush=True)
            row["summary"] = {i: summarize(row["values"][i]) for i in cols}
            rows.append(row)
        try:
            info["loadavg_end"] = os.getloadavg()
        except OSError:
            pass
        info["interference_end"] = interference_subprocess(cpus)
        print()
        print_table(rows, impls, info)
        if args.cpu:
            print_cpu_table(rows, impls)
        total = time.monotonic() - t_run
        print(f"\ntotal {total:.0f}s; loadavg at end "
              + " ".join(f"{x:.2f}" for x in info.get("loadavg_end", ())))
        print(f"cross-CPU at end: {fmt_interference(info.get('interference_end'))}")
        if args.json:
            baseline = impls[-1] if len(impls) > 1 else None
            out = {"machine": info, "args": vars(args), "repeat": repeat, "impls": impls,
                   "baseline": baseline, "total_s": total, "cases": []}
            for row in rows:
                case = row["case"]
                entry = {"name": case.name, "metric": case.metric, "unit": case.unit,
                         "higher_is_better": case.higher_is_better, "params": row["params"],
                         "impls": {}}
                for impl in impls:
                    med, spread = row["summary"][impl]
                    entry["impls"][impl] = {"median": med, "spread_pct": spread,
                                            "values": row["values"][impl],
                                            "results": row["results"][impl],
                                            "errors": row["errors"][impl], "notes": row["notes"][impl],
                                            "error_details": row["details"][impl],
                                            "unavailable": impl in row["unavailable"]}
                if LIMIT in row["values"]:
                    med, spread = row["summary"][LIMIT]
                    what = next((r.get("what") for r in row["results"][LIMIT] if r.get("what")), None)
                    entry["limit"] = {"median": med, "spread_pct": spread, "what": what,
                                      "values": row["values"][LIMIT], "results": row["results"][LIMIT],
                                      "errors": row["errors"][LIMIT]}
                    # each implementation's median as a fraction of the limit (1.0 = at the limit)
                    entry["fraction_of_limit"] = {i: ratio(case, row["summary"][i][0], med)
                                                  for i in impls}
                    entry["fraction_of_limit_paired"] = {
                        i: paired_ratio(case, row["values"][i], row["values"][LIMIT]) for i in impls}
                for o in impls[1:-1]:
                    entry.setdefault("speedup_of_" + impls[0], {})[o] = ratio(
                        case, row["summary"][impls[0]][0], row["summary"][o][0])
                if baseline:
                    entry["speedup_vs_" + baseline] = {
                        o: ratio(case, row["summary"][o][0], row["summary"][baseline][0])
                        for o in impls[:-1]}
                    # ratios of adjacent (same repetition) runs: less sensitive to drift
                    entry["paired_speedup_median"] = {
                        o: paired_ratio(case, row["values"][o], row["values"][baseline])
                        for o in impls[:-1]}
                out["cases"].append(entry)
            with open(args.json, "w") as f:
                json.dump(out, f, indent=1, default=str)
            print(f"wrote {args.json}")
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def main(argv=None):
    ap = argparse.ArgumentParser(description="zmqx vs pyzmq side-by-side benchmarks",
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="Speed claims come from this script only; see bench/README.md.")
    ap.add_argument("--quick", action="store_true", help="3 repetitions, smaller counts (~1-2 min)")
    ap.add_argument("--repeat", type=int, default=None, help="repetitions per impl (default 5, quick 3)")
    ap.add_argument("--only", default=None,
                    help="comma-separated case-name prefixes or globs, e.g. push_pull/tcp,*latency*")
    ap.add_argument("--impls", default=None,
                    help="comma-separated, last one is the baseline (default zmqx,pyzmq, or "
                         "zmqx,pyomq,pyzmq where pyomq imports; pyzmq2 = pyzmq again, for a "
                         "self-check)")
    ap.add_argument("--no-limits", action="store_true",
                    help="skip the limit cells (plain sockets, thread hand-off, zmqx blocking)")
    ap.add_argument("--json", default=None, help="write all samples and summaries here")
    ap.add_argument("--timeout", type=float, default=None, help="per-cell timeout in s (default: the case's)")
    ap.add_argument("--inproc-one-cpu", action="store_true",
                    help="pin inproc cases to one CPU instead of both (stabler; see inproc_cpus)")
    ap.add_argument("--cpu", action="store_true",
                    help="also print CPU µs per message (both processes) where a case measures it")
    ap.add_argument("--list", action="store_true", help="list the cases and exit")
    ap.add_argument("--_worker", nargs=4, help=argparse.SUPPRESS)
    ap.add_argument("--_probe", help=argparse.SUPPRESS)
    ap.add_argument("--_interference", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)
    if args._worker:
        _worker_main(*args._worker)
        return
    if args._probe:
        print(json.dumps(probe(args._probe)), flush=True)
        return
    if args._interference:
        interference_main([int(x) for x in args._interference.split(",")])
        return
    if args.list:
        for c in CASES.values():
            print(f"{c.name:30s} {c.unit:6s} {'↑' if c.higher_is_better else '↓'}  {c.doc}")
            print(f"{'':30s} params {c.params}  quick {c.quick}  timeout {c.timeout:.0f}s"
                  + (f"  limit {c.limit.__name__}" if c.limit else ""))
        return
    if args.repeat is not None and args.repeat < 1:
        raise SystemExit("--repeat must be >= 1")
    run(args)


if __name__ == "__main__":
    main()
