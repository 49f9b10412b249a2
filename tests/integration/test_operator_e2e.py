"""An operator's session end to end: a realtime-mode simulation (the flight processes over
ZeroMQ, paced by the wall clock), the station writing its archive, ``groundsw serve`` over
that archive, and the ``groundsw`` CLI as separate processes, all on loopback.

The operator submits a job and a command before the first pass; the station releases and
uplinks them when the pass opens; the job runs on board, its result comes down as a CFDP
file in the same pass, and the CLI fetches it and verifies it. The scenario is the default
one with its epoch moved so the first pass over Madrid opens about 545 s in (18 s of wall time).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.live import free_port, stop_all, wait_for

BIN = Path(sys.executable).parent
SPEED = 30.0  # sim seconds per wall second
HOURS = 0.2  # 720 sim s: the pass runs from about 545 s to the end
SCENARIO = """
base = "default"
epoch_utc = "2026-12-01T00:06:30Z"
"""
JOB = """
kind = "synthetic"
priority = 9
work_gpu_s = 5.0
output_bytes = 4096
"""


def _cli(url: str, token: str, *args: str, check: bool = True) -> dict | list:
    p = subprocess.run([str(BIN / "groundsw"), "--url", url, "--token", token, "--json", *args],
                       capture_output=True, text=True, timeout=60)
    if check:
        assert p.returncode == 0, f"groundsw {' '.join(args)}: rc {p.returncode}\n{p.stdout}\n{p.stderr}"
    return json.loads(p.stdout) if p.stdout.strip() else {}


@pytest.fixture
def session(tmp_path):
    scenario = tmp_path / "early-pass.toml"
    scenario.write_text(SCENARIO)
    out = tmp_path / "run"
    ground = out / "ground"
    env = dict(os.environ)
    sim = subprocess.Popen([str(BIN / "sim"), "run", "--scenario", str(scenario), "--hours", str(HOURS),
                            "--mode", "realtime", "--speed", str(SPEED), "--out", str(out), "--json", "--no-plots"],
                           stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, start_new_session=True, env=env)
    procs = [sim]
    try:
        wait_for("the station's archive", lambda: (ground / "archive.sqlite").exists(), 60, 0.05)
        made = subprocess.run([str(BIN / "groundsw"), "--json", "users", "add", "olga", "--role", "operator",
                               "--data", str(ground)], capture_output=True, text=True, timeout=60)
        assert made.returncode == 0, made.stderr
        token = json.loads(made.stdout)["token"]
        port = free_port()
        api = subprocess.Popen([str(BIN / "groundsw"), "serve", "--host", "127.0.0.1", "--port", str(port),
                                "--data", str(ground)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        procs.append(api)
        url = f"http://127.0.0.1:{port}"
        wait_for("the API", lambda: _ok(url, token), 120, 0.1)  # a cold venv compiles fastapi/pydantic first
        yield sim, url, token, tmp_path
    finally:
        stop_all(procs)


def _ok(url: str, token: str) -> bool:
    p = subprocess.run([str(BIN / "groundsw"), "--url", url, "--token", token, "--json", "status"],
                       capture_output=True, text=True, timeout=30)
    return p.returncode == 0


def test_an_operator_submits_a_job_and_a_command_and_gets_the_verified_result(session) -> None:
    sim, url, token, tmp = session
    spec = tmp / "job.toml"
    spec.write_text(JOB)
    job = _cli(url, token, "job", "submit", str(spec))
    job_id = job["job_id"]
    assert job["stage"] == "QUEUED" and job["estimate_energy_wh"] > 0, job
    cmd = _cli(url, token, "cmd", "power.NOOP")
    cmd_id = cmd["cmd_id"]

    def archived():
        shown = _cli(url, token, "job", "show", job_id)
        return shown if shown["stage"] == "ARCHIVED" else None

    shown = wait_for(f"job {job_id} to be archived", archived, 120)
    stages = [s["stage"] for s in shown["stages"]]
    for stage in ("QUEUED", "RELEASED", "SENT", "ACCEPTED", "STARTED", "COMPLETED", "ARCHIVED"):
        assert stage in stages, f"{stage} missing from {stages}"
    assert stages.index("RELEASED") < stages.index("SENT") < stages.index("ACCEPTED") < stages.index("COMPLETED")

    got = _cli(url, token, "result", "get", job_id, "--out", str(tmp / "results"))
    data = (tmp / "results" / f"{job_id}.bin").read_bytes()
    assert len(data) == 4096 and got["verified"] is True, got

    c = wait_for("the command to complete",
              lambda: (lambda r: r if r["stage"] in ("COMPLETED", "FAILED", "TIMEOUT") else None)(
                  _cli(url, token, "cmd", "show", str(cmd_id))), 60)
    assert c["stage"] == "COMPLETED" and c["status"] == "OK", c
    cstages = [s["stage"] for s in c["stages"]]
    assert cstages[:4] == ["QUEUED", "RELEASED", "SENT", "ACCEPTED"], cstages

    passes = _cli(url, token, "passes")
    assert any(not p["predicted"] and p["station"] == "madrid" for p in passes), passes
    soc = _cli(url, token, "tm", "power.power_budget.battery_soc", "--since", "0")
    points = soc["points"] if isinstance(soc, dict) else soc
    assert points and all(0.0 < p["value"] <= 1.0 for p in points), soc
    events = _cli(url, token, "events", "--since", "0")
    assert isinstance(events, list) and events, "no events came down"

    out, _ = sim.communicate(timeout=120)
    rep = json.loads(out.strip().splitlines()[-1])
    assert rep["jobs"]["lost"] == 0, rep["jobs"]
    assert rep["space_link"]["onboard"]["tc_rejected"] == {}, rep["space_link"]["onboard"]["tc_rejected"]
