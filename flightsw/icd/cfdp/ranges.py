"""A set of byte ranges: which parts of a file arrived (receiver) or are owed (sender).

Half-open ``[start, end)`` ranges kept sorted, disjoint and not touching (touching ranges
merge), in two parallel lists searched with ``bisect``. A file with thousands of gaps
costs thousands of entries, never one per byte.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from collections.abc import Iterator

__all__ = ["RangeSet"]


class RangeSet:
    """Sorted, disjoint, non-touching half-open ranges of non-negative integers."""

    __slots__ = ("_starts", "_ends", "_total")

    def __init__(self) -> None:
        self._starts: list[int] = []
        self._ends: list[int] = []
        self._total = 0

    def __len__(self) -> int:
        """Number of separate ranges."""
        return len(self._starts)

    def __bool__(self) -> bool:
        return bool(self._starts)

    def __iter__(self) -> Iterator[tuple[int, int]]:
        return iter(zip(self._starts, self._ends, strict=True))

    @property
    def total(self) -> int:
        """Sum of the range lengths."""
        return self._total

    @property
    def end(self) -> int:
        """End of the last range, 0 when empty."""
        return self._ends[-1] if self._ends else 0

    def add(self, start: int, end: int) -> None:
        """Add ``[start, end)``, merging with overlapping or touching ranges."""
        if start >= end:
            return
        i = bisect_left(self._ends, start)  # first range ending at or after start
        j = bisect_right(self._starts, end)  # ranges starting at or before end
        if i < j:
            start = min(start, self._starts[i])
            end = max(end, self._ends[j - 1])
            self._total -= sum(e - s for s, e in zip(self._starts[i:j], self._ends[i:j],
                                                     strict=True))
        self._starts[i:j] = [start]
        self._ends[i:j] = [end]
        self._total += end - start

    def covers(self, start: int, end: int) -> bool:
        """Whether ``[start, end)`` lies wholly inside the set (an empty range does)."""
        if start >= end:
            return True
        i = bisect_right(self._starts, start) - 1
        return i >= 0 and self._ends[i] >= end

    def missing(self, start: int, end: int) -> list[tuple[int, int]]:
        """The gaps of ``[start, end)``: its parts not in the set, in order."""
        gaps: list[tuple[int, int]] = []
        cursor = start
        i = max(bisect_right(self._starts, start) - 1, 0)
        while cursor < end and i < len(self._starts):
            s, e = self._starts[i], self._ends[i]
            if s >= end:
                break
            if s > cursor:
                gaps.append((cursor, s))
            cursor = max(cursor, e)
            i += 1
        if cursor < end:
            gaps.append((cursor, end))
        return gaps

    def first(self) -> tuple[int, int] | None:
        """The first range, or None when empty."""
        return (self._starts[0], self._ends[0]) if self._starts else None

    def take(self, max_len: int) -> tuple[int, int] | None:
        """Remove and return the first ``max_len`` bytes (at most) of the first range."""
        if not self._starts:
            return None
        start, end = self._starts[0], self._ends[0]
        cut = min(end, start + max_len)
        if cut == end:
            del self._starts[0]
            del self._ends[0]
        else:
            self._starts[0] = cut
        self._total -= cut - start
        return start, cut

    def clear(self) -> None:
        self._starts.clear()
        self._ends.clear()
        self._total = 0
