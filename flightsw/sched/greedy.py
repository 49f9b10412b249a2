"""Greedy policy: as much power as the budget allows, higher priority first, deadlines
within a priority, guarded preemption and backfill that respects a blocked higher-priority
job. (Named ``priority`` before the scheduling suite; ``rank_fill`` is its engine, which
the predictive policy drives with its own power level and tests.)

1. Boards whose thermal cap is below the minimum power are unusable. The budget covers
   ``floor(budget / min power)`` busy boards; ``capacity`` is the smaller of that and the
   number of usable boards: no job needing more can run in this plan.
2. Order: higher priority first; within a priority, earlier deadline first (no deadline
   last), then acceptance order. When the caller passes a context (``ctx.t_ns``), a job
   that can no longer meet its deadline even at full power on its boards
   (``remaining_gpu_s / boards_needed`` seconds from ``t_ns``) is skipped: never started,
   and preempted if it runs (the executor expires such jobs itself, by the same test;
   without a context none is skipped here).
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
6. Every job left waiting gets its reason (``explain.wait_reasons``).

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

from collections.abc import Callable, Sequence
from heapq import heapify, heappop, heappush

from flightsw.sched.explain import boards_covered, wait_reasons
from flightsw.sched.power_split import board_caps
from flightsw.sched.types import BoardModel, JobView, Plan, PlanContext

__all__ = ["PREEMPT_FINISH_GUARD_GPU_S", "greedy", "rank_fill"]

# [GPU-s per board] A running job with at most this much work left per board (about a
# minute at full power; a tenth of the default scenario's median job) is never preempted
# for a waiting one: it frees its boards soon anyway, and preempting it would only add a
# checkpoint save and load, and a chance of preempting it again on the next plan.
PREEMPT_FINISH_GUARD_GPU_S = 60.0
_NS_PER_S = 1_000_000_000
_NO_DEADLINE_NS = 2**63  # sorts after every real deadline


def greedy(
    jobs: Sequence[JobView],
    budget_w: float,
    thermal_cap_w: Sequence[float],
    model: BoardModel,
    *,
    ctx: PlanContext | None = None,
) -> Plan:
    """``jobs`` in any order (acceptance order is ``order_no``); caps and budget in W;
    ``ctx``: the context (its ``t_ns`` enables the deadline test), or None."""
    t_ns = None if ctx is None else ctx.t_ns

    def skip(j: JobView) -> str | None:
        return None if _can_meet_deadline(j, t_ns) else "deadline"

    return rank_fill(jobs, budget_w, thermal_cap_w, model, skip)


def rank_fill(
    jobs: Sequence[JobView],
    budget_w: float,
    thermal_cap_w: Sequence[float],
    model: BoardModel,
    skip: Callable[[JobView], str | None],
    guard: Callable[[JobView], bool] | None = None,
    rank: Callable[[JobView], float] | None = None,
    spread: bool = False,
    order: Callable[[JobView], tuple] | None = None,
    warm: Sequence[bool] = (),
    max_boards: int | None = None,
) -> Plan:
    """Steps 1-6 with ``budget_w`` as the power to spend; ``skip(job)`` names why a job
    must not run now (a WAIT_REASONS entry) or None; ``guard(job)``: True for a running
    job that must not be preempted (default: near its finish, PREEMPT_FINISH_GUARD_GPU_S);
    ``rank(job)``: the class that orders jobs, preempts and reserves, higher first
    (default: the priority; "priority" in steps 2-4 reads as this rank); ``spread``: start
    jobs on the free boards of the least busy cold plates first (``model.boards_per_plate``),
    not the lowest-numbered: the compute's heat then warms every plate, in place of the
    plate heaters, when few boards run; ``order(job)``: the key that orders jobs of one
    rank (default: earlier deadline, then acceptance order)."""
    rank = rank or _priority
    order = order or _deadline_order
    usable = [thermal_cap_w[b] >= model.min_power_w for b in range(model.n_boards)]
    room = boards_covered(budget_w, model)  # busy boards the budget still covers
    if max_boards is not None:
        room = min(room, max(0, max_boards))
    capacity = min(room, sum(usable))
    skipped: dict[str, str] = {}
    eligible = []
    for j in jobs:
        why = skip(j)
        if why is None:
            eligible.append(j)
        else:
            skipped[j.job_id] = why
    ordered = sorted(eligible, key=lambda j: (-rank(j), *order(j)))
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
    protected = guard or _near_finish
    victims = _Victims([j for j in reversed(kept) if not protected(j)], rank)  # reverse run order
    reserved_above: int | None = None  # a blocked job of this priority reserves its boards
    for j in ordered:
        if j.job_id in assignments or j.boards_needed > capacity:
            continue
        if reserved_above is not None and rank(j) < reserved_above:
            break
        victims.limit_below(rank(j))
        free_room = min(len(free), room)
        if free_room + victims.eligible_boards == 0:
            break  # both only fall from here on: nothing else can start
        short = j.boards_needed - free_room
        if short > 0:
            if victims.eligible_boards < short:
                if reserved_above is None:
                    reserved_above = rank(j)
                continue
            for v in victims.take(short):
                del assignments[v.job_id]
                room += len(v.boards)
                for b in v.boards:
                    heappush(free, b)
                    busy[b] = False
        if spread and model.boards_per_plate > 0:
            assignments[j.job_id] = _spread_pick(free, j.boards_needed, busy, model.boards_per_plate, warm)
        else:
            assignments[j.job_id] = tuple(heappop(free) for _ in range(j.boards_needed))
        room -= j.boards_needed
    caps = board_caps(assignments, budget_w, thermal_cap_w, model)
    return Plan(assignments, caps, wait_reasons(jobs, assignments, skipped, budget_w, thermal_cap_w, model,
                                                 blocked_by_rank=True))


def _spread_pick(free: list[int], n: int, busy: list[bool], per_plate: int,
                 warm: Sequence[bool] = ()) -> tuple[int, ...]:
    """Take ``n`` boards from the heap ``free``, each from the plate with the fewest busy
    boards (then the lowest index); marks them busy. O(boards) per board taken."""
    picked = []
    for _ in range(n):
        load: dict[int, int] = {}
        for b, on in enumerate(busy):
            if on:
                load[b // per_plate] = load.get(b // per_plate, 0) + 1
        best = min(free, key=lambda b: (not (b < len(warm) and warm[b]), load.get(b // per_plate, 0), b))
        free.remove(best)
        busy[best] = True
        picked.append(best)
    heapify(free)
    return tuple(picked)


def _priority(j: JobView) -> float:
    return j.priority


def _run_order(j: JobView) -> tuple[int, int, int]:
    deadline_ns = j.deadline_t_ns if j.deadline_t_ns >= 0 else _NO_DEADLINE_NS
    return (-j.priority, deadline_ns, j.order_no)


def _deadline_order(j: JobView) -> tuple[int, int]:
    return _run_order(j)[1:]


def _can_meet_deadline(j: JobView, t_ns: int | None) -> bool:
    if t_ns is None or j.deadline_t_ns < 0:
        return True
    return j.remaining_gpu_s / j.boards_needed * _NS_PER_S <= j.deadline_t_ns - t_ns


def _near_finish(j: JobView) -> bool:
    return j.remaining_gpu_s <= PREEMPT_FINISH_GUARD_GPU_S * len(j.boards)


class _Victims:
    """Running jobs that may be preempted, lowest priority first (reverse run order).

    Only jobs of priority below a threshold are eligible; the threshold only falls (the
    fill visits waiting jobs highest priority first). Taken jobs are skipped with a
    union-find "next untaken" array, so all calls together cost O(boards)."""

    def __init__(self, jobs: list[JobView], rank: Callable[[JobView], float] = _priority) -> None:
        self._jobs = jobs
        self._rank = rank
        self._next = list(range(len(jobs) + 1))  # _find(i): first untaken index >= i
        self._hi = len(jobs)  # jobs[:_hi] are below the threshold
        self.eligible_boards = sum(len(j.boards) for j in jobs)  # untaken, below threshold

    def limit_below(self, priority: float) -> None:
        while self._hi > 0 and self._rank(self._jobs[self._hi - 1]) >= priority:
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
