"""Link manager shell."""

from __future__ import annotations

from collections.abc import Sequence

from flightsw.apps.comms.core import CommsCore, CommsTable, split_inbox
from flightsw.bus.participant import Out
from flightsw.icd.messages import ContactState, JobAck, JobState, Message, ResultData, UplinkFrame

__all__ = ["CommsApp", "make"]


class CommsApp:
    name = "comms"
    period_ticks = 1
    subscriptions = frozenset(
        {ContactState.KIND, UplinkFrame.KIND, JobAck.KIND, JobState.KIND, ResultData.KIND}
    )

    def __init__(self, table: CommsTable) -> None:
        self.core = CommsCore(table=table)

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        contact, uplink, from_exec = split_inbox(inbox)
        return [Out(b, d) for b, d in self.core.step(tick, t_ns, contact, uplink, from_exec)]

    def final_report(self) -> dict:
        s = self.core.status()
        return {
            "frames_up_ok": s.frames_up_ok,
            "frames_up_bad": s.frames_up_bad,
            "frames_down": s.frames_down,
            "bytes_down": s.bytes_down,
            "results_pending": s.results_pending,
        }

    def close(self) -> None:
        pass


def make(start_tick: int, table: dict | None = None) -> CommsApp:
    return CommsApp(CommsTable(**(table or {})))
