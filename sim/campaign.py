"""Property-based fault campaign over the whole stack (issue 8).

A hypothesis ``RuleBasedStateMachine`` writes a fault plan as it goes: each rule puts one
fault at the plan's present tick, ``advance`` moves the present on by a drawn number of
ticks. The faults: kill an onboard process (once, or in a crash loop), hang one (its loop
stalls: it answers nothing, health pings included), hang, fail or upset a board, a
radiation burst, a sensor fault (off, stuck, biased or random), battery or panel strings
lost for good (a share of the capacity, with its charge, or of the array), and from the
ground a job's upload sent again (a duplicate) or an operator's cancel, an operator command (good,
or bad: it must be refused for a named reason), a bad telecommand frame
(garbage, cut short, forged, replayed), and link faults (frames lost, corrupted,
duplicated, reordered, a whole pass lost). At the end the whole stack
runs the plan in fast mode on the ``campaign`` scenario (deterministic: the same plan and
seed give the same digest, so hypothesis shrinks a failure to its shortest rule sequence
and it replays with ``sim run --faults``), for at least ``MIN_RUN_TICKS``: through the
second pass, so results reach the archive. The flight processes, the world and the
ground station are the real ones, over the real backplane; nothing is mocked.

Invariants, over the whole run (``check``) and against the stores it left (``check_stores``):

- no accepted job lost; no job completed twice but for a rerun the ground or the flight
  side asked for; no corrupt result delivered (archived as good);
- the onboard ledger agrees with a model kept from the plan: it holds exactly the jobs
  the ground sent and had accepted, each stored before the ground heard it accepted, a
  job cancelled on the ground before its upload is not on board, a cancel the executor accepted left the job CANCELLED, and a stored
  result belongs to a job that completed;
- no board above its limit or shut down hot, no brownout; SOC never below the floor,
  unless damage the plan did left physics no choice, and then the power manager in SAFE
  within a tick;
- every onboard process alive at the end, and restarted no more often than it was
  killed or hung, nor past the supervisor's cap (a process killed more often than the cap
  stays down: the supervisor orders safe mode instead; restarting in a loop fails this);
- a hung process is found and restarted within ``HANG_DEADLINE_TICKS`` (the supervisor's
  health pings; the hub's watchdog for a hung supervisor), unless the supervisor was down
  or hung itself meanwhile, or the process had used up its restarts;
- every injected upset in a protected (dual-execution) job detected;
- every bad telecommand frame refused on board, for a named reason;
- every operator command answered: a good one carried out, a bad one refused naming the
  argument or the opcode;
- each eclipse entered with the reserve the power manager promises (the floor, its margin
  and the platform's energy through the eclipse), unless a power sensor was faulted in
  the orbit before it or damage came before its end;
- the run replays: the same plan and seed give the same digest (checked on the first
  example of each chunk of ``sim campaign``, as ``replays_left`` says).

Run plan-then-execute: the stack runs the whole plan once (it runs in lockstep; stopping
it between rules would cost a start per rule), and the invariants are checked after every
step on the run's record, which dates each breach: a breach found at tick T is one the
state after the first step whose present reached T already shows, and a failure names
that step (``Broken.tick``, ``FaultCampaign.broken_at``). A breach is counted wherever it
happens, a passing one included (SOC dipping under the floor and coming back is a
breach). What only the end can tell (a job lost, a process dead at the end, a result
delivered corrupt, a frame not refused) is named at the end. The chaos run in hil mode
is ``sim.chaos``.
"""

from __future__ import annotations

import functools
import json
import math
import sqlite3
import tempfile
from collections import Counter
from dataclasses import replace
from pathlib import Path

from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, precondition, rule

from sim.faults import BAD_FRAMES, DAMAGE_PARTS
from sim.harness import MODE_CHANGES_KEPT, ONBOARD, RunConfig, parse_fault_plan, run
from sim.scenario import load_scenario
from sim.world import sensor_channels

__all__ = ["FaultCampaign", "check", "check_stores", "plan_toml", "recovery_times"]

SCENARIO = "campaign"
FIRST_FAULT_TICK = 141  # [tick] the first pass has begun: jobs going up, the first ones starting
MIN_RUN_TICKS = 2000  # [tick] through the campaign scenario's results passes and its eclipse entry
MAX_DELAY_TICKS = 60  # [tick] a kill, hang or board fault lands up to this far past the present
TAIL_TICKS = 300  # [tick] the run goes on this long after the last fault: recovery time
MAX_PLAN_TICKS = 3 * 3600  # [tick] no plan runs longer (a campaign example stays seconds)
SENSOR_KINDS = ("off", "stuck", "bias", "random")
BOARD_FAULTS = ("hang", "fail", "sdc")
LINK_FAULTS = {"drop": {"loss": 0.3}, "corrupt": {"ber": 1e-4}, "duplicate": {"duplicate": 0.3},
               "reorder": {"reorder": True}, "lost_pass": {"loss": 1.0}}
