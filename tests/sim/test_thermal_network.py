import math

import numpy as np
import pytest

from sim.constants import KELVIN_OFFSET, SIGMA_W_M2_K4, SPACE_TEMP_K
from sim.heaters import HeaterParams, heater_power_w, step_thermostats
from sim.thermal_network import ThermalNetwork, ThermalNetworkParams, ThermalNetworkState

STEADY_STATE_TOLERANCE_K = 1e-6  # one backward-Euler step of 1e15 s is the steady state
SETTLED_TOLERANCE_K = 1e-3  # after ~19 slowest time constants of 1 s steps
ENERGY_BALANCE_RELATIVE_TOLERANCE = 1e-9  # of the gross heat through the network in a step
RC_EXACT_TOLERANCE_K = 1e-9  # backward Euler's own recurrence, evaluated in closed form
MONOTONE_TOLERANCE_K = 1e-9  # a step may "fall" by round-off only
HEATER_UNDERSHOOT_K = 0.1  # one 1 s step of cooling below the set point (~0.004 K here)

HAND = ThermalNetworkParams(
    n_boards=8, radiator_area_m2=(10.0, 2.0), radiator_of_plate=(0, 1), battery_radiator=1,
    board_to_plate_w_per_k=100.0, plate_to_radiator_w_per_k=400.0,
    battery_to_radiator_w_per_k=20.0,
)
HAND_BOARD_W = np.array([100.0, 200.0, 300.0, 400.0, 50.0, 60.0, 70.0, 80.0])
HAND_HEATER_W = np.array([30.0, 0.0, 15.0])  # plate 0, plate 1, battery
HAND_ABSORBED_W = np.array([500.0, 40.0])
HAND_EPS = np.array([0.9, 0.8])
HAND_BATTERY_HEAT_W = 25.0


def _sb_temp_c(heat_w: float, eps: float, area_m2: float) -> float:
    """Radiator temperature radiating ``heat_w`` to deep space (Stefan-Boltzmann), by hand."""
    return (heat_w / (eps * SIGMA_W_M2_K4 * area_m2) + SPACE_TEMP_K**4) ** 0.25 - KELVIN_OFFSET


def test_radiator_steady_state_radiates_what_it_receives_by_stefan_boltzmann() -> None:
    p = ThermalNetworkParams(n_boards=16, radiator_area_m2=14.0)
    net = ThermalNetwork(p)
    s = net.step(net.initial_state(20.0), np.full(16, 700.0), 0.0, 300.0, 0.9, 1e15)
    expected_c = _sb_temp_c(16 * 700.0 + 300.0, 0.9, 14.0)
    got_c = float(s.radiator_temp_c[0])
    assert abs(got_c - expected_c) < STEADY_STATE_TOLERANCE_K, (
        f"radiator settled at {got_c} degC, Stefan-Boltzmann gives {expected_c} degC"
    )


def test_steady_state_matches_the_hand_solved_resistor_network() -> None:
    net = ThermalNetwork(HAND)
    s = net.step(net.initial_state(0.0), HAND_BOARD_W, HAND_HEATER_W, HAND_ABSORBED_W,
                 HAND_EPS, 1e15, battery_heat_w=HAND_BATTERY_HEAT_W)
    # radiator 0 takes plate 0 (boards 0-3, heater 30 W) and 500 W absorbed
    rad0_c = _sb_temp_c(1000.0 + 30.0 + 500.0, 0.9, 10.0)
    # radiator 1 takes plate 1 (boards 4-7), the battery (25 W losses + 15 W heater), 40 W
    rad1_c = _sb_temp_c(260.0 + 25.0 + 15.0 + 40.0, 0.8, 2.0)
    plate_c = np.array([rad0_c + 1030.0 / 400.0, rad1_c + 260.0 / 400.0])
    board_c = np.repeat(plate_c, 4) + HAND_BOARD_W / 100.0
    battery_c = rad1_c + 40.0 / 20.0
    expected = {"radiators": ([rad0_c, rad1_c], s.radiator_temp_c), "plates": (plate_c, s.plate_temp_c),
                "boards": (board_c, s.board_temp_c), "battery": ([battery_c], [s.battery_temp_c])}
    for name, (want, got) in expected.items():
        assert np.all(np.abs(np.asarray(got) - want) < STEADY_STATE_TOLERANCE_K), (
            f"{name} at {got} degC, the resistor network gives {want} degC"
        )


