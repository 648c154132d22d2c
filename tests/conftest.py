"""Shared fixtures: contexts torn down with a deadline, and bind endpoints for every
transport (OS-chosen tcp ports, temp dirs for ipc, unique inproc names)."""

import itertools
import os
import tempfile
import threading

import pytest

import zmqx

_counter = itertools.count()


def _term_with_deadline(ctx, timeout=10.0):
    """Close leftover sockets and terminate in a thread, so a hang fails the test."""
    def run():
        for s in ctx._open_sockets():
            s.close(linger=0)
        ctx.term()

    t = threading.Thread(target=run, daemon=True)
    t.start()
    t.join(timeout)
    if t.is_alive():
        raise RuntimeError(f"context.term() hung; open sockets: {ctx._open_sockets()}")


@pytest.fixture
def ctx():
    c = zmqx.Context()
    yield c
    _term_with_deadline(c)


@pytest.fixture
def ctx2():
    """A second context: sockets on two I/O threads."""
    c = zmqx.Context()
    yield c
    _term_with_deadline(c)


@pytest.fixture
def actx():
    """A zmqx.asyncio context, torn down as ctx is."""
    import zmqx.asyncio

    c = zmqx.asyncio.Context()
    yield c
    _term_with_deadline(c)


@pytest.fixture
def zctx():
    zmq = pytest.importorskip("zmq")
    c = zmq.Context()
    yield c
    c.destroy(linger=0)


@pytest.fixture
def ipc_dir():
    with tempfile.TemporaryDirectory(prefix="zmqx-test-") as d:
        yield d


def endpoint_for(transport, ipc_dir):
    """A bind endpoint; read LAST_ENDPOINT after bind for the connect side."""
    if transport == "inproc":
        return f"inproc://t{os.getpid()}-{next(_counter)}"
    if transport == "ipc":
        return f"ipc://{ipc_dir}/s{next(_counter)}"
    return "tcp://127.0.0.1:*"


@pytest.fixture(params=["inproc", "ipc", "tcp"])
def transport(request):
    return request.param


@pytest.fixture
def endpoint(transport, ipc_dir):
    return endpoint_for(transport, ipc_dir)


@pytest.fixture(params=["ipc", "tcp"])
def wire_endpoint(request, ipc_dir):
    """Endpoints that go over a real connection (and so can talk to libzmq)."""
    return endpoint_for(request.param, ipc_dir)


@pytest.fixture
def reserve(ipc_dir):
    """reserve(transport) -> helpers.Reserved: an endpoint nobody listens on (a tcp port
    held bound by a plain socket until the test ends or calls .release())."""
    from helpers import Reserved

    made = []

    def make(transport):
        r = Reserved(transport, ipc_dir, f"absent{next(_counter)}")
        made.append(r)
        return r

    yield make
    for r in made:
        r.release()


@pytest.fixture
def libzmq_peer():
    """libzmq_peer(kind, "bind"|"connect", endpoint) -> helpers.LibzmqPeer: a pyzmq socket
    in a child process (killed at teardown if the test left it running)."""
    pytest.importorskip("zmq")
    from helpers import LibzmqPeer

    peers = []

    def make(kind, how, endpoint):
        p = LibzmqPeer(kind, how, endpoint)
        peers.append(p)
        return p

    yield make
    for p in peers:
        if p.proc.poll() is None:
            p.kill()


def pytest_report_header(config):
    try:
        import hypothesis
    except ImportError:
        return ["hypothesis: NOT INSTALLED - every property-based (@given) test will be "
                "SKIPPED; install the test extra: pip install -e '.[test]'"]
    return [f"hypothesis: {hypothesis.__version__}"]
