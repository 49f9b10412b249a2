"""Link-up time: the clock every CFDP timer of this engine runs on.

The downlink is pass-limited: the link is up for minutes, then down for an hour or more.
A timer on plain sim time would expire during every gap, count against ``ack_limit`` and
give a transfer up between passes. So the engine measures time only while the link is
up: the interval between two consecutive polls counts when both polls saw the link up.
A timer can therefore never expire while the link is down, and a transfer resumes on the
next pass with its timers where they stood at loss of signal.
"""

from __future__ import annotations

__all__ = ["LinkClock"]


class LinkClock:
    """Accumulates link-up time [ns] from ``(t_ns, link_up)`` samples, one per poll."""

    __slots__ = ("up_ns", "_last_t_ns", "_last_up")

    def __init__(self) -> None:
        self.up_ns = 0
        self._last_t_ns: int | None = None
        self._last_up = False

    @property
    def link_up(self) -> bool:
        """The link state the last sample saw."""
        return self._last_up

    def advance(self, t_ns: int, link_up: bool) -> bool:
        """Take a sample; True when it is an acquisition of signal (down -> up).

        Raises ValueError for a non-integer ``t_ns`` or a non-bool ``link_up`` (a caller
        bug, not link input). Time that goes backwards adds nothing.
        """
        if not isinstance(t_ns, int) or isinstance(t_ns, bool):
            raise ValueError(f"t_ns: expected int nanoseconds, got {t_ns!r}")
        if not isinstance(link_up, bool):
            raise ValueError(f"link_up: expected bool, got {link_up!r}")
        last = self._last_t_ns
        if last is not None and link_up and self._last_up and t_ns > last:
            self.up_ns += t_ns - last
        aos = link_up and not self._last_up
        self._last_t_ns = t_ns if last is None else max(last, t_ns)
        self._last_up = link_up
        return aos
