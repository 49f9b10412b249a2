"""The ground archive (sqlite, WAL): jobs with every lifecycle stage, and results.

One row per job that updates in place (ground stages and the flight's verification
stages), a stage history, and received results with their checksums. Writes commit
before the station acknowledges anything to the spacecraft.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["Archive"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    deadline_t_ns INTEGER NOT NULL,
    work_gpu_s REAL NOT NULL,
    spec BLOB NOT NULL,
    stage TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    released_t_ns INTEGER,
    sent_t_ns INTEGER,
    accepted_t_ns INTEGER,
    started_t_ns INTEGER,
    completed_t_ns INTEGER,
    downlinked_t_ns INTEGER,
    archived_t_ns INTEGER
);
CREATE TABLE IF NOT EXISTS stages (
    job_id TEXT NOT NULL,
    stage TEXT NOT NULL,
    t_ns INTEGER NOT NULL,
    reason TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS results (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    data BLOB NOT NULL,
    sha256 BLOB NOT NULL,
    received_t_ns INTEGER NOT NULL
);
"""

_STAGE_COLUMN = {
    "RELEASED": "released_t_ns",
    "SENT": "sent_t_ns",
    "ACCEPTED": "accepted_t_ns",
    "STARTED": "started_t_ns",
    "COMPLETED": "completed_t_ns",
    "DOWNLINKED": "downlinked_t_ns",
    "ARCHIVED": "archived_t_ns",
}


class Archive:
    def __init__(self, path: Path | str) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        # not autocommit: each `with self.db` block must be one transaction
        self.db = sqlite3.connect(self.path, isolation_level="DEFERRED")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self.db.executescript(_SCHEMA)

    def close(self) -> None:
        self.db.close()

    def add_job(self, job_id: str, kind: str, priority: int, deadline_t_ns: int, work_gpu_s: float,
                spec: bytes, t_ns: int) -> None:
        with self.db:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO jobs (job_id, kind, priority, deadline_t_ns, work_gpu_s, spec, "
                "stage, released_t_ns) VALUES (?, ?, ?, ?, ?, ?, 'RELEASED', ?)",
                (job_id, kind, priority, deadline_t_ns, work_gpu_s, spec, t_ns),
            )
            if cur.rowcount:  # a duplicate has no second effect
                self.db.execute("INSERT INTO stages VALUES (?, 'RELEASED', ?, '')", (job_id, t_ns))

    def set_stage(self, job_id: str, stage: str, t_ns: int, reason: str = "") -> None:
        col = _STAGE_COLUMN.get(stage)
        with self.db:
            if col:
                self.db.execute(
                    f"UPDATE jobs SET stage = ?, reason = ?, {col} = COALESCE({col}, ?) WHERE job_id = ?",
                    (stage, reason, t_ns, job_id),
                )
            else:
                self.db.execute("UPDATE jobs SET stage = ?, reason = ? WHERE job_id = ?",
                                (stage, reason, job_id))
            self.db.execute("INSERT INTO stages VALUES (?, ?, ?, ?)", (job_id, stage, t_ns, reason))

    def store_result(self, job_id: str, kind: str, data: bytes, sha256: bytes, t_ns: int) -> bool:
        """Store a verified result and mark the job ARCHIVED; False if it was already here."""
        with self.db:
            cur = self.db.execute(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?)", (job_id, kind, data, sha256, t_ns)
            )
            if cur.rowcount == 0:
                return False
            for stage in ("DOWNLINKED", "ARCHIVED"):
                col = _STAGE_COLUMN[stage]
                self.db.execute(f"UPDATE jobs SET stage = ?, {col} = ? WHERE job_id = ?", (stage, t_ns, job_id))
                self.db.execute("INSERT INTO stages VALUES (?, ?, ?, '')", (job_id, stage, t_ns))
        return True

    def jobs(self) -> list[dict]:
        cur = self.db.execute("SELECT * FROM jobs ORDER BY job_id")
        cols = [c[0] for c in cur.description]
        return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]

    def stages(self, job_id: str) -> list[tuple[str, int, str]]:
        return self.db.execute(
            "SELECT stage, t_ns, reason FROM stages WHERE job_id = ? ORDER BY rowid", (job_id,)
        ).fetchall()

    def result(self, job_id: str) -> tuple[str, bytes, bytes] | None:
        row = self.db.execute("SELECT kind, data, sha256 FROM results WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else (row[0], bytes(row[1]), bytes(row[2]))
