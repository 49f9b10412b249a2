"""A tiny durable key -> integer store (sqlite, WAL) for counters that must survive a crash.

``synchronous`` is sqlite's: "FULL" (the default) syncs every save to disk, so a save
survives a power cut; "NORMAL" (WAL) survives the process's crash (a SIGKILL, a restart)
but a power cut may lose the last few saves. Counters whose loss would let a replayed
telecommand in or undercount restarts keep FULL; a value saved often whose staler copy
is only looser (the power manager's gauge interval, every minute) takes NORMAL: FULL
costs ~1 ms a save here.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

__all__ = ["CounterStore"]


class CounterStore:
    def __init__(self, path: Path | str, synchronous: str = "FULL") -> None:
        if synchronous not in ("FULL", "NORMAL"):
            raise ValueError(f"synchronous: expected 'FULL' or 'NORMAL', got {synchronous!r}")
        Path(path).parent.mkdir(parents=True, exist_ok=True)
        # DEFERRED, not autocommit: ``with self.db`` must be one transaction (save is atomic).
        self.db = sqlite3.connect(path, isolation_level="DEFERRED")
        self.db.execute("PRAGMA journal_mode=WAL")
        self.db.execute(f"PRAGMA synchronous={synchronous}")
        self.db.execute("CREATE TABLE IF NOT EXISTS counters (name TEXT PRIMARY KEY, value INTEGER NOT NULL)")

    def load(self) -> dict[str, int]:
        return dict(self.db.execute("SELECT name, value FROM counters ORDER BY name").fetchall())

    def save(self, values: dict[str, int]) -> None:
        with self.db:
            self.db.executemany(
                "INSERT INTO counters VALUES (?, ?) ON CONFLICT(name) DO UPDATE SET value = excluded.value",
                sorted(values.items()),
            )

    def close(self) -> None:
        self.db.close()