def test_one_second_steps_settle_on_the_same_steady_state() -> None:
    # light nodes: the slowest time constant, sum C / (4 eps sigma A T^3), is about 120 s
    p = ThermalNetworkParams(n_boards=16, radiator_area_m2=14.0,
                             board_heat_capacity_j_per_k=600.0, plate_heat_capacity_j_per_k=500.0,
                             radiator_heat_capacity_j_per_k=2.0e3,
                             battery_heat_capacity_j_per_k=500.0)
    net = ThermalNetwork(p)
    args = (np.linspace(100.0, 700.0, 16), 0.0, 300.0, 0.9)
    target = net.step(net.initial_state(20.0), *args, 1e15)
    s = net.initial_state(20.0)
    for _ in range(3000):
        s = net.step(s, *args, 1.0)
    err_k = np.abs(s.board_temp_c - target.board_temp_c).max()
    assert err_k < SETTLED_TOLERANCE_K, f"1 s steps settled {err_k} K away from the steady state"


@pytest.mark.parametrize("dt_s", [1.0, 60.0, 3600.0])
def test_each_step_stores_the_heat_in_minus_the_heat_radiated_at_its_end(dt_s: float) -> None:
    net = ThermalNetwork(HAND)
    s0 = ThermalNetworkState(np.linspace(10.0, 60.0, 8), np.array([5.0, 30.0]),
                             np.array([-20.0, 45.0]), 15.0)
    s1 = net.step(s0, HAND_BOARD_W, HAND_HEATER_W, HAND_ABSORBED_W, HAND_EPS, dt_s,
                  battery_heat_w=HAND_BATTERY_HEAT_W)
    heat_in_w = (HAND_BOARD_W.sum() + HAND_HEATER_W.sum() + HAND_ABSORBED_W.sum()
                 + HAND_BATTERY_HEAT_W)
    radiated_w = net.radiated_w(s1, HAND_EPS).sum()
    stored_j = net.stored_energy_j(s1) - net.stored_energy_j(s0)
    expected_j = (heat_in_w - radiated_w) * dt_s
    gross_j = (heat_in_w + abs(radiated_w)) * dt_s
    assert abs(stored_j - expected_j) <= ENERGY_BALANCE_RELATIVE_TOLERANCE * gross_j, (
        f"stored {stored_j} J in {dt_s} s, the energy balance says {expected_j} J"
    )


