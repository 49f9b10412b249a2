"""The mode manager: the commanded spacecraft mode, and what it asks of the power manager.

SAFE (by SUP_SET_MODE, an actionpoint, or FDIR escalation at a restart cap) sends
SetMode(SAFE) to the power manager, and again every ``reassert_ticks`` while SAFE (a
restarted power manager hears it within that time, and it never depends on one message).
The power manager then grants no compute: the executor stops compute when its budget is
0, while the thermal guard and the link keep running. Leaving SAFE sends SetMode(NOMINAL),
which releases the order; the power manager then picks its own mode from the battery.
The release is sent again when the power manager may have missed it (it was restarted).

The other modes (LOW_POWER, NOMINAL, COMPUTE) are a ceiling: the power manager picks its
mode from the battery and the sun, but never above the commanded one (an
AppCommand POWER_SET_MODE_LIMIT {mode}, sent with the release and again after a power
manager restart). So COMPUTE lets the power manager use every mode, LOW_POWER keeps the
satellite at most in LOW_POWER (load shed, no battery for compute).
The mode and whether it came from escalation are durable (the shell persists them).
"""

from __future__ import annotations

from dataclasses import dataclass

from flightsw.apps.supervisor.commands import make_cmd_id
from flightsw.icd.messages import MODE_RANK, AppCommand, Mode, Opcode, SetMode, Severity

__all__ = ["ModeManager", "MODE_TARGET"]

MODE_TARGET = "power"
Note = tuple[Severity, str, str]


@dataclass
class ModeManager:
    mode: str = Mode.NOMINAL.value
    reason: str = "boot"
    escalated: bool = False  # SAFE was ordered by FDIR (restart cap), not yet released
    last_safe_tick: int = -(10**9)
    resend: tuple[int, ...] = ()  # ticks to send the current order (again): a change, a power restart
    changes: int = 0

    def set(self, mode: str, reason: str, escalation: bool = False) -> list[Note]:
        """Command a mode. -> notes (the SetMode goes out in ``step``)."""
        if mode not in MODE_RANK:
            raise ValueError(f"mode: expected one of {list(MODE_RANK)}, got {mode!r}")
        old = self.mode
        if escalation:
            self.escalated = True
        elif mode != Mode.SAFE.value:
            self.escalated = False
        if mode == old:
            return []
        self.mode, self.reason = mode, reason
        self.changes += 1
        if mode == Mode.SAFE.value:
            self.last_safe_tick = -(10**9)  # order SAFE on the next step
        else:
            self.resend += (-(10**9),)  # release and the new ceiling on the next step
        sev = Severity.WARNING_HI if mode == Mode.SAFE.value else Severity.ACTIVITY_HI
        return [(sev, "supervisor.mode_changed", f"{old} -> {mode}: {reason}")]

    def power_restarted(self, tick: int) -> None:
        """The power manager is being restarted: tell the new one the order again."""
        self.resend += (tick + 2,)  # restarted at tick+1, hears us at tick+3

    def step(self, tick: int, reassert_ticks: int) -> list[tuple[SetMode, str]]:
        resend = any(t <= tick for t in self.resend)
        self.resend = tuple(t for t in self.resend if t > tick)
        if self.mode == Mode.SAFE.value:
            if resend or tick - self.last_safe_tick >= reassert_ticks:
                self.last_safe_tick = tick
                return [(SetMode(Mode.SAFE.value, f"supervisor: {self.reason}"[:256]), MODE_TARGET)]
            return []
        if resend:
            limit = AppCommand(MODE_TARGET, Opcode.POWER_SET_MODE_LIMIT, make_cmd_id(tick, 1000), "supervisor",
                               {"mode": self.mode})
            return [(SetMode(Mode.NOMINAL.value, f"supervisor: {self.mode}: release safe mode"), MODE_TARGET),
                    (limit, MODE_TARGET)]
        return []
