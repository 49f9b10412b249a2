"""What a scheduling policy sees and what it decides. Pure data."""

from __future__ import annotations

from dataclasses import dataclass

__all__ = ["BoardModel", "JobView", "Plan"]


@dataclass(frozen=True)
class BoardModel:
    n_boards: int
    max_power_w: float  # [W] a board's highest cap
    min_power_w: float  # [W] a busy board draws at least this


@dataclass(frozen=True)
class JobView:
    """A job the executor holds that is not finished: queued, preempted or running."""

    job_id: str
    order_no: int  # acceptance order (FIFO key)
    priority: int
    deadline_t_ns: int  # -1: none
    boards_needed: int
    remaining_gpu_s: float
    boards: tuple[int, ...] = ()  # boards it runs on now; () if waiting


@dataclass(frozen=True)
class Plan:
    """Which jobs run on which boards from now on, and each board's power cap [W]."""

    assignments: dict[str, tuple[int, ...]]
    cap_w: tuple[float, ...]

    def preempted(self, jobs: list[JobView]) -> list[str]:
        return [j.job_id for j in jobs if j.boards and j.job_id not in self.assignments]

    def started(self, jobs: list[JobView]) -> list[str]:
        return [j.job_id for j in jobs if not j.boards and j.job_id in self.assignments]
