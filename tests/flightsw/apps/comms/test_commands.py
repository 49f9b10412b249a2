"""Comms routes uplinked commands and table loads to their app and sends the answers down."""

from __future__ import annotations

import json

from flightsw.apps.comms.core import CommsTable
from flightsw.apps.comms.shell import CommsApp
from flightsw.icd.linkframe import decode_frame
from flightsw.icd.messages import (
    AppCommand,
    CmdStatus,
    CommandResponse,
    ContactState,
    DownlinkFrame,
    Envelope,
    HealthPing,
    HealthPong,
    Message,
    Opcode,
    TableDump,
    TableLoad,
    UplinkFrame,
)
from tests.flightsw.apps.builders import frame

WIDE_OPEN = ContactState(True, "svalbard", downlink_bps=8.0e9, uplink_bps=8000.0)


def _in(body, src: str = "world", seq: int = 1) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, 0, 0), body)


def _down(outs) -> list:
    return [decode_frame(o.body.data).body for o in outs if isinstance(o.body, DownlinkFrame)]


def _app() -> CommsApp:
    app = CommsApp(CommsTable())
    app.step(1, 0, [_in(WIDE_OPEN)])
    return app


def test_an_uplinked_command_goes_to_its_target_app_unchanged() -> None:
    app = _app()
    cmd = AppCommand("executor", Opcode.EXEC_CANCEL_JOB, 9, "ground", {"job_id": "job-1"})
    outs = app.step(2, 0, [_in(UplinkFrame(frame(cmd)))])
    assert [(o.body, o.dst) for o in outs if isinstance(o.body, AppCommand)] == [(cmd, "executor")]
    assert app.core.commands_routed == 1


def test_a_command_for_an_unknown_app_is_answered_with_a_validation_error_on_the_downlink() -> None:
    app = _app()
    outs = app.step(2, 0, [_in(UplinkFrame(frame(AppCommand("radio", 0, 4, "ground"))))])
    outs += app.step(3, 0, [])
    assert not [o for o in outs if isinstance(o.body, AppCommand)], "routed to nobody"
    (resp,) = [b for b in _down(outs) if isinstance(b, CommandResponse)]
    assert resp.status == CmdStatus.VALIDATION_ERROR and "'radio'" in resp.detail and resp.cmd_id == 4


def test_comms_answers_its_own_commands_and_the_answer_goes_down() -> None:
    app = _app()
    outs = app.step(2, 0, [_in(UplinkFrame(frame(AppCommand("comms", Opcode.NOOP, 5, "ground"))))])
    (resp,) = [b for b in _down(outs) + _down(app.step(3, 0, [])) if isinstance(b, CommandResponse)]
    assert (resp.status, resp.cmd_id) == ("OK", 5)


def test_a_table_load_for_comms_replaces_its_table_and_a_dump_goes_down() -> None:
    app = _app()
    load = TableLoad("comms", "comms", 6, "ground", json.dumps({"resend_after_ticks": 30}).encode(), True)
    app.step(2, 0, [_in(UplinkFrame(frame(load)))])
    assert app.core.table.resend_after_ticks == 30
    dump_cmd = AppCommand("comms", Opcode.TABLE_DUMP, 7, "ground", {"table": "comms"})
    outs = app.step(3, 0, [_in(UplinkFrame(frame(dump_cmd)))]) + app.step(4, 0, [])
    (dump,) = [b for b in _down(outs) if isinstance(b, TableDump)]
    assert json.loads(dump.data)["resend_after_ticks"] == 30


def test_a_bad_table_for_comms_is_refused_and_the_old_one_kept() -> None:
    app = _app()
    load = TableLoad("comms", "comms", 8, "ground", b'{"tick_s": -1}', True)
    outs = app.step(2, 0, [_in(UplinkFrame(frame(load)))]) + app.step(3, 0, [])
    (resp,) = [b for b in _down(outs) if isinstance(b, CommandResponse)]
    assert resp.status == CmdStatus.VALIDATION_ERROR and "tick_s" in resp.detail
    assert app.core.table.tick_s == 1.0


def test_responses_to_onboard_senders_stay_on_board_and_ground_ones_go_down() -> None:
    app = _app()
    mine = CommandResponse(0, "OK", "", 1, "ground")
    theirs = CommandResponse(0, "OK", "", 2, "seq:warmup")
    outs = app.step(2, 0, [_in(mine, "power"), _in(theirs, "power", 2)]) + app.step(3, 0, [])
    assert [b for b in _down(outs) if isinstance(b, CommandResponse)] == [mine]


def test_comms_answers_health_pings() -> None:
    app = _app()
    outs = app.step(2, 0, [_in(HealthPing(77), "supervisor")])
    assert [(o.body, o.dst) for o in outs if isinstance(o.body, HealthPong)] == [(HealthPong(77), "supervisor")]


def test_answers_to_onboard_senders_go_on_the_bus_not_down_the_link() -> None:
    app = _app()
    outs = app.step(2, 0, [_in(AppCommand("comms", Opcode.NOOP, 3, "seq:check"), "supervisor")])
    assert [o.body for o in outs if isinstance(o.body, CommandResponse)] == [
        CommandResponse(0, "OK", "comms alive", 3, "seq:check")]
    assert not [b for b in _down(outs + app.step(3, 0, [])) if isinstance(b, CommandResponse)]
