"""Helpers for the supervisor tests: messages as the hub delivers them, and a small fake
world of apps that answer pings and commands with the lockstep latency (two ticks)."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field

from flightsw.apps.supervisor.core import SupervisorCore
from flightsw.icd.messages import (
    AppCommand,
    CmdStatus,
    CommandResponse,
    Envelope,
    Event,
    HealthPing,
    HealthPong,
    HubStatus,
    Message,
    RestartProcess,
    SetMode,
)

S = 1_000_000_000  # [ns] one tick of 1 s
WATCHED = ("comms", "executor", "power", "thermal")


def msg(body, src: str = "hub", dst: str = "", tick: int = 0) -> Message:
    return Message(Envelope(body.KIND, body.VERSION, src, 1, tick, tick * S, dst), body)


def hub(*dead: str, watched: Iterable[str] = WATCHED) -> Message:
    alive = tuple(sorted({*watched, "supervisor"} - set(dead)))
    return msg(HubStatus(alive=alive, dead=tuple(sorted(dead))))


def ground(opcode: int, args: Mapping | None = None, cmd_id: int = 1, target: str = "supervisor") -> Message:
    return msg(AppCommand(target, int(opcode), cmd_id, "ground", dict(args or {})), src="comms", dst=target)


def bodies(out, cls: type, dst: str | None = None) -> list:
    return [b for b, d in out if isinstance(b, cls) and (dst is None or d == dst)]


def events(out, name: str | None = None) -> list[Event]:
    return [b for b in bodies(out, Event) if name is None or b.name == name]


def responses(out) -> list[CommandResponse]:
    return bodies(out, CommandResponse)


Answer = Callable[[int, AppCommand], CommandResponse | None]


def ok(tick: int, cmd: AppCommand) -> CommandResponse:
    return CommandResponse(cmd.opcode, CmdStatus.OK.value, "done", cmd.cmd_id, cmd.source)


@dataclass
class World:
    """Apps around a supervisor core. Each tick: the hub's status, then what the apps
    produced last tick. An app answers a ping (with the nonce it got, or ``pong_nonce``'s
    answer) unless it is dead or hung that tick; a command per ``answer`` (None: silent)."""

    core: SupervisorCore
    dead: set[str] = field(default_factory=set)
    hung: set[str] = field(default_factory=set)
    answer: Answer = ok
    pong_nonce: Callable[[int], int] = staticmethod(lambda n: n)
    pending: dict[int, list[Message]] = field(default_factory=dict)
    log: dict[int, list] = field(default_factory=dict)

    def step(self, tick: int, *extra: Message) -> list:
        inbox = [hub(*sorted(self.dead)), *self.pending.pop(tick, []), *extra]
        out = self.core.step(tick, tick * S, inbox)
        self.log[tick] = out
        later = self.pending.setdefault(tick + 2, [])
        for body, dst in out:
            if isinstance(body, HealthPing) and dst not in self.dead | self.hung:
                later.append(msg(HealthPong(self.pong_nonce(body.nonce)), src=dst, dst="supervisor"))
            elif isinstance(body, AppCommand) and dst not in self.dead | self.hung:
                resp = self.answer(tick, body)
                if resp is not None:
                    later.append(msg(resp, src=dst))
        return out

    def run(self, ticks: Iterable[int]) -> None:
        for k in ticks:
            self.step(k)

    def ticks_of(self, cls: type, dst: str | None = None, where=lambda b: True) -> list[int]:
        return [k for k, out in sorted(self.log.items()) for b in bodies(out, cls, dst) if where(b)]

    def restarts(self, name: str | None = None) -> list[int]:
        return self.ticks_of(RestartProcess, "hub", lambda b: name is None or b.process == name)

    def safe_orders(self) -> list[int]:
        return self.ticks_of(SetMode, "power", lambda b: b.mode == "SAFE")

    def events(self, name: str) -> list[tuple[int, Event]]:
        return [(k, e) for k, out in sorted(self.log.items()) for e in events(out, name)]
