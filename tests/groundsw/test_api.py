"""The ground API over real HTTP on loopback (uvicorn in a thread): auth, jobs, queries."""

from __future__ import annotations

import hashlib

import pytest

from flightsw.icd.results import verify_result
from tests.groundsw.conftest import (
    BOARD_MAX_POWER_W,
    NOW_S,
    TM_CHANNEL,
    TM_SAMPLES,
    S,
)

SPEC = {"kind": "synthetic", "priority": 4, "work_gpu_s": 7200, "boards_needed": 2,
        "output_bytes": 1024, "deadline_in_s": 3600}
ENERGY_TOL_WH = 1e-9


# ------------------------------------------------------------------------------- auth
def test_no_token_is_401_naming_the_token(http) -> None:
    r = http.get("/api/jobs")
    assert r.status_code == 401, r.text
    assert r.json()["field"] == "token" and r.headers["www-authenticate"] == "Bearer"


def test_a_bad_token_is_401(http) -> None:
    r = http.get("/api/jobs", headers={"Authorization": "Bearer not-a-token"})
    assert r.status_code == 401, r.text
    r = http.get("/api/jobs", headers={"Authorization": "Basic dXNlcjpwYXNz"})
    assert r.status_code == 401, "a non-bearer scheme was accepted"


@pytest.mark.parametrize(("user", "method", "path", "want"), [
    ("vera", "POST", "/api/jobs", 403),
    ("vera", "POST", "/api/commands", 403),
    ("vera", "POST", "/api/jobs/job-q1/cancel", 403),
    ("otto", "POST", "/api/commands/1/approve", 403),
    ("vera", "GET", "/api/jobs", 200),
    ("vera", "GET", "/api/status", 200),
])
def test_roles_limit_what_a_user_may_do(ground, http, user, method, path, want) -> None:
    jobs_before = ground.count("jobs")
    r = http.request(method, path, headers=ground.auth(user), json=SPEC if path == "/api/jobs" else None)
    assert r.status_code == want, f"{user} {method} {path}: {r.status_code} {r.text}"
    if want == 403:
        assert r.json()["field"] == "role"
    assert ground.count("jobs") == jobs_before, "a refused request stored a job"


def test_an_anonymous_bad_body_is_refused_as_401_not_422(http) -> None:
    r = http.post("/api/jobs", content=b"{not json")
    assert r.status_code == 401, "the body was looked at before the caller"


# ------------------------------------------------------------------------------- jobs
def test_a_submitted_job_is_queued_with_its_estimates(ground, http) -> None:
    r = http.post("/api/jobs", json=SPEC, headers=ground.auth("otto"))
    assert r.status_code == 201, r.text
    job = r.json()["job"]
    assert r.headers["location"] == f"/api/jobs/{job['job_id']}"
    assert job["job_id"].startswith("OP-") and job["stage"] == "QUEUED", job
    assert job["origin"] == "operator" and job["submitted_by"] == "otto"
    assert job["queued_t_ns"] == NOW_S * S and job["queued_utc"] == "2025-03-20T00:16:40Z"
    assert job["deadline_t_ns"] == (NOW_S + 3600) * S, "deadline_in_s not counted from now"
    want_wh = 7200 * BOARD_MAX_POWER_W / 3600
    assert abs(job["estimate_energy_wh"] - want_wh) < ENERGY_TOL_WH, job["estimate_energy_wh"]
    assert job["estimate_time_s"] == 3600, "7200 GPU-s on 2 boards is 3600 s"
    assert job["spec"]["boards_needed"] == 2 and job["spec"]["output_bytes"] == 1024
    a = ground.open_archive()
    try:
        row = a.job(job["job_id"])
    finally:
        a.close()
    assert row["stage"] == "QUEUED" and [s["stage"] for s in row["stages"]] == ["QUEUED"], row


