import math
from datetime import UTC, datetime, timedelta
from importlib import resources

import numpy as np
import pytest

from sim.orbit import CircularOrbit
from sim.tle import (
    Tle,
    TleError,
    TleOrbit,
    teme_to_tod,
    tle_checksum,
    tle_from_circular,
)

# tcppver.out prints positions to 1e-8 km; the C++ SGP4 that sgp4 wraps reproduces them
SGP4_VERIFICATION_TOLERANCE_KM = 1e-6
ARCSEC_RAD = math.pi / (180.0 * 3600.0)
FOUR_TERM_NUTATION_ACCURACY_ARCSEC = 0.5  # Meeus ch. 22: what the four terms leave out
EQUATION_OF_EQUINOXES_MAX_ARCSEC = 18.0  # (17.2 + 1.32 + 0.23 + 0.21)" x cos(23.44 deg)
KEPLER_PERIOD_RELATIVE_TOLERANCE = 1e-3  # 0.1 %: SGP4's J2 along-track rate is ~0.06 %
TLE_FIELD_ROUNDING_RELATIVE = 1e-8  # mean motion is written to 1e-8 rev/d
OSCULATING_INCLINATION_TOLERANCE_DEG = 0.1  # J2 short-period wobble of the plane
ONE_MILLIMETRE_M = 1e-3
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)

TLE_00005 = (
    "1 00005U 58002B   00179.78495062  .00000023  00000-0  28098-4 0  4753",
    "2 00005  34.2682 348.7242 1859667 331.7664  19.3264 10.82419157413667",
)


def _sgp4_data(name: str) -> str:
    return resources.files("sgp4").joinpath(name).read_text()


def _verification_tles() -> dict[str, tuple[str, str]]:
    """Catalogue number -> the two lines, trimmed to 69 columns (SGP4-VER.TLE appends the
    start/stop/step of each case after column 69)."""
    lines = [ln for ln in _sgp4_data("SGP4-VER.TLE").splitlines() if ln[:2] in ("1 ", "2 ")]
    return {l1[2:7].strip().lstrip("0"): (l1[:69], l2[:69])
            for l1, l2 in zip(lines[::2], lines[1::2], strict=True)}


def _verification_vectors() -> dict[str, list[tuple[float, np.ndarray]]]:
    """Catalogue number -> [(tsince_min, r_teme_km (3,))] from tcppver.out."""
    out: dict[str, list[tuple[float, np.ndarray]]] = {}
    current = None
    for line in _sgp4_data("tcppver.out").splitlines():
        fields = line.split()
        if len(fields) == 2 and fields[1] == "xx":
            current = out.setdefault(fields[0], [])
        elif fields and current is not None:
            current.append((float(fields[0]), np.array([float(x) for x in fields[1:4]])))
    return out


def _with_checksum(body: str) -> str:
    """A 68-column line body completed with its checksum."""
    return body + str(tle_checksum(body))


@pytest.mark.parametrize("catalog", ["5", "4632", "6251", "8195", "28057"])
def test_sgp4_reproduces_the_published_verification_vectors(catalog: str) -> None:
    line1, line2 = _verification_tles()[catalog]
    tle = Tle(line1, line2)
    cases = _verification_vectors()[catalog]
    tsince_min = np.array([t for t, _ in cases])
    expected_km = np.stack([r for _, r in cases])
    got_km, _ = tle.propagate_teme_km(tsince_min)
    worst_km = float(np.max(np.abs(got_km - expected_km)))
    assert worst_km < SGP4_VERIFICATION_TOLERANCE_KM, (
        f"satellite {catalog}: TEME position differs from tcppver.out by {worst_km} km"
    )


def test_parsed_fields_of_a_published_tle() -> None:
    tle = Tle(*TLE_00005)
    assert tle.catalog_number == "00005", f"catalogue number {tle.catalog_number!r}"
    # 2000 day 179.78495062 = 27 June 2000 18:50:19.7336 UTC (tcppver.out prints the
    # epoch + 360 min as 2000-06-28 00:50:19.733571)
    expected_epoch = datetime(2000, 6, 27, 18, 50, 19, 733568, tzinfo=UTC)
    assert abs(tle.epoch_utc - expected_epoch) < timedelta(microseconds=5), (
        f"epoch parsed as {tle.epoch_utc}"
    )
    assert tle.inclination_deg == 34.2682, "inclination field"
    assert tle.eccentricity == 0.1859667, "eccentricity has an implied leading '0.'"
    assert tle.mean_motion_rev_per_day == 10.82419157, "mean motion field"
    assert math.isclose(tle.bstar_per_earth_radius, 0.28098e-4), "BSTAR has an implied exponent"


