"""Every message type on the bus and the link, in one place.

Topic ids (``KIND``) follow cFS practice: separate ranges per category.

=========  ===========  ==========================================
range      category     examples
=========  ===========  ==========================================
100-199    command      BoardCommand, SetMode, RestartProcess
200-299    telemetry    PowerSensors, PowerBudget, ExecutorStatus
300-399    event        Event
400-499    data         JobSpec, JobAck, ResultData, link frames
=========  ===========  ==========================================

Field names carry units (``power_w``, ``charge_wh``, ``temp_c``, ``t_ns``). Bodies are
frozen dataclasses; a message on the wire is an :class:`Envelope` plus a body.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from flightsw.icd.schema import (
    f_bool,
    f_bytes,
    f_float,
    f_floats,
    f_int,
    f_ints,
    f_params,
    f_str,
    f_strs,
)

__all__ = [
    "Category",
    "Severity",
    "CmdStatus",
    "Mode",
    "MODE_RANK",
    "Opcode",
    "JobFailure",
    "JobStateName",
    "Envelope",
    "Message",
    "BODY_TYPES",
    "category_of",
    "MAX_BOARDS",
    "MAX_RESULT_BYTES",
    "CRITICAL_OPCODES",
    "MAX_NAME",
    "BoardCommand",
    "SetMode",
    "RestartProcess",
    "PowerSensors",
    "BoardSensors",
    "ContactState",
    "PowerBudget",
    "ThermalCaps",
    "ExecutorStatus",
    "HubStatus",
    "SupervisorStatus",
    "CommsStatus",
    "CommandResponse",
    "Event",
    "JobSpec",
    "JobAck",
    "JobState",
    "ResultData",
    "ResultAck",
    "UplinkFrame",
    "DownlinkFrame",
    "ResultResync",
    "ResultNak",
    "AppCommand",
    "HealthPing",
    "HeaterCommand",
    "TableLoad",
    "HealthPong",
    "AppHousekeeping",
    "TableDump",
    "JobWaits",
    "WAIT_REASON_NAMES",
    "MAX_JOB_WAITS",
    "MAX_TABLE_BYTES",
    "TABLE_LOAD_OPCODE",
    "ONBOARD_APPS",
]

ONBOARD_APPS = ("comms", "executor", "power", "supervisor", "thermal")  # the onboard processes
MAX_BOARDS = 1024
MAX_NAME = 32
MAX_JOB_ID = 64
MAX_RESULT_BYTES = 64 * 1024 * 1024
MAX_FRAME_BYTES = MAX_RESULT_BYTES + 4096
MAX_POWER_W = 1.0e6
MAX_TABLE_BYTES = 256 * 1024
MAX_FORECAST = 256
TEMP_LO_C = -273.15
TEMP_HI_C = 2000.0


class Category(enum.IntEnum):
    COMMAND = 100
    TELEMETRY = 200
    EVENT = 300
    DATA = 400


def category_of(kind: int) -> Category:
    return Category((kind // 100) * 100)


class Severity(enum.IntEnum):
    """F Prime event severities; FATAL and WARNING_HI are never throttled."""

    FATAL = 0
    WARNING_HI = 1
    WARNING_LO = 2
    COMMAND = 3
    ACTIVITY_HI = 4
    ACTIVITY_LO = 5
    DIAGNOSTIC = 6


class CmdStatus(enum.StrEnum):
    OK = "OK"
    INVALID_OPCODE = "INVALID_OPCODE"
    VALIDATION_ERROR = "VALIDATION_ERROR"
    FORMAT_ERROR = "FORMAT_ERROR"
    EXECUTION_ERROR = "EXECUTION_ERROR"
    BUSY = "BUSY"


class Mode(enum.StrEnum):
    """Spacecraft modes, lowest first (a lower mode runs less compute).

    SAFE: no compute; thermal control, the link and FDIR only (FDIR order, or the battery
    below its guard). LOW_POWER: the battery is below the eclipse reserve: compute only
    from the solar surplus left after recharging, high-priority work first (load shed).
    NOMINAL: compute from the solar surplus and the battery above the reserve.
    COMPUTE: the battery is near full and sunlight would otherwise be curtailed: compute
    may take all the surplus and the battery down to the reserve."""

    SAFE = "SAFE"
    LOW_POWER = "LOW_POWER"
    NOMINAL = "NOMINAL"
    COMPUTE = "COMPUTE"


MODE_RANK = {"SAFE": 0, "LOW_POWER": 1, "NOMINAL": 2, "COMPUTE": 3}


class Opcode(enum.IntEnum):
    """Command opcodes. 0-15 every app answers; then one range per app."""

    NOOP = 0
    RESET_COUNTERS = 1
    TABLE_ACTIVATE = 2  # args {table}: activate the staged (loaded, validated) table
    TABLE_DUMP = 3  # args {table}: answer with a TableDump of the active table
    TABLE_ABORT = 4  # args {table}: drop the staged table
    # power manager 16-31
    POWER_SET_MODE_LIMIT = 16  # args {mode}: the highest mode the power manager may enter
    # thermal guard 32-47
    THERMAL_SET_HEATERS = 32  # args {enabled: bool}: enable or inhibit heater control
    # executor 48-79
    EXEC_CANCEL_JOB = 48  # args {job_id}
    EXEC_BOARD_SERVICE = 49  # args {board, in_service: bool}
    # supervisor 80-111
    SUP_SET_MODE = 80  # args {mode, reason}: the mode manager's commanded mode
    SUP_START_SEQUENCE = 81  # args {name}
    SUP_CANCEL_SEQUENCE = 82  # args {name}
    SUP_SET_ACTIONPOINT = 83  # args {id, state: ACTIVE|PASSIVE|DISABLED}
    SUP_SET_WATCHPOINT = 84  # args {id, enabled: bool}
    SUP_RESET_RESTARTS = 85  # args {process}: clear a process's restart cap
    # link manager 112-127
    COMMS_ACTIVATE_KEY = 112  # args {key_id}: authenticate telecommands with this (preloaded) key from now on


# Critical commands (after OpenC3 COSMOS): the ground releases them only once a second person with the
# approver role has approved them. Each can stop compute, drop a safety net or lock the ground out.
CRITICAL_OPCODES = frozenset({
    Opcode.TABLE_ACTIVATE, Opcode.POWER_SET_MODE_LIMIT, Opcode.THERMAL_SET_HEATERS,
    Opcode.EXEC_BOARD_SERVICE, Opcode.SUP_SET_MODE, Opcode.SUP_RESET_RESTARTS, Opcode.COMMS_ACTIVATE_KEY,
})


class JobFailure(enum.IntEnum):
    """Failure codes of verification reports (JobState.failure_code); 0: no failure."""

    NONE = 0
    INVALID_SPEC = 1  # rejected at acceptance: a field out of range for this satellite
    PAYLOAD_ERROR = 2  # the payload refused its parameters
    RESULT_CORRUPTED = 3  # the result failed its check too often
    DEADLINE = 4  # can no longer finish before its deadline
    CANCELLED = 5  # cancelled by command
    NO_BOARDS = 6  # needs more boards than are in service
    REJECTED_BY_GROUND = 7  # the ground proved the result wrong too often


class JobStateName(enum.StrEnum):
    ACCEPTED = "ACCEPTED"
    REJECTED = "REJECTED"
    STARTED = "STARTED"
    PROGRESS = "PROGRESS"  # a verification report only: the job stays STARTED
    PREEMPTED = "PREEMPTED"
    COMPLETED = "COMPLETED"
    FAILED = "FAILED"
    EXPIRED = "EXPIRED"
    CANCELLED = "CANCELLED"
    DOWNLINKED = "DOWNLINKED"


MODES = tuple(m.value for m in Mode)
JOB_STATES = tuple(s.value for s in JobStateName)
CMD_STATUSES = tuple(s.value for s in CmdStatus)


@dataclass(frozen=True, slots=True)
class Envelope:
    """Header of every bus message.

    kind: topic id of the body; version: body schema version; src: producing process;
    seq: per-source monotonic counter; tick: lockstep tick it was produced in;
    t_ns: sim time of that tick [ns since scenario epoch]; dst: one addressee, or ""
    for everyone subscribed to ``kind``.
    """

    kind: int
    version: int
    src: str
    seq: int
    tick: int
    t_ns: int
    dst: str = ""


@dataclass(frozen=True, slots=True)
class Message:
    env: Envelope
    body: Any


# --------------------------------------------------------------------------- commands


@dataclass(frozen=True, slots=True)
class BoardCommand:
    """Executor -> world: power cap per board [W], the job each board runs, and each
    board's power switch (``on``: 1 keeps a board powered even without a job, so it need
    not boot again; () means "on where the cap is above 0"). A cap of 0 with on = 0
    switches the board off; off then on again is a power cycle (clears a hang)."""

    KIND: ClassVar[int] = 100
    VERSION: ClassVar[int] = 2
    cap_w: tuple[float, ...] = f_floats(MAX_BOARDS, 0.0, MAX_POWER_W)
    job_id: tuple[str, ...] = f_strs(MAX_BOARDS, MAX_JOB_ID)
    on: tuple[int, ...] = f_ints(MAX_BOARDS, 0, 1, default=())


@dataclass(frozen=True, slots=True)
class SetMode:
    """Supervisor -> power manager: force a mode (safe-mode escalation, or recovery)."""

    KIND: ClassVar[int] = 101
    VERSION: ClassVar[int] = 1
    mode: str = f_str(16, MODES)
    reason: str = f_str(256)


@dataclass(frozen=True, slots=True)
class RestartProcess:
    """Supervisor -> hub: restart a dead onboard process."""

    KIND: ClassVar[int] = 102
    VERSION: ClassVar[int] = 1
    process: str = f_str(MAX_NAME, minlen=1)
    reason: str = f_str(256)


@dataclass(frozen=True, slots=True)
class AppCommand:
    """A command to one app (ground, stored sequence or limit checker -> app).

    target: the app; opcode: :class:`Opcode`; cmd_id: the sender's id, echoed in the
    CommandResponse (idempotency: an app ignores a repeat of the last ids it executed);
    source: who sent it ("ground", "seq:<name>", "lc:<actionpoint>"); args: scalars."""

    KIND: ClassVar[int] = 103
    VERSION: ClassVar[int] = 1
    target: str = f_str(MAX_NAME, minlen=1)
    opcode: int = f_int(0, 65535)
    cmd_id: int = f_int(0, 2**62)
    source: str = f_str(MAX_NAME)
    args: dict = f_params(32, default_empty=True)


@dataclass(frozen=True, slots=True)
class HealthPing:
    """Supervisor -> app: answer with a HealthPong carrying the same nonce (F Prime Health)."""

    KIND: ClassVar[int] = 104
    VERSION: ClassVar[int] = 1
    nonce: int = f_int(0, 2**62)


@dataclass(frozen=True, slots=True)
class HeaterCommand:
    """Thermal guard -> world: each heater on (1) or off (0), in the thermal table's heater
    order (one per board cold plate, then the battery)."""

    KIND: ClassVar[int] = 105
    VERSION: ClassVar[int] = 1
    on: tuple[int, ...] = f_ints(MAX_BOARDS + 8, 0, 1)


@dataclass(frozen=True, slots=True)
class TableLoad:
    """A parameter table for one app: ``data`` is a UTF-8 JSON object of the table's fields.
    The app validates it whole; ``activate`` true loads and activates in one step, false
    stages it for a later TABLE_ACTIVATE. Answered with a CommandResponse (opcode 65535)."""

    KIND: ClassVar[int] = 107
    VERSION: ClassVar[int] = 1
    target: str = f_str(MAX_NAME, minlen=1)
    table: str = f_str(MAX_NAME, minlen=1)
    cmd_id: int = f_int(0, 2**62)
    source: str = f_str(MAX_NAME)
    data: bytes = f_bytes(MAX_TABLE_BYTES)
    activate: bool = f_bool(default=True)


TABLE_LOAD_OPCODE = 65535  # the opcode CommandResponse carries for a TableLoad


# -------------------------------------------------------------------------- telemetry


@dataclass(frozen=True, slots=True)
class PowerSensors:
    """World -> power manager and thermal guard: electrical power system readings."""

    KIND: ClassVar[int] = 200
    VERSION: ClassVar[int] = 3
    solar_power_w: float = f_float(0.0, MAX_POWER_W)
    battery_charge_wh: float = f_float(0.0, 1.0e7)
    battery_capacity_wh: float = f_float(0.0, 1.0e7)
    battery_soc: float = f_float(0.0, 1.0)
    load_w: float = f_float(0.0, MAX_POWER_W)
    sunlit_fraction: float = f_float(0.0, 1.0)
    battery_temp_c: float = f_float(TEMP_LO_C, TEMP_HI_C, default=20.0)  # the pack's temperature
    # (v3) what the shunt regulator dissipates: sunlight neither used nor stored (curtailed)
    shunt_w: float = f_float(0.0, MAX_POWER_W, default=0.0)


@dataclass(frozen=True, slots=True)
class BoardSensors:
    """World -> thermal guard and executor: per-board readings of the last tick."""

    KIND: ClassVar[int] = 201
    VERSION: ClassVar[int] = 2
    temp_c: tuple[float, ...] = f_floats(MAX_BOARDS, TEMP_LO_C, TEMP_HI_C)
    power_w: tuple[float, ...] = f_floats(MAX_BOARDS, 0.0, MAX_POWER_W)
    work_gpu_s: tuple[float, ...] = f_floats(MAX_BOARDS, 0.0, 1.0e6)
    job_id: tuple[str, ...] = f_strs(MAX_BOARDS, MAX_JOB_ID)  # what each board worked on
    radiator_temp_c: float = f_float(TEMP_LO_C, TEMP_HI_C)
    # board management controller's view: 0 OFF, 1 BOOTING, 2 IDLE, 3 ACTIVE, 5 NO_RESPONSE
    # (a hung board still looks ACTIVE to it: flight software must notice the missing work)
    state: tuple[int, ...] = f_ints(MAX_BOARDS, 0, 5, default=())
    # output upsets: n > 0 = n bit flips hit the working memory of the job on this board in
    # the last tick. A simulation hook standing in for the board's own output: the executor
    # applies it to the result bytes it computes for that job and must not read it otherwise.
    upset: tuple[int, ...] = f_ints(MAX_BOARDS, 0, 1_000_000, default=())
    # 1 = the temperature channel answered; 0 = no reading (its temp_c value is meaningless)
    temp_ok: tuple[int, ...] = f_ints(MAX_BOARDS, 0, 1, default=())


@dataclass(frozen=True, slots=True)
class ContactState:
    """World (RF hardware) -> comms and station: is a ground contact up, at what rates."""

    KIND: ClassVar[int] = 202
    VERSION: ClassVar[int] = 1
    in_contact: bool = f_bool()
    station: str = f_str(MAX_NAME)
    downlink_bps: float = f_float(0.0, 1.0e12)
    uplink_bps: float = f_float(0.0, 1.0e12)


@dataclass(frozen=True, slots=True)
class PowerBudget:
    """Power manager -> executor, supervisor: the compute power granted this tick."""

    KIND: ClassVar[int] = 210
    VERSION: ClassVar[int] = 4
    mode: str = f_str(16, MODES)
    compute_budget_w: float = f_float(0.0, MAX_POWER_W)
    solar_power_w: float = f_float(0.0, MAX_POWER_W)
    battery_avail_w: float = f_float(0.0, MAX_POWER_W)
    battery_soc: float = f_float(0.0, 1.0)
    # load shed: jobs below this priority may not run now (0: all may)
    min_priority: int = f_int(0, 10, default=0)
    # energy held back for the next eclipse plus margin [Wh], and when it comes
    reserve_wh: float = f_float(0.0, 1.0e7, default=0.0)
    next_eclipse_in_s: float = f_float(-1.0, 1.0e7, default=-1.0)  # -1: none forecast
    next_eclipse_s: float = f_float(0.0, 1.0e6, default=0.0)  # its duration
    # the budget forecast over the next orbit: forecast_budget_w[i] at now + i*forecast_step_s;
    # carried about once per forecast_step_s (and when the mode or the eclipse outlook
    # changes), empty with step 0 in the budgets between: keep the last one
    forecast_step_s: float = f_float(0.0, 1.0e5, default=0.0)
    forecast_budget_w: tuple[float, ...] = f_floats(MAX_FORECAST, 0.0, MAX_POWER_W, default=())
    # what an energy planner needs beyond the budget (v3): the battery's charge and capacity,
    # the charge the manager holds at the end of the next eclipse (floor, margin and the
    # mode's buffer: it never grants power below it), the platform's own draw
    # (housekeeping and heaters), the learned mean solar power in sunlight, the battery's
    # one-way efficiencies and its charge limit (bus side)
    battery_charge_wh: float = f_float(0.0, 1.0e7, default=0.0)
    battery_capacity_wh: float = f_float(0.0, 1.0e7, default=0.0)
    hold_wh: float = f_float(0.0, 1.0e7, default=0.0)
    platform_w: float = f_float(0.0, MAX_POWER_W, default=0.0)
    solar_mean_w: float = f_float(0.0, MAX_POWER_W, default=0.0)
    charge_efficiency: float = f_float(0.0, 1.0, default=1.0)
    discharge_efficiency: float = f_float(0.0, 1.0, default=1.0)
    max_charge_w: float = f_float(0.0, 1.0e9, default=0.0)
    # the battery forecast that goes with forecast_budget_w (v4): the state of charge at
    # now + i*forecast_soc_step_s, thinned to 64 points (telemetry's channels per array);
    # carried with the budget forecast, empty (step 0) between
    forecast_soc_step_s: float = f_float(0.0, 1.0e6, default=0.0)
    forecast_soc: tuple[float, ...] = f_floats(64, 0.0, 1.0, default=())


@dataclass(frozen=True, slots=True)
class ThermalCaps:
    """Thermal guard -> executor: the most power each board may draw [W] (0 = shut down)."""

    KIND: ClassVar[int] = 211
    VERSION: ClassVar[int] = 2
    cap_w: tuple[float, ...] = f_floats(MAX_BOARDS, 0.0, MAX_POWER_W)
    shutdown: tuple[int, ...] = f_ints(MAX_BOARDS, 0, 1)
    # limit level per board: 0 green, 1 yellow (caps stepped down), 2 red (shut down)
    level: tuple[int, ...] = f_ints(MAX_BOARDS, 0, 2, default=())
    heater_w: float = f_float(0.0, MAX_POWER_W, default=0.0)  # heater power drawn [W]
    # forecast: the heat the radiator can reject at its limit now [W]; compute above it heats
    radiator_capacity_w: float = f_float(0.0, MAX_POWER_W * 100, default=0.0)


@dataclass(frozen=True, slots=True)
class ExecutorStatus:
    """Executor housekeeping: job counts by state and power in use, and (v3) the power cap
    [W] each board is commanded now: the plan's compute per board (0: no job on it)."""

    KIND: ClassVar[int] = 212
    VERSION: ClassVar[int] = 3
    jobs_queued: int = f_int(0, 10**9)
    jobs_running: int = f_int(0, 10**9)
    jobs_completed: int = f_int(0, 10**9)
    jobs_downlinked: int = f_int(0, 10**9)
    jobs_failed: int = f_int(0, 10**9)
    jobs_expired: int = f_int(0, 10**9)
    boards_busy: int = f_int(0, MAX_BOARDS)
    power_alloc_w: float = f_float(0.0, MAX_POWER_W)
    work_done_gpu_s: float = f_float(0.0, 1.0e12)
    jobs_cancelled: int = f_int(0, 10**9, default=0)
    preemptions: int = f_int(0, 10**9, default=0)
    checkpoints: int = f_int(0, 10**12, default=0)
    sdc_detected: int = f_int(0, 10**9, default=0)
    power_cycles: int = f_int(0, 10**9, default=0)
    boards_out_of_service: tuple[int, ...] = f_ints(MAX_BOARDS, 0, MAX_BOARDS, default=())
    board_cap_w: tuple[float, ...] = f_floats(MAX_BOARDS, 0.0, MAX_POWER_W, default=())


