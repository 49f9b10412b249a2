"""The thermal guard on the bus: framework commands and tables, heater commands on change
and heartbeat, caps, housekeeping, statistics."""

from __future__ import annotations

import json

import pytest

from flightsw.apps.framework import FRAMEWORK_KINDS
from flightsw.apps.thermal.shell import ThermalApp, make
from flightsw.icd.messages import (
    AppCommand,
    AppHousekeeping,
    BoardSensors,
    CommandResponse,
    Envelope,
    Event,
    HealthPing,
    HealthPong,
    HeaterCommand,
    Message,
    Opcode,
    PowerSensors,
    TableLoad,
    ThermalCaps,
)
from tests.flightsw.apps.thermal.helpers import battery, readings

HARNESS_TABLE = {"n_boards": 4, "max_power_w": 700.0, "min_power_w": 200.0, "cap_start_c": 75.0,
                 "limit_c": 85.0, "restart_below_c": 70.0}
HEARTBEAT = ThermalApp.HEARTBEAT_TICKS


def msg(body, src: str = "world", seq: int = 1) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, 0, 0), body)


def tick(app: ThermalApp, k: int, temps=(40.0,) * 4, battery_c: float = 20.0, extra=()):
    return app.step(k, k * 1_000_000_000, [msg(readings(*temps)), msg(battery(battery_c)), *extra])


def bodies(outs, cls):
    return [(o.body, o.dst) for o in outs if isinstance(o.body, cls)]


def test_make_takes_the_harness_table_and_subscribes_to_what_it_reads():
    app = make(0, table=dict(HARNESS_TABLE))
    assert app.fw.tables.active["thermal"].board.yellow_hi_c == 75.0
    assert {BoardSensors.KIND, PowerSensors.KIND} | FRAMEWORK_KINDS <= app.subscriptions


def test_heater_commands_go_to_the_world_on_change_and_every_heartbeat():
    app = make(0, table=dict(HARNESS_TABLE))
    sent = {k: bodies(tick(app, k, battery_c=20.0 if k < 15 else 0.0), HeaterCommand) for k in range(1, 30)}
    ticks = [k for k, b in sent.items() if b]
    assert ticks == [1, 11, 15, 25], f"heater commands at ticks {ticks}"
    assert all(dst == "world" for b in sent.values() for _, dst in b)
    assert sent[15][0][0].on == (0, 1), "the cold battery's heater was not commanded on"


def test_the_set_heaters_command_inhibits_flight_heater_control_at_once():
    app = make(0, table=dict(HARNESS_TABLE))
    tick(app, 1, battery_c=0.0)
    cmd = AppCommand("thermal", Opcode.THERMAL_SET_HEATERS, 9, "ground", {"enabled": False})
    outs = tick(app, 2, battery_c=0.0, extra=[msg(cmd, "comms")])
    (resp,) = [b for b, _ in bodies(outs, CommandResponse)]
    assert resp.status == "OK" and resp.cmd_id == 9
    assert bodies(outs, HeaterCommand)[0][0].on == (0, 0)
    assert app.statistics()["heaters_enabled"] is False


def test_a_set_heaters_command_without_a_boolean_is_rejected_naming_the_argument():
    app = make(0, table=dict(HARNESS_TABLE))
    cmd = AppCommand("thermal", Opcode.THERMAL_SET_HEATERS, 3, "ground", {"enabled": 1})
    (resp,) = [b for b, _ in bodies(tick(app, 1, extra=[msg(cmd, "comms")]), CommandResponse)]
    assert resp.status == "VALIDATION_ERROR" and "args.enabled" in resp.detail
    assert app.statistics()["cmds_rejected"] == 1 and app.statistics()["heaters_enabled"] is True


def test_the_caps_carry_levels_heater_power_and_the_radiator_capacity():
    app = make(0, table=dict(HARNESS_TABLE))
    outs = tick(app, 1, temps=(40.0, 40.0, 40.0, 2.0), battery_c=0.0)
    (caps,) = [b for b, _ in bodies(outs, ThermalCaps)]
    assert caps.level == (0, 0, 0, 0)
    assert caps.heater_w == pytest.approx(100.0 + 120.0), "plate heater plus battery heater"
    assert caps.radiator_capacity_w > 0.0


