"""The executor shell on a real sqlite ledger: commands through the app framework
(cancel, board service, table loads), durable before answered, results offered by
value, housekeeping, and the final report the harness reads."""

from __future__ import annotations

import json

import pytest

from flightsw.apps.executor.shell import ExecutorApp, make
from flightsw.apps.framework import FRAMEWORK_KINDS, TableError
from flightsw.icd.messages import (
    AppCommand,
    AppHousekeeping,
    CmdStatus,
    CommandResponse,
    Envelope,
    JobFailure,
    JobSpec,
    JobState,
    Message,
    Opcode,
    ResultData,
    ResultResync,
    TableLoad,
)
from flightsw.icd.results import sha256_digest
from tests.flightsw.apps.builders import S, budget, job_spec, thermal_caps
from tests.flightsw.apps.executor.fakes import MODEL, N, table


def msg(body, src: str = "ground", seq: int = 1) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, 0, 0), body)


def command(opcode: int, cmd_id: int = 1, **args) -> Message:
    return msg(AppCommand("executor", int(opcode), cmd_id, "ground", args))


def bodies(outs, cls) -> list:
    return [o.body for o in outs if isinstance(o.body, cls)]


@pytest.fixture
def app(tmp_path):
    a = ExecutorApp(tmp_path, MODEL, "fifo", table())
    yield a
    a.close()


def powered(*extra: Message) -> list[Message]:
    return [msg(budget(400.0), "power"), msg(thermal_caps((100.0,) * N), "thermal"), *extra]


# ----------------------------------------------------------------------- commands

def test_a_cancel_command_is_stored_before_it_is_answered(app):
    app.step(1, S, powered(msg(job_spec("a", work_gpu_s=50.0), "comms")))
    outs = app.step(2, 2 * S, powered(command(Opcode.EXEC_CANCEL_JOB, cmd_id=7, job_id="a")))
    (resp,) = bodies(outs, CommandResponse)
    assert (resp.status, resp.cmd_id) == (CmdStatus.OK.value, 7) and "a" in resp.detail
    (report,) = [b for b in bodies(outs, JobState) if b.job_id == "a"]
    assert (report.state, report.failure_code) == ("CANCELLED", JobFailure.CANCELLED)
    assert app.ledger.stages("a")[-1].state == "CANCELLED"
    assert app.ledger.stages("a")[-1].failure_code == JobFailure.CANCELLED


def test_cancelling_an_unknown_job_is_refused_naming_it(app):
    outs = app.step(1, S, powered(command(Opcode.EXEC_CANCEL_JOB, job_id="ghost")))
    (resp,) = bodies(outs, CommandResponse)
    assert resp.status == CmdStatus.VALIDATION_ERROR.value and "'ghost'" in resp.detail
    assert app.fw.cmds_rejected == 1


def test_a_board_service_command_names_a_bad_board(app):
    outs = app.step(1, S, powered(command(Opcode.EXEC_BOARD_SERVICE, board=N, in_service=False)))
    (resp,) = bodies(outs, CommandResponse)
    assert resp.status == CmdStatus.VALIDATION_ERROR.value and "args.board" in resp.detail


def test_a_board_taken_out_by_command_stays_out_after_a_restart(tmp_path):
    first = ExecutorApp(tmp_path, MODEL, "fifo", table())
    outs = first.step(1, S, powered(command(Opcode.EXEC_BOARD_SERVICE, board=1, in_service=False)))
    assert bodies(outs, CommandResponse)[0].status == CmdStatus.OK.value
    assert list(first.ledger.boards_out_of_service()) == [1]
    first.close()
    second = ExecutorApp(tmp_path, MODEL, "fifo", table())
    try:
        assert set(second.core.health.out_of_service) == {1}
        assert second.final_report()["boards_out_of_service"] == [1]
    finally:
        second.close()


def test_a_table_load_changes_the_active_parameters(app):
    load = TableLoad("executor", "executor", 3, "ground", json.dumps({"checkpoint_cost_s": 5.0}).encode())
    outs = app.step(1, S, powered(msg(load)))
    assert bodies(outs, CommandResponse)[0].status == CmdStatus.OK.value
    assert app.core.table.checkpoint_cost_s == 5.0


def test_an_invalid_table_is_rejected_naming_the_field(app):
    load = TableLoad("executor", "executor", 3, "ground", json.dumps({"hang_ticks": 0}).encode())
    outs = app.step(1, S, powered(msg(load)))
    (resp,) = bodies(outs, CommandResponse)
    assert resp.status == CmdStatus.VALIDATION_ERROR.value and "hang_ticks" in resp.detail
    assert app.core.table.hang_ticks == table().hang_ticks


def test_make_applies_a_table_and_refuses_a_bad_one(tmp_path):
    model = {"n_boards": 2, "max_power_w": 100.0, "min_power_w": 20.0}
    a = make(0, str(tmp_path / "a"), model, table={"hang_ticks": 9})
    assert a.core.table.hang_ticks == 9
    a.close()
    with pytest.raises(TableError, match="power_cycle_attempts"):
        make(0, str(tmp_path / "b"), model, table={"power_cycle_attempts": -1})


# --------------------------------------------------------------------- downlink

def test_a_resync_offers_the_most_valuable_results_first(tmp_path):
    first = ExecutorApp(tmp_path, MODEL, "fifo", table())
    for i, (priority, work_gpu_s) in enumerate([(0, 10.0), (3, 10.0), (1, 100.0), (3, 10.0)]):
        spec = JobSpec(f"j{i}", "synthetic", priority, -1, 1, work_gpu_s, 0.0, 0, 8, 0, 7, {})
        data = bytes([i]) * 8
        first.ledger.add_job(spec, "ACCEPTED", "", i)
        first.ledger.store_result(spec.job_id, "synthetic", data, sha256_digest(data), i, work_gpu_s)
    first.close()
    app = ExecutorApp(tmp_path, MODEL, "fifo", table())
    try:
        outs = app.step(1, S, [msg(ResultResync("test", 10_000), "comms")])
        # values: j0 10, j1 80, j2 200, j3 80 (the older of equal values first)
        assert [r.job_id for r in bodies(outs, ResultData)] == ["j2", "j1", "j3", "j0"]
    finally:
        app.close()


# ---------------------------------------------------------------------- reporting

def test_housekeeping_goes_out_every_ten_ticks_and_the_framework_kinds_are_subscribed(app):
    assert FRAMEWORK_KINDS <= app.subscriptions
    sent = [t for t in range(1, 31) if bodies(app.step(t, t * S, []), AppHousekeeping)]
    assert sent == [10, 20, 30]


def test_the_final_report_carries_what_the_harness_reads(app):
    app.step(1, S, powered(msg(job_spec("a"), "comms")))
    report = app.final_report()
    assert isinstance(report["sdc_detected"], int) and report["sdc_detected_jobs"] == []
    assert isinstance(report["preemptions"], int) and isinstance(report["power_cycles"], int)
    assert report["boards_out_of_service"] == [] and report["job_ids"] == ["a"]
    json.dumps(report)  # it goes into report.json


def test_statistics_is_an_immutable_snapshot(app):
    stats = app.statistics()
    with pytest.raises(TypeError):
        stats["preemptions"] = 5  # type: ignore[index]
    assert {"preemptions", "sdc_detected", "cmds_accepted"} <= set(stats)
