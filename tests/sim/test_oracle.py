"""The oracle (sim/oracle.py): closed forms on small inputs, and the bound is never beaten."""

from __future__ import annotations

import dataclasses
import json
import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from flightsw.icd.messages import JobSpec
from flightsw.icd.policies import POLICY_NAMES
from flightsw.icd.value import PRIORITY_WEIGHT
from sim.oracle import T_LO_C, OracleInputs, coldest_radiator_c, oracle, oracle_inputs, solve
from sim.scenario import load_scenario

NS = 1_000_000_000
BIN_S = 60.0
# The tangent-line envelope of the board curve (16 tangents between min and max power) lies
# above the curve by at most this fraction where the split power falls between tangents.
ENVELOPE_TOL = 0.005
LP_TOL = 1e-6  # relative: HiGHS's optimality tolerances on these small LPs


def job(i: int, work_gpu_s: float, *, priority: int = 0, boards: int = 1, release_s: float = 0.0,
        deadline_s: float | None = None, out_bytes: int = 1000) -> JobSpec:
    return JobSpec(job_id=f"j{i}", kind="synthetic", priority=priority,
                   deadline_t_ns=-1 if deadline_s is None else int(deadline_s * NS), boards_needed=boards,
                   work_gpu_s=work_gpu_s, checkpoint_interval_s=300.0, input_bytes=0, output_bytes=out_bytes,
                   release_t_ns=int(release_s * NS), seed=i, params={})


def inputs(n_bins: int = 60, *, solar_w: float = 2600.0, boards: int = 4, jobs=(), passes=((0, 1), (59, 60)),
           pass_bytes: float = 1e12, capacity_wh: float = 1.0, initial_wh: float = 0.0,
           cool: bool = True, **kw) -> OracleInputs:
    contact = np.zeros(n_bins)
    for a, e in passes:
        contact[a:e] = pass_bytes / (e - a)
    base = dict(
        bin_s=BIN_S, solar_w=np.full(n_bins, solar_w), boards=np.full(n_bins, float(boards)),
        q0_w=np.full(n_bins, 1e9 if cool else 0.0), q1_w_per_k=0.0, contact_bytes=contact,
        pass_bins=list(passes), jobs=list(jobs), housekeeping_w=600.0, capacity_wh=capacity_wh,
        floor_wh=0.0, initial_wh=initial_wh, max_charge_w=1e6, max_discharge_w=1e6, eta_charge=1.0,
        eta_discharge=1.0, max_power_w=700.0, min_power_w=200.0, exponent=0.48,
        heat_capacity_j_per_k=1e5, t0_c=20.0, t_hi_c=92.0)
    base.update(kw)
    return OracleInputs(**base)


def curve(p_w: float) -> float:
    return (p_w / 700.0) ** 0.48


def test_energy_bound_is_the_sunlight_left_after_housekeeping():
    d = inputs(solar_w=2600.0)
    out = solve(d)
    hours = 60 * BIN_S / 3600.0
    assert out["energy_upper_bound_wh"] == pytest.approx((2600.0 - 600.0) * hours, rel=LP_TOL)


def test_energy_bound_stops_at_what_the_boards_can_draw():
    d = inputs(solar_w=10_000.0, boards=2)
    assert solve(d)["energy_upper_bound_wh"] == pytest.approx(2 * 700.0 * 1.0, rel=LP_TOL)


def test_battery_carries_the_dark_with_its_efficiency():
    # no sun: the battery's 1 kWh above the floor at 0.9 discharge efficiency, less housekeeping
    d = inputs(solar_w=0.0, capacity_wh=2000.0, initial_wh=1500.0, floor_wh=500.0, eta_discharge=0.9)
    hours = 60 * BIN_S / 3600.0
    assert solve(d)["energy_upper_bound_wh"] == pytest.approx(1000.0 * 0.9 - 600.0 * hours, rel=LP_TOL)


