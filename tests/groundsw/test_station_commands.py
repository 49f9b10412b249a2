"""The ground station's commands: the fault plan's and the operators', through every ground
and flight stage (QUEUED -> RELEASED -> SENT -> ACCEPTED -> COMPLETED / FAILED / TIMEOUT),
each stage a command_stages row in the archive."""

from __future__ import annotations

from pathlib import Path

import pytest

from flightsw.icd.messages import Opcode
from flightsw.icd.spacelink import APIDS
from groundsw.station import POLL_EVERY_TICKS
from tests.groundsw.test_station import EXECUTOR, Ground, S, contact

P = POLL_EVERY_TICKS
NOOP_AT_3 = [{"tick": 3, "target": "executor", "opcode": int(Opcode.NOOP), "args": {}}]
NOOP_AT_0 = [{"tick": 0, "target": "executor", "opcode": int(Opcode.NOOP), "args": {}}]


@pytest.fixture
def ground(tmp_path: Path, link_keyring):
    made: list[Ground] = []

    def make(**station_kw) -> Ground:
        g = Ground(
            tmp_path / f"ground{len(made)}" / "archive.sqlite", link_keyring, (), **station_kw
        )
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


def command_stages(g: Ground, cmd_id: int) -> list[tuple[str, int, str, str]]:
    return g.rows(
        "SELECT stage, t_ns, status, message FROM command_stages WHERE cmd_id = ? ORDER BY id",
        cmd_id,
    )


def stage_names(g: Ground, cmd_id: int) -> list[str]:
    return [s for s, _, _, _ in command_stages(g, cmd_id)]


def command_row(g: Ground, cmd_id: int) -> tuple:
    (row,) = g.rows(
        "SELECT stage, status, message, stage_timeout_t_ns FROM commands WHERE cmd_id = ?", cmd_id
    )
    return row


def sent_at(ticks: dict) -> list[int]:
    return [tick for tick, t in ticks.items() if t.commands]


def test_a_plan_command_goes_through_every_stage_to_completed(ground) -> None:
    g = ground(commands=NOOP_AT_3)
    g.run(range(4), {0: [contact()]})
    assert g.rows("SELECT cmd_id, name, target, opcode, sender, origin, stage FROM commands") == [
        (1, "executor.NOOP", "executor", 0, "plan", "plan", "QUEUED")
    ], "not queued at its tick"
    assert sent_at(g.run(range(4, P))) == [], "sent before the station polled its queue"
    t = g.step(P)
    (cmd,) = t.commands
    assert (cmd.target, cmd.opcode, cmd.cmd_id, cmd.source) == ("executor", 0, 1, "ground"), cmd
    assert [(tc.apid, tc.service, tc.subtype) for tc in t.tcs] == [(EXECUTOR, 8, 1)], (
        "a command must go up as PUS 8/1 on its target app's APID"
    )
    g.step(P + 1, [g.sc.accepted(1, (P + 1) * S)])
    g.step(P + 2, [g.sc.answer(1, (P + 2) * S, "OK", "executor alive")])
    assert command_stages(g, 1) == [
        ("QUEUED", 3 * S, "", "from plan (plan)"),
        ("RELEASED", P * S, "", ""),
        ("SENT", P * S, "", ""),
        ("ACCEPTED", (P + 1) * S, "", ""),
        ("COMPLETED", (P + 2) * S, "OK", "executor alive"),
    ]
    assert command_row(g, 1) == ("COMPLETED", "OK", "executor alive", None)


@pytest.mark.parametrize("how", ["submit_command", "add_command"])
def test_an_operator_command_goes_up_after_the_next_poll_and_can_fail(ground, how) -> None:
    g = ground()
    g.step(0, [contact()])
    if how == "submit_command":
        cmd_id = g.api.submit_command(
            "thermal.NOOP", "thermal", int(Opcode.NOOP), {}, "otto", False
        )
    else:
        cmd_id = g.api.add_command(
            "thermal.NOOP", "thermal", int(Opcode.NOOP), {}, "otto", "operator", False, 0
        )
    assert sent_at(g.run(range(1, P))) == [], "sent before the station polled its queue"
    t = g.step(P)
    assert [(c.target, c.cmd_id) for c in t.commands] == [("thermal", cmd_id)]
    assert t.tcs[0].apid == APIDS["thermal"], "not on the target app's APID"
    g.step(P + 1, [g.sc.answer(cmd_id, (P + 1) * S, "VALIDATION_ERROR", "no such table")])
    assert stage_names(g, cmd_id) == ["QUEUED", "RELEASED", "SENT", "FAILED"]
    assert command_row(g, cmd_id) == ("FAILED", "VALIDATION_ERROR", "no such table", None)


