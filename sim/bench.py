"""``sim bench scheduling``: every policy on the suite scenarios, against the oracle.

    sim bench scheduling [--scenarios a,b] [--policies p,q] [--seeds N] [--hours H]
                         [--workers W] [--out DIR] [--json]
    sim bench merge --from DIR1,DIR2[,...] [--out DIR] [--json]

For each scenario and seed s in 0..N-1 a variant of the scenario draws its workload with
``workload.seed`` = the scenario's seed + s (the world's seed is s too); the oracle
(sim/oracle.py) bounds the variant's value once, and every policy runs it in fast mode.
The runs and the oracle solves share a pool of W spawned processes. Under DIR:

- ``results.json``: the config, the oracle bound of every variant, one row per run;
- ``table.md``: one row per scenario x policy: value / bound (mean and min over seeds),
  energy to compute / harvested, curtailed energy, deadline misses, SOC min, board
  temperature max, violations;
- ``value_vs_bound.png``: value / bound per scenario, grouped by policy, with a line at
  TARGET_RATIO;
- ``runs/<scenario>/seed<s>/<policy>/``: each run's report.json (with ``--keep-runs``, its whole output: events, archives).

A run whose value exceeds its bound (``above_bound``) means the oracle is wrong: it is
flagged in the table and the JSON, and the command exits 1 (as it does when a run fails).

``sim bench merge`` joins benches run apart (say the baselines on one machine and the
default policy on another, or a failed run redone) into one results.json, table and
plot: they must agree on the hours and the oracle's bin, on the bound of every variant
they share (the same scenario and seed solved by different code is an error, named),
and every policy must have run the same variants (the table compares them seed for
seed); a run (scenario, seed, policy) in two of them is an error unless one of the two
failed (the run that worked is kept). The output folder may not be one of the inputs.
"""

from __future__ import annotations

import argparse
import copy
import json
import multiprocessing
import os
import shutil
import sqlite3
import statistics
import sys
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future, ProcessPoolExecutor, as_completed
from dataclasses import dataclass
from pathlib import Path

from sim.scenario import Scenario, ScenarioError, load_scenario, scenario_from_dict

__all__ = ["SUITE", "TARGET_RATIO", "BenchConfig", "MergeError", "add_arguments", "against_bound",
           "config_from_args", "deadline_misses", "merge_results", "run_bench", "scenario_variant", "summarize",
           "table_markdown", "main"]

# The benchmark suite: each stresses one limit (see each file's header comment).
SUITE = ("default", "sso-eclipse-season", "sso-no-eclipse", "energy-limited", "thermal-limited",
         "deadline-bursty", "degraded")
TARGET_RATIO = 0.95  # value / bound a good policy should reach (the plot's line)
ABOVE_BOUND_REL = 1e-6  # value above bound x (1 + this): the bound is broken, not rounding
SEED_MOD = 2**32  # workload.seed's range
NS_PER_S = 1_000_000_000
DEFAULT_OUT = Path("out/bench-scheduling")


@dataclass(frozen=True)
class BenchConfig:
    """``scenarios``: built-in names or TOML paths; ``policies``: executor policy names."""

    scenarios: tuple[str, ...] = SUITE
    policies: tuple[str, ...] = ()
    seeds: int = 3
    hours: float = 24.0
    workers: int = 2
    out_dir: Path = DEFAULT_OUT
    bin_s: float = 60.0  # the oracle's time bin [s]
    keep_runs: bool = False  # keep each run's archives (~0.5 GB a run-day); else only its report.json


def scenario_variant(sc: Scenario, seed_offset: int) -> Scenario:
    """``sc`` with its workload drawn from seed ``workload.seed + seed_offset``."""
    data = copy.deepcopy(sc.data)
    data["workload"]["seed"] = (int(data["workload"]["seed"]) + seed_offset) % SEED_MOD
    return scenario_from_dict(data)


def deadline_misses(archive_path: Path, horizon_ns: int) -> tuple[int, int]:
    """(due, missed) from a run's ground archive: jobs whose deadline fell within the run,
    and those of them whose result was not on the ground (downlinked) by the deadline."""
    db = sqlite3.connect(f"file:{archive_path}?mode=ro", uri=True)
    try:
        due, missed = db.execute(
            "SELECT COUNT(*), COALESCE(SUM(downlinked_t_ns IS NULL OR downlinked_t_ns > deadline_t_ns), 0) "
            "FROM jobs WHERE deadline_t_ns >= 0 AND deadline_t_ns <= ?", (horizon_ns,)).fetchone()
    finally:
        db.close()
    return int(due), int(missed)


