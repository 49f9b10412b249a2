import math

import numpy as np
import pytest

from sim.constants import R_EARTH_EQ_M
from sim.eclipse import eclipse_intervals, sunlit_fraction_cylindrical
from sim.orbit import CircularOrbit

SHADOW_FRACTION_RELATIVE_TOLERANCE = 0.005  # 0.5 % of the closed-form shadow fraction
SAMPLES_PER_ORBIT = 100_000
# a polar orbit with RAAN 0 lies in the x-z plane and has no J2 nodal drift, so a Sun along
# x stays in the orbit plane (beta = 0)
SUN_ALONG_X = np.array([1.0, 0.0, 0.0])


def test_satellite_on_the_anti_sun_side_is_in_shadow() -> None:
    r_m = np.array([-(R_EARTH_EQ_M + 550e3), 0.0, 0.0])
    assert sunlit_fraction_cylindrical(r_m, SUN_ALONG_X) == 0.0, "anti-sun point is lit"


def test_satellite_on_the_sun_side_is_lit() -> None:
    r_m = np.array([R_EARTH_EQ_M + 550e3, 0.0, 0.0])
    assert sunlit_fraction_cylindrical(r_m, SUN_ALONG_X) == 1.0, "sub-solar point is dark"


def test_satellite_behind_the_earth_but_outside_the_cylinder_is_lit() -> None:
    r_m = np.array([-1e7, 1.01 * R_EARTH_EQ_M, 0.0])
    assert sunlit_fraction_cylindrical(r_m, SUN_ALONG_X) == 1.0, "point beyond the limb is dark"


def test_sunlit_fraction_is_vectorised_over_leading_axes() -> None:
    r_m = np.zeros((4, 7, 3))
    r_m[..., 0] = -(R_EARTH_EQ_M + 550e3)
    got = sunlit_fraction_cylindrical(r_m, SUN_ALONG_X)
    assert got.shape == (4, 7), f"shape is {got.shape}"
    assert got.dtype == float and np.all(got == 0.0), "all anti-sun points should be 0.0"


def test_shadowed_fraction_at_zero_beta_matches_the_closed_form() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=90.0, raan_deg=0.0)
    t_s = np.linspace(0.0, orbit.period_s, SAMPLES_PER_ORBIT, endpoint=False)
    sunlit = sunlit_fraction_cylindrical(orbit.position_eci_m(t_s), SUN_ALONG_X)
    shadowed = 1.0 - sunlit.mean()
    expected = math.asin(R_EARTH_EQ_M / orbit.semi_major_axis_m) / math.pi
    assert math.isclose(shadowed, expected, rel_tol=SHADOW_FRACTION_RELATIVE_TOLERANCE), (
        f"shadowed fraction {shadowed} differs from asin(Re/a)/pi = {expected}"
    )


def test_eclipse_intervals_of_a_sampled_series() -> None:
    t_s = np.arange(10.0)
    sunlit = np.array([1, 1, 0, 0, 0, 1, 1, 0, 1, 1], dtype=float)
    assert eclipse_intervals(t_s, sunlit) == [(2.0, 5.0), (7.0, 8.0)], "interval edges broke"


def test_eclipse_intervals_open_at_either_end_are_closed_by_the_series() -> None:
    t_s = np.arange(6.0)
    sunlit = np.array([0, 0, 1, 1, 0, 0], dtype=float)
    assert eclipse_intervals(t_s, sunlit) == [(0.0, 2.0), (4.0, 5.0)], "open edges broke"


def test_fully_lit_series_has_no_eclipse() -> None:
    assert eclipse_intervals(np.arange(5.0), np.ones(5)) == [], "found an eclipse in sunlight"


def test_eclipse_interval_length_over_an_orbit_matches_the_closed_form() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=90.0, raan_deg=0.0)
    t_s = np.arange(0.0, orbit.period_s, 1.0)
    sunlit = sunlit_fraction_cylindrical(orbit.position_eci_m(t_s), SUN_ALONG_X)
    (start_s, end_s), *rest = eclipse_intervals(t_s, sunlit)
    expected_s = orbit.period_s * math.asin(R_EARTH_EQ_M / orbit.semi_major_axis_m) / math.pi
    assert rest == [], "one orbit at beta 0 has exactly one eclipse"
    assert abs((end_s - start_s) - expected_s) <= 1.0, (
        f"eclipse lasts {end_s - start_s} s, closed form {expected_s} s"
    )


def test_eclipse_intervals_refuse_mismatched_shapes() -> None:
    with pytest.raises(ValueError, match="equal length"):
        eclipse_intervals(np.arange(3.0), np.ones(4))
