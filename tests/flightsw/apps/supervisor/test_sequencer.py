"""Stored sequences: validation, relative and absolute time tags, waiting for answers,
abort on a failed command, operator cancel (flightsw.apps.supervisor.sequencer)."""

from __future__ import annotations

import pytest

from flightsw.apps.framework import TableError, table_from_mapping
from flightsw.apps.supervisor.commands import CommandSpec
from flightsw.apps.supervisor.core import SupervisorCore
from flightsw.apps.supervisor.sequencer import SequenceStep, SequenceTable, StoredSequence
from flightsw.apps.supervisor.tables import SupervisorTable
from flightsw.icd.messages import (
    AppCommand,
    CmdStatus,
    CommandResponse,
    Opcode,
    SetMode,
    Severity,
    SupervisorStatus,
)
from tests.flightsw.apps.supervisor.support import World, bodies, events, ground, responses

QUIET = SupervisorTable(ping_period_ticks=1000, sequence_response_timeout_ticks=5)
NOOP = int(Opcode.NOOP)


def step(target: str = "power", opcode: int = NOOP, at_s: float | None = None, at_t_s: float | None = None,
         **args) -> SequenceStep:
    return SequenceStep(CommandSpec(target, opcode, args), at_s=at_s, at_t_s=at_t_s)


def world(*seqs: StoredSequence, answer=None) -> World:
    w = World(SupervisorCore(QUIET, sequences=SequenceTable(seqs)))
    if answer is not None:
        w.answer = answer
    return w


def start(name: str, cmd_id: int = 1):
    return ground(Opcode.SUP_START_SEQUENCE, {"name": name}, cmd_id)


def sent(w: World) -> list[tuple[int, AppCommand]]:
    return [(k, b) for k, out in sorted(w.log.items()) for b in bodies(out, AppCommand)]


# ------------------------------------------------------------- validation
@pytest.mark.parametrize("steps, says", [
    ([], "steps: expected 1..256 steps, got 0"),
    ([{"command": {"target": "power", "opcode": 0}}], "expected exactly one of at_s (relative) or at_t_s"),
    ([{"command": {"target": "power", "opcode": 0}, "at_s": 1, "at_t_s": 1}], "expected exactly one of"),
    ([{"command": {"target": "power", "opcode": 0}, "at_s": -1}], "at_s: expected a finite number >= 0"),
    ([{"at_s": 0}], "command: expected a command table"),
    ([{"command": {"target": "power", "opcode": 0}, "at_s": 5},
      {"command": {"target": "power", "opcode": 0}, "at_s": 2}], "steps[1].at_s: expected times in order, got 2.0 after 5.0"),
    ([{"command": {"target": "comms", "opcode": 16}, "at_s": 0}], "command.opcode: expected 0-4 for comms, got 16"),
    ([{"command": {"target": "ground", "opcode": 0}, "at_s": 0}], "command.target: expected one of"),
    ([{"command": {"target": "power", "opcode": 0, "args": {"x": [1]}}, "at_s": 0}], "command.args.x: expected"),
])
def test_a_bad_sequence_is_rejected_at_load_naming_the_entry_and_field(steps, says):
    with pytest.raises(TableError) as info:
        table_from_mapping(SequenceTable, {"entries": [{"name": "s", "steps": steps}]})
    assert says in str(info.value) and "entries[0]" in str(info.value), str(info.value)


def test_duplicate_sequence_names_are_rejected():
    one = {"name": "s", "steps": [{"command": {"target": "power", "opcode": 0}, "at_s": 0}]}
    with pytest.raises(TableError, match=r"entries\[1\]\.name: expected a unique name"):
        table_from_mapping(SequenceTable, {"entries": [one, one]})


def test_a_sequence_whose_absolute_time_is_past_is_refused_whole_at_start():
    w = world(StoredSequence("late", (step(at_s=0.0), step(at_t_s=5.0))))
    w.run(range(0, 10))
    out = w.step(10, start("late"))
    (resp,) = responses(out)
    assert resp.status == "VALIDATION_ERROR" and "steps[1].at_t_s" in resp.detail, resp.detail
    w.run(range(11, 15))
    assert sent(w) == [], "a refused sequence sent a command"


def test_relative_and_absolute_times_that_resolve_out_of_order_are_refused():
    w = world(StoredSequence("mix", (step(at_s=30.0), step(at_t_s=20.0))))
    (resp,) = responses(w.step(0, start("mix")))
    assert resp.status == "VALIDATION_ERROR" and "steps[1].at_t_s: expected a time not before steps[0]" in resp.detail


def test_an_unknown_sequence_is_a_validation_error():
    w = world(StoredSequence("a", (step(at_s=0.0),)))
    (resp,) = responses(w.step(0, start("b")))
    assert resp.status == "VALIDATION_ERROR" and "args.name" in resp.detail


# ---------------------------------------------------------------- running
def test_steps_go_out_at_their_relative_times_with_unique_ids_and_the_sequence_source():
    w = world(StoredSequence("s", (step("power", at_s=0.0), step("thermal", at_s=5.0), step("executor", at_s=9.0))))
    w.step(3, start("s"))
    w.run(range(4, 20))
    got = sent(w)
    assert [(k, c.target) for k, c in got] == [(3, "power"), (8, "thermal"), (12, "executor")]
    assert {c.source for _, c in got} == {"seq:s"}
    assert len({c.cmd_id for _, c in got}) == 3, "command ids repeat"
    assert [k for k, _ in w.events("supervisor.sequence_completed")] == [14]
    assert w.core.seq.current() == ""


