"""The executor's parameter table ("executor"): loaded, validated whole and activated
through the app framework (TableLoad). Times in seconds of sim time unless named ticks."""

from __future__ import annotations

from dataclasses import dataclass, fields

from flightsw.apps.framework import TableError

__all__ = ["ExecutorTable"]


@dataclass(frozen=True)
class ExecutorTable:
    """checkpoint_cost_s [s]: a checkpoint (saving one, or loading one to resume) keeps a
    job's boards busy this long without progress: the work they report then is not
    credited (time and energy spent). hang_ticks: a board commanded with a job that reports
    ACTIVE but no work this many ticks in a row is hung (a SEFI) and power-cycled.
    power_cycle_attempts: recoveries (power cycles) a board gets before it is taken out of
    service, counted until it works again. boot_timeout_s [s]: a board commanded on that
    is not up (IDLE or ACTIVE) this long after the command failed to come back.
    no_response_ticks: a board commanded on that reports NO_RESPONSE this many ticks in a
    row has failed for good: out of service. cold_boot_limit_c [degC]: a board colder than
    this that does not boot is waiting to warm up (the boot timeout restarts), not failing.
    progress_report_pct [%]: a PROGRESS report each time a running job passes a multiple
    of this (100: none); progress_min_ticks: at most one PROGRESS report per job per this
    many ticks. max_reruns: a job whose result is found corrupted reruns this often, then
    ends FAILED. plan_margin_w [W]: plan this far below the budget, so sensor noise does
    not re-plan; replan_rise_w [W]: re-plan when the budget rose this much since the last
    plan; replan_every_ticks: and at least this often. resume_holdoff_ticks: after the
    budget or the thermal caps pushed a job out, no job starts for this many ticks (those
    running may keep running; 0: no hold), so a noisy or falling budget does not make jobs
    thrash, every resume costing a checkpoint load. status_every_ticks: ExecutorStatus
    period; command_heartbeat_ticks: the BoardCommand is repeated at least this often.
    budget_filter_ticks, budget_band_w [W]: the budget the re-plan tests look at is the
    power manager's smoothed (an exponential filter over budget_filter_ticks budgets) but
    held within budget_band_w (and a tenth) of the latest (so a real drop is followed at
    once, less the band); a plan never uses more than the latest budget. The budget carries the battery
    reading's noise, amplified by the power manager's pacing (tens of W in an eclipse, up
    to ~150 W near its edges in the default scenario): unfiltered, it re-planned at 43% of
    ticks; 8 ticks and 100 W cut that to ~12% with no loss of work. 1 tick or 0 W: no
    filter. budget_stale_ticks: a budget older than this is no budget: compute stops until
    the power manager speaks again (it is dead, restarting, or blind), as in SAFE mode."""

    checkpoint_cost_s: float = 2.0
    hang_ticks: int = 5
    power_cycle_attempts: int = 3
    boot_timeout_s: float = 180.0
    no_response_ticks: int = 5
    cold_boot_limit_c: float = 0.0
    progress_report_pct: int = 25
    progress_min_ticks: int = 10
    max_reruns: int = 2
    plan_margin_w: float = 10.0
    replan_rise_w: float = 30.0
    replan_every_ticks: int = 60
    resume_holdoff_ticks: int = 30
    status_every_ticks: int = 10
    command_heartbeat_ticks: int = 10
    budget_filter_ticks: int = 8
    budget_band_w: float = 100.0
    budget_stale_ticks: int = 5

    def __post_init__(self) -> None:
        for f in fields(self):
            v = getattr(self, f.name)
            if type(v) not in (int, float) or (f.type in (int, "int") and type(v) is not int):
                raise TableError(f"executor table: {f.name} expected a number, got {v!r}")
        limits = (
            ("checkpoint_cost_s", 0.0, 3600.0), ("hang_ticks", 1, 10**6), ("power_cycle_attempts", 0, 100),
            ("boot_timeout_s", 1.0, 86400.0), ("no_response_ticks", 1, 10**6),
            ("cold_boot_limit_c", -273.15, 200.0), ("progress_report_pct", 1, 100),
            ("progress_min_ticks", 0, 10**6), ("max_reruns", 0, 100), ("plan_margin_w", 0.0, 1.0e6),
            ("replan_rise_w", 0.0, 1.0e6), ("replan_every_ticks", 1, 10**6), ("resume_holdoff_ticks", 0, 10**6),
            ("status_every_ticks", 1, 10**6),
            ("command_heartbeat_ticks", 1, 10**6),
            ("budget_filter_ticks", 1, 10**4), ("budget_band_w", 0.0, 1.0e6),
            ("budget_stale_ticks", 1, 10**6),
        )
        for name, lo, hi in limits:
            v = getattr(self, name)
            if not lo <= v <= hi:
                raise TableError(f"executor table: {name} expected in [{lo}, {hi}], got {v!r}")