def test_operator_job_ids_are_unique_and_sequential(ground, http) -> None:
    ids = [http.post("/api/jobs", json=SPEC, headers=ground.auth("otto")).json()["job"]["job_id"]
           for _ in range(3)]
    nums = [int(i[3:]) for i in ids]
    assert len(set(ids)) == 3 and nums == list(range(nums[0], nums[0] + 3)), ids


@pytest.mark.parametrize(("body", "field"), [
    ({**SPEC, "priority": 10}, "priority"),
    ({**SPEC, "work_gpu_s": 0}, "work_gpu_s"),
    ({**SPEC, "boards_needed": 9}, "boards_needed"),
    ({**SPEC, "colour": "red"}, "colour"),
    ({**SPEC, "deadline_utc": "2025-03-21T00:00:00Z"}, "deadline_in_s"),
    ({"kind": "matmul", "priority": 1, "work_gpu_s": 1}, "params.n"),
    ({"kind": "matmul", "priority": 1, "work_gpu_s": 1, "params": {"n": 513}}, "params.n"),
    ({k: v for k, v in SPEC.items() if k != "kind"}, "kind"),
    ([1, 2, 3], "spec"),
])
def test_a_bad_spec_is_422_naming_the_field_and_stores_nothing(ground, http, body, field) -> None:
    before = (ground.count("jobs"), ground.count("stages"))
    r = http.post("/api/jobs", json=body, headers=ground.auth("otto"))
    assert r.status_code == 422, r.text
    assert r.json()["field"] == field and r.json()["detail"].startswith(f"{field}: "), r.json()
    assert (ground.count("jobs"), ground.count("stages")) == before, "a rejected spec left rows"


def test_a_body_that_is_not_json_is_422_and_a_huge_one_413(ground, http) -> None:
    r = http.post("/api/jobs", content=b"{'kind': 1}", headers=ground.auth("otto"))
    assert r.status_code == 422 and r.json()["field"] == "body", r.text
    r = http.post("/api/jobs", content=b'{"kind": NaN}', headers=ground.auth("otto"))
    assert r.status_code == 422 and r.json()["field"] == "body", "NaN accepted as JSON"
    r = http.post("/api/jobs", content=b" " * (2 * 1024 * 1024), headers=ground.auth("otto"))
    assert r.status_code == 413, r.text


def test_a_job_shows_its_stage_history_with_times(ground, http) -> None:
    job = http.get("/api/jobs/job-s1", headers=ground.auth("vera")).json()["job"]
    assert [s["stage"] for s in job["stages"]] == ["RELEASED", "DOWNLINKED", "ARCHIVED"], job["stages"]
    assert job["stages"][-1]["utc"] == "2025-03-20T00:08:20Z" and job["stages"][-1]["t_s"] == 500
    assert job["deadline_utc"] is None, "no deadline (-1) must not become a time"
    assert http.get("/api/jobs/nope", headers=ground.auth("vera")).status_code == 404


def test_jobs_filter_by_stage(ground, http) -> None:
    rows = http.get("/api/jobs", params={"stage": "ARCHIVED"}, headers=ground.auth("vera")).json()["jobs"]
    assert sorted(j["job_id"] for j in rows) == ["job-m1", "job-s1"], rows


def test_a_cancel_is_requested_once_and_a_final_job_cannot_be(ground, http) -> None:
    r = http.post("/api/jobs/job-q1/cancel", headers=ground.auth("otto"))
    assert r.status_code == 202 and r.json()["outcome"] == "requested", r.text
    job = r.json()["job"]
    assert job["cancel_requested"] is True and job["cancel_requested_by"] == "otto"
    assert job["stage"] == "QUEUED", "the API moved a stage (only the station may)"
    again = http.post("/api/jobs/job-q1/cancel", headers=ground.auth("otto"))
    assert again.json()["outcome"] == "already_requested"
    final = http.post("/api/jobs/job-s1/cancel", headers=ground.auth("otto"))
    assert final.status_code == 409 and "ARCHIVED" in final.json()["detail"], final.text
    assert http.post("/api/jobs/nope/cancel", headers=ground.auth("otto")).status_code == 404
    a = ground.open_archive()
    try:
        assert "job-q1" in a.cancel_requests(), "the station would not see the request"
    finally:
        a.close()


