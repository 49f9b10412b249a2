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

from collections.abc import Callable, Mapping
from typing import Any

import numpy as np

from flightsw.icd.results import abft_check, expected_synthetic, pack_matmul_result
from flightsw.icd.results import derive_seed as _icd_derive_seed

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

# (job_id, params, output_bytes, seed, upsets, upset_salt) -> result bytes
Payload = Callable[[str, Mapping[str, Any], int, int, int, int], bytes]


class UnknownPayload(KeyError):
    """No payload is registered for this kind."""


class InvalidPayloadParams(ValueError):
    """A job's params, size or seed are out of range; the message says what was expected."""


class PayloadCorrupted(RuntimeError):
    """A computed result failed its own integrity check before it was packed."""


def derive_seed(job_id: str, seed: int) -> int:
    """Seed for a job's generator [uint64] (the ICD's definition, which the ground shares).

    Raises InvalidPayloadParams unless ``job_id`` is a str and ``seed`` an int (not bool).
    """
    try:
        return _icd_derive_seed(job_id, seed)
    except TypeError as exc:
        raise InvalidPayloadParams(str(exc)) from None


def _flip_bits(buf: np.ndarray, upsets: int, rng: np.random.Generator) -> None:
    """Flip ``upsets`` random bits of a writable uint8 view in place (radiation upsets)."""
    if buf.size == 0:
        return
    for _ in range(upsets):
        i = int(rng.integers(buf.size))
        buf[i] ^= np.uint8(1 << int(rng.integers(8)))


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


def _flip_rng(upsets: int, size: int, salt: int) -> np.random.Generator:
    """Where the flips land: a function of their number and the result's size, and of the
    salt when one is given (two replicas of a job get different salts: independent upsets
    in two boards do not hit the same bits)."""
    return np.random.default_rng([upsets, size, salt] if salt else [upsets, size])


def _matmul(job_id: str, params: Mapping[str, Any], output_bytes: int, seed: int,
            upsets: int = 0, upset_salt: int = 0) -> bytes:
    n = params.get("n", MATMUL_DEFAULT_N)
    if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= MATMUL_MAX_N:
        raise InvalidPayloadParams(f"expected params['n'] as int in 1..{MATMUL_MAX_N}, got {n!r}")
    rng = np.random.default_rng(derive_seed(job_id, seed))
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n))
    c = a @ b
    if upsets:  # bits the board's memory lost while it computed: ABFT must catch them
        _flip_bits(c.view(np.uint8).reshape(-1)[6::8], upsets, _flip_rng(upsets, n, upset_salt))
    return checked_matmul_result(a, b, c)


def _synthetic(job_id: str, params: Mapping[str, Any], output_bytes: int, seed: int,
               upsets: int = 0, upset_salt: int = 0) -> bytes:
    if (
        not isinstance(output_bytes, int)
        or isinstance(output_bytes, bool)
        or not 0 <= output_bytes <= SYNTHETIC_MAX_BYTES
    ):
        raise InvalidPayloadParams(
            f"expected output_bytes as int in 0..{SYNTHETIC_MAX_BYTES}, got {output_bytes!r}"
        )
    derive_seed(job_id, seed)  # validates the id and seed
    data = expected_synthetic(job_id, seed, output_bytes)
    if upsets:  # undetectable on board; the ground regenerates and compares
        buf = np.frombuffer(bytearray(data), dtype=np.uint8)
        _flip_bits(buf, upsets, _flip_rng(upsets, output_bytes, upset_salt))
        data = buf.tobytes()
    return data


PAYLOADS: dict[str, Payload] = {
    "matmul": _matmul,
    "synthetic": _synthetic,
}


def run_payload(
    kind: str, job_id: str, params: Mapping[str, Any], output_bytes: int, seed: int,
    upsets: int = 0, upset_salt: int = 0,
) -> bytes:
    """Run the payload registered for ``kind`` and return its result bytes.

    ``upsets``: bit flips the simulated board reported in this job's working memory
    (BoardSensors.upset); they are applied to the result as the board would have
    returned it. matmul's ABFT check then raises PayloadCorrupted; synthetic output
    carries them (only the ground's regeneration can tell). ``upset_salt``: 0, or a
    replica number (>= 1) of a job run twice, so the two replicas' flips differ.

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
    return payload(job_id, params, output_bytes, seed, upsets, upset_salt)
