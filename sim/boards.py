"""GPU boards: power caps, throughput with diminishing returns, and (the bank model) the
boards' power states, boot, hangs, failures and thermal protection.

Two models live here.

1. The simple stateless model (``BoardParams``, ``throughput_frac``, ``board_power_w``,
   ``work_gpu_s``): a board is on when its cap > 0 and busy boards run at their cap.

2. The board bank (``BoardBankParams``, ``BoardBankState``, ``step_boards``): N boards as
   numpy arrays, each in one of the states

       OFF -> BOOTING -> IDLE <-> ACTIVE          (power switch on, cap > 0)
       any powered state -> HUNG                   (a SEFI; draws power, does no work)
       any state -> FAILED                         (permanent)
       any state but FAILED -> OFF                 (power switch off, or thermal shutdown)

   A power cycle (switch off for a tick, then on) clears HUNG and a thermal-shutdown latch.

Throughput curve (both models). A busy board at cap c in [min_power_w, max_power_w] runs at

    throughput_frac = (c / max_power_w) ** throughput_exponent        (0 < exponent <= 1)

concave, so work per joule falls as the cap rises. For H100-class boards
(:data:`H100_THROUGHPUT_EXPONENT` = 0.48) the exponent is a least-squares fit, in log-log
and through (1, 1), to these published points (power as a fraction of the board limit,
throughput as a fraction of the throughput at the limit):

    power  throughput  source
    0.808  0.936       McDonald et al. 2022, "Great Power, Great Responsibility" (MIT LL,
                       arXiv:2205.09646): V100 language-model training capped 250 -> 150 W
                       took 6.8 % longer and 13.7 % less energy; throughput 1/1.068, mean
                       draw 0.863/1.068 of the uncapped draw
    0.857  0.935       H100 SXM 700 -> 600 W, memory-bound LLM inference: 5-8 % slower
                       (midpoint; factryze.ai "Power capping" glossary, a secondary source)
    0.857  0.875       H100 SXM 700 -> 600 W, transformer pre-training: 10-15 % slower
                       (midpoint; factryze.ai "Power capping" scale atlas, secondary)

Fit: exponent 0.484, rounded to 0.48; the 0.48 curve's residuals are -0.034, -0.006
and +0.054 of full speed (rms 0.037, max 0.054 <= :data:`H100_FIT_MAX_ERROR`). The
spread is mostly between workloads (compute-bound training loses more to a cap than
memory-bound inference), so the curve is a middle, not a law. Cross-check from DVFS
physics: dynamic power ~ f V^2 with V roughly proportional to f gives P_dyn ~ f^3; with a
static/memory share s of the board limit the local exponent d ln f / d ln P is
1 / (3 (1 - s)) = 0.48 for s = 0.3.
Below 600 W the curve is an extrapolation (at 200 W it gives 0.55 of full speed).

Board limits of an H100 SXM (``nvidia-smi -q`` on H100/H800 SXM boards): power limit
range 200-700 W (700 W is the SXM5 TDP in NVIDIA's H100 datasheet), idle draw about
75 W; GPU Max Operating Temp 87 degC, Slowdown Temp 89 degC, Shutdown Temp 92 degC.
Thermal model of the bank, on the board temperature at the start of each tick:

- below ``max_operating_c``: full clocks (clock fraction r = 1);
- from ``max_operating_c`` to ``slowdown_c``: software thermal slowdown, r falls linearly
  from 1 to ``slowdown_clock_frac`` (the real driver runs a feedback loop; a ramp is the
  steady-state picture);
- from ``slowdown_c``: hardware slowdown, r = ``slowdown_clock_frac`` (NVML: "HW Slowdown
  (reducing the core clocks by a factor of 2 or more)", so 0.5 by default);
- at or above ``shutdown_c``: the board turns itself off and latches off until it is
  power-cycled (an H100 past its shutdown temperature needs a reset to come back).

A throttled busy board does r * (c / max)^a of work and draws max(c * r^(1/a),
idle_power_w): the point on the same curve at clock fraction r (the idle floor is static
power the clocks cannot remove). A board must not be powered on below ``cold_limit_c``:
its power-on is refused (it stays OFF and the refusal is counted) until it warms up.
A power-on at or above ``shutdown_c`` is refused too (not counted).

Boot: OFF -> BOOTING takes ``boot_s`` seconds at ``boot_power_w``, then the board is IDLE
or ACTIVE for the rest of that tick; ``power_w`` is each tick's mean power, so a boot
costs exactly boot_s * boot_power_w joules and boot_s seconds whatever the tick length.

Left out: workload dependence of the curve and of the power a busy board draws below its
cap (memory-bound work draws less than the cap); temperature dependence of leakage
power; memory-temperature limits; clock-change and power-on transients shorter than a
tick; partial hangs (one engine down, the rest working); damage from a cold power-on (it
is refused instead); the time a thermal shutdown takes.
"""

