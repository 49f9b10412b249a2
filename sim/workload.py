"""The scenario's workload: jobs the ground releases over the run, drawn from a seed.

``backlog_jobs`` wait on the ground at the epoch; then arrivals are a Poisson process
(``jobs_per_hour``). Each job: kind matmul or synthetic (a ``dual_fraction`` of the
synthetic ones run twice on two sets of boards and compared: dual execution),
priority 0..3 (P = 0.4, 0.3, 0.2, 0.1), 1, 2 or 4 boards (P = 0.5, 0.3, 0.2), work =
boards x lognormal(median ``median_work_gpu_s``, sigma 0.6) GPU-seconds, a deadline for
a ``deadline_fraction`` of them, uniform in [deadline_min_h, deadline_max_h] after
release. Same scenario and seed -> the same jobs, always (numpy PCG64).

Bursts (``burst_every_h`` > 0 and ``burst_jobs`` > 0): at every multiple of
``burst_every_h`` within the horizon (not at the epoch) ``burst_jobs`` more jobs are
released at once, drawn the same way from a stream of their own
(``default_rng([seed, BURST_STREAM])``), with ids ``job-b00000``.... So bursts never
change the other jobs (ids, times, draws): a scenario without bursts gives exactly the
jobs it gave before bursts existed. The list is in release order; at equal times the
Poisson and backlog jobs come first.
"""

from __future__ import annotations

import numpy as np

from flightsw.icd.messages import JobSpec
from sim.scenario import Scenario

__all__ = ["generate_jobs", "BURST_STREAM"]

NS_PER_S = 1_000_000_000
PRIORITY_P = (0.4, 0.3, 0.2, 0.1)
BOARDS = (1, 2, 4)
BOARDS_P = (0.5, 0.3, 0.2)
MATMUL_N = (64, 128, 256)
SYNTHETIC_BYTES = (16 * 1024, 512 * 1024)
BURST_STREAM = 0xB0057  # the burst jobs' RNG stream, next to the workload seed


def _draw_job(rng: np.random.Generator, w: dict, max_boards: int, t_s: float, job_id: str) -> JobSpec:
    """One job released at ``t_s`` [s]. The order of the draws is part of the workload's
    definition (changing it changes every scenario's jobs)."""
    boards = int(rng.choice(BOARDS, p=BOARDS_P))
    boards = min(boards, max_boards)
    work = boards * float(w["median_work_gpu_s"] * np.exp(rng.normal(0.0, 0.6)))
    priority = int(rng.choice(4, p=PRIORITY_P))
    deadline_ns = -1
    if rng.random() < w["deadline_fraction"]:
        dl_h = float(rng.uniform(w["deadline_min_h"], w["deadline_max_h"]))
        deadline_ns = int((t_s + dl_h * 3600.0) * NS_PER_S)
    if rng.random() < w["matmul_fraction"]:
        n = int(rng.choice(MATMUL_N))
        kind, params, out_bytes = "matmul", {"n": n}, 12 + 8 * (n * n + 2 * n)
    else:
        kind, params = "synthetic", {}
        out_bytes = int(rng.integers(*SYNTHETIC_BYTES))
        if rng.random() < w.get("dual_fraction", 0.0):
            params = {"dual": True}
    return JobSpec(
        job_id=job_id,
        kind=kind,
        priority=priority,
        deadline_t_ns=deadline_ns,
        boards_needed=boards,
        work_gpu_s=round(work, 3),
        checkpoint_interval_s=float(w["checkpoint_interval_s"]),
        input_bytes=0,
        output_bytes=out_bytes,
        release_t_ns=int(t_s * NS_PER_S),
        seed=int(rng.integers(0, 2**32 - 1)),
        params=params,
    )


def _burst_jobs(w: dict, seed: int, max_boards: int, horizon_s: float) -> list[JobSpec]:
    every_h, count = float(w.get("burst_every_h", 0.0)), int(w.get("burst_jobs", 0))
    if every_h <= 0.0 or count <= 0:
        return []
    rng = np.random.default_rng([seed, BURST_STREAM])
    jobs: list[JobSpec] = []
    k = 1
    while (t_s := k * every_h * 3600.0) < horizon_s:
        for _ in range(count):
            jobs.append(_draw_job(rng, w, max_boards, t_s, f"job-b{len(jobs):05d}"))
        k += 1
    return jobs


def generate_jobs(scenario: Scenario, hours: float, seed: int | None = None) -> list[JobSpec]:
    """The jobs released within ``hours`` of the epoch, in release order. ``seed``
    overrides the scenario's ``workload.seed``."""
    w = scenario["workload"]
    seed = int(w["seed"] if seed is None else seed)
    rng = np.random.default_rng(seed)
    horizon_s = hours * 3600.0
    rate_per_s = w["jobs_per_hour"] / 3600.0
    t_s = 0.0
    jobs: list[JobSpec] = []
    max_boards = scenario["boards"]["count"]
    backlog = int(w["backlog_jobs"])
    while True:
        if len(jobs) >= backlog:
            if rate_per_s <= 0:
                break
            t_s += float(rng.exponential(1.0 / rate_per_s))
            if t_s >= horizon_s:
                break
        jobs.append(_draw_job(rng, w, max_boards, t_s, f"job-{len(jobs):05d}"))
    bursts = _burst_jobs(w, seed, max_boards, horizon_s)
    if not bursts:
        return jobs
    # a stable sort: at equal times the Poisson jobs (first in the list) stay first
    return sorted(jobs + bursts, key=lambda j: j.release_t_ns)
