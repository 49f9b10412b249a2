"""What every onboard app has in common: commands with responses, parameter tables,
events with severities and throttling, health pings, housekeeping (DESIGN.md §4, §5).

After cFS (table services: load, validate, activate, dump; command counters in
housekeeping) and F Prime (command responses, event severities and throttling, health
pings). Pure: no sockets, files or clocks; the app shell feeds it the inbox and sends
what it returns.

Use from a shell::

    fw = AppFramework("power", tables=TableService({"power": table}), handlers={...})
    outs = fw.handle(tick, inbox)          # commands, table loads, pings: responses out
    ev = fw.events.emit(tick, Severity.ACTIVITY_HI, "power.mode_changed", "...")

A handler is ``f(args: dict, tick: int) -> str`` returning a detail text for an OK
response, or raising :class:`CommandError` with a status and a detail. Argument helpers
(:func:`arg_int`, :func:`arg_str`...) raise VALIDATION_ERROR naming the argument.
"""

from __future__ import annotations

import dataclasses
import json
import math
import types
import typing
import zlib
from collections import OrderedDict
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from flightsw.icd.messages import (
    TABLE_LOAD_OPCODE,
    AppCommand,
    AppHousekeeping,
    CmdStatus,
    CommandResponse,
    Event,
    HealthPing,
    HealthPong,
    Message,
    Opcode,
    Severity,
    TableDump,
    TableLoad,
)

__all__ = [
    "AppFramework",
    "CommandError",
    "EventLog",
    "EventStats",
    "TableError",
    "TableService",
    "arg_bool",
    "arg_float",
    "arg_int",
    "arg_str",
    "table_from_mapping",
    "table_to_json",
    "FRAMEWORK_KINDS",
]

FRAMEWORK_KINDS = frozenset({AppCommand.KIND, TableLoad.KIND, HealthPing.KIND})
NEVER_THROTTLED = (int(Severity.FATAL), int(Severity.WARNING_HI))
RECENT_COMMANDS = 64  # (source, cmd_id) pairs remembered: a repeat has no second effect


class TableError(ValueError):
    """A parameter table was rejected whole; the text names the field."""


class CommandError(Exception):
    """A command was refused: ``status`` is a CmdStatus, ``detail`` says why."""

    def __init__(self, status: CmdStatus, detail: str) -> None:
        super().__init__(detail)
        self.status = status
        self.detail = detail


# ------------------------------------------------------------------------ events
@dataclass(frozen=True)
class EventStats:
    sent: int
    throttled: int
    by_severity: Mapping[str, int]


@dataclass
class EventLog:
    """Events with throttling: at most ``limit`` events of one name per ``window_ticks``;
    the rest are counted, and the next event of that name after the window says how many
    were held back. FATAL and WARNING_HI are never throttled."""

    limit: int = 5
    window_ticks: int = 600
    sent: int = 0
    throttled: int = 0
    by_severity: dict[str, int] = field(default_factory=dict)
    _window: dict[str, tuple[int, int, int]] = field(default_factory=dict)  # name -> (start, n, held)

    def emit(self, tick: int, severity: Severity | int, name: str, text: str) -> Event | None:
        sev = int(severity)
        if sev not in NEVER_THROTTLED:
            start, n, held = self._window.get(name, (tick, 0, 0))
            if tick - start >= self.window_ticks:
                start, n = tick, 0
            if n >= self.limit:
                self._window[name] = (start, n, held + 1)
                self.throttled += 1
                return None
            if held and n == 0:
                text = f"{text} ({held} like it held back)"
                held = 0
            self._window[name] = (start, n + 1, held)
        self.sent += 1
        key = Severity(sev).name
        self.by_severity[key] = self.by_severity.get(key, 0) + 1
        return Event(sev, name[:64], text[:512])

    def statistics(self) -> EventStats:
        return EventStats(self.sent, self.throttled, types.MappingProxyType(dict(self.by_severity)))

    def reset_counters(self) -> None:
        self.sent = self.throttled = 0
        self.by_severity.clear()


