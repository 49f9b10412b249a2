"""Scenarios: TOML files, optionally built on a built-in base, validated whole.

A scenario may say ``base = "NAME"`` (a built-in under sim/scenarios/) and override any
part of it: tables merge key by key, arrays of tables (``[[ground_stations]]``) replace
the base's list. Every key is checked: a bad file gets one :class:`ScenarioError` that
names the key, what was expected and what came.
"""

from __future__ import annotations

import copy
import math
import tomllib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from sim.orbit import validate_orbit_table
from sim.timescale import parse_epoch_utc

__all__ = ["Scenario", "ScenarioError", "load_scenario", "parse_scenario", "scenario_from_dict", "builtin_names"]


class ScenarioError(ValueError):
    pass


_REQUIRED = object()
MIN_BURST_EVERY_H = 0.1  # [h] bursts closer than 6 min are a typo, not a workload


def _num(lo: float, hi: float, integer: bool = False, default: Any = _REQUIRED):
    """A numeric key in [lo, hi]; with ``default`` it may be left out (filled in)."""
    return ("int" if integer else "float", lo, hi, default)


def _str(choices: tuple[str, ...], default: Any = _REQUIRED):
    return ("str", choices, None, default)


# table -> key -> spec. Keys with a default are optional: the loader fills them in, so
# every consumer sees the full table. Sources of the defaults: docs/models.md.
_SCHEMA: dict[str, dict[str, tuple]] = {
    "power": {
        "panel_area_m2": _num(0, 10000),
        "panel_efficiency": _num(0, 1),
        "battery_capacity_wh": _num(1, 1e7),
        "battery_soc_floor": _num(0, 0.9),
        "battery_initial_soc": _num(0, 1),
        "battery_max_charge_w": _num(0, 1e7),
        "battery_max_discharge_w": _num(0, 1e7),
        "housekeeping_w": _num(0, 1e6),
        "panel_temp_coeff_per_k": _num(-0.05, 0.05, default=-0.0022),
        "panel_degradation_per_year": _num(0, 0.99, default=0.0275),
        "panel_age_years": _num(0, 50, default=0.0),
        "panel_pointing": _str(("sun-tracking", "body-fixed"), default="sun-tracking"),
        # body-fixed panels: the cells' normal in the nadir-pointing body frame (sim/attitude.py:
        # +x along track, +y anti orbit normal, +z nadir); [0, 0, -1] faces zenith
        "panel_normal_body": ("vec3", None, None, [0.0, 0.0, -1.0]),
        "battery_charge_min_c": _num(-60, 100, default=0.0),
        "battery_charge_max_c": _num(-60, 100, default=45.0),
        "battery_discharge_min_c": _num(-60, 100, default=-20.0),
        "battery_discharge_max_c": _num(-60, 100, default=60.0),
        "battery_cycles_at_full_dod": _num(1, 1e7, default=2000.0),
        "battery_dod_exponent": _num(0.1, 5, default=1.7),
        "battery_eol_capacity_fraction": _num(0.01, 1, default=0.8),
    },
    "thermal": {
        "radiator_area_m2": _num(0.01, 10000),
        "radiator_emissivity": _num(0.01, 1),
        "board_limit_c": _num(-50, 200),
        "board_cap_start_c": _num(-50, 200),
        "board_min_c": _num(-150, 100),
        "board_trip_c": _num(-50, 250),
        "initial_temp_c": _num(-150, 150),
        "radiator_absorbed_w": _num(0, 1e6),
        "louver_closed_emissivity": _num(0.01, 1),
        "louver_closed_below_c": _num(-150, 150),
        "louver_open_above_c": _num(-150, 150),
        "radiator_absorptivity": _num(0, 1, default=0.2),
        "radiator_normal": _str(("edge-on", "zenith", "nadir", "anti-sun"), default="edge-on"),
        "radiator_heat_capacity_j_per_k": _num(1, 1e9, default=1.5e5),
        "boards_per_plate": _num(1, 256, integer=True, default=4),
        "board_to_plate_w_per_k": _num(0.01, 1e6, default=100.0),
        "plate_to_radiator_w_per_k": _num(0.01, 1e6, default=400.0),
        "battery_radiator_area_m2": _num(0.001, 1000, default=0.6),
        "battery_radiator_emissivity": _num(0.01, 1, default=0.85),
        "battery_to_radiator_w_per_k": _num(0.01, 1e6, default=20.0),
        "plate_heater_on_below_c": _num(-150, 150, default=-10.0),
        "plate_heater_off_above_c": _num(-150, 150, default=-5.0),
        "plate_heater_power_w": _num(0, 1e5, default=100.0),
        "battery_heater_on_below_c": _num(-150, 150, default=5.0),
        "battery_heater_off_above_c": _num(-150, 150, default=10.0),
        "battery_heater_power_w": _num(0, 1e5, default=120.0),
    },
    "boards": {
        "count": _num(1, 1024, integer=True),
        "max_power_w": _num(1, 1e5),
        "min_power_w": _num(0.1, 1e5),
        "idle_power_w": _num(0, 1e5),
        "throughput_exponent": _num(0.01, 1),
        "boot_s": _num(0, 3600, default=60.0),
        "boot_power_w": _num(0, 1e5, default=150.0),
        "hung_power_w": _num(0, 1e5, default=100.0),
        "max_operating_c": _num(-50, 200, default=87.0),
        "slowdown_c": _num(-50, 200, default=89.0),
        "shutdown_c": _num(-50, 250, default=92.0),
        "cold_limit_c": _num(-150, 100, default=0.0),
        "slowdown_clock_frac": _num(0.01, 1, default=0.5),
        # boards failed from the epoch (indices in [0, count)): a degraded satellite
        "failed": ("indices", None, None, []),
    },
    "radiation": {
        "sdc_per_active_board_hour": _num(0, 1e3, default=1e-4),
        "sefi_per_powered_board_hour": _num(0, 1e3, default=1e-4),
        "fail_per_board_hour": _num(0, 1e3, default=5e-6),
        "saa_multiplier": _num(1, 1e4, default=10.0),  # rates x this over the South Atlantic Anomaly
    },
    "sensors": {
        "board_temp_sigma_c": _num(0, 100, default=0.25),
        "board_power_sigma_w": _num(0, 1e4, default=2.0),
        "solar_power_sigma_w": _num(0, 1e5, default=5.0),
        "battery_soc_sigma": _num(0, 0.5, default=0.002),
        "radiator_temp_sigma_c": _num(0, 100, default=0.25),
        "load_sigma_w": _num(0, 1e5, default=5.0),
        "sunlit_fraction_sigma": _num(0, 1, default=0.002),
    },
    "link": {
        "loss_probability": _num(0, 1),
        "bit_errors": _str(("none", "elevation"), default="elevation"),
        "ebn0_zenith_db": _num(-10, 100, default=22.0),
    },
    "workload": {
        "seed": _num(0, 2**32 - 1, integer=True),
        "jobs_per_hour": _num(0, 10000),
        "backlog_jobs": _num(0, 100000, integer=True),
        "deadline_fraction": _num(0, 1),
        "deadline_min_h": _num(0, 1000),
        "deadline_max_h": _num(0, 1000),
        "matmul_fraction": _num(0, 1),
        "median_work_gpu_s": _num(1, 1e7),
        "checkpoint_interval_s": _num(0, 1e6),
        # synthetic jobs protected by dual execution on two sets of boards (matmul has ABFT)
        "dual_fraction": _num(0, 1, default=0.25),
        # bursts: every burst_every_h hours (the first at burst_every_h) burst_jobs more jobs
        # are released at once; 0 (either) = none. Drawn from their own stream (sim/workload.py)
        "burst_every_h": _num(0, 1000, default=0.0),
        "burst_jobs": _num(0, 10000, integer=True, default=0),
    },
}
_STATION = {
    "lat_deg": _num(-90, 90),
    "lon_deg": _num(-180, 360),
    "alt_m": _num(-500, 10000),
    "min_elevation_deg": _num(-5, 90),
    "downlink_bps": _num(0, 1e12),
    "uplink_bps": _num(0, 1e12),
    # optional: this station's frame loss; without it, link.loss_probability applies
    "loss_probability": _num(0, 1, default=None),
}


