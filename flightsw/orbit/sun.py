"""The Sun's position from the Earth's centre, low precision, for the onboard forecaster.

Vallado, *Fundamentals of Astrodynamics and Applications* (4th ed.), algorithm 29 "SUN"
(the Astronomical Almanac's low-precision solar coordinates in Julian centuries), with
T = (JD - 2451545.0) / 36525 from JD(UTC) (UT1 and TDB are taken as UTC: the Sun moves
about 0.0008 deg in the 69 s between UTC and TDB)::

    lambda_M = 280.460 deg + 36000.771 deg T                   mean longitude
    M        = 357.5291092 deg + 35999.05034 deg T             mean anomaly
    lambda   = lambda_M + 1.914666471 deg sin M + 0.019994643 deg sin 2M   ecliptic longitude
    epsilon  = 23.439291 deg - 0.0130042 deg T                 obliquity
    r        = 1.000140612 - 0.016708617 cos M - 0.000139589 cos 2M         [AU]
    r_vec    = r (cos lambda, cos epsilon sin lambda, sin epsilon sin lambda)

The ecliptic latitude (< 0.0003 deg) is taken as zero. The result is in the mean equator
and equinox of date (MOD); the forecaster uses it with SGP4's TEME positions unchanged
(the two frames differ by nutation, < 0.006 deg). Good to about 0.01 deg in direction
between 1950 and 2050 (Vallado section 5.1.1).
"""

from __future__ import annotations

import numpy as np

__all__ = ["AU_KM", "sun_position_mod_km"]

AU_KM = 149597870.7  # astronomical unit [km] (IAU 2012)
_JD_J2000 = 2451545.0  # Julian date of J2000.0 [d]
_DAYS_PER_CENTURY = 36525.0


def sun_position_mod_km(jd_utc: float | np.ndarray) -> np.ndarray:
    """Geocentric position of the Sun [km] in MOD at Julian date(s) ``jd_utc`` (UTC).

    jd_utc: scalar or array of shape S. Returns shape S + (3,). A float64 JD resolves
    about 40 us, far below what the Sun's motion (0.04 deg per hour) makes visible.
    """
    t_cy = (np.asarray(jd_utc, dtype=float) - _JD_J2000) / _DAYS_PER_CENTURY
    mean_lon = np.radians(280.460 + 36000.771 * t_cy)
    anomaly = np.radians(357.5291092 + 35999.05034 * t_cy)
    ecl_lon = mean_lon + np.radians(1.914666471 * np.sin(anomaly)
                                    + 0.019994643 * np.sin(2.0 * anomaly))
    obliquity = np.radians(23.439291 - 0.0130042 * t_cy)
    dist_km = AU_KM * (1.000140612 - 0.016708617 * np.cos(anomaly)
                       - 0.000139589 * np.cos(2.0 * anomaly))
    return dist_km[..., None] * np.stack(
        (np.cos(ecl_lon), np.cos(obliquity) * np.sin(ecl_lon), np.sin(obliquity) * np.sin(ecl_lon)),
        axis=-1,
    )
