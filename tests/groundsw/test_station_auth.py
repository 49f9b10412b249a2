"""The ground station's telecommand authentication: every frame signed as the flight's
TcVerifier demands, anti-replay numbers that survive a new Station on the same archive,
and key rotation by COMMS_ACTIVATE_KEY."""

from __future__ import annotations

from collections import defaultdict
from pathlib import Path

import pytest

from flightsw.icd.linkauth import Keyring
from flightsw.icd.messages import AppCommand, CommandResponse, Event, JobSpec, Opcode, Severity
from flightsw.icd.spacelink import APP_OF_APID, TcVerifier
from tests.groundsw.test_station import (
    RESEND_TICKS,
    Ground,
    S,
    auth_seq_of,
    contact,
    key_id_of,
    spec,
    station_grounds,
)

NEW_KEY = 2
ACTIVATE = {
    "tick": 0,
    "target": "comms",
    "opcode": int(Opcode.COMMS_ACTIVATE_KEY),
    "args": {"key_id": NEW_KEY},
}
NOOP_POWER = {"tick": 0, "target": "power", "opcode": int(Opcode.NOOP)}
QUIET_TICKS = 15  # a key change unanswered this long: nothing else may go up meanwhile


@pytest.fixture
def ground(tmp_path: Path, link_keyring):
    yield from station_grounds(tmp_path, link_keyring)


def verifier_on(keyring: Keyring, key_id: int) -> TcVerifier:
    return TcVerifier(dict(keyring.keys), key_id)


# ============================================================================ signing


def test_every_uplink_frame_verifies_on_board_with_its_apps_apid(ground) -> None:
    plan = [{"tick": 0, "target": app, "opcode": int(Opcode.NOOP)} for app in ("power", "thermal")]
    g = ground([spec("j1"), spec("j2", release_s=4)], commands=plan)
    g.sc.offer_log([("power", Event(int(Severity.ACTIVITY_HI), "power.mode", "NOMINAL"))], 1)
    tcs = [tc for t in g.run(range(3 * RESEND_TICKS), {0: [contact()]}).values() for tc in t.tcs]
    kinds = {type(tc.message.body) if tc.message else bytes for tc in tcs}
    assert kinds == {JobSpec, AppCommand, bytes}, (
        f"the run did not carry every kind of frame: {kinds}"
    )
    for tc in tcs:
        body = tc.message.body if tc.message else None
        app = "executor" if isinstance(body, JobSpec) else body.target if body else "comms"
        assert APP_OF_APID[tc.apid] == app, (
            f"{type(body).__name__} on {APP_OF_APID[tc.apid]}'s APID"
        )
    assert {tc.key_id for tc in tcs} == {1}, "signed with a key other than the active one"
    seqs = [tc.auth_seq for tc in tcs]
    assert seqs == sorted(set(seqs)), f"anti-replay numbers not strictly increasing: {seqs}"
    by_apid = defaultdict(list)
    for tc in tcs:
        by_apid[tc.apid].append(tc.seq_count)
    assert all(c == list(range(len(c))) for c in by_apid.values()), (
        f"packet counts per APID: {by_apid}"
    )
    stats = g.sc.verifier.statistics()
    assert stats.accepted == len(tcs) and sum(n for _, n in stats.rejected) == 0, stats


def test_the_next_anti_replay_number_survives_a_new_station(tmp_path: Path, link_keyring) -> None:
    path = tmp_path / "archive.sqlite"
    first = Ground(path, link_keyring, [spec("j1")])
    try:
        seqs = [
            tc.auth_seq for t in first.run(range(11), {0: [contact()]}).values() for tc in t.tcs
        ]
        assert len(seqs) == 3, f"expected a send and two resends, got {seqs}"
        assert first.station.archive.meta()["tc_auth_seq.1"] == seqs[-1]
    finally:
        first.close()
    again = Ground(path, link_keyring, [], commands=[NOOP_POWER])
    again.sc.verifier = first.sc.verifier  # the same spacecraft: it remembers the numbers it took
    try:
        (tc,) = again.step(0, [contact()]).tcs  # refused as a replay (a test failure) if reused
        assert tc.auth_seq == seqs[-1] + 1, (
            f"a new station went on at {tc.auth_seq}, not {seqs[-1] + 1}"
        )
    finally:
        again.close()


