"""Tests for flightsw.apps.power.core: table validation, the budget, the guard, safe mode."""

from __future__ import annotations

import math
from collections import deque

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flightsw.apps.power.core import (
    PowerState,
    PowerTable,
    TableError,
    battery_term_w,
    guard_level_wh,
    step,
)
from flightsw.icd.messages import Mode, PowerSensors, SetMode, Severity

POWER_TOL_W = 1e-9  # [W] float round-off in the budget arithmetic
SOC_TOL = 1e-9  # [-] float round-off in the battery integrator
CAPACITY_WH = 1000.0

SAFE = Mode.SAFE.value
NOMINAL = Mode.NOMINAL.value


def table(**overrides) -> PowerTable:
    fields = dict(battery_soc_floor=0.2, housekeeping_w=50.0, max_discharge_w=800.0)
    fields.update(overrides)
    return PowerTable(**fields)


def sensors(charge_wh: float, solar_w: float = 0.0, capacity_wh: float = CAPACITY_WH) -> PowerSensors:
    return PowerSensors(solar_power_w=solar_w, battery_charge_wh=charge_wh,
                        battery_capacity_wh=capacity_wh, battery_soc=charge_wh / capacity_wh,
                        load_w=0.0, sunlit_fraction=1.0 if solar_w > 0 else 0.0)


def at_soc(soc: float, solar_w: float = 0.0) -> PowerSensors:
    return sensors(soc * CAPACITY_WH, solar_w)


def names(events) -> list[str]:
    return [e.name for e in events]


# ------------------------------------------------------------------ table validation

@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("battery_soc_floor", 1.0),
        ("battery_soc_floor", -0.1),
        ("battery_soc_floor", math.nan),
        ("housekeeping_w", -1.0),
        ("max_discharge_w", -1.0),
        ("max_charge_w", -1.0),
        ("eclipse_reserve_s", -1.0),
        ("discharge_efficiency", 0.0),
        ("discharge_efficiency", 1.5),
        ("guard_soc", 0.5),
        ("safe_exit_margin_soc", 0.0),
        ("reserve_horizon_s", 0.0),
    ],
)
def test_an_invalid_power_table_is_rejected_naming_the_field(field, bad):
    with pytest.raises(TableError, match=field):
        table(**{field: bad})


def test_table_error_is_a_value_error_so_loaders_can_catch_either():
    assert issubclass(TableError, ValueError)


def test_a_valid_power_table_is_accepted():
    assert table().battery_soc_floor == 0.2


# -------------------------------------------------------------------------- budget

def test_guard_level_holds_the_housekeeping_energy_for_the_longest_eclipse():
    t = table(eclipse_reserve_s=1800.0, discharge_efficiency=0.9)
    reserve_wh = 50.0 * 1800.0 / 3600.0 / 0.9
    expected_wh = (0.2 + t.guard_soc) * CAPACITY_WH + reserve_wh
    assert guard_level_wh(CAPACITY_WH, t) == pytest.approx(expected_wh), \
        "guard level must be floor + guard margin + the eclipse housekeeping reserve"


def test_at_the_guard_level_the_budget_is_the_solar_surplus_over_housekeeping():
    t = table()
    _, b, _ = step(PowerState(), t, sensors(guard_level_wh(CAPACITY_WH, t), solar_w=300.0), None)
    assert b.compute_budget_w == pytest.approx(300.0 - 50.0, abs=POWER_TOL_W), \
        "at the guard the battery term is zero: budget = solar - housekeeping"


def test_above_the_guard_the_battery_adds_its_proportional_term():
    t = table(reserve_horizon_s=900.0)
    excess_wh = 25.0
    s = sensors(guard_level_wh(CAPACITY_WH, t) + excess_wh, solar_w=200.0)
    _, b, _ = step(PowerState(), t, s, None)
    battery_w = excess_wh * 3600.0 / 900.0
    assert b.compute_budget_w == pytest.approx(200.0 - 50.0 + battery_w, abs=POWER_TOL_W)
    assert b.battery_avail_w == pytest.approx(battery_w), "battery_avail_w reports the battery term"


