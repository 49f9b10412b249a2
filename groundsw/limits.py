"""Operational limits of telemetry channels, for the console's plots and alarms summary.

Each entry maps a channel to Open MCT's limit levels (``WARNING``, ``CRITICAL``), each with
a ``low`` and/or ``high`` value. The values are the flight software's own thresholds
where the mission configuration carries them (the station writes them into the
archive's meta: ``battery_soc_floor``), else the defaults below. A sample at or past a
limit is "in limit" (the console colours it; the alarms view lists the events the
flight software raised for it).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

__all__ = ["DEFAULT_SOC_FLOOR", "SOC_WARNING_MARGIN", "limits_for"]

DEFAULT_SOC_FLOOR = 0.25  # [-] the default scenario's battery floor (never go below)
SOC_WARNING_MARGIN = 0.10  # [-] warn this far above the floor
MAX_SUPERVISED = 8  # supervisor ping channels per process index


def limits_for(meta: Mapping[str, Any]) -> dict[str, dict]:
    """Channel -> {"WARNING": {"low"|"high": v}, "CRITICAL": {...}} for this archive."""
    floor = meta.get("battery_soc_floor")
    floor = float(floor) if isinstance(floor, (int, float)) and 0.0 <= float(floor) < 1.0 else DEFAULT_SOC_FLOOR
    out: dict[str, dict] = {
        "power.power_budget.battery_soc": {"WARNING": {"low": round(floor + SOC_WARNING_MARGIN, 6)},
                                           "CRITICAL": {"low": floor}},
        "comms.comms_status.tc_rejected_auth": {"WARNING": {"high": 1}},
        "executor.executor_status.jobs_failed": {"WARNING": {"high": 1}},
        "executor.executor_status.sdc_detected": {"WARNING": {"high": 1}},
    }
    for i in range(MAX_SUPERVISED):
        out[f"supervisor.supervisor_status.pings_missed.{i}"] = {"WARNING": {"high": 1}, "CRITICAL": {"high": 3}}
    return out
