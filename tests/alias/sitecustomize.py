"""Answer ``import zmq`` / ``import zmq.x`` with ``zmqx`` / ``zmqx.x`` in this interpreter.

This folder is meant to be put first on PYTHONPATH: Python imports ``sitecustomize`` at
start-up, before any program code, so every process started with that PYTHONPATH (and every
child that inherits it) runs pyzmq programs on zmqx without an edit, even where pyzmq is
installed too. The compatibility runner (tools/pyzmq_compat.py) and the application tests
(tests/test_app_*.py) both use it; it depends on nothing but the standard library.

``zmq`` and ``zmqx`` end up as the same module object (``zmq.__name__ == "zmqx"``), so a
program, or a test, can check which library it is really running on. A name zmqx does not
provide (``zmq.backend.cython``, say) is left to the normal import system: it then fails, or
falls back to pyzmq's module of that name -- check ``__name__`` to be sure.
"""
import importlib
import importlib.abc
import importlib.util
import sys


class ZmqAlias(importlib.abc.MetaPathFinder, importlib.abc.Loader):
    """Meta-path finder that hands out zmqx's modules under zmq's names."""

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
        module = importlib.import_module(spec._zmqx_real)
        spec._zmqx_own = (module.__spec__, module.__loader__)
        return module

    def get_code(self, fullname):
        # `python -m zmq.x` (runpy) runs the code of zmqx.x as __main__
        real = "zmqx" + fullname[3:]
        return importlib.util.find_spec(real).loader.get_code(real)

    def is_package(self, fullname):
        spec = importlib.util.find_spec("zmqx" + fullname[3:])
        return spec is not None and spec.submodule_search_locations is not None

    def exec_module(self, module):
        # importlib has stamped the alias's spec on the real module: give it back its own,
        # so that the module still says it is zmqx (and reloads go through zmqx)
        own = getattr(module.__spec__, "_zmqx_own", None)
        if own is not None:
            module.__spec__, module.__loader__ = own


if not any(isinstance(f, ZmqAlias) for f in sys.meta_path):
    sys.meta_path.insert(0, ZmqAlias())
