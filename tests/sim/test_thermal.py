import numpy as np
import pytest

from sim.constants import KELVIN_OFFSET, SIGMA_W_M2_K4, SPACE_TEMP_K
from sim.thermal import ThermalParams, steady_state_radiator_temp_c, step_thermal

STEADY_STATE_TOLERANCE_K = 0.5
ENERGY_BALANCE_RELATIVE_TOLERANCE = 1e-3  # 0.1 % of the net heat into the network
N_BOARDS = 16
PARAMS = ThermalParams(radiator_area_m2=10.0, radiator_emissivity=0.9, radiator_absorbed_w=150.0)
BOARD_POWER_W = np.linspace(100.0, 400.0, N_BOARDS)


def _integrate(
    board_c: np.ndarray, radiator_c: float, duration_s: float, dt_s: float, p: ThermalParams
) -> tuple[np.ndarray, float]:
    for _ in range(int(duration_s / dt_s)):
        board_c, radiator_c = step_thermal(board_c, radiator_c, BOARD_POWER_W, dt_s, p)
    return board_c, radiator_c


def _stored_j(board_c: np.ndarray, radiator_c: float, p: ThermalParams) -> float:
    return (
        p.board_heat_capacity_j_per_k * float(np.sum(board_c))
        + p.radiator_heat_capacity_j_per_k * radiator_c
    )


def test_steady_state_radiator_radiates_exactly_what_it_receives() -> None:
    t_k = steady_state_radiator_temp_c(4000.0, PARAMS, absorbed_w=50.0) + KELVIN_OFFSET
    radiated_w = 0.9 * SIGMA_W_M2_K4 * 10.0 * (t_k**4 - SPACE_TEMP_K**4)
    assert radiated_w == pytest.approx(4000.0 + 150.0 + 50.0, rel=1e-12), (
        f"steady state radiates {radiated_w} W, not the 4200 W it receives"
    )


def test_long_integration_converges_to_the_closed_form_steady_state() -> None:
    board_c, radiator_c = _integrate(np.full(N_BOARDS, 20.0), 20.0, 2 * 86400.0, 60.0, PARAMS)
    expected_c = steady_state_radiator_temp_c(float(BOARD_POWER_W.sum()), PARAMS)
    assert abs(radiator_c - expected_c) < STEADY_STATE_TOLERANCE_K, (
        f"radiator settled at {radiator_c} degC, closed form {expected_c} degC"
    )
    expected_board_c = radiator_c + BOARD_POWER_W / PARAMS.board_to_radiator_w_per_k
    assert np.all(np.abs(board_c - expected_board_c) < STEADY_STATE_TOLERANCE_K), (
        f"boards at {board_c} are not P/G above the radiator ({expected_board_c})"
    )


def test_one_second_steps_converge_to_the_same_steady_state() -> None:
    start_c = steady_state_radiator_temp_c(float(BOARD_POWER_W.sum()), PARAMS) - 3.0
    board_c, radiator_c = _integrate(np.full(N_BOARDS, start_c), start_c, 43200.0, 1.0, PARAMS)
    expected_c = steady_state_radiator_temp_c(float(BOARD_POWER_W.sum()), PARAMS)
    assert abs(radiator_c - expected_c) < STEADY_STATE_TOLERANCE_K, (
        f"1 s steps settled the radiator at {radiator_c} degC, not {expected_c} degC"
    )


@pytest.mark.parametrize("radiator_c", [0.0, 80.0])
def test_one_second_step_stores_the_heat_in_minus_the_heat_radiated(radiator_c: float) -> None:
    board_c, dt_s = np.full(N_BOARDS, 20.0), 1.0
    absorbed_w = 80.0
    new_board_c, new_radiator_c = step_thermal(
        board_c, radiator_c, BOARD_POWER_W, dt_s, PARAMS, absorbed_w=absorbed_w
    )
    stored_j = _stored_j(new_board_c, new_radiator_c, PARAMS) - _stored_j(
        board_c, radiator_c, PARAMS
    )
    radiated_w = PARAMS.radiator_w_per_k4 * ((radiator_c + KELVIN_OFFSET) ** 4 - SPACE_TEMP_K**4)
    heat_in_w = float(BOARD_POWER_W.sum()) + PARAMS.radiator_absorbed_w + absorbed_w
    expected_j = (heat_in_w - radiated_w) * dt_s
    assert stored_j == pytest.approx(expected_j, rel=ENERGY_BALANCE_RELATIVE_TOLERANCE), (
        f"stored {stored_j} J over {dt_s} s, energy balance says {expected_j} J"
    )


def test_stiff_boards_stay_stable_through_substeps() -> None:
    stiff = ThermalParams(
        board_heat_capacity_j_per_k=5.0, radiator_area_m2=10.0, radiator_emissivity=0.9
    )
    board_c, radiator_c = np.full(N_BOARDS, 20.0), 20.0
    for _ in range(600):
        board_c, radiator_c = step_thermal(board_c, radiator_c, BOARD_POWER_W, 1.0, stiff)
    expected_c = radiator_c + BOARD_POWER_W / stiff.board_to_radiator_w_per_k
    assert np.all(np.abs(board_c - expected_c) < STEADY_STATE_TOLERANCE_K), (
        f"stiff boards oscillated or diverged: {board_c} vs {expected_c}"
    )


def test_step_returns_board_array_and_float_and_leaves_inputs_alone() -> None:
    board_c = np.full(N_BOARDS, 25.0)
    new_board_c, new_radiator_c = step_thermal(board_c, 25.0, BOARD_POWER_W, 1.0, PARAMS)
    assert new_board_c.shape == (N_BOARDS,), f"board shape is {new_board_c.shape}"
    assert isinstance(new_radiator_c, float), "radiator temperature must be a float"
    assert np.all(board_c == 25.0), "step_thermal modified its input"
    assert np.all(new_board_c > board_c), "powered boards level with the radiator must warm"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("radiator_area_m2", 0.0),
        ("radiator_emissivity", 1.5),
        ("board_heat_capacity_j_per_k", -1.0),
        ("radiator_absorbed_w", -5.0),
    ],
)
def test_impossible_thermal_params_are_refused_naming_the_field(field: str, value: float) -> None:
    kwargs = {"radiator_area_m2": 10.0, "radiator_emissivity": 0.9, field: value}
    with pytest.raises(ValueError, match=field):
        ThermalParams(**kwargs)