LOST_PASS_TICKS = 700  # [tick] a lost pass: the link is dead this long (a pass is ~8 min)
MAX_DAMAGE_PER_PART = 2  # losses of the battery's or the array's strings per example
GROUND_DELAY_TICKS = 480  # [tick] a ground action lands up to this far past the present (a pass)
SECOND_PASS_TICKS = 1274  # [tick] the campaign scenario's second pass begins
GROUND_JOBS = 60  # the ground acts on the first jobs of the workload (the backlog sent first)
# the supervisor table's cap per process, and the processes it watches with health pings
# (flightsw.apps.supervisor.tables; the layering keeps sim off the apps:
# tests/sim/test_campaign.py checks these agree)
SUPERVISOR_MAX_RESTARTS = 5
SUPERVISOR_WATCHED = ("comms", "executor", "power", "thermal")
# [tick] a hang is found and the process restarted within this: the supervisor's fatal
# silence (30) after its last ping (every 5), its restart, and slack; the hub's watchdog
# has a silent supervisor restarted after 30
HANG_DEADLINE_TICKS = 60
# the power manager's eclipse reserve above the floor: this margin plus the platform's energy
# through the eclipse (flightsw.apps.power.table; checked by tests/sim/test_campaign.py)
RESERVE_MARGIN_SOC = 0.05
RESERVE_TOLERANCE_SOC = 0.005  # [-] the budget's pacing may arrive a tick's draw short
ORBIT_TICKS = 5739  # [tick] the campaign orbit's period: a sensor fault this long before an
# eclipse may have misled the reserve built for it
MIN_SUN_BEFORE_TICKS = 900  # [tick] of sun from the start that build the first reserve
POWER_SENSORS = ("battery_soc", "solar_power_w", "load_w", "sunlit_fraction")
FINISHED = ("COMPLETED", "DOWNLINKED")
# operator commands (flightsw.icd Opcode; checked by tests/sim/test_campaign.py): good ones the
# app must carry out (OK), bad ones it must refuse, naming the argument or the opcode
NOOP, RESET_COUNTERS, POWER_SET_MODE_LIMIT, EXEC_BOARD_SERVICE = 0, 1, 16, 49
MODES = ("SAFE", "LOW_POWER", "NOMINAL", "COMPUTE")
COMMAND_KINDS = ("noop", "reset_counters", "mode_limit", "board_service", "bad_mode", "bad_board",
                 "bad_opcode", "missing_arg")
UNKNOWN_OPCODE = 200  # no app has it


class Broken(str):
    """A broken invariant: its text, and ``tick``: the first tick it was broken at, where
    the run's record says (None: only the end of the run tells, as for a job lost)."""

    tick: int | None

    def __new__(cls, text: str, tick: int | None = None) -> Broken:
        self = super().__new__(cls, text)
        self.tick = tick
        return self


def plan_toml(entries: list[tuple[str, dict]]) -> str:
    """A fault plan's TOML text from (table, fields) entries, in order."""
    out = []
    for table, fields in entries:
        out.append(f"[[{table}]]")
        for k, v in fields.items():
            out.append(f"{k} = {_toml_value(v)}")
    return "\n".join(out) + "\n"


def _toml_value(v) -> str:
    """A TOML value: booleans, numbers, strings, and tables of them (inline)."""
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, str):
        return '"' + v.replace("\\", "\\\\").replace('"', '\\"') + '"'
    if isinstance(v, dict):
        return "{" + ", ".join(f"{k} = {_toml_value(x)}" for k, x in v.items()) + "}"
    return repr(v)


def _windows(entries: list[tuple[str, dict]], process: str) -> list[tuple[int, int]]:
    """[first, end) ticks in which ``process`` was down by the plan: killed (until the run's
    restart of it could come) or stalled."""
    out = []
    for table, f in entries:
        if f.get("process") != process:
            continue
        if table == "kill":
            out.append((f["tick"], f["tick"] + HANG_DEADLINE_TICKS))
        elif table == "stall":
            out.append((f["tick"], f["tick"] + f["ticks"]))
    return out


def check(report: dict, kills_by_process: Counter, max_restarts: int = SUPERVISOR_MAX_RESTARTS,
          entries: list[tuple[str, dict]] = (), scenario=None) -> list[str]:
    """The invariants a run's report must keep -> what it broke (empty: none).
    ``kills_by_process``: how often the plan killed or hung each process; ``max_restarts``:
    the supervisor's cap per process; a process killed more often stays down (the
    supervisor orders safe mode instead), and only such a process may be dead at the end.
    The supervisor itself is restarted by the hub, without a cap. ``entries``: the plan;
    ``scenario``: the run's (for the eclipse reserve's level; None: not checked)."""
    broken = []
    jobs, integrity = report["jobs"], report["integrity"]
    if jobs["lost"]:
        broken.append(f"jobs lost: {jobs['lost']}")
    if integrity["corrupt_results_delivered"]:  # archived as good but wrong (a corrupt result the
        # ground's check caught on the way down is not delivered: it is refused and run again)
        broken.append(f"corrupt_results_delivered: {integrity['corrupt_results_delivered']}")
    if integrity["undetected_protected"]:
        broken.append(f"upsets in protected jobs not detected: {integrity['undetected_protected']}")
    first = report.get("violation_first_tick", {})
    for k, n in report["violations"].items():
        if n and k not in ("battery_temp", "soc_floor", "brownout"):  # the battery's window is the
            broken.append(Broken(f"violation {k}: {n} tick(s)", first.get(k)))  # heaters' and physics'
    broken += _power_kept(report, entries, scenario)
    capped = {p for p, n in kills_by_process.items() if n > max_restarts and p != "supervisor"}
    if set(report["dead_at_end"]) - capped:
        broken.append(f"dead at the end: {sorted(set(report['dead_at_end']) - capped)}")
    for proc, n in report["restarts_by_process"].items():
        kills = kills_by_process.get(proc, 0)
        most = kills if proc == "supervisor" else min(kills, max_restarts)
        if n > most:
            ticks = [r["tick"] for r in report.get("restarts", []) if r["process"] == proc]
            broken.append(Broken(f"{proc} restarted {n} times, killed or hung {kills} (cap {max_restarts}): "
                                 "a restart loop, or a restart nothing called for",
                                 ticks[most] if len(ticks) > most else None))
    broken += _hangs_found(report, entries, max_restarts)
    broken += _commands_answered(report, entries)
    broken += _bad_frames_refused(report, entries)
    if scenario is not None:
        broken += _reserve_kept(report, entries, scenario)
    return broken


