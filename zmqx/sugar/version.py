"""zmq.sugar.version: the version functions of the top-level package."""

__all__ = ["pyzmq_version", "pyzmq_version_info", "zmq_version", "zmq_version_info",
           "__version__"]


def __getattr__(name):
    # resolved lazily: zmqx/__init__ defines them after importing this package
    if name in __all__:
        import zmqx

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
