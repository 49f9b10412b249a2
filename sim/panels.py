"""Solar array output: the simple sun-tracking model and a datasheet-level panel model.

``panel_power_w`` (the original model) assumes the panels keep their normal on the Sun, so
P = S0 / d^2 * A * eta * f * D, with S0 the solar constant at 1 AU, d the Earth-Sun
distance [AU] (inverse-square law), A the cell area, eta the cell efficiency, f the sunlit
fraction and D a degradation factor (1.0 = beginning of life).

``panel_output_w`` adds what a datasheet and a mission-design text give (``PanelParams``):

    P = S0 / d^2 * A * eta_BOL * cos(theta) * f * (1 + gamma (T - T_ref)) * (1 - D_yr)^years

- gamma: relative temperature coefficient of maximum power [1/K] about the datasheet
  reference temperature T_ref = 28 degC (AM0). Triple-junction GaInP/GaAs/Ge cells are near
  -0.2 %/K: e.g. Azur Space 3G30C datasheet temperature gradients of Vmp (-6.7 mV/K) and
  Jmp (+9 uA/cm^2/K) at Vmp 2.41 V, Jmp 16.8 mA/cm^2 give about -0.22 %/K, the default.
- (1 - D_yr)^years: the lifetime degradation of Wertz & Larson, *Space Mission Analysis and
  Design* (3rd ed., 1999) section 11.4, "L_d = (1 - degradation/yr)^life"; the default
  2.75 %/yr is its GaAs figure (modern triple-junction cells in low LEO degrade less:
  Spectrolab reports XTJ power retention 0.89 after 5e14 1-MeV e/cm^2).
- cos(theta): angle of incidence. A sun-tracking array is pointed by its drive, so theta is
  the pointing error (pass 1.0 for perfect tracking); a body-fixed array's cosine follows
  the attitude: ``panel_cos_incidence``.

``panel_equilibrium_temp_c`` is the radiative equilibrium of a thin flat panel:
alpha G cos(theta) f + q_earth = (eps_front + eps_back) sigma (T^4 - T_sp^4) + P_elec(T) / A
(Gilmore, *Spacecraft Thermal Control Handbook* Vol. I, 2nd ed., 2002, ch. 2, the flat-plate
energy balance with the electrical output removed from the absorbed heat).

Left out: the cell I-V curve and the MPPT (power is taken at the maximum power point);
cover-glass, wiring, mismatch and packing losses (fold them into efficiency_bol or area_m2);
the change of efficiency with intensity and at low temperature (LILT); angle-dependent
reflection (a pure cosine law); shadowing by the satellite; the panel's thermal mass (the
equilibrium temperature is reached at once: a panel leaving eclipse is really colder, so
briefly more efficient, for some minutes).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from sim.constants import KELVIN_OFFSET, SIGMA_W_M2_K4, SOLAR_CONSTANT_W_M2, SPACE_TEMP_K

__all__ = [
    "POINTINGS",
    "PanelParams",
    "panel_cos_incidence",
    "panel_degradation_factor",
    "panel_equilibrium_temp_c",
    "panel_output_w",
    "panel_power_w",
    "panel_temperature_factor",
]

POINTINGS = ("sun-tracking", "body-fixed")
EQUILIBRIUM_NEWTON_STEPS = 12  # Newton from the right of a convex root: 12 is ample


def panel_power_w(
    sunlit_fraction: float | np.ndarray,
    area_m2: float,
    efficiency: float,
    sun_distance_au: float | np.ndarray = 1.0,
    degradation: float | np.ndarray = 1.0,
) -> float | np.ndarray:
    """Electrical power [W] of sun-tracking panels; inputs broadcast, shape of the broadcast.

    sunlit_fraction: 0..1 (from ``sim.eclipse``); area_m2: cell area [m^2] >= 0;
    efficiency: 0..1; sun_distance_au: Earth-Sun distance [AU] > 0; degradation: 0..1.
    Raises ValueError for an area or efficiency out of range (checked as scalars, the
    configuration boundary); the per-step arrays are not checked.
    """
    if not area_m2 >= 0.0:
        raise ValueError(f"area_m2: expected >= 0, got {area_m2!r}")
    if not 0.0 <= efficiency <= 1.0:
        raise ValueError(f"efficiency: expected a number in [0, 1], got {efficiency!r}")
    irradiance_w_m2 = SOLAR_CONSTANT_W_M2 / np.square(sun_distance_au)
    power_w = irradiance_w_m2 * area_m2 * efficiency * np.asarray(sunlit_fraction) * degradation
    return float(power_w) if np.ndim(power_w) == 0 else power_w


@dataclass(frozen=True, kw_only=True)
class PanelParams:
    """A solar array as its datasheet and mission design describe it.

    area_m2: cell area [m^2] >= 0. efficiency_bol: AM0 efficiency at reference_temp_c and
    beginning of life, in [0, 1]. temp_coeff_per_k: relative change of power per kelvin
    [1/K], in [-0.05, 0.05]. reference_temp_c: datasheet reference temperature [degC].
    degradation_per_year: fraction of power lost per year, in [0, 1). pointing:
    "sun-tracking" or "body-fixed". normal_body: the cells' outward normal in the body frame
    (3 numbers, normalised here), required for "body-fixed". absorptivity, front_emissivity,
    back_emissivity in [0, 1]: optical properties for the temperature model (defaults:
    typical cover-glassed cells on a black-painted or CFRP back, Gilmore appendix tables).
    """

    area_m2: float
    efficiency_bol: float
    temp_coeff_per_k: float = -0.0022
    reference_temp_c: float = 28.0
    degradation_per_year: float = 0.0275
    pointing: str = "sun-tracking"
    normal_body: tuple[float, float, float] | None = None
    absorptivity: float = 0.91
    front_emissivity: float = 0.85
    back_emissivity: float = 0.85

    def __post_init__(self) -> None:
        if not (math.isfinite(self.area_m2) and self.area_m2 >= 0.0):
            raise ValueError(f"PanelParams.area_m2: expected >= 0, got {self.area_m2!r}")
        for name in ("efficiency_bol", "absorptivity", "front_emissivity", "back_emissivity"):
            value = getattr(self, name)
            if not 0.0 <= value <= 1.0:
                raise ValueError(f"PanelParams.{name}: expected in [0, 1], got {value!r}")
        if not -0.05 <= self.temp_coeff_per_k <= 0.05:
            raise ValueError(
                f"PanelParams.temp_coeff_per_k: expected in [-0.05, 0.05] per K (a relative "
                f"coefficient such as -0.0022), got {self.temp_coeff_per_k!r}"
            )
        if not math.isfinite(self.reference_temp_c):
            raise ValueError(
                f"PanelParams.reference_temp_c: expected a finite number, got "
                f"{self.reference_temp_c!r}"
            )
        if not 0.0 <= self.degradation_per_year < 1.0:
            raise ValueError(
                f"PanelParams.degradation_per_year: expected in [0, 1), got "
                f"{self.degradation_per_year!r}"
            )
        if self.pointing not in POINTINGS:
            raise ValueError(
                f"PanelParams.pointing: expected one of {POINTINGS}, got {self.pointing!r}"
            )
        if self.normal_body is not None:
            n = np.asarray(self.normal_body, dtype=float)
            norm = float(np.linalg.norm(n)) if n.shape == (3,) else 0.0
            if not (math.isfinite(norm) and norm > 0.0):
                raise ValueError(
                    f"PanelParams.normal_body: expected 3 numbers, not all zero, got "
                    f"{self.normal_body!r}"
                )
            object.__setattr__(self, "normal_body", tuple(float(x) for x in n / norm))
        elif self.pointing == "body-fixed":
            raise ValueError(
                "PanelParams.normal_body: expected a body-frame normal such as (0, 0, -1) "
                "for body-fixed panels, got None"
            )


def panel_cos_incidence(p: PanelParams, sun_dir_body: np.ndarray) -> np.ndarray:
    """Cosine of the Sun's angle of incidence on the cells [-], shape (...), >= 0.

    sun_dir_body: unit vector to the Sun in the body frame, shape (..., 3). Sun-tracking
    panels give 1.0 (perfect tracking); body-fixed ones max(0, n . s) (back-lit cells give
    nothing).
    """
    s = np.asarray(sun_dir_body, dtype=float)
    if p.pointing == "sun-tracking":
        return np.ones(s.shape[:-1])
    return np.maximum(s @ np.asarray(p.normal_body), 0.0)


def panel_temperature_factor(p: PanelParams, panel_temp_c: float | np.ndarray) -> np.ndarray:
    """max(0, 1 + gamma (T - T_ref)) [-]: power relative to the reference temperature."""
    return np.maximum(
        1.0 + p.temp_coeff_per_k * (np.asarray(panel_temp_c, dtype=float) - p.reference_temp_c),
        0.0,
    )


def panel_degradation_factor(p: PanelParams, years_since_bol: float | np.ndarray) -> np.ndarray:
    """(1 - D_yr)^years [-] (SMAD 3rd ed. section 11.4); years < 0 count as 0."""
    years = np.maximum(np.asarray(years_since_bol, dtype=float), 0.0)
    return np.power(1.0 - p.degradation_per_year, years)


def panel_output_w(
    p: PanelParams,
    sunlit_fraction: float | np.ndarray,
    sun_distance_au: float | np.ndarray,
    cos_incidence: float | np.ndarray,
    panel_temp_c: float | np.ndarray,
    years_since_bol: float | np.ndarray,
) -> np.ndarray:
    """Electrical power [W] at the maximum power point; inputs broadcast, shape of the
    broadcast (a 0-d array for scalar inputs).

    sunlit_fraction 0..1; sun_distance_au [AU] > 0; cos_incidence: cosine of the angle of
    incidence (``panel_cos_incidence``; negative values count as 0); panel_temp_c [degC];
    years_since_bol [yr]. Formula and sources: the module docstring.
    """
    irradiance_w_m2 = SOLAR_CONSTANT_W_M2 / np.square(np.asarray(sun_distance_au, dtype=float))
    cos_in = np.clip(np.asarray(cos_incidence, dtype=float), 0.0, 1.0)
    return (
        irradiance_w_m2 * p.area_m2 * p.efficiency_bol * cos_in
        * np.asarray(sunlit_fraction, dtype=float)
        * panel_temperature_factor(p, panel_temp_c)
        * panel_degradation_factor(p, years_since_bol)
    )


def panel_equilibrium_temp_c(
    p: PanelParams,
    sunlit_fraction: float | np.ndarray,
    sun_distance_au: float | np.ndarray,
    cos_incidence: float | np.ndarray,
    years_since_bol: float | np.ndarray = 0.0,
    earth_absorbed_w_m2: float | np.ndarray = 0.0,
) -> np.ndarray:
    """Radiative equilibrium temperature [degC] of the panel, shape of the broadcast.

    Solves alpha G cos f + q_e = (eps_f + eps_b) sigma (T^4 - T_sp^4) + G cos f eta(T) for T,
    with G = S0 / d^2, eta(T) = eta_BOL (1 + gamma (T - T_ref)) (1 - D_yr)^years, and q_e
    [W/m^2 of panel] the Earth IR and albedo the caller computes for both faces (e.g. with
    ``sim.environment_flux``; 0 by default). The electrical output leaves as power, not heat.
    Newton's method from the no-output temperature, which lies right of the root. Raises
    ValueError if both emissivities are 0 (no equilibrium exists). Without
    sunlight or Earth flux the answer is the deep-space temperature: a steady state the
    panel never reaches in a 35-minute eclipse (its thermal mass is left out), harmless for
    ``panel_output_w`` since it gives 0 W in the dark anyway.
    """
    g_w_m2 = SOLAR_CONSTANT_W_M2 / np.square(np.asarray(sun_distance_au, dtype=float))
    lit_w_m2 = (g_w_m2 * np.clip(np.asarray(cos_incidence, dtype=float), 0.0, 1.0)
                * np.asarray(sunlit_fraction, dtype=float))
    q_abs_w_m2 = p.absorptivity * lit_w_m2 + np.asarray(earth_absorbed_w_m2, dtype=float)
    if not p.front_emissivity + p.back_emissivity > 0.0:
        raise ValueError("PanelParams.front_emissivity, back_emissivity: expected a sum > 0 "
                         "for an equilibrium temperature, got 0")
    k_w_m2_k4 = (p.front_emissivity + p.back_emissivity) * SIGMA_W_M2_K4
    eta = p.efficiency_bol * panel_degradation_factor(p, years_since_bol)
    space_k4 = SPACE_TEMP_K**4
    t_k = np.power(q_abs_w_m2 / k_w_m2_k4 + space_k4, 0.25)
    t_k = np.asarray(t_k, dtype=float)
    for _ in range(EQUILIBRIUM_NEWTON_STEPS):
        factor = 1.0 + p.temp_coeff_per_k * (t_k - KELVIN_OFFSET - p.reference_temp_c)
        f = k_w_m2_k4 * (t_k**4 - space_k4) + lit_w_m2 * eta * factor - q_abs_w_m2
        df = 4.0 * k_w_m2_k4 * t_k**3 + lit_w_m2 * eta * p.temp_coeff_per_k
        t_k = t_k - f / df
    return t_k - KELVIN_OFFSET
