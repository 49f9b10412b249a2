"""The environment along the run, sampled once per tick up front (vectorised): sunlight
and which ground station (if any) is in contact. The world reads these tables per tick,
so a simulated day costs one numpy pass instead of 86,400 ephemeris evaluations.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from sim.eclipse import eclipse_intervals, sunlit_fraction_cylindrical
from sim.groundstation import Pass, elevation_deg, find_passes, station_eci_m
from sim.orbit import CircularOrbit
from sim.scenario import Scenario
from sim.sun import sun_dir_eci, sun_distance_au
from sim.timescale import julian_date_utc

__all__ = ["Environment", "compute_environment", "orbit_of", "eclipses_json", "passes_json"]


@dataclass(frozen=True)
class Environment:
    t_s: np.ndarray  # (T,) [s since epoch]
    sunlit: np.ndarray  # (T,) fraction of the sun's disc seen, 0..1
    sun_distance_au: np.ndarray  # (T,)
    contact: np.ndarray  # (T,) int: index into stations, -1 = none
    elevation_deg: np.ndarray  # (S, T)
    stations: tuple[dict, ...]


def orbit_of(sc: Scenario) -> CircularOrbit:
    o = sc["orbit"]
    return CircularOrbit(o["altitude_km"], o["inclination_deg"], o["raan_deg"], o["arg_lat_deg"])


def compute_environment(sc: Scenario, n_ticks: int) -> Environment:
    t_s = np.arange(n_ticks, dtype=float) * sc.tick_s
    jd = julian_date_utc(sc.epoch_utc, t_s)
    r = orbit_of(sc).position_eci_m(t_s)
    sunlit = sunlit_fraction_cylindrical(r, sun_dir_eci(jd))
    stations = tuple(sc["ground_stations"])
    elev = np.empty((len(stations), n_ticks))
    for i, st in enumerate(stations):
        rs = station_eci_m(st["lat_deg"], st["lon_deg"], st["alt_m"], jd)
        elev[i] = elevation_deg(r, rs, st["lat_deg"], st["lon_deg"], jd)
    contact = np.full(n_ticks, -1, dtype=np.int64)
    best = np.full(n_ticks, -np.inf)
    for i, st in enumerate(stations):  # the highest station above its mask wins
        visible = (elev[i] >= st["min_elevation_deg"]) & (elev[i] > best)
        contact[visible] = i
        best[visible] = elev[i][visible]
    return Environment(t_s, np.asarray(sunlit, dtype=float), np.asarray(sun_distance_au(jd)),
                       contact, elev, stations)


def _utc(sc: Scenario, t_s: float) -> str:
    return (sc.epoch_utc + timedelta(seconds=float(t_s))).strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def eclipses_json(sc: Scenario, hours: float, step_s: float = 1.0) -> list[dict]:
    env = compute_environment(sc, int(hours * 3600 / step_s))
    return [
        {"start_utc": _utc(sc, a), "end_utc": _utc(sc, b), "kind": "umbra"}
        for a, b in eclipse_intervals(env.t_s * step_s / sc.tick_s, env.sunlit)
    ]


def passes_json(sc: Scenario, hours: float) -> list[dict]:
    env = compute_environment(sc, int(hours * 3600 / sc.tick_s))
    out = []
    for i, st in enumerate(env.stations):
        for p in find_passes(env.elevation_deg[i], env.t_s, st["min_elevation_deg"]):
            out.append({"station": st["name"], "aos_utc": _utc(sc, p.aos_s), "los_utc": _utc(sc, p.los_s),
                        "max_elev_deg": round(p.max_elev_deg, 3)})
    return sorted(out, key=lambda d: d["aos_utc"])


_ = Pass
