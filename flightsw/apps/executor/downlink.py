"""Which stored results to offer the downlink, in what order (pure).

The link is short and scarce, so results go down by value (flightsw.icd.value: 2**priority
x work, 0 once the job's deadline has passed), most valuable first, and among equal
values the oldest first. Comms holds a bounded window of them; this picks what fits.
"""

from __future__ import annotations

from collections.abc import Collection, Sequence

from flightsw.icd.value import job_value

__all__ = ["choose_results", "result_value"]


def result_value(priority: int, work_gpu_s: float, deadline_t_ns: int, now_t_ns: int) -> float:
    """What a result is worth if it reaches the ground now (0 past its deadline)."""
    return job_value(priority, work_gpu_s, deadline_t_ns, now_t_ns)


def choose_results(pending: Sequence[tuple[str, int, float]], max_bytes: int,
                   skip: Collection[str] = ()) -> list[str]:
    """Job ids to offer, in offer order. ``pending``: (job_id, result size [bytes], value),
    oldest first. By value, descending, then age; a result that does not fit in what is
    left of ``max_bytes`` is passed over (so one large result blocks none behind it);
    when nothing fits, the first alone is offered, so a result larger than the room
    still goes once comms has drained."""
    ranked = sorted((p for p in pending if p[0] not in skip), key=lambda p: -p[2])  # stable: age
    chosen: list[str] = []
    total = 0
    for job_id, size, _ in ranked:
        if total + size <= max_bytes:
            chosen.append(job_id)
            total += size
    if not chosen and ranked:
        chosen.append(ranked[0][0])
    return chosen
