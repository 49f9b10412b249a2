"""Tests for flightsw.icd.results: the matmul result format and result verification."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from flightsw.icd.results import (
    MATMUL_HEADER_BYTES,
    MATMUL_MAGIC,
    ResultFormatError,
    abft_check,
    matmul_result_bytes,
    pack_matmul_result,
    sha256_digest,
    unpack_matmul_result,
    verify_result,
)

N_SMALL = 16
EXPONENT_LSB = 52  # bit index of the lowest exponent bit of a float64: flipping it halves/doubles


def _product(n: int, seed: int = 123) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """C = A @ B with Huang–Abraham checksums computed from A and B."""
    rng = np.random.default_rng(seed)
    a = rng.standard_normal((n, n))
    b = rng.standard_normal((n, n))
    return a @ b, a @ b.sum(axis=1), a.sum(axis=0) @ b


def _flip_bit(x: np.ndarray, index: tuple[int, ...], bit: int) -> np.ndarray:
    out = x.copy()
    view = out.view(np.uint64)
    view[index] ^= np.uint64(1) << np.uint64(bit)
    return out


def test_pack_then_unpack_returns_the_same_arrays():
    c, row, col = _product(N_SMALL)
    c2, row2, col2 = unpack_matmul_result(pack_matmul_result(c, row, col))
    np.testing.assert_array_equal(c2, c)
    np.testing.assert_array_equal(row2, row)
    np.testing.assert_array_equal(col2, col)


def test_packed_result_has_header_and_exact_length():
    c, row, col = _product(N_SMALL)
    data = pack_matmul_result(c, row, col)
    assert data[:4] == MATMUL_MAGIC
    assert int.from_bytes(data[4:8], "little") == 1, "version is 1"
    assert int.from_bytes(data[8:12], "little") == N_SMALL, "n is uint32 LE"
    assert (
        len(data)
        == matmul_result_bytes(N_SMALL)
        == MATMUL_HEADER_BYTES + 8 * (N_SMALL * N_SMALL + 2 * N_SMALL)
    )


def test_unpacked_arrays_are_writable_copies():
    c, row, col = _product(4)
    c2, _, _ = unpack_matmul_result(pack_matmul_result(c, row, col))
    assert c2.flags.writeable, "unpacked arrays must be writable"
    c2[0, 0] = c[0, 0] + 1.0
    assert c2[0, 0] != c[0, 0], "the unpacked array is a copy, not a view of the input"


@pytest.mark.parametrize(
    ("shape_c", "shape_row"),
    [((3, 4), (3,)), ((0, 0), (0,)), ((3, 3), (4,)), ((3,), (3,))],
)
def test_pack_rejects_bad_shapes(shape_c, shape_row):
    with pytest.raises(ResultFormatError, match="expected"):
        pack_matmul_result(np.zeros(shape_c), np.zeros(shape_row), np.zeros(shape_row))


def test_unpack_names_the_expected_magic():
    c, row, col = _product(4)
    data = b"XXXX" + pack_matmul_result(c, row, col)[4:]
    with pytest.raises(ResultFormatError, match=r"expected magic b'SSMM', got b'XXXX'"):
        unpack_matmul_result(data)


def test_unpack_names_the_expected_version():
    c, row, col = _product(4)
    data = bytearray(pack_matmul_result(c, row, col))
    data[4:8] = (7).to_bytes(4, "little")
    with pytest.raises(ResultFormatError, match="expected version 1, got 7"):
        unpack_matmul_result(bytes(data))


def test_unpack_rejects_zero_n():
    data = MATMUL_MAGIC + (1).to_bytes(4, "little") + (0).to_bytes(4, "little")
    with pytest.raises(ResultFormatError, match="n >= 1"):
        unpack_matmul_result(data)


def test_unpack_names_expected_and_actual_length_when_truncated():
    c, row, col = _product(4)
    data = pack_matmul_result(c, row, col)
    with pytest.raises(
        ResultFormatError, match=f"expected {len(data)} bytes for n=4, got {len(data) - 1}"
    ):
        unpack_matmul_result(data[:-1])


def test_unpack_rejects_short_header():
    with pytest.raises(ResultFormatError, match="header"):
        unpack_matmul_result(b"SSM")


def test_abft_accepts_a_correct_product():
    assert abft_check(*_product(64)) == (True, "ok")


def test_abft_accepts_a_large_correct_product():
    assert abft_check(*_product(512))[0], "rounding at n=512 must stay inside the tolerance"


@pytest.mark.parametrize(("i", "j"), [(0, 0), (3, 11), (15, 15), (7, 0)])
def test_abft_detects_a_single_flipped_element_and_names_its_row(i, j):
    c, row, col = _product(N_SMALL)
    bad = _flip_bit(c, (i, j), EXPONENT_LSB)
    ok, reason = abft_check(bad, row, col)
    assert not ok, "a flipped exponent bit must fail ABFT"
    assert f"row {i} " in reason, reason


def test_abft_names_the_column_when_only_the_column_checksum_is_wrong():
    c, row, col = _product(N_SMALL)
    col = col.copy()
    col[5] += 1.0
    ok, reason = abft_check(c, row, col)
    assert not ok
    assert "column 5 " in reason, reason


def test_abft_rejects_non_finite_values():
    c, row, col = _product(4)
    c[1, 2] = np.nan
    ok, reason = abft_check(c, row, col)
    assert not ok and "non-finite" in reason, reason


def test_abft_rejects_mismatched_shapes():
    c, row, col = _product(4)
    ok, reason = abft_check(c, row[:3], col)
    assert not ok and "shape" in reason, reason


def test_sha256_digest_is_32_bytes_and_matches_known_vector():
    digest = sha256_digest(b"abc")
    assert len(digest) == 32
    assert digest.hex() == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"


def test_verify_accepts_a_good_matmul_result():
    data = pack_matmul_result(*_product(N_SMALL))
    assert verify_result("matmul", data, sha256_digest(data)) == (True, "ok")


def test_verify_catches_a_flipped_bit_in_the_packed_bytes_by_digest():
    data = pack_matmul_result(*_product(N_SMALL))
    digest = sha256_digest(data)
    bad = bytearray(data)
    bad[MATMUL_HEADER_BYTES + 8 * 37] ^= 0x01
    ok, reason = verify_result("matmul", bytes(bad), digest)
    assert not ok
    assert "sha256 mismatch" in reason, reason


def test_verify_catches_corrupted_c_with_recomputed_digest_by_abft():
    c, row, col = _product(N_SMALL)
    bad = pack_matmul_result(_flip_bit(c, (9, 4), EXPONENT_LSB), row, col)
    ok, reason = verify_result("matmul", bad, sha256_digest(bad))
    assert not ok
    assert "ABFT" in reason and "row 9 " in reason, reason


def test_verify_synthetic_checks_only_the_digest():
    data = b"\x00\x01garbage that is not a matmul"
    assert verify_result("synthetic", data, sha256_digest(data)) == (True, "ok")
    assert not verify_result("synthetic", data + b"!", sha256_digest(data))[0]


def test_verify_refuses_unknown_kind():
    ok, reason = verify_result("fft", b"", sha256_digest(b""))
    assert not ok and "unknown result kind 'fft'" in reason, reason


def test_verify_rejects_a_digest_of_the_wrong_length():
    ok, reason = verify_result("synthetic", b"x", b"\x00" * 31)
    assert not ok and "32-byte" in reason, reason


def test_verify_reports_truncated_matmul_with_matching_digest():
    data = pack_matmul_result(*_product(4))[:-8]
    ok, reason = verify_result("matmul", data, sha256_digest(data))
    assert not ok and "bad matmul result" in reason, reason


@pytest.mark.parametrize(
    ("kind", "data", "sha"),
    [
        (None, b"", b""),
        ("matmul", None, b""),
        ("matmul", b"", None),
        (["matmul"], b"", b""),
        ("matmul", "text", b"\x00" * 32),
    ],
)
def test_verify_never_raises_on_wrongly_typed_input(kind, data, sha):
    ok, reason = verify_result(kind, data, sha)
    assert ok is False and reason


@settings(max_examples=300, deadline=None)
@given(
    kind=st.sampled_from(["matmul", "synthetic", "other"]),
    data=st.binary(max_size=2048),
    sha=st.binary(max_size=40),
)
def test_verify_never_raises_on_arbitrary_bytes(kind, data, sha):
    ok, reason = verify_result(kind, data, sha)
    assert isinstance(ok, bool) and isinstance(reason, str)


@settings(max_examples=300, deadline=None)
@given(data=st.binary(max_size=2048))
def test_verify_matmul_with_self_digest_never_raises_on_arbitrary_bytes(data):
    ok, reason = verify_result("matmul", data, sha256_digest(data))
    assert isinstance(ok, bool) and isinstance(reason, str)
    if not ok:
        assert reason


_garbage_body = st.integers(1, 8).flatmap(
    lambda n: st.tuples(
        st.just(n), st.binary(min_size=8 * (n * n + 2 * n), max_size=8 * (n * n + 2 * n))
    )
)


@settings(max_examples=300, deadline=None)
@given(n_body=_garbage_body)
def test_verify_matmul_with_valid_header_and_garbage_body_never_raises(n_body):
    n, body = n_body
    data = MATMUL_MAGIC + (1).to_bytes(4, "little") + n.to_bytes(4, "little") + body
    ok, reason = verify_result("matmul", data, sha256_digest(data))
    assert isinstance(ok, bool) and reason
