#!/usr/bin/env python
"""zmqx's crypto against libsodium (PyNaCl), side by side in one run.

    python bench/crypto_bench.py [--repeat N] [--time SECONDS]

Measures what a CURVE connection does per message: crypto_box_afternm (seal) and
crypto_box_open_afternm (open) with a precomputed key, at 64 B, 1 KiB, 64 KiB and 1 MiB,
plus X25519 (once per handshake). Both sides are called the same way (one Python call
per message, bytes in, bytes out), alternating zmqx and libsodium within each
repetition; the table shows the median MB/s (or µs per call) and zmqx/libsodium as a
ratio of throughputs (>1: zmqx faster). libsodium as PyNaCl ships it picks SIMD code at
run time (SSE2/AVX2 Salsa20, SSE2 Poly1305); zmqx is portable C.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

import nacl.bindings as nb  # noqa: E402

from zmqx._core import curve  # noqa: E402

SIZES = [64, 1024, 64 * 1024, 1024 * 1024]


def _rate(fn, args, budget):
    """Calls per second of fn(*args), run for about `budget` seconds."""
    n = 1
    while True:  # calibrate: grow the batch until it takes a measurable time
        t0 = time.perf_counter()
        for _ in range(n):
            fn(*args)
        dt = time.perf_counter() - t0
        if dt > budget / 10:
            break
        n *= 4
    count = max(1, int(n * budget / dt))
    t0 = time.perf_counter()
    for _ in range(count):
        fn(*args)
    return count / (time.perf_counter() - t0)


def main(argv=None):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--repeat", type=int, default=5)
    ap.add_argument("--time", type=float, default=0.2, help="seconds per cell")
    args = ap.parse_args(argv)

    key, nonce = os.urandom(32), os.urandom(24)
    rows = []
    for size in SIZES:
        msg = os.urandom(size)
        box = curve.afternm(msg, nonce, key)
        assert box == nb.crypto_box_easy_afternm(msg, nonce, key)
        for op, ours, theirs, data in (
            ("seal", curve.afternm, nb.crypto_box_easy_afternm, msg),
            ("open", curve.open_afternm, nb.crypto_box_open_easy_afternm, box),
        ):
            a, b = [], []
            for _ in range(args.repeat):
                a.append(_rate(ours, (data, nonce, key), args.time))
                b.append(_rate(theirs, (data, nonce, key), args.time))
            rows.append((f"{op} {size} B", statistics.median(a) * size / 1e6,
                         statistics.median(b) * size / 1e6, "MB/s"))

    sk, pk = os.urandom(32), nb.crypto_scalarmult_base(os.urandom(32))
    a, b = [], []
    for _ in range(args.repeat):
        a.append(_rate(curve.scalarmult, (sk, pk), args.time))
        b.append(_rate(nb.crypto_scalarmult, (sk, pk), args.time))
    rows.append(("X25519", 1e6 / statistics.median(a), 1e6 / statistics.median(b), "µs"))

    print(f"{'case':<16} {'zmqx':>12} {'libsodium':>12}   zmqx/libsodium (>1: zmqx faster)")
    for name, ours, theirs, unit in rows:
        ratio = ours / theirs if unit == "MB/s" else theirs / ours
        print(f"{name:<16} {ours:>9.1f} {unit:<4} {theirs:>7.1f} {unit:<4} {ratio:6.2f}")


if __name__ == "__main__":
    main()
