"""Comms shell: uplinked commands and table loads reach their app; answers to the ground go
down as PUS 1/7 or 1/8 naming the command's telecommand, answers to onboard senders stay on
the bus; comms' own commands and tables work like any app's."""

from __future__ import annotations

import json
import zlib

import pytest

from flightsw.apps.comms.core import CommsTable
from flightsw.apps.comms.shell import CommsApp
from flightsw.bus.participant import Out
from flightsw.icd.messages import (
    AppCommand,
    AppHousekeeping,
    CmdStatus,
    CommandResponse,
    Envelope,
    HealthPing,
    HealthPong,
    Message,
    Opcode,
    TableDump,
    TableLoad,
    UplinkFrame,
)
from flightsw.icd.spacelink import APIDS
from tests.flightsw.apps.builders import LINK_KEYS, S, frame, request_id, signer
from tests.flightsw.apps.comms.ground import IN_CONTACT, decoded, not_down, reports


def _in(body, src: str = "world", seq: int = 1) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, 0, 0), body)


def _app() -> CommsApp:
    app = CommsApp(CommsTable(), LINK_KEYS)
    app.step(1, S, [_in(IN_CONTACT)])
    return app


def _step(app: CommsApp, tick: int, *inbox: Message) -> list[Out]:
    return app.step(tick, tick * S, list(inbox))


def _up(tc: bytes) -> Message:
    return _in(UplinkFrame(tc))


def test_an_uplinked_command_goes_to_its_target_app_unchanged_and_is_accepted() -> None:
    app = _app()
    cmd = AppCommand("executor", Opcode.EXEC_CANCEL_JOB, 9, "ground", {"job_id": "job-1"})
    tc = frame(cmd, signer())
    outs = _step(app, 2, _up(tc))
    assert [(o.body, o.dst) for o in outs if isinstance(o.body, AppCommand)] == [(cmd, "executor")]
    assert [(t.service, t.subtype, t.request_id) for t in decoded(outs)] == [(1, 1, request_id(tc))]
    assert app.statistics()["commands_routed"] == 1


@pytest.mark.parametrize(("status", "subtype"), [(CmdStatus.OK, 7), (CmdStatus.EXECUTION_ERROR, 8),
                                                 (CmdStatus.VALIDATION_ERROR, 8)])
def test_an_apps_answer_to_a_ground_command_goes_down_naming_its_telecommand(status, subtype) -> None:
    app = _app()
    tc = frame(AppCommand("power", Opcode.POWER_SET_MODE_LIMIT, 21, "ground", {"mode": "SAFE"}), signer())
    _step(app, 2, _up(tc))
    resp = CommandResponse(Opcode.POWER_SET_MODE_LIMIT, status.value, "done", 21, "ground")
    (tm,) = decoded(_step(app, 3, _in(resp, "power")))
    assert (tm.service, tm.subtype, tm.request_id, tm.apid) == (1, subtype, request_id(tc), APIDS["power"])
    assert tm.message.body == resp


def test_comms_answers_its_own_commands_and_the_answer_goes_down() -> None:
    app = _app()
    tc = frame(AppCommand("comms", Opcode.NOOP, 5, "ground"), signer())
    got = reports(_step(app, 2, _up(tc)) + _step(app, 3))
    assert [(t.subtype, t.request_id) for t in got] == [(1, request_id(tc)), (7, request_id(tc))]
    assert (got[1].message.body.status, got[1].message.body.cmd_id) == ("OK", 5)
    assert got[1].apid == APIDS["comms"]


def test_a_table_load_for_comms_replaces_its_table_and_a_dump_goes_down_as_201_2() -> None:
    app = _app()
    load = TableLoad("comms", "comms", 6, "ground", json.dumps({"hk_every_ticks": 7}).encode(), True)
    got = reports(_step(app, 2, _up(frame(load, signer(next_seq=1)))) + _step(app, 3))
    assert [t.message.body.status for t in got if t.message is not None] == ["OK"]
    assert app.core.table.hk_every_ticks == 7, "the loaded table is not the one comms uses"
    dump_tc = frame(AppCommand("comms", Opcode.TABLE_DUMP, 7, "ground", {"table": "comms"}), signer(next_seq=2))
    got = decoded(_step(app, 4, _up(dump_tc)) + _step(app, 5))
    (dump,) = [t for t in got if (t.service, t.subtype) == (201, 2)]
    body = dump.message.body
    assert isinstance(body, TableDump) and json.loads(body.data)["hk_every_ticks"] == 7
    assert body.crc32 == zlib.crc32(body.data)
    assert [(t.service, t.subtype, t.request_id) for t in got if t.service != 5] == [
        (1, 1, request_id(dump_tc)), (1, 7, request_id(dump_tc)), (201, 2, 0)]
    assert [t.message.body.name for t in got if t.service == 5] == ["comms.command"]


def test_a_bad_table_for_comms_is_refused_and_the_old_one_kept() -> None:
    app = _app()
    load = TableLoad("comms", "comms", 8, "ground", b'{"tick_s": -1}', True)
    tc = frame(load, signer())
    got = reports(_step(app, 2, _up(tc)) + _step(app, 3))
    (resp,) = [t for t in got if t.message is not None]
    assert (resp.subtype, resp.request_id) == (8, request_id(tc))
    assert resp.message.body.status == CmdStatus.VALIDATION_ERROR and "tick_s" in resp.message.body.detail
    assert app.core.table.tick_s == 1.0


def test_responses_to_onboard_senders_stay_on_board_and_ground_ones_go_down() -> None:
    app = _app()
    mine = CommandResponse(0, "OK", "", 1, "ground")
    theirs = CommandResponse(0, "OK", "", 2, "seq:warmup")
    outs = _step(app, 2, _in(mine, "power"), _in(theirs, "power", 2)) + _step(app, 3)
    assert [t.message.body for t in decoded(outs)] == [mine]


def test_comms_answers_health_pings() -> None:
    app = _app()
    outs = _step(app, 2, _in(HealthPing(77), "supervisor"))
    assert [(o.body, o.dst) for o in outs if isinstance(o.body, HealthPong)] == [(HealthPong(77), "supervisor")]


def test_answers_to_onboard_senders_go_on_the_bus_not_down_the_link() -> None:
    app = _app()
    outs = _step(app, 2, _in(AppCommand("comms", Opcode.NOOP, 3, "seq:check"), "supervisor"))
    assert [b for b, _ in not_down(outs) if isinstance(b, CommandResponse)] == [
        CommandResponse(0, "OK", "comms alive", 3, "seq:check")]
    assert reports(outs + _step(app, 3)) == [], "an answer to an onboard sender went down"


def test_comms_own_events_go_down_the_link() -> None:
    app = _app()
    outs = _step(app, 2, _up(b"junk"))
    assert [b.name for b, _ in not_down(outs) if hasattr(b, "severity")] == ["comms.tc_rejected.length"]
    got = decoded(outs + _step(app, 3))
    assert [t.message.body.name for t in got if t.service == 5] == ["comms.tc_rejected.length"], (
        "the ground never hears that its telecommand was refused")


def test_comms_own_command_counters_go_down_as_housekeeping() -> None:
    app = CommsApp(CommsTable(hk_every_ticks=10), LINK_KEYS)
    got = []
    for tick in range(1, 32):
        got += decoded(_step(app, tick, _in(IN_CONTACT)))
    kinds = {type(t.message.body) for t in got if t.service == 3}
    assert AppHousekeeping in kinds, f"housekeeping that went down: {sorted(k.__name__ for k in kinds)}"
