"""The HIL harness: the unchanged flight processes against the simulated world and the
ground station, in lockstep, in any mode; then the report, event log and plots.

The only place in ``sim`` that touches ``flightsw.bus`` (its public runner), as
DESIGN.md §2 allows. Flight apps are named by "module:function" strings and built
inside their own process.
"""

from __future__ import annotations

import json
import math
import shutil
import sqlite3
import tomllib
from collections import Counter
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from flightsw.bus.hub import Wire
from flightsw.bus.logsetup import configure as configure_logging
from flightsw.bus.participant import ParticipantSpec
from flightsw.bus.runner import run_lockstep
from flightsw.icd.codec import decode, encode_body
from flightsw.icd.linkauth import KeyringError, default_keyring_path, load_keyring
from flightsw.icd.messages import (
    ONBOARD_APPS,
    Event,
    ExecutorStatus,
    JobSpec,
    JobState,
    PowerBudget,
    Severity,
)
from flightsw.icd.results import expected_synthetic, verify_result
from sim.environment import orbit_of
from sim.faults import (
    as_dicts,
    parse_bad_frames,
    parse_board_faults,
    parse_commands,
    parse_damage,
    parse_ground_actions,
    parse_link_faults,
    parse_radiation_bursts,
    parse_stalls,
)
from sim.groundstation import passes_refined
from sim.scenario import Scenario, ScenarioError
from sim.sensors import parse_sensor_faults
from sim.tle import tle_from_circular
from sim.workload import generate_jobs
from sim.world import sensor_channels

__all__ = ["RunConfig", "FaultPlan", "parse_fault_plan", "load_fault_plan", "build_specs", "run",
           "make_report", "ONBOARD", "configure_logging", "contact_plan"]

ONBOARD = ONBOARD_APPS
FAULT_KINDS = ("board", "command", "damage", "frame", "ground", "kill", "link", "radiation", "sensor", "stall")
SAMPLE_EVERY_TICKS = 60
NS_PER_S = 1_000_000_000
MODE_CHANGES_KEPT = 200
BUDGET_MARGIN_C = 0.5  # [K] the thermal budget's setpoint below where the boards' caps start
BUDGET_TAU_S = 1800.0  # [s] the thermal budget spends (or sheds) stored heat over this
CONTACT_PLAN_MAX = 256  # passes the executor's "contacts" table holds (flightsw/apps/executor/contacts.py)
# a job whose result the flight side must check (ABFT checksums, or computed twice)
PROTECTED_KINDS = ("matmul",)
FINISHED_STATES = ("COMPLETED", "DOWNLINKED")


@dataclass(frozen=True)
class FaultPlan:
    """A parsed fault plan (``sim run --faults FILE``); see sim.faults for the syntax of
    [[board]], [[radiation]] and [[command]], sim.sensors for [[sensor]]."""

    kills: dict[int, list[str]] = field(default_factory=dict)  # tick -> processes
    sensors: tuple[dict, ...] = ()  # [[sensor]] entries, checked by sim.sensors
    boards: tuple[dict, ...] = ()  # [[board]]: {board, tick, fault}
    radiation: tuple[dict, ...] = ()  # [[radiation]]: {start_tick, end_tick, multiplier}
    # [[command]]: {tick, target, opcode, args}; the ground station sends them in contact
    commands: tuple[dict, ...] = ()
    stalls: tuple[dict, ...] = ()  # [[stall]]: {process, tick, ticks}
    ground: tuple[dict, ...] = ()  # [[ground]]: {tick, action, job}
    link: tuple[dict, ...] = ()  # [[link]]: {start_tick, end_tick, loss, ber, duplicate, reorder}
    frames: tuple[dict, ...] = ()  # [[frame]]: {tick, kind}: bad telecommand frames from the ground
    damage: tuple[dict, ...] = ()  # [[damage]]: {tick, part, fraction}: battery or panels lost


