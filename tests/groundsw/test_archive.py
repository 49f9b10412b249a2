"""The ground archive (groundsw/archive.py): real sqlite files, committed before use."""

from __future__ import annotations

import hashlib
import json
import sqlite3
import threading
import time
from pathlib import Path

import pytest

from groundsw.archive import Archive

S = 1_000_000_000  # [ns]
DATA = b"result bytes"
SHA = b"\x11" * 32


@pytest.fixture
def archive(tmp_path: Path):
    a = Archive(tmp_path / "ground" / "archive.db")
    yield a
    a.close()


def add(a: Archive, job_id: str = "j1", t_ns: int = 0) -> None:
    a.add_job(job_id, "synthetic", 2, -1, 10.0, b"spec", t_ns)


def test_the_archive_creates_its_folder_and_uses_wal(tmp_path: Path) -> None:
    a = Archive(tmp_path / "deep" / "er" / "archive.db")
    try:
        mode = a.db.execute("PRAGMA journal_mode").fetchone()[0]
        assert mode == "wal", f"journal mode is {mode}"
    finally:
        a.close()


def test_an_added_job_is_released_with_its_fields(archive: Archive) -> None:
    add(archive, "j1", 5 * S)
    (row,) = archive.jobs()
    assert (row["job_id"], row["kind"], row["priority"], row["deadline_t_ns"], row["work_gpu_s"]) == (
        "j1", "synthetic", 2, -1, 10.0), f"row is {row}"
    assert row["stage"] == "RELEASED" and row["released_t_ns"] == 5 * S, f"row is {row}"
    assert bytes(row["spec"]) == b"spec", "spec bytes changed"
    assert archive.stages("j1") == [("RELEASED", 5 * S, "")], "stage history wrong"


def test_adding_a_job_twice_keeps_the_first_row(archive: Archive) -> None:
    add(archive, "j1", 1 * S)
    add(archive, "j1", 2 * S)
    (row,) = archive.jobs()
    assert row["released_t_ns"] == 1 * S, "a second add overwrote the first"


def test_adding_a_job_twice_records_one_release(archive: Archive) -> None:
    add(archive, "j1", 1 * S)
    add(archive, "j1", 2 * S)
    assert archive.stages("j1") == [("RELEASED", 1 * S, "")], "a duplicate add left a trace"


def test_stages_update_the_row_and_keep_the_first_time_of_each(archive: Archive) -> None:
    add(archive)
    archive.set_stage("j1", "SENT", 10 * S)
    archive.set_stage("j1", "SENT", 20 * S, "resent")
    archive.set_stage("j1", "ACCEPTED", 30 * S, "stored")
    (row,) = archive.jobs()
    assert row["stage"] == "ACCEPTED" and row["reason"] == "stored", f"row is {row}"
    assert row["sent_t_ns"] == 10 * S, "a resend moved the first SENT time"
    assert row["accepted_t_ns"] == 30 * S, "ACCEPTED time not recorded"
    assert archive.stages("j1") == [("RELEASED", 0, ""), ("SENT", 10 * S, ""),
                                    ("SENT", 20 * S, "resent"), ("ACCEPTED", 30 * S, "stored")], (
        "stage history is not every stage in order"
    )


def test_a_stage_without_a_time_column_still_updates_the_row(archive: Archive) -> None:
    add(archive)
    archive.set_stage("j1", "FAILED", 40 * S, "board fault")
    (row,) = archive.jobs()
    assert (row["stage"], row["reason"]) == ("FAILED", "board fault"), f"row is {row}"


def test_a_result_is_stored_once_and_archives_the_job(archive: Archive) -> None:
    add(archive)
    assert archive.store_result("j1", "synthetic", DATA, SHA, 50 * S) is True, "first store refused"
    assert archive.store_result("j1", "synthetic", b"other", SHA, 60 * S) is False, (
        "a second store of the same job was accepted"
    )
    assert archive.result("j1") == ("synthetic", DATA, SHA), "stored result differs"
    (row,) = archive.jobs()
    assert row["stage"] == "ARCHIVED", f"stage is {row['stage']}"
    assert row["downlinked_t_ns"] == 50 * S and row["archived_t_ns"] == 50 * S, f"row is {row}"
    assert [s for s, _, _ in archive.stages("j1")] == ["RELEASED", "DOWNLINKED", "ARCHIVED"], (
        "the duplicate result left stages behind"
    )


