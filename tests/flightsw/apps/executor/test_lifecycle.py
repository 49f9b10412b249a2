"""The executor's job lifecycle: PUS-1 style verification reports, each stage stored
before it is reported, failure codes, cancel in every state, early expiry, load shed."""

from __future__ import annotations

import pytest

from flightsw.apps.executor.ops import Checkpoint, SetState
from flightsw.apps.executor.shell import apply_op
from flightsw.apps.framework import CommandError
from flightsw.icd.messages import (
    BoardCommand,
    CmdStatus,
    ExecutorStatus,
    JobAck,
    JobFailure,
    JobState,
    Mode,
    PowerBudget,
)
from flightsw.store.ledger import Ledger
from tests.flightsw.apps.builders import S, budget, job_spec
from tests.flightsw.apps.executor.fakes import N, Sim, new_core, of, reports, states


def shed(min_priority: int, compute_w: float = 400.0) -> PowerBudget:
    return PowerBudget(mode=Mode.LOW_POWER.value, compute_budget_w=compute_w, solar_power_w=compute_w,
                       battery_avail_w=0.0, battery_soc=0.5, min_priority=min_priority)


NO_POWER = budget(0.0)


# ------------------------------------------------------------ verification reports

def test_a_job_reports_accepted_started_progress_and_completed_in_order(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    sim = Sim(new_core(progress_report_pct=25, progress_min_ticks=0))
    sim.step(submits=[job_spec("a", work_gpu_s=8.0)])
    sim.until(lambda core: core.jobs["a"].state == "COMPLETED", limit=20)
    sent = [o for _, _, outs in sim.log for o in of(outs, JobState) if o.job_id == "a"]
    assert [(r.state, r.reason) for r in sent] == [
        ("ACCEPTED", ""), ("STARTED", ""), ("PROGRESS", "25% of the work done"),
        ("PROGRESS", "50% of the work done"), ("PROGRESS", "75% of the work done"), ("COMPLETED", ""),
    ]
    assert all(r.failure_code == 0 for r in sent)
    for _, ops, _ in sim.log:
        for op in ops:
            apply_op(ledger, op)
    stages = [s.state for s in ledger.stages("a")]
    assert stages == ["ACCEPTED", "STARTED", "PROGRESS", "PROGRESS", "PROGRESS", "COMPLETED"], \
        "the ledger does not hold every reported stage"
    ledger.close()


def test_every_report_is_preceded_by_its_store_operation_in_the_same_step():
    sim = Sim(new_core(progress_report_pct=25, progress_min_ticks=0))
    sim.step(submits=[job_spec("a", work_gpu_s=8.0)])
    sim.until(lambda core: core.jobs["a"].state == "COMPLETED", limit=20)
    for tick, ops, outs in sim.log:
        stored = {(type(op).__name__, getattr(op, "state", getattr(op, "stage", None))) for op in ops}
        for r in of(outs, JobState):
            want = {"ACCEPTED": ("AddJob", "ACCEPTED"), "COMPLETED": ("StoreResult", None),
                    "PROGRESS": ("RecordStage", "PROGRESS")}.get(r.state, ("SetState", r.state))
            assert want in stored, f"tick {tick}: {r.state} reported without {want[0]} in the same step"


def test_progress_reports_are_rate_limited_per_job():
    sim = Sim(new_core(progress_report_pct=25, progress_min_ticks=100))
    sim.step(submits=[job_spec("a", work_gpu_s=8.0)])
    _, outs = sim.until(lambda core: core.jobs["a"].state == "COMPLETED", limit=20)
    assert states(outs, "a").count("PROGRESS") == 1, "more than one PROGRESS report within progress_min_ticks"


def test_progress_report_pct_100_means_no_progress_reports():
    sim = Sim(new_core(progress_report_pct=100, progress_min_ticks=0))
    sim.step(submits=[job_spec("a", work_gpu_s=8.0)])
    _, outs = sim.until(lambda core: core.jobs["a"].state == "COMPLETED", limit=20)
    assert "PROGRESS" not in states(outs, "a")


def test_a_rejected_job_is_reported_rejected_with_the_invalid_spec_code():
    _, outs = Sim().step(submits=[job_spec("a", kind="bogus")])
    assert reports(outs, "a") == [("REJECTED", JobFailure.INVALID_SPEC)]
    (ack,) = of(outs, JobAck)
    assert not ack.accepted and ack.reason.startswith("kind")


def test_a_payload_that_refuses_the_job_at_completion_ends_failed_with_payload_error():
    sim = Sim()
    sim.step(submits=[job_spec("a", output_bytes=-1)])  # only the payload checks the size
    _, outs = sim.until(lambda core: not core.jobs["a"].active, limit=10)
    (failed,) = [o for o in of(outs, JobState) if o.state == "FAILED"]
    assert failed.failure_code == JobFailure.PAYLOAD_ERROR and failed.reason.startswith("payload")


# ------------------------------------------------------------------------ cancel

def cancelled_in_next_step(sim: Sim, job_id: str) -> tuple[list, list]:
    detail = sim.core.cancel(job_id, sim.t_ns)
    assert job_id in detail
    return sim.step()


@pytest.mark.parametrize("how", ["queued", "running", "preempted"])
def test_a_live_job_can_be_cancelled_and_is_stored_before_it_is_reported(how):
    sim = Sim()
    if how == "queued":
        sim.step(budget=NO_POWER, submits=[job_spec("a", work_gpu_s=50.0)])
        assert sim.core.jobs["a"].state == "ACCEPTED"
    else:
        sim.run(3, submits=[job_spec("a", work_gpu_s=50.0)])
        if how == "preempted":
            sim.step(budget=NO_POWER)
            assert sim.core.jobs["a"].state == "PREEMPTED"
        else:
            assert sim.core.jobs["a"].state == "STARTED"
    ops, outs = cancelled_in_next_step(sim, "a")
    assert reports(outs, "a") == [("CANCELLED", JobFailure.CANCELLED)]
    assert [(o.state, o.failure_code) for o in of(ops, SetState)] == [("CANCELLED", JobFailure.CANCELLED)]
    assert sim.core.jobs["a"].boards == () and "a" not in sim.core.live


def test_cancelling_a_running_job_switches_its_board_off():
    sim = Sim()
    sim.run(3, submits=[job_spec("a", work_gpu_s=50.0)])
    assert sim.core.jobs["a"].boards == (0,)
    _, outs = cancelled_in_next_step(sim, "a")
    (cmd,) = of(outs, BoardCommand)
    assert cmd.job_id == ("",) * N and cmd.on == (0,) * N


def test_cancelling_a_finished_job_is_an_execution_error_naming_it():
    sim = Sim()
    sim.step(submits=[job_spec("a")])
    sim.until(lambda core: core.jobs["a"].state == "COMPLETED", limit=10)
    with pytest.raises(CommandError) as err:
        sim.core.cancel("a", sim.t_ns)
    assert err.value.status == CmdStatus.EXECUTION_ERROR and "'a'" in err.value.detail
    assert sim.core.jobs["a"].state == "COMPLETED"


def test_cancelling_an_unknown_job_is_a_validation_error_naming_it():
    with pytest.raises(CommandError) as err:
        new_core().cancel("ghost", 0)
    assert err.value.status == CmdStatus.VALIDATION_ERROR and "'ghost'" in err.value.detail


def test_cancelled_jobs_are_counted_in_the_status():
    sim = Sim()
    sim.step(budget=NO_POWER, submits=[job_spec("a")])
    sim.core.cancel("a", sim.t_ns)
    sim.tick = 10
    _, outs = sim.step(budget=NO_POWER)
    (status,) = of(outs, ExecutorStatus)
    assert status.jobs_cancelled == 1 and status.jobs_queued == 0


# ---------------------------------------------------------------------- deadlines

def test_a_waiting_job_expires_as_soon_as_it_cannot_finish_in_time():
    sim = Sim()
    sim.step(budget=NO_POWER, submits=[job_spec("a", work_gpu_s=10.0, deadline_t_ns=20 * S)])  # t = 1 s
    _, outs = sim.run(9, budget=NO_POWER)  # t = 2..10 s: 10 s of work still fits before t = 20 s
    assert states(outs, "a") == [], "expired while it could still finish"
    _, outs = sim.step(budget=NO_POWER)  # t = 11 s
    (report,) = [o for o in of(outs, JobState) if o.job_id == "a"]
    assert (report.state, report.failure_code) == ("EXPIRED", JobFailure.DEADLINE)
    assert "10.0 s at full power, 9.0 s left" in report.reason, report.reason


def test_a_job_on_several_boards_has_its_work_shared_when_judging_the_deadline():
    sim = Sim()
    sim.step(budget=NO_POWER, submits=[job_spec("a", work_gpu_s=10.0, boards_needed=2, deadline_t_ns=20 * S)])
    _, outs = sim.run(14, budget=NO_POWER)  # t = 2..15 s: 5 s on two boards still fits
    assert states(outs, "a") == []
    _, outs = sim.step(budget=NO_POWER)  # t = 16 s
    assert states(outs, "a") == ["EXPIRED"]


def test_a_job_that_can_finish_is_not_expired_early():
    sim = Sim()
    sim.step(submits=[job_spec("a", work_gpu_s=6.0, deadline_t_ns=30 * S)])
    sim.until(lambda core: not core.jobs["a"].active, limit=30)
    assert sim.core.jobs["a"].state == "COMPLETED"


# ---------------------------------------------------------------------- load shed

def test_jobs_below_min_priority_are_preempted_with_a_checkpoint_and_others_keep_running():
    sim = Sim()
    sim.run(4, submits=[job_spec("lo", priority=0, work_gpu_s=50.0), job_spec("hi", priority=5, work_gpu_s=50.0)])
    assert sim.core.jobs["lo"].progress_gpu_s > 0.0
    ops, outs = sim.step(budget=shed(3))
    (pre,) = [o for o in of(outs, JobState) if o.job_id == "lo"]
    assert pre.state == "PREEMPTED" and "load shed" in pre.reason
    progress = sim.core.jobs["lo"].progress_gpu_s
    assert any(isinstance(op, Checkpoint) and op.progress_gpu_s.get("lo") == progress for op in ops), \
        "the shed job was not checkpointed"
    assert sim.core.jobs["hi"].state == "STARTED"


def test_a_job_below_min_priority_is_not_started_and_resumes_when_the_shed_ends():
    sim = Sim()
    _, outs = sim.run(3, budget=shed(3), submits=[job_spec("lo", priority=1)])
    assert "STARTED" not in states(outs, "lo")
    _, outs = sim.run(2)
    assert "STARTED" in states(outs, "lo")


def test_safe_mode_preempts_every_job_with_a_checkpoint():
    sim = Sim()
    sim.run(4, submits=[job_spec("a", priority=9, work_gpu_s=50.0), job_spec("b", work_gpu_s=50.0)])
    ops, outs = sim.step(budget=budget(400.0, mode=Mode.SAFE.value))
    assert states(outs, "a") == ["PREEMPTED"] and states(outs, "b") == ["PREEMPTED"]
    (ckpt,) = of(ops, Checkpoint)
    assert set(ckpt.progress_gpu_s) == {"a", "b"}
    assert of(outs, BoardCommand)[0].on == (0,) * N


def test_a_job_cancelled_before_the_first_step_after_a_restart_stays_cancelled():
    from flightsw.store.ledger import JobRow

    core = new_core()
    core.restore([JobRow(job_spec("a", work_gpu_s=10.0), 1, "STARTED", "", 0, 3.0)], [])
    core.cancel("a", S)
    ops, outs = Sim(core).step()
    assert reports(outs, "a") == [("CANCELLED", JobFailure.CANCELLED)]
    assert [o.state for o in of(ops, SetState)] == ["CANCELLED"]
