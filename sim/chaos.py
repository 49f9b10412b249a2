"""The chaos run (issue 8): the whole stack in hil mode, one OS process per participant,
with onboard processes killed (SIGKILL) and frozen (SIGSTOP, then SIGCONT) at random
wall-clock moments, across repeated runs. Not deterministic by design: where the signals
land in sim time depends on the machine's speed. What must hold is what the fault
campaign's invariants say (``sim.campaign.check`` and ``check_stores``): nothing lost, no
limit broken, every run completes.

A frozen process holds the lockstep round (sim time does not advance without its answer),
so a short freeze costs wall time only; one longer than the hub's answer timeout (60 s)
makes it a lost process, killed and restarted like a crashed one.

    sim chaos [--runs N] [--hours H] [--seed S] [--rate R] [--out DIR] [--json]
"""

from __future__ import annotations

import argparse
import json
import os
import random
import signal
import sys
import threading
import time
from collections import Counter
from pathlib import Path

__all__ = ["ChaosMonkey", "add_arguments", "chaos_run", "main"]

ONBOARD = ("comms", "executor", "power", "supervisor", "thermal")


class ChaosMonkey:
    """Signals onboard processes from a thread: about ``rate_per_s`` events a wall second,
    each a SIGKILL (with ``kill_fraction``) or a SIGSTOP held ``stop_s`` (a range) then
    SIGCONT. ``log``: (wall s from the start, kind, process) of each event."""

    def __init__(self, seed: int, rate_per_s: float = 0.5, kill_fraction: float = 0.3,
                 stop_s: tuple[float, float] = (0.05, 2.0), processes=ONBOARD) -> None:
        self.rng = random.Random(seed)
        self.rate_per_s = rate_per_s
        self.kill_fraction = kill_fraction
        self.stop_s = stop_s
        self.processes = tuple(processes)
        self.log: list[tuple[float, str, str]] = []
        self._halt = threading.Event()
        self._thread: threading.Thread | None = None
        self._stopped: dict[int, str] = {}

    def start(self, pids) -> None:
        self._pids = pids
        self._t0 = time.monotonic()
        self._thread = threading.Thread(target=self._loop, name="chaos", daemon=True)
        self._thread.start()

    def _loop(self) -> None:
        while not self._halt.wait(self.rng.expovariate(self.rate_per_s)):
            live = {n: p for n, p in self._pids().items() if n in self.processes}
            if not live:
                continue
            name = self.rng.choice(sorted(live))
            pid = live[name]
            try:
                if self.rng.random() < self.kill_fraction:
                    os.kill(pid, signal.SIGKILL)
                    self.log.append((time.monotonic() - self._t0, "kill", name))
                else:
                    os.kill(pid, signal.SIGSTOP)
                    self._stopped[pid] = name
                    self.log.append((time.monotonic() - self._t0, "stop", name))
                    self._halt.wait(self.rng.uniform(*self.stop_s))
                    os.kill(pid, signal.SIGCONT)
                    self._stopped.pop(pid, None)
            except ProcessLookupError:  # it died meanwhile
                self._stopped.pop(pid, None)

    def stop(self) -> None:
        """No more signals; every frozen process goes on. Idempotent."""
        self._halt.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        for pid in list(self._stopped):
            try:
                os.kill(pid, signal.SIGCONT)
            except ProcessLookupError:
                pass
        self._stopped.clear()

    def counts(self) -> Counter:
        return Counter(f"{kind}:{name}" for _, kind, name in self.log)


def chaos_run(seed: int, hours: float, out_dir: Path, rate_per_s: float = 0.5) -> dict:
    """One hil run of the campaign scenario under chaos -> its account: the signals sent,
    what broke (empty: nothing), the jobs and restarts."""
    from sim.campaign import SCENARIO, check, check_stores
    from sim.harness import RunConfig, run
    from sim.scenario import load_scenario

    sc = load_scenario(SCENARIO)
    monkey = ChaosMonkey(seed, rate_per_s)
    t0 = time.monotonic()
    report = run(RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=hours, seed=seed, mode="hil",
                           out_dir=out_dir, plots=False), chaos=monkey)
    kills = Counter(name for _, kind, name in monkey.log if kind == "kill")
    # a process frozen past the hub's answer timeout is lost and restarted: a kill too
    kills.update(r["process"] for r in report["kills"] if r["reason"] == "crashed or hung")
    broken = check(report, kills, scenario=sc) + check_stores(out_dir / "onboard" / "executor.sqlite", report, [])
    return {"seed": seed, "wall_s": round(time.monotonic() - t0, 1), "signals": dict(sorted(monkey.counts().items())),
            "kills": sum(1 for e in monkey.log if e[1] == "kill"), "stops": sum(1 for e in monkey.log if e[1] == "stop"),
            "restarts": len(report["restarts"]), "jobs": report["jobs"], "broken": broken, "digest": report["digest"]}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--runs", type=int, default=3)
    p.add_argument("--hours", type=float, default=2000 / 3600, help="sim hours per run (default: 2000 ticks)")
    p.add_argument("--seed", type=int, default=0, help="the first run's seed (its signals' too)")
    p.add_argument("--rate", type=float, default=0.5, help="signals per wall second")
    p.add_argument("--out", default="out/chaos")
    p.add_argument("--json", action="store_true", help="end stdout with the summary on one line")


def main(args: argparse.Namespace) -> int:
    """0 when every run completed and broke nothing, else 1."""
    from sim.scenario import ScenarioError

    if args.runs < 1 or not args.hours > 0 or not args.rate > 0:
        raise ScenarioError(f"--runs >= 1, --hours > 0, --rate > 0 expected, got {args.runs}, {args.hours}, {args.rate}")
    out = Path(args.out)
    runs = []
    for k in range(args.runs):
        r = chaos_run(args.seed + k, args.hours, out / f"run-{k}", args.rate)
        runs.append(r)
        print(f"chaos run {k}: {r['kills']} kills, {r['stops']} stops, {r['restarts']} restarts, "
              f"jobs lost {r['jobs']['lost']}, {'broke ' + '; '.join(r['broken']) if r['broken'] else 'nothing broken'} "
              f"({r['wall_s']} s)", file=sys.stderr, flush=True)
    summary = {"runs": len(runs), "completed": len(runs), "kills": sum(r["kills"] for r in runs),
               "stops": sum(r["stops"] for r in runs), "restarts": sum(r["restarts"] for r in runs),
               "jobs_lost": sum(r["jobs"]["lost"] or 0 for r in runs),
               "invariant_violations": sum(1 for r in runs if r["broken"]), "by_run": runs}
    out.mkdir(parents=True, exist_ok=True)
    (out / "report.json").write_text(json.dumps(summary, indent=2, sort_keys=True) + "\n")
    if args.json:
        print(json.dumps(summary, sort_keys=True))
    return 1 if summary["invariant_violations"] else 0
