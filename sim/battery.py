"""Battery: a bucket of energy with power limits and one-way efficiencies.

Two models share the bookkeeping below: ``step_battery`` (``BatteryParams``: a fixed
capacity) and ``step_battery_model`` (``BatteryModel``: adds the cell's temperature windows
and capacity fade with cycling; see its docstring).

All powers are on the bus side of the battery. Going in, ``to_battery_w * charge_efficiency``
is stored; coming out, ``from_battery_w / discharge_efficiency`` is drawn from storage. Power
limits apply on the bus side. Over a step the stored energy changes by
(to_battery_w * eff_c - from_battery_w / eff_d) * dt_s / 3600 [Wh].
"""

from __future__ import annotations

import math
from dataclasses import dataclass

__all__ = [
    "BatteryModel",
    "BatteryModelStep",
    "BatteryParams",
    "BatteryState",
    "BatteryStep",
    "step_battery",
    "step_battery_model",
]

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


# --------------------------------------------------------------------------------------
# The richer model: temperature windows and capacity fade.


@dataclass(frozen=True, kw_only=True)
class BatteryModel:
    """A Li-ion battery with its cells' temperature windows and cycle ageing.

    Energy and power: as ``BatteryParams`` (capacity_bol_wh [Wh] > 0 is the capacity new;
    efficiencies in (0, 1]; bus-side power limits max_charge_w, max_discharge_w [W] >= 0).
    The losses, to_w (1 - eff_c) + from_w (1 / eff_d - 1), are returned as heat for the
    battery's node of ``sim.thermal_network``.

    Temperature windows [degC]: the battery management system refuses to charge outside
    [charge_min_c, charge_max_c] and to discharge outside [discharge_min_c,
    discharge_max_c] (the refusal is reported). Defaults 0..45 and -20..60 degC are the
    operating ranges on the Panasonic NCR18650B cell datasheet (charge 0 to +45 degC,
    discharge -20 to +60 degC), typical of NCA/NMC cells; the usual 18650 cells flown in
    space batteries (e.g. Sony 18650HC) have similar windows.

    Cycle ageing (Palmgren-Miner damage over a Woehler curve): a cycle of depth of
    discharge D in (0, 1] costs 1 / N(D) of the cell's life, N(D) = N100 D^-k
    (``cycles_at_full_dod`` = N100, ``dod_exponent`` = k > 0), the form used by Millner,
    "Modeling lithium ion battery degradation in electric vehicles", IEEE CITRES 2010. Each
    half cycle (a run of steps that all charge or all discharge) of depth D costs
    D^k / (2 N100), accrued step by step as ((d + dd)^k - d^k) / (2 N100) as its depth d
    grows, so the sum over a half cycle is exact whatever the step size. Capacity falls
    linearly with the damage W: C = C_BOL (1 - (1 - eol_capacity_fraction) W), so W = 1 is
    end of life (80 % by default) and fade continues linearly past it (floored at 0).
    The defaults N100 = 2000 and k = 1.7 are illustrative, not a fitted cell: they give
    ~31,000 cycles at 20 % DoD, the order reported for space Li-ion cells in LEO cycling;
    fit both to the chosen cell's cycles-versus-DoD chart.

    Left out: calendar ageing (often comparable to cycle ageing in LEO), the effect of
    temperature (Arrhenius), C-rate and mean state of charge on ageing; full rainflow
    counting (a small ripple reverses the half cycle here, where rainflow would count it
    inside the larger one: with k > 1 this underestimates damage under noisy loads);
    resistance growth and power fade; voltage, the OCV curve and rate-dependent
    efficiency; self-discharge; cell imbalance; the BMS's derating near the window edges
    (it is all or nothing here).
    """

    capacity_bol_wh: float
    charge_efficiency: float = 0.95
    discharge_efficiency: float = 0.95
    max_charge_w: float
    max_discharge_w: float
    charge_min_c: float = 0.0
    charge_max_c: float = 45.0
    discharge_min_c: float = -20.0
    discharge_max_c: float = 60.0
    cycles_at_full_dod: float = 2000.0
    dod_exponent: float = 1.7
    eol_capacity_fraction: float = 0.8

    def __post_init__(self) -> None:
        for name in ("capacity_bol_wh", "cycles_at_full_dod", "dod_exponent"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value > 0.0):
                raise ValueError(f"BatteryModel.{name}: expected > 0, got {value!r}")
        for name in ("charge_efficiency", "discharge_efficiency"):
            value = getattr(self, name)
            if not 0.0 < value <= 1.0:
                raise ValueError(f"BatteryModel.{name}: expected in (0, 1], got {value!r}")
        for name in ("max_charge_w", "max_discharge_w"):
            value = getattr(self, name)
            if not (math.isfinite(value) and value >= 0.0):
                raise ValueError(f"BatteryModel.{name}: expected >= 0, got {value!r}")
        if not 0.0 <= self.eol_capacity_fraction < 1.0:
            raise ValueError(
                f"BatteryModel.eol_capacity_fraction: expected in [0, 1), got "
                f"{self.eol_capacity_fraction!r}"
            )
        for low, high in (("charge_min_c", "charge_max_c"),
                          ("discharge_min_c", "discharge_max_c")):
            lo, hi = getattr(self, low), getattr(self, high)
            if not (math.isfinite(lo) and math.isfinite(hi) and lo < hi):
                raise ValueError(
                    f"BatteryModel.{low}, {high}: expected finite numbers with {low} < {high}, "
                    f"got {lo!r} and {hi!r}"
                )

    def cycles_to_failure(self, depth_of_discharge: float) -> float:
        """N(D) = N100 D^-k: cycles of depth D in (0, 1] to end of life."""
        return self.cycles_at_full_dod * depth_of_discharge ** (-self.dod_exponent)

    def capacity_wh(self, wear: float) -> float:
        """Capacity [Wh] after damage ``wear`` (0 new, 1 end of life), floored at 0."""
        return self.capacity_bol_wh * max(0.0, 1.0 - (1.0 - self.eol_capacity_fraction) * wear)

    def initial_state(self, soc: float, wear: float = 0.0) -> BatteryState:
        """A battery at state of charge ``soc`` in [0, 1] after damage ``wear`` >= 0."""
        if not 0.0 <= soc <= 1.0:
            raise ValueError(f"soc: expected in [0, 1], got {soc!r}")
        if not (math.isfinite(wear) and wear >= 0.0):
            raise ValueError(f"wear: expected >= 0, got {wear!r}")
        capacity_wh = self.capacity_wh(wear)
        return BatteryState(charge_wh=soc * capacity_wh, capacity_wh=capacity_wh, wear=wear)


