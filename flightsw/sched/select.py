"""Which deadline jobs to promise: the densest set the boards can finish in time.

When more deadline work waits than the boards can do before those deadlines, running
the densest job first is wrong: a dense job due tomorrow takes the boards from a
slightly less dense job due in an hour, which then expires though both would have fit.
The classic remedy for weighted deadline scheduling on a shared resource:

1. Each job's *effective deadline* is when its result must be ready to reach the ground
   in time: its deadline, or, inside the contact plan, the end of the last pass that
   starts before it (less a margin to send the result down). No deadline: infinity.
2. Walk the jobs densest first (value per GPU-second, then earlier deadline) and keep a
   job when the kept set stays feasible for earliest-deadline-first at the forecast rate:
   for every kept deadline d, the kept work due by d is at most ``rate x (d - now)``.
3. The kept jobs run earliest deadline first (which finishes every one of them if the
   forecast holds); the others fill what is left, densest first.

The rate is the boards' total throughput [GPU-s per s] at the planned power, times a
margin: the forecast is re-made at every plan, so a job the boards fall behind on is
dropped (the least dense first) before the ones above it are put at risk.

Treated as divisible (work over all boards at the total rate): a job's own board count
bounds how fast it can go, which the caller's deadline test checks per job.

Cost: O(n log n) to sort plus O(n) numpy work per job kept or refused (n jobs).
"""

from __future__ import annotations

import bisect
import math
from collections.abc import Callable, Sequence

import numpy as np

from flightsw.sched.types import JobView

__all__ = ["effective_deadline_s", "promise"]

NS_PER_S = 1_000_000_000


def effective_deadline_s(j: JobView, t_ns: int, passes: Sequence[tuple[int, int]], margin_s: float,
                         aos: Sequence[int] | None = None) -> float:
    """Seconds from ``t_ns`` by which ``j``'s result must be ready (inf: no deadline;
    negative: too late already). Inside the contact plan the result must be ready by the
    end (less ``margin_s``) of the last pass that starts before the deadline; beyond the
    plan, the deadline itself."""
    if j.deadline_t_ns < 0:
        return math.inf
    ready_ns = j.deadline_t_ns
    if passes and j.deadline_t_ns <= passes[-1][1]:
        starts = [a for a, _ in passes] if aos is None else aos  # pass ``aos`` when calling per job
        i = bisect.bisect_right(starts, j.deadline_t_ns) - 1
        if i < 0:
            return -1.0
        ready_ns = min(ready_ns, passes[i][1] - int(margin_s * NS_PER_S))
    return (ready_ns - t_ns) / NS_PER_S


def promise(jobs: Sequence[JobView], due_s: Callable[[JobView], float], density: Callable[[JobView], float],
            rate_gpu_s_per_s: float, board_rate: float = math.inf) -> set[str]:
    """The ids of the jobs kept (step 2): every job without a deadline, and the deadline
    jobs that fit, densest first, at ``rate_gpu_s_per_s``. A job already late (due < 0)
    is never kept. Only jobs at least as dense as the marginal density of the next
    ``window_s`` are candidates (the boards would reach them in that time anyway: keeping
    a less dense one would take the time of denser work, known or still to come)."""
    finite = [due_s(j) for j in jobs if math.isfinite(due_s(j))]
    if finite and sum(j.remaining_gpu_s for j in jobs) > rate_gpu_s_per_s * max(finite):
        return set()
    jobs = [j for j in jobs if j.remaining_gpu_s <= board_rate * j.boards_needed * due_s(j)]
    kept = {j.job_id for j in jobs if math.isinf(due_s(j)) and due_s(j) > 0}
    timed = [j for j in jobs if not math.isinf(due_s(j)) and due_s(j) >= 0.0]
    if not timed or rate_gpu_s_per_s <= 0.0:
        return kept
    by_due = sorted(timed, key=lambda j: (due_s(j), j.order_no))
    due = np.array([due_s(j) for j in by_due])
    work = np.array([j.remaining_gpu_s for j in by_due])
    slack = rate_gpu_s_per_s * due - np.cumsum(work)
    if slack.min() >= 0.0:  # everything fits: no choice to make
        return kept | {j.job_id for j in timed}
    pos = {j.job_id: k for k, j in enumerate(by_due)}
    slack = rate_gpu_s_per_s * due  # nothing kept yet
    for j in sorted(timed, key=lambda j: (-density(j), due_s(j), j.order_no)):
        k, w = pos[j.job_id], j.remaining_gpu_s
        if slack[k:].min() >= w:
            slack[k:] -= w
            kept.add(j.job_id)
    return kept
