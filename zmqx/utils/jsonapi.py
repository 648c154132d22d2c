"""JSON to and from bytes, as pyzmq's zmq.utils.jsonapi: what send_json/recv_json put on
the wire (UTF-8 JSON), for code that serialises messages itself."""

import json

jsonmod = json

__all__ = ["dumps", "loads"]


def dumps(o, **kwargs):
    """Serialise to UTF-8 bytes; non-ASCII text stays readable unless asked otherwise."""
    kwargs.setdefault("ensure_ascii", False)
    return json.dumps(o, **kwargs).encode("utf8")


def loads(s, **kwargs):
    """Parse JSON given as bytes (UTF-8) or str."""
    if isinstance(s, (bytes, bytearray, memoryview)):
        s = bytes(s).decode("utf8")
    return json.loads(s, **kwargs)