def test_value_bound_is_the_concave_curve_shared_over_every_board():
    # 2 kW over 4 boards: each at 500 W; far more work than an hour can do (40 jobs, each of
    # which its 4 boards could finish within the hour); delivered at the end
    jobs = [job(i, 3000.0, priority=2, boards=4) for i in range(40)]
    d = inputs(jobs=jobs)
    out = solve(d)
    work = 4 * curve(500.0) * 60 * BIN_S  # work counts up to the last pass's end (bin 60)
    expected = PRIORITY_WEIGHT[2] * work
    assert expected * (1 - LP_TOL) <= out["value_upper_bound"] <= expected * (1 + ENVELOPE_TOL)


def test_work_after_the_last_pass_or_released_after_it_is_worth_nothing():
    late = job(1, 100.0, release_s=40 * BIN_S)  # released after the last contact
    assert solve(inputs(jobs=[late], passes=((0, 1), (30, 31))))["value_upper_bound"] == 0.0
    # on board at the second pass (bin 30), due before it: worth nothing either
    tight = job(2, 100.0, release_s=2 * BIN_S, deadline_s=10 * BIN_S)
    assert solve(inputs(jobs=[tight], passes=((0, 1), (30, 31))))["value_upper_bound"] == pytest.approx(0.0, abs=1e-6)


def test_a_job_is_worth_its_work_times_its_weight_at_most():
    small = job(1, 300.0, priority=3)
    out = solve(inputs(jobs=[small]))
    assert out["value_upper_bound"] == pytest.approx(PRIORITY_WEIGHT[3] * 300.0, rel=LP_TOL)


def test_a_job_needing_more_boards_than_are_in_service_is_worth_nothing():
    """The executor refuses a job whose replicas, each on boards of its own, need more
    boards than the satellite has in service: no policy gets its value."""
    dual = dataclasses.replace(job(1, 300.0, priority=3), params={"dual": True})
    assert solve(inputs(jobs=[dual], boards=1))["value_upper_bound"] == pytest.approx(0.0, abs=LP_TOL)
    assert solve(inputs(jobs=[job(2, 300.0, priority=3, boards=2)], boards=1))["value_upper_bound"] == \
        pytest.approx(0.0, abs=LP_TOL)
    assert solve(inputs(jobs=[dual], boards=2))["value_upper_bound"] == pytest.approx(PRIORITY_WEIGHT[3] * 300.0,
                                                                                    rel=LP_TOL)


def test_a_job_runs_no_faster_than_its_boards_at_full_speed():
    """A board does at most one GPU-s a second: a job the hour's boards could finish
    counts whole, and one they could not (even alone, at full power) counts nothing; a
    part done is worth nothing at the last pass."""
    hour_s = 60 * BIN_S
    fits = job(1, hour_s, priority=0, boards=1)
    assert solve(inputs(jobs=[fits], solar_w=10_000.0))["value_upper_bound"] == pytest.approx(hour_s, rel=LP_TOL)
    too_big = job(2, hour_s + BIN_S, priority=0, boards=1)
    assert solve(inputs(jobs=[too_big], solar_w=10_000.0))["value_upper_bound"] == pytest.approx(0.0, abs=LP_TOL)
    on_two = job(3, 2 * hour_s, priority=0, boards=2)  # two boards halve its time: it fits
    assert solve(inputs(jobs=[on_two], solar_w=10_000.0))["value_upper_bound"] == pytest.approx(2 * hour_s,
                                                                                                rel=LP_TOL)
    # a half-hour pass in the middle: too soon for it; the last pass is not
    mid = ((0, 1), (30, 31))
    assert solve(inputs(jobs=[fits], solar_w=10_000.0, passes=mid))["value_upper_bound"] == \
        pytest.approx(0.0, abs=LP_TOL)


