"""The lockstep hub's pure core: routing, the barrier's bookkeeping, liveness, digest.

Contract (DESIGN.md §3): at tick k every due participant gets ONE batch holding every
message addressed to it that was produced before tick k and not yet delivered, sorted
by (src, seq). Messages produced at tick k are delivered at tick k+1 at the earliest,
or at the addressee's next due tick if it runs at a slower rate. So the result of a
run depends only on what participants produce, never on arrival order.

The core does no I/O. Transports (in-memory, ZeroMQ) feed it replies and carry out its
batches. The digest is SHA-256 over every routed message in delivery order.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from flightsw.icd.codec import DecodeError, decode, encode
from flightsw.icd.messages import Envelope, HubStatus, Message

__all__ = ["HUB", "Wire", "Registration", "HubCore", "HubStatistics"]

HUB = "hub"
STATUS_HEARTBEAT_TICKS = 10


@dataclass(frozen=True, slots=True)
class Wire:
    """One message in flight: routing keys plus its encoded bytes."""

    src: str
    seq: int
    kind: int
    dst: str
    data: bytes


@dataclass(frozen=True, slots=True)
class Registration:
    """What a participant declares in its hello: rate and subscriptions."""

    name: str
    period_ticks: int
    subscriptions: frozenset[int]


@dataclass(frozen=True, slots=True)
class HubStatistics:
    ticks: int
    routed: int
    dropped_dead: int
    dropped_unroutable: int
    kills: int
    restarts: int


@dataclass
class HubCore:
    """Routing tables and pending mail. Deterministic given the same call sequence."""

    registrations: dict[str, Registration] = field(default_factory=dict)
    alive: set[str] = field(default_factory=set)
    pending: dict[str, list[Wire]] = field(default_factory=dict)
    to_hub: list[Message] = field(default_factory=list)
    tap: Callable[[int, Wire], None] | None = None  # sees every routed message (recorder)
    _subscribers: dict[int, tuple[str, ...]] = field(default_factory=dict)
    _digest: hashlib._Hash = field(default_factory=hashlib.sha256)
    _seq: int = 0
    _last_status: HubStatus | None = None
    _status_key: tuple | None = None  # (alive names, registration count) of _last_status
    _alive_key: frozenset | None = None
    _alive_sorted: list = field(default_factory=list)
    _last_status_tick: int = -(10**9)
    _ticks: int = 0
    _routed: int = 0
    _dropped_dead: int = 0
    _dropped_unroutable: int = 0
    _kills: int = 0
    _restarts: int = 0

    # ----------------------------------------------------------------- membership
    def register(self, reg: Registration) -> None:
        if reg.period_ticks < 1:
            raise ValueError(f"{reg.name}: period_ticks must be >= 1, got {reg.period_ticks}")
        self.registrations[reg.name] = reg
        self.pending.setdefault(reg.name, [])
        self.alive.add(reg.name)
        subs: dict[int, list[str]] = {}
        for r in sorted(self.registrations.values(), key=lambda r: r.name):
            for kind in r.subscriptions:
                subs.setdefault(kind, []).append(r.name)
        self._subscribers = {k: tuple(v) for k, v in subs.items()}

    def mark_dead(self, name: str) -> None:
        """A participant died (killed or hung): drop its mail; it gets none until restarted."""
        if name in self.alive:
            self.alive.discard(name)
            self._dropped_dead += len(self.pending.get(name, ()))
            self.pending[name] = []
            self._kills += 1

    def mark_restarted(self, name: str) -> None:
        self.alive.add(name)
        self.pending[name] = []
        self._restarts += 1

    def due(self, tick: int) -> list[str]:
        """Live participants that step at this tick, in name order."""
        key = frozenset(self.alive)
        if key != self._alive_key:  # liveness changes rarely: sort once per change
            self._alive_key = key
            self._alive_sorted = [(n, self.registrations[n].period_ticks) for n in sorted(key)]
        return [n for n, period in self._alive_sorted if tick % period == 0]

    # ------------------------------------------------------------------- the tick
    def begin_tick(self, tick: int, t_ns: int) -> dict[str, list[bytes]]:
        """Batches for the participants due at ``tick``: their pending mail, sorted."""
        self._emit_status(tick, t_ns)
        batches: dict[str, list[bytes]] = {}
        for name in self.due(tick):
            mail = self.pending[name]
            if len(mail) > 1:
                mail.sort(key=_order)
            batches[name] = [w.data for w in mail]
            self.pending[name] = []
        return batches

    def end_tick(self, tick: int, replies: Mapping[str, Sequence[Wire]]) -> None:
        """Route everything produced at ``tick`` (replies of the participants that ran)."""
        produced = sorted((w for name in sorted(replies) for w in replies[name]), key=_order)
        self._route(tick, produced)
        self._ticks += 1

    def _route(self, tick: int, produced: Iterable[Wire]) -> None:
        tap = self.tap
        parts = []
        for w in produced:
            if tap is not None:
                tap(tick, w)
            parts.append(b"%d|%s|%d|" % (tick, w.src.encode(), w.seq))
            parts.append(w.data)
            self._routed += 1
            if w.dst:
                if w.dst == HUB:
                    try:
                        self.to_hub.append(decode(w.data))
                    except DecodeError:
                        self._dropped_unroutable += 1
                elif w.dst in self.alive:
                    self.pending[w.dst].append(w)
                elif w.dst in self.registrations:
                    self._dropped_dead += 1
                else:
                    self._dropped_unroutable += 1
                continue
            for name in self._subscribers.get(w.kind, ()):
                if name == w.src:
                    continue
                if name in self.alive:
                    self.pending[name].append(w)
                else:
                    self._dropped_dead += 1
        self._digest.update(b"".join(parts))  # the same bytes, in order, in one call

    def _emit_status(self, tick: int, t_ns: int) -> None:
        """The hub's liveness telemetry, routed before each tick's batches are cut, so
        the supervisor sees who is alive at the start of the tick it runs in. Sent when
        liveness changes and at least every STATUS_HEARTBEAT_TICKS (subscribers keep the
        last one)."""
        if not self._subscribers.get(HubStatus.KIND):
            return
        # names are never unregistered, so this key fixes (alive, dead): skip rebuilding
        # an unchanged status between heartbeats
        key = (frozenset(self.alive), len(self.registrations))
        if key == self._status_key and tick - self._last_status_tick < STATUS_HEARTBEAT_TICKS:
            return
        dead = tuple(sorted(set(self.registrations) - self.alive))
        status = HubStatus(alive=tuple(sorted(self.alive)), dead=dead)
        if status == self._last_status and tick - self._last_status_tick < STATUS_HEARTBEAT_TICKS:
            return
        self._last_status, self._last_status_tick, self._status_key = status, tick, key
        self.emit(tick, t_ns, status)

    def emit(self, tick: int, t_ns: int, body: object, dst: str = "") -> None:
        """Route a message the hub itself produces (its status, its events)."""
        self._seq += 1
        env = Envelope(body.KIND, body.VERSION, HUB, self._seq, tick, t_ns, dst)
        data = encode(Message(env, body))
        self._route(tick, [Wire(HUB, self._seq, body.KIND, dst, data)])

    def take_hub_mail(self) -> list[Message]:
        mail, self.to_hub = self.to_hub, []
        return mail

    # ------------------------------------------------------------------ reporting
    def digest_hex(self) -> str:
        return self._digest.hexdigest()

    def statistics(self) -> HubStatistics:
        return HubStatistics(
            self._ticks,
            self._routed,
            self._dropped_dead,
            self._dropped_unroutable,
            self._kills,
            self._restarts,
        )


def _order(w: Wire) -> tuple[str, int]:
    return (w.src, w.seq)
