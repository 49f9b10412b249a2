"""EDF policy: earliest deadline first, whatever the priority; a baseline.

1. Boards whose thermal cap is below the minimum power are unusable.
2. Order: earlier deadline first (jobs without one after all that have one), then higher
   priority, then acceptance order. With a context, a job that can no longer meet its
   deadline even at full power is skipped (``deadline``), as greedy does.
3. Running jobs keep their boards, in that order, while the budget covers every kept
   board at its minimum power (no preemption for a waiting job: a deadline-ordered queue
   under a full machine would otherwise thrash).
4. Waiting jobs start in that order on free usable boards while boards and budget allow;
   one that does not fit is passed over (backfill) and the next may start.
5. The budget is water-filled over the busy boards (power_split).
"""

from __future__ import annotations

from collections.abc import Sequence

from flightsw.sched.explain import boards_covered, wait_reasons
from flightsw.sched.greedy import _can_meet_deadline
from flightsw.sched.power_split import board_caps
from flightsw.sched.types import BoardModel, JobView, Plan, PlanContext

__all__ = ["edf"]

_NO_DEADLINE_NS = 2**63


def _edf_order(j: JobView) -> tuple[int, int, int]:
    return (j.deadline_t_ns if j.deadline_t_ns >= 0 else _NO_DEADLINE_NS, -j.priority, j.order_no)


def edf(jobs: Sequence[JobView], budget_w: float, thermal_cap_w: Sequence[float], model: BoardModel,
        *, ctx: PlanContext | None = None) -> Plan:
    """``jobs`` in any order; caps and budget in W; ``ctx.t_ns`` enables the deadline test."""
    t_ns = None if ctx is None else ctx.t_ns
    usable = [thermal_cap_w[b] >= model.min_power_w for b in range(model.n_boards)]
    room = boards_covered(budget_w, model)
    skipped = {j.job_id: "deadline" for j in jobs if not _can_meet_deadline(j, t_ns)}
    ordered = sorted((j for j in jobs if j.job_id not in skipped), key=_edf_order)
    assignments: dict[str, tuple[int, ...]] = {}
    busy = [False] * model.n_boards
    for j in ordered:
        if j.boards and len(j.boards) <= room and all(usable[b] and not busy[b] for b in j.boards):
            assignments[j.job_id] = j.boards
            room -= len(j.boards)
            for b in j.boards:
                busy[b] = True
    free = [b for b in range(model.n_boards) if usable[b] and not busy[b]]
    for j in ordered:
        if j.job_id in assignments or j.boards_needed > min(room, len(free)):
            continue
        assignments[j.job_id], free = tuple(free[: j.boards_needed]), free[j.boards_needed:]
        room -= j.boards_needed
    caps = board_caps(assignments, budget_w, thermal_cap_w, model)
    return Plan(assignments, caps, wait_reasons(jobs, assignments, skipped, budget_w, thermal_cap_w, model))
