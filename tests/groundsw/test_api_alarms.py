"""Alarms over real HTTP on loopback: list with states and counts, ack, shelve and its
expiry on the archive's sim clock, refusals, and the action history on disk.

The module's ``ground`` is shared by its tests (and xdist may split them over workers),
so each test adds its own alarm events and asserts on those, or on count differences.
"""

from __future__ import annotations

import itertools
import sqlite3

import pytest

from groundsw.archive import SCHEMA_VERSION, Archive
from tests.groundsw.conftest import NOW_S, S

MINUTE_NS = 60 * S
_names = itertools.count()


def add_event(ground, severity: str = "WARNING_HI", t_s: int = NOW_S) -> int:
    """Archive one event through the station's writer -> its event id."""
    name = f"test.alarm{next(_names)}"
    a = ground.open_archive()
    try:
        a.add_events([(t_s * S, "thermal", severity, name, f"{severity} for a test")])
        return a.db.execute("SELECT id FROM events WHERE name = ?", (name,)).fetchone()[0]
    finally:
        a.close()


def now_t_ns(ground) -> int:
    a = ground.open_archive()
    try:
        return a.meta()["now_t_ns"]
    finally:
        a.close()


def advance_now(ground, by_ns: int) -> int:
    """Move the archive's sim clock forward, as the station does each tick -> the new now."""
    a = ground.open_archive()
    try:
        now = a.meta()["now_t_ns"] + by_ns
        a.set_meta(now_t_ns=now)
        return now
    finally:
        a.close()


def alarms(ground, http, state: str = "all", user: str = "vera") -> dict:
    r = http.get("/api/alarms", params={"state": state}, headers=ground.auth(user))
    assert r.status_code == 200, r.text
    return r.json()


def by_id(answer: dict) -> dict[int, dict]:
    return {a["event_id"]: a for a in answer["alarms"]}


# ------------------------------------------------------------------------------- list
def test_alarms_are_the_warning_hi_and_fatal_events_newest_first(ground, http) -> None:
    got = alarms(ground, http)
    sevs = {a["severity"] for a in got["alarms"]}
    assert sevs == {"FATAL", "WARNING_HI"}, f"the fill's FATAL and WARNING_HI events, nothing less: {sevs}"
    assert {"power.e0", "power.e1"} <= {a["name"] for a in got["alarms"]}
    keys = [(a["t_ns"], a["event_id"]) for a in got["alarms"]]
    assert keys == sorted(keys, reverse=True), "not newest first"
    e1 = next(a for a in got["alarms"] if a["name"] == "power.e1")
    assert e1["source"] == "power" and e1["text"] == "event 1" and e1["t_s"] == 100
    assert e1["utc"] == "2025-03-20T00:01:40Z", "t_ns not stamped"
    assert got["now_t_s"] == now_t_ns(ground) / S


def test_a_new_alarm_is_active_and_counted(ground, http) -> None:
    before = alarms(ground, http)["counts"]
    eid = add_event(ground, "FATAL")
    got = alarms(ground, http)
    alarm = by_id(got)[eid]
    assert alarm["state"] == "active" and alarm["acked_by"] is None and alarm["shelved_until_t_ns"] is None
    assert got["counts"]["active"] == before["active"] + 1, got["counts"]
    assert eid in by_id(alarms(ground, http, "active")) and eid not in by_id(alarms(ground, http, "shelved"))


def test_counts_agree_with_the_list_by_state(ground, http) -> None:
    for sev in ("WARNING_HI", "FATAL", "WARNING_HI"):
        add_event(ground, sev)
    eids = [add_event(ground) for _ in range(2)]
    http.post(f"/api/alarms/{eids[0]}/ack", headers=ground.auth("otto"))
    http.post(f"/api/alarms/{eids[1]}/shelve", json={"minutes": 5}, headers=ground.auth("otto"))
    got = alarms(ground, http)
    tally = {s: sum(a["state"] == s for a in got["alarms"]) for s in ("active", "acknowledged", "shelved")}
    assert got["counts"] == tally, "counts disagree with the states in the list"
    for state in tally:
        listed = alarms(ground, http, state)["alarms"]
        assert len(listed) == tally[state] and {a["state"] for a in listed} <= {state}, state


def test_limit_keeps_the_newest(ground, http) -> None:
    newest = add_event(ground, t_s=NOW_S + 500)
    r = http.get("/api/alarms", params={"limit": 1}, headers=ground.auth("vera"))
    assert r.status_code == 200, r.text
    assert [a["event_id"] for a in r.json()["alarms"]] == [newest]


@pytest.mark.parametrize("state", ["open", "ACTIVE", ""])
def test_a_bad_state_is_422_naming_state(ground, http, state) -> None:
    r = http.get("/api/alarms", params={"state": state}, headers=ground.auth("vera"))
    assert r.status_code == 422 and r.json()["field"] == "state", r.text


