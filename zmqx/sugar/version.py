"""zmq.sugar.version: the version functions of the top-level package."""

__all__ = ["pyzmq_version", "pyzmq_version_info", "zmq_version", "zmq_version_info",
           "__version__", "__revision__", "VERSION_MAJOR", "VERSION_MINOR", "VERSION_PATCH",
           "VERSION_EXTRA"]

# zmqx's own version (pyzmq_version() gives it, as pyzmq gives pyzmq's); no pre-release tag
VERSION_EXTRA = ""


_PARTS = {"VERSION_MAJOR": 0, "VERSION_MINOR": 1, "VERSION_PATCH": 2}


def __getattr__(name):
    # resolved lazily: zmqx/__init__ defines them after importing this package
    import zmqx

    if name in _PARTS:
        return zmqx.pyzmq_version_info()[_PARTS[name]]
    if name in ("__version__", "__revision__"):
        return getattr(zmqx, name)
    raise AttributeError(name)


def pyzmq_version():
    import zmqx

    return zmqx.pyzmq_version()


def pyzmq_version_info():
    import zmqx

    return zmqx.pyzmq_version_info()


def zmq_version():
    import zmqx

    return zmqx.zmq_version()


def zmq_version_info():
    import zmqx

    return zmqx.zmq_version_info()