def test_checksum_counts_digits_and_minus_signs() -> None:
    assert tle_checksum(TLE_00005[0]) == 3, "line 1 of satellite 5 ends in checksum 3"
    assert tle_checksum(TLE_00005[1]) == 7, "line 2 of satellite 5 ends in checksum 7"
    assert tle_checksum("1-" + "0" * 66) == 2, "a '-' counts as one"


def test_trailing_whitespace_and_newlines_are_ignored() -> None:
    tle = Tle(TLE_00005[0] + "  \r\n", TLE_00005[1] + "\n")
    assert tle.line1 == TLE_00005[0], "stored line 1 should be stripped"


def _error_for(line1: str, line2: str) -> TleError:
    with pytest.raises(TleError) as info:
        Tle(line1, line2)
    return info.value


def test_a_bad_checksum_is_refused_naming_line_column_expected_and_got() -> None:
    bad = TLE_00005[1][:68] + "2"
    err = _error_for(TLE_00005[0], bad)
    message = str(err)
    assert err.line == 2 and err.columns == "69", f"wrong place: {message}"
    assert "checksum" in message and "expected 7" in message and "got '2'" in message, message


def test_a_short_line_is_refused_naming_its_length() -> None:
    err = _error_for(TLE_00005[0][:68], TLE_00005[1])
    message = str(err)
    assert err.line == 1, f"wrong line: {message}"
    assert "69 characters" in message and "68 characters" in message, message


def test_swapped_lines_are_refused_by_their_line_numbers() -> None:
    err = _error_for(TLE_00005[1], TLE_00005[0])
    assert err.line == 1 and err.columns == "1", f"wrong place: {err}"
    assert "line number" in str(err), f"message does not say what is wrong: {err}"


def test_lines_of_two_satellites_are_refused() -> None:
    other = _verification_tles()["6251"][1]
    err = _error_for(TLE_00005[0], other)
    assert err.line == 2 and err.columns == "3-7", f"wrong place: {err}"


def test_an_out_of_range_field_is_refused_naming_its_columns() -> None:
    line2 = _with_checksum(TLE_00005[1][:8] + "181.0000" + TLE_00005[1][16:68])
    err = _error_for(TLE_00005[0], line2)
    message = str(err)
    assert err.line == 2 and err.columns == "9-16", f"wrong place: {message}"
    assert "inclination" in message and "[0, 180]" in message and "181.0000" in message, message


def test_a_field_that_is_not_a_number_is_refused() -> None:
    line1 = _with_checksum(TLE_00005[0][:20] + "179.7849x062" + TLE_00005[0][32:68])
    err = _error_for(line1, TLE_00005[1])
    assert err.line == 1 and err.columns == "21-32", f"wrong place: {err}"


def test_elements_sgp4_refuses_are_refused_with_its_reason() -> None:
    line2 = _with_checksum(TLE_00005[1][:52] + " 0.00001000" + TLE_00005[1][63:68])
    err = _error_for(TLE_00005[0], line2)
    assert err.line == 2 and "sgp4 error" in str(err), f"SGP4's refusal not reported: {err}"


def test_tle_made_from_circular_elements_round_trips() -> None:
    line1, line2 = tle_from_circular(550.0, 53.0, -20.0, 400.0, EPOCH)
    tle = Tle(line1, line2)
    kepler = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=0.0)
    assert tle.inclination_deg == 53.0, f"inclination became {tle.inclination_deg}"
    assert tle.raan_deg == 340.0, f"node -20 deg became {tle.raan_deg}"
    assert tle.mean_anomaly_deg == 40.0, f"argument of latitude 400 deg became {tle.mean_anomaly_deg}"
    assert tle.eccentricity == 0.0 and tle.arg_perigee_deg == 0.0, "orbit is not circular"
    assert tle.epoch_utc == EPOCH, f"epoch became {tle.epoch_utc}"
    assert math.isclose(tle.period_s, kepler.period_s, rel_tol=TLE_FIELD_ROUNDING_RELATIVE), (
        f"TLE period {tle.period_s} s, Kepler {kepler.period_s} s"
    )


def test_propagated_circular_tle_keeps_keplers_period_and_its_inclination() -> None:
    kepler = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=0.0)
    orbit = TleOrbit(*tle_from_circular(550.0, 53.0, 0.0, 0.0, EPOCH), EPOCH)
    t_s = np.arange(0.0, 3.2 * kepler.period_s, 1.0)
    r_m = orbit.position_teme_m(t_s)
    z_m = r_m[:, 2]
    up = np.flatnonzero((z_m[:-1] < 0.0) & (z_m[1:] >= 0.0))
    node_s = t_s[up] - z_m[up] / (z_m[up + 1] - z_m[up])
    nodal_period_s = float(np.mean(np.diff(node_s)))
    assert math.isclose(nodal_period_s, kepler.period_s, rel_tol=KEPLER_PERIOD_RELATIVE_TOLERANCE), (
        f"nodal period {nodal_period_s} s, Kepler {kepler.period_s} s"
    )
    h = np.cross(r_m[:-1], np.diff(r_m, axis=0))
    incl_deg = np.degrees(np.arccos(h[:, 2] / np.linalg.norm(h, axis=-1)))
    worst = float(np.max(np.abs(incl_deg - 53.0)))
    assert worst < OSCULATING_INCLINATION_TOLERANCE_DEG, f"inclination strays {worst} deg"