# ------------------------------------------------------------------------ tables
def _field_value(where: str, hint: Any, value: Any) -> Any:
    origin = typing.get_origin(hint)
    if hint is float:
        if type(value) not in (int, float) or type(value) is bool:
            raise TableError(f"{where}: expected a number, got {type(value).__name__} {value!r}")
        if not math.isfinite(value):
            raise TableError(f"{where}: expected a finite number, got {value!r}")
        return float(value)
    if hint is int:
        if type(value) is not int:
            raise TableError(f"{where}: expected an integer, got {type(value).__name__} {value!r}")
        return value
    if hint is bool:
        if type(value) is not bool:
            raise TableError(f"{where}: expected true or false, got {type(value).__name__} {value!r}")
        return value
    if hint is str:
        if type(value) is not str:
            raise TableError(f"{where}: expected a string, got {type(value).__name__} {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, (list, tuple)):
            raise TableError(f"{where}: expected an array, got {type(value).__name__}")
        args = typing.get_args(hint)
        item = args[0] if args else Any
        if item is Any or (len(args) == 2 and args[1] is not Ellipsis):
            return tuple(value)
        return tuple(_field_value(f"{where}[{i}]", item, v) for i, v in enumerate(value))
    if origin in (typing.Union, types.UnionType):  # ``X | None``: null, or an X
        args = typing.get_args(hint)
        if value is None and type(None) in args:
            return None
        others = [a for a in args if a is not type(None)]
        if len(others) == 1:
            return _field_value(where, others[0], value)
        return value
    if dataclasses.is_dataclass(hint) and isinstance(hint, type):
        if not isinstance(value, Mapping):
            raise TableError(f"{where}: expected a table, got {type(value).__name__}")
        try:
            return table_from_mapping(hint, value)
        except TableError as exc:  # say where in the outer table the nested one failed
            raise TableError(f"{where}: {exc}") from None
    return value  # a free-form field: the table's own validation checks it


def table_from_mapping(cls: type, values: Mapping[str, Any], base: Any = None) -> Any:
    """Build the table ``cls`` (a frozen dataclass that validates itself in
    ``__post_init__``) from ``values``, over ``base`` (the active table) when given.
    Unknown fields and wrongly typed values are rejected, naming the field."""
    if not isinstance(values, Mapping):
        raise TableError(f"{cls.__name__}: expected a table (a JSON object), got {type(values).__name__}")
    fields = {f.name: f for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - set(fields))
    if unknown:
        raise TableError(f"{cls.__name__}: unknown field(s) {unknown}; expected some of {sorted(fields)}")
    hints = typing.get_type_hints(cls)
    kwargs = {}
    if base is not None:
        kwargs = {name: getattr(base, name) for name in fields if fields[name].init}
    for name, value in values.items():
        kwargs[name] = _field_value(f"{cls.__name__}.{name}", hints[name], value)
    try:
        return cls(**kwargs)
    except TableError:
        raise
    except (TypeError, ValueError) as exc:
        raise TableError(f"{cls.__name__}: {exc}") from None


def _jsonable(value: Any) -> Any:
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: _jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, (tuple, list)):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


def table_to_json(table: Any) -> bytes:
    """Canonical JSON of a table (sorted keys): the same table always dumps the same bytes."""
    return json.dumps(_jsonable(table), sort_keys=True, separators=(",", ":")).encode()