# ====================================================================== key rotation


def test_a_key_change_in_flight_holds_every_other_frame_until_answered(ground) -> None:
    g = ground([spec("j1")], commands=[ACTIVATE, NOOP_POWER])
    t0 = g.step(0, [contact()])
    assert [(c.opcode, c.args) for c in t0.commands] == [
        (int(Opcode.COMMS_ACTIVATE_KEY), {"key_id": NEW_KEY})
    ]
    assert t0.jobs == [], "a job went up with the key change"
    assert {key_id_of(f) for f in t0.frames} == {1}, "the key change must go with the old key"
    g.sc.verifier.activate(NEW_KEY)  # as comms does when it executes the command
    g.sc.offer_log([("power", Event(int(Severity.ACTIVITY_HI), "power.mode", "NOMINAL"))], 1)
    held = g.run(range(1, QUIET_TICKS), {5: [g.sc.accepted(1, 5 * S)]})
    assert g.rows("SELECT status FROM files") == [("ok",)], "the log file did not arrive"
    leaked = {tick: len(t.frames) for tick, t in held.items() if t.frames}
    assert leaked == {}, f"frames went up while the key change was unanswered: {leaked}"
    assert g.sc.files.sender.pending(), "the file's FINISHED reached the spacecraft during the hold"
    t = g.step(QUIET_TICKS, [g.sc.answer(1, QUIET_TICKS * S, "OK", "key 2")])
    assert {key_id_of(f) for f in t.frames} == {NEW_KEY}, "the held frames must go with the new key"
    assert t.jobs == ["j1"] and [c.target for c in t.commands] == ["power"], t.bodies
    assert t.pdus, "the held CFDP answers did not go"
    assert [e.name for e in t.events] == ["station.key_rotated"]
    assert g.job_row("j1")["sent_t_ns"] == QUIET_TICKS * S
    g.step(QUIET_TICKS + 1)
    assert g.sc.files.sender.pending() == [], "the log file's transaction did not close"


def test_a_refused_key_change_releases_the_hold_with_the_old_key(ground) -> None:
    g = ground([spec("j1")], commands=[ACTIVATE])
    g.step(0, [contact()])
    t = g.step(1, [g.sc.answer(1, S, "VALIDATION_ERROR", "key 2 not loaded")])
    assert t.jobs == ["j1"], "the hold was not lifted by the refusal"
    assert {key_id_of(f) for f in t.frames} == {1}, (
        "the station moved to a key the spacecraft refused"
    )
    assert t.events == [], f"a refused key change was reported as a rotation: {t.events}"


def test_an_unanswered_key_change_goes_every_other_time_with_the_new_key(
    ground, link_keyring
) -> None:
    g = ground([spec("j1")], commands=[ACTIVATE], command_resend_ticks=5)
    ticks = g.run(range(18), {0: [contact()]}, verify=False)
    sent = {tick: t.frames for tick, t in ticks.items() if t.frames}
    assert list(sent) == [0, 5, 10, 15], f"the key change went up at {list(sent)}"
    assert all(len(frames) == 1 for frames in sent.values()), "something else went up with it"
    keys = [key_id_of(f) for frames in sent.values() for f in frames]
    assert keys == [1, NEW_KEY, 1, NEW_KEY], f"keys of the tries: {keys}"
    on_board = {1: verifier_on(link_keyring, 1), NEW_KEY: verifier_on(link_keyring, NEW_KEY)}
    for frames in sent.values():
        tc = on_board[key_id_of(frames[0])].decode(frames[0])  # raises if forged or replayed
        assert tc.message.body.cmd_id == 1, "a try must repeat the same command"
    assert g.station.archive.meta()[f"tc_auth_seq.{NEW_KEY}"] == auth_seq_of(sent[15][0])
    # the second try's answer comes: the spacecraft took the new key; numbers go on above the tries
    answer = CommandResponse(int(Opcode.COMMS_ACTIVATE_KEY), "OK", "key 2", 1, "ground")
    t = g.step(18, [g.sc.tm(answer, "comms", 18 * S)], verify=False)
    assert t.frames and {key_id_of(f) for f in t.frames} == {NEW_KEY}, (
        "not rotated after the answer"
    )
    for f in t.frames:
        on_board[NEW_KEY].decode(f)  # a reused number would be refused as a replay
