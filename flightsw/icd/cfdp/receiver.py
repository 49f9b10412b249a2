"""The receiving end of CFDP class 2 (on the ground: the station runs one).

Stepped once per tick, pure and deterministic: ``handle`` takes each PDU from the
sender and never raises, ``poll`` returns the PDUs to answer with. Timers run on
link-up time (``clock.LinkClock``).

Per transaction: file data is kept in memory (a bytearray and the set of ranges that
arrived), so memory is bounded by ``max_file_bytes`` times ``max_transactions``. Every
EOF is acknowledged (also for closed or unknown transactions, as CFDP asks). Missing
metadata and gaps are NAKed at EOF, every ``nak_timer_ns`` while gaps remain, and at
once after acquisition of signal; a NAK sequence is split so no PDU exceeds
``max_pdu_bytes``. When metadata, EOF and every byte are in and size and CRC-32 match,
``accept(name, data)`` is called exactly once and its condition goes back in FINISHED,
which is resent every ``ack_timer_ns`` (and at AOS) until its ACK comes.

A transaction is refused, never touching anything, with FINISHED and reason counted:
an unsafe name or a file over ``max_file_bytes`` (FILESTORE_REJECTION), a checksum
other than CRC-32 (UNSUPPORTED_CHECKSUM_TYPE), sizes that disagree (FILE_SIZE_ERROR),
a CRC-32 mismatch (FILE_CHECKSUM_FAILURE; the sender then starts a fresh transaction).
"""

from __future__ import annotations

import zlib
from collections import Counter, deque
from collections.abc import Callable, Mapping
from types import MappingProxyType

from spacepackets.cfdp import (
    ChecksumType,
    ConditionCode,
    DeliveryCode,
    FileStatus,
    PduConfig,
)
from spacepackets.cfdp.pdu import (
    AckPdu,
    DirectiveType,
    EofPdu,
    FileDataPdu,
    FinishedParams,
    FinishedPdu,
    MetadataPdu,
    NakPdu,
    TransactionStatus,
)
from spacepackets.cfdp.pdu.nak import get_max_seg_reqs_for_max_packet_size_and_pdu_cfg
from spacepackets.util import UnsignedByteField

from flightsw.icd.cfdp import wire
from flightsw.icd.cfdp.clock import LinkClock
from flightsw.icd.cfdp.config import CfdpConfig, validate_file_name
from flightsw.icd.cfdp.history import ClosedHistory
from flightsw.icd.cfdp.ranges import RangeSet

__all__ = ["Accept", "FileReceiver"]

Accept = Callable[[str, bytes], ConditionCode]
_ACCEPT_RESULTS = (ConditionCode.NO_ERROR, ConditionCode.FILESTORE_REJECTION)


class _Rx:
    """Mutable state of one incoming transaction."""

    __slots__ = ("seq", "fields", "name", "size", "eof_size", "eof_crc", "buf", "ranges",
                 "finishing", "condition", "delivery", "file_status", "nak_due",
                 "nak_deadline_up", "last_activity_up", "ack_eof", "finished_due",
                 "finished_deadline_up", "finished_expiries", "accept_retry_up")

    def __init__(self, seq: int, fields: tuple[UnsignedByteField, ...], up_ns: int,
                 nak_timer_ns: int) -> None:
        self.seq = seq
        self.fields = fields  # the peer's (source id, dest id, seq num), to answer in kind
        self.name: str | None = None  # set when metadata arrived
        self.size: int | None = None  # from metadata
        self.eof_size: int | None = None  # set when EOF (no error) arrived
        self.eof_crc = 0
        self.buf = bytearray()
        self.ranges = RangeSet()
        self.finishing = False
        self.condition = ConditionCode.NO_ERROR
        self.delivery = DeliveryCode.DATA_INCOMPLETE
        self.file_status = FileStatus.DISCARDED_DELIBERATELY
        self.nak_due = False
        self.nak_deadline_up = up_ns + nak_timer_ns
        self.last_activity_up = up_ns
        self.ack_eof: ConditionCode | None = None  # an EOF to acknowledge
        self.finished_due = False
        self.finished_deadline_up = 0
        self.finished_expiries = 0
        self.accept_retry_up: int | None = None

    @property
    def known_size(self) -> int | None:
        return self.size if self.size is not None else self.eof_size


