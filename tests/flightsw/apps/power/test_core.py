"""The power core's step: modes with hysteresis and dwell, orders, events, the budget message.

Levels with the test table (capacity 1000 Wh, floor 0.2, no eclipse predicted):
guard 220 Wh, SAFE exit 270 Wh, reserve 250 Wh, LOW_POWER exit 280 Wh, NOMINAL's
target 350 Wh, COMPUTE from SOC 0.9 in sunlight down to SOC 0.8.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.power.core import PowerInputs, PowerState, set_mode_limit, step
from flightsw.apps.power.outlook import EclipseOutlook
from flightsw.icd.codec import decode, encode
from flightsw.icd.messages import Envelope, Message, SetMode, Severity
from tests.flightsw.apps.power.power_builders import (
    CAPACITY_WH,
    COMPUTE,
    LOW_POWER,
    NO_ECLIPSE,
    NOMINAL,
    SAFE,
    at_soc,
    eclipse_ahead,
    names,
    run,
    table,
)

GUARD, SAFE_EXIT, RESERVE, LOW_EXIT = 0.22, 0.27, 0.25, 0.28  # SOC, with the test table
SUN_W = 1000.0  # [W] a solar surplus over the 50 W housekeeping


def settled(mode: str, **kw) -> PowerState:
    """A state that has held ``mode`` long enough to leave it (NO_ECLIPSE already reported)."""
    return PowerState(mode=mode, held_ticks=10_000, **{"forecast_source": NO_ECLIPSE.source, **kw})


def one(state, t, reading, outlook=NO_ECLIPSE, set_mode=None, heater_w=None):
    return step(state, t, PowerInputs(reading, outlook, set_mode, heater_w))


def mode_changes(all_notes) -> list:
    return [n for notes in all_notes for n in notes if n.name == "power.mode_changed"]


# ---------------------------------------------------------------------------- SAFE

def test_a_single_noisy_reading_below_the_guard_does_not_trip_safe_mode():
    t = table()
    state, notes = run(t, [at_soc(GUARD - 0.001, SUN_W), at_soc(GUARD + 0.001, SUN_W)] * 5,
                       state=settled(LOW_POWER))
    assert state.mode == LOW_POWER and mode_changes(notes) == [], "dithering across the guard tripped SAFE"


def test_charge_below_the_guard_for_the_entry_readings_enters_safe_at_once_with_a_warning():
    t = table(safe_entry_ticks=5)
    state = PowerState(mode=NOMINAL, held_ticks=0)  # just entered: dwell does not delay SAFE
    for _ in range(4):
        state, b, notes = one(state, t, at_soc(GUARD - 0.01, SUN_W))
        assert state.mode != SAFE, "fewer than safe_entry_ticks readings tripped SAFE"
    state, b, notes = one(state, t, at_soc(GUARD - 0.01, SUN_W))
    assert state.mode == SAFE and b.mode == SAFE
    assert b.compute_budget_w == 0.0 and b.min_priority == 10, "SAFE grants nothing and sheds every job"
    (change,) = mode_changes([notes])
    assert change.severity == Severity.WARNING_HI and "below the guard" in change.text, change


def test_safe_mode_is_left_only_at_guard_plus_exit_margin_and_only_for_low_power():
    t = table()
    state, notes = run(t, [at_soc(SAFE_EXIT - 0.001, SUN_W)] * 5, state=settled(SAFE))
    assert state.mode == SAFE and mode_changes(notes) == [], "left SAFE below the exit threshold"
    state, b, notes = one(state, t, at_soc(SAFE_EXIT + 0.001, SUN_W))
    assert state.mode == LOW_POWER and b.mode == LOW_POWER, "SAFE exits one step up, to LOW_POWER"
    (change,) = mode_changes([notes])
    assert change.severity == Severity.ACTIVITY_HI and change.text.startswith("SAFE -> LOW_POWER")


def test_safe_mode_is_held_for_its_dwell_even_with_a_full_battery():
    t = table(dwell_safe_ticks=30)
    state = PowerState(mode=SAFE, held_ticks=0)
    state, _ = run(t, [at_soc(0.95, SUN_W)] * 29, state=state)
    assert state.mode == SAFE, "left SAFE before its dwell"
    state, _ = run(t, [at_soc(0.95, SUN_W)], state=state)
    assert state.mode == LOW_POWER


# ----------------------------------------------------------------------- LOW_POWER

def test_charge_below_the_eclipse_reserve_enters_low_power_and_sheds_load():
    t = table(low_power_entry_ticks=3)
    state, notes = run(t, [at_soc(RESERVE - 0.01, SUN_W)] * 3, state=settled(NOMINAL))
    assert state.mode == LOW_POWER
    (change,) = mode_changes(notes)
    assert "eclipse reserve" in change.text and change.severity == Severity.ACTIVITY_HI
    _, b, _ = one(state, t, at_soc(RESERVE - 0.01, SUN_W))
    assert b.min_priority == 2, "LOW_POWER publishes its load-shed order"


def test_the_reserve_that_low_power_guards_grows_with_the_forecast_eclipse():
    t = table()
    soc = 0.27  # above the margin-only reserve (0.25), below it plus a 2100 s eclipse (0.25 + 0.0307)
    state, _ = run(t, [at_soc(soc, SUN_W)] * 10, outlook=NO_ECLIPSE, state=settled(NOMINAL))
    assert state.mode == NOMINAL
    dim_w = t.housekeeping_w  # no surplus to refill the battery before the eclipse
    state, _ = run(t, [at_soc(soc, dim_w)] * 10, outlook=eclipse_ahead(600.0, 2100.0), state=settled(NOMINAL))
    assert state.mode == LOW_POWER, "the reserve for the forecast eclipse was not held"


def test_below_the_reserve_just_after_an_eclipse_is_no_shortage_while_the_sun_refills_it_in_time():
    t = table()
    soc = 0.27  # below the reserve of a 2100 s eclipse (0.2807) now
    surplus_wh = (SUN_W - t.housekeeping_w) * t.charge_efficiency * 3000.0 / 3600.0
    assert soc * CAPACITY_WH + surplus_wh > (0.2807 + 0.01) * CAPACITY_WH, "the case: the sun refills it by then"
    state, _ = run(t, [at_soc(soc, SUN_W)] * 10, outlook=eclipse_ahead(3000.0, 2100.0), state=settled(NOMINAL))
    assert state.mode == NOMINAL
    # the same charge with the eclipse about to start: short
    state, _ = run(t, [at_soc(soc, SUN_W)] * 10, outlook=eclipse_ahead(1.0, 2100.0), state=settled(NOMINAL))
    assert state.mode == LOW_POWER


def test_low_power_is_left_for_nominal_only_at_reserve_plus_exit_margin():
    t = table()
    state, _ = run(t, [at_soc(LOW_EXIT - 0.001, SUN_W)] * 5, state=settled(LOW_POWER))
    assert state.mode == LOW_POWER, "left LOW_POWER inside its hysteresis band"
    state, _ = run(t, [at_soc(LOW_EXIT + 0.001, SUN_W)], state=state)
    assert state.mode == NOMINAL


# ------------------------------------------------------------------------- COMPUTE

def test_a_nearly_full_battery_in_sunlight_enters_compute_mode():
    t = table()
    state, _ = run(t, [at_soc(0.9, SUN_W)], state=settled(NOMINAL))
    assert state.mode == COMPUTE


def test_a_full_battery_without_a_solar_surplus_stays_nominal():
    t = table()
    state, _ = run(t, [at_soc(0.95, 40.0)] * 5, state=settled(NOMINAL))
    assert state.mode == NOMINAL, "COMPUTE entered with no sunlight to spare"


def test_compute_mode_is_left_below_its_exit_soc_not_its_entry_soc():
    t = table()
    state, _ = run(t, [at_soc(0.85, 0.0)] * 5, state=settled(COMPUTE))
    assert state.mode == COMPUTE, "left COMPUTE inside its hysteresis band"
    state, _ = run(t, [at_soc(0.79, 0.0)], state=state)
    assert state.mode == NOMINAL


# ---------------------------------------------------------------------------- dwell

def test_modes_climb_one_at_a_time_each_after_its_dwell():
    t = table(dwell_safe_ticks=10, dwell_low_power_ticks=20, dwell_nominal_ticks=30)
    state = PowerState(mode=SAFE, held_ticks=0)
    modes = []
    for _ in range(70):
        state, b, _ = one(state, t, at_soc(0.95, SUN_W))
        modes.append(b.mode)
    assert modes.index(LOW_POWER) == 9 and modes.index(NOMINAL) == 29 and modes.index(COMPUTE) == 59, \
        "SAFE, LOW_POWER and NOMINAL are each held exactly their dwell"
    assert state.transitions == 3


def test_a_soc_oscillating_inside_a_hysteresis_band_never_changes_the_mode():
    t = table()
    rng = np.random.default_rng(7)
    for start, lo, hi in ((SAFE, GUARD, SAFE_EXIT), (LOW_POWER, RESERVE, LOW_EXIT), (NOMINAL, RESERVE, LOW_EXIT),
                          (NOMINAL, 0.8, 0.9), (COMPUTE, 0.8, 0.9)):
        readings = [at_soc(s, SUN_W) for s in rng.uniform(lo + 1e-6, hi - 1e-6, 300)]
        state, notes = run(t, readings, state=settled(start))
        assert state.mode == start and mode_changes(notes) == [], f"{start} flapped inside [{lo}, {hi}]"


THRESHOLDS_SOC = (GUARD, RESERVE, SAFE_EXIT, LOW_EXIT, 0.8, 0.9)


@settings(max_examples=30, deadline=None)
@given(centre=st.sampled_from(THRESHOLDS_SOC), amplitude=st.floats(0.0, 0.15), seed=st.integers(0, 2**31),
       start=st.sampled_from([SAFE, LOW_POWER, NOMINAL, COMPUTE]))
def test_noise_around_any_threshold_changes_the_mode_no_more_often_than_the_dwell_allows(centre, amplitude,
                                                                                       seed, start):
    t = table(dwell_safe_ticks=25, dwell_low_power_ticks=20, dwell_nominal_ticks=20, dwell_compute_ticks=20,
              safe_entry_ticks=1, low_power_entry_ticks=1)
    n = 400
    rng = np.random.default_rng(seed)
    socs = np.clip(centre + amplitude * rng.uniform(-1.0, 1.0, n), 0.0, 1.0)
    sun = rng.uniform(0.0, 1.0, n) < 0.5
    state = PowerState(mode=start)
    changes = 0
    for soc, lit in zip(socs, sun, strict=True):
        state, _, notes = one(state, t, at_soc(float(soc), SUN_W if lit else 0.0))
        changes += len(mode_changes([notes]))
    # each change out of a mode waits its dwell (>= 20), except a change into SAFE, which
    # can only follow a change out of SAFE: at most two changes per 20 readings
    bound = 2 * (n // 20 + 1)
    assert changes <= bound, f"{changes} mode changes in {n} noisy readings, dwell allows {bound}"
    assert state.transitions == changes


def test_without_dwell_the_same_noise_would_flap():
    """The flap bound above can fail: with a one-tick dwell the same noise flaps."""
    t = table(dwell_safe_ticks=1, dwell_low_power_ticks=1, dwell_nominal_ticks=1, dwell_compute_ticks=1,
              safe_entry_ticks=1, low_power_entry_ticks=1)
    rng = np.random.default_rng(1)
    readings = [at_soc(float(s), SUN_W) for s in RESERVE + 0.1 * rng.uniform(-1.0, 1.0, 400)]
    state, _ = run(t, readings)
    assert state.transitions > 2 * (400 // 20 + 1)


# ------------------------------------------------------------------- supervisor orders

def test_set_mode_safe_forces_safe_mode_even_with_a_full_battery():
    state, b, notes = one(settled(COMPUTE), table(), at_soc(1.0, SUN_W), set_mode=SetMode(SAFE, "cap"))
    assert state.mode == SAFE and state.forced_safe and b.compute_budget_w == 0.0
    assert names(notes) == ["power.set_mode", "power.mode_changed"]
    assert notes[0].severity == Severity.COMMAND and notes[1].severity == Severity.WARNING_HI
    assert "supervisor" in notes[1].text


def test_forced_safe_mode_persists_without_further_orders():
    t = table()
    state, _, _ = one(PowerState(), t, at_soc(1.0, SUN_W), set_mode=SetMode(SAFE, "cap"))
    state, notes = run(t, [at_soc(1.0, SUN_W)] * 500, state=state)
    assert state.mode == SAFE and mode_changes(notes) == [], "forced SAFE was released by itself"


def test_set_mode_nominal_releases_forced_safe_and_the_thresholds_take_over():
    t = table(dwell_safe_ticks=5)
    state, _, _ = one(PowerState(), t, at_soc(1.0, SUN_W), set_mode=SetMode(SAFE, "cap"))
    state, _ = run(t, [at_soc(1.0, SUN_W)] * 10, state=state)
    state, _, notes = one(state, t, at_soc(1.0, SUN_W), set_mode=SetMode(NOMINAL, "ground"))
    assert not state.forced_safe and state.mode == LOW_POWER, "released SAFE climbs like any SAFE"
    assert names(notes) == ["power.set_mode", "power.mode_changed"]


def test_releasing_forced_safe_below_the_exit_threshold_stays_safe():
    t = table(dwell_safe_ticks=1)
    between = (GUARD + SAFE_EXIT) / 2
    state, _, _ = one(PowerState(), t, at_soc(between, SUN_W), set_mode=SetMode(SAFE, "cap"))
    state, _, _ = one(state, t, at_soc(between, SUN_W), set_mode=SetMode(NOMINAL, "ground"))
    assert state.mode == SAFE, "released SAFE mode below the hysteresis exit threshold"


def test_a_set_mode_without_sensor_readings_is_remembered():
    t = table()
    state, b, _ = one(PowerState(), t, None, set_mode=SetMode(SAFE, "cap"))
    assert b is None and state.forced_safe
    state, _, _ = one(state, t, at_soc(1.0, SUN_W))
    assert state.mode == SAFE


# ------------------------------------------------------------------------ mode limit

def test_a_mode_limit_below_the_current_mode_takes_effect_at_once():
    t = table()
    state = set_mode_limit(settled(COMPUTE), NOMINAL)
    state, b, notes = one(state, t, at_soc(0.95, SUN_W))
    assert state.mode == NOMINAL and b.mode == NOMINAL
    (change,) = mode_changes([notes])
    assert "mode limit NOMINAL" in change.text


def test_a_mode_limit_caps_the_climb():
    t = table(dwell_safe_ticks=1, dwell_low_power_ticks=1, dwell_nominal_ticks=1)
    state = set_mode_limit(PowerState(mode=SAFE), LOW_POWER)
    state, _ = run(t, [at_soc(0.95, SUN_W)] * 50, state=state)
    assert state.mode == LOW_POWER, "climbed past the mode limit"
    state, _ = run(t, [at_soc(0.95, SUN_W)] * 3, state=set_mode_limit(state, COMPUTE))
    assert state.mode == COMPUTE, "raising the limit did not let the mode climb"


def test_a_mode_limit_of_safe_is_safe():
    state, b, _ = one(set_mode_limit(settled(NOMINAL), SAFE), table(), at_soc(0.95, SUN_W))
    assert b.mode == SAFE and b.compute_budget_w == 0.0


def test_a_mode_limit_must_name_a_mode():
    with pytest.raises(ValueError, match="mode: expected one of"):
        set_mode_limit(PowerState(), "TURBO")


# ------------------------------------------------------------------ the budget message

def test_the_budget_message_carries_reserve_eclipse_forecast_and_load_shed_order():
    t = table()
    o = eclipse_ahead(600.0, 2100.0, 5700.0)
    _, b, _ = one(settled(NOMINAL), t, at_soc(0.6, SUN_W), outlook=o)
    assert b.next_eclipse_in_s == 600.0 and b.next_eclipse_s == 2100.0
    assert b.reserve_wh == pytest.approx(0.05 * 1000.0 + 50.0 * 2100.0 / 3600.0 / 0.95)
    assert b.min_priority == 0 and b.forecast_step_s == 60.0 and len(b.forecast_budget_w) == 95
    assert b.forecast_budget_w[0] == b.compute_budget_w
    # the battery forecast with it: 95 points at 60 s thinned to 48 at 120 s, from the charge now
    assert b.forecast_soc_step_s == 120.0 and len(b.forecast_soc) == 48
    assert b.forecast_soc[0] == pytest.approx(b.battery_charge_wh / b.battery_capacity_wh)
    raw = encode(Message(Envelope(b.KIND, b.VERSION, "power", 1, 0, 0), b))
    assert decode(raw).body == b, "the budget does not pass the ICD's checks"


def test_without_a_tle_the_budget_says_an_eclipse_may_start_now():
    t = table(eclipse_reserve_s=2400.0)
    _, b, _ = one(settled(NOMINAL), t, at_soc(0.6, SUN_W), outlook=EclipseOutlook.unknown(2400.0, "no TLE"))
    assert b.next_eclipse_in_s == 0.0 and b.next_eclipse_s == 2400.0


def test_without_sensor_readings_no_budget_is_published():
    state, b, notes = one(PowerState(), table(), None, outlook=replace(NO_ECLIPSE, source=""))
    assert b is None and notes == [] and state == PowerState()


def test_steady_operation_emits_no_events():
    t = table()
    state, notes = run(t, [at_soc(0.6, 500.0)] * 10, state=settled(NOMINAL))
    assert notes == [[]] * 10


def test_the_forecast_source_is_reported_once_when_it_changes():
    t = table()
    unknown = EclipseOutlook.unknown(2400.0, "no TLE loaded")
    state, _, notes = one(PowerState(), t, at_soc(0.6), outlook=unknown)
    assert [(n.name, n.severity) for n in notes] == [("power.forecast_source", Severity.WARNING_LO)]
    state, _, notes = one(state, t, at_soc(0.6), outlook=unknown)
    assert notes == [], "the same source was reported again"
    state, _, notes = one(state, t, at_soc(0.6), outlook=NO_ECLIPSE)
    assert [(n.name, n.severity) for n in notes] == [("power.forecast_source", Severity.ACTIVITY_HI)]


def test_heater_power_reported_by_the_thermal_guard_is_held_until_the_next_report():
    t = table()
    state, b1, _ = one(settled(NOMINAL), t, at_soc(0.35, 500.0), heater_w=30.0)
    state, b2, _ = one(state, t, at_soc(0.35, 500.0))
    assert b1.compute_budget_w == pytest.approx(b2.compute_budget_w)
    _, b3, _ = one(state, t, at_soc(0.35, 500.0), heater_w=0.0)
    assert b3.compute_budget_w == pytest.approx(b2.compute_budget_w + 30.0)


# ------------------------------------------------------------------ learning the sun

def test_the_mean_solar_power_is_learned_from_sunlit_readings_only():
    t = table(solar_average_readings=4)
    o_sun, o_dark = NO_ECLIPSE, eclipse_ahead(-10.0, 100.0)
    state = settled(NOMINAL)
    for solar_w, o in ((400.0, o_sun), (600.0, o_sun), (0.0, o_sun), (900.0, o_dark)):
        state, _, _ = one(state, t, at_soc(0.6, solar_w), outlook=o)
    assert state.solar_mean_w == pytest.approx(500.0), "dark readings or predicted eclipse entered the mean"
    for _ in range(50):
        state, _, _ = one(state, t, at_soc(0.6, 800.0))
    assert state.solar_mean_w == pytest.approx(800.0, rel=1e-3), "the average does not follow a new level"
    assert state.solar_readings == 4, "the average's weight is capped"
