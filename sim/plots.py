"""Plots of a simulation run: battery, board temperatures, power and jobs.

``write_plots`` takes the run's time series as a dict of numpy arrays, all sampled at
``series["t_s"]`` (shape (T,), seconds since scenario start), and writes four PNGs.
Every series except ``t_s`` is optional: a missing key only drops its line. Uses
matplotlib's Agg backend (no display needed); each figure is closed after saving.

Keys read (shapes; units):
  battery_soc (T,) [0..1]; soc_floor scalar [0..1]; sunlit (T,) 0/1
  board_temp_c (T, N) or (T,) [°C]; radiator_temp_c (T,) [°C]; board_limit_c scalar [°C]
  solar_power_w, budget_w, compute_power_w, load_w (T,) [W]
  jobs_queued, jobs_running, jobs_completed, jobs_downlinked, jobs_failed,
  jobs_expired (T,) [count]
"""

from __future__ import annotations

import pathlib
from collections.abc import Mapping

import matplotlib
import numpy as np

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402  (the backend must be chosen first)

__all__ = ["PLOT_FILES", "write_plots"]

PLOT_FILES = ("battery_soc.png", "board_temps.png", "power.png", "jobs.png")

_S_PER_H = 3600.0
_FIGSIZE_IN = (10.0, 4.5)
_DPI = 120

_POWER_LINES = (
    ("solar_power_w", "solar", "tab:orange"),
    ("budget_w", "compute budget", "tab:green"),
    ("compute_power_w", "compute", "tab:red"),
    ("load_w", "total load", "tab:blue"),
)
_JOB_LINES = (
    ("jobs_queued", "queued", "tab:gray"),
    ("jobs_running", "running", "tab:blue"),
    ("jobs_completed", "completed", "tab:green"),
    ("jobs_downlinked", "downlinked", "tab:purple"),
    ("jobs_failed", "failed", "tab:red"),
    ("jobs_expired", "expired", "tab:brown"),
)


def write_plots(series: Mapping[str, np.ndarray], out_dir: pathlib.Path) -> list[pathlib.Path]:
    """Write battery_soc.png, board_temps.png, power.png and jobs.png into ``out_dir``.

    ``out_dir`` is created if needed. Returns the four paths in that order. Raises
    KeyError if ``t_s`` is missing, ValueError if a per-sample series does not have T
    samples along its first axis.
    """
    if "t_s" not in series:
        raise KeyError("write_plots needs series['t_s'] (sample times [s], shape (T,))")
    t_h = np.asarray(series["t_s"], dtype=float).reshape(-1) / _S_PER_H
    out_dir = pathlib.Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    writers = (_plot_battery, _plot_board_temps, _plot_power, _plot_jobs)
    paths = []
    for name, writer in zip(PLOT_FILES, writers, strict=True):
        fig, ax = plt.subplots(figsize=_FIGSIZE_IN, dpi=_DPI)
        try:
            writer(ax, t_h, series)
            ax.set_xlabel("time since start [h]")
            ax.grid(True, alpha=0.3)
            if ax.get_legend_handles_labels()[0]:
                ax.legend(loc="best", fontsize="small")
            if len(t_h) > 1 and t_h[-1] > t_h[0]:
                ax.set_xlim(t_h[0], t_h[-1])
            fig.tight_layout()
            path = out_dir / name
            fig.savefig(path)
        finally:
            plt.close(fig)
        paths.append(path)
    return paths


def _per_sample(series: Mapping[str, np.ndarray], key: str, t_h: np.ndarray) -> np.ndarray | None:
    """series[key] as float with T samples along axis 0, or None if absent."""
    if key not in series:
        return None
    y = np.asarray(series[key], dtype=float)
    if y.ndim == 0 or y.shape[0] != len(t_h):
        raise ValueError(
            f"series[{key!r}]: expected {len(t_h)} samples along axis 0, got shape {y.shape}"
        )
    return y


def _scalar(series: Mapping[str, np.ndarray], key: str) -> float | None:
    """series[key] as a float (a 0-d array, a float, or a 1-element array), or None."""
    if key not in series:
        return None
    return float(np.asarray(series[key], dtype=float).reshape(-1)[0])


def _line(ax, t_h: np.ndarray, y: np.ndarray, **kwargs) -> None:
    """Plot y against t_h; a lone sample gets a marker so it stays visible."""
    if len(t_h) == 1:
        kwargs.setdefault("marker", "o")
    ax.plot(t_h, y, **kwargs)


def _shade_eclipse(ax, t_h: np.ndarray, sunlit: np.ndarray) -> None:
    """Grey bands over samples where sunlit == 0; each band lasts until the next sample."""
    eclipse = np.asarray(sunlit).reshape(-1) < 0.5
    if not eclipse.any():
        return
    ax.fill_between(
        t_h,
        0.0,
        1.0,
        where=eclipse,
        step="post",
        transform=ax.get_xaxis_transform(),
        color="0.5",
        alpha=0.25,
        linewidth=0,
        label="eclipse",
    )


def _plot_battery(ax, t_h: np.ndarray, series: Mapping[str, np.ndarray]) -> None:
    ax.set_title("Battery state of charge")
    ax.set_ylabel("state of charge [%]")
    sunlit = _per_sample(series, "sunlit", t_h)
    if sunlit is not None:
        _shade_eclipse(ax, t_h, sunlit)
    soc = _per_sample(series, "battery_soc", t_h)
    if soc is not None:
        _line(ax, t_h, 100.0 * soc, color="tab:blue", label="state of charge")
    floor = _scalar(series, "soc_floor")
    if floor is not None:
        ax.axhline(
            100.0 * floor, color="tab:red", linestyle="--", label=f"floor {100 * floor:.0f} %"
        )
    ax.set_ylim(0.0, 105.0)


def _plot_board_temps(ax, t_h: np.ndarray, series: Mapping[str, np.ndarray]) -> None:
    ax.set_title("GPU board and radiator temperatures")
    ax.set_ylabel("temperature [°C]")
    boards = _per_sample(series, "board_temp_c", t_h)
    if boards is not None:
        boards = boards.reshape(len(t_h), -1)
        colors = plt.cm.viridis(np.linspace(0.1, 0.9, boards.shape[1]))
        for k in range(boards.shape[1]):
            _line(
                ax,
                t_h,
                boards[:, k],
                color=colors[k],
                linewidth=0.8,
                label="boards" if k == 0 else None,
            )
    radiator = _per_sample(series, "radiator_temp_c", t_h)
    if radiator is not None:
        _line(ax, t_h, radiator, color="tab:blue", linewidth=1.8, label="radiator")
    limit = _scalar(series, "board_limit_c")
    if limit is not None:
        ax.axhline(limit, color="tab:red", linestyle="--", label=f"board limit {limit:.0f} °C")


def _plot_power(ax, t_h: np.ndarray, series: Mapping[str, np.ndarray]) -> None:
    ax.set_title("Power")
    ax.set_ylabel("power [W]")
    for key, label, color in _POWER_LINES:
        y = _per_sample(series, key, t_h)
        if y is not None:
            _line(ax, t_h, y, color=color, linewidth=1.2, label=label)


def _plot_jobs(ax, t_h: np.ndarray, series: Mapping[str, np.ndarray]) -> None:
    ax.set_title("Jobs by state")
    ax.set_ylabel("jobs [count]")
    for key, label, color in _JOB_LINES:
        y = _per_sample(series, key, t_h)
        if y is not None:
            _line(ax, t_h, y, color=color, linewidth=1.2, drawstyle="steps-post", label=label)
    ax.set_ylim(bottom=0.0)
