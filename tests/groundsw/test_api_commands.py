"""Commands: names resolved against the ICD, and the two-person rule over real HTTP."""

from __future__ import annotations

import httpx
import pytest

from flightsw.icd.messages import CRITICAL_OPCODES, ONBOARD_APPS, Opcode
from groundsw.commands import ARGS, COMMAND_NAMES, CommandError, coerce_text_args, resolve
from tests.groundsw.conftest import NOW_S, Ground, S


def send(ground: Ground, http: httpx.Client, user: str, name: str, **args) -> httpx.Response:
    return http.post("/api/commands", json={"name": name, "args": args}, headers=ground.auth(user))


def to_release(ground: Ground) -> list[int]:
    a = ground.open_archive()
    try:
        return [r["cmd_id"] for r in a.commands_to_release()]
    finally:
        a.close()


# ----------------------------------------------------------------- resolve (pure)
def test_a_name_resolves_to_target_opcode_and_criticality() -> None:
    c = resolve("executor.EXEC_CANCEL_JOB", {"job_id": "OP-000001"})
    assert (c.target, c.opcode, c.critical, c.args) == ("executor", 48, False, {"job_id": "OP-000001"})
    assert resolve("supervisor.SUP_SET_MODE", {"mode": "SAFE"}).critical is True


def test_every_common_opcode_goes_to_every_app_and_app_opcodes_only_to_theirs() -> None:
    assert {f"{app}.NOOP" for app in ONBOARD_APPS} <= set(COMMAND_NAMES)
    assert "power.EXEC_CANCEL_JOB" not in COMMAND_NAMES
    with pytest.raises(CommandError, match="EXEC_CANCEL_JOB goes to \\['executor'\\]"):
        resolve("power.EXEC_CANCEL_JOB", {"job_id": "x"})


def _valid_args(name: str) -> dict:
    out = {}
    for key, arg in ARGS[Opcode[name.split(".")[1]]].items():
        if arg.kind == "str":
            out[key] = (arg.choices or ("x",))[0]
        else:
            out[key] = True if arg.kind == "bool" else arg.lo
    return out


def test_every_name_resolves_with_valid_args_and_criticality_follows_the_icd() -> None:
    for name in COMMAND_NAMES:
        cmd = resolve(name, _valid_args(name))
        assert cmd.critical == (Opcode(cmd.opcode) in CRITICAL_OPCODES), name
        assert f"{cmd.target}.{Opcode(cmd.opcode).name}" == name


@pytest.mark.parametrize(("name", "args", "field", "needle"), [
    ("power", {}, "name", "target.OPCODE_NAME"),
    ("radio.NOOP", {}, "name", "target"),
    ("power.FLY", {}, "name", "opcode"),
    ("power.NOOP", {"x": 1}, "args.x", "unknown argument"),
    ("executor.EXEC_BOARD_SERVICE", {"board": 1}, "args.in_service", "got nothing"),
    ("executor.EXEC_BOARD_SERVICE", {"board": "1", "in_service": True}, "args.board", "integer"),
    ("power.POWER_SET_MODE_LIMIT", {"mode": "TURBO"}, "args.mode", "one of"),
    ("comms.COMMS_ACTIVATE_KEY", {"key_id": 0}, "args.key_id", "[1, 65535]"),
    ("thermal.THERMAL_SET_HEATERS", {"enabled": 1}, "args.enabled", "true or false"),
])
def test_a_bad_command_names_the_field(name, args, field, needle) -> None:
    with pytest.raises(CommandError) as err:
        resolve(name, args)
    assert err.value.field == field and needle in str(err.value), str(err.value)


def test_text_arguments_are_typed_by_the_opcode() -> None:
    got = coerce_text_args("executor.EXEC_BOARD_SERVICE", {"board": "3", "in_service": "false"})
    assert got == {"board": 3, "in_service": False}
    assert coerce_text_args("executor.EXEC_CANCEL_JOB", {"job_id": "123"}) == {"job_id": "123"}, (
        "a job id that looks like a number must stay a string")


# ------------------------------------------------------------------------- over HTTP
def test_a_plain_command_is_queued_and_released_at_once(ground, http) -> None:
    r = send(ground, http, "otto", "power.NOOP")
    assert r.status_code == 201, r.text
    cmd = r.json()["command"]
    assert cmd["stage"] == "QUEUED" and cmd["sender"] == "otto" and cmd["origin"] == "operator"
    assert cmd["critical"] is False and cmd["queued_t_ns"] == NOW_S * S
    assert cmd["cmd_id"] in to_release(ground), "a non-critical command waits for nothing"


