"""A job as the executor holds it: progress, checkpoint and upsets per replica (two for
a job run twice, ``params.dual``), boards, reruns. Plain state; the core decides."""

from __future__ import annotations

from dataclasses import dataclass, field

from flightsw.icd.messages import JobSpec
from flightsw.sched.types import JobView

__all__ = ["Job", "ACTIVE_STATES", "NEVER"]

ACTIVE_STATES = ("ACCEPTED", "STARTED", "PREEMPTED")
NEVER = 2**62  # [ns] a time that never comes
_NS = 1_000_000_000


@dataclass
class Job:
    """A job the executor holds. Progress is per replica (two for a job run twice,
    ``params.dual``); the job's progress is the slowest replica's."""

    spec: JobSpec
    order_no: int
    state: str  # ACCEPTED, STARTED, PREEMPTED, or a terminal state
    replicas: int = 1
    done_gpu_s: list[float] = field(default_factory=list)  # work credited, per replica
    ckpt_gpu_s: list[float] = field(default_factory=list)  # work in the last checkpoint
    upsets: list[int] = field(default_factory=list)  # bit flips in this run, per replica
    ckpt_upsets: list[int] = field(default_factory=list)  # the flips inside the checkpoint
    checkpoint_t_ns: int = 0
    boards: tuple[int, ...] = ()
    reruns: int = 0  # times a corrupted result sent it back to the queue
    overhead_s: float = 0.0  # [s] checkpoint save/load time its boards still owe
    reported_pct: int = 0  # the last PROGRESS milestone reported [%]
    report_tick: int = -(10**9)
    sdc_detected: int = 0
    worked_tick: int = -1  # the last tick its boards reported work
    next_report_gpu_s: float = 0.0  # progress at which the next PROGRESS milestone is due
    boards_working: int = 0  # how many of its boards reported work then
    _view: JobView | None = None

    def __post_init__(self) -> None:
        n = self.replicas
        self.done_gpu_s = list(self.done_gpu_s) or [0.0] * n
        self.ckpt_gpu_s = list(self.ckpt_gpu_s) or [0.0] * n
        self.upsets = list(self.upsets) or [0] * n
        self.ckpt_upsets = list(self.ckpt_upsets) or [0] * n

    @property
    def active(self) -> bool:
        return self.state in ACTIVE_STATES

    @property
    def progress_gpu_s(self) -> float:
        return min(self.done_gpu_s)

    @property
    def checkpoint_gpu_s(self) -> float:
        return min(self.ckpt_gpu_s)

    @property
    def boards_total(self) -> int:
        """Boards it runs on: boards_needed per replica."""
        return self.spec.boards_needed * self.replicas

    def remaining_gpu_s(self) -> float:
        """Work still to do by each replica [GPU-s]."""
        return max(0.0, self.spec.work_gpu_s - self.progress_gpu_s)

    def doom_t_ns(self) -> int:
        """The last time the job can still finish by its deadline at full power on its
        boards (NEVER without a deadline)."""
        if self.spec.deadline_t_ns < 0:
            return NEVER
        return self.spec.deadline_t_ns - int(self.remaining_gpu_s() / self.spec.boards_needed * _NS)

    def save(self) -> None:
        self.ckpt_gpu_s = list(self.done_gpu_s)
        self.ckpt_upsets = list(self.upsets)

    def roll_back(self) -> None:
        self.done_gpu_s = list(self.ckpt_gpu_s)
        self.upsets = list(self.ckpt_upsets)

    def reset(self) -> None:
        n = self.replicas
        self.done_gpu_s, self.ckpt_gpu_s = [0.0] * n, [0.0] * n
        self.upsets, self.ckpt_upsets = [0] * n, [0] * n
        self.reported_pct = 0
        self.next_report_gpu_s = 0.0
        self.overhead_s = 0.0

    def set_boards(self, boards: tuple[int, ...]) -> None:
        if boards != self.boards:
            self.boards = boards
            self._view = None

    def view(self) -> JobView:
        """What the policy sees (boards and work of all replicas together); cached while
        the job waits (nothing about it changes)."""
        if self._view is not None and not self.boards:
            return self._view
        s = self.spec
        self._view = JobView(s.job_id, self.order_no, s.priority, s.deadline_t_ns, self.boards_total,
                             self.remaining_gpu_s() * self.replicas, self.boards, self.replicas,
                             s.work_gpu_s * self.replicas)
        return self._view
