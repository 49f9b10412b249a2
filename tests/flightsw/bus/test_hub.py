"""The lockstep hub (flightsw/bus/hub.py) and the fast-mode runner (flightsw/bus/runner.py).

DESIGN.md §3: at tick k each due participant gets ONE batch of every message addressed
to it that was produced before tick k, sorted by (src, seq); so every message has one
tick of latency (more for a slower participant, held until its due tick) and delivery
never depends on the order in which replies arrive.
"""

from __future__ import annotations

from collections.abc import Sequence

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.bus.hub import HUB, HubCore, Registration, Wire
from flightsw.bus.participant import ParticipantSpec
from flightsw.bus.runner import run_lockstep
from flightsw.icd.codec import decode, encode
from flightsw.icd.messages import (
    Envelope,
    Event,
    HubStatus,
    JobAck,
    Message,
    RestartProcess,
    ResultAck,
    ResultResync,
)

S = 1_000_000_000  # [ns] one tick of 1 s
KIND_A = ResultResync.KIND  # topics the hub itself never emits
KIND_B = ResultAck.KIND
KIND_C = JobAck.KIND


def _body(kind: int, text: str):
    if kind == KIND_A:
        return ResultResync(reason=text)
    if kind == KIND_B:
        return ResultAck(job_id=text or "j")
    return JobAck(job_id=text or "j", accepted=True, reason="")


def wire(src: str, seq: int, kind: int = KIND_A, dst: str = "", tick: int = 0) -> Wire:
    """A wire as an Endpoint would make it: routing keys plus a real encoding."""
    body = _body(kind, f"{src}#{seq}")
    data = encode(Message(Envelope(kind, body.VERSION, src, seq, tick, tick * S, dst), body))
    return Wire(src, seq, kind, dst, data)


def hub(*regs: tuple[str, int, set[int]]) -> HubCore:
    core = HubCore()
    for name, period, subs in regs:
        core.register(Registration(name, period, frozenset(subs)))
    return core


def origins(batch: Sequence[bytes]) -> list[tuple[str, int]]:
    """(src, seq) of every message in a batch, in delivery order."""
    out = []
    for data in batch:
        env = decode(data).env
        out.append((env.src, env.seq))
    return out


# -------------------------------------------------------------------- delivery


def test_a_message_produced_at_tick_k_arrives_at_tick_k_plus_1() -> None:
    core = hub(("a", 1, set()), ("b", 1, {KIND_A}))
    assert core.begin_tick(0, 0) == {"a": [], "b": []}, "tick 0 batches must be empty"
    core.end_tick(0, {"a": [wire("a", 1)], "b": []})
    batches = core.begin_tick(1, S)
    assert origins(batches["b"]) == [("a", 1)], "message of tick 0 not delivered at tick 1"


def test_a_batch_is_sorted_by_source_then_seq() -> None:
    core = hub(("a", 1, {KIND_A}), ("b", 1, {KIND_A}), ("c", 1, {KIND_A}))
    core.begin_tick(0, 0)
    core.end_tick(0, {"b": [wire("b", 9), wire("b", 2)], "a": [wire("a", 5), wire("a", 3)]})
    batches = core.begin_tick(1, S)
    assert origins(batches["c"]) == [("a", 3), ("a", 5), ("b", 2), ("b", 9)], "batch not sorted"


def test_a_message_goes_to_subscribers_only_and_never_back_to_its_sender() -> None:
    core = hub(("a", 1, {KIND_A}), ("b", 1, {KIND_A}), ("c", 1, {KIND_B}))
    core.begin_tick(0, 0)
    core.end_tick(0, {"a": [wire("a", 1, KIND_A)]})
    batches = core.begin_tick(1, S)
    assert origins(batches["b"]) == [("a", 1)], "a subscriber missed the message"
    assert batches["a"] == [], "the sender got its own message back"
    assert batches["c"] == [], "a non-subscriber got the message"


