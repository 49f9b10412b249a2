"""Lumped thermal network: boards on cold plates, plates on radiators, and the battery.

Nodes (temperatures T in kelvin inside, degC at the interface):

    board k  (N)   C_b dT_k/dt = P_k - G_b (T_k - T_p(k))
    plate j  (P)   C_p dT_j/dt = H_j + sum_{k on j} G_b (T_k - T_j) - G_pr (T_j - T_r(j))
    battery  (1)   C_B dT_B/dt = Q_B + H_B - G_B (T_B - T_r(B))
    radiator i (R) C_r,i dT_i/dt = Q_abs,i + sum_{j on i} G_pr (T_j - T_i)
                                  + [i = r(B)] G_B (T_B - T_i) - eps_i sigma A_i (T_i^4 - T_sp^4)

Board k sits on plate k // boards_per_plate; each plate drains to one radiator (heat pipes
or a pumped loop, lumped as the conductance G_pr); the battery drains to one radiator
(often a small one of its own). P_k is board dissipation, H_j and H_B heater power
(``sim.heaters``), Q_B the battery's own losses (``sim.battery``), Q_abs the heat each
radiator absorbs from the environment (``sim.environment_flux``) plus any other heat the
caller parks there (housekeeping electronics), eps_i the radiator's effective emissivity
this step (``sim.louvers``). The radiative law is Stefan-Boltzmann for a grey plate seeing
deep space at T_sp (``SPACE_TEMP_K``).

Integration is backward (implicit) Euler, solved exactly: the network is a tree, so the
linear board, plate and battery equations are eliminated into one scalar equation per
radiator, lin_coef T + eps sigma A T^4 = lin_const, which is increasing and convex in T and
is solved by Newton's method (monotone convergence after the first step). Backward
Euler is unconditionally stable and L-stable (stiff modes are damped, never oscillate), so
any dt_s works, 1 s included, for any heat capacities; its truncation error is first order,
about dt / (2 tau) of a transient with time constant tau (0.8 % at 1 s with the 60 s board
time constant of the suggested parameters). Energy is conserved to Newton's tolerance: over
a step the stored energy changes by dt (sum P + sum H + Q_B + sum Q_abs - radiated), the
radiated power being evaluated at the END of the step (``radiated_w(new_state, eps)``).
Cost per step is O(N + P + R): one pass over the boards, bincounts to plates and radiators.

Left out: conduction between boards, between plates and between radiators; radiation
between internal nodes; the temperature gradient along a radiator (fin efficiency: the
radiator is isothermal) and heat-pipe limits (capillary, sonic, freezing); temperature-
dependent heat capacities and conductances; heat the radiator receives from the
satellite's own panels; a structure node (housekeeping heat must be parked on a radiator
via absorbed_w, as ``sim.world`` does today).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

import numpy as np

from sim.constants import KELVIN_OFFSET, SIGMA_W_M2_K4, SPACE_TEMP_K

__all__ = ["ThermalNetwork", "ThermalNetworkParams", "ThermalNetworkState"]

NEWTON_TOLERANCE_K = 1e-9  # radiator temperature change at which Newton stops [K]
NEWTON_MAX_ITERATIONS = 60  # quadratic convergence needs < 10 from any start in practice


@dataclass(frozen=True, kw_only=True)
class ThermalNetworkParams:
    """Topology and lumped values of the network. Per-radiator fields take a number (same
    for every radiator) or a sequence of length R = len(radiator_area_m2).

    n_boards: N >= 1. boards_per_plate: >= 1; the last plate may hold fewer boards.
    radiator_area_m2 [m^2] > 0: one radiating face per radiator; R = its length (a number
    means one radiator). radiator_of_plate: radiator index of each plate, length P; None
    puts every plate on radiator 0. battery_radiator: radiator index of the battery.
    Heat capacities [J/K] > 0 and conductances [W/K] > 0 as named. space_temp_k [K] >= 0.

    The defaults are engineering estimates for 700 W boards, not datasheet values: a board
    6000 J/K (as ``sim.thermal``); board to plate 100 W/K (7 K rise at 700 W); a plate
    5000 J/K (~5.5 kg of aluminium at 900 J/(kg K)); plate to radiator 400 W/K (7 K rise at
    4 x 700 W through heat pipes); a radiator 1.5e5 J/K (14 m^2 at ~12 kg/m^2 of panel,
    heat pipes and fluid); the battery 5e4 J/K (a 6 kWh pack of ~50 kg at ~1000 J/(kg K))
    and 20 W/K to its radiator.
    """

    n_boards: int
    radiator_area_m2: float | tuple[float, ...]
    boards_per_plate: int = 4
    radiator_of_plate: tuple[int, ...] | None = None
    battery_radiator: int = 0
    board_heat_capacity_j_per_k: float = 6000.0
    board_to_plate_w_per_k: float = 100.0
    plate_heat_capacity_j_per_k: float = 5000.0
    plate_to_radiator_w_per_k: float = 400.0
    radiator_heat_capacity_j_per_k: float | tuple[float, ...] = 1.5e5
    battery_heat_capacity_j_per_k: float = 5.0e4
    battery_to_radiator_w_per_k: float = 20.0
    space_temp_k: float = SPACE_TEMP_K

    def __post_init__(self) -> None:
        for name in ("n_boards", "boards_per_plate"):
            value = getattr(self, name)
            if not (isinstance(value, int) and value >= 1):
                raise ValueError(f"ThermalNetworkParams.{name}: expected an int >= 1, got {value!r}")
        areas = _as_tuple(self.radiator_area_m2)
        object.__setattr__(self, "radiator_area_m2", areas)
        n_rad = len(areas)
        if n_rad == 0:
            raise ValueError("ThermalNetworkParams.radiator_area_m2: expected >= 1 radiator, got none")
        caps = _as_tuple(self.radiator_heat_capacity_j_per_k)
        if len(caps) == 1:
            caps = caps * n_rad
        if len(caps) != n_rad:
            raise ValueError(
                f"ThermalNetworkParams.radiator_heat_capacity_j_per_k: expected 1 or {n_rad} "
                f"values (one per radiator), got {len(caps)}"
            )
        object.__setattr__(self, "radiator_heat_capacity_j_per_k", caps)
        for name in ("radiator_area_m2", "radiator_heat_capacity_j_per_k"):
            for value in getattr(self, name):
                _check_positive(name, value)
        for name in ("board_heat_capacity_j_per_k", "board_to_plate_w_per_k",
                     "plate_heat_capacity_j_per_k", "plate_to_radiator_w_per_k",
                     "battery_heat_capacity_j_per_k", "battery_to_radiator_w_per_k"):
            _check_positive(name, getattr(self, name))
        if not (math.isfinite(self.space_temp_k) and self.space_temp_k >= 0.0):
            raise ValueError(
                f"ThermalNetworkParams.space_temp_k: expected >= 0, got {self.space_temp_k!r}"
            )
        n_plates = self.n_plates
        if self.radiator_of_plate is not None:
            rop = tuple(self.radiator_of_plate)
            if len(rop) != n_plates or not all(isinstance(i, int) and 0 <= i < n_rad for i in rop):
                raise ValueError(
                    f"ThermalNetworkParams.radiator_of_plate: expected {n_plates} radiator "
                    f"indices in [0, {n_rad}), got {self.radiator_of_plate!r}"
                )
            object.__setattr__(self, "radiator_of_plate", rop)
        if not (isinstance(self.battery_radiator, int) and 0 <= self.battery_radiator < n_rad):
            raise ValueError(
                f"ThermalNetworkParams.battery_radiator: expected an index in [0, {n_rad}), "
                f"got {self.battery_radiator!r}"
            )

    @property
    def n_plates(self) -> int:
        """P = ceil(N / boards_per_plate)."""
        return -(-self.n_boards // self.boards_per_plate)

    @property
    def n_radiators(self) -> int:
        """R = number of radiators."""
        return len(self.radiator_area_m2)


@dataclass(frozen=True)
class ThermalNetworkState:
    """Node temperatures [degC]: boards (N,), plates (P,), radiators (R,), battery (float).

    Treat the arrays as immutable: ``ThermalNetwork.step`` returns new ones.
    """

    board_temp_c: np.ndarray
    plate_temp_c: np.ndarray
    radiator_temp_c: np.ndarray
    battery_temp_c: float


class ThermalNetwork:
    """The network's fixed structure, precomputed once; ``step`` is a pure function of its
    arguments (this object holds no state that changes)."""

    def __init__(self, p: ThermalNetworkParams) -> None:
        self.params = p
        n, n_p, n_r = p.n_boards, p.n_plates, p.n_radiators
        self.plate_of_board = np.arange(n) // p.boards_per_plate
        self.boards_on_plate = np.bincount(self.plate_of_board, minlength=n_p).astype(float)
        rop = p.radiator_of_plate if p.radiator_of_plate is not None else (0,) * n_p
        self.radiator_of_plate = np.asarray(rop, dtype=np.intp)
        self.radiator_area_m2 = np.asarray(p.radiator_area_m2, dtype=float)
        self.radiator_heat_capacity_j_per_k = np.asarray(p.radiator_heat_capacity_j_per_k,
                                                         dtype=float)
        self._battery_onehot = np.zeros(n_r)
        self._battery_onehot[p.battery_radiator] = 1.0
        self._space_k4 = p.space_temp_k**4
        self._const_cache: dict[float, dict] = {}

    # ------------------------------------------------------------------ helpers
    def initial_state(self, temp_c: float) -> ThermalNetworkState:
        """Every node at ``temp_c`` [degC]."""
        p = self.params
        return ThermalNetworkState(np.full(p.n_boards, float(temp_c)),
                                   np.full(p.n_plates, float(temp_c)),
                                   np.full(p.n_radiators, float(temp_c)), float(temp_c))

    def heater_sensed_temp_c(self, s: ThermalNetworkState) -> np.ndarray:
        """Temperatures [degC] the heaters' thermostats sense, shape (P + 1,): each plate,
        then the battery: the order of ``step``'s ``heater_w``."""
        # np.append's values, without its wrapper's cost (a per-tick call)
        return np.concatenate((np.ravel(s.plate_temp_c), (float(s.battery_temp_c),)))

    def radiated_w(self, s: ThermalNetworkState, eps: float | np.ndarray) -> np.ndarray:
        """Power [W] each radiator emits to space, eps sigma A (T^4 - T_sp^4), shape (R,)."""
        t_k = np.asarray(s.radiator_temp_c, dtype=float) + KELVIN_OFFSET
        k = np.asarray(eps, dtype=float) * SIGMA_W_M2_K4 * self.radiator_area_m2
        return k * (t_k**4 - self._space_k4)

    def stored_energy_j(self, s: ThermalNetworkState) -> float:
        """Sum of C T over all nodes [J], T in kelvin (a reference for energy balances)."""
        p = self.params
        return float(
            p.board_heat_capacity_j_per_k * np.sum(s.board_temp_c + KELVIN_OFFSET)
            + p.plate_heat_capacity_j_per_k * np.sum(s.plate_temp_c + KELVIN_OFFSET)
            + np.dot(self.radiator_heat_capacity_j_per_k, s.radiator_temp_c + KELVIN_OFFSET)
            + p.battery_heat_capacity_j_per_k * (s.battery_temp_c + KELVIN_OFFSET)
        )

    def _constants(self, dt_s: float) -> dict:
        """The parts of the backward-Euler system that depend only on dt (cached per dt)."""
        cached = self._const_cache.get(dt_s)
        if cached is not None:
            return cached
        p = self.params
        n_r = p.n_radiators
        g_b, g_pr, g_bat = (p.board_to_plate_w_per_k, p.plate_to_radiator_w_per_k,
                            p.battery_to_radiator_w_per_k)
        cb_h = p.board_heat_capacity_j_per_k / dt_s
        den_b = cb_h + g_b
        c_b = g_b / den_b
        cp_h = p.plate_heat_capacity_j_per_k / dt_s
        den_p = cp_h + self.boards_on_plate * (g_b * (1.0 - c_b)) + g_pr
        gamma_p = g_pr / den_p
        cbat_h = p.battery_heat_capacity_j_per_k / dt_s
        den_bat = cbat_h + g_bat
        gamma_bat = g_bat / den_bat
        cr_h = self.radiator_heat_capacity_j_per_k / dt_s
        lin_coef = (
            cr_h
            + np.bincount(self.radiator_of_plate, weights=g_pr * (1.0 - gamma_p), minlength=n_r)
            + self._battery_onehot * (g_bat * (1.0 - gamma_bat))
        )
        cached = {"cb_h": cb_h, "den_b": den_b, "c_b": c_b, "cp_h": cp_h, "den_p": den_p,
                  "gamma_p": gamma_p, "cbat_h": cbat_h, "den_bat": den_bat, "gamma_bat": gamma_bat,
                  "cr_h": cr_h, "lin_coef": lin_coef}
        self._const_cache[dt_s] = cached
        return cached

    # --------------------------------------------------------------------- step
    def step(
        self,
        s: ThermalNetworkState,
        board_power_w: np.ndarray,
        heater_w: float | np.ndarray,
        absorbed_w: float | np.ndarray,
        eps: float | np.ndarray,
        dt_s: float,
        battery_heat_w: float = 0.0,
    ) -> ThermalNetworkState:
        """Advance every node by ``dt_s`` [s] (> 0) with constant inputs; backward Euler.

        board_power_w: heat dissipated in each board [W], shape (N,). heater_w: heater power
        [W], shape (P + 1,): one per plate then the battery's (a number applies to all).
        absorbed_w: heat absorbed by each radiator [W], shape (R,). eps: each radiator's
        effective emissivity [-] in [0, 1], shape (R,). battery_heat_w: the battery's own
        losses [W] (``BatteryModelStep.heat_w``). Heat inputs should be >= 0 (negative ones
        are not checked, and could drive a temperature below 0 K). Returns the new state;
        the inputs are not modified. Raises ValueError for a bad dt_s, shape or emissivity.
        """
        p = self.params
        if not (math.isfinite(dt_s) and dt_s > 0.0):
            raise ValueError(f"dt_s: expected a finite number > 0, got {dt_s!r}")
        n_p, n_r = p.n_plates, p.n_radiators
        p_board_w = _vector("board_power_w", board_power_w, p.n_boards)
        h_w = _vector("heater_w", heater_w, n_p + 1)
        q_abs_w = _vector("absorbed_w", absorbed_w, n_r)
        eps_r = _vector("eps", eps, n_r)
        eps_l = eps_r.tolist()  # a few radiators: plain floats beat numpy's min/max calls
        if (not any(e != e for e in eps_l)  # a NaN passes, as numpy's NaN min/max would
                and (min(eps_l) < 0.0 or max(eps_l) > 1.0)):
            raise ValueError(f"eps: expected values in [0, 1], got {eps!r}")
        t_board_k = np.asarray(s.board_temp_c, dtype=float) + KELVIN_OFFSET
        t_plate_k = np.asarray(s.plate_temp_c, dtype=float) + KELVIN_OFFSET
        t_rad_k = np.asarray(s.radiator_temp_c, dtype=float) + KELVIN_OFFSET
        t_bat_k = float(s.battery_temp_c) + KELVIN_OFFSET

        k = self._constants(dt_s)
        # boards: T_b' = a_b + c_b T_p'
        g_b = p.board_to_plate_w_per_k
        a_b = (k["cb_h"] * t_board_k + p_board_w) / k["den_b"]
        # plates: T_p' = alpha_p + gamma_p T_r'
        from_boards_w = np.bincount(self.plate_of_board, weights=g_b * a_b, minlength=n_p)
        alpha_p = (k["cp_h"] * t_plate_k + h_w[:n_p] + from_boards_w) / k["den_p"]
        gamma_p = k["gamma_p"]
        # battery: T_B' = alpha_B + gamma_B T_r(B)'
        alpha_bat = (k["cbat_h"] * t_bat_k + battery_heat_w + h_w[n_p]) / k["den_bat"]
        gamma_bat = k["gamma_bat"]
        # radiators: lin_coef T + k T^4 = lin_const
        k_rad = eps_r * SIGMA_W_M2_K4 * self.radiator_area_m2
        lin_const = (
            k["cr_h"] * t_rad_k + q_abs_w + k_rad * self._space_k4
            + np.bincount(self.radiator_of_plate, weights=p.plate_to_radiator_w_per_k * alpha_p,
                          minlength=n_r)
            + self._battery_onehot * (p.battery_to_radiator_w_per_k * alpha_bat)
        )
        lin_coef = k["lin_coef"]
        c_b = k["c_b"]
        new_rad_k = _solve_quartic(lin_coef, k_rad, lin_const, t_rad_k)
        new_plate_k = alpha_p + gamma_p * new_rad_k[self.radiator_of_plate]
        new_board_k = a_b + c_b * new_plate_k[self.plate_of_board]
        new_bat_k = alpha_bat + gamma_bat * float(new_rad_k[p.battery_radiator])
        return ThermalNetworkState(new_board_k - KELVIN_OFFSET, new_plate_k - KELVIN_OFFSET,
                                   new_rad_k - KELVIN_OFFSET, float(new_bat_k - KELVIN_OFFSET))


