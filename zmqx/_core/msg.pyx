# Frames, zero-copy blocks over Python buffers (bytes sent by reference), the release
# queue that lets the I/O thread drop a Python buffer without taking the GIL, and (in
# msg_blocks.pxi) the bytes-shaped blocks large received frames land in.
from cpython.buffer cimport PyObject_GetBuffer, PyBuffer_Release, PyBUF_SIMPLE, PyBUF_ANY_CONTIGUOUS
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_CheckExact, PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.ref cimport PyObject, Py_INCREF, Py_DECREF
from libc.stdlib cimport malloc, free, realloc
from libc.string cimport memcpy, memmove
from weakref import ref as _weakref
from libc.stdint cimport uint32_t
from zmqx._core.atomic cimport zx_load_ptr, zx_cas_ptr, zx_xchg_ptr, zx_load, zx_store, zx_cas

# bodies below this size are copied even when copy=False: pinning a buffer costs more
cdef enum:
    COPY_THRESHOLD_DEFAULT = 65536

COPY_THRESHOLD = COPY_THRESHOLD_DEFAULT

ctypedef struct zx_pyhold:
    Py_buffer view
    PyObject *tracker
    zx_pyhold *prev             # every pinned buffer is on one list (GIL-protected): what
    zx_pyhold *next_held        # zmqx.utils.garbage reports as the references it holds

cdef zx_block *release_head = NULL
cdef zx_pyhold *held_head = NULL

cdef void _release_push(void *p) noexcept nogil:
    # any thread: push on the lock-free stack; the block is freed by zx_release_pending
    cdef zx_block *b = <zx_block *>p
    cdef zx_block *head
    while True:
        head = <zx_block *>zx_load_ptr(<void **>&release_head)
        b.next = head
        if zx_cas_ptr(<void **>&release_head, head, b):
            return


cdef bint zx_release_nonempty() noexcept nogil:
    return zx_load_ptr(<void **>&release_head) != NULL


cdef void zx_release_pending() noexcept:
    global held_head
    cdef zx_block *b
    cdef zx_block *nxt
    cdef zx_pyhold *h
    if zx_load_ptr(<void **>&release_head) == NULL:
        return
    b = <zx_block *>zx_xchg_ptr(<void **>&release_head, NULL)
    while b != NULL:
        nxt = b.next
        h = <zx_pyhold *>b.hint
        if h.prev != NULL:
            h.prev.next_held = h.next_held
        else:
            held_head = h.next_held
        if h.next_held != NULL:
            h.next_held.prev = h.prev
        PyBuffer_Release(&h.view)
        if h.tracker != NULL:
            (<MessageTracker>h.tracker)._pending -= 1
            Py_DECREF(<object>h.tracker)
        free(b)
        b = nxt


cdef zx_block *zx_block_from_object(object obj) except NULL:
    global held_head
    cdef zx_block *b = <zx_block *>malloc(sizeof(zx_block) + sizeof(zx_pyhold))
    cdef zx_pyhold *h
    if b == NULL:
        raise MemoryError()
    h = <zx_pyhold *>((<unsigned char *>b) + sizeof(zx_block))
    try:
        PyObject_GetBuffer(obj, &h.view, PyBUF_ANY_CONTIGUOUS)
    except BaseException:
        free(b)
        raise
    h.tracker = NULL
    h.prev = NULL
    h.next_held = held_head
    if held_head != NULL:
        held_head.prev = h
    held_head = h
    b.refs = 1
    b.size = h.view.len
    b.data = <unsigned char *>h.view.buf
    b.ffn = _release_push
    b.hint = h
    b.next = NULL
    b.done = 0
    return b


cdef int zx_msg_init_bytes(zx_msg *m, bytes data) except -1:
    cdef Py_ssize_t n = PyBytes_GET_SIZE(data)
    cdef zx_block *b
    if n < ZX_BYTES_REF_MIN:
        if zx_msg_init_copy(m, PyBytes_AS_STRING(data), n) < 0:
            raise MemoryError()
        return 0
    b = zx_block_from_object(data)
    m.size = n
    m.flags = 0
    m.routing_id = 0
    m.is_block = 1
    m.u.l.blk = b
    m.u.l.data = b.data
    return 0


