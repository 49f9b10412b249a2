import numpy as np
import pytest

from sim.panels import panel_power_w

ONE_MILLIWATT_W = 1e-3


def test_panel_power_at_one_au_in_full_sun_is_solar_constant_times_area_times_efficiency() -> None:
    got = panel_power_w(1.0, area_m2=20.0, efficiency=0.30)
    assert abs(got - 1361.0 * 20.0 * 0.30) < ONE_MILLIWATT_W, f"full-sun power is {got} W"


def test_panel_power_follows_the_closed_form_for_every_factor() -> None:
    got = panel_power_w(0.5, area_m2=10.0, efficiency=0.28, sun_distance_au=0.9833, degradation=0.9)
    expected = 1361.0 / 0.9833**2 * 10.0 * 0.28 * 0.5 * 0.9
    assert abs(got - expected) < ONE_MILLIWATT_W, f"power {got} W, closed form {expected} W"


def test_panel_power_is_zero_in_eclipse() -> None:
    assert panel_power_w(0.0, area_m2=20.0, efficiency=0.3) == 0.0, "eclipse must give 0 W"


def test_panel_power_is_vectorised_over_sunlit_fraction_and_distance() -> None:
    sunlit = np.array([0.0, 1.0, 1.0])
    distance_au = np.array([1.0, 1.0, 2.0])
    got = panel_power_w(sunlit, area_m2=1.0, efficiency=1.0, sun_distance_au=distance_au)
    assert np.allclose(got, [0.0, 1361.0, 1361.0 / 4.0]), f"vectorised power is {got}"


@pytest.mark.parametrize(("area_m2", "efficiency"), [(-1.0, 0.3), (10.0, 1.5), (10.0, -0.1)])
def test_panel_power_refuses_impossible_panels(area_m2: float, efficiency: float) -> None:
    with pytest.raises(ValueError, match="expected"):
        panel_power_w(1.0, area_m2=area_m2, efficiency=efficiency)
