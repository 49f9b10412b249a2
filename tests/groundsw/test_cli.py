"""The groundsw CLI end to end against a real server: in process (``main([...])``) and as
real processes (``groundsw serve`` and one client command)."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from flightsw.icd.results import sha256_digest
from groundsw.cli import main
from tests.groundsw.conftest import TM_CHANNEL, Ground, matmul_result

S = 1_000_000_000
SUBPROCESS_TIMEOUT_S = 30


@pytest.fixture(scope="module", autouse=True)
def bad_results(ground: Ground) -> None:
    """Two results a station would never archive, for the CLI's own checks to catch."""
    a = ground.open_archive()
    try:
        a.add_job("job-badsha", "synthetic", 1, -1, 1.0, b"", 0)
        a.store_result("job-badsha", "synthetic", b"abc", sha256_digest(b"abd"), S)
        mm = bytearray(matmul_result())
        mm[12 + 6] ^= 0x08  # a high mantissa bit of C[0, 0] (C starts at byte 12): a 1/32 change
        a.add_job("job-badabft", "matmul", 1, -1, 1.0, b"", 0)
        a.store_result("job-badabft", "matmul", bytes(mm), sha256_digest(bytes(mm)), S)
    finally:
        a.close()


def run(ground: Ground, capsys, user: str, *argv: str) -> tuple[int, str, str]:
    code = main(["--url", ground.url, "--token", ground.tokens[user], *argv])
    out, err = capsys.readouterr()
    return code, out, err


def run_json(ground: Ground, capsys, user: str, *argv: str):
    code, out, err = run(ground, capsys, user, "--json", *argv)
    assert code == 0, err
    return json.loads(out)


# ------------------------------------------------------------------------------ jobs
def test_job_submit_from_toml_queues_a_job(ground, capsys, tmp_path) -> None:
    spec = tmp_path / "job.toml"
    spec.write_text('kind = "matmul"\npriority = 6\nwork_gpu_s = 120\nboards_needed = 2\n'
                    'deadline_utc = 2025-03-21T00:00:00Z\n[params]\nn = 32\n')
    job = run_json(ground, capsys, "otto", "job", "submit", str(spec))
    assert job["stage"] == "QUEUED" and job["spec"]["params"] == {"n": 32} and job["submitted_by"] == "otto"
    assert job["deadline_utc"] == "2025-03-21T00:00:00Z"
    code, out, _ = run(ground, capsys, "otto", "job", "submit", str(spec))
    assert code == 0 and re.match(r"OP-\d{6} queued \(estimate 10\.0 Wh, 60 s", out), out


def test_a_spec_the_server_refuses_exits_2_naming_the_field(ground, capsys, tmp_path) -> None:
    spec = tmp_path / "job.json"
    spec.write_text(json.dumps({"kind": "synthetic", "priority": 1, "work_gpu_s": 5, "boards_needed": 99}))
    before = ground.count("jobs")
    code, out, err = run(ground, capsys, "otto", "job", "submit", str(spec))
    assert code == 2 and "boards_needed" in err and out == "", err
    assert err.count("\n") == 1, "not one line"
    assert ground.count("jobs") == before


def test_an_unreadable_spec_file_exits_2(ground, capsys, tmp_path) -> None:
    (tmp_path / "bad.toml").write_text("kind = \n")
    code, _, err = run(ground, capsys, "otto", "job", "submit", str(tmp_path / "bad.toml"))
    assert code == 2 and "file:" in err, err


def test_job_list_show_and_cancel(ground, capsys) -> None:
    rows = run_json(ground, capsys, "vera", "job", "list", "--stage", "ARCHIVED")
    assert {"job-s1", "job-m1"} <= {j["job_id"] for j in rows} and all(j["stage"] == "ARCHIVED" for j in rows)
    job = run_json(ground, capsys, "vera", "job", "show", "job-s1")
    assert [s["stage"] for s in job["stages"]] == ["RELEASED", "DOWNLINKED", "ARCHIVED"]
    got = run_json(ground, capsys, "otto", "job", "cancel", "job-q1")
    assert got["outcome"] in ("requested", "already_requested") and got["job"]["cancel_requested"] is True
    code, _, err = run(ground, capsys, "otto", "job", "cancel", "job-s1")
    assert code == 2 and "409" in err, err
    code, _, err = run(ground, capsys, "vera", "job", "show", "no-such-job")
    assert code == 2 and "no-such-job" in err