def _modes_in(report: dict, t0_s: float, t1_s: float) -> set[str | None]:
    """The power manager's modes (by its budgets) from ``t0_s`` through ``t1_s``; None in
    the set where the record cannot tell (no budget yet, or past the changes it kept)."""
    modes = report.get("modes", {})
    changes = modes.get("changes", [])
    if len(changes) >= MODE_CHANGES_KEPT and t1_s > changes[-1]["t_s"]:
        return {None}  # the record stopped keeping changes before then
    mode = changes[0]["from"] if changes else next(iter(modes.get("time_in_each_s", {})), None)
    seen: set[str | None] = set()
    for c in changes:
        if c["t_s"] > t0_s:
            if c["t_s"] > t1_s:
                break
            seen.add(mode)
        mode = c["to"]
    seen.add(mode)
    return seen


def _power_kept(report: dict, entries, sc) -> list[str]:
    """SOC never below the floor and no brownout, unless physics left no choice (the plan
    damaged the battery or the panels before it), and then the power manager in SAFE from
    a tick after it began to its end."""
    tick_s = 1.0 if sc is None else sc.tick_s
    damaged = [f["tick"] for t, f in entries if t == "damage"]
    first = report.get("violation_first_tick", {})
    broken = []
    for kind, key, what in (("soc_floor", "below_floor", "SOC below the floor"), ("brownout", "brownouts", "brownout")):
        spans = report.get(key)
        if spans is None:  # a report without spans: the count alone
            if report["violations"].get(kind):
                broken.append(Broken(f"violation {kind}: {report['violations'][kind]} tick(s)", first.get(kind)))
            continue
        for span in spans:
            a, e = span["start_tick"], span["end_tick"]
            text = f"{what} at ticks {a}..{e - 1}" + (f" (min {span['soc_min']:.3f})" if "soc_min" in span else "")
            if not any(d <= a for d in damaged):
                broken.append(Broken(text, a))
                continue
            modes = _modes_in(report, (a + 1) * tick_s, max(a + 1, e - 1) * tick_s)
            if modes != {"SAFE"}:
                shown = sorted(m or "unknown" for m in modes)
                broken.append(Broken(f"{text} after damage, and the power manager not in SAFE throughout from a "
                                     f"tick later ({', '.join(shown)})", a + 1))
    return broken


def good_command(target: str, opcode: int, args: dict, n_boards: int = 16) -> bool:
    """Whether an operator command is one its app must carry out (else it must refuse it)."""
    if opcode in (NOOP, RESET_COUNTERS):
        return args == {}
    if opcode == POWER_SET_MODE_LIMIT:
        return target == "power" and set(args) == {"mode"} and args["mode"] in MODES
    if opcode == EXEC_BOARD_SERVICE:
        return (target == "executor" and set(args) == {"board", "in_service"} and type(args["board"]) is int
                and 0 <= args["board"] < n_boards and isinstance(args["in_service"], bool))
    return False


def _commands_answered(report: dict, entries) -> list[str]:
    """Each operator command the plan sent ([[command]]) and the ground heard answered: a good one carried
    out (OK), a bad one refused with its reason naming the argument or the opcode. (One
    unanswered by the end, lost on the link or to a dead app, is the operator's to resend.)"""
    planned = [(f["target"], f["opcode"], f.get("args") or {}) for t, f in entries if t == "command"]
    if not planned:
        return []
    broken = []
    for c in report.get("commands", []):
        if c.get("stage") not in ("COMPLETED", "FAILED"):
            continue
        if (c["target"], c["opcode"], c.get("args") or {}) not in planned:
            continue  # the ground's own (a [[ground]] cancel: check_stores judges those)
        good = good_command(c["target"], c["opcode"], c.get("args") or {})
        what = f"command {c['target']} {c['opcode']} {c.get('args')}"
        if good and c["status"] != "OK":
            broken.append(f"{what}: a good command refused ({c['status']}: {c['detail']})")
        elif not good and (c["status"] == "OK" or not any(w in c["detail"] for w in ("args.", "opcode"))):
            broken.append(f"{what}: a bad command answered {c['status']} ({c['detail']}), not refused for a named reason")
    return broken


