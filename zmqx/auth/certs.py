"""CURVE certificates on disk: the ZPL files (ZeroMQ RFC 4) that czmq and pyzmq write.

A certificate pair is `<name>.key` (public: the public key and nothing secret, safe to
hand out) and `<name>.key_secret` (both keys plus optional metadata). The public key is
what ``Authenticator.configure_curve(location=...)`` collects from a directory of
`*.key` files. Files written here are read by pyzmq's and czmq's loaders and the reverse;
the loader is as lenient as pyzmq's (any indentation, quoted or bare values, comments).
"""

from __future__ import annotations

import datetime
import glob
import os
from typing import Optional, Union

__all__ = ["create_certificates", "load_certificate", "load_certificates"]

_PathLike = Union[str, "os.PathLike[str]"]

_PUBLIC_HEADER = """#   ****  Generated on {when} by zmqx  ****
#   ZeroMQ CURVE Public Certificate
#   Exchange securely, or use a secure mechanism to verify the contents
#   of this file after exchange. Store public certificates in your home
#   directory, in the .curve subdirectory.

"""

_SECRET_HEADER = """#   ****  Generated on {when} by zmqx  ****
#   ZeroMQ CURVE **Secret** Certificate
#   DO NOT PROVIDE THIS FILE TO OTHER USERS nor change its permissions.

"""


def _text(value, encoding: str = "utf-8") -> str:
    return value.decode(encoding) if isinstance(value, (bytes, bytearray)) else str(value)


def _zpl_value(value: str) -> str:
    """A ZPL value in quotes (the other kind when the value holds a double quote)."""
    return f"'{value}'" if '"' in value else f'"{value}"'


def _write(path: str, header: str, public_key, secret_key=None, metadata=None,
           private: bool = False) -> None:
    lines = [header, "metadata\n"]
    for name, value in (metadata or {}).items():
        lines.append(f"    {_text(name)} = {_zpl_value(_text(value))}\n")
    lines.append("curve\n")
    lines.append(f'    public-key = "{_text(public_key)}"\n')
    if secret_key:
        lines.append(f'    secret-key = "{_text(secret_key)}"\n')
    # the secret file is created readable by its owner only (no window where it is not)
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | getattr(os, "O_BINARY", 0)
    fd = os.open(path, flags, 0o600 if private else 0o644)
    with open(fd, "w", encoding="utf-8", newline="\n") as f:
        f.write("".join(lines))


def create_certificates(key_dir: _PathLike, name: str,
                        metadata: Optional[dict] = None) -> tuple[str, str]:
    """Make a new CURVE key pair and write `<name>.key` and `<name>.key_secret` in
    key_dir. Returns the two paths (public, secret)."""
    from zmqx._core.curve import curve_keypair

    public_key, secret_key = curve_keypair()
    base = os.path.join(key_dir, name)
    public_file, secret_file = f"{base}.key", f"{base}.key_secret"
    when = datetime.datetime.now()
    _write(public_file, _PUBLIC_HEADER.format(when=when), public_key)
    _write(secret_file, _SECRET_HEADER.format(when=when), public_key, secret_key,
           metadata, private=True)
    return public_file, secret_file


def _value(line: bytes) -> bytes:
    """The value of a `name = value` line, without blanks and quotes."""
    return line.partition(b"=")[2].strip().strip(b"'\"").strip()


def load_certificate(filename: _PathLike) -> tuple[bytes, Optional[bytes]]:
    """(public_key, secret_key) from a certificate file, as Z85 bytes; secret_key is None
    for a public certificate. OSError if the file does not exist, ValueError if it holds
    no public key."""
    if not os.path.exists(filename):
        raise OSError(f"Invalid certificate file: {filename}")
    public_key = secret_key = None
    with open(filename, "rb") as f:
        for raw in f:
            line = raw.strip()
            if not line or line.startswith(b"#"):
                continue
            name = line.partition(b"=")[0].strip()
            if name == b"public-key" and public_key is None:  # the first one counts
                public_key = _value(line)
            elif name == b"secret-key" and secret_key is None:
                secret_key = _value(line)
    if not public_key:
        raise ValueError(f"No public key found in {filename}")
    return public_key, secret_key or None


def load_certificates(directory: _PathLike = ".") -> dict[bytes, bool]:
    """{public_key: True} for every `*.key` file in directory (czmq's layout).
    OSError if directory is not one."""
    if not os.path.isdir(directory):
        raise OSError(f"Invalid certificate directory: {directory}")
    keys = {}
    for path in sorted(glob.glob(os.path.join(glob.escape(os.fspath(directory)), "*.key"))):
        public_key, _ = load_certificate(path)
        keys[public_key] = True
    return keys
