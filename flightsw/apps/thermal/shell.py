"""Thermal guard shell: connects the core to the bus and the app framework. No decisions here.

Sends ThermalCaps when a cap moves by more than CAP_DEADBAND_W, a shutdown or level flips
or the heater power changes, and at least every HEARTBEAT_TICKS; HeaterCommand (to the
world) when a heater switch changes and every HEARTBEAT_TICKS (the world holds the last
one it got); AppHousekeeping every HOUSEKEEPING_TICKS. Command THERMAL_SET_HEATERS
{enabled} enables or inhibits flight heater control (inhibited, every flight heater is
commanded off and the hardware thermostats alone keep the nodes from freezing).

What must survive a restart is kept in ``thermal.sqlite`` (given a store folder): each
board's red-hot latch (a board shut down hot stays down until it has cooled, restart or
not), its stepped cap, and the heater inhibit. The rest (levels below red, the sink
estimate) is learnt again from the next readings.
"""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from pathlib import Path
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
from flightsw.apps.thermal.limits import HOT, RED, LevelState
from flightsw.bus.participant import Out
from flightsw.icd.messages import (
    BoardSensors,
    HeaterCommand,
    Message,
    Opcode,
    PowerSensors,
    ThermalCaps,
)
from flightsw.store.kv import CounterStore

__all__ = ["ThermalApp", "make"]

WORLD = "world"


class ThermalApp:
    name = "thermal"
    period_ticks = 1
    subscriptions = frozenset({BoardSensors.KIND, PowerSensors.KIND, *FRAMEWORK_KINDS})

    CAP_DEADBAND_W = 1.0
    HEARTBEAT_TICKS = 10
    HOUSEKEEPING_TICKS = 10

    def __init__(self, table: ThermalTable, store_dir: Path | str | None = None) -> None:
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
        self.store = CounterStore(Path(store_dir) / "thermal.sqlite") if store_dir is not None else None
        if self.store is not None:
            self.state = restore_state(self.state, table, self.store.load())
        self._saved = durable(self.state)
        self._saved_key = self._durable_key()

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
        key = self._durable_key()
        if self.store is not None and key != self._saved_key:  # durable before it is announced
            self._saved_key = key
            now = durable(self.state)
            if now != self._saved:
                self.store.save(now)
                self._saved = now
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

    def _durable_key(self) -> tuple:
        """What ``durable`` reads, compared cheaply each tick (tuples compare in C)."""
        s = self.state
        return (s.board_level, s.stepped_w, s.heaters_enabled)

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
        if self.store is not None:
            self.store.close()


def durable(state: ThermalState) -> dict[str, int]:
    """What must survive a restart, as integers: red-hot latches, stepped caps [mW], the
    heater inhibit."""
    out = {"heaters_enabled": int(state.heaters_enabled)}
    for b, (lv, w) in enumerate(zip(state.board_level, state.stepped_w, strict=True)):
        out[f"red_hot:{b}"] = int(lv.level == RED and lv.side == HOT)
        out[f"stepped_mw:{b}"] = int(round(w * 1000.0))
    return out


def restore_state(state: ThermalState, table: ThermalTable, saved: Mapping[str, int]) -> ThermalState:
    """``state`` (fresh) with what a previous run stored; boards the table no longer has are
    ignored, and stepped caps are held within the table's power range."""
    if not saved:
        return state
    n = table.n_boards
    levels = tuple(LevelState(RED, HOT) if saved.get(f"red_hot:{b}") else state.board_level[b] for b in range(n))
    stepped = tuple(min(table.max_power_w, max(table.min_power_w, saved[f"stepped_mw:{b}"] / 1000.0))
                    if f"stepped_mw:{b}" in saved else state.stepped_w[b] for b in range(n))
    return dataclasses.replace(state, board_level=levels, stepped_w=stepped,
                               heaters_enabled=bool(saved.get("heaters_enabled", 1)))


def make(start_tick: int, table: dict, store_dir: str | None = None) -> ThermalApp:
    """``table``: the thermal table's fields (see ``table.thermal_table``; the first
    guard's flat ``cap_start_c``/``limit_c`` still work); ``store_dir``: where
    thermal.sqlite keeps what survives a restart (None: nothing does)."""
    return ThermalApp(thermal_table(table), store_dir)