def test_below_the_guard_the_battery_term_takes_power_to_recharge():
    t = table(reserve_horizon_s=900.0)
    deficit_wh = 10.0
    s = sensors(guard_level_wh(CAPACITY_WH, t) - deficit_wh, solar_w=300.0)
    assert battery_term_w(s, t) == pytest.approx(-deficit_wh * 3600.0 / 900.0)
    _, b, _ = step(PowerState(), t, s, None)
    assert b.compute_budget_w == pytest.approx(300.0 - 50.0 - 40.0, abs=POWER_TOL_W), \
        "the recharge power is withheld from compute"


def test_the_recharge_term_is_limited_by_the_charge_limit():
    t = table(max_charge_w=15.0)
    s = sensors(guard_level_wh(CAPACITY_WH, t) - 100.0, solar_w=300.0)
    assert battery_term_w(s, t) == pytest.approx(-15.0), "charge limit must clip the battery term"


def test_the_budget_is_never_negative_even_when_the_battery_needs_more_than_the_sun_gives():
    t = table()
    s = sensors(guard_level_wh(CAPACITY_WH, t) - 200.0, solar_w=60.0)
    _, b, _ = step(PowerState(), t, s, None)
    assert b.compute_budget_w == 0.0


def test_the_budget_never_exceeds_what_the_battery_alone_could_carry():
    t = table(max_discharge_w=400.0)
    _, b, _ = step(PowerState(), t, at_soc(1.0, solar_w=5000.0), None)
    assert b.compute_budget_w == pytest.approx(400.0 - 50.0), \
        "budget must be capped by max_discharge - housekeeping (eclipse entry within a tick)"


def test_in_eclipse_at_the_guard_level_compute_gets_nothing():
    t = table()
    _, b, _ = step(PowerState(), t, sensors(guard_level_wh(CAPACITY_WH, t), solar_w=0.0), None)
    assert b.compute_budget_w == 0.0


def test_without_sensor_readings_no_budget_is_published():
    state, b, events = step(PowerState(), table(), None, None)
    assert b is None and events == []
    assert state == PowerState()


# ------------------------------------------------------------------------ safe mode

def test_a_single_noisy_reading_below_the_guard_does_not_trip_safe_mode():
    t = table()
    state = PowerState()
    for soc in (t.guard_level_soc - 0.001, t.guard_level_soc + 0.001) * 5:
        state, _, _ = step(state, t, at_soc(soc, solar_w=1000.0), None)
        assert state.mode != SAFE, "readings that dither across the guard tripped SAFE"


def test_soc_below_the_guard_enters_safe_mode_with_no_compute():
    t = table()
    below = t.guard_level_soc - 0.01
    state = PowerState()
    for _ in range(t.safe_entry_ticks - 1):
        state, b, events = step(state, t, at_soc(below, solar_w=1000.0), None)
        assert state.mode != SAFE, "one low reading is not yet enough (persistence filter)"
    state, b, events = step(state, t, at_soc(below, solar_w=1000.0), None)
    assert state.mode == SAFE and b.mode == SAFE
    assert b.compute_budget_w == 0.0, "SAFE mode grants no compute power"
    assert names(events) == ["power.mode_changed"]
    assert events[0].severity == int(Severity.WARNING_HI)


def test_soc_exactly_at_the_guard_stays_nominal():
    t = table()
    state, _, events = step(PowerState(), t, at_soc(t.guard_level_soc, solar_w=300.0), None)
    assert state.mode == NOMINAL and events == []


