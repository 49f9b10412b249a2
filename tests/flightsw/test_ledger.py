"""Tests for flightsw.store.ledger against real sqlite files: idempotent adds, history
with failure codes, atomic results, one-time downlink marking, checkpoints with replicas
and upsets, reruns, boards and counters, durability across a new Ledger object, and the
upgrade of a first-schema file."""

from __future__ import annotations

import sqlite3

import pytest

from flightsw.icd.messages import JobSpec
from flightsw.icd.results import sha256_digest
from flightsw.store.ledger import Ledger, StageRow, _pack_spec

S = 1_000_000_000  # [ns]
DATA = b"result bytes" * 8


def spec(job_id: str = "a", **overrides) -> JobSpec:
    fields = dict(job_id=job_id, kind="matmul", priority=3, deadline_t_ns=-1, boards_needed=2,
                  work_gpu_s=12.5, checkpoint_interval_s=30.0, input_bytes=10, output_bytes=20,
                  release_t_ns=4 * S, seed=99, params={"n": 16, "label": "x", "flag": True})
    fields.update(overrides)
    return JobSpec(**fields)


@pytest.fixture
def path(tmp_path):
    return tmp_path / "store" / "executor.sqlite"


@pytest.fixture
def ledger(path):
    led = Ledger(path)
    yield led
    led.close()


