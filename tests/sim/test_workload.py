"""The scenario's workload (sim/workload.py): seeded, valid jobs over the horizon."""

from __future__ import annotations

import copy

import pytest

from flightsw.icd.codec import decode, encode
from flightsw.icd.messages import Envelope, JobSpec, Message
from sim.scenario import load_scenario, scenario_from_dict
from sim.workload import generate_jobs

HOURS = 6.0
NS_PER_H = 3600 * 1_000_000_000


@pytest.fixture(scope="module")
def sc():
    return load_scenario("default")


@pytest.fixture(scope="module")
def jobs(sc) -> list[JobSpec]:
    return generate_jobs(sc, HOURS)


def _with_workload(sc, **changes):
    data = copy.deepcopy(sc.data)
    data["workload"].update(changes)
    return scenario_from_dict(data)


def test_the_same_seed_gives_the_same_jobs(sc, jobs) -> None:
    assert generate_jobs(sc, HOURS) == jobs, "two runs with one seed gave different jobs"
    assert generate_jobs(sc, HOURS, seed=sc["workload"]["seed"]) == jobs, (
        "an explicit seed equal to the scenario's gave different jobs"
    )


def test_another_seed_gives_other_jobs(sc, jobs) -> None:
    assert generate_jobs(sc, HOURS, seed=8) != jobs, "seed 8 gave the jobs of seed 7"


def test_the_backlog_is_released_at_the_epoch(sc, jobs) -> None:
    backlog = sc["workload"]["backlog_jobs"]
    assert len(jobs) > backlog, "no jobs arrived after the backlog"
    assert all(j.release_t_ns == 0 for j in jobs[:backlog]), "a backlog job is not released at 0"


def test_every_release_lies_within_the_horizon_and_in_order(jobs) -> None:
    releases = [j.release_t_ns for j in jobs]
    assert all(0 <= r < HOURS * NS_PER_H for r in releases), "a release is outside the horizon"
    assert releases == sorted(releases), "releases are not in time order"


def test_job_ids_are_unique(jobs) -> None:
    assert len({j.job_id for j in jobs}) == len(jobs), "two jobs share an id"


def test_every_job_survives_the_codec_round_trip(jobs) -> None:
    for i, job in enumerate(jobs):
        msg = Message(Envelope(JobSpec.KIND, JobSpec.VERSION, "station", i + 1, 0, 0, "sat"), job)
        assert decode(encode(msg)) == msg, f"{job.job_id} does not survive the codec"


def test_every_deadline_falls_after_its_release(sc, jobs) -> None:
    lo_h = sc["workload"]["deadline_min_h"]
    hi_h = sc["workload"]["deadline_max_h"]
    with_deadline = [j for j in jobs if j.deadline_t_ns != -1]
    assert with_deadline, "no job has a deadline"
    for j in with_deadline:
        slack_h = (j.deadline_t_ns - j.release_t_ns) / NS_PER_H
        assert j.deadline_t_ns > j.release_t_ns, f"{j.job_id}: deadline before release"
        assert lo_h - 1e-6 <= slack_h <= hi_h + 1e-6, f"{j.job_id}: deadline {slack_h} h after release"


def test_jobs_never_need_more_boards_than_the_satellite_has(sc) -> None:
    one_board = _with_workload(sc, backlog_jobs=50)
    data = copy.deepcopy(one_board.data)
    data["boards"]["count"] = 1
    jobs = generate_jobs(scenario_from_dict(data), 1.0)
    assert {j.boards_needed for j in jobs} == {1}, "a job needs more boards than exist"


def test_without_arrivals_only_the_backlog_is_generated(sc) -> None:
    quiet = _with_workload(sc, jobs_per_hour=0.0, backlog_jobs=5)
    jobs = generate_jobs(quiet, 24.0)
    assert len(jobs) == 5 and all(j.release_t_ns == 0 for j in jobs), "arrivals at rate 0"


def test_an_empty_workload_gives_no_jobs(sc) -> None:
    assert generate_jobs(_with_workload(sc, jobs_per_hour=0.0, backlog_jobs=0), 24.0) == [], (
        "jobs from an empty workload"
    )


# ------------------------------------------------------------------------ bursts

BURST_EVERY_H = 3.0
BURST_JOBS = 5


