"""Two-line element sets: parse and check them, make them from circular elements, and
propagate them with SGP4 into the simulation's ECI frame.

Propagation is the ``sgp4`` package (Brandon Rhodes' wrapping of Vallado's C++ SGP4/SDP4,
the reference implementation of Vallado et al. 2006, "Revisiting Spacetrack Report #3",
AIAA 2006-6753), with the WGS-72 constants that TLEs are fitted with. Its output frame is
TEME (true equator, mean equinox); ``teme_to_tod`` turns it into the true equator and
equinox of date, the ECI frame of ``sim.sun`` and ``sim.groundstation``, by one rotation
about z through the equation of the equinoxes.

What the model leaves out: SGP4 itself is good to about 1 km at the TLE epoch and degrades
by a few km per day (Vallado et al. 2006); the four-term nutation adds < 0.5" (about 17 m
in LEO, see ``sim.groundstation.nutation_in_longitude_rad``). UTC stands in for UT1 and TT
(see ``sim.timescale``).
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import numpy as np
from sgp4.api import SGP4_ERRORS, Satrec

from sim.constants import MU_EARTH_M3_S2, R_EARTH_EQ_M
from sim.groundstation import equation_of_equinoxes_rad
from sim.timescale import JD_J2000, julian_date_utc

__all__ = [
    "ANALYST_CATALOG_NUMBER",
    "TLE_LINE_LENGTH",
    "Tle",
    "TleError",
    "TleOrbit",
    "teme_to_tod",
    "tle_checksum",
    "tle_from_circular",
]

TLE_LINE_LENGTH = 69  # characters in a TLE line, checksum included
_J2000_UTC = datetime(2000, 1, 1, 12, 0, 0, tzinfo=UTC)
_MINUTES_PER_DAY = 1440.0
_CATALOG_RE = re.compile(r"^(?: *[0-9]+|[A-HJ-NP-Z][0-9]{4})$")  # digits, or Alpha-5
_EXP_RE = re.compile(r"^ *([+-]?) *([0-9]{1,5})([+-])([0-9])$")  # " 12345-4" = 0.12345e-4
ANALYST_CATALOG_NUMBER = 99999  # catalogue number written into TLEs made here


class TleError(ValueError):
    """A TLE line that is not what it should be.

    ``line`` is 1 or 2; ``columns`` the 1-based column range ("69", "9-16"); the message
    says which field, what was expected and what came.
    """

    def __init__(self, line: int, columns: str, what: str, expected: str, got: object) -> None:
        self.line = line
        self.columns = columns
        super().__init__(
            f"TLE line {line}, column{'s' if '-' in columns else ''} {columns} ({what}): "
            f"expected {expected}, got {got!r}"
        )


def tle_checksum(line: str) -> int:
    """The TLE checksum of ``line``: the digits of columns 1-68 summed, each '-' counted as
    1, modulo 10 (Space-Track's TLE format description)."""
    total = sum(int(ch) if ch.isdigit() else 1 if ch == "-" else 0 for ch in line[:68])
    return total % 10


def _cols(line: str, first: int, last: int) -> str:
    """Columns first..last (1-based, inclusive) of a TLE line."""
    return line[first - 1 : last]


def _number(line_no: int, line: str, first: int, last: int, what: str, low: float,
            high: float, unit: str = "") -> float:
    text = _cols(line, first, last)
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not (math.isfinite(value) and low <= value <= high):
        cols = f"{first}-{last}"
        raise TleError(line_no, cols, what, f"a number in [{low:g}, {high:g}]{unit}", text)
    return value


def _implied_exponent(line_no: int, line: str, first: int, last: int, what: str) -> float:
    """A field like ' 12345-4' meaning 0.12345e-4; an all-blank field reads as 0."""
    text = _cols(line, first, last)
    if not text.strip():
        return 0.0
    m = _EXP_RE.match(text)
    if m is None:
        raise TleError(line_no, f"{first}-{last}", what,
                       "a mantissa and exponent such as ' 12345-4' (0.12345e-4)", text)
    sign = -1.0 if m.group(1) == "-" else 1.0
    return sign * float("0." + m.group(2).rjust(5, "0")) * 10.0 ** int(m.group(3) + m.group(4))


def _check_line(line_no: int, line: object) -> str:
    if not isinstance(line, str):
        raise TleError(line_no, "1-69", "line", "a string", line)
    text = line.rstrip()
    if not text.isascii():
        raise TleError(line_no, "1-69", "line", "ASCII text", text)
    if len(text) != TLE_LINE_LENGTH:
        raise TleError(line_no, "1-69", "length", f"{TLE_LINE_LENGTH} characters",
                       f"{len(text)} characters: {text}")
    if text[0] != str(line_no):
        raise TleError(line_no, "1", "line number", f"'{line_no}'", text[0])
    if not _CATALOG_RE.match(_cols(text, 3, 7)):
        raise TleError(line_no, "3-7", "catalogue number",
                       "5 digits, or a letter and 4 digits (Alpha-5)", _cols(text, 3, 7))
    if not text[68].isdigit() or int(text[68]) != tle_checksum(text):
        raise TleError(line_no, "69", "checksum",
                       f"{tle_checksum(text)} (digits of columns 1-68 summed, '-' as 1, mod 10)",
                       text[68])
    return text


@dataclass(frozen=True)
class Tle:
    """A checked two-line element set.

    Construct with the two lines (trailing whitespace is ignored). Raises ``TleError`` (a
    ValueError) naming the line, the columns, what was expected and what came: wrong length
    (69 characters), line number, catalogue numbers that differ, a bad checksum, a field
    that is not a number or out of range, or elements SGP4 refuses.

    Parsed fields (units in the names): catalog_number, epoch_utc (aware datetime, rounded
    to the microsecond; the TLE holds it to 1e-8 d = 0.86 ms), inclination_deg, raan_deg,
    eccentricity, arg_perigee_deg, mean_anomaly_deg, mean_motion_rev_per_day (Kozai mean
    motion, as the format defines it), bstar_per_earth_radius, satrec (the sgp4 object).
    """

    line1: str
    line2: str
    catalog_number: str = field(init=False)
    epoch_utc: datetime = field(init=False)
    inclination_deg: float = field(init=False)
    raan_deg: float = field(init=False)
    eccentricity: float = field(init=False)
    arg_perigee_deg: float = field(init=False)
    mean_anomaly_deg: float = field(init=False)
    mean_motion_rev_per_day: float = field(init=False)
    bstar_per_earth_radius: float = field(init=False)
    satrec: Satrec = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        l1 = _check_line(1, self.line1)
        l2 = _check_line(2, self.line2)
        if _cols(l2, 3, 7) != _cols(l1, 3, 7):
            raise TleError(2, "3-7", "catalogue number", f"{_cols(l1, 3, 7)!r} as on line 1",
                           _cols(l2, 3, 7))
        year_text = _cols(l1, 19, 20)
        if not year_text.isdigit():
            raise TleError(1, "19-20", "epoch year", "two digits", year_text)
        year = int(year_text) + (1900 if int(year_text) >= 57 else 2000)
        day = _number(1, l1, 21, 32, "epoch day of year", 1.0, 367.0)
        _number(1, l1, 34, 43, "first derivative of mean motion / 2", -1.0, 1.0, " rev/d^2")
        _implied_exponent(1, l1, 45, 52, "second derivative of mean motion / 6")
        bstar = _implied_exponent(1, l1, 54, 61, "BSTAR drag term")
        ecc_text = _cols(l2, 27, 33)
        if not ecc_text.replace(" ", "0").isdigit():
            raise TleError(2, "27-33", "eccentricity", "7 digits after an implied '0.'", ecc_text)
        values = {
            "inclination_deg": _number(2, l2, 9, 16, "inclination", 0.0, 180.0, " deg"),
            "raan_deg": _number(2, l2, 18, 25, "right ascension of the node", 0.0, 360.0, " deg"),
            "eccentricity": float("0." + ecc_text.replace(" ", "0")),
            "arg_perigee_deg": _number(2, l2, 35, 42, "argument of perigee", 0.0, 360.0, " deg"),
            "mean_anomaly_deg": _number(2, l2, 44, 51, "mean anomaly", 0.0, 360.0, " deg"),
            "mean_motion_rev_per_day": _number(2, l2, 53, 63, "mean motion", 1e-8, 20.0,
                                               " rev/d"),
        }
        satrec = Satrec.twoline2rv(l1, l2)
        if satrec.error:
            raise TleError(2, "9-63", "elements", "elements SGP4 can propagate",
                           f"sgp4 error {satrec.error}: {SGP4_ERRORS.get(satrec.error, '?')}")
        epoch = datetime(year, 1, 1, tzinfo=UTC) + timedelta(days=day - 1.0)
        for name, value in {
            "line1": l1, "line2": l2, "catalog_number": _cols(l1, 3, 7).strip(),
            "epoch_utc": epoch, "bstar_per_earth_radius": bstar, "satrec": satrec, **values,
        }.items():
            object.__setattr__(self, name, value)

    @property
    def period_s(self) -> float:
        """Period from the TLE's mean motion, 86400 / n [s]."""
        return 86400.0 / self.mean_motion_rev_per_day

    def propagate_teme_km(self, tsince_min: float | np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """SGP4 position [km] and velocity [km/s] in TEME at ``tsince_min`` minutes after the
        TLE epoch. tsince_min: scalar or shape S; returns two arrays of shape S + (3,).

        Raises ValueError naming the first time SGP4 could not reach and why (for example
        "mrt is less than 1.0 which indicates the satellite has decayed").
        """
        tsince = np.asarray(tsince_min, dtype=float)
        err, r_km, v_km_s = _sgp4_flat(self.satrec, tsince.reshape(-1))
        if np.any(err):
            i = int(np.argmax(err != 0))
            raise ValueError(
                f"TLE {self.catalog_number}: SGP4 cannot propagate to "
                f"{tsince.reshape(-1)[i]:.6f} min after the TLE epoch "
                f"{self.epoch_utc.isoformat()}: {_sgp4_reason(err[i])}"
            )
        shape = tsince.shape + (3,)
        return r_km.reshape(shape), v_km_s.reshape(shape)


def _sgp4_flat(sat: Satrec, tsince_min: np.ndarray) -> tuple[np.ndarray, ...]:
    """sgp4_array at 1-D tsince_min [min]: (error codes (N,), r [km] (N, 3), v [km/s] (N, 3))."""
    flat = np.ascontiguousarray(tsince_min, dtype=float)
    # whole part = the TLE epoch's, so that sgp4 recovers tsince to ~1e-11 s
    return sat.sgp4_array(np.full(flat.shape, sat.jdsatepoch),
                          sat.jdsatepochF + flat / _MINUTES_PER_DAY)


def _sgp4_reason(code: int) -> str:
    return f"{SGP4_ERRORS.get(int(code), 'unknown error')} (sgp4 error {int(code)})"


def teme_to_tod(r_teme: np.ndarray, jd: float | np.ndarray) -> np.ndarray:
    """Rotate TEME vectors into the true equator and equinox of date (any length unit).

    r_teme: shape (..., 3); jd: Julian date(s) broadcast against (...). Returns the
    broadcast shape + (3,). r_TOD = R_z(+Eq) r_TEME with Eq the equation of the equinoxes
    (Vallado 4th ed. section 3.7 and Vallado et al. 2006 appendix C: the TEME x axis lies
    Eq east of the true equinox). A rotation about z: it keeps z and the length, and moves
    a vector by at most |Eq| |r| (|Eq| < 18", so < 0.6 km at 7000 km, < 3.7 km at GEO).
    """
    r = np.asarray(r_teme, dtype=float)
    eq = np.asarray(equation_of_equinoxes_rad(jd))
    c, s = np.cos(eq), np.sin(eq)
    x, y, z = r[..., 0], r[..., 1], r[..., 2]
    return np.stack(np.broadcast_arrays(c * x - s * y, s * x + c * y, z + 0.0 * c), axis=-1)


def _format_angle(value_deg: float) -> str:
    text = f"{value_deg % 360.0:8.4f}"
    return "  0.0000" if text == "360.0000" else text


def tle_from_circular(
    altitude_km: float,
    inclination_deg: float,
    raan_deg: float,
    arg_lat_deg: float,
    epoch_utc: datetime,
    catalog_number: int = ANALYST_CATALOG_NUMBER,
) -> tuple[str, str]:
    """Two TLE lines (with checksums) for a circular orbit at ``epoch_utc``.

    altitude_km: height above the equatorial radius R_EARTH_EQ_M [km]; inclination_deg
    [deg]; raan_deg, arg_lat_deg: node and argument of latitude at the epoch [deg], any
    value (taken modulo 360). The mean motion is Kepler's, n = sqrt(mu / a^3) with
    a = R_E + altitude (MU_EARTH_M3_S2); eccentricity 0 (SGP4 floors it at 1e-6), argument
    of perigee 0 and mean anomaly = arg_lat; no drag (BSTAR 0, ndot 0).

    Left out, by the TLE format: the epoch is kept to 1e-8 d (0.86 ms), angles to 1e-4 deg
    (about 12 m along a LEO track), mean motion to 1e-8 rev/d. SGP4 reads the elements as
    mean elements, so the osculating radius ripples by about +-10 km (J2 short-period terms)
    around the nominal altitude. Raises ValueError for a naive epoch or one outside the TLE's
    two-digit-year range 1957-2056, or a non-finite element.
    """
    if epoch_utc.tzinfo is None or epoch_utc.utcoffset() is None:
        raise ValueError(f"epoch_utc: expected a timezone-aware UTC datetime, got {epoch_utc!r}")
    epoch = epoch_utc.astimezone(UTC)
    if not 1957 <= epoch.year <= 2056:
        raise ValueError(f"epoch_utc: expected a year in 1957..2056 (TLE two-digit years), "
                         f"got {epoch.year}")
    for name, value in (("altitude_km", altitude_km), ("inclination_deg", inclination_deg),
                        ("raan_deg", raan_deg), ("arg_lat_deg", arg_lat_deg)):
        if not math.isfinite(value):
            raise ValueError(f"{name}: expected a finite number, got {value!r}")
    if not 0.0 <= inclination_deg <= 180.0:
        raise ValueError(f"inclination_deg: expected a number in [0, 180], got {inclination_deg!r}")
    a_m = R_EARTH_EQ_M + altitude_km * 1000.0
    if a_m <= R_EARTH_EQ_M:
        raise ValueError(f"altitude_km: expected a number > 0, got {altitude_km!r}")
    n_rev_per_day = math.sqrt(MU_EARTH_M3_S2 / a_m**3) * 86400.0 / (2.0 * math.pi)
    day_of_year = (epoch - datetime(epoch.year, 1, 1, tzinfo=UTC)) / timedelta(days=1) + 1.0
    body1 = (
        f"1 {catalog_number:05d}U          {epoch.year % 100:02d}{day_of_year:012.8f} "
        f" .00000000  00000-0  00000-0 0  999"
    )
    body2 = (
        f"2 {catalog_number:05d} {inclination_deg:8.4f} {_format_angle(raan_deg)} 0000000 "
        f"  0.0000 {_format_angle(arg_lat_deg)} {n_rev_per_day:11.8f}    0"
    )
    line1 = body1 + str(tle_checksum(body1))
    line2 = body2 + str(tle_checksum(body2))
    Tle(line1, line2)  # our own lines must pass our own checks
    return line1, line2


class TleOrbit:
    """An orbit propagated from a TLE with SGP4, in the simulation's ECI frame.

    TleOrbit(line1, line2, scenario_epoch_utc): ``t_s`` in ``position_eci_m`` counts seconds
    from ``scenario_epoch_utc`` (an aware datetime), not from the TLE epoch. Raises TleError
    (a ValueError) for bad lines, ValueError for a naive epoch; propagation raises
    ValueError naming the time SGP4 could not reach (a decayed orbit, for example).
    """

    def __init__(self, line1: str, line2: str, scenario_epoch_utc: datetime) -> None:
        if scenario_epoch_utc.tzinfo is None or scenario_epoch_utc.utcoffset() is None:
            raise ValueError(f"scenario_epoch_utc: expected a timezone-aware UTC datetime, "
                             f"got {scenario_epoch_utc!r}")
        self.tle = Tle(line1, line2)
        self.scenario_epoch_utc = scenario_epoch_utc
        delta = scenario_epoch_utc - _J2000_UTC
        sat = self.tle.satrec
        # exact day parts first, then the small fractions: keeps ~1e-11 d of resolution
        offset_d = (JD_J2000 + delta.days - sat.jdsatepoch) + (
            (delta.seconds + delta.microseconds * 1e-6) / 86400.0 - sat.jdsatepochF
        )
        self.scenario_epoch_after_tle_epoch_s = offset_d * 86400.0

    @property
    def period_s(self) -> float:
        """Period from the TLE's mean motion [s]."""
        return self.tle.period_s

    def position_teme_m(self, t_s: float | np.ndarray) -> np.ndarray:
        """SGP4 position [m] in TEME, t_s seconds after the scenario epoch (shape S -> S+(3,))."""
        t = np.asarray(t_s, dtype=float)
        flat = t.reshape(-1)
        err, r_km, _ = _sgp4_flat(self.tle.satrec,
                                  (self.scenario_epoch_after_tle_epoch_s + flat) / 60.0)
        if np.any(err):
            i = int(np.argmax(err != 0))
            raise ValueError(
                f"orbit: SGP4 cannot propagate TLE {self.tle.catalog_number} to t_s = "
                f"{flat[i]:.3f} s after the scenario epoch "
                f"{self.scenario_epoch_utc.isoformat()} (TLE epoch "
                f"{self.tle.epoch_utc.isoformat()}): {_sgp4_reason(err[i])}"
            )
        return r_km.reshape(t.shape + (3,)) * 1000.0

    def position_eci_m(self, t_s: float | np.ndarray) -> np.ndarray:
        """Position [m] in ECI (true equator and equinox of date) at ``t_s`` seconds after the
        scenario epoch; t_s scalar or shape S, result S + (3,). See ``teme_to_tod``."""
        t = np.asarray(t_s, dtype=float)
        jd = julian_date_utc(self.scenario_epoch_utc, t)
        return teme_to_tod(self.position_teme_m(t), jd)