@pytest.mark.parametrize("job_id", ["job-s1", "job-m1"])
def test_a_result_comes_with_its_sha256_and_verifies(ground, http, job_id) -> None:
    r = http.get(f"/api/jobs/{job_id}/result", headers=ground.auth("vera"))
    assert r.status_code == 200, r.text
    assert hashlib.sha256(r.content).hexdigest() == r.headers["x-sha256"], "X-Sha256 is not the data's"
    assert verify_result(r.headers["x-result-kind"], r.content, bytes.fromhex(r.headers["x-sha256"]))[0]


def test_a_job_without_a_result_is_404_with_its_stage(ground, http) -> None:
    r = http.get("/api/jobs/job-q1/result", headers=ground.auth("vera"))
    assert r.status_code == 404 and "QUEUED" in r.json()["detail"], r.text


# ---------------------------------------------------------------------------- queries
def test_telemetry_in_a_sim_second_range(ground, http) -> None:
    got = http.get("/api/telemetry", params={"channel": TM_CHANNEL, "since": 100, "until": 109},
                   headers=ground.auth("vera")).json()
    assert [p["t_s"] for p in got["points"]] == list(range(100, 110)) and not got["decimated"], got
    assert got["points"][0]["utc"] == "2025-03-20T00:01:40Z"


def test_telemetry_in_a_utc_range_and_relative_to_now(ground, http) -> None:
    got = http.get("/api/telemetry", params={"channel": TM_CHANNEL, "since": "2025-03-20T00:01:40Z",
                                             "until": "2025-03-20T00:01:42+00:00"},
                   headers=ground.auth("vera")).json()
    assert [p["t_s"] for p in got["points"]] == [100, 101, 102], got
    last = http.get("/api/telemetry", params={"channel": TM_CHANNEL, "since": -5},
                    headers=ground.auth("vera")).json()
    assert [p["t_s"] for p in last["points"]] == [995, 996, 997, 998, 999], "since=-5 is not now - 5 s"


def test_telemetry_is_decimated_to_max_points_covering_the_range(ground, http) -> None:
    got = http.get("/api/telemetry", params={"channel": TM_CHANNEL, "max_points": 10},
                   headers=ground.auth("vera")).json()
    assert got["decimated"] and got["samples"] == TM_SAMPLES and len(got["points"]) == 10, got
    assert sum(p["n"] for p in got["points"]) == TM_SAMPLES, "decimation lost samples"
    assert got["points"][0]["min"] <= got["points"][0]["value"] <= got["points"][0]["max"]


def test_a_bad_time_parameter_is_422_naming_it(ground, http) -> None:
    r = http.get("/api/telemetry", params={"channel": TM_CHANNEL, "since": "yesterday"},
                 headers=ground.auth("vera"))
    assert r.status_code == 422 and r.json()["field"] == "since", r.text
    r = http.get("/api/telemetry", params={"channel": TM_CHANNEL, "until": "2025-03-20T00:00:00"},
                 headers=ground.auth("vera"))
    assert r.status_code == 422 and "zone" in r.json()["detail"], "a time without a zone was guessed"


def test_channels_list_every_channel_with_its_latest_value(ground, http) -> None:
    chans = http.get("/api/telemetry/channels", headers=ground.auth("vera")).json()["channels"]
    by = {c["channel"]: c for c in chans}
    assert sorted(by) == [TM_CHANNEL, "thermal.radiator_temp_c"], chans
    assert by[TM_CHANNEL]["last_t_s"] == TM_SAMPLES - 1