cdef object zx_msg_take_bytes(zx_msg *m):
    cdef zx_block *b
    cdef zx_pyhold *h
    cdef PyObject *o
    cdef object out
    if m.is_block:
        b = m.u.l.blk
        if b.ffn == _bytes_block_free:
            if m.u.l.data == b.data and zx_load(&b.refs) == 1:
                return _bytes_adopt_msg(m)
        elif b.ffn == _release_push:
            h = <zx_pyhold *>b.hint
            o = <PyObject *>h.view.obj
            if o != NULL and PyBytes_CheckExact(<object>o) \
                    and m.u.l.data == <unsigned char *>PyBytes_AS_STRING(<object>o) \
                    and <Py_ssize_t>m.size == PyBytes_GET_SIZE(<object>o):
                out = <object>o
                zx_msg_close(m)
                return out
    out = PyBytes_FromStringAndSize(<char *>zx_msg_data(m), m.size)
    zx_msg_close(m)
    return out


include "msg_blocks.pxi"


def _bytes_roundtrip(data, bint by_ref=True):
    """Test hook: `data` (bytes) through zx_msg_init_bytes and zx_msg_take_bytes, as an
    inproc send then recv would take it; returns the bytes received."""
    cdef zx_msg m
    zx_msg_init(&m)
    zx_msg_init_bytes(&m, data)
    return zx_msg_take_bytes(&m)


def _bytes_hold(data):
    """Test hook: a Frame that holds `data` the way send(data, copy=True) now does."""
    cdef Frame f = Frame.__new__(Frame)
    zx_msg_init_bytes(&f.msg, data)
    return f


cdef void _track(zx_block *b, MessageTracker tracker):
    cdef zx_pyhold *h = <zx_pyhold *>b.hint
    Py_INCREF(tracker)
    h.tracker = <PyObject *>tracker
    tracker._pending += 1


def _drain_release_queue():
    """Release Python buffers whose messages the engine has finished with."""
    zx_release_pending()


def _held_buffers():
    """{key: object} for every Python object whose buffer a message still pins (zero-copy
    sends, Frames over buffers, large bytes sent by reference), after releasing those the
    engine has finished with. The key is stable for the life of the hold."""
    cdef zx_pyhold *h
    zx_release_pending()
    out = {}
    h = held_head
    while h != NULL:
        if <PyObject *>h.view.obj != NULL:
            out[<size_t>h] = h.view.obj
        h = h.next_held
    return out


cpdef bytes _group_bytes(object group):
    # a RADIO/DISH group as bytes: str is UTF-8; longer than ZX_GROUP_MAX (255) is EINVAL,
    # as zmq_msg_set_group/zmq_join
    if isinstance(group, str):
        group = (<str>group).encode("utf8")
    elif not isinstance(group, bytes):
        raise TypeError(f"group must be str or bytes, not {type(group).__name__}")
    if len(<bytes>group) > ZX_GROUP_MAX:
        from zmqx.error import ZMQError
        from errno import EINVAL
        raise ZMQError(EINVAL, "Invalid argument (group longer than 255 bytes)")
    return group



