"""A participant that does nothing: the baseline cost of a lockstep round."""

from __future__ import annotations

from flightsw.icd.messages import Event


class Idle:
    period_ticks = 1

    def __init__(self, name: str) -> None:
        self.name = name
        self.subscriptions = frozenset({Event.KIND})

    def step(self, tick, t_ns, inbox):
        return []

    def final_report(self) -> dict:
        return {}

    def close(self) -> None:
        pass


def make(start_tick: int, name: str) -> Idle:
    return Idle(name)
