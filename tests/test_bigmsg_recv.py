"""Large received frames without the second copy: the engine reads each large frame into a
bytes-shaped block (msg.pyx) and recv(copy=True) hands that memory out as the bytes object
itself; the read that ends a large body brings the next header with it (io_engine.pxi,
BIG_TAIL); released blocks are kept for the next frame of the same size; frames under
WAKE_BATCH_BELOW wake a sleeping reader once per input round. Content is checked byte for
byte with pyzmq (libzmq) as the peer, in both directions, around every threshold, with the
adoption on and off."""

import gc
import os
import socket
import subprocess
import sys
import textwrap

import pytest

import zmqx
from zmqx._core import zmtp
from zmqx._core import msg as _msg
from conftest import endpoint_for

pytestmark = pytest.mark.timeout(60)

LARGE_BODY = 32768      # io_engine.pxi: from this size a frame gets its own block
RBUF = 65536            # io_thread.pxd ZX_RBUF_SIZE
BIG_TAIL = 1024         # io_engine.pxi: what the read ending a large body takes beyond it
BIG_EAGER = 4 << 20     # io_engine.pxi: a block starts this big, then grows as bytes come
CACHE_BYTES_MAX = 8 << 20   # msg.pyx: what the block cache may hold

ADOPTABLE = _msg._bytes_adoption()


