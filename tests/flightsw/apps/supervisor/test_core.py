"""Tests for flightsw.apps.supervisor.core: restart delay, retries, cap, safe-mode escalation."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.supervisor.core import SAFE_REASSERT_TICKS, SupervisorCore, SupervisorTable
from flightsw.icd.messages import (
    Event,
    HubStatus,
    Mode,
    RestartProcess,
    SetMode,
    Severity,
    SupervisorStatus,
)

WATCHED = ("comms", "executor", "power", "thermal")
TABLE = SupervisorTable(watched=WATCHED, restart_delay_ticks=3, retry_ticks=10, max_restarts=2)


def hub(*dead: str) -> HubStatus:
    return HubStatus(alive=tuple(n for n in WATCHED if n not in dead), dead=tuple(dead))


def restarts(out, name: str | None = None) -> list[RestartProcess]:
    return [b for b, dst in out if isinstance(b, RestartProcess) and dst == "hub"
            and (name is None or b.process == name)]


def events(out, name: str) -> list[Event]:
    return [b for b, _ in out if isinstance(b, Event) and b.name == name]


def run(core: SupervisorCore, statuses: dict[int, HubStatus], ticks: range) -> dict[int, list]:
    """Step every tick in ``ticks`` (everyone alive where not given) -> outputs by tick."""
    return {k: core.step(k, statuses.get(k, hub()))[0] for k in ticks}


def restart_ticks(outs: dict[int, list], name: str) -> list[int]:
    return [k for k, out in outs.items() for _ in restarts(out, name)]


def test_a_dead_process_is_reported_once_when_first_noticed():
    core = SupervisorCore(TABLE)
    outs = run(core, {k: hub("executor") for k in range(1, 6)}, range(1, 6))
    noticed = [k for k, out in outs.items() if events(out, "supervisor.process_dead")]
    assert noticed == [1]
    assert events(outs[1], "supervisor.process_dead")[0].severity == int(Severity.WARNING_HI)


def test_a_restart_is_requested_after_the_restart_delay():
    core = SupervisorCore(TABLE)
    outs = run(core, {k: hub("executor") for k in range(1, 8)}, range(1, 8))
    assert restart_ticks(outs, "executor") == [1 + TABLE.restart_delay_ticks], \
        "restart not requested exactly restart_delay_ticks after death"


def test_a_process_still_dead_after_retry_ticks_is_asked_for_again():
    core = SupervisorCore(TABLE)
    outs = run(core, {k: hub("executor") for k in range(1, 20)}, range(1, 20))
    first = 1 + TABLE.restart_delay_ticks
    assert restart_ticks(outs, "executor") == [first, first + TABLE.retry_ticks]


def test_a_process_that_comes_back_before_the_delay_is_not_restarted():
    core = SupervisorCore(TABLE)
    outs = run(core, {1: hub("executor"), 2: hub("executor")}, range(1, 10))
    assert restart_ticks(outs, "executor") == []


def test_a_new_death_after_recovery_waits_the_delay_again():
    core = SupervisorCore(TABLE)
    dead = {k: hub("executor") for k in (*range(1, 6), *range(8, 14))}
    outs = run(core, dead, range(1, 14))
    assert restart_ticks(outs, "executor") == [4, 11]


def test_each_restart_request_reports_the_new_count_for_persistence():
    core = SupervisorCore(TABLE)
    for k in range(1, 4):
        core.step(k, hub("power"))
    out, changed = core.step(4, hub("power"))
    assert changed == {"power": 1}
    assert restarts(out) == [RestartProcess("power", f"restart 1 of {TABLE.max_restarts}")]


def test_restarts_already_counted_before_a_supervisor_restart_are_honoured():
    core = SupervisorCore(TABLE, restarts={"power": TABLE.max_restarts})
    outs = run(core, {k: hub("power") for k in range(1, 30)}, range(1, 30))
    assert restart_ticks(outs, "power") == [], "the durable restart count was ignored"


def test_past_the_cap_the_supervisor_raises_a_fatal_event_and_orders_safe_mode():
    core = SupervisorCore(TABLE)
    outs = run(core, {k: hub("thermal") for k in range(1, 40)}, range(1, 40))
    assert len(restart_ticks(outs, "thermal")) == TABLE.max_restarts
    fatal = [k for k, out in outs.items() for e in events(out, "supervisor.restart_cap")]
    assert len(fatal) == 1, "the FATAL restart-cap event must be raised once"
    assert events(outs[fatal[0]], "supervisor.restart_cap")[0].severity == int(Severity.FATAL)
    assert (SetMode(Mode.SAFE.value, "supervisor: restart cap reached"), "power") in outs[fatal[0]]
    assert core.escalated


def test_safe_mode_is_reasserted_periodically_after_escalation():
    core = SupervisorCore(TABLE)
    ticks = range(1, 200)
    outs = run(core, {k: hub("thermal") for k in ticks}, ticks)
    safe = [k for k, out in outs.items() for b, dst in out if isinstance(b, SetMode) and dst == "power"]
    assert len(safe) >= 3
    gaps = {b - a for a, b in zip(safe, safe[1:], strict=False)}
    assert gaps == {SAFE_REASSERT_TICKS}, f"SetMode SAFE re-asserted at ticks {safe}"


def test_status_reports_restart_counts_every_tenth_tick():
    core = SupervisorCore(TABLE, restarts={"comms": 1})
    out, _ = core.step(10, hub())
    (status,) = [b for b, _ in out if isinstance(b, SupervisorStatus)]
    assert status.processes == tuple(sorted(WATCHED))
    assert dict(zip(status.processes, status.restarts, strict=True))["comms"] == 1


def test_without_a_hub_status_nothing_is_restarted():
    core = SupervisorCore(TABLE)
    for k in range(1, 50):
        out, changed = core.step(k, None)
        assert restarts(out) == [] and changed == {}


@settings(max_examples=100, deadline=None)
@given(
    table=st.builds(SupervisorTable, watched=st.just(WATCHED),
                    restart_delay_ticks=st.integers(0, 5), retry_ticks=st.integers(1, 20),
                    max_restarts=st.integers(0, 5)),
    pattern=st.lists(st.frozensets(st.sampled_from(WATCHED)), min_size=1, max_size=300),
)
def test_no_process_is_ever_restarted_more_than_max_restarts_times(table, pattern):
    core = SupervisorCore(table)
    asked: dict[str, int] = {}
    for k, dead in enumerate(pattern):
        out, _ = core.step(k, hub(*sorted(dead)))
        for r in restarts(out):
            asked[r.process] = asked.get(r.process, 0) + 1
    for name, n in asked.items():
        assert n <= table.max_restarts, f"{name} restarted {n} times, cap {table.max_restarts}"


@settings(max_examples=30, deadline=None)
@given(max_restarts=st.integers(0, 5), dead_ticks=st.integers(1, 3000))
def test_a_process_dead_forever_gets_at_most_max_restarts_requests(max_restarts, dead_ticks):
    table = SupervisorTable(watched=WATCHED, restart_delay_ticks=3, retry_ticks=10,
                            max_restarts=max_restarts)
    core = SupervisorCore(table)
    outs = run(core, {k: hub("executor") for k in range(dead_ticks)}, range(dead_ticks))
    asked = len(restart_ticks(outs, "executor"))
    assert asked <= max_restarts, f"{asked} restart requests, cap {max_restarts}"
    if dead_ticks > table.restart_delay_ticks + max_restarts * table.retry_ticks:
        assert asked == max_restarts, f"gave up after {asked} of {max_restarts} restarts"


def test_a_restarted_supervisor_does_not_raise_the_cap_fatal_again(tmp_path):
    from flightsw.apps.supervisor.shell import SupervisorApp
    from flightsw.icd.messages import Envelope, Event, HubStatus, Message, Severity

    table = SupervisorTable(watched=("executor",), restart_delay_ticks=0, retry_ticks=1, max_restarts=1)
    dead = HubStatus(alive=("supervisor",), dead=("executor",))
    msg = Message(Envelope(dead.KIND, dead.VERSION, "hub", 1, 0, 0, ""), dead)

    def fatals(app, ticks):
        out = []
        for t in ticks:
            out += [b for b, _ in app.step(t, t, [msg]) if isinstance(b, Event)
                    and b.severity == int(Severity.FATAL)]
        return out

    app = SupervisorApp(tmp_path, table)
    assert len(fatals(app, range(1, 6))) == 1, "the cap raises one FATAL"
    app.close()
    again = SupervisorApp(tmp_path, table)
    assert fatals(again, range(6, 12)) == [], "a restarted supervisor repeated the FATAL"
    again.close()