@dataclass
class TableService:
    """Named parameter tables of one app: load (validate whole, stage), activate
    atomically, abort, dump. ``active[name]`` is what the app uses."""

    active: dict[str, Any]
    staged: dict[str, Any] = field(default_factory=dict)
    loads: int = 0
    activations: int = 0
    # name -> (the table object, its CRC): housekeeping reports every table's CRC often,
    # and serialising a table is costly. Tables are frozen, so the CRC holds while the
    # same object is active; a load or activation puts a new object in and misses.
    _crc: dict[str, tuple[Any, int]] = field(default_factory=dict, repr=False, compare=False)

    def load(self, name: str, data: bytes, activate: bool) -> str:
        """-> detail text; raises CommandError (the active table is untouched)."""
        if name not in self.active:
            raise CommandError(CmdStatus.VALIDATION_ERROR,
                               f"table: expected one of {sorted(self.active)}, got {name!r}")
        try:
            values = json.loads(data.decode("utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            raise CommandError(CmdStatus.FORMAT_ERROR, f"table {name}: not UTF-8 JSON: {exc}") from None
        current = self.active[name]
        try:
            table = table_from_mapping(type(current), values, base=current)
        except TableError as exc:
            raise CommandError(CmdStatus.VALIDATION_ERROR, f"table {name} rejected: {exc}") from None
        self.loads += 1
        if activate:
            self.active[name] = table
            self.staged.pop(name, None)
            self.activations += 1
            return f"table {name} loaded and active, crc32 {self.crc32(name):08x}"
        self.staged[name] = table
        return f"table {name} staged"

    def activate(self, name: str) -> str:
        if name not in self.staged:
            raise CommandError(CmdStatus.EXECUTION_ERROR, f"table {name!r}: nothing staged")
        self.active[name] = self.staged.pop(name)
        self.activations += 1
        return f"table {name} active, crc32 {self.crc32(name):08x}"

    def abort(self, name: str) -> str:
        if self.staged.pop(name, None) is None:
            raise CommandError(CmdStatus.EXECUTION_ERROR, f"table {name!r}: nothing staged")
        return f"table {name} staged load dropped"

    def dump(self, name: str) -> TableDump:
        if name not in self.active:
            raise CommandError(CmdStatus.VALIDATION_ERROR,
                               f"table: expected one of {sorted(self.active)}, got {name!r}")
        data = table_to_json(self.active[name])
        return TableDump(name, data, zlib.crc32(data))

    def crc32(self, name: str) -> int:
        """CRC-32 of the active table's canonical JSON (cached per table object)."""
        table = self.active[name]
        hit = self._crc.get(name)
        if hit is not None and hit[0] is table:
            return hit[1]
        crc = zlib.crc32(table_to_json(table))
        self._crc[name] = (table, crc)
        return crc


# ---------------------------------------------------------------------- argument helpers
def _arg(args: Mapping[str, Any], name: str, default: Any) -> Any:
    if name in args:
        return args[name]
    if default is dataclasses.MISSING:
        raise CommandError(CmdStatus.VALIDATION_ERROR, f"args.{name}: expected a value, got none")
    return default


def arg_int(args: Mapping[str, Any], name: str, lo: int, hi: int, default: Any = dataclasses.MISSING) -> int:
    v = _arg(args, name, default)
    if type(v) is not int or not lo <= v <= hi:
        raise CommandError(CmdStatus.VALIDATION_ERROR, f"args.{name}: expected an integer in [{lo}, {hi}], got {v!r}")
    return v


def arg_float(args: Mapping[str, Any], name: str, lo: float, hi: float, default: Any = dataclasses.MISSING) -> float:
    v = _arg(args, name, default)
    if type(v) not in (int, float) or not lo <= v <= hi:
        raise CommandError(CmdStatus.VALIDATION_ERROR, f"args.{name}: expected a number in [{lo}, {hi}], got {v!r}")
    return float(v)


def arg_bool(args: Mapping[str, Any], name: str, default: Any = dataclasses.MISSING) -> bool:
    v = _arg(args, name, default)
    if type(v) is not bool:
        raise CommandError(CmdStatus.VALIDATION_ERROR, f"args.{name}: expected true or false, got {v!r}")
    return v


def arg_str(args: Mapping[str, Any], name: str, choices: Iterable[str] | None = None,
            default: Any = dataclasses.MISSING, maxlen: int = 64) -> str:
    v = _arg(args, name, default)
    allowed = None if choices is None else sorted(choices)
    if type(v) is not str or not v or len(v) > maxlen or (allowed is not None and v not in allowed):
        expected = f"one of {allowed}" if allowed is not None else f"a string of 1..{maxlen} characters"
        raise CommandError(CmdStatus.VALIDATION_ERROR, f"args.{name}: expected {expected}, got {v!r}")
    return v


# ------------------------------------------------------------------------ the framework
Handler = Callable[[Mapping[str, Any], int], str]


@dataclass
class AppFramework:
    """Command dispatch, tables, events and health for one app (pure)."""

    app: str
    tables: TableService = field(default_factory=lambda: TableService({}))
    handlers: dict[int, Handler] = field(default_factory=dict)
    events: EventLog = field(default_factory=EventLog)
    on_reset: Callable[[], None] | None = None  # the app's own counters, for RESET_COUNTERS
    cmds_accepted: int = 0
    cmds_rejected: int = 0
    _recent: OrderedDict = field(default_factory=OrderedDict)  # (source, cmd_id) -> response

    def handle(self, tick: int, inbox: Iterable[Message]) -> list[tuple[object, str]]:
        """Answer every command, table load and ping addressed to this app in the inbox
        -> (body, dst) pairs: CommandResponse and TableDump published, HealthPong to its sender."""
        out: list[tuple[object, str]] = []
        for m in inbox:
            body = m.body
            if isinstance(body, HealthPing):
                out.append((HealthPong(body.nonce), m.env.src))
            elif isinstance(body, (AppCommand, TableLoad)) and body.target == self.app:
                out.extend(self._command(tick, body))
        return out

    def _command(self, tick: int, cmd: AppCommand | TableLoad) -> list[tuple[object, str]]:
        opcode = cmd.opcode if isinstance(cmd, AppCommand) else TABLE_LOAD_OPCODE
        key = (cmd.source, cmd.cmd_id)
        if cmd.cmd_id and key in self._recent:  # a repeat: the same answer, no second effect
            return [(self._recent[key], "")]
        extra: list[tuple[object, str]] = []
        try:
            if isinstance(cmd, TableLoad):
                detail = self.tables.load(cmd.table, cmd.data, cmd.activate)
            else:
                detail = self._dispatch(cmd, tick, extra)
            status = CmdStatus.OK
            if opcode != Opcode.RESET_COUNTERS:  # as cFS: the reset does not count itself
                self.cmds_accepted += 1
        except CommandError as exc:
            status, detail = exc.status, exc.detail
            self.cmds_rejected += 1
        resp = CommandResponse(opcode, status.value, detail[:256], cmd.cmd_id, cmd.source[:32])
        if cmd.cmd_id:
            self._recent[key] = resp
            while len(self._recent) > RECENT_COMMANDS:
                self._recent.popitem(last=False)
        sev = Severity.COMMAND if status == CmdStatus.OK else Severity.WARNING_LO
        ev = self.events.emit(tick, sev, f"{self.app}.command",
                              f"opcode {opcode} from {cmd.source or '?'} id {cmd.cmd_id}: {status.value}: {detail}")
        out: list[tuple[object, str]] = [(resp, "")]
        if ev is not None:
            out.append((ev, ""))
        return out + extra

    def _dispatch(self, cmd: AppCommand, tick: int, extra: list) -> str:
        op, args = cmd.opcode, cmd.args
        if op == Opcode.NOOP:
            return f"{self.app} alive"
        if op == Opcode.RESET_COUNTERS:
            self.cmds_accepted = self.cmds_rejected = 0
            self.events.reset_counters()
            if self.on_reset is not None:
                self.on_reset()
            return "counters reset"
        if op in (Opcode.TABLE_ACTIVATE, Opcode.TABLE_DUMP, Opcode.TABLE_ABORT):
            name = arg_str(args, "table", choices=self.tables.active)
            if op == Opcode.TABLE_ACTIVATE:
                return self.tables.activate(name)
            if op == Opcode.TABLE_ABORT:
                return self.tables.abort(name)
            dump = self.tables.dump(name)
            extra.append((dump, ""))
            return f"table {name} dumped, crc32 {dump.crc32:08x}"
        handler = self.handlers.get(op)
        if handler is None:
            raise CommandError(CmdStatus.INVALID_OPCODE,
                               f"opcode: expected one of {sorted([0, 1, 2, 3, 4, *self.handlers])}, got {op}")
        return handler(args, tick)

    def housekeeping(self) -> AppHousekeeping:
        names = tuple(sorted(self.tables.active))
        return AppHousekeeping(self.cmds_accepted, self.cmds_rejected, self.events.sent,
                               self.events.throttled, names, tuple(self.tables.crc32(n) for n in names))

    def statistics(self) -> Mapping[str, int]:
        """An immutable snapshot of the framework's counters."""
        ev = self.events.statistics()
        return types.MappingProxyType({
            "cmds_accepted": self.cmds_accepted, "cmds_rejected": self.cmds_rejected,
            "events_sent": ev.sent, "events_throttled": ev.throttled,
            "table_loads": self.tables.loads, "table_activations": self.tables.activations})
