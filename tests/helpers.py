"""Socket helpers shared by the test modules: every socket made here has LINGER=0 and
bounded blocking calls, so a failure raises Again instead of hanging the suite."""

import zmqx

WAIT_MS = 5000          # upper bound for "this must happen": only reached on failure


def sock(ctx, kind, **opts):
    """A socket with LINGER=0 and RCVTIMEO/SNDTIMEO = WAIT_MS; opts are option names."""
    s = ctx.socket(kind)
    s.linger = 0
    s.rcvtimeo = WAIT_MS
    s.sndtimeo = WAIT_MS
    for k, v in opts.items():
        setattr(s, k, v)
    return s


def bound(ctx, kind, endpoint, **opts):
    """A bound socket and its LAST_ENDPOINT (bytes) for the connecting side."""
    s = sock(ctx, kind, **opts)
    s.bind(endpoint)
    return s, s.getsockopt(zmqx.LAST_ENDPOINT)


def connected(ctx, kind, addr, **opts):
    s = sock(ctx, kind, **opts)
    s.connect(addr)
    return s
