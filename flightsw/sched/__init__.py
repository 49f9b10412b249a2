"""Scheduling policies: pure functions (jobs, budget, thermal caps, board model, context) -> Plan.

- ``fifo``: acceptance order, head of line; a baseline.
- ``greedy``: as much power as the budget allows, highest priority first; a baseline.
- ``edf``: earliest deadline first; a baseline.
- ``predictive`` (the default): plans the power over the orbit ahead and fills by value,
  with deadline, downlink and preemption-payback tests (flightsw/sched/predictive.py).
"""

from flightsw.sched.edf import edf
from flightsw.sched.fifo import fifo
from flightsw.sched.greedy import greedy
from flightsw.sched.predictive import predictive
from flightsw.sched.types import WAIT_REASONS, BoardModel, JobView, Plan, PlanContext

POLICIES = {"fifo": fifo, "greedy": greedy, "edf": edf, "predictive": predictive}

__all__ = ["POLICIES", "WAIT_REASONS", "BoardModel", "JobView", "Plan", "PlanContext", "edf", "fifo",
           "greedy", "predictive"]