def test_an_addressed_message_goes_to_its_addressee_alone() -> None:
    core = hub(("a", 1, set()), ("b", 1, {KIND_A}), ("c", 1, set()))
    core.begin_tick(0, 0)
    core.end_tick(0, {"a": [wire("a", 1, KIND_A, dst="c")]})
    batches = core.begin_tick(1, S)
    assert origins(batches["c"]) == [("a", 1)], "the addressee (not subscribed) missed it"
    assert batches["b"] == [], "a subscriber got a message addressed to someone else"


def test_a_message_to_a_dead_participant_is_dropped_and_counted() -> None:
    core = hub(("a", 1, set()), ("b", 1, {KIND_A}))
    core.mark_dead("b")
    core.begin_tick(0, 0)
    core.end_tick(0, {"a": [wire("a", 1), wire("a", 2, dst="b")]})
    assert "b" not in core.begin_tick(1, S), "a dead participant was given a batch"
    assert core.statistics().dropped_dead == 2, "drops to the dead not counted"
    assert core.statistics().kills == 1, "the kill was not counted"


def test_mail_pending_for_a_participant_when_it_dies_is_dropped_and_counted() -> None:
    core = hub(("a", 1, set()), ("b", 1, {KIND_A}))
    core.begin_tick(0, 0)
    core.end_tick(0, {"a": [wire("a", 1), wire("a", 2)]})
    core.mark_dead("b")
    core.mark_restarted("b")
    assert core.begin_tick(1, S)["b"] == [], "a restarted participant got mail from its past life"
    assert core.statistics().dropped_dead == 2, "pending mail of the dead not counted"


def test_a_message_to_an_unknown_name_is_counted_unroutable() -> None:
    core = hub(("a", 1, set()))
    core.begin_tick(0, 0)
    core.end_tick(0, {"a": [wire("a", 1, dst="nobody")]})
    assert core.statistics().dropped_unroutable == 1, "unroutable message not counted"


def test_a_message_to_the_hub_lands_in_its_own_mailbox() -> None:
    core = hub(("supervisor", 1, set()))
    body = RestartProcess(process="executor", reason="test")
    data = encode(Message(Envelope(body.KIND, 1, "supervisor", 1, 0, 0, HUB), body))
    core.begin_tick(0, 0)
    core.end_tick(0, {"supervisor": [Wire("supervisor", 1, body.KIND, HUB, data)]})
    mail = core.take_hub_mail()
    assert [m.body for m in mail] == [body], "the hub did not receive its mail"
    assert core.take_hub_mail() == [], "hub mail was not taken"


def test_a_slower_participant_gets_held_messages_on_its_due_tick() -> None:
    core = hub(("a", 1, set()), ("slow", 3, {KIND_A}))
    for tick in range(4):
        batches = core.begin_tick(tick, tick * S)
        due = tick % 3 == 0
        assert ("slow" in batches) == due, f"slow participant due={due} at tick {tick} broken"
        if tick == 3:
            assert origins(batches["slow"]) == [("a", 1), ("a", 2), ("a", 3)], (
                "held messages not delivered in (src, seq) order on the due tick"
            )
        core.end_tick(tick, {"a": [wire("a", tick + 1, tick=tick)]})


def test_a_period_below_one_is_refused() -> None:
    with pytest.raises(ValueError, match="period_ticks"):
        HubCore().register(Registration("x", 0, frozenset()))


def test_hub_status_reaches_its_subscriber_in_the_same_tick() -> None:
    core = hub(("a", 1, set()), ("supervisor", 1, {HubStatus.KIND}))
    core.mark_dead("a")
    batch = core.begin_tick(0, 0)["supervisor"]
    (status,) = [decode(d).body for d in batch]
    assert status == HubStatus(alive=("supervisor",), dead=("a",)), f"status is {status}"


# --------------------------------------------------------- order independence


NAMES = ("alpha", "bravo", "charlie", "delta")
KINDS = (KIND_A, KIND_B, KIND_C)


