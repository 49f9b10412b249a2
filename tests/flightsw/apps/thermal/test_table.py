"""The "thermal" table: rejections that name the field, the harness's flat names, loads."""

from __future__ import annotations

import json

import pytest

from flightsw.apps.framework import TableError, table_from_mapping
from flightsw.apps.thermal.table import ThermalTable, thermal_table
from tests.flightsw.apps.thermal.helpers import table

BASE = dict(n_boards=2, max_power_w=300.0, min_power_w=60.0)


def test_the_harness_flat_names_set_the_board_limits():
    t = table(cap_start_c=60.0, limit_c=80.0, restart_below_c=55.0)
    assert (t.board.yellow_hi_c, t.board.red_hi_c, t.restart_below_c) == (60.0, 80.0, 55.0)
    assert (t.cap_start_c, t.limit_c) == (60.0, 80.0)


def test_limits_given_in_part_keep_the_other_defaults():
    t = thermal_table({**BASE, "battery": {"yellow_lo_c": 12.0}})
    assert t.battery.yellow_lo_c == 12.0 and t.battery.red_lo_c == ThermalTable(**BASE).battery.red_lo_c


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(n_boards=0), "n_boards"),
        (dict(min_power_w=0.0), "min_power_w"),
        (dict(min_power_w=400.0), "max_power_w"),
        (dict(restart_below_c=80.0), "restart_below_c"),
        (dict(cap_start_c=90.0), "board.red_hi_c"),
        (dict(limit_c=75.0), "board.red_hi_c"),
        (dict(board={"red_lo_c": 6.0}), "board.yellow_lo_c"),
        (dict(board={"yellow_lo_c": 76.0}), "board.yellow_hi_c"),
        (dict(radiator={"red_hi_c": 60.0}), "radiator.red_hi_c"),
        (dict(battery={"hysteresis_c": 20.0}), "battery.hysteresis_c"),
        (dict(battery={"persistence": 0}), "battery.persistence"),
        (dict(cap_step_w=0.0), "cap_step_w"),
        (dict(cap_step_ticks=0), "cap_step_ticks"),
        (dict(cap_restore_w=-1.0), "cap_restore_w"),
        (dict(boards_per_plate=0), "boards_per_plate"),
        (dict(plate_heater_power_w=-5.0), "plate_heater_power_w"),
        (dict(heater_deadband_c=0.0), "heater_deadband_c"),
        (dict(radiator_area_m2=0.0), "radiator_area_m2"),
        (dict(radiator_emissivity=1.5), "radiator_emissivity"),
        (dict(housekeeping_w=-1.0), "housekeeping_w"),
        (dict(sink_filter_ticks=0), "sink_filter_ticks"),
        (dict(sink_w=float("nan")), "sink_w"),
        (dict(budget_at_c=90.0), "budget_at_c"),
        (dict(budget_at_c=float("inf")), "budget_at_c"),
        (dict(budget_tau_s=-1.0), "budget_tau_s"),
    ],
)
def test_an_invalid_thermal_table_is_rejected_naming_the_field(overrides, field):
    with pytest.raises(TableError, match=rf"(thermal|ThermalTable)\.{field}"):
        table(**overrides)


def test_an_unknown_field_is_rejected_naming_it():
    with pytest.raises(TableError, match="board_limit"):
        thermal_table({**BASE, "board_limit": 3})


def test_a_table_load_replaces_limits_whole_and_validates_them():
    t = ThermalTable(**BASE)
    loaded = table_from_mapping(ThermalTable, json.loads(json.dumps(
        {"radiator": {"red_lo_c": -60.0, "yellow_lo_c": -50.0, "yellow_hi_c": 55.0, "red_hi_c": 70.0}})),
        base=t)
    assert loaded.radiator.yellow_hi_c == 55.0 and loaded.board == t.board
    with pytest.raises(TableError, match="radiator.red_hi_c"):
        table_from_mapping(ThermalTable, {"radiator": {"red_lo_c": -60.0, "yellow_lo_c": -50.0,
                                                       "yellow_hi_c": 55.0, "red_hi_c": 50.0}}, base=t)
