"""The fault campaign's first part: the state machine draws fault plans, the whole stack
runs them in fast mode, and the invariants hold (a fast profile here; more examples
under ``pytest -m slow``)."""

from __future__ import annotations

import copy
from collections import Counter

import pytest
from hypothesis import HealthCheck, settings
from hypothesis.stateful import run_state_machine_as_test

from sim.campaign import FaultCampaign, check, plan_toml
from sim.harness import parse_fault_plan

GOOD_REPORT = {
    "jobs": {"lost": 0},
    "integrity": {"corrupt_results_delivered": 0, "corrupt_results_downlinked": 0, "undetected_protected": []},
    "violations": {"board_overtemp": 0, "soc_floor": 0, "brownout": 0, "battery_temp": 0},
    "dead_at_end": [],
    "restarts_by_process": {"executor": 1},
}


def test_the_campaign_knows_the_supervisors_restart_cap() -> None:
    from flightsw.apps.supervisor.tables import SupervisorTable
    from sim.campaign import SUPERVISOR_MAX_RESTARTS

    assert SUPERVISOR_MAX_RESTARTS == SupervisorTable().max_restarts


def test_a_clean_report_keeps_every_invariant() -> None:
    assert check(GOOD_REPORT, Counter({"executor": 1})) == []
    caught = copy.deepcopy(GOOD_REPORT)  # a corrupt result the ground's check refused is not delivered
    caught["integrity"]["corrupt_results_downlinked"] = 1
    assert check(caught, Counter({"executor": 1})) == []


@pytest.mark.parametrize(("path", "value", "needle"), [
    (("jobs", "lost"), 2, "jobs lost"),
    (("integrity", "corrupt_results_delivered"), 1, "corrupt_results_delivered"),
    (("integrity", "undetected_protected"), ["job-7"], "not detected"),
    (("violations", "soc_floor"), 3, "soc_floor"),
    (("dead_at_end",), ["power"], "dead at the end"),
    (("restarts_by_process", "executor"), 5, "restart loop"),
])
def test_each_broken_invariant_is_named(path, value, needle) -> None:
    report = copy.deepcopy(GOOD_REPORT)
    node = report
    for k in path[:-1]:
        node = node[k]
    node[path[-1]] = value
    broken = check(report, Counter({"executor": 1}))
    assert len(broken) == 1 and needle in broken[0], broken


def test_a_process_killed_past_the_restart_cap_may_stay_down_but_not_be_restarted_past_it() -> None:
    report = copy.deepcopy(GOOD_REPORT)
    report["restarts_by_process"] = {"power": 5}
    report["dead_at_end"] = ["power"]
    assert check(report, Counter({"power": 7}), max_restarts=5) == [], "the cap kept: power stays down"
    report["restarts_by_process"] = {"power": 7}
    report["dead_at_end"] = []
    (broken,) = check(report, Counter({"power": 7}), max_restarts=5)
    assert "cap 5" in broken, "restarted past its cap"
    report["restarts_by_process"], report["dead_at_end"] = {"power": 5}, ["power"]
    (broken,) = check(report, Counter({"power": 5}), max_restarts=5)
    assert broken.startswith("dead at the end"), "killed only up to the cap: it must be up again"


def test_the_plan_the_rules_write_is_a_valid_fault_plan() -> None:
    entries = [("kill", {"process": "executor", "tick": 60}), ("board", {"board": 3, "tick": 90, "fault": "hang"}),
               ("radiation", {"start_tick": 90, "end_tick": 400, "multiplier": 10.0}),
               ("sensor", {"sensor": "board_temp_c", "index": 2, "kind": "bias", "start_tick": 100,
                           "end_tick": 200, "value": -5.0})]
    plan = parse_fault_plan(plan_toml(entries), "test")
    assert plan.kills == {60: ["executor"]} and plan.boards[0]["fault"] == "hang"
    assert plan.radiation[0]["multiplier"] == 10.0 and plan.sensors[0]["value"] == -5.0


def test_the_campaign_runs_drawn_fault_plans_on_the_whole_stack_and_every_invariant_holds() -> None:
    ran: list[dict] = []

    class Recorded(FaultCampaign):
        def teardown(self) -> None:
            super().teardown()
            if self.report is not None:
                ran.append(self.report)

    run_state_machine_as_test(Recorded, settings=settings(
        max_examples=3, stateful_step_count=6, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))
    assert ran, "no example ran the stack: the test checked nothing"
    assert all(r["ticks"] > 60 for r in ran)


@pytest.mark.slow
def test_a_longer_campaign_keeps_every_invariant() -> None:
    """500 drawn plans of up to 20 rules (about 7 min on one core here)."""
    run_state_machine_as_test(FaultCampaign, settings=settings(
        max_examples=500, stateful_step_count=20, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))


def test_a_planted_bug_is_applied_once_to_a_copy_and_the_tree_is_untouched(tmp_path) -> None:
    from sim.planted import PLANTED, REPO, PlantedBug, planted_tree

    for bug in PLANTED:
        root = planted_tree(bug, tmp_path / bug.name)
        assert bug.new in (root / bug.path).read_text() and bug.old not in (root / bug.path).read_text()
        assert bug.old in (REPO / bug.path).read_text(), "the real tree was changed"
    stale = PlantedBug("stale", "groundsw/station.py", "no such text\n", "x", "the code moved on")
    with pytest.raises(ValueError, match="stale: expected its text once"):
        planted_tree(stale, tmp_path / "stale")