def inject_failure_on_job_update(ledger: Ledger) -> None:
    """A seeded fault in the database itself: any UPDATE of a job row aborts."""
    ledger.db.execute(
        "CREATE TRIGGER injected_fault BEFORE UPDATE ON jobs BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )


def inject_failure_on_history(ledger: Ledger) -> None:
    """A seeded fault in the database itself: no history row can be written."""
    ledger.db.execute(
        "CREATE TRIGGER injected_fault BEFORE INSERT ON history BEGIN SELECT RAISE(ABORT, 'injected'); END"
    )


# ------------------------------------------------------------------------ add_job

def test_a_new_job_is_stored_with_its_spec_intact(ledger):
    assert ledger.add_job(spec("a"), "ACCEPTED", "", 1 * S) is True
    (row,) = ledger.jobs()
    assert row.spec == spec("a"), "the spec did not survive the round trip through the store"
    assert (row.state, row.reason, row.accepted_t_ns, row.checkpoint_gpu_s) == ("ACCEPTED", "", S, 0.0)


def test_adding_a_known_job_id_again_returns_false_and_changes_nothing(ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", 1 * S)
    assert ledger.add_job(spec("a", priority=9), "REJECTED", "other", 2 * S) is False
    (row,) = ledger.jobs()
    assert row.spec.priority == 3 and row.state == "ACCEPTED", "a duplicate add changed the job"
    assert ledger.history("a") == [("ACCEPTED", S, "")], "a duplicate add wrote history"


def test_jobs_are_listed_in_acceptance_order(ledger):
    for i, job_id in enumerate(["z", "m", "a"]):
        ledger.add_job(spec(job_id), "ACCEPTED", "", i * S)
    rows = ledger.jobs()
    assert [r.spec.job_id for r in rows] == ["z", "m", "a"]
    assert [r.order_no for r in rows] == [1, 2, 3]


def test_a_rejected_job_is_stored_with_its_reason(ledger):
    ledger.add_job(spec("a"), "REJECTED", "kind: expected ...", S)
    assert ledger.state_of("a") == "REJECTED"
    assert ledger.jobs()[0].reason == "kind: expected ..."


def test_an_unknown_job_has_no_state(ledger):
    assert ledger.state_of("nobody") is None


# ------------------------------------------------------------------- state history

def test_every_state_change_is_recorded_with_time_and_reason(ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", 1 * S)
    ledger.set_state("a", "STARTED", 2 * S)
    ledger.set_state("a", "PREEMPTED", 3 * S, "budget or thermal")
    ledger.set_state("a", "EXPIRED", 4 * S, "deadline passed")
    assert ledger.history("a") == [
        ("ACCEPTED", 1 * S, ""),
        ("STARTED", 2 * S, ""),
        ("PREEMPTED", 3 * S, "budget or thermal"),
        ("EXPIRED", 4 * S, "deadline passed"),
    ]
    assert ledger.state_of("a") == "EXPIRED" and ledger.jobs()[0].reason == "deadline passed"


def test_a_checkpoint_stores_the_progress_of_several_jobs(ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", S)
    ledger.add_job(spec("b"), "ACCEPTED", "", S)
    ledger.checkpoint({"a": 1.5, "b": 7.25}, 5 * S)
    assert {r.spec.job_id: r.checkpoint_gpu_s for r in ledger.jobs()} == {"a": 1.5, "b": 7.25}


# ---------------------------------------------------------------------- results

def test_storing_a_result_also_marks_the_job_completed(ledger):
    ledger.add_job(spec("a"), "STARTED", "", S)
    ledger.store_result("a", "matmul", DATA, sha256_digest(DATA), 9 * S, 12.5)
    r = ledger.result("a")
    assert (r.data, r.sha256, r.completed_t_ns, r.acked) == (DATA, sha256_digest(DATA), 9 * S, False)
    assert ledger.state_of("a") == "COMPLETED"
    assert ledger.jobs()[0].checkpoint_gpu_s == 12.5
    assert ledger.history("a")[-1] == ("COMPLETED", 9 * S, "")


def test_a_result_and_its_completed_state_are_stored_together_or_not_at_all(ledger):
    ledger.add_job(spec("a"), "STARTED", "", S)
    inject_failure_on_job_update(ledger)
    with pytest.raises(sqlite3.DatabaseError):
        ledger.store_result("a", "matmul", DATA, sha256_digest(DATA), 9 * S, 12.5)
    assert ledger.result("a") is None, "a result was stored although its COMPLETED state was not"
    assert ledger.history("a") == [("STARTED", S, "")]


def test_a_state_change_and_its_history_row_are_stored_together_or_not_at_all(ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", S)
    inject_failure_on_history(ledger)
    with pytest.raises(sqlite3.DatabaseError):
        ledger.set_state("a", "STARTED", 2 * S)
    assert ledger.state_of("a") == "ACCEPTED", "a state change was kept without its history row"


def test_a_job_and_its_first_history_row_are_stored_together_or_not_at_all(ledger):
    inject_failure_on_history(ledger)
    with pytest.raises(sqlite3.DatabaseError):
        ledger.add_job(spec("a"), "ACCEPTED", "", S)
    assert ledger.state_of("a") is None, "a job was stored without its history row"


def test_a_result_is_marked_downlinked_exactly_once(ledger):
    ledger.add_job(spec("a"), "STARTED", "", S)
    ledger.store_result("a", "matmul", DATA, sha256_digest(DATA), 9 * S, 12.5)
    assert ledger.mark_downlinked("a", 20 * S) is True
    assert ledger.mark_downlinked("a", 21 * S) is False, "a second ack marked the result again"
    assert ledger.result("a").acked and ledger.state_of("a") == "DOWNLINKED"
    assert [h for h in ledger.history("a") if h[0] == "DOWNLINKED"] == [("DOWNLINKED", 20 * S, "")]


def test_marking_a_job_without_a_result_downlinked_is_refused(ledger):
    ledger.add_job(spec("a"), "STARTED", "", S)
    assert ledger.mark_downlinked("a", 20 * S) is False
    assert ledger.state_of("a") == "STARTED"


def test_only_unacknowledged_results_are_listed_when_asked(ledger):
    for job_id in ("a", "b"):
        ledger.add_job(spec(job_id), "STARTED", "", S)
        ledger.store_result(job_id, "matmul", DATA, sha256_digest(DATA), 9 * S, 1.0)
    ledger.mark_downlinked("a", 10 * S)
    assert [r.job_id for r in ledger.results()] == ["a", "b"]
    assert [r.job_id for r in ledger.results(unacked_only=True)] == ["b"]


# -------------------------------------------------------------------- durability

def test_everything_is_still_there_after_reopening_the_file(path):
    first = Ledger(path)
    first.add_job(spec("a"), "ACCEPTED", "", 1 * S)
    first.add_job(spec("b"), "ACCEPTED", "", 2 * S)
    first.set_state("a", "STARTED", 3 * S)
    first.checkpoint({"a": 4.0}, 4 * S)
    first.store_result("b", "matmul", DATA, sha256_digest(DATA), 5 * S, 12.5)
    first.close()

    second = Ledger(path)
    try:
        rows = {r.spec.job_id: r for r in second.jobs()}
        assert rows["a"].state == "STARTED" and rows["a"].checkpoint_gpu_s == 4.0
        assert rows["a"].spec == spec("a")
        assert rows["b"].state == "COMPLETED"
        assert second.result("b").data == DATA
        assert second.history("a") == [("ACCEPTED", S, ""), ("STARTED", 3 * S, "")]
        assert second.add_job(spec("a"), "ACCEPTED", "", 6 * S) is False, "idempotence lost on reopen"
        second.add_job(spec("c"), "ACCEPTED", "", 6 * S)
        assert second.jobs()[-1].order_no == 3, "acceptance order restarted after reopening"
    finally:
        second.close()


def test_writes_are_visible_to_another_connection_as_soon_as_the_call_returns(path, ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", S)
    ledger.store_result("a", "matmul", DATA, sha256_digest(DATA), 9 * S, 1.0)
    other = Ledger(path)  # the ledger stays open: nothing is waiting for close() to commit
    try:
        assert other.state_of("a") == "COMPLETED" and other.result("a") is not None
    finally:
        other.close()


def test_the_ledger_creates_its_folder(tmp_path):
    led = Ledger(tmp_path / "a" / "b" / "ledger.sqlite")
    led.close()
    assert (tmp_path / "a" / "b" / "ledger.sqlite").exists()


# ------------------------------------------------------------- failure codes, stages

def test_a_stage_is_stored_with_its_failure_code(ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", 1 * S)
    ledger.set_state("a", "EXPIRED", 2 * S, "cannot finish by its deadline", failure_code=4)
    assert ledger.stages("a") == [StageRow("ACCEPTED", S, "", 0),
                                  StageRow("EXPIRED", 2 * S, "cannot finish by its deadline", 4)]
    assert ledger.jobs()[0].failure_code == 4


def test_a_rejected_job_keeps_its_failure_code(ledger):
    ledger.add_job(spec("a"), "REJECTED", "kind: expected ...", S, failure_code=1)
    assert ledger.stages("a")[0].failure_code == 1 and ledger.jobs()[0].failure_code == 1


def test_a_progress_report_is_history_only(ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", S)
    ledger.set_state("a", "STARTED", 2 * S)
    ledger.record_stage("a", "PROGRESS", 3 * S, "25% done")
    assert ledger.state_of("a") == "STARTED", "a PROGRESS report changed the job's state"
    assert ledger.history("a")[-1] == ("PROGRESS", 3 * S, "25% done")


# ------------------------------------------------------------ checkpoints and reruns

def test_a_checkpoint_keeps_replica_progress_and_the_upsets_inside_it(ledger):
    ledger.add_job(spec("a"), "ACCEPTED", "", S)
    ledger.add_job(spec("b"), "ACCEPTED", "", S)
    ledger.checkpoint({"a": 3.0, "b": 1.0}, 5 * S, replica_gpu_s={"a": (3.0, 3.5)}, upsets={"a": (0, 2)})
    rows = {r.spec.job_id: r for r in ledger.jobs()}
    assert (rows["a"].checkpoint_replica_gpu_s, rows["a"].checkpoint_upsets) == ((3.0, 3.5), (0, 2))
    assert (rows["b"].checkpoint_replica_gpu_s, rows["b"].checkpoint_upsets) == ((), ())


def test_a_rerun_clears_the_checkpoint_and_counts_the_detection(ledger):
    ledger.add_job(spec("a"), "STARTED", "", S)
    ledger.checkpoint({"a": 3.0}, 2 * S, upsets={"a": (1,)})
    ledger.rerun("a", 1, 3 * S, "result failed its check", sdc_detected=True)
    (row,) = ledger.jobs()
    assert (row.state, row.checkpoint_gpu_s, row.checkpoint_upsets, row.reruns, row.sdc_detected) == \
        ("PREEMPTED", 0.0, (), 1, 1)
    assert ledger.history("a")[-1] == ("PREEMPTED", 3 * S, "result failed its check")
    ledger.count_sdc("a")
    assert ledger.jobs()[0].sdc_detected == 2


def test_a_discarded_result_stores_the_rerun_count(ledger):
    ledger.add_job(spec("a"), "STARTED", "", S)
    ledger.store_result("a", "matmul", DATA, sha256_digest(DATA), 9 * S, 12.5)
    assert ledger.discard_result("a", 10 * S, "ground: bad", reruns=1) is True
    (row,) = ledger.jobs()
    assert (row.state, row.reruns, row.checkpoint_gpu_s) == ("PREEMPTED", 1, 0.0)
    assert ledger.result("a") is None


# ----------------------------------------------------------- boards and counters

def test_boards_out_of_service_and_counters_survive_reopening(path):
    first = Ledger(path)
    first.set_board_service(3, False, S, "board 3: no response")
    first.set_board_service(5, False, S, "by command")
    first.set_board_service(5, True, 2 * S, "back")
    first.save_counters({"preemptions": 4, "power_cycles": 1})
    first.save_counters({"preemptions": 6})
    first.close()
    second = Ledger(path)
    try:
        assert second.boards_out_of_service() == {3: "board 3: no response"}
        assert second.counters() == {"power_cycles": 1, "preemptions": 6}
    finally:
        second.close()


def test_a_ledger_of_the_first_schema_is_upgraded_in_place(path):
    path.parent.mkdir(parents=True)
    old = sqlite3.connect(path)
    old.executescript("""
        CREATE TABLE jobs (job_id TEXT PRIMARY KEY, order_no INTEGER NOT NULL, spec BLOB NOT NULL,
            state TEXT NOT NULL, reason TEXT NOT NULL, accepted_t_ns INTEGER NOT NULL,
            updated_t_ns INTEGER NOT NULL, checkpoint_gpu_s REAL NOT NULL DEFAULT 0.0);
        CREATE TABLE history (job_id TEXT NOT NULL, state TEXT NOT NULL, t_ns INTEGER NOT NULL,
            reason TEXT NOT NULL);
    """)
    old.execute("INSERT INTO jobs VALUES ('a', 1, ?, 'STARTED', '', 1, 1, 2.5)", (_pack_spec(spec("a")),))
    old.execute("INSERT INTO history VALUES ('a', 'STARTED', 1, '')")
    old.commit()
    old.close()
    led = Ledger(path)
    try:
        (row,) = led.jobs()
        assert (row.state, row.checkpoint_gpu_s, row.reruns, row.checkpoint_upsets) == ("STARTED", 2.5, 0, ())
        led.set_state("a", "FAILED", 2, "x", failure_code=6)
        assert led.stages("a") == [StageRow("STARTED", 1, "", 0), StageRow("FAILED", 2, "x", 6)]
    finally:
        led.close()
