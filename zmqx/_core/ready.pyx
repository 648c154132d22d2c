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
from zmqx._core.socket cimport Socket as CoreSocket
from libc.stdint cimport int64_t
from zmqx._core.platform cimport pollfd, POLLIN, zx_now_ns, zx_spin_poll

cdef extern from "Python.h":
    ctypedef PyObject *(*iternextfunc)(PyObject *)
    ctypedef enum PySendResult:
        PYGEN_RETURN
        PYGEN_ERROR
        PYGEN_NEXT
    ctypedef PySendResult (*sendfunc)(PyObject *, PyObject *, PyObject **)
    ctypedef struct PyAsyncMethods:
        sendfunc am_send
    ctypedef struct PyTypeObject:
        iternextfunc tp_iternext
        PyAsyncMethods *tp_as_async
    PyObject *PyExc_StopIteration
    ctypedef struct PyStopIterationObject:
        PyObject *value
    Py_ssize_t Py_REFCNT(PyObject *o)
    void Py_XDECREF(PyObject *o)
    void PyException_SetTraceback(PyObject *ex, PyObject *tb)
    void PyException_SetContext(PyObject *ex, PyObject *ctx)
    void PyException_SetCause(PyObject *ex, PyObject *cause)


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


# One StopIteration, owned here, that carries every await's result where the interpreter
# steps the iterator instead of calling am_send (CPython 3.12 and later: SEND calls
# tp_iternext on anything that is not a generator). Building a new exception per await
# cost 0.2 µs there, more than the recv it ends. It is reused only while nobody else holds
# it (its refcount is ours alone), and it keeps the last result alive until the next one.
cdef PyObject *_stop = NULL


cdef PyObject *_ready_next(PyObject *o) noexcept:
    # the iterator step the interpreter calls on `await`: end at once, the result in
    # StopIteration. Set straight through the C API (a Cython `raise` would also build a
    # traceback frame on every await, which costs more than the rest of the await)
    cdef Ready r = <Ready>o
    cdef object stop
    cdef PyObject *old
    if r._exc is not None:
        PyErr_SetObject(type(r._exc), r._exc)
        return NULL
    if r._value is None:
        return NULL             # exhausted with no exception set: the await's value is None
    if _stop != NULL and Py_REFCNT(_stop) == 1:
        old = (<PyStopIterationObject *>_stop).value
        Py_INCREF(r._value)
        (<PyStopIterationObject *>_stop).value = <PyObject *>r._value
        Py_XDECREF(old)
        PyException_SetTraceback(_stop, <PyObject *>None)    # None clears it; NULL is an error
        PyException_SetContext(_stop, NULL)
        PyException_SetCause(_stop, NULL)
        PyErr_SetObject(<object>PyExc_StopIteration, <object>_stop)
        return NULL
    # a tuple or an exception would be taken apart as the exception's arguments
    stop = (<object>PyExc_StopIteration)(r._value)
    PyErr_SetObject(<object>PyExc_StopIteration, stop)
    return NULL


cdef PySendResult _ready_send(PyObject *o, PyObject *arg, PyObject **result) noexcept:
    # `await` (the SEND opcode, through PyIter_Send) asks this slot first: the result is
    # handed back as the await's value with no StopIteration at all -- no exception to
    # set, fetch and take apart on every await. The iterator step above stays for code
    # that drives a Ready by hand (next(), `yield from`)
    cdef Ready r = <Ready>o
    if r._exc is not None:
        PyErr_SetObject(type(r._exc), r._exc)
        return PYGEN_ERROR
    Py_INCREF(r._value)
    result[0] = <PyObject *>r._value
    return PYGEN_RETURN


(<PyTypeObject *>Ready).tp_iternext = _ready_next
_stop_keep = StopIteration(None)
_stop = <PyObject *>_stop_keep
Py_INCREF(_stop_keep)          # ours for the life of the process
del _stop_keep
if (<PyTypeObject *>Ready).tp_as_async != NULL:
    (<PyTypeObject *>Ready).tp_as_async.am_send = _ready_send


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
cdef object _ZMQError = None


def bind_core(core_recv, core_send, again, zmqerror=None):
    global _core_recv, _core_send, _Again, _ZMQError
    _core_recv = core_recv
    _core_send = core_send
    _Again = again
    _ZMQError = zmqerror if zmqerror is not None else again


