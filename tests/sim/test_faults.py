"""Fault-plan entries (sim/faults.py) and the radiation burst multiplier (sim/radiation.py):
each bad field is refused with its name, what was expected and what came; a burst
multiplies the rates only inside its window."""

from __future__ import annotations

import numpy as np
import pytest

from sim.faults import (
    BoardFault,
    RadiationBurst,
    as_dicts,
    parse_board_faults,
    parse_commands,
    parse_radiation_bursts,
)
from sim.harness import ONBOARD, FaultPlan, parse_fault_plan
from sim.radiation import RadiationClock, RadiationRates, burst_multiplier
from sim.scenario import ScenarioError

PLAN = """
[[board]]
board = 3
tick = 5000
fault = "hang"
[[board]]
board = 1
tick = 6000
fault = "fail"
[[radiation]]
start_tick = 20000
end_tick = 23600
multiplier = 10.0
[[command]]
tick = 3000
target = "executor"
opcode = 0
args = {}
[[kill]]
process = "comms"
tick = 10
"""


def test_a_full_plan_parses_into_plain_records() -> None:
    plan = parse_fault_plan(PLAN)
    assert plan.boards == ({"board": 3, "tick": 5000, "fault": "hang"},
                           {"board": 1, "tick": 6000, "fault": "fail"})
    assert plan.radiation == ({"start_tick": 20000, "end_tick": 23600, "multiplier": 10.0},)
    assert plan.commands == ({"tick": 3000, "target": "executor", "opcode": 0, "args": {}},)
    assert plan.kills == {10: ["comms"]}


def test_an_empty_plan_has_no_faults() -> None:
    assert parse_fault_plan("") == FaultPlan()


def test_a_command_without_args_gets_an_empty_table() -> None:
    (cmd,) = parse_commands([{"tick": 1, "target": "power", "opcode": 16}], ONBOARD)
    assert cmd["args"] == {}


def test_an_integer_multiplier_is_taken_as_a_float() -> None:
    (burst,) = parse_radiation_bursts([{"start_tick": 1, "end_tick": 2, "multiplier": 3}])
    assert burst == RadiationBurst(1, 2, 3.0) and isinstance(burst.multiplier, float)


def test_records_ship_as_plain_dicts() -> None:
    assert as_dicts([BoardFault(2, 7, "fail")]) == [{"board": 2, "tick": 7, "fault": "fail"}]


