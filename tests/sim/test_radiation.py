import numpy as np
import pytest

from sim.radiation import (
    LEO_TYPICAL,
    NO_RADIATION,
    RadiationRates,
    draw_radiation,
    event_probability,
    no_radiation,
)

SIGMAS = 4.0  # a seeded count must lie within 4 sigma of rate x exposure
N_BOARDS = 1000
N_TICKS = 1000
DT_S = 60.0
RATE_PER_H = 0.01  # high, so that the counts are large and the test is sharp
RATES = RadiationRates(sdc_per_active_board_hour=RATE_PER_H,
                       sefi_per_powered_board_hour=2 * RATE_PER_H,
                       fail_per_board_hour=0.5 * RATE_PER_H)
HALF = np.arange(N_BOARDS) % 2 == 0


def _counts(seed: int, active, powered, multiplier=1.0) -> dict[str, int]:
    rng = np.random.default_rng(seed)
    totals = {"sdc": 0, "sefi": 0, "fail": 0}
    for _ in range(N_TICKS):
        e = draw_radiation(rng, RATES, active, powered, DT_S, multiplier)
        for k in totals:
            totals[k] += int(getattr(e, k).sum())
    return totals


def _within_sigmas(count: int, rate_per_h: float, board_hours: float) -> bool:
    expected = rate_per_h * board_hours
    return abs(count - expected) <= SIGMAS * np.sqrt(expected)


def test_event_counts_match_rate_times_exposure_within_four_sigma() -> None:
    got = _counts(1, active=HALF, powered=np.ones(N_BOARDS, bool))
    hours = N_TICKS * DT_S / 3600.0
    for kind, rate, boards in (("sdc", RATES.sdc_per_active_board_hour, HALF.sum()),
                               ("sefi", RATES.sefi_per_powered_board_hour, N_BOARDS),
                               ("fail", RATES.fail_per_board_hour, N_BOARDS)):
        assert _within_sigmas(got[kind], rate, boards * hours), (
            f"{kind}: {got[kind]} events in {boards * hours} board-hours at {rate}/h"
        )


def test_a_burst_multiplier_scales_the_rates() -> None:
    got = _counts(2, active=np.ones(N_BOARDS, bool), powered=np.ones(N_BOARDS, bool),
                  multiplier=3.0)
    hours = N_TICKS * DT_S / 3600.0
    assert _within_sigmas(got["sdc"], 3.0 * RATES.sdc_per_active_board_hour, N_BOARDS * hours), (
        f"with a x3 burst {got['sdc']} SDCs, expected three times the rate"
    )


def test_idle_boards_get_no_corruption_and_unpowered_boards_no_hangs() -> None:
    rng = np.random.default_rng(3)
    off = np.zeros(N_BOARDS, bool)
    for _ in range(100):
        e = draw_radiation(rng, RATES, off, off, 3600.0, 100.0)
        assert not e.sdc.any(), "a board that is not ACTIVE got a silent data corruption"
        assert not e.sefi.any(), "an unpowered board got a SEFI"


def test_the_same_seed_gives_the_same_events() -> None:
    a = _counts(7, HALF, HALF)
    b = _counts(7, HALF, HALF)
    assert a == b, f"same seed, different events: {a} vs {b}"


def test_every_draw_consumes_the_same_randomness_whatever_the_boards_states() -> None:
    r1, r2 = np.random.default_rng(5), np.random.default_rng(5)
    draw_radiation(r1, RATES, np.ones(10, bool), np.ones(10, bool), 1.0)
    draw_radiation(r2, NO_RADIATION, np.zeros(10, bool), np.zeros(10, bool), 1.0)
    assert r1.random() == r2.random(), "the draw's consumption depends on states or rates"


def test_event_probability_is_one_minus_exp_of_minus_rate_times_time() -> None:
    p = event_probability(2.0, 1800.0)
    assert abs(p - (1.0 - np.exp(-1.0))) < 1e-15, f"P(event) = {p}"
    assert event_probability(0.0, 1e9) == 0.0, "a zero rate gives events"


def test_no_radiation_means_no_event_on_any_board() -> None:
    e = no_radiation(5)
    assert not (e.sdc.any() or e.sefi.any() or e.fail.any()), "no_radiation has events"


def test_default_rates_are_the_documented_order_of_magnitude() -> None:
    assert LEO_TYPICAL.sdc_per_active_board_hour == 1e-4, "default SDC rate changed"
    assert LEO_TYPICAL.sefi_per_powered_board_hour == 1e-4, "default SEFI rate changed"
    assert LEO_TYPICAL.fail_per_board_hour == 5e-6, "default failure rate changed"


@pytest.mark.parametrize("field", ["sdc_per_active_board_hour", "sefi_per_powered_board_hour",
                                   "fail_per_board_hour"])
@pytest.mark.parametrize("bad", [-1.0, float("inf"), float("nan")])
def test_impossible_rates_are_refused_naming_the_field(field: str, bad: float) -> None:
    with pytest.raises(ValueError, match=field):
        RadiationRates(**{field: bad})


def test_rates_from_a_table_refuse_unknown_keys_naming_the_table() -> None:
    with pytest.raises(ValueError, match=r"radiation: unknown key\(s\) \['seu'\]"):
        RadiationRates.from_dict({"seu": 1.0})
    got = RadiationRates.from_dict({"fail_per_board_hour": 1e-3})
    assert got.fail_per_board_hour == 1e-3 and got.sdc_per_active_board_hour == 1e-4, "from_dict"


