"""A hypothesis state machine drives the executor's real shell (ExecutorApp) on a real
sqlite ledger with real bus Messages, its boards played by the fake bank (the bus's
two-tick latency, upsets, hangs, dead boards): uploads (new, refused, duplicated, twice in
one inbox), cancels (of every state and of unknown ids, repeated), power budgets (drops to
0, SAFE, load shed), thermal caps (0 for some boards), board service commands, result acks
and NAKs, result resyncs, and crashes with a restart from the store: between ticks, or
inside one, just before or after one of its store operations (each commits on its own).

After every tick: a job's progress moves forward by no more than its boards reported, or
back to its checkpoint (a hang, a dead board), or to zero on a rerun (a NAK, a corruption
caught on board); checkpoints never move back but on a rerun; every lifecycle step is
legal; a result goes down only for a completed job, intact. After every rule: every job is
in exactly one state of the core's views; running jobs hold disjoint boards, all in service;
nothing accepted is lost; and the ledger on disk, read through a separate read-only
connection, equals both the model (every stage the ground was told, and nothing else) and
the core (states, checkpoints, reruns, results, boards out of service, counters).

What the model leaves out: it does not predict which job the policy starts or when one
completes (the core decides that; the model checks each decision is legal and stored, and
that the ground heard of it); after a kill inside a tick it takes the stages stored but
never reported from the ledger (checking they are legal and extend what was reported); it
does not check payload bytes of plain synthetic jobs (an upset there is the ground's to
find), nor a kill while a NAK or a command is applied; command idempotency is not
expected across a restart. Two faults it found (a NAK that failed a job stored a stage
never reported; an answer in the tick a job completed hit the new result) have tests of
their own at the end.
"""

from __future__ import annotations

import json
import shutil
import sqlite3
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import msgpack
import pytest
from hypothesis import HealthCheck, Phase, settings
from hypothesis import strategies as st
from hypothesis.stateful import (
    RuleBasedStateMachine,
    initialize,
    invariant,
    precondition,
    rule,
    run_state_machine_as_test,
)

import flightsw.apps.executor.shell as shell_module
from flightsw.apps.executor.core import FINAL_STATES
from flightsw.apps.executor.integrity import compute_result, replicas_of
from flightsw.apps.executor.job import ACTIVE_STATES, Job
from flightsw.apps.executor.ops import Checkpoint, SetState
from flightsw.apps.executor.shell import ExecutorApp
from flightsw.apps.executor.table import ExecutorTable
from flightsw.icd.messages import (
    AppCommand,
    BoardCommand,
    BoardSensors,
    CmdStatus,
    CommandResponse,
    Envelope,
    JobAck,
    JobFailure,
    JobSpec,
    JobState,
    Message,
    Mode,
    Opcode,
    PowerBudget,
    ResultAck,
    ResultData,
    ResultNak,
    ResultResync,
    ThermalCaps,
)
from flightsw.icd.results import sha256_digest
from flightsw.sched import POLICIES
from tests.flightsw.apps.builders import S, thermal_caps
from tests.flightsw.apps.executor.fakes import MODEL, FakeBoards, N
from tests.strategies import executor_job_specs

GPU_S_TOL = 1e-9  # [GPU-s] float round-off in work accounting
LIFECYCLE = frozenset(ACTIVE_STATES) | frozenset(FINAL_STATES)
# The legal next stage after each (PROGRESS is a report only: it needs STARTED and leaves
# the state as it was). None: a job the executor has never answered for.
NEXT = {
    None: {"ACCEPTED", "REJECTED"},
    "ACCEPTED": {"STARTED", "CANCELLED", "EXPIRED", "FAILED"},
    "STARTED": {"PREEMPTED", "COMPLETED", "CANCELLED", "EXPIRED", "FAILED"},
    "PREEMPTED": {"STARTED", "CANCELLED", "EXPIRED", "FAILED"},
    "COMPLETED": {"DOWNLINKED", "PREEMPTED", "FAILED"},  # acked, or NAKed: rerun or give up
}
REASON_REQUIRED = ("REJECTED", "FAILED", "EXPIRED", "CANCELLED")
FAILURE_CODES = {
    "REJECTED": {JobFailure.INVALID_SPEC},
    "FAILED": {JobFailure.PAYLOAD_ERROR, JobFailure.RESULT_CORRUPTED, JobFailure.NO_BOARDS,
               JobFailure.REJECTED_BY_GROUND},
    "EXPIRED": {JobFailure.DEADLINE},
    "CANCELLED": {JobFailure.CANCELLED},
}
COUNTER_NAMES = ("preemptions", "checkpoints", "sdc_detected", "power_cycles")
UNKNOWN_ID = "ghost"

# The executor's table for the machine: quick board recovery (so faults play out within a
# few ticks), a PROGRESS report per quarter; the checkpoint cost, resume hold-off and
# rerun limit are drawn per run.
BASE_TABLE = dict(hang_ticks=2, power_cycle_attempts=1, no_response_ticks=2, progress_report_pct=25,
                  progress_min_ticks=0)


class Killed(Exception):
    """The executor process was killed (in the middle of a tick)."""


def check_lifecycle(job_id: str, stages: list[tuple[str, int]]) -> None:
    """Each stage legal after the one before (NEXT); PROGRESS only while STARTED."""
    was = None
    for stage, _ in stages:
        if stage == "PROGRESS":
            assert was == "STARTED", f"{job_id}: a PROGRESS stage while {was}: {stages}"
            continue
        assert stage in NEXT.get(was, set()), f"lifecycle: {job_id} went {was} -> {stage}: {stages}"
        was = stage


def last_state(stages: list[tuple[str, int]]) -> str | None:
    """The state a list of (stage, failure code) leaves a job in (PROGRESS changes none)."""
    for stage, _ in reversed(stages):
        if stage != "PROGRESS":
            return stage
    return None


# -------------------------------------------------------------------- the disk


