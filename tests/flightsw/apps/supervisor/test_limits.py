"""The limit checker: channels, watchpoint staleness, actionpoint counts and states, actions
(flightsw.apps.supervisor.limits through the core)."""

from __future__ import annotations

import pytest

from flightsw.apps.framework import TableError, table_from_mapping
from flightsw.apps.supervisor.commands import CommandSpec
from flightsw.apps.supervisor.core import SupervisorCore
from flightsw.apps.supervisor.limits import (
    Actionpoint,
    ActionpointTable,
    Watchpoint,
    WatchpointTable,
    parse_channel,
)
from flightsw.apps.supervisor.sequencer import SequenceStep, SequenceTable, StoredSequence
from flightsw.apps.supervisor.tables import SupervisorTable
from flightsw.icd.messages import (
    AppCommand,
    BoardSensors,
    CmdStatus,
    CommandResponse,
    Mode,
    Opcode,
    PowerBudget,
    SetMode,
    Severity,
    SupervisorStatus,
    ThermalCaps,
)
from tests.flightsw.apps.supervisor.support import bodies, events, ground, hub, msg, responses

QUIET = SupervisorTable(ping_period_ticks=1000)  # no pings in the way


def soc(value: float) -> object:
    return msg(PowerBudget(mode="NOMINAL", compute_budget_w=0.0, solar_power_w=0.0, battery_avail_w=0.0,
                           battery_soc=value), src="power")


def caps(*level: int) -> object:
    return msg(ThermalCaps(cap_w=(100.0,) * len(level), shutdown=(0,) * len(level), level=tuple(level)),
               src="thermal")


def core_with(wps, aps, sequences=None) -> SupervisorCore:
    return SupervisorCore(QUIET, watchpoints=WatchpointTable(tuple(wps)), actionpoints=ActionpointTable(tuple(aps)),
                          sequences=sequences or SequenceTable())


def drive(core: SupervisorCore, samples: dict[int, list]) -> dict[int, list]:
    """Step ticks 0..max: each tick's samples (a list of messages; [] = none that tick)."""
    return {k: core.step(k, k, [hub(), *samples.get(k, [])]) for k in range(max(samples) + 1)}


LOW = Watchpoint("low", "PowerBudget.battery_soc", "<", 0.3, stale_after_ticks=3)


# ---------------------------------------------------------------- channels
@pytest.mark.parametrize("text, kind, field, index", [
    ("PowerBudget.battery_soc", PowerBudget, "battery_soc", None),
    ("BoardSensors.temp_c[3]", BoardSensors, "temp_c", 3),
    ("ThermalCaps.level[*]", ThermalCaps, "level", "*"),
    ("ContactState.in_contact", None, "in_contact", None),
])
def test_a_channel_names_a_kind_a_numeric_field_and_maybe_an_element(text, kind, field, index):
    ch = parse_channel(text)
    assert (ch.field, ch.index) == (field, index)
    if kind is not None:
        assert ch.kind is kind


@pytest.mark.parametrize("text, says", [
    ("Nowhere.x", "expected a kind in"),
    ("PowerBudget.mode", "expected a numeric field of PowerBudget"),
    ("PowerBudget.battery_soc[0]", "is a number, expected no index"),
    ("BoardSensors.temp_c", "is an array, expected an index"),
    ("BoardSensors.temp_c[-1]", "expected Kind.field"),
    ("battery_soc", "expected Kind.field"),
])
def test_a_bad_channel_is_refused_naming_what_was_expected(text, says):
    with pytest.raises(TableError, match=None) as info:
        parse_channel(text)
    assert says in str(info.value), str(info.value)


def test_a_bad_watchpoint_table_is_rejected_naming_the_entry_and_field():
    good = {"id": "a", "channel": "PowerBudget.battery_soc", "operator": "<", "value": 0.3}
    with pytest.raises(TableError, match=r"entries\[1\].*watchpoint 'b': operator: expected one of"):
        table_from_mapping(WatchpointTable, {"entries": [good, {**good, "id": "b", "operator": "=<"}]})
    with pytest.raises(TableError, match=r"entries\[1\]\.id: expected a unique id, got 'a' twice"):
        table_from_mapping(WatchpointTable, {"entries": [good, good]})
    with pytest.raises(TableError, match=r"watchpoint 'c': channel: expected a kind"):
        table_from_mapping(WatchpointTable, {"entries": [{**good, "id": "c", "channel": "Foo.bar"}]})
    with pytest.raises(TableError, match=r"Watchpoint\.value: expected a number"):
        table_from_mapping(WatchpointTable, {"entries": [{**good, "value": "low"}]})


