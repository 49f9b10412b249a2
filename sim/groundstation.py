"""Ground stations: where they are, how high the satellite stands above their horizon, and
when it is in view.

ECEF is rotated to ECI (equator and equinox of date) about the z axis by GMST alone; polar
motion, and the equation of the equinoxes (< 0.005 deg), are ignored.
"""

from dataclasses import dataclass

import numpy as np

from sim.constants import R_EARTH_EQ_M, WGS84_FLATTENING

__all__ = [
    "Pass",
    "elevation_deg",
    "find_passes",
    "gmst_rad",
    "station_ecef_m",
    "station_eci_m",
]

_JD_J2000 = 2451545.0
_DAYS_PER_CENTURY = 36525.0
_E2_WGS84 = WGS84_FLATTENING * (2.0 - WGS84_FLATTENING)  # first eccentricity squared [-]


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


def _ecef_to_eci(v_ecef: np.ndarray, jd: float | np.ndarray) -> np.ndarray:
    """Rotate a fixed ECEF vector (3,) to ECI by GMST about z; shape S + (3,) for jd shape S."""
    theta = np.asarray(gmst_rad(jd))
    c, s = np.cos(theta), np.sin(theta)
    return np.stack(
        (c * v_ecef[0] - s * v_ecef[1], s * v_ecef[0] + c * v_ecef[1], np.full_like(c, v_ecef[2])),
        axis=-1,
    )


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
    to ECI by GMST): elevation = asin(rho . up / |rho|), rho = r_sat - r_station.
    """
    rho_m = np.asarray(r_sat_eci_m, dtype=float) - np.asarray(r_station_eci_m, dtype=float)
    up_eci = _ecef_to_eci(_geodetic_up_ecef(lat_deg, lon_deg), jd)
    sin_elev = np.sum(rho_m * up_eci, axis=-1) / np.linalg.norm(rho_m, axis=-1)
    return np.degrees(np.arcsin(np.clip(sin_elev, -1.0, 1.0)))


@dataclass(frozen=True)
class Pass:
    """One pass over a station: acquisition and loss of signal [s], highest elevation [deg]."""

    aos_s: float
    los_s: float
    max_elev_deg: float

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
    sample in the pass. Raises ValueError if the shapes differ.
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
