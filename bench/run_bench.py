"""Speed and memory of a simulated day, as ratios against a baseline run in the same
process on the same machine (never timed assertions in tests: machines here are shared).

    python bench/run_bench.py [--hours H] [--out out/bench.json]

Reports, for the default scenario:
- simulated seconds per wall second in hil and fast modes, and the wall seconds a full
  day would take at that rate (targets: hil <= 120 s, fast <= 30 s on 2 cores);
- the same for the baseline: 7 participants that do nothing, over ZeroMQ (hil) and in
  memory (fast) — the cost of the lockstep itself — and the ratio full / baseline;
- peak resident memory of all processes of a hil run together (target <= 600 MB),
  sampled from /proc every 0.1 s.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(HERE.parent))

from flightsw.bus.participant import ParticipantSpec  # noqa: E402
from flightsw.bus.runner import run_lockstep  # noqa: E402

DAY_S = 86400.0
TARGETS = {"hil_day_s": 120.0, "fast_day_s": 30.0, "peak_rss_mb": 600.0}


def _children(pid: int) -> list[int]:
    kids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    ppid = int(f.read().rsplit(")", 1)[1].split()[1])
            except (OSError, IndexError, ValueError):
                continue
            if ppid == pid:
                kids.append(int(entry))
    return kids


def _tree_rss_kb(root: int) -> int:
    total, todo = 0, [root]
    while todo:
        pid = todo.pop()
        try:
            with open(f"/proc/{pid}/status") as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
                        break
        except OSError:
            continue
        todo.extend(_children(pid))
    return total


def run_sim(mode: str, hours: float, out: Path) -> dict:
    cmd = [sys.executable, "-m", "sim.cli", "run", "--mode", mode, "--hours", str(hours),
           "--json", "--no-plots", "--out", str(out / f"sim-{mode}")]
    t0 = time.monotonic()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            cwd=HERE.parent)
    peak = [0]

    def sample() -> None:
        while proc.poll() is None:
            peak[0] = max(peak[0], _tree_rss_kb(proc.pid))
            time.sleep(0.1)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    stdout, _ = proc.communicate()
    wall = time.monotonic() - t0
    th.join()
    if proc.returncode != 0:
        raise RuntimeError(f"sim run --mode {mode} failed with {proc.returncode}")
    report = json.loads(stdout.strip().splitlines()[-1])
    return {"wall_s": wall, "loop_wall_s": report["wall_s"], "peak_rss_mb": peak[0] / 1024.0,
            "digest": report["digest"]}


def run_baseline(mode: str, ticks: int) -> float:
    specs = [ParticipantSpec(f"idle{i}", "bench_idle:make", {"name": f"idle{i}"}) for i in range(7)]
    t0 = time.monotonic()
    run_lockstep(specs, ticks, mode=mode)
    return ticks / (time.monotonic() - t0)


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--hours", type=float, default=24.0)
    ap.add_argument("--baseline-ticks", type=int, default=20000)
    ap.add_argument("--out", default="out/bench.json")
    args = ap.parse_args()
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    sim_s = args.hours * 3600.0
    results: dict = {"hours": args.hours}
    for mode in ("hil", "fast"):
        base_tps = run_baseline(mode, args.baseline_ticks)
        r = run_sim(mode, args.hours, out.parent)
        rate = sim_s / r["loop_wall_s"]
        results[mode] = {
            "sim_s_per_wall_s": round(rate, 1),
            "day_wall_s": round(DAY_S / rate, 1),
            "process_wall_s": round(r["wall_s"], 1),
            "peak_rss_mb": round(r["peak_rss_mb"], 1),
            "baseline_ticks_per_s": round(base_tps, 1),
            "ratio_to_baseline": round(rate / base_tps, 3),
            "digest": r["digest"],
        }
    results["same_digest_hil_fast"] = results["hil"]["digest"] == results["fast"]["digest"]
    results["targets"] = TARGETS
    results["meets"] = {
        "hil_day_s": results["hil"]["day_wall_s"] <= TARGETS["hil_day_s"],
        "fast_day_s": results["fast"]["day_wall_s"] <= TARGETS["fast_day_s"],
        "peak_rss_mb": results["hil"]["peak_rss_mb"] <= TARGETS["peak_rss_mb"],
    }
    out.write_text(json.dumps(results, indent=2) + "\n")
    print(f"{'mode':6} {'sim s/wall s':>13} {'day [s]':>8} {'baseline tick/s':>16} {'ratio':>6} {'peak RSS MB':>12}")
    for mode in ("hil", "fast"):
        r = results[mode]
        print(f"{mode:6} {r['sim_s_per_wall_s']:>13} {r['day_wall_s']:>8} {r['baseline_ticks_per_s']:>16} "
              f"{r['ratio_to_baseline']:>6} {r['peak_rss_mb']:>12}")
    print(f"targets {TARGETS}; met: {results['meets']}; same digest: {results['same_digest_hil_fast']}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
