"""The limit checker (after cFS LC): watchpoints compare one telemetry channel with a
value; actionpoints combine watchpoint results in an expression and act after enough
consecutive failures.

Watchpoint: ``channel operator value``, e.g. ``PowerBudget.battery_soc < 0.27``. A
channel is ``Kind.field`` for a number, ``Kind.field[i]`` for one element of a
per-board array, or ``Kind.field[*]`` for "any element" (the comparison holds for at
least one element). Its result each tick is True (the condition holds: a limit is
broken), False, or unknown: STALE (no new sample for ``stale_after_ticks`` ticks, or none
yet), ERROR (the index is past the array, or the array is empty) or DISABLED.

Actionpoint: an expression over watchpoint ids (:mod:`.expr`); True means failing. After
``fail_count`` consecutive failing ticks an ACTIVE actionpoint takes its action (a command,
a stored sequence, or just its event) and then turns PASSIVE, as in cFS LC, so it acts
once and never loops; an operator re-arms it (SUP_SET_ACTIONPOINT ACTIVE). A PASSIVE one
reports what it would have done; a DISABLED one is not evaluated. An unknown result
(stale watchpoints) neither counts as a failure nor resets the count.

Left out: cFS LC's per-watchpoint custom functions, bit masks, and result history
persisted across restarts (a restarted supervisor starts every actionpoint from its
table state with a count of 0).
"""

from __future__ import annotations

import functools
import operator as op
import re
import typing
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flightsw.apps.framework import TableError
from flightsw.apps.supervisor import expr
from flightsw.apps.supervisor.commands import CommandSpec
from flightsw.icd.messages import (
    BoardSensors,
    CommsStatus,
    ContactState,
    ExecutorStatus,
    PowerBudget,
    PowerSensors,
    Severity,
    ThermalCaps,
)

__all__ = ["Watchpoint", "Actionpoint", "WatchpointTable", "ActionpointTable", "Channel",
           "parse_channel", "LimitChecker", "Firing", "OPERATORS", "AP_STATES", "CHANNEL_KINDS",
           "check_id"]

OPERATORS: dict[str, Any] = {"<": op.lt, "<=": op.le, ">": op.gt, ">=": op.ge, "==": op.eq, "!=": op.ne}
AP_STATES = ("ACTIVE", "PASSIVE", "DISABLED")
CHANNEL_KINDS: dict[str, type] = {c.__name__: c for c in (
    PowerSensors, BoardSensors, ContactState, PowerBudget, ThermalCaps, ExecutorStatus, CommsStatus)}
MAX_WATCHPOINTS = 256
MAX_ACTIONPOINTS = 64  # SupervisorStatus.actionpoints_failing holds 64
MAX_ID = 28  # "lc:" + id fits a command's source (32)
_ID = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_CHANNEL = re.compile(r"([A-Za-z]+)\.([a-z_][a-z0-9_]*)(?:\[(\d+|\*)\])?\Z")


def check_id(what: str, value: object) -> None:
    if type(value) is not str or not _ID.match(value) or len(value) > MAX_ID or value in expr.KEYWORDS:
        raise TableError(f"{what}: expected a name of 1..{MAX_ID} letters, digits or _ "
                         f"(not starting with a digit, not and/or/not), got {value!r}")


# -------------------------------------------------------------------------- channels
@dataclass(frozen=True)
class Channel:
    kind: type
    field: str
    index: int | str | None  # None: a scalar; int: one element; "*": any element

    def read(self, body: object) -> float | tuple[float, ...] | None:
        """The sample (a tuple for "[*]"), or None where it has no value (ERROR)."""
        v = getattr(body, self.field)
        if self.index is None:
            return float(v)
        if self.index == "*":
            return tuple(float(x) for x in v) if v else None
        return float(v[self.index]) if self.index < len(v) else None


