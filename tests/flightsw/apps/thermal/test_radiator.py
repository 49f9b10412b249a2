"""The radiator's capacity forecast against the Stefan-Boltzmann law, the on-board sink
estimate, and each board's share of the capacity."""

from __future__ import annotations

import pytest

from flightsw.apps.thermal import radiator as rad
from tests.flightsw.apps.thermal.helpers import MIN_W, readings, run, table

# 14 m^2 at emissivity 0.9 and 65 degC (338.15 K), deep space at 3 K, by hand:
# 338.15^2 = 114345.4225, ^2 = 1.30748756467e10; less 3^4 = 81; times 0.9 * 5.670374419e-8 * 14
# = 7.14467177e-7 W/K^4: 9341.57 W
HAND_RADIATED_AT_65C_W = 9341.57  # [W]
HAND_TOL_W = 0.05  # [W] rounding of the hand figure
FIT_TOL_W = 1.0  # [W] the filtered sink after many time constants


def test_the_radiated_power_matches_the_closed_form_figure():
    assert rad.radiated_w(65.0, 14.0, 0.9) == pytest.approx(HAND_RADIATED_AT_65C_W, abs=HAND_TOL_W)


def test_the_capacity_is_what_the_radiator_rejects_at_its_yellow_limit_less_sink_and_housekeeping():
    cap = rad.capacity_w(65.0, 14.0, 0.9, sink_w=1500.0, housekeeping_w=600.0)
    assert cap == pytest.approx(HAND_RADIATED_AT_65C_W - 1500.0 - 600.0, abs=HAND_TOL_W)


def test_the_capacity_is_never_negative():
    assert rad.capacity_w(-50.0, 1.0, 0.1, sink_w=5000.0, housekeeping_w=600.0) == 0.0


def steady_radiator_c(t, inside_w: float, sink_w: float) -> float:
    """The radiator temperature that rejects inside_w + sink_w (closed form, T^4 solved)."""
    t4 = (inside_w + sink_w) / (t.radiator_emissivity * rad.SIGMA_W_M2_K4 * t.radiator_area_m2)
    return (t4 + rad.SPACE_TEMP_K**4) ** 0.25 - rad.KELVIN_OFFSET


def test_in_a_steady_state_the_sink_estimate_converges_and_the_capacity_matches_the_law():
    t = table(n_boards=8, max_power_w=700.0, min_power_w=200.0)
    true_sink_w, board_w = 1800.0, 700.0
    t_r = steady_radiator_c(t, 8 * board_w + t.housekeeping_w, true_sink_w)
    assert t_r > t.sink_fit_above_c, "the test needs the radiator warm enough to fit"
    outs = run(t, [readings(*(50.0,) * 8, radiator_c=t_r, power_w=(board_w,) * 8)]
               * (10 * t.sink_filter_ticks))
    assert outs[-1].state.sink.sink_w == pytest.approx(true_sink_w, abs=FIT_TOL_W)
    expected = (rad.radiated_w(t.radiator.yellow_hi_c, t.radiator_area_m2, t.radiator_emissivity)
                - true_sink_w - t.housekeeping_w)
    assert outs[-1].caps.radiator_capacity_w == pytest.approx(expected, abs=FIT_TOL_W)


@pytest.mark.parametrize("rate_k_per_s", [0.01, -0.01])
def test_a_radiator_warming_or_cooling_steadily_gives_the_true_sink_once_storage_is_counted(rate_k_per_s):
    """Closed form: T_r(k) = T0 + r k, boards at T_r + 10 K; the heat inside is what the
    radiator emits plus what goes into storage less the true sink, so each sample is exact."""
    t = table(n_boards=8, max_power_w=700.0, min_power_w=200.0)
    true_sink_w, n_ticks = 1500.0, 10 * t.sink_filter_ticks
    c_total = t.radiator_heat_capacity_j_per_k + 8 * t.board_heat_capacity_j_per_k
    seq = []
    for k in range(n_ticks):
        t_r = 45.0 + rate_k_per_s * (k - n_ticks / 2)
        inside_w = (rad.radiated_w(t_r, t.radiator_area_m2, t.radiator_emissivity)
                    + c_total * rate_k_per_s - true_sink_w)
        board_w = (inside_w - t.housekeeping_w) / 8
        seq.append(readings(*(t_r + 10.0,) * 8, radiator_c=t_r, power_w=(board_w,) * 8))
    outs = run(t, seq)
    assert outs[-1].state.sink.sink_w == pytest.approx(true_sink_w, abs=FIT_TOL_W), \
        "the heat going into (or out of) storage was not counted"


def test_below_the_fit_temperature_the_sink_estimate_keeps_its_prior():
    t = table(n_boards=2, sink_w=700.0)
    outs = run(t, [readings(20.0, 20.0, radiator_c=t.sink_fit_above_c - 5.0)] * 50)
    assert outs[-1].state.sink.sink_w == 700.0


def test_each_board_gets_an_even_share_of_the_capacity_as_its_cap():
    t = table(n_boards=4, max_power_w=5000.0, min_power_w=MIN_W, sink_fit_above_c=200.0)
    (out,) = run(t, [readings(40.0, 40.0, 40.0, 40.0)])
    share = out.caps.radiator_capacity_w / 4
    assert share < t.max_power_w, "the test needs the share to bind"
    assert out.caps.cap_w == pytest.approx((share,) * 4)


