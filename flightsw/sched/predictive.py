"""Predictive policy (the default): plans the power over the orbit ahead, then fills the
boards by value with the tests the baselines leave out.

1. Power: the level of ``energy_plan.planned_power_w`` (less than the budget in
   sunlight, so the eclipse is carried; all of it in eclipse; never below what would be
   curtailed; nothing saved for an eclipse past the contact plan's last pass), at most
   the thermal guard's budget (``ctx.thermal_budget_w``: the heat
   that holds the boards at its setpoint, stored heat counted), spent on as many boards
   as it covers at the minimum power each, water-
   filled equally (the best split of a concave curve): when energy is the limit, more
   boards at lower, more efficient caps; below every board at the minimum, whole boards
   at the minimum (``_whole_boards_w``).
   Switching costs: a board switched on boots first (a minute at boot power, no work) and
   a job switched off checkpoints. So the busy count holds while the level is within a
   board of it (hysteresis), a board is switched on only when the budget covers it past
   its noise (``ADD_MARGIN_W``), and none within ``TRANSITION_HOLD_S`` of an eclipse's
   entry or exit, or in its penumbra (the budget is about to step). A board still on
   (``ctx.powered``: its job just ended) counts as busy and is the first a job takes.
   Measured on energy-limited (24 h, seed 0): boots 833 -> 317, boot energy 1.23 ->
   0.71 kWh, work +1.8 %, value 0.931 -> 0.940 of the bound.
   Banking (``_bank_w``): below every usable board at the minimum (energy the limit),
   when the jobs fill fewer boards than the level covers at the minimum, the filled
   boards run at the minimum and the rest is left to the battery. Measured on
   energy-limited (24 h, seed 0): boards above the minimum ~21 % -> ~1 % of the busy
   time, work 389,721 -> 394,742 GPU-s (+1.3 %) for the same energy, value 0.944 ->
   0.951 of the bound (on top of the thermal guard's heater rule; docs/scheduling.md).
2. Order: value density first: a job's value per GPU-second of board work is its
   priority weight over its replicas (a dual-execution job does its work twice for one
   value); then earlier deadline, then acceptance order (rank_fill, with this density as
   the rank that orders, preempts and reserves). Except promised jobs
   (``select.promise``): the deadline jobs at least as dense as the marginal density of
   the time that can still deliver (``select.marginal_density``: the queue and the
   demand forecast, taken densest first until the boards' throughput up to the contact
   plan's last pass, a day at most, is spent; the forecast is persistence: the work
   accepted in the last day, ``ctx.accepted_day``, comes again, pro rata; the throughput is
   the boards' at the orbit's mean forecast budget, ``_capacity_level_w``, not at the
   minute's level, which in eclipse swapped jobs with each board more or less; and
   continuous in the power, ``energy_plan.envelope_throughput``, not counted in whole
   boards; a running job stays a candidate up to ``PROMISE_HOLD`` more capacity: with
   the thermal budget's noise around a board's minimum, thermal-limited swapped its
   running jobs every few seconds, 1,280-3,417 preemptions a day on seeds 0-3, 0.948 ->
   0.953 on seed 3 once fixed), kept
   densest first while earliest-deadline-first finishes them all at ``PROMISE_MARGIN`` of the
   planned throughput, run before every other job, earliest effective deadline first
   (then density): a dense job due tomorrow, or dense work with no deadline, no longer
   takes the boards from a less dense job due in an hour when there is room for both
   before the last pass; a job the load would shed anyway is not promised. Work without
   a deadline is never promised. Measured (24 h, seed 0): sso-no-eclipse 0.942 -> 0.969
   of the bound, default 0.958 -> 0.956 (the table in docs/scheduling.md). Tried first,
   worse: the capacity of a whole day whatever the contact plan (default 0.884: its
   last pass is at h 8.4, so dense work deferred "to later today" never comes down);
   the work measured so far instead of the planned rate (sso-no-eclipse 0.959, default
   0.860); the queue alone as the demand (sso-no-eclipse 0.915: it promised
   priority-0 work that the next arrivals shed). The rule before counted work without a
   deadline as due at the plan's last pass and promised nothing when the queue was more
   than the boards could do by then: under a backlog, nothing.
3. Worth finishing: a job with a deadline is skipped when, even on its boards at the
   most the budget gives them, it would finish after its deadline (``deadline``), or
   the first contact at or after that finish starts after its deadline (``downlink``:
   its result could not reach the ground in time, so the work would be worth nothing). Jobs without a deadline
   are always worth finishing. With no contact plan the downlink test is off.
4. Deliverable first: a job that, at the planned rate, would finish after the end of the
   last contact in the plan (less ``DOWNLINK_MARGIN_S`` to send its result) ranks below
   every job that would not: while there is work whose result can come down in a known
   contact, the boards do that work (packing the time before the plan's horizon with
   jobs that fit), and a running job that cannot make it may be preempted for one that
   can. Such work still runs when nothing deliverable waits.
   The end game: within ``ENDGAME_S`` (about an orbit) of that horizon, a job's density
   (for its rank, its promise and the marginal density) is its value per GPU-second of the
   work it still needs (``remaining_density``), not of all its work: what is unfinished at
   the horizon is worth nothing, so a part-done job's few minutes of work left bring its
   whole value, and it is resumed (or kept through a budget's dip) before fresh work that is
   denser per GPU-second but will not be done. Far from the horizon each job finishes in
   its turn, so the rank stays the job's own density (tried: ranking by the work left at
   all times, default seed 1 0.951 -> 0.941, energy-limited seed 2 0.950 -> 0.949).
   Measured (24 h): default seed 4 0.930 -> 0.948, where two dual jobs 75 % and 97 % done
   were pushed out near the eclipse's end before the last pass and never resumed. The
   same within ``ENDGAME_S`` of a job's own deadline, its own last moment: on
   energy-limited seed 2 (with a smoothed budget, an experiment) a dual job stopped 87 %
   done by the budget waited behind denser work for 1.5 h and expired.
5. Preemption pays: a running job is never preempted while its remaining time at the
   planned rate is within ``PREEMPT_PAYBACK`` checkpoint costs (a save and a load each)
   or within greedy's finish guard: preempting it would cost more board time than it
   frees for the higher-priority job. Otherwise as greedy (lower priority only).
6. Placement: a job starts on the free boards of the plates with the fewest busy boards
   (``model.boards_per_plate``), so when energy allows few boards, their heat is spread
   over every cold plate and stands in for the plate heaters' power.
7. Every waiting job gets its reason (energy, thermal, boards, deadline, downlink, order).

Tried and left out: an urgency rule (a deadline job with under 30 min of slack, denser
than the marginal work, first): it saved some deadline jobs but cost 2.3 % of the bound
on sso-eclipse-season (0.963 without, 0.940 with) and gained nothing elsewhere.

Left out: packing jobs to fit the time before each contact (only the plan's last one
counts: a result that misses a contact takes the next), and moving running jobs between
boards (to cooler plates, or to warm cold ones).
"""

