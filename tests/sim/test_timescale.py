from datetime import UTC, datetime, timedelta, timezone

import numpy as np
import pytest

from sim.timescale import julian_date_utc, parse_epoch_utc

ONE_MILLISECOND_D = 1e-3 / 86400.0


def test_j2000_epoch_has_julian_date_2451545() -> None:
    jd = julian_date_utc(datetime(2000, 1, 1, 12, tzinfo=UTC), 0.0)
    assert abs(jd - 2451545.0) < ONE_MILLISECOND_D, f"JD of J2000.0 is {jd}"


def test_meeus_example_7a_date_has_its_published_julian_date() -> None:
    # Meeus, Astronomical Algorithms, example 7.a: 1957 Oct 4.81 -> JD 2436116.31
    epoch = datetime(1957, 10, 4, tzinfo=UTC)
    jd = julian_date_utc(epoch, 0.81 * 86400.0)
    assert abs(jd - 2436116.31) < ONE_MILLISECOND_D, f"JD of 1957 Oct 4.81 is {jd}"


def test_array_of_seconds_gives_array_of_julian_dates_one_day_apart() -> None:
    epoch = parse_epoch_utc("2026-12-01T00:00:00Z")
    jd = julian_date_utc(epoch, np.array([0.0, 86400.0, 2 * 86400.0]))
    assert jd.shape == (3,), "array input must give an array of the same shape"
    assert np.allclose(np.diff(jd), 1.0, atol=ONE_MILLISECOND_D), "days are not 86400 s apart"


def test_epoch_given_in_another_offset_means_the_same_instant() -> None:
    utc = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
    cet = utc.astimezone(timezone(timedelta(hours=1)))
    assert julian_date_utc(utc, 0.0) == julian_date_utc(cet, 0.0), "offset changed the instant"


def test_naive_epoch_is_refused() -> None:
    with pytest.raises(ValueError, match="aware"):
        julian_date_utc(datetime(2026, 12, 1), 0.0)


def test_parse_epoch_accepts_the_documented_format() -> None:
    got = parse_epoch_utc("2026-12-01T00:00:00Z")
    assert got == datetime(2026, 12, 1, tzinfo=UTC), f"parsed as {got!r}"


def test_parse_epoch_accepts_fractional_seconds() -> None:
    got = parse_epoch_utc("2026-12-01T00:00:00.250Z")
    assert got == datetime(2026, 12, 1, 0, 0, 0, 250000, tzinfo=UTC), f"parsed as {got!r}"


@pytest.mark.parametrize("bad", ["2026-12-01 00:00:00", "2026-12-01T00:00:00", "yesterday", ""])
def test_parse_epoch_error_names_the_format_and_what_came(bad: str) -> None:
    with pytest.raises(ValueError) as info:
        parse_epoch_utc(bad)
    message = str(info.value)
    assert "YYYY-MM-DDTHH:MM:SSZ" in message, f"error does not name the format: {message}"
    assert repr(bad) in message, f"error does not show the input: {message}"
