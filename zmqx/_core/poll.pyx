# One wait over many zmqx sockets and native fds: each socket contributes its signaler fd,
# and the whole set is waited on in a single poll(2) with the GIL released.
from cpython.exc cimport PyErr_CheckSignals
from libc.stdlib cimport malloc, free
from libc.stdint cimport int64_t
from zmqx._core.platform cimport (pollfd, zx_poll_fds, zx_now_ms, zx_now_ns, zx_spin_poll,
                                   POLLIN, POLLOUT, POLLERR, POLLHUP, POLLNVAL)
from zmqx._core.socket cimport Socket

cdef enum:
    Z_POLLIN = 1
    Z_POLLOUT = 2
    Z_POLLERR = 4


cdef inline Socket _live(Socket s):
    return s._shadowed if s._shadowed is not None else s


cdef int64_t _after_wait(list socks, Py_ssize_t n, bint woken, int64_t took):
    # as Socket._wait: a wait longer than a socket's spin bound turns its spinning off
    # until a wait of it is short again. Returns the spin for the next wait
    cdef Py_ssize_t i
    cdef Socket s
    cdef int64_t spin = 0
    for i in range(n):
        if socks[i] is not None:
            s = _live(<Socket>socks[i])
            s.spin_ns = s.spin_max_ns if woken and took <= s.spin_max_ns else 0
            if s.spin_ns > spin and not s._io_peers():
                spin = s.spin_ns
    return spin


def zmq_poll(list items, timeout=-1):
    """items: [(zmqx Socket or fd, events)], timeout in ms (-1: forever).
    Returns [(item object, revents)] for the ready ones."""
    cdef Py_ssize_t n = len(items)
    # two fds per item: a socket's readable signaler and its mailbox; a native fd + unused
    cdef pollfd *fds = <pollfd *>malloc(sizeof(pollfd) * (2 * n + 1))
    cdef Py_ssize_t i
    cdef int rc, ev, wait_ms, want
    cdef long long deadline
    cdef int64_t spin = 0, t0 = 0
    cdef bint spins = False
    cdef Socket s
    if fds == NULL:
        raise MemoryError()
    if timeout is None or timeout < 0:
        deadline = -1
    else:
        deadline = zx_now_ms() + <long long>timeout
    socks = [None] * n
    try:
        for i in range(n):
            obj, want = items[i]
            if isinstance(obj, Socket):
                socks[i] = obj
                # spin (docs/performance.md) as the most eager of the sockets would
                s = _live(<Socket>obj)
                spins = spins or s.spin_max_ns > 0
                if s.spin_ns > spin and not s._io_peers():
                    spin = s.spin_ns
                fds[2 * i].fd = (<Socket>obj)._signaler_fd()
                fds[2 * i].events = POLLIN
                fds[2 * i + 1].fd = (<Socket>obj)._mailbox_fd()
                fds[2 * i + 1].events = POLLIN
            else:
                fd = obj if isinstance(obj, int) else obj.fileno()
                fds[2 * i].fd = fd
                fds[2 * i].events = (POLLIN if want & Z_POLLIN else 0) | (POLLOUT if want & Z_POLLOUT else 0)
                fds[2 * i + 1].fd = -1       # ignored by poll(2)
                fds[2 * i + 1].events = 0
        first = True
        while True:
            result = []
            # zmqx sockets: ask each one (this also arms their wake-ups)
            for i in range(n):
                if socks[i] is not None:
                    s = <Socket>socks[i]
                    ev = s._poll_events() & items[i][1]
                    if ev:
                        result.append((items[i][0], ev))
            if result or deadline == 0:
                wait_ms = 0
            elif deadline < 0:
                wait_ms = 500
            else:
                wait_ms = <int>(deadline - zx_now_ms())
                if wait_ms < 0:
                    wait_ms = 0
                if wait_ms > 500:
                    wait_ms = 500
            for i in range(2 * n):
                fds[i].revents = 0
            rc = 0
            t0 = zx_now_ns() if wait_ms > 0 and spins else 0
            if t0 and spin > 0:
                with nogil:
                    rc = zx_spin_poll(fds, <int>(2 * n), t0 + min(spin, <int64_t>wait_ms * 1000000))
            if rc <= 0:
                with nogil:
                    rc = zx_poll_fds(fds, <int>(2 * n), wait_ms)
            if t0:
                spin = _after_wait(socks, n, rc > 0, zx_now_ns() - t0)
            PyErr_CheckSignals()
            if rc > 0:
                for i in range(n):
                    if fds[2 * i].revents == 0 and fds[2 * i + 1].revents == 0:
                        continue
                    if socks[i] is not None:
                        (<Socket>socks[i])._drain_signaler()
                    else:
                        ev = 0
                        if fds[2 * i].revents & POLLIN:
                            ev |= Z_POLLIN
                        if fds[2 * i].revents & POLLOUT:
                            ev |= Z_POLLOUT
                        if fds[2 * i].revents & (POLLERR | POLLHUP | POLLNVAL):
                            ev |= Z_POLLERR
                        ev &= items[i][1] | Z_POLLERR
                        if ev:
                            result.append((items[i][0], ev))
            if rc > 0:
                # a socket woken during the wait is asked again now that its signaler is
                # drained: reported on this pass, even when the deadline has come (timeout 0)
                seen = {id(r[0]) for r in result}
                for i in range(n):
                    if socks[i] is not None and (fds[2 * i].revents or fds[2 * i + 1].revents) \
                            and id(items[i][0]) not in seen:
                        s = <Socket>socks[i]
                        ev = s._poll_events() & items[i][1]
                        if ev:
                            result.append((items[i][0], ev))
            if result:
                return result
            if deadline >= 0 and zx_now_ms() >= deadline:
                return []
    finally:
        free(fds)
