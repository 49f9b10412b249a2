"""Thermal guard shell: connects the core to the bus and the app framework. No decisions here.

Sends ThermalCaps when a cap moves by more than CAP_DEADBAND_W, a shutdown or level flips
or the heater power changes, and at least every HEARTBEAT_TICKS; HeaterCommand (to the
world) when a heater switch changes and every HEARTBEAT_TICKS (the world holds the last
one it got); AppHousekeeping every HOUSEKEEPING_TICKS. Command THERMAL_SET_HEATERS
{enabled} enables or inhibits flight heater control (inhibited, every flight heater is
commanded off and the hardware thermostats alone keep the nodes from freezing).
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from typing import Any

from flightsw.apps.common import latest
from flightsw.apps.framework import FRAMEWORK_KINDS, AppFramework, TableService, arg_bool
from flightsw.apps.thermal.core import (
    ThermalState,
    ThermalTable,
    initial_state,
    retable,
    step,
    thermal_table,
)
from flightsw.bus.participant import Out
from flightsw.icd.messages import (
    BoardSensors,
    HeaterCommand,
    Message,
    Opcode,
    PowerSensors,
    ThermalCaps,
)

__all__ = ["ThermalApp", "make"]

WORLD = "world"


class ThermalApp:
    name = "thermal"
    period_ticks = 1
    subscriptions = frozenset({BoardSensors.KIND, PowerSensors.KIND, *FRAMEWORK_KINDS})

    CAP_DEADBAND_W = 1.0
    HEARTBEAT_TICKS = 10
    HOUSEKEEPING_TICKS = 10

    def __init__(self, table: ThermalTable) -> None:
        self.fw = AppFramework("thermal", tables=TableService({"thermal": table}),
                               handlers={int(Opcode.THERMAL_SET_HEATERS): self._set_heaters},
                               on_reset=self._reset_counters)
        self._table = table
        self.state: ThermalState = initial_state(table)
        self._sent: ThermalCaps | None = None
        self._sent_tick = -(10**9)
        self._heaters_sent: tuple[int, ...] | None = None
        self._heaters_tick = -(10**9)
        self._reset_counters()

    def _reset_counters(self) -> None:
        self.shutdowns = 0
        self.caps_sent = 0
        self.heater_commands_sent = 0

    def _set_heaters(self, args: Mapping[str, Any], tick: int) -> str:
        enabled = arg_bool(args, "enabled")
        self.state = dataclasses.replace(self.state, heaters_enabled=enabled)
        return "flight heater control " + ("enabled" if enabled else "inhibited: thermostats only")

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        outs = [Out(body, dst) for body, dst in self.fw.handle(tick, inbox)]
        table = self.fw.tables.active["thermal"]
        if table is not self._table:  # a table was activated
            self.state = retable(self.state, self._table, table)
            self._table = table
        res = step(self.state, table, latest(inbox, BoardSensors), latest(inbox, PowerSensors), t_ns)
        self.state = res.state
        for note in res.notes:
            if note.name == "thermal.board_red":
                self.shutdowns += 1
            ev = self.fw.events.emit(tick, note.severity, note.name, note.text)
            if ev is not None:
                outs.append(Out(ev))
        if res.caps is not None and self._caps_worth_sending(tick, res.caps):
            self._sent, self._sent_tick = res.caps, tick
            self.caps_sent += 1
            outs.append(Out(res.caps))
        if res.heaters_on != self._heaters_sent or tick - self._heaters_tick >= self.HEARTBEAT_TICKS:
            self._heaters_sent, self._heaters_tick = res.heaters_on, tick
            self.heater_commands_sent += 1
            outs.append(Out(HeaterCommand(on=res.heaters_on), WORLD))
        if tick % self.HOUSEKEEPING_TICKS == 0:
            outs.append(Out(self.fw.housekeeping()))
        return outs

    def _caps_worth_sending(self, tick: int, caps: ThermalCaps) -> bool:
        last = self._sent
        if (last is None or tick - self._sent_tick >= self.HEARTBEAT_TICKS or caps.shutdown != last.shutdown
                or caps.level != last.level or caps.heater_w != last.heater_w):
            return True
        return any(abs(a - b) > self.CAP_DEADBAND_W for a, b in zip(caps.cap_w, last.cap_w, strict=True))

    def statistics(self) -> Mapping[str, Any]:
        """An immutable snapshot: the framework's counters and the guard's own."""
        s = self.state
        return types.MappingProxyType({
            **self.fw.statistics(),
            "shutdowns": self.shutdowns,
            "caps_sent": self.caps_sent,
            "heater_commands_sent": self.heater_commands_sent,
            "heaters_enabled": s.heaters_enabled,
            "heaters_on": s.heaters_on,
            "boards_shut_down": sum(s.shutdown),
            "radiator_level": s.radiator_level.level,
            "battery_level": s.battery_level.level,
            "sink_w": s.sink.sink_w,
            "radiator_capacity_w": s.capacity_w,
        })

    def final_report(self) -> dict:
        stats = self.statistics()
        return {"shutdowns": self.shutdowns, "heater_commands_sent": self.heater_commands_sent,
                "radiator_capacity_w": stats["radiator_capacity_w"], "sink_w": stats["sink_w"],
                "events_by_severity": dict(self.fw.events.statistics().by_severity)}

    def close(self) -> None:
        pass


def make(start_tick: int, table: dict) -> ThermalApp:
    """``table``: the thermal table's fields (see ``table.thermal_table``; the first
    guard's flat ``cap_start_c``/``limit_c`` still work)."""
    return ThermalApp(thermal_table(table))

