"""The routing strategies on their own: load-balancer, fair-queue, distributor (over bare
links: no socket, no thread, no fd, through zmqx._core.strategy_testing) and the routing
table. Each is checked against a small model of its rule: who gets the next message,
fairness, no starvation, HWM respected, readiness checks without side effects."""

import pytest

hypothesis = pytest.importorskip("hypothesis", reason="the strategy model tests need hypothesis")
from hypothesis import given, settings, strategies as st  # noqa: E402

from zmqx._core.routes import IdRoutes, RouteTable  # noqa: E402
from zmqx._core.strategy_testing import Peers  # noqa: E402

pytestmark = pytest.mark.timeout(120)


def peers(*hwms):
    p = Peers()
    for h in hwms:
        p.add(h)
    return p


# ================================================================ load-balancer

def test_lb_round_robin_exact():
    p = peers(0, 0, 0, 0)
    got = [p.lb_send([b"m%d" % i]) for i in range(40)]
    assert got == [i % 4 for i in range(40)]
    assert [p.queued(i) for i in range(4)] == [10, 10, 10, 10]


def test_lb_readiness_check_does_not_move_the_round_robin():
    """has_out/peek (what poll and EVENTS call) before each send: still perfectly even."""
    p = peers(0, 0, 0, 0)
    for i in range(400):
        assert p.lb_has_out()
        assert p.lb_peek() == i % 4
        assert p.lb_has_out()
        p.lb_send([b"x"])
    assert [p.queued(i) for i in range(4)] == [100, 100, 100, 100]


def test_lb_multipart_stays_on_one_peer_and_skips_full_peers():
    p = peers(1, 0)
    assert p.lb_send([b"a", b"b", b"c"]) == 0
    assert p.peer_recv(0) == [b"a", b"b", b"c"]
    assert p.lb_send([b"d"]) == 1
    assert p.lb_send([b"e"]) == 0        # peer 0 has room again
    assert p.lb_send([b"f"]) == 1        # peer 0 is at its HWM of 1: skipped
    assert p.lb_send([b"g"]) == 1
    p2 = peers(1)
    assert p2.lb_send([b"x"]) == 0
    assert not p2.lb_has_out() and p2.lb_send([b"y"]) == -1
    assert p2.peer_recv(0) == [b"x"]
    assert p2.lb_has_out()


def test_lb_removed_slot_keeps_the_rotation():
    p = peers(0, 0, 0)
    assert [p.lb_send([b"x"]) for _ in range(2)] == [0, 1]
    p.remove(0)                          # old 1 -> 0, old 2 -> 1; next is old 2
    assert p.lb_send([b"x"]) == 1
    assert p.lb_send([b"x"]) == 0


@settings(max_examples=150, deadline=None)
@given(hwms=st.lists(st.integers(0, 4), min_size=1, max_size=5),
       ops=st.lists(st.tuples(st.sampled_from(["send", "drain", "poll", "die"]),
                              st.integers(0, 4), st.integers(1, 3)), max_size=80))
def test_lb_model(hwms, ops):
    """Against a model: a message goes to the first live peer at or after the pointer
    that is under its HWM; the pointer moves past it; nothing else moves it."""
    p = peers(*hwms)
    n = len(hwms)
    nxt = 0
    queued = [0] * n
    dying = [False] * n
    for op, i, k in ops:
        i %= n
        if op == "send":
            want = -1
            for j in range(n):
                c = (nxt + j) % n
                if not dying[c] and (hwms[c] == 0 or queued[c] < hwms[c]):
                    want = c
                    break
            assert p.lb_has_out() == (want >= 0)
            got = p.lb_send([b"m"] * k)
            assert got == want
            if want >= 0:
                queued[want] += 1
                nxt = (want + 1) % n
        elif op == "drain":
            for _ in range(k):
                if p.peer_recv(i) is not None:
                    queued[i] -= 1
        elif op == "die":
            dying[i] = not dying[i]
            p.set_dying(i, dying[i])
        else:
            p.lb_has_out()
            p.lb_peek()
        for j in range(n):
            assert p.queued(j) == queued[j]
            assert hwms[j] == 0 or queued[j] <= hwms[j], "HWM exceeded"


@settings(max_examples=60, deadline=None)
@given(n=st.integers(1, 6), rounds=st.integers(1, 20))
def test_lb_fair_when_everyone_has_room(n, rounds):
    p = peers(*([0] * n))
    for _ in range(n * rounds):
        p.lb_has_out()
        assert p.lb_send([b"x"]) >= 0
    assert [p.queued(i) for i in range(n)] == [rounds] * n


# ================================================================ fair-queue

