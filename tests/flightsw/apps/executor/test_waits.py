"""Why queued jobs wait (executor core, flightsw/apps/executor/core.py): the policy's own
reasons when it gives known ones, the executor's inference otherwise, the JobWaits message
that carries them to the ground (when they change and every status period, bounded), and
the PlanContext each plan hands the policy."""

from __future__ import annotations

import dataclasses

import pytest

from flightsw.apps.executor.contacts import ContactTable
from flightsw.apps.executor.core import ExecutorCore
from flightsw.icd.codec import DecodeError, decode, encode
from flightsw.icd.messages import (
    MAX_JOB_WAITS,
    WAIT_REASON_NAMES,
    Envelope,
    JobWaits,
    Message,
    Mode,
    PowerBudget,
)
from flightsw.sched import POLICIES, WAIT_REASONS, BoardModel, JobView, Plan, PlanContext
from flightsw.sched.power_split import board_caps
from tests.flightsw.apps.builders import S, budget, job_spec, thermal_caps
from tests.flightsw.apps.executor.fakes import MODEL, N, Sim, of, table

LONG_GPU_S = 10_000.0  # [GPU-s] work no test finishes


def core_with(policy, **table_overrides) -> ExecutorCore:
    return ExecutorCore(model=MODEL, policy=policy, table=table(**table_overrides))


def jobs(n: int, **overrides) -> list:
    return [job_spec(f"j{i}", work_gpu_s=LONG_GPU_S, **overrides) for i in range(n)]


def silent(views, budget_w, caps, model, *, ctx=None) -> Plan:
    """FIFO's decisions without its reasons: the executor must infer them all."""
    plan = POLICIES["fifo"](views, budget_w, caps, model, ctx=ctx)
    return Plan(plan.assignments, plan.cap_w)


def last_waits(outs) -> JobWaits:
    sent = of(outs, JobWaits)
    assert sent, "no JobWaits sent"
    return sent[-1]


# ------------------------------------------------------------------ the policy's reasons


def test_the_policys_known_reasons_are_kept_in_its_order_and_an_unknown_one_is_inferred() -> None:
    def explaining(views, budget_w, caps, model, *, ctx=None) -> Plan:
        run = {views[0].job_id: (0,)} if views else {}
        return Plan(run, board_caps(run, budget_w, caps, model), {"j3": "order", "j1": "deadline", "j2": "bogus"})

    sim = Sim(core_with(explaining))
    _, outs = sim.step(submits=jobs(4))
    assert list(sim.core.waits.items()) == [("j3", "order"), ("j1", "deadline"), ("j2", "energy")], (
        "the policy's reasons first in its order, then the inferred one ('bogus' is no reason)")
    w = last_waits(outs)
    assert (w.job_ids, w.reasons, w.jobs_queued) == (("j3", "j1", "j2"), ("order", "deadline", "energy"), 3)


def test_a_policy_saying_thermal_for_boards_out_of_service_is_told_boards() -> None:
    def blames_heat(views, budget_w, caps, model, *, ctx=None) -> Plan:
        plan = silent(views, budget_w, caps, model)
        return Plan(plan.assignments, plan.cap_w, {v.job_id: "thermal" for v in views if v.job_id not in plan.assignments})

    sim = Sim(core_with(blames_heat))
    sim.core.set_board_service(3, False, 0)  # cool, but out of service: the policy sees a zero cap
    sim.run(2, submits=jobs(N))
    assert sim.core.waits == {"j3": "boards"}


def test_a_real_policys_reasons_are_all_known_names() -> None:
    sim = Sim(core_with(POLICIES["fifo"]), budget_msg=budget(50.0))
    sim.run(2, submits=jobs(N))
    assert sim.core.waits and set(sim.core.waits.values()) <= set(WAIT_REASONS), sim.core.waits


# ------------------------------------------------------------------- inferred reasons


