"""What the power core knows of the eclipses ahead: plain data, handed in by the shell.

The shell asks the onboard forecaster (``flightsw.orbit``, from the uplinked TLE, never
the simulator's truth) and hands the core an :class:`EclipseOutlook`: the predicted
eclipse windows relative to now, in seconds, and the orbital period. Tests build
outlooks by hand. With no usable TLE the outlook is *unknown*: the core then assumes
the conservative case, that the longest eclipse (``eclipse_reserve_s``) may start now,
at every moment, and predicts no sunlight.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

__all__ = ["EclipseAhead", "EclipseOutlook"]


class EclipseAhead(NamedTuple):
    """The eclipse that matters at one moment.

    in_eclipse: inside a predicted eclipse now. starts_in_s: seconds until the next one
    starts (0 inside one, or when unknown; -1: none predicted within the outlook).
    duration_s: its length, or inside one, what is left of it [s] (0 when none).
    """

    in_eclipse: bool
    starts_in_s: float
    duration_s: float


NO_ECLIPSE = EclipseAhead(False, -1.0, 0.0)


@dataclass(frozen=True)
class EclipseOutlook:
    """Predicted eclipses relative to now.

    windows_s: (start, end) [s] from now, in time order, start < end; a window in progress
    has start <= 0 < end. period_s: orbital period [s] (> 0; the forecast spans one).
    valid: False = no forecast (see the module note); then ``assumed_eclipse_s`` is the
    eclipse assumed to start at any moment. source: a one-line account of where the
    outlook came from, for the event log. Raises ValueError for windows out of order.
    """

    windows_s: tuple[tuple[float, float], ...] = ()
    period_s: float = 5760.0
    valid: bool = True
    source: str = ""
    assumed_eclipse_s: float = 0.0

    def __post_init__(self) -> None:
        if not (math.isfinite(self.period_s) and self.period_s > 0.0):
            raise ValueError(f"EclipseOutlook.period_s: expected > 0 s, got {self.period_s!r}")
        last_end = -math.inf
        for i, (start, end) in enumerate(self.windows_s):
            if not (math.isfinite(start) and math.isfinite(end) and last_end <= start < end):
                raise ValueError(f"EclipseOutlook.windows_s[{i}]: expected start < end after the "
                                 f"previous end {last_end}, got ({start!r}, {end!r})")
            last_end = end

    @classmethod
    def unknown(cls, assumed_eclipse_s: float, source: str, period_s: float = 5760.0) -> EclipseOutlook:
        """No forecast: an eclipse of ``assumed_eclipse_s`` may start at any moment."""
        return cls((), period_s, False, source, assumed_eclipse_s)

    def at(self, offset_s: float) -> EclipseAhead:
        """The eclipse that matters ``offset_s`` seconds from now (>= 0)."""
        if not self.valid:
            return EclipseAhead(False, 0.0, self.assumed_eclipse_s)
        for start, end in self.windows_s:
            if offset_s < start:
                return EclipseAhead(False, start - offset_s, end - start)
            if offset_s < end:
                return EclipseAhead(True, 0.0, end - offset_s)
        return NO_ECLIPSE

    def ahead_arrays(self, offsets_s: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """``at`` for many offsets at once: (in_eclipse, starts_in_s, duration_s), each
        shaped like ``offsets_s`` (sorted or not, each >= 0)."""
        offsets = np.asarray(offsets_s, dtype=float)
        if not self.valid:
            return (np.zeros(offsets.shape, bool), np.zeros(offsets.shape),
                    np.full(offsets.shape, float(self.assumed_eclipse_s)))
        starts = np.array([w[0] for w in self.windows_s] + [0.0])  # a sentinel for "none"
        ends = np.array([w[1] for w in self.windows_s] + [0.0])
        i = np.searchsorted(ends[:-1], offsets, side="right")  # the first window ending later
        none = i == len(self.windows_s)
        inside = ~none & (offsets >= starts[i])
        starts_in = np.where(none, -1.0, np.where(inside, 0.0, starts[i] - offsets))
        duration = np.where(none, 0.0, np.where(inside, ends[i] - offsets, ends[i] - starts[i]))
        return inside, starts_in, duration

    def sunlit(self, offset_s: float) -> bool:
        """Predicted sunlight at ``offset_s`` from now; never when the outlook is unknown."""
        return self.valid and not self.at(offset_s).in_eclipse