def test_a_shut_down_boards_share_goes_to_the_others():
    t = table(n_boards=4, max_power_w=5000.0, min_power_w=MIN_W, sink_fit_above_c=200.0)
    outs = run(t, [readings(40.0, 40.0, 40.0, t.limit_c + 1.0)] * 3)
    share = outs[-1].caps.radiator_capacity_w / 3
    assert outs[-1].caps.cap_w == pytest.approx((share, share, share, 0.0))


def test_a_share_below_min_power_is_raised_to_min_power():
    t = table(n_boards=4, max_power_w=5000.0, min_power_w=1000.0, sink_w=8500.0,
              sink_fit_above_c=200.0)
    (out,) = run(t, [readings(40.0, 40.0, 40.0, 40.0)])
    assert out.caps.radiator_capacity_w / 4 < 1000.0
    assert out.caps.cap_w == (1000.0,) * 4


# -- the thermal budget: a setpoint controller on the radiator model ---------------------------

BUDGET_AT_C, BUDGET_TAU_S = 82.0, 1800.0


def budget_table(**kw):
    """Eight 700 W boards with the conductances known, the budget held at BUDGET_AT_C.
    The sink is not fitted (fit temperature out of reach): it stays at the prior."""
    fields = dict(n_boards=8, max_power_w=700.0, min_power_w=200.0, sink_w=300.0, sink_fit_above_c=200.0,
                  radiator_area_m2=3.0, housekeeping_w=300.0,
                  board_to_plate_w_per_k=100.0, plate_to_radiator_w_per_k=400.0, boards_per_plate=4,
                  budget_at_c=BUDGET_AT_C, budget_tau_s=BUDGET_TAU_S)
    fields.update(kw)
    return table(**fields)


def held_capacity_w(t, boards_c: float) -> float:
    drop = 1.0 / (t.n_boards * t.board_to_plate_w_per_k) + 1.0 / (t.n_plates * t.plate_to_radiator_w_per_k)
    return rad.capacity_at_boards_w(boards_c, t.radiator_area_m2, t.radiator_emissivity, t.sink_w,
                                    t.housekeeping_w, drop, t.n_boards * t.max_power_w)


def test_at_the_setpoint_the_budget_is_the_capacity_with_the_boards_held_there():
    t = budget_table()
    (out,) = run(t, [readings(*(BUDGET_AT_C,) * 8)])
    assert out.caps.radiator_capacity_w == pytest.approx(held_capacity_w(t, BUDGET_AT_C), rel=1e-9)
    assert held_capacity_w(t, BUDGET_AT_C) > held_capacity_w(t, t.board.yellow_hi_c), \
        "held hotter than the yellow limit, the radiator rejects more"


@pytest.mark.parametrize("hottest_c", [40.0, 70.0, 84.0])
def test_below_the_setpoint_the_stored_heat_is_spent_above_it_shed_over_tau(hottest_c):
    t = budget_table()
    (out,) = run(t, [readings(*(30.0,) * 7, hottest_c)])
    store_j_per_k = t.radiator_heat_capacity_j_per_k + 8 * t.board_heat_capacity_j_per_k
    expected = held_capacity_w(t, BUDGET_AT_C) + store_j_per_k * (BUDGET_AT_C - hottest_c) / BUDGET_TAU_S
    assert out.caps.radiator_capacity_w == pytest.approx(max(expected, t.min_power_w), rel=1e-9)


def test_a_board_shut_down_hot_does_not_set_the_budget_and_the_budget_never_falls_below_one_board():
    t = budget_table()
    outs = run(t, [readings(*(60.0,) * 7, t.limit_c + 1.0)] * 3)  # board 7 red: shut down
    assert outs[-1].caps.shutdown[7] == 1
    store_j_per_k = t.radiator_heat_capacity_j_per_k + 8 * t.board_heat_capacity_j_per_k
    assert outs[-1].caps.radiator_capacity_w == pytest.approx(
        held_capacity_w(t, BUDGET_AT_C) + store_j_per_k * (BUDGET_AT_C - 60.0) / BUDGET_TAU_S, rel=1e-9)
    (hot,) = run(budget_table(sink_w=1.0e5), [readings(*(84.0,) * 8)])
    assert hot.caps.radiator_capacity_w == t.min_power_w


def test_with_no_setpoint_the_budget_is_the_capacity_forecast_and_the_boards_share_it():
    without = budget_table(budget_at_c=0.0, budget_tau_s=0.0, sink_w=0.0)
    (b,) = run(without, [readings(*(50.0,) * 8)])
    forecast_w = held_capacity_w(without, without.board.yellow_hi_c)
    assert without.min_power_w < forecast_w / 8 < without.max_power_w, "the test needs the share to bind"
    assert b.caps.radiator_capacity_w == pytest.approx(forecast_w)
    assert b.caps.cap_w == pytest.approx((forecast_w / 8,) * 8)


def test_with_a_setpoint_cold_boards_share_the_budget_and_may_run_hard_until_they_near_it():
    t = budget_table()
    (cold,) = run(t, [readings(*(30.0,) * 8)])
    assert cold.caps.radiator_capacity_w > held_capacity_w(t, BUDGET_AT_C), "the stored heat counted"
    assert cold.caps.cap_w == pytest.approx((min(t.max_power_w, cold.caps.radiator_capacity_w / 8),) * 8)
    (near,) = run(t, [readings(*(BUDGET_AT_C - 0.5,) * 8)])
    assert near.caps.cap_w == pytest.approx((near.caps.radiator_capacity_w / 8,) * 8)
    assert sum(near.caps.cap_w) < sum(cold.caps.cap_w), "near the setpoint the boards are held back"
