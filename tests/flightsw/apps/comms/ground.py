"""The ground end of the link in comms tests: what the station does with the link, without
its archive.

Every downlinked packet is decoded with ``flightsw.icd.spacelink.decode_tm`` (so a packet
comms builds wrong fails here, as it would at the station), CFDP PDUs go to a real
``flightsw.icd.cfdp.FileReceiver``, and the receiver's answers come back as signed
telecommands for the next tick's uplink (one tick of latency each way, as the hub gives).
Loss is a seeded input: ``drop`` picks the PDUs that never arrive.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

from spacepackets.cfdp import ConditionCode

from flightsw.apps.comms.core import CommsCore, CommsTable
from flightsw.bus.participant import Out
from flightsw.icd.cfdp import FileReceiver, wire
from flightsw.icd.messages import ContactState, DownlinkFrame, Envelope, Message
from flightsw.icd.spacelink import TcSigner, Telemetry, decode_tm
from tests.flightsw.apps.builders import S, frame, signer

__all__ = ["EPOCH", "IN_CONTACT", "NO_CONTACT", "Ground", "decoded", "down_frames", "msg",
           "not_down", "pdu_kind", "run"]

EPOCH = CommsTable().epoch_utc
IN_CONTACT = ContactState(True, "svalbard", downlink_bps=8.0e9, uplink_bps=8.0e6)  # no limit
NO_CONTACT = ContactState(False, "", downlink_bps=0.0, uplink_bps=0.0)


def msg(body, src: str, tick: int = 0, seq: int = 1) -> Message:
    """``body`` as it reaches comms on the bus from ``src``."""
    return Message(Envelope(body.KIND, body.VERSION, src, seq, tick, tick * S), body)


def _pairs(outs: Iterable) -> list[tuple[object, str]]:
    """(body, dst) of a core's output or of a shell's ``Out`` list."""
    return [(o.body, o.dst) if isinstance(o, Out) else (o[0], o[1]) for o in outs]


def down_frames(outs: Iterable) -> list[bytes]:
    """The bytes comms handed to the radio (the world), in order."""
    return [b.data for b, dst in _pairs(outs) if isinstance(b, DownlinkFrame) and dst == "world"]


def not_down(outs: Iterable) -> list[tuple[object, str]]:
    """Everything else: what went on the bus."""
    return [(b, d) for b, d in _pairs(outs) if not isinstance(b, DownlinkFrame)]


def decoded(outs: Iterable) -> list[Telemetry]:
    """The downlinked packets as the ground decodes them (raises if one is malformed)."""
    return [decode_tm(data, EPOCH) for data in down_frames(outs)]


def reports(outs: Iterable) -> list[Telemetry]:
    """The downlinked verification reports (PUS 1) only."""
    return [t for t in decoded(outs) if t.service == 1]


def pdu_kind(pdu: bytes) -> str:
    return type(wire.parse(pdu)).__name__


class Ground:
    """A station's link end: ``receive`` a tick's downlink, ``answer`` with its uplink.

    ``verdict(name, data)`` is the ground's check of a complete file (NO_ERROR: archived;
    FILESTORE_REJECTION: intact but wrong); ``drop(pdu)`` True loses a downlinked PDU."""

    def __init__(self, table: CommsTable,
                 verdict: Callable[[str, bytes], ConditionCode] | None = None,
                 drop: Callable[[bytes], bool] | None = None,
                 tc_signer: TcSigner | None = None) -> None:
        self.receiver = FileReceiver(table.cfdp(), self._accept)
        self.verdict = verdict or (lambda name, data: ConditionCode.NO_ERROR)
        self.drop = drop or (lambda pdu: False)
        self.signer = tc_signer or signer()
        self.files: dict[str, bytes] = {}  # every complete, intact file offered to verdict
        self.telemetry: list[Telemetry] = []
        self.pdus_down: list[bytes] = []  # PDUs that arrived, in order
        self.dropped = 0

    def _accept(self, name: str, data: bytes) -> ConditionCode:
        assert name not in self.files, f"{name} was delivered twice"
        self.files[name] = data
        return self.verdict(name, data)

    def receive(self, outs: Iterable, t_ns: int) -> list[Telemetry]:
        got = decoded(outs)
        for tm in got:
            self.telemetry.append(tm)
            if tm.pdu is None:
                continue
            if self.drop(tm.pdu):
                self.dropped += 1
                continue
            self.pdus_down.append(tm.pdu)
            self.receiver.handle(tm.pdu, t_ns)
        return got

    def answer(self, t_ns: int, link_up: bool = True) -> list[bytes]:
        """The receiver's PDUs (ACK, NAK, FINISHED) as telecommands to comms."""
        return [frame(pdu, self.signer) for pdu in self.receiver.poll(t_ns, link_up)]


def run(core: CommsCore, ground: Ground, ticks: Iterable[int],
        contact: Callable[[int], ContactState] = lambda tick: IN_CONTACT,
        from_apps: Callable[[int], list[Message]] = lambda tick: []) -> list[tuple[int, object, str]]:
    """Step ``core`` and ``ground`` in lockstep over ``ticks``; -> (tick, body, dst) of
    everything comms sent on the bus (to the executor and the others)."""
    bus: list[tuple[int, object, str]] = []
    uplink: list[bytes] = []
    for tick in ticks:
        state = contact(tick)
        out = core.step(tick, tick * S, state, uplink, from_apps(tick))
        bus.extend((tick, b, d) for b, d in not_down(out))
        ground.receive(out, tick * S)
        uplink = ground.answer(tick * S, state.in_contact)
    return bus