def test_masks_of_different_shapes_are_refused() -> None:
    with pytest.raises(ValueError, match="active and powered"):
        draw_radiation(np.random.default_rng(0), RATES, np.ones(3, bool), np.ones(4, bool), 1.0)


def test_the_thinned_clock_gives_the_rate_of_events_per_kind():
    from sim.radiation import RadiationClock, RadiationRates

    rates = RadiationRates(sdc_per_active_board_hour=2.0, sefi_per_powered_board_hour=1.0,
                           fail_per_board_hour=0.5)
    n, dt_s, ticks = 8, 1.0, 36_000
    clock = RadiationClock(np.random.default_rng(3), rates, n, dt_s)
    on = np.ones(n, bool)
    counts = np.zeros(3)
    for _ in range(ticks):
        ev = clock.tick(on, on)
        counts += [ev.sdc.sum(), ev.sefi.sum(), ev.fail.sum()]
    hours = n * ticks * dt_s / 3600.0
    for got, rate in zip(counts, (2.0, 1.0, 0.5), strict=True):
        expected = rate * hours
        assert abs(got - expected) < 4 * np.sqrt(expected), f"got {got}, expected {expected} +- 4 sigma"


def test_the_thinned_clock_spares_boards_that_are_not_exposed():
    from sim.radiation import RadiationClock, RadiationRates

    rates = RadiationRates(sdc_per_active_board_hour=50.0, sefi_per_powered_board_hour=50.0,
                           fail_per_board_hour=0.0)
    clock = RadiationClock(np.random.default_rng(4), rates, 4, 1.0)
    off = np.zeros(4, bool)
    for _ in range(3600):
        ev = clock.tick(off, off)
        assert not ev.sdc.any() and not ev.sefi.any(), "an idle, unpowered board got an upset"


def test_the_saa_box_multiplies_rates_only_over_the_south_atlantic():
    from sim.radiation import saa_multiplier

    r = 6.9e6
    def at(lat_deg, lon_deg):
        lat, lon = np.radians(lat_deg), np.radians(lon_deg)
        return [r * np.cos(lat) * np.cos(lon), r * np.cos(lat) * np.sin(lon), r * np.sin(lat)]
    m = saa_multiplier(np.array([at(-25.0, -45.0), at(40.0, -4.0), at(-25.0, 120.0)]), 10.0)
    assert m.tolist() == [10.0, 1.0, 1.0], f"multiplier over Brazil, Madrid, Australia: {m}"


def test_the_thinned_clock_follows_a_time_varying_multiplier():
    from sim.radiation import RadiationClock, RadiationRates

    rates = RadiationRates(sdc_per_active_board_hour=0.0, sefi_per_powered_board_hour=0.0,
                           fail_per_board_hour=1.0)
    ticks = 72_000
    mult = np.where(np.arange(ticks) < ticks // 2, 10.0, 1.0)
    clock = RadiationClock(np.random.default_rng(5), rates, 4, 1.0, mult)
    on = np.ones(4, bool)
    first = second = 0
    for t in range(ticks):
        n = int(clock.tick(on, on).fail.sum())
        if t < ticks // 2:
            first += n
        else:
            second += n
    exp_first, exp_second = 4 * 10.0 * 10.0, 4 * 1.0 * 10.0  # boards x rate x mult x hours
    assert abs(first - exp_first) < 4 * np.sqrt(exp_first), f"{first} vs {exp_first}"
    assert abs(second - exp_second) < 4 * np.sqrt(exp_second) + 1, f"{second} vs {exp_second}"


@pytest.mark.timeout(60)  # before the fix it never ended
def test_bursts_piled_on_one_another_cost_a_tick_per_board_not_a_loop_per_event():
    """Found by the fault campaign: twenty overlapping bursts multiply to ~1e30, and the
    clock drew the bank's candidate events one by one (about 1e27 of them a tick), so the
    run never ended. A tick that expects many candidates is drawn per board instead; the
    law is the same (every exposed board hit, at such a rate), and past the burst the
    events come back to their rate."""
    from sim.radiation import RadiationClock, RadiationRates

    rates = RadiationRates(sdc_per_active_board_hour=1e-2, sefi_per_powered_board_hour=1e-2,
                           fail_per_board_hour=0.0)
    ticks, n = 20_000, 16
    mult = np.ones(ticks)
    for _ in range(20):
        mult[10:1000] *= 100.0
    clock = RadiationClock(np.random.default_rng(6), rates, n, 1.0, mult)
    on = np.ones(n, bool)
    hit_in = hit_after = 0
    for t in range(ticks):
        ev = clock.tick(on, on)
        if 10 <= t < 1000:
            hit_in += int(ev.sdc.all() and ev.sefi.all())
        elif t >= 1000:
            hit_after += int(ev.sdc.sum() + ev.sefi.sum())
    assert hit_in == 990, f"every board hit every burst tick: {hit_in} of 990"
    expected_after = 2 * 1e-2 * n * (ticks - 1000) / 3600.0  # about 1.7
    assert hit_after < expected_after + 8 * np.sqrt(expected_after) + 2, hit_after