def test_a_missing_result_is_none(archive: Archive) -> None:
    assert archive.result("nope") is None, "a result for an unknown job"


def test_writes_are_committed_and_visible_to_another_connection(archive: Archive) -> None:
    add(archive)
    archive.store_result("j1", "synthetic", DATA, SHA, 50 * S)
    other = sqlite3.connect(archive.path)
    try:
        rows = other.execute("SELECT job_id, data FROM results").fetchall()
    finally:
        other.close()
    assert rows == [("j1", DATA)], "the result was not committed when store_result returned"


def test_the_archive_survives_a_reopen(tmp_path: Path) -> None:
    path = tmp_path / "archive.db"
    a = Archive(path)
    add(a)
    a.store_result("j1", "synthetic", DATA, SHA, 50 * S)
    a.close()
    b = Archive(path)
    try:
        assert b.result("j1") == ("synthetic", DATA, SHA), "result lost across a reopen"
        assert [r["stage"] for r in b.jobs()] == ["ARCHIVED"], "job stage lost across a reopen"
    finally:
        b.close()


# ======================================================================= ground segment
def count(a: Archive, table: str) -> int:
    return a.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def other_connection(a: Archive) -> sqlite3.Connection:
    return sqlite3.connect(a.path, timeout=5)


def test_meta_values_keep_their_types(archive: Archive) -> None:
    archive.set_meta(epoch_utc="2025-03-20T00:00:00Z", now_t_ns=5 * S, tick_s=1.0, board_count=8)
    archive.set_meta(now_t_ns=6 * S)
    assert archive.meta() == {"epoch_utc": "2025-03-20T00:00:00Z", "now_t_ns": 6 * S, "tick_s": 1.0,
                              "board_count": 8}


def test_writes_inside_a_batch_commit_only_when_it_ends(archive: Archive) -> None:
    other = other_connection(archive)
    try:
        with archive.batch():
            add(archive, "j1")
            archive.set_stage("j1", "SENT", 1 * S)
            archive.add_telemetry([("a.b", 0, 1.0)])
            seen = other.execute("SELECT COUNT(*) FROM jobs").fetchone()[0]
            assert seen == 0, "a write inside a batch was committed before the batch ended"
        assert other.execute("SELECT COUNT(*) FROM jobs").fetchone()[0] == 1, "the batch did not commit"
    finally:
        other.close()


def test_a_failing_batch_leaves_nothing(archive: Archive) -> None:
    with pytest.raises(RuntimeError), archive.batch():
        add(archive, "j1")
        archive.add_events([(0, "power", "FATAL", "power.x", "boom")])
        raise RuntimeError("station crashed mid-tick")
    assert (count(archive, "jobs"), count(archive, "events"), count(archive, "stages")) == (0, 0, 0)
    add(archive, "j2")  # and the connection is usable again
    assert [r["job_id"] for r in archive.jobs()] == ["j2"]


def test_a_writer_waits_for_the_other_process_instead_of_failing(archive: Archive) -> None:
    other = Archive(archive.path, check_same_thread=False)  # written from the thread below
    done = threading.Event()
    try:
        with archive.batch():
            add(archive, "j1")
            t = threading.Thread(target=lambda: (other.set_meta(x=1), done.set()))
            t.start()
            time.sleep(0.2)
            assert not done.is_set(), "two writers held the database at once"
        t.join(5)
        assert done.is_set() and archive.meta()["x"] == 1, "the waiting writer failed"
    finally:
        other.close()


