"""The lock-free pipe: unit tests, a model-based property test, and native two-thread
stress runs that check order, completeness and the sleep/wake handshakes."""

import pytest
from helpers import hypothesis_api

given, settings, st, _, _ = hypothesis_api()    # skips loudly without hypothesis

from zmqx._core.pipe import PipeTester, stress

pytestmark = pytest.mark.timeout(60)


def test_unflushed_messages_are_invisible():
    p = PipeTester()
    p.write(b"a")
    assert not p.readable()
    assert p.read() is None
    p.flush()
    assert p.read() == (b"a", False)


def test_flush_never_publishes_part_of_a_message():
    p = PipeTester()
    p.write(b"1")
    p.write(b"2a", more=True)
    p.flush()
    assert p.read() == (b"1", False)
    assert p.read() is None          # "2a" waits for the end of its message
    p.write(b"2b")
    p.flush()
    assert p.read() == (b"2a", True)
    assert p.read() == (b"2b", False)


def test_rollback_drops_only_the_incomplete_message():
    p = PipeTester()
    p.write(b"whole")
    p.write(b"part1", more=True)
    p.write(b"x" * 500, more=True)
    p.rollback()
    p.write(b"next")
    p.flush()
    assert [p.read(), p.read(), p.read()] == [(b"whole", False), (b"next", False), None]


def test_reader_wakeup_only_when_reader_sleeps():
    p = PipeTester()
    p.write(b"a")
    p.flush()
    assert p.reader_wakes == 0       # nobody was asleep: no syscall would be made
    assert p.read() == (b"a", False)
    assert p.read() is None          # finds it empty: arms the wake-up
    p.write(b"b")
    p.flush()
    assert p.reader_wakes == 1
    p.write(b"c")
    p.flush()
    assert p.reader_wakes == 1       # one wake per sleep


def test_hwm_counts_messages_and_wakes_the_writer():
    p = PipeTester(hwm=4)
    for i in range(4):
        assert p.check_write()
        p.write(b"m%d" % i, more=False)
    p.flush()
    assert not p.check_write()       # at HWM: the writer is now armed
    assert p.queued() == 4
    p.read()
    p.read()                         # lwm batch (hwm/2) reached: writer woken
    assert p.writer_wakes == 1
    assert p.check_write()


def test_multipart_counts_once_against_hwm():
    p = PipeTester(hwm=2)
    for _ in range(2):
        assert p.check_write()
        p.write(b"a", more=True)
        p.write(b"b", more=True)
        p.write(b"c")
    p.flush()
    assert p.queued() == 2
    assert not p.check_write()


def test_large_and_empty_bodies_round_trip():
    p = PipeTester()
    bodies = [b"", b"x", b"y" * 112, b"z" * 113, b"w" * 100000]
    for b in bodies:
        p.write(b)
    p.flush()
    assert [p.read()[0] for _ in bodies] == bodies


def test_many_chunks_then_destroy_with_pending_messages():
    p = PipeTester()
    for i in range(1000):
        p.write(b"%d" % i, more=(i % 3 != 2))
    p.flush()
    for i in range(500):
        assert p.read()[0] == b"%d" % i
    del p                            # destroying with queued and unflushed frames frees them


ops = st.lists(
    st.one_of(
        st.tuples(st.just("write"), st.binary(max_size=300), st.booleans()),
        st.just(("flush",)),
        st.just(("read",)),
        st.just(("rollback",)),
    ),
    max_size=400,
)


@settings(max_examples=300, deadline=None)
@given(ops)
def test_pipe_matches_a_simple_model(seq):
    p = PipeTester()
    written = []        # frames written, not yet complete-and-flushed
    complete = []       # frames of complete messages not yet flushed
    visible = []        # frames a reader may take
    for op in seq:
        if op[0] == "write":
            _, data, more = op
            p.write(data, more)
            written.append((data, more))
            if not more:
                complete.extend(written)
                written = []
        elif op[0] == "flush":
            p.flush()
            visible.extend(complete)
            complete = []
        elif op[0] == "rollback":
            p.rollback()
            written = []
        else:
            got = p.read()
            if visible:
                assert got == visible.pop(0)
            else:
                assert got is None


@pytest.mark.parametrize(
    "n, hwm, frames",
    [(2_000_000, 1000, 1), (1_000_000, 0, 1), (300_000, 10, 3), (100_000, 1, 1), (200_000, 2, 2)],
)
def test_two_thread_stress(n, hwm, frames):
    r = stress(n, hwm, frames)
    assert r["errors"] == 0
    assert r["received"] == n * frames
    assert r["lost_wakeups"] == 0
    assert r["queued"] == 0
    if hwm and hwm <= 10:
        assert r["writer_sleeps"] > 0       # the HWM path was really exercised
