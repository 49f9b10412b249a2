"""Tests for flightsw.apps.executor.core: durable-before-acknowledged submission, work
accounting, completion, downlink confirmation, deadlines, checkpoints, restore."""

from __future__ import annotations

import pytest

from flightsw.apps.executor.core import (
    AddJob,
    Checkpoint,
    ExecInputs,
    ExecutorCore,
    MarkDownlinked,
    OfferResult,
    OfferResults,
    SetState,
    StoreResult,
)
from flightsw.apps.executor.payloads import run_payload
from flightsw.apps.executor.shell import apply_op
from flightsw.icd.messages import (
    BoardCommand,
    Event,
    JobAck,
    JobState,
    Mode,
    ResultAck,
    ResultResync,
)
from flightsw.icd.results import sha256_digest
from flightsw.sched import POLICIES, BoardModel
from flightsw.store.ledger import JobRow, Ledger
from tests.flightsw.apps.builders import S, board_sensors, budget, job_spec, thermal_caps
from tests.flightsw.apps.executor.fakes import table

GPU_S_TOL = 1e-9  # [GPU-s] float round-off in work accounting
MODEL = BoardModel(n_boards=4, max_power_w=100.0, min_power_w=20.0)
N = MODEL.n_boards


def new_core() -> ExecutorCore:
    return ExecutorCore(model=MODEL, policy=POLICIES["fifo"], table=table())


def powered(**kw) -> ExecInputs:
    """Inputs with a budget and thermal caps that let every board run."""
    return ExecInputs(budget=budget(400.0), caps=thermal_caps((100.0,) * N), **kw)


def of(items, cls) -> list:
    return [i for i in items if isinstance(i, cls)]


def states(outs, job_id: str) -> list[str]:
    return [o.state for o in of(outs, JobState) if o.job_id == job_id]


def board_command(outs) -> BoardCommand:
    (cmd,) = of(outs, BoardCommand)
    return cmd


class Run:
    """Drives a core one tick at a time (tick k at t = k seconds; tick 0 skipped so that
    status reports, every 10th tick, show up only where a test looks for them)."""

    def __init__(self, core: ExecutorCore | None = None, tick: int = 1) -> None:
        self.core = core or new_core()
        self.tick = tick

    def step(self, inp: ExecInputs) -> tuple[list, list]:
        ops, outs = self.core.step(self.tick, self.tick * S, inp)
        self.tick += 1
        return ops, outs

    @property
    def t_ns(self) -> int:
        return self.tick * S


# ---------------------------------------------------------------------- submission

def test_an_accepted_job_is_stored_in_the_same_step_it_is_acknowledged():
    spec = job_spec("a")
    ops, outs = Run().step(powered(submits=[spec]))
    assert of(outs, JobAck) == [JobAck("a", True, "")]
    assert [(o.spec, o.state) for o in of(ops, AddJob)] == [(spec, "ACCEPTED")], \
        "JobAck sent without the AddJob that makes it durable"


def test_a_rejected_job_is_stored_too_before_its_negative_acknowledgement():
    ops, outs = Run().step(powered(submits=[job_spec("a", kind="bogus")]))
    (ack,) = of(outs, JobAck)
    (add,) = of(ops, AddJob)
    assert not ack.accepted and add.state == "REJECTED" and add.reason == ack.reason


def test_a_duplicate_job_id_gets_a_duplicate_ack_and_no_second_store():
    run = Run()
    run.step(powered(submits=[job_spec("a")]))
    ops, outs = run.step(powered(submits=[job_spec("a", work_gpu_s=99.0)]))
    assert of(outs, JobAck) == [JobAck("a", True, "duplicate")]
    assert of(ops, AddJob) == [], "a duplicate submission was stored again"
    assert run.core.jobs["a"].spec.work_gpu_s == 2.0, "a duplicate changed the stored job"


def test_a_duplicate_of_a_rejected_job_is_still_refused():
    run = Run()
    run.step(powered(submits=[job_spec("a", boards_needed=N + 1)]))
    _, outs = run.step(powered(submits=[job_spec("a")]))
    assert of(outs, JobAck) == [JobAck("a", False, "duplicate")]