def test_a_scenario_job_can_start_queued_with_its_spec(archive: Archive) -> None:
    spec = {"kind": "synthetic", "boards_needed": 2}
    assert archive.add_job("j1", "synthetic", 2, -1, 10.0, b"x", 3 * S, stage="QUEUED", spec_json=spec) is True
    (row,) = archive.jobs()
    assert (row["stage"], row["queued_t_ns"], row["released_t_ns"], row["origin"]) == ("QUEUED", 3 * S, None,
                                                                                       "scenario")
    assert json.loads(row["spec_json"]) == spec
    archive.set_stage("j1", "RELEASED", 4 * S, timeout_t_ns=600 * S)
    (row,) = archive.jobs()
    assert row["released_t_ns"] == 4 * S and row["stage_timeout_t_ns"] == 600 * S
    archive.set_stage("j1", "SENT", 5 * S)
    assert archive.jobs()[0]["stage_timeout_t_ns"] is None, "a stage without a timeout kept the old one"
    with pytest.raises(ValueError, match="stage"):
        archive.add_job("j2", "synthetic", 2, -1, 10.0, b"x", 0, stage="SENT")


def test_operator_jobs_get_ids_history_and_are_polled_once(archive: Archive) -> None:
    archive.set_meta(now_t_ns=7 * S)
    add(archive, "scenario-1")
    spec = {"kind": "synthetic", "priority": 1, "deadline_t_ns": -1, "work_gpu_s": 5.0}
    ids = [archive.submit_job(spec, "otto", {"energy_wh": 1.5, "time_s": 5.0}) for _ in range(2)]
    assert ids == ["OP-000001", "OP-000002"], ids
    row = archive.job("OP-000001")
    assert (row["origin"], row["submitted_by"], row["stage"], row["queued_t_ns"]) == ("operator", "otto",
                                                                                      "QUEUED", 7 * S)
    assert (row["estimate_energy_wh"], row["estimate_time_s"]) == (1.5, 5.0)
    assert [s["stage"] for s in row["stages"]] == ["QUEUED"]
    polled = archive.new_operator_jobs(0)
    assert [(j, json.loads(s)) for _, j, s in polled] == [("OP-000001", spec), ("OP-000002", spec)]
    assert archive.new_operator_jobs(polled[-1][0]) == [], "a polled job came back"
    third = archive.submit_job(spec, "otto")
    assert [j for _, j, _ in archive.new_operator_jobs(polled[-1][0])] == [third]


def test_cancel_requests_reach_the_station_until_cleared(archive: Archive) -> None:
    add(archive, "j1")
    add(archive, "j2")
    archive.store_result("j2", "synthetic", DATA, SHA, 1 * S)
    assert archive.request_cancel("j1", "otto") == "requested"
    assert archive.request_cancel("j1", "otto") == "already_requested"
    assert archive.request_cancel("j2", "otto") == "final"
    assert archive.request_cancel("nope", "otto") == "not_found"
    assert archive.cancel_requests() == ["j1"]
    assert archive.jobs()[0]["stage"] == "RELEASED", "a request moved the stage"
    archive.clear_cancel("j1")
    assert archive.cancel_requests() == []


def test_a_cancel_request_on_a_job_that_became_final_is_not_polled(archive: Archive) -> None:
    add(archive, "j1")
    archive.request_cancel("j1", "otto")
    archive.set_stage("j1", "FAILED", 2 * S, "board fault")
    assert archive.cancel_requests() == []