def test_safe_mode_is_left_only_at_guard_plus_exit_margin():
    t = table()
    exit_soc = t.guard_level_soc + t.safe_exit_margin_soc
    safe = PowerState(mode=SAFE)
    state, _, events = step(safe, t, at_soc(exit_soc - 0.001, solar_w=300.0), None)
    assert state.mode == SAFE and events == [], "left SAFE below the exit threshold"
    state, b, events = step(safe, t, at_soc(exit_soc + 0.001, solar_w=300.0), None)
    assert state.mode == NOMINAL and b.mode == NOMINAL
    assert names(events) == ["power.mode_changed"]
    assert events[0].severity == int(Severity.ACTIVITY_HI)


@settings(max_examples=50, deadline=None)
@given(
    start=st.sampled_from([SAFE, NOMINAL]),
    # strictly inside the band: 1 - 1e-16 would round lo + f * (hi - lo) up onto hi
    fractions=st.lists(st.floats(1e-6, 1.0 - 1e-6), min_size=1, max_size=50),
)
def test_soc_oscillating_between_the_two_thresholds_never_flaps_the_mode(start, fractions):
    t = table()
    lo, hi = t.guard_level_soc, t.guard_level_soc + t.safe_exit_margin_soc
    state = PowerState(mode=start)
    for f in fractions:
        state, _, events = step(state, t, at_soc(lo + f * (hi - lo), solar_w=300.0), None)
        assert state.mode == start, f"mode flapped {start} -> {state.mode} inside the hysteresis band"
        assert events == [], "a mode event was emitted without a mode change"


def test_set_mode_safe_forces_safe_mode_even_with_a_full_battery():
    state, b, events = step(PowerState(), table(), at_soc(1.0, solar_w=1000.0), SetMode(SAFE, "cap"))
    assert state.mode == SAFE and state.forced_safe
    assert b.compute_budget_w == 0.0
    assert names(events) == ["power.set_mode", "power.mode_changed"]
    assert events[0].severity == int(Severity.COMMAND)


def test_forced_safe_mode_persists_without_further_commands():
    t = table()
    state, _, _ = step(PowerState(), t, at_soc(1.0, solar_w=1000.0), SetMode(SAFE, "cap"))
    for _ in range(5):
        state, b, events = step(state, t, at_soc(1.0, solar_w=1000.0), None)
        assert state.mode == SAFE and b.compute_budget_w == 0.0, "forced SAFE was released by itself"
        assert events == []


def test_set_mode_nominal_releases_forced_safe_mode():
    t = table()
    state, _, _ = step(PowerState(), t, at_soc(1.0, solar_w=1000.0), SetMode(SAFE, "cap"))
    state, b, events = step(state, t, at_soc(1.0, solar_w=1000.0), SetMode(NOMINAL, "ground"))
    assert not state.forced_safe and state.mode == NOMINAL and b.compute_budget_w > 0.0
    assert names(events) == ["power.set_mode", "power.mode_changed"]


def test_releasing_forced_safe_mode_still_waits_for_the_exit_threshold():
    t = table()
    between = t.guard_level_soc + t.safe_exit_margin_soc / 2
    state, _, _ = step(PowerState(), t, at_soc(between, 300.0), SetMode(SAFE, "cap"))
    state, _, _ = step(state, t, at_soc(between, 300.0), SetMode(NOMINAL, "ground"))
    assert state.mode == SAFE, "released SAFE mode below the hysteresis exit threshold"


def test_a_set_mode_without_sensor_readings_is_remembered():
    t = table()
    state, b, _ = step(PowerState(), t, None, SetMode(SAFE, "cap"))
    assert b is None and state.forced_safe
    state, _, _ = step(state, t, at_soc(1.0, 1000.0), None)
    assert state.mode == SAFE


def test_steady_nominal_operation_emits_no_events():
    t = table()
    state = PowerState()
    for _ in range(10):
        state, _, events = step(state, t, at_soc(0.9, 500.0), None)
        assert events == []


# --------------------------------------------------------------- closed-loop property

