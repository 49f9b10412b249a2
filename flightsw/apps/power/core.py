"""Power manager core: modes, the eclipse reserve, the compute budget and its forecast.

One control period is ``step(state, table, inputs) -> (state, budget, notes)``, pure: the
shell hands in the readings (PowerSensors), the supervisor's SetMode, the heater power
the thermal guard reports (ThermalCaps.heater_w) and the eclipse outlook it got from the
onboard forecaster (``outlook``); the core answers a PowerBudget and the events to emit
(``notes``: severity, name, text), which the shell passes through the framework's
throttled event log.

- Reserve, battery term, budget and forecast: ``flightsw.apps.power.energy``.
- Modes, thresholds, dwell: ``flightsw.apps.power.modes``; the load-shed order (the
  lowest job priority allowed to run per mode) goes out as ``PowerBudget.min_priority``.
- Learned: the mean solar power in sunlight (an exponential average over
  ``solar_average_readings`` readings taken in predicted sunlight), which the forecast
  uses for the sunlit points ahead.
- The budget forecast (``energy.forecast_budget_w``, one point per ``forecast_step_s``)
  is made, and carried in the PowerBudget, once per ``forecast_step_s`` of readings
  (``inputs.t_ns``), and at once when the mode, the heater power or the eclipse outlook
  (in or out of an eclipse, the windows ahead, its source) changes; the budgets between
  carry none (an empty forecast, step 0: keep the last one). A forecast at 60 s
  resolution re-made every second said nothing new and cost half of the power
  manager's time. Without ``inputs.t_ns`` every budget carries a fresh one.

Left out: a tick without a PowerSensors reading yields no budget (what the executor does
then is its own rule); the core does not judge the readings themselves (a stuck sensor
is the supervisor's limit checker's business).
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field, replace
from typing import NamedTuple

from flightsw.apps.power.energy import (
    budget_terms,
    eclipse_energy_wh,
    forecast_budget_w,
    forecast_soc,
    reserve_wh,
)
from flightsw.apps.power.gauge import GaugeState, GaugeTable, judge
from flightsw.apps.power.modes import Conditions, decide
from flightsw.apps.power.outlook import EclipseAhead, EclipseOutlook
from flightsw.apps.power.table import PowerTable, TableError
from flightsw.icd.messages import MODE_RANK, Mode, PowerBudget, PowerSensors, SetMode, Severity

__all__ = [
    "EclipseOutlook",
    "Note",
    "PowerInputs",
    "PowerState",
    "PowerTable",
    "TableError",
    "set_mode_limit",
    "step",
]

MAX_POWER_W = 1.0e6  # PowerBudget's range for powers
MAX_ENERGY_WH = 1.0e7
MAX_ECLIPSE_IN_S = 1.0e7
MAX_ECLIPSE_S = 1.0e6
NS_PER_S = 1_000_000_000


class Note(NamedTuple):
    """An event for the shell to emit: severity, stable name, text."""

    severity: Severity
    name: str
    text: str


@dataclass(frozen=True)
class PowerInputs:
    """One tick's inputs. heater_w: ThermalCaps.heater_w when one came this tick.
    t_ns: the readings' time [ns] (paces the forecast; None: a forecast every budget)."""

    sensors: PowerSensors | None
    outlook: EclipseOutlook
    set_mode: SetMode | None = None
    heater_w: float | None = None
    t_ns: int | None = None


@dataclass(frozen=True)
class PowerState:
    mode: str = Mode.NOMINAL.value
    held_ticks: int = 0  # readings since the mode was entered
    forced_safe: bool = False  # the supervisor ordered SAFE
    mode_limit: str = Mode.COMPUTE.value  # the highest mode allowed (POWER_SET_MODE_LIMIT)
    below_guard: int = 0  # readings in a row below the guard
    below_reserve: int = 0  # readings in a row below the reserve level
    transitions: int = 0  # mode changes since boot (restored across restarts)
    heater_w: float | None = None  # last reported heater power [W]; None: none yet
    solar_mean_w: float | None = None  # learned mean solar power in sunlight [W]
    solar_readings: int = 0  # readings in the average (capped at solar_average_readings)
    forecast_source: str = ""  # the outlook's source last reported
    budget_w: float = 0.0  # last budget granted [W]
    forecast_t_ns: int | None = None  # when the last forecast was made [ns]; None: never
    forecast_key: tuple = ()  # what it was made for (see _forecast_key)
    gauge: GaugeState = field(default_factory=GaugeState)  # the gauge's cross-check (gauge.py)


def set_mode_limit(state: PowerState, mode: str) -> PowerState:
    """The mode limit command: ``mode`` becomes the highest mode allowed (from the next step)."""
    if mode not in MODE_RANK:
        raise ValueError(f"mode: expected one of {sorted(MODE_RANK)}, got {mode!r}")
    return replace(state, mode_limit=mode)


