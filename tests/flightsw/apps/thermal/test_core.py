"""Thermal guard core: limit-derived caps, yellow steps before red shutdowns, latches,
held readings, the radiator's levels, bad readings."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.thermal.core import ThermalState, cap_w, initial_state, step
from flightsw.apps.thermal.limits import RED, YELLOW
from flightsw.icd.messages import Severity
from tests.flightsw.apps.thermal.helpers import (
    CAP_START_C,
    LIMIT_C,
    MAX_W,
    MIN_W,
    RESTART_C,
    names,
    readings,
    run,
    table,
)

CAP_TOL_W = 1e-9  # [W] float round-off in the linear cap
PERSIST = 3  # the default persistence: readings before a level changes
STEP_W, STEP_TICKS = 50.0, 10  # the default cap step
RESTORE_W, RESTORE_TICKS = 10.0, 30  # the default restore


def cap_at(temp_c: float) -> float:
    """The cap after one reading (too few to change a level: the limit-derived cap)."""
    t = table(n_boards=1)
    (out,) = run(t, [readings(temp_c)])
    return out.caps.cap_w[0]


def hold(temp_c: float, ticks: int, *others: float, **kw):
    return [readings(temp_c, *others, **kw)] * ticks


# ------------------------------------------------------------------ limit-derived caps

def test_a_cool_board_may_draw_its_full_power():
    assert cap_at(20.0) == MAX_W


def test_the_cap_is_still_full_at_cap_start():
    assert cap_at(CAP_START_C) == pytest.approx(MAX_W, abs=CAP_TOL_W)


def test_halfway_to_the_limit_the_cap_is_halfway_between_max_and_min():
    assert cap_at((CAP_START_C + LIMIT_C) / 2) == pytest.approx((MAX_W + MIN_W) / 2, abs=CAP_TOL_W)


@settings(max_examples=100, deadline=None)
@given(temp_c=st.floats(CAP_START_C, LIMIT_C, exclude_max=True))
def test_between_cap_start_and_limit_the_cap_falls_linearly_from_max_to_min(temp_c):
    expected = MIN_W + (LIMIT_C - temp_c) / (LIMIT_C - CAP_START_C) * (MAX_W - MIN_W)
    assert cap_at(temp_c) == pytest.approx(expected, abs=1e-6), "cap is not linear in temperature"


@settings(max_examples=100, deadline=None)
@given(a=st.floats(-50.0, 150.0), b=st.floats(-50.0, 150.0))
def test_a_hotter_board_never_gets_a_higher_limit_derived_cap(a, b):
    lo, hi = sorted((a, b))
    t = table()
    assert cap_w(hi, t) <= cap_w(lo, t) + CAP_TOL_W, "cap must not rise with temperature"


# -------------------------------------------------------------- yellow steps, then red

def test_a_board_warming_through_yellow_has_its_cap_stepped_down_before_red_shuts_it_down():
    t = table(n_boards=1)
    ramp = [readings(70.0 + 0.05 * k) for k in range(400)]  # 70 -> 90 C, 3 C a minute
    outs = run(t, ramp)
    levels = [o.caps.level[0] for o in outs]
    first_yellow, first_red = levels.index(YELLOW), levels.index(RED)
    assert first_yellow < first_red, "the board went red without a yellow stage"
    stepped = [k for k in range(first_yellow, first_red)
               if outs[k].caps.cap_w[0] < cap_w(ramp[k].temp_c[0], t) - STEP_W / 2]
    assert stepped and stepped[0] == first_yellow, \
        "the cap was not stepped below the limit-derived cap on turning yellow"
    assert outs[first_red - 1].caps.cap_w[0] > 0.0 and outs[first_red].caps.cap_w[0] == 0.0
    assert outs[first_yellow].caps.cap_w[0] >= MIN_W, "a yellow step went below min_power_w"


def test_turning_yellow_sends_a_warning_lo_and_red_a_warning_hi():
    t = table(n_boards=1)
    outs = run(t, hold(76.0, PERSIST) + hold(LIMIT_C + 1.0, PERSIST))
    notes = [n for o in outs for n in o.notes]
    assert [(n.name, n.severity) for n in notes] == [
        ("thermal.board_yellow", Severity.WARNING_LO), ("thermal.board_red", Severity.WARNING_HI)]
    assert "shut down" in notes[1].text


def test_a_yellow_board_that_keeps_heating_is_stepped_again_every_step_period():
    t = table(n_boards=1)
    warming = [readings(76.0 + 0.01 * k) for k in range(PERSIST + 2 * STEP_TICKS)]
    outs = run(t, warming)
    caps = [o.caps.cap_w[0] for o in outs]
    k0 = PERSIST - 1  # the reading that turns it yellow
    assert caps[k0 + STEP_TICKS] == pytest.approx(caps[k0] - STEP_W), "no second step while heating"
    assert caps[k0 + 2 * STEP_TICKS] == pytest.approx(caps[k0] - 2 * STEP_W), "no third step"
    assert len(set(caps[k0:k0 + STEP_TICKS])) == 1, "stepped more often than every step period"


def test_a_yellow_board_that_is_cooling_is_not_stepped_further():
    t = table(n_boards=1)
    cooling = [readings(80.0 - 0.01 * k) for k in range(PERSIST + 3 * STEP_TICKS)]
    outs = run(t, cooling)
    stepped_w = [o.state.stepped_w[0] for o in outs[PERSIST - 1:]]
    assert stepped_w[0] < MAX_W and len(set(stepped_w)) == 1, \
        f"a cooling yellow board was stepped again: {sorted(set(stepped_w))}"


def test_back_to_green_the_cap_is_given_back_slowly():
    t = table(n_boards=1)
    outs = run(t, hold(80.0, PERSIST + 3 * STEP_TICKS) + hold(40.0, PERSIST + 3 * RESTORE_TICKS))
    low = outs[PERSIST + 3 * STEP_TICKS - 1].caps.cap_w[0]
    green = [o.caps.cap_w[0] for o in outs[PERSIST + 3 * STEP_TICKS + PERSIST:]]
    assert low < MAX_W - 2 * STEP_W
    steps = [b - a for a, b in zip(green, green[1:], strict=False) if b != a]
    assert steps and all(s == pytest.approx(RESTORE_W) for s in steps), f"restore steps {steps}"
    assert green[-1] < MAX_W, "gave back everything at once"


# ---------------------------------------------------------------------------- shutdown

def test_a_board_at_the_limit_is_shut_down_after_persistence_readings():
    t = table()
    outs = run(t, hold(40.0, PERSIST, LIMIT_C))
    assert [o.caps.shutdown for o in outs] == [(0, 0)] * (PERSIST - 1) + [(0, 1)]
    assert outs[-1].caps.cap_w[1] == 0.0 and outs[-1].caps.cap_w[0] == MAX_W
    assert outs[-1].state.shutdown == (False, True)


def test_a_shut_down_board_stays_off_while_it_cools_above_restart_below():
    t = table(n_boards=1)
    outs = run(t, hold(LIMIT_C + 1.0, PERSIST) + hold(LIMIT_C - 1.0, 5) + hold(CAP_START_C - 1.0, 5)
               + hold(RESTART_C, 5))
    assert all(o.caps.cap_w == (0.0,) for o in outs[PERSIST - 1:]), "latch released above restart_below_c"
    assert sum(names(o).count("thermal.board_restored") for o in outs) == 0


def test_a_shut_down_board_is_restored_below_restart_below_at_min_power_first():
    t = table(n_boards=1)
    outs = run(t, hold(LIMIT_C + 1.0, PERSIST) + hold(RESTART_C - 0.1, PERSIST))
    assert outs[-1].state.shutdown == (False,)
    assert outs[-1].caps.cap_w == (MIN_W,), "a restored board must start low and be given power back"
    assert names(outs[-1]) == ["thermal.board_restored"]
    assert outs[-1].notes[0].severity == Severity.ACTIVITY_HI


def test_a_board_that_stays_hot_is_reported_once_not_every_tick():
    t = table(n_boards=1)
    outs = run(t, hold(LIMIT_C + 5.0, 20))
    assert sum(names(o).count("thermal.board_red") for o in outs) == 1


def test_a_board_below_its_cold_red_limit_is_shut_down_until_it_warms_past_the_hysteresis():
    t = table(n_boards=1)
    red_lo, h = t.board.red_lo_c, t.board.hysteresis_c
    outs = run(t, hold(red_lo - 1.0, PERSIST) + hold(red_lo + h / 2, 5) + hold(red_lo + h + 0.5, PERSIST))
    assert outs[PERSIST - 1].caps.cap_w == (0.0,) and "red (cold)" in outs[PERSIST - 1].notes[-1].text
    assert all(o.caps.cap_w == (0.0,) for o in outs[PERSIST - 1:PERSIST + 5]), "cold latch left too soon"
    assert outs[-1].caps.shutdown == (0,), "a warmed board stayed shut down"


# ------------------------------------------------------------------------ radiator

def test_a_yellow_radiator_steps_every_boards_cap_down():
    t = table(n_boards=2, sink_fit_above_c=200.0)  # no sink fit: the capacity stays at its prior
    hot_c = t.radiator.yellow_hi_c + 1.0
    outs = run(t, hold(40.0, PERSIST, 40.0, radiator_c=hot_c))
    assert outs[-1].caps.cap_w == (MAX_W - STEP_W, MAX_W - STEP_W)
    assert names(outs[-1]) == ["thermal.radiator_yellow"]


def test_a_red_radiator_drops_every_cap_to_min_power():
    t = table(n_boards=2, sink_fit_above_c=200.0)
    outs = run(t, hold(40.0, PERSIST, 40.0, radiator_c=t.radiator.red_hi_c + 1.0))
    assert outs[-1].caps.cap_w == (MIN_W, MIN_W) and outs[-1].caps.shutdown == (0, 0)


# ------------------------------------------------------------------- held readings

def test_a_dead_temperature_channel_holds_the_last_good_reading():
    t = table(n_boards=2)
    outs = run(t, [readings(80.0, 40.0)] + [readings(0.0, 40.0, ok=(0, 1))] * 5)
    assert outs[-1].state.temp_c == (80.0, 40.0)
    assert not any("cold" in n.text for o in outs for n in o.notes), "a dead channel read as cold"


def test_a_board_never_read_is_assumed_at_its_limit_and_shut_down():
    t = table(n_boards=2)
    outs = run(t, [readings(0.0, 40.0, ok=(0, 1))] * PERSIST)
    assert outs[-1].caps.shutdown == (1, 0)


# ---------------------------------------------------------------------- bad readings

@pytest.mark.parametrize("temps", [(40.0,), (40.0, 40.0, 40.0)])
def test_readings_for_the_wrong_number_of_boards_give_an_event_and_no_caps(temps):
    t = table(n_boards=2)
    state0 = initial_state(t)
    out = step(state0, t, readings(*temps), None)
    assert out.caps is None, "caps must not be computed from a reading of the wrong shape"
    assert names(out) == ["thermal.bad_reading"]
    assert out.state.board_level == state0.board_level and out.state.temp_c == state0.temp_c


def test_without_readings_no_caps_are_published():
    t = table()
    out = step(initial_state(t), t, None, None)
    assert out.caps is None and out.notes == ()
    assert isinstance(out.state, ThermalState)


def test_the_same_readings_give_the_same_caps():
    t = table(n_boards=3)
    seq = [readings(70.0 + k % 17, 20.0, 90.0 - k % 5, radiator_c=60.0 + k % 9) for k in range(80)]
    assert run(t, seq) == run(t, seq)
