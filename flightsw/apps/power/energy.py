"""The energy arithmetic of the power manager: reserve, battery term, budget, forecast.

Pure functions of the table, the mode, the battery readings and the eclipse ahead.

Reserve [Wh above the floor] = reserve_margin_soc x capacity
    + (housekeeping_w + battery_heater_w) x E / discharge_efficiency / 3600,
  E = the next eclipse's duration, or what is left of the one in progress [s]
  (no TLE: ``eclipse_reserve_s``, as if it started now; none predicted: 0).

Battery term [W, bus side] = the charge above the mode's target, paced:
    excess_wh = charge - (floor + reserve + buffer), buffer = nominal_buffer_soc x
                capacity in NOMINAL and LOW_POWER (which refills toward what NOMINAL
                holds, past its own exit level), 0 in COMPUTE
    term = excess_wh x 3600 x discharge_efficiency / pacing_s       (excess > 0)
         = excess_wh x 3600 / charge_efficiency / pacing_s          (excess < 0: recharge)
  clipped to [-max_charge_w, max_discharge_w]; pacing_s = the time until the next eclipse
  starts (in sunlight: spend down, or refill, to the target by eclipse entry) or until
  the one in progress ends, at most max_pacing_s; at least min_pacing_s for spending, so
  that, followed with a one- or two-tick latency, the proportional law approaches the
  target and never overshoots it by more than a tick's draw (min_pacing_s >> a tick);
  at least RECHARGE_MIN_S for refilling, which may go as fast as the sun allows (a
  refill paced slower than the time left would enter the eclipse short, orbit after
  orbit).

Budget [W] = solar - (housekeeping + heaters in use)
           + (housekeeping_w + battery_heater_w, inside a predicted eclipse: the reserve
              pays the platform there, that is what it was held for)
           + battery term (LOW_POWER: only its recharging, negative, part)
  clipped to [0, max_discharge_w - housekeeping - heaters]: the sun may vanish within a
  tick (eclipse entry) while the budget in force stands a tick or two longer, so the
  battery alone must be able to carry it. SAFE: 0.

Left out: battery ageing, temperature windows and internal resistance (the capacity is
read each tick instead); solar power changing with attitude within a sunlit arc (the
forecast uses the learned mean); forecast error: a stale TLE's eclipse edges are covered
by the orbit table's edge margin, and darkness the outlook did not predict is paid from
the margin and the excess, with the guard (SAFE) as the backstop.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np

from flightsw.apps.power.outlook import EclipseAhead, EclipseOutlook
from flightsw.apps.power.table import PowerTable
from flightsw.icd.messages import Mode

__all__ = [
    "BudgetTerms",
    "MAX_FORECAST_POINTS",
    "MAX_SOC_FORECAST_POINTS",
    "battery_term_w",
    "budget_terms",
    "eclipse_energy_wh",
    "forecast_budget_w",
    "forecast_soc",
    "forecast_points",
    "pacing_s",
    "reserve_wh",
]

SECONDS_PER_HOUR = 3600.0
MAX_FORECAST_POINTS = 256  # PowerBudget.forecast_budget_w holds at most this many
MAX_SOC_FORECAST_POINTS = 64  # PowerBudget.forecast_soc: no more than telemetry turns into channels
RECHARGE_MIN_S = 1.0  # [s] the shortest span a deficit is refilled over
SAFE = Mode.SAFE.value
LOW_POWER = Mode.LOW_POWER.value
NOMINAL = Mode.NOMINAL.value


class BudgetTerms(NamedTuple):
    """One budget and how it was made. Powers [W], energies [Wh]."""

    budget_w: float  # granted to compute, >= 0
    battery_w: float  # the battery term (> 0 it may give, < 0 it must take)
    reserve_wh: float  # held above the floor for the eclipse ahead, plus the margin
    target_wh: float  # the charge the battery term steers toward


def eclipse_energy_wh(t: PowerTable, eclipse_s: float) -> float:
    """Energy drawn from storage [Wh] to carry the platform through ``eclipse_s`` seconds."""
    return (t.housekeeping_w + t.battery_heater_w) * max(0.0, eclipse_s) / SECONDS_PER_HOUR / t.discharge_efficiency


def reserve_wh(t: PowerTable, capacity_wh: float, ahead: EclipseAhead) -> float:
    """Energy [Wh] held above the floor: the eclipse ahead plus the margin."""
    return t.reserve_margin_soc * capacity_wh + eclipse_energy_wh(t, ahead.duration_s)


def pacing_s(t: PowerTable, ahead: EclipseAhead, excess_wh: float) -> float:
    """Time [s] over which ``excess_wh`` above the target is spent (> 0) or refilled (< 0)."""
    if ahead.in_eclipse:
        span = ahead.duration_s
    elif ahead.starts_in_s >= 0.0:
        span = ahead.starts_in_s
    else:
        span = t.max_pacing_s
    shortest = t.min_pacing_s if excess_wh >= 0.0 else RECHARGE_MIN_S
    return min(t.max_pacing_s, max(shortest, span))


def battery_term_w(t: PowerTable, excess_wh: float, span_s: float) -> float:
    """Bus power [W] that moves ``excess_wh`` of storage over ``span_s``, within the limits."""
    if excess_wh >= 0.0:
        term = excess_wh * (SECONDS_PER_HOUR * t.discharge_efficiency) / span_s
    else:
        term = excess_wh * (SECONDS_PER_HOUR / t.charge_efficiency) / span_s
    return min(t.max_discharge_w, max(-t.max_charge_w, term))


def budget_terms(t: PowerTable, mode: str, charge_wh: float, capacity_wh: float, solar_w: float,
                 heater_w: float, ahead: EclipseAhead) -> BudgetTerms:
    """The compute budget for one tick (see the module note)."""
    reserve = reserve_wh(t, capacity_wh, ahead)
    target = t.battery_soc_floor * capacity_wh + reserve
    if mode in (NOMINAL, LOW_POWER):
        target += t.nominal_buffer_soc * capacity_wh
    excess_wh = charge_wh - target
    battery_w = battery_term_w(t, excess_wh, pacing_s(t, ahead, excess_wh))
    if mode == SAFE:
        return BudgetTerms(0.0, battery_w, reserve, target)
    platform_w = t.housekeeping_w + heater_w
    release_w = t.housekeeping_w + t.battery_heater_w if ahead.in_eclipse else 0.0
    spend_w = min(battery_w, 0.0) if mode == LOW_POWER else battery_w
    raw_w = solar_w - platform_w + release_w + spend_w
    cap_w = max(0.0, t.max_discharge_w - platform_w)
    return BudgetTerms(min(cap_w, max(0.0, raw_w)), battery_w, reserve, target)


def forecast_soc(charges_wh: list[float], capacity_wh: float, step_s: float,
                 max_points: int = MAX_SOC_FORECAST_POINTS) -> tuple[float, tuple[float, ...]]:
    """The battery forecast thinned to at most ``max_points`` (what telemetry carries as
    channels): (step [s], state of charge at now + i x step). Every k-th point of the
    charges at ``step_s``, k the smallest stride that fits; empty without a capacity."""
    if not charges_wh or capacity_wh <= 0.0:
        return 0.0, ()
    stride = max(1, math.ceil(len(charges_wh) / max_points))
    return step_s * stride, tuple(min(1.0, max(0.0, c / capacity_wh)) for c in charges_wh[::stride])


def forecast_points(t: PowerTable, outlook: EclipseOutlook) -> int:
    """How many forecast points span one orbit (at least 1, at most 256)."""
    period_s = outlook.period_s if outlook.valid else t.fallback_period_s
    return max(1, min(MAX_FORECAST_POINTS, math.ceil(period_s / t.forecast_step_s - 1e-9)))


def forecast_budget_w(t: PowerTable, mode: str, charge_wh: float, capacity_wh: float, solar_now_w: float,
                      solar_mean_w: float, heater_w: float, outlook: EclipseOutlook,
                      charges_wh: list[float] | None = None) -> tuple[float, ...]:
    """The budget at now + i x forecast_step_s over the next orbit, i = 0 .. n-1.
    ``charges_wh``, if given, receives the battery's charge [Wh] at each point (point 0:
    the charge now): the battery forecast that goes with the budgets.

    Point 0 is this tick's budget (the reading's solar power); later points assume the
    learned mean solar power where the outlook predicts sunlight (none when it is
    unknown), the heaters as now, the mode held, and every budget spent in full: the
    battery is stepped forward with its efficiencies and limits between points.
    Left out: mode changes within the orbit, and anything the executor leaves unspent
    (which only leaves more charge: the forecast errs low).

    The same law as ``budget_terms``, unrolled over arrays for speed (a test checks the
    two agree point by point).
    """
    n = forecast_points(t, outlook)
    step_s = t.forecast_step_s
    if mode == SAFE:
        return (0.0,) * n
    offsets = np.arange(n) * step_s
    inside, starts_in, duration = outlook.ahead_arrays(offsets)
    span = np.where(inside, duration, np.where(starts_in >= 0.0, starts_in, t.max_pacing_s))
    spend_span = np.clip(span, t.min_pacing_s, t.max_pacing_s)
    refill_span = np.clip(span, RECHARGE_MIN_S, t.max_pacing_s)
    reserve = t.reserve_margin_soc * capacity_wh + (
        (t.housekeeping_w + t.battery_heater_w) * np.maximum(duration, 0.0) / SECONDS_PER_HOUR
        / t.discharge_efficiency)
    target = t.battery_soc_floor * capacity_wh + reserve
    if mode in (NOMINAL, LOW_POWER):
        target = target + t.nominal_buffer_soc * capacity_wh
    sunlit = ~inside if outlook.valid else np.zeros(n, bool)
    solar = np.where(sunlit, solar_mean_w, 0.0)
    solar[0] = solar_now_w
    platform_w = t.housekeeping_w + heater_w
    release = np.where(inside, t.housekeeping_w + t.battery_heater_w, 0.0)
    cap_w = max(0.0, t.max_discharge_w - platform_w)
    k_out = SECONDS_PER_HOUR * t.discharge_efficiency
    k_in = SECONDS_PER_HOUR / t.charge_efficiency
    lo_w, hi_w = -t.max_charge_w, t.max_discharge_w
    spend_max_w = 0.0 if mode == LOW_POWER else math.inf
    charged_wh = t.charge_efficiency * step_s / SECONDS_PER_HOUR
    drawn_wh = step_s / SECONDS_PER_HOUR / t.discharge_efficiency
    max_charge_w = t.max_charge_w
    out = []
    # plain comparisons rather than min()/max(): this loop runs every tick
    for solar_w, target_wh, spend_s, refill_s, release_w in zip(
            solar.tolist(), target.tolist(), spend_span.tolist(), refill_span.tolist(), release.tolist(),
            strict=True):
        if charges_wh is not None:
            charges_wh.append(charge_wh)
        excess_wh = charge_wh - target_wh
        if excess_wh >= 0.0:
            term_w = excess_wh * k_out / spend_s
            if term_w > hi_w:
                term_w = hi_w
        else:
            term_w = excess_wh * k_in / refill_s
            if term_w < lo_w:
                term_w = lo_w
        if term_w > spend_max_w:
            term_w = spend_max_w
        budget_w = solar_w - platform_w + release_w + term_w
        if budget_w < 0.0:
            budget_w = 0.0
        elif budget_w > cap_w:
            budget_w = cap_w
        out.append(budget_w)
        net_w = solar_w - platform_w - budget_w
        if net_w >= 0.0:
            charge_wh += (net_w if net_w < max_charge_w else max_charge_w) * charged_wh
        else:
            charge_wh += net_w * drawn_wh
        if charge_wh > capacity_wh:
            charge_wh = capacity_wh
        elif charge_wh < 0.0:
            charge_wh = 0.0
    return tuple(out)
