"""The offline oracle: an upper bound on ``value_delivered`` with perfect knowledge.

A linear programme, solved with HiGHS (``highspy``), over time bins of ``bin_s`` (60 s).
It knows, from the simulator's own truth for the scenario: solar power each tick (orbit,
sunlit fraction, panel temperature, pointing, age), contacts and their downlink rates,
every job's release, size, boards, priority, deadline and result size. It must never be
beaten by any run of the scenario (``tests/sim/test_oracle.py`` checks every policy on
every suite scenario), so everything it leaves out or rounds errs in the run's favour.

Variables per bin b: compute power P_b [W], throughput T_b [full-speed boards], battery
charge and discharge power (bus side), curtailment, battery charge E_b [Wh], heat stored
above the start H_b [J]. Per group of jobs g and segment s: work w_gs [GPU-s]; per group
and pass k: work delivered x_gk [GPU-s].

Constraints:

- Bus: solar_b + discharge_b = housekeeping + P_b + charge_b + curtailed_b.
- Battery: E_{b+1} = E_b + (eta_c charge_b - discharge_b / eta_d) dt; floor <= E <= capacity;
  charge and discharge within their limits; E_0 the initial charge. No end condition.
- Throughput: T_b <= the concave envelope of N boards' curve at P_b, as tangent lines
  (an upper bound of a concave function): with h(p) = (p / max)^a on [min, max] and
  h(0) = 0, the envelope per board is the chord from 0 to min, then h; N boards share P
  equally (the best split of a concave curve). T_b <= N; P_b <= N max.
- Heat: three stores, the boards (Hb, capacity Cb), the plates (H1, C1) and the main
  radiator (H2, C2), joined by the heat flows Fb (boards to plates, conductance Gb: all
  boards together) and F (plates to radiator, G: all plates together):
  Hb_{b+1} = Hb_b + (P_b - Fb_b) dt, H1_{b+1} = H1_b + (Fb_b - F_b) dt and
  H2_{b+1} = H2_b + (F_b + housekeeping - Q_b) dt, Q_b the radiator's net rejection
  (each store is kept as its temperature rise, H / C, which scales the LP well).
  q(T) = eps_max sigma A (T^4 - T_sp^4) - eps IR A - absorbed short wave A is convex in
  T, so it is bounded above by its chord over [T_lo, T_hi]: T_hi the boards' limit, which
  the thermal guard holds every board to; T_lo the coldest the radiator can be
  (``coldest_radiator_c``: only the radiator loses heat, so it is the coldest node of its
  side, and below the temperature at which it emits the housekeeping heat parked on it it
  warms; floored at -150 degC). The radiator's temperature is at most what its store
  allows, T_0 + (H2_b + D) / C2 (D the most heat one bin can add, so the bound holds at
  the hottest moment of the bin), at most T_hi - F_b / G (the plates are no hotter than
  the limit, and the flow F needs that drop) and at most T_hi - Fb_b / Gb - F_b / G (the
  boards are no hotter than the limit, and their flow to the plates needs its own drop;
  averaged over the plates, valid whatever the split when every plate carries as many
  boards): Q_b is at most the chord at each. Every store within [C (T_lo - T_0),
  C (T_hi - T_0)], every flow within G (T_hi - T_lo). Where the plates carry unequal
  numbers of boards, boards and plates are one store, as before.
- Jobs: a job asked to run twice (``params.dual``, dual execution) needs its work twice
  over from the boards, for its value once. A job whose boards, replicas counted (each
  on boards of its own), are more than the boards in service is worth nothing: the
  executor refuses it at upload (on a one-board satellite, every dual job). A job is on
  board from the first contact at or after its release (the uplink) and is worth its
  value only if its result reaches the ground in a pass that starts before its deadline
  and within the run, and only in a pass by whose end (or its deadline, if sooner) it
  could be finished at all: from the bin it came on board, its boards at full speed (one
  GPU-s a second each, the most a board does) take work / boards_needed seconds (the
  executor's own test for a job that can no longer meet its deadline). Jobs alike
  (priority, on-board bin, the passes they may be delivered in) form a group; a
  group's work per segment is at most the segment's throughput shared with every other
  group, and at most its boards at full speed; work delivered by pass k is at most the group's work done before that pass's
  end (or its deadline, if sooner); the result bytes delivered in pass k (the group's
  smallest bytes per GPU-s times its work delivered) fit that pass's downlink bytes.
- Objective: sum of PRIORITY_WEIGHT[priority] x work delivered.

What it relaxes (each makes the bound higher, never lower): jobs are divisible among
those that could finish in time (a part done counts its part: a job its boards could
finish by the last pass, alone, is never lost half-done there); no checkpoint, boot,
idle or hung-board power, no heaters, no thermal throttling, no radiation, no board
failures beyond those the scenario starts with; the battery has its full capacity at
every temperature; a job is on board at the first contact after its release (the uplink
takes no time) and its result is on the ground at completion (the downlink takes no
time, the pass only bounds the bytes); telemetry takes no downlink; the flight software
keeps no margins (reserve, buffer, plan margin) and knows the future exactly; the boards
share their heat evenly (their drop is the least it can be), the radiator rejects at its
chord bound (a MIP with a binary per bin for the radiator's regime, two chords, was tried:
tighter by a few per cent on thermal-limited, but HiGHS had not closed it in 120 s);
bins round job windows outward. The heat bound holds for runs that keep every board at
or below its limit (``thermal.board_limit_c``): the thermal guard's caps, which every
policy's plan is checked against, do that; a run with board over-temperature violations
is outside its promise. Likewise the battery floor (the issue's "battery limits and
floor"): the bound is for runs that keep the charge at or above it (the power manager's
guard and SAFE mode do); a run with ``soc_floor`` violations is outside it. A scenario
whose housekeeping alone would take the battery below the floor has no bound: the
solve says so.

``energy_upper_bound_wh`` is a second, smaller LP with the same power and heat
constraints and the objective sum P_b dt: the most energy any run could put into compute.
"""