def against_bound(value: float, bound: float) -> tuple[float | None, bool]:
    """(value / bound, whether the value broke the bound). The ratio is None when the
    bound is 0 (nothing could be delivered); a value above the bound by more than
    ABOVE_BOUND_REL (the LP's rounding) means the oracle is wrong."""
    ratio = value / bound if bound > 0 else None
    return ratio, value > bound * (1.0 + ABOVE_BOUND_REL) + 1e-9


# ------------------------------------------------------------------- pool tasks
_configured = False


def _quiet() -> None:
    """Once per worker: only errors on stderr (W runs of warnings would bury the progress),
    and the worker's stdout (HiGHS's banner) sent to stderr: the parent's stdout carries
    only the table and the summary line."""
    global _configured
    if not _configured:
        from sim.harness import configure_logging

        sys.stdout.flush()
        os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
        configure_logging(proc="bench", level="ERROR")
        _configured = True


def _oracle_task(name: str, seed: int, data: dict, hours: float, bin_s: float) -> dict:
    _quiet()
    from sim.oracle import oracle

    out = oracle(scenario_from_dict(data), hours, bin_s=bin_s)
    return {"scenario": name, "seed": seed, "workload_seed": data["workload"]["seed"],
            "value_upper_bound": float(out["value_upper_bound"]),
            "energy_upper_bound_wh": float(out["energy_upper_bound_wh"]),
            "solve_s": out.get("solve_s"), "status": out.get("status"), "jobs": out.get("jobs"),
            "jobs_too_slow": out.get("jobs_too_slow")}


def _run_task(name: str, seed: int, policy: str, data: dict, hours: float, out_dir: str,
              keep_runs: bool = False) -> dict:
    _quiet()
    from sim.harness import RunConfig, run

    sc = scenario_from_dict(data)
    cfg = RunConfig(scenario=sc, scenario_ref=name, hours=hours, seed=seed, policy=policy, mode="fast",
                    plots=False, out_dir=Path(out_dir))
    rep = run(cfg)
    e = rep["energy"]
    harvested = float(e.get("harvested_wh", 0.0))
    to_compute = float(e.get("to_compute_wh", 0.0))
    due, missed = deadline_misses(cfg.out_dir / "ground" / "archive.sqlite", cfg.n_ticks * int(sc.tick_s * NS_PER_S))
    if not keep_runs:  # a full bench's archives run to tens of GB: keep the report, drop the rest
        for item in cfg.out_dir.iterdir():
            if item.name != "report.json":
                shutil.rmtree(item) if item.is_dir() else item.unlink()
    return {
        "scenario": name, "seed": seed, "workload_seed": data["workload"]["seed"], "policy": policy,
        "value_delivered": float(rep["value_delivered"]),
        "harvested_wh": harvested, "to_compute_wh": to_compute,
        "compute_fraction": to_compute / harvested if harvested > 0 else None,  # None: all in eclipse
        "curtailed_wh": float(e.get("curtailed_wh", 0.0)),
        "deadline_due": due, "deadline_missed": missed,
        "soc_min": rep["soc_min"], "board_temp_max_c": rep["board_temp_max_c"],
        "violations": dict(rep["violations"]), "violations_total": int(sum(rep["violations"].values())),
        "jobs": dict(rep["jobs"]), "work_gpu_s": float(rep["work_gpu_s"]),
        "wall_s": rep["wall_s"], "digest": rep["digest"], "run_dir": str(cfg.out_dir),
    }


# ------------------------------------------------------------------- the bench
def _tasks(cfg: BenchConfig) -> tuple[list[tuple], list[tuple]]:
    oracles, runs = [], []
    for ref in cfg.scenarios:
        base = load_scenario(ref)
        for s in range(cfg.seeds):
            data = scenario_variant(base, s).data
            oracles.append((base.name, s, data, cfg.hours, cfg.bin_s))
            for policy in cfg.policies:
                out = cfg.out_dir / "runs" / base.name / f"seed{s}" / policy
                runs.append((base.name, s, policy, data, cfg.hours, str(out), cfg.keep_runs))
    return oracles, runs


