"""The whole stack under planned hardware faults: a board hang, a board failure and a
radiation burst, in one short fast-mode run of the default day's first 20 minutes (the
first pass opens at ~533 s, so jobs are uploaded and boards are at work when the faults
strike). Checks that the faults land and that the report carries the new sections."""

from __future__ import annotations

from pathlib import Path

import pytest

from sim.harness import RunConfig, parse_fault_plan, run
from sim.scenario import load_scenario

HOURS = 1200 / 3600  # 1200 ticks of 1 s
PLAN = """
[[board]]
board = 0
tick = 700
fault = "hang"
[[board]]
board = 1
tick = 750
fault = "fail"
[[radiation]]
start_tick = 600
end_tick = 1100
multiplier = 30000.0
[[command]]
tick = 650
target = "executor"
opcode = 0
"""


def _run(out: Path, mode: str) -> dict:
    cfg = RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=HOURS,
                    mode=mode, faults=parse_fault_plan(PLAN), out_dir=out, plots=False)
    return run(cfg)


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> dict:
    return _run(tmp_path_factory.mktemp("faults") / "run", "fast")


def test_the_planned_board_faults_strike_and_are_counted(report) -> None:
    assert report["injected"] == {"hang": 1, "fail": 1, "sdc": 0}, f"injected {report['injected']}"
    hw = report["hardware_events"]
    assert hw["sefi"] >= 1 and hw["board_failures"] >= 1, f"hardware events {hw}"
    assert report["boards_failed"] >= 1


def test_the_burst_brings_upsets_that_are_counted_by_job(report) -> None:
    integrity = report["integrity"]
    assert integrity["sdc_injected"] > 0, f"a x30000 burst in 500 s of work gave no upset: {integrity}"
    assert integrity["sdc_injected"] == report["hardware_events"]["sdc"]
    assert integrity["sdc_injected_protected"] <= integrity["sdc_injected"]


def test_the_report_has_the_integrity_section(report) -> None:
    integrity = report["integrity"]
    assert set(integrity) == {"sdc_injected", "sdc_injected_protected", "sdc_detected",
                              "protected_jobs_hit", "undetected_protected",
                              "corrupt_results_downlinked", "corrupt_results_delivered"}, sorted(integrity)
    assert integrity["protected_jobs_hit"] == sorted(integrity["protected_jobs_hit"])
    assert set(integrity["undetected_protected"]) <= set(integrity["protected_jobs_hit"])
    assert integrity["corrupt_results_downlinked"] == report["results_corrupt"]
    assert integrity["corrupt_results_delivered"] == 0, "a wrong result reached the archive"


def test_the_report_has_modes_restarts_by_process_and_preemptions(report) -> None:
    modes = report["modes"]
    assert set(modes) == {"time_in_each_s", "transitions", "changes"}, sorted(modes)
    total_s = sum(modes["time_in_each_s"].values())
    assert 0 < total_s <= report["ticks"], f"time in modes {modes['time_in_each_s']}"
    assert len(modes["changes"]) == min(modes["transitions"], 200)
    assert report["restarts_by_process"] == {} and report["restarts"] == []
    # the hung and the failed board each had a job: both jobs went back to their checkpoints
    assert report["preemptions"] >= 2, report["preemptions"]
    assert report["boards"]["power_cycles"] >= 1 and 1 in report["boards"]["out_of_service"], report["boards"]


def test_no_accepted_job_is_lost_under_board_faults(report) -> None:
    assert report["jobs"]["accepted"] > 0 and report["jobs"]["lost"] == 0, report["jobs"]


def test_the_fault_plan_replays_identically_in_hil_mode(report, tmp_path) -> None:
    hil = _run(tmp_path / "hil", "hil")
    assert hil["digest"] == report["digest"], "hil and fast differ under the same fault plan"
    for key in ("injected", "hardware_events", "integrity", "modes"):
        assert hil[key] == report[key], f"{key} differs between hil and fast"