@st.composite
def _plans(draw):
    """Participants (rate, subscriptions), what each produces per tick, and kills."""
    names = draw(st.lists(st.sampled_from(NAMES), min_size=2, max_size=4, unique=True))
    regs = [(n, draw(st.integers(1, 3)), draw(st.sets(st.sampled_from(KINDS)))) for n in names]
    n_ticks = draw(st.integers(1, 6))
    ticks = []
    for _ in range(n_ticks):
        produced = {
            n: draw(st.lists(st.tuples(st.sampled_from(KINDS), st.sampled_from(("", *NAMES))),
                             max_size=4))
            for n in names
        }
        ticks.append(produced)
    kills = draw(st.dictionaries(st.integers(0, n_ticks - 1), st.sampled_from(names), max_size=2))
    return regs, ticks, kills


def _run_plan(plan, data, shuffle: bool) -> tuple[list[dict], str, object]:
    """Drive a HubCore through a plan; if ``shuffle``, replies arrive in a drawn order."""
    regs, ticks, kills = plan
    core = hub(*regs)
    seq = dict.fromkeys(NAMES, 0)
    seen = []
    for tick, produced in enumerate(ticks):
        if tick in kills:
            core.mark_dead(kills[tick])
        batches = core.begin_tick(tick, tick * S)
        seen.append(batches)
        replies = {}
        for name in sorted(batches):
            wires = []
            for kind, dst in produced[name]:
                seq[name] += 1
                wires.append(wire(name, seq[name], kind, dst, tick))
            replies[name] = wires
        if shuffle:
            order = data.draw(st.permutations(sorted(replies)), label=f"reply order {tick}")
            replies = {n: data.draw(st.permutations(replies[n]), label=f"wires {n}") for n in order}
        core.end_tick(tick, replies)
    return seen, core.digest_hex(), core.statistics()


@settings(max_examples=60, deadline=None)
@given(_plans(), st.data())
def test_batches_and_digest_do_not_depend_on_the_order_replies_arrive(plan, data) -> None:
    ref_batches, ref_digest, ref_stats = _run_plan(plan, data, shuffle=False)
    batches, digest, stats = _run_plan(plan, data, shuffle=True)
    assert batches == ref_batches, "a participant's batch depends on reply arrival order"
    assert digest == ref_digest, "the digest depends on reply arrival order"
    assert stats == ref_stats, "the hub's counters depend on reply arrival order"


# ------------------------------------------------------------ fast-mode runner


class Toy:
    """A participant that publishes one ResultResync per step and records its inbox."""

    subscriptions = frozenset({ResultResync.KIND})

    def __init__(self, name: str, start_tick: int, period_ticks: int = 1) -> None:
        self.name = name
        self.period_ticks = period_ticks
        self.start_tick = start_tick
        self.received: list[list] = []  # [tick now, src, seq, tick produced]

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[tuple[object, str]]:
        for m in inbox:
            self.received.append([tick, m.env.src, m.env.seq, m.env.tick])
        return [(ResultResync(reason=f"{self.name} at {tick}"), "")]

    def final_report(self) -> dict:
        return {"received": self.received, "start_tick": self.start_tick}

    def close(self) -> None:
        pass


def make_toy(start_tick: int, name: str, period_ticks: int = 1) -> Toy:
    return Toy(name, start_tick, period_ticks)


FACTORY = f"{__name__}:make_toy"
TOYS = [ParticipantSpec("toy_a", FACTORY, {"name": "toy_a"}),
        ParticipantSpec("toy_b", FACTORY, {"name": "toy_b"})]
N_TICKS = 12
KILL_TICK = 5


def test_in_fast_mode_every_message_arrives_one_tick_after_it_was_produced() -> None:
    result = run_lockstep(TOYS, N_TICKS, mode="fast")
    received = result.reports["toy_a"]["received"]
    assert [r[1] for r in received] == ["toy_b"] * (N_TICKS - 1), f"toy_a got {received}"
    assert all(now == produced + 1 for now, _, _, produced in received), "latency is not 1 tick"


def test_in_fast_mode_a_slower_participant_gets_everything_held_on_its_due_ticks() -> None:
    slow = ParticipantSpec("toy_slow", FACTORY, {"name": "toy_slow", "period_ticks": 3})
    result = run_lockstep([TOYS[0], slow], 7, mode="fast")
    got = [(now, produced) for now, _src, _, produced in result.reports["toy_slow"]["received"]]
    assert got == [(3, 0), (3, 1), (3, 2), (6, 3), (6, 4), (6, 5)], f"toy_slow got {got}"
    from_slow = [(now, produced) for now, _src, _, produced in result.reports["toy_a"]["received"]]
    assert from_slow == [(1, 0), (4, 3)], f"toy_a got {from_slow} from the slow toy"


