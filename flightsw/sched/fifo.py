"""FIFO policy: jobs run in the order they were accepted, strictly (head-of-line).

1. Boards whose thermal cap is below the minimum power are unusable.
2. Running jobs, oldest first, keep their boards while those stay usable and the budget
   still covers every kept board at its minimum power; a job that no longer fits is
   preempted (so when jobs differ in size, a newer small job may keep running while an
   older large one waits: it uses the power better).
3. Waiting jobs start in acceptance order while free usable boards and budget allow;
   the first that does not fit blocks those behind it.
4. The budget is water-filled over the busy boards (see power_split).
5. The job at the head of the line waits for boards, power or heat; those behind it wait
   their turn (``order``).
"""

from __future__ import annotations

from collections.abc import Sequence
from operator import attrgetter

from flightsw.sched.explain import wait_reasons
from flightsw.sched.power_split import board_caps
from flightsw.sched.types import BoardModel, JobView, Plan, PlanContext

__all__ = ["fifo"]

_BOARDS = attrgetter("boards")  # truthy for a running job (a C-level filter)


def fifo(
    jobs: Sequence[JobView], budget_w: float, thermal_cap_w: Sequence[float], model: BoardModel,
    *, ctx: PlanContext | None = None,
) -> Plan:
    """``jobs`` in acceptance order (ascending order_no); caps and budget in W; ``ctx`` unused
    (FIFO plans on what it sees now)."""
    ordered = jobs  # the executor passes them in acceptance order
    usable = [thermal_cap_w[b] >= model.min_power_w for b in range(model.n_boards)]
    assignments: dict[str, tuple[int, ...]] = {}
    busy: set[int] = set()
    for j in filter(_BOARDS, ordered):  # keep what runs, oldest first
        if all(usable[b] for b in j.boards):
            need = (len(busy) + len(j.boards)) * model.min_power_w
            if need <= budget_w:
                assignments[j.job_id] = j.boards
                busy.update(j.boards)
    head: JobView | None = None
    for j in ordered:  # start what waits, strictly in order
        if j.job_id in assignments:
            continue
        free = [b for b in range(model.n_boards) if usable[b] and b not in busy]
        need = (len(busy) + j.boards_needed) * model.min_power_w
        if len(free) < j.boards_needed or need > budget_w:
            head = j
            break
        boards = tuple(free[: j.boards_needed])
        assignments[j.job_id] = boards
        busy.update(boards)
    waiting = {j.job_id: "order" for j in ordered if j.job_id not in assignments}
    if head is not None:
        waiting.update(wait_reasons([head], assignments, {}, budget_w, thermal_cap_w, model))
    return Plan(assignments, board_caps(assignments, budget_w, thermal_cap_w, model), waiting)

