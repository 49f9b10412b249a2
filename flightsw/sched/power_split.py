"""Split a power budget over busy boards: each gets at least the minimum, then the rest
is water-filled equally up to each board's own ceiling (its max or its thermal cap)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flightsw.sched.types import BoardModel

__all__ = ["board_caps", "water_fill"]


def water_fill(budget_w: float, floor_w: float, ceilings_w: Sequence[float]) -> list[float]:
    """Caps [W] for boards with these ceilings. Each cap is in [floor, ceiling]; the sum is
    min(budget, sum(ceilings)) when budget >= n * floor (the caller ensures it)."""
    n = len(ceilings_w)
    if n == 0:
        return []
    caps = [floor_w] * n
    left = budget_w - floor_w * n
    open_ = sorted(range(n), key=lambda i: ceilings_w[i])
    while left > 1e-9 and open_:
        share = left / len(open_)
        i = open_[0]
        room = ceilings_w[i] - caps[i]
        if room <= share:
            caps[i] = ceilings_w[i]
            left -= room
            open_.pop(0)
        else:
            for j in open_:
                caps[j] += share
            left = 0.0
    return caps


def board_caps(
    assignments: Mapping[str, tuple[int, ...]],
    budget_w: float,
    thermal_cap_w: Sequence[float],
    model: BoardModel,
) -> tuple[float, ...]:
    """Per-board caps [W] for a plan: ``budget_w`` water-filled over the assigned boards, each
    up to min(max power, its thermal cap); idle boards get 0. The caller ensures the budget
    covers every assigned board at the minimum power."""
    boards = sorted(b for bs in assignments.values() for b in bs)
    ceilings = [min(model.max_power_w, thermal_cap_w[b]) for b in boards]
    caps = [0.0] * model.n_boards
    for b, c in zip(boards, water_fill(budget_w, model.min_power_w, ceilings), strict=True):
        caps[b] = c
    return tuple(caps)
