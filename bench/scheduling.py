"""Scheduling quality: every policy on the suite scenarios against the oracle's bound.

    python bench/scheduling.py [--scenarios a,b] [--policies p,q] [--seeds 3] [--hours 24]
                               [--workers 2] [--out out/bench-scheduling] [--json]

A thin entry point for ``make bench``: the same as ``sim bench scheduling`` (sim/bench.py,
which says what it measures and writes). The full default, the suite x every policy x 3
seeds of 24 h, is ~84 fast-mode runs: most of an hour on 2 workers.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE.parent))

from sim.bench import add_arguments  # noqa: E402
from sim.bench import main as bench_main  # noqa: E402
from sim.harness import configure_logging  # noqa: E402
from sim.scenario import ScenarioError  # noqa: E402


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="bench/scheduling.py", description=__doc__.split("\n\n")[0])
    add_arguments(ap, what=False)
    args = ap.parse_args(argv)
    configure_logging(proc="bench")
    try:
        return bench_main(args)
    except ScenarioError as exc:
        print(f"bench/scheduling.py: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
