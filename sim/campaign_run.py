"""``sim campaign``: the fault campaign (``sim.campaign``) at scale, on a Dask cluster.

    sim campaign [--examples N] [--steps S] [--workers W] [--scheduler ADDRESS]
                 [--seed S0] [--chunk K] [--planted] [--planted-examples M]
                 [--out DIR] [--resume] [--json]

The examples are cut into chunks of ``--chunk``; each chunk is one Dask task that runs
the state machine for that many examples with its own hypothesis seed (``S0`` + the
chunk's index, also the run seed of its examples), so the campaign is the same whatever
the number of workers and replays chunk by chunk. By default the tasks go to a local Dask
cluster of ``--workers`` processes on this machine; with ``--scheduler`` to an existing
cluster (its workers must have this package installed, at this version). A chunk stops at
its first failure, which hypothesis shrinks to its shortest plan; the report gives that
plan and the command that replays it.

``--planted`` also runs the campaign (``--planted-examples`` per bug) on each planted bug
(``sim.planted``), one task per bug, and reports which it caught.

Each chunk's result is written to ``DIR/chunks/<seed>.json`` as it comes. ``--resume``
takes a chunk from there instead of running it again when it was run with the same
examples and steps and the code it ran is unchanged (a digest of the modules of flightsw,
sim and groundsw its process had loaded, and their data files): a 10,000-example
campaign on a small machine can be stopped and picked up, and a changed line of the code
it runs runs it all again.

Writes ``report.json`` and ``report.md`` under ``--out``; with ``--json`` stdout ends with
the report's summary on one line: examples, steps, invariant_violations, planted_bugs
{planted, caught}, and the rest.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import platform
import sys
import time
from collections import Counter
from pathlib import Path

from sim.scenario import ScenarioError

__all__ = ["add_arguments", "main", "run_chunk", "summarise"]

DEFAULT_OUT = Path("out/campaign")
CODE_DIRS = ("flightsw", "sim", "groundsw")


ROOT = Path(__file__).resolve().parent.parent


def _digest(paths: list[str]) -> str:
    """12 hex digits of SHA-256 over the files (paths relative to the repository's root),
    by path and content; a file gone counts as empty."""
    h = hashlib.sha256()
    for rel in sorted(paths):
        try:
            data = (ROOT / rel).read_bytes()
        except OSError:
            data = b""
        h.update(rel.encode() + b"\0" + data + b"\0")
    return h.hexdigest()[:12]


def code_version() -> str:
    """A digest of every .py and .toml file under flightsw, sim and groundsw."""
    return _digest([str(f.relative_to(ROOT)) for d in CODE_DIRS for f in (ROOT / d).rglob("*")
                    if f.suffix in (".py", ".toml") and f.is_file() and "__pycache__" not in f.parts])


_SEEN: dict[str, bytes] = {}  # this process: each file of the code as it was when first seen loaded


def code_run() -> tuple[list[str], bool]:
    """The code a chunk ran: the source of every module of flightsw, sim and groundsw this
    process has loaded, their data files (scenarios, fault plans: .toml) and the pinned
    library versions (requirements.lock) -> (paths relative to the repository's root,
    whether each is still as it was when this process first saw it loaded: a Dask worker
    lives on and never reloads, so a file edited since runs old code that its digest would
    not describe). A change anywhere else (the oracle, the console) leaves a chunk standing."""
    dirs = tuple(str(ROOT / d) + "/" for d in CODE_DIRS)
    out = {str(Path(m.__file__).resolve().relative_to(ROOT)) for m in list(sys.modules.values())
           if getattr(m, "__file__", None) and str(Path(m.__file__).resolve()).startswith(dirs)}
    out |= {str(f.relative_to(ROOT)) for d in CODE_DIRS for f in (ROOT / d).rglob("*.toml")}
    out.add("requirements.lock")
    same = True
    for rel in out:
        try:
            now = hashlib.sha256((ROOT / rel).read_bytes()).digest()
        except OSError:
            now = b""
        same &= _SEEN.setdefault(rel, now) == now
    return sorted(out), same


def _saved_chunk(chunks_dir: Path, chunk_seed: int, examples: int, steps: int) -> dict | None:
    """A chunk's result as an earlier run wrote it, if it ran with these examples and steps
    and the code it ran is unchanged (its files digest as they did), or None."""
    f = chunks_dir / f"{chunk_seed}.json"
    try:
        res = json.loads(f.read_text())
    except (OSError, ValueError):
        return None
    if not isinstance(res, dict) or (res.get("examples"), res.get("steps")) != (examples, steps):
        return None
    files = res.get("code_files")
    if not isinstance(files, list) or not files or res.get("code") is None or _digest(files) != res.get("code"):
        return None
    if res.get("python") != platform.python_version():
        return None
    return res


def run_chunk(chunk_seed: int, examples: int, steps: int) -> dict:
    """Run ``examples`` examples of the campaign with hypothesis seed ``chunk_seed`` (also
    the runs' seed) -> {"records": one per example run, "failure": None or its account}.
    Pure of its arguments: the same chunk gives the same records anywhere."""
    from hypothesis import HealthCheck, Phase, seed, settings
    from hypothesis.stateful import run_state_machine_as_test

    from sim.campaign import FaultCampaign
    from sim.harness import configure_logging

    configure_logging(level="CRITICAL")  # the runs' own logs stay in their event logs
    records: list[dict] = []

    @seed(chunk_seed)
    class Chunk(FaultCampaign):
        pass

    Chunk.seed = chunk_seed
    Chunk.sink = records
    Chunk.replays_left = 1  # the chunk's first example runs twice: its digest must replay
    failure = None
    try:
        run_state_machine_as_test(Chunk, settings=settings(
            max_examples=examples, stateful_step_count=steps, deadline=None, database=None,
            suppress_health_check=list(HealthCheck), phases=[Phase.explicit, Phase.generate, Phase.shrink]))
    except AssertionError:  # an invariant broke; hypothesis ran the shrunk example last
        last = next((r for r in reversed(records) if r["broken"]), None)
        if last is None:
            raise
        hours = last["ticks"] / 3600.0  # the campaign scenario's tick is 1 s
        failure = {"chunk_seed": chunk_seed, "broke": "; ".join(last["broken"])[:2000], "plan": last["plan"],
                   "replay": f"sim run --scenario campaign --mode fast --seed {chunk_seed} --hours {hours:.6f} "
                             "--faults PLAN.toml (the plan above)"}
    return {"chunk_seed": chunk_seed, "records": records, "failure": failure}


def _run_chunk_timed(chunk_seed: int, examples: int, steps: int) -> dict:
    """run_chunk, timed, with the code it ran: a digest of it, or None where a file changed
    on disk while this process had it loaded (its result is then not kept for --resume)."""
    code_run()  # what is loaded already, as it is now
    t0 = time.monotonic()
    res = run_chunk(chunk_seed, examples, steps)
    files, same = code_run()
    return {**res, "examples": examples, "steps": steps, "wall_s": round(time.monotonic() - t0, 2),
            "code_files": files, "code": _digest(files) if same else None,
            "python": platform.python_version()}


def _percentiles(xs: list[int]) -> dict:
    if not xs:
        return {"n": 0, "p50": None, "p95": None, "max": None}
    s = sorted(xs)
    return {"n": len(s), "p50": s[len(s) // 2], "p95": s[min(len(s) - 1, int(round(0.95 * (len(s) - 1))))],
            "max": s[-1]}


def summarise(chunks: list[dict], planted: dict | None, cfg: dict, wall_s: float) -> dict:
    """The campaign's report from its chunks' results (and the planted bugs', if run)."""
    records = [r for c in chunks for r in c["records"]]
    rules: Counter = Counter()
    faults: Counter = Counter()
    for r in records:
        rules.update(r["rules"])
        faults.update(r["faults"])
    failures = [c["failure"] for c in chunks if c["failure"]]
    detection = [t for r in records for t in r["detection_ticks"]]
    recovery = [t for r in records for t in r["recovery_ticks"]]
    broken = Counter(b.split(":")[0] for r in records for b in r["broken"])
    return {
        "examples": len(records),
        "steps": sum(r["steps"] for r in records),
        "ticks": sum(r["ticks"] for r in records),
        "invariant_violations": len(failures),
        "examples_failing": sum(1 for r in records if r["broken"]),
        "invariants_broken": dict(broken.most_common()),
        "failures": failures,
        "rules": dict(rules.most_common()),
        "faults_by_kind": dict(faults.most_common()),
        "faults": sum(faults.values()),
        "invariants_checked": INVARIANTS,
        "reliability": {
            "jobs_lost": sum(r["jobs_lost"] for r in records),
            "jobs_completed_twice": sum(r["completed_twice"] for r in records),
            "corrupt_results_delivered": sum(r["corrupt_delivered"] for r in records),
            "duplicate_uploads_sent": sum(r["duplicates_sent"] for r in records),
            "restarts": sum(r["restarts"] for r in records),
            "digest_replays": sum(1 for r in records if r.get("replayed")),
            "detection_ticks": _percentiles(detection),
            "recovery_ticks": _percentiles(recovery),
        },
        "planted_bugs": planted or {"planted": 0, "caught": 0, "bugs": {}},
        "config": cfg,
        "wall_s": round(wall_s, 1),
        # this invocation's rate: the chunks it ran (not those resumed) over its wall time
        "examples_per_s": round(sum(len(c["records"]) for c in chunks if not c.get("resumed")) / wall_s, 3)
        if wall_s > 0 else None,
        "chunks": len(chunks),
        "chunks_resumed": sum(1 for c in chunks if c.get("resumed")),
        "worker_s": round(sum(c.get("wall_s", 0.0) for c in chunks), 1),  # the chunks' own times, summed
    }


INVARIANTS = [
    "no accepted job lost", "no job completed twice but for a rerun asked for", "no corrupt result delivered",
    "onboard ledger = model ledger (sent jobs, cancels, results of completed jobs)",
    "no board over its limit, no thermal shutdown; no brownout and SOC never below the floor, unless damage "
    "left no choice and then SAFE throughout",
    "every process alive at the end unless killed past the restart cap",
    "restarts <= kills and hangs, and <= the supervisor's cap: no restart loop",
    "a hung process restarted within the deadline", "every upset in a protected job detected",
    "every bad telecommand frame refused", "every operator command answered: good carried out, bad refused "
    "for a named reason", "each eclipse entered with its promised reserve",
    "the digest replays from the plan and seed (first example of each chunk)",
]


def markdown(rep: dict) -> str:
    rel = rep["reliability"]
    lines = [
        "# Fault campaign", "",
        f"{rep['examples']} examples, {rep['steps']} steps, {rep['faults']} faults, {rep['ticks']} ticks simulated, "
        f"in {rep['wall_s']} s on {rep['config']['workers']} worker(s) ({rep['config']['cluster']}), code "
        f"{rep['config'].get('code')}; {rep.get('chunks_resumed', 0)} of {rep.get('chunks', 0)} chunks resumed from an "
        f"earlier run; the chunks' own times sum to {rep.get('worker_s')} s. Of the {rep['config']['examples']} "
        "examples drawn, those that drew no fault (only advances) run nothing and are not counted.", "",
        f"Invariant violations (failing chunks, shrunk): {rep['invariant_violations']}; "
        f"examples that broke an invariant: {rep['examples_failing']}.", "",
        "| faults by kind | n |", "|---|---|", *[f"| {k} | {n} |" for k, n in rep["faults_by_kind"].items()], "",
        "| rule | n |", "|---|---|", *[f"| {k} | {n} |" for k, n in rep["rules"].items()], "",
        "Invariants checked after every step: " + "; ".join(rep["invariants_checked"]) + ".", "",
        f"Reliability: jobs lost {rel['jobs_lost']}, jobs completed twice {rel['jobs_completed_twice']}, corrupt "
        f"results delivered {rel['corrupt_results_delivered']}, duplicate uploads sent {rel['duplicate_uploads_sent']}, "
        f"restarts {rel['restarts']}, runs replayed with the same digest {rel['digest_replays']}.", "",
        "| time from a kill or hang [ticks] | n | p50 | p95 | max |", "|---|---|---|---|---|",
        *[f"| {k} | {v['n']} | {v['p50']} | {v['p95']} | {v['max']} |"
          for k, v in (("to detection", rel["detection_ticks"]), ("to restart", rel["recovery_ticks"]))], "",
    ]
    pb = rep["planted_bugs"]
    if pb["planted"]:
        lines += [f"Planted bugs caught: {pb['caught']} of {pb['planted']}.", "", "| planted bug | caught | what it breaks |",
                  "|---|---|---|", *[f"| {k} | {v['caught']} | {v['why']} |" for k, v in pb["bugs"].items()], ""]
    for f in rep["failures"]:
        lines += [f"## Failure (chunk seed {f['chunk_seed']})", "", f"Broke: {f['broke']}", "", "```toml", f["plan"].rstrip(),
                  "```", "", f"Replay: `{f['replay']}`", ""]
    return "\n".join(lines)


def _planted_task(name: str, examples: int, steps: int) -> dict:
    from sim.planted import PLANTED, caught

    bug = next(b for b in PLANTED if b.name == name)
    t0 = time.monotonic()
    got = caught(bug, examples, steps)
    return {"name": name, "caught": got, "why": bug.why, "wall_s": round(time.monotonic() - t0, 1)}


def add_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument("--examples", type=int, default=100)
    p.add_argument("--steps", type=int, default=20, help="rules per example, at most")
    p.add_argument("--workers", type=int, default=2, help="local Dask workers (processes)")
    p.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler (tcp://host:8786)")
    p.add_argument("--seed", type=int, default=0, help="the first chunk's seed")
    p.add_argument("--chunk", type=int, default=10, help="examples per task")
    p.add_argument("--planted", action="store_true", help="also run the campaign on each planted bug")
    p.add_argument("--planted-examples", type=int, default=60, help="examples per planted bug")
    p.add_argument("--out", default=str(DEFAULT_OUT))
    p.add_argument("--resume", action="store_true",
                   help="take chunks already run (same examples, steps and code) from OUT/chunks")
    p.add_argument("--json", action="store_true", help="end stdout with the report's summary on one line")


def main(args: argparse.Namespace) -> int:
    """0 when no invariant broke (and every planted bug was caught, with --planted), else 1."""
    for name in ("examples", "steps", "workers", "chunk", "planted_examples"):
        if getattr(args, name) < 1:
            raise ScenarioError(f"--{name.replace('_', '-')}: expected >= 1, got {getattr(args, name)}")
    from dask.distributed import Client, LocalCluster, as_completed

    out = Path(args.out)
    chunks_dir = out / "chunks"
    chunks_dir.mkdir(parents=True, exist_ok=True)
    sizes = [min(args.chunk, args.examples - i) for i in range(0, args.examples, args.chunk)]
    code = code_version()
    saved: dict[int, dict] = {}
    if args.resume:
        for i, n in enumerate(sizes):
            res = _saved_chunk(chunks_dir, args.seed + i, n, args.steps)
            if res is not None:
                saved[args.seed + i] = {**res, "resumed": True}
    t0 = time.monotonic()
    cluster = None
    if args.scheduler:
        client = Client(args.scheduler)
        where = f"scheduler {args.scheduler}"
        workers = len(client.scheduler_info().get("workers", {}))
    else:
        cluster = LocalCluster(n_workers=args.workers, threads_per_worker=1, processes=True,
                               dashboard_address=None)
        client = Client(cluster)
        where, workers = "local Dask cluster", args.workers
    print(f"sim campaign: {args.examples} examples in {len(sizes)} chunks on {workers} worker(s), {where}, "
          f"code {code}" + (f", {len(saved)} chunk(s) resumed from {chunks_dir}" if saved else ""),
          file=sys.stderr, flush=True)
    try:
        futures = [client.submit(_run_chunk_timed, args.seed + i, n, args.steps, pure=False)
                   for i, n in enumerate(sizes) if args.seed + i not in saved]
        if args.planted:
            from sim.planted import PLANTED

            futures += [client.submit(_planted_task, b.name, args.planted_examples, args.steps, pure=False)
                        for b in PLANTED]
        chunks, bugs = list(saved.values()), {}
        done = sum(len(c["records"]) for c in chunks)
        for fut in as_completed(futures):
            res = fut.result()
            if "records" in res:
                part = chunks_dir / f"{res['chunk_seed']}.json.part"  # whole or not at all
                part.write_text(json.dumps(res, sort_keys=True))
                part.replace(chunks_dir / f"{res['chunk_seed']}.json")
                chunks.append(res)
                done += len(res["records"])
                fail = " FAILURE" if res["failure"] else ""
                print(f"  chunk {res['chunk_seed']}: {len(res['records'])} runs{fail} ({done} so far, "
                      f"{time.monotonic() - t0:.0f} s)", file=sys.stderr, flush=True)
            else:
                bugs[res["name"]] = res
                print(f"  planted {res['name']}: {'caught' if res['caught'] else 'NOT caught'} ({res['wall_s']} s)",
                      file=sys.stderr, flush=True)
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    chunks.sort(key=lambda c: c["chunk_seed"])
    planted = None
    if args.planted:
        planted = {"planted": len(bugs), "caught": sum(b["caught"] for b in bugs.values()),
                   "bugs": {k: bugs[k] for k in sorted(bugs)}}
    cfg = {"examples": args.examples, "steps": args.steps, "workers": workers, "chunk": args.chunk,
           "seed": args.seed, "cluster": where, "planted_examples": args.planted_examples if args.planted else 0,
           "code": code}
    rep = summarise(chunks, planted, cfg, time.monotonic() - t0)
    (out / "report.json").write_text(json.dumps(rep, indent=2, sort_keys=True) + "\n")
    (out / "report.md").write_text(markdown(rep))
    print(markdown(rep))
    print(f"output: {out}/ (report.json, report.md)")
    if args.json:
        print(json.dumps(rep, sort_keys=True))
    bad = rep["invariant_violations"] or (planted is not None and planted["caught"] < planted["planted"])
    return 1 if bad else 0


if __name__ == "__main__":  # pragma: no cover
    ap = argparse.ArgumentParser(prog="sim campaign")
    add_arguments(ap)
    sys.exit(main(ap.parse_args()))
