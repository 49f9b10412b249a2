"""The simulated satellite and its environment as one bus participant ("world").

Each tick it applies the last actuator commands (board caps and the job each board
runs), advances the hardware by one tick (panels, battery, boards, thermal network, RF
link) and publishes sensor readings. The flight side sees only these readings.

Hardware protection that does not depend on flight software: a board above
``board_trip_c`` cuts its own power until it cools 10 K below the limit, and a battery
that cannot supply the load browns the boards out for that tick (both are counted as
violations: flight software should never let them happen).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from flightsw.icd.messages import (
    BoardCommand,
    BoardSensors,
    ContactState,
    DownlinkFrame,
    Message,
    PowerSensors,
    UplinkFrame,
)
from sim.battery import BatteryParams, step_battery
from sim.boards import BoardParams, board_power_w, work_gpu_s
from sim.environment import compute_environment
from sim.louvers import effective_emissivity
from sim.panels import panel_power_w
from sim.rflink import RfLink
from sim.scenario import Scenario, scenario_from_dict
from sim.thermal import ThermalParams, step_thermal

__all__ = ["World", "make", "RECORD_EVERY_TICKS"]

RECORD_EVERY_TICKS = 60
CONTACT_REPEAT_TICKS = 10
COMMS = "comms"
STATION = "station"


class World:
    name = "world"
    period_ticks = 1
    subscriptions = frozenset({BoardCommand.KIND, UplinkFrame.KIND, DownlinkFrame.KIND})

    def __init__(self, sc: Scenario, n_ticks: int, seed: int) -> None:
        self.sc = sc
        self.dt_s = sc.tick_s
        self.env = compute_environment(sc, n_ticks)
        p, t, b = sc["power"], sc["thermal"], sc["boards"]
        self.boards = BoardParams(b["count"], b["max_power_w"], b["min_power_w"], b["idle_power_w"],
                                  b["throughput_exponent"])
        self.battery = BatteryParams(capacity_wh=p["battery_capacity_wh"],
                                     max_charge_w=p["battery_max_charge_w"],
                                     max_discharge_w=p["battery_max_discharge_w"])
        self._thermal_by_eps: dict[float, ThermalParams] = {}
        n = b["count"]
        self.charge_wh = p["battery_initial_soc"] * p["battery_capacity_wh"]
        self.board_temp_c = np.full(n, float(t["initial_temp_c"]))
        self.radiator_temp_c = float(t["initial_temp_c"])
        self.cap_w = np.zeros(n)
        self.job_ids: list[str] = [""] * n
        self.tripped = np.zeros(n, dtype=bool)
        self.link = RfLink(sc["link"]["loss_probability"], np.random.default_rng([seed, 0x5F]))
        self.last_contact: int | None = None
        # statistics
        self.harvested_wh = 0.0
        self.used_solar_wh = 0.0
        self.to_compute_wh = 0.0
        self.curtailed_wh = 0.0
        self.work_gpu_s = 0.0
        self.soc_min = self.charge_wh / p["battery_capacity_wh"]
        self.board_temp_max_c = float(self.board_temp_c.max())
        self.violations = {"soc_floor": 0, "board_overtemp": 0, "board_undertemp": 0,
                           "battery_temp": 0, "brownout": 0, "board_trip": 0}
        self.series: dict[str, list] = {k: [] for k in (
            "t_s", "battery_soc", "sunlit", "solar_power_w", "load_w", "compute_power_w",
            "board_temp_c", "radiator_temp_c", "in_contact")}

    # ---------------------------------------------------------------------- step
    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[tuple[object, str]]:
        """-> (body, dst) pairs; dst "" publishes to subscribers."""
        i = min(tick, len(self.env.t_s) - 1)
        station_idx = int(self.env.contact[i])
        in_contact = station_idx >= 0
        for m in inbox:
            b = m.body
            if isinstance(b, BoardCommand):
                if len(b.cap_w) == len(self.cap_w) and len(b.job_id) == len(self.cap_w):
                    self.cap_w = np.asarray(b.cap_w, dtype=float)
                    self.job_ids = list(b.job_id)
            elif isinstance(b, UplinkFrame) and m.env.src == STATION:
                self.link.offer_up(b.data, in_contact)
            elif isinstance(b, DownlinkFrame) and m.env.src == COMMS:
                self.link.offer_down(b.data, in_contact)
        return [(x, "") for x in self._physics(i)] + self._rf(tick, station_idx)

    def _physics(self, i: int) -> list:
        p, t = self.sc["power"], self.sc["thermal"]
        dt = self.dt_s
        sunlit = float(self.env.sunlit[i])
        solar_w = float(panel_power_w(sunlit, p["panel_area_m2"], p["panel_efficiency"],
                                      float(self.env.sun_distance_au[i])))
        # hardware thermal trip, independent of flight software
        self.tripped |= self.board_temp_c >= t["board_trip_c"]
        self.tripped &= ~(self.board_temp_c < t["board_limit_c"] - 10.0)
        busy = (self.cap_w > 0) & np.array([bool(j) for j in self.job_ids]) & ~self.tripped
        cap = np.where(self.tripped, 0.0, self.cap_w)
        pw = board_power_w(cap, busy, self.boards)
        load_w = p["housekeeping_w"] + float(pw.sum())
        step = step_battery(self.charge_wh, solar_w - load_w, dt, self.battery)
        work = work_gpu_s(cap, busy, dt, self.boards)
        if step.unmet_w > 1e-9:  # brownout: boards lose power this tick
            self.violations["brownout"] += 1
            pw = np.zeros_like(pw)
            work = np.zeros_like(work)
            load_w = p["housekeeping_w"]
            step = step_battery(self.charge_wh, solar_w - load_w, dt, self.battery)
        self.charge_wh = step.charge_wh
        self.board_temp_c, self.radiator_temp_c = step_thermal(
            self.board_temp_c, self.radiator_temp_c, pw, dt, self._thermal_params(),
            absorbed_w=p["housekeeping_w"] + t["radiator_absorbed_w"])
        soc = self.charge_wh / self.battery.capacity_wh
        # statistics [Wh]
        self.harvested_wh += solar_w * dt / 3600.0
        self.curtailed_wh += step.curtailed_w * dt / 3600.0
        self.to_compute_wh += float(pw.sum()) * dt / 3600.0
        self.work_gpu_s += float(work.sum())
        self.soc_min = min(self.soc_min, soc)
        tmax = float(self.board_temp_c.max())
        self.board_temp_max_c = max(self.board_temp_max_c, tmax)
        v = self.violations
        v["soc_floor"] += soc < p["battery_soc_floor"]
        v["board_overtemp"] += tmax > t["board_limit_c"]
        v["board_undertemp"] += float(self.board_temp_c.min()) < t["board_min_c"]
        v["board_trip"] += int(self.tripped.any())
        if i % RECORD_EVERY_TICKS == 0:
            s = self.series
            s["t_s"].append(float(self.env.t_s[i]))
            s["battery_soc"].append(soc)
            s["sunlit"].append(sunlit)
            s["solar_power_w"].append(solar_w)
            s["load_w"].append(load_w)
            s["compute_power_w"].append(float(pw.sum()))
            s["board_temp_c"].append(self.board_temp_c.tolist())
            s["radiator_temp_c"].append(self.radiator_temp_c)
            s["in_contact"].append(int(self.env.contact[i] >= 0))
        jobs_worked = tuple(j if w > 0 else "" for j, w in zip(self.job_ids, work, strict=True))
        return [
            PowerSensors(solar_power_w=solar_w, battery_charge_wh=self.charge_wh,
                         battery_capacity_wh=self.battery.capacity_wh, battery_soc=soc,
                         load_w=load_w, sunlit_fraction=sunlit),
            BoardSensors(temp_c=tuple(self.board_temp_c.tolist()), power_w=tuple(pw.tolist()),
                         work_gpu_s=tuple(work.tolist()), job_id=jobs_worked,
                         radiator_temp_c=self.radiator_temp_c),
        ]

    def _rf(self, tick: int, station_idx: int) -> list[tuple[object, str]]:
        in_contact = station_idx >= 0
        st = self.env.stations[station_idx] if in_contact else None
        up_bps = st["uplink_bps"] if st else 0.0
        down_bps = st["downlink_bps"] if st else 0.0
        to_sat, to_ground = self.link.step(in_contact, up_bps, down_bps, self.dt_s)
        outs: list[tuple[object, str]] = []
        if station_idx != self.last_contact or tick % CONTACT_REPEAT_TICKS == 0:
            self.last_contact = station_idx
            outs.append((ContactState(in_contact, st["name"] if st else "", down_bps, up_bps), ""))
        outs += [(UplinkFrame(d), COMMS) for d in to_sat]
        outs += [(DownlinkFrame(d), STATION) for d in to_ground]
        return outs

    def _thermal_params(self) -> ThermalParams:
        """Radiator parameters at the louvers' present opening (cached per opening)."""
        t = self.sc["thermal"]
        eps = effective_emissivity(self.radiator_temp_c, t["radiator_emissivity"],
                                   t["louver_closed_emissivity"], t["louver_closed_below_c"],
                                   t["louver_open_above_c"])
        params = self._thermal_by_eps.get(eps)
        if params is None:
            params = ThermalParams(radiator_area_m2=t["radiator_area_m2"], radiator_emissivity=eps)
            self._thermal_by_eps[eps] = params
        return params

    # ------------------------------------------------------------------ reports
    def final_report(self) -> dict:
        return {
            "energy": {
                "harvested_wh": self.harvested_wh,
                "to_compute_wh": self.to_compute_wh,
                "curtailed_wh": self.curtailed_wh,
            },
            "work_gpu_s": self.work_gpu_s,
            "soc_min": self.soc_min,
            "board_temp_max_c": self.board_temp_max_c,
            "violations": dict(self.violations),
            "link": self.link.statistics(),
            "series": self.series,
        }

    def close(self) -> None:
        pass


def make(start_tick: int, scenario: dict, n_ticks: int, seed: int) -> World:
    """``scenario``: the merged scenario tree, as the harness ships it to the process."""
    return World(scenario_from_dict(scenario), n_ticks, seed)