# ---------------------------------------------------------------------------- results
@pytest.mark.parametrize("job_id", ["job-s1", "job-m1"])
def test_result_get_writes_a_verified_result(ground, capsys, tmp_path, job_id) -> None:
    info = run_json(ground, capsys, "vera", "result", "get", job_id, "--out", str(tmp_path / "r"))
    path = Path(info["path"])
    assert path == tmp_path / "r" / f"{job_id}.bin" and info["verified"] is True
    assert sha256_digest(path.read_bytes()).hex() == info["sha256"]


@pytest.mark.parametrize(("job_id", "needle"), [("job-badsha", "sha256 mismatch"), ("job-badabft", "ABFT")])
def test_result_get_refuses_a_result_that_fails_its_checks(ground, capsys, tmp_path, job_id, needle) -> None:
    code, out, err = run(ground, capsys, "vera", "result", "get", job_id, "--out", str(tmp_path))
    assert code == 1 and needle in err, err
    assert not (tmp_path / f"{job_id}.bin").exists(), "a result that failed its checks was written"


# ---------------------------------------------------------------------------- queries
def test_tm_with_a_range_as_json(ground, capsys) -> None:
    got = run_json(ground, capsys, "vera", "tm", TM_CHANNEL, "--since", "10", "--until", "12")
    assert [p["t_s"] for p in got["points"]] == [10, 11, 12]
    code, out, _ = run(ground, capsys, "vera", "tm", TM_CHANNEL, "--since", "2025-03-20T00:00:10Z",
                       "--until", "11")
    assert code == 0 and "2025-03-20T00:00:10Z" in out and "2 point(s)" in out, out


def test_events_passes_files_channels_and_status(ground, capsys, tmp_path) -> None:
    evs = run_json(ground, capsys, "vera", "events", "--min-severity", "WARNING_HI")
    assert [e["severity"] for e in evs] == ["FATAL", "WARNING_HI"]
    passes = run_json(ground, capsys, "vera", "passes", "--actual")
    assert [p["station"] for p in passes] == ["svalbard"] and not passes[0]["predicted"]
    files = run_json(ground, capsys, "vera", "files")
    got = run_json(ground, capsys, "vera", "file", "get", str(files[0]["id"]), "--out", str(tmp_path))
    assert Path(got["path"]).read_bytes() and got["sha256"] == files[0]["sha256"]
    chans = run_json(ground, capsys, "vera", "channels")
    assert TM_CHANNEL in [c["channel"] for c in chans]
    st = run_json(ground, capsys, "vera", "status")
    assert st["now"]["t_s"] == 1000 and st["user"]["role"] == "viewer"


@pytest.mark.parametrize("argv", [
    ["status"], ["job", "list"], ["job", "show", "job-s1"], ["tm", TM_CHANNEL, "--max-points", "5"],
    ["channels"], ["events"], ["passes"], ["files"], ["cmd", "list"],
])
def test_every_query_prints_text_and_json_that_parses(ground, capsys, argv) -> None:
    code, out, err = run(ground, capsys, "vera", *argv)
    assert code == 0 and out.strip(), err
    code, out, err = run(ground, capsys, "vera", *argv, "--json")  # --json after the command too
    assert code == 0, err
    json.loads(out)


# --------------------------------------------------------------------------- commands
def test_cmd_send_approve_show_list(ground, capsys) -> None:
    cmd = run_json(ground, capsys, "alice", "cmd", "executor.EXEC_BOARD_SERVICE", "board=3", "in_service=false")
    assert cmd["args"] == {"board": 3, "in_service": False} and cmd["awaiting_approval"] is True
    code, _, err = run(ground, capsys, "alice", "cmd", "approve", str(cmd["cmd_id"]))
    assert code == 2 and "two-person" in err, "the sender approved their own critical command"
    ok = run_json(ground, capsys, "bob", "cmd", "approve", str(cmd["cmd_id"]))
    assert ok["approved_by"] == "bob"
    shown = run_json(ground, capsys, "vera", "cmd", "show", str(cmd["cmd_id"]))
    assert shown["stages"][0]["stage"] == "QUEUED" and shown["approved_by"] == "bob"
    listed = run_json(ground, capsys, "vera", "cmd", "list")
    assert cmd["cmd_id"] in [c["cmd_id"] for c in listed]