import math
from dataclasses import dataclass, fields, replace

import numpy as np

from sim.radiation import RadiationEvents
from sim.tables import dataclass_from_table

__all__ = [
    "ACTIVE",
    "BOOTING",
    "FAILED",
    "H100_FIT_MAX_ERROR",
    "H100_POWER_PERF_POINTS",
    "H100_THROUGHPUT_EXPONENT",
    "HUNG",
    "IDLE",
    "OFF",
    "STATE_NAMES",
    "BoardBankParams",
    "BoardBankState",
    "BoardParams",
    "board_power_w",
    "clock_fraction",
    "fit_throughput_exponent",
    "step_boards",
    "throughput_frac",
    "work_gpu_s",
]

# Published (power fraction, throughput fraction) points for H100-class boards; see the
# module docstring for where each comes from.
H100_POWER_PERF_POINTS: tuple[tuple[float, float], ...] = (
    (0.863 / 1.068, 1.0 / 1.068),  # McDonald et al. 2022, V100 training at 150/250 W
    (600.0 / 700.0, 1.0 - 0.065),  # H100 at 600/700 W, memory-bound inference
    (600.0 / 700.0, 1.0 - 0.125),  # H100 at 600/700 W, transformer pre-training
)
H100_THROUGHPUT_EXPONENT = 0.48  # fit_throughput_exponent(H100_POWER_PERF_POINTS), rounded
H100_FIT_MAX_ERROR = 0.055  # max |curve - point| of that fit [fraction of full speed]


def fit_throughput_exponent(points) -> tuple[float, float]:
    """Least-squares exponent a of y = x^a through (1, 1), fitted in log-log to
    ``points`` ((power_frac, throughput_frac) pairs, each in (0, 1]); returns (a, max
    absolute residual in y). Raises ValueError if no point has power_frac < 1."""
    x = np.array([p[0] for p in points], dtype=float)
    y = np.array([p[1] for p in points], dtype=float)
    if x.size == 0 or np.any(~(x > 0.0) | (x > 1.0)) or np.any(~(y > 0.0) | (y > 1.0)):
        raise ValueError(f"fit_throughput_exponent: expected (x, y) pairs in (0, 1], got {points!r}")
    lx, ly = np.log(x), np.log(y)
    den = float(np.dot(lx, lx))
    if den == 0.0:
        raise ValueError("fit_throughput_exponent: expected a point with power_frac < 1")
    a = float(np.dot(lx, ly)) / den
    return a, float(np.max(np.abs(x**a - y)))


@dataclass(frozen=True)
class BoardParams:
    """count >= 1; 0 < min_power_w <= max_power_w [W]; 0 <= idle_power_w < min_power_w [W];
    0 < throughput_exponent <= 1."""

    count: int
    max_power_w: float
    min_power_w: float
    idle_power_w: float
    throughput_exponent: float = 0.6

    def __post_init__(self) -> None:
        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise ValueError(f"BoardParams.count: expected an int >= 1, got {self.count!r}")
        if not (math.isfinite(self.max_power_w) and 0.0 < self.min_power_w <= self.max_power_w):
            raise ValueError(
                f"BoardParams.min_power_w/max_power_w: expected 0 < min_power_w <= "
                f"max_power_w, got min_power_w={self.min_power_w!r}, "
                f"max_power_w={self.max_power_w!r}"
            )
        if not 0.0 <= self.idle_power_w < self.min_power_w:
            raise ValueError(
                f"BoardParams.idle_power_w: expected 0 <= idle_power_w < min_power_w "
                f"({self.min_power_w}), got {self.idle_power_w!r}"
            )
        if not 0.0 < self.throughput_exponent <= 1.0:
            raise ValueError(
                f"BoardParams.throughput_exponent: expected in (0, 1], "
                f"got {self.throughput_exponent!r}"
            )


