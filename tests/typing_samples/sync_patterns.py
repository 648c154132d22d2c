"""Typed pyzmq-style code (written against pyzmq's API): it must type-check against zmqx."""

import zmqx as zmq
from zmqx import Frame, MessageTracker, SocketOption, SocketType


def server(ctx: zmq.Context, url: str) -> list[bytes]:
    sock: zmq.Socket[bytes] = ctx.socket(zmq.REP)
    sock.setsockopt(zmq.LINGER, 0)
    sock.linger = 0
    sock.set(SocketOption.RCVHWM, 10)
    sock.setsockopt_string(zmq.ROUTING_ID, "server")
    with sock.bind(url) as bound:
        assert bound is sock
        req: bytes = sock.recv()
        sock.send(req)
        parts: list[bytes] = sock.recv_multipart()
        frame: Frame = sock.recv(copy=False)
        frames: list[Frame] = sock.recv_multipart(copy=False)
        body: bytes = frame.bytes
        view: memoryview = frames[0].buffer
        sock.send_multipart([body, view])
        tracker = sock.send(b"x" * 100_000, copy=False, track=True)
        if isinstance(tracker, MessageTracker):
            tracker.wait(1.0)
        text: str = sock.recv_string()
        obj = sock.recv_json()
        sock.send_json({"text": text, "obj": obj})
        sock.send_string(text, zmq.SNDMORE)
        sock.send_pyobj(obj)
    return parts


def client(url: str) -> int:
    ctx: zmq.Context = zmq.Context.instance()      # annotated, as pyzmq needs too
    with ctx.socket(zmq.REQ) as s:
        s.connect(url)
        poller = zmq.Poller()
        poller.register(s, zmq.POLLIN | zmq.POLLOUT)
        events = dict(poller.poll(timeout=100))
        if events.get(s, 0) & zmq.POLLOUT:
            s.send(b"ping", flags=zmq.NOBLOCK)
        try:
            s.recv(zmq.DONTWAIT)
        except zmq.Again:
            pass
        except zmq.ZMQError as e:
            return e.errno or -1
        kind: SocketType = s.type
        shadow: zmq.Socket = zmq.Socket.shadow(s.underlying)
        n: int = shadow.get(zmq.EVENTS)
        buf = bytearray(10)
        got: int = s.recv_into(buf, nbytes=5, flags=zmq.NOBLOCK) if n & zmq.POLLIN else 0
        return int(kind) + got


def typed_aliases(ctx: zmq.SyncContext) -> zmq.SyncSocket:
    s = ctx.socket(zmq.PUB)
    s.subscribe_count = None if False else None  # noqa: B018 -- attributes go to options
    print(zmq.EVENT_CONNECTED, zmq.EAGAIN, zmq.IO_THREADS, zmq.ENOTSUP, zmq.DRAFT_API,
          zmq.zmq_version(), zmq.pyzmq_version(), zmq.COPY_THRESHOLD, zmq.IPC_PATH_MAX_LEN)
    return s


def main() -> None:
    ctx = zmq.Context(io_threads=1)
    ctx.set(zmq.MAX_SOCKETS, 100)
    ctx2: zmq.Context = zmq.Context.shadow(ctx)
    s = ctx2.socket(zmq.PAIR, socket_class=zmq.Socket)
    s.close()
    ctx.destroy(linger=0)


def takes_any_context(ctx: zmq.Context, sock: zmq.Socket) -> None:
    """Bare zmq.Context / zmq.Socket annotations accept the asyncio ones too, as pyzmq's."""


def mixed() -> None:
    import zmqx.asyncio

    actx = zmqx.asyncio.Context()
    takes_any_context(actx, actx.socket(zmq.PUSH))
    blocking: zmq.Socket[bytes] = zmq.Context().socket(zmq.PUSH)
    takes_any_context(zmq.Context(), blocking)