def test_jobs_the_budget_cannot_cover_wait_for_energy() -> None:
    sim = Sim(core_with(silent), budget_msg=budget(50.0))  # 40 W to plan with: two boards at 20 W
    sim.run(2, submits=jobs(N))
    assert len(sim.core.running) == 2 and sim.core.waits == {"j2": "energy", "j3": "energy"}


def test_jobs_with_every_board_taken_wait_for_boards() -> None:
    sim = Sim(core_with(silent))
    sim.run(2, submits=jobs(N + 2))
    assert sim.core.waits == {"j4": "boards", "j5": "boards"}


def test_jobs_whose_free_boards_are_too_hot_wait_for_heat() -> None:
    sim = Sim(core_with(silent), caps=thermal_caps((100.0, 100.0, 10.0, 0.0)))  # below the 20 W minimum
    sim.run(2, submits=jobs(N))
    assert sim.core.waits == {"j2": "thermal", "j3": "thermal"}


def test_a_two_board_job_short_of_a_board_that_is_out_of_service_waits_for_boards() -> None:
    sim = Sim(core_with(silent))
    sim.core.set_board_service(3, False, 0)
    sim.run(2, submits=[*jobs(2), job_spec("pair", boards_needed=2, work_gpu_s=LONG_GPU_S)])
    assert sim.core.waits == {"pair": "boards"}


def test_jobs_below_the_load_shed_priority_wait_for_priority() -> None:
    shed = PowerBudget(mode=Mode.LOW_POWER.value, compute_budget_w=400.0, solar_power_w=400.0, battery_avail_w=0.0,
                       battery_soc=0.5, min_priority=5)
    sim = Sim(core_with(silent), budget_msg=shed)
    sim.run(2, submits=[job_spec("low", priority=1, work_gpu_s=LONG_GPU_S),
                        job_spec("high", priority=7, work_gpu_s=LONG_GPU_S)])
    assert set(sim.core.running) == {"high"} and sim.core.waits == {"low": "priority"}


def test_in_safe_mode_every_queued_job_waits_for_safe() -> None:
    sim = Sim(core_with(silent))
    sim.run(2, submits=jobs(2))
    sim.run(2, budget=budget(400.0, Mode.SAFE.value))
    assert not sim.core.running and sim.core.waits == {"j0": "safe", "j1": "safe"}


def test_a_stale_budget_makes_jobs_wait_for_safe() -> None:
    sim = Sim(core_with(silent, budget_stale_ticks=3))
    sim.run(2, submits=jobs(2))
    sim.budget = None
    sim.run(5)
    assert sim.core.waits == {"j0": "safe", "j1": "safe"}


def test_before_the_first_budget_jobs_wait_for_safe_and_before_the_first_caps_for_heat() -> None:
    sim = Sim(core_with(silent))
    sim.budget, sim.caps = None, None
    sim.step(submits=jobs(1))
    assert sim.core.waits == {"j0": "safe"}
    sim.budget = budget(400.0)
    sim.step()
    assert sim.core.waits == {"j0": "thermal"}
    sim.caps = thermal_caps((100.0,) * N)
    sim.step()
    assert sim.core.waits == {} and "j0" in sim.core.running


def test_a_job_that_starts_no_longer_waits_and_a_preempted_one_does() -> None:
    sim = Sim(core_with(silent), budget_msg=budget(50.0))
    sim.run(2, submits=jobs(3))
    assert sim.core.waits == {"j2": "energy"}
    sim.run(2, budget=budget(400.0))  # the rise starts the third
    assert sim.core.waits == {}
    sim.run(2, budget=budget(30.0))  # 20 W to plan with: one board
    assert sim.core.waits == {"j1": "energy", "j2": "energy"}


# --------------------------------------------------------------------------- JobWaits