def test_stiff_network_at_one_second_steps_warms_monotonically_without_overshoot() -> None:
    stiff = ThermalNetworkParams(
        n_boards=16, radiator_area_m2=14.0, board_heat_capacity_j_per_k=0.1,
        board_to_plate_w_per_k=1e4, plate_heat_capacity_j_per_k=1.0,
        plate_to_radiator_w_per_k=1e5, radiator_heat_capacity_j_per_k=10.0,
        battery_heat_capacity_j_per_k=0.5, battery_to_radiator_w_per_k=1e3,
    )
    dt_s = 1.0
    fastest_time_constant_s = stiff.board_heat_capacity_j_per_k / stiff.board_to_plate_w_per_k
    assert fastest_time_constant_s < 1e-4 * dt_s, "the case must be stiff to test stability"
    net = ThermalNetwork(stiff)
    s = net.initial_state(20.0)
    rad_c = _sb_temp_c(16 * 700.0 + 500.0, 0.9, 14.0)
    steady_board_c = rad_c + 4 * 700.0 / 1e5 + 700.0 / 1e4
    previous_c = s.board_temp_c
    for _ in range(300):
        s = net.step(s, np.full(16, 700.0), 0.0, 500.0, 0.9, dt_s)
        assert np.all(np.isfinite(s.board_temp_c)), "a stiff step produced a non-finite value"
        assert np.all(s.board_temp_c >= previous_c - MONOTONE_TOLERANCE_K), (
            "boards warming from cold fell back: the stiff step oscillates"
        )
        assert np.all(s.board_temp_c <= steady_board_c + STEADY_STATE_TOLERANCE_K), (
            f"boards overshot the steady state {steady_board_c} degC: {s.board_temp_c.max()}"
        )
        previous_c = s.board_temp_c
    assert np.all(np.abs(s.board_temp_c - steady_board_c) < SETTLED_TOLERANCE_K), (
        f"stiff boards ended at {s.board_temp_c.max()} degC, not {steady_board_c} degC"
    )


def test_a_board_approaches_its_plate_along_the_rc_exponential() -> None:
    p = ThermalNetworkParams(n_boards=1, boards_per_plate=1, radiator_area_m2=1.0,
                             plate_heat_capacity_j_per_k=1e15)
    net = ThermalNetwork(p)
    tau_s, dt_s = p.board_heat_capacity_j_per_k / p.board_to_plate_w_per_k, 1.0
    s = ThermalNetworkState(np.array([30.0]), np.array([20.0]), np.array([20.0]), 20.0)
    for n in range(1, 301):
        s = net.step(s, np.zeros(1), 0.0, 0.0, 0.0, dt_s)
        excess_k = float(s.board_temp_c[0]) - 20.0
        discrete_k = 10.0 * (1.0 + dt_s / tau_s) ** (-n)
        assert abs(excess_k - discrete_k) < RC_EXACT_TOLERANCE_K, (
            f"step {n}: backward Euler recurrence gives {discrete_k} K, step gave {excess_k} K"
        )
        exact_k = 10.0 * math.exp(-n * dt_s / tau_s)
        assert abs(excess_k - exact_k) < 10.0 * dt_s / (2.0 * tau_s), (
            f"step {n}: {excess_k} K is outside the first-order error bound of {exact_k} K"
        )


def test_heaters_hold_cold_plates_and_the_battery_above_their_set_points() -> None:
    cold = ThermalNetworkParams(n_boards=8, radiator_area_m2=2.0,
                                radiator_heat_capacity_j_per_k=2.0e4,
                                battery_heat_capacity_j_per_k=5.0e3,
                                battery_to_radiator_w_per_k=2.0)
    net = ThermalNetwork(cold)
    heaters = HeaterParams.make(3, on_below_c=[-10.0, -10.0, 5.0], off_above_c=[-5.0, -5.0, 10.0],
                                power_w=[300.0, 300.0, 100.0])

    def coldest_c(with_heaters: bool) -> tuple[np.ndarray, float]:
        s, on = net.initial_state(20.0), np.zeros(3, bool)
        lowest = np.full(3, np.inf)
        energy_j = 0.0
        for _ in range(2 * 3600):  # the heaters first switch on after about 1 h
            on = step_thermostats(on, net.heater_sensed_temp_c(s), heaters) & with_heaters
            h_w = heater_power_w(on, heaters)
            energy_j += h_w.sum()
            s = net.step(s, np.zeros(8), h_w, 0.0, 0.9, 1.0)
            lowest = np.minimum(lowest, net.heater_sensed_temp_c(s))
        return lowest, energy_j

    unheated_c, _ = coldest_c(False)
    assert np.all(unheated_c < heaters.on_below_c), (
        f"without heaters the nodes only fell to {unheated_c}: the case is not cold enough"
    )
    heated_c, heater_j = coldest_c(True)
    assert np.all(heated_c >= heaters.on_below_c - HEATER_UNDERSHOOT_K), (
        f"heated nodes fell to {heated_c} degC, below their set points {heaters.on_below_c}"
    )
    assert heater_j > 0.0, "the heaters drew no power from the bus"


