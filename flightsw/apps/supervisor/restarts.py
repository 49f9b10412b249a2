"""Restarts with a cap (after cFS Health and Safety): a process the hub reports dead is
restarted after ``restart_delay_ticks`` (asked again every ``retry_ticks`` while it stays
dead); a process the health pings declare hung is restarted at once (the hub kills it
first). Both count toward one cap per process, ``max_restarts``. The request that would
pass the cap is not sent: instead one FATAL event per process, ever, and escalation to
safe mode — never a restart loop. SUP_RESET_RESTARTS clears a process's count and cap.

The counts and caps are durable (the shell keeps them in sqlite), so a restarted
supervisor does not forget how often it already restarted someone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flightsw.icd.messages import RestartProcess, Severity

__all__ = ["RestartManager"]

Note = tuple[Severity, str, str]


@dataclass
class RestartManager:
    restarts: dict[str, int] = field(default_factory=dict)
    capped: set[str] = field(default_factory=set)  # reached the cap: FATAL raised, no more restarts
    dead_since: dict[str, int] = field(default_factory=dict)
    requested_at: dict[str, int] = field(default_factory=dict)
    escalations: list[str] = field(default_factory=list)  # why, since the core last looked

    def _request(self, name: str, why: str, max_restarts: int) -> tuple[list[RestartProcess], list[Note]]:
        count = self.restarts.get(name, 0)
        if count >= max_restarts:
            if name in self.capped:  # one FATAL per process, never repeated
                return [], []
            self.capped.add(name)
            reason = f"{name} {why} after {count} restart(s): cap {max_restarts} reached"
            self.escalations.append(reason)
            return [], [(Severity.FATAL, "supervisor.restart_cap", f"{reason}: safe mode, no more restarts")]
        self.restarts[name] = count + 1
        return [RestartProcess(name, f"{why}: restart {count + 1} of {max_restarts}")], []

    def on_status(self, tick: int, watched: tuple[str, ...], dead: set[str], delay_ticks: int,
                  retry_ticks: int, max_restarts: int) -> tuple[list[RestartProcess], list[Note]]:
        """Dead processes from the hub's last status -> restart requests and notes."""
        out: list[RestartProcess] = []
        notes: list[Note] = []
        for name in watched:
            if name not in dead:
                self.dead_since.pop(name, None)
                self.requested_at.pop(name, None)
                continue
            since = self.dead_since.setdefault(name, tick)
            if since == tick:
                notes.append((Severity.WARNING_HI, "supervisor.process_dead", f"{name} is not answering"))
            if tick - since < delay_ticks:
                continue
            asked = self.requested_at.get(name)
            if asked is not None and tick - asked < retry_ticks:
                continue
            reqs, more = self._request(name, "dead", max_restarts)
            if reqs:
                self.requested_at[name] = tick
            out += reqs
            notes += more
        return out, notes

    def on_hung(self, name: str, silent_ticks: int, max_restarts: int) -> tuple[list[RestartProcess], list[Note]]:
        reqs, notes = self._request(name, f"hung ({silent_ticks} ticks without a pong)", max_restarts)
        if reqs:
            notes = [(Severity.WARNING_HI, "supervisor.process_hung",
                      f"{name} answered no ping for {silent_ticks} ticks: killing and restarting it"), *notes]
        return reqs, notes

    def reset(self, name: str) -> None:
        self.restarts[name] = 0
        self.capped.discard(name)
        self.dead_since.pop(name, None)
        self.requested_at.pop(name, None)
