"""Comms core, the downlink: only in contact, within the contact's bytes per tick, in class
order (verification reports, events, housekeeping, files), with per-pass budgets for events
and housekeeping, high-severity events first, bounded queues, housekeeping sampled."""

from __future__ import annotations

from flightsw.apps.comms.core import CommsCore, CommsTable
from flightsw.apps.comms.downlink import DownlinkQueue, Pending
from flightsw.icd.messages import (
    ContactState,
    Event,
    JobAck,
    JobState,
    Message,
    PowerBudget,
    ResultData,
    Severity,
    ThermalCaps,
)
from flightsw.icd.results import sha256_digest
from flightsw.icd.spacelink import APIDS
from tests.flightsw.apps.builders import S, budget, thermal_caps, verifier
from tests.flightsw.apps.comms.ground import (
    IN_CONTACT,
    NO_CONTACT,
    decoded,
    down_frames,
    msg,
)

BYTES_PER_TICK = 1000  # [B] downlink budget per 1 s tick in the rate tests
RATE_LIMITED = ContactState(True, "svalbard", downlink_bps=8.0 * BYTES_PER_TICK, uplink_bps=8000.0)
LONG_REASON = "r" * 256  # makes a JobState report about 330 bytes on the link
CLASS_RANK = {1: 0, 201: 0, 5: 1, 3: 2, 210: 3}  # PUS service -> downlink class


def started_core(**table) -> CommsCore:
    core = CommsCore(CommsTable(**table), verifier())
    core.step(1, S, None, [], [])
    return core


def result(job_id: str = "a", size: int = 100) -> ResultData:
    data = bytes(i % 251 for i in range(size))
    return ResultData(job_id, "synthetic", data, sha256_digest(data), 5)


def event(name: str, severity: Severity = Severity.WARNING_LO, src: str = "power") -> Message:
    return msg(Event(int(severity), name, "x" * 60), src)


def reports(n: int) -> list:
    return [msg(JobState(f"job-{i:03d}", "STARTED", LONG_REASON, 0.0), "executor") for i in range(n)]


# --------------------------------------------------------------------- contact


def test_nothing_goes_down_out_of_contact_and_everything_once_a_contact_starts() -> None:
    core = started_core(hk_every_ticks=2)
    queued = [msg(JobAck("a", True, ""), "executor"), event("power.a"), msg(budget(5.0), "power"),
              msg(result("a"), "executor")]
    out = core.step(2, 2 * S, NO_CONTACT, [], queued)
    for tick in range(3, 8):  # no new ContactState: still out of contact
        out += core.step(tick, tick * S, None, [], [])
    assert down_frames(out) == [], "something went down outside a contact"
    got = decoded(core.step(8, 8 * S, IN_CONTACT, [], []))
    assert {t.service for t in got} == {1, 5, 3, 210}, "not every class went down at AOS"


def test_classes_go_down_in_order_reports_events_housekeeping_files() -> None:
    core = started_core(hk_every_ticks=2)
    core.step(2, 2 * S, NO_CONTACT, [], [msg(result("a"), "executor"), msg(budget(5.0), "power"),
                                         event("power.a"), msg(JobAck("a", True, ""), "executor")])
    services = [t.service for t in decoded(core.step(3, 3 * S, IN_CONTACT, [], []))]
    assert services[:3] == [1, 5, 3] and set(services[3:]) == {210}, services


def test_under_a_tight_rate_each_class_waits_for_the_ones_before_it() -> None:
    core = started_core(hk_every_ticks=2)
    core.step(2, 2 * S, NO_CONTACT, [], [msg(result("a", 500), "executor"), msg(budget(5.0), "power"),
                                         msg(thermal_caps((50.0,)), "thermal"),
                                         *[event(f"power.e{i}") for i in range(10)], *reports(10)])
    got = []
    for tick in range(3, 13):
        got += decoded(core.step(tick, tick * S, RATE_LIMITED, [], []))
    # the backlog queued before AOS (comms' own status, sampled later, is newer than it)
    services = [t.service for t in got if t.message is None or t.message.env.src != "comms"]
    ranks = [CLASS_RANK[s] for s in services]
    assert ranks == sorted(ranks), f"a class overtook one before it: {services}"
    assert set(ranks) == {0, 1, 2, 3}, f"not every class went down in 10 ticks: {services}"


# ------------------------------------------------------------------------ rate


def test_the_downlink_never_runs_ahead_of_the_contact_rate_by_more_than_one_packet() -> None:
    core = started_core()
    core.step(2, 2 * S, NO_CONTACT, [], reports(100))  # about 33 kB
    sent = largest = 0
    for k in range(1, 11):
        frames = down_frames(core.step(2 + k, (2 + k) * S, RATE_LIMITED, [], []))
        sent += sum(map(len, frames))
        largest = max([largest, *map(len, frames)])
        assert sent <= k * BYTES_PER_TICK + largest, (
            f"{sent} B sent in {k} ticks at {BYTES_PER_TICK} B/tick: the overshoot was not carried as debt")
    assert sent >= 10 * BYTES_PER_TICK - largest, "the contact's byte budget went unused"


