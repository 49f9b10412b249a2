"""Planned faults in the simulated satellite (sim/world.py): a board hang or failure at a
tick, through the board bank's fault path, counted with the radiation events; radiation
bursts; and SDC upsets counted by the job they hit."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from flightsw.icd.messages import BoardCommand, BoardSensors, Envelope, Message
from sim.boards import ACTIVE, FAILED, HUNG, OFF
from sim.scenario import load_scenario, scenario_from_dict
from sim.world import World, make

S = 1_000_000_000  # [ns] per 1 s tick
SEED = 1
N_TICKS = 200
BOARD = 3
FAULT_TICK = 20
NO_NOISE = {"board_temp_sigma_c": 0.0, "board_power_sigma_w": 0.0, "solar_power_sigma_w": 0.0,
            "battery_soc_sigma": 0.0, "radiator_temp_sigma_c": 0.0, "load_sigma_w": 0.0,
            "sunlit_fraction_sigma": 0.0}
NO_RADIATION = {"sdc_per_active_board_hour": 0.0, "sefi_per_powered_board_hour": 0.0,
                "fail_per_board_hour": 0.0}


@pytest.fixture(scope="module")
def default_data() -> dict:
    return load_scenario("default").data


def world(data: dict, radiation: dict | None = None, **faults) -> World:
    """A world without sensor noise or radiation (unless ``radiation`` says otherwise)
    whose boards boot at once, with the fault plan's tables ``faults`` (board_faults=...)."""
    data = copy.deepcopy(data)
    data["sensors"].update(NO_NOISE)
    data["radiation"].update(NO_RADIATION if radiation is None else radiation)
    data["boards"]["boot_s"] = 0.0
    return World(scenario_from_dict(data), N_TICKS, SEED, **faults)


def command(n: int, jobs: dict[int, str], cap_w: float = 300.0) -> Message:
    """Boards in ``jobs`` on at ``cap_w`` running their job; every other board off."""
    body = BoardCommand(cap_w=tuple(cap_w if b in jobs else 0.0 for b in range(n)),
                        job_id=tuple(jobs.get(b, "") for b in range(n)))
    return Message(Envelope(body.KIND, body.VERSION, "executor", 1, 0, 0, ""), body)


def sensors(outs) -> BoardSensors:
    (body,) = [b for b, _ in outs if isinstance(b, BoardSensors)]
    return body


def run_ticks(w: World, ticks: range, inbox: dict[int, list] | None = None) -> list[BoardSensors]:
    return [sensors(w.step(t, t * S, (inbox or {}).get(t, []))) for t in ticks]


def test_a_planned_hang_hangs_the_board_until_it_is_power_cycled(default_data) -> None:
    w = world(default_data, board_faults=[{"board": BOARD, "tick": FAULT_TICK, "fault": "hang"}])
    n = w.n
    on = command(n, {BOARD: "j1", 0: "j0"})
    off = command(n, {0: "j0"})
    before = run_ticks(w, range(FAULT_TICK), {0: [on]})
    assert w.bank.code[BOARD] == ACTIVE and before[-1].work_gpu_s[BOARD] > 0, "the board never worked"
    hung = run_ticks(w, range(FAULT_TICK, FAULT_TICK + 30))
    assert w.bank.code[BOARD] == HUNG, f"board {BOARD} is {w.bank.names()[BOARD]}, not HUNG"
    assert all(s.work_gpu_s[BOARD] == 0.0 for s in hung), "a hung board did work"
    assert all(s.power_w[BOARD] > 0.0 for s in hung), "a hung board drew no power"
    assert all(s.work_gpu_s[0] > 0.0 for s in hung), "the hang stopped another board"
    t = FAULT_TICK + 30
    run_ticks(w, range(t, t + 1), {t: [off]})
    assert w.bank.code[BOARD] == OFF, "switching the board off did not power it down"
    after = run_ticks(w, range(t + 1, t + 5), {t + 1: [on]})
    assert w.bank.code[BOARD] == ACTIVE and after[-1].work_gpu_s[BOARD] > 0.0, (
        "a power cycle did not clear the hang")
    report = w.final_report()
    assert report["injected"] == {"hang": 1, "fail": 0, "sdc": 0}, report["injected"]
    assert report["hardware_events"]["sefi"] == 1, report["hardware_events"]


def test_a_planned_hang_on_an_unpowered_board_waits_until_it_is_powered(default_data) -> None:
    w = world(default_data, board_faults=[{"board": BOARD, "tick": FAULT_TICK, "fault": "hang"}])
    on = command(w.n, {BOARD: "j1"})
    run_ticks(w, range(FAULT_TICK + 10))
    assert w.bank.code[BOARD] == OFF and w.injected["hang"] == 0, "a hang struck an unpowered board"
    t = FAULT_TICK + 10
    got = run_ticks(w, range(t, t + 5), {t: [on]})
    # it strikes at the first tick that starts with the board powered: the one after switch-on
    assert w.bank.code[BOARD] == HUNG and all(s.work_gpu_s[BOARD] == 0.0 for s in got[1:]), (
        f"board {BOARD} is {w.bank.names()[BOARD]} after it was switched on")
    assert w.injected["hang"] == 1


