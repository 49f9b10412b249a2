"""The RF link (sim/rflink.py): bytes pass only in contact, at the contact's rate, with
seeded loss and bit errors; everything queued is lost at loss of signal."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.icd.codec import DecodeError, decode, encode
from flightsw.icd.messages import Envelope, JobSpec, Message
from sim.rflink import RfLink, ber_at_elevation, flip_bits, slant_range_km

DT_S = 1.0  # [s] one tick
RATE_BPS = 800.0  # [bit/s] -> 100 bytes per 1 s tick
BYTES_PER_TICK = int(RATE_BPS / 8 * DT_S)


def link(loss: float = 0.0, seed: int = 1) -> RfLink:
    return RfLink(loss, np.random.default_rng(seed))


def frame(tag: int, size: int) -> bytes:
    return bytes([tag]) * size


def test_a_tick_sends_no_more_than_rate_times_tick() -> None:
    rf = link()
    for i in range(3):
        rf.offer_down(frame(i, 60), True)
    first = rf.step(True, 0.0, RATE_BPS, DT_S)[1]
    second = rf.step(True, 0.0, RATE_BPS, DT_S)[1]
    assert first == [frame(0, 60)], f"tick 1 delivered {[len(f) for f in first]} bytes' frames"
    assert second == [frame(1, 60), frame(2, 60)], "the rest did not follow in tick 2"


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(1, 400), min_size=1, max_size=12))
def test_delivered_bytes_never_exceed_the_rate_and_nothing_is_lost_in_contact(sizes) -> None:
    rf = link()
    for i, n in enumerate(sizes):
        rf.offer_up(frame(i % 256, n), True)
    delivered: list[bytes] = []
    for tick in range(1, sum(sizes) // BYTES_PER_TICK + 3):
        delivered += rf.step(True, RATE_BPS, 0.0, DT_S)[0]
        total = sum(len(f) for f in delivered)
        assert total <= tick * BYTES_PER_TICK, f"{total} bytes by tick {tick}: above the rate"
    assert delivered == [frame(i % 256, n) for i, n in enumerate(sizes)], (
        "frames lost, reordered or changed in contact without loss"
    )


def test_a_frame_larger_than_a_tick_finishes_in_a_later_tick() -> None:
    rf = link()
    rf.offer_down(frame(7, 250), True)
    got = [rf.step(True, 0.0, RATE_BPS, DT_S)[1] for _ in range(3)]
    assert got == [[], [], [frame(7, 250)]], f"a 250-byte frame at 100 B/tick arrived as {got}"


def test_directions_have_separate_rates() -> None:
    rf = link()
    rf.offer_up(frame(1, 100), True)
    rf.offer_down(frame(2, 100), True)
    up, down = rf.step(True, RATE_BPS, RATE_BPS / 2, DT_S)
    assert up == [frame(1, 100)] and down == [], "the downlink used the uplink's rate"


def test_loss_one_loses_every_frame() -> None:
    rf = link(loss=1.0)
    for i in range(5):
        rf.offer_down(frame(i, 10), True)
    assert rf.step(True, 0.0, RATE_BPS, DT_S)[1] == [], "a frame passed at loss 1.0"
    stats = rf.statistics()
    assert stats["down_lost"] == 5 and stats["down_frames"] == 0, f"statistics are {stats}"


def test_loss_zero_loses_nothing() -> None:
    rf = link(loss=0.0)
    for i in range(5):
        rf.offer_down(frame(i, 10), True)
    assert len(rf.step(True, 0.0, RATE_BPS, DT_S)[1]) == 5, "a frame was lost at loss 0.0"


def _lossy_run(seed: int) -> list[bytes]:
    rf = link(loss=0.5, seed=seed)
    for i in range(40):
        rf.offer_down(frame(i, 5), True)
    got = rf.step(True, 0.0, RATE_BPS * 10, DT_S)[1]
    stats = rf.statistics()
    assert stats["down_frames"] + stats["down_lost"] == 40, f"frames unaccounted for: {stats}"
    return got


def test_loss_is_reproducible_from_the_seed() -> None:
    first = _lossy_run(3)
    assert first == _lossy_run(3), "the same seed lost different frames"
    assert 0 < len(first) < 40, f"loss 0.5 delivered {len(first)} of 40"
    assert first != _lossy_run(4), "another seed lost the same frames"


def test_everything_queued_is_lost_at_loss_of_signal() -> None:
    rf = link()
    for i in range(3):
        rf.offer_down(frame(i, 150), True)
    rf.step(True, 0.0, RATE_BPS, DT_S)  # the head frame is two thirds on the air
    assert rf.step(False, 0.0, 0.0, DT_S) == ([], []), "frames passed out of contact"
    assert rf.statistics()["down_lost"] == 3, "queued and half-sent frames not counted lost"
    assert rf.step(True, 0.0, RATE_BPS * 100, DT_S) == ([], []), "frames survived loss of signal"


@pytest.mark.parametrize("direction", ["up", "down"])
def test_a_frame_offered_out_of_contact_is_dropped_and_counted(direction: str) -> None:
    rf = link()
    getattr(rf, f"offer_{direction}")(frame(1, 10), False)
    assert rf.step(True, RATE_BPS, RATE_BPS, DT_S) == ([], []), "an out-of-contact frame passed"
    assert rf.statistics()["dropped_no_contact"] == 1, "the drop was not counted"


# ------------------------------------------------------------------------ bit errors

SIGMAS = 4.0  # a seeded count must lie within 4 sigma of its expectation
BER = 1e-3
FRAME_BYTES = 1000
N_FRAMES = 2000
SLANT_RANGE_TOLERANCE_KM = 1e-9


def _bits_differing(a: bytes, b: bytes) -> int:
    x = np.frombuffer(a, np.uint8) ^ np.frombuffer(b, np.uint8)
    return int(np.unpackbits(x).sum())


def _job_frame() -> bytes:
    body = JobSpec(job_id="job-0001", kind="matmul", priority=3, deadline_t_ns=-1,
                   boards_needed=1, work_gpu_s=600.0, checkpoint_interval_s=300.0,
                   input_bytes=0, output_bytes=1024, release_t_ns=0, seed=7, params={"n": 64})
    return encode(Message(Envelope(JobSpec.KIND, JobSpec.VERSION, "station", 1, 1, 0), body))


def test_bit_errors_flip_ber_times_bits_on_average() -> None:
    rng = np.random.default_rng(11)
    data = bytes(FRAME_BYTES)
    flips = [flip_bits(data, BER, rng)[1] for _ in range(N_FRAMES)]
    n_bits = 8 * FRAME_BYTES * N_FRAMES
    expected = BER * n_bits
    sd = np.sqrt(n_bits * BER * (1.0 - BER))
    assert abs(sum(flips) - expected) <= SIGMAS * sd, f"{sum(flips)} flips, expected {expected}"


def test_flip_bits_flips_exactly_the_bits_it_reports() -> None:
    rng = np.random.default_rng(12)
    data = bytes(range(256)) * 4
    for _ in range(200):
        out, k = flip_bits(data, 0.01, rng)
        assert len(out) == len(data), "a flip changed the frame's length"
        assert _bits_differing(data, out) == k, "the reported and actual flip counts differ"


def test_a_corrupted_icd_frame_fails_to_decode_or_differs_from_the_original() -> None:
    original = _job_frame()
    expected = decode(original)
    rng = np.random.default_rng(13)
    corrupted = rejected = 0
    for _ in range(500):
        out, k = flip_bits(original, 5e-3, rng)
        if k == 0:
            continue
        corrupted += 1
        try:
            got = decode(out)
        except DecodeError:
            rejected += 1
            continue
        assert got != expected, "a frame with flipped bits decoded to the original message"
    assert corrupted > 0 and rejected > 0, f"{corrupted} corrupted, {rejected} rejected"


def test_a_link_with_a_bit_error_rate_delivers_corrupted_frames_and_counts_them() -> None:
    rf = RfLink(0.0, np.random.default_rng(14), bit_error_rate=BER)
    for i in range(50):
        rf.offer_down(frame(i, FRAME_BYTES), True)
    got = rf.step(True, 0.0, 8 * FRAME_BYTES * 50, DT_S)[1]
    stats = rf.statistics()
    changed = sum(g != frame(i, FRAME_BYTES) for i, g in enumerate(got))
    assert len(got) == 50, "bit errors must corrupt frames, not lose them"
    assert stats["down_corrupted"] == changed > 0, f"corrupted count is wrong: {stats}"
    flipped = sum(_bits_differing(g, frame(i, FRAME_BYTES)) for i, g in enumerate(got))
    assert stats["down_bits_flipped"] == flipped, "bits_flipped is wrong"


def test_a_per_tick_bit_error_rate_overrides_the_links_own() -> None:
    rf = RfLink(0.0, np.random.default_rng(15), bit_error_rate=0.0)
    rf.offer_up(frame(1, FRAME_BYTES), True)
    got = rf.step(True, 8 * FRAME_BYTES, 0.0, DT_S, bit_error_rate=0.5)[0]
    assert got[0] != frame(1, FRAME_BYTES), "the per-tick BER was ignored"


def test_without_bit_errors_the_link_draws_no_randomness_for_them() -> None:
    rng = np.random.default_rng(16)
    before = rng.bit_generator.state
    rf = RfLink(0.0, rng)
    rf.offer_down(frame(1, 100), True)
    rf.step(True, 0.0, RATE_BPS * 10, DT_S)
    assert rng.bit_generator.state == before, "a link without loss or BER consumed randomness"


def test_the_bit_error_rate_rises_as_elevation_falls() -> None:
    elevations = [90.0, 60.0, 30.0, 20.0, 10.0, 5.0]
    bers = [ber_at_elevation(el) for el in elevations]
    assert all(a < b for a, b in zip(bers, bers[1:], strict=False)), f"BER by elevation {bers}"
    assert 1e-7 < ber_at_elevation(10.0) < 1e-5, "BER at 10 deg is not the documented ~2e-6"


def test_the_slant_range_at_zenith_is_the_altitude() -> None:
    assert abs(slant_range_km(90.0, 550.0) - 550.0) < SLANT_RANGE_TOLERANCE_KM, "zenith range"


@pytest.mark.parametrize("bad", [-0.1, 0.6, float("nan")])
def test_an_impossible_bit_error_rate_is_refused(bad: float) -> None:
    with pytest.raises(ValueError, match="bit_error_rate"):
        RfLink(0.0, np.random.default_rng(0), bit_error_rate=bad)


def test_a_duplicating_link_delivers_each_frame_once_or_twice_and_counts_the_twice() -> None:
    link = RfLink(0.0, np.random.default_rng(8))
    frames = [bytes([i]) * 10 for i in range(200)]
    for f in frames:
        link.offer_down(f, True)
    _, down = link.step(True, 0.0, 1e6, 1.0, duplicate_probability=0.3)
    assert sorted(set(down)) == sorted(frames), "a frame lost or made up"
    twice = len(down) - len(frames)
    assert twice == link.down.duplicated and 30 < twice < 90, f"{twice} duplicates of 200 at p = 0.3"
    assert down == sorted(down, key=frames.index), "duplication alone changed the order"


def test_a_reordering_link_delivers_the_same_frames_in_another_order() -> None:
    link = RfLink(0.0, np.random.default_rng(9))
    frames = [bytes([i]) * 10 for i in range(50)]
    for f in frames:
        link.offer_up(f, True)
    up, _ = link.step(True, 1e6, 0.0, 1.0, reorder=True)
    assert sorted(up) == sorted(frames) and up != frames


def test_without_duplication_or_reordering_the_draws_are_the_links_own() -> None:
    """A run without [[link]] faults keeps its random draws (and so its digest)."""
    a, b = RfLink(0.2, np.random.default_rng(3)), RfLink(0.2, np.random.default_rng(3))
    for link in (a, b):
        for i in range(40):
            link.offer_up(bytes([i]) * 20, True)
    assert a.step(True, 1e6, 0.0, 1.0) == b.step(True, 1e6, 0.0, 1.0, duplicate_probability=0.0, reorder=False)