def _learn_solar(state: PowerState, t: PowerTable, s: PowerSensors, ahead: EclipseAhead) -> tuple[float | None, int]:
    """The mean solar power in sunlight after this reading -> (mean [W] or None, readings)."""
    if s.solar_power_w <= t.sunlit_min_w or ahead.in_eclipse:
        return state.solar_mean_w, state.solar_readings
    n = min(state.solar_readings + 1, t.solar_average_readings)
    if state.solar_mean_w is None or state.solar_readings == 0:
        return s.solar_power_w, n  # the first reading replaces the guess
    return state.solar_mean_w + (s.solar_power_w - state.solar_mean_w) / n, n


def step(state: PowerState, t: PowerTable, inputs: PowerInputs) -> tuple[PowerState, PowerBudget | None, list[Note]]:
    """One control period. Returns the new state, the budget (None without readings), notes."""
    notes: list[Note] = []
    if inputs.set_mode is not None:
        cmd = inputs.set_mode
        state = replace(state, forced_safe=cmd.mode == Mode.SAFE.value)
        what = "SAFE ordered" if state.forced_safe else "SAFE order released"
        notes.append(Note(Severity.COMMAND, "power.set_mode", f"{cmd.mode}: {what}: {cmd.reason}"))
    outlook = inputs.outlook
    if outlook.source != state.forecast_source:
        sev = Severity.ACTIVITY_HI if outlook.valid else Severity.WARNING_LO
        notes.append(Note(sev, "power.forecast_source", outlook.source))
        state = replace(state, forecast_source=outlook.source)
    if inputs.heater_w is not None:
        state = replace(state, heater_w=inputs.heater_w)
    s = inputs.sensors
    if s is None:
        if state.forced_safe and state.mode != Mode.SAFE.value:  # an order needs no reading
            notes.append(Note(Severity.WARNING_HI, "power.mode_changed",
                              f"{state.mode} -> SAFE: ordered by the supervisor (SetMode SAFE)"))
            state = replace(state, mode=Mode.SAFE.value, held_ticks=0, transitions=state.transitions + 1)
        return state, None, notes

    cap_wh = s.battery_capacity_wh
    heater_w = t.battery_heater_w if state.heater_w is None else state.heater_w
    gauge, verdict = judge(state.gauge, gauge_table(t), inputs.t_ns, s.battery_charge_wh, cap_wh,
                           s.solar_power_w, s.load_w, t.housekeeping_w + heater_w + state.budget_w)
    charge_wh = verdict.charge_wh
    if verdict.verdict != state.gauge.verdict:
        sev = Severity.WARNING_HI if verdict.verdict == "high" else (
            Severity.WARNING_LO if verdict.verdict == "low" else Severity.ACTIVITY_HI)
        notes.append(Note(sev, "power.gauge", (
            f"{verdict.verdict}: gauge {s.battery_charge_wh:.1f} Wh, the flow allows "
            f"[{verdict.lo_wh:.1f}, {verdict.hi_wh:.1f}] Wh; acting on {charge_wh:.1f} Wh")))
    ahead = outlook.at(0.0)
    guard_wh = (t.battery_soc_floor + t.guard_soc) * cap_wh
    reserve_level_wh = t.battery_soc_floor * cap_wh + reserve_wh(t, cap_wh, ahead)
    below_guard = state.below_guard + 1 if charge_wh < guard_wh else 0
    # Against the reserve, in sunlight before a predicted eclipse, the charge counts what
    # the sun will still add by the eclipse's start with no compute at all (the eclipse is
    # what the reserve is for): a battery just out of an eclipse is not short of the next
    # one's reserve while the sunlit arc ahead refills it.
    reserve_charge_wh = _charge_at_eclipse_wh(t, charge_wh, cap_wh, s.solar_power_w, heater_w, outlook, ahead)
    below_reserve = state.below_reserve + 1 if reserve_charge_wh < reserve_level_wh else 0
    cond = Conditions(charge_wh, cap_wh, guard_wh, reserve_level_wh, below_guard, below_reserve,
                      solar_surplus=s.solar_power_w > t.housekeeping_w + heater_w,
                      reserve_charge_wh=reserve_charge_wh)
    held = state.held_ticks + 1
    mode, reason = decide(t, state.mode, held, state.forced_safe, state.mode_limit, cond)
    transitions = state.transitions
    if mode != state.mode:
        sev = Severity.WARNING_HI if mode == Mode.SAFE.value else Severity.ACTIVITY_HI
        notes.append(Note(sev, "power.mode_changed", f"{state.mode} -> {mode}: {reason}"))
        held, transitions = 0, transitions + 1
    solar_mean_w, solar_readings = _learn_solar(state, t, s, ahead)
    terms = budget_terms(t, mode, charge_wh, cap_wh, s.solar_power_w, heater_w, ahead)
    forecast: tuple[float, ...] = ()
    soc_step_s, soc_forecast = 0.0, ()
    forecast_t_ns, key = state.forecast_t_ns, _forecast_key(mode, heater_w, outlook, ahead)
    if _forecast_due(state, t, inputs.t_ns, key):
        charges: list[float] = []
        forecast = forecast_budget_w(t, mode, charge_wh, cap_wh, s.solar_power_w,
                                     t.solar_initial_w if solar_mean_w is None else solar_mean_w, heater_w,
                                     outlook, charges)
        soc_step_s, soc_forecast = forecast_soc(charges, cap_wh, t.forecast_step_s)
        if t.max_discharge_w > MAX_POWER_W:  # budgets never exceed max_discharge_w: clip only then
            forecast = tuple(min(MAX_POWER_W, b) for b in forecast)
        forecast_t_ns = inputs.t_ns
    state = replace(state, mode=mode, held_ticks=held, below_guard=below_guard, below_reserve=below_reserve,
                    transitions=transitions, solar_mean_w=solar_mean_w, solar_readings=solar_readings,
                    budget_w=terms.budget_w, forecast_t_ns=forecast_t_ns, forecast_key=key, gauge=gauge)
    budget = PowerBudget(
        mode=mode,
        compute_budget_w=min(MAX_POWER_W, terms.budget_w),
        solar_power_w=s.solar_power_w,
        battery_avail_w=min(MAX_POWER_W, max(0.0, terms.battery_w)),
        battery_soc=min(1.0, max(0.0, charge_wh / cap_wh)) if cap_wh > 0.0 else s.battery_soc,
        min_priority=t.min_priority(mode),
        reserve_wh=min(MAX_ENERGY_WH, terms.reserve_wh),
        next_eclipse_in_s=min(MAX_ECLIPSE_IN_S, ahead.starts_in_s),
        next_eclipse_s=min(MAX_ECLIPSE_S, ahead.duration_s),
        forecast_step_s=t.forecast_step_s if forecast else 0.0,
        forecast_budget_w=forecast,
        forecast_soc_step_s=soc_step_s,
        forecast_soc=soc_forecast,
        battery_charge_wh=min(MAX_ENERGY_WH, max(0.0, charge_wh)),
        battery_capacity_wh=min(MAX_ENERGY_WH, max(0.0, cap_wh)),
        hold_wh=min(MAX_ENERGY_WH, max(0.0, terms.target_wh - eclipse_energy_wh(t, ahead.duration_s))),
        platform_w=min(MAX_POWER_W, max(0.0, t.housekeeping_w + heater_w)),
        solar_mean_w=min(MAX_POWER_W, max(0.0, t.solar_initial_w if solar_mean_w is None else solar_mean_w)),
        charge_efficiency=t.charge_efficiency,
        discharge_efficiency=t.discharge_efficiency,
        max_charge_w=min(1.0e9, t.max_charge_w),
    )
    return state, budget, notes