def test_a_job_that_comes_on_board_too_late_to_finish_by_its_pass_is_worth_nothing():
    """Released within the last pass, or due too soon after it came on board: even its
    boards at full speed from the bin it came on board cannot finish it in time."""
    last = ((0, 1), (50, 60))
    early = job(1, 600.0, priority=1, release_s=50 * BIN_S)  # on board at bin 50: ten minutes, just enough
    late = job(2, 600.0, priority=1, release_s=55 * BIN_S)  # five minutes before the end
    assert solve(inputs(jobs=[early], passes=last))["value_upper_bound"] == pytest.approx(2 * 600.0, rel=LP_TOL)
    out = solve(inputs(jobs=[early, late], passes=last))
    assert out["value_upper_bound"] == pytest.approx(2 * 600.0, rel=LP_TOL)
    assert out["jobs_too_slow"] == 1, "the report counts the job a pass could take but its boards not finish"
    # released within a bin: on board at 50.5 bins, 9.5 bins of work end exactly at the pass's end
    mid_bin = job(5, 570.0, priority=1, release_s=50.5 * BIN_S)
    assert solve(inputs(jobs=[mid_bin], passes=last))["value_upper_bound"] == pytest.approx(2 * 570.0, rel=LP_TOL)
    # the deadline, not the pass, is what it misses: due at bin 54, four minutes after it came on board
    due_soon = job(3, 600.0, priority=1, release_s=50 * BIN_S, deadline_s=53.5 * BIN_S)
    assert solve(inputs(jobs=[due_soon], passes=last))["value_upper_bound"] == pytest.approx(0.0, abs=LP_TOL)
    dual = dataclasses.replace(late, job_id="j4", release_t_ns=early.release_t_ns, params={"dual": True})
    # a dual job's replicas run side by side, each on boards of its own: it takes as long as one
    assert solve(inputs(jobs=[dual], passes=last))["value_upper_bound"] == pytest.approx(2 * 600.0, rel=LP_TOL)


def test_downlink_bytes_bound_the_value():
    jobs = [job(i, 50.0, out_bytes=5_000) for i in range(20)]  # 100 bytes per GPU-s, each done within a bin
    d = inputs(jobs=jobs, pass_bytes=30_000.0)  # each pass takes three results' bytes
    out = solve(d)
    # the first pass takes what bin 0 can do (4 boards at 500 W), the last pass its 300 GPU-s
    assert out["value_upper_bound"] == pytest.approx(300.0 + 4 * curve(500.0) * BIN_S, rel=LP_TOL)


def test_a_radiator_that_sheds_nothing_leaves_only_the_stored_heat():
    # q(T) = 0 at every temperature: compute can only warm the satellite from 20 to 92 degC
    d = inputs(solar_w=10_000.0, cool=False, heat_capacity_j_per_k=1e5)
    stored_wh = 1e5 * (92.0 - 20.0) / 3600.0
    hk_wh = 600.0 * 60 * BIN_S / 3600.0  # housekeeping heat goes into the same store
    assert solve(d)["energy_upper_bound_wh"] <= stored_wh - hk_wh + 1e-6


def test_the_coldest_radiator_emits_just_the_housekeeping_heat_parked_on_it():
    sigma, space_k = 5.670374419e-8, 3.0
    t_c = coldest_radiator_c(600.0, 5.0, 0.9, initial_c=20.0)
    emitted_w = 0.9 * sigma * 5.0 * ((t_c + 273.15) ** 4 - space_k**4)
    assert emitted_w == pytest.approx(600.0, rel=1e-9)
    assert -60.0 < t_c < -45.0, "a 5 m2 radiator carrying 600 W sits near -53 degC"
    assert coldest_radiator_c(600.0, 5.0, 0.9, initial_c=-80.0) == -80.0, "it may start colder"
    assert coldest_radiator_c(0.0, 5.0, 0.9, initial_c=20.0) == T_LO_C, "nothing parked: the floor"


def three_store(**kw) -> OracleInputs:
    """A hot radiator (rejection rises with temperature), plates 400 W/K to it, boards 100 W/K each to plates."""
    base = dict(solar_w=20_000.0, boards=16, cool=False, q0_w=np.full(60, 0.0), q1_w_per_k=30.0,
                t_lo_c=-50.0, t_hi_c=85.0, heat_capacity_j_per_k=16 * 6000.0 + 4 * 5000.0,
                radiator_heat_capacity_j_per_k=1.5e5, plate_to_radiator_w_per_k=1600.0)
    base.update(kw)
    return inputs(**base)


def test_the_boards_drop_to_their_plates_tightens_the_heat_bound():
    two = solve(three_store())["energy_upper_bound_wh"]
    three = solve(three_store(board_to_plate_w_per_k=1600.0, board_heat_capacity_j_per_k=16 * 6000.0))
    assert three["energy_upper_bound_wh"] < two - 1.0, "the boards' own drop costs rejection"
    assert three["energy_upper_bound_wh"] > 0.5 * two, "but it is a drop of a few kelvin, not a wall"