def _bad_frames_refused(report: dict, entries) -> list[str]:
    """Every bad frame that reached the satellite was refused on board, for a reason (unless
    a link fault may have lost some, or comms lost its counts in a restart). A frame the
    ground sent as the pass ended, on the last contact it had heard of, the link drops
    (``dropped_no_contact``, found by the campaign: a garbage frame at tick 617, the pass
    over at 616): each such drop excuses one frame not refused."""
    sent = sum(report.get("ground_jobs", {}).get("bad_frames_sent", {}).values())
    if not sent or any(t == "link" for t, _ in entries) or any(
            f.get("process") == "comms" for t, f in entries if t in ("kill", "stall")):
        return []
    refused = sum(report.get("space_link", {}).get("onboard", {}).get("tc_rejected", {}).values())
    dropped = int((report.get("link") or {}).get("dropped_no_contact", 0))
    if refused < sent - dropped:
        return [f"bad frames: {sent} sent, {refused} refused on board, {dropped} uplink frame(s) dropped out of contact"]
    return []


def _eclipse_lengths_s(sc, hours: float) -> list[tuple[float, float]]:
    """(start, end) [s from the epoch] of each eclipse, penumbrae included."""
    from sim.eclipse import eclipse_events
    from sim.environment import orbit_of

    out: list[tuple[float, float]] = []
    for a, b, _ in eclipse_events(orbit_of(sc), sc.epoch_utc, hours):
        if out and a - out[-1][1] < 1.0:
            out[-1] = (out[-1][0], b)
        else:
            out.append((a, b))
    return out


def _reserve_kept(report: dict, entries, sc) -> list[str]:
    """Each eclipse is entered with the reserve the power manager promises: the floor, the
    margin and the platform's energy through it (housekeeping and the battery heater),
    unless a power sensor was faulted in the orbit before it."""
    p, t = sc["power"], sc["thermal"]
    from sim.battery import BatteryModel

    eta_d = BatteryModel.__dataclass_fields__["discharge_efficiency"].default
    platform_w = float(p["housekeeping_w"]) + float(t["battery_heater_power_w"])
    cap_wh = float(p["battery_capacity_wh"])
    spans = _eclipse_lengths_s(sc, (report["ticks"] * sc.tick_s + 3 * 3600.0) / 3600.0)
    broken = []
    for e in report.get("eclipses", []):
        t0 = e["start_tick"] * sc.tick_s
        if e["start_tick"] < MIN_SUN_BEFORE_TICKS:
            continue  # the run began in it or just before: no sunlit arc to build the reserve in
        if any(f.get("sensor") in POWER_SENSORS and f["start_tick"] <= e["start_tick"]
               and f["end_tick"] > e["start_tick"] - ORBIT_TICKS for table, f in entries if table == "sensor"):
            continue
        if any(table == "damage" and (f["part"] == "panels" and f["tick"] <= e["start_tick"]
                                      or f["part"] == "battery" and e["start_tick"] - ORBIT_TICKS < f["tick"] <= e["end_tick"])
               for table, f in entries):
            continue  # panel strings lost: the sun may no longer build the reserve; battery strings
            # lost within an orbit: the reserve was built on the larger battery (the floor and
            # SAFE are still checked: _power_kept)
        length_s = next((b - a for a, b in spans if a - 2.0 <= t0 <= b), 0.0)
        level = float(p["battery_soc_floor"]) + RESERVE_MARGIN_SOC + platform_w * length_s / eta_d / 3600.0 / cap_wh
        if e["soc_start"] < level - RESERVE_TOLERANCE_SOC:
            broken.append(Broken(f"eclipse at tick {e['start_tick']} ({length_s:.0f} s) entered at SOC "
                                 f"{e['soc_start']:.3f}, below its reserve level {level:.3f}", e["start_tick"]))
    return broken


def _hangs_found(report: dict, entries, max_restarts: int) -> list[str]:
    """Every stall of at least HANG_DEADLINE_TICKS ended by a restart within that."""
    broken = []
    restarts = [(r["tick"], r["process"]) for r in report["restarts"]]
    sup_down = _windows(list(entries), "supervisor")
    for table, f in entries:
        if table != "stall" or f["ticks"] < HANG_DEADLINE_TICKS:
            continue
        proc, t0 = f["process"], f["tick"]
        t1 = t0 + HANG_DEADLINE_TICKS
        if proc != "supervisor" and sum(1 for t, p in restarts if p == proc and t < t0) >= max_restarts:
            continue  # its restarts used up: it may stay hung (safe mode is ordered instead)
        if proc != "supervisor" and any(a < t1 and t0 - HANG_DEADLINE_TICKS < b for a, b in sup_down):
            continue  # nobody watching meanwhile
        if any(a < t0 <= b for a, b in _windows([e for e in entries if e[1] is not f], proc)):
            continue  # already down or hung when this stall began
        if not any(p == proc and t0 <= t <= t1 for t, p in restarts):
            broken.append(Broken(f"{proc} hung at tick {t0} for {f['ticks']} ticks: not restarted within "
                                 f"{HANG_DEADLINE_TICKS} ticks", t1))
    return broken


