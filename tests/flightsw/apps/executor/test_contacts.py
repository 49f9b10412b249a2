"""The executor's contact plan, the "contacts" table (flightsw/apps/executor/contacts.py):
validated whole with the bad field named, loaded at start, replaced in flight by a
TableLoad through the app framework, dumped and loaded back as is; the policy sees the
passes still ahead."""

from __future__ import annotations

import json

import pytest

from flightsw.apps.executor.contacts import MAX_PASSES, ContactTable
from flightsw.apps.executor.shell import ExecutorApp, make
from flightsw.apps.framework import TableError, table_from_mapping
from flightsw.icd.messages import (
    AppCommand,
    CmdStatus,
    CommandResponse,
    Envelope,
    Message,
    Opcode,
    TableDump,
    TableLoad,
)
from flightsw.sched import POLICIES
from tests.flightsw.apps.builders import S, budget, job_spec, thermal_caps
from tests.flightsw.apps.executor.fakes import MODEL, N, table

PASSES = [[100 * S, 700 * S], [6000 * S, 6600 * S]]


def load(passes) -> ContactTable:
    """The table as a TableLoad builds it: from JSON values, through the framework."""
    return table_from_mapping(ContactTable, {"passes": passes})


# ---------------------------------------------------------------------------- validation


def test_a_good_contact_plan_loads_as_pairs_in_time_order() -> None:
    t = load(PASSES)
    assert t.passes == ((100 * S, 700 * S), (6000 * S, 6600 * S))
    assert load([[0, 5], [5, 9]]).passes == ((0, 5), (5, 9)), "a pass may start as the previous one ends"
    assert load([]).passes == ()


@pytest.mark.parametrize("passes, field", [
    ("soon", r"ContactTable\.passes: expected an array"),
    ([[1, 2, 3]], r"ContactTable\.passes\[0\]: expected a pair"),
    ([[1, 2], 7], r"ContactTable\.passes\[1\]: expected a pair"),
    ([[1.5, 2]], r"ContactTable\.passes\[0\]\[0\]: expected an integer"),
    ([[1, "2"]], r"ContactTable\.passes\[0\]\[1\]: expected an integer"),
    ([[True, 2]], r"ContactTable\.passes\[0\]\[0\]: expected an integer"),
    ([[-1, 2]], r"ContactTable\.passes\[0\]\[0\]: expected an integer in \[0"),
    ([[5, 5]], r"ContactTable\.passes\[0\]: expected aos_t_ns < los_t_ns, got \[5, 5\]"),
    ([[10, 20], [1, 5]], r"ContactTable\.passes\[1\]: expected to start at or after the previous pass ends \(20\)"),
    ([[10, 20], [15, 30]], r"ContactTable\.passes\[1\]: .*not overlapping.*got aos_t_ns 15"),
    ([[2 * i, 2 * i + 1] for i in range(MAX_PASSES + 1)], rf"ContactTable\.passes: expected at most {MAX_PASSES}"),
])
def test_a_bad_contact_plan_is_refused_naming_the_field(passes, field) -> None:
    with pytest.raises(TableError, match=field):
        load(passes)


def test_the_passes_ahead_include_the_one_in_progress_and_none_that_ended() -> None:
    t = load(PASSES)
    assert t.ahead(0) == t.passes
    assert t.ahead(300 * S) == t.passes, "the pass in progress is still ahead"
    assert t.ahead(700 * S) == ((6000 * S, 6600 * S),), "a pass whose LOS is now is over"
    assert t.ahead(7000 * S) == ()


def test_make_loads_the_contact_plan_and_refuses_a_bad_one_naming_the_field(tmp_path) -> None:
    model = {"n_boards": N, "max_power_w": 100.0, "min_power_w": 20.0, "throughput_exponent": 0.6}
    app = make(0, str(tmp_path / "a"), model, contacts=PASSES)
    try:
        assert app.core.contacts.passes == ((100 * S, 700 * S), (6000 * S, 6600 * S))
        assert app.core.model.throughput_exponent == 0.6
        assert app.fw.tables.active["contacts"] is app.core.contacts
    finally:
        app.close()
    with pytest.raises(TableError, match=r"ContactTable\.passes\[0\]: expected aos_t_ns < los_t_ns"):
        make(0, str(tmp_path / "b"), model, contacts=[[9, 3]])


