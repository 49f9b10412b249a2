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
    "restarts": [{"tick": 100, "process": "executor", "reason": "dead"}],
}


def test_the_campaign_knows_the_flight_softwares_numbers() -> None:
    """sim may not import the apps (the layering): the numbers it keeps must agree."""
    from flightsw.apps.power.table import PowerTable
    from flightsw.apps.supervisor.tables import SupervisorTable
    from flightsw.icd.messages import Opcode
    from sim import campaign

    assert campaign.SUPERVISOR_MAX_RESTARTS == SupervisorTable().max_restarts
    assert campaign.SUPERVISOR_WATCHED == SupervisorTable().watched
    assert campaign.RESERVE_MARGIN_SOC == PowerTable.__dataclass_fields__["reserve_margin_soc"].default
    assert campaign.EXEC_CANCEL_JOB == int(Opcode.EXEC_CANCEL_JOB)
    assert (campaign.NOOP, campaign.RESET_COUNTERS, campaign.POWER_SET_MODE_LIMIT, campaign.EXEC_BOARD_SERVICE) == (
        Opcode.NOOP, Opcode.RESET_COUNTERS, Opcode.POWER_SET_MODE_LIMIT, Opcode.EXEC_BOARD_SERVICE)
    assert campaign.UNKNOWN_OPCODE not in set(Opcode)
    from flightsw.icd.messages import Mode
    assert set(campaign.MODES) == {m.value for m in Mode}
    t = SupervisorTable()
    # a hang is found after ping_fatal_ticks of silence, counted from a ping (every period)
    assert campaign.HANG_DEADLINE_TICKS >= t.ping_fatal_ticks + t.ping_period_ticks + t.restart_delay_ticks


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



# ------------------------------------------------------------------ hangs and the reserve
def _report(**kw) -> dict:
    r = copy.deepcopy(GOOD_REPORT)
    r.update(kw)
    return r


def test_a_long_hang_must_end_in_a_restart_within_the_deadline() -> None:
    from sim.campaign import HANG_DEADLINE_TICKS

    hang = [("stall", {"process": "power", "tick": 500, "ticks": 400})]
    never = _report(restarts=[], restarts_by_process={})
    (broken,) = check(never, Counter({"power": 1}), entries=hang)
    assert "power hung at tick 500" in broken
    late = _report(restarts=[{"tick": 500 + HANG_DEADLINE_TICKS + 1, "process": "power", "reason": "hung"}],
                   restarts_by_process={"power": 1})
    assert check(late, Counter({"power": 1}), entries=hang), "a restart after the deadline passed"
    found = _report(restarts=[{"tick": 540, "process": "power", "reason": "hung"}], restarts_by_process={"power": 1})
    assert check(found, Counter({"power": 1}), entries=hang) == []
    short = [("stall", {"process": "power", "tick": 500, "ticks": 20})]
    assert check(never, Counter(), entries=short) == [], "a short hang may pass unnoticed"
    unwatched = hang + [("kill", {"process": "supervisor", "tick": 480})]
    assert check(never, Counter({"power": 1, "supervisor": 1}), entries=unwatched) == [], \
        "with the supervisor down nobody watches"


def test_an_eclipse_entered_below_the_promised_reserve_is_named() -> None:
    from sim.campaign import SCENARIO
    from sim.scenario import load_scenario

    sc = load_scenario(SCENARIO)
    eclipse = {"start_tick": 1861, "end_tick": 2000, "soc_min": 0.42}
    low = _report(ticks=2000, eclipses=[{**eclipse, "soc_start": 0.43}])
    (broken,) = check(low, Counter({"executor": 1}), entries=[], scenario=sc)
    assert "entered at SOC 0.430, below its reserve level 0.45" in broken, broken
    ok = _report(ticks=2000, eclipses=[{**eclipse, "soc_start": 0.55}])
    assert check(ok, Counter({"executor": 1}), entries=[], scenario=sc) == []
    misled = [("sensor", {"sensor": "battery_soc", "index": 0, "kind": "bias", "start_tick": 200,
                          "end_tick": 300, "value": 5.0})]
    assert check(low, Counter({"executor": 1}), entries=misled, scenario=sc) == [], \
        "a power sensor faulted in the orbit before excuses it"