from __future__ import annotations

import math
import time
from collections.abc import Sequence
from dataclasses import dataclass

import highspy
import numpy as np

from flightsw.icd.messages import JobSpec
from flightsw.icd.value import PRIORITY_WEIGHT
from sim.constants import KELVIN_OFFSET, SIGMA_W_M2_K4, SPACE_TEMP_K
from sim.scenario import Scenario
from sim.workload import generate_jobs

__all__ = ["OracleInputs", "oracle", "oracle_inputs", "solve"]

NS_PER_S = 1_000_000_000
BIN_S = 60.0
T_LO_C = -150.0  # [degC] no node of the satellite is ever colder than this
TANGENT_POINTS = 16  # tangent lines to the board curve between min and max power
INF = highspy.kHighsInf


@dataclass(frozen=True)
class OracleInputs:
    """What the oracle knows, per bin unless said. Powers [W], energies [Wh], heat [J]."""

    bin_s: float
    solar_w: np.ndarray  # mean solar power
    boards: np.ndarray  # boards in service
    q0_w: np.ndarray  # chord of the radiator's net rejection: q0 + q1 x (T - T_lo) [W]
    q1_w_per_k: float | np.ndarray
    contact_bytes: np.ndarray  # downlink bytes the contact offers in the bin
    pass_bins: list[tuple[int, int]]  # passes as [first bin, last bin + 1)
    jobs: list[JobSpec]
    housekeeping_w: float
    capacity_wh: float
    floor_wh: float
    initial_wh: float
    max_charge_w: float
    max_discharge_w: float
    eta_charge: float
    eta_discharge: float
    max_power_w: float
    min_power_w: float
    exponent: float
    heat_capacity_j_per_k: float  # boards and plates together [J/K]
    t0_c: float
    t_hi_c: float
    radiator_heat_capacity_j_per_k: float = 0.0  # the main radiator's own store (0: lumped with the boards')
    absorbed_max_w: np.ndarray | float = 0.0  # the environment's heat on the radiator, at most [W]
    plate_to_radiator_w_per_k: float = math.inf  # all plates to the radiator together [W/K]
    t_lo_c: float = T_LO_C  # [degC] no node of the main radiator's side is colder (coldest_radiator_c)
    board_to_plate_w_per_k: float = math.inf  # all boards to their plates together [W/K] (inf: one store)
    board_heat_capacity_j_per_k: float = 0.0  # the boards' part of heat_capacity_j_per_k [J/K]


