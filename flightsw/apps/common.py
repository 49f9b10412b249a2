"""Small helpers every app shell shares."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from flightsw.icd.messages import Message

__all__ = ["latest", "of_type"]


def latest(inbox: Sequence[Message], cls: type):
    """The body of the newest message of ``cls`` in the inbox (inbox is sorted by
    (src, seq); one producer per telemetry kind, so the last one is the newest)."""
    found = None
    for m in inbox:
        if type(m.body) is cls:
            found = m.body
    return found


def of_type(inbox: Iterable[Message], cls: type) -> list[Message]:
    return [m for m in inbox if type(m.body) is cls]
