"""REST routes for what the station archived: telemetry, events, passes, files, status.

Time ranges: ``since``/``until`` are sim seconds, negative seconds before now, or ISO
8601 UTC (see times.py). Every answer carries ``t_ns``, ``t_s`` and ``utc``.
"""

from __future__ import annotations

import re
from typing import Annotated

from fastapi import APIRouter, Path, Query, Response

from flightsw.icd.messages import Severity
from groundsw.api.deps import ArchiveDep, Viewer, clock_of
from groundsw.api.errors import ApiError
from groundsw.api.times import parse_time_param, stamp
from groundsw.limits import limits_for

__all__ = ["parse_severities", "router"]

router = APIRouter(tags=["archive"])
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
Since = Annotated[str | None, Query(description="sim seconds, -seconds before now, or ISO 8601 UTC")]
Until = Annotated[str | None, Query(description="sim seconds, -seconds before now, or ISO 8601 UTC")]
Limit = Annotated[int, Query(ge=1, le=100_000)]


def parse_severities(severity: str | None, min_severity: str | None) -> list[str] | None:
    """``severity``: a comma list of names; ``min_severity``: that name and every more
    severe one (FATAL is the most severe). None: all. 422 naming the parameter."""
    names = [s.name for s in Severity]
    out: set[str] | None = None
    if severity:
        wanted = [s.strip().upper() for s in severity.split(",") if s.strip()]
        bad = [s for s in wanted if s not in names]
        if bad:
            raise ApiError(422, "severity", f"expected names from {names}, got {bad[0]!r:.40}")
        out = set(wanted)
    if min_severity:
        floor = min_severity.strip().upper()
        if floor not in names:
            raise ApiError(422, "min_severity", f"expected one of {names}, got {min_severity!r:.40}")
        at_least = {s.name for s in Severity if s <= Severity[floor]}
        out = at_least if out is None else out & at_least
    return None if out is None else sorted(out)


@router.get("/telemetry", summary="one channel's samples in [since, until], decimated to max_points")
def telemetry(channel: str, user: Viewer, arch: ArchiveDep, since: Since = None, until: Until = None,
              max_points: Annotated[int, Query(ge=1, le=100_000)] = 2000) -> dict:
    clock = clock_of(arch)
    lo = parse_time_param("since", since, clock)
    hi = parse_time_param("until", until, clock)
    got = arch.telemetry(channel, lo, hi, max_points)
    got["points"] = [stamp(p, clock) for p in got["points"]]
    return {"channel": channel, **got}


@router.get("/telemetry/channels", summary="every telemetry channel with its latest sample")
def channels(user: Viewer, arch: ArchiveDep) -> dict:
    clock = clock_of(arch)
    return {"channels": [stamp(c, clock) for c in arch.channels()]}


@router.get("/telemetry/limits", summary="operational limits per channel (WARNING, CRITICAL; low, high)")
def telemetry_limits(user: Viewer, arch: ArchiveDep) -> dict:
    return {"limits": limits_for(arch.meta())}


@router.get("/events", summary="events in [since, until] (the latest `limit` if no since)")
def events(user: Viewer, arch: ArchiveDep, since: Since = None, until: Until = None,
           severity: Annotated[str | None, Query(description="comma list, e.g. FATAL,WARNING_HI")] = None,
           min_severity: Annotated[str | None, Query(description="this and every more severe")] = None,
           limit: Limit = 1000) -> dict:
    clock = clock_of(arch)
    sevs = parse_severities(severity, min_severity)
    if sevs == []:
        return {"events": []}
    rows = arch.events(parse_time_param("since", since, clock), parse_time_param("until", until, clock),
                       sevs, limit)
    return {"events": [stamp(r, clock) for r in rows]}


@router.get("/passes", summary="ground contacts: predicted, and as they happened")
def passes(user: Viewer, arch: ArchiveDep, since: Since = None, until: Until = None,
           predicted: bool | None = None, limit: Limit = 1000) -> dict:
    clock = clock_of(arch)
    rows = arch.passes(parse_time_param("since", since, clock), parse_time_param("until", until, clock),
                       predicted, limit)
    for r in rows:
        r["predicted"] = bool(r["predicted"])
    return {"passes": [stamp(r, clock) for r in rows]}


@router.get("/transfers", summary="file transfers in flight: bytes received of each file's size")
def transfers(user: Viewer, arch: ArchiveDep) -> dict:
    clock = clock_of(arch)
    return {"transfers": [stamp(r, clock) for r in arch.transfers()]}


@router.get("/files", summary="files received over the link (without their data)")
def files(user: Viewer, arch: ArchiveDep, limit: Limit = 1000) -> dict:
    clock = clock_of(arch)
    return {"files": [stamp(r, clock) for r in arch.files(limit)]}


@router.get("/files/{file_id}", summary="a received file's bytes; X-Sha256 and X-Crc32 check them",
            response_class=Response, responses={200: {"content": {"application/octet-stream": {}}}})
def file(file_id: Annotated[int, Path(ge=1, le=2**62)], user: Viewer, arch: ArchiveDep) -> Response:
    row = arch.file(file_id)
    if row is None:
        raise ApiError(404, "file_id", f"expected a file in the archive, got {file_id}")
    return Response(row["data"], media_type="application/octet-stream", headers={
        "X-Sha256": row["sha256"], "X-Crc32": str(row["crc32"]), "X-File-Status": row["status"],
        "X-File-Name": _SAFE.sub("_", row["name"])[:200],
        "Content-Disposition": f'attachment; filename="{_SAFE.sub("_", row["name"])[:200]}"'})


@router.get("/status", summary="sim time now, the epoch, the scenario, and counts")
def status(user: Viewer, arch: ArchiveDep) -> dict:
    meta = arch.meta()
    clock = clock_of(arch)
    return {"now": clock.now(), "epoch_utc": meta.get("epoch_utc"), "scenario": meta.get("scenario"),
            "meta": meta, "counts": arch.counts(), "user": {"name": user.name, "role": user.role}}