def _effective_cap_w(power_cap_w: np.ndarray, p: BoardParams) -> np.ndarray:
    """Cap the board actually runs at [W]: clipped to [min, max]; 0 where the board is off."""
    cap_w = np.asarray(power_cap_w, dtype=float)
    return np.where(cap_w > 0.0, np.clip(cap_w, p.min_power_w, p.max_power_w), 0.0)


def throughput_frac(power_cap_w: np.ndarray, p: BoardParams) -> np.ndarray:
    """Fraction of full speed [0..1] of a busy board at ``power_cap_w`` [W], same shape.

    (clip(cap, min, max) / max)^exponent for cap > 0 (a cap below min_power_w is raised
    to it by the board); 0 for cap <= 0 (off).
    """
    cap_w = _effective_cap_w(power_cap_w, p)
    return (cap_w / p.max_power_w) ** p.throughput_exponent


def board_power_w(power_cap_w: np.ndarray, busy: np.ndarray, p: BoardParams) -> np.ndarray:
    """Electrical power [W] drawn by each board, broadcast shape of the inputs.

    Busy: the cap clipped to [min_power_w, max_power_w]. On and idle: idle_power_w.
    Off (cap <= 0): 0 W whether or not ``busy`` is set.
    """
    cap_w = _effective_cap_w(power_cap_w, p)
    return np.where(cap_w > 0.0, np.where(busy, cap_w, p.idle_power_w), 0.0)


def work_gpu_s(
    power_cap_w: np.ndarray, busy: np.ndarray, dt_s: float, p: BoardParams
) -> np.ndarray:
    """Work done [GPU-seconds at full speed] by each board in ``dt_s`` [s]: throughput * dt
    for busy boards, 0 for idle or off ones. Broadcast shape of the inputs."""
    return np.where(busy, throughput_frac(power_cap_w, p) * dt_s, 0.0)


# ------------------------------------------------------------------------ the board bank

OFF, BOOTING, IDLE, ACTIVE, HUNG, FAILED = range(6)
STATE_NAMES = ("OFF", "BOOTING", "IDLE", "ACTIVE", "HUNG", "FAILED")
_POWERED = np.array([False, True, True, True, True, False])  # indexed by state code
# lookups indexed by state code, for the steady step (one fancy index beats three compares)
_RUNNING = np.array([False, False, True, True, False, False])  # IDLE or ACTIVE
_UNSTEADY = np.array([False, True, False, False, True, True])  # not OFF, IDLE or ACTIVE
_IDLE_OR_OFF = np.array([OFF, OFF, IDLE, IDLE, OFF, OFF], dtype=np.int8)  # running -> IDLE
assert ACTIVE == IDLE + 1  # the steady step's new code: IDLE + working