def run_bench(cfg: BenchConfig, log: Callable[[str], None] | None = None) -> dict:
    """Run the bench; write results.json, table.md and the plot under ``cfg.out_dir``.
    Returns the results (what results.json holds). A run or a solve that raises is kept
    as a row with its ``error``; the others go on."""
    log = log or (lambda line: None)
    t0 = time.monotonic()
    oracles, runs = _tasks(cfg)
    cfg.out_dir.mkdir(parents=True, exist_ok=True)
    bounds: dict[tuple[str, int], dict] = {}
    rows: list[dict] = []
    ctx = multiprocessing.get_context("spawn")
    with ProcessPoolExecutor(max_workers=cfg.workers, mp_context=ctx) as pool:
        futures: dict[Future, tuple[str, tuple]] = {}
        for t in oracles:  # first: they are short, and every row needs one
            futures[pool.submit(_oracle_task, *t)] = ("oracle", t)
        for t in runs:
            futures[pool.submit(_run_task, *t)] = ("run", t)
        done = 0
        for fut in as_completed(futures):
            what, t = futures[fut]
            done += 1
            try:
                res = fut.result()
                error = None
            except Exception as exc:  # noqa: BLE001 - kept in the row, the bench goes on
                res, error = None, f"{type(exc).__name__}: {exc}"
            if what == "oracle":
                name, s = t[0], t[1]
                bounds[(name, s)] = res or {"scenario": name, "seed": s, "error": error}
                msg = (f"bound {res['value_upper_bound']:.0f} in {res['solve_s']} s" if res else f"FAILED {error}")
                log(f"[{done}/{len(futures)}] oracle {name} seed {s}: {msg}")
            else:
                name, s, policy = t[0], t[1], t[2]
                rows.append(res or {"scenario": name, "seed": s, "policy": policy, "error": error})
                msg = (f"value {res['value_delivered']:.0f} in {res['wall_s']:.0f} s" if res else f"FAILED {error}")
                log(f"[{done}/{len(futures)}] {name} seed {s} {policy}: {msg}")
    order = [load_scenario(r).name for r in cfg.scenarios]
    config = {"scenarios": list(cfg.scenarios), "policies": list(cfg.policies), "seeds": cfg.seeds,
              "hours": cfg.hours, "workers": cfg.workers, "bin_s": cfg.bin_s, "target_ratio": TARGET_RATIO}
    results = _pooled(config, list(bounds.values()), rows, order, time.monotonic() - t0)
    write_results(results, cfg.out_dir)
    return results


class MergeError(ValueError):
    """Bench results that cannot be joined; the message names the part and the field."""


BOUND_MATCH_REL = ABOVE_BOUND_REL  # the same variant's bound from two solves: equal within the LP's rounding


def merge_results(parts: Sequence[dict], names: Sequence[str] | None = None) -> dict:
    """Bench results (each what results.json holds) joined into one, as if run together:
    rows and bounds pooled, the summary, the flags and the errors recomputed. ``names``
    label the parts in errors (default: part 1, 2, ...)."""
    if not parts:
        raise MergeError("merge: expected at least one bench's results, got none")
    names = list(names) if names is not None else [f"part {i + 1}" for i in range(len(parts))]
    first = parts[0]["config"]
    for name, part in zip(names, parts, strict=True):
        for key in ("hours", "bin_s"):
            if part["config"][key] != first[key]:
                raise MergeError(f"{name}: config.{key}: expected {first[key]!r} (as {names[0]}), "
                                 f"got {part['config'][key]!r}")
    bounds: dict[tuple[str, int], tuple[str, dict]] = {}
    for name, part in zip(names, parts, strict=True):
        for b in part["oracle"]:
            key = (b["scenario"], b["seed"])
            seen = bounds.get(key)
            if seen is None or "error" in seen[1]:
                bounds[key] = (name, b)
                continue
            if "error" in b:
                continue
            old, new = seen[1]["value_upper_bound"], b["value_upper_bound"]
            if abs(old - new) > BOUND_MATCH_REL * max(abs(old), abs(new), 1.0):
                raise MergeError(f"{name}: oracle {key[0]} seed {key[1]}: expected the bound {seen[0]} has, "
                                 f"{old:.6g}, got {new:.6g} (solved by different code?)")
    rows: dict[tuple[str, int, str], tuple[str, dict]] = {}
    for name, part in zip(names, parts, strict=True):
        for r in part["runs"]:
            key = (r["scenario"], r["seed"], r["policy"])
            seen = rows.get(key)
            if seen is not None and "error" not in seen[1] and "error" not in r:
                raise MergeError(f"{name}: run {key[0]} seed {key[1]} {key[2]}: expected it in one part only, "
                                 f"also in {seen[0]}")
            if seen is None or "error" in seen[1]:  # a failed run gives way to one that worked
                rows[key] = (name, r)
    variants: dict[str, set[tuple[str, int]]] = {}
    for scenario, seed, policy in rows:
        variants.setdefault(policy, set()).add((scenario, seed))
    ref_policy, ref = next(iter(variants.items()), ("", set()))
    for policy, got in variants.items():
        if got != ref:
            diff = sorted(got ^ ref)[:3]
            raise MergeError(f"policy {policy}: expected the scenarios and seeds {ref_policy} ran "
                             f"({len(ref)}), got {len(got)}; differing: {diff}")
    scenarios = list(dict.fromkeys(n for p in parts for n in p["config"]["scenarios"]))
    policies = list(dict.fromkeys(n for p in parts for n in p["config"]["policies"]))
    config = {"scenarios": scenarios, "policies": policies, "seeds": max(p["config"]["seeds"] for p in parts),
              "hours": first["hours"], "workers": max(p["config"]["workers"] for p in parts),
              "bin_s": first["bin_s"], "target_ratio": first.get("target_ratio", TARGET_RATIO),
              "merged_from": names}
    order = list(dict.fromkeys(b["scenario"] for p in parts for b in p["oracle"]))
    return _pooled(config, [b for _, b in bounds.values()], [dict(r) for _, r in rows.values()], order,
                   sum(p.get("wall_s", 0.0) for p in parts))


