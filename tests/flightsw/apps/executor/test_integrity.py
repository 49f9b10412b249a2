"""Result integrity on board: dual execution on two sets of boards, corruption caught and
rerun (never stored), failure after max_reruns, the detection counters, and the payloads'
replica salts."""

from __future__ import annotations

from flightsw.apps.executor.integrity import compute_result, replicas_of
from flightsw.apps.executor.ops import CountSdc, Rerun, StoreResult
from flightsw.apps.executor.payloads import run_payload
from flightsw.icd.messages import BoardCommand, Event, JobAck, JobFailure, JobState, Severity
from tests.flightsw.apps.builders import job_spec
from tests.flightsw.apps.executor.fakes import FakeBoards, N, Sim, new_core, of, reports

DUAL = {"dual": True}


def dual(job_id: str = "d", **kw):
    kw.setdefault("work_gpu_s", 4.0)
    kw.setdefault("output_bytes", 256)
    return job_spec(job_id, params=DUAL, **kw)


# ------------------------------------------------------------------ dual execution

def test_a_dual_job_runs_on_twice_its_boards():
    sim = Sim()
    _, outs = sim.run(2, submits=[dual(boards_needed=2)])
    assert len(sim.core.jobs["d"].boards) == 4
    cmd = of(outs, BoardCommand)[-1]
    assert cmd.job_id == ("d",) * N


def test_a_dual_job_whose_replicas_agree_delivers_the_result():
    sim = Sim()
    sim.step(submits=[dual()])
    ops, outs = sim.until(lambda core: core.jobs["d"].state == "COMPLETED", limit=20)
    (stored,) = of(ops, StoreResult)
    spec = dual()
    assert stored.data == run_payload("synthetic", "d", spec.params, spec.output_bytes, spec.seed)
    assert sim.core.sdc_detected == 0


def test_a_dual_job_completes_only_when_both_replicas_have_done_all_the_work():
    sim = Sim()
    sim.step(submits=[dual(work_gpu_s=4.0)])
    sim.run(4)  # t = 2..5 s: work reaches the core from t = 3 s: both replicas at 3 GPU-s
    job = sim.core.jobs["d"]
    assert job.done_gpu_s == [3.0, 3.0] and job.state == "STARTED"
    assert sim.core.work_done_gpu_s == 6.0, "both replicas' work is work done"


def test_an_upset_in_one_replica_is_caught_and_the_job_reruns_without_storing_anything():
    boards = FakeBoards()
    sim = Sim(boards=boards)
    sim.step(submits=[dual()])
    sim.run(2)
    boards.pending_hits[1] = 1  # the second replica's board
    ops, outs = sim.until(lambda core: core.jobs["d"].reruns == 1, limit=20)
    assert of(ops, StoreResult) == [], "a corrupted dual result was stored"
    (rerun,) = of(ops, Rerun)
    assert rerun.job_id == "d" and "replicas' results differ" in rerun.reason
    (ev,) = [e for e in of(outs, Event) if e.name == "executor.result_corrupted"]
    assert ev.severity == Severity.WARNING_HI
    assert sim.core.sdc_detected == 1 and sim.core.sdc_detected_jobs == {"d"}
    assert "COMPLETED" not in [o.state for o in of(outs, JobState)]
    ops, _ = sim.until(lambda core: core.jobs["d"].state == "COMPLETED", limit=30)
    (stored,) = of(ops, StoreResult)
    assert stored.data == run_payload("synthetic", "d", DUAL, 256, 7), "the rerun's result is the clean one"


def test_upsets_in_both_replicas_are_caught_too():
    assert compute_result(dual(), [1, 1]).corrupted, "the same number of flips in both replicas went unseen"
    assert compute_result(dual(), [0, 0]).data is not None


def test_a_job_whose_results_keep_failing_ends_failed_with_result_corrupted():
    boards = FakeBoards()
    sim = Sim(new_core(max_reruns=1), boards=boards)
    sim.step(submits=[dual()])
    for rerun in (0, 1):
        sim.until(lambda core: len(core.jobs["d"].boards) == 2, limit=10)
        sim.run(2)
        boards.pending_hits[0] = 1
        ops, outs = sim.until(lambda core, n=rerun: core.jobs["d"].reruns > n or not core.jobs["d"].active, limit=20)
    assert reports(outs, "d")[-1] == ("FAILED", JobFailure.RESULT_CORRUPTED)
    assert of(ops, CountSdc) == [CountSdc("d", sim.t_ns - 1_000_000_000)], "the last detection is not counted"
    assert sim.core.sdc_detected == 2


def test_a_matmul_upset_is_caught_by_abft():
    boards = FakeBoards()
    sim = Sim(boards=boards)
    sim.step(submits=[job_spec("m", kind="matmul", params={"n": 8}, work_gpu_s=4.0)])
    sim.run(2)
    boards.pending_hits[0] = 2
    ops, _ = sim.until(lambda core: core.jobs["m"].reruns == 1, limit=20)
    assert of(ops, StoreResult) == [] and sim.core.sdc_detected_jobs == {"m"}


def test_a_plain_synthetic_upset_is_not_detectable_on_board():
    boards = FakeBoards()
    sim = Sim(boards=boards)
    sim.step(submits=[job_spec("s", work_gpu_s=4.0)])
    sim.run(2)
    boards.pending_hits[0] = 1
    ops, _ = sim.until(lambda core: core.jobs["s"].state == "COMPLETED", limit=20)
    (stored,) = of(ops, StoreResult)
    assert stored.data != run_payload("synthetic", "s", {}, 64, 7), "the flip should be in the result"
    assert sim.core.sdc_detected == 0, "only the ground's regeneration can catch this one"


# --------------------------------------------------------------------- acceptance

def test_a_dual_flag_that_is_not_a_boolean_is_refused_naming_the_field():
    _, outs = Sim().step(submits=[job_spec("d", params={"dual": "yes"})])
    (ack,) = of(outs, JobAck)
    assert not ack.accepted and ack.reason.startswith("params.dual")


def test_a_dual_job_that_needs_more_than_all_boards_is_refused():
    _, outs = Sim().step(submits=[dual(boards_needed=3)])
    (ack,) = of(outs, JobAck)
    assert not ack.accepted and ack.reason.startswith("boards_needed") and "dual" in ack.reason


def test_replicas_of_reads_the_dual_flag():
    assert replicas_of(dual()) == 2
    assert replicas_of(job_spec("p")) == 1
    assert replicas_of(job_spec("p", params={"dual": False})) == 1


# ------------------------------------------------------------------------ payloads

def test_replica_salts_change_where_flips_land_and_salt_zero_keeps_the_old_bytes():
    base = run_payload("synthetic", "x", {}, 4096, 3, upsets=2)
    assert run_payload("synthetic", "x", {}, 4096, 3, upsets=2, upset_salt=0) == base
    one = run_payload("synthetic", "x", {}, 4096, 3, upsets=2, upset_salt=1)
    two = run_payload("synthetic", "x", {}, 4096, 3, upsets=2, upset_salt=2)
    assert len({base, one, two}) == 3
    assert run_payload("synthetic", "x", {}, 4096, 3, upsets=2, upset_salt=1) == one, "not deterministic"