def test_a_table_load_is_validated_whole_and_then_used():
    app = make(0, table=dict(HARNESS_TABLE))
    bad = TableLoad("thermal", "thermal", 5, "ground", json.dumps({"heater_deadband_c": -1}).encode())
    (resp,) = [b for b, _ in bodies(tick(app, 1, extra=[msg(bad, "comms")]), CommandResponse)]
    assert resp.status == "VALIDATION_ERROR" and "heater_deadband_c" in resp.detail
    good = TableLoad("thermal", "thermal", 6, "ground", json.dumps({"battery_heater_power_w": 50.0}).encode())
    outs = tick(app, 2, battery_c=0.0, extra=[msg(good, "comms")])
    (caps,) = [b for b, _ in bodies(outs, ThermalCaps)]
    assert caps.heater_w == pytest.approx(50.0), "the loaded table was not used"


def test_pings_are_answered_and_housekeeping_is_sent_every_ten_ticks():
    app = make(0, table=dict(HARNESS_TABLE))
    outs = tick(app, 10, extra=[msg(HealthPing(77), "supervisor")])
    assert bodies(outs, HealthPong) == [(HealthPong(77), "supervisor")]
    (hk,) = [b for b, _ in bodies(outs, AppHousekeeping)]
    assert hk.tables == ("thermal",)
    assert bodies(tick(app, 11), AppHousekeeping) == []


def test_level_events_go_through_the_framework_throttle():
    app = make(0, table=dict(HARNESS_TABLE))
    yellow = 0
    for k in range(1, 200):  # the board flips in and out of yellow every few ticks
        hot = (k // 4) % 2 == 0
        outs = tick(app, k, temps=(80.0 if hot else 40.0, 40.0, 40.0, 40.0))
        yellow += sum(1 for b, _ in bodies(outs, Event) if b.name == "thermal.board_yellow")
    assert yellow == app.fw.events.limit, "yellow events were not throttled"
    assert app.statistics()["events_throttled"] > 0


def test_statistics_are_an_immutable_snapshot():
    app = make(0, table=dict(HARNESS_TABLE))
    tick(app, 1)
    stats = app.statistics()
    with pytest.raises(TypeError):
        stats["shutdowns"] = 5  # type: ignore[index]
    tick(app, 2, temps=(90.0,) * 4)
    tick(app, 3, temps=(90.0,) * 4)
    tick(app, 4, temps=(90.0,) * 4)
    assert stats["shutdowns"] == 0 and app.statistics()["shutdowns"] == 4


def test_a_board_shut_down_hot_stays_down_after_a_restart_until_it_has_cooled(tmp_path):
    app = make(0, table=dict(HARNESS_TABLE), store_dir=str(tmp_path))
    outs = []
    for k in range(1, 8):
        outs += tick(app, k, temps=(90.0, 40.0, 40.0, 40.0))
    (caps, _), = bodies(outs, ThermalCaps)[-1:]
    assert caps.cap_w[0] == 0.0 and caps.shutdown[0] == 1, "the hot board was not shut down"
    app.close()  # a crash after the latch was stored
    again = make(0, table=dict(HARNESS_TABLE), store_dir=str(tmp_path))
    outs = tick(again, 8, temps=(80.0, 40.0, 40.0, 40.0))  # cooler, not yet below restart_below_c
    (caps, _), = bodies(outs, ThermalCaps)
    assert caps.cap_w[0] == 0.0, "a restarted guard let a latched board run before it cooled"
    outs = []
    for k in range(9, 20):
        outs += tick(again, k, temps=(60.0, 40.0, 40.0, 40.0))
    (caps, _), = bodies(outs, ThermalCaps)[-1:]
    assert caps.cap_w[0] > 0.0, "the board never came back after cooling"
    fresh = make(0, table=dict(HARNESS_TABLE))  # without a store: nothing kept (the old behaviour)
    (caps, _), = bodies(tick(fresh, 1, temps=(80.0, 40.0, 40.0, 40.0)), ThermalCaps)
    assert caps.cap_w[0] > 0.0
    again.close()