def stored_stages(history: list[tuple[str, int, int]]) -> list[tuple[str, int]]:
    """(stage, failure code) of a job's history rows."""
    return [(s, c) for s, _, c in history]


@dataclass(frozen=True)
class DiskJob:
    spec: JobSpec
    order_no: int
    accepted_t_ns: int
    state: str
    reason: str
    failure_code: int
    checkpoint_gpu_s: float
    replica_gpu_s: tuple[float, ...]
    upsets: tuple[int, ...]
    reruns: int


@dataclass(frozen=True)
class Disk:
    """What the ledger file holds, read through its own read-only connection."""

    jobs: dict[str, DiskJob]
    history: dict[str, list[tuple[str, int, int]]]  # job -> (stage, t_ns, failure code), in order
    results: dict[str, tuple[bool, bytes, int]]  # job -> (acked, sha256, completed_t_ns)
    result_rows: int
    boards_out: frozenset[int]
    counters: dict[str, int]


def _json_list(text: str) -> tuple:
    return tuple(json.loads(text)) if text else ()


def read_disk(path: Path) -> Disk:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        jobs = {}
        for row in db.execute("SELECT job_id, spec, order_no, accepted_t_ns, state, reason, failure_code, "
                              "checkpoint_gpu_s, checkpoint_replica_gpu_s, checkpoint_upsets, reruns FROM jobs"):
            spec = JobSpec(*msgpack.unpackb(row[1], raw=False))
            jobs[row[0]] = DiskJob(spec, row[2], row[3], row[4], row[5], row[6], row[7], _json_list(row[8]),
                                   _json_list(row[9]), row[10])
        history: dict[str, list] = {}
        for job_id, stage, t_ns, code in db.execute(
                "SELECT job_id, state, t_ns, failure_code FROM history ORDER BY rowid"):
            history.setdefault(job_id, []).append((stage, t_ns, code))
        results = {r[0]: (bool(r[1]), bytes(r[2]), r[3])
                   for r in db.execute("SELECT job_id, acked, sha256, completed_t_ns FROM results")}
        (result_rows,) = db.execute("SELECT COUNT(*) FROM results").fetchone()
        boards_out = frozenset(b for (b,) in db.execute("SELECT board FROM boards WHERE in_service = 0"))
        counters = dict(db.execute("SELECT name, value FROM counters"))
    finally:
        db.close()
    return Disk(jobs, history, results, result_rows, boards_out, counters)


# ------------------------------------------------------------------- the model
@dataclass
class Expected:
    """What the ground knows of one job: its first upload, the executor's answer, and every
    stage it was told, in order, with DOWNLINKED added when it acknowledged the result."""

    spec: JobSpec
    accepted: bool | None = None  # None: uploaded in this tick, not answered yet
    stages: list[tuple[str, int]] = field(default_factory=list)
    naks: int = 0  # results the ground rejected (each may be followed by a new COMPLETED)
    cancelled: bool = False  # an EXEC_CANCEL_JOB for it was answered OK


def msg(body, src: str, seq: int, tick: int) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, tick, tick * S), body)


def bodies(outs, cls) -> list:
    return [o.body for o in outs if isinstance(o.body, cls)]


# What a run draws for its executor: the policy and the table's drawn entries.
START = dict(policy=st.sampled_from(sorted(POLICIES)), checkpoint_cost_s=st.sampled_from([0.0, 1.0]),
             holdoff=st.sampled_from([0, 3]), max_reruns=st.sampled_from([0, 1, 2]))


