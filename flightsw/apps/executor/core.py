"""Job executor core: the job state machine, board assignment, checkpoints, board
health, result integrity (DESIGN.md §6).

Pure in the sense of DESIGN.md §5: no sockets, files or clocks. The API:

    core = ExecutorCore(model, policy, table)
    core.restore(rows, unacked_ids, boards_out_of_service, counters)   # after a (re)start
    ops, outs = core.step(tick, t_ns, ExecInputs(...))                  # once per tick
    core.cancel(job_id, t_ns) / core.set_board_service(board, on, t_ns)  # commands

``ops`` are store operations (flightsw.apps.executor.ops) that the shell applies to the
sqlite ledger, in order, BEFORE it sends any of ``outs``: nothing is acknowledged or
reported before it is stored. A command's effects (its ops and reports) come out of the
next ``step`` call; the shell calls the command handlers first in the same tick and
sends the command's response after applying that step's ops. ``outs`` are ICD bodies
(JobAck and JobState for comms, BoardCommand for the world, Event, ExecutorStatus) and
OfferResult/OfferResults, which the shell fills in from the store.

Lifecycle (flight half, PUS service 1 style; each stage stored with time, reason and a
JobFailure code, and reported to the ground as JobState): ACCEPTED / REJECTED ->
STARTED -> PROGRESS (a report at each ``progress_report_pct`` of the work, at most one
per job per ``progress_min_ticks``) / PREEMPTED -> COMPLETED / FAILED / EXPIRED /
CANCELLED; then DOWNLINKED when the ground acknowledges the result.

Work accounting: the world reports, per board, the work done in the last tick and the
job it was working on; the core credits that job if it is still running, to the replica
that board belongs to. So commands in flight (one tick of latency each way) never
misattribute work.

Checkpoints: a running job saves its progress every ``checkpoint_interval_s``, and when
it is preempted (so a preemption loses nothing). Saving one, and loading one to resume,
costs ``checkpoint_cost_s`` of the job's board time: the work its boards report in
that time is not credited (time and energy spent, no progress). A crash (restart from
the ledger), a hung board and a board that dies lose the work since the last
checkpoint; the upsets already inside that checkpoint come back with it.

Deadlines: a job ends EXPIRED (code DEADLINE) as soon as its remaining work could not
finish before the deadline even at full power on its boards (remaining GPU-s /
boards_needed > seconds left), not only when the deadline passes.

Load shed: jobs below PowerBudget.min_priority are not given to the policy (running ones
are preempted, with a checkpoint); in SAFE mode every job is preempted.

Planning: the policy (flightsw.sched, pure) is called as ``policy(jobs, budget_w, caps,
model, ctx=PlanContext)``: the context holds the time, the latest PowerBudget's energy
picture and the passes of the contact plan (the "contacts" table, contacts.py) still ahead.
It is called again only when something moved
(jobs, boards, the budget falling below what is commanded or rising by ``replan_rise_w``,
a thermal cap moving by CAPS_REPLAN_W or more, across the boards' minimum power or below
what a board is commanded, or ``replan_every_ticks``), never because of its own starts
and preemptions; its plan is checked before it is used. The budget tests look at the
budget smoothed over ``budget_filter_ticks`` and held within ``budget_band_w`` of the
latest, and within BAND_MAX_FRACTION of it (the budget carries the battery reading's
noise, which alone re-planned nearly every tick in an eclipse); a plan never uses more
than the latest budget. So a drop smaller than the band may stand over what is commanded
for a few ticks (the battery carries that, as it carries the budget in force at an
eclipse entry); a larger one is followed at once. A rise is not planned for when the last
plan ran every usable board at its ceiling with budget to spare (more cannot help). After
the budget pushes a job out, no job starts for ``resume_holdoff_ticks`` (no thrash on a
noisy, falling budget).

Why jobs wait: after each plan every queued job (accepted or preempted, not running) has a
reason (``waits``, one of flightsw.sched.WAIT_REASONS): the plan's ``waiting`` entry when
it gives a known one, else inferred here: SAFE mode, a stale or missing budget -> safe;
below the load-shed priority -> priority; fewer free usable boards than it needs ->
thermal when boards too hot (cap below the minimum power) would make up the difference,
else boards; otherwise energy. A policy's "thermal" becomes "boards" when the boards it
lacks are out of service rather than hot (the policy sees both as a zero cap). They go to
the ground as JobWaits when they change and every ``status_every_ticks``.

Boards: see boards.py (hangs are power-cycled, dead boards taken out of service). A job
that needs more boards than remain in service cannot ever run: it ends FAILED (code
NO_BOARDS), and such a job is refused at acceptance, rather than wait (under a FIFO
policy it would block every job behind it) for an operator who may never put a board back.

Integrity: see integrity.py. A corruption caught on board (ABFT, or two replicas that
differ) sends the job back to the queue from nothing, up to ``max_reruns`` times, then it
ends FAILED (RESULT_CORRUPTED); a corrupted result is never stored or delivered.

Invariants (what a stateful test may check after every step):
- every JobState in ``outs`` has its stage among the same step's ops (AddJob for
  ACCEPTED/REJECTED, StoreResult for COMPLETED, RecordStage for PROGRESS, Rerun or
  DiscardResult for a rerun's PREEMPTED, SetState otherwise);
- running jobs hold disjoint boards, boards_needed x replicas of them, none out of
  service; a BoardCommand never switches on a board without a job;
- a job's progress never exceeds what its boards reported, and never falls except by
  a rollback (hang, dead board, restart) to its checkpoint or a rerun to zero;
- no StoreResult for a matmul or dual job whose replicas carry upsets;
- every accepted job is live (ACCEPTED, STARTED, PREEMPTED) or ends in a final state
  with a reason.
"""

from __future__ import annotations

import math
import types
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from flightsw.apps.executor.boards import BoardAction, BoardHealth
from flightsw.apps.executor.contacts import ContactTable
from flightsw.apps.executor.demand import DemandWindow
from flightsw.apps.executor.integrity import compute_result, dual_param_error, replicas_of
from flightsw.apps.executor.job import NEVER, Job
from flightsw.apps.executor.ops import (
    AddJob,
    Checkpoint,
    CountSdc,
    DiscardResult,
    MarkDownlinked,
    OfferResult,
    OfferResults,
    RecordStage,
    Rerun,
    SaveCounters,
    SetBoardService,
    SetState,
    StoreResult,
)
from flightsw.apps.executor.payloads import PAYLOADS
from flightsw.apps.executor.table import ExecutorTable
from flightsw.apps.framework import CommandError, EventLog
from flightsw.icd.messages import (
    BoardCommand,
    BoardSensors,
    CmdStatus,
    ExecutorStatus,
    JobAck,
    JobFailure,
    JobSpec,
    JobState,
    JobWaits,
    Mode,
    PowerBudget,
    ResultAck,
    ResultNak,
    ResultResync,
    Severity,
    ThermalCaps,
)
from flightsw.icd.results import sha256_digest
from flightsw.sched.power_split import board_caps
from flightsw.sched.types import WAIT_REASONS, BoardModel, JobView, Plan, PlanContext

