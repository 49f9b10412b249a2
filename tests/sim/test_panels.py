import numpy as np
import pytest

from sim.constants import KELVIN_OFFSET, SIGMA_W_M2_K4, SPACE_TEMP_K
from sim.panels import (
    PanelParams,
    panel_cos_incidence,
    panel_equilibrium_temp_c,
    panel_output_w,
    panel_power_w,
)

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


# ---------------------------------------------------------------- the datasheet-level model
TRACKING = PanelParams(area_m2=22.0, efficiency_bol=0.30)
BODY_FIXED = PanelParams(area_m2=10.0, efficiency_bol=0.30, pointing="body-fixed",
                         normal_body=(0.0, 0.0, 2.0))
RELATIVE_TOLERANCE = 1e-12
EQUILIBRIUM_BALANCE_RELATIVE_TOLERANCE = 1e-9  # of the absorbed flux


def test_output_at_the_reference_temperature_and_bol_matches_the_simple_model() -> None:
    got = float(panel_output_w(TRACKING, 1.0, 1.0, 1.0, 28.0, 0.0))
    expected = panel_power_w(1.0, area_m2=22.0, efficiency=0.30)
    assert abs(got - expected) < ONE_MILLIWATT_W, f"reference output {got} W, expected {expected} W"


def test_output_falls_by_the_temperature_coefficient_for_each_kelvin_above_reference() -> None:
    hot = float(panel_output_w(TRACKING, 1.0, 1.0, 1.0, 28.0 + 40.0, 0.0))
    ref = float(panel_output_w(TRACKING, 1.0, 1.0, 1.0, 28.0, 0.0))
    assert hot / ref == pytest.approx(1.0 - 0.0022 * 40.0, rel=RELATIVE_TOLERANCE), (
        f"40 K above reference the output ratio is {hot / ref}, not 1 - 40 * 0.22 %"
    )


def test_output_after_some_years_follows_the_smad_lifetime_degradation() -> None:
    aged = float(panel_output_w(TRACKING, 1.0, 1.0, 1.0, 28.0, 5.0))
    new = float(panel_output_w(TRACKING, 1.0, 1.0, 1.0, 28.0, 0.0))
    assert aged / new == pytest.approx((1.0 - 0.0275) ** 5, rel=RELATIVE_TOLERANCE), (
        f"after 5 years the output ratio is {aged / new}, not (1 - 2.75 %)^5"
    )


def test_body_fixed_panels_follow_the_cosine_of_the_sun_angle() -> None:
    sun_60_deg = np.array([np.sin(np.radians(60.0)), 0.0, np.cos(np.radians(60.0))])
    cos_in = panel_cos_incidence(BODY_FIXED, sun_60_deg)
    assert float(cos_in) == pytest.approx(0.5, rel=RELATIVE_TOLERANCE), f"cos is {cos_in}"
    behind = panel_cos_incidence(BODY_FIXED, np.array([0.0, 0.0, -1.0]))
    assert float(behind) == 0.0, "a back-lit panel must give no power"


def test_sun_tracking_panels_see_the_sun_at_normal_incidence_whatever_the_attitude() -> None:
    sun_body = np.array([[1.0, 0.0, 0.0], [0.0, 0.0, -1.0]])
    assert np.all(panel_cos_incidence(TRACKING, sun_body) == 1.0), "tracking must give cos 1"


def test_panel_output_is_vectorised_over_orbit_samples() -> None:
    sunlit = np.array([0.0, 1.0, 1.0])
    temp_c = np.array([-80.0, 28.0, 78.0])
    got = panel_output_w(TRACKING, sunlit, 1.0, 1.0, temp_c, 0.0)
    full_w = 1361.0 * 22.0 * 0.30
    assert np.allclose(got, [0.0, full_w, full_w * (1.0 - 0.0022 * 50.0)], rtol=1e-12), (
        f"vectorised output is {got}"
    )


def test_equilibrium_without_conversion_is_the_flat_plate_closed_form() -> None:
    dark_cells = PanelParams(area_m2=1.0, efficiency_bol=0.0)
    got_c = float(panel_equilibrium_temp_c(dark_cells, 1.0, 1.0, 1.0))
    expected_c = (0.91 * 1361.0 / ((0.85 + 0.85) * SIGMA_W_M2_K4) + SPACE_TEMP_K**4) ** 0.25
    assert got_c == pytest.approx(expected_c - KELVIN_OFFSET, abs=1e-9), (
        f"equilibrium is {got_c} degC, alpha S / ((eps_f + eps_b) sigma) gives {expected_c} K"
    )


def test_equilibrium_balances_absorbed_heat_against_emission_and_electrical_output() -> None:
    earth_w_m2 = 150.0
    t_c = float(panel_equilibrium_temp_c(TRACKING, 1.0, 1.0, 1.0, 2.0, earth_w_m2))
    absorbed_w_m2 = 0.91 * 1361.0 + earth_w_m2
    emitted_w_m2 = 1.7 * SIGMA_W_M2_K4 * ((t_c + KELVIN_OFFSET) ** 4 - SPACE_TEMP_K**4)
    electrical_w_m2 = float(panel_output_w(TRACKING, 1.0, 1.0, 1.0, t_c, 2.0)) / 22.0
    residual_w_m2 = absorbed_w_m2 - emitted_w_m2 - electrical_w_m2
    assert abs(residual_w_m2) < EQUILIBRIUM_BALANCE_RELATIVE_TOLERANCE * absorbed_w_m2, (
        f"panel at {t_c} degC leaves {residual_w_m2} W/m^2 unbalanced"
    )


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"pointing": "nadir"}, "pointing"),
        ({"pointing": "body-fixed"}, "normal_body"),
        ({"normal_body": (0.0, 0.0, 0.0)}, "normal_body"),
        ({"degradation_per_year": 1.0}, "degradation_per_year"),
        ({"temp_coeff_per_k": -0.35}, "temp_coeff_per_k"),
        ({"efficiency_bol": 1.2}, "efficiency_bol"),
        ({"area_m2": -1.0}, "area_m2"),
    ],
)
def test_impossible_panel_params_are_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        PanelParams(**({"area_m2": 10.0, "efficiency_bol": 0.3} | kwargs))
