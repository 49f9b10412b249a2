import math
from datetime import UTC, datetime

import numpy as np
import pytest

from sim.orbit import CircularOrbit, Orbit, TleOrbit, make_orbit, validate_orbit_table
from sim.tle import tle_checksum, tle_from_circular

ONE_SECOND_S = 1.0
ONE_MILLIMETRE_M = 1e-3
SUN_SYNC_RATE_RELATIVE_TOLERANCE = 0.01  # 1 % of the nodal rate
TROPICAL_YEAR_D = 365.2422  # the node must keep pace with the mean Sun: 360 deg per year
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
ELEMENTS = {"altitude_km": 550.0, "inclination_deg": 53.0, "raan_deg": 40.0, "arg_lat_deg": 0.0}
# SGP4 reads the elements as mean elements: J2 short-period terms put the osculating
# position up to ~15 km from the analytic circle at the epoch
SGP4_VS_CIRCLE_AT_EPOCH_M = 20e3
LINE1, LINE2 = tle_from_circular(550.0, 53.0, 40.0, 0.0, EPOCH)


def test_period_of_a_550_km_orbit_is_about_95_7_minutes() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=0.0)
    # Kepler's third law for a = 6928.137 km, worked by hand: 5738.99 s
    assert abs(orbit.period_s - 5738.99) < ONE_SECOND_S, f"period is {orbit.period_s} s"


def test_period_and_mean_motion_are_consistent() -> None:
    orbit = CircularOrbit(altitude_km=800.0, inclination_deg=98.6, raan_deg=10.0)
    assert math.isclose(orbit.period_s * orbit.mean_motion_rad_s, 2 * math.pi), (
        "period times mean motion must be one revolution"
    )


def test_800_km_orbit_at_98_6_deg_is_sun_synchronous() -> None:
    # Wertz & Larson (SMAD) and Vallado both list i = 98.6 deg for a sun-synchronous 800 km orbit
    orbit = CircularOrbit(altitude_km=800.0, inclination_deg=98.6, raan_deg=0.0)
    rate_deg_per_day = math.degrees(orbit.raan_rate_rad_s) * 86400.0
    expected = 360.0 / TROPICAL_YEAR_D
    assert math.isclose(rate_deg_per_day, expected, rel_tol=SUN_SYNC_RATE_RELATIVE_TOLERANCE), (
        f"nodal rate {rate_deg_per_day} deg/day is not sun-synchronous ({expected})"
    )


def test_prograde_orbit_regresses_and_polar_orbit_does_not() -> None:
    prograde = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=0.0)
    polar = CircularOrbit(altitude_km=550.0, inclination_deg=90.0, raan_deg=0.0)
    assert prograde.raan_rate_rad_s < 0.0, "J2 must move a prograde node westward"
    assert abs(polar.raan_rate_rad_s) < 1e-20, "a polar orbit's node must not drift"


def test_radius_is_constant_along_the_orbit() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=40.0)
    r_m = orbit.position_eci_m(np.linspace(0.0, 86400.0, 1001))
    radius_m = np.linalg.norm(r_m, axis=-1)
    assert np.all(np.abs(radius_m - orbit.semi_major_axis_m) < ONE_MILLIMETRE_M), (
        "a circular orbit left its radius"
    )


def test_satellite_starts_at_the_ascending_node() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=30.0)
    r_m = orbit.position_eci_m(0.0)
    a_m = orbit.semi_major_axis_m
    expected = a_m * np.array([math.cos(math.radians(30.0)), math.sin(math.radians(30.0)), 0.0])
    assert np.allclose(r_m, expected, atol=ONE_MILLIMETRE_M), f"start position is {r_m}"


def test_polar_satellite_is_over_the_north_pole_a_quarter_period_later() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=90.0, raan_deg=0.0)
    r_m = orbit.position_eci_m(orbit.period_s / 4.0)
    assert np.allclose(r_m, [0.0, 0.0, orbit.semi_major_axis_m], atol=ONE_MILLIMETRE_M), (
        f"quarter-period position is {r_m}, not over the pole"
    )


def test_position_shape_follows_the_time_shape() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=0.0)
    assert orbit.position_eci_m(0.0).shape == (3,), "scalar time must give shape (3,)"
    assert orbit.position_eci_m(np.zeros(5)).shape == (5, 3), "(5,) times must give (5, 3)"
    assert orbit.position_eci_m(np.zeros((2, 4))).shape == (2, 4, 3), "(2,4) must give (2,4,3)"


