"""Power manager: eclipse reserve, compute budget and its forecast, modes, load shedding.

``table`` (the "power" table: every threshold), ``outlook`` (the eclipses ahead, as the
core sees them), ``energy`` (reserve, battery term, budget, forecast), ``modes`` (SAFE /
LOW_POWER / NOMINAL / COMPUTE with hysteresis and dwell), ``core`` (one pure control
period), ``orbit_view`` (the "orbit" table, the uplinked TLE, and its forecaster),
``shell`` (the bus participant: framework, store).
"""
