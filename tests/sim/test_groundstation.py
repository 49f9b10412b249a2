import math

import numpy as np
import pytest

from sim.groundstation import (
    Pass,
    eci_to_ecef_m,
    elevation_deg,
    equation_of_equinoxes_rad,
    find_passes,
    gast_rad,
    geodetic_from_ecef_m,
    gmst_rad,
    nutation_in_longitude_rad,
    passes_refined,
    station_ecef_m,
    station_eci_m,
)
from sim.orbit import CircularOrbit, make_orbit
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


def test_station_eci_matches_the_earth_fixed_position_rotated_by_gast() -> None:
    jd = np.array([2451545.0, 2461000.25])
    r_eci = station_eci_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M, jd)
    r_ecef = station_ecef_m(MADRID_LAT_DEG, MADRID_LON_DEG, MADRID_ALT_M)
    assert r_eci.shape == (2, 3), f"shape is {r_eci.shape}"
    assert np.allclose(r_eci[:, 2], r_ecef[2]), "rotation about z moved the z component"
    assert np.allclose(np.linalg.norm(r_eci, axis=-1), np.linalg.norm(r_ecef)), "length changed"
    lon_eci = np.arctan2(r_eci[:, 1], r_eci[:, 0])
    delta = np.mod(lon_eci - math.radians(MADRID_LON_DEG) - gast_rad(jd) + math.pi, 2 * math.pi)
    assert np.allclose(delta, math.pi, rtol=0.0, atol=1e-12), (
        "ECI longitude is not the geodetic one plus GAST"
    )


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


# --- nutation and apparent sidereal time -------------------------------------------------

ARCSEC_DEG = 1.0 / 3600.0
FOUR_TERM_NUTATION_ACCURACY_ARCSEC = 0.5  # Meeus ch. 22: what the four terms leave out
EQUATION_OF_EQUINOXES_MAX_ARCSEC = 18.0  # (17.2 + 1.32 + 0.23 + 0.21)" x cos(23.44 deg)


def test_four_term_nutation_matches_the_full_iau_1980_series_of_vallado_example_3_15() -> None:
    # Vallado (4th ed.) example 3-15: JD_TT 2453101.828154745, delta-psi = -0.0034108 deg
    got_deg = math.degrees(nutation_in_longitude_rad(2453101.828154745))
    error_arcsec = abs(got_deg - (-0.0034108)) / ARCSEC_DEG
    assert error_arcsec < FOUR_TERM_NUTATION_ACCURACY_ARCSEC, (
        f"delta-psi {got_deg} deg is {error_arcsec} arcsec from the full series"
    )


def test_apparent_sidereal_time_differs_from_mean_by_the_equation_of_the_equinoxes() -> None:
    jd = 2451545.0 + np.linspace(0.0, 19.0 * 365.25, 2001)
    gap_rad = np.mod(gast_rad(jd) - gmst_rad(jd) + math.pi, 2 * math.pi) - math.pi
    assert np.allclose(gap_rad, equation_of_equinoxes_rad(jd), rtol=0.0, atol=1e-12), (
        "GAST - GMST is not the equation of the equinoxes"
    )
    worst_arcsec = float(np.max(np.abs(np.degrees(gap_rad)))) / ARCSEC_DEG
    assert worst_arcsec < EQUATION_OF_EQUINOXES_MAX_ARCSEC, f"GAST - GMST reached {worst_arcsec}\""


def test_geodetic_coordinates_invert_the_station_position() -> None:
    for lat, lon, alt in [(40.43, -4.25, 650.0), (-78.2, 170.0, 550e3), (0.0, 0.0, 0.0)]:
        got = geodetic_from_ecef_m(station_ecef_m(lat, lon, alt))
        assert np.allclose(got, (lat, lon, alt), rtol=0.0, atol=1e-6), f"{(lat, lon, alt)} -> {got}"


# --- refined passes -----------------------------------------------------------------------

PASS_EDGE_PROBE_S = 10e-3  # AOS/LOS must be this close to the mask crossing [s]
ZENITH_TOLERANCE_DEG = 0.01  # peak elevation of a pass straight overhead
SAMPLED_VS_REFINED_S = 1.0  # find_passes on 1 s samples vs passes_refined [s]
EPOCH = parse_epoch_utc("2026-12-01T00:00:00Z")
ORBIT_550_53 = {"altitude_km": 550.0, "inclination_deg": 53.0, "raan_deg": 40.0}
STATION_41N = {"name": "41n", "lat_deg": 41.0, "lon_deg": -4.0, "alt_m": 700.0,
               "min_elevation_deg": 10.0}