def test_a_planned_failure_is_for_good(default_data) -> None:
    w = world(default_data, board_faults=[{"board": BOARD, "tick": FAULT_TICK, "fault": "fail"}])
    n = w.n
    on = command(n, {BOARD: "j1"})
    off = command(n, {})
    t = FAULT_TICK + 10
    got = run_ticks(w, range(FAULT_TICK + 40), {0: [on], t: [off], t + 1: [on]})
    assert got[FAULT_TICK - 1].work_gpu_s[BOARD] > 0.0, "the board never worked"
    assert all(s.work_gpu_s[BOARD] == 0.0 and s.power_w[BOARD] == 0.0 for s in got[FAULT_TICK:]), (
        "a failed board drew power or did work")
    assert w.bank.code[BOARD] == FAILED, "a power cycle revived a failed board"
    report = w.final_report()
    assert report["injected"] == {"hang": 0, "fail": 1, "sdc": 0}, report["injected"]
    assert report["hardware_events"]["board_failures"] == 1, report["hardware_events"]
    assert report["boards_failed"] == 1


def test_a_board_fault_past_the_board_count_is_refused_naming_the_field(default_data) -> None:
    n = default_data["boards"]["count"]
    with pytest.raises(ValueError, match=rf"board\[0\]\.board: expected an integer in 0\.\.{n - 1}"):
        world(default_data, board_faults=[{"board": n, "tick": 5, "fault": "hang"}])


def test_make_passes_the_fault_tables_to_the_world(default_data) -> None:
    w = make(0, default_data, 10, SEED, [], [{"board": 0, "tick": 2, "fault": "fail"}],
             [{"start_tick": 1, "end_tick": 4, "multiplier": 7.0}])
    assert w._planned == {2: [(0, "fail")]}
    assert w.radiation.multiplier is not None and w.radiation.multiplier[1:4].min() >= 7.0


def test_a_radiation_burst_multiplies_the_clock_rates_in_its_window_only(default_data) -> None:
    burst = {"start_tick": 50, "end_tick": 80, "multiplier": 4.0}
    plain = world(default_data, radiation={"saa_multiplier": 1.0, **_RATES})
    bursty = world(default_data, radiation={"saa_multiplier": 1.0, **_RATES}, radiation_bursts=[burst])
    assert plain.radiation.multiplier is None, "no burst: the clock keeps its plain path"
    m = bursty.radiation.multiplier
    assert m[50:80].tolist() == [4.0] * 30 and set(m[:50].tolist() + m[80:].tolist()) == {1.0}, (
        f"multiplier per tick {m}")


def test_a_radiation_burst_composes_with_the_saa(default_data) -> None:
    burst = {"start_tick": 1, "end_tick": N_TICKS, "multiplier": 3.0}
    saa = world(default_data, radiation={"saa_multiplier": 10.0, **_RATES})
    both = world(default_data, radiation={"saa_multiplier": 10.0, **_RATES}, radiation_bursts=[burst])
    base = np.ones(N_TICKS) if saa.radiation.multiplier is None else saa.radiation.multiplier
    assert np.array_equal(both.radiation.multiplier[1:], 3.0 * base[1:]), "burst x SAA"


_RATES = {"sdc_per_active_board_hour": 1.0, "sefi_per_powered_board_hour": 0.0,
          "fail_per_board_hour": 0.0}


def test_sdc_hits_are_counted_by_the_job_of_the_board_they_hit(default_data) -> None:
    rates = {"sdc_per_active_board_hour": 400.0, "sefi_per_powered_board_hour": 0.0,
             "fail_per_board_hour": 0.0, "saa_multiplier": 1.0}
    w = world(default_data, radiation=rates)
    jobs = {b: f"job-{b % 3}" for b in range(6)}
    upsets: dict[str, int] = {}
    for s in run_ticks(w, range(N_TICKS), {0: [command(w.n, jobs)]}):
        for job_id, n in zip(s.job_id, s.upset, strict=True):
            if n:
                upsets[job_id] = upsets.get(job_id, 0) + n
    report = w.final_report()
    assert report["hardware_events"]["sdc"] > 0, "no upset: the test checks nothing"
    assert report["sdc_hits_by_job"] == dict(sorted(upsets.items())), (
        "hits by job differ from the upsets the board sensors reported")
    assert sum(report["sdc_hits_by_job"].values()) == report["hardware_events"]["sdc"]


def test_a_planned_sdc_waits_for_a_board_at_work_and_hits_its_job_once(default_data) -> None:
    w = world(default_data, board_faults=[{"board": BOARD, "tick": FAULT_TICK, "fault": "sdc"}])
    idle = run_ticks(w, range(FAULT_TICK + 10))  # no job on the board: nothing to corrupt
    assert all(not any(s.upset) for s in idle), "an upset struck an idle board"
    t = FAULT_TICK + 10
    working = run_ticks(w, range(t, t + 10), {t: [command(w.n, {BOARD: "j7"})]})
    hits = [s.upset[BOARD] for s in working]
    assert sum(hits) == 1 and sum(sum(s.upset) for s in working) == 1, hits
    report = w.final_report()
    assert report["injected"] == {"hang": 0, "fail": 0, "sdc": 1}, report["injected"]
    assert report["sdc_hits_by_job"] == {"j7": 1}
