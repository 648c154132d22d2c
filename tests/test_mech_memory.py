"""The mechanism state machines (zmqx/_core/mechanism.pyx) client<->server in memory.

Round trips for NULL, PLAIN and CURVE with random socket types, identities, metadata and
credentials (hypothesis); the failures libzmq would see (wrong server key, ZAP verdicts,
no handler); CURVE's defences (tampered, replayed, reordered, truncated commands and
MESSAGEs); every single-byte mutation of a valid CURVE transcript fails the handshake,
and garbage in any state is refused without a crash."""

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from zmqx._core import mechanism as M
from zmqx._core import zmtp
from zmqx._core.curve import keypair

PAIRS = [(zmtp.REQ, zmtp.REP), (zmtp.REQ, zmtp.ROUTER), (zmtp.DEALER, zmtp.ROUTER),
         (zmtp.DEALER, zmtp.REP), (zmtp.DEALER, zmtp.DEALER), (zmtp.ROUTER, zmtp.ROUTER),
         (zmtp.PUSH, zmtp.PULL), (zmtp.PULL, zmtp.PUSH), (zmtp.SUB, zmtp.PUB),
         (zmtp.XSUB, zmtp.XPUB), (zmtp.PAIR, zmtp.PAIR)]
IDENTITY_TYPES = (zmtp.REQ, zmtp.DEALER, zmtp.ROUTER)


def frames(data):
    """Command frame bodies and data frames of a byte string, in order."""
    out = []
    while data:
        flags, size, hl = zmtp.decode_frame_header(data)
        out.append(data[hl:hl + size])
        data = data[hl + size:]
    return out


def body_of(frame_bytes):
    (b,) = frames(frame_bytes)
    return b


def approve(m):
    m.zap_reply(200, b"uid", b"")


def pump(client, server, on_zap=approve, mutate=None):
    """Run both sides until neither has anything to say. mutate(i, body) may replace the
    i-th body in flight. Returns the transcript [(sender, body)]."""
    transcript = []
    sides = ((client, server, "c"), (server, client, "s"))
    for _ in range(12):
        moved = False
        for src, dst, tag in sides:
            out = src.data_to_send()
            if src.status == M.ZAP:             # NULL asks for ZAP before its READY
                on_zap(src)
                out += src.data_to_send()
                moved = True
            for body in frames(out):
                if mutate is not None:
                    body = mutate(len(transcript), body)
                transcript.append((tag, body))
                moved = True
                if dst.feed(body) == M.NEED_ZAP:
                    on_zap(dst)
        if not moved:
            break
    return transcript


def curve_pair(ctype=zmtp.DEALER, stype=zmtp.ROUTER, server_key=None, **kw):
    spk, ssk = keypair()
    cpk, csk = keypair()
    s = M.Mechanism(M.MECH_CURVE, True, stype, public_key=spk, secret_key=ssk,
                    **kw.get("server", {}))
    c = M.Mechanism(M.MECH_CURVE, False, ctype, kw.get("identity", b""), public_key=cpk,
                    secret_key=csk, server_key=server_key or spk, **kw.get("client", {}))
    return c, s, cpk


def ready_curve():
    c, s, _ = curve_pair()
    pump(c, s)
    assert c.status == s.status == M.READY
    return c, s


# ---------------------------------------------------------------- round trips

meta_values = st.binary(max_size=40)
app_meta = st.dictionaries(st.sampled_from([b"X-A", b"X-Long-Name", b"X-z"]), meta_values,
                           max_size=3)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(pair=st.sampled_from(PAIRS), ident=st.binary(min_size=0, max_size=255),
       extra=app_meta, kind=st.sampled_from([M.MECH_NULL, M.MECH_PLAIN, M.MECH_CURVE]),
       user=st.binary(max_size=255), pw=st.binary(max_size=255))
