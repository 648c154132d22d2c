#!/usr/bin/env python
"""List the public names that pyzmq has and zmqx lacks (and the reverse), per object, as
the markdown block that docs/coming-from-pyzmq.md carries between its api-gaps markers.

    python docs/pyzmq_gaps.py           # print the block
    python docs/pyzmq_gaps.py --write   # rewrite it in docs/coming-from-pyzmq.md

tests/test_docs.py regenerates the block (when pyzmq is installed) and fails if the page
differs, so the page cannot go stale when either side gains or loses a name.
"""
import os
import sys
import types

PAGE = os.path.join(os.path.dirname(os.path.abspath(__file__)), "coming-from-pyzmq.md")
START, END = "<!-- api-gaps:start -->", "<!-- api-gaps:end -->"
# names in pyzmq's namespace that are its own imports or helpers, not API
NOT_API = {"Enum", "IntEnum", "IntFlag", "annotations", "contextmanager", "os", "sys"}


def _public(obj):
    """Public names, without submodules: those appear as attributes only once something has
    imported them (the submodules row below lists them from the files instead)."""
    return {n for n in dir(obj) if not n.startswith("_")
            and not isinstance(getattr(obj, n, None), types.ModuleType)} - NOT_API


def _objects(zmq, zmqx):
    import importlib
    pairs = [("zmq", zmq, zmqx)]
    for name in ("Context", "Socket", "Frame", "Poller", "ZMQError"):
        pairs.append((f"zmq.{name}", getattr(zmq, name), getattr(zmqx, name)))
    za, xa = importlib.import_module("zmq.asyncio"), importlib.import_module("zmqx.asyncio")
    for name in ("Context", "Socket", "Poller"):
        pairs.append((f"zmq.asyncio.{name}", getattr(za, name), getattr(xa, name)))
    return pairs


# pyzmq's submodules that users import by name
SUBMODULES = ["asyncio", "auth", "auth.thread", "auth.asyncio", "devices", "eventloop",
              "eventloop.zmqstream", "green", "log", "log.handlers", "ssh", "utils",
              "utils.monitor", "utils.z85", "utils.jsonapi", "utils.win32", "decorators"]


def _submodule_row():
    """pyzmq submodules with no zmqx counterpart, looked up as files beside each package's
    own __init__ (not through import hooks, which may map names elsewhere)."""
    import zmq
    import zmqx

    def has(pkg, name):
        base = os.path.join(os.path.dirname(pkg.__file__), *name.split("."))
        return os.path.isfile(base + ".py") or os.path.isfile(os.path.join(base, "__init__.py"))
    return [m for m in SUBMODULES if has(zmq, m) and not has(zmqx, m)]


def block():
    import zmq
    import zmqx
    lines = [START, "",
             "| object | in pyzmq, not in zmqx | in zmqx, not in pyzmq |",
             "| --- | --- | --- |"]
    for label, theirs, ours in _objects(zmq, zmqx):
        missing = sorted(_public(theirs) - _public(ours))
        extra = sorted(_public(ours) - _public(theirs))
        if label == "zmq":
            # flat constants: compared in tests/test_constants.py, listed there by name
            missing = [n for n in missing if not n.isupper()] + (
                ["PYZMQ_DRAFT_API"] if "PYZMQ_DRAFT_API" in missing else [])
        fmt = lambda names: ", ".join(f"`{n}`" for n in names) or "—"  # noqa: E731
        lines.append(f"| `{label}` | {fmt(missing)} | {fmt(extra)} |")
    fmt = lambda names: ", ".join(f"`{n}`" for n in names) or "—"  # noqa: E731
    lines.append(f"| submodules | {fmt('zmq.' + m for m in _submodule_row())} | — |")
    lines += ["", END]
    return "\n".join(lines)


def page_with(new_block, text):
    a, b = text.index(START), text.index(END) + len(END)
    return text[:a] + new_block + text[b:]


def _prefer_this_checkout():
    """Run as a script, document the zmqx of this checkout when it is built in place."""
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    sys.path.insert(0, root)
    try:
        import zmqx  # noqa: F401
    except ImportError:
        sys.path.remove(root)
        for name in [m for m in sys.modules if m == "zmqx" or m.startswith("zmqx.")]:
            del sys.modules[name]


def main(argv):
    _prefer_this_checkout()
    import zmqx
    print(f"zmqx from {os.path.dirname(zmqx.__file__)}", file=sys.stderr)
    new = block()
    if "--write" in argv:
        with open(PAGE) as f:
            text = f.read()
        with open(PAGE, "w") as f:
            f.write(page_with(new, text))
        print(f"updated {PAGE}")
    else:
        print(new)


if __name__ == "__main__":
    main(sys.argv[1:])