def test_a_bad_actionpoint_is_rejected_naming_the_field():
    base = {"id": "ap", "expression": "a and b"}
    for change, says in [
        ({"expression": "a and"}, "actionpoint 'ap': expression 'a and': at the end"),
        ({"fail_count": 0}, "fail_count: expected an integer in [1, 1000000]"),
        ({"state": "ON"}, "state: expected one of ['ACTIVE', 'PASSIVE', 'DISABLED']"),
        ({"command": {"target": "power", "opcode": 48}}, "command.opcode: expected 0-4 or 16-31 for power"),
        ({"command": {"target": "moon", "opcode": 0}}, "command.target: expected one of"),
        ({"command": {"target": "power", "opcode": 0}, "sequence": "s"}, "expected a command or a sequence"),
        ({"severity": "LOUD"}, "severity: expected one of"),
    ]:
        with pytest.raises(TableError) as info:
            table_from_mapping(ActionpointTable, {"entries": [{**base, **change}]})
        assert says in str(info.value), f"{change}: {info.value}"


# --------------------------------------------------------------- watchpoints
def test_a_watchpoint_goes_stale_after_its_samples_stop():
    core = core_with([LOW], [])
    results = []
    for k in range(6):
        core.step(k, k, [hub(), *([soc(0.2)] if k == 0 else [])])
        results.append(core.limits.watchpoint_results()["low"])
    assert results == ["TRUE", "TRUE", "TRUE", "STALE", "STALE", "STALE"], results


def test_a_watchpoint_without_any_sample_is_stale_and_one_with_zero_stale_after_never_is():
    never = Watchpoint("n", "PowerBudget.battery_soc", "<", 0.3, stale_after_ticks=0)
    core = core_with([LOW, never], [])
    core.step(0, 0, [hub()])
    assert core.limits.watchpoint_results() == {"low": "STALE", "n": "STALE"}
    core.step(1, 1, [hub(), soc(0.5)])
    for k in range(2, 50):
        core.step(k, k, [hub()])
    assert core.limits.watchpoint_results() == {"low": "STALE", "n": "FALSE"}


def test_any_element_and_an_index_past_the_array():
    red = Watchpoint("red", "ThermalCaps.level[*]", ">=", 2)
    b5 = Watchpoint("b5", "ThermalCaps.level[5]", ">=", 2)
    core = core_with([red, b5], [])
    core.step(0, 0, [hub(), caps(0, 1, 0)])
    assert core.limits.watchpoint_results() == {"b5": "ERROR", "red": "FALSE"}
    core.step(1, 1, [hub(), caps(0, 2, 0)])
    assert core.limits.watchpoint_results()["red"] == "TRUE"
    core.step(2, 2, [hub(), caps()])
    assert core.limits.watchpoint_results()["red"] == "ERROR", "an empty array has no value"


# -------------------------------------------------------------- actionpoints
def _ap(fail_count: int = 3, state: str = "ACTIVE", **kw) -> Actionpoint:
    return Actionpoint("lowap", "low", fail_count, state, **kw)


def fired_ticks(outs: dict[int, list], name: str = "supervisor.actionpoint_fired") -> list[int]:
    return [k for k, out in outs.items() if events(out, name)]


def test_an_actionpoint_acts_after_its_consecutive_failures_and_a_pass_resets_the_count():
    core = core_with([LOW], [_ap(3)])
    values = [0.2, 0.2, 0.5, 0.2, 0.2, 0.2, 0.2]
    outs = drive(core, {k: [soc(v)] for k, v in enumerate(values)})
    assert fired_ticks(outs) == [5], "did not act exactly at the third failure in a row"
    (ev,) = events(outs[5], "supervisor.actionpoint_fired")
    assert ev.severity == int(Severity.WARNING_HI) and "lowap" in ev.text and "now PASSIVE" in ev.text


def test_a_stale_result_neither_counts_nor_resets():
    core = core_with([LOW], [_ap(3)])
    outs = drive(core, {0: [soc(0.2)], 1: [soc(0.2)], 2: [], 3: [], 4: [], 5: [], 6: [], 7: [soc(0.2)]})
    # 0, 1 fail; 2 still fresh (fails); 3..6 stale (stale_after 3); 7 fails again
    assert fired_ticks(outs) == [2]
    core2 = core_with([Watchpoint("low", "PowerBudget.battery_soc", "<", 0.3, stale_after_ticks=1)], [_ap(3)])
    outs2 = drive(core2, {0: [soc(0.2)], 1: [soc(0.2)], 2: [], 3: [], 4: [soc(0.2)]})
    assert fired_ticks(outs2) == [4], "stale ticks between failures reset or counted the run"


def test_an_actionpoint_acts_once_then_is_passive_until_rearmed():
    cmd = CommandSpec("thermal", int(Opcode.THERMAL_SET_HEATERS), {"enabled": True})
    core = core_with([LOW], [_ap(2, command=cmd)])
    outs = drive(core, {k: [soc(0.2)] for k in range(30)})
    sent = [(k, b) for k, out in outs.items() for b in bodies(out, AppCommand, "thermal")]
    assert [k for k, _ in sent] == [1], "the action was repeated or not taken"
    assert sent[0][1].source == "lc:lowap" and sent[0][1].args == {"enabled": True}
    assert core.limits.actionpoint_states() == {"lowap": "PASSIVE"}
    out = core.step(30, 30, [hub(), soc(0.2), ground(Opcode.SUP_SET_ACTIONPOINT, {"id": "lowap", "state": "ACTIVE"})])
    assert responses(out)[0].status == "OK"
    later = {k: core.step(k, k, [hub(), soc(0.2)]) for k in range(31, 40)}
    assert [k for k, out in later.items() if bodies(out, AppCommand, "thermal")] == [31], \
        "a re-armed actionpoint did not act after its count again"


