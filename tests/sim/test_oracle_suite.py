"""No policy beats the oracle's bound on any suite scenario (slow tier: 28 runs).

The normal tier checks every policy on the default's first hours (test_oracle.py) and a
small bench (test_bench.py); ``make bench`` runs the whole suite at 24 h and flags any run
above its bound. Here every policy runs every suite scenario for SUITE_HOURS.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from flightsw.icd.policies import POLICY_NAMES
from sim.bench import SUITE
from sim.harness import RunConfig, run
from sim.oracle import oracle
from sim.scenario import load_scenario

SUITE_HOURS = 6.0  # long enough for passes, eclipses and deadlines in every scenario


@pytest.mark.slow
@pytest.mark.parametrize("scenario", SUITE)
def test_no_policy_beats_the_bound_on_a_suite_scenario(scenario: str, tmp_path: Path) -> None:
    sc = load_scenario(scenario)
    bound = oracle(sc, SUITE_HOURS)
    for policy in POLICY_NAMES:
        rep = run(RunConfig(scenario=sc, scenario_ref=scenario, hours=SUITE_HOURS, seed=0, policy=policy,
                            mode="fast", out_dir=tmp_path / policy, plots=False))
        assert rep["violations"]["soc_floor"] == 0 and rep["violations"]["board_overtemp"] == 0, (scenario, policy)
        assert rep["value_delivered"] <= bound["value_upper_bound"], (scenario, policy, rep["value_delivered"], bound)
        assert rep["energy"]["to_compute_wh"] <= bound["energy_upper_bound_wh"] * 1.005, (scenario, policy)
