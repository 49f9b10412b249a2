"""Result file formats and their verification, shared by flight and ground.

Ground may import only ``flightsw.icd``, so everything needed to check a downlinked
result lives here. Pure functions, no I/O.

Matmul result layout (all little-endian)::

    offset  size       field
    0       4          magic  b"SSMM"
    4       4          version, uint32 (MATMUL_VERSION)
    8       4          n, uint32 (matrix order, >= 1)
    12      8*n*n      C, float64, row-major (n, n)
    ..      8*n        row checksum, float64 (n,)  -- expected C.sum(axis=1)
    ..      8*n        column checksum, float64 (n,) -- expected C.sum(axis=0)

The checksums follow Huang & Abraham, "Algorithm-Based Fault Tolerance for Matrix
Operations", IEEE Trans. Computers C-33(6), 1984: for C = A @ B the producer computes
``row = A @ (B @ 1)`` and ``col = (1ᵀ A) @ B`` from the inputs, independently of C, so a
silently corrupted element of C shows up as a mismatch in its row and its column.
"""

from __future__ import annotations

import hashlib
import hmac
import struct

import numpy as np

__all__ = [
    "MATMUL_HEADER_BYTES",
    "MATMUL_MAGIC",
    "MATMUL_VERSION",
    "RESULT_KINDS",
    "SHA256_BYTES",
    "ResultFormatError",
    "abft_check",
    "matmul_result_bytes",
    "pack_matmul_result",
    "sha256_digest",
    "unpack_matmul_result",
    "verify_result",
]

MATMUL_MAGIC = b"SSMM"
MATMUL_VERSION = 1
_HEADER = struct.Struct("<4sII")
MATMUL_HEADER_BYTES = _HEADER.size  # 12
_F64_LE = np.dtype("<f8")
_MAX_N = 2**32 - 1  # n travels as uint32
SHA256_BYTES = 32
RESULT_KINDS = frozenset({"matmul", "synthetic"})


class ResultFormatError(ValueError):
    """A result blob or its arrays do not match the format; the message says what was
    expected and what came."""


def matmul_result_bytes(n: int) -> int:
    """Exact size [bytes] of a packed matmul result of order ``n``."""
    return MATMUL_HEADER_BYTES + _F64_LE.itemsize * (n * n + 2 * n)


def pack_matmul_result(c: np.ndarray, row_checksum: np.ndarray, col_checksum: np.ndarray) -> bytes:
    """Pack C (n, n) and its ABFT checksums (n,), (n,) into the matmul result format.

    Values are converted to little-endian float64. Raises ResultFormatError if C is not
    square with 1 <= n < 2**32 or a checksum is not of shape (n,).
    """
    c = np.asarray(c)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 1:
        raise ResultFormatError(f"expected C of shape (n, n) with n >= 1, got shape {c.shape}")
    n = c.shape[0]
    if n > _MAX_N:
        raise ResultFormatError(f"expected n <= {_MAX_N}, got {n}")
    row = np.asarray(row_checksum)
    col = np.asarray(col_checksum)
    for name, arr in (("row_checksum", row), ("col_checksum", col)):
        if arr.shape != (n,):
            raise ResultFormatError(f"expected {name} of shape ({n},), got shape {arr.shape}")
    parts = [_HEADER.pack(MATMUL_MAGIC, MATMUL_VERSION, n)]
    parts += [np.ascontiguousarray(a, dtype=_F64_LE).tobytes() for a in (c, row, col)]
    return b"".join(parts)


