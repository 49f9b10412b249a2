"""Supervisor shell: restart counts persisted before the restart request is sent."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flightsw.apps.common import latest
from flightsw.apps.supervisor.core import SupervisorCore, SupervisorTable
from flightsw.bus.participant import Out
from flightsw.icd.messages import HubStatus, Message
from flightsw.store.kv import CounterStore

__all__ = ["SupervisorApp", "make"]


class SupervisorApp:
    name = "supervisor"
    period_ticks = 1
    subscriptions = frozenset({HubStatus.KIND})

    def __init__(self, store_dir: Path, table: SupervisorTable) -> None:
        self.store = CounterStore(Path(store_dir) / "supervisor.sqlite")
        counts = self.store.load()
        self.core = SupervisorCore(table=table, restarts={k: v for k, v in counts.items()
                                                          if not k.startswith("_")})
        self.core.escalated = bool(counts.get("_escalated", 0))
        self.core.capped = {k[len("_capped:"):] for k, v in counts.items() if k.startswith("_capped:") and v}
        self._saved_escalated = self.core.escalated
        self._saved_capped = len(self.core.capped)

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        out, changed = self.core.step(tick, latest(inbox, HubStatus))
        if changed or self.core.escalated != self._saved_escalated or len(self.core.capped) != self._saved_capped:
            self._saved_capped = len(self.core.capped)
            capped = {f"_capped:{n}": 1 for n in self.core.capped}  # one FATAL per process, ever
            self.store.save({**changed, **capped, "_escalated": int(self.core.escalated)})
            self._saved_escalated = self.core.escalated
        return [Out(b, d) for b, d in out]

    def final_report(self) -> dict:
        return {"restarts": dict(sorted(self.core.restarts.items())), "escalated": self.core.escalated}

    def close(self) -> None:
        self.store.close()


def make(start_tick: int, store_dir: str, table: dict | None = None) -> SupervisorApp:
    t = dict(table or {})
    if "watched" in t:
        t["watched"] = tuple(t["watched"])
    return SupervisorApp(Path(store_dir), SupervisorTable(**t))
