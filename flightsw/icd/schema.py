"""A tiny declarative schema for ICD message bodies.

Each body class is a frozen dataclass whose fields carry their constraint in
``dataclasses.field(metadata=...)`` made by the helpers below (``f_int``,
``f_float``...). From the annotations and the metadata we compile, once per class,
a tuple of checkers; ``decode`` runs them over the wire values, so a bad value is
reported with the field name, what was expected and what came.

Why hand-written: the wire is positional msgpack arrays (small, fast), and the
checks must name fields in the error; a generic validation library would cost more
per message than the whole lockstep tick budget allows (see DESIGN.md §3).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from typing import Any

__all__ = [
    "FieldError",
    "f_int",
    "f_float",
    "f_bool",
    "f_str",
    "f_bytes",
    "f_floats",
    "f_ints",
    "f_strs",
    "f_params",
    "compile_checkers",
    "compile_fast_builder",
]

MAX_SEQ = 2**63 - 1


class FieldError(ValueError):
    """A value did not satisfy its field's constraint (caught and rewrapped by the codec)."""


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def f_int(lo: int = -(2**63), hi: int = 2**63 - 1, default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"type": "int", "lo": lo, "hi": hi})


def f_float(lo: float = -math.inf, hi: float = math.inf, default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"type": "float", "lo": lo, "hi": hi})


def f_bool(default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"type": "bool"})


def f_str(maxlen: int = 256, choices: tuple[str, ...] | None = None, minlen: int = 0,
          default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(
        default=default, metadata={"type": "str", "maxlen": maxlen, "minlen": minlen, "choices": choices}
    )


def f_bytes(maxlen: int, exact: int | None = None, default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"type": "bytes", "maxlen": maxlen, "exact": exact})


