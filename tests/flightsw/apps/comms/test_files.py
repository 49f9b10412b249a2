"""Comms core, files: results and event logs go down by CFDP class 2 to a real receiver
(flightsw.icd.cfdp.FileReceiver) playing the ground; the ground's FINISHED becomes the
executor's ResultAck or ResultNak; comms holds a bounded window of results and asks the
executor for more (ResultResync) while it has room."""

from __future__ import annotations

import json
import re

from spacepackets.cfdp import ConditionCode

from flightsw.apps.comms.core import CommsCore, CommsTable
from flightsw.apps.comms.files import result_file_name
from flightsw.icd.codec import decode
from flightsw.icd.messages import (
    ContactState,
    Event,
    ResultAck,
    ResultData,
    ResultNak,
    ResultResync,
    Severity,
)
from flightsw.icd.results import sha256_digest
from tests.flightsw.apps.builders import S, verifier
from tests.flightsw.apps.comms.ground import (
    NO_CONTACT,
    Ground,
    msg,
    pdu_kind,
    run,
)

LOG_NAME = re.compile(r"logs/events-(\d+)\.jsonl")


def result(job_id: str = "a", size: int = 100) -> ResultData:
    data = bytes((i * 7 + len(job_id)) % 256 for i in range(size))
    return ResultData(job_id, "synthetic", data, sha256_digest(data), 5 * S)


def started_core(**table) -> CommsCore:
    core = CommsCore(CommsTable(**table), verifier())
    core.step(1, S, None, [], [])
    return core


def offered(*results: ResultData, at_tick: int = 2):
    """from_apps for ``run``: the executor offers ``results`` at ``at_tick``."""
    return lambda tick: [msg(r, "executor", tick) for r in results] if tick == at_tick else []


def to_executor(bus) -> list:
    return [b for _, b, dst in bus if dst == "executor"]


# ------------------------------------------------------------------- results


def test_a_result_goes_down_as_a_cfdp_file_holding_the_same_result_data() -> None:
    core, ground = started_core(), Ground(CommsTable())
    body = result("job-7", 20_000)  # three FileData PDUs of 8192 bytes
    run(core, ground, range(2, 12), from_apps=offered(body))
    assert list(ground.files) == ["results/job-7.result"]
    assert decode(ground.files["results/job-7.result"]).body == body, "the file does not decode to the result"
    kinds = [pdu_kind(p) for p in ground.pdus_down]
    assert kinds[:1] == ["MetadataPdu"] and kinds.count("FileDataPdu") == 3 and "EofPdu" in kinds, kinds


def test_the_grounds_no_error_finished_acknowledges_the_result_to_the_executor() -> None:
    core, ground = started_core(), Ground(CommsTable())
    bus = run(core, ground, range(2, 12), from_apps=offered(result("a"), result("b")))
    assert [b for b in to_executor(bus) if isinstance(b, ResultAck)] == [ResultAck("a"), ResultAck("b")]
    assert core.status().results_pending == 0
    assert core.statistics()["results_delivered"] == 2
    seen = len(ground.telemetry)
    later = run(core, ground, range(12, 40))
    again = [pdu_kind(t.pdu) for t in ground.telemetry[seen:] if t.pdu is not None]
    assert again == [], f"acknowledged results went down again: {again}"
    assert [b for b in to_executor(later) if not isinstance(b, ResultResync)] == []


def test_a_result_the_ground_rejects_is_reported_to_the_executor_as_a_nak() -> None:
    def verdict(name: str, data: bytes) -> ConditionCode:
        return ConditionCode.FILESTORE_REJECTION if name.endswith("/bad.result") else ConditionCode.NO_ERROR

    core, ground = started_core(), Ground(CommsTable(), verdict=verdict)
    bus = run(core, ground, range(2, 12), from_apps=offered(result("bad"), result("good")))
    answers = [b for b in to_executor(bus) if isinstance(b, (ResultAck, ResultNak))]
    assert [type(a).__name__ for a in answers] == ["ResultNak", "ResultAck"], answers
    assert (answers[0].job_id, answers[1].job_id) == ("bad", "good")
    assert "rejected" in answers[0].reason
    assert core.statistics()["results_rejected_by_ground"] == 1 and core.status().results_pending == 0


