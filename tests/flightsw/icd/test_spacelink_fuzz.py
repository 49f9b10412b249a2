"""Fuzzing the link gate (flightsw/icd/spacelink.py): bytes from a hostile or noisy link.

Properties: ``TcVerifier.decode`` and ``decode_tm`` raise nothing but ``LinkError``,
whatever the bytes; no mutated telecommand (bit flips, overwrites, truncation, extension,
duplication, splicing, field edits, forged or replayed frames, each with and without its
CRC recomputed the way an attacker would) is ever accepted unless it is byte-identical to
the one fresh valid frame; up to 3 flipped bits in a TM packet are always caught.

``fuzz_campaign(n_frames, seed)`` runs a seeded campaign and returns its tallies; the slow
tier runs 100,000 frames (``pytest -m slow -s`` prints the figures).
"""

from __future__ import annotations

import binascii
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from spacepackets.cfdp import TransmissionMode
from spacepackets.cfdp.pdu import FileDataParams, FileDataPdu, PduConfig
from spacepackets.ecss import PusTc
from spacepackets.util import ByteFieldU8, ByteFieldU16

from flightsw.icd.codec import encode
from flightsw.icd.linkauth import LinkKey, mac
from flightsw.icd.messages import (
    AppCommand,
    CommandResponse,
    Event,
    ExecutorStatus,
    JobSpec,
    JobState,
    Message,
    TableLoad,
)
from flightsw.icd.spacelink import (
    APIDS,
    APP_OF_APID,
    MAX_TC_BYTES,
    REJECT_REASONS,
    TC_SERVICES,
    TM_SERVICES,
    LinkError,
    TcSigner,
    TcVerifier,
    Telemetry,
    decode_tm,
    encode_tc,
    encode_tm,
    tc_service_of,
)
from tests.strategies import example_body, message_of

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
KEY1 = LinkKey(1, bytes(range(32)))
KEY2 = LinkKey(2, bytes(range(64, 96)))
ATTACKER = LinkKey(1, bytes(range(1, 33)))  # claims key 1, does not know its secret
KEYS = {1: KEY1.secret, 2: KEY2.secret}
APPS = tuple(APIDS)
SLOW_CAMPAIGN_FRAMES = 100_000


# ---------------------------------------------------------------- valid frames


def _random_item(rng: random.Random) -> tuple[Message | bytes, int]:
    """A random valid telecommand item and its APID."""
    pick = rng.randrange(4)
    if pick == 0:
        app = rng.choice(APPS)
        args = {"n": rng.randrange(1000), "flag": rng.random() < 0.5}
        return message_of(AppCommand(app, rng.randrange(128), rng.randrange(2**40), "ground", args),
                          src="ground", seq=rng.randrange(2**32)), APIDS[app]
    if pick == 1:
        job = JobSpec(f"job-{rng.randrange(10**6)}", "synthetic", rng.randrange(10), -1,
                      rng.randrange(1, 5), 1.0 + rng.random() * 100, 0.0, 0, 64,
                      rng.randrange(2**40), rng.randrange(2**32), {})
        return message_of(job, src="ground"), APIDS["executor"]
    if pick == 2:
        app = rng.choice(APPS)
        data = bytes(rng.randrange(256) for _ in range(rng.randrange(64)))
        return message_of(TableLoad(app, "t", rng.randrange(100), "ground", data, True),
                          src="ground"), APIDS[app]
    conf = PduConfig(source_entity_id=ByteFieldU8(1), dest_entity_id=ByteFieldU8(2),
                     transaction_seq_num=ByteFieldU16(rng.randrange(2**16)),
                     trans_mode=TransmissionMode.ACKNOWLEDGED)
    data = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 96)))
    pdu = FileDataPdu(conf, FileDataParams(file_data=data, offset=rng.randrange(2**32)))
    return bytes(pdu.pack()), APIDS["comms"]


def _valid(rng: random.Random, signer: TcSigner) -> bytes:
    item, apid = _random_item(rng)
    return encode_tc(item, apid=apid, seq_count=rng.randrange(16384), signer=signer)


