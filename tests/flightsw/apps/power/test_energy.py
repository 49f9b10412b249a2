"""The energy arithmetic: the eclipse reserve, the battery term, the budget, the forecast."""

from __future__ import annotations

import math
from datetime import UTC, datetime

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.power.energy import (
    MAX_FORECAST_POINTS,
    budget_terms,
    forecast_budget_w,
    forecast_points,
    reserve_wh,
)
from flightsw.apps.power.orbit_view import OrbitTable, OrbitView
from flightsw.apps.power.outlook import EclipseAhead, EclipseOutlook
from sim.tle import tle_from_circular
from tests.flightsw.apps.power.power_builders import (
    CAPACITY_WH,
    COMPUTE,
    LOW_POWER,
    NOMINAL,
    SAFE,
    eclipse_ahead,
    table,
)

POWER_TOL_W = 1e-9  # [W] float round-off in the budget arithmetic
FORECAST_REL_TOL = 1e-9  # [-] the unrolled forecast against the scalar law
SUN_AHEAD = EclipseAhead(False, 3000.0, 2000.0)  # an eclipse 3000 s away, 2000 s long
IN_ECLIPSE = EclipseAhead(True, 0.0, 1200.0)  # 1200 s of eclipse left


def budget(t, mode, charge_wh, solar_w=0.0, heater_w=0.0, ahead=SUN_AHEAD):
    return budget_terms(t, mode, charge_wh, CAPACITY_WH, solar_w, heater_w, ahead)


def target_wh(t, ahead=SUN_AHEAD, buffer=False):
    buf = t.nominal_buffer_soc * CAPACITY_WH if buffer else 0.0
    return t.battery_soc_floor * CAPACITY_WH + reserve_wh(t, CAPACITY_WH, ahead) + buf


# --------------------------------------------------------------------------- reserve

def test_the_reserve_holds_housekeeping_and_heater_through_the_next_eclipse_plus_the_margin():
    t = table(housekeeping_w=50.0, battery_heater_w=20.0, discharge_efficiency=0.9, reserve_margin_soc=0.05)
    by_hand_wh = 0.05 * 1000.0 + (50.0 + 20.0) * 2000.0 / 3600.0 / 0.9  # = 50 + 43.21
    assert reserve_wh(t, CAPACITY_WH, SUN_AHEAD) == pytest.approx(by_hand_wh, rel=1e-12)
    assert budget(t, NOMINAL, 800.0).reserve_wh == pytest.approx(by_hand_wh, rel=1e-12)


def test_inside_an_eclipse_the_reserve_holds_only_what_is_left_of_it():
    t = table(housekeeping_w=50.0, discharge_efficiency=0.9)
    assert reserve_wh(t, CAPACITY_WH, IN_ECLIPSE) == pytest.approx(0.05 * 1000.0 + 50.0 * 1200.0 / 3600.0 / 0.9)


def test_with_no_eclipse_predicted_the_reserve_is_the_margin():
    t = table()
    assert reserve_wh(t, CAPACITY_WH, EclipseAhead(False, -1.0, 0.0)) == pytest.approx(0.05 * CAPACITY_WH)


def test_without_a_tle_the_reserve_holds_the_longest_eclipse():
    t = table(eclipse_reserve_s=2400.0)
    ahead = EclipseOutlook.unknown(2400.0, "no TLE").at(0.0)
    assert reserve_wh(t, CAPACITY_WH, ahead) == pytest.approx(0.05 * CAPACITY_WH + 50.0 * 2400.0 / 3600.0 / 0.95)


# ----------------------------------------------------------------------- battery term

def test_the_excess_above_the_reserve_is_paced_over_the_time_to_the_eclipse():
    t = table()
    excess_wh = 30.0
    b = budget(t, COMPUTE, target_wh(t) + excess_wh, solar_w=300.0)
    battery_w = excess_wh * 3600.0 * 0.95 / 3000.0  # bus power: storage drawn / efficiency
    assert b.battery_w == pytest.approx(battery_w)
    assert b.budget_w == pytest.approx(300.0 - 50.0 + battery_w, abs=POWER_TOL_W)


def test_the_excess_is_never_spent_faster_than_the_minimum_pacing():
    t = table(min_pacing_s=300.0)
    soon = EclipseAhead(False, 20.0, 2000.0)
    b = budget(t, COMPUTE, target_wh(t, soon) + 30.0, solar_w=300.0, ahead=soon)
    assert b.battery_w == pytest.approx(30.0 * 3600.0 * 0.95 / 300.0)


