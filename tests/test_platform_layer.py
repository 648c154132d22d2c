"""The platform layer (zmqx/_core/zx_platform.h) tested below Python, and the poll(2) build.

- tests/platform/test_platform.c (signaler, poller, loopback tcp and AF_UNIX pairs, a refused
  connect, clock, threads; Ctrl-C on Windows) is compiled natively for both Linux backends: epoll + eventfd
  (the default) and poll(2) + pipe (ZX_FORCE_POLL, what macOS runs);
- the same program is cross-compiled with mingw-w64 for Windows (WSAPoll + socket-pair
  signalers) and run under wine; skipped, with the reason in the summary, where either tool
  is missing (Debian: apt-get install mingw-w64 wine);
- the extension is built with ZMQX_POLLER=poll into a temporary copy of the project and a
  subset of the suite runs against it. .ci/poll_backend.sh runs the whole suite that way.
"""

import os
import re
import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

ROOT = Path(os.environ.get("ZMQX_SOURCE_ROOT") or Path(__file__).resolve().parent.parent)
CORE = ROOT / "zmqx" / "_core"
CSRC = ROOT / "tests" / "platform" / "test_platform.c"

linux_only = pytest.mark.skipif(not sys.platform.startswith("linux"),
                                reason="builds the Linux backends")


def _run_c_tests(cmd, env=None, timeout=120):
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, env=env)
    out = r.stdout + r.stderr
    assert r.returncode == 0, out
    assert "all passed" in out and "FAIL" not in out, out
    return out


def _cc():
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    if cc is None:
        pytest.skip("SKIPPED: no C compiler (cc/gcc) to build the platform tests")
    return cc


@linux_only
@pytest.mark.parametrize("mode, poller, signaler", [
    ("default", "epoll", "eventfd"),
    ("poll", "poll", "pipe"),
])
def test_platform_c_native(tmp_path, mode, poller, signaler):
    exe = tmp_path / "test_platform"
    flags = ["-DZX_FORCE_POLL"] if mode == "poll" else []
    subprocess.run([_cc(), "-O1", "-Wall", "-Werror", "-Wno-unused-function", *flags,
                    "-I", str(CORE), str(CSRC), "-o", str(exe), "-lpthread"],
                   check=True, capture_output=True, timeout=120)
    out = _run_c_tests([str(exe)])
    assert "backend: poller %s, signaler %s" % (poller, signaler) in out
    assert "ok   tcp: the peer reads them in order" in out
    assert "ok   ipc: the peer reads them in order" in out


def _wine_prefix():
    if os.environ.get("WINEPREFIX"):
        return os.environ["WINEPREFIX"]
    cache = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(cache, "zmqx", "wineprefix")


@pytest.mark.timeout(300)
def test_platform_c_windows_under_wine(tmp_path):
    mingw = shutil.which("x86_64-w64-mingw32-gcc")
    wine = shutil.which("wine") or shutil.which("wine64")
    if mingw is None or wine is None:
        missing = " and ".join(n for n, p in (("mingw-w64", mingw), ("wine", wine)) if p is None)
        msg = ("SKIPPED: the Windows platform layer was NOT compiled or run: %s missing "
               "(apt-get install mingw-w64 wine)" % missing)
        warnings.warn(msg)
        pytest.skip(msg)
    exe = tmp_path / "test_platform.exe"
    subprocess.run([mingw, "-O1", "-Wall", "-Werror", "-Wno-unused-function", "-I", str(CORE),
                    str(CSRC), "-o", str(exe), "-lws2_32", "-static"],
                   check=True, capture_output=True, timeout=120)
    env = dict(os.environ, WINEDEBUG="-all", WINEPREFIX=_wine_prefix())
    os.makedirs(env["WINEPREFIX"], exist_ok=True)
    out = _run_c_tests([wine, str(exe)], env=env, timeout=240)
    assert "backend: poller poll, signaler socketpair" in out
    assert "ok   tcp: the peer reads them in order" in out
    assert "ok   tcp refused: the select() exception check flags it by itself" in out
    assert "ok   Ctrl-C wakes a blocked wait with EINTR" in out
    # wine (8.0 at least) has no AF_UNIX sockets: the program says SKIP for ipc there
    assert "ok   ipc: the peer reads them in order" in out or "SKIP ipc:" in out


# the modules that use the platform layer; a check against the Windows headers, not a build
WINDOWS_CHECKED = ["io_thread", "socket", "context", "pipe", "poll", "proxy"]


