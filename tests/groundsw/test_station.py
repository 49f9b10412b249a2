"""The ground station (groundsw/station.py) against a real sqlite archive.

Downlink frames are built as the spacecraft builds them: an ICD message from "sat" to
"ground", encoded with its link CRC (flightsw.icd.linkframe) and wrapped in a
DownlinkFrame that the world delivers to the station.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from flightsw.apps.executor.payloads import run_payload
from flightsw.icd.linkframe import decode_frame, encode_frame
from flightsw.icd.messages import (
    ContactState,
    DownlinkFrame,
    Envelope,
    Event,
    JobAck,
    JobSpec,
    JobState,
    Message,
    ResultAck,
    ResultData,
    Severity,
    UplinkFrame,
)
from flightsw.icd.results import MATMUL_HEADER_BYTES, sha256_digest
from flightsw.icd.value import job_value
from groundsw.station import Station

S = 1_000_000_000  # [ns] per 1 s tick
RESEND_TICKS = 5
UPLINK_BPS = 1e6  # [bit/s] plenty for a few jobs per tick


def spec(job_id: str = "j1", release_s: int = 0, priority: int = 0, deadline_s: int | None = None,
         work_gpu_s: float = 10.0, kind: str = "synthetic", params: dict | None = None) -> JobSpec:
    return JobSpec(job_id=job_id, kind=kind, priority=priority,
                   deadline_t_ns=-1 if deadline_s is None else deadline_s * S, boards_needed=1,
                   work_gpu_s=work_gpu_s, checkpoint_interval_s=0.0, input_bytes=0,
                   output_bytes=64, release_t_ns=release_s * S, seed=7, params=params or {})


@pytest.fixture
def make_station(tmp_path: Path):
    made: list[Station] = []

    def make(jobs: list[JobSpec], resend_after_ticks: int = RESEND_TICKS) -> Station:
        st = Station(tmp_path / f"archive{len(made)}.db", jobs, resend_after_ticks)
        made.append(st)
        return st

    yield make
    for st in made:
        st.close()


def contact(uplink_bps: float = UPLINK_BPS, up: bool = True) -> Message:
    body = ContactState(up, "madrid" if up else "", 50e6 if up else 0.0, uplink_bps if up else 0.0)
    return Message(Envelope(body.KIND, body.VERSION, "world", 1, 0, 0, ""), body)


def downlink(body, seq: int = 1, tick: int = 0) -> Message:
    """``body`` as the spacecraft sends it, delivered by the world's radio."""
    env = Envelope(body.KIND, body.VERSION, "sat", seq, tick, tick * S, "ground")
    frame = DownlinkFrame(encode_frame(Message(env, body)))
    return Message(Envelope(frame.KIND, frame.VERSION, "world", seq, tick, tick * S, "station"), frame)


def result(job: JobSpec, t_s: int = 0) -> ResultData:
    data = run_payload(job.kind, job.job_id, job.params, job.output_bytes, job.seed)
    return ResultData(job.job_id, job.kind, data, sha256_digest(data), t_s * S)


def uplinked(outs) -> list[Message]:
    """Decoded uplink frames the station produced; each must go to the world's radio."""
    frames = [(b, dst) for b, dst in outs if isinstance(b, UplinkFrame)]
    assert all(dst == "world" for _, dst in frames), "an uplink frame not addressed to the world"
    return [decode_frame(b.data) for b, _ in frames]


def events(outs) -> list[Event]:
    return [b for b, _ in outs if isinstance(b, Event)]


def step(st: Station, tick: int, inbox: list[Message] | None = None):
    return st.step(tick, tick * S, inbox or [])


# ---------------------------------------------------------------------- release


def test_jobs_are_released_at_their_release_time(make_station) -> None:
    st = make_station([spec("early", 0), spec("late", 5)])
    step(st, 0)
    assert [j["job_id"] for j in st.archive.jobs()] == ["early"], "release order wrong at tick 0"
    step(st, 4)
    assert len(st.archive.jobs()) == 1, "a job was released before its time"
    step(st, 5)
    late = {j["job_id"]: j for j in st.archive.jobs()}["late"]
    assert late["stage"] == "RELEASED" and late["released_t_ns"] == 5 * S, f"late job is {late}"


# ----------------------------------------------------------------------- uplink


