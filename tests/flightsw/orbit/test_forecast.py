"""The onboard eclipse forecaster against the simulator's truth, and its cache.

Truth is ``sim.eclipse.eclipse_events`` (conical umbra and penumbra, SGP4 in the true
equator of date, edges to 0.1 ms) for the same TLE the flight side is uplinked
(``sim.tle.tle_from_circular`` of the scenario's circular elements). Tests may import sim;
flightsw may not.

Measured (sgp4 2.27, 24 h from 2026-12-01T00:00Z, step_s 30, no margin), predicted minus
truth umbra edge:
- default (550 km, 53 deg, low beta): entry -4.31 to -4.27 s, exit +4.33 to +4.37 s
- sso-dawn-dusk (650 km, 98 deg, beta near 66 deg: the track crosses the shadow edge
  obliquely, so the cylinder-to-cone gap is wider in time): entry -15.0 to -14.8 s, exit
  +14.6 to +14.9 s
Every predicted edge falls inside the penumbra, so the tolerances are ~2x those figures.
"""

from __future__ import annotations

import copy
from dataclasses import dataclass

import numpy as np
import pytest

from flightsw.orbit import EclipseForecaster, EclipseWindow, OrbitError
from flightsw.orbit.tle import tle_checksum
from sim.eclipse import eclipse_events
from sim.environment import orbit_of
from sim.scenario import Scenario, load_scenario, scenario_from_dict
from sim.tle import tle_from_circular

EDGE_TOLERANCE_S = 10.0  # default scenario: |predicted - truth umbra edge|, measured max 4.4 s
SSO_EDGE_TOLERANCE_S = 30.0  # sso-dawn-dusk in eclipse season, measured max 15.0 s
PENUMBRA_SLACK_S = 0.5  # a predicted edge may lie this far outside truth's penumbra [s]
MAX_RECOMPUTES_PER_DAY = 20  # one per orbit (15.1 orbits/day) plus the first
DAY_S = 86400.0
NS = 1_000_000_000


@dataclass(frozen=True)
class Truth:
    line1: str
    line2: str
    epoch_utc: str
    umbra_s: list[tuple[float, float]]  # (start, end), cut at 0 and DAY_S
    penumbra_s: list[tuple[float, float]]  # whole shadow (penumbra + umbra) intervals


def _truth(sc: Scenario) -> Truth:
    orbit = sc["orbit"]
    line1, line2 = tle_from_circular(orbit["altitude_km"], orbit["inclination_deg"],
                                     orbit["raan_deg"], orbit.get("arg_lat_deg", 0.0),
                                     sc.epoch_utc)
    events = eclipse_events(orbit_of(sc), sc.epoch_utc, DAY_S / 3600.0)
    umbra = [(a, b) for a, b, kind in events if kind == "umbra"]
    shadow: list[tuple[float, float]] = []  # merge penumbra-umbra-penumbra runs, which meet
    for a, b, _ in events:
        if shadow and a == shadow[-1][1]:
            a = shadow.pop()[0]
        shadow.append((a, b))
    return Truth(line1, line2, str(sc["epoch_utc"]), umbra, shadow)


@pytest.fixture(scope="module")
def default() -> Truth:
    return _truth(load_scenario("default"))


@pytest.fixture(scope="module")
def sso() -> Truth:
    return _truth(load_scenario("sso-dawn-dusk"))


def _forecaster(truth: Truth, **kw: float) -> EclipseForecaster:
    return EclipseForecaster(truth.line1, truth.line2, truth.epoch_utc, **kw)


def _edge_errors_s(truth: Truth, windows: list[EclipseWindow]) -> tuple[list[float], list[float]]:
    """Predicted minus truth, for entries and exits not cut by the day's ends."""
    entries = [w.start_ns / NS - a for w, (a, _) in zip(windows, truth.umbra_s, strict=True)
               if a > 0.0]
    exits = [w.end_ns / NS - b for w, (_, b) in zip(windows, truth.umbra_s, strict=True)
             if b < DAY_S]
    return entries, exits


# ------------------------------------------------------------------ against truth