@pytest.mark.parametrize(("argv", "needle"), [
    (["cmd", "power.FLY"], "opcode"),
    (["cmd", "power.NOOP", "loud"], "key=value"),
    (["cmd", "frobnicate"], "NAME"),
    (["cmd", "approve", "x"], "command id"),
    (["job", "show"], "ID"),
    (["tm"], "channel"),
])
def test_bad_input_exits_2_with_one_line(ground, capsys, argv, needle) -> None:
    before = ground.count("commands")
    code, _, err = run(ground, capsys, "otto", *argv)
    assert code == 2 and needle in err, err
    assert ground.count("commands") == before


# --------------------------------------------------------------------- connection, auth
def test_no_token_exits_2_and_an_unreachable_server_exits_1(ground, capsys, monkeypatch) -> None:
    monkeypatch.delenv("SUNSCHED_TOKEN", raising=False)
    assert main(["--url", ground.url, "status"]) == 2
    assert "token" in capsys.readouterr().err
    assert main(["--url", "http://127.0.0.1:9", "--token", "t", "status"]) == 1
    assert "cannot reach" in capsys.readouterr().err
    assert main(["--url", ground.url, "--token", "wrong", "status"]) == 2
    assert "401" in capsys.readouterr().err


def test_url_and_token_come_from_the_environment(ground, capsys, monkeypatch) -> None:
    monkeypatch.setenv("SUNSCHED_URL", ground.url)
    monkeypatch.setenv("SUNSCHED_TOKEN", ground.tokens["vera"])
    assert main(["--json", "status"]) == 0
    assert json.loads(capsys.readouterr().out)["user"]["name"] == "vera"


# ---------------------------------------------------------------------- local commands
def test_users_add_prints_the_token_once_and_refuses_a_duplicate(tmp_path, capsys) -> None:
    assert main(["users", "add", "zoe", "--role", "viewer", "--data", str(tmp_path), "--json"]) == 0
    got = json.loads(capsys.readouterr().out)
    assert got["name"] == "zoe" and got["token"] not in (tmp_path / "users.json").read_text()
    assert main(["users", "add", "zoe", "--role", "viewer", "--data", str(tmp_path)]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main(["users", "list", "--data", str(tmp_path), "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == {"zoe": "viewer"}


def test_archive_commands_read_the_file_offline(ground, capsys, tmp_path) -> None:
    path = str(ground.archive_path)
    assert main(["archive", "jobs", "--archive", path, "--stage", "ARCHIVED", "--json"]) == 0
    assert "job-s1" in {r["job_id"] for r in json.loads(capsys.readouterr().out)}
    assert main(["archive", "result", "job-s1", "--archive", path, "--out", str(tmp_path / "r.bin")]) == 0
    assert "verified" in capsys.readouterr().out and (tmp_path / "r.bin").stat().st_size == 256
    assert main(["archive", "result", "job-badabft", "--archive", path, "--out", str(tmp_path / "x")]) == 1
    assert main(["archive", "jobs", "--archive", str(tmp_path / "missing.sqlite")]) == 2
    assert "--archive" in capsys.readouterr().err


# ----------------------------------------------------------------------- real processes
def test_groundsw_serve_and_a_client_as_real_processes(ground, tmp_path) -> None:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).resolve().parents[2])}
    server = subprocess.Popen([sys.executable, "-m", "groundsw.cli", "serve", "--port", "0",
                               "--data", str(ground.data)], stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                              text=True, env=env)
    try:
        line = server.stdout.readline()
        m = re.search(r"on (http://127\.0\.0\.1:\d+)", line)
        assert m, f"serve did not say where it listens: {line!r} {server.stderr.read() if server.poll() else ''}"
        client = subprocess.run([sys.executable, "-m", "groundsw.cli", "--url", m.group(1), "--json", "job",
                                 "list", "--stage", "ARCHIVED"], capture_output=True, text=True, env={
                                     **env, "SUNSCHED_TOKEN": ground.tokens["vera"]},
                                timeout=SUBPROCESS_TIMEOUT_S)
        assert client.returncode == 0, client.stderr
        assert {"job-s1", "job-m1"} <= {j["job_id"] for j in json.loads(client.stdout)}
    finally:
        server.terminate()
        server.wait(SUBPROCESS_TIMEOUT_S)
        errors = server.stderr.read()
        server.stdout.close()
        server.stderr.close()
    assert "Traceback" not in errors, errors
    # uvicorn shuts down gracefully, then re-raises the signal it caught: exit by SIGTERM
    assert server.returncode in (0, -15), f"serve did not shut down on SIGTERM: {server.returncode}"
