"""Downlinked housekeeping and events -> archive rows.

A housekeeping packet (PUS 3/25) carries one ICD status message; each of its numeric fields
becomes one telemetry channel named ``<source>.<message in snake case>.<field>``, with an
index suffix for per-board arrays (``world.board_sensors.temp_c.3``) and the power mode by
its rank (``power.power_budget.mode``: 0 SAFE .. 3 COMPUTE). Strings and long arrays (the
budget forecast) are left out: they are not time series.
"""

from __future__ import annotations

import re
from collections.abc import Iterator

from flightsw.icd.messages import MODE_RANK, Message, Severity

__all__ = ["channel_prefix", "telemetry_rows", "event_row", "MAX_ARRAY_CHANNELS"]

MAX_ARRAY_CHANNELS = 64
_CAMEL = re.compile(r"(?<!^)(?=[A-Z])")
_PREFIX: dict[type, str] = {}


def channel_prefix(msg: Message) -> str:
    cls = type(msg.body)
    name = _PREFIX.get(cls)
    if name is None:
        name = _PREFIX[cls] = _CAMEL.sub("_", cls.__name__).lower()
    return f"{msg.env.src}.{name}"


def telemetry_rows(msg: Message) -> Iterator[tuple[str, int, float]]:
    """(channel, t_ns, value) for every numeric field of a housekeeping message."""
    prefix, t_ns, body = channel_prefix(msg), msg.env.t_ns, msg.body
    for name in body.__slots__:
        v = getattr(body, name)
        if type(v) in (int, float, bool):
            yield f"{prefix}.{name}", t_ns, float(v)
        elif name == "mode" and v in MODE_RANK:
            yield f"{prefix}.{name}", t_ns, float(MODE_RANK[v])
        elif type(v) is tuple and 0 < len(v) <= MAX_ARRAY_CHANNELS and type(v[0]) in (int, float):
            yield from ((f"{prefix}.{name}.{i}", t_ns, float(x)) for i, x in enumerate(v))


def event_row(msg: Message) -> tuple[int, str, str, str, str]:
    ev = msg.body
    return msg.env.t_ns, msg.env.src, Severity(ev.severity).name, ev.name, ev.text
