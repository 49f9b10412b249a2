"""Scheduling policies: pure functions (jobs, budget, thermal caps, board model) -> Plan."""

from flightsw.sched.fifo import fifo
from flightsw.sched.types import BoardModel, JobView, Plan

POLICIES = {"fifo": fifo}

__all__ = ["POLICIES", "BoardModel", "JobView", "Plan", "fifo"]
