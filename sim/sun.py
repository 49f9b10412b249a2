"""The Sun's direction and distance from the Earth's centre.

Formulas: the low-precision solar coordinates of *The Astronomical Almanac* (section C,
"Low precision formulas for the Sun"; also Vallado 4th ed. algorithm 29), good to 0.01 deg in
direction and about 0.0001 AU in distance between 1950 and 2050:

    n = JD - 2451545.0
    L = 280.460 deg + 0.9856474 deg n        mean longitude (aberration included)
    g = 357.528 deg + 0.9856003 deg n        mean anomaly
    lambda = L + 1.915 deg sin g + 0.020 deg sin 2g      apparent ecliptic longitude
    epsilon = 23.439 deg - 0.0000004 deg n   obliquity of the ecliptic
    R = 1.00014 - 0.01671 cos g - 0.00014 cos 2g   [AU]

The direction is apparent (light time included) and referred to the equator and equinox of
date, the ECI frame of this simulation. The ecliptic latitude of the Sun (< 0.0003 deg) is
taken as zero. UTC may be passed for the almanac's UT/TT: the Sun moves 0.0008 deg in the
69 s between them.
"""

import numpy as np

from sim.constants import AU_M

__all__ = ["sun_dir_eci", "sun_distance_au", "sun_distance_m"]

_JD_J2000 = 2451545.0


def _mean_anomaly_rad(jd_utc: float | np.ndarray) -> np.ndarray:
    """The Sun's mean anomaly g [rad] (Astronomical Almanac low-precision formula)."""
    n_d = np.asarray(jd_utc, dtype=float) - _JD_J2000
    return np.radians(np.mod(357.528 + 0.9856003 * n_d, 360.0))


def sun_dir_eci(jd_utc: float | np.ndarray) -> np.ndarray:
    """Unit vector from the Earth's centre towards the Sun, in ECI (equator of date).

    ``jd_utc``: Julian date [d], scalar or array of shape S. Returns shape S + (3,).
    """
    n_d = np.asarray(jd_utc, dtype=float) - _JD_J2000
    mean_lon_deg = np.mod(280.460 + 0.9856474 * n_d, 360.0)
    g_rad = _mean_anomaly_rad(jd_utc)
    ecl_lon_rad = np.radians(mean_lon_deg + 1.915 * np.sin(g_rad) + 0.020 * np.sin(2.0 * g_rad))
    obliquity_rad = np.radians(23.439 - 0.0000004 * n_d)
    cos_lon = np.cos(ecl_lon_rad)
    sin_lon = np.sin(ecl_lon_rad)
    return np.stack(
        (cos_lon, np.cos(obliquity_rad) * sin_lon, np.sin(obliquity_rad) * sin_lon), axis=-1
    )


def sun_distance_au(jd_utc: float | np.ndarray) -> float | np.ndarray:
    """Earth-Sun distance [AU] (Astronomical Almanac low-precision formula), shape of input."""
    g_rad = _mean_anomaly_rad(jd_utc)
    r_au = 1.00014 - 0.01671 * np.cos(g_rad) - 0.00014 * np.cos(2.0 * g_rad)
    return float(r_au) if r_au.ndim == 0 else r_au


def sun_distance_m(jd_utc: float | np.ndarray) -> float | np.ndarray:
    """Earth-Sun distance [m], shape of input. See ``sun_distance_au``."""
    return sun_distance_au(jd_utc) * AU_M
