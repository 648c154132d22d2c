"""Build the Cython core. Compiler directives and flags live here, in one place."""
import glob
import os
import sys

from setuptools import Extension, setup

HERE = os.path.dirname(os.path.abspath(__file__))
CORE = os.path.join("zmqx", "_core")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": False,
    "wraparound": False,
    "cdivision": True,
    "initializedcheck": False,
    "embedsignature": True,
    # signatures in Python syntax, which Sphinx autodoc parses (the API reference)
    "embedsignature.format": "python",
}

if os.environ.get("ZMQX_DEBUG"):
    DIRECTIVES.update(boundscheck=True, wraparound=True)

extra_compile_args = []
extra_link_args = []
define_macros = []
libraries = []
if sys.platform == "win32":
    libraries = ["ws2_32"]
else:
    extra_compile_args = ["-O2", "-fno-strict-aliasing", "-Wno-unused-function"]
    if os.environ.get("ZMQX_DEBUG"):
        extra_compile_args += ["-O0", "-g"]
        define_macros.append(("ZMQX_DEBUG", "1"))
    elif os.environ.get("ZMQX_SYMBOLS"):
        pass  # optimised but not stripped: for perf/profilers (see docs/performance.md)
    elif sys.platform == "darwin":
        # release builds ship stripped: ld64 drops debug info (-S) and local symbols (-x)
        extra_link_args = ["-Wl,-S,-x"]
    else:
        # release builds ship stripped (Python's own CFLAGS add -g: 5.3 MB -> 0.9 MB)
        extra_link_args = ["-s"]


# ZMQX_POLLER=poll builds the poll(2) poller, pipe signalers and the generic POSIX socket
# calls (what macOS runs) on Linux too, so that backend is tested here; see zx_platform.h.
POLLER = os.environ.get("ZMQX_POLLER", "").strip().lower()
if POLLER not in ("", "default", "epoll", "poll"):
    sys.exit("ZMQX_POLLER must be 'poll' or 'epoll' (the default), not %r" % POLLER)
if POLLER == "poll":
    define_macros.append(("ZX_FORCE_POLL", "1"))
elif POLLER == "epoll" and not sys.platform.startswith("linux"):
    sys.exit("ZMQX_POLLER=epoll: epoll exists on Linux only")


def _backend_stamp():
    # the backend is a compile-time choice the sources don't show: a stamp that changes
    # with it makes build_ext recompile (instead of keeping the other backend's objects)
    path = os.path.join(HERE, "build", "zx_backend.stamp")
    want = POLLER or "default"
    try:
        with open(path) as f:
            if f.read() == want:
                return path
    except OSError:
        pass
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w") as f:
        f.write(want)
    return path


def extensions():
    stamp = _backend_stamp()
    exts = []
    for pyx in sorted(glob.glob(os.path.join(CORE, "*.pyx"))):
        name = os.path.splitext(pyx)[0].replace(os.sep, ".")
        exts.append(
            Extension(
                name,
                [pyx],
                include_dirs=[CORE],
                depends=[stamp],
                define_macros=define_macros,
                extra_compile_args=extra_compile_args,
                extra_link_args=extra_link_args,
                libraries=libraries,
            )
        )
    from Cython.Build import cythonize

    return cythonize(
        exts,
        compiler_directives=DIRECTIVES,
        annotate=bool(os.environ.get("ZMQX_ANNOTATE")),
        nthreads=int(os.environ.get("ZMQX_BUILD_JOBS", "0")) or None,
    )


setup(ext_modules=extensions())
