"""The demand window (flightsw/apps/executor/demand.py): the work accepted over the last
day, by class, that the executor hands the policy as ``PlanContext.accepted_day``, and its
rebuild from the ledger after a restart."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.executor.demand import DemandWindow
from flightsw.store.ledger import JobRow
from tests.flightsw.apps.builders import S, job_spec
from tests.flightsw.apps.executor.fakes import Sim
from tests.flightsw.apps.executor.test_waits import Recording, core_with

DAY_S = 86_400
GPU_S_TOL = 1e-6  # [GPU-s] running sums against a fresh sum


def test_the_window_sums_by_class_and_drops_what_is_a_day_old():
    w = DemandWindow()
    w.add(0, 2, 1, 100.0)
    w.add(10 * S, 2, 1, 50.0)
    w.add(20 * S, 1, 2, 400.0)  # a dual job: its work on both replicas' boards
    assert w.summary(30 * S) == ((1, 2, 400.0), (2, 1, 150.0))
    assert w.summary(DAY_S * S) == ((1, 2, 400.0), (2, 1, 50.0)), "exactly a day old: out"
    assert w.summary((DAY_S + 20) * S) == (), "all of it older than a day"
    w.add((DAY_S + 30) * S, 0, 1, 7.0)
    assert w.summary((DAY_S + 30) * S) == ((0, 1, 7.0),)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 3 * DAY_S), st.integers(0, 3), st.integers(1, 2),
                          st.floats(0.0, 1e5)), max_size=60), st.integers(0, 4 * DAY_S))
def test_the_running_sums_equal_a_fresh_sum_of_the_last_day(accepted, now_s):
    """Property: whatever the acceptances and the moment asked, the summary is the sum of
    the acceptances in (now - 1 day, now], by class; restore in any order gives the same."""
    accepted = sorted((t * S, p, r, w) for t, p, r, w in accepted if t <= now_s)
    w = DemandWindow()
    for a in accepted:
        w.add(*a)
    fresh: dict = {}
    for t, p, r, work in accepted:
        if t > (now_s - DAY_S) * S:
            fresh[(p, r)] = fresh.get((p, r), 0.0) + work
    got = {(p, r): work for p, r, work in w.summary(now_s * S)}
    assert got.keys() == fresh.keys()
    assert all(abs(got[k] - fresh[k]) <= GPU_S_TOL * max(1.0, fresh[k]) for k in fresh)
    again = DemandWindow()
    again.restore(list(reversed(accepted)))
    assert again.summary(now_s * S) == w.summary(now_s * S)


def test_the_executor_hands_the_policy_the_days_accepted_work_and_rebuilds_it_after_a_restart():
    policy = Recording()
    sim = Sim(core_with(policy), tick=5)
    sim.step(submits=[job_spec("a", priority=2, work_gpu_s=300.0), job_spec("b", priority=2, work_gpu_s=20.0),
                      job_spec("late", deadline_t_ns=1)])  # refused: its deadline has passed
    assert policy.contexts[-1].accepted_day == ((2, 1, 320.0),), "the refused job is no demand"

    restarted = core_with(policy)
    restarted.restore([JobRow(job_spec("a", priority=2, work_gpu_s=300.0), 1, "COMPLETED", "", 5 * S, 0.0),
                       JobRow(job_spec("old", priority=3, work_gpu_s=999.0), 0, "ACCEPTED", "", -DAY_S * S, 0.0),
                       JobRow(job_spec("no", priority=1), 2, "REJECTED", "deadline", 5 * S, 0.0)], [])
    Sim(restarted, tick=6).step()
    assert policy.contexts[-1].accepted_day == ((2, 1, 300.0),), \
        "a finished job accepted today still counts; one accepted over a day ago and a refused one do not"
