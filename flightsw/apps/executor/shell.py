"""Job executor shell: feeds the core from the bus, applies its store operations to the
sqlite ledger, then sends its messages (durable before acknowledged)."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from flightsw.apps.common import latest, of_type
from flightsw.apps.executor.core import (
    AddJob,
    Checkpoint,
    DiscardResult,
    ExecInputs,
    ExecutorCore,
    MarkDownlinked,
    OfferResult,
    OfferResults,
    SetState,
    StoreResult,
)
from flightsw.bus.participant import Out
from flightsw.icd.messages import (
    BoardCommand,
    BoardSensors,
    JobAck,
    JobSpec,
    JobState,
    Message,
    PowerBudget,
    ResultAck,
    ResultData,
    ResultNak,
    ResultResync,
    ThermalCaps,
)
from flightsw.sched import POLICIES, BoardModel
from flightsw.store.ledger import Ledger

__all__ = ["ExecutorApp", "make"]

COMMS = "comms"
WORLD = "world"


class ExecutorApp:
    name = "executor"
    period_ticks = 1
    subscriptions = frozenset(
        {PowerBudget.KIND, ThermalCaps.KIND, BoardSensors.KIND, JobSpec.KIND, ResultAck.KIND,
         ResultNak.KIND, ResultResync.KIND}
    )

    def __init__(self, store_dir: Path, model: BoardModel, policy: str) -> None:
        if policy not in POLICIES:
            raise ValueError(f"policy: expected one of {sorted(POLICIES)}, got {policy!r}")
        self.ledger = Ledger(Path(store_dir) / "executor.sqlite")
        self.core = ExecutorCore(model=model, policy=POLICIES[policy])
        # job_id -> result size [bytes] of unacknowledged results, oldest first (dicts keep
        # insertion order): answers resyncs without scanning the result table every minute.
        self.unacked_sizes: dict[str, int] = dict(self.ledger.unacked_sizes())
        self.core.restore(self.ledger.jobs(), list(self.unacked_sizes))

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        inp = ExecInputs(
            budget=latest(inbox, PowerBudget),
            caps=latest(inbox, ThermalCaps),
            boards=latest(inbox, BoardSensors),
            submits=[m.body for m in of_type(inbox, JobSpec)],
            acks=[m.body for m in of_type(inbox, ResultAck)],
            naks=[m.body for m in of_type(inbox, ResultNak)],
            resync=latest(inbox, ResultResync),
        )
        ops, items = self.core.step(tick, t_ns, inp)
        for op in ops:  # durable first
            self._apply(op)
        outs = []
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
        return outs

    def _apply(self, op) -> None:
        led = self.ledger
        if isinstance(op, AddJob):
            led.add_job(op.spec, op.state, op.reason, op.t_ns)
        elif isinstance(op, SetState):
            led.set_state(op.job_id, op.state, op.t_ns, op.reason)
        elif isinstance(op, Checkpoint):
            led.checkpoint(op.progress_gpu_s, op.t_ns)
        elif isinstance(op, StoreResult):
            led.store_result(op.job_id, op.kind, op.data, op.sha256, op.t_ns, op.work_gpu_s)
            self.unacked_sizes[op.job_id] = len(op.data)
        elif isinstance(op, MarkDownlinked):
            led.mark_downlinked(op.job_id, op.t_ns)
            self.unacked_sizes.pop(op.job_id, None)
        elif isinstance(op, DiscardResult):
            led.discard_result(op.job_id, op.t_ns, op.reason)
            self.unacked_sizes.pop(op.job_id, None)
        else:
            raise TypeError(f"unknown store operation {op!r}")

    def _offer(self, job_id: str) -> list[Out]:
        row = self.ledger.result(job_id)
        if row is None or row.acked:
            return []
        return [Out(ResultData(row.job_id, row.kind, row.data, row.sha256, row.completed_t_ns), COMMS)]

    def _offer_many(self, max_bytes: int, skip: frozenset[str]) -> list[Out]:
        """Unacknowledged results, oldest first, that fit in ``max_bytes`` together (a result
        that does not fit is passed over, so one large result blocks none behind it; when
        nothing fits, the oldest alone is offered, so a result larger than the room still
        goes once comms has drained)."""
        chosen, total = [], 0
        pending = [(j, size) for j, size in self.unacked_sizes.items() if j not in skip]
        for job_id, size in pending:
            if total + size <= max_bytes:
                chosen.append(job_id)
                total += size
        if not chosen and pending:
            chosen.append(pending[0][0])
        outs = []
        for job_id in chosen:
            row = self.ledger.result(job_id)
            if row is not None:
                outs.append(Out(ResultData(row.job_id, row.kind, row.data, row.sha256, row.completed_t_ns), COMMS))
        return outs

    def final_report(self) -> dict:
        by_state: dict[str, int] = {}
        for job in self.ledger.jobs():
            by_state[job.state] = by_state.get(job.state, 0) + 1
        return {
            "job_ids": sorted(j.spec.job_id for j in self.ledger.jobs()),
            "jobs_by_state": by_state,
            "work_done_gpu_s": self.core.work_done_gpu_s,
            "unacked_results": len(self.core.unacked),
        }

    def close(self) -> None:
        self.ledger.close()


def make(start_tick: int, store_dir: str, board_model: dict, policy: str = "fifo") -> ExecutorApp:
    return ExecutorApp(Path(store_dir), BoardModel(**board_model), policy)
