"""Builders for the thermal guard tests: tables, readings, and a loop that feeds them."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flightsw.apps.thermal.core import (
    StepOut,
    ThermalState,
    ThermalTable,
    initial_state,
    step,
    thermal_table,
)
from flightsw.icd.messages import BoardSensors, PowerSensors

MAX_W, MIN_W = 300.0, 60.0
CAP_START_C, LIMIT_C, RESTART_C = 75.0, 85.0, 70.0
S = 1_000_000_000  # [ns] one second
COOL_RADIATOR_C = 20.0  # at sink_fit_above_c: the sink estimate does not move


def table(n_boards: int = 2, **overrides) -> ThermalTable:
    """The harness's flat table (cap_start_c, limit_c...) plus ``overrides``."""
    fields = dict(n_boards=n_boards, max_power_w=MAX_W, min_power_w=MIN_W,
                  cap_start_c=CAP_START_C, limit_c=LIMIT_C, restart_below_c=RESTART_C)
    fields.update(overrides)
    return thermal_table(fields)


def readings(*temp_c: float, radiator_c: float = COOL_RADIATOR_C, power_w: Sequence[float] | None = None,
             ok: Sequence[int] = ()) -> BoardSensors:
    n = len(temp_c)
    return BoardSensors(temp_c=tuple(temp_c), power_w=tuple(power_w or (0.0,) * n),
                        work_gpu_s=(0.0,) * n, job_id=("",) * n, radiator_temp_c=radiator_c,
                        temp_ok=tuple(ok))


def battery(temp_c: float) -> PowerSensors:
    return PowerSensors(solar_power_w=0.0, battery_charge_wh=50.0, battery_capacity_wh=100.0,
                        battery_soc=0.5, load_w=0.0, sunlit_fraction=0.0, battery_temp_c=temp_c)


def run(t: ThermalTable, boards: Iterable[BoardSensors | None], state: ThermalState | None = None,
        power: PowerSensors | None = None) -> list[StepOut]:
    """Step the core over ``boards``, one a second (the same ``power`` reading every tick)
    -> every StepOut."""
    state = initial_state(t) if state is None else state
    outs = []
    for k, b in enumerate(boards):
        out = step(state, t, b, power, k * S)
        state = out.state
        outs.append(out)
    return outs


def names(out: StepOut) -> list[str]:
    return [n.name for n in out.notes]