@pytest.mark.parametrize("n_boards", [16, 64, 1024])
def test_one_step_keeps_one_temperature_per_node_for_any_number_of_boards(n_boards: int) -> None:
    # Shape check only: the per-step cost is measured outside the tests (DESIGN.md: bench/).
    net = ThermalNetwork(ThermalNetworkParams(n_boards=n_boards, radiator_area_m2=(14.0, 0.6),
                                              battery_radiator=1))
    n_plates = n_boards // 4
    s = net.step(net.initial_state(20.0), np.full(n_boards, 500.0), np.zeros(n_plates + 1),
                 np.array([800.0, 40.0]), np.array([0.9, 0.85]), 1.0)
    shapes = (s.board_temp_c.shape, s.plate_temp_c.shape, s.radiator_temp_c.shape)
    assert shapes == ((n_boards,), (n_plates,), (2,)), f"node shapes are {shapes}"
    assert isinstance(s.battery_temp_c, float), "the battery temperature must be a float"
    assert net.heater_sensed_temp_c(s).shape == (n_plates + 1,), "one heater per plate + battery"


def test_boards_fill_plates_four_at_a_time_with_a_partial_last_plate() -> None:
    net = ThermalNetwork(ThermalNetworkParams(n_boards=10, radiator_area_m2=5.0))
    assert net.params.n_plates == 3, f"10 boards gave {net.params.n_plates} plates"
    assert net.plate_of_board.tolist() == [0, 0, 0, 0, 1, 1, 1, 1, 2, 2], "wrong plate grouping"


def test_a_step_leaves_its_inputs_alone() -> None:
    net = ThermalNetwork(HAND)
    s0 = net.initial_state(25.0)
    board_w = HAND_BOARD_W.copy()
    net.step(s0, board_w, HAND_HEATER_W, HAND_ABSORBED_W, HAND_EPS, 1.0)
    assert np.all(s0.board_temp_c == 25.0) and np.all(board_w == HAND_BOARD_W), (
        "ThermalNetwork.step modified its inputs"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"n_boards": 0}, "n_boards"),
        ({"radiator_area_m2": (14.0, 0.0)}, "radiator_area_m2"),
        ({"radiator_heat_capacity_j_per_k": (1.0, 2.0, 3.0)}, "radiator_heat_capacity_j_per_k"),
        ({"radiator_of_plate": (0, 0, 0, 2)}, "radiator_of_plate"),
        ({"battery_radiator": 2}, "battery_radiator"),
        ({"board_to_plate_w_per_k": -1.0}, "board_to_plate_w_per_k"),
    ],
)
def test_impossible_networks_are_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        ThermalNetworkParams(**({"n_boards": 16, "radiator_area_m2": (14.0, 0.6)} | kwargs))


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"board_power_w": np.zeros(7)}, "board_power_w"),
        ({"heater_w": np.zeros(2)}, "heater_w"),
        ({"absorbed_w": np.zeros(3)}, "absorbed_w"),
        ({"eps": np.array([0.9, 1.2])}, "eps"),
        ({"dt_s": 0.0}, "dt_s"),
    ],
)
def test_bad_step_inputs_are_refused_naming_them(kwargs: dict, field: str) -> None:
    net = ThermalNetwork(HAND)
    args = {"board_power_w": HAND_BOARD_W, "heater_w": HAND_HEATER_W,
            "absorbed_w": HAND_ABSORBED_W, "eps": HAND_EPS, "dt_s": 1.0} | kwargs
    with pytest.raises(ValueError, match=field):
        net.step(net.initial_state(20.0), **args)