def test_round_trip_exchanges_metadata(pair, ident, extra, kind, user, pw):
    ctype, stype = pair
    md = zmtp.encode_metadata(extra)
    if kind == M.MECH_CURVE:
        c, s, cpk = curve_pair(ctype, stype, identity=ident, client={"metadata": md},
                               server={"metadata": md})
    else:
        s = M.Mechanism(kind, True, stype, metadata=md)
        c = M.Mechanism(kind, False, ctype, ident, metadata=md, username=user, password=pw)
    zaps = []

    def on_zap(m):
        zaps.append(m.zap_request())
        m.zap_reply(200, b"user-" + user, zmtp.encode_metadata({b"X-Zap": b"1"}))

    pump(c, s, on_zap)
    assert c.status == s.status == M.READY
    want_c = {b"Socket-Type": zmtp.socktype_name(ctype)}
    if ctype in IDENTITY_TYPES:
        want_c[b"Identity"] = ident
    want_c.update(extra)
    assert s.peer_metadata == want_c
    assert s.peer_socktype == ctype and c.peer_socktype == stype
    assert s.peer_identity == (ident if ctype in IDENTITY_TYPES else b"")
    want_s = {b"Socket-Type": zmtp.socktype_name(stype)}
    if stype in IDENTITY_TYPES:
        want_s[b"Identity"] = b""
    want_s.update(extra)
    assert c.peer_metadata == want_s
    if kind == M.MECH_PLAIN:
        assert zaps == [{"domain": b"", "identity": b"", "mechanism": b"PLAIN",
                         "credentials": [user, pw]}]
        assert s.user_id == b"user-" + user and s.zap_metadata == {b"X-Zap": b"1"}
    elif kind == M.MECH_CURVE:
        assert zaps[0]["credentials"] == [cpk] and s.client_key == cpk
        assert c._short_secret() == s._short_secret() == b"\0" * 32
    else:
        assert zaps == [] and s.user_id is None


@settings(max_examples=60, deadline=None)
@given(msgs=st.lists(st.tuples(st.binary(max_size=600), st.booleans(), st.booleans(),
                               st.booleans()), max_size=12))
def test_curve_messages_both_ways(msgs):
    c, s = ready_curve()
    for payload, more, command, to_server in msgs:
        a, b = (c, s) if to_server else (s, c)
        frame = a.encode_message(payload, more=more, command=command)
        flags, size, hl = zmtp.decode_frame_header(frame)
        assert flags == 0 and size == len(payload) + 33      # a data frame, as libzmq sends
        assert b.decode_message(frame[hl:]) == (payload, more, command)


def test_curve_command_sizes_match_libzmq():
    c, s, _ = curve_pair(zmtp.PUSH, zmtp.PULL)
    t = pump(c, s)
    sizes = [(tag, body[:9].split(b"\0")[0][1:body[0] + 1], len(body)) for tag, body in t]
    meta_c = len(zmtp.encode_metadata({b"Socket-Type": b"PUSH"}))
    meta_s = len(zmtp.encode_metadata({b"Socket-Type": b"PULL"}))
    assert sizes == [("c", b"HELLO", 200), ("s", b"WELCOME", 168),
                     ("c", b"INITIATE", 257 + meta_c), ("s", b"READY", 30 + meta_s)]
    hello = t[0][1]
    assert hello[6:8] == b"\x01\x00" and hello[8:80] == b"\0" * 72
    assert hello[112:120] == (1).to_bytes(8, "big")             # first short nonce is 1
    assert t[2][1][105:113] == (2).to_bytes(8, "big")
    assert t[3][1][6:14] == (1).to_bytes(8, "big")


# ---------------------------------------------------------------- refusals


def test_curve_wrong_server_key_fails_at_hello():
    wrong, _ = keypair()
    c, s, _ = curve_pair(server_key=wrong)
    with pytest.raises(zmtp.ProtocolError) as e:
        pump(c, s)
    assert e.value.code == M.ERR_CRYPTO and s.status == M.ERROR
    assert s.data_to_send() == b""                      # libzmq sends no ERROR for it
    assert c.status == M.HANDSHAKING


