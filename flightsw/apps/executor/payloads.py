"""Registered payloads: what a job's result bytes are (DESIGN.md §6).

The simulated board decides how long work takes; a payload decides what the result is.
Every payload is a pure function of (job_id, params, output_bytes, seed): the same inputs
give the same bytes on every machine, so ground can regenerate and compare, and seeds
never come from Python's per-process ``hash()``.

Kinds:
  ``matmul``    C = A @ B for n x n standard-normal A, B (params ``n``, default 64,
                1..512), packed with Huang–Abraham checksums computed from A and B
                (see :mod:`flightsw.icd.results`). ``output_bytes`` is ignored: the size
                is fixed by n (``matmul_result_bytes(n)``).
  ``synthetic`` exactly ``output_bytes`` (0..64 MiB) pseudo-random bytes.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from flightsw.icd.results import abft_check, pack_matmul_result

__all__ = [
    "MATMUL_DEFAULT_N",
    "MATMUL_MAX_N",
    "PAYLOADS",
    "SYNTHETIC_MAX_BYTES",
    "InvalidPayloadParams",
    "PayloadCorrupted",
    "UnknownPayload",
    "checked_matmul_result",
    "derive_seed",
    "run_payload",
]

MATMUL_DEFAULT_N = 64
MATMUL_MAX_N = 512
SYNTHETIC_MAX_BYTES = 64 * 1024 * 1024  # 64 MiB
_SEED_DOMAIN = b"sunsched.payload.seed.v1\x00"

Payload = Callable[[str, Mapping[str, Any], int, int], bytes]


class UnknownPayload(KeyError):
    """No payload is registered for this kind."""


class InvalidPayloadParams(ValueError):
    """A job's params, size or seed are out of range; the message says what was expected."""


class PayloadCorrupted(RuntimeError):
    """A computed result failed its own integrity check before it was packed."""


def derive_seed(job_id: str, seed: int) -> int:
    """Seed for a job's generator [uint64], from SHA-256 of the job id and seed.

    Stable across processes and machines (unlike ``hash()``). Raises
    InvalidPayloadParams unless ``job_id`` is a str and ``seed`` an int (not bool).
    """
    if not isinstance(job_id, str):
        raise InvalidPayloadParams(f"expected job_id as str, got {type(job_id).__name__}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise InvalidPayloadParams(f"expected seed as int, got {type(seed).__name__}")
    id_bytes = job_id.encode("utf-8", "surrogatepass")  # any str, even lone surrogates
    material = _SEED_DOMAIN + id_bytes + b"\x00" + str(seed).encode("ascii")
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "little")


def checked_matmul_result(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> bytes:
    """Pack C with checksums computed from A and B (n, n), after checking C against them.

    Row checksum = A @ B.sum(axis=1), column checksum = A.sum(axis=0) @ B: neither reads
    C, so a corrupted C (a bit flip during or after the product) fails the ABFT check.
    Raises PayloadCorrupted with the check's reason if it does.
    """
    row = a @ b.sum(axis=1)
    col = a.sum(axis=0) @ b
    ok, reason = abft_check(c, row, col)
    if not ok:
        raise PayloadCorrupted(f"matmul result failed ABFT before packing: {reason}")
    return pack_matmul_result(c, row, col)


def _matmul(job_id: str, params: Mapping[str, Any], output_bytes: int, seed: int) -> bytes:
    n = params.get("n", MATMUL_DEFAULT_N)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MATMUL_MAX_N:
        raise InvalidPayloadParams(f"expected params['n'] as int in 1..{MATMUL_MAX_N}, got {n!r}")
    rng = np.random.default_rng(derive_seed(job_id, seed))
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n))
    return checked_matmul_result(a, b, a @ b)


def _synthetic(job_id: str, params: Mapping[str, Any], output_bytes: int, seed: int) -> bytes:
    if (
        not isinstance(output_bytes, int)
        or isinstance(output_bytes, bool)
        or not 0 <= output_bytes <= SYNTHETIC_MAX_BYTES
    ):
        raise InvalidPayloadParams(
            f"expected output_bytes as int in 0..{SYNTHETIC_MAX_BYTES}, got {output_bytes!r}"
        )
    rng = np.random.default_rng(derive_seed(job_id, seed))
    return rng.bytes(output_bytes)


PAYLOADS: dict[str, Payload] = {
    "matmul": _matmul,
    "synthetic": _synthetic,
}


def run_payload(
    kind: str, job_id: str, params: Mapping[str, Any], output_bytes: int, seed: int
) -> bytes:
    """Run the payload registered for ``kind`` and return its result bytes.

    Raises UnknownPayload for an unregistered kind, InvalidPayloadParams for bad
    params/size/seed, PayloadCorrupted if a result fails its own check.
    """
    try:
        payload = PAYLOADS[kind]
    except (KeyError, TypeError):
        raise UnknownPayload(
            f"unknown payload kind {kind!r}; expected one of {sorted(PAYLOADS)}"
        ) from None
    if not isinstance(params, Mapping):
        raise InvalidPayloadParams(f"expected params as a mapping, got {type(params).__name__}")
    return payload(job_id, params, output_bytes, seed)
