"""The ground station: the ground end of the RF link, as a bus participant ("station").

Uplink: jobs and commands from the archive's queues (the scenario's jobs at their release
times, the operators' through the API, the fault plan's commands at their ticks), each an
authenticated PUS-C telecommand (flightsw.icd.spacelink), and the CFDP receiver's ACK, NAK
and FINISHED PDUs. Ground stages after Yamcs: QUEUED -> RELEASED (a pass is open and, for a
critical command, a second person approved it) -> SENT, then the flight's verification stages.
A job or command with no answer ``resend_after_ticks`` after it went up goes up again (a new
frame with a new anti-replay number; the spacecraft ignores a repeated id).

Downlink: every packet is checked (CRC-16, header, service, body) and its sequence count
watched for gaps; verification reports move job and command stages; housekeeping and events
go into the archive, except the executor's JobWaits, which sets each waiting job's
``wait_reason`` (only on a job that waits by its latest stage, and not from a report older
than that stage: housekeeping and verification reports travel in different queues); result and log files arrive by CFDP class 2 and are checked (CRC-32 on
the link, then SHA-256, ABFT or regeneration) before the archive keeps them and the FINISHED
PDU tells the spacecraft: a result intact on the link but wrong gets FILESTORE_REJECTION,
and the spacecraft runs the job again.
"""

from __future__ import annotations

import binascii
import json
import random
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import msgpack
from spacepackets.cfdp import ConditionCode

from flightsw.icd.cfdp import CfdpConfig, FileReceiver
from flightsw.icd.codec import DecodeError, decode, encode, encode_body
from flightsw.icd.linkauth import Keyring, LinkKey
from flightsw.icd.messages import (
    AppCommand,
    CommandResponse,
    ContactState,
    DownlinkFrame,
    Envelope,
    Event,
    JobAck,
    JobSpec,
    JobState,
    JobWaits,
    Message,
    Opcode,
    ResultData,
    Severity,
    TableDump,
    UplinkFrame,
)
from flightsw.icd.results import expected_synthetic, sha256_digest, verify_result
from flightsw.icd.spacelink import (
    APIDS,
    MAX_TC_BYTES,
    GapDetector,
    LinkError,
    SeqCounters,
    TcSigner,
    decode_tm,
    encode_tc,
)
from flightsw.icd.value import job_value
from groundsw.archive import WAITING_STAGES, Archive
from groundsw.telemetry import event_row, telemetry_rows

__all__ = ["Station", "make"]

SOURCE = "ground"  # the AppCommand source the spacecraft answers to
SAT = "sat"
WORLD = "world"
POLL_EVERY_TICKS = 10  # the archive's queues (operator jobs, commands, cancels)
MAX_UPLINK_PDU_BYTES = MAX_TC_BYTES - 256  # room for the TC headers, security header, MAC and CRC
# Stages by rank: a late report of a lower rank never moves a job back. Running, progress
# reports and preemptions share a rank: a job goes back and forth between them.
_RANK = {"QUEUED": -2, "RELEASED": -1, "SENT": 1, "ACCEPTED": 2, "STARTED": 3, "PROGRESS": 3,
         "PREEMPTED": 3, "COMPLETED": 4, "DOWNLINKED": 5, "ARCHIVED": 6}
_FINAL = frozenset({"ARCHIVED", "REJECTED", "FAILED", "EXPIRED", "CANCELLED"})
_CMD_FINAL = frozenset({"COMPLETED", "FAILED", "TIMEOUT"})


@dataclass
class _GroundJob:
    spec: JobSpec
    stage: str = "QUEUED"
    last_sent_tick: int = -(10**12)
    acked: bool = False
    delivered_t_ns: int | None = None
    stage_t_ns: int = 0  # when its latest stage happened
    wait_reason: str | None = None  # as the archive holds it
    kept_on_ground: bool = False  # cancelled before it was ever sent: never on board


@dataclass
class _GroundCommand:
    cmd_id: int
    cmd: AppCommand
    critical: bool
    released_t_ns: int
    stage: str = "RELEASED"
    last_sent_tick: int = -(10**12)
    sends: int = 0
    status: str = ""
    detail: str = ""