@pytest.mark.parametrize("kind", [M.MECH_PLAIN, M.MECH_CURVE])
@pytest.mark.parametrize("status,error_frame", [(300, None), (400, b"400"), (500, b"500")])
def test_zap_verdicts(kind, status, error_frame):
    if kind == M.MECH_CURVE:
        c, s, _ = curve_pair()
    else:
        s = M.Mechanism(kind, True, zmtp.ROUTER)
        c = M.Mechanism(kind, False, zmtp.DEALER, username=b"u", password=b"p")
    with pytest.raises(zmtp.ProtocolError) as e:
        pump(c, s, on_zap=lambda m: m.zap_reply(status))
    assert e.value.code == M.ERR_AUTH and s.status == M.ERROR
    out = s.data_to_send()
    if error_frame is None:
        assert out == b""                               # 300: dropped silently
        assert c.status == M.HANDSHAKING
    else:
        with pytest.raises(zmtp.ProtocolError) as e2:
            c.feed(body_of(out))
        assert e2.value.code == zmtp.ERR_PEER_ERROR and c.peer_error_reason == error_frame


def test_zap_absent_follows_libzmq():
    s = M.Mechanism(M.MECH_PLAIN, True, zmtp.PULL)
    c = M.Mechanism(M.MECH_PLAIN, False, zmtp.PUSH, username=b"u", password=b"p")
    with pytest.raises(zmtp.ProtocolError) as e:
        pump(c, s, on_zap=lambda m: m.zap_absent())
    assert e.value.code == M.ERR_ZAP and s.data_to_send() == b""
    c, s, _ = curve_pair()
    pump(c, s, on_zap=lambda m: m.zap_absent())         # Stonehouse
    assert c.status == s.status == M.READY and s.user_id is None
    c, s, _ = curve_pair()
    with pytest.raises(zmtp.ProtocolError):
        pump(c, s, on_zap=lambda m: m.zap_absent(enforce_domain=True))


def test_null_zap_with_domain():
    s = M.Mechanism(M.MECH_NULL, True, zmtp.REP, zap_domain=b"d")
    c = M.Mechanism(M.MECH_NULL, False, zmtp.REQ)
    seen = []
    pump(c, s, on_zap=lambda m: (seen.append(m.zap_request()), m.zap_reply(200, b"u")))
    assert seen == [{"domain": b"d", "identity": b"", "mechanism": b"NULL", "credentials": []}]
    assert c.status == s.status == M.READY and s.user_id == b"u"
    s = M.Mechanism(M.MECH_NULL, True, zmtp.REP, zap_domain=b"d")
    c = M.Mechanism(M.MECH_NULL, False, zmtp.REQ)
    with pytest.raises(zmtp.ProtocolError):
        pump(c, s, on_zap=lambda m: m.zap_reply(400))
    with pytest.raises(zmtp.ProtocolError) as e:
        c.feed(body_of(s.data_to_send()))
    assert e.value.code == zmtp.ERR_PEER_ERROR and c.peer_error_reason == b"400"


@pytest.mark.parametrize("kind", [M.MECH_NULL, M.MECH_PLAIN, M.MECH_CURVE])
def test_incompatible_socket_types_fail(kind):
    if kind == M.MECH_CURVE:
        c, s, _ = curve_pair(zmtp.PUSH, zmtp.PUSH)
    else:
        s = M.Mechanism(kind, True, zmtp.PUSH)
        c = M.Mechanism(kind, False, zmtp.PUSH, username=b"u", password=b"p")
    with pytest.raises(zmtp.ProtocolError) as e:
        pump(c, s)
    assert e.value.code == zmtp.ERR_SOCKTYPE


