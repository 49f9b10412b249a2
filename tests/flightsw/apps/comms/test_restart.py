"""Comms across restarts (the same ``store_dir``, ``comms.sqlite``): the anti-replay
counters, the active telecommand key and the CFDP transaction numbers carry on, so a
restart neither reopens the door to a replay nor reuses a transaction number."""

from __future__ import annotations

from pathlib import Path

from flightsw.apps.comms.core import CommsTable
from flightsw.apps.comms.shell import CommsApp
from flightsw.bus.participant import Out
from flightsw.icd.cfdp import wire
from flightsw.icd.codec import encode
from flightsw.icd.messages import (
    AppCommand,
    CmdStatus,
    Envelope,
    Message,
    Opcode,
    ResultData,
    UplinkFrame,
)
from flightsw.icd.results import sha256_digest
from flightsw.icd.spacelink import APIDS, TcSigner
from tests.flightsw.apps.builders import LINK_KEYS, S, frame, request_id, signed_packet, signer
from tests.flightsw.apps.comms.ground import IN_CONTACT, decoded, reports


def _in(body, src: str = "world") -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, 1, 0, 0), body)


def _app(store_dir: Path) -> CommsApp:
    app = CommsApp(CommsTable(), LINK_KEYS, store_dir)
    app.step(1, S, [_in(IN_CONTACT)])
    return app


def _up(app: CommsApp, tick: int, *tcs: bytes) -> list[Out]:
    return app.step(tick, tick * S, [_in(UplinkFrame(tc)) for tc in tcs])


def _routed(outs: list[Out]) -> list[AppCommand]:
    return [o.body for o in outs if isinstance(o.body, AppCommand)]


def noop(cmd_id: int) -> AppCommand:
    return AppCommand("power", Opcode.NOOP, cmd_id, "ground")


def activate(key_id: int, cmd_id: int = 11) -> AppCommand:
    return AppCommand("comms", Opcode.COMMS_ACTIVATE_KEY, cmd_id, "ground", {"key_id": key_id})


def test_a_frame_accepted_before_a_restart_is_refused_as_a_replay_after_it(tmp_path) -> None:
    ground = signer()
    first, second = frame(noop(1), ground), frame(noop(2), ground)
    app = _app(tmp_path)
    assert _routed(_up(app, 2, first)) == [noop(1)]
    app.close()
    app = _app(tmp_path)
    assert _routed(_up(app, 3, first)) == [], "a replay was acted on after a restart"
    assert app.statistics()["tc_rejected_replay"] == 1
    assert _routed(_up(app, 4, second)) == [noop(2)], "the next number was refused after a restart"
    app.close()


def test_the_anti_replay_state_lives_in_comms_sqlite_of_the_store_dir(tmp_path) -> None:
    tc = frame(noop(1), signer())
    app = _app(tmp_path / "a")
    _up(app, 2, tc)
    app.close()
    assert (tmp_path / "a" / "comms.sqlite").is_file()
    other = _app(tmp_path / "b")  # another satellite's store knows nothing of it
    assert _routed(_up(other, 2, tc)) == [noop(1)]
    other.close()


def test_activate_key_switches_keys_old_refused_new_accepted_and_it_survives_a_restart(tmp_path) -> None:
    old, new = signer(1), signer(2)
    app = _app(tmp_path)
    tc = frame(activate(2), old)
    got = reports(_up(app, 2, tc) + app.step(3, 3 * S, []))
    assert [(t.subtype, t.request_id) for t in got] == [(1, request_id(tc)), (7, request_id(tc))]
    assert got[1].message.body.status == CmdStatus.OK
    assert _routed(_up(app, 4, frame(noop(1), old))) == [], "the old key still works"
    assert app.statistics()["tc_rejected_auth"] == 1
    assert _routed(_up(app, 5, frame(noop(2), new))) == [noop(2)], "the new key is refused"
    app.close()
    app = _app(tmp_path)
    replay = frame(noop(5), TcSigner(LINK_KEYS.key(2), 1))  # key 2's number 1, taken before
    assert _routed(_up(app, 6, replay)) == [], "the new key's anti-replay number was not kept"
    assert app.statistics()["tc_rejected_replay"] == 1, "refused, but not as a replay of key 2"
    assert _routed(_up(app, 7, frame(noop(3), old))) == [], "the old key works again after a restart"
    assert app.statistics()["tc_rejected_auth"] == 1
    assert _routed(_up(app, 8, frame(noop(4), new))) == [noop(4)]
    app.close()


def test_an_unknown_key_id_is_answered_validation_error_and_the_key_stays(tmp_path) -> None:
    ground = signer(1)
    app = _app(tmp_path)
    tc = frame(activate(9), ground)
    got = reports(_up(app, 2, tc) + app.step(3, 3 * S, []))
    (resp,) = [t for t in got if t.message is not None]
    assert (resp.subtype, resp.request_id) == (8, request_id(tc))
    assert resp.message.body.status == CmdStatus.VALIDATION_ERROR and "key_id" in resp.message.body.detail
    assert _routed(_up(app, 4, frame(noop(1), ground))) == [noop(1)], "the active key changed"
    app.close()
    app = _app(tmp_path)
    assert _routed(_up(app, 5, frame(noop(2), ground))) == [noop(2)], "the refused key was persisted"
    app.close()


def _metadata_seq_nums(outs: list[Out]) -> list[tuple[str, int]]:
    found = []
    for tm in decoded(outs):
        if tm.pdu is None:
            continue
        pdu = wire.parse(tm.pdu)
        if type(pdu).__name__ == "MetadataPdu":
            found.append((pdu.dest_file_name, pdu.transaction_seq_num.value))
    return found


def _result(job_id: str) -> Message:
    data = job_id.encode() * 10
    body = ResultData(job_id, "synthetic", data, sha256_digest(data), 0)
    return Message(Envelope(body.KIND, body.VERSION, "executor", 1, 0, 0), body)


def test_the_cfdp_transaction_number_continues_after_a_restart(tmp_path) -> None:
    app = _app(tmp_path)
    first = _metadata_seq_nums(app.step(2, 2 * S, [_result("a"), _result("b")]))
    app.close()
    app = _app(tmp_path)
    second = _metadata_seq_nums(app.step(2, 2 * S, [_result("c")]))
    app.close()
    assert first == [("results/a.result", 1), ("results/b.result", 2)], first
    assert second == [("results/c.result", 3)], f"a transaction number was reused: {second}"


def test_an_authenticated_frame_with_a_bad_payload_stays_a_replay_after_a_restart(tmp_path) -> None:
    wrong = AppCommand("power", Opcode.NOOP, 1, "ground")
    payload = encode(Message(Envelope(wrong.KIND, wrong.VERSION, "ground", 1, 0, 0), wrong))
    bad = signed_packet(APIDS["executor"], 8, 1, payload, auth_seq=7)  # a power command on the executor's APID
    app = _app(tmp_path)
    _up(app, 2, bad)
    assert app.statistics()["tc_rejected_format"] == 1
    _up(app, 3, bad)
    assert app.statistics()["tc_rejected_replay"] == 1, "the number did not advance in memory"
    app.close()
    app = _app(tmp_path)
    _up(app, 4, bad)
    stats = app.statistics()
    app.close()
    assert stats["tc_rejected_replay"] == 1, "after a restart the frame is judged again, not refused as a replay"
