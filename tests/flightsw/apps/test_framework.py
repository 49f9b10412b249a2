"""The common app framework: commands, tables, events, health."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

import pytest

from flightsw.apps.framework import (
    AppFramework,
    CommandError,
    EventLog,
    TableError,
    TableService,
    arg_int,
    table_from_mapping,
)
from flightsw.icd.codec import decode, encode
from flightsw.icd.messages import (
    TABLE_LOAD_OPCODE,
    AppCommand,
    CmdStatus,
    CommandResponse,
    Envelope,
    HealthPing,
    HealthPong,
    Message,
    Opcode,
    Severity,
    TableDump,
    TableLoad,
)


@dataclass(frozen=True)
class Limits:
    floor: float = 0.2
    count: int = 3
    names: tuple[str, ...] = ("a", "b")

    def __post_init__(self) -> None:
        if not 0.0 <= self.floor < 1.0:
            raise TableError(f"limits: floor expected in [0, 1), got {self.floor}")


def _msg(body, src: str = "ground", seq: int = 1) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, 0, 0), body)


def _fw(**handlers) -> tuple[AppFramework, list]:
    calls: list = []

    def bump(args, tick):
        n = arg_int(args, "n", 1, 10)
        calls.append((n, tick))
        return f"bumped by {n}"

    fw = AppFramework("power", tables=TableService({"limits": Limits()}), handlers={16: bump, **handlers})
    return fw, calls


def _responses(out) -> list[CommandResponse]:
    return [b for b, _ in out if isinstance(b, CommandResponse)]


def test_noop_answers_ok_and_counts() -> None:
    fw, _ = _fw()
    out = fw.handle(5, [_msg(AppCommand("power", Opcode.NOOP, 7, "ground"))])
    (resp,) = _responses(out)
    assert (resp.status, resp.cmd_id, resp.opcode, resp.source) == ("OK", 7, 0, "ground")
    assert fw.housekeeping().cmds_accepted == 1 and fw.housekeeping().cmds_rejected == 0


def test_commands_for_another_app_are_ignored() -> None:
    fw, calls = _fw()
    assert fw.handle(1, [_msg(AppCommand("thermal", 16, 1, "ground", {"n": 2}))]) == []
    assert calls == []


def test_unknown_opcode_is_invalid_opcode_and_counted_as_rejected() -> None:
    fw, _ = _fw()
    (resp,) = _responses(fw.handle(1, [_msg(AppCommand("power", 999, 1, "ground"))]))
    assert resp.status == CmdStatus.INVALID_OPCODE and "999" in resp.detail
    assert fw.cmds_rejected == 1


def test_bad_argument_is_a_validation_error_naming_the_argument() -> None:
    fw, calls = _fw()
    (resp,) = _responses(fw.handle(1, [_msg(AppCommand("power", 16, 1, "ground", {"n": 99}))]))
    assert resp.status == CmdStatus.VALIDATION_ERROR
    assert "args.n" in resp.detail and "99" in resp.detail and "[1, 10]" in resp.detail
    assert calls == []


def test_a_repeated_command_id_has_no_second_effect() -> None:
    fw, calls = _fw()
    cmd = AppCommand("power", 16, 42, "ground", {"n": 3})
    first = _responses(fw.handle(1, [_msg(cmd)]))
    again = _responses(fw.handle(2, [_msg(cmd, seq=2)]))
    assert calls == [(3, 1)]
    assert first == again
    fw.handle(3, [_msg(AppCommand("power", 16, 42, "seq:x", {"n": 3}))])  # another source's id 42
    assert calls == [(3, 1), (3, 3)]


def test_table_load_activates_atomically_and_dump_round_trips() -> None:
    fw, _ = _fw()
    data = json.dumps({"floor": 0.3, "names": ["x"]}).encode()
    (resp,) = _responses(fw.handle(1, [_msg(TableLoad("power", "limits", 3, "ground", data, True))]))
    assert resp.status == "OK" and resp.opcode == TABLE_LOAD_OPCODE
    assert fw.tables.active["limits"] == Limits(floor=0.3, count=3, names=("x",))
    out = fw.handle(2, [_msg(AppCommand("power", Opcode.TABLE_DUMP, 4, "ground", {"table": "limits"}))])
    (dump,) = [b for b, _ in out if isinstance(b, TableDump)]
    assert json.loads(dump.data) == {"count": 3, "floor": 0.3, "names": ["x"]}
    assert dump.crc32 == zlib.crc32(dump.data) == fw.housekeeping().table_crc32[0]
    assert decode(encode(_msg(dump))).body == dump


@pytest.mark.parametrize(("values", "words"), [
    ({"floor": 1.5}, ["floor", "1.5", "[0, 1)"]),
    ({"floor": "high"}, ["Limits.floor", "number", "str"]),
    ({"count": 2.5}, ["Limits.count", "integer"]),
    ({"count": True}, ["Limits.count", "integer", "bool"]),
    ({"ceiling": 3}, ["unknown", "ceiling"]),
    ({"names": ["ok", 3]}, ["Limits.names[1]", "string"]),
    ([1, 2], ["expected a table"]),
])
def test_an_invalid_table_is_rejected_whole_with_the_field_named(values, words) -> None:
    fw, _ = _fw()
    before = fw.tables.active["limits"]
    data = json.dumps(values).encode()
    (resp,) = _responses(fw.handle(1, [_msg(TableLoad("power", "limits", 3, "ground", data, True))]))
    assert resp.status == CmdStatus.VALIDATION_ERROR
    for w in words:
        assert w in resp.detail, (w, resp.detail)
    assert fw.tables.active["limits"] is before


def test_a_table_that_is_not_json_is_a_format_error() -> None:
    fw, _ = _fw()
    (resp,) = _responses(fw.handle(1, [_msg(TableLoad("power", "limits", 3, "ground", b"\xff{", True))]))
    assert resp.status == CmdStatus.FORMAT_ERROR


def test_staged_table_waits_for_activate_and_abort_drops_it() -> None:
    fw, _ = _fw()
    fw.handle(1, [_msg(TableLoad("power", "limits", 1, "ground", b'{"count": 9}', False))])
    assert fw.tables.active["limits"].count == 3
    (resp,) = _responses(fw.handle(2, [_msg(AppCommand("power", Opcode.TABLE_ACTIVATE, 2, "g", {"table": "limits"}))]))
    assert resp.status == "OK" and fw.tables.active["limits"].count == 9
    (resp,) = _responses(fw.handle(3, [_msg(AppCommand("power", Opcode.TABLE_ACTIVATE, 3, "g", {"table": "limits"}))]))
    assert resp.status == CmdStatus.EXECUTION_ERROR and "nothing staged" in resp.detail
    fw.handle(4, [_msg(TableLoad("power", "limits", 4, "ground", b'{"count": 1}', False))])
    (resp,) = _responses(fw.handle(5, [_msg(AppCommand("power", Opcode.TABLE_ABORT, 5, "g", {"table": "limits"}))]))
    assert resp.status == "OK" and fw.tables.active["limits"].count == 9 and not fw.tables.staged


def test_unknown_table_name_is_named() -> None:
    fw, _ = _fw()
    (resp,) = _responses(fw.handle(1, [_msg(TableLoad("power", "nope", 1, "ground", b"{}", True))]))
    assert resp.status == CmdStatus.VALIDATION_ERROR and "'nope'" in resp.detail and "limits" in resp.detail


def test_reset_counters_clears_framework_and_app_counters() -> None:
    reset = []
    fw, _ = _fw()
    fw.on_reset = lambda: reset.append(1)
    fw.handle(1, [_msg(AppCommand("power", 999, 1, "g"))])
    fw.handle(2, [_msg(AppCommand("power", Opcode.RESET_COUNTERS, 2, "g"))])
    hk = fw.housekeeping()
    # the reset's own event is the one event counted after it
    assert (hk.cmds_accepted, hk.cmds_rejected, hk.events_sent) == (0, 0, 1) and reset == [1]


def test_ping_is_answered_to_its_sender_with_its_nonce() -> None:
    fw, _ = _fw()
    assert fw.handle(1, [_msg(HealthPing(123456), src="supervisor")]) == [(HealthPong(123456), "supervisor")]


def test_event_throttling_holds_repeats_back_but_never_fatal_or_warning_hi() -> None:
    log = EventLog(limit=2, window_ticks=10)
    got = [log.emit(t, Severity.WARNING_LO, "x.flap", "again") for t in range(5)]
    assert [e is not None for e in got] == [True, True, False, False, False]
    later = log.emit(10, Severity.WARNING_LO, "x.flap", "again")
    assert later is not None and "3 like it held back" in later.text
    assert all(log.emit(11, Severity.FATAL, "x.fatal", "boom") for _ in range(20))
    assert all(log.emit(11, Severity.WARNING_HI, "x.hi", "hot") for _ in range(20))
    st = log.statistics()
    assert st.throttled == 3 and st.sent == 43 and st.by_severity["FATAL"] == 20


def test_table_from_mapping_merges_over_the_active_table() -> None:
    base = Limits(floor=0.1, count=7)
    assert table_from_mapping(Limits, {"floor": 0.5}, base=base) == Limits(floor=0.5, count=7)
    with pytest.raises(TableError):
        table_from_mapping(Limits, {"floor": -1.0}, base=base)


def test_command_error_carries_status() -> None:
    e = CommandError(CmdStatus.BUSY, "later")
    assert e.status == CmdStatus.BUSY and str(e) == "later"


@dataclass(frozen=True)
class _Cmd:
    target: str = "power"
    opcode: int = 0


@dataclass(frozen=True)
class _Entry:
    name: str = "e"
    limit: float | None = None
    cmd: _Cmd | None = None


@dataclass(frozen=True)
class _Entries:
    entries: tuple[_Entry, ...] = ()


def test_a_json_list_of_objects_becomes_a_tuple_of_nested_tables_with_optional_fields() -> None:
    got = table_from_mapping(_Entries, {"entries": [
        {"name": "a", "limit": 3, "cmd": {"target": "thermal", "opcode": 32}},
        {"name": "b", "limit": None, "cmd": None},
    ]})
    assert got == _Entries((_Entry("a", 3.0, _Cmd("thermal", 32)), _Entry("b", None, None)))
    assert type(got.entries[0].limit) is float, "an optional number was not converted"
    assert table_from_mapping(_Entries, json.loads(json.dumps({"entries": [{"name": "c"}]}))) == \
        _Entries((_Entry("c"),))


def test_an_error_inside_a_nested_table_names_the_entry_and_the_field() -> None:
    with pytest.raises(TableError, match=r"_Entries\.entries\[1\]: .*_Cmd\.opcode: expected an integer"):
        table_from_mapping(_Entries, {"entries": [{"name": "a"}, {"cmd": {"opcode": "x"}}]})
    with pytest.raises(TableError, match=r"entries\[0\]: _Entry\.limit: expected a number"):
        table_from_mapping(_Entries, {"entries": [{"limit": "high"}]})


def test_statistics_is_an_immutable_snapshot() -> None:
    fw, _ = _fw()
    stats = fw.statistics()
    with pytest.raises(TypeError):
        stats["cmds_accepted"] = 99  # type: ignore[index]
    fw.handle(1, [_msg(AppCommand("power", Opcode.NOOP, 1, "ground"))])
    assert stats["cmds_accepted"] == 0 and fw.statistics()["cmds_accepted"] == 1