class Station:
    name = "station"
    period_ticks = 1
    subscriptions = frozenset({ContactState.KIND, DownlinkFrame.KIND})

    def __init__(self, archive_path: Path, jobs: Sequence[JobSpec], keyring: Keyring, epoch_utc: str,
                 resend_after_ticks: int = 600, tick_s: float = 1.0, commands: Sequence[dict] = (),
                 meta: dict | None = None, passes: Sequence[tuple] = (), command_resend_ticks: int = 60,
                 command_timeout_s: float = 6 * 3600.0, ground_actions: Sequence[dict] = (),
                 bad_frames: Sequence[dict] = ()) -> None:
        self.tick_s = tick_s
        self.epoch = datetime.fromisoformat(epoch_utc)
        self.archive = Archive(archive_path)
        self.archive.set_meta(epoch_utc=epoch_utc, tick_s=tick_s, now_t_ns=0, **(meta or {}))
        if passes and not self.archive.meta().get("predicted_passes"):  # once per archive
            with self.archive.batch():
                self.archive.add_predicted_passes(passes)
                self.archive.set_meta(predicted_passes=len(passes))
        self.keyring = keyring
        self.signer = TcSigner(LinkKey(keyring.active_key_id, keyring.keys[keyring.active_key_id]),
                               self._next_auth_seq(keyring.active_key_id))
        self.tc_seq = SeqCounters()
        self.gaps = GapDetector()
        # the receiver's PDUs (NAKs split to fit) go up in telecommands: they must fit one
        cfg = CfdpConfig(segment_bytes=4096, max_pdu_bytes=MAX_UPLINK_PDU_BYTES,
                         ack_timer_ns=int(10e9), nak_timer_ns=int(10e9))
        self.receiver = FileReceiver(cfg, self._accept_file)
        self._in_flight: list = []  # the receiver's open transactions as last archived
        self.plan = sorted(({**c, "i": i} for i, c in enumerate(commands)), key=lambda c: (c["tick"], c["i"]))
        # a fault plan's [[ground]] actions on jobs: {tick, action, job}, in tick order
        self.actions = sorted(({**g, "i": i} for i, g in enumerate(ground_actions)), key=lambda g: (g["tick"], g["i"]))
        self._resend: list[str] = []  # job ids whose upload goes up once more (duplicates)
        self.duplicates_sent = 0
        # a fault plan's [[frame]]: bad telecommand frames, sent in contact from their tick
        self.bad_plan = sorted(({**f, "i": i} for i, f in enumerate(bad_frames)), key=lambda f: (f["tick"], f["i"]))
        self.bad_frames_sent: dict[str, int] = {}
        self._last_frame: bytes | None = None  # the last good frame: what the bad ones are made of
        self.jobs: dict[str, _GroundJob] = {}
        self._to_queue = sorted(jobs, key=lambda j: (j.release_t_ns, j.job_id))
        self._queued: list[_GroundJob] = []
        self._operator_rowid = 0
        self._held_pdus: list[bytes] = []
        self._auth_used: dict[str, int] = {}  # anti-replay numbers used this tick, per key  # CFDP answers held while a key change is in flight
        self.commands: dict[int, _GroundCommand] = {}
        self._by_request: dict[int, int] = {}  # TC request id -> cmd_id
        self.resend_after_ticks = resend_after_ticks
        self.command_resend_ticks = command_resend_ticks
        self.command_timeout_ns = int(command_timeout_s * 1e9)
        for stage in ("RELEASED", "SENT", "ACCEPTED"):  # a restarted station: commands in flight go on
            for row in self.archive.commands(stage=stage, limit=10_000):
                self._take_command({**row, "args_json": json.dumps(row["args"])}, row["queued_t_ns"] or 0, stage)
        self.contact: ContactState | None = None
        self.pass_bytes = [0, 0]  # down, up
        self.table_dumps: list[TableDump] = []
        self.frames_bad: dict[str, int] = {}
        self.tm_received = 0
        self.tc_sent = 0
        self.results_corrupt = 0
        self.results_duplicate = 0
        self.results_nakked = 0
        self.files_received = 0
        self.uplink_debt_bytes = 0.0
        self._now_ns = 0
        self._events: list[tuple[object, str]] = []

    def _next_auth_seq(self, key_id: int) -> int:
        return int(self.archive.meta().get(f"tc_auth_seq.{key_id}", 0)) + 1

    # ------------------------------------------------------------------- a tick
    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[tuple[object, str]]:
        self._now_ns = t_ns
        self._events = []
        out: list[tuple[object, str]] = []
        up = self.contact is not None and self.contact.in_contact
        due = ((self._to_queue and self._to_queue[0].release_t_ns <= t_ns) or (self.plan and self.plan[0]["tick"] <= tick)
               or (self.actions and self.actions[0]["tick"] <= tick))
        if not (inbox or due or up or tick % POLL_EVERY_TICKS == 0):
            self.receiver.poll(t_ns, False)  # a quiet tick out of contact: no archive transaction
            self._timeouts(t_ns)
            return []
        with self.archive.batch():
            self._queue_due(tick, t_ns)
            for m in inbox:
                if isinstance(m.body, ContactState):
                    self._contact(m.body, t_ns)
                elif isinstance(m.body, DownlinkFrame):
                    self.pass_bytes[0] += len(m.body.data)
                    self._downlink(m.body.data, t_ns)
            if tick % POLL_EVERY_TICKS == 0:
                self._poll_archive(tick, t_ns)
            up = self.contact is not None and self.contact.in_contact
            if up:
                out.extend(self._uplink(tick, t_ns))
            else:
                self.receiver.poll(t_ns, False)
                self.uplink_debt_bytes = 0.0
            self._timeouts(t_ns)
            flight = self.receiver.in_flight()
            if flight != self._in_flight:  # what the operators see of the transfers in progress
                self.archive.set_transfers(flight, t_ns)
                self._in_flight = flight
        return out + self._events

    def _event(self, severity: Severity, name: str, text: str) -> None:
        """The station's own events: into its archive (and onto the bus, for the run's log)."""
        self._events.append((Event(int(severity), name, text[:512]), ""))
        self.archive.add_events([(self._now_ns, "station", severity.name, name, text[:512])])

    def _contact(self, c: ContactState, t_ns: int) -> None:
        was = self.contact is not None and self.contact.in_contact
        handover = was and c.in_contact and c.station != self.contact.station
        if was and (handover or not c.in_contact):
            self.archive.close_pass(self.contact.station, t_ns, *self.pass_bytes)
        if c.in_contact and (handover or not was):
            self.archive.open_pass(c.station, t_ns)
            self.pass_bytes = [0, 0]
        self.contact = c

    # ---------------------------------------------------------------- the queues
    def _queue_due(self, tick: int, t_ns: int) -> None:
        """The scenario's jobs at their release times, the fault plan's commands at their ticks."""
        while self._to_queue and self._to_queue[0].release_t_ns <= t_ns:
            s = self._to_queue.pop(0)
            if self.archive.add_job(s.job_id, s.kind, s.priority, s.deadline_t_ns, s.work_gpu_s,
                                    _spec_blob(s), t_ns, origin="scenario", stage="QUEUED",
                                    spec_json=json.dumps(_spec_dict(s))):
                self._add_job(s)
            else:  # a station restarted on its archive: the job goes on from its recorded stage
                self._add_job(s, (self.archive.job(s.job_id) or {}).get("stage", "QUEUED"))
        while self.actions and self.actions[0]["tick"] <= tick:
            a = self.actions.pop(0)
            if a["action"] == "cancel":
                self._cancel(a["job"], t_ns)
            elif a["job"] in self.jobs:  # a duplicate of its upload, once that has gone up
                self._resend.append(a["job"])
        while self.plan and self.plan[0]["tick"] <= tick:
            c = self.plan.pop(0)
            name = f"{c['target']}.{_opcode_name(c['opcode'])}"
            self.archive.add_command(name, c["target"], c["opcode"], dict(c.get("args", {})), "plan", "plan",
                                     False, t_ns)

    def _add_job(self, spec: JobSpec, stage: str = "QUEUED") -> None:
        gj = _GroundJob(spec, stage, acked=stage not in ("QUEUED", "RELEASED", "SENT"))
        self.jobs[spec.job_id] = gj
        if not gj.acked:
            self._queued.append(gj)

    def _poll_archive(self, tick: int, t_ns: int) -> None:
        self.archive.set_meta(now_t_ns=t_ns)
        for rowid, job_id, spec_json in self.archive.new_operator_jobs(self._operator_rowid):
            self._operator_rowid = max(self._operator_rowid, rowid)
            rec = self.archive.job(job_id)  # a restarted station goes on from the recorded stage
            if rec is not None and rec["stage"] in _FINAL:
                continue
            try:
                fields = json.loads(spec_json)
                fields.update(job_id=job_id, release_t_ns=t_ns)
                spec = decode(_wire(JobSpec(**fields))).body  # the flight's own checks
            except (TypeError, ValueError, DecodeError) as exc:
                self.archive.set_stage(job_id, "REJECTED", t_ns, f"ground: spec: {exc}"[:256])
                continue
            self._add_job(spec, rec["stage"] if rec else "QUEUED")
        for row in self.archive.commands_to_release():
            if row["cmd_id"] not in self.commands:
                self._take_command(row, t_ns)
        for job_id in self.archive.cancel_requests():
            self.archive.clear_cancel(job_id)
            self._cancel(job_id, t_ns)

    def _take_command(self, row: dict, t_ns: int, stage: str = "QUEUED") -> None:
        try:
            args = json.loads(row["args_json"] or "{}")
            cmd = AppCommand(row["target"], int(row["opcode"]), int(row["cmd_id"]), SOURCE, args)
            decode(_wire(cmd))  # the flight's own checks, before it goes up
            if cmd.target not in APIDS or cmd.target == "hub":
                raise ValueError(f"target: expected one of the onboard apps, got {cmd.target!r}")
        except (TypeError, ValueError, DecodeError) as exc:
            self.archive.set_command_stage(row["cmd_id"], "FAILED", t_ns, "FORMAT_ERROR", f"ground: {exc}"[:256])
            return
        gc = _GroundCommand(cmd.cmd_id, cmd, bool(row["critical"]), t_ns, stage=stage)
        gc.sends = int(stage in ("SENT", "ACCEPTED"))  # sent before: a repeat goes up in the next pass
        self.commands[cmd.cmd_id] = gc

    def _cancel(self, job_id: str, t_ns: int) -> None:
        gj = self.jobs.get(job_id)
        if gj is None or gj.stage in _FINAL:
            return
        if gj.stage in ("QUEUED", "RELEASED"):  # never went up: cancelled on the ground
            if gj in self._queued:
                self._queued.remove(gj)
            gj.kept_on_ground = True
            self._stage(gj, "CANCELLED", t_ns, "cancelled by an operator before upload")
            return
        self.archive.add_command("executor.EXEC_CANCEL_JOB", "executor", int(Opcode.EXEC_CANCEL_JOB),
                                 {"job_id": job_id}, "station", "station", False, t_ns)

    # ------------------------------------------------------------------- uplink
    def _uplink(self, tick: int, t_ns: int) -> list[tuple[object, str]]:
        budget = self.contact.uplink_bps / 8.0 * self.tick_s - self.uplink_debt_bytes
        frames: list[bytes] = []
        self._held_pdus += self.receiver.poll(t_ns, True)
        # A key change in flight holds everything else: until its answer comes down, the
        # ground cannot know which key the spacecraft takes (a frame signed with the old key
        # after the switch would be refused as forged).
        rekey = next((gc for gc in self.commands.values()
                      if gc.cmd.opcode == Opcode.COMMS_ACTIVATE_KEY and gc.stage in ("SENT", "ACCEPTED")), None)
        if rekey is None:
            for pdu in self._held_pdus:  # file delivery answers first: small, they unblock the downlink
                frames.append(self._tc(pdu, APIDS["comms"]))
            self._held_pdus = []
            budget -= sum(len(f) for f in frames)
        for gc in self.commands.values():
            if budget <= 0:
                break
            if gc.stage in _CMD_FINAL or (rekey is not None and gc is not rekey):
                continue
            if gc.stage == "QUEUED":
                self._command_stage(gc, "RELEASED", t_ns)
            if gc.sends and tick - gc.last_sent_tick < self.command_resend_ticks:
                continue
            frame = self._tc(Message(Envelope(gc.cmd.KIND, gc.cmd.VERSION, SOURCE, 0, tick, t_ns, SAT), gc.cmd),
                             APIDS[gc.cmd.target], command=gc)
            frames.append(frame)
            budget -= len(frame)
            gc.last_sent_tick = tick
            gc.sends += 1
            if gc.stage == "RELEASED":
                self._command_stage(gc, "SENT", t_ns)
            if gc.cmd.opcode == Opcode.COMMS_ACTIVATE_KEY:
                rekey = gc
                break
        frames += self._bad_frames(tick)
        for job_id in list(self._resend) if rekey is None else ():  # duplicates of uploads, as retries
            gj = self.jobs[job_id]
            if budget <= 0:
                break
            if not 0 <= gj.last_sent_tick < tick or gj.kept_on_ground:
                continue  # not gone up yet (or never will): its duplicate waits
            self._resend.remove(job_id)
            frame = self._tc(Message(Envelope(gj.spec.KIND, gj.spec.VERSION, SOURCE, 0, tick, t_ns, SAT), gj.spec),
                             APIDS["executor"])
            frames.append(frame)
            budget -= len(frame)
            self.duplicates_sent += 1
        for gj in list(self._queued) if rekey is None else ():
            if budget <= 0:
                break
            if gj.stage in _FINAL:
                self._queued.remove(gj)
                continue
            if gj.acked or tick - gj.last_sent_tick < self.resend_after_ticks:
                continue
            if gj.stage == "QUEUED":
                self._stage(gj, "RELEASED", t_ns)
            frame = self._tc(Message(Envelope(gj.spec.KIND, gj.spec.VERSION, SOURCE, 0, tick, t_ns, SAT), gj.spec),
                             APIDS["executor"])
            frames.append(frame)
            budget -= len(frame)
            gj.last_sent_tick = tick
            if gj.stage == "RELEASED":
                self._stage(gj, "SENT", t_ns, timeout_t_ns=t_ns + int(self.resend_after_ticks * self.tick_s * 1e9))
        self._queued = [gj for gj in self._queued if not gj.acked]
        if self._auth_used:  # one write a tick, in the tick's transaction, before the frames leave
            self.archive.set_meta(**self._auth_used)
            self._auth_used = {}
        self.uplink_debt_bytes = max(0.0, -budget)
        self.pass_bytes[1] += sum(len(f) for f in frames)
        self.tc_sent += len(frames)
        return [(UplinkFrame(f), WORLD) for f in frames]

    def _bad_frames(self, tick: int) -> list[bytes]:
        """The fault plan's bad frames due by ``tick`` (made from the last good frame: none
        is made before one went up)."""
        out = []
        while self.bad_plan and self.bad_plan[0]["tick"] <= tick and self._last_frame is not None:
            kind = self.bad_plan.pop(0)["kind"]
            good = self._last_frame
            if kind == "garbage":
                rng = random.Random(tick)
                frame = bytes(rng.randrange(256) for _ in range(rng.randrange(1, 300)))
            elif kind == "truncated":
                frame = good[: len(good) // 2]
            elif kind == "forged":  # a byte of its MAC changed, the CRC-16 made right again
                body = good[:-3] + bytes([good[-3] ^ 0x5A])
                frame = body + binascii.crc_hqx(body, 0xFFFF).to_bytes(2, "big")
            else:  # replayed
                frame = good
            out.append(frame)
            self.bad_frames_sent[kind] = self.bad_frames_sent.get(kind, 0) + 1
        return out

    def _tc(self, item, apid: int, command: _GroundCommand | None = None) -> bytes:
        signer = self.signer
        if command is not None and command.cmd.opcode == Opcode.COMMS_ACTIVATE_KEY and command.sends % 2:
            # a key change whose answer was lost: the spacecraft may already use the new key
            # (its repeat of the command answers the same), so every other try goes with it
            new = int(command.cmd.args.get("key_id", 0))
            if new in self.keyring.keys:
                signer = TcSigner(LinkKey(new, self.keyring.keys[new]), self._next_auth_seq(new))
        frame = encode_tc(item, apid=apid, seq_count=self.tc_seq.next(apid), signer=signer)
        if command is not None:  # PUS 1 reports name the telecommand by its first four bytes
            self._by_request[int.from_bytes(frame[:4], "big")] = command.cmd_id
        self._auth_used[f"tc_auth_seq.{signer.key.key_id}"] = signer.next_seq - 1
        self._last_frame = frame
        return frame

    # ----------------------------------------------------------------- downlink
    def _downlink(self, data: bytes, t_ns: int) -> None:
        try:
            tm = decode_tm(data, self.epoch)
        except LinkError as exc:
            n = self.frames_bad[exc.reason] = self.frames_bad.get(exc.reason, 0) + 1
            if n % 100 == 1:  # bit errors come in bursts at low elevation: one event per 100
                self._event(Severity.WARNING_LO, "station.bad_frame", f"{n} bad frame(s) ({exc.reason}); latest: {exc}")
            return
        self.tm_received += 1
        self.gaps.observe(tm.apid, tm.seq_count)
        if tm.pdu is not None:
            self.receiver.handle(tm.pdu, t_ns)
            return
        if tm.service == 3:
            if isinstance(tm.message.body, JobWaits):  # not a time series: a state per job
                self._job_waits(tm.message)
            else:
                self.archive.add_telemetry(telemetry_rows(tm.message))
        elif tm.service == 5:
            self.archive.add_events([event_row(tm.message)])
        elif tm.service == 1:
            self._verification(tm, t_ns)
        elif isinstance(tm.message.body if tm.message else None, TableDump):
            self.table_dumps.append(tm.message.body)

    def _verification(self, tm, t_ns: int) -> None:
        body = tm.message.body if tm.message is not None else None
        if body is None or isinstance(body, CommandResponse):
            cmd_id = body.cmd_id if body is not None else self._by_request.get(tm.request_id)
            gc = self.commands.get(cmd_id) if cmd_id is not None else None
            if gc is None or (body is not None and body.source != SOURCE):
                return
            if body is None:
                if gc.stage in ("SENT", "RELEASED"):
                    self._command_stage(gc, "ACCEPTED", t_ns)
                return
            if gc.stage in _CMD_FINAL:
                return
            gc.status, gc.detail = body.status, body.detail
            self._command_stage(gc, "COMPLETED" if body.status == "OK" else "FAILED", t_ns, body.status, body.detail)
            if body.status == "OK" and gc.cmd.opcode == Opcode.COMMS_ACTIVATE_KEY:
                self._rotate(int(gc.cmd.args["key_id"]))
            return
        gj = self.jobs.get(getattr(body, "job_id", ""))
        if gj is None:
            self._event(Severity.WARNING_LO, "station.unknown_job",
                        f"{type(body).__name__} for unknown job {getattr(body, 'job_id', '?')!r}")
            return
        gj.acked = True
        if isinstance(body, JobAck):
            self._stage(gj, "ACCEPTED" if body.accepted else "REJECTED", t_ns, body.reason)
        elif isinstance(body, JobState):
            # the stage's own time on board when the report carries it, else when it came
            self._stage(gj, body.state, body.stage_t_ns or t_ns, body.reason)

    def _job_waits(self, msg: Message) -> None:
        """The executor's JobWaits: each listed job that waits by its latest stage, reached
        no later than the report was made, takes the reason (the archive row only when it
        changed)."""
        body: JobWaits = msg.body
        if len(body.job_ids) != len(body.reason_codes):
            self._event(Severity.WARNING_LO, "station.bad_job_waits",
                        f"JobWaits: {len(body.job_ids)} job ids but {len(body.reason_codes)} reasons: ignored")
            return
        t_ns = msg.env.t_ns
        changed = []
        for job_id, why in zip(body.job_ids, body.reasons, strict=True):
            gj = self.jobs.get(job_id)
            if gj is None or gj.stage not in WAITING_STAGES or gj.stage_t_ns > t_ns or gj.wait_reason == why:
                continue
            gj.wait_reason = why
            changed.append((job_id, why))
        if changed:
            self.archive.set_wait_reasons(changed)

    def _rotate(self, key_id: int) -> None:
        if key_id in self.keyring.keys and key_id != self.signer.key.key_id:
            self.signer = TcSigner(LinkKey(key_id, self.keyring.keys[key_id]), self._next_auth_seq(key_id))
            self._event(Severity.ACTIVITY_HI, "station.key_rotated", f"telecommands now signed with key {key_id}")

    def _command_stage(self, gc: _GroundCommand, stage: str, t_ns: int, status: str = "", message: str = "") -> None:
        gc.stage = stage
        if stage == "RELEASED":  # its timeout counts from here
            gc.released_t_ns = t_ns
        timeout = None if stage in _CMD_FINAL else gc.released_t_ns + self.command_timeout_ns
        self.archive.set_command_stage(gc.cmd_id, stage, t_ns, status, message[:256], timeout_t_ns=timeout)

    def _timeouts(self, t_ns: int) -> None:
        for gc in self.commands.values():
            if gc.stage not in _CMD_FINAL and gc.stage != "QUEUED" and t_ns - gc.released_t_ns > self.command_timeout_ns:
                self._command_stage(gc, "TIMEOUT", t_ns, "TIMEOUT", "no answer from the spacecraft")

    def _stage(self, gj: _GroundJob, stage: str, t_ns: int, reason: str = "", timeout_t_ns: int | None = None) -> None:
        if gj.stage in _FINAL:  # a late or repeated report never moves a final stage back
            return
        if stage == gj.stage and stage != "PROGRESS":
            return  # the same stage again (JobAck and JobState both say ACCEPTED): once
        if stage in _RANK and gj.stage in _RANK and _RANK[stage] < _RANK[gj.stage]:
            return  # a late report of an earlier stage: keep the latest
        gj.stage, gj.stage_t_ns = stage, t_ns
        if stage not in WAITING_STAGES:  # the archive clears it too
            gj.wait_reason = None
        self.archive.set_stage(gj.spec.job_id, stage, t_ns, reason, timeout_t_ns=timeout_t_ns)

    # -------------------------------------------------------------------- files
    def _accept_file(self, name: str, data: bytes) -> ConditionCode:
        """The CFDP receiver has a complete, intact file: keep it (durably) and say whether
        the spacecraft may forget it (NO_ERROR) or must make it again (FILESTORE_REJECTION)."""
        t_ns = self._now_ns
        self.files_received += 1
        if not name.startswith("results/"):
            self.archive.add_file(name, data, _crc32(data), t_ns)
            return ConditionCode.NO_ERROR
        try:
            msg = decode(data)
            if not isinstance(msg.body, ResultData):
                raise DecodeError(f"result file: expected a ResultData, got {type(msg.body).__name__}")
        except DecodeError as exc:
            self.archive.add_file(name, data, _crc32(data), t_ns, status="rejected", reason=str(exc)[:256])
            self.results_corrupt += 1
            return ConditionCode.FILESTORE_REJECTION
        body: ResultData = msg.body
        gj = self.jobs.get(body.job_id)
        if gj is not None and gj.delivered_t_ns is not None:  # archived already: a late copy
            self.results_duplicate += 1
            return ConditionCode.NO_ERROR
        if gj is None:
            self.archive.add_file(name, data, _crc32(data), t_ns, reason="result of a job this ground never sent")
            self._event(Severity.WARNING_LO, "station.unknown_job", f"result for unknown job {body.job_id!r}")
            return ConditionCode.NO_ERROR
        ok, why = self._check_result(gj.spec, body)
        if not ok:
            self.results_corrupt += 1
            self.results_nakked += 1
            self.archive.add_file(name, data, _crc32(data), t_ns, status="rejected", reason=why[:256],
                                  job_id=body.job_id)
            if gj.stage not in _FINAL:  # the job runs again: its record goes back too
                gj.stage, gj.stage_t_ns = "PREEMPTED", t_ns
                self.archive.set_stage(body.job_id, "PREEMPTED", t_ns, f"result rejected: {why}"[:256])
            self._event(Severity.WARNING_HI, "station.result_corrupt", f"{body.job_id}: {why}")
            return ConditionCode.FILESTORE_REJECTION
        if self.archive.store_result(body.job_id, body.kind, body.data, body.sha256, t_ns):
            self.archive.add_file(name, data, _crc32(data), t_ns, job_id=body.job_id)
            gj.stage, gj.stage_t_ns, gj.wait_reason = "ARCHIVED", t_ns, None
            gj.delivered_t_ns = t_ns
        else:
            self.results_duplicate += 1
        return ConditionCode.NO_ERROR

    @staticmethod
    def _check_result(spec: JobSpec, body: ResultData) -> tuple[bool, str]:
        if body.kind != spec.kind:  # check by what the job is, not what the file says
            return False, f"kind: expected {spec.kind!r} for this job, got {body.kind!r}"
        ok, why = verify_result(spec.kind, body.data, body.sha256)
        if ok and spec.kind == "synthetic":  # regenerate: catches flips made on board
            if body.data != expected_synthetic(spec.job_id, spec.seed, spec.output_bytes):
                return False, "synthetic result differs from its regeneration (corrupted on board)"
        if not ok and sha256_digest(body.data) != body.sha256:
            why = f"SHA-256 mismatch (damaged in storage on board): {why}"
        return ok, why

    # ------------------------------------------------------------------ reports
    def final_report(self) -> dict:
        stages: dict[str, int] = {}
        value = 0.0
        for gj in self.jobs.values():
            stages[gj.stage] = stages.get(gj.stage, 0) + 1
            s = gj.spec
            value += job_value(s.priority, s.work_gpu_s, s.deadline_t_ns, gj.delivered_t_ns)
        # a job cancelled on the ground before its upload was never sent (nor accepted on board)
        sent = [gj for gj in self.jobs.values() if gj.stage not in ("QUEUED", "RELEASED") and not gj.kept_on_ground]
        reached = {"ACCEPTED", "STARTED", "PROGRESS", "PREEMPTED", "COMPLETED", "DOWNLINKED", "ARCHIVED",
                   "FAILED", "EXPIRED", "CANCELLED"}
        return {
            "duplicates_sent": self.duplicates_sent,
            "bad_frames_sent": dict(sorted(self.bad_frames_sent.items())),
            "jobs_released": len(self.jobs),
            "jobs_sent": len(sent),
            "accepted_ids": sorted(gj.spec.job_id for gj in sent if gj.stage in reached),
            "sent_ids": sorted(gj.spec.job_id for gj in sent),
            "kept_on_ground_ids": sorted(gj.spec.job_id for gj in self.jobs.values() if gj.kept_on_ground),
            "jobs_by_stage": dict(sorted(stages.items())),
            "downlinked": sum(1 for gj in self.jobs.values() if gj.delivered_t_ns is not None),
            "value_delivered": value,
            "frames_bad": sum(self.frames_bad.values()),
            "frames_bad_by_reason": dict(sorted(self.frames_bad.items())),
            "tm_received": self.tm_received,
            "tm_gaps": self.gaps.missed,
            "tc_sent": self.tc_sent,
            "files_received": self.files_received,
            "cfdp_receiver": dict(self.receiver.statistics()),
            "results_corrupt": self.results_corrupt,
            "results_duplicate": self.results_duplicate,
            "results_nakked": self.results_nakked,
            "commands": [{"cmd_id": gc.cmd_id, "target": gc.cmd.target, "opcode": gc.cmd.opcode,
                          "args": dict(gc.cmd.args), "stage": gc.stage, "status": gc.status or gc.stage, "detail": gc.detail,
                          "sends": gc.sends} for gc in self.commands.values()],
            "table_dumps": [{"table": d.table, "crc32": d.crc32} for d in self.table_dumps],
        }

    def close(self) -> None:
        self.archive.close()


def _opcode_name(opcode: int) -> str:
    try:
        return Opcode(opcode).name
    except ValueError:
        return str(opcode)


def _spec_dict(s: JobSpec) -> dict:
    return {n: getattr(s, n) for n in s.__slots__ if n not in ("job_id", "release_t_ns")}


def _spec_blob(s: JobSpec) -> bytes:
    return msgpack.packb(encode_body(s), use_bin_type=True)


def _wire(body) -> bytes:
    return encode(Message(Envelope(body.KIND, body.VERSION, SOURCE, 0, 0, 0, SAT), body))


def _crc32(data: bytes) -> int:
    return zlib.crc32(data)


def make(start_tick: int, archive_path: str, jobs: list, keys: dict, epoch_utc: str,
         resend_after_ticks: int = 600, tick_s: float = 1.0, commands: list | None = None,
         meta: dict | None = None, passes: list | None = None, ground_actions: list | None = None,
         bad_frames: list | None = None) -> Station:
    """``jobs``: JobSpec field lists (as encode_body gives), so the spec ships through spawn;
    ``commands``: the command plan, {tick, target, opcode, args} each (validated by the harness);
    ``keys``: the telecommand keyring (flightsw.icd.linkauth file format); ``passes``: the
    predicted passes, (station, aos_t_ns, los_t_ns, max_elev_deg) each."""
    return Station(Path(archive_path), [JobSpec(*fields) for fields in jobs], Keyring.from_dict(keys, "station keys"),
                   epoch_utc, resend_after_ticks, tick_s, commands or (), meta, [tuple(p) for p in passes or ()],
                   ground_actions=ground_actions or (), bad_frames=bad_frames or ())
