"""Forecast of the heat the main radiator can reject, from the Stefan-Boltzmann law.

A grey radiator of area A [m^2] and emissivity eps at temperature T [K], seeing deep space
at T_sp, emits

    Q_rad(T) = eps sigma A (T^4 - T_sp^4)            [W]

In a steady state it rejects what it takes in: the heat dissipated on board (boards,
plate heaters, housekeeping electronics) plus the environment's heat (sun, albedo, Earth
IR absorbed; here the *sink* term Q_env >= 0). So the compute heat it can take at its
yellow limit is

    capacity = Q_rad(T_yellow) - Q_env - Q_housekeeping      [W], floored at 0.

Q_env is not known on board; it is estimated from the readings (:func:`fit_sink`) by an
energy balance on the radiator and what it carries, once per reading:

    Q_env ~ Q_rad(T_r) + C_r dT_r/dt + C_b d(sum T_b)/dt - P_inside

the heat the radiator emits at its measured temperature, plus the heat going into storage
(C_r: the radiator and the cold plates, lumped at the radiator's temperature; C_b: each
board, at its own), less the heat dissipated inside (boards, plate heaters, housekeeping).
The rates come from temperatures smoothed over ``rate_filter_ticks`` readings, and the
samples are smoothed over ``sink_filter_ticks`` readings, starting from the table's prior
``sink_w``; the capacity uses the estimate floored at 0 (deep space gives nothing back).
Samples are taken only with the radiator above ``sink_fit_above_c``: below it the louvers
close, its effective emissivity is far below the table's, and a sample would be wrong.

Left out (so the estimate is off while temperatures move fast, and right on average when
they move slowly): the plates' own temperature (they are lumped with the radiator), the
lag of the rate filter behind the emitted-power term, the orbit's swing of the environment
heat (the filter follows it with its own lag), louvers partly open above
``sink_fit_above_c``, and a second radiator (the battery's has its own, not forecast here).
"""

from __future__ import annotations

from dataclasses import dataclass

__all__ = [
    "SinkFit",
    "fit_sink",
    "SIGMA_W_M2_K4",
    "KELVIN_OFFSET",
    "SPACE_TEMP_K",
    "radiated_w",
    "sink_sample_w",
    "ema",
    "capacity_w",
    "capacity_at_boards_w",
]

SIGMA_W_M2_K4 = 5.670374419e-8  # Stefan-Boltzmann constant, CODATA 2018 [W/(m^2 K^4)]
KELVIN_OFFSET = 273.15  # [K]
SPACE_TEMP_K = 3.0  # effective temperature of deep space [K]


def radiated_w(temp_c: float, area_m2: float, emissivity: float) -> float:
    """Q_rad = eps sigma A (T^4 - T_sp^4) [W] for a radiator at ``temp_c`` [degC]."""
    t_k = temp_c + KELVIN_OFFSET
    return emissivity * SIGMA_W_M2_K4 * area_m2 * (t_k**4 - SPACE_TEMP_K**4)


def sink_sample_w(radiator_temp_c: float, stored_w: float, dissipated_w: float, area_m2: float,
                  emissivity: float) -> float:
    """One reading's estimate of the environment heat [W]: Q_rad(T_r) + ``stored_w`` (heat
    going into storage) - ``dissipated_w`` (every heat source inside, housekeeping included).
    Not floored: a noisy sample may be negative; the filtered estimate is floored where used."""
    return radiated_w(radiator_temp_c, area_m2, emissivity) + stored_w - dissipated_w


def ema(estimate: float, sample: float, filter_ticks: int) -> float:
    """Exponential filter: move ``1/filter_ticks`` of the way towards the sample."""
    return estimate + (sample - estimate) / filter_ticks


@dataclass(frozen=True)
class SinkFit:
    """The sink estimate and what it needs from the last reading.

    sink_w: filtered estimate [W] (may dip below 0 on noise); radiator_c, boards_c: the
    radiator temperature and the sum of board temperatures, smoothed [degC]; t_ns: the last
    reading's time (None: no reading yet)."""

    sink_w: float
    radiator_c: float | None = None
    boards_c: float | None = None
    t_ns: int | None = None


def fit_sink(fit: SinkFit, t_ns: int | None, radiator_c: float, board_temps_c: list[float] | tuple,
             inside_w: float, *, area_m2: float, emissivity: float, radiator_j_per_k: float,
             board_j_per_k: float, rate_filter_ticks: int, sink_filter_ticks: int,
             fit_above_c: float) -> SinkFit:
    """The fit after one more reading (see the module docstring). ``t_ns`` None, or no
    earlier reading: the temperatures are filtered but no sample is taken."""
    boards_c = float(sum(board_temps_c))
    if fit.radiator_c is None or fit.boards_c is None or fit.t_ns is None or t_ns is None:
        return SinkFit(fit.sink_w, radiator_c, boards_c, t_ns)
    rf = ema(fit.radiator_c, radiator_c, rate_filter_ticks)
    bf = ema(fit.boards_c, boards_c, rate_filter_ticks)
    dt_s = (t_ns - fit.t_ns) / 1e9
    sink_w = fit.sink_w
    if dt_s > 0.0 and radiator_c > fit_above_c:
        stored_w = (radiator_j_per_k * (rf - fit.radiator_c) + board_j_per_k * (bf - fit.boards_c)) / dt_s
        sample = sink_sample_w(radiator_c, stored_w, inside_w, area_m2, emissivity)
        sink_w = ema(sink_w, sample, sink_filter_ticks)
    return SinkFit(sink_w, rf, bf, t_ns)


def capacity_w(yellow_hi_c: float, area_m2: float, emissivity: float, sink_w: float,
               housekeeping_w: float) -> float:
    """Compute heat [W] the radiator can reject at its yellow limit: Q_rad(T_yellow)
    - sink (floored at 0) - housekeeping, floored at 0."""
    return max(0.0, radiated_w(yellow_hi_c, area_m2, emissivity) - max(sink_w, 0.0) - housekeeping_w)


def capacity_at_boards_w(board_yellow_c: float, area_m2: float, emissivity: float, sink_w: float,
                         housekeeping_w: float, drop_k_per_w: float, max_w: float) -> float:
    """Compute heat C [W] the radiator can reject with the boards at their yellow limit: the
    heat runs down the board-to-plate and plate-to-radiator conductances, so the radiator
    sits ``drop_k_per_w`` x C below the boards (the boards sharing C evenly), and

        C = Q_rad(T_board_yellow - drop x C) - sink - housekeeping

    (decreasing in C on the right, increasing on the left: one root, by bisection), floored
    at 0 and at most ``max_w``. Where the boards run below full power this is more than
    the forecast at a fixed radiator limit set for full-power boards; at full power, less."""
    sink = max(sink_w, 0.0)

    def excess(c_w: float) -> float:
        return radiated_w(board_yellow_c - drop_k_per_w * c_w, area_m2, emissivity) - sink - housekeeping_w - c_w

    if excess(0.0) <= 0.0:
        return 0.0
    if excess(max_w) >= 0.0:
        return max_w
    lo, hi = 0.0, max_w
    for _ in range(50):
        mid = 0.5 * (lo + hi)
        if excess(mid) >= 0.0:
            lo = mid
        else:
            hi = mid
    return lo
