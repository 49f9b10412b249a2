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