def test_nothing_is_uploaded_without_a_contact(make_station) -> None:
    st = make_station([spec("j1")])
    assert uplinked(step(st, 0)) == [], "uploaded before any contact state"
    assert uplinked(step(st, 1, [contact(up=False)])) == [], "uploaded out of contact"
    assert st.archive.jobs()[0]["stage"] == "RELEASED", "a job not sent was marked SENT"


def test_released_jobs_are_uploaded_in_contact_and_marked_sent(make_station) -> None:
    jobs = [spec("j1"), spec("j2", priority=3, deadline_s=600)]
    st = make_station(jobs)
    sent = uplinked(step(st, 0, [contact()]))
    assert [m.body for m in sent] == jobs, "uploaded specs differ from the released ones"
    assert all((m.env.src, m.env.dst) == ("ground", "sat") for m in sent), "wrong link addresses"
    seqs = [m.env.seq for m in sent]
    assert seqs == sorted(set(seqs)), f"link sequence numbers not increasing: {seqs}"
    assert [j["stage"] for j in st.archive.jobs()] == ["SENT", "SENT"], "jobs not marked SENT"


def test_a_job_is_not_uploaded_before_its_release(make_station) -> None:
    st = make_station([spec("later", release_s=3)])
    for tick in range(3):
        assert uplinked(step(st, tick, [contact()] if tick == 0 else [])) == [], (
            f"uploaded at tick {tick}, before its release at 3"
        )
    assert [m.body.job_id for m in uplinked(step(st, 3))] == ["later"], "not uploaded on release"


def test_uploads_stay_within_the_uplink_byte_budget(make_station) -> None:
    jobs = [spec(f"job-{i:03d}") for i in range(30)]
    frame_bytes = len(encode_frame(Message(Envelope(400, 1, "ground", 999, 0, 0, "sat"), jobs[0])))
    budget_bytes = 2.5 * frame_bytes  # per 1 s tick
    st = make_station(jobs, resend_after_ticks=1000)  # no resends inside the test
    sent_bytes, sent_ids, largest = 0, [], 0
    for tick in range(20):
        outs = step(st, tick, [contact(uplink_bps=budget_bytes * 8)] if tick == 0 else [])
        frames = [b.data for b, _ in outs if isinstance(b, UplinkFrame)]
        sent_bytes += sum(len(f) for f in frames)
        largest = max([largest, *map(len, frames)])
        sent_ids += [decode_frame(f).body.job_id for f in frames]
        assert sent_bytes <= (tick + 1) * budget_bytes + largest, (
            f"{sent_bytes} bytes by tick {tick}: more than the budget plus one frame"
        )
    assert sorted(sent_ids) == [j.job_id for j in jobs], "not every job was uploaded exactly once"


def test_unacknowledged_jobs_are_resent_after_resend_after_ticks(make_station) -> None:
    st = make_station([spec("j1")])
    sent_at = [tick for tick in range(12)
               if uplinked(step(st, tick, [contact()] if tick == 0 else []))]
    assert sent_at == [0, RESEND_TICKS, 2 * RESEND_TICKS], f"sent at ticks {sent_at}"
    sent = [s for s, _, _ in st.archive.stages("j1") if s == "SENT"]
    assert len(sent) == 1, "a resend recorded another SENT stage"


@pytest.mark.parametrize("ack", [JobAck("j1", True, ""), JobAck("j1", False, "full"),
                                 JobState("j1", "STARTED", "", 0.0)],
                         ids=["accepted", "rejected", "state"])
def test_a_job_the_spacecraft_answered_for_is_not_resent(make_station, ack) -> None:
    st = make_station([spec("j1")])
    step(st, 0, [contact()])
    step(st, 2, [downlink(ack, tick=1)])
    resent = [tick for tick in range(3, 3 * RESEND_TICKS) if uplinked(step(st, tick))]
    assert resent == [], f"resent at {resent} after the spacecraft answered"


def test_answers_from_the_spacecraft_set_the_job_stage(make_station) -> None:
    st = make_station([spec("j1"), spec("j2")])
    step(st, 0, [contact()])
    step(st, 1, [downlink(JobAck("j1", True, "stored")), downlink(JobAck("j2", False, "full"), 2)])
    stages = {j["job_id"]: (j["stage"], j["reason"]) for j in st.archive.jobs()}
    assert stages == {"j1": ("ACCEPTED", "stored"), "j2": ("REJECTED", "full")}, f"{stages}"