def _fingerprint(jobs: list[JobSpec]) -> str:
    """A digest of every field a run depends on, in order."""
    import hashlib
    import json

    rows = [(j.job_id, j.kind, j.priority, j.deadline_t_ns, j.boards_needed, j.work_gpu_s, j.release_t_ns,
             j.seed, j.output_bytes, sorted(j.params.items())) for j in jobs]
    return hashlib.sha256(json.dumps(rows).encode()).hexdigest()[:16]


def test_the_default_day_gives_the_jobs_it_gave_before_bursts_existed(sc) -> None:
    # computed with sim/workload.py as it was before bursts (at commit 8c0f002)
    jobs = generate_jobs(sc, 24.0)
    assert len(jobs) == 689, f"{len(jobs)} jobs in the default day, not 689"
    first, arrival, last = jobs[0], jobs[400], jobs[-1]
    assert (first.job_id, first.kind, first.priority, first.deadline_t_ns, first.boards_needed,
            first.work_gpu_s, first.seed) == ("job-00000", "synthetic", 2, 23044789005443, 2, 1435.58, 22614309)
    assert (arrival.job_id, arrival.release_t_ns, arrival.work_gpu_s, arrival.seed) == (
        "job-00400", 241351580635, 164.692, 2748505033)
    assert (last.job_id, last.release_t_ns, last.seed) == ("job-00688", 86369659930178, 3212251237)
    assert _fingerprint(jobs) == "cf4798948743b103", "the default day's jobs changed"
    assert _fingerprint(generate_jobs(sc, 2.0)) == "6e701e23f5bd7116", "the default 2 h jobs changed"


@pytest.fixture(scope="module")
def bursty(sc):
    return _with_workload(sc, burst_every_h=BURST_EVERY_H, burst_jobs=BURST_JOBS)


def test_bursts_release_their_jobs_at_once_every_period(bursty) -> None:
    jobs = generate_jobs(bursty, 10.0)
    burst = [j for j in jobs if j.job_id.startswith("job-b")]
    assert len(burst) == 3 * BURST_JOBS, f"{len(burst)} burst jobs in 10 h, not 3 bursts of {BURST_JOBS}"
    times_h = sorted({j.release_t_ns / NS_PER_H for j in burst})
    assert times_h == [3.0, 6.0, 9.0], f"bursts at {times_h} h"
    assert [j.job_id for j in burst] == [f"job-b{i:05d}" for i in range(len(burst))], "burst ids out of order"


def test_bursts_leave_the_other_jobs_unchanged(sc, bursty) -> None:
    plain = generate_jobs(sc, 10.0)
    jobs = generate_jobs(bursty, 10.0)
    assert [j for j in jobs if not j.job_id.startswith("job-b")] == plain, (
        "adding bursts changed the backlog or Poisson jobs"
    )


def test_a_bursty_workload_stays_in_release_order_with_unique_ids(bursty) -> None:
    jobs = generate_jobs(bursty, 10.0)
    releases = [j.release_t_ns for j in jobs]
    assert releases == sorted(releases), "bursts were not merged in release order"
    assert len({j.job_id for j in jobs}) == len(jobs), "a burst job shares an id"


def test_burst_deadlines_count_from_the_burst(bursty) -> None:
    w = bursty["workload"]
    for j in generate_jobs(bursty, 10.0):
        if j.job_id.startswith("job-b") and j.deadline_t_ns != -1:
            slack_h = (j.deadline_t_ns - j.release_t_ns) / NS_PER_H
            assert w["deadline_min_h"] - 1e-6 <= slack_h <= w["deadline_max_h"] + 1e-6, (
                f"{j.job_id}: deadline {slack_h} h after its burst"
            )


def test_bursts_follow_the_seed(bursty) -> None:
    a = [j for j in generate_jobs(bursty, 10.0, seed=1) if j.job_id.startswith("job-b")]
    b = [j for j in generate_jobs(bursty, 10.0, seed=2) if j.job_id.startswith("job-b")]
    assert a != b, "burst jobs do not depend on the workload seed"


@pytest.mark.parametrize(("every_h", "count"), [(0.0, 10), (3.0, 0)])
def test_half_a_burst_setting_means_no_bursts(sc, every_h: float, count: int) -> None:
    jobs = generate_jobs(_with_workload(sc, burst_every_h=every_h, burst_jobs=count), 10.0)
    assert jobs == generate_jobs(sc, 10.0), f"bursts with burst_every_h={every_h}, burst_jobs={count}"