def test_oracle_inputs_come_from_the_world_and_the_cli_prints_json(tmp_path: Path):
    sc = load_scenario("default")
    d = oracle_inputs(sc, 2.0)
    assert len(d.solar_w) == 120 and d.pass_bins, "the default's first pass is in its first hour"
    assert 8000.0 < float(d.solar_w.max()) < 9500.0, "22 m2 x 30 % x 1361 W/m2 in full sun"
    assert float(d.solar_w.min()) == 0.0, "an eclipse within two hours"
    done = subprocess.run([sys.executable, "-m", "sim.cli", "oracle", "--hours", "2", "--json"],
                          capture_output=True, text=True, timeout=120, check=True)
    out = json.loads(done.stdout.strip().splitlines()[-1])
    assert {"value_upper_bound", "energy_upper_bound_wh", "solve_s"} <= set(out)
    assert out["value_upper_bound"] > 0 and out["energy_upper_bound_wh"] > 0
    bad = subprocess.run([sys.executable, "-m", "sim.cli", "oracle", "--hours", "-1"],
                         capture_output=True, text=True, timeout=60)
    assert bad.returncode == 2 and "--hours" in bad.stderr


def test_the_bound_rounds_windows_outward():
    """Coarser bins never tighten the bound below a finer one by more than the curve's slack."""
    sc = load_scenario("default")
    fine = oracle(sc, 2.0, bin_s=60.0)["value_upper_bound"]
    coarse = oracle(sc, 2.0, bin_s=300.0)["value_upper_bound"]
    assert coarse >= fine * (1 - 0.01)


@pytest.mark.parametrize("policy", POLICY_NAMES)
def test_no_policy_beats_the_bound_on_the_default_first_hours(policy, tmp_path: Path):
    from sim.harness import RunConfig, run

    sc = load_scenario("default")
    hours = 2.0
    rep = run(RunConfig(scenario=sc, scenario_ref="default", hours=hours, seed=0, policy=policy, mode="fast",
                        out_dir=tmp_path / policy, plots=False))
    bound = oracle(sc, hours)
    assert rep["violations"]["soc_floor"] == 0 and rep["violations"]["board_overtemp"] == 0, \
        "the bound's promise covers runs within the floor and the boards' limit"
    assert rep["value_delivered"] > 0, "the first passes deliver results"
    assert rep["value_delivered"] <= bound["value_upper_bound"], (policy, rep["value_delivered"], bound)
    assert rep["energy"]["to_compute_wh"] <= bound["energy_upper_bound_wh"] * (1 + ENVELOPE_TOL)


def test_a_scenario_whose_housekeeping_alone_breaks_the_floor_has_no_bound():
    d = inputs(solar_w=0.0, capacity_wh=1000.0, initial_wh=300.0, floor_wh=250.0)  # 50 Wh for 600 Wh of need
    with pytest.raises(ValueError, match="no bound"):
        solve(d)


def test_inputs_are_frozen():
    d = inputs()
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.bin_s = 1.0  # type: ignore[misc]


PASSES = ((0, 1), (20, 25), (55, 60))  # bins: a pass at the start, one mid-hour, one at the end
job_draws = st.lists(st.tuples(
    st.floats(10.0, 4000.0),  # work [GPU-s]
    st.integers(1, 4),  # boards
    st.floats(0.0, 3500.0),  # release [s]
    st.one_of(st.none(), st.floats(0.0, 4000.0)),  # deadline after release [s]
    st.integers(0, 3)), min_size=1, max_size=6)


def _jobs(draws) -> list[JobSpec]:
    return [job(i, w, boards=b, release_s=r, deadline_s=None if dl is None else r + dl, priority=p)
            for i, (w, b, r, dl, p) in enumerate(draws)]


