"""zmqx's own crypto (zmqx/_core/crypto, through zmqx._core.curve) against published
answers: RFC 7748 (X25519), NaCl's box/secretbox/core/stream tests as libsodium ships them,
RFC 8439 (Poly1305), plus the API contract (lengths, types, forgeries, low-order keys) and
the portable (no __int128) build of the same C, compiled here and loaded with ctypes.

The random differential tests against libsodium live in test_crypto_diff.py."""

import ctypes
import hashlib
import os
import random
import shutil
import subprocess
import sysconfig

import pytest

from zmqx._core import curve
from zmqx._core.curve import CryptoError

h = bytes.fromhex

# ---------------------------------------------------------------- RFC 7748

RFC7748_VECTORS = [  # section 5.2: (scalar, u, output)
    ("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552"),
    ("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957"),
]


@pytest.mark.parametrize("scalar,u,out", RFC7748_VECTORS)
def test_x25519_rfc7748_vectors(scalar, u, out):
    assert curve.scalarmult(h(scalar), h(u)) == h(out)


def _iterate(count):
    k = u = h("09" + "00" * 31)
    for _ in range(count):
        k, u = curve.scalarmult(k, u), k
    return k


def test_x25519_rfc7748_iterated_1_and_1000():
    assert _iterate(1) == h("422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079")
    assert _iterate(1000) == h("684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51")


@pytest.mark.skipif(not os.environ.get("ZMQX_CRYPTO_SLOW"),
                    reason="1,000,000 ladder iterations (about a minute): set ZMQX_CRYPTO_SLOW=1")
@pytest.mark.timeout(1800)
def test_x25519_rfc7748_iterated_million():
    assert _iterate(1_000_000) == h(
        "7c3911e0ab2586fd864497297e575e6f3bc601c0883c30df5f4dd2d24f665424")


ALICE_SK = h("77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a")
ALICE_PK = h("8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a")
BOB_SK = h("5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb")
BOB_PK = h("de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f")
SHARED = h("4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742")


def test_x25519_rfc7748_diffie_hellman():
    # section 6.1
    assert curve.public_key(ALICE_SK) == ALICE_PK
    assert curve.public_key(BOB_SK) == BOB_PK
    assert curve.scalarmult(ALICE_SK, BOB_PK) == SHARED
    assert curve.scalarmult(BOB_SK, ALICE_PK) == SHARED


def test_x25519_input_rules():
    k = h(RFC7748_VECTORS[0][0])
    u = bytearray(h(RFC7748_VECTORS[0][1]))
    out = curve.scalarmult(k, bytes(u))
    u[31] ^= 0x80  # the top bit of u is ignored
    assert curve.scalarmult(k, bytes(u)) == out
    # a non-canonical u (p + 9) acts as its value mod p (9)
    p_plus_9 = ((1 << 255) - 19 + 9).to_bytes(32, "little")
    assert curve.scalarmult(k, p_plus_9) == curve.public_key(k)
    # the scalar is clamped: its three low bits and bit 255 do not matter, bit 254 is set
    k2 = bytearray(k)
    k2[0] ^= 0x07
    k2[31] ^= 0x80
    assert curve.scalarmult(bytes(k2), bytes(u)) == out


LOW_ORDER = [
    bytes(32),                                   # 0
    b"\x01" + bytes(31),                         # 1
    h("e0eb7a7c3b41b8ae1656e3faf19fc46ada098deb9c32b1fd866205165f49b800"),  # order 8
    ((1 << 255) - 19).to_bytes(32, "little"),    # p itself (= 0)
    ((1 << 255) - 20).to_bytes(32, "little"),    # p - 1 (order 2)
    ((1 << 255) - 18).to_bytes(32, "little"),    # p + 1 (= 1)
]


@pytest.mark.parametrize("point", LOW_ORDER)
def test_low_order_points_are_refused(point):
    with pytest.raises(CryptoError):
        curve.scalarmult(ALICE_SK, point)
    with pytest.raises(CryptoError):
        curve.beforenm(point, ALICE_SK)
    with pytest.raises(CryptoError):
        curve.box(b"x", bytes(24), point, ALICE_SK)


# ---------------------------------------------------------------- NaCl (libsodium's tests)

