"""Lumped thermal network: N boards, each conductively coupled to one radiator that radiates
to deep space.

    C_b dT_b,k/dt = P_k - G (T_b,k - T_r)                               for each board k
    C_r dT_r/dt   = sum_k G (T_b,k - T_r) + Q_abs - eps sigma A (T_r^4 - T_space^4)

with temperatures of the radiative term in kelvin. Q_abs is the heat absorbed by the
radiator from outside (Sun, Earth albedo and infrared): ``ThermalParams.radiator_absorbed_w``
(a constant background) plus the ``absorbed_w`` argument (what varies along the orbit).

Integration is explicit Euler with equal substeps no longer than 0.2 times the shortest time
constant of the network, 1 / (G/C_b + (N G + 4 eps sigma A T_r^3)/C_r): the trace bound on
the fastest eigenvalue of the linearised system (the board-only modes decay at G/C_b, the
common mode pair has that trace). With the defaults this is about 24 s, so a 1 s step is a
single substep. Euler conserves energy exactly within a step: the stored energy changes by
(sum P + Q_abs - radiated) * dt, radiated being evaluated at each substep's start.

``sim.thermal_network`` is the richer model (cold plates, several radiators, the battery,
heaters; implicit integration); this one stays for the callers that use it.
"""

import math
from dataclasses import dataclass

import numpy as np

from sim.constants import KELVIN_OFFSET, SIGMA_W_M2_K4, SPACE_TEMP_K

__all__ = ["ThermalParams", "steady_state_radiator_temp_c", "step_thermal"]

SUBSTEP_FRACTION_OF_TIME_CONSTANT = 0.2


@dataclass(frozen=True, kw_only=True)
class ThermalParams:
    """Heat capacities [J/K], board-to-radiator conductance [W/K] (per board), radiator
    area [m^2] and emissivity [-] in (0, 1], constant absorbed heat on the radiator [W]."""

    board_heat_capacity_j_per_k: float = 6000.0
    board_to_radiator_w_per_k: float = 40.0
    radiator_heat_capacity_j_per_k: float = 4.0e5
    radiator_area_m2: float
    radiator_emissivity: float
    radiator_absorbed_w: float = 0.0

    def __post_init__(self) -> None:
        for name in (
            "board_heat_capacity_j_per_k",
            "board_to_radiator_w_per_k",
            "radiator_heat_capacity_j_per_k",
            "radiator_area_m2",
        ):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"ThermalParams.{name}: expected > 0, got {value!r}")
        if not 0.0 < self.radiator_emissivity <= 1.0:
            raise ValueError(
                f"ThermalParams.radiator_emissivity: expected in (0, 1], "
                f"got {self.radiator_emissivity!r}"
            )
        if not (math.isfinite(self.radiator_absorbed_w) and self.radiator_absorbed_w >= 0.0):
            raise ValueError(
                f"ThermalParams.radiator_absorbed_w: expected >= 0, "
                f"got {self.radiator_absorbed_w!r}"
            )

    @property
    def radiator_w_per_k4(self) -> float:
        """eps sigma A [W/K^4]: radiated power per unit of T^4."""
        return self.radiator_emissivity * SIGMA_W_M2_K4 * self.radiator_area_m2


def step_thermal(
    board_temp_c: np.ndarray,
    radiator_temp_c: float,
    board_power_w: np.ndarray,
    dt_s: float,
    p: ThermalParams,
    absorbed_w: float = 0.0,
) -> tuple[np.ndarray, float]:
    """Advance the network by ``dt_s`` [s] with constant heat inputs.

    board_temp_c: board temperatures [degC], shape (N,); radiator_temp_c [degC];
    board_power_w: heat dissipated in each board [W], shape (N,); absorbed_w: extra heat
    absorbed by the radiator this step [W]. Returns (board temperatures [degC] shape (N,),
    radiator temperature [degC]). The inputs are not modified.
    """
    t_board_c = np.asarray(board_temp_c, dtype=float)
    p_board_w = np.asarray(board_power_w, dtype=float)
    t_rad_c = float(radiator_temp_c)
    g_w_per_k = p.board_to_radiator_w_per_k
    k_rad = p.radiator_w_per_k4
    q_abs_w = p.radiator_absorbed_w + absorbed_w
    space_k4 = SPACE_TEMP_K**4

    t_rad_k = t_rad_c + KELVIN_OFFSET
    fastest_rate_per_s = (
        g_w_per_k / p.board_heat_capacity_j_per_k
        + (t_board_c.size * g_w_per_k + 4.0 * k_rad * abs(t_rad_k) ** 3)
        / p.radiator_heat_capacity_j_per_k
    )
    n_sub = max(1, math.ceil(dt_s * fastest_rate_per_s / SUBSTEP_FRACTION_OF_TIME_CONSTANT))
    h_s = dt_s / n_sub
    board_k_per_j = h_s / p.board_heat_capacity_j_per_k
    rad_k_per_j = h_s / p.radiator_heat_capacity_j_per_k

    for _ in range(n_sub):
        flow_w = g_w_per_k * (t_board_c - t_rad_c)
        t_rad_k = t_rad_c + KELVIN_OFFSET
        radiated_w = k_rad * (t_rad_k * t_rad_k * t_rad_k * t_rad_k - space_k4)
        t_board_c = t_board_c + (p_board_w - flow_w) * board_k_per_j
        t_rad_c = t_rad_c + (float(flow_w.sum()) + q_abs_w - radiated_w) * rad_k_per_j
    return t_board_c, t_rad_c


def steady_state_radiator_temp_c(
    total_power_w: float, p: ThermalParams, absorbed_w: float = 0.0
) -> float:
    """Radiator temperature [degC] at which it radiates all heat it receives.

    T = (Q / (eps sigma A) + T_space^4)^(1/4), Q = total board power + absorbed heat
    (``p.radiator_absorbed_w + absorbed_w``). At that steady state each board sits P_k / G
    above the radiator.
    """
    q_w = total_power_w + p.radiator_absorbed_w + absorbed_w
    return (q_w / p.radiator_w_per_k4 + SPACE_TEMP_K**4) ** 0.25 - KELVIN_OFFSET
