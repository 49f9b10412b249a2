"""Health pings: nonces, warning and fatal thresholds in ticks, hung -> restart
(flightsw.apps.supervisor.health through the core)."""

from __future__ import annotations

from flightsw.apps.supervisor.core import SupervisorCore
from flightsw.apps.supervisor.health import NonceSource
from flightsw.apps.supervisor.tables import SupervisorTable
from flightsw.icd.messages import HealthPing, HealthPong, RestartProcess, Severity, SupervisorStatus
from tests.flightsw.apps.supervisor.support import WATCHED, World, bodies, hub, msg

WARN, FATAL = 4, 8
TABLE = SupervisorTable(watched=WATCHED, ping_period_ticks=1, ping_warn_ticks=WARN, ping_fatal_ticks=FATAL,
                        max_restarts=3)


def world(table: SupervisorTable = TABLE, seed: int = 0) -> World:
    return World(SupervisorCore(table, nonce_seed=seed))


def armed_world(**kw) -> World:
    """Every app answered once (ticks 0..2)."""
    w = world(**kw)
    w.run(range(0, 3))
    assert w.core.health.armed == set(WATCHED), "the apps' pongs did not arm them"
    return w


def test_each_watched_process_gets_a_ping_addressed_to_it_every_period():
    w = world(SupervisorTable(watched=WATCHED, ping_period_ticks=3))
    w.run(range(0, 10))
    for name in WATCHED:
        assert w.ticks_of(HealthPing, name) == [0, 3, 6, 9], f"pings to {name}"
    assert w.ticks_of(HealthPing, "") == [], "a ping was published instead of addressed"


def test_nonces_are_fresh_and_deterministic_for_a_seed():
    def nonces(seed):
        w = world(seed=seed)
        w.run(range(0, 20))
        return [b.nonce for k in sorted(w.log) for b in bodies(w.log[k], HealthPing)]

    first = nonces(7)
    assert len(set(first)) == len(first), "a nonce was reused"
    assert nonces(7) == first, "the same seed gave other nonces"
    assert set(nonces(8)).isdisjoint(first), "another seed (a restarted supervisor) repeats nonces"
    assert all(0 <= n < 2**62 for n in first), "a nonce does not fit HealthPing"


def test_the_nonce_source_is_splitmix64():
    # reference: splitmix64 seeded 0 gives 0xE220A8397B1DCDAF first (Vigna's splitmix64.c)
    assert NonceSource(0).next() == 0xE220A8397B1DCDAF & ((1 << 62) - 1)


def test_apps_that_answer_are_never_late_and_raise_no_events():
    w = armed_world()
    w.run(range(3, 100))
    assert w.restarts() == [] and w.events("supervisor.ping_late") == []
    (status,) = bodies(w.log[90], SupervisorStatus)
    assert status.pings_missed == (0, 0, 0, 0), f"pings_missed {status.pings_missed}"


def test_a_silent_app_gets_one_warning_at_warn_ticks_then_a_restart_at_fatal_ticks():
    w = armed_world()
    w.hung = {"thermal"}
    w.run(range(3, 3 + FATAL + 2))
    late = w.events("supervisor.ping_late")
    assert len(late) == 1 and late[0][1].severity == int(Severity.WARNING_LO), late
    assert "thermal" in late[0][1].text
    (restart_tick,) = w.restarts("thermal")
    assert restart_tick - late[0][0] == FATAL - WARN, "warning and restart are not warn/fatal apart"
    (req,) = bodies(w.log[restart_tick], RestartProcess, "hub")
    assert req.process == "thermal" and req.reason.startswith(f"hung ({FATAL} ticks without a pong)")
    assert w.events("supervisor.process_hung"), "no event said the process hung"


def test_silence_is_measured_from_the_oldest_unanswered_ping():
    w = armed_world()
    w.hung = {"power"}
    w.run(range(3, 30))
    first_unanswered = 3  # the pings of ticks 0..2 were answered; hung from tick 3
    (restart_tick,) = w.restarts("power")[:1]
    assert restart_tick == first_unanswered + FATAL, f"hung declared at {restart_tick}"


