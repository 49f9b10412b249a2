"""Realtime mode: the same lockstep, paced by the wall clock."""

from __future__ import annotations

from sim.harness import RunConfig, run
from sim.scenario import load_scenario

TICKS = 120
SPEED = 200.0  # simulated seconds per wall second
PACING_SLACK = 0.8  # the run may not finish faster than this share of the paced time


def test_realtime_mode_is_paced_and_gives_the_fast_mode_digest(tmp_path):
    sc = load_scenario("default")
    common = dict(scenario=sc, scenario_ref="default", hours=TICKS / 3600, plots=False)
    paced = run(RunConfig(mode="realtime", speed=SPEED, out_dir=tmp_path / "rt", **common))
    fast = run(RunConfig(mode="fast", out_dir=tmp_path / "fast", **common))
    assert paced["digest"] == fast["digest"], "realtime and fast runs differ"
    assert paced["wall_s"] >= PACING_SLACK * TICKS / SPEED, f"not paced: {paced['wall_s']} s"