# every send that completes at once (copy=True: its result is None) returns this one
# Ready: it is immutable, so sharing it is invisible except to `is`, and the commonest
# call of all then allocates nothing
cdef Ready _DONE_NONE = Ready.__new__(Ready)


cdef inline Ready _ready(value, exc):
    # a call that completed at once: its value, or the exception it raised
    cdef Ready r = Ready.__new__(Ready)
    if exc is None:
        r._value = value
    else:
        r._exc = exc
    return r


cdef inline bint _waiting(self) except -1:
    # self._waiters (the queued futures), read from the core socket's C field: an
    # attribute read would go through the socket class's __getattr__ hook (it maps unknown
    # names to options) and cost as much as the send it guards
    cdef object w = (<CoreSocket?>self)._waiters
    return w is not None and len(w) != 0


cdef inline CoreSocket _live(self):
    # the socket that does the work: a shadow's live socket (as the core's own send/recv)
    cdef CoreSocket s = <CoreSocket?>self
    return s if s._shadowed is None else s._shadowed


def aio_recv(self, flags=0, copy=True, track=False):
    """Receive one frame; an awaitable that is already done when a message was queued."""
    if _waiting(self):
        return self._recv_py(flags, copy, track)
    try:
        # the core's recv without its Python call: its arguments are plain here
        value = _live(self)._recv_one((flags | 1) if flags else 1, copy)
    except BaseException as e:
        if isinstance(e, _Again) and not (flags & 1):
            # nothing queued, and that attempt armed the wake-up: wait for it
            return enqueue(self, K_RECV, (None, int(flags), copy, track), _RCVTIMEO)
        if not isinstance(e, Exception):
            raise
        return _ready(None, e)
    return _ready(value, None)


cdef object _draft_frame(data, routing_id, group, copy, track):
    # pyzmq's draft send arguments (routing_id=, group=) travel on a Frame, as pyzmq's own
    # send puts them, so that a send queued to wait keeps them
    from zmqx._core.msg import Frame
    if not isinstance(data, Frame):
        data = Frame(data, track=track, copy=copy or None)
    if group is not None:
        data.group = group
    if routing_id is not None:
        data.routing_id = routing_id
    return data


def aio_send(self, data, flags=0, copy=True, track=False, routing_id=None, group=None):
    """Send one frame; an awaitable that is already done when there was room."""
    # named draft arguments, not **kwargs: a keyword dict per call is a tenth of the call
    if group is not None or routing_id is not None:
        data = _draft_frame(data, routing_id, group, copy, track)
    if _waiting(self):
        return self._send_py(data, flags, copy, track)
    try:
        value = _live(self)._send_one(data, (flags | 1) if flags else 1, copy, track)
    except BaseException as e:
        if isinstance(e, _Again) and not (flags & 1):
            return enqueue(self, K_SEND, (data, int(flags), copy, track), _SNDTIMEO)
        if not isinstance(e, Exception):
            raise
        return _ready(None, e)
    if value is None:
        return _DONE_NONE
    return _ready(value, None)


# ------------------------------------------------------------ the wait path
# A call that has to wait queues a loop Future on the socket (`_waiters`, in call order)
# and has the loop's _Waker watch the socket's wake-up fds; a wake-up (on_ready) serves
# the queue in order while operations succeed. Compiled for the same reason as the calls
# above: every wait of a busy stream (a sender at its HWM, a receiver that caught up) runs
# this twice, and in Python it cost more than the hundreds of messages between two waits.
# The kinds are zmqx.asyncio's _RECV.. constants.
cdef enum:
    K_RECV = 0
    K_RECV_MULTIPART = 1
    K_SEND = 2
    K_SEND_MULTIPART = 3
    K_POLL = 4
    K_RECV_MANY = 5
    K_SEND_MANY = 6
    K_RECV_INTO = 7

cdef object _expire = None
cdef object _get_running_loop = None
cdef int _RCVTIMEO = 27
cdef int _SNDTIMEO = 28
cdef int _ENOTSOCK = 0
cdef int _POLLIN = 1


def bind_wait(expire, int rcvtimeo, int sndtimeo, int enotsock, int pollin):
    global _expire, _get_running_loop, _RCVTIMEO, _SNDTIMEO, _ENOTSOCK, _POLLIN
    import asyncio
    _expire = expire
    _get_running_loop = asyncio.get_running_loop
    _RCVTIMEO, _SNDTIMEO, _ENOTSOCK, _POLLIN = rcvtimeo, sndtimeo, enotsock, pollin


