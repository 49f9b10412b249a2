"""Arbitrary POST bodies against the real server: only 2xx or 4xx answers, never a 5xx,
and a refused request stores nothing (counted in the archive's rows)."""

from __future__ import annotations

import json

import httpx
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from flightsw.icd.messages import Opcode
from groundsw.commands import ARGS, COMMAND_NAMES
from tests.groundsw.conftest import Ground, json_values, spec_like

ARG_NAMES = sorted({k for spec in ARGS.values() for k in spec})
FUZZ = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def bodies(objects: st.SearchStrategy) -> st.SearchStrategy[bytes]:
    """Mostly JSON of the right shape, some any JSON, some bytes that are not JSON at all."""
    return st.one_of(objects.map(lambda o: json.dumps(o).encode()),
                     json_values.map(lambda o: json.dumps(o).encode()),
                     st.binary(max_size=64))


def _arg_value(arg) -> st.SearchStrategy:
    if arg.kind == "bool":
        return st.booleans()
    if arg.kind == "int":
        return st.integers(arg.lo, arg.hi)
    return st.sampled_from(arg.choices) if arg.choices else st.text(min_size=1, max_size=arg.maxlen)


def _request_for(name: str) -> st.SearchStrategy[dict]:
    spec = ARGS[Opcode[name.split(".")[1]]]
    good = st.fixed_dictionaries({k: _arg_value(a) for k, a in spec.items() if a.required},
                                 optional={k: _arg_value(a) for k, a in spec.items() if not a.required})
    bad = st.dictionaries(st.sampled_from(ARG_NAMES), json_values, max_size=3) | json_values
    args = st.sampled_from([True] * 3 + [False]).flatmap(lambda g: good if g else bad)
    return st.fixed_dictionaries({"name": st.just(name)}, optional={"args": args})


# a known name with good or bad arguments, or any name and arguments at all
command_objects = st.one_of(
    st.sampled_from(COMMAND_NAMES).flatmap(_request_for),
    st.fixed_dictionaries({}, optional={"name": json_values, "args": json_values}))


def rows(ground: Ground, *tables: str) -> tuple[int, ...]:
    return tuple(ground.count(t) for t in tables)


def check(ground: Ground, http: httpx.Client, path: str, body: bytes, tables: tuple[str, str]) -> None:
    before = rows(ground, *tables)
    r = http.post(path, content=body, headers={**ground.auth("otto"), "Content-Type": "application/json"})
    event(f"HTTP {r.status_code}")  # --hypothesis-show-statistics: both sides are reached
    assert r.status_code < 500, f"{r.status_code} for {body[:200]!r}: {r.text[:300]}"
    after = rows(ground, *tables)
    if r.status_code >= 400:
        assert after == before, f"a refused request ({r.status_code}) stored rows: {body[:200]!r}"
        detail = r.json()["detail"]
        assert detail, "a refusal without a reason"
    else:
        assert r.status_code == 201 and after == tuple(n + 1 for n in before), (r.status_code, before, after)


@FUZZ
@given(bodies(spec_like()))
def test_job_posts_never_fail_the_server_and_refusals_store_nothing(ground, http, body) -> None:
    check(ground, http, "/api/jobs", body, ("jobs", "stages"))


@FUZZ
@given(bodies(command_objects))
def test_command_posts_never_fail_the_server_and_refusals_store_nothing(ground, http, body) -> None:
    check(ground, http, "/api/commands", body, ("commands", "command_stages"))
