"""The onboard TLE checks: good sets parse, each kind of bad line names its columns."""

from __future__ import annotations

import pytest

from flightsw.orbit.tle import OrbitError, parse_tle, tle_checksum

# ISS (ZARYA), the example set of the sgp4 package's documentation
ISS_LINE1 = "1 25544U 98067A   19343.69339541  .00001764  00000-0  38792-4 0  9991"
ISS_LINE2 = "2 25544  51.6439 211.2001 0007417  17.6667  85.6398 15.50103472202482"


def edit(line: str, first: int, text: str) -> str:
    """``line`` with ``text`` written from 1-based column ``first``, checksum made good."""
    body = line[: first - 1] + text + line[first - 1 + len(text) : 68]
    return body + str(tle_checksum(body))


def test_checksum_matches_the_published_lines() -> None:
    assert tle_checksum(ISS_LINE1) == 1, "line 1 checksum differs from the published digit"
    assert tle_checksum(ISS_LINE2) == 2, "line 2 checksum differs from the published digit"


def test_a_good_set_parses_into_its_fields() -> None:
    tle = parse_tle(ISS_LINE1, ISS_LINE2)
    assert tle.catalog_number == "25544"
    assert (tle.epoch_jd, tle.epoch_jd_fraction) == (2458826.5, 0.69339541)
    assert tle.inclination_deg == 51.6439
    assert tle.eccentricity == 0.0007417
    assert tle.mean_motion_rev_per_day == 15.50103472
    assert tle.bstar_per_earth_radius == 0.38792e-4
    assert tle.period_s == pytest.approx(86400.0 / 15.50103472)


def test_trailing_line_endings_are_ignored() -> None:
    assert parse_tle(ISS_LINE1 + "\r\n", ISS_LINE2 + "\n").line1 == ISS_LINE1


@pytest.mark.parametrize(
    ("line1", "line2", "expected_in_message"),
    [
        pytest.param(ISS_LINE1[:68] + "7", ISS_LINE2, "TLE line 1, column 69 (checksum): expected 1",
                     id="bad checksum"),
        pytest.param(ISS_LINE1, ISS_LINE2[:60], "TLE line 2, columns 1-69 (line): expected 69",
                     id="short line"),
        pytest.param(ISS_LINE2, ISS_LINE2, "TLE line 1, column 1 (line number): expected '1'",
                     id="lines swapped"),
        pytest.param(ISS_LINE1, edit(ISS_LINE2, 3, "25545"),
                     "TLE line 2, columns 3-7 (catalogue number): expected '25544' as on line 1",
                     id="catalogue mismatch"),
        pytest.param(ISS_LINE1, edit(ISS_LINE2, 53, "15.5O103472"),
                     "TLE line 2, columns 53-63 (mean motion): expected a number in [0.1, 20]",
                     id="mean motion not a number"),
        pytest.param(ISS_LINE1, edit(ISS_LINE2, 9, "191.6439"),
                     "TLE line 2, columns 9-16 (inclination): expected a number in [0, 180]",
                     id="inclination out of range"),
        pytest.param(ISS_LINE1, edit(ISS_LINE2, 27, "0.07417"),
                     "TLE line 2, columns 27-33 (eccentricity)", id="eccentricity with a point"),
        pytest.param(edit(ISS_LINE1, 54, " 3879-04"), ISS_LINE2,
                     "TLE line 1, columns 54-61 (BSTAR)", id="malformed BSTAR"),
        pytest.param(edit(ISS_LINE1, 19, "x9"), ISS_LINE2,
                     "TLE line 1, columns 19-20 (epoch year): expected two digits", id="epoch year"),
        pytest.param(ISS_LINE1, edit(ISS_LINE2, 27, "9999999"),
                     "TLE line 2, columns 9-63 (elements): expected elements SGP4 can initialise",
                     id="elements sgp4 refuses"),
    ],
)
def test_a_bad_line_is_rejected_naming_field_columns_and_expectation(
    line1: str, line2: str, expected_in_message: str
) -> None:
    with pytest.raises(OrbitError) as err:
        parse_tle(line1, line2)
    assert expected_in_message in str(err.value), f"unhelpful message: {err.value}"
    assert "got " in str(err.value), f"message does not say what came: {err.value}"


def test_orbit_error_is_a_value_error() -> None:
    assert issubclass(OrbitError, ValueError)
