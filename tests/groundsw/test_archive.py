"""The ground archive (groundsw/archive.py): real sqlite files, committed before use."""

from __future__ import annotations

import sqlite3
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
