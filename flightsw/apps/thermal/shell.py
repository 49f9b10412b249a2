"""Thermal guard shell."""

from __future__ import annotations

from collections.abc import Sequence

from flightsw.apps.common import latest
from flightsw.apps.thermal.core import ThermalTable, initial_state, step
from flightsw.bus.participant import Out
from flightsw.icd.messages import BoardSensors, Message

__all__ = ["ThermalApp", "make"]


class ThermalApp:
    name = "thermal"
    period_ticks = 1
    subscriptions = frozenset({BoardSensors.KIND})

    def __init__(self, table: ThermalTable) -> None:
        self.table = table
        self.state = initial_state(table)
        self.shutdowns = 0

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        self.state, caps, events = step(self.state, self.table, latest(inbox, BoardSensors))
        self.shutdowns += sum(1 for e in events if e.name == "thermal.board_shutdown")
        outs = [Out(e) for e in events]
        if caps is not None:
            outs.append(Out(caps))
        return outs

    def final_report(self) -> dict:
        return {"shutdowns": self.shutdowns}

    def close(self) -> None:
        pass


def make(start_tick: int, table: dict) -> ThermalApp:
    return ThermalApp(ThermalTable(**table))
