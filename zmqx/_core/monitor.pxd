# A socket's monitor channel: how lifecycle events (ZMQ_EVENT_*) reach the PAIR socket that
# reads them, from any thread, without the GIL.
#
# libzmq binds a PAIR socket to the monitor address and sends every event on it from
# whichever thread saw it, under one mutex. zmqx does the same at the C level: Socket.monitor()
# binds an ordinary (internal) PAIR socket to the inproc address, so that the reader's
# connect() goes through the normal inproc path and posts ATTACH (and later TERM) to that
# PAIR's mailbox. The internal PAIR itself never runs: the channel takes those commands out
# of its mailbox under its own lock and keeps the reader's link. An event is then two frames
# written straight into that link's pipe (libzmq's version-1 format: a 6-byte frame with the
# uint16 event and uint32 value in native byte order, then the endpoint text), published
# with one flush that wakes the reader like any inproc message.
#
# Why a lock here and nowhere on the message path: the pipe is single-producer, and events
# come from the app thread (bind failures, MONITOR_STOPPED) and from every I/O thread. They
# are rare (connects, disconnects, retries), so a mutex held for two pipe writes costs
# nothing that matters; no other lock is taken under it except mailbox locks, which are
# never held while taking this one. A reader that does not keep up loses events past the
# link's HWM instead of stalling the I/O thread (libzmq would block there): `dropped`
# counts them.
#
# Lifetime: one channel per socket, made by its first monitor() and published in
# zx_sockbase.mon; it is never freed while the sockbase lives (I/O threads read the pointer
# without a lock), and is freed by the sockbase's last unref, which first sends
# MONITOR_STOPPED: the socket is fully gone (listeners closed, sessions done lingering), as
# when libzmq stops a closed socket's monitor.
from libc.stdint cimport int64_t, uint16_t, uint32_t
from libc.stdlib cimport malloc, calloc, free, realloc
from libc.string cimport memcpy, memset
from zmqx._core.atomic cimport zx_load, zx_store, zx_add
from zmqx._core.platform cimport (zx_mutex_t, zx_mutex_init, zx_mutex_destroy, zx_mutex_lock,
                                  zx_mutex_unlock)
from zmqx._core.mailbox cimport (zx_sockbase, zx_sockbase_ref, zx_sockbase_unref, zx_cmd,
                                 zx_mailbox_take, zx_mailbox_post, ZX_CMD_ATTACH, ZX_CMD_TERM)
from zmqx._core.pipe cimport (zx_link, zx_link_unref, zx_link_out, zx_pipe, zx_pipe_write,
                              zx_pipe_flush, zx_pipe_check_write)
from zmqx._core.msg cimport (zx_msg, zx_msg_init_size, zx_msg_init_copy, zx_msg_data,
                             zx_msg_close, ZX_MSG_MORE)

cdef enum:
    ZX_EVENT_MONITOR_STOPPED = 0x0400
    ZX_EVENT_ALL = 0xFFFF

# one endpoint's text, by the endpoint id the I/O side reports events with
ctypedef struct zx_mon_ep:
    int64_t eid
    char *text
    size_t len

ctypedef struct zx_monitor:
    zx_mutex_t lock
    int64_t events             # the filter; 0: not monitoring (read without the lock first)
    zx_sockbase *pair          # the bound internal PAIR's sockbase (a reference), or NULL
    zx_link *link              # the reader's link (a reference), or NULL
    int side                   # our side of it
    zx_mon_ep *eps
    int neps
    int cap
    int64_t sent               # events written to the reader
    int64_t dropped            # events lost: no reader attached, or the reader at HWM


cdef inline zx_monitor *zx_monitor_new() noexcept nogil:
    cdef zx_monitor *mon = <zx_monitor *>calloc(1, sizeof(zx_monitor))
    if mon != NULL:
        zx_mutex_init(&mon.lock)
    return mon