cdef class MessageTracker:
    """Tells when zero-copy sends are done with their buffers (the engine released them).

    ``MessageTracker(*towatch)`` also waits for tracked Frames, other trackers and
    threading.Events (pyzmq's constructor): done when all of them are."""

    def __cinit__(self, *towatch):
        self._pending = 0
        self._peers = None

    def __init__(self, *towatch):
        peers = []
        for obj in towatch:
            if isinstance(obj, Frame):
                if (<Frame>obj).tracker is None:
                    raise ValueError("Not a tracked message")
                peers.append((<Frame>obj).tracker)
            elif isinstance(obj, MessageTracker):
                peers.append(obj)
            elif hasattr(obj, "is_set") and hasattr(obj, "wait"):
                peers.append(obj)           # a threading.Event
            else:
                raise TypeError(f"Require Events or Message Frames, not {type(obj)}")
        if peers:
            self._peers = peers

    @property
    def events(self):
        return {p for p in self._peers or () if not isinstance(p, MessageTracker)}

    @property
    def peers(self):
        return {p for p in self._peers or () if isinstance(p, MessageTracker)}

    @property
    def done(self):
        zx_release_pending()
        if self._pending > 0:
            return False
        for p in self._peers or ():
            if not (p.done if isinstance(p, MessageTracker) else p.is_set()):
                return False
        return True

    def wait(self, timeout=-1):
        """Wait until done; NotDone after `timeout` seconds (-1: for ever)."""
        import time
        from zmqx.error import NotDone
        if timeout is False or timeout is None or timeout < 0:
            deadline = None
        else:
            deadline = time.monotonic() + timeout
        delay = 0.0001
        while not self.done:
            if deadline is not None and time.monotonic() >= deadline:
                raise NotDone()
            time.sleep(delay)
            delay = min(delay * 2, 0.01)
        return None


# the tracker of every send that copied its data: done from the start (pyzmq's)
_FINISHED_TRACKER = MessageTracker()