def coldest_radiator_c(housekeeping_w: float, area_m2: float, emissivity: float, initial_c: float) -> float:
    """[degC] The main radiator, its plates and boards are never colder than this: only the
    radiator loses heat (to space), so it is the coldest of them, and below the temperature
    at which it emits the housekeeping heat parked on it (at its full emissivity, with no
    environment heat: louvers and sunlight only warm it) it warms; so it stays at or above
    the lower of that temperature and where it started. Floored at T_LO_C."""
    t4 = housekeeping_w / (emissivity * SIGMA_W_M2_K4 * area_m2) + SPACE_TEMP_K**4
    return max(T_LO_C, min(initial_c, t4**0.25 - KELVIN_OFFSET))


def oracle_inputs(sc: Scenario, hours: float, jobs: Sequence[JobSpec] | None = None,
                  bin_s: float = BIN_S) -> OracleInputs:
    """The scenario's truth, binned: built from the simulated world itself."""
    from sim.world import World  # the world's own models: the same truth a run sees

    dt = sc.tick_s
    n_ticks = int(round(hours * 3600.0 / dt))
    world = World(sc, n_ticks, seed=0)
    per_bin = max(1, int(round(bin_s / dt)))
    n_bins = math.ceil(n_ticks / per_bin)

    def binned_mean(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x[:n_ticks], dtype=float)
        pad = np.full(n_bins * per_bin - len(x), x[-1] if len(x) else 0.0)
        return np.r_[x, pad].reshape(n_bins, per_bin).mean(axis=1)

    def binned_max(x: np.ndarray) -> np.ndarray:
        x = np.asarray(x[:n_ticks], dtype=float)
        pad = np.full(n_bins * per_bin - len(x), x[-1] if len(x) else 0.0)
        return np.r_[x, pad].reshape(n_bins, per_bin).max(axis=1)

    p, t, b = sc["power"], sc["thermal"], sc["boards"]
    contact = np.asarray(world.env.contact[:n_ticks])
    rates = np.array([float(s["downlink_bps"]) for s in sc["ground_stations"]] + [0.0])
    contact_bytes = binned_mean(rates[contact] / 8.0 * dt) * per_bin
    in_contact = np.r_[contact >= 0, np.zeros(n_bins * per_bin - len(contact), bool)].reshape(n_bins, per_bin).any(1)
    pass_bins, start = [], None
    for i, c in enumerate(in_contact.tolist() + [False]):
        if c and start is None:
            start = i
        elif not c and start is not None:
            pass_bins.append((start, i))
            start = None
    # radiator: net rejection q(T) at the extreme temperatures, the chord between
    area, eps = t["radiator_area_m2"], t["radiator_emissivity"]
    eps_lo = min(eps, t["louver_closed_emissivity"])
    sw = binned_mean(world.short_wave_w_m2) * area
    ir = binned_mean(world.earth_ir_w_m2) * area
    parked_w = t["radiator_absorbed_w"]  # other heat parked on the radiator; housekeeping is in the balance

    def q(temp_c: float) -> np.ndarray:
        emit = SIGMA_W_M2_K4 * ((temp_c + KELVIN_OFFSET) ** 4 - SPACE_TEMP_K**4) * area
        return np.maximum(eps * (emit - ir), eps_lo * (emit - ir)) - sw - parked_w

    t_hi = float(t["board_limit_c"])
    t_lo = coldest_radiator_c(float(p["housekeeping_w"]), area, eps, float(t["initial_temp_c"]))
    q_lo, q_hi = q(t_lo), q(t_hi)
    q1 = (q_hi - q_lo) / (t_hi - t_lo)
    params = world.net.params
    cap_j_per_k = (params.n_boards * params.board_heat_capacity_j_per_k
                   + world.n_plates * params.plate_heat_capacity_j_per_k)
    rad_j_per_k = float(np.atleast_1d(params.radiator_heat_capacity_j_per_k)[0])
    failed = set(int(i) for i in b.get("failed", []))
    boards = np.full(n_bins, float(b["count"] - len(failed)))
    bat = world.battery
    return OracleInputs(
        bin_s=per_bin * dt, solar_w=binned_mean(world.solar_w), boards=boards, q0_w=q_lo, q1_w_per_k=q1,
        contact_bytes=contact_bytes, pass_bins=pass_bins,
        jobs=list(generate_jobs(sc, hours) if jobs is None else jobs),
        housekeeping_w=float(p["housekeeping_w"]), capacity_wh=float(world.bat.capacity_wh),
        floor_wh=float(p["battery_soc_floor"]) * float(world.bat.capacity_wh), initial_wh=float(world.bat.charge_wh),
        max_charge_w=float(bat.max_charge_w), max_discharge_w=float(bat.max_discharge_w),
        eta_charge=float(bat.charge_efficiency), eta_discharge=float(bat.discharge_efficiency),
        max_power_w=float(b["max_power_w"]), min_power_w=float(b["min_power_w"]),
        exponent=float(b["throughput_exponent"]), heat_capacity_j_per_k=cap_j_per_k,
        t0_c=float(t["initial_temp_c"]), t_hi_c=t_hi, t_lo_c=t_lo, radiator_heat_capacity_j_per_k=rad_j_per_k,
        plate_to_radiator_w_per_k=world.n_plates * float(t["plate_to_radiator_w_per_k"]),
        # every plate carries the same number of boards (failed ones conduct too): the drop
        # from the boards to the plates bounds the plates', and so the radiator's, temperature
        board_to_plate_w_per_k=(params.n_boards * float(params.board_to_plate_w_per_k)
                                if params.n_boards % world.n_plates == 0 else math.inf),
        board_heat_capacity_j_per_k=params.n_boards * float(params.board_heat_capacity_j_per_k),
        absorbed_max_w=binned_max(world.short_wave_w_m2 + eps * world.earth_ir_w_m2) * area + parked_w)


