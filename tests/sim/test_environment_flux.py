import math

import numpy as np
import pytest

from sim.constants import R_EARTH_EQ_M, SOLAR_CONSTANT_W_M2
from sim.environment_flux import (
    EARTH_ALBEDO,
    EARTH_OLR_W_M2,
    absorbed_w,
    earth_view_factor,
    incident_flux_w_m2,
    radiator_absorbed_w,
)

VIEW_FACTOR_TOLERANCE = 1e-12  # closed forms against each other [-]
QUADRATURE_TOLERANCE = 5e-6  # midpoint rule on a 600 x 600 grid errs by < 6e-7 here [-]
CONTINUITY_TOLERANCE = 1e-6  # jump allowed across a branch boundary 1e-9 rad wide [-]
ONE_MILLIWATT_W = 1e-3
ROUNDOFF_W_M2 = 1e-9  # what a dot product of perpendicular unit vectors leaves [W/m^2]
ALTITUDE_550_KM_M = 550e3
H_550 = (R_EARTH_EQ_M + ALTITUDE_550_KM_M) / R_EARTH_EQ_M
SUN_X = np.array([1.0, 0.0, 0.0])
AREA_M2, ALPHA, EPS = 14.0, 0.2, 0.9


def _numerical_view_factor(h: float, beta_rad: float, n_grid: int = 600) -> float:
    """F = (1/pi) * integral of max(0, cos) over the Earth's disc, midpoint rule in (psi, az)."""
    half_angle = math.asin(1.0 / h)
    psi = (np.arange(n_grid) + 0.5) * half_angle / n_grid
    az = (np.arange(n_grid) + 0.5) * 2.0 * math.pi / n_grid
    psi, az = np.meshgrid(psi, az, indexing="ij")
    # direction d in a frame with nadir along z; the normal tilted by beta in the x-z plane
    cos_nd = np.cos(psi) * math.cos(beta_rad) + np.sin(psi) * np.cos(az) * math.sin(beta_rad)
    integrand = np.maximum(cos_nd, 0.0) * np.sin(psi)
    d_area = (half_angle / n_grid) * (2.0 * math.pi / n_grid)
    return float(integrand.sum() * d_area / math.pi)


@pytest.mark.parametrize("altitude_m", [400e3, 550e3, 1200e3, 35786e3])
def test_a_plate_facing_the_earth_sees_view_factor_r_over_r_plus_h_squared(altitude_m: float) -> None:
    h = (R_EARTH_EQ_M + altitude_m) / R_EARTH_EQ_M
    expected = (R_EARTH_EQ_M / (R_EARTH_EQ_M + altitude_m)) ** 2
    got = float(earth_view_factor(h, 1.0))
    assert abs(got - expected) < VIEW_FACTOR_TOLERANCE, f"Earth-facing F is {got}, not {expected}"


@pytest.mark.parametrize("altitude_m", [400e3, 550e3, 1200e3, 35786e3])
def test_a_plate_edge_on_to_the_earth_sees_the_vertical_plate_closed_form(altitude_m: float) -> None:
    h = (R_EARTH_EQ_M + altitude_m) / R_EARTH_EQ_M
    expected = (math.asin(1.0 / h) - math.sqrt(h * h - 1.0) / (h * h)) / math.pi
    got = float(earth_view_factor(h, 0.0))
    assert abs(got - expected) < VIEW_FACTOR_TOLERANCE, f"edge-on F is {got}, not {expected}"


@pytest.mark.parametrize("beta_deg", [0.0, 30.0, 60.0, 80.0, 100.0, 130.0, 150.0])
def test_view_factor_matches_direct_integration_over_the_earth_disc(beta_deg: float) -> None:
    beta_rad = math.radians(beta_deg)
    got = float(earth_view_factor(H_550, math.cos(beta_rad)))
    integrated = _numerical_view_factor(H_550, beta_rad)
    assert abs(got - integrated) < QUADRATURE_TOLERANCE, (
        f"closed-form F {got} disagrees with integration {integrated} at beta {beta_deg} deg"
    )


def test_view_factor_is_continuous_where_the_earth_meets_the_plate_horizon() -> None:
    for beta_edge in (math.acos(1.0 / H_550), math.pi - math.acos(1.0 / H_550)):
        below = float(earth_view_factor(H_550, math.cos(beta_edge - 1e-9)))
        above = float(earth_view_factor(H_550, math.cos(beta_edge + 1e-9)))
        assert abs(below - above) < CONTINUITY_TOLERANCE, (
            f"F jumps from {below} to {above} at beta {math.degrees(beta_edge)} deg"
        )


def test_a_zenith_facing_plate_in_leo_sees_no_earth() -> None:
    assert float(earth_view_factor(H_550, -1.0)) == 0.0, "a zenith plate must see F = 0"


def test_zenith_radiator_under_the_sun_absorbs_only_direct_sunlight() -> None:
    r = SUN_X * (R_EARTH_EQ_M + ALTITUDE_550_KM_M)
    got = float(radiator_absorbed_w(r, SUN_X, 1.0, "zenith", AREA_M2, ALPHA, EPS))
    expected = ALPHA * SOLAR_CONSTANT_W_M2 * AREA_M2
    assert abs(got - expected) < ONE_MILLIWATT_W, f"zenith radiator absorbs {got} W, not {expected}"


