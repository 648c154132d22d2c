"""A ZAP handler (RFC 27) written by hand, for the security tests: a REP socket bound at
inproc://zeromq.zap.01 in the server's context (zmqx or pyzmq), answered from its own
thread. It records every request and verdict, so a test can wait for the verdict instead
of sleeping."""

import threading


class ZapHandler:
    """A ZAP handler written by hand (RFC 27) on a REP socket, in its own thread: accepts
    PLAIN admin/secret, CURVE keys in `allowed`, NULL always; records every verdict."""

    def __init__(self, lib, ctx, allowed=()):
        self.lib = lib
        self.allowed = set(allowed)
        self.verdicts = []
        self.requests = []
        self.metadata = b""          # ZMTP-encoded metadata for accepted peers
        self.accept_null = True
        self.sock = ctx.socket(lib.REP)
        self.sock.linger = 0
        self.sock.bind("inproc://zeromq.zap.01")
        self.stop = threading.Event()
        self.answered = threading.Event()
        self.thread = threading.Thread(target=self.run, daemon=True)
        self.thread.start()

    def run(self):
        poller = self.lib.Poller()
        poller.register(self.sock, self.lib.POLLIN)
        while not self.stop.is_set():
            if not dict(poller.poll(50)):
                continue
            req = self.sock.recv_multipart()
            self.requests.append(req)
            version, rid, domain, address, identity, mech = req[:6]
            creds = req[6:]
            if mech == b"PLAIN":
                ok = creds == [b"admin", b"secret"]
            elif mech == b"CURVE":
                ok = creds[0] in self.allowed
            else:
                ok = self.accept_null
            self.sock.send_multipart([version, rid, b"200" if ok else b"400",
                                      b"OK" if ok else b"denied",
                                      b"user-" + mech.lower() if ok else b"",
                                      self.metadata if ok else b""])
            self.verdicts.append(ok)
            self.answered.set()

    def close(self):
        self.stop.set()
        self.thread.join()
        self.sock.close()
