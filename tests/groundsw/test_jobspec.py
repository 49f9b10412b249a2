"""Operator job specs (groundsw/jobspec.py): files, validation, estimates, times."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.icd.codec import decode, encode
from flightsw.icd.messages import JobSpec
from flightsw.icd.results import matmul_result_bytes
from groundsw.jobspec import (
    CHECKPOINT_COST_S,
    FIELDS,
    JobSpecError,
    estimate,
    load_job_spec_file,
    parse_utc,
    t_ns_of_utc,
    utc_of_t_ns,
    validate_job_spec,
)
from tests.groundsw.conftest import json_values, spec_like
from tests.strategies import message_of

S = 1_000_000_000
NOW_S = 1000
META = {"epoch_utc": "2025-03-20T00:00:00Z", "now_t_ns": NOW_S * S, "board_count": 8,
        "board_max_power_w": 300.0}
BASE = {"kind": "synthetic", "priority": 5, "work_gpu_s": 100.0}
ENERGY_TOL_WH = 1e-9


def field_of(data, meta=META) -> str:
    with pytest.raises(JobSpecError) as err:
        validate_job_spec(data, meta)
    assert str(err.value).startswith(f"{err.value.field}: "), "the message does not lead with the field"
    return err.value.field


# -------------------------------------------------------------------------- accepted
def test_a_minimal_spec_gets_the_defaults() -> None:
    got = validate_job_spec(BASE, META)
    assert got == {"kind": "synthetic", "priority": 5, "deadline_t_ns": -1, "boards_needed": 1,
                   "work_gpu_s": 100.0, "checkpoint_interval_s": 0.0, "input_bytes": 0,
                   "output_bytes": 0, "seed": 0, "params": {}}, got


def test_the_result_is_every_jobspec_field_but_id_and_release_in_icd_order() -> None:
    names = [f.name for f in dataclasses.fields(JobSpec) if f.name not in ("job_id", "release_t_ns")]
    assert list(validate_job_spec(BASE, META)) == names


def test_a_matmul_spec_takes_its_output_size_from_n() -> None:
    got = validate_job_spec({**BASE, "kind": "matmul", "params": {"n": 16}}, META)
    assert got["output_bytes"] == matmul_result_bytes(16) and got["params"] == {"n": 16}
    assert field_of({**BASE, "kind": "matmul", "params": {"n": 16}, "output_bytes": 5}) == "output_bytes"


def test_deadlines_count_from_now_or_from_the_epoch() -> None:
    rel = validate_job_spec({**BASE, "deadline_in_s": 60}, META)
    assert rel["deadline_t_ns"] == (NOW_S + 60) * S
    utc = validate_job_spec({**BASE, "deadline_utc": "2025-03-20T02:00:00+01:00"}, META)
    assert utc["deadline_t_ns"] == 3600 * S, "an offset was not converted to UTC"
    toml_dt = validate_job_spec({**BASE, "deadline_utc": datetime(2025, 3, 20, 1, tzinfo=UTC)}, META)
    assert toml_dt["deadline_t_ns"] == 3600 * S


@pytest.mark.parametrize(("change", "field"), [
    ({"kind": "fft"}, "kind"),
    ({"priority": 10}, "priority"),
    ({"priority": True}, "priority"),
    ({"priority": 5.0}, "priority"),
    ({"work_gpu_s": 0}, "work_gpu_s"),
    ({"work_gpu_s": -1}, "work_gpu_s"),
    ({"work_gpu_s": float("nan")}, "work_gpu_s"),
    ({"work_gpu_s": "100"}, "work_gpu_s"),
    ({"work_gpu_s": 10**400}, "work_gpu_s"),
    ({"boards_needed": 0}, "boards_needed"),
    ({"boards_needed": 9}, "boards_needed"),
    ({"boards_needed": 5, "params": {"dual": True}}, "boards_needed"),
    ({"deadline_in_s": 0}, "deadline_in_s"),
    ({"deadline_in_s": 10, "deadline_utc": "2025-03-21T00:00:00Z"}, "deadline_in_s"),
    ({"deadline_utc": "2025-03-20T00:10:00Z"}, "deadline_utc"),  # before now
    ({"deadline_utc": "2025-03-21T00:00:00"}, "deadline_utc"),  # no zone
    ({"deadline_utc": "tomorrow"}, "deadline_utc"),
    ({"checkpoint_interval_s": -1}, "checkpoint_interval_s"),
    ({"input_bytes": 64 * 1024 * 1024 + 1}, "input_bytes"),
    ({"output_bytes": -1}, "output_bytes"),
    ({"seed": 2**32}, "seed"),
    ({"params": {"n": 4}}, "params.n"),  # synthetic takes no n
    ({"params": {"dual": "yes"}}, "params.dual"),
    ({"params": [1]}, "params"),
    ({"job_id": "mine"}, "job_id"),  # the ground assigns ids
    ({"release_t_ns": 0}, "release_t_ns"),
])
def test_a_bad_field_is_named(change, field) -> None:
    assert field_of({**BASE, **change}) == field


def test_a_missing_required_field_is_named() -> None:
    for key in ("kind", "priority", "work_gpu_s"):
        assert field_of({k: v for k, v in BASE.items() if k != key}) == key


def test_a_spec_that_is_not_an_object_is_refused() -> None:
    assert field_of([BASE]) == "spec"


def test_without_an_epoch_a_utc_deadline_is_refused_but_a_relative_one_works() -> None:
    meta = {"now_t_ns": 0}
    assert field_of({**BASE, "deadline_utc": "2025-03-21T00:00:00Z"}, meta) == "deadline_utc"
    assert validate_job_spec({**BASE, "deadline_in_s": 5}, meta)["deadline_t_ns"] == 5 * S


# -------------------------------------------------------------------------- fuzzing
@settings(max_examples=300, deadline=None)
@given(spec_like())
def test_any_spec_is_either_refused_by_name_or_encodes_on_the_wire(data) -> None:
    try:
        spec = validate_job_spec(data, META)
    except JobSpecError as exc:
        head = exc.field.split(".")[0]
        assert head in (*FIELDS, "spec") or exc.field in data, f"unexpected field {exc.field!r}"
        return
    body = JobSpec(job_id="OP-000001", release_t_ns=NOW_S * S, **spec)
    assert decode(encode(message_of(body))).body == body, "a validated spec does not survive the wire"
    assert spec["deadline_t_ns"] == -1 or spec["deadline_t_ns"] > NOW_S * S, "a deadline in the past"


@settings(max_examples=100, deadline=None)
@given(json_values)
def test_any_json_document_is_refused_with_a_jobspecerror(data) -> None:
    with pytest.raises(JobSpecError):
        validate_job_spec(data, META)


# -------------------------------------------------------------------------- estimate
def test_energy_is_work_at_full_board_power() -> None:
    est = estimate(validate_job_spec({**BASE, "work_gpu_s": 3600, "boards_needed": 4}, META), META)
    assert abs(est["energy_wh"] - 300.0) < ENERGY_TOL_WH and est["time_s"] == 900, est


def test_checkpoints_add_board_time_and_a_dual_job_costs_double() -> None:
    spec = validate_job_spec({**BASE, "work_gpu_s": 1000, "checkpoint_interval_s": 100,
                              "params": {"dual": True}}, META)
    est = estimate(spec, META)
    assert est["time_s"] == 1000 + 10 * CHECKPOINT_COST_S, est
    want_wh = 2 * (1000 + 10 * CHECKPOINT_COST_S) * 300.0 / 3600
    assert abs(est["energy_wh"] - want_wh) < ENERGY_TOL_WH, est


def test_without_board_power_the_energy_is_unknown() -> None:
    assert estimate(validate_job_spec(BASE, META), {})["energy_wh"] is None


@settings(max_examples=100, deadline=None)
@given(st.floats(0.001, 1e8), st.integers(1, 8), st.sampled_from([0, 1, 60, 3600]))
def test_estimates_never_undercut_the_work(work_gpu_s, boards, interval_s) -> None:
    spec = validate_job_spec({**BASE, "work_gpu_s": work_gpu_s, "boards_needed": boards,
                              "checkpoint_interval_s": interval_s}, META)
    est = estimate(spec, META)
    assert est["time_s"] >= work_gpu_s / boards * (1 - 1e-12)
    assert est["energy_wh"] >= work_gpu_s * 300.0 / 3600 * (1 - 1e-12)


# ----------------------------------------------------------------------------- files
def test_toml_and_json_files_load_by_extension_or_by_sniffing(tmp_path) -> None:
    (tmp_path / "a.toml").write_text('kind = "matmul"\npriority = 3\nwork_gpu_s = 60\n'
                                     'deadline_utc = 2025-03-21T00:00:00Z\n[params]\nn = 8\n')
    (tmp_path / "b.json").write_text('{"kind": "synthetic", "priority": 1, "work_gpu_s": 5}')
    (tmp_path / "c.spec").write_text('  {"kind": "synthetic", "priority": 2, "work_gpu_s": 5}')
    (tmp_path / "d.spec").write_text('kind = "synthetic"\npriority = 4\nwork_gpu_s = 5\n')
    a = load_job_spec_file(tmp_path / "a.toml")
    assert a["deadline_utc"] == "2025-03-21T00:00:00Z" and a["params"] == {"n": 8}, a
    assert validate_job_spec(a, META)["deadline_t_ns"] == 86400 * S
    assert [load_job_spec_file(tmp_path / f)["priority"] for f in ("b.json", "c.spec", "d.spec")] == [1, 2, 4]


@pytest.mark.parametrize(("name", "text"), [
    ("bad.toml", "kind = \n"), ("bad.json", "{"), ("list.json", "[1]"), ("missing.toml", None)])
def test_an_unreadable_spec_file_is_a_file_error(tmp_path, name, text) -> None:
    if text is not None:
        (tmp_path / name).write_text(text)
    with pytest.raises(JobSpecError) as err:
        load_job_spec_file(tmp_path / name)
    assert err.value.field == "file" and name in str(err.value), str(err.value)


# ----------------------------------------------------------------------------- times
def test_utc_and_sim_time_round_trip_to_the_microsecond() -> None:
    epoch = parse_utc("2025-03-20T00:00:00Z")
    for t_ns in (0, 1_000, 86_400 * S + 123_456_000):
        assert t_ns_of_utc(parse_utc(utc_of_t_ns(t_ns, epoch)), epoch) == t_ns
    assert utc_of_t_ns(90 * S, epoch) == "2025-03-20T00:01:30Z"
