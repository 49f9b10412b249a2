"""Property tests of the CFDP engine over a seeded, pass-limited, hostile link.

The link is up for ``pass_ticks`` ticks, then down for 90 minutes (everything in flight
is lost). Per PDU it loses, duplicates, reorders within a tick, and injects random
garbage and bit-flipped copies of real PDUs at both ends. Properties: nothing raises,
every file that completes is byte-identical, none completes wrongly, every file
completes given enough passes, and a seeded run is a pure function of its inputs.
"""

from __future__ import annotations

import hashlib
import random
from dataclasses import dataclass

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacepackets.cfdp import ConditionCode

from flightsw.icd.cfdp import CfdpConfig, FileReceiver, FileSender
from flightsw.icd.cfdp.clock import LinkClock
from flightsw.icd.cfdp.config import NS_PER_S
from flightsw.icd.cfdp.ranges import RangeSet

GAP_NS = 90 * 60 * NS_PER_S
PROPS_CONFIG = CfdpConfig(segment_bytes=256, max_pdu_bytes=600)
# Reasons a hostile link may legitimately cause; anything else means an engine bug.
LINK_REASONS = {"pdu_crc", "length_mismatch", "truncated", "bad_version", "malformed",
                "unexpected_pdu", "late", "unknown_transaction", "wrong_entity",
                "wrong_direction", "crc_flag_mismatch", "unacknowledged_mode",
                "large_file_flag", "stale_ack", "not_bytes"}
FAST = settings(deadline=None, max_examples=300,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
SLOW = settings(deadline=None, max_examples=5000,
                suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])


@dataclass(frozen=True)
class Hostility:
    loss: float
    duplicate: float
    reorder: bool
    inject: float  # per PDU: a bit-flipped copy; per tick: a random garbage datagram


@dataclass(frozen=True)
class Scenario:
    files: tuple[bytes, ...]
    hostility: Hostility
    pass_ticks: int
    budget_bytes: int
    seed: int



@st.composite
def file_sets(draw: st.DrawFn) -> tuple[bytes, ...]:
    """1..4 files of 0..20,000 bytes (up to 79 segments each); content from a drawn seed,
    since shrinking the bytes themselves teaches nothing about delivery."""
    sizes = draw(st.lists(st.integers(0, 20_000), min_size=1, max_size=4))
    rng = random.Random(draw(st.integers(0, 2**32 - 1)))
    return tuple(rng.randbytes(n) for n in sizes)


scenarios = st.builds(
    Scenario,
    files=file_sets(),
    hostility=st.builds(Hostility, loss=st.sampled_from([0.0, 0.01, 0.1]),
                        duplicate=st.sampled_from([0.0, 0.05]), reorder=st.booleans(),
                        inject=st.sampled_from([0.0, 0.05])),
    pass_ticks=st.integers(5, 40),
    budget_bytes=st.integers(600, 3000),
    seed=st.integers(0, 2**32 - 1),
)


