"""The simulated satellite and its environment as one bus participant ("world").

Each tick it applies the last actuator commands (board caps, power switches and the job
each board runs), advances the hardware by one tick and publishes sensor readings. The
flight side sees only these readings (with noise and any planned sensor faults), never
the truth.

Per tick, in order (each model in its own module, all state in numpy arrays):

1. environment tables, computed once per run (``sim.environment``): sunlit fraction of
   the conical shadow, Sun distance, contact, and the radiators' incident flux;
2. radiation events drawn for the boards (``sim.radiation``; planned bursts multiply the
   rates), and planned board faults (``sim.faults``) injected into them;
3. the board bank (``sim.boards``): boot, idle, active, hung, failed, thermal throttle
   (the scenario's ``boards.failed`` start FAILED);
4. heaters (``sim.heaters``) on the plates and the battery: the last HeaterCommand's flight
   switches in parallel with survival thermostats;
5. panels (``sim.panels``) and the battery (``sim.battery``, with temperature windows
   and capacity fade); a battery that cannot carry the load browns the boards out;
6. the thermal network (``sim.thermal_network``) with louvers (``sim.louvers``);
7. the RF link (``sim.rflink``) with loss and elevation-dependent bit errors;
8. sensors (``sim.sensors``) and the readings sent.

Hardware protection that does not depend on flight software lives in the models: the
boards throttle and shut themselves down when hot, the battery's management system
refuses to charge or discharge outside its temperature window.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np

from flightsw.icd.messages import (
    MAX_POWER_W,
    BoardCommand,
    BoardSensors,
    ContactState,
    DownlinkFrame,
    HeaterCommand,
    Message,
    PowerSensors,
    UplinkFrame,
)
from sim.attitude import lvlh_axes_eci, sun_dir_body
from sim.battery import BatteryModel, step_battery_model
from sim.boards import (
    ACTIVE,
    BOOTING,
    FAILED,
    HUNG,
    IDLE,
    BoardBankParams,
    BoardBankState,
    step_boards,
)
from sim.environment import compute_environment
from sim.environment_flux import incident_flux_w_m2
from sim.faults import parse_board_faults, parse_damage, parse_link_faults, parse_radiation_bursts
from sim.groundstation import eci_to_ecef_m
from sim.heaters import HeaterParams, applied_on, commanded_on, heater_power_w, step_thermostats
from sim.louvers import effective_emissivity
from sim.panels import PanelParams, panel_cos_incidence, panel_equilibrium_temp_c, panel_output_w
from sim.radiation import (
    RadiationClock,
    RadiationEvents,
    RadiationRates,
    burst_multiplier,
    saa_multiplier,
)
from sim.rflink import RfLink, ber_at_elevation
from sim.scenario import Scenario, scenario_from_dict
from sim.sensors import SensorBank, parse_sensor_faults
from sim.thermal_network import ThermalNetwork, ThermalNetworkParams
from sim.timescale import julian_date_utc

__all__ = ["World", "make", "RECORD_EVERY_TICKS", "sensor_channels"]

RECORD_EVERY_TICKS = 60
CONTACT_REPEAT_TICKS = 10
COMMS = "comms"
STATION = "station"
# what the board management controller reports: a hung board still looks ACTIVE
_BMC_STATE = {0: 0, BOOTING: 1, IDLE: 2, ACTIVE: 3, HUNG: 3, FAILED: 5}
_BMC_LUT = np.array([_BMC_STATE[c] for c in range(6)], dtype=np.int64)


def sensor_channels(n_boards: int) -> dict[str, int]:
    """The sensors a fault plan may name, with their channel counts."""
    return {"board_temp_c": n_boards, "board_power_w": n_boards, "solar_power_w": 1,
            "battery_soc": 1, "radiator_temp_c": 1, "load_w": 1, "sunlit_fraction": 1}



class World:
    name = "world"
    period_ticks = 1
    subscriptions = frozenset({BoardCommand.KIND, UplinkFrame.KIND, DownlinkFrame.KIND})

    def __init__(self, sc: Scenario, n_ticks: int, seed: int, sensor_faults: Sequence[dict] = (),
                 board_faults: Sequence[dict] = (), radiation_bursts: Sequence[dict] = (),
                 link_faults: Sequence[dict] = (), damage: Sequence[dict] = ()) -> None:
        """``sensor_faults``, ``board_faults``, ``radiation_bursts``, ``link_faults``,
        ``damage``: the fault plan's [[sensor]], [[board]], [[radiation]], [[link]] and
        [[damage]] tables (checked again here; ValueError names the bad field)."""
        self.sc = sc
        self.dt_s = sc.tick_s
        p, t, b = sc["power"], sc["thermal"], sc["boards"]
        n = b["count"]
        self.n = n
        self.env = compute_environment(sc, n_ticks)
        rng = np.random.default_rng([seed, 0x5EED])
        link_rng, rad_rng, sensor_rng = rng.spawn(3)
        # ---- boards and radiation
        self.boards = BoardBankParams(
            count=n, max_power_w=b["max_power_w"], min_power_w=b["min_power_w"],
            idle_power_w=b["idle_power_w"], boot_power_w=b["boot_power_w"], boot_s=b["boot_s"],
            hung_power_w=b["hung_power_w"], throughput_exponent=b["throughput_exponent"],
            max_operating_c=b["max_operating_c"], slowdown_c=b["slowdown_c"],
            shutdown_c=b["shutdown_c"], cold_limit_c=b["cold_limit_c"],
            slowdown_clock_frac=b["slowdown_clock_frac"])
        self.bank = BoardBankState.initial(n)
        failed = np.asarray(b.get("failed", []), dtype=np.int64)
        if failed.size:  # boards.failed: dead from the epoch (their controllers answer NO_RESPONSE)
            code = self.bank.code.copy()
            code[failed] = FAILED
            self.bank = dataclasses.replace(self.bank, code=code)
        self.rates = RadiationRates.from_dict(
            {k: v for k, v in sc["radiation"].items() if k != "saa_multiplier"})
        saa = sc["radiation"]["saa_multiplier"]
        jd = julian_date_utc(sc.epoch_utc, self.env.t_s)
        multiplier = saa_multiplier(eci_to_ecef_m(self.env.r_eci_m, jd), saa) if saa != 1.0 else None
        bursts = parse_radiation_bursts(list(radiation_bursts), where="radiation")
        multiplier = burst_multiplier(len(self.env.t_s), bursts, multiplier)
        self.radiation = RadiationClock(rad_rng, self.rates, n, self.dt_s, multiplier)
        # planned board faults: tick -> [(board, fault)]; a hang waits for a powered board
        self._planned: dict[int, list[tuple[int, str]]] = {}
        for f in parse_board_faults(list(board_faults), n, where="board"):
            self._planned.setdefault(f.tick, []).append((f.board, f.fault))
        self._hang_pending: list[int] = []
        self._sdc_pending: list[int] = []
        # ---- power
        body_fixed = p["panel_pointing"] == "body-fixed"
        self.panels = PanelParams(area_m2=p["panel_area_m2"], efficiency_bol=p["panel_efficiency"],
                                  temp_coeff_per_k=p["panel_temp_coeff_per_k"],
                                  degradation_per_year=p["panel_degradation_per_year"],
                                  pointing=p["panel_pointing"],
                                  normal_body=tuple(p["panel_normal_body"]) if body_fixed else None)
        if body_fixed and len(self.env.t_s) >= 2:  # nadir-pointing body: the Sun moves over it
            axes = lvlh_axes_eci(self.env.r_eci_m, self.dt_s)
            cos_in = np.asarray(panel_cos_incidence(self.panels, sun_dir_body(axes, self.env.sun_dir_eci)))
        else:
            cos_in = np.ones_like(self.env.sunlit)
        panel_temp_c = panel_equilibrium_temp_c(self.panels, self.env.sunlit, self.env.sun_distance_au,
                                                cos_in, p["panel_age_years"])
        self._panels_left = 1.0  # [-] of the array, after [[damage]]
        self.solar_w = np.array(panel_output_w(self.panels, self.env.sunlit, self.env.sun_distance_au,
                                                 cos_in, panel_temp_c, p["panel_age_years"]), dtype=float)
        self.battery = BatteryModel(
            capacity_bol_wh=p["battery_capacity_wh"], max_charge_w=p["battery_max_charge_w"],
            max_discharge_w=p["battery_max_discharge_w"], charge_min_c=p["battery_charge_min_c"],
            charge_max_c=p["battery_charge_max_c"], discharge_min_c=p["battery_discharge_min_c"],
            discharge_max_c=p["battery_discharge_max_c"],
            cycles_at_full_dod=p["battery_cycles_at_full_dod"], dod_exponent=p["battery_dod_exponent"],
            eol_capacity_fraction=p["battery_eol_capacity_fraction"])
        self.bat = self.battery.initial_state(p["battery_initial_soc"])
        # ---- thermal
        self.net = ThermalNetwork(ThermalNetworkParams(
            n_boards=n, radiator_area_m2=(t["radiator_area_m2"], t["battery_radiator_area_m2"]),
            boards_per_plate=t["boards_per_plate"], battery_radiator=1,
            board_to_plate_w_per_k=t["board_to_plate_w_per_k"],
            plate_to_radiator_w_per_k=t["plate_to_radiator_w_per_k"],
            radiator_heat_capacity_j_per_k=(t["radiator_heat_capacity_j_per_k"], 1.0e4),
            battery_to_radiator_w_per_k=t["battery_to_radiator_w_per_k"]))
        self.n_plates = self.net.params.n_plates
        self.therm = self.net.initial_state(float(t["initial_temp_c"]))
        flux = incident_flux_w_m2(self.env.r_eci_m, self.env.sun_dir_eci, self.env.sunlit,
                                  t["radiator_normal"], self.env.sun_distance_au)
        # absorbed = absorptivity x (sun + albedo) x A + emissivity x Earth IR x A (Kirchhoff:
        # the IR absorptance is the emissivity, which the louvers change): split per tick
        self.short_wave_w_m2 = t["radiator_absorptivity"] * (flux.solar_w_m2 + flux.albedo_w_m2)
        self.earth_ir_w_m2 = np.asarray(flux.earth_ir_w_m2, dtype=float)
        self.heaters = HeaterParams.make(
            self.n_plates + 1,
            np.r_[np.full(self.n_plates, t["plate_heater_on_below_c"]), t["battery_heater_on_below_c"]],
            np.r_[np.full(self.n_plates, t["plate_heater_off_above_c"]), t["battery_heater_off_above_c"]],
            np.r_[np.full(self.n_plates, t["plate_heater_power_w"]), t["battery_heater_power_w"]])
        self.heater_on = np.zeros(self.n_plates + 1, dtype=bool)  # the thermostats
        self.heater_flight_on = np.zeros(self.n_plates + 1, dtype=bool)  # last HeaterCommand
        # ---- commands in force
        self.cap_w = np.zeros(n)
        self.on = np.zeros(n, dtype=bool)
        self.job_ids: list[str] = [""] * n
        self.busy = np.zeros(n, dtype=bool)
        self._no_upset = np.zeros(n, dtype=np.int64)
        self._no_upset_t = (0,) * n  # its BoardSensors.upset, built once
        self._all_ok_t = (1,) * n  # BoardSensors.temp_ok when every channel answered
        self._bmc_by_code: dict[bytes, tuple[int, ...]] = {}  # bank codes -> BoardSensors.state
        # ---- link and sensors
        self.link = RfLink(sc["link"]["loss_probability"], link_rng)
        self.link_faults = parse_link_faults(list(link_faults), where="link")
        self._damage: dict[int, list[dict]] = {}  # tick -> [[damage]] entries due then
        for d in parse_damage(list(damage), where="damage"):
            self._damage.setdefault(d["tick"], []).append(d)
        self.damage: list[dict] = []  # what was applied: the entry, and what was left after it
        self.last_contact: int | None = None
        faults = parse_sensor_faults(list(sensor_faults), sensor_channels(n), where="sensor")
        # One bank for every channel (one read per tick): board temperatures, board powers,
        # solar power, SOC, radiator temperature, laid end to end; faults re-indexed.
        s = sc["sensors"]
        sigma = {"board_temp_c": s["board_temp_sigma_c"], "board_power_w": s["board_power_sigma_w"],
                 "solar_power_w": s["solar_power_sigma_w"], "battery_soc": s["battery_soc_sigma"],
                 "radiator_temp_c": s["radiator_temp_sigma_c"], "load_w": s["load_sigma_w"],
                 "sunlit_fraction": s["sunlit_fraction_sigma"]}
        self._chan: dict[str, slice] = {}
        sigmas, offset = [], 0
        for name, count in sensor_channels(n).items():
            self._chan[name] = slice(offset, offset + count)
            sigmas.append(np.full(count, float(sigma[name])))
            offset += count
        merged = [dataclasses.replace(f, sensor="all", index=self._chan[f.sensor].start + f.index)
                  for f in faults]
        self.sensor_bank = SensorBank("all", np.concatenate(sigmas), sensor_rng, merged, offset)
        self.sensor_dropouts = 0
        self._last_rad_c = float(t["initial_temp_c"])
        # ---- statistics
        self.harvested_wh = self.to_compute_wh = self.curtailed_wh = self.heater_wh = 0.0
        self.work_gpu_s = 0.0
        self.soc_min = self.bat.charge_wh / self.bat.capacity_wh
        # each eclipse (from the first tick out of full sun, penumbra included, to the first
        # back in it) -> the least charge in it: what the power manager's reserve is for
        lit = np.asarray(self.env.sunlit[:n_ticks], dtype=float) < 1.0
        self._eclipse_no = np.cumsum(np.r_[lit[:1], lit[1:] & ~lit[:-1]]) * lit  # 1, 2, ...: the eclipse; 0: sun
        self.eclipses: list[dict] = []  # {"start_tick", "end_tick", "soc_start", "soc_min"}
        self.below_floor: list[dict] = []  # spans of SOC below the floor: {"start_tick", "end_tick", "soc_min"}
        self.brownouts: list[dict] = []  # spans of ticks the battery could not carry the load
        self.board_temp_max_c = float(t["initial_temp_c"])
        self.battery_temp_min_c = self.battery_temp_max_c = float(t["initial_temp_c"])
        self.violations = {"soc_floor": 0, "board_overtemp": 0, "board_undertemp": 0,
                           "battery_temp": 0, "brownout": 0, "board_thermal_shutdown": 0}
        self.violation_first_tick: dict[str, int] = {}
        self.events = {"sdc": 0, "sefi": 0, "board_failures": 0}
        self.injected = {"hang": 0, "fail": 0, "sdc": 0}
        self.sdc_hits_by_job: dict[str, int] = {}
        self.series: dict[str, list] = {k: [] for k in (
            "t_s", "battery_soc", "sunlit", "solar_power_w", "load_w", "compute_power_w",
            "board_temp_c", "radiator_temp_c", "battery_temp_c", "heater_w", "in_contact")}

    # ---------------------------------------------------------------------- step
    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[tuple[object, str]]:
        """-> (body, dst) pairs; dst "" publishes to subscribers."""
        i = min(tick, len(self.env.t_s) - 1)
        station_idx = int(self.env.contact[i])
        in_contact = station_idx >= 0
        for m in inbox:
            body = m.body
            if isinstance(body, BoardCommand):
                if len(body.cap_w) == self.n and len(body.job_id) == self.n:
                    self.cap_w = np.asarray(body.cap_w, dtype=float)
                    self.job_ids = list(body.job_id)
                    self.busy = np.array([bool(j) for j in self.job_ids], dtype=bool)
                    self.on = (np.asarray(body.on, dtype=bool) if len(body.on) == self.n
                               else self.cap_w > 0)
            elif isinstance(body, HeaterCommand):  # hold-last; another heater count is ignored
                flight_on = commanded_on(body.on, self.n_plates + 1)
                if flight_on is not None:
                    self.heater_flight_on = flight_on
            elif isinstance(body, UplinkFrame) and m.env.src == STATION:
                self.link.offer_up(body.data, in_contact)
            elif isinstance(body, DownlinkFrame) and m.env.src == COMMS:
                self.link.offer_down(body.data, in_contact)
        outs = [(x, "") for x in self._physics(tick, i)]
        return outs + self._rf(tick, i, station_idx)

    def _physics(self, tick: int, i: int) -> list:
        p, t = self.sc["power"], self.sc["thermal"]
        if tick in self._damage:
            self._apply_damage(tick, i)
        dt = self.dt_s
        # radiation, then the boards (which see the temperature at the start of the tick)
        rad = self.radiation.tick(self.bank.active, self.bank.powered)
        if self._hang_pending or self._sdc_pending or tick in self._planned:
            rad = self._inject(tick, rad)
        old = self.bank
        self.bank, pw, work = step_boards(old, self.boards, self.cap_w, self.on, self.busy,
                                          self.therm.board_temp_c, dt, rad)
        if rad is self.radiation.no_events:  # the common tick: nothing to count
            upset = self._no_upset
        else:
            upset = (rad.sdc & (work > 0)).astype(int)
            self.events["sefi"] += int(rad.sefi.sum())
            self.events["board_failures"] += int(((self.bank.code == FAILED) & (old.code != FAILED)).sum())
        if self.bank.thermal_shutdowns is not old.thermal_shutdowns:  # the general step ran
            self._violation("board_thermal_shutdown", i,
                            int((self.bank.thermal_shutdowns - old.thermal_shutdowns).sum()))
        # heaters, then the electrical bus
        sensed = self.net.heater_sensed_temp_c(self.therm)
        self.heater_on = step_thermostats(self.heater_on, sensed, self.heaters)
        heater_w = heater_power_w(applied_on(self.heater_on, self.heater_flight_on), self.heaters)
        solar_w = float(self.solar_w[i])
        heaters_total_w = float(heater_w.sum())
        compute_w = float(pw.sum())
        load_w = p["housekeeping_w"] + compute_w + heaters_total_w
        bstep = step_battery_model(self.bat, solar_w - load_w, self.therm.battery_temp_c, dt, self.battery)
        if bstep.unmet_w > 1e-9:  # brownout: the boards lose power this tick
            self._violation("brownout", i)
            _extend_span(self.brownouts, i)
            pw = np.zeros_like(pw)
            work = np.zeros_like(work)
            compute_w = 0.0  # float(pw.sum()) of the zeroed pw
            upset = self._no_upset
            load_w = p["housekeeping_w"] + heaters_total_w
            bstep = step_battery_model(self.bat, solar_w - load_w, self.therm.battery_temp_c, dt, self.battery)
        self.bat = bstep.state
        if upset is not self._no_upset:  # counted after a brownout, which spares the results
            self._count_upsets(upset)
        # thermal network: louvers set the main radiator's emissivity
        eps_main = effective_emissivity(float(self.therm.radiator_temp_c[0]), t["radiator_emissivity"],
                                        t["louver_closed_emissivity"], t["louver_closed_below_c"],
                                        t["louver_open_above_c"])
        eps = np.array([eps_main, t["battery_radiator_emissivity"]])
        sw, ir = float(self.short_wave_w_m2[i]), float(self.earth_ir_w_m2[i])
        q_main = (sw + eps_main * ir) * t["radiator_area_m2"]
        q_bat = (sw + eps[1] * ir) * t["battery_radiator_area_m2"]
        absorbed = np.array([q_main + p["housekeeping_w"] + t["radiator_absorbed_w"], q_bat])
        self.therm = self.net.step(self.therm, pw, heater_w, absorbed, eps, dt, bstep.heat_w)
        self._account(i, solar_w, load_w, compute_w, heaters_total_w, work, bstep)
        return self._readings(tick, solar_w, load_w, pw, work, upset, bstep.curtailed_w)

    def _inject(self, tick: int, rad: RadiationEvents) -> RadiationEvents:
        """This tick's radiation events with the fault plan's board faults added.

        A planned fail strikes at its tick whatever the board's state (it counts once, if
        the board was not FAILED already). A planned hang is a SEFI: it strikes at its
        tick, or, if the board is unpowered then, at the first later tick it is powered
        (a failed board never); a switch-off in the tick it strikes clears it, as it
        would clear a radiation SEFI. A planned sdc is an upset in the working memory of
        the job on the board: it strikes at the first tick from its own on which the
        board is active with a job. Both go through the board bank's fault path and
        count in ``hardware_events`` (sefi, board_failures) as well as in ``injected``.
        """
        sdc, sefi, fail = rad.sdc.copy(), rad.sefi.copy(), rad.fail.copy()  # never touch the clock's
        for board, fault in self._planned.get(tick, ()):
            if fault == "fail":
                if self.bank.code[board] != FAILED and not fail[board]:
                    self.injected["fail"] += 1
                fail[board] = True
            elif fault == "sdc":
                if board not in self._sdc_pending:
                    self._sdc_pending.append(board)
            elif board not in self._hang_pending:
                self._hang_pending.append(board)
        active = self.bank.active
        for board in list(self._sdc_pending):  # an upset needs a board at work to corrupt
            if self.bank.code[board] == FAILED or fail[board]:
                self._sdc_pending.remove(board)
            elif active[board] and self.busy[board]:
                sdc[board] = True
                self.injected["sdc"] += 1
                self._sdc_pending.remove(board)
        powered = self.bank.powered
        for board in list(self._hang_pending):
            if self.bank.code[board] == FAILED or fail[board]:
                self._hang_pending.remove(board)
            elif powered[board]:
                sefi[board] = True
                self.injected["hang"] += 1
                self._hang_pending.remove(board)
        return RadiationEvents(sdc, sefi, fail)

    def _count_upsets(self, upset: np.ndarray) -> None:
        """SDC upsets that hit a working board, in total and by the job it ran."""
        hits = upset.tolist()
        self.events["sdc"] += sum(hits)
        for job_id, n in zip(self.job_ids, hits, strict=True):
            if n and job_id:
                self.sdc_hits_by_job[job_id] = self.sdc_hits_by_job.get(job_id, 0) + n

    def _account(self, i, solar_w, load_w, compute_w, heaters_w, work, bstep) -> None:
        """compute_w, heaters_w: this tick's board and heater power sums [W]."""
        p, t = self.sc["power"], self.sc["thermal"]
        dt_h = self.dt_s / 3600.0
        soc = self.bat.charge_wh / self.bat.capacity_wh
        self.harvested_wh += solar_w * dt_h
        self.curtailed_wh += bstep.curtailed_w * dt_h
        self.to_compute_wh += compute_w * dt_h
        self.heater_wh += heaters_w * dt_h
        self.work_gpu_s += float(work.sum())
        self.soc_min = min(self.soc_min, soc)
        if self._eclipse_no[i]:
            if len(self.eclipses) < self._eclipse_no[i]:
                self.eclipses.append({"start_tick": i, "end_tick": i + 1, "soc_start": soc, "soc_min": soc})
            e = self.eclipses[-1]
            e["end_tick"], e["soc_min"] = i + 1, min(e["soc_min"], soc)
        temps = self.therm.board_temp_c.tolist()  # a few dozen values: plain max/min
        tmax = max(temps)
        self.board_temp_max_c = max(self.board_temp_max_c, tmax)
        tbat = float(self.therm.battery_temp_c)
        self.battery_temp_min_c = min(self.battery_temp_min_c, tbat)
        self.battery_temp_max_c = max(self.battery_temp_max_c, tbat)
        if soc < p["battery_soc_floor"]:
            self._violation("soc_floor", i)
            span = _extend_span(self.below_floor, i)
            span["soc_min"] = min(span.get("soc_min", soc), soc)
        if tmax > t["board_limit_c"]:
            self._violation("board_overtemp", i)
        if min(temps) < t["board_min_c"]:
            self._violation("board_undertemp", i)
        if not p["battery_discharge_min_c"] <= tbat <= p["battery_discharge_max_c"]:
            self._violation("battery_temp", i)
        if i % RECORD_EVERY_TICKS == 0:
            s = self.series
            s["t_s"].append(float(self.env.t_s[i]))
            s["battery_soc"].append(soc)
            s["sunlit"].append(float(self.env.sunlit[i]))
            s["solar_power_w"].append(solar_w)
            s["load_w"].append(load_w)
            s["compute_power_w"].append(compute_w)
            s["board_temp_c"].append(temps)
            s["radiator_temp_c"].append(float(self.therm.radiator_temp_c[0]))
            s["battery_temp_c"].append(tbat)
            s["heater_w"].append(heaters_w)
            s["in_contact"].append(int(self.env.contact[i] >= 0))

    def _violation(self, kind: str, i: int, n: int = 1) -> None:
        """``n`` ticks (or events) of a limit broken at tick ``i``; the first tick of each
        kind is kept (the campaign names the step that broke it)."""
        if n > 0:
            self.violations[kind] += n
            self.violation_first_tick.setdefault(kind, i)

    def _readings(self, tick, solar_w, load_w, pw, work, upset, shunt_w: float = 0.0) -> list:
        n = self.n
        soc_true = self.bat.charge_wh / self.bat.capacity_wh
        sunlit = float(self.env.sunlit[min(tick, len(self.env.sunlit) - 1)])
        truth = np.concatenate((self.therm.board_temp_c, pw,
                                (solar_w, soc_true, float(self.therm.radiator_temp_c[0]), load_w, sunlit)))
        value, valid = self.sensor_bank.read(truth, tick)
        # Channel layout: sensor_channels(); plain lists from here (a few dozen values).
        vals, oks = value.tolist(), valid.tolist()
        solar, soc, rad, load, lit = vals[2 * n:2 * n + 5]
        solar_ok, soc_ok, rad_ok, load_ok, lit_ok = oks[2 * n:2 * n + 5]
        out = []
        # A dead channel sends nothing; the flight side keeps its last good reading.
        if solar_ok and soc_ok and load_ok and lit_ok:
            soc_r = min(max(soc, 0.0), 1.0)
            out.append(PowerSensors(
                solar_power_w=max(0.0, solar), battery_charge_wh=soc_r * self.bat.capacity_wh,
                battery_capacity_wh=self.bat.capacity_wh, battery_soc=soc_r, load_w=max(0.0, load),
                sunlit_fraction=min(max(lit, 0.0), 1.0),
                battery_temp_c=float(self.therm.battery_temp_c),  # no sensor channel yet: truth
                shunt_w=min(max(0.0, shunt_w), MAX_POWER_W)))  # the shunt regulator's own reading: truth
        else:
            self.sensor_dropouts += 1
        # A dead board channel is flagged in temp_ok (its value is then meaningless);
        # a dead radiator channel holds its last reading, as the acquisition unit does.
        temp_ok = oks[:n]
        temps = vals[:n]
        if all(temp_ok) and -273.15 <= min(temps) and max(temps) <= 2000.0:  # the usual tick
            temp_c = tuple(temps)
            temp_ok_t = self._all_ok_t
        else:
            temp_ok_t = tuple(map(int, temp_ok))
            temp_c = tuple(min(max(t, -273.15), 2000.0) if ok else 0.0
                           for t, ok in zip(temps, temp_ok, strict=True))
        powers = value[n:2 * n]
        if all(oks[n:2 * n]):  # the usual tick: np.where would pick every maximum
            power_w = tuple(np.maximum(powers, 0.0).tolist())
        else:
            power_w = tuple(np.where(valid[n:2 * n], np.maximum(powers, 0.0), 0.0).tolist())
        if rad_ok:
            self._last_rad_c = min(max(rad, -273.15), 2000.0)
        work_l = work.tolist()
        jobs_worked = tuple(j if w > 0 else "" for j, w in zip(self.job_ids, work_l, strict=True))
        out.append(BoardSensors(temp_c=temp_c, power_w=power_w, work_gpu_s=tuple(work_l),
                                job_id=jobs_worked, radiator_temp_c=self._last_rad_c,
                                state=self._bmc_state(self.bank.code),
                                upset=self._no_upset_t if upset is self._no_upset else tuple(upset.tolist()),
                                temp_ok=temp_ok_t))
        return out

    def _bmc_state(self, code: np.ndarray) -> tuple[int, ...]:
        """BoardSensors.state for the bank's codes (few distinct patterns: cached)."""
        key = code.tobytes()
        state = self._bmc_by_code.get(key)
        if state is None:
            if len(self._bmc_by_code) >= 256:  # bound the cache on long, busy runs
                self._bmc_by_code.clear()
            state = self._bmc_by_code[key] = tuple(_BMC_LUT[code].tolist())
        return state

    def _rf(self, tick: int, i: int, station_idx: int) -> list[tuple[object, str]]:
        in_contact = station_idx >= 0
        st = self.env.stations[station_idx] if in_contact else None
        up_bps = st["uplink_bps"] if st else 0.0
        down_bps = st["downlink_bps"] if st else 0.0
        ber = 0.0
        link = self.sc["link"]
        if in_contact and link["bit_errors"] == "elevation":
            elev = float(self.env.elevation_deg[station_idx, i])
            alt_km = float(np.linalg.norm(self.env.r_eci_m[i])) / 1000.0 - 6378.137
            ber = ber_at_elevation(max(elev, 0.1), link["ebn0_zenith_db"], alt_km)
        loss = st.get("loss_probability") if st else None
        dup, reorder = 0.0, False
        for f in self.link_faults:  # a fault plan's [[link]] windows: the last one active wins
            if f["start_tick"] <= tick < f["end_tick"]:
                loss = loss if f["loss"] is None else f["loss"]
                ber = ber if f["ber"] is None else f["ber"]
                dup, reorder = f["duplicate"], f["reorder"]
        to_sat, to_ground = self.link.step(in_contact, up_bps, down_bps, self.dt_s, bit_error_rate=ber,
                                           loss_probability=loss, duplicate_probability=dup, reorder=reorder)
        outs: list[tuple[object, str]] = []
        if station_idx != self.last_contact or tick % CONTACT_REPEAT_TICKS == 0:
            self.last_contact = station_idx
            outs.append((ContactState(in_contact, st["name"] if st else "", down_bps, up_bps), ""))
        outs += [(UplinkFrame(d), COMMS) for d in to_sat]
        outs += [(DownlinkFrame(d), STATION) for d in to_ground]
        return outs

    def _apply_damage(self, tick: int, i: int) -> None:
        """A [[damage]] entry due at ``tick``: battery cell strings lost (their capacity and
        the energy stored in them: the state of charge stays), or panel strings lost (the
        solar power from this tick on)."""
        for d in self._damage.pop(tick):
            keep = 1.0 - d["fraction"]
            if d["part"] == "battery":
                self.battery = dataclasses.replace(self.battery,
                                                   capacity_bol_wh=self.battery.capacity_bol_wh * keep)
                self.bat = dataclasses.replace(self.bat, charge_wh=self.bat.charge_wh * keep,
                                               capacity_wh=self.bat.capacity_wh * keep)
                left = self.bat.capacity_wh
            else:
                self.solar_w[i:] *= keep
                self._panels_left *= keep
                left = self._panels_left
            self.damage.append({**d, "left": left})

    # ------------------------------------------------------------------ reports
    def final_report(self) -> dict:
        return {
            "energy": {
                "harvested_wh": self.harvested_wh,
                "to_compute_wh": self.to_compute_wh,
                "curtailed_wh": self.curtailed_wh,
                "heaters_wh": self.heater_wh,
            },
            "work_gpu_s": self.work_gpu_s,
            "soc_min": self.soc_min,
            "eclipses": self.eclipses,
            "below_floor": self.below_floor,
            "brownouts": self.brownouts,
            "damage": self.damage,
            "board_temp_max_c": self.board_temp_max_c,
            "battery_temp_range_c": [self.battery_temp_min_c, self.battery_temp_max_c],
            "battery_capacity_wh": self.bat.capacity_wh,
            "violations": dict(self.violations),
            "violation_first_tick": dict(self.violation_first_tick),
            "hardware_events": dict(self.events),
            "injected": dict(self.injected),
            "sdc_hits_by_job": dict(sorted(self.sdc_hits_by_job.items())),
            "boards_failed": int((self.bank.code == FAILED).sum()),
            "sensor_dropouts": self.sensor_dropouts,
            "link": self.link.statistics(),
            "series": self.series,
        }

    def close(self) -> None:
        pass


def _extend_span(spans: list[dict], i: int) -> dict:
    """Tick ``i`` added to ``spans`` ({"start_tick", "end_tick"}, end exclusive): the last
    span goes on if it ended at ``i``, else a new one starts. -> that span."""
    if spans and spans[-1]["end_tick"] == i:
        spans[-1]["end_tick"] = i + 1
    else:
        spans.append({"start_tick": i, "end_tick": i + 1})
    return spans[-1]


def make(start_tick: int, scenario: dict, n_ticks: int, seed: int, sensor_faults: list | None = None,
         board_faults: list | None = None, radiation_bursts: list | None = None,
         link_faults: list | None = None, damage: list | None = None) -> World:
    """``scenario``: the merged scenario tree, as the harness ships it to the process;
    the fault lists: the fault plan's tables, as plain dicts."""
    return World(scenario_from_dict(scenario), n_ticks, seed, sensor_faults or (),
                 board_faults or (), radiation_bursts or (), link_faults or (), damage or ())
