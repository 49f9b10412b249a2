"""Fuzzing the parsers of the files a user writes (issue 8): fault plans and scenarios.
Whatever comes, the parser either accepts it or raises its own error naming the file and
the field; no other exception escapes (the wire decoders, telecommands, file-delivery
PDUs, job specs and API requests have their own fuzz tests beside them)."""

from __future__ import annotations

import copy
import json
import tomllib

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from sim.harness import parse_fault_plan
from sim.scenario import ScenarioError, load_scenario, scenario_from_dict

KINDS = ["board", "command", "frame", "ground", "kill", "link", "radiation", "sensor", "stall", "meteor"]
KEYS = ["tick", "ticks", "process", "board", "fault", "start_tick", "end_tick", "multiplier", "target", "opcode",
        "args", "action", "job", "kind", "loss", "ber", "duplicate", "reorder", "sensor", "index", "value", "low",
        "high"]
scalar = st.one_of(st.integers(-5, 10**6), st.floats(allow_nan=True, allow_infinity=True), st.booleans(),
                   st.sampled_from(["executor", "power", "hang", "sdc", "cancel", "duplicate", "job-00001", "forged",
                                    "bias", "", "x"]))
value = st.one_of(scalar, st.lists(scalar, max_size=3), st.dictionaries(st.sampled_from(KEYS), scalar, max_size=3))
table = st.dictionaries(st.sampled_from(KEYS), value, max_size=6)
plans = st.dictionaries(st.sampled_from(KINDS), st.one_of(st.lists(table, max_size=3), scalar), max_size=4)


def _toml_value(x) -> str:
    if isinstance(x, bool):
        return "true" if x else "false"
    if isinstance(x, float):
        if x != x:
            return "nan"
        if x in (float("inf"), float("-inf")):
            return "inf" if x > 0 else "-inf"
        return repr(x)
    if isinstance(x, int):
        return str(x)
    if isinstance(x, str):
        return json.dumps(x)
    if isinstance(x, list):
        return "[" + ", ".join(_toml_value(i) for i in x) + "]"
    return "{" + ", ".join(f"{k} = {_toml_value(i)}" for k, i in x.items()) + "}"


def toml_of(d: dict) -> str:
    """TOML text of a drawn plan: arrays of tables, top-level scalars first."""
    out = []
    for k, t in d.items():
        if isinstance(t, list):
            for e in t:
                out.append(f"[[{k}]]")
                out += [f"{kk} = {_toml_value(vv)}" for kk, vv in e.items()]
        else:
            out.insert(0, f"{k} = {_toml_value(t)}")
    return "\n".join(out) + "\n"


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(plans)
def test_a_fault_plan_is_parsed_or_refused_naming_its_file(d) -> None:
    text = toml_of(d)
    try:
        tomllib.loads(text)
    except tomllib.TOMLDecodeError:
        return
    try:
        parse_fault_plan(text, "fuzz.toml")
    except ScenarioError as exc:
        assert str(exc).startswith("fuzz.toml: "), str(exc)


def _paths(d: dict, prefix: tuple = ()) -> list[tuple]:
    out = []
    for k, v in d.items():
        out.append(prefix + (k,))
        if isinstance(v, dict):
            out += _paths(v, prefix + (k,))
    return out


DEFAULT = load_scenario("default").data
PATHS = sorted(_paths(DEFAULT))


@settings(max_examples=300, suppress_health_check=list(HealthCheck), deadline=None)
@given(st.lists(st.tuples(st.sampled_from(PATHS), value), min_size=1, max_size=3))
def test_a_scenario_with_wrong_values_is_refused_naming_the_field(changes) -> None:
    data = copy.deepcopy(DEFAULT)
    for path, v in changes:
        node = data
        for k in path[:-1]:
            if not isinstance(node.get(k), dict):
                break
            node = node[k]
        else:
            node[path[-1]] = v
    try:
        scenario_from_dict(data)
    except ScenarioError as exc:
        assert any(str(k) in str(exc) for path, _ in changes for k in path) or "expected" in str(exc), str(exc)
