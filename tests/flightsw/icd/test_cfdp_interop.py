"""Wire compatibility with an independent CFDP implementation: cfdp-py 0.7.0 (``cfdppy``).

Real time, real UDP sockets on 127.0.0.1, one PDU per datagram. Our engine is driven
with ``t_ns`` from ``time.monotonic_ns()`` here in the test shell only; cfdppy's timers
read the wall clock themselves. cfdppy's filestore is confined to ``tmp_path``.

cfdp-py 0.7.0 defects worked around here:
- its handlers raise on PDUs they do not expect in their state (``PduIgnoredForDest``,
  ``PduIgnoredForSource``, ...), so each PDU is fed inside ``try`` and the exception kept
  (and asserted absent: on this link cfdppy must take every PDU of ours);
- ``PduHolder.pack`` goes through a deprecated property, so the PDU is packed directly.
Its stall on a lost ACK(EOF) and its unsafe ``RestrictedFilestore`` are not exercised:
these tests run a lossless loopback link, except one deliberately dropped segment.
"""

from __future__ import annotations

import random
import socket
import time
from contextlib import ExitStack
from pathlib import Path

import pytest
from cfdppy import (
    CfdpState,
    CfdpUserBase,
    IndicationConfig,
    LocalEntityConfig,
    PutRequest,
    RemoteEntityConfig,
    RemoteEntityConfigTable,
    RestrictedFilestore,
)
from cfdppy.handler import DestHandler, SourceHandler
from cfdppy.mib import CheckTimerProvider, DefaultFaultHandlerBase
from spacepackets.cfdp import ChecksumType, ConditionCode, PduFactory, TransmissionMode
from spacepackets.cfdp.pdu import FileDataPdu
from spacepackets.countdown import Countdown
from spacepackets.seqcount import ProvidesSeqCount
from spacepackets.util import ByteFieldU16

from flightsw.icd.cfdp import CfdpConfig, FileReceiver, FileSender, wire

pytestmark = pytest.mark.timeout(30)

DEADLINE_S = 10.0
BUDGET_BYTES_PER_ROUND = 64_000  # stay well inside the socket buffers: no loopback drops
SOCKET_BUFFER_BYTES = 1 << 20
FILE_BYTES = 200_000


class _User(CfdpUserBase):
    """A cfdppy user that records what it is told."""

    def __init__(self, vfs: RestrictedFilestore) -> None:
        super().__init__(vfs)
        self.finished: list = []

    def transaction_finished_indication(self, params) -> None:  # noqa: ANN001
        self.finished.append(params.finished_params)

    def transaction_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def eof_sent_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def metadata_recv_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def file_segment_recv_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def report_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def suspended_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def resumed_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def fault_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def abandoned_indication(self, *args) -> None:  # noqa: ANN002
        pass

    def eof_recv_indication(self, *args) -> None:  # noqa: ANN002
        pass


class _Faults(DefaultFaultHandlerBase):
    def __init__(self) -> None:
        super().__init__()
        self.faults: list[ConditionCode] = []

    def notice_of_suspension_cb(self, transaction_id, cond, progress) -> None:  # noqa: ANN001
        self.faults.append(cond)

    def notice_of_cancellation_cb(self, transaction_id, cond, progress) -> None:  # noqa: ANN001
        self.faults.append(cond)

    def abandoned_cb(self, transaction_id, cond, progress) -> None:  # noqa: ANN001
        self.faults.append(cond)

    def ignore_cb(self, transaction_id, cond, progress) -> None:  # noqa: ANN001
        self.faults.append(cond)


class _CheckTimers(CheckTimerProvider):
    def provide_check_timer(self, local_entity_id, remote_entity_id, entity_type):  # noqa: ANN001, ANN201
        return Countdown.from_seconds(1.0)


class _SeqCount(ProvidesSeqCount):
    def __init__(self) -> None:
        self._next = 1

    @property
    def max_bit_width(self) -> int:
        return 32

    @max_bit_width.setter
    def max_bit_width(self, width: int) -> None:
        raise NotImplementedError

    def get_and_increment(self) -> int:
        value, self._next = self._next, self._next + 1
        return value


def remote(entity_id: int) -> RemoteEntityConfigTable:
    """cfdppy's view of our engine: class 2, CRC-32 files, PDU CRC on, 8 KiB segments."""
    return RemoteEntityConfigTable([RemoteEntityConfig(
        entity_id=ByteFieldU16(entity_id), max_file_segment_len=8192, max_packet_len=9000,
        closure_requested=True, crc_on_transmission=True,
        default_transmission_mode=TransmissionMode.ACKNOWLEDGED, crc_type=ChecksumType.CRC_32,
        positive_ack_timer_interval_seconds=0.5, positive_ack_timer_expiration_limit=10,
        nak_timer_interval_seconds=0.5, nak_timer_expiration_limit=10,
    )])


def udp_socket(stack: ExitStack) -> socket.socket:
    sock = stack.enter_context(socket.socket(socket.AF_INET, socket.SOCK_DGRAM))
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, SOCKET_BUFFER_BYTES)
    sock.bind(("127.0.0.1", 0))
    sock.setblocking(False)
    return sock


