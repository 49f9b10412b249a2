"""The whole FDIR loop in fast mode: the real supervisor shell and runner, and a worker app
built here that stops answering pings (hung) while it still steps."""

from __future__ import annotations

from collections.abc import Sequence

from flightsw.apps.framework import FRAMEWORK_KINDS, AppFramework
from flightsw.bus.participant import Out, ParticipantSpec
from flightsw.bus.runner import run_lockstep
from flightsw.icd.codec import decode
from flightsw.icd.messages import Event, Message, Severity

HANG_AT = 20
N_TICKS = 200
TABLE = {"watched": ["worker"], "ping_period_ticks": 1, "ping_warn_ticks": 3, "ping_fatal_ticks": 6,
         "max_restarts": 2}


class Worker:
    """Answers pings through the framework until HANG_AT; a restarted one (start_tick > 0)
    is cured unless ``forever``."""

    name = "worker"
    period_ticks = 1
    subscriptions = FRAMEWORK_KINDS

    def __init__(self, start_tick: int, forever: bool) -> None:
        self.fw = AppFramework("worker")
        self.hangs = forever or start_tick == 0
        self.start_tick = start_tick

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[Out]:
        if self.hangs and tick >= HANG_AT:
            return []
        return [Out(b, d) for b, d in self.fw.handle(tick, inbox)]

    def final_report(self) -> dict:
        return {"start_tick": self.start_tick}

    def close(self) -> None:
        pass


def make_worker(start_tick: int, forever: bool = False) -> Worker:
    return Worker(start_tick, forever)


def _run(tmp_path, forever: bool):
    specs = [ParticipantSpec("worker", f"{__name__}:make_worker", {"forever": forever}),
             ParticipantSpec("supervisor", "flightsw.apps.supervisor.shell:make",
                             {"store_dir": str(tmp_path), "table": TABLE})]
    fatal: list[int] = []

    def tap(tick, w):
        if w.kind == Event.KIND and decode(w.data).body.severity == int(Severity.FATAL):
            fatal.append(tick)

    return run_lockstep(specs, N_TICKS, mode="fast", tap=tap), fatal


def test_a_hung_app_is_killed_and_restarted_once_and_the_cure_holds(tmp_path):
    result, fatal = _run(tmp_path, forever=False)
    assert [(p, r.split(":")[0]) for _, p, r in result.restarts] == [("worker", "hung (6 ticks without a pong)")]
    (kill_tick, name, why) = result.kills[0]
    assert len(result.kills) == 1 and name == "worker" and why == "supervisor: hung"
    assert HANG_AT < kill_tick <= HANG_AT + TABLE["ping_fatal_ticks"] + 2
    assert result.reports["worker"]["start_tick"] == kill_tick, "the worker was not replaced"
    assert fatal == [] and result.reports["supervisor"]["mode"] == "NOMINAL"


def test_an_app_that_hangs_after_every_restart_is_restarted_up_to_the_cap_then_safe_mode(tmp_path):
    result, fatal = _run(tmp_path, forever=True)
    assert len(result.restarts) == TABLE["max_restarts"], f"restarts {result.restarts}: a loop?"
    assert len(fatal) == 1, "the cap raises one FATAL"
    rep = result.reports["supervisor"]
    assert rep["mode"] == "SAFE" and rep["escalated"] and rep["capped"] == ["worker"]
    assert rep["restarts"] == {"worker": TABLE["max_restarts"]}
