"""Earth's shadow: a cylindrical model.

The umbra is taken as a cylinder of radius R_EARTH_EQ_M behind the Earth along the anti-sun
direction (Vallado 4th ed. section 5.3, algorithm 34 "SHADOW" with the cylindrical option).
This ignores the penumbra (about 8 s per crossing in LEO) and the Earth's oblateness; a
satellite is either lit (1.0) or shadowed (0.0).
"""

import numpy as np

from sim.constants import R_EARTH_EQ_M

__all__ = ["eclipse_intervals", "sunlit_fraction_cylindrical"]


def sunlit_fraction_cylindrical(r_eci_m: np.ndarray, sun_dir_eci: np.ndarray) -> np.ndarray:
    """Fraction of the solar disc seen by the satellite: 1.0 lit, 0.0 in the shadow cylinder.

    r_eci_m: satellite position [m], shape (..., 3).
    sun_dir_eci: unit vector towards the Sun, shape (..., 3), broadcast against r_eci_m.
    Returns float array of shape (...). A point is shadowed when it is on the night side
    (r . s < 0) and its distance from the Earth-Sun line, |r - (r . s) s|, is below R_E.
    """
    r = np.asarray(r_eci_m, dtype=float)
    s = np.asarray(sun_dir_eci, dtype=float)
    along_m = np.sum(r * s, axis=-1)
    perp_sq_m2 = np.sum(r * r, axis=-1) - along_m**2
    shadowed = (along_m < 0.0) & (perp_sq_m2 < R_EARTH_EQ_M**2)
    return np.where(shadowed, 0.0, 1.0)


def eclipse_intervals(t_s: np.ndarray, sunlit: np.ndarray) -> list[tuple[float, float]]:
    """Shadowed intervals ``(start_s, end_s)`` of a sampled series, in time order.

    t_s: sample times [s], shape (N,), increasing. sunlit: sunlit fraction, shape (N,); a
    sample counts as shadowed when below 0.5. Each sample is held until the next one, so an
    interval starts at its first shadowed sample and ends at the next sunlit sample; one
    still open at the end of the series ends at ``t_s[-1]``. The edges are therefore late by
    up to one sample interval. Raises ValueError if the shapes differ.
    """
    t = np.asarray(t_s, dtype=float)
    dark = np.asarray(sunlit, dtype=float) < 0.5
    if t.shape != dark.shape or t.ndim != 1:
        raise ValueError(
            f"t_s and sunlit must be 1-D arrays of equal length, got shapes "
            f"{t.shape} and {dark.shape}"
        )
    edges = np.diff(dark.astype(np.int8))
    starts = list(np.flatnonzero(edges == 1) + 1)
    ends = list(np.flatnonzero(edges == -1) + 1)
    if dark.size and dark[0]:
        starts.insert(0, 0)
    intervals = []
    for k, i_start in enumerate(starts):
        end_s = t[ends[k]] if k < len(ends) else t[-1]
        intervals.append((float(t[i_start]), float(end_s)))
    return intervals
