"""``sim``: run the simulated satellite with the flight software, and look at its sky.

    sim run [--scenario NAME|FILE] [--hours H] [--seed N] [--policy NAME]
            [--mode hil|fast|realtime] [--faults FILE] [--out DIR] [--json]
    sim eclipses --scenario NAME|FILE [--hours H] --json
    sim passes   --scenario NAME|FILE [--hours H] --json
    sim oracle   --scenario NAME|FILE [--hours H] --json
    sim bench scheduling [--scenarios a,b] [--policies p,q] [--seeds N] [--hours H]
                         [--workers W] [--out DIR] [--json]
    sim campaign [--examples N] [--steps S] [--workers W] [--scheduler ADDRESS] [--planted]
                 [--out DIR] [--json]
    sim chaos [--runs N] [--hours H] [--seed S] [--rate R] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flightsw.icd.policies import DEFAULT_POLICY, POLICY_NAMES
from sim.scenario import ScenarioError, load_scenario

__all__ = ["main"]


def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="sim", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    r = sub.add_parser("run", help="run a scenario with the flight software in the loop")
    r.add_argument("--scenario", default="default")
    r.add_argument("--hours", type=float, default=24.0)
    r.add_argument("--seed", type=int, default=0)
    r.add_argument("--policy", default=DEFAULT_POLICY)  # "predictive"
    r.add_argument("--mode", choices=("hil", "fast", "realtime"), default="hil")
    r.add_argument("--speed", type=float, default=60.0, help="realtime mode: sim seconds per wall second")
    r.add_argument("--faults", default=None, help="TOML fault plan")
    r.add_argument("--out", default="out/run")
    r.add_argument("--json", action="store_true", help="end stdout with the report on one line")
    r.add_argument("--no-plots", action="store_true")
    r.add_argument("--keys", default=None,
                   help="telecommand keyring (default: $SUNSCHED_LINK_KEYS or ~/.config/sunsched/link-keys.json)")
    for name in ("eclipses", "passes"):
        e = sub.add_parser(name)
        e.add_argument("--scenario", default="default")
        e.add_argument("--hours", type=float, default=24.0)
        e.add_argument("--json", action="store_true")
    o = sub.add_parser("oracle", help="an upper bound on value_delivered (an LP, HiGHS)")
    o.add_argument("--scenario", default="default")
    o.add_argument("--hours", type=float, default=24.0)
    o.add_argument("--bin-s", type=float, default=60.0, help="time bin [s]")
    o.add_argument("--json", action="store_true")
    from sim.bench import add_arguments

    add_arguments(sub.add_parser("bench", help="every policy on the suite scenarios against the oracle "
                                               "(sim/bench.py)"))
    from sim.campaign_run import add_arguments as campaign_arguments

    campaign_arguments(sub.add_parser("campaign", help="the property-based fault campaign over the whole stack, "
                                                       "on a Dask cluster (sim/campaign_run.py)"))
    from sim.chaos import add_arguments as chaos_arguments

    chaos_arguments(sub.add_parser("chaos", help="hil runs with onboard processes killed and frozen at random "
                                                 "wall-clock moments (sim/chaos.py)"))
    return ap


def _cmd_oracle(args) -> int:
    from sim.oracle import oracle

    sc = load_scenario(args.scenario)
    if args.hours <= 0:
        raise ScenarioError(f"--hours: expected > 0, got {args.hours}")
    if not args.bin_s >= sc.tick_s:
        raise ScenarioError(f"--bin-s: expected >= the tick ({sc.tick_s} s), got {args.bin_s}")
    out = oracle(sc, args.hours, bin_s=args.bin_s)
    if args.json:
        print(json.dumps(out, sort_keys=True))
    else:
        print(f"scenario {out['scenario']}  {args.hours:g} h  ({out['bins']} bins of {out['bin_s']:g} s, "
              f"{out['groups']} job groups)")
        print(f"  value upper bound:  {out['value_upper_bound']:.0f}")
        print(f"  energy upper bound: {out['energy_upper_bound_wh'] / 1000:.1f} kWh to compute")
        print(f"  solved in {out['solve_s']:.2f} s")
    return 0


def _summary(rep: dict) -> str:
    e, j, v = rep["energy"], rep["jobs"], rep["violations"]
    lines = [
        f"scenario {rep['scenario']}  seed {rep['seed']}  policy {rep['policy']}  mode {rep['mode']}",
        f"  {rep['sim_hours']:g} simulated hours in {rep['wall_s']:.1f} s wall",
        f"  energy: harvested {e.get('harvested_wh', 0) / 1000:.1f} kWh, to compute "
        f"{e.get('to_compute_wh', 0) / 1000:.1f} kWh, curtailed {e.get('curtailed_wh', 0) / 1000:.1f} kWh",
        f"  work: {rep['work_gpu_s']:.0f} GPU-s   value delivered: {rep['value_delivered']:.0f}",
        f"  jobs: submitted {j['submitted']}, accepted {j['accepted']}, completed {j['completed']}, "
        f"downlinked {j['downlinked']}, failed {j['failed']}, expired {j['expired']}, lost {j['lost']}",
        f"  battery SOC min {rep['soc_min']:.3f}   board temp max {rep['board_temp_max_c']:.1f} C",
        f"  violations: {', '.join(f'{k} {n}' for k, n in v.items())}",
        f"  restarts: {len(rep['restarts'])}   events: {rep['events_by_severity']}",
        f"  digest {rep['digest']}",
    ]
    return "\n".join(lines)


def _cmd_run(args) -> int:
    from sim.harness import RunConfig, load_fault_plan, run

    sc = load_scenario(args.scenario)
    if args.hours <= 0:
        raise ScenarioError(f"--hours: expected > 0, got {args.hours}")
    cfg = RunConfig(scenario=sc, scenario_ref=args.scenario, hours=args.hours, seed=args.seed,
                    policy=args.policy, mode=args.mode, faults=load_fault_plan(args.faults),
                    out_dir=Path(args.out), speed=args.speed, plots=not args.no_plots,
                    keys_path=Path(args.keys) if args.keys else None)
    if cfg.policy not in POLICY_NAMES:
        raise ScenarioError(f"--policy: expected one of {list(POLICY_NAMES)}, got {cfg.policy!r}")
    bar = None
    progress = None
    if sys.stderr.isatty() or not args.json:
        from tqdm import tqdm

        bar = tqdm(total=cfg.n_ticks, unit="tick", unit_scale=True, desc=f"sim {args.mode}",
                   file=sys.stderr, mininterval=0.5, disable=None)

        def progress(tick: int) -> None:
            if tick % 600 == 599 or tick == cfg.n_ticks - 1:
                bar.update(tick + 1 - bar.n)

    try:
        rep = run(cfg, progress=progress)
    finally:
        if bar is not None:
            bar.close()
    print(_summary(rep))
    print(f"  output: {cfg.out_dir}/ (report.json, events.jsonl, plots/)")
    if args.json:
        print(json.dumps(rep, sort_keys=True))
    return 0


def main(argv: list[str] | None = None) -> int:
    from sim.harness import configure_logging

    configure_logging(proc="sim")
    args = _parser().parse_args(argv)
    try:
        if args.cmd == "run":
            return _cmd_run(args)
        if args.cmd == "oracle":
            return _cmd_oracle(args)
        if args.cmd == "bench":
            from sim.bench import main as bench_main

            return bench_main(args)
        if args.cmd == "campaign":
            from sim.campaign_run import main as campaign_main

            return campaign_main(args)
        if args.cmd == "chaos":
            from sim.chaos import main as chaos_main

            return chaos_main(args)
        from sim.environment import eclipses_json, passes_json

        sc = load_scenario(args.scenario)
        data = eclipses_json(sc, args.hours) if args.cmd == "eclipses" else passes_json(sc, args.hours)
        print(json.dumps(data) if args.json else "\n".join(json.dumps(d) for d in data))
        return 0
    except (ScenarioError, ValueError) as exc:  # bad input: a clear line, no traceback
        print(f"sim: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
