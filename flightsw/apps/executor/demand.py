"""The work accepted over the last day, by class: what the predictive policy takes as the
demand to come (``PlanContext.accepted_day``).

A sliding window over the acceptances, with running sums per (priority, replicas)
class, so the summary a plan asks for costs O(classes), not O(jobs): each acceptance is
added once and dropped once. Rebuilt from the ledger after a restart (``restore``), so a
restarted executor forecasts as the one before it did. Pure: no clock, no I/O.
"""

from __future__ import annotations

from collections import deque

from flightsw.sched.types import DEMAND_WINDOW_S

__all__ = ["DemandWindow"]

_NS = 1_000_000_000


class DemandWindow:
    """Acceptances as (t_ns, priority, replicas, board GPU-s); ``summary(t_ns)`` sums those
    of the last ``window_s`` by (priority, replicas)."""

    def __init__(self, window_s: float = DEMAND_WINDOW_S) -> None:
        self.window_ns = int(window_s * _NS)
        self._q: deque[tuple[int, int, int, float]] = deque()
        self._sums: dict[tuple[int, int], list] = {}  # class -> [jobs, board GPU-s]

    def add(self, t_ns: int, priority: int, replicas: int, board_gpu_s: float) -> None:
        """One accepted job: its work counted on every replica's boards. Acceptances come
        in time order (a restore sorts them)."""
        self._q.append((t_ns, priority, replicas, board_gpu_s))
        s = self._sums.setdefault((priority, replicas), [0, 0.0])
        s[0] += 1
        s[1] += board_gpu_s

    def restore(self, accepted: list[tuple[int, int, int, float]]) -> None:
        """After a restart: every job the ledger holds as accepted, any order."""
        for a in sorted(accepted):
            self.add(*a)

    def summary(self, t_ns: int) -> tuple[tuple[int, int, float], ...]:
        """((priority, replicas, board GPU-s), ...) accepted in (t_ns - window, t_ns]."""
        q, cut = self._q, t_ns - self.window_ns
        while q and q[0][0] <= cut:
            _, p, r, w = q.popleft()
            s = self._sums[(p, r)]
            s[0] -= 1
            s[1] -= w
            if s[0] == 0:
                del self._sums[(p, r)]
        return tuple((p, r, max(0.0, s[1])) for (p, r), s in sorted(self._sums.items()))