def payload(n, seed=0):
    # distinct bytes everywhere: a shifted or misplaced chunk cannot compare equal
    pattern = bytes((i * 131 + seed * 7 + (i >> 8)) & 0xFF for i in range(4093))
    return (pattern * (n // len(pattern) + 1))[:n]


@pytest.fixture(params=[True, False], ids=["adopt", "copy"])
def adoption(request):
    """Run the test with bytes-shaped blocks (where the interpreter allows them) and with
    plain blocks (every recv copies once, the old path)."""
    before = _msg._bytes_adoption()
    if request.param and not ADOPTABLE:
        pytest.skip("this interpreter's allocator does not allow adopting frames")
    _msg._bytes_adoption(request.param)
    yield request.param
    _msg._bytes_adoption(before)


# ---------------------------------------------------------------- msg level

@pytest.mark.parametrize("n,room", [(0, 0), (1, 1), (1000, 1000), (LARGE_BODY, LARGE_BODY),
                                    (1 << 20, 1 << 20), (1000, 1000 + 70000),
                                    ((1 << 20) + 3, (2 << 20))])
def test_a_bytes_shaped_block_becomes_an_ordinary_bytes_object(n, room):
    data = payload(n, n)
    out, adopted = _msg._bytes_block_roundtrip(data, room)
    assert adopted == ADOPTABLE
    assert type(out) is bytes
    assert out == data
    assert len(out) == n
    assert hash(out) == hash(bytes(bytearray(data)))     # the hash cache starts empty
    assert {out: 1}[data] == 1
    assert out[n // 2:] == data[n // 2:]
    assert sys.getrefcount(out) == 2                       # ours, and the argument
    del out
    gc.collect()


def test_adoption_is_off_where_the_allocator_would_not_free_it_with_free():
    """Under PYTHONMALLOC=debug (debug hooks put a header before every object) and -X
    tracemalloc (an allocator installed at startup), frames are never adopted, and large
    frames still arrive intact (an adopted one would abort the interpreter on free)."""
    code = textwrap.dedent("""
        import zmqx
        from zmqx._core import msg
        c = zmqx.Context()
        a = c.socket(zmqx.PULL); a.linger = 0; a.rcvtimeo = 5000
        a.bind("tcp://127.0.0.1:*")
        b = c.socket(zmqx.PUSH); b.linger = 0; b.connect(a.last_endpoint)
        data = bytes(range(256)) * 4096
        for _ in range(3):
            b.send(data)
        got = [a.recv() for _ in range(3)]
        assert got == [data] * 3
        del got
        print(msg._bytes_adoption(), msg._bytes_adopted())
        a.close(); b.close(); c.term()
    """)
    env = dict(os.environ, PYTHONPATH=os.pathsep.join(sys.path))
    runs = {
        "default": ([], {}),
        "debug": ([], {"PYTHONMALLOC": "debug"}),
        "tracemalloc": (["-X", "tracemalloc"], {}),
    }
    out = {}
    for name, (args, extra) in runs.items():
        p = subprocess.run([sys.executable, *args, "-c", code], env=dict(env, **extra),
                           capture_output=True, text=True, timeout=50)
        assert p.returncode == 0, (name, p.stderr[-2000:])
        out[name] = p.stdout.split()
    assert out["debug"] == ["False", "0"]
    assert out["tracemalloc"] == ["False", "0"]
    if ADOPTABLE:
        assert out["default"] == ["True", "3"]


def test_tracemalloc_started_later_frees_adopted_frames(ctx, adoption):
    """tracemalloc started after import wraps the allocator: an adopted frame must still
    be freed cleanly through it (and traced snapshots must not choke on it)."""
    import tracemalloc
    pull, push = _pair(ctx, "tcp", None)
    tracemalloc.start()
    try:
        data = payload(1 << 20)
        for _ in range(3):
            push.send(data)
        got = [pull.recv() for _ in range(3)]
        assert got == [data] * 3
        tracemalloc.take_snapshot()
        del got
        gc.collect()
    finally:
        tracemalloc.stop()


# ---------------------------------------------------------------- through sockets

def _pair(ctx, transport, ipc_dir, **opts):
    pull = ctx.socket(zmqx.PULL)
    push = ctx.socket(zmqx.PUSH)
    for s in (pull, push):
        s.linger = 0
        s.rcvtimeo = s.sndtimeo = 10000
        for k, v in opts.items():
            setattr(s, k, v)
    pull.bind(endpoint_for(transport, ipc_dir) if ipc_dir else "tcp://127.0.0.1:*")
    push.connect(pull.last_endpoint)
    return pull, push


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_recv_copy_true_hands_out_large_frames_without_a_copy(ctx, ipc_dir, transport):
    if not ADOPTABLE:
        pytest.skip("this interpreter's allocator does not allow adopting frames")
    pull, push = _pair(ctx, transport, ipc_dir)
    # frames that cannot fit the 64 KiB receive buffer always get a block of their own
    # (from LARGE_BODY up they do when their body was not all read yet)
    large = [payload(n, n) for n in (RBUF, RBUF + 1, 1 << 20, BIG_EAGER + 1)]
    small = [payload(n, n) for n in (0, 100, LARGE_BODY - 1)]
    before = _msg._bytes_adopted()
    for b in large:
        push.send(b)
    for b in large:
        assert pull.recv() == b
    assert _msg._bytes_adopted() - before == len(large), "every large frame adopted"
    before = _msg._bytes_adopted()
    for b in small:
        push.send(b)
    for b in small:
        assert pull.recv() == b
    assert _msg._bytes_adopted() == before, "small frames come from the shared buffer"
    # a Frame keeps its block: .bytes copies, and the Frame stays valid and writable
    push.send(large[2])
    f = pull.recv(copy=False)
    assert f.bytes == large[2]
    assert _msg._bytes_adopted() == before
    view = memoryview(f)
    assert not view.readonly and bytes(view[-5:]) == large[2][-5:]
    view[0] = 0
    assert f.bytes == large[2]            # .bytes was made once, before the write
    del view, f


# sizes around every threshold of the receive path; after a large frame, the read that ends
# it takes BIG_TAIL more bytes, so the small frames after large ones put the next header
# across that edge (2-byte headers below 256 bytes, 9-byte ones above)
SIZES = [LARGE_BODY - 1, LARGE_BODY, LARGE_BODY + 1, RBUF - 9, RBUF, RBUF + 1,
         (1 << 20), BIG_TAIL - 2 - 2, 200, BIG_TAIL - 9 - 1, (1 << 20) + 7,
         BIG_TAIL - 9, 0, BIG_TAIL, RBUF + BIG_TAIL, 3, BIG_EAGER - 1, BIG_EAGER,
         BIG_EAGER + 1, 5, (9 << 20) + 1]


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
@pytest.mark.parametrize("copy", [True, False], ids=["copy", "nocopy"])
def test_from_libzmq_byte_for_byte(ctx, zctx, ipc_dir, adoption, transport, copy):
    zmq = pytest.importorskip("zmq")
    pull = ctx.socket(zmqx.PULL)
    pull.linger = 0
    pull.rcvtimeo = 10000
    pull.bind(endpoint_for(transport, ipc_dir))
    push = zctx.socket(zmq.PUSH)
    push.linger = 0
    push.connect(pull.last_endpoint)
    sent = [payload(n, i) for i, n in enumerate(SIZES)]
    for b in sent:
        push.send(b)
    push.send_multipart(sent)               # the same frames back to back, no gaps
    for b in sent:
        got = pull.recv(copy=copy)
        assert bytes(got) == b, f"{len(b)}-byte frame differs"
    parts = pull.recv_multipart(copy=copy)
    assert [bytes(p) for p in parts] == sent


@pytest.mark.parametrize("transport", ["tcp", "ipc"])
def test_to_libzmq_byte_for_byte(ctx, zctx, ipc_dir, transport):
    zmq = pytest.importorskip("zmq")
    pull = zctx.socket(zmq.PULL)
    pull.linger = 0
    pull.rcvtimeo = 10000
    pull.bind("tcp://127.0.0.1:*" if transport == "tcp" else endpoint_for(transport, ipc_dir))
    push = ctx.socket(zmqx.PUSH)
    push.linger = 0
    push.connect(pull.getsockopt(zmq.LAST_ENDPOINT).decode())
    sent = [payload(n, i) for i, n in enumerate(SIZES)]
    for i, b in enumerate(sent):
        push.send(b, copy=bool(i % 2))
    push.send_multipart(sent)
    for b in sent:
        assert pull.recv() == b
    assert pull.recv_multipart() == sent


@pytest.mark.parametrize("size", [LARGE_BODY, RBUF, 200000, 1 << 20])
def test_every_large_frame_wakes_its_reader(ctx, adoption, size):
    """One frame at a time, each answered before the next is sent: a reader woken once
    per input round must still be woken for a frame that arrives alone (a lost wake-up
    would leave recv waiting for RCVTIMEO)."""
    a = ctx.socket(zmqx.PAIR)
    b = ctx.socket(zmqx.PAIR)
    for s in (a, b):
        s.linger = 0
        s.rcvtimeo = s.sndtimeo = 5000
    a.bind("tcp://127.0.0.1:*")
    b.connect(a.last_endpoint)
    body = payload(size)
    for i in range(100 if size < (1 << 20) else 20):
        a.send(body)
        assert b.recv() == body
        b.send(b"%d" % i)
        assert a.recv() == b"%d" % i


def test_released_blocks_are_kept_within_the_bound(ctx, adoption):
    """Frames a Frame held come back to the block cache (the next frame of that size
    reuses the memory: no page faults), never more than CACHE_BYTES_MAX in all; a frame
    handed out as bytes is Python's and never comes back."""
    _msg._bytes_cache_clear()
    pull, push = _pair(ctx, "tcp", None, rcvhwm=100, sndhwm=100)
    data = payload(1 << 20)
    for _ in range(16):
        push.send(data)
    frames = [pull.recv(copy=False) for _ in range(16)]
    assert all(f.bytes == data for f in frames)
    del frames
    gc.collect()
    held = _msg._bytes_cache_clear()
    if adoption:
        assert 0 < held <= CACHE_BYTES_MAX
        assert held % (1 << 20) == 0
    else:
        assert held == 0                  # plain blocks are freed as before
    for _ in range(4):
        push.send(data)
    got = [pull.recv() for _ in range(4)]
    assert got == [data] * 4
    del got
    assert _msg._bytes_cache_clear() == 0 or not adoption


def _raw_push(pull):
    """A raw ZMTP PUSH connected to pull (a plain socket after the NULL handshake)."""
    port = int(pull.last_endpoint.decode().rsplit(":", 1)[1])
    raw = socket.create_connection(("127.0.0.1", port), timeout=10)
    hs = zmtp.Handshake(zmtp.PUSH)
    raw.sendall(hs.data_to_send())
    while not hs.done:
        hs.feed(raw.recv(65536))
    return raw


@pytest.mark.parametrize("cut", [10, (1 << 20) // 2, (1 << 20) - 1])
def test_a_large_frame_cut_short_by_the_peer_is_dropped(ctx, adoption, cut):
    """The peer goes away in the middle of a large body: the half block is freed with the
    connection, the socket keeps serving, and a frame from another peer arrives whole."""
    pull = ctx.socket(zmqx.PULL)
    pull.linger = 0
    pull.rcvtimeo = 10000
    pull.bind("tcp://127.0.0.1:*")
    raw = _raw_push(pull)
    size = 1 << 20
    raw.sendall(zmtp.encode_frame_header(size) + payload(size)[:cut])
    raw.close()
    push = ctx.socket(zmqx.PUSH)
    push.linger = 0
    push.connect(pull.last_endpoint)
    body = payload(size, 3)
    push.send(body)
    assert pull.recv() == body
