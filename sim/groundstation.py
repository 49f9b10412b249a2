"""Ground stations: where they are, how high the satellite stands above their horizon, and
when it is in view.

Frames: ECEF is rotated to ECI (the true equator and equinox of date, the frame of
``sim.sun``) about the z axis by the Greenwich apparent sidereal time, GAST = GMST + the
equation of the equinoxes (IAU 1982 GMST, and a four-term IAU 1980 nutation: see
``nutation_in_longitude_rad``). Left out: polar motion (< 0.5", about 15 m on the ground),
UT1-UTC (UTC is used, < 0.9 s of rotation, < 0.4 km at the equator) and the "kinematic"
terms of the equation of the equinoxes (< 0.003").
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

import numpy as np

from sim.constants import R_EARTH_EQ_M, WGS84_FLATTENING
from sim.rootfind import bisect_crossings
from sim.timescale import julian_date_utc

if TYPE_CHECKING:
    from sim.orbit import Orbit

__all__ = [
    "PASS_EDGE_TOLERANCE_S",
    "PASS_PEAK_TOLERANCE_S",
    "PASS_SAMPLE_STEP_S",
    "Pass",
    "eci_to_ecef_m",
    "elevation_deg",
    "equation_of_equinoxes_rad",
    "find_passes",
    "gast_rad",
    "geodetic_from_ecef_m",
    "gmst_rad",
    "mean_obliquity_rad",
    "nutation_in_longitude_rad",
    "passes_refined",
    "station_ecef_m",
    "station_eci_m",
]

_JD_J2000 = 2451545.0
_DAYS_PER_CENTURY = 36525.0
_E2_WGS84 = WGS84_FLATTENING * (2.0 - WGS84_FLATTENING)  # first eccentricity squared [-]
_ARCSEC_RAD = math.pi / (180.0 * 3600.0)

PASS_EDGE_TOLERANCE_S = 1e-3  # AOS/LOS bisection stops when the bracket is this short [s]
PASS_PEAK_TOLERANCE_S = 1e-3  # golden-section search for the peak stops here [s]
PASS_SAMPLE_STEP_S = 5.0  # default coarse sampling of the elevation [s]


def _centuries_since_j2000(jd: float | np.ndarray) -> np.ndarray:
    return (np.asarray(jd, dtype=float) - _JD_J2000) / _DAYS_PER_CENTURY


def mean_obliquity_rad(jd: float | np.ndarray) -> float | np.ndarray:
    """Mean obliquity of the ecliptic [rad], shape of input.

    IAU 1980 (Meeus, *Astronomical Algorithms*, 2nd ed., eq. 22.2, truncated after the linear
    term): eps = 23.4392911 deg - 0.0130042 deg T, T in Julian centuries from J2000 (UTC
    stands in for TT). The T^2 and T^3 terms left out are below 0.001" this century.
    """
    eps = np.radians(23.4392911 - 0.0130042 * _centuries_since_j2000(jd))
    return float(eps) if eps.ndim == 0 else eps


def nutation_in_longitude_rad(jd: float | np.ndarray) -> float | np.ndarray:
    """Nutation in longitude delta-psi [rad], shape of input: the four largest IAU 1980 terms.

    delta-psi = (-17.1996" - 0.01742" T) sin(Om) - 1.3187" sin(2F - 2D + 2Om)
                - 0.2274" sin(2F + 2Om) + 0.2062" sin(2 Om)
    with the fundamental arguments Om = 125.04452 - 1934.136261 T,
    F = 93.27191 + 483202.017538 T, D = 297.85036 + 445267.111480 T [deg], T in Julian
    centuries from J2000 (UTC stands in for TT). Coefficients and arguments: IAU 1980 theory
    of nutation as tabulated by Meeus, *Astronomical Algorithms*, 2nd ed., ch. 22, table 22.A.

    Left out: the other 102 terms of the series. Meeus (*Astronomical Algorithms*, 2nd ed.,
    ch. 22) gives this four-term form as good to 0.5" in delta-psi; the largest term left out
    is 0.1426" sin(l'). 0.5" turns a LEO position by about 17 m.
    """
    t = _centuries_since_j2000(jd)
    om = np.radians(np.mod(125.04452 - 1934.136261 * t, 360.0))
    f = np.radians(np.mod(93.27191 + 483202.017538 * t, 360.0))
    d = np.radians(np.mod(297.85036 + 445267.111480 * t, 360.0))
    dpsi_arcsec = (
        (-17.1996 - 0.01742 * t) * np.sin(om)
        - 1.3187 * np.sin(2.0 * f - 2.0 * d + 2.0 * om)
        - 0.2274 * np.sin(2.0 * f + 2.0 * om)
        + 0.2062 * np.sin(2.0 * om)
    )
    dpsi = dpsi_arcsec * _ARCSEC_RAD
    return float(dpsi) if dpsi.ndim == 0 else dpsi


def equation_of_equinoxes_rad(jd: float | np.ndarray) -> float | np.ndarray:
    """Equation of the equinoxes delta-psi cos(eps) [rad], shape of input (|value| < 18").

    IAU 1982 definition (Meeus ch. 12; Vallado 4th ed. section 3.7) without the kinematic
    terms (0.00264" sin Om + ...), as Vallado et al. (2006, "Revisiting Spacetrack Report
    #3", AIAA 2006-6753) do for TEME; the mean obliquity stands for the true one (< 0.001").
    It is the right ascension of the mean equinox in the true-of-date frame, so it is both
    GAST - GMST and the angle from the TOD x axis to the TEME x axis.
    """
    eq = np.asarray(nutation_in_longitude_rad(jd)) * np.cos(mean_obliquity_rad(jd))
    return float(eq) if eq.ndim == 0 else eq


def gmst_rad(jd_ut1: float | np.ndarray) -> float | np.ndarray:
    """Greenwich mean sidereal time [rad] in [0, 2 pi), shape of input.

    IAU 1982 model in degrees (Vallado 4th ed. eq. 3-47):
    GMST = 280.46061837 + 360.98564736629 d + 0.000387933 T^2 - T^3 / 38710000,
    with d = JD_UT1 - 2451545.0 and T = d / 36525.
    """
    d = np.asarray(jd_ut1, dtype=float) - _JD_J2000
    t_cent = d / _DAYS_PER_CENTURY
    gmst_deg = 280.46061837 + 360.98564736629 * d + 0.000387933 * t_cent**2 - t_cent**3 / 38710000.0
    gmst = np.radians(np.mod(gmst_deg, 360.0))
    return float(gmst) if gmst.ndim == 0 else gmst


def gast_rad(jd_ut1: float | np.ndarray) -> float | np.ndarray:
    """Greenwich apparent sidereal time GMST + equation of the equinoxes [rad], in [0, 2 pi).

    Shape of input. See ``gmst_rad`` and ``equation_of_equinoxes_rad``.
    """
    gast = np.mod(np.asarray(gmst_rad(jd_ut1)) + equation_of_equinoxes_rad(jd_ut1), 2 * np.pi)
    return float(gast) if gast.ndim == 0 else gast


def _geodetic_up_ecef(lat_deg: float, lon_deg: float) -> np.ndarray:
    """Unit normal to the ellipsoid (local 'up') at a geodetic latitude/longitude, shape (3,)."""
    lat, lon = np.radians(lat_deg), np.radians(lon_deg)
    return np.array([np.cos(lat) * np.cos(lon), np.cos(lat) * np.sin(lon), np.sin(lat)])


def station_ecef_m(lat_deg: float, lon_deg: float, alt_m: float) -> np.ndarray:
    """Earth-fixed position [m], shape (3,), of a geodetic point on the WGS-84 ellipsoid.

    N = a / sqrt(1 - e^2 sin^2 lat); x, y = (N + h) cos lat (cos lon, sin lon);
    z = (N (1 - e^2) + h) sin lat (Vallado 4th ed. eq. 3-14).
    """
    lat = np.radians(lat_deg)
    n_m = R_EARTH_EQ_M / np.sqrt(1.0 - _E2_WGS84 * np.sin(lat) ** 2)
    up = _geodetic_up_ecef(lat_deg, lon_deg)
    return np.array(
        [
            (n_m + alt_m) * up[0],
            (n_m + alt_m) * up[1],
            (n_m * (1.0 - _E2_WGS84) + alt_m) * up[2],
        ]
    )


def geodetic_from_ecef_m(r_ecef_m: np.ndarray) -> tuple[float, float, float]:
    """Geodetic latitude [deg], longitude [deg] and height [m] of an Earth-fixed point (3,).

    The inverse of ``station_ecef_m``: fixed-point iteration
    lat = atan2(z + e^2 N sin lat, p), p = sqrt(x^2 + y^2) (Vallado 4th ed. algorithm 12),
    run to 1e-12 rad (well under a millimetre); not meant for points within ~50 km of the
    Earth's centre.
    """
    x, y, z = (float(c) for c in np.asarray(r_ecef_m, dtype=float))
    p_m = math.hypot(x, y)
    lat = math.atan2(z, p_m * (1.0 - _E2_WGS84))
    for _ in range(20):
        n_m = R_EARTH_EQ_M / math.sqrt(1.0 - _E2_WGS84 * math.sin(lat) ** 2)
        new_lat = math.atan2(z + _E2_WGS84 * n_m * math.sin(lat), p_m)
        done = abs(new_lat - lat) < 1e-12
        lat = new_lat
        if done:
            break
    n_m = R_EARTH_EQ_M / math.sqrt(1.0 - _E2_WGS84 * math.sin(lat) ** 2)
    if abs(math.cos(lat)) > 1e-9:
        h_m = p_m / math.cos(lat) - n_m
    else:
        h_m = abs(z) - n_m * (1.0 - _E2_WGS84)
    return math.degrees(lat), math.degrees(math.atan2(y, x)), h_m


def _rotate_z(v: np.ndarray, angle_rad: float | np.ndarray) -> np.ndarray:
    """Rotate vectors v (..., 3) or (3,) by +angle about z; shape broadcast of both + (3,)."""
    v = np.asarray(v, dtype=float)
    theta = np.asarray(angle_rad, dtype=float)
    c, s = np.cos(theta), np.sin(theta)
    x, y, z = v[..., 0], v[..., 1], v[..., 2]
    return np.stack(np.broadcast_arrays(c * x - s * y, s * x + c * y, z + 0.0 * c), axis=-1)


def _ecef_to_eci(v_ecef: np.ndarray, jd: float | np.ndarray) -> np.ndarray:
    """Rotate a fixed ECEF vector (3,) to ECI by GAST about z; shape S + (3,) for jd shape S."""
    return _rotate_z(v_ecef, gast_rad(jd))


def eci_to_ecef_m(r_eci_m: np.ndarray, jd: float | np.ndarray) -> np.ndarray:
    """Earth-fixed coordinates of ECI (true-of-date) vectors: rotation by -GAST about z.

    r_eci_m: shape (..., 3); jd broadcast against (...). Returns the broadcast shape + (3,).
    """
    return _rotate_z(r_eci_m, -np.asarray(gast_rad(jd)))


def station_eci_m(
    lat_deg: float, lon_deg: float, alt_m: float, jd: float | np.ndarray
) -> np.ndarray:
    """Station position [m] in ECI at Julian date(s) ``jd`` (shape S), shape S + (3,)."""
    return _ecef_to_eci(station_ecef_m(lat_deg, lon_deg, alt_m), jd)


def elevation_deg(
    r_sat_eci_m: np.ndarray,
    r_station_eci_m: np.ndarray,
    lat_deg: float,
    lon_deg: float,
    jd: float | np.ndarray,
) -> np.ndarray:
    """Elevation [deg] of the satellite above the station's local horizon, shape (...).

    r_sat_eci_m, r_station_eci_m: positions [m], shape (..., 3), broadcast together; jd must
    broadcast to (...). The horizon is the plane normal to the geodetic up vector (rotated
    to ECI by GAST): elevation = asin(rho . up / |rho|), rho = r_sat - r_station. Left out:
    atmospheric refraction (about 0.1 deg at 10 deg elevation) and light time.
    """
    rho_m = np.asarray(r_sat_eci_m, dtype=float) - np.asarray(r_station_eci_m, dtype=float)
    up_eci = _ecef_to_eci(_geodetic_up_ecef(lat_deg, lon_deg), jd)
    sin_elev = np.sum(rho_m * up_eci, axis=-1) / np.linalg.norm(rho_m, axis=-1)
    return np.degrees(np.arcsin(np.clip(sin_elev, -1.0, 1.0)))


@dataclass(frozen=True)
class Pass:
    """One pass over a station: acquisition and loss of signal [s], highest elevation [deg].

    ``max_elev_s`` is when the highest elevation is reached [s]; None where it is not known
    (``find_passes`` works on samples and leaves it unset).
    """

    aos_s: float
    los_s: float
    max_elev_deg: float
    max_elev_s: float | None = None

    @property
    def duration_s(self) -> float:
        """Time in view [s]."""
        return self.los_s - self.aos_s


def _crossing_s(t_s: np.ndarray, elev_deg: np.ndarray, i: int, level_deg: float) -> float:
    """Time where elevation crosses ``level_deg`` between samples i and i+1 (linear)."""
    frac = (level_deg - elev_deg[i]) / (elev_deg[i + 1] - elev_deg[i])
    return float(t_s[i] + frac * (t_s[i + 1] - t_s[i]))


def find_passes(elev_deg: np.ndarray, t_s: np.ndarray, min_elevation_deg: float) -> list[Pass]:
    """Passes above ``min_elevation_deg`` in a sampled elevation series, in time order.

    elev_deg: elevation [deg], shape (N,); t_s: sample times [s], shape (N,), increasing.
    AOS and LOS are refined by linear interpolation between the samples either side of the
    crossing. A pass already in progress at the first sample starts at ``t_s[0]``; one still
    in progress at the last sample ends at ``t_s[-1]``. ``max_elev_deg`` is the highest
    sample in the pass. Raises ValueError if the shapes differ. See ``passes_refined`` for
    passes computed from an orbit to millisecond precision.
    """
    elev = np.asarray(elev_deg, dtype=float)
    t = np.asarray(t_s, dtype=float)
    if elev.shape != t.shape or t.ndim != 1:
        raise ValueError(
            f"elev_deg and t_s must be 1-D arrays of equal length, got shapes "
            f"{elev.shape} and {t.shape}"
        )
    above = elev >= min_elevation_deg
    edges = np.diff(above.astype(np.int8))
    rises = list(np.flatnonzero(edges == 1))  # sample before the rise
    sets = list(np.flatnonzero(edges == -1))  # last sample above
    aos_list = [_crossing_s(t, elev, i, min_elevation_deg) for i in rises]
    first_above = [i + 1 for i in rises]
    if above.size and above[0]:
        aos_list.insert(0, float(t[0]))
        first_above.insert(0, 0)
    passes = []
    for k, aos_s in enumerate(aos_list):
        if k < len(sets):
            i_set = sets[k]
            los_s = _crossing_s(t, elev, i_set, min_elevation_deg)
            last_above = i_set
        else:
            los_s, last_above = float(t[-1]), t.size - 1
        max_elev = float(np.max(elev[first_above[k] : last_above + 1]))
        passes.append(Pass(aos_s=aos_s, los_s=los_s, max_elev_deg=max_elev))
    return passes


def _golden_max(f, lo_s: np.ndarray, hi_s: np.ndarray, tolerance_s: float) -> np.ndarray:
    """Arguments of the maxima of f on [lo_s, hi_s] (arrays), by golden-section search.

    Assumes f is unimodal on each bracket (Press et al., *Numerical Recipes*, 3rd ed.
    section 10.2). Returns the bracket midpoints once every bracket is below tolerance_s.
    """
    inv_phi = (math.sqrt(5.0) - 1.0) / 2.0
    a = np.asarray(lo_s, dtype=float).copy()
    b = np.asarray(hi_s, dtype=float).copy()
    if a.size == 0:
        return a
    c = b - inv_phi * (b - a)
    d = a + inv_phi * (b - a)
    fc, fd = f(c), f(d)
    while np.max(b - a) >= tolerance_s:
        left = fc > fd  # the maximum lies in [a, d]
        a, b = np.where(left, a, c), np.where(left, d, b)
        c_new = np.where(left, b - inv_phi * (b - a), d)
        d_new = np.where(left, c, a + inv_phi * (b - a))
        f_new = f(np.where(left, c_new, d_new))
        fc, fd = np.where(left, f_new, fd), np.where(left, fc, f_new)
        c, d = c_new, d_new
    return 0.5 * (a + b)


def passes_refined(
    orbit: Orbit,
    station: dict,
    epoch_utc: datetime,
    hours: float,
    step_s: float = PASS_SAMPLE_STEP_S,
) -> list[Pass]:
    """Passes of ``orbit`` over ``station`` in [0, hours] after ``epoch_utc``, in time order.

    orbit: anything with ``position_eci_m(t_s)`` (``sim.orbit.Orbit``), t_s in seconds since
    ``epoch_utc``. station: a dict with lat_deg, lon_deg [deg], alt_m [m] and
    min_elevation_deg [deg] (the scenario's ``[[ground_stations]]`` table).

    Method: the elevation is sampled every ``step_s`` seconds; each crossing of the mask is
    refined by bisection to ``PASS_EDGE_TOLERANCE_S`` (1 ms), and the peak by golden-section
    search around the highest sample to ``PASS_PEAK_TOLERANCE_S``. A pass in progress at the
    start of the window starts at 0; one still in progress at the end ends at hours * 3600.
    Left out: passes that rise above the mask and set again between two samples (peaks less
    than about step_s / 2 above the mask, which last under step_s), refraction.
    """
    lat, lon, alt = station["lat_deg"], station["lon_deg"], station["alt_m"]
    mask_deg = float(station["min_elevation_deg"])
    r_station_ecef = station_ecef_m(lat, lon, alt)
    end_s = float(hours) * 3600.0

    def elev_of(t_s: np.ndarray) -> np.ndarray:
        t = np.asarray(t_s, dtype=float)
        jd = julian_date_utc(epoch_utc, t)
        r_station = _ecef_to_eci(r_station_ecef, jd)
        return elevation_deg(orbit.position_eci_m(t), r_station, lat, lon, jd)

    if end_s <= 0.0:
        return []
    t = np.append(np.arange(0.0, end_s, step_s), end_s)
    elev = elev_of(t)
    above = elev >= mask_deg
    edges = np.diff(above.astype(np.int8))
    rise_i = np.flatnonzero(edges == 1)
    set_i = np.flatnonzero(edges == -1)

    def below_mask(x: np.ndarray) -> np.ndarray:
        return elev_of(x) - mask_deg

    aos = list(bisect_crossings(below_mask, t[rise_i], t[rise_i + 1], PASS_EDGE_TOLERANCE_S))
    los = list(bisect_crossings(below_mask, t[set_i], t[set_i + 1], PASS_EDGE_TOLERANCE_S))
    first = list(rise_i + 1)
    last = list(set_i)
    if above[0]:
        aos.insert(0, 0.0)
        first.insert(0, 0)
    if above[-1]:
        los.append(end_s)
        last.append(t.size - 1)
    if not aos:
        return []
    peak_i = np.array([f + int(np.argmax(elev[f : la + 1])) for f, la in zip(first, last, strict=True)])
    lo = np.maximum(np.asarray(aos), t[np.maximum(peak_i - 1, 0)])
    hi = np.minimum(np.asarray(los), t[np.minimum(peak_i + 1, t.size - 1)])
    peak_s = _golden_max(elev_of, lo, hi, PASS_PEAK_TOLERANCE_S)
    peak_deg = elev_of(peak_s)
    return [
        Pass(aos_s=float(a), los_s=float(b), max_elev_deg=float(e), max_elev_s=float(p))
        for a, b, e, p in zip(aos, los, peak_deg, peak_s, strict=True)
    ]
