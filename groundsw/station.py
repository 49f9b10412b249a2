"""The ground station: the ground end of the RF link, as a bus participant ("station").

It releases the scenario's jobs at their release times, uploads them during contacts
(and again if no acknowledgement came back within ``resend_after_ticks``), records
every stage the spacecraft reports, checks every result's integrity (SHA-256, and ABFT
checksums for matmul) before archiving it, and acknowledges only archived results.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import msgpack

from flightsw.icd.codec import DecodeError, encode_body
from flightsw.icd.linkframe import decode_frame, encode_frame
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
    Message,
    ResultAck,
    ResultData,
    ResultNak,
    Severity,
    TableDump,
    UplinkFrame,
)
from flightsw.icd.results import expected_synthetic, sha256_digest, verify_result
from flightsw.icd.value import job_value
from groundsw.archive import Archive

__all__ = ["Station", "make"]

LINK_SRC = "ground"
SAT = "sat"
WORLD = "world"
# Stages by rank: a late report of a lower rank never moves a job back. Running, progress
# reports and preemptions share a rank: a job goes back and forth between them.
_RANK = {"RELEASED": 0, "SENT": 1, "ACCEPTED": 2, "STARTED": 3, "PROGRESS": 3, "PREEMPTED": 3,
         "COMPLETED": 4, "DOWNLINKED": 5, "ARCHIVED": 6}
_FINAL = frozenset({"ARCHIVED", "REJECTED", "FAILED", "EXPIRED", "CANCELLED"})


@dataclass
class _GroundJob:
    spec: JobSpec
    stage: str = "QUEUED"
    last_sent_tick: int = -(10**12)
    acked: bool = False
    delivered_t_ns: int | None = None


@dataclass
class _GroundCommand:
    """A command from the run's command plan: sent from ``tick`` on, during contacts, and
    again until its response comes back (apps ignore a repeated id)."""

    cmd: AppCommand
    tick: int
    last_sent_tick: int = -(10**12)
    status: str = "QUEUED"
    detail: str = ""


class Station:
    name = "station"
    period_ticks = 1
    subscriptions = frozenset({ContactState.KIND, DownlinkFrame.KIND})

    def __init__(self, archive_path: Path, jobs: Sequence[JobSpec], resend_after_ticks: int = 600,
                 tick_s: float = 1.0, commands: Sequence[dict] = ()) -> None:
        self.tick_s = tick_s
        self.commands = [
            _GroundCommand(AppCommand(c["target"], c["opcode"], i + 1, LINK_SRC, dict(c.get("args", {}))), c["tick"])
            for i, c in enumerate(sorted(commands, key=lambda c: c["tick"]))
        ]
        self.table_dumps: list[TableDump] = []
        self.archive = Archive(archive_path)
        self.jobs = {j.job_id: _GroundJob(j) for j in sorted(jobs, key=lambda j: (j.release_t_ns, j.job_id))}
        self._to_release = list(self.jobs.values())
        self._released: list[_GroundJob] = []
        self.resend_after_ticks = resend_after_ticks
        self.contact: ContactState | None = None
        self.acks_out: list[str] = []
        self.naks_out: list[str] = []
        self._nak_reason: dict[str, str] = {}
        self.results_nakked = 0
        self.link_seq = 0
        self.frames_bad = 0
        self.results_corrupt = 0
        self.results_duplicate = 0
        self.uplink_debt_bytes = 0.0

    def step(self, tick: int, t_ns: int, inbox: Sequence[Message]) -> list[tuple[object, str]]:
        out: list[tuple[object, str]] = []
        while self._to_release and self._to_release[0].spec.release_t_ns <= t_ns:
            gj = self._to_release.pop(0)
            s = gj.spec
            self.archive.add_job(s.job_id, s.kind, s.priority, s.deadline_t_ns, s.work_gpu_s,
                                 msgpack.packb(encode_body(s), use_bin_type=True), t_ns)
            gj.stage = "RELEASED"
            self._released.append(gj)
        for m in inbox:
            if isinstance(m.body, ContactState):
                self.contact = m.body
            elif isinstance(m.body, DownlinkFrame):
                out.extend(self._downlink(m.body.data, t_ns))
        if self.contact is not None and self.contact.in_contact:
            out.extend(self._uplink(tick, t_ns))
        else:
            self.uplink_debt_bytes = 0.0
        return out

    # ----------------------------------------------------------------- downlink
    def _downlink(self, data: bytes, t_ns: int) -> list[tuple[object, str]]:
        try:
            body = decode_frame(data).body
        except DecodeError as exc:
            self.frames_bad += 1  # bit errors come in bursts at low elevation: one event per 100
            if self.frames_bad % 100 == 1:
                return [(Event(int(Severity.WARNING_LO), "station.bad_frame",
                               f"{self.frames_bad} bad frame(s); latest: {exc}"[:512]), "")]
            return []
        if isinstance(body, CommandResponse):
            for gc in self.commands:
                if gc.cmd.cmd_id == body.cmd_id and body.source == LINK_SRC:
                    gc.status, gc.detail = body.status, body.detail
            return []
        if isinstance(body, TableDump):
            self.table_dumps.append(body)
            return []
        gj = self.jobs.get(getattr(body, "job_id", ""))
        if gj is None:
            self.frames_bad += 1
            return [(Event(int(Severity.WARNING_LO), "station.unknown_job",
                           f"{type(body).__name__} for unknown job {getattr(body, 'job_id', '?')!r}"), "")]
        if isinstance(body, JobAck):
            gj.acked = True
            self._stage(gj, "ACCEPTED" if body.accepted else "REJECTED", t_ns, body.reason)
        elif isinstance(body, JobState):
            gj.acked = True
            # the stage's own time on board when the report carries it, else when it came
            self._stage(gj, body.state, body.stage_t_ns or t_ns, body.reason)
        elif isinstance(body, ResultData):
            if body.kind != gj.spec.kind:  # check by what the job is, not what the frame says
                ok, why = False, f"kind: expected {gj.spec.kind!r} for this job, got {body.kind!r}"
            else:
                ok, why = verify_result(gj.spec.kind, body.data, body.sha256)
                if ok and gj.spec.kind == "synthetic":  # regenerate: catches flips made on board
                    s = gj.spec
                    if body.data != expected_synthetic(s.job_id, s.seed, s.output_bytes):
                        ok, why = False, "synthetic result differs from its regeneration (corrupted on board)"
            if not ok:
                self.results_corrupt += 1
                # Intact on the link (its SHA-256 matches) but wrong: corrupted on board, and
                # resending cannot fix it: ask for a rerun. A digest mismatch is a link error:
                # the spacecraft resends and the copy that arrives intact is checked again.
                if sha256_digest(body.data) == body.sha256 and body.job_id not in self.naks_out:
                    self.naks_out.append(body.job_id)
                    self._nak_reason[body.job_id] = why[:256]
                    if gj.stage not in _FINAL:  # the job runs again: its record goes back too
                        gj.stage = "PREEMPTED"
                        self.archive.set_stage(body.job_id, "PREEMPTED", t_ns, f"result rejected: {why}"[:256])
                return [(Event(int(Severity.WARNING_HI), "station.result_corrupt",
                               f"{body.job_id}: {why}"[:512]), "")]
            gj.acked = True
            if self.archive.store_result(body.job_id, body.kind, body.data, body.sha256, t_ns):
                gj.stage = "ARCHIVED"
                gj.delivered_t_ns = t_ns
            else:
                self.results_duplicate += 1
            self.acks_out.append(body.job_id)  # acknowledge only what is archived
        return []

    def _stage(self, gj: _GroundJob, stage: str, t_ns: int, reason: str) -> None:
        if gj.stage in _FINAL:  # a late or repeated report never moves a final stage back
            return
        if stage == gj.stage and stage != "PROGRESS":
            return  # the same stage again (JobAck and JobState both say ACCEPTED): once
        if stage in _RANK and gj.stage in _RANK and _RANK[stage] < _RANK[gj.stage]:
            return  # a late report of an earlier stage: keep the latest
        gj.stage = stage
        self.archive.set_stage(gj.spec.job_id, stage, t_ns, reason)

    # ------------------------------------------------------------------- uplink
    def _uplink(self, tick: int, t_ns: int) -> list[tuple[object, str]]:
        budget = self.contact.uplink_bps / 8.0 * self.tick_s - self.uplink_debt_bytes
        out = []
        while budget > 0 and self.acks_out:
            frame = self._frame(ResultAck(self.acks_out.pop(0)), tick, t_ns)
            budget -= len(frame)
            out.append((UplinkFrame(frame), WORLD))
        for gc in self.commands:
            if budget <= 0 or gc.tick > tick:
                break
            if gc.status not in ("QUEUED", "SENT") or tick - gc.last_sent_tick < self.resend_after_ticks:
                continue
            frame = self._frame(gc.cmd, tick, t_ns)
            budget -= len(frame)
            gc.last_sent_tick, gc.status = tick, "SENT"
            out.append((UplinkFrame(frame), WORLD))
        while budget > 0 and self.naks_out:
            job_id = self.naks_out.pop(0)
            frame = self._frame(ResultNak(job_id, self._nak_reason.pop(job_id, "")), tick, t_ns)
            budget -= len(frame)
            self.results_nakked += 1
            out.append((UplinkFrame(frame), WORLD))
        for gj in self._released:
            if budget <= 0:
                break
            if gj.acked or tick - gj.last_sent_tick < self.resend_after_ticks:
                continue
            frame = self._frame(gj.spec, tick, t_ns)
            budget -= len(frame)
            gj.last_sent_tick = tick
            if gj.stage == "RELEASED":
                gj.stage = "SENT"
                self.archive.set_stage(gj.spec.job_id, "SENT", t_ns)
            out.append((UplinkFrame(frame), WORLD))
        self.uplink_debt_bytes = max(0.0, -budget)
        return out

    def _frame(self, body, tick: int, t_ns: int) -> bytes:
        self.link_seq += 1
        env = Envelope(body.KIND, body.VERSION, LINK_SRC, self.link_seq, tick, t_ns, SAT)
        return encode_frame(Message(env, body))

    # ------------------------------------------------------------------ reports
    def final_report(self) -> dict:
        stages: dict[str, int] = {}
        value = 0.0
        for gj in self.jobs.values():
            stages[gj.stage] = stages.get(gj.stage, 0) + 1
            s = gj.spec
            value += job_value(s.priority, s.work_gpu_s, s.deadline_t_ns, gj.delivered_t_ns)
        released = [gj for gj in self.jobs.values() if gj.stage != "QUEUED"]
        reached = {"ACCEPTED", "STARTED", "PREEMPTED", "COMPLETED", "DOWNLINKED", "ARCHIVED",
                   "FAILED", "EXPIRED", "CANCELLED"}
        return {
            "jobs_released": len(released),
            "jobs_sent": sum(1 for gj in released if gj.stage != "RELEASED"),
            "accepted_ids": sorted(gj.spec.job_id for gj in released if gj.stage in reached),
            "jobs_by_stage": dict(sorted(stages.items())),
            "downlinked": sum(1 for gj in released if gj.delivered_t_ns is not None),
            "value_delivered": value,
            "frames_bad": self.frames_bad,
            "results_corrupt": self.results_corrupt,
            "results_duplicate": self.results_duplicate,
            "results_nakked": self.results_nakked,
            "commands": [{"cmd_id": gc.cmd.cmd_id, "target": gc.cmd.target, "opcode": gc.cmd.opcode,
                          "tick": gc.tick, "status": gc.status, "detail": gc.detail} for gc in self.commands],
            "table_dumps": [{"table": d.table, "crc32": d.crc32} for d in self.table_dumps],
        }

    def close(self) -> None:
        self.archive.close()


def make(start_tick: int, archive_path: str, jobs: list, resend_after_ticks: int = 600,
         tick_s: float = 1.0, commands: list | None = None) -> Station:
    """``jobs``: JobSpec field lists (as encode_body gives), so the spec ships through spawn;
    ``commands``: the command plan, {tick, target, opcode, args} each (validated by the harness)."""
    return Station(Path(archive_path), [JobSpec(*fields) for fields in jobs], resend_after_ticks, tick_s,
                   commands or ())
