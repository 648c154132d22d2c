"""Mistakes a type checker must report against zmqx (each line below is one)."""

import zmqx as zmq

ctx = zmq.Context()
s = ctx.socket(zmq.PUHS)
n: int = ctx.socket(zmq.PUSH).recv()
f: zmq.Frame = ctx.socket(zmq.PUSH).recv()
ctx.socket(zmq.PUSH).send_string(b"bytes")
ctx.socket(zmq.PUSH).bind(5555)
