"""The environment along the run, sampled once per tick up front (vectorised): where the
satellite is, how much of the Sun it sees, and which ground station (if any) is in contact.
The world reads these tables per tick, so a simulated day costs one numpy pass instead of
86,400 ephemeris evaluations.

Models: the orbit is ``sim.orbit.make_orbit`` (SGP4 from a TLE or from circular elements),
the Sun ``sim.sun``, the shadow the conical model of ``sim.eclipse`` (umbra and penumbra:
``sunlit`` is continuous in 0..1), the stations ``sim.groundstation``. What each leaves out
is said there. ``eclipses_json`` and ``passes_json`` are the ``sim eclipses`` and ``sim
passes`` outputs (DESIGN.md section 10), with edges refined to the millisecond.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import numpy as np

from sim.constants import AU_M
from sim.eclipse import (
    ECLIPSE_SAMPLE_STEP_S,
    eclipse_events,
    shadow_kind,
    sunlit_fraction_conical,
)
from sim.groundstation import elevation_deg, passes_refined, station_eci_m
from sim.orbit import Orbit, make_orbit
from sim.scenario import Scenario
from sim.sun import sun_dir_eci, sun_distance_au
from sim.timescale import julian_date_utc

__all__ = ["Environment", "compute_environment", "orbit_of", "eclipses_json", "passes_json"]


@dataclass(frozen=True)
class Environment:
    """Per-tick tables; T ticks, S stations. Frames: ECI = true equator and equinox of date."""

    t_s: np.ndarray  # (T,) [s since the scenario epoch]
    sunlit: np.ndarray  # (T,) fraction of the sun's disc seen, 0..1 (conical shadow)
    sun_distance_au: np.ndarray  # (T,) [AU]
    contact: np.ndarray  # (T,) int: index into stations, -1 = none
    elevation_deg: np.ndarray  # (S, T) [deg]
    stations: tuple[dict, ...]
    r_eci_m: np.ndarray  # (T, 3) satellite position [m]
    sun_dir_eci: np.ndarray  # (T, 3) unit vector from the Earth's centre to the Sun
    shadow: np.ndarray  # (T,) int8: 0 none, 1 penumbra, 2 umbra (sim.eclipse.SHADOW_*)


def orbit_of(sc: Scenario) -> Orbit:
    """The scenario's orbit, t_s counted from ``sc.epoch_utc`` (``sim.orbit.make_orbit``)."""
    return make_orbit(sc["orbit"], sc.epoch_utc)


def compute_environment(sc: Scenario, n_ticks: int) -> Environment:
    """Environment tables for ticks 0..n_ticks-1 (t_s = tick * sc.tick_s).

    Raises ValueError for a bad ``[orbit]`` table or an orbit SGP4 cannot propagate over
    the run (for example one that decays), naming the time.
    """
    t_s = np.arange(n_ticks, dtype=float) * sc.tick_s
    jd = julian_date_utc(sc.epoch_utc, t_s)
    r = orbit_of(sc).position_eci_m(t_s)
    sun_dir = sun_dir_eci(jd)
    distance_au = np.asarray(sun_distance_au(jd), dtype=float)
    sun_pos_m = sun_dir * (distance_au * AU_M)[:, None]
    sunlit = sunlit_fraction_conical(r, sun_pos_m)
    shadow = shadow_kind(r, sun_pos_m)
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
    return Environment(
        t_s=t_s,
        sunlit=np.asarray(sunlit, dtype=float),
        sun_distance_au=distance_au,
        contact=contact,
        elevation_deg=elev,
        stations=stations,
        r_eci_m=r,
        sun_dir_eci=sun_dir,
        shadow=shadow,
    )


def _utc(sc: Scenario, t_s: float) -> str:
    """ISO 8601 UTC with milliseconds and a Z, e.g. '2026-12-01T00:26:40.038Z'."""
    when = sc.epoch_utc + timedelta(milliseconds=round(float(t_s) * 1000.0))
    return when.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"


def eclipses_json(sc: Scenario, hours: float, step_s: float = ECLIPSE_SAMPLE_STEP_S) -> list[dict]:
    """[{start_utc, end_utc, kind}] for the first ``hours`` of the scenario, in time order.

    kind is "penumbra" or "umbra" (``sim.eclipse.eclipse_events``); a usual eclipse is three
    entries, penumbra - umbra - penumbra, whose edges meet. ``step_s`` is the coarse search
    step [s] before the edges are refined to < 1 ms.
    """
    events = eclipse_events(orbit_of(sc), sc.epoch_utc, hours, step_s=step_s)
    return [{"start_utc": _utc(sc, a), "end_utc": _utc(sc, b), "kind": kind}
            for a, b, kind in events]


def passes_json(sc: Scenario, hours: float) -> list[dict]:
    """[{station, aos_utc, los_utc, max_elev_deg}] for every station, sorted by AOS.

    From ``sim.groundstation.passes_refined``: AOS and LOS at each station's elevation mask
    to < 10 ms, max_elev_deg rounded to 0.001 deg.
    """
    orbit = orbit_of(sc)
    out = []
    for st in sc["ground_stations"]:
        for p in passes_refined(orbit, st, sc.epoch_utc, hours):
            out.append({"station": st["name"], "aos_utc": _utc(sc, p.aos_s),
                        "los_utc": _utc(sc, p.los_s), "max_elev_deg": round(p.max_elev_deg, 3)})
    return sorted(out, key=lambda d: d["aos_utc"])
