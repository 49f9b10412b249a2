"""Result integrity on board: a corrupted result is caught here and never delivered (pure).

Two checks, by job:

- ``matmul``: the result's own ABFT row/column checksums (Huang & Abraham), computed from
  the inputs, are checked before it is packed (payloads.checked_matmul_result).
- any kind with ``params["dual"] = true``: dual execution. The job runs as two replicas,
  each on ``boards_needed`` boards of its own; each replica carries the upsets its own
  boards reported; at completion both replicas' results are computed and compared byte
  for byte. A mismatch is a detected corruption.

A plain ``synthetic`` job has no check on board: an upset goes down in its result and
only the ground's regeneration finds it (it answers with a ResultNak).

The simulated boards do not return result bytes: the executor computes what each board
would have returned (the payload, with that board's reported upsets applied). Left out:
a corruption in both replicas that flips the very same bits (the replicas get different
flip salts, so in this model it cannot happen).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from flightsw.apps.executor.payloads import PayloadCorrupted, run_payload
from flightsw.icd.messages import JobSpec

__all__ = ["Verdict", "replicas_of", "dual_param_error", "compute_result"]


@dataclass(frozen=True)
class Verdict:
    """What a finished job's result is: ``data`` when it passed its checks; otherwise
    ``corrupted`` (a corruption was detected: run again) or ``error`` (the payload
    refused the job: it fails) says why."""

    data: bytes | None
    corrupted: str = ""
    error: str = ""


def replicas_of(spec: JobSpec) -> int:
    """2 for a job run twice and compared (params dual = true), else 1."""
    return 2 if spec.params.get("dual") is True else 1


def dual_param_error(spec: JobSpec) -> str:
    """A refusal text if params["dual"] is there but not true or false, else ""."""
    if "dual" in spec.params and type(spec.params["dual"]) is not bool:
        return f"params.dual: expected true or false, got {spec.params['dual']!r}"
    return ""


def compute_result(spec: JobSpec, upsets: Sequence[int]) -> Verdict:
    """The result of ``spec`` as its replicas' boards returned it, ``upsets[r]`` bit flips
    in replica r (one entry per replica), checked."""
    outputs = []
    for r, hits in enumerate(upsets):
        salt = r + 1 if len(upsets) > 1 else 0
        try:
            outputs.append(run_payload(spec.kind, spec.job_id, spec.params, spec.output_bytes, spec.seed,
                                       hits, upset_salt=salt))
        except PayloadCorrupted as exc:
            return Verdict(None, corrupted=f"replica {r + 1}: {exc}" if len(upsets) > 1 else str(exc))
        except Exception as exc:  # the payload refused the job's parameters
            return Verdict(None, error=f"payload: {exc}")
    if any(o != outputs[0] for o in outputs[1:]):
        return Verdict(None, corrupted=f"dual execution: the replicas' results differ "
                                       f"(upsets per replica {list(upsets)})")
    return Verdict(outputs[0])
