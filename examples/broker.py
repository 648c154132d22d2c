"""Request-reply broker: REQ clients -> ROUTER | broker | DEALER -> REP workers.

The broker polls both of its sockets and moves each multipart message across unchanged:
the ROUTER adds the client's routing id in front of a request, the DEALER spreads requests
over the workers, and the id on the way back tells the ROUTER which client gets the reply.
Clients and workers never know about each other, only about the broker's two endpoints.

    python examples/broker.py
"""
import threading

import zmqx as zmq

CLIENTS = 3
REQUESTS = 4
WORKERS = 2


def broker(ctx, frontend, backend):
    poller = zmq.Poller()
    poller.register(frontend, zmq.POLLIN)
    poller.register(backend, zmq.POLLIN)
    try:
        while True:
            events = dict(poller.poll())
            if frontend in events:
                backend.send_multipart(frontend.recv_multipart())
            if backend in events:
                frontend.send_multipart(backend.recv_multipart())
    except zmq.ContextTerminated:
        frontend.close(linger=0)
        backend.close(linger=0)


def worker(ctx, endpoint, name):
    rep = ctx.socket(zmq.REP)
    rep.connect(endpoint)
    try:
        while True:
            request = rep.recv_string()
            rep.send_string(f"{request} -> done by {name}")
    except zmq.ContextTerminated:
        rep.close(linger=0)


def client(ctx, endpoint, name, replies):
    req = ctx.socket(zmq.REQ)
    req.rcvtimeo = 5000
    req.connect(endpoint)
    for i in range(REQUESTS):
        req.send_string(f"{name} request {i}")
        replies.append(req.recv_string())
    req.close()


def main():
    ctx = zmq.Context()
    frontend = ctx.socket(zmq.ROUTER)
    backend = ctx.socket(zmq.DEALER)
    front_port = frontend.bind_to_random_port("tcp://127.0.0.1")
    back_port = backend.bind_to_random_port("tcp://127.0.0.1")

    b = threading.Thread(target=broker, args=(ctx, frontend, backend))
    workers = [threading.Thread(target=worker, args=(ctx, f"tcp://127.0.0.1:{back_port}", f"worker-{w}"))
               for w in range(WORKERS)]
    replies = []
    clients = [threading.Thread(target=client,
                                args=(ctx, f"tcp://127.0.0.1:{front_port}", f"client-{c}", replies))
               for c in range(CLIENTS)]
    for t in [b, *workers, *clients]:
        t.start()
    for t in clients:
        t.join()

    for reply in sorted(replies):
        print(reply.split(" -> ")[0], "answered")
    print(f"{len(replies)} replies for {CLIENTS * REQUESTS} requests")
    ctx.term()                     # stops the broker and the workers
    for t in [b, *workers]:
        t.join()


if __name__ == "__main__":
    main()
