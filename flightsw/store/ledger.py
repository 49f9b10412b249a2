"""The onboard job ledger: jobs, their lifecycle history, checkpoints, results, board
service and the executor's counters, in sqlite (WAL). Every method commits before it
returns: the executor acknowledges a job or reports a stage only after the call that
stored it has returned (durable before acknowledged, DESIGN.md §6).

Tables:
  jobs      one row per job: spec, state, reason and failure code of the last stage,
            the last checkpoint (progress [GPU-s] per replica and the radiation upsets
            already inside it), reruns and on-board corruption detections
  history   one row per lifecycle stage: (job, stage, t_ns, reason, failure code);
            PROGRESS rows are reports only (the job stays STARTED)
  results   result bytes with their SHA-256, and whether the ground acknowledged them
  boards    boards taken out of service (and put back), with time and reason
  counters  the executor's cumulative counters (preemptions, checkpoints, ...), so a
            restarted executor reports totals over the whole run

A file written by the first schema (no reruns, replica or failure-code columns) is
upgraded in place when opened.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

import msgpack

from flightsw.icd.codec import encode_body
from flightsw.icd.messages import JobSpec

__all__ = ["Ledger", "JobRow", "ResultRow", "StageRow"]


_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    order_no INTEGER NOT NULL,
    spec BLOB NOT NULL,
    state TEXT NOT NULL,
    reason TEXT NOT NULL,
    accepted_t_ns INTEGER NOT NULL,
    updated_t_ns INTEGER NOT NULL,
    checkpoint_gpu_s REAL NOT NULL DEFAULT 0.0
);
CREATE TABLE IF NOT EXISTS history (
    job_id TEXT NOT NULL,
    state TEXT NOT NULL,
    t_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE INDEX IF NOT EXISTS history_by_job ON history (job_id);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    sha256 BLOB NOT NULL,
    completed_t_ns INTEGER NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS boards (
    board INTEGER PRIMARY KEY,
    in_service INTEGER NOT NULL,
    reason TEXT NOT NULL,
    t_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
"""

# Columns added after the first schema: (table, column, declaration). Added in place to an
# older file, so a run's store survives an upgrade of the flight software.
_ADDED_COLUMNS = (
    ("jobs", "reruns", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "checkpoint_replica_gpu_s", "TEXT NOT NULL DEFAULT ''"),  # JSON list; '' = scalar
    ("jobs", "checkpoint_upsets", "TEXT NOT NULL DEFAULT ''"),  # JSON list; '' = none
    ("jobs", "sdc_detected", "INTEGER NOT NULL DEFAULT 0"),
    ("jobs", "failure_code", "INTEGER NOT NULL DEFAULT 0"),
    ("history", "failure_code", "INTEGER NOT NULL DEFAULT 0"),
)

_JOB_COLUMNS = ("spec, order_no, state, reason, accepted_t_ns, checkpoint_gpu_s, reruns, "
                "checkpoint_replica_gpu_s, checkpoint_upsets, sdc_detected, failure_code")


@dataclass(frozen=True)
class JobRow:
    """A job as stored. ``checkpoint_gpu_s``: work saved by the last checkpoint [GPU-s]
    (the slowest replica's, for a job run twice); ``checkpoint_replica_gpu_s``: per replica
    (() when only the scalar was stored: every replica is at ``checkpoint_gpu_s``);
    ``checkpoint_upsets``: bit flips already inside that checkpoint, per replica (() none);
    ``reruns``: times a corrupted result sent the job back to the queue;
    ``sdc_detected``: corruptions of this job caught on board."""

    spec: JobSpec
    order_no: int
    state: str
    reason: str
    accepted_t_ns: int
    checkpoint_gpu_s: float
    reruns: int = 0
    checkpoint_replica_gpu_s: tuple[float, ...] = ()
    checkpoint_upsets: tuple[int, ...] = ()
    sdc_detected: int = 0
    failure_code: int = 0


@dataclass(frozen=True)
class ResultRow:
    job_id: str
    kind: str
    data: bytes
    sha256: bytes
    completed_t_ns: int
    acked: bool


@dataclass(frozen=True)
class StageRow:
    """One history row: a lifecycle stage with its time, reason and failure code."""

    state: str
    t_ns: int
    reason: str
    failure_code: int


def _pack_spec(spec: JobSpec) -> bytes:
    return msgpack.packb(encode_body(spec), use_bin_type=True)


def _unpack_spec(blob: bytes) -> JobSpec:
    return JobSpec(*msgpack.unpackb(blob, raw=False))


def _json_list(text: str) -> tuple:
    return tuple(json.loads(text)) if text else ()


