"""The bus codec: a pure pair ``encode(msg) -> bytes`` / ``decode(bytes) -> msg``.

Wire format: one msgpack array
``[kind, version, src, seq, tick, t_ns, dst, [field values in declaration order]]``.

``decode`` validates everything (envelope, kind, version, each field's type and range,
sizes) and raises exactly one exception type, :class:`DecodeError`, whose text says
where the problem is, what was expected and what came. It never raises anything else,
whatever the bytes.
"""

from __future__ import annotations

import operator

import msgpack

from flightsw.icd.messages import BODY_TYPES, MAX_NAME, Envelope, Message
from flightsw.icd.schema import FieldError, compile_checkers, compile_fast_builder

__all__ = ["DecodeError", "encode", "encode_fields", "decode", "encode_body", "MAX_MESSAGE_BYTES"]

MAX_MESSAGE_BYTES = 80 * 1024 * 1024

_CHECKERS = {kind: compile_checkers(cls) for kind, cls in BODY_TYPES.items()}
_FIELDS = {kind: tuple(name for name, _ in checks) for kind, checks in _CHECKERS.items()}
# kind -> (version, field count, fused builder): decode's speed path for valid messages
_FAST = {kind: (cls.VERSION, len(_CHECKERS[kind]), compile_fast_builder(cls))
         for kind, cls in BODY_TYPES.items()}
# kind -> body -> field values in wire order (a tuple packs as the same msgpack array)
_GETTERS = {
    kind: (operator.attrgetter(*names) if len(names) > 1
           else (lambda body, names=names: tuple(getattr(body, n) for n in names)))
    for kind, names in _FIELDS.items()
}
_INT63 = 2**63

_packb = msgpack.Packer(use_bin_type=True, autoreset=True).pack


class DecodeError(ValueError):
    """Bytes that are not a valid ICD message. ``str()`` says expected vs got."""


def encode_body(body: object) -> list:
    """Field values of a body in wire order."""
    return [getattr(body, name) for name in _FIELDS[body.KIND]]


def encode_fields(body: object, src: str, seq: int, tick: int, t_ns: int, dst: str) -> bytes:
    """``encode(Message(Envelope(body.KIND, body.VERSION, src, seq, tick, t_ns, dst), body))``
    without building the envelope objects (the bus's hot path); the same bytes."""
    kind = body.KIND
    return _packb([kind, body.VERSION, src, seq, tick, t_ns, dst, _GETTERS[kind](body)])


def encode(msg: Message) -> bytes:
    """Serialise a message. Pure; does not validate (decode does, at every receiver)."""
    e = msg.env
    return _packb(
        [e.kind, e.version, e.src, e.seq, e.tick, e.t_ns, e.dst, encode_body(msg.body)]
    )


def _envelope(raw: object) -> tuple[Envelope, list]:
    if type(raw) is not list or len(raw) != 8:
        got = f"{type(raw).__name__} of {len(raw)}" if isinstance(raw, list) else type(raw).__name__
        raise DecodeError(f"envelope: expected an array of 8 items, got {got}")
    kind, version, src, seq, tick, t_ns, dst, fields = raw
    if type(kind) is not int or kind not in BODY_TYPES:
        raise DecodeError(f"envelope.kind: expected a known message kind, got {kind!r:.40}")
    cls = BODY_TYPES[kind]
    if version != cls.VERSION or type(version) is not int:
        raise DecodeError(
            f"envelope.version: expected {cls.VERSION} for {cls.__name__}, got {version!r:.40}"
        )
    for name, value, maxlen in (("src", src, MAX_NAME), ("dst", dst, MAX_NAME)):
        if type(value) is not str or len(value) > maxlen:
            raise DecodeError(
                f"envelope.{name}: expected a string of at most {maxlen} characters, "
                f"got {value!r:.40}"
            )
    for name, value in (("seq", seq), ("tick", tick), ("t_ns", t_ns)):
        if type(value) is not int or not 0 <= value < 2**63:
            raise DecodeError(
                f"envelope.{name}: expected an integer in [0, 2**63), got {value!r:.40}"
            )
    if type(fields) is not list:
        raise DecodeError(f"{cls.__name__}: expected an array of fields, got {type(fields).__name__}")
    return Envelope(kind, version, src, seq, tick, t_ns, dst), fields


def _decode_fast(raw: object) -> Message | None:
    """The message when every check passes, else None (then the full checks below run and
    name the problem). Accepts exactly what ``_envelope`` and the checkers accept."""
    if type(raw) is not list or len(raw) != 8:
        return None
    kind, version, src, seq, tick, t_ns, dst, fields = raw
    fast = _FAST.get(kind) if type(kind) is int else None
    if fast is None or type(version) is not int or version != fast[0]:
        return None
    if (type(src) is not str or len(src) > MAX_NAME or type(dst) is not str
            or len(dst) > MAX_NAME):
        return None
    if (type(seq) is not int or not 0 <= seq < _INT63 or type(tick) is not int
            or not 0 <= tick < _INT63 or type(t_ns) is not int or not 0 <= t_ns < _INT63):
        return None
    if type(fields) is not list or len(fields) != fast[1]:
        return None
    body = fast[2](fields)
    if body is None:
        return None
    return Message(Envelope(kind, version, src, seq, tick, t_ns, dst), body)


def decode(data: bytes) -> Message:
    """Parse and fully validate one message; raise :class:`DecodeError` on anything wrong."""
    if type(data) is not bytes:
        raise DecodeError(f"expected bytes, got {type(data).__name__}")
    if len(data) > MAX_MESSAGE_BYTES:
        raise DecodeError(f"expected at most {MAX_MESSAGE_BYTES} bytes, got {len(data)}")
    try:
        raw = msgpack.unpackb(data, raw=False, use_list=True, strict_map_key=True)
    except Exception as exc:  # msgpack raises several types; all mean "not msgpack"
        raise DecodeError(f"expected one msgpack object, got undecodable bytes ({exc})") from None
    msg = _decode_fast(raw)
    if msg is not None:
        return msg
    env, fields = _envelope(raw)
    checks = _CHECKERS[env.kind]
    cls = BODY_TYPES[env.kind]
    if len(fields) != len(checks):
        raise DecodeError(
            f"{cls.__name__}: expected {len(checks)} fields "
            f"({', '.join(n for n, _ in checks)}), got {len(fields)}"
        )
    values = []
    for (name, check), value in zip(checks, fields, strict=True):
        try:
            values.append(check(value))
        except FieldError as exc:
            raise DecodeError(f"{cls.__name__}.{name}: {exc}") from None
    return Message(env, cls(*values))