@dataclass(frozen=True, slots=True)
class HubStatus:
    """Hub -> supervisor: which participants are alive this tick."""

    KIND: ClassVar[int] = 213
    VERSION: ClassVar[int] = 1
    alive: tuple[str, ...] = f_strs(64, MAX_NAME)
    dead: tuple[str, ...] = f_strs(64, MAX_NAME)


@dataclass(frozen=True, slots=True)
class SupervisorStatus:
    """Supervisor housekeeping: restarts done per process, and whether safe mode was ordered."""

    KIND: ClassVar[int] = 214
    VERSION: ClassVar[int] = 2
    processes: tuple[str, ...] = f_strs(64, MAX_NAME)
    restarts: tuple[int, ...] = f_ints(64, 0, 10**6)
    safe_mode_ordered: bool = f_bool()
    mode: str = f_str(16, MODES, default="NOMINAL")  # the mode manager's commanded mode
    pings_missed: tuple[int, ...] = f_ints(64, 0, 10**9, default=())  # per process, in a row
    sequence: str = f_str(MAX_NAME, default="")  # the stored sequence running, "" none
    actionpoints_failing: tuple[str, ...] = f_strs(64, MAX_NAME, default=())


@dataclass(frozen=True, slots=True)
class CommsStatus:
    """Comms housekeeping: link counters."""

    KIND: ClassVar[int] = 215
    VERSION: ClassVar[int] = 2
    frames_up_ok: int = f_int(0, 2**62)  # telecommands accepted
    frames_up_bad: int = f_int(0, 2**62)  # telecommands rejected, all reasons
    frames_down: int = f_int(0, 2**62)
    bytes_down: int = f_int(0, 2**62)
    results_pending: int = f_int(0, 10**9)
    # rejections by kind: failed authentication (unknown or inactive key, bad MAC), replays,
    # and malformed frames (length, header, CRC, service, body)
    tc_rejected_auth: int = f_int(0, 2**62, default=0)
    tc_rejected_replay: int = f_int(0, 2**62, default=0)
    tc_rejected_format: int = f_int(0, 2**62, default=0)
    events_queued: int = f_int(0, 10**9, default=0)
    hk_queued: int = f_int(0, 10**9, default=0)


