"""Power manager shell: connects the core to the bus. No decisions here."""

from __future__ import annotations

from collections.abc import Sequence

from flightsw.apps.common import latest
from flightsw.apps.power.core import PowerState, PowerTable, step
from flightsw.bus.participant import Out
from flightsw.icd.messages import Message, PowerSensors, SetMode

__all__ = ["PowerApp", "make"]


class PowerApp:
    name = "power"
    period_ticks = 1
    subscriptions = frozenset({PowerSensors.KIND, SetMode.KIND})

    def __init__(self, table: PowerTable) -> None:
        self.table = table
        self.state = PowerState()
        self.budgets_sent = 0

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        sensors = latest(inbox, PowerSensors)
        cmd = latest(inbox, SetMode)
        self.state, budget, events = step(self.state, self.table, sensors, cmd)
        outs = [Out(e) for e in events]
        if budget is not None:
            self.budgets_sent += 1
            outs.append(Out(budget))
        return outs

    def final_report(self) -> dict:
        return {"mode": self.state.mode, "budgets_sent": self.budgets_sent}

    def close(self) -> None:
        pass


def make(start_tick: int, table: dict) -> PowerApp:
    return PowerApp(PowerTable(**table))