__all__ = [
    "ExecutorCore",
    "ExecutorStats",
    "ExecInputs",
    "Job",
    "AddJob",
    "SetState",
    "RecordStage",
    "Checkpoint",
    "Rerun",
    "CountSdc",
    "StoreResult",
    "MarkDownlinked",
    "DiscardResult",
    "SetBoardService",
    "SaveCounters",
    "OfferResult",
    "OfferResults",
    "COUNTERS",
]

COUNTERS = ("preemptions", "checkpoints", "sdc_detected", "power_cycles")  # kept across restarts
FINAL_STATES = ("COMPLETED", "FAILED", "EXPIRED", "DOWNLINKED", "REJECTED", "CANCELLED")
_NS = 1_000_000_000
_GPU_S_TOL = 1e-9  # [GPU-s] float round-off when comparing work
# [W] a thermal cap that moved less than this since the last plan does not call for a new
# one (unless it fell below what its board is commanded, or crossed the minimum power):
# commands are in whole watts, and the radiator's share drifts by fractions of a watt.
CAPS_REPLAN_W = 1.0
# The budget filter's band is at most this fraction of the latest budget: a small budget
# is followed closely (and none at all, at once: nothing runs on a zero budget).
BAND_MAX_FRACTION = 0.1


# ------------------------------------------------------------------------ state
@dataclass(frozen=True)
class ExecInputs:
    """One tick's inputs: the latest telemetry (None: none came) and the data messages."""

    budget: PowerBudget | None = None
    caps: ThermalCaps | None = None
    boards: BoardSensors | None = None
    submits: Sequence[JobSpec] = ()
    acks: Sequence[ResultAck] = ()
    naks: Sequence[ResultNak] = ()
    resync: ResultResync | None = None


@dataclass(frozen=True)
class ExecutorStats:
    """An immutable snapshot of the core's counters (totals over the run, restarts included
    for those in COUNTERS)."""

    jobs_by_state: Mapping[str, int]
    work_done_gpu_s: float
    checkpoint_overhead_gpu_s: float
    preemptions: int
    checkpoints: int
    sdc_detected: int
    sdc_detected_jobs: tuple[str, ...]
    sdc_discarded_jobs: tuple[str, ...]
    power_cycles: int
    boards_out_of_service: tuple[int, ...]
    progress_reports: int
    unacked_results: int
    bad_plans: int = 0  # policy decisions refused (assignments or caps outside the budgets)


