import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.battery import (
    BatteryModel,
    BatteryModelStep,
    BatteryParams,
    BatteryState,
    BatteryStep,
    step_battery,
    step_battery_model,
)

ENERGY_TOLERANCE_WH = 1e-9
POWER_TOLERANCE_W = 1e-9
PARAMS = BatteryParams(capacity_wh=1000.0, max_charge_w=500.0, max_discharge_w=800.0)


def _stored_change_wh(step: BatteryStep, dt_s: float, p: BatteryParams) -> float:
    return (
        (step.to_battery_w * p.charge_efficiency - step.from_battery_w / p.discharge_efficiency)
        * dt_s
        / 3600.0
    )


def test_surplus_within_limits_charges_with_charge_efficiency() -> None:
    step = step_battery(500.0, 200.0, 3600.0, PARAMS)
    assert step.to_battery_w == 200.0 and step.curtailed_w == 0.0, f"step is {step}"
    assert abs(step.charge_wh - (500.0 + 200.0 * 0.95)) < ENERGY_TOLERANCE_WH, "charge is wrong"


def test_surplus_above_max_charge_is_curtailed() -> None:
    step = step_battery(0.0, 700.0, 60.0, PARAMS)
    assert step.to_battery_w == 500.0, f"charging at {step.to_battery_w} W above the limit"
    assert abs(step.curtailed_w - 200.0) < POWER_TOLERANCE_W, f"curtailed {step.curtailed_w} W"


def test_full_battery_curtails_all_surplus() -> None:
    step = step_battery(1000.0, 300.0, 1.0, PARAMS)
    assert step.charge_wh == 1000.0 and step.curtailed_w == 300.0, f"step is {step}"


def test_battery_fills_exactly_to_capacity_and_no_further() -> None:
    step = step_battery(999.9, 500.0, 60.0, PARAMS)
    assert step.charge_wh == pytest.approx(1000.0, abs=ENERGY_TOLERANCE_WH), "did not fill"
    assert step.charge_wh <= 1000.0, "exceeded capacity"
    assert step.curtailed_w > 0.0, "surplus beyond the room left must be curtailed"


def test_deficit_is_supplied_through_discharge_efficiency() -> None:
    step = step_battery(500.0, -190.0, 3600.0, PARAMS)
    assert step.from_battery_w == 190.0 and step.unmet_w == 0.0, f"step is {step}"
    assert abs(step.charge_wh - (500.0 - 200.0)) < ENERGY_TOLERANCE_WH, "discharge loss is wrong"


def test_deficit_above_max_discharge_is_unmet() -> None:
    step = step_battery(500.0, -1000.0, 1.0, PARAMS)
    assert step.from_battery_w == 800.0, f"discharging at {step.from_battery_w} W"
    assert abs(step.unmet_w - 200.0) < POWER_TOLERANCE_W, f"unmet {step.unmet_w} W"


def test_empty_battery_leaves_the_whole_deficit_unmet() -> None:
    step = step_battery(0.0, -100.0, 1.0, PARAMS)
    assert step.charge_wh == 0.0 and step.unmet_w == 100.0, f"step is {step}"


def test_battery_empties_exactly_to_zero_and_no_further() -> None:
    step = step_battery(0.01, -800.0, 60.0, PARAMS)
    assert step.charge_wh == pytest.approx(0.0, abs=ENERGY_TOLERANCE_WH), "did not empty"
    assert step.charge_wh >= 0.0, "went below empty"
    assert step.unmet_w > 0.0, "deficit beyond the charge left must be unmet"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"capacity_wh": 0.0, "max_charge_w": 1.0, "max_discharge_w": 1.0}, "capacity_wh"),
        (
            {"capacity_wh": 1.0, "charge_efficiency": 1.2, "max_charge_w": 1, "max_discharge_w": 1},
            "charge_efficiency",
        ),
        (
            {
                "capacity_wh": 1.0,
                "discharge_efficiency": 0.0,
                "max_charge_w": 1,
                "max_discharge_w": 1,
            },
            "discharge_efficiency",
        ),
        ({"capacity_wh": 1.0, "max_charge_w": -1.0, "max_discharge_w": 1.0}, "max_charge_w"),
    ],
)
def test_impossible_battery_is_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        BatteryParams(**kwargs)