@pytest.mark.parametrize(
    ("overrides", "field"),
    [
        (dict(kind="bogus"), "kind"),
        (dict(boards_needed=N + 1), "boards_needed"),
        (dict(deadline_t_ns=1 * S), "deadline_t_ns"),
        (dict(deadline_t_ns=5 * S), "deadline_t_ns"),  # exactly now is already too late
        (dict(kind="matmul", params={"n": 0}), "params.n"),
        (dict(kind="matmul", params={"n": 513}), "params.n"),
        (dict(kind="matmul", params={"n": 2.5}), "params.n"),
        (dict(kind="matmul", params={"n": True}), "params.n"),
    ],
)
def test_a_refused_job_carries_a_reason_naming_the_field(overrides, field):
    run = Run(tick=5)
    _, outs = run.step(powered(submits=[job_spec("a", **overrides)]))
    (ack,) = of(outs, JobAck)
    assert not ack.accepted
    assert ack.reason.startswith(field), f"reason {ack.reason!r} does not name {field}"
    assert [e.name for e in of(outs, Event)] == ["executor.job_rejected"]


def test_a_matmul_job_with_a_valid_n_is_accepted():
    _, outs = Run().step(powered(submits=[job_spec("a", kind="matmul", params={"n": 8})]))
    assert of(outs, JobAck) == [JobAck("a", True, "")]


# ---------------------------------------------------------------- running and work

def test_an_accepted_job_starts_on_a_board_when_power_allows():
    ops, outs = Run().step(powered(submits=[job_spec("a")]))
    assert states(outs, "a") == ["ACCEPTED", "STARTED"]
    assert SetState("a", "STARTED", 1 * S, "") in ops
    cmd = board_command(outs)
    assert cmd.job_id == ("a", "", "", "") and cmd.cap_w[0] > 0.0


def test_boards_without_a_job_get_a_zero_cap():
    _, outs = Run().step(powered(submits=[job_spec("a")]))
    cmd = board_command(outs)
    assert all(c == 0.0 for c, j in zip(cmd.cap_w, cmd.job_id, strict=True) if not j), \
        f"an idle board was given power: {cmd}"


def test_before_any_budget_every_board_is_off():
    _, outs = Run().step(ExecInputs(submits=[job_spec("a")]))
    assert board_command(outs) == BoardCommand(cap_w=(0.0,) * N, job_id=("",) * N, on=(0,) * N)


def test_work_is_credited_only_to_the_job_named_for_that_board():
    run = Run()
    run.step(powered(submits=[job_spec("a", work_gpu_s=50.0), job_spec("b", work_gpu_s=50.0)]))
    run.step(powered(boards=board_sensors(N, {0: ("a", 0.5), 1: ("ghost", 0.7), 2: ("", 0.3)})))
    jobs = run.core.jobs
    assert jobs["a"].progress_gpu_s == pytest.approx(0.5, abs=GPU_S_TOL)
    assert jobs["b"].progress_gpu_s == 0.0, "work on a board was credited to a job not named for it"
    assert run.core.work_done_gpu_s == pytest.approx(0.5, abs=GPU_S_TOL)


def test_work_reported_for_a_job_that_is_not_running_is_not_credited():
    run = Run()
    run.step(ExecInputs(budget=budget(0.0), caps=thermal_caps((100.0,) * N), submits=[job_spec("a")]))
    run.step(ExecInputs(boards=board_sensors(N, {0: ("a", 1.0)})))
    assert run.core.jobs["a"].state == "ACCEPTED"
    assert run.core.jobs["a"].progress_gpu_s == 0.0, "a waiting job was credited work"


# -------------------------------------------------------------------- completion

def complete_a(run: Run) -> tuple[list, list]:
    """Submit job a (2 GPU-s) and report 1 GPU-s per tick until it completes."""
    run.step(powered(submits=[job_spec("a")]))
    run.step(powered(boards=board_sensors(N, {0: ("a", 1.0)})))
    return run.step(powered(boards=board_sensors(N, {0: ("a", 1.0)})))


def test_a_finished_job_stores_its_result_before_it_is_reported_completed():
    spec = job_spec("a")
    ops, outs = complete_a(Run())
    (stored,) = of(ops, StoreResult)
    expected = run_payload(spec.kind, spec.job_id, spec.params, spec.output_bytes, spec.seed)
    assert stored.data == expected and stored.sha256 == sha256_digest(expected)
    assert stored.work_gpu_s == pytest.approx(2.0, abs=GPU_S_TOL)
    assert states(outs, "a") == ["COMPLETED"], "COMPLETED reported without its StoreResult"


def test_a_completed_job_offers_its_result_after_reporting_completion():
    _, outs = complete_a(Run())
    kinds = [(type(o).__name__, getattr(o, "job_id", None)) for o in outs
             if isinstance(o, (JobState, OfferResult))]
    assert kinds == [("JobState", "a"), ("OfferResult", "a")]


def test_a_completed_job_releases_its_board():
    _, outs = complete_a(Run())
    assert board_command(outs) == BoardCommand(cap_w=(0.0,) * N, job_id=("",) * N, on=(0,) * N)


