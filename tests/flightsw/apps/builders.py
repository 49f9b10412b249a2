"""Builders for ICD message bodies the app-core tests feed in (plain data, no I/O)."""

from __future__ import annotations

from flightsw.icd.linkframe import encode_frame
from flightsw.icd.messages import (
    BoardSensors,
    Envelope,
    JobSpec,
    Message,
    Mode,
    PowerBudget,
    ThermalCaps,
)

__all__ = ["job_spec", "budget", "thermal_caps", "board_sensors", "frame", "S"]

S = 1_000_000_000  # [ns] one second


def job_spec(job_id: str = "j1", **overrides) -> JobSpec:
    """A valid synthetic JobSpec: 1 board, 2 GPU-s of work, 64 output bytes, no deadline."""
    fields = dict(
        job_id=job_id,
        kind="synthetic",
        priority=0,
        deadline_t_ns=-1,
        boards_needed=1,
        work_gpu_s=2.0,
        checkpoint_interval_s=0.0,
        input_bytes=0,
        output_bytes=64,
        release_t_ns=0,
        seed=7,
        params={},
    )
    fields.update(overrides)
    return JobSpec(**fields)


def budget(compute_w: float, mode: str = Mode.NOMINAL.value) -> PowerBudget:
    return PowerBudget(mode=mode, compute_budget_w=compute_w, solar_power_w=compute_w,
                       battery_avail_w=0.0, battery_soc=0.8)


def thermal_caps(cap_w: tuple[float, ...]) -> ThermalCaps:
    return ThermalCaps(cap_w=tuple(cap_w), shutdown=tuple(int(c == 0.0) for c in cap_w))


def board_sensors(n_boards: int, work: dict[int, tuple[str, float]] | None = None,
                  temp_c: float = 40.0) -> BoardSensors:
    """Readings for ``n_boards``; ``work`` maps board -> (job id it worked on, GPU-s done)."""
    work = work or {}
    return BoardSensors(
        temp_c=(temp_c,) * n_boards,
        power_w=tuple(50.0 if b in work else 0.0 for b in range(n_boards)),
        work_gpu_s=tuple(work[b][1] if b in work else 0.0 for b in range(n_boards)),
        job_id=tuple(work[b][0] if b in work else "" for b in range(n_boards)),
        radiator_temp_c=10.0,
    )


def frame(body, src: str = "ground", seq: int = 1) -> bytes:
    """``body`` ICD-encoded as the ground would put it on the uplink."""
    return encode_frame(Message(Envelope(body.KIND, body.VERSION, src, seq, 0, 0, "sat"), body))
