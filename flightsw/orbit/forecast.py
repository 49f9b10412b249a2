"""Onboard eclipse forecast: when will the satellite next be in the Earth's shadow?

This is the flight's own view, made from the last uplinked TLE; the simulator's truth is
never consulted. The model, simple on purpose:

- Orbit: SGP4 (``sgp4`` package) from the TLE, positions in TEME.
- Sun: ``flightsw.orbit.sun`` (Vallado algorithm 29, 0.01 deg), in MOD, used as if TEME.
- Shadow: a cylinder of radius ``R_EARTH_KM`` behind the Earth along the anti-Sun
  direction (Vallado 4th ed. section 5.3, algorithm 34 "SHADOW", cylindrical option).

Left out: the penumbra (the cylinder's edge falls about halfway through it, so entry is
called ~4 s before the conical umbra's entry and exit ~4 s after its exit in a 550 km
orbit, more at high beta angles where the track crosses the edge obliquely), the Earth's
oblateness and atmosphere, and the TEME/MOD/TOD frame differences (< 0.006 deg of Sun
direction, < 0.2 s of edge time). Errors from this model alone are therefore a few seconds
and lean conservative (the predicted eclipse contains the umbra). The TLE's own age
dominates after a day or two: SGP4 drifts by km per day along track, ~0.15 s per km.
``edge_margin_s`` pads every eclipse at both ends to cover that; padded windows that
overlap merge.

Cost: eclipses are found once for a window (``horizon_s``, 2 orbits by default, plus a
margin) by sampling every ``step_s`` (one vectorised ``Satrec.sgp4_array`` call) and
bisecting each sign change to ``EDGE_REFINE_S``; the windows are cached and a query is
answered from the cache (a binary search) until it passes the end of the window minus one
orbit. Left out by the sampling: an eclipse shorter than ``step_s`` (only a grazing
geometry gives one).

Time: ``t_ns`` is integer nanoseconds since the scenario epoch ``epoch_utc``.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass
from datetime import UTC, datetime

import numpy as np
from sgp4.api import SGP4_ERRORS, jday

from flightsw.orbit.sun import sun_position_mod_km
from flightsw.orbit.tle import OrbitError, parse_tle

__all__ = [
    "EDGE_REFINE_S",
    "R_EARTH_KM",
    "EclipseForecaster",
    "EclipseWindow",
    "ForecastStats",
    "shadowed_cylindrical",
]

R_EARTH_KM = 6378.137  # shadow cylinder radius: the Earth's equatorial radius (WGS-84) [km]
EDGE_REFINE_S = 0.05  # bisection stops when an edge's bracket is this short [s]
NS_PER_S = 1_000_000_000
_SECONDS_PER_DAY = 86400.0


@dataclass(frozen=True)
class EclipseWindow:
    """One predicted eclipse (umbra, padded by the forecaster's edge margin).

    start_ns, end_ns: ns since the scenario epoch; start_ns < end_ns; the satellite is
    predicted dark for start_ns <= t < end_ns.
    """

    start_ns: int
    end_ns: int

    @property
    def duration_s(self) -> float:
        """Length of the eclipse [s]."""
        return (self.end_ns - self.start_ns) / NS_PER_S


@dataclass(frozen=True)
class ForecastStats:
    """Snapshot of an ``EclipseForecaster``'s counters.

    recomputes: times the eclipse list was (re)computed; queries: calls answered;
    samples_propagated: SGP4 evaluations in all, coarse and bisection; windows_cached:
    eclipses in the cache now; cache_start_ns, cache_end_ns: the span the cache covers
    (both 0 before the first query).
    """

    recomputes: int
    queries: int
    samples_propagated: int
    windows_cached: int
    cache_start_ns: int
    cache_end_ns: int


def shadowed_cylindrical(r_sat_km: np.ndarray, r_sun_km: np.ndarray) -> np.ndarray:
    """True where the satellite is inside the Earth's shadow cylinder.

    r_sat_km, r_sun_km: positions [km] from the Earth's centre, shape (..., 3), broadcast.
    Returns bool of shape (...): behind the Earth (r . s_hat < 0) and closer to the
    Earth-Sun line than R_EARTH_KM.
    """
    sun_hat = r_sun_km / np.linalg.norm(r_sun_km, axis=-1, keepdims=True)
    along_km = np.sum(r_sat_km * sun_hat, axis=-1)
    off_axis_sq_km2 = np.sum(r_sat_km * r_sat_km, axis=-1) - along_km**2
    return (along_km < 0.0) & (off_axis_sq_km2 < R_EARTH_KM**2)


def _horizon_ns(horizon_s: float) -> int:
    if not 0.0 <= horizon_s < math.inf:
        raise OrbitError(f"horizon_s: expected a finite number >= 0 s, got {horizon_s!r}")
    return round(horizon_s * NS_PER_S)


def _epoch_jd(epoch_utc: str) -> tuple[float, float]:
    """Two-part Julian date (UTC) of an ISO 8601 instant with a zone, e.g. '...T00:00:00Z'."""
    try:
        when = datetime.fromisoformat(epoch_utc)
    except (TypeError, ValueError):
        when = None
    if when is None or when.utcoffset() is None:
        raise OrbitError(f"epoch_utc: expected an ISO 8601 time with a zone, such as "
                         f"'2026-12-01T00:00:00Z', got {epoch_utc!r}")
    u = when.astimezone(UTC)
    return jday(u.year, u.month, u.day, u.hour, u.minute, u.second + u.microsecond * 1e-6)


class EclipseForecaster:
    """Predicts eclipses from a TLE; see the module note for the model and its errors.

    tle_line1, tle_line2: the uplinked TLE (OrbitError if bad, see ``parse_tle``).
    epoch_utc: the scenario epoch, ISO 8601 with a zone ("2026-12-01T00:00:00Z").
    step_s: coarse sampling step [s] (> 0); horizon_s: span computed at each recompute
    [s], default 2 orbital periods (at least one period); edge_margin_s: padding added
    before each entry and after each exit [s] (>= 0). Raises OrbitError for bad arguments,
    and from a query when SGP4 cannot propagate the orbit (e.g. it has decayed).
    """

    def __init__(self, tle_line1: str, tle_line2: str, epoch_utc: str, *, step_s: float = 30.0,
                 horizon_s: float | None = None, edge_margin_s: float = 0.0) -> None:
        self._tle = parse_tle(tle_line1, tle_line2)
        jd, fr = _epoch_jd(epoch_utc)
        self._epoch_jd, self._epoch_fr = jd, fr
        period = self._tle.period_s
        horizon = 2.0 * period if horizon_s is None else horizon_s
        for name, value, ok, want in (
            ("step_s", step_s, 0.0 < step_s <= period / 4.0, f"in (0, {period / 4.0:.1f}]"),
            ("horizon_s", horizon, period <= horizon < math.inf, f">= one period {period:.1f}"),
            ("edge_margin_s", edge_margin_s, 0.0 <= edge_margin_s <= period / 4.0,
             f"in [0, {period / 4.0:.1f}]"),
        ):
            if not ok:  # also catches nan
                raise OrbitError(f"{name}: expected a number {want} s, got {value!r}")
        self._step_s = float(step_s)
        self._horizon_s = float(horizon)
        self._margin_ns = round(edge_margin_s * NS_PER_S)
        self._period_ns = round(period * NS_PER_S)
        # the cache: merged windows, their starts and ends as sorted lists, the span covered
        self._windows: list[EclipseWindow] = []
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._cache: tuple[int, int] | None = None
        self._recomputes = self._queries = self._samples = 0

    @property
    def period_s(self) -> float:
        """Orbital period from the TLE's mean motion [s]."""
        return self._tle.period_s

    # ------------------------------------------------------------------ queries

    def next_eclipses(self, t_ns: int, horizon_s: float) -> list[EclipseWindow]:
        """Eclipses overlapping [t_ns, t_ns + horizon_s], in time order.

        One in progress at t_ns is included with its true (predicted) start, before t_ns;
        the last may end after t_ns + horizon_s. Empty when none is predicted.
        """
        end_ns = t_ns + _horizon_ns(horizon_s)
        self._ensure(t_ns, end_ns)
        first = bisect.bisect_right(self._ends, t_ns)
        last = bisect.bisect_right(self._starts, end_ns)
        return self._windows[first:last]

    def in_eclipse(self, t_ns: int) -> bool:
        """True when t_ns lies in a predicted (padded) eclipse."""
        self._ensure(t_ns, t_ns)
        i = bisect.bisect_right(self._starts, t_ns) - 1
        return i >= 0 and t_ns < self._ends[i]

    def sunlit_profile(self, t_ns: int, horizon_s: float, step_s: float) -> np.ndarray:
        """Predicted sunlight at t_ns + i * step_s for i = 0 .. floor(horizon_s / step_s).

        Returns a bool array (True = sunlit), from the cached windows; step_s > 0.
        """
        if not step_s > 0.0:
            raise OrbitError(f"step_s: expected a number > 0 s, got {step_s!r}")
        n = int(math.floor(_horizon_ns(horizon_s) / NS_PER_S / step_s + 1e-9)) + 1
        offsets_ns = np.round(np.arange(n) * step_s * NS_PER_S).astype(np.int64)
        times_ns = np.int64(t_ns) + offsets_ns
        self._ensure(t_ns, int(times_ns[-1]))
        i = np.searchsorted(np.asarray(self._starts, dtype=np.int64), times_ns, side="right") - 1
        ends = np.asarray(self._ends + [0], dtype=np.int64)  # ends[-1] serves i == -1
        return ~((i >= 0) & (times_ns < ends[i]))

    def statistics(self) -> ForecastStats:
        """A frozen snapshot of the counters."""
        start, end = self._cache or (0, 0)
        return ForecastStats(self._recomputes, self._queries, self._samples,
                             len(self._windows), start, end)

    # ------------------------------------------------------------------ the cache

    def _ensure(self, t_ns: int, end_ns: int) -> None:
        """Recompute unless the cache covers [t_ns, end_ns] with one orbit to spare."""
        self._queries += 1
        if self._cache is not None:
            start, stop = self._cache
            if start <= t_ns and end_ns <= stop and t_ns <= stop - self._period_ns:
                return
        span_ns = max(round(self._horizon_s * NS_PER_S), end_ns - t_ns + self._period_ns)
        self._recompute(t_ns, t_ns + span_ns)

    def _recompute(self, start_ns: int, stop_ns: int) -> None:
        """Find every eclipse overlapping [start_ns, stop_ns], whole, and cache them."""
        self._recomputes += 1
        pad_s = self._margin_ns / NS_PER_S
        lo_s, hi_s = start_ns / NS_PER_S - pad_s, stop_ns / NS_PER_S + pad_s
        n = max(2, math.ceil((hi_s - lo_s) / self._step_s) + 1)
        t_s = lo_s + np.arange(n) * self._step_s
        dark = self._shadowed(t_s)
        # grow the grid by half orbits until it starts and ends in sunlight, so that no
        # eclipse is cut at the cache's edges (a whole orbit would land in the same shadow)
        chunk = np.arange(1, math.ceil(0.5 * self.period_s / self._step_s) + 1) * self._step_s
        for _ in range(3):
            if dark[0]:
                before = t_s[0] - chunk[::-1]
                t_s, dark = np.concatenate((before, t_s)), np.concatenate((self._shadowed(before), dark))
            if dark[-1]:
                after = t_s[-1] + chunk
                t_s, dark = np.concatenate((t_s, after)), np.concatenate((dark, self._shadowed(after)))
        if dark[0] or dark[-1]:
            raise OrbitError(f"orbit: in shadow for over an orbit near t = {t_s[0]:.1f} s; "
                             f"expected an orbit that sees the Sun every revolution")
        flips = np.flatnonzero(dark[:-1] != dark[1:])
        edges_s = self._refine(t_s[flips], t_s[flips + 1], dark[flips])
        entering = ~dark[flips]
        windows: list[EclipseWindow] = []
        for entry_s, exit_s in zip(edges_s[entering], edges_s[~entering], strict=True):
            s_ns = round(entry_s * NS_PER_S) - self._margin_ns
            e_ns = round(exit_s * NS_PER_S) + self._margin_ns
            if windows and s_ns <= windows[-1].end_ns:  # padding made them touch: merge
                s_ns = windows.pop().start_ns
            windows.append(EclipseWindow(s_ns, e_ns))
        self._windows = windows
        self._starts = [w.start_ns for w in windows]
        self._ends = [w.end_ns for w in windows]
        self._cache = (start_ns, stop_ns)

    def _refine(self, lo_s: np.ndarray, hi_s: np.ndarray, dark_at_lo: np.ndarray) -> np.ndarray:
        """Bisect every bracketed edge at once to EDGE_REFINE_S; returns the midpoints [s]."""
        lo, hi = lo_s.copy(), hi_s.copy()
        while lo.size and np.max(hi - lo) > EDGE_REFINE_S:
            mid = 0.5 * (lo + hi)
            same_as_lo = self._shadowed(mid) == dark_at_lo
            lo = np.where(same_as_lo, mid, lo)
            hi = np.where(same_as_lo, hi, mid)
        return 0.5 * (lo + hi)

    def _shadowed(self, t_s: np.ndarray) -> np.ndarray:
        """Cylindrical-shadow flags at t_s seconds after the scenario epoch, shape (N,)."""
        t = np.ascontiguousarray(t_s, dtype=float)
        self._samples += t.size
        jd = np.full(t.shape, self._epoch_jd)
        fr = self._epoch_fr + t / _SECONDS_PER_DAY
        err, r_km, _ = self._tle.satrec.sgp4_array(jd, fr)
        if np.any(err):
            i = int(np.argmax(err != 0))
            raise OrbitError(
                f"SGP4 cannot propagate TLE {self._tle.catalog_number} to t = {t[i]:.1f} s "
                f"after the scenario epoch: {SGP4_ERRORS.get(int(err[i]), 'unknown')} "
                f"(sgp4 error {int(err[i])})"
            )
        return shadowed_cylindrical(r_km, sun_position_mod_km(jd + fr))