class FileReceiver:
    """CFDP class 2 receiver of files from ``config.source_entity_id``.

    ``accept(name, data)`` stores a complete, verified file durably and returns
    ``ConditionCode.NO_ERROR``, or ``ConditionCode.FILESTORE_REJECTION`` for an intact
    file whose content it refuses. If it raises or returns anything else, the file is
    kept and offered again after ``nak_timer_ns`` (counted as ``accept_errors``).
    """

    def __init__(self, config: CfdpConfig, accept: Accept) -> None:
        if not isinstance(config, CfdpConfig):
            raise ValueError(f"config: expected CfdpConfig, got {type(config).__name__}")
        if not callable(accept):
            raise ValueError(f"accept: expected a callable, got {type(accept).__name__}")
        self._cfg = config
        self._accept = accept
        self._clock = LinkClock()
        self._txs: dict[int, _Rx] = {}
        self._closed = ClosedHistory(config.closed_memory)
        self._acks: deque[bytes] = deque()  # ACKs of EOFs of closed or unknown transactions
        self._rejected: Counter[str] = Counter()
        self._stats: Counter[str] = Counter()

    def active(self) -> int:
        """Transactions open now."""
        return len(self._txs)

    @property
    def rejected(self) -> Counter[str]:
        """PDUs refused, by reason (a copy)."""
        return Counter(self._rejected)

    def in_flight(self) -> list[tuple[int, str, int, int, str]]:
        """The transactions open now, by sequence number: (seq, file name ("" until the
        metadata came), size [bytes] (-1 until the metadata or the EOF told it), bytes
        received so far, "receiving" or "finishing" (every byte in: checking, storing,
        closing)). For an operator's progress display; changes only when a PDU does."""
        return [(seq, rx.name or "", -1 if rx.known_size is None else rx.known_size, rx.ranges.total,
                 "finishing" if rx.finishing else "receiving") for seq, rx in sorted(self._txs.items())]

    def statistics(self) -> Mapping[str, int]:
        """Immutable snapshot of the counters."""
        snapshot = dict(self._stats)
        snapshot["active"] = len(self._txs)
        snapshot["rejected"] = sum(self._rejected.values())
        return MappingProxyType(snapshot)

    # ---- link input ------------------------------------------------------------------

    def handle(self, pdu: bytes, t_ns: int) -> None:
        """Take one PDU from the sender. Never raises, whatever the bytes: anything
        malformed, not for us, unexpected, late or refused is counted in ``rejected``.

        ``t_ns`` is accepted for symmetry with ``poll``; timers use link-up time.
        """
        cfg = self._cfg
        try:
            parsed = wire.parse(pdu)
            wire.check_header(parsed, cfg.pdu_crc, cfg.source_entity_id, cfg.dest_entity_id)
        except wire.PduError as exc:
            self._rejected[exc.reason] += 1
            return
        if isinstance(parsed, NakPdu | FinishedPdu) or (
            isinstance(parsed, AckPdu)
            and parsed.directive_code_of_acked_pdu != DirectiveType.FINISHED_PDU
        ):
            self._rejected["unexpected_pdu"] += 1
            return
        self._stats["pdus_received"] += 1
        seq = parsed.transaction_seq_num.value
        tx = self._txs.get(seq)
        if tx is None:
            tx = self._open(parsed, seq)
            if tx is None:
                return
        if tx.finishing:
            if isinstance(parsed, EofPdu):
                tx.ack_eof = parsed.condition_code
            elif isinstance(parsed, AckPdu):
                self._close(tx)
            else:
                self._rejected["late"] += 1
            return
        if isinstance(parsed, AckPdu):
            self._rejected["unexpected_ack"] += 1
            return
        tx.last_activity_up = self._clock.up_ns
        if isinstance(parsed, MetadataPdu):
            self._on_metadata(tx, parsed)
        elif isinstance(parsed, FileDataPdu):
            self._on_file_data(tx, parsed)
        else:
            self._on_eof(tx, parsed)
        if not tx.finishing:
            self._try_complete(tx)

    def _open(self, pdu: wire.Pdu, seq: int) -> _Rx | None:
        """A new transaction for ``pdu``, or None when it must not open one."""
        closed = self._closed.get(seq)
        if isinstance(pdu, EofPdu) and (closed is not None
                                        or pdu.condition_code != ConditionCode.NO_ERROR):
            status = (TransactionStatus.TERMINATED if closed is not None
                      else TransactionStatus.UNRECOGNIZED)
            self._acks.append(self._ack_eof_pdu(_fields_of(pdu), pdu.condition_code, status))
            if closed is None:  # a cancel of something we never saw: nothing to keep
                self._closed.add(seq, pdu.condition_code)
            self._stats["late_eofs_acked"] += 1
            return None
        if closed is not None:
            self._rejected["late"] += 1
            return None
        if isinstance(pdu, AckPdu):
            self._rejected["unknown_transaction"] += 1
            return None
        if len(self._txs) >= self._cfg.max_transactions:
            self._rejected["too_many_transactions"] += 1
            return None
        tx = _Rx(seq, _fields_of(pdu), self._clock.up_ns, self._cfg.nak_timer_ns)
        self._txs[seq] = tx
        self._stats["opened"] += 1
        return tx

    def _on_metadata(self, tx: _Rx, pdu: MetadataPdu) -> None:
        if tx.name is not None:
            self._stats["duplicate_metadata"] += 1
            return
        if pdu.checksum_type != ChecksumType.CRC_32:
            self._refuse(tx, "unsupported_checksum", ConditionCode.UNSUPPORTED_CHECKSUM_TYPE)
            return
        try:
            name = validate_file_name(pdu.dest_file_name)  # decoding may fail too
        except ValueError:
            self._refuse(tx, "bad_file_name", ConditionCode.FILESTORE_REJECTION,
                         FileStatus.DISCARDED_FILESTORE_REJECTION)
            return
        size = pdu.file_size
        if size > self._cfg.max_file_bytes:
            self._refuse(tx, "file_too_large", ConditionCode.FILESTORE_REJECTION,
                         FileStatus.DISCARDED_FILESTORE_REJECTION)
            return
        if tx.ranges.end > size or (tx.eof_size is not None and tx.eof_size != size):
            self._refuse(tx, "file_size_error", ConditionCode.FILE_SIZE_ERROR)
            return
        tx.name = name
        tx.size = size
        if len(tx.buf) < size:
            tx.buf.extend(bytes(size - len(tx.buf)))

    def _on_file_data(self, tx: _Rx, pdu: FileDataPdu) -> None:
        data = pdu.file_data
        start = pdu.offset
        end = start + len(data)
        limit = tx.known_size
        if end > (self._cfg.max_file_bytes if limit is None else limit):
            # Refuse the segment, not the transaction: the file CRC-32 decides in the end.
            self._rejected["beyond_file_size"] += 1
            return
        if tx.ranges.covers(start, end):
            self._stats["duplicate_bytes"] += len(data)
        else:
            self._stats["file_bytes_received"] += len(data)
        if len(tx.buf) < end:
            tx.buf.extend(bytes(end - len(tx.buf)))
        tx.buf[start:end] = data
        tx.ranges.add(start, end)

    def _on_eof(self, tx: _Rx, pdu: EofPdu) -> None:
        tx.ack_eof = pdu.condition_code
        if pdu.condition_code != ConditionCode.NO_ERROR:
            self._stats["cancelled_by_sender"] += 1
            self._finish(tx, pdu.condition_code, DeliveryCode.DATA_INCOMPLETE,
                         FileStatus.DISCARDED_DELIBERATELY)
            return
        if tx.eof_size is not None:
            self._stats["duplicate_eofs"] += 1
            return
        size = pdu.file_size
        if size > self._cfg.max_file_bytes:
            self._refuse(tx, "file_too_large", ConditionCode.FILESTORE_REJECTION,
                         FileStatus.DISCARDED_FILESTORE_REJECTION)
            return
        if tx.ranges.end > size or (tx.size is not None and tx.size != size):
            self._refuse(tx, "file_size_error", ConditionCode.FILE_SIZE_ERROR)
            return
        tx.eof_size = size
        tx.eof_crc = int.from_bytes(pdu.file_checksum, "big")
        tx.nak_due = True

    def _try_complete(self, tx: _Rx) -> None:
        if tx.name is None or tx.size is None or tx.eof_size is None:
            return
        if not tx.ranges.covers(0, tx.size):
            return
        if tx.accept_retry_up is not None and self._clock.up_ns < tx.accept_retry_up:
            return
        data = bytes(tx.buf[: tx.size])
        if zlib.crc32(data) != tx.eof_crc:
            self._stats["checksum_failures"] += 1
            self._finish(tx, ConditionCode.FILE_CHECKSUM_FAILURE, DeliveryCode.DATA_INCOMPLETE,
                         FileStatus.DISCARDED_DELIBERATELY)
            return
        try:
            result = self._accept(tx.name, data)
        except Exception:  # noqa: BLE001 -- the store failed; keep the file, offer it again
            result = None
        if result not in _ACCEPT_RESULTS:
            self._stats["accept_errors"] += 1
            tx.accept_retry_up = self._clock.up_ns + self._cfg.nak_timer_ns
            return
        condition = ConditionCode(result)
        kept = condition == ConditionCode.NO_ERROR
        self._stats["files_accepted" if kept else "files_refused"] += 1
        self._finish(tx, condition, DeliveryCode.DATA_COMPLETE,
                     FileStatus.FILE_RETAINED if kept
                     else FileStatus.DISCARDED_FILESTORE_REJECTION)

    def _refuse(self, tx: _Rx, reason: str, condition: ConditionCode,
                status: FileStatus = FileStatus.DISCARDED_DELIBERATELY) -> None:
        self._rejected[reason] += 1
        self._finish(tx, condition, DeliveryCode.DATA_INCOMPLETE, status)

    def _finish(self, tx: _Rx, condition: ConditionCode, delivery: DeliveryCode,
                status: FileStatus) -> None:
        tx.finishing = True
        tx.condition = condition
        tx.delivery = delivery
        tx.file_status = status
        tx.buf = bytearray()  # release the file's memory now
        tx.ranges.clear()
        tx.finished_due = True
        tx.finished_expiries = 0

    def _close(self, tx: _Rx) -> None:
        del self._txs[tx.seq]
        self._closed.add(tx.seq, tx.condition)
        self._stats["closed"] += 1

    # ---- link output -----------------------------------------------------------------

    def poll(self, t_ns: int, link_up: bool) -> list[bytes]:
        """PDUs to send now: ACKs of EOF, NAKs, FINISHED. ``link_up=False`` returns
        nothing and freezes the timers. Raises ValueError for a bad argument."""
        aos = self._clock.advance(t_ns, link_up)
        if not link_up:
            return []
        out = list(self._acks)
        self._acks.clear()
        for tx in list(self._txs.values()):
            if not tx.finishing:
                self._poll_receiving(tx, aos, out)
            if tx.finishing:
                self._poll_finishing(tx, aos, out)
        self._stats["pdus_sent"] += len(out)
        return out

    def _poll_receiving(self, tx: _Rx, aos: bool, out: list[bytes]) -> None:
        up = self._clock.up_ns
        if tx.ack_eof is not None:
            out.append(self._ack_eof_pdu(tx.fields, tx.ack_eof, TransactionStatus.ACTIVE))
            tx.ack_eof = None
        if tx.accept_retry_up is not None and up >= tx.accept_retry_up:
            self._try_complete(tx)
            if tx.finishing:
                return
        if up - tx.last_activity_up >= self._cfg.inactivity_ns:
            self._stats["inactivity"] += 1
            self._finish(tx, ConditionCode.INACTIVITY_DETECTED, DeliveryCode.DATA_INCOMPLETE,
                         FileStatus.DISCARDED_DELIBERATELY)
            return
        requests = [] if tx.name is not None else [(0, 0)]
        scope_end = tx.eof_size if tx.eof_size is not None else tx.ranges.end
        requests += tx.ranges.missing(0, scope_end)
        if requests and (aos or tx.nak_due or up >= tx.nak_deadline_up):
            out.extend(self._nak_pdus(tx, requests, scope_end))
            tx.nak_deadline_up = up + self._cfg.nak_timer_ns
        tx.nak_due = False

    def _poll_finishing(self, tx: _Rx, aos: bool, out: list[bytes]) -> None:
        up = self._clock.up_ns
        if tx.ack_eof is not None:
            out.append(self._ack_eof_pdu(tx.fields, tx.ack_eof, TransactionStatus.ACTIVE))
            tx.ack_eof = None
        if aos:
            tx.finished_due = True
        elif not tx.finished_due and up >= tx.finished_deadline_up:
            tx.finished_expiries += 1
            if tx.finished_expiries >= self._cfg.ack_limit:
                self._stats["abandoned"] += 1
                self._close(tx)
                return
            tx.finished_due = True
            self._stats["finished_resent"] += 1
        if tx.finished_due:
            params = FinishedParams(condition_code=tx.condition, delivery_code=tx.delivery,
                                    file_status=tx.file_status)
            out.append(bytes(FinishedPdu(self._conf(tx.fields), params).pack()))
            tx.finished_due = False
            tx.finished_deadline_up = up + self._cfg.ack_timer_ns
            self._stats["finished_sent"] += 1

    def _nak_pdus(self, tx: _Rx, requests: list[tuple[int, int]],
                  scope_end: int) -> list[bytes]:
        """One NAK sequence over ``[0, scope_end)``, split so no PDU exceeds
        ``max_pdu_bytes``; each PDU's scope starts where the previous one's ended."""
        per_pdu = get_max_seg_reqs_for_max_packet_size_and_pdu_cfg(
            self._cfg.max_pdu_bytes, self._conf(tx.fields))
        pdus = []
        start = 0
        for i in range(0, len(requests), per_pdu):
            batch = requests[i: i + per_pdu]
            last = i + per_pdu >= len(requests)
            end = max(start, scope_end if last else batch[-1][1])
            pdus.append(bytes(NakPdu(self._conf(tx.fields), start, end, batch).pack()))
            start = end
        self._stats["nak_pdus_sent"] += len(pdus)
        self._stats["nak_segment_requests_sent"] += len(requests)
        return pdus

    def _conf(self, fields: tuple[UnsignedByteField, ...]) -> PduConfig:
        return wire.pdu_conf(*fields, crc=self._cfg.pdu_crc)

    def _ack_eof_pdu(self, fields: tuple[UnsignedByteField, ...], condition: ConditionCode,
                     status: TransactionStatus) -> bytes:
        self._stats["acks_sent"] += 1
        return bytes(AckPdu(self._conf(fields), DirectiveType.EOF_PDU, condition, status).pack())


def _fields_of(pdu: wire.Pdu) -> tuple[UnsignedByteField, ...]:
    return (pdu.source_entity_id, pdu.dest_entity_id, pdu.transaction_seq_num)
