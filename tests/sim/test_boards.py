import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from sim.boards import (
    ACTIVE,
    BOOTING,
    FAILED,
    H100_FIT_MAX_ERROR,
    H100_POWER_PERF_POINTS,
    H100_THROUGHPUT_EXPONENT,
    HUNG,
    IDLE,
    OFF,
    BoardBankParams,
    BoardBankState,
    BoardParams,
    board_power_w,
    fit_throughput_exponent,
    step_boards,
    throughput_frac,
    work_gpu_s,
)
from sim.radiation import RadiationEvents, no_radiation

FRACTION_TOLERANCE = 1e-12
P = BoardParams(count=16, max_power_w=700.0, min_power_w=200.0, idle_power_w=60.0)
CAPS_W = np.linspace(P.min_power_w, P.max_power_w, 51)


def test_throughput_at_max_power_is_one() -> None:
    got = throughput_frac(np.array([P.max_power_w]), P)
    assert abs(got[0] - 1.0) < FRACTION_TOLERANCE, f"throughput at max cap is {got[0]}"


def test_throughput_at_min_power_follows_the_power_law() -> None:
    got = throughput_frac(np.array([P.min_power_w]), P)
    expected = (200.0 / 700.0) ** 0.6
    assert abs(got[0] - expected) < FRACTION_TOLERANCE, f"throughput at min cap is {got[0]}"


def test_throughput_rises_with_the_cap() -> None:
    assert np.all(np.diff(throughput_frac(CAPS_W, P)) > 0.0), "throughput is not increasing"


def test_work_per_joule_falls_as_the_cap_rises() -> None:
    per_joule = throughput_frac(CAPS_W, P) / board_power_w(CAPS_W, np.ones_like(CAPS_W, bool), P)
    assert np.all(np.diff(per_joule) < 0.0), "work per joule does not fall with the cap"


def test_throughput_is_concave_in_the_cap() -> None:
    assert np.all(np.diff(throughput_frac(CAPS_W, P), 2) < 0.0), "throughput is not concave"


def test_cap_above_max_is_clipped_to_full_speed() -> None:
    assert throughput_frac(np.array([2000.0]), P)[0] == 1.0, "throughput exceeded 1"


def test_cap_below_min_is_raised_to_min_by_the_board() -> None:
    low = throughput_frac(np.array([50.0]), P)[0]
    at_min = throughput_frac(np.array([P.min_power_w]), P)[0]
    assert low == at_min, "a small positive cap must run as min_power_w"
    power = board_power_w(np.array([50.0]), np.array([True]), P)[0]
    assert power == P.min_power_w, f"a busy board capped below min draws {power} W"


def test_board_with_zero_cap_is_off_draws_nothing_and_does_no_work() -> None:
    cap = np.zeros(2)
    busy = np.array([True, False])
    assert np.all(throughput_frac(cap, P) == 0.0), "an off board has throughput"
    assert np.all(board_power_w(cap, busy, P) == 0.0), "an off board draws power"
    assert np.all(work_gpu_s(cap, busy, 1.0, P) == 0.0), "an off board did work"


def test_idle_board_draws_idle_power_and_does_no_work() -> None:
    cap = np.array([500.0])
    idle = np.array([False])
    assert board_power_w(cap, idle, P)[0] == P.idle_power_w, "idle board power is wrong"
    assert work_gpu_s(cap, idle, 1.0, P)[0] == 0.0, "an idle board did work"


def test_busy_board_does_throughput_times_dt_of_work() -> None:
    cap = np.full(P.count, 450.0)
    busy = np.ones(P.count, bool)
    got = work_gpu_s(cap, busy, 10.0, P)
    assert got.shape == (P.count,), f"shape is {got.shape}"
    assert np.allclose(got, 10.0 * (450.0 / 700.0) ** 0.6), f"work is {got}"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"count": 0}, "count"),
        ({"min_power_w": 0.0}, "min_power_w"),
        ({"min_power_w": 800.0}, "min_power_w"),
        ({"idle_power_w": 250.0}, "idle_power_w"),
        ({"throughput_exponent": 1.5}, "throughput_exponent"),
        ({"throughput_exponent": 0.0}, "throughput_exponent"),
    ],
)
def test_impossible_boards_are_refused_naming_the_field(kwargs: dict, field: str) -> None:
    base = {"count": 4, "max_power_w": 700.0, "min_power_w": 200.0, "idle_power_w": 60.0}
    with pytest.raises(ValueError, match=field):
        BoardParams(**(base | kwargs))