NONCE = h("69696ee955b62b73cd62bda875fc73d68219e0036b7a0b37")
MESSAGE = h(
    "be075fc53c81f2d5cf141316ebeb0c7b5228c52a4c62cbd44b66849b64244ffce5ecbaaf33bd751a1ac728d45e"
    "6c61296cdc3c01233561f41db66cce314adb310e3be8250c46f06dceea3a7fa1348057e2f6556ad6b1318a024a"
    "838f21af1fde048977eb48f59ffd4924ca1c60902e52f0a089bc76897040e082f937763848645e0705")
# crypto_box(m, nonce, bobpk, alicesk) from bytes 16 on: tag || ciphertext (box.exp)
BOX = h(
    "f3ffc7703f9400e52a7dfb4b3d3305d98e993b9f48681273c29650ba32fc76ce48332ea7164d96a4476fb8c531"
    "a1186ac0dfc17c98dce87b4da7f011ec48c97271d2c20f9b928fe2270d6fb863d51738b48eeee314a7cc8ab932"
    "164548e526ae90224368517acfeabd6bb3732bc0e9da99832b61ca01b6de56244a9e88d5f9b37973f622a43d14"
    "a6599b1f654cb45a74e355a5")
# HSalsa20(shared secret, 0): the box key of Alice and Bob (core1)
FIRSTKEY = h("1b27556473e985d462cd51197a9a46c76009549eac6474f206c4ee0844f68389")


def test_nacl_hsalsa20_core1():
    sigma = b"expand 32-byte k"
    assert curve.hsalsa20(bytes(16), SHARED) == FIRSTKEY
    assert curve.hsalsa20(bytes(16), SHARED, sigma) == FIRSTKEY
    assert curve.beforenm(BOB_PK, ALICE_SK) == FIRSTKEY
    assert curve.beforenm(ALICE_PK, BOB_SK) == FIRSTKEY


def test_nacl_box_known_answer():
    assert len(MESSAGE) == 131
    assert curve.box(MESSAGE, NONCE, BOB_PK, ALICE_SK) == BOX
    assert curve.afternm(MESSAGE, NONCE, FIRSTKEY) == BOX
    assert curve.secretbox(MESSAGE, NONCE, FIRSTKEY) == BOX
    assert curve.box_open(BOX, NONCE, ALICE_PK, BOB_SK) == MESSAGE
    assert curve.open_afternm(BOX, NONCE, FIRSTKEY) == MESSAGE
    assert curve.secretbox_open(BOX, NONCE, FIRSTKEY) == MESSAGE


def test_nacl_padded_forms():
    # NaCl's crypto_box: 32 zero bytes before the plaintext, 16 before the box
    padded_m = bytes(32) + MESSAGE
    padded_c = bytes(16) + BOX
    assert curve.nacl_box(padded_m, NONCE, BOB_PK, ALICE_SK) == padded_c
    assert curve.nacl_box(padded_m, NONCE, key=FIRSTKEY) == padded_c
    assert curve.nacl_box_open(padded_c, NONCE, ALICE_PK, BOB_SK) == padded_m
    assert curve.nacl_box_open(padded_c, NONCE, key=FIRSTKEY) == padded_m
    for short in (b"", bytes(31)):
        with pytest.raises(CryptoError):
            curve.nacl_box(short, NONCE, key=FIRSTKEY)
        with pytest.raises(CryptoError):
            curve.nacl_box_open(short, NONCE, key=FIRSTKEY)
    # an empty message is 32 zero bytes in, 32 bytes out (16 zeros and the tag)
    assert len(curve.nacl_box(bytes(32), NONCE, key=FIRSTKEY)) == 32


def test_nacl_stream_known_answers():
    # stream.c / stream3.c: XSalsa20 keystream under FIRSTKEY and NONCE
    stream = curve.xsalsa20_xor(bytes(4194304), NONCE, FIRSTKEY)
    assert stream[:32] == h("eea6a7251c1e72916d11c2cb214d3c252539121d8e234e652d651fa4c8cff880")
    assert hashlib.sha256(stream).hexdigest() == (
        "662b9d0e3463029156069b12f918691a98f7dfb2ca0393c96bbfc6b1fbd630a2")
    # stream2.c: the same keystream as Salsa20 under the HSalsa20 subkey
    subkey = curve.hsalsa20(NONCE[:16], FIRSTKEY)
    assert curve.salsa20_xor(bytes(4194304), NONCE[16:], subkey) == stream
    # starting at block ic is the same stream, skipped
    assert curve.xsalsa20_xor(bytes(640), NONCE, FIRSTKEY, 3) == stream[192:832]
    # XOR is its own inverse
    assert curve.xsalsa20_xor(curve.xsalsa20_xor(MESSAGE, NONCE, FIRSTKEY), NONCE,
                              FIRSTKEY) == MESSAGE