def test_a_kill_at_tick_k_marks_the_participant_dead_from_tick_k() -> None:
    result = run_lockstep(TOYS, N_TICKS, mode="fast", kills={KILL_TICK: ["toy_b"]})
    assert result.kills == ((KILL_TICK, "toy_b", "fault plan"),), f"kills are {result.kills}"
    assert result.dead_at_end == ("toy_b",), "toy_b is not reported dead at the end"
    assert result.hub.kills == 1, "the hub did not count the kill"
    from_b = [r for r in result.reports["toy_a"]["received"] if r[1] == "toy_b"]
    assert max(produced for *_, produced in from_b) == KILL_TICK - 1, "toy_b spoke after its kill"
    # toy_a's message of tick k-1 was pending for toy_b; those of ticks k.. had no live reader
    assert result.hub.dropped_dead == N_TICKS - KILL_TICK + 1, "drops to the dead not counted"


def test_a_seeded_fast_run_with_a_kill_has_a_reproducible_digest() -> None:
    first = run_lockstep(TOYS, N_TICKS, mode="fast", kills={KILL_TICK: ["toy_b"]})
    again = run_lockstep(TOYS, N_TICKS, mode="fast", kills={KILL_TICK: ["toy_b"]})
    no_kill = run_lockstep(TOYS, N_TICKS, mode="fast")
    assert first.digest == again.digest, "the same run gave two digests"
    assert first.digest != no_kill.digest, "the kill left no trace in the digest"


def test_a_kill_of_an_unknown_process_is_refused() -> None:
    with pytest.raises(ValueError, match="nobody"):
        run_lockstep(TOYS, 2, mode="fast", kills={1: ["nobody"]})


def test_the_hub_announces_a_kill_as_a_warning_hi_event() -> None:
    routed: list[tuple[int, Wire]] = []
    run_lockstep(TOYS, N_TICKS, mode="fast", kills={KILL_TICK: ["toy_b"]},
                 tap=lambda tick, w: routed.append((tick, w)))
    events = [(t, decode(w.data).body) for t, w in routed if w.kind == Event.KIND]
    assert [(t, e.name) for t, e in events] == [(KILL_TICK, "hub.process_killed")], events


def test_a_stalled_participant_answers_nothing_then_handles_what_waited_in_order() -> None:
    """A stall window (a fault plan's [[stall]]): the app's loop hangs, so it publishes
    nothing; what came meanwhile waits, as in a socket's queue, and is handled in order
    when it runs again."""
    stalled = ParticipantSpec("toy_b", FACTORY, {"name": "toy_b"}, stalls=((4, 7),))
    result = run_lockstep([TOYS[0], stalled], N_TICKS, mode="fast")
    from_b = [produced for _, src, _, produced in result.reports["toy_a"]["received"] if src == "toy_b"]
    assert from_b == [0, 1, 2, 3, 7, 8, 9, 10], f"toy_b published while hung: {from_b}"
    got = [(now, produced) for now, _, _, produced in result.reports["toy_b"]["received"]]
    assert got[3:8] == [(7, 3), (7, 4), (7, 5), (7, 6), (8, 7)], f"the held input: {got}"
    assert result.reports["toy_b"]["stalled_ticks"] == 3
    assert not result.restarts and not result.dead_at_end, "a stall is not a death"


def test_a_stall_gives_the_same_digest_in_fast_and_hil_mode() -> None:
    stalled = ParticipantSpec("toy_b", FACTORY, {"name": "toy_b"}, stalls=((3, 6),))
    fast = run_lockstep([TOYS[0], stalled], 9, mode="fast")
    hil = run_lockstep([TOYS[0], stalled], 9, mode="hil")
    assert fast.digest == hil.digest
    assert fast.digest != run_lockstep(TOYS, 9, mode="fast").digest, "the stall left no trace"