def recv_all(sock: socket.socket) -> list[bytes]:
    out = []
    while True:
        try:
            out.append(sock.recv(65_535))
        except BlockingIOError:
            return out


def step_cfdppy(handler: DestHandler | SourceHandler, raw: bytes | None, sock: socket.socket,
                peer: tuple[str, int], ignored: list[Exception]) -> None:
    """Feed one PDU (or a timer tick) to a cfdppy handler and send what it produced."""
    try:
        handler.state_machine(None if raw is None else PduFactory.from_raw(raw))
    except Exception as exc:  # noqa: BLE001 -- cfdppy raises on PDUs it will not take
        ignored.append(exc)
    while (holder := handler.get_next_packet()) is not None:
        sock.sendto(bytes(holder.pdu.pack()), peer)


@pytest.mark.parametrize("dropped_segment", [None, 3])
def test_our_sender_delivers_to_cfdppy_dest_handler_byte_identical(tmp_path, dropped_segment):
    data = random.Random(7).randbytes(FILE_BYTES)
    name = "results/interop.bin"
    sender = FileSender(CfdpConfig())
    user, faults, ignored = _User(RestrictedFilestore(tmp_path)), _Faults(), []
    dest = DestHandler(LocalEntityConfig(ByteFieldU16(2), IndicationConfig(), faults), user,
                       remote(1), _CheckTimers())
    finished = []
    seen_segments = 0
    with ExitStack() as stack:
        ours, theirs = udp_socket(stack), udp_socket(stack)
        sender.put(name, data, t_ns=time.monotonic_ns())
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            t_ns = time.monotonic_ns()
            for raw in recv_all(ours):
                sender.handle(raw, t_ns)
            for pdu in sender.poll(t_ns, BUDGET_BYTES_PER_ROUND, True):
                if isinstance(wire.parse(pdu), FileDataPdu):
                    seen_segments += 1
                    if seen_segments - 1 == dropped_segment:
                        continue  # lost once: cfdppy must NAK it and we must resend
                ours.sendto(pdu, theirs.getsockname())
            for raw in [*recv_all(theirs), None]:
                step_cfdppy(dest, raw, theirs, ours.getsockname(), ignored)
            finished += sender.drain_finished()
            if finished and dest.state == CfdpState.IDLE:
                break
            time.sleep(0.001)
    assert (tmp_path / name).read_bytes() == data, "cfdppy stored different bytes"
    (fin,) = finished
    assert fin.delivered and fin.condition == ConditionCode.NO_ERROR, fin
    assert [p.condition_code for p in user.finished] == [ConditionCode.NO_ERROR]
    assert faults.faults == [] and sender.rejected == {}, (faults.faults, sender.rejected)
    assert ignored == [], f"cfdppy refused PDUs of ours: {ignored}"
    resent = sender.statistics().get("file_bytes_resent", 0)
    assert resent == (0 if dropped_segment is None else 8192), "exactly the NAKed segment"


def test_cfdppy_source_handler_delivers_to_our_receiver_byte_identical(tmp_path):
    data = random.Random(8).randbytes(FILE_BYTES)
    (tmp_path / "payload.bin").write_bytes(data)
    accepted: list[tuple[str, bytes]] = []

    def accept(name: str, body: bytes) -> ConditionCode:
        accepted.append((name, body))
        return ConditionCode.NO_ERROR

    receiver = FileReceiver(CfdpConfig(), accept)
    user, faults, ignored = _User(RestrictedFilestore(tmp_path)), _Faults(), []
    source = SourceHandler(LocalEntityConfig(ByteFieldU16(1), IndicationConfig(), faults), user,
                           remote(2), _CheckTimers(), _SeqCount())
    with ExitStack() as stack:
        ours, theirs = udp_socket(stack), udp_socket(stack)
        assert source.put_request(PutRequest(
            destination_id=ByteFieldU16(2), source_file=Path("payload.bin"),
            dest_file=Path("results/from_cfdppy.bin"),
            trans_mode=TransmissionMode.ACKNOWLEDGED, closure_requested=True))
        deadline = time.monotonic() + DEADLINE_S
        while time.monotonic() < deadline:
            t_ns = time.monotonic_ns()
            for raw in [*recv_all(theirs), None]:
                step_cfdppy(source, raw, theirs, ours.getsockname(), ignored)
            for raw in recv_all(ours):
                receiver.handle(raw, t_ns)
            for pdu in receiver.poll(t_ns, True):
                ours.sendto(pdu, theirs.getsockname())
            if accepted and source.state == CfdpState.IDLE and receiver.active() == 0:
                break
            time.sleep(0.001)
    assert accepted == [("results/from_cfdppy.bin", data)], "our receiver got other bytes"
    assert [p.condition_code for p in user.finished] == [ConditionCode.NO_ERROR]
    assert receiver.active() == 0, "our receiver did not see cfdppy's ACK(FINISHED)"
    assert faults.faults == [] and receiver.rejected == {}, (faults.faults, receiver.rejected)
    assert ignored == [], f"cfdppy refused PDUs of ours: {ignored}"
