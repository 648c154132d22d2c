"""SSH tunnels for zmqx connections (pyzmq's zmq.ssh): reach a socket that is only
listening on a remote host's loopback through ssh's port forwarding."""

from .tunnel import *  # noqa: F401,F403
from .tunnel import __all__  # noqa: F401
