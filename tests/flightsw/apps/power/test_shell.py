"""The power manager shell: framework commands and tables, the uplinked TLE, the store."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest

from flightsw.apps.power.orbit_view import OrbitTable, OrbitView
from flightsw.apps.power.shell import PowerApp, make
from flightsw.icd.messages import (
    TABLE_LOAD_OPCODE,
    AppCommand,
    AppHousekeeping,
    CmdStatus,
    CommandResponse,
    Event,
    HealthPing,
    HealthPong,
    Opcode,
    PowerBudget,
    SetMode,
    Severity,
    TableLoad,
    ThermalCaps,
)
from flightsw.orbit import OrbitError
from sim.tle import tle_from_circular
from tests.flightsw.apps.power.power_builders import (
    COMPUTE,
    NOMINAL,
    SAFE,
    S,
    at_soc,
    msg,
    table,
)

EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
EPOCH_TEXT = "2026-12-01T00:00:00Z"
L1, L2 = tle_from_circular(550.0, 53.0, 40.0, 0.0, EPOCH)
SUN_W = 1000.0


def tick(app: PowerApp, k: int, *bodies, src: str = "world") -> list:
    """Step the app at tick k with ``bodies`` in its inbox -> the bodies it sent."""
    inbox = [msg(b, src=src, seq=i + 1, tick=k - 1) for i, b in enumerate(bodies)]
    return [o.body for o in app.step(k, k * S, inbox)]


def of(bodies, cls) -> list:
    return [b for b in bodies if isinstance(b, cls)]


def events(bodies, name: str) -> list[Event]:
    return [b for b in bodies if isinstance(b, Event) and b.name == name]


def command(opcode: int, cmd_id: int, **args) -> AppCommand:
    return AppCommand("power", opcode, cmd_id, "ground", args)


def orbit_load(cmd_id: int, **fields) -> TableLoad:
    return TableLoad("power", "orbit", cmd_id, "ground", json.dumps(fields).encode())


# ---------------------------------------------------------------------- the store

def test_a_restarted_power_manager_restores_mode_order_limit_and_learned_sun(tmp_path):
    app = PowerApp(table(), tmp_path)
    for k in range(1, 6):
        tick(app, k, at_soc(0.6, 700.0))
    (resp,) = of(tick(app, 6, command(Opcode.POWER_SET_MODE_LIMIT, 1, mode=NOMINAL)), CommandResponse)
    assert resp.status == CmdStatus.OK.value, resp
    tick(app, 7, SetMode(SAFE, "restart cap"), src="supervisor")
    assert app.state.forced_safe and app.state.mode == SAFE
    app.close()

    again = PowerApp(table(), tmp_path)  # a new process reading the same store
    s = again.state
    assert (s.mode, s.forced_safe, s.mode_limit) == (SAFE, True, NOMINAL), "the durable state was forgotten"
    assert s.solar_mean_w == pytest.approx(700.0, abs=1e-3) and s.transitions == 1
    (budget,) = of(tick(again, 8, at_soc(0.9, 5000.0)), PowerBudget)
    assert budget.mode == SAFE and budget.compute_budget_w == 0.0, budget
    again.close()


def test_a_restarted_power_manager_comes_back_in_the_mode_it_left(tmp_path):
    t = table(dwell_safe_ticks=1, dwell_low_power_ticks=1, dwell_nominal_ticks=1)
    app = PowerApp(t, tmp_path)
    for k in range(1, 6):
        tick(app, k, at_soc(0.95, SUN_W))
    assert app.state.mode == COMPUTE
    app.close()
    again = PowerApp(t, tmp_path)
    assert again.state.mode == COMPUTE and not again.state.forced_safe
    again.close()


def test_the_store_of_the_previous_power_manager_still_restores_a_safe_order(tmp_path):
    from flightsw.store.kv import CounterStore
    old = CounterStore(tmp_path / "power.sqlite")
    old.save({"safe": 1, "forced_safe": 1})
    old.close()
    app = PowerApp(table(), tmp_path)
    assert app.state.mode == SAFE and app.state.forced_safe
    app.close()


def test_a_first_boot_with_an_empty_store_starts_nominal(tmp_path):
    app = PowerApp(table(), tmp_path)
    assert app.state.mode == NOMINAL and app.state.mode_limit == COMPUTE
    app.close()


# ------------------------------------------------------------------- the orbit table

def test_without_a_tle_the_shell_says_so_and_assumes_the_longest_eclipse_now():
    app = PowerApp(table(eclipse_reserve_s=2400.0))
    out = tick(app, 1, at_soc(0.6, SUN_W))
    (ev,) = events(out, "power.forecast_source")
    assert ev.severity == int(Severity.WARNING_LO) and "no TLE" in ev.text, ev
    (budget,) = of(out, PowerBudget)
    assert budget.next_eclipse_in_s == 0.0 and budget.next_eclipse_s == 2400.0


def test_an_uplinked_tle_rebuilds_the_forecast():
    app = PowerApp(table())
    tick(app, 1, at_soc(0.6, SUN_W))
    out = tick(app, 2, orbit_load(5, tle_line1=L1, tle_line2=L2, epoch_utc=EPOCH_TEXT, edge_margin_s=0.0),
               src="comms")
    (resp,) = of(out, CommandResponse)
    assert resp.status == CmdStatus.OK.value and resp.opcode == TABLE_LOAD_OPCODE, resp
    (ev,) = events(out, "power.forecast_source")
    assert ev.severity == int(Severity.ACTIVITY_HI) and "TLE 99999" in ev.text, ev
    (budget,) = of(tick(app, 3, at_soc(0.6, SUN_W)), PowerBudget)
    first = app.view.forecaster.next_eclipses(3 * S, 6000.0)[0]
    expected_in_s = max(0.0, (first.start_ns - 3 * S) / 1e9)
    assert budget.next_eclipse_in_s == pytest.approx(expected_in_s), "the budget does not use the new TLE"
    assert app.statistics()["forecaster_rebuilds"] == 2


def test_a_bad_uplinked_tle_is_rejected_naming_the_field_and_the_last_good_one_stays():
    app = make(0, table={"battery_soc_floor": 0.2, "housekeeping_w": 50.0, "max_discharge_w": 800.0},
               orbit={"tle_line1": L1, "tle_line2": L2, "epoch_utc": EPOCH})
    good = app.view.forecaster
    bad_l2 = L2[:-1] + str((int(L2[-1]) + 1) % 10)
    (resp,) = of(tick(app, 1, orbit_load(6, tle_line2=bad_l2)), CommandResponse)
    assert resp.status == CmdStatus.VALIDATION_ERROR.value and "tle_line2" in resp.detail, resp
    tick(app, 2, at_soc(0.6, SUN_W))
    assert app.view.forecaster is good, "a rejected TLE replaced the forecaster"


class Unpropagatable:
    """A forecaster whose orbit SGP4 cannot propagate (a decayed orbit, say)."""

    period_s = 5700.0

    def next_eclipses(self, t_ns: int, horizon_s: float):
        raise OrbitError("SGP4 cannot propagate TLE 99999: satellite has decayed (sgp4 error 6)")


def test_a_tle_that_cannot_be_propagated_falls_back_to_the_conservative_assumption():
    view = OrbitView(OrbitTable(L1, L2, EPOCH_TEXT))
    view.forecaster = Unpropagatable()
    outlook = view.outlook(0, 2400.0, 5760.0)
    assert not outlook.valid and "decayed" in outlook.source and "2400 s" in outlook.source
    view.outlook(S, 2400.0, 5760.0)
    assert view.failures == 1, "one failure counted per spell, not per tick"


# ------------------------------------------------------------------------ commands

def test_the_mode_limit_command_caps_the_mode_and_answers_ok():
    app = PowerApp(table(dwell_nominal_ticks=1))
    tick(app, 1, at_soc(0.95, SUN_W))
    tick(app, 2, at_soc(0.95, SUN_W))
    assert app.state.mode == COMPUTE
    out = tick(app, 3, command(Opcode.POWER_SET_MODE_LIMIT, 9, mode=NOMINAL), at_soc(0.95, SUN_W))
    (resp,) = of(out, CommandResponse)
    assert resp.status == CmdStatus.OK.value and "mode limit NOMINAL" in resp.detail
    (change,) = events(out, "power.mode_changed")
    assert "COMPUTE -> NOMINAL" in change.text and "mode limit" in change.text
    assert of(out, PowerBudget)[0].mode == NOMINAL


def test_a_mode_limit_that_names_no_mode_is_rejected_naming_the_argument():
    app = PowerApp(table())
    (resp,) = of(tick(app, 1, command(Opcode.POWER_SET_MODE_LIMIT, 10, mode="TURBO")), CommandResponse)
    assert resp.status == CmdStatus.VALIDATION_ERROR.value and "args.mode" in resp.detail, resp
    assert app.statistics()["cmds_rejected"] == 1


def test_a_power_table_load_takes_effect_at_the_next_reading():
    app = PowerApp(table())
    load = TableLoad("power", "power", 11, "ground", json.dumps({"min_priority_nominal": 1}).encode())
    out = tick(app, 1, load, at_soc(0.6, SUN_W))
    assert of(out, CommandResponse)[0].status == CmdStatus.OK.value
    assert of(out, PowerBudget)[0].min_priority == 1, "the new load-shed order was not used"


def test_pings_are_answered_and_housekeeping_lists_both_tables():
    app = PowerApp(table())
    out = tick(app, 10, HealthPing(42), src="supervisor")
    assert of(out, HealthPong) == [HealthPong(42)]
    (hk,) = of(out, AppHousekeeping)
    assert hk.tables == ("orbit", "power")


def test_heater_power_from_the_thermal_guard_comes_off_the_budget():
    app = PowerApp(table())
    (b1,) = of(tick(app, 1, at_soc(0.5, 500.0)), PowerBudget)
    caps = ThermalCaps(cap_w=(100.0,), shutdown=(0,), heater_w=40.0)
    (b2,) = of(tick(app, 2, at_soc(0.5, 500.0), caps), PowerBudget)
    assert b1.compute_budget_w > 40.0
    assert b2.compute_budget_w == pytest.approx(b1.compute_budget_w - 40.0)


def test_statistics_are_an_immutable_snapshot():
    app = PowerApp(table())
    tick(app, 1, at_soc(0.6, SUN_W))
    snap = app.statistics()
    with pytest.raises(TypeError):
        snap["budgets_sent"] = 0  # type: ignore[index]
    tick(app, 2, at_soc(0.6, SUN_W))
    assert snap["budgets_sent"] == 1 and app.statistics()["budgets_sent"] == 2


# ---------------------------------------------------------------------------- make

def test_make_accepts_what_the_harness_passes_today(tmp_path):
    app = make(0, store_dir=str(tmp_path), table={
        "battery_soc_floor": 0.25, "housekeeping_w": 600.0, "max_discharge_w": 12000.0, "max_charge_w": 6000.0})
    assert app.view.forecaster is None and app.table.battery_heater_w == 0.0
    app.close()


def test_make_takes_the_tle_and_a_datetime_epoch():
    app = make(0, table={"battery_soc_floor": 0.25, "housekeeping_w": 600.0, "max_discharge_w": 12000.0,
                         "battery_heater_w": 50.0},
               orbit={"tle_line1": L1, "tle_line2": L2, "epoch_utc": EPOCH, "edge_margin_s": 10.0})
    assert app.view.forecaster is not None and app.view.forecaster.period_s == pytest.approx(5739.0, abs=1.0)


def test_make_rejects_a_bad_field_by_name():
    from flightsw.apps.framework import TableError
    with pytest.raises(TableError, match="PowerTable.guard_soc"):
        make(0, table={"battery_soc_floor": 0.25, "housekeeping_w": 600.0, "max_discharge_w": 1.0,
                       "guard_soc": 0.9})
