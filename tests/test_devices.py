"""zmqx.devices: background devices made from addresses, as in pyzmq."""

import pytest

import zmqx as zmq
from zmqx import devices

pytestmark = pytest.mark.timeout(30)


def test_thread_device_queue(ctx):
    dev = devices.ThreadDevice(zmq.QUEUE, zmq.ROUTER, zmq.DEALER)
    dev.context_factory = lambda: ctx
    fport = dev.bind_in_to_random_port("tcp://127.0.0.1")
    dev.bind_out("inproc://dev-workers")
    dev.start()
    worker = ctx.socket(zmq.REP)
    worker.rcvtimeo = 5000
    worker.connect("inproc://dev-workers")
    client = ctx.socket(zmq.REQ)
    client.rcvtimeo = 5000
    client.connect(f"tcp://127.0.0.1:{fport}")
    client.send(b"ping")
    assert worker.recv() == b"ping"
    worker.send(b"pong")
    assert client.recv() == b"pong"


def test_thread_monitored_queue(ctx):
    dev = devices.ThreadMonitoredQueue(zmq.PULL, zmq.PUSH, zmq.PUB, b"IN", b"OUT")
    dev.context_factory = lambda: ctx
    dev.bind_in("inproc://mq-in")
    dev.bind_out("inproc://mq-out")
    dev.bind_mon("inproc://mq-mon")
    mon = ctx.socket(zmq.SUB)
    mon.subscribe(b"")
    mon.rcvtimeo = 5000
    dev.start()
    src = ctx.socket(zmq.PUSH)
    dst = ctx.socket(zmq.PULL)
    dst.rcvtimeo = 5000
    src.connect("inproc://mq-in")
    dst.connect("inproc://mq-out")
    mon.connect("inproc://mq-mon")
    # the monitor SUB joins late: keep sending until it sees one (a PUB drops before that)
    for i in range(500):
        src.send(b"m%d" % i)
        assert dst.recv() == b"m%d" % i
        if mon.poll(10):
            prefix, body = mon.recv_multipart()
            assert prefix == b"IN" and body.startswith(b"m")
            break
    else:
        pytest.fail("monitor never received a message")