def test_below_the_floor_or_browned_out_only_when_damage_left_no_choice_and_then_in_safe() -> None:
    span = {"start_tick": 900, "end_tick": 950, "soc_min": 0.27}
    safe_from_880 = {"time_in_each_s": {"NOMINAL": 880.0, "SAFE": 120.0},
                     "changes": [{"t_s": 880.0, "from": "NOMINAL", "to": "SAFE"}]}
    below = _report(violations={**GOOD_REPORT["violations"], "soc_floor": 50}, below_floor=[span],
                    brownouts=[], modes=safe_from_880)
    (broken,) = check(below, Counter({"executor": 1}))
    assert "SOC below the floor at ticks 900..949 (min 0.270)" in broken and broken.tick == 900
    damaged = [("damage", {"tick": 600, "part": "panels", "fraction": 0.5})]
    assert check(below, Counter({"executor": 1}), entries=damaged) == []
    late = copy.deepcopy(below)
    late["modes"]["changes"] = [{"t_s": 905.0, "from": "NOMINAL", "to": "SAFE"}]
    (broken,) = check(late, Counter({"executor": 1}), entries=damaged)
    assert "not in SAFE throughout from a tick later (NOMINAL, SAFE)" in broken
    left = copy.deepcopy(below)  # SAFE, then out of it while still under the floor
    left["modes"]["changes"].append({"t_s": 930.0, "from": "SAFE", "to": "LOW_POWER"})
    assert check(left, Counter({"executor": 1}), entries=damaged)
    after = [("damage", {"tick": 920, "part": "battery", "fraction": 0.5})]
    assert check(below, Counter({"executor": 1}), entries=after), "damage after the fall excuses nothing"
    brown = _report(violations={**GOOD_REPORT["violations"], "brownout": 3}, below_floor=[],
                    brownouts=[{"start_tick": 1200, "end_tick": 1203}], modes=safe_from_880)
    (broken,) = check(brown, Counter({"executor": 1}))
    assert "brownout at ticks 1200..1202" in broken
    assert check(brown, Counter({"executor": 1}), entries=damaged) == [], "physics: the battery is empty, SAFE"
    unknown = copy.deepcopy(below)  # the record kept its first 200 changes only: the mode is unknown
    unknown["modes"]["changes"] = [{"t_s": float(k), "from": "NOMINAL", "to": "SAFE"} for k in range(200)]
    (broken,) = check(unknown, Counter({"executor": 1}), entries=damaged)
    assert "(unknown)" in broken


def test_each_broken_invariant_names_the_step_after_which_it_first_broke() -> None:
    """The invariants hold after every step: the run's record dates each breach, and the
    campaign names the first step whose present reached it."""
    from sim.campaign import FIRST_FAULT_TICK, HANG_DEADLINE_TICKS, Broken

    m = FaultCampaign()
    m.kill("power", 0)  # step 1 at the first fault tick
    m.advance(500)  # step 2: the present moves to FIRST_FAULT_TICK + 500
    m.damage("battery", 0.5, 10)  # step 3
    m.advance(1000)  # step 4
    m.broken = [Broken("SOC below the floor", FIRST_FAULT_TICK + 700), Broken("jobs lost: 2"),
                Broken("late", FIRST_FAULT_TICK + 5000)]
    early, lost, late = m.broken_at()
    assert (early["step"], early["rule"], early["tick"]) == (3, "advance", FIRST_FAULT_TICK + 700)
    assert lost["step"] is None and lost["tick"] is None, "only the end of the run tells"
    assert late["step"] is None, "in the tail after the last step"
    assert m.steps == [("kill", FIRST_FAULT_TICK), ("advance", FIRST_FAULT_TICK + 500),
                       ("damage", FIRST_FAULT_TICK + 500), ("advance", FIRST_FAULT_TICK + 1500)]
    hang = [("stall", {"process": "power", "tick": 500, "ticks": 400})]
    (b,) = check(_report(restarts=[], restarts_by_process={}), Counter({"power": 1}), entries=hang)
    assert b.tick == 500 + HANG_DEADLINE_TICKS


