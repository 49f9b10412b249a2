"""Stored command sequences (after F Prime's command sequencer and cFS SC).

A sequence is a named list of steps, each a command with a time tag: ``at_s`` seconds
after the sequence starts (relative) or ``at_t_s`` seconds since the scenario epoch
(absolute, sim time = t_ns / 1e9). The table checks each sequence on load; SUP_START_SEQUENCE
checks it again against the start time (every resolved time in order, no absolute time
in the past) and refuses it whole, naming the step and the field, before anything runs.

Running: one sequence at a time (another start is BUSY). A step is sent as an AppCommand
(source ``seq:<name>``, a unique cmd_id) at the first tick at or after its time once the
previous step was answered OK. So a time tag means "not before": a command's answer
comes back one lockstep tick after the target ran it (two ticks after it was sent), and
the next step waits for it. The sequence aborts (WARNING_HI event naming the step and the
answer) on an answer other than OK or on no answer within ``response_timeout_ticks``;
SUP_CANCEL_SEQUENCE stops it between steps.

Left out: a running sequence does not survive a supervisor restart (it is not resumed;
the restarted supervisor reports no sequence running), and steps cannot branch or wait
on telemetry.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flightsw.apps.framework import CommandError, TableError
from flightsw.apps.supervisor.commands import CommandSpec
from flightsw.apps.supervisor.limits import check_id
from flightsw.icd.messages import AppCommand, CmdStatus, CommandResponse, Severity

__all__ = ["SequenceStep", "StoredSequence", "SequenceTable", "Sequencer", "NS_PER_S", "MAX_STEPS"]

NS_PER_S = 1_000_000_000
MAX_STEPS = 256
MAX_SEQUENCES = 64
SOURCE_PREFIX = "seq:"

Note = tuple[Severity, str, str]  # (severity, event name, text) for the core to emit


@dataclass(frozen=True)
class SequenceStep:
    command: CommandSpec | None = None
    at_s: float | None = None  # [s] after the start of the sequence
    at_t_s: float | None = None  # [s] since the scenario epoch

    def __post_init__(self) -> None:
        if not isinstance(self.command, CommandSpec):
            raise TableError(f"command: expected a command table, got {self.command!r}")
        if (self.at_s is None) == (self.at_t_s is None):
            raise TableError(f"expected exactly one of at_s (relative) or at_t_s (absolute), "
                             f"got at_s={self.at_s!r}, at_t_s={self.at_t_s!r}")
        for name in ("at_s", "at_t_s"):
            v = getattr(self, name)
            if v is not None and (type(v) not in (int, float) or not math.isfinite(v) or v < 0.0):
                raise TableError(f"{name}: expected a finite number >= 0 [s], got {v!r}")


@dataclass(frozen=True)
class StoredSequence:
    name: str = ""
    steps: tuple[SequenceStep, ...] = ()

    def __post_init__(self) -> None:
        check_id("sequence name", self.name)
        where = f"sequence {self.name!r}"
        if not 1 <= len(self.steps) <= MAX_STEPS:
            raise TableError(f"{where}: steps: expected 1..{MAX_STEPS} steps, got {len(self.steps)}")
        last: dict[str, float] = {}
        for i, s in enumerate(self.steps):
            if not isinstance(s, SequenceStep):
                raise TableError(f"{where}: steps[{i}]: expected a step table, got {type(s).__name__}")
            kind = "at_s" if s.at_s is not None else "at_t_s"
            t = s.at_s if s.at_s is not None else s.at_t_s
            if kind in last and t < last[kind]:
                raise TableError(f"{where}: steps[{i}].{kind}: expected times in order, "
                                 f"got {t} after {last[kind]}")
            last[kind] = t

    def plan(self, start_t_ns: int) -> tuple[int, ...]:
        """When each step falls due [ns since epoch], for a start at ``start_t_ns``;
        raises CommandError VALIDATION_ERROR naming the step and field if the resolved
        times are out of order or an absolute time is already past."""
        due: list[int] = []
        for i, s in enumerate(self.steps):
            if s.at_s is not None:
                t = start_t_ns + round(s.at_s * NS_PER_S)
            else:
                t = round(s.at_t_s * NS_PER_S)
                if t < start_t_ns:
                    raise CommandError(CmdStatus.VALIDATION_ERROR,
                                       f"sequence {self.name}: steps[{i}].at_t_s: expected a time not before "
                                       f"the start ({start_t_ns / NS_PER_S} s), got {s.at_t_s} s")
            if due and t < due[-1]:
                field_name = "at_s" if s.at_s is not None else "at_t_s"
                raise CommandError(CmdStatus.VALIDATION_ERROR,
                                   f"sequence {self.name}: steps[{i}].{field_name}: expected a time not before "
                                   f"steps[{i - 1}] ({due[-1] / NS_PER_S} s), got {t / NS_PER_S} s")
            due.append(t)
        return tuple(due)


@dataclass(frozen=True)
class SequenceTable:
    entries: tuple[StoredSequence, ...] = ()

    def __post_init__(self) -> None:
        if len(self.entries) > MAX_SEQUENCES:
            raise TableError(f"sequences.entries: expected at most {MAX_SEQUENCES}, got {len(self.entries)}")
        seen: set[str] = set()
        for i, s in enumerate(self.entries):
            if not isinstance(s, StoredSequence):
                raise TableError(f"sequences.entries[{i}]: expected a sequence table, got {type(s).__name__}")
            if s.name in seen:
                raise TableError(f"sequences.entries[{i}].name: expected a unique name, got {s.name!r} twice")
            seen.add(s.name)

    def get(self, name: str) -> StoredSequence | None:
        return next((s for s in self.entries if s.name == name), None)


@dataclass
class _Run:
    seq: StoredSequence
    due_ns: tuple[int, ...]
    index: int = 0
    waiting: int | None = None  # cmd_id of the step sent and not yet answered
    sent_tick: int = 0

    @property
    def source(self) -> str:
        return SOURCE_PREFIX + self.seq.name

    def where(self) -> str:
        return f"step {self.index + 1} of {len(self.seq.steps)} ({self.seq.steps[self.index].command.describe()})"


@dataclass
class Sequencer:
    response_timeout_ticks: int = 10
    run: _Run | None = None
    started: int = 0
    completed: int = 0
    aborted: int = 0
    cancelled: int = 0

    def current(self) -> str:
        return self.run.seq.name if self.run is not None else ""

    def start(self, seq: StoredSequence, t_ns: int) -> str:
        """Validate against the start time and start; raises CommandError (BUSY,
        VALIDATION_ERROR). -> the detail text for the command response."""
        if self.run is not None:
            raise CommandError(CmdStatus.BUSY, f"sequence {self.run.seq.name} is running; "
                                               f"cancel it first or wait for it to end")
        due = seq.plan(t_ns)
        self.run = _Run(seq, due)
        self.started += 1
        return f"sequence {seq.name} started: {len(seq.steps)} step(s)"

    def cancel(self, name: str) -> str:
        if self.run is None or self.run.seq.name != name:
            raise CommandError(CmdStatus.EXECUTION_ERROR,
                               f"args.name: expected the running sequence ({self.current() or 'none'}), got {name!r}")
        where = self.run.where()
        self.run = None
        self.cancelled += 1
        return f"sequence {name} cancelled before {where}"

    def on_response(self, resp: CommandResponse) -> list[Note]:
        run = self.run
        if run is None or run.waiting is None or resp.cmd_id != run.waiting or resp.source != run.source:
            return []
        if resp.status != CmdStatus.OK.value:
            return self._abort(f"{run.where()}: {resp.status}: {resp.detail}")
        run.waiting = None
        run.index += 1
        if run.index == len(run.seq.steps):
            self.run = None
            self.completed += 1
            return [(Severity.ACTIVITY_HI, "supervisor.sequence_completed",
                     f"sequence {run.seq.name}: {len(run.seq.steps)} step(s) done")]
        return []

    def step(self, tick: int, t_ns: int, cmd_id: int) -> tuple[AppCommand | None, list[Note]]:
        """-> (the command to send now, if a step falls due, with ``cmd_id``; notes)."""
        run = self.run
        if run is None:
            return None, []
        if run.waiting is not None:
            if tick - run.sent_tick >= self.response_timeout_ticks:
                return None, self._abort(f"{run.where()}: no answer in {self.response_timeout_ticks} ticks")
            return None, []
        if run.due_ns[run.index] > t_ns:
            return None, []
        run.waiting, run.sent_tick = cmd_id, tick
        return run.seq.steps[run.index].command.to_app_command(cmd_id, run.source), []

    def _abort(self, why: str) -> list[Note]:
        name = self.run.seq.name
        self.run = None
        self.aborted += 1
        return [(Severity.WARNING_HI, "supervisor.sequence_aborted", f"sequence {name} aborted at {why}")]