class _Lp:
    """A row-wise LP under construction: columns with bounds and costs, rows of (col, coef)."""

    def __init__(self) -> None:
        self.lo: list[np.ndarray] = []
        self.hi: list[np.ndarray] = []
        self.cost: list[np.ndarray] = []
        self.n = 0
        self.rows_lo: list[float] = []
        self.rows_hi: list[float] = []
        self.starts: list[int] = [0]
        self.idx: list[np.ndarray] = []
        self.val: list[np.ndarray] = []
        self.nnz = 0

    def cols(self, count: int, lo: float | np.ndarray = 0.0, hi: float | np.ndarray = INF,
             cost: float | np.ndarray = 0.0) -> np.ndarray:
        first = self.n
        self.n += count
        self.lo.append(np.broadcast_to(np.asarray(lo, float), (count,)).copy())
        self.hi.append(np.broadcast_to(np.asarray(hi, float), (count,)).copy())
        self.cost.append(np.broadcast_to(np.asarray(cost, float), (count,)).copy())
        return np.arange(first, first + count)

    def rows(self, cols: np.ndarray, coefs: np.ndarray, lo: np.ndarray | float, hi: np.ndarray | float) -> None:
        """Many rows at once: ``cols`` and ``coefs`` shaped (rows, terms)."""
        cols = np.atleast_2d(cols)
        coefs = np.broadcast_to(np.asarray(coefs, float), cols.shape)
        m, k = cols.shape
        self.idx.append(cols.ravel())
        self.val.append(coefs.ravel())
        self.starts.extend((self.nnz + k * np.arange(1, m + 1)).tolist())
        self.nnz += m * k
        self.rows_lo.extend(np.broadcast_to(np.asarray(lo, float), (m,)).tolist())
        self.rows_hi.extend(np.broadcast_to(np.asarray(hi, float), (m,)).tolist())

    def row(self, cols: Sequence[int], coefs: Sequence[float], lo: float, hi: float) -> None:
        self.idx.append(np.asarray(cols, dtype=np.int64))
        self.val.append(np.asarray(coefs, float))
        self.nnz += len(cols)
        self.starts.append(self.nnz)
        self.rows_lo.append(lo)
        self.rows_hi.append(hi)

    def maximise(self) -> tuple[float, np.ndarray, str]:
        lp = highspy.HighsLp()
        lp.num_col_ = self.n
        lp.num_row_ = len(self.rows_lo)
        lp.col_cost_ = -np.concatenate(self.cost)
        lp.col_lower_ = np.concatenate(self.lo)
        lp.col_upper_ = np.concatenate(self.hi)
        lp.row_lower_ = np.asarray(self.rows_lo)
        lp.row_upper_ = np.asarray(self.rows_hi)
        lp.a_matrix_.format_ = highspy.MatrixFormat.kRowwise
        lp.a_matrix_.start_ = np.asarray(self.starts, dtype=np.int32)
        lp.a_matrix_.index_ = np.concatenate(self.idx).astype(np.int32) if self.idx else np.zeros(0, np.int32)
        lp.a_matrix_.value_ = np.concatenate(self.val) if self.val else np.zeros(0)
        h = _quiet_highs()
        h.setOptionValue("random_seed", 0)
        h.setOptionValue("threads", 1)
        h.passModel(lp)
        h.run()
        status = h.modelStatusToString(h.getModelStatus())
        if h.getModelStatus() == highspy.HighsModelStatus.kInfeasible:
            raise ValueError("oracle: the scenario cannot keep the battery at its floor and the boards "
                             "within their limit even with no compute: no bound")
        if h.getModelStatus() != highspy.HighsModelStatus.kOptimal:
            raise RuntimeError(f"oracle LP: expected an optimal solution, got {status}")
        # the dual bound is a proven bound even where the primal is a hair infeasible
        info = h.getInfo()
        x = np.asarray(h.getSolution().col_value)
        return -float(info.objective_function_value), x, status


