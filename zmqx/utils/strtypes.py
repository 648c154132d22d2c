"""The str/bytes helpers of pyzmq's zmq.utils.strtypes, still imported by older code
written when it had to run on Python 2 and 3."""

bytes = bytes
unicode = str
basestring = (str,)

__all__ = ["asbytes", "b", "basestring", "bytes", "cast_bytes", "cast_unicode", "u", "unicode"]


def cast_bytes(s, encoding="utf8", errors="strict"):
    """bytes as they are; str encoded."""
    if isinstance(s, bytes):
        return s
    if isinstance(s, str):
        return s.encode(encoding, errors)
    raise TypeError(f"Expected unicode or bytes, got {s!r}")


def cast_unicode(s, encoding="utf8", errors="strict"):
    """str as it is; bytes decoded."""
    if isinstance(s, bytes):
        return s.decode(encoding, errors)
    if isinstance(s, str):
        return s
    raise TypeError(f"Expected unicode or bytes, got {s!r}")


b = asbytes = cast_bytes
u = cast_unicode
