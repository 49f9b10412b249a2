"""Uplinked two-line element sets: check them column by column, then hand them to SGP4.

The format is NORAD's fixed-column TLE (Space-Track, "Basic Description of the Two Line
Element Set Format"; Vallado 4th ed. section 2.7): two 69-character ASCII lines, the last
column a checksum (digits of columns 1-68 summed, each '-' counted as 1, modulo 10).
Only the fields SGP4 needs, and those that identify the set, are checked; the
international designator (line 1, columns 10-17) and the element set number are not.

Every fault raises ``OrbitError`` (a ValueError) whose message names the line, the
columns, the field, what was expected and what came, e.g.::

    TLE line 2, columns 53-63 (mean motion): expected a number in [0.1, 20] rev/d, got 'x'

An uplinked set is bad input from the ground: the caller rejects it whole and keeps the
last good one (DESIGN.md section 9).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from sgp4.api import SGP4_ERRORS, Satrec

__all__ = ["TLE_LINE_LENGTH", "OrbitError", "TwoLineElements", "parse_tle", "tle_checksum"]

TLE_LINE_LENGTH = 69  # characters per line, the checksum column included
SECONDS_PER_DAY = 86400.0

# "+12345-6" style fields: sign, five mantissa digits after an implied "0.", exponent
_IMPLIED_DECIMAL = re.compile(r"^([ +-])(\d{5})([+-]\d)$")
_CATALOG = re.compile(r"^(\d{5}| {1,4}\d{1,4}|[A-HJ-NP-Z]\d{4})$")  # digits or Alpha-5


class OrbitError(ValueError):
    """Bad orbit input (a TLE line, an epoch) or an orbit SGP4 cannot propagate."""


def _error(line_no: int, first: int, last: int, name: str, expected: str, got: object) -> OrbitError:
    cols = f"column {first}" if first == last else f"columns {first}-{last}"
    return OrbitError(f"TLE line {line_no}, {cols} ({name}): expected {expected}, got {got!r}")


def tle_checksum(line: str) -> int:
    """Checksum of a TLE line: digits of columns 1-68 summed, '-' as 1, modulo 10."""
    return sum(int(c) if c.isdigit() else c == "-" for c in line[:68]) % 10


def _text(line: str, first: int, last: int) -> str:
    """Columns first..last of a line, 1-based and inclusive as the format counts them."""
    return line[first - 1 : last]


def _float_field(line_no: int, line: str, first: int, last: int, name: str,
                 low: float, high: float, unit: str) -> float:
    raw = _text(line, first, last)
    try:
        value = float(raw)
    except ValueError:
        value = float("nan")
    if not low <= value <= high:  # also false for nan
        raise _error(line_no, first, last, name, f"a number in [{low:g}, {high:g}]{unit}", raw)
    return value


def _implied_decimal_field(line_no: int, line: str, first: int, last: int, name: str) -> float:
    """A field such as ' 38792-4' (= 0.38792e-4); blank reads as zero."""
    raw = _text(line, first, last)
    if not raw.strip():
        return 0.0
    m = _IMPLIED_DECIMAL.match(raw)
    if m is None:
        raise _error(line_no, first, last, name,
                     "a sign, 5 digits and an exponent like ' 38792-4' (0.38792e-4)", raw)
    sign = "-" if m.group(1) == "-" else ""
    return float(f"{sign}0.{m.group(2)}e{m.group(3)}")


def _checked_line(line_no: int, line: object) -> str:
    """The line without trailing whitespace, after the checks every line shares."""
    if not isinstance(line, str):
        raise _error(line_no, 1, TLE_LINE_LENGTH, "line", "a str", type(line).__name__)
    text = line.rstrip()
    if not text.isascii() or len(text) != TLE_LINE_LENGTH:
        raise _error(line_no, 1, TLE_LINE_LENGTH, "line",
                     f"{TLE_LINE_LENGTH} ASCII characters", text)
    if text[0] != str(line_no):
        raise _error(line_no, 1, 1, "line number", repr(str(line_no)), text[0])
    if not _CATALOG.match(_text(text, 3, 7)):
        raise _error(line_no, 3, 7, "catalogue number", "5 digits or Alpha-5 (e.g. 'A1234')",
                     _text(text, 3, 7))
    want = tle_checksum(text)
    if text[68] != str(want):
        raise _error(line_no, 69, 69, "checksum",
                     f"{want} (columns 1-68: digits summed, '-' as 1, mod 10)", text[68])
    return text


@dataclass(frozen=True)
class TwoLineElements:
    """A checked TLE. Angles [deg], mean motion [rev/d] (Kozai, as the format defines it),
    BSTAR [1/earth radii]. The epoch is a two-part Julian date (UTC), ``epoch_jd`` +
    ``epoch_jd_fraction``, as SGP4 keeps it. ``satrec`` is the initialised SGP4 object."""

    line1: str
    line2: str
    catalog_number: str
    epoch_jd: float
    epoch_jd_fraction: float
    inclination_deg: float
    raan_deg: float
    eccentricity: float
    arg_perigee_deg: float
    mean_anomaly_deg: float
    mean_motion_rev_per_day: float
    bstar_per_earth_radius: float
    satrec: Satrec = field(repr=False, compare=False)

    @property
    def period_s(self) -> float:
        """Orbital period from the mean motion, 86400 / n [s]."""
        return SECONDS_PER_DAY / self.mean_motion_rev_per_day


def parse_tle(line1: str, line2: str) -> TwoLineElements:
    """Check two TLE lines and initialise SGP4 from them.

    Trailing whitespace (a CR/LF from the uplinked file) is ignored. Raises OrbitError for:
    a line that is not 69 ASCII characters, a wrong line number (column 1), a malformed or
    mismatched catalogue number (3-7), a bad checksum (69), or a field that is not a number
    in its range (line 1: epoch 19-32, ndot/2 34-43, nddot/6 45-52, BSTAR 54-61; line 2:
    inclination 9-16, RAAN 18-25, eccentricity 27-33, argument of perigee 35-42, mean
    anomaly 44-51, mean motion 53-63), or elements SGP4 refuses at initialisation.
    """
    l1 = _checked_line(1, line1)
    l2 = _checked_line(2, line2)
    if _text(l2, 3, 7) != _text(l1, 3, 7):
        raise _error(2, 3, 7, "catalogue number", f"{_text(l1, 3, 7)!r} as on line 1",
                     _text(l2, 3, 7))
    if not _text(l1, 19, 20).isdigit():
        raise _error(1, 19, 20, "epoch year", "two digits", _text(l1, 19, 20))
    _float_field(1, l1, 21, 32, "epoch day of year", 1.0, 367.0, "")
    _float_field(1, l1, 34, 43, "ndot/2", -1.0, 1.0, " rev/d^2")
    _implied_decimal_field(1, l1, 45, 52, "nddot/6")
    bstar = _implied_decimal_field(1, l1, 54, 61, "BSTAR")
    inclination = _float_field(2, l2, 9, 16, "inclination", 0.0, 180.0, " deg")
    raan = _float_field(2, l2, 18, 25, "right ascension of the node", 0.0, 360.0, " deg")
    ecc_raw = _text(l2, 27, 33)
    if not ecc_raw.isdigit():
        raise _error(2, 27, 33, "eccentricity", "7 digits after an implied '0.'", ecc_raw)
    argp = _float_field(2, l2, 35, 42, "argument of perigee", 0.0, 360.0, " deg")
    mean_anomaly = _float_field(2, l2, 44, 51, "mean anomaly", 0.0, 360.0, " deg")
    mean_motion = _float_field(2, l2, 53, 63, "mean motion", 0.1, 20.0, " rev/d")
    sat = Satrec.twoline2rv(l1, l2)
    if sat.error:
        raise _error(2, 9, 63, "elements", "elements SGP4 can initialise",
                     f"sgp4 error {sat.error}: {SGP4_ERRORS.get(sat.error, 'unknown')}")
    return TwoLineElements(
        line1=l1, line2=l2, catalog_number=_text(l1, 3, 7).strip(),
        epoch_jd=sat.jdsatepoch, epoch_jd_fraction=sat.jdsatepochF,
        inclination_deg=inclination, raan_deg=raan, eccentricity=float("0." + ecc_raw),
        arg_perigee_deg=argp, mean_anomaly_deg=mean_anomaly,
        mean_motion_rev_per_day=mean_motion, bstar_per_earth_radius=bstar, satrec=sat,
    )
