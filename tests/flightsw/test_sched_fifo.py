"""Tests for flightsw.sched.fifo and flightsw.sched.power_split (pure scheduling policy)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.sched import POLICIES, BoardModel, JobView, fifo
from flightsw.sched.power_split import water_fill
from tests.flightsw.sched_checks import assert_caps_within_board_limits

POWER_TOL_W = 1e-6  # [W] float round-off in water filling
MODEL = BoardModel(n_boards=4, max_power_w=100.0, min_power_w=20.0)
COOL = (100.0,) * 4  # thermal caps that limit nothing [W]
PLENTY_W = 1000.0


def job(job_id: str, order_no: int, boards_needed: int = 1, boards: tuple[int, ...] = ()) -> JobView:
    return JobView(job_id, order_no, priority=0, deadline_t_ns=-1, boards_needed=boards_needed,
                   remaining_gpu_s=10.0, boards=boards)


def test_fifo_is_the_registered_fifo_policy():
    assert POLICIES["fifo"] is fifo


# ----------------------------------------------------------------------- assignment

def test_waiting_jobs_start_in_acceptance_order():
    jobs = [job("a", 1, 2), job("b", 2), job("c", 3), job("d", 4)]
    plan = fifo(jobs, PLENTY_W, COOL, MODEL)
    assert plan.assignments == {"a": (0, 1), "b": (2,), "c": (3,)}, "jobs not started in FIFO order"


def test_a_job_that_needs_more_free_boards_blocks_the_jobs_behind_it():
    jobs = [job("a", 1, 2), job("b", 2, 3), job("c", 3, 1)]
    plan = fifo(jobs, PLENTY_W, COOL, MODEL)
    assert "c" not in plan.assignments, "a later job overtook a blocked head of line"
    assert plan.assignments == {"a": (0, 1)}


def test_a_job_the_budget_cannot_cover_blocks_the_jobs_behind_it():
    budget_w = 2 * MODEL.min_power_w  # room for two busy boards at minimum power
    jobs = [job("a", 1, 1), job("b", 2, 2), job("c", 3, 1)]
    plan = fifo(jobs, budget_w, COOL, MODEL)
    assert plan.assignments == {"a": (0,)}, "a later job overtook a head of line blocked by budget"


def test_boards_capped_below_minimum_power_are_not_assigned():
    caps = (0.0, MODEL.min_power_w - 1.0, 100.0, 100.0)
    plan = fifo([job("a", 1, 2), job("b", 2, 1)], PLENTY_W, caps, MODEL)
    assert plan.assignments == {"a": (2, 3)}
    assert plan.cap_w[0] == 0.0 and plan.cap_w[1] == 0.0


def test_a_board_capped_exactly_at_minimum_power_is_usable():
    caps = (MODEL.min_power_w, 0.0, 0.0, 0.0)
    plan = fifo([job("a", 1)], PLENTY_W, caps, MODEL)
    assert plan.assignments == {"a": (0,)}


def test_running_jobs_keep_their_boards():
    jobs = [job("a", 1, 1, boards=(3,)), job("b", 2, 1)]
    plan = fifo(jobs, PLENTY_W, COOL, MODEL)
    assert plan.assignments["a"] == (3,), "a running job was moved"
    assert plan.assignments["b"] == (0,)
    assert plan.preempted(jobs) == [] and plan.started(jobs) == ["b"]


def test_running_jobs_are_kept_even_behind_a_blocked_head_of_line():
    jobs = [job("a", 1, 4), job("b", 2, 1, boards=(0,))]
    plan = fifo(jobs, PLENTY_W, COOL, MODEL)
    assert plan.assignments == {"b": (0,)}, "a running job was preempted for a waiting one"


def test_when_the_budget_shrinks_the_latest_accepted_running_job_is_preempted_first():
    jobs = [job("a", 1, boards=(0,)), job("b", 2, boards=(1,)), job("c", 3, boards=(2,))]
    plan = fifo(jobs, 2 * MODEL.min_power_w, COOL, MODEL)
    assert plan.preempted(jobs) == ["c"], "preemption must start with the latest-accepted job"
    assert plan.assignments == {"a": (0,), "b": (1,)}


def test_with_no_budget_every_running_job_is_preempted():
    jobs = [job("a", 1, boards=(0,)), job("b", 2, boards=(1,))]
    plan = fifo(jobs, 0.0, COOL, MODEL)
    assert plan.assignments == {} and set(plan.preempted(jobs)) == {"a", "b"}
    assert plan.cap_w == (0.0,) * MODEL.n_boards


def test_a_running_job_whose_board_became_unusable_loses_that_board():
    jobs = [job("a", 1, boards=(0,))]
    caps = (0.0, 100.0, 100.0, 100.0)
    plan = fifo(jobs, PLENTY_W, caps, MODEL)
    assert 0 not in plan.assignments.get("a", ()), "a job kept a board that is too hot"


def test_idle_boards_get_no_power():
    plan = fifo([job("a", 1)], PLENTY_W, COOL, MODEL)
    assert plan.cap_w[1:] == (0.0, 0.0, 0.0)


# --------------------------------------------------------------------- property tests

@st.composite
def scenarios(draw):
    n = draw(st.integers(1, 8))
    model = BoardModel(n, max_power_w=draw(st.floats(20.0, 400.0)), min_power_w=draw(st.floats(1.0, 20.0)))
    caps = tuple(draw(st.lists(st.floats(0.0, 500.0), min_size=n, max_size=n)))
    free = list(range(n))
    jobs = []
    for i in range(draw(st.integers(0, 6))):
        need = draw(st.integers(1, n))
        boards: tuple[int, ...] = ()
        if draw(st.booleans()) and len(free) >= need:
            boards = tuple(free[:need])
            del free[:need]
        jobs.append(job(f"j{i}", i + 1, need, boards))
    return jobs, draw(st.floats(0.0, 3000.0)), caps, model


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
def test_board_caps_never_sum_above_the_budget(scenario):
    jobs, budget_w, caps, model = scenario
    plan = fifo(jobs, budget_w, caps, model)
    assert sum(plan.cap_w) <= budget_w + POWER_TOL_W, f"caps {plan.cap_w} exceed budget {budget_w}"


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
def test_each_busy_board_cap_lies_between_min_power_and_its_ceiling(scenario):
    jobs, budget_w, caps, model = scenario
    plan = fifo(jobs, budget_w, caps, model)
    assert_caps_within_board_limits(plan, caps, model)


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
def test_no_board_is_given_to_two_jobs_or_to_a_job_that_needs_fewer(scenario):
    jobs, budget_w, caps, model = scenario
    plan = fifo(jobs, budget_w, caps, model)
    needed = {j.job_id: j.boards_needed for j in jobs}
    used = [b for bs in plan.assignments.values() for b in bs]
    assert len(used) == len(set(used)), "a board was assigned twice"
    for job_id, boards in plan.assignments.items():
        assert len(boards) == needed[job_id], f"{job_id} got {len(boards)} boards"
        assert all(caps[b] >= model.min_power_w for b in boards), f"{job_id} got an unusable board"


@settings(max_examples=200, deadline=None)
@given(scenario=scenarios())
def test_waiting_jobs_start_only_as_an_unbroken_prefix_of_the_queue(scenario):
    jobs, budget_w, caps, model = scenario
    plan = fifo(jobs, budget_w, caps, model)
    waiting = [j for j in jobs if not j.boards]
    started = [j.job_id in plan.assignments for j in waiting]
    assert started == sorted(started, reverse=True), f"head-of-line order broken: {started}"


# ------------------------------------------------------------------------ water fill

def test_water_fill_of_no_boards_is_empty():
    assert water_fill(100.0, 10.0, []) == []


def test_water_fill_shares_the_budget_equally_when_no_ceiling_binds():
    assert water_fill(90.0, 10.0, [100.0, 100.0, 100.0]) == [30.0, 30.0, 30.0]


def test_water_fill_gives_a_low_ceiling_board_its_ceiling_and_the_rest_to_the_others():
    caps = water_fill(120.0, 10.0, [20.0, 100.0, 100.0])
    assert caps == [20.0, 50.0, 50.0]


@st.composite
def fills(draw):
    floor_w = draw(st.floats(0.0, 50.0))
    ceilings = draw(st.lists(st.floats(floor_w, floor_w + 500.0), max_size=10))
    budget_w = draw(st.floats(floor_w * len(ceilings), floor_w * len(ceilings) + 3000.0))
    return budget_w, floor_w, ceilings


@settings(max_examples=300, deadline=None)
@given(fill=fills())
def test_water_fill_keeps_each_cap_between_floor_and_ceiling(fill):
    budget_w, floor_w, ceilings = fill
    for cap, ceiling in zip(water_fill(budget_w, floor_w, ceilings), ceilings, strict=True):
        assert floor_w - POWER_TOL_W <= cap <= ceiling + POWER_TOL_W, \
            f"cap {cap} outside [{floor_w}, {ceiling}]"


@settings(max_examples=300, deadline=None)
@given(fill=fills())
def test_water_fill_hands_out_the_whole_budget_or_every_ceiling(fill):
    budget_w, floor_w, ceilings = fill
    total = sum(water_fill(budget_w, floor_w, ceilings))
    expected = min(budget_w, sum(ceilings))
    assert abs(total - expected) <= POWER_TOL_W * max(1, len(ceilings)), \
        f"handed out {total} W, expected min(budget, sum of ceilings) = {expected} W"


@settings(max_examples=300, deadline=None)
@given(fill=fills())
def test_water_fill_gives_every_board_below_its_ceiling_the_same_level(fill):
    budget_w, floor_w, ceilings = fill
    caps = water_fill(budget_w, floor_w, ceilings)
    below = [c for c, top in zip(caps, ceilings, strict=True) if c < top - POWER_TOL_W]
    if below:
        level = max(below)
        assert min(below) >= level - POWER_TOL_W, f"unequal water level among open boards: {below}"
        for c, top in zip(caps, ceilings, strict=True):
            if c >= top - POWER_TOL_W:
                assert top <= level + POWER_TOL_W, \
                    f"a board filled to ceiling {top} above the water level {level}"


def test_the_icd_lists_exactly_the_policies_the_executor_has():
    from flightsw.icd.policies import POLICY_NAMES
    from flightsw.sched import POLICIES

    assert sorted(POLICY_NAMES) == sorted(POLICIES)
