# Socket.stats() (included into socket.pyx): one snapshot, as plain Python values, of the
# counters the socket already keeps. Nothing here runs per message: the counters are plain
# integers written by the thread that owns them (the socket's: zx_sock.stats, the slots'
# byte counts and drops, the pipes' message counts; the I/O thread's: the handshake facts in
# each link, the lifecycle events in the sockbase) and only read here, without stopping
# traffic. A value the other thread is changing may be a moment old; none is ever torn.
import time as _time

# ZMQ_EVENT_* bit -> name, for the events table
_EVENT_NAMES = {
    0x0001: "CONNECTED", 0x0002: "CONNECT_DELAYED", 0x0004: "CONNECT_RETRIED",
    0x0008: "LISTENING", 0x0010: "BIND_FAILED", 0x0020: "ACCEPTED",
    0x0040: "ACCEPT_FAILED", 0x0080: "CLOSED", 0x0100: "CLOSE_FAILED",
    0x0200: "DISCONNECTED", 0x0400: "MONITOR_STOPPED",
    0x0800: "HANDSHAKE_FAILED_NO_DETAIL", 0x1000: "HANDSHAKE_SUCCEEDED",
    0x2000: "HANDSHAKE_FAILED_PROTOCOL", 0x4000: "HANDSHAKE_FAILED_AUTH",
}
_TYPE_NAMES = {0: "PAIR", 1: "PUB", 2: "SUB", 3: "REQ", 4: "REP", 5: "DEALER", 6: "ROUTER",
               7: "PULL", 8: "PUSH", 9: "XPUB", 10: "XSUB", 11: "STREAM", 12: "SERVER",
               13: "CLIENT", 14: "RADIO", 15: "DISH", 16: "GATHER", 17: "SCATTER",
               18: "DGRAM", 19: "PEER", 20: "CHANNEL"}


cdef dict _endpoint_names(Socket self):
    # endpoint id -> (text, how the connection came: "connect", "accept", "inproc")
    names = {}
    for key, eps in self._endpoints.items():
        for ep in eps:
            if ep[0] == "bind":
                names.setdefault(ep[1], (key.decode(errors="replace"), "accept"))
            elif ep[0] == "connect":
                names.setdefault(ep[1], (key.decode(errors="replace"), "connect"))
            elif ep[0] == "inproc-connect":
                names.setdefault(ep[2], (key.decode(errors="replace"), "connect"))
    return names


cdef dict _peer_stats(Socket self, zx_slot *s, dict names, int64_t now_ms, double now):
    cdef zx_link *link = s.link
    cdef zx_pipe *out = zx_link_out(link, s.side)
    cdef zx_pipe *inp = zx_link_in(link, s.side)
    cdef int peer = 1 - s.side
    cdef int64_t queued_in = inp.msgs_written - inp.r_msgs
    known = s.io or s.side == 0          # link.user is one of our endpoint ids
    endpoint, how = names.get(link.user, (None, None)) if known else (None, None)
    if not s.io:
        how = "inproc"
        if endpoint is None:
            binds = [k for k, eps in self._endpoints.items() for ep in eps if ep[0] == "inproc"]
            endpoint = binds[0].decode(errors="replace") if len(binds) == 1 else None
    handshaken = s.io and link.zmtp_major > 0
    return {
        "endpoint": endpoint,
        "transport": endpoint.partition("://")[0] if endpoint else ("inproc" if not s.io else None),
        "direction": how,
        "routing_id": PyBytes_FromStringAndSize(<char *>link.rid[peer], link.rid_len[peer]),
        "socket_type": _TYPE_NAMES.get(link.socktype[peer]) if link.socktype[peer] >= 0 else None,
        "zmtp_version": "%d.%d" % (link.zmtp_major, link.zmtp_minor) if handshaken else None,
        "mechanism": link.mechanism.decode() if handshaken else None,
        "connected_at": now - (now_ms - link.connected_at) / 1000.0 if handshaken else None,
        "reconnects": link.reconnects if s.io else 0,
        "msgs_sent": out.msgs_written,
        "bytes_sent": s.bytes_out,
        "msgs_received": inp.r_msgs,
        "bytes_received": s.bytes_in,
        "queued_out": zx_pipe_queued(out),
        "queued_in": queued_in if queued_in > 0 else 0,
        "hwm_out": out.hwm,
        "dropped_hwm": s.dropped,
        "gone": bool(s.dying),
        # a tcp/ipc connection whose two ends one I/O thread serves (see performance.md)
        "same_io_thread": bool(s.io and link.same_io),
    }


cdef dict _stats(Socket self):
    if self._closed and self._final_stats is not None and self._gen == zx_fork_generation():
        # closed: the counters as they were at close, plus what its connections dropped
        # after (LINGER); final once the context is terminated
        out = dict(self._final_stats)
        out["dropped_by"] = dict(out["dropped_by"])
        if self._tally != NULL:
            out["dropped_by"]["linger"] = zx_load(&self._tally.dropped_linger)
        out["dropped"] = sum(out["dropped_by"].values())
        return out
    self._check()
    return _snapshot(self)


cdef object _stats_at_close(Socket self):
    # kept for stats() after close (never raises: close must go on)
    try:
        out = _snapshot(self)
        out["closed"] = True
        out["peers"] = []
        out["peers_now"] = out["queued_out"] = out["queued_in"] = 0
        return out
    except BaseException:
        return None


cdef dict _snapshot(Socket self):
    cdef zx_sockstats *st = &self.core.stats
    cdef zx_monitor *mon
    cdef int i
    cdef int64_t now_ms = zx_now_ms()
    now = _time.time()
    names = _endpoint_names(self)
    peers = [_peer_stats(self, &self.core.slots[i], names, now_ms, now)
             for i in range(self.core.nslots)]
    events = {name: zx_load(&self.sb.events_seen[bit])
              for bit in range(15) for name in (_EVENT_NAMES.get(1 << bit),) if name}
    dropped = {
        "hwm": st.dropped_hwm,
        "unroutable": st.dropped_unroutable,
        "no_subscribers": st.dropped_no_subscribers,
        "conflated": st.dropped_conflated,
        "linger": 0,
    }
    out = {
        "type": _TYPE_NAMES.get(self.socket_type, str(self.socket_type)),
        "msgs_sent": st.msgs_sent,
        "bytes_sent": st.bytes_sent,
        "msgs_received": st.msgs_received,
        "bytes_received": st.bytes_received,
        "dropped": sum(dropped.values()),
        "dropped_by": dropped,
        "queued_out": sum(p["queued_out"] for p in peers),
        "queued_in": sum(p["queued_in"] for p in peers),
        "sndhwm": self.opts.sndhwm,
        "rcvhwm": self.opts.rcvhwm,
        "peers_now": sum(1 for p in peers if not p["gone"]),
        "reconnect_attempts": events["CONNECT_RETRIED"],
        "handshake_failures": (events["HANDSHAKE_FAILED_NO_DETAIL"]
                               + events["HANDSHAKE_FAILED_PROTOCOL"]
                               + events["HANDSHAKE_FAILED_AUTH"]),
        "waits": st.waits,
        "waits_spun": st.waits_spun,
        "waits_ended_spinning": st.waits_ended_spinning,
        "events": events,
        "peers": peers,
    }
    mon = <zx_monitor *>self.sb.mon
    if mon != NULL:
        out["monitor"] = {"events_sent": mon.sent, "events_dropped": mon.dropped}
    return out
