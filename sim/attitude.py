"""Attitude of the spacecraft body: nadir-pointing, in the local orbital (LVLH) frame.

Body axes (the usual LVLH convention, e.g. Wertz, *Spacecraft Attitude Determination and
Control*, §2): +z to nadir (towards the Earth's centre), +y opposite the orbit normal
(-(r x v) / |r x v|), +x completing the right-handed frame (along the velocity for a
circular orbit). Used for body-fixed panels and radiators: a body vector becomes an ECI
one per tick. Leaves out: attitude errors, slews, yaw steering.
"""

from __future__ import annotations

import numpy as np

__all__ = ["lvlh_axes_eci", "sun_dir_body"]


def lvlh_axes_eci(r_eci_m: np.ndarray, dt_s: float) -> np.ndarray:
    """Body axes in ECI for a nadir-pointing spacecraft, shape (T, 3, 3) (rows x, y, z).

    r_eci_m: positions [m] sampled every ``dt_s`` [s], shape (T, 3), T >= 2; the velocity
    direction comes from central differences (one-sided at the ends).
    """
    r = np.asarray(r_eci_m, dtype=float)
    v = np.gradient(r, dt_s, axis=0)
    z = -r / np.linalg.norm(r, axis=1, keepdims=True)
    h = np.cross(r, v)
    y = -h / np.linalg.norm(h, axis=1, keepdims=True)
    x = np.cross(y, z)
    return np.stack((x, y, z), axis=1)


def sun_dir_body(axes_eci: np.ndarray, sun_dir_eci: np.ndarray) -> np.ndarray:
    """The Sun's unit vector in body axes, shape (T, 3)."""
    return np.einsum("tij,tj->ti", axes_eci, np.asarray(sun_dir_eci, dtype=float))
