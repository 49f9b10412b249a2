"""Battery: a bucket of energy with power limits and one-way efficiencies.

All powers are on the bus side of the battery. Going in, ``to_battery_w * charge_efficiency``
is stored; coming out, ``from_battery_w / discharge_efficiency`` is drawn from storage. Power
limits apply on the bus side. Over a step the stored energy changes by
(to_battery_w * eff_c - from_battery_w / eff_d) * dt_s / 3600 [Wh].
"""

import math
from dataclasses import dataclass

__all__ = ["BatteryParams", "BatteryStep", "step_battery"]

SECONDS_PER_HOUR = 3600.0


@dataclass(frozen=True, kw_only=True)
class BatteryParams:
    """capacity_wh [Wh] > 0; efficiencies in (0, 1]; max_charge_w, max_discharge_w [W] >= 0."""

    capacity_wh: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    max_charge_w: float
    max_discharge_w: float

    def __post_init__(self) -> None:
        if not (math.isfinite(self.capacity_wh) and self.capacity_wh > 0.0):
            raise ValueError(f"BatteryParams.capacity_wh: expected > 0, got {self.capacity_wh!r}")
        for name in ("charge_efficiency", "discharge_efficiency"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"BatteryParams.{name}: expected in (0, 1], got {value!r}")
        for name in ("max_charge_w", "max_discharge_w"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"BatteryParams.{name}: expected >= 0, got {value!r}")


@dataclass(frozen=True)
class BatteryStep:
    """Outcome of one step. Powers [W] are bus-side averages over the step.

    charge_wh: stored energy at the end [Wh]; curtailed_w: surplus that could not be stored
    (the array must be backed off); unmet_w: demand the battery could not supply (brownout);
    to_battery_w, from_battery_w: power into / out of the battery.
    """

    charge_wh: float
    curtailed_w: float
    unmet_w: float
    to_battery_w: float
    from_battery_w: float


def step_battery(
    charge_wh: float, net_power_w: float, dt_s: float, p: BatteryParams
) -> BatteryStep:
    """Advance the battery by ``dt_s`` [s] under a constant bus surplus ``net_power_w`` [W].

    net_power_w > 0 (generation above load) charges, limited by max_charge_w and by the room
    left; the rest is curtailed. net_power_w < 0 discharges, limited by max_discharge_w and
    by the stored energy; the rest is unmet. Raises ValueError if dt_s <= 0, net_power_w is
    not finite, or charge_wh is outside [0, capacity_wh].
    """
    if not dt_s > 0.0:
        raise ValueError(f"dt_s: expected > 0, got {dt_s!r}")
    if not math.isfinite(net_power_w):
        raise ValueError(f"net_power_w: expected a finite number, got {net_power_w!r}")
    if not 0.0 <= charge_wh <= p.capacity_wh:
        raise ValueError(f"charge_wh: expected in [0, {p.capacity_wh}], got {charge_wh!r}")
    dt_h = dt_s / SECONDS_PER_HOUR
    if net_power_w >= 0.0:
        room_w = (p.capacity_wh - charge_wh) / (dt_h * p.charge_efficiency)
        to_w = min(net_power_w, p.max_charge_w, room_w)
        new_charge_wh = min(charge_wh + to_w * p.charge_efficiency * dt_h, p.capacity_wh)
        return BatteryStep(new_charge_wh, net_power_w - to_w, 0.0, to_w, 0.0)
    demand_w = -net_power_w
    available_w = charge_wh * p.discharge_efficiency / dt_h
    from_w = min(demand_w, p.max_discharge_w, available_w)
    new_charge_wh = max(charge_wh - from_w / p.discharge_efficiency * dt_h, 0.0)
    return BatteryStep(new_charge_wh, 0.0, demand_w - from_w, 0.0, from_w)
