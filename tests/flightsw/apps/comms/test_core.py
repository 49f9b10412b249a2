"""Tests for flightsw.apps.comms.core: uplink validation, downlink pacing, result resends."""

from __future__ import annotations

import pytest

from flightsw.apps.comms.core import CommsCore, CommsTable
from flightsw.icd.linkframe import decode_frame
from flightsw.icd.messages import (
    ContactState,
    DownlinkFrame,
    Event,
    JobAck,
    JobState,
    ResultAck,
    ResultData,
    ResultResync,
    SetMode,
)
from flightsw.icd.results import sha256_digest
from tests.flightsw.apps.builders import frame, job_spec

BYTES_PER_TICK = 1000  # [B] downlink budget per 1 s tick in these tests
IN_CONTACT = ContactState(True, "svalbard", downlink_bps=8.0 * BYTES_PER_TICK, uplink_bps=8000.0)
NO_CONTACT = ContactState(False, "", downlink_bps=0.0, uplink_bps=0.0)
WIDE_OPEN = ContactState(True, "svalbard", downlink_bps=8.0e9, uplink_bps=8000.0)


def result(job_id: str = "a", size: int = 100) -> ResultData:
    data = bytes(range(256))[:size] * (size // 256 + 1)
    data = data[:size]
    return ResultData(job_id, "synthetic", data, sha256_digest(data), 5)


def downlinked(out) -> list:
    """Bodies of the downlink frames sent this step (decoded as the ground would)."""
    return [decode_frame(b.data).body for b, dst in out if isinstance(b, DownlinkFrame) and dst == "world"]


def bytes_down(out) -> int:
    return sum(len(b.data) for b, _ in out if isinstance(b, DownlinkFrame))


def to_executor(out) -> list:
    return [b for b, dst in out if dst == "executor"]


def started_core(**table) -> CommsCore:
    """A core past its first step (which only asks the executor for a resync)."""
    core = CommsCore(table=CommsTable(**table))
    core.step(1, 0, None, [], [])
    return core


# ---------------------------------------------------------------------------- uplink

@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\xff garbage", frame(SetMode("SAFE", "spoofed"))],
    ids=["empty", "garbage", "valid message of the wrong kind"],
)
def test_a_bad_uplink_frame_is_counted_reported_and_never_forwarded(data):
    core = started_core()
    out = core.step(3, 0, None, [data], [])
    assert to_executor(out) == [], "a bad uplink frame was acted on"
    assert core.frames_up_bad == 1 and core.frames_up_ok == 0
    events = [b for b, _ in out if isinstance(b, Event)]
    assert [e.name for e in events] == ["comms.bad_uplink_frame"]


def test_repeated_bad_frames_are_all_counted_but_their_events_throttled():
    core = started_core()
    out = core.step(3, 0, None, [b"junk"] * 150, [])
    assert core.frames_up_bad == 150
    limit = core.events.limit
    assert sum(isinstance(b, Event) for b, _ in out) == limit
    assert core.events.statistics().throttled == 150 - limit
    later = core.step(3 + core.events.window_ticks, 0, None, [b"junk"], [])
    (ev,) = [b for b, _ in later if isinstance(b, Event)]
    assert f"{150 - limit} like it held back" in ev.text and "151 bad frame(s)" in ev.text


def test_a_valid_job_spec_frame_is_forwarded_to_the_executor():
    spec = job_spec("a", params={"n": 8}, kind="matmul")
    core = started_core()
    out = core.step(3, 0, None, [frame(spec)], [])
    assert to_executor(out) == [spec]
    assert core.frames_up_ok == 1 and core.frames_up_bad == 0


def test_a_result_ack_frame_is_forwarded_to_the_executor():
    out = started_core().step(3, 0, None, [frame(ResultAck("a"))], [])
    assert to_executor(out) == [ResultAck("a")]


def test_the_first_step_asks_the_executor_to_offer_unacknowledged_results():
    core = CommsCore()
    first = core.step(1, 0, None, [], [])
    second = core.step(2, 0, None, [], [])
    assert [type(b) for b in to_executor(first)] == [ResultResync]
    assert to_executor(second) == [], "resync asked again without a restart"


# -------------------------------------------------------------------------- downlink

