"""Radiation and hardware faults of the GPU boards: seeded draws, one tick at a time.

Three kinds of event, each with a rate per board-hour [1/h] and drawn independently per
board and per tick as a Bernoulli trial with p = 1 - exp(-rate * multiplier * dt / 3600 s)
(the probability of at least one Poisson event in the tick; at most one is reported):

- ``sdc``  silent data corruption of the results a board computes; counts only while the
  board is ACTIVE (a board doing no work corrupts nothing). The board carries on as if
  nothing happened: the world marks the result of the job it runs as corrupted.
- ``sefi`` single-event functional interrupt: the board hangs (draws power, does no work)
  until it is power-cycled. Counts only while the board is powered.
- ``fail`` permanent failure (a destructive latch-up, a dead HBM stack, a worn-out part):
  the board is lost for the rest of the mission. Counts powered or not.

``burst_multiplier`` (a scalar, or one value per board) scales every rate for a tick: a
crossing of the South Atlantic Anomaly or a solar particle event.
Over a run, :class:`RadiationClock` takes a multiplier per tick: :func:`saa_multiplier`
(the anomaly along the orbit) composed by :func:`burst_multiplier` with a fault plan's
planned bursts (``[[radiation]]``, see sim.faults).

Default rates (:data:`LEO_TYPICAL`), order of magnitude only: a 500-600 km LEO at mid
inclination behind a few mm of aluminium, for an unhardened H100-class board. Sources:

- Ground baseline, Meta, "The Llama 3 Herd of Models" (arXiv:2407.21783, 2024), Table 5:
  54 days of pre-training on 16,384 H100s (21.2 M GPU-hours) had 148 faulty-GPU, 72 HBM3,
  19 GPU-SRAM and 17 GPU-system-processor interruptions (256, i.e. 1.2e-5 per GPU-hour)
  and 6 detected silent data corruptions (2.8e-7 per GPU-hour).
- Google, Project Suncatcher (Nov 2025): Trillium (v6e) TPUs in a 67 MeV proton beam
  showed no hard failure up to 15 krad(Si), well above a multi-year shielded LEO dose; the
  HBM was the most sensitive part (correctable and uncorrectable memory errors).
- Single-event upset rates of unhardened memory and logic in LEO are of order 10^2-10^3
  times the sea-level neutron rate (JEDEC JESD89 gives the terrestrial reference), with
  most of the orbit-averaged dose taken in the South Atlantic Anomaly, where the trapped
  proton flux is 10-100 times the orbit average.

From these: SDC 1e-4 per ACTIVE board-hour (the ground 2.8e-7 times ~300, rounded to a
decade); SEFI 1e-4 per powered board-hour (about one hang per board every 14 months); a
permanent loss 5e-6 per board-hour (about 4 % of boards a year: half the ground rate of
GPU hardware faults, since Suncatcher suggests total dose does not add much in a few
years). Each is uncertain by a factor of ten either way.

Left out: the dependence of the rates on temperature, workload and the board's state of
wear; total ionising dose as a slow drift of the part (it is folded into ``fail``);
several events per board in one tick; correlated events across boards (a single storm
affects all through ``burst_multiplier`` only); ECC-corrected errors (invisible here).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, fields
from typing import NamedTuple

import numpy as np

from sim.tables import dataclass_from_table

__all__ = [
    "LEO_TYPICAL",
    "NO_RADIATION",
    "SAA_MULTIPLIER",
    "saa_multiplier",
    "burst_multiplier",
    "RadiationClock",
    "STORM_MULTIPLIER",
    "RadiationEvents",
    "RadiationRates",
    "draw_radiation",
    "event_probability",
    "no_radiation",
]

SECONDS_PER_HOUR = 3600.0
SAA_MULTIPLIER = 10.0  # a South Atlantic Anomaly crossing, orbit-average rates x this
STORM_MULTIPLIER = 100.0  # a strong solar particle event (order of magnitude)


@dataclass(frozen=True, kw_only=True)
class RadiationRates:
    """Event rates [1/h per board], each finite and >= 0."""

    sdc_per_active_board_hour: float = 1.0e-4
    sefi_per_powered_board_hour: float = 1.0e-4
    fail_per_board_hour: float = 5.0e-6

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
                math.isfinite(value) and value >= 0.0
            ):
                raise ValueError(
                    f"RadiationRates.{f.name}: expected a finite rate >= 0 [1/h], got {value!r}"
                )

    @classmethod
    def from_dict(cls, d: dict, where: str = "radiation") -> RadiationRates:
        """Build from a TOML table; unknown keys and bad values raise ValueError naming
        ``where.key``, what was expected and what came. Missing keys take the defaults."""
        return dataclass_from_table(cls, d, where)


LEO_TYPICAL = RadiationRates()
NO_RADIATION = RadiationRates(
    sdc_per_active_board_hour=0.0, sefi_per_powered_board_hour=0.0, fail_per_board_hour=0.0
)


class RadiationEvents(NamedTuple):
    """Which boards got which event this tick: three (N,) bool arrays."""

    sdc: np.ndarray
    sefi: np.ndarray
    fail: np.ndarray


def no_radiation(count: int) -> RadiationEvents:
    """No event on any of ``count`` boards."""
    z = np.zeros(count, dtype=bool)
    return RadiationEvents(z, z.copy(), z.copy())


def event_probability(rate_per_hour: float, dt_s: float, multiplier=1.0) -> np.ndarray:
    """P(at least one event in ``dt_s`` [s]) = 1 - exp(-rate [1/h] * multiplier * dt / 3600).
    ``multiplier`` broadcasts (scalar or (N,)); the result has its shape."""
    lam = rate_per_hour * np.asarray(multiplier, dtype=float) * (dt_s / SECONDS_PER_HOUR)
    return -np.expm1(-lam)


def draw_radiation(
    rng: np.random.Generator,
    rates: RadiationRates,
    active: np.ndarray,
    powered: np.ndarray,
    dt_s: float,
    burst_multiplier=1.0,
) -> RadiationEvents:
    """Draw this tick's events for N boards.

    active, powered: (N,) bool, the boards' states at the start of the tick (see
    ``BoardBankState.active`` / ``.powered`` in sim.boards); dt_s > 0 [s];
    burst_multiplier >= 0, scalar or (N,). Always consumes exactly 3N uniforms from
    ``rng``, whatever the states and rates, so one board's state never shifts another
    board's draws and a seeded run is reproducible. Cost O(N), no Python loop over boards.
    """
    active = np.asarray(active, dtype=bool)
    powered = np.asarray(powered, dtype=bool)
    if active.shape != powered.shape or active.ndim != 1:
        raise ValueError(
            f"draw_radiation: expected active and powered of one shape (N,), "
            f"got {active.shape} and {powered.shape}"
        )
    if not dt_s > 0.0:
        raise ValueError(f"draw_radiation.dt_s: expected > 0 s, got {dt_s!r}")
    m = np.asarray(burst_multiplier, dtype=float)
    if np.any(~np.isfinite(m)) or np.any(m < 0.0):
        raise ValueError(f"draw_radiation.burst_multiplier: expected finite >= 0, got {m!r}")
    u = rng.random((3, active.size))
    return RadiationEvents(
        sdc=active & (u[0] < event_probability(rates.sdc_per_active_board_hour, dt_s, m)),
        sefi=powered & (u[1] < event_probability(rates.sefi_per_powered_board_hour, dt_s, m)),
        fail=u[2] < event_probability(rates.fail_per_board_hour, dt_s, m),
    )


class RadiationClock:
    """The same events as :func:`draw_radiation`, drawn from the bank's event times
    instead of per tick.

    Per tick, :func:`draw_radiation` costs a few numpy calls for events that come once in
    days. This clock draws the time to the next *candidate* event of the whole bank (every
    board, every kind, as if always active) by inverting the cumulative intensity: with a
    rate multiplier per tick, the intensity is piecewise constant, so the next event lies
    where the cumulative intensity passes the last one's plus an Exp(1) draw (a binary
    search in its running sum). At that tick it picks the board and the kind and keeps the
    event if the board's state allows it (SDC: active; SEFI: powered; failure: any), which
    thins the bank's process to each board's (Lewis & Shedler 1979): the events have the
    same law at the tick's resolution; the draws differ from draw_radiation's, not their
    odds. A tick that expects more than ``LOOP_CANDIDATES_MAX`` candidates (a strong burst,
    or bursts piled on one another: they multiply) is drawn per board instead, as
    draw_radiation does, so a tick costs O(boards) at any rate, never a loop per event.
    Cost: one comparison per tick without an event.
    """

    LOOP_CANDIDATES_MAX = 8.0  # expected candidates in a tick above which it is drawn per board
    MULTIPLIER_MAX = 1e12  # a multiplier is held at most here: every event is certain long before

    def __init__(self, rng: np.random.Generator, rates: RadiationRates, count: int, dt_s: float,
                 multiplier: np.ndarray | None = None) -> None:
        """``multiplier``: optional rate multiplier per tick (e.g. from :func:`saa_multiplier`
        and :func:`burst_multiplier`); past its end the last value holds."""
        self.rng = rng
        self.rates = rates
        self.count = count
        self.dt_s = dt_s
        self.multiplier = (None if multiplier is None
                           else np.minimum(np.asarray(multiplier, dtype=float), self.MULTIPLIER_MAX))
        per_board_h = (rates.sdc_per_active_board_hour + rates.sefi_per_powered_board_hour
                       + rates.fail_per_board_hour)
        self.per_tick = per_board_h * count / 3600.0 * dt_s  # expected candidates per tick at x1
        if self.multiplier is not None:  # cumulative intensity at each tick's start
            self._cum = np.r_[0.0, np.cumsum(self.per_tick * self.multiplier)]
        self.tick_index = 0
        self.next_level = self._exp()  # cumulative intensity of the next candidate
        self.next_tick = self._tick_of(self.next_level)
        self.no_events = no_radiation(count)  # returned (the same object) by a quiet tick

    def _exp(self) -> float:
        return float(self.rng.exponential(1.0))

    def _m(self, tick: int) -> float:
        if self.multiplier is None:
            return 1.0
        return float(self.multiplier[min(tick, len(self.multiplier) - 1)])

    def _cum_at(self, tick: int) -> float:
        """Cumulative intensity at the start of ``tick``."""
        if self.multiplier is None:
            return self.per_tick * tick
        n = len(self.multiplier)
        if tick <= n:
            return float(self._cum[tick])
        return float(self._cum[n]) + self.per_tick * float(self.multiplier[-1]) * (tick - n)

    def _tick_of(self, level: float) -> float:
        """The tick in which the cumulative intensity passes ``level`` (inf: never)."""
        if self.multiplier is None:
            return math.floor(level / self.per_tick) if self.per_tick > 0.0 else math.inf
        n = len(self.multiplier)
        k = int(np.searchsorted(self._cum, level, side="right")) - 1
        if k < n:
            return k
        rate = self.per_tick * float(self.multiplier[-1])
        return n + math.floor((level - float(self._cum[n])) / rate) if rate > 0.0 else math.inf

    def tick(self, active: np.ndarray, powered: np.ndarray) -> RadiationEvents:
        """Events in the tick that starts now; advances the clock by one tick."""
        tick = self.tick_index
        self.tick_index += 1
        if self.next_tick > tick:
            return self.no_events
        r = self.rates
        m = self._m(tick)
        end = self._cum_at(tick + 1)
        if self.per_tick * m > self.LOOP_CANDIDATES_MAX:  # many candidates: per board
            events = draw_radiation(self.rng, r, active, powered, self.dt_s, m)
            self.next_level = end + self._exp()
        else:
            sdc = np.zeros(self.count, bool)
            sefi = np.zeros(self.count, bool)
            fail = np.zeros(self.count, bool)
            total_h = r.sdc_per_active_board_hour + r.sefi_per_powered_board_hour + r.fail_per_board_hour
            while self.next_level < end:
                board = int(self.rng.integers(self.count))
                u = float(self.rng.random()) * total_h
                if u < r.sdc_per_active_board_hour:
                    sdc[board] |= bool(active[board])
                elif u < r.sdc_per_active_board_hour + r.sefi_per_powered_board_hour:
                    sefi[board] |= bool(powered[board])
                else:
                    fail[board] = True
                self.next_level += self._exp()
            events = RadiationEvents(sdc, sefi, fail)
        self.next_tick = self._tick_of(self.next_level)
        return events


# The South Atlantic Anomaly as a coarse box of subsatellite positions (geocentric latitude
# and longitude, degrees), where the inner belt's protons dip to LEO altitudes. The box
# follows the AP-8 flux contours at ~500 km loosely (e.g. SPENVIS maps); it ignores the
# altitude dependence and the anomaly's slow westward drift.
SAA_LAT_DEG = (-50.0, 0.0)
SAA_LON_DEG = (-90.0, 40.0)


def saa_multiplier(r_ecef_m: np.ndarray, inside: float = SAA_MULTIPLIER) -> np.ndarray:
    """Rate multiplier per sample: ``inside`` over the SAA box, 1 elsewhere.

    r_ecef_m: Earth-fixed positions [m], shape (T, 3). Returns (T,).
    """
    r = np.asarray(r_ecef_m, dtype=float)
    lat = np.degrees(np.arctan2(r[:, 2], np.hypot(r[:, 0], r[:, 1])))
    lon = np.degrees(np.arctan2(r[:, 1], r[:, 0]))
    box = ((SAA_LAT_DEG[0] <= lat) & (lat <= SAA_LAT_DEG[1])
           & (SAA_LON_DEG[0] <= lon) & (lon <= SAA_LON_DEG[1]))
    return np.where(box, inside, 1.0)


def burst_multiplier(n_ticks: int, bursts, base: np.ndarray | None = None) -> np.ndarray | None:
    """Rate multiplier per tick (n_ticks,) with planned bursts composed onto ``base``.

    bursts: (start_tick, end_tick, multiplier) triples (or records with those fields),
    each multiplying ticks start_tick <= k < end_tick (clipped to the run); overlapping
    bursts multiply. base: the multiplier without bursts, e.g. :func:`saa_multiplier`'s
    (n_ticks,), or None for 1. Returns None when there is neither a base nor a burst
    (the clock's cheapest path, and the draws of a run without bursts stay as they were).
    """
    bursts = [(int(b[0]), int(b[1]), float(b[2])) if isinstance(b, tuple)
              else (b.start_tick, b.end_tick, b.multiplier) for b in bursts]
    if not bursts:
        return base
    m = np.ones(n_ticks) if base is None else np.array(base, dtype=float)
    if m.shape != (n_ticks,):
        raise ValueError(f"burst_multiplier.base: expected shape ({n_ticks},), got {m.shape}")
    for start, end, factor in bursts:
        m[max(start, 0):max(min(end, n_ticks), 0)] *= factor
    return m
