"""REST routes for jobs: list, submit, show, cancel, fetch a result.

The API never moves a job's stage: a submitted job is QUEUED and the station releases
it; a cancel is a request (``cancel_requested``) the station acts on.
"""

from __future__ import annotations

import json
import re
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from groundsw.api.deps import (
    ArchiveDep,
    ArchivePool,
    Operator,
    Viewer,
    clock_of,
    read_json,
)
from groundsw.api.errors import ApiError
from groundsw.api.times import Clock, stamp
from groundsw.archive import Archive
from groundsw.jobspec import FIELDS, estimate, validate_job_spec

__all__ = ["job_view", "router"]

router = APIRouter(tags=["jobs"])
_SAFE = re.compile(r"[^A-Za-z0-9_.-]")
_SPEC_SCHEMA = {
    "type": "object",
    "description": "A job spec (see docs/ground.md): kind, priority and work_gpu_s required.",
    "properties": {f: {} for f in FIELDS},
    "required": ["kind", "priority", "work_gpu_s"],
    "additionalProperties": False,
}


def job_view(row: dict, clock: Clock) -> dict:
    """An archive job row as the API shows it: spec decoded, times stamped, no blob."""
    row = dict(row)
    row.pop("spec", None)
    spec_json = row.pop("spec_json", None)
    row["spec"] = json.loads(spec_json) if spec_json else None
    row["cancel_requested"] = bool(row.get("cancel_requested"))
    if "stages" in row:
        row["stages"] = [stamp(dict(s), clock) for s in row["stages"]]
    return stamp(row, clock)


@router.get("/jobs", summary="jobs, optionally of one stage or origin")
def list_jobs(user: Viewer, arch: ArchiveDep,
              stage: str | None = None, origin: str | None = None,
              limit: Annotated[int, Query(ge=1, le=100_000)] = 1000, offset: Annotated[int, Query(ge=0)] = 0) -> dict:
    clock = clock_of(arch)
    rows = arch.jobs(stage=stage, origin=origin, limit=limit, offset=offset)
    return {"jobs": [job_view(r, clock) for r in rows], "count": len(rows)}


def _submit(pool: ArchivePool, body: object, user: str) -> dict:
    with pool.use() as arch:
        meta = arch.meta()
        spec = validate_job_spec(body, meta)  # JobSpecError -> 422 naming the field
        job_id = arch.submit_job(spec, user, estimate(spec, meta))
        return job_view(arch.job(job_id), Clock(meta))


def _dry_run(pool: ArchivePool, body: object) -> dict:
    with pool.use() as arch:
        meta = arch.meta()
        spec = validate_job_spec(body, meta)  # JobSpecError -> 422 naming the field
        cost = estimate(spec, meta)
        return {"spec": spec, "estimate_energy_wh": cost["energy_wh"], "estimate_time_s": cost["time_s"]}


@router.post("/jobs/dry-run", summary="check a job spec and estimate its cost (viewer): nothing is stored",
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": _SPEC_SCHEMA}}}})
async def dry_run_job(request: Request, user: Viewer) -> dict:
    body = await read_json(request)
    return await run_in_threadpool(_dry_run, request.app.state.pool, body)


@router.post("/jobs", status_code=201, summary="submit a job (operator): it is queued for the station",
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": _SPEC_SCHEMA}}}})
async def submit_job(request: Request, response: Response,
                     user: Operator) -> dict:
    body = await read_json(request)
    job = await run_in_threadpool(_submit, request.app.state.pool, body, user.name)
    response.headers["Location"] = f"/api/jobs/{job['job_id']}"
    return {"job": job}


def _get_job(arch: Archive, job_id: str) -> dict:
    row = arch.job(job_id)
    if row is None:
        raise ApiError(404, "job_id", f"expected a job in the archive, got {job_id!r}")
    return row


@router.get("/jobs/{job_id}", summary="one job with its stage history")
def show_job(job_id: str, user: Viewer,
             arch: ArchiveDep) -> dict:
    return {"job": job_view(_get_job(arch, job_id), clock_of(arch))}


@router.post("/jobs/{job_id}/cancel", status_code=202, summary="ask the station to cancel a job (operator)")
def cancel_job(job_id: str, user: Operator,
               arch: ArchiveDep) -> dict:
    outcome = arch.request_cancel(job_id, user.name)
    if outcome == "not_found":
        raise ApiError(404, "job_id", f"expected a job in the archive, got {job_id!r}")
    if outcome == "final":
        stage = _get_job(arch, job_id)["stage"]
        raise ApiError(409, "job_id", f"expected a job not yet final, got {job_id!r} in stage {stage}")
    return {"job": job_view(_get_job(arch, job_id), clock_of(arch)), "outcome": outcome}


@router.get("/jobs/{job_id}/result", summary="a job's result bytes; X-Sha256 gives their SHA-256 (hex)",
            response_class=Response,
            responses={200: {"content": {"application/octet-stream": {}}}})
def job_result(job_id: str, user: Viewer,
               arch: ArchiveDep) -> Response:
    got = arch.result(job_id)
    if got is None:
        row = _get_job(arch, job_id)
        raise ApiError(404, "job_id", f"expected a job with an archived result, got {job_id!r} "
                       f"in stage {row['stage']}")
    kind, data, sha256 = got
    return Response(data, media_type="application/octet-stream", headers={
        "X-Sha256": sha256.hex(), "X-Result-Kind": kind,
        "Content-Disposition": f'attachment; filename="{_SAFE.sub("_", job_id)}.bin"'})
