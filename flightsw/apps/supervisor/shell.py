"""Supervisor shell: the core on the bus, its durable state in sqlite (saved before the
tick's output is sent: restart counts, caps, the mode, which processes answer pings)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flightsw.apps.framework import FRAMEWORK_KINDS, table_from_mapping
from flightsw.apps.supervisor.core import SupervisorCore
from flightsw.apps.supervisor.limits import ActionpointTable, WatchpointTable
from flightsw.apps.supervisor.sequencer import SequenceTable
from flightsw.apps.supervisor.tables import (
    DEFAULT_SOC_FLOOR,
    SupervisorTable,
    default_actionpoints,
    default_sequences,
    default_watchpoints,
)
from flightsw.bus.participant import Out
from flightsw.icd.messages import CommandResponse, HealthPong, HubStatus, Message
from flightsw.store.kv import CounterStore

__all__ = ["SupervisorApp", "make"]

BASE_KINDS = frozenset({HubStatus.KIND, HealthPong.KIND, CommandResponse.KIND}) | FRAMEWORK_KINDS


class SupervisorApp:
    name = "supervisor"
    period_ticks = 1

    def __init__(self, store_dir: Path, table: SupervisorTable | None = None, *,
                 watchpoints: WatchpointTable | None = None, actionpoints: ActionpointTable | None = None,
                 sequences: SequenceTable | None = None, start_tick: int = 0) -> None:
        watchpoints = watchpoints if watchpoints is not None else default_watchpoints()
        # the hub fixes subscriptions at registration: the kinds the start table reads
        self.subscriptions = BASE_KINDS | frozenset(watchpoints.kinds())
        self.store = CounterStore(Path(store_dir) / "supervisor.sqlite")
        self._saved = self.store.load()
        self.core = SupervisorCore(table, watchpoints=watchpoints, actionpoints=actionpoints,
                                   sequences=sequences, durable=self._saved, nonce_seed=start_tick,
                                   subscribed=self.subscriptions)
        self.fw = self.core.fw

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        out = self.core.step(tick, t_ns, inbox)  # runs self.fw.handle on the inbox first
        now = self.core.durable()
        changed = {k: v for k, v in now.items() if k not in self._saved or self._saved[k] != v}
        if changed:  # durable before it is announced
            self.store.save(changed)
            self._saved.update(changed)
        return [Out(b, d) for b, d in out]

    def statistics(self) -> Mapping[str, Any]:
        return self.core.statistics()

    def final_report(self) -> dict:
        s = self.core.statistics()
        return {"restarts": dict(s["restarts"]), "escalated": s["escalated"], "mode": s["mode"],
                "capped": list(s["capped"]), "hung_detected": s["hung_detected"],
                "pongs_wrong_nonce": s["pongs_wrong_nonce"], "actionpoints_fired": s["actionpoints_fired"],
                "sequences_completed": s["sequences_completed"], "sequences_aborted": s["sequences_aborted"]}

    def close(self) -> None:
        self.store.close()


def make(start_tick: int, store_dir: str, table: dict | None = None, soc_floor: float = DEFAULT_SOC_FLOOR,
         watchpoints: dict | None = None, actionpoints: dict | None = None,
         sequences: dict | None = None) -> SupervisorApp:
    """``table``: fields of the supervisor table over its defaults; ``soc_floor``: the
    battery floor the default SOC watchpoint guards; ``watchpoints``, ``actionpoints``,
    ``sequences``: whole tables as JSON-like objects ({"entries": [...]}) replacing the
    defaults. Any invalid table raises TableError naming the field."""
    return SupervisorApp(
        Path(store_dir),
        table_from_mapping(SupervisorTable, table or {}),
        watchpoints=(table_from_mapping(WatchpointTable, watchpoints) if watchpoints is not None
                     else default_watchpoints(soc_floor)),
        actionpoints=(table_from_mapping(ActionpointTable, actionpoints) if actionpoints is not None
                      else default_actionpoints()),
        sequences=(table_from_mapping(SequenceTable, sequences) if sequences is not None
                   else default_sequences()),
        start_tick=start_tick,
    )
