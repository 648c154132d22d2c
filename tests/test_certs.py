"""zmqx.auth.certs: the same ZPL certificate files as pyzmq's zmq.auth.certs, both ways."""

import os
import stat
import sys

import pytest

import zmqx
import zmqx.auth
from zmqx.auth import certs

zmq = pytest.importorskip("zmq")
import zmq.auth.certs as pycerts  # noqa: E402


def test_zmqx_certificates_load_in_pyzmq(tmp_path):
    public_file, secret_file = certs.create_certificates(tmp_path, "server",
                                                         metadata={"name": "test server"})
    assert public_file == os.path.join(tmp_path, "server.key")
    assert secret_file == os.path.join(tmp_path, "server.key_secret")
    public, none = pycerts.load_certificate(public_file)
    assert none is None and len(public) == 40
    public2, secret = pycerts.load_certificate(secret_file)
    assert public2 == public and len(secret) == 40
    assert zmq.curve_public(secret) == public  # a real key pair
    assert pycerts.load_certificates(tmp_path) == {public: True}
    text = open(secret_file, encoding="utf-8").read()
    assert "metadata\n" in text and 'name = "test server"' in text
    assert text.index("curve\n") > text.index("metadata\n")
    assert "secret-key" not in open(public_file, encoding="utf-8").read()


def test_pyzmq_certificates_load_in_zmqx(tmp_path):
    public_file, secret_file = pycerts.create_certificates(tmp_path, "client",
                                                           metadata={"k": "v"})
    want_public, want_secret = pycerts.load_certificate(secret_file)
    assert certs.load_certificate(public_file) == (want_public, None)
    assert certs.load_certificate(secret_file) == (want_public, want_secret)
    assert zmqx.curve_public(want_secret) == want_public
    pycerts.create_certificates(tmp_path, "other")
    assert certs.load_certificates(tmp_path) == pycerts.load_certificates(tmp_path)
    assert len(certs.load_certificates(str(tmp_path))) == 2


def test_both_directions_agree_on_a_mixed_directory(tmp_path):
    for i in range(3):
        certs.create_certificates(tmp_path, f"zmqx{i}")
        pycerts.create_certificates(tmp_path, f"pyzmq{i}")
    ours = certs.load_certificates(tmp_path)
    assert ours == pycerts.load_certificates(tmp_path)
    assert len(ours) == 6
    for name in os.listdir(tmp_path):
        path = os.path.join(tmp_path, name)
        assert certs.load_certificate(path) == pycerts.load_certificate(path)


def test_lenient_parsing_like_pyzmq(tmp_path):
    pub = "rq:rM>}U?@Lns47E1%kR.o@n%FcmmsL/@{H8]yf7"
    sec = "JTKVSB%%)wK0E.X)V>+}o?pNmC{O&4W4b!Ni{Lh6"
    path = tmp_path / "hand.key_secret"
    path.write_text("# written by hand\n\nmetadata\ncurve\n"
                    f"\tpublic-key = '{pub}'\n        secret-key={sec}\n")
    assert certs.load_certificate(path) == (pub.encode(), sec.encode())
    assert pycerts.load_certificate(path) == (pub.encode(), sec.encode())


def test_errors(tmp_path):
    with pytest.raises(OSError, match="Invalid certificate file"):
        certs.load_certificate(tmp_path / "missing.key")
    with pytest.raises(OSError, match="Invalid certificate directory"):
        certs.load_certificates(tmp_path / "missing")
    empty = tmp_path / "empty.key"
    empty.write_text("metadata\ncurve\n")
    with pytest.raises(ValueError, match="No public key"):
        certs.load_certificate(empty)
    with pytest.raises(ValueError):
        certs.load_certificates(tmp_path)  # as pyzmq: one bad *.key fails the whole load
    with pytest.raises(ValueError):
        pycerts.load_certificates(tmp_path)


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX permissions")
def test_secret_file_is_private(tmp_path):
    public_file, secret_file = certs.create_certificates(tmp_path, "me")
    assert stat.S_IMODE(os.stat(secret_file).st_mode) & 0o077 == 0
    assert stat.S_IMODE(os.stat(public_file).st_mode) & 0o444 == 0o444 & ~_umask()


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def test_package_surface():
    assert zmqx.auth.create_certificates is certs.create_certificates
    assert zmqx.auth.load_certificate is certs.load_certificate
    assert zmqx.auth.load_certificates is certs.load_certificates