@functools.lru_cache(maxsize=8)
def gauge_table(t: PowerTable) -> GaugeTable:
    """The gauge cross-check's parameters from the power table."""
    return GaugeTable(tolerance_soc=t.gauge_tolerance_soc, flow_uncertainty_rel=t.gauge_flow_uncertainty_rel,
                      flow_uncertainty_w=t.gauge_flow_uncertainty_w, charge_efficiency=t.charge_efficiency,
                      discharge_efficiency=t.discharge_efficiency, max_charge_w=t.max_charge_w,
                      max_discharge_w=t.max_discharge_w, max_flow_gap_s=t.gauge_max_flow_gap_s)


def _charge_at_eclipse_wh(t: PowerTable, charge_wh: float, cap_wh: float, solar_w: float, heater_w: float,
                         outlook: EclipseOutlook, ahead: EclipseAhead) -> float:
    """The charge [Wh] at the next predicted eclipse's start if the sun's surplus over the
    platform (as now) went to the battery until then; the charge now inside an eclipse,
    with no forecast or no eclipse ahead."""
    if not outlook.valid or ahead.in_eclipse or ahead.starts_in_s <= 0.0:
        return charge_wh
    surplus_w = min(max(0.0, solar_w - t.housekeeping_w - heater_w), t.max_charge_w)
    return min(cap_wh, charge_wh + t.charge_efficiency * surplus_w * ahead.starts_in_s / 3600.0)


def _forecast_key(mode: str, heater_w: float, outlook: EclipseOutlook, ahead: EclipseAhead) -> tuple:
    """What a forecast is made for, beyond the readings: a change makes a new one at once."""
    return (mode, heater_w, outlook.valid, outlook.source, ahead.in_eclipse, len(outlook.windows_s))


def _forecast_due(state: PowerState, t: PowerTable, t_ns: int | None, key: tuple) -> bool:
    """A new forecast is due: none yet, no time given, a step's time passed, or the key moved."""
    last = state.forecast_t_ns
    if t_ns is None or last is None or key != state.forecast_key or t_ns < last:
        return True
    return t_ns - last >= round(t.forecast_step_s * NS_PER_S)
