"""Radiator louvers: passive thermal control, no software involved.

Bimetal-actuated louvers (as flown on many spacecraft since the 1960s) close over the
radiator when it is cold, cutting its effective emissivity from ``open_emissivity`` to
``closed_emissivity``, and open as it warms. Linear between the two set points. Without
them a radiator sized for full compute power would freeze the boards in eclipse.
"""

from __future__ import annotations

__all__ = ["effective_emissivity", "LOUVER_STEPS"]

LOUVER_STEPS = 20  # the world quantises the opening, so it can cache thermal parameters


def effective_emissivity(radiator_temp_c: float, open_emissivity: float, closed_emissivity: float,
                         closed_below_c: float, open_above_c: float) -> float:
    """Effective radiator emissivity [-] at this radiator temperature [degC]."""
    if radiator_temp_c <= closed_below_c:
        frac = 0.0
    elif radiator_temp_c >= open_above_c:
        frac = 1.0
    else:
        frac = (radiator_temp_c - closed_below_c) / (open_above_c - closed_below_c)
    frac = round(frac * LOUVER_STEPS) / LOUVER_STEPS
    return closed_emissivity + frac * (open_emissivity - closed_emissivity)
