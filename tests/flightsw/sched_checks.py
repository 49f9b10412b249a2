"""Checks every policy's plan must pass, shared by the policies' tests."""

from __future__ import annotations

from collections.abc import Sequence

from flightsw.sched import BoardModel, Plan

POWER_TOL_W = 1e-6  # [W] float round-off in water filling


def assert_caps_within_board_limits(plan: Plan, caps: Sequence[float], model: BoardModel) -> None:
    """Idle boards get no power; a busy board's cap lies in [min power, its ceiling]."""
    busy = {b for bs in plan.assignments.values() for b in bs}
    for b in range(model.n_boards):
        if b not in busy:
            assert plan.cap_w[b] == 0.0, f"idle board {b} was given power"
            continue
        ceiling = min(model.max_power_w, caps[b])
        assert model.min_power_w - POWER_TOL_W <= plan.cap_w[b] <= ceiling + POWER_TOL_W, \
            f"board {b} cap {plan.cap_w[b]} outside [{model.min_power_w}, {ceiling}]"