def _solve_quartic(
    lin_coef: np.ndarray, k: np.ndarray, const: np.ndarray, guess_k: np.ndarray
) -> np.ndarray:
    """Root T > 0 of lin_coef T + k T^4 = const (lin_coef > 0, k >= 0, const > 0), shape (R,).

    f(T) = lin_coef T + k T^4 - const is increasing and convex for T > 0, so a Newton step
    from any positive point lands right of the root (the tangent lies below f) and the
    iterates then fall to it monotonically, staying positive. The start is the present
    temperature, capped by the linear-only root const / lin_coef (where f = k T^4 >= 0, so
    it lies right of the root) to bound the first step.
    """
    # R is a handful of radiators (it does not grow with boards): plain floats are several
    # times faster here than numpy calls on arrays of two.
    out = []
    for lc, kk, cc, g in zip(lin_coef.tolist(), k.tolist(), const.tolist(), np.abs(guess_k).tolist(),
                             strict=True):
        t = min(g, cc / lc)
        for _ in range(NEWTON_MAX_ITERATIONS):
            t2 = t * t
            step = (lc * t + kk * t2 * t2 - cc) / (lc + 4.0 * kk * t2 * t)
            t -= step
            if abs(step) <= NEWTON_TOLERANCE_K:
                break
        else:  # unreachable for valid inputs: kept so a bug cannot pass silently
            raise RuntimeError(
                f"radiator temperature did not converge in {NEWTON_MAX_ITERATIONS} Newton steps"
            )
        out.append(t)
    return np.array(out)


def _as_tuple(value: float | tuple[float, ...]) -> tuple[float, ...]:
    if isinstance(value, numbers.Real):
        return (float(value),)
    return tuple(float(v) for v in value)


def _check_positive(name: str, value: float) -> None:
    if not (isinstance(value, numbers.Real) and math.isfinite(value) and value > 0.0):
        raise ValueError(f"ThermalNetworkParams.{name}: expected > 0, got {value!r}")


def _vector(name: str, value: float | np.ndarray, n: int) -> np.ndarray:
    arr = np.asarray(value, dtype=float)
    if arr.shape == (n,):
        return arr
    if arr.ndim == 0:
        return np.full(n, float(arr))
    raise ValueError(f"{name}: expected shape ({n},) or a number, got shape {arr.shape}")
