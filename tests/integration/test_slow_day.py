"""Slow tier (make test-slow): issue 4's acceptance run. The default scenario for a whole
day with the built-in fault plan ``day-of-faults`` (every app killed once, a board hung,
another failed, radiation x10 for an hour, planted upsets, ground commands), in hil and
in fast mode: the same digest, nothing lost, nothing corrupt delivered, every upset in a
protected job detected, no violations, no mode flapping."""

from __future__ import annotations

import pytest

from sim.harness import RunConfig, load_fault_plan, run
from sim.scenario import load_scenario

# A mode change is a decision with a reason (eclipse, SOC thresholds, safe mode); about 16
# orbits a day, each with an eclipse, allow a few changes per orbit and no more.
MAX_MODE_TRANSITIONS_PER_DAY = 4 * 16
ONBOARD = ("comms", "executor", "power", "supervisor", "thermal")


@pytest.fixture(scope="module")
def reports(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("day")
    sc = load_scenario("default")
    plan = load_fault_plan("day-of-faults")
    return {
        mode: run(RunConfig(scenario=sc, scenario_ref="default", hours=24.0, mode=mode, faults=plan,
                            out_dir=tmp / mode, plots=False))
        for mode in ("fast", "hil")
    }


@pytest.mark.slow
def test_hil_and_fast_replay_the_day_of_faults_identically(reports) -> None:
    assert reports["hil"]["digest"] == reports["fast"]["digest"], "hil and fast differ over a day"


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "hil"])
def test_the_day_of_faults_loses_nothing_and_delivers_nothing_corrupt(reports, mode) -> None:
    rep = reports[mode]
    assert rep["jobs"]["lost"] == 0, rep["jobs"]
    assert rep["jobs"]["downlinked"] > 100, f"too little delivered: {rep['jobs']}"
    integ = rep["integrity"]
    assert integ["corrupt_results_delivered"] == 0, integ
    assert integ["undetected_protected"] == [], integ
    assert integ["sdc_injected_protected"] == 0 or integ["sdc_detected"] > 0, integ
    assert not any(rep["violations"].values()), rep["violations"]
    assert rep["dead_at_end"] == [], rep["dead_at_end"]


@pytest.mark.slow
@pytest.mark.parametrize("mode", ["fast", "hil"])
def test_every_app_restarts_once_and_the_modes_do_not_flap(reports, mode) -> None:
    rep = reports[mode]
    assert rep["restarts_by_process"] == {p: 1 for p in ONBOARD}, rep["restarts"]
    assert rep["injected"]["hang"] == 1 and rep["injected"]["fail"] == 1, rep["injected"]
    assert rep["modes"]["transitions"] <= MAX_MODE_TRANSITIONS_PER_DAY, rep["modes"]
    assert rep["boards"]["power_cycles"] >= 1 and 11 in rep["boards"]["out_of_service"], rep["boards"]
    assert [c["status"] for c in rep["commands"]] == ["OK"] * len(rep["commands"]), rep["commands"]
    assert set(rep["modes"]["time_in_each_s"]) <= {"SAFE", "LOW_POWER", "NOMINAL", "COMPUTE"}
