"""The public runner: drive a set of participants in lockstep, in any mode.

``run_lockstep`` is the hub's outer loop. Per tick: scheduled kills, restarts the
supervisor asked for (or the watchdog's, if the supervisor itself is down, or alive but
silent: a supervisor whose loop hangs sends no pings, and its traffic is what strokes
the watchdog), then one barrier round through the transport. A restart asked for a
process that is still alive (hung: it answers ticks but not health pings) kills it
first: a real SIGKILL in hil mode, a dropped instance in fast mode. A process that dies
while it starts (before its HELLO) stays dead, to be asked for again. Sim time advances by ``tick_ns`` per round and
never depends on how long a process takes to start or answer.

Modes: ``fast`` (in-memory transport, one process), ``hil`` (one OS process per
participant over ZeroMQ), ``realtime`` (hil, paced by the wall clock at ``speed`` x).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import structlog

from flightsw.bus.hub import HubCore, HubStatistics, Wire
from flightsw.bus.memory import MemoryTransport
from flightsw.bus.participant import ParticipantSpec
from flightsw.icd.messages import Event, RestartProcess, Severity

__all__ = ["MODES", "LockstepResult", "run_lockstep", "SUPERVISOR"]

MODES = ("hil", "fast", "realtime")
SUPERVISOR = "supervisor"
# the supervisor pings every watched process every few ticks: silent for this many watchdog
# periods while alive, it is hung, and the watchdog has it killed and started again
SUPERVISOR_SILENT_TICKS_PER_WATCHDOG = 3

log = structlog.get_logger()


@dataclass(frozen=True)
class LockstepResult:
    digest: str
    ticks: int
    reports: dict[str, dict]
    hub: HubStatistics
    restarts: tuple[tuple[int, str, str], ...]  # (tick, process, reason)
    kills: tuple[tuple[int, str, str], ...]
    wall_s: float = 0.0
    dead_at_end: tuple[str, ...] = ()
    extra: dict = field(default_factory=dict)


def _make_transport(mode: str):
    if mode == "fast":
        return MemoryTransport()
    if mode in ("hil", "realtime"):
        from flightsw.bus.zmq_transport import ZmqTransport

        return ZmqTransport()
    raise ValueError(f"mode: expected one of {list(MODES)}, got {mode!r}")


def run_lockstep(
    specs: list[ParticipantSpec],
    n_ticks: int,
    *,
    tick_ns: int = 1_000_000_000,
    mode: str = "fast",
    kills: Mapping[int, list[str]] | None = None,
    speed: float = 1.0,
    watchdog_ticks: int = 10,
    tap: Callable[[int, Wire], None] | None = None,
    progress: Callable[[int], None] | None = None,
    chaos=None,
) -> LockstepResult:
    """Run ``n_ticks`` lockstep rounds. ``kills`` maps tick -> process names to kill
    (SIGKILL in hil) at the start of that tick. ``chaos``: in hil mode, an object whose
    ``start(pids)`` is called once every participant is up (``pids()`` gives the live
    processes' ids: it signals them at wall-clock moments of its own) and ``stop()`` at
    the end; it makes the run non-deterministic by design."""
    kills = dict(kills or {})
    by_name = {s.name: s for s in specs}
    if len(by_name) != len(specs):
        raise ValueError("participant names must be unique")
    for tick, names in kills.items():
        for name in names:
            if name not in by_name or not by_name[name].onboard:
                raise ValueError(f"kill at tick {tick}: {name!r} is not an onboard process")
    transport = _make_transport(mode)
    core = HubCore(tap=tap)
    restarts: list[tuple[int, str, str]] = []
    killed: list[tuple[int, str, str]] = []
    dead_since: dict[str, int] = {}
    sup_heard = 0  # the last tick the supervisor sent anything: its stroke of the watchdog
    wall0 = time.monotonic()
    try:
        for reg in transport.start_many(specs, 0):
            core.register(reg)
        if chaos is not None and hasattr(transport, "pids"):
            chaos.start(transport.pids)
        pace_t0 = time.monotonic()
        for tick in range(n_ticks):
            t_ns = tick * tick_ns
            if mode == "realtime":
                delay = pace_t0 + tick * tick_ns / 1e9 / speed - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
            for name in sorted(kills.get(tick, ())):
                if name in core.alive:
                    transport.kill(name)
                    core.mark_dead(name)
                    dead_since[name] = tick
                    killed.append((tick, name, "fault plan"))
                    core.emit(tick, t_ns, Event(int(Severity.WARNING_HI), "hub.process_killed",
                                                f"{name} killed by the fault plan"))
            to_start: list[tuple[str, str]] = []
            for msg in core.take_hub_mail():
                if isinstance(msg.body, RestartProcess) and msg.env.src == SUPERVISOR:
                    name = msg.body.process
                    # a live one is hung (it answers ticks but not pings): killed first
                    if name in by_name and by_name[name].onboard and name != SUPERVISOR:
                        to_start.append((name, msg.body.reason or "supervisor request"))
            if (
                SUPERVISOR in by_name
                and SUPERVISOR not in core.alive
                and tick - dead_since.get(SUPERVISOR, tick) >= watchdog_ticks
            ):
                to_start.append((SUPERVISOR, "watchdog: supervisor silent"))
            elif (SUPERVISOR in core.alive
                  and tick - sup_heard >= SUPERVISOR_SILENT_TICKS_PER_WATCHDOG * watchdog_ticks):
                to_start.append((SUPERVISOR, "watchdog: supervisor alive but silent (hung)"))
            seen = set()
            for name, reason in to_start:
                if name in seen:
                    continue
                seen.add(name)
                if name in core.alive:  # SIGKILL in hil; in fast mode the instance is dropped
                    transport.kill(name)
                    core.mark_dead(name)
                    killed.append((tick, name, "supervisor: hung"))
                    core.emit(tick, t_ns, Event(int(Severity.WARNING_HI), "hub.process_killed",
                                                f"{name} killed for a restart: {reason}"))
                try:
                    (reg,) = transport.start_many([by_name[name]], tick)
                except (RuntimeError, TimeoutError) as exc:  # died before it said HELLO: still dead
                    transport.kill(name)
                    dead_since.setdefault(name, tick)
                    log.error("hub.restart_failed", proc=name, tick=tick, error=str(exc))
                    core.emit(tick, t_ns, Event(int(Severity.WARNING_HI), "hub.restart_failed",
                                                f"{name} did not come up: {exc}"[:256]))
                    continue
                core.mark_restarted(name)
                dead_since.pop(name, None)
                if name == SUPERVISOR:
                    sup_heard = tick
                restarts.append((tick, name, reason))
                core.emit(tick, t_ns, Event(int(Severity.WARNING_LO), "hub.process_restarted",
                                            f"{name} restarted: {reason}"))
            batches = core.begin_tick(tick, t_ns)
            replies, lost = transport.exchange(tick, t_ns, batches)
            if replies.get(SUPERVISOR):
                sup_heard = tick
            core.end_tick(tick, replies)
            for name in lost:
                core.mark_dead(name)
                dead_since[name] = tick
                killed.append((tick, name, "crashed or hung"))
                core.emit(tick, t_ns, Event(int(Severity.WARNING_HI), "hub.process_lost",
                                            f"{name} crashed or stopped answering"))
            if progress is not None:
                progress(tick)
        if chaos is not None:  # no signal from here on: the reports are read
            chaos.stop()
        # A process dead at the end still has a report: start it once more, without
        # stepping it, to read its durable state (as one reads a flight recorder).
        dead_at_end = sorted(set(by_name) - core.alive)
        if dead_at_end:
            transport.start_many([by_name[n] for n in dead_at_end], n_ticks)
        reports = transport.finish()
    finally:
        if chaos is not None:
            chaos.stop()
        transport.close()
    return LockstepResult(
        digest=core.digest_hex(),
        ticks=n_ticks,
        reports=reports,
        hub=core.statistics(),
        restarts=tuple(restarts),
        kills=tuple(killed),
        wall_s=time.monotonic() - wall0,
        dead_at_end=tuple(dead_at_end),
    )