# ---------------------------------------------------------------- RFC 8439 Poly1305

def _poly_key(r, s="00" * 16):
    return h(r) + h(s)


POLY1305_VECTORS = [
    # section 2.5.2
    (h("85d6be7857556d337f4452fe42d506a80103808afb0db2fd4abff6af4149f51b"),
     b"Cryptographic Forum Research Group", "a8061dc1305136c6c22b8baf0c0127a9"),
    # appendix A.3 #1 (all zero) and #5..#11 (the reduction edge cases)
    (bytes(32), bytes(64), "00" * 16),
    (_poly_key("02" + "00" * 15), h("ff" * 16), "03" + "00" * 15),
    (_poly_key("02" + "00" * 15, "ff" * 16), h("02" + "00" * 15), "03" + "00" * 15),
    (_poly_key("01" + "00" * 15), h("ff" * 16 + "f0" + "ff" * 15 + "11" + "00" * 15),
     "05" + "00" * 15),
    (_poly_key("01" + "00" * 15), h("ff" * 16 + "fb" + "fe" * 15 + "01" * 16), "00" * 16),
    (_poly_key("02" + "00" * 15), h("fd" + "ff" * 15), "fa" + "ff" * 15),
    (_poly_key("01000000000000000400000000000000"),
     h("e33594d7505e43b900000000000000003394d7505e4379cd0100000000000000"
       "0000000000000000000000000000000001000000000000000000000000000000"),
     "14000000000000005500000000000000"),
    (_poly_key("01000000000000000400000000000000"),
     h("e33594d7505e43b900000000000000003394d7505e4379cd01000000000000000000000000000000"
       "0000000000000000"),
     "13000000000000000000000000000000"),
]


@pytest.mark.parametrize("key,msg,tag", POLY1305_VECTORS)
def test_poly1305_rfc8439_vectors(key, msg, tag):
    assert curve.poly1305(msg, key) == h(tag)
    assert curve.poly1305_verify(h(tag), msg, key)
    for i in range(16):  # any changed tag byte fails
        bad = bytearray(h(tag))
        bad[i] ^= 0x40
        assert not curve.poly1305_verify(bytes(bad), msg, key)


def _poly1305_reference(msg, key):
    """RFC 8439 section 2.5.1 with Python integers: the definition, not an algorithm."""
    r = int.from_bytes(key[:16], "little") & 0x0FFFFFFC0FFFFFFC0FFFFFFC0FFFFFFF
    s = int.from_bytes(key[16:], "little")
    p = (1 << 130) - 5
    acc = 0
    for i in range(0, len(msg), 16):
        block = msg[i:i + 16] + b"\x01"
        acc = (acc + int.from_bytes(block, "little")) * r % p
    return ((acc + s) & ((1 << 128) - 1)).to_bytes(16, "little")


def test_poly1305_against_the_definition():
    rng = random.Random(7)
    for n in range(400):
        length = rng.randrange(300)
        # bias towards all-ones keys and messages, where the reductions carry furthest
        key = rng.randbytes(32) if n % 3 else b"\xff" * 32
        msg = rng.randbytes(length) if n % 2 else b"\xff" * length
        assert curve.poly1305(msg, key) == _poly1305_reference(msg, key), (n, length)


# ---------------------------------------------------------------- API contract

def test_keypair_and_random_bytes():
    pk, sk = curve.keypair()
    assert len(pk) == len(sk) == 32
    assert curve.public_key(sk) == pk
    pk2, sk2 = curve.keypair()
    assert sk2 != sk and pk2 != pk
    assert curve.random_bytes(0) == b""
    a, b = curve.random_bytes(64), curve.random_bytes(64)
    assert len(a) == 64 and a != b
    big = curve.random_bytes(3 << 20)  # several getrandom() calls' worth
    assert len(big) == 3 << 20
    # every byte value shows up in 3 MiB of uniform bytes
    assert len(set(big)) == 256
    with pytest.raises(ValueError):
        curve.random_bytes(-1)