# under the lock: let go of a link (ours is `side`); the peer is told unless it left first
cdef inline void _zx_mon_drop_link(zx_link *link, int side) noexcept nogil:
    cdef zx_sockbase *peer
    zx_store(&link.gone[side], 1)
    if not zx_load(&link.gone[1 - side]):
        peer = <zx_sockbase *>link.release_arg[1 - side]
        if peer != NULL:
            zx_mailbox_post(&peer.mb, ZX_CMD_TERM, link, 0)
    zx_link_unref(link)


# under the lock: the internal PAIR's mailbox holds the readers' connects (ATTACH: the link
# and its reference) and disconnects (TERM); a PAIR keeps one reader and refuses the others
cdef inline void _zx_mon_take_commands(zx_monitor *mon) noexcept nogil:
    cdef zx_cmd cmd
    cdef zx_link *link
    if mon.pair == NULL:
        return
    while zx_mailbox_take(&mon.pair.mb, &cmd):
        link = <zx_link *>cmd.ptr
        if cmd.type == ZX_CMD_ATTACH:
            if mon.link != NULL and zx_load(&mon.link.gone[1 - mon.side]):
                _zx_mon_drop_link(mon.link, mon.side)
                mon.link = NULL
            if mon.link == NULL:
                mon.link = link
                mon.side = <int>cmd.arg
            else:
                _zx_mon_drop_link(link, <int>cmd.arg)
        elif cmd.type == ZX_CMD_TERM:
            if link == mon.link:
                _zx_mon_drop_link(mon.link, mon.side)
                mon.link = NULL


# under the lock: the two frames of one event to the reader, or counted as dropped
cdef inline void _zx_mon_write(zx_monitor *mon, int kind, int64_t value, const char *text,
                               size_t tlen) noexcept nogil:
    cdef zx_msg m
    cdef zx_pipe *p
    cdef uint16_t ev16 = <uint16_t>kind
    cdef uint32_t val32 = <uint32_t>value
    _zx_mon_take_commands(mon)
    if mon.link != NULL and zx_load(&mon.link.gone[1 - mon.side]):
        _zx_mon_drop_link(mon.link, mon.side)
        mon.link = NULL
    if mon.link == NULL:
        mon.dropped += 1
        return
    p = zx_link_out(mon.link, mon.side)
    if not zx_pipe_check_write(p):
        mon.dropped += 1
        return
    if zx_msg_init_size(&m, 6) < 0:
        mon.dropped += 1
        return
    memcpy(zx_msg_data(&m), &ev16, 2)
    memcpy(zx_msg_data(&m) + 2, &val32, 4)
    m.flags = ZX_MSG_MORE
    if zx_pipe_write(p, &m) < 0:
        zx_msg_close(&m)
        mon.dropped += 1
        return
    if zx_msg_init_copy(&m, text, tlen) < 0:
        zx_msg_init_size(&m, 0)
    m.flags = 0
    if zx_pipe_write(p, &m) < 0:
        # the first frame is in, unpublished: an empty last frame is all that can be done
        zx_msg_close(&m)
        zx_msg_init_size(&m, 0)
        zx_pipe_write(p, &m)
    zx_pipe_flush(p, mon.link)
    mon.sent += 1


# an event whose endpoint text the caller has
cdef inline void zx_monitor_event_text(zx_monitor *mon, int kind, int64_t value,
                                       const char *text, size_t tlen) noexcept nogil:
    if mon == NULL or not (zx_load(&mon.events) & kind):
        return
    zx_mutex_lock(&mon.lock)
    if mon.events & kind:
        _zx_mon_write(mon, kind, value, text, tlen)
    zx_mutex_unlock(&mon.lock)


# an event about endpoint `eid` (the I/O side's events): its text from the table
cdef inline void zx_monitor_event(zx_monitor *mon, int kind, int64_t value,
                                  int64_t eid) noexcept nogil:
    cdef int i
    cdef const char *text = ""
    cdef size_t tlen = 0
    if mon == NULL or not (zx_load(&mon.events) & kind):
        return
    zx_mutex_lock(&mon.lock)
    if mon.events & kind:
        for i in range(mon.neps):
            if mon.eps[i].eid == eid:
                text = mon.eps[i].text
                tlen = mon.eps[i].len
                break
        _zx_mon_write(mon, kind, value, text, tlen)
    zx_mutex_unlock(&mon.lock)