def flip_bits(pdu: bytes, rng: random.Random) -> bytes:
    out = bytearray(pdu)
    for _ in range(rng.randint(1, 3)):
        i = rng.randrange(len(out) * 8)
        out[i // 8] ^= 1 << (i % 8)
    return bytes(out)


def transmit(pdus: list[bytes], rng: random.Random, h: Hostility) -> list[bytes]:
    out = []
    for pdu in pdus:
        if rng.random() >= h.loss:
            out.append(pdu)
            if rng.random() < h.duplicate:
                out.append(pdu)
        if rng.random() < h.inject:
            out.append(flip_bits(pdu, rng))
    if rng.random() < h.inject:
        out.append(rng.randbytes(rng.randint(0, 80)))
    if h.reorder:
        rng.shuffle(out)
    return out


@dataclass
class Outcome:
    accepted: list[tuple[str, bytes]]
    finished: list
    passes: int
    digest: str
    sender_rejected: dict
    receiver_rejected: dict
    receiver_active: int


def simulate(sc: Scenario, config: CfdpConfig = PROPS_CONFIG, max_passes: int = 400) -> Outcome:
    """Run the scenario until every put ended and the receiver closed everything."""
    rng = random.Random(sc.seed)
    accepted: list[tuple[str, bytes]] = []

    def accept(name: str, data: bytes) -> ConditionCode:
        accepted.append((name, data))
        return ConditionCode.NO_ERROR

    sender, receiver = FileSender(config), FileReceiver(config, accept)
    for i, data in enumerate(sc.files):
        sender.put(f"results/f{i}.bin", data, t_ns=0, priority=i % 2)
    digest = hashlib.sha256()
    finished: list = []
    t_ns, to_receiver, to_sender = 0, [], []
    passes = 0
    while passes < max_passes:
        passes += 1
        for _ in range(sc.pass_ticks):
            for pdu in to_sender:
                sender.handle(pdu, t_ns)
            for pdu in to_receiver:
                receiver.handle(pdu, t_ns)
            down = sender.poll(t_ns, sc.budget_bytes, True)
            up = receiver.poll(t_ns, True)
            assert sum(map(len, down)) <= sc.budget_bytes, "budget exceeded"
            for pdu in down + up:
                digest.update(pdu)
            to_receiver = transmit(down, rng, sc.hostility)
            to_sender = transmit(up, rng, sc.hostility)
            finished += sender.drain_finished()
            t_ns += NS_PER_S
        sender.poll(t_ns, sc.budget_bytes, False)
        receiver.poll(t_ns, False)
        to_receiver, to_sender = [], []  # lost at LOS
        t_ns += GAP_NS
        if len(finished) == len(sc.files) and receiver.active() == 0:
            break
    return Outcome(accepted, finished, passes, digest.hexdigest(), dict(sender.rejected),
                   dict(receiver.rejected), receiver.active())


def check_outcome(sc: Scenario, out: Outcome) -> None:
    originals = {f"results/f{i}.bin": data for i, data in enumerate(sc.files)}
    for name, data in out.accepted:
        assert data == originals[name], f"{name} completed with wrong bytes"
    names = [name for name, _ in out.accepted]
    assert len(names) == len(set(names)), f"a file was accepted twice: {names}"
    assert len(out.finished) == len(sc.files), f"not all files ended after {out.passes} passes"
    for fin in out.finished:
        assert fin.delivered and fin.condition == ConditionCode.NO_ERROR, fin
    assert sorted(names) == sorted(originals), "every file delivered"
    assert out.receiver_active == 0, "receiver still holds transactions"
    assert set(out.sender_rejected) <= LINK_REASONS, out.sender_rejected
    assert set(out.receiver_rejected) <= LINK_REASONS, out.receiver_rejected


@FAST
@given(scenarios)
def test_hostile_pass_limited_link_delivers_every_file_byte_identical(sc):
    check_outcome(sc, simulate(sc))


@pytest.mark.slow
@SLOW
@given(scenarios)
def test_hostile_pass_limited_link_delivers_every_file_byte_identical_campaign(sc):
    check_outcome(sc, simulate(sc))


@settings(deadline=None, max_examples=20)
@given(scenarios)
def test_a_seeded_run_is_deterministic(sc):
    first, second = simulate(sc), simulate(sc)
    assert first.digest == second.digest and first.passes == second.passes


@settings(deadline=None, max_examples=40,
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])
@given(scenarios)
def test_without_pdu_crc_corruption_is_never_accepted(sc):
    # Bit flips that still parse reach the engine; the file CRC-32 must stop them.
    config = CfdpConfig(segment_bytes=256, max_pdu_bytes=600, pdu_crc=False)
    out = simulate(sc, config, max_passes=30)
    originals = set(sc.files)
    for name, data in out.accepted:
        assert data in originals, f"{name} accepted with corrupted bytes"


# ---- fuzz of handle ---------------------------------------------------------------------


def transfer_pdus(config: CfdpConfig) -> tuple[list[bytes], list[bytes]]:
    """Every PDU of one clean transfer: (sender's, receiver's)."""
    sender = FileSender(config)
    receiver = FileReceiver(config, lambda n, d: ConditionCode.NO_ERROR)
    sender.put("results/x.bin", bytes(range(256)) * 5, t_ns=0)
    down_all: list[bytes] = []
    up_all: list[bytes] = []
    down: list[bytes] = []
    up: list[bytes] = []
    for k in range(20):
        for pdu in up:
            sender.handle(pdu, k)
        for pdu in down:
            receiver.handle(pdu, k)
        down = sender.poll(k * NS_PER_S, 10_000, True)
        up = receiver.poll(k * NS_PER_S, True)
        down_all += down
        up_all += up
    return down_all, up_all


VALID = {crc: transfer_pdus(CfdpConfig(segment_bytes=256, max_pdu_bytes=600, pdu_crc=crc))
         for crc in (True, False)}


