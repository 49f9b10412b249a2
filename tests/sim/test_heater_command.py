"""The world's heaters: flight switches from HeaterCommand (held until the next one) in
parallel with the survival thermostats, and the battery temperature reported."""

from __future__ import annotations

import copy

import numpy as np
import pytest

from flightsw.icd.messages import Envelope, HeaterCommand, Message, PowerSensors
from sim.heaters import HeaterParams, applied_on, commanded_on
from sim.scenario import load_scenario, scenario_from_dict
from sim.world import World

S = 1_000_000_000  # [ns] per 1 s tick
N_TICKS = 40
SEED = 3
POWER_TOL_W = 1e-6  # [W] heater power read back from the energy tally
TEMP_TOL_C = 1e-12
QUIET_SENSORS = {"board_temp_sigma_c": 0.0, "board_power_sigma_w": 0.0, "solar_power_sigma_w": 0.0,
                 "battery_soc_sigma": 0.0, "radiator_temp_sigma_c": 0.0, "load_sigma_w": 0.0,
                 "sunlit_fraction_sigma": 0.0}


@pytest.fixture(scope="module")
def default_data() -> dict:
    return load_scenario("default").data


def world(data: dict, initial_temp_c: float) -> World:
    data = copy.deepcopy(data)
    data["thermal"]["initial_temp_c"] = initial_temp_c
    data["sensors"].update(QUIET_SENSORS)
    return World(scenario_from_dict(data), N_TICKS, SEED)


def heater_cmd(on, tick: int = 0) -> Message:
    body = HeaterCommand(on=tuple(on))
    return Message(Envelope(body.KIND, body.VERSION, "thermal", tick + 1, tick, tick * S, "world"), body)


def heater_w_over(w: World, tick: int, inbox=()) -> float:
    """Step one tick -> the heater power drawn in it [W] (from the world's energy tally)."""
    before = w.heater_wh
    w.step(tick, tick * S, list(inbox))
    return (w.heater_wh - before) * 3600.0 / w.dt_s


def all_heaters_w(w: World) -> float:
    return float(w.heaters.power_w.sum())


def test_a_warm_world_without_commands_runs_no_heaters(default_data) -> None:
    w = world(default_data, 20.0)
    assert [heater_w_over(w, k) for k in range(3)] == [0.0, 0.0, 0.0]


def test_the_world_switches_heaters_as_commanded_and_holds_the_last_command(default_data) -> None:
    w = world(default_data, 20.0)
    n = w.n_plates + 1
    on = [1] + [0] * (n - 2) + [1]  # plate 0 and the battery
    expected_w = float(w.heaters.power_w[0] + w.heaters.power_w[-1])
    assert heater_w_over(w, 0, [heater_cmd(on)]) == pytest.approx(expected_w, abs=POWER_TOL_W)
    held = [heater_w_over(w, k) for k in range(1, 5)]
    assert held == pytest.approx([expected_w] * 4, abs=POWER_TOL_W), "the command was not held"
    assert heater_w_over(w, 5, [heater_cmd([0] * n, 5)]) == 0.0, "an off command was not obeyed"


def test_a_command_for_another_number_of_heaters_is_ignored(default_data) -> None:
    w = world(default_data, 20.0)
    n = w.n_plates + 1
    heater_w_over(w, 0, [heater_cmd([1] * n)])
    assert heater_w_over(w, 1, [heater_cmd([0] * (n + 1), 1)]) == pytest.approx(all_heaters_w(w), abs=POWER_TOL_W)


def test_without_commands_the_thermostats_keep_a_cold_world_heated(default_data) -> None:
    w = world(default_data, -30.0)  # below every thermostat's on set point
    assert heater_w_over(w, 0) == pytest.approx(all_heaters_w(w), abs=POWER_TOL_W)


def test_a_flight_off_command_does_not_override_the_survival_thermostats(default_data) -> None:
    w = world(default_data, -30.0)
    n = w.n_plates + 1
    assert heater_w_over(w, 0, [heater_cmd([0] * n)]) == pytest.approx(all_heaters_w(w), abs=POWER_TOL_W)


def test_the_power_readings_carry_the_battery_temperature(default_data) -> None:
    w = world(default_data, 12.5)
    (power,) = [b for b, _ in w.step(0, 0, []) if isinstance(b, PowerSensors)]
    assert power.battery_temp_c == pytest.approx(float(w.therm.battery_temp_c), abs=TEMP_TOL_C)


def test_flight_switches_and_thermostats_are_wired_in_parallel() -> None:
    thermo = np.array([True, False, False])
    flight = commanded_on((0, 1, 0), 3)
    assert applied_on(thermo, flight).tolist() == [True, True, False]
    assert commanded_on((1, 1), 3) is None
    p = HeaterParams.make(3, -10.0, -5.0, 10.0)
    assert p.power_w.shape == (3,)