def test_tle_from_circular_refuses_an_epoch_a_tle_cannot_hold() -> None:
    with pytest.raises(ValueError, match="1957..2056"):
        tle_from_circular(550.0, 53.0, 0.0, 0.0, datetime(2060, 1, 1, tzinfo=UTC))


def test_tle_orbit_counts_time_from_the_scenario_epoch_not_the_tle_epoch() -> None:
    line1, line2 = tle_from_circular(550.0, 53.0, 10.0, 0.0, EPOCH)  # epoch day 335.00000000
    one_day_later = TleOrbit(line1, line2, EPOCH + timedelta(days=1))
    expected_km, _ = Tle(line1, line2).propagate_teme_km(1440.0)
    got_m = one_day_later.position_teme_m(0.0)
    assert np.allclose(got_m, expected_km * 1000.0, rtol=0.0, atol=ONE_MILLIMETRE_M), (
        f"t_s = 0 gave {got_m} m, the TLE at +1 day is {expected_km * 1000.0} m"
    )


def test_tle_orbit_position_shape_follows_the_time_shape() -> None:
    orbit = TleOrbit(*tle_from_circular(550.0, 53.0, 0.0, 0.0, EPOCH), EPOCH)
    assert orbit.position_eci_m(0.0).shape == (3,), "scalar time must give shape (3,)"
    assert orbit.position_eci_m(np.zeros((2, 4))).shape == (2, 4, 3), "(2,4) must give (2,4,3)"


def test_a_decaying_orbit_sgp4_cannot_follow_raises_an_error_naming_time_and_reason() -> None:
    # SGP4-VER.TLE: "SL-6 R/B(2), last tle given, decayed 2006-04-04"; under its heavy drag
    # SGP4's mean eccentricity leaves [0, 1) 489.5 min after the epoch
    tle = Tle(*_verification_tles()["22312"])
    orbit = TleOrbit(tle.line1, tle.line2, tle.epoch_utc)
    orbit.position_eci_m(0.0)  # fine at its epoch
    with pytest.raises(ValueError) as info:
        orbit.position_eci_m(np.arange(0.0, 86400.0, 600.0))
    message = str(info.value)
    assert "t_s = 29400.000 s" in message, f"error does not name the first failing time: {message}"
    assert "sgp4 error 1" in message and "eccentricity" in message, f"no reason: {message}"


def test_teme_to_tod_matches_vallado_example_3_15() -> None:
    # Vallado (4th ed.) example 3-15, JD_TT 2453101.828154745, without EOP corrections:
    # r_TEME = (5094.18016210, 6127.64465950, 6380.34453270) km
    # r_TOD  = (5094.51478040, 6127.36646120, 6380.34453270) km (full IAU 1980 nutation)
    r_teme_m = np.array([5094.18016210, 6127.64465950, 6380.34453270]) * 1000.0
    expected_m = np.array([5094.51478040, 6127.36646120, 6380.34453270]) * 1000.0
    got_m = teme_to_tod(r_teme_m, 2453101.828154745)
    tolerance_m = FOUR_TERM_NUTATION_ACCURACY_ARCSEC * ARCSEC_RAD * np.linalg.norm(r_teme_m[:2])
    error_m = float(np.linalg.norm(got_m - expected_m))
    assert error_m < tolerance_m, f"TOD position off by {error_m} m (allowed {tolerance_m} m)"


def test_teme_to_tod_is_a_small_rotation_about_z() -> None:
    jd = 2451545.0 + np.linspace(0.0, 19.0 * 365.25, 4001)  # one 18.6-year nodal cycle
    r_teme = np.array([7.0e6, 0.0, 1.0e6])
    r_tod = teme_to_tod(r_teme, jd)
    assert np.allclose(r_tod[:, 2], r_teme[2], rtol=0.0, atol=1e-9), "z must not change"
    assert np.allclose(np.linalg.norm(r_tod, axis=-1), np.linalg.norm(r_teme)), "length changed"
    angle_arcsec = np.degrees(np.arctan2(r_tod[:, 1], r_tod[:, 0])) * 3600.0
    assert np.max(np.abs(angle_arcsec)) < EQUATION_OF_EQUINOXES_MAX_ARCSEC, (
        f"rotation reached {np.max(np.abs(angle_arcsec))} arcsec"
    )
    assert np.max(np.abs(angle_arcsec)) > 15.0, "the 17.2\" main term should show over a cycle"
