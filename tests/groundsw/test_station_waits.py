"""Why jobs wait on board, on the ground: the executor's JobWaits (housekeeping, PUS 3/25)
into the archive's ``jobs.wait_reason`` (real sqlite, read through another connection),
cleared when the job starts or ends; an old archive gains the column in place."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flightsw.icd.messages import JobAck, JobState, JobWaits
from groundsw.archive import SCHEMA_VERSION, Archive
from tests.groundsw.test_station import Ground, S, contact, spec


@pytest.fixture
def g(tmp_path: Path, link_keyring):
    """A station whose spacecraft accepted j1, j2 and j3 at t = 1 s."""
    ground = Ground(tmp_path / "archive.sqlite", link_keyring, [spec("j1"), spec("j2"), spec("j3")])
    ground.step(0, [contact()])
    ground.step(1, [ground.sc.report(JobAck(j, True, ""), S) for j in ("j1", "j2", "j3")])
    yield ground
    ground.close()


def waits(g: Ground, t_s: int, *pairs: tuple[str, str]):
    return g.sc.tm(JobWaits.of(pairs), "executor", t_s * S)


def reasons(g: Ground) -> dict[str, str | None]:
    return dict(g.rows("SELECT job_id, wait_reason FROM jobs ORDER BY job_id"))


def test_each_queued_jobs_wait_reason_is_archived_from_job_waits(g) -> None:
    g.step(2, [waits(g, 2, ("j1", "energy"), ("j2", "thermal"))])
    assert reasons(g) == {"j1": "energy", "j2": "thermal", "j3": None}
    g.step(3, [waits(g, 3, ("j1", "boards"), ("j2", "thermal"))])
    assert reasons(g)["j1"] == "boards", "the latest reason did not replace the earlier one"


def test_job_waits_go_into_no_telemetry_channel(g) -> None:
    g.step(2, [waits(g, 2, ("j1", "energy"))])
    assert g.rows("SELECT COUNT(*) FROM telemetry WHERE channel LIKE 'executor.job_waits%'") == [(0,)]


def test_the_reason_is_cleared_when_the_job_starts_and_a_late_report_does_not_bring_it_back(g) -> None:
    g.step(2, [waits(g, 2, ("j1", "energy"), ("j2", "energy"))])
    g.step(3, [g.sc.report(JobState("j1", "STARTED", "", 0.0, 0, 3 * S), 3 * S)])
    assert reasons(g)["j1"] is None and reasons(g)["j2"] == "energy"
    g.step(4, [waits(g, 2, ("j1", "energy"))])  # sampled before the start, came after it
    assert reasons(g)["j1"] is None, "a report older than the start marked a running job as waiting"


def test_a_preempted_job_takes_a_reason_made_after_its_preemption_only(g) -> None:
    g.step(3, [g.sc.report(JobState("j1", "STARTED", "", 0.0, 0, 3 * S), 3 * S)])
    g.step(6, [g.sc.report(JobState("j1", "PREEMPTED", "", 1.0, 0, 6 * S), 6 * S)])
    g.step(7, [waits(g, 5, ("j1", "boards"))])  # made while it still ran
    assert reasons(g)["j1"] is None
    g.step(8, [waits(g, 8, ("j1", "safe"))])
    assert reasons(g)["j1"] == "safe"


@pytest.mark.parametrize("stage", ["COMPLETED", "FAILED", "EXPIRED", "CANCELLED"])
def test_the_reason_is_cleared_when_the_job_ends(g, stage) -> None:
    g.step(2, [waits(g, 2, ("j1", "deadline"))])
    g.step(3, [g.sc.report(JobState("j1", stage, "", 1.0, 0, 3 * S), 3 * S)])
    assert reasons(g)["j1"] is None
    g.step(4, [waits(g, 4, ("j1", "deadline"))])  # a report about a job that ended
    assert reasons(g)["j1"] is None


def test_a_job_the_station_does_not_know_or_has_not_sent_takes_no_reason(tmp_path: Path, link_keyring) -> None:
    g = Ground(tmp_path / "archive.sqlite", link_keyring, [spec("j1")])
    try:
        g.step(0)  # no contact: j1 is queued on the ground, not sent
        g.step(2, [waits(g, 2, ("j1", "energy"), ("ghost", "energy"))])
        assert reasons(g) == {"j1": None}
    finally:
        g.close()


def test_job_waits_with_more_reasons_than_jobs_are_ignored_with_an_event(g) -> None:
    t = g.step(2, [g.sc.tm(JobWaits(("j1",), (0, 1)), "executor", 2 * S)])
    assert reasons(g)["j1"] is None
    assert [e.name for e in t.events] == ["station.bad_job_waits"]


# ---------------------------------------------------------------------- the archive


def test_set_wait_reasons_touches_only_waiting_jobs_and_counts_the_changes(tmp_path: Path) -> None:
    a = Archive(tmp_path / "a.sqlite")
    try:
        for job_id, stage in (("q", "QUEUED"), ("acc", "ACCEPTED"), ("pre", "PREEMPTED"), ("run", "STARTED")):
            a.add_job(job_id, "synthetic", 1, -1, 1.0, b"", 0, stage="QUEUED")
            if stage != "QUEUED":
                a.set_stage(job_id, stage, S)
        rows = [("q", "energy"), ("acc", "energy"), ("pre", "boards"), ("run", "energy")]
        assert a.set_wait_reasons(rows) == 2
        assert a.set_wait_reasons(rows) == 0, "an unchanged reason was written again"
        got = {r["job_id"]: r["wait_reason"] for r in a.jobs()}
        assert got == {"q": None, "acc": "energy", "pre": "boards", "run": None}
        a.set_stage("acc", "STARTED", 2 * S)
        assert a.job("acc")["wait_reason"] is None
    finally:
        a.close()


def test_an_archive_without_wait_reasons_gains_the_column_in_place(tmp_path: Path) -> None:
    path = tmp_path / "v2.sqlite"
    a = Archive(path)
    a.add_job("old", "synthetic", 1, -1, 1.0, b"", 0)
    a.set_stage("old", "ACCEPTED", S)
    a.close()
    db = sqlite3.connect(path)  # as schema 2 left it: no wait_reason column
    db.execute("ALTER TABLE jobs DROP COLUMN wait_reason")
    db.execute("PRAGMA user_version = 2")
    db.commit()
    db.close()
    a = Archive(path)
    try:
        assert a.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert a.job("old")["wait_reason"] is None and a.job("old")["stage"] == "ACCEPTED"
        assert a.set_wait_reasons([("old", "order")]) == 1
        assert a.job("old")["wait_reason"] == "order"
    finally:
        a.close()
