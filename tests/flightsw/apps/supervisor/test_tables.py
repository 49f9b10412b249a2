"""The supervisor's four tables through TableLoad: validated alone and together, rejected
whole naming the entry and field, activated atomically (flightsw.apps.supervisor.tables)."""

from __future__ import annotations

import json

import pytest

from flightsw.apps.framework import TableError, table_from_mapping
from flightsw.apps.supervisor.core import SupervisorCore
from flightsw.apps.supervisor.limits import WatchpointTable
from flightsw.apps.supervisor.tables import SupervisorTable, check_tables
from flightsw.icd.messages import (
    AppCommand,
    Opcode,
    PowerBudget,
    TableDump,
    TableLoad,
    ThermalCaps,
)
from tests.flightsw.apps.supervisor.support import bodies, ground, hub, msg, responses

SUBSCRIBED = frozenset({PowerBudget.KIND, ThermalCaps.KIND})


def load(table: str, data: dict, cmd_id: int = 1, activate: bool = True) -> object:
    body = TableLoad("supervisor", table, cmd_id, "ground", json.dumps(data).encode(), activate)
    return msg(body, src="comms", dst="supervisor")


def core() -> SupervisorCore:
    return SupervisorCore(SupervisorTable(ping_period_ticks=1000), subscribed=SUBSCRIBED)


WP = {"id": "hot", "channel": "ThermalCaps.level[0]", "operator": ">=", "value": 1}
AP = {"id": "hot_ap", "expression": "hot", "fail_count": 2,
      "command": {"target": "thermal", "opcode": 32, "args": {"enabled": False}}}


def test_a_new_watchpoint_and_actionpoint_table_load_and_take_effect():
    c = core()
    wps = {"entries": [*json.loads(c.tables.dump("watchpoints").data)["entries"], WP]}
    (r1,) = responses(c.step(0, 0, [hub(), load("watchpoints", wps, 1)]))
    aps = {"entries": [AP]}
    (r2,) = responses(c.step(1, 0, [hub(), load("actionpoints", aps, 2)]))
    assert (r1.status, r2.status) == ("OK", "OK"), (r1.detail, r2.detail)
    caps = msg(ThermalCaps(cap_w=(1.0,), shutdown=(0,), level=(1,)), src="thermal")
    sent = [bodies(c.step(k, 0, [hub(), caps]), AppCommand, "thermal") for k in (2, 3, 4)]
    assert [len(s) for s in sent] == [0, 1, 0], "the loaded actionpoint did not act after 2 failures"
    assert sent[1][0].args == {"enabled": False}


def test_an_actionpoint_naming_an_unknown_watchpoint_is_rejected_and_the_old_table_stays():
    c = core()
    before = c.tables.crc32("actionpoints")
    (r,) = responses(c.step(0, 0, [hub(), load("actionpoints", {"entries": [AP]})]))
    assert r.status == "VALIDATION_ERROR"
    assert "actionpoints.entries[0] (hot_ap).expression" in r.detail and "unknown ['hot']" in r.detail, r.detail
    assert c.tables.crc32("actionpoints") == before


def test_a_watchpoint_table_that_drops_a_watchpoint_in_use_is_rejected():
    c = core()
    (r,) = responses(c.step(0, 0, [hub(), load("watchpoints", {"entries": [WP]})]))
    assert r.status == "VALIDATION_ERROR" and "(soc_low_safe).expression" in r.detail, r.detail
    assert "unknown ['soc_low']" in r.detail, r.detail


def test_a_watchpoint_on_a_kind_not_subscribed_at_start_is_rejected():
    c = core()
    wps = {"entries": [*json.loads(c.tables.dump("watchpoints").data)["entries"],
                       {"id": "q", "channel": "ExecutorStatus.jobs_queued", "operator": ">", "value": 100}]}
    (r,) = responses(c.step(0, 0, [hub(), load("watchpoints", wps)]))
    assert r.status == "VALIDATION_ERROR" and "entries[2] (q).channel" in r.detail and "ExecutorStatus" in r.detail


def test_a_staged_table_is_checked_against_the_others_again_at_activation():
    c = core()
    red_only = {"entries": [{"id": "r", "expression": "board_red"}]}
    staged = {"entries": [{"id": "x", "expression": "soc_low"}]}
    wps = {"entries": [{"id": "board_red", "channel": "ThermalCaps.level[*]", "operator": ">=", "value": 2}]}
    steps = [load("actionpoints", red_only, 1), load("actionpoints", staged, 2, activate=False),
             load("watchpoints", wps, 3)]  # soc_low goes: no active actionpoint reads it
    for k, m in enumerate(steps):
        (r,) = responses(c.step(k, 0, [hub(), m]))
        assert r.status == "OK", f"load {k}: {r.detail}"
    (r,) = responses(c.step(3, 0, [hub(), ground(Opcode.TABLE_ACTIVATE, {"table": "actionpoints"}, 4)]))
    assert r.status == "VALIDATION_ERROR" and "unknown ['soc_low']" in r.detail, r.detail
    assert [a.id for a in c.tables.active["actionpoints"].entries] == ["r"]


def test_an_actionpoint_may_only_name_a_stored_sequence():
    c = core()
    aps = {"entries": [{"id": "x", "expression": "soc_low", "sequence": "nope"}]}
    (r,) = responses(c.step(0, 0, [hub(), load("actionpoints", aps)]))
    assert r.status == "VALIDATION_ERROR" and "(x).sequence: expected one of ['noop_all'], got 'nope'" in r.detail


def test_a_sequence_table_loads_from_json_and_dumps_back_the_same():
    c = core()
    seqs = {"entries": [{"name": "heat", "steps": [
        {"command": {"target": "thermal", "opcode": 32, "args": {"enabled": True}}, "at_s": 0},
        {"command": {"target": "supervisor", "opcode": 80, "args": {"mode": "NOMINAL"}}, "at_t_s": 500.5},
    ]}]}
    (r,) = responses(c.step(0, 0, [hub(), load("sequences", seqs)]))
    assert r.status == "OK", r.detail
    out = c.step(1, 0, [hub(), ground(Opcode.TABLE_DUMP, {"table": "sequences"}, 2)])
    (dump,) = bodies(out, TableDump)
    again = table_from_mapping(type(c.tables.active["sequences"]), json.loads(dump.data))
    assert again == c.tables.active["sequences"], "a dump does not load back to the same table"


def test_the_supervisor_table_is_validated_naming_the_field():
    for change, says in [({"ping_warn_ticks": 1}, "ping_warn_ticks expected >= 2"),
                         ({"ping_fatal_ticks": 3, "ping_warn_ticks": 3}, "ping_fatal_ticks expected > ping_warn_ticks"),
                         ({"watched": ["power", "supervisor"]}, "watched expected no 'supervisor'"),
                         ({"watched": ["power", "power"]}, "watched expected unique names"),
                         ({"max_restarts": -1}, "max_restarts expected in [0, 1000]")]:
        with pytest.raises(TableError) as info:
            table_from_mapping(SupervisorTable, change)
        assert says in str(info.value), f"{change}: {info.value}"


def test_tables_that_disagree_are_refused_at_construction():
    wps = table_from_mapping(WatchpointTable, {"entries": [WP]})
    with pytest.raises(TableError, match="unknown"):
        SupervisorCore(watchpoints=wps)  # the default actionpoints read soc_low and board_red
    check_tables({"watchpoints": wps, "actionpoints": table_from_mapping(
        type(SupervisorCore().tables.active["actionpoints"]), {"entries": [AP]}),
        "sequences": SupervisorCore().tables.active["sequences"]}, SUBSCRIBED)
