"""Modes in a scenario run: the ground orders SAFE mode through the supervisor's mode
manager during a pass; released, the power manager climbs one mode at a time, with a low
battery through LOW_POWER (load shed, no battery for compute) to NOMINAL, never flapping."""

from __future__ import annotations

import pytest

from sim.harness import RunConfig, parse_fault_plan, run
from sim.scenario import load_scenario

LOW_BATTERY = """
base = "default"
[power]
battery_initial_soc = 0.36
"""
SAFE_AND_BACK = """
[[command]]
tick = 600
target = "supervisor"
opcode = 80
args = { mode = "SAFE", reason = "operator test" }
[[command]]
tick = 900
target = "supervisor"
opcode = 80
args = { mode = "NOMINAL", reason = "operator test over" }
"""
HOURS = 1.5
MAX_TRANSITIONS = 6  # LOW_POWER -> NOMINAL, SAFE and back, each at most once or twice


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    tmp = tmp_path_factory.mktemp("modes")
    path = tmp / "low_battery.toml"
    path.write_text(LOW_BATTERY)
    cfg = RunConfig(scenario=load_scenario(str(path)), scenario_ref=str(path), hours=HOURS, mode="fast",
                    faults=parse_fault_plan(SAFE_AND_BACK), out_dir=tmp / "run", plots=False)
    return run(cfg)


def test_out_of_safe_mode_a_low_battery_climbs_through_low_power_without_flapping(report) -> None:
    modes = report["modes"]
    path = [(c["from"], c["to"]) for c in modes["changes"]]
    assert ("SAFE", "LOW_POWER") in path and ("LOW_POWER", "NOMINAL") in path, path
    assert path.index(("LOW_POWER", "NOMINAL")) > path.index(("SAFE", "LOW_POWER")), path
    assert modes["time_in_each_s"].get("LOW_POWER", 0) > 600, modes["time_in_each_s"]
    assert modes["transitions"] <= MAX_TRANSITIONS, modes
    assert not any(report["violations"].values()), report["violations"]


def test_the_ground_orders_safe_mode_and_releases_it(report) -> None:
    statuses = [(c["opcode"], c["status"]) for c in report["commands"]]
    assert statuses == [(80, "OK"), (80, "OK")], report["commands"]
    changes = report["modes"]["changes"]
    into = [c for c in changes if c["to"] == "SAFE"]
    out = [c for c in changes if c["from"] == "SAFE"]
    assert into and 600 <= into[0]["t_s"] <= 620, changes
    assert out and out[0]["t_s"] > into[0]["t_s"], changes
    assert report["modes"]["time_in_each_s"]["SAFE"] >= 250, report["modes"]["time_in_each_s"]
    assert report["jobs"]["lost"] == 0
