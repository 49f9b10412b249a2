"""Scenarios (sim/scenario.py): built-ins, ``base = "NAME"`` merging, and errors that name
the key, what was expected and what came (DESIGN.md §9, §10)."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest

from sim.scenario import (
    ScenarioError,
    builtin_names,
    load_scenario,
    parse_scenario,
    scenario_from_dict,
)

STATION = """
[[ground_stations]]
name = "{name}"
lat_deg = {lat}
lon_deg = 10.0
alt_m = 100.0
min_elevation_deg = 5.0
downlink_bps = 1e6
uplink_bps = 1e5
"""


def _error(text: str) -> str:
    with pytest.raises(ScenarioError) as info:
        parse_scenario(text)
    return str(info.value)


def _dict_error(data: dict) -> str:
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    return str(info.value)


@pytest.fixture(scope="module")
def default_data() -> dict:
    return load_scenario("default").data


# ------------------------------------------------------------------------- loading


def test_the_default_scenario_loads_with_its_documented_values() -> None:
    sc = load_scenario("default")
    assert sc.name == "default", f"name is {sc.name!r}"
    assert sc["boards"]["count"] == 16 and sc["power"]["battery_capacity_wh"] == 6000.0, (
        "default scenario values differ from default.toml"
    )
    assert sc.tick_s == 1.0 and sc.epoch_utc.isoformat() == "2026-12-01T00:00:00+00:00", (
        "default tick or epoch wrong"
    )


@pytest.mark.parametrize("name", builtin_names())
def test_every_built_in_scenario_loads(name: str) -> None:
    assert load_scenario(name).data["ground_stations"], f"{name} has no ground station"


def test_a_file_on_the_default_base_overrides_one_key_and_keeps_the_rest(
    tmp_path: Path, default_data: dict
) -> None:
    path = tmp_path / "four.toml"
    path.write_text('base = "default"\n[boards]\ncount = 4\n')
    sc = load_scenario(str(path))
    assert sc["boards"]["count"] == 4, "the override was not applied"
    assert sc["boards"]["max_power_w"] == default_data["boards"]["max_power_w"], (
        "a key next to the override was lost in the merge"
    )
    for table in ("orbit", "power", "thermal", "workload", "ground_stations"):
        assert sc[table] == default_data[table], f"[{table}] changed though not overridden"


def test_a_file_on_a_base_without_a_name_is_named_after_its_file(tmp_path: Path) -> None:
    path = tmp_path / "hot.toml"
    path.write_text('base = "default"\n[boards]\ncount = 4\n')
    assert load_scenario(str(path)).name == "hot", "a derived scenario reports its base's name"


def test_ground_stations_in_a_file_replace_the_base_list() -> None:
    text = 'base = "default"\n' + STATION.format(name="a", lat=10.0) + STATION.format(name="b", lat=20.0)
    sc = parse_scenario(text)
    assert [s["name"] for s in sc["ground_stations"]] == ["a", "b"], (
        "[[ground_stations]] merged with the base instead of replacing it"
    )


def test_a_base_is_not_changed_by_a_file_built_on_it(default_data: dict) -> None:
    before = copy.deepcopy(default_data)
    parse_scenario('base = "default"\n[boards]\ncount = 2\n')
    assert load_scenario("default").data == before, "overriding changed the built-in base"


def test_a_missing_file_is_an_error_naming_it(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="nope.toml"):
        load_scenario(str(tmp_path / "nope.toml"))


def test_scenario_from_dict_round_trips_a_loaded_scenario(default_data: dict) -> None:
    assert scenario_from_dict(default_data).data == default_data, "the tree changed on the way"


# -------------------------------------------------------------------------- errors


def test_an_unknown_key_in_a_table_is_named() -> None:
    text = _error('base = "default"\n[power]\nsolar_wings = 2\n')
    assert "power.solar_wings" in text and "unknown key" in text, text
    assert "housekeeping_w" in text, f"the known keys are not listed: {text}"


def test_an_unknown_top_level_key_is_named() -> None:
    text = _error('base = "default"\ncolour = "red"\n')
    assert "colour" in text and "unknown key" in text, text


def test_an_unknown_station_key_is_named() -> None:
    text = _error('base = "default"\n' + STATION.format(name="a", lat=1.0) + "antenna_m = 3\n")
    assert "ground_stations[0].antenna_m" in text and "unknown key" in text, text


def test_a_missing_key_is_named_with_what_was_expected(default_data: dict) -> None:
    data = copy.deepcopy(default_data)
    del data["power"]["housekeeping_w"]
    text = _dict_error(data)
    assert "power.housekeeping_w" in text and "missing" in text, text
    assert "[0, 1000000.0]" in text, f"expected range not shown: {text}"


def test_a_missing_table_is_named(default_data: dict) -> None:
    data = copy.deepcopy(default_data)
    del data["thermal"]
    text = _dict_error(data)
    assert "[thermal]" in text and "expected a table" in text, text


def test_a_missing_station_key_is_named(default_data: dict) -> None:
    data = copy.deepcopy(default_data)
    del data["ground_stations"][0]["uplink_bps"]
    text = _dict_error(data)
    assert "ground_stations[0].uplink_bps" in text and "missing" in text, text


def test_a_wrong_type_is_named_with_expected_and_got() -> None:
    text = _error('base = "default"\n[power]\nhousekeeping_w = "a lot"\n')
    assert "power.housekeeping_w" in text and "expected a number" in text, text
    assert "'a lot'" in text, f"the value that came is not shown: {text}"


def test_a_float_where_an_integer_is_expected_is_named() -> None:
    text = _error('base = "default"\n[boards]\ncount = 4.5\n')
    assert "boards.count" in text and "expected an integer" in text and "4.5" in text, text


def test_a_bool_where_a_number_is_expected_is_rejected() -> None:
    text = _error('base = "default"\n[boards]\ncount = true\n')
    assert "boards.count" in text and "True" in text, text


def test_a_value_out_of_range_is_named_with_the_range_and_the_value() -> None:
    text = _error('base = "default"\n[power]\npanel_efficiency = 1.5\n')
    assert "power.panel_efficiency" in text, text
    assert "[0, 1]" in text and "1.5" in text, f"range or value missing: {text}"


def test_a_nan_is_out_of_range() -> None:
    text = _error('base = "default"\n[power]\npanel_efficiency = nan\n')
    assert "power.panel_efficiency" in text and "nan" in text, text


@pytest.mark.parametrize("epoch", ['"2026-12-01 00:00:00"', '"2026-12-01T00:00:00"', "2026-12-01T00:00:00Z", "5"],
                         ids=["space", "no-Z", "toml-datetime", "number"])
def test_a_bad_epoch_is_named_with_the_expected_format(epoch: str) -> None:
    text = _error(f'base = "default"\nepoch_utc = {epoch}\n')
    assert text.startswith("epoch_utc:"), f"the key is not named first: {text}"
    assert "YYYY-MM-DDTHH:MM:SSZ" in text, f"the expected format is not shown: {text}"


def test_a_bad_tick_is_named() -> None:
    text = _error('base = "default"\ntick_s = 0.0\n')
    assert "tick_s" in text and "[0.1, 60]" in text and "0.0" in text, text


def test_bad_toml_is_reported_as_such() -> None:
    with pytest.raises(ScenarioError, match="not valid TOML"):
        parse_scenario("[power\nx = 1\n", "broken.toml")


def test_an_unknown_base_is_named_with_the_built_ins() -> None:
    text = _error('base = "nope"\n')
    assert "base" in text and "'nope'" in text and "default" in text, text


def test_a_base_that_is_not_a_string_is_rejected() -> None:
    text = _error("base = 3\n")
    assert "base" in text and "3" in text, text


def test_idle_power_not_below_min_power_is_rejected() -> None:
    text = _error('base = "default"\n[boards]\nidle_power_w = 200.0\n')
    assert "idle_power_w < min_power_w" in text, f"the expected order is not shown: {text}"
    assert "200.0, 200.0, 700.0" in text, f"the values that came are not shown: {text}"


def test_reversed_louver_set_points_are_rejected() -> None:
    text = _error('base = "default"\n[thermal]\nlouver_closed_below_c = 30.0\n'
                  "louver_open_above_c = 20.0\n")
    assert "louver_closed_below_c < louver_open_above_c" in text, text
    assert "30.0, 20.0" in text, f"the values that came are not shown: {text}"


def test_thermal_thresholds_out_of_order_are_rejected() -> None:
    text = _error('base = "default"\n[thermal]\nboard_cap_start_c = 90.0\n')
    assert "board_cap_start_c < board_limit_c < board_trip_c" in text and "90.0" in text, text


def test_an_initial_soc_below_the_floor_is_rejected() -> None:
    text = _error('base = "default"\n[power]\nbattery_initial_soc = 0.1\n')
    assert "power.battery_initial_soc" in text and "0.25" in text and "0.1" in text, text


def test_no_ground_station_is_rejected() -> None:
    text = _error('base = "default"\nground_stations = []\n')
    assert "ground_stations" in text and "at least one" in text, text


def test_a_station_name_too_long_is_rejected() -> None:
    text = _error('base = "default"\n' + STATION.format(name="x" * 33, lat=1.0))
    assert "ground_stations[0].name" in text and "1..32" in text, text


ISS_TLE = ["1 25544U 98067A   26330.50000000  .00016717  00000-0  10270-3 0  9006",
           "2 25544  51.6416 247.4627 0006703 130.5360 325.0288 15.49815063 10002"]


def _tle_toml(lines: list[str]) -> str:
    return f'base = "default"\n[orbit]\ntle = ["{lines[0]}",\n       "{lines[1]}"]\n'


def test_a_based_file_may_switch_the_orbit_to_a_tle(tmp_path):
    path = tmp_path / "iss.toml"
    path.write_text(_tle_toml(ISS_TLE))
    sc = load_scenario(str(path))
    assert sc["orbit"] == {"tle": ISS_TLE}, "the TLE replaces the base's circular elements"
    assert sc.name == "iss"


def test_a_tle_with_a_bad_checksum_is_named_by_line_and_column(tmp_path):
    bad = [ISS_TLE[0][:-1] + "5", ISS_TLE[1]]
    path = tmp_path / "bad.toml"
    path.write_text(_tle_toml(bad))
    with pytest.raises(ScenarioError, match=r"orbit\.tle\[0\].*column 69"):
        load_scenario(str(path))


# ---------------------------------------------------- failed boards and bursts


def test_failed_boards_default_to_none_and_bursts_to_off(default_data: dict) -> None:
    assert default_data["boards"]["failed"] == [], "boards.failed is not [] by default"
    w = default_data["workload"]
    assert (w["burst_every_h"], w["burst_jobs"]) == (0.0, 0), "bursts are on by default"


def test_failed_boards_in_range_are_accepted() -> None:
    sc = parse_scenario('base = "default"\n[boards]\nfailed = [0, 15]\n')
    assert sc["boards"]["failed"] == [0, 15], f"boards.failed became {sc['boards']['failed']}"


def test_the_failed_list_default_is_not_shared_between_scenarios() -> None:
    a = parse_scenario('base = "default"\n')
    a["boards"]["failed"].append(3)
    assert parse_scenario('base = "default"\n')["boards"]["failed"] == [], (
        "changing one scenario's boards.failed changed another's"
    )


@pytest.mark.parametrize("value", ["[16]", "[-1]", "[1, 1]", "[1.0]", "[true]", "3", '"3"'])
def test_a_bad_failed_board_list_is_named(value: str) -> None:
    text = _error(f'base = "default"\n[boards]\nfailed = {value}\n')
    assert "boards.failed" in text and "expected" in text, text


def test_a_failed_board_beyond_the_count_names_the_count() -> None:
    text = _error('base = "default"\n[boards]\ncount = 4\nfailed = [4]\n')
    assert "boards.failed" in text and "[0, 4)" in text and "[4]" in text, text


@pytest.mark.parametrize(("key", "value"), [("burst_every_h", "-1.0"), ("burst_every_h", "0.01"),
                                            ("burst_every_h", '"often"'), ("burst_jobs", "2.5"),
                                            ("burst_jobs", "-3")])
def test_a_bad_burst_key_is_named(key: str, value: str) -> None:
    text = _error(f'base = "default"\n[workload]\n{key} = {value}\n')
    assert f"workload.{key}" in text and "expected" in text and value.strip('"') in text, text