def parse_fault_plan(text: str, origin: str = "<string>") -> FaultPlan:
    """A fault plan's TOML text -> FaultPlan; any problem raises ScenarioError naming
    ``origin``, the entry and the field, what was expected and what came."""
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ScenarioError(f"{origin}: not valid TOML: {exc}") from None
    for key in data:
        if key not in FAULT_KINDS:
            raise ScenarioError(f"{origin}: {key}: unknown fault kind; expected one of {list(FAULT_KINDS)}")
    sensors = data.get("sensor", [])
    try:
        parse_sensor_faults(sensors, None, where=f"{origin}: sensor")
        boards = as_dicts(parse_board_faults(data.get("board", []), None, where=f"{origin}: board"))
        bursts = as_dicts(parse_radiation_bursts(data.get("radiation", []), where=f"{origin}: radiation"))
        commands = parse_commands(data.get("command", []), ONBOARD, where=f"{origin}: command")
        stalls = parse_stalls(data.get("stall", []), ONBOARD, where=f"{origin}: stall")
        ground = parse_ground_actions(data.get("ground", []), None, where=f"{origin}: ground")
        link = parse_link_faults(data.get("link", []), where=f"{origin}: link")
        frames = parse_bad_frames(data.get("frame", []), where=f"{origin}: frame")
        damage = parse_damage(data.get("damage", []), where=f"{origin}: damage")
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    kills: dict[int, list[str]] = {}
    entries = data.get("kill", [])
    if not isinstance(entries, list):
        raise ScenarioError(f"{origin}: kill: expected [[kill]] tables, got {type(entries).__name__}")
    for i, e in enumerate(entries):
        where = f"{origin}: kill[{i}]"
        if not isinstance(e, dict):
            raise ScenarioError(f"{where}: expected a table")
        extra = set(e) - {"process", "tick"}
        if extra:
            raise ScenarioError(f"{where}: unknown key(s) {sorted(extra)}; expected process, tick")
        proc, tick = e.get("process"), e.get("tick")
        if proc not in ONBOARD:
            raise ScenarioError(f"{where}.process: expected one of {list(ONBOARD)}, got {proc!r}")
        if type(tick) is not int or tick < 1:
            raise ScenarioError(f"{where}.tick: expected an integer >= 1, got {tick!r}")
        kills.setdefault(tick, []).append(proc)
    return FaultPlan(kills, tuple(sensors), tuple(boards), tuple(bursts), tuple(commands), tuple(stalls),
                     tuple(ground), tuple(link), tuple(frames), tuple(damage))


def builtin_fault_plans() -> list[str]:
    return sorted(p.name[:-5] for p in resources.files("sim.faultplans").iterdir() if p.name.endswith(".toml"))


def load_fault_plan(path: str | None) -> FaultPlan:
    """A fault plan from a TOML file, or a built-in one by name (sim/faultplans/)."""
    if not path:
        return FaultPlan()
    p = Path(path)
    if p.is_file():
        return parse_fault_plan(p.read_text(), p.name)
    if path in builtin_fault_plans():
        return parse_fault_plan(resources.files("sim.faultplans").joinpath(f"{path}.toml").read_text(), path)
    raise ScenarioError(f"faults: expected a TOML file or one of {builtin_fault_plans()}, got {path!r}")


@dataclass(frozen=True)
class RunConfig:
    scenario: Scenario
    scenario_ref: str  # built-in name or file path, re-read in each process
    hours: float = 24.0
    seed: int = 0
    policy: str = "predictive"
    mode: str = "fast"
    faults: FaultPlan = field(default_factory=FaultPlan)
    out_dir: Path = Path("out/run")
    speed: float = 60.0
    plots: bool = True
    keys_path: Path | None = None  # the telecommand keyring; None: flightsw.icd.linkauth's default

    @property
    def n_ticks(self) -> int:
        return int(round(self.hours * 3600.0 / self.scenario.tick_s))


