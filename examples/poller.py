"""Poller: wait on several sockets and a plain file descriptor at once.

One Poller watches a PULL socket (tasks over tcp), a SUB socket (inproc updates) and the
read end of an os.pipe(). Each poll() returns whatever is ready, so no source can starve
another and nothing spins.

    python examples/poller.py
"""
import os
import threading

import zmqx as zmq

TASKS = 4
PIPE_LINES = 2


def main():
    ctx = zmq.Context()
    tasks = ctx.socket(zmq.PULL)
    port = tasks.bind_to_random_port("tcp://127.0.0.1")
    # XPUB rather than PUB: it tells us when the SUB's subscription has arrived
    publisher = ctx.socket(zmq.XPUB)
    publisher.bind("inproc://updates")
    updates = ctx.socket(zmq.SUB)
    updates.subscribe(b"")
    updates.connect("inproc://updates")
    rfd, wfd = os.pipe()

    def producers():
        push = ctx.socket(zmq.PUSH)
        push.connect(f"tcp://127.0.0.1:{port}")
        for i in range(TASKS):
            push.send_string(f"task {i}")
        push.close()
        for i in range(PIPE_LINES):
            os.write(wfd, f"pipe line {i}\n".encode())

    publisher.rcvtimeo = 5000
    publisher.recv()                 # the subscription: now nothing published is lost
    publisher.send_string("update: all systems go")

    t = threading.Thread(target=producers)
    t.start()

    poller = zmq.Poller()
    poller.register(tasks, zmq.POLLIN)
    poller.register(updates, zmq.POLLIN)
    poller.register(rfd, zmq.POLLIN)

    seen = {"tasks": 0, "updates": 0, "pipe": 0}
    pipe_buf = b""
    while seen["tasks"] < TASKS or seen["updates"] < 1 or seen["pipe"] < PIPE_LINES:
        events = dict(poller.poll(5000))
        if not events:
            raise SystemExit(f"nothing arrived within 5 s; so far {seen}")
        if tasks in events:
            print("tasks:  ", tasks.recv_string())
            seen["tasks"] += 1
        if updates in events:
            print("updates:", updates.recv_string())
            seen["updates"] += 1
        if rfd in events:
            pipe_buf += os.read(rfd, 4096)
            *lines, pipe_buf = pipe_buf.split(b"\n")
            for line in lines:
                print("pipe:   ", line.decode())
                seen["pipe"] += 1
    print(f"done: {seen['tasks']} tasks, {seen['updates']} update, {seen['pipe']} pipe lines")

    t.join()
    os.close(rfd)
    os.close(wfd)
    for s in (tasks, updates, publisher):
        s.close(linger=0)
    ctx.term()


if __name__ == "__main__":
    main()
