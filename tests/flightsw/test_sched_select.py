"""Which deadline jobs the predictive policy promises (flightsw/sched/select.py), and how
the promise and the thermal budget shape its plans."""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.sched import BoardModel, JobView, predictive
from flightsw.sched.predictive import value_density
from flightsw.sched.select import effective_deadline_s, marginal_density, promise
from tests.flightsw.test_sched_predictive import COOL, MODEL, NOW_NS, NS, job, sunlit_ctx

PASSES = ((NOW_NS + 1000 * NS, NOW_NS + 1600 * NS), (NOW_NS + 7000 * NS, NOW_NS + 7600 * NS))
MARGIN_S = 60.0


def test_the_effective_deadline_is_the_end_of_the_last_pass_that_starts_before_it():
    def due(deadline_s: float) -> float:
        return effective_deadline_s(job("j", 0, deadline_t_ns=NOW_NS + int(deadline_s * NS)), NOW_NS, PASSES,
                                    MARGIN_S)

    assert due(1300.0) == 1300.0, "inside a pass: ready by the deadline itself"
    assert due(5000.0) == 1600.0 - MARGIN_S, "between passes: by the end of the one before"
    assert due(500.0) < 0.0, "no pass starts before it: it cannot come down in time"
    assert due(9000.0) == 9000.0, "beyond the plan: the deadline itself"
    assert math.isinf(effective_deadline_s(job("j", 0), NOW_NS, PASSES, MARGIN_S)), "no deadline"


def dues(*jobs_due: tuple[JobView, float]):
    table = {j.job_id: d for j, d in jobs_due}
    return [j for j, _ in jobs_due], (lambda j: table[j.job_id])


def test_a_less_dense_urgent_job_is_promised_when_the_dense_one_still_fits_after_it():
    dense = job("dense", 0, prio=3, remaining_gpu_s=5000.0, deadline_t_ns=1)
    urgent = job("urgent", 1, prio=1, remaining_gpu_s=1000.0, deadline_t_ns=1)
    jobs, due = dues((dense, 1000.0), (urgent, 200.0))
    assert promise(jobs, due, value_density, rate_gpu_s_per_s=10.0) == {"dense", "urgent"}


def test_when_two_deadlines_conflict_the_denser_job_is_promised():
    dense = job("dense", 0, prio=3, remaining_gpu_s=1000.0, deadline_t_ns=1)
    other = job("other", 1, prio=1, remaining_gpu_s=1000.0, deadline_t_ns=1)
    later = job("later", 2, prio=0, remaining_gpu_s=100.0, deadline_t_ns=1)
    jobs, due = dues((dense, 150.0), (other, 150.0), (later, 1000.0))
    assert promise(jobs, due, value_density, rate_gpu_s_per_s=10.0) == {"dense", "later"}


def test_under_overload_the_densest_jobs_that_fit_are_kept():
    a = job("a", 0, prio=2, remaining_gpu_s=6000.0, deadline_t_ns=1)
    b = job("b", 1, prio=0, remaining_gpu_s=6000.0, deadline_t_ns=1)
    jobs, due = dues((a, 900.0), (b, 1000.0))
    assert promise(jobs, due, value_density, rate_gpu_s_per_s=10.0) == {"a"}, \
        "both cannot finish in time: the denser one is kept, the other runs when it can"


def test_the_marginal_density_is_the_density_where_the_capacity_runs_out():
    work = [(1.0, 500.0), (8.0, 300.0), (2.0, 400.0), (4.0, 200.0)]
    assert marginal_density(work, 2000.0) == 0.0, "all of it fits: nothing is shed"
    assert marginal_density(work, 1400.0) == 0.0, "exactly full still fits"
    assert marginal_density(work, 600.0) == 2.0, "8 and 4 fit (500 GPU-s), the 2s run out"
    assert marginal_density(work, 100.0) == 8.0, "not even the densest work fits"
    assert marginal_density([], 0.0) == 0.0


def test_a_job_its_own_boards_cannot_finish_in_time_is_not_promised():
    wide_enough = job("ok", 0, boards_needed=4, remaining_gpu_s=2000.0, deadline_t_ns=1)
    too_narrow = job("narrow", 1, boards_needed=1, remaining_gpu_s=2000.0, deadline_t_ns=1)
    jobs, due = dues((wide_enough, 1000.0), (too_narrow, 1000.0))
    assert promise(jobs, due, value_density, rate_gpu_s_per_s=100.0, board_rate=1.0) == {"ok"}


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3), st.floats(10.0, 5000.0), st.floats(0.0, 3000.0)), min_size=1,
                max_size=30), st.floats(1.0, 50.0))
