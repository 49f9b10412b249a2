"""Thermostatic heaters: bang-bang with hysteresis, as mechanical thermostats fly.

Each heater h switches ON when its sensed temperature falls below ``on_below_c[h]`` and OFF
when it rises above ``off_above_c[h]``; in between it keeps its last state (the dead band
stops it chattering). An ON heater draws ``power_w[h]`` from the bus and puts the same power
into its node as heat (resistive: electrical in = heat out). The world adds
``heater_power_w(...).sum()`` to the bus load.

The thermostat is sampled once per step (the control period): the switch happens at the
step boundary, so a node can undershoot ``on_below_c`` by at most one step's cooling.
Left out: thermostat tolerance and drift, heater failure modes (stuck on/off: inject them as
faults by overriding ``on``), supply voltage dependence of a resistive heater's power, and
the bus refusing power (the world decides what happens in a brownout).

``sim.thermal_network`` orders its heaters one per cold plate then one for the battery, and
``ThermalNetwork.heater_sensed_temp_c`` gives their temperatures in that order.

Flight control and survival backup: each heater also has a switch the flight software
commands (HeaterCommand, one 0/1 per heater in the order above), wired in parallel with
its thermostat (:func:`applied_on`): the heater is on if either is closed. The flight
software keeps its nodes above their cold yellow limits (the thermal guard's table); the
thermostats' set points (scenario ``plate_heater_*`` and ``battery_heater_*``, by default
-10/-5 degC on the plates and 5/10 degC on the battery) lie below those limits, so they act
only when flight control is inhibited, lost, or blind: a survival backup. The world holds
the last command it received (:func:`commanded_on`), and starts with every flight switch open.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

__all__ = ["HeaterParams", "applied_on", "commanded_on", "heater_power_w", "step_thermostats"]


@dataclass(frozen=True)
class HeaterParams:
    """Set points [degC] and power [W] of H heaters, each an array of shape (H,).

    Build with ``HeaterParams.make(...)``, which broadcasts scalars and validates.
    """

    on_below_c: np.ndarray
    off_above_c: np.ndarray
    power_w: np.ndarray

    @staticmethod
    def make(
        n_heaters: int,
        on_below_c: float | np.ndarray,
        off_above_c: float | np.ndarray,
        power_w: float | np.ndarray,
    ) -> HeaterParams:
        """Validated parameters for ``n_heaters`` heaters; scalars apply to every heater.

        Raises ValueError naming the field if a set point is not finite, if
        off_above_c <= on_below_c (no dead band), or if a power is negative.
        """
        if not (isinstance(n_heaters, int) and n_heaters >= 0):
            raise ValueError(f"n_heaters: expected an int >= 0, got {n_heaters!r}")
        fields = {}
        for name, value in (("on_below_c", on_below_c), ("off_above_c", off_above_c),
                            ("power_w", power_w)):
            arr = np.broadcast_to(np.asarray(value, dtype=float), (n_heaters,)).copy()
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"HeaterParams.{name}: expected finite numbers, got {value!r}")
            arr.setflags(write=False)
            fields[name] = arr
        if np.any(fields["off_above_c"] <= fields["on_below_c"]):
            raise ValueError(
                f"HeaterParams.off_above_c: expected above on_below_c (a dead band), got "
                f"off_above_c={off_above_c!r}, on_below_c={on_below_c!r}"
            )
        if np.any(fields["power_w"] < 0.0):
            raise ValueError(f"HeaterParams.power_w: expected >= 0, got {power_w!r}")
        return HeaterParams(**fields)


def step_thermostats(on: np.ndarray, sensed_temp_c: np.ndarray, p: HeaterParams) -> np.ndarray:
    """New ON/OFF states, bool array of shape (H,), from the sensed temperatures [degC] (H,).

    on: present states, bool (H,). Pure: the inputs are not modified.
    """
    t_c = np.asarray(sensed_temp_c, dtype=float)
    return (np.asarray(on, dtype=bool) | (t_c < p.on_below_c)) & ~(t_c > p.off_above_c)


def heater_power_w(on: np.ndarray, p: HeaterParams) -> np.ndarray:
    """Power [W] each heater draws from the bus and dissipates, float array of shape (H,)."""
    return np.where(np.asarray(on, dtype=bool), p.power_w, 0.0)


def commanded_on(on: Sequence[int], n_heaters: int) -> np.ndarray | None:
    """The flight switches a HeaterCommand's ``on`` sets, bool array of shape (H,), or None
    when it names another number of heaters (the world then ignores it and holds the last)."""
    if len(on) != n_heaters:
        return None
    return np.asarray(on, dtype=bool)


def applied_on(thermostat_on: np.ndarray, flight_on: np.ndarray) -> np.ndarray:
    """Heater states as wired, bool (H,): the flight switch in parallel with the thermostat."""
    return np.asarray(thermostat_on, dtype=bool) | np.asarray(flight_on, dtype=bool)
