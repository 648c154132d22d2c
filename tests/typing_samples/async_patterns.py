"""Typed pyzmq-style asyncio code: it must type-check against zmqx.asyncio."""

import asyncio

import zmqx as zmq
import zmqx.asyncio


async def relay(url: str) -> list[bytes]:
    ctx = zmq.asyncio.Context()
    pull = ctx.socket(zmq.PULL)
    push = ctx.socket(zmq.PUSH)
    pull.bind(url)
    push.connect(url)
    await push.send(b"one")
    await push.send_multipart([b"a", b"b"])
    await push.send_string("text")
    await push.send_json({"k": 1})
    first: bytes = await pull.recv()
    parts: list[bytes] = await pull.recv_multipart()
    text: str = await pull.recv_string()
    obj = await pull.recv_json()
    fut: asyncio.Future[bytes] = pull.recv()
    fut.cancel()
    await push.send(b"abcdef")
    events: int = await pull.poll(timeout=1000)
    poller = zmq.asyncio.Poller()
    poller.register(pull, zmq.POLLIN)
    ready = await poller.poll(10)
    n: int = await pull.recv_into(bytearray(4))
    wrapped = zmq.asyncio.Socket.from_socket(zmq.Socket.shadow(pull))
    assert (first, text, obj, events, n) == (b"one", "text", {"k": 1}, zmq.POLLIN, 6)
    assert ready == [(pull, zmq.POLLIN)] and isinstance(wrapped, zmq.asyncio.Socket)
    pull.close()
    push.close()
    ctx.term()
    return parts


if __name__ == "__main__":
    asyncio.run(relay("inproc://x"))
