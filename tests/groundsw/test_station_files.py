"""Result and log files into the ground station: a real CFDP class 2 FileSender (inside
comms' ResultFiles) at the spacecraft end, the station's FileReceiver at the other, and
the checks the station makes before it keeps a result (kind, SHA-256, ABFT, regeneration).
The spacecraft hears the ground's FINISHED as comms does: NO_ERROR -> ResultAck (forget
it), FILESTORE_REJECTION -> ResultNak (run the job again)."""

from __future__ import annotations

import hashlib
import json
import zlib
from pathlib import Path

import pytest

from flightsw.apps.comms.files import result_file_name
from flightsw.apps.executor.payloads import run_payload
from flightsw.icd.codec import encode
from flightsw.icd.messages import (
    Envelope,
    Event,
    JobSpec,
    JobState,
    Message,
    ResultAck,
    ResultData,
    ResultNak,
    Severity,
)
from flightsw.icd.results import MATMUL_HEADER_BYTES, sha256_digest
from flightsw.icd.value import job_value
from tests.groundsw.test_station import Ground, S, contact, downlink_frame, spec

VALUE_TOLERANCE = 1e-9  # [priority-weighted GPU-s]
MATMUL_N = 40  # 13 kB: the file takes two FileData PDUs


@pytest.fixture
def ground(tmp_path: Path, link_keyring):
    made: list[Ground] = []

    def make(jobs=(), **station_kw) -> Ground:
        g = Ground(
            tmp_path / f"ground{len(made)}" / "archive.sqlite",
            link_keyring,
            jobs,
            resend_after_ticks=1000,
            **station_kw,
        )
        made.append(g)
        return g

    yield make
    for g in made:
        g.close()


def matmul(job_id: str = "m1", n: int = MATMUL_N) -> JobSpec:
    return spec(job_id, kind="matmul", params={"n": n}, output_bytes=0)


def result(
    job: JobSpec,
    t_s: int = 2,
    data: bytes | None = None,
    kind: str | None = None,
    sha256: bytes | None = None,
) -> ResultData:
    """The job's result as the executor makes it; ``data``/``kind``/``sha256`` override
    what the executor stored (corruption on board)."""
    good = run_payload(job.kind, job.job_id, job.params, job.output_bytes, job.seed)
    data = good if data is None else data
    return ResultData(
        job.job_id,
        kind or job.kind,
        data,
        sha256_digest(data) if sha256 is None else sha256,
        t_s * S,
    )


def file_bytes(res: ResultData, t_s: int = 2) -> bytes:
    """The file comms makes of a result: its ICD encoding."""
    return encode(Message(Envelope(res.KIND, res.VERSION, "executor", 1, t_s, t_s * S, ""), res))


def flip(data: bytes, at: int, mask: int = 0x01) -> bytes:
    out = bytearray(data)
    out[at] ^= mask
    return bytes(out)


def deliver(g: Ground, res: ResultData, at: int, until: int) -> dict:
    """Offer ``res`` at tick ``at`` (in contact) and run to ``until``."""
    g.sc.offer_result(res, at * S)
    return g.run(range(at, until))


def files(g: Ground) -> list[tuple]:
    return g.rows("SELECT name, job_id, status, reason FROM files ORDER BY id")


def events_of(ticks: dict) -> list[Event]:
    return [e for t in ticks.values() for e in t.events]


# ======================================================================= good results


def test_a_good_result_is_archived_once_and_the_spacecraft_may_forget_it(ground) -> None:
    job = matmul()
    g = ground([job])
    g.step(0, [contact()])
    res = result(job)
    ticks = deliver(g, res, 2, 6)
    assert g.sc.to_executor == [ResultAck("m1")], "FINISHED NO_ERROR did not reach the sender"
    assert sum(len(t.pdus) for t in ticks.values()) >= 2, "the ground never answered by CFDP"
    assert g.rows("SELECT job_id, kind, data, sha256, received_t_ns FROM results") == [
        ("m1", "matmul", res.data, res.sha256, 2 * S)
    ]
    content = file_bytes(res)
    assert g.rows("SELECT name, job_id, size_bytes, crc32, sha256, status, data FROM files") == [
        (
            result_file_name("m1"),
            "m1",
            len(content),
            zlib.crc32(content),
            hashlib.sha256(content).hexdigest(),
            "ok",
            content,
        )
    ]
    assert g.stage_names("m1")[-2:] == ["DOWNLINKED", "ARCHIVED"]
    assert g.job_row("m1")["archived_t_ns"] == 2 * S
    report = g.station.final_report()
    assert (report["downlinked"], report["files_received"], report["results_corrupt"]) == (1, 1, 0)
    assert report["value_delivered"] == pytest.approx(
        job_value(0, 10.0, -1, 2 * S), abs=VALUE_TOLERANCE
    )