def test_events_by_range_and_severity(ground, http) -> None:
    auth = ground.auth("vera")
    evs = http.get("/api/events", params={"since": 100, "until": 300}, headers=auth).json()["events"]
    assert [e["name"] for e in evs] == ["power.e1", "power.e2", "power.e3"], evs
    hi = http.get("/api/events", params={"min_severity": "WARNING_HI"}, headers=auth).json()["events"]
    assert [e["severity"] for e in hi] == ["FATAL", "WARNING_HI"], hi
    some = http.get("/api/events", params={"severity": "command,diagnostic"}, headers=auth).json()["events"]
    assert [e["severity"] for e in some] == ["COMMAND", "DIAGNOSTIC"], some
    bad = http.get("/api/events", params={"severity": "LOUD"}, headers=auth)
    assert bad.status_code == 422 and bad.json()["field"] == "severity"


def test_passes_predicted_and_actual(ground, http) -> None:
    rows = http.get("/api/passes", headers=ground.auth("vera")).json()["passes"]
    actual = [p for p in rows if not p["predicted"]]
    assert len(rows) == 3 and len(actual) == 1, rows
    assert actual[0]["aos_t_s"] == 101 and actual[0]["los_t_s"] == 699 and actual[0]["bytes_down"] == 123_456
    pred = http.get("/api/passes", params={"predicted": "true", "since": 1000},
                    headers=ground.auth("vera")).json()["passes"]
    assert [p["aos_t_s"] for p in pred] == [6000], pred


def test_files_list_and_fetch_with_checksums(ground, http) -> None:
    rows = http.get("/api/files", headers=ground.auth("vera")).json()["files"]
    assert [(f["name"], f["status"]) for f in rows] == [("job-s1.bin", "ok"), ("log-0001.txt", "rejected")]
    assert "data" not in rows[0], "the list carries file data"
    r = http.get(f"/api/files/{rows[0]['id']}", headers=ground.auth("vera"))
    assert hashlib.sha256(r.content).hexdigest() == r.headers["x-sha256"] == rows[0]["sha256"]
    assert r.headers["x-crc32"] == str(0x1234) and len(r.content) == rows[0]["size_bytes"] == 256
    assert http.get("/api/files/999", headers=ground.auth("vera")).status_code == 404


def test_transfers_in_flight_list_each_files_progress(ground, http) -> None:
    auth = ground.auth("vera")
    assert http.get("/api/transfers", headers=auth).json() == {"transfers": []}
    arch = ground.open_archive()
    try:
        arch.set_transfers([(7, "job-x.bin", 10_000, 4096, "receiving")], 500 * S)
        arch.set_transfers([(7, "job-x.bin", 10_000, 8192, "receiving"), (8, "", -1, 0, "receiving")], 510 * S)
        rows = http.get("/api/transfers", headers=auth).json()["transfers"]
        assert [(r["seq"], r["name"], r["size_bytes"], r["received_bytes"]) for r in rows] == [
            (7, "job-x.bin", 10_000, 8192), (8, "", -1, 0)]
        assert rows[0]["started_t_s"] == 500 and rows[0]["updated_t_s"] == 510 and rows[0]["started_utc"]
        arch.set_transfers([(8, "log-9.txt", 300, 300, "finishing")], 520 * S)  # 7 arrived: it leaves
        rows = http.get("/api/transfers", headers=auth).json()["transfers"]
        assert [(r["seq"], r["name"], r["state"], r["started_t_s"]) for r in rows] == [(8, "log-9.txt", "finishing", 510)]
        arch.set_transfers([], 530 * S)
        assert http.get("/api/transfers", headers=auth).json() == {"transfers": []}
    finally:
        arch.close()
    assert http.get("/api/transfers").status_code == 401, "no token, no data"