def test_absolute_time_tags_fire_at_that_sim_time():
    w = world(StoredSequence("abs", (step("power", at_t_s=7.0), step("thermal", at_t_s=12.0))))
    w.step(2, start("abs"))
    w.run(range(3, 20))
    assert [(k, c.target) for k, c in sent(w)] == [(7, "power"), (12, "thermal")]


def test_a_step_waits_for_the_answer_to_the_previous_one():
    w = world(StoredSequence("s", (step("power", at_s=0.0), step("thermal", at_s=1.0))))
    w.step(0, start("s"))
    w.run(range(1, 6))
    # the answer to tick 0's command arrives at tick 2 (lockstep latency)
    assert [k for k, _ in sent(w)] == [0, 2]


def test_a_failed_command_aborts_the_sequence_naming_the_step_and_why():
    def refuse_thermal(tick, cmd):
        status = CmdStatus.EXECUTION_ERROR if cmd.target == "thermal" else CmdStatus.OK
        return CommandResponse(cmd.opcode, status.value, "heaters stuck", cmd.cmd_id, cmd.source)

    w = world(StoredSequence("s", (step("power", at_s=0.0), step("thermal", at_s=0.0), step("executor", at_s=0.0))),
              answer=refuse_thermal)
    w.step(0, start("s"))
    w.run(range(1, 20))
    assert [c.target for _, c in sent(w)] == ["power", "thermal"], "a step after the failure went out"
    ((k, ev),) = w.events("supervisor.sequence_aborted")
    assert ev.severity == int(Severity.WARNING_HI)
    assert "step 2 of 3 (thermal opcode 0)" in ev.text and "EXECUTION_ERROR: heaters stuck" in ev.text, ev.text
    assert w.core.seq.aborted == 1 and w.core.seq.current() == ""


def test_a_missing_answer_aborts_after_the_timeout():
    w = world(StoredSequence("s", (step("power", at_s=0.0), step("thermal", at_s=0.0))),
              answer=lambda tick, cmd: None)
    w.step(0, start("s"))
    w.run(range(1, 12))
    ((k, ev),) = w.events("supervisor.sequence_aborted")
    assert k == QUIET.sequence_response_timeout_ticks and "no answer in 5 ticks" in ev.text
    assert [c.target for _, c in sent(w)] == ["power"]


def test_an_answer_for_another_source_or_id_is_not_taken_for_the_step():
    w = world(StoredSequence("s", (step("power", at_s=0.0), step("thermal", at_s=0.0))),
              answer=lambda tick, cmd: CommandResponse(cmd.opcode, "OK", "", cmd.cmd_id + 1, cmd.source))
    w.step(0, start("s"))
    w.run(range(1, 12))
    assert [c.target for _, c in sent(w)] == ["power"] and w.core.seq.aborted == 1


def test_the_operator_can_cancel_a_running_sequence():
    w = world(StoredSequence("long", tuple(step("power", at_s=float(10 * i)) for i in range(5))))
    w.step(0, start("long"))
    w.run(range(1, 15))
    out = w.step(15, ground(Opcode.SUP_CANCEL_SEQUENCE, {"name": "long"}, 2))
    assert responses(out)[0].status == "OK" and events(out, "supervisor.sequence_cancelled")
    w.run(range(16, 60))
    assert [k for k, _ in sent(w)] == [0, 10], "steps went out after the cancel"
    (again,) = responses(w.step(60, ground(Opcode.SUP_CANCEL_SEQUENCE, {"name": "long"}, 3)))
    assert again.status == "EXECUTION_ERROR", "cancelling nothing must be refused"


def test_one_sequence_at_a_time():
    w = world(StoredSequence("a", (step(at_s=0.0), step(at_s=50.0))), StoredSequence("b", (step(at_s=0.0),)))
    w.step(0, start("a"))
    (resp,) = responses(w.step(1, start("b", 2)))
    assert resp.status == "BUSY" and "sequence a is running" in resp.detail
    w.run(range(2, 10))
    (status,) = bodies(w.step(10), SupervisorStatus)
    assert status.sequence == "a"


def test_a_step_for_the_supervisor_itself_runs_locally():
    mode = CommandSpec("supervisor", int(Opcode.SUP_SET_MODE), {"mode": "SAFE", "reason": "test"})
    w = world(StoredSequence("safe", (SequenceStep(mode, at_s=0.0), step("power", at_s=0.0))))
    out = w.step(0, start("safe"))
    assert w.core.modes.mode == "SAFE" and bodies(out, SetMode, "power"), "the local step did not take effect"
    w.run(range(1, 5))
    assert [(k, c.target) for k, c in sent(w) if c.target == "power"] == [(1, "power")]
    assert w.events("supervisor.sequence_completed")


def test_the_default_sequence_noops_every_app():
    core = SupervisorCore(QUIET)
    w = World(core)
    w.step(0, start("noop_all"))
    w.run(range(1, 16))
    assert [c.target for _, c in sent(w)] == ["power", "thermal", "executor", "comms"]
    assert w.events("supervisor.sequence_completed")