def _pooled(config: dict, oracle: list[dict], rows: list[dict], scenario_order: Sequence[str],
            wall_s: float) -> dict:
    """The results of a bench: each row given its variant's bound and the check that it
    holds, rows and bounds in scenario, seed and policy order, the summary, the runs above
    their bound and the failures."""
    bounds = {(b["scenario"], b["seed"]): b for b in oracle}
    for row in rows:
        bound = bounds.get((row["scenario"], row["seed"]), {}).get("value_upper_bound")
        row["value_upper_bound"] = bound
        if "error" in row or bound is None:
            row["value_ratio"], row["above_bound"] = None, False
        else:
            row["value_ratio"], row["above_bound"] = against_bound(row["value_delivered"], bound)
    s_order = {n: i for i, n in enumerate(scenario_order)}
    p_order = {p: i for i, p in enumerate(config["policies"])}
    rows.sort(key=lambda r: (s_order.get(r["scenario"], 0), r["seed"], p_order.get(r["policy"], 0)))
    oracle = sorted(oracle, key=lambda b: (s_order.get(b["scenario"], 0), b["seed"]))
    return {
        "config": config,
        "oracle": oracle,
        "runs": rows,
        "summary": summarize(rows, config["policies"]),
        "above_bound": [{k: r[k] for k in ("scenario", "seed", "policy", "value_delivered", "value_upper_bound")}
                        for r in rows if r.get("above_bound")],
        "errors": [{k: r.get(k) for k in ("scenario", "seed", "policy", "error")} for r in rows if "error" in r]
        + [{"scenario": b["scenario"], "seed": b["seed"], "policy": None, "error": b["error"]}
           for b in oracle if "error" in b],
        "wall_s": round(wall_s, 3),
    }


def write_results(results: dict, out_dir: Path) -> None:
    """results.json, table.md and the plot under ``out_dir``."""
    out_dir.mkdir(parents=True, exist_ok=True)
    (out_dir / "results.json").write_text(json.dumps(results, indent=2, sort_keys=True) + "\n")
    (out_dir / "table.md").write_text(table_markdown(results))
    write_plot(results["summary"], results["config"]["policies"], out_dir / "value_vs_bound.png")


