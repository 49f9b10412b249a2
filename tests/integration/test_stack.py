"""The whole stack: real onboard processes over ZeroMQ against the simulated world and
the ground station, compared with the same run in one process.

One short scenario window (the first 20 minutes of the default day: the first pass
opens at ~533 s, so jobs are uploaded, accepted, run, and results go down) is run
several ways; the tests compare what came out.
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from sim.harness import FaultPlan, RunConfig, parse_fault_plan, run
from sim.scenario import load_scenario

HOURS = 1200 / 3600  # 1200 ticks of 1 s
KILLS = """
[[kill]]
process = "executor"
tick = 560
[[kill]]
process = "comms"
tick = 600
[[kill]]
process = "supervisor"
tick = 900
"""


def _run(tmp: Path, name: str, mode: str, faults: FaultPlan | None = None) -> dict:
    cfg = RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=HOURS,
                    mode=mode, faults=faults or FaultPlan(), out_dir=tmp / name, plots=False)
    return run(cfg)


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, dict]:
    tmp = tmp_path_factory.mktemp("stack")
    plan = parse_fault_plan(KILLS)
    return {
        "fast": _run(tmp, "fast", "fast"),
        "fast_again": _run(tmp, "fast_again", "fast"),
        "hil": _run(tmp, "hil", "hil"),
        "hil_again": _run(tmp, "hil_again", "hil"),
        "fast_kill": _run(tmp, "fast_kill", "fast", plan),
        "hil_kill": _run(tmp, "hil_kill", "hil", plan),
    }


def test_the_short_window_exercises_the_whole_job_path(runs):
    jobs = runs["hil"]["jobs"]
    assert jobs["accepted"] > 0, f"no job was accepted: {jobs}"
    assert jobs["completed"] > 0, f"no job completed: {jobs}"
    assert jobs["downlinked"] > 0, f"no result reached the ground: {jobs}"
    assert runs["hil"]["results_corrupt"] == 0


def test_the_same_seed_gives_the_same_digest_twice_in_fast_mode(runs):
    assert runs["fast"]["digest"] == runs["fast_again"]["digest"]


def test_the_same_seed_gives_the_same_digest_twice_in_hil_mode(runs):
    assert runs["hil"]["digest"] == runs["hil_again"]["digest"]


def test_hil_and_fast_modes_give_the_same_digest(runs):
    assert runs["hil"]["digest"] == runs["fast"]["digest"]
    for key in ("energy", "work_gpu_s", "jobs", "value_delivered", "soc_min"):
        assert runs["hil"][key] == runs["fast"][key], f"{key} differs between hil and fast"


def test_killed_processes_are_restarted_and_no_job_is_lost(runs):
    for name in ("hil_kill", "fast_kill"):
        rep = runs[name]
        killed = sorted(k["process"] for k in rep["kills"])
        restarted = sorted(r["process"] for r in rep["restarts"])
        assert killed == ["comms", "executor", "supervisor"], f"{name}: kills {rep['kills']}"
        assert restarted == killed, f"{name}: every killed process restarts, got {rep['restarts']}"
        assert rep["jobs"]["lost"] == 0, f"{name}: jobs lost {rep['jobs']}"
        assert rep["jobs"]["downlinked"] > 0, f"{name}: results still reach the ground"


def test_a_fault_plan_replays_identically_in_hil_and_fast_modes(runs):
    assert runs["hil_kill"]["digest"] == runs["fast_kill"]["digest"]
    assert runs["hil_kill"]["digest"] != runs["hil"]["digest"], "the kills changed nothing?"


def test_no_limit_is_broken(runs):
    for name, rep in runs.items():
        bad = {k: v for k, v in rep["violations"].items() if v}
        assert not bad, f"{name}: violations {bad}"


def test_sim_run_json_ends_stdout_with_the_report(tmp_path):
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "--mode", "fast", "--hours", "0.05", "--json",
         "--no-plots", "--out", str(tmp_path / "cli")],
        capture_output=True, text=True, timeout=120, check=False,
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    for key in ("scenario", "seed", "policy", "mode", "sim_hours", "wall_s", "digest", "energy",
                "work_gpu_s", "value_delivered", "jobs", "soc_min", "board_temp_max_c",
                "violations", "events_by_severity"):
        assert key in report, f"report lacks {key}"
    for key in ("harvested_wh", "to_compute_wh", "curtailed_wh"):
        assert key in report["energy"]
    for key in ("submitted", "accepted", "completed", "downlinked", "failed", "expired", "lost"):
        assert key in report["jobs"]
    for key in ("soc_floor", "board_overtemp", "board_undertemp", "battery_temp"):
        assert key in report["violations"]
    assert (tmp_path / "cli" / "report.json").is_file()
    assert (tmp_path / "cli" / "events.jsonl").is_file()


def test_sim_run_rejects_a_bad_fault_plan_with_the_field_named(tmp_path):
    plan = tmp_path / "bad.toml"
    plan.write_text('[[kill]]\nprocess = "world"\ntick = 5\n')
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "--mode", "fast", "--hours", "0.01",
         "--faults", str(plan), "--out", str(tmp_path / "x")],
        capture_output=True, text=True, timeout=60, check=False,
    )
    assert proc.returncode == 2
    assert "kill[0].process" in proc.stderr and "world" in proc.stderr, proc.stderr


def test_the_restart_cap_escalates_to_safe_mode_and_still_loses_nothing(tmp_path):
    kills = "\n".join(f'[[kill]]\nprocess = "executor"\ntick = {t}' for t in range(600, 1200, 90))
    rep = _run(tmp_path, "cap", "fast", parse_fault_plan(kills))
    restarts = [r for r in rep["restarts"] if r["process"] == "executor"]
    assert len(restarts) == 5, f"the supervisor restarts at most 5 times, did {len(restarts)}"
    assert rep["events_by_severity"].get("FATAL", 0) >= 1, "the cap raises a FATAL event"
    assert rep["dead_at_end"] == ["executor"]
    assert rep["jobs"]["lost"] == 0, rep["jobs"]


def test_sim_run_refuses_to_overwrite_a_folder_that_is_not_a_run(tmp_path):
    precious = tmp_path / "notes"
    precious.mkdir()
    (precious / "thesis.txt").write_text("do not delete")
    proc = subprocess.run(
        [sys.executable, "-m", "sim.cli", "run", "--mode", "fast", "--hours", "0.01", "--no-plots",
         "--out", str(precious)], capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 2 and "--out" in proc.stderr, proc.stderr
    assert (precious / "thesis.txt").read_text() == "do not delete"
