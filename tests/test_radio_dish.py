"""RADIO/DISH (libzmq 4.3's draft pair, RFC 48): groups, join/leave, Frame.group, over
inproc/ipc/tcp and the udp:// transport (unicast and multicast), and what goes on the wire:

- behaviour: exact group matching (no prefixes), join/leave and their errors (EINVAL as
  libzmq for a group over 255 bytes, joining twice, leaving a group not joined; ENOTSUP on
  other types), single-part only, Frame.group / send(group=) / recv(copy=False).group,
  readiness that means "a joined message is there", drop at HWM (XPUB_NODROP waits);
- ZMTP: a plain Python socket as the peer checks the JOIN/LEAVE commands a DISH sends (as
  commands to 3.0 peers too, as libzmq does), the (group, body) frames a RADIO sends, the
  RADIO's per-peer filtering after JOIN/LEAVE, and that a peer breaking the two-frame form
  loses its connection;
- udp: RFC 48 datagrams both ways (1 octet group length, group, body) against a plain
  Python UDP socket, bad datagrams dropped, MULTICAST_HOPS (as the received TTL) and
  MULTICAST_LOOP, and which socket types may use udp (ENOCOMPATPROTO);
- libzmq interop when pyzmq has the draft API (skipped loudly otherwise: the wire tests
  above check libzmq's format instead). PyPI's pyzmq wheels have no draft API;
  tools/draft_pyzmq.sh builds one (libzmq 4.3.4 with drafts, pyzmq 27.1) in a venv, and
  every test here passes with it: both directions, both sides binding, over tcp, ipc, udp
  and udp multicast.

Multicast runs on the loopback interface (udp://127.0.0.1;239.x.y.z:port); a kernel that
refuses multicast there skips those tests, saying so. Synchronisation is on messages and
poll; nothing sleeps."""
import errno
import os
import select
import socket
import struct
import sys
import threading

import pytest

import zmqx
from zmqx._core import zmtp
from conftest import endpoint_for
from helpers import WAIT_MS, raises_errno, sock

pytestmark = pytest.mark.timeout(60)

EINVAL = zmqx.EINVAL
ENOTSUP = zmqx.ENOTSUP
ENOCOMPATPROTO = zmqx.ENOCOMPATPROTO
MCAST_GROUP = "239.255.%d.%d" % (os.getpid() % 250 + 1, 77)

ALL_TRANSPORTS = ["inproc", "ipc", "tcp", "udp", "udp-multicast"]


# ---------------------------------------------------------------- helpers

def _multicast_works():
    """Can a datagram go to a group on the loopback interface and come back?"""
    r = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        r.bind(("0.0.0.0", 0))
        r.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                     socket.inet_aton(MCAST_GROUP) + socket.inet_aton("127.0.0.1"))
        s.setsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, socket.inet_aton("127.0.0.1"))
        s.sendto(b"probe", (MCAST_GROUP, r.getsockname()[1]))
        return bool(select.select([r], [], [], 2)[0])
    except OSError:
        return False
    finally:
        r.close()
        s.close()


_MCAST = None


def need_multicast():
    global _MCAST
    if _MCAST is None:
        _MCAST = _multicast_works()
    if not _MCAST:
        pytest.skip("SKIPPED LOUDLY: this kernel refuses IPv4 multicast on the loopback "
                    "interface; udp multicast is not tested here")


def dish_endpoint(transport, ipc_dir):
    if transport == "udp":
        return "udp://127.0.0.1:*"
    if transport == "udp-multicast":
        need_multicast()
        return f"udp://127.0.0.1;{MCAST_GROUP}:*"
    return endpoint_for(transport, ipc_dir)


def pair(ctx, transport, ipc_dir, groups=(), dish_binds=True, **opts):
    """(radio, dish) joined to `groups`, connected over `transport`, and synchronised: a
    message to the group b"sync" has gone through (so every earlier join reached the
    RADIO). opts: options of both sockets."""
    radio = sock(ctx, zmqx.RADIO, **opts)
    dish = sock(ctx, zmqx.DISH, **opts)
    dish.join(b"sync")
    for g in groups:
        dish.join(g)
    if dish_binds or transport.startswith("udp"):
        dish.bind(dish_endpoint(transport, ipc_dir))
        radio.connect(dish.get(zmqx.LAST_ENDPOINT).decode())
    else:
        radio.bind(endpoint_for(transport, ipc_dir))
        dish.connect(radio.get(zmqx.LAST_ENDPOINT).decode())
    sync(radio, dish)
    return radio, dish