class ExecutorMachine(RuleBasedStateMachine):
    """The executor shell on a real ledger in a temporary folder, against a fake board bank."""

    def __init__(self) -> None:
        super().__init__()
        self.dir = Path(tempfile.mkdtemp(prefix="executor-stateful-"))
        self.path = self.dir / "executor.sqlite"
        self.app: ExecutorApp | None = None
        self.policy = "fifo"
        self.table = ExecutorTable(**BASE_TABLE)
        self.boards = FakeBoards()
        self.readings: BoardSensors | None = None  # what the world measured last tick: in this inbox
        self.cmd: BoardCommand | None = None  # what the executor commanded last tick: the world's next
        self.budget = PowerBudget(Mode.NOMINAL.value, 400.0, 400.0, 0.0, 0.8)
        self.caps = thermal_caps((100.0,) * N)
        self.tick = 1
        self.seq = 0
        self.cmd_id = 0
        self.next_job = 0
        self.model: dict[str, Expected] = {}
        self.restarted = False  # crashed and rebuilt, not stepped since
        self.last_command: tuple[Message, CommandResponse] | None = None  # to repeat (same cmd_id)
        self.clean_sha: dict[str, bytes] = {}  # job -> SHA-256 of its result without upsets

    # ------------------------------------------------------------ set-up
    @initialize(**START)
    def start(self, policy: str, checkpoint_cost_s: float, holdoff: int, max_reruns: int) -> None:
        self.policy = policy
        self.table = ExecutorTable(**BASE_TABLE, checkpoint_cost_s=checkpoint_cost_s,
                                   resume_holdoff_ticks=holdoff, max_reruns=max_reruns)
        self.app = ExecutorApp(self.dir, MODEL, policy, self.table)

    def teardown(self) -> None:
        if self.app is not None:
            self.app.close()
        shutil.rmtree(self.dir, ignore_errors=True)

    # -------------------------------------------------------------- a tick
    def _msg(self, body, src: str) -> Message:
        self.seq += 1
        return msg(body, src, self.seq, self.tick)

    def _command(self, opcode: Opcode, **args) -> Message:
        self.cmd_id += 1
        return self._msg(AppCommand("executor", int(opcode), self.cmd_id, "ground", args), "ground")

    def _step(self, *extra: Message) -> list:
        """One tick of the shell with the latest telemetry and ``extra``; the world then runs
        the command of the tick before (its readings reach the executor next tick)."""
        core = self.app.core
        before = {j: (list(job.done_gpu_s), list(job.ckpt_gpu_s), job.reruns, job.state)
                  for j, job in core.jobs.items()}
        sensors = self.readings
        inbox = [self._msg(self.budget, "power"), self._msg(self.caps, "thermal")]
        if sensors is not None:
            inbox.append(self._msg(sensors, "world"))
        inbox.extend(extra)
        outs = self.app.step(self.tick, self.tick * S, inbox)
        self.restarted = False
        self.readings = self.boards.run(self.cmd)
        sent = bodies(outs, BoardCommand)
        self.cmd = sent[-1] if sent else None
        naks = {m.body.job_id for m in extra if isinstance(m.body, ResultNak)}
        uploads = {m.body.job_id for m in extra if isinstance(m.body, JobSpec)}
        self._check_progress(before, sensors, naks)
        self._record_stages(outs, naks, uploads)
        self._check_sent(outs)
        self.tick += 1
        return outs

    def _check_progress(self, before: dict, sensors: BoardSensors | None, naks: set[str]) -> None:
        reported: dict[str, float] = {}
        if sensors is not None:
            for job_id, work in zip(sensors.job_id, sensors.work_gpu_s, strict=False):
                if job_id:
                    reported[job_id] = reported.get(job_id, 0.0) + work
        for job_id, job in self.app.core.jobs.items():
            done, ckpt = job.done_gpu_s, job.ckpt_gpu_s
            assert all(d >= c - GPU_S_TOL for d, c in zip(done, ckpt, strict=True)), \
                f"progress rule: {job_id} is behind its own checkpoint: {done} < {ckpt}"
            if job_id not in before:
                assert not any(done) and not any(ckpt), f"progress rule: new job {job_id} starts at {done}"
                continue
            done0, ckpt0, reruns0, _ = before[job_id]
            rerun = job.reruns == reruns0 + 1 and not any(done) and not any(ckpt)
            assert job.reruns in (reruns0, reruns0 + 1), f"{job_id}: reruns {reruns0} -> {job.reruns}"
            forward = (all(d >= d0 - GPU_S_TOL for d, d0 in zip(done, done0, strict=True))
                       and sum(done) - sum(done0) <= reported.get(job_id, 0.0) + GPU_S_TOL)
            rollback = done == ckpt0
            assert forward or rollback or rerun, (
                f"progress rule: {job_id} went {done0} -> {done} in tick {self.tick}: neither forward by at "
                f"most the {reported.get(job_id, 0.0)} GPU-s its boards reported, nor back to its checkpoint "
                f"{ckpt0}, nor to zero on a rerun (reruns {reruns0} -> {job.reruns})")
            assert rerun or all(c >= c0 - GPU_S_TOL for c, c0 in zip(ckpt, ckpt0, strict=True)), \
                f"progress rule: {job_id}'s checkpoint went back {ckpt0} -> {ckpt} without a rerun"
            if job.reruns > reruns0 and job_id in naks:
                assert before[job_id][3] == "COMPLETED", f"{job_id}: a NAK reran a job that was {before[job_id][3]}"

    def _record_stages(self, outs: list, naks: set[str], uploads: set[str]) -> None:
        """Every JobState the ground is sent, checked against the lifecycle and added to
        the model; every JobAck answers an upload of this tick."""
        acked = {a.job_id for a in bodies(outs, JobAck)}
        assert acked <= uploads, f"JobAcks for {sorted(acked - uploads)}, not uploaded in this tick"
        for body in bodies(outs, JobState):
            exp = self.model.get(body.job_id)
            assert exp is not None, f"JobState about {body.job_id!r}, a job nobody uploaded"
            was = last_state(exp.stages)
            if body.state == "PROGRESS":
                assert was == "STARTED", f"{body.job_id}: a PROGRESS report while {was}"
            else:
                assert body.state in NEXT.get(was, set()), \
                    f"lifecycle: {body.job_id} went {was} -> {body.state} ({body.reason!r})"
                if was == "COMPLETED":
                    assert body.job_id in naks, f"{body.job_id} left COMPLETED for {body.state} without a NAK"
                if body.state == "CANCELLED":
                    assert exp.cancelled, f"{body.job_id} CANCELLED without an accepted cancel command"
            exp.stages.append((body.state, body.failure_code))
            if body.state == "COMPLETED":
                assert body.work_done_gpu_s + GPU_S_TOL >= exp.spec.work_gpu_s, \
                    f"{body.job_id} COMPLETED with {body.work_done_gpu_s} of {exp.spec.work_gpu_s} GPU-s done"

    def _check_sent(self, outs: list) -> None:
        core = self.app.core
        for data in bodies(outs, ResultData):
            assert data.sha256 == sha256_digest(data.data), f"result of {data.job_id} sent with a wrong SHA-256"
            assert core.jobs[data.job_id].state == "COMPLETED", \
                f"a result of {data.job_id} went down while it is {core.jobs[data.job_id].state}"
        for cmd in bodies(outs, BoardCommand):
            for b in range(N):
                if cmd.on[b]:
                    job = core.running.get(cmd.job_id[b])
                    assert job is not None and b in job.boards, \
                        f"BoardCommand switches on board {b} for {cmd.job_id[b]!r}, which does not run there"

    # --------------------------------------------------------------- rules
    @rule(data=st.data(), twice=st.booleans())
    def upload(self, data, twice: bool) -> None:
        """A new job (sometimes twice in one inbox: the second is a duplicate)."""
        spec = data.draw(executor_job_specs(self._new_job_id(), self.tick * S, N), label="spec")
        self._upload(spec, twice)

    def _new_job_id(self) -> str:
        self.next_job += 1
        return f"j{self.next_job - 1}"

    def _upload(self, spec: JobSpec, twice: bool) -> None:
        """``spec`` uploaded in one tick (``twice``: two copies in the inbox), its answer
        checked and taken into the model."""
        job_id = spec.job_id
        self.model[job_id] = Expected(spec)
        msgs = [self._msg(spec, "comms")] * (2 if twice else 1)
        outs = self._step(*msgs)
        acks = [a for a in bodies(outs, JobAck) if a.job_id == job_id]
        assert len(acks) == len(msgs), f"{job_id}: {len(msgs)} uploads got {len(acks)} JobAcks"
        core = self.app.core
        boards_total = spec.boards_needed * replicas_of(spec)
        expect = spec.kind in ("synthetic", "matmul") and boards_total <= core.health.in_service_count()
        assert acks[0].accepted == expect, \
            f"{job_id}: accepted {acks[0].accepted}, expected {expect} ({acks[0].reason!r}; {spec})"
        assert expect or acks[0].reason, f"{job_id}: refused without a reason"
        self.model[job_id].accepted = acks[0].accepted
        if twice:
            assert (acks[1].accepted, acks[1].reason) == (acks[0].accepted, "duplicate"), \
                f"{job_id}: the same upload twice in one inbox was answered {acks}"
        answers = [s for s in bodies(outs, JobState) if s.job_id == job_id and s.state in ("ACCEPTED", "REJECTED")]
        assert len(answers) == 1, f"{job_id}: {len(answers)} ACCEPTED/REJECTED reports for one job"

    @precondition(lambda self: self.model)
    @rule(data=st.data(), changed=st.booleans())
    def upload_duplicate(self, data, changed: bool) -> None:
        """An upload of a known id (perhaps with other contents): no second effect."""
        job_id = data.draw(st.sampled_from(sorted(self.model)), label="job_id")
        exp = self.model[job_id]
        spec = exp.spec
        if changed:
            spec = JobSpec(job_id, spec.kind, spec.priority, spec.deadline_t_ns, spec.boards_needed,
                           spec.work_gpu_s + 1.0, spec.checkpoint_interval_s, 0, 64, 0, spec.seed + 1, spec.params)
        row_before = read_disk(self.path).jobs[job_id]
        outs = self._step(self._msg(spec, "comms"))
        acks = [a for a in bodies(outs, JobAck) if a.job_id == job_id]
        assert [(a.accepted, a.reason) for a in acks] == [(exp.accepted, "duplicate")], \
            f"duplicate of {job_id}: answered {acks}, expected the first answer ({exp.accepted}) repeated"
        assert not [s for s in bodies(outs, JobState) if s.job_id == job_id and s.state in ("ACCEPTED", "REJECTED")]
        row = read_disk(self.path).jobs[job_id]
        assert (row.spec, row.order_no, row.accepted_t_ns) == (exp.spec, row_before.order_no,
                                                              row_before.accepted_t_ns), \
            f"duplicate of {job_id} changed its ledger row"
        assert self.app.core.jobs[job_id].spec == exp.spec, f"duplicate of {job_id} changed the core's spec"

    @rule(data=st.data())
    def cancel(self, data) -> None:
        """EXEC_CANCEL_JOB for a known job in whatever state, or an unknown id."""
        live = sorted(self.app.core.live)
        if live and data.draw(st.booleans(), label="a live one"):
            job_id = data.draw(st.sampled_from(live), label="job_id")
        else:
            job_id = data.draw(st.sampled_from(sorted(self.model) + [UNKNOWN_ID]), label="job_id")
        was = read_disk(self.path).jobs.get(job_id)
        command = self._command(Opcode.EXEC_CANCEL_JOB, job_id=job_id)
        if was is not None and was.state in ACTIVE_STATES:
            self.model[job_id].cancelled = True
        outs = self._step(command)
        (resp,) = [r for r in bodies(outs, CommandResponse) if r.cmd_id == command.body.cmd_id]
        if was is None:
            expect = CmdStatus.VALIDATION_ERROR
        elif was.state in ACTIVE_STATES:
            expect = CmdStatus.OK
        else:
            expect = CmdStatus.EXECUTION_ERROR
        assert resp.status == expect.value, \
            f"cancel of {job_id} (stored as {was.state if was else 'unknown'}): {resp.status} {resp.detail!r}"
        if expect == CmdStatus.OK:
            row = read_disk(self.path).jobs[job_id]
            assert (row.state, row.failure_code) == ("CANCELLED", JobFailure.CANCELLED), \
                f"cancel of {job_id} answered OK but stored {row.state}/{row.failure_code}"
            reports = [s.state for s in bodies(outs, JobState) if s.job_id == job_id]
            assert reports[:1] == ["CANCELLED"], f"cancel of {job_id} reported {reports}"
        self.last_command = (command, resp)

    @precondition(lambda self: self.last_command is not None)
    @rule()
    def repeat_last_command(self) -> None:
        """The same command again (same source and cmd_id): the same answer, no second effect."""
        command, first = self.last_command
        outs = self._step(command)
        (resp,) = [r for r in bodies(outs, CommandResponse) if r.cmd_id == command.body.cmd_id]
        assert resp == first, f"a repeated command was answered {resp}, first {first}"

    @rule(mode=st.sampled_from([m.value for m in Mode]), compute_w=st.sampled_from([0.0, 30.0, 100.0, 250.0, 400.0]),
          min_priority=st.sampled_from([0, 0, 0, 3, 7]))
    def set_budget(self, mode: str, compute_w: float, min_priority: int) -> None:
        self.budget = PowerBudget(mode, compute_w, compute_w, 0.0, 0.5, min_priority=min_priority)

    @rule(caps=st.lists(st.sampled_from([0.0, 25.0, 100.0]), min_size=N, max_size=N))
    def set_caps(self, caps: list[float]) -> None:
        self.caps = ThermalCaps(cap_w=tuple(caps), shutdown=tuple(int(c == 0.0) for c in caps))

    @rule(ticks=st.sampled_from([1, 2, 3, 5, 8, 13, 20, 30]),
          fault=st.sampled_from(["none", "none", "upset", "upset", "hang", "sticky_hang", "dead"]),
          board=st.integers(0, N - 1), hits=st.integers(1, 3), fault_at=st.sampled_from([0, 0, 3, 8]),
          crash_after=st.sampled_from([0, 0, 0, 2, 4, 7]))
    def advance(self, ticks: int, fault: str, board: int, hits: int, fault_at: int, crash_after: int) -> None:
        """Ticks with board readings; perhaps a fault on one board (one at work, if any)
        after ``fault_at`` of them; perhaps a crash after tick ``crash_after`` (0: none)."""
        for i in range(ticks):
            if i == fault_at:
                self._fault(fault, board, hits)
            self._step()
            if i + 1 == crash_after:
                self.crash()

    def _fault(self, fault: str, board: int, hits: int) -> None:
        """``fault`` on the ``board``-th board at work (on ``board`` when none is): "upset"
        (``hits`` bit flips the next tick it works), "hang" (until power-cycled),
        "sticky_hang" (hangs whenever on), "dead" (no response until repaired)."""
        busy = sorted(b for job in self.app.core.running.values() for b in job.boards)
        b = busy[board % len(busy)] if busy else board
        if fault == "upset":
            self.boards.pending_hits[b] = self.boards.pending_hits.get(b, 0) + hits
        elif fault == "hang":
            self.boards.hung.add(b)
        elif fault == "sticky_hang":
            self.boards.sticky_hang.add(b)
        elif fault == "dead":
            self.boards.failed.add(b)

    @precondition(lambda self: self.app is not None
                  and any(job.checkpoint_gpu_s > 0.0 for job in self.app.core.running.values()))
    @rule(data=st.data(), fault=st.sampled_from(["hang", "dead"]))
    def fail_a_board_under_a_checkpointed_job(self, data, fault: str) -> None:
        """A board of a running job that has a checkpoint hangs or dies: the job goes back
        to that checkpoint (the per-tick progress rule checks it), the board is power-cycled
        or taken out."""
        core = self.app.core
        job_id = data.draw(st.sampled_from(sorted(j for j, job in core.running.items()
                                                  if job.checkpoint_gpu_s > 0.0)), label="job_id")
        board = data.draw(st.sampled_from(core.running[job_id].boards), label="board")
        (self.boards.hung if fault == "hang" else self.boards.failed).add(board)
        for _ in range(6):
            self._step()

    @precondition(lambda self: self.app is not None and self.app.core.live)
    @rule(kind=st.sampled_from(["SetState", "Checkpoint", "StoreResult", "RecordStage", "Rerun", "SaveCounters"]),
          after=st.booleans(), fault=st.sampled_from(["none", "upset", "hang"]), board=st.integers(0, N - 1))
    def kill_inside_a_tick(self, kind: str, after: bool, fault: str, board: int) -> None:
        """While jobs wait or run: ticks until one stores a ``kind`` operation, and the
        executor is killed just before or (``after``) just after storing it (at most 30)."""
        self._fault(fault, board, 1)
        for _ in range(30):
            if self._step_or_die(kind, after):
                return

    @rule(ticks=st.integers(10, 30))
    def run_a_while(self, ticks: int) -> None:
        """Quiet ticks, so jobs get to finish (the rules above mostly step once)."""
        for _ in range(ticks):
            self._step()

    @rule(max_bytes=st.sampled_from([0, 100, 10_000]), skip_one=st.booleans())
    def resync(self, max_bytes: int, skip_one: bool) -> None:
        """Comms asks for the results not yet acknowledged (perhaps holding one already)."""
        skip = tuple(sorted(self.app.core.unacked)[:1]) if skip_one else ()
        outs = self._step(self._msg(ResultResync("test", max_bytes, skip), "comms"))
        new = {r.job_id for r in bodies(outs, JobState) if r.state == "COMPLETED"}  # offered anyway
        offered = [d for d in bodies(outs, ResultData) if d.job_id not in new]
        assert not {d.job_id for d in offered} & set(skip), f"a resync sent {offered}, skipping {skip}"
        assert sum(len(d.data) for d in offered) <= max_bytes or len(offered) <= 1, \
            f"a resync for {max_bytes} bytes sent {[(d.job_id, len(d.data)) for d in offered]}"

    @rule(board=st.integers(0, N - 1), in_service=st.booleans())
    def board_service(self, board: int, in_service: bool) -> None:
        """EXEC_BOARD_SERVICE; a board put back is repaired first (as an operator would)."""
        if in_service:
            self.boards.failed.discard(board)
            self.boards.sticky_hang.discard(board)
            self.boards.hung.discard(board)
        command = self._command(Opcode.EXEC_BOARD_SERVICE, board=board, in_service=in_service)
        outs = self._step(command)
        (resp,) = [r for r in bodies(outs, CommandResponse) if r.cmd_id == command.body.cmd_id]
        assert resp.status == CmdStatus.OK.value, f"board service {board} {in_service}: {resp.detail!r}"
        # (one put back may go out again at once: this tick's readings predate the repair)
        assert in_service or board in self.app.core.health.out_of_service, f"board {board} still in service"
        self.last_command = (command, resp)

    def _step_or_die(self, kind: str, after: bool) -> bool:
        """A tick in which the executor is killed if it stores a ``kind`` operation: just
        before or (``after``) just after storing it (each store call commits on its own), so
        having sent nothing of that tick; the world goes on. Then it restarts, and the
        ground learns the rest from the reports that follow. True if it was killed."""
        self.the_ledger_on_disk_equals_the_model_and_the_core()  # nothing earlier hides behind the kill
        app = self.app
        store = app._apply

        def store_or_die(op) -> None:
            hit = type(op).__name__ == kind
            if hit and not after:
                raise Killed(op)
            store(op)
            if hit:
                raise Killed(op)

        app._apply = store_or_die  # this instance's, for this tick
        try:
            self._step()
        except Killed:
            self.readings = self.boards.run(self.cmd)
            self.cmd = None  # this tick's command was never sent
            self.tick += 1
            self.crash(killed=True)
            return True
        del app._apply
        return False

    @rule()
    def crash(self, killed: bool = False) -> None:
        """The executor dies between ticks and is rebuilt from the same sqlite file. Its
        connection is closed only to release the file: every store call had committed.
        ``killed``: it died inside a tick, so the ledger may hold stages nobody was told
        of: the model takes them from the ledger (checking they are legal)."""
        disk = read_disk(self.path)
        self.app.ledger.close()
        self.app = ExecutorApp(self.dir, MODEL, self.policy, self.table)
        self.restarted = True
        self.readings = None  # what the world sent to the dead process is lost
        self.last_command = None  # command idempotency is not kept across a restart
        core = self.app.core
        assert set(core.jobs) == set(disk.jobs), "a restart lost or invented jobs"
        for job_id, row in disk.jobs.items():
            job = core.jobs[job_id]
            expect_state = "PREEMPTED" if row.state == "STARTED" else row.state
            assert job.state == expect_state, f"restart: {job_id} stored {row.state}, restored {job.state}"
            if job.active:
                expect = list(row.replica_gpu_s) if row.replica_gpu_s else [row.checkpoint_gpu_s] * job.replicas
                assert job.done_gpu_s == expect and job.ckpt_gpu_s == expect, \
                    f"restart: {job_id} resumes at {job.done_gpu_s}, its stored checkpoint is {expect}"
                assert job.reruns == row.reruns
        if killed:
            for job_id, exp in self.model.items():
                stages = stored_stages(disk.history[job_id])
                check_lifecycle(job_id, stages)
                assert stages[:len(exp.stages)] == exp.stages, \
                    f"{job_id}: a kill inside a tick changed stages already reported: {stages} vs {exp.stages}"
                exp.stages = stages

    @precondition(lambda self: self.model)
    @rule(data=st.data(), nak=st.booleans())
    def answer_result(self, data, nak: bool) -> None:
        """The ground acknowledges (ResultAck) or rejects (ResultNak) a result: usually one
        waiting, sometimes any job's (which must change nothing)."""
        core = self.app.core
        waiting = sorted(core.unacked)
        # any job's, running ones too: an answer about an earlier result must not touch a
        # result stored in this very tick (test_an_answer_sent_before_its_result_existed_is_ignored)
        others = sorted(self.model)
        pool = waiting if waiting and (data.draw(st.integers(0, 3), label="pick") or not others) else others
        if not pool:
            return
        job_id = data.draw(st.sampled_from(pool), label="job_id")
        job = core.jobs[job_id]
        open_result = job_id in core.unacked
        assert open_result == (job.state == "COMPLETED"), f"{job_id} is {job.state}, unacked {open_result}"
        reruns = job.reruns
        body = ResultNak(job_id, "regenerated result differs") if nak else ResultAck(job_id)
        if open_result and not nak:
            self.model[job_id].stages.append(("DOWNLINKED", 0))
        if open_result and nak:
            self.model[job_id].naks += 1
        outs = self._step(self._msg(body, "comms"))
        reports = [(s.state, s.failure_code) for s in bodies(outs, JobState) if s.job_id == job_id]
        if not open_result:  # the job may move this tick, but not because of the answer
            assert core.jobs[job_id].reruns == reruns and ("DOWNLINKED", 0) not in reports and \
                ("FAILED", JobFailure.REJECTED_BY_GROUND) not in reports, \
                f"an answer about {job_id} with no result waiting changed it: {reports}"
        elif not nak:
            assert not reports and core.jobs[job_id].state == "DOWNLINKED", f"ack of {job_id}: {reports}"
        elif reruns >= self.table.max_reruns:
            assert reports[:1] == [("FAILED", JobFailure.REJECTED_BY_GROUND)], f"NAK of {job_id}: {reports}"
        else:
            assert reports[:1] == [("PREEMPTED", 0)], f"NAK of {job_id}: {reports}"
            assert core.jobs[job_id].reruns == reruns + 1

    # ---------------------------------------------------------- invariants
    @invariant()
    def every_job_is_in_exactly_one_state(self) -> None:
        core = self.app.core
        assert set(core.running) <= set(core.live) <= set(core.jobs)
        for job_id, job in core.jobs.items():
            assert job.state in LIFECYCLE, f"{job_id} is in no lifecycle state: {job.state!r}"
            assert (core.live.get(job_id) is job) == job.active, f"{job_id} ({job.state}): live view disagrees"
            assert (core.running.get(job_id) is job) == (job.state == "STARTED"), \
                f"{job_id} ({job.state}): running view disagrees"
        for state in FINAL_STATES:
            n = sum(1 for j in core.jobs.values() if j.state == state)
            assert core.counts.get(state, 0) == n, f"counts[{state}] = {core.counts.get(state, 0)}, jobs {n}"

    @invariant()
    def boards_hold_one_job_each_and_all_in_service(self) -> None:
        core = self.app.core
        owner: dict[int, str] = {}
        for job_id, job in core.running.items():
            assert len(job.boards) == job.boards_total, f"{job_id} runs on {job.boards}, needs {job.boards_total}"
            for b in job.boards:
                assert b not in owner, f"board {b} given to {owner[b]} and {job_id}"
                assert b not in core.health.out_of_service, f"{job_id} runs on board {b}, out of service"
                owner[b] = job_id

    @invariant()
    def the_ledger_on_disk_equals_the_model_and_the_core(self) -> None:
        disk = read_disk(self.path)
        core = self.app.core
        assert set(disk.jobs) == set(self.model), \
            f"ledger jobs {sorted(disk.jobs)} != uploaded {sorted(self.model)}: lost or invented"
        assert set(core.jobs) == set(self.model), "the core's jobs differ from the uploads"
        for job_id, exp in self.model.items():
            row, job = disk.jobs[job_id], core.jobs[job_id]
            stages = stored_stages(disk.history.get(job_id, []))
            assert stages == exp.stages, f"{job_id}: stored stages {stages} != reported {exp.stages}"
            state = last_state(exp.stages)
            assert row.state == state, f"{job_id}: stored {row.state}, the ground was told {state}"
            code = exp.stages[-1][1] if state != "DOWNLINKED" else 0
            assert (row.spec, row.failure_code) == (exp.spec, code), \
                f"{job_id}: stored {row.spec} code {row.failure_code}, uploaded {exp.spec}, reported code {code}"
            assert (state != "REJECTED") == exp.accepted, f"{job_id}: accepted {exp.accepted}, stored {state}"
            assert job.state == row.state or (self.restarted and (row.state, job.state) == ("STARTED", "PREEMPTED")), \
                f"{job_id}: core {job.state}, ledger {row.state}"
            if state in REASON_REQUIRED:
                assert row.reason and row.failure_code in FAILURE_CODES[state], \
                    f"{job_id} ended {state} with reason {row.reason!r}, code {row.failure_code}"
            if state == "EXPIRED":
                assert exp.spec.deadline_t_ns >= 0, f"{job_id} expired without a deadline"
            assert row.reruns == job.reruns, f"{job_id}: reruns stored {row.reruns}, core {job.reruns}"
            if job.active:
                stored = list(row.replica_gpu_s) if row.replica_gpu_s else [row.checkpoint_gpu_s] * job.replicas
                assert stored == job.ckpt_gpu_s, f"{job_id}: checkpoint stored {stored}, core {job.ckpt_gpu_s}"
                ups = tuple(job.ckpt_upsets) if any(job.ckpt_upsets) else ()
                assert row.upsets == ups, f"{job_id}: checkpoint upsets stored {row.upsets}, core {ups}"
            self._check_result(job_id, exp, state, disk)
        assert disk.result_rows == len(disk.results)
        unacked = {j for j, (acked, _, _) in disk.results.items() if not acked}
        assert unacked == core.unacked == set(self.app.unacked_sizes), \
            f"unacked results: ledger {sorted(unacked)}, core {sorted(core.unacked)}"
        assert disk.boards_out == set(core.health.out_of_service), \
            f"boards out of service: ledger {sorted(disk.boards_out)}, core {sorted(core.health.out_of_service)}"
        values = (core.preemptions, core.checkpoints, core.sdc_detected, core.health.power_cycles)
        stored = tuple(disk.counters.get(n, 0) for n in COUNTER_NAMES)
        assert stored == values, f"counters stored {stored}, core {values}"

    def _check_result(self, job_id: str, exp: Expected, state: str | None, disk: Disk) -> None:
        """At most one result per job, there exactly while it is COMPLETED (unacked) or
        DOWNLINKED (acked); a second COMPLETED only after a NAK; a matmul or dual result is
        the clean one (an upset there is caught on board)."""
        completions = [t for s, t, _ in disk.history.get(job_id, []) if s == "COMPLETED"]
        assert len(completions) <= 1 + exp.naks, f"{job_id} COMPLETED {len(completions)} times, {exp.naks} NAKs"
        result = disk.results.get(job_id)
        if state not in ("COMPLETED", "DOWNLINKED"):
            assert result is None, f"{job_id} is {state} but a result is stored"
            return
        assert result is not None, f"{job_id} is {state} without a stored result"
        acked, sha, t_ns = result
        assert acked == (state == "DOWNLINKED"), f"{job_id} is {state}, result acked {acked}"
        assert t_ns == completions[-1], f"{job_id}: the stored result is not the last completion's"
        spec = exp.spec
        assert spec.deadline_t_ns < 0 or t_ns <= spec.deadline_t_ns, \
            f"{job_id} completed at {t_ns}, after its deadline {spec.deadline_t_ns}"
        if spec.kind == "matmul" or replicas_of(spec) > 1:
            if job_id not in self.clean_sha:
                clean = compute_result(spec, [0] * replicas_of(spec)).data
                self.clean_sha[job_id] = sha256_digest(clean)
            assert sha == self.clean_sha[job_id], f"{job_id}: a corrupted {spec.kind} result was stored"


