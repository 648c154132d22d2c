# cython: embedsignature=False
# zmqx.asyncio's try-first path: recv/send compiled (aio_recv/aio_send, at the end), and
# the already-completed awaitables they return. When a recv finds a
# message queued (or a send finds room), the result is known when the call returns; a
# loop Future would then cost more than the operation itself (loop lookup, allocation,
# set_result, the await protocol's trip through the Future's iterator). A Ready is one
# small object whose await returns at once, and which answers the Future methods that
# code written for pyzmq calls on what send/recv return.
cimport cython
from cpython.ref cimport PyObject, Py_INCREF
from cpython.exc cimport PyErr_SetObject

cdef extern from "Python.h":
    ctypedef PyObject *(*iternextfunc)(PyObject *)
    ctypedef struct PyTypeObject:
        iternextfunc tp_iternext
    PyObject *PyExc_StopIteration


@cython.freelist(64)
cdef class Ready:
    """The completed result of a zmqx.asyncio call: `await` it, or use done(),
    result(), exception(), cancel() (always False: it is done) and
    add_done_callback() as on an asyncio Future. asyncio.wait_for/gather/wait accept
    it like any awaitable."""

    cdef object _value
    cdef object _exc

    def __await__(self):
        return self

    def __iter__(self):
        return self

    def __next__(self):
        # the await ends on the first step: StopIteration carries the result
        if self._exc is not None:
            raise self._exc
        raise StopIteration(self._value)

    # no send/throw/close: with them collections.abc.Coroutine would claim a Ready, and
    # asyncio.wait refuses coroutines; the await itself only needs the iterator step

    def done(self):
        return True

    def cancelled(self):
        return False

    def cancel(self, msg=None):
        return False

    def result(self):
        if self._exc is not None:
            raise self._exc
        return self._value

    def exception(self):
        return self._exc

    def add_done_callback(self, fn, *, context=None):
        import asyncio
        asyncio.get_running_loop().call_soon(fn, self, context=context)

    def remove_done_callback(self, fn):
        return 0

    def get_loop(self):
        import asyncio
        return asyncio.get_running_loop()

    def __repr__(self):
        if self._exc is not None:
            return f"<zmqx Ready exception={self._exc!r}>"
        return f"<zmqx Ready result={self._value!r}>"


cdef PyObject *_ready_next(PyObject *o) noexcept:
    # the iterator step the interpreter calls on `await`: end at once, the result in
    # StopIteration. Set straight through the C API (a Cython `raise` would also build a
    # traceback frame on every await, which costs more than the rest of the await)
    cdef Ready r = <Ready>o
    cdef object stop
    if r._exc is not None:
        PyErr_SetObject(type(r._exc), r._exc)
        return NULL
    if type(r._value) is bytes or r._value is None:
        PyErr_SetObject(<object>PyExc_StopIteration, r._value)
    else:
        # a tuple or an exception would be taken apart as the exception's arguments
        stop = (<object>PyExc_StopIteration)(r._value)
        PyErr_SetObject(<object>PyExc_StopIteration, stop)
    return NULL


(<PyTypeObject *>Ready).tp_iternext = _ready_next


def ready(value):
    """A Ready whose await returns `value`."""
    cdef Ready r = Ready.__new__(Ready)
    r._value = value
    return r


def ready_error(exc):
    """A Ready whose await raises `exc`."""
    cdef Ready r = Ready.__new__(Ready)
    r._exc = exc
    return r


# ------------------------------------------------------------ the try-first calls
# zmqx.asyncio.Socket.recv/send themselves: a Python method frame is a third of an awaited
# call that finds its message queued, so the common case runs here and only a call that
# has to wait goes back to the Python layer (`_recv_py`/`_send_py`).

cdef object _core_recv = None
cdef object _core_send = None
cdef object _Again = None


def bind_core(core_recv, core_send, again):
    global _core_recv, _core_send, _Again
    _core_recv = core_recv
    _core_send = core_send
    _Again = again


cdef inline Ready _ready(value, exc):
    # a call that completed at once: its value, or the exception it raised
    cdef Ready r = Ready.__new__(Ready)
    if exc is None:
        r._value = value
    else:
        r._exc = exc
    return r


def aio_recv(self, flags=0, copy=True, track=False):
    """Receive one frame; an awaitable that is already done when a message was queued."""
    if self._waiters:
        return self._recv_py(flags, copy, track)
    try:
        value = _core_recv(self, (flags | 1) if flags else 1, copy, track)
    except BaseException as e:
        if isinstance(e, _Again) and not (flags & 1):
            return self._recv_py(flags, copy, track)
        if not isinstance(e, Exception):
            raise
        return _ready(None, e)
    return _ready(value, None)


cdef object _draft_frame(data, dict kwargs, copy, track):
    # pyzmq's draft send arguments (routing_id=, group=) travel on a Frame, as pyzmq's own
    # send puts them, so that a send queued to wait keeps them
    from zmqx._core.msg import Frame
    group = kwargs.get("group")
    routing_id = kwargs.get("routing_id")
    if group is None and routing_id is None:
        return data
    if not isinstance(data, Frame):
        data = Frame(data, track=track, copy=copy or None)
    if group is not None:
        data.group = group
    if routing_id is not None:
        data.routing_id = routing_id
    return data


def aio_send(self, data, flags=0, copy=True, track=False, **kwargs):
    """Send one frame; an awaitable that is already done when there was room."""
    if kwargs:
        data = _draft_frame(data, kwargs, copy, track)
    if self._waiters:
        return self._send_py(data, flags, copy, track)
    try:
        value = _core_send(self, data, (flags | 1) if flags else 1, copy, track)
    except BaseException as e:
        if isinstance(e, _Again) and not (flags & 1):
            return self._send_py(data, flags, copy, track)
        if not isinstance(e, Exception):
            raise
        return _ready(None, e)
    return _ready(value, None)
