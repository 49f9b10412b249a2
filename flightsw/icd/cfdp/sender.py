"""The sending end of CFDP class 2 (onboard: the comms link manager runs one).

Stepped once per tick, pure and deterministic: ``put`` queues a file, ``handle`` takes
each PDU from the receiver, ``poll`` returns the PDUs to send within the tick's byte
budget. Timers run on link-up time (``clock.LinkClock``), so a transfer spans passes.

Per transaction: Metadata, FileData segments, EOF; the EOF is resent every
``ack_timer_ns`` until its ACK comes, and at once on the first poll after acquisition
of signal. NAKed ranges and NAKed metadata are resent. The transaction ends when the
receiver's FINISHED comes (always acknowledged, also when repeated or unknown). A
FINISHED with FILE_CHECKSUM_FAILURE or FILE_SIZE_ERROR starts a fresh transaction for
the same file, at most ``checksum_retry_limit`` times.

Sending order in a poll: ACKs of FINISHED, then per transaction in queue order
(lower ``priority`` first, FIFO within) the owed PDUs (NAKed metadata and ranges, a due
EOF), then new file data, one file after another: a file whose data has started goes on
before any other starts (so a receiver never waits on a half-sent file while others
overtake it, and few transactions are open at once), then the others in queue order.
Nothing is skipped to fill the budget: the first PDU that does not fit ends the poll.
"""

from __future__ import annotations

import zlib
from bisect import insort
from collections import Counter, deque
from collections.abc import Mapping
from dataclasses import dataclass
from types import MappingProxyType

from spacepackets.cfdp import ChecksumType, ConditionCode, DeliveryCode, PduConfig
from spacepackets.cfdp.pdu import (
    AckPdu,
    DirectiveType,
    EofPdu,
    FileDataParams,
    FileDataPdu,
    FinishedPdu,
    MetadataParams,
    MetadataPdu,
    NakPdu,
    TransactionStatus,
)

from flightsw.icd.cfdp import wire
from flightsw.icd.cfdp.clock import LinkClock
from flightsw.icd.cfdp.config import CfdpConfig, validate_file_name
from flightsw.icd.cfdp.history import ClosedHistory
from flightsw.icd.cfdp.ranges import RangeSet

__all__ = ["FileSender", "Finished", "PendingTransfer"]

_MAX_SEQ = 2**32 - 1
_RETRY_CONDITIONS = frozenset({ConditionCode.FILE_CHECKSUM_FAILURE, ConditionCode.FILE_SIZE_ERROR})
_KEPT_CONDITIONS = frozenset({ConditionCode.NO_ERROR, ConditionCode.FILESTORE_REJECTION})


@dataclass(frozen=True)
class Finished:
    """How a ``put`` ended.

    ``seq_num`` is the number ``put`` returned; ``transaction_seq_num`` the transaction
    that ended it (they differ after a checksum retry); ``attempts`` counts transactions.
    ``delivered``: the receiver reported the file complete and intact (FINISHED with
    DATA_COMPLETE and NO_ERROR or FILESTORE_REJECTION); ``condition`` then says whether
    the ground kept it (NO_ERROR) or refused its content (FILESTORE_REJECTION). Not
    delivered: any other FINISHED, a cancel, or a local fault (POSITIVE_ACK_LIMIT_REACHED,
    INACTIVITY_DETECTED).
    """

    seq_num: int
    name: str
    condition: ConditionCode
    delivered: bool
    transaction_seq_num: int
    attempts: int


@dataclass(frozen=True)
class PendingTransfer:
    """A queued or running ``put``: ``sent_bytes`` of new file data sent so far."""

    seq_num: int
    transaction_seq_num: int
    name: str
    priority: int
    size_bytes: int
    sent_bytes: int
    state: str  # queued | sending | awaiting_eof_ack | awaiting_finished | cancelling
    put_t_ns: int


