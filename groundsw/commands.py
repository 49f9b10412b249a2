"""Operator command names ("target.OPCODE_NAME") resolved against the ICD, with their
arguments checked before anything is queued.

A name is an onboard app (``ONBOARD_APPS``) and an :class:`Opcode` name:
``executor.EXEC_CANCEL_JOB``, ``power.NOOP``. Opcodes 0-15 go to any app; the others
only to the app whose range holds them (messages.py: power 16-31, thermal 32-47,
executor 48-79, supervisor 80-111, comms 112-127). Arguments follow each handler's own
checks on board (flightsw/apps/*: ``arg_str``/``arg_int``/``arg_bool``); values the
ground cannot know (a table name, a board count, an actionpoint id) are checked for
form here and for meaning on board, which answers VALIDATION_ERROR.

Critical commands (``CRITICAL_OPCODES``) are queued but released only after an approver
other than the sender approves them.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flightsw.icd.messages import CRITICAL_OPCODES, MODE_RANK, ONBOARD_APPS, Opcode

__all__ = ["COMMAND_NAMES", "CommandError", "ResolvedCommand", "coerce_text_args", "resolve"]

_COMMON_MAX = 15
_APP_RANGES = {"power": (16, 31), "thermal": (32, 47), "executor": (48, 79),
               "supervisor": (80, 111), "comms": (112, 127)}
_MODES = tuple(MODE_RANK)
_AP_STATES = ("ACTIVE", "PASSIVE", "DISABLED")  # flightsw/apps/supervisor/limits.py AP_STATES


@dataclass(frozen=True, slots=True)
class _Arg:
    kind: str  # "str" | "int" | "bool"
    required: bool = True
    choices: tuple[str, ...] | None = None
    lo: int = 0
    hi: int = 0
    maxlen: int = 64

    def expected(self) -> str:
        if self.kind == "bool":
            return "true or false"
        if self.kind == "int":
            return f"an integer in [{self.lo}, {self.hi}]"
        if self.choices is not None:
            return f"one of {list(self.choices)}"
        return f"a string of 1..{self.maxlen} characters"

    def check(self, v: Any) -> bool:
        if self.kind == "bool":
            return type(v) is bool
        if self.kind == "int":
            return type(v) is int and self.lo <= v <= self.hi
        return (type(v) is str and 1 <= len(v) <= self.maxlen
                and (self.choices is None or v in self.choices))


_TABLE = {"table": _Arg("str", maxlen=32)}
ARGS: dict[Opcode, dict[str, _Arg]] = {
    Opcode.NOOP: {},
    Opcode.RESET_COUNTERS: {},
    Opcode.TABLE_ACTIVATE: _TABLE,
    Opcode.TABLE_DUMP: _TABLE,
    Opcode.TABLE_ABORT: _TABLE,
    Opcode.POWER_SET_MODE_LIMIT: {"mode": _Arg("str", choices=_MODES)},
    Opcode.THERMAL_SET_HEATERS: {"enabled": _Arg("bool")},
    Opcode.EXEC_CANCEL_JOB: {"job_id": _Arg("str")},
    Opcode.EXEC_BOARD_SERVICE: {"board": _Arg("int", lo=0, hi=1023), "in_service": _Arg("bool")},
    Opcode.SUP_SET_MODE: {"mode": _Arg("str", choices=_MODES),
                          "reason": _Arg("str", required=False, maxlen=200)},
    Opcode.SUP_START_SEQUENCE: {"name": _Arg("str", maxlen=32)},
    Opcode.SUP_CANCEL_SEQUENCE: {"name": _Arg("str", maxlen=32)},
    Opcode.SUP_SET_ACTIONPOINT: {"id": _Arg("str", maxlen=32), "state": _Arg("str", choices=_AP_STATES)},
    Opcode.SUP_SET_WATCHPOINT: {"id": _Arg("str", maxlen=32), "enabled": _Arg("bool")},
    Opcode.SUP_RESET_RESTARTS: {"process": _Arg("str", maxlen=32)},
    Opcode.COMMS_ACTIVATE_KEY: {"key_id": _Arg("int", lo=1, hi=65535)},
}


def _targets(op: Opcode) -> tuple[str, ...]:
    if op <= _COMMON_MAX:
        return ONBOARD_APPS
    return tuple(app for app, (lo, hi) in _APP_RANGES.items() if lo <= op <= hi and app in ONBOARD_APPS)


COMMAND_NAMES = tuple(sorted(f"{t}.{op.name}" for op in ARGS for t in _targets(op)))


class CommandError(ValueError):
    """A bad command request. ``field`` ("name" or "args.<key>") names what is wrong."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field


@dataclass(frozen=True, slots=True)
class ResolvedCommand:
    name: str  # "target.OPCODE_NAME"
    target: str
    opcode: int
    args: dict
    critical: bool


def _split(name: Any) -> tuple[str, Opcode]:
    if not isinstance(name, str) or name.count(".") != 1:
        raise CommandError("name", f"expected 'target.OPCODE_NAME' (e.g. power.NOOP), got {name!r:.80}")
    target, op_name = name.split(".")
    if target not in ONBOARD_APPS:
        raise CommandError("name", f"target: expected one of {list(ONBOARD_APPS)}, got {target!r:.40}")
    op = Opcode.__members__.get(op_name)
    if op is None or op not in ARGS:
        raise CommandError("name", f"opcode: expected one of {[o.name for o in ARGS]}, got {op_name!r:.40}")
    if target not in _targets(op):
        raise CommandError("name", f"opcode {op.name} goes to {list(_targets(op))}, not {target!r}")
    return target, op


def resolve(name: Any, args: Any) -> ResolvedCommand:
    """Check a command request -> ResolvedCommand; raises CommandError naming the field."""
    target, op = _split(name)
    if args is None:
        args = {}
    if not isinstance(args, Mapping):
        raise CommandError("args", f"expected an object of arguments, got {type(args).__name__}")
    spec = ARGS[op]
    for key in args:
        if key not in spec:
            raise CommandError(f"args.{key}", f"unknown argument for {op.name}; expected one of {list(spec)}")
    out = {}
    for key, arg in spec.items():
        if key not in args:
            if arg.required:
                raise CommandError(f"args.{key}", f"expected {arg.expected()}, got nothing")
            continue
        if not arg.check(args[key]):
            raise CommandError(f"args.{key}", f"expected {arg.expected()}, got {args[key]!r:.60}")
        out[key] = args[key]
    return ResolvedCommand(name, target, int(op), out, op in CRITICAL_OPCODES)


def coerce_text_args(name: str, pairs: Mapping[str, str]) -> dict:
    """``key=value`` texts from a command line -> typed args, by the opcode's argument
    types (an unknown name or key keeps its text: :func:`resolve` names the problem)."""
    try:
        _, op = _split(name)
    except CommandError:
        return dict(pairs)
    out: dict[str, Any] = {}
    for key, text in pairs.items():
        arg = ARGS[op].get(key)
        if arg is not None and arg.kind == "bool" and text.lower() in ("true", "false", "1", "0"):
            out[key] = text.lower() in ("true", "1")
        elif arg is not None and arg.kind == "int" and text.lstrip("-").isdigit():
            out[key] = int(text)
        else:
            out[key] = text
    return out