def build_specs(cfg: RunConfig, store_dir: Path, jobs: list[JobSpec] | None = None) -> list[ParticipantSpec]:
    """The participants of a run. ``jobs``: the workload (generate_jobs of the scenario
    over the run, computed here when not given)."""
    sc = cfg.scenario
    b, p, t = sc["boards"], sc["power"], sc["thermal"]
    try:  # sensor names and channel indices against this scenario's boards
        parse_sensor_faults(list(cfg.faults.sensors), sensor_channels(b["count"]), where="faults: sensor")
        parse_board_faults(list(cfg.faults.boards), b["count"], where="faults: board")
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    if jobs is None:
        jobs = generate_jobs(sc, cfg.hours)
    try:
        parse_ground_actions(list(cfg.faults.ground), [j.job_id for j in jobs], where="faults: ground")
    except ValueError as exc:
        raise ScenarioError(str(exc)) from None
    try:
        keys = load_keyring(cfg.keys_path or default_keyring_path()).to_dict()
    except KeyringError as exc:
        raise ScenarioError(f"{exc} (make one with `groundsw keys init`; `make install` does)") from None
    passes = predicted_passes(sc, cfg.hours)
    specs = [
        ParticipantSpec("comms", "flightsw.apps.comms.shell:make", {
            "table": {"tick_s": sc.tick_s, "epoch_utc": sc.epoch_utc.isoformat()},
            "keys": keys, "store_dir": str(store_dir)}),
        ParticipantSpec("executor", "flightsw.apps.executor.shell:make", {
            "store_dir": str(store_dir),
            "board_model": {"n_boards": b["count"], "max_power_w": b["max_power_w"],
                            "min_power_w": b["min_power_w"], "throughput_exponent": b["throughput_exponent"],
                            "boards_per_plate": t["boards_per_plate"]},
            "policy": cfg.policy,
            "contacts": contact_plan(passes),
        }),
        ParticipantSpec("power", "flightsw.apps.power.shell:make", {"store_dir": str(store_dir), "table": {
            "battery_soc_floor": p["battery_soc_floor"],
            "housekeeping_w": p["housekeeping_w"],
            # the eclipse reserve holds the battery heater too: it runs when the battery is
            # coldest, in eclipse (the heater power in use comes from the thermal guard)
            "battery_heater_w": t["battery_heater_power_w"],
            "max_discharge_w": p["battery_max_discharge_w"],
            "max_charge_w": p["battery_max_charge_w"],
            "payload_boards": b["count"],  # SAFE switches the payload rail off
        }, "orbit": uplinked_orbit(sc)}),
        ParticipantSpec("supervisor", "flightsw.apps.supervisor.shell:make", {
            "store_dir": str(store_dir), "soc_floor": p["battery_soc_floor"]}),
        ParticipantSpec("thermal", "flightsw.apps.thermal.shell:make", {"table": thermal_table(sc),
                                                                       "store_dir": str(store_dir)}),
        ParticipantSpec("world", "sim.world:make", {
            "scenario": sc.data, "n_ticks": cfg.n_ticks, "seed": cfg.seed,
            "sensor_faults": [dict(f) for f in cfg.faults.sensors],
            "board_faults": [dict(f) for f in cfg.faults.boards],
            "radiation_bursts": [dict(f) for f in cfg.faults.radiation],
            "link_faults": [dict(f) for f in cfg.faults.link],
            "damage": [dict(f) for f in cfg.faults.damage],
        }, onboard=False),
        ParticipantSpec("station", "groundsw.station:make", {
            "archive_path": str(cfg.out_dir / "ground" / "archive.sqlite"),
            "jobs": [encode_body(j) for j in jobs],
            "tick_s": sc.tick_s,
            "commands": [dict(c) for c in cfg.faults.commands],
            "ground_actions": [dict(g) for g in cfg.faults.ground],
            "bad_frames": [dict(f) for f in cfg.faults.frames],
            "keys": keys,
            "epoch_utc": sc.epoch_utc.isoformat(),
            "meta": {"scenario": cfg.scenario_ref, "board_count": b["count"],
                     "board_max_power_w": b["max_power_w"],
                     "battery_soc_floor": sc["power"]["battery_soc_floor"]},  # the console's limits
            "passes": passes,
        }, onboard=False),
    ]
    stalls: dict[str, list[tuple[int, int]]] = {}
    for st in cfg.faults.stalls:
        stalls.setdefault(st["process"], []).append((st["tick"], st["tick"] + st["ticks"]))
    return [replace(sp, stalls=tuple(stalls[sp.name])) if sp.name in stalls else sp for sp in specs]