cdef inline bint _is_in(int kind, tuple args):
    return (kind == K_RECV or kind == K_RECV_MULTIPART or kind == K_RECV_MANY
            or kind == K_RECV_INTO or (kind == K_POLL and (args[2] & _POLLIN)))


cdef int _watch(self, CoreSocket s, loop) except -1:
    # have the loop's waker call on_ready once the socket may be ready (one watch at a time)
    waker = s._waker
    if waker is None or waker._loop is not loop:
        # first wait, or the socket moved to another event loop: the Python method, which
        # subclasses extend (zmqx.eventloop.future joins its IOLoop there)
        waker = self._loop_waker()
    if not s._watching and not self.closed:
        s._watching = True
        _watch_socket(waker, self)
    return 0


cdef int _watch_socket(waker, sock) except -1:
    # zmqx.asyncio._Waker.watch_socket(sock, sock._on_ready), short-cut for the common
    # case: a loop with add_reader (direct mode) that has this socket's fds registered
    # already (they stay so while it lives), where a watch is one callback in the waker's
    # table. Direct mode touches that table only in the loop thread (other threads hand
    # their calls over), which is where this runs, so no lock
    cdef CoreSocket live = _live(sock)
    if waker._direct is True and live.sb != NULL:
        key = (live.sb.rsig.r, live.sb.mb.sig.r)
        readers = waker._readers
        if readers.get(key[0]) == key and readers.get(key[1]) == key:
            ref = waker._owners.get(key)
            if ref is not None and ref() is sock:
                cb = sock._on_ready
                table = waker._watch
                cbs = table.get(key)
                if cbs is None:
                    table[key] = [cb]
                elif cb not in cbs:
                    cbs.append(cb)
                return 0
    waker.watch_socket(sock, sock._on_ready)
    return 0


def waker_on_readable(waker, key):
    """zmqx.asyncio._Waker._on_readable (direct mode: the loop's reader callback for a
    watched fd), compiled: drain the socket the key belongs to, then fire its watchers,
    each one-shot. A native fd's key is unregistered once nobody watches it."""
    cbs = waker._watch.pop(key, None)
    ref = waker._owners.get(key)
    if ref is not None:
        sock = ref()
        if sock is not None:
            try:
                sock._drain_signaler()
            except Exception:
                pass                  # a closed socket: its watchers find out themselves
    if cbs:
        for cb in cbs:
            cb()
    if ref is None and key not in waker._watch:
        loop = waker._loop
        if loop is not None:
            waker._unregister(loop, key)


def watch(self):
    """Watch the socket for the waiting queue (zmqx.asyncio.Socket._watch)."""
    _watch(self, <CoreSocket?>self, _get_running_loop())


def enqueue(self, int kind, tuple args, timeout_opt, timeout=None):
    """A loop Future for an operation that cannot complete now: queued behind the ones
    waiting already. The caller has tried it (and so armed the socket's wake-up) or found
    others waiting ahead of it. timeout (ms; None: the socket's RCVTIMEO/SNDTIMEO, named
    by timeout_opt, or none when that is None) ends the wait with Again."""
    cdef CoreSocket s = <CoreSocket?>self
    cdef CoreSocket live = _live(self)
    cdef int t = -1
    loop = _get_running_loop()
    fut = loop.create_future()
    s._waiters.append((fut, kind, args))
    fut.add_done_callback(self._forget)
    if timeout is not None:
        t = timeout
    elif timeout_opt is None:
        t = -1
    elif timeout_opt == _RCVTIMEO:
        t = live.copts.rcvtimeo
    elif timeout_opt == _SNDTIMEO:
        t = live.copts.sndtimeo
    else:
        t = self.get(timeout_opt)
    if t >= 0:
        loop.call_later(t / 1000.0, _expire, fut)
    _watch(self, s, loop)
    return fut


cdef object _attempt(self, int kind, tuple args):
    # one try of a queued operation, never waiting: its result, or Again
    cdef int flags
    if kind == K_RECV:
        flags = args[1]
        return _live(self)._recv_one(flags | 1, args[2])
    if kind == K_SEND:
        flags = args[1]
        return _live(self)._send_one(args[0], flags | 1, args[2], args[3])
    return self._attempt(kind, args)