def test_nominal_holds_the_buffer_that_compute_mode_spends():
    t = table(nominal_buffer_soc=0.1)
    charge = target_wh(t, buffer=True)
    assert budget(t, NOMINAL, charge, solar_w=300.0).budget_w == pytest.approx(250.0), \
        "at its target NOMINAL grants the solar surplus only"
    assert budget(t, COMPUTE, charge, solar_w=300.0).budget_w > 250.0 + 100.0, \
        "COMPUTE spends the battery down to the reserve"


def test_below_the_target_the_battery_term_refills_it_by_eclipse_entry():
    t = table(charge_efficiency=0.9)
    deficit_wh = 20.0
    b = budget(t, NOMINAL, target_wh(t, buffer=True) - deficit_wh, solar_w=300.0)
    refill_w = deficit_wh * 3600.0 / 0.9 / 3000.0
    assert b.battery_w == pytest.approx(-refill_w)
    assert b.budget_w == pytest.approx(300.0 - 50.0 - refill_w), "the refill is withheld from compute"


def test_a_refill_close_to_the_eclipse_may_go_faster_than_the_minimum_pacing():
    t = table(min_pacing_s=300.0, charge_efficiency=1.0)
    soon = EclipseAhead(False, 30.0, 2000.0)
    b = budget(t, NOMINAL, target_wh(t, soon, buffer=True) - 1.0, solar_w=500.0, ahead=soon)
    assert b.battery_w == pytest.approx(-1.0 * 3600.0 / 30.0), "a refill paced slower would enter the eclipse short"


def test_the_refill_is_limited_by_the_charge_limit():
    t = table(max_charge_w=15.0)
    b = budget(t, NOMINAL, target_wh(t) - 100.0, solar_w=300.0)
    assert b.battery_w == pytest.approx(-15.0)


# ----------------------------------------------------------------------------- budget

def test_low_power_grants_only_the_solar_surplus_left_after_recharging():
    t = table()
    full = budget(t, LOW_POWER, 0.95 * CAPACITY_WH, solar_w=300.0)
    assert full.battery_w > 0.0 and full.budget_w == pytest.approx(250.0), "LOW_POWER spent the battery"
    low = budget(t, LOW_POWER, target_wh(t) - 20.0, solar_w=300.0)
    assert low.budget_w == pytest.approx(250.0 + low.battery_w) and low.battery_w < 0.0


def test_safe_mode_grants_nothing():
    assert budget(table(), SAFE, 0.95 * CAPACITY_WH, solar_w=5000.0).budget_w == 0.0


def test_the_heaters_in_use_are_taken_off_the_solar_surplus():
    t = table()
    charge = target_wh(t, buffer=True)
    assert budget(t, NOMINAL, charge, 300.0, heater_w=40.0).budget_w == pytest.approx(300.0 - 50.0 - 40.0)


def test_inside_a_predicted_eclipse_the_reserve_pays_the_platform_and_compute_gets_the_excess():
    t = table(battery_heater_w=10.0)
    excess_wh = 12.0
    b = budget(t, COMPUTE, target_wh(t, IN_ECLIPSE) + excess_wh, solar_w=0.0, heater_w=10.0, ahead=IN_ECLIPSE)
    assert b.budget_w == pytest.approx(excess_wh * 3600.0 * 0.95 / 1200.0), \
        "in eclipse compute gets the excess above what is left of the reserve, paced to the exit"
    at_reserve = budget(t, COMPUTE, target_wh(t, IN_ECLIPSE), solar_w=0.0, heater_w=10.0, ahead=IN_ECLIPSE)
    assert at_reserve.budget_w == pytest.approx(0.0, abs=POWER_TOL_W)


def test_the_budget_never_exceeds_what_the_battery_alone_could_carry():
    t = table(max_discharge_w=400.0)
    b = budget(t, COMPUTE, CAPACITY_WH, solar_w=5000.0, heater_w=30.0)
    assert b.budget_w == pytest.approx(400.0 - 50.0 - 30.0), \
        "budget must be capped by max_discharge - platform (eclipse entry within a tick)"


def test_the_budget_is_never_negative_even_when_the_battery_needs_more_than_the_sun_gives():
    t = table()
    assert budget(t, NOMINAL, target_wh(t) - 200.0, solar_w=60.0).budget_w == 0.0


# --------------------------------------------------------------------------- forecast