def predicted_passes(sc: Scenario, hours: float) -> list[tuple[str, int, int, float]]:
    """The passes the ground plans with (what a flight dynamics team would hand it):
    (station, aos_t_ns, los_t_ns, max_elev_deg) each."""
    epoch = sc.epoch_utc
    out = []
    for st in sc["ground_stations"]:
        for p in passes_refined(orbit_of(sc), st, epoch, hours):
            out.append((st["name"], int(round(p.aos_s * NS_PER_S)), int(round(p.los_s * NS_PER_S)),
                        round(p.max_elev_deg, 3)))
    return sorted(out, key=lambda p: p[1])


def contact_plan(passes: list[tuple[str, int, int, float]]) -> list[list[int]]:
    """The executor's "contacts" table (its ``passes``) from the predicted passes (as
    predicted_passes gives them): the times some station hears the spacecraft, in time
    order, overlapping or touching passes of several stations joined (the table refuses
    overlaps), the first CONTACT_PLAN_MAX of them (what the ground uplinks before the run;
    a longer mission would uplink the next ones as a TableLoad)."""
    out: list[list[int]] = []
    for aos, los in sorted((int(p[1]), int(p[2])) for p in passes):
        if aos >= los:
            continue
        if out and aos <= out[-1][1]:
            out[-1][1] = max(out[-1][1], los)
        else:
            out.append([aos, los])
    return out[:CONTACT_PLAN_MAX]


def uplinked_orbit(sc: Scenario) -> dict:
    """The TLE the ground uplinks for the power manager's eclipse forecast: the scenario's
    own lines, or its circular elements written as a TLE at the epoch (what a flight team
    would get from the launch provider's state vector)."""
    o = sc["orbit"]
    if "tle" in o:
        line1, line2 = o["tle"]
    else:
        line1, line2 = tle_from_circular(float(o["altitude_km"]), float(o["inclination_deg"]),
                                         float(o["raan_deg"]), float(o.get("arg_lat_deg", 0.0)), sc.epoch_utc)
    return {"tle_line1": line1, "tle_line2": line2, "epoch_utc": sc.epoch_utc.isoformat()}


def thermal_table(sc: Scenario) -> dict:
    """The thermal guard's table for this satellite: limits from the hardware's, heaters and
    radiator as built (what a flight team would load before launch)."""
    b, p, t = sc["boards"], sc["power"], sc["thermal"]
    plates = math.ceil(b["count"] / t["boards_per_plate"])
    return {
        "n_boards": b["count"], "max_power_w": b["max_power_w"], "min_power_w": b["min_power_w"],
        "cap_start_c": t["board_cap_start_c"], "limit_c": t["board_limit_c"],
        "restart_below_c": t["board_cap_start_c"] - 5.0,
        "board": {"red_lo_c": b["cold_limit_c"], "yellow_lo_c": b["cold_limit_c"] + 5.0},
        "battery": {"red_lo_c": p["battery_charge_min_c"], "yellow_lo_c": p["battery_charge_min_c"] + 10.0,
                    "yellow_hi_c": p["battery_charge_max_c"] - 5.0, "red_hi_c": p["battery_charge_max_c"]},
        "boards_per_plate": t["boards_per_plate"], "plate_heater_power_w": t["plate_heater_power_w"],
        "battery_heater_power_w": t["battery_heater_power_w"], "radiator_area_m2": t["radiator_area_m2"],
        "radiator_emissivity": t["radiator_emissivity"], "housekeeping_w": p["housekeeping_w"],
        "sink_fit_above_c": t["louver_open_above_c"],
        # the radiator and the cold plates (5 kJ/K each) warm together
        "radiator_heat_capacity_j_per_k": t["radiator_heat_capacity_j_per_k"] + 5000.0 * plates,
        # the capacity forecast follows the heat down the conductances as built, with the
        # boards at their yellow: so the radiator's own limits are only a backstop, the
        # boards' (it is never hotter than they are)
        "board_to_plate_w_per_k": t["board_to_plate_w_per_k"],
        "plate_to_radiator_w_per_k": t["plate_to_radiator_w_per_k"],
        "radiator": {"yellow_hi_c": t["board_cap_start_c"], "red_hi_c": t["board_limit_c"]},
        # the budget for the scheduler holds the boards a little below where their caps start
        "budget_at_c": t["board_cap_start_c"] - BUDGET_MARGIN_C, "budget_tau_s": BUDGET_TAU_S,
    }


