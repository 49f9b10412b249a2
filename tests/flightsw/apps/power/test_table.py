"""The power manager's tables: "power" (thresholds) and "orbit" (the uplinked TLE) are
validated whole, and a rejection names the field."""

from __future__ import annotations

import json
import math
from datetime import UTC, datetime

import pytest

from flightsw.apps.framework import CommandError, TableError, TableService
from flightsw.apps.power.orbit_view import OrbitTable
from flightsw.icd.messages import CmdStatus, Mode
from sim.tle import tle_from_circular
from tests.flightsw.apps.power.power_builders import table

EPOCH = "2026-12-01T00:00:00Z"


def tle() -> tuple[str, str]:
    return tle_from_circular(550.0, 53.0, 40.0, 0.0, datetime(2026, 12, 1, tzinfo=UTC))


# ---------------------------------------------------------------------- "power"

@pytest.mark.parametrize(
    ("field", "bad"),
    [
        ("battery_soc_floor", 1.0),
        ("battery_soc_floor", -0.1),
        ("battery_soc_floor", math.nan),
        ("housekeeping_w", -1.0),
        ("max_discharge_w", -1.0),
        ("max_charge_w", -1.0),
        ("battery_heater_w", -1.0),
        ("charge_efficiency", 0.0),
        ("discharge_efficiency", 1.5),
        ("eclipse_reserve_s", -1.0),
        ("eclipse_reserve_s", math.inf),
        ("reserve_margin_soc", 0.5),
        ("nominal_buffer_soc", -0.1),
        ("min_pacing_s", 1.0),
        ("max_pacing_s", 100.0),  # below min_pacing_s
        ("guard_soc", 0.5),
        ("safe_entry_ticks", 0),
        ("safe_exit_margin_soc", 0.0),
        ("low_power_entry_ticks", 0),
        ("low_power_exit_margin_soc", 0.0),
        ("compute_entry_soc", 1.2),
        ("compute_exit_soc", 0.95),  # above compute_entry_soc
        ("compute_exit_soc", 0.21),  # below floor + reserve margin
        ("dwell_safe_ticks", 0),
        ("dwell_compute_ticks", 0),
        ("min_priority_safe", 11),
        ("min_priority_nominal", -1),
        ("forecast_step_s", 0.0),
        ("fallback_period_s", 10.0),
        ("solar_average_readings", 0),
        ("solar_initial_w", -5.0),
        ("sunlit_min_w", -1.0),
    ],
)
def test_an_invalid_power_table_is_rejected_naming_the_field(field, bad):
    with pytest.raises(TableError, match=f"PowerTable.{field}: expected .* got"):
        table(**{field: bad})


def test_the_reserve_margin_may_not_lie_under_the_guard():
    with pytest.raises(TableError, match="reserve_margin_soc: expected >= guard_soc"):
        table(guard_soc=0.1, reserve_margin_soc=0.05)


def test_the_nominal_buffer_must_exceed_the_low_power_exit_margin():
    with pytest.raises(TableError, match="nominal_buffer_soc: expected > low_power_exit_margin_soc"):
        table(nominal_buffer_soc=0.02, low_power_exit_margin_soc=0.03)


def test_a_higher_mode_may_not_shed_more_load_than_a_lower_one():
    with pytest.raises(TableError, match="min_priority_nominal: expected <= min_priority_low_power"):
        table(min_priority_low_power=1, min_priority_nominal=3)


def test_the_safe_exit_must_be_reachable():
    with pytest.raises(TableError, match="safe_exit_margin_soc"):
        table(battery_soc_floor=0.6, guard_soc=0.2, reserve_margin_soc=0.2, safe_exit_margin_soc=0.3,
              compute_exit_soc=0.85, compute_entry_soc=0.9)


def test_the_default_table_is_valid_and_documents_the_load_shed_order():
    t = table()
    assert [t.min_priority(m.value) for m in Mode] == [10, 2, 0, 0], "SAFE sheds all, LOW_POWER keeps 2..9"
    assert all(t.dwell_ticks(m.value) >= 1 for m in Mode)


def test_a_power_table_load_is_rejected_whole_and_the_active_one_stays():
    active = table()
    tables = TableService({"power": active})
    bad = json.dumps({"guard_soc": 0.01, "compute_exit_soc": 2.0}).encode()
    with pytest.raises(CommandError) as err:
        tables.load("power", bad, activate=True)
    assert err.value.status == CmdStatus.VALIDATION_ERROR
    assert "compute_exit_soc" in err.value.detail, err.value.detail
    assert tables.active["power"] is active, "a rejected load changed the active table"


def test_an_unknown_power_field_is_rejected_by_name():
    tables = TableService({"power": table()})
    with pytest.raises(CommandError, match="unknown field.*battery_florr"):
        tables.load("power", json.dumps({"battery_florr": 0.1}).encode(), activate=True)


# ---------------------------------------------------------------------- "orbit"

def test_an_empty_orbit_table_is_valid_and_means_no_tle():
    assert not OrbitTable().has_tle


def test_a_good_tle_is_accepted():
    l1, l2 = tle()
    assert OrbitTable(l1, l2, EPOCH).has_tle


def test_a_tle_with_a_bad_checksum_is_rejected_naming_its_line():
    l1, l2 = tle()
    bad2 = l2[:-1] + str((int(l2[-1]) + 1) % 10)
    with pytest.raises(TableError, match="OrbitTable.tle_line2: TLE line 2, column 69 \\(checksum\\)"):
        OrbitTable(l1, bad2, EPOCH)


def test_a_tle_without_its_epoch_is_rejected_naming_the_missing_field():
    l1, l2 = tle()
    with pytest.raises(TableError, match="OrbitTable.epoch_utc: expected a value"):
        OrbitTable(l1, l2, "")


def test_an_epoch_without_a_zone_is_rejected_naming_the_field():
    l1, l2 = tle()
    with pytest.raises(TableError, match="OrbitTable.epoch_utc: epoch_utc: expected an ISO 8601"):
        OrbitTable(l1, l2, "2026-12-01T00:00:00")


def test_an_edge_margin_over_a_quarter_orbit_is_rejected_naming_the_field():
    l1, l2 = tle()
    with pytest.raises(TableError, match="OrbitTable.edge_margin_s"):
        OrbitTable(l1, l2, EPOCH, edge_margin_s=5000.0)


def test_an_orbit_table_load_with_a_bad_line_keeps_the_last_good_tle():
    l1, l2 = tle()
    good = OrbitTable(l1, l2, EPOCH)
    tables = TableService({"orbit": good})
    with pytest.raises(CommandError) as err:
        tables.load("orbit", json.dumps({"tle_line1": l1[:40]}).encode(), activate=True)
    assert "tle_line1" in err.value.detail and "69" in err.value.detail, err.value.detail
    assert tables.active["orbit"] is good
