"""The RF link: bytes pass only during a contact, at the contact's rate, with loss and
bit errors.

Frames queue at each end's transmitter; each tick in contact the transmitter sends up to
rate x tick bytes (a frame larger than what is left finishes in a later tick). Each frame
is lost with ``loss_probability`` (seeded). A frame that is not lost is delivered with
each of its bits flipped independently with probability ``bit_error_rate`` (the link's
default, or the value given to ``step`` for this tick, e.g. from :func:`ber_at_elevation`):
a corrupted frame still arrives, and it is the receiver's decoder that must reject it.
At loss of signal everything queued or half sent is lost: the radio holds no state
across passes, so end-to-end retries must.

With bit_error_rate = 0 (the default) no random number is drawn for bit errors, so runs
without them are bit-for-bit those of the link before bit errors existed.

Bit errors by elevation (:func:`ber_at_elevation`), a documented simple model: Eb/N0
falls with the free-space loss of the slant range and with the atmosphere,

    Eb/N0(el) [dB] = Eb/N0(zenith) - 20 log10(R(el) / h) - A_zenith (1 / sin(el) - 1)
    R(el) = sqrt((Re + h)^2 - (Re cos el)^2) - Re sin el        (spherical Earth)
    BER = 0.5 erfc(sqrt(Eb/N0))                                 (uncoded BPSK/QPSK)

so BER rises steeply as the satellite sinks towards the horizon. With the defaults
(550 km, 22 dB at zenith, 0.3 dB of zenith atmosphere) BER is about 1e-3 at 5 deg,
2e-6 at 10 deg and negligible (< 1e-12) above 20 deg. Left out: forward error
correction (a coded link has a sharper cliff: set Eb/N0 so the cliff sits where the real
link's does), burst errors and fading, rain, pointing loss, Doppler, and loss correlated
between frames.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Direction", "RfLink", "ber_at_elevation", "flip_bits", "slant_range_km"]

EARTH_RADIUS_KM = 6371.0


def slant_range_km(elevation_deg: float, altitude_km: float) -> float:
    """Distance [km] from a ground station to a satellite at ``altitude_km`` seen at
    ``elevation_deg`` above the horizon (spherical Earth of radius 6371 km)."""
    el = math.radians(elevation_deg)
    r = EARTH_RADIUS_KM + altitude_km
    re_cos = EARTH_RADIUS_KM * math.cos(el)
    return math.sqrt(r * r - re_cos * re_cos) - EARTH_RADIUS_KM * math.sin(el)


def ber_at_elevation(
    elevation_deg: float,
    ebn0_zenith_db: float = 22.0,
    altitude_km: float = 550.0,
    zenith_atmosphere_db: float = 0.3,
) -> float:
    """Bit error rate [0..0.5] at ``elevation_deg`` (0 < el <= 90) by the module's model.
    Raises ValueError for an elevation outside (0, 90]."""
    if not 0.0 < elevation_deg <= 90.0:
        raise ValueError(f"ber_at_elevation.elevation_deg: expected in (0, 90], got {elevation_deg!r}")
    spread_db = 20.0 * math.log10(slant_range_km(elevation_deg, altitude_km) / altitude_km)
    atmosphere_db = zenith_atmosphere_db * (1.0 / math.sin(math.radians(elevation_deg)) - 1.0)
    ebn0 = 10.0 ** ((ebn0_zenith_db - spread_db - atmosphere_db) / 10.0)
    return 0.5 * math.erfc(math.sqrt(ebn0))


def flip_bits(data: bytes, bit_error_rate: float, rng: np.random.Generator) -> tuple[bytes, int]:
    """-> (``data`` with each bit flipped independently with probability
    ``bit_error_rate``, number of bits flipped). Draws the count from Binomial(8 len, BER)
    and then that many distinct positions: cost O(len) only when bits flip."""
    n_bits = 8 * len(data)
    if bit_error_rate <= 0.0 or n_bits == 0:
        return data, 0
    k = int(rng.binomial(n_bits, bit_error_rate))
    if k == 0:
        return data, 0
    pos = rng.choice(n_bits, size=k, replace=False)
    buf = np.frombuffer(data, dtype=np.uint8).copy()
    np.bitwise_xor.at(buf, pos >> 3, (1 << (pos & 7)).astype(np.uint8))
    return buf.tobytes(), k


@dataclass
class Direction:
    queue: deque = field(default_factory=deque)
    sent_of_head: float = 0.0  # bytes of the head frame already on the air
    frames: int = 0  # delivered, corrupted or not
    bytes: int = 0
    lost: int = 0
    corrupted: int = 0  # delivered with at least one bit flipped
    bits_flipped: int = 0
    duplicated: int = 0  # delivered twice (a fault plan's [[link]] duplicate)

    def transmit(
        self, budget_bytes: float, rng: np.random.Generator, loss_p: float, ber: float = 0.0
    ) -> list[bytes]:
        done = []
        while self.queue and budget_bytes > 0:
            head = self.queue[0]
            need = len(head) - self.sent_of_head
            if need > budget_bytes:
                self.sent_of_head += budget_bytes
                break
            budget_bytes -= need
            self.queue.popleft()
            self.sent_of_head = 0.0
            if loss_p > 0.0 and rng.random() < loss_p:
                self.lost += 1
                continue
            if ber > 0.0:
                head, k = flip_bits(head, ber, rng)
                self.corrupted += k > 0
                self.bits_flipped += k
            self.frames += 1
            self.bytes += len(head)
            done.append(head)
        return done

    def drop_all(self) -> None:
        self.lost += len(self.queue)
        self.queue.clear()
        self.sent_of_head = 0.0


@dataclass
class RfLink:
    """loss_probability in [0, 1] per frame; rng: the link's seeded generator;
    bit_error_rate in [0, 0.5] per bit, the default for ticks whose ``step`` gives none."""

    loss_probability: float
    rng: np.random.Generator
    up: Direction = field(default_factory=Direction)
    down: Direction = field(default_factory=Direction)
    dropped_no_contact: int = 0
    bit_error_rate: float = 0.0

    def __post_init__(self) -> None:
        _check_ber("RfLink.bit_error_rate", self.bit_error_rate)

    def offer_up(self, data: bytes, in_contact: bool) -> None:
        if in_contact:
            self.up.queue.append(data)
        else:
            self.dropped_no_contact += 1

    def offer_down(self, data: bytes, in_contact: bool) -> None:
        if in_contact:
            self.down.queue.append(data)
        else:
            self.dropped_no_contact += 1

    def step(
        self,
        in_contact: bool,
        uplink_bps: float,
        downlink_bps: float,
        dt_s: float,
        bit_error_rate: float | None = None,
        loss_probability: float | None = None,
        duplicate_probability: float = 0.0,
        reorder: bool = False,
    ):
        """-> (frames delivered to the spacecraft, frames delivered to the ground).
        ``bit_error_rate``: this tick's BER on both directions (None: the link's own);
        ``loss_probability``: this contact's frame loss (None: the link's own);
        ``duplicate_probability``: each delivered frame arrives twice with it; ``reorder``:
        each direction's frames of the tick arrive shuffled (both faults, as a fault plan
        injects them: a relay that retransmits, a ground network that reorders)."""
        if not in_contact:
            self.up.drop_all()
            self.down.drop_all()
            return [], []
        ber = self.bit_error_rate if bit_error_rate is None else bit_error_rate
        _check_ber("RfLink.step.bit_error_rate", ber)
        p = self.loss_probability if loss_probability is None else loss_probability
        up = self.up.transmit(uplink_bps / 8 * dt_s, self.rng, p, ber)
        down = self.down.transmit(downlink_bps / 8 * dt_s, self.rng, p, ber)
        if duplicate_probability > 0.0 or reorder:
            up = self._mangle(up, self.up, duplicate_probability, reorder)
            down = self._mangle(down, self.down, duplicate_probability, reorder)
        return up, down

    def _mangle(self, frames: list[bytes], d: Direction, dup_p: float, reorder: bool) -> list[bytes]:
        out = []
        for f in frames:
            out.append(f)
            if dup_p > 0.0 and self.rng.random() < dup_p:
                out.append(f)
                d.duplicated += 1
        if reorder and len(out) > 1:
            out = [out[k] for k in self.rng.permutation(len(out))]
        return out

    def statistics(self) -> dict:
        return {
            "up_frames": self.up.frames, "up_bytes": self.up.bytes, "up_lost": self.up.lost,
            "down_frames": self.down.frames, "down_bytes": self.down.bytes, "down_lost": self.down.lost,
            "dropped_no_contact": self.dropped_no_contact,
            "up_corrupted": self.up.corrupted, "up_bits_flipped": self.up.bits_flipped,
            "down_corrupted": self.down.corrupted, "down_bits_flipped": self.down.bits_flipped,
            "up_duplicated": self.up.duplicated, "down_duplicated": self.down.duplicated,
        }


def _check_ber(where: str, ber: float) -> None:
    if isinstance(ber, bool) or not isinstance(ber, (int, float)) or not 0.0 <= ber <= 0.5:
        raise ValueError(f"{where}: expected a bit error rate in [0, 0.5], got {ber!r}")