class Recorder:
    """Taps the hub: the event log (every Event), flight telemetry samples, the power
    manager's mode (every PowerBudget) and the states each job reached (JobState)."""

    def __init__(self, events_path: Path, t_tick_s: float) -> None:
        self.events_file = events_path.open("w")
        self.by_severity: Counter = Counter()
        self.tick_s = t_tick_s
        self.mode: str | None = None  # the power manager's last mode, from its tick
        self.mode_tick = 0
        self.mode_ticks: Counter = Counter()  # mode -> ticks in it (closed intervals)
        self.mode_transitions = 0
        self.mode_changes: list[dict] = []  # the first MODE_CHANGES_KEPT
        self.job_states: dict[str, set[str]] = {}  # job id -> every state it reported
        self.samples: dict[str, list] = {"budget_t_s": [], "budget_w": [], "exec_t_s": [],
                                         "jobs_queued": [], "jobs_running": [], "jobs_completed": [],
                                         "jobs_downlinked": [], "jobs_failed": [], "jobs_expired": [],
                                         "boards_busy": [], "power_alloc_w": []}

    def __call__(self, tick: int, w: Wire) -> None:
        if w.kind == Event.KIND:
            m = decode(w.data)
            sev = Severity(m.body.severity).name
            self.by_severity[sev] += 1
            self.events_file.write(json.dumps({
                "tick": tick, "t_s": m.env.t_ns / NS_PER_S, "src": m.env.src, "seq": m.env.seq,
                "severity": sev, "name": m.body.name, "text": m.body.text}) + "\n")
        elif w.kind == PowerBudget.KIND:
            m = decode(w.data)  # every tick (~10 us): the mode stream
            b = m.body
            if w.src == "power":
                self._mode(tick, m.env.t_ns, b.mode)
            if tick % SAMPLE_EVERY_TICKS == 0:
                self.samples["budget_t_s"].append(tick * self.tick_s)
                self.samples["budget_w"].append(b.compute_budget_w)
        elif w.kind == JobState.KIND and w.src == "executor":
            js = decode(w.data).body
            self.job_states.setdefault(js.job_id, set()).add(js.state)
        elif w.kind == ExecutorStatus.KIND and tick % SAMPLE_EVERY_TICKS == 0:
            s = decode(w.data).body
            self.samples["exec_t_s"].append(tick * self.tick_s)
            for k in ("jobs_queued", "jobs_running", "jobs_completed", "jobs_downlinked",
                      "jobs_failed", "jobs_expired", "boards_busy", "power_alloc_w"):
                self.samples[k].append(getattr(s, k))

    def _mode(self, tick: int, t_ns: int, mode: str) -> None:
        if self.mode is not None:
            self.mode_ticks[self.mode] += tick - self.mode_tick
            if mode != self.mode:
                self.mode_transitions += 1
                if len(self.mode_changes) < MODE_CHANGES_KEPT:
                    self.mode_changes.append({"t_s": t_ns / NS_PER_S, "from": self.mode, "to": mode})
        self.mode, self.mode_tick = mode, tick

    def modes(self, end_tick: int) -> dict:
        """Time in each mode [s] from the first PowerBudget to ``end_tick`` (a mode holds
        until the next budget says otherwise, also while the power manager is down), the
        number of mode changes and the first MODE_CHANGES_KEPT of them."""
        ticks = Counter(self.mode_ticks)
        if self.mode is not None:
            ticks[self.mode] += max(end_tick - self.mode_tick, 0)
        return {"time_in_each_s": {m: n * self.tick_s for m, n in sorted(ticks.items())},
                "transitions": self.mode_transitions, "changes": list(self.mode_changes)}

    def close(self) -> None:
        self.events_file.close()


