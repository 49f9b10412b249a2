"""The space link end to end in a lockstep run: the real flight apps, the simulated radio
and the real station, over CCSDS packets, authenticated telecommands and CFDP files.

Two hours of the default scenario hold the first two passes over Madrid."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest

from sim.harness import RunConfig, parse_fault_plan, run
from sim.scenario import load_scenario

HOURS = 2.0
PLAN = """
[[command]]
tick = 100
target = "power"
opcode = 0

[[command]]
tick = 120
target = "comms"
opcode = 112
args = { key_id = 2 }

[[command]]
tick = 200
target = "executor"
opcode = 0

[[command]]
tick = 6000
target = "thermal"
opcode = 0
"""


@pytest.fixture(scope="module")
def link_run(tmp_path_factory) -> tuple[dict, Path]:
    out = tmp_path_factory.mktemp("space-link")
    cfg = RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=HOURS, mode="fast",
                    faults=parse_fault_plan(PLAN, "plan"), out_dir=out, plots=False)
    return run(cfg), out / "ground" / "archive.sqlite"


def test_results_arrive_as_files_and_are_archived(link_run) -> None:
    rep, archive = link_run
    db = sqlite3.connect(archive)
    files = db.execute("SELECT name, status, job_id FROM files").fetchall()
    results = [f for f in files if f[0].startswith("results/")]
    assert results, f"no result file reached the ground in {HOURS} h: {rep['space_link']}"
    assert all(status == "ok" for _, status, _ in results), f"a result file was rejected: {results}"
    archived = {r[0] for r in db.execute("SELECT job_id FROM results")}
    assert archived == {job for _, _, job in results}, "archived results and received files differ"
    assert rep["jobs"]["downlinked"] == len(archived), "the report and the archive disagree"
    assert rep["jobs"]["lost"] == 0


def test_every_command_completes_including_the_key_rotation(link_run) -> None:
    rep, archive = link_run
    by_target = {(c["target"], c["opcode"]): c for c in rep["commands"]}
    assert len(by_target) == 4, rep["commands"]
    for c in by_target.values():
        assert c["stage"] == "COMPLETED" and c["status"] == "OK", f"command not completed: {c}"
    db = sqlite3.connect(archive)
    stages = [r[0] for r in db.execute(
        "SELECT stage FROM command_stages WHERE cmd_id = (SELECT cmd_id FROM commands WHERE target = 'power') "
        "ORDER BY id")]
    assert stages[:4] == ["QUEUED", "RELEASED", "SENT", "ACCEPTED"] and stages[-1] == "COMPLETED", stages
    # the command sent after the rotation went up signed with key 2, and was accepted
    onboard = rep["space_link"]["onboard"]
    assert onboard["tc_rejected"] == {}, f"telecommands rejected on board: {onboard['tc_rejected']}"


def test_housekeeping_and_events_reach_the_archive(link_run) -> None:
    _, archive = link_run
    db = sqlite3.connect(archive)
    channels = {r[0] for r in db.execute("SELECT DISTINCT channel FROM telemetry")}
    for ch in ("power.power_budget.battery_soc", "executor.executor_status.jobs_queued",
               "comms.comms_status.frames_down", "world.board_sensors.temp_c.0"):
        assert ch in channels, f"{ch} not archived; have {sorted(channels)[:20]}..."
    soc = [v for (v,) in db.execute("SELECT value FROM telemetry WHERE channel = 'power.power_budget.battery_soc'")]
    assert soc and all(0.0 < v <= 1.0 for v in soc), soc[:5]
    n_events = db.execute("SELECT COUNT(*) FROM events").fetchone()[0]
    assert n_events > 0, "no event reached the archive"
    logs = db.execute("SELECT data FROM files WHERE name LIKE 'logs/%'").fetchall()
    assert logs, "no event log file came down"
    first = json.loads(bytes(logs[0][0]).decode().splitlines()[0])
    assert {"t_ns", "src", "severity", "name", "text"} <= set(first)


def test_passes_are_recorded_with_their_bytes(link_run) -> None:
    rep, archive = link_run
    db = sqlite3.connect(archive)
    actual = db.execute("SELECT station, aos_t_ns, los_t_ns, bytes_down FROM passes WHERE predicted = 0").fetchall()
    assert len(actual) == 2, f"expected the 2 passes of the first {HOURS} h, got {actual}"
    assert all(los > aos and down > 0 for _, aos, los, down in actual), actual
    assert rep["space_link"]["ground"]["tm_gaps"] == 0, "packets went missing on a loss-free link"
