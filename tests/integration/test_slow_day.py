"""Slow tier (make test-slow): a whole simulated day, in hil and in fast mode, with kills."""

from __future__ import annotations

import pytest

from sim.harness import RunConfig, parse_fault_plan, run
from sim.scenario import load_scenario

KILLS = """
[[kill]]
process = "executor"
tick = 20000
[[kill]]
process = "comms"
tick = 20600
[[kill]]
process = "power"
tick = 43000
[[kill]]
process = "thermal"
tick = 61000
"""


@pytest.mark.slow
def test_a_day_with_kills_replays_identically_in_hil_and_fast_mode_and_loses_nothing(tmp_path):
    sc = load_scenario("default")
    plan = parse_fault_plan(KILLS)
    reps = {
        mode: run(RunConfig(scenario=sc, scenario_ref="default", hours=24.0, mode=mode, faults=plan,
                            out_dir=tmp_path / mode, plots=False))
        for mode in ("fast", "hil")
    }
    assert reps["hil"]["digest"] == reps["fast"]["digest"], "hil and fast differ over a day"
    for mode, rep in reps.items():
        assert rep["jobs"]["lost"] == 0, f"{mode}: {rep['jobs']}"
        assert len(rep["restarts"]) == 4, f"{mode}: restarts {rep['restarts']}"
        assert not any(rep["violations"].values()), f"{mode}: {rep['violations']}"
        assert rep["jobs"]["downlinked"] > 100, f"{mode}: too little delivered {rep['jobs']}"