@dataclass(frozen=True)
class Scenario:
    """A validated scenario. ``data`` is the merged TOML tree (plain dicts)."""

    name: str
    data: dict

    def __getitem__(self, key: str) -> Any:
        return self.data[key]

    @property
    def epoch_utc(self):
        return parse_epoch_utc(self.data["epoch_utc"])

    @property
    def tick_s(self) -> float:
        return float(self.data["tick_s"])


def builtin_names() -> list[str]:
    return sorted(
        p.name[:-5] for p in resources.files("sim.scenarios").iterdir() if p.name.endswith(".toml")
    )


def _read_builtin(name: str) -> dict:
    if name not in builtin_names():
        raise ScenarioError(f"base: expected one of {builtin_names()}, got {name!r}")
    return tomllib.loads(resources.files("sim.scenarios").joinpath(f"{name}.toml").read_text())


def _merge(base: dict, over: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in over.items():
        if isinstance(v, dict) and isinstance(out.get(k), dict):
            out[k] = _merge(out[k], v)
        else:
            out[k] = copy.deepcopy(v)
    return out


def _check_value(where: str, value: Any, spec: tuple) -> float | int | str:
    kind, lo, hi, _default = spec
    if kind == "indices":
        ok = (isinstance(value, list) and all(type(x) is int and x >= 0 for x in value)
              and len(set(value)) == len(value))
        if not ok:
            raise ScenarioError(f"{where}: expected a list of unique board indices (integers >= 0), "
                                f"got {value!r}")
        return value
    if kind == "vec3":
        ok = (isinstance(value, list) and len(value) == 3
              and all(type(x) in (int, float) and math.isfinite(x) for x in value)
              and any(x != 0 for x in value))
        if not ok:
            raise ScenarioError(f"{where}: expected 3 finite numbers, not all zero, got {value!r}")
        return value
    if kind == "str":
        if value not in lo:
            raise ScenarioError(f"{where}: expected one of {list(lo)}, got {value!r}")
        return value
    if kind == "int":
        if type(value) is not int:
            raise ScenarioError(f"{where}: expected an integer in [{lo}, {hi}], got {value!r}")
    elif type(value) not in (int, float):
        raise ScenarioError(f"{where}: expected a number in [{lo}, {hi}], got {value!r}")
    if not lo <= value <= hi:
        raise ScenarioError(f"{where}: expected a number in [{lo}, {hi}], got {value!r}")
    return value


def _validate(data: dict) -> None:
    known = set(_SCHEMA) | {"name", "base", "epoch_utc", "tick_s", "ground_stations", "description",
                            "orbit"}
    for key in data:
        if key not in known:
            raise ScenarioError(f"{key}: unknown key; expected one of {sorted(known)}")
    try:
        parse_epoch_utc(data.get("epoch_utc", ""))
    except (ValueError, TypeError) as exc:
        raise ScenarioError(f"epoch_utc: {exc}") from None
    tick = data.get("tick_s", 1.0)
    if type(tick) not in (int, float) or not 0.1 <= tick <= 60:
        raise ScenarioError(f"tick_s: expected a number of seconds in [0.1, 60], got {tick!r}")
    try:
        validate_orbit_table(data.get("orbit"))
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    for table, keys in _SCHEMA.items():
        if table not in data and all(spec[3] is not _REQUIRED for spec in keys.values()):
            data[table] = {}
        sect = data.get(table)
        if not isinstance(sect, dict):
            raise ScenarioError(f"[{table}]: expected a table, got {type(sect).__name__}")
        for key in sect:
            if key not in keys:
                raise ScenarioError(f"{table}.{key}: unknown key; expected one of {sorted(keys)}")
        for key, spec in keys.items():
            if key not in sect:
                if spec[3] is not _REQUIRED:
                    sect[key] = copy.deepcopy(spec[3])  # a list default is never shared
                    continue
                raise ScenarioError(f"{table}.{key}: missing; expected a number in [{spec[1]}, {spec[2]}]")
            _check_value(f"{table}.{key}", sect[key], spec)
    stations = data.get("ground_stations")
    if not isinstance(stations, list) or not stations:
        raise ScenarioError("ground_stations: expected at least one [[ground_stations]] table")
    for i, st in enumerate(stations):
        where = f"ground_stations[{i}]"
        if not isinstance(st, dict):
            raise ScenarioError(f"{where}: expected a table, got {type(st).__name__}")
        name = st.get("name")
        if not isinstance(name, str) or not 1 <= len(name) <= 32:
            raise ScenarioError(f"{where}.name: expected a string of 1..32 characters, got {name!r}")
        for key in st:
            if key != "name" and key not in _STATION:
                raise ScenarioError(f"{where}.{key}: unknown key; expected one of {sorted(_STATION)}")
        for key, spec in _STATION.items():
            if key not in st:
                if spec[3] is not _REQUIRED:
                    continue
                raise ScenarioError(f"{where}.{key}: missing")
            _check_value(f"{where}.{key}", st[key], spec)
    b, t, p, w = data["boards"], data["thermal"], data["power"], data["workload"]
    if not b["idle_power_w"] < b["min_power_w"] <= b["max_power_w"]:
        raise ScenarioError(
            "boards: expected idle_power_w < min_power_w <= max_power_w, got "
            f"{b['idle_power_w']}, {b['min_power_w']}, {b['max_power_w']}"
        )
    if not t["board_cap_start_c"] < t["board_limit_c"] < t["board_trip_c"]:
        raise ScenarioError(
            "thermal: expected board_cap_start_c < board_limit_c < board_trip_c, got "
            f"{t['board_cap_start_c']}, {t['board_limit_c']}, {t['board_trip_c']}"
        )
    if not t["louver_closed_below_c"] < t["louver_open_above_c"]:
        raise ScenarioError(
            "thermal: expected louver_closed_below_c < louver_open_above_c, got "
            f"{t['louver_closed_below_c']}, {t['louver_open_above_c']}"
        )
    if t["louver_closed_emissivity"] > t["radiator_emissivity"]:
        raise ScenarioError(
            f"thermal.louver_closed_emissivity: expected <= radiator_emissivity "
            f"({t['radiator_emissivity']}), got {t['louver_closed_emissivity']}"
        )
    if not b["max_operating_c"] <= b["slowdown_c"] < b["shutdown_c"]:
        raise ScenarioError(
            "boards: expected max_operating_c <= slowdown_c < shutdown_c, got "
            f"{b['max_operating_c']}, {b['slowdown_c']}, {b['shutdown_c']}"
        )
    for h in ("plate", "battery"):
        if not t[f"{h}_heater_on_below_c"] < t[f"{h}_heater_off_above_c"]:
            raise ScenarioError(
                f"thermal.{h}_heater_off_above_c: expected above {h}_heater_on_below_c "
                f"({t[f'{h}_heater_on_below_c']}), got {t[f'{h}_heater_off_above_c']}"
            )
    if p["battery_initial_soc"] < p["battery_soc_floor"]:
        raise ScenarioError(
            f"power.battery_initial_soc: expected >= battery_soc_floor ({p['battery_soc_floor']}), "
            f"got {p['battery_initial_soc']}"
        )
    if w["deadline_min_h"] > w["deadline_max_h"]:
        raise ScenarioError("workload.deadline_min_h: expected <= deadline_max_h")
    if 0 < w["burst_every_h"] < MIN_BURST_EVERY_H:
        raise ScenarioError(f"workload.burst_every_h: expected 0 (no bursts) or >= {MIN_BURST_EVERY_H} h, "
                            f"got {w['burst_every_h']!r}")
    bad = [i for i in b["failed"] if i >= b["count"]]
    if bad:
        raise ScenarioError(f"boards.failed: expected board indices in [0, {b['count']}) (boards.count), "
                            f"got {b['failed']!r}")


def parse_scenario(text: str, origin: str = "<string>") -> Scenario:
    try:
        over = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: not valid TOML: {exc}") from None
    base_name = over.get("base")
    if base_name is not None:
        if not isinstance(base_name, str):
            raise ScenarioError(f"base: expected a built-in scenario name, got {base_name!r}")
        data = _merge(_read_builtin(base_name), {k: v for k, v in over.items() if k != "base"})
        if "ground_stations" in over:
            data["ground_stations"] = copy.deepcopy(over["ground_stations"])
        base_orbit = _read_builtin(base_name).get("orbit", {})
        over_orbit = over.get("orbit")
        if isinstance(over_orbit, dict) and ("tle" in over_orbit or "tle" in base_orbit):
            data["orbit"] = copy.deepcopy(over_orbit)  # a TLE and elements do not mix
    else:
        data = over
    data.setdefault("tick_s", 1.0)
    name = over.get("name", origin)  # a based file without a name is named after itself
    data["name"] = name
    if not isinstance(name, str):
        raise ScenarioError(f"name: expected a string, got {name!r}")
    _validate(data)
    return Scenario(name=name, data=data)


def scenario_from_dict(data: dict) -> Scenario:
    """A scenario from an already merged tree (how the harness ships it to processes)."""
    data = copy.deepcopy(data)
    data.setdefault("tick_s", 1.0)
    _validate(data)
    return Scenario(name=str(data.get("name", "scenario")), data=data)


def load_scenario(name_or_path: str) -> Scenario:
    """A built-in name (``default``) or a path to a TOML file."""
    if name_or_path in builtin_names():
        text = resources.files("sim.scenarios").joinpath(f"{name_or_path}.toml").read_text()
        return parse_scenario(text, name_or_path)
    path = Path(name_or_path)
    if not path.is_file():
        raise ScenarioError(
            f"scenario: expected a built-in name {builtin_names()} or a TOML file, got {name_or_path!r}"
        )
    sc = parse_scenario(path.read_text(), path.stem)
    return sc