def test_commands_are_released_when_plain_or_approved_by_another(archive: Archive) -> None:
    plain = archive.add_command("power.NOOP", "power", 0, {}, "plan", "plan", False, 1 * S)
    crit = archive.submit_command("supervisor.SUP_SET_MODE", "supervisor", 80, {"mode": "SAFE"}, "alice", True)
    released = archive.commands_to_release()
    assert [c["cmd_id"] for c in released] == [plain], released
    assert released[0]["args"] == {} and released[0]["args_json"] == "{}", "the station reads args_json"
    assert archive.approve_command(plain, "bob") == "not_critical"
    assert archive.approve_command(crit, "alice") == "own_command"
    assert archive.approve_command(999, "bob") == "not_found"
    assert archive.approve_command(crit, "bob") == "approved"
    assert archive.approve_command(crit, "carol") == "already_approved"
    assert [c["cmd_id"] for c in archive.commands_to_release()] == [plain, crit]
    archive.set_command_stage(plain, "SENT", 2 * S, timeout_t_ns=62 * S)
    archive.set_command_stage(plain, "COMPLETED", 3 * S, "OK", "power alive")
    assert [c["cmd_id"] for c in archive.commands_to_release()] == [crit], "a sent command is released again"
    got = archive.command(plain)
    assert [(s["stage"], s["status"]) for s in got["stages"]] == [("QUEUED", ""), ("SENT", ""),
                                                                  ("COMPLETED", "OK")], got["stages"]
    assert (got["status"], got["message"], got["stage_timeout_t_ns"]) == ("OK", "power alive", None)


def test_approval_of_a_command_no_longer_queued_is_refused(archive: Archive) -> None:
    crit = archive.submit_command("comms.COMMS_ACTIVATE_KEY", "comms", 112, {"key_id": 2}, "alice", True)
    archive.set_command_stage(crit, "FAILED", 1 * S, "FORMAT_ERROR", "ground: bad")
    assert archive.approve_command(crit, "bob") == "not_queued"


def test_telemetry_ranges_and_decimation(archive: Archive) -> None:
    archive.add_telemetry(("soc", t * S, t / 100) for t in range(100))
    archive.add_telemetry([("soc", 100 * S, float("nan")), ("soc", 101 * S, float("inf"))])
    got = archive.telemetry("soc", 10 * S, 12 * S)
    assert [(p["t_ns"], p["value"]) for p in got["points"]] == [(10 * S, 0.1), (11 * S, 0.11), (12 * S, 0.12)]
    tail = archive.telemetry("soc", 100 * S)
    assert [p["value"] for p in tail["points"]] == [None, None], "a non-finite reading is not 'no reading'"
    dec = archive.telemetry("soc", 0, 99 * S, max_points=10)
    assert dec["decimated"] and len(dec["points"]) == 10 and [p["n"] for p in dec["points"]] == [10] * 10
    assert dec["points"][0]["value"] == pytest.approx(sum(t / 100 for t in range(10)) / 10)
    assert archive.channels() == [{"channel": "soc", "last_t_ns": 101 * S, "last_value": None}]


def test_telemetry_and_event_streams_follow_row_ids(archive: Archive) -> None:
    archive.add_telemetry([("a", 0, 1.0), ("b", 0, 2.0), ("a", S, 3.0)])
    assert [r["value"] for r in archive.telemetry_after(0, ["a"])] == [1.0, 3.0]
    first = archive.telemetry_after(0)[0]["id"]
    assert [r["channel"] for r in archive.telemetry_after(first)] == ["b", "a"]
    archive.add_events([(0, "power", 1, "power.hot", "x"), (S, "thermal", "DIAGNOSTIC", "thermal.d", "y")])
    evs = archive.events_after(0)
    assert [e["severity"] for e in evs] == ["WARNING_HI", "DIAGNOSTIC"], "severity ints not named"
    assert archive.max_ids()["events"] == evs[-1]["id"]


def test_events_by_range_severity_and_limit(archive: Archive) -> None:
    archive.add_events([(t * S, "power", "WARNING_LO" if t % 2 else "FATAL", f"e{t}", "") for t in range(10)])
    assert [e["name"] for e in archive.events(2 * S, 4 * S)] == ["e2", "e3", "e4"]
    assert [e["name"] for e in archive.events(severities=["FATAL"], limit=2)] == ["e6", "e8"], (
        "without since, the latest events (oldest first)")
    assert [e["name"] for e in archive.events(since_t_ns=0, limit=2)] == ["e0", "e1"]