MACHINE_SETTINGS = settings(max_examples=60, stateful_step_count=40, deadline=None,
                            suppress_health_check=[HealthCheck.too_slow])


class TestTheExecutorKeepsItsInvariantsThroughAnySequenceOfEvents(ExecutorMachine.TestCase):
    settings = MACHINE_SETTINGS


@pytest.mark.slow
@pytest.mark.timeout(1800)  # about 150 s when it passes; shrinking a failure takes longer
def test_the_executor_keeps_its_invariants_over_a_long_campaign():
    run_state_machine_as_test(ExecutorMachine, settings=settings(
        MACHINE_SETTINGS, max_examples=1000, stateful_step_count=60))


# ------------------------------------------------------------- the test can fail
# A quick run that stops at the first failure (no shrinking), the same examples each time.
PROBE = settings(max_examples=100, stateful_step_count=40, deadline=None, derandomize=True, database=None,
                 phases=[Phase.generate], report_multiple_bugs=False,
                 suppress_health_check=[HealthCheck.too_slow])
SETUP_TICKS = 12  # [ticks] the probe's first job holds a checkpoint well within this


class ACheckpointedJobRunsFirst(ExecutorMachine):
    """The machine, every run of which starts with a job at work on two boards that holds a
    checkpoint: for the probes of faults that only show under a checkpointed job.

    Why: from a bare start the machine rarely meets a hang or dead board under a
    checkpointed job: over 24 random seeds, 10 needed more than 100 runs to find a core
    that rolls back past its checkpoint. ``derandomize`` does not pin that luck down:
    hypothesis also draws (5% of integer draws) from a pool of the literals of every
    project module imported so far, so the same seed makes other runs when other test
    files were collected (this folder found it, the full suite did not). From this start,
    60 random seeds found it within 37 runs (most within 8). The job's 400 GPU-s (200 ticks)
    outlast most runs, so it is there to be faulted throughout."""

    @initialize(**START)
    def start(self, policy: str, checkpoint_cost_s: float, holdoff: int, max_reruns: int) -> None:
        super().start(policy, checkpoint_cost_s, holdoff, max_reruns)
        job_id = self._new_job_id()
        self._upload(JobSpec(job_id, "synthetic", 0, -1, 2, 400.0, 2.0, 0, 64, 0, 7, {}), twice=False)
        for _ in range(SETUP_TICKS):
            job = self.app.core.running.get(job_id)
            if job is not None and job.checkpoint_gpu_s > 0.0:
                return
            self._step()
        raise RuntimeError(f"set-up: {job_id} holds no checkpoint after {SETUP_TICKS} ticks")


