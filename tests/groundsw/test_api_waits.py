"""Why a job waits on board, as the API and the CLI show it: the archive's ``wait_reason``
(written by the station's writer, as a station would from a JobWaits) comes back from the
job endpoints and in ``groundsw job list`` and ``job show``."""

from __future__ import annotations

import json

import pytest

from groundsw.cli import main
from tests.groundsw.conftest import Ground

S = 1_000_000_000


@pytest.fixture(scope="module", autouse=True)
def waiting(ground: Ground) -> None:
    """job-w1 accepted on board and waiting for energy; job-w2 accepted, reason unknown."""
    a = ground.open_archive()
    try:
        for job_id in ("job-w1", "job-w2"):
            a.add_job(job_id, "synthetic", 2, -1, 10.0, b"", 0)
            a.set_stage(job_id, "ACCEPTED", 2 * S)
        assert a.set_wait_reasons([("job-w1", "energy")]) == 1
    finally:
        a.close()


def test_a_job_shows_why_it_waits(ground, http) -> None:
    r = http.get("/api/jobs/job-w1", headers=ground.auth("vera"))
    assert r.status_code == 200, r.text
    assert r.json()["job"]["wait_reason"] == "energy"
    assert http.get("/api/jobs/job-w2", headers=ground.auth("vera")).json()["job"]["wait_reason"] is None


def test_the_job_list_carries_the_wait_reasons(ground, http) -> None:
    jobs = http.get("/api/jobs", params={"stage": "ACCEPTED"}, headers=ground.auth("vera")).json()["jobs"]
    assert {j["job_id"]: j["wait_reason"] for j in jobs} == {"job-w1": "energy", "job-w2": None}
    archived = http.get("/api/jobs", params={"stage": "ARCHIVED"}, headers=ground.auth("vera")).json()["jobs"]
    assert archived and all(j["wait_reason"] is None for j in archived), "a finished job shows a wait reason"


def test_the_cli_lists_and_shows_why_a_job_waits(ground, capsys) -> None:
    argv = ["--url", ground.url, "--token", ground.tokens["vera"], "job"]
    assert main([*argv, "list", "--stage", "ACCEPTED"]) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[5] == "waits", out[0]
    w1 = next(line for line in out if line.startswith("job-w1"))
    w2 = next(line for line in out if line.startswith("job-w2"))
    assert w1.split()[5] == "energy" and w2.split()[5] == "-", out
    assert main([*argv, "show", "job-w1"]) == 0
    assert "waits on board for: energy" in capsys.readouterr().out
    assert main(["--url", ground.url, "--token", ground.tokens["vera"], "--json", "job", "show", "job-w1"]) == 0
    assert json.loads(capsys.readouterr().out)["wait_reason"] == "energy"