@dataclass
class ExecutorCore:
    model: BoardModel
    policy: Callable[..., Plan]
    table: ExecutorTable = field(default_factory=ExecutorTable)
    events: EventLog = field(default_factory=EventLog)
    contacts: ContactTable = field(default_factory=ContactTable)  # the contact plan (a table)
    jobs: dict[str, Job] = field(default_factory=dict)
    live: dict[str, Job] = field(default_factory=dict)  # the active subset of jobs
    demand: DemandWindow = field(default_factory=DemandWindow)  # the work accepted in the last day
    running: dict[str, Job] = field(default_factory=dict)  # the STARTED subset
    unacked: set[str] = field(default_factory=set)  # results stored, not yet confirmed
    # job id -> why it waits, for every queued job after the last plan: the policy's order
    # first, then acceptance order (what JobWaits carries)
    waits: dict[str, str] = field(default_factory=dict)
    budget: PowerBudget | None = None
    caps: ThermalCaps | None = None
    started_up: bool = False
    caps_w: tuple[float, ...] = ()  # the last plan's per-board caps [W]
    work_done_gpu_s: float = 0.0
    checkpoint_overhead_gpu_s: float = 0.0  # work done while saving/loading checkpoints
    counts: dict[str, int] = field(default_factory=dict)
    preemptions: int = 0
    checkpoints: int = 0
    sdc_detected: int = 0
    sdc_detected_jobs: set[str] = field(default_factory=set)
    # jobs hit by an upset in work that was then thrown away (rolled back to a checkpoint
    # after a hang or a dead board, or done in the tick after the job was stopped): their
    # results are clean, but the world counts the hit. Not kept across a restart.
    sdc_discarded_jobs: set[str] = field(default_factory=set)
    progress_reports: int = 0
    tick: int = 0
    health: BoardHealth = field(init=False)
    _pending_ops: list = field(default_factory=list)  # from commands between steps
    _pending_outs: list = field(default_factory=list)
    _restarted: list = field(default_factory=list)  # jobs that were STARTED at a restart
    _board_owner: dict = field(default_factory=dict)  # board -> (job id, replica)
    _next_order: int = 1
    _next_doom_ns: int = -1  # no waiting job is doomed before this; rescan when reached
    _view_list: list | None = None
    _view_pos: dict = field(default_factory=dict)
    _view_stale: bool = True
    _last_cmd: BoardCommand | None = None
    _last_cmd_tick: int = -(10**9)
    _replan: bool = True
    _wake_ticks: set = field(default_factory=set)  # re-plan at these ticks (a board back, a hold-off over)
    _cmd_dirty: bool = True
    _planned_w: float = 0.0  # [W] the smoothed budget at the last plan
    _planned_caps: tuple | None = None  # the thermal caps at the last plan [W]
    _saturated: bool = False  # the last plan ran every usable board at its ceiling, budget to spare
    _budget_smooth_w: float | None = None  # [W] the filtered budget (None: none yet)
    _commanded_w: float = 0.0  # [W] the caps of the last BoardCommand, summed
    _planned_tick: int = -(10**9)
    _min_priority: int = 0
    _hold_starts_until: int = -1  # no job starts before this tick (the budget just pushed one out)
    _last_t_ns: int | None = None
    _dt_s: float = 1.0
    _saved_counters: tuple = ()
    _bad_plans: int = 0
    _budget_tick: int = 0  # the tick the last budget came
    _orbit_budget_w: float = -1.0  # [W] the mean of the power manager's last budget forecast (-1: none yet)
    _budget_stale: bool = False
    _waits_changed: bool = False  # send JobWaits this step
    _waits_msg: JobWaits | None = None  # the JobWaits of ``waits`` (None: build it again)

    def __post_init__(self) -> None:
        self.health = BoardHealth(self.model.n_boards)
        self._saved_counters = self._counter_values()

    # -------------------------------------------------------------- restore
    def restore(self, rows, unacked_ids: Sequence[str], boards_out_of_service: Mapping[int, str] | None = None,
                counters: Mapping[str, int] | None = None) -> None:
        """Rebuild from the ledger after a (re)start. ``rows``: JobRow-like (spec,
        order_no, state, checkpoint_gpu_s; reruns, checkpoint_replica_gpu_s,
        checkpoint_upsets, sdc_detected where stored). A job that was running resumes from
        its checkpoint (the work since is lost; the upsets inside it are kept): the first
        step stores and reports it PREEMPTED. The demand window is rebuilt from the rows'
        ``accepted_t_ns`` (rows without it are not counted)."""
        counters = dict(counters or {})
        accepted = []
        for r in rows:
            spec = r.spec
            n = replicas_of(spec)
            ckpt = list(getattr(r, "checkpoint_replica_gpu_s", ()) or ())
            if len(ckpt) != n:
                ckpt = [r.checkpoint_gpu_s] * n
            ups = list(getattr(r, "checkpoint_upsets", ()) or ())
            if len(ups) != n:
                ups = [0] * n
            job = Job(spec, r.order_no, r.state, n, list(ckpt), list(ckpt), list(ups), list(ups),
                      reruns=getattr(r, "reruns", 0), sdc_detected=getattr(r, "sdc_detected", 0))
            job.reported_pct = self._milestone(job)
            self.jobs[spec.job_id] = job
            if job.sdc_detected:
                self.sdc_detected_jobs.add(spec.job_id)
            if r.state == "STARTED":
                job.state = "PREEMPTED"
                self._restarted.append(spec.job_id)
            if job.active:
                self.live[spec.job_id] = job
            self._next_order = max(self._next_order, r.order_no + 1)
            self.counts[job.state] = self.counts.get(job.state, 0) + 1
            if r.state != "REJECTED" and getattr(r, "accepted_t_ns", None) is not None:
                accepted.append((r.accepted_t_ns, spec.priority, n, spec.work_gpu_s * n))
        self.demand.restore(accepted)
        self.unacked = set(unacked_ids)
        self.preemptions = counters.get("preemptions", 0)
        self.checkpoints = counters.get("checkpoints", 0)
        self.sdc_detected = counters.get("sdc_detected", 0)
        self.health.restore(dict(boards_out_of_service or {}), counters.get("power_cycles", 0))
        self._saved_counters = self._counter_values()
        self._view_stale = self._replan = True
        self._next_doom_ns = -1

    # ------------------------------------------------------------------ step
    def step(self, tick: int, t_ns: int, inp: ExecInputs) -> tuple[list, list]:
        """One control period -> (store ops, outgoing items). Apply ops, then send outs."""
        ops, outs = self._pending_ops, self._pending_outs
        self._pending_ops, self._pending_outs = [], []
        self.tick = tick
        if self._last_t_ns is not None and t_ns > self._last_t_ns:
            self._dt_s = (t_ns - self._last_t_ns) / _NS
        self._last_t_ns = t_ns
        self._inputs(inp)
        for job_id in self._restarted:
            job = self.jobs[job_id]
            if job.state != "PREEMPTED":  # cancelled by a command before this first step
                continue
            self.preemptions += 1
            self._set(job_id, "PREEMPTED", t_ns, f"executor restarted: resumes from its checkpoint "
                      f"({job.checkpoint_gpu_s:.1f} GPU-s)", ops, outs)
        self._restarted = []
        # The ground's answers first: they are about results it received, so never about
        # a result this very step stores (an old or repeated answer must not touch it).
        for ack in inp.acks:
            if ack.job_id in self.unacked:
                self.unacked.discard(ack.job_id)
                ops.append(MarkDownlinked(ack.job_id, t_ns))  # stores state and history
                self._set(ack.job_id, "DOWNLINKED", t_ns, "", ops, outs, report=False, store=False)
        for nak in inp.naks:
            self._nak(nak, t_ns, ops, outs)
        self._credit_work(inp.boards)
        self._complete(t_ns, ops, outs)
        commanded = self._last_cmd.job_id if self._last_cmd is not None else ()
        for action in self.health.observe(tick, t_ns, inp.boards, commanded, self.table):
            self._board_action(action, t_ns, ops, outs)
        for spec in inp.submits:
            self._submit(spec, t_ns, ops, outs)
        self._expire(t_ns, ops, outs)
        self._plan(t_ns, ops, outs)
        self._checkpoint(t_ns, ops)
        self._progress(t_ns, ops, outs)
        if inp.resync is not None or not self.started_up:
            self.started_up = True
            if self.unacked:
                r = inp.resync or ResultResync("executor start")
                outs.append(OfferResults(r.max_bytes, frozenset(r.skip)))
        # The world holds the last command: send it when the plan changed it, and as a
        # heartbeat (every change of boards or caps goes through a new plan).
        heartbeat = tick - self._last_cmd_tick >= self.table.command_heartbeat_ticks
        if self._cmd_dirty or heartbeat:
            self._cmd_dirty = False
            cmd = self._board_command()
            if cmd != self._last_cmd or heartbeat:
                self._last_cmd, self._last_cmd_tick = cmd, tick
                outs.append(cmd)
        if tick % self.table.status_every_ticks == 0:
            outs.append(self.status())
            self._waits_changed = True
        if self._waits_changed:
            self._waits_changed = False
            if self._waits_msg is None:
                self._waits_msg = JobWaits.of(self.waits.items())
            outs.append(self._waits_msg)
        values = self._counter_values()
        if values != self._saved_counters:
            self._saved_counters = values
            ops.append(SaveCounters(dict(zip(COUNTERS, values, strict=True))))
        return ops, outs

    # ------------------------------------------------------------- commands
    def cancel(self, job_id: str, t_ns: int) -> str:
        """EXEC_CANCEL_JOB: a queued, preempted or running job ends CANCELLED (code
        CANCELLED), its boards freed; its ops and reports come out of the next step.
        Raises CommandError: VALIDATION_ERROR for an unknown id, EXECUTION_ERROR for a job
        already in a final state."""
        job = self.jobs.get(job_id)
        if job is None:
            raise CommandError(CmdStatus.VALIDATION_ERROR,
                               f"args.job_id: expected the id of a job this executor holds, got {job_id!r}")
        if not job.active:
            raise CommandError(CmdStatus.EXECUTION_ERROR,
                               f"job {job_id!r} is {job.state}: only a queued, preempted or running job "
                               "can be cancelled")
        was = job.state
        self._release(job)
        self._set(job_id, "CANCELLED", t_ns, f"cancelled by command (was {was})", self._pending_ops,
                  self._pending_outs, code=JobFailure.CANCELLED)
        return f"job {job_id} cancelled (was {was})"

    def set_board_service(self, board: int, in_service: bool, t_ns: int) -> str:
        """EXEC_BOARD_SERVICE: put a board back in service (its failure counts cleared) or
        take it out (its job is preempted with a checkpoint). Idempotent."""
        ops, outs = self._pending_ops, self._pending_outs
        out = board in self.health.out_of_service
        if in_service:
            if not out:
                return f"board {board} already in service"
            self.health.put_back(board)
            ops.append(SetBoardService(board, True, t_ns, "put back in service by command"))
            self._emit(outs, Severity.ACTIVITY_HI, "executor.board_in_service",
                       f"board {board} put back in service by command")
        else:
            if out:
                return f"board {board} already out of service"
            self._board_action(self.health.take_out(board, f"board {board}: taken out of service by command"),
                               t_ns, ops, outs, planned=True)
        self._replan = self._cmd_dirty = True
        return f"board {board} {'in' if in_service else 'out of'} service"

    # --------------------------------------------------------------- pieces
    def _inputs(self, inp: ExecInputs) -> None:
        if inp.budget is not None:
            old = self.budget
            self.budget = inp.budget
            self._budget_tick = self.tick
            if inp.budget.forecast_step_s > 0.0 and inp.budget.forecast_budget_w:
                f = inp.budget.forecast_budget_w
                self._orbit_budget_w = sum(f) / len(f)
            min_p = inp.budget.min_priority if inp.budget.mode != Mode.SAFE.value else 0
            mode_changed = old is None or old.mode != inp.budget.mode
            if min_p != self._min_priority or mode_changed:
                self._min_priority = min_p
                self._replan = True
            self._smooth_budget(inp.budget, mode_changed)
        if inp.caps is not None and len(inp.caps.cap_w) == self.model.n_boards:
            if inp.caps is not self.caps and self._caps_moved(inp.caps.cap_w):
                self._replan = True
            self.caps = inp.caps

    def _smooth_budget(self, budget: PowerBudget, reset: bool) -> None:
        """The budget the re-plan tests use: filtered, within budget_band_w of the latest."""
        raw_w = 0.0 if budget.mode == Mode.SAFE.value else budget.compute_budget_w
        f_w = self._budget_smooth_w
        if reset or f_w is None:
            self._budget_smooth_w = raw_w
            return
        t = self.table
        f_w += (raw_w - f_w) / t.budget_filter_ticks
        band_w = min(t.budget_band_w, BAND_MAX_FRACTION * max(raw_w, 0.0))
        self._budget_smooth_w = min(raw_w + band_w, max(raw_w - band_w, f_w))

    def _caps_moved(self, cap_w: Sequence[float]) -> bool:
        """The thermal caps moved enough since the last plan to call for a new one."""
        old = self._planned_caps
        if old is None or len(old) != len(cap_w):
            return True
        lo_w = self.model.min_power_w
        cmd = self._last_cmd.cap_w if self._last_cmd is not None and len(self._last_cmd.cap_w) == len(cap_w) else None
        for b, c in enumerate(cap_w):
            o = old[b]
            if c != o and (abs(c - o) >= CAPS_REPLAN_W or (c >= lo_w) != (o >= lo_w)
                           or (cmd is not None and c < cmd[b])):
                return True
        return False

    def _credit_work(self, sensors: BoardSensors | None) -> None:
        if sensors is None:
            return
        upsets = sensors.upset
        per_job: dict[str, list[float]] = {}
        job_ids = sensors.job_id
        for b, work in enumerate(sensors.work_gpu_s):
            if work <= 0.0 or b >= len(job_ids):
                continue
            job_id = job_ids[b]
            job = self.running.get(job_id) if job_id else None
            if job is None:
                if b < len(upsets) and upsets[b] and job_id in self.jobs:  # work done after it stopped
                    self.sdc_discarded_jobs.add(job_id)
                continue
            owner = self._board_owner.get(b)
            r = owner[1] if owner is not None and owner[0] == job_id else 0
            acc = per_job.get(job_id)
            if acc is None:
                acc = per_job[job_id] = [0.0] * job.replicas
                job.boards_working = 0
            acc[r] += work
            job.boards_working += 1
            if b < len(upsets) and upsets[b]:
                job.upsets[r] += upsets[b]
        for job_id, acc in per_job.items():
            job = self.running[job_id]
            job.worked_tick = self.tick
            if job.overhead_s > 0.0:  # saving or loading a checkpoint: board time, no progress
                frac = min(1.0, job.overhead_s / self._dt_s) if self._dt_s > 0 else 1.0
                job.overhead_s = max(0.0, job.overhead_s - self._dt_s)
                self.checkpoint_overhead_gpu_s += sum(acc) * frac
                acc = [a * (1.0 - frac) for a in acc]
            for r, a in enumerate(acc):
                job.done_gpu_s[r] += a
            self.work_done_gpu_s += sum(acc)

    def _complete(self, t_ns: int, ops: list, outs: list) -> None:
        for job in list(self.running.values()):
            spec = job.spec
            if job.progress_gpu_s + _GPU_S_TOL < spec.work_gpu_s:
                continue
            self._release(job)
            verdict = compute_result(spec, job.upsets)
            if verdict.error:
                self._set(spec.job_id, "FAILED", t_ns, verdict.error, ops, outs, code=JobFailure.PAYLOAD_ERROR)
            elif verdict.corrupted:
                self._corrupted(job, verdict.corrupted, t_ns, ops, outs)
            else:
                data = verdict.data
                ops.append(StoreResult(spec.job_id, spec.kind, data, sha256_digest(data), t_ns, job.progress_gpu_s))
                self._set(spec.job_id, "COMPLETED", t_ns, "", ops, outs, store=False, report=False)
                self.unacked.add(spec.job_id)
                outs.append(JobState(spec.job_id, "COMPLETED", "", min(job.progress_gpu_s, 1e8), 0, t_ns))
                outs.append(OfferResult(spec.job_id))

    def _corrupted(self, job: Job, why: str, t_ns: int, ops: list, outs: list) -> None:
        """A corruption was caught on board: never deliver; run again from nothing (a
        checkpoint may hold the flip), or fail after max_reruns."""
        job_id = job.spec.job_id
        self.sdc_detected += 1
        self.sdc_detected_jobs.add(job_id)
        job.sdc_detected += 1
        limit = self.table.max_reruns
        self._emit(outs, Severity.WARNING_HI, "executor.result_corrupted",
                   f"{job_id}: {why}; " + (f"rerun {job.reruns + 1} of {limit}" if job.reruns < limit
                                            else "no reruns left"))
        if job.reruns >= limit:
            ops.append(CountSdc(job_id, t_ns))
            self._set(job_id, "FAILED", t_ns, f"result corrupted {job.reruns + 1} times; last: {why}", ops, outs,
                      code=JobFailure.RESULT_CORRUPTED)
            return
        job.reruns += 1
        job.reset()
        reason = f"result failed its check, rerun {job.reruns} of {limit}: {why}"
        ops.append(Rerun(job_id, job.reruns, t_ns, reason[:256]))
        self._set(job_id, "PREEMPTED", t_ns, reason, ops, outs, store=False)

    def _nak(self, nak: ResultNak, t_ns: int, ops: list, outs: list) -> None:
        """The ground proved a stored result wrong: discard it and run the job again."""
        job = self.jobs.get(nak.job_id)
        if job is None or nak.job_id not in self.unacked:
            return
        self.unacked.discard(nak.job_id)
        self._emit(outs, Severity.WARNING_HI, "executor.result_rejected_by_ground", f"{nak.job_id}: {nak.reason}")
        reason = f"ground: {nak.reason}"[:256]
        if job.reruns >= self.table.max_reruns:
            why = f"result rejected by the ground {job.reruns + 1} times"
            ops.append(DiscardResult(nak.job_id, t_ns, why, state="FAILED",
                                     failure_code=int(JobFailure.REJECTED_BY_GROUND)))
            self._set(nak.job_id, "FAILED", t_ns, why, ops, outs, code=JobFailure.REJECTED_BY_GROUND, store=False)
            return
        job.reruns += 1
        job.reset()
        ops.append(DiscardResult(nak.job_id, t_ns, reason, job.reruns))
        self._set(nak.job_id, "PREEMPTED", t_ns, "result rejected by the ground: rerun", ops, outs, store=False)

    def _submit(self, spec: JobSpec, t_ns: int, ops: list, outs: list) -> None:
        known = self.jobs.get(spec.job_id)
        if known is not None:  # idempotent by id: repeat the answer, change nothing
            outs.append(JobAck(spec.job_id, known.state != "REJECTED", "duplicate"))
            return
        reason = self._refusal(spec, t_ns)
        state = "REJECTED" if reason else "ACCEPTED"
        code = int(JobFailure.INVALID_SPEC) if reason else 0
        ops.append(AddJob(spec, state, reason, t_ns, code))
        job = Job(spec, self._next_order, state, replicas_of(spec), checkpoint_t_ns=t_ns)
        self._view_stale = self._replan = True
        self.jobs[spec.job_id] = job
        self._next_order += 1
        self.counts[state] = self.counts.get(state, 0) + 1
        outs.append(JobAck(spec.job_id, not reason, reason))
        outs.append(JobState(spec.job_id, state, reason, 0.0, code, t_ns))
        if reason:
            self._emit(outs, Severity.WARNING_LO, "executor.job_rejected", f"{spec.job_id}: {reason}")
        else:
            self.live[spec.job_id] = job
            self._waiting(job)
            self.demand.add(t_ns, spec.priority, job.replicas, spec.work_gpu_s * job.replicas)

    def _refusal(self, spec: JobSpec, t_ns: int) -> str:
        if spec.kind not in PAYLOADS:
            return f"kind: expected one of {sorted(PAYLOADS)}, got {spec.kind!r}"
        dual = dual_param_error(spec)
        if dual:
            return dual
        boards = spec.boards_needed * replicas_of(spec)
        if boards > self.model.n_boards:
            return f"boards_needed: expected <= {self.model.n_boards // replicas_of(spec)}" + (
                " for a dual job" if replicas_of(spec) > 1 else "") + f", got {spec.boards_needed}"
        if boards > self.health.in_service_count():
            return (f"boards_needed: expected <= {self.health.in_service_count() // replicas_of(spec)} "
                    f"(boards in service), got {spec.boards_needed}")
        if 0 <= spec.deadline_t_ns <= t_ns:
            return f"deadline_t_ns: expected after now ({t_ns}), got {spec.deadline_t_ns}"
        if spec.kind == "matmul":
            n = spec.params.get("n", 64)
            if type(n) is not int or not 1 <= n <= 512:
                return f"params.n: expected an integer in [1, 512], got {n!r}"
        return ""

    # ------------------------------------------------------------- deadlines
    def _doomed(self, job: Job, t_ns: int) -> bool:
        return job.spec.deadline_t_ns >= 0 and t_ns > job.doom_t_ns()

    def _expire(self, t_ns: int, ops: list, outs: list) -> None:
        doomed = [j for j in self.running.values() if j.spec.deadline_t_ns >= 0 and t_ns > j.doom_t_ns()]
        if t_ns >= self._next_doom_ns:
            nxt = NEVER
            for job in self.live.values():
                if job.state == "STARTED" or job.spec.deadline_t_ns < 0:
                    continue
                if self._doomed(job, t_ns):
                    doomed.append(job)
                else:
                    nxt = min(nxt, job.doom_t_ns() + 1)
            self._next_doom_ns = nxt
        for job in doomed:
            s = job.spec
            left_s = max(0.0, (s.deadline_t_ns - t_ns) / _NS)
            self._release(job)
            self._set(s.job_id, "EXPIRED", t_ns,
                      f"cannot finish by its deadline: {job.remaining_gpu_s():.1f} GPU-s left on "
                      f"{s.boards_needed} board(s) need {job.remaining_gpu_s() / s.boards_needed:.1f} s "
                      f"at full power, {left_s:.1f} s left ({job.progress_gpu_s:.0f} of {s.work_gpu_s:.0f} GPU-s done)",
                      ops, outs, code=JobFailure.DEADLINE)

    def _waiting(self, job: Job) -> None:
        """A job starts waiting: the deadline scan must look at it in time."""
        if job.spec.deadline_t_ns >= 0:
            self._next_doom_ns = min(self._next_doom_ns, job.doom_t_ns() + 1)

    # ----------------------------------------------------------------- plan
    def _plan(self, t_ns: int, ops: list, outs: list) -> None:
        if self.budget is None or self.caps is None:  # nothing runs before both have come
            why = "safe" if self.budget is None else "thermal"
            self._set_waits({job_id: why for job_id, job in self.live.items() if job.state != "STARTED"})
            return
        stale = self.tick - self._budget_tick > self.table.budget_stale_ticks
        if stale != self._budget_stale:  # no word from the power manager: as in SAFE mode
            self._budget_stale, self._replan = stale, True
            if stale:
                self._emit(outs, Severity.WARNING_HI, "executor.budget_stale",
                           f"no power budget for {self.tick - self._budget_tick} ticks: compute stopped")
            else:
                self._emit(outs, Severity.ACTIVITY_HI, "executor.budget_back", "power budget received: compute resumes")
        safe = self.budget.mode == Mode.SAFE.value or stale
        budget_w = 0.0 if safe else self.budget.compute_budget_w
        smooth_w = budget_w if safe or self._budget_smooth_w is None else self._budget_smooth_w
        # Plan with a small margin below the budget, then re-plan only when something moved:
        # the jobs, the thermal caps, the boards, the budget falling below what is commanded
        # or rising well above what was planned for (sensor noise alone does not re-plan).
        commanded_w = self._commanded_w
        t = self.table
        # The plan's own preemptions and starts do not call for another plan: a job the
        # budget just pushed out comes back when the budget has risen by replan_rise_w
        # (hysteresis: no preempt/resume thrash, each resume costing a checkpoint load).
        due = [w for w in self._wake_ticks if w <= self.tick]
        # A rise cannot help a plan that already ran every usable board at its ceiling with
        # budget to spare (in sunlight, with the caps binding): no policy has more to give.
        if not (self._replan or due or smooth_w < commanded_w
                or (smooth_w > self._planned_w + t.replan_rise_w and not self._saturated)
                or self.tick - self._planned_tick >= t.replan_every_ticks):
            return
        self._wake_ticks.difference_update(due)
        self._planned_w, self._planned_tick, self._planned_caps = smooth_w, self.tick, self.caps.cap_w
        budget_w = min(budget_w, smooth_w)  # never plan on more than the latest budget
        avail = self.health.available(self.tick)
        caps = tuple(c if avail[b] else 0.0 for b, c in enumerate(self.caps.cap_w))
        views = [] if safe else self._views()
        if self._min_priority > 0:
            views = [v for v in views if v.priority >= self._min_priority]
        holding = self.tick < self._hold_starts_until
        if holding:  # only what runs may keep running
            views = [v for v in views if v.boards]
        plan = self.policy(views, max(0.0, budget_w - t.plan_margin_w), caps, self.model, ctx=self._context(t_ns))
        assignments = self._checked(plan, safe, avail, outs)
        self.caps_w = self._checked_caps(plan, assignments, caps, max(0.0, budget_w - t.plan_margin_w), outs)
        self._cmd_dirty = True
        self._saturated = self._all_at_ceiling(assignments, caps, max(0.0, budget_w - t.plan_margin_w))
        preempted = [j for j in self.running.values() if j.spec.job_id not in assignments]
        # A job pushed out while others start was displaced by the policy (say, for higher
        # priority work); one pushed out while nothing starts lost its power or its boards.
        displaced = any(self.jobs[j].state != "STARTED" for j in assignments)
        for job in preempted:
            reason = self._preempt_reason(job, safe, budget_w, displaced)
            self._preempt(job, reason, t_ns, ops, outs)
            shed = safe or job.spec.priority < self._min_priority  # those resume when the mode says
            if not shed and not displaced and t.resume_holdoff_ticks:  # no thrash on a noisy budget
                self._hold_starts_until = self.tick + t.resume_holdoff_ticks
                self._wake_ticks.add(self.tick + t.resume_holdoff_ticks)
        self._save(preempted, t_ns, ops)
        moved = []
        for job_id, boards in assignments.items():
            job = self.jobs[job_id]
            if job.state != "STARTED":
                if job.checkpoint_gpu_s > 0.0:  # resume: load the checkpoint first
                    job.overhead_s = t.checkpoint_cost_s
                job.checkpoint_t_ns = t_ns
                self._set(job_id, "STARTED", t_ns, "", ops, outs)
            elif boards != job.boards:  # moved to other boards: save here, load there
                moved.append(job)
                job.overhead_s = max(job.overhead_s, t.checkpoint_cost_s)
            self._assign(job, boards)
        self._save(moved, t_ns, ops)
        self._replan = False
        self._explain(plan.waiting, assignments, safe, avail)

    def _context(self, t_ns: int) -> PlanContext:
        """What the policy may know beyond the budget: the latest PowerBudget's energy
        picture, the passes still ahead and the cost of a checkpoint."""
        b = self.budget
        return PlanContext(
            t_ns=t_ns,
            in_eclipse=b.next_eclipse_in_s == 0.0 and b.next_eclipse_s > 0.0,
            next_eclipse_in_s=b.next_eclipse_in_s,
            next_eclipse_s=b.next_eclipse_s,
            battery_charge_wh=b.battery_charge_wh,
            battery_capacity_wh=b.battery_capacity_wh,
            hold_wh=b.hold_wh,
            platform_w=b.platform_w,
            solar_w=b.solar_power_w,
            solar_mean_w=b.solar_mean_w,
            charge_efficiency=b.charge_efficiency,
            discharge_efficiency=b.discharge_efficiency,
            max_charge_w=b.max_charge_w,
            passes=self.contacts.ahead(t_ns),
            checkpoint_cost_s=self.table.checkpoint_cost_s,
            thermal_budget_w=self.caps.radiator_capacity_w if self.caps is not None else -1.0,
            powered=tuple(bool(o) for o in self._last_cmd.on) if self._last_cmd is not None else (),
            known=b.battery_capacity_wh > 0.0,
            accepted_day=self.demand.summary(t_ns),
            orbit_budget_w=self._orbit_budget_w if b.mode != Mode.SAFE.value else 0.0,
        )

    # ------------------------------------------------------------- why jobs wait
    def _explain(self, given: Mapping[str, str], assignments: Mapping[str, tuple[int, ...]], safe: bool,
                 avail: Sequence[bool]) -> None:
        """Why each queued job waits after this plan (the module docstring says how)."""
        queued = [job for job in self.live.values() if job.state != "STARTED"]
        if not queued:
            self._set_waits({})
            return
        m = self.model
        lo_w = m.min_power_w
        hot_w = self.caps.cap_w  # the thermal caps as the thermal guard sent them
        busy = {b for boards in assignments.values() for b in boards}
        free_ok = free_hot = 0  # boards in service and free: usable, or too hot to use
        for b in range(m.n_boards):
            if avail[b] and b not in busy:
                if hot_w[b] >= lo_w:
                    free_ok += 1
                else:
                    free_hot += 1
        cool = sum(1 for c in hot_w if c >= lo_w)  # boards the heat leaves usable
        waits: dict[str, str] = {}
        if not safe:
            for job_id, why in given.items():
                job = self.live.get(job_id)
                if (job is None or job.state == "STARTED" or why not in WAIT_REASONS
                        or job.spec.priority < self._min_priority):
                    continue
                if why == "thermal" and job.boards_total <= cool:  # out of service, not hot
                    why = "boards"
                waits[job_id] = why
        for job in queued:
            job_id = job.spec.job_id
            if job_id not in waits:
                waits[job_id] = self._inferred(job, safe, free_ok, free_hot)
        self._set_waits(waits)

    def _inferred(self, job: Job, safe: bool, free_ok: int, free_hot: int) -> str:
        """Why ``job`` waits when the policy did not say (or said something unknown)."""
        if safe:
            return "safe"
        if job.spec.priority < self._min_priority:
            return "priority"
        need = job.boards_total
        if need > free_ok:
            return "thermal" if need <= free_ok + free_hot else "boards"
        return "energy"

    def _set_waits(self, waits: dict[str, str]) -> None:
        if waits != self.waits or list(waits) != list(self.waits):  # the order is sent too
            self.waits = waits
            self._waits_changed = True
            self._waits_msg = None

    def _all_at_ceiling(self, assignments: Mapping[str, tuple[int, ...]], caps: Sequence[float],
                        plan_w: float) -> bool:
        """Every usable board runs a job and the plan's caps left some of ``plan_w`` unused
        (so each board sits at its ceiling: more budget could change nothing)."""
        busy = {b for boards in assignments.values() for b in boards}
        lo_w = self.model.min_power_w
        if any(c >= lo_w and b not in busy for b, c in enumerate(caps)):
            return False
        return bool(busy) and sum(self.caps_w) < plan_w - CAPS_REPLAN_W

    def _checked(self, plan: Plan, safe: bool, avail: list[bool], outs: list) -> dict:
        """The plan's assignments that are sound: a job offered to the policy, on as many
        boards as it needs, each available and given to one job only. Others are dropped
        with an event (the policy is a plug-in: flight software does not trust it blindly)."""
        used: set[int] = set()
        good = {}
        for job_id, boards in plan.assignments.items():
            job = self.live.get(job_id)
            boards = tuple(boards)
            ok = (job is not None and not safe and job.spec.priority >= self._min_priority
                  and (job.state == "STARTED" or self.tick >= self._hold_starts_until)
                  and len(boards) == job.boards_total and len(set(boards)) == len(boards)
                  and all(0 <= b < self.model.n_boards and avail[b] and b not in used for b in boards))
            if not ok:
                self._bad_plans += 1
                self._emit(outs, Severity.WARNING_LO, "executor.bad_assignment",
                           f"policy assigned {job_id!r} to boards {list(boards)}: not a job it was offered on "
                           "free, available boards of the number it needs; ignored")
                continue
            used.update(boards)
            good[job_id] = boards
        return good

    def _checked_caps(self, plan: Plan, assignments: Mapping[str, tuple[int, ...]], caps: Sequence[float],
                      plan_w: float, outs: list) -> tuple[float, ...]:
        """The plan's per-board caps if they keep within the power and thermal budgets: each
        busy board in [min power, min(max power, its thermal cap)], idle boards 0, the sum
        within the budget. Otherwise the budget water-filled over the sound assignments
        (power_split.board_caps), with an event: a plug-in policy is not trusted blindly."""
        m = self.model
        busy = {b for boards in assignments.values() for b in boards}
        given = tuple(plan.cap_w)
        ok = len(given) == m.n_boards and sum(given) <= plan_w + 1e-6 and all(
            (m.min_power_w - 1e-9 <= c <= min(m.max_power_w, caps[b]) + 1e-9) if b in busy else c == 0.0
            for b, c in enumerate(given))
        if ok:
            return given
        self._bad_plans += 1
        self._emit(outs, Severity.WARNING_LO, "executor.bad_caps",
                   f"policy caps outside the budgets (sum {sum(given):.0f} W of {plan_w:.0f} W, or a board "
                   "beyond its thermal cap): water-filled instead")
        return board_caps(assignments, plan_w, caps, m)

    def _preempt_reason(self, job: Job, safe: bool, budget_w: float, displaced: bool) -> str:
        if self._budget_stale:
            return "no power budget from the power manager"
        if safe:
            return "safe mode: no compute"
        if job.spec.priority < self._min_priority:
            return f"load shed: priority {job.spec.priority} below the minimum {self._min_priority}"
        if budget_w <= 0.0:
            return "no compute budget"
        return "displaced by the policy for other work" if displaced else "budget or thermal"

    def _views(self) -> list[JobView]:
        """What the policy sees, in acceptance order. The list is rebuilt only when the
        set of live jobs changes; running jobs' entries are refreshed every call."""
        if self._view_list is None or self._view_stale:
            self._view_list = [j.view() for j in self.live.values()]
            self._view_pos = {j.spec.job_id: i for i, j in enumerate(self.live.values())}
            self._view_stale = False
        for job in self.running.values():
            self._view_list[self._view_pos[job.spec.job_id]] = job.view()
        return self._view_list

    # ----------------------------------------------------------- checkpoints
    def _checkpoint(self, t_ns: int, ops: list) -> None:
        """Periodic checkpoints. Only boards that work can write one: a job whose boards
        did not all report work this tick (booting, or silently hung) waits."""
        due = []
        for job in self.running.values():
            interval_ns = int(job.spec.checkpoint_interval_s * _NS)
            if (interval_ns > 0 and t_ns - job.checkpoint_t_ns >= interval_ns and job.overhead_s <= 0.0
                    and job.worked_tick == self.tick and job.boards_working >= len(job.boards)):
                job.overhead_s = self.table.checkpoint_cost_s
                due.append(job)
        self._save(due, t_ns, ops)

    def _save(self, jobs: list[Job], t_ns: int, ops: list) -> None:
        """Checkpoint ``jobs`` now: progress and the upsets inside it, one store op."""
        if not jobs:
            return
        progress, replicas, upsets = {}, {}, {}
        for job in jobs:
            job.save()
            job.checkpoint_t_ns = t_ns
            job_id = job.spec.job_id
            progress[job_id] = job.checkpoint_gpu_s
            if job.replicas > 1:
                replicas[job_id] = tuple(job.ckpt_gpu_s)
            if any(job.ckpt_upsets):
                upsets[job_id] = tuple(job.ckpt_upsets)
        self.checkpoints += len(jobs)
        ops.append(Checkpoint(progress, t_ns, replicas, upsets))

    def _progress(self, t_ns: int, ops: list, outs: list) -> None:
        """PROGRESS reports at each progress_report_pct of the work, rate-limited."""
        if self.table.progress_report_pct >= 100:
            return
        for job in self.running.values():
            if job.progress_gpu_s < job.next_report_gpu_s:  # the usual tick: no new milestone
                continue
            pct = self._milestone(job)
            job.next_report_gpu_s = job.spec.work_gpu_s * (pct + self.table.progress_report_pct) / 100.0
            if (job.reported_pct < pct < 100
                    and self.tick - job.report_tick >= self.table.progress_min_ticks):
                job.reported_pct, job.report_tick = pct, self.tick
                self.progress_reports += 1
                job_id = job.spec.job_id
                ops.append(RecordStage(job_id, "PROGRESS", t_ns, f"{pct}% done"))
                outs.append(JobState(job_id, "PROGRESS", f"{pct}% of the work done", min(job.progress_gpu_s, 1e8),
                                     0, t_ns))

    def _milestone(self, job: Job) -> int:
        step = self.table.progress_report_pct
        pct = int(100.0 * job.progress_gpu_s / job.spec.work_gpu_s)
        return pct // step * step

    # --------------------------------------------------------------- boards
    def _board_action(self, action: BoardAction, t_ns: int, ops: list, outs: list, planned: bool = False) -> None:
        """Carry out a health decision: the job on the board stops (back to its checkpoint,
        as the board's memory is gone; or, for a planned removal, with a new checkpoint)."""
        b = action.board
        for job in list(self.running.values()):
            if b in job.boards:
                if planned:
                    self._preempt(job, action.reason, t_ns, ops, outs)
                    self._save([job], t_ns, ops)
                else:
                    if any(u > c for u, c in zip(job.upsets, job.ckpt_upsets, strict=True)):
                        self.sdc_discarded_jobs.add(job.spec.job_id)
                    job.roll_back()
                    self._preempt(job, f"{action.reason}: resumes from its checkpoint "
                                       f"({job.checkpoint_gpu_s:.1f} GPU-s)", t_ns, ops, outs)
        self._replan = self._cmd_dirty = True
        if action.kind == "power_cycle":
            self._wake_ticks.add(self.tick + 1)
            self._emit(outs, Severity.WARNING_HI, "executor.board_power_cycle", action.reason)
            return
        ops.append(SetBoardService(b, False, t_ns, action.reason))
        self._emit(outs, Severity.ACTIVITY_HI if planned else Severity.WARNING_HI, "executor.board_out_of_service",
                   action.reason)
        left = self.health.in_service_count()
        for job in list(self.live.values()):
            if job.boards_total > left:
                self._release(job)
                self._set(job.spec.job_id, "FAILED", t_ns,
                          f"needs {job.boards_total} boards, {left} in service", ops, outs,
                          code=JobFailure.NO_BOARDS)

    def _assign(self, job: Job, boards: tuple[int, ...]) -> None:
        job.set_boards(boards)
        n = job.spec.boards_needed
        for i, b in enumerate(boards):
            self._board_owner[b] = (job.spec.job_id, i // n)

    def _board_command(self) -> BoardCommand:
        n = self.model.n_boards
        job_ids = [""] * n
        caps = list(self.caps_w or (0.0,) * n)
        for job in self.running.values():
            for b in job.boards:
                job_ids[b] = job.spec.job_id
        for b in range(n):
            # whole watts, rounded down (the sum stays within the budget): the command then
            # changes only when the plan does, not with every watt of sensor noise
            caps[b] = float(math.floor(caps[b])) if job_ids[b] else 0.0
        on = tuple(1 if j else 0 for j in job_ids)  # boards without work are switched off
        self._commanded_w = sum(caps)
        return BoardCommand(cap_w=tuple(caps), job_id=tuple(job_ids), on=on)

    # --------------------------------------------------------------- status
    def status(self) -> ExecutorStatus:
        running = self.running.values()
        c = self.counts
        return ExecutorStatus(
            jobs_queued=len(self.live) - len(self.running),
            jobs_running=len(self.running),
            jobs_completed=c.get("COMPLETED", 0) + c.get("DOWNLINKED", 0),
            jobs_downlinked=c.get("DOWNLINKED", 0),
            jobs_failed=c.get("FAILED", 0),
            jobs_expired=c.get("EXPIRED", 0),
            boards_busy=sum(len(j.boards) for j in running),
            power_alloc_w=float(self._commanded_w),
            work_done_gpu_s=self.work_done_gpu_s,
            jobs_cancelled=c.get("CANCELLED", 0),
            preemptions=self.preemptions,
            checkpoints=self.checkpoints,
            sdc_detected=self.sdc_detected,
            power_cycles=self.health.power_cycles,
            boards_out_of_service=tuple(sorted(self.health.out_of_service)),
            board_cap_w=tuple(self._last_cmd.cap_w) if self._last_cmd is not None else (),
        )

    def statistics(self) -> ExecutorStats:
        return ExecutorStats(
            jobs_by_state=types.MappingProxyType({k: v for k, v in sorted(self.counts.items()) if v}),
            work_done_gpu_s=self.work_done_gpu_s,
            checkpoint_overhead_gpu_s=self.checkpoint_overhead_gpu_s,
            preemptions=self.preemptions,
            checkpoints=self.checkpoints,
            sdc_detected=self.sdc_detected,
            sdc_detected_jobs=tuple(sorted(self.sdc_detected_jobs)),
            sdc_discarded_jobs=tuple(sorted(self.sdc_discarded_jobs)),
            power_cycles=self.health.power_cycles,
            boards_out_of_service=tuple(sorted(self.health.out_of_service)),
            progress_reports=self.progress_reports,
            unacked_results=len(self.unacked),
            bad_plans=self._bad_plans,
        )

    # -------------------------------------------------------------- helpers
    def _counter_values(self) -> tuple:
        return (self.preemptions, self.checkpoints, self.sdc_detected, self.health.power_cycles)

    def _emit(self, outs: list, severity: Severity, name: str, text: str) -> None:
        ev = self.events.emit(self.tick, severity, name, text)
        if ev is not None:
            outs.append(ev)

    def _release(self, job: Job) -> None:
        """Free a job's boards (they are switched off in this tick's command)."""
        if job.boards:
            job.set_boards(())
            self._cmd_dirty = True

    def _preempt(self, job: Job, reason: str, t_ns: int, ops: list, outs: list) -> None:
        self.preemptions += 1
        self._release(job)
        self._set(job.spec.job_id, "PREEMPTED", t_ns, reason, ops, outs)

    def _count(self, old: str, new: str) -> None:
        if old in FINAL_STATES:
            self.counts[old] = self.counts.get(old, 0) - 1
        self.counts[new] = self.counts.get(new, 0) + 1

    def _set(self, job_id: str, state: str, t_ns: int, reason: str, ops: list, outs: list,
             report: bool = True, store: bool = True, code: int = 0) -> None:
        """Move a job to ``state``: store the stage (unless an op already did) and report it."""
        job = self.jobs[job_id]
        self._count(job.state, state)
        job.state = state
        self._view_stale = self._replan = True
        if job.active:
            self.live[job_id] = job
        else:
            self.live.pop(job_id, None)
        if state == "STARTED":
            self.running[job_id] = job
        else:
            self.running.pop(job_id, None)
            if job.active:
                self._waiting(job)
        reason = reason[:256]
        if store:
            ops.append(SetState(job_id, state, t_ns, reason, int(code)))
        if report:
            outs.append(JobState(job_id, state, reason, min(job.progress_gpu_s, 1e8), int(code), t_ns))