def _quiet_highs() -> highspy.Highs:
    """A HiGHS instance that prints nothing: its first construction in a process writes a
    banner to file descriptor 1 from C++, so that is pointed at /dev/null meanwhile."""
    import os
    import sys

    sys.stdout.flush()
    saved = os.dup(1)
    try:
        with open(os.devnull, "wb") as null:
            os.dup2(null.fileno(), 1)
            h = highspy.Highs()
    finally:
        os.dup2(saved, 1)
        os.close(saved)
    h.setOptionValue("output_flag", False)
    return h


def _power_and_heat(lp: _Lp, d: OracleInputs) -> tuple[np.ndarray, np.ndarray]:
    """The power, battery, throughput and heat columns and rows. Returns (P, T) columns."""
    n = len(d.solar_w)
    dt_s, dt_h = d.bin_s, d.bin_s / 3600.0
    p_max = d.boards * d.max_power_w
    P = lp.cols(n, 0.0, p_max)
    T = lp.cols(n, 0.0, d.boards)
    ch = lp.cols(n, 0.0, d.max_charge_w)
    dis = lp.cols(n, 0.0, d.max_discharge_w)
    cur = lp.cols(n, 0.0, INF)
    E = lp.cols(n + 1, d.floor_wh, d.capacity_wh)
    lp.lo[-1][0] = lp.hi[-1][0] = min(max(d.initial_wh, d.floor_wh), d.capacity_wh)
    # bus: P + ch + cur - dis = solar - housekeeping
    lp.rows(np.stack([P, ch, cur, dis], 1), [1.0, 1.0, 1.0, -1.0], d.solar_w - d.housekeeping_w,
            d.solar_w - d.housekeeping_w)
    # battery: E[b+1] - E[b] - eta_c dt ch + dt/eta_d dis = 0
    lp.rows(np.stack([E[1:], E[:-1], ch, dis], 1), [1.0, -1.0, -d.eta_charge * dt_h, dt_h / d.eta_discharge],
            0.0, 0.0)
    # throughput: the envelope's chord through the origin, then tangents of h
    h_min = (d.min_power_w / d.max_power_w) ** d.exponent
    lp.rows(np.stack([T, P], 1), [1.0, -h_min / d.min_power_w], -INF, 0.0)
    for pk in np.linspace(d.min_power_w, d.max_power_w, TANGENT_POINTS):
        hk = (pk / d.max_power_w) ** d.exponent
        slope = d.exponent * hk / pk  # dh/dp at pk, per watt
        # T <= N (hk - slope pk) + slope P
        lp.rows(np.stack([T, P], 1), [1.0, -slope], -INF, d.boards * (hk - slope * pk))
    q1 = np.broadcast_to(np.asarray(d.q1_w_per_k, float), (n,))
    c1 = d.heat_capacity_j_per_k
    c2 = d.radiator_heat_capacity_j_per_k
    if c2 <= 0.0:  # one lumped store: boards, plates and radiator at one temperature
        H = lp.cols(n + 1, c1 * (d.t_lo_c - d.t0_c), c1 * (d.t_hi_c - d.t0_c))
        lp.lo[-1][0] = lp.hi[-1][0] = 0.0
        # H[b+1] = H[b] + (P + hk - Q) dt, Q <= q0 + q1 (T0 + (H[b] + D)/C - T_lo)
        d_j = (2.0 * p_max + d.housekeeping_w + d.absorbed_max_w) * dt_s  # the most heat one bin adds
        rhs = dt_s * (d.housekeeping_w - d.q0_w - q1 * (d.t0_c - d.t_lo_c + d_j / c1))
        lp.rows(np.stack([H[1:], H[:-1], P], 1),
                np.stack([np.ones(n), -1.0 + dt_s * q1 / c1, -dt_s * np.ones(n)], 1), rhs, INF)
        return P, T
    # two stores: boards and plates (1), the radiator (2), joined by the heat flow F; or,
    # with the boards-to-plates conductance known, three: the boards (b), the plates (1) and
    # the radiator, the flow Fb from the boards to the plates making its own drop. Each
    # store is its temperature rise over T_0 [K] (its heat over its capacity: well scaled)
    three = math.isfinite(d.board_to_plate_w_per_k) and 0.0 < d.board_heat_capacity_j_per_k < c1
    lo_k, hi_k = d.t_lo_c - d.t0_c, d.t_hi_c - d.t0_c
    span_k = d.t_hi_c - d.t_lo_c  # no two nodes are further apart: it bounds every flow

    def store() -> np.ndarray:
        theta = lp.cols(n + 1, lo_k, hi_k)
        lp.lo[-1][0] = lp.hi[-1][0] = 0.0
        return theta

    def balance(theta: np.ndarray, into: np.ndarray, out: np.ndarray, cap_j_per_k: float) -> None:
        """theta[b+1] = theta[b] + (into - out) dt / C"""
        k = dt_s / cap_j_per_k
        lp.rows(np.stack([theta[1:], theta[:-1], into, out], 1), [1.0, -1.0, -k, k], 0.0, 0.0)

    g = d.plate_to_radiator_w_per_k
    F = lp.cols(n, -g * span_k, g * span_k) if math.isfinite(g) else lp.cols(n, -INF, INF)
    Q = lp.cols(n, -INF, INF)
    th1, th2 = store(), store()
    if three:
        cb = d.board_heat_capacity_j_per_k
        c1 -= cb
        thb = store()
        Fb = lp.cols(n, -d.board_to_plate_w_per_k * span_k, d.board_to_plate_w_per_k * span_k)
        balance(thb, P, Fb, cb)
        balance(th1, Fb, F, c1)
    else:
        balance(th1, P, F, c1)
    # theta2[b+1] = theta2[b] + (F + hk - Q) dt / C2
    k2 = dt_s / c2
    lp.rows(np.stack([th2[1:], th2[:-1], F, Q], 1), [1.0, -1.0, -k2, k2], k2 * d.housekeeping_w,
            k2 * d.housekeeping_w)
    # the radiator is no hotter than its store allows, within the bin:
    # Q <= q0 + q1 (T0 + theta2 + D/C2 - T_lo), D the most heat the radiator can gain within
    # one bin: the flow from the plates (at most twice the boards' full power: their own and
    # what the plates' store gives back), the housekeeping and the environment's absorbed heat
    d_j = (2.0 * p_max + d.housekeeping_w + d.absorbed_max_w) * dt_s
    lp.rows(np.stack([Q, th2[:-1]], 1), np.stack([np.ones(n), -q1 * np.ones(n)], 1), -INF,
            d.q0_w + q1 * (d.t0_c - d.t_lo_c + d_j / c2))
    # ... and no hotter than the plates (at most the limit) less the drop the flow makes
    # through the plates' conductance: T_r <= T_hi - F / G, so Q <= q0 + q1 (T_hi - F/G - T_lo)
    lp.rows(np.stack([Q, F], 1), np.stack([np.ones(n), q1 / g], 1), -INF, d.q0_w + q1 * (d.t_hi_c - d.t_lo_c))
    if three:  # ... and the plates no hotter than the boards less their drop: T_r <= T_hi - Fb/Gb - F/G
        lp.rows(np.stack([Q, F, Fb], 1), np.stack([np.ones(n), q1 / g, q1 / d.board_to_plate_w_per_k], 1), -INF,
                d.q0_w + q1 * (d.t_hi_c - d.t_lo_c))
    return P, T


