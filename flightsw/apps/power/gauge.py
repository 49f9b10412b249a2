"""The battery gauge's cross-check: the charge the power manager believes, and why.

The state-of-charge gauge is one sensor; a gauge biased or stuck high makes a power
manager that trusts it spend a battery it believes full (found by the fault campaign: a
gauge biased +5 reads 1.0 through an eclipse while the power manager restarts, and the
battery went to SOC 0.12). The gauge is therefore checked against what the bus's power
flow allows, a set-membership (interval) estimate, as coulomb counting bounds a fuel
gauge on a battery management unit:

- ``[lo_wh, hi_wh]`` bounds the true charge. Each reading moves it by the energy the
  bus flow could have stored or drawn since the last one (solar in, load out, through the
  battery's efficiencies and charge limit), ``lo`` with the flow at its most pessimistic
  and ``hi`` at its most optimistic (``flow_uncertainty_rel`` of each power plus
  ``flow_uncertainty_w``). The load counted against ``lo`` is at least the platform plus
  the budget last granted: the power manager knows what it let the payload draw even
  when the load reading is stuck.
- A gap without readings (a restart: the interval is stored) widens it by the battery's
  own limits over the gap: at most ``max_charge_w`` in, ``max_discharge_w`` out.
- The gauge's reading ``g`` (``battery_charge_wh``) with a tolerance ``tol_wh``
  (``gauge_tolerance_soc`` x capacity) is then judged, believing the lower of two
  disagreeing witnesses:

  - ``g`` within ``[lo - tol, hi + tol]``: **ok**, the charge is ``g``; the interval
    narrows to ``[g - tol, g + tol]`` within it.
  - ``g`` below ``lo - tol``: **low**: less than the flow allows (a gauge biased low, or
    a flow the count got wrong: a cold battery refusing charge). The charge is ``g``, the
    conservative reading, and the interval is taken from it.
  - ``g`` above ``hi + tol``: **high**: more than the flow allows. The gauge is not used:
    the charge is ``lo``, the least the flow allows, until the gauge comes back within.

A first reading (nothing stored) takes the gauge as it is. A capacity that changes
(fade, a lost cell string) scales the interval with it, as the charge scales.
Pure: ``judge(state, table, reading) -> (state, verdict)``.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

__all__ = ["GaugeState", "GaugeTable", "Verdict", "judge", "widen"]

SECONDS_PER_HOUR = 3600.0
NS_PER_S = 1_000_000_000
OK, LOW, HIGH = "ok", "low", "high"


@dataclass(frozen=True)
class GaugeTable:
    """What the cross-check needs of the power table. Powers [W]."""

    tolerance_soc: float  # [-] of capacity: the gauge may stray this far from the interval
    flow_uncertainty_rel: float  # [-] of each measured power
    flow_uncertainty_w: float  # [W] on top
    charge_efficiency: float
    discharge_efficiency: float
    max_charge_w: float  # bus side
    max_discharge_w: float  # bus side
    max_flow_gap_s: float = 10.0  # [s] a longer gap between readings: the limits, not the flow


@dataclass(frozen=True)
class GaugeState:
    """lo_wh, hi_wh: bounds on the true charge; None before the first reading.
    t_ns: the last reading's time; capacity_wh: the capacity it was read with."""

    lo_wh: float | None = None
    hi_wh: float | None = None
    t_ns: int | None = None
    capacity_wh: float = 0.0
    verdict: str = OK  # the last reading's
    rejected: int = 0  # readings judged "high" since boot (restored across restarts)


class Verdict(NamedTuple):
    charge_wh: float  # the charge to act on
    verdict: str  # ok | low | high
    lo_wh: float
    hi_wh: float


def _stored_wh(net_w: float, dt_s: float, g: GaugeTable) -> float:
    """Energy [Wh] a bus surplus ``net_w`` moves into (< 0: out of) storage over dt_s."""
    if net_w >= 0.0:
        return min(net_w, g.max_charge_w) * g.charge_efficiency * dt_s / SECONDS_PER_HOUR
    return max(net_w, -g.max_discharge_w) / g.discharge_efficiency * dt_s / SECONDS_PER_HOUR


def widen(s: GaugeState, g: GaugeTable, t_ns: int) -> GaugeState:
    """The interval at ``t_ns`` after a gap with no flow known: the battery's own limits."""
    if s.lo_wh is None or s.hi_wh is None or s.t_ns is None or t_ns <= s.t_ns:
        return s
    dt_s = (t_ns - s.t_ns) / NS_PER_S
    return GaugeState(max(0.0, s.lo_wh + _stored_wh(-g.max_discharge_w, dt_s, g)),
                      min(s.capacity_wh, s.hi_wh + _stored_wh(g.max_charge_w, dt_s, g)),
                      t_ns, s.capacity_wh, s.verdict, s.rejected)


def judge(s: GaugeState, g: GaugeTable, t_ns: int | None, gauge_wh: float, capacity_wh: float,
          solar_w: float, load_w: float, granted_load_w: float) -> tuple[GaugeState, Verdict]:
    """One reading at ``t_ns``: the flow since the last one (at ``solar_w`` in and ``load_w``
    out, the load at least ``granted_load_w`` for the pessimistic bound; a gap over
    ``max_flow_gap_s``: the battery's limits), then the gauge against it. Without a time
    (``t_ns`` None) no flow can be counted: the gauge is taken as it is. Returns the new
    state and the verdict."""
    tol = g.tolerance_soc * capacity_wh
    if s.lo_wh is None or s.hi_wh is None or s.t_ns is None or t_ns is None or capacity_wh <= 0.0:
        lo, hi = max(0.0, gauge_wh - tol), min(capacity_wh, gauge_wh + tol)
        return (GaugeState(lo, hi, t_ns, capacity_wh, OK, s.rejected),
                Verdict(gauge_wh, OK, lo, hi))
    dt_s = (t_ns - s.t_ns) / NS_PER_S
    if dt_s > g.max_flow_gap_s:
        s, dt_s = widen(s, g, t_ns), 0.0
    lo, hi = s.lo_wh, s.hi_wh
    if s.capacity_wh > 0.0 and capacity_wh != s.capacity_wh:
        k = capacity_wh / s.capacity_wh
        lo, hi = lo * k, hi * k
    u, du = g.flow_uncertainty_rel, g.flow_uncertainty_w
    if dt_s > 0.0:
        worst_w = solar_w * (1.0 - u) - max(load_w, granted_load_w) * (1.0 + u) - du
        best_w = solar_w * (1.0 + u) - load_w * (1.0 - u) + du
        lo += _stored_wh(worst_w, dt_s, g)
        hi += _stored_wh(best_w, dt_s, g)
    lo, hi = min(max(0.0, lo), capacity_wh), min(max(0.0, hi), capacity_wh)
    if gauge_wh > hi + tol:
        return (GaugeState(lo, hi, t_ns, capacity_wh, HIGH, s.rejected + 1),
                Verdict(lo, HIGH, lo, hi))
    if gauge_wh < lo - tol:
        lo, hi = max(0.0, gauge_wh - tol), min(capacity_wh, gauge_wh + tol)
        return GaugeState(lo, hi, t_ns, capacity_wh, LOW, s.rejected), Verdict(gauge_wh, LOW, lo, hi)
    lo, hi = max(lo, gauge_wh - tol), min(hi, gauge_wh + tol)
    return GaugeState(lo, hi, t_ns, capacity_wh, OK, s.rejected), Verdict(gauge_wh, OK, lo, hi)