def test_alarms_need_a_token(http) -> None:
    assert http.get("/api/alarms").status_code == 401


# -------------------------------------------------------------------------------- ack
def test_an_operator_acknowledges_an_alarm_once(ground, http) -> None:
    eid = add_event(ground)
    r = http.post(f"/api/alarms/{eid}/ack", headers=ground.auth("otto"))
    assert r.status_code == 200, r.text
    alarm = r.json()["alarm"]
    assert alarm["state"] == "acknowledged" and alarm["acked_by"] == "otto", alarm
    assert alarm["acked_t_ns"] == now_t_ns(ground) and alarm["acked_utc"] is not None
    advance_now(ground, S)
    again = http.post(f"/api/alarms/{eid}/ack", headers=ground.auth("alice"))
    assert again.status_code == 200, again.text
    assert again.json()["alarm"]["acked_by"] == "otto", "a second ack replaced the first"
    assert again.json()["alarm"]["acked_t_ns"] == alarm["acked_t_ns"]
    assert [a["action"] for a in again.json()["alarm"]["actions"]] == ["ack"], "a second ack was stored"
    assert by_id(alarms(ground, http, "acknowledged"))[eid]["acked_by"] == "otto"


def test_a_viewer_may_not_ack_or_shelve(ground, http) -> None:
    eid = add_event(ground)
    rows_before = ground.count("alarm_actions")
    r = http.post(f"/api/alarms/{eid}/ack", headers=ground.auth("vera"))
    assert r.status_code == 403 and r.json()["field"] == "role", r.text
    r = http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 5}, headers=ground.auth("vera"))
    assert r.status_code == 403 and r.json()["field"] == "role", r.text
    assert ground.count("alarm_actions") == rows_before, "a refused action was stored"
    assert by_id(alarms(ground, http))[eid]["state"] == "active"


@pytest.mark.parametrize("action", ["ack", "shelve"])
def test_no_such_event_is_404_naming_event_id(ground, http, action) -> None:
    r = http.post(f"/api/alarms/{10**9}/{action}", json={"minutes": 5}, headers=ground.auth("otto"))
    assert r.status_code == 404 and r.json()["field"] == "event_id", r.text


@pytest.mark.parametrize("action", ["ack", "shelve"])
@pytest.mark.parametrize("severity", ["WARNING_LO", "ACTIVITY_HI", "DIAGNOSTIC"])
def test_an_event_below_warning_hi_is_409(ground, http, action, severity) -> None:
    eid = add_event(ground, severity)
    rows_before = ground.count("alarm_actions")
    r = http.post(f"/api/alarms/{eid}/{action}", json={"minutes": 5}, headers=ground.auth("otto"))
    assert r.status_code == 409 and r.json()["field"] == "event_id", r.text
    assert severity in r.json()["detail"], r.json()
    assert ground.count("alarm_actions") == rows_before
    assert eid not in by_id(alarms(ground, http)), "a non-alarm event listed as an alarm"


def test_one_alarm_shows_its_history_and_a_non_alarm_is_404(ground, http) -> None:
    eid = add_event(ground)
    http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 3, "reason": "noisy"}, headers=ground.auth("otto"))
    http.post(f"/api/alarms/{eid}/ack", headers=ground.auth("otto"))
    r = http.get(f"/api/alarms/{eid}", headers=ground.auth("vera"))
    assert r.status_code == 200, r.text
    acts = r.json()["alarm"]["actions"]
    assert [(a["action"], a["user"], a["reason"]) for a in acts] == [("shelve", "otto", "noisy"), ("ack", "otto", "")]
    assert acts[0]["until_t_s"] == acts[0]["t_s"] + 180, acts[0]
    low = add_event(ground, "WARNING_LO")
    r = http.get(f"/api/alarms/{low}", headers=ground.auth("vera"))
    assert r.status_code == 404 and r.json()["field"] == "event_id", r.text


# ----------------------------------------------------------------------------- shelve
def test_a_shelved_alarm_is_hidden_until_its_sim_time_then_active_again(ground, http) -> None:
    eid = add_event(ground)
    r = http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 10, "reason": "board swap planned"},
                  headers=ground.auth("otto"))
    assert r.status_code == 200, r.text
    alarm = r.json()["alarm"]
    start = now_t_ns(ground)
    assert alarm["state"] == "shelved" and alarm["shelved_by"] == "otto", alarm
    assert alarm["shelved_until_t_ns"] == start + 10 * MINUTE_NS, "until is not now + 10 sim minutes"
    assert alarm["shelve_reason"] == "board swap planned" and alarm["shelved_until_utc"] is not None
    assert eid in by_id(alarms(ground, http, "shelved")) and eid not in by_id(alarms(ground, http, "active"))
    advance_now(ground, 10 * MINUTE_NS - 1)
    assert by_id(alarms(ground, http))[eid]["state"] == "shelved", "the shelve ended early"
    advance_now(ground, 1)
    back = by_id(alarms(ground, http))[eid]
    assert back["state"] == "active", "an expired shelve of an unacknowledged alarm is not active again"
    assert back["shelved_by"] is None and back["shelved_until_t_ns"] is None


