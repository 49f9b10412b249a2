"""Vectorised bisection, shared by the eclipse and pass finders."""

from __future__ import annotations

import numpy as np

__all__ = ["bisect_crossings"]


def bisect_crossings(f, lo_s: np.ndarray, hi_s: np.ndarray, tolerance_s: float) -> np.ndarray:
    """Roots of f in the brackets [lo_s, hi_s] (arrays, f changes sign in each), by bisection.

    f maps a time array to values of the same shape. The brackets are halved together until
    they are shorter than ``tolerance_s``; returns their midpoints (error < tolerance_s / 2).
    """
    lo = np.asarray(lo_s, dtype=float).copy()
    hi = np.asarray(hi_s, dtype=float).copy()
    if lo.size == 0:
        return lo
    lo_neg = f(lo) < 0.0
    while np.max(hi - lo) >= tolerance_s:
        mid = 0.5 * (lo + hi)
        same = (f(mid) < 0.0) == lo_neg
        lo = np.where(same, mid, lo)
        hi = np.where(same, hi, mid)
    return 0.5 * (lo + hi)
