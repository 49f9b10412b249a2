import math

import numpy as np

from sim.constants import AU_M
from sim.sun import sun_dir_eci, sun_distance_au, sun_distance_m
from sim.timescale import julian_date_utc, parse_epoch_utc

# The Astronomical Almanac states 0.01 deg for its low-precision solar coordinates.
ALMANAC_DIRECTION_TOLERANCE_DEG = 0.01
ALMANAC_DISTANCE_TOLERANCE_AU = 2e-4
UNIT_NORM_TOLERANCE = 1e-12


def _radec_deg(direction: np.ndarray) -> tuple[float, float]:
    ra = math.degrees(math.atan2(direction[1], direction[0])) % 360.0
    dec = math.degrees(math.asin(direction[2]))
    return ra, dec


def _unit_from_radec(ra_deg: float, dec_deg: float) -> np.ndarray:
    ra, dec = math.radians(ra_deg), math.radians(dec_deg)
    return np.array([math.cos(dec) * math.cos(ra), math.cos(dec) * math.sin(ra), math.sin(dec)])


def _separation_deg(a: np.ndarray, b: np.ndarray) -> float:
    return math.degrees(math.atan2(np.linalg.norm(np.cross(a, b)), np.dot(a, b)))


def _jd(iso: str) -> float:
    return julian_date_utc(parse_epoch_utc(iso), 0.0)


def test_sun_matches_meeus_example_25a_apparent_position() -> None:
    # Meeus, Astronomical Algorithms, example 25.a: 1992 Oct 13.0 TD (JD 2448908.5),
    # apparent RA 198.38083 deg, Dec -7.78507 deg, R = 0.99766 AU.
    direction = sun_dir_eci(2448908.5)
    published = _unit_from_radec(198.38083, -7.78507)
    separation = _separation_deg(direction, published)
    assert separation < ALMANAC_DIRECTION_TOLERANCE_DEG, (
        f"Sun is {separation} deg from Meeus 25.a (RA/Dec {_radec_deg(direction)})"
    )
    distance = sun_distance_au(2448908.5)
    assert abs(distance - 0.99766) < ALMANAC_DISTANCE_TOLERANCE_AU, (
        f"Sun distance {distance} AU differs from Meeus 25.a"
    )


def test_sun_is_at_the_autumn_equinox_point_at_the_usno_equinox_time() -> None:
    # USNO "Earth's Seasons": September equinox 2019 Sep 23 07:50 UT, when the apparent
    # Sun crosses the equator going south: RA 180 deg, Dec 0 deg.
    direction = sun_dir_eci(_jd("2019-09-23T07:50:00Z"))
    separation = _separation_deg(direction, _unit_from_radec(180.0, 0.0))
    assert separation < ALMANAC_DIRECTION_TOLERANCE_DEG, (
        f"Sun is {separation} deg from the autumn equinox point (RA/Dec {_radec_deg(direction)})"
    )


def test_sun_is_at_the_vernal_equinox_point_at_the_usno_equinox_time() -> None:
    # USNO "Earth's Seasons": March equinox 2022 Mar 20 15:33 UT: RA 0 deg, Dec 0 deg.
    direction = sun_dir_eci(_jd("2022-03-20T15:33:00Z"))
    separation = _separation_deg(direction, _unit_from_radec(0.0, 0.0))
    assert separation < ALMANAC_DIRECTION_TOLERANCE_DEG, (
        f"Sun is {separation} deg from the vernal equinox point (RA/Dec {_radec_deg(direction)})"
    )


def test_sun_right_ascension_is_90_deg_at_the_usno_june_solstice() -> None:
    # USNO "Earth's Seasons": June solstice 2018 Jun 21 10:07 UT: apparent longitude 90 deg,
    # hence RA 90 deg.
    ra, dec = _radec_deg(sun_dir_eci(_jd("2018-06-21T10:07:00Z")))
    assert abs(ra - 90.0) < ALMANAC_DIRECTION_TOLERANCE_DEG, f"solstice RA is {ra} deg"
    assert dec > 23.4, f"solstice declination {dec} deg is below the obliquity"


def test_sun_direction_is_a_unit_vector_with_the_shape_of_the_input() -> None:
    jd = 2461000.5 + np.linspace(0.0, 365.0, 50).reshape(5, 10)
    direction = sun_dir_eci(jd)
    assert direction.shape == (5, 10, 3), f"shape is {direction.shape}"
    assert np.all(np.abs(np.linalg.norm(direction, axis=-1) - 1.0) < UNIT_NORM_TOLERANCE), (
        "sun direction is not unit length"
    )


def test_sun_is_nearest_in_early_january_and_farthest_in_early_july() -> None:
    perihelion = sun_distance_au(_jd("2026-01-03T00:00:00Z"))
    aphelion = sun_distance_au(_jd("2026-07-06T00:00:00Z"))
    # published extremes are close to 0.98329 AU and 1.01670 AU every year
    assert abs(perihelion - 0.98329) < ALMANAC_DISTANCE_TOLERANCE_AU, f"perihelion {perihelion}"
    assert abs(aphelion - 1.01670) < ALMANAC_DISTANCE_TOLERANCE_AU, f"aphelion {aphelion}"


def test_sun_distance_in_metres_is_the_distance_in_au_times_the_au() -> None:
    jd = np.array([2451545.0, 2461000.5])
    assert np.allclose(sun_distance_m(jd), sun_distance_au(jd) * AU_M), "AU conversion broke"
