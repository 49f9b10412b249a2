"""REST routes for alarms: list them with their state, acknowledge one, shelve one.

An alarm is an archived event of severity WARNING_HI or FATAL. Its state is ``active``
(new), ``acknowledged`` (an operator saw it) or ``shelved`` (hidden until a sim time);
the archive keeps every operator action (``alarm_actions``) and derives the state from
them at the station's ``now`` (see ``Archive.alarms``), so a shelve ends on the sim
clock, not the wall clock.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path, Query, Request
from starlette.concurrency import run_in_threadpool

from groundsw.api.deps import ArchiveDep, ArchivePool, Operator, Viewer, clock_of, read_json
from groundsw.api.errors import ApiError
from groundsw.api.times import NS_PER_S, Clock, stamp
from groundsw.archive import ALARM_SEVERITIES, ALARM_STATES, Archive

__all__ = ["MAX_REASON_CHARS", "MAX_SHELVE_MINUTES", "alarm_view", "router"]

router = APIRouter(tags=["alarms"])
MAX_ID = 2**62
MAX_SHELVE_MINUTES = 24 * 60  # a day: longer than that, an alarm is a fault to fix, not to hide
MAX_REASON_CHARS = 200
NS_PER_MIN = 60 * NS_PER_S
_STATE_CHOICES = (*ALARM_STATES, "all")
_SHELVE_SCHEMA = {
    "type": "object",
    "properties": {"minutes": {"type": "integer", "minimum": 1, "maximum": MAX_SHELVE_MINUTES, "example": 30},
                   "reason": {"type": "string", "maxLength": MAX_REASON_CHARS, "example": "known, board swapped"}},
    "required": ["minutes"],
    "additionalProperties": False,
}
EventId = Annotated[int, Path(ge=1, le=MAX_ID, description="the alarm's event id (events.id)")]


def alarm_view(row: dict, clock: Clock) -> dict:
    """An archive alarm row as the API shows it: every time stamped (actions too)."""
    row = dict(row)
    if "actions" in row:
        row["actions"] = [stamp(dict(a), clock) for a in row["actions"]]
    return stamp(row, clock)


@router.get("/alarms", summary="alarms (WARNING_HI and FATAL events) with their state, newest first")
def list_alarms(user: Viewer, arch: ArchiveDep,
                state: Annotated[str, Query(description="active, acknowledged, shelved or all")] = "all",
                limit: Annotated[int, Query(ge=1, le=100_000)] = 1000) -> dict:
    if state not in _STATE_CHOICES:
        raise ApiError(422, "state", f"expected one of {', '.join(_STATE_CHOICES)}, got {state!r:.40}")
    clock = clock_of(arch)
    got = arch.alarm_summary(None if state == "all" else state, limit)
    got["alarms"] = [alarm_view(r, clock) for r in got["alarms"]]
    return stamp(got, clock)  # now_t_ns: the sim time the states hold at


def _refuse(outcome: str, event_id: int, arch: Archive) -> None:
    """The answer for an action that found no alarm: 404 for no such event, 409 for an
    event below the alarm severities."""
    if outcome == "not_found":
        raise ApiError(404, "event_id", f"expected an event in the archive, got {event_id}")
    if outcome == "not_alarm":
        sev = arch.event(event_id)["severity"]
        raise ApiError(409, "event_id", f"expected an alarm (severity {' or '.join(ALARM_SEVERITIES)}), "
                                        f"got event {event_id} of severity {sev}")


def _answer(arch: Archive, event_id: int) -> dict:
    return {"alarm": alarm_view(arch.alarm(event_id), clock_of(arch))}


@router.get("/alarms/{event_id}", summary="one alarm with its state and the history of operator actions")
def show_alarm(event_id: EventId, user: Viewer, arch: ArchiveDep) -> dict:
    row = arch.alarm(event_id)
    if row is None:
        event = arch.event(event_id)
        got = "no such event" if event is None else f"an event of severity {event['severity']}"
        raise ApiError(404, "event_id", f"expected an alarm in the archive, got {got} ({event_id})")
    return {"alarm": alarm_view(row, clock_of(arch))}


@router.post("/alarms/{event_id}/ack", summary="acknowledge an alarm (operator); a second ack changes nothing")
def ack_alarm(event_id: EventId, user: Operator, arch: ArchiveDep) -> dict:
    _refuse(arch.ack_alarm(event_id, user.name), event_id, arch)
    return _answer(arch, event_id)


def _shelve_args(body: object) -> tuple[int, str]:
    """(minutes, reason) from a shelve body; 422 naming the field at fault."""
    if not isinstance(body, dict):
        raise ApiError(422, "body", f"expected an object {{minutes, reason}}, got {type(body).__name__}")
    for key in body:
        if key not in ("minutes", "reason"):
            raise ApiError(422, str(key)[:64], "unknown field; expected minutes and reason")
    minutes = body.get("minutes")
    if isinstance(minutes, bool) or not isinstance(minutes, int) or not 1 <= minutes <= MAX_SHELVE_MINUTES:
        raise ApiError(422, "minutes", f"expected an integer from 1 to {MAX_SHELVE_MINUTES} (sim minutes), "
                                       f"got {minutes!r:.40}")
    reason = body.get("reason", "")
    if not isinstance(reason, str) or len(reason) > MAX_REASON_CHARS:
        got = f"{len(reason)} characters" if isinstance(reason, str) else type(reason).__name__
        raise ApiError(422, "reason", f"expected text of at most {MAX_REASON_CHARS} characters, got {got}")
    return minutes, reason


def _shelve(pool: ArchivePool, event_id: int, body: object, user: str) -> dict:
    minutes, reason = _shelve_args(body)
    with pool.use() as arch:
        _refuse(arch.shelve_alarm(event_id, user, minutes * NS_PER_MIN, reason), event_id, arch)
        return _answer(arch, event_id)


@router.post("/alarms/{event_id}/shelve", summary="hide an alarm for `minutes` of sim time (operator)",
             openapi_extra={"requestBody": {"required": True,
                                            "content": {"application/json": {"schema": _SHELVE_SCHEMA}}}})
async def shelve_alarm(event_id: EventId, request: Request, user: Operator) -> dict:
    body = await read_json(request)
    return await run_in_threadpool(_shelve, request.app.state.pool, event_id, body, user.name)