class _Tx:
    """Mutable state of one put; one transaction at a time (a new one on retry)."""

    __slots__ = ("put_id", "put_t_ns", "seq", "name", "data", "crc", "priority", "order",
                 "attempts", "metadata_sent", "metadata_due", "next_offset", "retx", "eof_sent",
                 "eof_due", "eof_acked", "eof_deadline_up", "eof_expiries", "eof_condition",
                 "eof_size", "eof_crc", "cancelled", "last_heard_up")

    def __init__(self, put_id: int, put_t_ns: int, name: str, data: bytes, priority: int,
                 order: int) -> None:
        self.put_id = put_id
        self.put_t_ns = put_t_ns
        self.name = name
        self.data = data
        self.crc = zlib.crc32(data)
        self.priority = priority
        self.order = order
        self.attempts = 0
        self.retx = RangeSet()
        self.start(put_id)

    def start(self, seq: int) -> None:
        """Begin a (fresh) transaction ``seq`` for this file."""
        self.seq = seq
        self.attempts += 1
        self.metadata_sent = False
        self.metadata_due = False
        self.next_offset = 0
        self.retx.clear()
        self.eof_sent = False
        self.eof_due = False
        self.eof_acked = False
        self.eof_deadline_up = 0
        self.eof_expiries = 0
        self.eof_condition = ConditionCode.NO_ERROR
        self.eof_size = len(self.data)
        self.eof_crc = self.crc
        self.cancelled = False
        self.last_heard_up = 0

    def __lt__(self, other: _Tx) -> bool:
        return (self.priority, self.order) < (other.priority, other.order)

    @property
    def state(self) -> str:
        if self.cancelled:
            return "cancelling"
        if not self.metadata_sent:
            return "queued"
        if not self.eof_sent:
            return "sending"
        return "awaiting_finished" if self.eof_acked else "awaiting_eof_ack"


class _Budget:
    """PDUs chosen in one poll; ``full`` once one did not fit (then nothing more goes)."""

    __slots__ = ("left_bytes", "pdus", "full", "overhead_bytes")

    def __init__(self, budget_bytes: int, overhead_bytes: int = 0) -> None:
        self.left_bytes = budget_bytes
        self.overhead_bytes = overhead_bytes  # what wrapping each PDU costs on the link
        self.pdus: list[bytes] = []
        self.full = False

    def room(self, n_bytes: int) -> bool:
        if self.full or n_bytes + self.overhead_bytes > self.left_bytes:
            self.full = True
            return False
        return True

    def add(self, pdu: bytes) -> None:
        self.pdus.append(pdu)
        self.left_bytes -= len(pdu) + self.overhead_bytes

    def offer(self, pdu: bytes) -> bool:
        if not self.room(len(pdu)):
            return False
        self.add(pdu)
        return True