def summarize(rows: Sequence[dict], policies: Sequence[str]) -> list[dict]:
    """One row per scenario x policy over its seeds (runs that failed are counted apart)."""
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in rows:
        groups.setdefault((r["scenario"], r["policy"]), []).append(r)
    out = []
    for (name, policy), rs in groups.items():
        ok = [r for r in rs if "error" not in r and r.get("value_ratio") is not None]
        ratios = [r["value_ratio"] for r in ok]

        def mean(key: str, rs=ok) -> float | None:
            xs = [r[key] for r in rs if r[key] is not None]
            return statistics.fmean(xs) if xs else None

        out.append({
            "scenario": name, "policy": policy, "runs": len(rs), "failed": len(rs) - len(ok),
            "value_ratio_mean": statistics.fmean(ratios) if ratios else None,
            "value_ratio_min": min(ratios) if ratios else None,
            "value_delivered_mean": mean("value_delivered"),
            "value_upper_bound_mean": mean("value_upper_bound"),
            "compute_fraction_mean": mean("compute_fraction"),
            "curtailed_kwh_mean": None if not ok else mean("curtailed_wh") / 1000.0,
            "deadline_missed_mean": mean("deadline_missed"), "deadline_due_mean": mean("deadline_due"),
            "soc_min": min((r["soc_min"] for r in ok), default=None),
            "board_temp_max_c": max((r["board_temp_max_c"] for r in ok), default=None),
            "violations_total": sum(r["violations_total"] for r in ok),
            "above_bound": sum(bool(r.get("above_bound")) for r in rs),
        })
    return out


def _fmt(x, spec: str) -> str:
    return "-" if x is None else format(x, spec)


def table_markdown(results: dict) -> str:
    cfg = results["config"]
    lines = ["# Scheduling bench: value against the oracle's bound",
             "",
             f"{cfg['hours']:g} h per run, {cfg['seeds']} seed(s), policies {', '.join(cfg['policies'])}; "
             f"value / bound: mean and min over seeds (target {cfg['target_ratio']:g}). Means over seeds "
             "unless said; SOC min and board temp max are the extremes over seeds; violations are "
             "violating ticks summed over seeds.", ""]
    if cfg.get("merged_from"):
        lines += [f"Merged from {len(cfg['merged_from'])} benches: {', '.join(cfg['merged_from'])}.", ""]
    if results["above_bound"]:
        lines += ["**WARNING: value above the oracle's bound (an oracle bug) in "
                  f"{len(results['above_bound'])} run(s):**", ""]
        lines += [f"- {a['scenario']} seed {a['seed']} {a['policy']}: value {a['value_delivered']:.0f} > "
                  f"bound {a['value_upper_bound']:.0f}" for a in results["above_bound"]]
        lines.append("")
    if results["errors"]:
        lines += [f"**{len(results['errors'])} run(s) or solve(s) failed:**", ""]
        lines += [f"- {e['scenario']} seed {e['seed']} {e['policy'] or 'oracle'}: {e['error']}"
                  for e in results["errors"]]
        lines.append("")
    lines += ["| scenario | policy | value/bound mean | value/bound min | compute/harvested | curtailed kWh "
              "| deadline misses (of due) | SOC min | board temp max C | violations | flag |",
              "|---|---|---|---|---|---|---|---|---|---|---|"]
    for s in results["summary"]:
        flag = []
        if s["above_bound"]:
            flag.append(f"**ABOVE BOUND x{s['above_bound']}**")
        if s["failed"]:
            flag.append(f"failed x{s['failed']}")
        lines.append(
            f"| {s['scenario']} | {s['policy']} | {_fmt(s['value_ratio_mean'], '.3f')} "
            f"| {_fmt(s['value_ratio_min'], '.3f')} | {_fmt(s['compute_fraction_mean'], '.3f')} "
            f"| {_fmt(s['curtailed_kwh_mean'], '.1f')} "
            f"| {_fmt(s['deadline_missed_mean'], '.1f')} ({_fmt(s['deadline_due_mean'], '.1f')}) "
            f"| {_fmt(s['soc_min'], '.3f')} | {_fmt(s['board_temp_max_c'], '.1f')} | {s['violations_total']} "
            f"| {' '.join(flag)} |")
    lines += ["", "Oracle bounds (value, energy to compute):", ""]
    for b in results["oracle"]:
        if "error" in b:
            lines.append(f"- {b['scenario']} seed {b['seed']}: FAILED {b['error']}")
        else:
            lines.append(f"- {b['scenario']} seed {b['seed']} (workload seed {b['workload_seed']}): "
                         f"{b['value_upper_bound']:.0f}, {b['energy_upper_bound_wh'] / 1000:.1f} kWh "
                         f"({b['status']}, {b['solve_s']} s"
                         + (f"; {b['jobs_too_slow']} of {b['jobs']} jobs too slow to finish in time"
                            if b.get("jobs_too_slow") else "") + ")")
    return "\n".join(lines) + "\n"