@pytest.mark.parametrize(
    ("charge_wh", "net_w", "dt_s", "field"),
    [(-1.0, 0.0, 1.0, "charge_wh"), (1001.0, 0.0, 1.0, "charge_wh"), (0.0, 0.0, 0.0, "dt_s")],
)
def test_step_refuses_bad_inputs_naming_them(
    charge_wh: float, net_w: float, dt_s: float, field: str
) -> None:
    with pytest.raises(ValueError, match=field):
        step_battery(charge_wh, net_w, dt_s, PARAMS)


battery_params = st.builds(
    BatteryParams,
    capacity_wh=st.floats(1.0, 1e5),
    charge_efficiency=st.floats(0.5, 1.0),
    discharge_efficiency=st.floats(0.5, 1.0),
    max_charge_w=st.floats(0.0, 1e4),
    max_discharge_w=st.floats(0.0, 1e4),
)


@given(
    p=battery_params,
    fill=st.floats(0.0, 1.0),
    net_w=st.floats(-2e4, 2e4),
    dt_s=st.floats(0.01, 7200.0),
)
def test_any_step_conserves_energy_and_stays_within_limits(
    p: BatteryParams, fill: float, net_w: float, dt_s: float
) -> None:
    charge_wh = fill * p.capacity_wh
    step = step_battery(charge_wh, net_w, dt_s, p)
    change_wh = step.charge_wh - charge_wh
    assert abs(change_wh - _stored_change_wh(step, dt_s, p)) < ENERGY_TOLERANCE_WH, (
        f"energy not conserved: {step}"
    )
    assert 0.0 <= step.charge_wh <= p.capacity_wh, f"charge {step.charge_wh} left [0, capacity]"
    assert step.to_battery_w <= p.max_charge_w + POWER_TOLERANCE_W, "charge limit broken"
    assert step.from_battery_w <= p.max_discharge_w + POWER_TOLERANCE_W, "discharge limit broken"
    bus_w = step.to_battery_w + step.curtailed_w - step.from_battery_w - step.unmet_w
    assert abs(bus_w - net_w) < POWER_TOLERANCE_W * max(1.0, abs(net_w)), (
        f"bus power not accounted for: {step} for net {net_w} W"
    )
    assert min(step.to_battery_w, step.curtailed_w, step.from_battery_w, step.unmet_w) >= 0.0, (
        f"a flow went negative: {step}"
    )


# ------------------------------------------------------- the model with windows and fade
MODEL = BatteryModel(capacity_bol_wh=1000.0, max_charge_w=500.0, max_discharge_w=800.0)
ENERGY_BALANCE_RELATIVE_TOLERANCE = 1e-9  # of the battery's capacity at beginning of life
# Fade during a cycle shifts the capacity each step's depth is measured against, so summed
# wear differs from the Woehler value by about the fade itself (< 0.02 % here).
WEAR_RELATIVE_TOLERANCE = 1e-3
CAPACITY_TOLERANCE_WH = 2.0  # 0.2 % of capacity: the same fade-during-a-cycle effect


def _model_stored_change_wh(step: BatteryModelStep, dt_s: float, m: BatteryModel) -> float:
    return (
        (step.to_battery_w * m.charge_efficiency - step.from_battery_w / m.discharge_efficiency)
        * dt_s / 3600.0
        - step.fade_loss_wh
    )


@pytest.mark.parametrize(("net_w", "dt_s"), [(200.0, 3600.0), (700.0, 60.0), (-190.0, 3600.0),
                                             (-1000.0, 1.0)])
def test_model_inside_its_windows_keeps_the_simple_battery_bookkeeping(
    net_w: float, dt_s: float
) -> None:
    old = step_battery(500.0, net_w, dt_s, PARAMS)
    new = step_battery_model(MODEL.initial_state(0.5), net_w, 20.0, dt_s, MODEL)
    for name in ("curtailed_w", "unmet_w", "to_battery_w", "from_battery_w"):
        assert getattr(new, name) == pytest.approx(getattr(old, name), abs=POWER_TOLERANCE_W), (
            f"{name}: model gives {getattr(new, name)}, simple battery {getattr(old, name)}"
        )
    assert new.state.charge_wh == pytest.approx(old.charge_wh, abs=ENERGY_TOLERANCE_WH), (
        "a half-full battery must store what the simple model stores"
    )
    assert not (new.charge_blocked or new.discharge_blocked), "nothing must be blocked at 20 C"


