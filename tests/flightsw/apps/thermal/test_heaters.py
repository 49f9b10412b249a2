"""Flight heater control: on below a node's cold yellow limit, off above it plus the dead
band, the power switched on reported for the budget, inhibited on command."""

from __future__ import annotations

import dataclasses

import pytest

from flightsw.apps.thermal.core import initial_state, step
from flightsw.apps.thermal.heaters import n_plates, plate_temps_c, switch_heaters
from tests.flightsw.apps.thermal.helpers import battery, readings, table

WARM_C = 40.0
POWER_TOL_W = 1e-9


def plate_table():
    """8 boards on 2 plates of 4: heaters (plate 0, plate 1, battery)."""
    return table(n_boards=8, plate_heater_power_w=100.0, battery_heater_power_w=120.0)


def heaters_after(temps_seq, battery_c=WARM_C, t=None, enabled=True):
    t = t or plate_table()
    state = dataclasses.replace(initial_state(t), heaters_enabled=enabled)
    outs = []
    for temps in temps_seq:
        out = step(state, t, readings(*temps), battery(battery_c))
        state = out.state
        outs.append(out)
    return outs


def test_a_plate_heater_switches_on_below_the_boards_cold_yellow_limit():
    t = plate_table()
    cold = t.board.yellow_lo_c - 0.5
    (out,) = heaters_after([(cold, *[WARM_C] * 7)])
    assert out.heaters_on == (1, 0, 0), "only plate 0 (boards 0-3) is cold"


def test_a_plate_heater_stays_on_inside_the_dead_band_and_switches_off_above_it():
    t = plate_table()
    lo, band = t.board.yellow_lo_c, t.heater_deadband_c
    outs = heaters_after([(lo - 1.0,) + (WARM_C,) * 7, (lo + band - 0.1,) + (WARM_C,) * 7,
                          (lo + band + 0.1,) + (WARM_C,) * 7])
    assert [o.heaters_on[0] for o in outs] == [1, 1, 0]


def test_a_plate_heater_is_not_switched_on_inside_the_dead_band_from_off():
    t = plate_table()
    (out,) = heaters_after([(t.board.yellow_lo_c + 0.1,) + (WARM_C,) * 7])
    assert out.heaters_on == (0, 0, 0)


def test_the_battery_heater_follows_the_battery_reading():
    t = plate_table()
    lo, band = t.battery.yellow_lo_c, t.heater_deadband_c
    assert heaters_after([(WARM_C,) * 8], battery_c=lo - 0.5)[0].heaters_on == (0, 0, 1)
    assert heaters_after([(WARM_C,) * 8], battery_c=lo + band + 0.5)[0].heaters_on == (0, 0, 0)


def test_without_a_battery_reading_the_battery_heater_stays_off():
    t = plate_table()
    out = step(initial_state(t), t, readings(*(WARM_C,) * 8), None)
    assert out.heaters_on[-1] == 0


def test_the_heater_power_switched_on_is_reported_in_the_caps():
    t = plate_table()
    cold = t.board.yellow_lo_c - 1.0
    (out,) = heaters_after([(cold,) * 8], battery_c=t.battery.yellow_lo_c - 1.0)
    assert out.heaters_on == (1, 1, 1)
    assert out.caps.heater_w == pytest.approx(2 * 100.0 + 120.0, abs=POWER_TOL_W)
    (warm,) = heaters_after([(WARM_C,) * 8])
    assert warm.caps.heater_w == 0.0


def test_inhibited_heater_control_switches_every_heater_off_and_reports_no_power():
    t = plate_table()
    cold = t.board.yellow_lo_c - 1.0
    (out,) = heaters_after([(cold,) * 8], battery_c=-10.0, enabled=False)
    assert out.heaters_on == (0, 0, 0) and out.caps.heater_w == 0.0


def test_the_last_plate_may_hold_fewer_boards():
    assert n_plates(10, 4) == 3
    assert plate_temps_c([5.0, 1.0, 9.0, 9.0, 8.0, 7.0, 6.0, 5.0, 3.0, 4.0], 4) == [1.0, 5.0, 3.0]


def test_switch_heaters_keeps_its_state_in_the_dead_band_and_never_heats_blind():
    on = switch_heaters((1, 0, 1), (6.0, 6.0, None), (5.0, 5.0, 5.0), 3.0)
    assert on == (1, 0, 0)


def test_running_boards_stand_in_for_their_plates_heater_above_the_limit_but_not_below_it():
    """A plate heater switched on below the limit goes off as soon as the plate is back at
    the limit when its boards draw at least the heater's power (their heat warms it more
    than the heater would), not at the limit plus the dead band; a plate whose boards draw
    less keeps the dead band; below the limit the heater is on whatever the boards draw."""
    t = plate_table()
    lo = t.board.yellow_lo_c
    state = initial_state(t)
    cold = (lo - 0.5,) * 8
    out = step(state, t, readings(*cold, power_w=(200.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0)), battery(WARM_C))
    assert out.heaters_on == (1, 1, 0), "below the limit both plate heaters are on, boards running or not"
    inside = (lo + 1.0,) * 8  # back above the limit, inside the dead band
    out = step(out.state, t, readings(*inside, power_w=(200.0, 0.0, 0.0, 0.0, 50.0, 0.0, 0.0, 0.0)),
               battery(WARM_C))
    assert out.heaters_on == (0, 1, 0), "plate 0's board (200 W >= 100 W) warms it: its heater is off"
    assert abs(out.caps.heater_w - t.plate_heater_power_w) < POWER_TOL_W
    out = step(out.state, t, readings(*(lo + t.heater_deadband_c + 0.5,) * 8), battery(WARM_C))
    assert out.heaters_on == (0, 0, 0), "above the dead band every heater is off"


def test_switch_heaters_warmed_nodes_skip_the_dead_band_only():
    assert switch_heaters((1, 1, 1), (6.0, 6.0, 4.0), (5.0, 5.0, 5.0), 3.0, (True, False, True)) == (0, 1, 1)
    assert switch_heaters((1, 1), (6.0, 6.0), (5.0, 5.0), 3.0, (True,)) == (0, 1), "nodes past warmed are not"
