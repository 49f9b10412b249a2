"""Job executor core: the job ledger's state machine, board assignment, payloads.

Pure in the sense of DESIGN.md §5: no sockets, files or clocks. Durable effects are
returned as store operations (``StoreOp``) that the shell applies to the sqlite ledger
BEFORE it sends the messages of the same step, so nothing is acknowledged before it is
stored. Result bytes live in the ledger, not here: the core asks for them with
:class:`OfferResult` items that the shell fills in from the store.

Work accounting: the world reports, per board, the work done in the last tick and the
job it was working on; the core credits that job if it is still running. So commands
in flight (one tick of latency each way) never misattribute work.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field

from flightsw.apps.executor.payloads import PAYLOADS, PayloadCorrupted, run_payload
from flightsw.icd.messages import (
    BoardCommand,
    BoardSensors,
    Event,
    ExecutorStatus,
    JobAck,
    JobSpec,
    JobState,
    Mode,
    PowerBudget,
    ResultAck,
    ResultNak,
    ResultResync,
    Severity,
    ThermalCaps,
)
from flightsw.icd.results import sha256_digest
from flightsw.sched.types import BoardModel, JobView, Plan

__all__ = [
    "ExecutorCore",
    "ExecInputs",
    "Job",
    "AddJob",
    "SetState",
    "Checkpoint",
    "StoreResult",
    "MarkDownlinked",
    "OfferResult",
    "DiscardResult",
    "OfferResults",
    "STATUS_EVERY_TICKS",
]

STATUS_EVERY_TICKS = 10
MAX_RERUNS = 2
PLAN_MARGIN_W = 10.0  # [W] plan this far below the budget, so noise does not re-plan
REPLAN_RISE_W = 30.0  # [W] re-plan when the budget rose this much since the last plan
REPLAN_EVERY_TICKS = 60  # and at least this often  # a job whose result fails its check this often more ends FAILED
COMMAND_HEARTBEAT_TICKS = 10
COMMS = "comms"


# ---------------------------------------------------------------- store operations
@dataclass(frozen=True)
class AddJob:
    spec: JobSpec
    state: str
    reason: str
    t_ns: int


@dataclass(frozen=True)
class SetState:
    job_id: str
    state: str
    t_ns: int
    reason: str = ""


@dataclass(frozen=True)
class Checkpoint:
    progress_gpu_s: dict[str, float]
    t_ns: int


@dataclass(frozen=True)
class StoreResult:
    job_id: str
    kind: str
    data: bytes
    sha256: bytes
    t_ns: int
    work_gpu_s: float


@dataclass(frozen=True)
class MarkDownlinked:
    job_id: str
    t_ns: int


@dataclass(frozen=True)
class DiscardResult:
    """Store: drop the unacknowledged result; the job goes back to the queue, no progress."""

    job_id: str
    t_ns: int
    reason: str


@dataclass(frozen=True)
class OfferResult:
    """Shell: send the stored result of ``job_id`` to comms."""

    job_id: str


@dataclass(frozen=True)
class OfferResults:
    """Shell: send unacknowledged results, oldest first, up to ``max_bytes``, skipping ``skip``."""

    max_bytes: int
    skip: frozenset[str] = frozenset()


# ------------------------------------------------------------------------ state
@dataclass
class Job:
    spec: JobSpec
    order_no: int
    state: str  # ACCEPTED, STARTED, PREEMPTED, or a terminal state
    progress_gpu_s: float = 0.0
    checkpoint_gpu_s: float = 0.0
    checkpoint_t_ns: int = 0
    boards: tuple[int, ...] = ()
    upsets: int = 0  # bit flips the boards reported in this run of the job
    reruns: int = 0  # times a corrupted result sent it back to the queue
    _view: JobView | None = None

    @property
    def active(self) -> bool:
        return self.state in ("ACCEPTED", "STARTED", "PREEMPTED")

    def set_boards(self, boards: tuple[int, ...]) -> None:
        if boards != self.boards:
            self.boards = boards
            self._view = None

    def view(self) -> JobView:
        """What the policy sees; cached while the job waits (nothing about it changes)."""
        if self._view is not None and not self.boards:
            return self._view
        s = self.spec
        self._view = JobView(s.job_id, self.order_no, s.priority, s.deadline_t_ns, s.boards_needed,
                             max(0.0, s.work_gpu_s - self.progress_gpu_s), self.boards)
        return self._view


@dataclass(frozen=True)
class ExecInputs:
    budget: PowerBudget | None = None
    caps: ThermalCaps | None = None
    boards: BoardSensors | None = None
    submits: Sequence[JobSpec] = ()
    acks: Sequence[ResultAck] = ()
    naks: Sequence[ResultNak] = ()
    resync: ResultResync | None = None


@dataclass
class ExecutorCore:
    model: BoardModel
    policy: Callable[..., Plan]
    seed: int = 0
    jobs: dict[str, Job] = field(default_factory=dict)
    live: dict[str, Job] = field(default_factory=dict)  # the active subset of jobs
    running: dict[str, Job] = field(default_factory=dict)  # the STARTED subset
    unacked: set[str] = field(default_factory=set)  # results stored, not yet confirmed
    budget: PowerBudget | None = None
    caps: ThermalCaps | None = None
    started_up: bool = False
    caps_w: tuple[float, ...] = ()  # the last plan's per-board caps [W]
    work_done_gpu_s: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)
    _next_order: int = 1
    _next_deadline_ns: int = -1  # no job expires before this; recomputed when reached
    _view_list: list | None = None
    _view_pos: dict = field(default_factory=dict)
    _view_keys: int = -1
    _view_stale: bool = True
    _last_cmd: BoardCommand | None = None
    _replan: bool = True
    _cmd_dirty: bool = True
    _planned_w: float = 0.0
    _planned_tick: int = -(10**9)
    tick: int = 0
    _last_cmd_tick: int = -(10**9)

    # -------------------------------------------------------------- restore
    def restore(self, rows, unacked_ids: Sequence[str]) -> None:
        """Rebuild from the ledger after a (re)start: work since the last checkpoint is lost."""
        for r in rows:
            state = "PREEMPTED" if r.state == "STARTED" else r.state
            job = Job(r.spec, r.order_no, state, r.checkpoint_gpu_s, r.checkpoint_gpu_s)
            self.jobs[r.spec.job_id] = job
            if job.active:
                self.live[r.spec.job_id] = job
            self._next_order = max(self._next_order, r.order_no + 1)
            self.counts[r.state] = self.counts.get(r.state, 0) + 1
        self.unacked = set(unacked_ids)

    # ------------------------------------------------------------------ step
    def step(self, tick: int, t_ns: int, inp: ExecInputs) -> tuple[list, list]:
        """One control period -> (store ops, outgoing items). Apply ops, then send outs."""
        ops: list = []
        outs: list = []
        self.tick = tick
        if inp.budget is not None:
            self.budget = inp.budget
        if inp.caps is not None and len(inp.caps.cap_w) == self.model.n_boards:
            if inp.caps != self.caps:
                self._replan = True
            self.caps = inp.caps
        self._credit_work(inp.boards)
        self._complete(t_ns, ops, outs)
        for spec in inp.submits:
            self._submit(spec, t_ns, ops, outs)
        for ack in inp.acks:
            if ack.job_id in self.unacked:
                self.unacked.discard(ack.job_id)
                ops.append(MarkDownlinked(ack.job_id, t_ns))  # stores state and history
                self._set(ack.job_id, "DOWNLINKED", t_ns, "", ops, outs, report=False, store=False)
        for nak in inp.naks:
            self._nak(nak, t_ns, ops, outs)
        self._expire(t_ns, ops, outs)
        self._plan(t_ns, ops, outs)
        self._checkpoint(t_ns, ops)
        if inp.resync is not None or not self.started_up:
            self.started_up = True
            if self.unacked:
                r = inp.resync or ResultResync("executor start")
                outs.append(OfferResults(r.max_bytes, frozenset(r.skip)))
        # The world holds the last command: send it when the plan changed it, and as a
        # heartbeat (every change of boards or caps goes through a new plan).
        heartbeat = tick - self._last_cmd_tick >= COMMAND_HEARTBEAT_TICKS
        if self._cmd_dirty or heartbeat:
            self._cmd_dirty = False
            cmd = self._board_command()
            if cmd != self._last_cmd or heartbeat:
                self._last_cmd, self._last_cmd_tick = cmd, tick
                outs.append(cmd)
        if tick % STATUS_EVERY_TICKS == 0:
            outs.append(self._status())
        return ops, outs

    # --------------------------------------------------------------- pieces
    def _credit_work(self, sensors: BoardSensors | None) -> None:
        if sensors is None:
            return
        upsets = sensors.upset or (0,) * len(sensors.job_id)
        for job_id, work, hit in zip(sensors.job_id, sensors.work_gpu_s, upsets, strict=False):
            job = self.jobs.get(job_id) if job_id else None
            if job is not None and job.state == "STARTED" and work > 0.0:
                job.progress_gpu_s += work
                job.upsets += hit
                self.work_done_gpu_s += work

    def _complete(self, t_ns: int, ops: list, outs: list) -> None:
        for job in self._running():
            if job.progress_gpu_s + 1e-9 < job.spec.work_gpu_s:
                continue
            spec = job.spec
            try:
                data = run_payload(spec.kind, spec.job_id, spec.params, spec.output_bytes, spec.seed,
                                   job.upsets)
            except PayloadCorrupted as exc:  # the result's own check caught an upset: run again
                job.set_boards(())
                if job.reruns >= MAX_RERUNS:
                    self._set(spec.job_id, "FAILED", t_ns, f"result corrupted {job.reruns + 1} times: {exc}",
                              ops, outs)
                    continue
                job.reruns += 1
                job.upsets = 0
                job.progress_gpu_s = job.checkpoint_gpu_s = 0.0  # a checkpoint may hold the flip
                ops.append(Checkpoint({spec.job_id: 0.0}, t_ns))
                outs.append(Event(int(Severity.WARNING_HI), "executor.result_corrupted",
                                  f"{spec.job_id}: {exc}; rerun {job.reruns} of {MAX_RERUNS}"[:512]))
                self._set(spec.job_id, "PREEMPTED", t_ns, "result failed its check: rerun", ops, outs)
                continue
            except Exception as exc:  # payload refused: the job fails
                job.set_boards(())
                self._set(spec.job_id, "FAILED", t_ns, f"payload: {exc}", ops, outs)
                continue
            digest = sha256_digest(data)
            ops.append(StoreResult(spec.job_id, spec.kind, data, digest, t_ns, job.progress_gpu_s))
            job.set_boards(())
            self._count(job.state, "COMPLETED")
            job.state = "COMPLETED"
            self._view_stale = True
            self.live.pop(spec.job_id, None)
            self.running.pop(spec.job_id, None)
            self.unacked.add(spec.job_id)
            outs.append(JobState(spec.job_id, "COMPLETED", "", min(job.progress_gpu_s, 1e8)))
            outs.append(OfferResult(spec.job_id))

    def _nak(self, nak: ResultNak, t_ns: int, ops: list, outs: list) -> None:
        """The ground proved a stored result wrong: discard it and run the job again."""
        job = self.jobs.get(nak.job_id)
        if job is None or nak.job_id not in self.unacked:
            return
        self.unacked.discard(nak.job_id)
        outs.append(Event(int(Severity.WARNING_HI), "executor.result_rejected_by_ground",
                          f"{nak.job_id}: {nak.reason}"[:512]))
        if job.reruns >= MAX_RERUNS:
            ops.append(DiscardResult(nak.job_id, t_ns, f"ground: {nak.reason}"[:256]))
            self._set(nak.job_id, "FAILED", t_ns, f"result rejected by the ground {job.reruns + 1} times",
                      ops, outs)
            return
        job.reruns += 1
        job.upsets = 0
        job.progress_gpu_s = job.checkpoint_gpu_s = 0.0
        ops.append(DiscardResult(nak.job_id, t_ns, f"ground: {nak.reason}"[:256]))
        self._set(nak.job_id, "PREEMPTED", t_ns, "result rejected by the ground: rerun", ops, outs,
                  store=False)

    def _submit(self, spec: JobSpec, t_ns: int, ops: list, outs: list) -> None:
        known = self.jobs.get(spec.job_id)
        if known is not None:  # idempotent by id: repeat the answer, change nothing
            accepted = known.state != "REJECTED"
            outs.append(JobAck(spec.job_id, accepted, "duplicate"))
            return
        reason = self._refusal(spec, t_ns)
        state = "REJECTED" if reason else "ACCEPTED"
        ops.append(AddJob(spec, state, reason, t_ns))
        job = Job(spec, self._next_order, state, checkpoint_t_ns=t_ns)
        self._view_stale = True
        self.jobs[spec.job_id] = job
        if job.active:
            self.live[spec.job_id] = job
            if spec.deadline_t_ns >= 0:
                self._next_deadline_ns = min(self._next_deadline_ns, spec.deadline_t_ns)
        self._next_order += 1
        self.counts[state] = self.counts.get(state, 0) + 1
        outs.append(JobAck(spec.job_id, not reason, reason))
        if reason:
            outs.append(Event(int(Severity.WARNING_LO), "executor.job_rejected", f"{spec.job_id}: {reason}"))

    def _refusal(self, spec: JobSpec, t_ns: int) -> str:
        if spec.kind not in PAYLOADS:
            return f"kind: expected one of {sorted(PAYLOADS)}, got {spec.kind!r}"
        if spec.boards_needed > self.model.n_boards:
            return f"boards_needed: expected <= {self.model.n_boards}, got {spec.boards_needed}"
        if 0 <= spec.deadline_t_ns <= t_ns:
            return f"deadline_t_ns: expected after now ({t_ns}), got {spec.deadline_t_ns}"
        if spec.kind == "matmul":
            n = spec.params.get("n", 64)
            if type(n) is not int or not 1 <= n <= 512:
                return f"params.n: expected an integer in [1, 512], got {n!r}"
        return ""

    def _expire(self, t_ns: int, ops: list, outs: list) -> None:
        if t_ns < self._next_deadline_ns:
            return
        upcoming = []
        for job in list(self.live.values()):
            deadline = job.spec.deadline_t_ns
            if deadline < 0:
                continue
            if deadline > t_ns:
                upcoming.append(deadline)
                continue
            job.set_boards(())
            self._set(job.spec.job_id, "EXPIRED", t_ns,
                      f"deadline passed with {job.progress_gpu_s:.0f} of {job.spec.work_gpu_s:.0f} GPU-s done",
                      ops, outs)
        self._next_deadline_ns = min(upcoming, default=2**62)

    def _plan(self, t_ns: int, ops: list, outs: list) -> None:
        if self.budget is None or self.caps is None:
            return
        budget_w = self.budget.compute_budget_w if self.budget.mode != Mode.SAFE.value else 0.0
        # Plan with a small margin below the budget, then re-plan only when something moved:
        # the jobs, the thermal caps, the budget falling below what is commanded or rising
        # well above what was planned for (sensor noise alone does not re-plan every tick).
        commanded_w = sum(math.floor(c) for c in self.caps_w)
        if not (self._replan or self._view_stale or budget_w < commanded_w
                or budget_w > self._planned_w + REPLAN_RISE_W
                or self.tick - self._planned_tick >= REPLAN_EVERY_TICKS):
            return
        self._replan = False
        self._planned_w, self._planned_tick = budget_w, self.tick
        views = self._views()
        plan = self.policy(views, max(0.0, budget_w - PLAN_MARGIN_W), self.caps.cap_w, self.model)
        self.caps_w = plan.cap_w
        self._cmd_dirty = True
        preempted = {}
        for job in self._running():
            if job.spec.job_id not in plan.assignments:
                job.set_boards(())
                preempted[job.spec.job_id] = job.progress_gpu_s
                self._set(job.spec.job_id, "PREEMPTED", t_ns, "budget or thermal", ops, outs)
        if preempted:
            ops.append(Checkpoint(preempted, t_ns))
            for job_id in preempted:
                self.jobs[job_id].checkpoint_gpu_s = preempted[job_id]
                self.jobs[job_id].checkpoint_t_ns = t_ns
        for job_id, boards in plan.assignments.items():
            job = self.jobs[job_id]
            if job.state != "STARTED":
                self._set(job_id, "STARTED", t_ns, "", ops, outs)
            job.set_boards(boards)

    def _views(self) -> list[JobView]:
        """What the policy sees, in acceptance order. The list is rebuilt only when the
        set of live jobs changes; running jobs' entries are refreshed every tick."""
        if self._view_list is None or self._view_keys != len(self.live) or self._view_stale:
            self._view_list = [j.view() for j in self.live.values()]
            self._view_pos = {j.spec.job_id: i for i, j in enumerate(self.live.values())}
            self._view_keys = len(self.live)
            self._view_stale = False
        for job in self.running.values():
            self._view_list[self._view_pos[job.spec.job_id]] = job.view()
        return self._view_list

    def _checkpoint(self, t_ns: int, ops: list) -> None:
        due = {}
        for job in self._running():
            interval_ns = int(job.spec.checkpoint_interval_s * 1e9)
            if interval_ns > 0 and t_ns - job.checkpoint_t_ns >= interval_ns:
                due[job.spec.job_id] = job.progress_gpu_s
                job.checkpoint_gpu_s = job.progress_gpu_s
                job.checkpoint_t_ns = t_ns
        if due:
            ops.append(Checkpoint(due, t_ns))

    def _board_command(self) -> BoardCommand:
        n = self.model.n_boards
        job_ids = [""] * n
        caps = list(self.caps_w or (0.0,) * n)
        for job in self._running():
            for b in job.boards:
                job_ids[b] = job.spec.job_id
        for b in range(n):
            # whole watts, rounded down (the sum stays within the budget): the command then
            # changes only when the plan does, not with every watt of sensor noise
            caps[b] = float(math.floor(caps[b])) if job_ids[b] else 0.0
        on = tuple(1 if j else 0 for j in job_ids)  # boards without work are switched off
        return BoardCommand(cap_w=tuple(caps), job_id=tuple(job_ids), on=on)

    def _status(self) -> ExecutorStatus:
        running = list(self._running())
        c = self.counts
        return ExecutorStatus(
            jobs_queued=sum(1 for j in self.live.values() if j.state in ("ACCEPTED", "PREEMPTED")),
            jobs_running=len(running),
            jobs_completed=c.get("COMPLETED", 0) + c.get("DOWNLINKED", 0),
            jobs_downlinked=c.get("DOWNLINKED", 0),
            jobs_failed=c.get("FAILED", 0),
            jobs_expired=c.get("EXPIRED", 0),
            boards_busy=sum(len(j.boards) for j in running),
            power_alloc_w=float(sum(self.caps_w)),
            work_done_gpu_s=self.work_done_gpu_s,
        )

    # -------------------------------------------------------------- helpers
    def _running(self):
        return list(self.running.values())  # in the order they started

    def _count(self, old: str, new: str) -> None:
        if old in ("COMPLETED", "FAILED", "EXPIRED", "DOWNLINKED", "REJECTED", "CANCELLED"):
            self.counts[old] = self.counts.get(old, 0) - 1
        self.counts[new] = self.counts.get(new, 0) + 1

    def _set(self, job_id: str, state: str, t_ns: int, reason: str, ops: list, outs: list,
             report: bool = True, store: bool = True) -> None:
        job = self.jobs[job_id]
        self._count(job.state, state)
        job.state = state
        self._view_stale = True
        if job.active:
            self.live[job_id] = job
        else:
            self.live.pop(job_id, None)
        if state == "STARTED":
            self.running[job_id] = job
        else:
            self.running.pop(job_id, None)
        if store:
            ops.append(SetState(job_id, state, t_ns, reason))
        if report:
            outs.append(JobState(job_id, state, reason[:256], min(job.progress_gpu_s, 1e8)))