@pytest.mark.parametrize("temp_c", [-5.0, 45.5, 70.0])
def test_battery_outside_the_charge_window_refuses_to_charge_and_says_so(temp_c: float) -> None:
    step = step_battery_model(MODEL.initial_state(0.5), 300.0, temp_c, 1.0, MODEL)
    assert step.to_battery_w == 0.0 and step.curtailed_w == 300.0, f"at {temp_c} C: {step}"
    assert step.charge_blocked, f"a refused charge at {temp_c} C must be reported"


@pytest.mark.parametrize("temp_c", [-25.0, 61.0])
def test_battery_outside_the_discharge_window_refuses_to_discharge_and_says_so(
    temp_c: float,
) -> None:
    step = step_battery_model(MODEL.initial_state(0.5), -300.0, temp_c, 1.0, MODEL)
    assert step.from_battery_w == 0.0 and step.unmet_w == 300.0, f"at {temp_c} C: {step}"
    assert step.discharge_blocked, f"a refused discharge at {temp_c} C must be reported"


def test_battery_too_cold_to_charge_may_still_discharge() -> None:
    step = step_battery_model(MODEL.initial_state(0.5), -300.0, -10.0, 1.0, MODEL)
    assert step.from_battery_w == 300.0 and not step.discharge_blocked, f"step is {step}"


def test_losses_come_out_as_battery_heat() -> None:
    step = step_battery_model(MODEL.initial_state(0.5), -190.0, 20.0, 1.0, MODEL)
    assert step.heat_w == pytest.approx(190.0 / 0.95 - 190.0, rel=1e-12), f"heat {step.heat_w} W"


def test_cycles_to_failure_follow_the_woehler_curve() -> None:
    assert MODEL.cycles_to_failure(1.0) == MODEL.cycles_at_full_dod, "N(100 %) must be N100"
    assert MODEL.cycles_to_failure(0.2) == pytest.approx(2000.0 * 0.2**-1.7, rel=1e-12), (
        "N(DoD) must be N100 * DoD^-k"
    )


def _cycle(state: BatteryState, depth: float, n_steps: int, m: BatteryModel) -> BatteryState:
    """Discharge by ``depth`` of the capacity in ``n_steps`` equal steps, then charge back."""
    dt_s = 36.0
    drain_w = depth * state.capacity_wh * m.discharge_efficiency / (n_steps * dt_s / 3600.0)
    for _ in range(n_steps):
        state = step_battery_model(state, -drain_w, 20.0, dt_s, m).state
    while state.charge_wh < state.capacity_wh:
        state = step_battery_model(state, m.max_charge_w, 20.0, dt_s, m).state
    return state


@pytest.mark.parametrize("n_steps", [1, 7, 50])
def test_a_full_cycle_costs_one_over_n_of_life_whatever_the_step_size(n_steps: int) -> None:
    m = BatteryModel(capacity_bol_wh=1000.0, charge_efficiency=1.0, discharge_efficiency=1.0,
                     max_charge_w=5000.0, max_discharge_w=1e6)
    state = _cycle(m.initial_state(1.0), 0.5, n_steps, m)
    expected = 1.0 / m.cycles_to_failure(0.5)
    assert state.wear == pytest.approx(expected, rel=WEAR_RELATIVE_TOLERANCE), (
        f"one 50 % cycle in {n_steps} steps wore {state.wear}, Woehler says {expected}"
    )


def test_a_reversal_starts_a_new_half_cycle() -> None:
    m = BatteryModel(capacity_bol_wh=1000.0, charge_efficiency=1.0, discharge_efficiency=1.0,
                     max_charge_w=1e6, max_discharge_w=1e6)
    state = m.initial_state(1.0)
    for net_w in (-200.0, -200.0, 100.0, -100.0):  # 1 h steps: -40 %, +10 %, -10 %
        state = step_battery_model(state, net_w, 20.0, 3600.0, m).state
    k, n100 = m.dod_exponent, m.cycles_at_full_dod
    expected = (0.4**k + 0.1**k + 0.1**k) / (2.0 * n100)
    assert state.wear == pytest.approx(expected, rel=WEAR_RELATIVE_TOLERANCE), (
        f"half cycles of 40, 10 and 10 % wore {state.wear}, expected {expected}"
    )
    assert state.direction == -1, "the last half cycle is a discharge"


