import numpy as np
import pytest

from sim.heaters import HeaterParams, heater_power_w, step_thermostats

PARAMS = HeaterParams.make(3, on_below_c=-10.0, off_above_c=-5.0, power_w=[100.0, 50.0, 25.0])


def test_a_heater_switches_on_below_its_lower_set_point() -> None:
    on = step_thermostats(np.zeros(3, bool), np.array([-10.5, -9.5, -20.0]), PARAMS)
    assert on.tolist() == [True, False, True], f"thermostats below -10 degC gave {on}"


def test_a_heater_keeps_its_state_inside_the_dead_band() -> None:
    was = np.array([True, False, True])
    on = step_thermostats(was, np.array([-7.0, -7.0, -5.0]), PARAMS)
    assert on.tolist() == was.tolist(), f"inside the dead band the states changed to {on}"


def test_a_heater_switches_off_above_its_upper_set_point() -> None:
    on = step_thermostats(np.ones(3, bool), np.array([-4.9, 30.0, -6.0]), PARAMS)
    assert on.tolist() == [False, False, True], f"thermostats above -5 degC gave {on}"


def test_heater_power_is_drawn_only_by_heaters_that_are_on() -> None:
    power_w = heater_power_w(np.array([True, False, True]), PARAMS)
    assert power_w.tolist() == [100.0, 0.0, 25.0], f"heater power is {power_w}"


def test_stepping_the_thermostats_leaves_the_inputs_alone() -> None:
    on, temps_c = np.zeros(3, bool), np.full(3, -20.0)
    step_thermostats(on, temps_c, PARAMS)
    assert not on.any() and np.all(temps_c == -20.0), "step_thermostats modified its input"


def test_scalar_settings_apply_to_every_heater() -> None:
    p = HeaterParams.make(4, on_below_c=0.0, off_above_c=5.0, power_w=10.0)
    assert p.power_w.shape == (4,) and np.all(p.on_below_c == 0.0), f"params are {p}"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"on_below_c": 0.0, "off_above_c": 0.0, "power_w": 1.0}, "off_above_c"),
        ({"on_below_c": 0.0, "off_above_c": 5.0, "power_w": -1.0}, "power_w"),
        ({"on_below_c": float("nan"), "off_above_c": 5.0, "power_w": 1.0}, "on_below_c"),
    ],
)
def test_impossible_heaters_are_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        HeaterParams.make(2, **kwargs)