@dataclass(frozen=True, slots=True)
class CommandResponse:
    """Any app: the outcome of a command it received (DESIGN.md §4)."""

    KIND: ClassVar[int] = 216
    VERSION: ClassVar[int] = 2
    opcode: int = f_int(0, 65535)
    status: str = f_str(32, CMD_STATUSES)
    detail: str = f_str(256)
    cmd_id: int = f_int(0, 2**62, default=0)
    source: str = f_str(MAX_NAME, default="")  # the command's source, so it finds its way back


@dataclass(frozen=True, slots=True)
class HealthPong:
    """App -> supervisor: the answer to a HealthPing."""

    KIND: ClassVar[int] = 217
    VERSION: ClassVar[int] = 1
    nonce: int = f_int(0, 2**62)


@dataclass(frozen=True, slots=True)
class AppHousekeeping:
    """Every app, every few ticks: command and event counters, active table versions."""

    KIND: ClassVar[int] = 218
    VERSION: ClassVar[int] = 1
    cmds_accepted: int = f_int(0, 2**62)
    cmds_rejected: int = f_int(0, 2**62)
    events_sent: int = f_int(0, 2**62)
    events_throttled: int = f_int(0, 2**62)
    tables: tuple[str, ...] = f_strs(32, MAX_NAME, default=())
    table_crc32: tuple[int, ...] = f_ints(32, 0, 2**32 - 1, default=())