def run_orbit(t: PowerTable, capacity_wh: float, soc0: float, solar_w: float, sun_s: int,
              eclipse_s: int, after_s: int, latency_ticks: int) -> float:
    """Sun, one eclipse, sun again at 1 s ticks; the load is housekeeping plus the budget
    published ``latency_ticks`` earlier. Returns the lowest SOC reached."""
    dt_s = 1.0
    charge_wh = soc0 * capacity_wh
    in_flight = deque([0.0] * latency_ticks)  # budgets on their way to the boards [W]
    state = PowerState()
    lowest = soc0
    for k in range(sun_s + eclipse_s + after_s):
        sun = not sun_s <= k < sun_s + eclipse_s
        s_w = solar_w if sun else 0.0
        state, b, _ = step(state, t, sensors(charge_wh, s_w, capacity_wh), None)
        in_flight.append(b.compute_budget_w)
        load_w = t.housekeeping_w + in_flight.popleft()
        net_w = s_w - load_w
        if net_w >= 0.0:
            charge_wh += min(net_w, t.max_charge_w) * dt_s / 3600.0
        else:
            charge_wh += net_w / t.discharge_efficiency * dt_s / 3600.0
        charge_wh = min(max(charge_wh, 0.0), capacity_wh)
        lowest = min(lowest, charge_wh / capacity_wh)
    return lowest


@st.composite
def orbits(draw):
    capacity_wh = draw(st.floats(300.0, 5000.0))
    housekeeping_w = draw(st.floats(5.0, 200.0))
    t = PowerTable(
        battery_soc_floor=draw(st.floats(0.0, 0.4)),
        housekeeping_w=housekeeping_w,
        max_discharge_w=draw(st.floats(1.5 * housekeeping_w, 3000.0)),
        max_charge_w=draw(st.floats(10.0, 3000.0)),
        eclipse_reserve_s=draw(st.floats(300.0, 2400.0)),
        discharge_efficiency=draw(st.floats(0.8, 1.0)),
        reserve_horizon_s=draw(st.floats(60.0, 1800.0)),
    )
    guard_soc = guard_level_wh(capacity_wh, t) / capacity_wh
    assume(guard_soc <= 0.95)
    return dict(
        t=t,
        capacity_wh=capacity_wh,
        soc0=draw(st.floats(guard_soc, 1.0)),
        solar_w=draw(st.floats(housekeeping_w, 5000.0)),
        sun_s=draw(st.integers(1, 1500)),
        eclipse_s=draw(st.integers(1, int(t.eclipse_reserve_s))),
        after_s=draw(st.integers(0, 300)),
        latency_ticks=draw(st.sampled_from([1, 2])),
    )


@settings(max_examples=30, deadline=None)
@given(orbit=orbits())
def test_a_load_that_follows_the_budget_never_takes_the_battery_below_the_floor(orbit):
    lowest = run_orbit(**orbit)
    floor = orbit["t"].battery_soc_floor
    assert lowest >= floor - SOC_TOL, \
        f"SOC fell to {lowest:.5f} below the floor {floor:.5f} while compute followed the budget"


def test_a_restarted_power_manager_keeps_a_supervisor_safe_order(tmp_path):
    from flightsw.apps.power.shell import PowerApp
    from flightsw.icd.messages import Envelope, Message, SetMode

    app = PowerApp(table(), tmp_path)
    order = SetMode(SAFE, "restart cap")
    app.step(1, 1_000_000_000, [Message(Envelope(order.KIND, order.VERSION, "supervisor", 1, 0, 0, "power"), order)])
    assert app.state.forced_safe
    app.close()
    again = PowerApp(table(), tmp_path)  # a new process reading the same store
    assert again.state.forced_safe, "the SAFE order was forgotten"
    reading = at_soc(0.9, solar_w=5000.0)
    outs = again.step(2, 2_000_000_000, [Message(Envelope(reading.KIND, reading.VERSION, "world", 1, 0, 0, ""),
                                                 reading)])
    (budget_msg,) = [b for b, _ in outs if b.KIND == 210]
    assert budget_msg.mode == SAFE and budget_msg.compute_budget_w == 0.0, budget_msg
    again.close()