def test_operator_commands_good_ones_carried_out_bad_ones_refused_for_a_named_reason(tmp_path) -> None:
    from sim.campaign import SCENARIO, good_command
    from sim.harness import RunConfig, run
    from sim.scenario import load_scenario

    assert good_command("power", 16, {"mode": "SAFE"}) and not good_command("power", 16, {"mode": "TURBO"})
    assert good_command("executor", 49, {"board": 15, "in_service": True})
    assert not good_command("executor", 49, {"board": 16, "in_service": True}) and not good_command("thermal", 200, {})
    entries = [("command", {"tick": 200, "target": "power", "opcode": 16, "args": {"mode": "NOMINAL"}}),
               ("command", {"tick": 201, "target": "power", "opcode": 16, "args": {"mode": "TURBO"}}),
               ("command", {"tick": 202, "target": "executor", "opcode": 49, "args": {"board": 99, "in_service": False}}),
               ("command", {"tick": 203, "target": "thermal", "opcode": 200}),
               ("command", {"tick": 204, "target": "executor", "opcode": 48}),
               ("command", {"tick": 205, "target": "supervisor", "opcode": 1}),
               ("command", {"tick": 206, "target": "executor", "opcode": 49, "args": {"board": 3, "in_service": False}})]
    sc = load_scenario(SCENARIO)
    report = run(RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=1100 / 3600, seed=2, mode="fast",
                           faults=parse_fault_plan(plan_toml(entries), "commands"), out_dir=tmp_path / "run",
                           plots=False))
    answered = [c for c in report["commands"] if c["stage"] in ("COMPLETED", "FAILED")]
    assert len(answered) == 7, report["commands"]
    assert [c["status"] for c in answered] == ["OK", "VALIDATION_ERROR", "VALIDATION_ERROR", "INVALID_OPCODE",
                                               "VALIDATION_ERROR", "OK", "OK"]
    assert check(report, Counter(), entries=entries, scenario=sc) == []
    cancel = copy.deepcopy(report)  # the ground's own cancel (a [[ground]] action) is not an operator command here
    cancel["commands"].append({"target": "executor", "opcode": 48, "args": {"job_id": "job-00003"}, "stage": "COMPLETED",
                               "status": "OK", "detail": "job job-00003 cancelled (was STARTED)"})
    assert check(cancel, Counter(), entries=entries, scenario=sc) == []
    wrong = copy.deepcopy(report)  # an app that carried out a bad command, or refused a good one
    wrong["commands"][1].update(stage="COMPLETED", status="OK", detail="mode limit TURBO")
    wrong["commands"][0].update(stage="FAILED", status="EXECUTION_ERROR", detail="busy")
    broken = check(wrong, Counter(), entries=entries, scenario=sc)
    assert len(broken) == 2 and "a good command refused" in broken[0] and "not refused" in broken[1], broken