def test_default_scenario_has_as_many_eclipses_as_truth_in_a_day(default: Truth) -> None:
    windows = _forecaster(default).next_eclipses(0, DAY_S)
    assert len(windows) == len(default.umbra_s) == 16, (
        f"forecast {len(windows)} eclipses, truth {len(default.umbra_s)}"
    )


def test_default_scenario_edges_match_truth_within_tolerance(default: Truth) -> None:
    entries, exits = _edge_errors_s(default, _forecaster(default).next_eclipses(0, DAY_S))
    worst = max(map(abs, entries + exits))
    assert worst < EDGE_TOLERANCE_S, f"an edge is {worst:.2f} s from truth's umbra edge"


def test_forecast_covers_the_umbra_and_stays_inside_the_penumbra(default: Truth) -> None:
    windows = _forecaster(default).next_eclipses(0, DAY_S)
    for w, (ua, ub), (pa, pb) in zip(windows, default.umbra_s, default.penumbra_s, strict=True):
        start_s, end_s = w.start_ns / NS, w.end_ns / NS
        assert start_s <= ua and end_s >= ub, f"{w} does not cover the umbra ({ua}, {ub})"
        assert start_s >= pa - PENUMBRA_SLACK_S or pa == 0.0, f"{w} starts before the penumbra"
        assert end_s <= pb + PENUMBRA_SLACK_S or pb == DAY_S, f"{w} ends after the penumbra"


def test_dawn_dusk_orbit_in_eclipse_season_matches_truth(sso: Truth) -> None:
    windows = _forecaster(sso).next_eclipses(0, DAY_S)
    assert len(windows) == len(sso.umbra_s) > 0, (
        f"forecast {len(windows)} eclipses, truth {len(sso.umbra_s)}"
    )
    entries, exits = _edge_errors_s(sso, windows)
    worst = max(map(abs, entries + exits))
    assert worst < SSO_EDGE_TOLERANCE_S, f"an edge is {worst:.2f} s from truth's umbra edge"


def test_dawn_dusk_orbit_out_of_season_forecasts_no_eclipse() -> None:
    data = copy.deepcopy(load_scenario("sso-dawn-dusk").data)
    # June solstice: the Sun's right ascension is ~90 deg, so a node at 0 deg puts the
    # orbit plane on the terminator (as raan 157 deg does for the built-in epoch)
    data.update(name="sso-june", epoch_utc="2026-06-21T00:00:00Z")
    data["orbit"]["raan_deg"] = 0.0
    truth = _truth(scenario_from_dict(data))
    assert truth.umbra_s == [], "the reference case should have no eclipse"
    f = _forecaster(truth)
    assert f.next_eclipses(0, DAY_S) == []
    assert not f.in_eclipse(12 * 3600 * NS)
    assert f.sunlit_profile(0, DAY_S, 60.0).all(), "predicted darkness in an eclipse-free day"


# ------------------------------------------------------------------ queries and cache


def test_per_second_queries_over_a_day_recompute_about_once_an_orbit(default: Truth) -> None:
    f = _forecaster(default)
    for t_s in range(int(DAY_S)):
        f.in_eclipse(t_s * NS)
        f.next_eclipses(t_s * NS, 3600.0)
    stats = f.statistics()
    assert stats.queries == 2 * int(DAY_S)
    assert stats.recomputes <= MAX_RECOMPUTES_PER_DAY, f"{stats.recomputes} recomputes in a day"


def test_answers_do_not_depend_on_the_cache_history(default: Truth) -> None:
    stepped = _forecaster(default)
    dark_stepped = [stepped.in_eclipse(t_s * NS) for t_s in range(0, int(DAY_S), 10)]
    one_shot = _forecaster(default).sunlit_profile(0, DAY_S - 10.0, 10.0)
    assert len(one_shot) == len(dark_stepped)
    mismatches = np.flatnonzero(one_shot == np.array(dark_stepped))
    assert mismatches.size == 0, f"per-step and one-shot answers differ at samples {mismatches}"


def test_an_eclipse_in_progress_is_returned_with_its_true_start(default: Truth) -> None:
    f = _forecaster(default)
    first = f.next_eclipses(0, DAY_S)[0]
    middle_ns = (first.start_ns + first.end_ns) // 2
    now = f.next_eclipses(middle_ns, 60.0)
    assert now == [first], f"at {middle_ns} ns got {now}, expected the eclipse in progress"
    assert f.in_eclipse(middle_ns)
    assert not f.in_eclipse(first.end_ns)