# ------------------------------------------------------------------ the board bank

ENERGY_TOLERANCE_J = 1e-6
WORK_TOLERANCE_GPU_S = 1e-9
EXPONENT_ROUNDING = 0.005  # H100_THROUGHPUT_EXPONENT is the fit rounded to 2 decimals
CLOCK_TOLERANCE = 1e-12
WARM_C = 40.0
BANK = BoardBankParams(count=1)


def _events(sefi=False, fail=False, n=1) -> RadiationEvents:
    e = no_radiation(n)
    return RadiationEvents(e.sdc, np.full(n, sefi), np.full(n, fail))


def _run(state, p, ticks, cap_w=500.0, on=True, busy=False, temp_c=WARM_C, dt_s=1.0, faults=None):
    """Step ``ticks`` times with constant commands; -> (state, energy [J], work [GPU-s])."""
    energy_j = np.zeros(p.count)
    work = np.zeros(p.count)
    for _ in range(ticks):
        state, power_w, w = step_boards(state, p, cap_w, on, busy, temp_c, dt_s, faults)
        energy_j += power_w * dt_s
        work += w
    return state, energy_j, work


def _active_board(p=BANK):
    state = BoardBankState.initial(p.count, IDLE)
    state, _, _ = step_boards(state, p, 500.0, True, True, WARM_C, 1.0)
    assert state.code[0] == ACTIVE, "setup: the board should be ACTIVE"
    return state


def test_a_switched_on_board_boots_for_boot_s_at_boot_power_and_then_idles() -> None:
    state = BoardBankState.initial(1)
    state, energy_j, work = _run(state, BANK, int(BANK.boot_s) - 1)
    assert state.code[0] == BOOTING, f"after boot_s - 1 s the board is {state.names()}"
    state, more_j, more_work = _run(state, BANK, 1)
    assert state.code[0] == IDLE, f"after boot_s the board is {state.names()}"
    total_j = energy_j[0] + more_j[0]
    assert abs(total_j - BANK.boot_s * BANK.boot_power_w) < ENERGY_TOLERANCE_J, (
        f"boot energy is {total_j} J, expected boot_s * boot_power_w"
    )
    assert work[0] == more_work[0] == 0.0, "a booting board did work"
    assert state.boots[0] == 1, "the boot was not counted"


def test_boot_time_and_energy_are_exact_when_the_tick_does_not_divide_the_boot_time() -> None:
    dt_s = 7.0  # 60 s of boot = 8 ticks + 4 s; the last 3 s of tick 9 run busy
    state = BoardBankState.initial(1)
    state, energy_j, work = _run(state, BANK, 9, cap_w=700.0, busy=True, dt_s=dt_s)
    run_s = 9 * dt_s - BANK.boot_s
    expected_j = BANK.boot_s * BANK.boot_power_w + run_s * BANK.max_power_w
    assert state.code[0] == ACTIVE, f"the board is {state.names()} after its boot"
    assert abs(energy_j[0] - expected_j) < ENERGY_TOLERANCE_J, f"energy {energy_j[0]} J != {expected_j}"
    assert abs(work[0] - run_s) < WORK_TOLERANCE_GPU_S, f"work {work[0]} GPU-s != {run_s} at full cap"


def test_a_busy_running_board_is_active_draws_its_cap_and_works_on_the_curve() -> None:
    state = BoardBankState.initial(1, IDLE)
    state, power_w, work = step_boards(state, BANK, 450.0, True, True, WARM_C, 10.0)
    expected = 10.0 * (450.0 / 700.0) ** H100_THROUGHPUT_EXPONENT
    assert state.code[0] == ACTIVE, f"state is {state.names()}"
    assert power_w[0] == 450.0, f"an active board at cap 450 W draws {power_w[0]} W"
    assert abs(work[0] - expected) < WORK_TOLERANCE_GPU_S, f"work {work[0]} != {expected}"