def test_a_result_ack_marks_the_job_downlinked_exactly_once():
    run = Run()
    complete_a(run)
    ops1, _ = run.step(powered(acks=[ResultAck("a")]))
    ops2, _ = run.step(powered(acks=[ResultAck("a")]))
    assert of(ops1, MarkDownlinked) == [MarkDownlinked("a", 4 * S)]
    assert of(ops2, MarkDownlinked) == [], "a repeated ResultAck marked the result again"
    assert run.core.jobs["a"].state == "DOWNLINKED"


def test_a_result_ack_for_an_unknown_job_changes_nothing():
    ops, _ = Run().step(powered(acks=[ResultAck("nobody")]))
    assert ops == []


def test_a_resync_offers_the_unacknowledged_results_again_within_its_byte_budget():
    run = Run()
    complete_a(run)
    _, outs = run.step(powered(resync=ResultResync("test", 1000, ("x",))))
    assert of(outs, OfferResults) == [OfferResults(1000, frozenset({"x"}))]


def test_an_acknowledged_result_is_not_offered_on_resync():
    run = Run()
    complete_a(run)
    run.step(powered(acks=[ResultAck("a")]))
    _, outs = run.step(powered(resync=ResultResync("test")))
    assert of(outs, OfferResult) == [] and of(outs, OfferResults) == []


# ---------------------------------------------------------------------- deadlines

def test_a_waiting_job_expires_at_its_deadline_with_a_reason():
    run = Run()
    no_power = ExecInputs(budget=budget(0.0), caps=thermal_caps((100.0,) * N))
    run.step(ExecInputs(budget=budget(0.0), caps=thermal_caps((100.0,) * N),
                        submits=[job_spec("a", work_gpu_s=1e-3, deadline_t_ns=4 * S)]))
    for _ in range(2):  # t = 2 s, 3 s
        _, outs = run.step(no_power)
        assert states(outs, "a") == [], "expired while it could still finish"
    ops, outs = run.step(no_power)  # t = 4 s
    (report,) = of(outs, JobState)
    assert report.state == "EXPIRED" and "deadline" in report.reason
    assert [o.state for o in of(ops, SetState)] == ["EXPIRED"]


def test_a_running_job_that_falls_behind_its_deadline_expires_early_and_frees_its_board():
    run = Run()
    run.step(powered(submits=[job_spec("a", work_gpu_s=10.0, deadline_t_ns=12 * S)]))  # t = 1 s
    _, outs = run.step(powered())  # t = 2 s: 10 s of work at full power still fits exactly
    assert states(outs, "a") == []
    _, outs = run.step(powered())  # t = 3 s: no work was reported: it cannot make it any more
    assert states(outs, "a") == ["EXPIRED"]
    assert board_command(outs).job_id == ("",) * N


# ------------------------------------------------------------------- checkpoints

