"""Truth orbit: a circular orbit with J2 nodal regression.

The satellite's position is propagated analytically: the argument of latitude advances at the
Keplerian mean motion and the right ascension of the ascending node (RAAN) drifts at the J2
secular rate. Other J2 effects (the small change of the along-track rate, short-period terms)
and drag are ignored; over a day this misplaces the satellite along track by tens of km,
which is well below what eclipse and pass timing in this simulation need.

Frame: ECI is the Earth's equator and equinox of date, the frame that GMST rotates into
(see ``sim.groundstation``) and in which ``sim.sun`` gives the Sun's direction.
"""

import math
import numbers
from dataclasses import dataclass

import numpy as np

from sim.constants import J2_EARTH, MU_EARTH_M3_S2, R_EARTH_EQ_M

__all__ = ["CircularOrbit"]

MIN_ALTITUDE_KM = 150.0
MAX_ALTITUDE_KM = 40000.0
MIN_INCLINATION_DEG = 0.0
MAX_INCLINATION_DEG = 180.0


@dataclass(frozen=True)
class CircularOrbit:
    """A circular orbit around the Earth.

    altitude_km: height above the equatorial radius [km], 150..40000.
    inclination_deg: inclination [deg], 0..180.
    raan_deg: right ascension of the ascending node at t_s = 0 [deg].
    arg_lat_deg: argument of latitude (angle from the ascending node) at t_s = 0 [deg].
    """

    altitude_km: float
    inclination_deg: float
    raan_deg: float
    arg_lat_deg: float = 0.0

    def __post_init__(self) -> None:
        _check_range("altitude_km", self.altitude_km, MIN_ALTITUDE_KM, MAX_ALTITUDE_KM)
        _check_range(
            "inclination_deg", self.inclination_deg, MIN_INCLINATION_DEG, MAX_INCLINATION_DEG
        )
        _check_range("raan_deg", self.raan_deg, -math.inf, math.inf)
        _check_range("arg_lat_deg", self.arg_lat_deg, -math.inf, math.inf)

    @property
    def semi_major_axis_m(self) -> float:
        """Orbit radius [m]: R_EARTH_EQ_M plus the altitude."""
        return R_EARTH_EQ_M + self.altitude_km * 1000.0

    @property
    def mean_motion_rad_s(self) -> float:
        """Keplerian mean motion n = sqrt(mu / a^3) [rad/s]."""
        return math.sqrt(MU_EARTH_M3_S2 / self.semi_major_axis_m**3)

    @property
    def period_s(self) -> float:
        """Keplerian period T = 2 pi sqrt(a^3 / mu) [s] (Kepler's third law)."""
        return 2.0 * math.pi / self.mean_motion_rad_s

    @property
    def raan_rate_rad_s(self) -> float:
        """Secular J2 nodal regression dRAAN/dt = -1.5 n J2 (Re/a)^2 cos i [rad/s].

        Source: Vallado (4th ed.) eq. 9-41 with eccentricity 0.
        """
        a_m = self.semi_major_axis_m
        return (
            -1.5
            * self.mean_motion_rad_s
            * J2_EARTH
            * (R_EARTH_EQ_M / a_m) ** 2
            * math.cos(math.radians(self.inclination_deg))
        )

    def position_eci_m(self, t_s: float | np.ndarray) -> np.ndarray:
        """Position [m] in ECI at ``t_s`` seconds after the epoch.

        ``t_s`` is a scalar or an array of shape S; the result has shape S + (3,).
        r = a [cos W cos u - sin W sin u cos i, sin W cos u + cos W sin u cos i, sin u sin i]
        with u the argument of latitude and W the RAAN (Vallado eq. 2-100 for a circle).
        """
        t = np.asarray(t_s, dtype=float)
        u = math.radians(self.arg_lat_deg) + self.mean_motion_rad_s * t
        raan = math.radians(self.raan_deg) + self.raan_rate_rad_s * t
        cos_i = math.cos(math.radians(self.inclination_deg))
        sin_i = math.sin(math.radians(self.inclination_deg))
        cos_u, sin_u = np.cos(u), np.sin(u)
        cos_w, sin_w = np.cos(raan), np.sin(raan)
        r = np.stack(
            (
                cos_w * cos_u - sin_w * sin_u * cos_i,
                sin_w * cos_u + cos_w * sin_u * cos_i,
                sin_u * sin_i,
            ),
            axis=-1,
        )
        return self.semi_major_axis_m * r


def _check_range(field: str, value: float, low: float, high: float) -> None:
    """Raise ValueError naming ``field`` unless ``value`` is a finite number in [low, high]."""
    ok = (
        isinstance(value, numbers.Real)
        and not isinstance(value, bool)
        and math.isfinite(value)
        and low <= value <= high
    )
    if not ok:
        expected = "a finite number" if math.isinf(low) else f"a number in [{low}, {high}]"
        raise ValueError(f"CircularOrbit.{field}: expected {expected}, got {value!r}")
