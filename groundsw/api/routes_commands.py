"""REST routes for commands: list, send, show, approve; and the command dictionary.

A command is queued (stage QUEUED) and the station releases it; a critical one waits
until an approver other than its sender approves it.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response
from starlette.concurrency import run_in_threadpool

from flightsw.icd.messages import CRITICAL_OPCODES
from groundsw.api.deps import (
    Approver,
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
from groundsw.commands import ARGS, COMMAND_NAMES, CommandError, resolve

__all__ = ["router"]

router = APIRouter(tags=["commands"])
MAX_ID = 2**62
_BODY_SCHEMA = {
    "type": "object",
    "properties": {"name": {"type": "string", "example": "executor.EXEC_CANCEL_JOB"},
                   "args": {"type": "object", "example": {"job_id": "OP-000001"}}},
    "required": ["name"],
    "additionalProperties": False,
}
_APPROVE_REFUSAL = {
    "not_critical": (409, "expected a critical command (this one needs no approval)"),
    "already_approved": (409, "expected a command awaiting approval; it is already approved"),
    "not_queued": (409, "expected a command still QUEUED"),
    "own_command": (403, "expected an approver other than the command's sender (two-person rule)"),
}


def command_view(row: dict, clock: Clock) -> dict:
    row = dict(row)
    row["critical"] = bool(row["critical"])
    row["awaiting_approval"] = row["critical"] and row["approved_by"] is None and row["stage"] == "QUEUED"
    if "stages" in row:
        row["stages"] = [stamp(dict(s), clock) for s in row["stages"]]
    return stamp(row, clock)


@router.get("/commands/dictionary", summary="every command name, its arguments and whether it is critical")
def command_dictionary(user: Viewer) -> dict:
    out = []
    for name in COMMAND_NAMES:
        target, op_name = name.split(".")
        op = next(o for o in ARGS if o.name == op_name)
        out.append({"name": name, "target": target, "opcode": int(op), "critical": op in CRITICAL_OPCODES,
                    "args": {k: {"expected": a.expected(), "required": a.required} for k, a in ARGS[op].items()}})
    return {"commands": out}


@router.get("/commands", summary="commands (the latest `limit`), optionally of one stage")
def list_commands(user: Viewer, arch: ArchiveDep,
                  stage: str | None = None, limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> dict:
    clock = clock_of(arch)
    rows = arch.commands(stage=stage, limit=limit)
    return {"commands": [command_view(r, clock) for r in rows], "count": len(rows)}


def _send(pool: ArchivePool, body: object, user: str) -> dict:
    if not isinstance(body, dict):
        raise ApiError(422, "body", f"expected an object {{name, args}}, got {type(body).__name__}")
    for key in body:
        if key not in ("name", "args"):
            raise ApiError(422, str(key)[:64], "unknown field; expected name and args")
    if "name" not in body:
        raise CommandError("name", "expected 'target.OPCODE_NAME', got nothing")
    cmd = resolve(body["name"], body.get("args"))
    with pool.use() as arch:
        cmd_id = arch.submit_command(cmd.name, cmd.target, cmd.opcode, cmd.args, user, cmd.critical)
        return command_view(arch.command(cmd_id), clock_of(arch))


@router.post("/commands", status_code=201, summary="send a command (operator); critical ones await approval",
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": _BODY_SCHEMA}}}})
async def send_command(request: Request, response: Response,
                       user: Operator) -> dict:
    body = await read_json(request)
    cmd = await run_in_threadpool(_send, request.app.state.pool, body, user.name)
    response.headers["Location"] = f"/api/commands/{cmd['cmd_id']}"
    return {"command": cmd}


def _get(arch: Archive, cmd_id: int) -> dict:
    row = arch.command(cmd_id)
    if row is None:
        raise ApiError(404, "cmd_id", f"expected a command in the archive, got {cmd_id}")
    return row


@router.get("/commands/{cmd_id}", summary="one command with its stage history")
def show_command(cmd_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: Viewer,
                 arch: ArchiveDep) -> dict:
    return {"command": command_view(_get(arch, cmd_id), clock_of(arch))}


@router.post("/commands/{cmd_id}/approve", summary="approve a critical command (approver, not its sender)")
def approve_command(cmd_id: Annotated[int, Path(ge=1, le=MAX_ID)], user: Approver,
                    arch: ArchiveDep) -> dict:
    outcome = arch.approve_command(cmd_id, user.name)
    if outcome == "not_found":
        raise ApiError(404, "cmd_id", f"expected a command in the archive, got {cmd_id}")
    if outcome != "approved":
        status, text = _APPROVE_REFUSAL[outcome]
        raise ApiError(status, "cmd_id", f"{text}: command {cmd_id}")
    return {"command": command_view(_get(arch, cmd_id), clock_of(arch))}
