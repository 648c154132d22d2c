"""Every code path of the bulk crypto against libsodium (PyNaCl), one machine at a time.

Salsa20 and Poly1305 have vector paths picked at run time (4-lane generic vectors, AVX2,
AVX-512; see zx_crypto.h) and a portable one. curve.set_simd caps the level, so each test
runs once per cap: SIMD_NONE is the portable C everywhere, the others use what the CPU has
up to that cap (on a CPU without AVX-512 the last two caps run the same code, which is
fine: the point is that every path this machine can take is compared). The lengths are
every one from 0 to 4096, then those on both sides of the vector batch sizes (64-byte
blocks, 4/8/16-block Salsa20 batches, 4/8-block Poly1305 steps, the thresholds that pick
them), up to 1 MiB."""

import os
import random

import pytest

pytest.importorskip("nacl", reason="PyNaCl (libsodium) is the reference")

import nacl.bindings as nb  # noqa: E402

import crypto_cases  # noqa: E402
from zmqx._core import curve  # noqa: E402

LEVELS = [curve.SIMD_NONE, curve.SIMD_VEC128, curve.SIMD_AVX2, curve.SIMD_AVX512]
LEVEL_IDS = ["portable", "vec128", "avx2", "avx512"]


def _around_batches():
    out = set()
    for base in (64, 128, 256, 512, 1024, 2048, 4096, 8192, 16384, 65536, 1 << 20):
        for mult in (1, 2, 3):
            for d in (-65, -64, -63, -33, -32, -31, -17, -16, -15, -1, 0, 1, 15, 16, 17, 31,
                      32, 33, 63, 64, 65):
                n = base * mult + d
                if n > 4096:
                    out.add(n)
    return sorted(out)


AROUND = _around_batches()


@pytest.fixture(params=LEVELS, ids=LEVEL_IDS)
def level(request):
    was = curve.set_simd(request.param)
    yield request.param
    assert curve.set_simd(was) == request.param


def test_set_simd_returns_the_previous_cap_and_clamps():
    was = curve.set_simd(curve.SIMD_NONE)
    try:
        assert curve.set_simd(99) == curve.SIMD_NONE
        assert curve.set_simd(-5) == curve.SIMD_AVX512      # 99 was clamped to the top
        assert curve.set_simd(curve.SIMD_AVX2) == curve.SIMD_NONE
    finally:
        curve.set_simd(was)


def _check_length(rng, n):
    k, nonce, m = rng.randbytes(32), rng.randbytes(24), rng.randbytes(n)
    assert curve.poly1305(m, k) == crypto_cases.sodium_poly1305(m, k), n
    c = curve.secretbox(m, nonce, k)
    assert c == nb.crypto_secretbox(m, nonce, k), n
    assert curve.secretbox_open(c, nonce, k) == m, n
    head = rng.randbytes(rng.choice((0, 1, 1, 5, 31, 32)))
    assert curve.secretbox_head(head, m, nonce, k) == nb.crypto_secretbox(head + m, nonce, k), n
    ic = crypto_cases._counter(rng)
    assert curve.xsalsa20_xor(m, nonce, k, ic) == \
        crypto_cases.sodium_stream_xor(True, m, nonce, ic, k), (n, ic)


def test_every_length_0_to_4096(level):
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    for n in range(4097):
        _check_length(rng, n)


def test_lengths_around_the_vector_batches(level):
    rng = random.Random(int.from_bytes(os.urandom(8), "little"))
    for n in AROUND:
        _check_length(rng, n)


@pytest.mark.parametrize("ic", [0, 1, (1 << 32) - 1, (1 << 32) - 5, (1 << 32) - 9,
                                (1 << 32) - 17, (1 << 64) - 3, (1 << 64) - 20])
def test_salsa20_block_counter_carries_inside_a_batch(level, ic):
    # the 32-bit halves of the counter carry (and the 64-bit counter wraps) in the middle
    # of a 4-, 8- and 16-block batch
    rng = random.Random(ic)
    for n in (256 * 3 + 5, 512 * 2 + 64, 1024 * 3 + 1):
        m, nonce, k = rng.randbytes(n), rng.randbytes(24), rng.randbytes(32)
        assert curve.salsa20_xor(m, nonce[:8], k, ic) == \
            crypto_cases.sodium_stream_xor(False, m, nonce[:8], ic, k), (n, ic)
        assert curve.xsalsa20_xor(m, nonce, k, ic) == \
            crypto_cases.sodium_stream_xor(True, m, nonce, ic, k), (n, ic)


@pytest.mark.parametrize("key", [b"\xff" * 32, b"\xff" * 16 + b"\x00" * 16,
                                 b"\x00" * 16 + b"\xff" * 16, bytes(range(32))],
                         ids=["all-ones", "r-max", "s-max", "ramp"])
@pytest.mark.parametrize("fill", [0x00, 0xFF], ids=["zeros", "ones"])
def test_poly1305_extreme_limbs(level, key, fill):
    # the largest clamped r and all-ones blocks keep every limb at its bound through the
    # lane sums and carries; the tag must still match libsodium's
    for n in (255, 256, 1023, 1024, 1040, 4096 + 48, 65536, 65536 + 15):
        m = bytes([fill]) * n
        assert curve.poly1305(m, key) == crypto_cases.sodium_poly1305(m, key), n


def test_every_path_gives_the_same_bytes():
    # the paths agree with each other too, on one large message and nonce
    rng = random.Random(7)
    m, nonce, k = rng.randbytes((1 << 20) + 77), rng.randbytes(24), rng.randbytes(32)
    was = curve.set_simd(curve.SIMD_NONE)
    try:
        want = curve.secretbox(m, nonce, k)
        for lv in LEVELS[1:]:
            curve.set_simd(lv)
            assert curve.secretbox(m, nonce, k) == want, lv
            assert curve.secretbox_head(m[:1], m[1:], nonce, k) == want, lv
    finally:
        curve.set_simd(was)
    assert want == nb.crypto_secretbox(m, nonce, k)


def test_secretbox_head_refuses_a_head_over_32_bytes():
    with pytest.raises(ValueError):
        curve.secretbox_head(bytes(33), b"x", bytes(24), bytes(32))