def test_a_critical_command_is_released_only_once_approved(ground) -> None:
    g = ground()
    g.step(0, [contact()])
    cmd_id = g.api.submit_command(
        "supervisor.SUP_SET_MODE",
        "supervisor",
        int(Opcode.SUP_SET_MODE),
        {"mode": "SAFE", "reason": "test"},
        "otto",
        True,
    )
    assert sent_at(g.run(range(1, 6 * P))) == [], "a critical command went up without approval"
    assert stage_names(g, cmd_id) == ["QUEUED"], "a critical command moved without approval"
    assert g.api.approve_command(cmd_id, "alice") == "approved"
    ticks = g.run(range(6 * P, 7 * P))
    assert sent_at(ticks) == [6 * P], "not released at the first poll after its approval"
    (cmd,) = ticks[6 * P].commands
    assert (cmd.opcode, cmd.args) == (int(Opcode.SUP_SET_MODE), {"mode": "SAFE", "reason": "test"})
    assert stage_names(g, cmd_id) == ["QUEUED", "RELEASED", "SENT"]


def test_an_unanswered_command_is_resent_with_the_same_id_until_answered(ground) -> None:
    g = ground(commands=NOOP_AT_0, command_resend_ticks=5)
    ticks = g.run(range(13), {0: [contact()]})
    assert sent_at(ticks) == [0, 5, 10], f"sent at {sent_at(ticks)}"
    ids = {c.cmd_id for t in ticks.values() for c in t.commands}
    assert ids == {1}, "a resend must carry the same id (the app ignores repeats)"
    seqs = [tc.auth_seq for t in ticks.values() for tc in t.tcs]
    assert seqs == sorted(set(seqs)), f"a resend reused an anti-replay number: {seqs}"
    g.step(13, [g.sc.answer(1, 13 * S)])
    assert sent_at(g.run(range(14, 40))) == [], "resent after its answer"
    assert stage_names(g, 1) == ["QUEUED", "RELEASED", "SENT", "COMPLETED"], (
        "a resend added a stage"
    )
    (rep,) = g.station.final_report()["commands"]
    assert (rep["sends"], rep["status"], rep["detail"]) == (3, "OK", "done"), rep


def test_an_accepted_command_still_goes_again_when_no_outcome_comes(ground) -> None:
    g = ground(commands=NOOP_AT_0, command_resend_ticks=5)
    g.step(0, [contact()])
    g.step(1, [g.sc.accepted(1, S)])
    assert sent_at(g.run(range(2, 6))) == [5], (
        "an outcome lost after acceptance is never asked again"
    )
    assert stage_names(g, 1) == ["QUEUED", "RELEASED", "SENT", "ACCEPTED"]


def test_an_unanswered_command_times_out_after_command_timeout_s(ground) -> None:
    g = ground(commands=NOOP_AT_0, command_resend_ticks=20, command_timeout_s=30.0)
    ticks = g.run(range(32), {0: [contact()]})
    assert sent_at(ticks) == [0, 20]
    assert command_stages(g, 1)[-1] == (
        "TIMEOUT",
        31 * S,
        "TIMEOUT",
        "no answer from the spacecraft",
    )
    assert g.rows("SELECT stage, stage_timeout_t_ns FROM commands") == [("TIMEOUT", None)]
    g.step(35, [g.sc.answer(1, 35 * S)])
    assert sent_at(g.run(range(36, 80))) == [], "resent after it timed out"
    assert stage_names(g, 1)[-1] == "TIMEOUT", "a late answer reopened a timed-out command"


def test_the_stage_timeout_is_recorded_for_the_console(ground) -> None:
    g = ground(commands=NOOP_AT_0, command_timeout_s=30.0)
    g.step(0, [contact()])
    assert command_row(g, 1)[3] == 30 * S, "SENT must show when it times out"


def test_the_command_timeout_counts_from_its_release(ground) -> None:
    g = ground(commands=NOOP_AT_0, command_timeout_s=30.0)
    g.step(0, [contact(up=False)])
    g.run(range(1, 40))
    assert sent_at({40: g.step(40, [contact()])}) == [40]
    g.run(range(41, 60))
    assert stage_names(g, 1) == ["QUEUED", "RELEASED", "SENT"], (
        "timed out less than 30 s after release"
    )


