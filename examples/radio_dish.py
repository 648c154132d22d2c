"""Radio-dish: groups over UDP. A DISH joins the groups it wants; a RADIO sends each message
to one group, and only the dishes that joined that group (exactly: no prefixes) get it.

The DISH binds a udp:// endpoint and the RADIO sends it one datagram per message (RFC 48:
group length, group, body). Like PUB, a RADIO never waits for anyone; over UDP nothing tells
it who listens, so the radio first sends "hello" until the dish has heard one.

    python examples/radio_dish.py
"""
import threading

import zmqx as zmq


def dish(ctx, ready, heard, endpoint, got):
    d = ctx.socket(zmq.DISH)
    d.rcvtimeo = 5000
    d.join("weather")
    d.join("control")
    d.bind("udp://127.0.0.1:*")        # the OS picks the port
    endpoint.append(d.get(zmq.LAST_ENDPOINT).decode())
    ready.set()
    while True:
        frame = d.recv(copy=False)     # a Frame: it carries the group
        if frame.group == "control":
            if frame.bytes == b"END":
                break
            heard.set()                # one of the radio's "hello"s
            continue
        got.append((frame.group, frame.bytes.decode()))
    d.close()


def main():
    ctx = zmq.Context()
    ready, heard, endpoint, got = threading.Event(), threading.Event(), [], []
    t = threading.Thread(target=dish, args=(ctx, ready, heard, endpoint, got))
    t.start()
    ready.wait()

    radio = ctx.socket(zmq.RADIO)
    radio.connect(endpoint[0])
    while not heard.is_set():          # until the dish hears us
        radio.send(b"hello", group="control")
        heard.wait(0.01)
    print("the dish hears the radio")
    for i in range(3):
        radio.send(f"match {i}".encode(), group="sports")   # nobody joined: dropped
        radio.send(f"{20 + i} C".encode(), group="weather")
    radio.send(b"END", group="control")
    t.join()

    for group, body in got:
        print(f"received {group}: {body}")
    print(f"{len(got)} messages, all weather: {all(g == 'weather' for g, _ in got)}")
    radio.close()
    ctx.term()


if __name__ == "__main__":
    main()