def f_floats(maxlen: int = 256, lo: float = -math.inf, hi: float = math.inf,
             default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(default=default, metadata={"type": "floats", "maxlen": maxlen, "lo": lo, "hi": hi})


def f_ints(maxlen: int = 256, lo: int = -(2**63), hi: int = 2**63 - 1, default: Any = dataclasses.MISSING) -> Any:
    """``default`` (e.g. ``()``) lets a field added in a later version be omitted by
    constructors written before it; on the wire every field is always present."""
    return dataclasses.field(default=default, metadata={"type": "ints", "maxlen": maxlen, "lo": lo, "hi": hi})


def f_strs(maxlen: int = 256, item_maxlen: int = 64, default: Any = dataclasses.MISSING) -> Any:
    return dataclasses.field(
        default=default, metadata={"type": "strs", "maxlen": maxlen, "item_maxlen": item_maxlen}
    )


def f_params(maxlen: int = 32, default_empty: bool = False) -> Any:
    """A small map of str -> int | float | str | bool (job parameters, command arguments)."""
    if default_empty:
        return dataclasses.field(default_factory=dict, metadata={"type": "params", "maxlen": maxlen})
    return dataclasses.field(metadata={"type": "params", "maxlen": maxlen})


Checker = Callable[[Any], Any]
_FLOAT_ONLY = {float}
_INT_ONLY = {int}
_STR_ONLY = {str}


def _int_checker(lo: int, hi: int) -> Checker:
    def check(v: Any) -> int:
        if type(v) is not int:
            raise FieldError(f"expected an integer, got {type(v).__name__} {_show(v)}")
        if not lo <= v <= hi:
            raise FieldError(f"expected an integer in [{lo}, {hi}], got {v}")
        return v

    return check


def _float_value(v: Any) -> float:
    t = type(v)
    if t is float:
        x = v
    elif t is int:
        x = float(v)
    else:
        raise FieldError(f"expected a number, got {t.__name__} {_show(v)}")
    if not math.isfinite(x):
        raise FieldError(f"expected a finite number, got {x}")
    return x


def _float_checker(lo: float, hi: float) -> Checker:
    def check(v: Any) -> float:
        x = _float_value(v)
        if not lo <= x <= hi:
            raise FieldError(f"expected a number in [{lo}, {hi}], got {x}")
        return x

    return check


def _bool_checker() -> Checker:
    def check(v: Any) -> bool:
        if type(v) is not bool:
            raise FieldError(f"expected true or false, got {type(v).__name__} {_show(v)}")
        return v

    return check


def _str_checker(maxlen: int, minlen: int, choices: tuple[str, ...] | None) -> Checker:
    def check(v: Any) -> str:
        if type(v) is not str:
            raise FieldError(f"expected a string, got {type(v).__name__} {_show(v)}")
        if not minlen <= len(v) <= maxlen:
            raise FieldError(f"expected a string of {minlen}..{maxlen} characters, got {len(v)}")
        if choices is not None and v not in choices:
            raise FieldError(f"expected one of {list(choices)}, got {_show(v)}")
        return v

    return check


def _bytes_checker(maxlen: int, exact: int | None) -> Checker:
    def check(v: Any) -> bytes:
        if type(v) is not bytes:
            raise FieldError(f"expected bytes, got {type(v).__name__} {_show(v)}")
        if exact is not None and len(v) != exact:
            raise FieldError(f"expected exactly {exact} bytes, got {len(v)}")
        if len(v) > maxlen:
            raise FieldError(f"expected at most {maxlen} bytes, got {len(v)}")
        return v

    return check


def _seq_checker(
    maxlen: int, item: Checker, what: str, fast: Callable[[Any], bool] | None = None
) -> Checker:
    def check(v: Any) -> tuple:
        if type(v) not in (tuple, list):
            raise FieldError(f"expected an array of {what}, got {type(v).__name__} {_show(v)}")
        if len(v) > maxlen:
            raise FieldError(f"expected at most {maxlen} items, got {len(v)}")
        if fast is not None and fast(v):
            return tuple(v)
        out = []
        for i, x in enumerate(v):
            try:
                out.append(item(x))
            except FieldError as exc:
                raise FieldError(f"item {i}: {exc}") from None
        return tuple(out)

    return check


def _params_checker(maxlen: int) -> Checker:
    key_check = _str_checker(64, 1, None)

    def check(v: Any) -> dict:
        if type(v) is not dict:
            raise FieldError(f"expected a map of parameters, got {type(v).__name__} {_show(v)}")
        if len(v) > maxlen:
            raise FieldError(f"expected at most {maxlen} parameters, got {len(v)}")
        out = {}
        for k, x in v.items():
            try:
                key_check(k)
            except FieldError as exc:
                raise FieldError(f"parameter name: {exc}") from None
            if type(x) is float:
                if not math.isfinite(x):
                    raise FieldError(f"parameter {k!r}: expected a finite number, got {x}")
            elif type(x) not in (int, str, bool):
                raise FieldError(
                    f"parameter {k!r}: expected int, float, str or bool, got {type(x).__name__}"
                )
            elif type(x) is str and len(x) > 256:
                raise FieldError(f"parameter {k!r}: expected at most 256 characters")
            out[k] = x
        return out

    return check


def _checker_for(meta: dict) -> Checker:
    kind = meta["type"]
    if kind == "int":
        return _int_checker(meta["lo"], meta["hi"])
    if kind == "float":
        return _float_checker(meta["lo"], meta["hi"])
    if kind == "bool":
        return _bool_checker()
    if kind == "str":
        return _str_checker(meta["maxlen"], meta["minlen"], meta["choices"])
    if kind == "bytes":
        return _bytes_checker(meta["maxlen"], meta["exact"])
    if kind == "floats":
        lo, hi = meta["lo"], meta["hi"]

        def all_good_floats(v: Any) -> bool:
            """Fast path for the common case; anything unusual takes the slow path,
            which finds and names the bad item."""
            if not v:
                return True
            if set(map(type, v)) != _FLOAT_ONLY:  # C-level type scan
                return False
            return math.isfinite(sum(v)) and lo <= min(v) and max(v) <= hi

        return _seq_checker(meta["maxlen"], _float_checker(lo, hi), "numbers", all_good_floats)
    if kind == "ints":
        ilo, ihi = meta["lo"], meta["hi"]

        def all_good_ints(v: Any) -> bool:
            if not v:
                return True
            if set(map(type, v)) != _INT_ONLY:
                return False
            return ilo <= min(v) and max(v) <= ihi

        return _seq_checker(meta["maxlen"], _int_checker(ilo, ihi), "integers", all_good_ints)
    if kind == "strs":
        item_max = meta["item_maxlen"]

        def all_short_strs(v: Any) -> bool:
            if not v:
                return True
            return set(map(type, v)) == _STR_ONLY and max(map(len, v)) <= item_max

        return _seq_checker(meta["maxlen"], _str_checker(item_max, 0, None), "strings", all_short_strs)
    if kind == "params":
        return _params_checker(meta["maxlen"])
    raise TypeError(f"unknown field type {kind!r}")


def compile_checkers(cls: type) -> tuple[tuple[str, Checker], ...]:
    """(field name, checker) for every field of a body dataclass, in wire order."""
    out = []
    for fld in dataclasses.fields(cls):
        if "type" not in fld.metadata:
            raise TypeError(f"{cls.__name__}.{fld.name} has no schema metadata")
        out.append((fld.name, _checker_for(dict(fld.metadata))))
    return tuple(out)


def _fast_lines(i: int, meta: dict, ns: dict) -> list[str]:
    """Source lines that accept wire value ``v{i}`` exactly when its checker would, leaving
    in ``v{i}`` what the checker returns, or ``return None`` (the caller then runs the
    checkers, which name the problem). Bounds are bound in ``ns`` as ``lo{i}``/``hi{i}``."""
    v = f"v{i}"
    kind = meta["type"]
    if kind == "int":
        ns[f"lo{i}"], ns[f"hi{i}"] = meta["lo"], meta["hi"]
        return [f"if type({v}) is not int or not lo{i} <= {v} <= hi{i}: return None"]
    if kind == "float":
        lo, hi = meta["lo"], meta["hi"]
        ns[f"lo{i}"], ns[f"hi{i}"] = lo, hi
        out = [f"if type({v}) is not float:",
               f"    if type({v}) is not int: return None",
               f"    {v} = float({v})",
               f"if not lo{i} <= {v} <= hi{i}: return None"]
        if not (math.isfinite(lo) and math.isfinite(hi)):  # finite bounds already exclude inf/nan
            out.append(f"if not _isfinite({v}): return None")
        return out
    if kind == "bool":
        return [f"if type({v}) is not bool: return None"]
    if kind == "str":
        ns[f"lo{i}"], ns[f"hi{i}"], ns[f"ch{i}"] = meta["minlen"], meta["maxlen"], meta["choices"]
        out = [f"if type({v}) is not str or not lo{i} <= len({v}) <= hi{i}: return None"]
        if meta["choices"] is not None:
            out.append(f"if {v} not in ch{i}: return None")
        return out
    if kind == "bytes":
        ns[f"hi{i}"], ns[f"ex{i}"] = meta["maxlen"], meta["exact"]
        out = [f"if type({v}) is not bytes or len({v}) > hi{i}: return None"]
        if meta["exact"] is not None:
            out.append(f"if len({v}) != ex{i}: return None")
        return out
    if kind in ("floats", "ints", "strs"):
        ns[f"n{i}"] = meta["maxlen"]
        out = [f"if type({v}) not in _SEQ or len({v}) > n{i}: return None", f"if {v}:"]
        if kind == "floats":
            ns[f"lo{i}"], ns[f"hi{i}"] = meta["lo"], meta["hi"]
            out += [f"    if not _FLOAT_ONLY.issuperset(map(type, {v})): return None",
                    f"    if not (_isfinite(sum({v})) and lo{i} <= min({v}) and max({v}) <= hi{i}):"
                    " return None"]
        elif kind == "ints":
            ns[f"lo{i}"], ns[f"hi{i}"] = meta["lo"], meta["hi"]
            out += [f"    if not _INT_ONLY.issuperset(map(type, {v})): return None",
                    f"    if not (lo{i} <= min({v}) and max({v}) <= hi{i}): return None"]
        else:
            ns[f"hi{i}"] = meta["item_maxlen"]
            out += [f"    if not _STR_ONLY.issuperset(map(type, {v})) or max(map(len, {v})) > hi{i}:"
                    " return None"]
        return [*out, f"{v} = tuple({v})"]
    ns[f"chk{i}"] = _checker_for(meta)  # params (rare): the checker itself; FieldError -> None
    return [f"{v} = chk{i}({v})"]


def compile_fast_builder(cls: type) -> Callable[[list], Any]:
    """``build(fields) -> body | None``: the checkers of :func:`compile_checkers` fused into
    one generated function (no per-field calls). It returns the same body the checkers
    would build from a field list of the right length, or None where any checker might
    object (or anything raises); the caller then runs the checkers for the error text.
    A speed path only: it never accepts what the checkers reject."""
    metas = [dict(fld.metadata) for fld in dataclasses.fields(cls)]
    ns: dict[str, Any] = {"_cls": cls, "_isfinite": math.isfinite, "_SEQ": (tuple, list),
                          "_FLOAT_ONLY": _FLOAT_ONLY, "_INT_ONLY": _INT_ONLY,
                          "_STR_ONLY": _STR_ONLY}
    names = [f"v{i}" for i in range(len(metas))]
    body = [f"{', '.join(names)}{',' if len(names) == 1 else ''} = fields"] if names else []
    for i, meta in enumerate(metas):
        body += _fast_lines(i, meta, ns)
    body.append(f"return _cls({', '.join(names)})")
    src = "def build(fields):\n    try:\n" + "".join(f"        {line}\n" for line in body)
    src += "    except Exception:\n        return None\n"
    exec(compile(src, f"<fast builder {cls.__name__}>", "exec"), ns)  # noqa: S102
    return ns["build"]
