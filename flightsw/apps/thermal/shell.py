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

    # Caps are sent when they change by more than CAP_DEADBAND_W (or a shutdown flag flips),
    # and at least every HEARTBEAT_TICKS: a quiet board bank costs no bus traffic.
    CAP_DEADBAND_W = 1.0
    HEARTBEAT_TICKS = 10

    def __init__(self, table: ThermalTable) -> None:
        self.table = table
        self.state = initial_state(table)
        self.shutdowns = 0
        self._sent = None
        self._sent_tick = -(10**9)

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        self.state, caps, events = step(self.state, self.table, latest(inbox, BoardSensors))
        self.shutdowns += sum(1 for e in events if e.name == "thermal.board_shutdown")
        outs = [Out(e) for e in events]
        if caps is not None and self._worth_sending(tick, caps):
            self._sent, self._sent_tick = caps, tick
            outs.append(Out(caps))
        return outs

    def _worth_sending(self, tick: int, caps) -> bool:
        last = self._sent
        if last is None or tick - self._sent_tick >= self.HEARTBEAT_TICKS or caps.shutdown != last.shutdown:
            return True
        return any(abs(a - b) > self.CAP_DEADBAND_W for a, b in zip(caps.cap_w, last.cap_w, strict=True))

    def final_report(self) -> dict:
        return {"shutdowns": self.shutdowns}

    def close(self) -> None:
        pass


def make(start_tick: int, table: dict) -> ThermalApp:
    return ThermalApp(ThermalTable(**table))
