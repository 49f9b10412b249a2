"""Flight heater control: bang-bang with a dead band, one heater per cold plate, then one
for the battery (the order of HeaterCommand.on).

Heater h is switched on when its node is below the node's cold yellow limit and off when
it is above that limit plus ``heater_deadband_c``; in between it keeps its state. A plate's
node temperature is the coldest (last good) reading of the boards on it: the plate
heater protects those boards, and an idle board sits near its plate's temperature. The
battery's is the battery reading; with no battery reading yet its heater stays off.

Compute heat stands in for a plate heater: a heater whose plate's boards draw at least
its power (``warmed``) is switched off as soon as its node is back at the cold yellow
limit, without waiting out the dead band: the boards put more heat into the plate than
the heater would, and a plate warmed by running boards was otherwise heated for minutes
after every eclipse (the boards restart at 5 degC and the heater stayed on to 8 degC).
Below the limit the heater is on whatever the boards draw (it is the margin above the
boards' cold limit, and a plate can still cool with a board running in the cold).
Measured on energy-limited (24 h, seed 0): heater energy 1.50 -> 1.03 kWh a day, value
0.939 -> 0.944 of the bound.

The hardware thermostats (``sim.heaters``) are wired in parallel with these switches as a
survival backup: their set points lie below the flight limits, so they only act when
flight control is inhibited (THERMAL_SET_HEATERS false), dead, or its readings are.

Left out: duty-cycle limits and staggering heaters so they do not all switch in one tick
(inrush), and a power-aware priority (battery before boards) when the bus is short.
"""

from __future__ import annotations

from collections.abc import Sequence

__all__ = ["n_plates", "plate_temps_c", "plate_power_w", "switch_heaters", "heater_power_w"]


def n_plates(n_boards: int, boards_per_plate: int) -> int:
    """P = ceil(n_boards / boards_per_plate): the last plate may hold fewer boards."""
    return -(-n_boards // boards_per_plate)


def plate_temps_c(board_temp_c: Sequence[float], boards_per_plate: int) -> list[float]:
    """The coldest board temperature on each plate [degC], shape (P,)."""
    return [min(board_temp_c[j:j + boards_per_plate])
            for j in range(0, len(board_temp_c), boards_per_plate)]


def plate_power_w(board_power_w: Sequence[float], boards_per_plate: int) -> list[float]:
    """The power [W] the boards on each plate draw together (all of it ends up as heat in
    the plate), shape (P,)."""
    return [float(sum(board_power_w[j:j + boards_per_plate]))
            for j in range(0, len(board_power_w), boards_per_plate)]


def switch_heaters(on: Sequence[int], node_temp_c: Sequence[float | None],
                   on_below_c: Sequence[float], deadband_c: float,
                   warmed: Sequence[bool] = ()) -> tuple[int, ...]:
    """New heater states (1 on, 0 off), one per node. ``node_temp_c[h]`` None: no reading,
    the heater is switched off (flight control does not heat blind). ``warmed[h]`` True:
    the node gets at least the heater's power from elsewhere (running boards): its dead
    band is skipped (off at the limit, not above it plus ``deadband_c``); nodes past the
    end of ``warmed`` are not."""
    out = []
    for h, (was, t_c, lo_c) in enumerate(zip(on, node_temp_c, on_below_c, strict=True)):
        if t_c is None:
            out.append(0)
        elif t_c < lo_c:
            out.append(1)
        elif t_c > lo_c + (0.0 if h < len(warmed) and warmed[h] else deadband_c):
            out.append(0)
        else:
            out.append(int(was))
    return tuple(out)


def heater_power_w(on: Sequence[int], power_w: Sequence[float]) -> float:
    """Power [W] the heaters switched on draw from the bus (and put into their nodes)."""
    return float(sum(p for x, p in zip(on, power_w, strict=True) if x))