@dataclass(frozen=True, kw_only=True)
class BatteryState:
    """charge_wh: stored energy [Wh], in [0, capacity_wh]; capacity_wh: present capacity
    [Wh]; wear: Miner damage [-] (1 = end of life); half_cycle_depth: depth [-] of the
    present half cycle, as a fraction of capacity; direction: +1 charging, -1 discharging,
    0 not yet moved; equivalent_full_cycles: discharge throughput / capacity_bol_wh [-]."""

    charge_wh: float
    capacity_wh: float
    wear: float = 0.0
    half_cycle_depth: float = 0.0
    direction: int = 0
    equivalent_full_cycles: float = 0.0


@dataclass(frozen=True)
class BatteryModelStep:
    """Outcome of one ``step_battery_model``. Powers [W] are bus-side averages over the step.

    state: the battery after the step. curtailed_w, unmet_w, to_battery_w, from_battery_w:
    as ``BatteryStep``. heat_w: losses dissipated in the battery [W]. fade_loss_wh: stored
    energy lost because the capacity shrank below the charge [Wh]. charge_blocked /
    discharge_blocked: the BMS refused a surplus / a deficit this step because the battery
    was outside its charge / discharge temperature window.

    Balances: on the bus, net_power_w = to_battery_w + curtailed_w - from_battery_w -
    unmet_w; in the battery, (to_battery_w - from_battery_w) dt = stored change + heat_w dt
    + fade_loss_wh.
    """

    state: BatteryState
    curtailed_w: float
    unmet_w: float
    to_battery_w: float
    from_battery_w: float
    heat_w: float
    fade_loss_wh: float
    charge_blocked: bool
    discharge_blocked: bool