def test_a_late_report_of_an_earlier_stage_is_ignored(make_station) -> None:
    st = make_station([spec("j1")])
    step(st, 0, [contact()])
    step(st, 1, [downlink(JobState("j1", "COMPLETED", "", 10.0), 2),
                 downlink(JobState("j1", "STARTED", "", 0.0), 3)])
    assert st.archive.jobs()[0]["stage"] == "COMPLETED", "a late STARTED moved the job back"


# ---------------------------------------------------------------------- results


def _results_rows(st: Station) -> int:
    db = sqlite3.connect(st.archive.path)
    try:
        return db.execute("SELECT COUNT(*) FROM results").fetchone()[0]
    finally:
        db.close()


def test_a_good_result_is_archived_once_and_acknowledged_every_time(make_station) -> None:
    job = spec("j1")
    st = make_station([job])
    step(st, 0, [contact()])
    res = result(job, 5)
    acks = []
    for tick in (6, 7):
        acks += [m.body for m in uplinked(step(st, tick, [downlink(res, seq=tick, tick=tick - 1)]))]
    assert acks == [ResultAck("j1"), ResultAck("j1")], f"acks {acks}: one per arrival expected"
    assert st.archive.result("j1") == ("synthetic", res.data, res.sha256), "result not archived"
    assert _results_rows(st) == 1, "the result was archived twice"
    assert st.archive.jobs()[0]["stage"] == "ARCHIVED", "job not ARCHIVED"
    report = st.final_report()
    assert report["results_duplicate"] == 1 and report["downlinked"] == 1, f"report {report}"


def test_a_corrupted_result_is_neither_archived_nor_acknowledged(make_station) -> None:
    job = spec("j1")
    st = make_station([job])
    step(st, 0, [contact()])
    good = result(job, 5)
    flipped = bytes([good.data[0] ^ 0xFF]) + good.data[1:]
    bad = ResultData(good.job_id, good.kind, flipped, good.sha256, good.completed_t_ns)
    outs = step(st, 6, [downlink(bad, tick=5)])
    assert [m for m in uplinked(outs) if isinstance(m.body, ResultAck)] == [], (
        "a corrupted result was acknowledged"
    )
    assert st.archive.result("j1") is None, "a corrupted result was archived"
    (ev,) = events(outs)
    assert ev.severity == Severity.WARNING_HI and ev.name == "station.result_corrupt", f"{ev}"
    assert "j1" in ev.text and "sha256" in ev.text, f"event text does not say why: {ev.text}"
    assert st.final_report()["results_corrupt"] == 1, "corruption not counted"


def test_a_matmul_result_that_fails_abft_is_rejected_even_with_a_matching_sha256(
    make_station,
) -> None:
    job = spec("m1", kind="matmul", params={"n": 4})
    st = make_station([job])
    step(st, 0, [contact()])
    good = result(job, 5)
    data = bytearray(good.data)
    data[MATMUL_HEADER_BYTES + 3] ^= 0x40  # an exponent bit of C[0, 0]
    tampered = ResultData("m1", "matmul", bytes(data), sha256_digest(bytes(data)), 5 * S)
    outs = step(st, 6, [downlink(tampered, tick=5)])
    assert st.archive.result("m1") is None, "a matmul result failing ABFT was archived"
    assert "ABFT" in events(outs)[0].text, f"event does not name the ABFT check: {events(outs)}"
    assert uplinked(step(st, 7, [downlink(good, 2, tick=6)]))[0].body == ResultAck("m1"), (
        "the intact result that followed was not acknowledged"
    )


def test_a_result_whose_kind_differs_from_its_job_is_not_archived(make_station) -> None:
    job = spec("m1", kind="matmul", params={"n": 4})
    st = make_station([job])
    step(st, 0, [contact()])
    data = bytearray(result(job, 5).data)
    data[MATMUL_HEADER_BYTES + 3] ^= 0x40  # C corrupted before it was hashed: only ABFT sees it
    disguised = ResultData("m1", "synthetic", bytes(data), sha256_digest(bytes(data)), 5 * S)
    step(st, 6, [downlink(disguised, tick=5)])
    assert st.archive.result("m1") is None, "a matmul result skipped ABFT by claiming another kind"


def test_a_result_that_arrives_out_of_contact_is_acknowledged_at_the_next_contact(
    make_station,
) -> None:
    job = spec("j1")
    st = make_station([job])
    step(st, 0, [contact()])
    assert uplinked(step(st, 6, [contact(up=False), downlink(result(job, 5), tick=5)])) == [], (
        "an acknowledgement went up out of contact"
    )
    acks = [m.body for m in uplinked(step(st, 9, [contact()])) if isinstance(m.body, ResultAck)]
    assert acks == [ResultAck("j1")], f"acks at the next contact: {acks}"