def test_files_are_stored_with_their_checksums(archive: Archive) -> None:
    fid = archive.add_file("r.bin", b"abc", 0x352441C2, 9 * S, job_id="j1")
    bad = archive.add_file("log.txt", b"ab", 0, 9 * S, status="rejected", reason="crc32 mismatch")
    listed = archive.files()
    assert [(f["id"], f["status"], f["size_bytes"]) for f in listed] == [(fid, "ok", 3), (bad, "rejected", 2)]
    got = archive.file(fid)
    assert got["data"] == b"abc" and got["sha256"] == hashlib.sha256(b"abc").hexdigest() and got["crc32"] == 0x352441C2
    assert archive.file(999) is None
    with pytest.raises(ValueError, match="status"):
        archive.add_file("x", b"", 0, 0, status="maybe")


def test_passes_open_close_and_predicted(archive: Archive) -> None:
    archive.add_predicted_passes([("svalbard", 10 * S, 20 * S, 40.0)])
    assert archive.close_pass("svalbard", 5 * S, 0, 0) is False, "closed a pass never opened"
    archive.open_pass("svalbard", 11 * S)
    archive.open_pass("awarua", 12 * S)
    assert archive.close_pass("svalbard", 19 * S, 1000, 10) is True
    rows = {(p["station"], p["predicted"]): p for p in archive.passes()}
    assert rows[("svalbard", 0)]["los_t_ns"] == 19 * S and rows[("svalbard", 0)]["bytes_down"] == 1000
    assert rows[("awarua", 0)]["los_t_ns"] is None, "closing one station's pass closed another's"
    assert [p["station"] for p in archive.passes(predicted=True)] == ["svalbard"]
    assert [p["station"] for p in archive.passes(since_t_ns=12 * S)] == ["awarua"]


def test_an_issue_4_archive_is_brought_up_to_date_in_place(tmp_path: Path) -> None:
    path = tmp_path / "old.sqlite"
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE jobs (job_id TEXT PRIMARY KEY, kind TEXT NOT NULL, priority INTEGER NOT NULL,
            deadline_t_ns INTEGER NOT NULL, work_gpu_s REAL NOT NULL, spec BLOB NOT NULL, stage TEXT NOT NULL,
            reason TEXT NOT NULL DEFAULT '', released_t_ns INTEGER, sent_t_ns INTEGER, accepted_t_ns INTEGER,
            started_t_ns INTEGER, completed_t_ns INTEGER, downlinked_t_ns INTEGER, archived_t_ns INTEGER);
        CREATE TABLE stages (job_id TEXT NOT NULL, stage TEXT NOT NULL, t_ns INTEGER NOT NULL, reason TEXT NOT NULL);
        CREATE TABLE results (job_id TEXT PRIMARY KEY, kind TEXT NOT NULL, data BLOB NOT NULL,
            sha256 BLOB NOT NULL, received_t_ns INTEGER NOT NULL);
        INSERT INTO jobs (job_id, kind, priority, deadline_t_ns, work_gpu_s, spec, stage, released_t_ns)
            VALUES ('old', 'synthetic', 1, -1, 5.0, x'00', 'RELEASED', 0);
        INSERT INTO stages VALUES ('old', 'RELEASED', 0, '');
    """)
    db.close()
    a = Archive(path)
    try:
        row = a.job("old")
        assert row["origin"] == "scenario" and row["cancel_requested"] == 0, row
        assert [(s["id"], s["stage"]) for s in row["stages"]] == [(1, "RELEASED")]
        a.set_stage("old", "SENT", S)
        assert [s["stage"] for s in a.stage_changes(1)] == ["SENT"]
        assert a.submit_job({"kind": "synthetic", "priority": 1, "deadline_t_ns": -1, "work_gpu_s": 1.0},
                            "otto") == "OP-000001"
    finally:
        a.close()


def test_counts_by_stage(archive: Archive) -> None:
    add(archive, "j1")
    add(archive, "j2")
    archive.set_stage("j2", "SENT", S)
    archive.submit_command("power.SUP", "supervisor", 80, {"mode": "SAFE"}, "alice", True)
    c = archive.counts()
    assert c["jobs_by_stage"] == {"RELEASED": 1, "SENT": 1} and c["commands_awaiting_approval"] == 1, c