def _misrouted(rng: random.Random, signer: TcSigner) -> bytes:
    """An authentic frame (right key, fresh number) whose payload is wrong for its
    service or APID: a ground-side bug the gate must still refuse (reason body)."""
    item, apid = _random_item(rng)
    service, subtype = tc_service_of(getattr(item, "body", item))
    payload = encode(item) if isinstance(item, Message) else item
    choice = rng.randrange(3)
    if choice == 0:  # another app's APID
        apid = rng.choice([a for a in APIDS.values() if a != apid])
    elif choice == 1:  # another TC service's payload
        service, subtype = rng.choice([k for k in TC_SERVICES if k != (service, subtype)])
    else:  # a payload that is not an ICD message (or an empty PDU)
        payload = b"" if service == 210 else bytes(rng.randrange(256) for _ in range(9))
    head = signer.key.key_id.to_bytes(2, "big") + signer.take().to_bytes(4, "big") + payload
    tc = PusTc(service=service, message_subtype=subtype, apid=apid, app_data=head + bytes(32))
    tc.app_data = head + mac(signer.key.secret, bytes(tc.pack())[:-34])
    return bytes(tc.pack())


# ------------------------------------------------------------------- mutations


def _crc(frame: bytes) -> bytes:
    """Recompute the trailing CRC-16, as an attacker would (the CRC is no protection)."""
    if len(frame) < 2:
        return frame
    return frame[:-2] + binascii.crc_hqx(frame[:-2], 0xFFFF).to_bytes(2, "big")


def _fix_length(frame: bytes) -> bytes:
    """Make the CCSDS length field agree with the frame's size, then fix the CRC."""
    if len(frame) < 8:
        return frame
    return _crc(frame[:4] + (len(frame) - 7).to_bytes(2, "big") + frame[6:])