def test_the_promised_set_always_finishes_by_its_deadlines_at_the_rate_edf_order(specs, rate):
    """Property: the promised deadline jobs, run earliest deadline first at ``rate``, each
    finish by its effective deadline."""
    table = {f"j{i}": (job(f"j{i}", i, prio=p, remaining_gpu_s=w, deadline_t_ns=1), d)
             for i, (p, w, d) in enumerate(specs)}
    kept = promise([j for j, _ in table.values()], lambda j: table[j.job_id][1], value_density, rate)
    done_s = 0.0
    for j, d in sorted((table[k] for k in kept), key=lambda jd: jd[1]):
        done_s += j.remaining_gpu_s / rate
        assert done_s <= d * (1 + 1e-9) + 1e-9, f"{j.job_id} promised but late"


def test_predictive_runs_a_promised_urgent_job_before_a_denser_one_due_later():
    model = BoardModel(n_boards=1, max_power_w=700.0, min_power_w=200.0)
    passes = ((NOW_NS + 3000 * NS, NOW_NS + 3600 * NS), (NOW_NS + 20_000 * NS, NOW_NS + 20_600 * NS))
    dense = job("dense-late", 0, prio=3, remaining_gpu_s=2000.0, deadline_t_ns=NOW_NS + 20_300 * NS)
    urgent = job("p1-urgent", 1, prio=1, remaining_gpu_s=1000.0, deadline_t_ns=NOW_NS + 3300 * NS)
    ctx = sunlit_ctx(passes=passes, next_eclipse_in_s=-1.0)
    plan = predictive([dense, urgent], 700.0, (700.0,), model, ctx=ctx)
    assert set(plan.assignments) == {"p1-urgent"}, "both fit if the urgent one goes first"
    backlog = job("backlog", 2, prio=3, remaining_gpu_s=15_000.0)  # deliverable, no deadline
    plan = predictive([dense, urgent, backlog], 700.0, (700.0,), model, ctx=ctx)
    assert set(plan.assignments) == {"p1-urgent"}, \
        "the time to the last pass has room for all three: the dense backlog without a deadline can wait an hour"
    more = job("backlog", 2, prio=3, remaining_gpu_s=17_000.0)
    plan = predictive([dense, urgent, more], 700.0, (700.0,), model, ctx=ctx)
    assert set(plan.assignments) == {"dense-late"}, \
        "the dense work alone fills the boards until the last pass: the p1 job would be shed, so it is not promised"
    busy_day = sunlit_ctx(passes=passes, next_eclipse_in_s=-1.0, accepted_day=((3, 1, 80_000.0),))
    plan = predictive([dense, urgent, backlog], 700.0, (700.0,), model, ctx=busy_day)
    assert set(plan.assignments) == {"dense-late"}, \
        "a day of priority-3 demand (its share until the last pass) fills the boards: no promise for the p1 job"


@pytest.mark.parametrize("budget_w", [1000.0, 2500.0, 3300.0])
def test_predictive_keeps_the_boards_within_the_thermal_budget(budget_w):
    jobs = [job(f"j{i}", i) for i in range(16)]
    ctx = sunlit_ctx(next_eclipse_in_s=-1.0, thermal_budget_w=budget_w, solar_mean_w=20_000.0, solar_w=20_000.0)
    plan = predictive(jobs, 11_200.0, COOL, MODEL, ctx=ctx)
    busy = sum(len(b) for b in plan.assignments.values())
    assert busy == min(16, int(budget_w / MODEL.min_power_w + 0.5)), \
        "whole boards at the minimum, as many as the budget covers (to the nearest)"
    assert sum(plan.cap_w) <= budget_w + MODEL.min_power_w / 2
    free = predictive(jobs, 11_200.0, COOL, MODEL, ctx=sunlit_ctx(next_eclipse_in_s=-1.0, solar_mean_w=20_000.0,
                                                                    solar_w=20_000.0))
    assert sum(len(b) for b in free.assignments.values()) == 16, "no budget known: the caps alone bound it"