@functools.cache
def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def parse_channel(text: object) -> Channel:
    """``Kind.field``, ``Kind.field[i]`` or ``Kind.field[*]`` -> Channel; raises TableError."""
    m = _CHANNEL.match(text) if isinstance(text, str) else None
    if m is None:
        raise TableError(f"channel: expected Kind.field, Kind.field[i] or Kind.field[*], got {text!r}")
    kind_name, name, index = m.groups()
    cls = CHANNEL_KINDS.get(kind_name)
    if cls is None:
        raise TableError(f"channel: expected a kind in {sorted(CHANNEL_KINDS)}, got {kind_name!r}")
    hints = _hints(cls)
    numeric = {n for n, h in hints.items() if h in (int, float, bool)}
    arrays = {n for n, h in hints.items()
              if typing.get_origin(h) is tuple and typing.get_args(h)[:1] in ((int,), (float,))}
    if name in numeric:
        if index is not None:
            raise TableError(f"channel: {kind_name}.{name} is a number, expected no index, got [{index}]")
        return Channel(cls, name, None)
    if name in arrays:
        if index is None:
            raise TableError(f"channel: {kind_name}.{name} is an array, expected an index [i] or [*]")
        return Channel(cls, name, "*" if index == "*" else int(index))
    raise TableError(f"channel: expected a numeric field of {kind_name} "
                     f"({sorted(numeric | arrays)}), got {name!r}")


# --------------------------------------------------------------------------- tables
@dataclass(frozen=True)
class Watchpoint:
    id: str = ""
    channel: str = ""
    operator: str = "<"
    value: float = 0.0
    stale_after_ticks: int = 0  # [ticks] no new sample this long -> STALE; 0: never stale
    enabled: bool = True

    def __post_init__(self) -> None:
        check_id("watchpoint id", self.id)
        where = f"watchpoint {self.id!r}"
        try:
            parse_channel(self.channel)
        except TableError as exc:
            raise TableError(f"{where}: {exc}") from None
        if self.operator not in OPERATORS:
            raise TableError(f"{where}: operator: expected one of {list(OPERATORS)}, got {self.operator!r}")
        if type(self.stale_after_ticks) is not int or self.stale_after_ticks < 0:
            raise TableError(f"{where}: stale_after_ticks: expected an integer >= 0, got {self.stale_after_ticks!r}")


@dataclass(frozen=True)
class Actionpoint:
    id: str = ""
    expression: str = ""
    fail_count: int = 1  # consecutive failing ticks before it acts
    state: str = "ACTIVE"  # the state it starts in: ACTIVE, PASSIVE or DISABLED
    command: CommandSpec | None = None  # the action: a command ...
    sequence: str = ""  # ... or a stored sequence to start; neither: its event alone
    severity: str = "WARNING_HI"  # of the event when it acts
    text: str = ""  # said in that event

    def __post_init__(self) -> None:
        check_id("actionpoint id", self.id)
        where = f"actionpoint {self.id!r}"
        try:
            expr.parse(self.expression)
        except expr.ExprError as exc:
            raise TableError(f"{where}: expression {self.expression!r}: {exc}") from None
        if type(self.fail_count) is not int or not 1 <= self.fail_count <= 10**6:
            raise TableError(f"{where}: fail_count: expected an integer in [1, 1000000], got {self.fail_count!r}")
        if self.state not in AP_STATES:
            raise TableError(f"{where}: state: expected one of {list(AP_STATES)}, got {self.state!r}")
        if self.command is not None and not isinstance(self.command, CommandSpec):
            raise TableError(f"{where}: command: expected a command table, got {type(self.command).__name__}")
        if self.command is not None and self.sequence:
            raise TableError(f"{where}: expected a command or a sequence, got both")
        if self.sequence:
            check_id(f"{where}: sequence", self.sequence)
        if self.severity not in Severity.__members__:
            raise TableError(f"{where}: severity: expected one of {list(Severity.__members__)}, got {self.severity!r}")
        if not isinstance(self.text, str) or len(self.text) > 200:
            raise TableError(f"{where}: text: expected a string of at most 200 characters")

    def watchpoints(self) -> set[str]:
        return expr.names(expr.parse(self.expression))


def _unique(table: str, entries: Iterable[Any], limit: int, cls: type) -> None:
    entries = list(entries)
    if len(entries) > limit:
        raise TableError(f"{table}.entries: expected at most {limit}, got {len(entries)}")
    seen: set[str] = set()
    for i, e in enumerate(entries):
        if not isinstance(e, cls):
            raise TableError(f"{table}.entries[{i}]: expected a {cls.__name__}, got {type(e).__name__}")
        if e.id in seen:
            raise TableError(f"{table}.entries[{i}].id: expected a unique id, got {e.id!r} twice")
        seen.add(e.id)


@dataclass(frozen=True)
class WatchpointTable:
    entries: tuple[Watchpoint, ...] = ()

    def __post_init__(self) -> None:
        _unique("watchpoints", self.entries, MAX_WATCHPOINTS, Watchpoint)

    def kinds(self) -> set[int]:
        return {parse_channel(w.channel).kind.KIND for w in self.entries}


