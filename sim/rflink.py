"""The RF link: bytes pass only during a contact, at the contact's rate, with loss.

Frames queue at each end's transmitter; each tick in contact the transmitter sends up to
rate x tick bytes (a frame larger than what is left finishes in a later tick). Each frame
is lost with ``loss_probability`` (seeded). At loss of signal everything queued or half
sent is lost: the radio holds no state across passes, so end-to-end retries must.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import numpy as np

__all__ = ["Direction", "RfLink"]


@dataclass
class Direction:
    queue: deque = field(default_factory=deque)
    sent_of_head: float = 0.0  # bytes of the head frame already on the air
    frames: int = 0
    bytes: int = 0
    lost: int = 0

    def transmit(self, budget_bytes: float, rng: np.random.Generator, loss_p: float) -> list[bytes]:
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
    loss_probability: float
    rng: np.random.Generator
    up: Direction = field(default_factory=Direction)
    down: Direction = field(default_factory=Direction)
    dropped_no_contact: int = 0

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

    def step(self, in_contact: bool, uplink_bps: float, downlink_bps: float, dt_s: float):
        """-> (frames delivered to the spacecraft, frames delivered to the ground)."""
        if not in_contact:
            self.up.drop_all()
            self.down.drop_all()
            return [], []
        p = self.loss_probability
        return (self.up.transmit(uplink_bps / 8 * dt_s, self.rng, p),
                self.down.transmit(downlink_bps / 8 * dt_s, self.rng, p))

    def statistics(self) -> dict:
        return {
            "up_frames": self.up.frames, "up_bytes": self.up.bytes, "up_lost": self.up.lost,
            "down_frames": self.down.frames, "down_bytes": self.down.bytes, "down_lost": self.down.lost,
            "dropped_no_contact": self.dropped_no_contact,
        }
