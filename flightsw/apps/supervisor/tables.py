"""The supervisor's parameter tables, their defaults, and the checks across them.

Four tables (loaded with TableLoad, validated whole, as every app's):

- ``supervisor``: which processes are watched, restart delays and cap, ping thresholds.
- ``watchpoints``, ``actionpoints``: the limit checker (:mod:`.limits`).
- ``sequences``: stored command sequences (:mod:`.sequencer`).

Each table checks itself; :func:`check_tables` checks them together (an actionpoint
names only watchpoints that exist and a sequence that exists; a watchpoint reads only a
telemetry kind this process subscribed to at start, since the hub's subscriptions are
fixed at registration). :class:`SupervisorTables` runs that check before a load or an
activation takes effect, so a table that breaks another is refused whole.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flightsw.apps.framework import CommandError, TableError, TableService
from flightsw.apps.supervisor.commands import CommandSpec
from flightsw.apps.supervisor.limits import (
    Actionpoint,
    ActionpointTable,
    Watchpoint,
    WatchpointTable,
    parse_channel,
)
from flightsw.apps.supervisor.sequencer import SequenceStep, SequenceTable, StoredSequence
from flightsw.icd.messages import MAX_NAME, CmdStatus, Opcode

__all__ = ["SupervisorTable", "default_watchpoints", "default_actionpoints", "default_sequences",
           "check_tables", "SupervisorTables", "TABLE_NAMES", "DEFAULT_SOC_FLOOR"]

TABLE_NAMES = ("supervisor", "watchpoints", "actionpoints", "sequences")
DEFAULT_SOC_FLOOR = 0.25  # the default scenario's battery floor [-]
SOC_WATCH_MARGIN = 0.01  # [-] below the power manager's own guard (floor + 0.02): a backstop
SOC_LOW_SAMPLES = 30


@dataclass(frozen=True)
class SupervisorTable:
    watched: tuple[str, ...] = ("comms", "executor", "power", "thermal")
    restart_delay_ticks: int = 3  # wait this long after noticing a death
    retry_ticks: int = 30  # ask again if it is still dead this long after a request
    max_restarts: int = 5  # per process (deaths and hangs together); then safe mode, no more
    ping_period_ticks: int = 5  # a ping to each watched process this often
    # [ticks] without an answer: a warning event, then hung (restart). A round trip takes 2.
    ping_warn_ticks: int = 10
    ping_fatal_ticks: int = 30
    ping_arm_on_first_pong: bool = True  # never-answered processes are not held to pings
    safe_reassert_ticks: int = 10  # SetMode(SAFE) again this often while SAFE
    sequence_response_timeout_ticks: int = 10  # a step's answer must come within this

    def __post_init__(self) -> None:
        names = self.watched
        if len(set(names)) != len(names) or any(type(n) is not str or not 0 < len(n) <= MAX_NAME for n in names):
            raise TableError(f"supervisor table: watched expected unique names of 1..{MAX_NAME} characters, got {names!r}")
        if {"supervisor", "hub"} & set(names):
            raise TableError(f"supervisor table: watched expected no 'supervisor' or 'hub' "
                             f"(the hub's watchdog restarts the supervisor), got {names!r}")
        checks = (
            ("restart_delay_ticks", self.restart_delay_ticks >= 0, ">= 0"),
            ("retry_ticks", self.retry_ticks >= 1, ">= 1"),
            ("max_restarts", 0 <= self.max_restarts <= 1000, "in [0, 1000]"),
            ("ping_period_ticks", self.ping_period_ticks >= 1, ">= 1"),
            ("ping_warn_ticks", self.ping_warn_ticks >= 2, ">= 2 (a ping's round trip)"),
            ("ping_fatal_ticks", self.ping_fatal_ticks > self.ping_warn_ticks, "> ping_warn_ticks"),
            ("safe_reassert_ticks", self.safe_reassert_ticks >= 1, ">= 1"),
            ("sequence_response_timeout_ticks", self.sequence_response_timeout_ticks >= 2, ">= 2"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise TableError(f"supervisor table: {name} expected {expected}, got {getattr(self, name)}")


def default_watchpoints(soc_floor: float = DEFAULT_SOC_FLOOR) -> WatchpointTable:
    return WatchpointTable((
        # a backstop below the power manager's guard (floor + 0.02): it trips only if the
        # power manager's own safe mode failed to hold the battery
        Watchpoint("soc_low", "PowerBudget.battery_soc", "<", round(soc_floor + SOC_WATCH_MARGIN, 6), 5),
        # ThermalCaps comes on change and at least every 10 ticks: stale after 2.5 of those
        Watchpoint("board_red", "ThermalCaps.level[*]", ">=", 2.0, 25),
    ))


def default_actionpoints() -> ActionpointTable:
    return ActionpointTable((
        Actionpoint("soc_low_safe", "soc_low", SOC_LOW_SAMPLES, "ACTIVE",
                    command=CommandSpec("supervisor", int(Opcode.SUP_SET_MODE),
                                        {"mode": "SAFE", "reason": "battery SOC below the floor margin"}),
                    text="battery SOC below floor + margin: safe mode"),
        Actionpoint("board_red_event", "board_red", 1, "ACTIVE",
                    text="a board reached its red temperature limit (thermal guard shut it down)"),
    ))


def default_sequences() -> SequenceTable:
    # an example and a check of the command path: each app answers NOOP on the bus
    return SequenceTable((
        StoredSequence("noop_all", tuple(
            SequenceStep(CommandSpec(app, int(Opcode.NOOP)), at_s=float(i))
            for i, app in enumerate(("power", "thermal", "executor", "comms")))),
    ))


def check_tables(active: Mapping[str, Any], subscribed: frozenset[int] | None) -> None:
    """Raise TableError naming the entry and field where the tables disagree."""
    wps: WatchpointTable = active["watchpoints"]
    aps: ActionpointTable = active["actionpoints"]
    seqs: SequenceTable = active["sequences"]
    ids = {w.id for w in wps.entries}
    for i, w in enumerate(wps.entries):
        kind = parse_channel(w.channel).kind
        if subscribed is not None and kind.KIND not in subscribed:
            raise TableError(f"watchpoints.entries[{i}] ({w.id}).channel: expected a kind this supervisor "
                             f"subscribed to at start, got {kind.__name__} (restart it with that table)")
    for i, a in enumerate(aps.entries):
        unknown = sorted(a.watchpoints() - ids)
        if unknown:
            raise TableError(f"actionpoints.entries[{i}] ({a.id}).expression: expected watchpoint ids "
                             f"from the watchpoints table, got unknown {unknown}")
        if a.sequence and seqs.get(a.sequence) is None:
            raise TableError(f"actionpoints.entries[{i}] ({a.id}).sequence: expected one of "
                             f"{sorted(s.name for s in seqs.entries)}, got {a.sequence!r}")


class SupervisorTables(TableService):
    """TableService that checks the tables together before a load or activation lands."""

    def __init__(self, active: dict[str, Any], subscribed: frozenset[int] | None = None) -> None:
        super().__init__(active)
        self.subscribed = subscribed
        check_tables(active, subscribed)

    def _cross(self, name: str, table: Any) -> None:
        try:
            check_tables({**self.active, name: table}, self.subscribed)
        except TableError as exc:
            raise CommandError(CmdStatus.VALIDATION_ERROR, f"table {name} rejected: {exc}") from None

    def load(self, name: str, data: bytes, activate: bool) -> str:
        probe = TableService(dict(self.active))  # the same checks, on a scratch copy
        probe.load(name, data, activate=True)
        self._cross(name, probe.active[name])
        return super().load(name, data, activate)

    def activate(self, name: str) -> str:
        if name in self.staged:
            self._cross(name, self.staged[name])
        return super().activate(name)
