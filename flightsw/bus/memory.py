"""In-memory transport: every participant in this process, stepped in name order.

Used by fast mode (tests, Monte Carlo). Same Endpoint code as the ZeroMQ transport,
so the same bytes cross the hub and the digest matches HIL mode.
"""

from __future__ import annotations

import msgpack
import structlog

from flightsw.bus.hub import Registration, Wire
from flightsw.bus.participant import Endpoint, ParticipantSpec, build

__all__ = ["MemoryTransport"]

log = structlog.get_logger()


class MemoryTransport:
    def __init__(self) -> None:
        self.endpoints: dict[str, Endpoint] = {}

    def start_many(self, specs: list[ParticipantSpec], start_tick: int) -> list[Registration]:
        regs = []
        for spec in specs:
            ep = Endpoint(build(spec, start_tick), start_tick, spec.stalls)
            self.endpoints[spec.name] = ep
            regs.append(ep.registration())
        return regs

    def kill(self, name: str) -> None:
        """The in-process analogue of SIGKILL: the object and its memory are gone; only
        what it committed to its durable store survives."""
        ep = self.endpoints.pop(name, None)
        if ep is not None:
            ep.close()

    def exchange(
        self, tick: int, t_ns: int, batches: dict[str, list[bytes]]
    ) -> tuple[dict[str, list[Wire]], list[str]]:
        replies: dict[str, list[Wire]] = {}
        crashed: list[str] = []
        decoded: dict = {}  # per tick; the batches keep every keyed bytes object alive
        for name in sorted(batches):
            try:
                replies[name] = self.endpoints[name].handle(tick, t_ns, batches[name], decoded)
            except Exception:  # a crashing app is a dead process, as it would be in HIL
                log.exception("bus.participant_crashed", proc=name, tick=tick)
                crashed.append(name)
                self.kill(name)
        return replies, crashed

    def finish(self) -> dict[str, dict]:
        # through msgpack, as over ZeroMQ, so reports look the same in every mode
        reports = {
            name: msgpack.unpackb(msgpack.packb(ep.final_report(), use_bin_type=True), raw=False)
            for name, ep in sorted(self.endpoints.items())
        }
        for name in list(self.endpoints):
            self.kill(name)
        return reports

    def close(self) -> None:
        for name in list(self.endpoints):
            self.kill(name)
