"""The executor and comms together: no completed result is ever stranded by the downlink
queue's bounded memory (the real ExecutorApp on a sqlite ledger, the real comms core; the
test plays the bus and the ground)."""

from __future__ import annotations

from flightsw.apps.comms.core import CommsCore, CommsTable
from flightsw.apps.executor.shell import ExecutorApp
from flightsw.icd.linkframe import decode_frame, encode_frame
from flightsw.icd.messages import (
    ContactState,
    DownlinkFrame,
    Envelope,
    JobSpec,
    Message,
    ResultAck,
    ResultData,
    ResultResync,
)
from flightsw.icd.results import sha256_digest
from flightsw.sched import BoardModel

S = 1_000_000_000
N_RESULTS = 30
RESULT_BYTES = 100
QUEUE_BYTES = 1000  # room for 10 results
OUT_OF_CONTACT = ContactState(False, "", 0.0, 0.0)
IN_CONTACT = ContactState(True, "madrid", 8.0 * 250, 8000.0)  # 250 B per tick: about 2 results


def _store_results(app: ExecutorApp) -> None:
    """N_RESULTS completed jobs whose results wait in the ledger, as after a long eclipse."""
    for i in range(N_RESULTS):
        spec = JobSpec(f"j{i:02d}", "synthetic", 0, -1, 1, 1.0, 0.0, 0, RESULT_BYTES, 0, 7, {})
        data = bytes([i]) * RESULT_BYTES
        app.ledger.add_job(spec, "ACCEPTED", "", i)
        app.ledger.store_result(spec.job_id, "synthetic", data, sha256_digest(data), i, 1.0)


def _msg(body, src: str, tick: int) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, tick + 1, tick, tick * S, ""), body)


def test_every_result_reaches_the_ground_through_a_queue_a_third_their_size(tmp_path):
    model = BoardModel(n_boards=2, max_power_w=100.0, min_power_w=20.0)
    first = ExecutorApp(tmp_path, model, "fifo")
    _store_results(first)
    first.close()
    app = ExecutorApp(tmp_path, model, "fifo")  # restarts with 30 unacknowledged results
    comms = CommsCore(table=CommsTable(max_queue_bytes=QUEUE_BYTES, resync_every_ticks=5))
    to_exec: list = []
    to_comms: list = []
    delivered: set[str] = set()
    acks: list[bytes] = []
    resyncs = 0
    for tick in range(400):
        contact = IN_CONTACT if tick >= 100 else OUT_OF_CONTACT
        outs = app.step(tick, tick * S, [_msg(b, "comms", tick) for b in to_exec])
        to_exec = []
        to_comms += [o.body for o in outs if isinstance(o.body, ResultData)]
        uplink, acks = acks, []
        for body, dst in comms.step(tick, tick * S, contact, uplink, to_comms):
            if dst == "executor":
                to_exec.append(body)
                resyncs += isinstance(body, ResultResync)
            elif isinstance(body, DownlinkFrame):  # the ground archives and acknowledges
                got = decode_frame(body.data).body
                if isinstance(got, ResultData):
                    delivered.add(got.job_id)
                    env = Envelope(ResultAck.KIND, ResultAck.VERSION, "ground", tick, tick, tick * S, "sat")
                    acks.append(encode_frame(Message(env, ResultAck(got.job_id))))
        to_comms = []
        assert comms.queued_bytes <= QUEUE_BYTES + RESULT_BYTES, "comms exceeded its memory bound"
    assert delivered == {f"j{i:02d}" for i in range(N_RESULTS)}, (
        f"results stranded: {sorted({f'j{i:02d}' for i in range(N_RESULTS)} - delivered)}"
    )
    assert app.unacked_sizes == {}, "the executor still waits for acknowledgements"
    assert resyncs >= 3, f"the window never had to be refilled ({resyncs} resyncs): the test proves nothing"
    app.close()
