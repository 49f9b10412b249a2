"""Restarts of dead and hung processes: delay, retries, one cap per process, escalation
to safe mode, and never a restart loop (flightsw.apps.supervisor.core, .restarts)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.supervisor.core import SAFE_REASSERT_TICKS, SupervisorCore
from flightsw.apps.supervisor.tables import SupervisorTable
from flightsw.icd.messages import (
    Mode,
    Opcode,
    RestartProcess,
    SetMode,
    Severity,
    SupervisorStatus,
)
from tests.flightsw.apps.supervisor.support import WATCHED, World, bodies, events, ground, hub

TABLE = SupervisorTable(watched=WATCHED, restart_delay_ticks=3, retry_ticks=10, max_restarts=2)


def world(table: SupervisorTable = TABLE, **kw) -> World:
    return World(SupervisorCore(table, **kw))


def test_a_dead_process_is_reported_once_when_first_noticed():
    w = world()
    w.dead = {"executor"}
    w.run(range(1, 6))
    noticed = w.events("supervisor.process_dead")
    assert [k for k, _ in noticed] == [1]
    assert noticed[0][1].severity == int(Severity.WARNING_HI)


def test_a_restart_is_requested_after_the_restart_delay():
    w = world()
    w.dead = {"executor"}
    w.run(range(1, 8))
    assert w.restarts("executor") == [1 + TABLE.restart_delay_ticks], \
        "restart not requested exactly restart_delay_ticks after death"


def test_a_process_still_dead_after_retry_ticks_is_asked_for_again():
    w = world()
    w.dead = {"executor"}
    w.run(range(1, 20))
    first = 1 + TABLE.restart_delay_ticks
    assert w.restarts("executor") == [first, first + TABLE.retry_ticks]


def test_a_process_that_comes_back_before_the_delay_is_not_restarted():
    w = world()
    w.dead = {"executor"}
    w.run(range(1, 3))
    w.dead = set()
    w.run(range(3, 10))
    assert w.restarts("executor") == []


def test_a_new_death_after_recovery_waits_the_delay_again():
    w = world()
    for k in range(1, 14):
        w.dead = {"executor"} if k < 6 or k >= 8 else set()
        w.step(k)
    assert w.restarts("executor") == [4, 11]


def test_each_restart_request_names_its_count_and_is_durable():
    core = SupervisorCore(TABLE)
    for k in range(1, 4):
        core.step(k, 0, [hub("power")])
    out = core.step(4, 0, [hub("power")])
    assert bodies(out, RestartProcess, "hub") == [RestartProcess("power", f"dead: restart 1 of {TABLE.max_restarts}")]
    assert core.durable()["power"] == 1, "the new count is not in the durable state"


def test_restarts_already_counted_before_a_supervisor_restart_are_honoured():
    w = world(durable={"power": TABLE.max_restarts})
    w.dead = {"power"}
    w.run(range(1, 30))
    assert w.restarts("power") == [], "the durable restart count was ignored"


def test_past_the_cap_the_supervisor_raises_one_fatal_event_and_orders_safe_mode():
    w = world()
    w.dead = {"thermal"}
    w.run(range(1, 40))
    assert len(w.restarts("thermal")) == TABLE.max_restarts
    fatal = w.events("supervisor.restart_cap")
    assert len(fatal) == 1, "the FATAL restart-cap event must be raised once"
    k, ev = fatal[0]
    assert ev.severity == int(Severity.FATAL)
    assert k in w.safe_orders(), "SAFE was not ordered on the tick the cap was reached"
    assert w.core.modes.mode == Mode.SAFE.value and w.core.modes.escalated


def test_safe_mode_is_reasserted_periodically_after_escalation():
    w = world()
    w.dead = {"thermal"}
    w.run(range(1, 200))
    safe = w.safe_orders()
    assert len(safe) >= 3
    gaps = {b - a for a, b in zip(safe, safe[1:], strict=False)}
    assert gaps == {SAFE_REASSERT_TICKS}, f"SetMode SAFE re-asserted at ticks {safe}"


def test_a_hung_process_is_restarted_and_counts_toward_the_same_cap():
    table = SupervisorTable(watched=WATCHED, max_restarts=2, ping_period_ticks=1, ping_warn_ticks=3,
                            ping_fatal_ticks=6, restart_delay_ticks=0)
    w = world(table)
    w.run(range(0, 5))  # every app answers: all armed
    w.dead = {"power"}
    w.run(range(5, 6))  # one death: restart 1 of 2
    w.dead = set()
    w.hung = {"power"}
    w.run(range(6, 60))
    asked = [b for k in w.restarts("power") for b in bodies(w.log[k], RestartProcess, "hub")]
    assert [r.reason.split(":")[0] for r in asked] == ["dead", "hung (6 ticks without a pong)"], \
        f"deaths and hangs share one cap of 2; asked {[r.reason for r in asked]}"
    assert len(w.events("supervisor.restart_cap")) == 1
    assert w.core.modes.mode == Mode.SAFE.value


def test_reset_restarts_lifts_the_cap_for_that_process():
    w = world()
    w.dead = {"executor"}
    w.run(range(1, 40))
    assert len(w.restarts("executor")) == TABLE.max_restarts and "executor" in w.core.restarts.capped
    out = w.step(40, ground(Opcode.SUP_RESET_RESTARTS, {"process": "executor"}))
    assert events(out, "supervisor.restarts_reset"), "the reset raised no event"
    w.run(range(41, 50))
    assert w.restarts("executor") == w.restarts("executor")[:2] + [40 + TABLE.restart_delay_ticks], \
        "a reset process is not restarted again after the delay"
    assert w.core.durable()["executor"] == 1 and w.core.durable()["_capped:executor"] == 0


def test_status_reports_restart_counts_and_mode_every_tenth_tick():
    core = SupervisorCore(TABLE, durable={"comms": 1})
    out = core.step(10, 0, [hub()])
    (status,) = bodies(out, SupervisorStatus)
    assert status.processes == tuple(sorted(WATCHED))
    assert dict(zip(status.processes, status.restarts, strict=True))["comms"] == 1
    assert status.mode == "NOMINAL" and status.safe_mode_ordered is False
    assert not bodies(core.step(11, 0, [hub()]), SupervisorStatus), "status sent off its period"


def test_without_a_hub_status_nothing_is_restarted():
    core = SupervisorCore(TABLE)
    for k in range(1, 50):
        assert bodies(core.step(k, k, []), RestartProcess) == []


# ------------------------------------------------------------------ properties
STATES = st.sampled_from(("ok", "ok", "dead", "hung"))


@settings(max_examples=60, deadline=None)
@given(
    table=st.builds(SupervisorTable, watched=st.just(WATCHED),
                    restart_delay_ticks=st.integers(0, 5), retry_ticks=st.integers(1, 20),
                    max_restarts=st.integers(0, 4), ping_period_ticks=st.integers(1, 3),
                    ping_warn_ticks=st.integers(2, 4), ping_fatal_ticks=st.integers(5, 9),
                    ping_arm_on_first_pong=st.booleans()),
    pattern=st.lists(st.tuples(st.dictionaries(st.sampled_from(WATCHED), STATES), st.integers(1, 30)),
                     min_size=1, max_size=12),
)
def test_no_process_is_ever_restarted_more_than_max_restarts_times(table, pattern):
    """Deaths and hangs in any pattern (each state held for a run of ticks): restart
    requests per process never pass the cap, and reaching it always ends in SAFE."""
    w = world(table)
    k = 0
    for states, ticks in pattern:
        w.dead = {n for n, s in states.items() if s == "dead"}
        w.hung = {n for n, s in states.items() if s == "hung"}
        w.run(range(k, k + ticks))
        k += ticks
    for name in WATCHED:
        n = len(w.restarts(name))
        assert n <= table.max_restarts, f"{name} restarted {n} times, cap {table.max_restarts}"
    capped = [e for _, e in w.events("supervisor.restart_cap")]
    assert len(capped) == len(w.core.restarts.capped) <= len(WATCHED), "a cap FATAL was repeated"
    if capped:
        assert w.core.modes.mode == Mode.SAFE.value, "a restart cap did not end in safe mode"


@settings(max_examples=30, deadline=None)
@given(max_restarts=st.integers(0, 5), dead_ticks=st.integers(1, 800))
def test_a_process_dead_forever_gets_exactly_its_restarts_then_none(max_restarts, dead_ticks):
    table = SupervisorTable(watched=WATCHED, restart_delay_ticks=3, retry_ticks=10, max_restarts=max_restarts)
    w = world(table)
    w.dead = {"executor"}
    w.run(range(dead_ticks))
    asked = len(w.restarts("executor"))
    assert asked <= max_restarts, f"{asked} restart requests, cap {max_restarts}"
    if dead_ticks > table.restart_delay_ticks + max_restarts * table.retry_ticks:
        assert asked == max_restarts, f"gave up after {asked} of {max_restarts} restarts"


def test_a_restarted_supervisor_does_not_raise_the_cap_fatal_again(tmp_path):
    from flightsw.apps.supervisor.shell import SupervisorApp
    from flightsw.icd.messages import Event

    table = SupervisorTable(watched=("executor",), restart_delay_ticks=0, retry_ticks=1, max_restarts=1)

    def fatals(app, ticks):
        return [b for t in ticks for b, _ in app.step(t, t, [hub("executor", watched=("executor",))])
                if isinstance(b, Event) and b.severity == int(Severity.FATAL)]

    app = SupervisorApp(tmp_path, table)
    assert len(fatals(app, range(1, 6))) == 1, "the cap raises one FATAL"
    app.close()
    again = SupervisorApp(tmp_path, table)
    first = again.step(6, 6, [hub("executor", watched=("executor",))])
    assert [b.mode for b in bodies(first, SetMode, "power")] == ["SAFE"], \
        "a restarted supervisor did not order SAFE again at once"
    assert fatals(again, range(7, 12)) == [], "a restarted supervisor repeated the FATAL"
    assert again.core.modes.escalated, "the escalation was forgotten"
    again.close()
