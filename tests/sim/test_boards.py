import numpy as np
import pytest

from sim.boards import BoardParams, board_power_w, throughput_frac, work_gpu_s

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
