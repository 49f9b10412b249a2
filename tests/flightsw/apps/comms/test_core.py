"""Comms core, the uplink: authenticated telecommands reach their app and are acknowledged
with their request id; every bad frame is refused, counted by reason and reported, and
never acted on."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.apps.comms.core import CommsCore, CommsTable
from flightsw.icd.codec import encode
from flightsw.icd.linkauth import LinkKey
from flightsw.icd.messages import (
    AppCommand,
    Envelope,
    Event,
    JobAck,
    JobState,
    Message,
    Opcode,
    PowerBudget,
    SetMode,
    Severity,
)
from flightsw.icd.spacelink import APIDS, TcSigner
from tests.flightsw.apps.builders import (
    S,
    frame,
    job_spec,
    request_id,
    signed_packet,
    signer,
    verifier,
)
from tests.flightsw.apps.comms.ground import IN_CONTACT, decoded, msg, not_down

FORGED_SECRET = bytes(range(100, 132))  # a 32-byte key the satellite does not hold


def started_core(**table) -> CommsCore:
    """A core past its first step (which only asks the executor for a resync)."""
    core = CommsCore(CommsTable(**table), verifier())
    core.step(1, S, None, [], [])
    return core


def noop(target: str = "power", cmd_id: int = 1) -> AppCommand:
    return AppCommand(target, Opcode.NOOP, cmd_id, "ground")


def _wire(body, src: str = "ground") -> bytes:
    return encode(Message(Envelope(body.KIND, body.VERSION, src, 1, 0, 0, "sat"), body))


# ----------------------------------------------------------------------- accepted


def test_a_signed_job_spec_telecommand_reaches_the_executor() -> None:
    spec = job_spec("a", params={"n": 8}, kind="matmul")
    core = started_core()
    out = core.step(3, 3 * S, None, [frame(spec, signer())], [])
    assert not_down(out) == [(spec, "executor")], "the job spec did not reach the executor alone"
    status = core.status()
    assert (status.frames_up_ok, status.frames_up_bad) == (1, 0)


def test_the_executors_reports_on_a_job_go_down_with_the_request_id_of_its_tc() -> None:
    spec = job_spec("a")
    tc = frame(spec, signer(), seq_count=17)
    core = started_core()
    core.step(3, 3 * S, None, [tc], [])
    reports = [msg(JobAck("a", True, ""), "executor", 4), msg(JobState("a", "STARTED", "", 0.0), "executor", 4)]
    got = decoded(core.step(4, 4 * S, IN_CONTACT, [], reports))
    assert [(t.service, t.subtype, t.request_id, t.apid) for t in got] == [
        (1, 1, request_id(tc), APIDS["executor"]), (1, 3, request_id(tc), APIDS["executor"])]
    assert [t.message.body for t in got] == [r.body for r in reports]


def test_a_command_reaches_its_app_and_a_bare_acceptance_with_its_request_id_goes_down() -> None:
    cmd = AppCommand("executor", Opcode.EXEC_CANCEL_JOB, 9, "ground", {"job_id": "job-1"})
    tc = frame(cmd, signer(), seq_count=5)
    core = started_core()
    out = core.step(3, 3 * S, IN_CONTACT, [tc], [])
    assert not_down(out) == [(cmd, "executor")], "the command did not reach its app unchanged"
    (tm,) = decoded(out)
    assert (tm.service, tm.subtype, tm.request_id, tm.message, tm.apid) == (
        1, 1, request_id(tc), None, APIDS["comms"]), "expected a bare PUS 1/1 naming the TC"
    assert core.commands_routed == 1


# ----------------------------------------------------------------------- refused


def _bad_frames() -> dict[str, tuple]:
    """id -> (frames accepted first, the bad frame, CommsStatus counter, LinkError reason)."""
    good = frame(noop(), signer())
    flipped = bytearray(frame(noop(), signer()))
    flipped[20] ^= 0x04  # in the security header: only the CRC can tell
    return {
        "empty": ((), b"", "tc_rejected_format", "length"),
        "garbage": ((), b"\x00\xff garbage", "tc_rejected_format", "length"),
        "bit flip": ((), bytes(flipped), "tc_rejected_format", "crc"),
        "forged MAC": ((), frame(noop(), TcSigner(LinkKey(1, FORGED_SECRET))), "tc_rejected_auth", "auth_mac"),
        "inactive key": ((), frame(noop(), signer(2)), "tc_rejected_auth", "auth_key"),
        "unknown key": ((), signed_packet(APIDS["power"], 8, 1, _wire(noop()), key_id=9,
                                          secret=FORGED_SECRET), "tc_rejected_auth", "auth_key"),
        "replay": ((good,), good, "tc_rejected_replay", "replay"),
        "another app's APID": ((), signed_packet(APIDS["executor"], 8, 1, _wire(noop("power"))),
                               "tc_rejected_format", "body"),
        "unknown APID": ((), signed_packet(0x1FF, 8, 1, _wire(noop())), "tc_rejected_format", "header"),
        "wrong message type": ((), signed_packet(APIDS["power"], 8, 1, _wire(SetMode("SAFE", "spoofed"))),
                               "tc_rejected_format", "body"),
        "unknown service": ((), signed_packet(APIDS["power"], 17, 1, _wire(noop())),
                            "tc_rejected_format", "service"),
    }


BAD = _bad_frames()


@pytest.mark.parametrize("case", list(BAD), ids=list(BAD))
def test_a_bad_frame_is_counted_by_reason_reported_and_never_acted_on(case: str) -> None:
    before, bad, counter, reason = BAD[case]
    core = started_core()
    core.step(2, 2 * S, IN_CONTACT, list(before), [])  # its acceptance goes down now
    out = core.step(3, 3 * S, IN_CONTACT, [bad], [])
    events = [b for b, _ in not_down(out) if isinstance(b, Event)]
    assert [b for b, _ in not_down(out) if not isinstance(b, Event)] == [], "a bad frame was acted on"
    assert [(e.name, e.severity) for e in events] == [(f"comms.tc_rejected.{reason}", Severity.WARNING_LO)]
    assert reason in events[0].text, "the event text does not say why"
    assert [t.request_id for t in decoded(out)] == [], "a bad frame was acknowledged"
    status = core.status()
    counts = {c: getattr(status, c) for c in ("tc_rejected_auth", "tc_rejected_replay", "tc_rejected_format")}
    assert counts == {c: int(c == counter) for c in counts}, f"counted as {counts}, expected {counter}"
    assert (status.frames_up_ok, status.frames_up_bad) == (len(before), 1)


@settings(max_examples=150, deadline=None)
@given(bit=st.integers(0, 8 * 85 - 1))
def test_a_single_flipped_bit_anywhere_is_refused(bit: int) -> None:
    data = bytearray(frame(noop(), signer()))
    assert len(data) == 85, "the probe frame changed size: adjust the strategy"
    data[bit // 8] ^= 1 << (bit % 8)
    core = started_core()
    out = core.step(3, 3 * S, IN_CONTACT, [bytes(data)], [])
    assert [b for b, _ in not_down(out) if not isinstance(b, Event)] == [], f"bit {bit} flipped: acted on"
    assert decoded(out) == [], f"bit {bit} flipped: acknowledged"
    assert core.status().frames_up_bad == 1 and core.status().frames_up_ok == 0


def test_repeated_bad_frames_are_all_counted_but_their_events_throttled() -> None:
    core = started_core()
    out = core.step(3, 3 * S, None, [b"junk"] * 150, [])
    assert core.status().tc_rejected_format == 150
    limit = core.events.limit
    assert sum(isinstance(b, Event) for b, _ in out) == limit, "the event flood was not throttled"
    assert core.events.statistics().throttled == 150 - limit
    later = core.step(3 + core.events.window_ticks, 0, None, [b"junk"], [])
    (ev,) = [b for b, _ in later if isinstance(b, Event)]
    assert f"{150 - limit} like it held back" in ev.text and "151 frame(s) rejected" in ev.text, ev.text


def test_each_reason_is_throttled_on_its_own() -> None:
    core = started_core()
    forged = [frame(noop(cmd_id=i), TcSigner(LinkKey(1, FORGED_SECRET), i)) for i in range(1, 21)]
    out = core.step(3, 3 * S, None, [b"junk"] * 20 + forged, [])
    names = [b.name for b, _ in out if isinstance(b, Event)]
    assert names.count("comms.tc_rejected.length") == core.events.limit
    assert names.count("comms.tc_rejected.auth_mac") == core.events.limit, "a flood of one reason hid another"


def test_the_newest_budget_with_the_power_forecasts_goes_down_beside_the_latest_budget() -> None:
    # the power manager carries its forecasts once a minute; the budget sampled for
    # housekeeping (the latest) seldom has them, so the newest one with them is kept as a state
    core = started_core(hk_every_ticks=30)
    with_fc = [PowerBudget("NOMINAL", 100.0 + k, 0.0, 0.0, 0.5, forecast_step_s=60.0, forecast_budget_w=(1.0, 2.0),
                           forecast_soc_step_s=60.0, forecast_soc=(0.5, 0.4 + 0.01 * k)) for k in range(2)]
    plain = PowerBudget("NOMINAL", 150.0, 0.0, 0.0, 0.5)
    core.step(2, 2 * S, None, [], [msg(with_fc[0], "power", 2), msg(with_fc[1], "power", 3), msg(plain, "power", 4)])
    for tick in range(5, 30):
        core.step(tick, tick * S, None, [], [])
    got = [t.message.body for t in decoded(core.step(30, 30 * S, IN_CONTACT, [], [])) if t.service == 3]
    budgets = [b for b in got if isinstance(b, PowerBudget)]
    assert with_fc[1] in budgets, "the newest forecast did not go down"
    assert plain in budgets, "the latest budget did not go down"
    assert with_fc[0] not in budgets, "an older forecast went down: only the newest is kept"
