"""Z85 (ZeroMQ RFC 32): the printable encoding of CURVE keys, with pyzmq's interface.

Z85 turns every 4 bytes (a big-endian 32-bit word) into 5 characters of an 85-symbol
alphabet chosen to be safe in source code, command lines and ZPL certificate files.
Lengths must be multiples of 4 (encode) and 5 (decode); the errors raised for bad input
are the ones pyzmq raises (ValueError for lengths and non-ASCII text, KeyError for a
character outside the alphabet, struct.error for a group above 2**32 - 1), each also a
ValueError here so callers can catch one type.
"""

from __future__ import annotations

import struct
from typing import Union

__all__ = ["Z85CHARS", "encode", "decode"]

_RawBytes = Union[bytes, bytearray, memoryview]

# the alphabet, in digit order (RFC 32)
Z85CHARS = b"0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#"
# Z85MAP: character code -> digit value, as pyzmq exposes it
Z85MAP = {c: i for i, c in enumerate(Z85CHARS)}

_DIGIT = [-1] * 256
for _i, _c in enumerate(Z85CHARS):
    _DIGIT[_c] = _i
del _i, _c

_WORD = struct.Struct(">I")


class _BadCharacter(KeyError, ValueError):
    """A character outside the Z85 alphabet (a KeyError, as pyzmq raises)."""


class _GroupOverflow(struct.error, ValueError):
    """A 5-character group worth more than 2**32 - 1 (a struct.error, as pyzmq raises)."""


def encode(rawbytes: _RawBytes) -> bytes:
    """Encode bytes (length a multiple of 4) as Z85."""
    if len(rawbytes) % 4:
        raise ValueError(f"length must be multiple of 4, not {len(rawbytes)}")
    out = bytearray(len(rawbytes) // 4 * 5)
    pos = 0
    for (word,) in _WORD.iter_unpack(rawbytes):
        # five base-85 digits, most significant first: fill the group from its end
        for k in range(pos + 4, pos - 1, -1):
            word, digit = divmod(word, 85)
            out[k] = Z85CHARS[digit]
        pos += 5
    return bytes(out)


def decode(z85bytes: str | _RawBytes) -> bytes:
    """Decode Z85 (bytes, or an ASCII str; length a multiple of 5) to bytes."""
    if isinstance(z85bytes, str):
        try:
            z85bytes = z85bytes.encode("ascii")
        except UnicodeEncodeError:
            raise ValueError("string argument should contain only ASCII characters") from None
    if len(z85bytes) % 5:
        raise ValueError(f"Z85 length must be multiple of 5, not {len(z85bytes)}")
    data = bytes(z85bytes)
    out = bytearray(len(data) // 5 * 4)
    for group in range(len(data) // 5):
        value = 0
        for c in data[group * 5 : group * 5 + 5]:
            digit = _DIGIT[c]
            if digit < 0:
                raise _BadCharacter(c)
            value = value * 85 + digit
        if value > 0xFFFFFFFF:
            raise _GroupOverflow(f"'I' format requires 0 <= number <= 4294967295")
        _WORD.pack_into(out, group * 4, value)
    return bytes(out)