from __future__ import annotations

from collections.abc import Sequence

from flightsw.icd.value import PRIORITY_WEIGHT
from flightsw.sched.energy_plan import envelope_throughput, planned_power_w
from flightsw.sched.explain import boards_covered
from flightsw.sched.greedy import PREEMPT_FINISH_GUARD_GPU_S, rank_fill
from flightsw.sched.power_split import board_caps
from flightsw.sched.select import effective_deadline_s, marginal_density, promise
from flightsw.sched.types import DEMAND_WINDOW_S, BoardModel, JobView, Plan, PlanContext

__all__ = ["PREEMPT_PAYBACK", "predictive", "remaining_density", "value_density"]

NS_PER_S = 1_000_000_000
PREEMPT_PAYBACK = 10.0  # a preemption must free at least this many checkpoint costs of time
DOWNLINK_MARGIN_S = 60.0  # [s] before the last contact's end: time to send a finished result down
UNDELIVERABLE = 1.0e9  # rank offset below every deliverable job
PROMISED = 1.0e6  # rank of a promised job (select.promise): above every density
MAX_DENSITY = 1.0e5  # remaining_density's most: a job seconds from its finish still ranks below a promised one
PROMISE_MARGIN = 0.9  # the promise counts on this fraction of the planned throughput
PROMISE_HOLD = 0.05  # a running deadline job stays a candidate for the promise up to this much more capacity
ADD_MARGIN_W = 100.0  # [W] a board is switched on only with this much of the budget to spare (its noise)
TRANSITION_HOLD_S = 120.0  # [s] no board is switched on this near an eclipse's entry or exit
PENUMBRA_SOLAR = 0.02  # in an eclipse with more than this fraction of the mean solar power: still entering it
BANK_FULL = 0.98  # a battery this full (of its capacity) banks nothing more: the level is spent
ENDGAME_S = 5400.0  # [s] (about a LEO orbit) this near the last pass or its deadline, a job ranks by value per work left
BOARD_HYSTERESIS = 1.0  # [boards at the minimum power] the busy count holds while the level is this near