@dataclass(frozen=True)
class ActionpointTable:
    entries: tuple[Actionpoint, ...] = ()

    def __post_init__(self) -> None:
        _unique("actionpoints", self.entries, MAX_ACTIONPOINTS, Actionpoint)


# -------------------------------------------------------------------------- runtime
@dataclass
class _Wp:
    spec: Watchpoint
    channel: Channel
    enabled: bool
    sample: float | tuple[float, ...] | None = None
    sample_tick: int | None = None
    result: str = "STALE"  # TRUE, FALSE, STALE, ERROR, DISABLED


@dataclass
class _Ap:
    spec: Actionpoint
    tree: expr.Node
    state: str
    consecutive: int = 0
    result: bool | None = None


@dataclass(frozen=True)
class Firing:
    """An actionpoint that reached its fail count this tick: ``active`` -> take the
    action; otherwise (PASSIVE) only report it."""

    ap: Actionpoint
    active: bool
    consecutive: int


@dataclass
class LimitChecker:
    wps: dict[str, _Wp] = field(default_factory=dict)
    aps: dict[str, _Ap] = field(default_factory=dict)
    samples: int = 0
    fired: int = 0
    passive_fails: int = 0

    def configure(self, watchpoints: WatchpointTable, actionpoints: ActionpointTable) -> None:
        """(Re)build from the active tables. A watchpoint on the same channel keeps its
        last sample; actionpoints restart from their table state."""
        old = self.wps
        self.wps = {}
        for w in watchpoints.entries:
            keep = old.get(w.id)
            wp = _Wp(w, parse_channel(w.channel), w.enabled)
            if keep is not None and keep.spec.channel == w.channel:
                wp.sample, wp.sample_tick = keep.sample, keep.sample_tick
            self.wps[w.id] = wp
        if [a.spec for a in self.aps.values()] != list(actionpoints.entries):
            self.aps = {a.id: _Ap(a, expr.parse(a.expression), a.state) for a in actionpoints.entries}

    def set_watchpoint(self, wp_id: str, enabled: bool) -> None:
        self.wps[wp_id].enabled = enabled

    def set_actionpoint(self, ap_id: str, state: str) -> None:
        ap = self.aps[ap_id]
        ap.state, ap.consecutive = state, 0

    def sample(self, tick: int, latest: Mapping[int, object]) -> None:
        """Take this tick's samples: ``latest`` maps telemetry kind -> newest body."""
        for wp in self.wps.values():
            body = latest.get(wp.channel.kind.KIND)
            if body is not None:
                wp.sample, wp.sample_tick = wp.channel.read(body), tick
                self.samples += 1

    def _result(self, tick: int, wp: _Wp) -> bool | None:
        if not wp.enabled:
            wp.result = "DISABLED"
            return None
        stale_after = wp.spec.stale_after_ticks
        if wp.sample_tick is None or (stale_after and tick - wp.sample_tick >= stale_after):
            wp.result = "STALE"
            return None
        if wp.sample is None:
            wp.result = "ERROR"
            return None
        cmp = OPERATORS[wp.spec.operator]
        x = wp.sample
        hit = any(cmp(v, wp.spec.value) for v in x) if isinstance(x, tuple) else cmp(x, wp.spec.value)
        wp.result = "TRUE" if hit else "FALSE"
        return hit

    def evaluate(self, tick: int) -> list[Firing]:
        """Evaluate every watchpoint and actionpoint -> the actionpoints that fire now."""
        results = {i: self._result(tick, wp) for i, wp in self.wps.items()}
        out: list[Firing] = []
        for ap in self.aps.values():
            if ap.state == "DISABLED":
                ap.result = None
                continue
            ap.result = expr.evaluate(ap.tree, results)
            if ap.result is False:
                ap.consecutive = 0
            elif ap.result is True:
                ap.consecutive += 1
                if ap.consecutive == ap.spec.fail_count:
                    active = ap.state == "ACTIVE"
                    out.append(Firing(ap.spec, active, ap.consecutive))
                    if active:
                        self.fired += 1
                        ap.state = "PASSIVE"  # acts once; an operator re-arms it
                    else:
                        self.passive_fails += 1
        return out

    def failing(self) -> tuple[str, ...]:
        return tuple(sorted(i for i, ap in self.aps.items() if ap.result is True))

    def watchpoint_results(self) -> dict[str, str]:
        return {i: wp.result for i, wp in sorted(self.wps.items())}

    def actionpoint_states(self) -> dict[str, str]:
        return {i: ap.state for i, ap in sorted(self.aps.items())}