def test_the_overshoot_debt_is_forgotten_at_loss_of_signal() -> None:
    core = started_core()
    core.step(2, 2 * S, NO_CONTACT, [], reports(100))
    for tick in range(3, 6):
        core.step(tick, tick * S, RATE_LIMITED, [], [])
    assert core.debt_bytes > 0, "the setup left no debt: the test proves nothing"
    core.step(6, 6 * S, NO_CONTACT, [], [])
    first = down_frames(core.step(7, 7 * S, RATE_LIMITED, [], []))
    assert sum(map(len, first)) >= BYTES_PER_TICK, "the last pass's debt cut into the next one"


def test_file_pdus_never_put_the_downlink_more_than_one_packet_ahead_of_the_rate() -> None:
    core = started_core(segment_bytes=64)  # small PDUs: many per tick
    core.step(2, 2 * S, NO_CONTACT, [], [msg(result("a", 20_000), "executor")])
    sent = largest = 0
    for k in range(1, 6):
        frames = down_frames(core.step(2 + k, (2 + k) * S, RATE_LIMITED, [], []))
        sent += sum(map(len, frames))
        largest = max([largest, *map(len, frames)])
        assert sent <= k * BYTES_PER_TICK + largest, (
            f"{sent} B of file PDUs sent in {k} ticks at {BYTES_PER_TICK} B/tick")


# ---------------------------------------------------------------- pass budgets


def _pass(core: CommsCore, first_tick: int, n_ticks: int) -> list:
    """A pass of ``n_ticks`` wide-open ticks, then loss of signal; -> its telemetry."""
    got = []
    for tick in range(first_tick, first_tick + n_ticks):
        got += decoded(core.step(tick, tick * S, IN_CONTACT, [], []))
    core.step(first_tick + n_ticks, (first_tick + n_ticks) * S, NO_CONTACT, [], [])
    return got


def test_events_take_at_most_their_bytes_per_pass_and_the_rest_wait_for_the_next_pass() -> None:
    per_pass = 500
    core = started_core(events_bytes_per_pass=per_pass)
    core.step(2, 2 * S, NO_CONTACT, [], [*[event(f"power.e{i:02d}") for i in range(20)],
                                         msg(result("a"), "executor")])
    passes = [_pass(core, 3, 5), _pass(core, 10, 5)]
    for i, got in enumerate(passes):
        events = [t for t in got if t.service == 5]
        assert events, f"pass {i}: no events went down (the budget was not reset)"
        assert len(events) < 20, f"pass {i}: the events' per-pass budget was ignored"
    n_first = len([t for t in passes[0] if t.service == 5])
    n_second = len([t for t in passes[1] if t.service == 5])
    assert n_first == n_second, f"{n_first} events in pass 1, {n_second} in pass 2: unequal budgets"
    assert any(t.service == 210 for t in passes[0]), "queued events starved the files"
    names = [t.message.body.name for p in passes for t in p if t.service == 5]
    assert names == [f"power.e{i:02d}" for i in range(len(names))], "events went down out of order"
    assert core.status().events_queued == 20 - len(names)


def test_event_bytes_in_a_pass_stop_within_one_packet_of_the_budget() -> None:
    per_pass = 500
    core = started_core(events_bytes_per_pass=per_pass)
    core.step(2, 2 * S, NO_CONTACT, [], [event(f"power.e{i:02d}") for i in range(20)])
    frames = []
    for tick in range(3, 8):
        frames += down_frames(core.step(tick, tick * S, IN_CONTACT, [], []))
    sizes = [len(f) for f in frames]
    assert per_pass <= sum(sizes) < per_pass + max(sizes), f"{sum(sizes)} B of events in a {per_pass} B pass"


def test_housekeeping_takes_at_most_its_bytes_per_pass_and_resumes_next_pass() -> None:
    per_pass = 600
    core = started_core(hk_every_ticks=1, hk_bytes_per_pass=per_pass)
    for tick in range(2, 22):
        core.step(tick, tick * S, NO_CONTACT, [], [msg(budget(float(tick)), "power", tick)])
    first, second = _pass(core, 22, 5), _pass(core, 30, 5)
    for i, got in enumerate((first, second)):
        hk = [t for t in got if t.service == 3]
        assert 0 < len(hk) < 20, f"pass {i}: {len(hk)} samples: the per-pass budget was not applied"
    sent = [t.message.body.compute_budget_w for t in (*first, *second) if isinstance(t.message.body, PowerBudget)]
    assert sent == sorted(sent, reverse=True), f"samples not newest first across passes: {sent}"
    assert core.status().hk_queued > 0


# ---------------------------------------------------------------- priorities


