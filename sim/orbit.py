"""Truth orbit: the common orbit interface, the scenario's ``[orbit]`` table, and a simple
analytic circular orbit.

``make_orbit`` turns an ``[orbit]`` table into an ``Orbit``: either a TLE (``tle = [l1, l2]``)
or circular elements, which are written into a TLE (``sim.tle.tle_from_circular``); both are
propagated with SGP4 (``sim.tle.TleOrbit``) into the true equator and equinox of date.

``CircularOrbit`` is the older analytic model, kept for tests and quick studies. The
satellite's position is propagated analytically: the argument of latitude advances at the
Keplerian mean motion and the right ascension of the ascending node (RAAN) drifts at the J2
secular rate. Other J2 effects (the small change of the along-track rate, short-period terms)
and drag are ignored; over a day this misplaces the satellite along track by tens of km,
which is well below what eclipse and pass timing in this simulation need.

Frame: ECI is the Earth's true equator and equinox of date, the frame that GAST rotates
Earth-fixed vectors into (see ``sim.groundstation``) and in which ``sim.sun`` gives the
Sun's direction.
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol, runtime_checkable

import numpy as np

from sim.constants import J2_EARTH, MU_EARTH_M3_S2, R_EARTH_EQ_M
from sim.tle import Tle, TleError, TleOrbit, tle_from_circular

__all__ = [
    "ORBIT_ELEMENT_RANGES",
    "CircularOrbit",
    "Orbit",
    "TleOrbit",
    "make_orbit",
    "validate_orbit_table",
]

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


@runtime_checkable
class Orbit(Protocol):
    """Anything that gives the satellite's position in ECI (true equator and equinox of date).

    ``position_eci_m(t_s)``: t_s seconds since the SCENARIO epoch, a scalar or an array of
    shape S; returns positions [m] of shape S + (3,). ``TleOrbit`` and ``CircularOrbit``
    are Orbits.
    """

    def position_eci_m(self, t_s: float | np.ndarray) -> np.ndarray: ...


# [orbit] keys for circular elements: (low, high, required) [km or deg as named]
ORBIT_ELEMENT_RANGES: dict[str, tuple[float, float, bool]] = {
    "altitude_km": (MIN_ALTITUDE_KM, MAX_ALTITUDE_KM, True),
    "inclination_deg": (MIN_INCLINATION_DEG, MAX_INCLINATION_DEG, True),
    "raan_deg": (-360.0, 360.0, True),
    "arg_lat_deg": (-360.0, 360.0, False),
}
_TLE_KEY = "tle"


def _fmt(x: float) -> str:
    return f"{x:g}"


def validate_orbit_table(d: dict) -> None:
    """Check a scenario's ``[orbit]`` table; raise ValueError naming the key, expected, got.

    Accepted: ``{"tle": [line1, line2]}`` (two strings, checked by ``sim.tle.Tle``: length,
    line numbers, checksums, fields, and that SGP4 accepts the elements), or circular
    elements ``altitude_km`` [150, 40000], ``inclination_deg`` [0, 180], ``raan_deg``
    [-360, 360] and optional ``arg_lat_deg`` [-360, 360] (default 0). Not both, and no other
    keys. Messages look like "orbit.tle[1]: TLE line 2, column 69 (checksum): expected 7 ...,
    got '3'" or "orbit.altitude_km: expected a number in [150, 40000], got 90".
    """
    if not isinstance(d, dict):
        raise ValueError(f"orbit: expected a table, got {type(d).__name__}")
    element_keys = [k for k in d if k in ORBIT_ELEMENT_RANGES]
    for key in d:
        if key != _TLE_KEY and key not in ORBIT_ELEMENT_RANGES:
            raise ValueError(f"orbit.{key}: unknown key; expected 'tle' or circular elements "
                             f"{sorted(ORBIT_ELEMENT_RANGES)}")
    if _TLE_KEY in d:
        if element_keys:
            raise ValueError(f"orbit: expected either tle or circular elements, not both; got "
                             f"tle and {element_keys}")
        _validate_tle_value(d[_TLE_KEY])
        return
    for key, (low, high, required) in ORBIT_ELEMENT_RANGES.items():
        expected = f"a number in [{_fmt(low)}, {_fmt(high)}]"
        if key not in d:
            if required:
                raise ValueError(f"orbit.{key}: missing; expected {expected} "
                                 f"(or give the orbit as tle = [line1, line2])")
            continue
        value = d[key]
        ok = (isinstance(value, numbers.Real) and not isinstance(value, bool)
              and math.isfinite(value) and low <= value <= high)
        if not ok:
            raise ValueError(f"orbit.{key}: expected {expected}, got {value!r}")


def _validate_tle_value(lines: object) -> None:
    if not isinstance(lines, list | tuple) or len(lines) != 2:
        raise ValueError(f"orbit.tle: expected a list of two strings (TLE lines 1 and 2), "
                         f"got {lines!r}")
    for i, line in enumerate(lines):
        if not isinstance(line, str):
            raise ValueError(f"orbit.tle[{i}]: expected a string (TLE line {i + 1}), "
                             f"got {line!r}")
    try:
        Tle(lines[0], lines[1])
    except TleError as exc:
        raise ValueError(f"orbit.tle[{exc.line - 1}]: {exc}") from None


def make_orbit(orbit_table: dict, epoch_utc: datetime) -> Orbit:
    """The scenario's orbit: a ``TleOrbit`` with t_s counted from ``epoch_utc``.

    orbit_table: ``{"tle": [l1, l2]}`` or ``{"altitude_km", "inclination_deg", "raan_deg",
    optional "arg_lat_deg"}``; circular elements become a TLE at ``epoch_utc``
    (``sim.tle.tle_from_circular``) and are propagated with SGP4 too, so both kinds share one
    model (J2-J4 secular and periodic terms, no drag). Raises ValueError as
    ``validate_orbit_table`` does, or for a naive ``epoch_utc``.
    """
    validate_orbit_table(orbit_table)
    if _TLE_KEY in orbit_table:
        line1, line2 = orbit_table[_TLE_KEY]
    else:
        line1, line2 = tle_from_circular(
            float(orbit_table["altitude_km"]),
            float(orbit_table["inclination_deg"]),
            float(orbit_table["raan_deg"]),
            float(orbit_table.get("arg_lat_deg", 0.0)),
            epoch_utc,
        )
    return TleOrbit(line1, line2, epoch_utc)
