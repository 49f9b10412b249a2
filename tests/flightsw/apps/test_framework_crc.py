"""Table CRCs in housekeeping are cached per table and follow every load and activation."""

from __future__ import annotations

import json
import zlib
from dataclasses import dataclass

from flightsw.apps.framework import AppFramework, TableService, table_to_json


@dataclass(frozen=True)
class Limits:
    floor: float = 0.2
    count: int = 3


def crc_of(table) -> int:
    return zlib.crc32(table_to_json(table))


def hk_crcs(fw: AppFramework) -> dict[str, int]:
    hk = fw.housekeeping()
    return dict(zip(hk.tables, hk.table_crc32, strict=True))


def test_the_reported_crc_is_the_active_tables_and_stays_while_it_does():
    fw = AppFramework("power", tables=TableService({"limits": Limits(), "other": Limits(count=9)}))
    first = hk_crcs(fw)
    assert first == {"limits": crc_of(Limits()), "other": crc_of(Limits(count=9))}
    assert hk_crcs(fw) == first


def test_a_load_and_activate_changes_the_crc_at_once():
    fw = AppFramework("power", tables=TableService({"limits": Limits()}))
    before = hk_crcs(fw)["limits"]
    fw.tables.load("limits", json.dumps({"floor": 0.3}).encode(), activate=True)
    after = hk_crcs(fw)["limits"]
    assert after != before and after == crc_of(Limits(floor=0.3)), "housekeeping kept the old table's CRC"


def test_a_staged_load_keeps_the_crc_until_it_is_activated():
    fw = AppFramework("power", tables=TableService({"limits": Limits()}))
    before = hk_crcs(fw)["limits"]
    fw.tables.load("limits", json.dumps({"count": 4}).encode(), activate=False)
    assert hk_crcs(fw)["limits"] == before, "a staged table changed the active CRC"
    fw.tables.activate("limits")
    assert hk_crcs(fw)["limits"] == crc_of(Limits(count=4))


def test_a_table_put_in_place_directly_is_seen_too():
    service = TableService({"limits": Limits()})
    service.crc32("limits")
    service.active["limits"] = Limits(count=7)
    assert service.crc32("limits") == crc_of(Limits(count=7))