def test_a_passive_actionpoint_reports_but_does_not_act():
    cmd = CommandSpec("thermal", int(Opcode.THERMAL_SET_HEATERS), {"enabled": True})
    core = core_with([LOW], [_ap(2, "PASSIVE", command=cmd)])
    outs = drive(core, {k: [soc(0.2)] for k in range(10)})
    assert fired_ticks(outs, "supervisor.actionpoint_passive") == [1]
    assert fired_ticks(outs) == [] and not any(bodies(o, AppCommand) for o in outs.values())
    assert core.limits.passive_fails == 1


def test_a_disabled_actionpoint_is_not_evaluated_and_not_failing():
    core = core_with([LOW], [_ap(1, "DISABLED")])
    outs = drive(core, {k: [soc(0.2)] for k in range(10)})
    assert fired_ticks(outs) == [] and fired_ticks(outs, "supervisor.actionpoint_passive") == []
    (status,) = bodies(outs[0], SupervisorStatus)
    assert status.actionpoints_failing == ()


def test_a_disabled_watchpoint_reads_as_unknown():
    core = core_with([LOW], [_ap(2)])
    out = core.step(0, 0, [hub(), soc(0.2), ground(Opcode.SUP_SET_WATCHPOINT, {"id": "low", "enabled": False})])
    assert responses(out)[0].status == "OK"
    outs = {k: core.step(k, k, [hub(), soc(0.2)]) for k in range(1, 10)}
    assert fired_ticks(outs) == [] and core.limits.watchpoint_results() == {"low": "DISABLED"}


def test_failing_actionpoints_are_in_the_status():
    core = core_with([LOW], [_ap(100)])
    out = drive(core, {k: [soc(0.2)] for k in range(11)})[10]
    (status,) = bodies(out, SupervisorStatus)
    assert status.actionpoints_failing == ("lowap",)


def test_commands_for_unknown_points_are_validation_errors():
    core = core_with([LOW], [_ap()])
    out = core.step(0, 0, [hub(), ground(Opcode.SUP_SET_ACTIONPOINT, {"id": "nope", "state": "ACTIVE"}, 1),
                           ground(Opcode.SUP_SET_WATCHPOINT, {"id": "low", "enabled": "yes"}, 2)])
    assert [(r.status, r.cmd_id) for r in responses(out)] == [("VALIDATION_ERROR", 1), ("VALIDATION_ERROR", 2)]
    assert "args.id" in responses(out)[0].detail and "args.enabled" in responses(out)[1].detail


def test_an_actionpoint_can_start_a_stored_sequence():
    seq = StoredSequence("cool", (SequenceStep(CommandSpec("thermal", 0), at_s=0.0),))
    core = core_with([LOW], [Actionpoint("ap", "low", 1, sequence="cool")], SequenceTable((seq,)))
    out = core.step(0, 0, [hub(), soc(0.2)])
    (cmd,) = bodies(out, AppCommand, "thermal")
    assert cmd.source == "seq:cool" and events(out, "supervisor.sequence_started")


def test_a_failed_actionpoint_command_raises_a_warning():
    core = core_with([LOW], [_ap(1, command=CommandSpec("power", 16, {"mode": "X"}))])
    (cmd,) = bodies(core.step(0, 0, [hub(), soc(0.2)]), AppCommand, "power")
    resp = CommandResponse(cmd.opcode, CmdStatus.VALIDATION_ERROR.value, "args.mode: bad", cmd.cmd_id, cmd.source)
    out = core.step(2, 2, [hub(), msg(resp, src="power")])
    (ev,) = events(out, "supervisor.lc_command_failed")
    assert ev.severity == int(Severity.WARNING_HI) and "VALIDATION_ERROR" in ev.text


def test_the_default_tables_order_safe_mode_after_30_low_soc_samples():
    core = SupervisorCore(QUIET)  # default tables, floor 0.25: watch below 0.26
    outs = {k: core.step(k, k, [hub(), soc(0.255)]) for k in range(40)}
    safe = [k for k, out in outs.items() if bodies(out, SetMode, "power")]
    assert safe[0] == 29, f"SAFE ordered at {safe[:3]}"
    assert core.modes.mode == Mode.SAFE.value
    assert events(outs[29], "supervisor.mode_changed")[0].severity == int(Severity.WARNING_HI)
    healthy = SupervisorCore(QUIET)
    assert not any(bodies(healthy.step(k, k, [hub(), soc(0.27)]), SetMode) for k in range(100))


def test_the_default_tables_raise_an_event_for_a_red_board():
    core = SupervisorCore(QUIET)
    out = core.step(0, 0, [hub(), caps(0, 2)])
    (ev,) = events(out, "supervisor.actionpoint_fired")
    assert "red temperature" in ev.text and ev.severity == int(Severity.WARNING_HI)
