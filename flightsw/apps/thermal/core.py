"""Thermal guard core: per-board power caps from board temperatures.

Below ``cap_start_c`` a board may draw its full ``max_power_w``. Between ``cap_start_c``
and ``limit_c`` the cap falls linearly to ``min_power_w`` (less heat, the board cools).
At ``limit_c`` the board is shut down (cap 0) and stays down, latched, until it has
cooled below ``restart_below_c`` (hysteresis).
"""

from __future__ import annotations

from dataclasses import dataclass

from flightsw.apps.framework import TableError
from flightsw.icd.messages import BoardSensors, Event, Severity, ThermalCaps

__all__ = ["ThermalTable", "ThermalState", "step"]


@dataclass(frozen=True)
class ThermalTable:
    n_boards: int
    max_power_w: float  # [W]
    min_power_w: float  # [W]
    cap_start_c: float = 75.0  # [degC] start reducing the cap
    limit_c: float = 85.0  # [degC] shut down at this temperature
    restart_below_c: float = 70.0  # [degC] a shut-down board may run again below this

    def __post_init__(self) -> None:
        if self.n_boards < 1:
            raise TableError(f"thermal table: n_boards expected >= 1, got {self.n_boards}")
        if not 0.0 < self.min_power_w <= self.max_power_w:
            raise TableError(
                "thermal table: expected 0 < min_power_w <= max_power_w, "
                f"got {self.min_power_w}, {self.max_power_w}"
            )
        if not self.restart_below_c < self.cap_start_c < self.limit_c:
            raise TableError(
                "thermal table: expected restart_below_c < cap_start_c < limit_c, got "
                f"{self.restart_below_c}, {self.cap_start_c}, {self.limit_c}"
            )


@dataclass(frozen=True)
class ThermalState:
    shutdown: tuple[bool, ...]
    # last good reading per board [degC]; a board never read is assumed at its limit
    last_temp_c: tuple[float, ...] = ()


def initial_state(table: ThermalTable) -> ThermalState:
    return ThermalState(shutdown=(False,) * table.n_boards,
                        last_temp_c=(table.limit_c,) * table.n_boards)


def cap_w(temp_c: float, table: ThermalTable) -> float:
    """The cap for a board from its temperature alone (no latch) [W]: full power below
    cap_start_c, falling linearly to min_power_w at limit_c."""
    frac = min(max((table.limit_c - temp_c) / (table.limit_c - table.cap_start_c), 0.0), 1.0)
    return table.min_power_w + frac * (table.max_power_w - table.min_power_w)


def step(
    state: ThermalState, table: ThermalTable, sensors: BoardSensors | None
) -> tuple[ThermalState, ThermalCaps | None, list[Event]]:
    if sensors is None:
        return state, None, []
    if len(sensors.temp_c) != table.n_boards:
        ev = Event(int(Severity.WARNING_LO), "thermal.bad_reading",
                   f"expected {table.n_boards} board temperatures, got {len(sensors.temp_c)}")
        return state, None, [ev]
    # Plain lists: a few dozen boards, one pass, cheaper than a dozen numpy calls.
    temps = list(sensors.temp_c)
    if len(sensors.temp_ok) == table.n_boards:  # a dead channel: hold the last good reading
        last = state.last_temp_c or (table.limit_c,) * table.n_boards
        temps = [t if ok else held for t, ok, held in zip(temps, sensors.temp_ok, last, strict=True)]
    events = []
    shutdown = list(state.shutdown)
    caps = []
    for b, t in enumerate(temps):
        if not shutdown[b] and t >= table.limit_c:
            shutdown[b] = True
            events.append(Event(int(Severity.WARNING_HI), "thermal.board_shutdown",
                                f"board {b} at {t:.1f} C >= limit {table.limit_c} C"))
        elif shutdown[b] and t < table.restart_below_c:
            shutdown[b] = False
            events.append(Event(int(Severity.ACTIVITY_HI), "thermal.board_restored",
                                f"board {b} cooled to {t:.1f} C"))
        caps.append(0.0 if shutdown[b] else cap_w(t, table))
    msg = ThermalCaps(cap_w=tuple(caps), shutdown=tuple(int(x) for x in shutdown))
    return ThermalState(shutdown=tuple(shutdown), last_temp_c=tuple(temps)), msg, events
