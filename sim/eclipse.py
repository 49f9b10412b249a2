"""Earth's shadow: a conical model (umbra and penumbra) and the older cylindrical one.

Conical model (Montenbruck & Gill, *Satellite Orbits*, 2000, section 3.4.2): the Earth is
a sphere of radius R_EARTH_EQ_M and the Sun one of R_SUN_M; seen from the satellite they are
discs of angular radius b = asin(R_E / |r|) and a = asin(R_SUN / |s - r|), centres c apart.
The satellite sees the fraction of the solar disc not covered by the Earth's disc:
1 when c >= a + b, 0 when c <= b - a (umbra), else 1 - A / (pi a^2) with A the overlap area
of two circles. Left out: the atmosphere (refraction and absorption make real eclipse
edges a few seconds longer and soft), the Earth's oblateness (the polar radius is 21 km
shorter, which moves an edge whose limb point is near a pole by up to ~7 s in LEO), limb
darkening of the Sun, and the curvature of the sky (the discs are overlapped as plane
circles; the error in the fraction is < 0.1 %, and the contact times, c = a + b and
c = b - a, are exact on the sphere).

Cylindrical model: the umbra is taken as a cylinder of radius R_EARTH_EQ_M behind the Earth
along the anti-sun direction (Vallado 4th ed. section 5.3, algorithm 34 "SHADOW" with the
cylindrical option).
This ignores the penumbra (about 8 s per crossing in LEO) and the Earth's oblateness; a
satellite is either lit (1.0) or shadowed (0.0).
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from sim.constants import R_EARTH_EQ_M, R_SUN_M
from sim.rootfind import bisect_crossings
from sim.sun import sun_dir_eci, sun_distance_m
from sim.timescale import julian_date_utc

if TYPE_CHECKING:
    from sim.orbit import Orbit

__all__ = [
    "ECLIPSE_EDGE_TOLERANCE_S",
    "ECLIPSE_SAMPLE_STEP_S",
    "SHADOW_KIND_NAMES",
    "SHADOW_NONE",
    "SHADOW_PENUMBRA",
    "SHADOW_UMBRA",
    "eclipse_events",
    "eclipse_intervals",
    "shadow_kind",
    "sun_position_eci_m",
    "sunlit_fraction_conical",
    "sunlit_fraction_cylindrical",
]

SHADOW_NONE, SHADOW_PENUMBRA, SHADOW_UMBRA = 0, 1, 2  # codes of shadow_kind
SHADOW_KIND_NAMES = ("none", "penumbra", "umbra")  # indexed by the codes
ECLIPSE_EDGE_TOLERANCE_S = 1e-4  # bisection stops when an edge's bracket is this short [s]
ECLIPSE_SAMPLE_STEP_S = 5.0  # default coarse sampling for eclipse_events [s]


def sunlit_fraction_cylindrical(r_eci_m: np.ndarray, sun_dir_eci: np.ndarray) -> np.ndarray:
    """Fraction of the solar disc seen by the satellite: 1.0 lit, 0.0 in the shadow cylinder.

    r_eci_m: satellite position [m], shape (..., 3).
    sun_dir_eci: unit vector towards the Sun, shape (..., 3), broadcast against r_eci_m.
    Returns float array of shape (...). A point is shadowed when it is on the night side
    (r . s < 0) and its distance from the Earth-Sun line, |r - (r . s) s|, is below R_E.
    """
    r = np.asarray(r_eci_m, dtype=float)
    s = np.asarray(sun_dir_eci, dtype=float)
    along_m = np.sum(r * s, axis=-1)
    perp_sq_m2 = np.sum(r * r, axis=-1) - along_m**2
    shadowed = (along_m < 0.0) & (perp_sq_m2 < R_EARTH_EQ_M**2)
    return np.where(shadowed, 0.0, 1.0)


def eclipse_intervals(t_s: np.ndarray, sunlit: np.ndarray) -> list[tuple[float, float]]:
    """Shadowed intervals ``(start_s, end_s)`` of a sampled series, in time order.

    t_s: sample times [s], shape (N,), increasing. sunlit: sunlit fraction, shape (N,); a
    sample counts as shadowed when below 0.5. Each sample is held until the next one, so an
    interval starts at its first shadowed sample and ends at the next sunlit sample; one
    still open at the end of the series ends at ``t_s[-1]``. The edges are therefore late by
    up to one sample interval. Raises ValueError if the shapes differ.
    """
    t = np.asarray(t_s, dtype=float)
    dark = np.asarray(sunlit, dtype=float) < 0.5
    if t.shape != dark.shape or t.ndim != 1:
        raise ValueError(
            f"t_s and sunlit must be 1-D arrays of equal length, got shapes "
            f"{t.shape} and {dark.shape}"
        )
    edges = np.diff(dark.astype(np.int8))
    starts = list(np.flatnonzero(edges == 1) + 1)
    ends = list(np.flatnonzero(edges == -1) + 1)
    if dark.size and dark[0]:
        starts.insert(0, 0)
    intervals = []
    for k, i_start in enumerate(starts):
        end_s = t[ends[k]] if k < len(ends) else t[-1]
        intervals.append((float(t[i_start]), float(end_s)))
    return intervals


def sun_position_eci_m(jd_utc: float | np.ndarray) -> np.ndarray:
    """The Sun's position [m] from the Earth's centre in ECI, shape S + (3,) for jd shape S.

    ``sim.sun.sun_dir_eci`` times ``sim.sun.sun_distance_m`` (apparent, true-of-date).
    """
    return sun_dir_eci(jd_utc) * np.asarray(sun_distance_m(jd_utc))[..., None]


def _discs(r_eci_m: np.ndarray, sun_pos_eci_m: np.ndarray) -> tuple[np.ndarray, ...]:
    """Apparent radii of the Sun (a) and the Earth (b), and their separation (c) [rad]."""
    r = np.asarray(r_eci_m, dtype=float)
    s = np.asarray(sun_pos_eci_m, dtype=float)
    to_sun = s - r
    r_len = np.linalg.norm(r, axis=-1)
    d_len = np.linalg.norm(to_sun, axis=-1)
    a = np.arcsin(np.clip(R_SUN_M / d_len, 0.0, 1.0))
    b = np.arcsin(np.clip(R_EARTH_EQ_M / r_len, 0.0, 1.0))
    # angle between -r (towards the Earth's centre) and to_sun; atan2 keeps it exact near 0
    cross = np.linalg.norm(np.cross(-r, to_sun), axis=-1)
    dot = np.sum(-r * to_sun, axis=-1)
    c = np.arctan2(cross, dot)
    return a, b, c


def sunlit_fraction_conical(r_eci_m: np.ndarray, sun_pos_eci_m: np.ndarray) -> np.ndarray:
    """Fraction 0..1 of the solar disc's area the satellite sees (conical shadow).

    r_eci_m: satellite position [m], shape (..., 3); sun_pos_eci_m: the Sun's position [m]
    from the Earth's centre (``sun_position_eci_m``), shape (..., 3), broadcast together.
    Returns float array of shape (...). Partial phase: with x = (c^2 + a^2 - b^2) / (2c) and
    y = sqrt(a^2 - x^2), the overlap area is A = a^2 acos(x/a) + b^2 acos((c-x)/b) - c y
    (Montenbruck & Gill section 3.4.2); an annular eclipse (a > b, only far from the Earth)
    gives 1 - b^2/a^2. Continuous in the satellite's position. See the module note for what
    the model leaves out.
    """
    a, b, c = _discs(r_eci_m, sun_pos_eci_m)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = (c * c + a * a - b * b) / (2.0 * c)
        y = np.sqrt(np.clip(a * a - x * x, 0.0, None))
        overlap = (a * a * np.arccos(np.clip(x / a, -1.0, 1.0))
                   + b * b * np.arccos(np.clip((c - x) / b, -1.0, 1.0)) - c * y)
        partial = 1.0 - overlap / (np.pi * a * a)
    fraction = np.where(
        c >= a + b,
        1.0,
        np.where(c <= b - a, 0.0, np.where(c <= a - b, 1.0 - (b * b) / (a * a), partial)),
    )
    return np.clip(fraction, 0.0, 1.0)


def shadow_kind(r_eci_m: np.ndarray, sun_pos_eci_m: np.ndarray) -> np.ndarray:
    """Which shadow the satellite is in: SHADOW_NONE (0), SHADOW_PENUMBRA (1), SHADOW_UMBRA (2).

    Same inputs and conical geometry as ``sunlit_fraction_conical``; returns int8 of shape
    (...). Umbra: c <= b - a (the Sun wholly hidden, fraction 0); penumbra: b - a < c < a + b
    (partly hidden, an annular eclipse included); none: c >= a + b (fraction 1).
    ``SHADOW_KIND_NAMES[code]`` names a code.
    """
    a, b, c = _discs(r_eci_m, sun_pos_eci_m)
    kind = np.where(c < a + b, SHADOW_PENUMBRA, SHADOW_NONE)
    return np.where(c <= b - a, SHADOW_UMBRA, kind).astype(np.int8)


def eclipse_events(
    orbit: Orbit,
    epoch_utc: datetime,
    hours: float,
    step_s: float = ECLIPSE_SAMPLE_STEP_S,
) -> list[tuple[float, float, str]]:
    """Shadow intervals ``(start_s, end_s, kind)`` in [0, hours * 3600] s, in time order.

    orbit: anything with ``position_eci_m(t_s)`` (``sim.orbit.Orbit``), t_s in seconds from
    ``epoch_utc`` (aware datetime). kind is "penumbra" or "umbra"; a usual eclipse gives
    three events: penumbra (entry), umbra, penumbra (exit); a grazing one only a penumbra.
    Interval ends meet exactly. Intervals in progress at either end of the window are cut at
    0 or hours * 3600.

    Method: the two contact functions g_pen = c - (a + b) and g_umb = c - (b - a) (see
    ``sunlit_fraction_conical``) are sampled every ``step_s`` seconds and each sign change is
    refined by bisection to ``ECLIPSE_EDGE_TOLERANCE_S`` (0.1 ms). Left out: a shadow
    entered and left between two samples (an eclipse shorter than step_s, which only a
    nearly grazing geometry gives).
    """
    end_s = float(hours) * 3600.0
    if end_s <= 0.0:
        return []

    def contact(t_s: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        t = np.asarray(t_s, dtype=float)
        sun = sun_position_eci_m(julian_date_utc(epoch_utc, t))
        a, b, c = _discs(orbit.position_eci_m(t), sun)
        return c - (a + b), c - (b - a)

    t = np.append(np.arange(0.0, end_s, step_s), end_s)
    g_pen, g_umb = contact(t)
    transitions: list[tuple[float, int]] = []  # (time, 0 = penumbra edge, 1 = umbra edge)
    for which, g in enumerate((g_pen, g_umb)):
        inside = g < 0.0
        i = np.flatnonzero(inside[:-1] != inside[1:])
        edges = bisect_crossings(lambda x, w=which: contact(x)[w], t[i], t[i + 1],
                                  ECLIPSE_EDGE_TOLERANCE_S)
        transitions += [(float(e), which) for e in edges]
    transitions.sort()
    in_pen, in_umb = bool(g_pen[0] < 0.0), bool(g_umb[0] < 0.0)
    events: list[tuple[float, float, str]] = []
    start_s = 0.0
    for time_s, which in [*transitions, (end_s, -1)]:
        kind = "umbra" if in_umb else "penumbra" if in_pen else None
        if kind is not None and time_s > start_s:
            events.append((start_s, time_s, kind))
        if which == 0:
            in_pen = not in_pen
        elif which == 1:
            in_umb = not in_umb
        start_s = time_s
    return events
