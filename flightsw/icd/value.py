"""What delivered compute is worth (shared by ground, reports and the oracle).

value(job) = PRIORITY_WEIGHT[priority] x work_gpu_s, if the job completed and its result
reached the ground before its deadline (or, without a deadline, within the run);
otherwise 0. Weights double per priority level: an operator's priority 3 job is worth
eight times a priority 0 job of the same size.
"""

from __future__ import annotations

__all__ = ["PRIORITY_WEIGHT", "job_value"]

PRIORITY_WEIGHT = {p: float(2**p) for p in range(10)}


def job_value(priority: int, work_gpu_s: float, deadline_t_ns: int, delivered_t_ns: int | None) -> float:
    if delivered_t_ns is None:
        return 0.0
    if deadline_t_ns >= 0 and delivered_t_ns > deadline_t_ns:
        return 0.0
    return PRIORITY_WEIGHT[priority] * work_gpu_s
