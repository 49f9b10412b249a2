"""The bus codec (flightsw/icd/codec.py): a pure encode/decode pair over msgpack.

Properties: every valid message survives a round trip; ``decode`` raises nothing but
``DecodeError`` whatever the bytes; its error names the field, what was expected and
what came (DESIGN.md §4).
"""

from __future__ import annotations

import dataclasses
import math

import msgpack
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from flightsw.icd.codec import DecodeError, decode, encode, encode_body
from flightsw.icd.messages import (
    BODY_TYPES,
    BoardSensors,
    ExecutorStatus,
    JobSpec,
    Message,
    PowerSensors,
    ResultData,
    SetMode,
)
from tests.strategies import (
    KINDS,
    any_message,
    envelopes,
    example_body,
    field_values,
    message_of,
    messages,
)

FAST = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

GOOD_POWER_FIELDS = [100.0, 10.0, 100.0, 0.1, 5.0, 1.0, 20.0, 0.0]  # a valid PowerSensors, in wire order


def _wire(kind: int = PowerSensors.KIND, version: object = None, src: object = "world", seq: object = 1,
          tick: object = 0, t_ns: object = 0, dst: object = "", fields: object = None) -> bytes:
    """A wire message packed by hand, bypassing ``encode`` (so it can be wrong)."""
    body = list(GOOD_POWER_FIELDS) if fields is None else fields
    version = BODY_TYPES[kind].VERSION if version is None and kind in BODY_TYPES else version
    return msgpack.packb([kind, version, src, seq, tick, t_ns, dst, body], use_bin_type=True)


def _power_fields(**changes: object) -> list:
    names = ("solar_power_w", "battery_charge_wh", "battery_capacity_wh", "battery_soc", "load_w",
             "sunlit_fraction", "battery_temp_c", "shunt_w")
    values = dict(zip(names, GOOD_POWER_FIELDS, strict=True))
    values.update(changes)
    return [values[n] for n in names]


def _decode_error_text(data: bytes) -> str:
    with pytest.raises(DecodeError) as info:
        decode(data)
    return str(info.value)


# ----------------------------------------------------------------------- round trip


@FAST
@given(any_message())
def test_every_valid_message_survives_a_round_trip(msg: Message) -> None:
    assert decode(encode(msg)) == msg, f"round trip changed a {type(msg.body).__name__}"


@pytest.mark.parametrize("kind", KINDS, ids=[BODY_TYPES[k].__name__ for k in KINDS])
def test_a_fixed_example_of_each_kind_survives_a_round_trip(kind: int) -> None:
    cls = BODY_TYPES[kind]
    msg = message_of(example_body(cls), src="executor", seq=42, tick=7, t_ns=7_000_000_000,
                     dst="world")
    back = decode(encode(msg))
    assert type(back.body) is cls, f"{cls.__name__} decoded as {type(back.body).__name__}"
    assert back == msg, f"round trip changed the {cls.__name__} example"


@settings(max_examples=20, deadline=None)
@given(st.data())
@pytest.mark.parametrize("kind", KINDS, ids=[BODY_TYPES[k].__name__ for k in KINDS])
def test_generated_messages_of_each_kind_survive_a_round_trip(kind: int, data) -> None:
    msg = data.draw(messages(BODY_TYPES[kind]))
    assert decode(encode(msg)) == msg, f"round trip changed a {BODY_TYPES[kind].__name__}"


def test_envelope_limits_survive_a_round_trip() -> None:
    top = 2**63 - 1
    msg = message_of(example_body(JobSpec), src="s" * 32, seq=top, tick=top, t_ns=top, dst="d" * 32)
    assert decode(encode(msg)) == msg, "envelope at its limits did not survive a round trip"


# --------------------------------------------------------------------- bad input


@FAST
@given(st.binary(max_size=512))
def test_decode_of_arbitrary_bytes_raises_only_decode_error(data: bytes) -> None:
    try:
        decode(data)
    except DecodeError:
        pass


_msgpack_values = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**64 - 1)
    | st.floats() | st.text(max_size=20) | st.binary(max_size=20),
    lambda inner: st.lists(inner, max_size=5) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)


@FAST
@given(
    st.sampled_from(KINDS) | st.integers(-(2**63), 2**64 - 1),
    st.lists(_msgpack_values, min_size=7, max_size=7),
)
def test_decode_of_arbitrary_msgpack_arrays_raises_only_decode_error(kind, rest) -> None:
    data = msgpack.packb([kind, *rest], use_bin_type=True)
    try:
        decode(data)
    except DecodeError:
        pass


@st.composite
def _nearly_valid_wires(draw) -> bytes:
    """A valid envelope whose field values are each either valid or arbitrary, so every
    field's checker (not just the envelope's) meets bad input."""
    cls = BODY_TYPES[draw(st.sampled_from(KINDS))]
    env = draw(envelopes(cls))
    fields = [draw(field_values(dict(f.metadata)) | _msgpack_values)
              for f in dataclasses.fields(cls)]
    return msgpack.packb([env.kind, env.version, env.src, env.seq, env.tick, env.t_ns, env.dst,
                          fields], use_bin_type=True)


