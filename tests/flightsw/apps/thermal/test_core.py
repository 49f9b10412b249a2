"""Tests for flightsw.apps.thermal.core: linear caps, latched shutdown, bad readings, table."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.framework import TableError
from flightsw.apps.thermal.core import ThermalState, ThermalTable, initial_state, step
from flightsw.icd.messages import BoardSensors, Severity

CAP_TOL_W = 1e-9  # [W] float round-off in the linear cap
MAX_W, MIN_W = 300.0, 60.0
CAP_START_C, LIMIT_C, RESTART_C = 75.0, 85.0, 70.0


def table(n_boards: int = 2, **overrides) -> ThermalTable:
    fields = dict(n_boards=n_boards, max_power_w=MAX_W, min_power_w=MIN_W,
                  cap_start_c=CAP_START_C, limit_c=LIMIT_C, restart_below_c=RESTART_C)
    fields.update(overrides)
    return ThermalTable(**fields)


def readings(*temp_c: float) -> BoardSensors:
    n = len(temp_c)
    return BoardSensors(temp_c=tuple(temp_c), power_w=(0.0,) * n, work_gpu_s=(0.0,) * n,
                        job_id=("",) * n, radiator_temp_c=20.0)


def cap_at(temp_c: float) -> float:
    t = table(n_boards=1)
    _, caps, _ = step(initial_state(t), t, readings(temp_c))
    return caps.cap_w[0]


# ------------------------------------------------------------------------------ caps

def test_a_cool_board_may_draw_its_full_power():
    assert cap_at(20.0) == MAX_W


def test_the_cap_is_still_full_at_cap_start():
    assert cap_at(CAP_START_C) == pytest.approx(MAX_W, abs=CAP_TOL_W)


def test_halfway_to_the_limit_the_cap_is_halfway_between_max_and_min():
    mid_c = (CAP_START_C + LIMIT_C) / 2
    assert cap_at(mid_c) == pytest.approx((MAX_W + MIN_W) / 2, abs=CAP_TOL_W)


@settings(max_examples=100, deadline=None)
@given(temp_c=st.floats(CAP_START_C, LIMIT_C, exclude_max=True))
def test_between_cap_start_and_limit_the_cap_falls_linearly_from_max_to_min(temp_c):
    expected = MIN_W + (LIMIT_C - temp_c) / (LIMIT_C - CAP_START_C) * (MAX_W - MIN_W)
    assert cap_at(temp_c) == pytest.approx(expected, abs=1e-6), "cap is not linear in temperature"


@settings(max_examples=100, deadline=None)
@given(a=st.floats(-50.0, LIMIT_C, exclude_max=True), b=st.floats(-50.0, LIMIT_C, exclude_max=True))
def test_a_hotter_board_never_gets_a_higher_cap(a, b):
    lo, hi = sorted((a, b))
    assert cap_at(hi) <= cap_at(lo) + CAP_TOL_W, "cap must not rise with temperature"


# --------------------------------------------------------------------------- shutdown

def test_a_board_at_the_limit_is_shut_down_with_a_warning():
    t = table()
    state, caps, events = step(initial_state(t), t, readings(40.0, LIMIT_C))
    assert caps.cap_w == (MAX_W, 0.0) and caps.shutdown == (0, 1)
    assert state.shutdown == (False, True)
    assert [e.name for e in events] == ["thermal.board_shutdown"]
    assert events[0].severity == int(Severity.WARNING_HI)


def test_a_shut_down_board_stays_off_while_it_cools_above_restart_below():
    t = table(n_boards=1)
    state, _, _ = step(initial_state(t), t, readings(LIMIT_C + 1.0))
    for temp_c in (LIMIT_C - 1.0, CAP_START_C - 1.0, RESTART_C):
        state, caps, events = step(state, t, readings(temp_c))
        assert caps.cap_w == (0.0,), f"shutdown latch released at {temp_c} C, above restart_below_c"
        assert events == []


def test_a_shut_down_board_is_restored_once_below_restart_below():
    t = table(n_boards=1)
    state, _, _ = step(initial_state(t), t, readings(LIMIT_C + 1.0))
    state, caps, events = step(state, t, readings(RESTART_C - 0.1))
    assert state.shutdown == (False,)
    assert caps.cap_w == (MAX_W,)
    assert [e.name for e in events] == ["thermal.board_restored"]


def test_a_board_that_stays_hot_is_reported_once_not_every_tick():
    t = table(n_boards=1)
    state = initial_state(t)
    shutdown_events = 0
    for _ in range(5):
        state, _, events = step(state, t, readings(LIMIT_C + 5.0))
        shutdown_events += sum(e.name == "thermal.board_shutdown" for e in events)
    assert shutdown_events == 1


# --------------------------------------------------------------------- bad readings

@pytest.mark.parametrize("temps", [(40.0,), (40.0, 40.0, 40.0)])
def test_readings_for_the_wrong_number_of_boards_give_an_event_and_no_caps(temps):
    t = table(n_boards=2)
    state0 = ThermalState(shutdown=(False, True))
    state, caps, events = step(state0, t, readings(*temps))
    assert caps is None, "caps must not be computed from a reading of the wrong shape"
    assert [e.name for e in events] == ["thermal.bad_reading"]
    assert state == state0, "a bad reading must not change the latch"


def test_without_readings_nothing_is_published():
    t = table()
    assert step(initial_state(t), t, None) == (initial_state(t), None, [])


# ---------------------------------------------------------------------------- table

@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(n_boards=0), "n_boards"),
        (dict(min_power_w=0.0), "min_power_w"),
        (dict(min_power_w=400.0), "min_power_w"),
        (dict(restart_below_c=80.0), "restart_below_c"),
        (dict(cap_start_c=90.0), "cap_start_c"),
        (dict(limit_c=75.0), "limit_c"),
    ],
)
def test_an_invalid_thermal_table_is_rejected_naming_the_field(overrides, field):
    with pytest.raises(TableError, match=field):
        table(**overrides)
