"""The executor's contact plan, the "contacts" table: when the ground can hear the
spacecraft, as the ground predicts it and uplinks it.

A policy that plans for the downlink (a result is worth something only once it is on
the ground) reads the passes still ahead from ``PlanContext.passes``. The table is loaded
at start (the harness gives the predicted passes of the run) and replaced in flight by a
TableLoad of ``{"passes": [[aos_t_ns, los_t_ns], ...]}``, validated whole: integers (ns
since the scenario epoch), each pass ``aos < los``, in time order, no two overlapping
(the ground joins the passes of several stations first), at most MAX_PASSES. A bad table
is refused naming the field (``ContactTable.passes[3][1]``) and the last good one stays.
TABLE_DUMP gives the same JSON back, so a dump loads as is.
"""

from __future__ import annotations

from bisect import bisect_right
from dataclasses import dataclass
from typing import Any

from flightsw.apps.framework import TableError

__all__ = ["ContactTable", "MAX_PASSES"]

MAX_PASSES = 256
_T_NS_MAX = 2**62  # [ns] the ICD's bound on times since the epoch


@dataclass(frozen=True)
class ContactTable:
    """``passes``: (aos_t_ns, los_t_ns) each [ns since the epoch], in time order, disjoint.
    The field is typed loosely on purpose: the framework passes the JSON value through and
    this class checks it, naming the item that is wrong."""

    passes: Any = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "passes", _checked(self.passes))

    def ahead(self, t_ns: int) -> tuple[tuple[int, int], ...]:
        """The passes whose loss of signal is after ``t_ns`` (the one in progress included)."""
        return self.passes[bisect_right(self.passes, t_ns, key=_los):]


def _los(p: tuple[int, int]) -> int:
    return p[1]


def _checked(value: Any) -> tuple[tuple[int, int], ...]:
    where = "ContactTable.passes"
    if not isinstance(value, (list, tuple)):
        raise TableError(f"{where}: expected an array of [aos_t_ns, los_t_ns] pairs, got {type(value).__name__}")
    if len(value) > MAX_PASSES:
        raise TableError(f"{where}: expected at most {MAX_PASSES} passes, got {len(value)}")
    out: list[tuple[int, int]] = []
    for i, item in enumerate(value):
        at = f"{where}[{i}]"
        if not isinstance(item, (list, tuple)) or len(item) != 2:
            got = f"{type(item).__name__} of {len(item)}" if isinstance(item, (list, tuple)) else repr(item)
            raise TableError(f"{at}: expected a pair [aos_t_ns, los_t_ns], got {got:.60}")
        for k, t in enumerate(item):
            if type(t) is not int or not 0 <= t <= _T_NS_MAX:
                raise TableError(f"{at}[{k}]: expected an integer in [0, 2**62] (ns since the epoch), "
                                 f"got {type(t).__name__} {t!r:.40}")
        aos, los = item
        if aos >= los:
            raise TableError(f"{at}: expected aos_t_ns < los_t_ns, got [{aos}, {los}]")
        if out and aos < out[-1][1]:
            raise TableError(f"{at}: expected to start at or after the previous pass ends ({out[-1][1]}) "
                             f"(in time order, not overlapping), got aos_t_ns {aos}")
        out.append((aos, los))
    return tuple(out)
