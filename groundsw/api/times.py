"""Sim time <-> UTC for the API: every ``*_t_ns`` in an answer also comes as ``*_t_s``
and ``*_utc``; ``since``/``until`` may be given either way.

The archive's clock is the scenario's: ``t_ns`` since ``meta.epoch_utc``. A time
parameter is a number of sim seconds (``3600``), a negative number of seconds before
the station's ``now`` (``-600``: the last ten minutes), or an ISO 8601 UTC time.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from groundsw.api.errors import ApiError
from groundsw.jobspec import JobSpecError, parse_utc, t_ns_of_utc, utc_of_t_ns

__all__ = ["Clock", "parse_time_param", "stamp"]

NS_PER_S = 1_000_000_000
_MAX_T_NS = 2**62


class Clock:
    """The archive's epoch and now, read from its meta."""

    def __init__(self, meta: Mapping[str, Any]) -> None:
        text = meta.get("epoch_utc")
        try:
            self.epoch: datetime | None = None if text is None else parse_utc(text, "epoch_utc")
        except JobSpecError:
            self.epoch = None  # a bad epoch shows no UTC rather than failing every answer
        self.now_t_ns = int(meta.get("now_t_ns") or 0)

    def utc(self, t_ns: int | None) -> str | None:
        if t_ns is None or self.epoch is None or t_ns < 0:
            return None
        return utc_of_t_ns(t_ns, self.epoch)

    def now(self) -> dict:
        return {"t_ns": self.now_t_ns, "t_s": self.now_t_ns / NS_PER_S, "utc": self.utc(self.now_t_ns)}


def parse_time_param(name: str, value: str | None, clock: Clock) -> int | None:
    """A ``since``/``until`` query value -> t_ns (None if absent); 422 naming ``name``."""
    if value is None or value == "":
        return None
    try:
        x = float(value)
    except ValueError:
        x = None
    if x is not None:
        if not math.isfinite(x) or abs(x) * NS_PER_S > _MAX_T_NS:
            raise ApiError(422, name, f"expected sim seconds or an ISO 8601 UTC time, got {value!r:.60}")
        t_ns = round(x * NS_PER_S)
        return clock.now_t_ns + t_ns if x < 0 else t_ns
    try:
        dt = parse_utc(value, name)
    except JobSpecError as exc:
        raise ApiError(422, name, str(exc).split(": ", 1)[1]) from None
    if clock.epoch is None:
        raise ApiError(422, name, "the archive has no epoch yet (the station writes it); give sim seconds")
    return t_ns_of_utc(dt, clock.epoch)


def stamp(row: dict, clock: Clock) -> dict:
    """Add ``X_t_s`` and ``X_utc`` for every ``X_t_ns`` (``t_ns`` gives ``t_s`` and ``utc``)."""
    for key in [k for k in row if k.endswith("t_ns")]:
        t_ns = row[key]
        base = key[:-4]  # "t_ns" -> "", "aos_t_ns" -> "aos_"
        valid = isinstance(t_ns, int) and t_ns >= 0
        row[f"{base}t_s"] = t_ns / NS_PER_S if valid else None
        row[f"{base}utc"] = clock.utc(t_ns) if valid else None
    return row
