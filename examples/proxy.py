"""A shared queue built on zmq.proxy_steerable: clients and workers talk through it.

zmq.proxy() moves messages between a ROUTER frontend and a DEALER backend, as the broker
example's loop does, but in the engine. proxy_steerable adds a control socket: here the main
thread sends PAUSE, RESUME, STATISTICS and finally TERMINATE, after which the proxy returns.

    python examples/proxy.py
"""
import threading

import zmqx as zmq

REQUESTS = 5


def worker(ctx, endpoint):
    rep = ctx.socket(zmq.REP)
    rep.connect(endpoint)
    try:
        while True:
            rep.send(rep.recv().upper())
    except zmq.ContextTerminated:
        rep.close(linger=0)


def main():
    ctx = zmq.Context()
    frontend = ctx.socket(zmq.ROUTER)
    backend = ctx.socket(zmq.DEALER)
    control_in = ctx.socket(zmq.PAIR)
    control = ctx.socket(zmq.PAIR)
    frontend.bind("inproc://front")
    backend.bind("inproc://back")
    control_in.bind("inproc://control")
    control.connect("inproc://control")

    proxy = threading.Thread(target=zmq.proxy_steerable,
                             args=(frontend, backend, None, control_in))
    proxy.start()
    w = threading.Thread(target=worker, args=(ctx, "inproc://back"))
    w.start()

    req = ctx.socket(zmq.REQ)
    req.rcvtimeo = 5000
    req.connect("inproc://front")
    for i in range(REQUESTS):
        req.send(f"request {i}".encode())
        print(req.recv().decode())

    # 8 counters (frames and bytes, in and out, frontend then backend), as libzmq counts
    # them: a request through a ROUTER is 3 frames (routing id, empty delimiter, body)
    control.send(b"STATISTICS")
    stats = [int.from_bytes(f, "little") for f in control.recv_multipart()]
    print(f"frontend received {stats[0]} frames, backend received {stats[4]} frames")

    control.send(b"TERMINATE")       # the proxy returns
    proxy.join(5)
    print(f"proxy stopped: {not proxy.is_alive()}")

    for s in (req, control, control_in, frontend, backend):
        s.close(linger=0)
    ctx.term()                       # stops the worker
    w.join()


if __name__ == "__main__":
    main()
