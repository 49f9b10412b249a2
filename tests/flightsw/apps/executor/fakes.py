"""A small fake of the world's board bank and a driver for the executor core, for the
executor's tests (plain data, no I/O).

Latency as on the bus: a BoardCommand the core sends at tick k reaches the world at tick
k+1, and what the boards did in tick k+1 reaches the core at tick k+2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flightsw.apps.executor.core import ExecInputs, ExecutorCore
from flightsw.apps.executor.table import ExecutorTable
from flightsw.icd.messages import BoardCommand, BoardSensors, JobState, PowerBudget, ThermalCaps
from flightsw.sched import POLICIES, BoardModel
from tests.flightsw.apps.builders import S, budget, thermal_caps

__all__ = ["MODEL", "N", "FakeBoards", "Sim", "new_core", "table", "of", "reports", "states", "powered"]

MODEL = BoardModel(n_boards=4, max_power_w=100.0, min_power_w=20.0)
N = MODEL.n_boards
OFF, BOOTING, IDLE, ACTIVE, NO_RESPONSE = 0, 1, 2, 3, 5


def table(**overrides) -> ExecutorTable:
    """The executor table for tests: defaults, but free checkpoints and no resume hold-off
    unless a test asks (so work arithmetic stays simple)."""
    values = dict(checkpoint_cost_s=0.0, resume_holdoff_ticks=0)
    values.update(overrides)
    return ExecutorTable(**values)


def new_core(**table_overrides) -> ExecutorCore:
    return ExecutorCore(model=MODEL, policy=POLICIES["fifo"], table=table(**table_overrides))


def powered(**kw) -> ExecInputs:
    """Inputs with a budget and thermal caps that let every board run."""
    return ExecInputs(budget=budget(400.0), caps=thermal_caps((100.0,) * N), **kw)


def of(items, cls) -> list:
    return [i for i in items if isinstance(i, cls)]


def states(outs, job_id: str) -> list[str]:
    return [o.state for o in of(outs, JobState) if o.job_id == job_id]


def reports(outs, job_id: str) -> list[tuple[str, int]]:
    """(state, failure code) of each JobState about ``job_id``."""
    return [(o.state, o.failure_code) for o in of(outs, JobState) if o.job_id == job_id]


@dataclass
class FakeBoards:
    """Boards that do ``rate_gpu_s`` of work per tick on the job they were commanded,
    boot in ``boot_ticks``, and take faults: ``hung`` (ACTIVE, no work, until switched off),
    ``sticky_hang`` (hangs again whenever it is on), ``never_boots`` (stays OFF however
    commanded), ``failed`` (NO_RESPONSE for good), ``pending_hits`` (upsets in the job's
    memory the next tick the board works)."""

    n: int = N
    rate_gpu_s: float = 1.0
    boot_ticks: int = 0
    cmd: BoardCommand | None = None
    hung: set[int] = field(default_factory=set)
    failed: set[int] = field(default_factory=set)
    sticky_hang: set[int] = field(default_factory=set)
    never_boots: set[int] = field(default_factory=set)
    pending_hits: dict[int, int] = field(default_factory=dict)
    booting: dict[int, int] = field(default_factory=dict)  # board -> ticks of boot left
    powered: list[bool] = field(default_factory=list)
    off_ticks_seen: dict[int, int] = field(default_factory=dict)  # board -> ticks switched off

    def __post_init__(self) -> None:
        self.powered = [False] * self.n

    def run(self, cmd: BoardCommand | None) -> BoardSensors:
        """One world tick under ``cmd`` (the last command received) -> its readings."""
        if cmd is not None:
            self.cmd = cmd
        c = self.cmd
        state, work, job, upset = [OFF] * self.n, [0.0] * self.n, [""] * self.n, [0] * self.n
        for b in range(self.n):
            on = c is not None and bool(c.on[b]) and c.cap_w[b] > 0.0
            if b in self.failed:
                state[b] = NO_RESPONSE
                continue
            if b in self.never_boots:
                continue
            if not on:
                if self.powered[b]:
                    self.off_ticks_seen[b] = self.off_ticks_seen.get(b, 0) + 1
                self.powered[b] = False
                self.hung.discard(b)  # a power cycle clears a hang
                self.booting.pop(b, None)
                continue
            if not self.powered[b]:
                self.powered[b] = True
                if self.boot_ticks:
                    self.booting[b] = self.boot_ticks
            if self.booting.get(b, 0) > 0:
                self.booting[b] -= 1
                state[b] = BOOTING
                continue
            if b in self.hung or b in self.sticky_hang:
                state[b] = ACTIVE
                continue
            if c.job_id[b]:
                state[b], work[b], job[b] = ACTIVE, self.rate_gpu_s, c.job_id[b]
                upset[b] = self.pending_hits.pop(b, 0)
            else:
                state[b] = IDLE
        return BoardSensors(temp_c=(40.0,) * self.n, power_w=(50.0,) * self.n, work_gpu_s=tuple(work),
                            job_id=tuple(job), radiator_temp_c=10.0, state=tuple(state), upset=tuple(upset),
                            temp_ok=(1,) * self.n)


class Sim:
    """Drives a core against FakeBoards, tick k at t = k seconds (from tick 1, so status
    reports, every 10th tick, appear only where a test looks for them)."""

    def __init__(self, core: ExecutorCore | None = None, boards: FakeBoards | None = None, tick: int = 1,
                 budget_msg: PowerBudget | None = None, caps: ThermalCaps | None = None) -> None:
        self.core = core or new_core()
        self.boards = boards or FakeBoards()
        self.tick = tick
        self.budget = budget_msg or budget(400.0)
        self.caps = caps or thermal_caps((100.0,) * N)
        self._readings: BoardSensors | None = None
        self._cmd: BoardCommand | None = None
        self.log: list[tuple[int, list, list]] = []  # (tick, ops, outs)

    @property
    def t_ns(self) -> int:
        return self.tick * S

    def step(self, **inputs) -> tuple[list, list]:
        inputs.setdefault("budget", self.budget)
        inputs.setdefault("caps", self.caps)
        ops, outs = self.core.step(self.tick, self.tick * S, ExecInputs(boards=self._readings, **inputs))
        self._readings = self.boards.run(self._cmd)  # the world runs the command sent last tick
        sent = of(outs, BoardCommand)
        self._cmd = sent[-1] if sent else None
        self.log.append((self.tick, ops, outs))
        self.tick += 1
        return ops, outs

    def run(self, ticks: int, **inputs) -> tuple[list, list]:
        """``ticks`` steps; all their ops and outs, concatenated."""
        all_ops, all_outs = [], []
        for _ in range(ticks):
            ops, outs = self.step(**inputs)
            all_ops += ops
            all_outs += outs
        return all_ops, all_outs

    def until(self, predicate, limit: int = 200, **inputs) -> tuple[list, list]:
        """Step until ``predicate(core)`` holds (at most ``limit`` ticks); ops and outs."""
        all_ops, all_outs = [], []
        for _ in range(limit):
            if predicate(self.core):
                return all_ops, all_outs
            ops, outs = self.step(**inputs)
            all_ops += ops
            all_outs += outs
        raise AssertionError(f"condition not reached within {limit} ticks")
