"""The thermal guard's parameter table ("thermal"): limits per channel class, how caps are
stepped, the heaters, and the radiator the capacity forecast is made for.

Loaded whole through TableLoad (every field is checked; an error names it). Defaults are
the default scenario's satellite (sim/scenarios/default.toml): 16 boards of 700 W on 4
cold plates, a 14 m^2 radiator of emissivity 0.9, 600 W of housekeeping, heaters of
100 W per plate and 120 W on the battery. Limits: a board is yellow above 75 degC (its
cap starts to fall) and red at 85 degC (shut down, below the hardware's 87 degC operating
limit and its 92 degC trip), may not run below 0 degC (the hardware's cold limit); the
radiator's yellow (65 degC) is where full-power boards would reach their own yellow, about
14 K above it; the battery's window is its charge window (0..45 degC).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from flightsw.apps.framework import TableError, table_from_mapping
from flightsw.apps.thermal.limits import Limits

__all__ = ["ThermalTable", "LEGACY_FIELDS", "thermal_table"]

BOARD_LIMITS = Limits(red_lo_c=0.0, yellow_lo_c=5.0, yellow_hi_c=75.0, red_hi_c=85.0,
                      hysteresis_c=2.0, persistence=3)
RADIATOR_LIMITS = Limits(red_lo_c=-60.0, yellow_lo_c=-50.0, yellow_hi_c=65.0, red_hi_c=75.0,
                         hysteresis_c=2.0, persistence=3)
BATTERY_LIMITS = Limits(red_lo_c=0.0, yellow_lo_c=10.0, yellow_hi_c=40.0, red_hi_c=45.0,
                        hysteresis_c=1.0, persistence=3)


@dataclass(frozen=True)
class ThermalTable:
    n_boards: int
    max_power_w: float  # [W] a board's full power
    min_power_w: float  # [W] the least power a running board draws
    board: Limits = BOARD_LIMITS
    radiator: Limits = RADIATOR_LIMITS
    battery: Limits = BATTERY_LIMITS
    restart_below_c: float = 70.0  # [degC] a board shut down hot may run again below this
    # yellow (hot): a board's cap is stepped down by cap_step_w every cap_step_ticks while
    # it is not cooling; green: given back by cap_restore_w every cap_restore_ticks
    cap_step_w: float = 50.0  # [W]
    cap_step_ticks: int = 10
    cap_restore_w: float = 10.0  # [W]
    cap_restore_ticks: int = 30
    # heaters: one per cold plate (boards_per_plate boards each), then the battery
    boards_per_plate: int = 4
    plate_heater_power_w: float = 100.0  # [W]
    battery_heater_power_w: float = 120.0  # [W]
    heater_deadband_c: float = 3.0  # [degC] off this far above the cold yellow limit
    # the main radiator, for the capacity forecast (radiator.py)
    radiator_area_m2: float = 14.0  # [m^2]
    radiator_emissivity: float = 0.9
    housekeeping_w: float = 600.0  # [W] other heat the radiator carries
    sink_w: float = 0.0  # [W] prior estimate of the environment's heat on the radiator
    sink_filter_ticks: int = 300  # readings the sink estimate is smoothed over
    sink_fit_above_c: float = 20.0  # [degC] the sink is fitted only above this (louvers open)
    # heat stored while temperatures move: the radiator with its cold plates (1.5e5 + 4 x
    # 5000 J/K), and each board (6000 J/K); rates from temperatures smoothed over this many
    radiator_heat_capacity_j_per_k: float = 1.7e5  # [J/K]
    board_heat_capacity_j_per_k: float = 6000.0  # [J/K]
    rate_filter_ticks: int = 60
    # the conductances from a board to its plate and from a plate to the radiator [W/K]:
    # given both, the capacity forecast is the heat the radiator rejects when the boards,
    # sharing it evenly, sit at their own yellow limit (the radiator colder by the drops
    # the heat makes on its way); 0: at the radiator's yellow limit, as before
    board_to_plate_w_per_k: float = 0.0
    plate_to_radiator_w_per_k: float = 0.0
    # the thermal budget published for the scheduler (ThermalCaps.radiator_capacity_w): the
    # compute heat that holds the boards at budget_at_c (0: at their yellow limit, and the
    # budget is the capacity forecast itself), plus the heat the boards and the radiator can
    # still store below it, spent over budget_tau_s (0: none), or less the heat they must
    # give back when above it: a model-based setpoint controller (core._budget_w)
    budget_at_c: float = 0.0  # [degC]
    budget_tau_s: float = 0.0  # [s]

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> TableError:
            return TableError(f"thermal.{name}: expected {expected}, got {getattr(self, name)!r}")

        for name in ("n_boards", "boards_per_plate", "cap_step_ticks", "cap_restore_ticks",
                     "sink_filter_ticks", "rate_filter_ticks"):
            if type(getattr(self, name)) is not int or getattr(self, name) < 1:
                raise bad(name, "an integer >= 1")
        for name in ("max_power_w", "min_power_w", "restart_below_c", "cap_step_w", "cap_restore_w",
                     "plate_heater_power_w", "battery_heater_power_w", "heater_deadband_c",
                     "radiator_area_m2", "radiator_emissivity", "housekeeping_w", "sink_w",
                     "sink_fit_above_c", "radiator_heat_capacity_j_per_k", "board_heat_capacity_j_per_k",
                     "budget_at_c", "budget_tau_s"):
            value = getattr(self, name)
            if type(value) not in (int, float) or not math.isfinite(value):
                raise bad(name, "a finite number")
        for name, limits in (("board", self.board), ("radiator", self.radiator), ("battery", self.battery)):
            if not isinstance(limits, Limits):
                raise bad(name, "a table of limits")
            limits.check(f"thermal.{name}")
        if not 0.0 < self.min_power_w:
            raise bad("min_power_w", "> 0")
        if not self.min_power_w <= self.max_power_w:
            raise bad("max_power_w", f">= min_power_w ({self.min_power_w})")
        if not self.board.yellow_lo_c < self.restart_below_c < self.board.yellow_hi_c:
            raise bad("restart_below_c", f"between board.yellow_lo_c ({self.board.yellow_lo_c}) "
                                         f"and board.yellow_hi_c ({self.board.yellow_hi_c})")
        for name in ("cap_step_w", "heater_deadband_c", "radiator_area_m2"):
            if not getattr(self, name) > 0.0:
                raise bad(name, "> 0")
        for name in ("cap_restore_w", "plate_heater_power_w", "battery_heater_power_w",
                     "housekeeping_w", "sink_w", "radiator_heat_capacity_j_per_k",
                     "board_heat_capacity_j_per_k", "board_to_plate_w_per_k", "plate_to_radiator_w_per_k"):
            if not getattr(self, name) >= 0.0:
                raise bad(name, ">= 0")
        if not 0.0 < self.radiator_emissivity <= 1.0:
            raise bad("radiator_emissivity", "in (0, 1]")
        if self.budget_at_c != 0.0 and not self.board.yellow_lo_c < self.budget_at_c < self.board.red_hi_c:
            raise bad("budget_at_c", f"0 or between board.yellow_lo_c ({self.board.yellow_lo_c}) "
                                     f"and board.red_hi_c ({self.board.red_hi_c})")
        if not self.budget_tau_s >= 0.0:
            raise bad("budget_tau_s", ">= 0")

    # the names the first thermal guard used, kept for readers of the linear cap
    @property
    def cap_start_c(self) -> float:
        """[degC] the cap starts to fall here: the board's yellow_hi_c."""
        return self.board.yellow_hi_c

    @property
    def limit_c(self) -> float:
        """[degC] the board is shut down here: the board's red_hi_c."""
        return self.board.red_hi_c

    @property
    def n_plates(self) -> int:
        return -(-self.n_boards // self.boards_per_plate)

    @property
    def n_heaters(self) -> int:
        """One heater per plate, then the battery's."""
        return self.n_plates + 1


# The first thermal guard's flat names: cap_start_c is the board's yellow_hi_c, limit_c its
# red_hi_c. Accepted by thermal_table() (so the harness's make() kwargs keep working), not
# by TableLoad, which takes the table's own fields.
LEGACY_FIELDS = {"cap_start_c": "yellow_hi_c", "limit_c": "red_hi_c"}
DEFAULT_LIMITS = {"board": BOARD_LIMITS, "radiator": RADIATOR_LIMITS, "battery": BATTERY_LIMITS}


def thermal_table(values: Mapping[str, Any]) -> ThermalTable:
    """A ThermalTable from plain values (the make() kwargs): the table's fields, with
    ``board``/``radiator``/``battery`` given as mappings of Limits fields over the defaults
    (or Limits), and the legacy flat names ``cap_start_c``/``limit_c`` for the board's
    yellow_hi_c/red_hi_c. Raises TableError naming the field."""
    values = dict(values)
    legacy = {new: values.pop(old) for old, new in LEGACY_FIELDS.items() if old in values}
    if legacy:
        values["board"] = {**_as_mapping("board", values.get("board", {})), **legacy}
    for name, default in DEFAULT_LIMITS.items():
        if name in values:
            values[name] = {**dataclasses.asdict(default), **_as_mapping(name, values[name])}
    return table_from_mapping(ThermalTable, values)


def _as_mapping(name: str, value: Any) -> Mapping[str, Any]:
    if isinstance(value, Limits):
        return dataclasses.asdict(value)
    if not isinstance(value, Mapping):
        raise TableError(f"thermal.{name}: expected a table of limits, got {type(value).__name__}")
    return value
