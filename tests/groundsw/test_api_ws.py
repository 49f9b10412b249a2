"""WebSocket streams over real loopback sockets, read by the `websockets` client: rows the
station writes after a client connects reach it; the backlog and filters hold."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.groundsw.conftest import TM_CHANNEL, Ground, S

RECV_TIMEOUT_S = 5.0


def ws_url(ground: Ground, path: str) -> str:
    return ground.url.replace("http://", "ws://") + path


@contextmanager
def open_stream(ground: Ground, path: str, user: str = "vera"):
    with connect(ws_url(ground, path), additional_headers=ground.auth(user), open_timeout=5) as ws:
        hello = json.loads(ws.recv(timeout=RECV_TIMEOUT_S))
        assert hello["type"] == "hello" and hello["user"] == user, hello
        yield ws, hello


def recv_rows(ws, kind: str, want: int) -> list[dict]:
    """Rows of messages of ``kind`` until ``want`` arrived (or the timeout fails the test)."""
    rows: list[dict] = []
    while len(rows) < want:
        msg = json.loads(ws.recv(timeout=RECV_TIMEOUT_S))
        if msg["type"] == kind:
            rows += msg["rows"]
    return rows


def write(ground: Ground, fn) -> None:
    a = ground.open_archive()
    try:
        with a.batch():
            fn(a)
    finally:
        a.close()


def test_telemetry_written_after_connecting_arrives_for_the_chosen_channels(ground) -> None:
    with open_stream(ground, f"/api/ws/telemetry?channels={TM_CHANNEL}") as (ws, _):
        write(ground, lambda a: a.add_telemetry([("other.channel", 2000 * S, 1.0),
                                                 (TM_CHANNEL, 2000 * S, 0.75), (TM_CHANNEL, 2001 * S, 0.76)]))
        rows = recv_rows(ws, "telemetry", 2)
    assert [(r["channel"], r["t_s"], r["value"]) for r in rows] == [
        (TM_CHANNEL, 2000, 0.75), (TM_CHANNEL, 2001, 0.76)], rows
    assert rows[0]["utc"] == "2025-03-20T00:33:20Z"


def test_a_reconnecting_client_gets_the_rows_it_missed(ground) -> None:
    a = ground.open_archive()
    try:
        top = a.max_ids()["telemetry"]
    finally:
        a.close()
    with open_stream(ground, f"/api/ws/telemetry?since_id={top - 3}") as (ws, hello):
        rows = recv_rows(ws, "telemetry", 3)
    assert hello["from_id"] == top - 3 and [r["id"] for r in rows] == [top - 2, top - 1, top], rows


def test_events_stream_with_a_severity_floor(ground) -> None:
    with open_stream(ground, "/api/ws/events?min_severity=WARNING_LO") as (ws, _):
        write(ground, lambda a: a.add_events([(3000 * S, "thermal", "DIAGNOSTIC", "thermal.d", "quiet"),
                                              (3001 * S, "thermal", 1, "thermal.hot", "board 3 hot")]))
        rows = recv_rows(ws, "event", 1)
    assert [(r["severity"], r["name"]) for r in rows] == [("WARNING_HI", "thermal.hot")], rows


def test_an_events_stream_from_0_sends_what_is_archived_and_what_comes(ground) -> None:
    # the console's event log opens its stream after 0 when its first GET found no event: an
    # event archived between the two must still arrive (the stream does not start "from now")
    a = ground.open_archive()
    try:
        before = a.events_after(0, 10_000)
    finally:
        a.close()
    write(ground, lambda a: a.add_events([(3100 * S, "executor", 1, "executor.board_out_of_service", "board 5")]))
    with open_stream(ground, "/api/ws/events?since_id=0") as (ws, hello):
        assert hello["from_id"] == 0, hello
        rows = recv_rows(ws, "event", len(before) + 1)
    assert [r["id"] for r in rows] == sorted(r["id"] for r in rows) and len({r["id"] for r in rows}) == len(rows)
    assert rows[-1]["name"] == "executor.board_out_of_service", rows[-1]


def test_jobs_stream_carries_job_and_command_stage_changes(ground) -> None:
    with open_stream(ground, "/api/ws/jobs") as (ws, _):
        def station(a):
            a.set_stage("job-q1", "RELEASED", 4000 * S)
            cmd = a.add_command("power.NOOP", "power", 0, {}, "plan", "plan", False, 4000 * S)
            a.set_command_stage(cmd, "SENT", 4001 * S)
        write(ground, station)
        got: dict[str, list] = {"job_stage": [], "command_stage": []}
        while len(got["job_stage"]) < 1 or len(got["command_stage"]) < 2:
            msg = json.loads(ws.recv(timeout=RECV_TIMEOUT_S))
            if msg["type"] in got:
                got[msg["type"]] += msg["rows"]
    assert [(r["job_id"], r["stage"]) for r in got["job_stage"]] == [("job-q1", "RELEASED")], got
    assert [(r["name"], r["stage"]) for r in got["command_stage"]] == [("power.NOOP", "QUEUED"),
                                                                      ("power.NOOP", "SENT")], got


def test_a_token_in_the_query_works_and_none_is_refused_with_401(ground) -> None:
    with connect(ws_url(ground, f"/api/ws/events?token={ground.tokens['vera']}"), open_timeout=5) as ws:
        assert json.loads(ws.recv(timeout=RECV_TIMEOUT_S))["type"] == "hello"
    with pytest.raises(InvalidStatus) as err:
        connect(ws_url(ground, "/api/ws/events"), open_timeout=5)
    assert err.value.response.status_code == 401
    with pytest.raises(InvalidStatus) as err:
        connect(ws_url(ground, "/api/ws/events?token=wrong"), open_timeout=5)
    assert err.value.response.status_code == 401


def test_a_bad_stream_parameter_is_refused_with_422_naming_it(ground) -> None:
    for query, field in (("since_id=abc", "since_id"), ("severity=LOUD", "severity")):
        with pytest.raises(InvalidStatus) as err:
            connect(ws_url(ground, f"/api/ws/events?{query}"), additional_headers=ground.auth("vera"),
                    open_timeout=5)
        assert err.value.response.status_code == 422, query
        assert json.loads(err.value.response.body)["field"] == field
