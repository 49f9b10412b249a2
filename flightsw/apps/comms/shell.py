"""Link manager shell: the core, plus the common framework (commands, tables, health)."""

from __future__ import annotations

import dataclasses
import types
from collections.abc import Mapping, Sequence
from typing import Any

from flightsw.apps.comms.core import CommsCore, CommsTable, split_inbox
from flightsw.apps.framework import FRAMEWORK_KINDS, AppFramework, TableService
from flightsw.bus.participant import Out
from flightsw.icd.messages import (
    AppCommand,
    CommandResponse,
    ContactState,
    Envelope,
    JobAck,
    JobState,
    Message,
    ResultData,
    TableDump,
    TableLoad,
    UplinkFrame,
)

__all__ = ["CommsApp", "make"]

HOUSEKEEPING_EVERY_TICKS = 10


class CommsApp:
    name = "comms"
    period_ticks = 1
    subscriptions = frozenset(
        {ContactState.KIND, UplinkFrame.KIND, JobAck.KIND, JobState.KIND, ResultData.KIND,
         CommandResponse.KIND, TableDump.KIND} | FRAMEWORK_KINDS
    )

    def __init__(self, table: CommsTable) -> None:
        self.core = CommsCore(table=table)
        self.fw = AppFramework("comms", tables=TableService({"comms": table}), events=self.core.events)

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        contact, uplink, from_exec = split_inbox(inbox)
        down, outs = self._split(self.fw.handle(tick, inbox))
        from_exec += down
        for body, dst in self.core.step(tick, t_ns, contact, uplink, from_exec):
            if dst == "comms" and isinstance(body, (AppCommand, TableLoad)):  # uplinked, for us
                local = Message(Envelope(body.KIND, body.VERSION, "ground", 0, tick, t_ns), body)
                down, more = self._split(self.fw.handle(tick, [local]))
                self.core.enqueue_control(down)
                outs += more
            else:
                outs.append(Out(body, dst))
        if self.fw.tables.active["comms"] is not self.core.table:  # a new table is active
            self.core.table = self.fw.tables.active["comms"]
        if tick % HOUSEKEEPING_EVERY_TICKS == 0:
            outs.append(Out(self.fw.housekeeping()))
        return outs

    @staticmethod
    def _split(answers) -> tuple[list, list[Out]]:
        """Comms' own answers: those for the ground (responses to ground commands, table
        dumps) go down the link; responses to onboard senders (a stored sequence, the limit
        checker) go on the bus like any app's; pongs and events go on the bus."""
        down, outs = [], []
        for body, dst in answers:
            if isinstance(body, TableDump) or (isinstance(body, CommandResponse) and body.source == "ground"):
                down.append(body)
            else:
                outs.append(Out(body, dst))
        return down, outs

    def statistics(self) -> Mapping[str, Any]:
        """An immutable snapshot: the link counters and the framework's."""
        s = self.core.status()
        return types.MappingProxyType({**dataclasses.asdict(s), "commands_routed": self.core.commands_routed,
                                       **self.fw.statistics()})

    def final_report(self) -> dict:
        s = self.core.status()
        return {
            "frames_up_ok": s.frames_up_ok,
            "frames_up_bad": s.frames_up_bad,
            "frames_down": s.frames_down,
            "bytes_down": s.bytes_down,
            "results_pending": s.results_pending,
            "commands_routed": self.core.commands_routed,
        }

    def close(self) -> None:
        pass


def make(start_tick: int, table: dict | None = None) -> CommsApp:
    return CommsApp(CommsTable(**(table or {})))
