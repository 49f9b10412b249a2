"""Job executor shell: feeds the core from the bus, answers commands through the app
framework, applies the core's store operations to the sqlite ledger, then sends its
messages (durable before acknowledged).

Order in a tick: commands (EXEC_CANCEL_JOB, EXEC_BOARD_SERVICE, table loads...) are
handled first, then the core steps; the store operations of both are applied; only then
is anything sent, command responses included.

Tables: "executor" (table.py, the parameters) and "contacts" (contacts.py, the contact
plan the policy plans the downlink with), each loaded, validated whole and activated
through the framework; the core takes the active ones before it steps. As for the power
manager, a table loaded in flight is not stored: a restarted executor starts from the
tables it is built with.

RESET_COUNTERS resets the framework's command and event counters only: the executor's
run totals (jobs by state, preemptions, checkpoints, detections, power cycles) are
mission data kept in the ledger, not housekeeping counters.
"""

from __future__ import annotations

import dataclasses
import types
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from flightsw.apps.executor.contacts import ContactTable
from flightsw.apps.executor.core import ExecInputs, ExecutorCore
from flightsw.apps.executor.downlink import choose_results, result_value
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
from flightsw.apps.executor.table import ExecutorTable
from flightsw.apps.framework import (
    FRAMEWORK_KINDS,
    AppFramework,
    TableService,
    arg_bool,
    arg_int,
    arg_str,
    table_from_mapping,
)
from flightsw.bus.participant import Out
from flightsw.icd.messages import (
    BoardCommand,
    BoardSensors,
    JobAck,
    JobSpec,
    JobState,
    Message,
    Opcode,
    PowerBudget,
    ResultAck,
    ResultData,
    ResultNak,
    ResultResync,
    ThermalCaps,
)
from flightsw.sched import POLICIES, BoardModel
from flightsw.store.ledger import Ledger

__all__ = ["ExecutorApp", "make", "apply_op", "HOUSEKEEPING_EVERY_TICKS"]

COMMS = "comms"
WORLD = "world"
HOUSEKEEPING_EVERY_TICKS = 10


class ExecutorApp:
    name = "executor"
    period_ticks = 1
    subscriptions = frozenset(
        {PowerBudget.KIND, ThermalCaps.KIND, BoardSensors.KIND, JobSpec.KIND, ResultAck.KIND,
         ResultNak.KIND, ResultResync.KIND} | FRAMEWORK_KINDS
    )

    def __init__(self, store_dir: Path, model: BoardModel, policy: str, table: ExecutorTable | None = None,
                 contacts: ContactTable | None = None) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy: expected one of {sorted(POLICIES)}, got {policy!r}")
        table = table or ExecutorTable()
        contacts = contacts if contacts is not None else ContactTable()
        self.model = model
        self.ledger = Ledger(Path(store_dir) / "executor.sqlite")
        self.core = ExecutorCore(model=model, policy=POLICIES[policy], table=table, contacts=contacts)
        self.fw = AppFramework(
            "executor", tables=TableService({"executor": table, "contacts": contacts}), events=self.core.events,
            handlers={Opcode.EXEC_CANCEL_JOB: self._cmd_cancel, Opcode.EXEC_BOARD_SERVICE: self._cmd_board_service},
        )
        self._t_ns = 0
        # job_id -> result size [bytes] of unacknowledged results, oldest first (dicts keep
        # insertion order): answers resyncs without scanning the result table every minute.
        self.unacked_sizes: dict[str, int] = dict(self.ledger.unacked_sizes())
        self.core.restore(self.ledger.jobs(), list(self.unacked_sizes), self.ledger.boards_out_of_service(),
                          self.ledger.counters())

    # ------------------------------------------------------------------ step
    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        self._t_ns = t_ns
        answers = self.fw.handle(tick, inbox)  # commands act on the core; their ops come out of step
        active = self.fw.tables.active
        if active["executor"] is not self.core.table:  # a new table is active
            self.core.table = active["executor"]
        if active["contacts"] is not self.core.contacts:  # a new contact plan
            self.core.contacts = active["contacts"]
        inp = _inputs(inbox)
        ops, items = self.core.step(tick, t_ns, inp)
        for op in ops:  # durable first
            self._apply(op)
        outs = [Out(body, dst) for body, dst in answers]
        for item in items:
            if isinstance(item, OfferResult):
                outs.extend(self._offer(item.job_id))
            elif isinstance(item, OfferResults):
                outs.extend(self._offer_many(item.max_bytes, item.skip))
            elif isinstance(item, BoardCommand):
                outs.append(Out(item, WORLD))
            elif isinstance(item, (JobAck, JobState)):
                outs.append(Out(item, COMMS))
            else:
                outs.append(Out(item))
        if tick % HOUSEKEEPING_EVERY_TICKS == 0:
            outs.append(Out(self.fw.housekeeping()))
        return outs

    # -------------------------------------------------------------- commands
    def _cmd_cancel(self, args: Mapping[str, Any], tick: int) -> str:
        return self.core.cancel(arg_str(args, "job_id"), self._t_ns)

    def _cmd_board_service(self, args: Mapping[str, Any], tick: int) -> str:
        board = arg_int(args, "board", 0, self.model.n_boards - 1)
        return self.core.set_board_service(board, arg_bool(args, "in_service"), self._t_ns)

    # ----------------------------------------------------------------- store
    def _apply(self, op) -> None:
        apply_op(self.ledger, op)
        if isinstance(op, StoreResult):
            self.unacked_sizes[op.job_id] = len(op.data)
        elif isinstance(op, (MarkDownlinked, DiscardResult)):
            self.unacked_sizes.pop(op.job_id, None)

    # -------------------------------------------------------------- downlink
    def _offer(self, job_id: str) -> list[Out]:
        row = self.ledger.result(job_id)
        if row is None or row.acked:
            return []
        return [Out(ResultData(row.job_id, row.kind, row.data, row.sha256, row.completed_t_ns), COMMS)]

    def _offer_many(self, max_bytes: int, skip: frozenset[str]) -> list[Out]:
        """Unacknowledged results, most valuable first, that fit in ``max_bytes``
        (downlink.choose_results)."""
        pending = []
        for job_id, size in self.unacked_sizes.items():
            job = self.core.jobs.get(job_id)
            value = 0.0 if job is None else result_value(job.spec.priority, job.spec.work_gpu_s,
                                                         job.spec.deadline_t_ns, self._t_ns)
            pending.append((job_id, size, value))
        outs = []
        for job_id in choose_results(pending, max_bytes, skip):
            outs.extend(self._offer(job_id))
        return outs

    # ------------------------------------------------------------ reporting
    def statistics(self) -> Mapping[str, Any]:
        s = self.core.statistics()
        d = {f.name: getattr(s, f.name) for f in dataclasses.fields(s)}
        return types.MappingProxyType({**d, **self.fw.statistics()})

    def final_report(self) -> dict:
        rows = self.ledger.jobs()
        by_state: dict[str, int] = {}
        for job in rows:
            by_state[job.state] = by_state.get(job.state, 0) + 1
        s = self.core.statistics()
        return {
            "job_ids": sorted(j.spec.job_id for j in rows),
            "jobs_by_state": by_state,
            # the jobs the core holds in memory, by state: in a final state, it must agree with
            # the ledger on disk (the states on the way are stored at checkpoints only)
            "jobs_by_state_in_memory": dict(sorted(Counter(j.state for j in self.core.jobs.values()).items())),
            "work_done_gpu_s": self.core.work_done_gpu_s,
            "unacked_results": len(self.core.unacked),
            "sdc_detected": s.sdc_detected,
            "sdc_detected_jobs": list(s.sdc_detected_jobs),
            "sdc_discarded_jobs": list(s.sdc_discarded_jobs),
            "preemptions": s.preemptions,
            "checkpoints": s.checkpoints,
            "power_cycles": s.power_cycles,
            "boards_out_of_service": list(s.boards_out_of_service),
            "bad_plans": s.bad_plans,
        }

    def close(self) -> None:
        self.ledger.close()


