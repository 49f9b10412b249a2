"""Onboard orbit and eclipse prediction from an uplinked TLE: the flight's view, not truth.

``EclipseForecaster`` (``forecast``) is what the power manager asks; ``parse_tle`` (``tle``)
checks uplinked element sets; ``sun_position_mod_km`` (``sun``) is the low-precision Sun.
"""

from flightsw.orbit.forecast import (
    EDGE_REFINE_S,
    R_EARTH_KM,
    EclipseForecaster,
    EclipseWindow,
    ForecastStats,
    shadowed_cylindrical,
)
from flightsw.orbit.sun import sun_position_mod_km
from flightsw.orbit.tle import OrbitError, TwoLineElements, parse_tle, tle_checksum

__all__ = [
    "EDGE_REFINE_S",
    "R_EARTH_KM",
    "EclipseForecaster",
    "EclipseWindow",
    "ForecastStats",
    "OrbitError",
    "TwoLineElements",
    "parse_tle",
    "shadowed_cylindrical",
    "sun_position_mod_km",
    "tle_checksum",
]
