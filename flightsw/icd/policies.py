"""Names of the scheduling policies the executor accepts (an enumerated argument of the
ICD, so tools outside flightsw can validate ``--policy`` without importing flightsw.sched;
a test checks this list equals flightsw.sched.POLICIES). ``predictive`` is the default."""

POLICY_NAMES = ("fifo", "greedy", "edf", "predictive")
DEFAULT_POLICY = "predictive"