def test_a_duplicate_result_is_counted_and_still_answered_no_error(ground) -> None:
    job = spec("j1")
    g = ground([job])
    g.step(0, [contact()])
    deliver(g, result(job), 2, 5)
    deliver(g, result(job), 5, 8)  # offered again (its first ack was lost on board, say)
    assert g.sc.to_executor == [ResultAck("j1"), ResultAck("j1")]
    assert len(g.rows("SELECT job_id FROM results")) == 1, "the result was archived twice"
    assert len(files(g)) == 1, "the duplicate file was stored again"
    assert g.stage_names("j1").count("ARCHIVED") == 1
    assert g.station.final_report()["results_duplicate"] == 1


def test_a_result_damaged_on_the_link_is_nakked_and_resent_not_rejected(ground) -> None:
    job = matmul()
    g = ground([job])
    g.step(0, [contact()])
    hits = []

    def bit_error_in_first_file_data(frames):
        if not hits and len(frames) > 1:
            hits.append(1)
            frames[1] = downlink_frame(flip(frames[1].body.data, 60), frames[1].env.t_ns)
        return frames

    g.sc.damage = bit_error_in_first_file_data
    deliver(g, result(job), 2, 8)
    assert hits, "test premise: no frame was damaged"
    assert g.station.final_report()["frames_bad_by_reason"] == {"crc": 1}
    assert g.station.final_report()["cfdp_receiver"].get("nak_pdus_sent", 0) >= 1, "no NAK went up"
    assert g.sc.to_executor == [ResultAck("m1")], "a link error must not make the job run again"
    assert [s for _, _, s, _ in files(g)] == ["ok"] and g.job_row("m1")["stage"] == "ARCHIVED"


def test_the_value_delivered_counts_results_archived_by_their_deadline(ground) -> None:
    on_time = spec("on_time", priority=2, deadline_s=100, work_gpu_s=10.0)
    too_late = spec("too_late", priority=1, deadline_s=10, work_gpu_s=5.0)
    no_deadline = spec("no_deadline", priority=3, work_gpu_s=2.0)
    never = spec("never", priority=0, work_gpu_s=50.0)
    g = ground([on_time, too_late, no_deadline, never])
    g.step(0, [contact()])
    for job in (on_time, too_late, no_deadline):
        g.sc.offer_result(result(job, 40), 50 * S)
    g.run(range(50, 54))
    expected = sum(
        job_value(j.priority, j.work_gpu_s, j.deadline_t_ns, d)
        for j, d in ((on_time, 50 * S), (too_late, 50 * S), (no_deadline, 50 * S), (never, None))
    )
    assert expected == pytest.approx(4.0 * 10.0 + 8.0 * 2.0), "test premise: weights 2**priority"
    report = g.station.final_report()
    assert report["value_delivered"] == pytest.approx(expected, abs=VALUE_TOLERANCE), report
    assert report["downlinked"] == 3


def test_a_result_complete_at_loss_of_signal_is_answered_at_the_next_contact(ground) -> None:
    job = spec("j1")
    g = ground([job])
    g.step(0, [contact()])
    g.sc.offer_result(result(job), 2 * S)
    pdus = g.sc.file_frames(3 * S)  # sent just before the pass ended
    assert g.step(3, [contact(up=False), *pdus]).frames == [], "a frame went up out of contact"
    assert g.job_row("j1")["stage"] == "ARCHIVED", "kept only once the ground could answer"
    g.run(range(4, 10))
    assert g.sc.to_executor == [], "the spacecraft heard the answer out of contact"
    t = g.step(10, [contact()])
    assert t.pdus and g.sc.to_executor == [ResultAck("j1")], "not answered at the next contact"


# ================================================================== rejected results


def _abft_broken(job: JobSpec) -> bytes:
    data = run_payload(job.kind, job.job_id, job.params, job.output_bytes, job.seed)
    return flip(data, MATMUL_HEADER_BYTES + 6, 0x10)  # C[0, 0] (float64 LE) doubled or halved


def _synthetic_flipped(job: JobSpec) -> bytes:
    return flip(run_payload(job.kind, job.job_id, job.params, job.output_bytes, job.seed), 0)


CORRUPTED = {
    # name: (job, what the executor stored, reason the ground must give)
    "abft": (matmul(), lambda j: result(j, data=_abft_broken(j)), "ABFT"),
    "regeneration": (spec("s1"), lambda j: result(j, data=_synthetic_flipped(j)), "regeneration"),
    "kind": (
        matmul(),
        lambda j: result(j, data=_abft_broken(j), kind="synthetic"),
        "kind: expected 'matmul'",
    ),
    "sha256": (spec("s1"), lambda j: result(j, sha256=bytes(32)), "SHA-256 mismatch"),
}


