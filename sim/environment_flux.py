"""Heat a flat plate (a radiator) absorbs from the Sun, Earth albedo and Earth infrared.

Vectorised over time: every per-sample input has shape (...) or (..., 3), so the world can
evaluate a whole run in one numpy pass before the first tick, as ``sim.environment`` does.

Model (one-sided flat plate of area A, normal n, at ECI position r, Sun direction s):

    solar    q_s  = S0 / d^2 * max(0, n . s) * f                     (f = sunlit fraction)
    albedo   q_a  = S0 / d^2 * a * F * max(0, r_hat . s)
    Earth IR q_ir = OLR * F
    absorbed Q    = A * (alpha * (q_s + q_a) + eps * q_ir)

F is the view factor from the plate to the Earth sphere (``earth_view_factor``). The infrared
absorptance equals the emissivity (Kirchhoff's law for a grey surface). The albedo term is
the usual engineering approximation (Gilmore, *Spacecraft Thermal Control Handbook* Vol. I,
2nd ed., 2002, ch. 2 "Spacecraft Thermal Environments"): reflected sunlight falls off as
the cosine of the solar zenith angle at the sub-satellite point and reaches the plate with
the same view factor as the diffuse infrared.

Figures: S0 = 1361 W/m^2 (``sim.constants``, Kopp & Lean 2011); Earth's Bond albedo
a = 0.30 and outgoing long-wave radiation OLR = 237 W/m^2 are global, annual means (the
design averages of Gilmore ch. 2; Trenberth, Fasullo & Kiehl 2009, BAMS 90, give 0.30 and
239 W/m^2). The Earth is a sphere of radius ``R_EARTH_EQ_M``, as in ``sim.eclipse``.

Left out: the variation of albedo (0.1..0.5) and OLR (150..350 W/m^2) with latitude, cloud
and season; the albedo reaching the plate from the sunlit part of the Earth cap near the
terminator (the cosine approximation gives zero there once the sub-satellite point is dark);
the penumbra (``f`` comes from the caller); specular reflection; shadowing and reflections by
the satellite's own panels and structure; the spectral difference between the plate's
solar absorptance and any louver blades in front of it.
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np

from sim.constants import R_EARTH_EQ_M, SOLAR_CONSTANT_W_M2

__all__ = [
    "EARTH_ALBEDO",
    "EARTH_OLR_W_M2",
    "NORMALS",
    "IncidentFlux",
    "absorbed_w",
    "earth_view_factor",
    "incident_flux_w_m2",
    "radiator_absorbed_w",
]

EARTH_ALBEDO = 0.30  # Earth's Bond albedo, global annual mean [-]
EARTH_OLR_W_M2 = 237.0  # Earth's outgoing long-wave radiation, global annual mean [W/m^2]
NORMALS = ("zenith", "nadir", "anti-sun", "sun", "edge-on")


class IncidentFlux(NamedTuple):
    """Flux densities [W/m^2] falling on one side of the plate, each of shape (...)."""

    solar_w_m2: np.ndarray
    albedo_w_m2: np.ndarray
    earth_ir_w_m2: np.ndarray


def earth_view_factor(
    distance_ratio: float | np.ndarray, cos_nadir_angle: float | np.ndarray
) -> np.ndarray:
    """View factor [-] from one side of a small flat plate to the Earth sphere.

    distance_ratio: H = |r| / R_E, the plate's distance from the Earth's centre in Earth
    radii (> 1), shape (...). cos_nadir_angle: cosine of the angle beta between the plate's
    normal and the direction to the Earth's centre, shape (...); both broadcast.

    Closed form for a planar element and a sphere (Howell, *A Catalog of Radiation Heat
    Transfer Configuration Factors*, "differential planar element to sphere, element
    tilted"; reproduced in Gilmore's handbook ch. 2), with sin(phi) = 1 / H:

        beta <= pi/2 - phi (whole Earth in view):  F = cos(beta) / H^2
        beta >= pi/2 + phi (Earth behind):         F = 0
        otherwise:
            F = 1/2 - asin(sqrt(H^2 - 1) / (H sin beta)) / pi
                + [cos(beta) acos(-sqrt(H^2 - 1) cot beta)
                   - sqrt(H^2 - 1) sqrt(1 - H^2 cos^2 beta)] / (pi H^2)

    So a plate facing the Earth sees F = (R / (R + h))^2 and a plate edge-on to it
    (beta = 90 deg) sees F = (phi - sin(phi) cos(phi)) / pi. The pieces join continuously.
    Left out: the Earth's oblateness and atmosphere (a "hard" sphere of radius R_E).
    """
    h = np.asarray(distance_ratio, dtype=float)
    c = np.clip(np.asarray(cos_nadir_angle, dtype=float), -1.0, 1.0)
    h, c = np.broadcast_arrays(h, c)
    inv_h = 1.0 / h
    full = c >= inv_h
    partial = (c > -inv_h) & ~full
    root = np.sqrt(np.maximum(h * h - 1.0, 0.0))
    sin_b = np.sqrt(np.maximum(1.0 - c * c, 0.0))
    sin_safe = np.where(partial, sin_b, 1.0)  # partial view implies sin(beta) > 0
    term_asin = np.arcsin(np.clip(root / (h * sin_safe), -1.0, 1.0))
    term_acos = np.arccos(np.clip(-root * c / sin_safe, -1.0, 1.0))
    term_sqrt = np.sqrt(np.maximum(1.0 - h * h * c * c, 0.0))
    f_partial = 0.5 - term_asin / np.pi + (c * term_acos - root * term_sqrt) / (np.pi * h * h)
    return np.where(full, c / (h * h), np.where(partial, np.maximum(f_partial, 0.0), 0.0))


def _unit_normal(radiator_normal: str | np.ndarray, r_hat: np.ndarray, s_hat: np.ndarray):
    if isinstance(radiator_normal, str):
        if radiator_normal == "zenith":
            return r_hat
        if radiator_normal == "nadir":
            return -r_hat
        if radiator_normal == "anti-sun":
            return -s_hat
        if radiator_normal == "sun":
            return s_hat
        if radiator_normal == "edge-on":
            return _edge_on(r_hat, s_hat)
        raise ValueError(
            f"radiator_normal: expected one of {NORMALS} or an ECI unit vector of shape "
            f"(..., 3), got {radiator_normal!r}"
        )
    n = np.asarray(radiator_normal, dtype=float)
    if n.shape[-1:] != (3,):
        raise ValueError(f"radiator_normal: expected shape (..., 3), got shape {n.shape}")
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    if not np.all(norm > 0.0):
        raise ValueError("radiator_normal: expected non-zero vectors, got a zero vector")
    return n / norm


def _edge_on(r_hat: np.ndarray, s_hat: np.ndarray) -> np.ndarray:
    """Unit normal perpendicular to both nadir and the Sun: r_hat x s_hat, normalised.

    Where the Sun is along the local vertical (r_hat x s_hat = 0) any horizontal direction
    is edge-on to both; r_hat x z (or r_hat x x at the poles) is taken.
    """
    n = np.cross(r_hat, s_hat)
    norm = np.linalg.norm(n, axis=-1, keepdims=True)
    fallback = np.cross(r_hat, np.array([0.0, 0.0, 1.0]))
    fb_norm = np.linalg.norm(fallback, axis=-1, keepdims=True)
    fallback = np.where(fb_norm > 1e-9, fallback, np.cross(r_hat, np.array([1.0, 0.0, 0.0])))
    n = np.where(norm > 1e-9, n, fallback)
    return n / np.linalg.norm(n, axis=-1, keepdims=True)


def incident_flux_w_m2(
    r_eci_m: np.ndarray,
    sun_dir_eci: np.ndarray,
    sunlit_fraction: float | np.ndarray,
    radiator_normal: str | np.ndarray,
    sun_distance_au: float | np.ndarray = 1.0,
) -> IncidentFlux:
    """Solar, albedo and Earth-IR flux densities [W/m^2] on one side of a flat plate.

    r_eci_m: satellite position [m], shape (..., 3). sun_dir_eci: unit vector to the Sun,
    shape (..., 3). sunlit_fraction: 0..1, shape (...) (``sim.eclipse``). sun_distance_au:
    Earth-Sun distance [AU], shape (...) or scalar. radiator_normal: the plate's outward
    normal, one of "zenith" (away from the Earth's centre), "nadir" (towards it), "anti-sun",
    "sun", "edge-on" (perpendicular to both nadir and the Sun, r_hat x s_hat: the attitude
    that keeps a radiator out of direct sunlight while a sun-tracking array turns, so it
    sees the Earth edge-on), or an ECI vector of shape (3,) or (..., 3), normalised here.
    A body-fixed normal must be rotated to ECI by the caller (this module knows no attitude).
    The plate radiates and absorbs on this one face: model a two-sided radiator as two
    faces (or, for "edge-on", whose two faces see the same, double the area). Returns
    ``IncidentFlux`` with arrays of shape (...). Formulas: see the module docstring.
    """
    r = np.asarray(r_eci_m, dtype=float)
    s = np.asarray(sun_dir_eci, dtype=float)
    r_norm_m = np.linalg.norm(r, axis=-1)
    r_hat = r / r_norm_m[..., None]
    s_hat = s / np.linalg.norm(s, axis=-1, keepdims=True)
    n = _unit_normal(radiator_normal, r_hat, s_hat)
    irradiance_w_m2 = SOLAR_CONSTANT_W_M2 / np.square(np.asarray(sun_distance_au, dtype=float))
    cos_sun = np.maximum(np.sum(n * s_hat, axis=-1), 0.0)
    solar = irradiance_w_m2 * cos_sun * np.asarray(sunlit_fraction, dtype=float)
    view = earth_view_factor(r_norm_m / R_EARTH_EQ_M, -np.sum(n * r_hat, axis=-1))
    cos_zenith_sun = np.maximum(np.sum(r_hat * s_hat, axis=-1), 0.0)
    albedo = irradiance_w_m2 * EARTH_ALBEDO * view * cos_zenith_sun
    earth_ir = EARTH_OLR_W_M2 * view
    solar, albedo, earth_ir = np.broadcast_arrays(solar, albedo, earth_ir)
    return IncidentFlux(solar, albedo, earth_ir)


def absorbed_w(
    flux: IncidentFlux,
    area_m2: float | np.ndarray,
    absorptivity: float | np.ndarray,
    emissivity: float | np.ndarray,
) -> np.ndarray:
    """Heat absorbed [W] = A (alpha (q_s + q_a) + eps q_ir); all inputs broadcast.

    Split from ``incident_flux_w_m2`` so a world can precompute the fluxes once per run and
    apply each tick's emissivity (louvers change it) at the cost of a multiply.
    """
    return np.asarray(area_m2, dtype=float) * (
        np.asarray(absorptivity, dtype=float) * (flux.solar_w_m2 + flux.albedo_w_m2)
        + np.asarray(emissivity, dtype=float) * flux.earth_ir_w_m2
    )


def radiator_absorbed_w(
    r_eci_m: np.ndarray,
    sun_dir_eci: np.ndarray,
    sunlit_fraction: float | np.ndarray,
    radiator_normal: str | np.ndarray,
    area_m2: float,
    absorptivity: float,
    emissivity: float | np.ndarray,
    sun_distance_au: float | np.ndarray = 1.0,
) -> np.ndarray:
    """Heat [W] a flat radiator absorbs from Sun, albedo and Earth IR, shape (...).

    Arguments as ``incident_flux_w_m2`` plus the radiator's area [m^2] (> 0), solar
    absorptance alpha (0..1) and infrared emissivity eps (0..1, may vary per sample with
    louvers). Raises ValueError for an area, absorptivity or emissivity out of range.
    """
    if not area_m2 > 0.0:
        raise ValueError(f"area_m2: expected > 0, got {area_m2!r}")
    if not 0.0 <= absorptivity <= 1.0:
        raise ValueError(f"absorptivity: expected in [0, 1], got {absorptivity!r}")
    eps = np.asarray(emissivity, dtype=float)
    if not np.all((eps >= 0.0) & (eps <= 1.0)):
        raise ValueError(f"emissivity: expected in [0, 1], got {emissivity!r}")
    flux = incident_flux_w_m2(r_eci_m, sun_dir_eci, sunlit_fraction, radiator_normal,
                              sun_distance_au)
    return absorbed_w(flux, area_m2, absorptivity, eps)