def test_a_lost_file_data_pdu_is_naked_by_the_ground_and_sent_again() -> None:
    lost = []

    def drop_first_file_data(pdu: bytes) -> bool:
        if pdu_kind(pdu) == "FileDataPdu" and not lost:
            lost.append(pdu)
            return True
        return False

    core, ground = started_core(), Ground(CommsTable(), drop=drop_first_file_data)
    body = result("a", 20_000)
    bus = run(core, ground, range(2, 20), from_apps=offered(body))
    assert ground.dropped == 1
    assert decode(ground.files["results/a.result"]).body == body
    assert ResultAck("a") in to_executor(bus)
    assert core.statistics()["cfdp"]["file_bytes_resent"] == 8192, "the NAKed range was not resent exactly"


def test_a_transfer_cut_by_loss_of_signal_resumes_at_the_next_pass() -> None:
    table = CommsTable(segment_bytes=1024)
    core, ground = started_core(segment_bytes=1024), Ground(table)
    slow = ContactState(True, "svalbard", downlink_bps=8.0 * 3000, uplink_bps=8000.0)  # 3 kB per tick
    contact = {**{t: slow for t in range(3, 6)}, **{t: NO_CONTACT for t in range(6, 100)}}
    body = result("a", 20_000)
    run(core, ground, range(2, 100), contact=lambda t: contact.get(t, NO_CONTACT), from_apps=offered(body))
    assert ground.files == {}, "the setup let the file through in one pass: the test proves nothing"
    bus = run(core, ground, range(100, 130), contact=lambda t: slow)
    assert decode(ground.files["results/a.result"]).body == body
    assert ResultAck("a") in to_executor(bus)


def test_a_contact_slower_than_one_file_pdu_per_tick_still_delivers_files() -> None:
    core, ground = started_core(), Ground(CommsTable())  # 8192-byte segments
    slow = ContactState(True, "svalbard", downlink_bps=8.0 * 1000, uplink_bps=8000.0)  # 1 kB per tick
    body = result("a", 4000)
    bus = run(core, ground, range(2, 40), contact=lambda t: slow, from_apps=offered(body))
    assert "results/a.result" in ground.files, "the file never went down"
    assert ResultAck("a") in to_executor(bus)


def test_a_result_offered_twice_is_sent_once() -> None:
    core, ground = started_core(), Ground(CommsTable())
    run(core, ground, range(2, 4), contact=lambda t: NO_CONTACT, from_apps=offered(result("a"), result("a")))
    assert core.status().results_pending == 1
    run(core, ground, range(4, 12))
    assert [pdu_kind(p) for p in ground.pdus_down].count("MetadataPdu") == 1


def test_a_job_id_a_file_name_cannot_hold_is_hex_encoded() -> None:
    assert result_file_name("job-1_A") == "results/job-1_A.result"
    assert result_file_name("a/../b") == f"results/x-{b'a/../b'.hex()}.result"


# ------------------------------------------------------------- flow control


def test_the_first_step_asks_the_executor_to_offer_unacknowledged_results() -> None:
    core = CommsCore(CommsTable(max_queue_bytes=5000), verifier())
    first = core.step(1, S, None, [], [])
    second = core.step(2, 2 * S, None, [], [])
    assert first == [(ResultResync("comms start", 5000), "executor")]
    assert second == [], "resync asked again without a restart"


def test_the_window_holds_at_most_max_queue_bytes_of_results() -> None:
    core = started_core(max_queue_bytes=250)
    core.step(2, 2 * S, NO_CONTACT, [], [msg(result(j, 100), "executor") for j in "abc"])
    assert sorted(core.files.by_job) == ["a", "b"], "a result beyond the byte limit was taken"
    assert core.files.queued_bytes == 200 and core.statistics()["results_refused"] == 1


def test_a_single_result_bigger_than_the_window_is_still_taken_when_the_window_is_empty() -> None:
    core = started_core(max_queue_bytes=250)
    core.step(2, 2 * S, NO_CONTACT, [], [msg(result("big", 1000), "executor"), msg(result("b", 10), "executor")])
    assert list(core.files.by_job) == ["big"], "an oversized result would never go down"


