"""Thermal guard core: limits, power caps, heaters and the radiator's capacity (pure).

Each tick, from the last readings (BoardSensors: board and radiator temperatures, board
power; PowerSensors: the battery temperature):

1. levels (``limits.py``): every board, the radiator and the battery is green, yellow or
   red, with persistence and hysteresis. A dead board channel (``temp_ok`` 0) holds its
   last good reading; a board never read is assumed at its red limit.
2. caps, per board, the least of:
   - the limit-derived cap: full ``max_power_w`` up to the board's yellow_hi_c
     (``cap_start_c``), falling linearly to ``min_power_w`` at its red_hi_c (``limit_c``);
   - the stepped cap: while a board is yellow-hot and not cooling, it is stepped down by
     ``cap_step_w`` (from the cap in force) at once and then every ``cap_step_ticks``;
     while the radiator is yellow-hot and not cooling, every board's is; the radiator red
     drops them all to ``min_power_w``; back to green they are given back by
     ``cap_restore_w`` every ``cap_restore_ticks`` (never below ``min_power_w``, never
     above ``max_power_w``);
   - the board's share of the radiator's capacity (``radiator.py``): the capacity split
     evenly over the boards not shut down, floored at ``min_power_w`` (below it a share
     would switch a board off: the limits, not the forecast, decide shutdowns). With a
     setpoint (``budget_at_c``) the thermal budget is shared instead (below).
   The thermal budget (ThermalCaps.radiator_capacity_w, for the scheduler): with a
   setpoint, a model-based controller (``_budget_w``): the heat the radiator rejects with
   the boards held at the setpoint (feed-forward from the Stefan-Boltzmann forecast), plus
   the heat the boards and the radiator can still store below it spent over
   ``budget_tau_s`` (less what they must shed above it: proportional feedback on the
   hottest running board). Cold boards then run hard and warm the radiator to where it
   rejects the most; warm, they hold just under the setpoint, and the reactive caps above
   (from the yellow limit) stay a backstop. Without a setpoint, the capacity forecast.
   A red board (hot or cold) is shut down: cap 0. Hot, it stays down, latched, until it
   has cooled below ``restart_below_c``; cold, until it is ``hysteresis_c`` above red_lo_c.
   A board coming back starts from ``min_power_w`` and is given its power back slowly.
3. heaters (``heaters.py``): one per cold plate, then the battery's, on below the node's
   cold yellow limit, off above it plus ``heater_deadband_c`` (a plate whose boards draw at
   least its heater's power: off at the limit, their heat stands in); all off while flight heater
   control is inhibited. Their power is reported in ThermalCaps.heater_w (the power
   manager takes it out of the compute budget).

Events come back as :class:`Note` (severity, name, text); the shell sends them through
the framework's throttled event log. Level changes: into yellow WARNING_LO, into red
WARNING_HI, back down ACTIVITY_HI (out of red) or ACTIVITY_LO (to green).

Left out: per-board thermal models (a board's heat is not predicted, only measured), the
battery's heat (the battery's hot limits only raise events), and board-to-board sharing
of the radiator beyond an even split.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import NamedTuple

from flightsw.apps.thermal import heaters as heat
from flightsw.apps.thermal import radiator as rad
from flightsw.apps.thermal.limits import (
    COLD,
    GREEN,
    HOT,
    RED,
    YELLOW,
    LevelState,
    Limits,
    step_level,
)
from flightsw.apps.thermal.table import ThermalTable, thermal_table
from flightsw.icd.messages import BoardSensors, PowerSensors, Severity, ThermalCaps

__all__ = ["ThermalTable", "thermal_table", "ThermalState", "Note", "StepOut", "initial_state",
           "retable", "cap_w", "step"]

MAX_CAPACITY_W = 1.0e8  # ThermalCaps.radiator_capacity_w's wire range
NOT_STEPPING = -math.inf  # a step reference while a channel is not yellow-hot
_SIDE = {HOT: "hot", COLD: "cold", 0: ""}


@dataclass(frozen=True)
class Note:
    """An event for the shell to emit."""

    severity: Severity
    name: str
    text: str


@dataclass(frozen=True)
class ThermalState:
    temp_c: tuple[float, ...]  # last good reading per board [degC]
    board_level: tuple[LevelState, ...]
    stepped_w: tuple[float, ...]  # the stepped cap per board [W]
    step_ref_c: tuple[float, ...]  # a board's temperature at its last step decision [degC]
    step_age: tuple[int, ...]  # readings since a board's last step decision or restore
    heaters_on: tuple[int, ...]  # flight heater switches: plates, then the battery
    radiator_level: LevelState = LevelState()
    radiator_ref_c: float = NOT_STEPPING  # [degC] at the radiator's last step decision
    radiator_age: int = 0
    battery_level: LevelState = LevelState()
    battery_temp_c: float | None = None  # last battery reading [degC]; None: none yet
    sink: rad.SinkFit = rad.SinkFit(0.0)  # estimate of the environment's heat on the radiator
    capacity_w: float = 0.0  # the radiator's capacity forecast at the last reading [W]
    heaters_enabled: bool = True

    @property
    def shutdown(self) -> tuple[bool, ...]:
        return tuple(s.level == RED for s in self.board_level)


@dataclass(frozen=True)
class StepOut:
    state: ThermalState
    caps: ThermalCaps | None  # None: no (usable) board readings this tick
    heaters_on: tuple[int, ...]
    notes: tuple[Note, ...]


def initial_state(table: ThermalTable, heaters_enabled: bool = True) -> ThermalState:
    n = table.n_boards
    return ThermalState(
        temp_c=(table.limit_c,) * n, board_level=(LevelState(),) * n,
        stepped_w=(table.max_power_w,) * n, step_ref_c=(NOT_STEPPING,) * n, step_age=(0,) * n,
        heaters_on=(0,) * table.n_heaters, sink=rad.SinkFit(table.sink_w), heaters_enabled=heaters_enabled,
        capacity_w=_capacity_w(table, table.sink_w))


def retable(state: ThermalState, old: ThermalTable, new: ThermalTable) -> ThermalState:
    """The state carried over to a newly activated table: the same if the board bank and
    the heaters keep their shape (stepped caps clamped to the new power range), else fresh."""
    if (new.n_boards, new.n_heaters) != (old.n_boards, old.n_heaters):
        return initial_state(new, state.heaters_enabled)
    stepped = tuple(min(max(w, new.min_power_w), new.max_power_w) for w in state.stepped_w)
    return dataclasses.replace(state, stepped_w=stepped)


def cap_w(temp_c: float, table: ThermalTable) -> float:
    """The limit-derived cap for a board from its temperature alone [W]: full power below
    cap_start_c, falling linearly to min_power_w at limit_c."""
    frac = min(max((table.limit_c - temp_c) / (table.limit_c - table.cap_start_c), 0.0), 1.0)
    return table.min_power_w + frac * (table.max_power_w - table.min_power_w)


def step(state: ThermalState, table: ThermalTable, boards: BoardSensors | None,
         power: PowerSensors | None, t_ns: int | None = None) -> StepOut:
    """One tick. ``t_ns``: the readings' time [ns] (the sink fit needs the time between
    readings; None: no sample is taken, the sink estimate keeps its prior).

    The new state is built once, at the end (this runs every tick: no intermediate copies)."""
    notes: list[Note] = []
    battery_level, battery_temp_c = state.battery_level, state.battery_temp_c
    if power is not None:
        battery_temp_c = power.battery_temp_c
        battery_level = step_level(battery_temp_c, table.battery, state.battery_level)
        _note_level(notes, "battery", "battery", state.battery_level, battery_level, battery_temp_c,
                    table.battery)
    if boards is not None and len(boards.temp_c) != table.n_boards:
        notes.append(Note(Severity.WARNING_LO, "thermal.bad_reading",
                          f"expected {table.n_boards} board temperatures, got {len(boards.temp_c)}"))
        boards = None
    if boards is None:
        heaters_on = _switch_heaters(state.heaters_on, state.temp_c, battery_temp_c, state.heaters_enabled, table)
        new = dataclasses.replace(state, battery_level=battery_level, battery_temp_c=battery_temp_c,
                                  heaters_on=heaters_on)
        return StepOut(new, None, heaters_on, tuple(notes))
    read = _read_boards(state, table, boards, notes, t_ns)
    heaters_on = _switch_heaters(state.heaters_on, read.temp_c, battery_temp_c, state.heaters_enabled, table,
                                 boards.power_w)
    c = _caps(state, table, boards, read, heaters_on)
    new = ThermalState(
        temp_c=read.temp_c, board_level=read.board_level, stepped_w=c.stepped_w, step_ref_c=c.step_ref_c,
        step_age=c.step_age, heaters_on=heaters_on, radiator_level=read.radiator_level,
        radiator_ref_c=c.radiator_ref_c, radiator_age=c.radiator_age, battery_level=battery_level,
        battery_temp_c=battery_temp_c, sink=read.sink, capacity_w=read.capacity_w,
        heaters_enabled=state.heaters_enabled)
    return StepOut(new, c.msg, heaters_on, tuple(notes))


# ------------------------------------------------------------------------ readings
class _Read(NamedTuple):
    """What one reading of the boards makes of the state (see _read_boards)."""

    temp_c: tuple[float, ...]
    board_level: tuple[LevelState, ...]
    radiator_level: LevelState
    sink: rad.SinkFit
    capacity_w: float
    budget_w: float


def _read_boards(state: ThermalState, table: ThermalTable, boards: BoardSensors,
                 notes: list[Note], t_ns: int | None) -> _Read:
    """Held temperatures, board and radiator levels, and the sink estimate."""
    temps = boards.temp_c
    if len(boards.temp_ok) == table.n_boards and not all(boards.temp_ok):  # a dead channel: hold the last good reading
        temps = tuple(t if ok else held for t, ok, held in zip(temps, boards.temp_ok, state.temp_c, strict=True))
    lim = table.board
    green_lo_c, green_hi_c, restart_c = lim.yellow_lo_c, lim.yellow_hi_c, table.restart_below_c
    levels = []
    for b, (t_c, was) in enumerate(zip(temps, state.board_level, strict=True)):
        # the usual reading: a settled green board that stays inside its yellow limits
        # (step_level would return ``was`` itself)
        if was.level == GREEN and was.pending == 0 and green_lo_c < t_c < green_hi_c:
            levels.append(was)
            continue
        now = step_level(t_c, lim, was, red_hot_exit_c=restart_c)
        if now is not was:
            _note_level(notes, "board", f"board {b}", was, now, t_c, lim)
        levels.append(now)
    t_r = boards.radiator_temp_c
    rad_level = step_level(t_r, table.radiator, state.radiator_level)
    _note_level(notes, "radiator", "radiator", state.radiator_level, rad_level, t_r, table.radiator)
    plate_heaters_w = table.plate_heater_power_w * sum(state.heaters_on[:table.n_plates])
    inside_w = sum(boards.power_w) + plate_heaters_w + table.housekeeping_w
    sink = rad.fit_sink(state.sink, t_ns, t_r, temps, inside_w, area_m2=table.radiator_area_m2,
                        emissivity=table.radiator_emissivity,
                        radiator_j_per_k=table.radiator_heat_capacity_j_per_k,
                        board_j_per_k=table.board_heat_capacity_j_per_k,
                        rate_filter_ticks=table.rate_filter_ticks,
                        sink_filter_ticks=table.sink_filter_ticks, fit_above_c=table.sink_fit_above_c)
    capacity_w = _capacity_w(table, sink.sink_w)
    alive = [t for t, lv in zip(temps, levels, strict=True) if not (lv.level == RED and lv.side == HOT)]
    return _Read(tuple(temps), tuple(levels), rad_level, sink, capacity_w,
                 _budget_w(table, sink.sink_w, max(alive, default=None), capacity_w))


def _budget_w(table: ThermalTable, sink_w: float, hottest_c: float | None, capacity_w: float) -> float:
    """The thermal budget for compute [W] (ThermalCaps.radiator_capacity_w): with no
    ``budget_at_c``, the capacity forecast at the boards' yellow; else the capacity with the
    boards held at ``budget_at_c``, plus the heat the boards and the radiator (lumped at the
    hottest running board's temperature) can still store below it, spent over
    ``budget_tau_s``, or less the heat they must shed above it, floored at one board at its
    minimum power (the limits, not the budget, shut boards down): feed-forward
    from the radiator model and proportional feedback on the hottest board, gain
    (heat capacity / tau) [W/K]."""
    if table.budget_at_c == 0.0:
        return capacity_w
    held_w = _capacity_w(table, sink_w, table.budget_at_c)
    if table.budget_tau_s <= 0.0 or hottest_c is None:
        return held_w
    store_j_per_k = table.radiator_heat_capacity_j_per_k + table.n_boards * table.board_heat_capacity_j_per_k
    return min(max(table.min_power_w, held_w + store_j_per_k * (table.budget_at_c - hottest_c) / table.budget_tau_s),
               MAX_CAPACITY_W)


def _capacity_w(table: ThermalTable, sink_w: float, boards_at_c: float | None = None) -> float:
    """The compute heat the radiator rejects with the boards at ``boards_at_c`` (default:
    their yellow limit) and the sink at ``sink_w``."""
    if table.board_to_plate_w_per_k > 0.0 and table.plate_to_radiator_w_per_k > 0.0:
        plates = -(-table.n_boards // table.boards_per_plate)
        capacity = rad.capacity_at_boards_w(
            table.board.yellow_hi_c if boards_at_c is None else boards_at_c,
            table.radiator_area_m2, table.radiator_emissivity, sink_w,
            table.housekeeping_w, drop_k_per_w=(1.0 / (table.n_boards * table.board_to_plate_w_per_k)
                                                + 1.0 / (plates * table.plate_to_radiator_w_per_k)),
            max_w=table.n_boards * table.max_power_w)
    else:
        lift_c = 0.0 if boards_at_c is None else boards_at_c - table.board.yellow_hi_c
        capacity = rad.capacity_w(table.radiator.yellow_hi_c + lift_c, table.radiator_area_m2,
                                  table.radiator_emissivity, sink_w, table.housekeeping_w)
    return min(capacity, MAX_CAPACITY_W)


def _note_level(notes: list[Note], cls: str, who: str, was: LevelState, now: LevelState,
                temp_c: float, lim: Limits) -> None:
    if (now.level, now.side) == (was.level, was.side):
        return
    side = _SIDE[now.side]
    if now.level == RED:
        limit = lim.red_hi_c if now.side == HOT else lim.red_lo_c
        action = ": shut down" if cls == "board" else ""
        notes.append(Note(Severity.WARNING_HI, f"thermal.{cls}_red",
                          f"{who} red ({side}) at {temp_c:.1f} C (limit {limit} C){action}"))
    elif now.level == YELLOW and (now.side != was.side or was.level < YELLOW):
        limit = lim.yellow_hi_c if now.side == HOT else lim.yellow_lo_c
        action = ": cap stepped down" if cls == "board" and now.side == HOT else ""
        notes.append(Note(Severity.WARNING_LO, f"thermal.{cls}_yellow",
                          f"{who} yellow ({side}) at {temp_c:.1f} C (limit {limit} C){action}"))
    elif was.level == RED:
        back = "restored" if cls == "board" else "out of red"
        notes.append(Note(Severity.ACTIVITY_HI, f"thermal.{cls}_restored",
                          f"{who} {back} at {temp_c:.1f} C"))
    else:
        notes.append(Note(Severity.ACTIVITY_LO, f"thermal.{cls}_green", f"{who} green at {temp_c:.1f} C"))


# ------------------------------------------------------------------------- heaters
def _switch_heaters(was_on: tuple[int, ...], temp_c: tuple[float, ...], battery_temp_c: float | None,
                    enabled: bool, table: ThermalTable, board_power_w: tuple[float, ...] = ()) -> tuple[int, ...]:
    """The flight heater switches for the held board temperatures and the battery's. A
    plate whose boards draw at least its heater's power (``board_power_w``, this tick's
    reading; () none) is warmed by them (``heaters.switch_heaters``)."""
    if not enabled:
        return (0,) * table.n_heaters
    nodes: list[float | None] = list(heat.plate_temps_c(temp_c, table.boards_per_plate))
    nodes.append(battery_temp_c)
    on_below = [table.board.yellow_lo_c] * table.n_plates + [table.battery.yellow_lo_c]
    warmed: list[bool] = []
    if len(board_power_w) == table.n_boards:
        warmed = [p_w >= table.plate_heater_power_w
                  for p_w in heat.plate_power_w(board_power_w, table.boards_per_plate)]
    return heat.switch_heaters(was_on, nodes, on_below, table.heater_deadband_c, warmed)


def heater_powers_w(table: ThermalTable) -> list[float]:
    """Each heater's power [W], in HeaterCommand order."""
    return [table.plate_heater_power_w] * table.n_plates + [table.battery_heater_power_w]


