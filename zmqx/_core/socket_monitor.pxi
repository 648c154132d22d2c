# The socket side of monitor events (included into socket.pyx): Socket.monitor() binds an
# internal PAIR to the inproc address and hands its mailbox to the socket's monitor channel
# (monitor.pxd), which from then on sends the events of every thread to the PAIR that
# connects there. This file also tells the channel each endpoint's text (events from the I/O
# side carry only an endpoint id) and reports what happens on the app thread itself: a
# failed bind. The I/O side reports through zx_io_event (io_thread.pyx).

cdef int EPROTONOSUPPORT_ = _errno.EPROTONOSUPPORT


cdef zx_monitor *_mon_channel(Socket self) except NULL:
    # the socket's channel, made on first use with the endpoints it already has
    cdef zx_monitor *mon = <zx_monitor *>self.sb.mon
    if mon != NULL:
        return mon
    mon = zx_monitor_new()
    if mon == NULL:
        raise MemoryError()
    for key, eps in self._endpoints.items():
        for ep in eps:
            if ep[0] == "bind" or ep[0] == "connect":
                if zx_monitor_add_endpoint(mon, <int64_t>ep[1], <char *>key, len(key)) < 0:
                    zx_monitor_free(mon)
                    raise MemoryError()
    self.sb.mon_free = zx_monitor_free
    zx_store_ptr(&self.sb.mon, mon)
    return mon


cdef _monitor_note_endpoint(Socket self, int64_t eid, text):
    # bind/connect: the text events about this endpoint carry (once a monitor was started)
    cdef bytes b
    if self.sb.mon == NULL:
        return
    b = text.encode() if isinstance(text, str) else bytes(text)
    if zx_monitor_add_endpoint(<zx_monitor *>self.sb.mon, eid, b, len(b)) < 0:
        raise MemoryError()


cdef _monitor_app_event(Socket self, int kind, int64_t value, text):
    # an event seen on the app thread, reported through the same hook as the I/O side's
    cdef bytes b = text.encode() if isinstance(text, str) else bytes(text)
    zx_io_event_text(self.sb, kind, value, b, len(b))


cdef _monitor_bind_failed(Socket self, str transport, address, int err, bint opened):
    # libzmq 4.3.5's events for a bind that failed: CLOSED for the listening socket it had
    # opened (its endpoint not known yet for tcp), then BIND_FAILED with the errno and the
    # address without its transport
    if opened:
        _monitor_app_event(self, ZX_EVT_CLOSED, 0,
                           "ipc://" + address if transport == "ipc" else "")
    _monitor_app_event(self, ZX_EVT_BIND_FAILED, err, address)


cdef _monitor_stop(Socket self):
    binder = self._monitor_binder
    if self.sb != NULL and self.sb.mon != NULL:
        zx_monitor_stop(<zx_monitor *>self.sb.mon)
    if binder is not None:
        self._monitor_binder = None
        binder.close(0)


cdef _monitor(Socket self, addr, int64_t events):
    cdef zx_monitor *mon
    cdef Socket binder
    cdef zx_link *link
    cdef int side
    self._check()
    if addr is None:
        _monitor_stop(self)
        return
    if isinstance(addr, bytes):
        addr = addr.decode()
    if not isinstance(addr, str):
        raise TypeError("monitor address must be a str, not %s" % type(addr).__name__)
    if events & ~(<int64_t>ZX_EVENT_ALL):
        raise ZMQError(EINVAL_, "Invalid argument (version-1 monitors take events up to 0xFFFF)")
    scheme, sep, _ = addr.partition("://")
    if not sep or scheme != "inproc":
        raise ZMQError(EPROTONOSUPPORT_)
    _monitor_stop(self)
    mon = _mon_channel(self)
    binder = Socket(self.context, ZX_PAIR)
    try:
        binder.copts.linger = 0
        binder.bind(addr)
    except BaseException:
        binder.close(0)
        raise
    zx_monitor_start(mon, binder.sb, events)
    # a reader that connected before the address was bound is already a slot of the PAIR
    while binder.core.nslots > 0:
        link = binder.core.slots[0].link
        side = binder.core.slots[0].side
        binder.ops.removed(&binder.core, 0)
        memmove(&binder.core.slots[0], &binder.core.slots[1],
                sizeof(zx_slot) * (binder.core.nslots - 1))
        binder.core.nslots -= 1
        zx_monitor_adopt(mon, link, side)
    self._monitor_binder = binder


cdef _monitor_closing(Socket self):
    # the socket closes: its monitor's address goes away now; the channel lives on with the
    # sockbase, so events from the I/O side (CLOSED of its listeners, ...) and then
    # MONITOR_STOPPED still reach the reader
    binder = self._monitor_binder
    if binder is not None:
        if self.sb.mon != NULL:
            zx_monitor_sync(<zx_monitor *>self.sb.mon)
        self._monitor_binder = None
        binder.close(0)
