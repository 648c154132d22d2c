"""zmqx.utils.z85 and the Z85 key tools (curve_keypair, curve_public) against RFC 32 and
pyzmq: same outputs, same exception types for the same bad inputs."""

import os
import random
import struct

import pytest

import zmqx
from zmqx.utils import z85

zmq = pytest.importorskip("zmq")
import zmq.utils.z85 as pyz85  # noqa: E402

# RFC 32's test data
RFC32_RAW = bytes([0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B])
RFC32_TEXT = b"HelloWorld"


RFC32_KEY_RAW = bytes.fromhex(
    "8e0bdd697628b91d8f245587ee95c5b04d48963f79259877b49cd9063aead3b7")
RFC32_KEY_TEXT = b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"


def test_rfc32_vectors():
    assert z85.encode(RFC32_KEY_RAW) == RFC32_KEY_TEXT
    assert z85.decode(RFC32_KEY_TEXT) == RFC32_KEY_RAW
    assert z85.encode(RFC32_RAW) == RFC32_TEXT
    assert z85.decode(RFC32_TEXT) == RFC32_RAW
    assert z85.decode(RFC32_TEXT.decode()) == RFC32_RAW


def test_alphabet_and_extremes():
    assert len(z85.Z85CHARS) == 85 and len(set(z85.Z85CHARS)) == 85
    assert z85.encode(b"\x00" * 4) == b"00000"
    assert z85.encode(b"\xff" * 4) == b"%nSc0"
    assert z85.decode(b"%nSc0") == b"\xff" * 4
    assert z85.encode(b"") == b"" and z85.decode(b"") == b""


def test_matches_pyzmq_on_random_data():
    rng = random.Random(32)
    for n in range(0, 400, 4):
        raw = rng.randbytes(n)
        text = z85.encode(raw)
        assert text == pyz85.encode(raw)
        assert len(text) == n // 4 * 5
        assert z85.decode(text) == raw
        assert z85.decode(text.decode("ascii")) == raw
    # every character of the alphabet decodes the way pyzmq decodes it
    for i in range(0, 85, 5):
        group = z85.Z85CHARS[i:i + 5].ljust(5, b"0")
        try:
            want = pyz85.decode(group)
        except struct.error:
            with pytest.raises(struct.error):
                z85.decode(group)
        else:
            assert z85.decode(group) == want


def test_bytes_like_inputs():
    assert z85.encode(bytearray(RFC32_RAW)) == RFC32_TEXT
    assert z85.encode(memoryview(RFC32_RAW)) == RFC32_TEXT
    assert z85.decode(bytearray(RFC32_TEXT)) == RFC32_RAW
    assert z85.decode(memoryview(RFC32_TEXT)) == RFC32_RAW


BAD = [
    ("encode", b"abc"),          # length not a multiple of 4
    ("encode", "abcd"),          # text, not bytes
    ("encode", 1234),            # no length at all
    ("decode", b"Hell"),         # length not a multiple of 5
    ("decode", "Hellö"),         # non-ASCII text
    ("decode", b"Hello~orld"),   # character outside the alphabet
    ("decode", b"Hello orld"),
    ("decode", b"#####"),        # group above 2**32 - 1
    ("decode", 12345),
]


@pytest.mark.parametrize("fn,arg", BAD)
def test_errors_are_pyzmqs(fn, arg):
    with pytest.raises(Exception) as theirs:
        getattr(pyz85, fn)(arg)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(z85, fn)(arg)
    if isinstance(theirs.value, ValueError):
        assert str(ours.value) == str(theirs.value)
    if isinstance(theirs.value, KeyError):
        assert ours.value.args == theirs.value.args
        assert isinstance(ours.value, ValueError)  # and catchable as a ValueError


# ---------------------------------------------------------------- key tools

# the key pairs of libzmq's CURVE tests
KNOWN_PAIRS = [
    (b"rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7", b"JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"),
    (b"Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID", b"D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs"),
]


@pytest.mark.parametrize("public,secret", KNOWN_PAIRS)
def test_curve_public_known_pairs(public, secret):
    assert zmq.curve_public(secret) == public  # the reference agrees
    assert zmqx.curve_public(secret) == public
    assert zmqx.curve_public(secret.decode()) == public


def test_curve_keypair_shape_and_interop():
    for _ in range(20):
        public, secret = zmqx.curve_keypair()
        assert isinstance(public, bytes) and isinstance(secret, bytes)
        assert len(public) == len(secret) == 40
        assert zmq.curve_public(secret) == public
        assert zmqx.curve_public(secret) == public
        assert len(z85.decode(public)) == 32
    for _ in range(20):
        public, secret = zmq.curve_keypair()
        assert zmqx.curve_public(secret) == public
    assert zmqx.curve_keypair()[1] != zmqx.curve_keypair()[1]


@pytest.mark.parametrize("secret", [b"abc", b"x" * 39, b"x" * 41, "é" * 40, ""])
def test_curve_public_wrong_length(secret):
    with pytest.raises(ValueError) as theirs:
        zmq.curve_public(secret)
    with pytest.raises(ValueError) as ours:
        zmqx.curve_public(secret)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("secret", [b"~" * 40, b"#" * 40, b'"' * 40, b" " * 40])
def test_curve_public_invalid_z85(secret):
    with pytest.raises(zmq.ZMQError) as theirs:
        zmq.curve_public(secret)
    with pytest.raises(zmqx.ZMQError) as ours:
        zmqx.curve_public(secret)
    assert ours.value.errno == theirs.value.errno == zmqx.EINVAL


def test_has_curve_now_that_the_mechanism_is_on_the_wire():
    # the key tools and the CURVE mechanism (tests/test_security_*.py) both exist
    assert zmqx.has("curve") is True


def test_random_bytes_are_from_the_os_each_time():
    # two processes' worth: forked children must not share a key stream
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(r)
        os.write(w, zmqx.curve_keypair()[1])
        os._exit(0)
    os.close(w)
    child = b""
    while len(child) < 40:
        chunk = os.read(r, 40)
        if not chunk:
            break
        child += chunk
    os.close(r)
    os.waitpid(pid, 0)
    assert len(child) == 40 and child != zmqx.curve_keypair()[1]