def _flip_bits(rng: random.Random, f: bytes, n: int) -> bytes:
    b = bytearray(f)
    for pos in rng.sample(range(len(b) * 8), min(n, len(b) * 8)):
        b[pos // 8] ^= 1 << (pos % 8)
    return bytes(b)


def _overwrite(rng: random.Random, f: bytes) -> bytes:
    b = bytearray(f)
    for _ in range(rng.randrange(1, 6)):
        b[rng.randrange(len(b))] = rng.randrange(256)
    return bytes(b)


def _set_field(rng: random.Random, f: bytes) -> bytes:
    """Rewrite one header field (APID, seq count, service, subtype, key id, anti-replay
    number) to a plausible value and fix the CRC: a targeted attack on the MAC."""
    b = bytearray(f)
    which = rng.randrange(6)
    if which == 0:
        b[1] = rng.choice(list(APIDS.values())) & 0xFF
    elif which == 1:
        b[2:4] = (0xC000 | rng.randrange(16384)).to_bytes(2, "big")
    elif which == 2:
        b[7] = rng.choice((8, 200, 201, 210))
    elif which == 3:
        b[8] = rng.choice((1, 2))
    elif which == 4:
        b[11:13] = rng.choice((1, 2, 3)).to_bytes(2, "big")
    else:
        b[13:17] = rng.randrange(2**32).to_bytes(4, "big")
    return _crc(bytes(b))


def _mutate(rng: random.Random, frame: bytes, pool: list[bytes], forged: bytes) -> tuple[str, bytes]:
    """One (kind, mutated frame) of ``frame``; ``pool`` holds older valid frames (already
    accepted) to splice or replay, ``forged`` a frame signed without the secret."""
    other = rng.choice(pool) if pool else forged
    k = rng.randrange(1, len(frame))
    kinds: dict[str, Callable[[], bytes]] = {
        "flip": lambda: _flip_bits(rng, frame, rng.randrange(1, 9)),
        "flip+crc": lambda: _crc(_flip_bits(rng, frame, rng.randrange(1, 9))),
        "overwrite+crc": lambda: _crc(_overwrite(rng, frame)),
        "field+crc": lambda: _set_field(rng, frame),
        "truncate": lambda: frame[:k],
        "truncate+length": lambda: _fix_length(frame[:k]),
        "extend": lambda: frame + bytes(rng.randrange(256) for _ in range(rng.randrange(1, 64))),
        "extend+length": lambda: _fix_length(frame[:-2] + bytes(rng.randrange(1, 64)) + b"\0\0"),
        "duplicate": lambda: frame + frame[: rng.randrange(1, len(frame) + 1)],
        "duplicate-slice+length": lambda: _fix_length(frame[:k] + frame[k - rng.randrange(k) - 1:]),
        "delete-slice+length": lambda: _fix_length(frame[:k] + frame[k + rng.randrange(1, 9):]),
        "splice": lambda: frame[:k] + other[k:],
        "splice+length": lambda: _fix_length(frame[:k] + other[k:]),
        "splice-header": lambda: _crc(other[:17] + frame[17:]),
        "replay-old": lambda: other,
        "forged": lambda: forged,
        "forged-splice": lambda: _crc(frame[:-34] + forged[-34:]),
        "oversize": lambda: frame + bytes(MAX_TC_BYTES),
        "random": lambda: bytes(rng.randrange(256) for _ in range(rng.randrange(200))),
        "random-body+length": lambda: _fix_length(
            frame[:17] + bytes(rng.randrange(256) for _ in range(rng.randrange(34, 200)))),
    }
    kind = rng.choice(list(kinds))
    return kind, kinds[kind]()


# -------------------------------------------------------------------- campaign


def fuzz_campaign(n_frames: int, seed: int) -> dict:
    """Feed ``n_frames`` frames to one verifier: rounds of one fresh valid frame, a burst
    of its mutations (fed first), then the frame itself. Returns the tallies:
    frames tried, accepted (valid), wrong acceptances (a frame accepted that was not the
    fresh valid one, byte for byte), other exceptions (anything but LinkError), rejected
    by reason, mutations tried by kind, and seconds taken."""
    rng = random.Random(seed)
    signer, attacker = TcSigner(KEY1), TcSigner(ATTACKER)
    verifier = TcVerifier(KEYS, 1)
    pool: list[bytes] = []
    tried = accepted = wrong = lost = 0
    other: Counter[str] = Counter()
    kinds: Counter[str] = Counter()
    start = time.perf_counter()
    while tried < n_frames:
        if rng.random() < 0.2 and tried < n_frames - 1:
            tried += 1
            kinds["misrouted"] += 1
            try:
                verifier.decode(_misrouted(rng, signer))
                wrong += 1
            except LinkError:
                pass
        frame, forged = _valid(rng, signer), _valid(rng, attacker)
        fresh = True
        for _ in range(min(rng.randrange(4, 12), n_frames - tried - 1)):
            kind, bad = _mutate(rng, frame, pool, forged)
            kinds[kind] += 1
            tried += 1
            try:
                verifier.decode(bad)
            except LinkError:
                continue
            except Exception as exc:  # the property under test: this must never happen
                other[f"{kind}: {type(exc).__name__}: {exc}"[:200]] += 1
                continue
            if fresh and bad == frame:
                fresh = False  # a mutation that happens to equal the frame: legitimate
                accepted += 1
            else:
                wrong += 1
        tried += 1
        try:
            verifier.decode(frame)
            accepted += 1
            wrong += not fresh  # accepted a second time: a replay got through
        except LinkError as exc:
            if fresh or exc.reason != "replay":
                lost += 1  # a valid frame refused: a mutation burned its number
        pool = [*pool[-15:], frame]
    return {"frames": tried, "accepted": accepted, "wrong_acceptances": wrong,
            "valid_refused": lost, "other_exceptions": dict(other),
            "rejected": {r: verifier.rejected[r] for r in REJECT_REASONS},
            "mutations": dict(sorted(kinds.items())),
            "seconds": round(time.perf_counter() - start, 2)}


def _report(result: dict) -> str:
    rejected = ", ".join(f"{r} {n}" for r, n in result["rejected"].items())
    return (f"fuzz campaign: {result['frames']} frames in {result['seconds']} s; "
            f"{result['accepted']} valid accepted, {result['wrong_acceptances']} wrongly "
            f"accepted, {result['valid_refused']} valid refused, other exceptions "
            f"{sum(result['other_exceptions'].values())}; rejected: {rejected}")


def _assert_clean(result: dict) -> None:
    assert result["other_exceptions"] == {}, f"non-LinkError raised: {result['other_exceptions']}"
    assert result["wrong_acceptances"] == 0, _report(result)
    assert result["valid_refused"] == 0, _report(result)
    assert result["accepted"] + sum(result["rejected"].values()) == result["frames"], \
        "every frame must be either accepted or rejected with a reason"


def test_a_small_campaign_accepts_only_the_valid_frames() -> None:
    result = fuzz_campaign(10_000, seed=7)
    print("\n" + _report(result))
    _assert_clean(result)
    assert result["accepted"] >= 1_000, "too few valid frames: the campaign tests nothing"
    assert set(REJECT_REASONS) - {"service"} <= {
        r for r, n in result["rejected"].items() if n}, result["rejected"]


def test_a_campaign_is_a_pure_function_of_its_seed() -> None:
    a, b = fuzz_campaign(500, seed=3), fuzz_campaign(500, seed=3)
    a.pop("seconds"), b.pop("seconds")
    assert a == b
    assert a["frames"] == 500


@pytest.mark.slow
def test_a_campaign_of_100k_frames_accepts_nothing_wrong() -> None:
    result = fuzz_campaign(SLOW_CAMPAIGN_FRAMES, seed=2026)
    print("\n" + _report(result) + f"\nmutations: {result['mutations']}")
    _assert_clean(result)
    assert result["frames"] >= SLOW_CAMPAIGN_FRAMES


# -------------------------------------------------------------- property tests


@FUZZ
@given(st.binary(max_size=400))
def test_arbitrary_bytes_only_ever_raise_link_errors(data: bytes) -> None:
    verifier = TcVerifier(KEYS, 1)
    with pytest.raises(LinkError):
        verifier.decode(data)
    with pytest.raises(LinkError):
        decode_tm(data, EPOCH)
    assert verifier.accepted == 0 and sum(verifier.rejected.values()) == 1


@FUZZ
@given(st.sampled_from([bytes.fromhex("1901c0"), bytes.fromhex("1904c0"), bytes.fromhex("0903c0"),
                        bytes.fromhex("0904c0")]),
       st.binary(min_size=1, max_size=300), st.booleans())
def test_bytes_behind_a_plausible_header_only_ever_raise_link_errors(
        head: bytes, rest: bytes, fix: bool) -> None:
    frame = head + rest
    frame = _fix_length(frame) if fix else frame
    with pytest.raises(LinkError):
        TcVerifier(KEYS, 1).decode(frame)
    try:
        got = decode_tm(frame, EPOCH)
    except LinkError:
        return
    # a random TM with a fixed CRC may be well formed; then it must be one of ours
    assert got.apid in APP_OF_APID and (got.service, got.subtype) in TM_SERVICES, got


@FUZZ
@given(st.randoms(use_true_random=False), st.integers(1, 40))
def test_mutated_frames_are_never_accepted_unless_identical(rng: random.Random, n: int) -> None:
    signer = TcSigner(KEY1)
    verifier = TcVerifier(KEYS, 1)
    pool = [_valid(rng, signer) for _ in range(3)]
    for f in pool:
        verifier.decode(f)
    frame, forged = _valid(rng, signer), _valid(rng, TcSigner(ATTACKER))
    for _ in range(n):
        kind, bad = _mutate(rng, frame, pool, forged)
        try:
            verifier.decode(bad)
        except LinkError:
            continue
        assert bad == frame, f"a mutated frame ({kind}) was accepted"
        return
    assert verifier.decode(frame).auth_seq == 4, "mutations must not burn the valid frame"


def _tm_frames() -> list[bytes]:
    bodies = [example_body(ExecutorStatus), JobState("j", "COMPLETED", "", 1.0),
              CommandResponse(3, "OK", "done"), Event(1, "thermal.limit", "hot")]
    return [encode_tm(message_of(b), apid=APIDS["executor"], seq_count=i, t_ns=i * 10**9,
                      epoch_utc=EPOCH) for i, b in enumerate(bodies)]


TM_FRAMES = _tm_frames()


@FUZZ
@given(st.sampled_from(TM_FRAMES), st.data())
def test_up_to_three_flipped_bits_in_telemetry_are_always_caught(frame: bytes,
                                                                  data: st.DataObject) -> None:
    positions = data.draw(st.lists(st.integers(0, len(frame) * 8 - 1), min_size=1, max_size=3,
                                   unique=True))
    b = bytearray(frame)
    for pos in positions:
        b[pos // 8] ^= 1 << (pos % 8)
    with pytest.raises(LinkError) as info:
        decode_tm(bytes(b), EPOCH)
    assert info.value.reason in ("crc", "length"), info.value


@FUZZ
@given(st.sampled_from(TM_FRAMES), st.randoms(use_true_random=False))
def test_mutated_telemetry_only_ever_raises_link_errors(frame: bytes, rng: random.Random) -> None:
    kind, bad = _mutate(rng, frame, TM_FRAMES, TM_FRAMES[0])
    try:
        got = decode_tm(bad, EPOCH)
    except LinkError:
        return
    # TM has no MAC: a mutation with its CRC recomputed may pass, but only as well-formed TM
    assert isinstance(got, Telemetry), kind
    assert got.apid in APP_OF_APID and (got.service, got.subtype) in TM_SERVICES, (kind, got)
    assert got.message is None or got.pdu is None, got
    if got.message is None and got.pdu is None:
        assert (got.service, got.subtype) == (1, 1), "only a bare acceptance carries nothing"
