"""The runner restarts a process the supervisor asks for even when it is still alive
(hung: it answers ticks but not health pings): it kills it first — a real SIGKILL in hil
mode, a dropped instance in fast mode — and starts a fresh one."""

from __future__ import annotations

import os
from collections.abc import Sequence

import pytest

from flightsw.bus.hub import Wire
from flightsw.bus.participant import ParticipantSpec
from flightsw.bus.runner import run_lockstep
from flightsw.icd.codec import decode
from flightsw.icd.messages import Event, Message, RestartProcess, ResultResync

ASK_AT = 3  # the fake supervisor asks at this tick; the hub restarts at the next
N_TICKS = 8


class Worker:
    """Says who it is (pid, start tick) every tick."""

    subscriptions = frozenset()
    period_ticks = 1

    def __init__(self, name: str, start_tick: int) -> None:
        self.name = name
        self.start_tick = start_tick

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[tuple[object, str]]:
        return [(ResultResync(reason=f"{os.getpid()} {self.start_tick}"), "")]

    def final_report(self) -> dict:
        return {"start_tick": self.start_tick, "pid": os.getpid()}

    def close(self) -> None:
        pass


class FakeSupervisor(Worker):
    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[tuple[object, str]]:
        if tick == ASK_AT:
            return [(RestartProcess("worker", "hung: test"), "hub")]
        return []


def make_worker(start_tick: int) -> Worker:
    return Worker("worker", start_tick)


def make_supervisor(start_tick: int) -> FakeSupervisor:
    return FakeSupervisor("supervisor", start_tick)


SPECS = [ParticipantSpec("worker", f"{__name__}:make_worker"),
         ParticipantSpec("supervisor", f"{__name__}:make_supervisor")]


def _run(mode: str):
    routed: list[tuple[int, Wire]] = []
    result = run_lockstep(SPECS, N_TICKS, mode=mode, tap=lambda t, w: routed.append((t, w)))
    said = [(t, decode(w.data).body.reason) for t, w in routed if w.kind == ResultResync.KIND]
    events = [(t, decode(w.data).body.name) for t, w in routed if w.kind == Event.KIND]
    return result, said, events


@pytest.mark.parametrize("mode", ["fast", "hil"])
def test_a_restart_of_a_live_process_kills_it_and_starts_a_fresh_one(mode):
    result, said, events = _run(mode)
    restart_tick = ASK_AT + 1
    assert result.kills == ((restart_tick, "worker", "supervisor: hung"),), f"kills {result.kills}"
    assert [(t, n) for t, n, _ in result.restarts] == [(restart_tick, "worker")], result.restarts
    assert (restart_tick, "hub.process_killed") in events and (restart_tick, "hub.process_restarted") in events
    starts = {t: int(reason.split()[1]) for t, reason in said}
    assert all(starts[t] == 0 for t in range(restart_tick)), "the first instance spoke with the wrong start"
    assert all(starts[t] == restart_tick for t in range(restart_tick, N_TICKS)), \
        "the worker was not replaced by a fresh instance at the restart tick"
    assert result.reports["worker"]["start_tick"] == restart_tick
    assert result.dead_at_end == ()
    if mode == "hil":
        pids = {t: int(reason.split()[0]) for t, reason in said}
        old, new = pids[ASK_AT], pids[restart_tick]
        assert old != new, "hil: the restart reused the old process"
        with pytest.raises(ProcessLookupError):  # killed and reaped
            os.kill(old, 0)