def test_a_running_job_is_checkpointed_at_its_interval():
    run = Run()
    run.step(powered(submits=[job_spec("a", work_gpu_s=100.0, checkpoint_interval_s=5.0)]))
    seen = []
    for _ in range(15):  # t = 2 .. 16 s, 1 GPU-s per tick
        t_ns = run.t_ns
        ops, _ = run.step(powered(boards=board_sensors(N, {0: ("a", 1.0)})))
        seen += [(t_ns // S, c.progress_gpu_s["a"]) for c in of(ops, Checkpoint)]
    assert seen == [(6, 5.0), (11, 10.0), (16, 15.0)], f"checkpoints not every 5 s: {seen}"


def test_a_preempted_job_is_checkpointed_with_its_progress():
    run = Run()
    run.step(powered(submits=[job_spec("a", work_gpu_s=100.0)]))
    run.step(powered(boards=board_sensors(N, {0: ("a", 3.0)})))
    ops, outs = run.step(ExecInputs(budget=budget(0.0, mode=Mode.SAFE.value)))
    assert states(outs, "a") == ["PREEMPTED"]
    assert Checkpoint({"a": 3.0}, 3 * S) in ops, "preemption did not save the work done"


# ----------------------------------------------------------------------- restore

def test_restore_turns_a_started_job_into_preempted_at_its_checkpoint():
    core = new_core()
    core.restore([JobRow(job_spec("a", work_gpu_s=10.0), 1, "STARTED", "", 0, 3.0)], [])
    job = core.jobs["a"]
    assert job.state == "PREEMPTED"
    assert job.progress_gpu_s == 3.0, "work since the last checkpoint must be counted as lost"
    assert job.boards == ()


def test_restored_jobs_resume_and_unacked_results_are_offered_on_the_first_step():
    core = new_core()
    core.restore(
        [
            JobRow(job_spec("a", work_gpu_s=10.0), 1, "STARTED", "", 0, 3.0),
            JobRow(job_spec("b"), 2, "COMPLETED", "", 0, 2.0),
        ],
        ["b"],
    )
    ops, outs = Run(core).step(powered())
    assert states(outs, "a") == ["PREEMPTED", "STARTED"], "the restart is reported, then the resume"
    assert SetState("a", "PREEMPTED", S, "executor restarted: resumes from its checkpoint (3.0 GPU-s)") in ops
    assert of(outs, OfferResults) == [OfferResults(32 * 1024 * 1024)], "unacked results are offered"


def test_after_restore_new_jobs_queue_behind_the_restored_ones():
    core = new_core()
    core.restore([JobRow(job_spec("a"), 7, "ACCEPTED", "", 0, 0.0)], [])
    Run(core).step(ExecInputs(submits=[job_spec("b")]))
    assert core.jobs["b"].order_no > core.jobs["a"].order_no


def test_a_restored_job_id_is_a_duplicate():
    core = new_core()
    core.restore([JobRow(job_spec("a"), 1, "COMPLETED", "", 0, 2.0)], ["a"])
    ops, outs = Run(core).step(powered(submits=[job_spec("a")]))
    assert of(outs, JobAck) == [JobAck("a", True, "duplicate")] and of(ops, AddJob) == []


def apply(ledger: Ledger, ops: list) -> None:
    """What the executor shell does with store operations, in order."""
    for op in ops:
        apply_op(ledger, op)


def test_a_crash_loses_only_the_work_since_the_last_checkpoint(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    run = Run()
    apply(ledger, run.step(powered(submits=[job_spec("a", work_gpu_s=100.0,
                                                        checkpoint_interval_s=3.0)]))[0])
    for _ in range(4):  # t = 2..5 s; checkpoint at t = 4 s with 3 GPU-s
        apply(ledger, run.step(powered(boards=board_sensors(N, {0: ("a", 1.0)})))[0])
    assert run.core.jobs["a"].progress_gpu_s == pytest.approx(4.0)
    ledger.close()

    reopened = Ledger(tmp_path / "executor.sqlite")
    core = new_core()
    core.restore(reopened.jobs(), [r.job_id for r in reopened.results(unacked_only=True)])
    assert core.jobs["a"].state == "PREEMPTED"
    assert core.jobs["a"].progress_gpu_s == pytest.approx(3.0, abs=GPU_S_TOL), \
        "restored progress is not the last checkpoint"
    reopened.close()


def test_a_matmul_result_hit_by_an_upset_is_caught_by_abft_and_the_job_reruns():
    from flightsw.icd.messages import BoardSensors

    core = new_core()
    spec = job_spec("m", kind="matmul", params={"n": 16}, work_gpu_s=1.0)
    core.step(0, 0, powered(submits=[spec]))
    core.step(1, S, powered())
    hit = BoardSensors(temp_c=(20.0,) * N, power_w=(0.0,) * N, work_gpu_s=(2.0,) + (0.0,) * (N - 1),
                       job_id=("m",) + ("",) * (N - 1), radiator_temp_c=10.0,
                       upset=(1,) + (0,) * (N - 1))
    ops, outs = core.step(2, 2 * S, powered(boards=hit))
    assert not [o for o in ops if type(o).__name__ == "StoreResult"], "a corrupted result was stored"
    assert any(isinstance(o, Event) and o.name == "executor.result_corrupted" for o in outs)
    assert core.jobs["m"].reruns == 1, "the job goes back to the queue to run again"
    assert core.jobs["m"].progress_gpu_s == 0.0, "its progress (and checkpoint) are discarded"


def test_a_result_the_ground_rejects_is_discarded_and_the_job_runs_again():
    from flightsw.apps.executor.core import DiscardResult
    from flightsw.icd.messages import ResultNak

    run = Run()
    complete_a(run)
    ops, outs = run.step(powered(naks=[ResultNak("a", "differs from its regeneration")]))
    assert [type(o) for o in ops][:1] == [DiscardResult], f"ops {ops}"
    assert run.core.jobs["a"].reruns == 1 and run.core.jobs["a"].progress_gpu_s == 0.0
    assert "a" not in run.core.unacked
    assert any(isinstance(o, Event) and o.name == "executor.result_rejected_by_ground" for o in outs)


def test_a_job_whose_results_keep_failing_ends_failed_with_the_reason():
    from flightsw.icd.messages import ResultNak

    run = Run()
    complete_a(run)
    run.core.jobs["a"].reruns = 2  # the cap was reached by earlier reruns
    run.step(powered(naks=[ResultNak("a", "bad")]))
    assert run.core.jobs["a"].state == "FAILED"