def check_stores(ledger_path: Path, report: dict, entries: list[tuple[str, dict]], tick_ns: int = 10**9,
                 archive_path: Path | None = None) -> list[str]:
    """The onboard ledger (the executor's sqlite file) against the model the plan and the
    ground give: see the module note. ``tick_ns``: the scenario's tick; ``archive_path``:
    the ground's archive (when given, each job the ground heard accepted must have been in
    the ledger by then: an acknowledgement never leaves before the job is stored). -> what
    disagrees (empty: none)."""
    if not ledger_path.exists():
        return ["the onboard ledger is missing"]
    db = sqlite3.connect(f"file:{ledger_path}?mode=ro", uri=True)
    try:
        states = dict(db.execute("SELECT job_id, state FROM jobs").fetchall())
        reruns = dict(db.execute("SELECT job_id, reruns FROM jobs").fetchall())
        results = [j for (j,) in db.execute("SELECT job_id FROM results")]
        history = db.execute("SELECT job_id, state, t_ns FROM history ORDER BY rowid").fetchall()
    finally:
        db.close()
    broken = []
    ground = report["ground_jobs"]
    stray = set(states) - set(ground["sent"])
    if stray:
        broken.append(f"ledger holds jobs the ground never sent: {sorted(stray)[:5]}")
    completions: Counter = Counter()
    twice_at: dict[str, int] = {}  # the tick of the completion one too many
    for j, state, t_ns in history:
        if state != "COMPLETED":
            continue
        completions[j] += 1
        if completions[j] == 2 + (reruns.get(j) or 0):
            twice_at[j] = t_ns // tick_ns
    if twice_at:
        broken.append(Broken(f"jobs completed twice (no rerun asked for): {sorted(twice_at)[:5]}",
                             min(twice_at.values())))
    held = report.get("executor_states", {})
    if held and held["memory"]:
        final = ("COMPLETED", "DOWNLINKED", "FAILED", "EXPIRED", "CANCELLED", "REJECTED")
        mem = {k: held["memory"].get(k, 0) for k in final}
        led = {k: held["ledger"].get(k, 0) for k in final}
        if mem != led or sum(held["memory"].values()) != sum(held["ledger"].values()):
            broken.append(f"the executor's jobs in memory {held['memory']} disagree with its ledger {held['ledger']}")
    restarts_ns = [r["tick"] * tick_ns for r in report.get("restarts", []) if r["process"] == "executor"]
    last: dict[str, tuple[str, int]] = {}
    restarted_twice: dict[str, int] = {}  # job -> the tick it started again
    for job, state, t_ns in history:  # a job starts again only after a stop: preempted, rerun, or a restart
        prev = last.get(job)
        if state == "STARTED" and prev is not None and prev[0] in ("STARTED", "PROGRESS") and not any(
                prev[1] <= r <= t_ns for r in restarts_ns):
            restarted_twice.setdefault(job, t_ns // tick_ns)
        if state != "PROGRESS":
            last[job] = (state, t_ns)
        elif prev is not None:
            last[job] = ("PROGRESS", prev[1])
    if restarted_twice:
        broken.append(Broken(f"jobs started again with no preemption, rerun or restart between: "
                             f"{sorted(restarted_twice)[:5]}", min(restarted_twice.values())))
    if archive_path is not None and archive_path.exists():
        broken += _acked_after_stored(archive_path, history, tick_ns)
    orphans = sorted(j for j in results if states.get(j) not in FINISHED)
    if orphans:
        broken.append(f"results stored for jobs that did not complete: {orphans[:5]}")
    answers = {c["args"].get("job_id"): c for c in report["commands"]
               if c["opcode"] == EXEC_CANCEL_JOB and c["status"] == "OK"}
    for table, f in entries:
        if table != "ground" or f["action"] != "cancel":
            continue
        job = f["job"]
        if job in ground["kept_on_ground"]:
            if job in states:
                broken.append(f"{job} was cancelled before its upload but is on board ({states[job]})")
        elif job in answers and states.get(job) != "CANCELLED":
            broken.append(f"{job}: the executor accepted its cancel but the ledger says {states.get(job)}")
    return broken


def _acked_after_stored(archive_path: Path, history: list, tick_ns: int) -> list[str]:
    """Each job the ground heard accepted was in the onboard ledger when the word came: its
    first ledger row is no later. A job acknowledged, then lost in a crash before it was
    stored and sent again on the ground's stage timeout, shows as a first row after the
    acknowledgement (the ground heals it; the durability bug is there all the same)."""
    db = sqlite3.connect(f"file:{archive_path}?mode=ro", uri=True)
    try:
        accepted = dict(db.execute("SELECT job_id, accepted_t_ns FROM jobs WHERE accepted_t_ns IS NOT NULL").fetchall())
    finally:
        db.close()
    first: dict[str, int] = {}
    for job, _state, t_ns in history:
        first.setdefault(job, t_ns)
    early = {j: t for j, t in accepted.items() if j not in first or first[j] > t}
    if not early:
        return []
    return [Broken(f"jobs acknowledged to the ground before they were in the onboard ledger: {sorted(early)[:5]}",
                   min(early.values()) // tick_ns)]


EXEC_CANCEL_JOB = 48  # flightsw.icd Opcode.EXEC_CANCEL_JOB (checked by tests/sim/test_campaign.py)


def recovery_times(report: dict, events_path: Path, entries: list[tuple[str, dict]]) -> dict[str, list[int]]:
    """Detection and recovery times [ticks] of the plan's kills and hangs: from the fault
    to the supervisor's (or the hub's) word on it, and to the process's restart, each
    looked for only until the plan's next kill or hang of the same process (a stall too
    short to be noticed has no detection: the next fault's must not be counted as its
    own; the 10,000-example run on 19d2dc1 reported a 4,943-tick "detection" so)."""
    events = []
    if events_path.exists():
        for line in events_path.read_text().splitlines():
            e = json.loads(line)
            if e["name"] in ("supervisor.process_dead", "supervisor.process_hung", "hub.process_killed",
                             "hub.process_lost"):
                events.append((e["tick"], e["text"]))
    restarts = [(r["tick"], r["process"]) for r in report["restarts"]]
    out: dict[str, list[int]] = {"detection": [], "recovery": []}
    faults = [(f["tick"], f["process"]) for table, f in entries if table in ("kill", "stall")]
    for t0, proc in faults:
        t1 = min((t for t, p in faults if p == proc and t > t0), default=math.inf)
        seen = [t for t, text in events
                if t0 <= t < t1 and text.startswith(proc) and "killed by the fault plan" not in text]
        back = [t for t, p in restarts if p == proc and t0 <= t < t1]
        if seen:
            out["detection"].append(seen[0] - t0)
        if back:
            out["recovery"].append(back[0] - t0)
    return out


@functools.cache
def early_jobs() -> tuple[str, ...]:
    """The jobs a run of the campaign scenario without faults completes before its second
    pass (one run per process, ~3 s; deterministic, so the same everywhere)."""
    sc = load_scenario(SCENARIO)
    with tempfile.TemporaryDirectory(prefix="campaign-calibration-") as tmp:
        run(RunConfig(scenario=sc, scenario_ref=SCENARIO, hours=SECOND_PASS_TICKS * sc.tick_s / 3600.0, seed=0,
                      mode="fast", out_dir=Path(tmp), plots=False))
        db = sqlite3.connect(f"file:{Path(tmp) / 'onboard' / 'executor.sqlite'}?mode=ro", uri=True)
        try:
            done = [j for (j,) in db.execute("SELECT job_id FROM jobs WHERE state IN ('COMPLETED', 'DOWNLINKED') "
                                             "ORDER BY job_id")]
        finally:
            db.close()
    return tuple(done)


class FaultCampaign(RuleBasedStateMachine):
    """One example: a fault plan drawn rule by rule, then run and checked (teardown)."""

    seed = 0  # the run's seed (the campaign sets it per worker; a failure prints it)
    sink: list | None = None  # where each example's record goes (sim campaign sets it)
    replays_left = 0  # this many of the next examples are run twice: the digests must agree

    def __init__(self) -> None:
        super().__init__()
        self.sc = load_scenario(SCENARIO)
        self.n_boards = int(self.sc["boards"]["count"])
        self.tick = FIRST_FAULT_TICK
        self.entries: list[tuple[str, dict]] = []
        self.kinds: Counter = Counter()
        self.rules: Counter = Counter()
        self.kills: Counter = Counter()
        self.steps: list[tuple[str, int]] = []  # (rule, the present tick after it), in order
        self.report: dict | None = None
        self.broken: list[str] = []

    def _step(self, rule: str) -> None:
        """A rule ran: counted, and its step recorded with the plan's present tick then."""
        self.rules[rule] += 1
        self.steps.append((rule, self.tick))

    def broken_at(self) -> list[dict]:
        """Each broken invariant with the step after which it was first broken: the first
        step whose present tick reaches the tick the run's record gives (step None: in
        the run's tail after the last step, or only the end of the run tells)."""
        out = []
        for b in self.broken:
            tick = getattr(b, "tick", None)
            k = None if tick is None else next((i for i, (_, t) in enumerate(self.steps) if t >= tick), None)
            out.append({"invariant": str(b), "tick": tick, "step": k,
                        "rule": None if k is None else self.steps[k][0]})
        return out

    def _room(self) -> bool:
        return self.tick < MAX_PLAN_TICKS

    def _kill(self, process: str, tick: int) -> bool:
        if any(t == "kill" and f["tick"] == tick and f["process"] == process for t, f in self.entries):
            return False  # one kill of a process per tick
        self.entries.append(("kill", {"process": process, "tick": tick}))
        self.kills[process] += 1
        return True

    @precondition(_room)
    @rule(process=st.sampled_from(ONBOARD), delay=st.integers(0, MAX_DELAY_TICKS))
    def kill(self, process: str, delay: int) -> None:
        """A kill ``delay`` ticks after the present (faults land between advances too)."""
        self._step("kill")
        if self._kill(process, self.tick + delay):
            self.kinds["kill"] += 1

    @precondition(_room)
    @rule(process=st.sampled_from(ONBOARD), times=st.integers(2, 9), every=st.integers(20, 200))
    def crash_loop(self, process: str, times: int, every: int) -> None:
        """A process that dies again each time it comes back (a poisoned input, a bad
        file): killed ``times`` times, ``every`` ticks apart."""
        self._step("crash_loop")
        for k in range(times):
            if self._kill(process, self.tick + k * every):
                self.kinds["kill"] += 1

    @precondition(_room)
    @rule(process=st.sampled_from(ONBOARD), ticks=st.sampled_from([5, 20, 60, 120, 400]),
          delay=st.integers(0, MAX_DELAY_TICKS))
    def hang(self, process: str, ticks: int, delay: int) -> None:
        self._step("hang")
        at = self.tick + delay
        if any(t == "stall" and f["process"] == process and f["tick"] <= at + ticks and at <= f["tick"] + f["ticks"]
               for t, f in self.entries):
            return  # it would join another hang of the process into a longer one (found by the
            # campaign itself: two 20-tick hangs, overlapping, made a 32-tick one that the
            # supervisor rightly restarted, which the model had not called for)
        self.entries.append(("stall", {"process": process, "tick": at, "ticks": ticks}))
        self.kinds["hang"] += 1
        if ticks >= HANG_DEADLINE_TICKS:
            self.kills[process] += 1  # a long hang is a restart the supervisor owes

    @precondition(_room)
    @rule(board=st.integers(0, 15), fault=st.sampled_from(BOARD_FAULTS), delay=st.integers(0, MAX_DELAY_TICKS))
    def board_fault(self, board: int, fault: str, delay: int) -> None:
        self._step("board_fault")
        self.entries.append(("board", {"board": board % self.n_boards, "tick": self.tick + delay, "fault": fault}))
        self.kinds[f"board_{fault}"] += 1

    @precondition(_room)
    @rule(ticks=st.integers(60, 1800), multiplier=st.sampled_from([3.0, 10.0, 100.0]))
    def radiation_burst(self, ticks: int, multiplier: float) -> None:
        self._step("radiation_burst")
        self.entries.append(("radiation", {"start_tick": self.tick, "end_tick": self.tick + ticks,
                                           "multiplier": multiplier}))
        self.kinds["radiation_burst"] += 1

    @precondition(_room)
    @rule(data=st.data(), kind=st.sampled_from(SENSOR_KINDS), ticks=st.integers(1, 900))
    def sensor_fault(self, data, kind: str, ticks: int) -> None:
        self._step("sensor_fault")
        channels = sensor_channels(self.n_boards)
        sensor = data.draw(st.sampled_from(sorted(channels)), label="sensor")
        index = data.draw(st.integers(0, channels[sensor] - 1), label="index")
        fields = {"sensor": sensor, "index": index, "kind": kind, "start_tick": self.tick,
                  "end_tick": self.tick + ticks}
        if kind == "bias":
            fields["value"] = data.draw(st.sampled_from([-50.0, -5.0, 5.0, 50.0]), label="bias")
        elif kind == "random":
            fields["low"], fields["high"] = -1000.0, 1000.0
        self.entries.append(("sensor", fields))
        self.kinds[f"sensor_{kind}"] += 1

    @precondition(_room)
    @rule(data=st.data(), action=st.sampled_from(["duplicate", "cancel"]), early=st.booleans(),
          delay=st.integers(0, GROUND_DELAY_TICKS))
    def ground(self, data, action: str, early: bool, delay: int) -> None:
        """The ground acts on a job, ``delay`` ticks past the present: one of the backlog's
        first, or (``early``) one that a run without faults starts in the first pass and
        completes before the second, so that a duplicate or a cancel may well come while
        it runs or after it is done."""
        self._step("ground")
        pool = early_jobs() if early and early_jobs() else [f"job-{k:05d}" for k in range(GROUND_JOBS)]
        job = data.draw(st.sampled_from(pool), label="job")
        self.entries.append(("ground", {"tick": self.tick + delay, "action": action, "job": job}))
        self.kinds[f"ground_{action}"] += 1

    @precondition(_room)
    @rule(kind=st.sampled_from(sorted(LINK_FAULTS)), ticks=st.integers(10, 900))
    def link_fault(self, kind: str, ticks: int) -> None:
        """The space link misbehaves for ``ticks``: frames lost, bits flipped, frames
        delivered twice or out of order, or a whole pass lost."""
        self._step("link_fault")
        fields: dict = {"start_tick": self.tick, "end_tick": self.tick + (LOST_PASS_TICKS if kind == "lost_pass" else ticks)}
        fields.update(LINK_FAULTS[kind])
        self.entries.append(("link", fields))
        self.kinds[f"link_{kind}"] += 1

    @precondition(_room)
    @rule(kind=st.sampled_from(BAD_FRAMES))
    def bad_frame(self, kind: str) -> None:
        """The ground sends a bad telecommand frame: garbage, cut short, forged or replayed."""
        self._step("bad_frame")
        self.entries.append(("frame", {"tick": self.tick, "kind": kind}))
        self.kinds[f"frame_{kind}"] += 1

    @precondition(_room)
    @rule(part=st.sampled_from(DAMAGE_PARTS), fraction=st.sampled_from([0.1, 0.25, 0.5]),
          delay=st.integers(0, MAX_DELAY_TICKS))
    def damage(self, part: str, fraction: float, delay: int) -> None:
        """Battery cell strings or panel strings lost for good (debris, a failed string), at
        most MAX_DAMAGE_PER_PART times a part: a satellite left a quarter of its array or
        battery is damaged; one left a hundredth is a wreck the campaign learns nothing from
        (found: fourteen losses in one example left 1 % of the array, and shrinking it
        defeated hypothesis)."""
        self._step("damage")
        if sum(1 for t, f in self.entries if t == "damage" and f["part"] == part) >= MAX_DAMAGE_PER_PART:
            return
        self.entries.append(("damage", {"tick": self.tick + delay, "part": part, "fraction": fraction}))
        self.kinds[f"damage_{part}"] += 1

    @precondition(_room)
    @rule(kind=st.sampled_from(COMMAND_KINDS), app=st.sampled_from(ONBOARD), board=st.integers(0, 15),
          flag=st.booleans(), mode=st.sampled_from(MODES))
    def command(self, kind: str, app: str, board: int, flag: bool, mode: str) -> None:
        """An operator command from the ground: a no-op, a counter reset, a mode limit, a
        board taken out of or back into service; or a bad one (a mode no power manager
        has, a board past the last, an opcode no app has, a cancel without its job)."""
        self._step("command")
        target, opcode, args = {
            "noop": (app, NOOP, {}),
            "reset_counters": (app, RESET_COUNTERS, {}),
            "mode_limit": ("power", POWER_SET_MODE_LIMIT, {"mode": mode}),
            "board_service": ("executor", EXEC_BOARD_SERVICE, {"board": board % self.n_boards, "in_service": flag}),
            "bad_mode": ("power", POWER_SET_MODE_LIMIT, {"mode": "TURBO"}),
            "bad_board": ("executor", EXEC_BOARD_SERVICE, {"board": self.n_boards + board, "in_service": flag}),
            "bad_opcode": (app, UNKNOWN_OPCODE, {}),
            "missing_arg": ("executor", EXEC_CANCEL_JOB, {}),
        }[kind]
        fields: dict = {"tick": self.tick, "target": target, "opcode": opcode}
        if args:
            fields["args"] = args
        self.entries.append(("command", fields))
        self.kinds[f"command_{kind}"] += 1

    @rule(ticks=st.integers(10, 1800))
    def advance(self, ticks: int) -> None:
        self.tick = min(MAX_PLAN_TICKS, self.tick + ticks)
        self._step("advance")

    def teardown(self) -> None:
        if not self.entries:
            return
        plan = parse_fault_plan(plan_toml(self.entries), "campaign")
        last = max(max(f.get("end_tick", f.get("tick", 0) + f.get("ticks", 0) * (t == "stall"))
                       for t, f in self.entries), self.tick)
        ticks = max(MIN_RUN_TICKS, last + TAIL_TICKS)
        hours = ticks * self.sc.tick_s / 3600.0
        cfg = RunConfig(scenario=self.sc, scenario_ref=SCENARIO, hours=hours, seed=self.seed, mode="fast",
                        faults=plan, plots=False)
        with tempfile.TemporaryDirectory(prefix="campaign-") as tmp:
            out = Path(tmp)
            self.report = run(replace(cfg, out_dir=out / "run"))
            self.broken = check(self.report, self.kills, entries=self.entries, scenario=self.sc)
            self.broken += check_stores(out / "run" / "onboard" / "executor.sqlite", self.report, self.entries,
                                        int(round(self.sc.tick_s * 1e9)), out / "run" / "ground" / "archive.sqlite")
            times = recovery_times(self.report, out / "run" / "events.jsonl", self.entries)
            self.replayed = type(self).replays_left > 0
            if self.replayed:  # the same plan and seed once more: the digest must replay
                type(self).replays_left -= 1
                again = run(replace(cfg, out_dir=out / "replay"))
                if again["digest"] != self.report["digest"]:
                    self.broken.append(f"the run's digest did not replay: {self.report['digest'][:16]} "
                                       f"then {again['digest'][:16]}")
        if self.sink is not None:
            self.sink.append(self._record(plan_toml(self.entries), times))
        assert not self.broken, (f"seed {self.seed}, plan:\n{plan_toml(self.entries)}broke:\n" + "\n".join(
            f"  {b['invariant']} (tick {b['tick']}: "
            + (f"after step {b['step'] + 1}, {b['rule']})" if b["step"] is not None else "after the last step)")
            for b in self.broken_at()))

    def _record(self, plan: str, times: dict) -> dict:
        r = self.report
        return {"seed": self.seed, "ticks": r["ticks"], "steps": sum(self.rules.values()), "rules": dict(self.rules),
                "faults": dict(self.kinds), "broken": list(self.broken), "plan": plan if self.broken else "",
                "broken_at": self.broken_at(),
                "jobs_lost": r["jobs"]["lost"] or 0, "completed_twice": sum("completed twice" in b for b in self.broken),
                "corrupt_delivered": r["integrity"]["corrupt_results_delivered"] or 0,
                "duplicates_sent": r["ground_jobs"]["duplicates_sent"], "restarts": len(r["restarts"]),
                "replayed": self.replayed, "digest": r["digest"],
                "detection_ticks": times["detection"], "recovery_ticks": times["recovery"]}