def test_the_machine_finds_a_shell_that_does_not_store_starts(monkeypatch):
    real = shell_module.apply_op

    def lossy(ledger, op):
        if not (isinstance(op, SetState) and op.state == "STARTED"):
            real(ledger, op)

    monkeypatch.setattr(shell_module, "apply_op", lossy)
    with pytest.raises(AssertionError, match="stored stages"):
        run_state_machine_as_test(ExecutorMachine, settings=PROBE)


def test_the_machine_finds_a_shell_that_does_not_store_checkpoints(monkeypatch):
    real = shell_module.apply_op

    def lossy(ledger, op):
        if not isinstance(op, Checkpoint):
            real(ledger, op)

    monkeypatch.setattr(shell_module, "apply_op", lossy)
    with pytest.raises(AssertionError, match="checkpoint stored"):
        run_state_machine_as_test(ACheckpointedJobRunsFirst, settings=PROBE)


def test_the_machine_finds_a_core_that_rolls_back_past_the_checkpoint(monkeypatch):
    def to_zero(job: Job) -> None:  # a hung or dead board loses all the work, not only the unsaved
        job.done_gpu_s = [0.0] * job.replicas
        job.upsets = list(job.ckpt_upsets)

    monkeypatch.setattr(Job, "roll_back", to_zero)
    with pytest.raises(AssertionError, match="progress rule"):
        run_state_machine_as_test(ACheckpointedJobRunsFirst, settings=PROBE)