def _elevation(orbit, station: dict, t_s: np.ndarray) -> np.ndarray:
    jd = julian_date_utc(EPOCH, t_s)
    lat, lon = station["lat_deg"], station["lon_deg"]
    r_station = station_eci_m(lat, lon, station["alt_m"], jd)
    return elevation_deg(orbit.position_eci_m(t_s), r_station, lat, lon, jd)


def test_a_550_km_53_deg_orbit_passes_a_41n_station_5_to_7_times_a_day() -> None:
    passes = passes_refined(make_orbit(ORBIT_550_53, EPOCH), STATION_41N, EPOCH, hours=24.0)
    assert 4 <= len(passes) <= 8, f"{len(passes)} passes above 10 deg in a day"
    for p in passes:
        assert 180.0 <= p.duration_s <= 660.0, f"pass {p} does not last 3-11 minutes"
        assert 10.0 <= p.max_elev_deg <= 90.0, f"pass {p} peaks outside [10, 90] deg"
        assert p.aos_s < p.max_elev_s < p.los_s, f"pass {p} peaks outside its window"


def test_pass_edges_are_within_10_ms_of_the_mask_crossing() -> None:
    orbit = make_orbit(ORBIT_550_53, EPOCH)
    passes = passes_refined(orbit, STATION_41N, EPOCH, hours=24.0)
    probe = PASS_EDGE_PROBE_S
    for p in passes:
        before, after = _elevation(orbit, STATION_41N, np.array([p.aos_s - probe, p.aos_s + probe]))
        assert before < 10.0 <= after, f"AOS {p.aos_s} s is not at the 10 deg crossing"
        before, after = _elevation(orbit, STATION_41N, np.array([p.los_s - probe, p.los_s + probe]))
        assert before >= 10.0 > after, f"LOS {p.los_s} s is not at the 10 deg crossing"


def test_refined_peak_is_the_highest_elevation_of_the_pass() -> None:
    orbit = make_orbit(ORBIT_550_53, EPOCH)
    for p in passes_refined(orbit, STATION_41N, EPOCH, hours=24.0):
        dense = _elevation(orbit, STATION_41N, np.linspace(p.aos_s, p.los_s, 2001))
        assert p.max_elev_deg >= float(np.max(dense)) - 1e-6, (
            f"pass {p}: a sample reaches {np.max(dense)} deg"
        )


def test_refined_passes_agree_with_passes_found_in_1_s_samples() -> None:
    orbit = make_orbit(ORBIT_550_53, EPOCH)
    t_s = np.arange(0.0, 86400.0, 1.0)
    sampled = find_passes(_elevation(orbit, STATION_41N, t_s), t_s, 10.0)
    refined = passes_refined(orbit, STATION_41N, EPOCH, hours=24.0)
    assert len(sampled) == len(refined), f"{len(sampled)} sampled vs {len(refined)} refined"
    for a, b in zip(sampled, refined, strict=True):
        assert abs(a.aos_s - b.aos_s) < SAMPLED_VS_REFINED_S, f"AOS {a.aos_s} vs {b.aos_s}"
        assert abs(a.los_s - b.los_s) < SAMPLED_VS_REFINED_S, f"LOS {a.los_s} vs {b.los_s}"


def test_a_pass_straight_overhead_peaks_at_90_deg() -> None:
    orbit = make_orbit(ORBIT_550_53, EPOCH)
    overhead_s = 1234.5
    r_ecef = eci_to_ecef_m(orbit.position_eci_m(overhead_s), julian_date_utc(EPOCH, overhead_s))
    lat, lon, _ = geodetic_from_ecef_m(r_ecef)
    station = {"lat_deg": lat, "lon_deg": lon, "alt_m": 0.0, "min_elevation_deg": 10.0}
    passes = passes_refined(orbit, station, EPOCH, hours=1.0)
    (p,) = [p for p in passes if p.aos_s < overhead_s < p.los_s]
    assert abs(p.max_elev_deg - 90.0) < ZENITH_TOLERANCE_DEG, f"zenith pass peaks at {p.max_elev_deg}"
    assert abs(p.max_elev_s - overhead_s) < 0.1, f"peak at {p.max_elev_s} s, overhead at {overhead_s} s"


def test_a_pass_in_progress_at_either_end_of_the_window_is_cut_there() -> None:
    orbit = make_orbit(ORBIT_550_53, EPOCH)
    (first, *_) = passes_refined(orbit, STATION_41N, EPOCH, hours=24.0)
    mid_s = 0.5 * (first.aos_s + first.los_s)
    cut = passes_refined(orbit, STATION_41N, EPOCH, hours=mid_s / 3600.0)
    assert cut[-1].los_s == pytest.approx(mid_s, abs=1e-6), f"LOS of a cut pass is {cut[-1].los_s}"
    assert cut[-1].aos_s == pytest.approx(first.aos_s, abs=1e-2), (
        f"pass in progress at the end became {cut[-1]}"
    )
