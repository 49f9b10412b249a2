"""Scheduling policies: pure functions (jobs, budget, thermal caps, board model) -> Plan."""

from flightsw.sched.fifo import fifo
from flightsw.sched.priority import priority
from flightsw.sched.types import BoardModel, JobView, Plan

POLICIES = {"fifo": fifo, "priority": priority}

__all__ = ["POLICIES", "BoardModel", "JobView", "Plan", "fifo", "priority"]