def test_an_on_board_without_a_job_idles_at_idle_power() -> None:
    state, power_w, work = step_boards(_active_board(), BANK, 450.0, True, False, WARM_C, 1.0)
    assert state.code[0] == IDLE, f"state is {state.names()}"
    assert (power_w[0], work[0]) == (BANK.idle_power_w, 0.0), "idle power or work is wrong"


def test_a_sefi_hangs_the_board_which_draws_power_and_does_no_work_until_power_cycled() -> None:
    state, power_w, work = step_boards(_active_board(), BANK, 500.0, True, True, WARM_C, 1.0,
                                       _events(sefi=True))
    assert state.code[0] == HUNG and state.hangs[0] == 1, f"a SEFI left the board {state.names()}"
    assert (power_w[0], work[0]) == (BANK.hung_power_w, 0.0), "a hung board's power or work is wrong"
    state, energy_j, work = _run(state, BANK, 100, busy=True)
    assert state.code[0] == HUNG, "a hung board recovered without a power cycle"
    assert work[0] == 0.0, "a hung board did work"
    assert abs(energy_j[0] - 100 * BANK.hung_power_w) < ENERGY_TOLERANCE_J, "hung power is wrong"
    state, power_w, _ = step_boards(state, BANK, 0.0, True, True, WARM_C, 1.0)  # cap 0: off
    assert state.code[0] == OFF and power_w[0] == 0.0, "cap 0 did not switch the board off"
    state, _, _ = step_boards(state, BANK, 500.0, True, True, WARM_C, 1.0)
    assert state.code[0] == BOOTING, f"after the power cycle the board is {state.names()}"


def test_switching_the_power_off_also_power_cycles_a_hung_board() -> None:
    state, _, _ = step_boards(_active_board(), BANK, 500.0, True, True, WARM_C, 1.0,
                              _events(sefi=True))
    state, _, _ = step_boards(state, BANK, 500.0, False, True, WARM_C, 1.0)
    assert state.code[0] == OFF, "cmd_on False did not switch the hung board off"


def test_a_failed_board_stays_failed_draws_nothing_and_does_no_work() -> None:
    state, power_w, work = step_boards(_active_board(), BANK, 500.0, True, True, WARM_C, 1.0,
                                       _events(fail=True))
    assert state.code[0] == FAILED, f"a failure left the board {state.names()}"
    for cap_w, on in ((0.0, False), (500.0, True), (0.0, True), (700.0, True)):
        state, power_w, work = step_boards(state, BANK, cap_w, on, True, WARM_C, 1.0)
        assert state.code[0] == FAILED, f"a failed board came back as {state.names()}"
        assert power_w[0] == 0.0 and work[0] == 0.0, "a failed board drew power or did work"


def test_the_bank_throughput_curve_rises_and_is_concave_in_the_cap() -> None:
    caps_w = np.linspace(BANK.min_power_w, BANK.max_power_w, 51)
    p = BoardBankParams(count=caps_w.size)
    state = BoardBankState.initial(p.count, IDLE)
    _, power_w, work = step_boards(state, p, caps_w, True, True, WARM_C, 1.0)
    assert np.all(np.diff(work) > 0.0), "throughput does not rise with the cap"
    assert np.all(np.diff(work, 2) < 0.0), "throughput is not concave in the cap"
    assert np.all(np.diff(work / power_w) < 0.0), "work per joule does not fall as the cap rises"


def test_the_fitted_exponent_matches_the_cited_points_within_the_stated_fit_error() -> None:
    exponent, max_error = fit_throughput_exponent(H100_POWER_PERF_POINTS)
    assert abs(exponent - H100_THROUGHPUT_EXPONENT) < EXPONENT_ROUNDING, (
        f"the fit gives {exponent}, the default is {H100_THROUGHPUT_EXPONENT}"
    )
    assert max_error <= H100_FIT_MAX_ERROR, f"the fit error {max_error} exceeds the stated one"
    x = np.array([pt[0] for pt in H100_POWER_PERF_POINTS])
    y = np.array([pt[1] for pt in H100_POWER_PERF_POINTS])
    p = BoardBankParams(count=x.size)
    _, _, work = step_boards(BoardBankState.initial(p.count, IDLE), p, x * p.max_power_w, True,
                             True, WARM_C, 1.0)
    assert np.all(np.abs(work - y) <= H100_FIT_MAX_ERROR), f"curve {work} vs cited {y}"