def test_battery_and_panel_damage_on_the_whole_stack(tmp_path) -> None:
    """Half the battery's strings and half the array's lost before the eclipse: the world
    keeps the state of charge and cuts the sun; the power manager reads the new capacity
    and learns the lesser sun, and every invariant holds."""
    from sim.campaign import SCENARIO, check_stores
    from sim.harness import RunConfig, parse_fault_plan, run
    from sim.scenario import load_scenario

    entries = [("damage", {"tick": 500, "part": "battery", "fraction": 0.5}),
               ("damage", {"tick": 600, "part": "panels", "fraction": 0.5})]
    sc = load_scenario(SCENARIO)
    plan = parse_fault_plan(plan_toml(entries), "damage")
    cfg = RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=2100 / 3600, seed=3, mode="fast", faults=plan,
                    out_dir=tmp_path / "run", plots=False)
    report = run(cfg)
    battery, panels = report["damage"]
    assert battery["left"] == pytest.approx(0.5 * float(sc["power"]["battery_capacity_wh"]), rel=1e-3)
    assert panels["left"] == pytest.approx(0.5)
    (eclipse,) = report["eclipses"]
    assert eclipse["soc_start"] > float(sc["power"]["battery_soc_floor"]) + 0.1
    assert check(report, Counter(), entries=entries, scenario=sc) == []
    assert check_stores(tmp_path / "run" / "onboard" / "executor.sqlite", report, entries) == []


def test_a_bad_frame_dropped_at_the_end_of_a_pass_is_excused_once() -> None:
    """Found by the campaign (chunk 118): a garbage frame sent at tick 617, the pass over at
    616, was dropped by the link and so never refused on board."""
    frames = [("frame", {"tick": 431, "kind": "garbage"}), ("frame", {"tick": 617, "kind": "garbage"})]
    base = _report(ground_jobs={"bad_frames_sent": {"garbage": 2}},
                   space_link={"onboard": {"tc_rejected": {"length": 1}}})
    (broken,) = check({**base, "link": {"dropped_no_contact": 0}}, Counter({"executor": 1}), entries=frames)
    assert "bad frames: 2 sent, 1 refused on board, 0 uplink frame(s) dropped out of contact" in broken
    assert check({**base, "link": {"dropped_no_contact": 1}}, Counter({"executor": 1}), entries=frames) == []
    none = {**base, "space_link": {"onboard": {"tc_rejected": {}}}, "link": {"dropped_no_contact": 1}}
    assert check(none, Counter({"executor": 1}), entries=frames), "one drop excuses one frame, not two"


def test_a_job_acknowledged_before_it_was_stored_is_named(tmp_path) -> None:
    import sqlite3

    from sim.campaign import _acked_after_stored

    archive = tmp_path / "archive.sqlite"
    db = sqlite3.connect(archive)
    db.execute("CREATE TABLE jobs (job_id TEXT, accepted_t_ns INTEGER)")
    db.executemany("INSERT INTO jobs VALUES (?, ?)", [("job-1", 150 * 10**9), ("job-2", 151 * 10**9),
                                                       ("job-3", None)])
    db.commit()
    db.close()
    stored_first = [("job-1", "ACCEPTED", 147 * 10**9), ("job-2", "ACCEPTED", 148 * 10**9),
                    ("job-1", "STARTED", 160 * 10**9)]
    assert _acked_after_stored(archive, stored_first, 10**9) == []
    # job-2 lost in a crash after its acknowledgement, stored again only after the ground's retry
    late = [("job-1", "ACCEPTED", 147 * 10**9), ("job-2", "ACCEPTED", 400 * 10**9)]
    (broken,) = _acked_after_stored(archive, late, 10**9)
    assert "before they were in the onboard ledger: ['job-2']" in broken and broken.tick == 151
    (broken,) = _acked_after_stored(archive, late[:1], 10**9)
    assert "['job-2']" in broken, "acknowledged and never stored"


