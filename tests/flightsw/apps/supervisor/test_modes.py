"""The mode manager, and what survives a supervisor restart (a real sqlite store)."""

from __future__ import annotations

from flightsw.apps.supervisor.core import SupervisorCore
from flightsw.apps.supervisor.shell import SupervisorApp, make
from flightsw.apps.supervisor.tables import SupervisorTable
from flightsw.icd.messages import (
    AppHousekeeping,
    HealthPing,
    HealthPong,
    Mode,
    Opcode,
    PowerBudget,
    SetMode,
    Severity,
    SupervisorStatus,
    ThermalCaps,
)
from tests.flightsw.apps.supervisor.support import (
    World,
    bodies,
    events,
    ground,
    hub,
    msg,
    responses,
)

QUIET = SupervisorTable(ping_period_ticks=1000, safe_reassert_ticks=10)


def set_mode(mode: str, cmd_id: int = 1, reason: str = "test") -> object:
    return ground(Opcode.SUP_SET_MODE, {"mode": mode, "reason": reason}, cmd_id)


def test_safe_is_ordered_to_power_at_once_and_reasserted_until_left():
    w = World(SupervisorCore(QUIET))
    w.step(0)
    out = w.step(1, set_mode("SAFE"))
    assert responses(out)[0].status == "OK"
    (ev,) = events(out, "supervisor.mode_changed")
    assert ev.severity == int(Severity.WARNING_HI) and "NOMINAL -> SAFE: test" in ev.text
    w.run(range(2, 35))
    assert w.safe_orders() == [1, 11, 21, 31]
    out = w.step(35, set_mode("NOMINAL", 2))
    assert bodies(out, SetMode, "power") == [SetMode("NOMINAL", "supervisor: NOMINAL: release safe mode")]
    w.run(range(36, 80))
    assert [k for k in w.ticks_of(SetMode, "power")] == [1, 11, 21, 31, 35], "orders after leaving SAFE"


def test_a_bad_mode_is_a_validation_error_and_changes_nothing():
    core = SupervisorCore(QUIET)
    (resp,) = responses(core.step(0, 0, [hub(), set_mode("HYPERDRIVE")]))
    assert resp.status == "VALIDATION_ERROR" and "args.mode" in resp.detail
    assert core.modes.mode == "NOMINAL"


def test_leaving_safe_releases_an_escalation_but_not_the_cap():
    w = World(SupervisorCore(SupervisorTable(ping_period_ticks=1000, max_restarts=0, restart_delay_ticks=0)))
    w.dead = {"executor"}
    w.run(range(0, 5))
    assert w.core.modes.escalated and w.core.modes.mode == "SAFE"
    w.step(5, set_mode("NOMINAL"))
    assert not w.core.modes.escalated and w.core.modes.mode == "NOMINAL"
    w.run(range(6, 100))
    assert w.restarts() == [] and len(w.events("supervisor.restart_cap")) == 1, \
        "leaving SAFE restarted a capped process or re-escalated"
    assert w.core.modes.mode == "NOMINAL"


def test_the_release_is_sent_again_to_a_restarted_power_manager():
    w = World(SupervisorCore(SupervisorTable(ping_period_ticks=1000, restart_delay_ticks=0)))
    w.step(0, set_mode("SAFE"))
    w.dead = {"power"}
    w.step(1, set_mode("NOMINAL", 2))  # the release is lost: power is dead
    restart = w.restarts("power")
    assert restart == [1]
    w.dead = set()
    w.run(range(2, 10))
    releases = w.ticks_of(SetMode, "power", lambda b: b.mode == "NOMINAL")
    assert releases == [1, 3], f"no second release for the restarted power manager: {releases}"


def test_status_and_housekeeping_report_the_mode_every_tenth_tick():
    core = SupervisorCore(QUIET)
    core.step(0, 0, [hub(), set_mode("SAFE")])
    out = core.step(10, 0, [hub()])
    (status,) = bodies(out, SupervisorStatus)
    assert (status.mode, status.safe_mode_ordered) == ("SAFE", True)
    (hk,) = bodies(out, AppHousekeeping)
    assert hk.cmds_accepted == 1 and hk.tables == ("actionpoints", "sequences", "supervisor", "watchpoints")


