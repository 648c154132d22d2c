"""Publish-subscribe: a subscriber gets only the topics it asked for.

The publisher is an XPUB socket, which is a PUB that also receives the subscriptions of
its subscribers. It waits for the subscription to arrive before publishing, which is how
to avoid the "slow joiner" (a SUB that connects after the first messages misses them,
and PUB never waits for anyone).

    python examples/pubsub.py
"""
import threading

import zmqx as zmq


def subscriber(ctx, endpoint, got):
    sub = ctx.socket(zmq.SUB)
    sub.rcvtimeo = 5000
    sub.connect(endpoint)
    sub.subscribe(b"weather")          # prefix match: "weather ..." only
    while True:
        topic, body = sub.recv_multipart()
        if body == b"END":
            break
        got.append((topic.decode(), body.decode()))
    sub.close()


def main():
    ctx = zmq.Context()
    pub = ctx.socket(zmq.XPUB)
    port = pub.bind_to_random_port("tcp://127.0.0.1")

    got = []
    t = threading.Thread(target=subscriber, args=(ctx, f"tcp://127.0.0.1:{port}", got))
    t.start()

    pub.rcvtimeo = 5000
    subscription = pub.recv()          # b"\x01" + topic: the subscriber is listening now
    print(f"subscriber joined: topic {subscription[1:].decode()!r}")

    for i in range(3):
        pub.send_multipart([b"sports", f"match {i}".encode()])   # filtered out at the publisher
        pub.send_multipart([b"weather", f"{20 + i} C".encode()])
    pub.send_multipart([b"weather", b"END"])
    t.join()

    for topic, body in got:
        print(f"received {topic}: {body}")
    print(f"{len(got)} messages, all weather: {all(t == 'weather' for t, _ in got)}")
    pub.close()
    ctx.term()


if __name__ == "__main__":
    main()