@dataclass(frozen=True, kw_only=True)
class BoardBankParams:
    """A bank of identical boards. Defaults: an H100 SXM-class 700 W board (see the module
    docstring for sources; boot and hung figures are engineering assumptions).

    count >= 1; 0 < min_power_w <= max_power_w [W]; 0 <= idle_power_w < min_power_w [W];
    0 <= boot_power_w <= max_power_w [W]; boot_s >= 0 [s]; 0 <= hung_power_w <= max_power_w
    [W]; 0 < throughput_exponent <= 1; cold_limit_c < max_operating_c < slowdown_c <
    shutdown_c [degC]; 0 < slowdown_clock_frac <= 1.
    """

    count: int
    max_power_w: float = 700.0
    min_power_w: float = 200.0
    idle_power_w: float = 75.0
    boot_power_w: float = 150.0  # assumption: host and GPU initialising, above idle
    boot_s: float = 60.0  # assumption: power-on, firmware, driver and runtime start
    hung_power_w: float = 100.0  # assumption: clocks stuck, no useful work
    throughput_exponent: float = H100_THROUGHPUT_EXPONENT
    max_operating_c: float = 87.0
    slowdown_c: float = 89.0
    shutdown_c: float = 92.0
    cold_limit_c: float = 0.0  # assumption: commercial-grade parts, 0 degC minimum
    slowdown_clock_frac: float = 0.5

    def __post_init__(self) -> None:
        def bad(name: str, expected: str) -> ValueError:
            return ValueError(
                f"BoardBankParams.{name}: expected {expected}, got {getattr(self, name)!r}"
            )

        if isinstance(self.count, bool) or not isinstance(self.count, int) or self.count < 1:
            raise bad("count", "an int >= 1")
        for f in fields(self):
            v = getattr(self, f.name)
            if f.name != "count" and (
                isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v)
            ):
                raise bad(f.name, "a finite number")
        if not 0.0 < self.max_power_w:
            raise bad("max_power_w", "> 0 W")
        if not 0.0 < self.min_power_w <= self.max_power_w:
            raise bad("min_power_w", f"0 < min_power_w <= max_power_w ({self.max_power_w} W)")
        if not 0.0 <= self.idle_power_w < self.min_power_w:
            raise bad("idle_power_w", f"0 <= idle_power_w < min_power_w ({self.min_power_w} W)")
        for name in ("boot_power_w", "hung_power_w"):
            if not 0.0 <= getattr(self, name) <= self.max_power_w:
                raise bad(name, f"0 <= {name} <= max_power_w ({self.max_power_w} W)")
        if not self.boot_s >= 0.0:
            raise bad("boot_s", ">= 0 s")
        if not 0.0 < self.throughput_exponent <= 1.0:
            raise bad("throughput_exponent", "in (0, 1]")
        if not self.cold_limit_c < self.max_operating_c:
            raise bad("cold_limit_c", f"< max_operating_c ({self.max_operating_c} degC)")
        if not self.max_operating_c < self.slowdown_c:
            raise bad("slowdown_c", f"> max_operating_c ({self.max_operating_c} degC)")
        if not self.slowdown_c < self.shutdown_c:
            raise bad("shutdown_c", f"> slowdown_c ({self.slowdown_c} degC)")
        if not 0.0 < self.slowdown_clock_frac <= 1.0:
            raise bad("slowdown_clock_frac", "in (0, 1]")

    @classmethod
    def from_dict(cls, d: dict, where: str = "boards") -> "BoardBankParams":
        """Build from a TOML table (missing keys take the defaults); unknown keys and bad
        values raise ValueError naming ``where.key``, what was expected and what came."""
        return dataclass_from_table(cls, d, where)


@dataclass(frozen=True)
class BoardBankState:
    """The bank's state: (N,) arrays, replaced (never mutated) by :func:`step_boards`.

    code: state codes (OFF..FAILED) [int8]; boot_remaining_s: boot time still to run [s],
    0 unless BOOTING; latched_off: switched off by a thermal shutdown, cleared by a power
    cycle; clock_frac: clock fraction the board ran at last tick (1 full, < 1 throttled,
    0 not running). Counters [int64]: boots (boots started), hangs (SEFIs that hung the
    board), thermal_shutdowns, cold_refusals (ticks in which a power-on was refused
    because the board was below cold_limit_c).
    """

    code: np.ndarray
    boot_remaining_s: np.ndarray
    latched_off: np.ndarray
    clock_frac: np.ndarray
    boots: np.ndarray
    hangs: np.ndarray
    thermal_shutdowns: np.ndarray
    cold_refusals: np.ndarray

    @classmethod
    def initial(cls, count: int, code: int = OFF) -> "BoardBankState":
        """``count`` boards all in state ``code`` (OFF, IDLE or FAILED: a bank cannot start
        mid-boot, busy or hung), counters at zero."""
        if code not in (OFF, IDLE, FAILED):
            raise ValueError(f"BoardBankState.initial.code: expected OFF, IDLE or FAILED, got {code!r}")
        z = np.zeros(count, dtype=np.int64)
        return cls(
            code=np.full(count, code, dtype=np.int8),
            boot_remaining_s=np.zeros(count),
            latched_off=np.zeros(count, dtype=bool),
            clock_frac=np.zeros(count),
            boots=z,
            hangs=z.copy(),
            thermal_shutdowns=z.copy(),
            cold_refusals=z.copy(),
        )

    @property
    def powered(self) -> np.ndarray:
        """(N,) bool: BOOTING, IDLE, ACTIVE or HUNG (exposed to SEFIs)."""
        return _POWERED[self.code]

    @property
    def active(self) -> np.ndarray:
        """(N,) bool: ACTIVE (doing work: exposed to silent data corruption)."""
        return self.code == ACTIVE

    def names(self) -> list[str]:
        """State names per board, for reports and tests (not for the per-tick path)."""
        return [STATE_NAMES[c] for c in self.code.tolist()]


