"""The benchmark suite's scenarios (sim/bench.py SUITE, sim/scenarios/): each loads, says
what it stresses and where its numbers come from, has passes that bring results down
within the day, and the eclipses (or none) and limits it claims; the degraded one's
failed board is dead in the world and left alone by the flight side."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

import pytest

from flightsw.bus.runner import run_lockstep
from flightsw.icd.codec import decode
from flightsw.icd.messages import BoardCommand, BoardSensors
from sim.bench import SUITE
from sim.environment import eclipses_json, passes_json
from sim.harness import RunConfig, build_specs
from sim.scenario import builtin_names, load_scenario
from sim.workload import generate_jobs

HOURS = 24.0
SOLAR_W_M2 = 1361.0  # [W/m2] the solar constant at 1 AU
NO_RESPONSE = 5  # BoardSensors.state of a dead board
NO_RESPONSE_TICKS = 5  # ExecutorTable.no_response_ticks (flightsw/apps/executor/table.py)
DEGRADED_HOURS = 0.2  # covers the first pass (~535 s), when the first jobs arrive


@pytest.fixture(scope="module", params=SUITE)
def name(request) -> str:
    return request.param


def test_the_suite_names_built_in_scenarios_each_once() -> None:
    assert len(set(SUITE)) == len(SUITE) and set(SUITE) <= set(builtin_names()), (
        f"SUITE {SUITE} repeats a name or names no built-in ({builtin_names()})"
    )


def test_a_suite_scenario_loads_under_its_own_name(name: str) -> None:
    assert load_scenario(name).name == name, f"{name}.toml names itself otherwise"


@pytest.mark.parametrize("new", [n for n in SUITE if n != "default"])  # default: kept as it was
def test_a_new_suite_scenario_says_what_it_stresses_and_where_its_numbers_come_from(new: str) -> None:
    name = new
    text = resources.files("sim.scenarios").joinpath(f"{name}.toml").read_text()
    header = text.split("\n\n")[0]
    assert header.startswith("# Stresses:") and "come from" in header, (
        f"{name}.toml: the header comment does not say what it stresses and where its numbers come from"
    )


def test_a_suite_scenario_has_passes_within_the_day(name: str) -> None:
    passes = passes_json(load_scenario(name), HOURS)
    assert passes, f"{name}: no pass in {HOURS} h: no result could reach the ground"
    if name != "default":  # the default's Madrid window ends at ~08:40 UTC, by design
        last_h = max(int(p["aos_utc"][11:13]) for p in passes)
        assert last_h >= 20, f"{name}: the last pass starts at {last_h} h: late work never goes down"


def test_only_the_no_eclipse_orbit_has_no_eclipse(name: str) -> None:
    eclipses = eclipses_json(load_scenario(name), HOURS)
    if name == "sso-no-eclipse":
        assert eclipses == [], f"sso-no-eclipse has eclipses: {eclipses[:3]}"
    else:
        assert any(e["kind"] == "umbra" for e in eclipses), f"{name}: no eclipse in {HOURS} h"


def test_the_sso_pair_is_one_orbit_in_and_out_of_season() -> None:
    a, b = load_scenario("sso-eclipse-season"), load_scenario("sso-no-eclipse")
    for key in ("altitude_km", "inclination_deg"):
        assert a["orbit"][key] == b["orbit"][key], f"orbit.{key} differs between the two SSO scenarios"
    assert a["ground_stations"] == b["ground_stations"] and a["power"] == b["power"], (
        "the SSO pair differs in more than the season"
    )


def test_energy_limited_panels_give_less_than_the_boards_can_draw() -> None:
    sc = load_scenario("energy-limited")
    p, b = sc["power"], sc["boards"]
    sunlit_w = p["panel_area_m2"] * p["panel_efficiency"] * SOLAR_W_M2 - p["housekeeping_w"]
    assert sunlit_w < b["count"] * b["max_power_w"] / 2, (
        f"energy-limited: {sunlit_w:.0f} W in sunlight runs most of the boards at full power"
    )


def test_thermal_limited_has_a_smaller_radiator_and_the_same_panels_as_default() -> None:
    sc, d = load_scenario("thermal-limited"), load_scenario("default")
    assert sc["thermal"]["radiator_area_m2"] < d["thermal"]["radiator_area_m2"] / 2, "the radiator is not small"
    assert sc["power"] == d["power"], "thermal-limited changed the power system too"


def test_deadline_bursty_has_bursts_and_mostly_short_deadlines() -> None:
    sc = load_scenario("deadline-bursty")
    jobs = generate_jobs(sc, HOURS)
    assert any(j.job_id.startswith("job-b") for j in jobs), "deadline-bursty has no burst"
    short = [j for j in jobs if 0 <= j.deadline_t_ns - j.release_t_ns <= 6 * 3600 * 10**9]
    assert len(short) > len(jobs) / 2, f"only {len(short)} of {len(jobs)} jobs have a deadline within 6 h"


def test_degraded_has_a_failed_board_and_aged_panels() -> None:
    sc = load_scenario("degraded")
    assert sc["boards"]["failed"] and sc["power"]["panel_age_years"] > 0, "degraded is not degraded"


def test_the_degraded_boards_failed_board_is_dead_and_the_executor_stops_using_it(tmp_path: Path) -> None:
    sc = load_scenario("degraded")
    (dead,) = sc["boards"]["failed"]
    cfg = RunConfig(scenario=sc, scenario_ref="degraded", hours=DEGRADED_HOURS, seed=0, policy="fifo",
                    mode="fast", plots=False, out_dir=tmp_path)
    (tmp_path / "ground").mkdir()
    (tmp_path / "onboard").mkdir()
    specs = build_specs(cfg, tmp_path / "onboard", generate_jobs(sc, cfg.hours))
    states, work, commanded = [], [], []  # per tick, for the dead board
    in_force = [False]  # the last BoardCommand holds until the next: on (or given a job)?

    def tap(tick: int, w) -> None:
        if w.kind == BoardCommand.KIND:
            c = decode(w.data).body
            in_force[0] = bool(c.job_id[dead] or (c.on and c.on[dead]))
        elif w.kind == BoardSensors.KIND:
            s = decode(w.data).body
            states.append(s.state[dead])
            work.append(s.work_gpu_s[dead])
            if in_force[0]:
                commanded.append(tick)

    res = run_lockstep(specs, cfg.n_ticks, tick_ns=int(sc.tick_s * 10**9), mode="fast", tap=tap)
    assert states and set(states) == {NO_RESPONSE}, f"board {dead} reported states {set(states)}"
    assert not any(work), f"failed board {dead} did work"
    executor = res.reports["executor"]
    assert dead in executor["boards_out_of_service"], (
        f"the executor never took board {dead} out of service: {executor['boards_out_of_service']}"
    )
    other = [b for b in executor["boards_out_of_service"] if b != dead]
    assert not other, f"healthy boards {other} were taken out of service"
    # the executor finds a dead board while it is switched off, before any job goes to it
    # (flightsw/apps/executor/boards.py: a switched-off board's controller still answers)
    assert commanded == [], f"board {dead} was commanded on at ticks {commanded[:10]}"
