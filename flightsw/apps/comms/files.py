"""Files down the link: job results and event logs, by CFDP class 2 (flightsw.icd.cfdp).

A result goes down as one file, ``results/<job id>.result``, whose content is the ICD
encoding of the executor's ResultData (job id, kind, bytes, SHA-256): the ground checks the
file with CFDP's CRC-32 (link errors), then the SHA-256 (storage errors since completion),
then ABFT or regeneration (errors made while computing). The ground's FINISHED answers:

- NO_ERROR: archived; comms tells the executor (ResultAck), which marks it DOWNLINKED;
- FILESTORE_REJECTION: intact but wrong, corrupted on board; comms tells the executor
  (ResultNak), which runs the job again;
- anything else (the transaction was abandoned): comms forgets the file; the executor
  still holds the result durably and offers it again at the next resync.

Comms holds a bounded window of result bytes (``max_queue_bytes``); the executor holds them
all. Event logs go down as ``logs/events-<tick>.jsonl`` after the results (lower priority).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field

from spacepackets.cfdp import ConditionCode

from flightsw.icd.cfdp import CfdpConfig, FileSender
from flightsw.icd.codec import encode
from flightsw.icd.messages import Event, Message, ResultAck, ResultData, ResultNak, Severity

__all__ = ["ResultFiles", "result_file_name", "RESULT_PRIORITY", "LOG_PRIORITY"]

RESULT_PRIORITY = 0
LOG_PRIORITY = 1
_SAFE_ID = re.compile(r"[A-Za-z0-9_-]{1,64}")


def result_file_name(job_id: str) -> str:
    """``results/<id>.result``; an id with characters a file name may not hold is hex-encoded
    (the content names the job anyway: the name is for people)."""
    if _SAFE_ID.fullmatch(job_id):
        return f"results/{job_id}.result"
    return f"results/x-{job_id.encode().hex()[:200]}.result"


@dataclass
class ResultFiles:
    config: CfdpConfig
    max_queue_bytes: int
    max_log_bytes: int = 1024 * 1024
    first_seq_num: int = 1  # the CFDP transaction numbers go on across restarts
    sender: FileSender = field(init=False)
    by_seq: dict = field(default_factory=dict)  # transaction seq -> (job id, bytes) | None for a log
    by_job: dict = field(default_factory=dict)  # job id -> transaction seq
    queued_bytes: int = 0
    refused: int = 0
    delivered: int = 0
    rejected_by_ground: int = 0
    abandoned: int = 0
    logs_sent: int = 0
    log_lines: list = field(default_factory=list)
    log_bytes: int = 0
    log_dropped: int = 0

    def __post_init__(self) -> None:
        self.sender = FileSender(self.config, self.first_seq_num)

    def holds(self, job_id: str) -> bool:
        return job_id in self.by_job

    def offer(self, msg: Message, t_ns: int) -> bool:
        """Queue a result for the downlink; False when the window is full (the executor keeps it)."""
        body: ResultData = msg.body
        if body.job_id in self.by_job:
            return True
        if self.by_job and self.queued_bytes + len(body.data) > self.max_queue_bytes:
            self.refused += 1
            return False
        seq = self.sender.put(result_file_name(body.job_id), encode(msg), t_ns, RESULT_PRIORITY)
        self.by_seq[seq] = (body.job_id, len(body.data))
        self.by_job[body.job_id] = seq
        self.queued_bytes += len(body.data)
        return True

    def log_event(self, msg: Message) -> None:
        """Keep an event for the next log file (bounded: the PUS 5 stream carries them too)."""
        ev: Event = msg.body
        line = json.dumps({"t_ns": msg.env.t_ns, "src": msg.env.src, "severity": Severity(ev.severity).name,
                           "name": ev.name, "text": ev.text}, separators=(",", ":"))
        if self.log_bytes + len(line) + 1 > self.max_log_bytes:
            self.log_dropped += 1
            return
        self.log_lines.append(line)
        self.log_bytes += len(line) + 1

    def close_log(self, tick: int, t_ns: int) -> None:
        """Send the events gathered since the last log file as one file."""
        if not self.log_lines:
            return
        data = ("\n".join(self.log_lines) + "\n").encode()
        seq = self.sender.put(f"logs/events-{tick:010d}.jsonl", data, t_ns, LOG_PRIORITY)
        self.by_seq[seq] = None
        self.log_lines, self.log_bytes = [], 0
        self.logs_sent += 1

    def finished(self) -> list[object]:
        """What the executor must hear about the transactions the ground answered."""
        out: list[object] = []
        for fin in self.sender.drain_finished():
            entry = self.by_seq.pop(fin.seq_num, None)
            if entry is None:
                continue  # a log file, or an answer already handled
            job_id, nbytes = entry
            self.by_job.pop(job_id, None)
            self.queued_bytes -= nbytes
            code = ConditionCode(int(fin.condition))
            if code == ConditionCode.NO_ERROR and fin.delivered:
                self.delivered += 1
                out.append(ResultAck(job_id))
            elif code == ConditionCode.FILESTORE_REJECTION:
                self.rejected_by_ground += 1
                out.append(ResultNak(job_id, "rejected by the ground's verification (CFDP filestore rejection)"))
            else:
                self.abandoned += 1  # offered again at the next resync
        return out
