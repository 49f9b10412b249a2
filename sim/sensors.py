"""Sensors: every reading the flight side gets passes through here, with seeded Gaussian
noise and the fault plan's sensor faults.

A :class:`SensorBank` serves one named sensor of C channels (``board_temp_c`` has one
channel per board, ``battery_soc`` one). ``read(truth, tick)`` returns (reading, valid):

    reading = truth + noise_sigma * N(0, 1)         per channel, every read

then each fault active at ``tick`` (start_tick <= tick < end_tick) on its channel:

- ``off``    no reading: NaN and valid = False (the world drops the value);
- ``stuck``  holds a value: ``value`` if the fault gives one (a sensor stuck at a rail),
             else the reading of the first read at or after start_tick;
- ``bias``   adds ``value`` (same unit as the sensor);
- ``random`` uniform garbage in [low, high].

Where two faults on one channel are active at once, the later one in the plan wins
(they do not stack). A
NaN truth reads as NaN with valid = False (no sensor can report what is not there).

Fault-plan TOML (parsed by :func:`parse_sensor_faults`)::

    [[sensor]]
    sensor = "board_temp_c"   # which sensor
    index = 3                 # which channel, 0-based
    kind = "stuck"            # off | stuck | bias | random
    start_tick = 100          # first tick the fault is active
    end_tick = 500            # first tick it is not (exclusive)
    value = 0.0               # stuck: the stuck-at value (optional); bias: the offset
    # low = -40.0, high = 150.0   random: the garbage range

Determinism: the noise comes from one child stream of the bank's generator and the
garbage of ``random`` faults from another, and each read draws the same count from each
(C normals; one uniform per fault), so a fault never shifts the noise of any channel and
the same (seed, plan) gives the same readings.

Left out: quantisation, sample-and-hold latency, drift with temperature, saturation at
the sensor's range, correlated noise between channels, intermittent faults (give several
entries instead).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from sim.faults import entry_tables
from sim.faults import need_int as _need_int

__all__ = ["FAULT_KINDS", "SensorBank", "SensorFault", "parse_sensor_faults"]

FAULT_KINDS = ("off", "stuck", "bias", "random")
_OFF, _STUCK, _BIAS, _RANDOM = range(4)
_KEYS = {"sensor", "index", "kind", "start_tick", "end_tick", "value", "low", "high"}


@dataclass(frozen=True)
class SensorFault:
    """One sensor fault: channel ``index`` of ``sensor`` misbehaves as ``kind`` for ticks
    start_tick <= tick < end_tick. ``value``: stuck-at value (None: hold the reading at
    the start) or bias offset; ``low``/``high``: the range of ``random`` garbage."""

    sensor: str
    index: int
    kind: str
    start_tick: int
    end_tick: int
    value: float | None = None
    low: float | None = None
    high: float | None = None


def _need_number(where: str, key: str, v: object) -> float:
    if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v):
        raise ValueError(f"{where}.{key}: expected a finite number, got {v!r}")
    return float(v)


def parse_sensor_faults(
    entries: Sequence[dict],
    channels: Mapping[str, int] | None = None,
    where: str = "sensor",
) -> list[SensorFault]:
    """Validate fault-plan entries (the ``[[sensor]]`` tables) into :class:`SensorFault`.

    ``channels`` maps each known sensor name to its channel count; when given, the name
    must be one of them and ``index`` below the count. Any problem raises ValueError
    naming the entry (``sensor[2].kind``), what was expected and what came.
    """
    out = []
    for at, e in entry_tables(entries, where, sorted(_KEYS)):
        name = e.get("sensor")
        if channels is not None and name not in channels:
            raise ValueError(f"{at}.sensor: expected one of {sorted(channels)}, got {name!r}")
        if not isinstance(name, str) or not name:
            raise ValueError(f"{at}.sensor: expected a sensor name, got {name!r}")
        index = _need_int(at, "index", e.get("index"), 0)
        if channels is not None and index >= channels[name]:
            raise ValueError(
                f"{at}.index: expected 0 <= index < {channels[name]} for {name}, got {index}"
            )
        kind = e.get("kind")
        if kind not in FAULT_KINDS:
            raise ValueError(f"{at}.kind: expected one of {list(FAULT_KINDS)}, got {kind!r}")
        start = _need_int(at, "start_tick", e.get("start_tick"), 0)
        end = _need_int(at, "end_tick", e.get("end_tick"), 0)
        if end <= start:
            raise ValueError(f"{at}.end_tick: expected > start_tick ({start}), got {end}")
        value = low = high = None
        allowed = {"bias": {"value"}, "stuck": {"value"}, "random": {"low", "high"}}.get(kind, set())
        stray = sorted((set(e) & {"value", "low", "high"}) - allowed)
        if stray:
            raise ValueError(f"{at}: key(s) {stray} mean nothing for kind {kind!r}")
        if kind == "bias" or (kind == "stuck" and "value" in e):
            value = _need_number(at, "value", e.get("value"))
        if kind == "random":
            low = _need_number(at, "low", e.get("low"))
            high = _need_number(at, "high", e.get("high"))
            if not low < high:
                raise ValueError(f"{at}.high: expected > low ({low}), got {high}")
        out.append(SensorFault(name, index, kind, start, end, value, low, high))
    return out


class SensorBank:
    """One sensor of C channels with noise and faults.

    noise_sigma: (C,) or scalar, >= 0, in the sensor's unit; rng: the bank's generator
    (two child streams are spawned from it); faults: the plan's faults, of which those
    whose ``sensor`` is ``name`` apply (their index must be < C).
    """

    def __init__(
        self,
        name: str,
        noise_sigma,
        rng: np.random.Generator,
        faults: Sequence[SensorFault] = (),
        channels: int | None = None,
    ) -> None:
        sigma = np.asarray(noise_sigma, dtype=float)
        c = int(channels) if channels is not None else (sigma.size if sigma.ndim else 1)
        if sigma.shape not in ((), (c,)) or np.any(~np.isfinite(sigma)) or np.any(sigma < 0):
            raise ValueError(
                f"SensorBank({name!r}).noise_sigma: expected finite >= 0, scalar or ({c},), "
                f"got {noise_sigma!r}"
            )
        mine = [f for f in faults if f.sensor == name]
        for f in mine:
            if not 0 <= f.index < c:
                raise ValueError(
                    f"SensorBank({name!r}): fault index expected in [0, {c}), got {f.index}"
                )
        self.name = name
        self.channels = c
        self.noise_sigma = np.broadcast_to(sigma, (c,)).copy()
        self._noise_rng, self._garbage_rng = rng.spawn(2)
        self._index = np.array([f.index for f in mine], dtype=np.intp)
        self._kind = np.array([FAULT_KINDS.index(f.kind) for f in mine], dtype=np.int8)
        self._start = np.array([f.start_tick for f in mine], dtype=np.int64)
        self._end = np.array([f.end_tick for f in mine], dtype=np.int64)
        nan = float("nan")
        self._value = np.array([nan if f.value is None else f.value for f in mine], dtype=float)
        self._low = np.array([0.0 if f.low is None else f.low for f in mine], dtype=float)
        self._high = np.array([0.0 if f.high is None else f.high for f in mine], dtype=float)
        self._held = self._value.copy()  # stuck faults without a value learn it on first read

    def read(self, truth, tick: int) -> tuple[np.ndarray, np.ndarray]:
        """-> (reading (C,) float, valid (C,) bool) for ``truth`` (C,) at ``tick``.
        Invalid channels read NaN. Cost O(C + faults)."""
        truth = np.asarray(truth, dtype=float)
        if truth.shape != (self.channels,):
            raise ValueError(
                f"SensorBank({self.name!r}).read: expected truth of shape ({self.channels},), "
                f"got {truth.shape}"
            )
        reading = truth + self.noise_sigma * self._noise_rng.standard_normal(self.channels)
        if self._index.size:
            garbage = self._garbage_rng.uniform(self._low, self._high)  # one per fault, always
            on = (self._start <= tick) & (tick < self._end)
            learn = on & (self._kind == _STUCK) & np.isnan(self._held)
            self._held[learn] = reading[self._index[learn]]
            act = np.flatnonzero(on)
            if act.size:
                # one fault per channel: the last active one in the plan
                _, first_from_end = np.unique(self._index[act][::-1], return_index=True)
                win = act[act.size - 1 - first_from_end]
                idx, kind = self._index[win], self._kind[win]
                reading[idx] = np.select(
                    [kind == _OFF, kind == _STUCK, kind == _BIAS],
                    [np.nan, self._held[win], reading[idx] + self._value[win]],
                    default=garbage[win],
                )
        valid = ~np.isnan(reading)
        return reading, valid
