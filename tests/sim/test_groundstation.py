import math

import numpy as np
import pytest

from sim.groundstation import (
    Pass,
    elevation_deg,
    find_passes,
    gmst_rad,
    station_ecef_m,
    station_eci_m,
)
from sim.orbit import CircularOrbit
from sim.timescale import julian_date_utc, parse_epoch_utc

GMST_TOLERANCE_DEG = 1e-6
ELEVATION_TOLERANCE_DEG = 1e-6
ONE_MILLIMETRE_M = 1e-3
MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M = 40.43, -4.25, 650.0
SAMPLE_STEP_S = 10.0


def test_gmst_at_j2000_is_280_46061837_deg() -> None:
    got_deg = math.degrees(gmst_rad(2451545.0))
    assert abs(got_deg - 280.46061837) < GMST_TOLERANCE_DEG, f"GMST at J2000.0 is {got_deg} deg"


def test_gmst_matches_vallado_example_3_5() -> None:
    # Vallado (4th ed.) example 3-5: 1992 Aug 20 12:14 UT1 -> GMST 152.578787810 deg
    jd = julian_date_utc(parse_epoch_utc("1992-08-20T12:14:00Z"), 0.0)
    got_deg = math.degrees(gmst_rad(jd))
    assert abs(got_deg - 152.578787810) < 1e-5, f"GMST is {got_deg} deg"


def test_gmst_is_vectorised_and_wrapped_to_one_turn() -> None:
    got = gmst_rad(2451545.0 + np.linspace(0.0, 1000.0, 77))
    assert got.shape == (77,), f"shape is {got.shape}"
    assert np.all((got >= 0.0) & (got < 2 * math.pi)), "GMST left [0, 2 pi)"


def test_station_on_the_equator_at_greenwich_is_one_equatorial_radius_out() -> None:
    assert np.allclose(station_ecef_m(0.0, 0.0, 0.0), [6378137.0, 0.0, 0.0], atol=ONE_MILLIMETRE_M)


def test_station_at_the_pole_is_one_polar_radius_up() -> None:
    # WGS-84 polar radius b = 6356752.3142 m
    assert np.allclose(station_ecef_m(90.0, 0.0, 0.0), [0.0, 0.0, 6356752.3142], atol=1e-3)


def test_station_eci_matches_the_earth_fixed_position_rotated_by_gmst() -> None:
    jd = np.array([2451545.0, 2461000.25])
    r_eci = station_eci_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M, jd)
    r_ecef = station_ecef_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M)
    assert r_eci.shape == (2, 3), f"shape is {r_eci.shape}"
    assert np.allclose(r_eci[:, 2], r_ecef[2]), "rotation about z moved the z component"
    assert np.allclose(np.linalg.norm(r_eci, axis=-1), np.linalg.norm(r_ecef)), "length changed"
    lon_eci = np.arctan2(r_eci[:, 1], r_eci[:, 0])
    delta = np.mod(lon_eci - math.radians(MADRID_LON_DEG) - gmst_rad(jd) + math.pi, 2 * math.pi)
    assert np.allclose(delta, math.pi), "ECI longitude is not the geodetic one plus GMST"


def test_satellite_directly_above_the_station_has_elevation_90() -> None:
    jd = 2461000.5
    r_station = station_eci_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M, jd)
    up = station_eci_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M + 550e3, jd) - r_station
    r_sat = r_station + up  # along the geodetic normal
    got = elevation_deg(r_sat, r_station, MADRID_LAT_DEG, MADRID_LON_DEG, jd)
    assert abs(got - 90.0) < ELEVATION_TOLERANCE_DEG, f"zenith elevation is {got} deg"


def test_satellite_on_the_far_side_of_the_earth_is_below_the_horizon() -> None:
    jd = 2461000.5
    r_station = station_eci_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M, jd)
    got = elevation_deg(-2.0 * r_station, r_station, MADRID_LAT_DEG, MADRID_LON_DEG, jd)
    assert got < -80.0, f"antipodal satellite has elevation {got} deg"


def _madrid_day() -> tuple[np.ndarray, np.ndarray]:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=0.0)
    t_s = np.arange(0.0, 86400.0, SAMPLE_STEP_S)
    jd = julian_date_utc(parse_epoch_utc("2026-12-01T00:00:00Z"), t_s)
    r_station = station_eci_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M, jd)
    elev = elevation_deg(orbit.position_eci_m(t_s), r_station, MADRID_LAT_DEG, MADRID_LON_DEG, jd)
    return t_s, elev


def test_a_day_of_550_km_53_deg_orbit_over_madrid_has_a_plausible_set_of_passes() -> None:
    t_s, elev = _madrid_day()
    passes = find_passes(elev, t_s, min_elevation_deg=10.0)
    assert 2 <= len(passes) <= 12, f"{len(passes)} passes over Madrid in a day"
    for p in passes:
        assert 60.0 <= p.duration_s <= 720.0, f"pass {p} does not last 1-12 minutes"
        assert 10.0 <= p.max_elev_deg <= 90.0, f"pass {p} peaks outside [10, 90] deg"


def test_pass_edges_are_interpolated_to_the_threshold() -> None:
    t_s, elev = _madrid_day()
    for p in find_passes(elev, t_s, min_elevation_deg=10.0):
        for edge_s in (p.aos_s, p.los_s):
            at_edge = np.interp(edge_s, t_s, elev)
            assert abs(at_edge - 10.0) < 1e-9, f"elevation at {edge_s} s is {at_edge} deg"


def test_find_passes_on_a_hand_made_series() -> None:
    t_s = np.arange(8.0)
    elev = np.array([0.0, 5.0, 15.0, 25.0, 15.0, 5.0, 15.0, 30.0])
    got = find_passes(elev, t_s, min_elevation_deg=10.0)
    assert got == [Pass(1.5, 4.5, 25.0), Pass(5.5, 7.0, 30.0)], f"passes are {got}"


def test_pass_in_progress_at_the_start_begins_at_the_first_sample() -> None:
    got = find_passes(np.array([20.0, 15.0, 5.0]), np.arange(3.0), min_elevation_deg=10.0)
    assert got == [Pass(0.0, 1.5, 20.0)], f"passes are {got}"


def test_find_passes_refuses_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="equal length"):
        find_passes(np.zeros(3), np.arange(4.0), 10.0)
