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


def _slowed(fixture):
    """The benchmark fixture, with the delay added to the measured call for zmqx (a subclass
    made on the fly: pytest-benchmark insists on an instance of its own fixture class)."""
    base = type(fixture)

    class Slowed(base):
        def __call__(self, fn, *args, **kwargs):
            if self.extra_info.get("impl") != "zmqx":
                return base.__call__(self, fn, *args, **kwargs)

            def slowed(*a, **kw):
                _spin(_SLOW_US)
                return fn(*a, **kw)

            return base.__call__(self, slowed, *args, **kwargs)

    fixture.__class__ = Slowed
    return fixture


if _SLOW_US > 0:
    @pytest.fixture
    def benchmark(benchmark):  # noqa: F811 - wraps pytest-benchmark's fixture
        return _slowed(benchmark)