def test_fq_round_robin_and_multipart_whole():
    p = peers(0, 0, 0)
    for i in range(3):
        for k in range(3):
            p.peer_send(i, [b"%d" % i, b"%d" % k])
    order = [p.fq_recv() for _ in range(9)]
    assert [o[0] for o in order] == [0, 1, 2] * 3
    assert [o[1] for o in order if o[0] == 1] == [[b"1", b"0"], [b"1", b"1"], [b"1", b"2"]]
    assert p.fq_recv() is None
    assert not p.fq_has_in()


def test_fq_has_in_consumes_nothing():
    p = peers(0, 0)
    assert not p.fq_has_in()
    p.peer_send(1, [b"a"])
    for _ in range(5):
        assert p.fq_has_in()
    assert p.fq_recv() == (1, [b"a"])
    assert not p.fq_has_in()


@settings(max_examples=150, deadline=None)
@given(n=st.integers(1, 5),
       ops=st.lists(st.tuples(st.sampled_from(["peer", "recv", "recv", "poll"]),
                              st.integers(0, 4), st.integers(1, 3)), max_size=80))
def test_fq_model(n, ops):
    """Against a model: the next message comes from the first peer at or after the
    pointer that has one; per peer, messages arrive in order and whole; no starvation:
    a peer with a message waits at most n-1 other messages."""
    p = peers(*([0] * n))
    queues = [[] for _ in range(n)]
    nxt = 0
    waited = [0] * n
    seq = 0
    for op, i, k in ops:
        i %= n
        if op == "peer":
            msg = [b"%d" % seq] + [b"f"] * (k - 1)
            seq += 1
            p.peer_send(i, msg)
            queues[i].append(msg)
        elif op == "recv":
            want = None
            for j in range(n):
                c = (nxt + j) % n
                if queues[c]:
                    want = c
                    break
            assert p.fq_has_in() == (want is not None)
            got = p.fq_recv()
            if want is None:
                assert got is None
                continue
            assert got == (want, queues[want].pop(0))
            nxt = (want + 1) % n
            for j in range(n):
                if j != want and queues[j]:
                    waited[j] += 1
                    assert waited[j] <= n - 1, "starved"
            waited[want] = 0
        else:
            assert p.fq_has_in() == any(queues)


def test_fq_removed_slot():
    p = peers(0, 0, 0)
    for i in range(3):
        p.peer_send(i, [b"%d" % i])
    assert p.fq_recv() == (0, [b"0"])
    p.remove(0)
    assert p.fq_recv() == (0, [b"1"])
    assert p.fq_recv() == (1, [b"2"])


# ================================================================ distributor

def test_dist_every_marked_peer_gets_one_copy():
    p = peers(0, 0, 0)
    assert p.dist_send([b"t", b"body"], marked={0, 2}) == [0, 2]
    assert p.peer_recv(0) == [b"t", b"body"]
    assert p.peer_recv(1) is None
    assert p.peer_recv(2) == [b"t", b"body"]


def test_dist_full_peer_misses_the_message_or_waits():
    p = peers(1, 0)
    assert p.dist_send([b"a"]) == [0, 1]
    assert p.dist_send([b"b"]) == [1]              # peer 0 at HWM: drops (PUB)
    assert p.dist_send([b"c"], wait_for_full=True) is None     # XPUB_NODROP: wait
    assert p.queued(0) == 1 and p.queued(1) == 2
    p.set_dying(1)
    assert p.dist_send([b"d"]) == []                # dying peers get nothing; 0 is full


@settings(max_examples=100, deadline=None)
@given(hwms=st.lists(st.integers(0, 3), min_size=1, max_size=5),
       ops=st.lists(st.tuples(st.booleans(), st.frozensets(st.integers(0, 4)), st.integers(0, 4)),
                    max_size=40))
def test_dist_model(hwms, ops):
    p = peers(*hwms)
    n = len(hwms)
    queued = [0] * n
    for send, marked, drain in ops:
        if send:
            want = [i for i in range(n) if i in marked and (hwms[i] == 0 or queued[i] < hwms[i])]
            assert p.dist_send([b"x", b"y"], marked=marked) == want
            for i in want:
                queued[i] += 1
        else:
            i = drain % n
            if p.peer_recv(i) is not None:
                queued[i] -= 1
        assert [p.queued(i) for i in range(n)] == queued


# ================================================================ routing table

ADDED, REFUSED = -1, -2          # RouteTable.add's answers (routes.pxd)


def test_routes_named_generated_and_refused():
    t = RouteTable()
    assert t.py_add(0, b"alpha") == ADDED
    assert t.py_add(1, b"") == ADDED                 # no id announced: one is made up
    gen = t.py_rid_of(1)
    assert len(gen) == 5 and gen[0] == 0
    assert t.py_add(2, b"") == ADDED
    assert t.py_rid_of(2) != gen
    assert t.py_add(3, b"alpha") == REFUSED          # taken: the newcomer is refused
    assert t.py_lookup(b"alpha") == 0
    assert t.py_lookup(gen) == 1
    assert t.py_lookup(b"nobody") == -1


