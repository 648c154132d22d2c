"""Socket monitor events against libzmq: the same scenario runs once with pyzmq (libzmq
4.3.5) and once with zmqx, over tcp and ipc, and the sequences of (event, endpoint) each
monitor saw must be the same: connect, accept, handshake, the peer closing, reconnecting
after it restarts, close, unbind, connecting to nothing, a bind that fails, a peer that
drops the connection during the handshake, and stopping the monitor.

Synchronisation is by the events themselves: each step reads its monitors until the event
that ends the step arrives (RCVTIMEO-bounded, so a missing event fails instead of hanging);
nothing sleeps. File descriptors (the value of most events) differ between the two and are
not compared; values that mean something (errno, retry interval, 0) are checked.
"""

import asyncio
import errno
import os
import socket as pysocket
import tempfile

import pytest

import zmqx
import zmqx.asyncio as zasync
from zmqx.utils.monitor import parse_monitor_message, recv_monitor_message

zmq = pytest.importorskip("zmq")

pytestmark = pytest.mark.timeout(60)

WAIT_MS = 5000
LIBS = {"pyzmq": zmq, "zmqx": zmqx}

# a failed connect attempt: libzmq reports CONNECT_DELAYED only when connect() was
# asynchronous (tcp), then the close of the attempt's fd and the next retry
FAILED_ATTEMPT = ("CONNECT_DELAYED", "CLOSED", "CONNECT_RETRIED")


_names = iter(range(1 << 30))


def monitor_of(sock, events=None):
    """get_monitor_socket with a fresh address (pyzmq's default name reuses the fd number,
    and libzmq releases a closed socket's monitor address only later)."""
    return sock.get_monitor_socket(events, addr=f"inproc://test-monitor-{next(_names)}")


class Watch:
    """Reads one monitor PAIR: every event as (name, value, endpoint)."""

    def __init__(self, lib, mon, endpoint):
        self.lib = lib
        self.mon = mon
        self.mon.rcvtimeo = WAIT_MS
        self.endpoint = endpoint.encode() if isinstance(endpoint, str) else endpoint
        self.seen = []

    def next(self):
        frames = self.mon.recv_multipart()
        ev = parse_monitor_message(frames)       # zmqx's decoder, for both engines
        name = self.lib.Event(int(ev["event"])).name
        item = (name, int(ev["value"]), bytes(ev["endpoint"]))
        self.seen.append(item)
        return item

    def until(self, name, count=1):
        """Events up to and including the count-th `name`; (name, endpoint) pairs, with
        this scenario's endpoint written EP."""
        out = []
        while count:
            item = self.next()
            out.append(item)
            if item[0] == name:
                count -= 1
        bare = self.endpoint.split(b"://", 1)[-1]
        return [(n, "EP" if e == self.endpoint else "ADDR" if e == bare else e.decode())
                for n, v, e in out]


def _collapse_retries(events):
    """The connect attempts that failed while the peer was away, taken out: how many
    there are depends on timing, not on the engine."""
    names = [n for n, _ in events]
    out = []
    i = 0
    while i < len(events):
        for pattern in (FAILED_ATTEMPT, FAILED_ATTEMPT[1:]):
            if tuple(names[i:i + len(pattern)]) == pattern:
                i += len(pattern)
                break
        else:
            out.append(events[i])
            i += 1
    return out


def _endpoint(transport, tmp):
    return "tcp://127.0.0.1:*" if transport == "tcp" else f"ipc://{tmp}/mon.sock"


