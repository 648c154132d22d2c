"""Large messages without needless copies: bytes held by reference (msg.zx_msg_init_bytes,
reached here through the msg module's test hooks, and through Frames sent by any socket),
the same bytes object given back on the receiving side (zx_msg_take_bytes), the release of
held bytes (refcount back to where it was) after delivery, on close and at linger expiry,
and large frames arriving intact across the engine's buffer and chunk boundaries."""

import gc
import sys

import pytest

import zmqx
from zmqx._core import msg as _msg
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)

REF_MIN = 4096          # msg.pxd ZX_BYTES_REF_MIN
VSM = 112               # msg.pxd ZX_VSM_SIZE
RBUF = 65536            # io_thread.pxd ZX_RBUF_SIZE
SMALL_BODY = 2048       # io_engine.pxi
LARGE_BODY = 32768      # io_engine.pxi


def payload(n, seed=0):
    # distinct bytes everywhere, so a shifted or misplaced chunk cannot compare equal
    return bytes((i * 131 + seed * 7 + (i >> 8)) & 0xFF for i in range(n))


def refs(b):
    return sys.getrefcount(b)


def drained():
    _msg._drain_release_queue()
    gc.collect()


# ---------------------------------------------------------------- msg level

@pytest.mark.parametrize("n", [0, 1, VSM - 1, VSM, VSM + 1, REF_MIN - 1, REF_MIN, REF_MIN + 1,
                               RBUF, 1 << 20])
def test_bytes_roundtrip_gives_equal_bytes_and_the_same_object_when_held(n):
    b = payload(n, n)
    before = refs(b)
    out = _msg._bytes_roundtrip(b)
    assert out == b
    if n >= REF_MIN:
        assert out is b, "a large bytes object must travel by reference, not be copied"
    else:
        assert len(out) == n
    del out
    drained()
    if n > 1:       # b'' and 1-byte bytes are shared singletons: other threads move their counts
        assert refs(b) == before


def test_held_bytes_are_pinned_until_the_last_holder_lets_go():
    b = payload(1 << 16)
    before = refs(b)
    f = _msg._bytes_hold(b)
    g = f.fast_copy()
    assert refs(b) > before
    del f
    drained()
    assert refs(b) > before, "a second holder still uses the buffer"
    assert g.bytes is b
    del g
    drained()
    assert refs(b) == before
    small = payload(REF_MIN - 1)
    before = refs(small)
    h = _msg._bytes_hold(small)
    assert refs(small) == before, "small bytes are copied, never pinned"
    assert h.bytes == small
    del h


# ---------------------------------------------------------------- through sockets

def _pair(ctx, transport, ipc_dir, **opts):
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = s.sndtimeo = 5000
        for k, v in opts.items():
            setattr(s, k, v)
    pull.bind(endpoint_for(transport, ipc_dir))
    push.connect(pull.last_endpoint)
    return pull, push


# sizes around every boundary of the receive path: inline bodies, the copied write stage,
# the read-straight-into-its-own-block size, the 64 KiB read buffer (with and without room
# for the 2- and 9-byte headers), and a MiB
SIZES = [0, 1, VSM, VSM + 1, SMALL_BODY, SMALL_BODY + 1, LARGE_BODY - 1, LARGE_BODY,
         RBUF - 9, RBUF - 2, RBUF - 1, RBUF, RBUF + 1, 3 * RBUF + 17, (1 << 20) + 1]


@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp"])
@pytest.mark.parametrize("copy", [True, False])
def test_large_frames_arrive_intact_across_boundaries(ctx, transport, ipc_dir, copy):
    pull, push = _pair(ctx, transport, ipc_dir)
    sent = [payload(n, i) for i, n in enumerate(SIZES)]
    for b in sent:
        push.send(b, copy=copy)
    # the same sizes as one multipart message: frame boundaries fall at other offsets
    push.send_multipart(sent, copy=copy)
    for b in sent:
        got = pull.recv(copy=copy)
        assert bytes(got) == b, f"{len(b)}-byte frame differs"
    parts = pull.recv_multipart(copy=copy)
    assert [bytes(p) for p in parts] == sent


@pytest.mark.parametrize("transport", ["inproc", "ipc", "tcp"])
def test_held_bytes_released_after_the_peer_received_them(ctx, transport, ipc_dir):
    pull, push = _pair(ctx, transport, ipc_dir)
    b = payload(1 << 20)
    before = refs(b)
    for _ in range(3):
        push.send(_msg._bytes_hold(b))
    for _ in range(3):
        got = pull.recv(copy=False)
        assert got.bytes == b
        if transport == "inproc":
            assert got.bytes is b, "inproc hands the very bytes object over"
        del got
    # the writer's engine may still hold the last block for a moment: the sender's next
    # call drains the release queue once it has
    for _ in range(200):
        push.send(b"s")
        pull.recv()
        drained()
        if refs(b) == before:
            break
    assert refs(b) == before


def test_held_bytes_released_on_close(ctx, ipc_dir):
    pull, push = _pair(ctx, "tcp", ipc_dir, sndhwm=10, rcvhwm=10)
    b = payload(1 << 20)
    before = refs(b)
    for _ in range(5):
        push.send(_msg._bytes_hold(b))       # nobody reads: they wait in pipes and buffers
    assert refs(b) > before
    push.close(linger=0)
    pull.close()
    ctx.term()
    drained()
    assert refs(b) == before


def test_held_bytes_released_at_linger_expiry(ipc_dir):
    c = zmqx.Context()
    push = c.socket(zmqx.PUSH)
    push.connect("tcp://127.0.0.1:1")        # nobody listens: the messages can never leave
    b = payload(1 << 18)
    before = refs(b)
    push.sndtimeo = 1000
    push.send(_msg._bytes_hold(b))
    assert refs(b) > before
    push.close(linger=100)
    c.term()                                 # returns once the 100 ms linger is over
    drained()
    assert refs(b) == before