def write_plot(summary: Sequence[dict], policies: Sequence[str], path: Path) -> None:
    """Grouped bars: mean value / bound per scenario, one bar per policy; a tick marks the
    worst seed; a dashed line at TARGET_RATIO."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    scenarios = list(dict.fromkeys(s["scenario"] for s in summary))
    by = {(s["scenario"], s["policy"]): s for s in summary}
    width = 0.8 / max(len(policies), 1)
    fig, ax = plt.subplots(figsize=(max(6.0, 1.3 * len(scenarios) + 2.0), 4.0))
    for k, policy in enumerate(policies):
        xs = [i - 0.4 + width * (k + 0.5) for i in range(len(scenarios))]
        means = [(by.get((n, policy)) or {}).get("value_ratio_mean") for n in scenarios]
        mins = [(by.get((n, policy)) or {}).get("value_ratio_min") for n in scenarios]
        ax.bar(xs, [m if m is not None else 0.0 for m in means], width, label=policy)
        ax.plot([x for x, m in zip(xs, mins, strict=True) if m is not None], [m for m in mins if m is not None],
                "k_", markersize=8)
    ax.axhline(TARGET_RATIO, color="k", linestyle="--", linewidth=1, label=f"{TARGET_RATIO:g}")
    ax.axhline(1.0, color="r", linewidth=0.8)  # the bound itself: nothing may cross it
    ax.set_xticks(range(len(scenarios)), scenarios, rotation=20, ha="right")
    ax.set_ylabel("value / oracle bound")
    top = max([1.1] + [s["value_ratio_mean"] + 0.05 for s in summary if s["value_ratio_mean"] is not None])
    ax.set_ylim(0.0, top)  # above 1 only if a run beat its bound (an oracle bug: it shows)
    ax.set_title("value / oracle bound (bar: mean over seeds, tick: worst seed)", fontsize="medium")
    ax.legend(fontsize="small", ncols=min(len(policies) + 1, 5), loc="lower center",
              bbox_to_anchor=(0.5, 1.08), frameon=False)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)


# ------------------------------------------------------------------------ CLI
def add_arguments(p: argparse.ArgumentParser, what: bool = True) -> None:
    """The options of ``sim bench scheduling``; ``what``: with the bench's name first
    (``sim bench``'s positional argument; bench/scheduling.py goes without)."""
    if what:
        p.add_argument("what", choices=("scheduling", "merge"),
                       help="which bench; merge: join benches run apart (--from)")
        p.add_argument("--from", dest="merge_from", default=None,
                       help="merge: comma-separated bench output folders (each with its results.json)")
    p.add_argument("--scenarios", default=",".join(SUITE), help="comma-separated names or TOML files")
    p.add_argument("--policies", default=None, help="comma-separated (default: every policy)")
    p.add_argument("--seeds", type=int, default=3)
    p.add_argument("--hours", type=float, default=24.0)
    p.add_argument("--workers", type=int, default=2)
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--json", action="store_true", help="end stdout with a one-line summary")
    p.add_argument("--keep-runs", action="store_true",
                   help="keep every run's archives and events (default: only each run's report.json)")


def _names(text: str, where: str) -> tuple[str, ...]:
    names = tuple(dict.fromkeys(n.strip() for n in text.split(",") if n.strip()))
    if not names:
        raise ScenarioError(f"{where}: expected a comma-separated list, got {text!r}")
    return names


def config_from_args(args: argparse.Namespace) -> BenchConfig:
    """Checked arguments -> BenchConfig; ScenarioError names the bad option."""
    from flightsw.icd.policies import POLICY_NAMES

    if getattr(args, "merge_from", None) is not None:
        raise ScenarioError(f"--from: expected only with `sim bench merge`, got it with {args.what!r}")
    scenarios = _names(args.scenarios, "--scenarios")
    names = [load_scenario(ref).name for ref in scenarios]  # a bad name or file fails here, before any work
    if len(set(names)) != len(names):  # runs/<name>/... and the table's rows are by name
        raise ScenarioError(f"--scenarios: expected scenarios of different names, got {names}")
    policies = tuple(POLICY_NAMES) if args.policies is None else _names(args.policies, "--policies")
    bad = [p for p in policies if p not in POLICY_NAMES]
    if bad:
        raise ScenarioError(f"--policies: expected names from {list(POLICY_NAMES)}, got {bad}")
    if args.seeds < 1:
        raise ScenarioError(f"--seeds: expected >= 1, got {args.seeds}")
    if not args.hours > 0:
        raise ScenarioError(f"--hours: expected > 0, got {args.hours}")
    if args.workers < 1:
        raise ScenarioError(f"--workers: expected >= 1, got {args.workers}")
    return BenchConfig(scenarios=scenarios, policies=policies, seeds=args.seeds, hours=args.hours,
                       workers=args.workers, out_dir=Path(args.out), keep_runs=getattr(args, "keep_runs", False))


def summary_line(results: dict, out_dir: Path) -> dict:
    """The one-line summary ``--json`` prints: per policy the mean and min of value/bound
    over every scenario and seed, and the counts that must be 0."""
    by_policy: dict[str, list[float]] = {}
    for r in results["runs"]:
        if r.get("value_ratio") is not None:
            by_policy.setdefault(r["policy"], []).append(r["value_ratio"])
    return {"out": str(out_dir), "runs": len(results["runs"]), "seeds": results["config"]["seeds"],
            "hours": results["config"]["hours"], "scenarios": results["config"]["scenarios"],
            "value_ratio_mean": {p: statistics.fmean(v) for p, v in by_policy.items()},
            "value_ratio_min": {p: min(v) for p, v in by_policy.items()},
            "above_bound": len(results["above_bound"]), "errors": len(results["errors"]),
            "wall_s": results["wall_s"]}


MERGE_CONFIG_KEYS = ("scenarios", "policies", "seeds", "hours", "workers", "bin_s")


def load_parts(text: str | None, out: Path) -> tuple[list[dict], list[str]]:
    """``--from DIR1,DIR2``: each folder's results.json (none of them ``out``, which the
    merge writes); ScenarioError names what is wrong."""
    dirs = _names(text or "", "--from")
    for d in dirs:
        if Path(d).resolve() == out.resolve():
            raise ScenarioError(f"--out: expected a folder other than the inputs, got {str(out)!r}, one of --from")
    parts = []
    for d in dirs:
        path = Path(d) / "results.json"
        try:
            part = json.loads(path.read_text())
        except (OSError, ValueError) as exc:
            raise ScenarioError(f"--from: expected a bench's results.json in {d}, "
                                f"got {type(exc).__name__}: {exc}") from None
        if not isinstance(part, dict) or not {"config", "oracle", "runs"} <= set(part):
            raise ScenarioError(f"--from: {path}: expected a bench's results (config, oracle, runs), got "
                                f"{sorted(part) if isinstance(part, dict) else type(part).__name__}")
        missing = [k for k in MERGE_CONFIG_KEYS if not isinstance(part["config"], dict) or k not in part["config"]]
        if missing:
            raise ScenarioError(f"--from: {path}: expected config.{missing[0]} in a bench's results, got none")
        parts.append(part)
    return parts, list(dirs)


def main(args: argparse.Namespace) -> int:
    """``sim bench scheduling``: 0 if every run and solve worked and no value beat its
    bound, else 1. ``sim bench merge``: the same for the joined results."""
    if getattr(args, "what", "scheduling") == "merge":
        parts, dirs = load_parts(args.merge_from, Path(args.out))
        try:
            results = merge_results(parts, dirs)
        except MergeError as exc:
            raise ScenarioError(str(exc)) from exc
        out = Path(args.out)
        write_results(results, out)
        print((out / "table.md").read_text())
        print(f"output: {out}/ (results.json, table.md, value_vs_bound.png)")
        if args.json:
            print(json.dumps(summary_line(results, out), sort_keys=True))
        return 1 if results["above_bound"] or results["errors"] else 0
    cfg = config_from_args(args)
    n_runs = len(cfg.scenarios) * cfg.seeds * len(cfg.policies)
    print(f"sim bench scheduling: {len(cfg.scenarios)} scenario(s) x {cfg.seeds} seed(s) x "
          f"{len(cfg.policies)} policies = {n_runs} runs of {cfg.hours:g} h on {cfg.workers} worker(s)",
          file=sys.stderr)
    results = run_bench(cfg, log=lambda line: print(line, file=sys.stderr, flush=True))
    print((cfg.out_dir / "table.md").read_text())
    print(f"output: {cfg.out_dir}/ (results.json, table.md, value_vs_bound.png, runs/)")
    if args.json:
        print(json.dumps(summary_line(results, cfg.out_dir), sort_keys=True))
    return 1 if results["above_bound"] or results["errors"] else 0
