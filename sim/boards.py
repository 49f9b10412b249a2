"""GPU boards whose throughput rises with their power cap, with diminishing returns.

A busy board with cap c runs at throughput (c / max_power_w)^exponent of its full speed,
a concave curve (exponent <= 1), so work per joule falls as the cap rises: a power-limited
satellite gets more work from many boards at low caps than from few at high caps.

Cap conventions (all arrays broadcast; typically shape (count,)):
- cap <= 0: the board is off, draws 0 W and does no work.
- 0 < cap < min_power_w: the board cannot run that low and raises its cap to min_power_w;
  it draws min_power_w when busy and runs at (min_power_w / max_power_w)^exponent.
- cap > max_power_w: clipped to max_power_w (throughput 1).
- a powered-on board that is not busy draws idle_power_w and does no work.
"""

import math
from dataclasses import dataclass

import numpy as np

__all__ = ["BoardParams", "board_power_w", "throughput_frac", "work_gpu_s"]


@dataclass(frozen=True)
class BoardParams:
    """count >= 1; 0 < min_power_w <= max_power_w [W]; 0 <= idle_power_w < min_power_w [W];
    0 < throughput_exponent <= 1."""

    count: int
    max_power_w: float
    min_power_w: float
    idle_power_w: float
    throughput_exponent: float = 0.6

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"BoardParams.count: expected an int >= 1, got {self.count!r}")
        if not (math.isfinite(self.max_power_w) and 0.0 < self.min_power_w <= self.max_power_w):
            raise ValueError(
                f"BoardParams.min_power_w/max_power_w: expected 0 < min_power_w <= "
                f"max_power_w, got min_power_w={self.min_power_w!r}, "
                f"max_power_w={self.max_power_w!r}"
            )
        if not 0.0 <= self.idle_power_w < self.min_power_w:
            raise ValueError(
                f"BoardParams.idle_power_w: expected 0 <= idle_power_w < min_power_w "
                f"({self.min_power_w}), got {self.idle_power_w!r}"
            )
        if not 0.0 < self.throughput_exponent <= 1.0:
            raise ValueError(
                f"BoardParams.throughput_exponent: expected in (0, 1], "
                f"got {self.throughput_exponent!r}"
            )


def _effective_cap_w(power_cap_w: np.ndarray, p: BoardParams) -> np.ndarray:
    """Cap the board actually runs at [W]: clipped to [min, max]; 0 where the board is off."""
    cap_w = np.asarray(power_cap_w, dtype=float)
    return np.where(cap_w > 0.0, np.clip(cap_w, p.min_power_w, p.max_power_w), 0.0)


def throughput_frac(power_cap_w: np.ndarray, p: BoardParams) -> np.ndarray:
    """Fraction of full speed [0..1] of a busy board at ``power_cap_w`` [W], same shape.

    (clip(cap, min, max) / max)^exponent for cap > 0 (a cap below min_power_w is raised
    to it by the board); 0 for cap <= 0 (off).
    """
    cap_w = _effective_cap_w(power_cap_w, p)
    return (cap_w / p.max_power_w) ** p.throughput_exponent


def board_power_w(power_cap_w: np.ndarray, busy: np.ndarray, p: BoardParams) -> np.ndarray:
    """Electrical power [W] drawn by each board, broadcast shape of the inputs.

    Busy: the cap clipped to [min_power_w, max_power_w]. On and idle: idle_power_w.
    Off (cap <= 0): 0 W whether or not ``busy`` is set.
    """
    cap_w = _effective_cap_w(power_cap_w, p)
    return np.where(cap_w > 0.0, np.where(busy, cap_w, p.idle_power_w), 0.0)


def work_gpu_s(
    power_cap_w: np.ndarray, busy: np.ndarray, dt_s: float, p: BoardParams
) -> np.ndarray:
    """Work done [GPU-seconds at full speed] by each board in ``dt_s`` [s]: throughput * dt
    for busy boards, 0 for idle or off ones. Broadcast shape of the inputs."""
    return np.where(busy, throughput_frac(power_cap_w, p) * dt_s, 0.0)
