"""Tests for sim.plots: the four run plots are written as real PNGs."""

from __future__ import annotations

import numpy as np
import pytest

from sim.plots import PLOT_FILES, write_plots

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"
MIN_PNG_BYTES = 5 * 1024  # a real plot with axes, text and lines is well above this
ORBIT_S = 5400.0


def synthetic_series(samples: int = 400, boards: int = 4) -> dict[str, np.ndarray]:
    """Twelve hours of plausible-looking telemetry at uniform steps."""
    t_s = np.linspace(0.0, 12 * 3600.0, samples)
    phase = (t_s % ORBIT_S) / ORBIT_S
    sunlit = (phase < 0.62).astype(float)
    solar_w = 2000.0 * sunlit * (0.9 + 0.1 * np.cos(2 * np.pi * phase))
    compute_w = 800.0 + 400.0 * sunlit
    load_w = compute_w + 150.0
    soc = 0.6 + 0.25 * np.sin(2 * np.pi * phase) * 0.8
    board = 40.0 + 20.0 * sunlit[:, None] + np.arange(boards)[None, :] * 1.5
    queued = np.maximum(0, 20 - np.arange(samples) // 25)
    completed = np.arange(samples) // 25
    return {
        "t_s": t_s,
        "battery_soc": soc,
        "soc_floor": np.array(0.3),
        "sunlit": sunlit,
        "board_temp_c": board,
        "radiator_temp_c": 10.0 + 15.0 * sunlit,
        "board_limit_c": 85.0,
        "solar_power_w": solar_w,
        "budget_w": 0.8 * solar_w,
        "compute_power_w": compute_w,
        "load_w": load_w,
        "jobs_queued": queued,
        "jobs_running": np.minimum(4, queued),
        "jobs_completed": completed,
        "jobs_downlinked": np.maximum(0, completed - 3),
        "jobs_failed": np.arange(samples) // 200,
        "jobs_expired": np.arange(samples) // 300,
    }


def _assert_pngs(paths, out_dir, min_bytes=MIN_PNG_BYTES):
    assert [p.name for p in paths] == list(PLOT_FILES)
    for path in paths:
        assert path.parent == out_dir
        data = path.read_bytes()
        assert data[:8] == PNG_MAGIC, f"{path.name} is not a PNG"
        assert len(data) > min_bytes, f"{path.name} is only {len(data)} bytes"


def test_write_plots_writes_four_valid_pngs(tmp_path):
    _assert_pngs(write_plots(synthetic_series(), tmp_path), tmp_path)


def test_write_plots_creates_the_output_directory(tmp_path):
    out_dir = tmp_path / "a" / "b"
    _assert_pngs(write_plots(synthetic_series(samples=50), out_dir), out_dir)


def test_write_plots_handles_a_single_sample(tmp_path):
    series = {k: (v[:1] if np.ndim(v) else v) for k, v in synthetic_series().items()}
    _assert_pngs(write_plots(series, tmp_path), tmp_path)


def test_write_plots_skips_missing_optional_keys(tmp_path):
    series = synthetic_series()
    for key in (
        "soc_floor",
        "sunlit",
        "radiator_temp_c",
        "board_limit_c",
        "budget_w",
        "jobs_expired",
    ):
        del series[key]
    _assert_pngs(write_plots(series, tmp_path), tmp_path)


def test_write_plots_with_only_time_still_writes_every_file(tmp_path):
    paths = write_plots({"t_s": np.arange(10.0)}, tmp_path)
    _assert_pngs(paths, tmp_path, min_bytes=0)


def test_write_plots_accepts_one_dimensional_board_temps(tmp_path):
    series = synthetic_series()
    series["board_temp_c"] = series["board_temp_c"][:, 0]
    _assert_pngs(write_plots(series, tmp_path), tmp_path)


def test_write_plots_requires_time(tmp_path):
    with pytest.raises(KeyError, match="t_s"):
        write_plots({"battery_soc": np.zeros(3)}, tmp_path)


def test_write_plots_names_a_series_of_the_wrong_length(tmp_path):
    series = synthetic_series(samples=10)
    series["load_w"] = np.zeros(9)
    with pytest.raises(ValueError, match="load_w.*expected 10 samples"):
        write_plots(series, tmp_path)