def test_a_critical_command_waits_for_a_different_approver(ground, http) -> None:
    cmd = send(ground, http, "alice", "supervisor.SUP_SET_MODE", mode="SAFE").json()["command"]
    assert cmd["critical"] and cmd["awaiting_approval"], cmd
    assert cmd["cmd_id"] not in to_release(ground), "released without approval"
    own = http.post(f"/api/commands/{cmd['cmd_id']}/approve", headers=ground.auth("alice"))
    assert own.status_code == 403 and "other than" in own.json()["detail"], own.text
    by_operator = http.post(f"/api/commands/{cmd['cmd_id']}/approve", headers=ground.auth("otto"))
    assert by_operator.status_code == 403, "an operator approved"
    assert cmd["cmd_id"] not in to_release(ground), "a refused approval released it"
    ok = http.post(f"/api/commands/{cmd['cmd_id']}/approve", headers=ground.auth("bob"))
    assert ok.status_code == 200 and ok.json()["command"]["approved_by"] == "bob", ok.text
    assert ok.json()["command"]["stage"] == "QUEUED", "approval moved the stage (the station's job)"
    assert cmd["cmd_id"] in to_release(ground), "approved but not released"
    again = http.post(f"/api/commands/{cmd['cmd_id']}/approve", headers=ground.auth("bob"))
    assert again.status_code == 409, again.text


def test_approving_a_command_that_needs_none_or_does_not_exist(ground, http) -> None:
    plain = send(ground, http, "otto", "thermal.NOOP").json()["command"]
    r = http.post(f"/api/commands/{plain['cmd_id']}/approve", headers=ground.auth("bob"))
    assert r.status_code == 409 and "needs no approval" in r.json()["detail"], r.text
    assert http.post("/api/commands/99999/approve", headers=ground.auth("bob")).status_code == 404
    assert http.post("/api/commands/0/approve", headers=ground.auth("bob")).status_code == 422


@pytest.mark.parametrize(("body", "field"), [
    ({"name": "power.FLY"}, "name"),
    ({"args": {}}, "name"),
    ({"name": "power.NOOP", "urgent": True}, "urgent"),
    ({"name": "executor.EXEC_CANCEL_JOB", "args": {"job_id": 5}}, "args.job_id"),
    ({"name": "power.NOOP", "args": [1]}, "args"),
    ("power.NOOP", "body"),
])
def test_a_bad_command_request_is_422_and_stores_nothing(ground, http, body, field) -> None:
    before = (ground.count("commands"), ground.count("command_stages"))
    r = http.post("/api/commands", json=body, headers=ground.auth("otto"))
    assert r.status_code == 422 and r.json()["field"] == field, r.text
    assert (ground.count("commands"), ground.count("command_stages")) == before, "a rejected command left rows"


def test_station_stage_moves_show_in_the_command_history(ground, http) -> None:
    cmd = send(ground, http, "otto", "executor.EXEC_CANCEL_JOB", job_id="job-q1").json()["command"]
    a = ground.open_archive()
    try:
        a.set_command_stage(cmd["cmd_id"], "SENT", (NOW_S + 1) * S, timeout_t_ns=(NOW_S + 61) * S)
        a.set_command_stage(cmd["cmd_id"], "COMPLETED", (NOW_S + 5) * S, "OK", "job-q1 cancelled")
    finally:
        a.close()
    got = http.get(f"/api/commands/{cmd['cmd_id']}", headers=ground.auth("vera")).json()["command"]
    assert [s["stage"] for s in got["stages"]] == ["QUEUED", "SENT", "COMPLETED"], got["stages"]
    assert (got["stage"], got["status"], got["message"]) == ("COMPLETED", "OK", "job-q1 cancelled")
    assert got["stage_timeout_t_ns"] is None, "a stage without a timeout kept the last one"
    listed = http.get("/api/commands", params={"stage": "COMPLETED"}, headers=ground.auth("vera")).json()
    assert cmd["cmd_id"] in [c["cmd_id"] for c in listed["commands"]]


def test_the_command_dictionary_lists_names_and_criticality(ground, http) -> None:
    got = http.get("/api/commands/dictionary", headers=ground.auth("vera")).json()["commands"]
    by = {c["name"]: c for c in got}
    assert set(by) == set(COMMAND_NAMES)
    assert by["comms.COMMS_ACTIVATE_KEY"]["critical"] and not by["power.NOOP"]["critical"]
    assert by["executor.EXEC_BOARD_SERVICE"]["args"]["board"]["required"] is True