@pytest.mark.timeout(300)
def test_cython_modules_typecheck_for_windows(tmp_path):
    """The generated C of every module that uses the platform layer compiles against the
    mingw-w64 Windows headers without undeclared calls or pointer/integer mismatches. This
    Linux Python's headers stand in for a Windows Python's (with an empty sys/select.h)."""
    mingw = shutil.which("x86_64-w64-mingw32-gcc")
    if mingw is None:
        msg = ("SKIPPED: the Cython modules were NOT checked against the Windows headers: "
               "mingw-w64 missing (apt-get install mingw-w64)")
        warnings.warn(msg)
        pytest.skip(msg)
    pytest.importorskip("Cython")
    import sysconfig
    (tmp_path / "sys").mkdir()
    (tmp_path / "sys" / "select.h").write_text("")
    for m in WINDOWS_CHECKED:
        c = tmp_path / (m + ".c")
        subprocess.run([sys.executable, "-m", "cython", "-3", "-I", str(ROOT), "-I", str(CORE),
                        str(CORE / (m + ".pyx")), "-o", str(c)],
                       check=True, capture_output=True, timeout=120, cwd=ROOT)
        r = subprocess.run([mingw, "-fsyntax-only", "-w", "-Werror=incompatible-pointer-types",
                            "-Werror=implicit-function-declaration", "-Werror=int-conversion",
                            "-I", str(CORE), "-I", str(tmp_path),
                            "-I", sysconfig.get_paths()["include"], str(c)],
                           capture_output=True, text=True, timeout=120)
        assert r.returncode == 0, m + ":\n" + r.stderr[-3000:]


# ---------------------------------------------------------------- the poll(2) build

def copy_project(dest):
    """The files a build needs, without build outputs."""
    common = ("*.so", "*.pyd", "*.html", "__pycache__", ".pytest_cache", ".hypothesis", "build")
    for name in ("setup.py", "pyproject.toml", "README.md", "MANIFEST.in", "LICENSE"):
        if (ROOT / name).exists():
            shutil.copy2(ROOT / name, dest / name)
    # the rest of the project the tests read (benchmarks, docs, examples, tools, workflows)
    for name in ("bench", "docs", "examples", "tools", ".github", ".ci"):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, dest / name,
                            ignore=shutil.ignore_patterns(*common, "_build"))
    # generated C stays behind (the build regenerates it); the C tests come along
    shutil.copytree(ROOT / "zmqx", dest / "zmqx", ignore=shutil.ignore_patterns("*.c", *common))
    # hand-written C (the crypto) is source, not output
    shutil.copytree(ROOT / "zmqx" / "_core" / "crypto", dest / "zmqx" / "_core" / "crypto",
                    ignore=shutil.ignore_patterns(*common), dirs_exist_ok=True)
    shutil.copytree(ROOT / "tests", dest / "tests", ignore=shutil.ignore_patterns(*common))


def build_poll_backend(dest, timeout):
    env = dict(os.environ, ZMQX_POLLER="poll", ZMQX_BUILD_JOBS=str(os.cpu_count() or 1))
    env.pop("ZMQX_DEBUG", None)
    r = subprocess.run([sys.executable, "setup.py", "-q", "build_ext", "--inplace",
                        "-j", str(os.cpu_count() or 1)], cwd=dest, env=env,
                       capture_output=True, text=True, timeout=timeout)
    assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]


# tcp/ipc engine, reconnects, linger, heartbeats, blocking waits, poll, fork, libzmq peers
POLL_SUBSET = ["tests/test_sockets.py", "tests/test_robustness.py", "tests/test_io_lifecycle.py",
               "tests/test_fd_threads_fork.py", "tests/test_interop.py"]


@linux_only
@pytest.mark.timeout(400)
def test_poll_backend_build(tmp_path):
    pytest.importorskip("Cython")   # builds the extensions from source (CI's poll-backend job)
    copy_project(tmp_path)
    build_poll_backend(tmp_path, timeout=300)
    probe = subprocess.run(
        [sys.executable, "-c", "import zmqx, zmqx._core.io_thread as t; "
                               "print(zmqx.__file__, t.POLLER, t.SIGNALER)"],
        cwd=tmp_path, capture_output=True, text=True, timeout=60)
    where, poller, signaler = probe.stdout.split()
    assert Path(where).resolve().is_relative_to(tmp_path.resolve())
    assert (poller, signaler) == ("poll", "pipe")
    r = subprocess.run([sys.executable, "-m", "pytest", "-q", "-x", "-p", "no:cacheprovider",
                        *POLL_SUBSET], cwd=tmp_path, capture_output=True, text=True,
                       timeout=300)
    assert r.returncode == 0, r.stdout[-5000:] + r.stderr[-2000:]
    assert re.search(r"\b\d+ passed", r.stdout) and not re.search(r"\b\d+ failed", r.stdout)