def test_a_board_above_its_slowdown_temperature_runs_at_half_clock_and_draws_less() -> None:
    hot_c = (BANK.slowdown_c + BANK.shutdown_c) / 2.0
    _, cool_w, cool_work = step_boards(_active_board(), BANK, 600.0, True, True, WARM_C, 1.0)
    state, hot_w, hot_work = step_boards(_active_board(), BANK, 600.0, True, True, hot_c, 1.0)
    assert abs(hot_work[0] - BANK.slowdown_clock_frac * cool_work[0]) < WORK_TOLERANCE_GPU_S, (
        f"throttled work {hot_work[0]} is not slowdown_clock_frac x {cool_work[0]}"
    )
    assert BANK.idle_power_w <= hot_w[0] < cool_w[0], f"throttled power {hot_w[0]} W did not fall"
    assert state.code[0] == ACTIVE and state.clock_frac[0] == BANK.slowdown_clock_frac, (
        "a throttled board must stay ACTIVE and report its clock fraction"
    )


def test_between_max_operating_and_slowdown_the_clock_ramps_down_linearly() -> None:
    mid_c = (BANK.max_operating_c + BANK.slowdown_c) / 2.0
    state, _, _ = step_boards(_active_board(), BANK, 600.0, True, True, mid_c, 1.0)
    expected = (1.0 + BANK.slowdown_clock_frac) / 2.0
    assert abs(state.clock_frac[0] - expected) < CLOCK_TOLERANCE, f"clock fraction {state.clock_frac[0]}"


def test_at_the_shutdown_temperature_a_board_turns_off_and_stays_off_until_power_cycled() -> None:
    state, power_w, work = step_boards(_active_board(), BANK, 600.0, True, True,
                                       BANK.shutdown_c, 1.0)
    assert state.code[0] == OFF and state.thermal_shutdowns[0] == 1, f"board is {state.names()}"
    assert power_w[0] == 0.0 and work[0] == 0.0, "a shut-down board drew power or did work"
    state, _, _ = _run(state, BANK, 10, cap_w=600.0, busy=True, temp_c=WARM_C)
    assert state.code[0] == OFF, "a thermal shutdown un-latched without a power cycle"
    state, _, _ = step_boards(state, BANK, 600.0, False, True, WARM_C, 1.0)
    state, _, _ = step_boards(state, BANK, 600.0, True, True, WARM_C, 1.0)
    assert state.code[0] == BOOTING, f"after a power cycle the board is {state.names()}"


def test_a_board_below_the_cold_limit_refuses_to_power_on_until_it_warms() -> None:
    cold_c = BANK.cold_limit_c - 5.0
    state, energy_j, _ = _run(BoardBankState.initial(1), BANK, 3, temp_c=cold_c)
    assert state.code[0] == OFF and energy_j[0] == 0.0, "a cold board powered on"
    assert state.cold_refusals[0] == 3, f"cold refusals counted {state.cold_refusals[0]}, expected 3"
    state, _, _ = step_boards(state, BANK, 500.0, True, False, BANK.cold_limit_c + 1.0, 1.0)
    assert state.code[0] == BOOTING, "a warmed board did not boot"


def test_boards_in_different_states_step_independently_in_one_call() -> None:
    p = BoardBankParams(count=4)
    state = BoardBankState.initial(4, IDLE)
    faults = RadiationEvents(np.zeros(4, bool), np.array([False, True, False, False]),
                             np.array([False, False, True, False]))
    temp_c = np.array([WARM_C, WARM_C, WARM_C, p.shutdown_c])
    state, _, _ = step_boards(state, p, 500.0, True, True, temp_c, 1.0, faults)
    assert state.names() == ["ACTIVE", "HUNG", "FAILED", "OFF"], f"states are {state.names()}"


