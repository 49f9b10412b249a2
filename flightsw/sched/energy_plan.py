"""The predictive policy's power level: flat compute power over the orbit ahead.

Why. A board's throughput is concave in its power (``(p / max)^a``, a ~ 0.5), so a given
energy does the most work spread evenly in time: 5 kW held through a whole orbit does
about 15 % more work than the same energy spent as 8 kW in sunlight and 1 kW in eclipse
(and it moves less energy through the battery, whose round trip loses ~10 %). The power
manager's budget is the most that may be drawn *now*; it spends the battery's excess
before eclipse entry and carries the eclipse on what is left. The greedy baselines draw
the whole budget, so the eclipse runs nearly dark. This planner draws less in sunlight,
so that the battery enters the eclipse holding what a flat level needs, and the budget
in eclipse (the manager paces the stored excess evenly over the eclipse) carries it.

The level. In sunlight, with an eclipse of ``e`` seconds starting in ``s`` seconds, the
flat level P is the largest for which the charge at the eclipse's end is still at least
``hold_wh`` (the floor, margin and buffer the manager keeps: it grants nothing below):

    sunlit:  E1 = min(capacity, E + eta_c min(S - L - P, max_charge) s)    (S - L - P >= 0)
               = E + (S - L - P) s / eta_d                                 (otherwise)
    eclipse: E2 = E1 - (P + L) e / eta_d  >=  hold

with S the mean solar power in sunlight, L the platform's draw, E the charge now. E2 is
non-increasing in P: bisection.

Flat is best only where the curve's concavity outweighs the battery's round trip
(eta_c eta_d ~ 0.9). Given the boards, the planner then picks the sunlit level P_s that
does the most work over the sunlit arc and the eclipse, the eclipse level P_e being what
P_s leaves (the hold reached at the eclipse's end): the work T(P_s) s + T(P_e) e is
concave in P_s (golden-section search). T is the boards' envelope: linear while every
busy board can sit at the minimum power (energy-limited: then the sun should be used
directly and the battery only for what must be carried), concave above (the optimum has
T'(P_e) = T'(P_s) / (eta_c eta_d): with a = 0.48, P_e ~ 0.82 P_s). The level never
goes below what would otherwise be curtailed (S - L - max_charge, or more while the
battery would fill), and never above the budget. In eclipse, with no eclipse ahead, or without an energy picture
(``ctx.known`` False), the level is the budget: nothing to save for.

The value horizon (``horizon_s``, from the contact plan: work done after its last pass,
less the time to send a result, can never come down in a known contact, so it is worth
nothing). Falling before the eclipse, it makes the eclipse worth nothing: the sunlit
level is the most the hold allows (the eclipse runs on nothing but the platform's
draw), and what would be saved for it is computed while it can still come down. An
eclipse the horizon cuts is planned as usual: work there is worth something only where
it finishes jobs before the horizon, which the flat work model does not see (counting
the cut part as work, sso-eclipse-season lost 0.004 of its bound: the eclipse ran
lower, and fewer jobs finished in it before its last pass). Past the horizon,
everything counts again (the next contact plan is not known yet). Measured on default
(24 h; its one station's last pass ends at h 8.6): value / bound, seed 0 0.954 ->
0.956, seed 1 0.941 -> 0.947, seed 2 0.952 -> 0.954.

Left out: orbits beyond the next eclipse (the plan is remade every minute, so it
recedes), solar power changing within the sunlit arc (the mean is used), the thermal
caps (the executor's caps bound the boards anyway), and the platform's draw changing
(heaters switching).
"""

from __future__ import annotations

from flightsw.sched.types import BoardModel, PlanContext

__all__ = ["envelope_throughput", "planned_power_w"]

BISECTION_STEPS = 40  # halvings of the search interval: far below a watt
GOLDEN = 0.6180339887498949
GOLDEN_STEPS = 40


def _charge_after_eclipse_wh(p_w: float, ctx: PlanContext, solar_w: float) -> float:
    sunlit_h = max(0.0, ctx.next_eclipse_in_s) / 3600.0
    eclipse_h = max(0.0, ctx.next_eclipse_s) / 3600.0
    net_w = solar_w - ctx.platform_w - p_w
    e_wh = ctx.battery_charge_wh
    if net_w >= 0.0:
        charge_w = min(net_w, ctx.max_charge_w) if ctx.max_charge_w > 0.0 else net_w
        e_wh = min(ctx.battery_capacity_wh, e_wh + ctx.charge_efficiency * charge_w * sunlit_h)
    else:
        e_wh += net_w * sunlit_h / max(ctx.discharge_efficiency, 1e-9)
    return e_wh - (p_w + ctx.platform_w) * eclipse_h / max(ctx.discharge_efficiency, 1e-9)