def test_the_onboard_ledger_is_checked_against_the_model(tmp_path) -> None:
    from flightsw.icd.messages import JobSpec
    from flightsw.store.ledger import Ledger
    from sim.campaign import check_stores

    path = tmp_path / "executor.sqlite"
    led = Ledger(path)

    def spec(n: int) -> JobSpec:
        return JobSpec(f"job-{n:05d}", "synthetic", 1, -1, 1, 10.0, 300.0, 0, 100, 0, n, {})

    for n in range(4):
        led.add_job(spec(n), "ACCEPTED", "", 1)
    led.store_result("job-00000", "synthetic", b"x", b"y" * 32, 2, 10.0)
    led.close()
    report = {"ground_jobs": {"sent": [f"job-{n:05d}" for n in range(4)], "kept_on_ground": ["job-00009"],
                              "accepted": [], "duplicates_sent": 0}, "commands": []}
    assert check_stores(path, report, []) == []
    led = Ledger(path)
    led.set_state("job-00000", "PREEMPTED", 3)
    led.store_result("job-00000", "synthetic", b"x", b"y" * 32, 4, 10.0)  # done again, no rerun asked for
    led.add_job(spec(9), "ACCEPTED", "", 5)  # cancelled before its upload, yet on board
    led.store_result("job-00002", "synthetic", b"x", b"y" * 32, 5, 10.0)
    led.set_state("job-00002", "RUNNING", 6)  # its result kept, yet it is running again
    led.close()
    cancel = [("ground", {"tick": 1, "action": "cancel", "job": "job-00009"})]
    broken = check_stores(path, report, cancel)
    assert any("completed twice" in b and "job-00000" in b for b in broken), broken
    assert any("never sent" in b for b in broken), broken
    assert any("did not complete" in b and "job-00002" in b for b in broken), broken
    assert any("cancelled before its upload" in b for b in broken), broken


def test_hangs_and_ground_actions_on_the_whole_stack(tmp_path) -> None:
    """A plan of the campaign's new rules, on the real stack in fast mode: a hung executor
    is restarted by the supervisor (once: its fresh instance is not hung), a hung
    supervisor by the hub's watchdog, a short hang of the power manager passes; a
    duplicate upload changes nothing on board; a cancel before the upload keeps the job on
    the ground (and out of the accepted jobs), one after it ends the job CANCELLED."""
    from sim.campaign import SCENARIO, check_stores
    from sim.harness import RunConfig, run
    from sim.scenario import load_scenario

    entries = [("stall", {"process": "executor", "tick": 700, "ticks": 300}),
               ("stall", {"process": "supervisor", "tick": 1200, "ticks": 200}),
               ("stall", {"process": "power", "tick": 1500, "ticks": 20}),
               ("ground", {"tick": 100, "action": "cancel", "job": "job-00301"}),
               ("ground", {"tick": 300, "action": "duplicate", "job": "job-00003"}),
               ("ground", {"tick": 1280, "action": "cancel", "job": "job-00300"})]
    sc = load_scenario(SCENARIO)
    report = run(RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=2000 / 3600, seed=0, mode="fast",
                           faults=parse_fault_plan(plan_toml(entries), "test"), out_dir=tmp_path / "run", plots=False))
    restarts = [(r["process"], r["tick"], r["reason"]) for r in report["restarts"]]
    assert [r[:1] for r in restarts] == [("executor",), ("supervisor",)], restarts
    assert 700 < restarts[0][1] <= 760 and "hung" in restarts[0][2], restarts
    assert 1200 < restarts[1][1] <= 1260 and "silent" in restarts[1][2], restarts
    assert report["ground_jobs"]["duplicates_sent"] == 1
    assert report["ground_jobs"]["kept_on_ground"] == ["job-00301"]
    assert "job-00301" not in report["ground_jobs"]["accepted"], "a job kept on the ground counted as accepted"
    cancels = [c for c in report["commands"] if c["opcode"] == 48]
    assert [c["status"] for c in cancels] == ["OK"] and "job-00300" in cancels[0]["detail"], cancels
    assert check(report, Counter({"executor": 1, "supervisor": 1}), entries=entries, scenario=sc) == []
    assert check_stores(tmp_path / "run" / "onboard" / "executor.sqlite", report, entries) == []