def run_lifecycle(lib, transport, tmp):
    """connect, accept, handshake, peer closes, peer restarts, reconnect, close, unbind."""
    ctx = lib.Context()
    steps = {}
    try:
        b = ctx.socket(lib.ROUTER)
        b.linger = 0
        bw = Watch(lib, monitor_of(b), "")
        b.bind(_endpoint(transport, tmp))
        ep = b.last_endpoint.decode()
        bw.endpoint = ep.encode()
        steps["bind"] = bw.until("LISTENING")

        c = ctx.socket(lib.DEALER)
        c.linger = 0
        c.reconnect_ivl = 20
        cw = Watch(lib, monitor_of(c), ep)
        c.connect(ep)
        steps["connect"] = cw.until("HANDSHAKE_SUCCEEDED")
        steps["accept"] = bw.until("HANDSHAKE_SUCCEEDED")

        # the peer goes away: its monitor stops after its listener closed; the
        # connecter sees the disconnect and schedules a retry
        b.close()
        steps["peer-close: binder"] = bw.until("MONITOR_STOPPED")
        steps["peer-close: connecter"] = cw.until("CONNECT_RETRIED")

        # the peer comes back on the same endpoint: the connecter gets through again
        b2 = ctx.socket(lib.ROUTER)
        b2.linger = 0
        bw2 = Watch(lib, monitor_of(b2), ep)
        b2.bind(ep)
        steps["restart: binder"] = bw2.until("HANDSHAKE_SUCCEEDED")
        steps["restart: connecter"] = _collapse_retries(cw.until("HANDSHAKE_SUCCEEDED"))

        # the connecter closes: its own monitor stops at once; the binder sees it leave
        c.close()
        steps["close: connecter"] = cw.until("MONITOR_STOPPED")
        steps["close: binder"] = bw2.until("DISCONNECTED")

        b2.unbind(ep)
        steps["unbind"] = bw2.until("CLOSED")
        b2.disable_monitor()
        steps["disable"] = bw2.until("MONITOR_STOPPED")
        b2.close()
        for w in (bw, cw, bw2):
            w.mon.close(0)
    finally:
        ctx.destroy(linger=0)
    return steps


def run_failures(lib, transport, tmp):
    """connect to nothing, a bind that fails, a peer dropping the handshake."""
    ctx = lib.Context()
    steps = {}
    try:
        # an endpoint nobody listens on: a port the OS gave and took back at once (a
        # libzmq socket closes its listener only later), or a path nobody bound
        if transport == "tcp":
            with pysocket.socket() as probe:
                probe.bind(("127.0.0.1", 0))
                ep = "tcp://127.0.0.1:%d" % probe.getsockname()[1]
        else:
            ep = f"ipc://{tmp}/nobody.sock"

        d = ctx.socket(lib.PUSH)
        d.linger = 0
        d.reconnect_ivl = 50
        dw = Watch(lib, monitor_of(d), ep)
        d.connect(ep)
        steps["connect to nothing"] = dw.until("CONNECT_RETRIED")
        retried = dw.seen[-1][1]
        assert 50 <= retried < 100, retried        # RECONNECT_IVL plus up to 100% jitter
        d.disable_monitor()
        steps["disable"] = dw.until("MONITOR_STOPPED")
        assert dw.seen[-1][1:] == (0, b"")

        # bind to an endpoint already taken (tcp) / in a directory that is not there (ipc)
        holder = ctx.socket(lib.PULL)
        holder.linger = 0
        holder.bind(_endpoint(transport, tmp))
        taken = holder.last_endpoint.decode()
        bad = taken if transport == "tcp" else f"ipc://{tmp}/missing/dir/x.sock"
        e = ctx.socket(lib.PULL)
        e.linger = 0
        ew = Watch(lib, monitor_of(e), bad)
        with pytest.raises(lib.ZMQError) as info:
            e.bind(bad)
        # (libzmq: the listening socket it opened is closed before its endpoint is known)
        steps["bind failed"] = ew.until("BIND_FAILED")
        assert ew.seen[-1][1] == info.value.errno
        assert info.value.errno == (errno.EADDRINUSE if transport == "tcp" else errno.ENOENT)
        assert ew.seen[-1][2] == bad.split("://", 1)[1].encode()

        # a peer that connects and leaves before any handshake
        if transport == "tcp":
            port = int(taken.rsplit(":", 1)[1])
            hw = Watch(lib, monitor_of(holder), taken)
            raw = pysocket.create_connection(("127.0.0.1", port))
            raw.close()
            steps["handshake dropped"] = hw.until("DISCONNECTED")
            hw.mon.close(0)
        # a peer of a type this one does not talk to: the binder fails the handshake, the
        # connecter only sees its connection go (then libzmq gives up on the endpoint,
        # zmqx retries later: not compared)
        pub = ctx.socket(lib.PUB)
        pub.linger = 0
        pub.bind(_endpoint(transport, tmp).replace("mon.sock", "pub.sock"))
        pub_ep = pub.last_endpoint.decode()
        pw = Watch(lib, monitor_of(pub), pub_ep)
        pull = ctx.socket(lib.PULL)
        pull.linger = 0
        pull.reconnect_ivl = 10000
        lw = Watch(lib, monitor_of(pull), pub_ep)
        pull.connect(pub_ep)
        # (which side notices first is a race: the binder may see the connecter's
        # READY and drop it, or the connecter's close during the handshake: compared
        # are the first and last events)
        seen = pw.until("DISCONNECTED")
        steps["incompatible: binder"] = [seen[0], seen[-1]]
        steps["incompatible: connecter"] = lw.until("DISCONNECTED")
        for w in (dw, ew, pw, lw):
            w.mon.close(0)
        pub.close(0)
        pull.close(0)
        for s in (d, e, holder):
            s.close(0)
    finally:
        ctx.destroy(linger=0)
    return steps


