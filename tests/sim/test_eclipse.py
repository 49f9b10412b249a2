import math
from datetime import UTC, datetime

import numpy as np
import pytest

from sim.constants import AU_M, R_EARTH_EQ_M
from sim.eclipse import (
    SHADOW_NONE,
    SHADOW_PENUMBRA,
    SHADOW_UMBRA,
    eclipse_events,
    eclipse_intervals,
    shadow_kind,
    sun_position_eci_m,
    sunlit_fraction_conical,
    sunlit_fraction_cylindrical,
)
from sim.orbit import CircularOrbit, make_orbit
from sim.timescale import julian_date_utc

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


# --- conical shadow --------------------------------------------------------------------

# time-averaged shadow over an orbit, conical model vs the cylinder's closed form: the
# penumbra is nearly symmetric about the cylinder's edge, so they agree to ~3e-5
CONICAL_FRACTION_TOLERANCE = 1e-4  # of an orbit (0.6 s at 550 km)
ECLIPSE_EDGE_PROBE_S = 1e-3  # an edge must be this close to the true contact [s]
CONTINUITY_STEP_S = 1e-3  # sampling across the penumbra [s]
MAX_FRACTION_JUMP_PER_MS = 2e-3  # a 9 s penumbra moves the fraction ~1.1e-4 per ms on average
# eclipse duration on an SGP4 orbit vs the closed form at the measured beta and radius
EVENT_DURATION_TOLERANCE_S = 5.0
EPOCH = datetime(2026, 12, 1, tzinfo=UTC)
ORBIT_550 = {"altitude_km": 550.0, "inclination_deg": 53.0, "raan_deg": 40.0}
LEO_550_M = R_EARTH_EQ_M + 550e3


def _sun_at_beta(beta_deg: float) -> np.ndarray:
    """The Sun 1 AU away, beta_deg out of the x-z plane (the plane of a polar orbit with
    RAAN 0, which has no nodal drift)."""
    beta = math.radians(beta_deg)
    return AU_M * np.array([math.cos(beta), math.sin(beta), 0.0])


def _closed_form_shadow_fraction(h_m: float, beta_rad: float) -> float:
    """Fraction of a circular orbit in the (cylindrical) shadow: arccos(sqrt(h^2 + 2Rh) /
    ((R + h) cos beta)) / pi (Vallado 4th ed. section 5.3; 0 above beta* = asin(R/(R+h)))."""
    arg = math.sqrt(h_m**2 + 2.0 * R_EARTH_EQ_M * h_m) / ((R_EARTH_EQ_M + h_m) * math.cos(beta_rad))
    return math.acos(arg) / math.pi if arg < 1.0 else 0.0


def test_conical_fraction_is_one_in_sunlight_and_zero_deep_in_the_umbra() -> None:
    sun = _sun_at_beta(0.0)
    assert sunlit_fraction_conical(np.array([LEO_550_M, 0.0, 0.0]), sun) == 1.0, "lit side dark"
    assert sunlit_fraction_conical(np.array([-LEO_550_M, 0.0, 0.0]), sun) == 0.0, "umbra lit"
    assert shadow_kind(np.array([LEO_550_M, 0.0, 0.0]), sun) == SHADOW_NONE, "lit side shadowed"
    assert shadow_kind(np.array([-LEO_550_M, 0.0, 0.0]), sun) == SHADOW_UMBRA, "not umbra"


def test_conical_fraction_and_kind_are_vectorised() -> None:
    r_m = np.zeros((4, 7, 3))
    r_m[..., 0] = -LEO_550_M
    sun = np.broadcast_to(_sun_at_beta(0.0), (4, 7, 3))
    assert sunlit_fraction_conical(r_m, sun).shape == (4, 7), "fraction shape"
    kind = shadow_kind(r_m, sun)
    assert kind.shape == (4, 7) and kind.dtype == np.int8, "kind shape/dtype"


@pytest.mark.parametrize("beta_deg", [0.0, 20.0, 40.0, 60.0, 65.0])
def test_mean_shadow_of_a_circular_orbit_matches_the_closed_form(beta_deg: float) -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=90.0, raan_deg=0.0)
    t_s = np.arange(0.0, orbit.period_s, 0.1)
    sunlit = sunlit_fraction_conical(orbit.position_eci_m(t_s), _sun_at_beta(beta_deg))
    shadowed = 1.0 - float(np.mean(sunlit))
    expected = _closed_form_shadow_fraction(550e3, math.radians(beta_deg))
    assert abs(shadowed - expected) < CONICAL_FRACTION_TOLERANCE, (
        f"beta {beta_deg} deg: shadowed fraction {shadowed}, closed form {expected}"
    )


def test_fraction_falls_continuously_from_one_to_zero_across_the_penumbra() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=90.0, raan_deg=0.0)
    sun = _sun_at_beta(0.0)
    # entry into the shadow cylinder at beta 0: argument of latitude 180 deg - asin(R/a)
    entry_rad = math.pi - math.asin(R_EARTH_EQ_M / orbit.semi_major_axis_m)
    entry_s = entry_rad / orbit.mean_motion_rad_s
    t_s = np.arange(entry_s - 10.0, entry_s + 10.0, CONTINUITY_STEP_S)
    r_m = orbit.position_eci_m(t_s)
    fraction = sunlit_fraction_conical(r_m, sun)
    kind = shadow_kind(r_m, sun)
    assert fraction[0] == 1.0 and fraction[-1] == 0.0, "window does not span the penumbra"
    assert np.all(np.diff(fraction) <= 0.0), "fraction rose while entering the shadow"
    jump = float(np.max(np.abs(np.diff(fraction))))
    assert jump < MAX_FRACTION_JUMP_PER_MS, f"fraction jumps by {jump} in 1 ms"
    partial = (fraction > 0.0) & (fraction < 1.0)
    assert np.all(kind[partial] == SHADOW_PENUMBRA), "partial sun outside the penumbra"
    assert np.all(kind[fraction == 1.0] == SHADOW_NONE), "full sun counted as shadow"
    assert np.all(kind[fraction == 0.0] == SHADOW_UMBRA), "no sun outside the umbra"
    penumbra_s = partial.sum() * CONTINUITY_STEP_S
    assert 5.0 < penumbra_s < 15.0, f"penumbra lasts {penumbra_s} s at 550 km, beta 0"