def test_a_pong_with_the_wrong_nonce_does_not_count():
    w = armed_world()
    w.pong_nonce = lambda n: (n + 1) % 2**62
    w.run(range(3, 3 + FATAL + 2))
    assert {name for k in w.restarts() for b in bodies(w.log[k], RestartProcess) for name in [b.process]} \
        == set(WATCHED), "wrong-nonce pongs kept a process alive"
    wrong = w.events("supervisor.pong_wrong_nonce")
    assert wrong and wrong[0][1].severity == int(Severity.WARNING_LO)
    assert w.core.health.pongs_wrong > 0


def test_a_pong_from_another_process_does_not_count_for_it():
    core = SupervisorCore(TABLE)
    out = core.step(0, 0, [hub()])
    to_power = next(b.nonce for b, d in out if isinstance(b, HealthPing) and d == "power")
    core.step(1, 0, [hub()])
    core.step(2, 0, [hub(), msg(HealthPong(to_power), src="thermal", dst="supervisor")])
    assert core.health.pongs_ok == 0 and core.health.pongs_wrong == 1
    assert "power" not in core.health.armed


def test_a_process_that_never_answered_is_not_restarted_while_pings_arm_on_first_pong():
    w = world()
    w.hung = {"executor"}  # e.g. not yet wired to the framework: never answers
    w.run(range(0, 200))
    assert w.restarts("executor") == [], "a never-answering app was restarted"
    strict = world(SupervisorTable(watched=WATCHED, ping_period_ticks=1, ping_warn_ticks=WARN,
                                   ping_fatal_ticks=FATAL, ping_arm_on_first_pong=False))
    strict.hung = {"executor"}
    strict.run(range(0, 20))
    # restarted at FATAL; pinged afresh from the next tick, still silent: again
    assert strict.restarts("executor") == [FATAL, 2 * FATAL + 1], \
        "without arming, silence from the start must count"


def test_a_hung_restart_gives_the_new_process_a_fresh_start():
    w = armed_world()
    w.hung = {"comms"}
    w.run(range(3, 3 + FATAL + 1))
    (first,) = w.restarts("comms")
    w.hung = set()  # the restart cured it
    w.run(range(3 + FATAL + 1, 80))
    assert w.restarts("comms") == [first], "a cured process was restarted again"
    assert w.core.health.missed("comms", 79) == 0


def test_a_late_process_that_answers_again_before_fatal_is_not_restarted():
    w = armed_world()
    w.hung = {"comms"}
    w.run(range(3, 3 + WARN + 1))
    assert len(w.events("supervisor.ping_late")) == 1
    w.hung = set()
    w.run(range(3 + WARN + 1, 60))
    assert w.restarts() == [], "a process that answered before fatal_ticks was restarted"
    assert len(w.events("supervisor.ping_answered")) == 1, "no event said it answers again"


def test_dead_processes_are_not_pinged():
    w = armed_world()
    w.dead = {"executor"}
    w.run(range(3, 8))
    assert [k for k in w.ticks_of(HealthPing, "executor") if k >= 3] == []


def test_a_hang_past_the_cap_escalates_once_and_stops_restarting():
    w = armed_world()
    w.hung = {"power"}
    w.run(range(3, 300))
    assert len(w.restarts("power")) == TABLE.max_restarts
    assert len(w.events("supervisor.restart_cap")) == 1
    assert w.core.modes.mode == "SAFE" and w.safe_orders(), "no SAFE order after the cap"


def test_status_counts_pings_missed_in_a_row():
    w = armed_world()
    w.hung = {"executor"}
    w.run(range(3, 10))
    (status,) = bodies(w.step(10), SupervisorStatus)
    missed = dict(zip(status.processes, status.pings_missed, strict=True))
    # pinged at 3..10 in vain; those of ticks 9 and 10 are still in flight: 3..8 missed
    assert missed == {"comms": 0, "executor": 6, "power": 0, "thermal": 0}, missed
