"""A raw ZMTP 3.x peer over a plain TCP socket, driven by zmqx's sans-I/O codec and
mechanism state machines (zmqx._core.zmtp, zmqx._core.mechanism). The tests in
test_mech_libzmq.py put it in front of libzmq (pyzmq) to prove the wire format.

Everything blocks with a socket timeout, so a peer that stops answering fails the test
instead of hanging it."""

import socket

from zmqx._core import mechanism as M
from zmqx._core import zmtp

TIMEOUT = 5.0


class PeerClosed(Exception):
    """The other side closed the TCP connection."""


class RawPeer:
    def __init__(self, sock, mech, mechanism_name):
        self.sock = sock
        self.sock.settimeout(TIMEOUT)
        self.mech = mech
        self.name = mechanism_name
        self.buf = b""
        self.frames = []
        self.events = []
        self.peer_greeting = None

    @classmethod
    def connect(cls, port, mech, name):
        return cls(socket.create_connection(("127.0.0.1", port), timeout=TIMEOUT), mech, name)

    # ------------------------------------------------------------ bytes

    def _recv(self):
        data = self.sock.recv(65536)
        if not data:
            raise PeerClosed()
        return data

    def greet(self):
        """Our 64-byte greeting out, the peer's in; leftovers go to the frame decoder."""
        self.sock.sendall(zmtp.encode_greeting(self.name))
        buf = b""
        while len(buf) < zmtp.GREETING_SIZE:
            buf += self._recv()
        self.peer_greeting = zmtp.decode_greeting(buf[: zmtp.GREETING_SIZE])
        self._parse(buf[zmtp.GREETING_SIZE:])

    def next_event(self):
        """("command", body) or ("message", [frames]). Command bodies are passed on whole,
        unsplit: the mechanism judges them (libzmq's PLAIN ERROR is not a valid name)."""
        while not self.events:
            self._parse(self._recv())
        return self.events.pop(0)

    def _parse(self, data):
        self.buf += data
        while True:
            hdr = zmtp.decode_frame_header(self.buf)
            if hdr is None or len(self.buf) < hdr[2] + hdr[1]:
                return
            flags, size, hl = hdr
            frame, self.buf = self.buf[hl:hl + size], self.buf[hl + size:]
            if flags & 4:
                self.events.append(("command", frame))
            else:
                self.frames.append(frame)
                if not flags & 1:
                    self.events.append(("message", self.frames))
                    self.frames = []

    def flush(self):
        data = self.mech.data_to_send()
        if data:
            self.sock.sendall(data)

    # ------------------------------------------------------------ handshake

    def handshake(self, on_zap=None):
        """Run the mechanism to READY (or raise ProtocolError / PeerClosed).
        on_zap(mech) answers a ZAP request (server side)."""
        self.greet()
        assert self.peer_greeting[2] == self.name, self.peer_greeting
        self.flush()
        while self.mech.status != M.READY:
            ev = self.next_event()
            assert ev[0] == "command", ev
            body = ev[1]
            try:
                rc = self.mech.feed(body)
            except zmtp.ProtocolError:
                self.flush()            # an ERROR may be due
                raise
            if rc == M.NEED_ZAP:
                try:
                    on_zap(self.mech)
                except zmtp.ProtocolError:
                    self.flush()
                    raise
            self.flush()

    # ------------------------------------------------------------ messages

    def send_multipart(self, frames):
        out = b""
        for i, f in enumerate(frames):
            more = i < len(frames) - 1
            if self.name == b"CURVE":
                out += self.mech.encode_message(f, more=more)
            else:
                out += zmtp.encode_frame(f, more=more)
        self.sock.sendall(out)

    def recv_multipart(self):
        if self.name != b"CURVE":
            while True:
                ev = self.next_event()
                if ev[0] == "message":
                    return ev[1]
        frames = []
        while True:
            ev = self.next_event()
            # libzmq sends MESSAGE in a data frame; a COMMAND-flagged one is accepted too
            if ev[0] == "message":
                assert len(ev[1]) == 1, ev
                body = ev[1][0]
            else:
                body = ev[1]
            payload, more, command = self.mech.decode_message(body)
            if command:
                continue
            frames.append(payload)
            if not more:
                return frames

    def close(self):
        self.sock.close()


def listener():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(4)
    s.settimeout(TIMEOUT)
    return s, s.getsockname()[1]


def accept(lsock, mech, name):
    conn, _ = lsock.accept()
    return RawPeer(conn, mech, name)
