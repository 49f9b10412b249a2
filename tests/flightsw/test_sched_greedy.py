"""Tests for flightsw.sched.greedy (pure scheduling policy: priority, deadlines, guarded
preemption, reserving backfill)."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.icd.policies import POLICY_NAMES
from flightsw.sched import POLICIES, BoardModel, JobView, Plan, PlanContext, greedy
from flightsw.sched.greedy import PREEMPT_FINISH_GUARD_GPU_S
from tests.flightsw.sched_checks import assert_caps_within_board_limits

POWER_TOL_W = 1e-6  # [W] float round-off in water filling
MODEL = BoardModel(n_boards=4, max_power_w=100.0, min_power_w=20.0)
COOL = (100.0,) * 4  # thermal caps that limit nothing [W]
PLENTY_W = 1000.0
NOW_NS = 10**12  # [ns] "now" for the deadline tests
S_NS = 10**9  # [ns] one second
LONG_GPU_S = 10_000.0  # [GPU-s] work far above the preemption guard


def _ctx(t_ns: int | None) -> PlanContext | None:
    return None if t_ns is None else PlanContext(t_ns)


def job(job_id: str, order_no: int, boards_needed: int = 1, boards: tuple[int, ...] = (), *,
        prio: int = 0, deadline_t_ns: int = -1, remaining_gpu_s: float = LONG_GPU_S) -> JobView:
    return JobView(job_id, order_no, priority=prio, deadline_t_ns=deadline_t_ns,
                   boards_needed=boards_needed, remaining_gpu_s=remaining_gpu_s, boards=boards)


def test_every_policy_is_registered_and_named_in_the_icd():
    assert POLICIES["greedy"] is greedy
    assert tuple(POLICIES) == POLICY_NAMES


# ----------------------------------------------------------------------- ordering

def test_higher_priority_jobs_start_first():
    model = BoardModel(n_boards=2, max_power_w=100.0, min_power_w=20.0)
    jobs = [job("low", 1, prio=0), job("high", 2, prio=3), job("mid", 3, prio=1)]
    plan = greedy(jobs, PLENTY_W, (100.0, 100.0), model)
    assert plan.assignments == {"high": (0,), "mid": (1,)}, "boards did not go to the highest priorities"


def test_within_a_priority_the_earliest_deadline_starts_first_and_no_deadline_last():
    model = BoardModel(n_boards=2, max_power_w=100.0, min_power_w=20.0)
    jobs = [job("none", 1), job("late", 2, deadline_t_ns=NOW_NS + 90_000 * S_NS),
            job("soon", 3, deadline_t_ns=NOW_NS + 50_000 * S_NS)]
    plan = greedy(jobs, PLENTY_W, (100.0, 100.0), model, ctx=PlanContext(NOW_NS))
    assert set(plan.assignments) == {"soon", "late"}, "deadline order within a priority broken"


def test_equal_priority_and_deadline_start_in_acceptance_order_whatever_the_list_order():
    model = BoardModel(n_boards=1, max_power_w=100.0, min_power_w=20.0)
    jobs = [job("second", 2), job("first", 1)]
    plan = greedy(jobs, PLENTY_W, (100.0,), model)
    assert plan.assignments == {"first": (0,)}, "acceptance order (order_no) not used as tie-break"


def test_a_job_that_can_no_longer_meet_its_deadline_is_skipped():
    doomed = job("doomed", 1, prio=3, remaining_gpu_s=100.0, deadline_t_ns=NOW_NS + 50 * S_NS)
    plan = greedy([doomed, job("b", 2)], PLENTY_W, (100.0,),
                    BoardModel(n_boards=1, max_power_w=100.0, min_power_w=20.0), ctx=PlanContext(NOW_NS))
    assert plan.assignments == {"b": (0,)}, "a job that cannot meet its deadline got the board"


def test_a_job_that_meets_its_deadline_exactly_at_full_power_on_all_its_boards_starts():
    tight = job("tight", 1, 2, remaining_gpu_s=100.0, deadline_t_ns=NOW_NS + 50 * S_NS)
    plan = greedy([tight], PLENTY_W, COOL, MODEL, ctx=PlanContext(NOW_NS))
    assert plan.assignments == {"tight": (0, 1)}, "100 GPU-s on 2 boards takes 50 s: it can make it"


def test_without_a_clock_no_job_is_skipped_for_its_deadline():
    doomed = job("doomed", 1, remaining_gpu_s=100.0, deadline_t_ns=NOW_NS + 50 * S_NS)
    assert greedy([doomed], PLENTY_W, COOL, MODEL).assignments == {"doomed": (0,)}


def test_a_running_job_that_can_no_longer_meet_its_deadline_loses_its_boards():
    doomed = job("doomed", 1, boards=(2,), remaining_gpu_s=100.0, deadline_t_ns=NOW_NS + 50 * S_NS)
    plan = greedy([doomed], PLENTY_W, COOL, MODEL, ctx=PlanContext(NOW_NS))
    assert plan.preempted([doomed]) == ["doomed"]


# --------------------------------------------------------------------- preemption

def test_a_higher_priority_job_preempts_the_lowest_priority_running_job():
    jobs = [job("p0", 1, boards=(0,), prio=0), job("p1a", 2, boards=(1,), prio=1),
            job("p1b", 3, boards=(2,), prio=1), job("p1c", 4, boards=(3,), prio=1),
            job("high", 5, prio=3)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert plan.preempted(jobs) == ["p0"], "the victim must be the lowest-priority job"
    assert plan.assignments["high"] == (0,)


def test_within_the_lowest_priority_the_last_in_run_order_is_preempted_first():
    jobs = [job("old", 1, boards=(0,)), job("new", 2, boards=(1,)),
            job("urgent", 3, boards=(2,), deadline_t_ns=NOW_NS + 10**6 * S_NS),
            job("x", 4, boards=(3,), prio=2), job("high", 5, prio=3)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL, ctx=PlanContext(NOW_NS))
    assert plan.preempted(jobs) == ["new"], "victim must be the last in (deadline, acceptance) order"


def test_only_as_many_victims_as_needed_are_preempted():
    # victims in order: "small" (1 board) then "big" (2 boards); the waiting job needs 2, so
    # "big" alone suffices and "small" is spared. ("queued" would take a board "small" left.)
    jobs = [job("big", 1, 2, boards=(0, 1)), job("queued", 2, 1), job("small", 3, 1, boards=(2,)),
            job("mid", 4, 1, boards=(3,), prio=1), job("high", 5, 2, prio=3)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert plan.preempted(jobs) == ["big"], "a victim was preempted that the job did not need"
    assert plan.assignments == {"high": (0, 1), "small": (2,), "mid": (3,)}


def test_several_waiting_jobs_each_preempt_their_own_victims():
    jobs = [job("low0", 1, boards=(0,)), job("low1", 2, boards=(1,)),
            job("mid0", 3, boards=(2,), prio=1), job("mid1", 4, boards=(3,), prio=1),
            job("high0", 5, prio=3), job("high1", 6, prio=3), job("high2", 7, prio=2)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert sorted(plan.preempted(jobs)) == ["low0", "low1", "mid1"]
    assert {plan.assignments[h] for h in ("high0", "high1", "high2")} == {(0,), (1,), (3,)}


def test_a_job_is_never_preempted_for_one_of_the_same_priority():
    jobs = [job(f"r{b}", b + 1, boards=(b,), prio=2) for b in range(4)]
    jobs.append(job("eager", 9, prio=2, deadline_t_ns=NOW_NS + 1000 * S_NS, remaining_gpu_s=1.0))
    plan = greedy(jobs, PLENTY_W, COOL, MODEL, ctx=PlanContext(NOW_NS))
    assert plan.preempted(jobs) == [], "a job was preempted for one of the same priority"
    assert "eager" not in plan.assignments


def test_a_job_about_to_finish_is_not_preempted():
    near = job("near", 1, 2, boards=(0, 1), remaining_gpu_s=2 * PREEMPT_FINISH_GUARD_GPU_S)
    busy = [job("x", 2, boards=(2,), prio=5), job("y", 3, boards=(3,), prio=5)]
    jobs = [near, *busy, job("high", 4, 1, prio=3)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert plan.preempted(jobs) == [], "a job within the finish guard was preempted"


def test_a_job_just_beyond_the_finish_guard_is_preempted():
    far = job("far", 1, 2, boards=(0, 1), remaining_gpu_s=2 * PREEMPT_FINISH_GUARD_GPU_S + 1.0)
    busy = [job("x", 2, boards=(2,), prio=5), job("y", 3, boards=(3,), prio=5)]
    jobs = [far, *busy, job("high", 4, 1, prio=3)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert plan.preempted(jobs) == ["far"]


def test_nothing_is_preempted_when_that_would_not_let_the_job_start():
    jobs = [job("low", 1, 2, boards=(0, 1)), job("top", 2, 2, boards=(2, 3), prio=5),
            job("high", 3, 3, prio=3)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert plan.preempted(jobs) == [], "a job was preempted for one that still cannot start"


def test_when_the_budget_shrinks_the_lowest_priority_running_job_loses_its_board():
    jobs = [job("low", 1, boards=(0,), prio=0), job("high", 2, boards=(1,), prio=3),
            job("mid", 3, boards=(2,), prio=1)]
    plan = greedy(jobs, 2 * MODEL.min_power_w, COOL, MODEL)
    assert plan.preempted(jobs) == ["low"]


def test_with_no_budget_every_running_job_is_preempted():
    jobs = [job("a", 1, boards=(0,)), job("b", 2, boards=(1,), prio=9)]
    plan = greedy(jobs, 0.0, COOL, MODEL)
    assert plan.assignments == {} and plan.cap_w == (0.0,) * MODEL.n_boards


def test_a_running_job_whose_board_became_unusable_moves_to_a_usable_one():
    jobs = [job("a", 1, boards=(0,))]
    plan = greedy(jobs, PLENTY_W, (0.0, 100.0, 100.0, 100.0), MODEL)
    assert plan.assignments == {"a": (1,)}


# ---------------------------------------------------------------------- backfill

def test_a_job_that_does_not_fit_lets_a_smaller_one_of_its_priority_start():
    jobs = [job("run", 1, 2, boards=(0, 1)), job("wide", 2, 3), job("narrow", 3, 2)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert plan.assignments == {"run": (0, 1), "narrow": (2, 3)}, "no backfill behind a wide job"


def test_a_blocked_higher_priority_job_keeps_lower_priority_jobs_off_the_free_boards():
    jobs = [job("top", 1, 3, boards=(0, 1, 2), prio=5), job("high", 2, 2, prio=3),
            job("low", 3, 1, prio=0)]
    plan = greedy(jobs, PLENTY_W, COOL, MODEL)
    assert plan.assignments == {"top": (0, 1, 2)}, "a lower-priority job took a reserved board"


def test_a_blocked_job_needing_more_boards_than_are_usable_reserves_nothing():
    caps = (100.0, 100.0, 0.0, 0.0)  # two boards too hot
    jobs = [job("high", 1, 3, prio=3), job("low", 2, 1, prio=0)]
    plan = greedy(jobs, PLENTY_W, caps, MODEL)
    assert plan.assignments == {"low": (0,)}


def test_a_blocked_job_needing_more_boards_than_the_budget_covers_reserves_nothing():
    jobs = [job("high", 1, 3, prio=3), job("low", 2, 2, prio=0)]
    plan = greedy(jobs, 2 * MODEL.min_power_w, COOL, MODEL)
    assert plan.assignments == {"low": (0, 1)}


def test_idle_boards_get_no_power_and_busy_ones_share_the_budget():
    plan = greedy([job("a", 1, 2)], 150.0, COOL, MODEL)
    assert plan.cap_w == (75.0, 75.0, 0.0, 0.0)


# --------------------------------------------------------------------- property tests

@st.composite
def scenarios(draw):
    """(jobs, budget [W], thermal caps [W], model, t_ns or None): running jobs hold
    disjoint boards, priorities collide often, some deadlines are out of reach."""
    n = draw(st.integers(1, 10))
    model = BoardModel(n, max_power_w=draw(st.floats(20.0, 400.0)),
                       min_power_w=draw(st.floats(1.0, 20.0)))
    caps = tuple(draw(st.lists(st.sampled_from([0.0, 10.0, 25.0, 500.0]) | st.floats(0.0, 500.0),
                               min_size=n, max_size=n)))
    free = draw(st.permutations(range(n)))
    jobs = []
    for i in range(draw(st.integers(0, 10))):
        need = draw(st.integers(1, n))
        boards: tuple[int, ...] = ()
        if draw(st.booleans()) and len(free) >= need:
            boards, free = tuple(sorted(free[:need])), free[need:]
        deadline = draw(st.one_of(st.just(-1), st.integers(NOW_NS, NOW_NS + 3000 * S_NS)))
        remaining = draw(st.sampled_from([0.0, PREEMPT_FINISH_GUARD_GPU_S * need])
                         | st.floats(0.0, 3000.0))
        jobs.append(job(f"j{i}", i + 1, need, boards, prio=draw(st.integers(0, 3)),
                        deadline_t_ns=deadline, remaining_gpu_s=remaining))
    t_ns = draw(st.sampled_from([NOW_NS, None]))
    return jobs, draw(st.floats(0.0, 3000.0)), caps, model, t_ns


def boards_covered(budget_w: float, model: BoardModel) -> int:
    """Most busy boards the budget covers at minimum power (brute force, for checking)."""
    return max(k for k in range(model.n_boards + 1) if k * model.min_power_w <= budget_w)


def meets_deadline(j: JobView, t_ns: int | None) -> bool:
    return t_ns is None or j.deadline_t_ns < 0 or \
        j.remaining_gpu_s / j.boards_needed * S_NS <= j.deadline_t_ns - t_ns


def guarded(j: JobView, plan: Plan) -> bool:
    """Kept its boards and is within the finish guard: never a victim."""
    return plan.assignments.get(j.job_id) == j.boards and bool(j.boards) and \
        j.remaining_gpu_s <= PREEMPT_FINISH_GUARD_GPU_S * len(j.boards)


def run_order(j: JobView) -> tuple[int, int, int]:
    return (-j.priority, j.deadline_t_ns if j.deadline_t_ns >= 0 else 2**63, j.order_no)


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios())
def test_every_plan_respects_boards_budget_caps_and_deadlines(scenario):
    jobs, budget_w, caps, model, t_ns = scenario
    plan = greedy(jobs, budget_w, caps, model, ctx=_ctx(t_ns))
    by_id = {j.job_id: j for j in jobs}
    used = [b for bs in plan.assignments.values() for b in bs]
    assert len(used) == len(set(used)), f"a board was assigned twice: {plan.assignments}"
    assert sum(plan.cap_w) <= budget_w + POWER_TOL_W, f"caps {plan.cap_w} exceed budget {budget_w}"
    for job_id, boards in plan.assignments.items():
        j = by_id[job_id]
        assert len(boards) == j.boards_needed, f"{job_id} got {len(boards)} boards"
        assert all(caps[b] >= model.min_power_w for b in boards), f"{job_id} got an unusable board"
        assert meets_deadline(j, t_ns), f"{job_id} was given boards but cannot meet its deadline"
    assert_caps_within_board_limits(plan, caps, model)


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios())
def test_a_waiting_job_could_not_start_by_replacing_lower_priority_work_unless_reserved(scenario):
    jobs, budget_w, caps, model, t_ns = scenario
    plan = greedy(jobs, budget_w, caps, model, ctx=_ctx(t_ns))
    covered = boards_covered(budget_w, model)
    usable = [b for b in range(model.n_boards) if caps[b] >= model.min_power_w]
    capacity = min(covered, len(usable))
    used = {b for bs in plan.assignments.values() for b in bs}
    free_room = min(len([b for b in usable if b not in used]), covered - len(used))
    waiting = [j for j in jobs if j.job_id not in plan.assignments
               and meets_deadline(j, t_ns) and j.boards_needed <= capacity]
    for w in waiting:
        if any(v.priority > w.priority for v in waiting):
            continue  # a higher-priority job waits too and reserves the boards (backfill rule)
        freeable = sum(len(a.boards) for a in jobs if a.job_id in plan.assignments
                       and a.priority < w.priority and not guarded(a, plan))
        assert free_room + freeable < w.boards_needed, \
            f"{w.job_id} (priority {w.priority}) waits though {free_room} free boards and " \
            f"{freeable} boards of lower-priority unguarded jobs would let it start"


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios())
def test_no_job_overtakes_one_ahead_of_it_that_needs_no_more_boards(scenario):
    jobs, budget_w, caps, model, t_ns = scenario
    plan = greedy(jobs, budget_w, caps, model, ctx=_ctx(t_ns))
    waiting = sorted((j for j in jobs if not j.boards and meets_deadline(j, t_ns)), key=run_order)
    for i, x in enumerate(waiting):
        for y in waiting[i + 1:]:
            if y.job_id in plan.assignments and x.boards_needed <= y.boards_needed:
                assert x.job_id in plan.assignments, \
                    f"{y.job_id} started ahead of {x.job_id}, which comes first and needs no more boards"


@settings(max_examples=300, deadline=None)
@given(scenario=scenarios())
def test_with_ample_budget_a_job_is_preempted_only_for_a_strictly_higher_priority_one(scenario):
    jobs, _, caps, model, t_ns = scenario
    budget_w = model.n_boards * model.max_power_w  # the budget never forces a preemption
    plan = greedy(jobs, budget_w, caps, model, ctx=_ctx(t_ns))
    # jobs given boards they did not hold: new starts, and moves off boards gone too hot
    started = [j for j in jobs if plan.assignments.get(j.job_id, j.boards) != j.boards]
    for j in jobs:
        if not j.boards or not meets_deadline(j, t_ns) or \
                any(caps[b] < model.min_power_w for b in j.boards):
            continue  # not running, doomed, or lost a board to heat: may lose its boards
        if j.job_id in plan.assignments:
            assert plan.assignments[j.job_id] == j.boards, f"{j.job_id} was moved off usable boards"
            continue
        assert j.remaining_gpu_s > PREEMPT_FINISH_GUARD_GPU_S * len(j.boards), \
            f"{j.job_id} was preempted within the finish guard"
        assert any(s.priority > j.priority for s in started), \
            f"{j.job_id} (priority {j.priority}) was preempted with no higher-priority job starting"


@settings(max_examples=100, deadline=None)
@given(scenario=scenarios(), data=st.data())
def test_the_plan_does_not_depend_on_the_order_of_the_job_list(scenario, data):
    jobs, budget_w, caps, model, t_ns = scenario
    shuffled = data.draw(st.permutations(jobs))
    assert greedy(shuffled, budget_w, caps, model, ctx=_ctx(t_ns)) == \
        greedy(jobs, budget_w, caps, model, ctx=_ctx(t_ns)), "the plan depends on the list order"
