"""Configuration of the CFDP class 2 engine and the file-name rule both ends apply.

Fixed choices (not configurable, since both ends of our own link must agree and nothing
gains from varying them): entity ids travel as 2 bytes, transaction sequence numbers as
4 bytes, file sizes as 32-bit fields (``LargeFileFlag.NORMAL``), and the file checksum is
CRC-32 of IEEE 802.3 (``zlib.crc32``; CFDP checksum type 3, ``ChecksumType.CRC_32``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, fields

from spacepackets.cfdp import ChecksumType
from spacepackets.cfdp.pdu.nak import get_max_seg_reqs_for_max_packet_size_and_pdu_cfg

from flightsw.icd.cfdp import wire

__all__ = [
    "CHECKSUM_TYPE",
    "ENTITY_ID_BYTES",
    "MAX_FILE_NAME_CHARS",
    "NS_PER_S",
    "SEQ_NUM_BYTES",
    "CfdpConfig",
    "validate_file_name",
]

NS_PER_S = 1_000_000_000
ENTITY_ID_BYTES = wire.ENTITY_ID_BYTES
SEQ_NUM_BYTES = wire.SEQ_NUM_BYTES
CHECKSUM_TYPE = ChecksumType.CRC_32
MAX_FILE_NAME_CHARS = 255  # a CFDP LV field holds at most 255 octets
_MAX_ENTITY_ID = 2 ** (8 * ENTITY_ID_BYTES) - 1
_MAX_FSS = 2**32 - 1  # largest size a 32-bit file-size field can state
_MAX_PDU_DATA_FIELD_BYTES = 2**16 - 1  # the PDU header's 16-bit length field
_COMPONENT = re.compile(r"[A-Za-z0-9._-]+")


def validate_file_name(name: object) -> str:
    """Return ``name`` if it is a safe relative POSIX path, else raise ValueError.

    Safe: a ``str`` of 1..255 characters, made of ``/``-separated components of
    ``[A-Za-z0-9._-]`` only, no empty component, no ``.`` or ``..``, not starting with
    ``/`` or ``~``, no NUL and no backslash. The receiver applies this to every Metadata
    PDU before it touches anything, because a name from the link is attacker-controlled
    (cfdp-py's RestrictedFilestore lets ``../`` escape its root).
    """
    if not isinstance(name, str):
        raise ValueError(f"file name: expected str, got {type(name).__name__}")
    if not 1 <= len(name) <= MAX_FILE_NAME_CHARS:
        raise ValueError(
            f"file name: expected 1..{MAX_FILE_NAME_CHARS} characters, got {len(name)}"
        )
    if "\x00" in name or "\\" in name:
        raise ValueError(f"file name: expected no NUL or backslash, got {name!r}")
    if name[0] in "/~":
        raise ValueError(f"file name: expected a relative path (no leading '/' or '~'), got {name!r}")
    for component in name.split("/"):
        if component in ("", ".", ".."):
            raise ValueError(
                f"file name: expected no empty, '.' or '..' component, got {name!r}"
            )
        if not _COMPONENT.fullmatch(component):
            raise ValueError(
                f"file name: expected components of [A-Za-z0-9._-] only, got {name!r}"
            )
    return name


@dataclass(frozen=True)
class CfdpConfig:
    """Parameters shared by :class:`FileSender` and :class:`FileReceiver`; validated on build.

    Times are link-up time [ns]: timers only run while the link is up (see
    ``flightsw.icd.cfdp.clock``), so a transfer may span passes hours apart.

    - ``segment_bytes``: file data per FileData PDU.
    - ``max_pdu_bytes``: no PDU either end builds is longer (NAKs are split to fit); must
      hold a full FileData PDU and a NAK with one segment request. It also bounds file
      names: ``FileSender.put`` refuses a name whose Metadata PDU (which carries the
      name twice, as source and destination) would not fit.
    - ``ack_timer_ns`` / ``ack_limit``: EOF (sender) and FINISHED (receiver) are resent
      every ``ack_timer_ns`` until acknowledged; at the ``ack_limit``-th expiry the
      transaction is abandoned with POSITIVE_ACK_LIMIT_REACHED.
    - ``nak_timer_ns``: the receiver re-NAKs outstanding gaps this often.
    - ``inactivity_ns``: either end gives up a transaction it heard nothing of for this long.
    - ``max_file_bytes``: bigger files are refused (receiver memory is bounded by it).
    - ``checksum_retry_limit``: fresh transactions the sender starts for a file the
      receiver reported with FILE_CHECKSUM_FAILURE or FILE_SIZE_ERROR.
    - ``pdu_crc``: PDUs carry the optional CFDP CRC-16 and PDUs without it are refused,
      so a corrupted PDU that slipped past the lower layer cannot rename a file (the file
      CRC-32 covers the data, not the name in the Metadata PDU).
    - ``max_transactions``: receiver transactions open at once (memory bound).
    - ``closed_memory``: closed transactions each end remembers, to answer late PDUs.
    """

    source_entity_id: int = 1
    dest_entity_id: int = 2
    segment_bytes: int = 8192
    max_pdu_bytes: int = 9000
    ack_timer_ns: int = 10 * NS_PER_S
    ack_limit: int = 1000
    nak_timer_ns: int = 10 * NS_PER_S
    inactivity_ns: int = 3600 * NS_PER_S
    max_file_bytes: int = 64 * 1024 * 1024
    checksum_retry_limit: int = 3
    pdu_crc: bool = True
    max_transactions: int = 64
    closed_memory: int = 65_536

    def __post_init__(self) -> None:
        for f in fields(self):
            value = getattr(self, f.name)
            if f.name == "pdu_crc":
                if not isinstance(value, bool):
                    raise ValueError(f"CfdpConfig.pdu_crc: expected bool, got {value!r}")
            elif not isinstance(value, int) or isinstance(value, bool):
                raise ValueError(f"CfdpConfig.{f.name}: expected int, got {value!r}")
        for name in ("source_entity_id", "dest_entity_id"):
            _check_range(name, getattr(self, name), 0, _MAX_ENTITY_ID)
        if self.source_entity_id == self.dest_entity_id:
            raise ValueError(
                "CfdpConfig.dest_entity_id: expected an id other than source_entity_id "
                f"{self.source_entity_id}, got {self.dest_entity_id}"
            )
        for name in ("segment_bytes", "ack_timer_ns", "ack_limit", "nak_timer_ns",
                     "inactivity_ns", "max_transactions", "closed_memory"):
            _check_range(name, getattr(self, name), 1, None)
        _check_range("max_file_bytes", self.max_file_bytes, 0, _MAX_FSS)
        _check_range("checksum_retry_limit", self.checksum_retry_limit, 0, None)
        need = max(self.segment_bytes + wire.file_data_overhead_bytes(self.pdu_crc),
                   wire.nak_pdu_bytes(1, self.pdu_crc))
        most = wire.header_bytes() + _MAX_PDU_DATA_FIELD_BYTES
        if not need <= self.max_pdu_bytes <= most:
            raise ValueError(
                f"CfdpConfig.max_pdu_bytes: expected {need}..{most} (a FileData PDU of "
                f"segment_bytes={self.segment_bytes} and a one-request NAK must fit, and the "
                f"PDU length field is 16 bits), got {self.max_pdu_bytes}"
            )

    def max_file_name_chars(self) -> int:
        """Longest name whose Metadata PDU fits ``max_pdu_bytes`` (at most 255)."""
        empty = wire.metadata_pdu_bytes(0, 0, self.pdu_crc)
        return min(MAX_FILE_NAME_CHARS, (self.max_pdu_bytes - empty) // 2)

    def max_nak_requests(self) -> int:
        """Segment requests that fit in one NAK PDU of at most ``max_pdu_bytes``."""
        conf = wire.pdu_conf(self.source_entity_id, self.dest_entity_id, 0, self.pdu_crc)
        return get_max_seg_reqs_for_max_packet_size_and_pdu_cfg(self.max_pdu_bytes, conf)


def _check_range(name: str, value: int, lo: int, hi: int | None) -> None:
    if value < lo or (hi is not None and value > hi):
        expected = f">= {lo}" if hi is None else f"{lo}..{hi}"
        raise ValueError(f"CfdpConfig.{name}: expected {expected}, got {value}")