# remember endpoint `eid`'s text (the app thread, at bind/connect); -1 out of memory
cdef inline int zx_monitor_add_endpoint(zx_monitor *mon, int64_t eid, const char *text,
                                        size_t tlen) noexcept nogil:
    cdef zx_mon_ep *eps
    cdef char *copy = <char *>malloc(tlen + 1)
    cdef int i
    if copy == NULL:
        return -1
    memcpy(copy, text, tlen)
    copy[tlen] = 0
    zx_mutex_lock(&mon.lock)
    for i in range(mon.neps):
        if mon.eps[i].eid == eid:
            zx_mutex_unlock(&mon.lock)
            free(copy)
            return 0
    if mon.neps == mon.cap:
        eps = <zx_mon_ep *>realloc(mon.eps, sizeof(zx_mon_ep) * (mon.cap * 2 + 8))
        if eps == NULL:
            zx_mutex_unlock(&mon.lock)
            free(copy)
            return -1
        mon.eps = eps
        mon.cap = mon.cap * 2 + 8
    mon.eps[mon.neps].eid = eid
    mon.eps[mon.neps].text = copy
    mon.eps[mon.neps].len = tlen
    mon.neps += 1
    zx_mutex_unlock(&mon.lock)
    return 0


# start reporting `events` to the readers of the PAIR whose sockbase is `pair` (the app
# thread; the previous monitor, if any, was stopped first)
cdef inline void zx_monitor_start(zx_monitor *mon, zx_sockbase *pair, int64_t events) noexcept nogil:
    zx_mutex_lock(&mon.lock)
    zx_sockbase_ref(pair)
    mon.pair = pair
    mon.link = NULL
    zx_store(&mon.events, events)
    _zx_mon_take_commands(mon)
    zx_mutex_unlock(&mon.lock)


# an inproc reader that connected before monitor() bound the address: its link was handed
# to the internal PAIR as a slot, which gives it (and its reference) to the channel
cdef inline void zx_monitor_adopt(zx_monitor *mon, zx_link *link, int side) noexcept nogil:
    zx_mutex_lock(&mon.lock)
    if mon.link == NULL:
        mon.link = link
        mon.side = side
    else:
        _zx_mon_drop_link(link, side)
    zx_mutex_unlock(&mon.lock)


# take the readers that connected so far (before the internal PAIR closes and would take
# them itself)
cdef inline void zx_monitor_sync(zx_monitor *mon) noexcept nogil:
    zx_mutex_lock(&mon.lock)
    _zx_mon_take_commands(mon)
    zx_mutex_unlock(&mon.lock)


# stop: MONITOR_STOPPED (if the filter has it), then the reader is let go (it still reads
# what was sent), as libzmq closes its monitor socket
cdef inline void zx_monitor_stop(zx_monitor *mon) noexcept nogil:
    cdef zx_cmd cmd
    zx_mutex_lock(&mon.lock)
    if mon.events & ZX_EVENT_MONITOR_STOPPED:
        _zx_mon_write(mon, ZX_EVENT_MONITOR_STOPPED, 0, "", 0)
    zx_store(&mon.events, 0)
    _zx_mon_take_commands(mon)
    if mon.link != NULL:
        _zx_mon_drop_link(mon.link, mon.side)
        mon.link = NULL
    if mon.pair != NULL:
        zx_sockbase_unref(mon.pair)
        mon.pair = NULL
    zx_mutex_unlock(&mon.lock)


# zx_sockbase.mon_free: the socket is gone for good
cdef inline void zx_monitor_free(void *arg) noexcept nogil:
    cdef zx_monitor *mon = <zx_monitor *>arg
    cdef int i
    zx_monitor_stop(mon)
    for i in range(mon.neps):
        free(mon.eps[i].text)
    free(mon.eps)
    zx_mutex_destroy(&mon.lock)
    free(mon)
