"""zmqx.log.handlers: PUBHandler publishes log records as [topic, text] to SUB sockets;
TopicLogger adds sub-topics."""

import logging

import pytest

import zmqx as zmq
from zmqx.log.handlers import PUBHandler, TopicLogger

from helpers import sock  # noqa: E402


def subscribed(ctx, handler, addr, topic=b"", logger=None):
    """A SUB connected to addr, proven subscribed: records are logged until one arrives."""
    sub = sock(ctx, zmq.SUB)
    sub.connect(addr)
    sub.subscribe(topic)
    probe = logging.getLogger("zmqx.test.probe")
    probe.propagate = False
    probe.addHandler(handler)
    probe.setLevel(logging.DEBUG)
    try:
        while not sub.poll(50):
            probe.critical("sync")
    finally:
        probe.removeHandler(handler)
    while sub.poll(0):
        sub.recv_multipart()
    return sub


@pytest.fixture
def logger():
    log = logging.getLogger("zmqx.test.log")
    log.setLevel(logging.DEBUG)
    log.propagate = False
    yield log
    log.handlers.clear()


def test_handler_binds_address(ctx, logger):
    handler = PUBHandler("inproc://zmqx-log-1", ctx, root_topic="app")
    assert handler.ctx is ctx and handler.socket.socket_type == zmq.PUB
    logger.addHandler(handler)
    sub = subscribed(ctx, handler, "inproc://zmqx-log-1", b"app")
    logger.info("hello %s", "world")
    assert sub.recv_multipart() == [b"app.INFO", b"hello world\n"]
    logger.warning("careful")
    topic, text = sub.recv_multipart()
    assert topic == b"app.WARNING"
    assert text.startswith(b"WARNING test_log_handlers.py:") and text.endswith(b" - careful\n")
    handler.socket.close(linger=0)


def test_handler_on_socket_subtopics_and_root(ctx, logger):
    pub = sock(ctx, zmq.PUB)
    pub.bind("inproc://zmqx-log-2")
    handler = PUBHandler(pub)
    assert handler.socket is pub and handler.ctx is ctx
    logger.addHandler(handler)
    sub = subscribed(ctx, handler, "inproc://zmqx-log-2", b"")
    logger.info("db::slow query")
    assert sub.recv_multipart() == [b"INFO.db", b"slow query\n"]
    handler.root_topic = b"svc"                       # bytes accepted, as in pyzmq
    assert handler.root_topic == "svc"
    logger.info("tøpic::héllo")
    assert sub.recv_multipart() == [b"svc.INFO.t\xc3\xb8pic", "héllo\n".encode()]


def test_formatters_per_level(ctx, logger):
    pub = sock(ctx, zmq.PUB)
    pub.bind("inproc://zmqx-log-3")
    handler = PUBHandler(pub)
    logger.addHandler(handler)
    sub = subscribed(ctx, handler, "inproc://zmqx-log-3")
    handler.setFormatter(logging.Formatter("DBG %(message)s"), logging.DEBUG)
    logger.debug("d")
    logger.info("i")
    assert sub.recv_multipart()[1] == b"DBG d"
    assert sub.recv_multipart()[1] == b"i\n"
    handler.setFormatter(logging.Formatter("ALL %(message)s"))
    logger.error("e")
    assert sub.recv_multipart() == [b"ERROR", b"ALL e"]


def test_level_filters_records(ctx, logger):
    pub = sock(ctx, zmq.PUB)
    pub.bind("inproc://zmqx-log-4")
    handler = PUBHandler(pub)
    handler.setLevel(logging.WARNING)
    logger.addHandler(handler)
    sub = subscribed(ctx, handler, "inproc://zmqx-log-4")
    logger.info("dropped")
    logger.warning("kept")
    assert sub.recv_multipart()[0] == b"WARNING"


def test_topic_logger(ctx):
    pub = sock(ctx, zmq.PUB)
    pub.bind("inproc://zmqx-log-5")
    handler = PUBHandler(pub, root_topic="root")
    tl = TopicLogger("zmqx.test.topics")
    tl.setLevel(logging.DEBUG)
    tl.addHandler(handler)
    sub = subscribed(ctx, handler, "inproc://zmqx-log-5", b"root")
    tl.info("cache", "miss for %s", "k1")
    tl.log(logging.ERROR, "db", "down")
    assert sub.recv_multipart() == [b"root.INFO.cache", b"miss for k1\n"]
    topic, text = sub.recv_multipart()
    assert topic == b"root.ERROR.db" and b"down" in text