def test_sim_campaign_runs_chunks_on_a_local_dask_cluster_and_reports(tmp_path) -> None:
    import json
    import subprocess
    import sys

    out = tmp_path / "campaign"
    p = subprocess.run([sys.executable, "-m", "sim.cli", "campaign", "--examples", "3", "--chunk", "2",
                        "--steps", "8", "--workers", "2", "--out", str(out), "--json"],
                       capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    summary = json.loads(p.stdout.strip().splitlines()[-1])
    assert summary["invariant_violations"] == 0 and summary["planted_bugs"] == {"planted": 0, "caught": 0, "bugs": {}}
    assert 1 <= summary["examples"] <= 3 and summary["steps"] >= summary["examples"]
    assert summary["config"]["workers"] == 2 and summary["config"]["cluster"] == "local Dask cluster"
    assert sum(summary["faults_by_kind"].values()) == summary["faults"] > 0
    assert (out / "report.json").exists() and "# Fault campaign" in (out / "report.md").read_text()
    assert sorted(f.name for f in (out / "chunks").iterdir()) == ["0.json", "1.json"]
    assert summary["chunks"] == 2 and summary["chunks_resumed"] == 0
    again = subprocess.run([sys.executable, "-m", "sim.cli", "campaign", "--examples", "3", "--chunk", "2",
                            "--steps", "8", "--workers", "1", "--out", str(out), "--resume", "--json"],
                           capture_output=True, text=True, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    resumed = json.loads(again.stdout.strip().splitlines()[-1])
    assert resumed["chunks_resumed"] == 2 and "2 chunk(s) resumed" in again.stderr
    for key in ("examples", "steps", "ticks", "faults_by_kind", "rules", "reliability"):
        assert resumed[key] == summary[key], key
    bad = subprocess.run([sys.executable, "-m", "sim.cli", "campaign", "--examples", "0"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--examples: expected >= 1, got 0" in bad.stderr


def test_the_code_a_chunk_ran_is_its_loaded_modules_and_data_files() -> None:
    import sim.campaign  # noqa: F401  (loaded, as in a chunk's process)
    from sim.campaign_run import code_run

    files, same = code_run()
    assert {"sim/campaign.py", "sim/harness.py", "sim/scenarios/campaign.toml", "requirements.lock"} <= set(files)
    assert same and all(f.split("/")[0] in ("flightsw", "sim", "groundsw") for f in files if f != "requirements.lock")


def test_a_file_edited_while_a_worker_has_it_loaded_leaves_no_digest(tmp_path, monkeypatch) -> None:
    from sim import campaign_run

    monkeypatch.setattr(campaign_run, "ROOT", tmp_path)
    monkeypatch.setattr(campaign_run, "CODE_DIRS", ("sim",))
    monkeypatch.setattr(campaign_run, "_SEEN", {})
    (tmp_path / "sim").mkdir()
    (tmp_path / "sim" / "plan.toml").write_text("a = 1\n")
    _, same = campaign_run.code_run()
    assert same
    (tmp_path / "sim" / "plan.toml").write_text("a = 2\n")
    _, same = campaign_run.code_run()
    assert not same, "the process saw the first version: its result describes no code on disk"


def test_a_chunk_is_resumed_only_from_the_same_examples_steps_and_code(tmp_path, monkeypatch) -> None:
    import json
    import platform

    from sim import campaign_run
    from sim.campaign_run import _digest, _saved_chunk

    monkeypatch.setattr(campaign_run, "ROOT", tmp_path)  # a repository of two files
    (tmp_path / "sim").mkdir()
    for name in ("a.py", "b.py"):
        (tmp_path / "sim" / name).write_text(f"# {name}\n")
    chunks = tmp_path / "chunks"
    chunks.mkdir()

    def save(seed: int, files: list[str]) -> None:
        (chunks / f"{seed}.json").write_text(json.dumps({
            "code_files": files, "code": _digest(files), "examples": 10, "steps": 20, "records": [],
            "failure": None, "chunk_seed": seed, "python": platform.python_version()}))

    save(7, ["sim/a.py"])
    save(8, ["sim/a.py", "sim/b.py"])
    assert _saved_chunk(chunks, 7, 10, 20)["chunk_seed"] == 7
    assert _saved_chunk(chunks, 7, 5, 20) is None and _saved_chunk(chunks, 7, 10, 8) is None
    assert _saved_chunk(chunks, 9, 10, 20) is None, "never run"
    (tmp_path / "sim" / "b.py").write_text("# b.py, changed\n")
    assert _saved_chunk(chunks, 7, 10, 20) is not None, "a file it did not run changed: it stands"
    assert _saved_chunk(chunks, 8, 10, 20) is None, "a file it ran changed: run it again"
    stale = json.loads((chunks / "7.json").read_text())
    (chunks / "12.json").write_text(json.dumps({**stale, "code": None}))
    assert _saved_chunk(chunks, 12, 10, 20) is None, "code changed while it ran: never resumed"
    (chunks / "13.json").write_text(json.dumps({**stale, "python": "2.7.18"}))
    assert _saved_chunk(chunks, 13, 10, 20) is None, "another Python"
    (chunks / "11.json").write_text("{not json")
    assert _saved_chunk(chunks, 11, 10, 20) is None, "a chunk file cut short by a kill: run again"


@pytest.mark.slow
@pytest.mark.parametrize("name", ["result-check-skipped", "restart-cap-ignored", "ack-before-persist",
                                  "upload-not-idempotent", "watchdog-stroked-unconditionally",
                                  "eclipse-reserve-off-by-one-orbit"])
def test_the_campaign_catches_each_planted_bug(name) -> None:
    from sim.planted import PLANTED, caught

    assert [b.name for b in PLANTED].count(name) == 1
    assert caught(next(b for b in PLANTED if b.name == name), examples=60, steps=20), f"{name} not caught"


def test_bad_frames_and_link_faults_on_the_whole_stack(tmp_path) -> None:
    """Bad telecommand frames are refused on board, each for its reason; a link that loses,
    duplicates and reorders frames, and a lost pass, lose nothing the ground had accepted."""
    from sim.campaign import SCENARIO, check_stores
    from sim.harness import RunConfig, run
    from sim.scenario import load_scenario

    entries = [("frame", {"tick": 150, "kind": "garbage"}), ("frame", {"tick": 151, "kind": "truncated"}),
               ("frame", {"tick": 152, "kind": "forged"}), ("frame", {"tick": 153, "kind": "replayed"})]
    sc = load_scenario(SCENARIO)
    cfg = RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=400 / 3600, seed=0, mode="fast",
                    faults=parse_fault_plan(plan_toml(entries), "test"), out_dir=tmp_path / "frames", plots=False)
    report = run(cfg)
    assert report["ground_jobs"]["bad_frames_sent"] == {"forged": 1, "garbage": 1, "replayed": 1, "truncated": 1}
    refused = report["space_link"]["onboard"]["tc_rejected"]
    assert refused.get("auth_mac") == 1 and refused.get("replay") == 1 and refused.get("length", 0) >= 1, refused
    assert check(report, Counter(), entries=entries) == []

    link = [("link", {"start_tick": 141, "end_tick": 400, "duplicate": 0.5, "reorder": True}),
            ("link", {"start_tick": 400, "end_tick": 500, "loss": 0.3, "ber": 1e-4}),
            ("link", {"start_tick": 1274, "end_tick": 1500, "loss": 1.0})]
    report = run(RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=2000 / 3600, seed=0, mode="fast",
                           faults=parse_fault_plan(plan_toml(link), "test"), out_dir=tmp_path / "link", plots=False))
    stats = report["link"]
    assert stats["up_duplicated"] > 0 and stats["down_duplicated"] > 0 and stats["down_lost"] > 0, stats
    assert report["jobs"]["lost"] == 0 and report["jobs"]["downlinked"] > 0
    assert check(report, Counter(), entries=link, scenario=sc) == []
    assert check_stores(tmp_path / "link" / "onboard" / "executor.sqlite", report, link) == []


def test_the_campaign_replays_a_runs_digest() -> None:
    ran: list[dict] = []

    class Replayed(FaultCampaign):
        replays_left = 1
        sink = ran

    run_state_machine_as_test(Replayed, settings=settings(
        max_examples=2, stateful_step_count=4, deadline=None, derandomize=True, database=None,
        suppress_health_check=list(HealthCheck)))
    assert ran and ran[0]["replayed"] and not any(r["replayed"] for r in ran[1:]), ran
    assert all(not r["broken"] for r in ran)


def test_safe_mode_sheds_the_payload_when_the_executor_is_down_for_good(tmp_path) -> None:
    """Found by the campaign (chunk seed 5): an executor in a crash loop, past the
    supervisor's restart cap, stays down; safe mode then gave no compute budget, but
    nothing switched the boards off, and through the eclipse they drained the battery to
    0 (1,431 ticks below the floor). The power manager now switches the payload rail off
    in SAFE."""
    from sim.campaign import SCENARIO
    from sim.harness import RunConfig, run
    from sim.scenario import load_scenario

    entries = [("kill", {"process": "executor", "tick": 141 + 183 * k}) for k in range(9)]
    sc = load_scenario(SCENARIO)
    report = run(RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=4300 / 3600, seed=5, mode="fast",
                           faults=parse_fault_plan(plan_toml(entries), "test"), out_dir=tmp_path / "run", plots=False))
    assert report["dead_at_end"] == ["executor"] and report["modes"]["time_in_each_s"]["SAFE"] > 3000
    assert report["violations"]["soc_floor"] == 0 and report["soc_min"] > 0.35, report["soc_min"]
    assert check(report, Counter({"executor": 9}), entries=entries, scenario=sc) == []


def test_a_saturated_soc_gauge_does_not_drain_the_battery(tmp_path) -> None:
    """Found by the campaign (chunk seed 24, shrunk): a battery_soc gauge biased +5 reads
    1.0 (the interface clips it) through an eclipse, and the power manager, restarted
    meanwhile, spends a battery it believes full down to SOC 0.12."""
    from sim.campaign import SCENARIO
    from sim.harness import RunConfig, load_fault_plan, run
    from sim.scenario import load_scenario

    sc = load_scenario(SCENARIO)
    report = run(RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=4398 / 3600, seed=24, mode="fast",
                           faults=load_fault_plan("campaign-soc-gauge-saturated"), out_dir=tmp_path / "run",
                           plots=False))
    assert report["violations"]["soc_floor"] == 0, f"SOC min {report['soc_min']:.3f}"


def test_a_stall_too_short_to_be_noticed_does_not_take_the_next_faults_detection(tmp_path):
    """Each kill or hang is matched with the first detection and restart of its process
    before the plan's next fault on that process: a 5-tick stall nobody had to notice has
    none (before, the kill 2,000 ticks later was counted as its detection, 1,900 ticks)."""
    import json

    from sim.campaign import recovery_times

    events = tmp_path / "events.jsonl"
    events.write_text("\n".join(json.dumps(e) for e in [
        {"name": "supervisor.process_dead", "tick": 2003, "text": "thermal dead: no heartbeat"},
        {"name": "supervisor.process_hung", "tick": 3040, "text": "power hung: no progress"},
    ]) + "\n")
    report = {"restarts": [{"tick": 2005, "process": "thermal"}, {"tick": 3041, "process": "power"}]}
    entries = [("stall", {"process": "thermal", "tick": 100, "ticks": 5}),
               ("kill", {"process": "thermal", "tick": 2000}),
               ("stall", {"process": "power", "tick": 3000, "ticks": 120})]
    times = recovery_times(report, events, entries)
    assert sorted(times["detection"]) == [3, 40]
    assert sorted(times["recovery"]) == [5, 41]
