"""A bounded memory of closed transactions, so late PDUs get the right answer.

CFDP asks every EOF to be acknowledged even after its transaction ended, and a sender
must acknowledge a FINISHED it already acknowledged when the receiver repeats it. Both
ends keep the last ``capacity`` closed sequence numbers with the condition they closed
with; older ones are forgotten oldest first, so memory stays bounded on a long mission.
"""

from __future__ import annotations

from collections import OrderedDict

from spacepackets.cfdp import ConditionCode

__all__ = ["ClosedHistory"]


class ClosedHistory:
    """Sequence number -> closing condition, for at most ``capacity`` transactions."""

    __slots__ = ("_capacity", "_closed")

    def __init__(self, capacity: int) -> None:
        if capacity < 1:
            raise ValueError(f"capacity: expected >= 1, got {capacity}")
        self._capacity = capacity
        self._closed: OrderedDict[int, ConditionCode] = OrderedDict()

    def __contains__(self, seq_num: object) -> bool:
        return seq_num in self._closed

    def __len__(self) -> int:
        return len(self._closed)

    def get(self, seq_num: int) -> ConditionCode | None:
        return self._closed.get(seq_num)

    def add(self, seq_num: int, condition: ConditionCode) -> None:
        self._closed[seq_num] = condition
        self._closed.move_to_end(seq_num)
        while len(self._closed) > self._capacity:
            self._closed.popitem(last=False)