def test_node_drifts_by_the_j2_rate_over_a_day() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=0.0)
    n_rev = 15
    t_s = n_rev * orbit.period_s  # back at the ascending node, on the equator
    r_m = orbit.position_eci_m(t_s)
    node_rad = math.atan2(r_m[1], r_m[0])
    assert abs(r_m[2]) < ONE_MILLIMETRE_M, "satellite should be on the equator"
    assert math.isclose(node_rad, orbit.raan_rate_rad_s * t_s, rel_tol=1e-9), (
        f"node at {node_rad} rad, expected {orbit.raan_rate_rad_s * t_s} rad"
    )


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("altitude_km", {"altitude_km": 100.0, "inclination_deg": 53.0, "raan_deg": 0.0}),
        ("altitude_km", {"altitude_km": 50000.0, "inclination_deg": 53.0, "raan_deg": 0.0}),
        ("inclination_deg", {"altitude_km": 550.0, "inclination_deg": -1.0, "raan_deg": 0.0}),
        ("inclination_deg", {"altitude_km": 550.0, "inclination_deg": 181.0, "raan_deg": 0.0}),
        ("raan_deg", {"altitude_km": 550.0, "inclination_deg": 53.0, "raan_deg": math.nan}),
    ],
)
def test_out_of_range_orbit_is_refused_naming_the_field(field: str, kwargs: dict) -> None:
    with pytest.raises(ValueError) as info:
        CircularOrbit(**kwargs)
    message = str(info.value)
    assert field in message, f"error does not name {field}: {message}"
    assert "expected" in message and "got" in message, f"error lacks expected/got: {message}"


def test_circular_elements_and_tle_orbits_are_both_orbits() -> None:
    assert isinstance(CircularOrbit(550.0, 53.0, 0.0), Orbit), "CircularOrbit is not an Orbit"
    assert isinstance(make_orbit(ELEMENTS, EPOCH), Orbit), "make_orbit did not give an Orbit"


def test_make_orbit_propagates_circular_elements_with_sgp4() -> None:
    orbit = make_orbit(ELEMENTS, EPOCH)
    assert isinstance(orbit, TleOrbit), f"circular elements gave {type(orbit).__name__}"
    circle = CircularOrbit(550.0, 53.0, 40.0, 0.0)
    gap_m = float(np.linalg.norm(orbit.position_eci_m(0.0) - circle.position_eci_m(0.0)))
    assert gap_m < SGP4_VS_CIRCLE_AT_EPOCH_M, f"SGP4 starts {gap_m} m from the circle"


def test_make_orbit_with_a_tle_gives_the_same_positions_as_tle_orbit() -> None:
    t_s = np.linspace(0.0, 7200.0, 13)
    from_table = make_orbit({"tle": [LINE1, LINE2]}, EPOCH).position_eci_m(t_s)
    direct = TleOrbit(LINE1, LINE2, EPOCH).position_eci_m(t_s)
    assert np.array_equal(from_table, direct), "the two ways to a TLE orbit disagree"


def test_arg_lat_is_optional_and_defaults_to_zero() -> None:
    without = {k: v for k, v in ELEMENTS.items() if k != "arg_lat_deg"}
    assert np.array_equal(
        make_orbit(without, EPOCH).position_eci_m(100.0),
        make_orbit(ELEMENTS, EPOCH).position_eci_m(100.0),
    ), "a missing arg_lat_deg is not 0"


@pytest.mark.parametrize("table", [ELEMENTS, {"tle": [LINE1, LINE2]}, {"tle": (LINE1, LINE2)}])
def test_valid_orbit_tables_pass(table: dict) -> None:
    assert validate_orbit_table(table) is None, "a valid table must be accepted without error"


def _bad_checksum(line: str) -> str:
    return line[:68] + str((tle_checksum(line) + 1) % 10)


@pytest.mark.parametrize(
    ("table", "names"),
    [
        ({**ELEMENTS, "altitude_km": 90.0}, ["orbit.altitude_km", "[150, 40000]", "90.0"]),
        ({**ELEMENTS, "inclination_deg": True}, ["orbit.inclination_deg", "True"]),
        ({**ELEMENTS, "raan_deg": "40"}, ["orbit.raan_deg", "'40'"]),
        ({k: v for k, v in ELEMENTS.items() if k != "altitude_km"}, ["orbit.altitude_km", "missing"]),
        ({**ELEMENTS, "eccentricity": 0.1}, ["orbit.eccentricity", "unknown key"]),
        ({**ELEMENTS, "tle": [LINE1, LINE2]}, ["orbit", "not both"]),
        ({"tle": LINE1}, ["orbit.tle", "two strings"]),
        ({"tle": [LINE1, 7]}, ["orbit.tle[1]", "expected a string", "7"]),
        ({"tle": [LINE1, _bad_checksum(LINE2)]}, ["orbit.tle[1]", "checksum", "expected", "got"]),
        ({"tle": [LINE1[:60], LINE2]}, ["orbit.tle[0]", "69 characters", "60 characters"]),
        ([1, 2], ["orbit", "expected a table", "list"]),
    ],
)
def test_bad_orbit_tables_are_refused_naming_the_key(table: object, names: list[str]) -> None:
    with pytest.raises(ValueError) as info:
        validate_orbit_table(table)
    message = str(info.value)
    for name in names:
        assert name in message, f"error does not mention {name!r}: {message}"
    assert "expected" in message, f"error does not say what was expected: {message}"


def test_make_orbit_refuses_what_validation_refuses() -> None:
    with pytest.raises(ValueError, match="orbit.altitude_km"):
        make_orbit({**ELEMENTS, "altitude_km": 50000.0}, EPOCH)