def test_job_waits_are_sent_when_they_change_and_every_status_period_only() -> None:
    sim = Sim(core_with(silent, status_every_ticks=10, replan_every_ticks=3), budget_msg=budget(50.0))
    _, outs = sim.step(submits=jobs(3))
    assert last_waits(outs).job_ids == ("j2",), "the first reasons were not sent at once"
    sim.log.clear()
    sim.run(25)  # re-plans every 3 ticks with the same outcome
    sent_at = [tick for tick, _, outs in sim.log if of(outs, JobWaits)]
    assert sent_at == [10, 20], f"JobWaits at ticks {sent_at}: only the status ticks expected"
    _, outs = sim.step(submits=[job_spec("late", work_gpu_s=LONG_GPU_S)])
    assert last_waits(outs).job_ids == ("j2", "late"), "a new waiting job was not sent in its tick"


def test_job_waits_hold_at_most_the_first_256_jobs_and_count_them_all() -> None:
    n = MAX_JOB_WAITS + 40
    sim = Sim(core_with(silent))
    _, outs = sim.step(submits=jobs(n))
    w = last_waits(outs)
    assert len(w.job_ids) == len(w.reason_codes) == MAX_JOB_WAITS and w.jobs_queued == n - N
    assert w.job_ids == tuple(f"j{i}" for i in range(N, N + MAX_JOB_WAITS)), "not the first in acceptance order"


def test_the_icd_names_the_same_reasons_as_the_scheduler() -> None:
    assert WAIT_REASON_NAMES == WAIT_REASONS, (
        "flightsw.icd.messages.WAIT_REASON_NAMES must equal flightsw.sched.types.WAIT_REASONS, in order "
        "(the codes on the wire index it)")


def _wire(body: JobWaits) -> bytes:
    return encode(Message(Envelope(body.KIND, body.VERSION, "executor", 1, 2, 3), body))


def test_job_waits_survive_encode_and_decode() -> None:
    body = JobWaits.of([("a", "energy"), ("b", "safe"), ("c", "downlink")], jobs_queued=9)
    got = decode(_wire(body)).body
    assert got == body and got.reasons == ("energy", "safe", "downlink") and got.jobs_queued == 9


@pytest.mark.parametrize("body, field", [
    (JobWaits(("a",), (len(WAIT_REASON_NAMES),)), "JobWaits.reason_codes"),
    (JobWaits(("a",), (-1,)), "JobWaits.reason_codes"),
    (JobWaits(tuple(f"j{i}" for i in range(MAX_JOB_WAITS + 1)), (0,) * (MAX_JOB_WAITS + 1)), "JobWaits.job_ids"),
    (JobWaits(("x" * 65,), (0,)), "JobWaits.job_ids"),
])
def test_decode_refuses_job_waits_out_of_bounds_naming_the_field(body, field) -> None:
    with pytest.raises(DecodeError, match=field):
        decode(_wire(body))


def test_job_waits_of_refuses_an_unknown_reason_naming_the_job() -> None:
    with pytest.raises(ValueError, match=r"reason of 'b'.*got 'bored'"):
        JobWaits.of([("a", "energy"), ("b", "bored")])


def test_job_waits_of_keeps_the_first_256_and_counts_all() -> None:
    w = JobWaits.of((f"j{i}", "boards") for i in range(MAX_JOB_WAITS + 5))
    assert len(w.job_ids) == MAX_JOB_WAITS and w.job_ids[-1] == f"j{MAX_JOB_WAITS - 1}"
    assert w.jobs_queued == MAX_JOB_WAITS + 5


# ------------------------------------------------------------------------ PlanContext


class Recording:
    """fifo, keeping the context of each call."""

    def __init__(self) -> None:
        self.contexts: list[PlanContext | None] = []

    def __call__(self, views: list[JobView], budget_w, caps, model: BoardModel, *, ctx=None) -> Plan:
        self.contexts.append(ctx)
        return POLICIES["fifo"](views, budget_w, caps, model, ctx=ctx)


