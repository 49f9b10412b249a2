"""Solar array output for sun-tracking panels.

The panels are assumed to keep their normal on the Sun, so the cosine loss is zero and the
output is P = S0 / d^2 * A * eta * f * D, with S0 the solar constant at 1 AU, d the
Earth-Sun distance [AU] (inverse-square law), A the cell area, eta the cell efficiency,
f the sunlit fraction and D the degradation factor (1.0 = beginning of life).
"""

import numpy as np

from sim.constants import SOLAR_CONSTANT_W_M2

__all__ = ["panel_power_w"]


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