cdef class Frame:
    """One message part. Supports the buffer protocol; `.bytes` copies once (or returns the
    bytes object it was made from)."""

    def __cinit__(self, data=None, track=False, copy=None, copy_threshold=None, **kw):
        cdef Py_buffer view
        cdef zx_block *b
        zx_msg_init(&self.msg)
        self._more = False
        self._bytes = None
        self.tracker = None
        self._properties = None
        self._exports = 0
        self._data = None
        self._buffer = None
        self._group = None
        if data is None:
            return
        if isinstance(data, str):
            raise TypeError("Str objects not allowed. Only: bytes, buffers")
        if isinstance(data, Frame):
            zx_msg_copy(&self.msg, &(<Frame>data).msg)
            self._group = (<Frame>data)._group
            return
        threshold = COPY_THRESHOLD if copy_threshold is None else copy_threshold
        PyObject_GetBuffer(data, &view, PyBUF_ANY_CONTIGUOUS)
        try:
            nbytes = view.len
            if copy is False or (copy is None and nbytes >= threshold):
                # zero-copy: the message pins data's buffer until every holder is done
                b = zx_block_from_object(data)
                self.msg.size = b.size
                self.msg.is_block = 1
                self.msg.u.l.blk = b
                self.msg.u.l.data = b.data
                self._data = data
                if track:
                    self.tracker = MessageTracker()
                    _track(b, self.tracker)
            else:
                if zx_msg_init_copy(&self.msg, view.buf, view.len) < 0:
                    raise MemoryError()
                if track:
                    self.tracker = _FINISHED_TRACKER     # a copy needs no tracking
        finally:
            PyBuffer_Release(&view)

    def __dealloc__(self):
        zx_msg_close(&self.msg)

    @staticmethod
    cdef Frame from_msg(zx_msg *m):
        cdef Frame f = Frame.__new__(Frame)
        memcpy(&f.msg, m, sizeof(zx_msg))
        f._more = (m.flags & ZX_MSG_MORE) != 0
        zx_msg_init(m)
        return f

    def __getbuffer__(self, Py_buffer *buffer, int flags):
        cdef bint readonly = 0
        cdef zx_block *b
        if self.msg.is_block:
            # zmqx's own memory is writable (as a received frame is in pyzmq); a Python
            # object's buffer pinned for zero-copy is as writable as that object's
            b = self.msg.u.l.blk
            if b.ffn == _release_push:
                readonly = (<zx_pyhold *>b.hint).view.readonly
        if readonly and (flags & 1):                   # PyBUF_WRITABLE
            raise BufferError("Frame is over a read-only buffer")
        buffer.buf = zx_msg_data(&self.msg)
        buffer.len = self.msg.size
        buffer.obj = self
        buffer.readonly = readonly
        buffer.itemsize = 1
        buffer.format = NULL
        if flags & 4:                                  # PyBUF_FORMAT
            buffer.format = "B"
        buffer.ndim = 1
        buffer.shape = NULL
        buffer.strides = NULL
        if flags & 8:                                  # PyBUF_ND
            buffer.shape = &buffer.len
        if (flags & 0x18) == 0x18:                     # PyBUF_STRIDES
            buffer.strides = &buffer.itemsize
        buffer.suboffsets = NULL
        buffer.internal = NULL
        self._exports += 1

    def __releasebuffer__(self, Py_buffer *buffer):
        self._exports -= 1

    def __len__(self):
        return self.msg.size

    @property
    def bytes(self):
        """The frame's content as bytes: made once, the same object on every access."""
        cdef zx_msg m
        if self._bytes is None:
            if self._data is not None:
                # made from the caller's object: a copy, as pyzmq (never that object)
                self._bytes = PyBytes_FromStringAndSize(<char *>zx_msg_data(&self.msg),
                                                        self.msg.size)
            else:
                # a received frame over a sent bytes object gives that object back
                # (zx_msg_take_bytes): bytes are immutable
                zx_msg_copy(&m, &self.msg)
                self._bytes = zx_msg_take_bytes(&m)
        return self._bytes

    @property
    def buffer(self):
        """A memoryview of the content; the same one while it is alive (held weakly, so
        a view never keeps its frame alive by a cycle)."""
        view = self._buffer() if self._buffer is not None else None
        if view is None:
            view = memoryview(self)
            self._buffer = _weakref(view)
        return view

    @property
    def more(self):
        return self._more

    @more.setter
    def more(self, value):
        self._more = bool(value)

    @property
    def routing_id(self):
        """The CLIENT/SERVER/PEER routing id (a uint32): set on a frame a SERVER or PEER
        received (the peer it came from); set it to address a frame sent through one.
        Reading it when none is set raises ZMQError(EINVAL), as pyzmq's."""
        return self.get("routing_id")

    @routing_id.setter
    def routing_id(self, value):
        self.set("routing_id", value)

    @property
    def group(self):
        """The RADIO/DISH group of the message ('' when it has none)."""
        return self.get("group")

    @group.setter
    def group(self, value):
        self.set("group", value)

    def get(self, option):
        """Frame properties: MORE (1), "routing_id", "group", or a connection property by
        name ("User-Id", "Socket-Type", "Identity", "Peer-Address", ZAP metadata) on frames
        received over a PLAIN/CURVE (or ZAP-checked) tcp/ipc connection."""
        if option == 1 or option == "more":
            return int(self._more)
        if option == "routing_id" and self.msg.routing_id:
            return self.msg.routing_id
        if option == "group":
            return "" if self._group is None else self._group.decode("utf8")
        """Frame properties: MORE (1), or a property of the connection the frame came
        from, by name: ``Socket-Type``, ``Identity`` (as the peer announced them),
        ``Peer-Address`` (as libzmq gives it), and what the security mechanism adds. EINVAL for a property the frame does not have
        (every property of a frame from inproc, as libzmq)."""
        if option == 1 or option == "more":
            return int(self._more)
        if isinstance(option, bytes):
            option = option.decode("utf-8")
        if isinstance(option, str) and self._properties is not None and option in self._properties:
            return self._properties[option]
        if isinstance(option, (str, bytes)):
            value = _conn_property(&self.msg, option)
            if value is not None:
                return value
        from zmqx.error import ZMQError
        from errno import EINVAL
        raise ZMQError(EINVAL)

    def set(self, option, value):
        cdef uint32_t rid
        if option == 1:
            self._more = bool(value)
            return
        if option == "routing_id":
            rid = value            # OverflowError/TypeError outside 0..2**32-1, as pyzmq
            if rid != 0:           # 0 means "none": refused, as libzmq
                self.msg.routing_id = rid
                return
        if option == "group":
            self._group = _group_bytes(value)
            return
        from zmqx.error import ZMQError
        from errno import EINVAL
        raise ZMQError(EINVAL)

    def __getitem__(self, key):
        return self.get(key)

    def __copy__(self):
        cdef Frame f = Frame.__new__(Frame)
        zx_msg_copy(&f.msg, &self.msg)
        f._more = self._more
        f._bytes = self._bytes
        f._data = self._data
        f.tracker = self.tracker
        f._group = self._group
        f._properties = self._properties
        return f

    fast_copy = __copy__

    def __repr__(self):
        # pyzmq's form: up to 16 bytes whole, else the first 12 and the size
        n = self.msg.size
        suffix = ""
        if n > 16:
            head = PyBytes_FromStringAndSize(<char *>zx_msg_data(&self.msg), 12)
            if n >= 1000000000:
                size, unit = n // 1000000000, "GB"
            elif n >= 1 << 20:
                size, unit = n // 1000000, "MB"
            elif n >= 1000:
                size, unit = n // 1000, "kB"
            else:
                size, unit = n, "B"
            suffix = f"...{size}{unit}"
        else:
            head = PyBytes_FromStringAndSize(<char *>zx_msg_data(&self.msg), n)
        module = type(self).__module__
        if module == "zmqx._core.msg":
            module = "zmq"
        return f"<{module}.{type(self).__name__}({head!r}{suffix})>"


