"""Supervisor (FDIR) core: notices dead onboard processes, asks the hub to restart them
after a delay, caps restarts per process, and escalates to safe mode — never loops.

Restart counts are durable (the shell keeps them in sqlite), so a restarted supervisor
does not forget how often it already restarted someone.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flightsw.icd.messages import (
    Event,
    HubStatus,
    Mode,
    RestartProcess,
    SetMode,
    Severity,
    SupervisorStatus,
)

__all__ = ["SupervisorTable", "SupervisorCore"]

STATUS_EVERY_TICKS = 10
SAFE_REASSERT_TICKS = 10


@dataclass(frozen=True)
class SupervisorTable:
    watched: tuple[str, ...] = ("comms", "executor", "power", "thermal")
    restart_delay_ticks: int = 3  # wait this long after noticing a death
    retry_ticks: int = 30  # ask again if it is still dead this long after a request
    max_restarts: int = 5  # per process, per run; then safe mode and no more restarts


@dataclass
class SupervisorCore:
    table: SupervisorTable
    restarts: dict[str, int] = field(default_factory=dict)
    dead_since: dict[str, int] = field(default_factory=dict)
    requested_at: dict[str, int] = field(default_factory=dict)
    escalated: bool = False
    capped: set[str] = field(default_factory=set)  # processes that reached the cap
    status: HubStatus | None = None  # the last liveness report (the hub sends changes)
    last_safe_tick: int = -(10**9)

    def step(self, tick: int, status: HubStatus | None) -> tuple[list[tuple[object, str]], dict[str, int]]:
        """-> (outgoing (body, dst) pairs, restart counts changed this step to persist)."""
        out: list[tuple[object, str]] = []
        changed: dict[str, int] = {}
        if status is not None:
            self.status = status
        status = self.status
        if status is not None:
            dead = set(status.dead)
            for name in self.table.watched:
                if name not in dead:
                    self.dead_since.pop(name, None)
                    self.requested_at.pop(name, None)
                    continue
                since = self.dead_since.setdefault(name, tick)
                if since == tick:
                    out.append((Event(int(Severity.WARNING_HI), "supervisor.process_dead",
                                      f"{name} is not answering"), ""))
                if tick - since < self.table.restart_delay_ticks:
                    continue
                asked = self.requested_at.get(name)
                if asked is not None and tick - asked < self.table.retry_ticks:
                    continue
                count = self.restarts.get(name, 0)
                if count >= self.table.max_restarts:
                    if name not in self.capped:  # one FATAL per process, never throttled
                        self.capped.add(name)
                        self.escalated = True
                        out.append((Event(int(Severity.FATAL), "supervisor.restart_cap",
                                          f"{name} died {count + 1} times: safe mode, no more restarts"), ""))
                    continue
                self.restarts[name] = count + 1
                changed[name] = count + 1
                self.requested_at[name] = tick
                out.append((RestartProcess(name, f"restart {count + 1} of {self.table.max_restarts}"), "hub"))
        if self.escalated and tick - self.last_safe_tick >= SAFE_REASSERT_TICKS:
            self.last_safe_tick = tick
            out.append((SetMode(Mode.SAFE.value, "supervisor: restart cap reached"), "power"))
        if tick % STATUS_EVERY_TICKS == 0:
            names = tuple(sorted(self.table.watched))
            out.append((SupervisorStatus(names, tuple(self.restarts.get(n, 0) for n in names),
                                         self.escalated), ""))
        return out, changed
