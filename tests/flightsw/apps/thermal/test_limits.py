"""Limit levels: persistence, hysteresis, no chattering on noisy readings near a limit."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.thermal.core import initial_state, step
from flightsw.apps.thermal.limits import (
    COLD,
    GREEN,
    HOT,
    RED,
    YELLOW,
    LevelState,
    Limits,
    step_level,
)
from tests.flightsw.apps.thermal.helpers import readings, table

LIM = Limits(red_lo_c=0.0, yellow_lo_c=5.0, yellow_hi_c=75.0, red_hi_c=85.0, hysteresis_c=2.0,
             persistence=3)
GREEN_STATE = LevelState()
LIMITS_C = (LIM.red_lo_c, LIM.yellow_lo_c, LIM.yellow_hi_c, LIM.red_hi_c)
FAST = settings(max_examples=150, deadline=None)


def levels(temps_c, lim: Limits = LIM, start: LevelState = GREEN_STATE, **kw) -> list[tuple[int, int]]:
    now, out = start, []
    for t_c in temps_c:
        now = step_level(t_c, lim, now, **kw)
        out.append((now.level, now.side))
    return out


def changes(seq) -> int:
    return sum(a != b for a, b in zip(seq, seq[1:], strict=False))


# --------------------------------------------------------------------- persistence

def test_a_level_changes_only_after_persistence_readings_beyond_the_limit():
    assert levels([76.0, 76.0, 76.0]) == [(GREEN, 0), (GREEN, 0), (YELLOW, HOT)]


@FAST
@given(persistence=st.integers(1, 6), spike=st.integers(0, 10), gap=st.integers(1, 3),
       repeats=st.integers(1, 5))
def test_spikes_shorter_than_the_persistence_never_change_the_level(persistence, spike, gap, repeats):
    lim = Limits(0.0, 5.0, 75.0, 85.0, 2.0, persistence)
    spike = min(spike, persistence - 1)
    temps = ([90.0] * spike + [40.0] * gap) * repeats
    assert set(levels(temps, lim)) == {(GREEN, 0)}, f"a spike of {spike} < {persistence} readings changed it"


def test_a_jump_straight_past_red_takes_the_level_the_last_reading_calls_for():
    assert levels([76.0, 80.0, 90.0])[-1] == (RED, HOT)


# ---------------------------------------------------------------------- hysteresis

def test_a_yellow_level_is_kept_until_the_reading_is_hysteresis_back_inside():
    start = LevelState(YELLOW, HOT)
    inside_band = LIM.yellow_hi_c - LIM.hysteresis_c + 0.1
    assert set(levels([inside_band] * 10, start=start)) == {(YELLOW, HOT)}
    assert levels([LIM.yellow_hi_c - LIM.hysteresis_c - 0.1] * 3, start=start)[-1] == (GREEN, 0)


def test_a_cold_yellow_level_is_left_only_hysteresis_above_its_limit():
    start = LevelState(YELLOW, COLD)
    assert set(levels([LIM.yellow_lo_c + LIM.hysteresis_c - 0.1] * 10, start=start)) == {(YELLOW, COLD)}
    assert levels([LIM.yellow_lo_c + LIM.hysteresis_c + 0.1] * 3, start=start)[-1] == (GREEN, 0)


def test_a_red_hot_level_with_an_exit_temperature_is_latched_down_to_it():
    start = LevelState(RED, HOT)
    assert set(levels([71.0] * 10, start=start, red_hot_exit_c=70.0)) == {(RED, HOT)}
    assert levels([69.0] * 3, start=start, red_hot_exit_c=70.0)[-1] == (GREEN, 0)


@FAST
@given(which=st.sampled_from(LIMITS_C), persistence=st.integers(1, 4),
       noise=st.lists(st.floats(-0.5, 0.5), min_size=1, max_size=200))
def test_noisy_readings_around_a_limit_change_the_level_at_most_once(which, persistence, noise):
    lim = Limits(0.0, 5.0, 75.0, 85.0, 2.0, persistence)
    # noise within +-hysteresis/2 of one limit, from the level on the limit's inner side
    temps = [which + lim.hysteresis_c * x for x in noise]
    inner = {LIM.red_lo_c: LevelState(YELLOW, COLD), LIM.yellow_lo_c: LevelState(),
             LIM.yellow_hi_c: LevelState(), LIM.red_hi_c: LevelState(YELLOW, HOT)}[which]
    seq = [(inner.level, inner.side), *levels(temps, lim, start=inner)]
    assert changes(seq) <= 1, f"level chattered around {which} C: {seq}"


@FAST
@given(noise=st.lists(st.floats(-0.9, 0.9), min_size=1, max_size=150))
def test_a_guarded_board_hovering_at_its_yellow_limit_sends_at_most_one_level_event(noise):
    t = table(n_boards=1)
    state = initial_state(t)
    events = []
    for x in noise:
        out = step(state, t, readings(t.board.yellow_hi_c + x), None)
        state = out.state
        events += [n.name for n in out.notes]
    assert len(events) <= 1, f"events chattered: {events}"