def test_wrong_lengths_and_types_raise():
    k, n = bytes(32), bytes(24)
    with pytest.raises(ValueError, match="nonce must be 24 bytes"):
        curve.secretbox(b"m", bytes(23), k)
    with pytest.raises(ValueError, match="key must be 32 bytes"):
        curve.secretbox(b"m", n, bytes(31))
    with pytest.raises(ValueError, match="public key must be 32 bytes"):
        curve.beforenm(bytes(33), k)
    with pytest.raises(TypeError):
        curve.secretbox("text", n, k)
    with pytest.raises(TypeError):
        curve.public_key(None)
    for short in (b"", bytes(15)):
        with pytest.raises(CryptoError):
            curve.secretbox_open(short, n, k)
        with pytest.raises(CryptoError):
            curve.box_open(short, n, BOB_PK, ALICE_SK)
    # any bytes-like object is accepted
    assert curve.secretbox(bytearray(b"m"), memoryview(n), k) == curve.secretbox(b"m", n, k)
    assert issubclass(CryptoError, ValueError)


def test_forgeries_rejected_and_nothing_returned():
    box = curve.afternm(MESSAGE, NONCE, FIRSTKEY)
    bad = bytearray(box)
    bad[0] ^= 1
    with pytest.raises(CryptoError):
        curve.open_afternm(bytes(bad), NONCE, FIRSTKEY)
    with pytest.raises(CryptoError):  # right box, wrong key
        curve.open_afternm(box, NONCE, bytes(32))
    with pytest.raises(CryptoError):  # truncated
        curve.open_afternm(box[:-1], NONCE, FIRSTKEY)
    with pytest.raises(CryptoError):  # extended
        curve.open_afternm(box + b"\x00", NONCE, FIRSTKEY)


# ---------------------------------------------------------------- the C, built both ways

# the C sources: beside the module in a checkout; an installed wheel has none, so read them
# from the source tree that .ci/test-installed names
CRYPTO_DIR = os.path.join(os.environ["ZMQX_SOURCE_ROOT"], "zmqx", "_core", "crypto") \
    if os.environ.get("ZMQX_SOURCE_ROOT") else os.path.join(os.path.dirname(curve.__file__), "crypto")
C_FILES = ["x25519.c", "salsa20.c", "poly1305.c", "box.c", "randombytes.c"]


def _compiler():
    cc = (sysconfig.get_config_var("CC") or "cc").split()[0]
    return shutil.which(cc) or shutil.which("cc")


@pytest.fixture(scope="module", params=["default", "portable"])
def clib(request, tmp_path_factory):
    """The crypto C compiled into a small shared library: as shipped, and with
    ZX_CRYPTO_PORTABLE (the 26-bit Poly1305 and 16-bit X25519 limbs that compilers
    without unsigned __int128, such as MSVC, get) plus ZX_CRYPTO_NO_GETRANDOM (the
    /dev/urandom path of kernels without getrandom)."""
    cc = _compiler()
    if cc is None or not os.path.isdir(CRYPTO_DIR):
        pytest.skip("no C compiler, or the C sources are not installed")
    out = tmp_path_factory.mktemp("zxcrypto") / f"libzxcrypto_{request.param}.so"
    flags = ["-O2", "-shared", "-fPIC", "-std=c99", "-Wall", "-Wextra", "-Werror"]
    if request.param == "portable":
        flags += ["-DZX_CRYPTO_PORTABLE", "-DZX_CRYPTO_NO_GETRANDOM"]
    cmd = [cc, *flags, "-o", str(out), *(os.path.join(CRYPTO_DIR, f) for f in C_FILES)]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)
    return ctypes.CDLL(str(out))


def _buf(data):
    return ctypes.create_string_buffer(bytes(data), max(len(data), 1))


def test_c_build_known_answers(clib):
    q = ctypes.create_string_buffer(32)
    for scalar, u, out in RFC7748_VECTORS:
        assert clib.zx_x25519(q, h(scalar), h(u)) == 0
        assert q.raw == h(out)
    assert clib.zx_x25519_base(q, ALICE_SK) == 0 and q.raw == ALICE_PK
    assert clib.zx_x25519(q, ALICE_SK, LOW_ORDER[2]) == -1
    k = ctypes.create_string_buffer(32)
    assert clib.zx_box_beforenm(k, BOB_PK, ALICE_SK) == 0 and k.raw == FIRSTKEY
    for key, msg, tag in POLY1305_VECTORS:
        mac = ctypes.create_string_buffer(16)
        clib.zx_poly1305(mac, msg, ctypes.c_size_t(len(msg)), key)
        assert mac.raw == h(tag)