@dataclass(frozen=True, slots=True)
class TableDump:
    """App -> ground: a table's active contents as UTF-8 JSON, and its CRC-32."""

    KIND: ClassVar[int] = 219
    VERSION: ClassVar[int] = 1
    table: str = f_str(MAX_NAME, minlen=1)
    data: bytes = f_bytes(MAX_TABLE_BYTES)
    crc32: int = f_int(0, 2**32 - 1)


# Why a queued job waits, by code (JobWaits.reason_codes[i] names WAIT_REASON_NAMES[i]).
# Equal, in order, to flightsw.sched.types.WAIT_REASONS (a test checks: the ICD may not
# import the scheduler). The codes are the wire form: changing this tuple is a new JobWaits
# VERSION. Codes, not names, because the schema checks an integer array's range on decode
# but has no per-item choices for a string array.
WAIT_REASON_NAMES = ("energy", "thermal", "boards", "deadline", "downlink", "priority", "order", "safe")
MAX_JOB_WAITS = 256


@dataclass(frozen=True, slots=True)
class JobWaits:
    """Executor -> ground (housekeeping): why each queued job (accepted or preempted, not
    running) waits. Parallel arrays: ``job_ids[i]`` waits for ``reason_codes[i]`` (an index
    into WAIT_REASON_NAMES; ``reasons`` gives the names). At most MAX_JOB_WAITS jobs, the
    first in the policy's order, then in acceptance order; ``jobs_queued`` counts them all.
    Sent when the reasons change and at least every status period."""

    KIND: ClassVar[int] = 220
    VERSION: ClassVar[int] = 1
    job_ids: tuple[str, ...] = f_strs(MAX_JOB_WAITS, MAX_JOB_ID)
    # "names" is for the dictionary (ground tools): code i means names[i]
    reason_codes: tuple[int, ...] = field(metadata={
        **f_ints(MAX_JOB_WAITS, 0, len(WAIT_REASON_NAMES) - 1).metadata, "names": WAIT_REASON_NAMES})
    jobs_queued: int = f_int(0, 10**9, default=0)

    @property
    def reasons(self) -> tuple[str, ...]:
        """The reasons by name, parallel to ``job_ids``."""
        return tuple(WAIT_REASON_NAMES[c] for c in self.reason_codes)

    @classmethod
    def of(cls, waits: Iterable[tuple[str, str]], jobs_queued: int | None = None) -> JobWaits:
        """From (job id, reason name) pairs, the first MAX_JOB_WAITS of them; ValueError
        naming a reason that is not in WAIT_REASON_NAMES. ``jobs_queued``: all the jobs
        that wait (default: the pairs given)."""
        ids: list[str] = []
        codes: list[int] = []
        n = 0
        for job_id, reason in waits:
            n += 1
            if reason not in _WAIT_CODE:
                raise ValueError(f"JobWaits: reason of {job_id!r}: expected one of {list(WAIT_REASON_NAMES)}, "
                                 f"got {reason!r}")
            if len(ids) >= MAX_JOB_WAITS:
                continue
            ids.append(job_id)
            codes.append(_WAIT_CODE[reason])
        return cls(tuple(ids), tuple(codes), n if jobs_queued is None else jobs_queued)