def clock_fraction(temp_c: np.ndarray, p: BoardBankParams) -> np.ndarray:
    """Clock fraction [0..1] the thermal protection allows at ``temp_c`` [degC], same shape:
    1 below max_operating_c, a linear ramp to slowdown_clock_frac at slowdown_c, then
    slowdown_clock_frac (the board is off from shutdown_c, which the caller handles)."""
    t = np.asarray(temp_c, dtype=float)
    ramp = np.clip((t - p.max_operating_c) / (p.slowdown_c - p.max_operating_c), 0.0, 1.0)
    return 1.0 - ramp * (1.0 - p.slowdown_clock_frac)


def _vector(x, n: int, dtype, name: str) -> np.ndarray:
    a = np.asarray(x, dtype=dtype)
    if a.shape == (n,):
        return a
    if a.shape != ():
        raise ValueError(f"step_boards.{name}: expected shape ({n},) or a scalar, got {a.shape}")
    return np.full(n, a)


def step_boards(
    state: BoardBankState,
    params: BoardBankParams,
    cmd_cap_w,
    cmd_on,
    busy,
    temp_c,
    dt_s: float,
    faults: RadiationEvents | None = None,
) -> tuple[BoardBankState, np.ndarray, np.ndarray]:
    """Advance the bank by one tick of ``dt_s`` [s] > 0.

    Inputs, each (N,) or a scalar: cmd_cap_w [W] the power cap (<= 0 switches the board
    off; otherwise clipped to [min_power_w, max_power_w]); cmd_on [bool] the power switch
    (off switches the board off); busy [bool] whether a job is assigned; temp_c [degC] the
    board temperature at the start of the tick; faults: this tick's radiation events (its
    ``sefi`` hangs powered boards, its ``fail`` kills boards; ``sdc`` is the world's
    business), or None for none.

    Everything that happens in a tick happens at its start: a SEFI hangs the board for
    the whole tick, a failure kills it for the whole tick, a thermal shutdown or switch-off
    turns it off for the whole tick; a boot started this tick consumes min(boot_s, dt_s)
    of it. Returns (new state, power_w (N,) [W] mean over the tick, work_gpu_s (N,)
    [GPU-seconds at full speed]). Pure; cost O(N), no Python loop over boards.
    """
    n = params.count
    if state.code.shape != (n,):
        raise ValueError(f"step_boards.state: expected {n} boards, got {state.code.shape}")
    if not dt_s > 0.0:
        raise ValueError(f"step_boards.dt_s: expected > 0 s, got {dt_s!r}")
    cap = _vector(cmd_cap_w, n, float, "cmd_cap_w")
    switch = _vector(cmd_on, n, bool, "cmd_on") & (cap > 0.0)
    busy = _vector(busy, n, bool, "busy")
    temp = _vector(temp_c, n, float, "temp_c")
    steady = _steady_step(state, params, cap, switch, busy, temp, dt_s, faults)
    if steady is not None:
        return steady
    return _general_step(state, params, cap, switch, busy, temp, dt_s, faults)