# ------------------------------------------------------ what the machine found
class Rig:
    """The shell on a ledger in ``store_dir`` against the fake boards, on 1 s ticks from
    tick 1; every inbox carries a 400 W budget, full thermal caps and the readings of the
    tick before (the machine's tick, without its checks)."""

    def __init__(self, store_dir: Path, table: ExecutorTable) -> None:
        self.app = ExecutorApp(store_dir, MODEL, "fifo", table)
        self.boards = FakeBoards()
        self.readings: BoardSensors | None = None
        self.cmd: BoardCommand | None = None
        self.tick = 1

    def step(self, *extra) -> list:
        inbox = [PowerBudget(Mode.NOMINAL.value, 400.0, 400.0, 0.0, 0.8), thermal_caps((100.0,) * N)]
        inbox += [self.readings] if self.readings is not None else []
        inbox += list(extra)
        outs = self.app.step(self.tick, self.tick * S, [msg(b, "test", i + 1, self.tick) for i, b in enumerate(inbox)])
        self.readings = self.boards.run(self.cmd)
        sent = bodies(outs, BoardCommand)
        self.cmd = sent[-1] if sent else None
        self.tick += 1
        return outs

    def until(self, predicate, limit: int = 30) -> list:
        """Step until ``predicate(core)`` holds; every JobState sent meanwhile."""
        reports = []
        for _ in range(limit):
            if predicate(self.app.core):
                return reports
            reports += bodies(self.step(), JobState)
        raise AssertionError(f"condition not reached within {limit} ticks")


