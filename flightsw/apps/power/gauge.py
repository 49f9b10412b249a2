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
  own limits over the gap: at most ``max_charge_w`` in, ``max_discharge_w`` out. A clock
  that went backwards widens it to the whole battery.
- The gauge's reading ``g`` (``battery_charge_wh``) with a tolerance ``tol_wh``
  (``tolerance_soc`` x capacity) is then judged, believing the lower of two disagreeing
  witnesses:

  - ``g`` within ``[lo - tol, hi + tol]``: **ok**, the charge is ``g``; the interval
    narrows to ``[g - tol, g + tol]`` within it.
  - ``g`` below ``lo - tol``: **low**: less than the flow allows (a gauge biased low, or
    a flow the count got wrong: a cold battery refusing charge). The charge is ``g``, the
    conservative reading, and the interval is taken from it.
  - ``g`` above ``hi + tol``: **high**: more than the flow allows. The gauge is not used:
    the charge is ``lo``, the least the flow allows.

- **high** holds until the gauge has shown it tracks the flow again: back within the
  interval is not enough, for the interval widens while only the flow is counted (a gauge
  stuck at full reads within it once ``hi`` has climbed to the capacity). From its first
  reading back within, the gauge is on probation: it must follow the flow, within
  ``track_soc`` x capacity of what the flow allows from that reading on, while the flow
  moves the charge by more than ``tol_wh``; then it is believed again (**ok**). A gauge
  that strays restarts its probation; a gauge stuck while the charge moves, or pinned at
  full while the battery drains, never completes it.

Limits: a bias that tracks the flow is told from the truth only while it lies outside
the interval; while the gauge is not believed the interval widens with the flow's
uncertainty (2 x (5 % of the powers + 20 W): ~100 W at 300 W each way, 55 Wh an hour), so
a steady bias of a few per cent is believed again after tens of minutes to hours. An
absolute anchor would bound it (the battery full while the shunt sheds sunlight, the
open-circuit voltage at rest): not used yet. A gauge pinned at full, or stuck, never
tracks the flow and stays rejected.

A first reading (nothing stored) takes the gauge as it is. A capacity that changes (a
lost cell string) scales the interval with it, as the charge scales; a reading without a
capacity (0) changes nothing and is acted on as it is.
Pure: ``judge(state, table, t_ns, reading...) -> (state, verdict)``.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
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
    track_soc: float = 0.01  # [-] of capacity: how closely a gauge on probation must follow the flow


@dataclass(frozen=True)
class GaugeState:
    """lo_wh, hi_wh: bounds on the true charge; None before the first reading.
    t_ns: the last reading's time; capacity_wh: the capacity it was read with.
    probe_*: a gauge judged high on probation: the reading it began at, and what the flow
    allows from it since (None: not on probation)."""

    lo_wh: float | None = None
    hi_wh: float | None = None
    t_ns: int | None = None
    capacity_wh: float = 0.0
    verdict: str = OK  # the last reading's
    rejected: int = 0  # readings judged "high" since boot (restored across restarts)
    probe_from_wh: float | None = None
    probe_lo_wh: float = 0.0
    probe_hi_wh: float = 0.0


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
    """The interval at ``t_ns`` after a gap with no flow known: the battery's own limits
    (a clock gone backwards: the whole battery)."""
    if s.lo_wh is None or s.hi_wh is None or s.t_ns is None or t_ns == s.t_ns:
        return s
    if t_ns < s.t_ns:
        return replace(s, lo_wh=0.0, hi_wh=s.capacity_wh, t_ns=t_ns, probe_from_wh=None)
    dt_s = (t_ns - s.t_ns) / NS_PER_S
    return replace(s, lo_wh=max(0.0, s.lo_wh + _stored_wh(-g.max_discharge_w, dt_s, g)),
                   hi_wh=min(s.capacity_wh, s.hi_wh + _stored_wh(g.max_charge_w, dt_s, g)), t_ns=t_ns,
                   probe_from_wh=None)