def test_the_forecast_spans_one_orbit_at_its_step():
    t = table(forecast_step_s=60.0)
    assert forecast_points(t, eclipse_ahead(100.0, 2000.0, 5739.0)) == 96  # ceil(5739 / 60)
    assert forecast_points(t, EclipseOutlook.unknown(2400.0, "no TLE", 5760.0)) == 96  # fallback_period_s


def test_the_forecast_holds_at_most_256_points():
    t = table(forecast_step_s=1.0)
    assert forecast_points(t, eclipse_ahead(100.0, 2000.0, 5739.0)) == MAX_FORECAST_POINTS


def test_the_forecast_starts_with_the_budget_granted_now():
    t = table()
    o = eclipse_ahead(700.0, 2100.0, 5700.0)
    charge = 700.0
    now = budget_terms(t, NOMINAL, charge, CAPACITY_WH, 321.0, 5.0, o.at(0.0)).budget_w
    fc = forecast_budget_w(t, NOMINAL, charge, CAPACITY_WH, 321.0, 400.0, 5.0, o)
    assert fc[0] == now, "point 0 is not this tick's budget"


def reference_forecast(t, mode, charge_wh, solar_now_w, solar_mean_w, heater_w, outlook):
    """The forecast by the scalar law, one point at a time."""
    out = []
    step_s = t.forecast_step_s
    for i in range(forecast_points(t, outlook)):
        solar_w = solar_now_w if i == 0 else (solar_mean_w if outlook.sunlit(i * step_s) else 0.0)
        b = budget_terms(t, mode, charge_wh, CAPACITY_WH, solar_w, heater_w, outlook.at(i * step_s)).budget_w
        out.append(b)
        net_w = solar_w - t.housekeeping_w - heater_w - b
        if net_w >= 0.0:
            charge_wh += min(net_w, t.max_charge_w) * t.charge_efficiency * step_s / 3600.0
        else:
            charge_wh += net_w / t.discharge_efficiency * step_s / 3600.0
        charge_wh = min(CAPACITY_WH, max(0.0, charge_wh))
    return out


@settings(max_examples=40, deadline=None)
@given(mode=st.sampled_from([LOW_POWER, NOMINAL, COMPUTE]), soc=st.floats(0.0, 1.0),
       solar_now_w=st.floats(0.0, 2000.0), solar_mean_w=st.floats(0.0, 2000.0),
       heater_w=st.floats(0.0, 50.0), start_s=st.floats(-2000.0, 5000.0),
       duration_s=st.floats(300.0, 2400.0), known=st.booleans())
def test_the_unrolled_forecast_follows_the_budget_law_point_by_point(mode, soc, solar_now_w, solar_mean_w,
                                                                     heater_w, start_s, duration_s, known):
    t = table(battery_heater_w=10.0, max_charge_w=400.0)
    o = eclipse_ahead(start_s, duration_s, 5700.0) if known else EclipseOutlook.unknown(2400.0, "no TLE")
    charge_wh = soc * CAPACITY_WH
    fast = forecast_budget_w(t, mode, charge_wh, CAPACITY_WH, solar_now_w, solar_mean_w, heater_w, o)
    slow = reference_forecast(t, mode, charge_wh, solar_now_w, solar_mean_w, heater_w, o)
    assert fast == pytest.approx(slow, rel=FORECAST_REL_TOL, abs=1e-6), "forecast diverged from the budget law"


def test_the_battery_forecast_is_the_charge_the_budget_forecast_leaves_point_by_point():
    t = table(battery_heater_w=10.0, max_charge_w=400.0)
    o = eclipse_ahead(700.0, 2100.0, 5700.0)
    charges: list[float] = []
    fc = forecast_budget_w(t, NOMINAL, 700.0, CAPACITY_WH, 321.0, 400.0, 5.0, o, charges)
    assert len(charges) == len(fc) and charges[0] == 700.0, "point 0 is the charge now"
    # the law written out again: the charge each budget leaves for the next point
    step_h = t.forecast_step_s / 3600.0
    for i in range(1, len(fc)):
        solar_w = 321.0 if i == 1 else (400.0 if o.sunlit((i - 1) * t.forecast_step_s) else 0.0)
        net_w = solar_w - t.housekeeping_w - 5.0 - fc[i - 1]
        want = charges[i - 1] + (min(net_w, t.max_charge_w) * t.charge_efficiency if net_w >= 0
                                 else net_w / t.discharge_efficiency) * step_h
        assert charges[i] == pytest.approx(min(CAPACITY_WH, max(0.0, want)), abs=1e-9), i
    eclipse = [c for i, c in enumerate(charges) if 700.0 < i * 60.0 < 2800.0]
    assert eclipse == sorted(eclipse, reverse=True), "the eclipse only draws the battery down"