@FAST
@given(_nearly_valid_wires())
def test_decode_of_arbitrary_field_values_raises_only_decode_error(data: bytes) -> None:
    try:
        msg = decode(data)
    except DecodeError:
        return
    assert decode(encode(msg)) == msg, "a message decode accepted does not survive a round trip"


def _check_mutant(data: bytes) -> None:
    try:
        msg = decode(data)
    except DecodeError:
        return
    assert isinstance(msg, Message), f"decode returned {type(msg).__name__}, not a Message"
    assert decode(encode(msg)) == msg, "an accepted mutant does not survive a round trip"


@FAST
@given(any_message(), st.data())
def test_decode_of_a_valid_encoding_with_flipped_bytes_raises_only_decode_error(msg, data) -> None:
    wire = bytearray(encode(msg))
    flips = data.draw(st.lists(st.tuples(st.integers(0, len(wire) - 1), st.integers(1, 255)),
                               min_size=1, max_size=4))
    for i, mask in flips:
        wire[i] ^= mask
    _check_mutant(bytes(wire))


@FAST
@given(any_message(), st.data())
def test_decode_of_a_truncated_valid_encoding_raises_only_decode_error(msg, data) -> None:
    wire = encode(msg)
    cut = data.draw(st.integers(0, len(wire) - 1))
    with pytest.raises(DecodeError):
        decode(wire[:cut])


@FAST
@given(any_message(), st.binary(min_size=1, max_size=16))
def test_decode_of_a_valid_encoding_with_bytes_appended_raises_decode_error(msg, tail) -> None:
    with pytest.raises(DecodeError):
        decode(encode(msg) + tail)


@pytest.mark.parametrize("data", ["text", bytearray(b"\x90"), None, 5],
                         ids=["str", "bytearray", "None", "int"])
def test_decode_of_something_not_bytes_raises_decode_error(data) -> None:
    with pytest.raises(DecodeError, match="expected bytes"):
        decode(data)


# ------------------------------------------------------------- errors name things


def test_a_value_out_of_range_names_the_field_the_range_and_the_value() -> None:
    text = _decode_error_text(_wire(fields=_power_fields(battery_soc=1.5)))
    assert "PowerSensors.battery_soc" in text, f"field not named: {text}"
    assert "1.5" in text, f"value not shown: {text}"
    assert "[0.0, 1.0]" in text, f"expected range not shown: {text}"


def test_the_hand_packed_good_power_sensors_decodes() -> None:
    msg = decode(_wire())
    assert msg.body == PowerSensors(*GOOD_POWER_FIELDS), "the reference wire is not valid"


def test_an_unknown_kind_is_rejected_naming_the_kind() -> None:
    text = _decode_error_text(_wire(kind=999))
    assert "envelope.kind" in text and "999" in text, f"unknown kind error unclear: {text}"


def test_a_wrong_version_is_rejected_naming_expected_and_got() -> None:
    text = _decode_error_text(_wire(version=1))
    assert "envelope.version" in text, f"field not named: {text}"
    assert f"expected {PowerSensors.VERSION}" in text and "got 1" in text, f"expected/got missing: {text}"


def test_a_bool_version_is_rejected() -> None:
    text = _decode_error_text(_wire(version=True))
    assert "envelope.version" in text, f"a bool version was not rejected clearly: {text}"


@pytest.mark.parametrize("count", [0, 7, 9])
def test_a_wrong_field_count_is_rejected_naming_expected_and_got(count: int) -> None:
    fields = (GOOD_POWER_FIELDS * 2)[:count]
    text = _decode_error_text(_wire(fields=fields))
    assert "PowerSensors" in text, f"type not named: {text}"
    assert "expected 8 fields" in text and f"got {count}" in text, f"counts missing: {text}"


@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf], ids=["nan", "inf", "-inf"])
def test_a_non_finite_float_is_rejected(bad: float) -> None:
    text = _decode_error_text(_wire(fields=_power_fields(load_w=bad)))
    assert "PowerSensors.load_w" in text and "finite" in text, f"non-finite not named: {text}"


def test_a_nan_inside_a_float_array_is_rejected_naming_the_item() -> None:
    body = BoardSensors(temp_c=(20.0, 21.0), power_w=(0.0, 0.0), work_gpu_s=(0.0, 0.0),
                        job_id=("", ""), radiator_temp_c=10.0)
    fields = [[20.0, math.nan], [0.0, 0.0], [0.0, 0.0], ["", ""], 10.0, [], [], []]
    text = _decode_error_text(_wire(kind=body.KIND, version=body.VERSION, fields=fields))
    assert "BoardSensors.temp_c" in text and "item 1" in text, f"bad item not named: {text}"


