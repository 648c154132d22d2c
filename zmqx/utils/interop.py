"""Addresses passed between libraries as integers (pyzmq's zmq.utils.interop): the
address of a context or socket handed over by another binding arrives as an int, a
ctypes pointer or a cffi pointer."""

__all__ = ["cast_int_addr"]


def cast_int_addr(n):
    """The integer address held by `n` (int, ctypes pointer or cffi pointer)."""
    if isinstance(n, int):
        return n
    try:
        import ctypes
    except ImportError:  # pragma: no cover
        ctypes = None
    if ctypes is not None:
        if isinstance(n, ctypes.c_void_p):
            return n.value or 0
        if isinstance(n, ctypes._Pointer):
            return ctypes.cast(n, ctypes.c_void_p).value or 0
    try:
        import cffi
    except ImportError:
        cffi = None
    if cffi is not None:
        ffi = cffi.FFI()
        if isinstance(n, ffi.CData):
            return int(ffi.cast("size_t", n))
    raise ValueError(f"Cannot cast {n!r} to int")
