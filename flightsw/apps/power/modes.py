"""The mode machine: SAFE / LOW_POWER / NOMINAL / COMPUTE, with hysteresis and dwell.

Rules, first match wins (levels as in ``flightsw.apps.power.table``):

1. Ordered SAFE (the supervisor's SetMode SAFE): SAFE, at once.
2. Charge below the guard for ``safe_entry_ticks`` readings in a row: SAFE, at once (a
   persistence filter, as cFS LC watchpoints: one noisy reading does not trip it).
3. A mode above the mode limit (POWER_SET_MODE_LIMIT): down to the limit, at once.
4. A mode held for fewer than its dwell ticks: no change (so noise cannot flap it).
5. Otherwise the thresholds, each with its own entry and exit level:
   - SAFE -> LOW_POWER at charge >= guard + safe_exit_margin_soc x capacity
   - LOW_POWER -> NOMINAL at charge >= reserve + low_power_exit_margin_soc x capacity
   - NOMINAL, COMPUTE -> LOW_POWER after ``low_power_entry_ticks`` readings < reserve
   (against the reserve, in sunlight before a predicted eclipse, the charge is the one
   the sun's surplus will have made by the eclipse's start: ``reserve_charge_wh``)
   - NOMINAL -> COMPUTE at SOC >= compute_entry_soc with a solar surplus (sunlight
     that would otherwise go to a full battery or be curtailed)
   - COMPUTE -> NOMINAL at SOC < compute_exit_soc
   A move up that would pass the mode limit is not made.

Upward moves go one mode at a time, each after the dwell of the mode below; downward
moves may skip modes. Every change is a transition with a reason.
"""

from __future__ import annotations

from dataclasses import dataclass

from flightsw.apps.power.table import PowerTable
from flightsw.icd.messages import MODE_RANK, Mode

__all__ = ["Conditions", "decide"]

SAFE = Mode.SAFE.value
LOW_POWER = Mode.LOW_POWER.value
NOMINAL = Mode.NOMINAL.value
COMPUTE = Mode.COMPUTE.value


@dataclass(frozen=True)
class Conditions:
    """What the mode machine looks at in one reading. Charges [Wh]."""

    charge_wh: float
    capacity_wh: float
    guard_wh: float  # floor + guard_soc x capacity
    reserve_level_wh: float  # floor + the reserve for the eclipse ahead
    below_guard_readings: int  # in a row, this one included
    below_reserve_readings: int  # in a row, this one included
    solar_surplus: bool  # the panels give more than the platform draws
    # the charge that counts against the reserve: in sunlight, what it will be at the next
    # eclipse's start with the sun's surplus added (the caller projects it); default: now
    reserve_charge_wh: float | None = None

    @property
    def charge_for_reserve_wh(self) -> float:
        return self.charge_wh if self.reserve_charge_wh is None else self.reserve_charge_wh

    @property
    def soc(self) -> float:
        return self.charge_wh / self.capacity_wh if self.capacity_wh > 0.0 else 0.0


def decide(t: PowerTable, mode: str, held_ticks: int, forced_safe: bool, limit: str,
           c: Conditions) -> tuple[str, str]:
    """-> (the mode for this reading, the reason for a change; "" when unchanged)."""
    if forced_safe:
        return (SAFE, "ordered by the supervisor (SetMode SAFE)") if mode != SAFE else (mode, "")
    if mode != SAFE and c.below_guard_readings >= t.safe_entry_ticks:
        return SAFE, (f"battery {c.charge_wh:.1f} Wh below the guard {c.guard_wh:.1f} Wh "
                      f"for {c.below_guard_readings} readings")
    if MODE_RANK[mode] > MODE_RANK[limit]:
        return limit, f"mode limit {limit}"
    if held_ticks < t.dwell_ticks(mode):
        return mode, ""
    new, reason = _thresholds(t, mode, c)
    if new != mode and MODE_RANK[new] > MODE_RANK[limit]:
        return mode, ""
    return new, reason


def _thresholds(t: PowerTable, mode: str, c: Conditions) -> tuple[str, str]:
    cap = c.capacity_wh
    if mode == SAFE:
        exit_wh = c.guard_wh + t.safe_exit_margin_soc * cap
        if c.charge_wh >= exit_wh:
            return LOW_POWER, f"battery {c.charge_wh:.1f} Wh >= SAFE exit {exit_wh:.1f} Wh"
        return mode, ""
    if mode == LOW_POWER:
        exit_wh = c.reserve_level_wh + t.low_power_exit_margin_soc * cap
        if c.charge_for_reserve_wh >= exit_wh:
            return NOMINAL, (f"battery {c.charge_wh:.1f} Wh (by the eclipse {c.charge_for_reserve_wh:.1f} Wh) "
                             f">= reserve + exit margin {exit_wh:.1f} Wh")
        return mode, ""
    if c.below_reserve_readings >= t.low_power_entry_ticks:
        return LOW_POWER, (f"battery {c.charge_wh:.1f} Wh below the eclipse reserve "
                           f"{c.reserve_level_wh:.1f} Wh for {c.below_reserve_readings} readings")
    if mode == NOMINAL and c.soc >= t.compute_entry_soc and c.solar_surplus:
        return COMPUTE, f"SOC {c.soc:.3f} >= {t.compute_entry_soc:.3f} with a solar surplus"
    if mode == COMPUTE and c.soc < t.compute_exit_soc:
        return NOMINAL, f"SOC {c.soc:.3f} < {t.compute_exit_soc:.3f}"
    return mode, ""