def step_battery_model(
    s: BatteryState, net_power_w: float, battery_temp_c: float, dt_s: float, m: BatteryModel
) -> BatteryModelStep:
    """Advance the battery by ``dt_s`` [s] under a constant bus surplus ``net_power_w`` [W]
    at cell temperature ``battery_temp_c`` [degC]. Pure.

    As ``step_battery`` with the present (faded) capacity, except that a surplus is all
    curtailed outside the charge window and a deficit all unmet outside the discharge
    window. Then the damage of the stored change is accrued (``BatteryModel``) and the
    capacity shrinks; a charge above the new capacity is cut to it (``fade_loss_wh``).
    Raises ValueError if dt_s <= 0, net_power_w or battery_temp_c is not finite, or the
    charge is outside [0, capacity_wh].
    """
    if not dt_s > 0.0:
        raise ValueError(f"dt_s: expected > 0, got {dt_s!r}")
    if not math.isfinite(net_power_w):
        raise ValueError(f"net_power_w: expected a finite number, got {net_power_w!r}")
    if not math.isfinite(battery_temp_c):
        raise ValueError(f"battery_temp_c: expected a finite number, got {battery_temp_c!r}")
    charge_wh, capacity_wh = s.charge_wh, s.capacity_wh
    if not 0.0 <= charge_wh <= capacity_wh:
        raise ValueError(f"charge_wh: expected in [0, {capacity_wh}], got {charge_wh!r}")
    dt_h = dt_s / SECONDS_PER_HOUR
    eff_c, eff_d = m.charge_efficiency, m.discharge_efficiency
    charge_blocked = discharge_blocked = False
    to_w = from_w = curtailed_w = unmet_w = 0.0
    if net_power_w >= 0.0:
        charge_blocked = net_power_w > 0.0 and not (
            m.charge_min_c <= battery_temp_c <= m.charge_max_c)
        limit_w = 0.0 if charge_blocked else m.max_charge_w
        room_w = (capacity_wh - charge_wh) / (dt_h * eff_c)
        to_w = min(net_power_w, limit_w, room_w)
        new_charge_wh = min(charge_wh + to_w * eff_c * dt_h, capacity_wh)
        curtailed_w = net_power_w - to_w
    else:
        discharge_blocked = not (m.discharge_min_c <= battery_temp_c <= m.discharge_max_c)
        demand_w = -net_power_w
        limit_w = 0.0 if discharge_blocked else m.max_discharge_w
        from_w = min(demand_w, limit_w, charge_wh * eff_d / dt_h)
        new_charge_wh = max(charge_wh - from_w / eff_d * dt_h, 0.0)
        unmet_w = demand_w - from_w
    heat_w = to_w * (1.0 - eff_c) + from_w * (1.0 / eff_d - 1.0)

    moved_wh = new_charge_wh - charge_wh
    direction, depth = s.direction, s.half_cycle_depth
    wear, efc = s.wear, s.equivalent_full_cycles
    if moved_wh != 0.0 and capacity_wh > 0.0:
        step_direction = 1 if moved_wh > 0.0 else -1
        if step_direction != direction:
            depth = 0.0  # a reversal starts a new half cycle
        new_depth = depth + abs(moved_wh) / capacity_wh
        k = m.dod_exponent
        wear += (new_depth**k - depth**k) / (2.0 * m.cycles_at_full_dod)
        direction, depth = step_direction, new_depth
        if moved_wh < 0.0:
            efc += -moved_wh / m.capacity_bol_wh
    new_capacity_wh = m.capacity_wh(wear)
    fade_loss_wh = max(0.0, new_charge_wh - new_capacity_wh)
    new_charge_wh -= fade_loss_wh
    state = BatteryState(charge_wh=new_charge_wh, capacity_wh=new_capacity_wh, wear=wear,
                         half_cycle_depth=depth, direction=direction,
                         equivalent_full_cycles=efc)
    return BatteryModelStep(state, curtailed_w, unmet_w, to_w, from_w, heat_w, fade_loss_wh,
                            charge_blocked, discharge_blocked)