def _whole_boards_w(level_w: float, budget_w: float, usable: int, model: BoardModel, busy_now: int = 0) -> float:
    """Below every usable board at the minimum power, the level rounded to whole boards at
    the minimum (to the nearest, never above the budget): k boards at a little above the
    minimum do less work per joule than the curve's chord, which k + 1 boards at it reach;
    the battery carries the difference and the next plan (a minute on) corrects for it.
    With hysteresis: the ``busy_now`` boards busy now stay busy while the level is within
    ``BOARD_HYSTERESIS`` boards' minimum of them (the level moves by a fraction of a board
    with the solar power and the battery's reading: that must not switch boards)."""
    floor_w = model.min_power_w
    if floor_w <= 0.0 or level_w >= usable * floor_w:
        return level_w
    k = min(usable, int(level_w / floor_w + 0.5))
    if 0 < busy_now <= usable and abs(level_w / floor_w - busy_now) < BOARD_HYSTERESIS:
        k = busy_now
    if k * floor_w > budget_w:
        k = int(budget_w // floor_w)
    return max(0.0, k * floor_w) if k > 0 else level_w


def _max_boards(budget_w: float, usable: int, busy_now: int, model: BoardModel, ctx: PlanContext | None) -> int:
    """The most boards the plan may keep busy: a board switched on boots first (a minute
    of power for no work) and one switched off checkpoints its job, so no board is
    switched on (the busy count does not rise) unless the budget covers it with
    ``ADD_MARGIN_W`` to spare (its noise would switch it off again), nor within
    ``TRANSITION_HOLD_S`` of entering or leaving an eclipse (the budget is about to step:
    a board started then is switched off before it has done any work)."""
    if ctx is not None and ctx.known and (0.0 < ctx.next_eclipse_in_s < TRANSITION_HOLD_S
                                          or (ctx.in_eclipse and (ctx.next_eclipse_s < TRANSITION_HOLD_S
                                                                  or ctx.solar_w > PENUMBRA_SOLAR * ctx.solar_mean_w))):
        return min(busy_now, usable)
    floor_w = max(model.min_power_w, 1e-9)
    return min(usable, max(busy_now, int((budget_w - ADD_MARGIN_W) // floor_w)))


def _per_board_rate(level_w: float, usable: int, demand: int, model: BoardModel) -> float:
    """Full-speed fraction of a busy board when ``level_w`` is spread over the boards the
    jobs can fill (``demand``: the boards they need together)."""
    n = max(1, min(usable, demand, boards_covered(level_w, model)))
    p_w = min(model.max_power_w, max(model.min_power_w, level_w / n))
    return (p_w / model.max_power_w) ** model.throughput_exponent


def _first_contact_after(passes: Sequence[tuple[int, int]], t_ns: int) -> int | None:
    """When a result ready at ``t_ns`` can start down: inside a pass at once, else the next AOS."""
    for aos, los in passes:
        if los > t_ns:
            return max(aos, t_ns)
    return None


def predictive(jobs: Sequence[JobView], budget_w: float, thermal_cap_w: Sequence[float], model: BoardModel,
               *, ctx: PlanContext | None = None) -> Plan:
    """``jobs`` in any order; caps and budget in W; ``ctx`` the energy picture and contact plan."""
    usable = sum(1 for c in thermal_cap_w[: model.n_boards] if c >= model.min_power_w)
    ceiling_w = sum(min(c, model.max_power_w) for c in thermal_cap_w[: model.n_boards] if c >= model.min_power_w)
    if ctx is not None and ctx.thermal_budget_w > 0.0:  # the heat the radiator carries at the boards' setpoint
        ceiling_w = min(ceiling_w, ctx.thermal_budget_w)
    busy_now = sum(len(j.boards) for j in jobs)
    if ctx is not None and ctx.powered:  # a board whose job just ended is still on: no boot to run it
        busy_now = max(busy_now, sum(1 for b, on in enumerate(ctx.powered[: model.n_boards])
                                     if on and thermal_cap_w[b] >= model.min_power_w))
    most = _max_boards(budget_w, usable, busy_now, model, ctx)
    t_ns = None if ctx is None else ctx.t_ns
    passes = () if ctx is None else ctx.passes
    # work done after this can never come down: the contact plan's last pass, less the time to send a result
    horizon_ns = passes[-1][1] - int(DOWNLINK_MARGIN_S * NS_PER_S) if passes and t_ns is not None else None
    value_s = None if horizon_ns is None else (horizon_ns - t_ns) / NS_PER_S
    level_w = min(planned_power_w(ctx, budget_w, ceiling_w, usable, model, horizon_s=value_s), ceiling_w)
    spread_w = level_w >= usable * model.min_power_w  # every usable board busy, above the minimum
    level_w = _whole_boards_w(level_w, budget_w, usable, model, busy_now)
    if most < usable:  # no more boards than it may keep busy: at the minimum each, or above when all could be
        level_w = min(level_w, most * (model.max_power_w if spread_w else model.min_power_w))
    rate = _per_board_rate(level_w, usable, sum(j.boards_needed for j in jobs), model)

    def finish_ns(j: JobView, per_board: float = rate) -> int:
        return t_ns + int(j.remaining_gpu_s / (j.boards_needed * per_board) * NS_PER_S)

    def best_rate(j: JobView) -> float:
        """The job's boards at the most the budget gives them (the tests that skip a job
        must not judge it at the planned, saving, rate: the budget could still save it)."""
        share_w = min(model.max_power_w, budget_w / max(1, j.boards_needed))
        return (max(share_w, model.min_power_w) / model.max_power_w) ** model.throughput_exponent

    def skip(j: JobView) -> str | None:
        if t_ns is None or j.deadline_t_ns < 0 or not budget_w > 0.0:
            return None
        done = finish_ns(j, best_rate(j))
        if done > j.deadline_t_ns:
            return "deadline"
        down = _first_contact_after(passes, done) if passes else None
        if passes and passes[-1][1] > done and (down is None or down > j.deadline_t_ns):
            return "downlink"
        return None

    cost_s = 0.0 if ctx is None else 2.0 * ctx.checkpoint_cost_s

    def guard(j: JobView) -> bool:
        if j.remaining_gpu_s <= PREEMPT_FINISH_GUARD_GPU_S * len(j.boards):
            return True
        left_s = j.remaining_gpu_s / (max(1, len(j.boards)) * max(rate, 1e-9))
        return left_s <= PREEMPT_PAYBACK * cost_s

    def late(j: JobView) -> bool:
        return horizon_ns is not None and rate > 0.0 and finish_ns(j) > horizon_ns

    # (past the horizon too: there every job is late, and the rank changes nothing)
    endgame = horizon_ns is not None and (horizon_ns - t_ns) / NS_PER_S <= ENDGAME_S

    def density(j: JobView) -> float:
        """The rank's density: value per GPU-second of board work; near the last pass
        (``endgame``) or the job's own deadline, per GPU-second of the work still to do."""
        near_due = t_ns is not None and 0 <= j.deadline_t_ns <= t_ns + ENDGAME_S * NS_PER_S
        return remaining_density(j) if endgame or near_due else value_density(j)

    # continuous in the power (whole boards at the minimum below every board at it: the
    # curve's chord): counted in whole boards, the capacity jumped by a board's throughput
    # where the power crossed a board's minimum, and on thermal-limited seed 3, with the
    # thermal budget's noise around 16 boards' minimum, the marginal density went 1 <-> 2
    # every few seconds and the running jobs swapped with it (3,413 preemptions in a day)
    total_rate = PROMISE_MARGIN * envelope_throughput(_capacity_level_w(level_w, ceiling_w, ctx), usable, model)
    due: dict[str, float] = {}
    promised: set[str] | None = None
    if t_ns is not None and total_rate > 0.0:
        runnable = [j for j in jobs if skip(j) is None and not late(j)]
        demand = [(density(j), j.remaining_gpu_s) for j in runnable]
        # only what can still come down counts: the boards' throughput until the contact
        # plan's last pass (a day at most), against the demand forecast for as long
        span_s = DEMAND_WINDOW_S if horizon_ns is None else min(DEMAND_WINDOW_S, max(0.0, (horizon_ns - t_ns) / NS_PER_S))
        demand += [(class_density(p, r), w * span_s / DEMAND_WINDOW_S) for p, r, w in ctx.accepted_day]
        least = marginal_density(demand, total_rate * span_s)
        # a running job keeps its candidacy while the capacity is within PROMISE_HOLD of
        # covering it: the capacity moves with the thermal budget's noise, and a marginal
        # density on the edge must not swap the running jobs every second
        held = least if least <= 0.0 or not any(j.boards and j.deadline_t_ns >= 0 for j in runnable) \
            else marginal_density(demand, (1.0 + PROMISE_HOLD) * total_rate * span_s)
        aos = [a for a, _ in passes]  # once per plan, not once per job
        timed = [j for j in runnable if j.deadline_t_ns >= 0 and density(j) >= (held if j.boards else least)]
        due = {j.job_id: effective_deadline_s(j, t_ns, passes, DOWNLINK_MARGIN_S, aos) for j in timed}
        promised = promise(timed, lambda j: due[j.job_id], density, total_rate,
                           board_rate=PROMISE_MARGIN * rate)

    def base_rank(j: JobView) -> float:
        if promised is not None and j.job_id in promised:
            return PROMISED
        return density(j) - (UNDELIVERABLE if late(j) else 0.0)

    def order(j: JobView) -> tuple:
        if promised is not None and j.job_id in promised:
            return (due[j.job_id], -density(j), j.order_no)
        return (j.deadline_t_ns if j.deadline_t_ns >= 0 else 2**63, j.order_no)

    plan = rank_fill(jobs, level_w, thermal_cap_w, model, skip, guard, base_rank, spread=True, order=order,
                     warm=() if ctx is None else ctx.powered, max_boards=most)
    if spread_w or ctx is None or not ctx.known:
        return plan
    filled = sum(len(bs) for bs in plan.assignments.values())
    keep_w = _bank_w(level_w, filled * model.min_power_w, ctx)
    if keep_w >= level_w:
        return plan
    return Plan(plan.assignments, board_caps(plan.assignments, keep_w, thermal_cap_w, model), plan.waiting)


def _capacity_level_w(level_w: float, ceiling_w: float, ctx: PlanContext | None) -> float:
    """The power [W] the boards can count on over the hours ahead, for the marginal
    density and the promise: the power manager's forecast budget averaged over the orbit
    (``ctx.orbit_budget_w``, at most the boards' ceiling), not the level of this minute,
    which is low in eclipse and high in the sunlit arc that carries it. Without a
    forecast, the level."""
    if ctx is None or not ctx.known or ctx.orbit_budget_w < 0.0:
        return level_w
    return min(ctx.orbit_budget_w, ceiling_w)


def _bank_w(level_w: float, filled_w: float, ctx: PlanContext) -> float:
    """The power [W] to draw when the jobs fill fewer boards than the level covers at the
    minimum power each (``filled_w``: those boards at the minimum) while energy is the
    limit: the rest is left to the battery (charged in sunlight, not drawn in eclipse)
    rather than pushed into the filled boards above their minimum. A watt above a busy
    board's minimum does ``a`` (~0.48) of the work of a watt at the minimum (the curve's
    slope at a cap c: a (c/max)^a / c), while a watt banked comes back at
    eta_c eta_d ~ 0.9 (the plan, remade every minute, spends it on a board at the minimum
    later, or the eclipse's budget does). Only what the battery can take is banked: not
    above ``max_charge_w``, nothing once it is full (that sunlight would be curtailed)."""
    if filled_w >= level_w:
        return level_w
    if ctx.in_eclipse:
        return filled_w
    if ctx.battery_charge_wh >= ctx.battery_capacity_wh * BANK_FULL:
        return level_w
    room_w = level_w - filled_w
    if ctx.max_charge_w > 0.0:
        charging_w = max(0.0, ctx.solar_w - ctx.platform_w - level_w)
        room_w = min(room_w, max(0.0, ctx.max_charge_w - charging_w))
    return level_w - room_w


def value_density(j: JobView) -> float:
    """Value per GPU-second of board work."""
    return class_density(j.priority, j.replicas)


def remaining_density(j: JobView) -> float:
    """Value per GPU-second of the board work still to do: a part-done job's value comes
    whole for its remainder (its work done so far is lost unless it finishes)."""
    if j.remaining_gpu_s <= 0.0 or j.work_gpu_s <= j.remaining_gpu_s:
        return value_density(j)
    return min(MAX_DENSITY, value_density(j) * j.work_gpu_s / j.remaining_gpu_s)


def class_density(priority: int, replicas: int) -> float:
    """Value per GPU-second of board work of a job of this priority run ``replicas`` times."""
    return PRIORITY_WEIGHT.get(priority, 2.0**priority) / max(1, replicas)
