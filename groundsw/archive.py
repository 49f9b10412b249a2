"""The ground archive (sqlite, WAL): jobs and every stage they pass, commands and theirs,
telemetry, events, received files, passes, results, operator actions on alarms, and the
station's meta data.

Two processes share the file: the station (the only one that moves job and command
stages) and the API server (``groundsw serve``), which reads and inserts operator
requests: new jobs and commands (stage QUEUED), approvals and cancel requests, which the
station polls for. Both open it with WAL (readers never wait for the writer) and a busy
timeout of 5 s (a writer waits for the other's transaction rather than failing).

Durable before acknowledged: every writer commits before it returns, except inside
``with archive.batch():``, which groups the writers it wraps into one transaction (the
station groups one tick's writes) and commits when the block ends. Writers use
``BEGIN IMMEDIATE``, so read-then-write steps (the next operator job id, an approval's
checks) cannot race the other process.

Time is ``t_ns``: integer ns since the scenario epoch (sim time). ``meta`` values are
stored as JSON text, so numbers come back as numbers.
"""

from __future__ import annotations

import hashlib
import json
import math
import sqlite3
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from flightsw.icd.messages import Severity

__all__ = ["ALARM_SEVERITIES", "ALARM_STATES", "FINAL_JOB_STAGES", "WAITING_STAGES", "Archive"]

