"""The operator CLI over a real archive written by a real (fast-mode) run."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flightsw.icd.results import verify_result
from groundsw.cli import main
from sim.harness import RunConfig, run
from sim.scenario import load_scenario


@pytest.fixture(scope="module")
def archive(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("gcli") / "run"
    run(RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=1000 / 3600,
                  mode="fast", out_dir=out, plots=False))
    return out / "ground" / "archive.sqlite"


def test_jobs_lists_every_released_job_as_json(archive, capsys):
    assert main(["jobs", "--archive", str(archive), "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert len(rows) >= 400, "the backlog of 400 jobs is released at the epoch"
    assert any(r["stage"] == "ARCHIVED" for r in rows), "some results were archived"


def test_result_writes_a_verified_result(archive, tmp_path, capsys):
    main(["jobs", "--archive", str(archive), "--stage", "ARCHIVED", "--json"])
    job = json.loads(capsys.readouterr().out)[0]
    out = tmp_path / "r.bin"
    assert main(["result", job["job_id"], "--archive", str(archive), "--out", str(out)]) == 0
    assert out.stat().st_size > 0
    assert "verified" in capsys.readouterr().out
    main(["stages", job["job_id"], "--archive", str(archive), "--json"])
    stages = [s["stage"] for s in json.loads(capsys.readouterr().out)]
    assert stages[0] == "RELEASED" and stages[-1] == "ARCHIVED", stages
    assert verify_result(job["kind"], out.read_bytes(), bytes(32))[0] is False  # digest matters


def test_unknown_job_and_missing_archive_are_clear_errors(archive, tmp_path, capsys):
    assert main(["stages", "job-nope", "--archive", str(archive)]) == 2
    assert "job-nope" in capsys.readouterr().err
    assert main(["jobs", "--archive", str(tmp_path / "missing.sqlite")]) == 2
    assert "--archive" in capsys.readouterr().err
