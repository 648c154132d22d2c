"""Subscription trie: reference-counted prefixes, checked against a plain model."""

from collections import Counter

import pytest
from helpers import hypothesis_api

given, settings, st, _, _ = hypothesis_api()    # skips loudly without hypothesis

from zmqx._core.trie import Trie

pytestmark = pytest.mark.timeout(60)


def test_empty_prefix_matches_everything():
    t = Trie()
    assert not t.match(b"anything")
    assert t.add(b"") == 1
    assert t.match(b"") and t.match(b"anything")


def test_prefix_match_and_refcount():
    t = Trie()
    assert t.add(b"A") == 1
    assert t.add(b"A") == 0            # second reference, not a new subscription
    assert t.match(b"ABC") and not t.match(b"B")
    assert t.rm(b"A") == 0             # one reference left
    assert t.match(b"A")
    assert t.rm(b"A") == 1             # gone
    assert not t.match(b"A")
    assert t.rm(b"A") == -1            # was not subscribed
    assert t.live == 0


def test_longer_prefix_does_not_match_shorter_topic():
    t = Trie()
    t.add(b"weather.")
    assert not t.match(b"weather")
    assert t.match(b"weather.tokyo")


def test_items_lists_every_prefix_with_count():
    t = Trie()
    for p in [b"a", b"ab", b"ab", b"", b"\x00\xff"]:
        t.add(p)
    assert t.items() == [(b"", 1), (b"\x00\xff", 1), (b"a", 1), (b"ab", 2)]





@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(st.sampled_from(["add", "rm"]), st.binary(max_size=5)), max_size=120),
       st.lists(st.binary(max_size=8), max_size=20))
def test_trie_matches_model(ops, topics):
    t = Trie()
    model = Counter()
    for op, p in ops:
        if op == "add":
            assert t.add(p) == (1 if model[p] == 0 else 0)
            model[p] += 1
        else:
            if model[p] == 0:
                assert t.rm(p) == -1
            else:
                model[p] -= 1
                assert t.rm(p) == (1 if model[p] == 0 else 0)
    live = {p: c for p, c in model.items() if c}
    assert t.items() == sorted(live.items())
    assert t.live == sum(live.values())
    for topic in topics + [p + b"x" for p in live]:
        assert t.match(topic) == any(topic.startswith(p) for p in live)