def envelope_throughput(p_w: float, boards: int, model: BoardModel) -> float:
    """Full-speed boards' worth of work at total power ``p_w`` on ``boards`` boards: the
    concave envelope (linear up to every board at the minimum power, then equal shares)."""
    if boards <= 0 or p_w <= 0.0:
        return 0.0
    h_min = (model.min_power_w / model.max_power_w) ** model.throughput_exponent
    if p_w <= boards * model.min_power_w:
        return p_w * h_min / model.min_power_w
    share_w = min(model.max_power_w, p_w / boards)
    return boards * (share_w / model.max_power_w) ** model.throughput_exponent


def _eclipse_level_w(p_sun_w: float, ctx: PlanContext, solar_w: float) -> float:
    """The eclipse level [W] a sunlit level leaves room for (the hold reached at its end)."""
    spare_wh = _charge_after_eclipse_wh(p_sun_w, ctx, solar_w) - ctx.hold_wh
    eclipse_h = max(ctx.next_eclipse_s, 1e-9) / 3600.0
    # _charge_after_eclipse_wh already drew (p_sun + platform) through the eclipse
    return p_sun_w + spare_wh * ctx.discharge_efficiency / eclipse_h


def planned_power_w(ctx: PlanContext | None, budget_w: float, max_compute_w: float,
                    boards: int = 0, model: BoardModel | None = None, horizon_s: float | None = None) -> float:
    """The compute power [W] to spend now: at most ``budget_w``; ``max_compute_w`` the most
    the usable boards can draw. With ``boards`` (usable) and ``model``, the sunlit and
    eclipse levels are chosen to do the most work (see the module note); without, flat.
    ``horizon_s``: work done more than this far ahead is worth nothing (its result cannot
    come down in a known contact); None or <= 0: all of it counts."""
    budget_w = max(0.0, budget_w)
    if (ctx is None or not ctx.known or ctx.in_eclipse or ctx.next_eclipse_in_s <= 0.0
            or ctx.next_eclipse_s <= 0.0 or ctx.battery_capacity_wh <= 0.0):
        return budget_w
    solar_w = ctx.solar_mean_w if ctx.solar_mean_w > 0.0 else ctx.solar_w
    hi = min(budget_w, max_compute_w)
    # the flat level: the largest with the hold reached at the eclipse's end
    if _charge_after_eclipse_wh(hi, ctx, solar_w) >= ctx.hold_wh:
        flat = hi
    elif _charge_after_eclipse_wh(0.0, ctx, solar_w) < ctx.hold_wh:
        flat = 0.0  # even nothing leaves the eclipse short: the manager's budget rules
    else:
        lo, top = 0.0, hi
        for _ in range(BISECTION_STEPS):
            mid = 0.5 * (lo + top)
            if _charge_after_eclipse_wh(mid, ctx, solar_w) >= ctx.hold_wh:
                lo = mid
            else:
                top = mid
        flat = lo
    level = flat
    if model is not None and boards > 0 and flat < hi:
        # more in sunlight, less in eclipse, where the battery's round trip costs more than
        # the curve's concavity gains: the most work over the sunlit arc and the eclipse
        t_sun, t_ecl = ctx.next_eclipse_in_s, ctx.next_eclipse_s
        if horizon_s is not None and 0.0 < horizon_s <= t_sun:  # the eclipse past the horizon: worth nothing
            t_sun, t_ecl = horizon_s, 0.0

        def work(p_sun_w: float) -> float:
            p_ecl_w = max(0.0, _eclipse_level_w(p_sun_w, ctx, solar_w))
            return (envelope_throughput(p_sun_w, boards, model) * t_sun
                    + envelope_throughput(min(p_ecl_w, max_compute_w), boards, model) * t_ecl)

        # feasible sunlit levels: the eclipse level stays >= 0 (at most where it is 0)
        lo, top = flat, hi
        if _eclipse_level_w(top, ctx, solar_w) < 0.0:
            for _ in range(BISECTION_STEPS):
                mid = 0.5 * (lo + top)
                if _eclipse_level_w(mid, ctx, solar_w) >= 0.0:
                    lo = mid
                else:
                    top = mid
            top = lo
        a, b = flat, top
        for _ in range(GOLDEN_STEPS):  # work is concave in the sunlit level: golden section
            m1, m2 = b - GOLDEN * (b - a), a + GOLDEN * (b - a)
            if work(m1) < work(m2):
                a = m1
            else:
                b = m2
        level = max(flat, 0.5 * (a + b)) if work(0.5 * (a + b)) >= work(flat) else flat
    # never below what the battery cannot take: that sunlight would be curtailed
    surplus_w = ctx.solar_w - ctx.platform_w
    if ctx.max_charge_w > 0.0:
        level = max(level, surplus_w - ctx.max_charge_w)
    if ctx.battery_charge_wh >= ctx.battery_capacity_wh * 0.999:
        level = max(level, surplus_w)
    return min(budget_w, max(0.0, level))