def accounted(stats_before, rejected_before, engine) -> bool:
    """Every handle call is either taken (pdus_received) or counted as rejected."""
    stats = engine.statistics()
    return (stats.get("pdus_received", 0) - stats_before.get("pdus_received", 0)
            + stats["rejected"] - rejected_before) == 1


@settings(deadline=None, max_examples=300)
@given(st.binary(max_size=300))
def test_arbitrary_bytes_never_raise_and_are_accounted_for(raw):
    for engine in (FileSender(PROPS_CONFIG),
                   FileReceiver(PROPS_CONFIG, lambda n, d: ConditionCode.NO_ERROR)):
        before = engine.statistics()
        engine.handle(raw, 0)
        assert accounted(before, before["rejected"], engine), "handle call not accounted"
        engine.poll(NS_PER_S, True) if isinstance(engine, FileReceiver) else engine.poll(
            NS_PER_S, 10_000, True)


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_truncated_pdus_are_always_rejected(data):
    down, up = VALID[True]
    pdu = data.draw(st.sampled_from(down + up))
    cut = data.draw(st.integers(0, len(pdu) - 1))
    accepted = []
    receiver = FileReceiver(PROPS_CONFIG, lambda n, d: accepted.append(n) or 0)
    sender = FileSender(PROPS_CONFIG)
    for engine in (receiver, sender):
        engine.handle(pdu[:cut], 0)
        assert engine.statistics()["rejected"] == 1, "a truncated PDU was taken"
    assert accepted == []


@settings(deadline=None, max_examples=200)
@given(st.data())
def test_bit_flipped_pdus_that_still_parse_never_raise_or_deliver_wrong_data(data):
    # Without the PDU CRC, flipped PDUs parse; feed a whole transfer with some flipped.
    config = CfdpConfig(segment_bytes=256, max_pdu_bytes=600, pdu_crc=False)
    down, up = VALID[False]
    original = bytes(range(256)) * 5
    rng = random.Random(data.draw(st.integers(0, 2**32 - 1)))
    accepted = []
    receiver = FileReceiver(config, lambda n, d: accepted.append(d) or ConditionCode.NO_ERROR)
    sender = FileSender(config)
    sender.put("results/x.bin", original, t_ns=0)
    for pdu in down:
        receiver.handle(flip_bits(pdu, rng) if rng.random() < 0.5 else pdu, 0)
    for pdu in up:
        sender.handle(flip_bits(pdu, rng) if rng.random() < 0.5 else pdu, 0)
    receiver.poll(0, True)
    sender.poll(0, 10_000, True)
    assert all(d == original for d in accepted), "corrupted data reached accept"


# ---- building blocks ----------------------------------------------------------------------


@settings(deadline=None, max_examples=300)
@given(st.lists(st.tuples(st.sampled_from(["add", "take"]), st.integers(0, 200),
                          st.integers(0, 40)), max_size=40))
def test_range_set_matches_a_set_of_offsets(ops):
    ranges, model = RangeSet(), set()
    for op, start, length in ops:
        if op == "add":
            ranges.add(start, start + length)
            model |= set(range(start, start + length))
        elif (taken := ranges.take(max(length, 1))) is not None:
            assert taken[0] == min(model), "take starts at the first byte held"
            model -= set(range(*taken))
        spans = list(ranges)
        assert all(e1 < s2 for (_, e1), (s2, _) in zip(spans, spans[1:], strict=False)), \
            "ranges sorted, disjoint and not touching"
        assert {i for s, e in spans for i in range(s, e)} == model
        assert ranges.total == len(model)
        assert ranges.missing(0, 250) == _gaps(model, 250)
        assert ranges.covers(10, 30) == (set(range(10, 30)) <= model)


def _gaps(model: set[int], end: int) -> list[tuple[int, int]]:
    gaps, start = [], None
    for i in range(end + 1):
        hole = i < end and i not in model
        if hole and start is None:
            start = i
        elif not hole and start is not None:
            gaps.append((start, i))
            start = None
    return gaps


@given(st.lists(st.tuples(st.integers(0, 10**12), st.booleans()), max_size=30))
@settings(deadline=None, max_examples=200)
def test_link_clock_counts_only_time_between_two_link_up_samples(samples):
    clock, expected, last = LinkClock(), 0, None
    for t_ns, up in sorted(samples):
        aos = clock.advance(t_ns, up)
        if last is not None and up and last[1] and t_ns > last[0]:
            expected += t_ns - last[0]
        assert aos == (up and not (last is not None and last[1])), "AOS is a down->up edge"
        last = (t_ns, up)
        assert clock.up_ns == expected, "link-down time must not count"