def judge(s: GaugeState, g: GaugeTable, t_ns: int | None, gauge_wh: float, capacity_wh: float,
          solar_w: float, load_w: float, granted_load_w: float) -> tuple[GaugeState, Verdict]:
    """One reading at ``t_ns``: the flow since the last one (at ``solar_w`` in and ``load_w``
    out, the load at least ``granted_load_w`` for the pessimistic bound; a gap over
    ``max_flow_gap_s``: the battery's limits), then the gauge against it. Without a time
    (``t_ns`` None) no flow can be counted: the gauge is taken as it is. Returns the new
    state and the verdict."""
    if capacity_wh <= 0.0:  # no capacity read: nothing to judge against
        return s, Verdict(gauge_wh, s.verdict, s.lo_wh or 0.0, s.hi_wh or 0.0)
    tol = g.tolerance_soc * capacity_wh
    if s.lo_wh is None or s.hi_wh is None or s.t_ns is None or t_ns is None or s.capacity_wh <= 0.0:
        lo, hi = max(0.0, gauge_wh - tol), min(capacity_wh, gauge_wh + tol)
        return (GaugeState(lo, hi, t_ns, capacity_wh, OK, s.rejected),
                Verdict(gauge_wh, OK, lo, hi))
    dt_s = (t_ns - s.t_ns) / NS_PER_S
    if dt_s > g.max_flow_gap_s or dt_s < 0.0:
        s, dt_s = widen(s, g, t_ns), 0.0
    k = capacity_wh / s.capacity_wh  # a lost cell string takes its share of the charge
    lo, hi = s.lo_wh * k, s.hi_wh * k
    p_lo, p_hi = s.probe_lo_wh * k, s.probe_hi_wh * k
    if dt_s > 0.0:
        u, du = g.flow_uncertainty_rel, g.flow_uncertainty_w
        worst = _stored_wh(solar_w * (1.0 - u) - max(load_w, granted_load_w) * (1.0 + u) - du, dt_s, g)
        best = _stored_wh(solar_w * (1.0 + u) - load_w * (1.0 - u) + du, dt_s, g)
        lo, hi, p_lo, p_hi = lo + worst, hi + best, p_lo + worst, p_hi + best
    lo, hi = min(max(0.0, lo), capacity_wh), min(max(0.0, hi), capacity_wh)
    p_lo, p_hi = min(max(0.0, p_lo), capacity_wh), min(max(0.0, p_hi), capacity_wh)
    if gauge_wh > hi + tol:
        return GaugeState(lo, hi, t_ns, capacity_wh, HIGH, s.rejected + 1), Verdict(lo, HIGH, lo, hi)
    if gauge_wh < lo - tol:
        lo, hi = max(0.0, gauge_wh - tol), min(capacity_wh, gauge_wh + tol)
        return GaugeState(lo, hi, t_ns, capacity_wh, LOW, s.rejected), Verdict(gauge_wh, LOW, lo, hi)
    if s.verdict == HIGH:  # back within the interval: on probation until it tracks the flow
        track = g.track_soc * capacity_wh
        start = s.probe_from_wh
        if start is None or not p_lo - track <= gauge_wh <= p_hi + track:  # (re)starts from this reading
            return (GaugeState(lo, hi, t_ns, capacity_wh, HIGH, s.rejected, gauge_wh, gauge_wh, gauge_wh),
                    Verdict(lo, HIGH, lo, hi))
        if abs(gauge_wh - start * k) <= tol or abs((p_lo + p_hi) / 2.0 - start * k) <= tol:
            return (GaugeState(lo, hi, t_ns, capacity_wh, HIGH, s.rejected, start, p_lo, p_hi),
                    Verdict(lo, HIGH, lo, hi))  # the flow has not moved it far enough yet
    lo, hi = max(lo, gauge_wh - tol), min(hi, gauge_wh + tol)
    return GaugeState(lo, hi, t_ns, capacity_wh, OK, s.rejected), Verdict(gauge_wh, OK, lo, hi)
