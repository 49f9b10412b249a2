"""Which deadline jobs to promise: the densest set the boards can finish in time.

When more deadline work waits than the boards can do before those deadlines, running
the densest job first is wrong: a dense job due tomorrow takes the boards from a
slightly less dense job due in an hour, which then expires though both would have fit.
The classic remedy for weighted deadline scheduling on a shared resource:

0. Only deadline jobs worth the boards' time are candidates: at least as dense as the
   *marginal density* (``marginal_density``): walk the work densest first, the queue
   and the demand forecast, until the boards' throughput over the time that can still
   deliver (to the contact plan's last pass, a day at most) is spent; the density
   reached is the least that will still run. A job below it would be shed anyway under
   the load to come: promising it would take the time of denser work. Work without a
   deadline is never promised: it runs in density order, so deferring it for a promise
   costs nothing while the capacity covers it (the marginal density says so).
1. Each job's *effective deadline* is when its result must be ready to reach the ground
   in time: its deadline, or, inside the contact plan, the end of the last pass that
   starts before it (less a margin to send the result down). No deadline: infinity.
2. Walk the jobs densest first (value per GPU-second, then earlier deadline) and keep a
   job when the kept set stays feasible for earliest-deadline-first at the forecast rate:
   for every kept deadline d, the kept work due by d is at most ``rate x (d - now)``.
3. The kept jobs run earliest deadline first (which finishes every one of them if the
   forecast holds); the others fill what is left, densest first.

This is value-density scheduling with deadline-feasible admission, as in Locke's
best-effort scheduling (CMU, 1986), with the overload judged against forecast demand
rather than the queue alone: a backlog that fits by the last pass still leaves no room
when the same time brings as much new work again.

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
from collections.abc import Callable, Iterable, Sequence

import numpy as np

from flightsw.sched.types import JobView

__all__ = ["effective_deadline_s", "marginal_density", "promise"]

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


def marginal_density(work: Iterable[tuple[float, float]], capacity_gpu_s: float) -> float:
    """The density of the last work the boards reach, densest first, within
    ``capacity_gpu_s``: ``work`` is (density, GPU-s) pairs; 0.0 when all of it fits."""
    done = 0.0
    for d, w in sorted(work, key=lambda dw: -dw[0]):
        done += w
        if done > capacity_gpu_s:
            return d
    return 0.0


def promise(jobs: Sequence[JobView], due_s: Callable[[JobView], float], density: Callable[[JobView], float],
            rate_gpu_s_per_s: float, board_rate: float = math.inf) -> set[str]:
    """The ids of the jobs kept (step 2): every job without a deadline, and the deadline
    jobs that fit, densest first, at ``rate_gpu_s_per_s``. A job already late (due < 0)
    is never kept. Which jobs are candidates is the caller's choice: the predictive
    policy offers only those at least as dense as the marginal density up to the last pass
    (``marginal_density``): keeping a less dense one would take the time of denser work,
    queued or still to come."""
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