def test_the_first_eclipse_starts_before_the_epoch_when_the_day_begins_dark(default: Truth) -> None:
    assert default.umbra_s[0][0] == 0.0, "the default scenario begins in the umbra"
    first = _forecaster(default).next_eclipses(0, 60.0)[0]
    assert first.start_ns < 0 < first.end_ns


def test_edge_margin_pads_both_ends_of_every_eclipse(default: Truth) -> None:
    plain = _forecaster(default).next_eclipses(0, DAY_S)
    padded = _forecaster(default, edge_margin_s=60.0).next_eclipses(0, DAY_S)
    assert [(w.start_ns + 60 * NS, w.end_ns - 60 * NS) for w in padded] == [
        (w.start_ns, w.end_ns) for w in plain
    ]


def test_sunlit_profile_agrees_with_the_eclipse_list(default: Truth) -> None:
    f = _forecaster(default)
    profile = f.sunlit_profile(0, 3 * 3600.0, 1.0)
    assert profile.shape == (3 * 3600 + 1,) and profile.dtype == bool
    windows = f.next_eclipses(0, 3 * 3600.0)
    dark_s = sum(
        min(w.end_ns, 3 * 3600 * NS) / NS - max(w.start_ns, 0) / NS for w in windows
    )
    assert abs((~profile).sum() - dark_s) <= 2 * len(windows), "profile and windows disagree"


def test_durations_are_about_35_minutes_in_the_default_orbit(default: Truth) -> None:
    windows = _forecaster(default).next_eclipses(0, DAY_S)[1:-1]  # whole ones
    assert all(34 * 60 < w.duration_s < 37 * 60 for w in windows), [w.duration_s for w in windows]


def test_period_comes_from_the_mean_motion(default: Truth) -> None:
    n_rev_per_day = float(default.line2[52:63])
    assert _forecaster(default).period_s == pytest.approx(86400.0 / n_rev_per_day)


# ------------------------------------------------------------------ bad input


@pytest.mark.parametrize("epoch", ["2026-12-01T00:00:00", "1 Dec 2026", ""])
def test_an_epoch_without_a_zone_or_not_iso_is_rejected(default: Truth, epoch: str) -> None:
    with pytest.raises(OrbitError, match="epoch_utc: expected an ISO 8601 time with a zone"):
        EclipseForecaster(default.line1, default.line2, epoch)


@pytest.mark.parametrize(
    ("kw", "field"),
    [({"step_s": 0.0}, "step_s"), ({"step_s": float("nan")}, "step_s"),
     ({"horizon_s": 60.0}, "horizon_s"), ({"edge_margin_s": -1.0}, "edge_margin_s")],
)
def test_bad_parameters_are_rejected_by_name(default: Truth, kw: dict, field: str) -> None:
    with pytest.raises(OrbitError, match=f"^{field}: expected"):
        _forecaster(default, **kw)


@pytest.mark.parametrize("horizon_s", [-1.0, float("nan"), float("inf")])
def test_a_bad_query_horizon_is_rejected(default: Truth, horizon_s: float) -> None:
    with pytest.raises(OrbitError, match="^horizon_s: expected"):
        _forecaster(default).next_eclipses(0, horizon_s)


def test_an_orbit_sgp4_cannot_propagate_raises_naming_the_time() -> None:
    # a very low orbit with a huge drag term decays within hours
    body1 = "1 25544U 98067A   19343.69339541  .00001764  00000-0  50000-0 0  999"
    body2 = "2 25544  51.6439 211.2001 0007417  17.6667  85.6398 16.40000000202482"
    line1, line2 = body1 + str(tle_checksum(body1)), body2[:68] + str(tle_checksum(body2))
    f = EclipseForecaster(line1, line2, "2019-12-09T12:00:00Z")
    with pytest.raises(OrbitError, match=r"SGP4 cannot propagate TLE 25544 to t = [0-9.]+ s"):
        f.next_eclipses(0, 10 * DAY_S)
