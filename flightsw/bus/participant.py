"""What a bus participant is, and the endpoint that wraps it for any transport.

A participant is an app's thin shell (or the simulated world, or the ground station):
it declares a name, a rate and its subscriptions, and steps once per due tick on the
decoded messages addressed to it, returning what it produced as :class:`Out` items.

:class:`Endpoint` is the one piece of code between a participant and a transport. Both
the in-memory and the ZeroMQ transports call ``Endpoint.handle``, so the bytes produced
are identical in every mode: that is what makes the run digest mode-independent.
"""

from __future__ import annotations

import importlib
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol

import structlog

from flightsw.bus.hub import Registration, Wire
from flightsw.icd.codec import DecodeError, decode, encode_fields
from flightsw.icd.messages import Event, Message, Severity

__all__ = ["Out", "Participant", "ParticipantSpec", "Endpoint", "build", "SEQ_PER_TICK"]

# seq = start_tick * SEQ_PER_TICK + n, so a restarted process keeps its seq monotonic.
SEQ_PER_TICK = 1 << 20

log = structlog.get_logger()


class Out(NamedTuple):
    """A body to send: to ``dst`` alone, or ("") to everyone subscribed to its kind.
    A plain ``(body, dst)`` tuple is the same thing, for participants outside flightsw."""

    body: Any
    dst: str = ""


class Participant(Protocol):
    name: str
    period_ticks: int
    subscriptions: frozenset[int]

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]: ...

    def final_report(self) -> dict: ...

    def close(self) -> None: ...


@dataclass(frozen=True)
class ParticipantSpec:
    """How to build a participant in any process: ``factory`` is "module:function",
    called as ``function(start_tick=..., **kwargs)``. Picklable, so spawn can ship it."""

    name: str
    factory: str
    kwargs: dict = field(default_factory=dict)
    onboard: bool = True  # onboard processes may be killed and restarted by the supervisor
    # injected hangs (a fault plan's [[stall]]): (first tick, first tick after) windows in
    # which the app's loop is stuck; see Endpoint.handle
    stalls: tuple[tuple[int, int], ...] = ()


def build(spec: ParticipantSpec, start_tick: int) -> Participant:
    module_name, _, func_name = spec.factory.partition(":")
    func = getattr(importlib.import_module(module_name), func_name)
    p = func(start_tick=start_tick, **spec.kwargs)
    if p.name != spec.name:
        raise ValueError(f"factory {spec.factory} built {p.name!r}, expected {spec.name!r}")
    return p


_LEVEL = {
    Severity.FATAL: "critical",
    Severity.WARNING_HI: "error",
    Severity.WARNING_LO: "warning",
    Severity.COMMAND: "info",
    Severity.ACTIVITY_HI: "info",
    Severity.ACTIVITY_LO: "debug",
    Severity.DIAGNOSTIC: "debug",
}


def _log_event(proc: str, tick: int, ev: Event) -> None:
    """Every bus event also goes to the process's structured log, at its severity."""
    level = _LEVEL.get(Severity(ev.severity), "info") if 0 <= ev.severity <= 6 else "info"
    getattr(log, level)(ev.name, proc=proc, tick=tick, severity=Severity(ev.severity).name, text=ev.text)


class Endpoint:
    """Decode inbox, step, stamp envelopes, encode outbox. Counts bad input and drops it."""

    def __init__(self, participant: Participant, start_tick: int,
                 stalls: Sequence[tuple[int, int]] = ()) -> None:
        """``stalls``: windows [first, end) of ticks in which the participant's loop hangs
        (an injected fault); only those that begin at or after ``start_tick`` strike this
        instance (the one started to replace a hung process is a fresh one)."""
        self.participant = participant
        self.name = participant.name
        self._seq = start_tick * SEQ_PER_TICK
        self.bad_messages = 0
        self.stalls = tuple((int(a), int(b)) for a, b in stalls if a >= start_tick)
        self._held: list[bytes] = []  # input that came while hung: it waits in the socket
        self.stalled_ticks = 0

    def registration(self) -> Registration:
        p = self.participant
        return Registration(p.name, p.period_ticks, frozenset(p.subscriptions))

    def handle(self, tick: int, t_ns: int, inbox: Sequence[bytes],
               decoded: dict[int, Message] | None = None) -> list[Wire]:
        """``decoded``: an optional cache, id(bytes) -> Message, that an in-process transport
        shares between the endpoints of one tick (the same bytes object delivered to
        several subscribers is decoded once; messages are immutable).

        In a stall window the app's loop is stuck: the tick is answered (the lockstep shim
        is alive) but the app neither steps nor answers anything, health pings included;
        what comes meanwhile waits, as in a socket's queue, and is handled in order when
        the loop runs again. The supervisor's pings find the hang and have it restarted."""
        if self.stalls and any(a <= tick < b for a, b in self.stalls):
            self._held.extend(inbox)
            self.stalled_ticks += 1
            return []
        if self._held:
            inbox, self._held = [*self._held, *inbox], []
        msgs = []
        for data in inbox:
            if decoded is not None:
                hit = decoded.get(id(data))
                if hit is not None:
                    msgs.append(hit)
                    continue
            try:
                m = decode(data)
                msgs.append(m)
                if decoded is not None:
                    decoded[id(data)] = m
            except DecodeError as exc:
                self.bad_messages += 1
                if self.bad_messages <= 10:
                    log.warning("bus.bad_message", proc=self.name, tick=tick, error=str(exc))
        outs = self.participant.step(tick, t_ns, msgs)
        wires = []
        for body, dst in outs:
            if type(body) is Event:
                _log_event(self.name, tick, body)
            self._seq += 1
            data = encode_fields(body, self.name, self._seq, tick, t_ns, dst)
            wires.append(Wire(self.name, self._seq, body.KIND, dst, data))
        return wires

    def final_report(self) -> dict:
        rep = dict(self.participant.final_report())
        rep["bad_messages"] = self.bad_messages
        if self.stalled_ticks:
            rep["stalled_ticks"] = self.stalled_ticks
        return rep

    def close(self) -> None:
        self.participant.close()