def test_libzmq_plain_error_spelling_accepted():
    c = M.Mechanism(M.MECH_PLAIN, False, zmtp.PUSH, username=b"u", password=b"p")
    c.data_to_send()
    with pytest.raises(zmtp.ProtocolError) as e:
        c.feed(b"^RROR\x03400")                          # libzmq 4.3.5's PLAIN ERROR body
    assert e.value.code == zmtp.ERR_PEER_ERROR and c.peer_error_reason == b"400"


# ---------------------------------------------------------------- CURVE defences


def test_message_replay_reorder_truncate_tamper():
    for attack in ("replay", "reorder", "truncate", "tamper", "prefix", "short"):
        c, s = ready_curve()
        m1 = body_of(c.encode_message(b"one"))
        m2 = body_of(c.encode_message(b"two"))
        if attack == "replay":
            assert s.decode_message(m1)[0] == b"one"
            bad = m1
        elif attack == "reorder":
            assert s.decode_message(m2)[0] == b"two"
            bad = m1
        elif attack == "truncate":
            bad = m1[:-1]
        elif attack == "tamper":
            bad = m1[:20] + bytes([m1[20] ^ 0x80]) + m1[21:]
        elif attack == "prefix":                         # the server's own direction
            bad = body_of(s.encode_message(b"x"))
        else:
            bad = m1[:32]
        with pytest.raises(zmtp.ProtocolError) as e:
            s.decode_message(bad)
        assert e.value.code in (M.ERR_CRYPTO, zmtp.ERR_PROTOCOL), attack
        assert s.status == M.ERROR
        with pytest.raises(zmtp.ProtocolError):          # and it stays failed
            s.decode_message(m2)


def test_handshake_replay_and_foreign_initiate_fail():
    # a second HELLO, a replayed WELCOME, a READY after READY
    c, s, _ = curve_pair()
    t = pump(c, s)
    for who, body in ((s, t[0][1]), (c, t[1][1]), (c, t[3][1])):
        with pytest.raises(zmtp.ProtocolError):
            who.feed(body)
    # INITIATE from another connection to the same server key: the cookie is not ours
    spk, ssk = keypair()
    cpk, csk = keypair()
    mk_s = lambda: M.Mechanism(M.MECH_CURVE, True, zmtp.PULL, public_key=spk, secret_key=ssk)
    mk_c = lambda: M.Mechanism(M.MECH_CURVE, False, zmtp.PUSH, public_key=cpk, secret_key=csk,
                               server_key=spk)
    c1, s1 = mk_c(), mk_s()
    t1 = pump(c1, s1)
    c2, s2 = mk_c(), mk_s()
    s2.feed(body_of(c2.data_to_send()))
    s2.data_to_send()
    with pytest.raises(zmtp.ProtocolError) as e:
        s2.feed(t1[2][1])
    assert e.value.code == M.ERR_CRYPTO


def curve_transcript_with(mutate):
    c, s, _ = curve_pair(zmtp.DEALER, zmtp.ROUTER, identity=b"id")
    t = pump(c, s, mutate=mutate)
    if c.status == s.status == M.READY:
        # the data phase: one MESSAGE each way, also subject to mutation
        n = len(t)
        for src, dst in ((c, s), (s, c)):
            body = mutate(n, body_of(src.encode_message(b"payload", more=True)))
            n += 1
            dst.decode_message(body)
    return c, s


def test_curve_transcript_sizes():
    lengths = []
    curve_transcript_with(lambda i, b: (lengths.append(len(b)), b)[1])
    assert len(lengths) == 6


def test_every_single_byte_mutation_of_curve_transcript_fails():
    lengths = []
    curve_transcript_with(lambda i, b: (lengths.append(len(b)), b)[1])
    for frame_no, n in enumerate(lengths):
        for pos in range(n):
            def mutate(i, body, frame_no=frame_no, pos=pos):
                if i != frame_no:
                    return body
                return body[:pos] + bytes([body[pos] ^ 0x01]) + body[pos + 1:]
            with pytest.raises(zmtp.ProtocolError):
                curve_transcript_with(mutate)


