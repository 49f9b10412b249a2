"""The onboard job ledger: jobs, their lifecycle history, checkpoints and results, in
sqlite (WAL). Every method commits before it returns: the executor acknowledges a job
or reports a result only after the call that stored it has returned (durable before
acknowledged, DESIGN.md §6).
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass
from pathlib import Path

import msgpack

from flightsw.icd.codec import encode_body
from flightsw.icd.messages import JobSpec

__all__ = ["Ledger", "JobRow", "ResultRow", "TERMINAL_STATES"]

TERMINAL_STATES = frozenset({"REJECTED", "COMPLETED", "FAILED", "EXPIRED", "CANCELLED", "DOWNLINKED"})

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
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    sha256 BLOB NOT NULL,
    completed_t_ns INTEGER NOT NULL,
    acked INTEGER NOT NULL DEFAULT 0
);
"""


@dataclass(frozen=True)
class JobRow:
    spec: JobSpec
    order_no: int
    state: str
    reason: str
    accepted_t_ns: int
    checkpoint_gpu_s: float


@dataclass(frozen=True)
class ResultRow:
    job_id: str
    kind: str
    data: bytes
    sha256: bytes
    completed_t_ns: int
    acked: bool


def _pack_spec(spec: JobSpec) -> bytes:
    return msgpack.packb(encode_body(spec), use_bin_type=True)


def _unpack_spec(blob: bytes) -> JobSpec:
    return JobSpec(*msgpack.unpackb(blob, raw=False))


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

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------- writes
    def add_job(self, spec: JobSpec, state: str, reason: str, t_ns: int) -> bool:
        """Store a new job; False (and no change) if its id is already known."""
        with self.db:
            cur = self.db.execute("SELECT 1 FROM jobs WHERE job_id = ?", (spec.job_id,))
            if cur.fetchone() is not None:
                return False
            (order_no,) = self.db.execute("SELECT COALESCE(MAX(order_no), 0) + 1 FROM jobs").fetchone()
            self.db.execute(
                "INSERT INTO jobs VALUES (?, ?, ?, ?, ?, ?, ?, 0.0)",
                (spec.job_id, order_no, _pack_spec(spec), state, reason, t_ns, t_ns),
            )
            self.db.execute("INSERT INTO history VALUES (?, ?, ?, ?)", (spec.job_id, state, t_ns, reason))
        return True

    def set_state(self, job_id: str, state: str, t_ns: int, reason: str = "") -> None:
        with self.db:
            self.db.execute(
                "UPDATE jobs SET state = ?, reason = ?, updated_t_ns = ? WHERE job_id = ?",
                (state, reason, t_ns, job_id),
            )
            self.db.execute("INSERT INTO history VALUES (?, ?, ?, ?)", (job_id, state, t_ns, reason))

    def checkpoint(self, progress: dict[str, float], t_ns: int) -> None:
        """Persist the work done [GPU-s] of several jobs at once (one transaction)."""
        with self.db:
            self.db.executemany(
                "UPDATE jobs SET checkpoint_gpu_s = ?, updated_t_ns = ? WHERE job_id = ?",
                [(p, t_ns, j) for j, p in sorted(progress.items())],
            )

    def store_result(self, job_id: str, kind: str, data: bytes, sha256: bytes, t_ns: int, work_gpu_s: float) -> None:
        """The result and the COMPLETED state in one transaction."""
        with self.db:
            self.db.execute(
                "INSERT OR REPLACE INTO results VALUES (?, ?, ?, ?, ?, 0)",
                (job_id, kind, data, sha256, t_ns),
            )
            self.db.execute(
                "UPDATE jobs SET state = 'COMPLETED', reason = '', updated_t_ns = ?, "
                "checkpoint_gpu_s = ? WHERE job_id = ?",
                (t_ns, work_gpu_s, job_id),
            )
            self.db.execute("INSERT INTO history VALUES (?, 'COMPLETED', ?, '')", (job_id, t_ns))

    def mark_downlinked(self, job_id: str, t_ns: int) -> bool:
        """Ground confirmed the result; False if there is no such unacknowledged result."""
        with self.db:
            cur = self.db.execute("UPDATE results SET acked = 1 WHERE job_id = ? AND acked = 0", (job_id,))
            if cur.rowcount == 0:
                return False
            self.db.execute(
                "UPDATE jobs SET state = 'DOWNLINKED', updated_t_ns = ? WHERE job_id = ?", (t_ns, job_id)
            )
            self.db.execute("INSERT INTO history VALUES (?, 'DOWNLINKED', ?, '')", (job_id, t_ns))
        return True

    # -------------------------------------------------------------------- reads
    def jobs(self) -> list[JobRow]:
        rows = self.db.execute(
            "SELECT spec, order_no, state, reason, accepted_t_ns, checkpoint_gpu_s FROM jobs ORDER BY order_no"
        ).fetchall()
        return [JobRow(_unpack_spec(r[0]), r[1], r[2], r[3], r[4], r[5]) for r in rows]

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

    def discard_result(self, job_id: str, t_ns: int, reason: str) -> bool:
        """Drop an unacknowledged result (the ground found it corrupt) and send the job back
        to the queue with no progress, in one transaction; False if there was none."""
        with self.db:
            cur = self.db.execute("DELETE FROM results WHERE job_id = ? AND acked = 0", (job_id,))
            if cur.rowcount == 0:
                return False
            self.db.execute(
                "UPDATE jobs SET state = 'PREEMPTED', reason = ?, updated_t_ns = ?, checkpoint_gpu_s = 0.0 "
                "WHERE job_id = ?", (reason, t_ns, job_id))
            self.db.execute("INSERT INTO history VALUES (?, 'PREEMPTED', ?, ?)", (job_id, t_ns, reason))
        return True

    def result(self, job_id: str) -> ResultRow | None:
        r = self.db.execute(
            "SELECT job_id, kind, data, sha256, completed_t_ns, acked FROM results WHERE job_id = ?",
            (job_id,),
        ).fetchone()
        return None if r is None else ResultRow(r[0], r[1], bytes(r[2]), bytes(r[3]), r[4], bool(r[5]))

    def history(self, job_id: str) -> list[tuple[str, int, str]]:
        return self.db.execute(
            "SELECT state, t_ns, reason FROM history WHERE job_id = ? ORDER BY rowid", (job_id,)
        ).fetchall()
