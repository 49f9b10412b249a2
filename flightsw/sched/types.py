"""What a scheduling policy sees and what it decides. Pure data."""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["DEMAND_WINDOW_S", "BoardModel", "JobView", "Plan", "PlanContext", "WAIT_REASONS"]

DEMAND_WINDOW_S = 86_400.0  # [s] PlanContext.accepted_day looks this far back; predictive forecasts as far ahead

# Why a queued job is not running, as a policy (or the executor) explains it:
#   energy    the power budget (or the energy plan) covers no more boards
#   thermal   the boards it could use are capped or shut down for heat
#   boards    not enough free usable boards (others run higher-ranked work)
#   deadline  it can no longer finish before its deadline
#   downlink  its result could not reach the ground before its deadline: finishing it is worthless
#   priority  load shed: the power mode allows only higher priorities now
#   order     it waits its turn behind a job that is itself waiting (FIFO head of line,
#             or a reservation for a higher-priority job)
#   safe      SAFE mode or no power budget: nothing runs
WAIT_REASONS = ("energy", "thermal", "boards", "deadline", "downlink", "priority", "order", "safe")


@dataclass(frozen=True)
class BoardModel:
    n_boards: int
    max_power_w: float  # [W] a board's highest cap
    min_power_w: float  # [W] a busy board draws at least this
    throughput_exponent: float = 0.48  # a busy board at cap c works at (c / max)^exponent of full speed
    boards_per_plate: int = 0  # boards k*n .. k*n+n-1 share cold plate k (0: not known)


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
    # copies run and compared (dual execution: 2): boards_needed and remaining_gpu_s count
    # them all, its value counts one
    replicas: int = 1
    work_gpu_s: float = 0.0  # all its board work, replicas counted (0: not given, taken as remaining_gpu_s)


@dataclass(frozen=True)
class PlanContext:
    """What a planning policy may know beyond the budget: time, the power manager's energy
    picture (the latest PowerBudget's fields) and the contact plan. Powers [W], energies
    [Wh], times [ns since the epoch] or [s] as named. The baselines ignore it."""

    t_ns: int
    in_eclipse: bool = False
    next_eclipse_in_s: float = -1.0  # -1: none forecast
    next_eclipse_s: float = 0.0  # its duration (inside one: what is left of it)
    battery_charge_wh: float = 0.0
    battery_capacity_wh: float = 0.0
    hold_wh: float = 0.0  # the charge the power manager holds at the end of the next eclipse
    platform_w: float = 0.0  # housekeeping and heaters
    solar_w: float = 0.0  # solar power now
    solar_mean_w: float = 0.0  # learned mean solar power in sunlight
    charge_efficiency: float = 1.0
    discharge_efficiency: float = 1.0
    max_charge_w: float = 0.0
    passes: tuple[tuple[int, int], ...] = ()  # contact plan: (aos_t_ns, los_t_ns), in time order
    checkpoint_cost_s: float = 0.0  # a preemption costs a save and a load of this long each
    thermal_budget_w: float = -1.0  # [W] the compute heat the thermal guard budgets (<= 0: not known)
    powered: tuple[bool, ...] = ()  # boards switched on now (a board off must boot before it works)
    known: bool = False  # False: no energy picture (the budget's fields were not filled in)
    # the work accepted in the last DEMAND_WINDOW_S, by class: (priority, replicas, board GPU-s)
    # (a job run twice counts its work twice); the demand the next day is forecast to bring
    accepted_day: tuple[tuple[int, int, float], ...] = ()
    # [W] the compute budget the power manager forecasts over the orbit ahead, on average
    # (its forecast spends the whole budget: the mean is what an orbit yields); -1: not known
    orbit_budget_w: float = -1.0


@dataclass(frozen=True)
class Plan:
    """Which jobs run on which boards from now on, and each board's power cap [W].
    ``waiting``: for jobs offered but not assigned, why (one of WAIT_REASONS); a policy
    may leave some out, the executor then infers one."""

    assignments: dict[str, tuple[int, ...]]
    cap_w: tuple[float, ...]
    waiting: dict[str, str] = field(default_factory=dict)

    def preempted(self, jobs: list[JobView]) -> list[str]:
        return [j.job_id for j in jobs if j.boards and j.job_id not in self.assignments]

    def started(self, jobs: list[JobView]) -> list[str]:
        return [j.job_id for j in jobs if not j.boards and j.job_id in self.assignments]