_WAIT_CODE = {name: i for i, name in enumerate(WAIT_REASON_NAMES)}


# ----------------------------------------------------------------------------- events


@dataclass(frozen=True, slots=True)
class Event:
    """An event with a stable name, a severity (:class:`Severity`) and a human text."""

    KIND: ClassVar[int] = 300
    VERSION: ClassVar[int] = 1
    severity: int = f_int(0, 6)
    name: str = f_str(64, minlen=1)
    text: str = f_str(512)


# ------------------------------------------------------------------------------- data


@dataclass(frozen=True, slots=True)
class JobSpec:
    """A job (DESIGN.md §6). ``deadline_t_ns`` = -1 means no deadline.

    work_gpu_s: work in GPU-seconds at full board power; release_t_ns: when the ground
    released it [ns since epoch]; params: payload parameters (for matmul, ``n``).
    """

    KIND: ClassVar[int] = 400
    VERSION: ClassVar[int] = 1
    job_id: str = f_str(MAX_JOB_ID, minlen=1)
    kind: str = f_str(32, minlen=1)
    priority: int = f_int(0, 9)
    deadline_t_ns: int = f_int(-1, 2**62)
    boards_needed: int = f_int(1, MAX_BOARDS)
    work_gpu_s: float = f_float(1e-3, 1.0e8)
    checkpoint_interval_s: float = f_float(0.0, 1.0e6)
    input_bytes: int = f_int(0, MAX_RESULT_BYTES)
    output_bytes: int = f_int(0, MAX_RESULT_BYTES)
    release_t_ns: int = f_int(0, 2**62)
    seed: int = f_int(0, 2**32 - 1)
    params: dict = f_params()