def run(cfg: RunConfig, progress=None, chaos=None) -> dict:
    """Run the scenario; write report.json, events.jsonl and plots under cfg.out_dir.
    ``chaos``: see flightsw.bus.runner.run_lockstep (hil mode; sim.chaos.ChaosMonkey)."""
    out = cfg.out_dir
    if out.exists():
        # Replace only an earlier run's folder (or an empty one): never delete anything else.
        if not out.is_dir() or (any(out.iterdir()) and not (out / "report.json").exists()
                                and not (out / "events.jsonl").exists()):
            raise ScenarioError(
                f"--out: expected a new folder or an earlier run's output, got {str(out)!r} "
                "which holds other files")
        shutil.rmtree(out)
    store_dir = out / "onboard"
    (out / "ground").mkdir(parents=True)
    store_dir.mkdir(parents=True)
    jobs = generate_jobs(cfg.scenario, cfg.hours)
    specs = build_specs(cfg, store_dir, jobs)
    recorder = Recorder(out / "events.jsonl", cfg.scenario.tick_s)
    try:
        res = run_lockstep(
            specs, cfg.n_ticks, tick_ns=int(cfg.scenario.tick_s * NS_PER_S), mode=cfg.mode,
            kills=cfg.faults.kills, speed=cfg.speed, tap=recorder, progress=progress, chaos=chaos,
        )
    finally:
        recorder.close()
    report = make_report(cfg, res, recorder, jobs)
    (out / "report.json").write_text(json.dumps(report, indent=2, sort_keys=True) + "\n")
    if cfg.plots:
        from sim.plots import write_plots

        write_plots(plot_series(cfg, res.reports.get("world", {}), recorder), out / "plots")
    return report


def is_protected(spec: JobSpec) -> bool:
    """Whether the flight side must catch silent corruption of this job's result: a kind
    with its own check (matmul's ABFT checksums) or a job asked to run twice (dual)."""
    return spec.kind in PROTECTED_KINDS or (spec.params or {}).get("dual") is True


def wrong_results(db_path: Path, jobs: list[JobSpec]) -> tuple[list[str], list[str]]:
    """(all job ids, wrong job ids) of the results in a sqlite store with a ``results``
    table (the ground archive, or the onboard ledger), judged by the simulator's truth: a
    synthetic result regenerated from its seed, a matmul result by its ABFT checksums."""
    if db_path is None or not db_path.exists():
        return [], []
    specs = {j.job_id: j for j in jobs}
    db = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True)
    try:
        rows = db.execute("SELECT job_id, kind, data, sha256 FROM results ORDER BY job_id").fetchall()
    finally:
        db.close()
    wrong = []
    for job_id, kind, data, sha in rows:
        spec = specs.get(job_id)
        data = bytes(data)
        if spec is None or kind != spec.kind:
            wrong.append(job_id)
        elif kind == "synthetic":
            if data != expected_synthetic(job_id, spec.seed, spec.output_bytes):
                wrong.append(job_id)
        elif not verify_result(kind, data, bytes(sha))[0]:
            wrong.append(job_id)
    return [r[0] for r in rows], wrong