def sync(radio, dish, group=b"sync"):
    """Send to `group` until the DISH gets it, then drain the extra copies: after this,
    the DISH's joins so far are known to the RADIO."""
    for _ in range(WAIT_MS // 10):
        radio.send(b"probe", group=group)
        if dish.poll(10):
            break
    else:
        pytest.fail("nothing arrived from the RADIO")
    radio.send(b"probe-end", group=group)
    while True:
        f = dish.recv(copy=False)
        assert f.group == group.decode()
        if f.bytes == b"probe-end":
            return
        assert f.bytes == b"probe"


def recv_until(dish, marker):
    """(group, body) pairs received before the body `marker` (which is consumed)."""
    got = []
    while True:
        f = dish.recv(copy=False)
        if f.bytes == marker:
            return got
        got.append((f.group, f.bytes))


# ---------------------------------------------------------------- API

def test_types_and_names(ctx):
    assert (zmqx.RADIO, zmqx.DISH) == (14, 15)
    r = sock(ctx, zmqx.RADIO)
    d = sock(ctx, zmqx.DISH)
    assert r.type == zmqx.RADIO and d.type == zmqx.DISH
    assert zmtp.socktype_compatible(zmqx.RADIO, zmqx.DISH)
    assert zmtp.socktype_compatible(zmqx.DISH, zmqx.RADIO)
    assert not zmtp.socktype_compatible(zmqx.RADIO, zmqx.RADIO)
    assert not zmtp.socktype_compatible(zmqx.DISH, zmqx.SUB)
    r.close()
    d.close()


def test_join_leave_errors(ctx):
    d = sock(ctx, zmqx.DISH)
    d.join("a")
    with raises_errno(EINVAL):
        d.join("a")                       # twice
    with raises_errno(EINVAL):
        d.join(b"a")                      # the same group as bytes
    with raises_errno(EINVAL):
        d.leave("b")                      # never joined
    with raises_errno(EINVAL):
        d.join(b"x" * 256)                # ZMQ_GROUP_MAX_LENGTH is 255
    d.join(b"x" * 255)
    d.join("")                            # the empty group is a group
    with pytest.raises(TypeError):
        d.join(5)
    d.leave("a")
    with raises_errno(EINVAL):
        d.leave("a")                      # left already
    d.join("a")                           # and joined again
    for other in (zmqx.RADIO, zmqx.SUB, zmqx.PUB):
        s = sock(ctx, other)
        with raises_errno(ENOTSUP):
            s.join("a")
        with raises_errno(ENOTSUP):
            s.leave("a")
        s.close()
    d.close()


def test_single_part_and_directions(ctx, ipc_dir):
    radio, dish = pair(ctx, "inproc", ipc_dir, groups=[b"g"])
    with raises_errno(EINVAL):
        radio.send(b"part", zmqx.SNDMORE, group=b"g")
    with raises_errno(ENOTSUP):
        dish.send(b"x")
    with raises_errno(ENOTSUP):
        radio.recv(zmqx.NOBLOCK)
    with raises_errno(EINVAL):
        radio.send(b"x", group=b"y" * 256)
    radio.send(b"after", group=b"g")       # still usable, and nothing half-sent
    f = dish.recv(copy=False)
    assert (f.group, f.bytes, f.more) == ("g", b"after", False)
    radio.close()
    dish.close()


def test_group_does_not_leak_into_next_send(ctx, ipc_dir):
    radio, dish = pair(ctx, "inproc", ipc_dir, groups=[b"g", b""])
    radio.send(b"1", group="g")
    radio.send(b"2")                       # no group: the empty one, not the last one
    with pytest.raises(TypeError):
        radio.send("text is refused", group="g")
    radio.send(b"3")
    f = zmqx.Frame(b"4")
    f.group = "g"
    radio.send(f)
    radio.send(b"5")
    got = [(f.group, f.bytes) for f in (dish.recv(copy=False) for _ in range(5))]
    assert got == [("g", b"1"), ("", b"2"), ("", b"3"), ("g", b"4"), ("", b"5")]
    radio.close()
    dish.close()


def test_frame_group_property():
    f = zmqx.Frame(b"body")
    assert f.group == ""                   # libzmq: no group reads as ""
    f.group = "news"
    assert f.group == "news" and f.get("group") == "news"
    f.group = b"bytes-group"
    assert f.group == "bytes-group"
    f.set("group", "set")
    assert f.group == "set"
    g = zmqx.Frame(f)
    assert g.group == "set"
    import copy
    assert copy.copy(f).group == "set"
    with raises_errno(EINVAL):
        f.group = "z" * 256
    with pytest.raises(TypeError):
        f.group = 12
    assert f.group == "set"


def test_udp_only_for_radio_and_dish(ctx):
    for kind in (zmqx.PUSH, zmqx.PULL, zmqx.PUB, zmqx.SUB, zmqx.DEALER, zmqx.PAIR):
        s = sock(ctx, kind)
        with raises_errno(ENOCOMPATPROTO):
            s.bind("udp://127.0.0.1:*")
        with raises_errno(ENOCOMPATPROTO):
            s.connect("udp://127.0.0.1:5555")
        s.close()
    r = sock(ctx, zmqx.RADIO)
    d = sock(ctx, zmqx.DISH)
    with raises_errno(ENOCOMPATPROTO):
        r.bind("udp://127.0.0.1:*")        # a RADIO sends: it connects
    with raises_errno(ENOCOMPATPROTO):
        d.connect("udp://127.0.0.1:5555")  # a DISH receives: it binds
    for bad in ("udp://127.0.0.1", "udp://:5555", "udp://127.0.0.1:99999",
                "udp://127.0.0.1:*"):      # a destination needs a real port
        with raises_errno(EINVAL):
            r.connect(bad)
    with raises_errno(EINVAL):
        d.bind("udp://127.0.0.1;127.0.0.2:*")   # an interface only with a group
    d.bind("udp://127.0.0.1:*")
    ep = d.get(zmqx.LAST_ENDPOINT).decode()
    assert ep.startswith("udp://127.0.0.1:") and int(ep.rpartition(":")[2]) > 0
    r.close()
    d.close()


# ---------------------------------------------------------------- behaviour, all transports

@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_exact_group_matching(ctx, ipc_dir, transport):
    radio, dish = pair(ctx, transport, ipc_dir, groups=[b"weather", b"news"])
    for group, body in ((b"weather", b"w1"), (b"weath", b"prefix"), (b"weatherX", b"longer"),
                        (b"news", b"n1"), (b"sport", b"s1"), (b"", b"empty"),
                        (b"NEWS", b"case"), (b"weather", b"w2")):
        radio.send(body, group=group)
    radio.send(b"end", group=b"sync")
    assert recv_until(dish, b"end") == [("weather", b"w1"), ("news", b"n1"),
                                        ("weather", b"w2")]
    radio.close()
    dish.close()


@pytest.mark.parametrize("transport", ALL_TRANSPORTS)
def test_join_and_leave_while_connected(ctx, ipc_dir, transport):
    radio, dish = pair(ctx, transport, ipc_dir, groups=[b"a"])
    dish.join(b"b")
    sync(radio, dish, b"b")                # the join reached the RADIO
    radio.send(b"a1", group=b"a")
    radio.send(b"b1", group=b"b")
    dish.leave(b"a")
    radio.send(b"a2", group=b"a")          # left: never delivered, whatever is in flight
    radio.send(b"b2", group=b"b")
    radio.send(b"end", group=b"sync")
    got = recv_until(dish, b"end")
    assert got in ([("b", b"b1"), ("b", b"b2")], [("a", b"a1"), ("b", b"b1"), ("b", b"b2")])
    radio.close()
    dish.close()


@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp"])
def test_radio_binds_dish_connects(ctx, ipc_dir, transport):
    radio, dish = pair(ctx, transport, ipc_dir, groups=[b"g"], dish_binds=False)
    radio.send(b"no", group=b"h")
    radio.send(b"yes", group=b"g")
    f = dish.recv(copy=False)
    assert (f.group, f.bytes) == ("g", b"yes")
    radio.close()
    dish.close()


@pytest.mark.parametrize("transport", ["tcp", "udp"])
def test_group_forms(ctx, ipc_dir, transport):
    """send(group=str|bytes), a Frame's own group, send(Frame, group=) (which sets the
    Frame's group, as pyzmq), send_string; groups of 1 and 255 bytes; large bodies."""
    long_group = b"L" * 255
    radio, dish = pair(ctx, transport, ipc_dir, groups=[b"s", b"t", long_group])
    radio.send(b"as str", group="s")
    f = zmqx.Frame(b"own group")
    f.group = "t"
    radio.send(f)
    f2 = zmqx.Frame(b"overridden")
    f2.group = "nobody"
    radio.send(f2, group=b"s")
    assert f2.group == "s"
    radio.send_string("text", group="t")
    radio.send(b"long", group=long_group)
    big = os.urandom(7000 if transport == "udp" else 200000)
    radio.send(big, group="s", copy=False)
    radio.send(b"end", group="sync")
    got = recv_until(dish, b"end")
    assert got == [("s", b"as str"), ("t", b"own group"), ("s", b"overridden"),
                   ("t", b"text"), (long_group.decode(), b"long"), ("s", big)]
    radio.close()
    dish.close()


def test_copy_true_recv_gives_bytes(ctx, ipc_dir):
    radio, dish = pair(ctx, "inproc", ipc_dir, groups=[b"g"])
    radio.send(b"plain", group=b"g")
    assert dish.recv() == b"plain"
    radio.send(b"other", group=b"g")
    assert dish.recv_multipart() == [b"other"]    # one frame: the group is not a part
    radio.close()
    dish.close()


def test_two_dishes_get_their_own_groups(ctx, ipc_dir):
    radio = sock(ctx, zmqx.RADIO)
    radio.bind("tcp://127.0.0.1:*")
    ep = radio.get(zmqx.LAST_ENDPOINT).decode()
    d1 = sock(ctx, zmqx.DISH)
    d2 = sock(ctx, zmqx.DISH)
    for d, g in ((d1, b"one"), (d2, b"two")):
        d.join(g)
        d.join(b"sync-" + g)               # each its own: syncing one leaves the other be
        d.connect(ep)
        sync(radio, d, b"sync-" + g)
    for i in range(5):
        radio.send(b"1-%d" % i, group=b"one")
        radio.send(b"2-%d" % i, group=b"two")
    radio.send(b"end", group=b"sync-one")
    radio.send(b"end", group=b"sync-two")
    assert recv_until(d1, b"end") == [("one", b"1-%d" % i) for i in range(5)]
    assert recv_until(d2, b"end") == [("two", b"2-%d" % i) for i in range(5)]
    for s in (radio, d1, d2):
        s.close()


def test_readiness_means_a_joined_message(ctx, ipc_dir):
    radio, dish = pair(ctx, "inproc", ipc_dir, groups=[b"g"])
    radio.send(b"not joined", group=b"h")  # inproc: in the DISH's pipe already
    assert dish.poll(0) == 0
    assert dish.get(zmqx.EVENTS) & zmqx.POLLIN == 0
    radio.send(b"joined", group=b"g")
    assert dish.poll(0) == zmqx.POLLIN
    assert radio.poll(0, zmqx.POLLOUT) == zmqx.POLLOUT
    f = dish.recv(copy=False)
    assert (f.group, f.bytes) == ("g", b"joined")
    assert dish.poll(0) == 0
    radio.close()
    dish.close()


def test_drops_at_hwm_like_pub(ctx):
    radio = sock(ctx, zmqx.RADIO, sndhwm=10)
    dish = sock(ctx, zmqx.DISH, rcvhwm=10)
    dish.join(b"g")
    dish.join(b"sync")
    dish.bind("inproc://radio-hwm")
    radio.connect("inproc://radio-hwm")
    sync(radio, dish)                      # the DISH has attached the link and joined
    for i in range(100):                   # never blocks, never raises Again
        radio.send(b"%d" % i, zmqx.NOBLOCK, group=b"g")
    radio.send(b"end", zmqx.NOBLOCK, group=b"g")   # dropped too: the pipe is full
    got = []
    while dish.poll(0):
        got.append(dish.recv())
    # an inproc link holds SNDHWM + RCVHWM messages: the first 20, the rest dropped
    assert got == [b"%d" % i for i in range(20)]
    radio.close()
    dish.close()


def test_nodrop_waits_at_hwm(ctx):
    radio = sock(ctx, zmqx.RADIO, sndhwm=5)
    radio.set(zmqx.XPUB_NODROP, 1)
    assert radio.get(zmqx.XPUB_NODROP) == 1
    dish = sock(ctx, zmqx.DISH, rcvhwm=5)
    dish.join(b"g")
    dish.join(b"sync")
    dish.bind("inproc://radio-nodrop")
    radio.connect("inproc://radio-nodrop")
    sync(radio, dish)
    for i in range(10):
        radio.send(b"%d" % i, zmqx.NOBLOCK, group=b"g")
    with pytest.raises(zmqx.Again):
        radio.send(b"full", zmqx.NOBLOCK, group=b"g")
    radio.send(b"other group", zmqx.NOBLOCK, group=b"h")   # nobody joined: never waits
    assert [dish.recv() for _ in range(10)] == [b"%d" % i for i in range(10)]
    radio.send(b"room again", zmqx.NOBLOCK, group=b"g")
    assert dish.recv() == b"room again"
    radio.close()
    dish.close()


def test_dish_rejoins_after_radio_restart(ctx):
    """A reconnect resends every joined group (libzmq's xhiccuped)."""
    radio = sock(ctx, zmqx.RADIO)
    radio.bind("tcp://127.0.0.1:*")
    ep = radio.get(zmqx.LAST_ENDPOINT).decode()
    dish = sock(ctx, zmqx.DISH, reconnect_ivl=20)
    dish.join(b"g")
    dish.join(b"sync")
    dish.connect(ep)
    sync(radio, dish)
    radio.close()
    radio = sock(ctx, zmqx.RADIO)
    for _ in range(WAIT_MS // 10):         # the old listener closes on the I/O thread
        try:
            radio.bind(ep)
            break
        except zmqx.ZMQError as e:
            assert e.errno == errno.EADDRINUSE
            select.select([], [], [], 0.01)
    else:
        pytest.fail("the port was not released")
    sync(radio, dish)                      # only arrives if "sync" was joined again
    radio.send(b"x", group=b"h")
    radio.send(b"after", group=b"g")
    f = dish.recv(copy=False)
    assert (f.group, f.bytes) == ("g", b"after")
    radio.close()
    dish.close()


def test_unbind_udp_stops_delivery(ctx):
    dish = sock(ctx, zmqx.DISH)
    dish.join(b"g")
    dish.bind("udp://127.0.0.1:*")
    ep = dish.get(zmqx.LAST_ENDPOINT).decode()
    port = int(ep.rpartition(":")[2])
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.sendto(b"\x01gfirst", ("127.0.0.1", port))
    assert dish.recv() == b"first"
    dish.unbind(ep)
    with raises_errno(errno.ENOENT):
        dish.unbind(ep)
    # the port is free again: the endpoint's OS socket was closed
    probe = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    for _ in range(WAIT_MS // 10):
        try:
            probe.bind(("127.0.0.1", port))
            break
        except OSError:
            select.select([], [], [], 0.01)
    else:
        pytest.fail("the udp endpoint still holds its port after unbind")
    probe.close()
    raw.close()
    dish.close()


# ---------------------------------------------------------------- the ZMTP wire

def raw_listener(transport, ipc_dir):
    if transport == "tcp":
        lst = socket.socket()
        lst.bind(("127.0.0.1", 0))
        addr = "tcp://127.0.0.1:%d" % lst.getsockname()[1]
    else:
        path = os.path.join(ipc_dir, "raw-radio")
        lst = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        lst.bind(path)
        addr = "ipc://" + path
    lst.listen(4)
    lst.settimeout(WAIT_MS / 1000)
    return lst, addr


def raw_connect(addr):
    if addr.startswith("tcp://"):
        host, port = addr[6:].rsplit(":", 1)
        return socket.create_connection((host, int(port)), timeout=WAIT_MS / 1000)
    c = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    c.settimeout(WAIT_MS / 1000)
    c.connect(addr[6:])
    return c


def raw_handshake(c, socktype, minor=1):
    hs = zmtp.Handshake(socktype, b"")
    out = bytearray(hs.data_to_send())
    out[11] = minor
    c.sendall(bytes(out))
    rest = b""
    while not hs.done:
        data = c.recv(4096)
        assert data, "closed during the handshake"
        rest = hs.feed(data)
        extra = hs.data_to_send()
        if extra:
            c.sendall(extra)
    dec = zmtp.Decoder()
    return dec, dec.feed(rest)


def next_event(c, dec, pending, poke=None):
    """The next event from the raw peer. poke: a zmqx socket to call poll(0) on while
    waiting - a socket takes in new peers (and so sends them its JOINs) and reads what
    they sent only inside its own calls, libzmq's too."""
    for _ in range(WAIT_MS // 10):
        if pending:
            return pending.pop(0)
        if poke is not None:
            poke.poll(0)
        if select.select([c], [], [], 0.01)[0]:
            data = c.recv(65536)
            assert data, "connection closed"
            pending.extend(dec.feed(data))
    pytest.fail("nothing came from the zmqx peer")


def saw_eof(c, poke):
    """Does the zmqx socket `poke` drop the connection c? (poked as in next_event)"""
    for _ in range(WAIT_MS // 10):
        poke.poll(0)
        if select.select([c], [], [], 0.01)[0]:
            try:
                if not c.recv(65536):
                    return True
            except ConnectionResetError:
                return True
    return False


@pytest.mark.parametrize("minor", [0, 1])
@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_dish_sends_join_leave_commands(ctx, ipc_dir, transport, minor):
    """A zmqx DISH talking to a raw RADIO: JOIN for the groups joined before the
    connection, then JOIN/LEAVE as they happen, as ZMTP commands - to a 3.0 peer too (libzmq
    encodes them as commands for every 3.x peer); then (group, body) frames are filtered
    and delivered, and a message that is not a (group, body) pair ends the connection."""
    lst, addr = raw_listener(transport, ipc_dir)
    dish = sock(ctx, zmqx.DISH)
    dish.join(b"early")
    dish.connect(addr)
    c, _ = lst.accept()
    c.settimeout(WAIT_MS / 1000)
    try:
        dec, pending = raw_handshake(c, zmqx.RADIO, minor)
        dish.join(b"late")
        dish.leave(b"early")
        got = [next_event(c, dec, pending, dish) for _ in range(3)]
        assert got == [("command", b"JOIN", b"early"), ("command", b"JOIN", b"late"),
                       ("command", b"LEAVE", b"early")]
        # exact bytes of one command: flags 0x04, size, name length, name, group
        assert zmtp.encode_command(b"JOIN", b"late") == b"\x04\x09\x04JOINlate"
        c.sendall(zmtp.encode_frame(b"early", more=True) + zmtp.encode_frame(b"left")
                  + zmtp.encode_frame(b"lat", more=True) + zmtp.encode_frame(b"prefix")
                  + zmtp.encode_frame(b"late", more=True) + zmtp.encode_frame(b"yes"))
        f = dish.recv(copy=False)
        assert (f.group, f.bytes) == ("late", b"yes")
        c.sendall(zmtp.encode_frame(b"late"))              # no body: not RADIO's form
        assert saw_eof(c, dish), "the DISH kept a peer that broke the (group, body) form"
    finally:
        c.close()
        lst.close()
    dish.close()


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_dish_drops_peer_sending_three_frames(ctx, ipc_dir, transport):
    dish = sock(ctx, zmqx.DISH)
    dish.join(b"g")
    dish.bind(endpoint_for(transport, ipc_dir))
    c = raw_connect(dish.get(zmqx.LAST_ENDPOINT).decode())
    try:
        dec, pending = raw_handshake(c, zmqx.RADIO)
        assert next_event(c, dec, pending, dish) == ("command", b"JOIN", b"g")
        c.sendall(zmtp.encode_frame(b"g", more=True) + zmtp.encode_frame(b"ok"))
        assert dish.recv() == b"ok"
        c.sendall(zmtp.encode_frame(b"g", more=True) + zmtp.encode_frame(b"a", more=True)
                  + zmtp.encode_frame(b"b"))
        assert saw_eof(c, dish)
        assert dish.poll(0) == 0           # nothing of the broken message was delivered
    finally:
        c.close()
    dish.close()


@pytest.mark.parametrize("transport", ["ipc", "tcp"])
def test_radio_filters_per_peer_on_the_wire(ctx, ipc_dir, transport):
    """A raw DISH joins with a JOIN command: the zmqx RADIO sends it exactly the (group
    MORE, body) frames of that group, and after LEAVE no more of them."""
    radio = sock(ctx, zmqx.RADIO)
    radio.bind(endpoint_for(transport, ipc_dir))
    c = raw_connect(radio.get(zmqx.LAST_ENDPOINT).decode())
    try:
        dec, pending = raw_handshake(c, zmqx.DISH)
        c.sendall(zmtp.encode_command(b"JOIN", b"g"))
        c.setblocking(False)
        for _ in range(WAIT_MS // 10):
            radio.send(b"other", group=b"h")
            radio.send(b"probe", group=b"g")
            if select.select([c], [], [], 0.01)[0]:
                break
        else:
            pytest.fail("the JOIN was not honoured")
        c.settimeout(WAIT_MS / 1000)
        radio.send(b"end", group=b"g")
        while (ev := next_event(c, dec, pending)) != ("message", [b"g", b"end"]):
            assert ev == ("message", [b"g", b"probe"]), ev   # never the group h
        # the wire form of one message: group frame with MORE, then the body
        c.sendall(zmtp.encode_command(b"LEAVE", b"g") + zmtp.encode_command(b"JOIN", b"k"))
        c.setblocking(False)
        seen = []
        for _ in range(WAIT_MS // 10):
            radio.send(b"late", group=b"g")     # until the LEAVE is processed
            radio.send(b"k-probe", group=b"k")  # once the JOIN (after it) is
            if select.select([c], [], [], 0.01)[0]:
                c.settimeout(WAIT_MS / 1000)
                seen.append(next_event(c, dec, pending)[1])
                c.setblocking(False)
                if seen[-1] == [b"k", b"k-probe"]:
                    break
        else:
            pytest.fail("the JOIN of k was not honoured")
        c.settimeout(WAIT_MS / 1000)
        radio.send(b"after leave", group=b"g")
        radio.send(b"k-end", group=b"k")
        while (ev := next_event(c, dec, pending)) != ("message", [b"k", b"k-end"]):
            assert ev == ("message", [b"k", b"k-probe"]), ev
    finally:
        c.close()
    radio.close()


def test_radio_survives_bad_joins(ctx):
    """A raw DISH sends a JOIN with a 256-byte group (over the limit: ignored), data frames
    and a multipart message (a DISH never sends data: dropped), an unknown command; the
    connection stays, and a valid JOIN after them works."""
    radio = sock(ctx, zmqx.RADIO)
    radio.bind("tcp://127.0.0.1:*")
    c = raw_connect(radio.get(zmqx.LAST_ENDPOINT).decode())
    try:
        dec, pending = raw_handshake(c, zmqx.DISH)
        c.sendall(zmtp.encode_command(b"JOIN", b"x" * 256)
                  + zmtp.encode_frame(b"\x01g")            # the subscription message form
                  + zmtp.encode_frame(b"a", more=True) + zmtp.encode_frame(b"b")
                  + zmtp.encode_command(b"WHAT", b"g")
                  + zmtp.encode_command(b"JOIN", b"g"))
        c.setblocking(False)
        for _ in range(WAIT_MS // 10):
            radio.send(b"long", group=b"x" * 255)
            radio.send(b"probe", group=b"g")
            if select.select([c], [], [], 0.01)[0]:
                break
        else:
            pytest.fail("the valid JOIN after the bad ones was not honoured")
        radio.send(b"end", group=b"g")
        while (ev := next_event(c, dec, pending)) != ("message", [b"g", b"end"]):
            assert ev == ("message", [b"g", b"probe"]), ev
    finally:
        c.close()
    radio.close()


def test_radio_raw_bytes_of_a_message(ctx):
    radio = sock(ctx, zmqx.RADIO)
    radio.bind("tcp://127.0.0.1:*")
    c = raw_connect(radio.get(zmqx.LAST_ENDPOINT).decode())
    try:
        dec, pending = raw_handshake(c, zmqx.DISH)
        assert not pending
        c.sendall(b"\x04\x06\x04JOINg")            # JOIN g, written out by hand
        c.setblocking(False)
        for _ in range(WAIT_MS // 10):
            radio.send(b"body", group=b"g")
            if select.select([c], [], [], 0.01)[0]:
                break
        c.settimeout(WAIT_MS / 1000)
        data = b""
        while len(data) < 9:
            data += c.recv(9 - len(data))
        assert data == b"\x01\x01g\x00\x04body"    # MORE|1|"g", then 0|4|"body"
    finally:
        c.close()
    radio.close()


# ---------------------------------------------------------------- udp: RFC 48 datagrams

def test_udp_datagrams_into_dish(ctx):
    dish = sock(ctx, zmqx.DISH)
    dish.join(b"g")
    dish.join(b"")
    dish.bind("udp://127.0.0.1:*")
    port = int(dish.get(zmqx.LAST_ENDPOINT).decode().rpartition(":")[2])
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    dest = ("127.0.0.1", port)
    try:
        raw.sendto(b"\x01ghello", dest)
        f = dish.recv(copy=False)
        assert (f.group, f.bytes) == ("g", b"hello")
        for bad in (b"",                      # empty: not even a length
                    b"\x05abc",               # the group runs past the end
                    b"\xffg",                 # ditto, the longest length
                    b"\x01hnot joined",       # a group nobody joined
                    b"\x02gg" + b"x" * 10):   # "gg" is not "g"
            raw.sendto(bad, dest)
        raw.sendto(b"\x00", dest)             # the empty group, empty body
        raw.sendto(b"\x01gafter", dest)
        f = dish.recv(copy=False)
        assert (f.group, f.bytes) == ("", b"")
        f = dish.recv(copy=False)
        assert (f.group, f.bytes) == ("g", b"after")
        big = os.urandom(60000)
        raw.sendto(b"\x01g" + big, dest)
        assert dish.recv() == big
    finally:
        raw.close()
    dish.close()


def test_udp_radio_datagram_format(ctx):
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(("127.0.0.1", 0))
    raw.settimeout(WAIT_MS / 1000)
    radio = sock(ctx, zmqx.RADIO)
    radio.connect("udp://127.0.0.1:%d" % raw.getsockname()[1])
    try:
        radio.send(b"payload", group=b"grp")
        assert raw.recv(65536) == b"\x03grppayload"
        radio.send(b"no group")
        assert raw.recv(65536) == b"\x00no group"
        radio.send(b"", group=b"G" * 255)
        assert raw.recv(65536) == b"\xff" + b"G" * 255
        body = os.urandom(30000)
        radio.send(body, group=b"big", copy=False)
        assert raw.recv(65536) == b"\x03big" + body
    finally:
        raw.close()
    radio.close()


def _mcast_receiver(local_ip):
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    raw.bind(("0.0.0.0", 0))
    raw.setsockopt(socket.IPPROTO_IP, socket.IP_ADD_MEMBERSHIP,
                   socket.inet_aton(MCAST_GROUP) + socket.inet_aton(local_ip))
    raw.settimeout(WAIT_MS / 1000)
    return raw, "udp://%s;%s:%d" % (local_ip, MCAST_GROUP, raw.getsockname()[1])


def test_udp_radio_to_raw_multicast_receiver(ctx):
    need_multicast()
    raw, dest = _mcast_receiver("127.0.0.1")
    # IP_RECVTTL (Linux: 12; Python's socket module does not name it)
    recvttl = getattr(socket, "IP_RECVTTL", 12 if sys.platform.startswith("linux") else None)
    if recvttl is not None:
        raw.setsockopt(socket.IPPROTO_IP, recvttl, 1)
    radio = sock(ctx, zmqx.RADIO)
    radio.set(zmqx.MULTICAST_HOPS, 7)
    assert radio.get(zmqx.MULTICAST_HOPS) == 7
    radio.connect(dest)
    try:
        radio.send(b"hello", group=b"g")
        data, anc, _, _ = raw.recvmsg(65536, socket.CMSG_SPACE(4))
        assert data == b"\x01ghello"
        ttls = [struct.unpack("i", d[:4])[0] for lvl, typ, d in anc
                if lvl == socket.IPPROTO_IP and typ == socket.IP_TTL]
        if recvttl is not None:
            assert ttls == [7]                 # MULTICAST_HOPS became the IP TTL
    finally:
        raw.close()
    radio.close()


def _non_loopback_ipv4():
    from zmqx._core.io_thread import _interface_address
    for _, name in socket.if_nameindex():
        ip = _interface_address(name, socket.AF_INET)
        if ip and not ip.startswith("127."):
            return ip
    return None


def test_udp_multicast_loop_off_keeps_datagrams_off_this_host(ctx):
    """MULTICAST_LOOP=0: this host's own receivers do not get the datagrams. (On the
    loopback interface the datagram comes back through lo whatever the option says, so
    this needs another interface.)"""
    need_multicast()
    ip = _non_loopback_ipv4()
    if ip is None:
        pytest.skip("SKIPPED LOUDLY: no IPv4 interface besides loopback to test "
                    "MULTICAST_LOOP on")
    try:
        raw, dest = _mcast_receiver(ip)
    except OSError as e:
        pytest.skip(f"SKIPPED LOUDLY: cannot join a multicast group on {ip}: {e}")
    quiet = sock(ctx, zmqx.RADIO)
    quiet.set(zmqx.MULTICAST_LOOP, 0)
    assert quiet.get(zmqx.MULTICAST_LOOP) == 0
    quiet.connect(dest)
    loud = sock(ctx, zmqx.RADIO)
    assert loud.get(zmqx.MULTICAST_LOOP) == 1  # libzmq's default
    loud.connect(dest)
    try:
        for i in range(3):
            quiet.send(b"looped back?", group=b"g")
        loud.send(b"marker", group=b"g")
        try:
            first = raw.recv(65536)
        except socket.timeout:
            pytest.skip(f"SKIPPED LOUDLY: multicast on {ip} does not come back even with "
                        "MULTICAST_LOOP=1")
        assert first == b"\x01gmarker"
    finally:
        raw.close()
    quiet.close()
    loud.close()


def _ipv6_iface():
    """A non-loopback interface with an IPv6 address (IPv6 multicast is not routed on lo
    here), or None."""
    from zmqx._core.io_thread import _interface_address
    for _, name in socket.if_nameindex():
        if name != "lo" and _interface_address(name, socket.AF_INET6):
            return name
    return None


@pytest.mark.parametrize("kind", ["unicast", "multicast"])
def test_udp_ipv6(ctx, kind):
    if not socket.has_ipv6:
        pytest.skip("SKIPPED LOUDLY: no IPv6 in this Python")
    if kind == "unicast":
        where = "udp://[::1]:*"
    else:
        iface = _ipv6_iface()
        if iface is None:
            pytest.skip("SKIPPED LOUDLY: no IPv6 interface besides loopback for multicast")
        where = "udp://%s;[ff02::1:3]:*" % iface     # link-local: the scope is the interface
    dish = sock(ctx, zmqx.DISH, ipv6=1)
    dish.join(b"g")
    try:
        dish.bind(where)
    except zmqx.ZMQError as e:
        pytest.skip(f"SKIPPED LOUDLY: this kernel refuses {where}: {e}")
    ep = dish.get(zmqx.LAST_ENDPOINT).decode()
    radio = sock(ctx, zmqx.RADIO, ipv6=1)
    radio.connect(ep)
    for _ in range(WAIT_MS // 10):
        radio.send(b"six", group=b"g")
        if dish.poll(10):
            break
    f = dish.recv(copy=False)
    assert (f.group, f.bytes) == ("g", b"six")
    radio.close()
    dish.close()


def test_udp_multicast_two_dishes_share_the_port(ctx):
    need_multicast()
    d1 = sock(ctx, zmqx.DISH)
    d1.join(b"g")
    d1.bind(f"udp://127.0.0.1;{MCAST_GROUP}:*")
    ep = d1.get(zmqx.LAST_ENDPOINT).decode()
    d2 = sock(ctx, zmqx.DISH)
    d2.join(b"g")
    d2.bind(ep)                                 # SO_REUSEADDR: both get every datagram
    radio = sock(ctx, zmqx.RADIO)
    radio.connect(ep)
    radio.send(b"to both", group=b"g")
    assert d1.recv() == b"to both"
    assert d2.recv() == b"to both"
    for s in (radio, d1, d2):
        s.close()


def test_udp_dish_drops_at_hwm_and_recovers(ctx):
    """UDP has no push-back: a DISH that does not read keeps at most RCVHWM messages (plus
    what the kernel buffers), drops the rest, and takes new ones once it has read."""
    dish = sock(ctx, zmqx.DISH, rcvhwm=5, rcvbuf=4096)
    dish.join(b"g")
    dish.bind("udp://127.0.0.1:*")
    port = int(dish.get(zmqx.LAST_ENDPOINT).decode().rpartition(":")[2])
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    try:
        for i in range(2000):
            raw.sendto(b"\x01g%d" % i, ("127.0.0.1", port))
        got = [dish.recv()]
        while dish.poll(200):
            got.append(dish.recv())
        assert got[:5] == [b"%d" % i for i in range(5)]
        assert len(got) < 2000                 # the rest was dropped, nothing blocked
        raw.sendto(b"\x01gfresh", ("127.0.0.1", port))
        assert dish.recv() == b"fresh"
    finally:
        raw.close()
    dish.close()


def test_udp_radio_close_sends_what_it_holds(ctx):
    raw = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    raw.bind(("127.0.0.1", 0))
    raw.settimeout(WAIT_MS / 1000)
    radio = ctx.socket(zmqx.RADIO)
    radio.connect("udp://127.0.0.1:%d" % raw.getsockname()[1])
    for i in range(20):
        radio.send(b"%d" % i, group=b"g")
    radio.close()
    try:
        assert [raw.recv(100) for _ in range(20)] == [b"\x01g%d" % i for i in range(20)]
    finally:
        raw.close()


def test_thread_sends_while_dish_polls(ctx):
    """RADIO over udp from another thread while the DISH waits in poll: a wake-up from
    the I/O thread, not a busy loop, delivers it."""
    dish = sock(ctx, zmqx.DISH)
    dish.join(b"g")
    dish.bind("udp://127.0.0.1:*")
    ep = dish.get(zmqx.LAST_ENDPOINT).decode()
    radio = sock(ctx, zmqx.RADIO)
    radio.connect(ep)
    done = threading.Event()

    def send():
        while not done.is_set():
            radio.send(b"x", group=b"g")
            done.wait(0.01)

    t = threading.Thread(target=send)
    t.start()
    try:
        assert dish.poll(WAIT_MS) == zmqx.POLLIN
        assert dish.recv() == b"x"
    finally:
        done.set()
        t.join()
    radio.close()
    dish.close()


# ---------------------------------------------------------------- libzmq (pyzmq) as the peer

def _pyzmq_draft():
    zmq = pytest.importorskip("zmq")
    if not zmq.has("draft"):
        pytest.skip("SKIPPED LOUDLY: this pyzmq/libzmq is built without the draft API "
                    "(zmq.has('draft') is False), so libzmq has no RADIO/DISH to talk to; "
                    "the raw ZMTP and raw UDP tests above check libzmq's wire format")
    return zmq


def _pyzmq_dish_endpoint(transport, ipc_dir):
    """Where a libzmq DISH binds. For udp a free port is found by binding port 0 and
    closing: libzmq reports no port for udp://host:* (its LAST_ENDPOINT is the text given)."""
    if transport in ("tcp", "ipc"):
        return endpoint_for(transport, ipc_dir)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    if transport == "udp":
        return "udp://127.0.0.1:%d" % port
    need_multicast()
    return "udp://127.0.0.1;%s:%d" % (MCAST_GROUP, port)


INTEROP = ["tcp", "ipc", "udp", "udp-multicast"]


@pytest.mark.parametrize("transport", INTEROP)
def test_pyzmq_radio_to_zmqx_dish(ctx, zctx, ipc_dir, transport):
    zmq = _pyzmq_draft()
    dish = sock(ctx, zmqx.DISH)
    dish.join(b"g")
    dish.join(b"sync")
    dish.bind(dish_endpoint(transport, ipc_dir))
    radio = zctx.socket(zmq.RADIO)
    radio.linger = 0
    radio.connect(dish.get(zmqx.LAST_ENDPOINT).decode())
    sync(radio, dish)
    dish.join("late")                      # after the connection: a JOIN command now
    sync(radio, dish, b"late")
    dish.leave("g")
    for group, body in ((b"g", b"left"), (b"h", b"never"), (b"gg", b"prefix"),
                        (b"late", b"yes"), (b"L" * 255, b"long")):
        radio.send(body, group=group)
    radio.send(b"end", group="sync")
    assert recv_until(dish, b"end") == [("late", b"yes")]
    radio.close()
    dish.close()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_zmqx_dish_connects_to_pyzmq_radio(ctx, zctx, ipc_dir, transport):
    zmq = _pyzmq_draft()
    radio = zctx.socket(zmq.RADIO)
    radio.linger = 0
    radio.bind(endpoint_for(transport, ipc_dir))
    dish = sock(ctx, zmqx.DISH)
    dish.join(b"sync")
    dish.join(b"L" * 255)
    dish.connect(radio.getsockopt(zmq.LAST_ENDPOINT).decode())
    sync(radio, dish)
    radio.send(b"no", group="h")
    radio.send(b"long group", group="L" * 255)
    f = dish.recv(copy=False)
    assert (f.group, f.bytes) == ("L" * 255, b"long group")
    radio.close()
    dish.close()


@pytest.mark.parametrize("transport", INTEROP)
def test_zmqx_radio_to_pyzmq_dish(ctx, zctx, ipc_dir, transport):
    zmq = _pyzmq_draft()
    dish = zctx.socket(zmq.DISH)
    dish.linger = 0
    dish.rcvtimeo = WAIT_MS
    dish.join("g")
    dish.join("sync")
    ep = _pyzmq_dish_endpoint(transport, ipc_dir)
    dish.bind(ep)
    if not transport.startswith("udp"):
        ep = dish.getsockopt(zmq.LAST_ENDPOINT).decode()
    radio = sock(ctx, zmqx.RADIO)
    radio.connect(ep)
    sync(radio, dish)
    dish.join("late")
    sync(radio, dish, b"late")
    for group, body in ((b"g", b"yes"), (b"h", b"never"), (b"late", b"too"),
                        (b"", b"empty group")):
        radio.send(body, group=group)
    radio.send(b"end", group="sync")
    assert recv_until(dish, b"end") == [("g", b"yes"), ("late", b"too")]
    radio.close()
    dish.close()


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_pyzmq_dish_connects_to_zmqx_radio(ctx, zctx, ipc_dir, transport):
    """libzmq's JOIN/LEAVE commands reach a zmqx RADIO, which then filters per peer."""
    zmq = _pyzmq_draft()
    radio = sock(ctx, zmqx.RADIO)
    radio.bind(endpoint_for(transport, ipc_dir))
    dish = zctx.socket(zmq.DISH)
    dish.linger = 0
    dish.rcvtimeo = WAIT_MS
    dish.join("sync")
    dish.connect(radio.get(zmqx.LAST_ENDPOINT).decode())
    sync(radio, dish)
    dish.join("g")
    sync(radio, dish, b"g")
    radio.send(b"h", group="h")
    radio.send(b"g", group="g")
    radio.send(b"end", group="sync")
    assert recv_until(dish, b"end") == [("g", b"g")]
    radio.close()
    dish.close()


@pytest.mark.parametrize("minor", [0, 1])
def test_libzmq_dish_joins_with_commands_like_zmqx(zctx, ipc_dir, minor):
    """What zmqx's DISH does on the wire is what libzmq's does: JOIN/LEAVE as commands,
    to a peer that announced ZMTP 3.0 as well (libzmq's v2 encoder keeps the command flag;
    only SUBSCRIBE/CANCEL have a message form)."""
    zmq = _pyzmq_draft()
    lst, addr = raw_listener("tcp", ipc_dir)
    dish = zctx.socket(zmq.DISH)
    dish.linger = 0
    dish.join("early")
    dish.connect(addr)
    c, _ = lst.accept()
    c.settimeout(WAIT_MS / 1000)
    try:
        dec, pending = raw_handshake(c, zmqx.RADIO, minor)
        dish.join("late")
        dish.leave(b"early")
        got = [next_event(c, dec, pending) for _ in range(3)]
        assert got == [("command", b"JOIN", b"early"), ("command", b"JOIN", b"late"),
                       ("command", b"LEAVE", b"early")]
    finally:
        c.close()
        lst.close()
    dish.close()


# ---------------------------------------------------------------- asyncio

def test_asyncio_send_group_and_recv_frame_group():
    import asyncio
    import zmqx.asyncio as zaio

    async def main():
        ctx = zaio.Context()
        dish = ctx.socket(zmqx.DISH)
        dish.linger = 0
        radio = ctx.socket(zmqx.RADIO)
        radio.linger = 0
        dish.join("g")
        dish.bind("inproc://radio-asyncio")
        radio.connect("inproc://radio-asyncio")
        dish.get(zmqx.EVENTS)              # takes in the link: the JOIN goes to the RADIO
        await radio.send(b"other", group="h")
        await radio.send(b"hello", group="g")
        f = await asyncio.wait_for(dish.recv(copy=False), WAIT_MS / 1000)
        assert (f.group, f.bytes) == ("g", b"hello")
        radio.close()
        dish.close()
        ctx.term()

    asyncio.run(main())


# ---------------------------------------------------------------- several threads

@pytest.mark.parametrize("transport", ["inproc", "tcp"])
def test_threads_share_a_radio_and_a_dish(ctx, ipc_dir, transport):
    """RADIO and DISH are thread-safe in libzmq: four threads send on one RADIO, each with
    its own group, while two threads receive from one DISH; every message keeps its own
    group (the group never crosses over from another thread's message) and none is lost
    (HWM above the total, so nothing is dropped)."""
    n_threads, per_thread = 4, 500
    groups = [b"t%d" % i for i in range(n_threads)]
    radio, dish = pair(ctx, transport, ipc_dir, groups=groups, sndhwm=10000, rcvhwm=10000)
    got, errors = [], []
    lock = threading.Lock()

    def send(i):
        try:
            for k in range(per_thread):
                radio.send(b"t%d:%d" % (i, k), group=groups[i])
        except Exception as e:       # reported below
            errors.append(e)

    def recv():
        try:
            while True:
                f = dish.recv(copy=False)
                if f.bytes == b"stop":
                    return
                with lock:
                    got.append((f.group, f.bytes))
        except Exception as e:
            errors.append(e)

    receivers = [threading.Thread(target=recv) for _ in range(2)]
    senders = [threading.Thread(target=send, args=(i,)) for i in range(n_threads)]
    for t in receivers + senders:
        t.start()
    for t in senders:
        t.join()
    for _ in receivers:
        radio.send(b"stop", group=b"sync")
    for t in receivers:
        t.join()
    assert not errors, errors
    assert all(body.startswith(group.encode() + b":") for group, body in got), \
        [x for x in got if not x[1].startswith(x[0].encode() + b":")][:5]
    assert sorted(body for _, body in got) == sorted(
        b"t%d:%d" % (i, k) for i in range(n_threads) for k in range(per_thread))
    radio.close()
    dish.close()