@dataclass(frozen=True, slots=True)
class JobAck:
    """Executor -> ground: a JobSpec was stored (accepted) or refused, with the reason."""

    KIND: ClassVar[int] = 401
    VERSION: ClassVar[int] = 1
    job_id: str = f_str(MAX_JOB_ID, minlen=1)
    accepted: bool = f_bool()
    reason: str = f_str(256)


@dataclass(frozen=True, slots=True)
class JobState:
    """Executor -> ground: a job changed state (PUS service 1 style verification)."""

    KIND: ClassVar[int] = 402
    VERSION: ClassVar[int] = 3
    job_id: str = f_str(MAX_JOB_ID, minlen=1)
    state: str = f_str(16, JOB_STATES)
    reason: str = f_str(256)
    work_done_gpu_s: float = f_float(0.0, 1.0e8)
    failure_code: int = f_int(0, 255, default=0)  # JobFailure
    # when the stage happened on board [ns since epoch] (the report may go down much later);
    # 0: not given (the receiver uses the time it got the report)
    stage_t_ns: int = f_int(0, 2**62, default=0)


@dataclass(frozen=True, slots=True)
class ResultData:
    """A job's result bytes with their SHA-256 (and, for matmul, ABFT checksums inside)."""

    KIND: ClassVar[int] = 403
    VERSION: ClassVar[int] = 1
    job_id: str = f_str(MAX_JOB_ID, minlen=1)
    kind: str = f_str(32, minlen=1)
    data: bytes = f_bytes(MAX_RESULT_BYTES)
    sha256: bytes = f_bytes(32, exact=32)
    completed_t_ns: int = f_int(0, 2**62)


