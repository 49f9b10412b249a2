"""CFDP class 2 engine, one behaviour per test, on a virtual clock (integer ``t_ns``).

``Loop`` runs a FileSender and a FileReceiver in lockstep as the hub would (DESIGN.md §3):
what one end sends at tick k the other handles at tick k+1. Faults are injected by
filters on the PDU bytes between the ends, never by patching the engine.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from types import MappingProxyType

import pytest
from spacepackets.cfdp import ChecksumType, ConditionCode, DeliveryCode, FileStatus
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

from flightsw.icd.cfdp import (
    CfdpConfig,
    FileReceiver,
    FileSender,
    Finished,
    validate_file_name,
    wire,
)
from flightsw.icd.cfdp.config import NS_PER_S

NAME = "results/job-1.bin"
HOUR_NS = 3600 * NS_PER_S
Filter = Callable[[bytes], bytes | None]


def payload(n_bytes: int, seed: int = 1) -> bytes:
    return random.Random(seed).randbytes(n_bytes)


def kind(pdu: bytes) -> str:
    """What a PDU is, for filters and assertions."""
    parsed = wire.parse(pdu)
    if isinstance(parsed, AckPdu):
        return ("ack_eof" if parsed.directive_code_of_acked_pdu == DirectiveType.EOF_PDU
                else "ack_finished")
    return {MetadataPdu: "metadata", FileDataPdu: "file_data", EofPdu: "eof", NakPdu: "nak",
            FinishedPdu: "finished"}[type(parsed)]


class Drop:
    """Drop the PDUs of one kind whose occurrence index is in ``which`` (None: all)."""

    def __init__(self, pdu_kind: str, which: set[int] | None = frozenset({0})) -> None:
        self.kind = pdu_kind
        self.which = which
        self.seen = 0
        self.dropped: list[bytes] = []

    def __call__(self, pdu: bytes) -> bytes | None:
        if kind(pdu) != self.kind:
            return pdu
        index, self.seen = self.seen, self.seen + 1
        if self.which is None or index in self.which:
            self.dropped.append(pdu)
            return None
        return pdu


def chain(*filters: Filter) -> Filter:
    def run(pdu: bytes) -> bytes | None:
        for f in filters:
            pdu = f(pdu)
            if pdu is None:
                return None
        return pdu
    return run


def corrupt_file_data(pdu: bytes) -> bytes:
    """The same FileData PDU with one data bit flipped and a valid PDU CRC: corruption
    that no lower layer caught (only the file CRC-32 can)."""
    parsed = wire.parse(pdu)
    data = bytearray(parsed.file_data)
    data[0] ^= 0x01
    conf = wire.pdu_conf(parsed.source_entity_id, parsed.dest_entity_id,
                         parsed.transaction_seq_num, crc=True)
    return bytes(FileDataPdu(conf, FileDataParams(bytes(data), parsed.offset)).pack())


class Loop:
    """A sender and a receiver stepped in lockstep, one tick of latency each way."""

    def __init__(self, config: CfdpConfig | None = None, budget_bytes: int = 1_000_000,
                 accept: Callable[[str, bytes], ConditionCode] | None = None,
                 tick_ns: int = NS_PER_S) -> None:
        self.config = config or CfdpConfig()
        self.accepted: list[tuple[str, bytes]] = []
        self._accept_fn = accept
        self.sender = FileSender(self.config)
        self.receiver = FileReceiver(self.config, self._accept)
        self.budget_bytes = budget_bytes
        self.tick_ns = tick_ns
        self.t_ns = 0
        self.tick = 0
        self.down_filter: Filter = lambda pdu: pdu
        self.up_filter: Filter = lambda pdu: pdu
        self.down_log: list[tuple[int, bytes]] = []  # (tick, PDU) everything the sender sent
        self.up_log: list[tuple[int, bytes]] = []
        self.finished: list[Finished] = []
        self._to_receiver: list[bytes] = []
        self._to_sender: list[bytes] = []

    def _accept(self, name: str, data: bytes) -> ConditionCode:
        self.accepted.append((name, data))
        return ConditionCode.NO_ERROR if self._accept_fn is None else self._accept_fn(name, data)

    def step(self, link_up: bool = True) -> None:
        t = self.t_ns
        if link_up:
            for pdu in self._to_sender:
                self.sender.handle(pdu, t)
            for pdu in self._to_receiver:
                self.receiver.handle(pdu, t)
        self._to_sender, self._to_receiver = [], []  # at LOS whatever flies is lost
        down = self.sender.poll(t, self.budget_bytes, link_up)
        up = self.receiver.poll(t, link_up)
        assert sum(map(len, down)) <= self.budget_bytes, "sender exceeded its budget"
        for pdu in down:
            self.down_log.append((self.tick, pdu))
            if (kept := self.down_filter(pdu)) is not None:
                self._to_receiver.append(kept)
        for pdu in up:
            self.up_log.append((self.tick, pdu))
            if (kept := self.up_filter(pdu)) is not None:
                self._to_sender.append(kept)
        self.finished += self.sender.drain_finished()
        self.t_ns += self.tick_ns
        self.tick += 1

    def run(self, ticks: int, link_up: bool = True) -> None:
        for _ in range(ticks):
            self.step(link_up)

    def gap(self, duration_ns: int) -> None:
        """Loss of signal for ``duration_ns``: one poll with the link down, then time jumps."""
        self.step(link_up=False)
        self.t_ns += duration_ns

    def run_until_idle(self, max_ticks: int = 300) -> None:
        for _ in range(max_ticks):
            self.step()
            if (not self.sender.pending() and self.receiver.active() == 0
                    and not self._to_sender and not self._to_receiver):
                return
        raise AssertionError(f"not idle after {max_ticks} ticks: sender {self.sender.pending()},"
                             f" receiver active {self.receiver.active()}")

    def sent(self, pdu_kind: str, log: str = "down") -> list[tuple[int, bytes]]:
        entries = self.down_log if log == "down" else self.up_log
        return [(tick, pdu) for tick, pdu in entries if kind(pdu) == pdu_kind]


def delivered_once(loop: Loop, name: str, data: bytes) -> Finished:
    assert loop.accepted == [(name, data)], "file not accepted exactly once, byte-identical"
    assert len(loop.finished) == 1, f"expected one Finished, got {loop.finished}"
    fin = loop.finished[0]
    assert fin.delivered and fin.condition == ConditionCode.NO_ERROR, fin
    return fin


# ---- clean transfer and recovery from each kind of loss ----------------------------------


def test_clean_transfer_delivers_byte_identical_file_and_closes_both_ends():
    loop = Loop()
    data = payload(50_000)
    seq = loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    fin = delivered_once(loop, NAME, data)
    assert (fin.seq_num, fin.transaction_seq_num, fin.attempts) == (seq, seq, 1)
    stats = loop.sender.statistics()
    assert stats["file_bytes_sent"] == len(data) and stats.get("file_bytes_resent", 0) == 0
    assert loop.sender.rejected == {} and loop.receiver.rejected == {}
    assert [kind(p) for _, p in loop.down_log].count("file_data") == 7  # ceil(50000 / 8192)


def test_empty_file_is_delivered_with_metadata_and_eof_only():
    loop = Loop()
    loop.sender.put("logs/empty.log", b"", t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, "logs/empty.log", b"")
    assert loop.sent("file_data") == []


def test_lost_segment_is_naked_and_resent_byte_identical():
    loop = Loop()
    drop = Drop("file_data", {2})
    loop.down_filter = drop
    data = payload(50_000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    naks = [wire.parse(p) for _, p in loop.sent("nak", log="up")]
    assert naks and naks[0].segment_requests == [(2 * 8192, 3 * 8192)], "NAK names the gap"
    assert loop.sender.statistics()["file_bytes_resent"] == 8192


def test_lost_metadata_is_naked_and_resent():
    loop = Loop()
    loop.down_filter = Drop("metadata")
    data = payload(20_000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    assert (0, 0) in wire.parse(loop.sent("nak", log="up")[0][1]).segment_requests
    assert loop.sender.statistics()["metadata_resent"] == 1


def test_lost_eof_is_resent_when_the_ack_timer_expires():
    loop = Loop()
    loop.down_filter = Drop("eof")
    data = payload(10_000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    eof_ticks = [tick for tick, _ in loop.sent("eof")]
    assert eof_ticks[1] - eof_ticks[0] == 10, "EOF resent after ack_timer_ns (10 ticks)"


def test_lost_ack_of_eof_does_not_stall_the_transfer():
    # cfdp-py 0.7.0 stalls here; the FINISHED that follows closes ours.
    loop = Loop()
    loop.up_filter = Drop("ack_eof", which=None)
    data = payload(10_000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    assert loop.sender.statistics().get("eof_acked", 0) == 0, "no ACK(EOF) ever arrived"


def test_lost_finished_is_resent_until_acknowledged_and_accept_runs_once():
    loop = Loop()
    loop.up_filter = Drop("finished", {0, 1})
    data = payload(10_000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    assert len(loop.sent("finished", log="up")) == 3
    assert loop.receiver.statistics()["finished_resent"] == 2


def test_repeated_finished_after_close_is_acknowledged_again():
    loop = Loop()
    loop.down_filter = Drop("ack_finished")
    data = payload(10_000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    acks = [wire.parse(p) for _, p in loop.sent("ack_finished")]
    assert [a.transaction_status for a in acks] == [TransactionStatus.ACTIVE,
                                                    TransactionStatus.TERMINATED]
    assert loop.sender.rejected["late"] == 1


def test_late_eof_of_a_closed_transaction_is_acknowledged_as_terminated():
    loop = Loop()
    loop.sender.put(NAME, payload(1000), t_ns=0)
    loop.run_until_idle()
    eof = loop.sent("eof")[0][1]
    loop.receiver.handle(eof, loop.t_ns)
    (ack,) = [wire.parse(p) for p in loop.receiver.poll(loop.t_ns, True)]
    assert isinstance(ack, AckPdu) and ack.transaction_status == TransactionStatus.TERMINATED
    assert len(loop.accepted) == 1


# ---- passes ----------------------------------------------------------------------------


def test_los_mid_transfer_resumes_on_the_next_pass_without_restarting():
    loop = Loop(budget_bytes=4 * 9000)
    data = payload(40 * 8192)
    seq = loop.sender.put(NAME, data, t_ns=0)
    loop.run(5)  # pass 1 ends with the transfer half done
    sent_in_pass_1 = loop.sender.pending()[0].sent_bytes
    assert 0 < sent_in_pass_1 < len(data)
    loop.gap(5 * HOUR_NS)
    loop.run_until_idle()
    fin = delivered_once(loop, NAME, data)
    assert (fin.transaction_seq_num, fin.attempts) == (seq, 1), "same transaction resumed"
    stats = loop.sender.statistics()
    assert stats["file_bytes_sent"] == len(data), "new data sent once: no restart from zero"
    assert stats["file_bytes_resent"] <= 4 * 8192, "only what was in flight at LOS is resent"


def test_the_receiver_shows_each_transfer_in_flight_with_its_progress_until_it_closes():
    loop = Loop(budget_bytes=4 * 9000)
    data = payload(40 * 8192)
    seq = loop.sender.put(NAME, data, t_ns=0)
    assert loop.receiver.in_flight() == []
    loop.run(3)
    (row,) = loop.receiver.in_flight()
    got_1 = row[3]
    assert row[:3] == (seq, NAME, len(data)) and row[4] == "receiving"
    assert 0 < got_1 < len(data), "part of the file is in"
    loop.run(3)
    assert got_1 < loop.receiver.in_flight()[0][3] <= len(data), "the count grows as segments arrive"
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    assert loop.receiver.in_flight() == [], "a closed transaction is no longer in flight"


def test_unacknowledged_eof_is_resent_at_aos_and_the_gap_does_not_count_against_ack_limit():
    loop = Loop(CfdpConfig(ack_limit=1))  # a single timer expiry would abandon
    loop.down_filter = lambda pdu: None  # pass 1: nothing arrives
    data = payload(5000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.step()
    loop.down_filter = lambda pdu: pdu
    loop.gap(3 * HOUR_NS)
    aos_tick = loop.tick
    loop.run_until_idle()
    assert aos_tick in [tick for tick, _ in loop.sent("eof")], "EOF resent on the AOS poll"
    delivered_once(loop, NAME, data)
    assert loop.sender.statistics().get("abandoned", 0) == 0


def test_unacknowledged_finished_is_resent_at_aos_and_the_gap_does_not_count():
    loop = Loop(CfdpConfig(ack_limit=1))
    loop.up_filter = Drop("finished")
    data = payload(5000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run(3)  # the FINISHED went out at tick 2 and was lost
    loop.gap(3 * HOUR_NS)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    assert loop.receiver.statistics().get("abandoned", 0) == 0


# ---- NAK splitting ---------------------------------------------------------------------


def test_nak_of_5000_gaps_is_split_into_pdus_that_fit_max_pdu_bytes():
    config = CfdpConfig(segment_bytes=64, max_pdu_bytes=600)
    loop = Loop(config)
    seen_offsets: set[int] = set()

    def drop_odd_segments_once(pdu: bytes) -> bytes | None:
        parsed = wire.parse(pdu)
        if isinstance(parsed, FileDataPdu) and parsed.offset not in seen_offsets:
            seen_offsets.add(parsed.offset)
            if (parsed.offset // 64) % 2:
                return None
        return pdu

    loop.down_filter = drop_odd_segments_once
    data = payload(10_000 * 64)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    delivered_once(loop, NAME, data)
    first_tick = loop.sent("nak", log="up")[0][0]
    naks = [p for tick, p in loop.sent("nak", log="up") if tick == first_tick]
    assert max(map(len, naks)) <= 600, "NAK split to fit max_pdu_bytes"
    assert len(naks) == -(-5000 // config.max_nak_requests()) > 1, "as few PDUs as fit"
    parsed = [wire.parse(p) for p in naks]
    requests = [r for nak in parsed for r in nak.segment_requests]
    assert requests == [(o, o + 64) for o in range(64, len(data), 128)], "all 5000 gaps"
    assert parsed[0].start_of_scope == 0 and parsed[-1].end_of_scope == len(data)
    for before, after in zip(parsed, parsed[1:], strict=False):
        assert after.start_of_scope == before.end_of_scope, "scopes follow each other"
    assert loop.sender.statistics()["file_bytes_resent"] == 5000 * 64


# ---- file names --------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["a", "results/job-1.bin", "logs/2024.01.01_x-y.log",
                                  "x" * 255, "a/b/c/d"])
def test_safe_file_names_are_accepted(name):
    assert validate_file_name(name) == name


@pytest.mark.parametrize("name", ["../x", "/etc/x", "a/../../b", "~", "~/x", "", "a\x00b",
                                  "a\\b", "a//b", "./a", "a/.", "a/", "x" * 256, "é.bin",
                                  "a b", None, b"bytes"])
def test_unsafe_file_names_are_rejected_naming_expected_and_got(name):
    with pytest.raises(ValueError, match=r"file name: expected .*got"):
        validate_file_name(name)


def metadata_pdu(dest_name: str | None, seq: int = 7, size: int = 10,
                 checksum: ChecksumType = ChecksumType.CRC_32) -> bytes:
    conf = wire.pdu_conf(1, 2, seq, crc=True)
    params = MetadataParams(closure_requested=True, checksum_type=checksum, file_size=size,
                            source_file_name="src", dest_file_name=dest_name)
    return bytes(MetadataPdu(conf, params).pack())


@pytest.mark.parametrize("dest_name", ["../x", "/etc/x", "a/../../b", "~", None, "a\x00b"])
def test_receiver_refuses_unsafe_name_with_filestore_rejection_and_never_accepts(dest_name):
    accepted = []
    receiver = FileReceiver(CfdpConfig(), lambda n, d: accepted.append(n) or 0)
    receiver.handle(metadata_pdu(dest_name), 0)
    (fin,) = [wire.parse(p) for p in receiver.poll(0, True)]
    assert isinstance(fin, FinishedPdu)
    assert fin.condition_code == ConditionCode.FILESTORE_REJECTION
    assert fin.delivery_code == DeliveryCode.DATA_INCOMPLETE
    assert fin.file_status == FileStatus.DISCARDED_FILESTORE_REJECTION
    assert receiver.rejected["bad_file_name"] == 1 and accepted == []


def test_receiver_refuses_metadata_over_max_file_bytes():
    receiver = FileReceiver(CfdpConfig(max_file_bytes=1000), lambda n, d: 0)
    receiver.handle(metadata_pdu("ok.bin", size=1001), 0)
    (fin,) = [wire.parse(p) for p in receiver.poll(0, True)]
    assert fin.condition_code == ConditionCode.FILESTORE_REJECTION
    assert receiver.rejected["file_too_large"] == 1


def test_receiver_refuses_a_checksum_type_other_than_crc32():
    receiver = FileReceiver(CfdpConfig(), lambda n, d: 0)
    receiver.handle(metadata_pdu("ok.bin", checksum=ChecksumType.MODULAR), 0)
    (fin,) = [wire.parse(p) for p in receiver.poll(0, True)]
    assert fin.condition_code == ConditionCode.UNSUPPORTED_CHECKSUM_TYPE


def test_sender_refuses_bad_put_arguments_naming_them():
    sender = FileSender(CfdpConfig(max_file_bytes=10))
    with pytest.raises(ValueError, match="file name"):
        sender.put("../x", b"a", t_ns=0)
    with pytest.raises(ValueError, match="data: expected at most max_file_bytes=10 bytes, got 11"):
        sender.put("a", b"x" * 11, t_ns=0)
    with pytest.raises(ValueError, match="data: expected bytes, got str"):
        sender.put("a", "text", t_ns=0)
    with pytest.raises(ValueError, match="priority: expected int"):
        sender.put("a", b"x", t_ns=0, priority=1.5)
    assert sender.pending() == []


def test_put_refuses_a_name_whose_metadata_pdu_would_not_fit_max_pdu_bytes():
    config = CfdpConfig(segment_bytes=64, max_pdu_bytes=200)
    longest = config.max_file_name_chars()
    assert longest == (200 - wire.metadata_pdu_bytes(0, 0, crc=True)) // 2
    sender = FileSender(config)
    with pytest.raises(ValueError, match=rf"name: expected at most {longest} .*got {longest + 1}"):
        sender.put("x" * (longest + 1), b"data", t_ns=0)
    sender.put("x" * longest, b"data", t_ns=0)
    (metadata,) = sender.poll(0, 1000, True)[:1]
    assert len(metadata) <= 200 and kind(metadata) == "metadata"


# ---- outcomes ----------------------------------------------------------------------------


def test_filestore_rejection_by_accept_reaches_the_senders_drain_finished():
    loop = Loop(accept=lambda name, data: ConditionCode.FILESTORE_REJECTION)
    data = payload(3000)
    loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    assert loop.accepted == [(NAME, data)]
    (fin,) = loop.finished
    assert fin.condition == ConditionCode.FILESTORE_REJECTION
    assert fin.delivered, "the file arrived intact; the ground refused its content"
    assert loop.receiver.statistics()["files_refused"] == 1


def test_checksum_failure_is_never_accepted_and_the_sender_retries_with_a_fresh_transaction():
    loop = Loop()
    corrupt_first = {"done": False}

    def corrupt_once(pdu: bytes) -> bytes:
        if kind(pdu) == "file_data" and not corrupt_first["done"]:
            corrupt_first["done"] = True
            return corrupt_file_data(pdu)
        return pdu

    loop.down_filter = corrupt_once
    data = payload(30_000)
    seq = loop.sender.put(NAME, data, t_ns=0)
    loop.run_until_idle()
    fin = delivered_once(loop, NAME, data)
    assert fin.attempts == 2 and fin.seq_num == seq and fin.transaction_seq_num != seq
    assert loop.receiver.statistics()["checksum_failures"] == 1
    conditions = [wire.parse(p).condition_code for _, p in loop.sent("finished", log="up")]
    assert conditions == [ConditionCode.FILE_CHECKSUM_FAILURE, ConditionCode.NO_ERROR]


def test_persistent_checksum_failure_ends_undelivered_after_the_retry_limit():
    loop = Loop(CfdpConfig(checksum_retry_limit=1))
    loop.down_filter = lambda pdu: corrupt_file_data(pdu) if kind(pdu) == "file_data" else pdu
    loop.sender.put(NAME, payload(3000), t_ns=0)
    loop.run_until_idle()
    assert loop.accepted == [], "corrupt data must never reach accept"
    (fin,) = loop.finished
    assert (fin.condition, fin.delivered, fin.attempts) == (
        ConditionCode.FILE_CHECKSUM_FAILURE, False, 2)


def test_accept_that_raises_is_retried_and_the_file_accepted_once():
    calls = []

    def flaky(name: str, data: bytes) -> ConditionCode:
        calls.append(name)
        if len(calls) == 1:
            raise OSError("disk full")
        return ConditionCode.NO_ERROR

    loop = Loop(accept=flaky)
    loop.sender.put(NAME, payload(100), t_ns=0)
    loop.run_until_idle()
    assert len(calls) == 2 and loop.finished[0].delivered
    assert loop.receiver.statistics()["accept_errors"] == 1


def test_sender_abandons_at_ack_limit_when_no_ack_comes():
    loop = Loop(CfdpConfig(ack_limit=3))
    loop.up_filter = lambda pdu: None  # the ground never answers
    loop.sender.put(NAME, payload(100), t_ns=0)
    loop.run(40)
    (fin,) = loop.finished
    assert (fin.condition, fin.delivered) == (ConditionCode.POSITIVE_ACK_LIMIT_REACHED, False)
    assert len(loop.sent("eof")) == 3, "EOF sent once, then resent at ack_limit - 1 expiries"
    assert loop.sender.pending() == []


def test_receiver_gives_up_an_inactive_transaction_and_tells_the_sender():
    loop = Loop(CfdpConfig(inactivity_ns=60 * NS_PER_S))
    loop.down_filter = lambda pdu: pdu if kind(pdu) == "metadata" else None
    loop.sender.put(NAME, payload(100), t_ns=0)
    loop.run(70)
    (fin,) = loop.finished
    assert (fin.condition, fin.delivered) == (ConditionCode.INACTIVITY_DETECTED, False)
    assert loop.receiver.statistics()["inactivity"] == 1


def test_cancel_before_start_ends_at_once_and_sends_nothing():
    loop = Loop()
    seq = loop.sender.put(NAME, payload(100), t_ns=0)
    assert loop.sender.cancel(seq) and not loop.sender.cancel(seq + 99)
    loop.run(3)
    assert loop.down_log == []
    (fin,) = loop.finished
    assert (fin.condition, fin.delivered) == (ConditionCode.CANCEL_REQUEST_RECEIVED, False)


def test_cancel_mid_transfer_sends_eof_cancel_and_the_receiver_discards_the_file():
    loop = Loop(budget_bytes=2 * 9000)
    seq = loop.sender.put(NAME, payload(20 * 8192), t_ns=0)
    loop.run(3)
    assert loop.sender.cancel(seq)
    loop.run_until_idle()
    assert loop.accepted == []
    (fin,) = loop.finished
    assert (fin.condition, fin.delivered) == (ConditionCode.CANCEL_REQUEST_RECEIVED, False)
    eofs = [wire.parse(p) for _, p in loop.sent("eof")]
    assert eofs[-1].condition_code == ConditionCode.CANCEL_REQUEST_RECEIVED
    assert loop.receiver.statistics()["cancelled_by_sender"] == 1


# ---- ordering, budget, bounds ------------------------------------------------------------


def test_lower_priority_number_goes_first_fifo_within_and_a_started_file_is_finished_first():
    loop = Loop(budget_bytes=9000)
    loop.sender.put("a.bin", payload(3 * 8192), t_ns=0, priority=5)
    loop.sender.put("b.bin", payload(100), t_ns=0, priority=1)
    loop.sender.put("c.bin", payload(100), t_ns=0, priority=1)
    loop.run(3)  # b and c done, a started
    loop.sender.put("d.bin", payload(100), t_ns=0, priority=0)
    loop.run_until_idle()
    order = [wire.parse(p).dest_file_name for _, p in loop.sent("metadata")]
    assert order == ["b.bin", "c.bin", "a.bin", "d.bin"]


def test_poll_never_exceeds_the_budget_and_sends_nothing_when_the_first_pdu_does_not_fit():
    sender = FileSender(CfdpConfig())
    sender.put(NAME, payload(100_000), t_ns=0)
    assert sender.poll(0, 20, True) == [], "a Metadata PDU is longer than 20 bytes"
    for t in range(1, 30):
        pdus = sender.poll(t * NS_PER_S, 20_000, True)
        assert sum(map(len, pdus)) <= 20_000
    assert sender.poll(31 * NS_PER_S, 1_000_000, False) == [], "link down: nothing sent"


def test_receiver_bounds_open_transactions():
    receiver = FileReceiver(CfdpConfig(max_transactions=2), lambda n, d: 0)
    for seq in (1, 2, 3):
        receiver.handle(metadata_pdu("f.bin", seq=seq), 0)
    assert receiver.active() == 2 and receiver.rejected["too_many_transactions"] == 1


def test_statistics_are_an_immutable_snapshot():
    loop = Loop()
    loop.sender.put(NAME, payload(100), t_ns=0)
    loop.run_until_idle()
    for stats in (loop.sender.statistics(), loop.receiver.statistics()):
        assert isinstance(stats, MappingProxyType)
        with pytest.raises(TypeError):
            stats["active"] = 5  # type: ignore[index]
    assert loop.sender.statistics()["files_delivered"] == 1


# ---- wire and config -------------------------------------------------------------------


def test_eof_cancel_condition_is_normalised_after_parsing():
    conf = wire.pdu_conf(1, 2, 3, crc=True)
    raw = bytes(EofPdu(conf, 0, 0, condition_code=ConditionCode.CANCEL_REQUEST_RECEIVED).pack())
    assert EofPdu.unpack(raw).condition_code == 240, "the spacepackets 0.32.0 defect"
    assert wire.parse(raw).condition_code == ConditionCode.CANCEL_REQUEST_RECEIVED


def test_parse_refuses_trailing_bytes_and_flipped_crc():
    raw = bytes(FileDataPdu(wire.pdu_conf(1, 2, 3, crc=True),
                            FileDataParams(b"abc", 0)).pack())
    with pytest.raises(wire.PduError, match="length_mismatch"):
        wire.parse(raw + b"x")
    flipped = bytearray(raw)
    flipped[-3] ^= 0x10
    with pytest.raises(wire.PduError, match="pdu_crc"):
        wire.parse(bytes(flipped))


@pytest.mark.parametrize(("kwargs", "message"), [
    ({"segment_bytes": 0}, r"CfdpConfig.segment_bytes: expected >= 1, got 0"),
    ({"max_pdu_bytes": 8000}, r"CfdpConfig.max_pdu_bytes: expected 8210..65547 .*got 8000"),
    ({"max_pdu_bytes": 70_000}, r"CfdpConfig.max_pdu_bytes: expected 8210..65547 .*got 70000"),
    ({"dest_entity_id": 1}, r"CfdpConfig.dest_entity_id: expected an id other than"),
    ({"source_entity_id": 70000}, r"CfdpConfig.source_entity_id: expected 0..65535, got 70000"),
    ({"ack_limit": True}, r"CfdpConfig.ack_limit: expected int, got True"),
    ({"pdu_crc": 1}, r"CfdpConfig.pdu_crc: expected bool, got 1"),
    ({"max_file_bytes": 2**32}, r"CfdpConfig.max_file_bytes: expected 0..4294967295"),
])
def test_config_errors_name_the_field_expected_and_got(kwargs, message):
    with pytest.raises(ValueError, match=message):
        CfdpConfig(**kwargs)