@pytest.fixture
def tmpdirs():
    with tempfile.TemporaryDirectory() as a, tempfile.TemporaryDirectory() as b:
        yield {"pyzmq": a, "zmqx": b}


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_lifecycle_events_match_libzmq(transport, tmpdirs):
    ours = run_lifecycle(zmqx, transport, tmpdirs["zmqx"])
    theirs = run_lifecycle(zmq, transport, tmpdirs["pyzmq"])
    assert ours == theirs
    delayed = [("CONNECT_DELAYED", "EP")] if transport == "tcp" else []
    # spelled out as well, so that this file documents what libzmq emits
    assert ours["bind"] == [("LISTENING", "EP")]
    assert ours["connect"] == delayed + [("CONNECTED", "EP"), ("HANDSHAKE_SUCCEEDED", "EP")]
    assert ours["accept"] == [("ACCEPTED", "EP"), ("HANDSHAKE_SUCCEEDED", "EP")]
    assert ours["peer-close: binder"] == [("CLOSED", "EP"), ("MONITOR_STOPPED", "")]
    assert ours["peer-close: connecter"] == [("DISCONNECTED", "EP"), ("CONNECT_RETRIED", "EP")]
    assert ours["restart: connecter"] == delayed + [("CONNECTED", "EP"),
                                                    ("HANDSHAKE_SUCCEEDED", "EP")]
    assert ours["close: connecter"] == [("MONITOR_STOPPED", "")]
    assert ours["close: binder"] == [("DISCONNECTED", "EP")]
    assert ours["unbind"] == [("CLOSED", "EP")]
    assert ours["disable"] == [("MONITOR_STOPPED", "")]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_failure_events_match_libzmq(transport, tmpdirs):
    ours = run_failures(zmqx, transport, tmpdirs["zmqx"])
    theirs = run_failures(zmq, transport, tmpdirs["pyzmq"])
    assert ours == theirs
    assert ours["incompatible: binder"] == [("ACCEPTED", "EP"), ("DISCONNECTED", "EP")]
    assert ours["incompatible: connecter"][-2:] == [("CONNECTED", "EP"), ("DISCONNECTED", "EP")]
    if transport == "tcp":
        assert ours["connect to nothing"] == [("CONNECT_DELAYED", "EP"), ("CLOSED", "EP"),
                                              ("CONNECT_RETRIED", "EP")]
        assert ours["handshake dropped"] == [("ACCEPTED", "EP"),
                                             ("HANDSHAKE_FAILED_NO_DETAIL", "EP"),
                                             ("DISCONNECTED", "EP")]
        assert ours["bind failed"] == [("CLOSED", ""), ("BIND_FAILED", "ADDR")]
    else:
        assert ours["connect to nothing"] == [("CLOSED", "EP"), ("CONNECT_RETRIED", "EP")]
        assert ours["bind failed"] == [("CLOSED", "EP"), ("BIND_FAILED", "ADDR")]


def test_wire_format_and_values():
    """Frame 1 is exactly uint16 event + uint32 value in native order, frame 2 the
    endpoint; HANDSHAKE_SUCCEEDED carries 0, LISTENING/ACCEPTED/CONNECTED an open fd."""
    import struct
    ctx = zmqx.Context()
    try:
        a = ctx.socket(zmqx.PAIR)
        mon = a.get_monitor_socket()
        mon.rcvtimeo = WAIT_MS
        a.bind("tcp://127.0.0.1:*")
        frames = mon.recv_multipart()
        assert len(frames) == 2 and len(frames[0]) == 6
        ev, value = struct.unpack("=HI", frames[0])
        assert ev == zmqx.EVENT_LISTENING
        assert frames[1] == a.last_endpoint
        os.fstat(value)                             # the listening socket's fd
        b = ctx.socket(zmqx.PAIR)
        b.connect(a.last_endpoint)
        seen = [recv_monitor_message(mon) for _ in range(2)]
        assert [e["event"] for e in seen] == [zmqx.EVENT_ACCEPTED,
                                              zmqx.EVENT_HANDSHAKE_SUCCEEDED]
        assert seen[1]["value"] == 0
        b.close(0)
        a.close(0)
        mon.close(0)
    finally:
        ctx.term()