@pytest.mark.parametrize("case", list(CORRUPTED))
def test_a_result_corrupted_on_board_is_refused_and_the_job_runs_again(ground, case) -> None:
    job, make_bad, why = CORRUPTED[case]
    g = ground([job])
    g.step(0, [contact()])
    g.step(1, [g.sc.report(JobState(job.job_id, "COMPLETED", "", 10.0), S)])
    ticks = deliver(g, make_bad(job), 2, 5)
    ((name, job_id, status, reason),) = files(g)
    assert (name, job_id, status) == (result_file_name(job.job_id), job.job_id, "rejected")
    assert why in reason, f"the stored reason {reason!r} does not say {why!r}"
    assert g.rows("SELECT job_id FROM results") == [], "a corrupted result was archived"
    stage, stage_reason = g.rows("SELECT stage, reason FROM jobs")[0]
    assert stage == "PREEMPTED" and stage_reason.startswith("result rejected:"), (
        stage,
        stage_reason,
    )
    assert [type(m) for m in g.sc.to_executor] == [ResultNak], (
        "FINISHED FILESTORE_REJECTION not heard"
    )
    (ev,) = events_of(ticks)
    assert (ev.severity, ev.name) == (
        Severity.WARNING_HI,
        "station.result_corrupt",
    ) and job.job_id in ev.text
    report = g.station.final_report()
    assert (report["results_corrupt"], report["results_nakked"], report["downlinked"]) == (1, 1, 0)


def test_after_a_rejection_the_rerun_is_recorded_until_the_good_result_is_archived(ground) -> None:
    job = spec("j1")
    g = ground([job])
    g.step(0, [contact()])
    g.step(1, [g.sc.report(JobState("j1", "COMPLETED", "", 10.0), S)])
    deliver(g, result(job, data=_synthetic_flipped(job)), 2, 4)
    for i, stage in enumerate(("STARTED", "COMPLETED")):
        g.step(4 + i, [g.sc.report(JobState("j1", stage, "", 10.0), (4 + i) * S)])
    deliver(g, result(job, 6), 6, 9)
    assert g.stage_names("j1")[-5:] == [
        "PREEMPTED",
        "STARTED",
        "COMPLETED",
        "DOWNLINKED",
        "ARCHIVED",
    ]
    assert [type(m) for m in g.sc.to_executor] == [ResultNak, ResultAck]
    assert [s for _, _, s, _ in files(g)] == ["rejected", "ok"]


def test_a_result_file_that_is_not_a_result_is_refused(ground) -> None:
    g = ground()
    g.step(0, [contact()])
    g.sc.files.sender.put("results/bogus.result", b"not an ICD message", S)
    g.run(range(1, 4))
    ((name, job_id, status, reason),) = files(g)
    assert (name, job_id, status) == ("results/bogus.result", None, "rejected") and reason, reason
    assert g.station.final_report()["cfdp_receiver"]["files_refused"] == 1, (
        "not FILESTORE_REJECTION"
    )


# ==================================================================== other files


def test_a_log_file_is_stored(ground) -> None:
    g = ground()
    g.step(0, [contact()])
    g.sc.offer_log(
        [("thermal", Event(int(Severity.WARNING_HI), "thermal.board_hot", "board 3"))], 1
    )
    g.run(range(1, 4))
    (row,) = g.rows("SELECT name, job_id, status, reason, data FROM files")
    assert row[:4] == ("logs/events-0000000001.jsonl", None, "ok", "")
    (line,) = [json.loads(x) for x in bytes(row[4]).decode().splitlines()]
    assert (line["src"], line["severity"], line["name"]) == (
        "thermal",
        "WARNING_HI",
        "thermal.board_hot",
    )
    assert g.sc.files.sender.pending() == [], "the log file's transaction did not end"


def test_a_result_for_an_unknown_job_is_stored_with_a_reason(ground) -> None:
    g = ground()
    g.step(0, [contact()])
    ticks = deliver(g, result(spec("ghost")), 1, 4)
    assert files(g) == [
        (result_file_name("ghost"), None, "ok", "result of a job this ground never sent")
    ]
    assert g.rows("SELECT job_id FROM results") == []
    assert [e.name for e in events_of(ticks)] == ["station.unknown_job"]
    assert g.sc.to_executor == [ResultAck("ghost")], "the spacecraft must be free to forget it"


def test_a_file_in_flight_shows_its_progress_in_the_archive_until_it_arrives(ground) -> None:
    job = matmul(n=300)  # 720 kB: four ticks of the spacecraft's file budget
    g = ground([job])
    g.step(0, [contact()])
    res = result(job)
    size = len(file_bytes(res))
    g.sc.offer_result(res, 2 * S)
    seen = []
    for tick in range(2, 12):
        g.step(tick)
        seen.append(g.rows("SELECT name, size_bytes, received_bytes, state, started_t_ns FROM transfers"))
    partial = [rows[0] for rows in seen if rows and 0 < rows[0][2] < size]
    assert partial, f"no transfer seen in flight: {seen}"
    assert all(r[0] == result_file_name("m1") and r[1] == size for r in partial)
    assert [r[2] for r in partial] == sorted(r[2] for r in partial), "the bytes received only grow"
    assert len({r[4] for r in partial}) == 1, "the start time is kept"
    assert seen[-1] == [], "the transfer left the table once the file arrived"
    assert files(g) == [(result_file_name("m1"), "m1", "ok", "")]
