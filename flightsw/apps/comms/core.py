"""Link manager core: uplink decoding, downlink queue, pacing to the contact's rate.

Uplink: each UplinkFrame carries one ICD-encoded message from the ground (JobSpec,
ResultAck, ResultNak, AppCommand or TableLoad) with a CRC-32 trailer
(flightsw.icd.linkframe). It is checked, decoded and validated here; a bad frame is
counted, reported as a (throttled) event, and dropped — never acted on. Commands and
table loads go to their target app; their responses (CommandResponse with source
"ground") and table dumps go down with the job reports.

Downlink: job acknowledgements and state reports (small, first) and results (large)
queue here. During a contact, each tick sends frames up to the contact's byte budget
(downlink_bps / 8 per tick, with any overshoot carried as debt). A result stays queued
until the ground acknowledges it (ResultAck), and is sent again if no acknowledgement
came ``resend_after_ticks`` after it went out: the link loses whatever is in flight
at loss of signal, so reliability is end to end. State is in memory; after a restart
comms asks the executor to offer again every unacknowledged result.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from flightsw.apps.framework import EventLog, TableError
from flightsw.icd.codec import DecodeError
from flightsw.icd.linkframe import decode_frame, encode_frame
from flightsw.icd.messages import (
    ONBOARD_APPS,
    TABLE_LOAD_OPCODE,
    AppCommand,
    CmdStatus,
    CommandResponse,
    CommsStatus,
    ContactState,
    DownlinkFrame,
    Envelope,
    JobAck,
    JobSpec,
    JobState,
    Message,
    ResultAck,
    ResultData,
    ResultNak,
    ResultResync,
    Severity,
    TableDump,
    TableLoad,
    UplinkFrame,
)

__all__ = ["CommsCore", "CommsTable", "STATUS_EVERY_TICKS", "LINK_SRC", "GROUND"]

STATUS_EVERY_TICKS = 10
LINK_SRC = "sat"  # the spacecraft's name on the link
GROUND = "ground"
MAX_CONTROL_QUEUE = 10_000
MAX_SKIP = 4096  # ResultResync.skip holds at most this many ids
APPS = ONBOARD_APPS  # command targets
_UPLINK_TYPES = (JobSpec, ResultAck, ResultNak, AppCommand, TableLoad)


@dataclass(frozen=True)
class CommsTable:
    tick_s: float = 1.0
    resend_after_ticks: int = 600
    max_queue_bytes: int = 32 * 1024 * 1024  # result bytes held in memory for the downlink
    resync_every_ticks: int = 60  # ask the executor for results while there is room

    def __post_init__(self) -> None:
        checks = (("tick_s", self.tick_s > 0.0, "> 0"),
                  ("resend_after_ticks", self.resend_after_ticks >= 1, ">= 1"),
                  ("max_queue_bytes", self.max_queue_bytes >= 1, ">= 1"),
                  ("resync_every_ticks", self.resync_every_ticks >= 1, ">= 1"))
        for name, ok, expected in checks:
            if not ok:
                raise TableError(f"comms table: {name} expected {expected}, got {getattr(self, name)}")


@dataclass
class _Pending:
    result: ResultData
    sent_tick: int = -(10**12)


@dataclass
class CommsCore:
    table: CommsTable = field(default_factory=CommsTable)
    contact: ContactState | None = None
    control: list = field(default_factory=list)  # JobAck / JobState bodies, FIFO
    results: OrderedDict = field(default_factory=OrderedDict)  # job_id -> _Pending
    debt_bytes: float = 0.0
    link_seq: int = 0
    frames_up_ok: int = 0
    frames_up_bad: int = 0
    frames_down: int = 0
    bytes_down: int = 0
    control_dropped: int = 0
    started: bool = False
    queued_bytes: int = 0
    overflowed: bool = False  # refused a result for lack of room: ask again when drained
    results_refused: int = 0
    events: EventLog = field(default_factory=EventLog)
    commands_routed: int = 0

    def step(self, tick: int, t_ns: int, contact: ContactState | None, uplink: list[bytes],
             from_executor: list) -> list[tuple[object, str]]:
        """-> list of (body, dst) to send; dst "" = publish."""
        out: list[tuple[object, str]] = []
        if not self.started:
            self.started = True
            out.append((ResultResync("comms start", self.table.max_queue_bytes), "executor"))
        if contact is not None:
            if self.contact is not None and self.contact.in_contact and not contact.in_contact:
                self.debt_bytes = 0.0
            self.contact = contact
        for data in uplink:
            out.extend(self._uplink(tick, data))
        for body in from_executor:
            if isinstance(body, ResultData):
                if body.job_id in self.results:
                    continue
                if self.queued_bytes + len(body.data) > self.table.max_queue_bytes and self.results:
                    self.overflowed = True  # bounded memory: the executor keeps it durably
                    self.results_refused += 1
                    continue
                self.results[body.job_id] = _Pending(body)
                self.queued_bytes += len(body.data)
            elif isinstance(body, CommandResponse) and body.source != GROUND:
                continue  # answers to onboard senders (sequences, limit checker) stay on board
            elif len(self.control) < MAX_CONTROL_QUEUE:
                self.control.append(body)
            else:
                self.control_dropped += 1
        if self.contact is not None and self.contact.in_contact:
            out.extend(self._downlink(tick, t_ns))
        # Flow control: comms holds a bounded window of results; the executor holds them all,
        # durably. While there is room, ask periodically for results comms does not hold
        # (the executor answers with what fits), so none is stranded by a refusal or a
        # truncated offer; right away when the queue emptied after a refusal.
        room = self.table.max_queue_bytes - self.queued_bytes
        periodic = tick % self.table.resync_every_ticks == 0
        drained = self.overflowed and not self.results
        if room > 0 and (periodic or drained) and len(self.results) <= MAX_SKIP:
            self.overflowed = False
            out.append((ResultResync("downlink queue has room", room, tuple(self.results)), "executor"))
        if tick % STATUS_EVERY_TICKS == 0:
            out.append((self.status(), ""))
        return out

    def enqueue_control(self, bodies: list) -> None:
        """Queue small reports (responses, dumps) for the next downlink."""
        for body in bodies:
            if len(self.control) < MAX_CONTROL_QUEUE:
                self.control.append(body)
            else:
                self.control_dropped += 1

    def _uplink(self, tick: int, data: bytes) -> list[tuple[object, str]]:
        try:
            msg = decode_frame(data)
            if not isinstance(msg.body, _UPLINK_TYPES):
                names = ", ".join(t.__name__ for t in _UPLINK_TYPES)
                raise DecodeError(f"uplink: expected one of {names}, got {type(msg.body).__name__}")
        except DecodeError as exc:
            self.frames_up_bad += 1
            ev = self.events.emit(tick, Severity.WARNING_LO, "comms.bad_uplink_frame",
                                  f"{self.frames_up_bad} bad frame(s); latest: {exc}")
            return [(ev, "")] if ev is not None else []
        self.frames_up_ok += 1
        body = msg.body
        if isinstance(body, (AppCommand, TableLoad)):
            if body.target not in APPS:  # answered here: no app of that name to answer it
                opcode = body.opcode if isinstance(body, AppCommand) else TABLE_LOAD_OPCODE
                detail = f"target: expected one of {list(APPS)}, got {body.target!r}"
                self.control.append(CommandResponse(opcode, CmdStatus.VALIDATION_ERROR.value, detail,
                                                    body.cmd_id, body.source[:32]))
                return []
            self.commands_routed += 1
            return [(body, body.target)]  # comms' own commands come back to its shell
        if isinstance(body, (ResultAck, ResultNak)):
            gone = self.results.pop(body.job_id, None)
            if gone is not None:
                self.queued_bytes -= len(gone.result.data)
        return [(body, "executor")]

    def _downlink(self, tick: int, t_ns: int) -> list[tuple[object, str]]:
        budget = self.contact.downlink_bps / 8.0 * self.table.tick_s - self.debt_bytes
        out = []
        while budget > 0 and self.control:
            frame = self._frame(self.control.pop(0), tick, t_ns)
            budget -= len(frame)
            out.append((DownlinkFrame(frame), "world"))
        for p in self.results.values():
            if budget <= 0:
                break
            if tick - p.sent_tick < self.table.resend_after_ticks:
                continue
            frame = self._frame(p.result, tick, t_ns)
            p.sent_tick = tick
            budget -= len(frame)
            out.append((DownlinkFrame(frame), "world"))
        self.debt_bytes = max(0.0, -budget)
        self.frames_down += len(out)
        self.bytes_down += sum(len(b.data) for b, _ in out)
        return out

    def _frame(self, body, tick: int, t_ns: int) -> bytes:
        self.link_seq += 1
        env = Envelope(body.KIND, body.VERSION, LINK_SRC, self.link_seq, tick, t_ns, GROUND)
        return encode_frame(Message(env, body))

    def status(self) -> CommsStatus:
        return CommsStatus(self.frames_up_ok, self.frames_up_bad, self.frames_down,
                           self.bytes_down, len(self.results))


def split_inbox(inbox) -> tuple[ContactState | None, list[bytes], list]:
    contact = None
    uplink: list[bytes] = []
    from_exec: list = []
    for m in inbox:
        b = m.body
        if isinstance(b, ContactState):
            contact = b
        elif isinstance(b, UplinkFrame):
            uplink.append(b.data)
        elif isinstance(b, (JobAck, JobState, ResultData, CommandResponse, TableDump)):
            from_exec.append(b)
    return contact, uplink, from_exec