@settings(max_examples=150, deadline=None)
@given(frame_no=st.integers(0, 5), pos=st.integers(0, 400), value=st.integers(0, 255),
       cut=st.booleans())
def test_random_mutation_or_truncation_of_curve_transcript_fails(frame_no, pos, value, cut):
    changed = []

    def mutate(i, body):
        if i != frame_no:
            return body
        p = pos % len(body)
        if cut:
            new = body[:p]
        else:
            new = body[:p] + bytes([value]) + body[p + 1:]
        changed.append(new != body)
        return new

    try:
        curve_transcript_with(mutate)
    except zmtp.ProtocolError:
        return
    assert changed == [False]               # only an identical body may succeed


@settings(max_examples=200, deadline=None)
@given(kind=st.sampled_from([M.MECH_NULL, M.MECH_PLAIN, M.MECH_CURVE]),
       as_server=st.booleans(), steps=st.integers(0, 3), garbage=st.binary(max_size=400))
def test_garbage_in_any_state_is_refused_or_ignored_never_a_crash(kind, as_server, steps, garbage):
    if kind == M.MECH_CURVE:
        c, s, _ = curve_pair()
    else:
        s = M.Mechanism(kind, True, zmtp.ROUTER)
        c = M.Mechanism(kind, False, zmtp.DEALER, username=b"u", password=b"p")
    # advance a few legitimate steps, then feed garbage to one side
    sides = [(c, s), (s, c)]
    try:
        for i in range(steps):
            src, dst = sides[i % 2]
            for body in frames(src.data_to_send()):
                if dst.feed(body) == M.NEED_ZAP:
                    approve(dst)
    except zmtp.ProtocolError:
        return
    victim = s if as_server else c
    try:
        victim.feed(garbage)
    except zmtp.ProtocolError as e:
        assert e.code < 0 and victim.status == M.ERROR
        victim.data_to_send()
    if victim.status == M.READY and kind == M.MECH_CURVE:
        with pytest.raises(zmtp.ProtocolError):
            victim.decode_message(garbage)


@settings(max_examples=100, deadline=None)
@given(kind=st.sampled_from([M.MECH_PLAIN, M.MECH_NULL]), frame_no=st.integers(0, 3),
       pos=st.integers(0, 300), value=st.integers(0, 255))
def test_plain_and_null_mutations_never_crash(kind, frame_no, pos, value):
    s = M.Mechanism(kind, True, zmtp.ROUTER)
    c = M.Mechanism(kind, False, zmtp.DEALER, b"x", username=b"user", password=b"pass")

    def mutate(i, body):
        if i != frame_no:
            return body
        p = pos % len(body)
        return body[:p] + bytes([value]) + body[p + 1:]

    try:
        pump(c, s, mutate=mutate)
    except zmtp.ProtocolError as e:
        assert e.code < 0
        return
    # PLAIN has no integrity: a changed credential or property may still complete
    assert {c.status, s.status} <= {M.READY, M.HANDSHAKING, M.ZAP}



def test_curve_commands_out_of_order_fail():
    c, s, _ = curve_pair()
    t = [b for _, b in pump(c, s)]
    c2, s2, _ = curve_pair()
    with pytest.raises(zmtp.ProtocolError):
        s2.feed(t[2])                           # INITIATE before any HELLO
    c2.data_to_send()
    with pytest.raises(zmtp.ProtocolError):
        c2.feed(t[3])                           # READY while waiting for WELCOME
    assert s2.status == c2.status == M.ERROR


@pytest.mark.parametrize("frame_no", range(4))
def test_curve_truncated_commands_fail(frame_no):
    c, s, _ = curve_pair()
    with pytest.raises(zmtp.ProtocolError):
        pump(c, s, mutate=lambda i, b: b[:-1] if i == frame_no else b)
    assert M.ERROR in (c.status, s.status)
