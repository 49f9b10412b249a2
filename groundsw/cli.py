"""``groundsw``: the ground segment's command line, with the console's powers.

    groundsw serve [--host 127.0.0.1] [--port 8765] [--data DIR]
    groundsw users add NAME --role viewer|operator|approver --data DIR   # prints the token once
    groundsw users list --data DIR
    groundsw [--url URL] [--token T] [--json] COMMAND ...                # a client of the API
        status
        job submit FILE | job list [--stage S] | job show ID | job cancel ID
        result get ID --out DIR            # verifies SHA-256 (and matmul ABFT) before writing
        tm CHANNEL [--since T] [--until T] [--max-points N] | channels
        events [--since T] [--until T] [--severity S,..] [--min-severity S]
        passes [--since T] [--until T] [--predicted|--actual]
        files | file get ID --out DIR
        cmd NAME [key=value ...] | cmd approve ID | cmd show ID | cmd list [--stage S]
    groundsw archive jobs|stages|result ... --archive FILE   # offline, straight from the sqlite file
    groundsw keys init|show [--path FILE]                    # the telecommand keyring

``--url`` and ``--token`` default to $SUNSCHED_URL and $SUNSCHED_TOKEN. Times (T) are sim
seconds, negative seconds before now, or ISO 8601 UTC. ``--json`` prints one JSON document.
Exit status: 0 done; 2 bad input (the command line, a spec file, or a request the server
refused as bad); 1 a server, network or verification failure.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import socket
import sys
from pathlib import Path
from typing import Any
from urllib.parse import quote

from flightsw.icd.results import verify_result
from groundsw.archive import Archive
from groundsw.client import DEFAULT_URL, ApiClient, ApiFailure
from groundsw.commands import coerce_text_args
from groundsw.jobspec import JobSpecError, load_job_spec_file
from groundsw.users import ROLES, UserError, UserStore, add_user

__all__ = ["main"]

NS_PER_S = 1e9
_SAFE_NAME = re.compile(r"[A-Za-z0-9_.-]{1,128}")


class CliError(Exception):
    """One line for stderr, and the exit status."""

    def __init__(self, message: str, code: int = 2) -> None:
        super().__init__(message)
        self.code = code


def _out(args: argparse.Namespace, data: Any, text: str | list[str]) -> int:
    if args.json:
        print(json.dumps(data))
    else:
        print(text if isinstance(text, str) else "\n".join(text))
    return 0


def _client(args: argparse.Namespace) -> ApiClient:
    if not args.token:
        raise CliError("token: expected --token T or $SUNSCHED_TOKEN (from `groundsw users add`), got none")
    return ApiClient(args.url, args.token)


def _t(row: dict, key: str = "") -> str:
    """A time column: UTC when the archive knows the epoch, else sim seconds."""
    utc = row.get(f"{key}utc")
    t_s = row.get(f"{key}t_s")
    return utc if utc else ("" if t_s is None else f"{t_s:.0f} s")


# ---------------------------------------------------------------------- local commands
def _cmd_serve(args: argparse.Namespace) -> int:
    import uvicorn

    from groundsw.api import create_app

    data = Path(args.data)
    data.mkdir(parents=True, exist_ok=True)
    app = create_app(data)
    family = socket.AF_INET6 if ":" in args.host else socket.AF_INET
    # IPPROTO_TCP explicitly: asyncio sets TCP_NODELAY on accepted connections only when the
    # listening socket says TCP (proto 0 does not), and without it every answer waits ~40 ms
    # for Nagle's algorithm against the client's delayed ACK.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((args.host, args.port))
    except OSError as exc:
        sock.close()
        raise CliError(f"--port: cannot listen on {args.host}:{args.port}: {exc}", 1) from None
    host, port = sock.getsockname()[:2]
    if not UserStore(data).names():
        print(f"groundsw: warning: no users in {data}/users.json: add one with "
              f"`groundsw users add NAME --role operator --data {data}`", file=sys.stderr)
    print(f"groundsw: serving {data / 'archive.sqlite'} on http://{host}:{port}", flush=True)
    config = uvicorn.Config(app, log_level=args.log_level, timeout_graceful_shutdown=5)
    uvicorn.Server(config).run(sockets=[sock])
    return 0


def _cmd_users(args: argparse.Namespace) -> int:
    if args.action == "add":
        if not args.name or not args.role:
            raise CliError("users add: expected NAME and --role, e.g. users add alice --role operator")
        token = add_user(args.data, args.name, args.role, replace=args.replace)
        return _out(args, {"name": args.name, "role": args.role, "token": token},
                    [f"user {args.name} ({args.role}) added; token (shown once, keep it safe):", token])
    users = UserStore(args.data).names()
    return _out(args, users, [f"{n:24} {r}" for n, r in users.items()] or ["no users"])


# ------------------------------------------------------------------------------- jobs
def _job_line(j: dict) -> str:
    """One job: id, kind, priority, work, stage, why it waits on board ("-": it does
    not, or the ground does not know yet), origin, when it was queued or released."""
    return (f"{j['job_id']:14} {j['kind']:9} {j['priority']:>4} {j['work_gpu_s']:>10.0f} "
            f"{j['stage']:10} {j.get('wait_reason') or '-':8} {j['origin']:9} "
            f"{_t(j, 'queued_') or _t(j, 'released_')}")


def _cmd_job(args: argparse.Namespace) -> int:
    with _client(args) as api:
        if args.action == "submit":
            spec = load_job_spec_file(args.arg)
            job = api.post("/api/jobs", spec)["job"]
            est = (f"{job['estimate_energy_wh']:.1f} Wh" if job["estimate_energy_wh"] is not None
                   else "? Wh") + f", {job['estimate_time_s']:.0f} s at full power"
            return _out(args, job, f"{job['job_id']} queued (estimate {est})")
        if args.action == "list":
            jobs = api.get("/api/jobs", stage=args.stage, limit=args.limit)["jobs"]
            head = (f"{'job':14} {'kind':9} {'prio':>4} {'GPU-s':>10} {'stage':10} {'waits':8} {'origin':9} "
                    "queued/released")
            more = " (the limit: --limit N for more)" if len(jobs) == args.limit else ""
            return _out(args, jobs, [head, *map(_job_line, jobs), f"{len(jobs)} job(s){more}"])
        if args.action == "show":
            job = api.get(f"/api/jobs/{_path_id(args.arg)}")["job"]
            lines = [_job_line(job), f"  spec: {json.dumps(job['spec'])}"]
            if job.get("wait_reason"):
                lines.append(f"  waits on board for: {job['wait_reason']}")
            lines += [f"  {_t(s):28} {s['stage']:10} {s['reason']}" for s in job["stages"]]
            return _out(args, job, lines)
        got = api.post(f"/api/jobs/{_path_id(args.arg)}/cancel")
        return _out(args, got, f"{args.arg}: cancel {got['outcome'].replace('_', ' ')}")


def _path_id(text: str) -> str:
    """A job id as one URL path segment (quoted: an id may hold any character)."""
    if not text or text in (".", ".."):
        raise CliError(f"ID: expected a job id, got {text!r}")
    return quote(text, safe="")


def _write_checked(out_dir: str, name: str, data: bytes) -> Path:
    if not _SAFE_NAME.fullmatch(name):
        name = re.sub(r"[^A-Za-z0-9_.-]", "_", name)[:128] or "file"
    path = Path(out_dir)
    path.mkdir(parents=True, exist_ok=True)
    target = path / name
    target.write_bytes(data)
    return target


def _cmd_result(args: argparse.Namespace) -> int:
    job_id = args.job_id
    with _client(args) as api:
        data, headers = api.get_bytes(f"/api/jobs/{_path_id(job_id)}/result")
    sha_hex, kind = headers.get("x-sha256", ""), headers.get("x-result-kind", "")
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha_hex.lower():
        raise CliError(f"result {job_id}: sha256 mismatch: header {sha_hex or 'missing'}, data {actual}", 1)
    ok, why = verify_result(kind, data, bytes.fromhex(sha_hex))
    if not ok:
        raise CliError(f"result {job_id}: fails verification: {why}", 1)
    target = _write_checked(args.out, f"{job_id}.bin", data)
    info = {"job_id": job_id, "kind": kind, "size_bytes": len(data), "sha256": actual, "path": str(target),
            "verified": True}
    return _out(args, info, f"{job_id}: {kind}, {len(data)} bytes, sha256 {actual} verified -> {target}")


# ------------------------------------------------------------------ archive queries
def _cmd_tm(args: argparse.Namespace) -> int:
    with _client(args) as api:
        got = api.get("/api/telemetry", channel=args.channel, since=args.since, until=args.until,
                      max_points=args.max_points)
    lines = [f"{_t(p):28} {p['value']}" for p in got["points"]]
    note = " (decimated)" if got["decimated"] else ""
    return _out(args, got, [*lines, f"{len(lines)} point(s) of {got['samples']} sample(s){note}"])


def _cmd_channels(args: argparse.Namespace) -> int:
    with _client(args) as api:
        chans = api.get("/api/telemetry/channels")["channels"]
    return _out(args, chans, [f"{c['channel']:40} {c['last_value']!s:>14}  {_t(c, 'last_')}" for c in chans])


def _cmd_events(args: argparse.Namespace) -> int:
    with _client(args) as api:
        evs = api.get("/api/events", since=args.since, until=args.until, severity=args.severity,
                      min_severity=args.min_severity, limit=args.limit)["events"]
    return _out(args, evs, [f"{_t(e):28} {e['severity']:11} {e['src']:10} {e['name']}: {e['text']}"
                            for e in evs] or ["no events"])


def _cmd_passes(args: argparse.Namespace) -> int:
    with _client(args) as api:
        rows = api.get("/api/passes", since=args.since, until=args.until, predicted=args.predicted)["passes"]
    lines = [f"{p['station']:14} {'predicted' if p['predicted'] else 'actual':9} {_t(p, 'aos_'):28} "
             f"{_t(p, 'los_'):28} down {p['bytes_down']} B, up {p['bytes_up']} B" for p in rows]
    return _out(args, rows, lines or ["no passes"])


def _cmd_files(args: argparse.Namespace) -> int:
    with _client(args) as api:
        rows = api.get("/api/files")["files"]
    return _out(args, rows, [f"{f['id']:>6} {f['name']:32} {f['size_bytes']:>10} B {f['status']:8} "
                             f"{_t(f, 'received_')} {f['reason']}" for f in rows] or ["no files"])


def _cmd_file(args: argparse.Namespace) -> int:
    with _client(args) as api:
        data, headers = api.get_bytes(f"/api/files/{args.file_id}")
    actual = hashlib.sha256(data).hexdigest()
    if actual != headers.get("x-sha256", "").lower():
        raise CliError(f"file {args.file_id}: sha256 mismatch: header {headers.get('x-sha256')}, data {actual}", 1)
    target = _write_checked(args.out, headers.get("x-file-name") or f"file-{args.file_id}", data)
    info = {"id": args.file_id, "size_bytes": len(data), "sha256": actual, "path": str(target),
            "status": headers.get("x-file-status")}
    return _out(args, info, f"file {args.file_id}: {len(data)} bytes, sha256 verified -> {target}")


def _cmd_status(args: argparse.Namespace) -> int:
    with _client(args) as api:
        st = api.get("/api/status")
    c = st["counts"]
    lines = [f"now {st['now']['utc'] or ''} (t = {st['now']['t_s']:.0f} s), scenario {st['scenario']}, "
             f"you are {st['user']['name']} ({st['user']['role']})",
             f"jobs: {c['jobs_by_stage']}", f"commands: {c['commands_by_stage']} "
             f"({c['commands_awaiting_approval']} awaiting approval)",
             f"events {c['events']}, files {c['files']}, passes {c['passes']}, results {c['results']}"]
    return _out(args, st, lines)


# --------------------------------------------------------------------------- commands
def _cmd_line(c: dict) -> str:
    approval = " awaiting approval" if c["awaiting_approval"] else (
        f" approved by {c['approved_by']}" if c["approved_by"] else "")
    return (f"{c['cmd_id']:>6} {c['name']:34} {c['stage']:10} {c['status']:16} {c['sender']}{approval} "
            f"{json.dumps(c['args']) if c['args'] else ''}")


def _cmd_cmd(args: argparse.Namespace) -> int:
    words = args.words
    action = words[0] if words else ""
    with _client(args) as api:
        if action in ("approve", "show"):
            if len(words) != 2 or not words[1].isdigit():
                raise CliError(f"cmd {action}: expected one command id (a number), got {words[1:]}")
            if action == "approve":
                cmd = api.post(f"/api/commands/{int(words[1])}/approve")["command"]
                return _out(args, cmd, f"command {cmd['cmd_id']} ({cmd['name']}) approved")
            cmd = api.get(f"/api/commands/{int(words[1])}")["command"]
            lines = [_cmd_line(cmd)] + [f"  {_t(s):28} {s['stage']:10} {s['status']:16} {s['message']}"
                                        for s in cmd["stages"]]
            return _out(args, cmd, lines)
        if action == "list":
            rows = api.get("/api/commands", stage=args.stage)["commands"]
            return _out(args, rows, [_cmd_line(c) for c in rows] or ["no commands"])
        if "." not in action:
            raise CliError(f"cmd: expected NAME (target.OPCODE, e.g. power.NOOP), approve, show or list, "
                           f"got {action!r}")
        pairs = {}
        for word in words[1:]:
            key, sep, value = word.partition("=")
            if not sep or not key:
                raise CliError(f"cmd {action}: expected key=value arguments, got {word!r}")
            pairs[key] = value
        cmd = api.post("/api/commands", {"name": action, "args": coerce_text_args(action, pairs)})["command"]
        wait = " (critical: awaiting approval by another approver)" if cmd["awaiting_approval"] else ""
        return _out(args, cmd, f"command {cmd['cmd_id']} {cmd['name']} queued{wait}")


# ---------------------------------------------------------------- offline (archive file)
def _open(path: str) -> Archive:
    p = Path(path)
    if not p.is_file():
        raise CliError(f"--archive: expected an existing archive file, got {path!r}")
    return Archive(p)


def _cmd_archive(args: argparse.Namespace) -> int:
    arch = _open(args.archive)
    try:
        if args.action == "jobs":
            rows = arch.jobs(stage=args.stage)
            for r in rows:
                r.pop("spec", None)
            lines = [f"{r['job_id']:14} {r['kind']:9} {r['priority']:>4} {r['work_gpu_s']:>10.0f} {r['stage']:10}"
                     for r in rows]
            return _out(args, rows, [*lines, f"{len(rows)} job(s)"])
        if not args.job_id:
            raise CliError(f"archive {args.action}: expected a JOB_ID")
        if args.action == "stages":
            stages = arch.stages(args.job_id)
            if not stages:
                raise CliError(f"job_id: no job {args.job_id!r} in the archive")
            rows = [{"stage": s, "t_s": t / NS_PER_S, "reason": r} for s, t, r in stages]
            return _out(args, rows, [f"{r['t_s']:10.1f} s  {r['stage']:10} {r['reason']}" for r in rows])
        got = arch.result(args.job_id)
        if got is None:
            raise CliError(f"job_id: no result for {args.job_id!r} in the archive")
        kind, data, sha = got
        ok, why = verify_result(kind, data, sha)
        if not ok:
            raise CliError(f"result of {args.job_id} fails verification: {why}", 1)
        if not args.out:
            raise CliError("--out: expected a file to write the result to")
        Path(args.out).write_bytes(data)
        info = {"job_id": args.job_id, "kind": kind, "size_bytes": len(data), "sha256": sha.hex(), "path": args.out}
        return _out(args, info, f"{args.job_id}: {kind}, {len(data)} bytes, sha256 {sha.hex()} verified -> {args.out}")
    finally:
        arch.close()


# ------------------------------------------------------------------------------ parser
def _parser() -> argparse.ArgumentParser:
    ap = argparse.ArgumentParser(prog="groundsw", description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--url", default=os.environ.get("SUNSCHED_URL", DEFAULT_URL))
    ap.add_argument("--token", default=os.environ.get("SUNSCHED_TOKEN"))
    ap.add_argument("--json", action="store_true", help="print machine-readable JSON")
    common = argparse.ArgumentParser(add_help=False)  # the same options after the command
    common.add_argument("--url", default=argparse.SUPPRESS)
    common.add_argument("--token", default=argparse.SUPPRESS)
    common.add_argument("--json", action="store_true", default=argparse.SUPPRESS)
    sub = ap.add_subparsers(dest="cmd", required=True)

    def add(name: str, fn, help_text: str) -> argparse.ArgumentParser:
        p = sub.add_parser(name, parents=[common], help=help_text)
        p.set_defaults(fn=fn)
        return p

    def times(p: argparse.ArgumentParser) -> None:
        p.add_argument("--since", help="sim seconds, -seconds before now, or ISO 8601 UTC")
        p.add_argument("--until", help="sim seconds, -seconds before now, or ISO 8601 UTC")

    p = add("serve", _cmd_serve, "run the ground API (uvicorn)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument("--data", default="out/run/ground", help="folder of archive.sqlite and users.json")
    p.add_argument("--log-level", default="warning", choices=["critical", "error", "warning", "info", "debug"])
    p = add("users", _cmd_users, "add or list API users")
    p.add_argument("action", choices=["add", "list"])
    p.add_argument("name", nargs="?")
    p.add_argument("--role", choices=ROLES)
    p.add_argument("--data", required=True, help="the folder served (holds users.json)")
    p.add_argument("--replace", action="store_true", help="issue a new token to an existing user")
    p = add("status", _cmd_status, "sim time, scenario and counts")
    p = add("job", _cmd_job, "submit, list, show or cancel jobs")
    p.add_argument("action", choices=["submit", "list", "show", "cancel"])
    p.add_argument("arg", nargs="?", help="FILE for submit, ID for show and cancel")
    p.add_argument("--stage")
    p.add_argument("--limit", type=int, default=1000)
    p = add("result", _cmd_result, "fetch and verify a job's result")
    p.add_argument("action", choices=["get"])
    p.add_argument("job_id")
    p.add_argument("--out", required=True, help="folder to write ID.bin into")
    p = add("tm", _cmd_tm, "one telemetry channel over time")
    p.add_argument("channel")
    times(p)
    p.add_argument("--max-points", type=int, default=2000)
    add("channels", _cmd_channels, "every telemetry channel and its latest value")
    p = add("events", _cmd_events, "events")
    times(p)
    p.add_argument("--severity", help="comma list: FATAL,WARNING_HI,...")
    p.add_argument("--min-severity", help="this severity and every more severe one")
    p.add_argument("--limit", type=int, default=1000)
    p = add("passes", _cmd_passes, "predicted and actual ground contacts")
    times(p)
    g = p.add_mutually_exclusive_group()
    g.add_argument("--predicted", dest="predicted", action="store_const", const="true")
    g.add_argument("--actual", dest="predicted", action="store_const", const="false")
    add("files", _cmd_files, "files received over the link")
    p = add("file", _cmd_file, "fetch a received file (SHA-256 checked)")
    p.add_argument("action", choices=["get"])
    p.add_argument("file_id", type=int)
    p.add_argument("--out", required=True)
    p = add("cmd", _cmd_cmd, "send (NAME key=value ...), approve ID, show ID or list commands")
    p.add_argument("words", nargs="+", metavar="NAME|approve|show|list")
    p.add_argument("--stage")
    sub.add_parser("keys", help="the telecommand keyring: keys init|show [--path FILE] (groundsw/keys.py)")
    p = add("archive", _cmd_archive, "offline: read an archive file directly")
    p.add_argument("action", choices=["jobs", "stages", "result"])
    p.add_argument("job_id", nargs="?")
    p.add_argument("--archive", required=True)
    p.add_argument("--stage")
    p.add_argument("--out")
    return ap


def _check_args(args: argparse.Namespace) -> None:
    if args.cmd == "job" and args.action != "list" and not args.arg:
        raise CliError(f"job {args.action}: expected {'FILE' if args.action == 'submit' else 'ID'}")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] == ["keys"]:  # the telecommand keyring: groundsw/keys.py has its own parser
        from groundsw import keys

        return keys.main(argv[1:])
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse printed the problem (exit 2) or the help (0)
        return int(exc.code or 0)
    try:
        _check_args(args)
        return args.fn(args)
    except CliError as exc:
        print(f"groundsw: error: {exc}", file=sys.stderr)
        return exc.code
    except (JobSpecError, UserError) as exc:
        print(f"groundsw: error: {exc}", file=sys.stderr)
        return 2
    except ApiFailure as exc:
        print(f"groundsw: error: {exc}", file=sys.stderr)
        return exc.exit_code


if __name__ == "__main__":
    raise SystemExit(main())
