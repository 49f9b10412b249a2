"""The HIL harness (sim/harness.py): fault plans reach the world, the Recorder follows the
power manager's modes and the jobs' states, and the report's integrity section."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightsw.bus.hub import Wire
from flightsw.icd.codec import encode
from flightsw.icd.messages import Envelope, JobSpec, JobState, Message, PowerBudget
from sim.harness import (
    CONTACT_PLAN_MAX,
    FaultPlan,
    Recorder,
    RunConfig,
    build_specs,
    contact_plan,
    integrity_report,
    parse_fault_plan,
    run,
)
from sim.scenario import ScenarioError, load_scenario

HOURS = 0.05  # 180 ticks of 1 s: a few tenths of a second in fast mode
S = 1_000_000_000  # [ns]
PLAN = """
[[board]]
board = 2
tick = 40
fault = "fail"
[[board]]
board = 5
tick = 60
fault = "hang"
[[radiation]]
start_tick = 10
end_tick = 150
multiplier = 500.0
[[kill]]
process = "thermal"
tick = 30
"""


def _cfg(tmp: Path, name: str, faults: FaultPlan) -> RunConfig:
    return RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=HOURS,
                     mode="fast", faults=faults, out_dir=tmp / name, plots=False)


def _wire(body, src: str, tick: int, seq: int = 1) -> Wire:
    env = Envelope(body.KIND, body.VERSION, src, seq, tick, tick * 1_000_000_000, "")
    return Wire(src, seq, body.KIND, "", encode(Message(env, body)))


def _budget(mode: str) -> PowerBudget:
    return PowerBudget(mode=mode, compute_budget_w=0.0, solar_power_w=0.0, battery_avail_w=0.0,
                       battery_soc=0.5)


def _job(job_id: str, kind: str, params: dict | None = None) -> JobSpec:
    return JobSpec(job_id=job_id, kind=kind, priority=0, deadline_t_ns=-1, boards_needed=1,
                   work_gpu_s=1.0, checkpoint_interval_s=0.0, input_bytes=0, output_bytes=16,
                   release_t_ns=0, seed=1, params=params or {})


# ---------------------------------------------------------------------- runs


def test_the_same_seed_and_fault_plan_give_the_same_digest_in_fast_mode(tmp_path) -> None:
    plan = parse_fault_plan(PLAN)
    a = run(_cfg(tmp_path, "a", plan))
    b = run(_cfg(tmp_path, "b", plan))
    assert a["digest"] == b["digest"], "a seeded run with a fault plan did not replay"
    assert a["injected"] == b["injected"] and a["hardware_events"] == b["hardware_events"]
    assert a["injected"]["fail"] == 1, f"the planned failure did not strike: {a['injected']}"
    assert a["restarts_by_process"] == {"thermal": 1}, a["restarts"]
    plain = run(_cfg(tmp_path, "plain", FaultPlan()))
    assert plain["digest"] != a["digest"], "the fault plan changed nothing"


def test_a_board_fault_past_the_scenario_board_count_is_refused(tmp_path) -> None:
    n = load_scenario("default")["boards"]["count"]
    plan = parse_fault_plan(f'[[board]]\nboard = {n}\ntick = 5\nfault = "hang"\n')
    with pytest.raises(ScenarioError, match=rf"faults: board\[0\]\.board: expected an integer in "
                                            rf"0\.\.{n - 1} \(the scenario has {n} boards\), got {n}"):
        build_specs(_cfg(tmp_path, "x", plan), tmp_path, [])


def test_the_world_gets_the_board_faults_and_bursts(tmp_path) -> None:
    plan = parse_fault_plan(PLAN)
    (world,) = [s for s in build_specs(_cfg(tmp_path, "x", plan), tmp_path, []) if s.name == "world"]
    assert world.kwargs["board_faults"] == [{"board": 2, "tick": 40, "fault": "fail"},
                                            {"board": 5, "tick": 60, "fault": "hang"}]
    assert world.kwargs["radiation_bursts"] == [{"start_tick": 10, "end_tick": 150, "multiplier": 500.0}]


def test_the_executor_gets_the_contact_plan_the_throughput_exponent_and_the_predictive_policy(tmp_path) -> None:
    cfg = _cfg(tmp_path, "x", FaultPlan())
    specs = {s.name: s for s in build_specs(cfg, tmp_path, [])}
    ex = specs["executor"].kwargs
    assert cfg.policy == "predictive" and ex["policy"] == "predictive"
    assert ex["board_model"]["throughput_exponent"] == cfg.scenario["boards"]["throughput_exponent"]
    assert ex["contacts"] == contact_plan(specs["station"].kwargs["passes"])
    for a, b in zip(ex["contacts"], ex["contacts"][1:], strict=False):
        assert a[0] < a[1] < b[0], f"passes {a}, {b}: not in order or not merged"


def test_the_contact_plan_joins_overlapping_passes_of_several_stations() -> None:
    passes = [("b", 50 * S, 120 * S, 10.0), ("a", 0, 60 * S, 30.0), ("c", 120 * S, 130 * S, 5.0),
              ("a", 500 * S, 600 * S, 40.0), ("b", 510 * S, 550 * S, 12.0)]
    assert contact_plan(passes) == [[0, 130 * S], [500 * S, 600 * S]]


def test_the_contact_plan_keeps_the_first_passes_the_table_holds() -> None:
    passes = [("a", 2 * i * S, (2 * i + 1) * S, 10.0) for i in range(CONTACT_PLAN_MAX + 10)]
    plan = contact_plan(passes)
    assert len(plan) == CONTACT_PLAN_MAX and plan[-1] == [2 * (CONTACT_PLAN_MAX - 1) * S, (2 * CONTACT_PLAN_MAX - 1) * S]


# ---------------------------------------------------------------------- the recorder


def test_the_recorder_adds_up_the_time_in_each_mode_and_the_changes(tmp_path) -> None:
    rec = Recorder(tmp_path / "events.jsonl", 1.0)
    modes = {1: "NOMINAL", 2: "NOMINAL", 5: "SAFE", 6: "SAFE", 9: "NOMINAL", 10: "COMPUTE"}
    for tick, mode in modes.items():
        rec(tick, _wire(_budget(mode), "power", tick))
    rec.close()
    got = rec.modes(20)
    assert got["time_in_each_s"] == {"NOMINAL": 4.0 + 1.0, "SAFE": 4.0, "COMPUTE": 10.0}, got
    assert got["transitions"] == 3
    assert got["changes"] == [{"t_s": 5.0, "from": "NOMINAL", "to": "SAFE"},
                              {"t_s": 9.0, "from": "SAFE", "to": "NOMINAL"},
                              {"t_s": 10.0, "from": "NOMINAL", "to": "COMPUTE"}]


def test_the_recorder_keeps_only_the_first_changes_but_counts_them_all(tmp_path) -> None:
    rec = Recorder(tmp_path / "events.jsonl", 1.0)
    for tick in range(1, 302):
        rec(tick, _wire(_budget("SAFE" if tick % 2 else "NOMINAL"), "power", tick))
    rec.close()
    got = rec.modes(302)
    assert got["transitions"] == 300 and len(got["changes"]) == 200, got["transitions"]


def test_a_run_without_budgets_has_no_mode_time(tmp_path) -> None:
    rec = Recorder(tmp_path / "events.jsonl", 1.0)
    rec.close()
    assert rec.modes(100) == {"time_in_each_s": {}, "transitions": 0, "changes": []}


def test_the_recorder_keeps_every_state_a_job_reported(tmp_path) -> None:
    rec = Recorder(tmp_path / "events.jsonl", 1.0)
    for tick, state in enumerate(("ACCEPTED", "STARTED", "COMPLETED")):
        rec(tick, _wire(JobState("job-1", state, "", 0.0), "executor", tick, seq=tick + 1))
    rec.close()
    assert rec.job_states == {"job-1": {"ACCEPTED", "STARTED", "COMPLETED"}}


# ---------------------------------------------------------------------- integrity


def test_integrity_finds_protected_jobs_hit_and_finished_without_detection() -> None:
    jobs = [_job("m1", "matmul", {"n": 64}), _job("m2", "matmul", {"n": 64}),
            _job("d1", "synthetic", {"dual": True}), _job("s1", "synthetic"),
            _job("m3", "matmul", {"n": 64})]
    world = {"hardware_events": {"sdc": 9}, "sdc_hits_by_job": {"m1": 2, "m2": 1, "d1": 3, "s1": 3}}
    executor = {"sdc_detected": 1, "sdc_detected_jobs": ["m2"]}
    states = {"m1": {"STARTED", "COMPLETED"}, "m2": {"COMPLETED"}, "d1": {"STARTED"}}
    got = integrity_report(world, executor, {"results_corrupt": 1}, jobs, states)
    assert got == {
        "sdc_injected": 9,
        "sdc_injected_protected": 6,
        "sdc_detected": 1,
        "protected_jobs_hit": ["d1", "m1", "m2"],
        "undetected_protected": ["m1"],  # d1 never finished; m2 was detected
        "corrupt_results_downlinked": 1,
        "corrupt_results_delivered": None,  # no archive to judge
    }, got


def test_wrong_archived_results_are_found_by_the_truth(tmp_path) -> None:
    from flightsw.apps.executor.payloads import run_payload
    from flightsw.icd.results import sha256_digest
    from groundsw.archive import Archive
    from sim.harness import wrong_archived_results

    jobs = [_job("m1", "matmul", {"n": 8}), _job("s1", "synthetic"), _job("s2", "synthetic")]
    arch = Archive(tmp_path / "a.sqlite")
    try:
        for j in jobs:
            data = run_payload(j.kind, j.job_id, j.params, j.output_bytes, j.seed)
            if j.job_id == "s2":  # one flipped bit, archived as if good
                data = bytes([data[0] ^ 1]) + data[1:]
            arch.store_result(j.job_id, j.kind, data, sha256_digest(data), 0)
    finally:
        arch.close()
    assert wrong_archived_results(tmp_path / "a.sqlite", jobs) == ["s2"]
    assert wrong_archived_results(tmp_path / "none.sqlite", jobs) == []


def test_integrity_reads_an_executor_without_sdc_keys_as_zero() -> None:
    got = integrity_report({}, {"jobs_by_state": {}}, {}, [], {})
    assert got["sdc_detected"] == 0 and got["undetected_protected"] == [] and got["sdc_injected"] == 0


def test_built_in_fault_plans_load_by_name_and_an_unknown_name_is_named() -> None:
    from sim.harness import builtin_fault_plans, load_fault_plan
    from sim.scenario import ScenarioError

    assert "day-of-faults" in builtin_fault_plans()
    plan = load_fault_plan("day-of-faults")
    assert sorted(p for ps in plan.kills.values() for p in ps) == ["comms", "executor", "power",
                                                                  "supervisor", "thermal"]
    assert {b["fault"] for b in plan.boards} == {"hang", "fail", "sdc"} and plan.radiation
    with pytest.raises(ScenarioError, match="day-of-faults.*'nope'|'nope'"):
        load_fault_plan("nope")


def test_a_hit_whose_work_was_thrown_away_leaves_a_right_result_and_is_no_escape(tmp_path) -> None:
    from flightsw.apps.executor.payloads import run_payload
    from flightsw.icd.results import sha256_digest
    from groundsw.archive import Archive

    jobs = [_job("m1", "matmul", {"n": 8}), _job("m2", "matmul", {"n": 8})]
    arch = Archive(tmp_path / "a.sqlite")
    try:
        for j in jobs:
            data = run_payload(j.kind, j.job_id, j.params, j.output_bytes, j.seed)
            if j.job_id == "m2":  # corrupt, yet its matmul checksums are gone too: wrong by truth
                data = data[:-8] + bytes(8)
            arch.store_result(j.job_id, j.kind, data, sha256_digest(data), 0)
    finally:
        arch.close()
    world = {"hardware_events": {"sdc": 2}, "sdc_hits_by_job": {"m1": 1, "m2": 1}}
    states = {"m1": {"COMPLETED"}, "m2": {"COMPLETED"}}
    got = integrity_report(world, {}, {}, jobs, states, tmp_path / "a.sqlite", tmp_path / "missing.sqlite")
    assert got["undetected_protected"] == ["m2"], got
    assert got["corrupt_results_delivered"] == 1