def test_once_drained_the_window_asks_the_executor_for_more() -> None:
    core, ground = started_core(max_queue_bytes=250, resync_every_ticks=20), Ground(CommsTable())
    bus = run(core, ground, range(2, 21), from_apps=offered(result("a"), result("b"), result("c")))
    acks = [b for b in to_executor(bus) if isinstance(b, ResultAck)]
    assert acks == [ResultAck("a"), ResultAck("b")], acks
    asks = [(t, b) for t, b, dst in bus if isinstance(b, ResultResync)]
    assert asks == [(20, ResultResync("downlink queue has room", 250, ()))], asks


def test_while_there_is_room_comms_asks_periodically_for_results_it_does_not_hold() -> None:
    core = started_core(max_queue_bytes=1000, resync_every_ticks=60)
    core.step(2, 2 * S, NO_CONTACT, [], [msg(result("a", 100), "executor")])
    assert [b for b, _ in core.step(59, 59 * S, None, [], []) if isinstance(b, ResultResync)] == []
    asks = [b for b, dst in core.step(60, 60 * S, None, [], []) if isinstance(b, ResultResync)]
    assert asks == [ResultResync("downlink queue has room", 900, ("a",))], asks


def test_a_full_window_does_not_ask() -> None:
    core = started_core(max_queue_bytes=100, resync_every_ticks=10)
    core.step(2, 2 * S, NO_CONTACT, [], [msg(result("a", 100), "executor")])
    assert [b for b, _ in core.step(10, 10 * S, None, [], []) if isinstance(b, ResultResync)] == []


# -------------------------------------------------------------------- event logs


def test_the_events_seen_go_down_as_a_log_file_every_log_every_ticks() -> None:
    table = CommsTable(log_every_ticks=20)
    core, ground = started_core(log_every_ticks=20), Ground(table)
    seen = {3: (Severity.WARNING_HI, "thermal.hot", "thermal"), 5: (Severity.ACTIVITY_LO, "power.mode", "power")}

    def events(tick: int) -> list:
        if tick not in seen:
            return []
        sev, name, src = seen[tick]
        return [msg(Event(int(sev), name, f"at tick {tick}"), src, tick)]

    run(core, ground, range(2, 30), from_apps=events)
    logs = {n: d for n, d in ground.files.items() if n.startswith("logs/")}
    assert len(logs) == 1, f"expected one log file, got {sorted(ground.files)}"
    ((name, data),) = logs.items()
    match = LOG_NAME.fullmatch(name)
    assert match and int(match.group(1)) == 20, f"log file named {name!r}"
    lines = [json.loads(line) for line in data.decode().splitlines()]
    assert [(d["name"], d["src"], d["severity"], d["t_ns"], d["text"]) for d in lines] == [
        ("thermal.hot", "thermal", "WARNING_HI", 3 * S, "at tick 3"),
        ("power.mode", "power", "ACTIVITY_LO", 5 * S, "at tick 5")]
    assert core.statistics()["logs_sent"] == 1


def test_no_events_no_log_file() -> None:
    core, ground = started_core(log_every_ticks=10), Ground(CommsTable())
    run(core, ground, range(2, 35))
    assert [n for n in ground.files if n.startswith("logs/")] == []
    assert core.statistics()["logs_sent"] == 0


def test_results_go_down_before_event_logs() -> None:
    core, ground = started_core(log_every_ticks=2, segment_bytes=1024), Ground(CommsTable(segment_bytes=1024))
    slow = ContactState(True, "svalbard", downlink_bps=8.0 * 4000, uplink_bps=8000.0)

    def apps(tick: int) -> list:
        if tick == 2:
            return [msg(Event(int(Severity.WARNING_LO), "power.x", "y"), "power", 2)]
        if tick == 3:
            return [msg(result("a", 6000), "executor", 3)]
        return []

    run(core, ground, range(2, 4), contact=lambda t: NO_CONTACT, from_apps=apps)
    run(core, ground, range(4, 40), contact=lambda t: slow)
    order = list(ground.files)
    assert order[:2] == ["results/a.result", "logs/events-0000000002.jsonl"], order
