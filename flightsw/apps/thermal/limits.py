"""Yellow and red temperature limits of one channel class, and the level each channel is at.

A channel (one board, the radiator, the battery) is at one of three levels: 0 green,
1 yellow, 2 red, on its hot side (+1) or its cold side (-1)::

    red_lo_c < yellow_lo_c < [ green ] < yellow_hi_c < red_hi_c

Two guards keep a noisy reading near a limit from making the level chatter:

- hysteresis: a level is entered at its limit (hot: reading >= limit, cold: <= limit) but
  left only ``hysteresis_c`` back inside it (a red-hot board is an exception: it stays red,
  latched, until it has cooled below the table's ``restart_below_c``);
- persistence: the level changes only after ``persistence`` readings in a row call for a
  change; it then takes the level the last of them calls for.

So a reading that wanders by less than ``hysteresis_c`` around one limit changes the level
at most once, and a spike shorter than ``persistence`` readings never does.

Left out: rate-of-change limits (a channel heating fast is not flagged before it crosses a
limit) and per-channel limits within a class (every board has the same limits).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from flightsw.apps.framework import TableError

__all__ = ["GREEN", "YELLOW", "RED", "HOT", "COLD", "Limits", "LevelState", "target_level", "step_level"]

GREEN, YELLOW, RED = 0, 1, 2
HOT, COLD = 1, -1


@dataclass(frozen=True)
class Limits:
    """Limits of one channel class [degC]; ``persistence`` in readings.

    Checked by the owning table (``check``), which names the class in its errors."""

    red_lo_c: float
    yellow_lo_c: float
    yellow_hi_c: float
    red_hi_c: float
    hysteresis_c: float = 2.0  # [degC] a level is left this far back inside its limit
    persistence: int = 3  # readings in a row before the level changes

    def check(self, where: str) -> None:
        """Raise TableError naming ``where.<field>`` if the limits are not usable."""
        for name in ("red_lo_c", "yellow_lo_c", "yellow_hi_c", "red_hi_c", "hysteresis_c"):
            value = getattr(self, name)
            if type(value) not in (int, float) or not math.isfinite(value):
                raise TableError(f"{where}.{name}: expected a finite number, got {value!r}")
        if not self.red_lo_c < self.yellow_lo_c:
            raise TableError(f"{where}.yellow_lo_c: expected above red_lo_c ({self.red_lo_c}), "
                             f"got {self.yellow_lo_c}")
        if not self.yellow_lo_c < self.yellow_hi_c:
            raise TableError(f"{where}.yellow_hi_c: expected above yellow_lo_c ({self.yellow_lo_c}), "
                             f"got {self.yellow_hi_c}")
        if not self.yellow_hi_c < self.red_hi_c:
            raise TableError(f"{where}.red_hi_c: expected above yellow_hi_c ({self.yellow_hi_c}), "
                             f"got {self.red_hi_c}")
        green_c = self.yellow_hi_c - self.yellow_lo_c
        if not 0.0 <= self.hysteresis_c < green_c / 2:
            raise TableError(f"{where}.hysteresis_c: expected in [0, {green_c / 2}) (half the green "
                             f"band), got {self.hysteresis_c}")
        if type(self.persistence) is not int or self.persistence < 1:
            raise TableError(f"{where}.persistence: expected an integer >= 1, got {self.persistence!r}")


@dataclass(frozen=True)
class LevelState:
    """A channel's level (GREEN, YELLOW, RED), its side (HOT, COLD, 0 when green) and how
    many readings in a row have called for a change."""

    level: int = GREEN
    side: int = 0
    pending: int = 0


def target_level(temp_c: float, lim: Limits, now: LevelState,
                 red_hot_exit_c: float | None = None) -> tuple[int, int]:
    """(level, side) the reading ``temp_c`` calls for, given the present level ``now``
    (hysteresis: leaving a level needs ``hysteresis_c`` of margin). ``red_hot_exit_c``:
    a red-hot channel stays red down to this temperature (default red_hi_c - hysteresis_c)."""
    h = lim.hysteresis_c
    hot = now.level if now.side == HOT else GREEN
    cold = now.level if now.side == COLD else GREEN
    if hot == RED:
        red_hi = lim.red_hi_c - h if red_hot_exit_c is None else red_hot_exit_c
    else:
        red_hi = lim.red_hi_c
    yellow_hi = lim.yellow_hi_c - h if hot >= YELLOW else lim.yellow_hi_c
    red_lo = lim.red_lo_c + h if cold == RED else lim.red_lo_c
    yellow_lo = lim.yellow_lo_c + h if cold >= YELLOW else lim.yellow_lo_c
    if temp_c >= red_hi:
        return RED, HOT
    if temp_c <= red_lo:
        return RED, COLD
    if temp_c >= yellow_hi:
        return YELLOW, HOT
    if temp_c <= yellow_lo:
        return YELLOW, COLD
    return GREEN, 0


def step_level(temp_c: float, lim: Limits, now: LevelState,
               red_hot_exit_c: float | None = None) -> LevelState:
    """The channel's level after one more reading (persistence and hysteresis applied)."""
    level, side = target_level(temp_c, lim, now, red_hot_exit_c)
    if (level, side) == (now.level, now.side):
        return now if now.pending == 0 else LevelState(now.level, now.side, 0)
    pending = now.pending + 1
    if pending >= lim.persistence:
        return LevelState(level, side, 0)
    return LevelState(now.level, now.side, pending)
