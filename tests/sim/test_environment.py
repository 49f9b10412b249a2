import copy
import re
from datetime import datetime

import numpy as np
import pytest

from sim.eclipse import SHADOW_NONE, SHADOW_PENUMBRA, SHADOW_UMBRA
from sim.environment import compute_environment, eclipses_json, orbit_of, passes_json
from sim.orbit import make_orbit
from sim.scenario import Scenario, load_scenario
from sim.tle import tle_from_circular

N_TICKS = 4 * 3600  # four hours at the default 1 s tick: more than two orbits
UTC_MS_RE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
ONE_MILLIMETRE_M = 1e-3
UNIT_TOLERANCE = 1e-12


@pytest.fixture(scope="module")
def default_sc() -> Scenario:
    return load_scenario("default")


@pytest.fixture(scope="module")
def default_env(default_sc: Scenario):
    return compute_environment(default_sc, N_TICKS)


def _tle_scenario(sc: Scenario) -> Scenario:
    """The default scenario with its orbit given as a TLE (built directly: scenario.py may
    not accept ``tle`` yet)."""
    data = copy.deepcopy(sc.data)
    o = data["orbit"]
    data["orbit"] = {"tle": list(tle_from_circular(o["altitude_km"], o["inclination_deg"],
                                                   o["raan_deg"], o["arg_lat_deg"], sc.epoch_utc))}
    return Scenario(name="default-tle", data=data)


def test_environment_tables_have_one_row_per_tick(default_env) -> None:
    t_count = N_TICKS
    assert default_env.r_eci_m.shape == (t_count, 3), f"r_eci_m {default_env.r_eci_m.shape}"
    assert default_env.sun_dir_eci.shape == (t_count, 3), "sun_dir_eci shape"
    assert default_env.shadow.shape == (t_count,) and default_env.shadow.dtype == np.int8, (
        "shadow must be (T,) int8"
    )
    for name in ("t_s", "sunlit", "sun_distance_au", "contact"):
        assert getattr(default_env, name).shape == (t_count,), f"{name} shape"
    assert default_env.elevation_deg.shape == (len(default_env.stations), t_count), "elevation"


def test_position_is_the_scenario_orbit_at_each_tick(default_sc: Scenario, default_env) -> None:
    expected = make_orbit(default_sc["orbit"], default_sc.epoch_utc).position_eci_m(default_env.t_s)
    assert np.allclose(default_env.r_eci_m, expected, rtol=0.0, atol=ONE_MILLIMETRE_M), (
        "r_eci_m is not make_orbit's position"
    )


def test_sun_direction_is_a_unit_vector(default_env) -> None:
    norms = np.linalg.norm(default_env.sun_dir_eci, axis=-1)
    assert np.allclose(norms, 1.0, rtol=0.0, atol=UNIT_TOLERANCE), "sun_dir_eci is not unit"


def test_sunlit_is_continuous_and_agrees_with_the_shadow_kind(default_env) -> None:
    sunlit, shadow = default_env.sunlit, default_env.shadow
    assert np.all((sunlit >= 0.0) & (sunlit <= 1.0)), "sunlit left [0, 1]"
    assert np.all(sunlit[shadow == SHADOW_NONE] == 1.0), "unshadowed tick not fully lit"
    assert np.all(sunlit[shadow == SHADOW_UMBRA] == 0.0), "umbra tick sees the Sun"
    partial = sunlit[shadow == SHADOW_PENUMBRA]
    assert partial.size > 0, "no penumbra tick in four hours"
    assert np.all((partial > 0.0) & (partial < 1.0)), "penumbra tick fully lit or dark"


def test_contact_is_the_highest_station_above_its_mask(default_env) -> None:
    for tick in np.flatnonzero(default_env.contact >= 0):
        i = default_env.contact[tick]
        mask = default_env.stations[i]["min_elevation_deg"]
        assert default_env.elevation_deg[i, tick] >= mask, f"tick {tick}: contact below mask"
    none = default_env.contact < 0
    masks = np.array([st["min_elevation_deg"] for st in default_env.stations])[:, None]
    assert not np.any((default_env.elevation_deg >= masks)[:, none]), "missed a contact"


def test_a_scenario_orbit_given_as_a_tle_gives_the_same_environment(default_sc, default_env) -> None:
    env = compute_environment(_tle_scenario(default_sc), N_TICKS)
    assert np.allclose(env.r_eci_m, default_env.r_eci_m, rtol=0.0, atol=ONE_MILLIMETRE_M), (
        "the TLE of the same circular elements gives another orbit"
    )
    assert np.array_equal(env.shadow, default_env.shadow), "shadow differs"


def test_an_environment_of_no_ticks_is_empty(default_sc: Scenario) -> None:
    env = compute_environment(default_sc, 0)
    assert env.r_eci_m.shape == (0, 3) and env.sunlit.shape == (0,), "empty run not empty"


def test_orbit_of_is_make_orbit_of_the_scenario(default_sc: Scenario) -> None:
    got = orbit_of(default_sc).position_eci_m(600.0)
    expected = make_orbit(default_sc["orbit"], default_sc.epoch_utc).position_eci_m(600.0)
    assert np.array_equal(got, expected), "orbit_of differs from make_orbit"


def _parse_utc(text: str) -> datetime:
    assert UTC_MS_RE.match(text), f"{text!r} is not ISO 8601 UTC with milliseconds and a Z"
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def test_eclipses_json_lists_penumbra_and_umbra_with_millisecond_utc(default_sc) -> None:
    eclipses = eclipses_json(default_sc, hours=4.0)
    assert {e["kind"] for e in eclipses} == {"penumbra", "umbra"}, "kinds"
    for e in eclipses:
        assert set(e) == {"start_utc", "end_utc", "kind"}, f"keys {set(e)}"
        assert _parse_utc(e["start_utc"]) < _parse_utc(e["end_utc"]), f"empty interval {e}"
    starts = [_parse_utc(e["start_utc"]) for e in eclipses]
    assert starts == sorted(starts), "eclipses not in time order"


def test_eclipses_json_agrees_with_the_per_tick_shadow(default_sc, default_env) -> None:
    for e in eclipses_json(default_sc, hours=N_TICKS / 3600.0):
        start_s = (_parse_utc(e["start_utc"]) - default_sc.epoch_utc).total_seconds()
        end_s = (_parse_utc(e["end_utc"]) - default_sc.epoch_utc).total_seconds()
        inside = (default_env.t_s > start_s + 0.01) & (default_env.t_s < end_s - 0.01)
        code = SHADOW_UMBRA if e["kind"] == "umbra" else SHADOW_PENUMBRA
        assert np.all(default_env.shadow[inside] == code), f"ticks inside {e} disagree"


def test_passes_json_lists_station_passes_in_aos_order(default_sc) -> None:
    passes = passes_json(default_sc, hours=24.0)
    assert passes, "no pass over the default station in a day"
    names = {st["name"] for st in default_sc["ground_stations"]}
    for p in passes:
        assert set(p) == {"station", "aos_utc", "los_utc", "max_elev_deg"}, f"keys {set(p)}"
        assert p["station"] in names, f"unknown station {p['station']}"
        assert _parse_utc(p["aos_utc"]) < _parse_utc(p["los_utc"]), f"empty pass {p}"
        assert 0.0 < p["max_elev_deg"] <= 90.0, f"peak {p['max_elev_deg']}"
    assert [p["aos_utc"] for p in passes] == sorted(p["aos_utc"] for p in passes), "order"
