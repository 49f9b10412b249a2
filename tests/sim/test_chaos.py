"""The chaos run: hil mode, onboard processes killed and frozen at random wall-clock
moments (real SIGKILL, SIGSTOP and SIGCONT): every run completes and breaks no invariant
of the fault campaign. Not deterministic by design, so these tests assert what must hold
whatever the signals hit, and that the signals were sent."""

from __future__ import annotations

import pytest

from sim.chaos import chaos_run


def test_a_chaos_run_in_hil_mode_completes_and_loses_nothing(tmp_path) -> None:
    r = chaos_run(seed=1, hours=2000 / 3600, out_dir=tmp_path / "run", rate_per_s=2.0)
    assert r["kills"] + r["stops"] >= 3, f"the monkey hardly acted: {r['signals']}"
    assert r["broken"] == [], r["broken"]
    assert r["jobs"]["lost"] == 0 and r["jobs"]["accepted"] > 0
    assert r["restarts"] >= 1 or r["kills"] == 0, "killed processes were never restarted"


@pytest.mark.slow
@pytest.mark.parametrize("seed", range(10))
def test_repeated_chaos_runs_complete_and_lose_nothing(tmp_path, seed) -> None:
    r = chaos_run(seed=100 + seed, hours=2000 / 3600, out_dir=tmp_path / "run", rate_per_s=3.0)
    assert r["broken"] == [] and r["jobs"]["lost"] == 0, r