def test_event_filter():
    ctx = zmqx.Context()
    try:
        a = ctx.socket(zmqx.PULL)
        mon = a.get_monitor_socket(zmqx.EVENT_HANDSHAKE_SUCCEEDED | zmqx.EVENT_MONITOR_STOPPED)
        mon.rcvtimeo = WAIT_MS
        a.bind("tcp://127.0.0.1:*")
        b = ctx.socket(zmqx.PUSH)
        b.connect(a.last_endpoint)
        # LISTENING and ACCEPTED are filtered out: the first event is the handshake
        assert recv_monitor_message(mon)["event"] == zmqx.EVENT_HANDSHAKE_SUCCEEDED
        a.disable_monitor()
        assert recv_monitor_message(mon)["event"] == zmqx.EVENT_MONITOR_STOPPED
        # a filter without MONITOR_STOPPED does not get it
        a.monitor("inproc://filtered", zmqx.EVENT_CONNECTED)
        r = ctx.socket(zmqx.PAIR)
        r.connect("inproc://filtered")
        a.monitor(None)
        assert r.poll(50) == 0
        for s in (a, b, mon, r):
            s.close(0)
    finally:
        ctx.term()


def test_monitor_errors_and_reuse():
    ctx = zmqx.Context()
    try:
        s = ctx.socket(zmqx.DEALER)
        with pytest.raises(zmqx.ZMQError) as info:
            s.monitor("tcp://127.0.0.1:5555")
        assert info.value.errno == errno.EPROTONOSUPPORT
        with pytest.raises(zmqx.ZMQError) as info:
            s.monitor("inproc://x", 0x10000)
        assert info.value.errno == errno.EINVAL
        m1 = s.get_monitor_socket()
        assert s.get_monitor_socket() is m1
        m1.close()
        m2 = s.get_monitor_socket()          # the old one was closed: a new one
        assert m2 is not m1
        # a reader connected before monitor() bound the address is adopted
        early = ctx.socket(zmqx.PAIR)
        early.rcvtimeo = WAIT_MS
        early.connect("inproc://early")
        s.monitor("inproc://early")
        s.connect("tcp://127.0.0.1:1")
        assert recv_monitor_message(early)["event"] in (zmqx.EVENT_CONNECT_DELAYED,
                                                        zmqx.EVENT_CLOSED)
        s.close(0)
        # the socket is gone: MONITOR_STOPPED ends the stream
        names = []
        while not names or names[-1] != zmqx.EVENT_MONITOR_STOPPED:
            names.append(recv_monitor_message(early)["event"])
        early.close(0)
        m2.close(0)
    finally:
        ctx.term()


def test_asyncio_monitor_socket():
    async def main():
        ctx = zasync.Context()
        try:
            a = ctx.socket(zmqx.PULL)
            mon = a.get_monitor_socket()
            assert isinstance(mon, zasync.Socket)
            a.bind("tcp://127.0.0.1:*")
            ev = await asyncio.wait_for(recv_monitor_message(mon), WAIT_MS / 1000)
            assert ev["event"] == zmqx.EVENT_LISTENING
            assert ev["endpoint"] == a.last_endpoint
            a.disable_monitor()
            ev = await asyncio.wait_for(recv_monitor_message(mon), WAIT_MS / 1000)
            assert ev["event"] == zmqx.EVENT_MONITOR_STOPPED
            a.close(0)
            mon.close(0)
        finally:
            ctx.term()
    asyncio.run(main())


def test_slow_reader_never_blocks_the_socket():
    """Events past the reader's HWM are dropped, not waited for: a reader that never
    reads cannot stall the I/O thread (libzmq's would)."""
    ctx = zmqx.Context()
    try:
        s = ctx.socket(zmqx.DEALER)
        s.reconnect_ivl = 1
        mon = s.get_monitor_socket()
        s.connect("tcp://127.0.0.1:1")       # retries every ~1-2 ms: many events
        stats_seen = 0
        # the socket keeps working while its events pile up unread
        for _ in range(200):
            stats_seen = s.stats()["events"]["CONNECT_RETRIED"]
            if stats_seen > 1000:
                break
            s.poll(20, zmqx.POLLIN)
        assert stats_seen > 1000
        n = 0
        while mon.poll(0):
            mon.recv_multipart()
            n += 1
        assert 0 < n < stats_seen * 3            # bounded by the HWM, not by the events
        s.close(0)
        mon.close(0)
    finally:
        ctx.term()