def test_nothing_is_downlinked_outside_a_contact():
    core = started_core()
    out = core.step(3, 0, NO_CONTACT, [], [JobAck("a", True, ""), result("a")])
    assert downlinked(out) == []
    for tick in range(4, 8):  # no new ContactState: still out of contact
        assert downlinked(core.step(tick, 0, None, [], [])) == [], "downlinked outside a contact"


def test_queued_items_go_down_once_a_contact_starts():
    core = started_core()
    core.step(3, 0, NO_CONTACT, [], [JobAck("a", True, ""), result("a")])
    out = core.step(4, 0, WIDE_OPEN, [], [])
    assert downlinked(out) == [JobAck("a", True, ""), result("a")], "control first, then results"


def test_the_downlink_never_runs_ahead_of_the_contact_rate_by_more_than_one_frame():
    core = started_core()
    reports = [JobState(f"job-{i:03d}", "STARTED", "", 0.0) for i in range(400)]  # ~19 kB
    core.step(3, 0, NO_CONTACT, [], reports)
    sent = 0
    largest = 0
    for k in range(1, 11):
        out = core.step(3 + k, 0, IN_CONTACT, [], [])
        sent += bytes_down(out)
        largest = max([largest] + [len(b.data) for b, _ in out if isinstance(b, DownlinkFrame)])
        assert sent <= k * BYTES_PER_TICK + largest, \
            f"{sent} B sent in {k} ticks at {BYTES_PER_TICK} B/tick"
    assert sent >= 10 * BYTES_PER_TICK - largest, "the contact's byte budget went unused"


def test_an_unacknowledged_result_is_resent_after_resend_after_ticks():
    core = started_core(resend_after_ticks=5)
    sends = []
    core.step(10, 0, WIDE_OPEN, [], [result("a")])
    sends.append(10)
    for tick in range(11, 21):
        if downlinked(core.step(tick, 0, None, [], [])):
            sends.append(tick)
    assert sends == [10, 15, 20], f"result sent at ticks {sends}, expected every 5 ticks"


def test_an_acknowledged_result_leaves_the_queue_and_is_not_resent():
    core = started_core(resend_after_ticks=2)
    core.step(10, 0, WIDE_OPEN, [], [result("a")])
    core.step(11, 0, None, [frame(ResultAck("a"))], [])
    assert core.status().results_pending == 0
    for tick in range(12, 20):
        assert downlinked(core.step(tick, 0, None, [], [])) == [], "an acknowledged result was resent"


def test_a_result_offered_twice_is_queued_once():
    core = started_core()
    core.step(3, 0, NO_CONTACT, [], [result("a"), result("a")])
    assert core.status().results_pending == 1


def test_an_uplink_frame_with_a_flipped_bit_fails_its_crc_and_is_not_forwarded():
    spec = job_spec("a", params={"n": 8}, kind="matmul")
    data = bytearray(frame(spec))
    data[10] ^= 0x04
    core = started_core()
    out = core.step(3, 0, None, [bytes(data)], [])
    assert to_executor(out) == [], "a corrupted frame must never reach the executor"
    assert core.frames_up_bad == 1


def test_the_downlink_queue_is_bounded_and_asks_for_more_once_drained():
    from flightsw.icd.messages import ResultAck, ResultResync

    core = started_core(max_queue_bytes=250)
    core.step(2, 0, NO_CONTACT, [], [result("a", 100), result("b", 100), result("c", 100)])
    assert list(core.results) == ["a", "b"], "a result beyond the byte limit must be refused"
    assert core.overflowed and core.results_refused == 1
    out = core.step(3, 0, NO_CONTACT, [frame(ResultAck("a")), frame(ResultAck("b"))], [])
    asks = [b for b, dst in out if isinstance(b, ResultResync) and dst == "executor"]
    assert len(asks) == 1, "a drained queue asks the executor for what it refused"
    assert asks[0].max_bytes == 250 and asks[0].skip == (), asks[0]


def test_while_there_is_room_comms_asks_periodically_for_results_it_does_not_hold():
    from flightsw.icd.messages import ResultResync

    core = started_core(max_queue_bytes=1000, resync_every_ticks=60)
    core.step(2, 0, NO_CONTACT, [], [result("a", 100)])
    out = core.step(60, 0, NO_CONTACT, [], [])
    asks = [b for b, dst in out if isinstance(b, ResultResync) and dst == "executor"]
    assert len(asks) == 1 and asks[0].max_bytes == 900 and asks[0].skip == ("a",), asks