@pytest.mark.parametrize(("entry", "field", "got"), [
    ('board = -1\ntick = 5\nfault = "hang"', "board[0].board", "-1"),
    ('board = "3"\ntick = 5\nfault = "hang"', "board[0].board", "'3'"),
    ('board = 3\ntick = 0\nfault = "hang"', "board[0].tick", "0"),
    ('board = 3\ntick = 2.5\nfault = "hang"', "board[0].tick", "2.5"),
    ('board = 3\ntick = true\nfault = "hang"', "board[0].tick", "True"),
    ('board = 3\ntick = 5\nfault = "melt"', "board[0].fault", "'melt'"),
    ('board = 3\ntick = 5', "board[0].fault", "None"),
])
def test_a_bad_board_fault_is_refused_naming_the_field(entry: str, field: str, got: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_fault_plan(f"[[board]]\n{entry}\n", "plan.toml")
    msg = str(exc.value)
    assert f"plan.toml: {field}:" in msg and "expected" in msg and got in msg, msg


@pytest.mark.parametrize(("entry", "field", "got"), [
    ("start_tick = 0\nend_tick = 5\nmultiplier = 2.0", "radiation[0].start_tick", "0"),
    ("start_tick = 5\nend_tick = 5\nmultiplier = 2.0", "radiation[0].end_tick", "5"),
    ("start_tick = 5\nend_tick = 4\nmultiplier = 2.0", "radiation[0].end_tick", "4"),
    ("start_tick = 5\nend_tick = 9\nmultiplier = 0.0", "radiation[0].multiplier", "0.0"),
    ("start_tick = 5\nend_tick = 9\nmultiplier = -2.0", "radiation[0].multiplier", "-2.0"),
    ("start_tick = 5\nend_tick = 9\nmultiplier = inf", "radiation[0].multiplier", "inf"),
    ("start_tick = 5\nend_tick = 9\nmultiplier = nan", "radiation[0].multiplier", "nan"),
    ("start_tick = 5\nend_tick = 9\nmultiplier = true", "radiation[0].multiplier", "True"),
    ("start_tick = 5\nend_tick = 9", "radiation[0].multiplier", "None"),
])
def test_a_bad_radiation_burst_is_refused_naming_the_field(entry: str, field: str, got: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_fault_plan(f"[[radiation]]\n{entry}\n", "plan.toml")
    msg = str(exc.value)
    assert f"plan.toml: {field}:" in msg and "expected" in msg and got in msg, msg


@pytest.mark.parametrize(("entry", "field", "got"), [
    ('tick = 0\ntarget = "executor"\nopcode = 0', "command[0].tick", "0"),
    ('tick = 3\ntarget = "world"\nopcode = 0', "command[0].target", "'world'"),
    ('tick = 3\ntarget = "executor"\nopcode = 65536', "command[0].opcode", "65536"),
    ('tick = 3\ntarget = "executor"\nopcode = -1', "command[0].opcode", "-1"),
    ('tick = 3\ntarget = "executor"\nopcode = "NOOP"', "command[0].opcode", "'NOOP'"),
    ('tick = 3\ntarget = "executor"\nopcode = 0\nargs = 5', "command[0].args", "int"),
    ('tick = 3\ntarget = "executor"\nopcode = 0\nargs = {x = [1]}', "command[0].args.x", "[1]"),
    ('tick = 3\ntarget = "executor"\nopcode = 0\nargs = {x = {y = 1}}', "command[0].args.x", "{'y': 1}"),
])
def test_a_bad_command_is_refused_naming_the_field(entry: str, field: str, got: str) -> None:
    with pytest.raises(ScenarioError) as exc:
        parse_fault_plan(f"[[command]]\n{entry}\n", "plan.toml")
    msg = str(exc.value)
    assert f"plan.toml: {field}:" in msg and "expected" in msg and got in msg, msg


@pytest.mark.parametrize("kind", ["board", "radiation", "command"])
def test_unknown_keys_are_refused_naming_the_entry(kind: str) -> None:
    with pytest.raises(ScenarioError, match=rf"plan\.toml: {kind}\[0\]: unknown key\(s\) \['colour'\]"):
        parse_fault_plan(f'[[{kind}]]\ncolour = "red"\n', "plan.toml")


@pytest.mark.parametrize("kind", ["board", "radiation", "command"])
def test_a_single_table_instead_of_an_array_is_refused(kind: str) -> None:
    with pytest.raises(ScenarioError, match=rf"plan\.toml: {kind}: expected an array of tables"):
        parse_fault_plan(f"[{kind}]\ntick = 5\n", "plan.toml")


def test_an_unknown_fault_kind_is_refused_listing_the_known_ones() -> None:
    with pytest.raises(ScenarioError, match=r"meteor: unknown fault kind; expected one of \['board', "
                                           r"'command', 'damage', 'frame', 'ground', 'kill', 'link', 'radiation', 'sensor', 'stall'\]"):
        parse_fault_plan("[[meteor]]\ntick = 5\n")


@pytest.mark.parametrize(("text", "message"), [
    ('[[stall]]\nprocess = "world"\ntick = 5\nticks = 3\n', r"stall\[0\]\.process: expected one of \['comms'"),
    ('[[stall]]\nprocess = "power"\ntick = 5\nticks = 0\n', r"stall\[0\]\.ticks: expected an integer >= 1, got 0"),
    ('[[stall]]\nprocess = "power"\ntick = 5\nticks = 3\nhow = 1\n', r"stall\[0\]: unknown key\(s\) \['how'\]"),
    ('[[ground]]\ntick = 5\naction = "delete"\njob = "job-00001"\n',
     r"ground\[0\]\.action: expected one of \['duplicate', 'cancel'\], got 'delete'"),
    ('[[ground]]\ntick = 5\naction = "cancel"\njob = 7\n', r"ground\[0\]\.job: expected a job id \(a string\), got 7"),
    ('[[link]]\nstart_tick = 5\nend_tick = 5\n', r"link\[0\]\.end_tick: expected an integer > start_tick \(5\), got 5"),
    ('[[link]]\nstart_tick = 5\nend_tick = 9\nloss = 1.5\n', r"link\[0\]\.loss: expected a number in \[0, 1\], got 1\.5"),
    ('[[link]]\nstart_tick = 5\nend_tick = 9\nreorder = 1\n', r"link\[0\]\.reorder: expected true or false, got 1"),
    ('[[frame]]\ntick = 5\nkind = "nice"\n', r"frame\[0\]\.kind: expected one of \['garbage', 'truncated', 'forged', "
                                            r"'replayed'\], got 'nice'"),
    ('[[damage]]\ntick = 5\npart = "radiator"\nfraction = 0.5\n',
     r"damage\[0\]\.part: expected one of \['battery', 'panels'\], got 'radiator'"),
    ('[[damage]]\ntick = 5\npart = "battery"\nfraction = 1.0\n',
     r"damage\[0\]\.fraction: expected a number in \(0, 1\), got 1\.0"),
    ('[[damage]]\ntick = 0\npart = "panels"\nfraction = 0.5\n', r"damage\[0\]\.tick: expected an integer >= 1, got 0"),
    ('[[damage]]\ntick = 5\npart = "panels"\n', r"damage\[0\]\.fraction: expected a number in \(0, 1\), got None"),
])
def test_a_bad_stall_or_ground_action_names_its_field(text, message) -> None:
    with pytest.raises(ScenarioError, match=message):
        parse_fault_plan(text, "plan.toml")


def test_a_damage_entry_parses_into_a_plain_record() -> None:
    plan = parse_fault_plan('[[damage]]\ntick = 9\npart = "battery"\nfraction = 0.25\n', "plan.toml")
    assert plan.damage == ({"tick": 9, "part": "battery", "fraction": 0.25},)


def test_a_ground_action_on_a_job_the_workload_lacks_is_refused_before_the_run(tmp_path) -> None:
    from sim.harness import RunConfig, build_specs
    from sim.scenario import load_scenario

    plan = parse_fault_plan('[[ground]]\ntick = 5\naction = "cancel"\njob = "job-99999"\n', "plan.toml")
    cfg = RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=0.1, faults=plan)
    with pytest.raises(ScenarioError, match=r"ground\[0\]\.job: expected a job id of the scenario's workload, "
                                            r"got 'job-99999'"):
        build_specs(cfg, tmp_path)


def test_the_board_index_is_checked_against_the_board_count_when_known() -> None:
    assert parse_board_faults([{"board": 3, "tick": 1, "fault": "hang"}], 4)[0].board == 3
    with pytest.raises(ValueError, match=r"board\[0\]\.board: expected an integer in 0\.\.3 "
                                         r"\(the scenario has 4 boards\), got 4"):
        parse_board_faults([{"board": 4, "tick": 1, "fault": "hang"}], 4)


# ------------------------------------------------------------------ the burst multiplier


def test_a_burst_multiplies_only_the_ticks_of_its_window() -> None:
    m = burst_multiplier(10, [RadiationBurst(3, 6, 10.0)])
    assert m.tolist() == [1, 1, 1, 10, 10, 10, 1, 1, 1, 1], f"multiplier per tick {m}"


def test_a_burst_composes_with_the_saa_multiplier_and_with_other_bursts() -> None:
    saa = np.array([1.0, 10.0, 10.0, 1.0, 1.0, 1.0])
    m = burst_multiplier(6, [RadiationBurst(2, 5, 3.0), RadiationBurst(4, 99, 2.0)], saa)
    assert m.tolist() == [1.0, 10.0, 30.0, 3.0, 6.0, 2.0], f"multiplier per tick {m}"
    assert saa.tolist() == [1.0, 10.0, 10.0, 1.0, 1.0, 1.0], "the SAA multiplier was changed in place"


def test_no_burst_leaves_the_multiplier_as_it_was() -> None:
    assert burst_multiplier(5, []) is None, "a run without bursts must keep the clock's plain path"
    saa = np.ones(5)
    assert burst_multiplier(5, [], saa) is saa


def test_a_burst_past_the_end_of_the_run_changes_nothing() -> None:
    assert burst_multiplier(4, [RadiationBurst(10, 20, 5.0)]).tolist() == [1.0] * 4


def test_the_clock_draws_burst_rates_only_inside_the_window() -> None:
    rates = RadiationRates(sdc_per_active_board_hour=1.0, sefi_per_powered_board_hour=1.0,
                           fail_per_board_hour=1.0)
    n_boards, ticks, start, end, factor = 8, 7200, 3600, 5400, 10.0
    clock = RadiationClock(np.random.default_rng(11), rates, n_boards, 1.0,
                           burst_multiplier(ticks, [RadiationBurst(start, end, factor)]))
    on = np.ones(n_boards, bool)
    inside = outside = 0
    for tick in range(ticks):
        ev = clock.tick(on, on)
        n = int(ev.sdc.sum() + ev.sefi.sum() + ev.fail.sum())
        if start <= tick < end:
            inside += n
        else:
            outside += n
    # expected events: boards x (sum of the three rates) [1/h] x multiplier x hours
    exp_inside = n_boards * 3.0 * factor * (end - start) / 3600.0
    exp_outside = n_boards * 3.0 * (ticks - (end - start)) / 3600.0
    assert abs(inside - exp_inside) < 4 * np.sqrt(exp_inside), (
        f"in the burst: {inside} events, expected {exp_inside} +- 4 sigma")
    assert abs(outside - exp_outside) < 4 * np.sqrt(exp_outside), (
        f"outside the burst: {outside} events, expected {exp_outside} +- 4 sigma")


def test_the_clock_with_a_burst_is_deterministic() -> None:
    rates = RadiationRates(sdc_per_active_board_hour=5.0, sefi_per_powered_board_hour=5.0,
                           fail_per_board_hour=5.0)
    mult = burst_multiplier(2000, [RadiationBurst(500, 1500, 20.0)])
    on = np.ones(4, bool)

    def events(seed: int) -> list:
        clock = RadiationClock(np.random.default_rng(seed), rates, 4, 1.0, mult)
        return [tuple(np.flatnonzero(np.concatenate(clock.tick(on, on))).tolist()) for _ in range(2000)]

    assert events(3) == events(3), "the same seed and burst gave different events"
