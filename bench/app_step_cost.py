"""Where a fast-mode tick goes: each participant's step (decode of its inbox, step, encode
of its outbox) and the hub's routing, in microseconds per tick of the default scenario,
and as a ratio to an idle lockstep round measured in the same run (7 participants that do
nothing, in memory). Ratios, not seconds, are what compare across machines.

    python bench/app_step_cost.py [--hours H] [--out out/app_step_cost.json]

In fast mode a message delivered to several participants is decoded once, by the first
of them in name order: its decode cost lands on that one.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from flightsw.bus import participant  # noqa: E402
from flightsw.bus.hub import HubCore  # noqa: E402
from flightsw.bus.participant import ParticipantSpec  # noqa: E402
from flightsw.bus.runner import run_lockstep  # noqa: E402
from sim.harness import RunConfig, run  # noqa: E402
from sim.scenario import load_scenario  # noqa: E402


def idle_round_us(ticks: int) -> float:
    specs = [ParticipantSpec(f"idle{i}", "bench_idle:make", {"name": f"idle{i}"}) for i in range(7)]
    t0 = time.perf_counter()
    run_lockstep(specs, ticks, mode="fast")
    return (time.perf_counter() - t0) / ticks * 1e6


def timed_run(hours: float, out_dir: Path) -> tuple[dict[str, float], int, float, float]:
    """A fast run with the endpoints and the hub timed: (seconds by part, ticks, loop wall,
    tick length [s])."""
    spent: Counter = Counter()
    handle = participant.Endpoint.handle
    begin, end = HubCore.begin_tick, HubCore.end_tick

    def timed_handle(self, *args, **kw):
        t0 = time.perf_counter()
        try:
            return handle(self, *args, **kw)
        finally:
            spent[self.name] += time.perf_counter() - t0

    def timed(fn, label):
        def wrapper(self, *args, **kw):
            t0 = time.perf_counter()
            try:
                return fn(self, *args, **kw)
            finally:
                spent[label] += time.perf_counter() - t0
        return wrapper

    participant.Endpoint.handle = timed_handle
    HubCore.begin_tick, HubCore.end_tick = timed(begin, "hub (batches)"), timed(end, "hub (routing, recorder)")
    try:
        cfg = RunConfig(scenario=load_scenario("default"), scenario_ref="default", hours=hours, mode="fast",
                        out_dir=out_dir, plots=False)
        report = run(cfg)
    finally:
        participant.Endpoint.handle = handle
        HubCore.begin_tick, HubCore.end_tick = begin, end
    tick_s = cfg.scenario.tick_s
    return dict(spent), round(hours * 3600.0 / tick_s), report["wall_s"], tick_s


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=2.0)
    ap.add_argument("--baseline-ticks", type=int, default=20000)
    ap.add_argument("--out", default="out/app_step_cost.json")
    args = ap.parse_args()
    idle_us = idle_round_us(args.baseline_ticks)
    with tempfile.TemporaryDirectory(prefix="app-step-cost-") as tmp:
        spent, ticks, wall_s, tick_s = timed_run(args.hours, Path(tmp) / "run")
    per_tick = {name: s / ticks * 1e6 for name, s in sorted(spent.items(), key=lambda kv: -kv[1])}
    total_us = wall_s / ticks * 1e6
    print(f"idle lockstep round: {idle_us:.1f} us/tick; full tick: {total_us:.1f} us "
          f"({total_us / idle_us:.1f} x idle; {total_us / 1e6 * 86400.0 / tick_s:.0f} s per simulated day)")
    print(f"{'part':26} {'us/tick':>9} {'x idle':>8} {'share':>7}")
    for name, us in per_tick.items():
        print(f"{name:26} {us:>9.1f} {us / idle_us:>8.1f} {us / total_us:>7.1%}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({"hours": args.hours, "idle_round_us": idle_us, "tick_us": total_us,
                                          "parts_us": per_tick}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