Message = Frame


# ---------------------------------------------------------------- connection properties

cdef zx_props *zx_props_new(const unsigned char *meta, size_t n) noexcept nogil:
    cdef zx_props *p = <zx_props *>malloc(sizeof(zx_props) + (n if n else 1))
    if p == NULL:
        return NULL
    p.refs = 1
    p.len = n
    p.data = (<unsigned char *>p) + sizeof(zx_props)
    if n:
        memcpy(p.data, meta, n)
    return p


cdef void zx_props_ref(zx_props *p) noexcept nogil:
    if p != NULL:
        zx_add(&p.refs, 1)


cdef void zx_props_unref(zx_props *p) noexcept nogil:
    if p != NULL and zx_add(&p.refs, -1) == 0:
        free(p)


cdef void zx_props_block_free(void *blk) noexcept nogil:
    cdef zx_block *b = <zx_block *>blk
    zx_props_unref(<zx_props *>b.hint)
    free(b)


cdef void zx_block_set_props(zx_block *b, zx_props *p) noexcept nogil:
    if p == NULL or b.ffn != NULL:
        return
    zx_props_ref(p)
    b.hint = p
    b.ffn = zx_props_block_free


cdef object _conn_property(zx_msg *m, object name):
    """The value of connection property `name` (case-insensitive, as ZMTP names are) of
    the connection frame m arrived on, as str; None when it has no such property."""
    cdef zx_props *p
    cdef size_t off = 0, nl, vl
    cdef const unsigned char *d
    if not m.is_block or m.u.l.blk.ffn != zx_props_block_free:
        return None
    p = <zx_props *>m.u.l.blk.hint
    if p == NULL:
        return None
    want = (name.encode() if isinstance(name, str) else bytes(name)).lower()
    d = p.data
    while off < p.len:
        nl = d[off]
        if off + 1 + nl + 4 > p.len:
            return None
        key = (<bytes>(d + off + 1)[:nl]).lower()
        off += 1 + nl
        vl = (<size_t>d[off] << 24) | (<size_t>d[off + 1] << 16) | (<size_t>d[off + 2] << 8) \
            | d[off + 3]
        off += 4
        if off + vl > p.len:
            return None
        if key == want:
            return (<bytes>(d + off)[:vl]).decode("utf-8", "surrogateescape")
        off += vl
    return None

