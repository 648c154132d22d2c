"""Differential cases: zmqx's own crypto (zmqx._core.curve) against libsodium (PyNaCl).

One case draws fresh random keys, a nonce and a message, runs one of the four shapes of
the NaCl composition through both implementations and requires byte-identical output,
a round trip, and the rejection of a box with one random bit flipped (tag, ciphertext or
nonce). The low-level primitives (Poly1305, HSalsa20, Salsa20/XSalsa20 with arbitrary
block counters) are compared through libsodium's exported symbols in PyNaCl's module.

Used by tests/test_crypto_diff.py (a CI-sized budget) and, as a script, for the
million-case campaign:

    python tests/crypto_cases.py --cases 1000000 [--seed N]
"""

from __future__ import annotations

import ctypes
import random
import sys
import time

import nacl._sodium
import nacl.bindings as nb

if __name__ == "__main__":  # run as a script: test the checkout this file belongs to
    import os

    sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from zmqx._core import curve

U64 = ctypes.c_ulonglong


def _libsodium():
    nb.sodium_init()
    lib = ctypes.CDLL(nacl._sodium.__file__)
    for name, args in (
        ("crypto_onetimeauth_poly1305", [ctypes.c_char_p, ctypes.c_char_p, U64, ctypes.c_char_p]),
        ("crypto_core_hsalsa20", [ctypes.c_char_p] * 4),
        ("crypto_stream_xsalsa20_xor_ic",
         [ctypes.c_char_p, ctypes.c_char_p, U64, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_char_p]),
        ("crypto_stream_salsa20_xor_ic",
         [ctypes.c_char_p, ctypes.c_char_p, U64, ctypes.c_char_p, ctypes.c_uint64, ctypes.c_char_p]),
    ):
        fn = getattr(lib, name)
        fn.argtypes = args
        fn.restype = ctypes.c_int
    return lib


_LIB = _libsodium()


def sodium_poly1305(m: bytes, key: bytes) -> bytes:
    out = ctypes.create_string_buffer(16)
    _LIB.crypto_onetimeauth_poly1305(out, m, len(m), key)
    return out.raw


def sodium_hsalsa20(inp: bytes, key: bytes, const: bytes | None = None) -> bytes:
    out = ctypes.create_string_buffer(32)
    _LIB.crypto_core_hsalsa20(out, inp, key, const)
    return out.raw


def sodium_stream_xor(extended: bool, m: bytes, n: bytes, ic: int, key: bytes) -> bytes:
    out = ctypes.create_string_buffer(max(len(m), 1))
    fn = _LIB.crypto_stream_xsalsa20_xor_ic if extended else _LIB.crypto_stream_salsa20_xor_ic
    fn(out, m, len(m), n, ic, key)
    return out.raw[: len(m)]


def _flip(rng: random.Random, box: bytes, nonce: bytes) -> tuple[bytes, bytes]:
    """One random bit flipped somewhere in box || nonce."""
    bit = rng.randrange((len(box) + len(nonce)) * 8)
    byte, shift = divmod(bit, 8)
    if byte < len(box):
        b = bytearray(box)
        b[byte] ^= 1 << shift
        return bytes(b), nonce
    n = bytearray(nonce)
    n[byte - len(box)] ^= 1 << shift
    return box, bytes(n)


def _rejects(fn, *args) -> bool:
    try:
        fn(*args)
    except curve.CryptoError:
        return True
    return False


def _counter(rng: random.Random) -> int:
    """Block counters, biased to where the 32-bit halves carry."""
    pick = rng.randrange(4)
    if pick == 0:
        return 0
    if pick == 1:
        return (1 << 32) - rng.randrange(1, 4)
    if pick == 2:
        return rng.getrandbits(64)
    return rng.randrange(1 << 16)