class FileSender:
    """CFDP class 2 sender for files from ``config.source_entity_id`` to ``dest_entity_id``.

    ``first_seq_num`` lets the shell continue the sequence after a restart (persist the
    last one): the receiver remembers closed transactions by number and would take a
    reused number for a late duplicate.
    """

    @property
    def next_seq_num(self) -> int:
        """The transaction number the next ``put`` takes (persist it across restarts)."""
        return self._next_seq

    def __init__(self, config: CfdpConfig, first_seq_num: int = 1) -> None:
        if not isinstance(config, CfdpConfig):
            raise ValueError(f"config: expected CfdpConfig, got {type(config).__name__}")
        if not isinstance(first_seq_num, int) or not 0 <= first_seq_num <= _MAX_SEQ:
            raise ValueError(f"first_seq_num: expected int 0..{_MAX_SEQ}, got {first_seq_num!r}")
        self._cfg = config
        self._clock = LinkClock()
        self._next_seq = first_seq_num
        self._next_order = 0
        self._txs: dict[int, _Tx] = {}  # by current transaction seq
        self._by_put: dict[int, _Tx] = {}
        self._queue: list[_Tx] = []  # sorted by (priority, order)
        self._closed = ClosedHistory(config.closed_memory)
        self._acks_finished: deque[bytes] = deque()
        self._finished: list[Finished] = []
        self._rejected: Counter[str] = Counter()
        self._stats: Counter[str] = Counter()

    # ---- caller API ------------------------------------------------------------------

    def put(self, name: str, data: bytes, t_ns: int, priority: int = 0) -> int:
        """Queue ``data`` to be delivered as ``name`` (put at sim time ``t_ns``, which
        ``pending`` reports); returns the put's sequence number.

        Lower ``priority`` numbers go first, FIFO within a priority; a file already
        started is finished first (see the module note). Raises ValueError naming
        the argument for a bad name (see ``validate_file_name``), a name too long for
        ``max_pdu_bytes`` (see ``CfdpConfig.max_file_name_chars``), data that is not bytes
        or is over ``max_file_bytes``, or a non-int ``t_ns`` or ``priority``.
        """
        validate_file_name(name)
        if len(name) > self._cfg.max_file_name_chars():
            raise ValueError(
                f"name: expected at most {self._cfg.max_file_name_chars()} characters so its "
                f"Metadata PDU fits max_pdu_bytes={self._cfg.max_pdu_bytes}, got {len(name)}"
            )
        if not isinstance(data, bytes | bytearray | memoryview):
            raise ValueError(f"data: expected bytes, got {type(data).__name__}")
        data = bytes(data)
        if len(data) > self._cfg.max_file_bytes:
            raise ValueError(
                f"data: expected at most max_file_bytes={self._cfg.max_file_bytes} bytes, "
                f"got {len(data)}"
            )
        for arg, value in (("t_ns", t_ns), ("priority", priority)):
            if not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"{arg}: expected int, got {value!r}")
        seq = self._new_seq()
        tx = _Tx(seq, t_ns, name, data, priority, self._next_order)
        self._next_order += 1
        self._txs[seq] = tx
        self._by_put[seq] = tx
        insort(self._queue, tx)
        self._stats["puts"] += 1
        self._stats["put_bytes"] += len(data)
        return seq

    def cancel(self, seq_num: int) -> bool:
        """Cancel the put ``seq_num``; False if it is not pending.

        Not started yet: dropped at once. Started: an EOF (CANCEL_REQUEST_RECEIVED) goes
        out, and the put ends (not delivered) when the receiver acknowledges it. Best
        effort: a file the receiver completed before the cancel arrived stays delivered.
        """
        tx = self._by_put.get(seq_num)
        if tx is None:
            return False
        if tx.cancelled:
            return True
        self._stats["cancelled"] += 1
        if not tx.metadata_sent:
            self._close(tx, ConditionCode.CANCEL_REQUEST_RECEIVED, delivered=False)
            return True
        tx.cancelled = True
        tx.metadata_due = False
        tx.retx.clear()
        tx.eof_condition = ConditionCode.CANCEL_REQUEST_RECEIVED
        tx.eof_size = tx.next_offset
        tx.eof_crc = zlib.crc32(tx.data[: tx.next_offset])
        tx.eof_sent = True
        tx.eof_due = True
        tx.eof_acked = False
        tx.eof_expiries = 0
        return True

    def drain_finished(self) -> list[Finished]:
        """Puts that ended since the last call, in the order they ended."""
        out, self._finished = self._finished, []
        return out

    def pending(self) -> list[PendingTransfer]:
        """Puts not yet ended, in sending order."""
        return [
            PendingTransfer(tx.put_id, tx.seq, tx.name, tx.priority, len(tx.data),
                            tx.next_offset, tx.state, tx.put_t_ns)
            for tx in self._queue
        ]

    @property
    def rejected(self) -> Counter[str]:
        """PDUs refused, by reason (a copy)."""
        return Counter(self._rejected)

    def statistics(self) -> Mapping[str, int]:
        """Immutable snapshot of the counters."""
        snapshot = dict(self._stats)
        snapshot["active"] = len(self._queue)
        snapshot["rejected"] = sum(self._rejected.values())
        return MappingProxyType(snapshot)

    # ---- link input ------------------------------------------------------------------

    def handle(self, pdu: bytes, t_ns: int) -> None:
        """Take one PDU from the receiver. Never raises: anything malformed, not for us,
        unexpected or late is counted in ``rejected`` by reason and dropped.

        ``t_ns`` is accepted for symmetry with ``poll``; timers use link-up time, which
        only ``poll`` advances.
        """
        cfg = self._cfg
        try:
            parsed = wire.parse(pdu)
            wire.check_header(parsed, cfg.pdu_crc, cfg.source_entity_id, cfg.dest_entity_id)
        except wire.PduError as exc:
            self._rejected[exc.reason] += 1
            return
        self._stats["pdus_received"] += 1
        seq = parsed.transaction_seq_num.value
        if isinstance(parsed, FinishedPdu):
            self._on_finished(parsed, seq)
            return
        if not isinstance(parsed, NakPdu | AckPdu):
            self._rejected["unexpected_pdu"] += 1
            return
        tx = self._txs.get(seq)
        if tx is None:
            self._rejected["late" if seq in self._closed else "unknown_transaction"] += 1
            return
        tx.last_heard_up = self._clock.up_ns
        if isinstance(parsed, NakPdu):
            self._on_nak(parsed, tx)
        else:
            self._on_ack_eof(parsed, tx)

    def _on_nak(self, nak: NakPdu, tx: _Tx) -> None:
        self._stats["naks_received"] += 1
        if tx.cancelled:
            return
        for start, end in nak.segment_requests:
            self._stats["nak_segment_requests"] += 1
            if start == 0 and end == 0:
                tx.metadata_due = tx.metadata_sent
            elif start >= end or end > len(tx.data):
                self._rejected["bad_nak_range"] += 1
            else:
                # Only what was sent can be owed; the rest goes out as new data anyway.
                tx.retx.add(start, min(end, tx.next_offset))

    def _on_ack_eof(self, ack: AckPdu, tx: _Tx) -> None:
        if ack.directive_code_of_acked_pdu != DirectiveType.EOF_PDU:
            self._rejected["unexpected_pdu"] += 1
            return
        if not tx.eof_sent or ack.condition_code_of_acked_pdu != tx.eof_condition:
            self._rejected["stale_ack"] += 1
            return
        if tx.eof_acked:
            self._stats["duplicate_acks"] += 1
            return
        tx.eof_acked = True
        tx.eof_due = False
        self._stats["eof_acked"] += 1
        if tx.cancelled:
            self._close(tx, tx.eof_condition, delivered=False)

    def _on_finished(self, fin: FinishedPdu, seq: int) -> None:
        tx = self._txs.get(seq)
        if tx is not None:
            status = TransactionStatus.ACTIVE
        elif seq in self._closed:
            status = TransactionStatus.TERMINATED
        else:
            status = TransactionStatus.UNRECOGNIZED
        # Acknowledge every FINISHED: the receiver resends it until an ACK comes.
        conf = wire.pdu_conf(fin.source_entity_id, fin.dest_entity_id, fin.transaction_seq_num,
                             self._cfg.pdu_crc)
        ack = AckPdu(conf, DirectiveType.FINISHED_PDU, fin.condition_code, status)
        self._acks_finished.append(bytes(ack.pack()))
        if tx is None:
            self._rejected["late" if status == TransactionStatus.TERMINATED
                           else "unknown_transaction"] += 1
            return
        self._stats["finished_received"] += 1
        condition = ConditionCode(fin.condition_code)
        if (condition in _RETRY_CONDITIONS and not tx.cancelled
                and tx.attempts <= self._cfg.checksum_retry_limit):
            self._stats["checksum_retries"] += 1
            self._closed.add(tx.seq, condition)
            del self._txs[tx.seq]
            tx.start(self._new_seq())
            self._txs[tx.seq] = tx
            return
        delivered = (not tx.cancelled and fin.delivery_code == DeliveryCode.DATA_COMPLETE
                     and condition in _KEPT_CONDITIONS)
        self._close(tx, condition, delivered)

    # ---- link output -----------------------------------------------------------------

    def poll(self, t_ns: int, budget_bytes: int, link_up: bool, overhead_bytes: int = 0) -> list[bytes]:
        """PDUs to send now, at most ``budget_bytes`` in all (callers give at least
        ``max_pdu_bytes`` per tick during a pass); ``overhead_bytes``: what the link adds to
        each PDU (its packet header and CRC), counted too. ``link_up=False`` returns nothing and
        freezes the timers; the first poll after the link comes back resends every
        unacknowledged EOF. Raises ValueError for a bad argument (a caller bug).
        """
        if not isinstance(budget_bytes, int) or isinstance(budget_bytes, bool) or budget_bytes < 0:
            raise ValueError(f"budget_bytes: expected int >= 0, got {budget_bytes!r}")
        aos = self._clock.advance(t_ns, link_up)
        if not link_up:
            return []
        for tx in list(self._queue):
            if aos and tx.eof_sent and not tx.eof_acked:
                tx.eof_due = True
            self._run_timers(tx)
        out = _Budget(budget_bytes, overhead_bytes)
        while self._acks_finished and out.offer(self._acks_finished[0]):
            self._acks_finished.popleft()
            self._stats["acks_sent"] += 1
        for tx in self._queue:
            if out.full or not self._send_owed(tx, out):
                break
        for tx in sorted(self._queue, key=lambda tx: not tx.metadata_sent):  # stable
            if out.full or not self._send_new(tx, out):
                break
        self._stats["pdus_sent"] += len(out.pdus)
        self._stats["link_bytes_sent"] += budget_bytes - out.left_bytes
        return out.pdus

    def _run_timers(self, tx: _Tx) -> None:
        up = self._clock.up_ns
        if tx.eof_sent and not tx.eof_acked and not tx.eof_due and up >= tx.eof_deadline_up:
            tx.eof_expiries += 1
            if tx.eof_expiries >= self._cfg.ack_limit:
                self._stats["abandoned"] += 1
                self._close(tx, ConditionCode.POSITIVE_ACK_LIMIT_REACHED, delivered=False)
            else:
                tx.eof_due = True
        elif tx.eof_acked and up - tx.last_heard_up >= self._cfg.inactivity_ns:
            self._stats["abandoned"] += 1
            self._close(tx, ConditionCode.INACTIVITY_DETECTED, delivered=False)

    def _send_owed(self, tx: _Tx, out: _Budget) -> bool:
        """Resend what the receiver asked for, then a due EOF; False when out of budget."""
        seg = self._cfg.segment_bytes
        if tx.metadata_due:
            if not out.offer(self._metadata_pdu(tx)):
                return False
            tx.metadata_due = False
            self._stats["metadata_resent"] += 1
        while (first := tx.retx.first()) is not None:
            n = min(first[1] - first[0], seg)
            if not out.room(wire.file_data_overhead_bytes(self._cfg.pdu_crc) + n):
                return False
            start, end = tx.retx.take(seg)  # type: ignore[misc]
            out.add(self._file_data_pdu(tx, start, end))
            self._stats["file_bytes_resent"] += end - start
        if tx.eof_due:
            if not out.offer(self._eof_pdu(tx)):
                return False
            tx.eof_due = False
            tx.eof_deadline_up = self._clock.up_ns + self._cfg.ack_timer_ns
            self._stats["eof_resent"] += 1
        return True

    def _send_new(self, tx: _Tx, out: _Budget) -> bool:
        """Metadata, new file data and the first EOF; False when out of budget."""
        if tx.cancelled or tx.eof_sent:
            return True
        if not tx.metadata_sent:
            if not out.offer(self._metadata_pdu(tx)):
                return False
            tx.metadata_sent = True
            self._stats["metadata_sent"] += 1
        overhead = wire.file_data_overhead_bytes(self._cfg.pdu_crc)
        while tx.next_offset < len(tx.data):
            end = min(tx.next_offset + self._cfg.segment_bytes, len(tx.data))
            if not out.room(overhead + end - tx.next_offset):
                return False
            out.add(self._file_data_pdu(tx, tx.next_offset, end))
            self._stats["file_bytes_sent"] += end - tx.next_offset
            tx.next_offset = end
        if not out.offer(self._eof_pdu(tx)):
            return False
        tx.eof_sent = True
        tx.eof_deadline_up = self._clock.up_ns + self._cfg.ack_timer_ns
        self._stats["eof_sent"] += 1
        return True

    # ---- helpers ---------------------------------------------------------------------

    def _conf(self, tx: _Tx) -> PduConfig:
        cfg = self._cfg
        return wire.pdu_conf(cfg.source_entity_id, cfg.dest_entity_id, tx.seq, cfg.pdu_crc)

    def _metadata_pdu(self, tx: _Tx) -> bytes:
        params = MetadataParams(closure_requested=True, checksum_type=ChecksumType.CRC_32,
                                file_size=len(tx.data), source_file_name=tx.name,
                                dest_file_name=tx.name)
        return bytes(MetadataPdu(self._conf(tx), params).pack())

    def _file_data_pdu(self, tx: _Tx, start: int, end: int) -> bytes:
        params = FileDataParams(file_data=tx.data[start:end], offset=start)
        return bytes(FileDataPdu(self._conf(tx), params).pack())

    def _eof_pdu(self, tx: _Tx) -> bytes:
        eof = EofPdu(self._conf(tx), file_checksum=tx.eof_crc, file_size=tx.eof_size,
                     condition_code=tx.eof_condition)
        return bytes(eof.pack())

    def _new_seq(self) -> int:
        seq = self._next_seq
        while seq in self._txs:
            seq = seq + 1 if seq < _MAX_SEQ else 0
        self._next_seq = seq + 1 if seq < _MAX_SEQ else 0
        return seq

    def _close(self, tx: _Tx, condition: ConditionCode, delivered: bool) -> None:
        del self._txs[tx.seq]
        del self._by_put[tx.put_id]
        self._queue.remove(tx)
        self._closed.add(tx.seq, condition)
        self._stats["files_delivered" if delivered else "files_not_delivered"] += 1
        self._finished.append(
            Finished(tx.put_id, tx.name, condition, delivered, tx.seq, tx.attempts)
        )
