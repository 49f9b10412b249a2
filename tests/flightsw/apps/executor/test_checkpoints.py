"""Checkpoints, preemption and crash recovery: a checkpoint costs board time, a
preemption loses nothing, a crash loses only the work since the last checkpoint, and a
restart keeps reruns and the upsets inside a checkpoint (real sqlite ledger)."""

from __future__ import annotations

import pytest

from flightsw.apps.executor.core import ExecutorCore
from flightsw.apps.executor.ops import Checkpoint, StoreResult
from flightsw.apps.executor.shell import apply_op
from flightsw.icd.messages import Mode
from flightsw.sched import POLICIES
from flightsw.store.ledger import Ledger
from tests.flightsw.apps.builders import budget, job_spec
from tests.flightsw.apps.executor.fakes import MODEL, FakeBoards, Sim, new_core, of, table

GPU_S_TOL = 1e-9  # [GPU-s] float round-off in work accounting
SAFE = budget(400.0, mode=Mode.SAFE.value)


class Durable(Sim):
    """A Sim whose store operations go to a real ledger, as the shell applies them."""

    def __init__(self, ledger: Ledger, core: ExecutorCore | None = None, **kw) -> None:
        super().__init__(core, **kw)
        self.ledger = ledger

    def step(self, **inputs):
        ops, outs = super().step(**inputs)
        for op in ops:
            apply_op(self.ledger, op)
        return ops, outs


def restarted(ledger: Ledger, **table_overrides) -> ExecutorCore:
    """A new core restored from the ledger, as the shell does after a crash."""
    core = ExecutorCore(model=MODEL, policy=POLICIES["fifo"], table=table(**table_overrides))
    core.restore(ledger.jobs(), [r.job_id for r in ledger.results(unacked_only=True)],
                 ledger.boards_out_of_service(), ledger.counters())
    return core


# ------------------------------------------------------------------- checkpoint cost

def test_work_reported_while_a_checkpoint_is_written_is_not_credited():
    sim = Sim(new_core(checkpoint_cost_s=2.0))
    sim.step(submits=[job_spec("a", work_gpu_s=100.0, checkpoint_interval_s=5.0)])  # t = 1 s
    progress = []
    for _ in range(12):  # 1 GPU-s per tick reaches the core from t = 3 s on
        sim.step()
        progress.append(sim.core.jobs["a"].progress_gpu_s)
    # t = 2..13 s: the checkpoint at t = 6 s (interval from the start at t = 1 s) costs
    # t = 7, 8 s; the next, at t = 11 s, costs t = 12, 13 s
    assert progress == [0.0, 1.0, 2.0, 3.0, 4.0, 4.0, 4.0, 5.0, 6.0, 7.0, 7.0, 7.0], progress
    assert sim.core.checkpoint_overhead_gpu_s == pytest.approx(4.0, abs=GPU_S_TOL)
    assert sim.core.checkpoints == 2


def test_a_checkpoint_saves_the_progress_at_its_start():
    sim = Sim(new_core(checkpoint_cost_s=2.0))
    sim.step(submits=[job_spec("a", work_gpu_s=100.0, checkpoint_interval_s=5.0)])
    ops, _ = sim.run(5)  # to t = 6 s
    (ckpt,) = of(ops, Checkpoint)
    assert ckpt.progress_gpu_s == {"a": 4.0}


def test_resuming_from_a_checkpoint_costs_a_checkpoint_load():
    sim = Sim(new_core(checkpoint_cost_s=2.0))
    sim.run(5, submits=[job_spec("a", work_gpu_s=100.0)])
    sim.step(budget=SAFE)
    saved = sim.core.jobs["a"].progress_gpu_s
    sim.run(3)  # resumed at once; the first 2 s its boards report are the load
    assert sim.core.jobs["a"].progress_gpu_s == saved, "work was credited while the checkpoint loaded"
    sim.run(3)
    assert sim.core.jobs["a"].progress_gpu_s > saved


def test_a_preempted_job_resumes_with_all_its_work():
    sim = Sim()
    sim.run(6, submits=[job_spec("a", work_gpu_s=100.0)])
    sim.step(budget=SAFE)
    at_preemption = sim.core.jobs["a"].progress_gpu_s
    assert at_preemption > 0.0
    sim.run(2, budget=SAFE)
    assert sim.core.jobs["a"].progress_gpu_s == at_preemption, "a preemption lost work"
    sim.run(4)
    assert sim.core.jobs["a"].progress_gpu_s > at_preemption


def test_the_resume_holdoff_keeps_a_job_pushed_out_by_the_budget_waiting():
    sim = Sim(new_core(resume_holdoff_ticks=5))
    sim.run(3, submits=[job_spec("a", work_gpu_s=100.0)])
    sim.step(budget=budget(0.0))
    assert sim.core.jobs["a"].state == "PREEMPTED"
    sim.run(4)
    assert sim.core.jobs["a"].state == "PREEMPTED", "resumed before the hold-off ran out"
    sim.run(2)
    assert sim.core.jobs["a"].state == "STARTED"


# ----------------------------------------------------------------------- crashes