def test_a_float_array_item_out_of_range_is_rejected_naming_the_item() -> None:
    fields = [[20.0, -300.0], [0.0, 0.0], [0.0, 0.0], ["", ""], 10.0, [], [], []]
    text = _decode_error_text(_wire(kind=BoardSensors.KIND, version=BoardSensors.VERSION, fields=fields))
    assert "BoardSensors.temp_c" in text and "item 1" in text and "-300" in text, text


def test_an_int_inside_a_float_field_is_accepted_as_a_float() -> None:
    msg = decode(_wire(fields=_power_fields(load_w=5)))
    assert msg.body.load_w == 5.0 and type(msg.body.load_w) is float, "int not widened to float"


def test_a_bool_where_an_int_is_expected_is_rejected() -> None:
    fields = [True, 0, 0, 0, 0, 0, 0, 0.0, 0.0, 0, 0, 0, 0, 0, [], []]
    text = _decode_error_text(_wire(kind=ExecutorStatus.KIND, version=ExecutorStatus.VERSION, fields=fields))
    assert "ExecutorStatus.jobs_queued" in text, f"field not named: {text}"
    assert "expected an integer" in text and "bool" in text, f"expected/got missing: {text}"


def test_a_bool_where_a_float_is_expected_is_rejected() -> None:
    text = _decode_error_text(_wire(fields=_power_fields(load_w=True)))
    assert "PowerSensors.load_w" in text and "bool" in text, f"bool accepted as number: {text}"


def test_a_string_outside_its_choices_is_rejected_naming_the_choices() -> None:
    text = _decode_error_text(_wire(kind=SetMode.KIND, fields=["TURBO", "why not"]))
    assert "SetMode.mode" in text and "TURBO" in text and "NOMINAL" in text, text


def test_a_sha256_of_the_wrong_length_is_rejected() -> None:
    fields = ["j1", "synthetic", b"data", b"\x00" * 31, 0]
    text = _decode_error_text(_wire(kind=ResultData.KIND, fields=fields))
    assert "ResultData.sha256" in text and "32" in text and "31" in text, text


def test_an_empty_required_string_is_rejected() -> None:
    fields = ["", "synthetic", b"data", b"\x00" * 32, 0]
    text = _decode_error_text(_wire(kind=ResultData.KIND, fields=fields))
    assert "ResultData.job_id" in text, f"empty job id accepted or not named: {text}"


def test_a_params_map_with_a_nested_value_is_rejected_naming_the_parameter() -> None:
    fields = encode_body(example_body(JobSpec))
    fields[-1] = {"n": [1, 2]}
    text = _decode_error_text(_wire(kind=JobSpec.KIND, fields=fields))
    assert "JobSpec.params" in text and "'n'" in text, f"bad parameter not named: {text}"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"src": "x" * 33}, "envelope.src"),
        ({"dst": b"comms"}, "envelope.dst"),
        ({"seq": -1}, "envelope.seq"),
        ({"tick": 2**63}, "envelope.tick"),
        ({"t_ns": 1.0}, "envelope.t_ns"),
        ({"fields": {"a": 1}}, "PowerSensors"),
    ],
    ids=["src-too-long", "dst-bytes", "seq-negative", "tick-too-big", "t_ns-float", "fields-map"],
)
def test_a_bad_envelope_is_rejected_naming_the_envelope_field(changes: dict, field: str) -> None:
    text = _decode_error_text(_wire(**changes))
    assert field in text, f"{field} not named: {text}"


@pytest.mark.parametrize("raw", [[], [200, 1, "a"], {"kind": 200}, 200, "hello"],
                         ids=["empty", "short", "map", "int", "str"])
def test_something_that_is_not_an_eight_item_array_is_rejected(raw) -> None:
    text = _decode_error_text(msgpack.packb(raw, use_bin_type=True))
    assert "envelope" in text and "8 items" in text, f"shape error unclear: {text}"


@given(any_message())
def test_encode_fields_gives_the_same_bytes_as_encode(m) -> None:
    from flightsw.icd.codec import encode_fields

    e = m.env
    assert encode_fields(m.body, e.src, e.seq, e.tick, e.t_ns, e.dst) == encode(m)


def _outcome(data: bytes, fast: bool):
    """decode's result, or its error text, with or without the fast path."""
    import flightsw.icd.codec as codec

    saved = codec._decode_fast
    if not fast:
        codec._decode_fast = lambda raw: None
    try:
        return decode(data)
    except DecodeError as exc:
        return f"DecodeError: {exc}"
    finally:
        codec._decode_fast = saved


@FAST
@given(st.one_of(_nearly_valid_wires(), any_message().map(encode)))
def test_the_fast_path_accepts_exactly_what_the_full_checks_accept(data: bytes) -> None:
    fast, slow = _outcome(data, True), _outcome(data, False)
    assert fast == slow, f"fast path {fast!r:.200} != full checks {slow!r:.200}"
    if isinstance(fast, Message):
        assert all(type(getattr(fast.body, n)) is type(getattr(slow.body, n))
                   for n in fast.body.__class__.__dataclass_fields__), "the paths give different field types"
