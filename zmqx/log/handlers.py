"""Logging over PUB sockets (pyzmq's zmq.log.handlers).

PUBHandler publishes each record as two frames, ``[topic, text]``. The topic is
``root_topic.LEVELNAME[.subtopic]`` so subscribers filter by prefix: "app" for everything
from one application, "app.ERROR" for its errors. A message written ``"sub::text"`` (see
TopicLogger) adds "sub" to the topic and publishes "text". The text is formatted with a
per-level formatter (``handler.formatters[level]``).
"""

import copy
import logging

from .. import constants as _c

__all__ = ["PUBHandler", "TopicLogger", "TOPIC_DELIM"]

TOPIC_DELIM = "::"

_WHERE = "%(levelname)s %(filename)s:%(lineno)d - %(message)s\n"


class PUBHandler(logging.Handler):
    """A logging handler that publishes records on a PUB socket.

    `interface_or_socket` is either a socket to publish on (its context becomes
    ``handler.ctx``) or an address to bind a new PUB socket to, made from `context`
    (default: a new Context)."""

    def __init__(self, interface_or_socket, context=None, root_topic=""):
        super().__init__()
        self.root_topic = root_topic
        self.formatters = {
            logging.DEBUG: logging.Formatter(_WHERE),
            logging.INFO: logging.Formatter("%(message)s\n"),
            logging.WARNING: logging.Formatter(_WHERE),
            logging.ERROR: logging.Formatter(_WHERE.replace("\n", " - %(exc_info)s\n")),
            logging.CRITICAL: logging.Formatter(_WHERE),
        }
        if isinstance(interface_or_socket, (str, bytes)):
            from ..context import Context

            self.ctx = context or Context()
            self.socket = self.ctx.socket(_c.PUB)
            addr = interface_or_socket
            self.socket.bind(addr.decode() if isinstance(addr, bytes) else addr)
        else:
            self.socket = interface_or_socket
            self.ctx = self.socket.context

    @property
    def root_topic(self):
        return self._root_topic

    @root_topic.setter
    def root_topic(self, value):
        self.setRootTopic(value)

    def setRootTopic(self, root_topic):
        """Prefix every topic with `root_topic` (str or UTF-8 bytes; "" for none)."""
        if isinstance(root_topic, bytes):
            root_topic = root_topic.decode("utf8")
        self._root_topic = root_topic

    def setFormatter(self, fmt, level=logging.NOTSET):
        """Use `fmt` for records of `level`, or for every level when level is NOTSET."""
        if level == logging.NOTSET:
            for lvl in self.formatters:
                self.formatters[lvl] = fmt
        else:
            self.formatters[level] = fmt

    def format(self, record):
        fmt = self.formatters.get(record.levelno)
        if fmt is None:
            # levels between the standard ones use the nearest standard level below
            known = [lvl for lvl in self.formatters if lvl <= record.levelno]
            fmt = self.formatters[max(known)] if known else logging.Formatter(_WHERE)
        return fmt.format(record)

    def emit(self, record):
        subtopic = ""
        text = str(record.msg)
        if TOPIC_DELIM in text:
            subtopic, text = text.split(TOPIC_DELIM, 1)
            record = copy.copy(record)        # the record is shared with other handlers
            record.msg = text
        try:
            body = self.format(record).encode("utf8")
        except Exception:
            self.handleError(record)
            return
        topic = ".".join(t for t in (self.root_topic, record.levelname, subtopic) if t)
        try:
            self.socket.send_multipart([topic.encode("utf8", "replace"), body])
        except Exception:
            self.handleError(record)


class TopicLogger(logging.Logger):
    """A Logger whose calls take a topic first: ``log.info("db", "slow query %s", q)``
    publishes on ``root.INFO.db`` through a PUBHandler."""

    def _topic_log(self, level, topic, msg, args, kwargs, depth):
        # depth: frames between the caller and Logger.log, so records name the caller
        kwargs["stacklevel"] = kwargs.get("stacklevel", 1) + depth
        super().log(level, f"{topic}{TOPIC_DELIM}{msg}", *args, **kwargs)

    def log(self, level, topic, msg, *args, **kwargs):
        self._topic_log(level, topic, msg, args, kwargs, 2)

    def debug(self, topic, msg, *args, **kwargs):
        self._topic_log(logging.DEBUG, topic, msg, args, kwargs, 2)

    def info(self, topic, msg, *args, **kwargs):
        self._topic_log(logging.INFO, topic, msg, args, kwargs, 2)

    def warning(self, topic, msg, *args, **kwargs):
        self._topic_log(logging.WARNING, topic, msg, args, kwargs, 2)

    warn = warning

    def error(self, topic, msg, *args, **kwargs):
        self._topic_log(logging.ERROR, topic, msg, args, kwargs, 2)

    def critical(self, topic, msg, *args, **kwargs):
        self._topic_log(logging.CRITICAL, topic, msg, args, kwargs, 2)

    fatal = critical
