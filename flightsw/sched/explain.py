"""Why each job a plan leaves waiting waits: one of ``types.WAIT_REASONS``, for operators.

The reasons are judged after the plan, from what it left: a job the policy skipped keeps
the policy's own reason (deadline, downlink); otherwise, in this order,

- ``thermal``: fewer boards are usable (cap at or above the minimum power) than it needs,
  and some are unusable because their cap is below the minimum (heat, or out of service:
  the executor zeroes those; it refines the reason when it knows better);
- ``energy``: the power to spend covers fewer busy boards (at the minimum power each) than
  it needs, or than are left once the plan's jobs have theirs;
- ``boards``: its boards are taken by jobs ranked before it;
- ``order``: boards and power would fit it, but it waits its turn behind a job ranked
  before it that itself waits (FIFO's head of line, a reservation for a higher priority).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flightsw.sched.types import BoardModel, JobView

__all__ = ["boards_covered", "wait_reasons"]


def boards_covered(budget_w: float, model: BoardModel) -> int:
    """The most busy boards ``budget_w`` covers at the minimum power each."""
    n, floor_w = model.n_boards, model.min_power_w
    if floor_w <= 0.0:
        return n
    if not budget_w > 0.0:  # also NaN
        return 0
    k = min(n, int(budget_w // floor_w))
    while k > 0 and k * floor_w > budget_w:  # guard float round-off both ways
        k -= 1
    while k < n and (k + 1) * floor_w <= budget_w:
        k += 1
    return k


def wait_reasons(jobs: Sequence[JobView], assignments: Mapping[str, tuple[int, ...]],
                 skipped: Mapping[str, str], budget_w: float, thermal_cap_w: Sequence[float],
                 model: BoardModel, *, blocked_by_rank: bool = True) -> dict[str, str]:
    """job id -> reason for every job in ``jobs`` that the plan does not run."""
    usable = sum(1 for b in range(model.n_boards) if thermal_cap_w[b] >= model.min_power_w)
    covered = boards_covered(budget_w, model)
    busy = sum(len(b) for b in assignments.values())
    free = usable - busy
    room = covered - busy
    out: dict[str, str] = {}
    for j in jobs:
        if j.job_id in assignments:
            continue
        why = skipped.get(j.job_id)
        if why is None:
            need = j.boards_needed
            if need > usable and usable < model.n_boards:
                why = "thermal"
            elif need > covered or need > room and need <= free:
                why = "energy"
            elif need > free:
                why = "boards"
            else:
                why = "order" if blocked_by_rank else "energy"
        out[j.job_id] = why
    return out