def test_eclipse_events_flank_each_umbra_with_penumbrae_that_meet_it() -> None:
    events = eclipse_events(make_orbit(ORBIT_550, EPOCH), EPOCH, hours=6.0)
    kinds = [kind for _, _, kind in events]
    assert set(kinds) == {"penumbra", "umbra"}, f"kinds are {set(kinds)}"
    for (_, end_s, _), (start_s, _, _) in zip(events, events[1:], strict=False):
        assert end_s <= start_s, "events overlap or are out of order"
    for i, (start_s, end_s, kind) in enumerate(events):
        if kind == "umbra" and 0 < i < len(events) - 1:
            before, after = events[i - 1], events[i + 1]
            assert before[2] == after[2] == "penumbra", f"umbra {i} not between penumbrae"
            assert before[1] == start_s and after[0] == end_s, f"umbra {i} does not meet them"


def test_penumbra_at_550_km_lasts_several_seconds() -> None:
    events = eclipse_events(make_orbit(ORBIT_550, EPOCH), EPOCH, hours=6.0)
    durations_s = [end - start for start, end, kind in events if kind == "penumbra" and start > 0]
    assert durations_s, "no penumbra in 6 hours"
    assert all(5.0 < d < 20.0 for d in durations_s), f"penumbra durations {durations_s} s"


def test_eclipse_edges_are_within_a_millisecond_of_the_contacts() -> None:
    orbit = make_orbit(ORBIT_550, EPOCH)
    events = eclipse_events(orbit, EPOCH, hours=3.0)
    probe = ECLIPSE_EDGE_PROBE_S

    def fraction_at(t_s: float) -> float:
        t = np.array([t_s])
        return float(sunlit_fraction_conical(orbit.position_eci_m(t),
                                             sun_position_eci_m(julian_date_utc(EPOCH, t)))[0])

    for i, (start_s, end_s, kind) in enumerate(events):
        if start_s == 0.0:
            continue
        entering = i + 1 < len(events) and events[i + 1][0] == end_s
        if kind == "penumbra" and entering:
            assert fraction_at(start_s - probe) == 1.0, f"sun already dimmed before {start_s}"
            assert fraction_at(start_s + probe) < 1.0, f"sun not dimmed after {start_s}"
        if kind == "umbra":
            assert fraction_at(start_s - probe) > 0.0, f"umbra began before {start_s}"
            assert fraction_at(start_s + probe) == 0.0, f"umbra not begun after {start_s}"
            assert fraction_at(end_s - probe) == 0.0, f"umbra ended before {end_s}"
            assert fraction_at(end_s + probe) > 0.0, f"umbra not ended after {end_s}"


def test_eclipse_durations_on_an_sgp4_orbit_match_the_closed_form() -> None:
    orbit = make_orbit(ORBIT_550, EPOCH)
    events = eclipse_events(orbit, EPOCH, hours=4.0)
    checked = 0
    for first, umbra, last in zip(events, events[1:], events[2:], strict=False):
        if (first[2], umbra[2], last[2]) != ("penumbra", "umbra", "penumbra") or first[0] == 0.0:
            continue
        mid_s = 0.5 * (first[0] + last[1])
        r_m = orbit.position_eci_m(np.array([mid_s - 0.5, mid_s + 0.5]))
        normal = np.cross(r_m[0], r_m[1])
        sun = sun_position_eci_m(julian_date_utc(EPOCH, mid_s))
        beta = math.asin(np.dot(normal, sun) / (np.linalg.norm(normal) * np.linalg.norm(sun)))
        arc_m = np.linalg.norm(orbit.position_eci_m(np.linspace(first[0], last[1], 50)), axis=-1)
        h_m = float(np.mean(arc_m)) - R_EARTH_EQ_M
        expected_s = orbit.period_s * _closed_form_shadow_fraction(h_m, beta)
        # half of each penumbra counts as shadow, as at the cylinder's edge
        got_s = (umbra[1] - umbra[0]) + 0.5 * ((first[1] - first[0]) + (last[1] - last[0]))
        assert abs(got_s - expected_s) < EVENT_DURATION_TOLERANCE_S, (
            f"eclipse at {mid_s} s lasts {got_s} s, closed form {expected_s} s"
        )
        checked += 1
    assert checked >= 2, f"only {checked} whole eclipses in 4 hours"


def test_eclipse_events_work_for_any_orbit_and_cut_at_the_window() -> None:
    orbit = CircularOrbit(altitude_km=550.0, inclination_deg=53.0, raan_deg=40.0)
    events = eclipse_events(orbit, EPOCH, hours=2.0)
    assert events, "a 2-hour window at 550 km must hold an eclipse"
    assert events[0][0] >= 0.0 and events[-1][1] <= 7200.0, "events leave the window"
    assert eclipse_events(orbit, EPOCH, hours=0.0) == [], "an empty window has no events"
