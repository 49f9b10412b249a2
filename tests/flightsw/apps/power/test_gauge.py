"""The gauge's cross-check against the bus flow (flightsw/apps/power/gauge.py), the core
acting on its verdict, and the shell keeping its interval across a restart."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.power.core import PowerInputs, PowerState, gauge_table, step
from flightsw.apps.power.gauge import GaugeState, judge
from flightsw.apps.power.shell import PowerApp
from flightsw.icd.messages import PowerBudget, PowerSensors
from tests.flightsw.apps.power.power_builders import NO_ECLIPSE, S, msg, table

CAP_WH = 1000.0
T = table(max_charge_w=500.0, housekeeping_w=50.0, max_discharge_w=800.0)
G = gauge_table(T)
TOL_WH = T.gauge_tolerance_soc * CAP_WH
DRAIN_WH_PER_S = 200.0 / T.discharge_efficiency / 3600.0  # a 200 W load in eclipse


def reading(charge_wh: float, solar_w: float = 0.0, load_w: float = 200.0) -> PowerSensors:
    return PowerSensors(solar_power_w=solar_w, battery_charge_wh=charge_wh, battery_capacity_wh=CAP_WH,
                        battery_soc=min(1.0, charge_wh / CAP_WH), load_w=load_w,
                        sunlit_fraction=1.0 if solar_w else 0.0)


def feed(gauge_wh, *, solar_w: float = 0.0, load_w: float = 200.0, granted_w: float = 0.0,
         state: GaugeState | None = None, t0_s: int = 0):
    """Judge one reading a second for each gauge value -> (state, verdicts)."""
    s = GaugeState() if state is None else state
    out = []
    for k, g in enumerate(gauge_wh):
        s, v = judge(s, G, (t0_s + k) * S, g, CAP_WH, solar_w, load_w, granted_w)
        out.append(v)
    return s, out


def draining(start_wh: float, n: int) -> list[float]:
    return [start_wh - DRAIN_WH_PER_S * k for k in range(n)]


def test_the_first_reading_is_taken_as_it_is():
    _, (v,) = feed([900.0])
    assert (v.verdict, v.charge_wh) == ("ok", 900.0)
    assert (v.lo_wh, v.hi_wh) == pytest.approx((900.0 - TOL_WH, min(CAP_WH, 900.0 + TOL_WH)))


def test_a_gauge_that_follows_the_flow_is_believed_all_along():
    _, vs = feed(draining(800.0, 3000))
    assert {v.verdict for v in vs} == {"ok"}
    assert vs[-1].charge_wh == pytest.approx(800.0 - DRAIN_WH_PER_S * 2999)


def test_a_gauge_that_jumps_high_is_not_used_and_the_charge_follows_the_flow_at_its_worst():
    truth = draining(600.0, 200)
    gauge = truth[:100] + [CAP_WH] * 100  # saturated from the 100th second
    _, vs = feed(gauge)
    assert [v.verdict for v in vs[99:101]] == ["ok", "high"]
    assert all(v.verdict == "high" for v in vs[100:])
    for k in range(100, 200):  # the least the flow allows: at or below the truth, and near it
        assert truth[k] - TOL_WH - 5.0 <= vs[k].charge_wh <= truth[k], k


def test_a_gauge_that_comes_back_is_believed_once_it_has_tracked_the_flow_past_the_tolerance():
    truth = draining(600.0, 1200)
    gauge = truth[:100] + [CAP_WH] * 100 + truth[200:]
    _, vs = feed(gauge)
    back = next(k for k in range(200, 1200) if vs[k].verdict == "ok")
    # on probation from tick 200 until the flow has moved the charge by more than the
    # tolerance, and the gauge with it
    assert vs[150].verdict == "high" and all(v.verdict == "high" for v in vs[200:back])
    assert back == pytest.approx(200 + TOL_WH / DRAIN_WH_PER_S, abs=40)
    assert all(v.charge_wh <= truth[k] + 1e-6 for k, v in enumerate(vs[:back]) if v.verdict == "high")
    assert vs[-1].charge_wh == truth[-1]


def test_a_saturated_gauge_is_not_believed_again_when_the_flows_top_reaches_full():
    """The flow's top climbs to the capacity in sunlight while the gauge stays pinned at
    full: within the interval, but it tracks nothing, so it stays rejected; in the
    eclipse after, the battery drains and the pinned gauge never follows."""
    s, _ = feed([600.0] * 5, solar_w=400.0, load_w=200.0)
    truth, t = 600.0, 5
    gain = 200.0 * T.charge_efficiency / 3600.0
    for k in range(6000):  # sunlight: the truth climbs toward full, the gauge reads full
        truth = min(CAP_WH, truth + gain)
        s, v = judge(s, G, (t + k) * S, CAP_WH, CAP_WH, 400.0, 200.0, 200.0)
        assert v.verdict == "high" and v.charge_wh <= truth + 1e-6, (k, truth, v)
    assert s.hi_wh == CAP_WH, "the flow's top has reached full: the pinned gauge is within the interval"
    t += 6000
    for k in range(3000):  # eclipse: the truth drains; the gauge stays at full
        truth -= DRAIN_WH_PER_S
        s, v = judge(s, G, (t + k) * S, CAP_WH, CAP_WH, 0.0, 200.0, 200.0)
        assert v.verdict == "high" and v.charge_wh <= truth + TOL_WH, (k, truth, v)


def test_a_reading_without_a_capacity_changes_nothing():
    s, _ = feed([800.0, 800.0])
    s2, v = judge(s, G, 2 * S, 0.0, 0.0, 0.0, 200.0, 200.0)
    assert s2 == s and v.charge_wh == 0.0
    _, v3 = judge(s2, G, 3 * S, 800.0, CAP_WH, 0.0, 0.0, 0.0)
    assert v3.verdict == "ok"


def test_a_clock_gone_backwards_widens_to_the_whole_battery_and_keeps_a_high_verdict():
    s, _ = feed([500.0] * 3 + [CAP_WH])
    assert s.verdict == "high"
    s2, v = judge(s, G, 1 * S, CAP_WH, CAP_WH, 0.0, 200.0, 200.0)
    assert (v.lo_wh, v.hi_wh) == (0.0, CAP_WH) and v.verdict == "high", "still on probation"


def test_a_gauge_stuck_while_the_battery_drains_is_caught_once_it_strays_past_twice_the_tolerance():
    truth = draining(700.0, 2000)
    gauge = truth[:10] + [truth[10]] * 1990  # stuck from the 10th second
    _, vs = feed(gauge)
    first_high = next(k for k, v in enumerate(vs) if v.verdict == "high")
    # the interval's top was the stuck value + tol, and falls at the least drain the flow
    # allows; the gauge is rejected once it is more than tol above it
    least_drain_wh_per_s = (200.0 * (1 - G.flow_uncertainty_rel) - G.flow_uncertainty_w) / T.discharge_efficiency / 3600
    assert first_high == pytest.approx(10 + 2 * TOL_WH / least_drain_wh_per_s, abs=2)
    # while it was believed, the stuck gauge held the interval's bottom at (stuck - tol); the
    # truth fell faster than the least drain the flow allows: the charge acted on is above
    # the truth by the tolerance plus what the flow's uncertainty hid, under 2 tol here
    over = [v.charge_wh - truth[k] for k, v in enumerate(vs) if v.verdict == "high"]
    assert 0.0 < max(over) <= 2 * TOL_WH and over[-1] < over[0], "the worst-case drain closes the gap"


def test_a_gauge_reading_below_the_flow_is_the_conservative_one_and_is_acted_on():
    _, vs = feed([800.0] * 10 + [300.0] * 10, load_w=50.0)
    assert vs[10].verdict == "low" and vs[10].charge_wh == 300.0
    assert vs[11].verdict == "ok", "the interval is taken from the low reading"


def test_a_stuck_load_reading_does_not_hide_the_drain_of_the_budget_granted():
    """The pessimistic bound counts at least the platform and the budget granted."""
    truth = draining(600.0, 10)  # 200 W
    s, _ = feed(truth, load_w=200.0)
    # the load channel sticks at 200 W while the budget grants the payload 600 W more:
    # the true drain is 800 W; the gauge saturates at the same moment
    s, vs = feed([CAP_WH] * 600, load_w=200.0, granted_w=800.0, state=s, t0_s=10)
    true_end = truth[-1] - 800.0 / T.discharge_efficiency / 3600.0 * 600
    assert vs[-1].verdict == "high" and vs[-1].charge_wh <= true_end + 1e-6


def test_a_gap_widens_the_interval_by_the_battery_limits_not_the_flow():
    _, (v,) = feed([500.0], state=feed([500.0])[0], t0_s=60)  # 60 s later (a restart)
    down = T.max_discharge_w / T.discharge_efficiency * 60 / 3600
    up = T.max_charge_w * T.charge_efficiency * 60 / 3600
    assert v.verdict == "ok"
    # the interval after one reading of 500 Wh is 500 +- tol; the gauge may stray tol beyond it
    _, (v2,) = feed([500.0 + 2 * TOL_WH + up + 1.0], state=feed([500.0])[0], t0_s=60)
    assert v2.verdict == "high" and v2.charge_wh == pytest.approx(500.0 - TOL_WH - down)
    _, (v3,) = feed([500.0 + 2 * TOL_WH + up - 1.0], state=feed([500.0])[0], t0_s=60)
    assert v3.verdict == "ok"


def test_a_capacity_that_shrinks_scales_the_interval_with_it():
    s, _ = feed([800.0])
    s2, v = judge(s, G, 1 * S, 400.0, CAP_WH / 2, 0.0, 0.0, 0.0)
    assert v.verdict == "ok" and s2.hi_wh <= CAP_WH / 2


def test_without_the_readings_time_the_gauge_is_taken_as_it_is():
    s, _ = feed([300.0])
    _, v = judge(s, G, None, 900.0, CAP_WH, 0.0, 0.0, 0.0)
    assert (v.verdict, v.charge_wh) == ("ok", 900.0)


@settings(max_examples=200, deadline=None)
@given(start=st.floats(0.0, CAP_WH), steps=st.lists(
    st.tuples(st.floats(0.0, 900.0), st.floats(50.0, 900.0), st.floats(-1.0, 1.0), st.floats(-1.0, 1.0),
              st.floats(-1.0, 1.0)), min_size=1, max_size=200))
def test_honest_sensors_are_never_rejected_and_the_truth_stays_within_the_bounds(start, steps):
    """Sound: a battery moved by the flow the sensors report (within their uncertainty),
    read by a gauge within its tolerance, is never judged high, and the truth is always
    within [lo, hi]."""
    s, truth = GaugeState(), start
    for k, (solar_w, load_w, e_solar, e_load, e_gauge) in enumerate(steps):
        if k:  # the battery moves by the true flow over the second before this reading
            true_net = solar_w * (1 + 0.04 * e_solar) - load_w * (1 + 0.04 * e_load)
            truth = min(CAP_WH, max(0.0, truth + (
                min(true_net, T.max_charge_w) * T.charge_efficiency if true_net >= 0
                else max(true_net, -T.max_discharge_w) / T.discharge_efficiency) / 3600.0))
        gauge = min(CAP_WH, max(0.0, truth + 0.9 * TOL_WH * e_gauge))
        s, v = judge(s, G, k * S, gauge, CAP_WH, solar_w, load_w, load_w)
        assert v.verdict != "high", (k, truth, gauge, v)
        assert v.lo_wh - 1e-6 <= truth <= v.hi_wh + 1e-6, (k, truth, v)


def test_the_core_acts_on_the_flow_when_the_gauge_reads_high_and_says_so():
    state = PowerState()
    for k in range(5):
        state, budget, _ = step(state, T, PowerInputs(reading(400.0 - k * 0.05), NO_ECLIPSE, t_ns=k * S))
    state, budget, notes = step(state, T, PowerInputs(reading(CAP_WH), NO_ECLIPSE, t_ns=5 * S))
    (note,) = [n for n in notes if n.name == "power.gauge"]
    assert note.text.startswith("high: gauge 1000.0 Wh")
    assert budget.battery_charge_wh < 400.0 and budget.battery_soc < 0.4
    assert state.gauge.rejected == 1


def test_a_restarted_power_manager_remembers_the_interval_and_rejects_a_saturated_gauge(tmp_path):
    app = PowerApp(T, tmp_path)
    for k in range(1, 12):
        app.step(k, k * S, [msg(reading(500.0 - k * 0.05), tick=k - 1)])
    app.close()
    again = PowerApp(T, tmp_path)  # as the supervisor restarts it: the store is all it has
    outs = [o.body for o in again.step(14, 14 * S, [msg(reading(CAP_WH), tick=13)])]
    (budget,) = [b for b in outs if isinstance(b, PowerBudget)]
    assert again.state.gauge.verdict == "high" and budget.battery_charge_wh < 500.0
    assert again.final_report()["gauge_rejected"] == 1
    again.close()
    assert (tmp_path / "power-gauge.sqlite").exists()
    fresh = PowerApp(T, tmp_path / "first-boot")  # nothing stored: the gauge is taken as it is
    fresh.step(1, S, [msg(reading(CAP_WH))])
    assert fresh.state.gauge.verdict == "ok"
    fresh.close()


def test_a_stored_interval_without_a_capacity_is_no_interval():
    from flightsw.apps.power.shell import _restore_gauge

    assert _restore_gauge({"gauge_lo_mwh": 0, "gauge_hi_mwh": 0, "gauge_capacity_mwh": 0}) == GaugeState()
    got = _restore_gauge({"gauge_lo_mwh": 400_000, "gauge_hi_mwh": 460_000, "gauge_capacity_mwh": 1_000_000,
                          "gauge_t_ms": 5000, "gauge_verdict": 2, "gauge_rejected": 3})
    assert (got.lo_wh, got.hi_wh, got.t_ns, got.verdict, got.rejected) == (400.0, 460.0, 5 * S, "high", 3)


@settings(max_examples=150, deadline=None)
@given(start=st.floats(100.0, 900.0), bias=st.floats(3.0, 20.0), onset=st.integers(1, 100),
       steps=st.lists(st.tuples(st.floats(0.0, 300.0), st.floats(50.0, 300.0)), min_size=1, max_size=60),
       hold=st.integers(1, 600))
def test_a_gauge_biased_high_is_never_acted_on_above_the_truth_by_more_than_the_tolerance(
        start, bias, onset, steps, hold):
    """Honest flow sensors; from ``onset`` the gauge reads ``bias`` tolerances high (clipped
    at full, as the interface clips it): whatever the flow does, the charge the power
    manager acts on is never more than the tolerance above the truth (it may be lower).

    Within the flow's own uncertainty: with only the flow to go by, the interval widens at
    2 x (5 % of the powers + 20 W) a second, and a bias that tracks the flow is the truth
    to any check once the interval has widened past it. Here (powers up to 300 W, at most
    2,000 readings) it widens by at most 55 Wh, under the 60 Wh between a bias of three
    tolerances and the one tolerance allowed. (The gauge pinned at full through a long
    sunlit arc, which the logic before the probation rule believed again, is the test
    above: this property holds on that logic within 2,000 readings.)"""
    s, truth, k = GaugeState(), start, 0
    flows = [f for f in steps for _ in range(hold)]  # each flow held for a while
    for solar_w, load_w in flows[:2000]:
        if k:
            net = solar_w - load_w
            truth = min(CAP_WH, max(0.0, truth + (min(net, T.max_charge_w) * T.charge_efficiency if net >= 0
                                                  else max(net, -T.max_discharge_w) / T.discharge_efficiency) / 3600))
        gauge = truth if k < onset else min(CAP_WH, truth + bias * TOL_WH)
        s, v = judge(s, G, k * S, gauge, CAP_WH, solar_w, load_w, load_w)
        assert v.charge_wh <= truth + TOL_WH + 1e-6, (k, truth, gauge, v)
        k += 1