def test_a_step_does_not_change_its_input_state_and_repeats_exactly() -> None:
    state = _active_board()
    before = state.code.copy()
    a = step_boards(state, BANK, 500.0, True, True, 88.0, 1.0, _events(sefi=True))
    b = step_boards(state, BANK, 500.0, True, True, 88.0, 1.0, _events(sefi=True))
    assert np.array_equal(state.code, before), "step_boards mutated its input state"
    assert np.array_equal(a[0].code, b[0].code) and np.array_equal(a[1], b[1]), "not repeatable"


def test_powered_and_active_masks_follow_the_state_codes() -> None:
    state = BoardBankState(
        code=np.array([OFF, BOOTING, IDLE, ACTIVE, HUNG, FAILED], dtype=np.int8),
        **{k: v for k, v in vars(BoardBankState.initial(6)).items() if k != "code"},
    )
    assert state.powered.tolist() == [False, True, True, True, True, False], "powered mask"
    assert state.active.tolist() == [False, False, False, True, False, False], "active mask"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"count": 0}, "count"),
        ({"min_power_w": 800.0}, "min_power_w"),
        ({"idle_power_w": 250.0}, "idle_power_w"),
        ({"boot_power_w": -1.0}, "boot_power_w"),
        ({"boot_s": -1.0}, "boot_s"),
        ({"hung_power_w": 900.0}, "hung_power_w"),
        ({"throughput_exponent": 1.5}, "throughput_exponent"),
        ({"slowdown_c": 80.0}, "slowdown_c"),
        ({"shutdown_c": 88.0}, "shutdown_c"),
        ({"cold_limit_c": 90.0}, "cold_limit_c"),
        ({"slowdown_clock_frac": 0.0}, "slowdown_clock_frac"),
        ({"max_power_w": float("nan")}, "max_power_w"),
    ],
)
def test_impossible_bank_params_are_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        BoardBankParams(**({"count": 4} | kwargs))


def test_bank_params_from_a_table_refuse_unknown_keys_naming_them() -> None:
    with pytest.raises(ValueError, match="boards: unknown key.*'boot_w'"):
        BoardBankParams.from_dict({"count": 4, "boot_w": 100.0})
    assert BoardBankParams.from_dict({"count": 4}).max_power_w == 700.0, "defaults not applied"


def test_step_refuses_commands_of_the_wrong_shape_naming_the_input() -> None:
    with pytest.raises(ValueError, match="cmd_cap_w"):
        step_boards(BoardBankState.initial(1), BANK, np.zeros(3), True, True, WARM_C, 1.0)


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_the_steady_fast_path_equals_the_general_step(data):
    """sim.boards._steady_step, where it applies, gives exactly what _general_step gives."""
    from sim.boards import (
        ACTIVE,
        IDLE,
        OFF,
        BoardBankParams,
        BoardBankState,
        _general_step,
        _steady_step,
    )

    n = data.draw(st.integers(1, 12))
    p = BoardBankParams(count=n)
    code = np.array(data.draw(st.lists(st.sampled_from([OFF, IDLE, ACTIVE]), min_size=n, max_size=n)),
                    dtype=np.int8)
    state = dataclasses.replace(BoardBankState.initial(n), code=code)
    running = (code == IDLE) | (code == ACTIVE)
    cap = np.where(running, np.array(data.draw(st.lists(st.floats(1.0, 900.0), min_size=n, max_size=n))), 0.0)
    busy = np.array(data.draw(st.lists(st.booleans(), min_size=n, max_size=n)))
    temp = np.array(data.draw(st.lists(st.floats(-10.0, p.max_operating_c - 0.01), min_size=n, max_size=n)))
    fast = _steady_step(state, p, cap, running, busy, temp, 1.0, None)
    assert fast is not None, "the fast path refused a steady tick"
    slow = _general_step(state, p, cap, running, busy, temp, 1.0, None)
    for a, b in zip(fast[1:], slow[1:], strict=True):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)
    for f in dataclasses.fields(slow[0]):
        np.testing.assert_array_equal(getattr(fast[0], f.name), getattr(slow[0], f.name), err_msg=f.name)
