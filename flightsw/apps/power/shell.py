"""Power manager shell: connects the core to the bus. No decisions here."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flightsw.apps.common import latest
from flightsw.apps.power.core import PowerState, PowerTable, step
from flightsw.bus.participant import Out
from flightsw.icd.messages import Message, Mode, PowerSensors, SetMode
from flightsw.store.kv import CounterStore

__all__ = ["PowerApp", "make"]


class PowerApp:
    name = "power"
    period_ticks = 1
    subscriptions = frozenset({PowerSensors.KIND, SetMode.KIND})

    def __init__(self, table: PowerTable, store_dir: Path | None = None) -> None:
        self.table = table
        self.state = PowerState()
        self.budgets_sent = 0
        # The mode and a supervisor's SAFE order survive a restart (a restarted power
        # manager must not come back NOMINAL while the satellite is in safe mode).
        self.store = CounterStore(Path(store_dir) / "power.sqlite") if store_dir else None
        if self.store is not None:
            saved = self.store.load()
            if saved:
                self.state = PowerState(mode=Mode.SAFE.value if saved.get("safe") else Mode.NOMINAL.value,
                                        forced_safe=bool(saved.get("forced_safe", 0)))
        self._saved = (self.state.mode, self.state.forced_safe)

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        sensors = latest(inbox, PowerSensors)
        cmd = latest(inbox, SetMode)
        self.state, budget, events = step(self.state, self.table, sensors, cmd)
        now = (self.state.mode, self.state.forced_safe)
        if self.store is not None and now != self._saved:  # durable before it is announced
            self.store.save({"safe": int(now[0] == Mode.SAFE.value), "forced_safe": int(now[1])})
            self._saved = now
        outs = [Out(e) for e in events]
        if budget is not None:
            self.budgets_sent += 1
            outs.append(Out(budget))
        return outs

    def final_report(self) -> dict:
        return {"mode": self.state.mode, "budgets_sent": self.budgets_sent}

    def close(self) -> None:
        if self.store is not None:
            self.store.close()


def make(start_tick: int, table: dict, store_dir: str | None = None) -> PowerApp:
    return PowerApp(PowerTable(**table), store_dir)