def _steady_step(state, params, cap, switch, busy, temp, dt_s, faults):
    """The common tick, in a third of the numpy calls: every board OFF, IDLE or ACTIVE and
    staying so (no switch-on, no switch-off), none latched, all below max_operating_c, no
    fault. Returns None when any of that does not hold (the general step then runs).
    tests/sim/test_boards.py checks it equals the general step wherever it applies."""
    # np.count_nonzero(x) is x.any() at a quarter of the call cost (a per-tick path)
    code = state.code
    if faults is not None and (np.count_nonzero(faults.sefi) or np.count_nonzero(faults.fail)):
        return None
    if (np.count_nonzero(_UNSTEADY[code]) or np.count_nonzero(state.latched_off)
            or temp.max() >= params.max_operating_c):
        return None
    running = _RUNNING[code]
    if np.count_nonzero(switch != running):
        return None
    working = running & busy
    # np.clip's wrapper costs more than the two ufuncs it runs; same values
    cap_eff = np.minimum(np.maximum(cap, params.min_power_w), params.max_power_w)
    power = np.where(working, cap_eff, np.where(running, params.idle_power_w, 0.0))
    work = np.where(working, (cap_eff / params.max_power_w) ** params.throughput_exponent * dt_s, 0.0)
    new_code = _IDLE_OR_OFF[code] + working  # int8: ACTIVE working, IDLE running, else OFF
    new_state = BoardBankState(
        code=new_code, boot_remaining_s=np.zeros(code.shape),
        latched_off=np.zeros(code.shape, bool), clock_frac=running.astype(float),
        boots=state.boots, hangs=state.hangs, thermal_shutdowns=state.thermal_shutdowns,
        cold_refusals=state.cold_refusals)
    return new_state, power, work


def _general_step(state, params, cap, switch, busy, temp, dt_s, faults):
    n = params.count
    sefi = np.zeros(n, bool) if faults is None else _vector(faults.sefi, n, bool, "faults.sefi")
    fail = np.zeros(n, bool) if faults is None else _vector(faults.fail, n, bool, "faults.fail")
    code = state.code

    failed = (code == FAILED) | fail
    alive_on = switch & ~failed
    was_powered = _POWERED[code] & alive_on
    shutdown = was_powered & (temp >= params.shutdown_c)
    stays_powered = was_powered & ~shutdown
    latched = (state.latched_off & switch) | shutdown
    hang_new = stays_powered & sefi & (code != HUNG)
    hung = stays_powered & ((code == HUNG) | hang_new)

    want_on = (code == OFF) & alive_on & ~latched
    too_cold = want_on & (temp < params.cold_limit_c)
    start_boot = want_on & ~too_cold & (temp < params.shutdown_c)
    boot_rem = np.where(start_boot, params.boot_s, state.boot_remaining_s)
    booting = (start_boot | (stays_powered & (code == BOOTING))) & ~hung
    t_boot_s = np.where(booting, np.minimum(boot_rem, dt_s), 0.0)
    boot_left_s = np.where(booting, boot_rem - t_boot_s, 0.0)
    still_booting = booting & (boot_left_s > 0.0)
    running = (booting & ~still_booting) | (
        stays_powered & ~hung & ((code == IDLE) | (code == ACTIVE))
    )
    working = running & busy
    t_run_s = np.where(running, dt_s - t_boot_s, 0.0)

    a = params.throughput_exponent
    r = np.where(running, clock_fraction(temp, params), 0.0)
    cap_eff = np.clip(cap, params.min_power_w, params.max_power_w)
    busy_power_w = np.maximum(cap_eff * r ** (1.0 / a), params.idle_power_w)
    run_power_w = np.where(working, busy_power_w, params.idle_power_w)
    energy_j = (
        t_boot_s * params.boot_power_w
        + t_run_s * np.where(running, run_power_w, 0.0)
        + np.where(hung, dt_s * params.hung_power_w, 0.0)
    )
    work = np.where(working, r * (cap_eff / params.max_power_w) ** a * t_run_s, 0.0)

    new_code = np.full(n, OFF, dtype=np.int8)
    new_code[still_booting] = BOOTING
    new_code[running] = IDLE
    new_code[working] = ACTIVE
    new_code[hung] = HUNG
    new_code[failed] = FAILED
    new_state = replace(
        state,
        code=new_code,
        boot_remaining_s=boot_left_s,
        latched_off=latched & ~failed,
        clock_frac=r,
        boots=state.boots + start_boot,
        hangs=state.hangs + hang_new,
        thermal_shutdowns=state.thermal_shutdowns + shutdown,
        cold_refusals=state.cold_refusals + too_cold,
    )
    return new_state, energy_j / dt_s, work
