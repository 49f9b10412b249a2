"""The executor does not trust what it cannot check: a power budget that stopped coming
stops compute (the power manager is dead, restarting or blind), and a policy's caps
outside the power and thermal budgets are replaced by a water-fill."""

from __future__ import annotations

from flightsw.apps.executor.core import ExecutorCore
from flightsw.icd.messages import BoardCommand, Event, JobState
from flightsw.sched import POLICIES
from flightsw.sched.types import Plan
from tests.flightsw.apps.builders import budget, job_spec, thermal_caps
from tests.flightsw.apps.executor.fakes import MODEL, N, Sim, of, table

LONG_GPU_S = 10_000.0


def started(policy=None, **overrides) -> Sim:
    core = ExecutorCore(model=MODEL, policy=policy or POLICIES["fifo"], table=table(**overrides))
    sim = Sim(core, budget_msg=budget(300.0), caps=thermal_caps((100.0,) * N))
    sim.run(3, submits=[job_spec(f"j{i}", work_gpu_s=LONG_GPU_S) for i in range(2)])
    sim.run(3)
    assert len(sim.core.running) == 2, "the set-up did not start the jobs"
    return sim


def test_a_budget_that_stops_coming_stops_compute_and_its_return_resumes_it():
    sim = started(budget_stale_ticks=5)
    sim.budget = None  # the power manager falls silent
    outs = []
    for _ in range(8):
        outs += sim.step()[1]
    assert not sim.core.running, "compute went on without a power budget"
    (ev,) = [e for e in of(outs, Event) if e.name == "executor.budget_stale"]
    assert "compute stopped" in ev.text
    reasons = {s.reason for s in of(outs, JobState) if s.state == "PREEMPTED"}
    assert reasons == {"no power budget from the power manager"}, reasons
    assert all(c == 0.0 for c in of(outs, BoardCommand)[-1].cap_w)
    sim.budget = budget(300.0)
    back = []
    for _ in range(40):
        back += sim.step()[1]
    assert [e.name for e in of(back, Event) if e.name.startswith("executor.budget")] == ["executor.budget_back"]
    assert len(sim.core.running) == 2, "compute did not resume when the budget came back"


def test_a_budget_a_few_ticks_late_changes_nothing():
    sim = started(budget_stale_ticks=5)
    sim.budget = None
    for _ in range(4):
        sim.step()
    assert len(sim.core.running) == 2


def greedy_caps(jobs, budget_w, caps, model, *, ctx=None) -> Plan:
    """A faulty policy: fifo's assignments, every busy board at its full power whatever
    the budget and the thermal caps."""
    plan = POLICIES["fifo"](jobs, budget_w, caps, model)
    busy = {b for bs in plan.assignments.values() for b in bs}
    return Plan(plan.assignments, tuple(model.max_power_w if b in busy else 0.0 for b in range(model.n_boards)))


def test_policy_caps_beyond_the_budget_or_thermal_caps_are_water_filled_with_an_event():
    sim = started(policy=greedy_caps)
    outs = []
    for _ in range(3):
        outs += sim.step(caps=thermal_caps((80.0,) * N))[1]
    cmd = of(outs, BoardCommand)[-1]
    assert sum(cmd.cap_w) <= 300.0 and max(cmd.cap_w) <= 80.0, cmd.cap_w
    assert any(e.name == "executor.bad_caps" for e in of(outs, Event))
    assert sim.core.statistics().bad_plans >= 1