def wrong_archived_results(archive_path: Path, jobs: list[JobSpec]) -> list[str]:
    """Results in the ground archive that are wrong by the truth: corrupt results
    delivered to a user."""
    return wrong_results(archive_path, jobs)[1]


def integrity_report(world: dict, executor: dict | None, station: dict, jobs: list[JobSpec],
                     job_states: dict[str, set[str]], archive_path: Path | None = None,
                     ledger_path: Path | None = None) -> dict:
    """Silent data corruption: what the world injected, what the flight side detected,
    and what slipped through. ``undetected_protected`` must be [] in a correct system:
    a protected job that was hit, finished, was never caught by the flight side, and whose
    result (on board or on the ground) is wrong by the truth, or could not be judged.
    A hit whose work was thrown away (rolled back to a checkpoint before the job
    finished) leaves a right result: that is no escape."""
    executor = executor or {}
    protected = {j.job_id for j in jobs if is_protected(j)}
    hits = world.get("sdc_hits_by_job", {})
    hit_protected = sorted(j for j in hits if j in protected)
    # sdc_detected, sdc_detected_jobs: from the executor's final_report
    detected_jobs = set(executor.get("sdc_detected_jobs", []))
    judged, wrong = set(), set()
    for path in (archive_path, ledger_path):
        ids, bad = wrong_results(path, jobs)
        judged.update(ids)
        wrong.update(bad)
    right = judged - wrong
    return {
        "sdc_injected": world.get("hardware_events", {}).get("sdc", 0),
        "sdc_injected_protected": sum(hits[j] for j in hit_protected),
        "sdc_detected": int(executor.get("sdc_detected", 0)),
        "protected_jobs_hit": hit_protected,
        "undetected_protected": [j for j in hit_protected
                                 if job_states.get(j, set()) & set(FINISHED_STATES)
                                 and j not in detected_jobs and j not in right],
        # reached the ground corrupt (not caught on board; the ground's check caught them)
        "corrupt_results_downlinked": station.get("results_corrupt", 0),
        # archived as good but wrong by the simulator's truth: must be 0
        "corrupt_results_delivered": len(wrong_archived_results(archive_path, jobs)) if archive_path else None,
    }


