"""Builders the power-manager tests share: tables, readings, hand-made eclipse outlooks,
and a toy battery with sun and eclipse for closed-loop tests (plain data, no I/O)."""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

from flightsw.apps.power.core import PowerInputs, PowerState, step
from flightsw.apps.power.outlook import EclipseOutlook
from flightsw.apps.power.table import PowerTable
from flightsw.icd.messages import Envelope, Message, Mode, PowerSensors

CAPACITY_WH = 1000.0
PERIOD_S = 5760.0
S = 1_000_000_000  # [ns] one second

SAFE = Mode.SAFE.value
LOW_POWER = Mode.LOW_POWER.value
NOMINAL = Mode.NOMINAL.value
COMPUTE = Mode.COMPUTE.value

NO_ECLIPSE = EclipseOutlook((), PERIOD_S, True, "hand-made: no eclipse")


def table(**overrides) -> PowerTable:
    fields = dict(battery_soc_floor=0.2, housekeeping_w=50.0, max_discharge_w=800.0)
    fields.update(overrides)
    return PowerTable(**fields)


def sensors(charge_wh: float, solar_w: float = 0.0, capacity_wh: float = CAPACITY_WH) -> PowerSensors:
    return PowerSensors(solar_power_w=solar_w, battery_charge_wh=charge_wh,
                        battery_capacity_wh=capacity_wh, battery_soc=min(1.0, charge_wh / capacity_wh),
                        load_w=0.0, sunlit_fraction=1.0 if solar_w > 0 else 0.0)


def at_soc(soc: float, solar_w: float = 0.0) -> PowerSensors:
    return sensors(soc * CAPACITY_WH, solar_w)


def eclipse_ahead(starts_in_s: float, duration_s: float, period_s: float = PERIOD_S) -> EclipseOutlook:
    """Eclipses of ``duration_s`` every ``period_s``, the first ``starts_in_s`` from now
    (negative: in progress), over two orbits."""
    windows = []
    start = starts_in_s
    while start < 2.0 * period_s:
        if start + duration_s > 0.0:
            windows.append((start, start + duration_s))
        start += period_s
    return EclipseOutlook(tuple(windows), period_s, True, "hand-made")


def msg(body, src: str = "world", seq: int = 1, tick: int = 0) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, seq, tick, tick * S), body)


def names(notes) -> list[str]:
    return [n.name for n in notes]


def run(t: PowerTable, readings, outlook: EclipseOutlook = NO_ECLIPSE,
        state: PowerState | None = None) -> tuple[PowerState, list]:
    """Step the core over ``readings``; returns the last state and every tick's notes."""
    state = PowerState() if state is None else state
    all_notes = []
    for r in readings:
        state, _, notes = step(state, t, PowerInputs(r, outlook))
        all_notes.append(notes)
    return state, all_notes


@dataclass
class ToyOrbit:
    """A battery, a sun that shines ``sun_s`` then hides ``eclipse_s`` (repeating, from
    t = 0 in sunlight), and a load of housekeeping plus the budget granted
    ``latency_ticks`` ticks earlier, at 1 s ticks. The outlook is exact (hand-made from
    the same timetable). Records the lowest charge and the budgets granted. Time goes on
    across calls of ``run``."""

    t: PowerTable
    capacity_wh: float
    charge_wh: float
    solar_w: float
    sun_s: int
    eclipse_s: int
    latency_ticks: int = 1
    heater_w: float = 0.0
    state: PowerState = field(default_factory=PowerState)
    lowest_wh: float = float("inf")
    budgets: list = field(default_factory=list)
    modes: list = field(default_factory=list)

    def __post_init__(self) -> None:
        self._in_flight = deque([0.0] * self.latency_ticks)
        self._k = 0  # ticks run so far
        self.lowest_wh = self.charge_wh

    @property
    def period_s(self) -> int:
        return self.sun_s + self.eclipse_s

    def outlook(self, k: int) -> EclipseOutlook:
        phase = k % self.period_s
        return eclipse_ahead(float(self.sun_s - phase), float(self.eclipse_s), float(self.period_s))

    def run(self, ticks: int) -> None:
        t = self.t
        for k in range(self._k, self._k + ticks):
            self._k = k + 1
            sun = k % self.period_s < self.sun_s
            solar_w = self.solar_w if sun else 0.0
            reading = sensors(self.charge_wh, solar_w, self.capacity_wh)
            self.state, budget, _ = step(self.state, t, PowerInputs(reading, self.outlook(k), None, self.heater_w))
            self.budgets.append(budget.compute_budget_w)
            self.modes.append(budget.mode)
            self._in_flight.append(budget.compute_budget_w)
            load_w = t.housekeeping_w + self.heater_w + self._in_flight.popleft()
            net_w = solar_w - load_w
            if net_w >= 0.0:
                self.charge_wh += min(net_w, t.max_charge_w) * t.charge_efficiency / 3600.0
            else:
                self.charge_wh += net_w / t.discharge_efficiency / 3600.0
            self.charge_wh = min(max(self.charge_wh, 0.0), self.capacity_wh)
            self.lowest_wh = min(self.lowest_wh, self.charge_wh)
