"""The power manager's parameter table "power": battery limits, reserve, mode thresholds.

Every threshold the mode machine and the budget use lives here, named with its unit, and
is checked in ``__post_init__``: a table that breaks a rule raises ``TableError`` naming
the field, what was expected and what came, so a TableLoad is rejected whole and the
active table stays (DESIGN.md §5).

Levels, lowest first, as charges [Wh] on a battery of capacity ``cap``:

- floor    = battery_soc_floor x cap                      never go below
- guard    = floor + guard_soc x cap                      SAFE below it (persistence filter)
- reserve  = floor + reserve_margin_soc x cap + E_eclipse  LOW_POWER below it
- E_eclipse = (housekeeping_w + battery_heater_w) x (next eclipse, or what is left of the
  one in progress) / discharge_efficiency [Wh]
- NOMINAL holds ``nominal_buffer_soc`` x cap above the reserve (LOW_POWER refills toward
  it, so the buffer must exceed LOW_POWER's exit margin); COMPUTE (SOC at or above
  ``compute_entry_soc`` in sunlight) spends down to the reserve. A buffer larger than one
  eclipse's energy leaves each eclipse above the next one's reserve (no LOW_POWER spell
  every orbit).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flightsw.apps.framework import TableError
from flightsw.icd.messages import MODE_RANK, Mode

__all__ = ["PowerTable", "TableError", "MAX_MIN_PRIORITY"]

MAX_MIN_PRIORITY = 10  # min_priority above every job priority (0..9): nothing may run


@dataclass(frozen=True)
class PowerTable:
    # --- the battery and the platform
    battery_soc_floor: float  # [-] never go below
    housekeeping_w: float  # [W] platform load, always on (heaters excluded)
    max_discharge_w: float  # [W] battery discharge limit (bus side)
    max_charge_w: float = 1.0e9  # [W] battery charge limit (bus side)
    battery_heater_w: float = 0.0  # [W] battery heater power held in the eclipse reserve
    charge_efficiency: float = 0.95  # [-] stored / taken from the bus
    discharge_efficiency: float = 0.95  # [-] given to the bus / drawn from storage
    # --- the reserve and how fast the excess above it is spent
    eclipse_reserve_s: float = 2400.0  # [s] longest eclipse: assumed when no TLE forecast
    reserve_margin_soc: float = 0.05  # [-] held above the floor on top of the eclipse energy
    nominal_buffer_soc: float = 0.10  # [-] NOMINAL holds this above the reserve
    min_pacing_s: float = 300.0  # [s] spend (or refill) the excess no faster than this
    max_pacing_s: float = 6000.0  # [s] ... and no slower (no eclipse forecast: this)
    # --- SAFE: the guard
    guard_soc: float = 0.02  # [-] above the floor: SAFE below floor + guard
    safe_entry_ticks: int = 5  # [readings] below the guard this many in a row: SAFE
    safe_exit_margin_soc: float = 0.05  # [-] above the guard, to leave SAFE
    # --- LOW_POWER: below the reserve
    low_power_entry_ticks: int = 5  # [readings] below the reserve this many in a row
    low_power_exit_margin_soc: float = 0.03  # [-] above the reserve, to leave LOW_POWER
    # --- COMPUTE: battery nearly full in sunlight
    compute_entry_soc: float = 0.90  # [-] at or above, with a solar surplus: COMPUTE
    compute_exit_soc: float = 0.80  # [-] below: back to NOMINAL
    # --- dwell: ticks a mode is held before it may change (SAFE entry excepted)
    dwell_safe_ticks: int = 120
    dwell_low_power_ticks: int = 60
    dwell_nominal_ticks: int = 60
    dwell_compute_ticks: int = 60
    # --- load-shed order: the lowest job priority allowed to run, per mode (10: none)
    min_priority_safe: int = MAX_MIN_PRIORITY
    min_priority_low_power: int = 2
    min_priority_nominal: int = 0
    min_priority_compute: int = 0
    # --- the budget forecast
    forecast_step_s: float = 60.0  # [s] between forecast points (at most 256 points)
    fallback_period_s: float = 5760.0  # [s] forecast span when no TLE gives the period
    # --- learning the mean solar power in sunlight (an exponential average)
    solar_average_readings: int = 300  # [readings] time constant of the average
    solar_initial_w: float = 0.0  # [W] mean solar power assumed before any reading
    sunlit_min_w: float = 1.0  # [W] a reading above this counts as sunlit
    # --- SAFE: the payload rail. The power manager switches off this many boards (every
    # board's switch, cap 0) when it enters SAFE and every shed_every_ticks while in it:
    # the executor normally powers them down on a zero budget, but a dead or hung executor
    # cannot, and boards left running drain the battery past its floor (found by the
    # fault campaign: an executor in a crash loop, capped, in eclipse). 0: no shed.
    payload_boards: int = 0
    shed_every_ticks: int = 10
    # --- the gauge's cross-check (gauge.py): a SOC reading above what the bus flow allows
    # is not used; the charge is then the least the flow allows
    gauge_tolerance_soc: float = 0.03  # [-] of capacity the gauge may stray from the flow's bounds
    gauge_flow_uncertainty_rel: float = 0.05  # [-] of each measured power (solar, load)
    gauge_flow_uncertainty_w: float = 20.0  # [W] on top
    gauge_max_flow_gap_s: float = 10.0  # [s] a longer gap between readings is bounded by the limits

    def __post_init__(self) -> None:
        checks = (
            ("battery_soc_floor", 0.0 <= self.battery_soc_floor < 1.0, "in [0, 1)"),
            ("housekeeping_w", self.housekeeping_w >= 0.0, ">= 0 W"),
            ("max_discharge_w", self.max_discharge_w >= 0.0, ">= 0 W"),
            ("max_charge_w", self.max_charge_w >= 0.0, ">= 0 W"),
            ("battery_heater_w", self.battery_heater_w >= 0.0, ">= 0 W"),
            ("charge_efficiency", 0.0 < self.charge_efficiency <= 1.0, "in (0, 1]"),
            ("discharge_efficiency", 0.0 < self.discharge_efficiency <= 1.0, "in (0, 1]"),
            ("eclipse_reserve_s", 0.0 <= self.eclipse_reserve_s <= 1.0e5, "in [0, 1e5] s"),
            ("reserve_margin_soc", 0.0 <= self.reserve_margin_soc < 0.5, "in [0, 0.5)"),
            ("nominal_buffer_soc", 0.0 <= self.nominal_buffer_soc < 0.5, "in [0, 0.5)"),
            ("min_pacing_s", 10.0 <= self.min_pacing_s <= 1.0e6, "in [10, 1e6] s"),
            ("max_pacing_s", self.min_pacing_s <= self.max_pacing_s <= 1.0e6,
             f"in [min_pacing_s = {self.min_pacing_s}, 1e6] s"),
            ("guard_soc", 0.0 <= self.guard_soc < 0.5, "in [0, 0.5)"),
            ("safe_entry_ticks", 1 <= self.safe_entry_ticks <= 10_000, "in [1, 10000]"),
            ("safe_exit_margin_soc", 0.0 < self.safe_exit_margin_soc < 0.5, "in (0, 0.5)"),
            ("low_power_entry_ticks", 1 <= self.low_power_entry_ticks <= 10_000, "in [1, 10000]"),
            ("low_power_exit_margin_soc", 0.0 < self.low_power_exit_margin_soc < 0.5, "in (0, 0.5)"),
            ("compute_entry_soc", self.compute_entry_soc <= 1.0, "<= 1"),
            ("forecast_step_s", 1.0 <= self.forecast_step_s <= 1.0e4, "in [1, 1e4] s"),
            ("fallback_period_s", 600.0 <= self.fallback_period_s <= 1.0e6, "in [600, 1e6] s"),
            ("solar_average_readings", 1 <= self.solar_average_readings <= 1_000_000, "in [1, 1e6]"),
            ("solar_initial_w", self.solar_initial_w >= 0.0, ">= 0 W"),
            ("sunlit_min_w", self.sunlit_min_w >= 0.0, ">= 0 W"),
            ("payload_boards", 0 <= self.payload_boards <= 256, "in [0, 256]"),
            ("shed_every_ticks", 1 <= self.shed_every_ticks <= 100_000, "in [1, 100000]"),
            ("gauge_tolerance_soc", 0.0 < self.gauge_tolerance_soc <= 1.0, "in (0, 1]"),
            ("gauge_flow_uncertainty_rel", 0.0 <= self.gauge_flow_uncertainty_rel <= 1.0, "in [0, 1]"),
            ("gauge_flow_uncertainty_w", self.gauge_flow_uncertainty_w >= 0.0, ">= 0 W"),
            ("gauge_max_flow_gap_s", 0.0 < self.gauge_max_flow_gap_s <= 1.0e5, "in (0, 1e5] s"),
        )
        for name, ok, expected in checks:
            _check(name, getattr(self, name), ok, expected)
        for mode in Mode:
            _check(f"dwell_{mode.value.lower()}_ticks", self.dwell_ticks(mode.value),
                   1 <= self.dwell_ticks(mode.value) <= 1_000_000, "in [1, 1e6]")
            _check(f"min_priority_{mode.value.lower()}", self.min_priority(mode.value),
                   0 <= self.min_priority(mode.value) <= MAX_MIN_PRIORITY, f"in [0, {MAX_MIN_PRIORITY}]")
        # relations between fields: the levels must stay in their order
        _check("reserve_margin_soc", self.reserve_margin_soc, self.reserve_margin_soc >= self.guard_soc,
               f">= guard_soc = {self.guard_soc} (the LOW_POWER line may not lie under the SAFE line)")
        _check("nominal_buffer_soc", self.nominal_buffer_soc,
               self.nominal_buffer_soc > self.low_power_exit_margin_soc,
               f"> low_power_exit_margin_soc = {self.low_power_exit_margin_soc} (LOW_POWER refills toward "
               f"the buffer and must pass its exit level on the way)")
        exit_soc = self.battery_soc_floor + self.guard_soc + self.safe_exit_margin_soc
        _check("safe_exit_margin_soc", self.safe_exit_margin_soc, exit_soc < 1.0,
               f"floor + guard_soc + it < 1 (got a SAFE exit at SOC {exit_soc:.3f})")
        low = self.battery_soc_floor + self.reserve_margin_soc
        _check("compute_exit_soc", self.compute_exit_soc, low < self.compute_exit_soc < self.compute_entry_soc,
               f"in (floor + reserve_margin_soc = {low:.3f}, compute_entry_soc = {self.compute_entry_soc})")
        ranked = sorted(Mode, key=lambda m: MODE_RANK[m.value])
        for lower, higher in zip(ranked, ranked[1:], strict=False):
            lo_p, hi_p = self.min_priority(lower.value), self.min_priority(higher.value)
            _check(f"min_priority_{higher.value.lower()}", hi_p, hi_p <= lo_p,
                   f"<= min_priority_{lower.value.lower()} = {lo_p} (a higher mode never sheds more load)")

    def dwell_ticks(self, mode: str) -> int:
        """Ticks ``mode`` is held before the mode machine may leave it (SAFE entry excepted)."""
        return getattr(self, f"dwell_{mode.lower()}_ticks")

    def min_priority(self, mode: str) -> int:
        """Load-shed order: the lowest job priority allowed to run in ``mode``."""
        return getattr(self, f"min_priority_{mode.lower()}")


def _check(name: str, value: object, ok: bool, expected: str) -> None:
    if isinstance(value, float) and not math.isfinite(value):
        ok = False
    if not ok:
        raise TableError(f"PowerTable.{name}: expected {expected}, got {value!r}")
