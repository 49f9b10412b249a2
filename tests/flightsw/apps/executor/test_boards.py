"""Board health: a hung board is power-cycled and its job resumes from its checkpoint; a
board that does not come back or stops answering is taken out of service, durably; the
EXEC_BOARD_SERVICE command; jobs that need more boards than remain."""

from __future__ import annotations

from flightsw.apps.executor.boards import BoardHealth
from flightsw.apps.executor.core import ExecutorCore
from flightsw.apps.executor.ops import Checkpoint, SetBoardService
from flightsw.apps.executor.shell import apply_op
from flightsw.icd.messages import (
    BoardCommand,
    BoardSensors,
    Event,
    ExecutorStatus,
    JobAck,
    JobFailure,
    JobState,
    Severity,
)
from flightsw.sched import POLICIES
from flightsw.store.ledger import Ledger
from tests.flightsw.apps.builders import S, budget, job_spec
from tests.flightsw.apps.executor.fakes import (
    MODEL,
    FakeBoards,
    N,
    Sim,
    new_core,
    of,
    reports,
    table,
)

NO_POWER = budget(0.0)


def events(outs, name: str) -> list[Event]:
    return [e for e in of(outs, Event) if e.name == name]


def fill_boards(sim: Sim, work_gpu_s: float = 100.0, **spec) -> None:
    """One single-board job per board, all running."""
    sim.run(3, submits=[job_spec(f"j{b}", work_gpu_s=work_gpu_s, **spec) for b in range(N)])
    assert len(sim.core.running) == N


# ---------------------------------------------------------------------------- hangs

def test_a_hung_board_is_power_cycled_and_its_job_resumes_from_its_checkpoint():
    boards = FakeBoards()
    sim = Sim(new_core(hang_ticks=5), boards=boards)
    sim.step(submits=[job_spec("a", work_gpu_s=30.0, checkpoint_interval_s=5.0)])  # t = 1 s, board 0
    sim.run(8)  # checkpoint at t = 6 s (4 GPU-s); 7 GPU-s by t = 9 s
    boards.hung.add(0)
    quiet = 0
    while not sim.core.health.power_cycles:
        ops, outs = sim.step()
        quiet += 1
        assert quiet <= 7, "the hang was not noticed"
    assert quiet >= 5, f"a hang declared after {quiet} ticks, before hang_ticks"
    (ev,) = events(outs, "executor.board_power_cycle")
    assert ev.severity == Severity.WARNING_HI and "board 0" in ev.text
    pre, resumed = [o for o in of(outs, JobState) if o.job_id == "a"]
    assert pre.state == "PREEMPTED" and "hung" in pre.reason
    assert resumed.state == "STARTED" and 0 not in sim.core.jobs["a"].boards, "it resumes on another board"
    assert sim.core.jobs["a"].checkpoint_gpu_s == 4.0 and pre.work_done_gpu_s == 4.0, \
        "the job must go back to its checkpoint: the hung board's memory is gone"
    (cmd,) = of(outs, BoardCommand)
    assert cmd.on[0] == 0, "the hung board was not switched off"
    sim.until(lambda core: core.jobs["a"].state == "COMPLETED", limit=60)
    assert boards.off_ticks_seen.get(0, 0) >= 1, "the world never saw the board off: no power cycle"
    assert sim.core.health.power_cycles == 1 and sim.core.health.out_of_service == {}


def test_the_power_cycled_board_is_used_again():
    boards = FakeBoards()
    sim = Sim(new_core(hang_ticks=3), boards=boards)
    fill_boards(sim)
    boards.hung.add(0)
    sim.until(lambda core: core.health.power_cycles == 1, limit=10)
    _, outs = sim.run(4)
    assert any(c.on[0] == 1 and c.job_id[0] for c in of(outs, BoardCommand)), "board 0 was not given work again"
    assert 0 not in boards.hung


def test_a_board_that_keeps_hanging_is_taken_out_of_service_after_its_power_cycles():
    boards = FakeBoards(sticky_hang={0})
    sim = Sim(new_core(hang_ticks=3, power_cycle_attempts=2), boards=boards)
    fill_boards(sim)
    ops, outs = sim.until(lambda core: 0 in core.health.out_of_service, limit=60)
    assert sim.core.health.power_cycles == 2
    (ev,) = events(outs, "executor.board_out_of_service")
    assert ev.severity == Severity.WARNING_HI and "after 2 power cycle(s)" in ev.text
    assert [op for op in ops if isinstance(op, SetBoardService)] == [SetBoardService(0, False, sim.t_ns - S, ev.text)]
    _, outs = sim.run(10)
    assert all(c.on[0] == 0 for c in of(outs, BoardCommand)), "a board out of service was switched on"


def test_a_board_that_does_not_come_back_after_power_on_is_power_cycled():
    boards = FakeBoards(never_boots={0})
    sim = Sim(new_core(boot_timeout_s=5.0, power_cycle_attempts=1), boards=boards)
    fill_boards(sim)
    _, outs = sim.until(lambda core: core.health.power_cycles == 1, limit=10)
    assert "not up 5 s after power-on" in events(outs, "executor.board_power_cycle")[0].text
    sim.until(lambda core: 0 in core.health.out_of_service, limit=20)


def test_a_slow_boot_within_the_timeout_is_not_a_failure():
    sim = Sim(new_core(boot_timeout_s=10.0), boards=FakeBoards(boot_ticks=6))
    sim.step(submits=[job_spec("a", work_gpu_s=5.0)])
    sim.until(lambda core: core.jobs["a"].state == "COMPLETED", limit=30)
    assert sim.core.health.power_cycles == 0