def make_report(cfg: RunConfig, res, recorder: Recorder, jobs: list[JobSpec] | None = None) -> dict:
    """The run's report (report.json). ``jobs``: the run's workload (generated again from
    the scenario when not given)."""
    if jobs is None:
        jobs = generate_jobs(cfg.scenario, cfg.hours)
    world = res.reports.get("world", {})
    station = res.reports.get("station", {})
    executor = res.reports.get("executor")
    accepted = set(station.get("accepted_ids", []))
    by_state = executor["jobs_by_state"] if executor else {}
    lost = None
    if executor is not None:
        onboard = set(executor.get("job_ids", []))
        lost = len(accepted - onboard)
    return {
        "scenario": cfg.scenario.name,
        "seed": cfg.seed,
        "policy": cfg.policy,
        "mode": cfg.mode,
        "sim_hours": cfg.hours,
        "ticks": res.ticks,
        "wall_s": round(res.wall_s, 3),
        "digest": res.digest,
        "energy": world.get("energy", {}),
        "work_gpu_s": world.get("work_gpu_s", 0.0),
        "value_delivered": station.get("value_delivered", 0.0),
        "jobs": {
            "submitted": station.get("jobs_released", 0),
            "sent": station.get("jobs_sent", 0),
            "accepted": len(accepted),
            "completed": by_state.get("COMPLETED", 0) + by_state.get("DOWNLINKED", 0),
            "downlinked": station.get("downlinked", 0),
            "failed": by_state.get("FAILED", 0),
            "expired": by_state.get("EXPIRED", 0),
            "rejected": by_state.get("REJECTED", 0),
            "lost": lost,
        },
        "soc_min": world.get("soc_min"),
        "eclipses": world.get("eclipses", []),  # the least charge in each: what the reserve is for
        "below_floor": world.get("below_floor", []),  # spans of SOC under the floor
        "brownouts": world.get("brownouts", []),  # spans of ticks the battery could not carry the load
        "damage": world.get("damage", []),  # [[damage]] applied, with what was left
        "board_temp_max_c": world.get("board_temp_max_c"),
        "violations": world.get("violations", {}),
        "violation_first_tick": world.get("violation_first_tick", {}),
        "events_by_severity": dict(sorted(recorder.by_severity.items())),
        "restarts": [{"tick": t, "process": p, "reason": r} for t, p, r in res.restarts],
        "restarts_by_process": dict(sorted(Counter(p for _, p, _ in res.restarts).items())),
        "dead_at_end": list(res.dead_at_end),
        "kills": [{"tick": t, "process": p, "reason": r} for t, p, r in res.kills],
        "link": world.get("link", {}),
        # the space link's two ends: telecommands and files on board, packets and files on the ground
        "space_link": {"onboard": res.reports.get("comms", {}),
                       "ground": {k: station.get(k) for k in (
                           "tc_sent", "tm_received", "tm_gaps", "frames_bad_by_reason", "files_received",
                           "cfdp_receiver")}},
        "hub": {"routed": res.hub.routed, "dropped_dead": res.hub.dropped_dead,
                "dropped_unroutable": res.hub.dropped_unroutable},
        "results_corrupt": station.get("results_corrupt", 0),
        "hardware_events": world.get("hardware_events", {}),
        "boards_failed": world.get("boards_failed", 0),
        "injected": world.get("injected", {"hang": 0, "fail": 0}),
        "integrity": integrity_report(world, executor, station, jobs, recorder.job_states,
                                      cfg.out_dir / "ground" / "archive.sqlite",
                                      cfg.out_dir / "onboard" / "executor.sqlite"),
        "modes": recorder.modes(res.ticks),
        "preemptions": int((executor or {}).get("preemptions", 0)),  # from the executor's final_report
        "commands": station.get("commands", []),  # the command plan's commands and their answers
        # what the ground sent and had accepted, for checks of the onboard ledger against it
        "executor_states": {"ledger": dict(sorted(by_state.items())),
                            "memory": (executor or {}).get("jobs_by_state_in_memory", {})},
        "ground_jobs": {"accepted": sorted(accepted), "sent": station.get("sent_ids", []),
                        "kept_on_ground": station.get("kept_on_ground_ids", []),
                        "duplicates_sent": station.get("duplicates_sent", 0),
                        "bad_frames_sent": station.get("bad_frames_sent", {})},
        "boards": {"power_cycles": int((executor or {}).get("power_cycles", 0)),
                   "out_of_service": list((executor or {}).get("boards_out_of_service", []))},
    }


def plot_series(cfg: RunConfig, world: dict, rec: Recorder) -> dict[str, np.ndarray]:
    s = {k: np.asarray(v) for k, v in world.get("series", {}).items()}
    if "t_s" not in s or len(s["t_s"]) == 0:
        return {"t_s": np.zeros(0)}
    t = s["t_s"]
    s["soc_floor"] = np.asarray(cfg.scenario["power"]["battery_soc_floor"])
    s["board_limit_c"] = np.asarray(cfg.scenario["thermal"]["board_limit_c"])

    def resample(ts: list, ys: list) -> np.ndarray:
        if not ts:
            return np.full(len(t), np.nan)
        return np.interp(t, np.asarray(ts), np.asarray(ys, dtype=float), left=np.nan)

    s["budget_w"] = resample(rec.samples["budget_t_s"], rec.samples["budget_w"])
    for k in ("jobs_queued", "jobs_running", "jobs_completed", "jobs_downlinked", "jobs_failed",
              "jobs_expired"):
        s[k] = resample(rec.samples["exec_t_s"], rec.samples[k])
    return s