def test_high_severity_events_go_down_first() -> None:
    core = started_core()
    core.step(2, 2 * S, NO_CONTACT, [], [event("power.low1"), event("power.low2"),
                                         event("thermal.hot", Severity.WARNING_HI, "thermal"),
                                         event("power.low3", Severity.DIAGNOSTIC),
                                         event("supervisor.dead", Severity.FATAL, "supervisor")])
    got = decoded(core.step(3, 3 * S, IN_CONTACT, [], []))
    assert [(t.message.body.name, t.subtype) for t in got] == [
        ("thermal.hot", 3), ("supervisor.dead", 4), ("power.low1", 2), ("power.low2", 2), ("power.low3", 1)]
    assert [t.apid for t in got[:2]] == [APIDS["thermal"], APIDS["supervisor"]]


def test_bounded_event_queue_drops_the_oldest_low_severity_event_first_and_counts_it() -> None:
    q = DownlinkQueue(events_bytes_per_pass=10**6, hk_bytes_per_pass=10**6, max_events=3)
    q.add_event(Pending(1, "high-1"), high=True)
    for name in ("low-1", "low-2", "low-3", "low-4"):
        q.add_event(Pending(1, name), high=False)
    assert q.dropped["events"] == 2 and q.lengths()[1] == 3
    assert [p.message for p in (*q.events_high, *q.events_low)] == ["high-1", "low-3", "low-4"]


def test_bounded_housekeeping_queue_drops_the_oldest_sample_and_counts_it() -> None:
    q = DownlinkQueue(events_bytes_per_pass=10**6, hk_bytes_per_pass=10**6, max_hk=2)
    for name in ("s1", "s2", "s3", "s4"):
        q.add_hk(Pending(1, name))
    assert q.dropped["hk"] == 2 and [p.message for p in q.hk] == ["s3", "s4"]


def test_a_state_report_is_replaced_by_the_newer_one_and_goes_down_before_the_samples() -> None:
    q = DownlinkQueue(events_bytes_per_pass=10**6, hk_bytes_per_pass=10**6)
    q.add_hk(Pending(1, "sample"))
    for name in ("waits-1", "waits-2", "waits-3"):  # a day of JobWaits keeps one, never thousands
        q.put_state(("executor", 220), Pending(3, name))
    assert q.lengths()[2] == 2
    sent, _ = q.take(10**6, lambda p: p.message.encode())
    assert sent == [b"waits-3", b"sample"]


def test_bounded_report_queue_counts_what_it_cannot_hold() -> None:
    q = DownlinkQueue(events_bytes_per_pass=10**6, hk_bytes_per_pass=10**6, max_control=2)
    for name in ("r1", "r2", "r3"):
        q.add_control(Pending(1, name))
    assert q.dropped["control"] == 1 and q.lengths()[0] == 2


def test_core_statistics_report_the_drops() -> None:
    core = started_core()
    core.queue.max_events = 4  # a small bound, as a table would set it
    core.step(2, 2 * S, NO_CONTACT, [], [event(f"power.e{i}") for i in range(6)])
    assert core.statistics()["dropped"]["events"] == 2
    assert core.status().events_queued == 4


# ---------------------------------------------------------------- housekeeping


def test_housekeeping_is_sampled_every_hk_every_ticks_and_goes_down_newest_first() -> None:
    core = started_core(hk_every_ticks=5)
    for tick in range(2, 21):
        core.step(tick, tick * S, NO_CONTACT, [], [msg(budget(float(tick)), "power", tick)])
    got = [t for t in decoded(core.step(21, 21 * S, IN_CONTACT, [], [])) if t.service == 3
           and isinstance(t.message.body, PowerBudget)]
    assert [t.message.body.compute_budget_w for t in got] == [20.0, 15.0, 10.0, 5.0], (
        "expected the latest reading at each 5-tick sample, newest first")
    assert [t.t_ns for t in got] == [20 * S, 15 * S, 10 * S, 5 * S], "a sample is stamped with its own time"
    assert {t.apid for t in got} == {APIDS["power"]}


def test_every_status_stream_is_sampled_under_its_own_apid() -> None:
    core = started_core(hk_every_ticks=2)
    core.step(2, 2 * S, NO_CONTACT, [], [msg(budget(5.0), "power"), msg(thermal_caps((40.0,)), "thermal")])
    got = {type(t.message.body): t.apid for t in decoded(core.step(3, 3 * S, IN_CONTACT, [], []))
           if t.service == 3}
    assert got == {PowerBudget: APIDS["power"], ThermalCaps: APIDS["thermal"]}


def test_comms_own_status_goes_down_as_housekeeping() -> None:
    core = started_core(hk_every_ticks=5)
    for tick in range(2, 16):
        core.step(tick, tick * S, NO_CONTACT, [], [])
    got = [t for t in decoded(core.step(16, 16 * S, IN_CONTACT, [], [])) if t.service == 3]
    assert [(type(t.message.body).__name__, t.apid) for t in got] == [("CommsStatus", APIDS["comms"])]