class Ledger:
    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        # Not autocommit (isolation_level=None): there, ``with self.db`` opens no transaction
        # and each statement commits alone. DEFERRED makes every ``with self.db`` block one
        # transaction (sqlite3 begins it before the first write), so it is atomic.
        self.db = sqlite3.connect(self.path, isolation_level="DEFERRED")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)
        self._upgrade()

    def _upgrade(self) -> None:
        with self.db:
            for table, column, decl in _ADDED_COLUMNS:
                have = {r[1] for r in self.db.execute(f"PRAGMA table_info({table})")}
                if column not in have:
                    self.db.execute(f"ALTER TABLE {table} ADD COLUMN {column} {decl}")

    def close(self) -> None:
        self.db.close()

    def _history(self, job_id: str, state: str, t_ns: int, reason: str, failure_code: int = 0) -> None:
        self.db.execute("INSERT INTO history (job_id, state, t_ns, reason, failure_code) VALUES (?, ?, ?, ?, ?)",
                        (job_id, state, t_ns, reason, failure_code))

    # ------------------------------------------------------------------- writes
    def add_job(self, spec: JobSpec, state: str, reason: str, t_ns: int, failure_code: int = 0) -> bool:
        """Store a new job; False (and no change) if its id is already known."""
        with self.db:
            cur = self.db.execute("SELECT 1 FROM jobs WHERE job_id = ?", (spec.job_id,))
            if cur.fetchone() is not None:
                return False
            (order_no,) = self.db.execute("SELECT COALESCE(MAX(order_no), 0) + 1 FROM jobs").fetchone()
            self.db.execute(
                "INSERT INTO jobs (job_id, order_no, spec, state, reason, accepted_t_ns, updated_t_ns, "
                "failure_code) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (spec.job_id, order_no, _pack_spec(spec), state, reason, t_ns, t_ns, failure_code),
            )
            self._history(spec.job_id, state, t_ns, reason, failure_code)
        return True

    def set_state(self, job_id: str, state: str, t_ns: int, reason: str = "", failure_code: int = 0) -> None:
        with self.db:
            self.db.execute(
                "UPDATE jobs SET state = ?, reason = ?, failure_code = ?, updated_t_ns = ? WHERE job_id = ?",
                (state, reason, failure_code, t_ns, job_id),
            )
            self._history(job_id, state, t_ns, reason, failure_code)

    def record_stage(self, job_id: str, stage: str, t_ns: int, reason: str = "") -> None:
        """A history row that does not change the job's state (a PROGRESS report)."""
        with self.db:
            self._history(job_id, stage, t_ns, reason)

    def checkpoint(self, progress: Mapping[str, float], t_ns: int,
                   replica_gpu_s: Mapping[str, tuple[float, ...]] | None = None,
                   upsets: Mapping[str, tuple[int, ...]] | None = None) -> None:
        """Persist the work done [GPU-s] of several jobs at once (one transaction), with,
        per job where given, each replica's work and the upsets inside the checkpoint."""
        replica_gpu_s = replica_gpu_s or {}
        upsets = upsets or {}
        with self.db:
            self.db.executemany(
                "UPDATE jobs SET checkpoint_gpu_s = ?, checkpoint_replica_gpu_s = ?, checkpoint_upsets = ?, "
                "updated_t_ns = ? WHERE job_id = ?",
                [(p, json.dumps(list(replica_gpu_s[j])) if j in replica_gpu_s else "",
                  json.dumps(list(upsets[j])) if j in upsets and any(upsets[j]) else "", t_ns, j)
                 for j, p in sorted(progress.items())],
            )

    def rerun(self, job_id: str, reruns: int, t_ns: int, reason: str, sdc_detected: bool) -> None:
        """Send a job whose result was found corrupted on board back to the queue from
        nothing (its checkpoint may hold the flip): state PREEMPTED, checkpoint cleared,
        ``reruns`` stored, and the detection counted when ``sdc_detected``; one transaction."""
        with self.db:
            self.db.execute(
                "UPDATE jobs SET state = 'PREEMPTED', reason = ?, failure_code = 0, updated_t_ns = ?, "
                "checkpoint_gpu_s = 0.0, checkpoint_replica_gpu_s = '', checkpoint_upsets = '', reruns = ?, "
                "sdc_detected = sdc_detected + ? WHERE job_id = ?",
                (reason, t_ns, reruns, int(sdc_detected), job_id))
            self._history(job_id, "PREEMPTED", t_ns, reason)

    def count_sdc(self, job_id: str) -> None:
        """One more corruption of ``job_id`` caught on board (when no rerun follows)."""
        with self.db:
            self.db.execute("UPDATE jobs SET sdc_detected = sdc_detected + 1 WHERE job_id = ?", (job_id,))

    def store_result(self, job_id: str, kind: str, data: bytes, sha256: bytes, t_ns: int, work_gpu_s: float) -> None:
        """The result and the COMPLETED state in one transaction."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, 0)",
                (job_id, kind, data, sha256, t_ns),
            )
            self.db.execute(
                "UPDATE jobs SET state = 'COMPLETED', reason = '', failure_code = 0, updated_t_ns = ?, "
                "checkpoint_gpu_s = ?, checkpoint_replica_gpu_s = '' WHERE job_id = ?",
                (t_ns, work_gpu_s, job_id),
            )
            self._history(job_id, "COMPLETED", t_ns, "")

    def mark_downlinked(self, job_id: str, t_ns: int) -> bool:
        """Ground confirmed the result; False if there is no such unacknowledged result."""
        with self.db:
            cur = self.db.execute("UPDATE results SET acked = 1 WHERE job_id = ? AND acked = 0", (job_id,))
            if cur.rowcount == 0:
                return False
            self.db.execute(
                "UPDATE jobs SET state = 'DOWNLINKED', updated_t_ns = ? WHERE job_id = ?", (t_ns, job_id)
            )
            self._history(job_id, "DOWNLINKED", t_ns, "")
        return True

    def discard_result(self, job_id: str, t_ns: int, reason: str, reruns: int | None = None,
                       state: str = "PREEMPTED", failure_code: int = 0) -> bool:
        """Drop an unacknowledged result (the ground found it corrupt) and send the job back
        to the queue with no progress (``reruns`` stored when given), or end it in
        ``state`` (FAILED) with ``failure_code``: one transaction, one history row.
        False if there was none."""
        if state not in ("PREEMPTED", "FAILED"):
            raise ValueError(f"state: expected PREEMPTED or FAILED, got {state!r}")
        with self.db:
            cur = self.db.execute("DELETE FROM results WHERE job_id = ? AND acked = 0", (job_id,))
            if cur.rowcount == 0:
                return False
            self.db.execute(
                "UPDATE jobs SET state = ?, reason = ?, failure_code = ?, updated_t_ns = ?, "
                "checkpoint_gpu_s = 0.0, checkpoint_replica_gpu_s = '', checkpoint_upsets = '', "
                "reruns = COALESCE(?, reruns) WHERE job_id = ?", (state, reason, failure_code, t_ns, reruns, job_id))
            self._history(job_id, state, t_ns, reason, failure_code)
        return True

    def set_board_service(self, board: int, in_service: bool, t_ns: int, reason: str) -> None:
        with self.db:
            self.db.execute(
                "INSERT INTO boards VALUES (?, ?, ?, ?) ON CONFLICT(board) DO UPDATE SET "
                "in_service = excluded.in_service, reason = excluded.reason, t_ns = excluded.t_ns",
                (board, int(in_service), reason, t_ns))

    def save_counters(self, values: Mapping[str, int]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                sorted(values.items()))

    # -------------------------------------------------------------------- reads
    def jobs(self) -> list[JobRow]:
        rows = self.db.execute(f"SELECT {_JOB_COLUMNS} FROM jobs ORDER BY order_no").fetchall()
        return [JobRow(_unpack_spec(r[0]), r[1], r[2], r[3], r[4], r[5], r[6], _json_list(r[7]),
                       _json_list(r[8]), r[9], r[10]) for r in rows]

    def state_of(self, job_id: str) -> str | None:
        row = self.db.execute("SELECT state FROM jobs WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else row[0]

    def results(self, unacked_only: bool = False) -> list[ResultRow]:
        q = "SELECT job_id, kind, data, sha256, completed_t_ns, acked FROM results"
        if unacked_only:
            q += " WHERE acked = 0"
        rows = self.db.execute(q + " ORDER BY completed_t_ns, job_id").fetchall()
        return [ResultRow(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], bool(r[5])) for r in rows]

    def unacked_sizes(self) -> list[tuple[str, int]]:
        """(job_id, result size [bytes]) of every unacknowledged result, oldest first,
        without reading the result bytes."""
        return self.db.execute(
            "SELECT job_id, length(data) FROM results WHERE acked = 0 ORDER BY completed_t_ns, job_id"
        ).fetchall()

    def result(self, job_id: str) -> ResultRow | None:
        r = self.db.execute(
            "SELECT job_id, kind, data, sha256, completed_t_ns, acked FROM results WHERE job_id = ?",
            (job_id,),
        ).fetchone()
        return None if r is None else ResultRow(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], bool(r[5]))

    def history(self, job_id: str) -> list[tuple[str, int, str]]:
        """(stage, t_ns, reason) of every stage of ``job_id``, in the order they happened."""
        return self.db.execute(
            "SELECT state, t_ns, reason FROM history WHERE job_id = ? ORDER BY rowid", (job_id,)
        ).fetchall()

    def stages(self, job_id: str) -> list[StageRow]:
        """Every history row of ``job_id`` with its failure code, in order."""
        rows = self.db.execute(
            "SELECT state, t_ns, reason, failure_code FROM history WHERE job_id = ? ORDER BY rowid", (job_id,)
        ).fetchall()
        return [StageRow(*r) for r in rows]

    def boards_out_of_service(self) -> dict[int, str]:
        """board -> the reason it was taken out of service, for every board out now."""
        return dict(self.db.execute("SELECT board, reason FROM boards WHERE in_service = 0 ORDER BY board"))

    def counters(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT name, value FROM counters ORDER BY name").fetchall())