def test_an_expired_shelve_of_an_acknowledged_alarm_leaves_it_acknowledged(ground, http) -> None:
    eid = add_event(ground)
    http.post(f"/api/alarms/{eid}/ack", headers=ground.auth("otto"))
    r = http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 1}, headers=ground.auth("alice"))
    assert r.json()["alarm"]["state"] == "shelved" and r.json()["alarm"]["acked_by"] == "otto", r.text
    advance_now(ground, MINUTE_NS)
    after = by_id(alarms(ground, http))[eid]
    assert after["state"] == "acknowledged" and after["acked_by"] == "otto", after


def test_acknowledging_a_shelved_alarm_ends_the_shelve(ground, http) -> None:
    eid = add_event(ground)
    http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 60}, headers=ground.auth("otto"))
    r = http.post(f"/api/alarms/{eid}/ack", headers=ground.auth("alice"))
    assert r.json()["alarm"]["state"] == "acknowledged" and r.json()["alarm"]["acked_by"] == "alice", r.text
    assert r.json()["alarm"]["shelved_until_t_ns"] is None


@pytest.mark.parametrize("body", [
    {}, {"minutes": 0}, {"minutes": 1441}, {"minutes": -5}, {"minutes": 2.5}, {"minutes": "10"},
    {"minutes": True}, {"minutes": None},
])
def test_bad_minutes_is_422_naming_minutes(ground, http, body) -> None:
    eid = add_event(ground)
    r = http.post(f"/api/alarms/{eid}/shelve", json=body, headers=ground.auth("otto"))
    assert r.status_code == 422 and r.json()["field"] == "minutes", r.text
    assert by_id(alarms(ground, http))[eid]["state"] == "active"


@pytest.mark.parametrize(("body", "field"), [
    ({"minutes": 5, "reason": "x" * 201}, "reason"),
    ({"minutes": 5, "reason": 7}, "reason"),
    ({"minutes": 5, "why": "x"}, "why"),
    ([5], "body"),
])
def test_a_bad_shelve_body_is_422_naming_the_field(ground, http, body, field) -> None:
    eid = add_event(ground)
    r = http.post(f"/api/alarms/{eid}/shelve", json=body, headers=ground.auth("otto"))
    assert r.status_code == 422 and r.json()["field"] == field, r.text


def test_the_longest_shelve_and_reason_are_accepted(ground, http) -> None:
    eid = add_event(ground)
    r = http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 1440, "reason": "y" * 200},
                  headers=ground.auth("otto"))
    assert r.status_code == 200, r.text
    assert r.json()["alarm"]["shelved_until_t_ns"] - r.json()["alarm"]["shelved_t_ns"] == 1440 * MINUTE_NS


# ---------------------------------------------------------------------------- storage
def test_the_action_history_survives_reopening_the_archive(ground, http) -> None:
    eid = add_event(ground)
    http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 2, "reason": "r1"}, headers=ground.auth("otto"))
    http.post(f"/api/alarms/{eid}/ack", headers=ground.auth("alice"))
    http.post(f"/api/alarms/{eid}/shelve", json={"minutes": 4}, headers=ground.auth("bob"))
    want = [("shelve", "otto", "r1"), ("ack", "alice", ""), ("shelve", "bob", "")]
    for _ in range(2):  # each open is a fresh connection to the file
        a = Archive(ground.archive_path)
        try:
            row = a.alarm(eid)
        finally:
            a.close()
        assert [(x["action"], x["user"], x["reason"]) for x in row["actions"]] == want, row["actions"]
        assert row["state"] == "shelved" and row["acked_by"] == "alice" and row["shelved_by"] == "bob", row


def test_an_archive_of_schema_3_gains_the_alarm_table_in_place(tmp_path) -> None:
    path = tmp_path / "v3.sqlite"
    a = Archive(path)
    a.set_meta(now_t_ns=5 * S)
    a.add_events([(S, "power", "FATAL", "power.old", "from before alarms")])
    a.close()
    db = sqlite3.connect(path)  # as schema 3 left it: no alarm_actions
    db.execute("DROP TABLE alarm_actions")
    db.execute("PRAGMA user_version = 3")
    db.commit()
    db.close()
    a = Archive(path)
    try:
        assert a.db.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION
        assert [r["state"] for r in a.alarms()] == ["active"]
        assert a.ack_alarm(1, "otto") == "acknowledged" and a.alarm(1)["acked_t_ns"] == 5 * S
    finally:
        a.close()
