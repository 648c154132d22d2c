"""Differential tests: zmqx's crypto and libsodium (through PyNaCl) must agree byte for
byte on random keys, nonces and messages, and both must reject every forgery.

The default budget fits CI (a few seconds): every message length 0..4096 once, then
ZMQX_CRYPTO_CASES random cases (default 3000), then 1 MiB messages. The million-case
campaign is `ZMQX_CRYPTO_CASES=1000000 pytest tests/test_crypto_diff.py` or, with
progress output, `python tests/crypto_cases.py --cases 1000000`."""

import os
import random

import pytest

pytest.importorskip("nacl", reason="PyNaCl (libsodium) is the reference")

import nacl.bindings as nb  # noqa: E402
from nacl.exceptions import CryptoError as SodiumError  # noqa: E402

import crypto_cases  # noqa: E402
from zmqx._core import curve  # noqa: E402
from zmqx._core.curve import CryptoError  # noqa: E402

CASES = int(os.environ.get("ZMQX_CRYPTO_CASES", "3000"))


def _seed():
    # a fresh seed per run, reported on failure by crypto_cases.run's message
    return int.from_bytes(os.urandom(8), "little")


def test_every_length_0_to_4096_then_random_cases():
    done = crypto_cases.run(CASES, _seed(), sweep=True)
    assert done == 4097 + CASES


@pytest.mark.timeout(300)
def test_large_messages():
    assert crypto_cases.run(0, _seed(), large=4) == 4


def _every_flip(box, nonce):
    for i in range(len(box) * 8):
        b = bytearray(box)
        b[i // 8] ^= 1 << (i % 8)
        yield bytes(b), nonce
    for i in range(len(nonce) * 8):
        n = bytearray(nonce)
        n[i // 8] ^= 1 << (i % 8)
        yield box, bytes(n)


@pytest.mark.parametrize("length", [0, 1, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100])
def test_every_single_bit_flip_is_rejected(length):
    rng = random.Random(length)
    m, n = rng.randbytes(length), rng.randbytes(24)
    pk_a, sk_a = nb.crypto_box_keypair()
    pk_b, sk_b = curve.keypair()
    k = curve.beforenm(pk_a, sk_b)
    box = curve.afternm(m, n, k)
    assert nb.crypto_box_open(box, n, pk_b, sk_a) == m
    flips = 0
    for bad_box, bad_nonce in _every_flip(box, n):
        with pytest.raises(CryptoError):
            curve.open_afternm(bad_box, bad_nonce, k)
        with pytest.raises(CryptoError):
            curve.box_open(bad_box, bad_nonce, pk_a, sk_b)
        flips += 1
    assert flips == (len(box) + 24) * 8
    # and libsodium agrees they are forgeries (a sample, it is the slower loop here)
    for bad_box, bad_nonce in list(_every_flip(box, n))[::17]:
        with pytest.raises(SodiumError):
            nb.crypto_box_open_afternm(bad_box, bad_nonce, k)


def test_keys_interoperate_with_libsodium():
    for _ in range(200):
        pk, sk = curve.keypair()
        assert nb.crypto_scalarmult_base(sk) == pk
        pk2, sk2 = nb.crypto_box_keypair()
        assert curve.public_key(sk2) == pk2
        assert curve.beforenm(pk2, sk) == nb.crypto_box_beforenm(pk, sk2)
