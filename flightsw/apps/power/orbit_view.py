"""The "orbit" table (the uplinked TLE) and the forecaster the shell keeps from it.

The table holds the TLE lines, the scenario epoch they count time from, and the margin
each predicted eclipse is padded by. A TableLoad replaces it in flight (an uplinked
TLE); the table validates by building a forecaster, so a bad TLE is rejected whole,
naming the field, and the last good one stays. An empty table (no TLE) is valid: the
power core then assumes the longest eclipse may start at any moment.

:class:`OrbitView` turns the active table into an :class:`EclipseOutlook` each tick: it
rebuilds the forecaster when the table changes and falls back to the unknown outlook,
saying why in its ``source``, when the orbit cannot be propagated. Deterministic (SGP4
and numpy on the table's values), no I/O.
"""

from __future__ import annotations

from dataclasses import dataclass

from flightsw.apps.framework import TableError
from flightsw.apps.power.outlook import EclipseOutlook
from flightsw.orbit.forecast import EclipseForecaster
from flightsw.orbit.tle import OrbitError

__all__ = ["OrbitTable", "OrbitView", "FORECAST_STEP_S"]

FORECAST_STEP_S = 30.0  # [s] the forecaster's coarse sampling (its edges are refined)
NS_PER_S = 1_000_000_000
FIELDS = ("tle_line1", "tle_line2", "epoch_utc", "edge_margin_s")


@dataclass(frozen=True)
class OrbitTable:
    tle_line1: str = ""  # NORAD two-line element set, line 1 (69 characters)
    tle_line2: str = ""  # ... line 2
    epoch_utc: str = ""  # scenario epoch, ISO 8601 with a zone: t_ns counts from it
    edge_margin_s: float = 30.0  # [s] each predicted eclipse padded by this at both ends

    def __post_init__(self) -> None:
        given = [name for name in ("tle_line1", "tle_line2", "epoch_utc") if getattr(self, name)]
        if given and len(given) < 3:
            missing = sorted(set(("tle_line1", "tle_line2", "epoch_utc")) - set(given))
            raise TableError(f"OrbitTable.{missing[0]}: expected a value with {given}, got ''")
        if self.has_tle:
            self.forecaster()  # validates the lines, the epoch and the margin
        elif not 0.0 <= self.edge_margin_s <= 3600.0:
            raise TableError(f"OrbitTable.edge_margin_s: expected in [0, 3600] s, got {self.edge_margin_s!r}")

    @property
    def has_tle(self) -> bool:
        return bool(self.tle_line1)

    def forecaster(self) -> EclipseForecaster:
        """A forecaster for this TLE; TableError naming the field when it is bad."""
        try:
            return EclipseForecaster(self.tle_line1, self.tle_line2, self.epoch_utc,
                                     step_s=FORECAST_STEP_S, edge_margin_s=self.edge_margin_s)
        except OrbitError as exc:
            raise TableError(f"OrbitTable.{_field_of(str(exc))}: {exc}") from None


def _field_of(message: str) -> str:
    if message.startswith("TLE line 1"):
        return "tle_line1"
    if message.startswith("TLE line 2"):
        return "tle_line2"
    for name in FIELDS:
        if message.startswith(name):
            return name
    return "tle_line1"


class OrbitView:
    """The active orbit table's forecaster, answering outlooks for the power core."""

    def __init__(self, table: OrbitTable) -> None:
        self.table: OrbitTable | None = None
        self.forecaster: EclipseForecaster | None = None
        self.rebuilds = 0
        self.failures = 0
        self._failed = ""  # why the forecaster last failed to propagate ("" = it did not)
        self._source = ""  # describe() of the table in use (the outlook's source, every tick)
        self.use(table)

    def use(self, table: OrbitTable) -> None:
        """Take ``table`` (rebuild the forecaster) unless it is the one in use."""
        if table is self.table:
            return
        self.table = table
        self.forecaster = table.forecaster() if table.has_tle else None
        self.rebuilds += 1
        self._failed = ""
        self._source = self.describe()

    def outlook(self, t_ns: int, eclipse_reserve_s: float, fallback_period_s: float) -> EclipseOutlook:
        """Eclipses over the next two orbits from ``t_ns`` (ns since the scenario epoch).

        Without a forecast: the unknown outlook, an eclipse of ``eclipse_reserve_s`` [s]
        assumed at any moment and a period of ``fallback_period_s`` [s].
        """
        fc = self.forecaster
        if fc is None:
            return EclipseOutlook.unknown(eclipse_reserve_s, f"no TLE loaded: {_assumed(eclipse_reserve_s)}",
                                          fallback_period_s)
        try:
            period_s = fc.period_s
            windows = fc.next_eclipses(t_ns, 2.0 * period_s)
        except OrbitError as exc:
            if not self._failed:
                self.failures += 1
            self._failed = str(exc)
            return EclipseOutlook.unknown(eclipse_reserve_s,
                                          f"TLE unusable ({exc}): {_assumed(eclipse_reserve_s)}",
                                          fallback_period_s)
        self._failed = ""
        rel = tuple(((w.start_ns - t_ns) / NS_PER_S, (w.end_ns - t_ns) / NS_PER_S) for w in windows)
        return EclipseOutlook(rel, period_s, True, self._source)

    def describe(self) -> str:
        """The source line of a valid outlook (stable while the table is)."""
        fc, tb = self.forecaster, self.table
        if fc is None or tb is None:
            return ""
        return (f"TLE {tb.tle_line1[2:7].strip()} epoch {tb.tle_line1[18:32].strip()} "
                f"(period {fc.period_s:.1f} s, edge margin {tb.edge_margin_s:g} s), "
                f"scenario epoch {tb.epoch_utc}")


def _assumed(eclipse_reserve_s: float) -> str:
    """The outlook's fallback assumption, in words (built only when it is used)."""
    return f"assuming an eclipse of {eclipse_reserve_s:.0f} s may start at any moment"
