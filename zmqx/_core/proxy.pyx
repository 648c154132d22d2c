# The proxy's forwarding loop: one wait over the sockets, then whole messages moved frame by
# frame as zx_msg (bodies shared, never copied, no Python object per message).
from libc.stdint cimport int64_t, uint64_t
from libc.string cimport memcpy
from zmqx._core.msg cimport zx_msg, zx_msg_init, zx_msg_close, zx_msg_copy, zx_msg_data, ZX_MSG_MORE
from zmqx._core.socket cimport Socket
from zmqx._core.zmtp cimport ZX_REP
from zmqx._core.poll import zmq_poll


cdef enum:
    SNDMORE = 2
    POLLIN = 1
    BATCH = 1000           # messages per side per wake-up, so neither side starves


cdef int _forward(Socket src, Socket dst, Socket capture, uint64_t *stats) except -1:
    # one whole message, if src has one: returns 1 if a message moved
    cdef zx_msg m
    cdef zx_msg c
    cdef bint more
    zx_msg_init(&m)
    if not src._try_recv(&m):
        return 0
    while True:
        more = (m.flags & ZX_MSG_MORE) != 0
        stats[0] += m.size
        stats[2] += 1                 # libzmq's statistics count frames
        if capture is not None:
            zx_msg_copy(&c, &m)
            capture._send_msg(&c, SNDMORE if more else 0)
        stats[1] += m.size
        dst._send_msg(&m, SNDMORE if more else 0)
        if not more:
            return 1
        src._recv_msg(&m, 0)      # the rest of the message is already here


def proxy_steerable(Socket frontend, Socket backend, Socket capture=None, Socket control=None):
    """Forward messages both ways until TERMINATE arrives on `control` (or the context is
    terminated: ContextTerminated). PAUSE/RESUME stop and restart forwarding; STATISTICS
    replies with eight uint64 frames, as libzmq's proxy does."""
    cdef uint64_t fe[4]      # frontend: frames in, bytes in, frames out, bytes out
    cdef uint64_t be[4]
    cdef uint64_t io_f[3]             # bytes in, bytes out, frames
    cdef uint64_t io_b[3]
    cdef int k
    cdef bint paused = False
    cdef bint same = frontend is backend
    for k in range(4):
        fe[k] = be[k] = 0
    # a one-way proxy (the streamer, PULL -> PUSH) only reads the side that receives
    cdef bint fe_in = frontend._receives()
    cdef bint be_in = backend._receives() and not same
    items = []
    if fe_in:
        items.append((frontend, POLLIN))
    if be_in:
        items.append((backend, POLLIN))
    if control is not None:
        items.append((control, POLLIN))
    while True:
        ready = zmq_poll(items, -1)
        if control is not None and any(r[0] is control for r in ready):
            # while paused, only the control socket is read
            while True:
                cmd = control.recv()
                if cmd == b"STATISTICS":
                    vals = [fe[0], fe[1], fe[2], fe[3], be[0], be[1], be[2], be[3]]
                    control.send_multipart([v.to_bytes(8, "little") for v in vals])
                elif control.socket_type == ZX_REP:
                    control.send(b"")        # a REP control socket gets an empty reply, as libzmq
                if cmd == b"PAUSE":
                    paused = True
                elif cmd == b"RESUME":
                    paused = False
                elif cmd == b"TERMINATE":
                    return 0                # what zmq_proxy_steerable returns
                if not paused:
                    break
        for k in range(BATCH):
            io_f[0] = io_f[1] = io_f[2] = 0
            io_b[0] = io_b[1] = io_b[2] = 0
            moved = fe_in and _forward(frontend, backend, capture, io_f)
            if moved:
                fe[0] += io_f[2]
                fe[1] += io_f[0]
                be[2] += io_f[2]
                be[3] += io_f[1]
            if be_in and _forward(backend, frontend, capture, io_b):
                moved = True
                be[0] += io_b[2]
                be[1] += io_b[0]
                fe[2] += io_b[2]
                fe[3] += io_b[1]
            if not moved:
                break


def proxy(Socket frontend, Socket backend, Socket capture=None):
    """Forward messages between frontend and backend (and copy them to capture) until the
    context is terminated, which raises ContextTerminated."""
    proxy_steerable(frontend, backend, capture, None)