def test_the_default_policy_is_predictive(tmp_path) -> None:
    app = make(0, str(tmp_path), {"n_boards": N, "max_power_w": 100.0, "min_power_w": 20.0})
    try:
        assert app.core.policy is POLICIES["predictive"]
    finally:
        app.close()


# ------------------------------------------------------------------------------ in flight


def msg(body, src: str = "ground") -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, 1, 0, 0), body)


def powered(*extra: Message) -> list[Message]:
    return [msg(budget(400.0), "power"), msg(thermal_caps((100.0,) * N), "thermal"), *extra]


def table_load(passes, cmd_id: int = 3, activate: bool = True) -> Message:
    return msg(TableLoad("executor", "contacts", cmd_id, "ground", json.dumps({"passes": passes}).encode(), activate))


def responses(outs) -> list[CommandResponse]:
    return [o.body for o in outs if isinstance(o.body, CommandResponse)]


class Recording:
    """fifo, keeping the passes of each plan's context."""

    def __init__(self) -> None:
        self.passes: list[tuple] = []

    def __call__(self, views, budget_w, caps, model, *, ctx=None):
        self.passes.append(ctx.passes)
        return POLICIES["fifo"](views, budget_w, caps, model, ctx=ctx)


@pytest.fixture
def app(tmp_path):
    a = ExecutorApp(tmp_path, MODEL, "fifo", table(), ContactTable(((100 * S, 700 * S),)))
    a.core.policy = Recording()  # fifo, keeping the passes each plan saw
    yield a
    a.close()


def test_a_table_load_in_flight_replaces_the_contact_plan_the_policy_plans_with(app) -> None:
    app.step(1, S, powered(msg(job_spec("a", work_gpu_s=1000.0), "comms")))
    assert app.core.policy.passes[-1] == ((100 * S, 700 * S),)
    outs = app.step(2, 2 * S, powered(table_load(PASSES), msg(job_spec("b", work_gpu_s=1000.0), "comms")))
    (resp,) = responses(outs)
    assert resp.status == CmdStatus.OK.value, resp.detail
    assert app.core.contacts.passes == ((100 * S, 700 * S), (6000 * S, 6600 * S))
    assert app.core.policy.passes[-1] == app.core.contacts.passes, "the plan after the load used the old passes"


def test_a_bad_table_load_is_refused_naming_the_field_and_the_old_plan_stays(app) -> None:
    old = app.core.contacts
    outs = app.step(1, S, powered(table_load([[100 * S, 700 * S], [600 * S, 900 * S]])))
    (resp,) = responses(outs)
    assert resp.status == CmdStatus.VALIDATION_ERROR.value and "ContactTable.passes[1]" in resp.detail, resp.detail
    assert app.core.contacts is old and app.fw.tables.active["contacts"] is old


def test_a_staged_contact_plan_takes_effect_only_when_activated(app) -> None:
    app.step(1, S, powered(table_load(PASSES, activate=False)))
    assert app.core.contacts.passes == ((100 * S, 700 * S),)
    cmd = AppCommand("executor", int(Opcode.TABLE_ACTIVATE), 4, "ground", {"table": "contacts"})
    app.step(2, 2 * S, powered(msg(cmd)))
    assert app.core.contacts.passes == ((100 * S, 700 * S), (6000 * S, 6600 * S))


def test_a_dumped_contact_plan_loads_back_as_the_same_table(app) -> None:
    app.step(1, S, powered(table_load(PASSES)))
    outs = app.step(2, 2 * S, powered(msg(AppCommand("executor", int(Opcode.TABLE_DUMP), 5, "ground",
                                                      {"table": "contacts"}))))
    (dump,) = [o.body for o in outs if isinstance(o.body, TableDump)]
    assert json.loads(dump.data) == {"passes": PASSES}
    outs = app.step(3, 3 * S, powered(msg(TableLoad("executor", "contacts", 6, "ground", dump.data, True))))
    assert responses(outs)[0].status == CmdStatus.OK.value
    assert app.fw.tables.crc32("contacts") == dump.crc32, "the dump did not load back as the same table"
