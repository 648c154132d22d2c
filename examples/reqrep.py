"""Request-reply: a REP server answers "World" to each "Hello" from a REQ client.

The server runs in a thread and binds a tcp port that the OS picks; the client sends three
requests, each waiting for its reply (REQ and REP go in lockstep), then both exit.

    python examples/reqrep.py
"""
import threading

import zmqx as zmq

REQUESTS = 3


def server(rep):
    for _ in range(REQUESTS):
        request = rep.recv_string()
        rep.send_string(request.replace("Hello", "World"))
    rep.close()


def main():
    ctx = zmq.Context()
    rep = ctx.socket(zmq.REP)
    port = rep.bind_to_random_port("tcp://127.0.0.1")  # the OS picks a free port
    t = threading.Thread(target=server, args=(rep,))   # the REP is used by that thread only
    t.start()

    req = ctx.socket(zmq.REQ)
    req.rcvtimeo = 5000  # never hang: a missing reply raises zmq.Again
    req.connect(f"tcp://127.0.0.1:{port}")
    for i in range(REQUESTS):
        req.send_string(f"Hello {i}")
        print(f"sent Hello {i}, got {req.recv_string()}")
    req.close()
    t.join()
    ctx.term()


if __name__ == "__main__":
    main()