def test_each_plan_gets_the_power_managers_picture_the_passes_ahead_and_the_checkpoint_cost() -> None:
    policy = Recording()
    core = core_with(policy, checkpoint_cost_s=3.0)
    core.contacts = ContactTable([[0, 5 * S], [10 * S, 20 * S], [100 * S, 200 * S]])
    eclipse = PowerBudget(mode="NOMINAL", compute_budget_w=300.0, solar_power_w=0.0, battery_avail_w=300.0,
                          battery_soc=0.5, next_eclipse_in_s=0.0, next_eclipse_s=1200.0, battery_charge_wh=500.0,
                          battery_capacity_wh=1000.0, hold_wh=200.0, platform_w=50.0, solar_mean_w=900.0,
                          charge_efficiency=0.95, discharge_efficiency=0.9, max_charge_w=400.0,
                          forecast_step_s=60.0, forecast_budget_w=(300.0, 300.0, 900.0, 1300.0))
    caps = dataclasses.replace(thermal_caps((100.0,) * N), radiator_capacity_w=2500.0)
    sim = Sim(core, tick=12, budget_msg=eclipse, caps=caps)
    sim.step(submits=jobs(1))
    ctx = policy.contexts[-1]
    assert ctx == PlanContext(
        t_ns=12 * S, in_eclipse=True, next_eclipse_in_s=0.0, next_eclipse_s=1200.0, battery_charge_wh=500.0,
        battery_capacity_wh=1000.0, hold_wh=200.0, platform_w=50.0, solar_w=0.0, solar_mean_w=900.0,
        charge_efficiency=0.95, discharge_efficiency=0.9, max_charge_w=400.0,
        passes=((10 * S, 20 * S), (100 * S, 200 * S)), checkpoint_cost_s=3.0, thermal_budget_w=2500.0, known=True,
        accepted_day=((0, 1, 10_000.0),), orbit_budget_w=700.0)  # the forecast's mean
    # a budget between forecasts (step 0, none carried) keeps the last forecast's mean
    sim.budget = dataclasses.replace(eclipse, compute_budget_w=350.0, forecast_step_s=0.0, forecast_budget_w=())
    sim.step(submits=[job_spec("k1", work_gpu_s=LONG_GPU_S)])
    assert policy.contexts[-1].orbit_budget_w == 700.0


def test_in_safe_mode_the_orbit_yields_nothing_and_before_a_forecast_it_is_not_known() -> None:
    policy = Recording()
    forecast = dict(forecast_step_s=60.0, forecast_budget_w=(500.0, 700.0))
    sim = Sim(core_with(policy), budget_msg=dataclasses.replace(budget(400.0), mode="SAFE", **forecast))
    sim.step(submits=jobs(1))
    assert policy.contexts[-1].orbit_budget_w == 0.0, "SAFE: no compute, whatever the forecast"
    fresh = Recording()
    sim = Sim(core_with(fresh), budget_msg=budget(400.0))  # a (restarted) executor before any forecast
    sim.step(submits=jobs(1))
    assert fresh.contexts[-1].orbit_budget_w == -1.0
    sim.budget = dataclasses.replace(budget(400.0), **forecast)
    sim.step(submits=[job_spec("k1", work_gpu_s=LONG_GPU_S)])
    assert fresh.contexts[-1].orbit_budget_w == 600.0


def test_a_budget_without_the_energy_picture_is_marked_unknown_and_not_in_eclipse() -> None:
    policy = Recording()
    sim = Sim(core_with(policy))  # budget(): no capacity, no eclipse forecast (-1)
    sim.step(submits=jobs(1))
    ctx = policy.contexts[-1]
    assert (ctx.known, ctx.in_eclipse, ctx.passes, ctx.next_eclipse_in_s) == (False, False, (), -1.0)


def test_an_eclipse_ahead_is_not_an_eclipse_now() -> None:
    policy = Recording()
    ahead = PowerBudget(mode="NOMINAL", compute_budget_w=300.0, solar_power_w=300.0, battery_avail_w=0.0,
                        battery_soc=0.5, next_eclipse_in_s=600.0, next_eclipse_s=1200.0, battery_capacity_wh=1000.0)
    sim = Sim(core_with(policy), budget_msg=ahead)
    sim.step(submits=jobs(1))
    assert policy.contexts[-1].in_eclipse is False and policy.contexts[-1].known is True
