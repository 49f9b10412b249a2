"""Priority policy: higher priority first, deadlines within a priority, guarded preemption
and backfill that respects a blocked higher-priority job.

1. Boards whose thermal cap is below the minimum power are unusable. The budget covers
   ``floor(budget / min power)`` busy boards; ``capacity`` is the smaller of that and the
   number of usable boards: no job needing more can run in this plan.
2. Order: higher priority first; within a priority, earlier deadline first (no deadline
   last), then acceptance order. When the caller passes ``t_ns``, a job that can no longer
   meet its deadline even at full power on its boards (``remaining_gpu_s / boards_needed``
   seconds from ``t_ns``) is skipped: never started, and preempted if it runs (the
   executor expires such jobs itself, by the same test; without ``t_ns`` none is skipped
   here).
3. Keep: running jobs, in that order, keep their boards while those stay usable and the
   budget covers every kept board at its minimum power (so when the budget shrinks, the
   last in that order lose their boards first). A job that lost a board to heat waits,
   and may start again on other boards in step 4.
4. Fill: waiting jobs, in that order, start on the lowest-numbered free usable boards
   while boards and budget allow. A job that does not fit:

   a. preempts running jobs of strictly lower priority when that lets it start. Victims
      are taken lowest priority first (within a priority, in reverse of the order of 2),
      then every victim it turns out not to need is spared (the last taken first), so
      no single victim could have been left running. Never a victim, against thrash: a job
      of the same or higher priority, and a job that will finish within
      ``PREEMPT_FINISH_GUARD_GPU_S`` of work per board (the waiting job soon gets its
      boards anyway).
   b. else it waits. Jobs of the same priority behind it may still start (backfill). If
      it needs at most ``capacity`` boards it reserves: no job of lower priority starts
      or preempts in this plan, so lower-priority work does not take the boards it waits
      for. A job that needs more than ``capacity`` can use nothing now and reserves
      nothing.
5. The budget is water-filled over the busy boards (power_split.board_caps).

What it leaves out. The deadline test assumes full power (the policy does not know the
boards' throughput curve), so it is optimistic: a skipped job surely misses, a started one
may still miss. Backfill within a priority can starve a wide job under a steady stream of
narrow ones of the same priority (no time-based reservations: the policy has no clock
beyond ``t_ns`` and no run-time estimate beyond remaining work). Boards are chosen by
index, not by thermal headroom. A preempted job may start again on other boards in the
same plan if boards are left over (a move: it costs a checkpoint save and load, no work).

Cost: O(jobs log jobs + boards log boards) per call.
"""

from __future__ import annotations

from collections.abc import Sequence
from heapq import heappop, heappush

from flightsw.sched.power_split import board_caps
from flightsw.sched.types import BoardModel, JobView, Plan

__all__ = ["PREEMPT_FINISH_GUARD_GPU_S", "priority"]

# [GPU-s per board] A running job with at most this much work left per board (about a
# minute at full power; a tenth of the default scenario's median job) is never preempted
# for a waiting one: it frees its boards soon anyway, and preempting it would only add a
# checkpoint save and load, and a chance of preempting it again on the next plan.
PREEMPT_FINISH_GUARD_GPU_S = 60.0
_NS_PER_S = 1_000_000_000
_NO_DEADLINE_NS = 2**63  # sorts after every real deadline


