"""What the executor core asks its shell to do: store operations (applied to the ledger,
in order, BEFORE any message of the same step is sent) and result offers (filled in by
the shell from the store). Plain frozen data, one class per operation."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from flightsw.icd.messages import JobSpec

__all__ = [
    "AddJob",
    "SetState",
    "RecordStage",
    "Checkpoint",
    "Rerun",
    "CountSdc",
    "StoreResult",
    "MarkDownlinked",
    "DiscardResult",
    "SetBoardService",
    "SaveCounters",
    "OfferResult",
    "OfferResults",
    "STORE_OPS",
]


# ---------------------------------------------------------------- store operations
@dataclass(frozen=True)
class AddJob:
    """Store a new job (ACCEPTED or REJECTED) with its first history row."""

    spec: JobSpec
    state: str
    reason: str
    t_ns: int
    failure_code: int = 0


@dataclass(frozen=True)
class SetState:
    """A lifecycle stage: the job's state, and a history row with time, reason and code."""

    job_id: str
    state: str
    t_ns: int
    reason: str = ""
    failure_code: int = 0


@dataclass(frozen=True)
class RecordStage:
    """A history row only (a PROGRESS report: the job stays STARTED)."""

    job_id: str
    stage: str
    t_ns: int
    reason: str = ""


@dataclass(frozen=True)
class Checkpoint:
    """Save jobs' progress [GPU-s] (the slowest replica's). ``replica_gpu_s``: each
    replica's, for jobs run twice; ``upsets``: the bit flips already inside the
    checkpoint, per replica, for jobs that have any (a restore must keep them)."""

    progress_gpu_s: Mapping[str, float]
    t_ns: int
    replica_gpu_s: Mapping[str, tuple[float, ...]] = field(default_factory=dict)
    upsets: Mapping[str, tuple[int, ...]] = field(default_factory=dict)


@dataclass(frozen=True)
class Rerun:
    """A corruption was caught on board: the job goes back to the queue from nothing,
    ``reruns`` times so far; one more detection counted for it."""

    job_id: str
    reruns: int
    t_ns: int
    reason: str


@dataclass(frozen=True)
class CountSdc:
    """One more corruption of ``job_id`` caught on board (one that ends the job FAILED)."""

    job_id: str
    t_ns: int


@dataclass(frozen=True)
class StoreResult:
    """The result bytes and the COMPLETED stage, together."""

    job_id: str
    kind: str
    data: bytes
    sha256: bytes
    t_ns: int
    work_gpu_s: float


@dataclass(frozen=True)
class MarkDownlinked:
    job_id: str
    t_ns: int


@dataclass(frozen=True)
class DiscardResult:
    """Drop the unacknowledged result; the job goes back to the queue with no progress
    (``reruns`` stored when given), or, with ``state`` FAILED, ends there with
    ``failure_code``: one transaction either way."""

    job_id: str
    t_ns: int
    reason: str
    reruns: int | None = None
    state: str = "PREEMPTED"
    failure_code: int = 0


@dataclass(frozen=True)
class SetBoardService:
    board: int
    in_service: bool
    t_ns: int
    reason: str


@dataclass(frozen=True)
class SaveCounters:
    """The executor's cumulative counters, so a restart keeps the run's totals."""

    values: Mapping[str, int]


STORE_OPS = (AddJob, SetState, RecordStage, Checkpoint, Rerun, CountSdc, StoreResult, MarkDownlinked,
             DiscardResult, SetBoardService, SaveCounters)


# ------------------------------------------------------------------ shell requests
@dataclass(frozen=True)
class OfferResult:
    """Shell: send the stored result of ``job_id`` to comms."""

    job_id: str


@dataclass(frozen=True)
class OfferResults:
    """Shell: send unacknowledged results, most valuable first (then oldest), up to
    ``max_bytes``, skipping ``skip`` (see downlink.choose_results)."""

    max_bytes: int
    skip: frozenset[str] = frozenset()
