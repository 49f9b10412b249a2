"""Epochs and Julian dates.

Time in the simulation is an epoch (an aware UTC datetime, from the scenario) plus seconds
elapsed since it. UTC is treated as a uniform time scale: leap seconds inside a run are
ignored, and UTC stands in for UT1 (|UT1-UTC| < 0.9 s, about 0.004 deg of Earth rotation)
and for TT (TT-UTC is about 69 s, about 0.0008 deg of solar motion).
"""

from datetime import UTC, datetime

import numpy as np

__all__ = ["EPOCH_FORMAT", "JD_J2000", "julian_date_utc", "parse_epoch_utc"]

JD_J2000 = 2451545.0  # Julian date of 2000-01-01T12:00:00 (J2000.0) [d]
SECONDS_PER_DAY = 86400.0
EPOCH_FORMAT = "%Y-%m-%dT%H:%M:%SZ"
_EPOCH_FORMAT_FRACTIONAL = "%Y-%m-%dT%H:%M:%S.%fZ"
_J2000_UTC = datetime(2000, 1, 1, 12, 0, 0, tzinfo=UTC)


def julian_date_utc(epoch_utc: datetime, t_s: float | np.ndarray) -> float | np.ndarray:
    """Julian date [d] of ``epoch_utc`` plus ``t_s`` seconds.

    ``t_s`` may be a scalar (returns a float) or an array of any shape (returns an array of
    that shape). The epoch is measured from J2000.0 with exact integer arithmetic before
    conversion to float, so the result keeps about 5e-5 s of resolution.

    Raises ValueError if ``epoch_utc`` is a naive datetime (its time scale would be a guess).
    """
    if epoch_utc.tzinfo is None or epoch_utc.utcoffset() is None:
        raise ValueError(
            f"epoch_utc must be a timezone-aware UTC datetime, got naive {epoch_utc!r}"
        )
    delta = epoch_utc - _J2000_UTC
    epoch_s = delta.seconds + delta.microseconds * 1e-6
    jd = JD_J2000 + delta.days + (epoch_s + np.asarray(t_s, dtype=float)) / SECONDS_PER_DAY
    return float(jd) if jd.ndim == 0 else jd


def parse_epoch_utc(s: str) -> datetime:
    """Parse an ISO 8601 UTC epoch such as ``"2026-12-01T00:00:00Z"`` into an aware datetime.

    Fractional seconds (``"2026-12-01T00:00:00.250Z"``) are accepted. The trailing ``Z`` is
    required, so that a local time is never taken for UTC. Raises ValueError naming the
    expected format and the text that came.
    """
    if isinstance(s, str):
        for fmt in (EPOCH_FORMAT, _EPOCH_FORMAT_FRACTIONAL):
            try:
                return datetime.strptime(s, fmt).replace(tzinfo=UTC)
            except ValueError:
                continue
    raise ValueError(
        f"epoch must be ISO 8601 UTC in the form YYYY-MM-DDTHH:MM:SSZ "
        f"(e.g. '2026-12-01T00:00:00Z'), got {s!r}"
    )