def priority(
    jobs: Sequence[JobView],
    budget_w: float,
    thermal_cap_w: Sequence[float],
    model: BoardModel,
    *,
    t_ns: int | None = None,
) -> Plan:
    """``jobs`` in any order (acceptance order is ``order_no``); caps and budget in W;
    ``t_ns`` the current time [ns since epoch], or None to skip the deadline test."""
    usable = [thermal_cap_w[b] >= model.min_power_w for b in range(model.n_boards)]
    room = _boards_covered(budget_w, model)  # busy boards the budget still covers
    capacity = min(room, sum(usable))
    eligible = jobs if t_ns is None else [j for j in jobs if _can_meet_deadline(j, t_ns)]
    ordered = sorted(eligible, key=_run_order)
    assignments: dict[str, tuple[int, ...]] = {}
    busy = [False] * model.n_boards
    kept = []
    for j in ordered:  # running jobs keep their boards, in run order
        if j.boards and len(j.boards) <= room and all(usable[b] and not busy[b] for b in j.boards):
            assignments[j.job_id] = j.boards
            room -= len(j.boards)
            for b in j.boards:
                busy[b] = True
            kept.append(j)
    free = [b for b in range(model.n_boards) if usable[b] and not busy[b]]  # sorted: a heap
    victims = _Victims([j for j in reversed(kept) if not _near_finish(j)])  # reverse run order
    reserved_above: int | None = None  # a blocked job of this priority reserves its boards
    for j in ordered:
        if j.job_id in assignments or j.boards_needed > capacity:
            continue
        if reserved_above is not None and j.priority < reserved_above:
            break
        victims.limit_below(j.priority)
        free_room = min(len(free), room)
        if free_room + victims.eligible_boards == 0:
            break  # both only fall from here on: nothing else can start
        short = j.boards_needed - free_room
        if short > 0:
            if victims.eligible_boards < short:
                if reserved_above is None:
                    reserved_above = j.priority
                continue
            for v in victims.take(short):
                del assignments[v.job_id]
                room += len(v.boards)
                for b in v.boards:
                    heappush(free, b)
        assignments[j.job_id] = tuple(heappop(free) for _ in range(j.boards_needed))
        room -= j.boards_needed
    return Plan(assignments, board_caps(assignments, budget_w, thermal_cap_w, model))


def _run_order(j: JobView) -> tuple[int, int, int]:
    deadline_ns = j.deadline_t_ns if j.deadline_t_ns >= 0 else _NO_DEADLINE_NS
    return (-j.priority, deadline_ns, j.order_no)


def _can_meet_deadline(j: JobView, t_ns: int | None) -> bool:
    if t_ns is None or j.deadline_t_ns < 0:
        return True
    return j.remaining_gpu_s / j.boards_needed * _NS_PER_S <= j.deadline_t_ns - t_ns


def _near_finish(j: JobView) -> bool:
    return j.remaining_gpu_s <= PREEMPT_FINISH_GUARD_GPU_S * len(j.boards)


def _boards_covered(budget_w: float, model: BoardModel) -> int:
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


class _Victims:
    """Running jobs that may be preempted, lowest priority first (reverse run order).

    Only jobs of priority below a threshold are eligible; the threshold only falls (the
    fill visits waiting jobs highest priority first). Taken jobs are skipped with a
    union-find "next untaken" array, so all calls together cost O(boards)."""

    def __init__(self, jobs: list[JobView]) -> None:
        self._jobs = jobs
        self._next = list(range(len(jobs) + 1))  # _find(i): first untaken index >= i
        self._hi = len(jobs)  # jobs[:_hi] are below the threshold
        self.eligible_boards = sum(len(j.boards) for j in jobs)  # untaken, below threshold

    def limit_below(self, priority: int) -> None:
        while self._hi > 0 and self._jobs[self._hi - 1].priority >= priority:
            self._hi -= 1
            if self._find(self._hi) == self._hi:
                self.eligible_boards -= len(self._jobs[self._hi].boards)

    def take(self, n_boards: int) -> list[JobView]:
        """Preempt eligible jobs holding at least ``n_boards`` boards together (the caller
        checked ``eligible_boards >= n_boards``): lowest first, then spare the unneeded."""
        chosen, freed = [], 0
        i = self._find(0)
        while freed < n_boards:
            chosen.append(i)
            freed += len(self._jobs[i].boards)
            i = self._find(i + 1)
        taken = []
        for i in reversed(chosen):
            size = len(self._jobs[i].boards)
            if freed - size >= n_boards:  # not needed after all: spare it
                freed -= size
                continue
            self._next[i] = i + 1
            self.eligible_boards -= size
            taken.append(self._jobs[i])
        return taken

    def _find(self, i: int) -> int:
        root = i
        while self._next[root] != root:
            root = self._next[root]
        while self._next[i] != root:  # path compression
            self._next[i], i = root, self._next[i]
        return root
