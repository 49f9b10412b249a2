"""The generated dictionary covers every message and is valid JSON."""

from __future__ import annotations

import json

from flightsw.icd.dictionary import dictionary, unit_of
from flightsw.icd.messages import BODY_TYPES


def test_every_message_kind_is_in_the_dictionary_with_its_fields_in_wire_order():
    d = json.loads(json.dumps(dictionary()))
    by_kind = {e["kind"]: e for e in d["messages"]}
    assert set(by_kind) == set(BODY_TYPES)
    ps = by_kind[200]
    assert ps["name"] == "PowerSensors" and ps["category"] == "telemetry"
    assert [f["name"] for f in ps["fields"]][:2] == ["solar_power_w", "battery_charge_wh"]
    soc = next(f for f in ps["fields"] if f["name"] == "battery_soc")
    assert (soc["lo"], soc["hi"], soc["unit"]) == (0.0, 1.0, "fraction")


def test_units_are_read_from_name_suffixes():
    assert unit_of("compute_budget_w") == "W"
    assert unit_of("battery_charge_wh") == "Wh"
    assert unit_of("radiator_temp_c") == "degC"
    assert unit_of("deadline_t_ns") == "ns since epoch"
    assert unit_of("work_gpu_s") == "GPU-s"
    assert unit_of("job_id") is None
