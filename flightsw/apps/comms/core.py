"""Link manager core: telecommand authentication and routing, the downlink queue, files.

Uplink: every frame is one CCSDS space packet with a PUS-C telecommand header and an
SDLS-style security trailer (flightsw.icd.spacelink): CRC-16, key id, anti-replay sequence
number and HMAC-SHA256 are checked before anything is decoded. A rejected frame is counted
by reason and reported as a (throttled) event, never acted on. An accepted one is routed:
commands and table loads to their app (with a PUS 1/1 acceptance report at once), jobs to
the executor (whose JobAck is the acceptance report), CFDP PDUs to the file sender. The last
accepted anti-replay number per key is kept in ``comms.sqlite``, so a restart cannot reopen
the door to a replay.

Downlink: verification reports, events, housekeeping and files share each contact's bytes
by priority and per-pass budgets (flightsw.apps.comms.downlink). Job results and event logs
go down as files, CFDP class 2, across as many passes as they need
(flightsw.apps.comms.files); the ground's FINISHED is the acknowledgement the executor waits for.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass, field

from flightsw.apps.comms.downlink import DownlinkQueue, Pending
from flightsw.apps.comms.files import ResultFiles
from flightsw.apps.framework import EventLog, TableError
from flightsw.icd.cfdp import CfdpConfig
from flightsw.icd.messages import (
    CommandResponse,
    CommsStatus,
    ContactState,
    DownlinkFrame,
    Envelope,
    Event,
    JobAck,
    JobSpec,
    JobState,
    Message,
    PowerBudget,
    ResultData,
    ResultResync,
    Severity,
    TableDump,
    UplinkFrame,
)
from flightsw.icd.spacelink import (
    APIDS,
    LinkError,
    SeqCounters,
    TcVerifier,
    encode_tm,
    epoch_ns,
)

__all__ = ["CommsCore", "CommsTable", "STATUS_EVERY_TICKS", "HK_KINDS", "split_inbox"]

STATUS_EVERY_TICKS = 10
MAX_SKIP = 4096  # ResultResync.skip holds at most this many ids
MAX_REQUESTS = 4096  # request ids remembered for verification reports
COMMS_APID = APIDS["comms"]
# what a PDU's packet adds: primary header 6, PUS-C TM secondary header 14 (with the CDS
# time stamp), CRC-16 2
TM_PDU_OVERHEAD_BYTES = 22
# housekeeping sampled for the ground (PUS 3): the apps' status and what they read
HK_KINDS = frozenset({200, 201, 210, 211, 212, 214, 215, 218, 220})
STATE_KINDS = frozenset({220})  # JobWaits: a whole picture, only the newest goes down
# the latest PowerBudget that carries the power manager's forecasts (made once a minute, so
# the budget sampled for housekeeping seldom has them) goes down as a state: the newest
FORECAST = "forecast"


@dataclass(frozen=True)
class CommsTable:
    tick_s: float = 1.0
    epoch_utc: str = "2026-03-20T00:00:00+00:00"  # the mission's time origin (CDS time stamps)
    max_queue_bytes: int = 32 * 1024 * 1024  # result bytes held in memory for the downlink
    resync_every_ticks: int = 60  # ask the executor for results while there is room
    hk_every_ticks: int = 30  # a housekeeping sample of every status stream
    log_every_ticks: int = 3600  # an event log file this often (when there were events)
    events_bytes_per_pass: int = 2_000_000
    hk_bytes_per_pass: int = 4_000_000
    segment_bytes: int = 8192  # file data per CFDP PDU
    ack_timer_s: float = 10.0
    nak_timer_s: float = 10.0

    def __post_init__(self) -> None:
        checks = (("tick_s", self.tick_s > 0.0, "> 0"),
                  ("max_queue_bytes", self.max_queue_bytes >= 1, ">= 1"),
                  ("resync_every_ticks", self.resync_every_ticks >= 1, ">= 1"),
                  ("hk_every_ticks", self.hk_every_ticks >= 1, ">= 1"),
                  ("log_every_ticks", self.log_every_ticks >= 1, ">= 1"),
                  ("events_bytes_per_pass", self.events_bytes_per_pass >= 0, ">= 0"),
                  ("hk_bytes_per_pass", self.hk_bytes_per_pass >= 0, ">= 0"),
                  ("segment_bytes", 64 <= self.segment_bytes <= 60_000, "in [64, 60000]"),
                  ("ack_timer_s", self.ack_timer_s > 0.0, "> 0"),
                  ("nak_timer_s", self.nak_timer_s > 0.0, "> 0"))
        for name, ok, expected in checks:
            if not ok:
                raise TableError(f"comms table: {name} expected {expected}, got {getattr(self, name)}")
        try:
            epoch_ns(self.epoch_utc)
        except (TypeError, ValueError):
            raise TableError(f"comms table: epoch_utc expected an ISO 8601 time with a zone, "
                             f"got {self.epoch_utc!r}") from None

    def cfdp(self) -> CfdpConfig:
        s = int(round(1e9 * self.tick_s))
        return CfdpConfig(segment_bytes=self.segment_bytes, max_pdu_bytes=self.segment_bytes + 256,
                          ack_timer_ns=int(self.ack_timer_s * 1e9) // s * s or s,
                          nak_timer_ns=int(self.nak_timer_s * 1e9) // s * s or s)


@dataclass
class CommsCore:
    table: CommsTable
    verifier: TcVerifier
    contact: ContactState | None = None
    queue: DownlinkQueue = field(init=False)
    files: ResultFiles = field(init=False)
    seq: SeqCounters = field(default_factory=SeqCounters)
    debt_bytes: float = 0.0
    started: bool = False
    frames_down: int = 0
    bytes_down: int = 0
    commands_routed: int = 0
    events: EventLog = field(default_factory=EventLog)
    hk_latest: dict = field(default_factory=dict)  # (src, kind) -> the latest Message
    requests: OrderedDict = field(default_factory=OrderedDict)  # ("cmd", id) / ("job", id) -> request id
    seq_dirty: bool = False  # an accepted frame moved the anti-replay counters: persist them
    first_file_seq: int = 1

    def __post_init__(self) -> None:
        t = self.table
        self.queue = DownlinkQueue(t.events_bytes_per_pass, t.hk_bytes_per_pass)
        self.files = ResultFiles(t.cfdp(), t.max_queue_bytes, first_seq_num=self.first_file_seq)
        self._epoch = t.epoch_utc

    def retable(self, table: CommsTable) -> None:
        """A new table is active: budgets apply from now; files in flight keep their settings."""
        self.table = table
        self.queue.events_bytes_per_pass = table.events_bytes_per_pass
        self.queue.hk_bytes_per_pass = table.hk_bytes_per_pass
        self.files.max_queue_bytes = table.max_queue_bytes
        self._epoch = table.epoch_utc

    # ------------------------------------------------------------------- a tick
    def step(self, tick: int, t_ns: int, contact: ContactState | None, uplink: list[bytes],
             from_apps: list[Message]) -> list[tuple[object, str]]:
        """-> list of (body, dst) to send; dst "" = publish."""
        out: list[tuple[object, str]] = []
        if not self.started:
            self.started = True
            out.append((ResultResync("comms start", self.table.max_queue_bytes), "executor"))
        if contact is not None:
            was_up = self.contact is not None and self.contact.in_contact
            if was_up and not contact.in_contact:
                self.debt_bytes = 0.0
            elif contact.in_contact and not was_up:
                self.queue.new_pass()
            self.contact = contact
        for raw in uplink:
            out.extend(self._uplink(tick, t_ns, raw))
        for msg in from_apps:
            self._from_app(msg, t_ns)
        if tick % self.table.hk_every_ticks == 0:
            self._sample_hk()
        if tick % self.table.log_every_ticks == 0 and tick:
            self.files.close_log(tick, t_ns)
        link_up = self.contact is not None and self.contact.in_contact
        if link_up:
            out.extend(self._downlink(t_ns))
        else:
            self.files.sender.poll(t_ns, 0, False)  # timers pause while the link is down
        out.extend((body, "executor") for body in self.files.finished())
        # Flow control: comms holds a bounded window of results; the executor holds them all,
        # durably. While there is room, ask now and then for results comms does not hold.
        room = self.table.max_queue_bytes - self.files.queued_bytes
        if room > 0 and tick % self.table.resync_every_ticks == 0 and len(self.files.by_job) <= MAX_SKIP:
            out.append((ResultResync("downlink queue has room", room, tuple(self.files.by_job)), "executor"))
        if tick % STATUS_EVERY_TICKS == 0:
            status = self.status()
            out.append((status, ""))
            self.hk_latest[("comms", CommsStatus.KIND)] = Message(
                Envelope(CommsStatus.KIND, CommsStatus.VERSION, "comms", 0, tick, t_ns), status)
        return out

    # ------------------------------------------------------------------- uplink
    def _uplink(self, tick: int, t_ns: int, raw: bytes) -> list[tuple[object, str]]:
        try:
            tc = self.verifier.decode(raw)
        except LinkError as exc:
            if exc.reason == "body":  # authenticated: its anti-replay number moved all the same
                self.seq_dirty = True
            # throttled per reason (a flood of forged frames must not flood the bus); the
            # counters by reason go down in housekeeping
            ev = self.events.emit(tick, Severity.WARNING_LO,
                                  f"comms.tc_rejected.{exc.reason}",
                                  f"{sum(self.verifier.rejected.values())} frame(s) rejected; latest: {exc}"[:512])
            return [(ev, "")] if ev is not None else []
        self.seq_dirty = True
        if tc.pdu is not None:
            self.files.sender.handle(tc.pdu, t_ns)
            return []
        body = tc.message.body
        if isinstance(body, JobSpec):
            self._remember(("job", body.job_id), tc.request_id)
            return [(body, "executor")]
        # an AppCommand or TableLoad for the app of its APID (the verifier checked both)
        self._remember(("cmd", body.source, body.cmd_id), tc.request_id)
        self.queue.add_control(Pending(COMMS_APID, None, tc.request_id, 1))  # PUS 1/1: accepted
        self.commands_routed += 1
        return [(body, body.target)]  # comms' own commands come back to its shell

    def _remember(self, key: tuple, request_id: int) -> None:
        self.requests[key] = request_id
        self.requests.move_to_end(key)
        while len(self.requests) > MAX_REQUESTS:
            self.requests.popitem(last=False)

    # ------------------------------------------------------------ from the apps
    def _from_app(self, msg: Message, t_ns: int) -> None:
        body = msg.body
        kind = body.KIND
        apid = APIDS.get(msg.env.src, COMMS_APID)
        if kind == ResultData.KIND:
            self.files.offer(msg, t_ns)
        elif kind == Event.KIND:
            if msg.env.src not in APIDS:
                return  # the simulated world's and the ground's own events are not the spacecraft's
            high = body.severity in (Severity.FATAL, Severity.WARNING_HI)
            self.queue.add_event(Pending(apid, msg), high)
            self.files.log_event(msg)
        elif kind in HK_KINDS:
            self.hk_latest[(msg.env.src, kind)] = msg
            if kind == PowerBudget.KIND and body.forecast_soc:  # the forecasts come once a minute, in
                self.hk_latest[(msg.env.src, kind, FORECAST)] = msg  # a budget of their own: keep it too
        elif kind == CommandResponse.KIND:
            if body.source != "ground":
                return  # answers to onboard senders (sequences, limit checker) stay on board
            rid = self.requests.get(("cmd", body.source, body.cmd_id), 0)
            self.queue.add_control(Pending(apid, msg, rid))
        elif kind in (JobAck.KIND, JobState.KIND):
            self.queue.add_control(Pending(apid, msg, self.requests.get(("job", body.job_id), 0)))
        elif kind == TableDump.KIND:
            self.queue.add_control(Pending(apid, msg))

    def respond_local(self, body, tick: int, t_ns: int) -> None:
        """Comms' own answers to the ground, events and housekeeping go down like any app's
        (the hub never routes a message back to its sender, so they must be handed over)."""
        self._from_app(Message(Envelope(body.KIND, body.VERSION, "comms", 0, tick, t_ns), body), t_ns)

    def _sample_hk(self) -> None:
        for key, msg in self.hk_latest.items():
            apid = APIDS.get(msg.env.src)
            if apid is None:  # hardware readings (world): the app that reads them sends them
                apid = APIDS["thermal"] if msg.body.KIND == 201 else APIDS["power"]
            if msg.body.KIND in STATE_KINDS or key[-1] == FORECAST:
                self.queue.put_state(key, Pending(apid, msg))
            else:
                self.queue.add_hk(Pending(apid, msg))
        self.hk_latest.clear()

    # ----------------------------------------------------------------- downlink
    def _encode(self, p: Pending) -> bytes:
        t_ns = p.message.env.t_ns if p.message is not None else self._now_ns
        return encode_tm(p.message, apid=p.apid, seq_count=self.seq.next(p.apid), t_ns=t_ns,
                         epoch_utc=self._epoch, request_id=p.request_id, subtype=p.subtype)

    def _downlink(self, t_ns: int) -> list[tuple[object, str]]:
        self._now_ns = t_ns
        budget = self.contact.downlink_bps / 8.0 * self.table.tick_s - self.debt_bytes
        packets, budget = self.queue.take(budget, self._encode)
        if budget > 0:
            # at least one whole PDU a tick, the overshoot carried as debt: a contact slower
            # than a segment per tick still moves files, and never runs ahead by more than one
            room = max(int(budget), self.files.config.max_pdu_bytes + TM_PDU_OVERHEAD_BYTES)
            for pdu in self.files.sender.poll(t_ns, room, True, TM_PDU_OVERHEAD_BYTES):
                pkt = encode_tm(pdu, apid=COMMS_APID, seq_count=self.seq.next(COMMS_APID), t_ns=t_ns,
                                epoch_utc=self._epoch)
                budget -= len(pkt)
                packets.append(pkt)
        else:
            self.files.sender.poll(t_ns, 0, True)
        self.debt_bytes = max(0.0, -budget)
        self.frames_down += len(packets)
        self.bytes_down += sum(len(p) for p in packets)
        return [(DownlinkFrame(p), "world") for p in packets]

    def status(self) -> CommsStatus:
        rej = self.verifier.rejected
        auth = rej.get("auth_key", 0) + rej.get("auth_mac", 0)
        total = sum(rej.values())
        _, n_events, n_hk = self.queue.lengths()
        return CommsStatus(self.verifier.accepted, total, self.frames_down, self.bytes_down,
                           len(self.files.by_job), auth, rej.get("replay", 0),
                           total - auth - rej.get("replay", 0), n_events, n_hk)

    def statistics(self) -> dict:
        q = self.queue
        return {"tc_accepted": self.verifier.accepted, "tc_rejected": dict(sorted(self.verifier.rejected.items())),
                "frames_down": self.frames_down, "bytes_down": self.bytes_down,
                "queued": dict(zip(("control", "events", "hk"), q.lengths(), strict=True)),
                "dropped": dict(q.dropped), "results_pending": len(self.files.by_job),
                "results_delivered": self.files.delivered, "results_rejected_by_ground": self.files.rejected_by_ground,
                "results_refused": self.files.refused, "transfers_abandoned": self.files.abandoned,
                "logs_sent": self.files.logs_sent, "commands_routed": self.commands_routed,
                "cfdp": dict(self.files.sender.statistics())}


def split_inbox(inbox) -> tuple[ContactState | None, list[bytes], list[Message]]:
    contact = None
    uplink: list[bytes] = []
    from_apps: list[Message] = []
    for m in inbox:
        b = m.body
        if isinstance(b, ContactState):
            contact = b
        elif isinstance(b, UplinkFrame):
            uplink.append(b.data)
        else:
            from_apps.append(m)
    return contact, uplink, from_apps