def test_n_of_d_cycles_bring_the_capacity_to_its_end_of_life_fraction() -> None:
    m = BatteryModel(capacity_bol_wh=1000.0, charge_efficiency=1.0, discharge_efficiency=1.0,
                     max_charge_w=1e6, max_discharge_w=1e6, cycles_at_full_dod=10.0,
                     dod_exponent=2.0)
    state = m.initial_state(1.0)
    n_cycles = round(m.cycles_to_failure(0.5))  # 40
    for _ in range(n_cycles):
        state = _cycle(state, 0.5, 1, m)
    assert state.capacity_wh == pytest.approx(800.0, abs=CAPACITY_TOLERANCE_WH), (
        f"after N(50 %) = {n_cycles} cycles capacity is {state.capacity_wh} Wh, not 80 % of BOL"
    )
    assert state.equivalent_full_cycles == pytest.approx(0.5 * n_cycles, rel=0.1), (
        f"{n_cycles} half-depth cycles count {state.equivalent_full_cycles} full cycles"
    )


def test_fade_of_a_full_battery_cuts_its_charge_and_reports_the_loss() -> None:
    state = MODEL.initial_state(0.99)
    step = step_battery_model(state, 500.0, 20.0, 3600.0, MODEL)
    assert step.fade_loss_wh > 0.0, "capacity fade below a full charge must be reported"
    assert step.state.charge_wh == step.state.capacity_wh < 1000.0, f"state is {step.state}"


model_params = st.builds(
    BatteryModel,
    capacity_bol_wh=st.floats(1.0, 1e5),
    charge_efficiency=st.floats(0.5, 1.0),
    discharge_efficiency=st.floats(0.5, 1.0),
    max_charge_w=st.floats(0.0, 1e4),
    max_discharge_w=st.floats(0.0, 1e4),
    cycles_at_full_dod=st.floats(1.0, 1e4),
    dod_exponent=st.floats(0.5, 3.0),
)


@given(
    m=model_params,
    fill=st.floats(0.0, 1.0),
    wear=st.floats(0.0, 1.2),
    net_w=st.floats(-2e4, 2e4),
    temp_c=st.floats(-40.0, 80.0),
    dt_s=st.floats(0.01, 7200.0),
)
def test_any_model_step_closes_its_energy_balance_to_a_billionth_of_capacity(
    m: BatteryModel, fill: float, wear: float, net_w: float, temp_c: float, dt_s: float
) -> None:
    state = m.initial_state(fill, wear)
    step = step_battery_model(state, net_w, temp_c, dt_s, m)
    tolerance_wh = ENERGY_BALANCE_RELATIVE_TOLERANCE * m.capacity_bol_wh
    change_wh = step.state.charge_wh - state.charge_wh
    assert abs(change_wh - _model_stored_change_wh(step, dt_s, m)) <= tolerance_wh, (
        f"stored energy does not balance: {step}"
    )
    heat_balance_wh = ((step.to_battery_w - step.from_battery_w - step.heat_w) * dt_s / 3600.0
                       - step.fade_loss_wh - change_wh)
    assert abs(heat_balance_wh) <= tolerance_wh, f"bus power, storage and heat disagree: {step}"
    bus_w = step.to_battery_w + step.curtailed_w - step.from_battery_w - step.unmet_w
    assert abs(bus_w - net_w) < POWER_TOLERANCE_W * max(1.0, abs(net_w)), (
        f"bus power not accounted for: {step} for net {net_w} W"
    )
    assert 0.0 <= step.state.charge_wh <= step.state.capacity_wh, "charge left [0, capacity]"
    assert step.state.wear >= state.wear, "wear must never decrease"
    assert min(step.to_battery_w, step.curtailed_w, step.from_battery_w, step.unmet_w,
               step.heat_w, step.fade_loss_wh) >= 0.0, f"a flow went negative: {step}"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"capacity_bol_wh": 0.0}, "capacity_bol_wh"),
        ({"charge_min_c": 50.0}, "charge_min_c"),
        ({"discharge_max_c": -30.0}, "discharge_min_c"),
        ({"dod_exponent": 0.0}, "dod_exponent"),
        ({"eol_capacity_fraction": 1.0}, "eol_capacity_fraction"),
    ],
)
def test_impossible_battery_model_is_refused_naming_the_field(kwargs: dict, field: str) -> None:
    with pytest.raises(ValueError, match=field):
        BatteryModel(**({"capacity_bol_wh": 1.0, "max_charge_w": 1.0, "max_discharge_w": 1.0}
                        | kwargs))
