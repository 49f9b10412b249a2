"""When the executor calls its policy again: not for budget noise inside the filter's band,
nor for thermal caps moving by less than a watt, nor for a budget rise a saturated plan
cannot use; at once for a real drop, a cap falling below what a board is commanded, or a
budget of zero."""

from __future__ import annotations

from flightsw.apps.executor.core import ExecutorCore
from flightsw.icd.messages import BoardCommand
from flightsw.sched import POLICIES
from tests.flightsw.apps.builders import budget, job_spec, thermal_caps
from tests.flightsw.apps.executor.fakes import MODEL, N, Sim, of, table

LONG_GPU_S = 10_000.0  # [GPU-s] jobs that outlast every test here
BUDGET_W = 300.0  # [W] covers the four boards below their 100 W ceiling: the budget binds
NOISE_W = 25.0  # [W] beyond the planning margin, inside the band (a tenth of the budget, 30 W)


class Counting:
    """The fifo policy, counting its calls."""

    def __init__(self) -> None:
        self.calls = 0

    def __call__(self, *args, **kw):
        self.calls += 1
        return POLICIES["fifo"](*args, **kw)


def running_sim(budget_w: float = BUDGET_W, caps_w: float = 100.0, **table_overrides) -> tuple[Sim, Counting]:
    """Four one-board jobs running, settled; the policy's calls counted from here."""
    policy = Counting()
    overrides = dict(replan_every_ticks=10_000, **table_overrides)
    core = ExecutorCore(model=MODEL, policy=policy, table=table(**overrides))
    sim = Sim(core, budget_msg=budget(budget_w), caps=thermal_caps((caps_w,) * N))
    sim.run(3, submits=[job_spec(f"j{i}", work_gpu_s=LONG_GPU_S) for i in range(N)])
    sim.run(3)
    assert len(sim.core.running) == N, "the set-up did not start every job"
    policy.calls = 0
    return sim, policy


def commanded_w(outs) -> float:
    (cmd,) = of(outs, BoardCommand)[-1:]
    return sum(cmd.cap_w)


def test_budget_noise_inside_the_band_does_not_call_the_policy():
    sim, policy = running_sim()
    for k in range(40):
        sim.step(budget=budget(BUDGET_W + (NOISE_W if k % 2 else -NOISE_W)))
    assert policy.calls == 0, f"{policy.calls} plans for budget noise of +-{NOISE_W} W"


def test_without_the_filter_the_same_noise_plans_again_and_again():
    sim, policy = running_sim(budget_band_w=0.0)
    for k in range(40):
        sim.step(budget=budget(BUDGET_W + (NOISE_W if k % 2 else -NOISE_W)))
    assert policy.calls >= 10, f"only {policy.calls} plans: the noise should re-plan without the filter"


def test_a_drop_beyond_the_band_is_followed_at_once():
    sim, policy = running_sim()
    _, outs = sim.step(budget=budget(200.0))
    assert policy.calls == 1 and commanded_w(outs) <= 200.0, "a 100 W drop was not followed in its tick"


def test_a_small_lasting_drop_is_followed_within_the_filter_time():
    sim, _ = running_sim()
    low_w = BUDGET_W - 25.0  # inside the band
    sent = []
    for _ in range(sim.core.table.budget_filter_ticks):
        _, outs = sim.step(budget=budget(low_w))
        sent += of(outs, BoardCommand)
    assert sent and sum(sent[-1].cap_w) <= low_w, f"still commanding {sum(sent[-1].cap_w) if sent else None} W"


def test_a_zero_budget_stops_every_board_at_once():
    sim, _ = running_sim()
    _, outs = sim.step(budget=budget(0.0))
    assert commanded_w(outs) == 0.0 and not sim.core.running


def test_caps_creeping_up_by_less_than_a_watt_do_not_call_the_policy():
    sim, policy = running_sim(budget_w=1000.0, caps_w=90.0)
    sim.run(5, caps=thermal_caps((90.6,) * N))
    assert policy.calls == 0, "a cap rise of 0.6 W re-planned"


def test_a_cap_falling_below_what_a_board_is_commanded_calls_the_policy_at_once():
    sim, policy = running_sim(budget_w=1000.0, caps_w=90.0)
    _, outs = sim.step(caps=thermal_caps((89.5,) + (90.0,) * (N - 1)))
    assert policy.calls == 1, "board 0 is commanded above its new cap and no plan followed"
    assert of(outs, BoardCommand)[-1].cap_w[0] <= 89.5


def test_a_budget_rise_a_saturated_plan_cannot_use_does_not_call_the_policy():
    sim, policy = running_sim(budget_w=1000.0)  # every board busy at its 100 W ceiling
    sim.run(5, budget=budget(1500.0))
    assert policy.calls == 0, "more budget re-planned a plan that already ran every board at its ceiling"


def test_a_budget_rise_a_plan_can_use_calls_the_policy():
    sim, policy = running_sim()
    sim.run(sim.core.table.budget_filter_ticks, budget=budget(BUDGET_W + 60.0))
    assert policy.calls >= 1, "a lasting 60 W rise under a binding budget was never planned for"
