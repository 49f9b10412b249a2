"""The budget forecast is made once per forecast_step_s of readings (and at once when what
it was made for changes), not every tick: the budgets between carry none (empty, step 0).
Without the readings' time every budget carries one, as before."""

from __future__ import annotations

from dataclasses import replace

from flightsw.apps.power.core import PowerInputs, PowerState, step
from flightsw.apps.power.energy import forecast_budget_w
from tests.flightsw.apps.power.power_builders import (
    CAPACITY_WH,
    NOMINAL,
    SAFE,
    S,
    at_soc,
    eclipse_ahead,
    table,
)

STEP_S = 60  # [s] the test table's forecast step
SUN_W = 1000.0  # [W]
SOC = 0.6


def settled(outlook) -> PowerState:
    return PowerState(mode=NOMINAL, held_ticks=10_000, forecast_source=outlook.source)


def budgets(t, outlooks, t0_s: int = 0, state: PowerState | None = None, heater_w=None):
    """Step the core once per second from ``t0_s`` over ``outlooks`` -> (state, budgets)."""
    state = settled(outlooks[0]) if state is None else state
    out = []
    for k, outlook in enumerate(outlooks):
        state, b, _ = step(state, t, PowerInputs(at_soc(SOC, SUN_W), outlook, None, heater_w, t_ns=(t0_s + k) * S))
        out.append(b)
    return state, out


def test_a_forecast_goes_out_once_per_forecast_step_and_none_between():
    t = table(forecast_step_s=float(STEP_S))
    o = eclipse_ahead(3000.0, 2000.0)
    _, bs = budgets(t, [o] * (2 * STEP_S + 1))
    carried = [k for k, b in enumerate(bs) if b.forecast_budget_w]
    assert carried == [0, STEP_S, 2 * STEP_S], f"forecasts at ticks {carried}, expected every {STEP_S} s"
    for k, b in enumerate(bs):
        if k not in carried:
            assert b.forecast_budget_w == () and b.forecast_step_s == 0.0, f"tick {k} carried a stale forecast"
        else:
            assert b.forecast_step_s == t.forecast_step_s and b.forecast_budget_w[0] == b.compute_budget_w


def test_the_forecast_carried_is_the_one_made_for_that_tick():
    t = table(forecast_step_s=float(STEP_S))
    o = eclipse_ahead(3000.0, 2000.0)
    state, (b,) = budgets(t, [o], t0_s=500)
    expected = forecast_budget_w(t, NOMINAL, SOC * CAPACITY_WH, CAPACITY_WH, SUN_W, SUN_W, 0.0, o)
    assert b.forecast_budget_w == expected, "the paced forecast differs from the one made every tick"


def test_entering_an_eclipse_makes_a_new_forecast_at_once():
    t = table(forecast_step_s=float(STEP_S))
    before, inside = eclipse_ahead(1.0, 2000.0), eclipse_ahead(-1.0, 2000.0)
    _, bs = budgets(t, [before, before, inside])
    assert bs[1].forecast_budget_w == (), "a forecast one second after the last"
    assert bs[2].forecast_budget_w, "the outlook moved into an eclipse and no new forecast went out"


def test_a_mode_change_or_a_new_heater_power_makes_a_new_forecast_at_once():
    t = table(forecast_step_s=float(STEP_S))
    o = eclipse_ahead(3000.0, 2000.0)
    state, (first, quiet) = budgets(t, [o, o])
    assert first.forecast_budget_w and quiet.forecast_budget_w == ()
    state, (heater_on,) = budgets(t, [o], t0_s=2, state=state, heater_w=25.0)
    assert heater_on.forecast_budget_w, "the heater power changed and no new forecast went out"
    _, (b,) = budgets(t, [o], t0_s=3, state=replace(state, forced_safe=True))
    assert b.mode == SAFE and b.forecast_budget_w == (0.0,) * len(heater_on.forecast_budget_w), \
        "the mode changed to SAFE and the forecast was not made again"


def test_without_the_readings_time_every_budget_carries_a_forecast():
    t = table(forecast_step_s=float(STEP_S))
    o = eclipse_ahead(3000.0, 2000.0)
    state = settled(o)
    for _ in range(3):
        state, b, _ = step(state, t, PowerInputs(at_soc(SOC, SUN_W), o))
        assert b.forecast_budget_w and b.forecast_step_s == t.forecast_step_s
