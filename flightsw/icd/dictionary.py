"""The command / telemetry / event dictionary, generated from the message classes, as
JSON for the ground tools (``python -m flightsw.icd.dictionary``).

Each entry: kind (topic id), name, category, version, doc, and its fields in wire
order with type, range or choices, size limits, and the unit read from the field
name's suffix (``_w`` -> W, ``_c`` -> degC ...).
"""

from __future__ import annotations

import dataclasses
import json
import math

from flightsw.icd.messages import BODY_TYPES, Severity, category_of

__all__ = ["dictionary", "unit_of"]

_UNITS = (
    ("_gpu_s", "GPU-s"),
    ("_t_ns", "ns since epoch"),
    ("_ns", "ns"),
    ("_wh", "Wh"),
    ("_w", "W"),
    ("_c", "degC"),
    ("_bps", "bit/s"),
    ("_s", "s"),
    ("_bytes", "bytes"),
    ("_soc", "fraction"),
)


def unit_of(name: str) -> str | None:
    if name in ("t_ns",):
        return "ns since epoch"
    for suffix, unit in _UNITS:
        if name.endswith(suffix):
            return unit
    return None


def _num(x: float) -> float | None:
    return None if isinstance(x, float) and math.isinf(x) else x


def _field(f: dataclasses.Field) -> dict:
    meta = dict(f.metadata)
    out = {"name": f.name, "type": meta.pop("type")}
    for key in ("lo", "hi"):
        if key in meta:
            meta[key] = _num(meta[key])
    out.update({k: v for k, v in meta.items() if v is not None})
    unit = unit_of(f.name)
    if unit:
        out["unit"] = unit
    return out


def dictionary() -> dict:
    entries = []
    for kind, cls in sorted(BODY_TYPES.items()):
        entries.append({
            "kind": kind,
            "name": cls.__name__,
            "category": category_of(kind).name.lower(),
            "version": cls.VERSION,
            "doc": (cls.__doc__ or "").strip().split("\n\n")[0],
            "fields": [_field(f) for f in dataclasses.fields(cls)],
        })
    return {
        "messages": entries,
        "severities": {s.name: int(s) for s in Severity},
    }


if __name__ == "__main__":
    print(json.dumps(dictionary(), indent=2))