def _groups(d: OracleInputs) -> tuple[dict[tuple, dict], int]:
    """Jobs that behave alike in the LP: same priority, on-board bin, deliverable passes;
    and how many jobs a pass could have taken but their boards could not finish in time."""
    n = len(d.solar_w)
    bin_ns = d.bin_s * NS_PER_S
    first_contact = np.full(n + 1, n, dtype=np.int64)  # the first contact bin at or after b
    in_contact = np.zeros(n, bool)
    for a, e in d.pass_bins:
        in_contact[a:e] = True
    nxt = n
    for b in range(n - 1, -1, -1):
        if in_contact[b]:
            nxt = b
        first_contact[b] = nxt
    groups: dict[tuple, dict] = {}
    too_slow = 0
    most = int(d.boards.max()) if len(d.boards) else 0  # boards in service, at most
    for j in d.jobs:
        replicas = 2 if (j.params or {}).get("dual") is True else 1  # dual execution runs it twice
        if j.boards_needed * replicas > most:  # the executor refuses it: its replicas need boards of their own
            continue
        rel = int(j.release_t_ns // bin_ns)  # rounded down: earlier
        if rel >= n:
            continue
        on = int(first_contact[rel])
        if on >= n:
            continue
        # passes in which the result may land: started by the deadline, after the job is on board
        last = n if j.deadline_t_ns < 0 else min(n, int(j.deadline_t_ns // bin_ns) + 1)  # the bin it falls in, kept
        # ... and by whose due bin the job can be finished at all: its boards do at most one
        # GPU-s a second each (full power), so it takes at least work / boards_needed seconds
        # from the bin it came on board (both rounded outward: the on-board bin down, due up)
        least_bins = j.work_gpu_s / j.boards_needed / d.bin_s  # boards_needed >= 1: JobSpec checks it
        open_passes = [k for k, (a, e) in enumerate(d.pass_bins) if e > on and a < last]
        passes = tuple(k for k in open_passes if on + least_bins <= min(d.pass_bins[k][1], last))
        if not passes:
            too_slow += bool(open_passes)
            continue
        due = {k: min(d.pass_bins[k][1], last) for k in passes}  # work must be done by then
        key = (j.priority, replicas, on, passes, tuple(due[k] for k in passes))
        g = groups.setdefault(key, {"priority": j.priority, "replicas": replicas, "on": on, "passes": passes,
                                    "due": due, "work": 0.0, "boards": 0, "bytes_per_gpu_s": math.inf})
        g["work"] += j.work_gpu_s * replicas  # board work: what the boards must do
        g["boards"] += j.boards_needed * replicas
        if j.work_gpu_s > 0:
            g["bytes_per_gpu_s"] = min(g["bytes_per_gpu_s"], j.output_bytes / (j.work_gpu_s * replicas))
    return groups, too_slow


def solve(d: OracleInputs) -> dict:
    """Both bounds for these inputs -> {value_upper_bound, energy_upper_bound_wh, ...}."""
    t0 = time.perf_counter()
    n = len(d.solar_w)
    # energy: the most any run can put into compute
    lp = _Lp()
    P, _T = _power_and_heat(lp, d)
    lp.cost[0] = np.full(n, d.bin_s / 3600.0)
    energy_wh, _, _ = lp.maximise()
    # value
    lp = _Lp()
    P, T = _power_and_heat(lp, d)
    grouped, too_slow = _groups(d)
    groups = list(grouped.values())
    cuts = sorted({0, n, *(x for a, e in d.pass_bins for x in (a, e)),
                   *(g["on"] for g in groups), *(v for g in groups for v in g["due"].values())})
    seg_of_cut = {c: i for i, c in enumerate(cuts)}
    n_seg = len(cuts) - 1
    seg_rows: list[list[tuple[int, float]]] = [[] for _ in range(n_seg)]
    for g in groups:
        w = g["work"]
        first = seg_of_cut[g["on"]]
        last = seg_of_cut[max(g["due"].values())]
        segs = list(range(first, last))
        if not segs:
            continue
        seg_len_s = np.array([(cuts[s + 1] - cuts[s]) * d.bin_s for s in segs])
        wcol = lp.cols(len(segs), 0.0, np.minimum(w, g["boards"] * seg_len_s))
        for s, c in zip(segs, wcol.tolist(), strict=True):
            seg_rows[s].append((c, 1.0))
        lp.row(wcol.tolist(), [1.0] * len(segs), -INF, w)
        weight = PRIORITY_WEIGHT[g["priority"]] / g["replicas"]  # value per GPU-s of board work
        xcol = lp.cols(len(g["passes"]), 0.0, w, weight)
        g["x"] = dict(zip(g["passes"], xcol.tolist(), strict=True))
        for i, k in enumerate(g["passes"]):  # delivered by pass k <= done by its due bin
            done = [c for s, c in zip(segs, wcol.tolist(), strict=True) if cuts[s + 1] <= g["due"][k]]
            lp.row(list(xcol[: i + 1]) + done, [1.0] * (i + 1) + [-1.0] * len(done), -INF, 0.0)
    for s in range(n_seg):  # the segment's throughput is shared
        if not seg_rows[s]:
            continue
        bins = range(cuts[s], cuts[s + 1])
        cols = [c for c, _ in seg_rows[s]] + [int(T[b]) for b in bins]
        lp.row(cols, [1.0] * len(seg_rows[s]) + [-d.bin_s] * len(bins), -INF, 0.0)
    for k, (a, e) in enumerate(d.pass_bins):  # result bytes fit the pass
        terms = [(g["x"][k], g["bytes_per_gpu_s"]) for g in groups if k in g.get("x", {})
                 and math.isfinite(g["bytes_per_gpu_s"])]
        if terms:
            lp.row([c for c, _ in terms], [v for _, v in terms], -INF, float(d.contact_bytes[a:e].sum()))
    value, x, status = lp.maximise() if groups else (0.0, np.zeros(0), "no jobs")
    solve_s = time.perf_counter() - t0
    compute_wh = float(x[P].sum() * d.bin_s / 3600.0) if len(x) else 0.0
    by_priority: dict[str, float] = {}
    board_work = sum(float(x[c]) for g in groups for c in g.get("x", {}).values()) if len(x) else 0.0
    for g in groups:
        got = sum(float(x[c]) for c in g.get("x", {}).values()) if len(x) else 0.0
        key = str(g["priority"])
        by_priority[key] = by_priority.get(key, 0.0) + got * PRIORITY_WEIGHT[g["priority"]] / g["replicas"]
    return {"value_upper_bound": value, "energy_upper_bound_wh": energy_wh, "solve_s": round(solve_s, 3),
            "bins": n, "bin_s": d.bin_s, "groups": len(groups), "jobs": len(d.jobs),
            "jobs_too_slow": too_slow,  # a pass could take them, but their boards could not finish them in time
            "value_plan_energy_wh": compute_wh, "status": status,
            "value_by_priority": dict(sorted(by_priority.items())), "board_work_delivered_gpu_s": board_work}


def oracle(sc: Scenario, hours: float, bin_s: float = BIN_S) -> dict:
    """``sim oracle``'s answer for a scenario and horizon."""
    t0 = time.perf_counter()
    d = oracle_inputs(sc, hours, bin_s=bin_s)
    out = solve(d)
    out.update({"scenario": sc.name, "hours": hours, "wall_s": round(time.perf_counter() - t0, 3)})
    return out