def _list_schedule_value(jobs: list[JobSpec], boards: int) -> float:
    """A real schedule's value (a lower bound on the bound): each job, in release order,
    on its boards at full speed as soon as it is on board (its first contact at or after
    release) and they are free; worth its value if a pass delivers it by its deadline."""
    free_at = [0.0] * boards
    passes_s = [(a * BIN_S, e * BIN_S) for a, e in PASSES]
    total = 0.0
    for j in sorted(jobs, key=lambda j: j.release_t_ns):
        rel = j.release_t_ns / NS
        on = next((max(rel, a) for a, e in passes_s if e > rel), None)
        if on is None:
            continue
        order = sorted(range(boards), key=lambda b: free_at[b])[: j.boards_needed]
        start = max(on, max(free_at[b] for b in order))
        end = start + j.work_gpu_s / j.boards_needed
        due = math.inf if j.deadline_t_ns < 0 else j.deadline_t_ns / NS
        delivered = next((max(end, a) for a, e in passes_s if e >= end), None)
        if delivered is None or delivered > due:
            continue  # never started: its boards stay free
        for b in order:
            free_at[b] = end
        total += PRIORITY_WEIGHT[j.priority] * j.work_gpu_s
    return total


@settings(max_examples=40, deadline=None, derandomize=True)
@given(draws=job_draws)
def test_the_bound_is_never_below_a_schedule_that_runs_each_job_on_its_boards_at_full_speed(draws):
    """With ample sun and cooling, a list schedule of the same jobs (each at full speed on
    its boards) is never worth more than the bound: the makespan rule cut nothing it did."""
    jobs = _jobs(draws)
    bound = solve(inputs(jobs=jobs, passes=PASSES, solar_w=10_000.0))["value_upper_bound"]
    assert _list_schedule_value(jobs, 4) <= bound * (1 + LP_TOL) + 1e-6


@settings(max_examples=40, deadline=None, derandomize=True)
@given(draws=job_draws, extra=st.tuples(st.floats(0.0, 3500.0), st.integers(1, 4), st.integers(0, 3)))
def test_a_job_its_boards_cannot_finish_by_any_pass_adds_nothing(draws, extra):
    jobs = _jobs(draws)
    release_s, boards, priority = extra
    # on board by its first contact at or after release; the last pass ends at bin 60
    too_big = job(99, (60 * BIN_S - release_s) * boards + BIN_S * boards, boards=boards, release_s=release_s,
                  priority=priority)
    d = inputs(jobs=jobs, passes=PASSES, solar_w=10_000.0)
    without = solve(d)["value_upper_bound"]
    with_it = solve(dataclasses.replace(d, jobs=[*jobs, too_big]))["value_upper_bound"]
    assert with_it == pytest.approx(without, rel=LP_TOL, abs=1e-6)


@settings(max_examples=60, deadline=None, derandomize=True)
@given(release_s=st.floats(0.0, 3500.0), boards=st.integers(1, 4), later=st.integers(0, 2),
       deadline_frac=st.one_of(st.none(), st.floats(0.0, 1.0)), fill=st.floats(0.5, 1.0), priority=st.integers(0, 3))
def test_a_job_that_just_fits_before_its_pass_ends_or_its_deadline_counts(release_s, boards, later, deadline_frac,
                                                                          fill, priority):
    """At the rule's edge: a job whose work, at full speed on its boards from the moment it
    comes on board, ends at (fill = 1) or before its pass's end or its deadline is counted whole."""
    passes_s = [(a * BIN_S, e * BIN_S) for a, e in PASSES]
    first = next((k for k, (a, e) in enumerate(passes_s) if e > release_s), None)
    assume(first is not None and first + later < len(PASSES))
    on_s = max(release_s, passes_s[first][0])
    a_s, e_s = passes_s[first + later]
    due_s = e_s if deadline_frac is None else max(on_s, a_s) + deadline_frac * (e_s - max(on_s, a_s))
    assume(due_s - on_s >= 1.0)
    work = boards * (due_s - on_s) * fill
    j = job(1, work, boards=boards, release_s=release_s, priority=priority,
            deadline_s=None if deadline_frac is None else due_s)
    assert _list_schedule_value([j], 4) == pytest.approx(PRIORITY_WEIGHT[priority] * work), "the schedule does it"
    bound = solve(inputs(jobs=[j], passes=PASSES, solar_w=10_000.0))["value_upper_bound"]
    assert bound == pytest.approx(PRIORITY_WEIGHT[priority] * work, rel=LP_TOL)