def test_a_cold_board_that_does_not_boot_is_waiting_not_failing():
    health = BoardHealth(2)
    tbl = table(boot_timeout_s=5.0, cold_boot_limit_c=0.0)
    for temp_c, expected in ((-10.0, []), (20.0, ["power_cycle"])):
        health = BoardHealth(2)
        off = BoardSensors(temp_c=(temp_c, 20.0), power_w=(0.0, 0.0), work_gpu_s=(0.0, 0.0), job_id=("", ""),
                           radiator_temp_c=0.0, state=(0, 0))
        got = []
        for k in range(10):
            got += [a.kind for a in health.observe(k, k * S, off, ("a", ""), tbl)]
        assert got == expected, f"at {temp_c} degC: {got}"


# ------------------------------------------------------------------- dead boards

def test_a_board_that_stops_answering_is_taken_out_of_service_durably(tmp_path):
    ledger = Ledger(tmp_path / "executor.sqlite")
    boards = FakeBoards()
    sim = Sim(new_core(no_response_ticks=4), boards=boards)
    sim.step(submits=[job_spec("a", work_gpu_s=30.0, checkpoint_interval_s=3.0)])
    sim.run(6)
    boards.failed.add(0)
    ops, outs = sim.until(lambda core: 0 in core.health.out_of_service, limit=10)
    (ev,) = events(outs, "executor.board_out_of_service")
    assert ev.severity == Severity.WARNING_HI and "no response for 4 ticks" in ev.text
    assert sim.core.jobs["a"].state in ("PREEMPTED", "STARTED") and sim.core.jobs["a"].boards != (0,)
    for _, ops, _ in sim.log:
        for op in ops:
            apply_op(ledger, op)
    assert list(ledger.boards_out_of_service()) == [0]

    core = ExecutorCore(model=MODEL, policy=POLICIES["fifo"], table=table())  # a restart
    core.restore(ledger.jobs(), [], ledger.boards_out_of_service(), ledger.counters())
    again = Sim(core, tick=sim.tick)
    again.tick = 31
    _, outs = again.run(10, submits=[job_spec(f"n{b}", work_gpu_s=50.0) for b in range(N)])
    assert all(c.on[0] == 0 for c in of(outs, BoardCommand)), "a board out of service came back after a restart"
    (status,) = of(outs, ExecutorStatus)
    assert status.boards_out_of_service == (0,)
    ledger.close()


def test_jobs_needing_more_boards_than_remain_in_service_fail_with_no_boards():
    sim = Sim()
    sim.step(budget=NO_POWER, submits=[job_spec("big", boards_needed=N), job_spec("small")])
    sim.core.set_board_service(2, False, sim.t_ns)
    _, outs = sim.step(budget=NO_POWER)
    assert reports(outs, "big") == [("FAILED", JobFailure.NO_BOARDS)]
    assert sim.core.jobs["small"].active
    _, outs = sim.step(budget=NO_POWER, submits=[job_spec("big2", boards_needed=N)])
    (ack,) = of(outs, JobAck)
    assert not ack.accepted and ack.reason.startswith("boards_needed") and "in service" in ack.reason


# ---------------------------------------------------------------- the command

def test_taking_a_busy_board_out_by_command_preempts_its_job_with_a_checkpoint():
    sim = Sim()
    sim.run(5, submits=[job_spec("a", work_gpu_s=50.0)])
    assert sim.core.jobs["a"].boards == (0,)
    detail = sim.core.set_board_service(0, False, sim.t_ns)
    assert "board 0" in detail
    ops, outs = sim.step()
    assert any(isinstance(op, Checkpoint) and "a" in op.progress_gpu_s for op in ops), \
        "a planned removal must checkpoint the job"
    assert SetBoardService(0, False, sim.t_ns - S, "board 0: taken out of service by command") in ops
    (ev,) = events(outs, "executor.board_out_of_service")
    assert ev.severity == Severity.ACTIVITY_HI, "an ordered removal is not a warning"
    assert 0 not in sim.core.jobs["a"].boards


def test_a_board_put_back_in_service_is_used_again():
    sim = Sim()
    sim.core.set_board_service(0, False, sim.t_ns)
    sim.run(3, submits=[job_spec(f"j{b}", work_gpu_s=50.0) for b in range(N)])
    assert sim.core.jobs["j3"].state == "ACCEPTED", "three boards cannot run four jobs"
    assert "already out" in sim.core.set_board_service(0, False, sim.t_ns)
    sim.core.set_board_service(0, True, sim.t_ns)
    ops, _ = sim.run(2)
    assert SetBoardService(0, True, sim.t_ns - 2 * S, "put back in service by command") in ops
    assert sim.core.jobs["j3"].boards == (0,)
    assert "already in" in sim.core.set_board_service(0, True, sim.t_ns)


def test_an_upset_in_work_rolled_back_after_a_hang_is_listed_as_discarded_not_detected():
    boards = FakeBoards()
    sim = Sim(new_core(hang_ticks=3), boards=boards)
    sim.step(submits=[job_spec("m", kind="matmul", params={"n": 8}, work_gpu_s=20.0, checkpoint_interval_s=2.0)])
    sim.run(5)
    boards.pending_hits[0] = 1
    sim.step()
    boards.hung.add(0)  # before the next checkpoint can be written
    sim.until(lambda core: core.health.power_cycles == 1, limit=10)
    assert sim.core.jobs["m"].upsets == sim.core.jobs["m"].ckpt_upsets == [0]
    assert sim.core.sdc_discarded_jobs == {"m"} and sim.core.sdc_detected_jobs == set()
    sim.until(lambda core: core.jobs["m"].state == "COMPLETED", limit=60)
    assert sim.core.sdc_detected == 0, "the redone work is clean"
