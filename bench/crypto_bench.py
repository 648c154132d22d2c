#!/usr/bin/env python
"""zmqx's crypto against libsodium (PyNaCl), side by side in one run.

    python bench/crypto_bench.py [--repeat N] [--time SECONDS] [--simd LEVEL]
                                 [--primitives]

Measures what a CURVE connection does per message: crypto_box_afternm (seal) and
crypto_box_open_afternm (open) with a precomputed key, at 64 B, 1 KiB, 64 KiB and 1 MiB,
plus X25519 (once per handshake). Both sides are called the same way (one Python call
per message, bytes in, bytes out), alternating zmqx and libsodium within each
repetition; the table shows the median MB/s (or µs per call) and zmqx/libsodium as a
ratio of throughputs (>1: zmqx faster). libsodium as PyNaCl ships it picks SIMD code at
run time (SSE2/AVX2 Salsa20, SSE2 Poly1305); so does zmqx (AVX2 and AVX-512 Salsa20 and
Poly1305 on x86, portable C elsewhere). --simd caps zmqx's level (portable, vec128, avx2,
avx512: see curve.set_simd) to time each path; --primitives adds Poly1305 and XSalsa20
on their own, where the time of a large box goes.
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
LEVELS = {"portable": curve.SIMD_NONE, "vec128": curve.SIMD_VEC128, "avx2": curve.SIMD_AVX2,
          "avx512": curve.SIMD_AVX512}


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
    ap.add_argument("--simd", choices=sorted(LEVELS), default="avx512",
                    help="cap on zmqx's vector code (default: all the CPU has)")
    ap.add_argument("--primitives", action="store_true",
                    help="also time Poly1305 and XSalsa20 alone")
    args = ap.parse_args(argv)
    curve.set_simd(LEVELS[args.simd])

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

    if args.primitives:
        sys.path.insert(0, os.path.join(os.path.dirname(os.path.dirname(
            os.path.abspath(__file__))), "tests"))
        import crypto_cases  # libsodium's Poly1305 and stream symbols through ctypes

        for size in SIZES[2:]:
            msg = os.urandom(size)
            for op, ours, theirs, data in (
                ("poly1305", lambda m, n, k: curve.poly1305(m, k),
                 lambda m, n, k: crypto_cases.sodium_poly1305(m, k), msg),
                ("xsalsa20", lambda m, n, k: curve.xsalsa20_xor(m, n, k, 1),
                 lambda m, n, k: crypto_cases.sodium_stream_xor(True, m, n, 1, k), msg),
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

    print(f"zmqx vector code: {args.simd} (capped), libsodium: as built")
    print(f"{'case':<20} {'zmqx':>12} {'libsodium':>12}   zmqx/libsodium (>1: zmqx faster)")
    for name, ours, theirs, unit in rows:
        ratio = ours / theirs if unit == "MB/s" else theirs / ours
        print(f"{name:<20} {ours:>9.1f} {unit:<4} {theirs:>7.1f} {unit:<4} {ratio:6.2f}")


if __name__ == "__main__":
    main()
