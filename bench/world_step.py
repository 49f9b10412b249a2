"""Cost of one world step for 16, 64 and 1,024 boards (all boards on and busy).

    python bench/world_step.py [--ticks 600]

Reports microseconds per step and the ratio to the 16-board step measured in the same
run. The physics is vectorised over boards, so the cost should grow at most linearly
(it is mostly fixed numpy-call overhead at these sizes).
"""

from __future__ import annotations

import argparse
import copy
import json
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from flightsw.icd.messages import BoardCommand, Envelope, Message  # noqa: E402
from sim.scenario import load_scenario, scenario_from_dict  # noqa: E402
from sim.world import World  # noqa: E402


def step_cost_us(n_boards: int, ticks: int) -> float:
    data = copy.deepcopy(load_scenario("default").data)
    scale = n_boards / data["boards"]["count"]
    data["boards"]["count"] = n_boards
    for key in ("panel_area_m2", "battery_capacity_wh", "battery_max_charge_w", "battery_max_discharge_w",
                "housekeeping_w"):
        data["power"][key] *= scale
    data["thermal"]["radiator_area_m2"] *= scale
    data["power"]["battery_initial_soc"] = 0.95
    w = World(scenario_from_dict(data), 200 + ticks, seed=0)
    cmd = BoardCommand(cap_w=(500.0,) * n_boards, job_id=tuple(f"j{b}" for b in range(n_boards)),
                       on=(1,) * n_boards)
    w.step(0, 0, [Message(Envelope(cmd.KIND, cmd.VERSION, "executor", 1, 0, 0, "world"), cmd)])
    for k in range(1, 200):  # boot
        w.step(k, k * 10**9, [])
    t0 = time.perf_counter()
    for k in range(200, 200 + ticks):
        w.step(k, k * 10**9, [])
    return (time.perf_counter() - t0) / ticks * 1e6


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--ticks", type=int, default=600)
    ap.add_argument("--out", default="out/world_step.json")
    args = ap.parse_args()
    results = {}
    for n in (16, 64, 1024):
        results[n] = step_cost_us(n, args.ticks)
    base = results[16]
    print(f"{'boards':>7} {'us/step':>9} {'ratio to 16':>12} {'us per board':>13}")
    for n, us in results.items():
        print(f"{n:>7} {us:>9.1f} {us / base:>12.2f} {us / n:>13.2f}")
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps({str(k): v for k, v in results.items()}, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
