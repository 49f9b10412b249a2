"""The executor and comms together: no completed result is ever stranded by the downlink
window's bounded memory, and the ground's verdict on each result file reaches the ledger.

The real ExecutorApp on a sqlite ledger, the real comms core, and a real CFDP FileReceiver
(flightsw.icd.cfdp) as the ground end; the test plays the bus (one tick of latency, as the
hub gives) and the radio (the receiver's answers go up as signed telecommands)."""

from __future__ import annotations

from spacepackets.cfdp import ConditionCode

from flightsw.apps.comms.core import CommsCore, CommsTable
from flightsw.apps.comms.shell import CommsApp
from flightsw.apps.executor.shell import ExecutorApp
from flightsw.icd.codec import decode
from flightsw.icd.messages import (
    ContactState,
    Envelope,
    JobSpec,
    JobState,
    Message,
    ResultData,
    ResultResync,
)
from flightsw.icd.results import sha256_digest
from flightsw.sched import BoardModel
from tests.flightsw.apps.builders import S, verifier
from tests.flightsw.apps.comms.ground import Ground, not_down

N_RESULTS = 30
RESULT_BYTES = 100
QUEUE_BYTES = 1000  # room for 10 results: a third of them
OUT_OF_CONTACT = ContactState(False, "", 0.0, 0.0)
IN_CONTACT = ContactState(True, "madrid", 8.0 * 600, 8000.0)  # 600 B per tick: about 2 results
AOS_TICK = 100
JOB_IDS = [f"j{i:02d}" for i in range(N_RESULTS)]


def _store_results(app: ExecutorApp) -> None:
    """N_RESULTS completed jobs whose results wait in the ledger, as after a long eclipse."""
    for i, job_id in enumerate(JOB_IDS):
        spec = JobSpec(job_id, "synthetic", 0, -1, 1, 1.0, 0.0, 0, RESULT_BYTES, 0, 7, {})
        data = bytes([i]) * RESULT_BYTES
        app.ledger.add_job(spec, "ACCEPTED", "", i)
        app.ledger.store_result(spec.job_id, "synthetic", data, sha256_digest(data), i, 1.0)


def _msg(body, src: str, tick: int) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, tick + 1, tick, tick * S, ""), body)


def _restarted_executor(store_dir) -> ExecutorApp:
    model = BoardModel(n_boards=2, max_power_w=100.0, min_power_w=20.0)
    first = ExecutorApp(store_dir, model, "fifo")
    _store_results(first)
    first.close()
    return ExecutorApp(store_dir, model, "fifo")  # restarts with 30 unacknowledged results


def _fly(app: ExecutorApp, comms: CommsCore, ground: Ground, ticks: range) -> dict:
    """Run the executor, comms and the ground in lockstep; -> what the test checks."""
    to_exec: list = []
    to_comms: list = []
    uplink: list[bytes] = []
    seen = {"resyncs": 0, "max_queued_bytes": 0, "exec_out": []}
    for tick in ticks:
        contact = IN_CONTACT if tick >= AOS_TICK else OUT_OF_CONTACT
        outs = app.step(tick, tick * S, [_msg(b, "comms", tick) for b in to_exec])
        seen["exec_out"] += [o.body for o in outs]
        to_comms = [_msg(o.body, "executor", tick) for o in outs
                    if o.dst == "comms" or (o.dst == "" and o.body.KIND in CommsApp.subscriptions)]
        out = comms.step(tick, tick * S, contact, uplink, to_comms)
        to_exec = [b for b, dst in not_down(out) if dst == "executor"]
        seen["resyncs"] += sum(isinstance(b, ResultResync) for b in to_exec)
        ground.receive(out, tick * S)
        uplink = ground.answer(tick * S, contact.in_contact)
        seen["max_queued_bytes"] = max(seen["max_queued_bytes"], comms.files.queued_bytes)
    return seen


def test_every_result_reaches_the_ground_through_a_window_a_third_their_size(tmp_path) -> None:
    app = _restarted_executor(tmp_path)
    table = CommsTable(max_queue_bytes=QUEUE_BYTES, resync_every_ticks=5)
    comms = CommsCore(table, verifier())
    ground = Ground(table)
    seen = _fly(app, comms, ground, range(400))
    got = {decode(data).body.job_id: decode(data).body for data in ground.files.values()}
    assert sorted(got) == JOB_IDS, f"results stranded: {sorted(set(JOB_IDS) - set(got))}"
    assert all(got[j].data == bytes([i]) * RESULT_BYTES for i, j in enumerate(JOB_IDS)), "a result changed"
    assert sorted(ground.files) == [f"results/{j}.result" for j in JOB_IDS]
    assert app.unacked_sizes == {}, "the executor still waits for acknowledgements"
    assert {j.state for j in app.ledger.jobs()} == {"DOWNLINKED"}, "a delivered result is not DOWNLINKED"
    assert seen["max_queued_bytes"] <= QUEUE_BYTES, f"comms held {seen['max_queued_bytes']} B of results"
    assert seen["resyncs"] >= 3, f"the window never had to be refilled ({seen['resyncs']} resyncs): the test proves nothing"
    app.close()


def test_a_result_the_ground_rejects_is_discarded_and_its_job_runs_again(tmp_path) -> None:
    app = _restarted_executor(tmp_path)
    table = CommsTable(max_queue_bytes=QUEUE_BYTES, resync_every_ticks=5)
    comms = CommsCore(table, verifier())

    def verdict(name: str, data: bytes) -> ConditionCode:
        rejected = decode(data).body.job_id == "j03"
        return ConditionCode.FILESTORE_REJECTION if rejected else ConditionCode.NO_ERROR

    ground = Ground(table, verdict=verdict)
    seen = _fly(app, comms, ground, range(AOS_TICK - 5, AOS_TICK + 120))
    assert "results/j03.result" in ground.files, "the rejected result never went down"
    assert "j03" not in app.unacked_sizes, "the executor still holds the result the ground proved wrong"
    states = {j.spec.job_id: j.state for j in app.ledger.jobs()}
    assert states["j03"] == "PREEMPTED", f"j03 is {states['j03']}: not queued to run again"
    assert [b.state for b in seen["exec_out"] if isinstance(b, JobState) and b.job_id == "j03"] == ["PREEMPTED"]
    others = {s for j, s in states.items() if j != "j03"}
    assert others == {"DOWNLINKED"}, f"the other results: {others}"
    assert comms.statistics()["results_rejected_by_ground"] == 1
    out = seen["exec_out"]
    rerun = next(i for i, b in enumerate(out) if isinstance(b, JobState) and b.job_id == "j03")
    assert not [b for b in out[rerun:] if isinstance(b, ResultData) and b.job_id == "j03"], (
        "the result the ground proved wrong was offered again")
    app.close()