def test_the_battery_forecast_is_thinned_to_what_telemetry_carries():
    from flightsw.apps.power.energy import MAX_SOC_FORECAST_POINTS, forecast_soc

    charges = [float(i) for i in range(96)]  # an orbit at 60 s
    step_s, soc = forecast_soc(charges, 100.0, 60.0)
    assert step_s == 120.0 and len(soc) == 48 <= MAX_SOC_FORECAST_POINTS
    assert soc[:3] == (0.0, 0.02, 0.04) and soc[-1] == pytest.approx(0.94), "every second point, as SOC"
    assert forecast_soc(charges[:64], 100.0, 60.0)[0] == 60.0, "64 points fit: none dropped"
    assert forecast_soc([150.0], 100.0, 60.0) == (60.0, (1.0,)), "clipped to [0, 1]"
    assert forecast_soc(charges, 0.0, 60.0) == (0.0, ()), "no capacity: no forecast"


def test_a_forecast_in_safe_mode_is_all_zero():
    fc = forecast_budget_w(table(), SAFE, 900.0, CAPACITY_WH, 500.0, 500.0, 0.0, eclipse_ahead(10.0, 2000.0))
    assert set(fc) == {0.0} and len(fc) == 96


def test_without_a_tle_the_forecast_predicts_no_sunlight():
    t = table()
    o = EclipseOutlook.unknown(t.eclipse_reserve_s, "no TLE")
    charge = t.battery_soc_floor * CAPACITY_WH + reserve_wh(t, CAPACITY_WH, o.at(0.0))
    fc = forecast_budget_w(t, COMPUTE, charge, CAPACITY_WH, 500.0, 500.0, 0.0, o)
    assert fc[0] == pytest.approx(450.0), "now: the reading's solar surplus"
    assert max(fc[1:]) == 0.0, "later: no sun may be counted on, and the battery is at the reserve"


def sunlit_budget_pattern(t, outlook, solar_mean_w):
    """(forecast, sunlit flags) with the battery at NOMINAL's target now, no heaters."""
    charge = t.battery_soc_floor * CAPACITY_WH + reserve_wh(t, CAPACITY_WH, outlook.at(0.0)) \
        + t.nominal_buffer_soc * CAPACITY_WH
    solar_now = solar_mean_w if outlook.sunlit(0.0) else 0.0
    fc = np.array(forecast_budget_w(t, NOMINAL, charge, CAPACITY_WH, solar_now, solar_mean_w, 0.0, outlook))
    return fc


def test_the_forecast_grants_the_sun_where_the_hand_made_outlook_is_sunlit():
    t = table()
    o = eclipse_ahead(1230.0, 2100.0, 5700.0)
    fc = sunlit_budget_pattern(t, o, 500.0)
    sunlit = np.array([o.sunlit(i * t.forecast_step_s) for i in range(len(fc))])
    half_surplus_w = (500.0 - 50.0) / 2.0
    assert np.array_equal(fc > half_surplus_w, sunlit), \
        f"forecast high/low does not follow the sunlit profile: {np.flatnonzero((fc > half_surplus_w) != sunlit)}"


def test_the_forecast_follows_the_forecasters_sunlit_profile_for_a_550_km_orbit():
    l1, l2 = tle_from_circular(550.0, 53.0, 40.0, 0.0, datetime(2026, 12, 1, tzinfo=UTC))
    view = OrbitView(OrbitTable(l1, l2, "2026-12-01T00:00:00Z", edge_margin_s=30.0))
    t = table()
    t_ns = 4321 * 1_000_000_000
    outlook = view.outlook(t_ns, t.eclipse_reserve_s, t.fallback_period_s)
    fc = sunlit_budget_pattern(t, outlook, 500.0)
    assert len(fc) == math.ceil(view.forecaster.period_s / t.forecast_step_s)
    profile = view.forecaster.sunlit_profile(t_ns, (len(fc) - 1) * t.forecast_step_s, t.forecast_step_s)
    assert len(profile) == len(fc)
    assert 0 < profile.sum() < len(profile), "expected sun and shadow within one orbit"
    half_surplus_w = (500.0 - 50.0) / 2.0
    assert np.array_equal(fc > half_surplus_w, profile), \
        f"forecast points disagree with the sunlit profile at {np.flatnonzero((fc > half_surplus_w) != profile)}"