def test_routes_handover_evicts_the_old_slot():
    t = RouteTable()
    t.py_add(0, b"a")
    assert t.py_add(1, b"a", True) == 0              # slot 0 must be dropped
    assert t.py_lookup(b"a") == 1
    assert t.py_rid_of(0) is None


def test_routes_a_departed_peer_keeps_its_name_for_what_it_sent():
    """A peer that left can't be sent to, but the messages it sent before leaving are
    still delivered under its id (not as b'')."""
    t = RouteTable()
    t.py_add(0, b"server")
    t.py_forget(0)
    assert t.py_lookup(b"server") == -1
    assert t.py_rid_of(0) == b"server"
    assert t.py_add(1, b"server") == ADDED           # a reconnect may take the name
    assert t.py_lookup(b"server") == 1
    t.py_removed(0)
    assert t.py_lookup(b"server") == 0 and t.py_rid_of(0) == b"server"


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "forget", "remove"]),
                              st.sampled_from([b"a", b"b", b"c", b""]),
                              st.integers(0, 10), st.booleans()), max_size=60))
def test_routes_model(ops):
    """Against a list of (rid, routable) per slot: lookups, names and index shifts."""
    t = RouteTable()
    slots = []                                      # [rid or None, routable]
    for op, rid, i, handover in ops:
        if op == "add":
            idx = len(slots)
            owner = next((k for k, s in enumerate(slots) if s[1] and s[0] == rid), None) if rid else None
            got = t.py_add(idx, rid, handover)
            if owner is not None and not handover:
                assert got == REFUSED
                slots.append([None, False])
                continue
            if owner is not None:
                assert got == owner
                slots[owner] = [None, False]
            else:
                assert got == ADDED
            name = rid or t.py_rid_of(idx)
            slots.append([name, True])
        elif not slots:
            continue
        elif op == "forget":
            i %= len(slots)
            t.py_forget(i)
            slots[i][1] = False
        else:
            i %= len(slots)
            t.py_removed(i)
            del slots[i]
        for k, (name, routable) in enumerate(slots):
            assert t.py_rid_of(k) == name
            if routable:
                assert t.py_lookup(name) == k
        assert len(t) == sum(1 for s in slots if s[1])


# ================================================================ id routes (SERVER, PEER)

def test_id_routes_count_up_skip_zero_and_survive_departure():
    t = IdRoutes(0xFFFFFFFE)
    assert t.py_add(0) == 0xFFFFFFFE
    assert t.py_add(1) == 0xFFFFFFFF
    assert t.py_add(2) == 1                          # wraps past 0: 0 means "no id"
    assert [t.py_lookup(r) for r in (0xFFFFFFFE, 0xFFFFFFFF, 1, 2)] == [0, 1, 2, -1]
    t.py_forget(1)                                   # gone: not routable, still named
    assert t.py_lookup(0xFFFFFFFF) == -1 and t.py_id_of(1) == 0xFFFFFFFF
    t.py_removed(1)                                  # later slots move down
    assert t.py_lookup(1) == 1 and t.py_id_of(1) == 1 and t.py_id_of(0) == 0xFFFFFFFE
    assert len(t) == 2


def test_id_routes_random_start():
    firsts = {IdRoutes().py_add(0) for _ in range(8)}
    assert len(firsts) > 1 and 0 not in firsts       # as libzmq: a random first id


@settings(max_examples=150, deadline=None)
@given(ops=st.lists(st.tuples(st.sampled_from(["add", "forget", "remove"]), st.integers(0, 10)),
                    max_size=60), start=st.integers(0, 2**32 - 1))
def test_id_routes_model(ops, start):
    """Against a list of (id, routable) per slot: ids unique among routable slots, never
    0; lookups and index shifts."""
    t = IdRoutes(start)
    slots = []
    for op, i in ops:
        if op == "add":
            rid = t.py_add(len(slots))
            assert rid != 0 and all(r != rid for r, ok in slots if ok)
            slots.append([rid, True])
        elif not slots:
            continue
        elif op == "forget":
            i %= len(slots)
            t.py_forget(i)
            slots[i][1] = False
        else:
            i %= len(slots)
            t.py_removed(i)
            del slots[i]
        for k, (rid, ok) in enumerate(slots):
            assert t.py_id_of(k) == rid
            if ok:
                assert t.py_lookup(rid) == k
        assert len(t) == sum(1 for s in slots if s[1])
