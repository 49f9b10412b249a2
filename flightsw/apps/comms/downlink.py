"""The downlink queue: what goes down first, and how much of a pass each kind may take.

Four classes, served in this order every tick of a contact until the tick's byte budget
(the contact's rate x tick, less any overshoot carried from the last tick) is spent:

1. verification reports (PUS 1: job and command stages) and table dumps: small, and what
   the operators wait for; unbounded by pass, bounded in count;
2. events (PUS 5): high severity (FATAL, WARNING_HI) before the rest, oldest first;
3. housekeeping (PUS 3): first the latest of each *state* report (a whole picture that a
   newer one replaces, such as the executor's JobWaits: only the newest is kept), then
   samples stored since the last pass, newest first (the operators see the present at
   acquisition of signal, the history after);
4. files (CFDP): whatever budget is left (the caller asks the file sender for it).

Events and housekeeping each have a byte budget per pass, so a flood of either can never
starve the files that carry the satellite's product; what does not fit waits for the next
pass. Stored events and samples are bounded; the oldest go first, counted.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field

__all__ = ["DownlinkQueue", "Pending"]


@dataclass(frozen=True, slots=True)
class Pending:
    """A telemetry packet waiting to go down, encoded only when it is sent."""

    apid: int
    message: object | None  # an ICD Message, or None for a bare PUS 1/1 acceptance
    request_id: int = 0
    subtype: int | None = None


@dataclass
class DownlinkQueue:
    events_bytes_per_pass: int
    hk_bytes_per_pass: int
    max_control: int = 10_000
    max_events: int = 5_000
    max_hk: int = 20_000
    control: deque = field(default_factory=deque)
    events_high: deque = field(default_factory=deque)
    events_low: deque = field(default_factory=deque)
    hk: deque = field(default_factory=deque)
    state: dict = field(default_factory=dict)  # key -> the newest state report (replaced, never queued)
    events_sent_bytes: int = 0  # this pass
    hk_sent_bytes: int = 0  # this pass
    dropped: dict = field(default_factory=lambda: {"control": 0, "events": 0, "hk": 0})

    def new_pass(self) -> None:
        self.events_sent_bytes = self.hk_sent_bytes = 0

    def add_control(self, item: Pending) -> None:
        if len(self.control) >= self.max_control:
            self.dropped["control"] += 1
            return
        self.control.append(item)

    def add_event(self, item: Pending, high: bool) -> None:
        if len(self.events_high) + len(self.events_low) >= self.max_events:
            victim = self.events_low if self.events_low else self.events_high
            victim.popleft()
            self.dropped["events"] += 1
        (self.events_high if high else self.events_low).append(item)

    def add_hk(self, item: Pending) -> None:
        if len(self.hk) >= self.max_hk:
            self.hk.popleft()
            self.dropped["hk"] += 1
        self.hk.append(item)

    def put_state(self, key: object, item: Pending) -> None:
        """A state report: replaces the one held under ``key`` (it goes down once, the newest)."""
        self.state[key] = item

    def take(self, budget_bytes: float, encode: Callable[[Pending], bytes]) -> tuple[list[bytes], float]:
        """Packets to send this tick, in class order, and the budget left (may go below zero
        by part of one packet: the caller carries that as debt into the next tick)."""
        out: list[bytes] = []
        while budget_bytes > 0 and self.control:
            pkt = encode(self.control.popleft())
            budget_bytes -= len(pkt)
            out.append(pkt)
        for q in (self.events_high, self.events_low):
            while budget_bytes > 0 and q and self.events_sent_bytes < self.events_bytes_per_pass:
                pkt = encode(q.popleft())
                budget_bytes -= len(pkt)
                self.events_sent_bytes += len(pkt)
                out.append(pkt)
        while budget_bytes > 0 and self.state and self.hk_sent_bytes < self.hk_bytes_per_pass:
            pkt = encode(self.state.pop(next(iter(self.state))))
            budget_bytes -= len(pkt)
            self.hk_sent_bytes += len(pkt)
            out.append(pkt)
        while budget_bytes > 0 and self.hk and self.hk_sent_bytes < self.hk_bytes_per_pass:
            pkt = encode(self.hk.pop())  # newest first
            budget_bytes -= len(pkt)
            self.hk_sent_bytes += len(pkt)
            out.append(pkt)
        return out, budget_bytes

    def lengths(self) -> tuple[int, int, int]:
        return len(self.control), len(self.events_high) + len(self.events_low), len(self.hk) + len(self.state)