def run_case(rng: random.Random, length: int, variant: int) -> None:
    """One differential case; raises AssertionError on any disagreement."""
    rb = rng.randbytes
    m = rb(length)
    n = rb(24)
    if variant == 0:  # beforenm + afternm, as a CURVE connection uses them
        sk_a, sk_b = rb(32), rb(32)
        pk_b = curve.public_key(sk_b)
        assert pk_b == nb.crypto_scalarmult_base(sk_b), "public key"
        k = curve.beforenm(pk_b, sk_a)
        assert k == nb.crypto_box_beforenm(pk_b, sk_a), "beforenm"
        c = curve.afternm(m, n, k)
        assert c == nb.crypto_box_easy_afternm(m, n, k), "afternm"
        assert curve.open_afternm(c, n, k) == m, "open_afternm"
        assert _rejects(curve.open_afternm, *_flip(rng, c, n), k), "afternm forgery accepted"
    elif variant == 1:  # one-shot box with the long-term keys
        sk_a, sk_b = rb(32), rb(32)
        pk_b = nb.crypto_scalarmult_base(sk_b)
        c = curve.box(m, n, pk_b, sk_a)
        assert c == nb.crypto_box(m, n, pk_b, sk_a), "box"
        # X25519 is symmetric: (pk_b, sk_a) and (pk_a, sk_b) derive the same key
        pk_a = curve.public_key(sk_a)
        assert curve.box_open(c, n, pk_a, sk_b) == m, "box_open"
        assert nb.crypto_box_open(c, n, pk_a, sk_b) == m, "libsodium opens ours"
        assert _rejects(curve.box_open, *_flip(rng, c, n), pk_a, sk_b), "box forgery accepted"
    elif variant == 2:  # secretbox, Poly1305 and XSalsa20 on their own
        k = rb(32)
        c = curve.secretbox(m, n, k)
        assert c == nb.crypto_secretbox(m, n, k), "secretbox"
        assert curve.secretbox_open(c, n, k) == m, "secretbox_open"
        assert _rejects(curve.secretbox_open, *_flip(rng, c, n), k), "secretbox forgery accepted"
        assert curve.poly1305(m, k) == sodium_poly1305(m, k), "poly1305"
        ic = _counter(rng)
        assert curve.xsalsa20_xor(m, n, k, ic) == sodium_stream_xor(True, m, n, ic, k), "xsalsa20"
    else:  # NaCl's padded forms, HSalsa20, Salsa20
        k = rb(32)
        padded = curve.nacl_box(bytes(32) + m, n, key=k)
        assert padded == bytes(16) + nb.crypto_box_easy_afternm(m, n, k), "padded afternm"
        assert curve.nacl_box_open(padded, n, key=k) == bytes(32) + m, "padded open_afternm"
        forged, n2 = _flip(rng, padded[16:], n)
        assert _rejects(curve.nacl_box_open, bytes(16) + forged, n2, None, None, k), \
            "padded forgery accepted"
        inp = rb(16)
        assert curve.hsalsa20(inp, k) == sodium_hsalsa20(inp, k), "hsalsa20"
        ic = _counter(rng)
        assert curve.salsa20_xor(m, n[:8], k, ic) == sodium_stream_xor(False, m, n[:8], ic, k), \
            "salsa20"


def run(cases: int, seed: int, *, sweep: bool = False, large: int = 0,
        progress: float = 0.0) -> int:
    """Run `cases` random cases (lengths 0..4096), after every length 0..4096 once when
    sweep is set and before `large` messages of about 1 MiB. Returns the number run."""
    rng = random.Random(seed)
    done = 0
    started = last = time.monotonic()

    def one(length: int) -> None:
        nonlocal done, last
        try:
            run_case(rng, length, done % 4)
        except AssertionError as e:
            raise AssertionError(f"case {done} (seed {seed}, length {length}, "
                                 f"variant {done % 4}): {e}") from None
        done += 1
        if progress and time.monotonic() - last >= progress:
            last = time.monotonic()
            print(f"{done} cases, {last - started:.0f} s", file=sys.stderr, flush=True)

    if sweep:
        for length in range(4097):
            one(length)
    for _ in range(cases):
        one(rng.randrange(4097))
    for i in range(large):
        one((1 << 20) + rng.randrange(64) * (i > 0))
    return done


def main(argv=None) -> int:
    import argparse
    import os

    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--seed", type=int, default=None)
    ap.add_argument("--large", type=int, default=16, help="1 MiB cases at the end")
    args = ap.parse_args(argv)
    seed = args.seed if args.seed is not None else int.from_bytes(os.urandom(8), "little")
    t0 = time.monotonic()
    print(f"seed {seed}: {args.cases} random cases + lengths 0..4096 + {args.large} x 1 MiB",
          file=sys.stderr, flush=True)
    done = run(args.cases, seed, sweep=True, large=args.large, progress=60.0)
    print(f"OK: {done} cases identical to libsodium, every forgery rejected, "
          f"{time.monotonic() - t0:.0f} s (seed {seed})", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