def test_a_frame_that_does_not_decode_is_counted_and_reported(make_station) -> None:
    st = make_station([spec("j1")])
    garbage = Message(Envelope(DownlinkFrame.KIND, 1, "world", 1, 0, 0, "station"),
                      DownlinkFrame(b"\xc1not msgpack"))
    (ev,) = events(step(st, 0, [garbage]))
    assert ev.name == "station.bad_frame" and ev.severity == Severity.WARNING_LO, f"{ev}"
    assert st.final_report()["frames_bad"] == 1, "bad frame not counted"


def test_a_frame_with_a_bit_error_is_counted_and_not_acted_on(make_station) -> None:
    st = make_station([spec("j1")])
    good = downlink(JobAck("j1", True, "stored"))
    data = bytearray(good.body.data)
    data[len(data) // 2] ^= 0x01
    bad = Message(good.env, DownlinkFrame(bytes(data)))
    (ev,) = events(step(st, 0, [bad]))
    assert ev.name == "station.bad_frame" and "CRC" in ev.text, f"{ev}"
    assert st.archive.jobs()[0]["stage"] == "RELEASED", "a corrupted frame changed a job's stage"


def test_a_frame_about_an_unknown_job_is_counted_and_reported(make_station) -> None:
    st = make_station([spec("j1")])
    (ev,) = events(step(st, 0, [downlink(JobAck("ghost", True, ""))]))
    assert ev.name == "station.unknown_job" and "ghost" in ev.text, f"{ev}"
    assert st.final_report()["frames_bad"] == 1, "unknown-job frame not counted"


# ------------------------------------------------------------------------ value

VALUE_TOLERANCE = 1e-9  # [priority-weighted GPU-s]


def test_value_delivered_counts_results_that_reach_the_ground_in_time(make_station) -> None:
    on_time = spec("on_time", priority=2, deadline_s=100, work_gpu_s=10.0)
    too_late = spec("too_late", priority=1, deadline_s=10, work_gpu_s=5.0)
    no_deadline = spec("no_deadline", priority=3, work_gpu_s=2.0)
    never = spec("never", priority=0, work_gpu_s=50.0)
    st = make_station([on_time, too_late, no_deadline, never])
    step(st, 0, [contact()])
    step(st, 50, [downlink(result(j, 40), seq=i, tick=49)
                  for i, j in enumerate((on_time, too_late, no_deadline), start=1)])
    expected = sum(job_value(j.priority, j.work_gpu_s, j.deadline_t_ns, d)
                   for j, d in ((on_time, 50 * S), (too_late, 50 * S), (no_deadline, 50 * S),
                                (never, None)))
    report = st.final_report()
    assert expected == pytest.approx(4.0 * 10.0 + 8.0 * 2.0), "test premise: weights 2**priority"
    assert report["value_delivered"] == pytest.approx(expected, abs=VALUE_TOLERANCE), (
        f"value_delivered {report['value_delivered']}, expected {expected}"
    )
    assert report["downlinked"] == 3, f"report {report}"


def test_a_result_corrupted_on_board_is_naked_for_a_rerun(make_station) -> None:
    from flightsw.icd.messages import ResultNak

    job = spec("j1")
    st = make_station([job])
    step(st, 0, [contact()])
    good = result(job, 5)
    wrong = bytes([good.data[0] ^ 0x01]) + good.data[1:]  # wrong, but its own digest matches
    bad = ResultData(good.job_id, good.kind, wrong, sha256_digest(wrong), good.completed_t_ns)
    outs = step(st, 6, [downlink(bad, tick=5)]) + step(st, 7, [contact()])
    naks = [m.body for m in uplinked(outs) if isinstance(m.body, ResultNak)]
    assert [n.job_id for n in naks] == ["j1"], "a result wrong at the source must be NAKed"
    assert "regeneration" in naks[0].reason, naks[0].reason
    assert st.archive.result("j1") is None


def test_a_result_damaged_on_the_link_is_not_naked(make_station) -> None:
    from flightsw.icd.messages import ResultNak

    job = spec("j1")
    st = make_station([job])
    step(st, 0, [contact()])
    good = result(job, 5)
    flipped = bytes([good.data[0] ^ 0xFF]) + good.data[1:]
    outs = step(st, 6, [downlink(ResultData(good.job_id, good.kind, flipped, good.sha256,
                                            good.completed_t_ns), tick=5)])
    outs += step(st, 7, [contact()])
    assert [m for m in uplinked(outs) if isinstance(m.body, ResultNak)] == [], (
        "a digest mismatch is a link error: the resend fixes it, no rerun"
    )


# --------------------------------------------------------------------- command plan


def test_planned_commands_go_up_in_contact_from_their_tick_and_again_until_answered(tmp_path: Path) -> None:
    from flightsw.icd.messages import AppCommand, CommandResponse

    st = Station(tmp_path / "a.db", [], RESEND_TICKS,
                 commands=[{"tick": 3, "target": "executor", "opcode": 0, "args": {}}])
    try:
        assert not uplinked(step(st, 1, [contact()])), "sent before its tick"
        (first,) = uplinked(step(st, 3))
        assert isinstance(first.body, AppCommand) and first.body.target == "executor" and first.body.cmd_id == 1
        assert not uplinked(step(st, 4)), "resent before the resend time"
        (again,) = uplinked(step(st, 3 + RESEND_TICKS))
        assert again.body == first.body, "a resend must carry the same id (the app ignores repeats)"
        step(st, 9, [downlink(CommandResponse(0, "OK", "executor alive", 1, "ground"))])
        assert not uplinked(step(st, 3 + 3 * RESEND_TICKS)), "resent after its answer"
        (rep,) = st.final_report()["commands"]
        assert (rep["status"], rep["detail"]) == ("OK", "executor alive")
    finally:
        st.close()


def test_a_response_for_another_source_does_not_close_a_ground_command(tmp_path: Path) -> None:
    from flightsw.icd.messages import CommandResponse

    st = Station(tmp_path / "a.db", [], RESEND_TICKS, commands=[{"tick": 0, "target": "power", "opcode": 0}])
    try:
        step(st, 0, [contact()])
        step(st, 1, [downlink(CommandResponse(0, "OK", "", 1, "seq:other"))])
        assert st.final_report()["commands"][0]["status"] == "SENT"
    finally:
        st.close()


def test_running_stages_alternate_and_a_repeated_stage_is_recorded_once(make_station) -> None:
    job = spec("j1")
    st = make_station([job])
    step(st, 0, [contact()])
    step(st, 1, [downlink(JobAck("j1", True, ""), 1), downlink(JobState("j1", "ACCEPTED", "", 0.0), 2)])
    for i, stage in enumerate(("STARTED", "PROGRESS", "PREEMPTED", "STARTED", "ACCEPTED")):
        step(st, 2 + i, [downlink(JobState("j1", stage, "", 1.0), 3 + i)])
    stages = [s for s, _, _ in st.archive.stages("j1")]
    assert stages == ["RELEASED", "SENT", "ACCEPTED", "STARTED", "PROGRESS", "PREEMPTED", "STARTED"], stages


def test_after_a_nak_the_rerun_is_recorded_until_the_good_result_is_archived(make_station) -> None:
    job = spec("j1")
    st = make_station([job])
    step(st, 0, [contact()])
    step(st, 1, [downlink(JobState("j1", "COMPLETED", "", 10.0), 1)])
    good = result(job, 5)
    wrong = bytes([good.data[0] ^ 0x01]) + good.data[1:]
    step(st, 6, [downlink(ResultData("j1", good.kind, wrong, sha256_digest(wrong), good.completed_t_ns), 2)])
    for i, stage in enumerate(("STARTED", "COMPLETED")):
        step(st, 7 + i, [downlink(JobState("j1", stage, "", 10.0), 3 + i)])
    step(st, 9, [downlink(good, 5)])
    stages = [s for s, _, _ in st.archive.stages("j1")]
    assert stages[-5:] == ["PREEMPTED", "STARTED", "COMPLETED", "DOWNLINKED", "ARCHIVED"], stages


def test_a_stage_is_recorded_at_the_time_it_happened_on_board(make_station) -> None:
    st = make_station([spec("j1")])
    step(st, 0, [contact()])
    step(st, 50, [downlink(JobState("j1", "STARTED", "", 0.0, 0, 12 * S), 1)])  # reported late
    step(st, 51, [downlink(JobState("j1", "PREEMPTED", "", 1.0), 2)])  # no time given: when it came
    times = {s: t for s, t, _ in st.archive.stages("j1")}
    assert times["STARTED"] == 12 * S and times["PREEMPTED"] == 51 * S, times