def test_a_response_for_another_source_does_not_close_a_ground_command(ground) -> None:
    g = ground(commands=NOOP_AT_0)
    g.step(0, [contact()])
    g.step(1, [g.sc.answer(1, S, "OK", "for a sequence", source="seq:other")])
    assert command_row(g, 1)[0] == "SENT", "another sender's answer closed a ground command"
    g.step(2, [g.sc.answer(1, 2 * S, "OK", "for the ground")])
    assert command_row(g, 1)[:3] == ("COMPLETED", "OK", "for the ground")


def test_an_acceptance_names_its_command_by_the_request_id(ground) -> None:
    plan = [{**NOOP_AT_0[0]}, {"tick": 0, "target": "power", "opcode": int(Opcode.NOOP)}]
    g = ground(commands=plan)
    assert len(g.step(0, [contact()]).commands) == 2
    g.step(1, [g.sc.accepted(2, S)])
    assert (command_row(g, 1)[0], command_row(g, 2)[0]) == ("SENT", "ACCEPTED"), (
        "the acceptance moved the wrong command"
    )


def test_a_command_the_flight_would_refuse_fails_on_the_ground(ground) -> None:
    g = ground()
    cmd_id = g.api.add_command(
        "executor.NOOP", "executor", 0, {"nested": [1, 2]}, "otto", "operator", False, 0
    )
    ticks = g.run(range(2 * P), {0: [contact()]})
    assert sent_at(ticks) == [], "a command the flight would refuse went up"
    stage, status, message, _ = command_row(g, cmd_id)
    assert (stage, status) == ("FAILED", "FORMAT_ERROR") and message.startswith("ground: "), message
    assert "nested" in message, f"the reason does not name the argument: {message}"


def test_a_command_for_an_unknown_app_fails_on_the_ground_and_the_station_runs_on(ground) -> None:
    g = ground()
    bad = g.api.add_command("nosuchapp.NOOP", "nosuchapp", 0, {}, "otto", "operator", False, 0)
    good = g.api.add_command("power.NOOP", "power", 0, {}, "otto", "operator", False, 0)
    ticks = g.run(range(P + 1), {0: [contact()]})
    assert [c.cmd_id for t in ticks.values() for c in t.commands] == [good]
    assert command_row(g, bad)[:2] == ("FAILED", "FORMAT_ERROR")


def test_a_late_acceptance_of_a_repeat_never_reopens_a_finished_command(ground) -> None:
    g = ground(commands=NOOP_AT_0, command_resend_ticks=5)
    assert sent_at(g.run(range(6), {0: [contact()]})) == [0, 5], (
        "test premise: the command went twice"
    )
    g.step(6, [g.sc.answer(1, 6 * S)])
    g.step(7, [g.sc.accepted(1, 7 * S)])  # comms accepted the repeat too (it answers the same)
    assert stage_names(g, 1) == ["QUEUED", "RELEASED", "SENT", "COMPLETED"]
    assert command_row(g, 1)[0] == "COMPLETED", "a late acceptance reopened a finished command"


def test_a_command_times_out_also_out_of_contact(ground) -> None:
    g = ground(commands=NOOP_AT_0, command_timeout_s=30.0)
    g.step(0, [contact()])
    g.step(1, [contact(up=False)])
    g.run(range(2, 40))
    assert command_stages(g, 1)[-1][:2] == ("TIMEOUT", 31 * S), "no timeout while out of contact"


def test_a_command_in_flight_when_the_station_is_replaced_still_ends(
    tmp_path, link_keyring
) -> None:
    path = tmp_path / "archive.sqlite"
    first = Ground(path, link_keyring, (), commands=NOOP_AT_0, command_timeout_s=30.0)
    try:
        assert len(first.step(0, [contact()]).commands) == 1
    finally:
        first.close()
    again = Ground(path, link_keyring, (), command_timeout_s=30.0)
    again.sc.verifier = first.sc.verifier  # the same spacecraft
    try:
        again.run(range(100, 2 * 100), {100: [contact()]})
        assert command_row(again, 1)[0] in ("TIMEOUT", "COMPLETED", "FAILED"), (
            f"a command sent before the restart is still {command_row(again, 1)[0]} 100 s later "
            "(its timeout is 30 s)"
        )
    finally:
        again.close()
