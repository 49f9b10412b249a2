"""WebSocket streams of new archive rows: telemetry, events, and job/command stage changes.

The server polls the archive by row id every POLL_S (the station is another process:
there is no notification to wait on; a poll by primary key is a few microseconds) and
sends each batch of new rows as one JSON text message::

    {"type": "telemetry", "rows": [{"id", "channel", "t_ns", "t_s", "utc", "value"}, ...]}
    {"type": "event", "rows": [...]}
    {"type": "job_stage", "rows": [...]}  /  {"type": "command_stage", "rows": [...]}

The first message is ``{"type": "hello", "stream", "user", "from_id"}``. A client that
reconnects passes the last id it saw as ``?since_id=`` and gets what it missed, at most
BACKLOG_ROWS rows back (older rows: ask the REST routes). On /api/ws/jobs,
``since_id`` follows job stages and ``since_command_id`` command stages.

Authentication: ``Authorization: Bearer T`` or ``?token=T`` (browsers cannot set headers
on a WebSocket); a refusal is an HTTP 401/403 answer to the upgrade request.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
from fastapi import APIRouter, WebSocket
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool
from starlette.websockets import WebSocketDisconnect

from groundsw.api.deps import authenticate
from groundsw.api.errors import ApiError
from groundsw.api.routes_data import parse_severities
from groundsw.api.times import Clock, stamp
from groundsw.archive import Archive
from groundsw.users import User

__all__ = ["BACKLOG_ROWS", "POLL_S", "router"]

router = APIRouter()
POLL_S = 0.2
BACKLOG_ROWS = 1000
BATCH_ROWS = 1000

Fetch = Callable[[Archive, int], list[dict]]


async def _deny(ws: WebSocket, exc: ApiError) -> None:
    """Refuse the upgrade with an HTTP answer (401, 403, 422) naming the field."""
    await ws.send_denial_response(JSONResponse({"detail": str(exc), "field": exc.field},
                                               status_code=exc.status, headers=exc.headers))


def _caller(ws: WebSocket) -> User:
    """The viewer (or above) opening the stream: bearer header, else ``?token=``."""
    header = ws.headers.get("authorization", "")
    token = header[7:].strip() if header[:7].lower() == "bearer " else ws.query_params.get("token")
    return authenticate(ws.app.state.users, token, "viewer")


def _int_param(ws: WebSocket, name: str) -> int | None:
    text = ws.query_params.get(name)
    if text is None or text == "":
        return None
    try:
        value = int(text)
    except ValueError:
        value = -1
    if value < 0:
        raise ApiError(422, name, f"expected a row id >= 0, got {text!r:.40}")
    return value


async def _run(ws: WebSocket, pumps: list[Callable[[], Awaitable[None]]]) -> None:
    """Run the pumps until the client goes away (or a send fails)."""
    async with anyio.create_task_group() as tg:
        async def watch() -> None:
            try:
                while (await ws.receive())["type"] != "websocket.disconnect":
                    pass
            except (WebSocketDisconnect, RuntimeError):
                pass
            tg.cancel_scope.cancel()

        async def guard(pump: Callable[[], Awaitable[None]]) -> None:
            try:
                await pump()
            except (WebSocketDisconnect, RuntimeError, OSError):
                pass
            tg.cancel_scope.cancel()

        tg.start_soon(watch)
        for pump in pumps:
            tg.start_soon(guard, pump)


def _pump(ws: WebSocket, kind: str, start_id: int, fetch: Fetch,
          keep: Callable[[dict], bool] | None = None) -> Callable[[], Awaitable[None]]:
    """Send rows with id > start_id as they appear; ``keep`` filters them (the position
    still moves past rows it drops)."""
    pool = ws.app.state.pool

    def poll(after_id: int) -> tuple[list[dict], Clock | None]:
        with pool.use() as arch:
            rows = fetch(arch, after_id)
            return rows, (Clock(arch.meta()) if rows else None)

    async def pump() -> None:
        last = start_id
        while True:
            rows, clock = await run_in_threadpool(poll, last)
            if rows:
                last = rows[-1]["id"]
                out = [stamp(r, clock) for r in rows if keep is None or keep(r)]
                if out:
                    await ws.send_text(json.dumps({"type": kind, "rows": out}))
            if len(rows) < BATCH_ROWS:
                await anyio.sleep(ws.app.state.poll_s)

    return pump


def _start(ws: WebSocket, table: str, since: int | None) -> int:
    """The id to stream after: the newest now, or ``since`` (at most BACKLOG_ROWS back)."""
    with ws.app.state.pool.use() as arch:
        top = arch.max_ids()[table]
    return top if since is None else max(since, top - BACKLOG_ROWS)


async def _hello(ws: WebSocket, stream: str, user: User, **ids: int) -> None:
    await ws.send_text(json.dumps({"type": "hello", "stream": stream, "user": user.name, **ids}))


async def _open(ws: WebSocket, stream: str, starts: dict[str, tuple[str, str]],
                check: Callable[[], Any] | None = None) -> tuple | None:
    """Authenticate, check the parameters, accept, say hello -> (user, start ids by name,
    what ``check`` returned), or None after a refusal (401/403 before 422: an anonymous
    caller learns nothing). ``starts``: {hello key: (table, since query parameter)}."""
    try:
        user = _caller(ws)
        since = {key: _int_param(ws, param) for key, (_, param) in starts.items()}
        checked = check() if check is not None else None
    except ApiError as exc:
        await _deny(ws, exc)
        return None
    ids = {key: await run_in_threadpool(_start, ws, table, since[key]) for key, (table, _) in starts.items()}
    await ws.accept()
    await _hello(ws, stream, user, **ids)
    return user, ids, checked


@router.websocket("/ws/telemetry")
async def ws_telemetry(ws: WebSocket) -> None:
    """New telemetry samples, of ``?channels=a,b`` or of every channel."""
    chans = {c for c in ws.query_params.get("channels", "").split(",") if c}
    opened = await _open(ws, "telemetry", {"from_id": ("telemetry", "since_id")})
    if opened is None:
        return
    # read every new row and filter here: the position then moves past rows of other
    # channels, so a quiet channel never makes a poll re-read the same rows
    keep = (lambda r: r["channel"] in chans) if chans else None
    fetch: Fetch = lambda a, i: a.telemetry_after(i, None, BATCH_ROWS)  # noqa: E731
    await _run(ws, [_pump(ws, "telemetry", opened[1]["from_id"], fetch, keep)])


@router.websocket("/ws/events")
async def ws_events(ws: WebSocket) -> None:
    """New events, optionally filtered by ``?severity=`` / ``?min_severity=`` as in GET /api/events."""
    q = ws.query_params
    opened = await _open(ws, "events", {"from_id": ("events", "since_id")},
                         lambda: parse_severities(q.get("severity"), q.get("min_severity")))
    if opened is None:
        return
    sevs = opened[2]
    keep = None if sevs is None else (lambda r: r["severity"] in sevs)
    fetch: Fetch = lambda a, i: a.events_after(i, BATCH_ROWS)  # noqa: E731
    await _run(ws, [_pump(ws, "event", opened[1]["from_id"], fetch, keep)])


@router.websocket("/ws/jobs")
async def ws_jobs(ws: WebSocket) -> None:
    """Job stage changes and command stage changes, as they are archived."""
    opened = await _open(ws, "jobs", {"from_id": ("stages", "since_id"),
                                      "from_command_id": ("command_stages", "since_command_id")})
    if opened is None:
        return
    ids = opened[1]
    await _run(ws, [
        _pump(ws, "job_stage", ids["from_id"], lambda a, i: a.stage_changes(i, BATCH_ROWS)),
        _pump(ws, "command_stage", ids["from_command_id"],
              lambda a, i: a.command_stage_changes(i, BATCH_ROWS)),
    ])
