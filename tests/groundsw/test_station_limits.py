"""The station's CFDP answers go up in telecommands: the longest NAK it can build must fit one."""

from __future__ import annotations

from flightsw.icd.cfdp import CfdpConfig, FileReceiver, FileSender
from flightsw.icd.linkauth import LinkKey
from flightsw.icd.spacelink import APIDS, MAX_TC_BYTES, TcSigner, encode_tc
from groundsw.station import MAX_UPLINK_PDU_BYTES

S = 1_000_000_000


def test_a_nak_listing_every_other_segment_of_a_big_file_goes_up_in_telecommands() -> None:
    cfg = CfdpConfig(segment_bytes=256, max_pdu_bytes=1024)
    ground = CfdpConfig(segment_bytes=4096, max_pdu_bytes=MAX_UPLINK_PDU_BYTES)
    sender = FileSender(cfg)
    sender.put("results/big.result", bytes(range(256)) * 4096, 0)  # 1 MiB: 4096 segments, 2048 gaps: 16 KiB of NAK
    receiver = FileReceiver(ground, lambda name, data: 0)
    pdus = sender.poll(S, 10**9, True)
    for i, pdu in enumerate(pdus):
        if i % 2 == 0 or i == len(pdus) - 1:  # every other segment lost, the EOF arrives
            receiver.handle(pdu, S)
    answers = receiver.poll(2 * S, True)
    assert len(answers) >= 2, "expected the ACK of the EOF and NAKs split over several PDUs"
    signer = TcSigner(LinkKey(1, b"k" * 32))
    for pdu in answers:
        assert len(pdu) <= MAX_UPLINK_PDU_BYTES
        assert len(encode_tc(pdu, apid=APIDS["comms"], seq_count=0, signer=signer)) <= MAX_TC_BYTES