def test_status_gives_now_epoch_and_counts(ground, http) -> None:
    st = http.get("/api/status", headers=ground.auth("vera")).json()
    assert st["now"] == {"t_ns": NOW_S * S, "t_s": NOW_S, "utc": "2025-03-20T00:16:40Z"}, st["now"]
    assert st["epoch_utc"] == "2025-03-20T00:00:00Z" and st["scenario"] == "test"
    assert st["counts"]["jobs_by_stage"]["ARCHIVED"] == 2 and st["counts"]["files"] == 2, st["counts"]
    assert st["user"] == {"name": "vera", "role": "viewer"}


def test_the_openapi_document_lists_every_route(http) -> None:
    doc = http.get("/openapi.json").json()
    want = {"/api/jobs", "/api/jobs/{job_id}", "/api/jobs/{job_id}/cancel", "/api/jobs/{job_id}/result",
            "/api/commands", "/api/commands/{cmd_id}", "/api/commands/{cmd_id}/approve",
            "/api/telemetry", "/api/telemetry/channels", "/api/events", "/api/passes", "/api/files",
            "/api/files/{file_id}", "/api/status", "/api/transfers"}
    assert want <= set(doc["paths"]), sorted(want - set(doc["paths"]))
    assert "post" in doc["paths"]["/api/jobs"] and "requestBody" in doc["paths"]["/api/jobs"]["post"]
    assert any("HTTPBearer" in k for k in doc["components"]["securitySchemes"]), "bearer auth undocumented"


# ------------------------------------------------------------------------- the console

def test_the_console_is_served_without_a_token_and_the_root_sends_a_browser_there(http) -> None:
    """The page and its plugin are static (the data behind them needs the token)."""
    from groundsw.api.app import OPENMCT_DIST

    r = http.get("/", follow_redirects=False)
    assert r.status_code in (302, 307) and r.headers["location"] == "/console/"
    page = http.get("/console/")
    assert page.status_code == 200 and "console.js" in page.text and 'id="token"' in page.text
    assert http.get("/console/console.js").status_code == 200
    if (OPENMCT_DIST / "openmct.js").exists():
        assert http.get("/console/openmct/openmct.js").status_code == 200
    assert http.get("/console/../api/status").status_code == 401, "the API still wants its token"


def test_the_limits_put_the_soc_lines_at_the_missions_floor(ground, http) -> None:
    from groundsw.limits import DEFAULT_SOC_FLOOR, SOC_WARNING_MARGIN, limits_for

    r = http.get("/api/telemetry/limits", headers=ground.auth("otto"))
    assert r.status_code == 200, r.text
    soc = r.json()["limits"]["power.power_budget.battery_soc"]
    assert soc["CRITICAL"]["low"] < soc["WARNING"]["low"]
    mine = limits_for({"battery_soc_floor": 0.4})["power.power_budget.battery_soc"]
    assert mine == {"WARNING": {"low": 0.4 + SOC_WARNING_MARGIN}, "CRITICAL": {"low": 0.4}}
    assert limits_for({"battery_soc_floor": "x"})["power.power_budget.battery_soc"]["CRITICAL"]["low"] == DEFAULT_SOC_FLOOR


def test_a_dry_run_checks_and_costs_a_spec_and_stores_nothing(ground, http) -> None:
    before = http.get("/api/jobs", headers=ground.auth("otto")).json()["count"]
    r = http.post("/api/jobs/dry-run", json=SPEC, headers=ground.auth("otto"))
    assert r.status_code == 200, r.text
    got = r.json()
    assert got["estimate_energy_wh"] > 0 and got["estimate_time_s"] > 0 and got["spec"]["kind"] == "synthetic"
    bad = http.post("/api/jobs/dry-run", json={**SPEC, "work_gpu_s": -1}, headers=ground.auth("otto"))
    assert bad.status_code == 422 and bad.json()["field"] == "work_gpu_s", bad.text
    assert http.get("/api/jobs", headers=ground.auth("otto")).json()["count"] == before
