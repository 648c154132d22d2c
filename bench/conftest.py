"""Benchmark-suite switch for demonstrating the CI gate: ZMQX_BENCH_SLOWDOWN_US=N adds a
busy wait of N microseconds to every zmqx measurement (never to pyzmq or calibration), as a
regression in a hot path would. bench/ci.py --compare must then fail; see bench/README.md."""
import os
import time

import pytest

_SLOW_US = float(os.environ.get("ZMQX_BENCH_SLOWDOWN_US") or 0)


def _spin(us):
    end = time.perf_counter() + us * 1e-6
    while time.perf_counter() < end:
        pass


class _Slowed:
    """The benchmark fixture, with the delay added to the measured call for zmqx."""

    def __init__(self, inner):
        object.__setattr__(self, "_inner", inner)

    def __getattr__(self, name):
        return getattr(self._inner, name)

    def __setattr__(self, name, value):
        setattr(self._inner, name, value)

    def __call__(self, fn, *args, **kwargs):
        if self._inner.extra_info.get("impl") != "zmqx":
            return self._inner(fn, *args, **kwargs)

        def slowed(*a, **kw):
            _spin(_SLOW_US)
            return fn(*a, **kw)

        return self._inner(slowed, *args, **kwargs)


if _SLOW_US > 0:
    @pytest.fixture
    def benchmark(benchmark):  # noqa: F811 - wraps pytest-benchmark's fixture
        return _Slowed(benchmark)
