"""Radiator louvers (sim/louvers.py): emissivity from closed to open, linear between the
set points, quantised to LOUVER_STEPS openings."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.louvers import LOUVER_STEPS, effective_emissivity

OPEN_EPS = 0.90
CLOSED_EPS = 0.12
CLOSED_BELOW_C = 0.0
OPEN_ABOVE_C = 20.0
EPS_TOLERANCE = 1e-12  # [-] float rounding in closed + frac * (open - closed)


def eps(temp_c: float) -> float:
    return effective_emissivity(temp_c, OPEN_EPS, CLOSED_EPS, CLOSED_BELOW_C, OPEN_ABOVE_C)


@pytest.mark.parametrize("temp_c", [-273.0, -50.0, CLOSED_BELOW_C])
def test_at_or_below_the_closed_set_point_the_louvers_are_closed(temp_c: float) -> None:
    assert eps(temp_c) == CLOSED_EPS, f"emissivity at {temp_c} C is {eps(temp_c)}"


@pytest.mark.parametrize("temp_c", [OPEN_ABOVE_C, 50.0, 500.0])
def test_at_or_above_the_open_set_point_the_louvers_are_open(temp_c: float) -> None:
    assert eps(temp_c) == pytest.approx(OPEN_EPS, abs=EPS_TOLERANCE), f"emissivity at {temp_c} C"


def test_halfway_between_the_set_points_the_louvers_are_half_open() -> None:
    mid = (CLOSED_BELOW_C + OPEN_ABOVE_C) / 2
    assert eps(mid) == pytest.approx((OPEN_EPS + CLOSED_EPS) / 2, abs=EPS_TOLERANCE), "not linear"


@given(st.floats(-100.0, 100.0), st.floats(-100.0, 100.0))
def test_emissivity_never_falls_as_the_radiator_warms(a_c: float, b_c: float) -> None:
    lo_c, hi_c = sorted((a_c, b_c))
    assert eps(lo_c) <= eps(hi_c) + EPS_TOLERANCE, f"emissivity fell from {lo_c} C to {hi_c} C"


@given(st.floats(-100.0, 100.0))
def test_emissivity_stays_between_closed_and_open(temp_c: float) -> None:
    e = eps(temp_c)
    assert CLOSED_EPS - EPS_TOLERANCE <= e <= OPEN_EPS + EPS_TOLERANCE, f"{e} at {temp_c} C"


def test_the_opening_takes_only_louver_steps_plus_one_values() -> None:
    values = {eps(t) for t in np.linspace(-10.0, 30.0, 4001)}
    assert len(values) == LOUVER_STEPS + 1, f"{len(values)} distinct openings"
    for e in values:
        steps = (e - CLOSED_EPS) / (OPEN_EPS - CLOSED_EPS) * LOUVER_STEPS
        assert steps == pytest.approx(round(steps), abs=1e-9), f"emissivity {e} is off the grid"
