"""``groundsw``: the operator's command line over the ground archive.

    groundsw jobs    --archive FILE [--stage STAGE] [--json]
    groundsw stages  JOB_ID --archive FILE [--json]
    groundsw result  JOB_ID --archive FILE --out FILE     # verified before it is written

The archive is the station's sqlite file (``<run out>/ground/archive.sqlite``). The HTTP
API and the commands that talk to it (serve, job submit, cmd...) come with the ground
segment issue; this CLI reads what a run archived.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from flightsw.icd.results import verify_result
from groundsw.archive import Archive

__all__ = ["main"]

NS_PER_S = 1e9


def _open(path: str) -> Archive:
    p = Path(path)
    if not p.is_file():
        raise FileNotFoundError(f"--archive: expected an existing archive file, got {path!r}")
    return Archive(p)


def _cmd_jobs(args) -> int:
    arch = _open(args.archive)
    rows = [r for r in arch.jobs() if not args.stage or r["stage"] == args.stage]
    for r in rows:
        r.pop("spec", None)
    if args.json:
        print(json.dumps(rows))
        return 0
    print(f"{'job':12} {'kind':10} {'prio':>4} {'work GPU-s':>11} {'stage':11} {'released s':>10} {'archived s':>10}")
    for r in rows:
        arch_s = "" if r["archived_t_ns"] is None else f"{r['archived_t_ns'] / NS_PER_S:.0f}"
        print(f"{r['job_id']:12} {r['kind']:10} {r['priority']:>4} {r['work_gpu_s']:>11.0f} "
              f"{r['stage']:11} {r['released_t_ns'] / NS_PER_S:>10.0f} {arch_s:>10}")
    print(f"{len(rows)} job(s)")
    return 0


def _cmd_stages(args) -> int:
    stages = _open(args.archive).stages(args.job_id)
    if not stages:
        print(f"groundsw: error: job_id: no job {args.job_id!r} in the archive", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps([{"stage": s, "t_s": t / NS_PER_S, "reason": r} for s, t, r in stages]))
    else:
        for s, t, r in stages:
            print(f"{t / NS_PER_S:10.1f} s  {s:11} {r}")
    return 0


def _cmd_result(args) -> int:
    got = _open(args.archive).result(args.job_id)
    if got is None:
        print(f"groundsw: error: job_id: no result for {args.job_id!r} in the archive", file=sys.stderr)
        return 2
    kind, data, sha = got
    ok, why = verify_result(kind, data, sha)
    if not ok:
        print(f"groundsw: error: result of {args.job_id} fails verification: {why}", file=sys.stderr)
        return 1
    Path(args.out).write_bytes(data)
    print(f"{args.job_id}: {kind}, {len(data)} bytes, sha256 {sha.hex()} verified -> {args.out}")
    return 0


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(prog="groundsw", description=__doc__.split("\n\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    j = sub.add_parser("jobs", help="list jobs and their ground stage")
    j.add_argument("--archive", required=True)
    j.add_argument("--stage")
    j.add_argument("--json", action="store_true")
    s = sub.add_parser("stages", help="every stage one job went through")
    s.add_argument("job_id")
    s.add_argument("--archive", required=True)
    s.add_argument("--json", action="store_true")
    r = sub.add_parser("result", help="write a job's verified result to a file")
    r.add_argument("job_id")
    r.add_argument("--archive", required=True)
    r.add_argument("--out", required=True)
    args = ap.parse_args(argv)
    try:
        return {"jobs": _cmd_jobs, "stages": _cmd_stages, "result": _cmd_result}[args.cmd](args)
    except FileNotFoundError as exc:
        print(f"groundsw: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    raise SystemExit(main())
