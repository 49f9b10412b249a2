"""Power manager core: the compute power budget, the battery floor, safe mode.

Budget each tick = what the panels give beyond housekeeping
               + the battery term: what the battery may give above its guard level,
                 or (negative) what it must take to get back to it.

Guard level [Wh] = (floor + guard margin) x capacity
                 + the energy housekeeping needs to cross the longest eclipse
                   (``eclipse_reserve_s``), so compute never spends the energy that
                   keeps the platform alive until the sun returns.

Battery term [W] = (charge - guard level) x 3600 / reserve_horizon_s, clipped to the
battery's discharge and charge limits: a proportional controller, so the charge
approaches the guard asymptotically and a one- or two-tick command latency can never
carry it below the floor. Below the guard the power manager enters SAFE mode (no compute) and
leaves it only above ``safe_exit_soc`` (hysteresis: it never flaps). The supervisor can
also force SAFE mode (restart cap reached) with SetMode.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from flightsw.apps.framework import TableError
from flightsw.icd.messages import Event, Mode, PowerBudget, PowerSensors, SetMode, Severity

__all__ = ["PowerTable", "PowerState", "step", "TableError"]


@dataclass(frozen=True)
class PowerTable:
    battery_soc_floor: float  # [-] never go below
    housekeeping_w: float  # [W] platform load, always on
    max_discharge_w: float  # [W] battery discharge limit
    max_charge_w: float = 1.0e9  # [W] battery charge limit
    eclipse_reserve_s: float = 2400.0  # [s] housekeeping energy held for an eclipse this long
    discharge_efficiency: float = 0.95  # [-]
    guard_soc: float = 0.02  # [-] margin above the floor where compute stops
    safe_exit_margin_soc: float = 0.05  # [-] above the guard, to leave SAFE mode
    reserve_horizon_s: float = 900.0  # [s] drain the usable charge no faster than this
    safe_entry_ticks: int = 5  # [ticks] SOC below the guard this long before SAFE (debounce)

    def __post_init__(self) -> None:
        checks = (
            ("battery_soc_floor", 0.0 <= self.battery_soc_floor < 1.0, "in [0, 1)"),
            ("housekeeping_w", self.housekeeping_w >= 0.0, ">= 0"),
            ("max_discharge_w", self.max_discharge_w >= 0.0, ">= 0"),
            ("guard_soc", 0.0 <= self.guard_soc < 0.5, "in [0, 0.5)"),
            ("safe_exit_margin_soc", 0.0 < self.safe_exit_margin_soc < 0.5, "in (0, 0.5)"),
            ("reserve_horizon_s", self.reserve_horizon_s > 0.0, "> 0"),
            ("safe_entry_ticks", self.safe_entry_ticks >= 1, ">= 1"),
            ("max_charge_w", self.max_charge_w >= 0.0, ">= 0"),
            ("eclipse_reserve_s", self.eclipse_reserve_s >= 0.0, ">= 0"),
            ("discharge_efficiency", 0.0 < self.discharge_efficiency <= 1.0, "in (0, 1]"),
        )
        for name, ok, expected in checks:
            if not ok:
                raise TableError(f"power table: {name} expected {expected}, got {getattr(self, name)}")

    @property
    def guard_level_soc(self) -> float:
        return self.battery_soc_floor + self.guard_soc


@dataclass(frozen=True)
class PowerState:
    mode: str = Mode.NOMINAL.value
    forced_safe: bool = False
    budget_w: float = 0.0
    low_ticks: int = 0  # consecutive readings below the guard (persistence filter)


def guard_level_wh(capacity_wh: float, t: PowerTable) -> float:
    """Charge [Wh] below which compute gets nothing from the battery."""
    reserve_wh = t.housekeeping_w * t.eclipse_reserve_s / 3600.0 / t.discharge_efficiency
    return t.guard_level_soc * capacity_wh + reserve_wh


def battery_term_w(s: PowerSensors, t: PowerTable) -> float:
    """> 0: power the battery may give this tick; < 0: power it must take [W]."""
    error_wh = s.battery_charge_wh - guard_level_wh(s.battery_capacity_wh, t)
    return min(t.max_discharge_w, max(-t.max_charge_w, error_wh * 3600.0 / t.reserve_horizon_s))


def step(
    state: PowerState, table: PowerTable, sensors: PowerSensors | None, cmd: SetMode | None
) -> tuple[PowerState, PowerBudget | None, list[Event]]:
    """One control period. Returns the new state, the budget (None without sensors), events."""
    events: list[Event] = []
    forced = state.forced_safe
    if cmd is not None:
        forced = cmd.mode == Mode.SAFE.value
        events.append(Event(int(Severity.COMMAND), "power.set_mode", f"{cmd.mode}: {cmd.reason}"))
    if sensors is None:
        return replace(state, forced_safe=forced), None, events
    mode = state.mode
    soc = sensors.battery_soc
    if forced:
        new_mode = Mode.SAFE.value
        reason = "ordered by the supervisor"
    elif mode == Mode.SAFE.value:
        exit_soc = table.guard_level_soc + table.safe_exit_margin_soc
        new_mode = Mode.NOMINAL.value if soc >= exit_soc else Mode.SAFE.value
        reason = f"battery SOC {soc:.3f} >= {exit_soc:.3f}"
    else:
        # a persistence filter (as cFS LC watchpoints): sensor noise alone does not trip it
        low = state.low_ticks + 1 if soc < table.guard_level_soc else 0
        new_mode = Mode.SAFE.value if low >= table.safe_entry_ticks else Mode.NOMINAL.value
        reason = (f"battery SOC {soc:.3f} < guard {table.guard_level_soc:.3f} "
                  f"for {table.safe_entry_ticks} readings")
    if new_mode != mode:
        sev = Severity.WARNING_HI if new_mode == Mode.SAFE.value else Severity.ACTIVITY_HI
        events.append(Event(int(sev), "power.mode_changed", f"{mode} -> {new_mode}: {reason}"))
    battery_w = battery_term_w(sensors, table)
    solar_net_w = sensors.solar_power_w - table.housekeeping_w
    if new_mode == Mode.SAFE.value:
        budget_w = 0.0
    else:
        # The sun can vanish within a tick (eclipse entry) while the budget in force still
        # stands for a tick or two: the battery alone must be able to carry the load.
        budget_w = min(max(0.0, solar_net_w + battery_w), table.max_discharge_w - table.housekeeping_w)
        budget_w = max(0.0, budget_w)
    budget = PowerBudget(
        mode=new_mode,
        compute_budget_w=budget_w,
        solar_power_w=sensors.solar_power_w,
        battery_avail_w=max(0.0, battery_w),
        battery_soc=soc,
    )
    low_ticks = state.low_ticks + 1 if soc < table.guard_level_soc else 0
    return PowerState(mode=new_mode, forced_safe=forced, budget_w=budget_w, low_ticks=low_ticks), budget, events
