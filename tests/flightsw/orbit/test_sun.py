"""The onboard low-precision Sun against published values."""

from __future__ import annotations

import numpy as np

from flightsw.orbit.sun import AU_KM, sun_position_mod_km

SUN_DIRECTION_TOLERANCE_DEG = 0.01  # the algorithm's stated accuracy (Vallado section 5.1.1)
SUN_DISTANCE_TOLERANCE_AU = 1e-4
EQUINOX_DECLINATION_TOLERANCE_DEG = 0.01  # the Sun's declination moves 0.4 deg/d at an equinox

# Vallado 4th ed. example 5-1: 2006 April 2, 00:00 UT1 (JD 2453827.5), Sun in MOD [km]
VALLADO_5_1_JD = 2453827.5
VALLADO_5_1_SUN_KM = np.array([146186178.0, 28789122.0, 12481127.0])
# USNO: March equinox 2026 at 14:46 UTC on 20 March (the Sun crosses the equator northwards)
EQUINOX_2026_JD = 2461119.5 + (14 * 60 + 46) / 1440.0


def _angle_deg(a: np.ndarray, b: np.ndarray) -> float:
    cos = np.dot(a, b) / (np.linalg.norm(a) * np.linalg.norm(b))
    return float(np.degrees(np.arccos(np.clip(cos, -1.0, 1.0))))


def test_sun_direction_matches_vallado_example_5_1() -> None:
    sun_km = sun_position_mod_km(VALLADO_5_1_JD)
    off_deg = _angle_deg(sun_km, VALLADO_5_1_SUN_KM)
    assert off_deg < SUN_DIRECTION_TOLERANCE_DEG, f"Sun direction off by {off_deg:.5f} deg"


def test_sun_distance_matches_vallado_example_5_1() -> None:
    got_au = np.linalg.norm(sun_position_mod_km(VALLADO_5_1_JD)) / AU_KM
    want_au = np.linalg.norm(VALLADO_5_1_SUN_KM) / AU_KM
    assert abs(got_au - want_au) < SUN_DISTANCE_TOLERANCE_AU, f"distance {got_au} AU vs {want_au}"


def test_sun_is_on_the_equator_at_the_march_equinox() -> None:
    x, y, z = sun_position_mod_km(EQUINOX_2026_JD)
    dec_deg = np.degrees(np.arctan2(z, np.hypot(x, y)))
    assert abs(dec_deg) < EQUINOX_DECLINATION_TOLERANCE_DEG, f"declination {dec_deg:.4f} deg"
    assert x > 0.0, "at the March equinox the Sun lies towards +x (the vernal equinox)"


def test_arrays_give_one_position_per_date() -> None:
    jd = VALLADO_5_1_JD + np.arange(6.0).reshape(2, 3)
    out = sun_position_mod_km(jd)
    assert out.shape == (2, 3, 3)
    np.testing.assert_allclose(out[0, 0], sun_position_mod_km(VALLADO_5_1_JD))
