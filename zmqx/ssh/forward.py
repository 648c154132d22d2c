"""A local port forwarded through a paramiko transport (what ``ssh -L`` does), for
zmqx.ssh.tunnel's paramiko tunnels: every connection accepted on 127.0.0.1:local_port
becomes a ``direct-tcpip`` channel to remote_host:remote_port on the far side."""

import logging
import select
import socketserver

__all__ = ["forward_tunnel"]

log = logging.getLogger("zmqx.ssh")


class ForwardServer(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True


class Handler(socketserver.BaseRequestHandler):
    """One forwarded connection: copy bytes both ways until either side closes."""

    remote_host = ""
    remote_port = 0
    transport = None

    def handle(self):
        try:
            chan = self.transport.open_channel(
                "direct-tcpip", (self.remote_host, self.remote_port),
                self.request.getpeername())
        except Exception as e:
            log.warning("forward to %s:%d failed: %r", self.remote_host, self.remote_port, e)
            return
        if chan is None:
            log.warning("forward to %s:%d refused by the ssh server",
                        self.remote_host, self.remote_port)
            return
        try:
            _pump(self.request, chan)
        finally:
            chan.close()
            self.request.close()


def _pump(a, b):
    # both directions over select(): whichever side has data is copied to the other;
    # an empty read is that side closing, which ends the forwarded connection
    while True:
        ready, _, _ = select.select([a, b], [], [])
        for src, dst in ((a, b), (b, a)):
            if src in ready:
                data = src.recv(65536)
                if not data:
                    return
                dst.sendall(data)


def forward_tunnel(local_port, remote_host, remote_port, transport):
    """Serve 127.0.0.1:local_port for ever, forwarding each connection through
    `transport` (a paramiko.Transport, or anything with its open_channel)."""

    class _Handler(Handler):
        pass

    _Handler.remote_host = remote_host
    _Handler.remote_port = remote_port
    _Handler.transport = transport
    ForwardServer(("127.0.0.1", local_port), _Handler).serve_forever()