_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS jobs (
    job_id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    priority INTEGER NOT NULL,
    deadline_t_ns INTEGER NOT NULL,
    work_gpu_s REAL NOT NULL,
    spec BLOB NOT NULL DEFAULT x'',
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
    id INTEGER PRIMARY KEY,
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
CREATE TABLE IF NOT EXISTS commands (
    cmd_id INTEGER PRIMARY KEY AUTOINCREMENT,
    name TEXT NOT NULL,
    target TEXT NOT NULL,
    opcode INTEGER NOT NULL,
    args_json TEXT NOT NULL,
    sender TEXT NOT NULL,
    origin TEXT NOT NULL,
    critical INTEGER NOT NULL,
    approved_by TEXT,
    approved_t_ns INTEGER,
    stage TEXT NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT '',
    queued_t_ns INTEGER NOT NULL,
    stage_timeout_t_ns INTEGER
);
CREATE TABLE IF NOT EXISTS command_stages (
    id INTEGER PRIMARY KEY,
    cmd_id INTEGER NOT NULL,
    stage TEXT NOT NULL,
    t_ns INTEGER NOT NULL,
    status TEXT NOT NULL DEFAULT '',
    message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS telemetry (
    id INTEGER PRIMARY KEY,
    channel TEXT NOT NULL,
    t_ns INTEGER NOT NULL,
    value REAL
);
CREATE TABLE IF NOT EXISTS events (
    id INTEGER PRIMARY KEY,
    t_ns INTEGER NOT NULL,
    src TEXT NOT NULL,
    severity TEXT NOT NULL,
    name TEXT NOT NULL,
    text TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS files (
    id INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    job_id TEXT,
    size_bytes INTEGER NOT NULL,
    crc32 INTEGER NOT NULL,
    sha256 TEXT NOT NULL,
    received_t_ns INTEGER NOT NULL,
    status TEXT NOT NULL,
    reason TEXT NOT NULL DEFAULT '',
    data BLOB NOT NULL
);
CREATE TABLE IF NOT EXISTS passes (
    id INTEGER PRIMARY KEY,
    station TEXT NOT NULL,
    aos_t_ns INTEGER NOT NULL,
    los_t_ns INTEGER,
    predicted INTEGER NOT NULL,
    max_elev_deg REAL,
    bytes_down INTEGER NOT NULL DEFAULT 0,
    bytes_up INTEGER NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS transfers (
    seq INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    size_bytes INTEGER NOT NULL,
    received_bytes INTEGER NOT NULL,
    state TEXT NOT NULL,
    started_t_ns INTEGER NOT NULL,
    updated_t_ns INTEGER NOT NULL
);
CREATE TABLE IF NOT EXISTS alarm_actions (
    id INTEGER PRIMARY KEY,
    event_id INTEGER NOT NULL,
    action TEXT NOT NULL,
    user TEXT NOT NULL,
    t_ns INTEGER NOT NULL,
    until_t_ns INTEGER,
    reason TEXT NOT NULL DEFAULT ''
);
"""

# Columns added to the jobs table since issue 4 (added in place to an older archive).
_JOB_COLUMNS = (
    ("origin", "TEXT NOT NULL DEFAULT 'scenario'"),
    ("submitted_by", "TEXT"),
    ("spec_json", "TEXT"),
    ("queued_t_ns", "INTEGER"),
    ("estimate_energy_wh", "REAL"),
    ("estimate_time_s", "REAL"),
    ("cancel_requested", "INTEGER NOT NULL DEFAULT 0"),
    ("cancel_requested_by", "TEXT"),
    ("cancel_requested_t_ns", "INTEGER"),
    ("stage_timeout_t_ns", "INTEGER"),
    # why the job waits on board now (flightsw.icd.messages.WAIT_REASON_NAMES), from the
    # executor's JobWaits; NULL when unknown, running or ended (schema 3)
    ("wait_reason", "TEXT"),
)

_INDEXES = """
CREATE INDEX IF NOT EXISTS jobs_stage ON jobs (stage);
CREATE INDEX IF NOT EXISTS jobs_cancel ON jobs (cancel_requested) WHERE cancel_requested = 1;
CREATE INDEX IF NOT EXISTS stages_job ON stages (job_id);
CREATE INDEX IF NOT EXISTS commands_stage ON commands (stage);
CREATE INDEX IF NOT EXISTS command_stages_cmd ON command_stages (cmd_id);
CREATE INDEX IF NOT EXISTS telemetry_channel_t ON telemetry (channel, t_ns);
CREATE INDEX IF NOT EXISTS events_t ON events (t_ns);
CREATE INDEX IF NOT EXISTS passes_aos ON passes (aos_t_ns);
CREATE INDEX IF NOT EXISTS alarm_actions_event ON alarm_actions (event_id, id);
CREATE INDEX IF NOT EXISTS events_alarm ON events (t_ns) WHERE severity IN ('FATAL', 'WARNING_HI');
"""

_STAGE_COLUMN = {
    "QUEUED": "queued_t_ns",
    "RELEASED": "released_t_ns",
    "SENT": "sent_t_ns",
    "ACCEPTED": "accepted_t_ns",
    "STARTED": "started_t_ns",
    "COMPLETED": "completed_t_ns",
    "DOWNLINKED": "downlinked_t_ns",
    "ARCHIVED": "archived_t_ns",
}
FINAL_JOB_STAGES = frozenset({"ARCHIVED", "REJECTED", "FAILED", "EXPIRED", "CANCELLED"})
_FINAL_SQL = "(" + ", ".join(f"'{s}'" for s in sorted(FINAL_JOB_STAGES)) + ")"
# a job at one of these stages may be waiting on board: JobWaits may give it a reason; any
# other stage (running, ended, not yet sent) clears it
WAITING_STAGES = frozenset({"SENT", "ACCEPTED", "PREEMPTED"})
_WAITING_SQL = "(" + ", ".join(f"'{s}'" for s in sorted(WAITING_STAGES)) + ")"
BUSY_TIMEOUT_MS = 5000
# 1: issue 4 (jobs, stages, results); 2: the ground segment; 3: jobs.wait_reason; 4: alarm_actions;
# 5: transfers (file transfers in flight)
SCHEMA_VERSION = 5
OPERATOR_JOB_PREFIX = "OP-"
_SEVERITY_NAMES = {s.name for s in Severity}
# An alarm is an event of one of these severities; the literal list must match the partial
# index events_alarm word for word, or sqlite will not use it.
ALARM_SEVERITIES = ("FATAL", "WARNING_HI")
_ALARM_WHERE = "severity IN ('FATAL', 'WARNING_HI')"
ALARM_STATES = ("active", "acknowledged", "shelved")
# Every alarm with its state at meta now_t_ns (the one parameter), derived from its actions:
# shelved while its latest action is a shelve not yet over (until > now); otherwise
# acknowledged once any ack exists (an expired shelve falls back to that); otherwise
# active. acked_by/acked_t_ns: the first ack; shelved_*: the shelve in force, if any.
_ALARMS_SQL = f"""
WITH latest AS (SELECT event_id, MAX(id) AS id FROM alarm_actions GROUP BY event_id),
     first_ack AS (SELECT event_id, MIN(id) AS id FROM alarm_actions WHERE action = 'ack' GROUP BY event_id),
     alarm AS (
        SELECT e.id AS event_id, e.t_ns, e.src AS source, e.name, e.severity, e.text,
               ack.user AS acked_by, ack.t_ns AS acked_t_ns,
               CASE WHEN la.action = 'shelve' AND la.until_t_ns > :now THEN la.id END AS shelve_id
        FROM events e
        LEFT JOIN latest ON latest.event_id = e.id
        LEFT JOIN alarm_actions la ON la.id = latest.id
        LEFT JOIN first_ack ON first_ack.event_id = e.id
        LEFT JOIN alarm_actions ack ON ack.id = first_ack.id
        WHERE e.{_ALARM_WHERE})
SELECT alarm.event_id, alarm.t_ns, alarm.source, alarm.name, alarm.severity, alarm.text,
       CASE WHEN alarm.shelve_id IS NOT NULL THEN 'shelved'
            WHEN alarm.acked_by IS NOT NULL THEN 'acknowledged' ELSE 'active' END AS state,
       alarm.acked_by, alarm.acked_t_ns,
       sh.user AS shelved_by, sh.t_ns AS shelved_t_ns, sh.until_t_ns AS shelved_until_t_ns,
       sh.reason AS shelve_reason
FROM alarm LEFT JOIN alarm_actions sh ON sh.id = alarm.shelve_id
"""


def _rows(cur: sqlite3.Cursor) -> list[dict]:
    cols = [c[0] for c in cur.description]
    return [dict(zip(cols, row, strict=True)) for row in cur.fetchall()]


def _finite(x: Any) -> float | None:
    """Telemetry values: a reading that is not a finite number is stored as NULL (no
    reading): sqlite turns NaN into NULL anyway, and JSON has no infinity."""
    if x is None:
        return None
    x = float(x)
    return x if math.isfinite(x) else None


def _severity_name(sev: Any) -> str:
    if isinstance(sev, str) and sev in _SEVERITY_NAMES:
        return sev
    return Severity(int(sev)).name


class Archive:
    """One connection to the archive. Not shared between threads unless opened with
    ``check_same_thread=False`` and used by one thread at a time (the API's pool)."""

    def __init__(self, path: Path | str, check_same_thread: bool = True) -> None:
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        self.path = Path(path)
        # autocommit at the driver level: transactions are explicit (see _tx)
        self.db = sqlite3.connect(self.path, isolation_level=None, timeout=BUSY_TIMEOUT_MS / 1000,
                                  check_same_thread=check_same_thread)
        self.db.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute("PRAGMA synchronous=NORMAL")
        self._depth = 0
        self._migrate()

    def _migrate(self) -> None:
        """Create the schema, or bring an older archive up to it (added columns, indexes).
        Skipped when the file is already current, so opening never takes the write lock."""
        if self.db.execute("PRAGMA user_version").fetchone()[0] >= SCHEMA_VERSION:
            return
        with self._tx():
            for stmt in _SCHEMA.split(";"):
                if stmt.strip():
                    self.db.execute(stmt)
            have = {r[1] for r in self.db.execute("PRAGMA table_info(jobs)")}
            for col, decl in _JOB_COLUMNS:
                if col not in have:
                    self.db.execute(f"ALTER TABLE jobs ADD COLUMN {col} {decl}")
            for stmt in _INDEXES.split(";"):
                if stmt.strip():
                    self.db.execute(stmt)
            self.db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        self.db.close()

    # ------------------------------------------------------------------ transactions
    @contextmanager
    def _tx(self) -> Iterator[None]:
        """One write transaction, committed on exit, unless inside batch()."""
        if self._depth:
            yield
            return
        self.db.execute("BEGIN IMMEDIATE")
        self._depth = 1
        try:
            yield
            self.db.execute("COMMIT")
        except BaseException:
            if self.db.in_transaction:  # the block failed, or COMMIT itself did
                self.db.execute("ROLLBACK")
            raise
        finally:
            self._depth = 0

    @contextmanager
    def batch(self) -> Iterator[Archive]:
        """Group every write in the block into one transaction (one commit, one fsync at
        most); an exception rolls the whole block back. Nested batches join the outer one."""
        with self._tx():
            yield self

    @contextmanager
    def _read(self) -> Iterator[None]:
        """One consistent snapshot for a reader that runs several queries."""
        if self._depth:
            yield
            return
        self.db.execute("BEGIN")
        try:
            yield
        finally:
            self.db.execute("COMMIT")

    # -------------------------------------------------------------------------- meta
    def set_meta(self, **kv: Any) -> None:
        with self._tx():
            self.db.executemany(
                "INSERT INTO meta (key, value) VALUES (?, ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                [(k, json.dumps(v)) for k, v in kv.items()],
            )

    def meta(self) -> dict[str, Any]:
        return {k: json.loads(v) for k, v in self.db.execute("SELECT key, value FROM meta")}

    def _now_t_ns(self) -> int:
        row = self.db.execute("SELECT value FROM meta WHERE key = 'now_t_ns'").fetchone()
        return int(json.loads(row[0])) if row else 0

    # -------------------------------------------------------------- jobs: station side
    def add_job(self, job_id: str, kind: str, priority: int, deadline_t_ns: int, work_gpu_s: float,
                spec: bytes, t_ns: int, *, origin: str = "scenario", spec_json: Any = None,
                stage: str = "RELEASED", estimate_energy_wh: float | None = None,
                estimate_time_s: float | None = None) -> bool:
        """Record a job (a duplicate id has no second effect: False). ``stage`` is
        RELEASED (default, as before) or QUEUED; ``spec_json``: the JobSpec fields by
        name, as a dict or JSON text."""
        if stage not in ("RELEASED", "QUEUED"):
            raise ValueError(f"stage: expected 'RELEASED' or 'QUEUED', got {stage!r}")
        if spec_json is not None and not isinstance(spec_json, str):
            spec_json = json.dumps(spec_json, sort_keys=True)
        with self._tx():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO jobs (job_id, kind, priority, deadline_t_ns, work_gpu_s, spec, "
                "stage, released_t_ns, queued_t_ns, origin, spec_json, estimate_energy_wh, "
                "estimate_time_s) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (job_id, kind, priority, deadline_t_ns, work_gpu_s, spec, stage,
                 t_ns if stage == "RELEASED" else None, t_ns, origin, spec_json,
                 estimate_energy_wh, estimate_time_s),
            )
            if cur.rowcount:
                self.db.execute("INSERT INTO stages (job_id, stage, t_ns, reason) VALUES (?, ?, ?, '')",
                                (job_id, stage, t_ns))
        return bool(cur.rowcount)

    def set_stage(self, job_id: str, stage: str, t_ns: int, reason: str = "",
                  timeout_t_ns: int | None = None) -> None:
        """Move a job to ``stage`` (the first time of each timed stage is kept) and
        record it in the history; ``timeout_t_ns``: when this stage times out, or None.
        A stage outside WAITING_STAGES (the job runs, or ended) clears its wait reason."""
        col = _STAGE_COLUMN.get(stage)
        timed = f", {col} = COALESCE({col}, ?)" if col else ""
        waits = "" if stage in WAITING_STAGES else ", wait_reason = NULL"
        params = (stage, reason, timeout_t_ns, *((t_ns,) if col else ()), job_id)
        with self._tx():
            self.db.execute(f"UPDATE jobs SET stage = ?, reason = ?, stage_timeout_t_ns = ?{timed}{waits} "
                            "WHERE job_id = ?", params)
            self.db.execute("INSERT INTO stages (job_id, stage, t_ns, reason) VALUES (?, ?, ?, ?)",
                            (job_id, stage, t_ns, reason))

    def store_result(self, job_id: str, kind: str, data: bytes, sha256: bytes, t_ns: int) -> bool:
        """Store a verified result and mark the job ARCHIVED; False if it was already here."""
        with self._tx():
            cur = self.db.execute(
                "INSERT OR IGNORE INTO results VALUES (?, ?, ?, ?, ?)", (job_id, kind, data, sha256, t_ns)
            )
            if cur.rowcount == 0:
                return False
            for stage in ("DOWNLINKED", "ARCHIVED"):
                col = _STAGE_COLUMN[stage]
                self.db.execute(f"UPDATE jobs SET stage = ?, stage_timeout_t_ns = NULL, wait_reason = NULL, "
                                f"{col} = ? WHERE job_id = ?", (stage, t_ns, job_id))
                self.db.execute("INSERT INTO stages (job_id, stage, t_ns, reason) VALUES (?, ?, ?, '')",
                                (job_id, stage, t_ns))
        return True

    def set_wait_reasons(self, rows: Iterable[tuple[str, str | None]]) -> int:
        """``rows``: (job_id, why it waits, or None) from the executor's JobWaits; only a
        job at one of WAITING_STAGES takes it (a late report never marks a running or
        ended job as waiting) -> the number of jobs changed."""
        with self._tx():
            cur = self.db.executemany(
                f"UPDATE jobs SET wait_reason = ? WHERE job_id = ? AND stage IN {_WAITING_SQL} "
                "AND wait_reason IS NOT ?", ((why, job_id, why) for job_id, why in rows))
        return cur.rowcount

    def new_operator_jobs(self, after_rowid: int) -> list[tuple[int, str, str]]:
        """(rowid, job_id, spec_json) of operator jobs added after ``after_rowid``, oldest first."""
        return self.db.execute(
            "SELECT rowid, job_id, spec_json FROM jobs WHERE rowid > ? AND origin = 'operator' "
            "ORDER BY rowid", (after_rowid,)).fetchall()

    def cancel_requests(self) -> list[str]:
        """Jobs an operator asked to cancel that are not yet final (clear with clear_cancel)."""
        return [r[0] for r in self.db.execute(
            f"SELECT job_id FROM jobs WHERE cancel_requested = 1 AND stage NOT IN {_FINAL_SQL} "
            "ORDER BY cancel_requested_t_ns, job_id")]

    def clear_cancel(self, job_id: str) -> None:
        with self._tx():
            self.db.execute("UPDATE jobs SET cancel_requested = 0 WHERE job_id = ?", (job_id,))

    # ------------------------------------------------------------------ jobs: API side
    def submit_job(self, spec: dict, user: str, estimate: dict | None = None) -> str:
        """Queue an operator job (``spec``: validated JobSpec fields without job_id and
        release_t_ns) -> its new id ``OP-000001``...; queued at meta ``now_t_ns``."""
        est = estimate or {}
        with self._tx():
            now = self._now_t_ns()
            (n,) = self.db.execute("SELECT COUNT(*) FROM jobs WHERE origin = 'operator'").fetchone()
            while True:  # the count is next, unless a scenario happens to use the name
                n += 1
                job_id = f"{OPERATOR_JOB_PREFIX}{n:06d}"
                if self.db.execute("SELECT 1 FROM jobs WHERE job_id = ?", (job_id,)).fetchone() is None:
                    break
            self.db.execute(
                "INSERT INTO jobs (job_id, kind, priority, deadline_t_ns, work_gpu_s, spec, stage, "
                "queued_t_ns, origin, submitted_by, spec_json, estimate_energy_wh, estimate_time_s) "
                "VALUES (?, ?, ?, ?, ?, x'', 'QUEUED', ?, 'operator', ?, ?, ?, ?)",
                (job_id, spec["kind"], spec["priority"], spec["deadline_t_ns"], spec["work_gpu_s"], now,
                 user, json.dumps(spec, sort_keys=True), est.get("energy_wh"), est.get("time_s")),
            )
            self.db.execute("INSERT INTO stages (job_id, stage, t_ns, reason) VALUES (?, 'QUEUED', ?, ?)",
                            (job_id, now, f"submitted by {user}"))
        return job_id

    def request_cancel(self, job_id: str, user: str) -> str:
        """Ask the station to cancel a job -> "requested", "already_requested",
        "not_found" or "final" (nothing left to cancel). Does not move the stage."""
        with self._tx():
            row = self.db.execute("SELECT stage, cancel_requested FROM jobs WHERE job_id = ?",
                                  (job_id,)).fetchone()
            if row is None:
                return "not_found"
            if row[0] in FINAL_JOB_STAGES:
                return "final"
            if row[1]:
                return "already_requested"
            self.db.execute("UPDATE jobs SET cancel_requested = 1, cancel_requested_by = ?, "
                            "cancel_requested_t_ns = ? WHERE job_id = ?", (user, self._now_t_ns(), job_id))
        return "requested"

    # ---------------------------------------------------------------------- commands
    def add_command(self, name: str, target: str, opcode: int, args: dict, sender: str, origin: str,
                    critical: bool, t_ns: int) -> int:
        """Queue a command (stage QUEUED) -> its cmd_id."""
        with self._tx():
            cur = self.db.execute(
                "INSERT INTO commands (name, target, opcode, args_json, sender, origin, critical, stage, "
                "queued_t_ns) VALUES (?, ?, ?, ?, ?, ?, ?, 'QUEUED', ?)",
                (name, target, int(opcode), json.dumps(args, sort_keys=True), sender, origin,
                 int(bool(critical)), t_ns))
            cmd_id = cur.lastrowid
            self.db.execute("INSERT INTO command_stages (cmd_id, stage, t_ns, message) "
                            "VALUES (?, 'QUEUED', ?, ?)", (cmd_id, t_ns, f"from {sender} ({origin})"))
        return cmd_id

    def submit_command(self, name: str, target: str, opcode: int, args: dict, user: str,
                       critical: bool) -> int:
        """An operator's command, queued at meta ``now_t_ns`` -> cmd_id."""
        with self._tx():
            return self.add_command(name, target, opcode, args, user, "operator", critical,
                                    self._now_t_ns())

    def set_command_stage(self, cmd_id: int, stage: str, t_ns: int, status: str = "", message: str = "",
                          timeout_t_ns: int | None = None) -> None:
        with self._tx():
            self.db.execute("UPDATE commands SET stage = ?, status = ?, message = ?, stage_timeout_t_ns = ? "
                            "WHERE cmd_id = ?", (stage, status, message, timeout_t_ns, cmd_id))
            self.db.execute("INSERT INTO command_stages (cmd_id, stage, t_ns, status, message) "
                            "VALUES (?, ?, ?, ?, ?)", (cmd_id, stage, t_ns, status, message))

    def commands_to_release(self) -> list[dict]:
        """Queued commands that may go: not critical, or approved. Oldest first. Each row
        has every column (``args_json`` as stored) and ``args`` decoded."""
        rows = _rows(self.db.execute(
            "SELECT * FROM commands WHERE stage = 'QUEUED' AND (critical = 0 OR approved_by IS NOT NULL) "
            "ORDER BY cmd_id"))
        for r in rows:
            r["args"] = json.loads(r["args_json"])
        return rows

    def approve_command(self, cmd_id: int, user: str) -> str:
        """Approve a queued critical command -> "approved", or why not: "not_found",
        "not_critical", "own_command" (the sender may not approve it), "already_approved",
        "not_queued"."""
        with self._tx():
            row = self.db.execute("SELECT critical, sender, approved_by, stage FROM commands "
                                  "WHERE cmd_id = ?", (cmd_id,)).fetchone()
            if row is None:
                return "not_found"
            critical, sender, approved_by, stage = row
            if not critical:
                return "not_critical"
            if approved_by is not None:
                return "already_approved"
            if stage != "QUEUED":
                return "not_queued"
            if sender == user:
                return "own_command"
            self.db.execute("UPDATE commands SET approved_by = ?, approved_t_ns = ? WHERE cmd_id = ?",
                            (user, self._now_t_ns(), cmd_id))
        return "approved"

    # ------------------------------------------------------- telemetry, events, files
    def add_telemetry(self, rows: Iterable[tuple[str, int, float]]) -> None:
        with self._tx():
            self.db.executemany("INSERT INTO telemetry (channel, t_ns, value) VALUES (?, ?, ?)",
                                ((c, t, _finite(v)) for c, t, v in rows))

    def add_events(self, rows: Iterable[tuple[int, str, Any, str, str]]) -> None:
        """``rows``: (t_ns, src, severity (a Severity, its int or its name), name, text)."""
        with self._tx():
            self.db.executemany("INSERT INTO events (t_ns, src, severity, name, text) VALUES (?, ?, ?, ?, ?)",
                                ((t, src, _severity_name(sev), name, text) for t, src, sev, name, text in rows))

    def add_file(self, name: str, data: bytes, crc32: int, t_ns: int, status: str = "ok",
                 reason: str = "", job_id: str | None = None) -> int:
        """Store a received file (``status`` "ok" or "rejected", with the reason) -> its id."""
        if status not in ("ok", "rejected"):
            raise ValueError(f"status: expected 'ok' or 'rejected', got {status!r}")
        data = bytes(data)
        with self._tx():
            cur = self.db.execute(
                "INSERT INTO files (name, job_id, size_bytes, crc32, sha256, received_t_ns, status, reason, "
                "data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (name, job_id, len(data), int(crc32), hashlib.sha256(data).hexdigest(), t_ns, status,
                 reason, data))
        return cur.lastrowid

    # ------------------------------------------------------------------ alarms: API side
    def _alarm_check(self, event_id: int) -> str | None:
        """Why ``event_id`` cannot take an alarm action ("not_found", "not_alarm"), or None."""
        row = self.db.execute("SELECT severity FROM events WHERE id = ?", (event_id,)).fetchone()
        if row is None:
            return "not_found"
        return None if row[0] in ALARM_SEVERITIES else "not_alarm"

    def ack_alarm(self, event_id: int, user: str) -> str:
        """Acknowledge an alarm at meta ``now_t_ns`` -> "acknowledged", or
        "already_acknowledged" (nothing written: the first ack stands), "not_found",
        "not_alarm" (an event below WARNING_HI). Acknowledging a shelved alarm ends the
        shelve (a new ack row; the first ack's user and time still stand)."""
        with self._tx():
            why = self._alarm_check(event_id)
            if why:
                return why
            now = self._now_t_ns()
            (row,) = self._alarm_rows("WHERE event_id = :event_id", {"now": now, "event_id": event_id})
            if row["state"] == "acknowledged":
                return "already_acknowledged"
            self.db.execute("INSERT INTO alarm_actions (event_id, action, user, t_ns) VALUES (?, 'ack', ?, ?)",
                            (event_id, user, now))
        return "acknowledged"

    def shelve_alarm(self, event_id: int, user: str, duration_ns: int, reason: str = "") -> str:
        """Hide an alarm from meta ``now_t_ns`` for ``duration_ns`` of sim time ->
        "shelved", "not_found" or "not_alarm". A new shelve replaces one in force. When it
        ends the alarm is acknowledged again if it ever was, else active."""
        if duration_ns <= 0:
            raise ValueError(f"duration_ns: expected > 0, got {duration_ns}")
        with self._tx():
            why = self._alarm_check(event_id)
            if why:
                return why
            now = self._now_t_ns()
            self.db.execute("INSERT INTO alarm_actions (event_id, action, user, t_ns, until_t_ns, reason) "
                            "VALUES (?, 'shelve', ?, ?, ?, ?)", (event_id, user, now, now + duration_ns, reason))
        return "shelved"

    # ------------------------------------------------------------------------ passes
    def open_pass(self, station: str, aos_t_ns: int) -> int:
        with self._tx():
            cur = self.db.execute("INSERT INTO passes (station, aos_t_ns, predicted) VALUES (?, ?, 0)",
                                  (station, aos_t_ns))
        return cur.lastrowid

    def close_pass(self, station: str, los_t_ns: int, bytes_down: int, bytes_up: int) -> bool:
        """Close the station's open pass; False if none was open."""
        with self._tx():
            cur = self.db.execute(
                "UPDATE passes SET los_t_ns = ?, bytes_down = ?, bytes_up = ? WHERE id = (SELECT id FROM "
                "passes WHERE station = ? AND predicted = 0 AND los_t_ns IS NULL ORDER BY id DESC LIMIT 1)",
                (los_t_ns, int(bytes_down), int(bytes_up), station))
        return cur.rowcount == 1

    def add_predicted_passes(self, rows: Iterable[tuple[str, int, int, float]]) -> None:
        with self._tx():
            self.db.executemany("INSERT INTO passes (station, aos_t_ns, los_t_ns, predicted, max_elev_deg) "
                                "VALUES (?, ?, ?, 1, ?)", rows)

    # ======================================================================= readers
    def jobs(self, stage: str | None = None, origin: str | None = None, limit: int | None = None,
             offset: int = 0) -> list[dict]:
        """Job rows (with the ``spec`` blob), ordered by job_id."""
        where, params = [], []
        for col, val in (("stage", stage), ("origin", origin)):
            if val is not None:
                where.append(f"{col} = ?")
                params.append(val)
        sql = "SELECT * FROM jobs" + (" WHERE " + " AND ".join(where) if where else "") + " ORDER BY job_id"
        if limit is not None:
            sql += " LIMIT ? OFFSET ?"
            params += [limit, offset]
        return _rows(self.db.execute(sql, params))

    def job(self, job_id: str) -> dict | None:
        """One job's row and its stage history (``stages``: id, stage, t_ns, reason)."""
        with self._read():
            rows = _rows(self.db.execute("SELECT * FROM jobs WHERE job_id = ?", (job_id,)))
            if not rows:
                return None
            row = rows[0]
            row["stages"] = _rows(self.db.execute(
                "SELECT rowid AS id, stage, t_ns, reason FROM stages WHERE job_id = ? ORDER BY rowid", (job_id,)))
        return row

    def stages(self, job_id: str) -> list[tuple[str, int, str]]:
        return self.db.execute(
            "SELECT stage, t_ns, reason FROM stages WHERE job_id = ? ORDER BY rowid", (job_id,)
        ).fetchall()

    def stage_changes(self, after_id: int, limit: int = 1000) -> list[dict]:
        """Job stage history rows with id > ``after_id`` (the job change stream)."""
        return _rows(self.db.execute("SELECT rowid AS id, job_id, stage, t_ns, reason FROM stages "
                                     "WHERE rowid > ? ORDER BY rowid LIMIT ?", (after_id, limit)))

    def result(self, job_id: str) -> tuple[str, bytes, bytes] | None:
        row = self.db.execute("SELECT kind, data, sha256 FROM results WHERE job_id = ?", (job_id,)).fetchone()
        return None if row is None else (row[0], bytes(row[1]), bytes(row[2]))

    def commands(self, stage: str | None = None, limit: int = 1000) -> list[dict]:
        """Command rows, newest last (the latest ``limit``)."""
        where = "WHERE stage = ?" if stage else ""
        rows = _rows(self.db.execute(
            f"SELECT * FROM (SELECT * FROM commands {where} ORDER BY cmd_id DESC LIMIT ?) ORDER BY cmd_id",
            (*((stage,) if stage else ()), limit)))
        for r in rows:
            r["args"] = json.loads(r.pop("args_json"))
        return rows

    def command(self, cmd_id: int) -> dict | None:
        """One command and its stage history."""
        with self._read():
            rows = _rows(self.db.execute("SELECT * FROM commands WHERE cmd_id = ?", (cmd_id,)))
            if not rows:
                return None
            row = rows[0]
            row["args"] = json.loads(row.pop("args_json"))
            row["stages"] = _rows(self.db.execute(
                "SELECT id, stage, t_ns, status, message FROM command_stages WHERE cmd_id = ? ORDER BY id",
                (cmd_id,)))
        return row

    def command_stage_changes(self, after_id: int, limit: int = 1000) -> list[dict]:
        return _rows(self.db.execute(
            "SELECT s.id, s.cmd_id, c.name, s.stage, s.t_ns, s.status, s.message FROM command_stages s "
            "JOIN commands c USING (cmd_id) WHERE s.id > ? ORDER BY s.id LIMIT ?", (after_id, limit)))

    def telemetry(self, channel: str, since_t_ns: int | None = None, until_t_ns: int | None = None,
                  max_points: int = 2000) -> dict:
        """Samples of ``channel`` in [since, until] -> {"points": [{t_ns, value}],
        "decimated": bool}. More than ``max_points`` samples are averaged in equal time
        buckets (each point then has the bucket's first t_ns, mean value, min, max, n)."""
        lo = -(2**63) if since_t_ns is None else since_t_ns
        hi = 2**63 - 1 if until_t_ns is None else until_t_ns
        with self._read():
            n, first, last = self.db.execute(
                "SELECT COUNT(*), MIN(t_ns), MAX(t_ns) FROM telemetry WHERE channel = ? AND t_ns BETWEEN ? AND ?",
                (channel, lo, hi)).fetchone()
            if n <= max_points:
                points = _rows(self.db.execute(
                    "SELECT t_ns, value FROM telemetry WHERE channel = ? AND t_ns BETWEEN ? AND ? "
                    "ORDER BY t_ns, id", (channel, lo, hi)))
                return {"points": points, "decimated": False, "samples": n}
            width = -(-(last - first + 1) // max_points)  # ceil: at most max_points buckets
            points = _rows(self.db.execute(
                "SELECT MIN(t_ns) AS t_ns, AVG(value) AS value, MIN(value) AS min, MAX(value) AS max, "
                "COUNT(*) AS n FROM telemetry WHERE channel = ? AND t_ns BETWEEN ? AND ? "
                "GROUP BY (t_ns - ?) / ? ORDER BY 1", (channel, lo, hi, first, width)))
        return {"points": points, "decimated": True, "samples": n}

    def telemetry_after(self, after_id: int, channels: Iterable[str] | None = None,
                        limit: int = 1000) -> list[dict]:
        """Telemetry rows with id > ``after_id`` (the telemetry stream), of ``channels`` or all."""
        chans = list(channels or ())
        where = f" AND channel IN ({', '.join('?' * len(chans))})" if chans else ""
        return _rows(self.db.execute(f"SELECT id, channel, t_ns, value FROM telemetry WHERE id > ?{where} "
                                     "ORDER BY id LIMIT ?", (after_id, *chans, limit)))

    def channels(self) -> list[dict]:
        """Every telemetry channel with its latest sample (a skip scan of the index:
        cheap however many samples there are)."""
        with self._read():
            names = [r[0] for r in self.db.execute(
                "WITH RECURSIVE c(ch) AS (SELECT MIN(channel) FROM telemetry UNION ALL "
                "SELECT (SELECT MIN(channel) FROM telemetry WHERE channel > c.ch) FROM c WHERE c.ch IS NOT NULL) "
                "SELECT ch FROM c WHERE ch IS NOT NULL")]
            out = []
            for name in names:
                t_ns, value = self.db.execute("SELECT t_ns, value FROM telemetry WHERE channel = ? "
                                              "ORDER BY t_ns DESC LIMIT 1", (name,)).fetchone()
                out.append({"channel": name, "last_t_ns": t_ns, "last_value": value})
        return out

    def events(self, since_t_ns: int | None = None, until_t_ns: int | None = None,
               severities: Iterable[str] | None = None, limit: int = 1000) -> list[dict]:
        """Events in [since, until] (the first ``limit`` after ``since``; with no since,
        the latest ``limit``), oldest first."""
        sevs = list(severities or ())
        where = ["t_ns >= ?", "t_ns <= ?"]
        params: list[Any] = [-(2**63) if since_t_ns is None else since_t_ns,
                             2**63 - 1 if until_t_ns is None else until_t_ns]
        if sevs:
            where.append(f"severity IN ({', '.join('?' * len(sevs))})")
            params += sevs
        order = "ASC" if since_t_ns is not None else "DESC"
        sql = f"SELECT * FROM events WHERE {' AND '.join(where)} ORDER BY t_ns {order}, id {order} LIMIT ?"
        rows = _rows(self.db.execute(sql, (*params, limit)))
        return rows if order == "ASC" else rows[::-1]

    def event(self, event_id: int) -> dict | None:
        rows = _rows(self.db.execute("SELECT * FROM events WHERE id = ?", (event_id,)))
        return rows[0] if rows else None

    def events_after(self, after_id: int, limit: int = 1000) -> list[dict]:
        return _rows(self.db.execute("SELECT * FROM events WHERE id > ? ORDER BY id LIMIT ?", (after_id, limit)))

    def _alarm_rows(self, where: str, params: dict, tail: str = "") -> list[dict]:
        return _rows(self.db.execute(f"SELECT * FROM ({_ALARMS_SQL}) alarm {where} {tail}", params))

    def alarms(self, state: str | None = None, limit: int = 1000) -> list[dict]:
        """Alarms (events of ALARM_SEVERITIES) with their state at meta ``now_t_ns``,
        newest first, at most ``limit``; ``state``: one of ALARM_STATES, or None for all.
        Each row: event_id, t_ns, source, name, severity, text, state, acked_by,
        acked_t_ns, shelved_by, shelved_t_ns, shelved_until_t_ns, shelve_reason."""
        if state is not None and state not in ALARM_STATES:
            raise ValueError(f"state: expected one of {ALARM_STATES} or None, got {state!r}")
        where = "WHERE state = :state" if state else ""
        return self._alarm_rows(where, {"now": self._now_t_ns(), "state": state, "limit": limit},
                                "ORDER BY t_ns DESC, event_id DESC LIMIT :limit")

    def alarm_counts(self) -> dict[str, int]:
        """How many alarms are in each of ALARM_STATES at meta ``now_t_ns``."""
        out = dict.fromkeys(ALARM_STATES, 0)
        out.update(self.db.execute(f"SELECT state, COUNT(*) FROM ({_ALARMS_SQL}) GROUP BY state",
                                   {"now": self._now_t_ns()}))
        return out

    def alarm_summary(self, state: str | None = None, limit: int = 1000) -> dict:
        """alarms(state, limit), alarm_counts() and the ``now_t_ns`` they were judged at,
        from one snapshot (so the counts agree with the list)."""
        with self._read():
            return {"alarms": self.alarms(state, limit), "counts": self.alarm_counts(),
                    "now_t_ns": self._now_t_ns()}

    def alarm(self, event_id: int) -> dict | None:
        """One alarm as alarms() gives it, with ``actions``: its whole history (id,
        action, user, t_ns, until_t_ns, reason), oldest first. None if ``event_id`` is no
        alarm."""
        with self._read():
            rows = self._alarm_rows("WHERE event_id = :event_id",
                                    {"now": self._now_t_ns(), "event_id": event_id})
            if not rows:
                return None
            row = rows[0]
            row["actions"] = _rows(self.db.execute(
                "SELECT id, action, user, t_ns, until_t_ns, reason FROM alarm_actions WHERE event_id = ? "
                "ORDER BY id", (event_id,)))
        return row

    def passes(self, since_t_ns: int | None = None, until_t_ns: int | None = None,
               predicted: bool | None = None, limit: int = 1000) -> list[dict]:
        where = ["aos_t_ns >= ?", "aos_t_ns <= ?"]
        params: list[Any] = [-(2**63) if since_t_ns is None else since_t_ns,
                             2**63 - 1 if until_t_ns is None else until_t_ns]
        if predicted is not None:
            where.append("predicted = ?")
            params.append(int(predicted))
        return _rows(self.db.execute(f"SELECT * FROM passes WHERE {' AND '.join(where)} "
                                     "ORDER BY aos_t_ns, id LIMIT ?", (*params, limit)))

    def set_transfers(self, rows: Sequence[tuple[int, str, int, int, str]], t_ns: int) -> None:
        """The file transfers in flight now (``FileReceiver.in_flight``'s rows): a row per
        open transaction, kept with when it was first seen; closed ones are removed (the
        file, once whole, is in ``files``)."""
        with self._tx():
            keep = [int(r[0]) for r in rows]
            self.db.execute(f"DELETE FROM transfers WHERE seq NOT IN ({','.join('?' * len(keep))})", keep)
            for seq, name, size, got, state in rows:
                self.db.execute(
                    "INSERT INTO transfers (seq, name, size_bytes, received_bytes, state, started_t_ns, "
                    "updated_t_ns) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (seq) DO UPDATE SET name = excluded.name, "
                    "size_bytes = excluded.size_bytes, received_bytes = excluded.received_bytes, "
                    "state = excluded.state, updated_t_ns = excluded.updated_t_ns",
                    (int(seq), str(name), int(size), int(got), str(state), t_ns, t_ns))

    def transfers(self) -> list[dict]:
        """File transfers in flight, oldest first (see set_transfers)."""
        return _rows(self.db.execute(
            "SELECT seq, name, size_bytes, received_bytes, state, started_t_ns, updated_t_ns FROM transfers "
            "ORDER BY started_t_ns, seq"))

    def files(self, limit: int = 1000) -> list[dict]:
        """Received files without their data, oldest first."""
        return _rows(self.db.execute(
            "SELECT id, name, job_id, size_bytes, crc32, sha256, received_t_ns, status, reason FROM files "
            "ORDER BY id LIMIT ?", (limit,)))

    def file(self, file_id: int) -> dict | None:
        rows = _rows(self.db.execute("SELECT * FROM files WHERE id = ?", (file_id,)))
        if not rows:
            return None
        rows[0]["data"] = bytes(rows[0]["data"])
        return rows[0]

    def max_ids(self) -> dict[str, int]:
        """The newest id of each change stream (0 when empty): where a live stream starts."""
        out = {}
        for table in ("stages", "command_stages", "telemetry", "events"):
            (out[table],) = self.db.execute(f"SELECT COALESCE(MAX(rowid), 0) FROM {table}").fetchone()
        return out

    def counts(self) -> dict:
        """Jobs and commands by stage, and how many rows each other table holds."""
        with self._read():
            out = {
                "jobs_by_stage": dict(self.db.execute("SELECT stage, COUNT(*) FROM jobs GROUP BY stage")),
                "commands_by_stage": dict(self.db.execute(
                    "SELECT stage, COUNT(*) FROM commands GROUP BY stage")),
                "commands_awaiting_approval": self.db.execute(
                    "SELECT COUNT(*) FROM commands WHERE stage = 'QUEUED' AND critical = 1 "
                    "AND approved_by IS NULL").fetchone()[0],
            }
            for table in ("events", "files", "passes", "results"):
                out[table] = self.db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]
        return out