def test_a_nak_that_fails_a_job_stores_only_the_reported_stages(tmp_path):
    rig = Rig(tmp_path, ExecutorTable(**BASE_TABLE, checkpoint_cost_s=0.0, max_reruns=0))
    spec = JobSpec("a", "synthetic", 0, -1, 1, 2.0, 0.0, 0, 64, 0, 7, {})
    reports = bodies(rig.step(spec), JobState)
    reports += rig.until(lambda core: core.jobs["a"].state == "COMPLETED")
    reports += bodies(rig.step(ResultNak("a", "regenerated result differs")), JobState)
    reported = [(r.state, r.failure_code) for r in reports if r.job_id == "a"]
    assert reported[-1] == ("FAILED", JobFailure.REJECTED_BY_GROUND)
    stored = [(s.state, s.failure_code) for s in rig.app.ledger.stages("a")]
    rig.app.close()
    assert stored == reported, f"stored stages {stored}, reported {reported}"


@pytest.mark.parametrize("answer", [ResultNak("a", "sent for an earlier result"), ResultAck("a")],
                         ids=["nak", "ack"])
def test_an_answer_sent_before_its_result_existed_is_ignored(tmp_path, answer):
    rig = Rig(tmp_path, ExecutorTable(**BASE_TABLE, checkpoint_cost_s=0.0, max_reruns=2))
    rig.step(JobSpec("a", "synthetic", 0, -1, 1, 3.0, 0.0, 0, 64, 0, 7, {}))
    rig.until(lambda core: core.jobs["a"].progress_gpu_s >= 2.0)  # one more tick of work completes it
    outs = rig.step(answer)  # the ground sent it a tick ago: no result of this run existed
    completed = [r.state for r in bodies(outs, JobState) if r.job_id == "a"][:1] == ["COMPLETED"]
    offered = [d.job_id for d in bodies(outs, ResultData)]
    state, unacked = rig.app.core.jobs["a"].state, "a" in rig.app.core.unacked
    rig.app.close()
    assert completed, "the job did not complete in the tick the answer arrived: the test no longer tests that"
    assert (state, unacked, offered) == ("COMPLETED", True, ["a"]), \
        f"an answer sent before the result existed moved it: state {state}, unacked {unacked}, offered {offered}"