def test_a_crash_loses_only_the_work_since_the_last_checkpoint_and_the_job_still_completes(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    sim = Durable(ledger)
    sim.step(submits=[job_spec("a", work_gpu_s=20.0, checkpoint_interval_s=5.0)])  # t = 1 s
    sim.run(8)  # t = 2..9 s; checkpoint at t = 6 s with 4 GPU-s, 7 GPU-s done at t = 9 s
    assert sim.core.jobs["a"].progress_gpu_s == pytest.approx(7.0, abs=GPU_S_TOL)
    core = restarted(ledger)  # the old core is dropped: a crash
    job = core.jobs["a"]
    assert job.state == "PREEMPTED" and job.progress_gpu_s == pytest.approx(4.0, abs=GPU_S_TOL), \
        "a restart must resume from the last checkpoint, no earlier and no later"
    again = Durable(ledger, core, tick=sim.tick)
    ops, _ = again.until(lambda c: c.jobs["a"].state == "COMPLETED", limit=40)
    (stored,) = of(ops, StoreResult)
    assert stored.job_id == "a"
    history = [h for h in ledger.history("a") if h[0] != "PROGRESS"]
    assert [h[0] for h in history] == ["ACCEPTED", "STARTED", "PREEMPTED", "STARTED", "COMPLETED"], history
    assert "restarted" in history[2][2]
    ledger.close()


def test_an_upset_inside_the_checkpoint_survives_a_crash_and_is_caught(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    boards = FakeBoards()
    sim = Durable(ledger, boards=boards)
    spec = job_spec("m", kind="matmul", params={"n": 8}, work_gpu_s=20.0, checkpoint_interval_s=5.0)
    sim.step(submits=[spec])
    sim.run(2)
    boards.pending_hits[0] = 1  # a flip in its memory before the checkpoint at t = 6 s
    sim.run(6)
    assert ledger.jobs()[0].checkpoint_upsets == (1,), "the checkpoint does not carry its upset"
    core = restarted(ledger)
    assert core.jobs["m"].upsets == [1]
    again = Durable(ledger, core, tick=sim.tick)
    again.until(lambda c: c.jobs["m"].reruns == 1, limit=40)
    assert core.sdc_detected == 1 and core.sdc_detected_jobs == {"m"}
    assert ledger.result("m") is None, "a corrupted result was stored"
    ledger.close()


def test_an_upset_after_the_checkpoint_is_lost_with_the_crash(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    boards = FakeBoards()
    sim = Durable(ledger, boards=boards)
    sim.step(submits=[job_spec("m", kind="matmul", params={"n": 8}, work_gpu_s=20.0, checkpoint_interval_s=5.0)])
    sim.run(6)  # checkpoint at t = 6 s
    boards.pending_hits[0] = 1
    sim.run(2)
    assert sim.core.jobs["m"].upsets == [1]
    core = restarted(ledger)
    assert core.jobs["m"].upsets == [0], "the redone work cannot carry a flip of the lost work"
    again = Durable(ledger, core, tick=sim.tick)
    again.until(lambda c: c.jobs["m"].state == "COMPLETED", limit=40)
    assert ledger.result("m") is not None and core.sdc_detected == 0
    ledger.close()


def test_reruns_and_detections_survive_a_restart(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    boards = FakeBoards()
    sim = Durable(ledger, boards=boards)
    sim.step(submits=[job_spec("m", kind="matmul", params={"n": 8}, work_gpu_s=4.0)])
    boards.pending_hits[0] = 1
    sim.until(lambda c: c.jobs["m"].reruns == 1, limit=20)
    core = restarted(ledger)
    assert core.jobs["m"].reruns == 1, "a restart forgot a rerun"
    assert core.sdc_detected == 1 and core.sdc_detected_jobs == {"m"}
    assert core.jobs["m"].progress_gpu_s == 0.0, "a rerun starts from nothing"
    ledger.close()


def test_counters_survive_a_restart(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    sim = Durable(ledger)
    sim.run(4, submits=[job_spec("a", work_gpu_s=50.0, checkpoint_interval_s=2.0)])
    sim.step(budget=SAFE)
    before = (sim.core.preemptions, sim.core.checkpoints)
    assert before[0] == 1 and before[1] >= 2
    core = restarted(ledger)
    assert (core.preemptions, core.checkpoints) == before
    ledger.close()


def test_during_the_holdoff_no_other_job_starts_but_running_ones_keep_running():
    sim = Sim(new_core(resume_holdoff_ticks=5))
    sim.run(3, submits=[job_spec("a", work_gpu_s=100.0), job_spec("b", work_gpu_s=100.0)])
    sim.step(budget=budget(40.0))  # 30 W to plan with: room for one board at 20 W
    assert sim.core.jobs["b"].state == "PREEMPTED" and sim.core.jobs["a"].state == "STARTED"
    sim.step(submits=[job_spec("c", work_gpu_s=100.0)])
    sim.run(2)
    assert sim.core.jobs["c"].state == "ACCEPTED", "a new job started during the hold-off"
    assert sim.core.jobs["a"].state == "STARTED"
    sim.run(3)
    assert sim.core.jobs["b"].state == sim.core.jobs["c"].state == "STARTED"