def on_ready(self):
    """The waker's call (loop thread) once the socket may be ready, its wake-up fds
    drained: serve the queued futures in order while their operations succeed. An
    operation that would block keeps its place, and so does every later one in the same
    direction (receives do not overtake receives, nor sends sends)."""
    cdef CoreSocket s = <CoreSocket?>self
    cdef bint blocked_in = False
    cdef bint blocked_out = False
    cdef bint is_in
    cdef int kind
    cdef tuple args
    cdef list pending = None
    s._watching = False
    if self.closed:
        self._fail_all(_ZMQError(_ENOTSOCK))
        return
    # (the waker drained the wake-up fds just before: the attempts below re-arm them)
    waiters = s._waiters
    while waiters:
        fut, kind, args = waiters.popleft()
        if fut.done():                 # cancelled or timed out: it must not take a message
            continue
        is_in = _is_in(kind, args)
        if (blocked_in if is_in else blocked_out):
            if pending is None:
                pending = []
            pending.append((fut, kind, args))
            continue
        try:
            result = _attempt(self, kind, args)
        except BaseException as e:
            if not isinstance(e, Exception):
                raise
            if isinstance(e, _Again):
                if pending is None:
                    pending = []
                pending.append((fut, kind, args))
                if is_in:
                    blocked_in = True
                else:
                    blocked_out = True
            else:
                fut.set_exception(e)
            continue
        fut.set_result(result)
    if pending:
        waiters.extend(pending)
        _watch(self, s, _get_running_loop())


# ------------------------------------------------------------ the batch loops
# recv_many/send_many's inner loops (zmqx.asyncio.Socket._take_many/_give_many): one core
# call per message and nothing else, so a batch costs about what blocking calls would.

cdef object _core_recv_multipart = None
cdef object _core_send_multipart = None


def bind_multipart(recv_multipart, send_multipart):
    global _core_recv_multipart, _core_send_multipart
    _core_recv_multipart = recv_multipart
    _core_send_multipart = send_multipart


def take_many(self, Py_ssize_t limit, int flags, copy, track, bint multipart):
    """Everything queued, up to `limit` (frames, or whole messages when multipart);
    Again only if there was nothing at all. Messages once taken are returned: an error
    after the first one is left for the next call to report."""
    cdef CoreSocket s = _live(self)
    cdef bint c = copy
    cdef list out
    flags |= 1
    if multipart:
        out = [_core_recv_multipart(self, flags, copy, track)]
        try:
            while len(out) < limit:
                out.append(_core_recv_multipart(self, flags, copy, track))
        except Exception as e:
            if not isinstance(e, _ZMQError):
                raise
        return out
    out = [s._recv_one(flags, c)]
    try:
        while len(out) < limit:
            out.append(s._recv_one(flags, c))
    except Exception as e:
        if not isinstance(e, _ZMQError):
            raise
    return out


def give_many(self, list state, int flags, copy, track):
    """Send state[0][state[1]:] in order; Again (the caller stays queued) when the socket
    pushes back, with state[1] counting what was sent, so a retry goes on from there."""
    cdef CoreSocket s = _live(self)
    cdef list msgs = state[0]
    cdef Py_ssize_t i = state[1]
    cdef Py_ssize_t n = len(msgs)
    cdef bint c = copy, t = track
    flags |= 1
    try:
        while i < n:
            m = msgs[i]
            if type(m) is bytes or not isinstance(m, (list, tuple)):
                s._send_one(m, flags, c, t)
            else:
                _core_send_multipart(self, m, flags, copy, track)
            i += 1
    finally:
        state[1] = i
    return None


def spin_poll(fds, double seconds):
    """Look at up to 8 fds (readable?) without sleeping for `seconds`, yielding the CPU in
    between, with the GIL released: the asyncio waker thread's brief look after traffic
    (docs/performance.md, "Waiting"). True if one became readable."""
    cdef pollfd pfd[8]
    cdef int n = 0, rc
    cdef int64_t until
    for fd in fds:
        if n == 8:
            break
        pfd[n].fd = fd
        pfd[n].events = POLLIN
        pfd[n].revents = 0
        n += 1
    until = zx_now_ns() + <int64_t>(seconds * 1e9)
    with nogil:
        rc = zx_spin_poll(pfd, n, until)
    return rc > 0