def test_c_build_matches_the_extension(clib):
    rng = random.Random(11)
    q = ctypes.create_string_buffer(32)
    for _ in range(50):
        sk, pk = rng.randbytes(32), rng.randbytes(32)
        rc = clib.zx_x25519(q, sk, pk)
        assert rc == 0 and q.raw == curve.scalarmult(sk, pk)
    for length in list(range(0, 200)) + [1000, 4096, 65536 + 5]:
        m, n, key = rng.randbytes(length), rng.randbytes(24), rng.randbytes(32)
        c = ctypes.create_string_buffer(length + 16)
        clib.zx_secretbox_easy(c, m, ctypes.c_size_t(length), n, key)
        assert c.raw == curve.secretbox(m, n, key)
        mac = ctypes.create_string_buffer(16)
        clib.zx_poly1305(mac, m, ctypes.c_size_t(length), key)
        assert mac.raw == curve.poly1305(m, key)
    # all-ones keys and messages: where the limb carries and the final reduction bite
    for length in range(0, 100, 7):
        for key in (b"\xff" * 32, b"\xff" * 16 + bytes(16)):
            m = b"\xff" * length
            mac = ctypes.create_string_buffer(16)
            clib.zx_poly1305(mac, m, ctypes.c_size_t(length), key)
            assert mac.raw == _poly1305_reference(m, key)
    for u in (b"\xff" * 32, ((1 << 255) - 19 + 5).to_bytes(32, "little"), b"\x09" + bytes(31)):
        assert clib.zx_x25519(q, b"\xff" * 32, u) == 0
        assert q.raw == curve.scalarmult(b"\xff" * 32, u)


def test_c_in_place_and_detached(clib):
    """The engine seals and opens frames in their own buffers: m == c + 16 for the easy
    form, c == m for the detached one; and a failed open writes nothing."""
    rng = random.Random(5)
    for length in (0, 1, 31, 32, 33, 64, 1000):
        m, n, key = rng.randbytes(length), rng.randbytes(24), rng.randbytes(32)
        want = curve.secretbox(m, n, key)
        buf = _buf(bytes(16) + m)
        base = ctypes.addressof(buf)
        assert clib.zx_secretbox_easy(buf, ctypes.c_void_p(base + 16), ctypes.c_size_t(length),
                                      n, key) == 0
        assert buf.raw[:16 + length] == want
        assert clib.zx_secretbox_open_easy(ctypes.c_void_p(base + 16), buf,
                                           ctypes.c_size_t(16 + length), n, key) == 0
        assert buf.raw[16:16 + length] == m
        # detached, in place
        data = _buf(m)
        mac = ctypes.create_string_buffer(16)
        clib.zx_secretbox_detached(data, mac, data, ctypes.c_size_t(length), n, key)
        assert mac.raw + data.raw[:length] == want
        bad = bytearray(mac.raw)
        bad[3] ^= 0x10
        before = data.raw
        assert clib.zx_secretbox_open_detached(data, data, bytes(bad), ctypes.c_size_t(length),
                                               n, key) == -1
        assert data.raw == before  # nothing decrypted on failure
        assert clib.zx_secretbox_open_detached(data, data, mac, ctypes.c_size_t(length),
                                               n, key) == 0
        assert data.raw[:length] == m


def test_c_verify16_and_memzero(clib):
    a = bytes(range(16))
    assert clib.zx_verify16(a, a) == 0
    for i in range(16):
        for bit in range(8):
            b = bytearray(a)
            b[i] ^= 1 << bit
            assert clib.zx_verify16(a, bytes(b)) == -1
    buf = ctypes.create_string_buffer(b"\xaa" * 40)
    clib.zx_memzero(buf, ctypes.c_size_t(40))
    assert buf.raw == bytes(41)


def test_c_randombytes(clib):
    size = (1 << 20) + 3
    a = ctypes.create_string_buffer(size)
    b = ctypes.create_string_buffer(size)
    assert clib.zx_randombytes(a, ctypes.c_size_t(size)) == 0
    assert clib.zx_randombytes(b, ctypes.c_size_t(size)) == 0
    assert a.raw != b.raw
    assert len(set(a.raw[:size])) == 256  # uniform bytes: every value appears
    assert a.raw[size - 64:size] != bytes(64)  # filled to the last byte
    assert clib.zx_randombytes(a, ctypes.c_size_t(0)) == 0
    pk = ctypes.create_string_buffer(32)
    sk = ctypes.create_string_buffer(32)
    assert clib.zx_box_keypair(pk, sk) == 0
    assert curve.public_key(sk.raw) == pk.raw