@dataclass(frozen=True, slots=True)
class ResultAck:
    """Ground -> executor: the result of ``job_id`` arrived intact and is archived."""

    KIND: ClassVar[int] = 404
    VERSION: ClassVar[int] = 1
    job_id: str = f_str(MAX_JOB_ID, minlen=1)


@dataclass(frozen=True, slots=True)
class UplinkFrame:
    """Bytes on the uplink: station -> world (radio) -> comms."""

    KIND: ClassVar[int] = 405
    VERSION: ClassVar[int] = 1
    data: bytes = f_bytes(1024 * 1024)


@dataclass(frozen=True, slots=True)
class DownlinkFrame:
    """Bytes on the downlink: comms -> world (radio) -> station."""

    KIND: ClassVar[int] = 406
    VERSION: ClassVar[int] = 1
    data: bytes = f_bytes(MAX_FRAME_BYTES)


@dataclass(frozen=True, slots=True)
class ResultResync:
    """Comms -> executor: (re)offer results not yet acknowledged by the ground, oldest
    first, up to ``max_bytes`` of result data, except those comms already holds (``skip``).
    Flow control: comms keeps a bounded downlink queue and asks for more as it drains."""

    KIND: ClassVar[int] = 407
    VERSION: ClassVar[int] = 2
    reason: str = f_str(256)
    max_bytes: int = f_int(0, 2**40, default=32 * 1024 * 1024)
    skip: tuple[str, ...] = f_strs(4096, MAX_JOB_ID, default=())


@dataclass(frozen=True, slots=True)
class ResultNak:
    """Ground -> executor: the result of ``job_id`` arrived intact (its SHA-256 matches) but
    is wrong (ABFT or regeneration failed): it was corrupted on board. Run the job again."""

    KIND: ClassVar[int] = 408
    VERSION: ClassVar[int] = 1
    job_id: str = f_str(MAX_JOB_ID, minlen=1)
    reason: str = f_str(256)


BODY_TYPES: dict[int, type] = {
    cls.KIND: cls
    for cls in (
        BoardCommand,
        SetMode,
        RestartProcess,
        PowerSensors,
        BoardSensors,
        ContactState,
        PowerBudget,
        ThermalCaps,
        ExecutorStatus,
        HubStatus,
        SupervisorStatus,
        CommsStatus,
        CommandResponse,
        Event,
        JobSpec,
        JobAck,
        JobState,
        ResultData,
        ResultAck,
        UplinkFrame,
        DownlinkFrame,
        ResultResync,
        ResultNak,
        AppCommand,
        HealthPing,
        HeaterCommand,
        TableLoad,
        HealthPong,
        AppHousekeeping,
        TableDump,
        JobWaits,
    )
}