def test_statistics_is_an_immutable_snapshot_with_the_framework_counters():
    core = SupervisorCore(QUIET)
    core.step(0, 0, [hub(), set_mode("SAFE")])
    stats = core.statistics()
    assert stats["cmds_accepted"] == 1 and stats["mode"] == "SAFE" and stats["mode_changes"] == 1
    core.step(1, 0, [hub(), set_mode("NOMINAL", 2)])
    assert stats["mode"] == "SAFE", "the snapshot changed under the caller"
    try:
        stats["mode"] = "X"  # type: ignore[index]
    except TypeError:
        pass
    else:
        raise AssertionError("statistics() is writable")


# ------------------------------------------------------- across a restart
def test_the_mode_survives_a_supervisor_restart(tmp_path):
    app = make(0, str(tmp_path), table={"ping_period_ticks": 1000})
    app.step(0, 0, [hub(), set_mode("SAFE", reason="operator")])
    app.close()  # killed: only what it committed survives
    again = make(900, str(tmp_path), table={"ping_period_ticks": 1000})
    assert again.core.modes.mode == "SAFE"
    out = again.step(900, 900, [hub()])
    assert [b.mode for b in bodies(out, SetMode, "power")] == ["SAFE"], "no SAFE order after the restart"
    again.step(901, 901, [hub(), set_mode("NOMINAL", 2)])
    again.close()
    third = make(950, str(tmp_path))
    assert third.core.modes.mode == "NOMINAL" and not third.core.modes.escalated
    third.close()


def test_restart_counts_caps_and_armed_processes_survive_a_restart(tmp_path):
    table = {"ping_period_ticks": 1, "max_restarts": 1, "restart_delay_ticks": 0, "retry_ticks": 1}
    app = make(0, str(tmp_path), table=table)
    out = app.step(0, 0, [hub()])
    nonce = next(b.nonce for b, d in out if isinstance(b, HealthPing) and d == "thermal")
    app.step(1, 1, [hub("executor")])
    app.step(2, 2, [hub("executor"), msg(HealthPong(nonce), src="thermal", dst="supervisor")])
    app.close()
    again = make(10, str(tmp_path), table=table)
    assert again.core.restarts.restarts["executor"] == 1
    assert again.core.restarts.capped == {"executor"} and again.core.modes.escalated
    assert again.core.health.armed == {"thermal"}
    again.close()


def test_make_subscribes_to_what_the_watchpoints_read(tmp_path):
    app = make(0, str(tmp_path))
    assert {PowerBudget.KIND, ThermalCaps.KIND} <= app.subscriptions
    app.close()
    app = make(0, str(tmp_path), watchpoints={"entries": [
        {"id": "w", "channel": "BoardSensors.temp_c[0]", "operator": ">", "value": 90}]}, actionpoints={"entries": []})
    from flightsw.icd.messages import BoardSensors

    assert BoardSensors.KIND in app.subscriptions and PowerBudget.KIND not in app.subscriptions
    assert app.fw is app.core.fw
    app.close()


def test_the_shell_answers_pings_and_counts_commands(tmp_path):
    app: SupervisorApp = make(0, str(tmp_path))
    out = app.step(0, 0, [hub(), msg(HealthPing(42), src="groundtest", dst="supervisor"), set_mode("SAFE")])
    assert (HealthPong(42), "groundtest") in [(b, d) for b, d in out]
    assert app.statistics()["cmds_accepted"] == 1
    assert app.final_report()["mode"] == Mode.SAFE.value
    app.close()


def test_a_mode_below_compute_is_a_ceiling_for_the_power_manager():
    from flightsw.icd.messages import AppCommand

    w = World(SupervisorCore(QUIET))
    w.step(0)
    out = w.step(1, set_mode("LOW_POWER"))
    (limit,) = bodies(out, AppCommand, "power")
    assert (limit.opcode, limit.args, limit.source) == (Opcode.POWER_SET_MODE_LIMIT, {"mode": "LOW_POWER"},
                                                         "supervisor")
    out = w.step(2, set_mode("COMPUTE", 2))
    (limit,) = bodies(out, AppCommand, "power")
    assert limit.args == {"mode": "COMPUTE"}
    assert w.core.modes.mode == "COMPUTE"