# ---------------------------------------------------------------------------- caps
def _step_due(hot: bool, age: int, ref_c: float, table: ThermalTable) -> bool:
    """A step decision is due: at once on turning yellow-hot (ref_c -inf), then every
    cap_step_ticks readings while it stays so."""
    return hot and (age >= table.cap_step_ticks or ref_c == NOT_STEPPING)


class _Caps(NamedTuple):
    """The caps of one reading and the stepping state they leave (see _caps)."""

    msg: ThermalCaps
    stepped_w: tuple[float, ...]
    step_ref_c: tuple[float, ...]
    step_age: tuple[int, ...]
    radiator_ref_c: float
    radiator_age: int


def _caps(state: ThermalState, table: ThermalTable, boards: BoardSensors, read: _Read,
          heaters_on: tuple[int, ...]) -> _Caps:
    """Caps from the state before this reading (stepping) and what the reading made of it."""
    lo_w, hi_w = table.min_power_w, table.max_power_w
    board_level = read.board_level
    shutdown = [s.level == RED for s in board_level]
    alive = shutdown.count(False)
    # with a setpoint, the budget (stored heat counted) is what is shared: cold boards may
    # run hard until they near it; without, the capacity forecast at the yellow limit
    shared_w = read.budget_w if table.budget_at_c != 0.0 else read.capacity_w
    share_w = max(shared_w / alive, lo_w) if alive else 0.0
    # the radiator yellow-hot and not cooling steps every board down; red drops them all
    rad, t_r = read.radiator_level, boards.radiator_temp_c
    rad_hot = rad.side == HOT and rad.level >= YELLOW
    rad_red = rad.side == HOT and rad.level == RED
    rad_age, rad_ref, rad_step = state.radiator_age + 1, state.radiator_ref_c, False
    if not rad_hot:
        rad_ref = NOT_STEPPING
    elif not rad_red and _step_due(rad_hot, rad_age, rad_ref, table):
        rad_step, rad_ref, rad_age = t_r >= rad_ref, t_r, 0
    # cap_w() inlined: the limit-derived cap, full power below cap_start_c
    limit_c, span_c, range_w = table.limit_c, table.limit_c - table.cap_start_c, hi_w - lo_w
    step_w, restore_w, restore_ticks = table.cap_step_w, table.cap_restore_w, table.cap_restore_ticks
    caps, stepped, refs, ages = [], [], [], []
    for b, t_c in enumerate(read.temp_c):
        if shutdown[b]:  # and when it comes back: start low, be given power back slowly
            caps.append(0.0)
            stepped.append(lo_w)
            refs.append(NOT_STEPPING)
            ages.append(0)
            continue
        level, w, ref, age = board_level[b], state.stepped_w[b], state.step_ref_c[b], state.step_age[b] + 1
        hot = level.level == YELLOW and level.side == HOT
        board_step = False
        if not hot:
            ref = NOT_STEPPING
        elif _step_due(hot, age, ref, table):
            board_step, ref, age = t_c >= ref, t_c, 0  # step only if it is not cooling
        limit_w = lo_w + min(max((limit_c - t_c) / span_c, 0.0), 1.0) * range_w
        if rad_red:
            w = lo_w
        elif board_step or rad_step:
            w, age = max(lo_w, min(limit_w, w, share_w) - step_w), 0
        elif not hot and not rad_hot and age >= restore_ticks:
            w, age = min(hi_w, w + restore_w), 0
        stepped.append(w)
        refs.append(ref)
        ages.append(age)
        caps.append(min(limit_w, w, share_w))
    heater_w = heat.heater_power_w(heaters_on, heater_powers_w(table))
    msg = ThermalCaps(cap_w=tuple(caps), shutdown=tuple(int(x) for x in shutdown),
                      level=tuple(s.level for s in board_level), heater_w=heater_w,
                      radiator_capacity_w=read.budget_w)
    return _Caps(msg, tuple(stepped), tuple(refs), tuple(ages), rad_ref, rad_age)