_LATEST = {PowerBudget: "budget", ThermalCaps: "caps", BoardSensors: "boards", ResultResync: "resync"}
_ALL = {JobSpec: "submits", ResultAck: "acks", ResultNak: "naks"}


def _inputs(inbox: Sequence[Message]) -> ExecInputs:
    """The core's inputs from one inbox, in one pass: the newest telemetry of each kind
    (as ``common.latest``), every JobSpec, ResultAck and ResultNak in order."""
    kw: dict[str, Any] = {}
    for m in inbox:
        body = m.body
        cls = type(body)
        name = _LATEST.get(cls)
        if name is not None:
            kw[name] = body
            continue
        name = _ALL.get(cls)
        if name is not None:
            kw.setdefault(name, []).append(body)
    return ExecInputs(**kw)


def apply_op(ledger: Ledger, op) -> None:
    """Apply one store operation of the core to the ledger (one transaction each)."""
    if isinstance(op, AddJob):
        ledger.add_job(op.spec, op.state, op.reason, op.t_ns, op.failure_code)
    elif isinstance(op, SetState):
        ledger.set_state(op.job_id, op.state, op.t_ns, op.reason, op.failure_code)
    elif isinstance(op, Checkpoint):
        ledger.checkpoint(op.progress_gpu_s, op.t_ns, op.replica_gpu_s, op.upsets)
    elif isinstance(op, RecordStage):
        ledger.record_stage(op.job_id, op.stage, op.t_ns, op.reason)
    elif isinstance(op, Rerun):
        ledger.rerun(op.job_id, op.reruns, op.t_ns, op.reason, sdc_detected=True)
    elif isinstance(op, CountSdc):
        ledger.count_sdc(op.job_id)
    elif isinstance(op, StoreResult):
        ledger.store_result(op.job_id, op.kind, op.data, op.sha256, op.t_ns, op.work_gpu_s)
    elif isinstance(op, MarkDownlinked):
        ledger.mark_downlinked(op.job_id, op.t_ns)
    elif isinstance(op, DiscardResult):
        ledger.discard_result(op.job_id, op.t_ns, op.reason, op.reruns, op.state, op.failure_code)
    elif isinstance(op, SetBoardService):
        ledger.set_board_service(op.board, op.in_service, op.t_ns, op.reason)
    elif isinstance(op, SaveCounters):
        ledger.save_counters(op.values)
    else:
        raise TypeError(f"unknown store operation {op!r}")


def make(start_tick: int, store_dir: str, board_model: dict, policy: str = "predictive",
         table: dict | None = None, contacts: list | None = None) -> ExecutorApp:
    """``table``: fields of the "executor" table (ExecutorTable) over its defaults;
    ``contacts``: the contact plan, [aos_t_ns, los_t_ns] pairs (the "contacts" table's
    ``passes``; None: none). Bad fields raise TableError naming the field."""
    base = ExecutorTable()
    return ExecutorApp(Path(store_dir), BoardModel(**board_model), policy,
                       table_from_mapping(ExecutorTable, table, base=base) if table else base,
                       table_from_mapping(ContactTable, {"passes": list(contacts or ())}))