def unpack_matmul_result(data: bytes) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Unpack a matmul result into (C (n, n), row checksum (n,), column checksum (n,)).

    Arrays are native float64 copies (writable). Validates magic, version, n >= 1 and the
    exact length; raises ResultFormatError naming what was expected and what came.
    """
    try:
        buf = memoryview(data).cast("B")
    except TypeError as exc:
        raise ResultFormatError(f"expected a bytes-like object, got {type(data).__name__}") from exc
    if len(buf) < MATMUL_HEADER_BYTES:
        raise ResultFormatError(
            f"expected at least {MATMUL_HEADER_BYTES} header bytes, got {len(buf)}"
        )
    magic, version, n = _HEADER.unpack_from(buf, 0)
    if magic != MATMUL_MAGIC:
        raise ResultFormatError(f"expected magic {MATMUL_MAGIC!r}, got {magic!r}")
    if version != MATMUL_VERSION:
        raise ResultFormatError(f"expected version {MATMUL_VERSION}, got {version}")
    if n < 1:
        raise ResultFormatError(f"expected n >= 1, got {n}")
    expected_len = matmul_result_bytes(n)
    if len(buf) != expected_len:
        raise ResultFormatError(f"expected {expected_len} bytes for n={n}, got {len(buf)}")
    values = np.frombuffer(buf, dtype=_F64_LE, offset=MATMUL_HEADER_BYTES).astype(np.float64)
    c = values[: n * n].reshape(n, n)
    row = values[n * n : n * n + n]
    col = values[n * n + n :]
    return c, row, col


def abft_check(
    c: np.ndarray,
    row_checksum: np.ndarray,
    col_checksum: np.ndarray,
    rel_tol: float = 1e-9,
) -> tuple[bool, str]:
    """Huang–Abraham check: do C's row and column sums match the checksums?

    Tolerance [same units as C]: ``rel_tol * n * scale`` where ``scale`` is the largest
    absolute value among C and both checksums (at least the smallest normal float64), so
    it grows with the order and the magnitude of the data; float64 rounding in a sum of n
    terms is far below it for rel_tol = 1e-9, while a corrupted element that moves its row
    sum by more than it is caught.

    Returns (True, "ok") or (False, reason); the reason names the first bad row (checked
    first) or column, or a shape or non-finite problem. Never raises on well-typed arrays.
    """
    c = np.asarray(c, dtype=np.float64)
    row = np.asarray(row_checksum, dtype=np.float64)
    col = np.asarray(col_checksum, dtype=np.float64)
    if c.ndim != 2 or c.shape[0] != c.shape[1] or c.shape[0] < 1:
        return False, f"expected C of shape (n, n) with n >= 1, got shape {c.shape}"
    n = c.shape[0]
    for name, arr in (("row checksum", row), ("column checksum", col)):
        if arr.shape != (n,):
            return False, f"expected {name} of shape ({n},), got shape {arr.shape}"
    for name, arr in (("C", c), ("row checksum", row), ("column checksum", col)):
        if not np.all(np.isfinite(arr)):
            first = np.argwhere(~np.isfinite(arr))[0]
            return False, f"non-finite value in {name} at index {tuple(int(i) for i in first)}"
    scale = max(float(np.abs(c).max()), float(np.abs(row).max()), float(np.abs(col).max()))
    scale = max(scale, float(np.finfo(np.float64).tiny))
    tol = min(rel_tol * n * scale, float(np.finfo(np.float64).max))
    for axis, name, checksum in ((1, "row", row), (0, "column", col)):
        with np.errstate(over="ignore", invalid="ignore"):
            diff = np.abs(c.sum(axis=axis) - checksum)  # inf/nan on overflow: fails below
        bad = np.flatnonzero(~(diff <= tol))
        if bad.size:
            i = int(bad[0])
            return False, (
                f"{name} {i} sum mismatch: |sum - checksum| = {diff[i]:.3e} > tol {tol:.3e} "
                f"({bad.size} bad {name}s)"
            )
    return True, "ok"


def sha256_digest(data: bytes) -> bytes:
    """SHA-256 of ``data``: 32 bytes."""
    return hashlib.sha256(data).digest()


def verify_result(kind: str, data: bytes, sha256: bytes) -> tuple[bool, str]:
    """Verify a downlinked result: (True, "ok") or (False, reason). Never raises.

    Every kind: the SHA-256 of ``data`` must equal ``sha256`` (32 bytes). ``matmul``:
    the data must also unpack and pass :func:`abft_check`. ``synthetic``: digest only.
    Any other kind is refused.
    """
    try:
        if kind not in RESULT_KINDS:
            return False, f"unknown result kind {kind!r}; expected one of {sorted(RESULT_KINDS)}"
        try:
            expected = bytes(sha256)
            payload = bytes(data)
        except TypeError as exc:
            return False, f"expected bytes for data and sha256: {exc}"
        if len(expected) != SHA256_BYTES:
            return False, f"expected a {SHA256_BYTES}-byte sha256, got {len(expected)} bytes"
        actual = sha256_digest(payload)
        if not hmac.compare_digest(actual, expected):
            return False, f"sha256 mismatch: expected {expected.hex()}, got {actual.hex()}"
        if kind == "matmul":
            try:
                c, row, col = unpack_matmul_result(payload)
            except ResultFormatError as exc:
                return False, f"bad matmul result: {exc}"
            ok, reason = abft_check(c, row, col)
            if not ok:
                return False, f"ABFT check failed: {reason}"
        return True, "ok"
    except Exception as exc:  # the contract is: never raise on bad input
        return False, f"verification error: {type(exc).__name__}: {exc}"


_SEED_DOMAIN = b"sunsched.payload.seed.v1\x00"


def derive_seed(job_id: str, seed: int) -> int:
    """A job's generator seed [uint64], from SHA-256 of a domain label, the job id and seed.

    Part of the ICD because the ground regenerates synthetic results to check them.
    Stable across processes and machines (unlike ``hash()``). Raises TypeError unless
    ``job_id`` is a str and ``seed`` an int (not bool).
    """
    if not isinstance(job_id, str):
        raise TypeError(f"expected job_id as str, got {type(job_id).__name__}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise TypeError(f"expected seed as int, got {type(seed).__name__}")
    id_bytes = job_id.encode("utf-8", "surrogatepass")
    material = _SEED_DOMAIN + id_bytes + b"\x00" + str(seed).encode("ascii")
    return int.from_bytes(hashlib.sha256(material).digest()[:8], "little")


def expected_synthetic(job_id: str, seed: int, output_bytes: int) -> bytes:
    """What a synthetic job's result must be: ``output_bytes`` deterministic bytes."""
    return np.random.default_rng(derive_seed(job_id, seed)).bytes(output_bytes)
