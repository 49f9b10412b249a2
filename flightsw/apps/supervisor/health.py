"""Health pings (after F Prime's Health component): every ``ping_period_ticks`` each
watched process gets a HealthPing with a fresh nonce; it must answer a HealthPong with
the same nonce. A pong with a nonce this process was not sent (or one from another
process) does not count.

Thresholds are in ticks of silence: how long the oldest unanswered ping has been out.
A good answer takes two ticks (lockstep latency: the ping arrives the next tick, the
pong the tick after), so the warning threshold is at least 2. At ``warn_ticks`` a
WARNING_LO event; at ``fatal_ticks`` the process is declared hung and the supervisor
restarts it (the restart counts toward the same per-process cap as a death).

A process that has never answered is not held to it while ``arm_on_first_pong`` is set:
apps not yet wired to the framework never answer, and restarting them would be wrong.
Once a process has answered once it is armed for good (the supervisor persists that).

Nonces come from a seeded splitmix64 stream: deterministic for a seed, and a restarted
supervisor (seeded from its start tick) does not repeat the nonces of its past life.

Left out: per-process thresholds (F Prime's ping table has one entry per component) and
pinging processes that the hub reports dead (the restart path handles those).
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Iterable
from dataclasses import dataclass, field

from flightsw.icd.messages import HealthPing, Severity

__all__ = ["NonceSource", "HealthMonitor", "ROUND_TRIP_TICKS"]

ROUND_TRIP_TICKS = 2
MAX_OUTSTANDING = 64  # nonces remembered per process; older unanswered ones still count as missed
MASK62 = (1 << 62) - 1

Note = tuple[Severity, str, str]


@dataclass
class NonceSource:
    """splitmix64 (Steele, Lea, Flood 2014), cut to the 62 bits HealthPing carries."""

    seed: int = 0
    counter: int = 0

    def next(self) -> int:
        self.counter += 1
        z = (self.seed + self.counter * 0x9E3779B97F4A7C15) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & 0xFFFFFFFFFFFFFFFF
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & 0xFFFFFFFFFFFFFFFF
        return (z ^ (z >> 31)) & MASK62


@dataclass
class _Proc:
    outstanding: OrderedDict = field(default_factory=OrderedDict)  # nonce -> tick sent
    unanswered: int = 0  # pings sent since the last good pong
    waiting_since: int | None = None  # tick the oldest unanswered ping went out
    last_ping_tick: int | None = None
    warned: bool = False


@dataclass
class HealthMonitor:
    nonces: NonceSource = field(default_factory=NonceSource)
    armed: set[str] = field(default_factory=set)  # answered at least once, ever
    procs: dict[str, _Proc] = field(default_factory=dict)
    pings_sent: int = 0
    pongs_ok: int = 0
    pongs_wrong: int = 0
    hung_detected: int = 0

    def reset(self, name: str) -> None:
        """Forget pings out to ``name`` (it died, or it is being restarted)."""
        self.procs[name] = _Proc()

    def on_pong(self, src: str, nonce: int) -> list[Note]:
        p = self.procs.get(src)
        if p is None or nonce not in p.outstanding:
            self.pongs_wrong += 1
            return [(Severity.WARNING_LO, "supervisor.pong_wrong_nonce",
                     f"{src or '?'} answered nonce {nonce}, which it was not sent")]
        self.pongs_ok += 1
        # this ping and every older one are answered (an app answers in order)
        while p.outstanding:
            n, _ = p.outstanding.popitem(last=False)
            if n == nonce:
                break
        p.unanswered = len(p.outstanding)
        p.waiting_since = next(iter(p.outstanding.values()), None)
        notes: list[Note] = []
        if src not in self.armed:
            self.armed.add(src)
        if p.warned:
            p.warned = False
            notes.append((Severity.ACTIVITY_HI, "supervisor.ping_answered", f"{src} answers pings again"))
        return notes

    def step(self, tick: int, watched: Iterable[str], alive: set[str] | None, period: int,
             warn_ticks: int, fatal_ticks: int, arm_on_first_pong: bool,
             ) -> tuple[list[tuple[HealthPing, str]], list[Note], list[tuple[str, int]]]:
        """-> (pings to send as (ping, dst), notes, hung processes as (name, silent ticks)).
        ``alive``: the hub's last word (None: none yet, all presumed alive)."""
        pings: list[tuple[HealthPing, str]] = []
        notes: list[Note] = []
        hung: list[tuple[str, int]] = []
        for name in watched:
            if alive is not None and name not in alive:
                self.procs[name] = _Proc()
                continue
            p = self.procs.setdefault(name, _Proc())
            if p.last_ping_tick is None or tick - p.last_ping_tick >= period:
                nonce = self.nonces.next()
                p.outstanding[nonce] = tick
                while len(p.outstanding) > MAX_OUTSTANDING:
                    p.outstanding.popitem(last=False)
                p.unanswered += 1
                p.last_ping_tick = tick
                if p.waiting_since is None:
                    p.waiting_since = tick
                pings.append((HealthPing(nonce), name))
                self.pings_sent += 1
            if p.waiting_since is None or (arm_on_first_pong and name not in self.armed):
                continue
            silent = tick - p.waiting_since
            if silent >= fatal_ticks:
                hung.append((name, silent))
                self.hung_detected += 1
            elif silent >= warn_ticks and not p.warned:
                p.warned = True
                notes.append((Severity.WARNING_LO, "supervisor.ping_late",
                              f"{name} has not answered a ping for {silent} ticks "
                              f"(hung at {fatal_ticks})"))
        return pings, notes, hung

    def missed(self, name: str, tick: int) -> int:
        """Pings to ``name`` unanswered in a row, not counting those still in flight."""
        p = self.procs.get(name)
        if p is None:
            return 0
        in_flight = sum(1 for t in p.outstanding.values() if tick - t < ROUND_TRIP_TICKS)
        return max(0, p.unanswered - in_flight)
