"""A command as the supervisor's tables hold it (actionpoint actions, sequence steps).

A :class:`CommandSpec` names a target app, an opcode and scalar arguments. It checks
what can be checked before it is ever sent: a known app, an opcode in that app's range
(flightsw.icd.messages.Opcode: 0-4 every app answers, then one range per app) and
arguments the ICD can carry. It does not check an argument's meaning: the target does
that when it runs the command, and answers VALIDATION_ERROR if it disagrees.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flightsw.apps.framework import TableError
from flightsw.icd.messages import MAX_NAME, AppCommand

__all__ = ["CommandSpec", "TARGET_OPCODES", "COMMON_OPCODES", "MAX_ARGS", "make_cmd_id"]

COMMON_OPCODES = range(0, 5)  # NOOP, RESET_COUNTERS, TABLE_ACTIVATE, TABLE_DUMP, TABLE_ABORT
# each app's own opcode range (Opcode's comments); comms has no app commands of its own yet
TARGET_OPCODES: dict[str, range] = {
    "comms": range(0),
    "executor": range(48, 80),
    "power": range(16, 32),
    "supervisor": range(80, 112),
    "thermal": range(32, 48),
}
MAX_ARGS = 32  # AppCommand.args holds at most this many
CMD_IDS_PER_TICK = 1 << 16


def make_cmd_id(tick: int, n: int) -> int:
    """A command id unique across supervisor restarts: apps ignore a repeated (source,
    cmd_id), so a restarted supervisor counting from 1 again would be silently ignored.
    ``n``: the number of commands sent earlier in the same tick (< 65536)."""
    return tick * CMD_IDS_PER_TICK + n % CMD_IDS_PER_TICK + 1


@dataclass(frozen=True)
class CommandSpec:
    """target: app name; opcode: in COMMON_OPCODES or the target's range; args: str ->
    int | float | str | bool (at most MAX_ARGS)."""

    target: str = ""
    opcode: int = 0
    args: dict = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.target not in TARGET_OPCODES:
            raise TableError(f"command.target: expected one of {sorted(TARGET_OPCODES)}, got {self.target!r}")
        own = TARGET_OPCODES[self.target]
        if self.opcode not in COMMON_OPCODES and self.opcode not in own:
            ranges = "0-4" + (f" or {own.start}-{own.stop - 1}" if own else "")
            raise TableError(f"command.opcode: expected {ranges} for {self.target}, got {self.opcode}")
        if not isinstance(self.args, dict) or len(self.args) > MAX_ARGS:
            raise TableError(f"command.args: expected an object of at most {MAX_ARGS} entries, "
                             f"got {type(self.args).__name__} of {len(self.args) if isinstance(self.args, dict) else '?'}")
        for k, v in self.args.items():
            if type(k) is not str or not k or len(k) > MAX_NAME:
                raise TableError(f"command.args: expected names of 1..{MAX_NAME} characters, got {k!r}")
            if type(v) not in (int, float, str, bool):
                raise TableError(f"command.args.{k}: expected a number, string or boolean, got {type(v).__name__}")

    def to_app_command(self, cmd_id: int, source: str) -> AppCommand:
        args: dict[str, Any] = dict(self.args)
        return AppCommand(self.target, self.opcode, cmd_id, source[:MAX_NAME], args)

    def describe(self) -> str:
        return f"{self.target} opcode {self.opcode}" + (f" {dict(sorted(self.args.items()))}" if self.args else "")
