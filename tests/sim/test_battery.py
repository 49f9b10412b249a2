import pytest
from hypothesis import given
from hypothesis import strategies as st

from sim.battery import BatteryParams, BatteryStep, step_battery

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