def test_nadir_radiator_under_the_sun_absorbs_albedo_and_earth_infrared() -> None:
    r = SUN_X * (R_EARTH_EQ_M + ALTITUDE_550_KM_M)
    f = (R_EARTH_EQ_M / (R_EARTH_EQ_M + ALTITUDE_550_KM_M)) ** 2
    expected = AREA_M2 * (ALPHA * SOLAR_CONSTANT_W_M2 * EARTH_ALBEDO * f + EPS * EARTH_OLR_W_M2 * f)
    got = float(radiator_absorbed_w(r, SUN_X, 1.0, "nadir", AREA_M2, ALPHA, EPS))
    assert abs(got - expected) < ONE_MILLIWATT_W, f"nadir radiator absorbs {got} W, not {expected}"


def test_in_eclipse_a_nadir_radiator_absorbs_only_earth_infrared() -> None:
    r = -SUN_X * (R_EARTH_EQ_M + ALTITUDE_550_KM_M)
    f = (R_EARTH_EQ_M / (R_EARTH_EQ_M + ALTITUDE_550_KM_M)) ** 2
    got = float(radiator_absorbed_w(r, SUN_X, 0.0, "nadir", AREA_M2, ALPHA, EPS))
    expected = AREA_M2 * EPS * EARTH_OLR_W_M2 * f
    assert abs(got - expected) < ONE_MILLIWATT_W, f"night-side radiator absorbs {got} W"


def test_solar_and_albedo_terms_follow_the_inverse_square_of_the_sun_distance() -> None:
    r = SUN_X * (R_EARTH_EQ_M + ALTITUDE_550_KM_M)
    near = incident_flux_w_m2(r, SUN_X, 1.0, "nadir", sun_distance_au=0.9833)
    far = incident_flux_w_m2(r, SUN_X, 1.0, "nadir", sun_distance_au=1.0)
    assert float(near.albedo_w_m2) == pytest.approx(float(far.albedo_w_m2) / 0.9833**2,
                                                    rel=1e-12), "albedo must scale as 1/d^2"
    assert float(near.earth_ir_w_m2) == float(far.earth_ir_w_m2), "Earth IR must not depend on d"


def test_anti_sun_and_edge_on_radiators_never_see_direct_sunlight() -> None:
    angle = np.linspace(0.0, 2.0 * np.pi, 97)
    r = (R_EARTH_EQ_M + ALTITUDE_550_KM_M) * np.stack(
        (np.cos(angle), 0.6 * np.sin(angle), 0.8 * np.sin(angle)), axis=-1)
    sun = np.broadcast_to(SUN_X, r.shape)
    for normal in ("anti-sun", "edge-on"):
        flux = incident_flux_w_m2(r, sun, 1.0, normal)
        assert np.all(flux.solar_w_m2 < ROUNDOFF_W_M2), (
            f"a {normal} radiator received direct sunlight: {flux.solar_w_m2.max()} W/m^2"
        )
    edge = incident_flux_w_m2(r, sun, 1.0, "edge-on")
    expected_f = float(earth_view_factor(H_550, 0.0))
    assert np.allclose(edge.earth_ir_w_m2, EARTH_OLR_W_M2 * expected_f, rtol=1e-12), (
        "an edge-on radiator must see the Earth with the edge-on view factor"
    )


def test_absorbed_heat_is_vectorised_over_time_one_value_per_sample() -> None:
    angle = np.linspace(0.0, 2.0 * np.pi, 7)
    r = (R_EARTH_EQ_M + ALTITUDE_550_KM_M) * np.stack(
        (np.cos(angle), np.sin(angle), np.zeros_like(angle)), axis=-1)
    sun = np.broadcast_to(SUN_X, r.shape)
    sunlit = (np.cos(angle) > -0.3).astype(float)
    eps = np.linspace(0.12, 0.9, 7)  # louvers opening along the orbit
    got = radiator_absorbed_w(r, sun, sunlit, "zenith", AREA_M2, ALPHA, eps)
    assert got.shape == (7,), f"shape is {got.shape}, expected one value per sample"
    one_by_one = [float(radiator_absorbed_w(r[i], SUN_X, sunlit[i], "zenith", AREA_M2, ALPHA,
                                            eps[i])) for i in range(7)]
    assert np.allclose(got, one_by_one, rtol=1e-12), "vectorised result differs per sample"
    flux = incident_flux_w_m2(r, sun, sunlit, "zenith")
    assert np.allclose(absorbed_w(flux, AREA_M2, ALPHA, eps), got, rtol=1e-12), (
        "precomputed fluxes must give the same absorbed heat"
    )


def test_an_eci_vector_normal_equals_the_named_normal_it_points_along() -> None:
    r = np.array([0.3, 0.9, 0.1]) * (R_EARTH_EQ_M + ALTITUDE_550_KM_M) / np.linalg.norm([0.3, 0.9, 0.1])
    named = radiator_absorbed_w(r, SUN_X, 1.0, "zenith", AREA_M2, ALPHA, EPS)
    vector = radiator_absorbed_w(r, SUN_X, 1.0, 5.0 * r, AREA_M2, ALPHA, EPS)
    assert float(named) == pytest.approx(float(vector), rel=1e-12), "vector normal mishandled"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"radiator_normal": "sideways"}, "radiator_normal"),
        ({"radiator_normal": np.zeros(3)}, "radiator_normal"),
        ({"area_m2": 0.0}, "area_m2"),
        ({"absorptivity": 1.5}, "absorptivity"),
        ({"emissivity": -0.1}, "emissivity"),
    ],
)
def test_bad_radiator_arguments_are_refused_naming_them(kwargs: dict, field: str) -> None:
    args = {"radiator_normal": "zenith", "area_m2": AREA_M2, "absorptivity": ALPHA,
            "emissivity": EPS} | kwargs
    r = SUN_X * (R_EARTH_EQ_M + ALTITUDE_550_KM_M)
    with pytest.raises(ValueError, match=field):
        radiator_absorbed_w(r, SUN_X, 1.0, **args)
